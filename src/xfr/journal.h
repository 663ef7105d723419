/* Diffs between zone versions, the journal that keeps them, and the IXFR-out
 * cursor that streams them (RFC 1995).
 *
 * A diff is in IXFR order: removed[0] is the old SOA and added[0] the new
 * one, then the other records that left and came. Diffs are immutable and
 * reference counted once made, so a cursor streaming one is not disturbed
 * by the journal dropping it.
 *
 * The journal lives in a CBOR file beside the zone (RFC 8742 sequence):
 *   {"srvd-journal": 1, "zone": h'origin wire'}
 *   {"from": u32, "to": u32, "removed": [rr...], "added": [rr...]} ...
 *   rr = [h'owner wire', type, ttl, h'rdata']
 * Appending writes one item and fsyncs. The total size is bounded: the
 * oldest diffs are dropped (the file is then rewritten: temp + rename).
 * A file that does not decode is ignored with a reason; a truncated last
 * item (a crash during an append) costs only that item.
 */
#ifndef SRVD_XFR_JOURNAL_H
#define SRVD_XFR_JOURNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xfr/xfr.h"

typedef struct xfr_diff {
	atomic_uint refs;
	uint32_t from, to;
	size_t n_removed, n_added;
	xfr_rr_t *removed; /* pointers into the diff's own memory */
	xfr_rr_t *added;
	size_t wire_size; /* bytes of the RRs uncompressed: a size estimate */
} xfr_diff_t;

/* The diff that turns old into new (by owner/type/rdata; a TTL change is a
 * removal and an addition, as IXFR needs). SRVD_EINVAL when the origins
 * differ. */
int xfr_diff_compute(const zone_t *old, const zone_t *new_, xfr_diff_t **out);
void xfr_diff_ref(xfr_diff_t *d);
void xfr_diff_unref(xfr_diff_t *d);

/* Make a diff from lists (the SOAs first in each, as above). Copies. */
int xfr_diff_new(uint32_t from, uint32_t to, const xfr_rr_t *removed, size_t n_removed,
                 const xfr_rr_t *added, size_t n_added, xfr_diff_t **out);

/* A new version: z with d applied (d->from must be z's serial). Built
 * through the zone builder, so the result passes every zone check or the
 * call fails (SRVD_EZONE, findings to diag, which may be NULL). z's
 * transfer ACL is copied. (apply.c) */
int xfr_diff_apply(const zone_t *z, const xfr_diff_t *d, srvd_diag_t *diag, zone_t **out);

/* ---- journal ------------------------------------------------------------- */

typedef struct xfr_journal xfr_journal_t;

/* Open (or start) the journal at path for the zone origin. A missing file
 * is an empty journal. A corrupt one is too: *why (cap bytes, may be NULL)
 * then says what was wrong, and the next append rewrites the file. Only
 * allocation failures and bad arguments fail. max_bytes bounds the file. */
int xfr_journal_open(const char *path, const uint8_t *origin, size_t max_bytes, char *why,
                     size_t cap, xfr_journal_t **out);
void xfr_journal_free(xfr_journal_t *j);

/* Add the diff of a newly published version. A diff that does not follow
 * the last one (from != last to) starts a new chain: the old diffs go. The
 * journal takes its own reference. */
int xfr_journal_append(xfr_journal_t *j, xfr_diff_t *d);

/* Drop every diff (the file keeps only its header): the zone's history
 * no longer leads to the version served, e.g. a transfer brought other
 * data under the same serial. Called from the thread that appends. */
int xfr_journal_clear(xfr_journal_t *j);

/* Replace every diff by this one (a new chain), and rewrite the file:
 * after a file edit merged with updates, and to compact a journal. One
 * that does not fit the bound empties the journal (SRVD_ELIMIT). */
int xfr_journal_reset(xfr_journal_t *j, xfr_diff_t *d);

/* Number of diffs, and the serial range they span (when n > 0). */
size_t xfr_journal_count(const xfr_journal_t *j);
bool xfr_journal_range(const xfr_journal_t *j, uint32_t *first, uint32_t *last);
size_t xfr_journal_bytes(const xfr_journal_t *j); /* encoded size of the diffs */

/* The diffs that lead from serial `from` to serial `to`, with references.
 * SRVD_ENOENT when the journal does not reach. Safe against a concurrent
 * append. */
typedef struct xfr_chain {
	size_t n;
	xfr_diff_t **diffs;
	size_t records; /* RRs in all the diffs, SOAs included */
} xfr_chain_t;

int xfr_journal_chain(xfr_journal_t *j, uint32_t from, uint32_t to, xfr_chain_t **out);
void xfr_chain_free(xfr_chain_t *c);

/* ---- IXFR out ---------------------------------------------------------- */

/* Like srvd_xfr_new() for an IXFR query: streams the incremental form (RFC
 * 1995 4: new SOA, (old SOA, removed, new SOA, added)*, new SOA) when the
 * journal has a chain from the client's serial to the served version and
 * it is smaller than the zone, else the AXFR form. j may be NULL (AXFR
 * form). The returned cursor is used with srvd_xfr_next/srvd_xfr_free.
 * *incremental tells which form was chosen. */
int xfr_out_ixfr_new(const srvd_zoneset_t *zs, const srvd_query_t *q, xfr_journal_t *j,
                     bool *incremental, srvd_xfr_t **out);

/* Hold back `bytes` at the end of each message (room for a TSIG record). */
void xfr_out_reserve(srvd_xfr_t *x, size_t bytes);

/* Sign every message of the stream: t is the session that verified the
 * request (state XFR_TSIG_RESPONDING), copied with its key. Reserves the
 * room for the TSIG record itself. */
struct xfr_tsig;
struct xfr_tsig_key;
int xfr_out_set_tsig(srvd_xfr_t *x, const struct xfr_tsig *t, const struct xfr_tsig_key *key);

#endif
