/* libsrvd public API: load zones, answer DNS queries from them.
 *
 * The library is a pure function from query bytes plus an immutable zone set
 * to response bytes. It does no I/O on the query path and allocates nothing
 * per query: each thread owns one srvd_responder_t with its buffers.
 *
 * Conventions: functions return 0 (SRVD_OK) or a negative SRVD_E* code;
 * out-params come last and are written only on success. Types are opaque.
 */
#ifndef SRVD_SRVD_H
#define SRVD_SRVD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SRVD_API __attribute__((visibility("default")))
#else
#define SRVD_API
#endif

#define SRVD_VERSION_STRING "0.1.0"

/* ---- errors ---------------------------------------------------------- */

enum {
	SRVD_OK = 0,
	SRVD_DROP = 1,   /* srvd_respond: send nothing back */
	SRVD_XFR = 2,    /* srvd_respond: an allowed transfer, stream it with srvd_xfr_* */
	SRVD_UPDATE = 3, /* srvd_dispatch: an UPDATE to apply, take it with srvd_update_begin */
	SRVD_ENOMEM = -1,
	SRVD_EINVAL = -2,
	SRVD_EIO = -3,
	SRVD_EPARSE = -4,   /* syntax error in a zone or config file */
	SRVD_EZONE = -5,    /* zone content fails a check that is an error */
	SRVD_ESPACE = -6,   /* output buffer too small */
	SRVD_EMALFORM = -7, /* malformed wire data */
	SRVD_ENOENT = -8,
	SRVD_EEXIST = -9,
	SRVD_ELIMIT = -10,  /* a configured bound was hit */
	SRVD_ENOTSUP = -11, /* not done this way: the caller takes another */
};

SRVD_API const char *srvd_strerror(int err);

/* ---- diagnostics ----------------------------------------------------- */

typedef enum { SRVD_DIAG_WARNING = 1, SRVD_DIAG_ERROR = 2 } srvd_diag_level_t;

/* Called once per finding while a zone loads. file may be NULL (no file),
 * line is 0 when the finding is about the zone as a whole. */
typedef void (*srvd_diag_fn)(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                             unsigned line, const char *msg);

/* Caller-owned; the loader counts findings into it. fn may be NULL. */
typedef struct srvd_diag {
	srvd_diag_fn fn;
	void *ctx;
	unsigned errors;
	unsigned warnings;
} srvd_diag_t;

/* ---- zones ------------------------------------------------------------ */

typedef struct srvd_zone srvd_zone_t;       /* one immutable zone version */
typedef struct srvd_zoneset srvd_zoneset_t; /* an immutable set of zones */

enum { SRVD_ACL_KEY_LEN = 255 }; /* the longest name in wire form */

/* A transfer ACL entry: an address prefix (family 4 or 6), or a TSIG key
 * (family 0, made by srvd_acl_key). Zero the whole struct before filling
 * in an address entry. */
typedef struct srvd_prefix {
	uint8_t family;
	uint8_t bits;
	uint8_t addr[16];
	/* Family 0: the key's name, wire form in lower case, zero-padded, so
	 * that names compare exactly. Unused (zero) for addresses. */
	uint8_t key[SRVD_ACL_KEY_LEN];
} srvd_prefix_t;

/* The ACL entry that lets a client transfer when its request is signed
 * with the TSIG key `name` (and verified by the caller: see
 * srvd_query_t.tsig_key), from any address. Names compare without case
 * and without the trailing dot. */
SRVD_API int srvd_acl_key(const char *name, srvd_prefix_t *out);

/* Where a zone comes from, and its serving options. */
typedef struct srvd_zone_src {
	const char *origin; /* "example.com" or "example.com." */
	const char *path;   /* master file; $INCLUDE is relative to the including file */
	const srvd_prefix_t *allow_transfer; /* AXFR/IXFR clients; NULL = nobody */
	size_t n_allow_transfer;
	/* A compiled copy of the zone, reused while every source file is
	 * unchanged and rewritten after a parse; NULL = none. */
	const char *snapshot;
} srvd_zone_src_t;

/* Parse and check one zone file. Every finding goes to diag. A zone with an
 * error is not built: the call returns SRVD_EPARSE or SRVD_EZONE. */
SRVD_API int srvd_zone_load(const srvd_zone_src_t *src, srvd_zone_t **out, srvd_diag_t *diag);
SRVD_API void srvd_zone_ref(srvd_zone_t *z);
SRVD_API void srvd_zone_unref(srvd_zone_t *z);

typedef struct srvd_zone_info {
	char origin[256]; /* presentation form, trailing dot */
	uint32_t serial;
	size_t records; /* RRs, counting glue */
	size_t names;   /* owner names including empty non-terminals */
	size_t memory;  /* bytes owned by this version */
} srvd_zone_info_t;

SRVD_API int srvd_zone_info(const srvd_zone_t *z, srvd_zone_info_t *out);

/* A placeholder for a secondary zone whose data expired (RFC 1035 4.3.5:
 * the secondary stops answering for it): put in a set, it makes every query
 * for a name in the zone SERVFAIL, without AA, transfers included. It has
 * no records and serial 0. origin as for srvd_zone_src_t. */
SRVD_API int srvd_zone_new_expired(const char *origin, srvd_zone_t **out);
/* 1 for such a placeholder, 0 otherwise. */
SRVD_API int srvd_zone_is_expired(const srvd_zone_t *z);

/* Warnings about valid zones that still break SRV users (Matrix
 * federation first): SRV/MX/NS targets that are aliases or lack addresses,
 * forgotten trailing dots, misspelt _matrix owners, one of the two Matrix
 * service names missing. Returns the number of findings. */
SRVD_API int srvd_zone_lint(const srvd_zone_t *z, srvd_diag_t *diag);

/* The files a version was read from: the master file first, then every
 * $INCLUDEd file in the order they were first opened, each once. None for a
 * version that did not come from files (a transfer). The version owns the
 * strings; srvd_zone_file returns NULL past the end. */
SRVD_API size_t srvd_zone_file_count(const srvd_zone_t *z);
SRVD_API const char *srvd_zone_file(const srvd_zone_t *z, size_t i);

/* A set takes a reference on each zone. Origins must be distinct. */
SRVD_API int srvd_zoneset_new(srvd_zone_t *const *zones, size_t n, srvd_zoneset_t **out);
/* Convenience: load every source; fails (and loads nothing) if any zone fails. */
SRVD_API int srvd_zoneset_load(const srvd_zone_src_t *srcs, size_t n, srvd_zoneset_t **out,
                               srvd_diag_t *diag);
SRVD_API void srvd_zoneset_ref(srvd_zoneset_t *zs);
SRVD_API void srvd_zoneset_unref(srvd_zoneset_t *zs);
SRVD_API size_t srvd_zoneset_count(const srvd_zoneset_t *zs);
/* Borrowed pointer to the i-th zone (sorted by canonical name), or NULL. */
SRVD_API srvd_zone_t *srvd_zoneset_at(const srvd_zoneset_t *zs, size_t i);

/* ---- answering ------------------------------------------------------- */

typedef struct srvd_responder srvd_responder_t;

typedef struct srvd_responder_opts {
	uint16_t udp_payload; /* our EDNS UDP size; 0 = 1232 */
	const char *nsid;     /* NSID option payload (RFC 5001); NULL = off */
	const char *identity; /* CH TXT id.server / hostname.bind; NULL = REFUSED */
	const char *version;  /* CH TXT version.bind / version.server; NULL = REFUSED */
	unsigned stats_row;   /* this responder's row of per-zone counters */
	/* Entries of this responder's response rate limiting table (see
	 * srvd_guard_conf_t), rounded up to a power of two; 0 = 16384.
	 * The table is allocated here, once: the query path never does. */
	unsigned rrl_slots;
} srvd_responder_opts_t;

/* One per thread; it owns the per-query scratch space and the per-client
 * state of response rate limiting (which is why that state needs no lock).
 * opts may be NULL. */
SRVD_API int srvd_responder_new(const srvd_responder_opts_t *opts, srvd_responder_t **out);
SRVD_API void srvd_responder_free(srvd_responder_t *r);

typedef enum { SRVD_UDP = 0, SRVD_TCP = 1 } srvd_transport_t;

typedef struct srvd_query {
	const uint8_t *wire;
	size_t len;
	srvd_transport_t transport;
	const void *src_addr; /* struct sockaddr of the client, or NULL */
	/* The name (wire form) of the TSIG key the caller verified this
	 * request with (RFC 8945), or NULL. Transfer ACLs grant by it. */
	const uint8_t *tsig_key;
	/* UNIX time in seconds, for rate limiting and DNS cookies; a caller
	 * reads its clock once per batch. 0: srvd_dispatch reads a coarse
	 * clock itself when it needs one. */
	uint32_t now;
} srvd_query_t;

/* Answer q from zs into resp[cap]; q->wire must not overlap resp. Returns SRVD_OK with *resp_len
 * set, SRVD_DROP when nothing must be sent, SRVD_XFR for an allowed zone transfer (see
 * srvd_xfr_new), or a negative error (cap too small for a header). */
SRVD_API int srvd_respond(srvd_responder_t *r, const srvd_zoneset_t *zs, const srvd_query_t *q,
                          uint8_t *resp, size_t cap, size_t *resp_len);

/* The answer to a NOTIFY (RFC 1996) for a zone the caller is a secondary
 * for, once it has decided about it (rcode NOERROR, or REFUSED for a peer
 * that is not allowed): QR and AA, opcode NOTIFY, the question echoed, an
 * OPT when the query had a usable one. SRVD_EINVAL when q is not a NOTIFY
 * with one question that srvd_respond would accept: answer it with
 * srvd_respond instead. */
SRVD_API int srvd_respond_notify(srvd_responder_t *r, const srvd_query_t *q, unsigned rcode,
                                 uint8_t *resp, size_t cap, size_t *resp_len);

/* Per-zone counters. A zone version may carry one block of counters per
 * row (a row per responder thread, opts.stats_row); the responder counts
 * each answered query once, in its own row of the zone that answered it,
 * by query type and rcode together, with no lock and no atomic
 * read-modify-write, so a reader on another thread sees every count with
 * some delay, never a torn one. Queries that no zone answered (REFUSED
 * out of zone, CHAOS, FORMERR, NOTIMP) count the same way in the
 * responder's own row (srvd_stats_t.unzoned), so the server-wide counts
 * by type and rcode are the sum of every zone's and that row.
 * The label sets are bounded: 21 query types and "other", 7 rcodes and
 * "other" (srvd_zstat_*_name). */
enum { SRVD_ZSTAT_QTYPES = 22, SRVD_ZSTAT_RCODES = 8 };
typedef struct srvd_zone_stats {
	/* answers by query type and rcode together ([qtype label][rcode label]) */
	uint64_t n[SRVD_ZSTAT_QTYPES][SRVD_ZSTAT_RCODES];
	/* the same, summed: by query type, and by rcode */
	uint64_t queries[SRVD_ZSTAT_QTYPES];
	uint64_t rcode[SRVD_ZSTAT_RCODES];
} srvd_zone_stats_t;

/* Counters kept by one responder; sum them across threads. Every answer
 * counts once by type and rcode: in a zone's row (srvd_zone_stats) or,
 * when no zone answered, in `unzoned`. By transport is the caller's to
 * count (it knows where the message came from). */
typedef struct srvd_stats {
	/* What no zone answered, by type and rcode (see srvd_zone_stats_t). */
	srvd_zone_stats_t unzoned;
	uint64_t truncated; /* answers with TC set */
	uint64_t dropped;
	uint64_t xfr;
	/* Requests refused for their TSIG, by status: 2 FORMERR, 3 BADKEY,
	 * 4 BADSIG, 5 BADTIME, 6 BADTRUNC. */
	uint64_t tsig_failed[16];
	/* Response rate limiting (srvd_dispatch): answers not sent, answers
	 * sent truncated instead (slip), and answers sent in full that
	 * log-only mode would have limited. */
	uint64_t rrl_dropped, rrl_slipped, rrl_logged;
	/* DNS cookies: requests with a valid server cookie, with one that
	 * did not validate (bad, expired, another secret), and BADCOOKIE
	 * answers (only when cookies are required). */
	uint64_t cookie_valid, cookie_invalid, cookie_badcookie;
} srvd_stats_t;

SRVD_API void srvd_responder_stats(const srvd_responder_t *r, srvd_stats_t *out);

/* Give every zone of zs that never had counters `rows` rows of them.
 * Call it before any responder can reach a zone of zs (before publishing
 * the set); a zone that a responder may already read is left alone. */
SRVD_API int srvd_zoneset_counters(srvd_zoneset_t *zs, unsigned rows);
/* The sum of z's rows (all zero when z has no counters). */
SRVD_API void srvd_zone_stats(const srvd_zone_t *z, srvd_zone_stats_t *out);
/* sum += a, marginals included. */
SRVD_API void srvd_zone_stats_add(srvd_zone_stats_t *sum, const srvd_zone_stats_t *a);
/* The same, then zero them: only once no responder can reach z. */
SRVD_API void srvd_zone_stats_take(srvd_zone_t *z, srvd_zone_stats_t *out);
/* "A", "AAAA", ..., "other"; "NOERROR", ..., "other". NULL past the end. */
SRVD_API const char *srvd_zstat_qtype_name(unsigned i);
SRVD_API const char *srvd_zstat_rcode_name(unsigned i);

/* ---- the front door: every message, with TSIG ------------------------ */

/* TSIG keys (RFC 8945) a server verifies requests with and signs answers
 * with. Immutable once made, reference counted, shared by every thread. */
typedef struct srvd_keyring srvd_keyring_t;

typedef struct srvd_key_src {
	const char *name;      /* "transfer-key" or "transfer-key." */
	const char *algorithm; /* "hmac-sha256", ... (hmac-md5 to hmac-sha512) */
	const char *secret;    /* base64 */
} srvd_key_src_t;

/* SRVD_EINVAL for a bad name, algorithm or secret; SRVD_EEXIST for a name
 * given twice. n may be 0. */
SRVD_API int srvd_keyring_new(const srvd_key_src_t *keys, size_t n, srvd_keyring_t **out);
SRVD_API void srvd_keyring_ref(srvd_keyring_t *k);
SRVD_API void srvd_keyring_unref(srvd_keyring_t *k);

/* Who may change what in a zone by UPDATE (RFC 3007). A request is
 * allowed when one grant for its key (or, for an unsigned request, its
 * address) covers every RR of its update section. */
typedef struct srvd_update_grant {
	srvd_prefix_t who; /* srvd_acl_key() entry, or an address prefix */
	/* Relative to the zone: "name" (exactly it; "@" the apex), "*.name"
	 * (any name below it), "*" (any name). None: any name. */
	const char *const *names;
	size_t n_names;
	const uint16_t *types; /* none: any type */
	size_t n_types;
	/* The ACME shortcut: TXT at _acme-challenge and at
	 * _acme-challenge.<any name>; names and types are ignored. */
	int acme;
} srvd_update_grant_t;

/* What a server knows of one zone beyond its data. */
typedef struct srvd_zone_rule {
	const char *origin; /* as the caller names the zone; srvd_result_t.zone points to it */
	int secondary;      /* 1: we take NOTIFY for it (RFC 1996) */
	/* Who may NOTIFY: address prefixes, and keys (srvd_acl_key) that
	 * the NOTIFY must be signed with. */
	const srvd_prefix_t *notify_from;
	size_t n_notify_from;
	/* UPDATE: for a primary zone, the grants (none: UPDATE is REFUSED);
	 * a secondary zone forwards every UPDATE to its primary. */
	const srvd_update_grant_t *update;
	size_t n_update;
} srvd_zone_rule_t;

/* Everything srvd_dispatch answers from: a zone set, a keyring and the
 * zone rules. Immutable, reference counted: publish a new one to change
 * any part (it is cheap: it takes references and copies the rules). */
typedef struct srvd_server srvd_server_t;

/* Takes a reference on zs and keys (keys may be NULL: no TSIG keys). */
SRVD_API int srvd_server_new(srvd_zoneset_t *zs, srvd_keyring_t *keys,
                             const srvd_zone_rule_t *rules, size_t n_rules, srvd_server_t **out);
SRVD_API void srvd_server_ref(srvd_server_t *s);
SRVD_API void srvd_server_unref(srvd_server_t *s);
/* Borrowed. */
SRVD_API const srvd_zoneset_t *srvd_server_zoneset(const srvd_server_t *s);

/* Facing the internet: response rate limiting and DNS cookies, as one
 * immutable part of a server (srvd_server_with_guard).
 *
 * RRL (the design of Vixie and Schryver that BIND, Knot and NSD share):
 * answers over UDP are counted per client prefix and per kind of answer
 * (one bucket per name and type for answers and NODATA; one per prefix for
 * NXDOMAIN, referrals and errors, so random names do not escape it). Each
 * bucket earns `rate` answers a second and may owe up to `window` seconds'
 * worth; an answer from an empty bucket is dropped, except every `slip`-th,
 * which goes out truncated (TC, no records) so that a real client retries
 * over TCP. TCP, TSIG-verified requests, exempt prefixes and clients that
 * present a valid server cookie are never limited.
 *
 * DNS cookies (RFC 7873, server cookies as RFC 9018 builds them): a request
 * with a client cookie gets a server cookie back. A server cookie is valid
 * for an hour when it was made with `secret`, or with `previous` (the
 * secret before the last rotation). */
typedef struct srvd_rrl_conf {
	unsigned rate;               /* answers per second per bucket; 0 = RRL off */
	unsigned slip;               /* every slip-th limited answer truncated; 0 = none, 1 = all */
	unsigned window;             /* seconds a bucket may owe; 0 = 15 */
	uint8_t ipv4_prefix;         /* bits of a client address that make its prefix; 0 = 24 */
	uint8_t ipv6_prefix;         /* 0 = 56 */
	const srvd_prefix_t *exempt; /* never limited (address entries only) */
	size_t n_exempt;
	int log_only; /* count and log, but send every answer in full */
} srvd_rrl_conf_t;

typedef enum {
	SRVD_COOKIES_OFF = 0,
	SRVD_COOKIES_ON = 1,      /* answer them; a bad server cookie gets a fresh one */
	SRVD_COOKIES_REQUIRE = 2, /* also: BADCOOKIE over UDP to a client that sent a
	                             client cookie without a valid server cookie */
} srvd_cookies_t;

typedef struct srvd_guard_conf {
	srvd_rrl_conf_t rrl;
	srvd_cookies_t cookies;
	uint8_t secret[16];   /* SipHash-2-4 key of the server cookies made now */
	uint8_t previous[16]; /* still validates, when has_previous */
	int has_previous;
} srvd_guard_conf_t;

/* A copy of s that limits and answers cookies as g says (g NULL: neither).
 * g and its exempt list are copied. SRVD_EINVAL for an exempt entry that
 * is not an address prefix or a prefix length out of range. */
SRVD_API int srvd_server_with_guard(const srvd_server_t *s, const srvd_guard_conf_t *g,
                                    srvd_server_t **out);

/* What srvd_dispatch did, for the caller to act on. */
typedef struct srvd_result {
	size_t len;      /* bytes of the answer (SRVD_OK) */
	unsigned opcode; /* of the request */
	unsigned rcode;  /* of the answer (TSIG errors: NOTAUTH) */
	int tsig;        /* 1: the request was signed and verified; so is the answer */
	/* Response rate limiting: 1 when the answer in resp is the truncated
	 * slip; SRVD_DROP with limited 1 when RRL dropped it. */
	int limited;
	/* An accepted NOTIFY for a secondary zone: the caller should check
	 * that zone's SOA soon (RFC 1996 3.11). zone is the rule's origin
	 * (it lives as long as the server); NULL for anything else. */
	const char *zone;
	int has_serial; /* the NOTIFY carried the primary's SOA serial */
	uint32_t serial;
} srvd_result_t;

/* After srvd_dispatch returned SRVD_UPDATE for q on r: the request, copied
 * with its TSIG session, for whoever applies it off the query threads
 * (the daemon: src/net/update.c). It names the zone by its rule's origin
 * (srvd_update_zone). */
typedef struct srvd_update srvd_update_t;
SRVD_API int srvd_update_begin(srvd_responder_t *r, const srvd_server_t *s, const srvd_query_t *q,
                               srvd_update_t **out);
SRVD_API const char *srvd_update_zone(const srvd_update_t *u);
SRVD_API void srvd_update_free(srvd_update_t *u);

/* The one front door. Parses the header once; a TSIG record, when present,
 * is verified against the server's keyring (a request that fails gets the
 * RFC 8945 5.2 error answer, never an unsigned one); then the opcode picks:
 * QUERY is answered as srvd_respond does, NOTIFY is judged against the
 * zone's rule, UPDATE is checked (zone, format, grant) and
 * either answered at once or handed back with SRVD_UPDATE, others get
 * NOTIMP. The answer to a signed request
 * is signed. Returns SRVD_OK (answer in resp, length in res->len),
 * SRVD_DROP, SRVD_XFR (start the stream with srvd_xfr_begin on the same
 * responder, before it answers anything else), or a negative error. res is
 * written in every non-negative case. Allocates nothing. */
SRVD_API int srvd_dispatch(srvd_responder_t *r, const srvd_server_t *s, const srvd_query_t *q,
                           uint8_t *resp, size_t cap, srvd_result_t *res);

/* ---- zone transfer out (AXFR, and IXFR answered in AXFR form) ---------- */

typedef struct srvd_xfr srvd_xfr_t;

/* Start streaming the transfer that srvd_respond answered with SRVD_XFR.
 * The cursor holds a reference on the zone version, so reloads don't
 * disturb it. */
SRVD_API int srvd_xfr_new(const srvd_zoneset_t *zs, const srvd_query_t *q, srvd_xfr_t **out);
/* Fill one message. *more is set to 0 after the last one. */
SRVD_API int srvd_xfr_next(srvd_xfr_t *x, uint8_t *buf, size_t cap, size_t *len, int *more);
SRVD_API void srvd_xfr_free(srvd_xfr_t *x);
/* After srvd_dispatch returned SRVD_XFR for q on r: the cursor for it.
 * IXFR is answered incrementally when the server has a journal that
 * reaches the client's serial; a signed request gets every message signed
 * (RFC 8945 5.3.1). The cursor copies what it needs (the server and the
 * responder may go on to other work). */
SRVD_API int srvd_xfr_begin(srvd_responder_t *r, const srvd_server_t *s, const srvd_query_t *q,
                            srvd_xfr_t **out);
/* 1 when x streams journal diffs (IXFR), 0 for the whole zone. */
SRVD_API int srvd_xfr_incremental(const srvd_xfr_t *x);
/* The zone version x streams (borrowed: x holds it), and the bytes of the
 * messages srvd_xfr_next made so far (DNS messages, without framing). */
SRVD_API const srvd_zone_t *srvd_xfr_zone(const srvd_xfr_t *x);
SRVD_API uint64_t srvd_xfr_bytes(const srvd_xfr_t *x);

#ifdef __cplusplus
}
#endif
#endif
