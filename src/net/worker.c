/* Worker threads: one uv loop each, with its sockets, responder and buffers.
 *
 * A worker is built completely on the main thread (loop, handles, bound
 * sockets) before its thread starts, so binding errors surface before the
 * daemon reports that it is up, and privileges can be dropped between bind
 * and the first query. From then on only the worker thread touches it,
 * except for what the main thread may do: uv_async_send on `wake` (to
 * stop, to hurry a reload's grace period, or to ask for a snapshot of the
 * counters through snap_req), and read `epoch` and a published snapshot.
 *
 * The epoch is the quiescent point of our RCU: the uv_check callback runs
 * after every loop iteration's I/O callbacks, when the worker holds no zone
 * set pointer (those are loaded per batch and dropped before a callback
 * returns). Once every epoch has moved past the value it had right after a
 * publish, no worker can still see the old set.
 *
 * Stopping drains: sockets close at once, TCP connections finish what is in
 * flight, and a 2 s timer closes whatever is left. When no handle is left
 * the loop returns and the thread ends.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/net_int.h"

static void on_check(uv_check_t *h)
{
	worker_t *w = h->data;
	atomic_fetch_add(&w->epoch, 1);
}

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Close everything; the loop then runs out of handles and returns. */
void net_worker_finish(worker_t *w)
{
	if (w->finished)
		return;
	w->finished = true;
	for (size_t i = 0; i < w->n_socks; i++)
		net_udp_close(&w->udp[i]);
	net_tcp_close(w);
	uv_walk(&w->loop, close_any, NULL);
}

static void on_drain_timeout(uv_timer_t *t)
{
	worker_t *w = t->data;
	if (w->n_conns)
		log_info("worker %u: closing %zu TCP connections still busy at stop", w->id,
		         w->n_conns);
	net_worker_finish(w);
}

static void drain(worker_t *w)
{
	w->draining = true;
	for (size_t i = 0; i < w->n_socks; i++)
		net_udp_close(&w->udp[i]);
	net_tcp_drain(w);
	if (w->n_conns == 0)
		net_worker_finish(w);
	else
		uv_timer_start(&w->drain, on_drain_timeout, NET_DRAIN_MS, 0);
}

/* stats.c asked for our counters: a copy, then the sequence (release). */
static void snapshot(worker_t *w)
{
	uint64_t want = atomic_load(&w->snap_req);
	if (want == atomic_load_explicit(&w->snap_seq, memory_order_relaxed))
		return;
	srvd_responder_stats(w->resp, &w->snap);
	w->snap_conns = w->n_conns;
	atomic_store_explicit(&w->snap_seq, want, memory_order_release);
}

/* A wake-up asks us to stop, or for a snapshot of our counters, or only
 * makes the loop iterate so that on_check bumps the epoch of an otherwise
 * idle worker. */
void net_worker_reply(worker_t *w, const net_route_t *route, const uint8_t *msg, size_t len)
{
	net_reply_t *r = malloc(sizeof(*r) + len);
	if (!r)
		return; /* the client retries */
	r->route = *route;
	r->len = len;
	memcpy(r->msg, msg, len);
	uv_mutex_lock(&w->reply_mu);
	link_push_back(&w->replies, &r->link);
	uv_mutex_unlock(&w->reply_mu);
	net_worker_wake(w);
}

static void send_replies(worker_t *w)
{
	link_t list;
	link_init(&list);
	uv_mutex_lock(&w->reply_mu);
	while (!link_empty(&w->replies)) {
		link_t *l = w->replies.next;
		link_remove(l);
		link_push_back(&list, l);
	}
	uv_mutex_unlock(&w->reply_mu);
	while (!link_empty(&list)) {
		net_reply_t *r = CONTAINER_OF(list.next, net_reply_t, link);
		link_remove(&r->link);
		if (!w->draining && r->route.transport == SRVD_UDP)
			net_udp_reply(w, r);
		else if (!w->draining)
			net_tcp_reply(w, r);
		free(r);
	}
}

static void on_wake(uv_async_t *h)
{
	worker_t *w = h->data;
	snapshot(w);
	send_replies(w);
	if (atomic_load(&w->net->stopping) && !w->draining)
		drain(w);
}

static int init_handles(worker_t *w)
{
	int rc = uv_async_init(&w->loop, &w->wake, on_wake);
	if (rc == 0)
		rc = uv_check_init(&w->loop, &w->check);
	if (rc == 0)
		rc = uv_check_start(&w->check, on_check);
	if (rc == 0)
		rc = uv_timer_init(&w->loop, &w->drain);
	w->wake.data = w->check.data = w->drain.data = w;
	if (rc)
		log_err("worker %u: %s", w->id, uv_strerror(rc));
	return rc ? SRVD_EIO : 0;
}

static int open_socks(worker_t *w)
{
	const struct net *n = w->net;
	w->udp = calloc(n->n_addrs, sizeof(*w->udp));
	w->lst = calloc(n->n_addrs, sizeof(*w->lst));
	if (!w->udp || !w->lst)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n->n_addrs; i++) {
		const net_addr_t *a = &n->addrs[i];
		int fd;
		w->udp[i].fd = w->lst[i].fd = w->lst[i].spare = -1;
		w->n_socks = i + 1;
		if (net_sock_udp(a, &fd) || net_udp_open(w, &w->udp[i], fd, a->any))
			return SRVD_EIO;
		if (net_sock_tcp(a, &fd) || net_tcp_open(w, &w->lst[i], fd))
			return SRVD_EIO;
	}
	return 0;
}

int net_worker_new(struct net *n, unsigned id, worker_t **out)
{
	worker_t *w = calloc(1, sizeof(*w));
	if (!w)
		return SRVD_ENOMEM;
	w->net = n;
	w->srv = &n->srv;
	w->id = id;
	w->idle_ms = n->idle_ms;
	w->max_conns = n->max_conns;
	atomic_init(&w->epoch, 0);
	atomic_init(&w->snap_req, 0);
	atomic_init(&w->snap_seq, 0);
	link_init(&w->conns);
	link_init(&w->ready);
	link_init(&w->replies);
	uv_mutex_init(&w->reply_mu);
	int rc = uv_loop_init(&w->loop);
	if (rc) {
		log_err("worker %u: %s", id, uv_strerror(rc));
		free(w);
		return SRVD_EIO;
	}
	w->loop_ok = true;
	srvd_responder_opts_t ro = n->ropts;
	ro.stats_row = id;
	rc = srvd_responder_new(&ro, &w->resp);
	if (rc == 0)
		rc = net_udp_init(w);
	if (rc == 0)
		rc = net_tcp_init(w);
	if (rc == 0)
		rc = init_handles(w);
	if (rc == 0)
		rc = open_socks(w);
	if (rc) {
		net_worker_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

static void run(void *arg)
{
	worker_t *w = arg;
	char name[16];
	snprintf(name, sizeof(name), "srvd-w%u", w->id);
	pthread_setname_np(pthread_self(), name);
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

int net_worker_start(worker_t *w)
{
	int rc = uv_thread_create(&w->thread, run, w);
	if (rc) {
		log_err("worker %u: cannot start thread: %s", w->id, uv_strerror(rc));
		return SRVD_EIO;
	}
	w->running = true;
	return 0;
}

void net_worker_wake(worker_t *w)
{
	if (w->running)
		uv_async_send(&w->wake);
}

void net_worker_join(worker_t *w)
{
	if (!w->running)
		return;
	uv_thread_join(&w->thread);
	w->running = false;
}

/* Only after net_worker_join (or when the thread never started). */
void net_worker_free(worker_t *w)
{
	if (!w)
		return;
	if (w->loop_ok) {
		net_worker_finish(w);
		uv_run(&w->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&w->loop))
			log_err("worker %u: loop still has handles at exit", w->id);
	}
	while (!link_empty(&w->replies)) {
		link_t *l = w->replies.next;
		link_remove(l);
		free(CONTAINER_OF(l, net_reply_t, link));
	}
	uv_mutex_destroy(&w->reply_mu);
	srvd_responder_free(w->resp);
	net_udp_free(w);
	net_tcp_free(w);
	free(w->udp);
	free(w->lst);
	free(w);
}
