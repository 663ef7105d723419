/* Unit tests: transfer in (xfr/xfr_in.c). AXFR streams come from our own
 * cursor (compressed by our writer) and from ldns (compressed by ldns);
 * IXFR responses are built record by record with ldns; every error the
 * state machine names is provoked once. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_xfr_util.h"

#define SOA(serial)                                                                                \
	"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. " #serial               \
	" 7200 3600 1209600 300"

static const char *V1 = "$ORIGIN example.com.\n"
                        "$TTL 3600\n"
                        "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                        "@ NS ns1\n"
                        "@ NS ns2.example.net.\n"
                        "@ MX 10 mail\n"
                        "ns1 A 192.0.2.1\n"
                        "mail A 192.0.2.2\n"
                        "www A 192.0.2.10\n"
                        "www AAAA 2001:db8::10\n"
                        "_matrix-fed._tcp SRV 10 0 8448 matrix\n"
                        "matrix A 192.0.2.20\n"
                        "txt TXT \"hello world\" \"second\"\n"
                        "old A 192.0.2.99\n"
                        "sub NS ns.sub\n"
                        "ns.sub A 192.0.2.53\n";

/* V1 -> V2: old goes, new comes, www A changes. */
static const char *V2 = "$ORIGIN example.com.\n"
                        "$TTL 3600\n"
                        "@ IN SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
                        "@ NS ns1\n"
                        "@ NS ns2.example.net.\n"
                        "@ MX 10 mail\n"
                        "ns1 A 192.0.2.1\n"
                        "mail A 192.0.2.2\n"
                        "www A 192.0.2.11\n"
                        "www AAAA 2001:db8::10\n"
                        "_matrix-fed._tcp SRV 10 0 8448 matrix\n"
                        "matrix A 192.0.2.20\n"
                        "txt TXT \"hello world\" \"second\"\n"
                        "new A 192.0.2.100\n"
                        "sub NS ns.sub\n"
                        "ns.sub A 192.0.2.53\n";

/* V2 -> V3: a TTL change and a new AAAA. */
static const char *V3 = "$ORIGIN example.com.\n"
                        "$TTL 3600\n"
                        "@ IN SOA ns1 hostmaster 3 7200 3600 1209600 300\n"
                        "@ NS ns1\n"
                        "@ NS ns2.example.net.\n"
                        "@ MX 10 mail\n"
                        "ns1 A 192.0.2.1\n"
                        "mail A 192.0.2.2\n"
                        "www A 192.0.2.11\n"
                        "www AAAA 2001:db8::10\n"
                        "_matrix-fed._tcp SRV 10 0 8448 matrix\n"
                        "matrix A 192.0.2.20\n"
                        "matrix AAAA 2001:db8::20\n"
                        "txt 600 TXT \"hello world\" \"second\"\n"
                        "new A 192.0.2.100\n"
                        "sub NS ns.sub\n"
                        "ns.sub A 192.0.2.53\n";

static uint8_t ORIGIN[255];
static tx_stream_t S; /* large: keep it off the stack */

static int setup(void **state)
{
	(void)state;
	tx_name("example.com.", ORIGIN);
	return 0;
}

static bool SPOOL;        /* start() gives the transfer a spool file */
static int SPOOL_FD = -1; /* a dup of the last one, to look at */

static int teardown_each(void **state)
{
	(void)state;
	tx_stream_free(&S);
	SPOOL = false;
	if (SPOOL_FD >= 0)
		close(SPOOL_FD);
	SPOOL_FD = -1;
	return 0;
}

static xfr_in_t *start(const zone_t *cur, uint16_t qtype, uint16_t id, const xfr_in_limits_t *lim)
{
	xfr_in_t *x = NULL;
	assert_int_equal(xfr_in_new(ORIGIN, cur, qtype, id, lim, &x), 0);
	if (SPOOL) {
		int fd = -1;
		assert_int_equal(xfr_spool_open("test_xfr_in.spool", &fd), 0);
		if (SPOOL_FD >= 0)
			close(SPOOL_FD);
		SPOOL_FD = dup(fd);
		xfr_in_spool(x, fd);
	}
	return x;
}

static off_t spool_size(void)
{
	struct stat st;
	assert_int_equal(fstat(SPOOL_FD, &st), 0);
	return st.st_size;
}

/* One message with answer RRs from text. */
static void add_msg(uint16_t id, uint16_t qtype, bool question, const char *const *an, size_t n)
{
	tx_msg_t m = {.id = id,
	              .flags = DNS_QR | DNS_AA,
	              .qname = question ? "example.com." : NULL,
	              .qtype = qtype,
	              .an = an,
	              .n_an = n};
	S.msg[S.n] = tx_build(&m, &S.len[S.n]);
	S.n++;
}

/* ---- AXFR ----------------------------------------------------------------- */

static void axfr_roundtrip(size_t cap)
{
	/* V1 and enough records to need many 512-byte messages */
	char *text = malloc(64 * 1024);
	size_t n = (size_t)sprintf(text, "%s", V1);
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(text + n, "host%d 300 TXT \"record %d of the padding\"\n", i,
		                     i);
	zone_t *z = tx_zone("example.com", text);
	free(text);
	tx_axfr(z, 321, cap, &S);
	if (cap == 512)
		assert_true(S.n > 10);
	xfr_in_t *x = start(NULL, DNS_T_AXFR, 321, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	assert_int_equal(xfr_in_kind(x), XFR_KIND_FULL);
	assert_int_equal(xfr_in_serial(x), 1);
	uint64_t msgs, bytes, records;
	xfr_in_counts(x, &msgs, &bytes, &records);
	assert_int_equal(msgs, S.n);
	assert_int_equal(records, z->n_records + 1); /* the SOA comes twice */
	zone_t *got = NULL;
	srvd_diag_t diag = {0};
	assert_int_equal(xfr_in_finish(x, &diag, &got), 0);
	assert_int_equal(diag.errors, 0);
	tx_assert_same(z, got);
	srvd_zone_unref(got);
	xfr_in_free(x);
	srvd_zone_unref(z);
}

static void test_axfr_one_message(void **state)
{
	(void)state;
	axfr_roundtrip(65535);
}

static void test_axfr_many_messages(void **state)
{
	(void)state;
	axfr_roundtrip(512);
}

/* Spooled: the same zone comes out, built from the file; every message
 * went there, framed. */
static void test_axfr_spooled(void **state)
{
	(void)state;
	SPOOL = true;
	axfr_roundtrip(512);
	off_t want = 0;
	for (size_t i = 0; i < S.n; i++)
		want += (off_t)S.len[i] + 2;
	assert_int_equal(spool_size(), want);
}

/* ldns's encoder, records repeated across messages, newer than current. */
static void test_axfr_ldns_repeats(void **state)
{
	(void)state;
	zone_t *v1 = tx_zone("example.com", V1);
	const char *m1[] = {SOA(5), "example.com. 3600 IN NS ns1.example.com.",
	                    "ns1.example.com. 3600 IN A 192.0.2.1"};
	const char *m2[] = {"ns1.example.com. 3600 IN A 192.0.2.1",
	                    "mx.example.com. 60 IN MX 5 ns1.example.com.",
	                    "srv.example.com. 60 IN SRV 0 0 1 ns1.example.com.",
	                    "cn.example.com. 60 IN CNAME ns1.example.com."};
	const char *m3[] = {"example.com. 3600 IN NS ns1.example.com.", SOA(5)};
	add_msg(1, DNS_T_AXFR, true, m1, 3);
	add_msg(1, DNS_T_AXFR, false, m2, 4);
	add_msg(1, DNS_T_AXFR, true, m3, 2); /* question may be repeated */
	xfr_in_t *x = start(v1, DNS_T_AXFR, 1, NULL);
	assert_int_equal(xfr_in_feed(x, S.msg[0], S.len[0]), XFR_IN_MORE);
	assert_int_equal(xfr_in_feed(x, S.msg[1], S.len[1]), XFR_IN_MORE);
	assert_int_equal(xfr_in_feed(x, S.msg[2], S.len[2]), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	assert_int_equal(z->serial, 5);
	assert_int_equal(z->n_records, 6); /* SOA NS A MX SRV CNAME, deduplicated */
	/* the names inside MX/SRV/CNAME RDATA were expanded */
	zone_t *want =
	    tx_zone("example.com", "$ORIGIN example.com.\n"
	                           "@ 3600 IN SOA ns1 hostmaster 5 7200 3600 1209600 300\n"
	                           "@ 3600 NS ns1\n"
	                           "ns1 3600 A 192.0.2.1\n"
	                           "mx 60 MX 5 ns1\n"
	                           "srv 60 SRV 0 0 1 ns1\n"
	                           "cn 60 CNAME ns1\n");
	tx_assert_same(want, z);
	/* after DONE nothing more is accepted */
	assert_int_equal(xfr_in_feed(x, S.msg[2], S.len[2]), SRVD_EINVAL);
	assert_int_equal(xfr_in_error(x)->fail, XFR_FAIL_STATE);
	srvd_zone_unref(want);
	srvd_zone_unref(z);
	srvd_zone_unref(v1);
	xfr_in_free(x);
}

static void test_axfr_not_newer(void **state)
{
	(void)state;
	zone_t *v1 = tx_zone("example.com", V1);
	tx_axfr(v1, 2, 65535, &S);
	xfr_in_t *x = start(v1, DNS_T_AXFR, 2, NULL);
	assert_int_equal(tx_feed_all(x, &S), SRVD_EEXIST);
	assert_int_equal(xfr_in_error(x)->fail, XFR_FAIL_NOT_NEWER);
	assert_non_null(strstr(xfr_in_error(x)->why, "not newer"));
	xfr_in_free(x);
	/* a forced retransfer takes it */
	xfr_in_limits_t lim = {.force = true};
	x = start(v1, DNS_T_AXFR, 2, &lim);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	tx_assert_same(v1, z);
	srvd_zone_unref(z);
	xfr_in_free(x);
	srvd_zone_unref(v1);
}

/* The transfer ACL of the current version carries over. */
static void test_axfr_keeps_acl(void **state)
{
	(void)state;
	zone_t *v1 = tx_zone("example.com", V1);
	v1->acl = calloc(1, sizeof(*v1->acl));
	v1->acl->family = 4;
	v1->acl->bits = 8;
	v1->n_acl = 1;
	zone_t *v2 = tx_zone("example.com", V2);
	tx_axfr(v2, 3, 65535, &S);
	xfr_in_t *x = start(v1, DNS_T_AXFR, 3, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	assert_int_equal(z->n_acl, 1);
	assert_int_equal(z->acl[0].bits, 8);
	srvd_zone_unref(z);
	xfr_in_free(x);
	srvd_zone_unref(v1);
	srvd_zone_unref(v2);
}

/* Feed one crafted first message; expect rc and fail. */
static void expect_fail(const tx_msg_t *m, const xfr_in_limits_t *lim, int rc, xfr_fail_t f,
                        const char *why)
{
	size_t len;
	uint8_t *w = tx_build(m, &len);
	xfr_in_t *x = start(NULL, DNS_T_AXFR, 1, lim);
	assert_int_equal(xfr_in_feed(x, w, len), rc);
	assert_int_equal(xfr_in_error(x)->fail, f);
	if (why && !strstr(xfr_in_error(x)->why, why))
		fail_msg("reason '%s' lacks '%s'", xfr_in_error(x)->why, why);
	/* errors stick */
	assert_int_equal(xfr_in_feed(x, w, len), rc);
	free(w);
	xfr_in_free(x);
}

static void test_axfr_errors(void **state)
{
	(void)state;
	const char *good[] = {SOA(1), "example.com. 3600 IN NS ns1.example.com.",
	                      "ns1.example.com. 3600 IN A 192.0.2.1", SOA(1)};
	tx_msg_t m = {.id = 1,
	              .flags = DNS_QR | DNS_AA,
	              .qname = "example.com.",
	              .qtype = DNS_T_AXFR,
	              .an = good,
	              .n_an = 4};
	tx_msg_t t = m;
	t.id = 2;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_ID, "ID 2");
	t = m;
	t.flags = DNS_AA;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_QR, "QR");
	t = m;
	t.flags |= DNS_RC_NOTAUTH;
	expect_fail(&t, NULL, SRVD_EIO, XFR_FAIL_RCODE, "NOTAUTH");
	t = m;
	t.flags |= DNS_TC;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_TC, "TC");
	t = m;
	t.qname = "example.net.";
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_QUESTION, "example.net.");
	t = m;
	t.qtype = DNS_T_IXFR;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_QUESTION, "type 251");
	t = m;
	t.qname = NULL;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_QUESTION, "missing");

	const char *first_ns[] = {"example.com. 3600 IN NS ns1.example.com.", SOA(1)};
	t = m;
	t.an = first_ns;
	t.n_an = 2;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_FIRST_SOA, "not the SOA");

	const char *other_soa[] = {
	    "example.net. 3600 IN SOA ns1.example.com. hostmaster.example.com. 1 2 3 4 5"};
	t = m;
	t.an = other_soa;
	t.n_an = 1;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_OUTSIDE, "outside");

	const char *bracket[] = {SOA(1), "example.com. 3600 IN NS ns1.example.com.", SOA(2)};
	t = m;
	t.an = bracket;
	t.n_an = 3;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_BRACKET, "closing SOA");

	const char *after[] = {SOA(1), "example.com. 3600 IN NS ns1.example.com.", SOA(1),
	                       "x.example.com. 3600 IN A 192.0.2.9"};
	t = m;
	t.an = after;
	t.n_an = 4;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_BRACKET, "after the closing SOA");

	const char *sub_soa[] = {
	    SOA(1), "sub.example.com. 3600 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5"};
	t = m;
	t.an = sub_soa;
	t.n_an = 2;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_BRACKET, "sub.example.com.");

	const char *outside[] = {SOA(1), "www.example.org. 3600 IN A 192.0.2.1", SOA(1)};
	t = m;
	t.an = outside;
	t.n_an = 3;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_OUTSIDE, "www.example.org.");

	const char *chaos[] = {SOA(1), "www.example.com. 3600 CH TXT \"x\"", SOA(1)};
	t = m;
	t.an = chaos;
	t.n_an = 3;
	expect_fail(&t, NULL, SRVD_EMALFORM, XFR_FAIL_CLASS, "class 3");

	xfr_in_limits_t lim = {.max_records = 3};
	expect_fail(&m, &lim, SRVD_ELIMIT, XFR_FAIL_COUNT, "3 records");
	lim = (xfr_in_limits_t){.max_bytes = 60};
	expect_fail(&m, &lim, SRVD_ELIMIT, XFR_FAIL_SIZE, "60 bytes");
}

/* Damaged bytes: every truncation of a good message fails as malformed
 * (or as a missing question when the cut falls in the header), and the
 * reason carries the offset. */
static void test_axfr_malformed(void **state)
{
	(void)state;
	const char *good[] = {SOA(1), "example.com. 3600 IN NS ns1.example.com.",
	                      "ns1.example.com. 3600 IN A 192.0.2.1", SOA(1)};
	tx_msg_t m = {.id = 1,
	              .flags = DNS_QR | DNS_AA,
	              .qname = "example.com.",
	              .qtype = DNS_T_AXFR,
	              .an = good,
	              .n_an = 4};
	size_t len;
	uint8_t *w = tx_build(&m, &len);
	for (size_t cut = 0; cut < len; cut++) {
		xfr_in_t *x = start(NULL, DNS_T_AXFR, 1, NULL);
		assert_int_equal(xfr_in_feed(x, w, cut), SRVD_EMALFORM);
		assert_int_equal(xfr_in_error(x)->fail, XFR_FAIL_MALFORMED);
		if (cut > 40)
			assert_non_null(strstr(xfr_in_error(x)->why, "offset"));
		xfr_in_free(x);
	}
	/* trailing garbage */
	uint8_t *longer = malloc(len + 3);
	memcpy(longer, w, len);
	memset(longer + len, 0xAB, 3);
	xfr_in_t *x = start(NULL, DNS_T_AXFR, 1, NULL);
	assert_int_equal(xfr_in_feed(x, longer, len + 3), SRVD_EMALFORM);
	assert_non_null(strstr(xfr_in_error(x)->why, "after the last record"));
	assert_int_equal(xfr_in_error(x)->offset, len);
	xfr_in_free(x);
	/* a compression pointer that points forward */
	memcpy(longer, w, len);
	size_t soa_owner = 12 + 13 + 4; /* header, example.com., type, class */
	assert_int_equal(longer[soa_owner], 0xC0);
	longer[soa_owner + 1] = 0x7F;
	x = start(NULL, DNS_T_AXFR, 1, NULL);
	assert_int_equal(xfr_in_feed(x, longer, len), SRVD_EMALFORM);
	assert_int_equal(xfr_in_error(x)->offset, soa_owner);
	xfr_in_free(x);
	/* random bit flips never crash */
	srand(7);
	for (int i = 0; i < 2000; i++) {
		memcpy(longer, w, len);
		for (int k = 0; k < 3; k++)
			longer[rand() % len] ^= (uint8_t)(1u << (rand() % 8));
		x = start(NULL, DNS_T_AXFR, 1, NULL);
		int rc = xfr_in_feed(x, longer, len);
		assert_true(rc < 0 || rc == XFR_IN_DONE || rc == XFR_IN_MORE);
		if (rc == XFR_IN_DONE) {
			zone_t *z = NULL;
			if (xfr_in_finish(x, NULL, &z) == 0)
				srvd_zone_unref(z);
		}
		xfr_in_free(x);
	}
	free(longer);
	free(w);
}

/* Zone checks of the builder apply: no NS at the apex. */
static void test_axfr_zone_check(void **state)
{
	(void)state;
	const char *no_ns[] = {SOA(1), "www.example.com. 3600 IN A 192.0.2.1", SOA(1)};
	add_msg(1, DNS_T_AXFR, true, no_ns, 3);
	xfr_in_t *x = start(NULL, DNS_T_AXFR, 1, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	srvd_diag_t diag = {0};
	assert_int_equal(xfr_in_finish(x, &diag, &z), SRVD_EZONE);
	assert_int_equal(xfr_in_error(x)->fail, XFR_FAIL_ZONE);
	assert_non_null(strstr(xfr_in_error(x)->why, "NS"));
	assert_true(diag.errors >= 1);
	xfr_in_free(x);
}

/* The builder's verdict comes back through the spool too. */
static void test_axfr_zone_check_spooled(void **state)
{
	SPOOL = true;
	test_axfr_zone_check(state);
}

/* ---- IXFR ------------------------------------------------------------------ */

static const char *IXFR_1_3[] = {
    SOA(3),
    SOA(1),
    "old.example.com. 3600 IN A 192.0.2.99",
    "www.example.com. 3600 IN A 192.0.2.10",
    SOA(2),
    "new.example.com. 3600 IN A 192.0.2.100",
    "www.example.com. 3600 IN A 192.0.2.11",
    SOA(2),
    "txt.example.com. 3600 IN TXT \"hello world\" \"second\"",
    SOA(3),
    "txt.example.com. 600 IN TXT \"hello world\" \"second\"",
    "matrix.example.com. 3600 IN AAAA 2001:db8::20",
    SOA(3),
};

static void ixfr_apply(size_t per_msg)
{
	zone_t *v1 = tx_zone("example.com", V1);
	zone_t *v3 = tx_zone("example.com", V3);
	size_t n = sizeof(IXFR_1_3) / sizeof(IXFR_1_3[0]);
	for (size_t i = 0; i < n; i += per_msg)
		add_msg(77, DNS_T_IXFR, i == 0, IXFR_1_3 + i, i + per_msg > n ? n - i : per_msg);
	xfr_in_t *x = start(v1, DNS_T_IXFR, 77, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	assert_int_equal(xfr_in_kind(x), XFR_KIND_INCREMENTAL);
	assert_int_equal(xfr_in_serial(x), 3);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	tx_assert_same(v3, z);
	/* the current version is untouched */
	zone_t *again = tx_zone("example.com", V1);
	tx_assert_same(again, v1);
	srvd_zone_unref(again);
	srvd_zone_unref(z);
	xfr_in_free(x);
	srvd_zone_unref(v1);
	srvd_zone_unref(v3);
}

static void test_ixfr_one_message(void **state)
{
	(void)state;
	ixfr_apply(100);
}

static void test_ixfr_one_rr_per_message(void **state)
{
	(void)state;
	ixfr_apply(1);
}

static void test_ixfr_uptodate(void **state)
{
	(void)state;
	zone_t *v1 = tx_zone("example.com", V1);
	const char *one[] = {SOA(1)};
	add_msg(5, DNS_T_IXFR, true, one, 1);
	xfr_in_t *x = start(v1, DNS_T_IXFR, 5, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	assert_int_equal(xfr_in_kind(x), XFR_KIND_UPTODATE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	assert_ptr_equal(z, v1);
	srvd_zone_unref(z);
	xfr_in_free(x);
	tx_stream_free(&S);

	/* a lone newer SOA is not an answer yet: more must come */
	const char *newer[] = {SOA(3)};
	add_msg(5, DNS_T_IXFR, true, newer, 1);
	x = start(v1, DNS_T_IXFR, 5, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_MORE);
	xfr_in_free(x);
	srvd_zone_unref(v1);
}

/* An IXFR answered in AXFR form (RFC 1995 4). */
static void test_ixfr_axfr_style(void **state)
{
	(void)state;
	zone_t *v1 = tx_zone("example.com", V1);
	zone_t *v3 = tx_zone("example.com", V3);
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&v3, 1, &zs), 0);
	uint8_t q[512];
	size_t qlen;
	assert_int_equal(xfr_query_ixfr(v1, 9, q, sizeof(q), &qlen), 0);
	srvd_xfr_t *c = tx_cursor(zs, q, qlen); /* our cursor answers in AXFR form */
	tx_drain(c, 512, &S);
	srvd_xfr_free(c);
	xfr_in_t *x = start(v1, DNS_T_IXFR, 9, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	assert_int_equal(xfr_in_kind(x), XFR_KIND_FULL);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	tx_assert_same(v3, z);
	srvd_zone_unref(z);
	xfr_in_free(x);
	srvd_zoneset_unref(zs);
	srvd_zone_unref(v1);
	srvd_zone_unref(v3);
}

/* Diffs are applied in memory, spool or not; nothing is written for them
 * after the first message. AXFR-form answers go through the spool. */
static void test_ixfr_spooled(void **state)
{
	SPOOL = true;
	test_ixfr_one_rr_per_message(state);
	assert_int_equal(spool_size(), (off_t)S.len[0] + 2);
	tx_stream_free(&S);
	test_ixfr_axfr_style(state);
	assert_true(spool_size() > 0);
}

static void ixfr_expect(const char *const *an, size_t n, int rc, xfr_fail_t f, const char *why)
{
	zone_t *v1 = tx_zone("example.com", V1);
	add_msg(3, DNS_T_IXFR, true, an, n);
	xfr_in_t *x = start(v1, DNS_T_IXFR, 3, NULL);
	assert_int_equal(tx_feed_all(x, &S), rc);
	assert_int_equal(xfr_in_error(x)->fail, f);
	if (why && !strstr(xfr_in_error(x)->why, why))
		fail_msg("reason '%s' lacks '%s'", xfr_in_error(x)->why, why);
	bool fallback =
	    f == XFR_FAIL_DIFF_START || f == XFR_FAIL_DIFF_CHAIN || f == XFR_FAIL_DIFF_MISSING;
	assert_int_equal(xfr_err_fallback(xfr_in_error(x)), fallback);
	xfr_in_free(x);
	srvd_zone_unref(v1);
	tx_stream_free(&S);
}

static void test_ixfr_errors(void **state)
{
	(void)state;
	const char *start2[] = {SOA(3), SOA(2), SOA(3), SOA(3)};
	ixfr_expect(start2, 4, SRVD_EZONE, XFR_FAIL_DIFF_START, "starts at serial 2, ours is 1");

	const char *missing[] = {SOA(2), SOA(1), "nothere.example.com. 3600 IN A 192.0.2.7", SOA(2),
	                         SOA(2)};
	ixfr_expect(missing, 5, SRVD_EZONE, XFR_FAIL_DIFF_MISSING, "nothere.example.com.");

	/* deleting the same record twice: the second time it is gone */
	const char *twice[] = {SOA(2),
	                       SOA(1),
	                       "old.example.com. 3600 IN A 192.0.2.99",
	                       "old.example.com. 9 IN A 192.0.2.99",
	                       SOA(2),
	                       SOA(2)};
	ixfr_expect(twice, 6, SRVD_EZONE, XFR_FAIL_DIFF_MISSING, "old.example.com.");

	const char *chain[] = {SOA(3), SOA(1), SOA(2), SOA(4), SOA(3), SOA(3)};
	ixfr_expect(chain, 6, SRVD_EZONE, XFR_FAIL_DIFF_CHAIN, "ended at 2");

	const char *backwards[] = {SOA(3), SOA(1), SOA(1), SOA(3)};
	ixfr_expect(backwards, 4, SRVD_EZONE, XFR_FAIL_DIFF_CHAIN, "from serial 1 to 1");

	const char *older[] = {SOA(1), "example.com. 3600 IN NS ns1.example.com.", SOA(1)};
	ixfr_expect(older, 3, SRVD_EEXIST, XFR_FAIL_NOT_NEWER, "not newer");

	const char *sub_soa[] = {
	    SOA(2), SOA(1), "a.example.com. 1 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5"};
	ixfr_expect(sub_soa, 3, SRVD_EMALFORM, XFR_FAIL_BRACKET, "a.example.com.");

	/* NOTIMP from a server without IXFR: fall back */
	zone_t *v1 = tx_zone("example.com", V1);
	tx_msg_t m = {
	    .id = 3, .flags = DNS_QR | DNS_RC_NOTIMP, .qname = "example.com.", .qtype = DNS_T_IXFR};
	size_t len;
	uint8_t *w = tx_build(&m, &len);
	xfr_in_t *x = start(v1, DNS_T_IXFR, 3, NULL);
	assert_int_equal(xfr_in_feed(x, w, len), SRVD_EIO);
	assert_non_null(strstr(xfr_in_error(x)->why, "NOTIMP"));
	assert_true(xfr_err_fallback(xfr_in_error(x)));
	xfr_in_free(x);
	free(w);
	m.flags = DNS_QR | DNS_RC_REFUSED;
	w = tx_build(&m, &len);
	x = start(v1, DNS_T_IXFR, 3, NULL);
	assert_int_equal(xfr_in_feed(x, w, len), SRVD_EIO);
	assert_false(xfr_err_fallback(xfr_in_error(x)));
	xfr_in_free(x);
	free(w);

	/* bad arguments */
	assert_int_equal(xfr_in_new(ORIGIN, NULL, DNS_T_IXFR, 1, NULL, &x), SRVD_EINVAL);
	assert_int_equal(xfr_in_new(ORIGIN, v1, DNS_T_A, 1, NULL, &x), SRVD_EINVAL);
	uint8_t other[255];
	tx_name("example.net.", other);
	assert_int_equal(xfr_in_new(other, v1, DNS_T_AXFR, 1, NULL, &x), SRVD_EINVAL);
	srvd_zone_unref(v1);
}

/* A zone big enough for copy-on-write (XFR_COW_MIN_RECORDS): the version an
 * IXFR makes shares the current one's memory, and holds what a full build
 * of the new zone holds. V1 with this serial, www's address, and more. */
static char *big_zone(unsigned serial, const char *www, const char *more)
{
	size_t cap = 64 * 1024 + 40 * XFR_COW_MIN_RECORDS;
	char *t = malloc(cap);
	const char *soa = strstr(V1, "hostmaster 1 "), *addr = strstr(V1, "192.0.2.10");
	size_t o = (size_t)snprintf(t, cap, "%.*shostmaster %u %.*s%s%s", (int)(soa - V1), V1,
	                            serial, (int)(addr - soa - 13), soa + 13, www, addr + 10);
	for (unsigned i = 0; i < XFR_COW_MIN_RECORDS; i++)
		o += (size_t)snprintf(t + o, cap - o, "h%u A 198.51.100.%u\n", i, i % 250 + 1);
	snprintf(t + o, cap - o, "%s", more);
	return t;
}

static void test_ixfr_copy_on_write(void **state)
{
	(void)state;
	char *t1 = big_zone(1, "192.0.2.10", "");
	char *t2 = big_zone(2, "192.0.2.11", "_acme-challenge TXT \"token\"\n");
	zone_t *a = tx_zone("example.com", t1), *b = tx_zone("example.com", t2);
	const char *an[] = {SOA(2),
	                    SOA(1),
	                    "www.example.com. 3600 IN A 192.0.2.10",
	                    SOA(2),
	                    "www.example.com. 3600 IN A 192.0.2.11",
	                    "_acme-challenge.example.com. 3600 IN TXT \"token\"",
	                    SOA(2)};
	add_msg(9, DNS_T_IXFR, true, an, sizeof(an) / sizeof(an[0]));
	xfr_in_t *x = start(a, DNS_T_IXFR, 9, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	assert_non_null(zone_cow_image(z));
	tx_assert_same(b, z);
	srvd_zone_unref(z);
	xfr_in_free(x);
	srvd_zone_unref(a);
	srvd_zone_unref(b);
	free(t1);
	free(t2);
}

/* A diff whose result breaks a zone check (CNAME beside other data). */
static void test_ixfr_result_checked(void **state)
{
	(void)state;
	const char *an[] = {SOA(2), SOA(1), SOA(2),
	                    "www.example.com. 60 IN CNAME mail.example.com.", SOA(2)};
	zone_t *v1 = tx_zone("example.com", V1);
	add_msg(3, DNS_T_IXFR, true, an, 5);
	xfr_in_t *x = start(v1, DNS_T_IXFR, 3, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), SRVD_EZONE);
	assert_non_null(strstr(xfr_in_error(x)->why, "CNAME"));
	xfr_in_free(x);
	srvd_zone_unref(v1);
}

/* ---- captures from Knot DNS (tests/unit/fixtures/make_fixtures.sh) ------- */

static void test_knot_axfr(void **state)
{
	(void)state;
	tx_fixture("knot_axfr.bin", &S);
	assert_true(S.n >= 1);
	uint16_t id = get_u16(S.msg[0]);
	xfr_in_t *x = start(NULL, DNS_T_AXFR, id, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/knot_v1.zone", SRVD_SOURCE_DIR);
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	zone_t *want = NULL;
	assert_int_equal(srvd_zone_load(&src, &want, NULL), 0);
	tx_assert_same(want, z);
	srvd_zone_unref(want);
	srvd_zone_unref(z);
	xfr_in_free(x);
}

static zone_t *fixture_zone(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/unit/fixtures/%s", SRVD_SOURCE_DIR, name);
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, NULL), 0);
	return z;
}

static void test_knot_ixfr(void **state)
{
	(void)state;
	zone_t *v1 = fixture_zone("knot_v1.zone");
	zone_t *v3 = fixture_zone("knot_v3.zone");
	tx_fixture("knot_ixfr.bin", &S);
	uint16_t id = get_u16(S.msg[0]);
	xfr_in_t *x = start(v1, DNS_T_IXFR, id, NULL);
	assert_int_equal(tx_feed_all(x, &S), XFR_IN_DONE);
	assert_int_equal(xfr_in_kind(x), XFR_KIND_INCREMENTAL);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	tx_assert_same(v3, z);
	srvd_zone_unref(z);
	xfr_in_free(x);
	srvd_zone_unref(v1);
	srvd_zone_unref(v3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_axfr_one_message, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_many_messages, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_spooled, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_zone_check_spooled, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_spooled, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_ldns_repeats, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_not_newer, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_keeps_acl, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_errors, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_malformed, teardown_each),
	    cmocka_unit_test_teardown(test_axfr_zone_check, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_one_message, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_one_rr_per_message, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_uptodate, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_axfr_style, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_errors, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_result_checked, teardown_each),
	    cmocka_unit_test_teardown(test_ixfr_copy_on_write, teardown_each),
	    cmocka_unit_test_teardown(test_knot_axfr, teardown_each),
	    cmocka_unit_test_teardown(test_knot_ixfr, teardown_each),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
