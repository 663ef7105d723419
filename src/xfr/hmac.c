/* HMAC (RFC 2104) over OpenSSL's low-level digests, allocating nothing.
 * See hmac.h.
 *
 * MD5_Init, SHA256_Update and the rest are deprecated in OpenSSL 3.0 in
 * favour of EVP_MD/EVP_MAC, whose contexts are heap objects made per use
 * (with a provider look-up behind each). A TSIG-signed query is verified
 * and its answer signed on the query path, which must not allocate, so this
 * file, and only this one, keeps using the plain-struct digests. They are
 * the same implementations EVP's default provider runs.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "xfr/hmac.h"

#include <openssl/crypto.h>
#include <string.h>

#include "srvd/srvd.h"

enum { BLOCK_MAX = 128 /* SHA-384/512 */ };

size_t xfr_hmac_len(xfr_hmac_alg_t alg)
{
	switch (alg) {
	case XFR_HMAC_MD5: return MD5_DIGEST_LENGTH;
	case XFR_HMAC_SHA1: return SHA_DIGEST_LENGTH;
	case XFR_HMAC_SHA224: return SHA224_DIGEST_LENGTH;
	case XFR_HMAC_SHA256: return SHA256_DIGEST_LENGTH;
	case XFR_HMAC_SHA384: return SHA384_DIGEST_LENGTH;
	case XFR_HMAC_SHA512: return SHA512_DIGEST_LENGTH;
	default: return 0;
	}
}

static size_t block_len(xfr_hmac_alg_t alg)
{
	switch (alg) {
	case XFR_HMAC_MD5:
	case XFR_HMAC_SHA1:
	case XFR_HMAC_SHA224:
	case XFR_HMAC_SHA256: return 64;
	case XFR_HMAC_SHA384:
	case XFR_HMAC_SHA512: return 128;
	default: return 0;
	}
}

/* The low-level calls return 1 whatever happens (they cannot fail on a
 * valid context), so their results are not looked at. */

static void md_init(xfr_hmac_alg_t alg, xfr_hmac_md_t *m)
{
	switch (alg) {
	case XFR_HMAC_MD5: MD5_Init(&m->md5); break;
	case XFR_HMAC_SHA1: SHA1_Init(&m->sha1); break;
	case XFR_HMAC_SHA224: SHA224_Init(&m->sha256); break;
	case XFR_HMAC_SHA256: SHA256_Init(&m->sha256); break;
	case XFR_HMAC_SHA384: SHA384_Init(&m->sha512); break;
	case XFR_HMAC_SHA512: SHA512_Init(&m->sha512); break;
	default: break;
	}
}

static void md_update(xfr_hmac_alg_t alg, xfr_hmac_md_t *m, const void *data, size_t len)
{
	switch (alg) {
	case XFR_HMAC_MD5: MD5_Update(&m->md5, data, len); break;
	case XFR_HMAC_SHA1: SHA1_Update(&m->sha1, data, len); break;
	case XFR_HMAC_SHA224: SHA224_Update(&m->sha256, data, len); break;
	case XFR_HMAC_SHA256: SHA256_Update(&m->sha256, data, len); break;
	case XFR_HMAC_SHA384: SHA384_Update(&m->sha512, data, len); break;
	case XFR_HMAC_SHA512: SHA512_Update(&m->sha512, data, len); break;
	default: break;
	}
}

static void md_final(xfr_hmac_alg_t alg, xfr_hmac_md_t *m, uint8_t *out)
{
	switch (alg) {
	case XFR_HMAC_MD5: MD5_Final(out, &m->md5); break;
	case XFR_HMAC_SHA1: SHA1_Final(out, &m->sha1); break;
	case XFR_HMAC_SHA224: SHA224_Final(out, &m->sha256); break;
	case XFR_HMAC_SHA256: SHA256_Final(out, &m->sha256); break;
	case XFR_HMAC_SHA384: SHA384_Final(out, &m->sha512); break;
	case XFR_HMAC_SHA512: SHA512_Final(out, &m->sha512); break;
	default: break;
	}
}

int xfr_hmac_init(xfr_hmac_alg_t alg, const uint8_t *key, size_t len, xfr_hmac_t *out)
{
	size_t bl = block_len(alg);
	if (!bl || (!key && len) || !out)
		return SRVD_EINVAL;
	xfr_hmac_t h;
	memset(&h, 0, sizeof(h));
	h.alg = alg;
	uint8_t k[BLOCK_MAX], pad[BLOCK_MAX];
	memset(k, 0, sizeof(k));
	if (len > bl) {
		md_init(alg, &h.inner);
		md_update(alg, &h.inner, key, len);
		md_final(alg, &h.inner, k);
	} else if (len) {
		memcpy(k, key, len);
	}
	for (size_t i = 0; i < bl; i++)
		pad[i] = k[i] ^ 0x36;
	md_init(alg, &h.inner);
	md_update(alg, &h.inner, pad, bl);
	for (size_t i = 0; i < bl; i++)
		pad[i] = k[i] ^ 0x5c;
	md_init(alg, &h.outer);
	md_update(alg, &h.outer, pad, bl);
	*out = h;
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(&h, sizeof(h));
	return 0;
}

void xfr_hmac_update(xfr_hmac_t *h, const void *data, size_t len)
{
	if (len)
		md_update(h->alg, &h->inner, data, len);
}

void xfr_hmac_final(xfr_hmac_t *h, uint8_t out[XFR_HMAC_MAX])
{
	uint8_t d[XFR_HMAC_MAX];
	md_final(h->alg, &h->inner, d);
	md_update(h->alg, &h->outer, d, xfr_hmac_len(h->alg));
	md_final(h->alg, &h->outer, out);
	OPENSSL_cleanse(d, sizeof(d));
	xfr_hmac_wipe(h);
}

void xfr_hmac_wipe(xfr_hmac_t *h)
{
	OPENSSL_cleanse(h, sizeof(*h));
}
