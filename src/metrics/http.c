/* The metrics endpoint's HTTP server: libmicrohttpd on its own thread.
 *
 * Why libmicrohttpd: it is a small, well-kept Debian library (GNU, in
 * Debian since 2008) that parses HTTP/1.1 for us and bounds what a client
 * can cost: connections at once and per address, a per-connection memory
 * pool (a request head that does not fit gets 431 and a close), and an
 * idle timeout (a whole-request deadline is ours: below). It runs its own polling thread, so
 * it needs no libuv (only src/net includes uv.h) and a slow or hostile
 * scraper never touches the query path: the workers do not know it
 * exists. The alternatives were H2O (a much larger library to expose on a
 * port for one GET) and http-parser with our own socket code on the main
 * loop (connection limits, timeouts and buffer bounds written by hand).
 *
 * Only GET (and HEAD) /metrics is served; other paths get 404, other
 * methods 405. The body comes from the scrape callback, which runs on
 * this thread and may wait for the main loop (src/net/metrics.c).
 *
 * A whole request has a deadline. libmicrohttpd 0.9.75 only times out a
 * connection that is idle, so a client that trickles its request head one
 * byte every few seconds would hold a connection (and, four of them, the
 * per-address limit) for as long as it likes. Each connection is entered
 * in a table when it opens (MHD_OPTION_NOTIFY_CONNECTION), with the time
 * its current request began: the open, then the end of each request
 * (MHD_OPTION_NOTIFY_COMPLETED), as a kept-alive connection starts over.
 * metrics_http_reap, which the main loop calls every second, shuts down
 * the socket of every connection whose request is older than
 * METRICS_REQUEST_S; libmicrohttpd then sees the end of the stream and
 * closes the connection itself (we never close its fd). The table's
 * mutex makes that safe: libmicrohttpd tells us of a close (and we forget
 * the fd) before it closes the fd, and it cannot while we hold the mutex.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "metrics/metrics.h"
#include "srvd/srvd.h"

typedef struct conn_slot {
	bool used;
	int fd;
	uint64_t since_ms; /* when the current request began */
} conn_slot_t;

struct metrics_http {
	struct MHD_Daemon *d;
	metrics_scrape_fn fn;
	void *ctx;
	pthread_mutex_t mu; /* the HTTP thread and the main loop (reap) */
	conn_slot_t slots[METRICS_MAX_CONNS];
	uint64_t cut; /* connections cut at the deadline */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode what)
{
	struct metrics_http *h = cls;
	pthread_mutex_lock(&h->mu);
	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		/* MHD_OPTION_CONNECTION_LIMIT: never more than the slots */
		for (size_t i = 0; ci && i < METRICS_MAX_CONNS; i++)
			if (!h->slots[i].used) {
				h->slots[i] = (conn_slot_t){true, ci->connect_fd, now_ms()};
				*socket_context = &h->slots[i];
				break;
			}
	} else if (*socket_context) {
		((conn_slot_t *)*socket_context)->used = false;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&h->mu);
}

/* A request ended (answered or not): a kept-alive connection's next one
 * gets its own time. */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)con_cls;
	(void)toe;
	struct metrics_http *h = cls;
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	pthread_mutex_lock(&h->mu);
	if (ci && ci->socket_context)
		((conn_slot_t *)ci->socket_context)->since_ms = now_ms();
	pthread_mutex_unlock(&h->mu);
}

unsigned metrics_http_reap(metrics_http_t *h)
{
	if (!h)
		return 0;
	unsigned n = 0;
	uint64_t now = now_ms();
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
		conn_slot_t *s = &h->slots[i];
		if (s->used && s->fd >= 0 && now - s->since_ms > METRICS_REQUEST_S * 1000u) {
			shutdown(s->fd, SHUT_RDWR);
			s->fd = -1; /* once: libmicrohttpd closes it in its own time */
			n++;
		}
	}
	h->cut += n;
	pthread_mutex_unlock(&h->mu);
	if (n)
		log_info("metrics: cut %u connection%s whose request took over %u s", n,
		         n > 1 ? "s" : "", (unsigned)METRICS_REQUEST_S);
	return n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ok = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result scrape(struct metrics_http *h, struct MHD_Connection *c)
{
	char *body = NULL;
	size_t len = 0;
	if (h->fn(h->ctx, &body, &len) != 0)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "scrape failed\n");
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        "text/plain; version=0.0.4; charset=utf-8");
	enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	/* A request body is not for us: drop it as it comes. */
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n");
	return scrape(cls, c);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[256];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	log_debug("metrics: %s", line);
}

int metrics_http_start(const struct sockaddr *sa, socklen_t len, metrics_scrape_fn fn, void *ctx,
                       metrics_http_t **out)
{
	(void)len;
	struct metrics_http *h = calloc(1, sizeof(*h));
	if (!h)
		return SRVD_ENOMEM;
	h->fn = fn;
	h->ctx = ctx;
	pthread_mutex_init(&h->mu, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, sa,
	                        MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_MAX_CONNS,
	                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)METRICS_PER_IP,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT_S,
	                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)METRICS_MEM_LIMIT,
	                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	                        MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, MHD_OPTION_END);
	if (!h->d) {
		pthread_mutex_destroy(&h->mu);
		free(h);
		return SRVD_EIO;
	}
	*out = h;
	return 0;
}

void metrics_http_stop(metrics_http_t *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
