/* DNSSEC chains of a zone version: what the responder needs to prove that
 * a name or a type does not exist, found without work per query where the
 * zone allows it.
 *
 *  - NSEC (RFC 4034 4, RFC 4035 3.1.3): the owners of NSEC records sorted
 *    in canonical order (RFC 4034 6.1), so the NSEC that covers any name is
 *    a binary search away.
 *  - NSEC3 (RFC 5155): the chain nodes are already sorted by hash (the
 *    builder lays them out so). For every name of the zone the hash of the
 *    name and of its wildcard "*.<name>" is computed here, at load time,
 *    and kept as the index of the NSEC3 node that matches or covers it.
 *    Only the "next closer" name of a query (RFC 5155 7.2.1) depends on the
 *    query name and is hashed per query (zone_n3_hash), on the stack.
 *
 * Signature groups (zone.h) are looked up here too.
 */
/* SHA1_Init/Update/Final on a stack SHA_CTX: the EVP interface would
 * allocate a context per hash, and NSEC3 hashing runs per query. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

enum { T_NSEC3PARAM = 51 }; /* RFC 5155 4 (wire/dns.h stops at NSEC3) */

unsigned zone_node_sigs(const zone_t *z, const zone_node_t *n, uint16_t type, uint32_t *first)
{
	uint32_t i = n->rrset + n->n_rrset, end = i + n->n_sig;
	for (; i < end; i++)
		if (zone_sig_covered(z, &z->rrsets[i]) == type)
			break;
	uint32_t j = i;
	while (j < end && zone_sig_covered(z, &z->rrsets[j]) == type)
		j++;
	*first = i;
	return j - i;
}

/* ---- NSEC ------------------------------------------------------------------ */

static _Thread_local const zone_t *g_sort_z; /* qsort has no context argument in C11 */

static int nsec_cmp(const void *pa, const void *pb)
{
	const zone_t *z = g_sort_z;
	const zone_node_t *a = &z->nodes[*(const uint32_t *)pa];
	const zone_node_t *b = &z->nodes[*(const uint32_t *)pb];
	return wire_name_cmp(zone_node_name(z, a), zone_node_name(z, b));
}

static int index_nsec(zone_t *z)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < z->n_nodes; i++)
		n += !(z->nodes[i].flags & NODE_OCCLUDED) &&
		     zone_node_rrset(z, &z->nodes[i], DNS_T_NSEC) != NULL;
	z->n_nsec = n;
	if (n == 0)
		return 0;
	uint32_t *v = arena_alloc(&z->arena, n * sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	n = 0;
	for (uint32_t i = 0; i < z->n_nodes; i++)
		if (!(z->nodes[i].flags & NODE_OCCLUDED) &&
		    zone_node_rrset(z, &z->nodes[i], DNS_T_NSEC))
			v[n++] = i;
	g_sort_z = z;
	qsort(v, n, sizeof(*v), nsec_cmp);
	z->nsec = v;
	return 0;
}

uint32_t zone_nsec_find(const zone_t *z, const uint8_t *lname)
{
	/* The greatest owner <= lname; the apex sorts first, so one exists
	 * for every name of the zone. */
	uint32_t lo = 0, hi = z->n_nsec;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (wire_name_cmp(zone_node_name(z, &z->nodes[z->nsec[mid]]), lname) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return z->nsec[lo];
}

/* ---- NSEC3 ----------------------------------------------------------------- */

void zone_n3_hash(const zone_t *z, const uint8_t *lname, size_t len, uint8_t out[32])
{
	/* RFC 5155 5: IH(salt, x, 0) = H(x || salt), IH(salt, x, k) =
	 * H(IH(salt, x, k-1) || salt), over the canonical (lower-case) name. */
	static const char b32[] = "0123456789abcdefghijklmnopqrstuv";
	uint8_t h[SHA_DIGEST_LENGTH];
	SHA_CTX c;
	SHA1_Init(&c);
	SHA1_Update(&c, lname, len);
	SHA1_Update(&c, z->n3_salt, z->n3_salt_len);
	SHA1_Final(h, &c);
	for (unsigned k = 0; k < z->n3_iterations; k++) {
		SHA1_Init(&c);
		SHA1_Update(&c, h, sizeof(h));
		SHA1_Update(&c, z->n3_salt, z->n3_salt_len);
		SHA1_Final(h, &c);
	}
	/* base32hex (RFC 4648 7): 20 bytes are four groups of 5 -> 8 chars. */
	for (unsigned g = 0; g < 4; g++) {
		const uint8_t *p = h + 5 * g;
		uint64_t v = (uint64_t)p[0] << 32 | (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 |
		             (uint64_t)p[3] << 8 | p[4];
		for (unsigned k = 0; k < 8; k++)
			out[8 * g + k] = (uint8_t)b32[(v >> (35 - 5 * k)) & 31];
	}
}

/* First label of an NSEC3 owner against a hash in base32hex, without case. */
static int label_vs(const uint8_t *label, const uint8_t *b32, size_t len)
{
	size_t n = label[0] < len ? label[0] : len;
	for (size_t i = 0; i < n; i++) {
		uint8_t a = wire_lower(label[1 + i]), b = wire_lower(b32[i]);
		if (a != b)
			return a < b ? -1 : 1;
	}
	return label[0] < len ? -1 : label[0] > len;
}

uint32_t zone_n3_find(const zone_t *z, const uint8_t *b32, size_t len, bool *exact)
{
	/* The greatest owner <= the hash; below the first one the last owner
	 * covers it (the chain wraps, RFC 5155 7.1). */
	const zone_node_t *n3 = z->nodes + z->n_nodes;
	uint32_t lo = 0, hi = z->n_n3;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (label_vs(zone_node_name(z, &n3[mid]), b32, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t at = lo ? lo - 1 : z->n_n3 - 1;
	*exact = lo && label_vs(zone_node_name(z, &n3[at]), b32, len) == 0;
	return z->n_nodes + at;
}

/* The parameters from the apex NSEC3PARAM, or from an NSEC3 record when
 * there is none (RFC 5155 4.2, 3.2: both start alg, flags, iterations,
 * salt length, salt). */
static bool n3_params(zone_t *z)
{
	const zone_rrset_t *s = zone_node_rrset(z, &z->nodes[0], T_NSEC3PARAM);
	for (uint32_t i = 0; !s && i < z->n_n3; i++)
		s = zone_node_rrset(z, &z->nodes[z->n_nodes + i], DNS_T_NSEC3);
	if (!s)
		return false;
	const uint8_t *p = z->rdata + s->data;
	uint16_t len = get_u16(p);
	p += 2;
	if (len < 5 || p[0] != 1 || 5u + p[4] > len) /* hash algorithm 1: SHA-1 */
		return false;
	z->n3_iterations = get_u16(p + 2);
	z->n3_salt_len = p[4];
	memcpy(z->n3_salt, p + 5, p[4]);
	return true;
}

static int index_nsec3(zone_t *z)
{
	if (z->n_n3 == 0 || !n3_params(z))
		return 0;
	uint32_t *match = arena_alloc(&z->arena, (size_t)z->n_nodes * sizeof(*match));
	uint32_t *wild = arena_alloc(&z->arena, (size_t)z->n_nodes * sizeof(*wild));
	if (!match || !wild)
		return SRVD_ENOMEM;
	for (uint32_t i = 0; i < z->n_nodes; i++) {
		const zone_node_t *n = &z->nodes[i];
		match[i] = wild[i] = ZONE_NONE;
		if (n->flags & NODE_OCCLUDED) /* not in the chain, never proven */
			continue;
		uint8_t l[257], h[32];
		bool exact;
		l[0] = 1;
		l[1] = '*';
		wire_name_lower(l + 2, zone_node_name(z, n), n->name_len);
		zone_n3_hash(z, l + 2, n->name_len, h);
		uint32_t at = zone_n3_find(z, h, sizeof(h), &exact);
		if (exact)
			match[i] = at;
		if (n->name_len + 2u <= DNS_NAME_MAX) {
			zone_n3_hash(z, l, n->name_len + 2u, h);
			wild[i] = zone_n3_find(z, h, sizeof(h), &exact);
		}
	}
	z->n3_match = match;
	z->n3_wild = wild;
	return 0;
}

int zone_chain_index(zone_t *z)
{
	int rc = index_nsec(z);
	return rc ? rc : index_nsec3(z);
}
