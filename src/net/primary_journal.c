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

enum { PJ_MAX = 64 << 20 }; /* bytes per journal file, unless journal-max-size says */

/* One write to a zone's journal. The ops of a zone run one at a time on the
 * thread pool, in the order the main loop asked for them, so the file gets
 * its diffs in publication order whoever asks: a reload (diff old -> new),
 * an UPDATE (its own diff, answered only after the fsync), or a restart of
 * the chain (after a file edit was merged with updates, or to compact it). */
typedef struct pj_op {
	link_t link;
	zone_t *old, *new_;  /* diff these (old NULL: diff given) */
	xfr_diff_t *diff;    /* given, or computed */
	bool reset;          /* the journal restarts with this one diff */
	zone_t *squash_from; /* after an append: the file's version, to compact against */
	pj_append_done_fn done;
	void *ctx;
	int rc;
	bool wants_write; /* compaction: the zone should go to its file */
} pj_op_t;

typedef struct pj_zone {
	struct net_primary_journal *pj;
	char *key, *name, *path;
	zone_t *seen;       /* the version of the last sync */
	zone_t *seen_file;  /* the entry's file version at the last sync */
	xfr_journal_t *jnl; /* NULL: it cannot be written (warned) */
	size_t max;
	uv_work_t work;
	link_t ops; /* waiting; the running one is `cur` */
	pj_op_t *cur;
	int refs;         /* the list, the work */
	bool wants_write; /* see compact() */
} pj_zone_t;

struct net_primary_journal {
	net_t *n;
	pj_zone_t **v;
	size_t nv;
	xfr_journal_t **all; /* freed at the end only: workers may hold them */
	size_t n_all;
	bool stopped;
};

static void op_free(pj_op_t *op)
{
	srvd_zone_unref(op->old);
	srvd_zone_unref(op->new_);
	srvd_zone_unref(op->squash_from);
	xfr_diff_unref(op->diff);
	free(op);
}

/* The op is over: its asker hears the outcome (on the main loop). */
static void op_end(pj_op_t *op, int rc)
{
	if (op->done)
		op->done(op->ctx, rc);
	op_free(op);
}

static void pj_put(pj_zone_t *z)
{
	if (--z->refs > 0)
		return;
	while (!link_empty(&z->ops)) {
		pj_op_t *op = CONTAINER_OF(z->ops.next, pj_op_t, link);
		link_remove(&op->link);
		op_end(op, SRVD_EIO);
	}
	srvd_zone_unref(z->seen);
	srvd_zone_unref(z->seen_file);
	free(z->key);
	free(z->name);
	free(z->path);
	free(z);
}

/* ---- diffs (thread pool) ------------------------------------------------------------ */

/* The journal is past half its bound: one diff from the file's version to
 * this one replaces it, when that diff is small (the usual case: ACME
 * TXTs come and go). When it is not, the updates since the file was
 * loaded are too many for the journal: the zone is to be written to its
 * file (update.c does it, as for zonefile-sync), after which the chain a
 * restart needs starts there. Until then the journal keeps growing past
 * half its bound rather than lose the start of that chain. */
static void compact(pj_zone_t *z, pj_op_t *op)
{
	xfr_diff_t *sq = NULL;
	int rc = xfr_diff_compute(op->squash_from, op->new_, &sq);
	if (rc == 0 && sq->wire_size + 64 * (sq->n_added + sq->n_removed) > z->max / 2) {
		op->wants_write = true;
		log_info(
		    "zone %s: journal past half its bound (%zu bytes), and the updates since "
		    "the file (%zu records) do not compact below it: the zone goes to its file",
		    z->name, xfr_journal_bytes(z->jnl), sq->n_added + sq->n_removed - 2);
	} else if (rc == 0) {
		rc = xfr_journal_reset(z->jnl, sq);
		if (rc == 0)
			log_info("zone %s: journal compacted to one diff %u -> %u", z->name,
			         op->squash_from->serial, op->new_->serial);
	}
	if (rc)
		log_warn("zone %s: journal: compaction failed: %s", z->name, srvd_strerror(rc));
	xfr_diff_unref(sq);
}

static void work_op(uv_work_t *w)
{
	pj_zone_t *z = w->data;
	pj_op_t *op = z->cur;
	int rc = 0;
	if (!op->diff)
		rc = xfr_diff_compute(op->old, op->new_, &op->diff);
	if (rc == 0)
		rc = op->reset ? xfr_journal_reset(z->jnl, op->diff)
		               : xfr_journal_append(z->jnl, op->diff);
	/* Compaction: a journal past half its bound is replaced by one diff from
	 * the file's version to this one, so that the chain a restart replays
	 * (from the file's serial) is never cut by the bound. */
	if (rc == 0 && op->squash_from && !op->reset && xfr_journal_bytes(z->jnl) > z->max / 2)
		compact(z, op);
	op->rc = rc;
	if (rc)
		log_warn("zone %s: journal: %s", z->name, srvd_strerror(rc));
	else
		log_debug("zone %s: journal: diff %u -> %u%s", z->name, op->diff->from,
		          op->diff->to, op->reset ? " (a new chain)" : "");
}

static void next_op(pj_zone_t *z);

static void after_op(uv_work_t *w, int status)
{
	pj_zone_t *z = w->data;
	pj_op_t *op = z->cur;
	z->cur = NULL;
	z->wants_write |= op->wants_write;
	op_end(op, status ? SRVD_EIO : op->rc);
	next_op(z);
	pj_put(z);
}

static void next_op(pj_zone_t *z)
{
	if (z->cur || link_empty(&z->ops))
		return;
	pj_op_t *op = CONTAINER_OF(z->ops.next, pj_op_t, link);
	link_remove(&op->link);
	z->cur = op;
	z->refs++;
	z->work.data = z;
	if (uv_queue_work(&z->pj->n->loop, &z->work, work_op, after_op) != 0) {
		work_op(&z->work);
		after_op(&z->work, 0);
	}
}

static pj_op_t *queue(pj_zone_t *z, zone_t *old, zone_t *new_, xfr_diff_t *diff, bool reset)
{
	pj_op_t *op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->old = old;
	op->new_ = new_;
	op->diff = diff;
	op->reset = reset;
	srvd_zone_ref(old);
	srvd_zone_ref(new_);
	xfr_diff_ref(diff);
	link_push_back(&z->ops, &op->link);
	return op;
}

/* A new version was published: diff it when its serial moved forward. A
 * file edit merged with updates (the file's version changed, and it is not
 * what is served) restarts the chain at the file's version: that is where
 * the next start-up replays from. */
static bool open_journal(pj_zone_t *z, const uint8_t *origin, bool warn);

static void saw(pj_zone_t *z, const ztab_zone_t *e)
{
	zone_t *prev = z->seen, *v = e->ver;
	if (!z->jnl && v && v != prev && open_journal(z, v->origin, false))
		log_info("zone %s: journal %s can be written now", z->name, z->path);
	bool merged = e->file_ver != z->seen_file && e->ver != e->file_ver && v != prev;
	z->seen = v;
	srvd_zone_ref(v);
	srvd_zone_unref(z->seen_file);
	z->seen_file = e->file_ver;
	srvd_zone_ref(z->seen_file);
	if (!z->jnl) {
		srvd_zone_unref(prev);
		return;
	}
	if (merged && v && e->file_ver && !v->expired &&
	    wire_serial_gt(v->serial, e->file_ver->serial)) {
		queue(z, e->file_ver, v, NULL, true);
	} else if (prev && v && !prev->expired && !v->expired &&
	           wire_serial_gt(v->serial, prev->serial)) {
		/* merge with a diff still waiting: keep the oldest start */
		pj_op_t *last =
		    link_empty(&z->ops) ? NULL : CONTAINER_OF(z->ops.prev, pj_op_t, link);
		if (last && last->old && !last->reset && !last->done && last->new_ == prev) {
			srvd_zone_unref(last->new_);
			last->new_ = v;
			srvd_zone_ref(v);
		} else {
			queue(z, prev, v, NULL, false);
		}
	}
	srvd_zone_unref(prev);
	next_op(z);
}

/* ---- following the table ------------------------------------------------------------ */

static pj_zone_t *find(const struct net_primary_journal *pj, const char *key)
{
	for (size_t i = 0; i < pj->nv; i++)
		if (strcmp(pj->v[i]->key, key) == 0)
			return pj->v[i];
	return NULL;
}

static size_t journal_max(const net_t *n, const char *key)
{
	const conf_zone_t *cz = net_conf_zone(n, key);
	return cz && cz->journal_max_size ? cz->journal_max_size : PJ_MAX;
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
	if (xfr_journal_open(z->path, origin, z->max, why, sizeof(why), &z->jnl) != 0)
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
	z->max = journal_max(pj->n, e->src.key);
	link_init(&z->ops);
	ztab_clean_temps(z->path); /* what a killed save of the journal left */
	open_journal(z, e->ver->origin, true);
	z->seen = e->ver;
	srvd_zone_ref(z->seen);
	z->seen_file = e->file_ver;
	srvd_zone_ref(z->seen_file);
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
		saw(z, e);
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

int net_primary_journal_append(struct net_primary_journal *pj, const char *key, xfr_diff_t *d,
                               zone_t *new_, zone_t *file_ver, pj_append_done_fn done, void *ctx)
{
	pj_zone_t *z = pj && !pj->stopped ? find(pj, key) : NULL;
	if (!z || !z->jnl)
		return SRVD_ENOENT;
	pj_op_t *op = queue(z, NULL, new_, d, false);
	if (!op)
		return SRVD_ENOMEM;
	op->done = done;
	op->ctx = ctx;
	op->squash_from = file_ver;
	srvd_zone_ref(file_ver);
	next_op(z);
	return 0;
}

bool net_primary_journal_take_write(struct net_primary_journal *pj, const char *key)
{
	pj_zone_t *z = pj ? find(pj, key) : NULL;
	bool w = z && z->wants_write;
	if (z)
		z->wants_write = false;
	return w;
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
	if (pj)
		pj->stopped = true;
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
