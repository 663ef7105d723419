/* The control socket: a unix stream socket (uv_pipe) on the main loop that
 * srvdctl talks to, with the framing and CBOR of src/ctl.
 *
 * Bounds: at most MAX_CLIENTS connections at once (one more closes the
 * client that has waited longest for its reply to be read, or when none
 * does, is answered with an error and closed), REQ_MAX bytes per request (a
 * request is a few dozen bytes; a longer length prefix gets an error and
 * the connection is closed, since the stream cannot be resynchronised), a
 * client that sends nothing for IDLE_MS is closed, and so is one that has
 * not read its reply WRITE_MS after it was queued. Output per client is
 * one reply at a time, at most CTL_MAX_MSG bytes: a client that never
 * reads holds that much for WRITE_MS and no more, and never blocks another.
 * A malformed request gets an error reply and the connection stays usable.
 *
 * One request per connection is served at a time: while a reply is being
 * built (a reload or a stats collection can take a while) or written, the
 * connection is not read, so requests are answered in order and a client
 * cannot make us queue replies without reading them.
 *
 * The socket file is created with mode 0660 (umask around bind, then chmod)
 * so that the daemon's group may use it, and removed at exit. A socket file
 * left behind by a daemon that died is replaced; one that still answers is
 * an error, so two daemons never share a path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "net/control_cmd.h"

enum { MAX_CLIENTS = 16, REQ_MAX = 4096, IDLE_MS = 30000, WRITE_MS = 10000 };

typedef struct client {
	link_t link;
	struct net_control *nc;
	uv_pipe_t pipe;
	uv_timer_t idle;
	int handles;       /* open uv handles; freed when 0 */
	uint64_t write_at; /* uv_now() when the reply being written was queued; 0: none */
	bool busy, reading, closing;
	ctl_request_t req;
	net_waiter_t wait;
	net_stats_req_t sreq;
	size_t len;
	uint8_t buf[REQ_MAX];
} client_t;

typedef struct wreq {
	uv_write_t w;
	client_t *c;
	uint8_t *data;
	bool close_after, stop_after;
} wreq_t;

struct net_control {
	net_t *n;
	uv_pipe_t server;
	char *path;
	bool init, open, stopped;
	link_t clients;
	size_t n_clients;
};

static void process(client_t *c);

/* ---- clients ---------------------------------------------------------------- */

static void on_client_closed(uv_handle_t *h)
{
	client_t *c = h->data;
	if (--c->handles == 0)
		free(c);
}

static void close_client(client_t *c)
{
	if (c->closing)
		return;
	c->closing = true;
	link_remove(&c->link);
	c->nc->n_clients--;
	link_remove(&c->wait.link);
	link_remove(&c->sreq.link);
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
	uv_close((uv_handle_t *)&c->idle, on_client_closed);
}

/* One timer per client: IDLE_MS without a request, or WRITE_MS for the
 * reply being written to be read. */
static void on_timer(uv_timer_t *t)
{
	client_t *c = t->data;
	if (c->write_at) {
		log_warn("control: a client did not read its reply within %d s; closed",
		         WRITE_MS / 1000);
		close_client(c);
	} else if (!c->busy) {
		close_client(c);
	}
}

static void on_written(uv_write_t *w, int status)
{
	wreq_t *r = w->data;
	client_t *c = r->c;
	net_t *n = c->nc->n;
	bool stop = r->stop_after && status == 0;
	free(r->data);
	bool close = r->close_after || status != 0;
	free(r);
	if (c->closing)
		return;
	c->write_at = 0;
	if (close) {
		close_client(c);
	} else {
		c->busy = false;
		uv_timer_start(&c->idle, on_timer, IDLE_MS, IDLE_MS);
		process(c);
	}
	if (stop)
		net_stop(n);
}

static void send_msg(client_t *c, uint8_t *data, size_t len, bool close_after, bool stop_after)
{
	wreq_t *r = calloc(1, sizeof(*r));
	if (!r) {
		free(data);
		close_client(c);
		return;
	}
	r->c = c;
	r->data = data;
	r->close_after = close_after;
	r->stop_after = stop_after;
	r->w.data = r;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	c->busy = true;
	c->write_at = uv_now(c->pipe.loop);
	uv_timer_start(&c->idle, on_timer, WRITE_MS, 0);
	if (uv_write(&r->w, (uv_stream_t *)&c->pipe, &b, 1, on_written)) {
		free(data);
		free(r);
		close_client(c);
	}
}

static void send_error(client_t *c, const char *why, bool close_after)
{
	uint8_t *out = NULL;
	size_t len = 0;
	if (ctl_reply_encode_error(why, &out, &len)) {
		close_client(c);
		return;
	}
	send_msg(c, out, len, close_after, false);
}

/* Encode and send r (freeing it); a reply too big or out of memory becomes
 * an error reply. */
static void send_reply(client_t *c, ctl_reply_t *r, bool stop_after)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int rc = ctl_reply_encode(r, &out, &len);
	ctl_reply_free(r);
	if (rc) {
		send_error(c, srvd_strerror(rc), false);
		return;
	}
	send_msg(c, out, len, false, stop_after);
}

/* ---- commands ------------------------------------------------------------------- */

static void on_reloaded(net_waiter_t *w, const ztab_job_t *j)
{
	client_t *c = CONTAINER_OF(w, client_t, wait);
	ctl_reply_t *r;
	if (ctl_reply_new(&r)) {
		send_error(c, "out of memory", false);
		return;
	}
	net_ctl_reload(c->nc->n, c->req.zone, j, r);
	send_reply(c, r, false);
}

static void on_stats(net_stats_req_t *sr, const net_stats_t *s)
{
	client_t *c = CONTAINER_OF(sr, client_t, sreq);
	ctl_reply_t *r;
	if (ctl_reply_new(&r)) {
		send_error(c, "out of memory", false);
		return;
	}
	net_ctl_stats(c->nc->n, s, c->req.zone, r);
	send_reply(c, r, false);
}

/* The commands that name a zone we don't have, and those (refresh,
 * retransfer) that need a secondary zone, which the daemon has none of. */
static void zone_error(client_t *c, ctl_reply_t *r, bool known)
{
	char msg[CTL_MAX_ZONE + 80];
	if (!known)
		snprintf(msg, sizeof(msg), "unknown zone '%s'", c->req.zone);
	else
		snprintf(msg, sizeof(msg), "%s: zone %s is loaded from a file, not transferred",
		         ctl_cmd_name(c->req.cmd), c->req.zone);
	ctl_reply_fail(r, msg);
}

/* Run c->req; the reply goes out now or when the work it needs is done. */
static void run(client_t *c)
{
	net_t *n = c->nc->n;
	const ctl_request_t *q = &c->req;
	ctl_reply_t *r;
	if (ctl_reply_new(&r)) {
		send_error(c, "out of memory", false);
		return;
	}
	bool known = !q->zone[0] || ztab_find(net_reload_table(n), q->zone);
	c->busy = true;
	switch (q->cmd) {
	case CTL_CMD_STATUS: net_ctl_status(n, r); break;
	case CTL_CMD_ZONE_STATUS: net_ctl_zone_status(n, q->zone, r); break;
	case CTL_CMD_STOP: send_reply(c, r, true); return;
	case CTL_CMD_STATS:
		if (!known) {
			zone_error(c, r, false);
			break;
		}
		ctl_reply_free(r);
		net_stats_collect(n, &c->sreq);
		return;
	case CTL_CMD_RELOAD:
		if (!known) {
			zone_error(c, r, false);
			break;
		}
		ctl_reply_free(r);
		net_reload_request(n, q->zone[0] ? 0 : ZTAB_JOB_CONF | ZTAB_JOB_CHECK,
		                   q->zone[0] ? q->zone : NULL, &c->wait);
		return;
	case CTL_CMD_REFRESH:
	case CTL_CMD_RETRANSFER:
		if (known && net_services_refresh(n, q->zone, q->cmd == CTL_CMD_RETRANSFER) == 0)
			ctl_reply_set_str(r, "zone", q->zone);
		else
			zone_error(c, r, known);
		break;
	default: zone_error(c, r, known); break;
	}
	send_reply(c, r, false);
}

static void handle(client_t *c, const uint8_t *msg, size_t len)
{
	char err[200] = "";
	int rc = ctl_request_decode(msg, len, &c->req, err, sizeof(err));
	if (rc) {
		log_debug("control: bad request: %s", err);
		send_error(c, err[0] ? err : srvd_strerror(rc), false);
		return;
	}
	log_debug("control: %s %s", ctl_cmd_name(c->req.cmd), c->req.zone);
	run(c);
}

/* ---- reading ---------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	client_t *c = h->data;
	(void)hint;
	*buf = uv_buf_init((char *)c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	client_t *c = s->data;
	(void)buf;
	if (nread < 0) {
		close_client(c);
		return;
	}
	c->len += (size_t)nread;
	uv_timer_again(&c->idle);
	process(c);
}

static void set_reading(client_t *c, bool on)
{
	if (on == c->reading || c->closing)
		return;
	c->reading = on;
	if (on)
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	else
		uv_read_stop((uv_stream_t *)&c->pipe);
}

/* Serve every whole request in the buffer, one at a time. */
static void process(client_t *c)
{
	while (!c->busy && !c->closing) {
		size_t need = 0;
		if (ctl_frame_need(c->buf, c->len, &need)) {
			send_error(c, "bad length prefix", true);
			break;
		}
		if (need > REQ_MAX) {
			send_error(c, "request too large", true);
			break;
		}
		if (c->len < need)
			break;
		handle(c, c->buf, need);
		memmove(c->buf, c->buf + need, c->len - need);
		c->len -= need;
	}
	set_reading(c, !c->busy);
}

/* Full: the client that has waited longest for a reply to be read makes
 * room, so clients that never read cannot lock srvdctl out for WRITE_MS.
 * Clients waiting for a reload or reading requests are left alone. */
static bool evict_stalled(struct net_control *nc)
{
	client_t *victim = NULL;
	for (link_t *l = nc->clients.next; l != &nc->clients; l = l->next) {
		client_t *c = CONTAINER_OF(l, client_t, link);
		if (c->write_at && (!victim || c->write_at < victim->write_at))
			victim = c;
	}
	if (!victim)
		return false;
	log_warn("control: %d clients: closed one that was not reading its reply", MAX_CLIENTS);
	close_client(victim);
	return true;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct net_control *nc = server->data;
	client_t *c = status == 0 ? calloc(1, sizeof(*c)) : NULL;
	if (!c)
		return;
	c->nc = nc;
	link_init(&c->wait.link);
	link_init(&c->sreq.link);
	c->wait.done = on_reloaded;
	c->sreq.done = on_stats;
	uv_pipe_init(server->loop, &c->pipe, 0);
	uv_timer_init(server->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->handles = 2;
	link_push_back(&nc->clients, &c->link);
	nc->n_clients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe)) {
		close_client(c);
		return;
	}
	uv_timer_start(&c->idle, on_timer, IDLE_MS, IDLE_MS);
	if (nc->n_clients > MAX_CLIENTS && !evict_stalled(nc))
		send_error(c, "too many control clients", true);
	else
		process(c);
}

/* ---- the socket --------------------------------------------------------------------- */

/* 0 when path is free (a stale socket is removed), SRVD_EEXIST when a
 * daemon answers there or it is not a socket. */
static int clear_path(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("control socket %s: exists and is not a socket", path);
		return SRVD_EEXIST;
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		log_err("control socket %s: another process is listening on it", path);
		return SRVD_EEXIST;
	}
	if (e == ECONNREFUSED && unlink(path) == 0)
		log_info("control socket %s: removed a stale socket", path);
	return 0;
}

static int bind_socket(struct net_control *nc)
{
	mode_t old = umask(0117);
	int rc = uv_pipe_bind(&nc->server, nc->path);
	umask(old);
	if (rc == 0 && chmod(nc->path, 0660) != 0)
		log_warn("control socket %s: chmod: %s", nc->path, strerror(errno));
	if (rc == 0)
		nc->open = true;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&nc->server, 16, on_connection);
	if (rc)
		log_err("control socket %s: %s", nc->path, uv_strerror(rc));
	return rc ? SRVD_EIO : 0;
}

int net_control_start(net_t *n, const char *path)
{
	struct net_control *nc = calloc(1, sizeof(*nc));
	if (!nc || !(nc->path = strdup(path))) {
		free(nc);
		return SRVD_ENOMEM;
	}
	n->ctl = nc;
	nc->n = n;
	link_init(&nc->clients);
	int rc = clear_path(path);
	if (rc)
		return rc;
	uv_pipe_init(&n->loop, &nc->server, 0);
	nc->server.data = nc;
	nc->init = true;
	rc = bind_socket(nc);
	if (rc == 0)
		log_info("control socket %s", path);
	return rc;
}

void net_control_stop(net_t *n)
{
	struct net_control *nc = n->ctl;
	if (!nc || nc->stopped)
		return;
	nc->stopped = true;
	while (!link_empty(&nc->clients))
		close_client(CONTAINER_OF(nc->clients.next, client_t, link));
	/* libuv removes the file it bound when the handle closes; unlinking
	 * first does not depend on that */
	if (nc->open && unlink(nc->path) != 0 && errno != ENOENT)
		log_warn("control socket %s: %s", nc->path, strerror(errno));
	nc->open = false;
	if (nc->init)
		uv_close((uv_handle_t *)&nc->server, NULL);
}

void net_control_free(net_t *n)
{
	struct net_control *nc = n->ctl;
	if (!nc)
		return;
	free(nc->path);
	free(nc);
	n->ctl = NULL;
}
