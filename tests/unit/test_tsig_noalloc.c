/* Proof that TSIG allocates nothing per message: a signed query is
 * verified and its answer signed (the query path, which must not call
 * malloc), and so is every other message TSIG handles.
 *
 * As in test_noalloc.c, this binary defines malloc, calloc, realloc, free,
 * posix_memalign and aligned_alloc itself: they forward to glibc's
 * __libc_* functions and, while `counting` is set, count every call. Keys
 * are made and fixtures read before counting starts (key set-up decodes
 * base64 through ldns, which allocates: that is configuration time). Then
 * whole exchanges run for every algorithm, and streams with unsigned
 * messages and failures, and the count must stay 0. The results are checked
 * after counting stops, so the proof is of real work, not of early errors.
 *
 * Meaningful only without sanitizers (they own the allocator): the CMake
 * file does not build it under SRVD_SANITIZE or SRVD_FUZZ.
 */
#include <errno.h>

#include "test_xfr_util.h"
#include "xfr/tsig.h"

#include "counting_alloc.h"

static void count_start(void)
{
	n_alloc = n_free = 0;
	counting = 1;
}

static void count_stop_expect_none(const char *what)
{
	counting = 0;
	unsigned long allocs = n_alloc, frees = n_free;
	if (allocs || frees)
		fail_msg("%s called the allocator: %lu allocations, %lu frees", what, allocs,
		         frees);
}

enum { NOW = 1700000000, ROUNDS = 200 };

static const char *SECRET = "c3J2ZC10c2lnLW5vYWxsb2MtdGVzdC1zZWNyZXQtMzJi";

static const char *ALGS[] = {"hmac-md5.sig-alg.reg.int",
                             "hmac-sha1",
                             "hmac-sha224",
                             "hmac-sha256",
                             "hmac-sha384",
                             "hmac-sha512"};
enum { N_ALGS = sizeof(ALGS) / sizeof(ALGS[0]) };

static size_t soa_query(uint8_t *buf, size_t cap, uint16_t id)
{
	uint8_t origin[255];
	size_t olen;
	assert_int_equal(wire_name_from_str("example.com.", origin, &olen), 0);
	size_t len;
	assert_int_equal(xfr_query_soa(origin, id, buf, cap, &len), 0);
	return len;
}

/* The counter itself works: otherwise a 0 below would prove nothing. */
static void counter_sees_allocations(void **state)
{
	(void)state;
	void *(*volatile m)(size_t) = malloc;
	void (*volatile f)(void *) = free;
	count_start();
	void *p = m(32);
	f(p);
	counting = 0;
	assert_int_equal(n_alloc, 1);
	assert_int_equal(n_free, 1);
}

/* Client signs a query, server verifies it and signs its answer, client
 * verifies the answer: every algorithm, many rounds. */
static void exchange_allocates_nothing(void **state)
{
	(void)state;
	static xfr_tsig_key_t keys[N_ALGS];
	for (size_t a = 0; a < N_ALGS; a++)
		assert_int_equal(xfr_tsig_key_init("noalloc-key.", ALGS[a], SECRET, &keys[a]), 0);
	uint8_t plain[512];
	size_t plen = soa_query(plain, sizeof(plain), 0x5151);
	uint8_t q[1024], ans[1024];
	size_t qlen = 0, alen = 0;
	int rc[N_ALGS][4];
	xfr_tsig_state_t server_state[N_ALGS], client_state[N_ALGS];
	memset(rc, 0x7f, sizeof(rc));

	count_start();
	for (int round = 0; round < ROUNDS; round++) {
		for (size_t a = 0; a < N_ALGS; a++) {
			xfr_tsig_t c, s;
			xfr_tsig_init(&c, &keys[a]);
			c.now = NOW;
			rc[a][0] = xfr_tsig_sign(&c, plain, plen, q, sizeof(q), &qlen);
			xfr_tsig_init(&s, &keys[a]);
			s.now = NOW + 5;
			rc[a][1] = xfr_tsig_verify(&s, q, qlen);
			memcpy(ans, plain, plen);
			ans[2] |= 0x80; /* QR */
			rc[a][2] = xfr_tsig_sign(&s, ans, plen, ans, sizeof(ans), &alen);
			rc[a][3] = xfr_tsig_verify(&c, ans, alen);
			server_state[a] = s.state;
			client_state[a] = c.state;
			xfr_tsig_deinit(&s);
			xfr_tsig_deinit(&c);
		}
	}
	count_stop_expect_none("a signed exchange");
	for (size_t a = 0; a < N_ALGS; a++) {
		for (int i = 0; i < 4; i++)
			if (rc[a][i] != 0)
				fail_msg("%s: step %d returned %d", ALGS[a], i, rc[a][i]);
		assert_int_equal(server_state[a], XFR_TSIG_STREAM_OUT);
		assert_int_equal(client_state[a], XFR_TSIG_STREAM_IN);
	}
}

/* Streams: ours signed message by message (the server's side and the
 * client's), a Python signer's with an unsigned message in the middle (the
 * running digest), and Knot's signed AXFR. */
static void streams_allocate_nothing(void **state)
{
	(void)state;
	static tx_stream_t py, kq, kaxfr;
	tx_fixture("tsig_stream.bin", &py);
	tx_fixture("knot_tsig_query.bin", &kq);
	tx_fixture("knot_tsig_axfr.bin", &kaxfr);
	assert_int_equal(py.n, 4);
	assert_true(kaxfr.n > 2);
	static xfr_tsig_key_t ours, pyk, knotk;
	assert_int_equal(xfr_tsig_key_init("noalloc-key.", "hmac-sha384", SECRET, &ours), 0);
	assert_int_equal(xfr_tsig_key_init("stream-key", "hmac-sha256",
	                                   "c3J2ZC1zdHJlYW0tdGVzdC1zZWNyZXQtMzItYnl0ZXMh", &pyk),
	                 0);
	assert_int_equal(xfr_tsig_key_init("xfr-key", "hmac-sha256",
	                                   "a25vdC14ZnIta2V5LWZvci1zcnZkLXRlc3RzLTMyYnk=", &knotk),
	                 0);
	xfr_tsig_rr_t krr;
	assert_int_equal(xfr_tsig_find(kaxfr.msg[0], kaxfr.len[0], &krr), 0);
	uint8_t plain[512], q[1024], msg[8][1024];
	size_t plen = soa_query(plain, sizeof(plain), 0x6161), qlen = 0, mlen[8];
	int ours_rc = 0, py_rc = 0, knot_rc = 0;
	unsigned py_unsigned = 0;

	count_start();
	for (int round = 0; round < ROUNDS / 10; round++) {
		/* ours: one query, eight signed answers, verified in turn */
		xfr_tsig_t c, s;
		xfr_tsig_init(&c, &ours);
		xfr_tsig_init(&s, &ours);
		c.now = s.now = NOW;
		ours_rc |= xfr_tsig_sign(&c, plain, plen, q, sizeof(q), &qlen);
		ours_rc |= xfr_tsig_verify(&s, q, qlen);
		for (int i = 0; i < 8; i++) {
			memcpy(msg[i], plain, plen);
			msg[i][2] |= 0x80;
			ours_rc |=
			    xfr_tsig_sign(&s, msg[i], plen, msg[i], sizeof(msg[i]), &mlen[i]);
			ours_rc |= xfr_tsig_verify(&c, msg[i], mlen[i]);
		}
		ours_rc |= xfr_tsig_end(&c);
		xfr_tsig_deinit(&c);
		xfr_tsig_deinit(&s);

		/* Python's: request as the server, then the client's seat */
		xfr_tsig_t p;
		xfr_tsig_init(&p, &pyk);
		p.now = 1700000100;
		py_rc |= xfr_tsig_verify(&p, py.msg[0], py.len[0]);
		p.state = XFR_TSIG_AWAIT_RESPONSE;
		for (size_t i = 1; i < py.n; i++) {
			py_rc |= xfr_tsig_verify(&p, py.msg[i], py.len[i]);
			if (i == 2)
				py_unsigned = p.unsigned_run;
		}
		py_rc |= xfr_tsig_end(&p);
		xfr_tsig_deinit(&p);

		/* Knot's */
		xfr_tsig_t k;
		xfr_tsig_init(&k, &knotk);
		k.now = krr.time_signed;
		knot_rc |= xfr_tsig_verify(&k, kq.msg[0], kq.len[0]);
		k.state = XFR_TSIG_AWAIT_RESPONSE;
		for (size_t i = 0; i < kaxfr.n; i++)
			knot_rc |= xfr_tsig_verify(&k, kaxfr.msg[i], kaxfr.len[i]);
		knot_rc |= xfr_tsig_end(&k);
		xfr_tsig_deinit(&k);
	}
	count_stop_expect_none("TSIG streams");
	assert_int_equal(ours_rc, 0);
	assert_int_equal(py_rc, 0);
	assert_int_equal(py_unsigned, 1); /* the running digest was used */
	assert_int_equal(knot_rc, 0);
	tx_stream_free(&py);
	tx_stream_free(&kq);
	tx_stream_free(&kaxfr);
}

/* A server refusing a request: BADSIG, BADTIME (a signed answer), BADKEY. */
static void refusals_allocate_nothing(void **state)
{
	(void)state;
	static xfr_tsig_key_t k, other;
	assert_int_equal(xfr_tsig_key_init("noalloc-key.", "hmac-sha256", SECRET, &k), 0);
	assert_int_equal(xfr_tsig_key_init("other-key.", "hmac-sha256", SECRET, &other), 0);
	uint8_t plain[512], q[1024], bad[1024], out[3][1024];
	size_t plen = soa_query(plain, sizeof(plain), 0x7171), qlen = 0, olen[3] = {0};
	xfr_tsig_t c;
	xfr_tsig_init(&c, &k);
	c.now = NOW;
	assert_int_equal(xfr_tsig_sign(&c, plain, plen, q, sizeof(q), &qlen), 0);
	memcpy(bad, q, qlen);
	bad[qlen - 10] ^= 1; /* in the MAC */
	int vrc[3], erc[3];
	xfr_tsig_status_t st[3];

	count_start();
	for (int round = 0; round < ROUNDS; round++) {
		xfr_tsig_t s;
		xfr_tsig_init(&s, &k);
		s.now = NOW;
		vrc[0] = xfr_tsig_verify(&s, bad, qlen);
		st[0] = s.status;
		erc[0] = xfr_tsig_error_reply(&s, bad, qlen, out[0], sizeof(out[0]), &olen[0]);
		xfr_tsig_deinit(&s);

		xfr_tsig_init(&s, &k);
		s.now = NOW + 3600;
		vrc[1] = xfr_tsig_verify(&s, q, qlen);
		st[1] = s.status;
		erc[1] = xfr_tsig_error_reply(&s, q, qlen, out[1], sizeof(out[1]), &olen[1]);
		xfr_tsig_deinit(&s);

		xfr_tsig_init(&s, &other);
		s.now = NOW;
		vrc[2] = xfr_tsig_verify(&s, q, qlen);
		st[2] = s.status;
		erc[2] = xfr_tsig_error_reply(&s, q, qlen, out[2], sizeof(out[2]), &olen[2]);
		xfr_tsig_deinit(&s);
	}
	count_stop_expect_none("refusing a request");
	/* the error codes of RFC 8945; only the BADTIME answer is signed */
	const xfr_tsig_status_t want[3] = {XFR_TSIG_BADSIG, XFR_TSIG_BADTIME, XFR_TSIG_BADKEY};
	const uint16_t error[3] = {16, 18, 17};
	const uint16_t mac_len[3] = {0, 32, 0};
	for (int i = 0; i < 3; i++) {
		assert_true(vrc[i] < 0);
		assert_int_equal(st[i], want[i]);
		assert_int_equal(erc[i], 0);
		xfr_tsig_rr_t rr;
		assert_int_equal(xfr_tsig_find(out[i], olen[i], &rr), 0);
		assert_int_equal(rr.error, error[i]);
		assert_int_equal(rr.mac_len, mac_len[i]);
	}
	xfr_tsig_deinit(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(counter_sees_allocations),
	    cmocka_unit_test(exchange_allocates_nothing),
	    cmocka_unit_test(streams_allocate_nothing),
	    cmocka_unit_test(refusals_allocate_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
