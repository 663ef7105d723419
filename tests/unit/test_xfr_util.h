/* Helpers shared by the test_xfr_*.c unit tests: zones from text, DNS
 * messages built by ldns (an independent encoder, with name compression),
 * AXFR streams from our own cursor, and zone comparison through diffs. */
#ifndef SRVD_TEST_XFR_UTIL_H
#define SRVD_TEST_XFR_UTIL_H

#include "common/ldns.h"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "srvd/srvd.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/journal.h"
#include "xfr/xfr.h"
#include "zone/zone.h"

/* Load a zone from master-file text. Fails the test on any error. */
static inline zone_t *tx_zone(const char *origin, const char *text)
{
	char path[] = "/tmp/srvd-test-zone-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	srvd_zone_src_t src = {.origin = origin, .path = path};
	srvd_diag_t diag = {0};
	zone_t *z = NULL;
	int rc = srvd_zone_load(&src, &z, &diag);
	unlink(path);
	assert_int_equal(rc, 0);
	return z;
}

static inline void tx_name(const char *s, uint8_t out[255])
{
	size_t len;
	assert_int_equal(wire_name_from_str(s, out, &len), 0);
}

/* A response message from text RRs (absolute names), encoded by ldns. */
typedef struct tx_msg {
	uint16_t id;
	uint16_t flags;    /* QR/AA/rcode bits as in the header */
	const char *qname; /* NULL: no question */
	uint16_t qtype;
	const char *const *an;
	size_t n_an;
	const char *const *ar;
	size_t n_ar;
} tx_msg_t;

static inline uint8_t *tx_build(const tx_msg_t *m, size_t *len)
{
	ldns_pkt *p = ldns_pkt_new();
	assert_non_null(p);
	ldns_pkt_set_id(p, m->id);
	ldns_pkt_set_qr(p, (m->flags & DNS_QR) != 0);
	ldns_pkt_set_aa(p, (m->flags & DNS_AA) != 0);
	ldns_pkt_set_tc(p, (m->flags & DNS_TC) != 0);
	ldns_pkt_set_opcode(p, (ldns_pkt_opcode)dns_opcode(m->flags));
	ldns_pkt_set_rcode(p, (uint8_t)(m->flags & 0xF));
	if (m->qname) {
		ldns_rr *q = ldns_rr_new();
		ldns_rdf *owner = ldns_dname_new_frm_str(m->qname);
		assert_non_null(owner);
		ldns_rr_set_owner(q, owner);
		ldns_rr_set_type(q, (ldns_rr_type)m->qtype);
		ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
		ldns_rr_set_question(q, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	}
	for (size_t i = 0; i < m->n_an + m->n_ar; i++) {
		const char *text = i < m->n_an ? m->an[i] : m->ar[i - m->n_an];
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL);
		if (st != LDNS_STATUS_OK)
			fail_msg("ldns cannot parse '%s': %s", text, ldns_get_errorstr_by_id(st));
		ldns_pkt_push_rr(p, i < m->n_an ? LDNS_SECTION_ANSWER : LDNS_SECTION_ADDITIONAL,
		                 rr);
	}
	uint8_t *wire = NULL;
	assert_int_equal(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

/* A stream of messages. */
typedef struct tx_stream {
	uint8_t *msg[4096];
	size_t len[4096];
	size_t n;
} tx_stream_t;

static inline void tx_stream_free(tx_stream_t *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->msg[i]);
	s->n = 0;
}

/* The wire of an AXFR/IXFR query for z, to hand to our cursor. */
static inline srvd_xfr_t *tx_cursor(srvd_zoneset_t *zs, const uint8_t *query, size_t qlen)
{
	srvd_query_t q = {.wire = query, .len = qlen, .transport = SRVD_TCP};
	srvd_xfr_t *x = NULL;
	assert_int_equal(srvd_xfr_new(zs, &q, &x), 0);
	return x;
}

/* Drain a cursor into s with messages of at most cap bytes. */
static inline void tx_drain(srvd_xfr_t *x, size_t cap, tx_stream_t *s)
{
	int more = 1;
	while (more) {
		assert_true(s->n < sizeof(s->msg) / sizeof(s->msg[0]));
		uint8_t *buf = malloc(cap);
		size_t len = 0;
		assert_int_equal(srvd_xfr_next(x, buf, cap, &len, &more), 0);
		s->msg[s->n] = buf;
		s->len[s->n] = len;
		s->n++;
	}
}

/* Our own AXFR of z, in messages of at most cap bytes. */
static inline void tx_axfr(zone_t *z, uint16_t id, size_t cap, tx_stream_t *s)
{
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&z, 1, &zs), 0);
	uint8_t q[512];
	size_t qlen;
	assert_int_equal(xfr_query_axfr(z->origin, id, q, sizeof(q), &qlen), 0);
	srvd_xfr_t *x = tx_cursor(zs, q, qlen);
	tx_drain(x, cap, s);
	srvd_xfr_free(x);
	srvd_zoneset_unref(zs);
}

/* Same records (owner/type/rdata/TTL) and the same SOA. */
static inline void tx_assert_same(const zone_t *a, const zone_t *b)
{
	xfr_diff_t *d = NULL;
	assert_int_equal(xfr_diff_compute(a, b, &d), 0);
	if (d->n_removed != 1 || d->n_added != 1) {
		for (size_t i = 1; i < d->n_removed + d->n_added; i++) {
			const xfr_rr_t *rr =
			    i < d->n_removed ? &d->removed[i] : &d->added[i - d->n_removed];
			char name[1010];
			wire_name_to_str(rr->owner, name, sizeof(name));
			print_message("%s %s type %u ttl %u rdlen %u\n",
			              i < d->n_removed ? "-" : "+", name, rr->type, rr->ttl,
			              rr->rdlen);
		}
	}
	assert_int_equal(d->n_removed, 1);
	assert_int_equal(d->n_added, 1);
	assert_int_equal(d->removed[0].rdlen, d->added[0].rdlen);
	assert_memory_equal(d->removed[0].rdata, d->added[0].rdata, d->added[0].rdlen);
	assert_int_equal(d->removed[0].ttl, d->added[0].ttl);
	assert_int_equal(a->n_records, b->n_records);
	xfr_diff_unref(d);
}

/* Feed a whole stream; returns the last feed result. */
static inline int tx_feed_all(xfr_in_t *in, const tx_stream_t *s)
{
	int rc = XFR_IN_MORE;
	for (size_t i = 0; i < s->n && rc == XFR_IN_MORE; i++)
		rc = xfr_in_feed(in, s->msg[i], s->len[i]);
	return rc;
}

/* Read a fixture of TCP-framed messages ([u16 len][msg]...). */
static inline void tx_fixture(const char *name, tx_stream_t *s)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/%s", SRVD_SOURCE_DIR, name);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		fail_msg("fixture %s missing", path);
	uint8_t hdr[2];
	while (fread(hdr, 1, 2, fp) == 2) {
		size_t len = (size_t)hdr[0] << 8 | hdr[1];
		uint8_t *m = malloc(len ? len : 1);
		assert_int_equal(fread(m, 1, len, fp), len);
		assert_true(s->n < sizeof(s->msg) / sizeof(s->msg[0]));
		s->msg[s->n] = m;
		s->len[s->n] = len;
		s->n++;
	}
	fclose(fp);
}

#endif
