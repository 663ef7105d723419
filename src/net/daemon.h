/* The main thread's services, shared by the files of src/net that provide
 * them: reloads and the zone table (reload.c), file watching (watch.c),
 * NOTIFY out (notify.c), the control socket (control.c, ctlcmd.c) and the
 * collection of worker counters (stats.c).
 *
 * Everything here runs on the main loop (n->loop) unless it says otherwise.
 * Each service keeps its state behind one pointer in struct net and closes
 * its handles in its _stop function (called by begin_stop), so that the
 * main loop can run out of handles; its memory is freed by its _free
 * function after the loop has closed.
 */
#ifndef SRVD_NET_DAEMON_H
#define SRVD_NET_DAEMON_H

#include "common/list.h"
#include "net/worker.h"
#include "net/zones.h"

/* ---- reload.c: the zone table, reload requests, publication ----------- */

/* Someone waiting for the end of a reload (a control client). done runs
 * once, after the job's results are in the table (and published), or with
 * j NULL when the reload could not run. */
typedef struct net_waiter {
	link_t link;
	void (*done)(struct net_waiter *w, const net_job_t *j);
} net_waiter_t;

/* Take over conf and load every zone of it (start-up, blocking); the zone
 * set to serve goes to *zs. *failed counts the zones that did not load. */
int net_reload_init(net_t *n, conf_t *conf, net_conf_fn fn, void *ctx, srvd_zoneset_t **zs,
                    unsigned *failed);
/* Ask for a reload (NET_JOB_* flags; force: a zone to load whatever its
 * files say, or NULL). Requests that arrive while one runs are merged into
 * the next. w (may be NULL) is told when the reload that covers this
 * request is done; unlink it to stop waiting. */
void net_reload_request(net_t *n, unsigned flags, const char *force, net_waiter_t *w);
/* Serve ver (taken) for the secondary zone with that table key, through
 * the next job; w (may be NULL) is told when it is published (done with j
 * NULL when it was not). */
void net_reload_install(net_t *n, const char *key, srvd_zone_t *ver, net_waiter_t *w);
/* net.c calls this when the zone set replaced by a publish is released. */
void net_reload_released(net_t *n);
void net_reload_stop(net_t *n);
void net_reload_free(net_t *n);
/* The table now served (read-only), the config in force, and counters. */
const net_ztab_t *net_reload_table(const net_t *n);
const conf_t *net_reload_conf(const net_t *n);
void net_reload_counts(const net_t *n, uint64_t *ok, uint64_t *failed);

/* net.c: swap in zs (taking the reference) and retire the old set; calls
 * net_reload_released when no worker can see the old set any more. */
void net_publish(net_t *n, srvd_zoneset_t *zs);
/* net.c: the graceful stop that SIGTERM starts. */
void net_stop(net_t *n);

/* ---- watch.c: uv_fs_event on the folders of the zone files --------------- */

int net_watch_init(net_t *n);
/* Watch what t's zones were read from, and zones_dir (may be NULL). */
void net_watch_update(net_t *n, const net_ztab_t *t, const char *zones_dir);
void net_watch_stop(net_t *n);
void net_watch_free(net_t *n);

/* ---- notify.c: NOTIFY out (RFC 1996) ------------------------------------ */

int net_notify_init(net_t *n);
/* Tell z's notify list that it has a new serial (restarts any NOTIFY of z
 * still retrying). */
void net_notify_zone(net_t *n, const net_zone_t *z);
/* Stop notifying for a zone (it was removed). */
void net_notify_cancel(net_t *n, const char *key);
void net_notify_stop(net_t *n);
void net_notify_free(net_t *n);

/* ---- stats.c: counters summed over the workers ----------------------------- */

typedef struct net_stats {
	srvd_stats_t resp;    /* the responders' counters */
	uint64_t udp_dropped; /* replies the kernel did not take */
	uint64_t tcp_accepted, tcp_open;
} net_stats_t;

typedef struct net_stats_req {
	link_t link;
	void (*done)(struct net_stats_req *r, const net_stats_t *s);
} net_stats_req_t;

/* Ask every worker for a snapshot of its counters; r->done runs on the main
 * loop once all have answered (at most ~1 s). Unlink r to stop waiting. */
void net_stats_collect(net_t *n, net_stats_req_t *r);
void net_stats_stop(net_t *n);
void net_stats_free(net_t *n);

/* ---- secondary.c: secondary zones (secondary.h has the rest) ----------------- */

void net_secondary_sync(net_t *n);

/* ---- control.c: the control socket ------------------------------------------- */

/* Listen on path (mode 0660); a stale socket file is replaced, a live one
 * is an error. */
int net_control_start(net_t *n, const char *path);
/* Close the socket and every client, remove the socket file. */
void net_control_stop(net_t *n);
void net_control_free(net_t *n);

#endif
