/* Counters summed over the workers, for `srvdctl stats`.
 *
 * A responder's counters are plain integers that only its worker writes,
 * so the main thread never reads them directly. It asks instead: it bumps
 * each worker's snap_req and wakes it; the worker copies its counters into
 * its snapshot and publishes snap_seq (release). A 1 ms timer polls until
 * every worker has answered the current request, or gives up after ~1 s
 * (a worker that is stopping) and uses what it has. One collection runs at
 * a time; requests that arrive meanwhile share the next one.
 *
 * Per-zone counters live in the zone versions (zone/stats.c), a row per
 * worker. When a version stops being served (after the grace period, so
 * no worker writes it any more) its counts are folded into a total kept
 * here by zone name, so a zone's counters survive reloads and only grow,
 * as Prometheus expects. Until then a replaced version is still counted
 * from the retired states (net.c), so no count disappears for a moment.
 * Totals of zones no longer served are dropped from the per-zone view
 * and kept in `gone`, so that the server-wide counts by type and rcode,
 * which are all the zones' counts plus what no zone answered, only grow.
 */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "net/net_int.h"
#include "zone/zone.h"

enum { POLL_MS = 1, GIVE_UP_MS = 1000 };

typedef struct zone_total {
	char *name;           /* presentation form, as srvd_zone_info has it */
	uint8_t lorigin[255]; /* lower-case wire form */
	size_t len;
	srvd_zone_stats_t st;
} zone_total_t;

struct net_stats_state {
	net_t *n;
	zone_total_t *totals;
	size_t n_totals, cap_totals;
	srvd_zone_stats_t gone; /* zones no longer served */
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
	srvd_zone_stats_add(&sum->unzoned, &a->unzoned);
	sum->truncated += a->truncated;
	sum->dropped += a->dropped;
	sum->xfr += a->xfr;
	for (size_t i = 0; i < 16; i++)
		sum->tsig_failed[i] += a->tsig_failed[i];
	sum->rrl_dropped += a->rrl_dropped;
	sum->rrl_slipped += a->rrl_slipped;
	sum->rrl_logged += a->rrl_logged;
	sum->cookie_valid += a->cookie_valid;
	sum->cookie_invalid += a->cookie_invalid;
	sum->cookie_badcookie += a->cookie_badcookie;
}

static void sum(net_t *n, uint64_t seq, net_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < n->n_workers; i++) {
		worker_t *w = n->workers[i];
		out->queries[SRVD_UDP] += atomic_load(&w->stats.udp_recv);
		out->queries[SRVD_TCP] += atomic_load(&w->stats.tcp_queries);
		out->udp_dropped += atomic_load(&w->stats.udp_dropped);
		out->tcp_accepted += atomic_load(&w->stats.tcp_accepted);
		out->tcp_evicted += atomic_load(&w->stats.tcp_evicted);
		out->tcp_timeouts += atomic_load(&w->stats.tcp_timeouts);
		out->xfr_started += atomic_load(&w->stats.xfr_started);
		out->xfr_done += atomic_load(&w->stats.xfr_done);
		out->size_bytes += atomic_load(&w->stats.size_bytes);
		for (unsigned b = 0; b < NET_SIZE_BUCKETS; b++)
			out->size[b] += atomic_load(&w->stats.size[b]);
		if (atomic_load_explicit(&w->snap_seq, memory_order_acquire) != seq)
			continue;
		add(&out->resp, &w->snap);
		out->tcp_open += w->snap_conns;
	}
	net_dnstap_counts(n, &out->dnstap_logged, &out->dnstap_dropped);
	out->all = out->resp.unzoned;
	net_stats_zones(n, &out->all);
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
	net_zev_free(n);
	struct net_stats_state *s = n->stats;
	for (size_t i = 0; s && i < s->n_totals; i++)
		free(s->totals[i].name);
	if (s)
		free(s->totals);
	free(s);
	n->stats = NULL;
}

static void zone_add(srvd_zone_stats_t *sum, const srvd_zone_stats_t *a)
{
	srvd_zone_stats_add(sum, a);
}

static zone_total_t *total(struct net_stats_state *s, const char *name, bool add)
{
	for (size_t i = 0; i < s->n_totals; i++)
		if (strcmp(s->totals[i].name, name) == 0)
			return &s->totals[i];
	if (!add || arr_grow((void **)&s->totals, &s->cap_totals, s->n_totals + 1,
	                     sizeof(*s->totals), 8) != 0)
		return NULL;
	zone_total_t *t = &s->totals[s->n_totals];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	if (!t->name)
		return NULL;
	s->n_totals++;
	return t;
}

/* The zone sets of the states replaced but not yet released (net.c):
 * their versions still count until net_stats_fold takes them. */
static size_t n_retired(const net_t *n)
{
	return n->n_retired;
}

static const srvd_zoneset_t *retired(const net_t *n, size_t i)
{
	return srvd_server_zoneset(n->retired[i]);
}

static const srvd_zoneset_t *served_set(const net_t *n)
{
	const srvd_server_t *srv = atomic_load(&n->srv);
	return srv ? srvd_server_zoneset(srv) : NULL;
}

static bool in_set(const srvd_zoneset_t *zs, const zone_t *z)
{
	return zs && zone_set_find(zs, z->origin_lower, z->origin_len) == z;
}

/* z of retired set i is counted here unless the served set or an
 * earlier retired set has it (a version is in many sets). */
static bool first_retired(const net_t *n, size_t i, const zone_t *z)
{
	if (in_set(served_set(n), z))
		return false;
	for (size_t j = 0; j < i; j++)
		if (in_set(retired(n, j), z))
			return false;
	return true;
}

void net_stats_zone(net_t *n, const char *name, const srvd_zone_t *served, srvd_zone_stats_t *out)
{
	srvd_zone_stats(served, out);
	struct net_stats_state *s = state(n);
	const zone_total_t *t = s ? total(s, name, false) : NULL;
	if (t)
		zone_add(out, &t->st);
	for (size_t i = 0; served && i < n_retired(n); i++) {
		const zone_t *z =
		    zone_set_find(retired(n, i), served->origin_lower, served->origin_len);
		if (!z || z == served || z->origin_len != served->origin_len ||
		    !first_retired(n, i, z))
			continue;
		srvd_zone_stats_t st;
		srvd_zone_stats(z, &st);
		zone_add(out, &st);
	}
}

void net_stats_zones(net_t *n, srvd_zone_stats_t *out)
{
	srvd_zone_stats_t st;
	const srvd_zoneset_t *cur = served_set(n);
	for (size_t i = 0; cur && i < srvd_zoneset_count(cur); i++) {
		srvd_zone_stats(srvd_zoneset_at(cur, i), &st);
		zone_add(out, &st);
	}
	for (size_t r = 0; r < n_retired(n); r++)
		for (size_t i = 0; i < srvd_zoneset_count(retired(n, r)); i++) {
			const zone_t *z = srvd_zoneset_at(retired(n, r), i);
			if (!first_retired(n, r, z))
				continue;
			srvd_zone_stats(z, &st);
			zone_add(out, &st);
		}
	struct net_stats_state *s = state(n);
	for (size_t i = 0; s && i < s->n_totals; i++)
		zone_add(out, &s->totals[i].st);
	if (s)
		zone_add(out, &s->gone);
}

static void drop_unserved(struct net_stats_state *s, const srvd_zoneset_t *cur)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n_totals; i++) {
		const zone_t *z =
		    cur ? zone_set_find(cur, s->totals[i].lorigin, s->totals[i].len) : NULL;
		if (z && z->origin_len == s->totals[i].len) {
			s->totals[k++] = s->totals[i];
		} else {
			zone_add(&s->gone, &s->totals[i].st);
			free(s->totals[i].name);
		}
	}
	s->n_totals = k;
}

void net_stats_fold(net_t *n, const srvd_zoneset_t *old, const srvd_zoneset_t *cur)
{
	struct net_stats_state *s = state(n);
	if (!s || old == cur)
		return;
	for (size_t i = 0; i < srvd_zoneset_count(old); i++) {
		srvd_zone_t *z = srvd_zoneset_at(old, i);
		if (in_set(cur, z))
			continue;
		srvd_zone_info_t info;
		srvd_zone_stats_t st;
		srvd_zone_stats_take(z, &st);
		zone_total_t *t =
		    srvd_zone_info(z, &info) == 0 ? total(s, info.origin, true) : NULL;
		if (!t)
			continue;
		memcpy(t->lorigin, z->origin_lower, z->origin_len);
		t->len = z->origin_len;
		zone_add(&t->st, &st);
	}
	drop_unserved(s, cur);
}
