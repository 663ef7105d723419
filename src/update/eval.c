/* upd_eval: the meaning of an UPDATE (RFC 2136 3.2-3.4) against one zone
 * version, as a diff.
 *
 * The version is immutable, so the update section works on a copy of the
 * names it touches: the first time an update RR names an owner, every
 * record of that owner is copied (pointers, not bytes) into a working set,
 * each marked with its original TTL and whether it is still alive. RRs are
 * then applied in message order, as 3.4.2 requires; at the end, records
 * that died or changed TTL are the diff's removals and records that were
 * born or changed TTL its additions (a TTL change is both: IXFR has no
 * other way to say it). A failure at any point returns an rcode and no
 * diff, so an update is all or nothing (3.4.2.7 ... 3.4.2.8).
 *
 * Records compare by owner (no case), type and RDATA; the names inside the
 * RDATA of the RFC 1035 types compare without case too (RFC 4034 6.2), so
 * deleting "NS NS1.EXAMPLE." removes "ns1.example.". The working set is
 * searched linearly: an update is bounded in size (the daemon's limit), and
 * a name has few records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/buf.h"
#include "update/update.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "wire/serial.h"

typedef struct rec {
	const uint8_t *owner;
	const uint8_t *rdata;
	uint16_t type, rdlen;
	uint32_t ttl, orig_ttl;
	bool orig, alive;
} rec_t;

typedef struct work {
	const zone_t *z;
	rec_t *v;
	size_t n, cap, max;
	const uint8_t **names; /* owners already copied from the zone */
	size_t n_names, cap_names;
	uint8_t soa[2 * 255 + 20]; /* the new SOA when the update sets one */
	uint16_t soa_len;
	bool soa_set;
	bool too_big;
} work_t;

/* ---- comparing records ------------------------------------------------------ */

/* [from, len - tail) of the RDATA holds names: compared without case. */
static void fold_span(uint16_t type, size_t *from, size_t *tail)
{
	*from = 0, *tail = 0;
	switch (type) {
	case DNS_T_NS:
	case DNS_T_MD:
	case DNS_T_MF:
	case DNS_T_CNAME:
	case DNS_T_MB:
	case DNS_T_MG:
	case DNS_T_MR:
	case DNS_T_PTR:
	case DNS_T_DNAME:
	case DNS_T_MINFO:
	case DNS_T_RP: *tail = 0; return;
	case DNS_T_SOA: *tail = 20; return;
	case DNS_T_MX:
	case DNS_T_AFSDB:
	case DNS_T_RT:
	case DNS_T_KX: *from = 2; return;
	case DNS_T_SRV: *from = 6; return;
	default: *from = SIZE_MAX; return;
	}
}

static bool rdata_eq(uint16_t type, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen != blen)
		return false;
	size_t from, tail;
	fold_span(type, &from, &tail);
	if (from == SIZE_MAX || from + tail > alen)
		return memcmp(a, b, alen) == 0;
	for (size_t i = 0; i < alen; i++) {
		bool fold = i >= from && i < alen - tail;
		if (fold ? wire_lower(a[i]) != wire_lower(b[i]) : a[i] != b[i])
			return false;
	}
	return true;
}

/* ---- the zone side ------------------------------------------------------------ */

static uint32_t node_of(const zone_t *z, const uint8_t *owner)
{
	uint8_t l[255];
	size_t n = wire_name_len(owner);
	wire_name_lower(l, owner, n);
	return zone_find(z, l, n);
}

static const zone_rrset_t *zone_set(const zone_t *z, const uint8_t *owner, uint16_t type)
{
	uint32_t i = node_of(z, owner);
	return i == ZONE_NONE ? NULL : zone_node_rrset(z, &z->nodes[i], type);
}

static bool name_in_use(const zone_t *z, const uint8_t *owner)
{
	uint32_t i = node_of(z, owner);
	return i != ZONE_NONE && z->nodes[i].n_rrset > 0;
}

/* ---- the working set ---------------------------------------------------------- */

static int push(work_t *w, const rec_t *r)
{
	if (w->max && w->n >= w->max) {
		w->too_big = true;
		return SRVD_ELIMIT;
	}
	if (arr_grow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v), 64))
		return SRVD_ENOMEM;
	w->v[w->n++] = *r;
	return 0;
}

static bool loaded(const work_t *w, const uint8_t *owner)
{
	for (size_t i = 0; i < w->n_names; i++)
		if (wire_name_eq(w->names[i], owner))
			return true;
	return false;
}

/* Copy every record of owner from the zone, once. */
static int load(work_t *w, const uint8_t *owner)
{
	if (loaded(w, owner))
		return 0;
	if (arr_grow((void **)&w->names, &w->cap_names, w->n_names + 1, sizeof(*w->names), 16))
		return SRVD_ENOMEM;
	w->names[w->n_names++] = owner;
	const zone_t *z = w->z;
	uint32_t ni = node_of(z, owner);
	if (ni == ZONE_NONE)
		return 0;
	const zone_node_t *nd = &z->nodes[ni];
	for (uint16_t s = 0; s < nd->n_rrset; s++) {
		const zone_rrset_t *set = &z->rrsets[nd->rrset + s];
		const uint8_t *p = z->rdata + set->data;
		for (uint16_t k = 0; k < set->count; k++) {
			uint16_t len = get_u16(p);
			rec_t r = {zone_node_name(z, nd),
			           p + 2,
			           set->type,
			           len,
			           set->ttl,
			           set->ttl,
			           true,
			           true};
			int rc = push(w, &r);
			if (rc)
				return rc;
			p += 2u + len;
		}
	}
	return 0;
}

static bool same_set(const rec_t *r, const uint8_t *owner, uint16_t type)
{
	return r->type == type && wire_name_eq(r->owner, owner);
}

static bool has_alive(const work_t *w, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].alive && same_set(&w->v[i], owner, type))
			return true;
	return false;
}

static size_t count_alive(const work_t *w, const uint8_t *owner, uint16_t type)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n; i++)
		n += w->v[i].alive && same_set(&w->v[i], owner, type);
	return n;
}

/* Data that may sit beside a CNAME (RFC 2181 10.1, RFC 4035 2.5). */
static bool cname_ok_with(uint16_t type)
{
	return type == DNS_T_CNAME || type == DNS_T_RRSIG || type == DNS_T_NSEC ||
	       type == 50 /* NSEC3 */;
}

static bool has_other_than_cname(const work_t *w, const uint8_t *owner)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].alive && !cname_ok_with(w->v[i].type) &&
		    wire_name_eq(w->v[i].owner, owner))
			return true;
	return false;
}

static void kill(work_t *w, const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; i < w->n; i++)
		if (same_set(&w->v[i], owner, type))
			w->v[i].alive = false;
}

/* ---- prerequisites (RFC 2136 3.2) ----------------------------------------------- */

/* The RRset of (owner, type) equals the prerequisite records with that
 * owner and type (3.2.3: value dependent; duplicates collapse). */
static bool set_matches(const zone_t *z, const upd_req_t *r, size_t at)
{
	const xfr_rr_t *p = &r->pre[at];
	const zone_rrset_t *set = zone_set(z, p->owner, p->type);
	if (!set)
		return false;
	/* every zone record is among the prerequisites ... */
	const uint8_t *d = z->rdata + set->data;
	for (uint16_t k = 0; k < set->count; k++) {
		uint16_t len = get_u16(d);
		bool found = false;
		for (size_t i = 0; i < r->n_pre && !found; i++) {
			const xfr_rr_t *q = &r->pre[i];
			found = q->rclass == DNS_C_IN && q->type == p->type &&
			        wire_name_eq(q->owner, p->owner) &&
			        rdata_eq(q->type, q->rdata, q->rdlen, d + 2, len);
		}
		if (!found)
			return false;
		d += 2u + len;
	}
	/* ... and every prerequisite record is in the zone */
	for (size_t i = 0; i < r->n_pre; i++) {
		const xfr_rr_t *q = &r->pre[i];
		if (q->rclass != DNS_C_IN || q->type != p->type ||
		    !wire_name_eq(q->owner, p->owner))
			continue;
		bool found = false;
		d = z->rdata + set->data;
		for (uint16_t k = 0; k < set->count && !found; k++) {
			uint16_t len = get_u16(d);
			found = rdata_eq(q->type, q->rdata, q->rdlen, d + 2, len);
			d += 2u + len;
		}
		if (!found)
			return false;
	}
	return true;
}

static unsigned check_pre(const zone_t *z, const upd_req_t *r, size_t i)
{
	const xfr_rr_t *p = &r->pre[i];
	if (p->rclass == DNS_C_ANY && p->type == DNS_T_ANY)
		return name_in_use(z, p->owner) ? DNS_RC_NOERROR : DNS_RC_NXDOMAIN;
	if (p->rclass == DNS_C_ANY)
		return zone_set(z, p->owner, p->type) ? DNS_RC_NOERROR : UPD_RC_NXRRSET;
	if (p->rclass == DNS_C_NONE && p->type == DNS_T_ANY)
		return name_in_use(z, p->owner) ? DNS_RC_YXDOMAIN : DNS_RC_NOERROR;
	if (p->rclass == DNS_C_NONE)
		return zone_set(z, p->owner, p->type) ? UPD_RC_YXRRSET : DNS_RC_NOERROR;
	if (p->rclass == DNS_C_IN)
		return set_matches(z, r, i) ? DNS_RC_NOERROR : UPD_RC_NXRRSET;
	return DNS_RC_FORMERR; /* upd_scan let nothing else through */
}

/* ---- the update section (RFC 2136 3.4.2) ----------------------------------------- */

static bool is_apex(const work_t *w, const uint8_t *owner)
{
	return wire_name_eq(owner, w->z->origin);
}

static uint32_t soa_serial_now(const work_t *w)
{
	uint32_t s = w->z->serial;
	if (w->soa_set)
		xfr_soa_serial(w->soa, w->soa_len, &s);
	return s;
}

static int add_rr(work_t *w, const xfr_rr_t *u)
{
	if (u->type == DNS_T_SOA) {
		uint32_t s;
		/* 3.4.2.2: at the apex only, and only a newer serial */
		if (!is_apex(w, u->owner) || !xfr_soa_serial(u->rdata, u->rdlen, &s) ||
		    !wire_serial_gt(s, soa_serial_now(w)) || u->rdlen > sizeof(w->soa))
			return 0;
		memcpy(w->soa, u->rdata, u->rdlen);
		w->soa_len = u->rdlen;
		w->soa_set = true;
		return 0;
	}
	int rc = load(w, u->owner);
	if (rc)
		return rc;
	/* 3.4.2.2: CNAME and other data never share a name */
	if (u->type == DNS_T_CNAME && has_other_than_cname(w, u->owner))
		return 0;
	if (!cname_ok_with(u->type) && has_alive(w, u->owner, DNS_T_CNAME))
		return 0;
	if (u->type == DNS_T_CNAME || u->type == DNS_T_DNAME)
		kill(w, u->owner, u->type); /* singletons: the new one replaces */
	/* the RRset takes the TTL of the latest RR added to it */
	rec_t *dup = NULL;
	for (size_t i = 0; i < w->n; i++) {
		rec_t *e = &w->v[i];
		if (!same_set(e, u->owner, u->type))
			continue;
		if (e->alive)
			e->ttl = u->ttl;
		if (rdata_eq(u->type, e->rdata, e->rdlen, u->rdata, u->rdlen))
			dup = e;
	}
	if (dup) {
		dup->alive = true;
		dup->ttl = u->ttl;
		return 0;
	}
	rec_t r = {u->owner, u->rdata, u->type, u->rdlen, u->ttl, u->ttl, false, true};
	return push(w, &r);
}

static int delete_rrset(work_t *w, const xfr_rr_t *u)
{
	bool apex = is_apex(w, u->owner);
	if (apex && (u->type == DNS_T_SOA || u->type == DNS_T_NS))
		return 0;
	int rc = load(w, u->owner);
	if (rc)
		return rc;
	for (size_t i = 0; i < w->n; i++) {
		rec_t *e = &w->v[i];
		if (!wire_name_eq(e->owner, u->owner))
			continue;
		if (u->type == DNS_T_ANY) {
			if (!(apex && (e->type == DNS_T_SOA || e->type == DNS_T_NS)))
				e->alive = false;
		} else if (e->type == u->type) {
			e->alive = false;
		}
	}
	return 0;
}

static int delete_rr(work_t *w, const xfr_rr_t *u)
{
	if (u->type == DNS_T_SOA)
		return 0;
	int rc = load(w, u->owner);
	if (rc)
		return rc;
	for (size_t i = 0; i < w->n; i++) {
		rec_t *e = &w->v[i];
		if (!e->alive || !same_set(e, u->owner, u->type) ||
		    !rdata_eq(u->type, e->rdata, e->rdlen, u->rdata, u->rdlen))
			continue;
		/* 3.4.2.4: the apex keeps its last NS */
		if (u->type == DNS_T_NS && is_apex(w, u->owner) &&
		    count_alive(w, u->owner, DNS_T_NS) <= 1)
			return 0;
		e->alive = false;
	}
	return 0;
}

static int apply_one(work_t *w, const xfr_rr_t *u)
{
	if (u->rclass == DNS_C_IN)
		return add_rr(w, u);
	if (u->rclass == DNS_C_ANY)
		return delete_rrset(w, u);
	return delete_rr(w, u);
}

/* ---- the diff ------------------------------------------------------------------ */

uint32_t upd_next_serial(uint32_t cur, upd_serial_t pol, time_t now)
{
	uint32_t want = cur + 1;
	if (pol == UPD_SERIAL_UNIXTIME) {
		want = (uint32_t)now;
	} else if (pol == UPD_SERIAL_DATESERIAL) {
		struct tm tm;
		gmtime_r(&now, &tm);
		want = (uint32_t)((tm.tm_year + 1900) * 1000000u + (tm.tm_mon + 1) * 10000u +
		                  tm.tm_mday * 100u);
	}
	return wire_serial_gt(want, cur) ? want : cur + 1;
}

static int diff_out(work_t *w, upd_serial_t pol, time_t now, xfr_diff_t **out)
{
	size_t nr = 1, na = 1;
	for (size_t i = 0; i < w->n; i++) {
		const rec_t *e = &w->v[i];
		bool changed = e->orig && e->alive && e->ttl != e->orig_ttl;
		nr += e->orig && (!e->alive || changed) && e->type != DNS_T_SOA;
		na += e->alive && (!e->orig || changed) && e->type != DNS_T_SOA;
	}
	if (nr == 1 && na == 1 && !w->soa_set)
		return 0; /* nothing changed: no new version */
	xfr_rr_t *rm = calloc(nr, sizeof(*rm)), *ad = calloc(na, sizeof(*ad));
	int rc = rm && ad ? 0 : SRVD_ENOMEM;
	if (rc == 0) {
		xfr_zone_soa(w->z, &rm[0]);
		ad[0] = rm[0];
		uint8_t soa[sizeof(w->soa)];
		if (w->soa_set) {
			ad[0].rdata = w->soa;
			ad[0].rdlen = w->soa_len;
		} else {
			memcpy(soa, rm[0].rdata, rm[0].rdlen);
			size_t at = wire_name_len(soa);
			at += wire_name_len(soa + at);
			put_u32(soa + at, upd_next_serial(w->z->serial, pol, now));
			ad[0].rdata = soa;
		}
		size_t ir = 1, ia = 1;
		for (size_t i = 0; i < w->n; i++) {
			const rec_t *e = &w->v[i];
			if (e->type == DNS_T_SOA)
				continue;
			bool changed = e->orig && e->alive && e->ttl != e->orig_ttl;
			xfr_rr_t rr = {e->owner,    e->type,  DNS_C_IN,
			               e->orig_ttl, e->rdata, e->rdlen};
			if (e->orig && (!e->alive || changed))
				rm[ir++] = rr;
			rr.ttl = e->ttl;
			if (e->alive && (!e->orig || changed))
				ad[ia++] = rr;
		}
		uint32_t from = w->z->serial, to = from;
		xfr_soa_serial(ad[0].rdata, ad[0].rdlen, &to);
		rc = xfr_diff_new(from, to, rm, nr, ad, na, out);
	}
	free(rm);
	free(ad);
	return rc;
}

static int fail(upd_outcome_t *out, unsigned rcode, const char *what, const xfr_rr_t *rr)
{
	char name[1024] = "";
	if (rr && wire_name_to_str(rr->owner, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "(long name)");
	*out = (upd_outcome_t){.rcode = rcode};
	snprintf(out->why, sizeof(out->why), "%s%s%.150s", what, rr ? " at " : "", name);
	return 0;
}

int upd_eval(const zone_t *z, const upd_req_t *r, upd_serial_t pol, time_t now, size_t max_rrs,
             upd_outcome_t *out)
{
	if (!z || !r || !out)
		return SRVD_EINVAL;
	if (z->expired || !z->n_nodes)
		return fail(out, DNS_RC_SERVFAIL, "the zone has expired", NULL);
	for (size_t i = 0; i < r->n_pre; i++) {
		unsigned rc = check_pre(z, r, i);
		if (rc != DNS_RC_NOERROR)
			return fail(out, rc, "prerequisite failed", &r->pre[i]);
	}
	work_t w = {.z = z, .max = max_rrs};
	int rc = 0;
	for (size_t i = 0; i < r->n_upd && rc == 0; i++)
		rc = apply_one(&w, &r->upd[i]);
	xfr_diff_t *d = NULL;
	if (rc == 0)
		rc = diff_out(&w, pol, now, &d);
	bool big = w.too_big;
	free(w.v);
	free(w.names);
	if (big)
		return fail(out, DNS_RC_REFUSED, "the update touches too many records", NULL);
	if (rc)
		return rc;
	*out = (upd_outcome_t){.rcode = DNS_RC_NOERROR, .diff = d};
	return 0;
}
