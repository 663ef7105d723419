/* Unit tests for empty things: a zone with no records (an empty or missing
 * zone file), a first record whose RDATA is empty (RFC 3597 allows
 * RDLENGTH 0, e.g. "x IN TYPE65534 \# 0"), and a zone set with no zones
 * (a server started before any zone loads).
 *
 * Kept apart from the other unit tests because under UBSan (asan-ubsan
 * preset, -fno-sanitize-recover) a failure here aborts the whole binary:
 * the library passed NULL buffers to memcpy/memcmp/qsort in these cases.
 */
#include "test_helpers.h"

/* A valid pointer with nothing behind it: the loader passes its buffer. */
static const uint8_t none[1];

/* An empty zone is refused with the missing-SOA error, not a crash. */
static void empty_zone_is_error(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_null(z);
	assert_int_equal(d.errors, 2); /* no SOA, no NS */
}

/* RDLENGTH 0 as the very first record added, then a normal zone. */
static void first_record_with_empty_rdata(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	assert_int_equal(th_add(b, "unk.example.com", 65534, 3600, none, 0), 0);
	assert_int_equal(th_add(b, "unk2.example.com", 65534, 3600, none, 0), 0);
	th_soa(b, "example.com", 3600, 1, 300);
	th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns.example.net");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	assert_int_equal(d.errors, 0);
	uint32_t n = th_find(z, "unk.example.com");
	assert_int_not_equal(n, ZONE_NONE);
	const zone_rrset_t *s = zone_node_rrset(z, &z->nodes[n], 65534);
	assert_non_null(s);
	assert_int_equal(s->count, 1);
	assert_int_equal(get_u16(z->rdata + s->data), 0); /* RDLENGTH 0 */
	srvd_zone_unref(z);
}

/* Only empty-RDATA records: every comparison is between empty buffers. */
static void only_empty_rdata_records(void **state)
{
	srvd_diag_t d = {0};
	zone_builder_t *b = th_builder("example.com", &d);
	assert_int_equal(th_add(b, "a.example.com", 65534, 3600, none, 0), 0);
	assert_int_equal(th_add(b, "a.example.com", 65534, 3600, none, 0), 0);
	assert_int_equal(th_add(b, "b.example.com", 65534, 3600, none, 0), 0);
	zone_t *z = NULL;
	/* No SOA: refused, after sorting and de-duplicating. */
	assert_int_equal(zone_builder_finish(b, &z), SRVD_EZONE);
	assert_int_equal(d.errors, 2);
}

/* A zone file that cannot be opened is an error with a diagnostic: the
 * builder is finished with no records (the same path as an empty file). */
static void missing_zone_file_is_error(void **state)
{
	srvd_zone_src_t src = {.origin = "example.com", .path = "/nonexistent/srvd/zone"};
	srvd_diag_t d = {0};
	srvd_zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, &d), SRVD_EZONE);
	assert_null(z);
	assert_true(d.errors >= 1);
}

/* An empty zone set is valid (n = 0, zones = NULL) and answers REFUSED. */
static void empty_zoneset(void **state)
{
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(NULL, 0, &zs), 0);
	assert_non_null(zs);
	assert_int_equal(srvd_zoneset_count(zs), 0);
	assert_null(srvd_zoneset_at(zs, 0));
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), 0);
	uint8_t q[300] = {0xAB, 0xCD, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t qn = 12 + th_name("example.com", q + 12);
	put_u16(q + qn, DNS_T_SOA);
	put_u16(q + qn + 2, DNS_C_IN);
	srvd_query_t sq = {.wire = q, .len = qn + 4, .transport = SRVD_UDP};
	uint8_t resp[512];
	size_t len = 0;
	assert_int_equal(srvd_respond(r, zs, &sq, resp, sizeof(resp), &len), SRVD_OK);
	assert_int_equal(resp[3] & 0xF, DNS_RC_REFUSED);
	srvd_responder_free(r);
	srvd_zoneset_unref(zs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(empty_zone_is_error),
	    cmocka_unit_test(first_record_with_empty_rdata),
	    cmocka_unit_test(only_empty_rdata_records),
	    cmocka_unit_test(missing_zone_file_is_error),
	    cmocka_unit_test(empty_zoneset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
