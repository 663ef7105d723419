/* Unit tests: the HMAC under TSIG (xfr/hmac.c), which is our own code over
 * OpenSSL's digests, so it is held to the published vectors: RFC 2202 for
 * HMAC-MD5 and HMAC-SHA-1, RFC 4231 for HMAC-SHA-224/256/384/512, keys
 * longer than a block among them. Then to OpenSSL's own HMAC() for key and
 * message lengths on both sides of every block boundary, fed whole and a
 * byte at a time, and from one key schedule copied many times (as TSIG
 * uses it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "srvd/srvd.h"
#include "xfr/hmac.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned byte;
	for (; s[0] && s[1]; s += 2) {
		assert_int_equal(sscanf(s, "%2x", &byte), 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)byte;
	}
	return n;
}

/* Key and data as written in the RFCs: "0x" and hex, "NxHH" for N bytes
 * of HH, or else the text itself. */
static size_t spec(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned rep, byte;
	int used = 0;
	if (strncmp(s, "0x", 2) == 0)
		return unhex(s + 2, out, cap);
	if (sscanf(s, "%ux%2x%n", &rep, &byte, &used) == 2 && s[used] == 0) {
		assert_true(rep <= cap);
		memset(out, (int)byte, rep);
		return rep;
	}
	n = strlen(s);
	assert_true(n <= cap);
	memcpy(out, s, n);
	return n;
}

typedef struct vec {
	const char *rfc;
	int tcase;
	xfr_hmac_alg_t alg;
	const char *key, *data;
	const char *mac; /* hex; RFC 4231 case 5 gives only the first 128 bits */
} vec_t;

#define K4_1 "20x0b"
#define D4_1 "Hi There"
#define K4_2 "Jefe"
#define D4_2 "what do ya want for nothing?"
#define K4_3 "20xaa"
#define D4_3 "50xdd"
#define K4_4 "0x0102030405060708090a0b0c0d0e0f10111213141516171819"
#define D4_4 "50xcd"
#define K4_5 "20x0c"
#define D4_5 "Test With Truncation"
#define K4_6 "131xaa" /* longer than either block size */
#define D4_6 "Test Using Larger Than Block-Size Key - Hash Key First"
#define K4_7 "131xaa"
#define D4_7                                                                                       \
	"This is a test using a larger than block-size key and a larger than block-size data. "    \
	"The key needs to be hashed before being used by the HMAC algorithm."

static const vec_t vecs[] = {
    /* RFC 2202 section 2: HMAC-MD5 */
    {"2202", 1, XFR_HMAC_MD5, "16x0b", "Hi There", "9294727a3638bb1c13f48ef8158bfc9d"},
    {"2202", 2, XFR_HMAC_MD5, "Jefe", "what do ya want for nothing?",
     "750c783e6ab0b503eaa86e310a5db738"},
    {"2202", 3, XFR_HMAC_MD5, "16xaa", "50xdd", "56be34521d144c88dbb8c733f0e8b3f6"},
    {"2202", 4, XFR_HMAC_MD5, K4_4, "50xcd", "697eaf0aca3a3aea3a75164746ffaa79"},
    {"2202", 5, XFR_HMAC_MD5, "16x0c", "Test With Truncation", "56461ef2342edc00f9bab995690efd4c"},
    {"2202", 6, XFR_HMAC_MD5, "80xaa", "Test Using Larger Than Block-Size Key - Hash Key First",
     "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
    {"2202", 7, XFR_HMAC_MD5, "80xaa",
     "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
     "6f630fad67cda0ee1fb1f562db3aa53e"},
    /* RFC 2202 section 3: HMAC-SHA-1 */
    {"2202", 1, XFR_HMAC_SHA1, "20x0b", "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
    {"2202", 2, XFR_HMAC_SHA1, "Jefe", "what do ya want for nothing?",
     "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {"2202", 3, XFR_HMAC_SHA1, "20xaa", "50xdd", "125d7342b9ac11cd91a39af48aa17b4f63f175d3"},
    {"2202", 4, XFR_HMAC_SHA1, K4_4, "50xcd", "4c9007f4026250c6bc8414f9bf50c86c2d7235da"},
    {"2202", 5, XFR_HMAC_SHA1, "20x0c", "Test With Truncation",
     "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"},
    {"2202", 6, XFR_HMAC_SHA1, "80xaa", "Test Using Larger Than Block-Size Key - Hash Key First",
     "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
    {"2202", 7, XFR_HMAC_SHA1, "80xaa",
     "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
     "e8e99d0f45237d786d6bbaa7965c7808bbff1a91"},
    /* RFC 4231 section 4 */
    {"4231", 1, XFR_HMAC_SHA224, K4_1, D4_1,
     "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22"},
    {"4231", 1, XFR_HMAC_SHA256, K4_1, D4_1,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"4231", 1, XFR_HMAC_SHA384, K4_1, D4_1,
     "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c"
     "faea9ea9076ede7f4af152e8b2fa9cb6"},
    {"4231", 1, XFR_HMAC_SHA512, K4_1, D4_1,
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"4231", 2, XFR_HMAC_SHA224, K4_2, D4_2,
     "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
    {"4231", 2, XFR_HMAC_SHA256, K4_2, D4_2,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"4231", 2, XFR_HMAC_SHA384, K4_2, D4_2,
     "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
     "8e2240ca5e69e2c78b3239ecfab21649"},
    {"4231", 2, XFR_HMAC_SHA512, K4_2, D4_2,
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {"4231", 3, XFR_HMAC_SHA224, K4_3, D4_3,
     "7fb3cb3588c6c1f6ffa9694d7d6ad2649365b0c1f65d69d1ec8333ea"},
    {"4231", 3, XFR_HMAC_SHA256, K4_3, D4_3,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"4231", 3, XFR_HMAC_SHA384, K4_3, D4_3,
     "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b"
     "2a5ab39dc13814b94e3ab6e101a34f27"},
    {"4231", 3, XFR_HMAC_SHA512, K4_3, D4_3,
     "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
     "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
    {"4231", 4, XFR_HMAC_SHA224, K4_4, D4_4,
     "6c11506874013cac6a2abc1bb382627cec6a90d86efc012de7afec5a"},
    {"4231", 4, XFR_HMAC_SHA256, K4_4, D4_4,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"4231", 4, XFR_HMAC_SHA384, K4_4, D4_4,
     "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e"
     "6801dd23c4a7d679ccf8a386c674cffb"},
    {"4231", 4, XFR_HMAC_SHA512, K4_4, D4_4,
     "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
     "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
    {"4231", 5, XFR_HMAC_SHA224, K4_5, D4_5, "0e2aea68a90c8d37c988bcdb9fca6fa8"},
    {"4231", 5, XFR_HMAC_SHA256, K4_5, D4_5, "a3b6167473100ee06e0c796c2955552b"},
    {"4231", 5, XFR_HMAC_SHA384, K4_5, D4_5, "3abf34c3503b2a23a46efc619baef897"},
    {"4231", 5, XFR_HMAC_SHA512, K4_5, D4_5, "415fad6271580a531d4179bc891d87a6"},
    {"4231", 6, XFR_HMAC_SHA224, K4_6, D4_6,
     "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e"},
    {"4231", 6, XFR_HMAC_SHA256, K4_6, D4_6,
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"4231", 6, XFR_HMAC_SHA384, K4_6, D4_6,
     "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6"
     "0c2ef6ab4030fe8296248df163f44952"},
    {"4231", 6, XFR_HMAC_SHA512, K4_6, D4_6,
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
    {"4231", 7, XFR_HMAC_SHA224, K4_7, D4_7,
     "3a854166ac5d9f023f54d517d0b39dbd946770db9c2b95c9f6f565d1"},
    {"4231", 7, XFR_HMAC_SHA256, K4_7, D4_7,
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    {"4231", 7, XFR_HMAC_SHA384, K4_7, D4_7,
     "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5"
     "a678cc31e799176d3860e6110c46523e"},
    {"4231", 7, XFR_HMAC_SHA512, K4_7, D4_7,
     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
     "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
};

static const char *alg_name(xfr_hmac_alg_t a)
{
	static const char *n[] = {"?", "MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"};
	return (unsigned)a < 7 ? n[a] : "?";
}

static void check(const vec_t *v, const uint8_t *got, const char *how)
{
	uint8_t want[XFR_HMAC_MAX];
	size_t n = unhex(v->mac, want, sizeof(want));
	assert_true(n == xfr_hmac_len(v->alg) || (v->tcase == 5 && n == 16));
	if (memcmp(got, want, n) != 0)
		fail_msg("RFC %s case %d HMAC-%s (%s): wrong MAC", v->rfc, v->tcase,
		         alg_name(v->alg), how);
}

static void test_rfc_vectors(void **state)
{
	(void)state;
	uint8_t key[200], data[200], mac[XFR_HMAC_MAX];
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const vec_t *v = &vecs[i];
		size_t klen = spec(v->key, key, sizeof(key));
		size_t dlen = spec(v->data, data, sizeof(data));
		xfr_hmac_t sched, h;
		assert_int_equal(xfr_hmac_init(v->alg, key, klen, &sched), 0);
		h = sched;
		xfr_hmac_update(&h, data, dlen);
		xfr_hmac_final(&h, mac);
		check(v, mac, "whole");
		/* a byte at a time, from a second copy of the same schedule */
		h = sched;
		for (size_t j = 0; j < dlen; j++)
			xfr_hmac_update(&h, data + j, 1);
		xfr_hmac_final(&h, mac);
		check(v, mac, "byte at a time");
		xfr_hmac_wipe(&sched);
	}
}

static const EVP_MD *evp_of(xfr_hmac_alg_t a)
{
	switch (a) {
	case XFR_HMAC_MD5: return EVP_md5();
	case XFR_HMAC_SHA1: return EVP_sha1();
	case XFR_HMAC_SHA224: return EVP_sha224();
	case XFR_HMAC_SHA256: return EVP_sha256();
	case XFR_HMAC_SHA384: return EVP_sha384();
	case XFR_HMAC_SHA512: return EVP_sha512();
	default: return NULL;
	}
}

/* Against OpenSSL's HMAC(), around the 64- and 128-byte block sizes (and
 * the 55/56, 111/112 points where the digest padding needs one more
 * block). */
static void test_against_openssl(void **state)
{
	(void)state;
	static const size_t klens[] = {1, 16, 63, 64, 65, 127, 128, 129, 200, 512};
	static const size_t dlens[] = {0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000};
	uint8_t key[512], data[1000];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	for (xfr_hmac_alg_t a = XFR_HMAC_MD5; a <= XFR_HMAC_SHA512; a++) {
		size_t n = xfr_hmac_len(a);
		assert_int_equal(n, (size_t)EVP_MD_get_size(evp_of(a)));
		for (size_t ki = 0; ki < sizeof(klens) / sizeof(klens[0]); ki++) {
			xfr_hmac_t sched;
			assert_int_equal(xfr_hmac_init(a, key, klens[ki], &sched), 0);
			for (size_t di = 0; di < sizeof(dlens) / sizeof(dlens[0]); di++) {
				uint8_t want[EVP_MAX_MD_SIZE], got[XFR_HMAC_MAX];
				unsigned wlen = 0;
				assert_non_null(HMAC(evp_of(a), key, (int)klens[ki], data,
				                     dlens[di], want, &wlen));
				assert_int_equal(wlen, n);
				/* in three uneven pieces */
				xfr_hmac_t h = sched;
				size_t d = dlens[di], p1 = d / 3, p2 = d / 2;
				xfr_hmac_update(&h, data, p1);
				xfr_hmac_update(&h, data + p1, p2 - p1);
				xfr_hmac_update(&h, data + p2, d - p2);
				xfr_hmac_final(&h, got);
				if (memcmp(got, want, n) != 0)
					fail_msg("HMAC-%s key %zu data %zu: differs from OpenSSL",
					         alg_name(a), klens[ki], d);
			}
		}
	}
}

static void test_edges(void **state)
{
	(void)state;
	xfr_hmac_t h;
	memset(&h, 0x5a, sizeof(h));
	uint8_t k[4] = {1, 2, 3, 4};
	assert_int_equal(xfr_hmac_init((xfr_hmac_alg_t)0, k, 4, &h), SRVD_EINVAL);
	assert_int_equal(xfr_hmac_init((xfr_hmac_alg_t)7, k, 4, &h), SRVD_EINVAL);
	assert_int_equal(xfr_hmac_init(XFR_HMAC_SHA256, NULL, 4, &h), SRVD_EINVAL);
	assert_int_equal(h.alg, 0x5a5a5a5a); /* not written on failure */
	assert_int_equal(xfr_hmac_len((xfr_hmac_alg_t)0), 0);
	/* an empty key is the all-zero block: same MAC as a key of one zero
	 * byte (RFC 2104 pads with zeros) */
	uint8_t z = 0, m1[XFR_HMAC_MAX], m2[XFR_HMAC_MAX];
	assert_int_equal(xfr_hmac_init(XFR_HMAC_SHA256, NULL, 0, &h), 0);
	xfr_hmac_update(&h, "x", 1);
	xfr_hmac_final(&h, m1);
	assert_int_equal(xfr_hmac_init(XFR_HMAC_SHA256, &z, 1, &h), 0);
	xfr_hmac_update(&h, "x", 1);
	xfr_hmac_final(&h, m2);
	assert_memory_equal(m1, m2, 32);
	/* final leaves nothing of the state behind */
	xfr_hmac_t zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&h, &zero, sizeof(h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc_vectors),
	    cmocka_unit_test(test_against_openssl),
	    cmocka_unit_test(test_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
