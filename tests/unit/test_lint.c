/* srvd_zone_lint(): the Matrix/SRV mistakes srvd-checkzone reports on a
 * zone that is valid DNS. Each case is one finding, matched by its text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "test_helpers.h"

#define MAX_FINDINGS 32

typedef struct seen {
	unsigned n;
	char msg[MAX_FINDINGS][512];
} seen_t;

static void collect(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                    unsigned line, const char *msg)
{
	seen_t *s = ctx;
	assert_int_equal(level, SRVD_DIAG_WARNING);
	if (s->n < MAX_FINDINGS)
		snprintf(s->msg[s->n++], sizeof(s->msg[0]), "%s", msg);
}

static unsigned lint(const char *body, seen_t *seen)
{
	char path[] = "/tmp/srvd-test-lint-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fprintf(f,
	        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n"
	        "ns1 A 192.0.2.1\nmatrix A 192.0.2.10\n%s",
	        body);
	fclose(f);
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	srvd_zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, NULL), 0);
	unlink(path);
	memset(seen, 0, sizeof(*seen));
	srvd_diag_t diag = {.fn = collect, .ctx = seen};
	int n = srvd_zone_lint(z, &diag);
	srvd_zone_unref(z);
	assert_int_equal((unsigned)n, seen->n);
	assert_int_equal(diag.warnings, seen->n);
	return seen->n;
}

static void expect_one(const char *body, const char *needle)
{
	seen_t s;
	unsigned n = lint(body, &s);
	for (unsigned i = 0; i < n; i++)
		if (strstr(s.msg[i], needle))
			return;
	fail_msg("no finding containing \"%s\" (%u findings)", needle, n);
}

static void clean_matrix_zone_has_no_findings(void **state)
{
	seen_t s;
	assert_int_equal(lint("_matrix-fed._tcp SRV 10 0 8448 matrix\n"
	                      "_matrix._tcp SRV 10 0 8448 matrix\n"
	                      "@ MX 10 matrix\n_imap._tcp SRV 0 0 0 .\n",
	                      &s),
	                 0);
}

static void srv_target_alias(void **state)
{
	expect_one("_matrix-fed._tcp SRV 10 0 8448 www\n_matrix._tcp SRV 10 0 8448 matrix\n"
	           "www CNAME matrix\n",
	           "target www.example.com. is an alias (CNAME); RFC 2782");
}

static void mx_target_alias(void **state)
{
	expect_one("@ MX 10 www\nwww CNAME matrix\n", "RFC 2181 10.3");
}

static void srv_target_without_address(void **state)
{
	expect_one("_matrix-fed._tcp SRV 10 0 8448 txt\n_matrix._tcp SRV 10 0 8448 matrix\n"
	           "txt TXT \"x\"\n",
	           "target txt.example.com. has no A or AAAA record");
	expect_one("_matrix-fed._tcp SRV 10 0 8448 nothere\n_matrix._tcp SRV 10 0 8448 matrix\n",
	           "target nothere.example.com. does not exist");
}

static void missing_trailing_dot(void **state)
{
	expect_one("_matrix-fed._tcp SRV 10 0 8448 matrix.example.com\n"
	           "_matrix._tcp SRV 10 0 8448 matrix\n",
	           "a trailing dot is missing");
}

static void dot_target_must_stand_alone(void **state)
{
	expect_one("_imap._tcp SRV 0 0 0 .\n_imap._tcp SRV 10 0 143 matrix\n", "\".\"");
}

static void misspelt_matrix_owner(void **state)
{
	expect_one("_matrix_fed._tcp SRV 10 0 8448 matrix\n", "misspelt Matrix service");
	expect_one("matrix-fed._tcp SRV 10 0 8448 matrix\n", "misspelt Matrix service");
	expect_one("_matrix._udp SRV 10 0 8448 matrix\n", "should be under _tcp");
}

static void one_of_the_pair_missing(void **state)
{
	expect_one("_matrix-fed._tcp SRV 10 0 8448 matrix\n", "older than Matrix v1.8");
	expect_one("_matrix._tcp SRV 10 0 8448 matrix\n", "_matrix._tcp is deprecated");
}

/* DNSSEC (issue 10, item 7): expired and soon-expiring signatures, and
 * signatures of a type the owner lacks. The signature bytes are not
 * checked, so made-up RRSIGs do. */
static void rrsig_findings(void **state)
{
	char body[1024], soon[32];
	time_t t = time(NULL) + 3 * 86400;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(soon, sizeof(soon), "%Y%m%d%H%M%S", &tm);
	seen_t s;
	/* Valid until 2080, covering what is there: nothing to say. */
	assert_int_equal(
	    lint("matrix RRSIG A 13 3 300 20801231000000 20260101000000 1 example.com. "
	         "AAAA\n",
	         &s),
	    0);
	expect_one("matrix RRSIG A 13 3 300 20200101000000 20190101000000 1 example.com. AAAA\n",
	           "RRSIG A expired on 2020-01-01");
	snprintf(body, sizeof(body),
	         "matrix RRSIG A 13 3 300 %s 20260101000000 1 example.com. AAAA\n", soon);
	expect_one(body, "RRSIG A expires on");
	expect_one("matrix RRSIG MX 13 3 300 20801231000000 20260101000000 1 example.com. AAAA\n",
	           "RRSIG covers MX, which matrix.example.com. does not have");
}

/* The signed fixtures are clean. */
static void signed_fixture_is_clean(void **state)
{
	srvd_zone_src_t src = {.origin = "nsec3o.test",
	                       .path =
	                           SRVD_SOURCE_DIR "/tests/golden/zones/dnssec/nsec3o.test.signed"};
	srvd_zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, NULL), 0);
	seen_t seen;
	memset(&seen, 0, sizeof(seen));
	srvd_diag_t diag = {.fn = collect, .ctx = &seen};
	int n = srvd_zone_lint(z, &diag);
	srvd_zone_unref(z);
	for (unsigned i = 0; i < seen.n; i++)
		print_message("%s\n", seen.msg[i]);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rrsig_findings),
	    cmocka_unit_test(signed_fixture_is_clean),
	    cmocka_unit_test(clean_matrix_zone_has_no_findings),
	    cmocka_unit_test(srv_target_alias),
	    cmocka_unit_test(mx_target_alias),
	    cmocka_unit_test(srv_target_without_address),
	    cmocka_unit_test(missing_trailing_dot),
	    cmocka_unit_test(dot_target_must_stand_alone),
	    cmocka_unit_test(misspelt_matrix_owner),
	    cmocka_unit_test(one_of_the_pair_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
