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
#ifndef SRVD_NET_ZONES_H
#define SRVD_NET_ZONES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"
#include "net/net.h"
#include "srvd/srvd.h"

/* One file of a zone as we last saw it. */
typedef struct net_fp {
	char *path;
	bool exists;
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
	uint64_t hash; /* of the bytes; 0 when !exists */
} net_fp_t;

/* fp.c: stat and hash path into *out (a missing file is exists = false, not
 * an error). With old (same path), its hash is reused when stat() says
 * nothing moved. SRVD_ENOMEM only. */
int net_fp_take(const char *path, const net_fp_t *old, net_fp_t *out);
/* Same content: existence, size and hash. */
bool net_fp_same(const net_fp_t *a, const net_fp_t *b);
void net_fp_free(net_fp_t *v, size_t n);

/* What the config says about a zone (a deep copy: no pointer into a conf). */
typedef struct net_zsrc {
	char *key;  /* lower case, no trailing dot: the table's sort key */
	char *name; /* as configured */
	char *file;
	char *snapshot; /* snapshot-dir/<key>.snap, or NULL */
	srvd_prefix_t *acl;
	size_t n_acl;
	conf_addr_t *notify;
	size_t n_notify;
	bool from_dir;  /* found in zones-dir */
	bool secondary; /* has primaries: file is the received copy (secondary.h) */
} net_zsrc_t;

typedef struct net_zone {
	net_zsrc_t src;
	srvd_zone_t *ver; /* the version served; NULL: never loaded, not served */
	net_fp_t *fps;    /* the files of the last load attempt */
	size_t n_fps;
	time_t loaded_at; /* when ver was loaded */
	char *error;      /* why the last attempt failed ("file:line: msg"), or NULL */
	unsigned mark;    /* scratch of the running job */
} net_zone_t;

/* Sorted by src.key. */
typedef struct net_ztab {
	net_zone_t **v;
	size_t n;
} net_ztab_t;

/* The entry for a zone name (any case, trailing dot or not), or NULL. */
net_zone_t *net_ztab_find(const net_ztab_t *t, const char *name);
void net_zone_free(net_zone_t *z);
/* Frees the entries too. */
void net_ztab_deinit(net_ztab_t *t);

enum {
	NET_JOB_INIT = 1 << 0,  /* start-up: load every zone of conf */
	NET_JOB_CONF = 1 << 1,  /* read the config again (implies a zones-dir scan) */
	NET_JOB_SCAN = 1 << 2,  /* scan zones-dir again: new files add zones, gone ones remove */
	NET_JOB_CHECK = 1 << 3, /* reload every zone whose files changed */
};

typedef enum {
	NET_ZONE_KEPT,    /* same entry as before */
	NET_ZONE_UPDATED, /* same version, new settings (notify list) */
	NET_ZONE_LOADED,  /* a new version */
	NET_ZONE_FAILED,  /* the load failed: the previous version (if any) stays */
} net_outcome_t;

/* A version made elsewhere (a transfer, an expired placeholder) to serve
 * in place of a secondary zone's. */
typedef struct net_install {
	char *key;
	srvd_zone_t *ver;
} net_install_t;

typedef struct net_job {
	/* what to do */
	unsigned flags;
	char **force; /* zone names to load whatever their files say */
	size_t n_force;
	net_install_t *installs; /* secondary zones: the versions to serve */
	size_t n_installs;
	const conf_t *conf;    /* the current config */
	const net_ztab_t *cur; /* the current table; NULL at start-up */
	net_conf_fn conf_fn;   /* for NET_JOB_CONF */
	void *conf_ctx;
	/* what happened */
	int rc; /* not 0: the config did not load and nothing changed */
	char conf_err[512];
	conf_t *conf_new; /* NET_JOB_CONF: the config now in force */
	net_ztab_t next;
	uint8_t *outcome;           /* net_outcome_t per next.v[i] */
	const net_zone_t **prev;    /* per next.v[i]: the entry it replaces, or NULL */
	const net_zone_t **removed; /* entries of cur that next does not have */
	size_t n_removed;
	srvd_zoneset_t *zs; /* to publish; NULL when no served version changed */
	unsigned loaded, failed;
} net_job_t;

/* Any thread. Results in j; the caller takes what it wants (setting the
 * fields to NULL) and calls net_job_deinit. */
void net_job_run(net_job_t *j);
void net_job_deinit(net_job_t *j);

/* zload.c: load src (taken over, zeroed) into a new entry. pre: fresh
 * fingerprints of the files as they were just before (may be NULL). When the
 * load fails the entry keeps old's version and load time, and the error.
 * Every finding is logged, and a serial that did not move although the
 * files changed (changed) is warned about. NULL (and src freed) when out of
 * memory. */
net_zone_t *net_zone_load(net_zsrc_t *src, const net_zone_t *old, const net_fp_t *pre, size_t n_pre,
                          bool changed);

void net_zsrc_deinit(net_zsrc_t *s);
/* A copy of old with src (taken over, zeroed) as its settings; NULL when
 * out of memory. */
net_zone_t *net_zone_clone(const net_zone_t *old, net_zsrc_t *src);
/* Append an entry to the job's next table, with its outcome. */
void net_job_add(net_job_t *j, net_zone_t *e, net_outcome_t out, const net_zone_t *old);
/* secstep.c: step() for a secondary zone: serve a version installed by a
 * transfer, keep what we have, or (new zone) load the saved copy when it has
 * not expired. Takes src over. */
void net_sec_step(net_job_t *j, net_zsrc_t *src, const net_zone_t *old);

/* Bytes held by the served versions of t. */
size_t net_ztab_memory(const net_ztab_t *t);

#endif
