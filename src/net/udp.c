/* UDP: batched receive and send on each worker's own sockets.
 *
 * Choice: we drive the raw socket with a uv_poll_t and call recvmmsg and
 * sendmmsg ourselves instead of using uv_udp_t. uv_udp in libuv 1.44 can
 * receive in batches (UV_UDP_RECVMMSG) but sends one datagram per syscall
 * and cannot set the source address of a reply. With our own loop one
 * readable event costs one recvmmsg for up to 64 queries and one sendmmsg
 * for their answers, and each reply carries the IP_PKTINFO/IPV6_PKTINFO of
 * its query when the socket is bound to a wildcard address, so the answer
 * leaves from the address the query was sent to (a multi-homed host would
 * otherwise answer from whichever address the route picks, and clients drop
 * such answers).
 *
 * Nothing here allocates or locks: the mmsg arrays, the query and response
 * slots and the control buffers are allocated once per worker (net_batch_t)
 * and every socket of the worker uses them in turn. A reply that cannot be
 * sent at once (EAGAIN) is dropped; the client retries, and queueing would
 * only add latency and memory under the very load that caused it.
 *
 * Fairness: one readable event handles at most NET_UDP_ROUNDS batches, then
 * the loop serves the other sockets and connections; the poll is level
 * triggered, so the rest waits for the next iteration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "dnstap/dnstap.h"
#include "net/net_int.h"

typedef union ctl {
	struct cmsghdr align;
	uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
} ctl_t;

struct net_batch {
	unsigned rx_dirty; /* rx headers the last recvmmsg may have changed */
	bool rx_pktinfo;   /* whether those headers are set up for pktinfo */
	struct mmsghdr rx[NET_UDP_BATCH], tx[NET_UDP_BATCH];
	struct iovec riov[NET_UDP_BATCH], tiov[NET_UDP_BATCH];
	struct sockaddr_storage from[NET_UDP_BATCH];
	ctl_t rctl[NET_UDP_BATCH], tctl[NET_UDP_BATCH];
	uint8_t rbuf[NET_UDP_BATCH][NET_UDP_SLOT];
	uint8_t tbuf[NET_UDP_BATCH][NET_UDP_SLOT];
};

int net_udp_init(worker_t *w)
{
	net_batch_t *b = calloc(1, sizeof(*b));
	if (!b)
		return SRVD_ENOMEM;
	b->rx_dirty = NET_UDP_BATCH;
	for (unsigned i = 0; i < NET_UDP_BATCH; i++) {
		b->riov[i] = (struct iovec){.iov_base = b->rbuf[i], .iov_len = NET_UDP_SLOT};
		b->tiov[i] = (struct iovec){.iov_base = b->tbuf[i], .iov_len = 0};
		b->rx[i].msg_hdr.msg_iov = &b->riov[i];
		b->rx[i].msg_hdr.msg_iovlen = 1;
		b->rx[i].msg_hdr.msg_name = &b->from[i];
		b->tx[i].msg_hdr.msg_iov = &b->tiov[i];
		b->tx[i].msg_hdr.msg_iovlen = 1;
	}
	w->batch = b;
	return 0;
}

void net_udp_free(worker_t *w)
{
	free(w->batch);
	w->batch = NULL;
}

/* recvmmsg overwrites the lengths and flags: reset them before each call. */
static int recv_batch(udp_sock_t *u)
{
	net_batch_t *b = u->w->batch;
	/* recvmmsg rewrites only the headers it fills: reset just those, which
	 * matters at low rates where each call returns one datagram. */
	unsigned dirty = b->rx_pktinfo == u->pktinfo ? b->rx_dirty : NET_UDP_BATCH;
	b->rx_pktinfo = u->pktinfo;
	for (unsigned i = 0; i < dirty; i++) {
		struct msghdr *h = &b->rx[i].msg_hdr;
		h->msg_namelen = sizeof(b->from[i]);
		h->msg_control = u->pktinfo ? b->rctl[i].buf : NULL;
		h->msg_controllen = u->pktinfo ? sizeof(b->rctl[i].buf) : 0;
		h->msg_flags = 0;
	}
	int n;
	do
		n = recvmmsg(u->fd, b->rx, NET_UDP_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		log_debug("udp: recvmmsg: %s", strerror(errno));
	b->rx_dirty = n > 0 ? (unsigned)n : 0;
	return n;
}

static void put_cmsg(struct msghdr *h, ctl_t *c, int level, int type, const void *data, size_t len)
{
	memset(c, 0, sizeof(*c));
	h->msg_control = c->buf;
	h->msg_controllen = CMSG_SPACE(len);
	struct cmsghdr *cm = CMSG_FIRSTHDR(h);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(cm), data, len);
}

/* Copy the query's destination address into the reply as its source. */
static void reply_from(struct msghdr *rh, struct msghdr *th, ctl_t *c)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(rh); cm; cm = CMSG_NXTHDR(rh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			put_cmsg(th, c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
			return;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			put_cmsg(th, c, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
			return;
		}
	}
}

/* An UPDATE goes to the daemon (update.c); its answer comes back later,
 * through net_udp_reply, from this socket and to the same source address. */
static void take_update(udp_sock_t *u, const srvd_server_t *srv, const srvd_query_t *q, unsigned i)
{
	net_batch_t *b = u->w->batch;
	struct msghdr *rh = &b->rx[i].msg_hdr;
	net_route_t rt = {.transport = SRVD_UDP, .sock = (unsigned)(u - u->w->udp)};
	memcpy(&rt.peer, &b->from[i], sizeof(rt.peer));
	rt.peer_len = rh->msg_namelen;
	if (u->pktinfo) {
		struct msghdr th = {0};
		ctl_t c;
		reply_from(rh, &th, &c);
		if (th.msg_controllen && th.msg_controllen <= sizeof(rt.ctl)) {
			memcpy(rt.ctl, c.buf, th.msg_controllen);
			rt.ctl_len = th.msg_controllen;
		}
	}
	net_update_push(u->w, srv, q, &rt);
}

void net_udp_reply(worker_t *w, const net_reply_t *r)
{
	const net_route_t *rt = &r->route;
	if (rt->sock >= w->n_socks || w->udp[rt->sock].fd < 0)
		return;
	struct iovec iov = {.iov_base = (void *)r->msg, .iov_len = r->len};
	uint8_t ctl[sizeof(rt->ctl)] __attribute__((aligned(8)));
	memcpy(ctl, rt->ctl, rt->ctl_len);
	struct msghdr h = {.msg_name = (void *)&rt->peer,
	                   .msg_namelen = rt->peer_len,
	                   .msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = rt->ctl_len ? ctl : NULL,
	                   .msg_controllen = rt->ctl_len};
	if (sendmsg(w->udp[rt->sock].fd, &h, MSG_DONTWAIT) < 0)
		log_debug("udp: update answer: %s", strerror(errno));
}

/* Answer datagram i into send slot `slot`. Returns false when nothing goes
 * back (a truncated query, or the responder drops it). */
static bool answer(udp_sock_t *u, const srvd_server_t *srv, uint32_t now, unsigned i, unsigned slot)
{
	net_batch_t *b = u->w->batch;
	struct msghdr *rh = &b->rx[i].msg_hdr;
	if (rh->msg_flags & MSG_TRUNC)
		return false;
	srvd_query_t q = {
	    .wire = b->rbuf[i],
	    .len = b->rx[i].msg_len,
	    .transport = SRVD_UDP,
	    .src_addr = &b->from[i],
	    .now = now,
	};
	srvd_result_t res;
	int rc = srvd_dispatch(u->w->resp, srv, &q, b->tbuf[slot], NET_UDP_SLOT, &res);
	if (rc == SRVD_UPDATE)
		take_update(u, srv, &q, i);
	if (rc != SRVD_OK)
		return false;
	if (res.zone)
		net_notified_push(u->w->net, res.zone);
	size_t len = res.len;
	net_count_size(u->w, len);
	if (u->w->dt) {
		const net_addr_t *a = &u->w->net->addrs[u - u->w->udp];
		dt_log(u->w->dt, &q, a->any ? NULL : (const struct sockaddr *)&a->sa, b->tbuf[slot],
		       len);
	}
	struct msghdr *th = &b->tx[slot].msg_hdr;
	b->tiov[slot].iov_len = len;
	th->msg_name = &b->from[i];
	th->msg_namelen = rh->msg_namelen;
	th->msg_control = NULL;
	th->msg_controllen = 0;
	if (u->pktinfo)
		reply_from(rh, th, &b->tctl[slot]);
	return true;
}

static void send_batch(udp_sock_t *u, unsigned m)
{
	net_batch_t *b = u->w->batch;
	unsigned i = 0, dropped = 0;
	while (i < m) {
		int r = sendmmsg(u->fd, b->tx + i, m - i, MSG_DONTWAIT);
		if (r > 0) {
			i += (unsigned)r;
		} else if (r < 0 && errno == EINTR) {
			continue;
		} else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			dropped += m - i;
			break;
		} else {
			/* This one datagram is unsendable (say, a bogus source
			 * address); skip it and send the rest. */
			log_debug("udp: sendmmsg: %s", strerror(errno));
			dropped++;
			i++;
		}
	}
	NET_COUNT(u->w, udp_sent, m - dropped);
	if (dropped)
		NET_COUNT(u->w, udp_dropped, dropped);
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	udp_sock_t *u = h->data;
	if (status < 0) {
		/* The socket is unusable; polling it again would only spin. */
		log_err("udp: worker %u: %s, socket closed", u->w->id, uv_strerror(status));
		net_udp_close(u);
		return;
	}
	const srvd_server_t *srv = net_server(u->w);
	for (unsigned round = 0; round < NET_UDP_ROUNDS; round++) {
		int n = recv_batch(u);
		if (n <= 0)
			break;
		/* The clock of rate limiting and cookies: read once a batch. */
		uint32_t now = (uint32_t)time(NULL);
		unsigned m = 0;
		for (unsigned i = 0; i < (unsigned)n; i++)
			if (answer(u, srv, now, i, m))
				m++;
		NET_COUNT(u->w, udp_recv, (unsigned)n);
		if (m)
			send_batch(u, m);
		if (n < NET_UDP_BATCH)
			break;
	}
}

int net_udp_open(worker_t *w, udp_sock_t *u, int fd, bool pktinfo)
{
	u->w = w;
	u->fd = fd;
	u->pktinfo = pktinfo;
	int rc = uv_poll_init_socket(&w->loop, &u->poll, fd);
	if (rc == 0) {
		u->open = true;
		u->poll.data = u;
		rc = uv_poll_start(&u->poll, UV_READABLE, on_readable);
	}
	if (rc) {
		log_err("udp: poll: %s", uv_strerror(rc));
		return SRVD_EIO;
	}
	return 0;
}

static void on_closed(uv_handle_t *h)
{
	udp_sock_t *u = h->data;
	close(u->fd);
	u->fd = -1;
}

/* uv_poll does not own the fd: close it once libuv has let go of it. */
void net_udp_close(udp_sock_t *u)
{
	if (u->open) {
		if (!uv_is_closing((uv_handle_t *)&u->poll))
			uv_close((uv_handle_t *)&u->poll, on_closed);
	} else if (u->fd >= 0) {
		close(u->fd);
		u->fd = -1;
	}
}
