/* Per-zone counters: the blocks a zone version carries, one row per
 * responder thread, and the bounded label sets they count by.
 *
 * Why the counters hang off the version: the responder already holds the
 * zone that answers, so counting costs one row offset and one add (a
 * cell per query type and rcode pair), with no lookup, no lock, no
 * allocation and no shared cache line (rows are 64-byte aligned). The
 * server-wide counts by type and rcode are these rows summed, plus the
 * responder's own row for queries no zone answered: a query counts once.
 * A row is 22 x 8 cells (1,408 bytes) a worker: a query costs one
 * increment, not one per dimension, and the pair is what an operator
 * asks (SRV queries that got NXDOMAIN). A version is immutable, but its
 * counters are not part of what it answers; they are set up once, before the version is
 * published, by whoever publishes it (srvd_zoneset_counters), and the
 * daemon folds them into per-name totals when the version is retired
 * (src/net/stats.c), so a reload does not reset a zone's counters.
 *
 * Label sets are bounded so that a client cannot grow the metric space:
 * the types an authoritative server for Matrix and web zones sees, then
 * "other".
 */
#include <stdlib.h>
#include <string.h>

#include "zone/zone.h"

static const char *const qtype_names[SRVD_ZSTAT_QTYPES] = {
    "other",      "A",    "NS",    "CNAME", "SOA",   "PTR",  "MX",     "TXT",
    "AAAA",       "SRV",  "NAPTR", "DS",    "RRSIG", "NSEC", "DNSKEY", "NSEC3",
    "NSEC3PARAM", "SVCB", "HTTPS", "CAA",   "IXFR",  "AXFR",
};

static const char *const rcode_names[SRVD_ZSTAT_RCODES] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "NOTAUTH", "other",
};

/* Index 0 is "other", so the table needs only the types it names. ANY
 * (255) is counted as "other": RFC 8482 answers make it uninteresting.
 * The values are label indexes times SRVD_ZSTAT_RCODES (R), the start of
 * the type's cells in a row. */
#define R SRVD_ZSTAT_RCODES
const uint8_t zone_stat_qtype[65536] = {
    [1] = 1 * R,    [2] = 2 * R,    [5] = 3 * R,    [6] = 4 * R,   [12] = 5 * R,  [15] = 6 * R,
    [16] = 7 * R,   [28] = 8 * R,   [33] = 9 * R,   [35] = 10 * R, [43] = 11 * R, [46] = 12 * R,
    [47] = 13 * R,  [48] = 14 * R,  [50] = 15 * R,  [51] = 16 * R, [64] = 17 * R, [65] = 18 * R,
    [257] = 19 * R, [251] = 20 * R, [252] = 21 * R,
};
#undef R
_Static_assert(SRVD_ZSTAT_QTYPES *SRVD_ZSTAT_RCODES <= 256, "cell index fits a byte");

const uint8_t zone_stat_rcode[16] = {0, 1, 2, 3, 4, 5, 7, 7, 7, 6, 7, 7, 7, 7, 7, 7};

const char *srvd_zstat_qtype_name(unsigned i)
{
	return i < SRVD_ZSTAT_QTYPES ? qtype_names[i] : NULL;
}

const char *srvd_zstat_rcode_name(unsigned i)
{
	return i < SRVD_ZSTAT_RCODES ? rcode_names[i] : NULL;
}

int srvd_zoneset_counters(srvd_zoneset_t *zs, unsigned rows)
{
	if (!zs || rows == 0)
		return SRVD_EINVAL;
	int rc = 0;
	for (size_t i = 0; i < zs->n; i++) {
		zone_t *z = zs->zones[i];
		if (z->ctr_tried)
			continue;
		/* Tried once only: a version published without counters may
		 * be read by a responder, so it must never get them later. */
		z->ctr_tried = true;
		z->ctr = aligned_alloc(_Alignof(zone_ctr_t), rows * sizeof(zone_ctr_t));
		if (!z->ctr) {
			rc = SRVD_ENOMEM;
			continue;
		}
		memset(z->ctr, 0, rows * sizeof(zone_ctr_t));
		z->ctr_rows = rows;
		z->ctr_size = rows * sizeof(zone_ctr_t);
	}
	return rc;
}

void zone_stats_marginals(srvd_zone_stats_t *out)
{
	memset(out->queries, 0, sizeof(out->queries));
	memset(out->rcode, 0, sizeof(out->rcode));
	for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++)
		for (unsigned c = 0; c < SRVD_ZSTAT_RCODES; c++) {
			out->queries[q] += out->n[q][c];
			out->rcode[c] += out->n[q][c];
		}
}

void zone_ctr_read(const zone_ctr_t *c, srvd_zone_stats_t *out)
{
	for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++)
		for (unsigned k = 0; k < SRVD_ZSTAT_RCODES; k++)
			out->n[q][k] += atomic_load_explicit(&c->n[q * SRVD_ZSTAT_RCODES + k],
			                                     memory_order_relaxed);
}

static void sum(const zone_t *z, srvd_zone_stats_t *out, bool zero)
{
	memset(out, 0, sizeof(*out));
	for (unsigned r = 0; z && r < z->ctr_rows; r++) {
		zone_ctr_read(&z->ctr[r], out);
		for (unsigned i = 0; zero && i < SRVD_ZSTAT_QTYPES * SRVD_ZSTAT_RCODES; i++)
			atomic_store_explicit(&z->ctr[r].n[i], 0, memory_order_relaxed);
	}
	zone_stats_marginals(out);
}

void srvd_zone_stats(const srvd_zone_t *z, srvd_zone_stats_t *out)
{
	if (out)
		sum(z, out, false);
}

void srvd_zone_stats_take(srvd_zone_t *z, srvd_zone_stats_t *out)
{
	if (out)
		sum(z, out, true);
}

void srvd_zone_stats_add(srvd_zone_stats_t *sum, const srvd_zone_stats_t *a)
{
	if (!sum || !a)
		return;
	for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++)
		for (unsigned c = 0; c < SRVD_ZSTAT_RCODES; c++)
			sum->n[q][c] += a->n[q][c];
	zone_stats_marginals(sum);
}
