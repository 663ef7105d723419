/* Zone transfers, the pure library side: serial arithmetic (RFC 1982), the
 * queries a secondary sends (SOA, AXFR, IXFR, NOTIFY), the checks on the
 * answers, the transfer-in state machine that turns AXFR/IXFR messages into
 * a new zone version, and the master-file writer that persists it.
 *
 * Nothing here does I/O on sockets: src/net owns the connections and the
 * timers, and calls these functions with the bytes it sent or received
 * (TCP messages without their 2-byte length prefix). TSIG is in tsig.h, the
 * journal of diffs and the IXFR-out cursor in journal.h.
 *
 * A secondary's refresh, as the network layer drives it:
 *   1. xfr_query_soa() [+ xfr_tsig_sign()], send (UDP, TCP on TC);
 *      answer -> [xfr_tsig_verify()] -> xfr_soa_response() -> serial.
 *      Not wire_serial_gt(serial, current) -> done, retry at refresh.
 *   2. xfr_query_ixfr(current) [+ sign] over TCP; xfr_in_new(IXFR) [+
 *      xfr_in_set_tsig()]; xfr_in_feed() each message until XFR_IN_DONE.
 *      On failure with xfr_err_fallback(): step 3; other failures: retry.
 *   3. xfr_query_axfr() [+ sign]; xfr_in_new(AXFR); feed until DONE.
 *   4. xfr_in_finish() -> new version (XFR_KIND_UPTODATE: nothing to do);
 *      publish it; xfr_diff_compute(old, new) -> xfr_journal_append().
 *   5. xfr_zone_save() (temp file, fsync, rename), off the loop thread.
 */
#ifndef SRVD_XFR_XFR_H
#define SRVD_XFR_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "srvd/srvd.h"
#include "wire/serial.h"
#include "zone/zone.h"

/* ---- errors with a reason -------------------------------------------------- */

/* Why a message or a transfer was rejected. The code lets the caller decide
 * what to do next (XFR_FAIL_DIFF_* and an IXFR rcode of NOTIMP or FORMERR
 * mean: try AXFR); the text is for the log. */
typedef enum {
	XFR_FAIL_NONE = 0,
	XFR_FAIL_MALFORMED,    /* bytes do not parse; offset says where */
	XFR_FAIL_ID,           /* message ID is not our query's */
	XFR_FAIL_QR,           /* QR bit not set */
	XFR_FAIL_OPCODE,       /* opcode is not the query's */
	XFR_FAIL_TC,           /* TC set on a TCP message */
	XFR_FAIL_RCODE,        /* rcode != NOERROR; rcode says which */
	XFR_FAIL_QUESTION,     /* question missing or not ours */
	XFR_FAIL_FIRST_SOA,    /* first record is not the zone's SOA */
	XFR_FAIL_NOT_NEWER,    /* serial not newer than ours */
	XFR_FAIL_BRACKET,      /* SOA bracketing broken (closing SOA, records after it) */
	XFR_FAIL_OUTSIDE,      /* record outside the zone */
	XFR_FAIL_CLASS,        /* class not IN */
	XFR_FAIL_SIZE,         /* byte limit */
	XFR_FAIL_COUNT,        /* record count limit */
	XFR_FAIL_DIFF_START,   /* IXFR: first diff does not start at our serial */
	XFR_FAIL_DIFF_CHAIN,   /* IXFR: diffs do not follow each other */
	XFR_FAIL_DIFF_MISSING, /* IXFR: deletes a record we do not have */
	XFR_FAIL_TSIG,         /* TSIG check failed (tsig.h has the detail) */
	XFR_FAIL_ZONE,         /* the zone checks of the builder failed */
	XFR_FAIL_NOMEM,
	XFR_FAIL_STATE, /* fed after the end, or after a failure */
	XFR_FAIL_SPOOL, /* the file that holds a full transfer: write or read failed */
} xfr_fail_t;

typedef struct xfr_err {
	xfr_fail_t fail;
	uint8_t rcode; /* for XFR_FAIL_RCODE */
	size_t offset; /* for XFR_FAIL_MALFORMED: byte offset in the message */
	unsigned msg;  /* 1-based message number in a transfer, 0 otherwise */
	char why[300]; /* one line, no trailing newline */
} xfr_err_t;

/* "NOERROR", "NOTIMP", ... or "RCODE42". */
const char *xfr_rcode_name(unsigned rcode);
/* True when fail/rcode say that an IXFR attempt should be retried as AXFR. */
bool xfr_err_fallback(const xfr_err_t *e);

/* Set e (when not NULL) with a printf-style reason. Returns the SRVD_E*
 * code that goes with f. */
int xfr_fail(xfr_err_t *e, xfr_fail_t f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The fixed header of a message. */
typedef struct xfr_hdr {
	uint16_t id, flags, qd, an, ns, ar;
} xfr_hdr_t;

/* Read the header and the question (when QDCOUNT is 1) of a response to our
 * query: checks ID, QR, opcode, rcode, TC, and that the question is
 * origin/qtype/IN. A missing question is an error only when need_question.
 * Leaves r at the answer section. */
int xfr_read_head(rd_t *r, const uint8_t *origin, uint16_t qtype, unsigned opcode, uint16_t id,
                  bool need_question, xfr_err_t *err, xfr_hdr_t *out);

/* ---- queries ------------------------------------------------------------- */

/* Each writes one complete DNS message (no TCP length prefix) with the given
 * ID into buf[cap]. origin is a wire name. RD is clear. SRVD_ESPACE when it
 * does not fit. */
int xfr_query_soa(const uint8_t *origin, uint16_t id, uint8_t *buf, size_t cap, size_t *len);
int xfr_query_axfr(const uint8_t *origin, uint16_t id, uint8_t *buf, size_t cap, size_t *len);
/* IXFR (RFC 1995 3): the authority section carries the SOA of our version. */
int xfr_query_ixfr(const zone_t *cur, uint16_t id, uint8_t *buf, size_t cap, size_t *len);
/* NOTIFY (RFC 1996 3.7): opcode NOTIFY, AA set, question <origin> SOA IN,
 * and, when z is not NULL, its SOA in the answer section as a hint. */
int xfr_query_notify(const uint8_t *origin, const zone_t *z, uint16_t id, uint8_t *buf, size_t cap,
                     size_t *len);

/* ---- answers to single-message queries ----------------------------------- */

/* Check the header and question of a response to our query (ID, QR, opcode,
 * rcode, TC, question = origin/qtype/IN). */
int xfr_check_response(const uint8_t *msg, size_t len, const uint8_t *origin, uint16_t qtype,
                       unsigned opcode, uint16_t id, xfr_err_t *err);

/* The answer to xfr_query_soa: checks it and returns the serial of the
 * zone's SOA from the answer section. */
int xfr_soa_response(const uint8_t *msg, size_t len, const uint8_t *origin, uint16_t id,
                     xfr_err_t *err, uint32_t *serial);

/* An incoming NOTIFY (RFC 1996), as a secondary receives it. */
typedef struct xfr_notify {
	uint16_t id;
	uint8_t origin[255]; /* question name, case as sent */
	size_t origin_len;
	bool has_serial; /* an SOA for origin was in the answer section */
	uint32_t serial;
	bool tsig; /* a TSIG record is present (verify it with tsig.h) */
} xfr_notify_t;

int xfr_notify_parse(const uint8_t *msg, size_t len, xfr_err_t *err, xfr_notify_t *out);
/* The reply to a NOTIFY: same ID and question, QR and AA set, the rcode. */
int xfr_notify_reply(const uint8_t *query, size_t qlen, uint8_t rcode, uint8_t *buf, size_t cap,
                     size_t *len);

/* ---- RRs in messages and in zone versions -------------------------------- */

typedef struct xfr_rr {
	const uint8_t *owner; /* uncompressed wire name */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	const uint8_t *rdata; /* uncompressed */
	uint16_t rdlen;
} xfr_rr_t;

/* Read one RR at r's position (r spans the whole message, so compression
 * pointers resolve). Names inside RDATA of the types that were allowed
 * compression (RFC 3597 4) are expanded into rdbuf[65535]. False when the
 * record is malformed (r->err is then set, or the RDATA layout is wrong). */
bool xfr_rr_read(rd_t *r, uint8_t owner[255], uint8_t *rdbuf, xfr_rr_t *out);

/* Walk every RR of a zone version, in the version's order (parents before
 * children, types ascending), the SOA included. */
typedef struct xfr_iter {
	const zone_t *z;
	uint32_t node, set;
	uint16_t rr;
	size_t off;
} xfr_iter_t;

void xfr_iter_init(xfr_iter_t *it, const zone_t *z);
bool xfr_iter_next(xfr_iter_t *it, xfr_rr_t *out);

/* The SOA of a version as one RR (rdata points into the version). */
void xfr_zone_soa(const zone_t *z, xfr_rr_t *out);

/* The SOA timers of a version (RFC 1035 3.3.13), for a secondary's refresh,
 * retry and expire schedule. */
typedef struct xfr_soa_timers {
	uint32_t serial, refresh, retry, expire, minimum;
} xfr_soa_timers_t;

void xfr_zone_timers(const zone_t *z, xfr_soa_timers_t *out);

/* Serial from SOA rdata, or false when the rdata is too short. */
bool xfr_soa_serial(const uint8_t *rdata, uint16_t rdlen, uint32_t *serial);

/* ---- transfer in ----------------------------------------------------------- */

typedef struct xfr_in xfr_in_t;
typedef struct xfr_tsig xfr_tsig_t;

typedef struct xfr_in_limits {
	uint64_t max_bytes;   /* sum of message sizes; 0 = no limit */
	uint64_t max_records; /* RRs in the answer sections; 0 = no limit */
	bool force;           /* AXFR: accept a serial that is not newer (retransfer) */
} xfr_in_limits_t;

enum { XFR_IN_MORE = 1, XFR_IN_DONE = 2 };

typedef enum {
	XFR_KIND_NONE = 0,    /* not done yet */
	XFR_KIND_UPTODATE,    /* IXFR answered with our SOA (or an older one) */
	XFR_KIND_FULL,        /* AXFR, or IXFR answered in AXFR form */
	XFR_KIND_INCREMENTAL, /* IXFR diffs applied to a copy of the current version */
} xfr_kind_t;

/* origin: wire name. cur: the version we serve, or NULL (required for IXFR;
 * the transfer takes a reference). qtype: DNS_T_AXFR or DNS_T_IXFR. id: the
 * query's ID. lim may be NULL. */
int xfr_in_new(const uint8_t *origin, const zone_t *cur, uint16_t qtype, uint16_t id,
               const xfr_in_limits_t *lim, xfr_in_t **out);
void xfr_in_free(xfr_in_t *x);

/* Verify every message with this TSIG session (tsig.h), which signed the
 * query. t is borrowed and must outlive x. */
void xfr_in_set_tsig(xfr_in_t *x, xfr_tsig_t *t);

/* Keep the messages of a full transfer in fd (open for reading and
 * writing; x takes it and closes it) instead of building the zone as they
 * arrive. Every message is still checked when it is fed, but the memory a
 * transfer holds until it is complete is one message, however long the
 * stream (an endless AXFR is cut at max_bytes with nothing built);
 * xfr_in_finish builds from the file. Diffs (IXFR) are applied in memory
 * either way. Call before the first xfr_in_feed. */
void xfr_in_spool(xfr_in_t *x, int fd);
/* An anonymous file for xfr_in_spool in the folder of the file `beside`
 * (O_TMPFILE, so nothing is left if we die; else a name unlinked at once).
 * SRVD_EIO when that folder takes no file. */
int xfr_spool_open(const char *beside, int *fd);

/* Feed one message. XFR_IN_MORE, XFR_IN_DONE, or a negative SRVD_E* code
 * with the reason in xfr_in_error(). After an error or DONE every further
 * call fails. */
int xfr_in_feed(xfr_in_t *x, const uint8_t *msg, size_t len);
const xfr_err_t *xfr_in_error(const xfr_in_t *x);

xfr_kind_t xfr_in_kind(const xfr_in_t *x);
/* The serial of the transferred version (the first SOA). */
uint32_t xfr_in_serial(const xfr_in_t *x);
/* Messages and RRs seen so far (for logs and stats). */
void xfr_in_counts(const xfr_in_t *x, uint64_t *msgs, uint64_t *bytes, uint64_t *records);

/* After XFR_IN_DONE: build the new version through the zone builder (so
 * every zone check runs; findings go to diag, which may be NULL). For
 * XFR_KIND_UPTODATE *out is a new reference to the current version. The
 * transfer ACL of the current version is copied to the new one. Does not
 * free x. */
int xfr_in_finish(xfr_in_t *x, srvd_diag_t *diag, zone_t **out);

/* A zone of this many records or more gets a new version from an IXFR or
 * a diff by copy-on-write (src/zone/cow.c) instead of a full build; below,
 * a build takes about a millisecond, and each copy-on-write zone holds a
 * file descriptor (its image). */
enum { XFR_COW_MIN_RECORDS = 1000 };

/* ---- zone to master file ----------------------------------------------- */

/* Every RR of z in master-file format with absolute names, SOA first, one
 * RR per line, loadable by our loader. */
int xfr_zone_write(const zone_t *z, FILE *fp);
/* Write to "<path>.tmp.<pid>", fsync, rename over path, fsync the directory. */
int xfr_zone_save(const zone_t *z, const char *path);

#endif
