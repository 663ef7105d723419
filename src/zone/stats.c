/* Per-zone counters: the blocks a zone version carries, one row per
 * responder thread, and the bounded label sets they count by.
 *
 * Why the counters hang off the version: the responder already holds the
 * zone that answers, so counting costs one row offset and two adds, with
 * no lookup, no lock, no allocation and no shared cache line (rows are
 * 64-byte aligned). A version is immutable, but its counters are not part
 * of what it answers; they are set up once, before the version is
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
 * (255) is counted as "other": RFC 8482 answers make it uninteresting. */
const uint8_t zone_stat_qtype[512] = {
    [1] = 1,   [2] = 2,   [5] = 3,   [6] = 4,   [12] = 5,   [15] = 6,   [16] = 7,
    [28] = 8,  [33] = 9,  [35] = 10, [43] = 11, [46] = 12,  [47] = 13,  [48] = 14,
    [50] = 15, [51] = 16, [64] = 17, [65] = 18, [257] = 19, [251] = 20, [252] = 21,
};

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
	}
	return rc;
}

static void sum(const zone_t *z, srvd_zone_stats_t *out, bool zero)
{
	memset(out, 0, sizeof(*out));
	for (unsigned r = 0; z && r < z->ctr_rows; r++) {
		zone_ctr_t *c = &z->ctr[r];
		for (unsigned i = 0; i < SRVD_ZSTAT_QTYPES; i++) {
			out->queries[i] += atomic_load_explicit(&c->q[i], memory_order_relaxed);
			if (zero)
				atomic_store_explicit(&c->q[i], 0, memory_order_relaxed);
		}
		for (unsigned i = 0; i < SRVD_ZSTAT_RCODES; i++) {
			out->rcode[i] += atomic_load_explicit(&c->rcode[i], memory_order_relaxed);
			if (zero)
				atomic_store_explicit(&c->rcode[i], 0, memory_order_relaxed);
		}
	}
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
