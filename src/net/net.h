/* The network front end as the daemon sees it: bind, serve, reload, stop.
 *
 * This header does not include <uv.h>: libuv stays inside src/net. The
 * daemon (src/bin/srvd.c) owns the command line, the config file, privileges
 * and the pidfile; net owns sockets, worker threads, signals and the
 * publication of zone sets. The split in time is:
 *
 *   net_new()    opens and binds every socket (still root, no threads yet)
 *   net_start()  loads the zones, opens the control socket, watches
 *                signals and zone files, then spawns the workers (a signal
 *                that comes early waits for net_run)
 *   net_run()    runs the main loop: reloads (SIGHUP, srvdctl, changed
 *                files), NOTIFY, the control socket; SIGTERM/SIGINT stop
 *   net_free()   joins everything and frees it
 *
 * Zone loading runs here too (reload.c, over src/zonetab): net owns the config in
 * force and the table of zones from net_start on.
 */
#ifndef SRVD_NET_NET_H
#define SRVD_NET_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"
#include "srvd/srvd.h"
#include "zonetab/zonetab.h"

typedef struct net net_t;
struct ctl_reply;

/* A main-loop service that bin/srvd.c plugs into net, so that net names
 * none of them: net calls them at these points, on the main loop. Any
 * hook may be NULL. */
typedef struct net_service {
	const char *name;
	/* In net_start, before the zones load. */
	int (*init)(net_t *n, void **state);
	/* After every reload is applied (the zone table or the config
	 * changed), and once at start-up. */
	void (*after_reload)(void *state);
	/* A worker accepted a NOTIFY for this zone (the table's key). */
	void (*notified)(void *state, const char *zone);
	/* srvdctl refresh / retransfer: 0, or SRVD_ENOENT when the zone is
	 * not this service's. */
	int (*refresh)(void *state, const char *zone, bool axfr);
	/* srvdctl zone-status: add this service's fields for zone to the
	 * open map. */
	void (*zone_status)(const void *state, const char *zone, struct ctl_reply *r);
	/* Close every handle, so the main loop can end; then free, after
	 * the loop has closed. */
	void (*stop)(void *state);
	void (*free)(void *state);
} net_service_t;

/* secondary.c: secondary zones (SOA timers, transfers in, NOTIFY in) and
 * the journals that IXFR out reads. */
extern const net_service_t net_secondary_service;

/* metrics.c: the Prometheus endpoint (server: metrics:). */
extern const net_service_t net_metrics_service;

/* dnstap.c: dnstap output (server: dnstap:), through src/dnstap. */
extern const net_service_t net_dnstap_service;

enum { NET_MAX_SERVICES = 4 };

/* Create the worker loops and bind every listen address of c for UDP and
 * TCP. Every failure is logged; the result is SRVD_EIO when an address
 * cannot be bound. c is not kept. */
int net_new(const conf_t *c, net_t **out);

/* Add a service (before net_start). SRVD_ELIMIT past NET_MAX_SERVICES. */
int net_add_service(net_t *n, const net_service_t *svc);

/* Log "listening on ..." for every bound address, one line each. */
void net_log_addrs(const net_t *n);

/* Take over conf (also when this fails) and load every zone of it (one that
 * fails is logged and not served; *failed counts them, *zones counts those
 * served), open the control socket if conf names one, watch SIGHUP, SIGTERM,
 * SIGINT and the zone files, start the workers, and send NOTIFY for every
 * zone that has a notify list. reload reads the config again on SIGHUP. */
int net_start(net_t *n, conf_t *conf, ztab_conf_fn reload, void *ctx, size_t *zones,
              unsigned *failed);

/* Run the main loop until SIGTERM or SIGINT, then drain TCP (at most 2 s)
 * and stop the workers. Returns 0 after a clean stop. */
int net_run(net_t *n);

/* Stop (if running), join the workers and free everything. NULL is fine. */
void net_free(net_t *n);

#endif
