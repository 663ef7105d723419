/* Unit tests for transfer ACLs through the public API, as an embedding
 * program sees them: srvd_zone_src_t.allow_transfer with address prefixes
 * and srvd_acl_key() entries, and srvd_query_t.tsig_key naming the key the
 * caller verified. An entry of either kind lets a client transfer; a key
 * entry grants that key from any address and nothing else. Key entries
 * compare names exactly (common/acl.h): distinct names never match, case,
 * escapes and the trailing dot don't matter.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "common/acl.h"
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

/* The entry is the name itself, canonical: wire form, lower case. */
static void key_entry_holds_the_exact_name(void **state)
{
	(void)state;
	static const char want[] = "\7xfr-key\7example";
	const char *const spellings[] = {"xfr-key.example", "Xfr-Key.Example.", "XFR-KEY.EXAMPLE",
	                                 "\\120fr-key.example", "x\\FR-key.\\101xample."};
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		srvd_prefix_t p;
		memset(&p, 0xAA, sizeof(p));
		assert_int_equal(srvd_acl_key(spellings[i], &p), SRVD_OK);
		assert_int_equal(p.family, 0);
		uint8_t key[SRVD_ACL_KEY_LEN] = {0};
		memcpy(key, want, sizeof(want)); /* with the root label's zero */
		assert_memory_equal(p.key, key, sizeof(key));
		/* and any spelling finds it */
		for (size_t j = 0; j < sizeof(spellings) / sizeof(spellings[0]); j++)
			assert_true(acl_match_key(&p, 1, spellings[j]));
	}
}

/* An escaped spelling is the same key: the old digest of the text missed
 * this, and a request signed with the key was refused. */
static void escaped_key_name_transfers(void **state)
{
	(void)state;
	srvd_prefix_t p;
	assert_int_equal(srvd_acl_key("\\088fr-\\KEY", &p), SRVD_OK);
	assert_true(acl_match_key(&p, 1, "xfr-key"));
	assert_true(acl_match_key(&p, 1, "XFR-KEY."));
	assert_false(acl_match_key(&p, 1, "xfr-key.example"));
}

/* Names that a digest of the text or a sloppy compare could confuse. */
static void distinct_names_never_match(void **state)
{
	(void)state;
	const char *const names[] = {"xfr-key",       "xfr-key2",    "xfr-ke",    "xfr-kez",
	                             "xfr.key",       "xfr\\.key",   "a.xfr-key", "xfr-key.a",
	                             "xfr\\000key",   "xfr\\000",    "xfr",       "\\000xfr",
	                             "xfr-key\\.",    "xfr-key\\\\", ".",         "xfr\\032key",
	                             "xfr\\ key\\\\", "\\255",       "\\254"};
	size_t n = sizeof(names) / sizeof(names[0]);
	for (size_t i = 0; i < n; i++) {
		srvd_prefix_t p;
		assert_int_equal(srvd_acl_key(names[i], &p), SRVD_OK);
		assert_int_equal(p.family, 0);
		for (size_t j = 0; j < n; j++)
			if (acl_match_key(&p, 1, names[j]) != (i == j))
				fail_msg("key:%s %s %s", names[i],
				         i == j ? "does not match" : "matches", names[j]);
	}

	/* Many random names: all entries distinct, so no two can match
	 * (matching is equality of these bytes). */
	enum { N = 4000 };
	srvd_prefix_t *v = calloc(N, sizeof(*v));
	assert_non_null(v);
	srand(14);
	for (size_t i = 0; i < N; i++) {
		char name[64];
		size_t len = 1 + (size_t)rand() % 20;
		for (size_t k = 0; k < len; k++)
			name[k] = "abcdefghijklmnopqrstuvwxyz0123456789-."[rand() % 37];
		/* the index makes each name distinct as a DNS name */
		snprintf(name + len, sizeof(name) - len, "x%zu", i);
		if (name[0] == '.' || strstr(name, ".."))
			name[0] = 'q';
		for (char *c = name; (c = strstr(c, "..")) != NULL;)
			c[1] = 'q';
		assert_int_equal(srvd_acl_key(name, &v[i]), SRVD_OK);
		if (v[i].family != 0)
			fail_msg("%s: not taken as a name", name);
		assert_true(acl_match_key(&v[i], 1, name));
	}
	for (size_t i = 0; i < N; i++)
		for (size_t j = i + 1; j < N; j++)
			if (memcmp(v[i].key, v[j].key, sizeof(v[i].key)) == 0)
				fail_msg("entries %zu and %zu are equal", i, j);
	free(v);
}

/* Not a domain name: the entry grants nothing (srvd_acl_key can't say no
 * beyond its argument checks). */
static void invalid_names_match_nothing(void **state)
{
	(void)state;
	char long_label[80], long_name[300];
	memset(long_label, 'a', 64);
	long_label[64] = 0;
	/* labels of 63, 63, 63 and 62: 3 x 64 + 63 + 1 (the root) = 256 wire
	 * bytes, one too many */
	snprintf(long_name, sizeof(long_name), "%.63s.%.63s.%.63s.%.62s", long_label, long_label,
	         long_label, long_label);
	const char *const bad[] = {"a..b", ".a", long_label, long_name, "a\\", "\\256"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* the public call refuses them; the internal entry matches nothing */
		srvd_prefix_t p = {.family = 4};
		assert_int_equal(srvd_acl_key(bad[i], &p), SRVD_EINVAL);
		assert_int_equal(p.family, 4); /* out-param untouched on failure */
		acl_key_entry(bad[i], &p);
		assert_int_not_equal(p.family, 0);
		assert_false(acl_match_key(&p, 1, bad[i]));
		assert_false(acl_match_key(&p, 1, "a"));
	}
	/* 255 bytes exactly is a name */
	long_name[strlen(long_name) - 1] = 0;
	srvd_prefix_t p;
	assert_int_equal(srvd_acl_key(long_name, &p), SRVD_OK);
	assert_int_equal(p.family, 0);
	assert_true(acl_match_key(&p, 1, long_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(key_entry_holds_the_exact_name),
	    cmocka_unit_test(escaped_key_name_transfers),
	    cmocka_unit_test(distinct_names_never_match),
	    cmocka_unit_test(invalid_names_match_nothing),
	    cmocka_unit_test(listed_address_transfers),
	    cmocka_unit_test(other_address_is_refused),
	    cmocka_unit_test(granted_key_transfers_from_anywhere),
	    cmocka_unit_test(other_key_is_refused),
	    cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
