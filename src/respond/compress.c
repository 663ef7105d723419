/* Response message writer and name compression. See msg.h.
 *
 * Compression keeps the offsets of labels written literally, each with the
 * same name uncompressed where it came from (docs/design-notes.md). To
 * write a name, each suffix (longest first) is compared with those of the
 * same length; the first hit becomes a pointer. Names in RDATA are
 * compressed only for the RFC 1035 types (RFC 3597 4); SRV and DNAME
 * targets are written literally (RFC 2782, RFC 6672), though later names
 * may point into them.
 */
#include <string.h>

#include "common/buf.h"
#include "respond/msg.h"
#include "wire/dns.h"
#include "wire/name.h"

void msg_init(msg_t *m, uint8_t *buf, size_t limit)
{
	m->buf = buf;
	m->len = DNS_HDR_LEN;
	m->limit = limit;
	m->count[0] = m->count[1] = m->count[2] = 0;
	m->ncptr = 0;
	m->qname = NULL;
	m->owner = NULL;
	m->owner_at = 0;
}

void msg_mark(const msg_t *m, msg_mark_t *mark)
{
	mark->len = m->len;
	mark->count[0] = m->count[0];
	mark->count[1] = m->count[1];
	mark->count[2] = m->count[2];
	mark->ncptr = m->ncptr;
	mark->owner = m->owner;
	mark->owner_at = m->owner_at;
}

void msg_rollback(msg_t *m, const msg_mark_t *mark)
{
	m->len = mark->len;
	memcpy(m->count, mark->count, sizeof(mark->count));
	m->ncptr = mark->ncptr;
	m->owner = mark->owner;
	m->owner_at = mark->owner_at;
}

/* Equal uncompressed wire names of equal length `len`, ignoring case.
 * Zone data is mostly lower case and the question is compared through
 * its lower-cased copy, so the plain compare nearly always decides. */
static bool suffix_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	if (mem_eq(a, b, len))
		return true;
	/* Inline rather than wire_name_eq: this also runs for every candidate
	 * of the same length that differs, and must fail in a few bytes. Equal
	 * lengths and lower-casing that never touches a length byte (<= 63)
	 * make a byte compare a label compare. */
	for (size_t i = 0; i < len; i++)
		if (wire_lower(a[i]) != wire_lower(b[i]))
			return false;
	return true;
}

/* Only entries whose remaining name has the same length can match, which
 * rules out nearly all of them before any byte is compared. */
static int find_suffix(const msg_t *m, const uint8_t *s, size_t rem)
{
	for (uint16_t i = 0; i < m->ncptr; i++)
		if (m->cplen[i] == rem && m->csrc[i][0] == *s && suffix_eq(m->csrc[i], s, rem))
			return m->cptr[i];
	return -1;
}

/* A literal label written at `off`: the name from there is `src`, whose
 * bytes stay put until the message is finished. */
static void remember(msg_t *m, size_t off, const uint8_t *src, size_t rem)
{
	if (m->ncptr < MSG_CPTR_MAX && off < 0x4000) {
		m->cptr[m->ncptr] = (uint16_t)off;
		m->csrc[m->ncptr] = src;
		m->cplen[m->ncptr++] = (uint8_t)rem;
	}
}

/* A pointer to the name written at `at`; if that was itself a pointer,
 * a copy of it (no pointer chains). */
static bool put_ptr_to(msg_t *m, size_t at)
{
	if (m->len + 2 > m->limit)
		return false;
	if ((m->buf[at] & 0xC0) == 0xC0)
		memcpy(m->buf + m->len, m->buf + at, 2);
	else
		put_u16(m->buf + m->len, (uint16_t)(0xC000 | at));
	m->len += 2;
	return true;
}

bool msg_put_name(msg_t *m, const uint8_t *name)
{
	if (name == m->qname) { /* most owners are the query name */
		if (m->len + 2 > m->limit)
			return false;
		put_u16(m->buf + m->len, 0xC000 | DNS_HDR_LEN);
		m->len += 2;
		return true;
	}
	const uint8_t *s = name;
	size_t start = m->len;
	uint16_t ncptr = m->ncptr;
	size_t rem = wire_name_len(name);
	while (*s) {
		int hit = find_suffix(m, s, rem);
		if (hit >= 0) {
			if (m->len + 2 > m->limit)
				goto full;
			put_u16(m->buf + m->len, (uint16_t)(0xC000 | hit));
			m->len += 2;
			return true;
		}
		if (m->len + 1u + *s > m->limit)
			goto full;
		remember(m, m->len, s, rem);
		memcpy(m->buf + m->len, s, 1u + *s);
		m->len += 1u + *s;
		rem -= 1u + *s;
		s += 1 + *s;
	}
	if (m->len + 1 > m->limit)
		goto full;
	m->buf[m->len++] = 0;
	return true;
full:
	m->len = start;
	m->ncptr = ncptr;
	return false;
}

bool msg_put_question(msg_t *m, const uint8_t *qwire, size_t qlen, const uint8_t *lname)
{
	if (m->len + qlen > m->limit)
		return false;
	size_t at = m->len;
	memcpy(m->buf + at, qwire, qlen);
	m->len += qlen;
	size_t nlen = qlen - 4; /* the name, without type and class */
	if (!lname)
		lname = m->buf + at; /* the copy in the message is contiguous too */
	if (at + nlen > 0x4000)
		return true; /* beyond pointer reach: nothing to remember */
	/* remember() without its per-label offset check: all of it is in reach */
	for (size_t i = 0; lname[i] && m->ncptr < MSG_CPTR_MAX; i += lname[i] + 1u) {
		m->cptr[m->ncptr] = (uint16_t)(at + i);
		m->csrc[m->ncptr] = lname + i;
		m->cplen[m->ncptr++] = (uint8_t)(nlen - i);
	}
	return true;
}

/* RDATA without names to compress. A and AAAA, most of what is written,
 * get fixed-size copies that the compiler inlines. */
static bool put_bytes(msg_t *m, const uint8_t *rd, uint16_t len)
{
	if (m->len + len > m->limit)
		return false;
	uint8_t *d = m->buf + m->len;
	if (len == 4)
		memcpy(d, rd, 4);
	else if (len == 16)
		memcpy(d, rd, 16);
	else
		memcpy(d, rd, len);
	m->len += len;
	return true;
}

/* SRV and DNAME: the names go out literally (RFC 2782, RFC 6672), but
 * later names may still point at their labels, as at any literal label:
 * the A and AAAA owners after an SRV become 2-byte pointers to its target.
 * Kept out of line: inlined, it tips put_one out of msg_put_rrset, which
 * costs more per record than this saves. */
__attribute__((noinline)) static bool put_literal_names(msg_t *m, const dns_rdata_shape_t *sh,
                                                        const uint8_t *rd, uint16_t len)
{
	size_t at = m->len;
	if (!put_bytes(m, rd, len))
		return false;
	size_t off = sh->fixed;
	for (unsigned i = 0; i < sh->names && off < len; i++) {
		/* A lone name runs to the tail: no need to walk it for its length. */
		size_t nlen = sh->names == 1 ? len - off - sh->tail : wire_name_len(rd + off);
		for (size_t j = 0; rd[off + j]; j += rd[off + j] + 1u)
			remember(m, at + off + j, rd + off + j, nlen - j);
		off += nlen;
	}
	return true;
}

/* Names in RDATA that may be compressed: RFC 1035 types only. */
static bool put_rdata(msg_t *m, uint16_t type, const uint8_t *rd, uint16_t len)
{
	dns_rdata_shape_t sh;
	if (!dns_rdata_shape(type, &sh))
		return put_bytes(m, rd, len);
	if (!sh.compress)
		return put_literal_names(m, &sh, rd, len);
	if (m->len + sh.fixed > m->limit)
		return false;
	memcpy(m->buf + m->len, rd, sh.fixed);
	m->len += sh.fixed;
	size_t off = sh.fixed;
	for (unsigned i = 0; i < sh.names; i++) {
		if (!msg_put_name(m, rd + off))
			return false;
		off += wire_name_len(rd + off);
	}
	if (m->len + (len - off) > m->limit)
		return false;
	memcpy(m->buf + m->len, rd + off, len - off);
	m->len += len - off;
	return true;
}

/* The owner: the records of an RRset, and the A and AAAA RRsets of one
 * node, share an owner pointer, so a pointer to where it was last written
 * costs no compare at all. Otherwise it is compressed afresh. */
static bool put_owner(msg_t *m, const uint8_t *owner)
{
	if (owner == m->owner)
		return put_ptr_to(m, m->owner_at);
	size_t at = m->len;
	if (!msg_put_name(m, owner))
		return false;
	if (at < 0x4000) {
		m->owner = owner;
		m->owner_at = (uint16_t)at;
	}
	return true;
}

static bool put_one(msg_t *m, const uint8_t *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
                    const uint8_t *rd, uint16_t rdlen)
{
	if (!put_owner(m, owner) || m->len + 10 > m->limit)
		return false;
	uint8_t *h = m->buf + m->len;
	put_u16(h, type);
	put_u16(h + 2, rclass);
	put_u32(h + 4, ttl);
	m->len += 10;
	size_t rstart = m->len;
	if (!put_rdata(m, type, rd, rdlen))
		return false;
	put_u16(h + 8, (uint16_t)(m->len - rstart));
	return true;
}

bool msg_put_rrset(msg_t *m, msg_sec_t sec, const uint8_t *owner, uint16_t rclass, const zone_t *z,
                   const zone_rrset_t *s, uint32_t ttl)
{
	msg_mark_t mark;
	msg_mark(m, &mark);
	const uint8_t *p = z->rdata + s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		uint16_t len = get_u16(p);
		if (!put_one(m, owner, s->type, rclass, ttl, p + 2, len)) {
			msg_rollback(m, &mark);
			return false;
		}
		p += 2 + len;
	}
	m->count[sec] += s->count;
	return true;
}

bool msg_put_rr(msg_t *m, msg_sec_t sec, const uint8_t *owner, uint16_t type, uint16_t rclass,
                uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	msg_mark_t mark;
	msg_mark(m, &mark);
	if (!put_one(m, owner, type, rclass, ttl, rdata, rdlen)) {
		msg_rollback(m, &mark);
		return false;
	}
	m->count[sec]++;
	return true;
}
