/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash.
 *
 * Two users need a hash an attacker cannot steer: the server cookie of
 * RFC 9018 (whose interoperable form names SipHash-2-4 exactly), and the
 * RRL table index, where a predictable hash would let one source pick
 * buckets that collide with, and reset, another's. Written here rather
 * than taken from OpenSSL: its EVP SipHash allocates a context per call,
 * and the query path allocates nothing. */
#ifndef SRVD_COMMON_SIPHASH_H
#define SRVD_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The hash of msg[len] under a 16-byte key, as the reference code's
 * 64-bit result (its 8 output bytes are this value little-endian). */
uint64_t siphash24(const uint8_t key[16], const void *msg, size_t len);

#endif
