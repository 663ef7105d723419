/* Consistency of a zone version's arrays, shared by the builder (which
 * makes them) and the snapshot reader (which takes them from disk and must
 * not trust them): RDATA validity for the types whose names the responder
 * walks, the SOA facts, the name index, and a full layout check.
 */
#include <string.h>

#include "common/buf.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

/* Is there a valid uncompressed name at rd[*off], within len? Advances off. */
static bool rdata_name(const uint8_t *rd, size_t len, size_t *off)
{
	size_t o = *off, total = 0;
	for (;;) {
		if (o >= len)
			return false;
		uint8_t l = rd[o];
		if (l > 63 || o + 1 + l > len || (total += 1u + l) > 255)
			return false;
		o += 1u + l;
		if (l == 0)
			break;
	}
	*off = o;
	return true;
}

/* The responder walks names inside RDATA of these types without further
 * checks, so they must be well formed: records from a transfer come from
 * the network. Other types are opaque bytes to us. */
bool zone_rdata_valid(uint16_t type, const uint8_t *rd, size_t len)
{
	dns_rdata_shape_t sh;
	if (!dns_rdata_shape(type, &sh))
		return true;
	size_t off = sh.fixed;
	if (len < off)
		return false;
	for (unsigned i = 0; i < sh.names; i++)
		if (!rdata_name(rd, len, &off))
			return false;
	return off + sh.tail == len;
}

void zone_read_soa(zone_t *z)
{
	const zone_node_t *apex = &z->nodes[0];
	const zone_rrset_t *soa = zone_node_rrset(z, apex, DNS_T_SOA);
	const zone_rrset_t *ns = zone_node_rrset(z, apex, DNS_T_NS);
	z->soa_rrset = (uint32_t)(soa - z->rrsets);
	z->ns_rrset = ns ? (uint32_t)(ns - z->rrsets) : ZONE_NONE;
	const uint8_t *rd = z->rdata + soa->data + 2;
	size_t m = wire_name_len(rd);
	m += wire_name_len(rd + m);
	z->serial = get_u32(rd + m);
	uint32_t minimum = get_u32(rd + m + 16);
	z->neg_ttl = soa->ttl < minimum ? soa->ttl : minimum;
}

static bool name_valid(const uint8_t *p, size_t avail, size_t len)
{
	size_t off = 0;
	if (len > avail || len == 0 || !rdata_name(p, len, &off))
		return false;
	return off == len;
}

/* Every RR of an RRset lies inside the RDATA blob and is valid. */
static bool rrset_valid(const zone_t *z, const zone_rrset_t *s, size_t rdata_len, size_t links_len)
{
	size_t off = s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		if (off + 2 > rdata_len)
			return false;
		uint16_t len = get_u16(z->rdata + off);
		if (off + 2 + len > rdata_len ||
		    !zone_rdata_valid(s->type, z->rdata + off + 2, len))
			return false;
		if (s->type == DNS_T_RRSIG && len < 19) /* the covered type is read */
			return false;
		off += 2u + len;
	}
	if (s->count == 0 || s->links == ZONE_NONE)
		return s->count > 0;
	if ((size_t)s->links + s->count > links_len)
		return false;
	for (uint16_t i = 0; i < s->count; i++) {
		uint32_t l = z->links[s->links + i];
		if (l != ZONE_NONE && l >= z->n_nodes)
			return false;
	}
	return true;
}

static bool ref_ok(uint32_t v, uint32_t n)
{
	return v == ZONE_NONE || v < n;
}

/* RRsets first, then signature groups (RRSIG only): zone.h. */
static bool sets_valid(const zone_t *z, const zone_node_t *n)
{
	if ((size_t)n->rrset + n->n_rrset + n->n_sig > z->n_rrsets)
		return false;
	for (uint32_t k = 0; k < (uint32_t)n->n_rrset + n->n_sig; k++)
		if ((z->rrsets[n->rrset + k].type == DNS_T_RRSIG) != (k >= n->n_rrset))
			return false;
	return true;
}

static bool node_valid(const zone_t *z, uint32_t i, size_t names_len)
{
	const zone_node_t *n = &z->nodes[i];
	/* NSEC3 owners, and only they, come after the indexed nodes. */
	if (((n->flags & NODE_NSEC3) != 0) != (i >= z->n_nodes))
		return false;
	if ((size_t)n->name + n->name_len > names_len ||
	    !name_valid(z->names + n->name, names_len - n->name, n->name_len))
		return false;
	if (!wire_name_is_sub(z->names + n->name, z->origin))
		return false;
	if ((i == 0) != (n->parent == ZONE_NONE) || (i > 0 && n->parent >= i))
		return false;
	if (!ref_ok(n->stop, z->n_nodes) || !ref_ok(n->wild, z->n_nodes))
		return false;
	return sets_valid(z, n);
}

int zone_check_layout(const zone_t *z, size_t names_len, size_t rdata_len, size_t links_len)
{
	if (z->n_nodes == 0)
		return SRVD_EMALFORM;
	for (uint32_t i = 0; i < z->n_nodes + z->n_n3; i++)
		if (!node_valid(z, i, names_len))
			return SRVD_EMALFORM;
	for (uint32_t i = 0; i < z->n_rrsets; i++)
		if (!rrset_valid(z, &z->rrsets[i], rdata_len, links_len))
			return SRVD_EMALFORM;
	const zone_node_t *apex = &z->nodes[0];
	if (apex->name_len != z->origin_len || !zone_node_rrset(z, apex, DNS_T_SOA))
		return SRVD_EMALFORM;
	return 0;
}

int zone_index(zone_t *z)
{
	uint32_t tsize = 16;
	while (tsize < z->n_nodes * 2u)
		tsize *= 2;
	uint32_t *table = arena_alloc(&z->arena, tsize * sizeof(uint32_t));
	if (!table)
		return SRVD_ENOMEM;
	memset(table, 0, tsize * sizeof(uint32_t));
	zone_node_t *nodes = (zone_node_t *)z->nodes;
	for (uint32_t i = 0; i < z->n_nodes; i++) {
		uint8_t l[255];
		wire_name_lower(l, z->names + nodes[i].name, nodes[i].name_len);
		nodes[i].hash = zone_hash(l, nodes[i].name_len);
		uint32_t h = nodes[i].hash & (tsize - 1);
		while (table[h])
			h = (h + 1) & (tsize - 1);
		table[h] = i + 1;
	}
	z->table = table;
	z->table_mask = tsize - 1;
	zone_read_soa(z);
	return zone_chain_index(z);
}
