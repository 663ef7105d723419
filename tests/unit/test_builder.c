/* Unit tests for the zone builder's checks (zone/builder.c).
 *
 * Errors refuse the zone (RFC 1035 5.2: one SOA at the apex, NS at the apex;
 * RFC 1034 3.6.2 / RFC 2181 10.1: a CNAME stands alone; records outside the
 * origin do not belong to it). A TTL that differs within an RRset is only a
 * warning, and the lowest TTL is served (RFC 2181 5.2). Exact duplicates
 * are dropped (RFC 2181 5).
 */
#include "test_helpers.h"

typedef struct findings {
	unsigned n;
	srvd_diag_level_t level[16];
	char zone[16][256];
	char msg[16][512];
	unsigned line[16];
} findings_t;

static void collect(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                    unsigned line, const char *msg)
{
	findings_t *f = ctx;
	if (f->n == 16)
		return;
	f->level[f->n] = level;
	snprintf(f->zone[f->n], sizeof(f->zone[0]), "%s", zone);
	snprintf(f->msg[f->n], sizeof(f->msg[0]), "%s", msg);
	f->line[f->n] = line;
	f->n++;
}

static bool any_msg_contains(const findings_t *f, const char *needle)
{
	for (unsigned i = 0; i < f->n; i++)
		if (strstr(f->msg[i], needle))
			return true;
	return false;
}

/* SOA + NS + glue: the smallest valid zone. */
static void base(zone_builder_t *b)
{
	th_soa(b, "example.com", 3600, 1, 300);
	assert_int_equal(th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns1.example.com"), 0);
	assert_int_equal(th_a(b, "ns1.example.com", 3600, "192.0.2.53"), 0);
}

static void valid_zone_builds(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	assert_non_null(z);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 0);
	srvd_zone_info_t info;
	assert_int_equal(srvd_zone_info(z, &info), 0);
	assert_string_equal(info.origin, "example.com.");
	assert_int_equal(info.serial, 1);
	assert_int_equal(info.records, 3);
	assert_int_equal(info.names, 2);
	assert_true(info.memory > 0);
	srvd_zone_unref(z);
}

static void no_soa_is_error(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns1.example.com");
	th_a(b, "ns1.example.com", 3600, "192.0.2.53");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_null(z);
	assert_true(d.errors >= 1);
	assert_true(any_msg_contains(&f, "SOA"));
	assert_string_equal(f.zone[0], "example.com.");
}

static void two_soas_is_error(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	th_soa(b, "example.com", 3600, 2, 300); /* a different serial: not a duplicate */
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_null(z);
	assert_int_equal(d.errors, 1);
	assert_true(any_msg_contains(&f, "more than one SOA"));
}

static void duplicate_soa_is_not_two(void **state)
{
	zone_builder_t *b = th_builder("example.com", NULL);
	base(b);
	th_soa(b, "example.com", 3600, 1, 300); /* the same record again */
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	srvd_zone_unref(z);
}

static void soa_below_apex_does_not_count(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	th_soa(b, "sub.example.com", 3600, 1, 300);
	th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns1.example.com");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_true(d.errors >= 1);
}

static void cname_and_other_data_is_error(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	th_name_rr(b, "www.example.com", DNS_T_CNAME, 3600, "ns1.example.com");
	th_a(b, "www.example.com", 3600, "192.0.2.80");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_int_equal(d.errors, 1);
	assert_true(any_msg_contains(&f, "www.example.com."));
	assert_true(any_msg_contains(&f, "CNAME"));
	assert_int_equal(f.line[0], 1); /* the record's line is reported */
}

static void two_cnames_is_error(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	th_name_rr(b, "www.example.com", DNS_T_CNAME, 3600, "ns1.example.com");
	th_name_rr(b, "www.example.com", DNS_T_CNAME, 3600, "example.com");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_int_equal(d.errors, 1);
}

static void cname_with_dnssec_records_is_fine(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	th_name_rr(b, "www.example.com", DNS_T_CNAME, 3600, "ns1.example.com");
	static const uint8_t nsec[] = {3,   'w', 'w', 'x', 7,   'e', 'x', 'a', 'm', 'p',
	                               'l', 'e', 3,   'c', 'o', 'm', 0,   0,   1,   0x04};
	assert_int_equal(th_add(b, "www.example.com", DNS_T_NSEC, 3600, nsec, sizeof(nsec)), 0);
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	assert_int_equal(d.errors, 0);
	srvd_zone_unref(z);
}

static void missing_apex_ns_is_error(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	th_soa(b, "example.com", 3600, 1, 300);
	/* NS below the apex is a delegation, not the zone's own NS. */
	th_name_rr(b, "sub.example.com", DNS_T_NS, 3600, "ns.example.net");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_int_equal(d.errors, 1);
	assert_true(any_msg_contains(&f, "NS"));
}

static void record_outside_origin_is_error(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	assert_int_equal(th_a(b, "www.example.net", 3600, "192.0.2.1"), SRVD_EZONE);
	/* A name that only ends like the origin is outside it too. */
	assert_int_equal(th_a(b, "badexample.com", 3600, "192.0.2.1"), SRVD_EZONE);
	assert_int_equal(d.errors, 2);
	assert_true(any_msg_contains(&f, "outside"));
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_null(z);
}

static void feeder_error_refuses_zone(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	zone_builder_diag(b, SRVD_DIAG_ERROR, "f.zone", 7, "syntax error %d", 1);
	zone_builder_diag(b, SRVD_DIAG_WARNING, "f.zone", 8, "only a warning");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.warnings, 1);
}

static void ttl_mismatch_warns_and_serves_lowest(void **state)
{
	findings_t f = {0};
	srvd_diag_t d = {.fn = collect, .ctx = &f};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	th_a(b, "multi.example.com", 600, "192.0.2.1");
	th_a(b, "multi.example.com", 300, "192.0.2.2");
	th_a(b, "multi.example.com", 900, "192.0.2.3");
	th_aaaa(b, "multi.example.com", 1200, "2001:db8::1"); /* another RRset: untouched */
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	assert_int_equal(d.errors, 0);
	assert_int_equal(d.warnings, 1);
	assert_int_equal(f.level[0], SRVD_DIAG_WARNING);
	assert_true(any_msg_contains(&f, "300"));
	uint32_t n = th_find(z, "multi.example.com");
	const zone_rrset_t *a = zone_node_rrset(z, &z->nodes[n], DNS_T_A);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->ttl, 300);
	assert_int_equal(zone_node_rrset(z, &z->nodes[n], DNS_T_AAAA)->ttl, 1200);

	/* And it is what a client gets. */
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&z, 1, &zs), 0);
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), 0);
	uint8_t q[300] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t qn = 12 + th_name("multi.example.com", q + 12);
	put_u16(q + qn, DNS_T_A);
	put_u16(q + qn + 2, DNS_C_IN);
	qn += 4;
	srvd_query_t sq = {.wire = q, .len = qn, .transport = SRVD_UDP};
	uint8_t resp[512];
	size_t len = 0;
	assert_int_equal(srvd_respond(r, zs, &sq, resp, sizeof(resp), &len), SRVD_OK);
	assert_int_equal(get_u16(resp + 6), 3);
	rd_t rd;
	rd_init(&rd, resp, len);
	rd_seek(&rd, qn);
	uint8_t name[255];
	for (int i = 0; i < 3; i++) {
		wire_name_read(&rd, true, name);
		assert_int_equal(rd_u16(&rd), DNS_T_A);
		rd_u16(&rd);
		assert_int_equal(rd_u32(&rd), 300);
		rd_skip(&rd, rd_u16(&rd));
	}
	assert_false(rd.err);
	srvd_responder_free(r);
	srvd_zoneset_unref(zs);
	srvd_zone_unref(z);
}

static void duplicates_removed(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	base(b);
	th_a(b, "dup.example.com", 300, "192.0.2.1");
	th_a(b, "DUP.example.com", 300, "192.0.2.1"); /* same owner, other case */
	th_a(b, "dup.example.com", 300, "192.0.2.2");
	th_a(b, "dup.example.com", 300, "192.0.2.1");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	assert_int_equal(d.errors + d.warnings, 0);
	uint32_t n = th_find(z, "dup.example.com");
	const zone_rrset_t *a = zone_node_rrset(z, &z->nodes[n], DNS_T_A);
	assert_int_equal(a->count, 2);
	srvd_zone_info_t info;
	srvd_zone_info(z, &info);
	assert_int_equal(info.records, 5);
	srvd_zone_unref(z);
}

static void negative_ttl_is_min_of_soa_ttl_and_minimum(void **state)
{
	/* RFC 2308 5: min(SOA TTL, SOA MINIMUM). */
	static const uint32_t cases[][3] = {{3600, 300, 300}, {60, 300, 60}, {300, 300, 300}};
	for (size_t i = 0; i < 3; i++) {
		zone_builder_t *b = th_builder("example.com", NULL);
		th_soa(b, "example.com", cases[i][0], 42, cases[i][1]);
		th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns.example.net");
		zone_t *z = NULL;
		assert_int_equal(zone_builder_finish(b, &z), 0);
		assert_int_equal(z->neg_ttl, cases[i][2]);
		assert_int_equal(z->serial, 42);
		srvd_zone_unref(z);
	}
}

static void empty_non_terminals_are_counted(void **state)
{
	zone_builder_t *b = th_builder("example.com", NULL);
	base(b);
	th_srv(b, "_matrix-fed._tcp.example.com", 3600, 10, 0, 8448, "ns1.example.com");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	srvd_zone_info_t info;
	srvd_zone_info(z, &info);
	assert_int_equal(info.names, 4); /* apex, ns1, _tcp (ENT), _matrix-fed._tcp */
	uint32_t ent = th_find(z, "_tcp.example.com");
	assert_int_not_equal(ent, ZONE_NONE);
	assert_int_equal(z->nodes[ent].n_rrset, 0);
	srvd_zone_unref(z);
}

static void additional_targets_linked(void **state)
{
	zone_builder_t *b = th_builder("example.com", NULL);
	base(b);
	th_srv(b, "_matrix-fed._tcp.example.com", 3600, 10, 0, 8448, "matrix.example.com");
	th_srv(b, "_matrix-fed._tcp.example.com", 3600, 20, 0, 8448, "other.example.net");
	th_srv(b, "_matrix-fed._tcp.example.com", 3600, 30, 0, 8448, "noaddr.example.com");
	th_srv(b, "_imap._tcp.example.com", 3600, 0, 0, 0, ".");
	th_a(b, "matrix.example.com", 3600, "192.0.2.10");
	th_txt(b, "noaddr.example.com", 3600, "no address here");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	uint32_t n = th_find(z, "_matrix-fed._tcp.example.com");
	const zone_rrset_t *s = zone_node_rrset(z, &z->nodes[n], DNS_T_SRV);
	assert_int_not_equal(s->links, ZONE_NONE);
	/* Sorted by rdata: priority 10, 20, 30. */
	assert_int_equal(z->links[s->links + 0], th_find(z, "matrix.example.com"));
	assert_int_equal(z->links[s->links + 1], ZONE_NONE); /* out of zone */
	assert_int_equal(z->links[s->links + 2], ZONE_NONE); /* no address */
	n = th_find(z, "_imap._tcp.example.com");
	s = zone_node_rrset(z, &z->nodes[n], DNS_T_SRV);
	assert_int_equal(z->links[s->links], ZONE_NONE); /* "." */
	n = th_find(z, "example.com");
	s = zone_node_rrset(z, &z->nodes[n], DNS_T_NS);
	assert_int_equal(z->links[s->links], th_find(z, "ns1.example.com"));
	srvd_zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_zone_builds),
	    cmocka_unit_test(no_soa_is_error),
	    cmocka_unit_test(two_soas_is_error),
	    cmocka_unit_test(duplicate_soa_is_not_two),
	    cmocka_unit_test(soa_below_apex_does_not_count),
	    cmocka_unit_test(cname_and_other_data_is_error),
	    cmocka_unit_test(two_cnames_is_error),
	    cmocka_unit_test(cname_with_dnssec_records_is_fine),
	    cmocka_unit_test(missing_apex_ns_is_error),
	    cmocka_unit_test(record_outside_origin_is_error),
	    cmocka_unit_test(feeder_error_refuses_zone),
	    cmocka_unit_test(ttl_mismatch_warns_and_serves_lowest),
	    cmocka_unit_test(duplicates_removed),
	    cmocka_unit_test(negative_ttl_is_min_of_soa_ttl_and_minimum),
	    cmocka_unit_test(empty_non_terminals_are_counted),
	    cmocka_unit_test(additional_targets_linked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
