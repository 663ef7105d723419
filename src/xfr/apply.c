/* xfr_diff_apply: a new zone version from the current one plus a diff (an
 * UPDATE's, or a journal's at start-up). The current version is never
 * touched: queries keep reading it until the new one is published.
 *
 * A zone of XFR_COW_MIN_RECORDS records or more (or one that is already
 * copy-on-write) gets the new version from zone_cow_apply (src/zone/cow.c):
 * it shares the current version's memory and writes only what changed, so
 * one TXT in a 1,000,000-record zone costs what one TXT costs. Changes that
 * path does not take, and small zones, go through the zone builder, so the
 * result gets every check a zone file gets. Finding what the diff touches
 * there costs one compare per node: each node carries the hash of its
 * lower-case name, and only nodes whose hash is among the diff's owners
 * look at their records.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/journal.h"
#include "xfr/xfr.h"

typedef struct owners {
	uint32_t *h; /* hashes of the diff's lower-case owners, sorted */
	size_t n;
} owners_t;

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t owner_hash(const uint8_t *owner)
{
	uint8_t l[255];
	size_t n = wire_name_len(owner);
	wire_name_lower(l, owner, n);
	return zone_hash(l, n);
}

static int owners_init(const xfr_diff_t *d, owners_t *o)
{
	o->n = d->n_removed;
	o->h = calloc(o->n + 1, sizeof(*o->h));
	if (!o->h)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < d->n_removed; i++)
		o->h[i] = owner_hash(d->removed[i].owner);
	qsort(o->h, o->n, sizeof(*o->h), cmp_u32);
	return 0;
}

static bool removed(const xfr_diff_t *d, const xfr_rr_t *rr)
{
	for (size_t i = 1; i < d->n_removed; i++) {
		const xfr_rr_t *x = &d->removed[i];
		if (x->type == rr->type && x->rdlen == rr->rdlen &&
		    memcmp(x->rdata, rr->rdata, rr->rdlen) == 0 &&
		    wire_name_eq(x->owner, rr->owner))
			return true;
	}
	return false;
}

static int feed_node(zone_builder_t *b, const zone_t *z, uint32_t ni, const xfr_diff_t *d,
                     bool touched)
{
	const zone_node_t *nd = &z->nodes[ni];
	const uint8_t *owner = zone_node_name(z, nd);
	for (uint16_t s = 0; s < nd->n_rrset; s++) {
		const zone_rrset_t *set = &z->rrsets[nd->rrset + s];
		if (set->type == DNS_T_SOA)
			continue;
		const uint8_t *p = z->rdata + set->data;
		for (uint16_t k = 0; k < set->count; k++) {
			uint16_t len = get_u16(p);
			xfr_rr_t rr = {owner, set->type, DNS_C_IN, set->ttl, p + 2, len};
			p += 2u + len;
			if (touched && removed(d, &rr))
				continue;
			int rc = zone_builder_add(b, owner, rr.type, rr.ttl, rr.rdata, len,
			                          "current version", 0);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int feed(zone_builder_t *b, const zone_t *z, const xfr_diff_t *d)
{
	owners_t o;
	int rc = owners_init(d, &o);
	for (uint32_t i = 0; rc == 0 && i < z->n_nodes; i++) {
		uint32_t h = z->nodes[i].hash;
		bool touched = o.n && bsearch(&h, o.h, o.n, sizeof(h), cmp_u32);
		rc = feed_node(b, z, i, d, touched);
	}
	free(o.h);
	for (size_t i = 0; rc == 0 && i < d->n_added; i++) {
		const xfr_rr_t *a = &d->added[i];
		rc =
		    zone_builder_add(b, a->owner, a->type, a->ttl, a->rdata, a->rdlen, "update", 0);
	}
	return rc;
}

static int copy_acl(const zone_t *from, zone_t *to)
{
	if (!from->n_acl)
		return 0;
	to->acl = malloc(from->n_acl * sizeof(*to->acl));
	if (!to->acl)
		return SRVD_ENOMEM;
	memcpy(to->acl, from->acl, from->n_acl * sizeof(*to->acl));
	to->n_acl = from->n_acl;
	return 0;
}

static int cow_apply(const zone_t *z, const xfr_diff_t *d, zone_t **out)
{
	size_t n = d->n_removed + d->n_added;
	zone_change_t *ch = malloc(n * sizeof(*ch));
	if (!ch)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool add = i >= d->n_removed;
		const xfr_rr_t *rr = add ? &d->added[i - d->n_removed] : &d->removed[i];
		ch[i] = (zone_change_t){rr->owner, rr->type, rr->rdlen, rr->ttl, rr->rdata, add};
	}
	int rc = zone_cow_apply(z, ch, n, XFR_COW_MIN_RECORDS, out);
	free(ch);
	return rc;
}

int xfr_diff_apply(const zone_t *z, const xfr_diff_t *d, srvd_diag_t *diag, zone_t **out)
{
	if (!z || !d || !out || !d->n_added || !d->n_removed || z->expired)
		return SRVD_EINVAL;
	if (d->from != z->serial)
		return SRVD_EINVAL;
	int cow = cow_apply(z, d, out);
	if (cow != SRVD_ENOTSUP)
		return cow;
	zone_builder_t *b = NULL;
	int rc = zone_builder_new(z->origin, diag, &b);
	if (rc)
		return rc;
	rc = feed(b, z, d);
	if (rc) {
		zone_builder_free(b);
		return rc;
	}
	zone_t *n = NULL;
	rc = zone_builder_finish(b, &n);
	if (rc == 0 && (rc = copy_acl(z, n)) != 0)
		srvd_zone_unref(n);
	if (rc)
		return rc;
	*out = n;
	return 0;
}
