/* The control commands' replies: what `srvdctl status`, `zone-status`,
 * `stats` and `reload` show, built with the ctl_reply_* cursor from the
 * zone table, the worker counters and a reload job's results. The keys are
 * those src/ctl/ctl.h lists; a few more (rss_bytes, action, served) are
 * extras that clients ignore when they don't know them.
 *
 * Main loop only: the table is read while a reload job may be reading it
 * too, never while one is swapping it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/control_cmd.h"
#include "xfr/xfr.h"

/* A zone name as the replies write it: with the trailing dot, as srvd_zone_info
 * gives the origin of a zone that is served. */
static const char *fqdn(const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);
	snprintf(buf, cap, "%s%s", name, n && name[n - 1] == '.' ? "" : ".");
	return buf;
}

/* ---- status ----------------------------------------------------------------- */

static uint64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;
	if (!f)
		return 0;
	int got = fscanf(f, "%lu %lu", &size, &rss);
	fclose(f);
	return got == 2 ? (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

int net_ctl_status(const net_t *n, ctl_reply_t *r)
{
	const ztab_t *t = net_reload_table(n);
	size_t failed = 0;
	for (size_t i = 0; i < t->n; i++)
		failed += t->v[i]->error != NULL;
	ctl_reply_set_str(r, "version", SRVD_VERSION_STRING);
	ctl_reply_set_u64(r, "pid", (uint64_t)getpid());
	ctl_reply_set_u64(r, "uptime", (uint64_t)(time(NULL) - n->started_at));
	ctl_reply_set_u64(r, "workers", n->n_workers);
	ctl_reply_set_u64(r, "zones", t->n);
	ctl_reply_set_u64(r, "zones_failed", failed);
	ctl_reply_set_u64(r, "memory", ztab_memory(t));
	return ctl_reply_set_u64(r, "rss_bytes", rss_bytes());
}

/* ---- zone-status --------------------------------------------------------------- */

static void zone_entry(const net_t *n, ctl_reply_t *r, const ztab_zone_t *z)
{
	srvd_zone_info_t info;
	bool served = z->ver && srvd_zone_info(z->ver, &info) == 0;
	char name[300];
	ctl_reply_begin_map(r, NULL);
	ctl_reply_set_str(r, "name", served ? info.origin : fqdn(z->src.name, name, sizeof(name)));
	if (served)
		ctl_reply_set_u64(r, "serial", info.serial);
	ctl_reply_begin_array(r, "files");
	for (size_t i = 0; i < z->n_fps; i++)
		ctl_reply_set_str(r, NULL, z->fps[i].path);
	if (!z->n_fps)
		ctl_reply_set_str(r, NULL, z->src.file);
	ctl_reply_end(r);
	ctl_reply_set_u64(r, "loaded", served ? (uint64_t)z->loaded_at : 0);
	ctl_reply_set_u64(r, "records", served ? info.records : 0);
	ctl_reply_set_bool(r, "served", served);
	if (served)
		ctl_reply_set_u64(r, "memory_bytes", info.memory);
	if (z->error)
		ctl_reply_set_str(r, "error", z->error);
	net_services_zone_status(n, z->src.key, r);
	ctl_reply_end(r);
}

static int unknown_zone(ctl_reply_t *r, const char *zone)
{
	char msg[CTL_MAX_ZONE + 32];
	snprintf(msg, sizeof(msg), "unknown zone '%s'", zone);
	return ctl_reply_fail(r, msg);
}

int net_ctl_zone_status(const net_t *n, const char *zone, ctl_reply_t *r)
{
	const ztab_t *t = net_reload_table(n);
	const ztab_zone_t *one = zone[0] ? ztab_find(t, zone) : NULL;
	if (zone[0] && !one)
		return unknown_zone(r, zone);
	ctl_reply_begin_array(r, "zones");
	for (size_t i = 0; i < t->n; i++)
		if (!one || t->v[i] == one)
			zone_entry(n, r, t->v[i]);
	return ctl_reply_end(r);
}

/* ---- stats ------------------------------------------------------------------------ */

/* By type and rcode, the bounded label sets of the per-zone counters
 * (src/zone/stats.c): the server-wide counts are their sums. */
static void stats_maps(ctl_reply_t *r, const srvd_zone_stats_t *s)
{
	ctl_reply_begin_map(r, "qtype");
	for (unsigned i = 0; i < SRVD_ZSTAT_QTYPES; i++)
		if (s->queries[i])
			ctl_reply_set_u64(r, srvd_zstat_qtype_name(i), s->queries[i]);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "rcode");
	for (unsigned i = 0; i < SRVD_ZSTAT_RCODES; i++)
		if (s->rcode[i] || i == 0)
			ctl_reply_set_u64(r, srvd_zstat_rcode_name(i), s->rcode[i]);
	ctl_reply_end(r);
}

/* stats ZONE: what the zone answered since start (all its versions),
 * and its transfers, NOTIFYs and refresh timers (zone_events.c). */
static int zone_stats(net_t *n, const ztab_zone_t *z, ctl_reply_t *r)
{
	srvd_zone_info_t info;
	bool served = z->ver && srvd_zone_info(z->ver, &info) == 0;
	char name[300];
	srvd_zone_stats_t st;
	memset(&st, 0, sizeof(st));
	if (served)
		net_stats_zone(n, info.origin, z->ver, &st);
	ctl_reply_set_str(r, "zone", served ? info.origin : fqdn(z->src.name, name, sizeof(name)));
	if (served)
		ctl_reply_set_u64(r, "serial", info.serial);
	uint64_t total = 0;
	for (unsigned i = 0; i < SRVD_ZSTAT_QTYPES; i++)
		total += st.queries[i];
	ctl_reply_set_u64(r, "queries", total);
	stats_maps(r, &st);
	ctl_reply_begin_map(r, "answers");
	for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++) {
		if (!st.queries[q])
			continue;
		ctl_reply_begin_map(r, srvd_zstat_qtype_name(q));
		for (unsigned c = 0; c < SRVD_ZSTAT_RCODES; c++)
			if (st.n[q][c])
				ctl_reply_set_u64(r, srvd_zstat_rcode_name(c), st.n[q][c]);
		ctl_reply_end(r);
	}
	ctl_reply_end(r);
	net_zone_ev_t ev;
	net_zev_get(n, z->src.key, &ev);
	ctl_reply_set_u64(r, "xfr_in", ev.xfr_in);
	ctl_reply_set_u64(r, "xfr_in_failed", ev.xfr_in_failed);
	ctl_reply_set_u64(r, "xfr_in_bytes", ev.xfr_in_bytes);
	ctl_reply_set_u64(r, "xfr_out", ev.xfr_out);
	ctl_reply_set_u64(r, "xfr_out_bytes", ev.xfr_out_bytes);
	ctl_reply_set_u64(r, "notify_in", ev.notify_in);
	ctl_reply_set_u64(r, "notify_out", ev.notify_out);
	if (ev.secondary) {
		ctl_reply_set_u64(r, "last_refresh_at", (uint64_t)ev.last_refresh);
		ctl_reply_set_u64(r, "expires_at", (uint64_t)ev.expire_at);
	}
	return ctl_reply_set_bool(r, "served", served);
}

int net_ctl_stats(net_t *n, const net_stats_t *s, const char *zone, ctl_reply_t *r)
{
	if (zone[0]) {
		const ztab_zone_t *z = ztab_find(net_reload_table(n), zone);
		return z ? zone_stats(n, z, r) : unknown_zone(r, zone);
	}
	uint64_t ok, failed;
	net_reload_counts(n, &ok, &failed);
	ctl_reply_begin_map(r, "queries");
	ctl_reply_set_u64(r, "udp", s->queries[SRVD_UDP]);
	ctl_reply_set_u64(r, "tcp", s->queries[SRVD_TCP]);
	ctl_reply_end(r);
	stats_maps(r, &s->all);
	ctl_reply_set_u64(r, "truncated", s->resp.truncated);
	ctl_reply_set_u64(r, "dropped", s->resp.dropped + s->udp_dropped);
	ctl_reply_set_u64(r, "formerr", s->all.rcode[1]);
	ctl_reply_set_u64(r, "transfers", s->resp.xfr);
	ctl_reply_begin_map(r, "rrl");
	ctl_reply_set_u64(r, "dropped", s->resp.rrl_dropped);
	ctl_reply_set_u64(r, "slipped", s->resp.rrl_slipped);
	ctl_reply_set_u64(r, "logged", s->resp.rrl_logged);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "cookies");
	ctl_reply_set_u64(r, "valid", s->resp.cookie_valid);
	ctl_reply_set_u64(r, "invalid", s->resp.cookie_invalid);
	ctl_reply_set_u64(r, "badcookie", s->resp.cookie_badcookie);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "reloads");
	ctl_reply_set_u64(r, "ok", ok);
	ctl_reply_set_u64(r, "failed", failed);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "dnstap");
	ctl_reply_set_u64(r, "logged", s->dnstap_logged);
	ctl_reply_set_u64(r, "dropped", s->dnstap_dropped);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "connections");
	ctl_reply_set_u64(r, "accepted", s->tcp_accepted);
	ctl_reply_set_u64(r, "open", s->tcp_open);
	return ctl_reply_end(r);
}

/* ---- reload ------------------------------------------------------------------------- */

static const char *action(ztab_outcome_t o, bool added)
{
	switch (o) {
	case ZTAB_ZONE_LOADED: return added ? "added" : "loaded";
	case ZTAB_ZONE_FAILED: return "failed";
	case ZTAB_ZONE_UPDATED: return "updated";
	default: return "unchanged";
	}
}

static void reload_entry(ctl_reply_t *r, const ztab_zone_t *z, const char *what)
{
	srvd_zone_info_t info;
	bool served = z->ver && srvd_zone_info(z->ver, &info) == 0;
	char name[300];
	ctl_reply_begin_map(r, NULL);
	ctl_reply_set_str(r, "name", served ? info.origin : fqdn(z->src.name, name, sizeof(name)));
	ctl_reply_set_bool(r, "ok", !z->error);
	if (served)
		ctl_reply_set_u64(r, "serial", info.serial);
	ctl_reply_set_str(r, "action", what);
	if (z->error)
		ctl_reply_set_str(r, "error", z->error);
	ctl_reply_end(r);
}

/* After the job's results are in the table: every zone (or the one asked
 * for), what happened to it, and the zones that went away. */
int net_ctl_reload(const net_t *n, const char *zone, const ztab_job_t *j, ctl_reply_t *r)
{
	if (!j)
		return ctl_reply_fail(r, "the reload did not run (stopping)");
	if (j->rc)
		return ctl_reply_fail(r, j->conf_err[0] ? j->conf_err : srvd_strerror(j->rc));
	const ztab_zone_t *one = zone[0] ? ztab_find(net_reload_table(n), zone) : NULL;
	if (zone[0] && !one)
		return unknown_zone(r, zone);
	unsigned failed = 0;
	ctl_reply_begin_array(r, "zones");
	for (size_t i = 0; i < j->next.n; i++) {
		const ztab_zone_t *z = j->next.v[i];
		if (one && z != one)
			continue;
		failed += z->error != NULL;
		reload_entry(r, z, action((ztab_outcome_t)j->outcome[i], !j->prev[i]));
	}
	for (size_t i = 0; !one && i < j->n_removed; i++) {
		char name[300];
		ctl_reply_begin_map(r, NULL);
		ctl_reply_set_str(r, "name", fqdn(j->removed[i]->src.name, name, sizeof(name)));
		ctl_reply_set_bool(r, "ok", true);
		ctl_reply_set_str(r, "action", "removed");
		ctl_reply_end(r);
	}
	int rc = ctl_reply_end(r);
	if (one && one->error)
		return ctl_reply_fail(r, one->error);
	if (failed) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%u zone%s failed to load", failed,
		         failed > 1 ? "s" : "");
		return ctl_reply_fail(r, msg);
	}
	return rc;
}
