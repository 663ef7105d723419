/* Unit tests for transfer ACLs through the public API, as an embedding
 * program sees them: srvd_zone_src_t.allow_transfer with address prefixes
 * and srvd_acl_key() entries, and srvd_query_t.tsig_key naming the key the
 * caller verified. An entry of either kind lets a client transfer; a key
 * entry grants that key from any address and nothing else.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "test_helpers.h"

static srvd_zoneset_t *g_zs;

static int setup(void **state)
{
	(void)state;
	srvd_prefix_t acl[2];
	assert_int_equal(srvd_acl_key("Xfr-Key.", &acl[0]), SRVD_OK);
	acl[1] = (srvd_prefix_t){.family = 4, .bits = 32, .addr = {192, 0, 2, 1}};
	srvd_zone_src_t src = {.origin = "example.com",
	                       .path = SRVD_SOURCE_DIR "/zones/example.com.zone",
	                       .allow_transfer = acl,
	                       .n_allow_transfer = 2};
	srvd_diag_t d = {0};
	assert_int_equal(srvd_zoneset_load(&src, 1, &g_zs, &d), SRVD_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	srvd_zoneset_unref(g_zs);
	return 0;
}

/* The rcode srvd_respond gives an AXFR of example.com over TCP from addr
 * (dotted quad), verified with the key `key` (wire form) or none; -1 when
 * it starts a transfer (SRVD_XFR). */
static int axfr(const char *addr, const uint8_t *key)
{
	static const uint8_t q[] = {0x12, 0x34, 0,   0,   0,   1,   0,   0,   0,   0,
	                            0,    0,    7,   'e', 'x', 'a', 'm', 'p', 'l', 'e',
	                            3,    'c',  'o', 'm', 0,   0,   252, 0,   1};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	srvd_query_t sq = {
	    .wire = q, .len = sizeof(q), .transport = SRVD_TCP, .src_addr = &sa, .tsig_key = key};
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), SRVD_OK);
	uint8_t resp[4096];
	size_t len = 0;
	int rc = srvd_respond(r, g_zs, &sq, resp, sizeof(resp), &len);
	srvd_responder_free(r);
	if (rc == SRVD_XFR)
		return -1;
	assert_int_equal(rc, SRVD_OK);
	return resp[3] & 0xF;
}

static void listed_address_transfers(void **state)
{
	(void)state;
	assert_int_equal(axfr("192.0.2.1", NULL), -1);
}

static void other_address_is_refused(void **state)
{
	(void)state;
	assert_int_equal(axfr("192.0.2.2", NULL), DNS_RC_REFUSED);
}

/* Any case, with or without the trailing dot, from an unlisted address. */
static void granted_key_transfers_from_anywhere(void **state)
{
	(void)state;
	assert_int_equal(axfr("198.51.100.7", (const uint8_t *)"\7xfr-key"), -1);
	assert_int_equal(axfr("198.51.100.7", (const uint8_t *)"\7XFR-KEY"), -1);
}

static void other_key_is_refused(void **state)
{
	(void)state;
	assert_int_equal(axfr("198.51.100.7", (const uint8_t *)"\7xfr-kez"), DNS_RC_REFUSED);
	assert_int_equal(axfr("198.51.100.7", (const uint8_t *)"\3xfr\3key"), DNS_RC_REFUSED);
}

static void bad_arguments(void **state)
{
	(void)state;
	srvd_prefix_t p;
	assert_int_equal(srvd_acl_key("", &p), SRVD_EINVAL);
	assert_int_equal(srvd_acl_key(NULL, &p), SRVD_EINVAL);
	assert_int_equal(srvd_acl_key("k", NULL), SRVD_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(listed_address_transfers),
	    cmocka_unit_test(other_address_is_refused),
	    cmocka_unit_test(granted_key_transfers_from_anywhere),
	    cmocka_unit_test(other_key_is_refused),
	    cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
