/* Proof that answering allocates nothing (DESIGN.md: "Nothing on the path
 * takes a lock or calls malloc").
 *
 * This binary defines malloc, calloc, realloc, free, posix_memalign and
 * aligned_alloc itself. They forward to glibc's __libc_* functions and,
 * while `counting` is set, count every call. The zones are loaded and the
 * responder made before counting starts; then a mix of queries that walks
 * every branch of the answer path goes through srvd_respond, over UDP and
 * TCP, and the count must stay 0. DO=1 queries over the signed zones
 * walk the DNSSEC paths too: signatures, NSEC and NSEC3 proofs (with the
 * per-query NSEC3 hash), signed referrals, truncation. The same holds for
 * the front door with TSIG, NOTIFY, rate limiting and DNS cookies.
 *
 * Meaningful only without sanitizers (they own the allocator): the CMake
 * file does not build it under SRVD_SANITIZE or SRVD_FUZZ.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "common/log.h"
#include "test_helpers.h"
#include "xfr/tsig.h"

#include "counting_alloc.h"

/* ---- queries ----------------------------------------------------------- */

typedef struct qspec {
	const char *name;
	uint16_t type;
	uint16_t qclass;
	uint16_t payload; /* 0: no EDNS */
	bool nsid;
	int rcode;   /* what the answer must say, so the work really happened */
	bool tc;     /* over UDP */
	bool dnssec; /* the DO bit */
} qspec_t;

static const qspec_t queries[] = {
    {"matrix.example.com", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"_matrix-fed._tcp.example.com", DNS_T_SRV, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false,
     false},
    {"_MATRIX._tcp.Example.com", DNS_T_SRV, DNS_C_IN, 0, false, DNS_RC_NOERROR, false, false},
    {"example.com", DNS_T_MX, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"example.com", DNS_T_NS, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"nosuch.example.com", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NXDOMAIN, false, false},
    {"matrix.example.com", DNS_T_TXT, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"_tcp.example.com", DNS_T_SRV, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"a.b.wild.test", DNS_T_TXT, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"foo.cn.wild.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"x.loop.wild.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"a.cname.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"toexample.cname.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"loop1.cname.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"x.dn.cname.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"nothere.dn.cname.test", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NXDOMAIN, false, false},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.long.cname.test", DNS_T_A,
     DNS_C_IN, 1232, false, DNS_RC_YXDOMAIN, false, false},
    {"www.deleg.example.com", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"www.fat.example.com", DNS_T_A, DNS_C_IN, 0, false, DNS_RC_NOERROR, true, false},
    {"deleg.example.com", DNS_T_DS, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"sub.example.com", DNS_T_DS, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"example.com", DNS_T_ANY, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, false},
    {"example.com", DNS_T_SOA, DNS_C_IN, 1232, true, DNS_RC_NOERROR, false, false},
    {"big.example.com", DNS_T_A, DNS_C_IN, 0, false, DNS_RC_NOERROR, true, false},
    {"tobig.example.com", DNS_T_A, DNS_C_IN, 0, false, DNS_RC_NOERROR, true, false},
    {"version.bind", DNS_T_TXT, DNS_C_CH, 1232, false, DNS_RC_NOERROR, false, false},
    {"id.server", DNS_T_TXT, DNS_C_CH, 0, false, DNS_RC_NOERROR, false, false},
    {"example.com", DNS_T_SOA, DNS_C_HS, 1232, false, DNS_RC_REFUSED, false, false},
    {"www.example.org", DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_REFUSED, false, false},
    {"xfr.test", DNS_T_AXFR, DNS_C_IN, 1232, false, DNS_RC_NOTIMP, false, false}, /* over UDP */
#define SIGNED(zone)                                                                               \
	{"_matrix-fed._tcp." zone, DNS_T_SRV, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true}, \
	    {"www." zone, DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},            \
	    {"nosuch." zone, DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NXDOMAIN, false, true},        \
	    {"matrix." zone, DNS_T_TXT, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},       \
	    {"_tcp." zone, DNS_T_SRV, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},         \
	    {"foo.wild." zone, DNS_T_TXT, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},     \
	    {"foo.wild." zone, DNS_T_MX, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},      \
	    {"www.secure." zone, DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},     \
	    {"www.insecure." zone, DNS_T_A, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},   \
	    {"insecure." zone, DNS_T_DS, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},      \
	    {zone, DNS_T_ANY, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true},                 \
	{                                                                                          \
		"matrix." zone, DNS_T_RRSIG, DNS_C_IN, 1232, false, DNS_RC_NOERROR, false, true    \
	}
    SIGNED("nsec.test"),
    SIGNED("nsec3.test"),
    SIGNED("nsec3o.test"),
    /* the NSEC3 proof does not fit in 512 bytes: TC */
    {"nosuch.nsec3.test", DNS_T_A, DNS_C_IN, 512, false, DNS_RC_NXDOMAIN, true, true},
};

typedef struct wire {
	uint8_t b[512];
	size_t n;
	int rcode;
	bool tc;
	bool tcp_ok; /* also meaningful over TCP */
} wire_t;

static wire_t wires[128];
static size_t n_wires;

static void encode(const qspec_t *q)
{
	wire_t *w = &wires[n_wires++];
	wr_t o;
	wr_init(&o, w->b, sizeof(w->b));
	uint8_t name[255];
	size_t nl = th_name(q->name, name);
	wr_u16(&o, (uint16_t)(0x1000 + n_wires));
	wr_u16(&o, DNS_RD);
	wr_u16(&o, 1);
	wr_u16(&o, 0);
	wr_u16(&o, 0);
	wr_u16(&o, q->payload ? 1 : 0);
	wr_bytes(&o, name, nl);
	wr_u16(&o, q->type);
	wr_u16(&o, q->qclass);
	if (q->payload) {
		wr_u8(&o, 0);
		wr_u16(&o, DNS_T_OPT);
		wr_u16(&o, q->payload);
		wr_u32(&o, q->dnssec ? EDNS_DO : 0);
		wr_u16(&o, q->nsid ? 4 : 0);
		if (q->nsid) {
			wr_u16(&o, EDNS_OPT_NSID);
			wr_u16(&o, 0);
		}
	}
	assert_false(o.err);
	w->n = o.pos;
	w->rcode = q->rcode;
	w->tc = q->tc;
	w->tcp_ok = q->type != DNS_T_AXFR;
}

/* Raw requests for the error paths. */
static void encode_raw(const uint8_t *b, size_t n, int rcode)
{
	wire_t *w = &wires[n_wires++];
	memcpy(w->b, b, n);
	w->n = n;
	w->rcode = rcode;
	w->tcp_ok = true;
}

static void build_queries(void)
{
	n_wires = 0;
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		encode(&queries[i]);
	/* IXFR over UDP with the client's SOA: the single current SOA. */
	static const uint8_t ixfr[] = {
	    0x77, 0x01, 0, 0,   0, 1, 0,    0,  0, 1, 0, 0, 3, 'x', 'f', 'r', 4, 't', 'e', 's',
	    't',  0,    0, 251, 0, 1, 0xC0, 12, 0, 6, 0, 1, 0, 0,   0,   0,   0, 22,  0,   0,
	    0,    0,    0, 41,  0, 0, 0,    0,  0, 0, 0, 0, 0, 0,   0,   0,   0, 0,   0,   0};
	encode_raw(ixfr, sizeof(ixfr), DNS_RC_NOERROR);
	wires[n_wires - 1].tcp_ok = false; /* over TCP with an old serial: SRVD_XFR */
	/* QDCOUNT 2: FORMERR. */
	uint8_t two[512];
	memcpy(two, wires[0].b, wires[0].n);
	two[5] = 2;
	encode_raw(two, wires[0].n, DNS_RC_FORMERR);
	/* Two OPT records: FORMERR. */
	uint8_t opt2[512];
	size_t n = wires[0].n;
	memcpy(opt2, wires[0].b, n);
	memcpy(opt2 + n, wires[0].b + n - 11, 11);
	opt2[11] = 2;
	encode_raw(opt2, n + 11, DNS_RC_FORMERR);
	/* EDNS version 1: BADVERS (16: 0 in the header, 1 in the OPT). */
	uint8_t v1[512];
	memcpy(v1, wires[0].b, n);
	v1[n - 11 + 6] = 1;
	encode_raw(v1, n, DNS_RC_BADVERS & 0xF);
	/* Opcode STATUS: NOTIMP. */
	uint8_t op[512];
	memcpy(op, wires[0].b, n);
	op[2] = 2 << 3;
	encode_raw(op, n, DNS_RC_NOTIMP);
	/* A question cut short: FORMERR. */
	encode_raw(wires[0].b, 20, DNS_RC_FORMERR);
}

/* ---- the test --------------------------------------------------------- */

static srvd_zoneset_t *g_zs;
static srvd_responder_t *g_r;

static int setup(void **state)
{
	static const srvd_prefix_t acl = {.family = 4, .bits = 8, .addr = {127}};
	srvd_zone_src_t src[] = {
	    {.origin = "example.com",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/example.com.zone"},
	    {.origin = "sub.example.com",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/sub.example.com.zone"},
	    {.origin = "wild.test", .path = SRVD_SOURCE_DIR "/tests/golden/zones/wild.test.zone"},
	    {.origin = "cname.test", .path = SRVD_SOURCE_DIR "/tests/golden/zones/cname.test.zone"},
	    {.origin = "xfr.test",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/xfr.test.zone",
	     .allow_transfer = &acl,
	     .n_allow_transfer = 1},
	    {.origin = "nsec.test",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/dnssec/nsec.test.signed"},
	    {.origin = "nsec3.test",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/dnssec/nsec3.test.signed"},
	    {.origin = "nsec3o.test",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/dnssec/nsec3o.test.signed"},
	};
	srvd_diag_t diag = {0};
	assert_int_equal(srvd_zoneset_load(src, sizeof(src) / sizeof(src[0]), &g_zs, &diag), 0);
	/* Per-zone counters on, as the daemon has them (row 0, the responder's). */
	assert_int_equal(srvd_zoneset_counters(g_zs, 1), 0);
	srvd_responder_opts_t o = {.nsid = "ns1", .identity = "ns1.test", .version = "1"};
	assert_int_equal(srvd_responder_new(&o, &g_r), 0);
	build_queries();
	return 0;
}

static int teardown(void **state)
{
	srvd_responder_free(g_r);
	srvd_zoneset_unref(g_zs);
	return 0;
}

/* The counter itself works: otherwise a 0 below would prove nothing. */
static void counter_sees_allocations(void **state)
{
	/* Through volatile pointers, so the compiler cannot pair and drop them. */
	void *(*volatile m)(size_t) = malloc;
	void *(*volatile c)(size_t, size_t) = calloc;
	void *(*volatile re)(void *, size_t) = realloc;
	int (*volatile pm)(void **, size_t, size_t) = posix_memalign;
	void *(*volatile al)(size_t, size_t) = aligned_alloc;
	char *(*volatile sd)(const char *) = strdup;
	void (*volatile f)(void *) = free;
	n_alloc = n_free = 0;
	counting = 1;
	void *p = m(32);
	void *q = c(2, 8);
	p = re(p, 64);
	void *a = NULL;
	int rc = pm(&a, 64, 64);
	void *b = al(64, 64);
	char *s = sd("also through malloc");
	f(p);
	f(q);
	f(a);
	f(b);
	f(s);
	counting = 0;
	assert_int_equal(rc, 0);
	assert_int_equal(n_alloc, 6);
	assert_int_equal(n_free, 5);
}

static void respond_allocates_nothing(void **state)
{
	static uint8_t resp[65535];
	int rc[128][2];
	int rcode[128];
	bool tc[128];
	size_t len = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	n_alloc = n_free = 0;
	counting = 1;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < n_wires; i++) {
			for (int t = 0; t < 2; t++) {
				if (t == 1 && !wires[i].tcp_ok)
					continue;
				srvd_query_t q = {.wire = wires[i].b,
				                  .len = wires[i].n,
				                  .transport = t ? SRVD_TCP : SRVD_UDP,
				                  .src_addr = &sa};
				rc[i][t] = srvd_respond(g_r, g_zs, &q, resp, sizeof(resp), &len);
				if (t == 0) {
					rcode[i] = resp[3] & 0xF;
					tc[i] = (resp[2] & 0x02) != 0;
				}
			}
		}
	}
	srvd_stats_t st;
	srvd_responder_stats(g_r, &st);
	counting = 0;
	unsigned long allocs = n_alloc, frees = n_free;
	/* The answers were real answers, not early errors. */
	for (size_t i = 0; i < n_wires; i++) {
		if (rc[i][0] != SRVD_OK || (wires[i].tcp_ok && rc[i][1] != SRVD_OK))
			fail_msg("query %zu: srvd_respond returned %d", i, rc[i][0]);
		if (rcode[i] != wires[i].rcode || tc[i] != wires[i].tc)
			fail_msg("query %zu: rcode %d tc %d, want %d %d", i, rcode[i], tc[i],
			         wires[i].rcode, wires[i].tc);
	}
	/* Every answer counts once, by type and rcode: in the row of the zone
	 * that gave it, or in the responder's own row (no zone). */
	uint64_t answers = 0, want = 0, in_zones = 0;
	for (size_t z = 0; z < srvd_zoneset_count(g_zs); z++) {
		srvd_zone_stats_t zst;
		srvd_zone_stats(srvd_zoneset_at(g_zs, z), &zst);
		for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++)
			in_zones += zst.queries[q];
	}
	for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++)
		answers += st.unzoned.queries[q];
	assert_true(in_zones > answers); /* most queries have a zone */
	answers += in_zones;
	for (size_t i = 0; i < n_wires; i++)
		want += 3u * (wires[i].tcp_ok ? 2u : 1u);
	assert_int_equal(answers, want);
	assert_true(st.unzoned.rcode[1] >= 3 * 2); /* the FORMERR requests */
	assert_true(st.truncated > 0);
	if (allocs || frees)
		fail_msg("answering called the allocator: %lu allocations, %lu frees", allocs,
		         frees);
}

/* ---- the front door: TSIG-signed queries and NOTIFY ------------------- */

static const srvd_key_src_t g_key = {"noalloc-key", "hmac-sha256",
                                     "ZmFrZS1zZWNyZXQtZm9yLXRoZS1ub2FsbG9jLXRlc3Q="};

/* wires[i] signed with g_key, as a client would send it. */
static void sign_wire(const wire_t *in, wire_t *out)
{
	xfr_tsig_key_t k;
	assert_int_equal(xfr_tsig_key_init(g_key.name, g_key.algorithm, g_key.secret, &k), 0);
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	memcpy(out, in, sizeof(*out));
	assert_int_equal(xfr_tsig_sign(&t, in->b, in->n, out->b, sizeof(out->b), &out->n), 0);
	xfr_tsig_deinit(&t);
}

/* NOTIFY for example.com, SOA IN, with the serial hint in the answer. */
static void notify_wire(wire_t *w)
{
	wr_t o;
	wr_init(&o, w->b, sizeof(w->b));
	uint8_t name[255];
	size_t nl = th_name("example.com", name);
	wr_u16(&o, 0x4242);
	wr_u16(&o, (uint16_t)(DNS_OP_NOTIFY << 11) | DNS_AA);
	wr_u16(&o, 1);
	wr_u16(&o, 1);
	wr_u16(&o, 0);
	wr_u16(&o, 0);
	wr_bytes(&o, name, nl);
	wr_u16(&o, DNS_T_SOA);
	wr_u16(&o, DNS_C_IN);
	wr_u16(&o, 0xC00C);
	wr_u16(&o, DNS_T_SOA);
	wr_u16(&o, DNS_C_IN);
	wr_u32(&o, 3600);
	wr_u16(&o, 22);
	wr_u8(&o, 0);
	wr_u8(&o, 0);
	wr_u32(&o, 2026120501);
	for (int i = 0; i < 4; i++)
		wr_u32(&o, 3600);
	assert_false(o.err);
	w->n = o.pos;
	w->rcode = DNS_RC_NOERROR;
}

static void dispatch_allocates_nothing(void **state)
{
	srvd_keyring_t *keys = NULL;
	assert_int_equal(srvd_keyring_new(&g_key, 1, &keys), 0);
	srvd_prefix_t from = {.family = 4, .bits = 8, .addr = {127}};
	srvd_zone_rule_t rule = {
	    .origin = "example.com", .secondary = 1, .notify_from = &from, .n_notify_from = 1};
	srvd_server_t *srv = NULL;
	assert_int_equal(srvd_server_new(g_zs, keys, &rule, 1, &srv), 0);
	srvd_keyring_unref(keys);
	/* NOTIFY is logged. glibc reads the time zone file on the first
	 * timestamp of the process (tzset), once: the daemon has logged long
	 * before its first NOTIFY, and so do we. */
	log_info("noalloc: the first log line of the process");
	/* Signed copies of the first queries, a NOTIFY, and a signed NOTIFY. */
	static wire_t in[12];
	size_t n = 0;
	for (size_t i = 0; i < 8; i++)
		sign_wire(&wires[i], &in[n++]);
	notify_wire(&in[n++]);
	sign_wire(&in[n - 1], &in[n]);
	n++;
	static uint8_t resp[65535];
	srvd_result_t res[12][2];
	int rc[12][2];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	n_alloc = n_free = 0;
	counting = 1;
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < n; i++)
			for (int t = 0; t < 2; t++) {
				srvd_query_t q = {.wire = in[i].b,
				                  .len = in[i].n,
				                  .transport = t ? SRVD_TCP : SRVD_UDP,
				                  .src_addr = &sa};
				rc[i][t] =
				    srvd_dispatch(g_r, srv, &q, resp, sizeof(resp), &res[i][t]);
			}
	counting = 0;
	unsigned long allocs = n_alloc, frees = n_free;
	srvd_server_unref(srv);
	for (size_t i = 0; i < n; i++)
		for (int t = 0; t < 2; t++) {
			if (rc[i][t] != SRVD_OK || res[i][t].rcode != (unsigned)in[i].rcode)
				fail_msg("message %zu: rc %d rcode %u, want %d", i, rc[i][t],
				         res[i][t].rcode, in[i].rcode);
			bool is_signed = i < 8 || i == 9;
			assert_int_equal(res[i][t].tsig, is_signed);
			assert_int_equal(res[i][t].zone != NULL, i >= 8);
		}
	if (allocs || frees)
		fail_msg("dispatch called the allocator: %lu allocations, %lu frees", allocs,
		         frees);
}

/* wires[i] with a COOKIE option (cookie_len bytes) in its OPT. */
static void cookie_wire(const wire_t *in, const uint8_t *cookie, size_t cookie_len, wire_t *out)
{
	memcpy(out, in, sizeof(*out));
	assert_true(in->n >= 11 && get_u16(in->b + 10) == 1); /* the OPT ends it */
	uint8_t *rdlen = out->b + in->n - 2;
	put_u16(rdlen, (uint16_t)(4 + cookie_len));
	put_u16(out->b + in->n, EDNS_OPT_COOKIE);
	put_u16(out->b + in->n + 2, (uint16_t)cookie_len);
	memcpy(out->b + in->n + 4, cookie, cookie_len);
	out->n = in->n + 4 + cookie_len;
}

/* Rate limiting (answers, drops, slips, log lines as a bucket starts
 * limiting) and cookies (fresh, valid, bad, malformed, BADCOOKIE) on the
 * same path: none of it may allocate. */
static void guard_allocates_nothing(void **state)
{
	srvd_guard_conf_t gc = {.rrl = {.rate = 3, .slip = 2}, .cookies = SRVD_COOKIES_REQUIRE};
	memset(gc.secret, 0x5a, sizeof(gc.secret));
	srvd_server_t *plain = NULL, *srv = NULL;
	assert_int_equal(srvd_server_new(g_zs, NULL, NULL, 0, &plain), 0);
	assert_int_equal(srvd_server_with_guard(plain, &gc, &srv), 0);
	srvd_server_unref(plain);
	log_info("noalloc: the first log line of the process");
	/* A valid server cookie for 127.0.0.1 at the test's time, learnt the
	 * way a client learns it. */
	static const uint8_t client[40] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	static wire_t in[5];
	static uint8_t resp[65535];
	cookie_wire(&wires[0], client, 8, &in[0]);
	srvd_query_t q0 = {.wire = in[0].b, .len = in[0].n, .src_addr = &sa, .now = 1000};
	srvd_result_t r0;
	assert_int_equal(srvd_dispatch(g_r, srv, &q0, resp, sizeof(resp), &r0), SRVD_OK);
	uint8_t valid[24];
	memcpy(valid, resp + r0.len - 24, 24);
	cookie_wire(&wires[0], valid, 24, &in[1]);
	cookie_wire(&wires[0], client, 24, &in[2]); /* a bad server cookie */
	cookie_wire(&wires[0], client, 12, &in[3]); /* malformed */
	memcpy(&in[4], &wires[5], sizeof(in[4]));   /* NXDOMAIN, no cookie */
	unsigned long drops = 0, slips = 0;
	n_alloc = n_free = 0;
	counting = 1;
	for (uint32_t now = 1000; now < 1003; now++)
		for (int round = 0; round < 20; round++)
			for (size_t i = 0; i < 5; i++)
				for (int t = 0; t < 2; t++) {
					srvd_query_t q = {.wire = in[i].b,
					                  .len = in[i].n,
					                  .transport = t ? SRVD_TCP : SRVD_UDP,
					                  .src_addr = &sa,
					                  .now = now};
					srvd_result_t res;
					int rc =
					    srvd_dispatch(g_r, srv, &q, resp, sizeof(resp), &res);
					drops += rc == SRVD_DROP;
					slips += rc == SRVD_OK && res.limited;
				}
	counting = 0;
	unsigned long allocs = n_alloc, frees = n_free;
	srvd_stats_t st;
	srvd_responder_stats(g_r, &st);
	srvd_server_unref(srv);
	/* every path was taken */
	assert_true(drops > 0 && slips > 0);
	assert_true(st.cookie_valid > 0 && st.cookie_invalid > 0 && st.cookie_badcookie > 0);
	if (allocs || frees)
		fail_msg("RRL and cookies called the allocator: %lu allocations, %lu frees", allocs,
		         frees);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counter_sees_allocations),
	    cmocka_unit_test(respond_allocates_nothing),
	    cmocka_unit_test(dispatch_allocates_nothing),
	    cmocka_unit_test(guard_allocates_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
