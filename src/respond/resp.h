/* Responder internals: the parsed query and the per-thread responder.
 *
 * resp_parse() reads the whole request through the bounds-checked reader
 * once; everything after it works on resp_query_t and never looks at the
 * request bytes again, except to echo the question verbatim.
 */
#ifndef SRVD_RESPOND_RESP_H
#define SRVD_RESPOND_RESP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ratelim.h"
#include "respond/msg.h"
#include "srvd/srvd.h"
#include "zone/zone.h"

enum {
	RESP_CHAIN_MAX = 16,
	RESP_ADDL_MAX = 64,
	RESP_PROOF_MAX = 16,
	RESP_DSP_SCRATCH = 2048,
	RESP_RRL_SLOT = 16,       /* bytes of one RRL table entry (dispatch/rrl.c) */
	RESP_RRL_SLOTS = 1 << 14, /* entries when the options name none */
};

typedef enum {
	PARSE_OK = 0,
	PARSE_DROP,      /* QR set or shorter than a header */
	PARSE_FORMERR,   /* question unusable: answer without it */
	PARSE_FORMERR_Q, /* question fine, the rest is not */
	PARSE_MULTI_Q,   /* QDCOUNT > 1 (RFC 9619) */
} resp_parse_t;

typedef struct resp_query {
	uint16_t id;
	uint16_t flags;
	unsigned opcode;
	uint16_t qdcount;
	const uint8_t *qwire; /* question entry in the request */
	size_t qwire_len;
	size_t qname_len;
	const uint8_t *qname; /* in the request, as sent (case kept) */
	uint16_t qtype;
	uint16_t qclass;
	/* EDNS */
	bool edns;
	bool edns_bad; /* more than one OPT, OPT outside additional, owner not root */
	uint8_t edns_version;
	bool edns_do;
	uint16_t edns_payload;
	bool want_nsid;
	/* IXFR: the client's serial from the authority SOA */
	bool has_soa;
	uint32_t soa_serial;
	bool tsig;
	bool cookie; /* a COOKIE option (RFC 7873): cookie_at, cookie_len */
	/* Not a plain query: a TSIG record or a COOKIE option was seen, so
	 * srvd_dispatch leaves the fast path. */
	bool defer;
	uint8_t lname[255]; /* lower case; resp_parse() clears what is above */
	/* Below lname, not cleared (the clearing is on every query's path):
	 * read only when the flag above says so. */
	const uint8_t *cookie_at; /* the first COOKIE option's bytes, in the request */
	uint16_t cookie_len;
} resp_query_t;

struct srvd_responder {
	uint16_t udp_payload;
	char *nsid;
	size_t nsid_len;
	char *identity;
	char *version;
	srvd_stats_t stats; /* but stats.unzoned: that is `own`, summed on demand */
	/* Our row of each zone's counters (zone/stats.c), as a byte offset:
	 * row * sizeof(zone_ctr_t), checked against zone_t.ctr_size. */
	size_t row_off;
	/* The row for queries that no zone answered, and for zones without
	 * counters: with the zones' rows, each query counts once. */
	zone_ctr_t own;
	/* Refusals logged per peer, bounded (common/ratelim.h): each
	 * responder has its own, so no lock. */
	ratelim_t refusals;
	/* Per-query scratch, reused: nothing is allocated while answering.
	 * key/lname describe the current name of the chain; srvd_respond
	 * fills them for the query name before resp_answer(). */
	zone_key_t key;
	uint8_t lname[255];
	/* The names of the chain: the query name in the request, then CNAME
	 * targets in zone data or DNAME targets in synth[]. None is copied:
	 * each stays put until the reply is done. */
	const uint8_t *chain[RESP_CHAIN_MAX];
	/* DNAME-synthesized CNAME targets, one per chain step: the message's
	 * compression table refers to them until the reply is finished. */
	uint8_t synth[RESP_CHAIN_MAX][255];
	uint32_t addl[RESP_ADDL_MAX];
	const zone_t *addl_zone[RESP_ADDL_MAX];
	unsigned n_addl;
	uint32_t dname[RESP_CHAIN_MAX]; /* DNAME owners already in the answer */
	const zone_t *dname_zone[RESP_CHAIN_MAX];
	unsigned n_dname;
	/* DNSSEC (proof.c). Wildcard answers of the chain whose proofs wait
	 * until the answer section is complete: zone, closest encloser and
	 * the chain step. */
	const zone_t *pend_zone[RESP_CHAIN_MAX];
	uint32_t pend_ce[RESP_CHAIN_MAX];
	uint8_t pend_step[RESP_CHAIN_MAX];
	unsigned n_pend;
	/* NSEC/NSEC3 nodes already in the authority section (RFC 2181 5). */
	const zone_t *proof_zone[RESP_PROOF_MAX];
	uint32_t proof_node[RESP_PROOF_MAX];
	unsigned n_proof;
	/* The dispatch's per-message state (dispatch/dispatch.h: the TSIG
	 * session). Opaque bytes here, so that respond/ does not depend on
	 * xfr/; dispatch.c checks that its struct fits. */
	_Alignas(16) unsigned char dsp[RESP_DSP_SCRATCH];
	/* The dispatch's response rate limiting table: rrl_mask + 1 entries of
	 * RESP_RRL_SLOT bytes, indexed by a SipHash under rrl_key (random per
	 * responder, so a client cannot aim at another's entry). Per thread,
	 * like everything here, so it needs no lock. */
	void *rrl;
	uint32_t rrl_mask;
	uint8_t rrl_key[16];
};

resp_parse_t resp_parse(const uint8_t *wire, size_t len, resp_query_t *q);

enum { RESP_DEFER = 3 }; /* resp_respond_plain: not a plain query */

/* The fast path of srvd_dispatch: parse sq into *q (and *pr) once and, when
 * it is a plain message (no TSIG record, no COOKIE option, opcode not
 * NOTIFY or UPDATE) and the caller does not defer everything, answer it as
 * srvd_respond does. RESP_DEFER when it is not: the caller goes on with q
 * and pr. */
int resp_respond_plain(srvd_responder_t *r, const srvd_zoneset_t *zs, const srvd_query_t *sq,
                       bool defer, uint8_t *resp, size_t cap, size_t *len, resp_query_t *q,
                       resp_parse_t *pr);

/* srvd_respond after resp_parse (q and pr are its results; pr is not
 * PARSE_DROP). reserve: bytes to leave free at the end of the answer,
 * within the client's size limit (room for a TSIG record). */
int resp_respond_parsed(srvd_responder_t *r, const srvd_zoneset_t *zs, const resp_query_t *q,
                        resp_parse_t pr, const srvd_query_t *sq, uint8_t *resp, size_t cap,
                        size_t reserve, size_t *len);

/* An answer with only the question (and OPT when the request had a usable
 * one), the given rcode and AA: NOTIFY answers and TSIG FORMERR. Counted
 * like any answer. */
int resp_reply_rcode(srvd_responder_t *r, const resp_query_t *q, const srvd_query_t *sq,
                     unsigned rcode, bool aa, uint8_t *resp, size_t cap, size_t reserve,
                     size_t *len);

/* The answer RRL sends instead of a limited one (the slip): header with
 * TC, the question, the OPT when the request had a usable one, no
 * records, the rcode of the answer it replaces; reserve as for
 * resp_respond_parsed. Not counted: the query was counted when it was
 * answered. */
int resp_reply_slip(srvd_responder_t *r, const resp_query_t *q, const srvd_query_t *sq,
                    unsigned rcode, uint8_t *resp, size_t cap, size_t reserve, size_t *len);

/* The authoritative answer for a QUERY of class IN or ANY in zone z.
 * r->key must hold the key of the query name. Fills m and returns the
 * rcode; sets *aa and *tc. */
int resp_answer(srvd_responder_t *r, const srvd_zoneset_t *zs, const zone_t *z,
                const resp_query_t *q, msg_t *m, bool *aa, bool *tc);

/* ---- DNSSEC (proof.c) ---------------------------------------------------- */

typedef enum {
	PROOF_NODATA,      /* node: the name, which exists */
	PROOF_NXDOMAIN,    /* node: the closest encloser */
	PROOF_WILDCARD,    /* node: the closest encloser of a wildcard answer */
	PROOF_WILD_NODATA, /* node: closest encloser, wild: the wildcard */
	PROOF_NO_DS,       /* node: a delegation without DS */
} resp_proof_t;

/* The RRset s of node n with the signatures covering it (RFC 4035 3.1.1),
 * all or nothing. A ttl below the RRset's (negative answers) caps the
 * signatures' too. */
bool resp_put_signed(msg_t *m, msg_sec_t sec, const uint8_t *owner, const zone_t *z,
                     const zone_node_t *n, const zone_rrset_t *s, uint32_t ttl);
/* The signed NSEC or NSEC3 records proving `kind` for the name whose key
 * is k, into the authority section; false when they do not fit. */
bool resp_proof(srvd_responder_t *r, msg_t *m, const zone_t *z, const zone_key_t *k,
                resp_proof_t kind, uint32_t node, uint32_t wild);
/* The proofs of the wildcard answers noted in r->pend. */
bool resp_proof_pending(srvd_responder_t *r, msg_t *m);

/* "192.0.2.1" for a struct sockaddr (or "?"), for log lines. */
const char *resp_peer(const void *sockaddr, char *buf, size_t cap);

/* Log that a request of kind (AXFR, NOTIFY, ...) for zone (wire) from
 * sq's peer was refused, and why; at most a few lines per peer and
 * minute, then one line that says how many were left out. */
void resp_log_refused(srvd_responder_t *r, const srvd_query_t *sq, const uint8_t *zone,
                      const char *kind, const char *why);

/* Is the client allowed to transfer z: by its address, or by the TSIG key
 * (wire name, or NULL) its request was verified with? */
bool resp_acl_allows(const zone_t *z, const void *sockaddr, const uint8_t *tsig_key);

#endif
