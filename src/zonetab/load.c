/* Loading one zone for a reload job: run the loader, log every finding with
 * file:line, and make the table entry that results, which holds the new
 * version, or (when the load failed) the previous version and the error.
 *
 * A file rewritten in place while it is read gives a torn copy: half the
 * zone, or an empty file that fails. So after each load the files known
 * before it are fingerprinted again (after LOAD_PAUSE_MS when the load
 * failed, so that a writer caught between truncating and writing can
 * finish); if one changed, the result is dropped, published or failed
 * alike, and the load runs again, up to LOAD_TRIES times. A torn read is
 * then neither served nor counted as a failed reload. A writer that
 * stalls longer can still be read half-way; one that renames a finished
 * file over the old one never is (docs/srvd.8.md).
 *
 * Runs on whatever thread runs the job; no libuv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wire/serial.h"
#include "xfr/journal.h"
#include "xfr/xfr.h"
#include "zonetab/zonetab.h"

enum { MAX_DIAG_FILES = 64, LOAD_TRIES = 3, LOAD_PAUSE_MS = 100 };

/* What the diag callback keeps of a failed load. */
typedef struct diag_ctx {
	char first[400]; /* the first error, "file:line: message" */
	char *files[MAX_DIAG_FILES];
	size_t n_files;
} diag_ctx_t;

static void keep_file(diag_ctx_t *d, const char *file)
{
	for (size_t i = 0; i < d->n_files; i++)
		if (strcmp(d->files[i], file) == 0)
			return;
	if (d->n_files < MAX_DIAG_FILES && (d->files[d->n_files] = strdup(file)))
		d->n_files++;
}

static void on_diag(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                    unsigned line, const char *msg)
{
	diag_ctx_t *d = ctx;
	bool err = level == SRVD_DIAG_ERROR;
	log_level_t lvl = err ? LOG_LVL_ERROR : LOG_LVL_WARNING;
	char where[300] = "";
	if (file && line)
		snprintf(where, sizeof(where), "%s:%u: ", file, line);
	else if (file)
		snprintf(where, sizeof(where), "%s: ", file);
	/* The log line says "error:" or "warning:" already: once is enough. */
	log_msg(lvl, "%szone %s: %s", where, zone, msg);
	if (file)
		keep_file(d, file);
	if (err && !d->first[0])
		snprintf(d->first, sizeof(d->first), "%s%s", where, msg);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static const ztab_fp_t *find_fp(const ztab_fp_t *v, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].path, path) == 0)
			return &v[i];
	return NULL;
}

/* Fingerprint paths[] into e->fps, reusing those taken before the load. */
static int take_fps(ztab_zone_t *e, const char *const *paths, size_t n, const ztab_fp_t *pre,
                    size_t n_pre)
{
	e->fps = calloc(n ? n : 1, sizeof(*e->fps));
	if (!e->fps)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ztab_fp_t *p = find_fp(pre, n_pre, paths[i]);
		int rc = 0;
		if (p) {
			e->fps[i] = *p;
			e->fps[i].path = strdup(p->path);
		} else {
			rc = ztab_fp_take(paths[i], NULL, &e->fps[i]);
		}
		if (rc || !e->fps[i].path)
			return SRVD_ENOMEM;
		e->n_fps = i + 1;
	}
	return 0;
}

/* A failed load: the files we knew of, then those its findings named. */
static int failed_fps(ztab_zone_t *e, const diag_ctx_t *d, const ztab_fp_t *pre, size_t n_pre)
{
	const char *paths[MAX_DIAG_FILES + 64];
	size_t n = 0;
	for (size_t i = 0; i < n_pre && n < 64; i++)
		paths[n++] = pre[i].path;
	for (size_t i = 0; i < d->n_files; i++)
		if (!find_fp(pre, n_pre, d->files[i]))
			paths[n++] = d->files[i];
	return take_fps(e, paths, n, pre, n_pre);
}

static int loaded_fps(ztab_zone_t *e, const ztab_fp_t *pre, size_t n_pre)
{
	size_t n = srvd_zone_file_count(e->ver);
	const char **paths = calloc(n ? n : 1, sizeof(*paths));
	if (!paths)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		paths[i] = srvd_zone_file(e->ver, i);
	int rc = take_fps(e, paths, n, pre, n_pre);
	free(paths);
	return rc;
}

static void log_loaded(const ztab_zone_t *e, const ztab_zone_t *old, bool changed,
                       unsigned warnings, double ms)
{
	srvd_zone_info_t info;
	srvd_zone_info(e->ver, &info);
	log_info("zone %s: serial %u, %zu records, %u warnings, loaded in %.1f ms%s%s", info.origin,
	         info.serial, info.records, warnings, ms,
	         e->ver->from_snapshot ? " from the snapshot " : "",
	         e->ver->from_snapshot ? e->src.snapshot : "");
	if (!old || !old->ver)
		return;
	srvd_zone_info_t was;
	srvd_zone_info(old->ver, &was);
	if (was.serial == info.serial && changed)
		log_warn("zone %s: the content changed but serial %u did not: secondaries won't "
		         "notice",
		         info.origin, info.serial);
	else if (wire_serial_lt(info.serial, was.serial))
		log_warn("zone %s: serial went back from %u to %u: secondaries won't take it",
		         info.origin, was.serial, info.serial);
}

static void log_failed(const ztab_zone_t *e, unsigned errors)
{
	srvd_zone_info_t info;
	if (e->ver && srvd_zone_info(e->ver, &info) == 0)
		log_err("zone %s: not loaded (%s, %u errors), still serving serial %u", e->src.name,
		        e->error, errors, info.serial);
	else
		log_err("zone %s: not loaded (%s, %u errors), not served", e->src.name, e->error,
		        errors);
}

static int set_error(ztab_zone_t *e, const diag_ctx_t *d, int rc)
{
	char buf[480];
	snprintf(buf, sizeof(buf), "%s", d->first[0] ? d->first : srvd_strerror(rc));
	e->error = strdup(buf);
	return e->error ? 0 : SRVD_ENOMEM;
}

/* Did a file of pre[] change since it was fingerprinted? If so, *now
 * gets the new fingerprints (the caller frees them). */
static bool changed_since(const ztab_fp_t *pre, size_t n, ztab_fp_t **now)
{
	ztab_fp_t *v = calloc(n ? n : 1, sizeof(*v));
	bool changed = false;
	size_t i = 0;
	for (; v && i < n; i++) {
		if (ztab_fp_take(pre[i].path, &pre[i], &v[i]) != 0)
			break; /* out of memory: take what was read */
		changed = changed || !ztab_fp_same(&pre[i], &v[i]);
	}
	if (!changed || i < n) {
		ztab_fp_free(v, i);
		return false;
	}
	*now = v;
	return true;
}

static void clear_diag(diag_ctx_t *d)
{
	for (size_t i = 0; i < d->n_files; i++)
		free(d->files[i]);
	memset(d, 0, sizeof(*d));
}

static void pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
	nanosleep(&ts, NULL);
}

static void apply_chain(ztab_zone_t *e, const xfr_chain_t *c)
{
	zone_t *v = e->ver;
	srvd_zone_ref(v);
	int rc = 0;
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		zone_t *n = NULL;
		rc = xfr_diff_apply(v, c->diffs[i], NULL, &n);
		if (rc == 0) {
			srvd_zone_unref(v);
			v = n;
		}
	}
	if (rc) {
		log_warn("zone %s: the journal does not apply to the file (%s); serving the file",
		         e->src.name, srvd_strerror(rc));
		srvd_zone_unref(v);
		return;
	}
	log_info("zone %s: %zu journal diffs replayed over the file: serial %u", e->src.name, c->n,
	         v->serial);
	srvd_zone_unref(e->ver);
	e->ver = v;
}

/* A journal left beside the zone file by a run without state-dir is not
 * read once state-dir is set: say where it should go, or its updates
 * would seem lost. */
static void old_journal_hint(const ztab_zone_t *e)
{
	char *old = ztab_journal_path(e->src.file);
	if (old && strcmp(old, e->src.journal) != 0 && access(old, F_OK) == 0)
		log_warn("zone %s: journal %s is not read since state-dir is set: move it to %s "
		         "(while srvd is stopped) to keep its changes",
		         e->src.name, old, e->src.journal);
	free(old);
}

/* Updates survive a restart: the zone's journal (ztab_src_t.journal)
 * holds every diff published since (RFC 2136 UPDATEs), so the chain from
 * the file's serial to the journal's last one is applied over the file.
 * A journal that does not reach back to the file's serial (the file was
 * edited and its serial moved) is not applied: the file wins, said in the
 * log. */
static void replay_journal(ztab_zone_t *e, bool first_load)
{
	const char *path = e->src.journal;
	xfr_journal_t *j = NULL;
	char why[200] = "";
	uint32_t first = 0, last = 0, serial = e->ver->serial;
	if (!path || access(path, F_OK) != 0 ||
	    xfr_journal_open(path, e->ver->origin, SIZE_MAX, why, sizeof(why), &j) != 0) {
		if (path && first_load)
			old_journal_hint(e);
		return;
	}
	xfr_chain_t *c = NULL;
	if (xfr_journal_range(j, &first, &last) && wire_serial_gt(last, serial)) {
		if (xfr_journal_chain(j, serial, last, &c) == 0)
			apply_chain(e, c);
		else
			log_warn("zone %s: journal %s spans %u..%u, not the file's serial %u: its "
			         "changes are not applied (the file wins)",
			         e->src.name, path, first, last, serial);
	}
	xfr_chain_free(c);
	xfr_journal_free(j);
}

/* A served version made copy-on-write from the file's version (journal
 * replay, a merge) copied the file's version into a zone image: the
 * image's own copy of it stands in for it, and the built one (as big as
 * the zone) is freed. Only when the image was made from exactly that
 * version (its serial and record count). */
static void twin_file_ver(ztab_zone_t *e)
{
	zone_t *o = NULL;
	if (!e->ver || !e->file_ver || e->ver == e->file_ver || zone_cow_image(e->file_ver) ||
	    !zone_cow_image(e->ver) || zone_cow_origin(e->ver, &o) != 0)
		return;
	if (o->serial == e->file_ver->serial && o->n_records == e->file_ver->n_records) {
		srvd_zone_unref(e->file_ver);
		e->file_ver = o;
	} else {
		srvd_zone_unref(o);
	}
}

/* The file changed while updates exist: its own difference goes on top
 * of the updated version (merge.c). The journal is then restarted by the
 * primary journal's driver (src/net/primary_journal.c): it must lead from
 * the new file's serial, for the next start-up. */
static void merge_updates(ztab_zone_t *e, const ztab_zone_t *old)
{
	zone_t *r = NULL;
	size_t conflicts = 0;
	int rc = ztab_merge(old->file_ver, old->ver, e->file_ver, e->src.name, &r, &conflicts);
	if (rc) {
		log_err("zone %s: the updates could not be kept over the edited file (%s): the "
		        "file is served",
		        e->src.name, srvd_strerror(rc));
		return;
	}
	log_info("zone %s: the file's changes applied over the updated version: serial %u "
	         "(file %u, served %u), %zu RRsets changed by both (the file's kept)",
	         e->src.name, r->serial, e->file_ver->serial, old->ver->serial, conflicts);
	srvd_zone_unref(e->ver);
	e->ver = r;
}

ztab_zone_t *ztab_zone_load(ztab_src_t *src, const ztab_zone_t *old, const ztab_fp_t *pre,
                            size_t n_pre, bool changed)
{
	ztab_zone_t *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	diag_ctx_t d = {.first = ""};
	srvd_diag_t diag = {.fn = on_diag, .ctx = &d};
	srvd_zone_src_t zs = {.origin = src->name,
	                      .path = src->file,
	                      .allow_transfer = src->acl,
	                      .n_allow_transfer = src->n_acl,
	                      .snapshot = src->snapshot};
	struct timespec t0;
	ztab_fp_t *again = NULL; /* fingerprints taken after a torn read */
	int rc;
	for (unsigned attempt = 1;; attempt++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = srvd_zone_load(&zs, &e->ver, &diag);
		if (attempt == LOAD_TRIES)
			break;
		if (rc != 0) /* a writer between truncating and writing gets a moment */
			pause_ms(LOAD_PAUSE_MS);
		ztab_fp_t *now = NULL;
		if (!changed_since(pre, n_pre, &now))
			break;
		log_info("zone %s: %s changed while it was read; reading it again", src->name,
		         pre[0].path);
		if (rc == 0)
			srvd_zone_unref(e->ver);
		e->ver = NULL;
		ztab_fp_free(again, n_pre);
		pre = again = now;
		clear_diag(&d);
		diag = (srvd_diag_t){.fn = on_diag, .ctx = &d};
		if (rc == 0)
			pause_ms(LOAD_PAUSE_MS);
	}
	e->src = *src;
	memset(src, 0, sizeof(*src));
	int mem;
	if (rc == 0) {
		e->loaded_at = time(NULL);
		mem = loaded_fps(e, pre, n_pre);
		if (!e->src.secondary) {
			e->file_ver = e->ver;
			srvd_zone_ref(e->file_ver);
			if (old && old->ver && old->file_ver && old->ver != old->file_ver)
				merge_updates(e, old);
			else if (!old || !old->file_ver)
				replay_journal(e, !old);
			twin_file_ver(e);
		}
		log_loaded(e, old, changed, diag.warnings, ms_since(&t0));
	} else {
		e->ver = old ? old->ver : NULL;
		srvd_zone_ref(e->ver);
		e->loaded_at = old ? old->loaded_at : 0;
		mem = set_error(e, &d, rc);
		if (!mem)
			mem = failed_fps(e, &d, pre, n_pre);
		log_failed(e, diag.errors);
	}
	clear_diag(&d);
	ztab_fp_free(again, n_pre);
	if (mem) {
		log_err("zone %s: out of memory", e->src.name);
		ztab_zone_free(e);
		return NULL;
	}
	return e;
}
