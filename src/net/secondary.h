/* Secondary zones inside src/net, shared by the files that implement them:
 *
 *   secondary.c  the refresh state machine per zone on the main loop: SOA
 *                timers (refresh, retry, expire; RFC 1035 4.3.5, RFC 1982
 *                serials), transfers through xfrc.c, publication through
 *                the reload queue, saving, expiry and recovery
 *   secstore.c   no libuv: the saved copy's state file (when the zone was
 *                last refreshed), read by reload jobs at start-up
 *   notify_in.c  NOTIFYs accepted by srvd_dispatch, carried to the main
 *                loop (the judging is in src/dispatch)
 *   xfrc.c       the transfer client (xfrc.h)
 *   pjournal.c   journals of primary zones: the diff of every reload
 *
 * The main loop owns the zones' state; workers see only the zone rules
 * (NOTIFY ACLs, journals) published in the srvd_server_t after every
 * reload. secondary.c is a service (net.h): net calls it through the table
 * bin/srvd.c fills, never by name.
 */
#ifndef SRVD_NET_SECONDARY_H
#define SRVD_NET_SECONDARY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ctl/ctl.h"
#include "net/daemon.h"
#include "xfr/journal.h"
#include "xfr/tsig.h"

/* ---- secstore.c (any thread) ------------------------------------------------ */

typedef struct net_sec_state {
	time_t refreshed; /* the last successful check against a primary */
	uint32_t serial;
	uint32_t expire; /* seconds, as clamped when it was written */
} net_sec_state_t;

/* dir/.BASE.srvd-state for the saved copy at file: hidden, so zones-dir
 * scans skip it. malloc'ed, NULL when out of memory. */
char *net_sec_state_path(const char *file);
/* The journal beside the copy: FILE.jnl (zones-dir scans skip *.jnl). */
char *net_sec_journal_path(const char *file);
/* SRVD_ENOENT when there is none or it does not parse. */
int net_sec_state_read(const char *file, net_sec_state_t *out);
/* Temp file and rename. */
int net_sec_state_write(const char *file, const net_sec_state_t *st);
/* The saved copy may be served at start-up: it exists and its state says
 * it has not expired at now (no state file: the copy's mtime and the
 * expire bound that xfr-in would use are not known yet, so it is served
 * and secondary.c expires it when its SOA says so). */
bool net_sec_saved_fresh(const char *file, time_t now);

/* ---- pjournal.c (main loop) ------------------------------------------------------------- */

struct net_pjournal;
/* After each reload: diff the primary zones whose version changed into their
 * journals; *pj is made on first use. */
void net_pjournal_sync(net_t *n, struct net_pjournal **pj);
size_t net_pjournal_count(const struct net_pjournal *pj);
/* Zone rules (IXFR out only) and their journals for the zones with a
 * journal, at most cap. */
size_t net_pjournal_rules(const struct net_pjournal *pj, srvd_zone_rule_t *v, xfr_journal_t **j,
                          size_t cap);
void net_pjournal_stop(struct net_pjournal *pj);
void net_pjournal_free(struct net_pjournal *pj);

#endif
