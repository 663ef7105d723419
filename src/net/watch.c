/* Automatic reloads: uv_fs_event (inotify) on the folders that hold the
 * zone files, their $INCLUDEs and zones-dir, and the debounce that turns a
 * burst of events into one reload.
 *
 * Folders, not files: editors and deploy tools write a temporary file and
 * rename it over the old one, which a watch on the file itself would lose
 * track of. An event counts only when its name is one of the files we read
 * (or, in zones-dir, looks like a zone file), so a log or a swap file in the
 * same folder costs nothing. A symlinked zone file is watched in the
 * folder of its target too.
 *
 * Debounce: an event arms a timer for QUIET_MS after the latest event, but
 * never later than MAX_MS after the first one, so a tool that writes a file
 * in several steps causes one reload of the finished file, and one that
 * never stops writing still gets reloaded. The reload checks every zone's
 * fingerprints (zonetab/zonetab.h), so only zones that really changed are loaded.
 */
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "net/net_int.h"

enum { QUIET_MS = 250, MAX_MS = 2000 };

typedef struct wdir {
	struct net_watch *nw;
	uv_fs_event_t ev;
	char *path;
	char **names; /* sorted basenames that matter */
	size_t n_names;
	bool zones_dir;
	bool warned;
} wdir_t;

struct net_watch {
	net_t *n;
	wdir_t **dirs;
	size_t n_dirs;
	uv_timer_t timer;
	bool pending, stopped;
	unsigned flags;
	uint64_t first, last;
};

/* ---- debounce ------------------------------------------------------------ */

static void on_timer(uv_timer_t *t);

static void schedule(struct net_watch *nw)
{
	uint64_t now = uv_now(&nw->n->loop);
	uint64_t due = nw->last + QUIET_MS;
	if (due > nw->first + MAX_MS)
		due = nw->first + MAX_MS;
	uv_timer_start(&nw->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct net_watch *nw = t->data;
	uint64_t now = uv_now(&nw->n->loop);
	if (now < nw->last + QUIET_MS && now < nw->first + MAX_MS) {
		schedule(nw);
		return;
	}
	unsigned flags = nw->flags;
	nw->pending = false;
	nw->flags = 0;
	log_debug("zone files changed: checking");
	net_reload_request(nw->n, flags, NULL, NULL);
}

static void poke(struct net_watch *nw, unsigned flags)
{
	uint64_t now = uv_now(&nw->n->loop);
	if (!nw->pending) {
		nw->pending = true;
		nw->first = now;
	}
	nw->last = now;
	nw->flags |= flags;
	schedule(nw);
}

/* ---- events -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* What conf's zones-dir scan would take as a zone file, roughly: a false
 * positive costs one scan that finds nothing new. */
static bool zone_file_name(const char *f)
{
	return f[0] != '.' && (has_suffix(f, ".zone") || strncmp(f, "db.", 3) == 0);
}

static void on_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
	wdir_t *d = h->data;
	(void)events;
	if (status < 0) {
		if (!d->warned)
			log_warn("watching %s: %s", d->path, uv_strerror(status));
		d->warned = true;
		return;
	}
	bool known = !filename ||
	             bsearch(&filename, d->names, d->n_names, sizeof(*d->names), cmp_str) != NULL;
	bool zone_like = d->zones_dir && (!filename || zone_file_name(filename));
	if (!known && !zone_like)
		return;
	log_debug("%s/%s changed", d->path, filename ? filename : "");
	poke(d->nw, ZTAB_JOB_CHECK | (zone_like ? ZTAB_JOB_SCAN : 0));
}

/* ---- the set of folders ---------------------------------------------------- */

typedef struct want {
	char *dir, *base;
	bool zones_dir;
} want_t;

typedef struct wants {
	want_t *v;
	size_t n, cap;
} wants_t;

static int cmp_want(const void *a, const void *b)
{
	const want_t *x = a, *y = b;
	int r = strcmp(x->dir, y->dir);
	return r ? r : strcmp(x->base ? x->base : "", y->base ? y->base : "");
}

static void wants_free(wants_t *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].dir);
		free(w->v[i].base);
	}
	free(w->v);
}

/* dir and base of path; base NULL for a folder watched as a whole. */
static int wants_add(wants_t *w, const char *path, bool whole_dir)
{
	if (arr_grow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v), 32))
		return SRVD_ENOMEM;
	char *a = strdup(path), *b = strdup(path);
	want_t *x = &w->v[w->n];
	x->dir = whole_dir ? a : (a ? strdup(dirname(a)) : NULL);
	x->base = whole_dir ? NULL : (b ? strdup(basename(b)) : NULL);
	x->zones_dir = whole_dir;
	if (!whole_dir)
		free(a);
	free(b);
	if (!x->dir || (!whole_dir && !x->base)) {
		free(x->dir);
		free(x->base);
		return SRVD_ENOMEM;
	}
	w->n++;
	return 0;
}

/* A file, and the file a symlink points at. */
static int wants_file(wants_t *w, const char *path)
{
	int rc = wants_add(w, path, false);
	char real[PATH_MAX];
	if (rc == 0 && realpath(path, real) && strcmp(real, path) != 0)
		rc = wants_add(w, real, false);
	return rc;
}

static int collect(const ztab_t *t, const char *zones_dir, wants_t *w)
{
	int rc = zones_dir ? wants_add(w, zones_dir, true) : 0;
	for (size_t i = 0; rc == 0 && i < t->n; i++) {
		const ztab_zone_t *z = t->v[i];
		rc = wants_file(w, z->src.file);
		for (size_t f = 0; rc == 0 && f < z->n_fps; f++)
			rc = wants_file(w, z->fps[f].path);
	}
	if (rc == 0)
		qsort(w->v, w->n, sizeof(*w->v), cmp_want);
	return rc;
}

static void free_names(wdir_t *d)
{
	for (size_t i = 0; i < d->n_names; i++)
		free(d->names[i]);
	free(d->names);
	d->names = NULL;
	d->n_names = 0;
}

static void on_dir_closed(uv_handle_t *h)
{
	wdir_t *d = h->data;
	free_names(d);
	free(d->path);
	free(d);
}

static void close_dir(wdir_t *d)
{
	uv_close((uv_handle_t *)&d->ev, on_dir_closed);
}

/* Names from w->v[from..to) (one folder, sorted, duplicates skipped). */
static int set_names(wdir_t *d, const wants_t *w, size_t from, size_t to)
{
	free_names(d);
	d->zones_dir = false;
	d->names = calloc(to - from + 1, sizeof(*d->names));
	if (!d->names)
		return SRVD_ENOMEM;
	for (size_t i = from; i < to; i++) {
		const want_t *x = &w->v[i];
		d->zones_dir = d->zones_dir || x->zones_dir;
		if (!x->base || (d->n_names && strcmp(d->names[d->n_names - 1], x->base) == 0))
			continue;
		if (!(d->names[d->n_names] = strdup(x->base)))
			return SRVD_ENOMEM;
		d->n_names++;
	}
	return 0;
}

static wdir_t *open_dir(struct net_watch *nw, const char *path)
{
	wdir_t *d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return NULL;
	}
	d->nw = nw;
	uv_fs_event_init(&nw->n->loop, &d->ev);
	d->ev.data = d;
	int rc = uv_fs_event_start(&d->ev, on_event, path, 0);
	if (rc) {
		log_warn("cannot watch %s for changes: %s", path, uv_strerror(rc));
		d->warned = true;
	} else {
		log_debug("watching %s", path);
	}
	return d;
}

static wdir_t *take_dir(struct net_watch *nw, const char *path)
{
	for (size_t i = 0; i < nw->n_dirs; i++) {
		wdir_t *d = nw->dirs[i];
		if (d && strcmp(d->path, path) == 0) {
			nw->dirs[i] = NULL;
			return d;
		}
	}
	return open_dir(nw, path);
}

/* The new folder list reuses the watches it can; the rest close. */
static int rebuild(struct net_watch *nw, const wants_t *w)
{
	wdir_t **v = calloc(w->n + 1, sizeof(*v));
	size_t n = 0;
	int rc = v ? 0 : SRVD_ENOMEM;
	for (size_t i = 0; rc == 0 && i < w->n;) {
		size_t j = i;
		while (j < w->n && strcmp(w->v[j].dir, w->v[i].dir) == 0)
			j++;
		wdir_t *d = take_dir(nw, w->v[i].dir);
		if (d)
			v[n++] = d;
		rc = d ? set_names(d, w, i, j) : SRVD_ENOMEM;
		i = j;
	}
	for (size_t i = 0; i < nw->n_dirs; i++)
		if (nw->dirs[i])
			close_dir(nw->dirs[i]);
	free(nw->dirs);
	nw->dirs = v;
	nw->n_dirs = n;
	return rc;
}

void net_watch_update(net_t *n, const ztab_t *t, const char *zones_dir)
{
	struct net_watch *nw = n->watch;
	if (!nw || nw->stopped)
		return;
	wants_t w = {0};
	int rc = collect(t, zones_dir, &w);
	if (rc == 0)
		rc = rebuild(nw, &w);
	if (rc)
		log_err("watching zone files: %s", srvd_strerror(rc));
	wants_free(&w);
}

int net_watch_init(net_t *n)
{
	struct net_watch *nw = calloc(1, sizeof(*nw));
	if (!nw)
		return SRVD_ENOMEM;
	nw->n = n;
	uv_timer_init(&n->loop, &nw->timer);
	nw->timer.data = nw;
	n->watch = nw;
	return 0;
}

void net_watch_stop(net_t *n)
{
	struct net_watch *nw = n->watch;
	if (!nw || nw->stopped)
		return;
	nw->stopped = true;
	uv_close((uv_handle_t *)&nw->timer, NULL);
	for (size_t i = 0; i < nw->n_dirs; i++)
		if (nw->dirs[i])
			close_dir(nw->dirs[i]);
	free(nw->dirs);
	nw->dirs = NULL;
	nw->n_dirs = 0;
}

/* After the loop has run the close callbacks. */
void net_watch_free(net_t *n)
{
	free(n->watch);
	n->watch = NULL;
}
