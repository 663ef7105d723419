/* A primary zone's file edited while updates exist (issue 11, srvd(8)
 * "UPDATES AND THE ZONE FILE"): the file's own difference (old file -> new
 * file) is applied on top of the updated version, by RRset. Where the edit
 * and the updates changed the same RRset, the file wins and a warning
 * names the RRset: the operator who edits a file expects to see what they
 * wrote served, and the ACME client whose TXT was overwritten retries.
 *
 * Computed the other way round, which is the same result and keeps the
 * zone checks: start from the new file and apply the updates' changes
 * (u against f0) to every RRset the edit left alone. No libuv; runs in the
 * reload job.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/journal.h"
#include "zonetab/zonetab.h"

enum { MAX_LOGGED = 20 }; /* conflicting RRsets named in the log */

typedef struct key {
	const uint8_t *owner;
	uint16_t type;
} rrkey_t;

static int key_cmp(const void *pa, const void *pb)
{
	const rrkey_t *a = pa, *b = pb;
	int c = wire_name_cmp(a->owner, b->owner);
	if (c)
		return c;
	return (a->type > b->type) - (a->type < b->type);
}

/* The RRsets a diff touches (its SOAs aside), sorted, without repeats. */
static int touched(const xfr_diff_t *d, rrkey_t **out, size_t *n_out)
{
	size_t n = 0, cap = d->n_removed + d->n_added;
	rrkey_t *v = malloc((cap + 1) * sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	for (size_t i = 1; i < d->n_removed; i++)
		v[n++] = (rrkey_t){d->removed[i].owner, d->removed[i].type};
	for (size_t i = 1; i < d->n_added; i++)
		v[n++] = (rrkey_t){d->added[i].owner, d->added[i].type};
	qsort(v, n, sizeof(*v), key_cmp);
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (w == 0 || key_cmp(&v[w - 1], &v[i]) != 0)
			v[w++] = v[i];
	*out = v;
	*n_out = w;
	return 0;
}

static bool has_key(const rrkey_t *v, size_t n, const xfr_rr_t *rr)
{
	rrkey_t k = {rr->owner, rr->type};
	return bsearch(&k, v, n, sizeof(*v), key_cmp) != NULL;
}

/* The RRset of owner/type in z, or NULL. */
static const zone_rrset_t *rrset_of(const zone_t *z, const uint8_t *owner, uint16_t type)
{
	uint8_t l[255];
	size_t len = wire_name_len(owner);
	wire_name_lower(l, owner, len);
	uint32_t i = zone_find(z, l, len);
	return i == ZONE_NONE ? NULL : zone_node_rrset(z, &z->nodes[i], type);
}

static bool has_rdata(const zone_t *z, const zone_rrset_t *s, const uint8_t *rd, uint16_t len)
{
	const uint8_t *p = z->rdata + s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		uint16_t n = get_u16(p);
		if (n == len && memcmp(p + 2, rd, len) == 0)
			return true;
		p += 2u + n;
	}
	return false;
}

/* The same RRset in both versions (TTL and records)? */
static bool same_rrset(const zone_t *a, const zone_t *b, const uint8_t *owner, uint16_t type)
{
	const zone_rrset_t *x = rrset_of(a, owner, type), *y = rrset_of(b, owner, type);
	if (!x || !y)
		return !x && !y;
	if (x->count != y->count || x->ttl != y->ttl)
		return false;
	const uint8_t *p = a->rdata + x->data;
	for (uint16_t i = 0; i < x->count; i++) {
		uint16_t n = get_u16(p);
		if (!has_rdata(b, y, p + 2, n))
			return false;
		p += 2u + n;
	}
	return true;
}

static void log_conflict(const char *name, const rrkey_t *k, size_t nth)
{
	char owner[1024];
	if (nth > MAX_LOGGED)
		return;
	if (wire_name_to_str(k->owner, owner, sizeof(owner)) < 0)
		snprintf(owner, sizeof(owner), "?");
	if (nth == MAX_LOGGED)
		log_warn("zone %s: more RRsets changed by both the file and updates", name);
	else
		log_warn("zone %s: %s type %u was changed by the file and by an update: the "
		         "file's version is served, the update's is dropped",
		         name, owner, k->type);
}

/* The file's SOA with this serial, into buf (cap >= 255 * 2 + 20). */
static void soa_with_serial(const zone_t *z, uint32_t serial, uint8_t *buf, xfr_rr_t *out)
{
	xfr_zone_soa(z, out);
	memcpy(buf, out->rdata, out->rdlen);
	size_t off = wire_name_len(buf);
	off += wire_name_len(buf + off);
	put_u32(buf + off, serial);
	out->rdata = buf;
}

typedef struct plan {
	xfr_rr_t *rem, *add;
	size_t n_rem, n_add;
	size_t conflicts;
} plan_t;

/* The updates' changes that survive: those to RRsets the edit left alone. */
static int plan(const zone_t *u, const zone_t *f1, const xfr_diff_t *du, const rrkey_t *kf,
                size_t n_kf, const char *name, plan_t *p)
{
	p->rem = malloc((du->n_removed + 1) * sizeof(*p->rem));
	p->add = malloc((du->n_added + 1) * sizeof(*p->add));
	rrkey_t *ku = NULL;
	size_t n_ku = 0;
	if (!p->rem || !p->add || touched(du, &ku, &n_ku))
		return SRVD_ENOMEM;
	p->n_rem = p->n_add = 1; /* [0]: the SOAs */
	for (size_t i = 1; i < du->n_removed; i++)
		if (!has_key(kf, n_kf, &du->removed[i]))
			p->rem[p->n_rem++] = du->removed[i];
	for (size_t i = 1; i < du->n_added; i++)
		if (!has_key(kf, n_kf, &du->added[i]))
			p->add[p->n_add++] = du->added[i];
	for (size_t i = 0; i < n_ku; i++) {
		rrkey_t k = ku[i];
		if (bsearch(&k, kf, n_kf, sizeof(*kf), key_cmp) &&
		    !same_rrset(u, f1, k.owner, k.type))
			log_conflict(name, &k, ++p->conflicts);
	}
	free(ku);
	return 0;
}

static int apply_plan(const zone_t *f1, plan_t *p, uint32_t serial, zone_t **out)
{
	uint8_t old_soa[600], new_soa[600];
	soa_with_serial(f1, f1->serial, old_soa, &p->rem[0]);
	soa_with_serial(f1, serial, new_soa, &p->add[0]);
	xfr_diff_t *m = NULL;
	int rc = xfr_diff_new(f1->serial, serial, p->rem, p->n_rem, p->add, p->n_add, &m);
	if (rc == 0)
		rc = xfr_diff_apply(f1, m, NULL, out);
	xfr_diff_unref(m);
	return rc;
}

int ztab_merge(const srvd_zone_t *f0, const srvd_zone_t *u, const srvd_zone_t *f1, const char *name,
               srvd_zone_t **out, size_t *conflicts)
{
	if (!f0 || !u || !f1 || !name || !out || f0->expired || u->expired || f1->expired)
		return SRVD_EINVAL;
	xfr_diff_t *du = NULL, *df = NULL;
	rrkey_t *kf = NULL;
	size_t n_kf = 0;
	plan_t p = {0};
	int rc = xfr_diff_compute(f0, u, &du);
	if (rc == 0)
		rc = xfr_diff_compute(f0, f1, &df);
	if (rc == 0)
		rc = touched(df, &kf, &n_kf);
	if (rc == 0)
		rc = plan(u, f1, du, kf, n_kf, name, &p);
	zone_t *r = NULL;
	if (rc == 0) {
		bool file_newer = wire_serial_gt(f1->serial, u->serial);
		uint32_t serial = (file_newer ? f1->serial : u->serial) + 1;
		if (p.n_rem == 1 && p.n_add == 1 && file_newer) {
			srvd_zone_ref((zone_t *)f1);
			r = (zone_t *)f1;
		} else {
			rc = apply_plan(f1, &p, serial, &r);
			if (rc == SRVD_EZONE) {
				log_err("zone %s: the updates do not fit the edited file (the zone "
				        "checks fail): they are all dropped, the file is served",
				        name);
				p.n_rem = p.n_add = 1;
				rc = apply_plan(f1, &p, serial, &r);
			}
		}
	}
	size_t n_conflicts = p.conflicts;
	free(p.rem);
	free(p.add);
	free(kf);
	xfr_diff_unref(du);
	xfr_diff_unref(df);
	if (rc)
		return rc;
	if (conflicts)
		*conflicts = n_conflicts;
	*out = r;
	return 0;
}
