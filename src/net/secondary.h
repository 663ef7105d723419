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
#include "net/net_int.h"
#include "xfr/journal.h"
#include "xfr/tsig.h"

/* ---- pjournal.c (main loop) ------------------------------------------------------------- */

struct net_primary_journal;
/* After each reload: diff the primary zones whose version changed into their
 * journals; *pj is made on first use. */
void net_primary_journal_sync(net_t *n, struct net_primary_journal **pj);
size_t net_primary_journal_count(const struct net_primary_journal *pj);
/* Zone rules (IXFR out only) and their journals for the zones with a
 * journal, at most cap. */
size_t net_primary_journal_rules(const struct net_primary_journal *pj, srvd_zone_rule_t *v,
                                 xfr_journal_t **j, size_t cap);
/* update.c: the journal of a primary zone (NULL: none), and "this version
 * is journaled already" so that the next sync does not diff it again. */
xfr_journal_t *net_primary_journal_get(const struct net_primary_journal *pj, const char *key);
void net_primary_journal_seen(struct net_primary_journal *pj, const char *key, zone_t *v);
/* update.c: append an UPDATE's diff (leading to new_) to the zone's journal
 * after the writes already asked for; done(ctx, rc) runs on the main loop
 * once it is durable (fsync), or failed. file_ver (may be NULL): the zone
 * file's version, to compact the journal against when it grows past half
 * its bound. SRVD_ENOENT: the zone has no journal (done is not called). */
typedef void (*pj_append_done_fn)(void *ctx, int rc);
/* Did compaction find the journal too full of updates to squash (the zone
 * should be written to its file)? Clears the flag. */
bool net_primary_journal_take_write(struct net_primary_journal *pj, const char *key);
int net_primary_journal_append(struct net_primary_journal *pj, const char *key, xfr_diff_t *d,
                               zone_t *new_, zone_t *file_ver, pj_append_done_fn done, void *ctx);
/* The primary journals of the secondary service that n runs, or NULL. */
struct net_primary_journal *net_secondary_journals(net_t *n);
void net_primary_journal_stop(struct net_primary_journal *pj);
void net_primary_journal_free(struct net_primary_journal *pj);

#endif
