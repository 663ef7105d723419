/* Domain name handling in wire form. See name.h. */
#include "wire/name.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "wire/dns.h"

/* Without pointers a name is contiguous: find its end, copy it once. */
/* The length of the uncompressed name at r's position, or 0 with r->err
 * set. r does not move. */
static size_t name_len_flat(rd_t *r)
{
	size_t pos = r->pos, end = r->len;
	const uint8_t *b = r->base;
	for (;;) {
		if (pos >= end || pos - r->pos >= DNS_NAME_MAX)
			goto bad;
		uint8_t c = b[pos];
		if (c & 0xC0)
			goto bad;
		pos += 1u + c;
		if (c == 0)
			break;
	}
	size_t len = pos - r->pos;
	if (pos > end || len > DNS_NAME_MAX)
		goto bad;
	return len;
bad:
	r->err = true;
	return 0;
}

static size_t name_read_flat(rd_t *r, uint8_t out[255])
{
	size_t len = name_len_flat(r);
	if (len) {
		memcpy(out, r->base + r->pos, len);
		r->pos += len;
	}
	return len;
}

size_t wire_name_read_lower(rd_t *r, uint8_t out[255])
{
	size_t len = r->err ? 0 : name_len_flat(r);
	if (len) {
		wire_name_lower(out, r->base + r->pos, len);
		r->pos += len;
	}
	return len;
}

size_t wire_name_read(rd_t *r, bool allow_ptr, uint8_t out[255])
{
	if (!r->err && r->pos < r->len && r->base[r->pos] == 0) { /* the root: every OPT */
		out[0] = 0;
		r->pos++;
		return 1;
	}
	if (!allow_ptr)
		return r->err ? 0 : name_read_flat(r, out);
	size_t len = 0;
	size_t pos = r->pos;
	size_t resume = 0; /* where r continues after the first pointer */
	unsigned jumps = 0;
	for (;;) {
		if (r->err || pos >= r->len)
			goto bad;
		uint8_t c = r->base[pos];
		if ((c & 0xC0) == 0xC0) {
			if (!allow_ptr || pos + 1 >= r->len)
				goto bad;
			size_t target = (size_t)(c & 0x3F) << 8 | r->base[pos + 1];
			/* Forward pointers or loops are malformed: every pointer
			 * must go strictly back, which also bounds the walk. */
			if (target >= pos || ++jumps > 126)
				goto bad;
			if (!resume)
				resume = pos + 2;
			pos = target;
			continue;
		}
		if (c & 0xC0) /* 0x40 and 0x80: extended label types */
			goto bad;
		if (pos + 1 + c > r->len || len + 1 + c > DNS_NAME_MAX)
			goto bad;
		memcpy(out + len, r->base + pos, 1 + (size_t)c);
		len += 1 + (size_t)c;
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	r->pos = resume ? resume : pos;
	return len;
bad:
	r->err = true;
	return 0;
}

unsigned wire_name_labels(const uint8_t *name)
{
	unsigned n = 0;
	while (*name) {
		name += *name + 1;
		n++;
	}
	return n;
}

/* Label lengths are at most 63, below 'A', so a whole wire name can be
 * lowered byte by byte through one table. */
const uint8_t wire_lower_tab[256] = {
#define R(i) [i] = (uint8_t)((i) >= 'A' && (i) <= 'Z' ? (i) + 32 : (i))
#define R4(i) R(i), R(i + 1), R(i + 2), R(i + 3)
#define R16(i) R4(i), R4(i + 4), R4(i + 8), R4(i + 12)
#define R64(i) R16(i), R16(i + 16), R16(i + 32), R16(i + 48)
    R64(0), R64(64), R64(128), R64(192)
#undef R
#undef R4
#undef R16
#undef R64
};

/* Eight bytes at a time: a byte is upper case when it is ASCII, >= 'A'
 * and <= 'Z'; that decision is made in each byte's high bit at once. */
static uint64_t lower8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = w & ~high;
	uint64_t ge_a = low7 + (0x80 - 'A') * ones;
	uint64_t gt_z = low7 + (0x7F - 'Z') * ones;
	uint64_t upper = ge_a & ~gt_z & ~w & high;
	return w | (upper >> 2);
}

static void lower8_at(uint8_t *dst, const uint8_t *src, size_t i)
{
	uint64_t w;
	memcpy(&w, src + i, 8);
	w = lower8(w);
	memcpy(dst + i, &w, 8);
}

void wire_name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	if (len < 8) {
		for (size_t i = 0; i < len; i++)
			dst[i] = wire_lower_tab[src[i]];
		return;
	}
	size_t i = 0;
	for (; i + 8 <= len; i += 8)
		lower8_at(dst, src, i);
	/* The tail as the last eight bytes, overlapping what is done: lower
	 * casing twice changes nothing, so this holds in place too. */
	if (i < len)
		lower8_at(dst, src, len - 8);
}

bool wire_name_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		uint8_t l = *a;
		if (l == 0)
			return true;
		for (uint8_t i = 1; i <= l; i++)
			if (wire_lower(a[i]) != wire_lower(b[i]))
				return false;
		a += l + 1;
		b += l + 1;
	}
}

const uint8_t *wire_name_skip(const uint8_t *name, unsigned drop)
{
	while (drop-- && *name)
		name += *name + 1;
	return name;
}

bool wire_name_is_sub(const uint8_t *name, const uint8_t *parent)
{
	unsigned a = wire_name_labels(name), b = wire_name_labels(parent);
	if (a < b)
		return false;
	return wire_name_eq(wire_name_skip(name, a - b), parent);
}

static int label_cmp(const uint8_t *a, const uint8_t *b)
{
	uint8_t la = *a, lb = *b;
	uint8_t n = la < lb ? la : lb;
	for (uint8_t i = 1; i <= n; i++) {
		int d = wire_lower(a[i]) - wire_lower(b[i]);
		if (d)
			return d;
	}
	return (int)la - (int)lb;
}

int wire_name_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128], *lb[128];
	int na = 0, nb = 0;
	for (const uint8_t *p = a; *p; p += *p + 1)
		la[na++] = p;
	for (const uint8_t *p = b; *p; p += *p + 1)
		lb[nb++] = p;
	while (na > 0 && nb > 0) {
		int d = label_cmp(la[--na], lb[--nb]);
		if (d)
			return d;
	}
	return na - nb;
}

int wire_name_to_str(const uint8_t *name, char *dst, size_t cap)
{
	size_t o = 0;
	if (*name == 0) {
		if (cap < 2)
			return -1;
		dst[0] = '.';
		dst[1] = 0;
		return 1;
	}
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = name[i];
			char tmp[5];
			int n;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '@' || c == '$') {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				n = 2;
			} else if (c <= 0x20 || c >= 0x7f) {
				n = snprintf(tmp, sizeof(tmp), "\\%03u", c);
			} else {
				tmp[0] = (char)c;
				n = 1;
			}
			if (o + (size_t)n + 2 > cap)
				return -1;
			memcpy(dst + o, tmp, (size_t)n);
			o += (size_t)n;
		}
		dst[o++] = '.';
		name += l;
	}
	dst[o] = 0;
	return (int)o;
}

int wire_name_from_str(const char *s, uint8_t out[255], size_t *len)
{
	uint8_t buf[DNS_NAME_MAX];
	size_t o = 0;
	if (strcmp(s, ".") == 0 || *s == 0) {
		out[0] = 0;
		*len = 1;
		return 0;
	}
	while (*s) {
		size_t lpos = o++;
		uint8_t l = 0;
		while (*s && *s != '.') {
			unsigned c = (unsigned char)*s++;
			if (c == '\\') {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
					               (s[2] - '0'));
					s += 3;
					if (c > 255)
						return -1;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return -1;
				}
			}
			if (l == DNS_LABEL_MAX || o >= DNS_NAME_MAX - 1)
				return -1;
			buf[o++] = (uint8_t)c;
			l++;
		}
		if (l == 0)
			return -1; /* empty label */
		buf[lpos] = l;
		if (*s == '.')
			s++;
	}
	if (o >= DNS_NAME_MAX)
		return -1;
	buf[o++] = 0;
	memcpy(out, buf, o);
	*len = o;
	return 0;
}
