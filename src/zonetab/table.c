/* The zone table and the reload job that turns one table into the next
 * (see zonetab.h): where the zone sources come from (the config, a zones-dir
 * scan, or the table itself), the decision per zone (keep, update settings,
 * load), and the zone set to publish. Loading one zone is load.c.
 *
 * No libuv: a job runs on a thread-pool thread, or on the main thread at
 * start-up.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "zonetab/zonetab.h"

void ztab_zone_src(const conf_t *c, const conf_zone_t *z, srvd_zone_src_t *out)
{
	memset(out, 0, sizeof(*out));
	out->origin = z->name;
	out->path = z->file;
	if (z->allow_transfer_set) {
		out->allow_transfer = z->allow_transfer;
		out->n_allow_transfer = z->n_allow_transfer;
	} else {
		out->allow_transfer = c->allow_transfer;
		out->n_allow_transfer = c->n_allow_transfer;
	}
}

/* ---- sources ------------------------------------------------------------- */

/* Lower case without the trailing dot ("." stays "."). */
static char *make_key(const char *name)
{
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		n--;
	char *k = malloc(n + 1);
	if (!k)
		return NULL;
	for (size_t i = 0; i < n; i++)
		k[i] = (char)tolower((unsigned char)name[i]);
	k[n] = 0;
	return k;
}

static void *memdup(const void *p, size_t n)
{
	void *q = n ? malloc(n) : NULL;
	if (q)
		memcpy(q, p, n);
	return q;
}

static void zsrc_deinit(ztab_src_t *s)
{
	free(s->key);
	free(s->name);
	free(s->file);
	free(s->snapshot);
	free(s->journal);
	free(s->acl);
	free(s->notify);
	memset(s, 0, sizeof(*s));
}

void ztab_src_deinit(ztab_src_t *s)
{
	zsrc_deinit(s);
}

static int zsrc_fill(ztab_src_t *out, const char *name, const char *file, const srvd_prefix_t *acl,
                     size_t n_acl, const conf_addr_t *notify, size_t n_notify)
{
	out->key = make_key(name);
	out->name = strdup(name);
	out->file = strdup(file);
	out->acl = memdup(acl, n_acl * sizeof(*acl));
	out->n_acl = n_acl;
	out->notify = memdup(notify, n_notify * sizeof(*notify));
	out->n_notify = n_notify;
	if (!out->key || !out->name || !out->file || (n_acl && !out->acl) ||
	    (n_notify && !out->notify)) {
		zsrc_deinit(out);
		return SRVD_ENOMEM;
	}
	return 0;
}

/* snapshot-dir/ORIGIN.snap (docs/srvd.conf.5.md), the root zone as root.snap */
static int set_snapshot(ztab_src_t *out, const char *dir)
{
	if (dir && !(out->snapshot = conf_state_path(dir, out->key, ".snap"))) {
		zsrc_deinit(out);
		return SRVD_ENOMEM;
	}
	return 0;
}

/* state-dir/ORIGIN.jnl, or FILE.jnl beside the zone file without state-dir. */
static int set_journal(ztab_src_t *out, const char *state_dir)
{
	out->journal =
	    state_dir ? conf_state_path(state_dir, out->key, ".jnl") : ztab_journal_path(out->file);
	if (!out->journal) {
		zsrc_deinit(out);
		return SRVD_ENOMEM;
	}
	return 0;
}

static int zsrc_from_conf(const conf_t *c, const conf_zone_t *z, ztab_src_t *out)
{
	srvd_zone_src_t s;
	ztab_zone_src(c, z, &s);
	out->from_dir = z->line == 0;
	out->secondary = z->n_primaries > 0;
	int rc = zsrc_fill(out, z->name, z->file, s.allow_transfer, s.n_allow_transfer, z->notify,
	                   z->n_notify);
	if (rc == 0)
		rc = set_snapshot(out, c->snapshot_dir);
	return rc ? rc : set_journal(out, c->state_dir);
}

static int zsrc_copy(const ztab_src_t *a, ztab_src_t *out)
{
	out->from_dir = a->from_dir;
	out->secondary = a->secondary;
	int rc = zsrc_fill(out, a->name, a->file, a->acl, a->n_acl, a->notify, a->n_notify);
	if (rc == 0 && ((a->snapshot && !(out->snapshot = strdup(a->snapshot))) ||
	                !(out->journal = strdup(a->journal)))) {
		zsrc_deinit(out);
		rc = SRVD_ENOMEM;
	}
	return rc;
}

typedef struct srcs {
	ztab_src_t *v;
	size_t n, cap;
} srcs_t;

static ztab_src_t *srcs_push(srcs_t *s)
{
	if (arr_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v), 16))
		return NULL;
	ztab_src_t *z = &s->v[s->n++];
	memset(z, 0, sizeof(*z));
	return z;
}

static void srcs_free(srcs_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		zsrc_deinit(&s->v[i]);
	free(s->v);
}

static int cmp_src(const void *a, const void *b)
{
	return strcmp(((const ztab_src_t *)a)->key, ((const ztab_src_t *)b)->key);
}

/* Sorted by key; conf refuses duplicates, so dropping one is only a guard. */
static void sort_unique(srcs_t *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_src);
	size_t k = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (k && strcmp(s->v[i].key, s->v[k - 1].key) == 0)
			zsrc_deinit(&s->v[i]);
		else
			s->v[k++] = s->v[i];
	}
	s->n = k;
}

/* Pushed zones are zeroed, so a failed fill leaves nothing to free but the
 * slot, which srcs_free handles. */
static int srcs_conf(srcs_t *s, const conf_t *c, bool explicit_only)
{
	for (size_t i = 0; i < c->n_zones; i++) {
		if (explicit_only && c->zones[i].line == 0)
			continue;
		ztab_src_t *z = srcs_push(s);
		if (!z || zsrc_from_conf(c, &c->zones[i], z))
			return SRVD_ENOMEM;
	}
	return 0;
}

static int srcs_table(srcs_t *s, const ztab_t *t, bool dir_only)
{
	for (size_t i = 0; t && i < t->n; i++) {
		if (dir_only && !t->v[i]->src.from_dir)
			continue;
		ztab_src_t *z = srcs_push(s);
		if (!z || zsrc_copy(&t->v[i]->src, z))
			return SRVD_ENOMEM;
	}
	return 0;
}

/* The zones of zones-dir now, after the explicit ones already in s. A file
 * whose zone is also configured explicitly is left out (conf_load refuses
 * that; here the config is not being read again, so it is logged). */
static int srcs_scan_dir(srcs_t *s, const conf_t *c)
{
	conf_t *tmp = calloc(1, sizeof(*tmp));
	char err[512] = "";
	int rc = SRVD_ENOMEM;
	/* the zones found take the journal and snapshot paths of c */
	if (tmp && ((c->state_dir && !(tmp->state_dir = strdup(c->state_dir))) ||
	            (c->snapshot_dir && !(tmp->snapshot_dir = strdup(c->snapshot_dir))))) {
		conf_free(tmp);
		tmp = NULL;
	}
	if (tmp && c->n_allow_transfer) {
		tmp->allow_transfer =
		    memdup(c->allow_transfer, c->n_allow_transfer * sizeof(srvd_prefix_t));
		tmp->n_allow_transfer = tmp->allow_transfer ? c->n_allow_transfer : 0;
	}
	if (tmp)
		rc = conf_scan_zones_dir(tmp, c->zones_dir, err, sizeof(err));
	if (rc)
		log_err("zones-dir: %s", err[0] ? err : srvd_strerror(rc));
	size_t n_explicit = s->n;
	qsort(s->v, n_explicit, sizeof(*s->v), cmp_src);
	for (size_t i = 0; rc == 0 && tmp && i < tmp->n_zones; i++) {
		const conf_zone_t *cz = &tmp->zones[i];
		ztab_src_t key = {.key = make_key(cz->name)};
		if (key.key && bsearch(&key, s->v, n_explicit, sizeof(*s->v), cmp_src)) {
			log_err("zones-dir: %s: zone %s is configured already: file ignored",
			        cz->file, cz->name);
			free(key.key);
			continue;
		}
		free(key.key);
		ztab_src_t *z = srcs_push(s);
		if (!z || zsrc_from_conf(tmp, cz, z))
			rc = SRVD_ENOMEM;
	}
	conf_free(tmp);
	return rc;
}

static int gather(const ztab_job_t *j, const conf_t *c, srcs_t *s)
{
	if (j->flags & (ZTAB_JOB_INIT | ZTAB_JOB_CONF))
		return srcs_conf(s, c, false);
	if (!(j->flags & ZTAB_JOB_SCAN) || !c->zones_dir)
		return srcs_table(s, j->cur, false);
	int rc = srcs_conf(s, c, true);
	if (rc == 0 && srcs_scan_dir(s, c) != 0) {
		/* keep the zones-dir zones we have */
		for (size_t i = s->n; i-- > 0;)
			if (s->v[i].from_dir) {
				zsrc_deinit(&s->v[i]);
				s->v[i] = s->v[--s->n];
			}
		rc = srcs_table(s, j->cur, true);
	}
	return rc;
}

/* ---- the table --------------------------------------------------------- */

static int cmp_key_zone(const void *key, const void *elem)
{
	return strcmp(key, (*(ztab_zone_t *const *)elem)->src.key);
}

static ztab_zone_t *find_key(const ztab_t *t, const char *key)
{
	if (!t || !t->n)
		return NULL;
	ztab_zone_t **p = bsearch(key, t->v, t->n, sizeof(*t->v), cmp_key_zone);
	return p ? *p : NULL;
}

ztab_zone_t *ztab_find(const ztab_t *t, const char *name)
{
	char *key = make_key(name);
	ztab_zone_t *z = key ? find_key(t, key) : NULL;
	free(key);
	return z;
}

void ztab_zone_free(ztab_zone_t *z)
{
	if (!z)
		return;
	zsrc_deinit(&z->src);
	srvd_zone_unref(z->ver);
	srvd_zone_unref(z->file_ver);
	ztab_fp_free(z->fps, z->n_fps);
	free(z->error);
	free(z);
}

void ztab_deinit(ztab_t *t)
{
	for (size_t i = 0; i < t->n; i++)
		ztab_zone_free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

size_t ztab_memory(const ztab_t *t)
{
	size_t sum = 0;
	srvd_zone_info_t info;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->ver && srvd_zone_info(t->v[i]->ver, &info) == 0)
			sum += info.memory;
	return sum;
}

/* ---- one zone ----------------------------------------------------------- */

static bool same_file_acl(const ztab_src_t *a, const ztab_src_t *b)
{
	return strcmp(a->file, b->file) == 0 && a->n_acl == b->n_acl &&
	       (!a->n_acl || memcmp(a->acl, b->acl, a->n_acl * sizeof(*a->acl)) == 0);
}

static bool same_addr(const conf_addr_t *a, const conf_addr_t *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static bool same_settings(const ztab_src_t *a, const ztab_src_t *b)
{
	if (strcmp(a->name, b->name) != 0 || a->from_dir != b->from_dir ||
	    a->secondary != b->secondary || a->n_notify != b->n_notify ||
	    !a->snapshot != !b->snapshot ||
	    (a->snapshot && strcmp(a->snapshot, b->snapshot) != 0) ||
	    strcmp(a->journal, b->journal) != 0)
		return false;
	for (size_t i = 0; i < a->n_notify; i++)
		if (!same_addr(&a->notify[i], &b->notify[i]))
			return false;
	return true;
}

static bool forced(const ztab_job_t *j, const char *key)
{
	for (size_t i = 0; i < j->n_force; i++) {
		char *k = make_key(j->force[i]);
		bool hit = k && strcmp(k, key) == 0;
		free(k);
		if (hit)
			return true;
	}
	return false;
}

/* Fingerprints of the files as they are now: those of old's last load, or
 * the master file alone when there is nothing to go by. */
static int fresh_fps(const ztab_zone_t *old, const ztab_src_t *src, ztab_fp_t **out, size_t *n_out)
{
	bool by_old = old && old->n_fps && strcmp(old->src.file, src->file) == 0;
	size_t n = by_old ? old->n_fps : 1;
	ztab_fp_t *v = calloc(n, sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ztab_fp_t *o = by_old ? &old->fps[i] : NULL;
		if (ztab_fp_take(o ? o->path : src->file, o, &v[i])) {
			ztab_fp_free(v, i);
			return SRVD_ENOMEM;
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

static bool fps_changed(const ztab_zone_t *old, const ztab_fp_t *now, size_t n)
{
	if (old->n_fps != n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!ztab_fp_same(&old->fps[i], &now[i]))
			return true;
	return false;
}

/* Same content, new stat(): remember it, so the next check need not hash. */
static void refresh_stat(ztab_zone_t *old, const ztab_fp_t *now, size_t n)
{
	for (size_t i = 0; i < n && i < old->n_fps; i++) {
		char *path = old->fps[i].path;
		old->fps[i] = now[i];
		old->fps[i].path = path;
	}
}

ztab_zone_t *ztab_zone_clone(const ztab_zone_t *old, ztab_src_t *src)
{
	ztab_zone_t *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->fps = calloc(old->n_fps ? old->n_fps : 1, sizeof(*e->fps));
	e->error = old->error ? strdup(old->error) : NULL;
	bool ok = e->fps && (!old->error || e->error);
	for (size_t i = 0; ok && i < old->n_fps; i++) {
		e->fps[i] = old->fps[i];
		ok = (e->fps[i].path = strdup(old->fps[i].path)) != NULL;
		e->n_fps = ok ? i + 1 : i;
	}
	e->ver = old->ver;
	srvd_zone_ref(e->ver);
	e->file_ver = old->file_ver;
	srvd_zone_ref(e->file_ver);
	e->loaded_at = old->loaded_at;
	if (!ok) {
		ztab_zone_free(e);
		return NULL;
	}
	e->src = *src;
	memset(src, 0, sizeof(*src));
	return e;
}

void ztab_job_add(ztab_job_t *j, ztab_zone_t *e, ztab_outcome_t out, const ztab_zone_t *old)
{
	size_t i = j->next.n++;
	j->next.v[i] = e;
	j->outcome[i] = (uint8_t)out;
	j->prev[i] = old;
	if (out == ZTAB_ZONE_LOADED)
		j->loaded++;
	else if (out == ZTAB_ZONE_FAILED)
		j->failed++;
}

/* A version made by an UPDATE (src/net/update.c) for a primary zone: it
 * replaces the served one and keeps the fingerprints, so the files are not
 * read again for it. A file that changed meanwhile is seen at the next
 * check. */
static const ztab_install_t *find_install(const ztab_install_t *v, size_t n, const char *key)
{
	for (size_t i = n; i-- > 0;)
		if (strcmp(v[i].key, key) == 0)
			return &v[i];
	return NULL;
}

/* zonefile-sync wrote a version to the zone's file (src/net/update.c): it
 * is the file's version now (the base a later edit is merged against), and
 * the file is fingerprinted again, so that the write is not taken for an
 * edit. The file srvd writes is one file: no $INCLUDE remains. */
static bool step_written(ztab_job_t *j, ztab_src_t *src, ztab_zone_t *old)
{
	const ztab_written_t *w = find_install(j->written, j->n_written, src->key);
	if (!w || !old || !old->ver || old->src.secondary || !same_file_acl(&old->src, src))
		return false;
	const ztab_install_t *ins = find_install(j->installs, j->n_installs, src->key);
	ztab_fp_t fp;
	if (ztab_fp_take(src->file, NULL, &fp))
		return false;
	ztab_zone_t *e = ztab_zone_clone(old, src);
	if (!e) {
		free(fp.path);
		return false;
	}
	ztab_fp_free(e->fps, e->n_fps);
	e->fps = calloc(1, sizeof(*e->fps));
	if (e->fps) {
		e->fps[0] = fp;
		e->n_fps = 1;
	} else {
		free(fp.path);
		e->n_fps = 0;
	}
	srvd_zone_unref(e->file_ver);
	e->file_ver = w->ver;
	srvd_zone_ref(e->file_ver);
	if (ins) {
		srvd_zone_unref(e->ver);
		e->ver = ins->ver;
		srvd_zone_ref(e->ver);
	}
	ztab_job_add(j, e, ins ? ZTAB_ZONE_LOADED : ZTAB_ZONE_UPDATED, old);
	return true;
}

static bool step_install(ztab_job_t *j, ztab_src_t *src, ztab_zone_t *old)
{
	const ztab_install_t *ins = find_install(j->installs, j->n_installs, src->key);
	if (!ins || !old || !old->ver)
		return false;
	ztab_zone_t *e = ztab_zone_clone(old, src);
	if (!e)
		return false;
	srvd_zone_unref(e->ver);
	e->ver = ins->ver;
	srvd_zone_ref(e->ver);
	srvd_zone_info_t a, b;
	if (ins->file_twin && e->file_ver && srvd_zone_info(e->file_ver, &a) == 0 &&
	    srvd_zone_info(ins->file_twin, &b) == 0 && a.serial == b.serial &&
	    a.records == b.records) {
		srvd_zone_unref(e->file_ver);
		e->file_ver = ins->file_twin;
		srvd_zone_ref(e->file_ver);
	}
	ztab_job_add(j, e, ZTAB_ZONE_LOADED, old);
	return true;
}

static void step(ztab_job_t *j, ztab_src_t *src, unsigned mark)
{
	ztab_zone_t *old = find_key(j->cur, src->key);
	if (old)
		old->mark = mark;
	if (src->secondary || (old && old->src.secondary)) {
		ztab_received_step(j, src, old);
		return;
	}
	if (step_written(j, src, old) || step_install(j, src, old)) {
		zsrc_deinit(src);
		return;
	}
	bool load = !old || !same_file_acl(&old->src, src) || forced(j, src->key);
	bool changed = !old;
	ztab_fp_t *pre = NULL;
	size_t n_pre = 0;
	if (load || (j->flags & ZTAB_JOB_CHECK)) {
		int rc = fresh_fps(old, src, &pre, &n_pre);
		changed = changed || rc != 0 || fps_changed(old, pre, n_pre);
		load = load || changed;
	}
	ztab_zone_t *e = NULL;
	ztab_outcome_t out = ZTAB_ZONE_KEPT;
	if (load) {
		e = ztab_zone_load(src, old, pre, n_pre, changed);
		out = e && !e->error ? ZTAB_ZONE_LOADED : ZTAB_ZONE_FAILED;
	} else {
		if (pre)
			refresh_stat(old, pre, n_pre);
		if (!same_settings(&old->src, src))
			e = ztab_zone_clone(old, src);
		out = e ? ZTAB_ZONE_UPDATED : ZTAB_ZONE_KEPT;
	}
	zsrc_deinit(src);
	ztab_fp_free(pre, n_pre);
	if (!e && old) { /* unchanged, or out of memory: keep what we have */
		e = old;
		out = out == ZTAB_ZONE_FAILED ? ZTAB_ZONE_KEPT : out;
	}
	if (e)
		ztab_job_add(j, e, e == old ? ZTAB_ZONE_KEPT : out, old);
}

/* ---- the job ------------------------------------------------------------- */

static int collect_removed(ztab_job_t *j, unsigned mark)
{
	size_t n = j->cur ? j->cur->n : 0;
	j->removed = calloc(n ? n : 1, sizeof(*j->removed));
	if (!j->removed)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (j->cur->v[i]->mark != mark)
			j->removed[j->n_removed++] = j->cur->v[i];
	return 0;
}

static bool versions_changed(const ztab_job_t *j)
{
	if (j->flags & ZTAB_JOB_INIT)
		return true;
	for (size_t i = 0; i < j->next.n; i++)
		if (j->next.v[i]->ver != (j->prev[i] ? j->prev[i]->ver : NULL))
			return true;
	for (size_t i = 0; i < j->n_removed; i++)
		if (j->removed[i]->ver)
			return true;
	return false;
}

static void build_set(ztab_job_t *j)
{
	srvd_zone_t **v = calloc(j->next.n + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; v && i < j->next.n; i++)
		if (j->next.v[i]->ver)
			v[n++] = j->next.v[i]->ver;
	int rc = v ? srvd_zoneset_new(v, n, &j->zs) : SRVD_ENOMEM;
	free(v);
	if (rc)
		log_err("zone set: %s: the zones served stay as they were", srvd_strerror(rc));
}

static int alloc_results(ztab_job_t *j, size_t n)
{
	j->next.v = calloc(n ? n : 1, sizeof(*j->next.v));
	j->outcome = calloc(n ? n : 1, sizeof(*j->outcome));
	j->prev = calloc(n ? n : 1, sizeof(*j->prev));
	return j->next.v && j->outcome && j->prev ? 0 : SRVD_ENOMEM;
}

static void fail_job(ztab_job_t *j, int rc)
{
	j->rc = rc;
	snprintf(j->conf_err, sizeof(j->conf_err), "reload: %s", srvd_strerror(rc));
	log_err("%s", j->conf_err);
	conf_free(j->conf_new);
	j->conf_new = NULL;
}

void ztab_job_run(ztab_job_t *j)
{
	static atomic_uint marks;
	unsigned mark = atomic_fetch_add(&marks, 1) + 1;
	const conf_t *c = j->conf;
	if (j->flags & ZTAB_JOB_CONF) {
		j->rc = j->conf_fn(j->conf_ctx, &j->conf_new, j->conf_err, sizeof(j->conf_err));
		if (j->rc)
			return;
		c = j->conf_new;
	}
	srcs_t s = {0};
	int rc = gather(j, c, &s);
	if (rc == 0)
		rc = alloc_results(j, s.n);
	if (rc == 0)
		sort_unique(&s);
	for (size_t i = 0; rc == 0 && i < s.n; i++)
		step(j, &s.v[i], mark);
	srcs_free(&s);
	if (rc == 0)
		rc = collect_removed(j, mark);
	if (rc) {
		fail_job(j, rc);
		return;
	}
	if (versions_changed(j))
		build_set(j);
}

void ztab_job_deinit(ztab_job_t *j)
{
	/* entries of next that are not cur's, i.e. not taken by the caller */
	for (size_t i = 0; j->next.v && i < j->next.n; i++)
		if (j->outcome[i] != ZTAB_ZONE_KEPT)
			ztab_zone_free(j->next.v[i]);
	free(j->next.v);
	free(j->outcome);
	free(j->prev);
	free(j->removed);
	for (size_t i = 0; i < j->n_force; i++)
		free(j->force[i]);
	free(j->force);
	for (size_t i = 0; i < j->n_installs; i++) {
		free(j->installs[i].key);
		srvd_zone_unref(j->installs[i].ver);
		srvd_zone_unref(j->installs[i].file_twin);
	}
	free(j->installs);
	for (size_t i = 0; i < j->n_written; i++) {
		free(j->written[i].key);
		srvd_zone_unref(j->written[i].ver);
	}
	free(j->written);
	conf_free(j->conf_new);
	srvd_zoneset_unref(j->zs);
	memset(j, 0, sizeof(*j));
}
