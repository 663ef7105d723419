/* Unit tests: the queries of a refresh (SOA, AXFR, IXFR), NOTIFY, and the
 * checks on single-message answers (xfr/query.c). Messages are decoded with
 * ldns and with our responder's parser, and answers come from ldns and from
 * our own responder. */
#include "test_xfr_util.h"

#include "respond/resp.h"

static const char *ZONE = "$ORIGIN example.com.\n"
                          "$TTL 3600\n"
                          "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
                          "@ NS ns1\n"
                          "ns1 A 192.0.2.1\n";

static uint8_t ORIGIN[255];

static int setup(void **state)
{
	(void)state;
	tx_name("example.com.", ORIGIN);
	return 0;
}

static ldns_pkt *parse(const uint8_t *wire, size_t len)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, wire, len), LDNS_STATUS_OK);
	return p;
}

static void check_question(ldns_pkt *p, uint16_t qtype)
{
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	char *name = ldns_rdf2str(ldns_rr_owner(q));
	assert_string_equal(name, "example.com.");
	free(name);
	assert_int_equal(ldns_rr_get_type(q), qtype);
	assert_int_equal(ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
}

static void test_soa_axfr_query(void **state)
{
	(void)state;
	uint8_t buf[512];
	size_t len;
	assert_int_equal(xfr_query_soa(ORIGIN, 0x1234, buf, sizeof(buf), &len), 0);
	ldns_pkt *p = parse(buf, len);
	assert_int_equal(ldns_pkt_id(p), 0x1234);
	assert_false(ldns_pkt_qr(p));
	assert_false(ldns_pkt_rd(p));
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
	check_question(p, LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);

	assert_int_equal(xfr_query_axfr(ORIGIN, 7, buf, sizeof(buf), &len), 0);
	p = parse(buf, len);
	assert_int_equal(ldns_pkt_id(p), 7);
	check_question(p, LDNS_RR_TYPE_AXFR);
	assert_int_equal(ldns_pkt_ancount(p) + ldns_pkt_nscount(p) + ldns_pkt_arcount(p), 0);
	ldns_pkt_free(p);

	/* too small */
	assert_int_equal(xfr_query_axfr(ORIGIN, 7, buf, 20, &len), SRVD_ESPACE);
	assert_int_equal(xfr_query_soa(NULL, 7, buf, sizeof(buf), &len), SRVD_EINVAL);
}

static void test_ixfr_query(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", ZONE);
	uint8_t buf[512];
	size_t len;
	assert_int_equal(xfr_query_ixfr(z, 99, buf, sizeof(buf), &len), 0);
	ldns_pkt *p = parse(buf, len);
	check_question(p, LDNS_RR_TYPE_IXFR);
	assert_int_equal(ldns_pkt_nscount(p), 1);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 2024010101u);
	ldns_pkt_free(p);
	/* and our responder reads the client serial out of it (RFC 1995 3) */
	resp_query_t q;
	assert_int_equal(resp_parse(buf, len, &q), PARSE_OK);
	assert_true(q.has_soa);
	assert_int_equal(q.soa_serial, 2024010101u);
	assert_int_equal(q.qtype, DNS_T_IXFR);
	assert_int_equal(xfr_query_ixfr(z, 99, buf, 40, &len), SRVD_ESPACE);
	srvd_zone_unref(z);
}

static void test_notify(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", ZONE);
	uint8_t buf[512];
	size_t len;
	assert_int_equal(xfr_query_notify(ORIGIN, z, 4242, buf, sizeof(buf), &len), 0);
	ldns_pkt *p = parse(buf, len);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	assert_true(ldns_pkt_aa(p));
	assert_false(ldns_pkt_qr(p));
	check_question(p, LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_pkt_ancount(p), 1);
	ldns_pkt_free(p);

	xfr_notify_t n;
	xfr_err_t err = {0};
	assert_int_equal(xfr_notify_parse(buf, len, &err, &n), 0);
	assert_int_equal(n.id, 4242);
	assert_true(wire_name_eq(n.origin, ORIGIN));
	assert_true(n.has_serial);
	assert_int_equal(n.serial, 2024010101u);
	assert_false(n.tsig);

	/* without the SOA hint */
	assert_int_equal(xfr_query_notify(ORIGIN, NULL, 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(xfr_notify_parse(buf, len, &err, &n), 0);
	assert_false(n.has_serial);

	/* the reply echoes ID and question, QR and AA set */
	uint8_t reply[512];
	size_t rlen;
	assert_int_equal(xfr_notify_reply(buf, len, DNS_RC_NOERROR, reply, sizeof(reply), &rlen),
	                 0);
	p = parse(reply, rlen);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_id(p), 1);
	assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	check_question(p, LDNS_RR_TYPE_SOA);
	ldns_pkt_free(p);
	/* the primary's side checks that reply */
	assert_int_equal(xfr_check_response(reply, rlen, ORIGIN, DNS_T_SOA, DNS_OP_NOTIFY, 1, &err),
	                 0);
	assert_int_equal(xfr_check_response(reply, rlen, ORIGIN, DNS_T_SOA, DNS_OP_NOTIFY, 2, &err),
	                 SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_ID);

	/* a plain query is not a NOTIFY */
	assert_int_equal(xfr_query_soa(ORIGIN, 1, buf, sizeof(buf), &len), 0);
	assert_int_equal(xfr_notify_parse(buf, len, &err, &n), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_OPCODE);
	/* truncated */
	assert_int_equal(xfr_query_notify(ORIGIN, z, 4242, buf, sizeof(buf), &len), 0);
	assert_int_equal(xfr_notify_parse(buf, len - 3, &err, &n), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_MALFORMED);
	srvd_zone_unref(z);
}

/* The SOA check against our own responder. */
static void test_soa_response_ours(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", ZONE);
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&z, 1, &zs), 0);
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), 0);
	uint8_t q[512], resp[4096];
	size_t qlen, rlen;
	assert_int_equal(xfr_query_soa(ORIGIN, 555, q, sizeof(q), &qlen), 0);
	srvd_query_t sq = {.wire = q, .len = qlen, .transport = SRVD_UDP};
	assert_int_equal(srvd_respond(r, zs, &sq, resp, sizeof(resp), &rlen), 0);
	xfr_err_t err = {0};
	uint32_t serial = 0;
	assert_int_equal(xfr_soa_response(resp, rlen, ORIGIN, 555, &err, &serial), 0);
	assert_int_equal(serial, 2024010101u);
	assert_int_equal(xfr_soa_response(resp, rlen, ORIGIN, 556, &err, &serial), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_ID);
	uint8_t other[255];
	tx_name("example.net.", other);
	assert_int_equal(xfr_soa_response(resp, rlen, other, 555, &err, &serial), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_QUESTION);
	/* the query itself is not a response */
	assert_int_equal(xfr_soa_response(q, qlen, ORIGIN, 555, &err, &serial), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_QR);
	srvd_responder_free(r);
	srvd_zoneset_unref(zs);
	srvd_zone_unref(z);
}

static void test_soa_response_errors(void **state)
{
	(void)state;
	const char *soa[] = {"example.com. 3600 IN SOA ns1.example.com. h.example.com. 77 1 2 3 4"};
	tx_msg_t m = {.id = 9,
	              .flags = DNS_QR | DNS_AA,
	              .qname = "example.com.",
	              .qtype = DNS_T_SOA,
	              .an = soa,
	              .n_an = 1};
	size_t len;
	uint8_t *w = tx_build(&m, &len);
	xfr_err_t err = {0};
	uint32_t serial = 0;
	assert_int_equal(xfr_soa_response(w, len, ORIGIN, 9, &err, &serial), 0);
	assert_int_equal(serial, 77);
	free(w);

	m.flags = DNS_QR; /* not authoritative */
	w = tx_build(&m, &len);
	assert_int_equal(xfr_soa_response(w, len, ORIGIN, 9, &err, &serial), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_FIRST_SOA);
	free(w);

	m.flags = DNS_QR | DNS_AA | DNS_RC_REFUSED;
	m.n_an = 0;
	w = tx_build(&m, &len);
	assert_int_equal(xfr_soa_response(w, len, ORIGIN, 9, &err, &serial), SRVD_EIO);
	assert_int_equal(err.fail, XFR_FAIL_RCODE);
	assert_int_equal(err.rcode, DNS_RC_REFUSED);
	assert_non_null(strstr(err.why, "REFUSED"));
	free(w);

	m.flags = DNS_QR | DNS_AA;
	w = tx_build(&m, &len);
	assert_int_equal(xfr_soa_response(w, len, ORIGIN, 9, &err, &serial), SRVD_EMALFORM);
	assert_int_equal(err.fail, XFR_FAIL_FIRST_SOA);
	free(w);

	const char *mx[] = {"example.com. 3600 IN MX 10 mail.example.com."};
	m.an = mx;
	m.n_an = 1;
	w = tx_build(&m, &len);
	assert_int_equal(xfr_soa_response(w, len, ORIGIN, 9, &err, &serial), SRVD_EMALFORM);
	free(w);

	assert_string_equal(xfr_rcode_name(9), "NOTAUTH");
	assert_string_equal(xfr_rcode_name(42), "RCODE42");
}

static void test_timers(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", ZONE);
	xfr_soa_timers_t t;
	xfr_zone_timers(z, &t);
	assert_int_equal(t.serial, 2024010101u);
	assert_int_equal(t.refresh, 7200);
	assert_int_equal(t.retry, 3600);
	assert_int_equal(t.expire, 1209600);
	assert_int_equal(t.minimum, 300);
	srvd_zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_soa_axfr_query),
	    cmocka_unit_test(test_ixfr_query),
	    cmocka_unit_test(test_notify),
	    cmocka_unit_test(test_soa_response_ours),
	    cmocka_unit_test(test_soa_response_errors),
	    cmocka_unit_test(test_timers),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
