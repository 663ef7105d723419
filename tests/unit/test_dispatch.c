/* srvd_dispatch, the front door, through the public API an embedder uses:
 * what each kind of message gets back, and that a request carrying a TSIG
 * record never gets an unsigned answer to its question (RFC 8945 5.1,
 * 5.2). Signatures are checked the way a client checks them, with a
 * client-side TSIG session over the bytes that came back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "test_helpers.h"
#include "update/update.h"
#include "xfr/tsig.h"

static const srvd_key_src_t keys_src[] = {
    {"k1", "hmac-sha256", "c2VjcmV0LW9uZS1mb3ItdGhlLWRpc3BhdGNoLXRlc3Q="},
    {"notifier.", "hmac-sha512", "c2VjcmV0LXR3by1mb3ItdGhlLWRpc3BhdGNoLXRlc3Q="},
};

typedef struct fix {
	srvd_zoneset_t *zs;
	srvd_server_t *srv;    /* keys and rules */
	srvd_server_t *nokeys; /* no keyring at all */
	srvd_responder_t *r;
	srvd_prefix_t notify_from[2];
	srvd_update_grant_t acme;
	struct sockaddr_in lo, other;
} fix_t;

static int setup(void **state)
{
	fix_t *f = calloc(1, sizeof(*f));
	srvd_prefix_t acl;
	assert_int_equal(srvd_acl_key("k1", &acl), 0);
	srvd_zone_src_t src[] = {
	    {.origin = "example.com",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/example.com.zone",
	     .allow_transfer = &acl,
	     .n_allow_transfer = 1},
	    {.origin = "xfr.test",
	     .path = SRVD_SOURCE_DIR "/tests/golden/zones/xfr.test.zone",
	     .allow_transfer = &acl,
	     .n_allow_transfer = 1},
	};
	srvd_diag_t diag = {0};
	assert_int_equal(srvd_zoneset_load(src, 2, &f->zs, &diag), 0);
	srvd_keyring_t *k = NULL;
	assert_int_equal(srvd_keyring_new(keys_src, 2, &k), 0);
	f->notify_from[0] = (srvd_prefix_t){.family = 4, .bits = 32, .addr = {127, 0, 0, 1}};
	assert_int_equal(srvd_acl_key("notifier", &f->notify_from[1]), 0);
	f->acme = (srvd_update_grant_t){.acme = 1};
	assert_int_equal(srvd_acl_key("k1", &f->acme.who), 0);
	srvd_zone_rule_t rules[] = {
	    {.origin = "xfr.test",
	     .secondary = 1,
	     .notify_from = f->notify_from,
	     .n_notify_from = 2},
	    {.origin = "example.com", /* NOTIFY is not ours; UPDATE by k1 for ACME */
	     .update = &f->acme,
	     .n_update = 1},
	};
	assert_int_equal(srvd_server_new(f->zs, k, rules, 2, &f->srv), 0);
	assert_int_equal(srvd_server_new(f->zs, NULL, NULL, 0, &f->nokeys), 0);
	srvd_keyring_unref(k);
	assert_int_equal(srvd_responder_new(NULL, &f->r), 0);
	f->lo = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	f->other =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000201)};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix_t *f = *state;
	srvd_server_unref(f->srv);
	srvd_server_unref(f->nokeys);
	srvd_zoneset_unref(f->zs);
	srvd_responder_free(f->r);
	free(f);
	return 0;
}

typedef struct msg {
	uint8_t b[4096];
	size_t n;
} msg_t;

/* A request: opcode, one question, EDNS payload (0: no OPT). */
static void request(msg_t *m, unsigned opcode, const char *name, uint16_t type, uint16_t payload)
{
	wr_t o;
	wr_init(&o, m->b, sizeof(m->b));
	uint8_t w[255];
	size_t nl = th_name(name, w);
	wr_u16(&o, 0x1234);
	wr_u16(&o, (uint16_t)(opcode << 11));
	wr_u16(&o, 1);
	wr_u16(&o, 0);
	wr_u16(&o, 0);
	wr_u16(&o, payload ? 1 : 0);
	wr_bytes(&o, w, nl);
	wr_u16(&o, type);
	wr_u16(&o, DNS_C_IN);
	if (payload) {
		wr_u8(&o, 0);
		wr_u16(&o, DNS_T_OPT);
		wr_u16(&o, payload);
		wr_u32(&o, 0);
		wr_u16(&o, 0);
	}
	assert_false(o.err);
	m->n = o.pos;
}

static xfr_tsig_key_t key_of(const srvd_key_src_t *s)
{
	xfr_tsig_key_t k;
	assert_int_equal(xfr_tsig_key_init(s->name, s->algorithm, s->secret, &k), 0);
	return k;
}

/* Sign m in place as a client; t keeps the session to check the answer. */
static void sign(msg_t *m, xfr_tsig_t *t, const xfr_tsig_key_t *k)
{
	xfr_tsig_init(t, k);
	assert_int_equal(xfr_tsig_sign(t, m->b, m->n, m->b, sizeof(m->b), &m->n), 0);
}

static int dispatch(fix_t *f, const srvd_server_t *srv, const msg_t *m, const void *from,
                    srvd_transport_t tr, msg_t *out, srvd_result_t *res)
{
	srvd_query_t q = {.wire = m->b, .len = m->n, .transport = tr, .src_addr = from};
	int rc = srvd_dispatch(f->r, srv, &q, out->b, sizeof(out->b), res);
	if (rc == SRVD_OK)
		out->n = res->len;
	return rc;
}

static unsigned rcode(const msg_t *m)
{
	return m->b[3] & 0xF;
}

static bool has_tsig(const msg_t *m)
{
	xfr_tsig_rr_t rr;
	return xfr_tsig_find(m->b, m->n, &rr) == 0;
}

static uint16_t tsig_error(const msg_t *m)
{
	xfr_tsig_rr_t rr;
	assert_int_equal(xfr_tsig_find(m->b, m->n, &rr), 0);
	return rr.error;
}

/* An unsigned query gets exactly what srvd_respond gives. */
static void unsigned_query_is_srvd_respond(void **state)
{
	fix_t *f = *state;
	msg_t q, a, b;
	request(&q, DNS_OP_QUERY, "_matrix-fed._tcp.example.com", DNS_T_SRV, 1232);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	srvd_query_t sq = {.wire = q.b, .len = q.n, .transport = SRVD_UDP, .src_addr = &f->lo};
	assert_int_equal(srvd_respond(f->r, f->zs, &sq, b.b, sizeof(b.b), &b.n), SRVD_OK);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.b, b.b, a.n);
	assert_int_equal(res.tsig, 0);
	assert_null(res.zone);
	assert_int_equal(res.opcode, DNS_OP_QUERY);
	assert_int_equal(res.rcode, DNS_RC_NOERROR);
}

/* A signed query: answered, and the answer verifies with the client's key. */
static void signed_query_gets_signed_answer(void **state)
{
	fix_t *f = *state;
	xfr_tsig_key_t k = key_of(&keys_src[0]);
	xfr_tsig_t t;
	msg_t q, a;
	request(&q, DNS_OP_QUERY, "matrix.example.com", DNS_T_A, 1232);
	sign(&q, &t, &k);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->other, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(res.tsig, 1);
	assert_int_equal(rcode(&a), DNS_RC_NOERROR);
	assert_true(get_u16(a.b + 6) >= 1);
	assert_int_equal(xfr_tsig_verify(&t, a.b, a.n), 0);
	xfr_tsig_deinit(&t);
}

/* Over UDP without EDNS the signed answer, TSIG included, stays within
 * 512 bytes: the room is held back inside the client's limit. */
static void signed_answer_fits_the_client_limit(void **state)
{
	fix_t *f = *state;
	xfr_tsig_key_t k = key_of(&keys_src[1]); /* hmac-sha512: the largest MAC */
	xfr_tsig_t t;
	msg_t q, a;
	request(&q, DNS_OP_QUERY, "example.com", DNS_T_ANY, 0);
	sign(&q, &t, &k);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->other, SRVD_UDP, &a, &res), SRVD_OK);
	assert_true(a.n <= 512);
	assert_int_equal(res.tsig, 1);
	assert_int_equal(xfr_tsig_verify(&t, a.b, a.n), 0);
	xfr_tsig_deinit(&t);
}

/* Unknown key: NOTAUTH with TSIG error BADKEY (17), whether or not the
 * server has any keys at all. */
static void unknown_key_is_badkey(void **state)
{
	fix_t *f = *state;
	srvd_key_src_t stranger = {"stranger", "hmac-sha256", keys_src[0].secret};
	xfr_tsig_key_t k = key_of(&stranger);
	const srvd_server_t *servers[] = {f->srv, f->nokeys};
	for (int i = 0; i < 2; i++) {
		xfr_tsig_t t;
		msg_t q, a;
		request(&q, DNS_OP_QUERY, "matrix.example.com", DNS_T_A, 1232);
		sign(&q, &t, &k);
		srvd_result_t res;
		assert_int_equal(dispatch(f, servers[i], &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
		assert_int_equal(rcode(&a), DNS_RC_NOTAUTH);
		assert_int_equal(get_u16(a.b + 6), 0); /* no answer records */
		assert_int_equal(tsig_error(&a), 17);
		assert_int_equal(res.tsig, 0);
		xfr_tsig_deinit(&t);
	}
}

/* A MAC that does not verify: NOTAUTH, BADSIG (16), no data. */
static void bad_mac_is_badsig(void **state)
{
	fix_t *f = *state;
	xfr_tsig_key_t k = key_of(&keys_src[0]);
	xfr_tsig_t t;
	msg_t q, a;
	request(&q, DNS_OP_QUERY, "matrix.example.com", DNS_T_A, 1232);
	sign(&q, &t, &k);
	q.b[q.n - 10] ^= 0x55; /* inside the MAC */
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_NOTAUTH);
	assert_int_equal(get_u16(a.b + 6), 0);
	assert_int_equal(tsig_error(&a), 16);
	xfr_tsig_deinit(&t);
}

/* A TSIG that is not the last record: FORMERR, not an unsigned answer. */
static void tsig_not_last_is_formerr(void **state)
{
	fix_t *f = *state;
	xfr_tsig_key_t k = key_of(&keys_src[0]);
	xfr_tsig_t t;
	msg_t q, a;
	request(&q, DNS_OP_QUERY, "matrix.example.com", DNS_T_A, 0);
	sign(&q, &t, &k);
	/* Append an OPT after the TSIG. */
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
	memcpy(q.b + q.n, opt, sizeof(opt));
	q.n += sizeof(opt);
	put_u16(q.b + 10, 2);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_FORMERR);
	assert_int_equal(get_u16(a.b + 6), 0);
	assert_false(has_tsig(&a));
	xfr_tsig_deinit(&t);
}

/* NOTIFY for a secondary zone from a listed address: NOERROR, AA, and the
 * zone and serial hint reported to the caller. */
static void notify_allowed_by_address(void **state)
{
	fix_t *f = *state;
	msg_t q, a;
	request(&q, DNS_OP_NOTIFY, "XFR.test", DNS_T_SOA, 0);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_NOERROR);
	assert_true(a.b[2] & 0x04); /* AA */
	assert_int_equal((a.b[2] >> 3) & 0xF, DNS_OP_NOTIFY);
	assert_int_equal(res.opcode, DNS_OP_NOTIFY);
	assert_non_null(res.zone);
	assert_string_equal(res.zone, "xfr.test");
	assert_int_equal(res.has_serial, 0);
}

/* From another address: REFUSED and nothing reported. Signed with a key
 * that notify-from lists: allowed, and the answer is signed. */
static void notify_refused_then_allowed_by_key(void **state)
{
	fix_t *f = *state;
	msg_t q, a;
	request(&q, DNS_OP_NOTIFY, "xfr.test", DNS_T_SOA, 0);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->other, SRVD_TCP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_REFUSED);
	assert_null(res.zone);

	xfr_tsig_key_t k = key_of(&keys_src[1]);
	xfr_tsig_t t;
	sign(&q, &t, &k);
	assert_int_equal(dispatch(f, f->srv, &q, &f->other, SRVD_TCP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_NOERROR);
	assert_non_null(res.zone);
	assert_int_equal(res.tsig, 1);
	assert_int_equal(xfr_tsig_verify(&t, a.b, a.n), 0);
	xfr_tsig_deinit(&t);

	/* A valid key that notify-from does not list is not enough. */
	k = key_of(&keys_src[0]);
	request(&q, DNS_OP_NOTIFY, "xfr.test", DNS_T_SOA, 0);
	sign(&q, &t, &k);
	assert_int_equal(dispatch(f, f->srv, &q, &f->other, SRVD_TCP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_REFUSED);
	assert_null(res.zone);
	xfr_tsig_deinit(&t);
}

/* NOTIFY for a zone we are not a secondary for: NOTAUTH (RFC 1996 3.10). */
static void notify_for_other_zones_is_notauth(void **state)
{
	fix_t *f = *state;
	const char *zones[] = {"example.com", "nosuch.test"};
	for (int i = 0; i < 2; i++) {
		msg_t q, a;
		request(&q, DNS_OP_NOTIFY, zones[i], DNS_T_SOA, 0);
		srvd_result_t res;
		assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
		assert_int_equal(rcode(&a), DNS_RC_NOTAUTH);
		assert_null(res.zone);
	}
}

/* An UPDATE message: zone section, then update RRs "owner type rdata-hex". */
static void update_msg(msg_t *m, const char *zone, const char *owner, uint16_t type,
                       const uint8_t *rd, uint16_t rdlen)
{
	request(m, DNS_OP_UPDATE, zone, DNS_T_SOA, 0);
	wr_t o;
	wr_init(&o, m->b + m->n, sizeof(m->b) - m->n);
	uint8_t w[255];
	size_t nl = th_name(owner, w);
	wr_bytes(&o, w, nl);
	wr_u16(&o, type);
	wr_u16(&o, DNS_C_IN);
	wr_u32(&o, 60);
	wr_u16(&o, rdlen);
	wr_bytes(&o, rd, rdlen);
	assert_false(o.err);
	m->n += o.pos;
	put_u16(m->b + 8, 1);
}

/* UPDATE is judged at the door: a zone we do not serve is NOTAUTH, a zone
 * with no grant for the requester REFUSED; unknown opcodes get NOTIMP. */
static void update_without_grant_is_refused(void **state)
{
	fix_t *f = *state;
	msg_t q, a;
	srvd_result_t res;
	const uint8_t txt[] = {1, 'x'};
	update_msg(&q, "example.com", "_acme-challenge.example.com", DNS_T_TXT, txt, 2);
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_REFUSED);
	assert_int_equal(res.opcode, DNS_OP_UPDATE);
	assert_null(res.zone);
	update_msg(&q, "nosuch.test", "a.nosuch.test", DNS_T_TXT, txt, 2);
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_NOTAUTH);
	request(&q, 3, "example.com", DNS_T_SOA, 0);
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_NOTIMP);
}

/* The acme key: TXT at _acme-challenge goes to the daemon with its TSIG
 * session, whose answer the client verifies; an A elsewhere is REFUSED
 * at once, signed. */
static void update_by_acme_key(void **state)
{
	fix_t *f = *state;
	xfr_tsig_key_t k = key_of(&keys_src[0]);
	msg_t q, a;
	srvd_result_t res;
	xfr_tsig_t t;
	const uint8_t txt[] = {1, 'x'}, addr[] = {192, 0, 2, 66};
	update_msg(&q, "example.com", "_acme-challenge.example.com", DNS_T_TXT, txt, 2);
	sign(&q, &t, &k);
	srvd_query_t sq = {.wire = q.b, .len = q.n, .transport = SRVD_TCP, .src_addr = &f->lo};
	assert_int_equal(srvd_dispatch(f->r, f->srv, &sq, a.b, sizeof(a.b), &res), SRVD_UPDATE);
	assert_string_equal(res.zone, "example.com");
	srvd_update_t *u = NULL;
	assert_int_equal(srvd_update_begin(f->r, f->srv, &sq, &u), 0);
	assert_string_equal(srvd_update_zone(u), "example.com");
	assert_int_equal(upd_answer(u, DNS_RC_NOERROR, a.b, sizeof(a.b), &a.n), 0);
	srvd_update_free(u);
	assert_int_equal(rcode(&a), DNS_RC_NOERROR);
	assert_int_equal(xfr_tsig_verify(&t, a.b, a.n), 0);

	update_msg(&q, "example.com", "matrix.example.com", DNS_T_A, addr, 4);
	sign(&q, &t, &k);
	assert_int_equal(dispatch(f, f->srv, &q, &f->lo, SRVD_UDP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_REFUSED);
	assert_null(res.zone);
	assert_true(has_tsig(&a));
	assert_int_equal(xfr_tsig_verify(&t, a.b, a.n), 0);
}

/* A signed AXFR granted by key: SRVD_XFR, then every message of the stream
 * carries a TSIG the client verifies, the last one included. Unsigned, the
 * same request is REFUSED (the ACL names only the key). */
static void signed_axfr_is_signed_throughout(void **state)
{
	fix_t *f = *state;
	xfr_tsig_key_t k = key_of(&keys_src[0]);
	xfr_tsig_t t;
	msg_t q, a;
	request(&q, DNS_OP_QUERY, "example.com", DNS_T_AXFR, 0);
	srvd_result_t res;
	assert_int_equal(dispatch(f, f->srv, &q, &f->other, SRVD_TCP, &a, &res), SRVD_OK);
	assert_int_equal(rcode(&a), DNS_RC_REFUSED);
	sign(&q, &t, &k);
	srvd_query_t sq = {.wire = q.b, .len = q.n, .transport = SRVD_TCP, .src_addr = &f->other};
	assert_int_equal(srvd_dispatch(f->r, f->srv, &sq, a.b, sizeof(a.b), &res), SRVD_XFR);
	srvd_xfr_t *x = NULL;
	assert_int_equal(srvd_xfr_begin(f->r, f->srv, &sq, &x), 0);
	int more = 1, msgs = 0;
	static uint8_t buf[65535];
	while (more) {
		size_t len = 0;
		/* small messages, so the stream has several */
		assert_int_equal(srvd_xfr_next(x, buf, 512, &len, &more), 0);
		assert_true(len <= 512);
		assert_int_equal(xfr_tsig_verify(&t, buf, len), 0);
		msgs++;
	}
	assert_true(msgs > 1);
	assert_int_equal(xfr_tsig_end(&t), 0);
	srvd_xfr_free(x);
	xfr_tsig_deinit(&t);
}

static void keyring_rejects_bad_input(void **state)
{
	srvd_keyring_t *k = NULL;
	srvd_key_src_t bad_alg = {"k", "hmac-sha3", keys_src[0].secret};
	assert_int_equal(srvd_keyring_new(&bad_alg, 1, &k), SRVD_EINVAL);
	srvd_key_src_t twice[] = {keys_src[0], {"K1.", "hmac-sha1", keys_src[1].secret}};
	assert_int_equal(srvd_keyring_new(twice, 2, &k), SRVD_EEXIST);
	assert_int_equal(srvd_keyring_new(NULL, 0, &k), 0);
	srvd_keyring_unref(k);
	assert_int_equal(srvd_keyring_new(NULL, 1, &k), SRVD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unsigned_query_is_srvd_respond),
	    cmocka_unit_test(signed_query_gets_signed_answer),
	    cmocka_unit_test(signed_answer_fits_the_client_limit),
	    cmocka_unit_test(unknown_key_is_badkey),
	    cmocka_unit_test(bad_mac_is_badsig),
	    cmocka_unit_test(tsig_not_last_is_formerr),
	    cmocka_unit_test(notify_allowed_by_address),
	    cmocka_unit_test(notify_refused_then_allowed_by_key),
	    cmocka_unit_test(notify_for_other_zones_is_notauth),
	    cmocka_unit_test(update_without_grant_is_refused),
	    cmocka_unit_test(update_by_acme_key),
	    cmocka_unit_test(signed_axfr_is_signed_throughout),
	    cmocka_unit_test(keyring_rejects_bad_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
