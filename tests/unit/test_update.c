/* Dynamic update (src/update): what a client of RFC 2136 relies on. The
 * rcodes of the prerequisites, the update section's special cases (the
 * SOA, the apex's last NS, CNAME against other data, duplicates), that an
 * update is all or nothing, the grants of RFC 3007 and the acme shortcut,
 * and that the diff applied to the version gives the zone the client
 * expects. Messages are built here byte by byte, RDATA by ldns.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "test_xfr_util.h"
#include "update/update.h"

static const char *zone_text = "$ORIGIN example.com.\n"
                               "$TTL 3600\n"
                               "@ SOA ns1 hostmaster 100 7200 3600 1209600 300\n"
                               "@ NS ns1\n"
                               "@ NS ns2\n"
                               "ns1 A 192.0.2.1\n"
                               "ns2 A 192.0.2.2\n"
                               "matrix A 192.0.2.10\n"
                               "matrix AAAA 2001:db8::10\n"
                               "www CNAME matrix\n"
                               "_matrix-fed._tcp SRV 10 5 8448 matrix\n"
                               "txt TXT \"one\"\n"
                               "txt TXT \"two\"\n";

typedef struct msg {
	uint8_t b[8192];
	size_t n;
	int section; /* 0 prerequisites, 1 updates */
} msg_t;

static void m_init(msg_t *m, const char *zone)
{
	memset(m, 0, sizeof(*m));
	put_u16(m->b, 0x1234);
	put_u16(m->b + 2, DNS_OP_UPDATE << 11);
	put_u16(m->b + 4, 1);
	m->n = DNS_HDR_LEN;
	uint8_t w[255];
	size_t len;
	assert_int_equal(wire_name_from_str(zone, w, &len), 0);
	memcpy(m->b + m->n, w, len);
	m->n += len;
	put_u16(m->b + m->n, DNS_T_SOA);
	put_u16(m->b + m->n + 2, DNS_C_IN);
	m->n += 4;
}

/* rdata: presentation text of the type, or NULL for none. */
static void m_rr(msg_t *m, int section, const char *owner, uint16_t cls, uint32_t ttl,
                 uint16_t type, const char *rdata)
{
	assert_true(section >= m->section);
	m->section = section;
	uint8_t w[255];
	size_t len;
	assert_int_equal(wire_name_from_str(owner, w, &len), 0);
	memcpy(m->b + m->n, w, len);
	m->n += len;
	put_u16(m->b + m->n, type);
	put_u16(m->b + m->n + 2, cls);
	put_u32(m->b + m->n + 4, ttl);
	size_t rdlen = 0;
	if (rdata) {
		char text[600], *tname = ldns_rr_type2str((ldns_rr_type)type);
		ldns_rr *rr = NULL;
		snprintf(text, sizeof(text), "x. 0 IN %s %s", tname, rdata);
		free(tname);
		assert_int_equal(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_buffer *buf = ldns_buffer_new(1024);
		assert_int_equal(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
		rdlen = ldns_buffer_position(buf);
		memcpy(m->b + m->n + 10, ldns_buffer_begin(buf), rdlen);
		ldns_buffer_free(buf);
		ldns_rr_free(rr);
	}
	put_u16(m->b + m->n + 8, (uint16_t)rdlen);
	m->n += 10 + rdlen;
	size_t at = section == 0 ? 6 : 8;
	put_u16(m->b + at, (uint16_t)(get_u16(m->b + at) + 1));
}

static uint8_t g_origin[255];

static int setup(void **state)
{
	(void)state;
	tx_name("example.com", g_origin);
	return 0;
}

/* Evaluate m against z: the rcode, and *next (when not NULL) the new
 * version, or NULL when nothing changed. */
static unsigned run(const zone_t *z, const msg_t *m, zone_t **next)
{
	upd_verdict_t v;
	assert_int_equal(upd_scan(m->b, m->n, g_origin, 13, NULL, NULL, NULL, &v), 0);
	/* no policy: everything is refused, but only after the form checks */
	if (v.rcode != DNS_RC_REFUSED && v.rcode != DNS_RC_NOERROR)
		return v.rcode;
	upd_req_t *r = NULL;
	assert_int_equal(upd_req_new(m->b, m->n, &r), 0);
	upd_outcome_t out;
	assert_int_equal(upd_eval(z, r, UPD_SERIAL_INCREMENT, 0, 0, &out), 0);
	upd_req_free(r);
	if (next)
		*next = NULL;
	if (out.diff) {
		assert_int_equal(out.rcode, DNS_RC_NOERROR);
		zone_t *n = NULL;
		assert_int_equal(xfr_diff_apply(z, out.diff, NULL, &n), 0);
		assert_true(wire_serial_gt(n->serial, z->serial));
		if (next)
			*next = n;
		else
			srvd_zone_unref(n);
		xfr_diff_unref(out.diff);
	}
	return out.rcode;
}

static uint32_t node(const zone_t *z, const char *owner)
{
	uint8_t w[255], l[255];
	size_t len;
	assert_int_equal(wire_name_from_str(owner, w, &len), 0);
	wire_name_lower(l, w, len);
	return zone_find(z, l, len);
}

static unsigned count(const zone_t *z, const char *owner, uint16_t type)
{
	uint32_t i = node(z, owner);
	if (i == ZONE_NONE)
		return 0;
	const zone_rrset_t *s = zone_node_rrset(z, &z->nodes[i], type);
	return s ? s->count : 0;
}

static void test_add_txt(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", zone_text), *n = NULL;
	msg_t m;
	m_init(&m, "example.com");
	m_rr(&m, 1, "_acme-challenge.example.com", DNS_C_IN, 60, DNS_T_TXT, "\"token\"");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_non_null(n);
	assert_int_equal(n->serial, 101);
	assert_int_equal(count(n, "_acme-challenge.example.com", DNS_T_TXT), 1);
	assert_int_equal(count(n, "matrix.example.com", DNS_T_A), 1);
	assert_int_equal(n->n_records, z->n_records + 1);
	/* the same RR again is a duplicate: nothing changes */
	zone_t *again = NULL;
	assert_int_equal(run(n, &m, &again), DNS_RC_NOERROR);
	assert_null(again);
	srvd_zone_unref(n);
	srvd_zone_unref(z);
}

static void test_prerequisites(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", zone_text);
	static const struct {
		const char *owner;
		uint16_t cls, type;
		const char *rdata;
		unsigned rcode;
	} cases[] = {
	    {"matrix.example.com", DNS_C_ANY, DNS_T_ANY, NULL, DNS_RC_NOERROR},
	    {"nope.example.com", DNS_C_ANY, DNS_T_ANY, NULL, DNS_RC_NXDOMAIN},
	    {"_tcp.example.com", DNS_C_ANY, DNS_T_ANY, NULL, DNS_RC_NXDOMAIN}, /* an ENT */
	    {"matrix.example.com", DNS_C_ANY, DNS_T_A, NULL, DNS_RC_NOERROR},
	    {"matrix.example.com", DNS_C_ANY, DNS_T_TXT, NULL, UPD_RC_NXRRSET},
	    {"nope.example.com", DNS_C_NONE, DNS_T_ANY, NULL, DNS_RC_NOERROR},
	    {"matrix.example.com", DNS_C_NONE, DNS_T_ANY, NULL, DNS_RC_YXDOMAIN},
	    {"matrix.example.com", DNS_C_NONE, DNS_T_TXT, NULL, DNS_RC_NOERROR},
	    {"matrix.example.com", DNS_C_NONE, DNS_T_A, NULL, UPD_RC_YXRRSET},
	    {"matrix.example.com", DNS_C_IN, DNS_T_A, "192.0.2.10", DNS_RC_NOERROR},
	    {"matrix.example.com", DNS_C_IN, DNS_T_A, "192.0.2.11", UPD_RC_NXRRSET},
	    {"txt.example.com", DNS_C_IN, DNS_T_TXT, "\"one\"", UPD_RC_NXRRSET}, /* not all */
	    {"example.com", DNS_C_IN, DNS_T_NS, "NS1.example.com.", UPD_RC_NXRRSET},
	    {"other.test", DNS_C_ANY, DNS_T_ANY, NULL, UPD_RC_NOTZONE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msg_t m;
		m_init(&m, "example.com");
		m_rr(&m, 0, cases[i].owner, cases[i].cls, 0, cases[i].type, cases[i].rdata);
		/* an update that must not happen when the prerequisite fails */
		m_rr(&m, 1, "new.example.com", DNS_C_IN, 60, DNS_T_A, "192.0.2.99");
		zone_t *n = NULL;
		unsigned rc = run(z, &m, &n);
		if (rc != cases[i].rcode)
			fail_msg("case %zu: rcode %u, want %u", i, rc, cases[i].rcode);
		assert_int_equal(n != NULL, rc == DNS_RC_NOERROR);
		srvd_zone_unref(n);
	}
	/* value-dependent with the whole set, and names without case */
	msg_t m;
	m_init(&m, "example.com");
	m_rr(&m, 0, "txt.example.com", DNS_C_IN, 0, DNS_T_TXT, "\"two\"");
	m_rr(&m, 0, "TXT.example.com", DNS_C_IN, 0, DNS_T_TXT, "\"one\"");
	m_rr(&m, 0, "example.com", DNS_C_IN, 0, DNS_T_NS, "NS1.EXAMPLE.COM.");
	m_rr(&m, 0, "example.com", DNS_C_IN, 0, DNS_T_NS, "ns2.example.com.");
	assert_int_equal(run(z, &m, NULL), DNS_RC_NOERROR);
	srvd_zone_unref(z);
}

static void test_formerr(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", zone_text);
	msg_t m;
	m_init(&m, "example.com"); /* a prerequisite with a TTL */
	m_rr(&m, 0, "matrix.example.com", DNS_C_ANY, 5, DNS_T_ANY, NULL);
	assert_int_equal(run(z, &m, NULL), DNS_RC_FORMERR);
	m_init(&m, "example.com"); /* delete RRset with RDATA */
	m_rr(&m, 1, "matrix.example.com", DNS_C_ANY, 0, DNS_T_A, "192.0.2.10");
	assert_int_equal(run(z, &m, NULL), DNS_RC_FORMERR);
	m_init(&m, "example.com"); /* add with type ANY */
	m_rr(&m, 1, "matrix.example.com", DNS_C_IN, 0, DNS_T_ANY, NULL);
	assert_int_equal(run(z, &m, NULL), DNS_RC_FORMERR);
	m_init(&m, "example.com"); /* class CH */
	m_rr(&m, 1, "matrix.example.com", DNS_C_CH, 0, DNS_T_A, "192.0.2.10");
	assert_int_equal(run(z, &m, NULL), DNS_RC_FORMERR);
	m_init(&m, "example.com"); /* outside the zone */
	m_rr(&m, 1, "matrix.example.net", DNS_C_IN, 60, DNS_T_A, "192.0.2.10");
	assert_int_equal(run(z, &m, NULL), UPD_RC_NOTZONE);
	m_init(&m, "example.com"); /* truncated RR */
	m_rr(&m, 1, "matrix.example.com", DNS_C_IN, 60, DNS_T_A, "192.0.2.10");
	m.n -= 2;
	assert_int_equal(run(z, &m, NULL), DNS_RC_FORMERR);
	srvd_zone_unref(z);
}

static void test_deletes(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", zone_text), *n = NULL;
	msg_t m;
	m_init(&m, "example.com"); /* delete one RR of a set */
	m_rr(&m, 1, "txt.example.com", DNS_C_NONE, 0, DNS_T_TXT, "\"one\"");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(count(n, "txt.example.com", DNS_T_TXT), 1);
	srvd_zone_unref(n);
	m_init(&m, "example.com"); /* delete an RRset */
	m_rr(&m, 1, "matrix.example.com", DNS_C_ANY, 0, DNS_T_A, NULL);
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(count(n, "matrix.example.com", DNS_T_A), 0);
	assert_int_equal(count(n, "matrix.example.com", DNS_T_AAAA), 1);
	srvd_zone_unref(n);
	m_init(&m, "example.com"); /* delete a name */
	m_rr(&m, 1, "matrix.example.com", DNS_C_ANY, 0, DNS_T_ANY, NULL);
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(node(n, "matrix.example.com"), ZONE_NONE);
	assert_int_equal(count(n, "www.example.com", DNS_T_CNAME), 1);
	srvd_zone_unref(n);
	m_init(&m, "example.com"); /* the apex keeps its SOA and NS */
	m_rr(&m, 1, "example.com", DNS_C_ANY, 0, DNS_T_ANY, NULL);
	m_rr(&m, 1, "example.com", DNS_C_ANY, 0, DNS_T_NS, NULL);
	m_rr(&m, 1, "example.com", DNS_C_ANY, 0, DNS_T_SOA, NULL);
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_null(n);
	m_init(&m, "example.com"); /* the last NS is never deleted */
	m_rr(&m, 1, "example.com", DNS_C_NONE, 0, DNS_T_NS, "ns1.example.com.");
	m_rr(&m, 1, "example.com", DNS_C_NONE, 0, DNS_T_NS, "ns2.example.com.");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(count(n, "example.com", DNS_T_NS), 1);
	srvd_zone_unref(n);
	m_init(&m, "example.com"); /* deleting what is not there changes nothing */
	m_rr(&m, 1, "nope.example.com", DNS_C_ANY, 0, DNS_T_ANY, NULL);
	m_rr(&m, 1, "txt.example.com", DNS_C_NONE, 0, DNS_T_TXT, "\"three\"");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_null(n);
	srvd_zone_unref(z);
}

static void test_soa_and_cname(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", zone_text), *n = NULL;
	msg_t m;
	m_init(&m, "example.com"); /* an older serial is ignored */
	m_rr(&m, 1, "example.com", DNS_C_IN, 3600, DNS_T_SOA,
	     "ns1.example.com. hostmaster.example.com. 99 7200 3600 1209600 300");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_null(n);
	m_init(&m, "example.com"); /* a newer one is taken as it is */
	m_rr(&m, 1, "example.com", DNS_C_IN, 3600, DNS_T_SOA,
	     "ns1.example.com. hostmaster.example.com. 2000 7200 3600 1209600 300");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(n->serial, 2000);
	srvd_zone_unref(n);
	m_init(&m, "example.com"); /* the SOA elsewhere than the apex: ignored */
	m_rr(&m, 1, "matrix.example.com", DNS_C_IN, 3600, DNS_T_SOA,
	     "ns1.example.com. hostmaster.example.com. 2000 7200 3600 1209600 300");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_null(n);
	m_init(&m, "example.com"); /* CNAME beside data, data beside CNAME */
	m_rr(&m, 1, "matrix.example.com", DNS_C_IN, 60, DNS_T_CNAME, "www.example.com.");
	m_rr(&m, 1, "www.example.com", DNS_C_IN, 60, DNS_T_A, "192.0.2.3");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_null(n);
	m_init(&m, "example.com"); /* a CNAME replaces a CNAME */
	m_rr(&m, 1, "www.example.com", DNS_C_IN, 60, DNS_T_CNAME, "ns1.example.com.");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(count(n, "www.example.com", DNS_T_CNAME), 1);
	srvd_zone_unref(n);
	srvd_zone_unref(z);
}

static void test_ttl_and_order(void **state)
{
	(void)state;
	zone_t *z = tx_zone("example.com", zone_text), *n = NULL;
	msg_t m;
	/* delete then add in one message: RRs apply in order */
	m_init(&m, "example.com");
	m_rr(&m, 1, "txt.example.com", DNS_C_ANY, 0, DNS_T_TXT, NULL);
	m_rr(&m, 1, "txt.example.com", DNS_C_IN, 120, DNS_T_TXT, "\"one\"");
	assert_int_equal(run(z, &m, &n), DNS_RC_NOERROR);
	assert_int_equal(count(n, "txt.example.com", DNS_T_TXT), 1);
	const zone_rrset_t *s =
	    zone_node_rrset(n, &n->nodes[node(n, "txt.example.com")], DNS_T_TXT);
	assert_int_equal(s->ttl, 120);
	srvd_zone_unref(n);
	srvd_zone_unref(z);
}

static void test_policy(void **state)
{
	(void)state;
	srvd_update_grant_t g[3] = {{.acme = 1}, {.n_names = 1}, {.n_names = 0}};
	assert_int_equal(srvd_acl_key("acme-matrix", &g[0].who), 0);
	const char *dyn[] = {"*.dyn"};
	const uint16_t types[] = {DNS_T_A, DNS_T_AAAA};
	assert_int_equal(srvd_acl_key("ops", &g[1].who), 0);
	g[1].names = dyn;
	g[1].types = types;
	g[1].n_types = 2;
	g[2].who = (srvd_prefix_t){.family = 4, .bits = 8, .addr = {127}};
	g[2].names = (const char *const[]){"www"};
	g[2].n_names = 1;
	upd_policy_t p;
	assert_int_equal(upd_policy_init(g, 3, g_origin, &p), 0);
	uint8_t acme[255], ops[255], o[255];
	tx_name("acme-matrix", acme);
	tx_name("ops", ops);
	struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	struct sockaddr_in far = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000201)};
	tx_name("_acme-challenge.example.com", o);
	assert_true(upd_policy_allows(&p, acme, NULL, o, DNS_T_TXT));
	assert_false(upd_policy_allows(&p, acme, NULL, o, DNS_T_A));
	assert_false(upd_policy_allows(&p, ops, NULL, o, DNS_T_TXT));
	tx_name("_ACME-challenge.matrix.example.com", o);
	assert_true(upd_policy_allows(&p, acme, NULL, o, DNS_T_TXT));
	tx_name("matrix.example.com", o);
	assert_false(upd_policy_allows(&p, acme, NULL, o, DNS_T_TXT));
	assert_false(upd_policy_allows(&p, acme, NULL, o, DNS_T_A));
	tx_name("a.b.dyn.example.com", o);
	assert_true(upd_policy_allows(&p, ops, NULL, o, DNS_T_AAAA));
	assert_false(upd_policy_allows(&p, ops, NULL, o, DNS_T_ANY));
	assert_false(upd_policy_allows(&p, ops, NULL, o, DNS_T_TXT));
	tx_name("dyn.example.com", o);
	assert_false(upd_policy_allows(&p, ops, NULL, o, DNS_T_A));
	/* an address grant serves unsigned requests from that address only */
	tx_name("www.example.com", o);
	assert_true(upd_policy_allows(&p, NULL, &lo, o, DNS_T_A));
	assert_false(upd_policy_allows(&p, NULL, &far, o, DNS_T_A));
	assert_false(upd_policy_allows(&p, NULL, NULL, o, DNS_T_A));
	assert_true(upd_policy_knows(&p, NULL, &lo));
	assert_false(upd_policy_knows(&p, NULL, &far));
	/* scan: the acme key may not touch matrix A */
	msg_t m;
	m_init(&m, "example.com");
	m_rr(&m, 1, "_acme-challenge.example.com", DNS_C_IN, 60, DNS_T_TXT, "\"t\"");
	upd_verdict_t v;
	assert_int_equal(upd_scan(m.b, m.n, g_origin, 13, &p, acme, NULL, &v), 0);
	assert_int_equal(v.rcode, DNS_RC_NOERROR);
	m_rr(&m, 1, "matrix.example.com", DNS_C_IN, 60, DNS_T_A, "192.0.2.66");
	assert_int_equal(upd_scan(m.b, m.n, g_origin, 13, &p, acme, NULL, &v), 0);
	assert_int_equal(v.rcode, DNS_RC_REFUSED);
	assert_int_equal(v.type, DNS_T_A);
	assert_true(wire_name_eq(v.name, o) == false);
	upd_policy_deinit(&p);
}

static void test_serial_policy(void **state)
{
	(void)state;
	time_t t = 1700000000; /* 2023-11-14 */
	assert_int_equal(upd_next_serial(5, UPD_SERIAL_INCREMENT, t), 6);
	assert_int_equal(upd_next_serial(0xFFFFFFFFu, UPD_SERIAL_INCREMENT, t), 0);
	assert_int_equal(upd_next_serial(5, UPD_SERIAL_UNIXTIME, t), 1700000000u);
	assert_int_equal(upd_next_serial(1700000000u, UPD_SERIAL_UNIXTIME, t), 1700000001u);
	assert_int_equal(upd_next_serial(5, UPD_SERIAL_DATESERIAL, t), 2023111400u);
	assert_int_equal(upd_next_serial(2023111400u, UPD_SERIAL_DATESERIAL, t), 2023111401u);
}

static void test_reply(void **state)
{
	(void)state;
	msg_t m;
	m_init(&m, "example.com");
	m_rr(&m, 1, "x.example.com", DNS_C_IN, 60, DNS_T_A, "192.0.2.1");
	uint8_t buf[512];
	size_t len = 0;
	assert_int_equal(upd_reply(m.b, m.n, UPD_RC_NXRRSET, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 12 + 13 + 4);
	assert_int_equal(get_u16(buf), 0x1234);
	assert_int_equal(get_u16(buf + 2), DNS_QR | (DNS_OP_UPDATE << 11) | UPD_RC_NXRRSET);
	assert_int_equal(get_u16(buf + 4), 1);
	assert_int_equal(get_u16(buf + 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_txt),       cmocka_unit_test(test_prerequisites),
	    cmocka_unit_test(test_formerr),       cmocka_unit_test(test_deletes),
	    cmocka_unit_test(test_soa_and_cname), cmocka_unit_test(test_ttl_and_order),
	    cmocka_unit_test(test_policy),        cmocka_unit_test(test_serial_policy),
	    cmocka_unit_test(test_reply),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
