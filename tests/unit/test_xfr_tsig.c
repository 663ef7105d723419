/* Unit tests: TSIG (xfr/tsig.c) against real signers: ldns signs and
 * verifies single messages and "every message signed" streams, a Knot DNS
 * capture is a real multi-message signed AXFR, and a Python signer
 * (gen_tsig_stream.py, independent code) made a stream whose middle message
 * is unsigned. Each failure is reported with its own status. */
#include "test_xfr_util.h"

#include <time.h>

#include "xfr/tsig.h"

static const char *SECRET = "c3J2ZC10c2lnLXVuaXQtdGVzdC1zZWNyZXQtMzJi"; /* 30 bytes */
static tx_stream_t S;

static int teardown_each(void **state)
{
	(void)state;
	tx_stream_free(&S);
	return 0;
}

static void key(xfr_tsig_key_t *k, const char *name, const char *alg)
{
	assert_int_equal(xfr_tsig_key_init(name, alg, SECRET, k), 0);
}

/* An AXFR query for example.com., as wire. */
static size_t query(uint8_t *buf, size_t cap, uint16_t id)
{
	uint8_t origin[255];
	tx_name("example.com.", origin);
	size_t len;
	assert_int_equal(xfr_query_axfr(origin, id, buf, cap, &len), 0);
	return len;
}

static ldns_pkt *to_pkt(const uint8_t *w, size_t len)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, w, len), LDNS_STATUS_OK);
	return p;
}

/* ldns signs a message (as the response to request_mac when not NULL). */
static uint8_t *ldns_signed(ldns_pkt *p, const char *name, const char *alg,
                            const ldns_rdf *request_mac, int timers_only, size_t *len)
{
	assert_int_equal(
	    ldns_pkt_tsig_sign_next(p, name, SECRET, 300, alg, request_mac, timers_only),
	    LDNS_STATUS_OK);
	uint8_t *w = NULL;
	assert_int_equal(ldns_pkt2wire(&w, p, len), LDNS_STATUS_OK);
	return w;
}

static void test_key_init(void **state)
{
	(void)state;
	xfr_tsig_key_t k;
	const char *algs[] = {"hmac-sha1",   "hmac-sha224",  "hmac-sha256",
	                      "HMAC-SHA384", "hmac-sha512.", "hmac-md5.sig-alg.reg.int"};
	size_t lens[] = {20, 28, 32, 48, 64, 16};
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(xfr_tsig_key_init("Transfer-Key", algs[i], SECRET, &k), 0);
		assert_int_equal(k.mac_len, lens[i]);
		assert_int_equal(k.secret_len, 30);
		assert_memory_equal(k.name, "\014transfer-key", 14); /* lower case */
	}
	assert_int_equal(xfr_tsig_key_init("k", "hmac-sha3", SECRET, &k), SRVD_EINVAL);
	assert_int_equal(xfr_tsig_key_init("k", "hmac-sha256", "not base64!", &k), SRVD_EINVAL);
	assert_int_equal(xfr_tsig_key_init("k", "hmac-sha256", "", &k), SRVD_EINVAL);
	assert_int_equal(xfr_tsig_key_init("a..b", "hmac-sha256", SECRET, &k), SRVD_EINVAL);
}

/* Our signature verifies with ldns, for every algorithm ldns knows. */
static void test_sign_verified_by_ldns(void **state)
{
	(void)state;
	const char *algs[] = {"hmac-sha1.", "hmac-sha256.", "hmac-sha512.",
	                      "hmac-md5.sig-alg.reg.int."};
	for (size_t i = 0; i < 4; i++) {
		xfr_tsig_key_t k;
		key(&k, "transfer-key.", algs[i]);
		xfr_tsig_t t;
		xfr_tsig_init(&t, &k);
		uint8_t buf[1024];
		size_t len = query(buf, sizeof(buf), 0x1111), slen;
		assert_int_equal(xfr_tsig_sign(&t, buf, len, buf, sizeof(buf), &slen), 0);
		assert_int_equal(t.state, XFR_TSIG_AWAIT_RESPONSE);
		assert_int_equal(t.mac_len, k.mac_len);
		ldns_pkt *p = to_pkt(buf, slen);
		assert_non_null(ldns_pkt_tsig(p));
		assert_true(ldns_pkt_tsig_verify(p, buf, slen, "transfer-key.", SECRET, NULL));
		/* and not with another secret */
		assert_false(
		    ldns_pkt_tsig_verify(p, buf, slen, "transfer-key.", "b3RoZXItc2VjcmV0", NULL));
		ldns_pkt_free(p);
		xfr_tsig_deinit(&t);
	}
}

/* A query, and ldns's signed response to it, verify; with every failure. */
static void test_response_from_ldns(void **state)
{
	(void)state;
	xfr_tsig_key_t k;
	key(&k, "transfer-key.", "hmac-sha256");
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	uint8_t q[1024];
	size_t qlen = query(q, sizeof(q), 0x2222), slen;
	assert_int_equal(xfr_tsig_sign(&t, q, qlen, q, sizeof(q), &slen), 0);
	ldns_rdf *qmac = ldns_native2rdf_int16_data(t.mac_len, t.mac);

	const char *an[] = {"example.com. 60 IN SOA a.example.com. b.example.com. 1 2 3 4 5"};
	tx_msg_t m = {.id = 0x2222,
	              .flags = DNS_QR | DNS_AA,
	              .qname = "example.com.",
	              .qtype = DNS_T_AXFR,
	              .an = an,
	              .n_an = 1};
	size_t rlen;
	uint8_t *r = tx_build(&m, &rlen);
	ldns_pkt *p = to_pkt(r, rlen);
	free(r);
	size_t len;
	uint8_t *w = ldns_signed(p, "transfer-key.", "hmac-sha256.", qmac, 0, &len);
	ldns_pkt_free(p);

	xfr_tsig_t c = t; /* the state right after signing, for each case */
	assert_int_equal(xfr_tsig_verify(&c, w, len), 0);
	assert_int_equal(c.status, XFR_TSIG_OK);
	assert_int_equal(c.state, XFR_TSIG_STREAM_IN);
	assert_int_equal(xfr_tsig_end(&c), 0);
	xfr_tsig_deinit(&c);

	/* a flipped byte anywhere before the TSIG: BADSIG (a case change in
	 * the TSIG's own names is fine: the digest takes them canonical) */
	xfr_tsig_rr_t rr;
	assert_int_equal(xfr_tsig_find(w, len, &rr), 0);
	for (size_t i = 2; i < rr.start; i++) {
		c = t;
		w[i] ^= 0x20;
		int rc = xfr_tsig_verify(&c, w, len);
		assert_true(rc < 0);
		assert_true(c.status == XFR_TSIG_BADSIG || c.status == XFR_TSIG_FORMERR);
		w[i] ^= 0x20;
		xfr_tsig_deinit(&c);
	}
	c = t;
	w[len - 20] ^= 1; /* inside the MAC */
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADSIG);
	assert_string_equal(xfr_tsig_status_name(c.status), "BADSIG");
	w[len - 20] ^= 1;

	/* the wrong request MAC: BADSIG */
	c = t;
	c.mac[0] ^= 1;
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADSIG);

	/* another key name, another algorithm: BADKEY */
	xfr_tsig_key_t other;
	key(&other, "other-key.", "hmac-sha256");
	c = t;
	c.key = &other;
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADKEY);
	assert_non_null(strstr(c.why, "transfer-key."));
	key(&other, "transfer-key.", "hmac-sha512");
	c = t;
	c.key = &other;
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADKEY);

	/* the right name with another secret: BADSIG */
	assert_int_equal(xfr_tsig_key_init("transfer-key.", "hmac-sha256", "b3RoZXI=", &other), 0);
	c = t;
	c.key = &other;
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADSIG);

	/* our clock 10 minutes ahead, then behind: BADTIME */
	c = t;
	c.now = (uint64_t)time(NULL) + 600;
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADTIME);
	assert_non_null(strstr(c.why, "behind"));
	c = t;
	c.now = (uint64_t)time(NULL) - 600;
	assert_true(xfr_tsig_verify(&c, w, len) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADTIME);
	/* within the fudge: fine */
	c = t;
	c.now = (uint64_t)time(NULL) + 250;
	assert_int_equal(xfr_tsig_verify(&c, w, len), 0);

	/* unsigned response: rejected */
	m.n_an = 1;
	r = tx_build(&m, &rlen);
	c = t;
	assert_true(xfr_tsig_verify(&c, r, rlen) < 0);
	assert_int_equal(c.status, XFR_TSIG_UNSIGNED);
	free(r);

	/* the TSIG not last: FORMERR */
	uint8_t *moved = malloc(len + 64);
	memcpy(moved, w, len);
	c = t;
	moved[len] = 0; /* root owner, type A, class IN, ttl, rdlen 4 */
	memcpy(moved + len + 1, "\0\1\0\1\0\0\0\0\0\4\1\2\3\4", 14);
	put_u16(moved + 10, (uint16_t)(get_u16(moved + 10) + 1));
	assert_true(xfr_tsig_verify(&c, moved, len + 15) < 0);
	assert_int_equal(c.status, XFR_TSIG_FORMERR);
	/* truncated: FORMERR, never a crash */
	for (size_t cut = 0; cut < len; cut++) {
		c = t;
		assert_true(xfr_tsig_verify(&c, w, cut) < 0);
	}
	free(moved);
	free(w);
	ldns_rdf_deep_free(qmac);
	xfr_tsig_deinit(&t);
}

/* The server rejected our TSIG: its answer carries the error unsigned. */
static void test_peer_error(void **state)
{
	(void)state;
	xfr_tsig_key_t k;
	key(&k, "transfer-key.", "hmac-sha256");
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	uint8_t q[1024];
	size_t qlen = query(q, sizeof(q), 0x3333), slen;
	assert_int_equal(xfr_tsig_sign(&t, q, qlen, q, sizeof(q), &slen), 0);
	/* NOTAUTH with TSIG error BADKEY and an empty MAC (RFC 8945 5.2) */
	uint8_t r[512];
	memcpy(r, q, slen);
	put_u16(r + 2, DNS_QR | DNS_RC_NOTAUTH);
	size_t tsig_at = slen - (14 + 10 + 13 + 6 + 2 + 2 + 32 + 6);
	xfr_tsig_rr_t rr;
	assert_int_equal(xfr_tsig_find(q, slen, &rr), 0);
	assert_int_equal(rr.start, tsig_at);
	/* rewrite the TSIG rdata: mac size 0, error 17 */
	size_t p = rr.start + 14 + 10 + 13 + 6 + 2; /* name, fixed, alg, time, fudge */
	put_u16(r + p, 0);
	put_u16(r + p + 2, 0x3333);
	put_u16(r + p + 4, 17);
	put_u16(r + p + 6, 0);
	size_t len = p + 8;
	put_u16(r + rr.start + 14 + 8, (uint16_t)(len - (rr.start + 14 + 10)));
	assert_true(xfr_tsig_verify(&t, r, len) < 0);
	assert_int_equal(t.status, XFR_TSIG_PEER_ERROR);
	assert_int_equal(t.peer_error, 17);
	assert_non_null(strstr(t.why, "BADKEY"));
	xfr_tsig_deinit(&t);
}

/* The server's answers to requests whose TSIG failed (RFC 8945 5.2). */
static void test_error_replies(void **state)
{
	(void)state;
	xfr_tsig_key_t k;
	key(&k, "transfer-key.", "hmac-sha256");
	/* the client signs its query */
	xfr_tsig_t client;
	xfr_tsig_init(&client, &k);
	uint8_t q[512];
	size_t qlen = query(q, sizeof(q), 0x7777), slen;
	assert_int_equal(xfr_tsig_sign(&client, q, qlen, q, sizeof(q), &slen), 0);
	uint8_t out[1024];
	size_t olen;

	/* BADTIME: the server's clock is 1000 s ahead; the reply is signed */
	xfr_tsig_t server;
	xfr_tsig_init(&server, &k);
	server.now = client.time_signed + 1000;
	assert_true(xfr_tsig_verify(&server, q, slen) < 0);
	assert_int_equal(server.status, XFR_TSIG_BADTIME);
	assert_int_equal(xfr_tsig_error_reply(&server, q, slen, out, sizeof(out), &olen), 0);
	ldns_pkt *p = to_pkt(out, olen);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTAUTH);
	assert_true(ldns_pkt_qr(p));
	assert_int_equal(ldns_pkt_id(p), 0x7777);
	ldns_rr *tsig = ldns_pkt_tsig(p);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5)), 18);
	ldns_rdf *qmac = ldns_native2rdf_int16_data(client.mac_len, client.mac);
	assert_true(ldns_pkt_tsig_verify(p, out, olen, "transfer-key.", SECRET, qmac));
	ldns_rdf_deep_free(qmac);
	ldns_pkt_free(p);
	xfr_tsig_t c = client;
	assert_true(xfr_tsig_verify(&c, out, olen) < 0);
	assert_int_equal(c.status, XFR_TSIG_PEER_ERROR);
	assert_int_equal(c.peer_error, 18);
	assert_non_null(strstr(c.why, "BADTIME"));
	xfr_tsig_deinit(&server);

	/* BADSIG: another secret on the server; the reply is unsigned */
	xfr_tsig_key_t other;
	assert_int_equal(xfr_tsig_key_init("transfer-key.", "hmac-sha256", "b3RoZXI=", &other), 0);
	xfr_tsig_init(&server, &other);
	assert_true(xfr_tsig_verify(&server, q, slen) < 0);
	assert_int_equal(server.status, XFR_TSIG_BADSIG);
	assert_int_equal(xfr_tsig_error_reply(&server, q, slen, out, sizeof(out), &olen), 0);
	xfr_tsig_rr_t rr;
	assert_int_equal(xfr_tsig_find(out, olen, &rr), 0);
	assert_int_equal(rr.error, 16);
	assert_int_equal(rr.mac_len, 0);
	assert_int_equal(rr.orig_id, 0x7777);
	c = client;
	assert_true(xfr_tsig_verify(&c, out, olen) < 0);
	assert_int_equal(c.peer_error, 16);
	xfr_tsig_deinit(&server);

	/* BADKEY: no key of that name at all */
	xfr_tsig_init(&server, NULL);
	server.status = XFR_TSIG_BADKEY;
	assert_int_equal(xfr_tsig_error_reply(&server, q, slen, out, sizeof(out), &olen), 0);
	assert_int_equal(xfr_tsig_find(out, olen, &rr), 0);
	assert_int_equal(rr.error, 17);
	assert_memory_equal(rr.name, k.name, k.name_len);
	c = client;
	assert_true(xfr_tsig_verify(&c, out, olen) < 0);
	assert_int_equal(c.status, XFR_TSIG_PEER_ERROR);
	assert_non_null(strstr(c.why, "BADKEY"));
	/* nothing to say for a good request */
	server.status = XFR_TSIG_OK;
	assert_int_equal(xfr_tsig_error_reply(&server, q, slen, out, sizeof(out), &olen),
	                 SRVD_EINVAL);
	xfr_tsig_deinit(&client);
}

/* A server that refuses without signing: the transfer names the rcode. */
static void test_unsigned_refusal(void **state)
{
	(void)state;
	xfr_tsig_key_t k;
	key(&k, "transfer-key.", "hmac-sha256");
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	uint8_t q[512];
	size_t qlen = query(q, sizeof(q), 0x6666), slen;
	assert_int_equal(xfr_tsig_sign(&t, q, qlen, q, sizeof(q), &slen), 0);
	tx_msg_t m = {.id = 0x6666,
	              .flags = DNS_QR | DNS_RC_REFUSED,
	              .qname = "example.com.",
	              .qtype = DNS_T_AXFR};
	size_t len;
	uint8_t *w = tx_build(&m, &len);
	uint8_t origin[255];
	tx_name("example.com.", origin);
	xfr_in_t *x = NULL;
	assert_int_equal(xfr_in_new(origin, NULL, DNS_T_AXFR, 0x6666, NULL, &x), 0);
	xfr_in_set_tsig(x, &t);
	assert_int_equal(xfr_in_feed(x, w, len), SRVD_EIO);
	assert_int_equal(xfr_in_error(x)->fail, XFR_FAIL_RCODE);
	assert_non_null(strstr(xfr_in_error(x)->why, "REFUSED"));
	xfr_in_free(x);
	free(w);
	xfr_tsig_deinit(&t);
}

/* The server side: verify ldns's signed request, sign the stream, and
 * ldns verifies every message (timers only after the first). */
static void test_server_stream_verified_by_ldns(void **state)
{
	(void)state;
	ldns_pkt *p = NULL;
	uint8_t q[512];
	size_t qlen = query(q, sizeof(q), 0x4444), len;
	p = to_pkt(q, qlen);
	uint8_t *w = ldns_signed(p, "transfer-key.", "hmac-sha256.", NULL, 0, &len);
	ldns_rdf *mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
	ldns_pkt_free(p);

	xfr_tsig_key_t k;
	key(&k, "transfer-key.", "hmac-sha256");
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	assert_int_equal(xfr_tsig_verify(&t, w, len), 0);
	assert_int_equal(t.state, XFR_TSIG_RESPONDING);
	free(w);

	zone_t *z =
	    tx_zone("example.com", "$ORIGIN example.com.\n"
	                           "@ 60 SOA ns h 1 2 3 4 5\n@ 60 NS ns\nns 60 A 192.0.2.1\n"
	                           "a 60 TXT \"one\"\nb 60 TXT \"two\"\nc 60 TXT \"three\"\n");
	tx_axfr(z, 0x4444, 512, &S);
	for (size_t i = 0; i < S.n; i++) {
		uint8_t out[1024];
		size_t olen;
		assert_int_equal(xfr_tsig_sign(&t, S.msg[i], S.len[i], out, sizeof(out), &olen), 0);
		ldns_pkt *rp = to_pkt(out, olen);
		assert_true(
		    ldns_pkt_tsig_verify_next(rp, out, olen, "transfer-key.", SECRET, mac, i > 0));
		ldns_rdf_deep_free(mac);
		mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(rp), 3));
		ldns_pkt_free(rp);
	}
	assert_int_equal(t.state, XFR_TSIG_STREAM_OUT);
	/* verify is for the other direction */
	assert_true(xfr_tsig_verify(&t, q, qlen) < 0);
	assert_int_equal(t.status, XFR_TSIG_STATE);
	ldns_rdf_deep_free(mac);
	xfr_tsig_deinit(&t);
	srvd_zone_unref(z);
}

/* ldns signs a 3-message stream, middle unsigned. ldns has no call for
 * that, but its digest starts with the raw bytes of its "query MAC"
 * argument, so passing [len][MAC][message 2] there gives RFC 8945 5.3.1. */
static void test_stream_from_ldns_unsigned_middle(void **state)
{
	(void)state;
	xfr_tsig_key_t k;
	key(&k, "transfer-key.", "hmac-sha256");
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	uint8_t q[512];
	size_t qlen = query(q, sizeof(q), 0x5555), slen;
	assert_int_equal(xfr_tsig_sign(&t, q, qlen, q, sizeof(q), &slen), 0);

	char text[4096];
	size_t n = (size_t)sprintf(text, "$ORIGIN example.com.\n@ 60 SOA ns h 1 2 3 4 5\n"
	                                 "@ 60 NS ns\nns 60 A 192.0.2.1\n");
	for (int i = 0; i < 30; i++)
		n += (size_t)sprintf(text + n, "t%d 60 TXT \"a longer text to fill the message\"\n",
		                     i);
	zone_t *z = tx_zone("example.com", text);
	tx_axfr(z, 0x5555, 512, &S);
	assert_true(S.n >= 3);
	/* message 1 signed with the request MAC */
	ldns_rdf *mac = ldns_native2rdf_int16_data(t.mac_len, t.mac);
	size_t l1, l3;
	ldns_pkt *p1 = to_pkt(S.msg[0], S.len[0]);
	uint8_t *m1 = ldns_signed(p1, "transfer-key.", "hmac-sha256.", mac, 0, &l1);
	ldns_rdf *mac1 = ldns_rr_rdf(ldns_pkt_tsig(p1), 3);
	/* message 3 over [mac1][message 2] */
	size_t pre_len = ldns_rdf_size(mac1) + S.len[1];
	uint8_t *pre = malloc(pre_len);
	memcpy(pre, ldns_rdf_data(mac1), ldns_rdf_size(mac1));
	memcpy(pre + ldns_rdf_size(mac1), S.msg[1], S.len[1]);
	ldns_rdf *prefix = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, pre_len, pre);
	free(pre); /* copied */
	ldns_pkt *p3 = to_pkt(S.msg[2], S.len[2]);
	uint8_t *m3 = ldns_signed(p3, "transfer-key.", "hmac-sha256.", prefix, 1, &l3);

	xfr_tsig_t c = t;
	assert_int_equal(xfr_tsig_verify(&c, m1, l1), 0);
	assert_int_equal(xfr_tsig_verify(&c, S.msg[1], S.len[1]), 0);
	assert_false(c.last_signed);
	assert_int_equal(xfr_tsig_end(&c), SRVD_EINVAL); /* an unsigned last message */
	xfr_tsig_deinit(&c);

	c = t;
	assert_int_equal(xfr_tsig_verify(&c, m1, l1), 0);
	assert_int_equal(xfr_tsig_verify(&c, S.msg[1], S.len[1]), 0);
	assert_int_equal(xfr_tsig_verify(&c, m3, l3), 0);
	assert_int_equal(xfr_tsig_end(&c), 0);
	xfr_tsig_deinit(&c);

	/* message 2 altered in flight: the MAC of message 3 catches it */
	c = t;
	assert_int_equal(xfr_tsig_verify(&c, m1, l1), 0);
	S.msg[1][S.len[1] - 1] ^= 1;
	assert_int_equal(xfr_tsig_verify(&c, S.msg[1], S.len[1]), 0);
	assert_true(xfr_tsig_verify(&c, m3, l3) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADSIG);
	xfr_tsig_deinit(&c);
	S.msg[1][S.len[1] - 1] ^= 1;

	/* message 2 dropped: also caught */
	c = t;
	assert_int_equal(xfr_tsig_verify(&c, m1, l1), 0);
	assert_true(xfr_tsig_verify(&c, m3, l3) < 0);
	assert_int_equal(c.status, XFR_TSIG_BADSIG);
	xfr_tsig_deinit(&c);

	/* the first message unsigned: rejected */
	c = t;
	assert_true(xfr_tsig_verify(&c, S.msg[0], S.len[0]) < 0);
	assert_int_equal(c.status, XFR_TSIG_UNSIGNED);
	xfr_tsig_deinit(&c);

	/* 99 unsigned in a row are fine, the 100th is not */
	c = t;
	assert_int_equal(xfr_tsig_verify(&c, m1, l1), 0);
	for (int i = 0; i < 99; i++)
		assert_int_equal(xfr_tsig_verify(&c, S.msg[1], S.len[1]), 0);
	assert_true(xfr_tsig_verify(&c, S.msg[1], S.len[1]) < 0);
	assert_int_equal(c.status, XFR_TSIG_UNSIGNED_RUN);
	xfr_tsig_deinit(&c);

	ldns_pkt_free(p1);
	ldns_pkt_free(p3);
	ldns_rdf_deep_free(prefix);
	ldns_rdf_deep_free(mac);
	free(m1);
	free(m3);
	xfr_tsig_deinit(&t);
	srvd_zone_unref(z);
}

/* The independent Python signer's stream (unsigned middle message). */
static void test_stream_from_python(void **state)
{
	(void)state;
	tx_fixture("tsig_stream.bin", &S);
	assert_int_equal(S.n, 4);
	xfr_tsig_key_t k;
	assert_int_equal(xfr_tsig_key_init("stream-key", "hmac-sha256",
	                                   "c3J2ZC1zdHJlYW0tdGVzdC1zZWNyZXQtMzItYnl0ZXMh", &k),
	                 0);
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	t.now = 1700000100;
	/* the request, verified as a server would ... */
	assert_int_equal(xfr_tsig_verify(&t, S.msg[0], S.len[0]), 0);
	/* ... and then we take the client's seat with its MAC */
	t.state = XFR_TSIG_AWAIT_RESPONSE;
	uint8_t origin[255];
	tx_name("example.com.", origin);
	xfr_in_t *x = NULL;
	assert_int_equal(xfr_in_new(origin, NULL, DNS_T_AXFR, 0x4242, NULL, &x), 0);
	xfr_in_set_tsig(x, &t);
	assert_int_equal(xfr_in_feed(x, S.msg[1], S.len[1]), XFR_IN_MORE);
	assert_int_equal(xfr_in_feed(x, S.msg[2], S.len[2]), XFR_IN_MORE);
	assert_int_equal(xfr_in_feed(x, S.msg[3], S.len[3]), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	assert_int_equal(z->serial, 7);
	assert_int_equal(z->n_records, 5);
	srvd_zone_unref(z);
	xfr_in_free(x);
	xfr_tsig_deinit(&t);

	/* too late: BADTIME, and xfr_in says TSIG */
	xfr_tsig_init(&t, &k);
	t.now = 1700000000 + 301;
	assert_true(xfr_tsig_verify(&t, S.msg[0], S.len[0]) < 0);
	assert_int_equal(t.status, XFR_TSIG_BADTIME);
	xfr_tsig_deinit(&t);
}

/* dnspython signed a query with each HMAC (including hmac-sha224 and
 * hmac-sha384, which ldns 1.8.3 cannot do). */
static void test_algorithms_from_dnspython(void **state)
{
	(void)state;
	tx_fixture("tsig_algs.bin", &S);
	assert_int_equal(S.n, 5);
	const char *algs[] = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384",
	                      "hmac-sha512"};
	for (size_t i = 0; i < 5; i++) {
		xfr_tsig_key_t k;
		assert_int_equal(xfr_tsig_key_init("alg-key", algs[i],
		                                   "YWxnLWtleS1zZWNyZXQtZm9yLWFsbC1obWFjcw==", &k),
		                 0);
		xfr_tsig_rr_t rr;
		assert_int_equal(xfr_tsig_find(S.msg[i], S.len[i], &rr), 0);
		assert_int_equal(rr.mac_len, k.mac_len);
		xfr_tsig_t t;
		xfr_tsig_init(&t, &k);
		t.now = rr.time_signed + 10;
		assert_int_equal(xfr_tsig_verify(&t, S.msg[i], S.len[i]), 0);
		xfr_tsig_deinit(&t);
		/* another algorithm under the same name: BADKEY */
		xfr_tsig_key_t o;
		assert_int_equal(xfr_tsig_key_init("alg-key", algs[(i + 1) % 5],
		                                   "YWxnLWtleS1zZWNyZXQtZm9yLWFsbC1obWFjcw==", &o),
		                 0);
		xfr_tsig_init(&t, &o);
		t.now = rr.time_signed;
		assert_true(xfr_tsig_verify(&t, S.msg[i], S.len[i]) < 0);
		assert_int_equal(t.status, XFR_TSIG_BADKEY);
		/* the size we reserve for a TSIG is the size it has */
		assert_int_equal(xfr_tsig_size(&k), S.len[i] - rr.start);
		xfr_tsig_deinit(&t);
	}
}

/* Knot DNS signs every message of a multi-message AXFR. */
static void test_knot_signed_axfr(void **state)
{
	(void)state;
	tx_stream_t *qs = calloc(1, sizeof(*qs));
	tx_fixture("knot_tsig_query.bin", qs);
	tx_fixture("knot_tsig_axfr.bin", &S);
	assert_true(S.n > 2);
	xfr_tsig_key_t k;
	assert_int_equal(xfr_tsig_key_init("xfr-key", "hmac-sha256",
	                                   "a25vdC14ZnIta2V5LWZvci1zcnZkLXRlc3RzLTMyYnk=", &k),
	                 0);
	xfr_tsig_rr_t rr;
	assert_int_equal(xfr_tsig_find(S.msg[0], S.len[0], &rr), 0);
	xfr_tsig_t t;
	xfr_tsig_init(&t, &k);
	t.now = rr.time_signed;
	assert_int_equal(xfr_tsig_verify(&t, qs->msg[0], qs->len[0]), 0); /* dnspython's query */
	t.state = XFR_TSIG_AWAIT_RESPONSE;
	uint8_t origin[255];
	tx_name("big.example.", origin);
	xfr_in_t *x = NULL;
	assert_int_equal(xfr_in_new(origin, NULL, DNS_T_AXFR, get_u16(qs->msg[0]), NULL, &x), 0);
	xfr_in_set_tsig(x, &t);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	assert_int_equal(z->n_records, 1003);
	srvd_zone_unref(z);
	xfr_in_free(x);
	xfr_tsig_deinit(&t);

	/* a byte changed in the third message: the transfer fails on TSIG */
	xfr_tsig_init(&t, &k);
	t.now = rr.time_signed;
	assert_int_equal(xfr_tsig_verify(&t, qs->msg[0], qs->len[0]), 0);
	t.state = XFR_TSIG_AWAIT_RESPONSE;
	assert_int_equal(xfr_in_new(origin, NULL, DNS_T_AXFR, get_u16(qs->msg[0]), NULL, &x), 0);
	xfr_in_set_tsig(x, &t);
	S.msg[2][100] ^= 0x01;
	assert_int_equal(xfr_in_feed(x, S.msg[0], S.len[0]), XFR_IN_MORE);
	assert_int_equal(xfr_in_feed(x, S.msg[1], S.len[1]), XFR_IN_MORE);
	assert_int_equal(xfr_in_feed(x, S.msg[2], S.len[2]), SRVD_EINVAL);
	assert_int_equal(xfr_in_error(x)->fail, XFR_FAIL_TSIG);
	assert_non_null(strstr(xfr_in_error(x)->why, "BADSIG"));
	assert_int_equal(xfr_in_error(x)->msg, 3);
	xfr_in_free(x);
	xfr_tsig_deinit(&t);
	tx_stream_free(qs);
	free(qs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_init),
	    cmocka_unit_test(test_sign_verified_by_ldns),
	    cmocka_unit_test(test_response_from_ldns),
	    cmocka_unit_test(test_peer_error),
	    cmocka_unit_test(test_unsigned_refusal),
	    cmocka_unit_test(test_error_replies),
	    cmocka_unit_test_teardown(test_server_stream_verified_by_ldns, teardown_each),
	    cmocka_unit_test_teardown(test_stream_from_ldns_unsigned_middle, teardown_each),
	    cmocka_unit_test_teardown(test_stream_from_python, teardown_each),
	    cmocka_unit_test_teardown(test_algorithms_from_dnspython, teardown_each),
	    cmocka_unit_test_teardown(test_knot_signed_axfr, teardown_each),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
