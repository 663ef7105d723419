/* Unit tests for the zone-file loader (srvd_zone_load): directives
 * ($ORIGIN, $TTL, $INCLUDE, RFC 1035 5.1), relative names, diagnostics with
 * file and line, and refusal of broken files. The files are written to a
 * private temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_helpers.h"

static char g_dir[64];

typedef struct finding {
	srvd_diag_level_t level;
	char file[256];
	unsigned line;
	char msg[512];
} finding_t;

typedef struct findings {
	unsigned n;
	finding_t f[32];
} findings_t;

static void collect(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                    unsigned line, const char *msg)
{
	findings_t *fs = ctx;
	if (fs->n == 32)
		return;
	finding_t *f = &fs->f[fs->n++];
	f->level = level;
	snprintf(f->file, sizeof(f->file), "%s", file ? file : "");
	f->line = line;
	snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

static void write_file(const char *name, const char *text, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", g_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/srvd-test-loader-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *base_zone = "$TTL 3600\n"
                               "@ IN SOA ns1 hostmaster 7 7200 3600 1209600 300\n"
                               "  IN NS ns1\n"
                               "ns1 IN A 192.0.2.53\n";

static zone_t *load(const char *text, findings_t *fs, srvd_diag_t *d, int *rc)
{
	char path[256];
	write_file("zone", text, path, sizeof(path));
	*d = (srvd_diag_t){.fn = collect, .ctx = fs};
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	srvd_zone_t *z = NULL;
	*rc = srvd_zone_load(&src, &z, d);
	return *rc == 0 ? z : NULL;
}

static const zone_rrset_t *rrset(const zone_t *z, const char *name, uint16_t type)
{
	uint32_t n = th_find(z, name);
	if (n == ZONE_NONE)
		return NULL;
	return zone_node_rrset(z, &z->nodes[n], type);
}

static void directives_and_relative_names(void **state)
{
	char inc[256];
	write_file("inc.zone",
	           "@ IN TXT \"included apex\"\n"
	           "host IN A 192.0.2.95\n"
	           "$TTL 120\n"
	           "ttlhost IN A 192.0.2.96\n",
	           inc, sizeof(inc));
	char text[2048];
	snprintf(text, sizeof(text),
	         "%s"
	         "www IN CNAME @\n"
	         "$TTL 60\n"
	         "short IN A 192.0.2.60\n"
	         "explicit 7200 IN A 192.0.2.61\n"
	         "$ORIGIN lab.example.com.\n"
	         "host1 IN A 192.0.2.91\n"
	         "$ORIGIN example.com.\n"
	         "$INCLUDE inc.zone inc.example.com.\n"
	         "after 3600 IN A 192.0.2.99\n"
	         "multi IN TXT ( \"one\"\n"
	         "               \"two\" )\n",
	         base_zone);
	findings_t fs = {0};
	srvd_diag_t d;
	int rc;
	zone_t *z = load(text, &fs, &d, &rc);
	if (!z)
		fail_msg("load failed (%d): %s", rc, fs.n ? fs.f[0].msg : "");
	assert_int_equal(d.errors, 0);
	/* $TTL applies to the records after it (RFC 2308 4). */
	assert_int_equal(rrset(z, "short.example.com", DNS_T_A)->ttl, 60);
	assert_int_equal(rrset(z, "explicit.example.com", DNS_T_A)->ttl, 7200);
	assert_int_equal(rrset(z, "ns1.example.com", DNS_T_A)->ttl, 3600);
	/* $ORIGIN makes relative names relative to it. */
	assert_non_null(rrset(z, "host1.lab.example.com", DNS_T_A));
	/* $INCLUDE with an origin; the origin reverts after it (RFC 1035 5.1). */
	assert_non_null(rrset(z, "inc.example.com", DNS_T_TXT));
	assert_non_null(rrset(z, "host.inc.example.com", DNS_T_A));
	assert_int_equal(rrset(z, "ttlhost.inc.example.com", DNS_T_A)->ttl, 120);
	assert_non_null(rrset(z, "after.example.com", DNS_T_A));
	assert_null(rrset(z, "after.inc.example.com", DNS_T_A));
	/* "@" in RDATA is the origin; a record spanning lines in parentheses. */
	const zone_rrset_t *c = rrset(z, "www.example.com", DNS_T_CNAME);
	assert_non_null(c);
	assert_memory_equal(z->rdata + c->data + 2, "\7example\3com", 13);
	const zone_rrset_t *t = rrset(z, "multi.example.com", DNS_T_TXT);
	assert_non_null(t);
	assert_int_equal(get_u16(z->rdata + t->data), 8); /* "\3one\3two" */
	srvd_zone_unref(z);
}

/* srvd_zone_file: the master file, then each included file once, in the
 * order opened (what the daemon watches and fingerprints). */
static void files_read_are_listed(void **state)
{
	char inc[256], text[1024];
	write_file("a.inc", "a IN A 192.0.2.1\n", inc, sizeof(inc));
	write_file("b.inc", "b IN A 192.0.2.2\n", inc, sizeof(inc));
	snprintf(text, sizeof(text),
	         "%s$INCLUDE a.inc\n$INCLUDE b.inc\n$INCLUDE a.inc x.example.com.\n", base_zone);
	findings_t fs = {0};
	srvd_diag_t d;
	int rc;
	zone_t *z = load(text, &fs, &d, &rc);
	assert_non_null(z);
	assert_int_equal(srvd_zone_file_count(z), 3);
	char want[256];
	snprintf(want, sizeof(want), "%s/zone", g_dir);
	assert_string_equal(srvd_zone_file(z, 0), want);
	snprintf(want, sizeof(want), "%s/a.inc", g_dir);
	assert_string_equal(srvd_zone_file(z, 1), want);
	snprintf(want, sizeof(want), "%s/b.inc", g_dir);
	assert_string_equal(srvd_zone_file(z, 2), want);
	assert_null(srvd_zone_file(z, 3));
	assert_int_equal(srvd_zone_file_count(NULL), 0);
	assert_null(srvd_zone_file(NULL, 0));
	srvd_zone_unref(z);
}

static void syntax_error_has_file_and_line(void **state)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "%s"
	         "ok IN A 192.0.2.1\n"
	         "bad IN A 999.0.2.1\n"   /* line 6 */
	         "; a comment\n"          /* line 7 */
	         "multi IN TXT ( \"a\"\n" /* line 8: the record starts here */
	         "  \"b\" )\n"
	         "alsobad IN MX x y\n", /* line 10 */
	         base_zone);
	findings_t fs = {0};
	srvd_diag_t d;
	int rc;
	zone_t *z = load(text, &fs, &d, &rc);
	assert_null(z);
	assert_int_equal(rc, SRVD_EZONE);
	assert_int_equal(d.errors, 2); /* parsing goes on after an error */
	assert_int_equal(fs.f[0].level, SRVD_DIAG_ERROR);
	assert_int_equal(fs.f[0].line, 6);
	assert_non_null(strstr(fs.f[0].file, "/zone"));
	assert_int_equal(fs.f[1].line, 10);
}

static void missing_include_is_error(void **state)
{
	char text[1024];
	snprintf(text, sizeof(text), "%s$INCLUDE nothere.zone\n", base_zone);
	findings_t fs = {0};
	srvd_diag_t d;
	int rc;
	assert_null(load(text, &fs, &d, &rc));
	assert_int_equal(rc, SRVD_EZONE);
	assert_int_equal(d.errors, 1);
	assert_int_equal(fs.f[0].line, 5);
	assert_non_null(strstr(fs.f[0].msg, "nothere.zone"));
}

static void other_class_is_error(void **state)
{
	char text[1024];
	snprintf(text, sizeof(text), "%sch CH TXT \"chaos\"\n", base_zone);
	findings_t fs = {0};
	srvd_diag_t d;
	int rc;
	assert_null(load(text, &fs, &d, &rc));
	assert_int_equal(d.errors, 1);
	assert_int_equal(fs.f[0].line, 5);
}

static void outside_origin_is_error(void **state)
{
	char text[1024];
	snprintf(text, sizeof(text), "%swww.example.net. IN A 192.0.2.1\n", base_zone);
	findings_t fs = {0};
	srvd_diag_t d;
	int rc;
	assert_null(load(text, &fs, &d, &rc));
	assert_int_equal(d.errors, 1);
	assert_int_equal(fs.f[0].line, 5);
}

static void bad_arguments(void **state)
{
	srvd_zone_t *z = NULL;
	srvd_zone_src_t src = {.origin = NULL, .path = "x"};
	assert_int_equal(srvd_zone_load(&src, &z, NULL), SRVD_EINVAL);
	assert_int_equal(srvd_zone_load(NULL, &z, NULL), SRVD_EINVAL);
	src = (srvd_zone_src_t){.origin = "a..b", .path = "x"};
	assert_int_equal(srvd_zone_load(&src, &z, NULL), SRVD_EINVAL);
}

static void zoneset_load_all_or_nothing(void **state)
{
	char good[256], bad[256];
	write_file("good.zone", base_zone, good, sizeof(good));
	write_file("bad.zone", "$TTL 60\n@ IN NS ns1\n", bad, sizeof(bad));
	srvd_zone_src_t src[2] = {{.origin = "example.com", .path = good},
	                          {.origin = "example.org", .path = bad}};
	srvd_zoneset_t *zs = NULL;
	srvd_diag_t d = {0};
	assert_int_equal(srvd_zoneset_load(src, 2, &zs, &d), SRVD_EZONE);
	assert_null(zs);
	assert_int_equal(srvd_zoneset_load(src, 1, &zs, &d), 0);
	assert_int_equal(srvd_zoneset_count(zs), 1);
	srvd_zoneset_unref(zs);
	/* The same origin twice is refused. */
	src[1] = src[0];
	assert_int_equal(srvd_zoneset_load(src, 2, &zs, &d), SRVD_EEXIST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(directives_and_relative_names),
	    cmocka_unit_test(files_read_are_listed),
	    cmocka_unit_test(syntax_error_has_file_and_line),
	    cmocka_unit_test(missing_include_is_error),
	    cmocka_unit_test(other_class_is_error),
	    cmocka_unit_test(outside_origin_is_error),
	    cmocka_unit_test(bad_arguments),
	    cmocka_unit_test(zoneset_load_all_or_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
