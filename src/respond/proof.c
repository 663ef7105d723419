/* DNSSEC in answers (RFC 4035 3.1, RFC 5155 7.2): the signatures that go
 * with each RRset, and the NSEC or NSEC3 records that prove a negative or
 * wildcard answer. answer.c decides which proof an answer needs; this file
 * finds the records, from the indexes zone/chain.c built at load time.
 *
 * Every record is written whole with its signatures or not at all: a
 * proof that does not fit makes the caller set TC (RFC 4035 3.1.1). A
 * record that two proofs share (the NSEC covering both the name and its
 * wildcard, say) goes in once (RFC 2181 5).
 *
 * Nothing here allocates: names are lower-cased into stack buffers, and the
 * one hash computed per query (the "next closer" name of RFC 5155 7.2.1,
 * which depends on the query name) is SHA-1 on the stack.
 */
#include <string.h>

#include "respond/resp.h"
#include "wire/dns.h"
#include "wire/name.h"

bool resp_put_signed(msg_t *m, msg_sec_t sec, const uint8_t *owner, const zone_t *z,
                     const zone_node_t *n, const zone_rrset_t *s, uint32_t ttl)
{
	msg_mark_t mark;
	msg_mark(m, &mark);
	if (!msg_put_rrset(m, sec, owner, DNS_C_IN, z, s, ttl))
		return false;
	uint32_t first;
	unsigned k = zone_node_sigs(z, n, s->type, &first);
	for (unsigned i = 0; i < k; i++) {
		const zone_rrset_t *g = &z->rrsets[first + i];
		uint32_t t = ttl < s->ttl && ttl < g->ttl ? ttl : g->ttl;
		if (!msg_put_rrset(m, sec, owner, DNS_C_IN, z, g, t)) {
			msg_rollback(m, &mark);
			return false;
		}
	}
	return true;
}

/* The NSEC or NSEC3 RRset of a chain node, signed, unless already there. */
static bool put_link(srvd_responder_t *r, msg_t *m, const zone_t *z, uint32_t node, uint16_t type)
{
	if (node == ZONE_NONE)
		return true;
	for (unsigned i = 0; i < r->n_proof; i++)
		if (r->proof_node[i] == node && r->proof_zone[i] == z)
			return true;
	const zone_node_t *n = &z->nodes[node];
	const zone_rrset_t *s = zone_node_rrset(z, n, type);
	if (!s)
		return true;
	if (!resp_put_signed(m, SEC_NS, zone_node_name(z, n), z, n, s, s->ttl))
		return false;
	if (r->n_proof < RESP_PROOF_MAX) {
		r->proof_zone[r->n_proof] = z;
		r->proof_node[r->n_proof++] = node;
	}
	return true;
}

static unsigned node_labels(const zone_t *z, uint32_t node)
{
	return wire_name_labels(zone_node_name(z, &z->nodes[node]));
}

/* ---- NSEC (RFC 4035 3.1.3) ----------------------------------------------- */

/* The NSEC that covers (or matches) a lower-case name. */
static bool nsec_cover(srvd_responder_t *r, msg_t *m, const zone_t *z, const uint8_t *lname)
{
	return put_link(r, m, z, zone_nsec_find(z, lname), DNS_T_NSEC);
}

/* The NSEC covering "*.<node>": no wildcard could have matched. */
static bool nsec_no_wildcard(srvd_responder_t *r, msg_t *m, const zone_t *z, uint32_t ce)
{
	const zone_node_t *n = &z->nodes[ce];
	uint8_t w[2 + 255] = {1, '*'};
	if (n->name_len + 2u > DNS_NAME_MAX)
		return true; /* no wildcard can exist there */
	wire_name_lower(w + 2, zone_node_name(z, n), n->name_len);
	return nsec_cover(r, m, z, w);
}

static bool nsec_proof(srvd_responder_t *r, msg_t *m, const zone_t *z, const zone_key_t *k,
                       resp_proof_t kind, uint32_t node, uint32_t wild)
{
	const zone_node_t *n = &z->nodes[node];
	uint8_t l[255];
	switch (kind) {
	case PROOF_NODATA:
	case PROOF_NO_DS:
		/* 3.1.3.1: the NSEC of the name shows the type is absent (at a
		 * cut: NS without DS, RFC 4035 3.1.4.1). An empty non-terminal
		 * owns no NSEC: the one covering its name proves it has no data
		 * while names below it exist (RFC 4035 3.1.3.2, RFC 8020). */
		if (zone_node_rrset(z, n, DNS_T_NSEC))
			return put_link(r, m, z, node, DNS_T_NSEC);
		wire_name_lower(l, zone_node_name(z, n), n->name_len);
		return nsec_cover(r, m, z, l);
	case PROOF_NXDOMAIN:
		/* 3.1.3.2: the name does not exist, nor a wildcard that could
		 * have matched it at the closest encloser. */
		return nsec_cover(r, m, z, k->lname) && nsec_no_wildcard(r, m, z, node);
	case PROOF_WILDCARD:
		/* 3.1.3.3: no closer name existed, so the wildcard applied. */
		return nsec_cover(r, m, z, k->lname);
	case PROOF_WILD_NODATA:
		/* 3.1.3.4: no closer name, and the wildcard lacks the type. */
		return nsec_cover(r, m, z, k->lname) && put_link(r, m, z, wild, DNS_T_NSEC);
	}
	return true;
}

/* ---- NSEC3 (RFC 5155 7.2) ------------------------------------------------ */

/* The NSEC3 covering the suffix of k's name with `labels` labels. */
static bool n3_cover(srvd_responder_t *r, msg_t *m, const zone_t *z, const zone_key_t *k,
                     unsigned labels)
{
	if (labels > k->labels)
		return true;
	size_t off = k->off[k->labels - labels];
	uint8_t h[32];
	bool exact;
	zone_n3_hash(z, k->lname + off, k->len - off, h);
	return put_link(r, m, z, zone_n3_find(z, h, sizeof(h), &exact), DNS_T_NSEC3);
}

/* 7.2.1: the closest provable encloser proof for the suffix of k's name
 * with `labels` labels, from its ancestor node `from` up: the NSEC3 that
 * matches the closest ancestor that has one, and the one covering the
 * next closer name. *ce is that ancestor (ZONE_NONE: no proof exists). */
static bool n3_encloser(srvd_responder_t *r, msg_t *m, const zone_t *z, const zone_key_t *k,
                        unsigned labels, uint32_t from, uint32_t *ce)
{
	uint32_t e = from;
	while (e != ZONE_NONE && z->n3_match[e] == ZONE_NONE)
		e = z->nodes[e].parent;
	*ce = e;
	if (e == ZONE_NONE)
		return true;
	unsigned el = node_labels(z, e);
	if (!put_link(r, m, z, z->n3_match[e], DNS_T_NSEC3))
		return false;
	return el >= labels || n3_cover(r, m, z, k, el + 1);
}

static bool n3_proof(srvd_responder_t *r, msg_t *m, const zone_t *z, const zone_key_t *k,
                     resp_proof_t kind, uint32_t node, uint32_t wild)
{
	uint32_t ce;
	switch (kind) {
	case PROOF_NODATA:
	case PROOF_NO_DS:
		/* 7.2.3 (an empty non-terminal has its NSEC3 too), 7.2.7 for a
		 * referral. No NSEC3 for the name: an opt-out delegation (7.2.4
		 * for DS, 7.2.7): the closest provable encloser proof, whose
		 * next closer NSEC3 has the opt-out flag. */
		if (z->n3_match[node] != ZONE_NONE)
			return put_link(r, m, z, z->n3_match[node], DNS_T_NSEC3);
		return n3_encloser(r, m, z, k, node_labels(z, node), z->nodes[node].parent, &ce);
	case PROOF_NXDOMAIN:
		/* 7.2.2: closest encloser, next closer, and the NSEC3 covering
		 * the wildcard at the closest encloser (hashed at load). */
		if (!n3_encloser(r, m, z, k, k->labels, node, &ce))
			return false;
		return ce == ZONE_NONE || put_link(r, m, z, z->n3_wild[ce], DNS_T_NSEC3);
	case PROOF_WILDCARD:
		/* 7.2.6: the NSEC3 covering the next closer name. */
		return n3_cover(r, m, z, k, node_labels(z, node) + 1);
	case PROOF_WILD_NODATA:
		/* 7.2.5: closest encloser proof and the wildcard's NSEC3. */
		return n3_encloser(r, m, z, k, k->labels, node, &ce) &&
		       put_link(r, m, z, z->n3_match[wild], DNS_T_NSEC3);
	}
	return true;
}

bool resp_proof(srvd_responder_t *r, msg_t *m, const zone_t *z, const zone_key_t *k,
                resp_proof_t kind, uint32_t node, uint32_t wild)
{
	if (z->n_nsec)
		return nsec_proof(r, m, z, k, kind, node, wild);
	if (z->n3_match)
		return n3_proof(r, m, z, k, kind, node, wild);
	return true; /* an unsigned zone proves nothing */
}

bool resp_proof_pending(srvd_responder_t *r, msg_t *m)
{
	bool ok = true;
	for (unsigned i = 0; i < r->n_pend && ok; i++) {
		/* The chain's key was overwritten by later steps: make it again. */
		const uint8_t *name = r->chain[r->pend_step[i]];
		uint8_t l[255];
		zone_key_t k;
		size_t len = wire_name_len(name);
		wire_name_lower(l, name, len);
		zone_key_init(&k, l, len);
		ok =
		    resp_proof(r, m, r->pend_zone[i], &k, PROOF_WILDCARD, r->pend_ce[i], ZONE_NONE);
	}
	r->n_pend = 0;
	return ok;
}
