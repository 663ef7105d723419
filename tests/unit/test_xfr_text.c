/* Unit tests: zone version -> master file (xfr/text.c). What is written
 * must load again, through our loader, to the same records. */
#include "test_xfr_util.h"

#include <sys/stat.h>

/* Many types, escapes in names and text, a record ldns only knows in the
 * generic form, glue below a cut, a wildcard. */
static const char *ZOO =
    "$ORIGIN zoo.example.\n"
    "$TTL 300\n"
    "@ IN SOA ns1 host\\.master 42 7200 3600 1209600 300\n"
    "@ NS ns1\n"
    "@ NS ns2.example.net.\n"
    "@ MX 10 mail\n"
    "@ TXT \"v=spf1 -all\" \"with \\\"quotes\\\" and \\\\ backslash\" \"tab\\009byte\\255\"\n"
    "@ CAA 0 issue \"letsencrypt.org\"\n"
    "ns1 A 192.0.2.1\n"
    "ns1 AAAA 2001:db8::1\n"
    "mail 60 A 192.0.2.2\n"
    "www CNAME ns1\n"
    "dn DNAME example.net.\n"
    "_matrix-fed._tcp SRV 10 0 8448 ns1\n"
    "_443._tcp TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "ssh SSHFP 4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "ptr PTR www.example.net.\n"
    "hinfo HINFO \"PC\" \"Linux\"\n"
    "naptr NAPTR 100 10 \"U\" \"E2U+sip\" \"!^.*$!sip:info@example.net!\" .\n"
    "a\\.b A 192.0.2.3\n"
    "sp\\032ace A 192.0.2.4\n"
    "*.wild TXT \"wildcard\"\n"
    "unknown TYPE65280 \\# 4 0a000001\n"
    "empty TYPE65281 \\# 0\n"
    "sub NS ns.sub\n"
    "ns.sub A 192.0.2.53\n"
    "ds DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";

static zone_t *load_path(const char *origin, const char *path)
{
	srvd_zone_src_t src = {.origin = origin, .path = path};
	zone_t *z = NULL;
	srvd_diag_t diag = {0};
	int rc = srvd_zone_load(&src, &z, &diag);
	if (rc)
		fail_msg("reload of %s failed: %s", path, srvd_strerror(rc));
	return z;
}

static void roundtrip(const char *origin, zone_t *z)
{
	char dir[] = "/tmp/srvd-text-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/zone", dir);
	assert_int_equal(xfr_zone_save(z, path), 0);
	zone_t *back = load_path(origin, path);
	tx_assert_same(z, back);
	/* the SOA comes first */
	FILE *fp = fopen(path, "r");
	char line[4096];
	assert_non_null(fgets(line, sizeof(line), fp)); /* comment */
	assert_int_equal(line[0], ';');
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_non_null(strstr(line, "SOA"));
	fclose(fp);
	/* no temp file left behind */
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	struct stat st;
	assert_int_not_equal(stat(tmp, &st), 0);
	/* writing again over it works (rename replaces) */
	assert_int_equal(xfr_zone_save(back, path), 0);
	srvd_zone_unref(back);
	unlink(path);
	rmdir(dir);
}

static void test_zoo(void **state)
{
	(void)state;
	zone_t *z = tx_zone("zoo.example", ZOO);
	assert_int_equal(z->n_records, 25);
	roundtrip("zoo.example", z);
	srvd_zone_unref(z);
}

/* The bundled Matrix delegation zone. */
static void test_bundled_zone(void **state)
{
	(void)state;
	zone_t *z = load_path("example.com", SRVD_SOURCE_DIR "/zones/example.com.zone");
	roundtrip("example.com", z);
	srvd_zone_unref(z);
}

/* A zone received by AXFR from Knot, persisted, loaded back. */
static void test_received_zone(void **state)
{
	(void)state;
	tx_stream_t *s = calloc(1, sizeof(*s));
	tx_fixture("knot_axfr.bin", s);
	uint8_t origin[255];
	tx_name("example.com.", origin);
	xfr_in_t *x = NULL;
	assert_int_equal(xfr_in_new(origin, NULL, DNS_T_AXFR, get_u16(s->msg[0]), NULL, &x), 0);
	assert_int_equal(tx_feed_all(x, s), XFR_IN_DONE);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(x, NULL, &z), 0);
	roundtrip("example.com", z);
	srvd_zone_unref(z);
	xfr_in_free(x);
	tx_stream_free(s);
	free(s);
}

/* Every byte value in a TXT string and in a label survives. */
static void test_all_bytes(void **state)
{
	(void)state;
	char *text = malloc(64 * 1024);
	size_t n = (size_t)sprintf(text, "$ORIGIN bytes.example.\n@ 60 SOA ns h 1 2 3 4 5\n"
	                                 "@ 60 NS ns\nns 60 A 192.0.2.1\n");
	for (int b = 0; b < 256; b++) {
		n += (size_t)sprintf(text + n, "b%d 60 TXT \"\\%03d\"\n", b, b);
		if (b != '.' && b > 0)
			n += (size_t)sprintf(text + n, "x\\%03dy 60 A 192.0.2.9\n", b);
	}
	zone_t *z = tx_zone("bytes.example", text);
	free(text);
	roundtrip("bytes.example", z);
	srvd_zone_unref(z);
}

static void test_errors(void **state)
{
	(void)state;
	zone_t *z = tx_zone("zoo.example", ZOO);
	assert_int_equal(xfr_zone_save(z, "/nonexistent-dir/zone"), SRVD_EIO);
	assert_int_equal(xfr_zone_save(NULL, "/tmp/x"), SRVD_EINVAL);
	assert_int_equal(xfr_zone_write(z, NULL), SRVD_EINVAL);
	srvd_zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_zoo),           cmocka_unit_test(test_bundled_zone),
	    cmocka_unit_test(test_received_zone), cmocka_unit_test(test_all_bytes),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
