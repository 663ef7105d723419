/* An UPDATE request as the daemon keeps it, and its answer.
 *
 * upd_req_new runs off the query threads, after upd_scan accepted the
 * message, so it may allocate: every RR of the prerequisite and update
 * sections is read with xfr_rr_read (names inside RDATA expanded, so that
 * records compare byte for byte with zone data) and copied into one block.
 * srvd_update_t (srvd_update_begin, in src/dispatch) carries the raw bytes
 * and the TSIG session from the worker to the daemon; upd_answer signs the
 * answer with that session long after the worker moved on.
 */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/buf.h"
#include "update/update.h"
#include "wire/dns.h"
#include "wire/name.h"

typedef struct rec {
	size_t owner, rdata; /* offsets into the byte block */
	xfr_rr_t rr;
} rec_t;

typedef struct builder {
	rec_t *v;
	size_t n, cap;
	uint8_t *b;
	size_t blen, bcap;
} builder_t;

static int keep(builder_t *k, const xfr_rr_t *rr)
{
	size_t olen = wire_name_len(rr->owner);
	if (arr_grow((void **)&k->v, &k->cap, k->n + 1, sizeof(*k->v), 16) ||
	    arr_grow((void **)&k->b, &k->bcap, k->blen + olen + rr->rdlen + 1, 1, 1024))
		return SRVD_ENOMEM;
	rec_t *e = &k->v[k->n++];
	e->rr = *rr;
	e->owner = k->blen;
	memcpy(k->b + k->blen, rr->owner, olen);
	k->blen += olen;
	e->rdata = k->blen;
	if (rr->rdlen)
		memcpy(k->b + k->blen, rr->rdata, rr->rdlen);
	k->blen += rr->rdlen;
	return 0;
}

/* xfr_rr_read, except that an empty RDATA (the deletes and the
 * prerequisites of RFC 2136) is taken as it is, whatever the type's
 * layout would demand. */
static bool read_rr(rd_t *r, uint8_t owner[255], uint8_t *rdbuf, xfr_rr_t *rr)
{
	size_t start = r->pos;
	wire_name_read(r, true, owner);
	rd_skip(r, 8);
	uint16_t rdlen = rd_u16(r);
	if (r->err)
		return false;
	if (rdlen) {
		rd_seek(r, start);
		return xfr_rr_read(r, owner, rdbuf, rr);
	}
	const uint8_t *p = r->base + r->pos - 10;
	*rr = (xfr_rr_t){owner, get_u16(p), get_u16(p + 2), get_u32(p + 4), rdbuf, 0};
	return true;
}

static int read_section(rd_t *r, unsigned n, builder_t *k, uint8_t *rdbuf)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t owner[255];
		xfr_rr_t rr;
		if (!read_rr(r, owner, rdbuf, &rr))
			return SRVD_EMALFORM;
		int rc = keep(k, &rr);
		if (rc)
			return rc;
	}
	return 0;
}

/* One block: the struct, both RR arrays, then the bytes. */
static int pack(const builder_t *k, size_t n_pre, upd_req_t **out)
{
	size_t head = sizeof(upd_req_t) + k->n * sizeof(xfr_rr_t);
	upd_req_t *q = calloc(1, head + k->blen + 1);
	if (!q)
		return SRVD_ENOMEM;
	uint8_t *bytes = (uint8_t *)q + head;
	if (k->blen)
		memcpy(bytes, k->b, k->blen);
	q->pre = (xfr_rr_t *)(q + 1);
	q->n_pre = n_pre;
	q->upd = q->pre + n_pre;
	q->n_upd = k->n - n_pre;
	for (size_t i = 0; i < k->n; i++) {
		q->pre[i] = k->v[i].rr;
		q->pre[i].owner = bytes + k->v[i].owner;
		q->pre[i].rdata = bytes + k->v[i].rdata;
	}
	*out = q;
	return 0;
}

int upd_req_new(const uint8_t *msg, size_t len, upd_req_t **out)
{
	if (!msg || !out || len < DNS_HDR_LEN)
		return SRVD_EINVAL;
	unsigned npre = get_u16(msg + 6), nupd = get_u16(msg + 8);
	rd_t r;
	rd_init(&r, msg, len);
	rd_seek(&r, DNS_HDR_LEN);
	uint8_t zone[255];
	size_t zlen = wire_name_read(&r, true, zone);
	rd_skip(&r, 4);
	if (r.err || get_u16(msg + 4) != 1)
		return SRVD_EMALFORM;
	builder_t k = {0};
	uint8_t *rdbuf = malloc(65535);
	int rc = rdbuf ? 0 : SRVD_ENOMEM;
	if (rc == 0)
		rc = read_section(&r, npre, &k, rdbuf);
	if (rc == 0)
		rc = read_section(&r, nupd, &k, rdbuf);
	upd_req_t *q = NULL;
	if (rc == 0)
		rc = pack(&k, npre, &q);
	free(rdbuf);
	free(k.v);
	free(k.b);
	if (rc)
		return rc;
	q->id = get_u16(msg);
	memcpy(q->zone, zone, zlen);
	q->zone_len = zlen;
	q->bytes = len;
	*out = q;
	return 0;
}

void upd_req_free(upd_req_t *r)
{
	free(r);
}

/* Did the request carry an OPT record (RFC 6891 7: then so does the answer)? */
static bool has_opt(const uint8_t *req, size_t len)
{
	rd_t r;
	rd_init(&r, req, len);
	rd_seek(&r, DNS_HDR_LEN);
	uint8_t name[255];
	for (unsigned i = 0; i < get_u16(req + 4); i++) {
		wire_name_read(&r, true, name);
		rd_skip(&r, 4);
	}
	unsigned n = (unsigned)get_u16(req + 6) + get_u16(req + 8) + get_u16(req + 10);
	for (unsigned i = 0; i < n && !r.err; i++) {
		wire_name_read(&r, true, name);
		uint16_t type = rd_u16(&r);
		rd_skip(&r, 6);
		rd_skip(&r, rd_u16(&r));
		if (!r.err && type == DNS_T_OPT)
			return true;
	}
	return false;
}

int upd_reply(const uint8_t *req, size_t len, unsigned rcode, uint8_t *buf, size_t cap,
              size_t *out_len)
{
	if (!req || len < DNS_HDR_LEN || !buf || !out_len || cap < DNS_HDR_LEN)
		return SRVD_EINVAL;
	/* the zone section, when there is exactly one readable entry */
	size_t zlen = 0;
	if (get_u16(req + 4) == 1) {
		rd_t r;
		rd_init(&r, req, len);
		rd_seek(&r, DNS_HDR_LEN);
		uint8_t name[255];
		size_t n = wire_name_read(&r, false, name);
		rd_skip(&r, 4);
		if (!r.err && n)
			zlen = r.pos - DNS_HDR_LEN;
	}
	if (DNS_HDR_LEN + zlen > cap)
		zlen = 0;
	uint16_t flags = (uint16_t)(DNS_QR | (DNS_OP_UPDATE << 11) | (rcode & 0xF));
	memset(buf, 0, DNS_HDR_LEN);
	put_u16(buf, get_u16(req));
	put_u16(buf + 2, flags);
	put_u16(buf + 4, zlen ? 1 : 0);
	memcpy(buf + DNS_HDR_LEN, req + DNS_HDR_LEN, zlen);
	size_t n = DNS_HDR_LEN + zlen;
	if (n + 11 <= cap && has_opt(req, len)) {
		static const uint8_t opt[11] = {0, 0, DNS_T_OPT, 0x04, 0xd0}; /* 1232 */
		memcpy(buf + n, opt, sizeof(opt));
		put_u16(buf + 10, 1);
		n += sizeof(opt);
	}
	*out_len = n;
	return 0;
}

int upd_answer(srvd_update_t *u, unsigned rcode, uint8_t *buf, size_t cap, size_t *out_len)
{
	if (!u || !buf || !out_len)
		return SRVD_EINVAL;
	size_t reserve = u->signed_ok ? xfr_tsig_size(&u->key) : 0;
	if (cap < DNS_HDR_LEN + reserve)
		return SRVD_ESPACE;
	size_t n = 0;
	int rc = upd_reply(u->wire, u->len, rcode, buf, cap - reserve, &n);
	if (rc == 0 && u->signed_ok) {
		u->tsig.key = &u->key;
		rc = xfr_tsig_sign(&u->tsig, buf, n, buf, cap, &n);
	}
	if (rc)
		return rc;
	*out_len = n;
	return 0;
}

const char *srvd_update_zone(const srvd_update_t *u)
{
	return u ? u->zone : NULL;
}

void srvd_update_free(srvd_update_t *u)
{
	if (!u)
		return;
	xfr_tsig_deinit(&u->tsig);
	memset(&u->key, 0, sizeof(u->key));
	free(u->wire);
	free(u->zone);
	free(u);
}
