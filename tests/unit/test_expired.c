/* Expired secondary zones and NOTIFY answers through the public API:
 * srvd_zone_new_expired makes every name of the zone SERVFAIL (no AA),
 * transfers included, also at the end of a CNAME chain from another zone,
 * while the other zones of the set answer as before; srvd_respond_notify
 * echoes the question and the OPT. */
#include <stdlib.h>

#include "test_helpers.h"

static srvd_zoneset_t *g_zs;
static srvd_responder_t *g_r;

static int setup(void **state)
{
	(void)state;
	zone_builder_t *b;
	uint8_t origin[255];
	th_name("example.com", origin);
	assert_int_equal(zone_builder_new(origin, NULL, &b), 0);
	th_soa(b, "example.com", 3600, 7, 300);
	assert_int_equal(th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns1.example.com"), 0);
	assert_int_equal(th_a(b, "ns1.example.com", 3600, "192.0.2.1"), 0);
	assert_int_equal(th_name_rr(b, "alias.example.com", DNS_T_CNAME, 3600, "www.sec.test"), 0);
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	zone_t *e = NULL;
	assert_int_equal(srvd_zone_new_expired("sec.test.", &e), 0);
	assert_true(srvd_zone_is_expired(e));
	assert_false(srvd_zone_is_expired(z));
	srvd_zone_info_t info;
	assert_int_equal(srvd_zone_info(e, &info), 0);
	assert_string_equal(info.origin, "sec.test.");
	assert_int_equal(info.records, 0);
	zone_t *v[2] = {z, e};
	assert_int_equal(srvd_zoneset_new(v, 2, &g_zs), 0);
	srvd_zone_unref(z);
	srvd_zone_unref(e);
	assert_int_equal(srvd_responder_new(NULL, &g_r), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	srvd_zoneset_unref(g_zs);
	srvd_responder_free(g_r);
	return 0;
}

/* A query: header with opcode, one question, and an OPT when edns. */
static size_t make_query(uint8_t *buf, const char *name, uint16_t type, unsigned opcode, bool edns)
{
	memset(buf, 0, 12);
	put_u16(buf, 0x1234);
	put_u16(buf + 2, (uint16_t)(opcode << 11));
	put_u16(buf + 4, 1);
	size_t n = 12 + th_name(name, buf + 12);
	put_u16(buf + n, type);
	put_u16(buf + n + 2, DNS_C_IN);
	n += 4;
	if (edns) {
		put_u16(buf + 10, 1);
		static const uint8_t opt[11] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
		memcpy(buf + n, opt, sizeof(opt));
		n += sizeof(opt);
	}
	return n;
}

static int ask(const char *name, uint16_t type, srvd_transport_t t, uint8_t *resp, size_t *len)
{
	uint8_t q[512];
	srvd_query_t sq = {.wire = q, .len = make_query(q, name, type, 0, true), .transport = t};
	return srvd_respond(g_r, g_zs, &sq, resp, 4096, len);
}

static void test_servfail(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint16_t type;
	} cases[] = {{"sec.test", DNS_T_SOA},
	             {"www.sec.test", DNS_T_A},
	             {"a.b.SEC.test", DNS_T_TXT},
	             {"sec.test", DNS_T_DS}};
	uint8_t resp[4096];
	size_t len = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(ask(cases[i].name, cases[i].type, SRVD_UDP, resp, &len), 0);
		uint16_t flags = get_u16(resp + 2);
		assert_int_equal(flags & 0xF, DNS_RC_SERVFAIL);
		assert_int_equal(flags & DNS_AA, 0);
		assert_int_equal(get_u16(resp + 6), 0);  /* no answer */
		assert_int_equal(get_u16(resp + 10), 1); /* the OPT */
	}
}

static void test_other_zone_answers(void **state)
{
	(void)state;
	uint8_t resp[4096];
	size_t len = 0;
	assert_int_equal(ask("ns1.example.com", DNS_T_A, SRVD_UDP, resp, &len), 0);
	assert_int_equal(get_u16(resp + 2) & 0xF, DNS_RC_NOERROR);
	assert_true(get_u16(resp + 2) & DNS_AA);
	assert_int_equal(get_u16(resp + 6), 1);
	/* The chain starts in a served zone: its CNAME, then SERVFAIL. */
	assert_int_equal(ask("alias.example.com", DNS_T_A, SRVD_UDP, resp, &len), 0);
	assert_int_equal(get_u16(resp + 2) & 0xF, DNS_RC_SERVFAIL);
	assert_int_equal(get_u16(resp + 6), 1);
}

static void test_transfer(void **state)
{
	(void)state;
	uint8_t resp[4096];
	size_t len = 0;
	assert_int_equal(ask("sec.test", DNS_T_AXFR, SRVD_TCP, resp, &len), 0);
	assert_int_equal(get_u16(resp + 2) & 0xF, DNS_RC_SERVFAIL);
	uint8_t q[512];
	srvd_query_t sq = {.wire = q, .len = make_query(q, "sec.test", DNS_T_AXFR, 0, false)};
	srvd_xfr_t *x = NULL;
	assert_int_equal(srvd_xfr_new(g_zs, &sq, &x), SRVD_ENOENT);
}

static void test_notify_answer(void **state)
{
	(void)state;
	uint8_t q[512], resp[4096];
	size_t len = 0;
	for (int edns = 0; edns < 2; edns++) {
		srvd_query_t sq = {.wire = q, .len = make_query(q, "Sec.Test", DNS_T_SOA, 4, edns)};
		assert_int_equal(
		    srvd_respond_notify(g_r, &sq, DNS_RC_NOERROR, resp, sizeof(resp), &len), 0);
		uint16_t flags = get_u16(resp + 2);
		assert_true(flags & DNS_QR);
		assert_int_equal((flags >> 11) & 0xF, 4);
		assert_int_equal(flags & 0xF, DNS_RC_NOERROR);
		assert_int_equal(get_u16(resp + 4), 1);
		assert_int_equal(get_u16(resp + 10), edns ? 1 : 0);
		assert_memory_equal(resp + 12, q + 12, 10); /* the question, case kept */
		assert_int_equal(
		    srvd_respond_notify(g_r, &sq, DNS_RC_REFUSED, resp, sizeof(resp), &len), 0);
		assert_int_equal(get_u16(resp + 2) & 0xF, DNS_RC_REFUSED);
	}
	/* Not a NOTIFY: the caller must use srvd_respond. */
	srvd_query_t sq = {.wire = q, .len = make_query(q, "sec.test", DNS_T_SOA, 0, false)};
	assert_int_equal(srvd_respond_notify(g_r, &sq, 0, resp, sizeof(resp), &len), SRVD_EINVAL);
	assert_int_equal(srvd_zone_new_expired("bad..name", &(srvd_zone_t *){NULL}), SRVD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_servfail),
	    cmocka_unit_test(test_other_zone_answers),
	    cmocka_unit_test(test_transfer),
	    cmocka_unit_test(test_notify_answer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
