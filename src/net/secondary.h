/* Secondary zones inside src/net, shared by the files that implement them:
 *
 *   secondary.c  the refresh state machine per zone on the main loop: SOA
 *                timers (refresh, retry, expire; RFC 1035 4.3.5, RFC 1982
 *                serials), transfers through xfrc.c, publication through
 *                the reload queue, saving, expiry and recovery
 *   secstore.c   no libuv: the saved copy's state file (when the zone was
 *                last refreshed), read by reload jobs at start-up
 *   notify_in.c  the workers' side: NOTIFY in (RFC 1996) for secondary
 *                zones, with ACL and TSIG, and IXFR out from the journals;
 *                the registry of secondary zones they read under a mutex
 *   xfrc.c       the transfer client (xfrc.h)
 *   pjournal.c   journals of primary zones: the diff of every reload
 *
 * The main loop owns the zones' state; workers see only the registry,
 * which the main loop rebuilds after every reload.
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

/* ---- notify_in.c (workers, under the registry's mutex) ----------------------------- */

typedef struct net_sec_entry {
	uint8_t origin[255]; /* lower case wire */
	size_t origin_len;
	char *key; /* the zone table's key */
	srvd_prefix_t *acl;
	size_t n_acl;
	char **keys; /* TSIG key names allowed to NOTIFY */
	size_t n_keys;
	xfr_journal_t *jnl; /* borrowed, lives until net_free; NULL: none */
	bool secondary;     /* NOTIFY is for us; else the entry is for IXFR out only */
} net_sec_entry_t;

/* Replace the registry (the entries and every TSIG key of the config). The
 * registry takes v, n, keys. */
void net_sec_registry_set(net_t *n, net_sec_entry_t *v, size_t nv, xfr_tsig_key_t *keys, size_t nk);
/* The zone keys that got a NOTIFY since the last call (malloc'ed array of
 * malloc'ed strings). */
size_t net_sec_registry_take(net_t *n, char ***out);
int net_sec_registry_init(net_t *n, void (*wake)(net_t *n));
/* Close the handle the workers wake the main loop with. */
void net_sec_registry_stop(net_t *n);
void net_sec_registry_free(net_t *n);

/* The worker's answer to a query: NOTIFY for a secondary zone is decided
 * here, IXFR is answered from the journal when it reaches; everything else
 * is srvd_respond / srvd_xfr_new. */
int net_sec_respond(net_t *n, srvd_responder_t *r, const srvd_zoneset_t *zs, const srvd_query_t *q,
                    uint8_t *out, size_t cap, size_t *len);
int net_sec_xfr_new(net_t *n, const srvd_zoneset_t *zs, const srvd_query_t *q, srvd_xfr_t **out,
                    bool *incremental);

/* net_sec_respond with TSIG (RFC 8945), transfers included: a query signed
 * with a configured key is verified (a bad one gets the RFC 8945 5.2 error
 * answer) and its answer signed. For SRVD_XFR the session goes to *tsig
 * (TCP; NULL for UDP), to sign every message of the stream; the caller
 * frees it. With no key configured this costs one atomic load. */
typedef struct net_tsig_srv net_tsig_srv_t;
int net_sec_respond_signed(net_t *n, srvd_responder_t *r, const srvd_zoneset_t *zs,
                           const srvd_query_t *q, uint8_t *out, size_t cap, size_t *len,
                           net_tsig_srv_t **tsig);
size_t net_tsig_srv_reserve(const net_tsig_srv_t *s);
/* Sign msg[*len] in place (cap bytes of room). */
int net_tsig_srv_sign(net_tsig_srv_t *s, uint8_t *msg, size_t *len, size_t cap);
void net_tsig_srv_free(net_tsig_srv_t *s);

/* ---- pjournal.c (main loop) ------------------------------------------------------------- */

struct net_pjournal;
/* After each reload: diff the primary zones whose version changed into their
 * journals; *pj is made on first use. */
void net_pjournal_sync(net_t *n, struct net_pjournal **pj);
size_t net_pjournal_count(const struct net_pjournal *pj);
/* Registry entries (IXFR out) for the zones with a journal, at most cap. */
size_t net_pjournal_entries(const struct net_pjournal *pj, net_sec_entry_t *v, size_t cap);
void net_pjournal_stop(struct net_pjournal *pj);
void net_pjournal_free(struct net_pjournal *pj);

/* ---- secondary.c (main loop) ------------------------------------------------------------ */

int net_secondary_init(net_t *n);
/* After each reload (and at start-up): follow the config's secondary zones. */
void net_secondary_sync(net_t *n);
/* srvdctl refresh / retransfer: 0, or SRVD_ENOENT when zone is not a
 * secondary zone. */
int net_secondary_refresh(net_t *n, const char *zone, bool axfr);
bool net_secondary_is(const net_t *n, const char *zone);
/* zone-status: the secondary fields of one zone, into the open map. */
void net_secondary_status(const net_t *n, const char *key, ctl_reply_t *r);
void net_secondary_stop(net_t *n);
void net_secondary_free(net_t *n);

#endif
