/* upd_scan: what a worker checks of an UPDATE before it hands it to the
 * daemon. It reads every prerequisite and update RR once through rd_t and
 * decides the rcodes that need no zone data: FORMERR for a malformed RR or
 * a class/TTL/RDLENGTH combination RFC 2136 3.2 and 3.4.1 forbid, NOTZONE
 * for an owner outside the zone, and REFUSED for an update RR outside the
 * requester's grant (RFC 3007). It allocates nothing and keeps no RDATA:
 * only the owner of each RR, on the stack.
 *
 * Prerequisites are not subject to the grant (RFC 3007 says nothing of
 * them; Knot and BIND check the update section only): they change nothing.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "update/update.h"
#include "wire/dns.h"
#include "wire/name.h"

typedef struct rr_head {
	uint8_t owner[255];
	uint16_t type, rclass, rdlen;
	uint32_t ttl;
} rr_head_t;

static bool read_head(rd_t *r, rr_head_t *h)
{
	wire_name_read(r, true, h->owner);
	h->type = rd_u16(r);
	h->rclass = rd_u16(r);
	h->ttl = rd_u32(r);
	h->rdlen = rd_u16(r);
	rd_skip(r, h->rdlen);
	return !r->err;
}

static bool meta(uint16_t t)
{
	return t == DNS_T_AXFR || t == DNS_T_IXFR || t == DNS_T_MAILA || t == DNS_T_MAILB ||
	       t == DNS_T_OPT || t == DNS_T_TSIG || t == DNS_T_TKEY;
}

static int verdict(upd_verdict_t *v, unsigned rcode, const char *why)
{
	v->rcode = (uint8_t)rcode;
	snprintf(v->why, sizeof(v->why), "%s", why);
	return 0;
}

/* RFC 2136 3.2.1-3.2.3: the forms a prerequisite may take. */
static unsigned check_pre(const rr_head_t *h)
{
	if (h->ttl != 0)
		return DNS_RC_FORMERR;
	if (h->rclass == DNS_C_ANY || h->rclass == DNS_C_NONE)
		return h->rdlen == 0 && !meta(h->type) ? DNS_RC_NOERROR : DNS_RC_FORMERR;
	if (h->rclass == DNS_C_IN)
		return h->type != DNS_T_ANY && !meta(h->type) ? DNS_RC_NOERROR : DNS_RC_FORMERR;
	return DNS_RC_FORMERR;
}

/* RFC 2136 3.4.1.2: the prescan of the update section. */
static unsigned check_upd(const rr_head_t *h)
{
	if (meta(h->type))
		return DNS_RC_FORMERR;
	if (h->rclass == DNS_C_IN)
		return h->type != DNS_T_ANY ? DNS_RC_NOERROR : DNS_RC_FORMERR;
	if (h->rclass == DNS_C_ANY)
		return h->ttl == 0 && h->rdlen == 0 ? DNS_RC_NOERROR : DNS_RC_FORMERR;
	if (h->rclass == DNS_C_NONE)
		return h->ttl == 0 && h->type != DNS_T_ANY ? DNS_RC_NOERROR : DNS_RC_FORMERR;
	return DNS_RC_FORMERR;
}

static bool in_zone(const uint8_t *owner, const uint8_t *lorigin)
{
	return wire_name_is_sub(owner, lorigin);
}

int upd_scan(const uint8_t *msg, size_t len, const uint8_t *lorigin, size_t olen,
             const upd_policy_t *pol, const uint8_t *key, const void *sockaddr, upd_verdict_t *out)
{
	(void)olen;
	if (!msg || len < DNS_HDR_LEN || !lorigin || !out)
		return SRVD_EINVAL;
	memset(out, 0, sizeof(*out));
	uint16_t npre = get_u16(msg + 6), nupd = get_u16(msg + 8);
	rd_t r;
	rd_init(&r, msg, len);
	rd_seek(&r, DNS_HDR_LEN);
	uint8_t zone[255];
	wire_name_read(&r, true, zone);
	rd_skip(&r, 4);
	rr_head_t h;
	for (unsigned i = 0; i < npre; i++) {
		if (!read_head(&r, &h) || check_pre(&h) != DNS_RC_NOERROR)
			return verdict(out, DNS_RC_FORMERR, "malformed prerequisite");
		if (!in_zone(h.owner, lorigin))
			return verdict(out, UPD_RC_NOTZONE, "prerequisite outside the zone");
	}
	for (unsigned i = 0; i < nupd; i++) {
		if (!read_head(&r, &h) || check_upd(&h) != DNS_RC_NOERROR)
			return verdict(out, DNS_RC_FORMERR, "malformed update RR");
		if (!in_zone(h.owner, lorigin))
			return verdict(out, UPD_RC_NOTZONE, "update RR outside the zone");
		if (!upd_policy_allows(pol, key, sockaddr, h.owner, h.type)) {
			memcpy(out->name, h.owner, wire_name_len(h.owner));
			out->type = h.type;
			return verdict(out, DNS_RC_REFUSED, "outside the grant");
		}
	}
	return verdict(out, DNS_RC_NOERROR, "");
}
