/* Journals for primary zones: every version a reload publishes is diffed
 * against the one before (on the thread pool) and the diff appended to the
 * zone's journal FILE.jnl beside its master file, so that IXFR for a primary
 * zone is answered incrementally too (notify_in.c, xfr_out_ixfr_new).
 *
 * Driven from net_secondary_sync, i.e. after every reload is applied: a
 * zone whose served version is not the one we saw last gets a diff when its
 * serial went forward (RFC 1982). One diff per zone runs at a time; those
 * that wait merge (oldest to newest). A folder we cannot write to means no
 * journal for that zone (IXFR is then answered in AXFR form), said once.
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
	char *key, *name;
	zone_t *seen; /* the version of the last sync */
	xfr_journal_t *jnl;
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

/* A new version was published: diff it when its serial moved forward. */
static void saw(pj_zone_t *z, zone_t *v)
{
	zone_t *prev = z->seen;
	z->seen = v;
	srvd_zone_ref(v);
	if (!prev || !v || prev->expired || v->expired ||
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

static bool dir_writable(const char *file)
{
	const char *slash = strrchr(file, '/');
	char dir[4096];
	if (!slash)
		return access(".", W_OK) == 0;
	int n = slash == file ? 1 : (int)(slash - file); /* "/x": the folder is "/" */
	snprintf(dir, sizeof(dir), "%.*s", n, file);
	return access(dir, W_OK) == 0;
}

static pj_zone_t *open_zone(struct net_primary_journal *pj, const ztab_zone_t *e)
{
	if (!e->ver || !dir_writable(e->src.file)) {
		if (e->ver)
			log_debug("zone %s: no journal (cannot write beside %s): IXFR in AXFR form",
			          e->src.name, e->src.file);
		return NULL;
	}
	pj_zone_t *z = calloc(1, sizeof(*z));
	char *path = ztab_journal_path(e->src.file);
	xfr_journal_t **all = realloc(pj->all, (pj->n_all + 1) * sizeof(*all));
	if (all)
		pj->all = all;
	char why[200] = "";
	if (path)
		ztab_clean_temps(path); /* what a killed save of the journal left */
	if (!z || !path || !all || !(z->key = strdup(e->src.key)) ||
	    !(z->name = strdup(e->src.name)) ||
	    xfr_journal_open(path, e->ver->origin, PJ_MAX, why, sizeof(why), &z->jnl) != 0) {
		if (z) {
			free(z->key);
			free(z->name);
		}
		free(z);
		free(path);
		return NULL;
	}
	if (why[0])
		log_warn("zone %s: journal %s: %s", z->name, path, why);
	free(path);
	pj->all[pj->n_all++] = z->jnl;
	z->pj = pj;
	z->refs = 1;
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
		if (!z->seen)
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
