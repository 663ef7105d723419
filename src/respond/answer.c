/* The authoritative answer algorithm: RFC 1034 4.3.2 as refined by RFC 2181
 * (RRsets whole), 2308 (negative answers), 4592 (wildcards), 6672 (DNAME),
 * 8020 (empty non-terminals are NODATA), 8482 (minimal ANY) and 9471 (glue).
 *
 * One loop walks the chain of names: the query name, then each CNAME or
 * DNAME-synthesized target that lies in a zone we serve. Each step is one
 * zone_lookup(), which already says whether the name is at or below a cut
 * or a DNAME, matches exactly, matches a wildcard, or does not exist.
 * Additional-section addresses come last, from the links the builder made,
 * and only whole RRsets that fit go in (RFC 2181 9: no TC for those).
 *
 * With the DO bit (RFC 4035 3.1), every RRset goes with the RRSIGs that
 * cover it, in every section, or not at all: TC when an answer or
 * authority RRset with its signatures does not fit (3.1.1), an additional
 * RRset left out with its signatures. Negative and wildcard answers carry
 * their NSEC or NSEC3 proofs (proof.c); a wildcard answer's proof waits
 * until the chain is done, because the answer section must be complete
 * before the authority section starts. Without DO the path is the one it
 * always was: one flag test per RRset.
 */
#include <string.h>

#include "respond/resp.h"
#include "wire/dns.h"
#include "wire/name.h"

typedef struct ans {
	srvd_responder_t *r;
	const srvd_zoneset_t *zs;
	const resp_query_t *q;
	msg_t *m;
	bool tc;
	bool dnssec; /* DO: signatures and proofs */
	int rcode;
} ans_t;

/* The DNSSEC paths are kept out of line (cold): inlined, they would cost
 * the DO=0 path registers and instructions it never uses. */
#define COLD __attribute__((noinline, cold))

static COLD bool put_signed_or_tc(ans_t *a, msg_sec_t sec, const uint8_t *owner, const zone_t *z,
                                  const zone_node_t *n, const zone_rrset_t *s, uint32_t ttl)
{
	if (resp_put_signed(a->m, sec, owner, z, n, s, ttl))
		return true;
	a->tc = true;
	return false;
}

/* n: the node owning s, for its signatures (NULL: s is one itself). */
static bool put_or_tc(ans_t *a, msg_sec_t sec, const uint8_t *owner, const zone_t *z,
                      const zone_node_t *n, const zone_rrset_t *s, uint32_t ttl)
{
	if (__builtin_expect(a->dnssec, 0) && n)
		return put_signed_or_tc(a, sec, owner, z, n, s, ttl);
	if (msg_put_rrset(a->m, sec, owner, DNS_C_IN, z, s, ttl))
		return true;
	a->tc = true;
	return false;
}

/* The proofs of earlier wildcard answers, then these; TC if they do not
 * fit (RFC 4035 3.1.1). */
static COLD void prove(ans_t *a, const zone_t *z, resp_proof_t kind, uint32_t node, uint32_t wild)
{
	if (!resp_proof_pending(a->r, a->m) ||
	    !resp_proof(a->r, a->m, z, &a->r->key, kind, node, wild))
		a->tc = true;
}

/* Remember the in-zone address targets of an answer RRset. */
static void note_links(ans_t *a, const zone_t *z, const zone_rrset_t *s)
{
	if (s->links == ZONE_NONE)
		return;
	srvd_responder_t *r = a->r;
	for (uint16_t i = 0; i < s->count; i++) {
		uint32_t node = z->links[s->links + i];
		if (node == ZONE_NONE)
			continue;
		bool seen = false;
		for (unsigned k = 0; k < r->n_addl && !seen; k++)
			seen = r->addl[k] == node && r->addl_zone[k] == z;
		if (!seen && r->n_addl < RESP_ADDL_MAX) {
			r->addl[r->n_addl] = node;
			r->addl_zone[r->n_addl++] = z;
		}
	}
}

/* Both address RRsets of a node; false if one that exists did not fit. */
static bool put_addresses(ans_t *a, const zone_t *z, uint32_t node)
{
	const zone_node_t *n = &z->nodes[node];
	const uint8_t *owner = zone_node_name(z, n);
	bool ok = true;
	const zone_rrset_t *s = zone_node_rrset(z, n, DNS_T_A);
	if (s)
		ok &= msg_put_rrset(a->m, SEC_AR, owner, DNS_C_IN, z, s, s->ttl);
	s = zone_node_rrset(z, n, DNS_T_AAAA);
	if (s)
		ok &= msg_put_rrset(a->m, SEC_AR, owner, DNS_C_IN, z, s, s->ttl);
	return ok;
}

/* The same with DO: each RRset with its RRSIGs, or both left out
 * (RFC 4035 3.1.1). */
static COLD bool put_addresses_signed(ans_t *a, const zone_t *z, uint32_t node)
{
	const zone_node_t *n = &z->nodes[node];
	const uint8_t *owner = zone_node_name(z, n);
	bool ok = true;
	const zone_rrset_t *s = zone_node_rrset(z, n, DNS_T_A);
	if (s)
		ok &= resp_put_signed(a->m, SEC_AR, owner, z, n, s, s->ttl);
	s = zone_node_rrset(z, n, DNS_T_AAAA);
	if (s)
		ok &= resp_put_signed(a->m, SEC_AR, owner, z, n, s, s->ttl);
	return ok;
}

static void put_additional(ans_t *a)
{
	if (__builtin_expect(a->dnssec, 0)) {
		for (unsigned i = 0; i < a->r->n_addl && !a->tc; i++)
			put_addresses_signed(a, a->r->addl_zone[i], a->r->addl[i]);
		return;
	}
	for (unsigned i = 0; i < a->r->n_addl && !a->tc; i++)
		put_addresses(a, a->r->addl_zone[i], a->r->addl[i]);
}

/* RFC 2308 3: the SOA with the negative TTL; with DO its RRSIGs (capped
 * likewise) and the proof of `kind` (RFC 4035 3.1.3, RFC 5155 7.2). */
static void negative(ans_t *a, const zone_t *z, int rcode, resp_proof_t kind, uint32_t node,
                     uint32_t wild)
{
	a->rcode = rcode;
	const zone_rrset_t *soa = &z->rrsets[z->soa_rrset];
	if (put_or_tc(a, SEC_NS, z->origin, z, &z->nodes[0], soa, z->neg_ttl) &&
	    __builtin_expect(a->dnssec, 0))
		prove(a, z, kind, node, wild);
}

/* RFC 4035 3.1.4: a signed referral carries the DS RRset and its RRSIGs,
 * or the proof that the child has no DS (RFC 5155 7.2.7 with NSEC3). */
static COLD bool referral_ds(ans_t *a, const zone_t *z, uint32_t cut)
{
	const zone_node_t *c = &z->nodes[cut];
	const zone_rrset_t *ds = zone_node_rrset(z, c, DNS_T_DS);
	if (!resp_proof_pending(a->r, a->m)) {
		a->tc = true;
		return false;
	}
	if (ds)
		return put_or_tc(a, SEC_NS, zone_node_name(z, c), z, c, ds, ds->ttl);
	prove(a, z, PROOF_NO_DS, cut, ZONE_NONE);
	return !a->tc;
}

/* Referral to the cut at node `cut`: NS in authority, glue in additional.
 * Glue for names below the cut is required: if it does not fit, TC
 * (RFC 9471 3); other addresses are optional. */
static void referral(ans_t *a, const zone_t *z, uint32_t cut)
{
	const zone_node_t *c = &z->nodes[cut];
	const uint8_t *owner = zone_node_name(z, c);
	const zone_rrset_t *ns = zone_node_rrset(z, c, DNS_T_NS);
	/* The NS at a cut is not signed (RFC 4035 2.2): no node for it. */
	if (!put_or_tc(a, SEC_NS, owner, z, NULL, ns, ns->ttl))
		return;
	if (a->dnssec && (z->n_nsec || z->n3_match) && !referral_ds(a, z, cut))
		return;
	if (ns->links == ZONE_NONE)
		return;
	for (uint16_t i = 0; i < ns->count; i++) {
		uint32_t g = z->links[ns->links + i];
		if (g == ZONE_NONE)
			continue;
		bool dup = false;
		for (uint16_t k = 0; k < i && !dup; k++)
			dup = z->links[ns->links + k] == g;
		if (dup)
			continue;
		bool required = wire_name_is_sub(zone_node_name(z, &z->nodes[g]), owner);
		bool ok = a->dnssec ? put_addresses_signed(a, z, g) : put_addresses(a, z, g);
		if (!ok && required)
			a->tc = true;
	}
}

/* Has this name been an owner earlier in the chain? Stops CNAME loops. */
static bool seen_before(const srvd_responder_t *r, unsigned n, const uint8_t *name)
{
	for (unsigned i = 0; i < n; i++)
		if (wire_name_eq(r->chain[i], name))
			return true;
	return false;
}

typedef enum { STEP_DONE, STEP_FOLLOW } step_t;

/* Make `target` the next name of the chain unless it is a loop; the next
 * step finds the zone that holds it, if any. */
static step_t follow(ans_t *a, unsigned *n, const uint8_t *target)
{
	srvd_responder_t *r = a->r;
	if (*n + 1 >= RESP_CHAIN_MAX || seen_before(r, *n + 1, target))
		return STEP_DONE;
	r->chain[++*n] = target;
	return STEP_FOLLOW;
}

/* A chain may pass the same DNAME twice; the record goes in once
 * (RFC 2181 5). Returns whether it was already written, and notes it. */
static bool dname_written(ans_t *a, const zone_t *z, uint32_t node)
{
	srvd_responder_t *r = a->r;
	for (unsigned i = 0; i < r->n_dname; i++)
		if (r->dname[i] == node && r->dname_zone[i] == z)
			return true;
	if (r->n_dname < RESP_CHAIN_MAX) {
		r->dname[r->n_dname] = node;
		r->dname_zone[r->n_dname++] = z;
	}
	return false;
}

/* RFC 6672: answer with the DNAME and a CNAME synthesized from it. */
static step_t dname(ans_t *a, const zone_t **z, uint32_t node, unsigned *n)
{
	const zone_t *zz = *z;
	const zone_node_t *d = &zz->nodes[node];
	const zone_rrset_t *s = zone_node_rrset(zz, d, DNS_T_DNAME);
	const uint8_t *name = a->r->chain[*n];
	if (!dname_written(a, zz, node) &&
	    !put_or_tc(a, SEC_AN, zone_node_name(zz, d), zz, d, s, s->ttl))
		return STEP_DONE;
	const uint8_t *target = zz->rdata + s->data + 2;
	unsigned keep = wire_name_labels(name) - wire_name_labels(zone_node_name(zz, d));
	size_t plen = (size_t)(wire_name_skip(name, keep) - name);
	size_t tlen = wire_name_len(target);
	if (plen + tlen > DNS_NAME_MAX) {
		a->rcode = DNS_RC_YXDOMAIN;
		return STEP_DONE;
	}
	uint8_t *syn = a->r->synth[*n]; /* compression may point into it */
	memcpy(syn, name, plen);
	memcpy(syn + plen, target, tlen);
	if (!msg_put_rr(a->m, SEC_AN, name, DNS_T_CNAME, DNS_C_IN, s->ttl, syn,
	                (uint16_t)(plen + tlen))) {
		a->tc = true;
		return STEP_DONE;
	}
	return follow(a, n, syn);
}

/* A wildcard answer: its proof goes in once the answer is complete. After
 * a wildcard NODATA, whose proof is already there, it adds nothing: every
 * record it would add is in that proof. */
static COLD void pend_wildcard(ans_t *a, const zone_t *z, uint32_t ce, unsigned n)
{
	srvd_responder_t *r = a->r;
	if (r->n_pend < RESP_CHAIN_MAX) {
		r->pend_zone[r->n_pend] = z;
		r->pend_ce[r->n_pend] = ce;
		r->pend_step[r->n_pend++] = (uint8_t)n;
	}
}

/* RFC 8482: one RRset of the name; the first in type order (with DO, its
 * RRSIGs too). */
static void any(ans_t *a, const zone_t *z, const zone_node_t *node, const uint8_t *owner)
{
	if (node->n_rrset == 0) {
		negative(a, z, DNS_RC_NOERROR, PROOF_NODATA, (uint32_t)(node - z->nodes),
		         ZONE_NONE);
		return;
	}
	const zone_rrset_t *s = &z->rrsets[node->rrset];
	if (put_or_tc(a, SEC_AN, owner, z, node, s, s->ttl))
		note_links(a, z, s);
}

/* A query for RRSIG: every signature of the name, each with its TTL
 * (RFC 4034 3), all or none. */
static COLD void all_sigs(ans_t *a, const zone_t *z, const zone_node_t *node, const uint8_t *owner)
{
	msg_mark_t mark;
	msg_mark(a->m, &mark);
	for (uint32_t i = 0; i < node->n_sig; i++) {
		const zone_rrset_t *g = &z->rrsets[node->rrset + node->n_rrset + i];
		if (!put_or_tc(a, SEC_AN, owner, z, NULL, g, g->ttl)) {
			msg_rollback(a->m, &mark);
			return;
		}
	}
}

/* Answer from a node that matched exactly (ce = ZONE_NONE) or as the
 * wildcard below the closest encloser ce. */
static step_t at_node(ans_t *a, const zone_t **z, const zone_node_t *node, uint32_t ce, unsigned *n)
{
	const zone_t *zz = *z;
	const uint8_t *owner = a->r->chain[*n];
	uint16_t qtype = a->q->qtype;
	if (qtype == DNS_T_ANY) {
		any(a, zz, node, owner);
		return STEP_DONE;
	}
	const zone_rrset_t *s = zone_node_rrset(zz, node, qtype);
	if (s) {
		if (put_or_tc(a, SEC_AN, owner, zz, node, s, s->ttl))
			note_links(a, zz, s);
		return STEP_DONE;
	}
	if (qtype == DNS_T_RRSIG && node->n_sig) {
		all_sigs(a, zz, node, owner);
		return STEP_DONE;
	}
	s = (node->flags & NODE_CNAME) ? zone_node_rrset(zz, node, DNS_T_CNAME) : NULL;
	if (!s) {
		uint32_t at = (uint32_t)(node - zz->nodes);
		if (ce == ZONE_NONE)
			negative(a, zz, DNS_RC_NOERROR, PROOF_NODATA, at, ZONE_NONE);
		else
			negative(a, zz, DNS_RC_NOERROR, PROOF_WILD_NODATA, ce, at);
		return STEP_DONE;
	}
	if (!put_or_tc(a, SEC_AN, owner, zz, node, s, s->ttl))
		return STEP_DONE;
	return follow(a, n, zz->rdata + s->data + 2);
}

static step_t step(ans_t *a, const zone_t **z, unsigned *n, bool *aa)
{
	srvd_responder_t *r = a->r;
	/* The first name's key and zone come from the caller; a later name
	 * may be in any zone of the set, the most specific one wins. */
	if (*n > 0) {
		size_t len = wire_name_len(r->chain[*n]);
		wire_name_lower(r->lname, r->chain[*n], len);
		zone_key_init(&r->key, r->lname, len);
		*z = zone_set_find_key(a->zs, &r->key);
		if (!*z)
			return STEP_DONE; /* the chain leaves our zones */
	}
	const zone_t *zz = *z;
	if (zz->expired) { /* a secondary that lost its primary: no data to give */
		a->rcode = DNS_RC_SERVFAIL;
		if (*n == 0)
			*aa = false;
		return STEP_DONE;
	}
	zone_lookup_t lk;
	zone_lookup(zz, &r->key, &lk);
	if (lk.stop != ZONE_NONE) {
		const zone_node_t *s = &zz->nodes[lk.stop];
		bool ds_at_cut = lk.exact && lk.node == lk.stop && a->q->qtype == DNS_T_DS;
		if ((s->flags & NODE_DELEG) && !ds_at_cut) {
			if (*n == 0)
				*aa = false;
			referral(a, zz, lk.stop);
			return STEP_DONE;
		}
		if (!(s->flags & NODE_DELEG))
			return dname(a, z, lk.stop, n);
	}
	if (lk.exact)
		return at_node(a, z, &zz->nodes[lk.node], ZONE_NONE, n);
	if (lk.wild != ZONE_NONE) {
		unsigned at = *n;
		step_t st = at_node(a, z, &zz->nodes[lk.wild], lk.node, n);
		if (a->dnssec) /* RFC 4035 3.1.3.3, RFC 5155 7.2.6 */
			pend_wildcard(a, zz, lk.node, at);
		return st;
	}
	negative(a, zz, DNS_RC_NXDOMAIN, PROOF_NXDOMAIN, lk.node, ZONE_NONE);
	return STEP_DONE;
}

/* The proofs of wildcard answers still waiting; the proof state is left
 * clear for the next query. */
static COLD void finish_proofs(ans_t *a)
{
	if (!a->tc && !resp_proof_pending(a->r, a->m))
		a->tc = true;
	a->r->n_pend = 0;
	a->r->n_proof = 0;
}

int resp_answer(srvd_responder_t *r, const srvd_zoneset_t *zs, const zone_t *z,
                const resp_query_t *q, msg_t *m, bool *aa, bool *tc)
{
	ans_t a = {.r = r, .zs = zs, .q = q, .m = m, .rcode = DNS_RC_NOERROR, .dnssec = q->edns_do};
	r->n_addl = 0;
	r->n_dname = 0; /* n_pend and n_proof are 0 between queries: see below */
	r->chain[0] = q->qname;
	m->qname = q->qname;
	unsigned n = 0;
	*aa = true;
	/* A new step starts with a fresh rcode: the answer's rcode is that
	 * of the last name in the chain (RFC 6604 2.1). */
	while (step(&a, &z, &n, aa) == STEP_FOLLOW && !a.tc)
		a.rcode = DNS_RC_NOERROR;
	if (__builtin_expect(a.dnssec, 0))
		finish_proofs(&a);
	if (!a.tc)
		put_additional(&a);
	*tc = a.tc;
	return a.rcode;
}
