/* Response rate limiting and DNS cookies in the front door, through
 * srvd_dispatch with time as an input: what a client (or its victim) gets
 * back. The server cookie construction is checked against RFC 9018's
 * Appendix A, so that an anycast group mixing srvd with BIND or Knot
 * validates each other's cookies.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "dispatch/dispatch.h"
#include "test_helpers.h"

enum { T0 = 1700000000 };

typedef struct fix {
	srvd_zoneset_t *zs;
	srvd_server_t *plain;
	srvd_responder_t *r;
} fix_t;

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));
	srvd_zone_src_t src = {.origin = "example.com",
	                       .path = SRVD_SOURCE_DIR "/tests/golden/zones/example.com.zone"};
	srvd_diag_t diag = {0};
	assert_int_equal(srvd_zoneset_load(&src, 1, &f->zs, &diag), 0);
	assert_int_equal(srvd_server_new(f->zs, NULL, NULL, 0, &f->plain), 0);
	assert_int_equal(srvd_responder_new(NULL, &f->r), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix_t *f = *state;
	srvd_server_unref(f->plain);
	srvd_zoneset_unref(f->zs);
	srvd_responder_free(f->r);
	free(f);
	return 0;
}

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static struct sockaddr_in v4(const char *a)
{
	struct sockaddr_in s = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, a, &s.sin_addr), 1);
	return s;
}

typedef struct pkt {
	uint8_t b[4096];
	size_t n;
} pkt_t;

/* A query with EDNS; cookie (cookie_len bytes) as a COOKIE option if set. */
static void query(pkt_t *m, const char *name, uint16_t type, const uint8_t *cookie,
                  size_t cookie_len)
{
	wr_t o;
	wr_init(&o, m->b, sizeof(m->b));
	uint8_t w[255];
	size_t nl = th_name(name, w);
	wr_u16(&o, 0x4242);
	wr_u16(&o, 0);
	wr_u16(&o, 1);
	wr_u16(&o, 0);
	wr_u16(&o, 0);
	wr_u16(&o, 1);
	wr_bytes(&o, w, nl);
	wr_u16(&o, type);
	wr_u16(&o, DNS_C_IN);
	wr_u8(&o, 0);
	wr_u16(&o, DNS_T_OPT);
	wr_u16(&o, 1232);
	wr_u32(&o, 0);
	wr_u16(&o, (uint16_t)(cookie ? 4 + cookie_len : 0));
	if (cookie) {
		wr_u16(&o, EDNS_OPT_COOKIE);
		wr_u16(&o, (uint16_t)cookie_len);
		wr_bytes(&o, cookie, cookie_len);
	}
	assert_false(o.err);
	m->n = o.pos;
}

static int ask(fix_t *f, const srvd_server_t *s, const pkt_t *m, const void *from,
               srvd_transport_t tr, uint32_t now, pkt_t *out, srvd_result_t *res)
{
	srvd_query_t q = {.wire = m->b, .len = m->n, .transport = tr, .src_addr = from, .now = now};
	int rc = srvd_dispatch(f->r, s, &q, out->b, sizeof(out->b), res);
	out->n = rc == SRVD_OK ? res->len : 0;
	return rc;
}

static srvd_stats_t stats(const fix_t *f)
{
	srvd_stats_t s;
	srvd_responder_stats(f->r, &s);
	return s;
}

/* The server cookie our answer carries: the option is the OPT's last
 * (the dispatch appends it), so it ends the message. */
static bool answer_cookie(const pkt_t *m, const uint8_t client[8], uint8_t server[16])
{
	if (m->n < DNS_HDR_LEN + 28)
		return false;
	const uint8_t *o = m->b + m->n - 28;
	if (get_u16(o) != EDNS_OPT_COOKIE || get_u16(o + 2) != 24 || memcmp(o + 4, client, 8) != 0)
		return false;
	memcpy(server, o + 12, 16);
	return true;
}

static srvd_server_t *guarded(const fix_t *f, const srvd_guard_conf_t *g)
{
	srvd_server_t *s = NULL;
	assert_int_equal(srvd_server_with_guard(f->plain, g, &s), 0);
	return s;
}

/* ---- RFC 9018 Appendix A -------------------------------------------------- */

static void rfc9018_vectors(void **state)
{
	(void)state;
	uint8_t secret[16], client[8], want[16], got[16], ip[16];
	static const uint8_t zero[3];
	hex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret, 16);
	hex("2464c4abcf10c957", client, 8);
	inet_pton(AF_INET, "198.51.100.100", ip);
	/* A.1: learning a new server cookie */
	dsp_cookie_make(secret, client, zero, 1559731985, ip, 4, got);
	hex("010000005cf79f111f8130c3eee29480", want, 16);
	assert_memory_equal(got, want, 16);
	/* A.2: the same client 40 minutes later gets a renewed one */
	dsp_cookie_make(secret, client, zero, 1559734385, ip, 4, got);
	hex("010000005cf7a871d4a564a1442aca77", want, 16);
	assert_memory_equal(got, want, 16);
	/* A.3: another client */
	hex("fc93fc62807ddb86", client, 8);
	inet_pton(AF_INET, "203.0.113.203", ip);
	dsp_cookie_make(secret, client, zero, 1559734700, ip, 4, got);
	hex("010000005cf7a9acf73a7810aca2381e", want, 16);
	assert_memory_equal(got, want, 16);
	/* A.3's request: the reserved bytes are set, and the hash covers them */
	uint8_t reserved[3] = {0xab, 0xcd, 0xef};
	dsp_cookie_make(secret, client, reserved, 1559727985, ip, 4, got);
	hex("01abcdef5cf78f71a314227b6679ebf5", want, 16);
	assert_memory_equal(got, want, 16);
}

/* A.2 and A.4 as the dispatch's judge sees them: a valid cookie half an
 * hour old is renewed; after a rotation, the previous secret still
 * validates and the answer carries one made with the new secret. */
static void rfc9018_judged(void **state)
{
	(void)state;
	dsp_guard_t g = {.cookies = SRVD_COOKIES_ON};
	uint8_t c[24], out[DSP_COOKIE_OPT], want[24];
	hex("e5e973e5a6b2a43f48e7dc849e37bfcf", g.secret, 16);
	hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480", c, 24);
	struct sockaddr_in a = v4("198.51.100.100");
	assert_int_equal(dsp_cookie(&g, c, 24, &a, 1559734385, out), DSP_COOKIE_VALID);
	hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77", want, 24);
	assert_memory_equal(out + 4, want, 24);

	hex("445536bcd2513298075a5d379663c962", g.secret, 16);
	hex("dd3bdf9344b678b185a6f5cb60fca715", g.previous, 16);
	g.has_previous = true;
	hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8", c, 24);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "2001:db8:220:1:59de:d0f4:8769:82b8", &a6.sin6_addr);
	assert_int_equal(dsp_cookie(&g, c, 24, &a6, 1559741961, out), DSP_COOKIE_VALID);
	hex("22681ab97d52c298010000005cf7c609a6bb79d16625507a", want, 24);
	assert_memory_equal(out + 4, want, 24);
	/* Without the previous secret it does not validate. */
	g.has_previous = false;
	assert_int_equal(dsp_cookie(&g, c, 24, &a6, 1559741961, out), DSP_COOKIE_INVALID);
}

/* ---- cookies through srvd_dispatch ------------------------------------------- */

static srvd_guard_conf_t cookie_conf(srvd_cookies_t mode, uint8_t fill)
{
	srvd_guard_conf_t g = {.cookies = mode};
	memset(g.secret, fill, sizeof(g.secret));
	return g;
}

static void server_cookie_round_trip(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = cookie_conf(SRVD_COOKIES_ON, 7);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("192.0.2.1");
	const uint8_t client[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t sc[16], sc2[16], both[24];
	pkt_t m, out;
	srvd_result_t res;
	query(&m, "matrix.example.com", DNS_T_A, client, 8);
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
	assert_int_equal(res.rcode, DNS_RC_NOERROR);
	assert_true(get_u16(out.b + 6) > 0);
	assert_true(answer_cookie(&out, client, sc));
	/* Presented again: valid, and echoed while it is fresh. */
	memcpy(both, client, 8);
	memcpy(both + 8, sc, 16);
	srvd_stats_t before = stats(f);
	query(&m, "matrix.example.com", DNS_T_A, both, 24);
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0 + 60, &out, &res), SRVD_OK);
	assert_int_equal(stats(f).cookie_valid, before.cookie_valid + 1);
	assert_true(answer_cookie(&out, client, sc2));
	assert_memory_equal(sc, sc2, 16);
	/* From another address it is not valid: the hash covers the IP. */
	struct sockaddr_in spoof = v4("192.0.2.2");
	assert_int_equal(ask(f, s, &m, &spoof, SRVD_UDP, T0 + 60, &out, &res), SRVD_OK);
	assert_int_equal(stats(f).cookie_invalid, before.cookie_invalid + 1);
	assert_int_equal(res.rcode, DNS_RC_NOERROR); /* answered, with a fresh cookie */
	assert_true(answer_cookie(&out, client, sc2));
	/* More than an hour later: expired, a fresh one comes back. */
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0 + 3700, &out, &res), SRVD_OK);
	assert_int_equal(stats(f).cookie_invalid, before.cookie_invalid + 2);
	assert_true(answer_cookie(&out, client, sc2));
	assert_memory_not_equal(sc, sc2, 16);
	/* Without cookies configured, the option is ignored. */
	assert_int_equal(ask(f, f->plain, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
	assert_false(answer_cookie(&out, client, sc2));
	srvd_server_unref(s);
}

/* RFC 7873 5.2.2: a COOKIE option of a length that cannot be one. */
static void malformed_cookie_is_formerr(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = cookie_conf(SRVD_COOKIES_ON, 7);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("192.0.2.1");
	uint8_t junk[41] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const size_t bad[] = {0, 7, 9, 15, 41};
	static const size_t good[] = {8, 16, 24, 40};
	pkt_t m, out;
	srvd_result_t res;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		query(&m, "matrix.example.com", DNS_T_A, junk, bad[i]);
		assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
		assert_int_equal(res.rcode, DNS_RC_FORMERR);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		query(&m, "matrix.example.com", DNS_T_A, junk, good[i]);
		assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
		assert_int_equal(res.rcode, DNS_RC_NOERROR);
	}
	srvd_server_unref(s);
}

/* `require`: BADCOOKIE with a fresh cookie over UDP, a normal answer over
 * TCP and with a valid cookie; clients without cookies are answered. */
static void required_cookie(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = cookie_conf(SRVD_COOKIES_REQUIRE, 9);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("192.0.2.1");
	const uint8_t client[8] = {8, 7, 6, 5, 4, 3, 2, 1};
	uint8_t sc[16], both[24];
	pkt_t m, out;
	srvd_result_t res;
	query(&m, "matrix.example.com", DNS_T_A, client, 8);
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
	assert_int_equal(out.b[3] & 0xF, DNS_RC_BADCOOKIE & 0xF);
	assert_int_equal(get_u16(out.b + 6), 0);
	assert_true(answer_cookie(&out, client, sc));
	/* the extended rcode's upper bits in the OPT TTL: 23 >> 4 = 1 */
	assert_int_equal(out.b[out.n - 28 - 11 + 5], DNS_RC_BADCOOKIE >> 4);
	assert_int_equal(ask(f, s, &m, &from, SRVD_TCP, T0, &out, &res), SRVD_OK);
	assert_int_equal(res.rcode, DNS_RC_NOERROR);
	memcpy(both, client, 8);
	memcpy(both + 8, sc, 16);
	query(&m, "matrix.example.com", DNS_T_A, both, 24);
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0 + 1, &out, &res), SRVD_OK);
	assert_int_equal(res.rcode, DNS_RC_NOERROR);
	assert_true(get_u16(out.b + 6) > 0);
	query(&m, "matrix.example.com", DNS_T_A, NULL, 0);
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
	assert_int_equal(res.rcode, DNS_RC_NOERROR);
	srvd_server_unref(s);
}

/* The secret rotates with an overlap: a cookie made with secret A is valid
 * while A is the previous secret, and not after the next rotation. */
static void rotation_overlap(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t ga = cookie_conf(SRVD_COOKIES_ON, 0xA);
	srvd_guard_conf_t gb = cookie_conf(SRVD_COOKIES_ON, 0xB);
	srvd_guard_conf_t gc = cookie_conf(SRVD_COOKIES_ON, 0xC);
	memset(gb.previous, 0xA, 16);
	memset(gc.previous, 0xB, 16);
	gb.has_previous = gc.has_previous = 1;
	srvd_server_t *a = guarded(f, &ga), *b = guarded(f, &gb), *c = guarded(f, &gc);
	struct sockaddr_in from = v4("192.0.2.1");
	const uint8_t client[8] = {3, 1, 4, 1, 5, 9, 2, 6};
	uint8_t sc[16], sc2[16], both[24];
	pkt_t m, out;
	srvd_result_t res;
	query(&m, "matrix.example.com", DNS_T_A, client, 8);
	assert_int_equal(ask(f, a, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
	assert_true(answer_cookie(&out, client, sc));
	memcpy(both, client, 8);
	memcpy(both + 8, sc, 16);
	query(&m, "matrix.example.com", DNS_T_A, both, 24);
	srvd_stats_t before = stats(f);
	assert_int_equal(ask(f, b, &m, &from, SRVD_UDP, T0 + 10, &out, &res), SRVD_OK);
	assert_int_equal(stats(f).cookie_valid, before.cookie_valid + 1);
	/* valid, but made with the previous secret: renewed with the new one */
	assert_true(answer_cookie(&out, client, sc2));
	assert_memory_not_equal(sc, sc2, 16);
	assert_int_equal(ask(f, c, &m, &from, SRVD_UDP, T0 + 20, &out, &res), SRVD_OK);
	assert_int_equal(stats(f).cookie_invalid, before.cookie_invalid + 1);
	srvd_server_unref(a);
	srvd_server_unref(b);
	srvd_server_unref(c);
}

/* ---- RRL ------------------------------------------------------------------------ */

typedef struct tally {
	unsigned full, slipped, dropped;
} tally_t;

/* n identical queries from `from` at `now`. */
static tally_t burst(fix_t *f, const srvd_server_t *s, const pkt_t *m, const void *from,
                     srvd_transport_t tr, uint32_t now, unsigned n)
{
	tally_t t = {0};
	pkt_t out;
	srvd_result_t res;
	for (unsigned i = 0; i < n; i++) {
		int rc = ask(f, s, m, from, tr, now, &out, &res);
		if (rc == SRVD_DROP) {
			assert_int_equal(res.limited, 1);
			t.dropped++;
			continue;
		}
		assert_int_equal(rc, SRVD_OK);
		bool tc = (out.b[2] & (DNS_TC >> 8)) != 0;
		if (tc) {
			/* the slip: truncated, no records, the question kept */
			assert_int_equal(res.limited, 1);
			assert_int_equal(get_u16(out.b + 4), 1);
			assert_int_equal(get_u16(out.b + 6), 0);
			assert_int_equal(get_u16(out.b + 8), 0);
			t.slipped++;
		} else {
			assert_int_equal(res.limited, 0);
			assert_true(get_u16(out.b + 6) > 0 || res.rcode != DNS_RC_NOERROR ||
			            get_u16(out.b + 8) > 0);
			t.full++;
		}
	}
	return t;
}

static srvd_guard_conf_t rrl_conf(unsigned rate, unsigned slip)
{
	srvd_guard_conf_t g = {.rrl = {.rate = rate, .slip = slip, .window = 5}};
	return g;
}

/* rate 10/s, slip 2: of 100 answers in one second, 10 go out, and of the
 * 90 limited every second one is a truncated slip. */
static void burst_drops_and_slips(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = rrl_conf(10, 2);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("192.0.2.1"), same24 = v4("192.0.2.200"),
	                   other = v4("198.51.100.1");
	pkt_t m;
	query(&m, "matrix.example.com", DNS_T_A, NULL, 0);
	srvd_stats_t before = stats(f);
	tally_t t = burst(f, s, &m, &from, SRVD_UDP, T0, 100);
	assert_int_equal(t.full, 10);
	assert_int_equal(t.slipped, 45);
	assert_int_equal(t.dropped, 45);
	assert_int_equal(stats(f).rrl_dropped - before.rrl_dropped, 45);
	assert_int_equal(stats(f).rrl_slipped - before.rrl_slipped, 45);
	/* the same /24 shares the bucket */
	t = burst(f, s, &m, &same24, SRVD_UDP, T0, 10);
	assert_int_equal(t.full, 0);
	/* another prefix, another bucket */
	t = burst(f, s, &m, &other, SRVD_UDP, T0, 10);
	assert_int_equal(t.full, 10);
	/* TCP is never limited */
	t = burst(f, s, &m, &from, SRVD_TCP, T0, 50);
	assert_int_equal(t.full, 50);
	/* another name from the flooded prefix has its own bucket */
	pkt_t m2;
	query(&m2, "example.com", DNS_T_SOA, NULL, 0);
	t = burst(f, s, &m2, &from, SRVD_UDP, T0, 10);
	assert_int_equal(t.full, 10);
	srvd_server_unref(s);
}

/* The debt: a source that flooded stays limited while it owes, and is
 * answered again once `window` seconds have passed. */
static void debt_and_recovery(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = rrl_conf(10, 0);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("203.0.113.9");
	pkt_t m;
	query(&m, "matrix.example.com", DNS_T_AAAA, NULL, 0);
	tally_t t = burst(f, s, &m, &from, SRVD_UDP, T0, 200);
	assert_int_equal(t.full, 10);
	assert_int_equal(t.slipped, 0); /* slip 0: all dropped */
	/* one second later: it owes 50 (rate * window), 10 come back, still owing */
	t = burst(f, s, &m, &from, SRVD_UDP, T0 + 1, 1);
	assert_int_equal(t.full, 0);
	/* after the window, the bucket is full again */
	t = burst(f, s, &m, &from, SRVD_UDP, T0 + 7, 20);
	assert_int_equal(t.full, 10);
	srvd_server_unref(s);
}

/* NXDOMAIN answers share one bucket per prefix, whatever the name: random
 * names do not escape the limit. */
static void random_names_share_nxdomain_bucket(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = rrl_conf(5, 0);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("203.0.113.50");
	unsigned full = 0;
	for (unsigned i = 0; i < 50; i++) {
		char name[64];
		snprintf(name, sizeof(name), "r%u.example.com", i);
		pkt_t m;
		query(&m, name, DNS_T_A, NULL, 0);
		full += burst(f, s, &m, &from, SRVD_UDP, T0, 1).full;
	}
	assert_int_equal(full, 5);
	srvd_server_unref(s);
}

static void exempt_and_log_only(void **state)
{
	fix_t *f = *state;
	srvd_prefix_t ex = {.family = 4, .bits = 24, .addr = {192, 0, 2}};
	srvd_guard_conf_t gc = rrl_conf(5, 2);
	gc.rrl.exempt = &ex;
	gc.rrl.n_exempt = 1;
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in exempt = v4("192.0.2.7"), other = v4("198.51.100.7");
	pkt_t m;
	query(&m, "matrix.example.com", DNS_T_A, NULL, 0);
	assert_int_equal(burst(f, s, &m, &exempt, SRVD_UDP, T0, 100).full, 100);
	assert_int_equal(burst(f, s, &m, &other, SRVD_UDP, T0, 100).full, 5);
	srvd_server_unref(s);

	gc = rrl_conf(5, 2);
	gc.rrl.log_only = 1;
	s = guarded(f, &gc);
	srvd_stats_t before = stats(f);
	assert_int_equal(burst(f, s, &m, &other, SRVD_UDP, T0 + 100, 100).full, 100);
	assert_int_equal(stats(f).rrl_logged - before.rrl_logged, 95);
	assert_int_equal(stats(f).rrl_dropped, before.rrl_dropped);
	srvd_server_unref(s);
}

/* A client that presents a valid server cookie is never limited; one
 * that sends a client cookie alone (or a spoofed source) is. */
static void valid_cookie_is_never_limited(void **state)
{
	fix_t *f = *state;
	srvd_guard_conf_t gc = rrl_conf(5, 2);
	gc.cookies = SRVD_COOKIES_ON;
	memset(gc.secret, 0x55, 16);
	srvd_server_t *s = guarded(f, &gc);
	struct sockaddr_in from = v4("198.51.100.20");
	const uint8_t client[8] = {2, 7, 1, 8, 2, 8, 1, 8};
	uint8_t sc[16], both[24];
	pkt_t m, out;
	srvd_result_t res;
	query(&m, "matrix.example.com", DNS_T_TXT, client, 8);
	assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
	assert_true(answer_cookie(&out, client, sc));
	tally_t t = burst(f, s, &m, &from, SRVD_UDP, T0, 50);
	assert_int_equal(t.full, 4); /* the first answer took one token */
	/* the slips carry the cookie too, so the client can learn it there */
	memcpy(both, client, 8);
	memcpy(both + 8, sc, 16);
	query(&m, "matrix.example.com", DNS_T_TXT, both, 24);
	t = burst(f, s, &m, &from, SRVD_UDP, T0, 200);
	assert_int_equal(t.full, 200);
	srvd_server_unref(s);
}

/* With RRL on (or a COOKIE option) every query leaves the fast path; an
 * SOA query for a secondary zone is still a query, not a NOTIFY. */
static void soa_query_of_secondary_zone_is_a_query(void **state)
{
	fix_t *f = *state;
	srvd_zone_rule_t rule = {.origin = "example.com", .secondary = 1};
	srvd_server_t *base = NULL, *s = NULL;
	assert_int_equal(srvd_server_new(f->zs, NULL, &rule, 1, &base), 0);
	srvd_guard_conf_t gc = rrl_conf(100, 2);
	gc.cookies = SRVD_COOKIES_ON;
	assert_int_equal(srvd_server_with_guard(base, &gc, &s), 0);
	srvd_server_unref(base);
	struct sockaddr_in from = v4("192.0.2.1");
	const uint8_t client[8] = {1};
	pkt_t m, out;
	srvd_result_t res;
	for (int with_cookie = 0; with_cookie < 2; with_cookie++) {
		query(&m, "example.com", DNS_T_SOA, with_cookie ? client : NULL, 8);
		assert_int_equal(ask(f, s, &m, &from, SRVD_UDP, T0, &out, &res), SRVD_OK);
		assert_null(res.zone);
		assert_int_equal(res.opcode, DNS_OP_QUERY);
		assert_int_equal(get_u16(out.b + 6), 1); /* the SOA itself */
	}
	srvd_server_unref(s);
}

static void guard_conf_checked(void **state)
{
	fix_t *f = *state;
	srvd_server_t *s = NULL;
	srvd_prefix_t key;
	assert_int_equal(srvd_acl_key("k", &key), 0);
	srvd_guard_conf_t gc = rrl_conf(5, 2);
	gc.rrl.exempt = &key;
	gc.rrl.n_exempt = 1;
	assert_int_equal(srvd_server_with_guard(f->plain, &gc, &s), SRVD_EINVAL);
	gc = rrl_conf(5, 2);
	gc.rrl.ipv4_prefix = 33;
	assert_int_equal(srvd_server_with_guard(f->plain, &gc, &s), SRVD_EINVAL);
	assert_null(s);
	/* NULL: a copy without any guard */
	assert_int_equal(srvd_server_with_guard(f->plain, NULL, &s), 0);
	srvd_server_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc9018_vectors),
	    cmocka_unit_test(rfc9018_judged),
	    cmocka_unit_test_setup_teardown(server_cookie_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(malformed_cookie_is_formerr, setup, teardown),
	    cmocka_unit_test_setup_teardown(required_cookie, setup, teardown),
	    cmocka_unit_test_setup_teardown(rotation_overlap, setup, teardown),
	    cmocka_unit_test_setup_teardown(burst_drops_and_slips, setup, teardown),
	    cmocka_unit_test_setup_teardown(debt_and_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(random_names_share_nxdomain_bucket, setup, teardown),
	    cmocka_unit_test_setup_teardown(exempt_and_log_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(valid_cookie_is_never_limited, setup, teardown),
	    cmocka_unit_test_setup_teardown(soa_query_of_secondary_zone_is_a_query, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(guard_conf_checked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
