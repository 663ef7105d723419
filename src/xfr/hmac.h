/* HMAC (RFC 2104) for TSIG, with no allocation: the state is a plain
 * struct that lives wherever its owner puts it (a key, a session, the
 * stack).
 *
 * OpenSSL's EVP_MAC and EVP_MD contexts are heap objects, made and freed
 * for every message; TSIG sits on the query path, which must not call
 * malloc. So the digests are OpenSSL's low-level ones (MD5_CTX, SHA_CTX,
 * SHA256_CTX, SHA512_CTX: plain structs) and the HMAC around them is ours.
 *
 * A key is absorbed once: xfr_hmac_init() leaves the inner digest past
 * (key ^ ipad) and the outer one past (key ^ opad). That state is the key
 * schedule; each message starts from a copy of it (plain assignment: the
 * struct holds no pointer), so a message costs no key hashing.
 *
 * The state is as secret as the key (with it anyone can sign): wipe copies
 * with xfr_hmac_wipe() when done. xfr_hmac_final() wipes its own.
 */
#ifndef SRVD_XFR_HMAC_H
#define SRVD_XFR_HMAC_H

#include <openssl/md5.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

enum { XFR_HMAC_MAX = 64 /* longest output, SHA-512 */ };

typedef enum {
	XFR_HMAC_MD5 = 1,
	XFR_HMAC_SHA1,
	XFR_HMAC_SHA224,
	XFR_HMAC_SHA256,
	XFR_HMAC_SHA384,
	XFR_HMAC_SHA512,
} xfr_hmac_alg_t;

typedef union xfr_hmac_md {
	MD5_CTX md5;
	SHA_CTX sha1;
	SHA256_CTX sha256; /* also SHA-224 */
	SHA512_CTX sha512; /* also SHA-384 */
} xfr_hmac_md_t;

typedef struct xfr_hmac {
	xfr_hmac_alg_t alg;
	xfr_hmac_md_t inner, outer;
} xfr_hmac_t;

/* Output size of alg, 0 for an unknown one. */
size_t xfr_hmac_len(xfr_hmac_alg_t alg);

/* Absorb key[len] (any length: longer than a block, it is hashed first).
 * SRVD_EINVAL for an unknown alg. */
int xfr_hmac_init(xfr_hmac_alg_t alg, const uint8_t *key, size_t len, xfr_hmac_t *out);

void xfr_hmac_update(xfr_hmac_t *h, const void *data, size_t len);

/* Write xfr_hmac_len(h->alg) bytes of MAC to out and wipe h. */
void xfr_hmac_final(xfr_hmac_t *h, uint8_t out[XFR_HMAC_MAX]);

void xfr_hmac_wipe(xfr_hmac_t *h);

#endif
