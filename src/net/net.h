/* The network front end as the daemon sees it: bind, serve, reload, stop.
 *
 * This header does not include <uv.h>: libuv stays inside src/net. The
 * daemon (src/bin/srvd.c) owns the command line, the config file, privileges
 * and the pidfile; net owns sockets, worker threads, signals and the
 * publication of zone sets. The split in time is:
 *
 *   net_new()    opens and binds every socket (still root, no threads yet)
 *   net_start()  watches signals, then spawns the workers with a first
 *                zone set (a signal that comes early waits for net_run)
 *   net_run()    runs the main loop: SIGHUP reloads, SIGTERM/SIGINT stop
 *   net_free()   joins everything and frees it
 *
 * Zone loading (net_zones_load) lives here too because reload needs it and
 * the daemon needs the same thing at start-up.
 */
#ifndef SRVD_NET_NET_H
#define SRVD_NET_NET_H

#include <stddef.h>

#include "conf/conf.h"
#include "srvd/srvd.h"

typedef struct net net_t;

/* Runs on a thread-pool thread when SIGHUP arrives: build the next zone set
 * from old (reusing the versions of zones that fail to load). Returns 0 and
 * *out, or a negative code to keep serving old unchanged. */
typedef int (*net_reload_fn)(void *ctx, const srvd_zoneset_t *old, srvd_zoneset_t **out);

/* Create the worker loops and bind every listen address of c for UDP and
 * TCP. Every failure is logged; the result is SRVD_EIO when an address
 * cannot be bound. c is not kept. */
int net_new(const conf_t *c, net_t **out);

/* Log "listening on ..." for every bound address, one line each. */
void net_log_addrs(const net_t *n);

/* Watch SIGHUP, SIGTERM and SIGINT, then start the workers serving zs.
 * net takes over the caller's reference (also when this fails). */
int net_start(net_t *n, srvd_zoneset_t *zs, net_reload_fn reload, void *ctx);

/* Run the main loop until SIGTERM or SIGINT, then drain TCP (at most 2 s)
 * and stop the workers. Returns 0 after a clean stop. */
int net_run(net_t *n);

/* Stop (if running), join the workers and free everything. NULL is fine. */
void net_free(net_t *n);

/* The source of zone z: its allow-transfer list, or the server's when the
 * zone sets none. Borrowed pointers into c. */
void net_zone_src(const conf_t *c, const conf_zone_t *z, srvd_zone_src_t *out);

/* Load every zone of c. A zone that fails keeps its version from old (when
 * old serves it) or is left out. Every finding is logged with file:line, and
 * one summary line per zone. *failed counts the zones that failed. */
int net_zones_load(const conf_t *c, const srvd_zoneset_t *old, srvd_zoneset_t **out,
                   unsigned *failed);

#endif
