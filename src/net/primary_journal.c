/* Journals for primary zones: every version a reload publishes is diffed
 * against the one before (on the thread pool) and the diff appended to the
 * zone's journal (state-dir/ORIGIN.jnl, or FILE.jnl beside its master file
 * without state-dir: ztab_src_t.journal), so that IXFR for a primary zone
 * is answered incrementally too (notify_in.c, xfr_out_ixfr_new).
 *
 * Driven from net_secondary_sync, i.e. after every reload is applied: a
 * zone whose served version is not the one we saw last gets a diff when its
 * serial went forward (RFC 1982). One diff per zone runs at a time; those
 * that wait merge (oldest to newest). A journal we cannot write means no
 * journal for that zone (IXFR is then answered in AXFR form, and UPDATE is
 * refused): a warning says so once, and each new serial tries again, so a
 * folder made writable later is picked up without a restart.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/reconcile.h"
#include "net/secondary.h"
#include "zone/zone.h"

enum { PJ_MAX = 64 << 20 }; /* bytes per journal file */

typedef struct pj_zone {
	struct net_primary_journal *pj;
	char *key, *name, *path;
	zone_t *seen;       /* the version of the last sync */
	xfr_journal_t *jnl; /* NULL: it cannot be written (warned) */
	uv_work_t work;
	bool busy;
	int refs; /* the list, the work */
	zone_t *old, *new_, *next_old, *next_new;
} pj_zone_t;

struct net_primary_journal {
	net_t *n;
	pj_zone_t **v;
	size_t nv;
	xfr_journal_t **all; /* freed at the end only: workers may hold them */
	size_t n_all;
};

static void pj_put(pj_zone_t *z)
{
	if (--z->refs > 0)
		return;
	srvd_zone_unref(z->seen);
	srvd_zone_unref(z->old);
	srvd_zone_unref(z->new_);
	srvd_zone_unref(z->next_old);
	srvd_zone_unref(z->next_new);
	free(z->key);
	free(z->name);
	free(z->path);
	free(z);
}

/* ---- diffs (thread pool) ------------------------------------------------------------ */

static void work_diff(uv_work_t *w)
{
	pj_zone_t *z = w->data;
	xfr_diff_t *d = NULL;
	int rc = xfr_diff_compute(z->old, z->new_, &d);
	if (rc == 0)
		rc = xfr_journal_append(z->jnl, d);
	xfr_diff_unref(d);
	if (rc)
		log_warn("zone %s: journal: %s", z->name, srvd_strerror(rc));
	else
		log_debug("zone %s: journal: diff %u -> %u", z->name, z->old->serial,
		          z->new_->serial);
}

static void start_diff(pj_zone_t *z);

static void after_diff(uv_work_t *w, int status)
{
	pj_zone_t *z = w->data;
	(void)status;
	srvd_zone_unref(z->old);
	srvd_zone_unref(z->new_);
	z->old = z->new_ = NULL;
	z->busy = false;
	if (z->next_new)
		start_diff(z);
	pj_put(z);
}

static void start_diff(pj_zone_t *z)
{
	z->old = z->next_old;
	z->new_ = z->next_new;
	z->next_old = z->next_new = NULL;
	z->busy = true;
	z->refs++;
	z->work.data = z;
	if (uv_queue_work(&z->pj->n->loop, &z->work, work_diff, after_diff) != 0) {
		work_diff(&z->work);
		after_diff(&z->work, 0);
	}
}

static bool open_journal(pj_zone_t *z, const uint8_t *origin, bool warn);

/* A new version was published: diff it when its serial moved forward. */
static void saw(pj_zone_t *z, zone_t *v)
{
	zone_t *prev = z->seen;
	z->seen = v;
	srvd_zone_ref(v);
	if (!z->jnl && v && (!prev || v != prev) && open_journal(z, v->origin, false))
		log_info("zone %s: journal %s can be written now", z->name, z->path);
	if (!z->jnl || !prev || !v || prev->expired || v->expired ||
	    !wire_serial_gt(v->serial, prev->serial)) {
		srvd_zone_unref(prev);
		return;
	}
	srvd_zone_ref(v);
	if (z->next_new) { /* merge: keep the oldest start */
		srvd_zone_unref(z->next_new);
		srvd_zone_unref(prev);
	} else {
		z->next_old = prev;
	}
	z->next_new = v;
	if (!z->busy)
		start_diff(z);
}

/* ---- following the table ------------------------------------------------------------ */

static pj_zone_t *find(const struct net_primary_journal *pj, const char *key)
{
	for (size_t i = 0; i < pj->nv; i++)
		if (strcmp(pj->v[i]->key, key) == 0)
			return pj->v[i];
	return NULL;
}

/* Open z's journal, when it can be written; else warn (once: warn). */
static bool open_journal(pj_zone_t *z, const uint8_t *origin, bool warn)
{
	char why[300] = "";
	if (!ztab_journal_writable(z->path, why, sizeof(why))) {
		if (warn)
			log_warn("zone %s: journal %s cannot be written (%s): IXFR for the zone is "
			         "answered with the whole zone and UPDATE is refused; set server: "
			         "state-dir to a folder srvd may write",
			         z->name, z->path, why);
		return false;
	}
	xfr_journal_t **all = realloc(z->pj->all, (z->pj->n_all + 1) * sizeof(*all));
	if (!all)
		return false;
	z->pj->all = all;
	if (xfr_journal_open(z->path, origin, PJ_MAX, why, sizeof(why), &z->jnl) != 0)
		return false;
	if (why[0])
		log_warn("zone %s: journal %s: %s", z->name, z->path, why);
	z->pj->all[z->pj->n_all++] = z->jnl;
	return true;
}

static pj_zone_t *open_zone(struct net_primary_journal *pj, const ztab_zone_t *e)
{
	if (!e->ver)
		return NULL;
	pj_zone_t *z = calloc(1, sizeof(*z));
	if (!z || !(z->key = strdup(e->src.key)) || !(z->name = strdup(e->src.name)) ||
	    !(z->path = strdup(e->src.journal))) {
		if (z) {
			free(z->key);
			free(z->name);
		}
		free(z);
		return NULL;
	}
	z->pj = pj;
	z->refs = 1;
	ztab_clean_temps(z->path); /* what a killed save of the journal left */
	open_journal(z, e->ver->origin, true);
	z->seen = e->ver;
	srvd_zone_ref(z->seen);
	return z;
}

typedef struct sync_ctx {
	struct net_primary_journal *pj;
	const ztab_t *t;
} sync_ctx_t;

/* The journal state for table entry i: primary zones only. */
static void *want_zone(void *ctx, size_t i)
{
	const sync_ctx_t *s = ctx;
	const ztab_zone_t *e = s->t->v[i];
	if (e->src.secondary)
		return NULL;
	pj_zone_t *z = find(s->pj, e->src.key);
	if (z && strcmp(z->path, e->src.journal) != 0)
		z = NULL; /* its file moved: the old state is dropped, its journal kept to the end
		           */
	if (z)
		saw(z, e->ver);
	else
		z = open_zone(s->pj, e);
	return z;
}

static void drop_state(void *ctx, void *z)
{
	pj_put(z);
}

void net_primary_journal_sync(net_t *n, struct net_primary_journal **pjp)
{
	static const reconcile_ops_t ops = {want_zone, drop_state};
	struct net_primary_journal *pj = *pjp;
	if (!pj && !(pj = *pjp = calloc(1, sizeof(*pj))))
		return;
	pj->n = n;
	sync_ctx_t s = {pj, net_reload_table(n)};
	void **v;
	if (reconcile((void **)pj->v, pj->nv, s.t->n, &ops, &s, &v, &pj->nv) == 0)
		pj->v = (pj_zone_t **)v;
}

/* Zone rules (IXFR out only) for the zones with a journal. */
size_t net_primary_journal_rules(const struct net_primary_journal *pj, srvd_zone_rule_t *v,
                                 xfr_journal_t **j, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; pj && i < pj->nv && n < cap; i++) {
		const pj_zone_t *z = pj->v[i];
		if (!z->seen || !z->jnl)
			continue;
		v[n] = (srvd_zone_rule_t){.origin = z->key};
		j[n++] = z->jnl;
	}
	return n;
}

xfr_journal_t *net_primary_journal_get(const struct net_primary_journal *pj, const char *key)
{
	const pj_zone_t *z = pj ? find(pj, key) : NULL;
	return z ? z->jnl : NULL;
}

void net_primary_journal_seen(struct net_primary_journal *pj, const char *key, zone_t *v)
{
	pj_zone_t *z = pj ? find(pj, key) : NULL;
	if (!z)
		return;
	srvd_zone_ref(v);
	srvd_zone_unref(z->seen);
	z->seen = v;
}

size_t net_primary_journal_count(const struct net_primary_journal *pj)
{
	return pj ? pj->nv : 0;
}

void net_primary_journal_stop(struct net_primary_journal *pj)
{
	for (size_t i = 0; pj && i < pj->nv; i++)
		pj_put(pj->v[i]);
	if (pj)
		pj->nv = 0;
}

void net_primary_journal_free(struct net_primary_journal *pj)
{
	if (!pj)
		return;
	for (size_t i = 0; i < pj->n_all; i++)
		xfr_journal_free(pj->all[i]);
	free(pj->all);
	free(pj->v);
	free(pj);
}
