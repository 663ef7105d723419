/* The transfer client of a secondary: one exchange with one primary on the
 * main uv loop, as xfr_client.h describes.
 *
 * SOA: the query (signed when there is a key) goes over UDP, sent twice at
 * most (UDP_WAIT_MS apart); an answer with TC set, or none, moves the query
 * to TCP. IXFR and AXFR go over TCP only (RFC 5936 4.2, RFC 1995 2). Each TCP
 * message (2-byte length, then the message) is fed to the xfr_in state
 * machine as soon as it is whole; it checks the messages, TSIG included,
 * and says when the transfer is done. A byte limit bounds the stream
 * (xfr_in counts it too), a timer bounds the whole exchange. A full
 * transfer is spooled to an anonymous file beside the zone's copy
 * (xfr_in_spool), so a stream that never ends costs no memory before the
 * byte limit cuts it.
 *
 * The client owns three handles (UDP, TCP, timer); it is freed once every
 * one it opened has closed, so net_xfr_client_free may be called from any
 * callback, its own included.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "net/xfr_client.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

enum { QBUF = 1024, UDP_WAIT_MS = 1000, UDP_TRIES = 2, MSG_MAX = 65535 };

struct net_xfr_client {
	uv_loop_t *loop;
	net_xfr_client_opts_t o;
	uint8_t origin[255];
	net_xfr_client_cb cb;
	void *ctx;
	uv_udp_t udp;
	uv_tcp_t tcp;
	uv_timer_t timer, udp_timer;
	uv_connect_t conn;
	uv_write_t wreq;
	int handles;
	bool udp_open, tcp_open, done, freed;
	unsigned udp_tries;
	uint16_t id;
	xfr_tsig_t tsig;
	xfr_in_t *in;
	uint8_t q[QBUF + 2]; /* the framed query: q + 2 for UDP */
	size_t qlen;
	uint8_t *rbuf; /* TCP input */
	size_t rlen, rcap;
	uint8_t ubuf[4096];
	uint64_t bytes, msgs;
	int rc;
	uint32_t serial;
	bool fallback;
	char why[400];
};

static const char *addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
	char host[64] = "?";
	unsigned port = 0;
	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		uv_ip6_name(s6, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(buf, cap, "[%s]@%u", host, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		uv_ip4_name(s4, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(buf, cap, "%s@%u", host, port);
	}
	return buf;
}

/* ---- ending ---------------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	net_xfr_client_t *x = h->data;
	if (--x->handles > 0)
		return;
	if (x->in)
		xfr_in_free(x->in);
	xfr_tsig_deinit(&x->tsig);
	srvd_zone_unref((zone_t *)x->o.cur);
	free(x->rbuf);
	free(x);
}

static void close_io(net_xfr_client_t *x)
{
	uv_timer_stop(&x->timer);
	uv_timer_stop(&x->udp_timer);
	if (x->udp_open) {
		x->udp_open = false;
		uv_close((uv_handle_t *)&x->udp, on_handle_closed);
	}
	if (x->tcp_open) {
		x->tcp_open = false;
		uv_close((uv_handle_t *)&x->tcp, on_handle_closed);
	}
}

void net_xfr_client_free(net_xfr_client_t *x)
{
	if (!x || x->freed)
		return;
	x->freed = true;
	x->done = true;
	close_io(x);
	uv_close((uv_handle_t *)&x->timer, on_handle_closed);
	uv_close((uv_handle_t *)&x->udp_timer, on_handle_closed);
}

static void finish(net_xfr_client_t *x, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The one callback: the caller frees x from it (or later). */
static void finish(net_xfr_client_t *x, int rc, const char *fmt, ...)
{
	if (x->done)
		return;
	x->done = true;
	x->rc = rc;
	if (fmt) {
		char a[80];
		va_list ap;
		va_start(ap, fmt);
		int n =
		    snprintf(x->why, sizeof(x->why), "%s: ", addr_text(&x->o.addr, a, sizeof(a)));
		vsnprintf(x->why + n, sizeof(x->why) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	close_io(x);
	x->cb(x, x->ctx);
}

static void on_timeout(uv_timer_t *t)
{
	net_xfr_client_t *x = t->data;
	finish(x, SRVD_EIO, "no complete answer within %llu ms (%llu messages, %llu bytes)",
	       (unsigned long long)x->o.timeout_ms, (unsigned long long)x->msgs,
	       (unsigned long long)x->bytes);
}

/* ---- answers --------------------------------------------------------------------- */

static bool tsig_ok(net_xfr_client_t *x, const uint8_t *msg, size_t len)
{
	if (!x->o.key || xfr_tsig_verify(&x->tsig, msg, len) == 0)
		return true;
	finish(x, SRVD_EINVAL, "TSIG %s: %s", xfr_tsig_status_name(x->tsig.status), x->tsig.why);
	return false;
}

static void soa_answer(net_xfr_client_t *x, const uint8_t *msg, size_t len)
{
	xfr_err_t err = {0};
	if (!tsig_ok(x, msg, len))
		return;
	int rc = xfr_soa_response(msg, len, x->origin, x->id, &err, &x->serial);
	if (rc)
		finish(x, rc, "SOA query: %s", err.why);
	else
		finish(x, 0, NULL);
}

static void xfr_message(net_xfr_client_t *x, const uint8_t *msg, size_t len)
{
	x->msgs++;
	int rc = xfr_in_feed(x->in, msg, len);
	if (rc == XFR_IN_MORE)
		return;
	if (rc == XFR_IN_DONE) {
		finish(x, 0, NULL);
		return;
	}
	const xfr_err_t *e = xfr_in_error(x->in);
	x->fallback = xfr_err_fallback(e);
	finish(x, rc, "%s: %s", x->o.qtype == DNS_T_IXFR ? "IXFR" : "AXFR", e->why);
}

/* ---- TCP ------------------------------------------------------------------------- */

static void on_tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	net_xfr_client_t *x = h->data;
	(void)hint;
	if (x->rcap - x->rlen < 16384) {
		size_t cap = x->rcap ? x->rcap * 2 : 65536 + 2;
		uint8_t *p = cap <= 4 * (MSG_MAX + 2) ? realloc(x->rbuf, cap) : NULL;
		if (p) {
			x->rbuf = p;
			x->rcap = cap;
		}
	}
	*buf = uv_buf_init((char *)x->rbuf + x->rlen, (unsigned)(x->rcap - x->rlen));
}

static void take_messages(net_xfr_client_t *x)
{
	size_t off = 0;
	while (!x->done && x->rlen - off >= 2) {
		rd_t r;
		rd_init(&r, x->rbuf + off, 2);
		size_t len = rd_u16(&r);
		if (x->rlen - off < len + 2)
			break;
		const uint8_t *msg = x->rbuf + off + 2;
		off += len + 2;
		if (x->o.qtype == DNS_T_SOA)
			soa_answer(x, msg, len);
		else
			xfr_message(x, msg, len);
	}
	if (x->done)
		return;
	memmove(x->rbuf, x->rbuf + off, x->rlen - off);
	x->rlen -= off;
}

static void on_tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	net_xfr_client_t *x = s->data;
	(void)buf;
	if (x->done || nread == 0)
		return;
	if (nread < 0) {
		finish(x, SRVD_EIO, "connection %s after %llu messages",
		       nread == UV_EOF ? "closed by the primary" : uv_strerror((int)nread),
		       (unsigned long long)x->msgs);
		return;
	}
	x->bytes += (uint64_t)nread;
	x->rlen += (size_t)nread;
	if (x->o.lim.max_bytes && x->bytes > x->o.lim.max_bytes + 2 * x->msgs + 2) {
		finish(x, SRVD_ELIMIT, "transfer larger than %llu bytes",
		       (unsigned long long)x->o.lim.max_bytes);
		return;
	}
	take_messages(x);
}

static void on_tcp_written(uv_write_t *w, int status)
{
	net_xfr_client_t *x = w->data;
	if (!x->done && status < 0)
		finish(x, SRVD_EIO, "write: %s", uv_strerror(status));
}

static void on_connect(uv_connect_t *c, int status)
{
	net_xfr_client_t *x = c->data;
	if (x->done)
		return;
	if (status < 0) {
		finish(x, SRVD_EIO, "connect: %s", uv_strerror(status));
		return;
	}
	uv_buf_t b = uv_buf_init((char *)x->q, (unsigned)(x->qlen + 2));
	x->wreq.data = x;
	int rc = uv_write(&x->wreq, (uv_stream_t *)&x->tcp, &b, 1, on_tcp_written);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&x->tcp, on_tcp_alloc, on_tcp_read);
	if (rc)
		finish(x, SRVD_EIO, "tcp: %s", uv_strerror(rc));
}

static void start_tcp(net_xfr_client_t *x)
{
	int rc = uv_tcp_init(x->loop, &x->tcp);
	if (rc == 0) {
		x->tcp.data = x;
		x->tcp_open = true;
		x->handles++;
		uv_tcp_nodelay(&x->tcp, 1);
		x->conn.data = x;
		rc = uv_tcp_connect(&x->conn, &x->tcp, (const struct sockaddr *)&x->o.addr,
		                    on_connect);
	}
	if (rc)
		finish(x, SRVD_EIO, "tcp: %s", uv_strerror(rc));
}

/* ---- UDP (SOA) ------------------------------------------------------------------- */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)a, *q = (const void *)b;
		return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *p = (const void *)a, *q = (const void *)b;
	return p->sin6_port == q->sin6_port && memcmp(&p->sin6_addr, &q->sin6_addr, 16) == 0;
}

static void on_udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	net_xfr_client_t *x = h->data;
	(void)hint;
	*buf = uv_buf_init((char *)x->ubuf, sizeof(x->ubuf));
}

static void to_tcp(net_xfr_client_t *x)
{
	uv_timer_stop(&x->udp_timer);
	if (x->udp_open) {
		uv_udp_recv_stop(&x->udp);
		x->udp_open = false;
		uv_close((uv_handle_t *)&x->udp, on_handle_closed);
	}
	/* a new TSIG session: the TCP query is signed again */
	if (x->o.key) {
		xfr_tsig_deinit(&x->tsig);
		xfr_tsig_init(&x->tsig, x->o.key);
		size_t len = 0;
		uint8_t plain[QBUF];
		if (xfr_query_soa(x->origin, x->id, plain, sizeof(plain), &len) ||
		    xfr_tsig_sign(&x->tsig, plain, len, x->q + 2, QBUF, &x->qlen)) {
			finish(x, SRVD_ENOMEM, "cannot sign the query");
			return;
		}
		put_u16(x->q, (uint16_t)x->qlen); /* qlen <= QBUF */
	}
	start_tcp(x);
}

static void on_udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                        const struct sockaddr *addr, unsigned uv_flags)
{
	net_xfr_client_t *x = h->data;
	(void)uv_flags;
	if (x->done || nread < 12 || !addr || !same_addr(&x->o.addr, addr))
		return;
	const uint8_t *msg = (const uint8_t *)buf->base;
	rd_t r;
	rd_init(&r, msg, (size_t)nread);
	uint16_t id = rd_u16(&r), flags = rd_u16(&r);
	if (r.err || id != x->id || !(flags & DNS_QR))
		return;
	x->bytes += (uint64_t)nread;
	x->msgs++;
	if (flags & DNS_TC) {
		to_tcp(x);
		return;
	}
	soa_answer(x, msg, (size_t)nread);
}

static void udp_send(net_xfr_client_t *x);

static void on_udp_timer(uv_timer_t *t)
{
	net_xfr_client_t *x = t->data;
	if (x->udp_tries < UDP_TRIES)
		udp_send(x);
	else
		to_tcp(x);
}

static void udp_send(net_xfr_client_t *x)
{
	x->udp_tries++;
	uv_buf_t b = uv_buf_init((char *)x->q + 2, (unsigned)x->qlen);
	int rc = uv_udp_try_send(&x->udp, &b, 1, (const struct sockaddr *)&x->o.addr);
	if (rc < 0)
		log_debug("xfr: SOA query over UDP: %s", uv_strerror(rc));
	uv_timer_start(&x->udp_timer, on_udp_timer, UDP_WAIT_MS, 0);
}

static void start_udp(net_xfr_client_t *x)
{
	struct sockaddr_storage any = {0};
	if (x->o.addr.ss_family == AF_INET6)
		uv_ip6_addr("::", 0, (struct sockaddr_in6 *)&any);
	else
		uv_ip4_addr("0.0.0.0", 0, (struct sockaddr_in *)&any);
	int rc = uv_udp_init(x->loop, &x->udp);
	if (rc == 0) {
		x->udp.data = x;
		x->udp_open = true;
		x->handles++;
		rc = uv_udp_bind(&x->udp, (const struct sockaddr *)&any, 0);
	}
	if (rc == 0)
		rc = uv_udp_recv_start(&x->udp, on_udp_alloc, on_udp_recv);
	if (rc) {
		finish(x, SRVD_EIO, "udp: %s", uv_strerror(rc));
		return;
	}
	udp_send(x);
}

/* ---- starting -------------------------------------------------------------------- */

/* I/O starts from the loop, so that even an early failure calls back after
 * net_xfr_client_start has returned. */
static void on_kick(uv_timer_t *t)
{
	net_xfr_client_t *x = t->data;
	if (x->o.qtype == DNS_T_SOA)
		start_udp(x);
	else
		start_tcp(x);
}

static int make_query(net_xfr_client_t *x)
{
	uint8_t plain[QBUF];
	size_t len = 0;
	int rc;
	if (x->o.qtype == DNS_T_SOA)
		rc = xfr_query_soa(x->origin, x->id, plain, sizeof(plain), &len);
	else if (x->o.qtype == DNS_T_IXFR)
		rc = xfr_query_ixfr(x->o.cur, x->id, plain, sizeof(plain), &len);
	else
		rc = xfr_query_axfr(x->origin, x->id, plain, sizeof(plain), &len);
	if (rc == 0 && x->o.key) {
		xfr_tsig_init(&x->tsig, x->o.key);
		rc = xfr_tsig_sign(&x->tsig, plain, len, x->q + 2, QBUF, &x->qlen);
	} else if (rc == 0) {
		memcpy(x->q + 2, plain, len);
		x->qlen = len;
	}
	put_u16(x->q, (uint16_t)x->qlen); /* qlen <= QBUF */
	return rc;
}

static int make_in(net_xfr_client_t *x)
{
	if (x->o.qtype == DNS_T_SOA)
		return 0;
	int rc = xfr_in_new(x->origin, x->o.cur, x->o.qtype, x->id, &x->o.lim, &x->in);
	if (rc == 0 && x->o.key)
		xfr_in_set_tsig(x->in, &x->tsig);
	int fd = -1;
	if (rc == 0 && x->o.spool_beside) {
		if (xfr_spool_open(x->o.spool_beside, &fd) == 0)
			xfr_in_spool(x->in, fd);
		else
			log_debug("xfr: no spool file beside %s: the transfer is held in memory",
			          x->o.spool_beside);
	}
	x->o.spool_beside = NULL; /* borrowed until here */
	return rc;
}

int net_xfr_client_start(uv_loop_t *loop, const net_xfr_client_opts_t *o, net_xfr_client_cb cb,
                         void *ctx, net_xfr_client_t **out)
{
	net_xfr_client_t *x = calloc(1, sizeof(*x));
	if (!x)
		return SRVD_ENOMEM;
	x->loop = loop;
	x->o = *o;
	memcpy(x->origin, o->origin, wire_name_len(o->origin));
	x->o.origin = x->origin;
	x->cb = cb;
	x->ctx = ctx;
	srvd_zone_ref((zone_t *)o->cur);
	if (uv_random(NULL, NULL, &x->id, sizeof(x->id), 0, NULL))
		x->id = (uint16_t)rand();
	uv_timer_init(loop, &x->timer);
	uv_timer_init(loop, &x->udp_timer);
	x->timer.data = x->udp_timer.data = x;
	x->handles = 2;
	int rc = make_query(x);
	if (rc == 0)
		rc = make_in(x);
	if (rc) {
		x->done = true;
		net_xfr_client_free(x);
		return rc;
	}
	uv_timer_start(&x->timer, on_timeout, o->timeout_ms, 0);
	uv_timer_start(&x->udp_timer, on_kick, 0, 0);
	*out = x;
	return 0;
}

/* ---- results --------------------------------------------------------------------- */

int net_xfr_client_result(const net_xfr_client_t *x)
{
	return x->rc;
}

const char *net_xfr_client_why(const net_xfr_client_t *x)
{
	return x->why;
}

uint32_t net_xfr_client_serial(const net_xfr_client_t *x)
{
	return x->serial;
}

bool net_xfr_client_fallback(const net_xfr_client_t *x)
{
	return x->fallback;
}

bool net_xfr_client_not_newer(const net_xfr_client_t *x)
{
	return x->in && xfr_in_error(x->in)->fail == XFR_FAIL_NOT_NEWER;
}

xfr_in_t *net_xfr_client_take(net_xfr_client_t *x)
{
	xfr_in_t *in = x->in;
	x->in = NULL;
	return in;
}

void net_xfr_client_counts(const net_xfr_client_t *x, uint64_t *bytes, uint64_t *msgs)
{
	*bytes = x->bytes;
	*msgs = x->msgs;
}
