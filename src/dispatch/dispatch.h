/* The front door's internals, inside libsrvd. DESIGN.md puts one dispatch
 * between the sockets and everything that answers: it parses the header
 * once, checks TSIG against a keyring the caller published, and hands the
 * message to the responder (QUERY), to the NOTIFY judge, or answers NOTIMP.
 * The network layer only moves bytes and acts on srvd_result_t.
 *
 *   keyring.c   srvd_keyring_t: the TSIG keys, found by name without a lock
 *   server.c    srvd_server_t: a zone set, a keyring and the zone rules
 *               (plus, for the daemon, the IXFR journal of each zone)
 *   dispatch.c  srvd_dispatch: TSIG in and out, then the opcode
 *   notify.c    NOTIFY in (RFC 1996) for secondary zones
 *   xfr.c       srvd_xfr_begin: the transfer cursor, from a journal when
 *               one reaches, with TSIG on every message
 *   update.c    UPDATE in: the zone, the grant (src/update), and
 *               srvd_update_begin, which hands the request to the daemon
 *   guard.c     srvd_server_with_guard: the RRL and cookie settings a
 *               server carries
 *   cookie.c    DNS cookies (RFC 7873, RFC 9018 server cookies)
 *   rrl.c       response rate limiting: the per-responder table and the
 *               decision for one answer
 *
 * Everything a message reads is immutable and reached through the server
 * the caller holds, so nothing here takes a lock; the per-message TSIG
 * session and cookie live in the responder's scratch, and the RRL table
 * is the responder's own (allocated with it: one per worker thread), so
 * nothing is allocated and nothing is shared between threads.
 */
#ifndef SRVD_DISPATCH_DISPATCH_H
#define SRVD_DISPATCH_DISPATCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "respond/resp.h"
#include "srvd/srvd.h"
#include "update/update.h"
#include "xfr/journal.h"
#include "xfr/tsig.h"

struct srvd_keyring {
	atomic_uint refs;
	size_t n;
	xfr_tsig_key_t keys[]; /* sorted by name (lower-case wire) */
};

/* The key named `name` (wire form, any case), or NULL. */
const xfr_tsig_key_t *dsp_keyring_find(const srvd_keyring_t *k, const uint8_t *name);

/* A zone rule as the server keeps it: a deep copy, the origin in lower-case
 * wire form for lookups, and the journal IXFR out reads (borrowed: the
 * caller keeps it alive as long as any server that names it). */
typedef struct dsp_rule {
	char *origin;
	uint8_t lorigin[255];
	size_t lorigin_len;
	bool secondary;
	srvd_prefix_t *notify_from;
	size_t n_notify_from;
	xfr_journal_t *journal;
	srvd_update_grant_t *grants; /* as given, for dsp_server_derive */
	size_t n_grants;
	upd_policy_t update; /* compiled */
} dsp_rule_t;

/* srvd_guard_conf_t as a server keeps it: its own copy of the exempt
 * list, defaults filled in, the bound of a bucket's debt precomputed. */
typedef struct dsp_guard {
	srvd_rrl_conf_t rrl; /* rrl.exempt points to exempt */
	srvd_prefix_t *exempt;
	int32_t debt; /* rate * window: how far below zero a bucket may go */
	srvd_cookies_t cookies;
	uint8_t secret[16], previous[16];
	bool has_previous;
} dsp_guard_t;

struct srvd_server {
	atomic_uint refs;
	srvd_zoneset_t *zs;
	srvd_keyring_t *keys; /* NULL: none */
	dsp_rule_t *rules;
	size_t n_rules;
	dsp_guard_t *guard; /* NULL: no RRL, no cookies */
	bool rrl;           /* guard && guard->rrl.rate: the fast path tests only this */
};

/* srvd_server_new, with a journal per rule (journals may be NULL, else it
 * has n_rules entries, each NULL or borrowed). */
int dsp_server_new(srvd_zoneset_t *zs, srvd_keyring_t *keys, const srvd_zone_rule_t *rules,
                   xfr_journal_t *const *journals, size_t n_rules, srvd_server_t **out);
/* A copy of old with its zone set or its keyring replaced (NULL: keep
 * old's); the rules are copied. Takes its own references. */
int dsp_server_derive(const srvd_server_t *old, srvd_zoneset_t *zs, srvd_keyring_t *keys,
                      srvd_server_t **out);
/* guard.c: give s (new, not yet shared) a copy of g (NULL: none). */
int dsp_server_set_guard(srvd_server_t *s, const dsp_guard_t *g);
void dsp_guard_free(dsp_guard_t *g);

/* The rule for a zone (lower-case wire origin), or NULL. */
const dsp_rule_t *dsp_server_rule(const srvd_server_t *s, const uint8_t *lorigin, size_t len);

/* The per-message TSIG session, kept in the responder's scratch
 * (resp.h: RESP_DSP_SCRATCH bytes) so that respond/ need not know xfr/. */
enum {
	DSP_COOKIE_OPT = 4 + 8 + 16, /* our COOKIE option: header, client, server cookie */
	DSP_COOKIE_FRESH = 1800,     /* RFC 9018 4.3: a server cookie older is remade */
	DSP_COOKIE_LIFE = 3600,      /* older than this: invalid */
	DSP_COOKIE_SKEW = 300,       /* this far in the future: still valid */
};

typedef struct dsp_scratch {
	bool signed_ok;            /* the current request verified with key */
	const xfr_tsig_key_t *key; /* borrowed from the server's keyring */
	xfr_tsig_t t;
	uint8_t cookie[DSP_COOKIE_OPT]; /* the COOKIE option of the answer */
} dsp_scratch_t;

dsp_scratch_t *dsp_scratch(srvd_responder_t *r);

/* notify.c: answer a well-formed NOTIFY (q parsed, one question, usable
 * EDNS). Returns false when it is not for a secondary zone of s (the
 * responder then answers NOTAUTH). */
bool dsp_notify(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
                const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res);

/* update.c: an UPDATE (q parsed, one zone entry) after TSIG: answered at
 * once in resp (0: NOTAUTH, FORMERR, NOTZONE, REFUSED), or SRVD_UPDATE
 * for the daemon to apply (res->zone names the rule). reserve: room for
 * the TSIG record of a signed answer. */
int dsp_update(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
               const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res);

/* cookie.c: what the request's COOKIE option says. */
typedef enum {
	DSP_COOKIE_MALFORMED, /* a length RFC 7873 5.2.2 makes FORMERR */
	DSP_COOKIE_CLIENT,    /* a client cookie alone */
	DSP_COOKIE_INVALID,   /* a server cookie that does not validate */
	DSP_COOKIE_VALID,
} dsp_cookie_t;

/* Judge the COOKIE option cookie[len] of a request from sockaddr at now,
 * and (but for MALFORMED) write the option our answer carries into
 * out[DSP_COOKIE_OPT]: the client cookie and a server cookie, the
 * request's own when it is valid, made with the current secret and not
 * older than DSP_COOKIE_FRESH, else a new one. */
dsp_cookie_t dsp_cookie(const dsp_guard_t *g, const uint8_t *cookie, size_t len,
                        const void *sockaddr, uint32_t now, uint8_t out[DSP_COOKIE_OPT]);

/* The RFC 9018 server cookie for a client cookie, client address (4 or
 * 16 bytes, or none) and time, with the reserved bytes given (zero in
 * the ones we make; a received cookie is checked with its own). */
void dsp_cookie_make(const uint8_t secret[16], const uint8_t client[8], const uint8_t reserved[3],
                     uint32_t when, const uint8_t *ip, size_t ip_len, uint8_t out[16]);

/* rrl.c: one table entry (RESP_RRL_SLOT bytes in the responder). */
typedef struct dsp_rrl_slot {
	uint32_t tag;    /* more bits of the hash: a different key resets the entry */
	uint32_t stamp;  /* when the balance was last brought up to date */
	int32_t balance; /* answers left this second; below zero: owed */
	uint16_t slips;  /* limited answers so far: every slip-th goes out */
	uint16_t flags;  /* DSP_RRL_LIMITING: logged as limited, not yet recovered */
} dsp_rrl_slot_t;

enum { DSP_RRL_LIMITING = 1 };
typedef enum { DSP_RRL_PASS, DSP_RRL_DROP, DSP_RRL_SLIP } dsp_rrl_verdict_t;

/* The token bucket of one entry for one more answer at now (seconds):
 * refill `rate` a second up to `rate`, take one, owe at most g->debt.
 * *entered is set when the entry starts being limited (log it once). */
dsp_rrl_verdict_t dsp_rrl_account(dsp_rrl_slot_t *slot, uint32_t tag, const dsp_guard_t *g,
                                  uint32_t now, bool *entered);

/* The last step of srvd_dispatch for an answer (rc 0, in resp) to a
 * request that nothing vouches for: UDP only, exempt prefixes pass.
 * Returns 0 (resp holds the answer or the slip that replaces it) or
 * SRVD_DROP. cookie: the COOKIE option a slip must carry too, or NULL. */
int dsp_rrl(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
            const srvd_query_t *sq, uint8_t *resp, size_t cap, const uint8_t *cookie,
            srvd_result_t *res);

/* dispatch.c: add the COOKIE option opt to the OPT of the answer in
 * resp[*len] (the room for it was held back). */
void dsp_cookie_out(const uint8_t opt[DSP_COOKIE_OPT], uint8_t *resp, size_t cap, size_t *len);

/* The request's time: sq->now, or a coarse clock. */
uint32_t dsp_now(const srvd_query_t *sq);

#endif
