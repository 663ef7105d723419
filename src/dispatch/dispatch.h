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
 *
 * Everything a message reads is immutable and reached through the server
 * the caller holds, so nothing here takes a lock; the per-message TSIG
 * session lives in the responder's scratch, so nothing is allocated.
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

struct srvd_server {
	atomic_uint refs;
	srvd_zoneset_t *zs;
	srvd_keyring_t *keys; /* NULL: none */
	dsp_rule_t *rules;
	size_t n_rules;
};

/* srvd_server_new, with a journal per rule (journals may be NULL, else it
 * has n_rules entries, each NULL or borrowed). */
int dsp_server_new(srvd_zoneset_t *zs, srvd_keyring_t *keys, const srvd_zone_rule_t *rules,
                   xfr_journal_t *const *journals, size_t n_rules, srvd_server_t **out);
/* A copy of old with its zone set or its keyring replaced (NULL: keep
 * old's); the rules are copied. Takes its own references. */
int dsp_server_derive(const srvd_server_t *old, srvd_zoneset_t *zs, srvd_keyring_t *keys,
                      srvd_server_t **out);
/* The rule for a zone (lower-case wire origin), or NULL. */
const dsp_rule_t *dsp_server_rule(const srvd_server_t *s, const uint8_t *lorigin, size_t len);

/* The per-message TSIG session, kept in the responder's scratch
 * (resp.h: RESP_DSP_SCRATCH bytes) so that respond/ need not know xfr/. */
typedef struct dsp_scratch {
	bool signed_ok;            /* the current request verified with key */
	const xfr_tsig_key_t *key; /* borrowed from the server's keyring */
	xfr_tsig_t t;
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

/* "192.0.2.1" for a struct sockaddr (or "?"), for log lines. */
const char *dsp_peer(const void *sockaddr, char *buf, size_t cap);

#endif
