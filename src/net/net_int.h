/* The net object and the map of src/net (private to src/net; it pulls in
 * uv.h). net owns libuv: sockets, threads, the main loop, and publishing
 * what workers answer from. Everything a message means is decided in the
 * library (srvd_dispatch); the zone table and reload jobs are uv-free in
 * src/zonetab; services that are not net's own plug in through
 * net_service_t (net.h), filled by bin/srvd.c.
 *
 *   net.c          the net object, start and stop, signals, services,
 *                  publication (RCU: one atomic pointer, epochs)
 *   worker.c       worker threads: a loop, a responder, a quiescent point
 *   udp.c tcp.c    the sockets: bytes in, srvd_dispatch, bytes out
 *   sock.c         opening and binding sockets
 *   stats.c        counters summed over the workers
 *   reload.c       reload requests and jobs on the thread pool (zonetab)
 *   watch.c        inotify on the folders of zone files
 *   notify_out.c   NOTIFY to secondaries (RFC 1996), with retries
 *   notify_in.c    NOTIFYs srvd_dispatch accepted, to the main loop
 *   update.c       UPDATEs srvd_dispatch accepted: evaluate, journal,
 *                  publish through the reload queue, answer; forwarding
 *   control.c      the control socket; control_cmd.c its commands
 *   guard.c        RRL settings and the DNS cookie secret (rotated on a
 *                  timer) in the published server
 *   metrics.c      service: the Prometheus endpoint (src/metrics)
 *   dnstap.c       service: dnstap output (src/dnstap), worker_t.dt
 *   zone_events.c  per-zone transfers, NOTIFY and refresh times
 *   secondary.c    service: secondary zones (secondary.h), with
 *                  xfr_client.c (the transfer client) and
 *                  primary_journal.c (journals of primary zones)
 *
 * Everything below runs on the main loop (n->loop) unless it says
 * otherwise. Each part keeps its state behind one pointer in struct net
 * and closes its handles in its _stop function (called by begin_stop), so
 * that the main loop can run out of handles; its memory is freed by its
 * _free function after the loop has closed.
 */
#ifndef SRVD_NET_NET_INT_H
#define SRVD_NET_NET_INT_H

#include "net/worker.h"
#include "xfr/journal.h"
#include "zonetab/zonetab.h"

struct net {
	net_addr_t *addrs;
	size_t n_addrs;
	worker_t **workers;
	unsigned n_workers;
	_Atomic(srvd_server_t *) srv; /* what workers answer from (net.c) */
	srvd_responder_opts_t ropts;
	char *nsid, *identity, *version;
	uint64_t idle_ms;
	size_t max_conns; /* TCP connections per worker */
	size_t max_total; /* tcp-max-clients */
	uv_loop_t loop;
	bool loop_ok;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t grace;
	uv_timer_t watchdog; /* WatchdogSec= (net.c), when watchdog_on */
	bool watchdog_on;
	srvd_server_t **retired; /* replaced, not yet past every worker's epoch */
	size_t n_retired, cap_retired;
	bool release_pending; /* a zone set was replaced: tell reload.c when released */
	uint64_t *snap;
	bool started, stopped;
	atomic_bool stopping;
	time_t started_at;
	/* the main loop's own parts, one pointer each (files below) */
	struct net_reload *rl;
	struct net_watch *watch;
	struct net_notify *notify;
	struct net_stats_state *stats;
	struct net_control *ctl;
	struct net_guard *guard;
	const net_service_t *svc[NET_MAX_SERVICES]; /* bin/srvd.c plugs these in */
	void *svc_state[NET_MAX_SERVICES];
	size_t n_svc;
	struct net_notified *notified; /* NOTIFYs from workers to the main loop */
	struct net_update *upd;        /* UPDATEs from workers (update.c) */
	struct net_zev *zev;           /* per-zone events (zone_events.c) */
};

/* ---- reload.c: the zone table, reload requests, publication ----------- */

/* Someone waiting for the end of a reload (a control client). done runs
 * once, after the job's results are in the table (and published), or with
 * j NULL when the reload could not run. */
typedef struct net_waiter {
	link_t link;
	void (*done)(struct net_waiter *w, const ztab_job_t *j);
} net_waiter_t;

/* Take over conf and load every zone of it (start-up, blocking); the zone
 * set to serve goes to *zs. *failed counts the zones that did not load. */
int net_reload_init(net_t *n, conf_t *conf, ztab_conf_fn fn, void *ctx, srvd_zoneset_t **zs,
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
/* The same for an UPDATE's version of a primary zone; twin (taken, may be
 * NULL) stands in for the zone's file version from then on (zonetab.h). */
void net_reload_install_twin(net_t *n, const char *key, srvd_zone_t *ver, srvd_zone_t *twin,
                             net_waiter_t *w);
/* update.c (zonefile-sync): ver (taken) was written to the primary zone's
 * file; the next job makes it the entry's file version (zonetab.h). */
void net_reload_written(net_t *n, const char *key, srvd_zone_t *ver);
/* net.c calls this when the zone set replaced by a publish is released. */
void net_reload_released(net_t *n);
void net_reload_stop(net_t *n);
void net_reload_free(net_t *n);
/* The table now served (read-only), the config in force, and counters. */
const ztab_t *net_reload_table(const net_t *n);
const conf_t *net_reload_conf(const net_t *n);
/* The config of the zone with this table key (any case, trailing dot or
 * not) in the config in force, or NULL. */
const conf_zone_t *net_conf_zone(const net_t *n, const char *key);
void net_reload_counts(const net_t *n, uint64_t *ok, uint64_t *failed);

/* Publish the keyring of the config in force (at start-up and after a
 * reload that read the config). */
void net_reload_publish_keys(net_t *n);

/* net.c: what workers answer from is one srvd_server_t (dispatch.h); each
 * of these publishes a copy of it with one part replaced and retires the
 * old one once no worker can see it. net_publish takes zs and calls
 * net_reload_released when the replaced state is released. */
void net_publish(net_t *n, srvd_zoneset_t *zs);
/* Takes keys. */
void net_publish_keys(net_t *n, srvd_keyring_t *keys);
/* The zone rules (NOTIFY in, IXFR journals); copied. */
void net_publish_rules(net_t *n, const srvd_zone_rule_t *rules, xfr_journal_t *const *journals,
                       size_t n_rules);
/* RRL and cookie settings (copied). */
void net_publish_guard(net_t *n, const srvd_guard_conf_t *g);
/* net.c: the graceful stop that SIGTERM starts. */
void net_stop(net_t *n);

/* ---- watch.c: uv_fs_event on the folders of the zone files --------------- */

int net_watch_init(net_t *n);
/* Watch what t's zones were read from, and zones_dir (may be NULL). */
void net_watch_update(net_t *n, const ztab_t *t, const char *zones_dir);
void net_watch_stop(net_t *n);
void net_watch_free(net_t *n);

/* ---- notify_out.c: NOTIFY out (RFC 1996) -------------------------------- */

int net_notify_init(net_t *n);
/* Tell z's notify list that it has a new serial (restarts any NOTIFY of z
 * still retrying). */
void net_notify_zone(net_t *n, const ztab_zone_t *z);
/* Stop notifying for a zone (it was removed). */
void net_notify_cancel(net_t *n, const char *key);
void net_notify_stop(net_t *n);
void net_notify_free(net_t *n);

/* ---- stats.c: counters summed over the workers ----------------------------- */

typedef struct net_stats {
	srvd_stats_t resp; /* the responders' counters (resp.unzoned: no zone answered) */
	/* Every answer by type and rcode: all the zones' counts (served,
	 * replaced, folded, gone) plus resp.unzoned. */
	srvd_zone_stats_t all;
	uint64_t queries[2];  /* messages received, by transport (srvd_transport_t) */
	uint64_t udp_dropped; /* replies the kernel did not take */
	uint64_t tcp_accepted, tcp_open, tcp_evicted, tcp_timeouts;
	uint64_t xfr_started, xfr_done;
	uint64_t size[NET_SIZE_BUCKETS], size_bytes; /* answers sent, by size */
	uint64_t dnstap_logged, dnstap_dropped;
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
/* A zone's counters since start: what its retired versions counted
 * (folded) plus what the version now served counts. lorigin: the zone's
 * name as text, as the zone table has it. */
void net_stats_zone(net_t *n, const char *name, const srvd_zone_t *served, srvd_zone_stats_t *out);
/* out += the counts of every zone, served or not, since start. */
void net_stats_zones(net_t *n, srvd_zone_stats_t *out);
/* net.c, once no worker can reach old: fold the counters of its versions
 * that cur does not serve into the per-name totals. */
void net_stats_fold(net_t *n, const srvd_zoneset_t *old, const srvd_zoneset_t *cur);

/* ---- zone_events.c: transfers, NOTIFY, refresh, per zone ------------------ */

typedef struct net_zone_ev {
	uint64_t xfr_in, xfr_in_bytes, xfr_in_failed; /* transfers in (IXFR or AXFR) */
	uint64_t xfr_out, xfr_out_bytes;              /* transfers out that finished */
	uint64_t notify_in, notify_out;               /* accepted; sent (tries included) */
	bool secondary;
	time_t last_refresh, expire_at; /* secondary: last good check, expiry (0: none) */
} net_zone_ev_t;

/* Any thread; zone as the zone table or srvd_zone_info names it (case and
 * a trailing dot do not matter). */
void net_zev_xfr_in(net_t *n, const char *zone, uint64_t bytes, bool ok);
void net_zev_xfr_out(net_t *n, const srvd_zone_t *z, uint64_t bytes);
void net_zev_notify(net_t *n, const char *zone, bool in);
void net_zev_refresh(net_t *n, const char *zone, time_t last_ok, time_t expire_at);
/* A copy of zone's counts (all zero, and false, when it has none). */
bool net_zev_get(net_t *n, const char *zone, net_zone_ev_t *out);
void net_zev_free(net_t *n);

/* ---- dnstap.c: dnstap output --------------------------------------------- */

/* Messages handed to the collector and messages lost, over the workers. */
void net_dnstap_counts(const net_t *n, uint64_t *logged, uint64_t *dropped);

/* ---- net.c: the services of net.h, each hook called on every service ---- */

int net_services_init(net_t *n);
void net_services_after_reload(net_t *n);
void net_services_notified(net_t *n, const char *zone);
/* 0 when a service took it, else SRVD_ENOENT. */
int net_services_refresh(net_t *n, const char *zone, bool axfr);
void net_services_zone_status(const net_t *n, const char *zone, struct ctl_reply *r);
void net_services_stop(net_t *n);
void net_services_free(net_t *n);

/* ---- notify_in.c: NOTIFYs that workers accepted, to the main loop ---------- */

int net_notified_init(net_t *n);
void net_notified_stop(net_t *n);
void net_notified_free(net_t *n);

/* ---- update.c: dynamic update (RFC 2136), the change pipeline ------------ */

int net_update_init(net_t *n);
void net_update_counts(const net_t *n, uint64_t *ok, uint64_t *failed);
void net_update_stop(net_t *n);
void net_update_free(net_t *n);

/* ---- guard.c: RRL settings and the cookie secret -------------------------- */

int net_guard_init(net_t *n);
/* Publish the guard of the config in force (start-up, and after a reload
 * that read the config): its RRL settings, the configured secret or our
 * own, and the rotation timer for our own. */
void net_guard_update(net_t *n);
void net_guard_stop(net_t *n);
void net_guard_free(net_t *n);

/* ---- control.c: the control socket ------------------------------------------- */

/* Listen on path (mode 0660); a stale socket file is replaced, a live one
 * is an error. */
int net_control_start(net_t *n, const char *path);
/* Close the socket and every client, remove the socket file. */
void net_control_stop(net_t *n);
void net_control_free(net_t *n);

#endif
