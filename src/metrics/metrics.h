/* The Prometheus endpoint: HTTP on its own thread (http.c), and the text
 * exposition format (text.c). No libuv here: src/net/metrics.c plugs this
 * into the main loop as a service and supplies the scrape callback.
 *
 *   http.c   GET /metrics through libmicrohttpd; everything else 404/405,
 *            bounded connections, memory and time per connection
 *   text.c   a growing text buffer with the exposition format's escapes
 */
#ifndef SRVD_METRICS_METRICS_H
#define SRVD_METRICS_METRICS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- text.c ---------------------------------------------------------- */

typedef struct metrics_text {
	char *buf;
	size_t len, cap;
	bool failed; /* out of memory: sticky, checked once at the end */
} metrics_text_t;

/* printf into t (grows it). */
void metrics_printf(metrics_text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "# HELP name help\n# TYPE name type\n" */
void metrics_family(metrics_text_t *t, const char *name, const char *type, const char *help);
/* A label value with \, " and newline escaped (quotes not included). */
void metrics_label(metrics_text_t *t, const char *value);
void metrics_text_free(metrics_text_t *t);

/* ---- http.c ---------------------------------------------------------- */

enum {
	METRICS_MAX_CONNS = 16,    /* connections at once */
	METRICS_PER_IP = 4,        /* from one address */
	METRICS_TIMEOUT_S = 5,     /* idle or slow connection */
	METRICS_MEM_LIMIT = 16384, /* request head per connection: more is 431 */
	METRICS_SCRAPE_MS = 3000,  /* the longest the endpoint waits for a scrape */
	/* A whole request, from the connection's open (or the end of the
	 * request before it) to the end of the answer: Prometheus gives up on
	 * a scrape after 10 s by default, and a real request head arrives in
	 * one segment, so a request still unfinished then is a slowloris or
	 * a client that does not read. */
	METRICS_REQUEST_S = 10,
};

/* Called on the HTTP thread for each GET /metrics: 0 and the body (heap,
 * taken by the caller), or an error (503). */
typedef int (*metrics_scrape_fn)(void *ctx, char **body, size_t *len);

typedef struct metrics_http metrics_http_t;

int metrics_http_start(const struct sockaddr *sa, socklen_t len, metrics_scrape_fn fn, void *ctx,
                       metrics_http_t **out);
void metrics_http_stop(metrics_http_t *h);
/* Any thread, every second or so: cut the connections whose request is
 * older than METRICS_REQUEST_S (shutdown of the socket; libmicrohttpd
 * closes it). Returns how many. */
unsigned metrics_http_reap(metrics_http_t *h);

#endif
