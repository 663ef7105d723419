/* Diffs between two zone versions, the unit of the journal and of IXFR out.
 *
 * Computed when a version is published (from a file reload or a transfer
 * in): both versions' records are sorted canonically and merged. A record
 * is its owner, type and RDATA; a changed TTL counts as a removal and an
 * addition, because IXFR has no other way to say it. The SOAs are not in
 * the merge: they open each half of the diff, as IXFR sends them.
 */
#include <stdlib.h>
#include <string.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/journal.h"

int xfr_diff_new(uint32_t from, uint32_t to, const xfr_rr_t *removed, size_t n_removed,
                 const xfr_rr_t *added, size_t n_added, xfr_diff_t **out)
{
	if ((!removed && n_removed) || (!added && n_added) || !out)
		return SRVD_EINVAL;
	size_t n = n_removed + n_added;
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const xfr_rr_t *rr = i < n_removed ? &removed[i] : &added[i - n_removed];
		bytes += wire_name_len(rr->owner) + rr->rdlen;
	}
	size_t head = sizeof(xfr_diff_t) + n * sizeof(xfr_rr_t);
	xfr_diff_t *d = malloc(head + bytes + 1);
	if (!d)
		return SRVD_ENOMEM;
	memset(d, 0, sizeof(*d));
	atomic_init(&d->refs, 1);
	d->from = from;
	d->to = to;
	d->n_removed = n_removed;
	d->n_added = n_added;
	d->removed = (xfr_rr_t *)(d + 1);
	d->added = d->removed + n_removed;
	uint8_t *p = (uint8_t *)d + head;
	for (size_t i = 0; i < n; i++) {
		const xfr_rr_t *rr = i < n_removed ? &removed[i] : &added[i - n_removed];
		xfr_rr_t *c = &d->removed[i]; /* removed and added are contiguous */
		size_t olen = wire_name_len(rr->owner);
		memcpy(p, rr->owner, olen);
		c->owner = p;
		p += olen;
		memcpy(p, rr->rdata, rr->rdlen);
		c->rdata = p;
		p += rr->rdlen;
		c->type = rr->type;
		c->rclass = DNS_C_IN;
		c->ttl = rr->ttl;
		c->rdlen = rr->rdlen;
		d->wire_size += olen + 10u + rr->rdlen;
	}
	*out = d;
	return 0;
}

void xfr_diff_ref(xfr_diff_t *d)
{
	if (d)
		atomic_fetch_add(&d->refs, 1);
}

void xfr_diff_unref(xfr_diff_t *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		free(d);
}

/* Canonical order of owner, then type, then RDATA. */
static int key_cmp(const xfr_rr_t *a, const xfr_rr_t *b)
{
	int c = wire_name_cmp(a->owner, b->owner);
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	c = memcmp(a->rdata, b->rdata, n);
	if (c)
		return c;
	return (int)a->rdlen - (int)b->rdlen;
}

static int qsort_cmp(const void *a, const void *b)
{
	return key_cmp(a, b);
}

/* Every RR but the SOA, sorted. *n_out is the count. */
static int collect(const zone_t *z, xfr_rr_t **out, size_t *n_out)
{
	xfr_rr_t *v = malloc((z->n_records + 1) * sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	size_t n = 0;
	xfr_iter_t it;
	xfr_rr_t rr;
	xfr_iter_init(&it, z);
	while (xfr_iter_next(&it, &rr))
		if (rr.type != DNS_T_SOA && n < z->n_records)
			v[n++] = rr;
	qsort(v, n, sizeof(*v), qsort_cmp);
	*out = v;
	*n_out = n;
	return 0;
}

int xfr_diff_compute(const zone_t *old, const zone_t *new_, xfr_diff_t **out)
{
	if (!old || !new_ || !out || !wire_name_eq(old->origin, new_->origin))
		return SRVD_EINVAL;
	xfr_rr_t *a = NULL, *b = NULL, *rem = NULL, *add = NULL;
	size_t na = 0, nb = 0, nr = 1, nd = 1;
	int rc = collect(old, &a, &na);
	if (rc == 0)
		rc = collect(new_, &b, &nb);
	if (rc == 0) {
		rem = malloc((na + 1) * sizeof(*rem));
		add = malloc((nb + 1) * sizeof(*add));
		if (!rem || !add)
			rc = SRVD_ENOMEM;
	}
	if (rc)
		goto done;
	xfr_zone_soa(old, &rem[0]);
	xfr_zone_soa(new_, &add[0]);
	size_t i = 0, j = 0;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : key_cmp(&a[i], &b[j]);
		if (c < 0) {
			rem[nr++] = a[i++];
		} else if (c > 0) {
			add[nd++] = b[j++];
		} else {
			if (a[i].ttl != b[j].ttl) {
				rem[nr++] = a[i];
				add[nd++] = b[j];
			}
			i++;
			j++;
		}
	}
	rc = xfr_diff_new(old->serial, new_->serial, rem, nr, add, nd, out);
done:
	free(a);
	free(b);
	free(rem);
	free(add);
	return rc;
}
