/* TSIG (RFC 8945): shared-key signatures on the messages of a transfer,
 * NOTIFY and SOA checks, in both directions.
 *
 * A session (xfr_tsig_t) follows one exchange: a request and the stream of
 * messages that answer it. The same calls serve both roles, the state
 * decides what each digest covers:
 *
 *   client: sign(query) -> verify(response 1) -> verify(2) ... -> end()
 *   server: verify(request) -> sign(response 1) -> sign(2) ...
 *
 * The first response digest covers the request MAC and all TSIG variables;
 * later ones cover the previous MAC, every message since (unsigned ones
 * included) and only the timers (RFC 8945 5.3.1). A client accepts at most
 * 99 unsigned messages in a row, and the last one must be signed (end()).
 *
 * Nothing here allocates: a key carries its HMAC key schedule and a session
 * its running HMAC inline (xfr/hmac.h), so a signed query is verified and
 * its answer signed on the query path without malloc. Keys and sessions
 * hold no pointer of their own and may be copied by value (a session still
 * borrows its key).
 */
#ifndef SRVD_XFR_TSIG_H
#define SRVD_XFR_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srvd/srvd.h"
#include "xfr/hmac.h"

enum { XFR_TSIG_MAC_MAX = 64, XFR_TSIG_SECRET_MAX = 512, XFR_TSIG_FUDGE = 300 };

typedef enum {
	XFR_TSIG_HMAC_MD5 = 1, /* hmac-md5.sig-alg.reg.int, for old peers */
	XFR_TSIG_HMAC_SHA1,
	XFR_TSIG_HMAC_SHA224,
	XFR_TSIG_HMAC_SHA256,
	XFR_TSIG_HMAC_SHA384,
	XFR_TSIG_HMAC_SHA512,
} xfr_tsig_alg_t;

typedef struct xfr_tsig_key {
	uint8_t name[255]; /* lower-case wire form */
	size_t name_len;
	uint8_t alg_name[255]; /* lower-case wire form, e.g. "hmac-sha256." */
	size_t alg_name_len;
	xfr_tsig_alg_t alg;
	size_t mac_len; /* HMAC output size */
	uint8_t secret[XFR_TSIG_SECRET_MAX];
	size_t secret_len;
	xfr_hmac_t hmac; /* the secret absorbed: each message starts from a copy */
} xfr_tsig_key_t;

/* name: "transfer-key" or "transfer-key."; algorithm: "hmac-sha256" (with
 * or without the trailing dot, any case); secret: base64. SRVD_EINVAL for
 * an unknown algorithm, a bad name, or a secret that is not base64. */
int xfr_tsig_key_init(const char *name, const char *algorithm, const char *secret_b64,
                      xfr_tsig_key_t *out);

typedef enum {
	XFR_TSIG_OK = 0,
	XFR_TSIG_UNSIGNED,     /* no TSIG where one is required */
	XFR_TSIG_FORMERR,      /* TSIG malformed, not last, or more than one */
	XFR_TSIG_BADKEY,       /* key name or algorithm is not the session's */
	XFR_TSIG_BADSIG,       /* the MAC does not verify */
	XFR_TSIG_BADTIME,      /* time signed is outside now +- fudge */
	XFR_TSIG_BADTRUNC,     /* truncated MAC: not accepted */
	XFR_TSIG_PEER_ERROR,   /* the peer's TSIG carries an error: it rejected ours */
	XFR_TSIG_UNSIGNED_RUN, /* 100 unsigned messages in a row, or the last one unsigned */
	XFR_TSIG_STATE,        /* call out of order */
} xfr_tsig_status_t;

typedef enum {
	XFR_TSIG_FRESH = 0,
	XFR_TSIG_AWAIT_RESPONSE, /* client: query signed */
	XFR_TSIG_STREAM_IN,      /* client: first response verified */
	XFR_TSIG_RESPONDING,     /* server: request verified */
	XFR_TSIG_STREAM_OUT,     /* server: first response signed */
} xfr_tsig_state_t;

typedef struct xfr_tsig {
	const xfr_tsig_key_t *key;
	uint16_t fudge; /* used when signing */
	uint64_t now;   /* fixed clock (tests); 0 = time(NULL) */
	xfr_tsig_state_t state;
	uint8_t mac[XFR_TSIG_MAC_MAX]; /* the last MAC signed or verified */
	size_t mac_len;
	xfr_hmac_t run; /* HMAC over the unsigned messages since the last signed one */
	bool run_open;  /* run has begun (with the previous MAC) */
	unsigned unsigned_run;
	bool last_signed;
	/* the outcome of the last call */
	xfr_tsig_status_t status;
	uint16_t peer_error;  /* error field of the peer's TSIG */
	uint64_t time_signed; /* of the last TSIG seen */
	char why[200];
} xfr_tsig_t;

/* key is borrowed. */
void xfr_tsig_init(xfr_tsig_t *t, const xfr_tsig_key_t *key);
/* Wipes the running HMAC, which is as secret as the key; status and why
 * stay readable. Frees nothing: there is nothing to free. */
void xfr_tsig_deinit(xfr_tsig_t *t);

/* Append a TSIG record to msg (which must have none) and write the result
 * to out[cap]. msg and out may be the same buffer. */
int xfr_tsig_sign(xfr_tsig_t *t, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                  size_t *out_len);

/* Verify the next message of the exchange. 0 when it verifies (or is an
 * allowed unsigned message in a stream); otherwise a negative code, with
 * t->status and t->why saying what was wrong. */
int xfr_tsig_verify(xfr_tsig_t *t, const uint8_t *msg, size_t len);

/* The answer to a request whose TSIG failed, as t->status says (RFC 8945
 * 5.2): rcode NOTAUTH, the request's question, and a TSIG record with the
 * error. BADKEY/BADSIG/BADTRUNC answers are unsigned (empty MAC, under the
 * request's key and algorithm names); a BADTIME answer is signed over the
 * request MAC and carries our clock in Other Data. t->key may be NULL (no
 * key of that name: BADKEY). SRVD_EINVAL for other statuses. */
int xfr_tsig_error_reply(xfr_tsig_t *t, const uint8_t *req, size_t len, uint8_t *out, size_t cap,
                         size_t *out_len);

/* At the end of a response stream: the last message must have been signed. */
int xfr_tsig_end(xfr_tsig_t *t);

/* Bytes a TSIG record with this key adds to a message (for
 * xfr_out_reserve() and buffer sizing). */
size_t xfr_tsig_size(const xfr_tsig_key_t *k);

/* "BADSIG", "BADKEY", ... */
const char *xfr_tsig_status_name(xfr_tsig_status_t s);

/* The TSIG record of a message, as found: lets a server pick the key
 * (by name) before it verifies. Pointers point into msg or into the
 * struct. */
typedef struct xfr_tsig_rr {
	size_t start; /* offset of the TSIG RR in the message */
	uint8_t name[255];
	uint8_t alg[255];
	uint64_t time_signed;
	uint16_t fudge;
	const uint8_t *mac;
	uint16_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
} xfr_tsig_rr_t;

/* SRVD_ENOENT when the message has no TSIG, SRVD_EMALFORM when the message
 * or the TSIG is malformed or the TSIG is not the last record. */
int xfr_tsig_find(const uint8_t *msg, size_t len, xfr_tsig_rr_t *out);

#endif
