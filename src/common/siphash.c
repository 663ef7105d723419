/* SipHash-2-4, from the paper's description: two compression rounds per
 * 8-byte block, four finalisation rounds. See siphash.h for why it is
 * ours. */
#include "common/siphash.h"

#include <string.h>

/* Inlined by force: a call per round cost the RRL path as much as the
 * rest of an answer (bench/callgrind.sh --rrl). */
#define HOT static inline __attribute__((always_inline))

HOT uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

HOT uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

typedef struct sip {
	uint64_t v0, v1, v2, v3;
} sip_t;

HOT void round1(sip_t *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13) ^ s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16) ^ s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21) ^ s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17) ^ s->v2;
	s->v2 = rotl(s->v2, 32);
}

HOT void block(sip_t *s, uint64_t m)
{
	s->v3 ^= m;
	round1(s);
	round1(s);
	s->v0 ^= m;
}

uint64_t siphash24(const uint8_t key[16], const void *msg, size_t len)
{
	const uint8_t *p = msg;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	sip_t s = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
	           k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8)
		block(&s, le64(p + i));
	/* The last block: the remaining bytes, and the length in the top byte. */
	uint8_t tail[8] = {0};
	memcpy(tail, p + full, len - full);
	tail[7] = (uint8_t)len;
	block(&s, le64(tail));
	s.v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		round1(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
