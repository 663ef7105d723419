/* The zone table and reload jobs: which zones the daemon serves, from which
 * files, with which version, and how one reload turns a table into the next.
 *
 * No libuv here. A job runs on a thread-pool thread (at start-up, on the
 * main thread) as a function from (the current table, the current config,
 * what was asked) to (the next table, the zone set to publish, what
 * happened to each zone). The main thread owns the tables: while a job runs
 * it only reads the current one, and it swaps in the next one when the job
 * is done. A published entry never changes, except two fields that only
 * jobs touch: `mark`, and the stat() half of its fingerprints (so a file
 * that was touched but not changed is hashed once, not at every check).
 *
 * Whether a zone's files changed: stat() each file of its last load
 * (device, inode, size, mtime, ctime); when any of that moved, hash the
 * bytes; only a different hash, size or existence is a change. The
 * fingerprints used are the ones taken before the load, so a file rewritten
 * while it is being loaded is seen as changed at the next check.
 */
#ifndef SRVD_ZONETAB_ZONETAB_H
#define SRVD_ZONETAB_ZONETAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"
#include "srvd/srvd.h"

/* Reads the configuration file again, on a thread-pool thread, for SIGHUP
 * and `srvdctl reload`. On failure the reason ("file:line: message") goes to
 * err. */
typedef int (*ztab_conf_fn)(void *ctx, conf_t **out, char *err, size_t errlen);

/* The source of zone z: its allow-transfer list, or the server's when the
 * zone sets none. Borrowed pointers into c. */
void ztab_zone_src(const conf_t *c, const conf_zone_t *z, srvd_zone_src_t *out);

/* One file of a zone as we last saw it. */
typedef struct ztab_fp {
	char *path;
	bool exists;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	uint64_t hash; /* of the bytes; 0 when !exists */
} ztab_fp_t;

/* fingerprint.c: stat and hash path into *out (a missing file is exists = false, not
 * an error). With old (same path), its hash is reused when stat() says
 * nothing moved. SRVD_ENOMEM only. */
int ztab_fp_take(const char *path, const ztab_fp_t *old, ztab_fp_t *out);
/* Same content: existence, size and hash. */
bool ztab_fp_same(const ztab_fp_t *a, const ztab_fp_t *b);
void ztab_fp_free(ztab_fp_t *v, size_t n);

/* What the config says about a zone (a deep copy: no pointer into a conf). */
typedef struct ztab_src {
	char *key;  /* lower case, no trailing dot: the table's sort key */
	char *name; /* as configured */
	char *file;
	char *snapshot; /* snapshot-dir/<key>.snap, or NULL */
	char *journal;  /* state-dir/<key>.jnl, or FILE.jnl without state-dir */
	srvd_prefix_t *acl;
	size_t n_acl;
	conf_addr_t *notify;
	size_t n_notify;
	bool from_dir;  /* found in zones-dir */
	bool secondary; /* has primaries: file is the received copy (secondary.h) */
} ztab_src_t;

typedef struct ztab_zone {
	ztab_src_t src;
	srvd_zone_t *ver; /* the version served; NULL: never loaded, not served */
	/* Primary zones: the version the zone file gave at its last load (or
	 * that srvd wrote to it, zonefile-sync), before journal and updates.
	 * ver == file_ver while nothing but the file changed the zone. A file
	 * edit is merged against it (merge.c). NULL for secondary zones. */
	srvd_zone_t *file_ver;
	ztab_fp_t *fps; /* the files of the last load attempt */
	size_t n_fps;
	time_t loaded_at; /* when ver was loaded */
	char *error;      /* why the last attempt failed ("file:line: msg"), or NULL */
	unsigned mark;    /* scratch of the running job */
} ztab_zone_t;

/* Sorted by src.key. */
typedef struct ztab {
	ztab_zone_t **v;
	size_t n;
} ztab_t;

/* The entry for a zone name (any case, trailing dot or not), or NULL. */
ztab_zone_t *ztab_find(const ztab_t *t, const char *name);
void ztab_zone_free(ztab_zone_t *z);
/* Frees the entries too. */
void ztab_deinit(ztab_t *t);

enum {
	ZTAB_JOB_INIT = 1 << 0,  /* start-up: load every zone of conf */
	ZTAB_JOB_CONF = 1 << 1,  /* read the config again (implies a zones-dir scan) */
	ZTAB_JOB_SCAN = 1 << 2,  /* scan zones-dir again: new files add zones, gone ones remove */
	ZTAB_JOB_CHECK = 1 << 3, /* reload every zone whose files changed */
};

typedef enum {
	ZTAB_ZONE_KEPT,    /* same entry as before */
	ZTAB_ZONE_UPDATED, /* same version, new settings (notify list) */
	ZTAB_ZONE_LOADED,  /* a new version */
	ZTAB_ZONE_FAILED,  /* the load failed: the previous version (if any) stays */
} ztab_outcome_t;

/* A version made elsewhere (a transfer, an expired placeholder) to serve
 * in place of a secondary zone's. */
typedef struct ztab_install {
	char *key;
	srvd_zone_t *ver;
	/* Primary zones (an UPDATE's first copy-on-write version): a version
	 * with the same records as the entry's file_ver, kept in its place so
	 * the file's version is not held twice (zone_cow_origin). May be NULL. */
	srvd_zone_t *file_twin;
} ztab_install_t;

/* A primary zone's version that srvd wrote to its file (zonefile-sync):
 * it becomes the entry's file_ver and the file's fingerprints are taken
 * again, so the write is not seen as an edit. */
typedef ztab_install_t ztab_written_t;

typedef struct ztab_job {
	/* what to do */
	unsigned flags;
	char **force; /* zone names to load whatever their files say */
	size_t n_force;
	ztab_install_t *installs; /* secondary zones: the versions to serve */
	size_t n_installs;
	ztab_written_t *written; /* primary zones written back to their files */
	size_t n_written;
	const conf_t *conf;   /* the current config */
	const ztab_t *cur;    /* the current table; NULL at start-up */
	ztab_conf_fn conf_fn; /* for ZTAB_JOB_CONF */
	void *conf_ctx;
	/* what happened */
	int rc; /* not 0: the config did not load and nothing changed */
	char conf_err[512];
	conf_t *conf_new; /* ZTAB_JOB_CONF: the config now in force */
	ztab_t next;
	uint8_t *outcome;            /* ztab_outcome_t per next.v[i] */
	const ztab_zone_t **prev;    /* per next.v[i]: the entry it replaces, or NULL */
	const ztab_zone_t **removed; /* entries of cur that next does not have */
	size_t n_removed;
	srvd_zoneset_t *zs; /* to publish; NULL when no served version changed */
	unsigned loaded, failed;
} ztab_job_t;

/* Any thread. Results in j; the caller takes what it wants (setting the
 * fields to NULL) and calls ztab_job_deinit. */
void ztab_job_run(ztab_job_t *j);
void ztab_job_deinit(ztab_job_t *j);

/* load.c: load src (taken over, zeroed) into a new entry. pre: fresh
 * fingerprints of the files as they were just before (may be NULL). When the
 * load fails the entry keeps old's version and load time, and the error.
 * Every finding is logged, and a serial that did not move although the
 * files changed (changed) is warned about. NULL (and src freed) when out of
 * memory. */
ztab_zone_t *ztab_zone_load(ztab_src_t *src, const ztab_zone_t *old, const ztab_fp_t *pre,
                            size_t n_pre, bool changed);

/* merge.c: a zone file edited while updates exist. f0: the file's version
 * before the edit, u: the version served (f0 plus updates), f1: the file's
 * version now. The result is f1 plus every change of the updates (u
 * against f0) to an RRset the edit did not touch; where both changed an
 * RRset differently the file wins, and each such RRset is logged as a
 * warning and counted in *conflicts. The SOA is the file's, its serial
 * newer than both f1's and u's (so secondaries and the journal move on),
 * except when nothing of the updates remains and f1's serial is already
 * newer than u's: then the result is f1 itself. When the updates' changes
 * break the zone checks on top of the edit they are all dropped (logged
 * as an error). name is for the log. */
int ztab_merge(const srvd_zone_t *f0, const srvd_zone_t *u, const srvd_zone_t *f1, const char *name,
               srvd_zone_t **out, size_t *conflicts);

void ztab_src_deinit(ztab_src_t *s);
/* A copy of old with src (taken over, zeroed) as its settings; NULL when
 * out of memory. */
ztab_zone_t *ztab_zone_clone(const ztab_zone_t *old, ztab_src_t *src);
/* Append an entry to the job's next table, with its outcome. */
void ztab_job_add(ztab_job_t *j, ztab_zone_t *e, ztab_outcome_t out, const ztab_zone_t *old);
/* received.c: step() for a secondary zone: serve a version installed by a
 * transfer, keep what we have, or (new zone) load the saved copy when it has
 * not expired. Takes src over. */
void ztab_received_step(ztab_job_t *j, ztab_src_t *src, const ztab_zone_t *old);

/* Bytes held by the served versions of t. */
size_t ztab_memory(const ztab_t *t);

/* ---- saved.c: the saved copy of a secondary zone (any thread) ---------- */

typedef struct ztab_saved {
	time_t refreshed; /* the last successful check against a primary */
	uint32_t serial;
	uint32_t expire; /* seconds, as clamped when it was written */
} ztab_saved_t;

/* dir/.BASE.srvd-state for the saved copy at file: hidden, so zones-dir
 * scans skip it. malloc'ed, NULL when out of memory. */
char *ztab_saved_path(const char *file);
/* The journal beside the copy: FILE.jnl (zones-dir scans skip *.jnl); with
 * state-dir, zones use state-dir/<key>.jnl instead (ztab_src_t.journal). */
char *ztab_journal_path(const char *file);
/* Whether srvd may write the journal at path (the file, or its folder when
 * there is none yet): false with the reason in why (cap bytes). */
bool ztab_journal_writable(const char *path, char *why, size_t cap);
/* SRVD_ENOENT when there is none or it does not parse. */
int ztab_saved_read(const char *file, ztab_saved_t *out);
/* Temp file and rename. */
int ztab_saved_write(const char *file, const ztab_saved_t *st);
/* The saved copy may be served at start-up: it exists and its state says
 * it has not expired at now (no state file: the copy's mtime and the
 * expire bound that xfr-in would use are not known yet, so it is served
 * and secondary.c expires it when its SOA says so). */
bool ztab_saved_fresh(const char *file, time_t now);
/* Remove what a save killed half-way (SIGKILL, a crash) left beside path:
 * "path.tmp.PID" (xfr_zone_save, the journal's save) for a PID that is not
 * ours and is not alive, or is alive as another program (the PID was
 * reused). Only regular files with exactly that name shape go; each one is
 * logged. Returns how many were removed. */
unsigned ztab_clean_temps(const char *path);

#endif
