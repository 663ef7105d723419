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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
	uint16_t v = (uint16_t)(r->base[r->pos] << 8 | r->base[r->pos + 1]);
	r->pos += 2;
	return v;
}

static inline uint32_t rd_u32(rd_t *r)
{
	if (!rd_need(r, 4))
		return 0;
	const uint8_t *p = r->base + r->pos;
	r->pos += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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

static inline uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
