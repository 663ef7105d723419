/* RRs for transfers: reading one RR out of a received message, with the
 * names inside RDATA expanded, and walking every RR of a zone version.
 *
 * Expansion matters because the builder stores RDATA as uncompressed wire
 * and compares records byte for byte: a primary may compress the names in
 * NS, SOA, MX... (RFC 1035 types; RFC 3597 4 also lists RP, AFSDB, RT, PX,
 * SRV, NAPTR, KX as "decompress when received"), and a pointer would be
 * meaningless once copied out of its message.
 */
#include <string.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/xfr.h"

const char *xfr_rcode_name(unsigned rcode)
{
	static const char *names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                              "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
	                              "NXRRSET", "NOTAUTH", "NOTZONE",  "DSOTYPENI"};
	static _Thread_local char buf[16];
	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	switch (rcode) {
	case 16: return "BADSIG";
	case 17: return "BADKEY";
	case 18: return "BADTIME";
	case 22: return "BADTRUNC";
	default: break;
	}
	memcpy(buf, "RCODE", 5);
	unsigned n = rcode, i = 5;
	char tmp[8];
	unsigned k = 0;
	do {
		tmp[k++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && k < sizeof(tmp));
	while (k)
		buf[i++] = tmp[--k];
	buf[i] = 0;
	return buf;
}

bool xfr_err_fallback(const xfr_err_t *e)
{
	switch (e->fail) {
	case XFR_FAIL_DIFF_START:
	case XFR_FAIL_DIFF_CHAIN:
	case XFR_FAIL_DIFF_MISSING: return true;
	case XFR_FAIL_RCODE:
		/* Servers without IXFR answer NOTIMP or FORMERR (RFC 1995 2). */
		return e->rcode == DNS_RC_NOTIMP || e->rcode == DNS_RC_FORMERR;
	default: return false;
	}
}

/* The RDATA layout of types whose names may arrive compressed: `fixed`
 * bytes, then `names` names (with `strings` character-strings before the
 * name for NAPTR), then `tail` bytes (-1 = whatever is left). */
typedef struct layout {
	uint8_t fixed, strings, names;
	int tail;
} layout_t;

static bool rdata_layout(uint16_t type, layout_t *l)
{
	*l = (layout_t){0, 0, 0, 0};
	switch (type) {
	case DNS_T_NS:
	case DNS_T_MD:
	case DNS_T_MF:
	case DNS_T_CNAME:
	case DNS_T_MB:
	case DNS_T_MG:
	case DNS_T_MR:
	case DNS_T_PTR:
	case DNS_T_DNAME: l->names = 1; return true;
	case DNS_T_SOA: l->names = 2, l->tail = 20; return true;
	case DNS_T_MINFO:
	case DNS_T_RP: l->names = 2; return true;
	case DNS_T_MX:
	case DNS_T_AFSDB:
	case DNS_T_RT:
	case DNS_T_KX: l->fixed = 2, l->names = 1; return true;
	case DNS_T_PX: l->fixed = 2, l->names = 2; return true;
	case DNS_T_SRV: l->fixed = 6, l->names = 1; return true;
	case DNS_T_NAPTR: l->fixed = 4, l->strings = 3, l->names = 1; return true;
	default: return false;
	}
}

/* Expand rdata [r->pos, end) into w. */
static bool expand(rd_t *r, size_t end, const layout_t *l, wr_t *w)
{
	wr_bytes(w, rd_ptr(r, l->fixed), l->fixed);
	for (unsigned i = 0; i < l->strings && !r->err; i++) {
		uint8_t n = rd_u8(r);
		wr_u8(w, n);
		wr_bytes(w, rd_ptr(r, n), n);
	}
	for (unsigned i = 0; i < l->names && !r->err; i++) {
		uint8_t name[255];
		size_t n = wire_name_read(r, true, name);
		wr_bytes(w, name, n);
	}
	if (r->err || w->err || r->pos > end)
		return false;
	size_t left = end - r->pos;
	if (l->tail >= 0 && left != (size_t)l->tail)
		return false;
	wr_bytes(w, rd_ptr(r, left), left);
	return !r->err && !w->err;
}

bool xfr_rr_read(rd_t *r, uint8_t owner[255], uint8_t *rdbuf, xfr_rr_t *out)
{
	wire_name_read(r, true, owner);
	uint16_t type = rd_u16(r);
	uint16_t rclass = rd_u16(r);
	uint32_t ttl = rd_u32(r);
	uint16_t rdlen = rd_u16(r);
	if (r->err || !rd_need(r, rdlen))
		return false;
	size_t end = r->pos + rdlen;
	layout_t l;
	const uint8_t *rdata;
	if (rdata_layout(type, &l)) {
		wr_t w;
		wr_init(&w, rdbuf, 65535);
		if (!expand(r, end, &l, &w))
			return false;
		rdata = rdbuf;
		rdlen = (uint16_t)w.pos;
	} else {
		rdata = rd_ptr(r, rdlen);
	}
	if (r->err)
		return false;
	*out = (xfr_rr_t){.owner = owner,
	                  .type = type,
	                  .rclass = rclass,
	                  .ttl = ttl,
	                  .rdata = rdata,
	                  .rdlen = rdlen};
	return true;
}

void xfr_iter_init(xfr_iter_t *it, const zone_t *z)
{
	*it = (xfr_iter_t){.z = z};
}

bool xfr_iter_next(xfr_iter_t *it, xfr_rr_t *out)
{
	const zone_t *z = it->z;
	/* Every record: the signature groups and the NSEC3 chain too. */
	for (; it->node < z->n_nodes + z->n_n3; it->node++, it->set = 0, it->rr = 0) {
		const zone_node_t *n = &z->nodes[it->node];
		for (; it->set < (uint32_t)n->n_rrset + n->n_sig; it->set++, it->rr = 0) {
			const zone_rrset_t *s = &z->rrsets[n->rrset + it->set];
			if (it->rr >= s->count)
				continue;
			if (it->rr == 0)
				it->off = s->data;
			const uint8_t *p = z->rdata + it->off;
			uint16_t len = get_u16(p);
			*out = (xfr_rr_t){.owner = zone_node_name(z, n),
			                  .type = s->type,
			                  .rclass = DNS_C_IN,
			                  .ttl = s->ttl,
			                  .rdata = p + 2,
			                  .rdlen = len};
			it->off += 2u + len;
			it->rr++;
			return true;
		}
	}
	return false;
}

void xfr_zone_soa(const zone_t *z, xfr_rr_t *out)
{
	const zone_rrset_t *s = &z->rrsets[z->soa_rrset];
	const uint8_t *p = z->rdata + s->data;
	*out = (xfr_rr_t){.owner = z->origin,
	                  .type = DNS_T_SOA,
	                  .rclass = DNS_C_IN,
	                  .ttl = s->ttl,
	                  .rdata = p + 2,
	                  .rdlen = get_u16(p)};
}

bool xfr_soa_serial(const uint8_t *rdata, uint16_t rdlen, uint32_t *serial)
{
	rd_t r;
	rd_init(&r, rdata, rdlen);
	uint8_t name[255];
	wire_name_read(&r, false, name);
	wire_name_read(&r, false, name);
	uint32_t s = rd_u32(&r);
	if (r.err || rd_left(&r) != 16)
		return false;
	*serial = s;
	return true;
}

void xfr_zone_timers(const zone_t *z, xfr_soa_timers_t *out)
{
	xfr_rr_t soa;
	xfr_zone_soa(z, &soa);
	/* the builder made this SOA: two names and 20 bytes */
	const uint8_t *p = soa.rdata + wire_name_len(soa.rdata);
	p += wire_name_len(p);
	*out = (xfr_soa_timers_t){.serial = get_u32(p),
	                          .refresh = get_u32(p + 4),
	                          .retry = get_u32(p + 8),
	                          .expire = get_u32(p + 12),
	                          .minimum = get_u32(p + 16)};
}
