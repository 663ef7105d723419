/* Secondary zones on the main loop: for each zone with primaries, the
 * refresh state machine, its timers, and what it publishes.
 *
 * A refresh (at start-up, when the refresh or retry timer fires, on NOTIFY,
 * on `srvdctl refresh`) walks the primaries in order until one succeeds:
 *   SOA query (xfr_client.c, TSIG when the zone has a key) -> serial not newer
 *   (RFC 1982) than ours: the check succeeded, nothing to fetch;
 *   newer -> IXFR from our serial (AXFR when we hold nothing, or for
 *   `srvdctl retransfer`), AXFR when the IXFR fails in a way that AXFR may
 *   fix -> build the version on the thread pool (xfr_in_finish, every zone
 *   check) -> publish it through the reload queue (net_reload_install, the
 *   same atomic swap as a reload); the run ends there. Then, one save at a
 *   time beside later runs, on the thread pool: the diff into the journal
 *   and the copy saved (temp file, fsync, rename). The state file (when
 *   the zone was last confirmed) is rewritten after every successful check.
 * A NOTIFY or refresh that comes while one runs makes it run again after
 * (coalescing). When every primary fails, the reason goes to the log and
 * zone-status and the zone is retried after the SOA's retry interval.
 *
 * Timers come from the SOA of the version we hold (xfr_zone_timers),
 * clamped by the zone's bounds. Expiry (RFC 1035 4.3.5): when expire
 * seconds pass without a successful check, an expired placeholder
 * (srvd_zone_new_expired: SERVFAIL for every name) is published in place of
 * the data, which we keep; the next successful check publishes the data
 * (or the newer version) again.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/reconcile.h"
#include "net/secondary.h"
#include "net/xfr_client.h"
#include "secondary/secondary.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

enum {
	JOURNAL_MAX = 64 << 20, /* bytes per journal file */
	SOA_TIMEOUT_MS = 5000,
	/* NOTIFYs that come while a check runs, or within this long after one
	 * ended, wait for one more check at the end of it (RFC 1996 4.4 lets
	 * a secondary coalesce them): a burst costs two SOA queries however
	 * it is spread, and a flood from a peer in notify-from costs at most
	 * four a second. The first NOTIFY after a quiet spell is acted on at
	 * once. */
	NOTIFY_HOLD_MS = 250,
};

typedef enum { IDLE, SOA, XFR, BUILD, PUBLISH } phase_t;

typedef struct sec_zone {
	struct net_secondary *s;
	char *key, *name, *file;
	uint8_t origin[255];
	conf_addr_t *primaries;
	size_t n_primaries;
	xfr_tsig_key_t tkey; /* inline: a client in flight borrows it */
	bool has_tkey;
	conf_timers_t bounds;
	srvd_prefix_t *acl;
	size_t n_acl;
	xfr_journal_t *jnl;
	uv_timer_t timer;
	int refs; /* the timer, work in flight, a waiter in the reload queue */
	bool gone;
	/* what we hold */
	zone_t *cur; /* the last real version, also while expired */
	bool expired;
	sec_sched_t sched; /* when to check, when the data expires */
	time_t last_xfr;
	/* the run */
	phase_t phase;
	size_t prim;
	bool again, force, run_force;
	uint16_t qtype;
	uint64_t t0, notify_t0; /* uv_hrtime of the run's start, of its NOTIFY */
	uint64_t notified;      /* uv_hrtime of a NOTIFY not yet acted on */
	uint64_t last_end;      /* uv_now when the last run ended */
	bool notify_again;      /* a NOTIFY came during the run: check once more */
	bool held;              /* the timer is set for a held NOTIFY's check */
	net_xfr_client_t *xc;
	xfr_in_t *in;
	zone_t *built;
	char build_err[300];
	double build_ms;
	xfr_kind_t kind; /* of the transfer just built */
	uv_work_t work;
	net_waiter_t wait;
	/* saving, one at a time; next_* waits for the one running */
	uv_work_t save_work;
	zone_t *save_old, *save_new, *next_old, *next_new;
	bool saving;
	/* copies that pool threads read while the config may change */
	char *save_path;
	srvd_prefix_t *build_acl;
	size_t n_build_acl;
	uint64_t bytes, msgs;
	/* for zone-status */
	char used[80];
	char error[480];
	uint64_t n_ixfr, n_axfr;
} sec_zone_t;

struct net_secondary {
	net_t *n;
	sec_zone_t **v;
	size_t nv;
	xfr_journal_t **jnls; /* every journal opened: freed at the end only */
	size_t n_jnls;
	struct net_primary_journal *pj; /* primary zones' journals */
	bool stopped;
};

static void run(sec_zone_t *z);
static void schedule(sec_zone_t *z);
static void on_timer(uv_timer_t *t);

/* ---- small things ---------------------------------------------------------------- */

static double ms_since(uint64_t t0)
{
	return (double)(uv_hrtime() - t0) / 1e6;
}

static void *dup_mem(const void *p, size_t n)
{
	void *q = n ? malloc(n) : NULL;
	if (q)
		memcpy(q, p, n);
	return q;
}

static sec_timers_t timers_of(const sec_zone_t *z)
{
	xfr_soa_timers_t s = {0};
	if (z->cur)
		xfr_zone_timers(z->cur, &s);
	return sec_timers(z->cur != NULL, s.refresh, s.retry, s.expire, &z->bounds);
}

static const char *addr_str(const conf_addr_t *a, char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(a->host, ':') ? "[%s]@%u" : "%s@%u", a->host, a->port);
	return buf;
}

static int sockaddr_of(const conf_addr_t *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(a->host, ':'))
		return uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)out);
	return uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)out);
}

static void put_ref(sec_zone_t *z);

/* ---- publication ----------------------------------------------------------------- */

static void on_timer_closed(uv_handle_t *h)
{
	put_ref(h->data);
}

static void zone_free(sec_zone_t *z)
{
	srvd_zone_unref(z->cur);
	srvd_zone_unref(z->built);
	srvd_zone_unref(z->save_old);
	srvd_zone_unref(z->save_new);
	srvd_zone_unref(z->next_old);
	srvd_zone_unref(z->next_new);
	if (z->in)
		xfr_in_free(z->in);
	free(z->key);
	free(z->name);
	free(z->file);
	free(z->save_path);
	free(z->build_acl);
	free(z->primaries);
	free(z->acl);
	free(z);
}

static void put_ref(sec_zone_t *z)
{
	if (--z->refs == 0)
		zone_free(z);
}

static void write_state(sec_zone_t *z)
{
	if (!z->cur)
		return;
	ztab_saved_t st = {z->sched.last_ok, z->cur->serial, timers_of(z).expire};
	if (ztab_saved_write(z->file, &st))
		log_warn("zone %s: cannot write the state of %s", z->name, z->file);
}

/* Publish v (taken) for z; w is told when it is served. */
static void install(sec_zone_t *z, zone_t *v, net_waiter_t *w)
{
	if (w)
		z->refs++;
	net_reload_install(z->s->n, z->key, v, w);
}

/* A successful check: the timers start again, an expired zone comes back. */
static void check_ok(sec_zone_t *z, const char *primary)
{
	sec_timers_t t = timers_of(z);
	sec_checked(&z->sched, &t, time(NULL));
	net_zev_refresh(z->s->n, z->key, z->sched.last_ok, z->sched.expire_at);
	z->error[0] = 0;
	if (primary != z->used)
		snprintf(z->used, sizeof(z->used), "%s", primary);
	if (z->expired && z->cur) {
		log_info("zone %s: %s answers again: serving serial %u again", z->name, primary,
		         z->cur->serial);
		z->expired = false;
		srvd_zone_ref(z->cur);
		install(z, z->cur, NULL);
	}
	write_state(z);
}

static void expire(sec_zone_t *z)
{
	zone_t *ph = NULL;
	if (srvd_zone_new_expired(z->name, &ph)) {
		log_err("zone %s: expired, but out of memory for the placeholder", z->name);
		return;
	}
	z->expired = true;
	char when[32];
	struct tm tm;
	time_t t = z->sched.last_ok;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	log_err("zone %s: expired: no successful refresh from its primaries since %s (expire %u "
	        "s); answering SERVFAIL until a primary answers",
	        z->name, when, timers_of(z).expire);
	install(z, ph, NULL);
}

/* ---- the end of a run ------------------------------------------------------------ */

/* Check again when the hold-off after the last run is over. */
static void hold(sec_zone_t *z, uint64_t ms)
{
	z->held = true;
	uv_timer_start(&z->timer, on_timer, ms, 0);
}

static void end_run(sec_zone_t *z)
{
	z->phase = IDLE;
	z->notify_t0 = 0;
	z->run_force = false;
	z->last_end = uv_now(&z->s->n->loop);
	if (z->gone || z->s->stopped)
		return;
	if (z->again) {
		z->again = false;
		z->notify_again = false;
		run(z);
		return;
	}
	if (z->notify_again) {
		z->notify_again = false;
		hold(z, NOTIFY_HOLD_MS);
		return;
	}
	schedule(z);
}

static void run_failed(sec_zone_t *z)
{
	sec_timers_t t = timers_of(z);
	sec_failed(&z->sched, &t, time(NULL));
	log_warn("zone %s: refresh failed (%s); retrying in %u s", z->name, z->error, t.retry);
	end_run(z);
}

static void set_error(sec_zone_t *z, const char *what)
{
	snprintf(z->error, sizeof(z->error), "%s", what);
}

/* ---- saving (thread pool) -------------------------------------------------------- */

static bool same_soa(const xfr_rr_t *a, const xfr_rr_t *b)
{
	return a->ttl == b->ttl && a->rdlen == b->rdlen &&
	       memcmp(a->rdata, b->rdata, a->rdlen) == 0;
}

/* The diff old -> new into the journal. Only a serial that went forward
 * (RFC 1982) is a step IXFR can describe. A retransfer (AXFR whatever the
 * serial) usually brings the same data under the same serial: nothing to
 * record. Other data under the same serial, or a serial that went back,
 * means the journal's diffs no longer lead to what is served: it starts
 * over, and IXFR from older serials gets the whole zone. */
static void journal_diff(sec_zone_t *z, const zone_t *old, const zone_t *nv)
{
	xfr_diff_t *d = NULL;
	int rc = xfr_diff_compute(old, nv, &d);
	bool forward = wire_serial_gt(nv->serial, old->serial);
	if (rc == 0 && forward) {
		rc = xfr_journal_append(z->jnl, d);
	} else if (rc == 0 && d->n_removed == 1 && d->n_added == 1 &&
	           same_soa(&d->removed[0], &d->added[0])) {
		log_debug("zone %s: serial %u transferred again, same data: journal unchanged",
		          z->name, nv->serial);
	} else if (rc == 0) {
		log_warn("zone %s: serial %u %s %u with other data: journal cleared (IXFR from "
		         "older serials gets the whole zone)",
		         z->name, nv->serial,
		         nv->serial == old->serial ? "again after" : "back from", old->serial);
		rc = xfr_journal_clear(z->jnl);
	}
	xfr_diff_unref(d);
	if (rc)
		log_warn("zone %s: journal: %s", z->name, srvd_strerror(rc));
}

/* The diff old -> new into the journal, then new into the file. */
static void work_save(uv_work_t *w)
{
	sec_zone_t *z = w->data;
	zone_t *old = z->save_old, *nv = z->save_new;
	uint64_t t0 = uv_hrtime();
	if (old && z->jnl)
		journal_diff(z, old, nv);
	int rc = z->save_path ? xfr_zone_save(nv, z->save_path) : SRVD_ENOMEM;
	if (rc)
		log_err("zone %s: cannot save %s: %s", z->name,
		        z->save_path ? z->save_path : "the copy", srvd_strerror(rc));
	else
		log_info("zone %s: serial %u saved to %s%s (%.0f ms)", z->name, nv->serial,
		         z->save_path, old && z->jnl ? " and its diff to the journal" : "",
		         ms_since(t0));
}

static void start_save(sec_zone_t *z);

static void after_save(uv_work_t *w, int status)
{
	sec_zone_t *z = w->data;
	(void)status;
	srvd_zone_unref(z->save_old);
	srvd_zone_unref(z->save_new);
	z->save_old = z->save_new = NULL;
	free(z->save_path);
	z->save_path = NULL;
	z->saving = false;
	if (z->next_new) /* also when stopping: the loop runs until it is written */
		start_save(z);
	put_ref(z); /* the work's, last */
}

static void start_save(sec_zone_t *z)
{
	z->save_old = z->next_old;
	z->save_new = z->next_new;
	z->next_old = z->next_new = NULL;
	z->save_path = strdup(z->file);
	z->saving = true;
	z->refs++;
	z->save_work.data = z;
	if (uv_queue_work(&z->s->n->loop, &z->save_work, work_save, after_save) != 0) {
		work_save(&z->save_work);
		after_save(&z->save_work, 0);
	}
}

/* Saves run one at a time, beside the refreshes: a NOTIFY that comes while
 * a big copy is written is acted on at once. Saves still waiting merge (the
 * diff from the oldest to the newest). Takes both references. */
static void queue_save(sec_zone_t *z, zone_t *old, zone_t *nv)
{
	if (z->next_new) {
		srvd_zone_unref(z->next_new);
		srvd_zone_unref(old);
		z->next_new = nv;
	} else {
		z->next_old = old;
		z->next_new = nv;
	}
	if (!z->saving)
		start_save(z);
}

/* The new version is served: log it, queue the journal and the copy. */
static void on_installed(net_waiter_t *w, const ztab_job_t *j)
{
	sec_zone_t *z = CONTAINER_OF(w, sec_zone_t, wait);
	if (!j || z->gone || z->s->stopped) {
		srvd_zone_unref(z->built);
		z->built = NULL;
		end_run(z);
		put_ref(z);
		return;
	}
	bool ixfr = z->kind == XFR_KIND_INCREMENTAL;
	if (ixfr)
		z->n_ixfr++;
	else
		z->n_axfr++;
	char since[64] = "";
	if (z->notify_t0)
		snprintf(since, sizeof(since), ", %.0f ms after the NOTIFY",
		         ms_since(z->notify_t0));
	log_info("zone %s: serving serial %u from %s (%s, %llu messages, %llu bytes, %.0f ms, "
	         "%.0f ms of it building%s)",
	         z->name, z->built->serial, z->used, ixfr ? "IXFR, incremental" : "AXFR",
	         (unsigned long long)z->msgs, (unsigned long long)z->bytes, ms_since(z->t0),
	         z->build_ms, since);
	z->expired = false;
	z->last_xfr = time(NULL);
	zone_t *old = z->cur;
	z->cur = z->built;
	z->built = NULL;
	srvd_zone_ref(z->cur);
	queue_save(z, old, z->cur);
	check_ok(z, z->used);
	end_run(z);
	put_ref(z); /* the waiter's */
}

/* ---- building (thread pool) ------------------------------------------------------ */

static void on_diag(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                    unsigned line, const char *msg)
{
	sec_zone_t *z = ctx;
	(void)file;
	(void)line;
	log_msg(level == SRVD_DIAG_ERROR ? LOG_LVL_ERROR : LOG_LVL_WARNING, "zone %s: transfer: %s",
	        zone, msg);
	if (level == SRVD_DIAG_ERROR && !z->build_err[0])
		snprintf(z->build_err, sizeof(z->build_err), "%s", msg);
}

static int set_acl(zone_t *v, const srvd_prefix_t *acl, size_t n)
{
	srvd_prefix_t *a = n ? malloc(n * sizeof(*a)) : NULL;
	if (n && !a)
		return SRVD_ENOMEM;
	if (n)
		memcpy(a, acl, n * sizeof(*a));
	free(v->acl);
	v->acl = a;
	v->n_acl = n;
	return 0;
}

static void work_build(uv_work_t *w)
{
	sec_zone_t *z = w->data;
	srvd_diag_t diag = {.fn = on_diag, .ctx = z};
	z->build_err[0] = 0;
	uint64_t t0 = uv_hrtime();
	int rc = xfr_in_finish(z->in, &diag, &z->built);
	z->build_ms = ms_since(t0);
	z->kind = xfr_in_kind(z->in);
	if (rc == 0 && z->built != z->cur && set_acl(z->built, z->build_acl, z->n_build_acl))
		rc = SRVD_ENOMEM;
	if (rc && !z->build_err[0])
		snprintf(z->build_err, sizeof(z->build_err), "%s", srvd_strerror(rc));
	if (rc) {
		srvd_zone_unref(z->built);
		z->built = NULL;
	}
}

static void next_primary(sec_zone_t *z);

/* Publish what was built, or say why not. */
static void build_done(sec_zone_t *z)
{
	if (!z->built) {
		snprintf(z->error, sizeof(z->error), "%s: the transferred zone does not build: %s",
		         z->used, z->build_err);
		log_err("zone %s: %s", z->name, z->error);
		next_primary(z);
		return;
	}
	if (z->built == z->cur) { /* IXFR said: up to date */
		srvd_zone_unref(z->built);
		z->built = NULL;
		check_ok(z, z->used);
		end_run(z);
		return;
	}
	z->phase = PUBLISH;
	srvd_zone_ref(z->built);
	install(z, z->built, &z->wait);
}

static void after_build(uv_work_t *w, int status)
{
	sec_zone_t *z = w->data;
	xfr_in_free(z->in);
	z->in = NULL;
	free(z->build_acl);
	z->build_acl = NULL;
	if (z->gone || z->s->stopped || status) {
		srvd_zone_unref(z->built);
		z->built = NULL;
		end_run(z);
	} else {
		build_done(z);
	}
	put_ref(z); /* the work's, last: it may be the final one */
}

/* ---- transfers ------------------------------------------------------------------- */

static void start_xfr(sec_zone_t *z, uint16_t qtype);

/* A full transfer must advance the serial we hold (RFC 1982), or it
 * rolls the zone back: a primary that answers IXFR with NOTIMP and then
 * serves an older AXFR. xfr_in already refuses it at the first message;
 * this is the rule in one place for whatever reaches the build. */
static bool accept_serial(sec_zone_t *z)
{
	uint32_t theirs = xfr_in_serial(z->in), ours = z->cur ? z->cur->serial : 0;
	if (xfr_in_kind(z->in) != XFR_KIND_FULL ||
	    sec_accept_serial(z->cur != NULL, ours, theirs, z->run_force))
		return true;
	snprintf(z->error, sizeof(z->error),
	         "%s: serial %u is not newer than ours (%u): a rollback, refused; `srvdctl "
	         "retransfer` forces it",
	         z->used, theirs, ours);
	log_warn("zone %s: transfer refused: %s", z->name, z->error);
	xfr_in_free(z->in);
	z->in = NULL;
	next_primary(z);
	return false;
}

static void on_xfr(net_xfr_client_t *x, void *ctx)
{
	sec_zone_t *z = ctx;
	z->xc = NULL;
	int rc = net_xfr_client_result(x);
	net_xfr_client_counts(x, &z->bytes, &z->msgs);
	net_zev_xfr_in(z->s->n, z->key, z->bytes, rc == 0);
	if (rc == 0)
		z->in = net_xfr_client_take(x);
	bool fallback = rc && z->qtype == DNS_T_IXFR && net_xfr_client_fallback(x);
	bool not_newer = rc && net_xfr_client_not_newer(x);
	if (rc)
		set_error(z, net_xfr_client_why(x));
	net_xfr_client_free(x);
	if (rc && fallback) {
		log_info("zone %s: %s; trying AXFR", z->name, z->error);
		start_xfr(z, DNS_T_AXFR);
		return;
	}
	if (rc) {
		log_warn("zone %s: transfer failed: %s%s", z->name, z->error,
		         not_newer ? " (a rollback: refused; `srvdctl retransfer` forces it)" : "");
		next_primary(z);
		return;
	}
	if (!accept_serial(z))
		return;
	z->phase = BUILD;
	z->work.data = z;
	z->build_acl = dup_mem(z->acl, z->n_acl * sizeof(*z->acl));
	z->n_build_acl = z->build_acl ? z->n_acl : 0;
	z->refs++;
	if (uv_queue_work(&z->s->n->loop, &z->work, work_build, after_build) != 0) {
		work_build(&z->work);
		after_build(&z->work, 0);
	}
}

static bool start_client(sec_zone_t *z, uint16_t qtype, net_xfr_client_cb cb)
{
	if (z->prim >= z->n_primaries) { /* a reload shortened the list */
		snprintf(z->error, sizeof(z->error), "the primaries changed during the refresh");
		return false;
	}
	const conf_t *c = net_reload_conf(z->s->n);
	net_xfr_client_opts_t o = {
	    .origin = z->origin,
	    .key = z->has_tkey ? &z->tkey : NULL,
	    .timeout_ms = qtype == DNS_T_SOA ? SOA_TIMEOUT_MS : 1000ull * c->xfr_timeout,
	    .qtype = qtype,
	    /* AXFR too: xfr_in refuses a serial that does not advance ours at
	     * the first message, unless forced (sec_accept_serial) */
	    .cur = qtype == DNS_T_SOA ? NULL : z->cur,
	    .lim = {.max_bytes = c->xfr_max_size, .force = z->run_force},
	    .spool_beside = z->file,
	};
	char a[80];
	addr_str(&z->primaries[z->prim], a, sizeof(a));
	snprintf(z->used, sizeof(z->used), "%s", a);
	if (sockaddr_of(&z->primaries[z->prim], &o.addr) != 0 ||
	    net_xfr_client_start(&z->s->n->loop, &o, cb, z, &z->xc) != 0) {
		snprintf(z->error, sizeof(z->error), "%s: cannot start the query", a);
		return false;
	}
	return true;
}

static void start_xfr(sec_zone_t *z, uint16_t qtype)
{
	z->phase = XFR;
	z->qtype = qtype;
	log_debug("zone %s: %s from %s", z->name, qtype == DNS_T_IXFR ? "IXFR" : "AXFR", z->used);
	if (!start_client(z, qtype, on_xfr))
		next_primary(z);
}

/* ---- SOA checks ------------------------------------------------------------------ */

static void start_soa(sec_zone_t *z);

static void next_primary(sec_zone_t *z)
{
	if (++z->prim < z->n_primaries)
		start_soa(z);
	else
		run_failed(z);
}

static void on_soa(net_xfr_client_t *x, void *ctx)
{
	sec_zone_t *z = ctx;
	z->xc = NULL;
	int rc = net_xfr_client_result(x);
	uint32_t serial = net_xfr_client_serial(x);
	if (rc)
		set_error(z, net_xfr_client_why(x));
	net_xfr_client_free(x);
	if (rc) {
		log_warn("zone %s: SOA check failed: %s", z->name, z->error);
		next_primary(z);
		return;
	}
	if (!sec_should_transfer(z->cur != NULL, z->cur ? z->cur->serial : 0, serial)) {
		log_debug("zone %s: %s has serial %u, we have %u: up to date", z->name, z->used,
		          serial, z->cur->serial);
		check_ok(z, z->used);
		end_run(z);
		return;
	}
	log_info("zone %s: %s has serial %u (we have %s%u): transferring", z->name, z->used, serial,
	         z->cur ? "" : "none, ", z->cur ? z->cur->serial : 0);
	start_xfr(z, z->cur ? DNS_T_IXFR : DNS_T_AXFR);
}

/* With nothing to compare with, or for a retransfer, go straight to AXFR. */
static void start_soa(sec_zone_t *z)
{
	if (z->prim >= z->n_primaries) {
		run_failed(z);
		return;
	}
	if (!z->cur || z->run_force) {
		char a[80];
		snprintf(z->used, sizeof(z->used), "%s",
		         addr_str(&z->primaries[z->prim], a, sizeof(a)));
		start_xfr(z, DNS_T_AXFR);
		return;
	}
	z->phase = SOA;
	if (!start_client(z, DNS_T_SOA, on_soa))
		next_primary(z);
}

static void run(sec_zone_t *z)
{
	if (z->phase != IDLE) {
		z->again = true;
		return;
	}
	z->t0 = uv_hrtime();
	z->prim = 0;
	z->run_force = z->force;
	z->force = false;
	z->notify_t0 = z->notified;
	z->notified = 0;
	start_soa(z);
}

/* ---- timers ---------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
	sec_zone_t *z = t->data;
	if (z->held) {
		z->held = false;
		run(z);
		return;
	}
	time_t now = time(NULL);
	/* from BUILD on, a primary has answered and the data is about to be
	 * replaced: an expiry now would race with that install */
	if (z->cur && !z->expired && sec_expired(&z->sched, now) && z->phase < BUILD)
		expire(z);
	if (z->phase == IDLE && now >= z->sched.next_at)
		run(z);
	else
		schedule(z);
}

static void schedule(sec_zone_t *z)
{
	if (z->gone || z->s->stopped || z->held)
		return; /* a held check comes first; its end schedules */
	time_t now = time(NULL), due = sec_due(&z->sched, z->cur && !z->expired);
	uint64_t ms = due > now ? (uint64_t)(due - now) * 1000 : 0;
	if (z->phase != IDLE && ms < 1000)
		ms = 1000; /* the run in progress reschedules when it ends */
	uv_timer_start(&z->timer, on_timer, ms, 0);
}

/* ---- following the config -------------------------------------------------------- */

static sec_zone_t *find_zone(const struct net_secondary *s, const char *key)
{
	for (size_t i = 0; i < s->nv; i++)
		if (strcmp(s->v[i]->key, key) == 0)
			return s->v[i];
	return NULL;
}

/* The settings of cz into z (primaries, key, bounds, transfer ACL, file). */
static int settings(sec_zone_t *z, const conf_t *c, const conf_zone_t *cz)
{
	srvd_zone_src_t src;
	ztab_zone_src(c, cz, &src);
	conf_addr_t *p = dup_mem(cz->primaries, cz->n_primaries * sizeof(*p));
	srvd_prefix_t *acl = dup_mem(src.allow_transfer, src.n_allow_transfer * sizeof(*acl));
	char *file = strdup(cz->file);
	if (!p || (src.n_allow_transfer && !acl) || !file) {
		free(p);
		free(acl);
		free(file);
		return SRVD_ENOMEM;
	}
	free(z->primaries);
	free(z->acl);
	free(z->file);
	z->primaries = p;
	z->n_primaries = cz->n_primaries;
	z->acl = acl;
	z->n_acl = src.n_allow_transfer;
	z->file = file;
	z->bounds = cz->timers;
	const conf_key_t *k = cz->key ? conf_key_find(c, cz->key) : NULL;
	z->has_tkey = k && xfr_tsig_key_init(k->name, k->algorithm, k->secret, &z->tkey) == 0;
	if (k && !z->has_tkey)
		log_err("zone %s: key %s cannot be used", cz->name, k->name);
	return 0;
}

/* What we hold at start-up: the copy the reload job loaded, and when it was
 * last confirmed (its state file, else its mtime). */
static void adopt(sec_zone_t *z, const ztab_zone_t *e)
{
	time_t now = time(NULL);
	if (e->ver && !srvd_zone_is_expired(e->ver)) {
		z->cur = e->ver;
		srvd_zone_ref(z->cur);
		ztab_saved_t st;
		struct stat sb;
		time_t last_ok = now;
		if (ztab_saved_read(z->file, &st) == 0)
			last_ok = st.refreshed;
		else if (stat(z->file, &sb) == 0)
			last_ok = sb.st_mtime;
		sec_timers_t t = timers_of(z);
		sec_adopt(&z->sched, &t, last_ok);
		net_zev_refresh(z->s->n, z->key, z->sched.last_ok, z->sched.expire_at);
		log_info("zone %s: serving the saved copy (serial %u) until a primary confirms it",
		         z->name, z->cur->serial);
	} else {
		log_info("zone %s: no usable saved copy: not served until the first transfer",
		         z->name);
	}
	z->sched.next_at = now;
}

static sec_zone_t *new_zone(struct net_secondary *s, const conf_t *c, const conf_zone_t *cz,
                            const ztab_zone_t *e)
{
	sec_zone_t *z = calloc(1, sizeof(*z));
	size_t olen = 0;
	if (!z)
		return NULL;
	z->s = s;
	z->key = strdup(e->src.key);
	z->name = strdup(cz->name);
	if (!z->key || !z->name || wire_name_from_str(cz->name, z->origin, &olen) ||
	    settings(z, c, cz)) {
		zone_free(z);
		return NULL;
	}
	/* state-dir/ORIGIN.jnl, or beside the copy: checked when the zone is
	 * added, as the copy's folder is (a save that fails says so each time) */
	char why[300] = "";
	const char *jp = e->src.journal;
	/* before any save of ours can run: what a killed one left behind */
	ztab_clean_temps(z->file);
	ztab_clean_temps(jp);
	xfr_journal_t **v = realloc(s->jnls, (s->n_jnls + 1) * sizeof(*v));
	if (v)
		s->jnls = v;
	if (!ztab_journal_writable(jp, why, sizeof(why)))
		log_warn(
		    "zone %s: journal %s cannot be written (%s): IXFR for the zone is answered "
		    "with the whole zone; set server: state-dir to a folder srvd may write",
		    z->name, jp, why);
	else if (v && xfr_journal_open(jp, z->origin, JOURNAL_MAX, why, sizeof(why), &z->jnl) == 0)
		s->jnls[s->n_jnls++] = z->jnl;
	if (z->jnl && why[0])
		log_warn("zone %s: journal %s: %s", z->name, jp, why);
	uv_timer_init(&s->n->loop, &z->timer);
	z->timer.data = z;
	z->refs = 2; /* the list and the timer */
	z->wait.done = on_installed;
	link_init(&z->wait.link);
	adopt(z, e);
	return z;
}

static void drop_zone(sec_zone_t *z)
{
	z->gone = true;
	if (z->xc) {
		net_xfr_client_free(z->xc);
		z->xc = NULL;
	}
	if (!uv_is_closing((uv_handle_t *)&z->timer))
		uv_close((uv_handle_t *)&z->timer, on_timer_closed);
	put_ref(z); /* the list's */
}

/* The rule srvd_dispatch judges NOTIFY for z by: notify-from's addresses
 * and keys in one list (srvd_acl_key entries for the keys). */
static int rule_of(const sec_zone_t *z, const conf_zone_t *cz, srvd_zone_rule_t *out)
{
	size_t n = cz->n_notify_from + cz->n_notify_keys;
	srvd_prefix_t *acl = calloc(n + 1, sizeof(*acl));
	if (!acl)
		return SRVD_ENOMEM;
	memcpy(acl, cz->notify_from, cz->n_notify_from * sizeof(*acl));
	size_t k = cz->n_notify_from;
	for (size_t i = 0; i < cz->n_notify_keys; i++)
		if (srvd_acl_key(cz->notify_keys[i], &acl[k]) == 0)
			k++;
	*out = (srvd_zone_rule_t){
	    .origin = z->key, .secondary = 1, .notify_from = acl, .n_notify_from = k};
	return 0;
}

/* The UPDATE grants of the configured zone with this table key, as the
 * library takes them (pointers into c; free the array only). */
static srvd_update_grant_t *grants_of(const conf_t *c, const char *key, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < c->n_zones; i++) {
		const conf_zone_t *cz = &c->zones[i];
		char k[256];
		snprintf(k, sizeof(k), "%s", cz->name);
		size_t l = strlen(k);
		if (l && k[l - 1] == '.')
			k[--l] = 0;
		for (size_t j = 0; j < l; j++)
			k[j] = (char)tolower((unsigned char)k[j]);
		if (strcmp(k, key) != 0 || !cz->n_grants)
			continue;
		srvd_update_grant_t *g = calloc(cz->n_grants, sizeof(*g));
		for (size_t j = 0; g && j < cz->n_grants; j++) {
			const conf_grant_t *cg = &cz->grants[j];
			g[j] = (srvd_update_grant_t){.who = cg->who,
			                             .names = (const char *const *)cg->names,
			                             .n_names = cg->n_names,
			                             .types = cg->types,
			                             .n_types = cg->n_types,
			                             .acme = cg->acme};
		}
		*n = g ? cz->n_grants : 0;
		return g;
	}
	return NULL;
}

/* Publish the zone rules: NOTIFY and the journal for every secondary zone,
 * the journal (IXFR out) and the UPDATE grants for primary zones that keep
 * a journal (an update is durable only through one). */
static void publish_rules(struct net_secondary *s, const conf_t *c)
{
	size_t np = net_primary_journal_count(s->pj), cap = s->nv + np + 1;
	srvd_zone_rule_t *v = calloc(cap, sizeof(*v));
	xfr_journal_t **j = calloc(cap, sizeof(*j));
	size_t nv = 0;
	for (size_t i = 0; v && j && i < c->n_zones; i++) {
		const conf_zone_t *cz = &c->zones[i];
		const ztab_zone_t *e =
		    cz->n_primaries ? ztab_find(net_reload_table(s->n), cz->name) : NULL;
		sec_zone_t *z = e ? find_zone(s, e->src.key) : NULL;
		if (z && nv < s->nv && rule_of(z, cz, &v[nv]) == 0)
			j[nv++] = z->jnl;
	}
	size_t first_primary = nv;
	if (v && j) {
		nv += net_primary_journal_rules(s->pj, v + nv, j + nv, np);
		for (size_t i = first_primary; i < nv; i++)
			v[i].update = grants_of(c, v[i].origin, &v[i].n_update);
		net_publish_rules(s->n, v, j, nv);
	} else {
		log_err("secondary: out of memory; NOTIFY and IXFR rules not updated");
	}
	for (size_t i = 0; v && i < nv; i++) {
		if (v[i].secondary)
			free((void *)v[i].notify_from);
		free((void *)v[i].update);
	}
	free(v);
	free(j);
}

typedef struct sync_ctx {
	struct net_secondary *s;
	const conf_t *c;
	const ztab_t *t;
} sync_ctx_t;

/* The state for configured zone i if it is a secondary zone in the table:
 * kept with its new settings (dropped if they are bad), or new. */
static void *want_zone(void *ctx, size_t i)
{
	const sync_ctx_t *x = ctx;
	const conf_zone_t *cz = &x->c->zones[i];
	const ztab_zone_t *e = cz->n_primaries ? ztab_find(x->t, cz->name) : NULL;
	if (!e)
		return NULL;
	sec_zone_t *z = find_zone(x->s, e->src.key);
	if (z)
		return settings(z, x->c, cz) == 0 ? z : NULL;
	if ((z = new_zone(x->s, x->c, cz, e)))
		schedule(z);
	return z;
}

static void drop_state(void *ctx, void *z)
{
	drop_zone(z);
}

/* After each reload (and at start-up): follow the config's secondary zones. */
static void svc_after_reload(void *state)
{
	static const reconcile_ops_t ops = {want_zone, drop_state};
	struct net_secondary *s = state;
	if (s->stopped)
		return;
	sync_ctx_t x = {s, net_reload_conf(s->n), net_reload_table(s->n)};
	void **v;
	if (reconcile((void **)s->v, s->nv, x.c->n_zones, &ops, &x, &v, &s->nv))
		return;
	s->v = (sec_zone_t **)v;
	net_primary_journal_sync(s->n, &s->pj);
	publish_rules(s, x.c);
}

/* ---- NOTIFY, control, status ----------------------------------------------------- */

/* A worker took a NOTIFY for the zone with this table key (notify_in.c). */
static void svc_notified(void *state, const char *key)
{
	struct net_secondary *s = state;
	sec_zone_t *z = !s->stopped ? find_zone(s, key) : NULL;
	if (!z)
		return;
	if (!z->notified)
		z->notified = uv_hrtime();
	uint64_t now = uv_now(&s->n->loop);
	if (z->phase != IDLE)
		z->notify_again = true;
	else if (z->held)
		return; /* already waiting for its check */
	else if (z->last_end && now < z->last_end + NOTIFY_HOLD_MS)
		hold(z, z->last_end + NOTIFY_HOLD_MS - now);
	else
		run(z);
}

static sec_zone_t *zone_named(const struct net_secondary *s, const char *zone)
{
	const ztab_zone_t *e = ztab_find(net_reload_table(s->n), zone);
	return e ? find_zone(s, e->src.key) : NULL;
}

/* srvdctl refresh / retransfer. */
static int svc_refresh(void *state, const char *zone, bool axfr)
{
	struct net_secondary *s = state;
	sec_zone_t *z = zone_named(s, zone);
	if (!z || s->stopped)
		return SRVD_ENOENT;
	log_info("zone %s: %s requested", z->name, axfr ? "retransfer (AXFR)" : "refresh");
	z->force = z->force || axfr;
	run(z);
	return 0;
}

static const char *const phase_names[] = {"idle", "soa-query", "transfer", "building",
                                          "publishing"};

/* zone-status: the secondary fields of one zone, into the open map. */
static void svc_zone_status(const void *state, const char *key, ctl_reply_t *r)
{
	sec_zone_t *z = find_zone(state, key);
	if (!z)
		return;
	ctl_reply_set_bool(r, "secondary", true);
	ctl_reply_set_str(r, "primary", z->used[0] ? z->used : "");
	if (z->cur)
		ctl_reply_set_u64(r, "serial_held", z->cur->serial);
	ctl_reply_set_u64(r, "last_refresh", (uint64_t)z->sched.last_ok);
	ctl_reply_set_u64(r, "next_refresh", (uint64_t)z->sched.next_at);
	ctl_reply_set_u64(r, "expires", z->cur ? (uint64_t)z->sched.expire_at : 0);
	ctl_reply_set_bool(r, "expired", z->expired);
	ctl_reply_set_str(r, "state", phase_names[z->phase]);
	ctl_reply_set_bool(r, "saving", z->saving);
	ctl_reply_set_u64(r, "ixfr_in", z->n_ixfr);
	ctl_reply_set_u64(r, "axfr_in", z->n_axfr);
	if (z->error[0])
		ctl_reply_set_str(r, "last_error", z->error);
}

/* ---- life ------------------------------------------------------------------------ */

static int svc_init(net_t *n, void **state)
{
	struct net_secondary *s = calloc(1, sizeof(*s));
	if (!s)
		return SRVD_ENOMEM;
	s->n = n;
	*state = s;
	return 0;
}

static void svc_stop(void *state)
{
	struct net_secondary *s = state;
	if (s->stopped)
		return;
	s->stopped = true;
	for (size_t i = 0; i < s->nv; i++)
		drop_zone(s->v[i]);
	s->nv = 0;
	net_primary_journal_stop(s->pj);
}

static void svc_free(void *state)
{
	struct net_secondary *s = state;
	for (size_t i = 0; i < s->n_jnls; i++)
		xfr_journal_free(s->jnls[i]);
	net_primary_journal_free(s->pj);
	free(s->jnls);
	free(s->v);
	free(s);
}

struct net_primary_journal *net_secondary_journals(net_t *n)
{
	for (size_t i = 0; i < n->n_svc; i++)
		if (n->svc[i] == &net_secondary_service && n->svc_state[i])
			return ((struct net_secondary *)n->svc_state[i])->pj;
	return NULL;
}

const net_service_t net_secondary_service = {
    .name = "secondary",
    .init = svc_init,
    .after_reload = svc_after_reload,
    .notified = svc_notified,
    .refresh = svc_refresh,
    .zone_status = svc_zone_status,
    .stop = svc_stop,
    .free = svc_free,
};
