/* Loader bug, shown by a failing test (built, not registered with ctest
 * until fixed; see tests/unit/CMakeLists.txt).
 *
 * Bug: a zone-file line "NAME WORD" whose WORD is neither a TTL, a class nor
 * a type (a misspelt type with its RDATA missing, e.g. "_matrix._tcp SVR")
 * loads as a record of TYPE 0 with empty RDATA instead of being a syntax
 * error. ldns_rr_new_frm_str() accepts such a line and returns type 0; the
 * loader (src/loader/loader.c add_rr) passes it on. TYPE 0 is reserved
 * (RFC 6895 3.1) and never valid zone data; the file must be refused with
 * the line number, like any other syntax error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test_helpers.h"

static void unknown_word_without_rdata_is_error(void **state)
{
	char dir[] = "/tmp/srvd-test-loader-bugs-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/zone", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("$TTL 3600\n"
	      "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	      "  IN NS ns1\n"
	      "ns1 IN A 192.0.2.53\n"
	      "_matrix._tcp SVR\n", /* line 5 */
	      f);
	fclose(f);
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	srvd_diag_t d = {0};
	srvd_zone_t *z = NULL;
	int rc = srvd_zone_load(&src, &z, &d);
	unlink(path);
	rmdir(dir);
	if (rc == 0) {
		uint32_t n = th_find(z, "_matrix._tcp.example.com");
		bool type0 = n != ZONE_NONE && zone_node_rrset(z, &z->nodes[n], 0) != NULL;
		srvd_zone_unref(z);
		fail_msg("the zone loaded%s; want a syntax error at line 5",
		         type0 ? " with a TYPE0 record at _matrix._tcp" : "");
	}
	assert_int_equal(rc, SRVD_EZONE);
	assert_int_equal(d.errors, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unknown_word_without_rdata_is_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
