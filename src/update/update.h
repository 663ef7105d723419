/* Dynamic update (RFC 2136) and its policy (RFC 3007), the uv-free side:
 * from the bytes of an UPDATE message and the zone version it names to a
 * diff (xfr/journal.h) or an rcode. Nothing here does I/O or keeps state
 * between messages; the daemon (src/net/update.c) queues requests, applies
 * the diff (xfr_diff_apply), journals, publishes and answers.
 *
 *   policy.c  grants: which key (or address) may change which names and
 *             types of a zone; the `acme:` shortcut
 *   scan.c    upd_scan: the checks a worker makes before queueing (the
 *             zone section, the format of every RR, NOTZONE, the grant),
 *             without allocating, so a refused request costs nothing
 *   req.c     upd_req_new: the request copied and parsed for the daemon;
 *             upd_reply: the answer's bytes; srvd_update_t
 *   eval.c    upd_eval: prerequisites (RFC 2136 3.2) against a version,
 *             then the update section (3.4) -> a diff, or an rcode;
 *             the SOA serial policy
 *
 * The flow of one request:
 *   worker: srvd_dispatch -> [TSIG verified] -> upd_scan -> SRVD_UPDATE,
 *           srvd_update_begin copies it (with its TSIG session)
 *   daemon: upd_req_new -> upd_eval(current version) -> xfr_diff_apply
 *           -> journal (fsync) -> publish -> NOTIFY -> upd_answer
 */
#ifndef SRVD_UPDATE_UPDATE_H
#define SRVD_UPDATE_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "srvd/srvd.h"
#include "xfr/journal.h"
#include "xfr/tsig.h"

/* RFC 2136 rcodes beyond wire/dns.h's. */
enum {
	UPD_RC_YXRRSET = 7,
	UPD_RC_NXRRSET = 8,
	UPD_RC_NOTZONE = 10,
};

/* ---- policy.c ------------------------------------------------------------- */

typedef enum {
	UPD_NAME_EXACT, /* this name */
	UPD_NAME_BELOW, /* any name strictly below this one ("*.dyn") */
	UPD_NAME_ACME,  /* _acme-challenge, at the apex or below any name */
} upd_name_kind_t;

typedef struct upd_name {
	upd_name_kind_t kind;
	uint8_t lname[255]; /* absolute, lower-case wire (not for ACME) */
	size_t len;
} upd_name_t;

typedef struct upd_grant {
	srvd_prefix_t who; /* a key entry (common/acl.h) or an address prefix */
	upd_name_t *names; /* none: any name of the zone */
	size_t n_names;
	uint16_t *types; /* none: any type */
	size_t n_types;
} upd_grant_t;

typedef struct upd_policy {
	upd_grant_t *v;
	size_t n;
} upd_policy_t;

/* Compile the public grants for the zone with this (lower-case wire)
 * origin. SRVD_EINVAL for a name pattern that is not a name. */
int upd_policy_init(const srvd_update_grant_t *g, size_t n, const uint8_t *lorigin,
                    upd_policy_t *out);
void upd_policy_deinit(upd_policy_t *p);
/* Does any grant for this requester (key: lower-case wire name or NULL;
 * sockaddr of the client) allow owner (any case) and type? type ANY (a
 * whole-name delete) needs a grant of every type. */
bool upd_policy_allows(const upd_policy_t *p, const uint8_t *key, const void *sockaddr,
                       const uint8_t *owner, uint16_t type);
/* Is there any grant for this requester at all? */
bool upd_policy_knows(const upd_policy_t *p, const uint8_t *key, const void *sockaddr);

/* ---- scan.c --------------------------------------------------------------- */

typedef struct upd_verdict {
	uint8_t rcode;     /* NOERROR: queue it; else answer with this */
	uint8_t name[255]; /* REFUSED by policy: the first RR outside the grant */
	uint16_t type;
	char why[120]; /* for the log when not NOERROR */
} upd_verdict_t;

/* msg is an UPDATE whose zone section names the zone with this lower-case
 * origin (the caller checked ZOCOUNT, ZTYPE and ZCLASS). Checks the
 * prerequisite and update sections (RFC 2136 3.2.1-3.2.3 form, 3.4.1
 * prescan, NOTZONE), then the grant of every update RR. Allocates nothing.
 * Returns 0 with *out filled (rcode says the outcome). */
int upd_scan(const uint8_t *msg, size_t len, const uint8_t *lorigin, size_t olen,
             const upd_policy_t *pol, const uint8_t *key, const void *sockaddr, upd_verdict_t *out);

/* ---- req.c ---------------------------------------------------------------- */

typedef struct upd_req {
	uint16_t id;
	uint8_t zone[255]; /* as sent */
	size_t zone_len;
	xfr_rr_t *pre; /* prerequisites, in message order */
	size_t n_pre;
	xfr_rr_t *upd; /* updates, in message order */
	size_t n_upd;
	size_t bytes; /* of the message */
} upd_req_t;

/* Parse a message upd_scan accepted. Copies what it keeps. SRVD_EMALFORM
 * when it does not parse after all. */
int upd_req_new(const uint8_t *msg, size_t len, upd_req_t **out);
void upd_req_free(upd_req_t *r);

/* The answer to an UPDATE: its ID, QR, opcode UPDATE, rcode, and the zone
 * section echoed when the request had a readable one. */
int upd_reply(const uint8_t *req, size_t len, unsigned rcode, uint8_t *buf, size_t cap,
              size_t *out_len);

/* What srvd_update_begin keeps of a request for the daemon. */
struct srvd_update {
	uint8_t *wire;
	size_t len;
	char *zone;   /* the rule's origin: the daemon's table key */
	bool forward; /* a secondary zone: relay to the primary (RFC 2136 6) */
	bool signed_ok;
	xfr_tsig_key_t key; /* a copy: the keyring may go */
	xfr_tsig_t tsig;    /* the request's verified session */
	srvd_transport_t transport;
	struct sockaddr_storage peer;
	bool has_peer;
};

/* The signed (when the request was) answer with this rcode. */
int upd_answer(srvd_update_t *u, unsigned rcode, uint8_t *buf, size_t cap, size_t *out_len);

/* ---- eval.c --------------------------------------------------------------- */

typedef enum {
	UPD_SERIAL_INCREMENT = 0, /* +1 (RFC 1982) */
	UPD_SERIAL_UNIXTIME,      /* now, or +1 when that is not newer */
	UPD_SERIAL_DATESERIAL,    /* YYYYMMDDnn, or +1 when that is not newer */
} upd_serial_t;

/* The serial after cur under the policy, always newer than cur. */
uint32_t upd_next_serial(uint32_t cur, upd_serial_t pol, time_t now);

typedef struct upd_outcome {
	unsigned rcode;
	xfr_diff_t *diff; /* NOERROR with changes; NULL when nothing changed */
	char why[200];    /* for the log when not NOERROR */
} upd_outcome_t;

/* Check the prerequisites against z, then apply the updates in order to
 * a working copy (RFC 2136 3.4.2: the SOA only by a newer serial, the
 * apex's last NS kept, CNAME and other data never together, duplicates
 * dropped). All or nothing: any failure yields an rcode and no diff. The
 * SOA serial moves by pol when anything changed (unless the update set a
 * newer one itself). max_rrs bounds the records of the touched names (0:
 * no bound). SRVD_ENOMEM only. */
int upd_eval(const zone_t *z, const upd_req_t *r, upd_serial_t pol, time_t now, size_t max_rrs,
             upd_outcome_t *out);

#endif
