/* Counters summed over the workers, for `srvdctl stats`.
 *
 * A responder's counters are plain integers that only its worker writes,
 * so the main thread never reads them directly. It asks instead: it bumps
 * each worker's snap_req and wakes it; the worker copies its counters into
 * its snapshot and publishes snap_seq (release). A 1 ms timer polls until
 * every worker has answered the current request, or gives up after ~1 s
 * (a worker that is stopping) and uses what it has. One collection runs at
 * a time; requests that arrive meanwhile share the next one.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/net_int.h"

enum { POLL_MS = 1, GIVE_UP_MS = 1000 };

struct net_stats_state {
	net_t *n;
	uv_timer_t timer;
	link_t waiting, next;
	uint64_t seq, started;
	bool running, init, stopped;
};

static struct net_stats_state *state(net_t *n)
{
	struct net_stats_state *s = n->stats;
	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->n = n;
	link_init(&s->waiting);
	link_init(&s->next);
	uv_timer_init(&n->loop, &s->timer);
	s->timer.data = s;
	s->init = true;
	n->stats = s;
	return s;
}

static void add(srvd_stats_t *sum, const srvd_stats_t *a)
{
	for (size_t i = 0; i < 2; i++)
		sum->queries[i] += a->queries[i];
	for (size_t i = 0; i < SRVD_STAT_QTYPES; i++)
		sum->qtype[i] += a->qtype[i];
	for (size_t i = 0; i < 16; i++)
		sum->rcode[i] += a->rcode[i];
	sum->truncated += a->truncated;
	sum->dropped += a->dropped;
	sum->formerr += a->formerr;
	sum->xfr += a->xfr;
	sum->rrl_dropped += a->rrl_dropped;
	sum->rrl_slipped += a->rrl_slipped;
	sum->rrl_logged += a->rrl_logged;
	sum->cookie_valid += a->cookie_valid;
	sum->cookie_invalid += a->cookie_invalid;
	sum->cookie_badcookie += a->cookie_badcookie;
}

static void sum(const net_t *n, uint64_t seq, net_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < n->n_workers; i++) {
		worker_t *w = n->workers[i];
		out->udp_dropped += atomic_load(&w->stats.udp_dropped);
		out->tcp_accepted += atomic_load(&w->stats.tcp_accepted);
		if (atomic_load_explicit(&w->snap_seq, memory_order_acquire) != seq)
			continue;
		add(&out->resp, &w->snap);
		out->tcp_open += w->snap_conns;
	}
}

static bool all_answered(const net_t *n, uint64_t seq)
{
	for (unsigned i = 0; i < n->n_workers; i++)
		if (atomic_load_explicit(&n->workers[i]->snap_seq, memory_order_acquire) != seq)
			return false;
	return true;
}

static void start(struct net_stats_state *s);

static void on_poll(uv_timer_t *t)
{
	struct net_stats_state *s = t->data;
	net_t *n = s->n;
	bool late = uv_now(&n->loop) - s->started > GIVE_UP_MS;
	if (!all_answered(n, s->seq) && !late)
		return;
	if (late)
		log_warn("stats: some workers did not answer");
	uv_timer_stop(t);
	s->running = false;
	net_stats_t st;
	sum(n, s->seq, &st);
	while (!link_empty(&s->waiting)) {
		net_stats_req_t *r = CONTAINER_OF(s->waiting.next, net_stats_req_t, link);
		link_remove(&r->link);
		r->done(r, &st);
	}
	if (!link_empty(&s->next))
		start(s);
}

static void start(struct net_stats_state *s)
{
	net_t *n = s->n;
	while (!link_empty(&s->next)) {
		link_t *l = s->next.next;
		link_remove(l);
		link_push_back(&s->waiting, l);
	}
	s->seq++;
	s->running = true;
	s->started = uv_now(&n->loop);
	for (unsigned i = 0; i < n->n_workers; i++) {
		atomic_store(&n->workers[i]->snap_req, s->seq);
		net_worker_wake(n->workers[i]);
	}
	uv_timer_start(&s->timer, on_poll, POLL_MS, POLL_MS);
}

void net_stats_collect(net_t *n, net_stats_req_t *r)
{
	struct net_stats_state *s = state(n);
	if (!s || s->stopped) {
		net_stats_t st;
		sum(n, 0, &st);
		r->done(r, &st);
		return;
	}
	link_push_back(&s->next, &r->link);
	if (!s->running)
		start(s);
}

void net_stats_stop(net_t *n)
{
	struct net_stats_state *s = n->stats;
	if (!s || s->stopped)
		return;
	s->stopped = true;
	uv_close((uv_handle_t *)&s->timer, NULL);
}

void net_stats_free(net_t *n)
{
	free(n->stats);
	n->stats = NULL;
}
