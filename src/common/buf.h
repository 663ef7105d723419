/* Bounds-checked reader and writer over byte buffers.
 *
 * Every byte that comes from the network is read through rd_t. Errors are
 * sticky: after the first out-of-bounds access every read returns zeros and
 * rd->err stays set, so parsers check once at the end instead of after each
 * field (the same idea as Knot's wire_ctx). wr_t does the same for output.
 * Common names carry no folder prefix: they are used everywhere.
 */
#ifndef SRVD_COMMON_BUF_H
#define SRVD_COMMON_BUF_H

/* A bool here must be C's _Bool in every file (common/ldns.h says why). */
#ifdef _Bool
#error "include common/ldns.h, not <ldns/ldns.h>: ldns redefines _Bool"
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Big-endian loads and stores through memcpy and a byte swap: one load or
 * store each, where the byte-at-a-time form costs several instructions on
 * every RR header the responder writes. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SRVD_BE16(x) __builtin_bswap16(x)
#define SRVD_BE32(x) __builtin_bswap32(x)
#else
#define SRVD_BE16(x) (x)
#define SRVD_BE32(x) (x)
#endif

static inline uint16_t get_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return SRVD_BE16(v);
}

static inline uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return SRVD_BE32(v);
}

static inline void put_u16(uint8_t *p, uint16_t v)
{
	v = SRVD_BE16(v);
	memcpy(p, &v, 2);
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	v = SRVD_BE32(v);
	memcpy(p, &v, 4);
}

typedef struct rd {
	const uint8_t *base;
	size_t len;
	size_t pos;
	bool err;
} rd_t;

static inline void rd_init(rd_t *r, const uint8_t *base, size_t len)
{
	r->base = base;
	r->len = len;
	r->pos = 0;
	r->err = false;
}

static inline size_t rd_left(const rd_t *r)
{
	return r->err ? 0 : r->len - r->pos;
}

static inline bool rd_need(rd_t *r, size_t n)
{
	if (r->err || r->len - r->pos < n) {
		r->err = true;
		return false;
	}
	return true;
}

static inline uint8_t rd_u8(rd_t *r)
{
	if (!rd_need(r, 1))
		return 0;
	return r->base[r->pos++];
}

static inline uint16_t rd_u16(rd_t *r)
{
	if (!rd_need(r, 2))
		return 0;
	uint16_t v = get_u16(r->base + r->pos);
	r->pos += 2;
	return v;
}

static inline uint32_t rd_u32(rd_t *r)
{
	if (!rd_need(r, 4))
		return 0;
	const uint8_t *p = r->base + r->pos;
	r->pos += 4;
	return get_u32(p);
}

static inline void rd_skip(rd_t *r, size_t n)
{
	if (rd_need(r, n))
		r->pos += n;
}

/* Pointer to the next n bytes, or NULL (and the error set). */
static inline const uint8_t *rd_ptr(rd_t *r, size_t n)
{
	if (!rd_need(r, n))
		return NULL;
	const uint8_t *p = r->base + r->pos;
	r->pos += n;
	return p;
}

static inline void rd_seek(rd_t *r, size_t pos)
{
	if (pos > r->len)
		r->err = true;
	else if (!r->err)
		r->pos = pos;
}

typedef struct wr {
	uint8_t *base;
	size_t cap;
	size_t pos;
	bool err;
} wr_t;

static inline void wr_init(wr_t *w, uint8_t *base, size_t cap)
{
	w->base = base;
	w->cap = cap;
	w->pos = 0;
	w->err = false;
}

static inline size_t wr_left(const wr_t *w)
{
	return w->err ? 0 : w->cap - w->pos;
}

static inline bool wr_need(wr_t *w, size_t n)
{
	if (w->err || w->cap - w->pos < n) {
		w->err = true;
		return false;
	}
	return true;
}

static inline void wr_u8(wr_t *w, uint8_t v)
{
	if (wr_need(w, 1))
		w->base[w->pos++] = v;
}

static inline void wr_u16(wr_t *w, uint16_t v)
{
	if (!wr_need(w, 2))
		return;
	w->base[w->pos] = (uint8_t)(v >> 8);
	w->base[w->pos + 1] = (uint8_t)v;
	w->pos += 2;
}

static inline void wr_u32(wr_t *w, uint32_t v)
{
	if (!wr_need(w, 4))
		return;
	uint8_t *p = w->base + w->pos;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	w->pos += 4;
}

static inline void wr_bytes(wr_t *w, const void *src, size_t n)
{
	if (!wr_need(w, n))
		return;
	memcpy(w->base + w->pos, src, n);
	w->pos += n;
}

/* Overwrite a u16 already written at pos (lengths and counts). */
static inline void wr_put_u16_at(wr_t *w, size_t pos, uint16_t v)
{
	if (pos + 2 > w->cap)
		return;
	w->base[pos] = (uint8_t)(v >> 8);
	w->base[pos + 1] = (uint8_t)v;
}

/* Equality of two short byte strings (names, mostly 10-40 bytes) without
 * a library call: eight bytes at a time, the tail as the last eight bytes
 * again, so nothing outside [p, p + n) is read. */
static inline bool mem_eq(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (x[i] != y[i])
				return false;
		return true;
	}
	uint64_t u, v;
	for (size_t i = 0; i + 8 <= n; i += 8) {
		memcpy(&u, x + i, 8);
		memcpy(&v, y + i, 8);
		if (u != v)
			return false;
	}
	memcpy(&u, x + n - 8, 8);
	memcpy(&v, y + n - 8, 8);
	return u == v;
}

#endif
