/* TCP (RFC 7766): connections, framing, pipelining, limits, zone transfers.
 *
 * Listening: every worker has its own listening socket per address, bound
 * with SO_REUSEPORT, so the kernel spreads connections across workers and
 * a connection lives on one worker for its whole life (no handoff, no lock).
 * The connection cap (tcp-max-clients, lowered by net.c to fit
 * RLIMIT_NOFILE) is therefore split evenly between workers. At the cap the
 * least recently active connection with nothing in flight is closed and the
 * new one accepted: a flood of idle connections cannot lock out real
 * clients. When every connection is busy, the new one is left in libuv,
 * which stops polling the listener until a close lets us take it. An
 * accept that fails (EMFILE: something else took the descriptors) closes
 * the listener's handle, which is the only way to stop libuv retrying it in
 * a tight loop; a dup of the socket keeps it and its backlog alive until a
 * close or a timer opens it again. UDP sockets never take part.
 *
 * Input: each connection reads into its own fixed buffer (NET_TCP_RBUF),
 * and every complete 2-byte-framed message is answered as soon as it is
 * there (pipelining). A message longer than the buffer closes the
 * connection. One turn answers at most NET_TCP_BUDGET messages; the rest wait
 * for the next loop iteration (a uv_idle list), so one pipelining client
 * cannot starve the others.
 *
 * Output never blocks: the answers of one turn are built one after another
 * in the worker's response buffer and leave in one uv_try_write at the end
 * of the turn (or once NET_TCP_FLUSH bytes are gathered): a client that
 * pipelines 16 queries costs one write, not 16, and nothing is copied in
 * the common case. What the socket does not take is copied to a
 * per-connection queue, written with uv_write; while more than
 * NET_TCP_PAUSE bytes are queued the connection answers nothing more and
 * stops reading, and answers go straight to the queue. The queue buffers
 * come from a per-worker pool, so steady state allocates nothing.
 *
 * Idle timeout: the worker keeps its connections in a list ordered by last
 * activity (accept, the start or end of a query, a write that completed)
 * and one timer closes those older than tcp-idle-timeout. A client that
 * sends half a message and stalls, or stops reading our answers, is closed
 * one timeout after its last real progress.
 *
 * Zone transfers allocate (the cursor and one 64 KiB message buffer) and
 * send one message per write: the next is built only when the previous
 * write completed, so a slow reader costs memory for one message and never
 * blocks the worker. Queries pipelined behind a transfer wait for it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "dnstap/dnstap.h"
#include "net/net_int.h"

typedef struct conn {
	uv_tcp_t tcp;
	worker_t *w;
	link_t lru;    /* in w->conns */
	link_t turn;   /* in w->ready while it has queries left */
	uint64_t last; /* uv_now() at the last activity */
	uint64_t id;   /* for answers sent late (net_tcp_reply) */
	struct sockaddr_storage peer;
	uv_write_t wreq, xreq;
	uint8_t *out; /* queued output; NULL when nothing is queued */
	size_t out_len, inflight;
	srvd_xfr_t *xfr; /* signs its own messages when the request was signed */
	uint8_t *xbuf;
	bool xfr_more, xfr_writing;
	bool reading, eof, closing;
	size_t rlen;
	uint8_t rbuf[NET_TCP_RBUF];
} conn_t;

static void process(conn_t *c);
static void xfr_pump(conn_t *c);

static uint8_t *pool_get(worker_t *w)
{
	return w->n_pool ? w->pool[--w->n_pool] : malloc(NET_TCP_OUT);
}

static void pool_put(worker_t *w, uint8_t *p)
{
	if (p && w->n_pool < NET_POOL)
		w->pool[w->n_pool++] = p;
	else
		free(p);
}

static bool busy(const conn_t *c)
{
	return c->out || c->xfr;
}

static bool has_message(const conn_t *c)
{
	rd_t r;
	rd_init(&r, c->rbuf, c->rlen);
	rd_skip(&r, rd_u16(&r));
	return !r.err;
}

/* ---- idle timeout ------------------------------------------------------ */

static void on_idle(uv_timer_t *t);

static void arm_idle(worker_t *w)
{
	if (link_empty(&w->conns)) {
		uv_timer_stop(&w->idle);
		return;
	}
	const conn_t *c = CONTAINER_OF(w->conns.next, conn_t, lru);
	uint64_t due = c->last + w->idle_ms, now = uv_now(&w->loop);
	uv_timer_start(&w->idle, on_idle, due > now ? due - now : 0, 0);
}

static void touch(conn_t *c)
{
	c->last = uv_now(&c->w->loop);
	link_remove(&c->lru);
	link_push_back(&c->w->conns, &c->lru);
}

static const char *peer_text(const conn_t *c, char *buf, size_t len)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
	int rc = sa->sa_family == AF_INET6 ? uv_ip6_name((const struct sockaddr_in6 *)sa, buf, len)
	                                   : uv_ip4_name((const struct sockaddr_in *)sa, buf, len);
	return rc ? "?" : buf;
}

/* ---- closing ------------------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
	conn_t *c = h->data;
	worker_t *w = c->w;
	if (c->xfr) {
		char peer[INET6_ADDRSTRLEN];
		log_info("tcp: zone transfer to %s aborted", peer_text(c, peer, sizeof(peer)));
	}
	srvd_xfr_free(c->xfr);
	free(c->xbuf);
	pool_put(w, c->out);
	free(c);
	if (w->draining && w->n_conns == 0)
		net_worker_finish(w);
	net_tcp_resume(w); /* its descriptor is free now */
}

/* Pending writes are cancelled (their callbacks see the closing flag) and
 * the memory goes in on_closed, after the last callback. */
static void conn_close(conn_t *c)
{
	if (c->closing)
		return;
	c->closing = true;
	link_remove(&c->lru);
	link_remove(&c->turn);
	c->w->n_conns--;
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_idle(uv_timer_t *t)
{
	worker_t *w = t->data;
	uint64_t now = uv_now(&w->loop);
	while (!link_empty(&w->conns)) {
		conn_t *c = CONTAINER_OF(w->conns.next, conn_t, lru);
		if (c->last + w->idle_ms > now)
			break;
		NET_COUNT(w, tcp_timeouts, 1);
		conn_close(c);
	}
	arm_idle(w);
}

/* ---- reading ------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	conn_t *c = h->data;
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = NET_TCP_RBUF - c->rlen;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	conn_t *c = s->data;
	if (nread == 0)
		return;
	if (nread == UV_EOF) {
		c->eof = true; /* a half close: answer what is here, then close */
		process(c);
		return;
	}
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->rlen == 0)
		touch(c);
	c->rlen += (size_t)nread;
	process(c);
}

static void set_reading(conn_t *c, bool on)
{
	if (on == c->reading)
		return;
	if (on && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read)) {
		conn_close(c);
		return;
	}
	if (!on)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = on;
}

/* After a turn: read more when there is room for it, or close a connection
 * that has nothing more to say. */
static void update(conn_t *c)
{
	if (c->closing)
		return;
	if (c->eof || c->w->draining) {
		set_reading(c, false);
		if (!busy(c) && !has_message(c))
			conn_close(c);
		return;
	}
	set_reading(c, !c->xfr && c->out_len < NET_TCP_PAUSE && c->rlen < NET_TCP_RBUF);
}

/* ---- writing ------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status);

static void flush(conn_t *c)
{
	uv_buf_t b = uv_buf_init((char *)c->out, (unsigned)c->out_len);
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written)) {
		conn_close(c);
		return;
	}
	c->inflight = c->out_len;
}

static void on_written(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	size_t done = c->inflight;
	c->inflight = 0;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	touch(c);
	c->out_len -= done;
	memmove(c->out, c->out + done, c->out_len);
	if (c->out_len) {
		flush(c);
	} else {
		pool_put(c->w, c->out);
		c->out = NULL;
		if (c->xfr)
			xfr_pump(c);
	}
	process(c);
}

/* Send one framed message: straight to the socket when nothing is queued,
 * else (or for what the socket did not take) through the queue. The caller
 * made sure the queue has room: out_len < NET_TCP_PAUSE before a query. */
static void send_msg(conn_t *c, const uint8_t *p, size_t n)
{
	if (!c->out) {
		uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
		int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (r == (int)n)
			return;
		if (r < 0 && r != UV_EAGAIN) {
			conn_close(c);
			return;
		}
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		}
		c->out = pool_get(c->w);
		if (!c->out) {
			conn_close(c);
			return;
		}
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	if (!c->inflight)
		flush(c);
}

/* ---- zone transfers ------------------------------------------------------ */

static void xfr_end(conn_t *c, const char *how)
{
	char peer[INET6_ADDRSTRLEN];
	log_info("tcp: zone transfer to %s %s", peer_text(c, peer, sizeof(peer)), how);
	NET_COUNT(c->w, xfr_done, 1);
	if (strcmp(how, "done") == 0)
		net_zev_xfr_out(c->w->net, srvd_xfr_zone(c->xfr), srvd_xfr_bytes(c->xfr));
	srvd_xfr_free(c->xfr);
	c->xfr = NULL;
	free(c->xbuf);
	c->xbuf = NULL;
}

static void on_xfr_written(uv_write_t *req, int status)
{
	conn_t *c = req->data;
	c->xfr_writing = false;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	touch(c);
	if (c->xfr_more) {
		xfr_pump(c);
		return;
	}
	xfr_end(c, "done");
	process(c);
}

/* Build and write the next message, once everything before it is out. */
static void xfr_pump(conn_t *c)
{
	if (c->closing || c->out || c->xfr_writing)
		return;
	size_t len = 0;
	int more = 0;
	int rc = srvd_xfr_next(c->xfr, c->xbuf + 2, NET_TCP_MSG - 2, &len, &more);
	if (rc) {
		log_err("tcp: zone transfer: %s", srvd_strerror(rc));
		conn_close(c);
		return;
	}
	put_u16(c->xbuf, (uint16_t)len); /* len <= NET_TCP_MSG - 2 */
	c->xfr_more = more;
	uv_buf_t b = uv_buf_init((char *)c->xbuf, (unsigned)(len + 2));
	if (uv_write(&c->xreq, (uv_stream_t *)&c->tcp, &b, 1, on_xfr_written)) {
		conn_close(c);
		return;
	}
	c->xfr_writing = true;
}

static void xfr_begin(conn_t *c, const srvd_server_t *srv, const srvd_query_t *q)
{
	int rc = srvd_xfr_begin(c->w->resp, srv, q, &c->xfr);
	if (rc == 0 && !(c->xbuf = malloc(NET_TCP_MSG)))
		rc = SRVD_ENOMEM;
	if (rc) {
		log_err("tcp: zone transfer: %s", srvd_strerror(rc));
		srvd_xfr_free(c->xfr);
		c->xfr = NULL;
		conn_close(c);
		return;
	}
	char peer[INET6_ADDRSTRLEN];
	log_info("tcp: zone transfer to %s started%s", peer_text(c, peer, sizeof(peer)),
	         srvd_xfr_incremental(c->xfr) ? " (IXFR, incremental)" : "");
	NET_COUNT(c->w, xfr_started, 1);
	xfr_pump(c);
}

/* ---- queries ------------------------------------------------------------ */

/* Send what this turn gathered in w->tx (*held bytes). */
static void send_held(conn_t *c, size_t *held)
{
	if (*held && !c->closing)
		send_msg(c, c->w->tx, *held);
	*held = 0;
}

/* Answer one query into w->tx after the *held bytes already gathered.
 * With output already queued, or NET_TCP_FLUSH bytes gathered, it goes at
 * once; a transfer first sends what is held, to keep the order. */
static void query(conn_t *c, const srvd_server_t *srv, const uint8_t *wire, size_t len,
                  size_t *held)
{
	worker_t *w = c->w;
	srvd_query_t q = {
	    .wire = wire,
	    .len = len,
	    .transport = SRVD_TCP,
	    .src_addr = &c->peer,
	};
	srvd_result_t res;
	NET_COUNT(w, tcp_queries, 1);
	touch(c);
	uint8_t *at = w->tx + *held;
	int rc = srvd_dispatch(w->resp, srv, &q, at + 2, NET_TCP_MSG - 2, &res);
	if (rc == SRVD_XFR) {
		send_held(c, held);
		xfr_begin(c, srv, &q);
	} else if (rc == SRVD_UPDATE) {
		net_route_t rt = {.transport = SRVD_TCP, .conn = c->id, .peer = c->peer};
		net_update_push(w, srv, &q, &rt);
	} else if (rc == SRVD_OK) {
		if (res.zone)
			net_notified_push(w->net, res.zone);
		net_count_size(w, res.len);
		if (w->dt)
			dt_log(w->dt, &q, NULL, at + 2, res.len);
		put_u16(at, (uint16_t)res.len); /* res.len <= NET_TCP_MSG - 2 */
		*held += res.len + 2;
		if (c->out || *held >= NET_TCP_FLUSH)
			send_held(c, held);
	}
}

/* An UPDATE's answer, once the daemon has it (RFC 7766 6.2.1.1: answers
 * on one connection need not keep the order of the requests). Dropped
 * when the connection has gone. */
void net_tcp_reply(worker_t *w, const net_reply_t *r)
{
	for (link_t *l = w->conns.next; l != &w->conns; l = l->next) {
		conn_t *c = CONTAINER_OF(l, conn_t, lru);
		if (c->id != r->route.conn)
			continue;
		/* not inside a transfer's stream, nor past the output queue */
		if (c->closing || c->xfr || (c->out && c->out_len + r->len + 2 > NET_TCP_OUT))
			return;
		uint8_t *buf = malloc(r->len + 2);
		if (!buf)
			return;
		put_u16(buf, (uint16_t)r->len);
		memcpy(buf + 2, r->msg, r->len);
		touch(c);
		send_msg(c, buf, r->len + 2);
		free(buf);
		return;
	}
}

static void on_turn(uv_idle_t *h);

static void queue_turn(conn_t *c)
{
	worker_t *w = c->w;
	if (!link_empty(&c->turn))
		return;
	link_push_back(&w->ready, &c->turn);
	if (!uv_is_active((uv_handle_t *)&w->turn))
		uv_idle_start(&w->turn, on_turn);
}

/* One turn: answer up to NET_TCP_BUDGET complete messages. */
static void process(conn_t *c)
{
	const srvd_server_t *srv = NULL;
	size_t off = 0, held = 0; /* off: the end of the last message answered */
	unsigned budget = NET_TCP_BUDGET;
	rd_t r;
	rd_init(&r, c->rbuf, c->rlen);
	while (!c->closing && !c->xfr && c->out_len < NET_TCP_PAUSE) {
		size_t len = rd_u16(&r);
		const uint8_t *msg = rd_ptr(&r, len);
		if (r.err) {
			/* rlen <= NET_TCP_RBUF: a longer message can never be whole */
			if (len + 2 > NET_TCP_RBUF) {
				log_debug("tcp: %zu-byte message is too long, closing", len);
				send_held(c, &held); /* the answers before it still go */
				conn_close(c);
				return;
			}
			break; /* not all there yet */
		}
		if (budget-- == 0) {
			queue_turn(c);
			break;
		}
		if (!srv)
			srv = net_server(c->w);
		query(c, srv, msg, len, &held);
		off = r.pos;
	}
	send_held(c, &held);
	if (c->closing)
		return;
	c->rlen -= off;
	memmove(c->rbuf, c->rbuf + off, c->rlen);
	update(c);
}

static void on_turn(uv_idle_t *h)
{
	worker_t *w = h->data;
	link_t batch;
	link_init(&batch);
	if (!link_empty(&w->ready)) {
		batch.next = w->ready.next;
		batch.prev = w->ready.prev;
		batch.next->prev = &batch;
		batch.prev->next = &batch;
		link_init(&w->ready);
	}
	while (!link_empty(&batch)) {
		conn_t *c = CONTAINER_OF(batch.next, conn_t, turn);
		link_remove(&c->turn);
		process(c);
	}
	if (link_empty(&w->ready))
		uv_idle_stop(h);
}

/* ---- accepting ---------------------------------------------------------- */

/* The least recently active connection with nothing in flight (no output
 * queued, no transfer), or NULL when every one is busy. */
static conn_t *idle_victim(worker_t *w)
{
	for (link_t *l = w->conns.next; l != &w->conns; l = l->next) {
		conn_t *c = CONTAINER_OF(l, conn_t, lru);
		if (!busy(c))
			return c;
	}
	return NULL;
}

static void on_connection(uv_stream_t *server, int status);

static void free_handle(uv_handle_t *h)
{
	free(h->data);
}

/* Take the connection libuv accepted for l: its fd is already ours. */
static void take(tcp_listener_t *l)
{
	worker_t *w = l->w;
	l->pending = false;
	conn_t *c = calloc(1, sizeof(*c));
	if (!c || uv_tcp_init(&w->loop, &c->tcp)) {
		/* uv_accept would restart the listener; without it, it stays
		 * paused until the next close frees memory as well */
		log_err("tcp: out of memory for a connection");
		free(c);
		l->pending = true;
		return;
	}
	c->tcp.data = c;
	c->w = w;
	c->id = ++w->next_conn;
	c->wreq.data = c;
	c->xreq.data = c;
	link_init(&c->turn);
	link_init(&c->lru);
	if (uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)&c->tcp)) {
		uv_close((uv_handle_t *)&c->tcp, free_handle);
		return;
	}
	int len = sizeof(c->peer);
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len);
	uv_tcp_nodelay(&c->tcp, 1);
	w->n_conns++;
	touch(c);
	NET_COUNT(w, tcp_accepted, 1);
	if (!uv_is_active((uv_handle_t *)&w->idle))
		arm_idle(w);
	set_reading(c, true);
}

/* At the cap an idle connection makes room (a flood of idle connections
 * must not lock out real clients). When every connection is busy, the new
 * one waits in libuv, which stops polling the listener until we take it
 * (resume, when a connection closes): the kernel's backlog holds the rest. */
static void admit(tcp_listener_t *l)
{
	worker_t *w = l->w;
	if (w->n_conns >= w->max_conns) {
		conn_t *victim = idle_victim(w);
		if (!victim) {
			if (!l->pending)
				NET_COUNT(w, tcp_paused, 1);
			l->pending = true;
			return;
		}
		NET_COUNT(w, tcp_evicted, 1);
		conn_close(victim);
	}
	take(l);
}

static void on_listener_closed(uv_handle_t *h)
{
	tcp_listener_t *l = h->data;
	l->closing = false;
}

static void on_retry(uv_timer_t *t)
{
	net_tcp_resume(t->data);
}

/* A failed accept (EMFILE, ENFILE, ENOMEM...): libuv calls us again at once
 * for as long as the error lasts, and would spin there forever, deaf to
 * everything else the loop should do. Closing the handle ends that; the
 * socket lives on in l->spare, its backlog kept, until reopen(). */
static void pause_listener(tcp_listener_t *l, int status)
{
	worker_t *w = l->w;
	uint64_t now = uv_now(&w->loop);
	if (!w->pause_logged || now - w->pause_logged >= 10000) {
		w->pause_logged = now;
		log_warn("tcp: accept: %s; worker %u accepts again once a connection closes",
		         uv_strerror(status), w->id);
	}
	NET_COUNT(w, tcp_paused, 1);
	if (l->spare < 0) {
		log_err("tcp: no spare descriptor for this listener: it stays closed");
		return;
	}
	l->open = false;
	l->paused = true;
	l->pending = false;
	l->closing = true;
	uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
	uv_timer_start(&w->retry, on_retry, NET_RETRY_MS, 0);
}

/* Listen again on the spare socket (a dup of it, so the next pause has one
 * too). Fails while descriptors are still short: the next close or the
 * retry timer tries again. */
static bool reopen(tcp_listener_t *l)
{
	int fd = fcntl(l->spare, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return false;
	uv_tcp_init(&l->w->loop, &l->tcp);
	l->tcp.data = l;
	l->open = true;
	l->paused = false;
	int rc = uv_tcp_open(&l->tcp, fd);
	if (rc)
		close(fd);
	else
		rc = uv_listen((uv_stream_t *)&l->tcp, NET_TCP_BACKLOG, on_connection);
	if (rc) {
		pause_listener(l, rc);
		return false;
	}
	log_debug("tcp: worker %u accepts again", l->w->id);
	return true;
}

void net_tcp_resume(worker_t *w)
{
	if (w->draining)
		return;
	bool waiting = false;
	for (size_t i = 0; i < w->n_socks; i++) {
		tcp_listener_t *l = &w->lst[i];
		if (l->pending && w->n_conns < w->max_conns)
			take(l);
		if (l->paused && (l->closing || !reopen(l)))
			waiting = true;
	}
	if (waiting && !uv_is_active((uv_handle_t *)&w->retry))
		uv_timer_start(&w->retry, on_retry, NET_RETRY_MS, 0);
}

static void on_connection(uv_stream_t *server, int status)
{
	tcp_listener_t *l = server->data;
	if (status < 0)
		pause_listener(l, status);
	else
		admit(l);
}

/* ---- worker lifecycle --------------------------------------------------- */

int net_tcp_init(worker_t *w)
{
	link_init(&w->conns);
	link_init(&w->ready);
	w->tx = malloc(NET_TCP_FLUSH + NET_TCP_MSG);
	if (!w->tx)
		return SRVD_ENOMEM;
	uv_idle_init(&w->loop, &w->turn);
	uv_timer_init(&w->loop, &w->idle);
	uv_timer_init(&w->loop, &w->retry);
	w->turn.data = w;
	w->idle.data = w;
	w->retry.data = w;
	return 0;
}

int net_tcp_open(worker_t *w, tcp_listener_t *l, int fd)
{
	l->w = w;
	l->fd = fd;
	l->spare = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	int rc = uv_tcp_init(&w->loop, &l->tcp);
	if (rc == 0) {
		l->open = true;
		l->tcp.data = l;
		rc = uv_tcp_open(&l->tcp, fd);
	}
	if (rc == 0) {
		l->fd = -1;
		rc = uv_listen((uv_stream_t *)&l->tcp, NET_TCP_BACKLOG, on_connection);
	}
	if (rc) {
		log_err("tcp: listen: %s", uv_strerror(rc));
		return SRVD_EIO;
	}
	return 0;
}

static void close_listeners(worker_t *w)
{
	for (size_t i = 0; i < w->n_socks; i++) {
		tcp_listener_t *l = &w->lst[i];
		if (l->open && !uv_is_closing((uv_handle_t *)&l->tcp))
			uv_close((uv_handle_t *)&l->tcp, NULL);
		if (l->fd >= 0)
			close(l->fd);
		if (l->spare >= 0)
			close(l->spare);
		l->fd = l->spare = -1;
		l->paused = l->pending = false;
	}
	uv_timer_stop(&w->retry);
}

/* Graceful stop: accept nothing more; connections finish what they hold
 * (queued answers, a transfer, complete queries already read) and close. */
void net_tcp_drain(worker_t *w)
{
	close_listeners(w);
	link_t *l = w->conns.next;
	while (l != &w->conns) {
		conn_t *c = CONTAINER_OF(l, conn_t, lru);
		l = l->next;
		update(c);
	}
}

void net_tcp_close(worker_t *w)
{
	close_listeners(w);
	while (!link_empty(&w->conns))
		conn_close(CONTAINER_OF(w->conns.next, conn_t, lru));
}

void net_tcp_free(worker_t *w)
{
	while (w->n_pool)
		free(w->pool[--w->n_pool]);
	free(w->tx);
	w->tx = NULL;
}
