/* Copy-on-write zone versions: a version made from another by a small
 * change (an UPDATE, a journal diff, an IXFR) shares the other's memory
 * instead of going through the builder, which lays the whole zone out
 * again (1.4 s for one TXT in a 1,000,000-record zone).
 *
 * The responder reads a version through plain pointers to flat arrays
 * (zone.h), and that stays so: a copy-on-write version is the same
 * struct, so the query path costs the same instructions whatever made
 * the version. What changes is where the arrays live:
 *
 *   image    the arrays of one version, with room to grow, copied once
 *            into a memfd (a "zone image", shared and never written again)
 *   version  a private mapping (MAP_PRIVATE) of its image: the kernel
 *            shares every page with the image until it is written, so a
 *            version costs the pages it changed, plus its page tables
 *
 * A new version maps the image, copies the pages its parent had changed
 * (a bitmap says which), and writes its own change: appends at the end of
 * each array (a changed node gets a new run of RRsets, new names and RDATA
 * go at the end; an unchanged RRset keeps its RDATA where it is), a node's
 * fields in place, a slot of the hash table. The arrays keep the builder's
 * invariants: parents before children, a node's RRsets contiguous and in
 * type order, records in RDATA order, the minimum TTL within an RRset.
 * A name removed leaves a dead node outside the hash table (no lookup or
 * transfer sees it: it has no RRsets) and dead RRsets and RDATA: garbage,
 * counted, and left behind by the next full build.
 *
 * The pages a chain of versions changed accumulate; when they pass 1/8 of
 * the image, or an array is full, a new image is made from the current
 * version (a copy, no parsing or sorting). When the garbage passes 1/4 of
 * the image, or the change is of a kind this path does not take, the
 * caller builds the version in full (SRVD_ENOTSUP), as before:
 *   - signed zones (RRSIG, NSEC, NSEC3: chains would need maintaining),
 *   - zone cuts and DNAMEs appearing, moving or changing (they decide the
 *     `stop` of every name below them), and anything at or below one,
 *   - a name gaining or losing its last A/AAAA (other RRsets' additional
 *     section links would change).
 * ACME challenges (a TXT at a new or existing leaf, added and removed)
 * and the usual A/AAAA/TXT/SRV/MX edits take the fast path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

enum { R_NAMES, R_NODES, R_RRSETS, R_RDATA, R_LINKS, R_TABLE, R_KIDS, R_N };

enum {
	MIN_ROOM = 64 << 10, /* bytes of headroom per array, at least */
	MAX_NAMES = 128,     /* labels of a name: the most nodes one change may create */
};

typedef struct zone_image {
	atomic_uint refs;
	int fd;
	size_t size, page, pages;
	size_t off[R_N], cap[R_N]; /* bytes; regions start on page boundaries */
	uint32_t table_mask;
	/* the version it was copied from, for zone_cow_origin */
	size_t used[R_N];
	uint32_t n_nodes, n_rrsets;
	size_t n_records;
} zone_image_t;

struct zone_cow {
	zone_image_t *img;
	uint8_t *map;
	uint64_t *dirty; /* pages this version changed (its own and its parents') */
	size_t n_dirty;
	size_t used[R_N]; /* bytes in use, from each region's start */
	size_t garbage;   /* bytes of dead nodes, RRsets and RDATA */
};

/* ---- images ------------------------------------------------------------------ */

static void image_unref(zone_image_t *img)
{
	if (img && atomic_fetch_sub(&img->refs, 1) == 1) {
		close(img->fd);
		free(img);
	}
}

void zone_cow_free(zone_cow_t *c)
{
	if (!c)
		return;
	if (c->map)
		munmap(c->map, c->img->size);
	free(c->dirty);
	image_unref(c->img);
	free(c);
}

static size_t round_up(size_t n, size_t page)
{
	return (n + page - 1) / page * page;
}

/* The bytes of each array a version uses. */
static void measure(const zone_t *z, size_t used[R_N])
{
	if (z->cow) {
		memcpy(used, z->cow->used, sizeof(z->cow->used));
		return;
	}
	size_t names = 0, rdata = 0, links = 0;
	for (uint32_t i = 0; i < z->n_nodes + z->n_n3; i++) {
		const zone_node_t *n = &z->nodes[i];
		if (n->name + (size_t)n->name_len > names)
			names = n->name + (size_t)n->name_len;
	}
	for (uint32_t i = 0; i < z->n_rrsets; i++) {
		const zone_rrset_t *s = &z->rrsets[i];
		const uint8_t *p = z->rdata + s->data;
		for (uint16_t k = 0; k < s->count; k++)
			p += 2u + get_u16(p);
		if ((size_t)(p - z->rdata) > rdata)
			rdata = (size_t)(p - z->rdata);
		if (s->links != ZONE_NONE && s->links + (size_t)s->count > links)
			links = s->links + (size_t)s->count;
	}
	used[R_NAMES] = names;
	used[R_NODES] = (size_t)z->n_nodes * sizeof(zone_node_t);
	used[R_RRSETS] = (size_t)z->n_rrsets * sizeof(zone_rrset_t);
	used[R_RDATA] = rdata;
	used[R_LINKS] = links * sizeof(uint32_t);
	used[R_KIDS] = (size_t)z->n_nodes * sizeof(uint32_t);
}

static uint32_t table_slots(size_t nodes)
{
	uint32_t t = 16;
	while (t < nodes * 2 && t < (1u << 31))
		t *= 2;
	return t;
}

static void table_put(uint32_t *table, uint32_t mask, uint32_t hash, uint32_t idx)
{
	uint32_t h = hash & mask;
	while (table[h])
		h = (h + 1) & mask;
	table[h] = idx + 1;
}

/* An image holding z's arrays with room for `more` of each (bytes, and
 * nodes for the table). Live nodes are the ones in z's hash table. */
static int image_new(const zone_t *z, const size_t more[R_N], size_t more_nodes, zone_image_t **out,
                     size_t used_out[R_N])
{
	size_t used[R_N] = {0}, page = (size_t)sysconf(_SC_PAGESIZE);
	measure(z, used);
	size_t nodes = z->n_nodes;
	size_t room_nodes = nodes / 8 + more_nodes + MIN_ROOM / sizeof(zone_node_t);
	uint32_t slots = table_slots(nodes + room_nodes);
	zone_image_t *img = calloc(1, sizeof(*img));
	if (!img)
		return SRVD_ENOMEM;
	size_t at = 0;
	for (int r = 0; r < R_N; r++) {
		size_t cap;
		if (r == R_TABLE)
			cap = (size_t)slots * sizeof(uint32_t);
		else if (r == R_NODES || r == R_KIDS)
			cap = (nodes + room_nodes) * (r == R_NODES ? sizeof(zone_node_t) : 4);
		else
			cap = used[r] + used[r] / 8 + more[r] + MIN_ROOM;
		img->off[r] = at;
		img->cap[r] = round_up(cap, page);
		at += img->cap[r];
	}
	if (img->cap[R_NAMES] > UINT32_MAX || img->cap[R_RDATA] > UINT32_MAX ||
	    img->cap[R_RRSETS] / sizeof(zone_rrset_t) > UINT32_MAX ||
	    img->cap[R_LINKS] / 4 > UINT32_MAX) {
		free(img);
		return SRVD_ELIMIT;
	}
	img->size = at;
	img->page = page;
	img->pages = at / page;
	img->table_mask = slots - 1;
	atomic_init(&img->refs, 1);
	img->fd = memfd_create("srvd-zone", MFD_CLOEXEC);
	uint8_t *m = MAP_FAILED;
	if (img->fd >= 0 && ftruncate(img->fd, (off_t)at) == 0)
		m = mmap(NULL, at, PROT_READ | PROT_WRITE, MAP_SHARED, img->fd, 0);
	if (m == MAP_FAILED) {
		if (img->fd >= 0)
			close(img->fd);
		free(img);
		return errno == ENOMEM ? SRVD_ENOMEM : SRVD_EIO;
	}
	memcpy(m + img->off[R_NAMES], z->names, used[R_NAMES]);
	memcpy(m + img->off[R_NODES], z->nodes, used[R_NODES]);
	memcpy(m + img->off[R_RRSETS], z->rrsets, used[R_RRSETS]);
	memcpy(m + img->off[R_RDATA], z->rdata, used[R_RDATA]);
	memcpy(m + img->off[R_LINKS], z->links, used[R_LINKS]);
	uint32_t *table = (uint32_t *)(m + img->off[R_TABLE]);
	uint32_t *kids = (uint32_t *)(m + img->off[R_KIDS]);
	for (uint32_t i = 0; i <= z->table_mask; i++) {
		uint32_t v = z->table[i];
		if (!v)
			continue;
		const zone_node_t *n = &z->nodes[v - 1];
		table_put(table, img->table_mask, n->hash, v - 1);
		if (n->parent != ZONE_NONE)
			kids[n->parent]++;
	}
	used[R_TABLE] = (size_t)slots * sizeof(uint32_t);
	munmap(m, at);
	memcpy(used_out, used, sizeof(used));
	memcpy(img->used, used, sizeof(used));
	img->n_nodes = z->n_nodes;
	img->n_rrsets = z->n_rrsets;
	img->n_records = z->n_records;
	*out = img;
	return 0;
}

/* ---- the change, planned ------------------------------------------------------ */

typedef struct prr {
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	const uint8_t *rdata;
} prr_t;

/* One owner's change: its records after it, sorted as the builder sorts. */
typedef struct group {
	uint8_t lname[255], name[255];
	size_t len;
	uint32_t hash;
	uint32_t node; /* in the parent version, ZONE_NONE: new */
	prr_t *rr;
	size_t n_rr;
	size_t first, count; /* its changes, after sorting them by owner */
} group_t;

typedef struct plan {
	const zone_t *z;
	const zone_change_t *ch;
	size_t n_ch;
	size_t *order; /* changes by owner */
	group_t *g;
	size_t n_g;
	prr_t *pool; /* the groups' records */
	size_t n_pool;
	size_t more[R_N];
	size_t more_nodes;
	long records; /* change of z->n_records */
} plan_t;

static _Thread_local const plan_t *t_plan; /* qsort has no context argument in C11 */

static int by_owner(const void *pa, const void *pb)
{
	const zone_change_t *a = &t_plan->ch[*(const size_t *)pa];
	const zone_change_t *b = &t_plan->ch[*(const size_t *)pb];
	int c = wire_name_cmp(a->owner, b->owner);
	if (c)
		return c;
	/* removals first: a diff removes, then adds */
	if (a->add != b->add)
		return a->add ? 1 : -1;
	return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
}

static uint32_t type_key(uint16_t t)
{
	return t == DNS_T_RRSIG ? 0x10000u : t;
}

static int prr_cmp(const void *pa, const void *pb)
{
	const prr_t *a = pa, *b = pb;
	if (a->type != b->type)
		return type_key(a->type) < type_key(b->type) ? -1 : 1;
	size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	int d = n ? memcmp(a->rdata, b->rdata, n) : 0;
	return d ? d : (int)a->rdlen - (int)b->rdlen;
}

static bool dnssec_type(uint16_t t)
{
	return t == DNS_T_RRSIG || t == DNS_T_NSEC || t == DNS_T_NSEC3 || t == 51; /* NSEC3PARAM */
}

static bool same_rr(const prr_t *a, uint16_t type, const uint8_t *rd, uint16_t len)
{
	return a->type == type && a->rdlen == len && (len == 0 || memcmp(a->rdata, rd, len) == 0);
}

/* The group's records: the node's, minus the removals, plus the additions
 * (no duplicates), sorted, one TTL per RRset (the lowest, RFC 2181 5.2). */
static int group_records(plan_t *p, group_t *g)
{
	const zone_t *z = p->z;
	g->rr = p->pool + p->n_pool;
	size_t n = 0;
	if (g->node != ZONE_NONE) {
		const zone_node_t *nd = &z->nodes[g->node];
		for (uint16_t s = 0; s < nd->n_rrset; s++) {
			const zone_rrset_t *set = &z->rrsets[nd->rrset + s];
			const uint8_t *q = z->rdata + set->data;
			for (uint16_t k = 0; k < set->count; k++) {
				uint16_t len = get_u16(q);
				g->rr[n++] = (prr_t){set->type, len, set->ttl, q + 2};
				q += 2u + len;
			}
		}
	}
	long removed = 0, added = 0;
	for (size_t i = g->first; i < g->first + g->count; i++) {
		const zone_change_t *c = &p->ch[p->order[i]];
		size_t k = 0;
		while (k < n && !same_rr(&g->rr[k], c->type, c->rdata, c->rdlen))
			k++;
		if (!c->add && k < n) {
			g->rr[k] = g->rr[--n];
			removed++;
		} else if (c->add && k == n) {
			g->rr[n++] = (prr_t){c->type, c->rdlen, c->ttl, c->rdata};
			added++;
		}
	}
	qsort(g->rr, n, sizeof(*g->rr), prr_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint32_t min = g->rr[i].ttl;
		for (; j < n && g->rr[j].type == g->rr[i].type; j++)
			min = g->rr[j].ttl < min ? g->rr[j].ttl : min;
		for (size_t k = i; k < j; k++)
			g->rr[k].ttl = min;
		i = j;
	}
	g->n_rr = n;
	p->n_pool += n;
	p->records += added - removed;
	return 0;
}

static bool has_type(const group_t *g, uint16_t t)
{
	for (size_t i = 0; i < g->n_rr; i++)
		if (g->rr[i].type == t)
			return true;
	return false;
}

/* Does the change keep to what this path takes, and pass the builder's
 * checks? 0, SRVD_ENOTSUP (build in full), SRVD_EZONE (refuse). */
static int check_group(const plan_t *p, const group_t *g)
{
	const zone_t *z = p->z;
	bool apex = g->len == z->origin_len;
	size_t cname = 0, other = 0;
	bool addr = false;
	for (size_t i = 0; i < g->n_rr; i++) {
		uint16_t t = g->rr[i].type;
		if (t == DNS_T_CNAME)
			cname++;
		else
			other++;
		if (t == DNS_T_DNAME || (t == DNS_T_NS && !apex))
			return SRVD_ENOTSUP;
		addr |= t == DNS_T_A || t == DNS_T_AAAA;
	}
	if (cname > 1 || (cname && other))
		return SRVD_EZONE; /* RFC 1034 3.6.2 */
	if (apex && (!has_type(g, DNS_T_SOA) || !has_type(g, DNS_T_NS)))
		return SRVD_EZONE;
	size_t soa = 0;
	for (size_t i = 0; i < g->n_rr; i++)
		soa += g->rr[i].type == DNS_T_SOA;
	if (soa > 1 || (soa && !apex))
		return SRVD_EZONE;
	if (g->node != ZONE_NONE) {
		const zone_node_t *n = &z->nodes[g->node];
		if (n->flags & (NODE_DELEG | NODE_DNAME | NODE_OCCLUDED | NODE_NSEC3) || n->n_sig)
			return SRVD_ENOTSUP;
		if (addr != !!(n->flags & NODE_ADDR))
			return SRVD_ENOTSUP;
		return 0;
	}
	if (addr)
		return SRVD_ENOTSUP;
	/* a new name: the closest existing ancestor decides where it is */
	zone_key_t k;
	zone_key_init(&k, g->lname, g->len);
	for (unsigned i = 1; i <= k.labels; i++) {
		uint32_t a = zone_find_h(z, g->lname + k.off[i], g->len - k.off[i], k.hash[i]);
		if (a == ZONE_NONE)
			continue;
		const zone_node_t *n = &z->nodes[a];
		return n->stop != ZONE_NONE || (n->flags & (NODE_DELEG | NODE_DNAME)) ? SRVD_ENOTSUP
		                                                                      : 0;
	}
	return SRVD_EZONE; /* not below the apex: the caller checked */
}

static void plan_free(plan_t *p)
{
	free(p->order);
	free(p->g);
	free(p->pool);
}

static int plan_make(const zone_t *z, const zone_change_t *ch, size_t n, plan_t *p)
{
	memset(p, 0, sizeof(*p));
	p->z = z;
	p->ch = ch;
	p->n_ch = n;
	for (size_t i = 0; i < n; i++) {
		if (dnssec_type(ch[i].type))
			return SRVD_ENOTSUP;
		if (!ch[i].owner || !wire_name_is_sub(ch[i].owner, z->origin) ||
		    (ch[i].add && !zone_rdata_valid(ch[i].type, ch[i].rdata, ch[i].rdlen)))
			return SRVD_EZONE;
	}
	size_t pool = n;
	p->order = malloc((n + 1) * sizeof(*p->order));
	p->g = calloc(n + 1, sizeof(*p->g));
	if (!p->order || !p->g)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		p->order[i] = i;
	t_plan = p;
	qsort(p->order, n, sizeof(*p->order), by_owner);
	for (size_t i = 0; i < n;) {
		group_t *g = &p->g[p->n_g++];
		const uint8_t *owner = ch[p->order[i]].owner;
		g->len = wire_name_len(owner);
		memcpy(g->name, owner, g->len);
		wire_name_lower(g->lname, owner, g->len);
		g->hash = zone_hash(g->lname, g->len);
		g->node = zone_find_h(z, g->lname, g->len, g->hash);
		g->first = i;
		while (i < n && wire_name_eq(ch[p->order[i]].owner, owner))
			i++;
		g->count = i - g->first;
		if (g->node != ZONE_NONE) {
			const zone_node_t *nd = &z->nodes[g->node];
			for (uint16_t s = 0; s < nd->n_rrset; s++)
				pool += z->rrsets[nd->rrset + s].count;
		}
	}
	p->pool = malloc((pool + 1) * sizeof(*p->pool));
	if (!p->pool)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < p->n_g; i++) {
		group_t *g = &p->g[i];
		int rc = group_records(p, g);
		if (rc == 0)
			rc = check_group(p, g);
		if (rc)
			return rc;
		/* room: a new name brings at most one node per label; every
		 * record may need a new RRset, its RDATA and a link */
		if (g->node == ZONE_NONE) {
			p->more_nodes += MAX_NAMES;
			p->more[R_NAMES] += 255 * 2;
		}
		p->more[R_RRSETS] += (g->n_rr + 1) * sizeof(zone_rrset_t);
		for (size_t k = 0; k < g->n_rr; k++)
			p->more[R_RDATA] += 2u + g->rr[k].rdlen;
		p->more[R_LINKS] += g->n_rr * sizeof(uint32_t);
	}
	return 0;
}

/* ---- writing a version -------------------------------------------------------- */

typedef struct w {
	zone_cow_t *c;
	zone_image_t *img;
	uint8_t *m;
	zone_node_t *nodes;
	zone_rrset_t *rrsets;
	uint8_t *rdata, *names;
	uint32_t *links, *table, *kids;
	uint32_t n_nodes, n_rrsets;
} w_t;

static void touch(w_t *w, const void *p, size_t len)
{
	size_t off = (size_t)((const uint8_t *)p - w->m);
	for (size_t pg = off / w->img->page; pg <= (off + len - 1) / w->img->page; pg++) {
		uint64_t bit = 1ull << (pg % 64);
		if (!(w->c->dirty[pg / 64] & bit)) {
			w->c->dirty[pg / 64] |= bit;
			w->c->n_dirty++;
		}
	}
}

static zone_node_t *wnode(w_t *w, uint32_t i)
{
	touch(w, &w->nodes[i], sizeof(zone_node_t));
	return &w->nodes[i];
}

static void set_kids(w_t *w, uint32_t i, uint32_t v)
{
	touch(w, &w->kids[i], 4);
	w->kids[i] = v;
}

static void set_slot(w_t *w, uint32_t slot, uint32_t v)
{
	touch(w, &w->table[slot], 4);
	w->table[slot] = v;
}

static uint32_t find(const w_t *w, const uint8_t *lname, size_t len, uint32_t h)
{
	uint32_t mask = w->img->table_mask;
	for (uint32_t i = h & mask;; i = (i + 1) & mask) {
		uint32_t v = w->table[i];
		if (!v)
			return ZONE_NONE;
		const zone_node_t *n = &w->nodes[v - 1];
		if (n->hash != h || n->name_len != len)
			continue;
		const uint8_t *s = w->names + n->name;
		size_t j = 0;
		while (j < len && wire_lower(s[j]) == lname[j])
			j++;
		if (j == len)
			return v - 1;
	}
}

static void table_insert(w_t *w, uint32_t hash, uint32_t idx)
{
	uint32_t mask = w->img->table_mask, h = hash & mask;
	while (w->table[h])
		h = (h + 1) & mask;
	set_slot(w, h, idx + 1);
}

/* Linear probing without tombstones: the entries after the hole that
 * would not be found past it move back into it. */
static void table_remove(w_t *w, uint32_t idx)
{
	uint32_t mask = w->img->table_mask, i = w->nodes[idx].hash & mask;
	while (w->table[i] != idx + 1)
		i = (i + 1) & mask;
	set_slot(w, i, 0);
	for (uint32_t j = (i + 1) & mask; w->table[j]; j = (j + 1) & mask) {
		uint32_t home = w->nodes[w->table[j] - 1].hash & mask;
		/* j's entry may move to i when its home is not in (i, j] */
		bool stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		set_slot(w, i, w->table[j]);
		set_slot(w, j, 0);
		i = j;
	}
}

static void *append(w_t *w, int r, size_t len)
{
	size_t at = w->c->used[r];
	w->c->used[r] += len;
	uint8_t *p = w->m + w->img->off[r] + at;
	if (len)
		touch(w, p, len);
	return p;
}

/* A new node for name (original case) below parent. */
static uint32_t add_node(w_t *w, const uint8_t *name, const uint8_t *lname, size_t len,
                         uint32_t hash, uint32_t parent)
{
	uint8_t *nm = append(w, R_NAMES, len);
	memcpy(nm, name, len);
	uint32_t i = w->n_nodes++;
	append(w, R_NODES, sizeof(zone_node_t));
	append(w, R_KIDS, 4);
	zone_node_t *n = wnode(w, i);
	*n = (zone_node_t){.name = (uint32_t)(nm - w->names),
	                   .hash = hash,
	                   .parent = parent,
	                   .stop = ZONE_NONE,
	                   .wild = ZONE_NONE,
	                   .rrset = w->n_rrsets,
	                   .name_len = (uint8_t)len};
	set_kids(w, i, 0);
	set_kids(w, parent, w->kids[parent] + 1);
	if (lname[0] == 1 && lname[1] == '*') {
		n->flags |= NODE_WILD;
		wnode(w, parent)->wild = i;
	}
	table_insert(w, hash, i);
	return i;
}

/* The node for a group's name, made with its missing ancestors (empty
 * non-terminals) when it is new. */
static uint32_t node_for(w_t *w, group_t *g)
{
	uint32_t i = find(w, g->lname, g->len, g->hash);
	if (i != ZONE_NONE)
		return i;
	zone_key_t k;
	zone_key_init(&k, g->lname, g->len);
	unsigned top = 1;
	uint32_t parent = ZONE_NONE;
	for (; top <= k.labels; top++) {
		parent = find(w, g->lname + k.off[top], g->len - k.off[top], k.hash[top]);
		if (parent != ZONE_NONE)
			break;
	}
	for (unsigned l = top; l-- > 0;)
		parent = add_node(w, g->name + k.off[l], g->lname + k.off[l], g->len - k.off[l],
		                  k.hash[l], parent);
	return parent;
}

static int target_offset(uint16_t type)
{
	switch (type) {
	case DNS_T_NS: return 0;
	case DNS_T_MX: return 2;
	case DNS_T_SRV: return 6;
	default: return -1;
	}
}

/* Does an old RRset hold exactly these records (same TTL, same order)? */
static bool same_set(const zone_t *z, const zone_rrset_t *s, const prr_t *rr, size_t n)
{
	if (s->count != n || s->ttl != rr[0].ttl)
		return false;
	const uint8_t *q = z->rdata + s->data;
	for (size_t i = 0; i < n; i++) {
		uint16_t len = get_u16(q);
		if (len != rr[i].rdlen || (len && memcmp(q + 2, rr[i].rdata, len)))
			return false;
		q += 2u + len;
	}
	return true;
}

/* The group's RRsets, as a new run at the end. An RRset that did not
 * change keeps its RDATA and links where they are. */
static void write_group(w_t *w, const zone_t *z, group_t *g, uint32_t ni)
{
	const zone_node_t *old = g->node != ZONE_NONE ? &z->nodes[g->node] : NULL;
	uint32_t first = w->n_rrsets;
	uint16_t count = 0;
	uint8_t flags = w->nodes[ni].flags & (uint8_t) ~(NODE_CNAME | NODE_ADDR);
	for (size_t i = 0; i < g->n_rr;) {
		size_t j = i;
		while (j < g->n_rr && g->rr[j].type == g->rr[i].type)
			j++;
		zone_rrset_t *s = append(w, R_RRSETS, sizeof(zone_rrset_t));
		w->n_rrsets++;
		const zone_rrset_t *was = old ? zone_node_rrset(z, old, g->rr[i].type) : NULL;
		if (was && same_set(z, was, g->rr + i, j - i)) {
			*s = *was;
		} else {
			if (was)
				w->c->garbage += sizeof(zone_rrset_t);
			size_t bytes = 0;
			for (size_t k = i; k < j; k++)
				bytes += 2u + g->rr[k].rdlen;
			uint8_t *rd = append(w, R_RDATA, bytes);
			*s = (zone_rrset_t){.type = g->rr[i].type,
			                    .count = (uint16_t)(j - i),
			                    .ttl = g->rr[i].ttl,
			                    .data = (uint32_t)(rd - w->rdata),
			                    .links = ZONE_NONE};
			for (size_t k = i; k < j; k++) {
				put_u16(rd, g->rr[k].rdlen);
				if (g->rr[k].rdlen)
					memcpy(rd + 2, g->rr[k].rdata, g->rr[k].rdlen);
				rd += 2u + g->rr[k].rdlen;
			}
			if (target_offset(s->type) >= 0) {
				uint32_t *l = append(w, R_LINKS, (j - i) * 4);
				s->links = (uint32_t)(l - w->links);
			}
		}
		flags |= s->type == DNS_T_CNAME ? NODE_CNAME : 0;
		flags |= s->type == DNS_T_A || s->type == DNS_T_AAAA ? NODE_ADDR : 0;
		count++;
		i = j;
	}
	if (old)
		w->c->garbage += old->n_rrset * sizeof(zone_rrset_t);
	zone_node_t *n = wnode(w, ni);
	n->rrset = first;
	n->n_rrset = count;
	n->flags = flags;
}

/* A name left without records and without children goes (and so may its
 * parent, an empty non-terminal left without children); the apex stays. */
static void prune(w_t *w, uint32_t i)
{
	while (i != 0 && w->nodes[i].n_rrset == 0 && w->kids[i] == 0) {
		zone_node_t *n = wnode(w, i);
		uint32_t parent = n->parent;
		table_remove(w, i);
		if ((n->flags & NODE_WILD) && w->nodes[parent].wild == i)
			wnode(w, parent)->wild = ZONE_NONE;
		n->flags = 0;
		set_kids(w, parent, w->kids[parent] - 1);
		w->c->garbage += sizeof(zone_node_t) + n->name_len;
		i = parent;
	}
}

/* NS, MX and SRV targets of the RRsets written: to in-zone address nodes. */
static void write_links(w_t *w, uint32_t ni)
{
	const zone_node_t *n = &w->nodes[ni];
	for (uint16_t s = 0; s < n->n_rrset; s++) {
		const zone_rrset_t *set = &w->rrsets[n->rrset + s];
		int toff = target_offset(set->type);
		if (toff < 0 || set->links == ZONE_NONE)
			continue;
		const uint8_t *q = w->rdata + set->data;
		for (uint16_t r = 0; r < set->count; r++) {
			uint16_t len = get_u16(q);
			uint32_t hit = ZONE_NONE;
			if ((size_t)toff < len) {
				const uint8_t *t = q + 2 + toff;
				uint8_t lt[255];
				size_t tl = wire_name_len(t);
				wire_name_lower(lt, t, tl);
				hit = find(w, lt, tl, zone_hash(lt, tl));
				if (hit != ZONE_NONE && (!(w->nodes[hit].flags & NODE_ADDR) ||
				                         (set->type != DNS_T_NS &&
				                          (w->nodes[hit].flags & NODE_OCCLUDED))))
					hit = ZONE_NONE;
			}
			touch(w, &w->links[set->links + r], 4);
			w->links[set->links + r] = hit;
			q += 2u + len;
		}
	}
}

/* Map the image for a new version: every page shared with it, read-only
 * page tables filled now (on the pool, not by the first queries), then
 * the pages the parent changed copied in. */
static int map_version(zone_cow_t *c, const zone_cow_t *parent)
{
	zone_image_t *img = c->img;
	void *m = mmap(NULL, img->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, img->fd, 0);
	if (m == MAP_FAILED)
		return SRVD_ENOMEM;
	c->map = m;
	if (mprotect(m, img->size, PROT_READ | PROT_WRITE))
		return SRVD_ENOMEM;
	size_t words = (img->pages + 63) / 64;
	c->dirty = calloc(words ? words : 1, sizeof(uint64_t));
	if (!c->dirty)
		return SRVD_ENOMEM;
	if (!parent || parent->img != img)
		return 0;
	memcpy(c->dirty, parent->dirty, words * sizeof(uint64_t));
	c->n_dirty = parent->n_dirty;
	for (size_t wd = 0; wd < words; wd++)
		for (uint64_t b = parent->dirty[wd]; b; b &= b - 1) {
			size_t pg = wd * 64 + (size_t)__builtin_ctzll(b);
			memcpy(c->map + pg * img->page, parent->map + pg * img->page, img->page);
		}
	return 0;
}

/* Does the parent's image have room for the plan, with few enough pages
 * changed? Else a new image is made from the parent. */
static bool image_fits(const zone_t *z, const plan_t *p)
{
	const zone_cow_t *c = z->cow;
	if (!c)
		return false;
	const zone_image_t *img = c->img;
	for (int r = 0; r < R_N; r++) {
		size_t need = c->used[r] + p->more[r];
		if (r == R_NODES || r == R_KIDS)
			need =
			    c->used[r] + p->more_nodes * (r == R_NODES ? sizeof(zone_node_t) : 4);
		if (r != R_TABLE && need > img->cap[r])
			return false;
	}
	if ((z->n_nodes + p->more_nodes) * 2 > (size_t)img->table_mask + 1)
		return false;
	return c->n_dirty <= img->pages / 8 + 16;
}

static int version_new(const zone_t *z, zone_cow_t *c, zone_t **out)
{
	zone_t *v = calloc(1, sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	atomic_init(&v->refs, 1);
	arena_init(&v->arena, 512);
	v->origin = arena_memdup(&v->arena, z->origin, z->origin_len);
	if (!v->origin || (z->n_acl && !(v->acl = malloc(z->n_acl * sizeof(*v->acl))))) {
		free(v->acl);
		arena_deinit(&v->arena);
		free(v);
		return SRVD_ENOMEM;
	}
	if (z->n_acl)
		memcpy(v->acl, z->acl, z->n_acl * sizeof(*v->acl));
	v->n_acl = z->n_acl;
	memcpy(v->origin_lower, z->origin_lower, sizeof(v->origin_lower));
	v->origin_len = z->origin_len;
	v->origin_labels = z->origin_labels;
	const zone_image_t *img = c->img;
	v->names = c->map + img->off[R_NAMES];
	v->nodes = (const zone_node_t *)(c->map + img->off[R_NODES]);
	v->rrsets = (const zone_rrset_t *)(c->map + img->off[R_RRSETS]);
	v->rdata = c->map + img->off[R_RDATA];
	v->links = (const uint32_t *)(c->map + img->off[R_LINKS]);
	v->table = (const uint32_t *)(c->map + img->off[R_TABLE]);
	v->table_mask = img->table_mask;
	v->cow = c;
	*out = v;
	return 0;
}

int zone_cow_apply(const zone_t *z, const zone_change_t *ch, size_t n, size_t min_records,
                   zone_t **out)
{
	if (!z || (n && !ch) || !out || z->expired)
		return SRVD_EINVAL;
	if (z->n_n3 || z->n_nsec || (!z->cow && z->n_records < min_records))
		return SRVD_ENOTSUP;
	plan_t p;
	int rc = plan_make(z, ch, n, &p);
	zone_cow_t *c = NULL;
	if (rc == 0 && z->cow && z->cow->garbage > z->cow->img->size / 4)
		rc = SRVD_ENOTSUP; /* time for a full build, which leaves the garbage */
	if (rc == 0 && !(c = calloc(1, sizeof(*c))))
		rc = SRVD_ENOMEM;
	if (rc == 0 && image_fits(z, &p)) {
		c->img = z->cow->img;
		atomic_fetch_add(&c->img->refs, 1);
		memcpy(c->used, z->cow->used, sizeof(c->used));
		c->garbage = z->cow->garbage;
	} else if (rc == 0) {
		rc = image_new(z, p.more, p.more_nodes, &c->img, c->used);
		if (rc == 0 && z->cow)
			c->garbage = z->cow->garbage;
	}
	if (rc == 0)
		rc = map_version(c, z->cow);
	zone_t *v = NULL;
	if (rc == 0)
		rc = version_new(z, c, &v);
	if (rc) {
		zone_cow_free(c);
		plan_free(&p);
		return rc;
	}
	w_t w = {.c = c, .img = c->img, .m = c->map};
	w.names = c->map + w.img->off[R_NAMES];
	w.nodes = (zone_node_t *)(c->map + w.img->off[R_NODES]);
	w.rrsets = (zone_rrset_t *)(c->map + w.img->off[R_RRSETS]);
	w.rdata = c->map + w.img->off[R_RDATA];
	w.links = (uint32_t *)(c->map + w.img->off[R_LINKS]);
	w.table = (uint32_t *)(c->map + w.img->off[R_TABLE]);
	w.kids = (uint32_t *)(c->map + w.img->off[R_KIDS]);
	w.n_nodes = (uint32_t)(c->used[R_NODES] / sizeof(zone_node_t));
	w.n_rrsets = (uint32_t)(c->used[R_RRSETS] / sizeof(zone_rrset_t));
	uint32_t *ni = malloc((p.n_g + 1) * sizeof(*ni));
	if (!ni) {
		srvd_zone_unref(v);
		plan_free(&p);
		return SRVD_ENOMEM;
	}
	for (size_t i = 0; i < p.n_g; i++) {
		ni[i] = node_for(&w, &p.g[i]);
		write_group(&w, z, &p.g[i], ni[i]);
	}
	for (size_t i = 0; i < p.n_g; i++)
		prune(&w, ni[i]);
	for (size_t i = 0; i < p.n_g; i++)
		if (w.nodes[ni[i]].n_rrset)
			write_links(&w, ni[i]);
	free(ni);
	mprotect(c->map, w.img->size, PROT_READ);
	v->n_nodes = w.n_nodes;
	v->n_rrsets = w.n_rrsets;
	v->n_records = (size_t)((long)z->n_records + p.records);
	zone_read_soa(v);
	plan_free(&p);
	*out = v;
	return 0;
}

size_t zone_cow_bytes(const zone_t *z)
{
	const zone_cow_t *c = z ? z->cow : NULL;
	return c ? c->n_dirty * c->img->page : 0;
}

size_t zone_cow_image_bytes(const zone_t *z)
{
	const zone_cow_t *c = z ? z->cow : NULL;
	return c ? c->img->size : 0;
}

const void *zone_cow_image(const zone_t *z)
{
	return z && z->cow ? z->cow->img : NULL;
}

int zone_cow_origin(const zone_t *v, zone_t **out)
{
	if (!v || !v->cow || !out)
		return SRVD_EINVAL;
	zone_cow_t *c = calloc(1, sizeof(*c));
	if (!c)
		return SRVD_ENOMEM;
	c->img = v->cow->img;
	atomic_fetch_add(&c->img->refs, 1);
	memcpy(c->used, c->img->used, sizeof(c->used));
	zone_t *o = NULL;
	int rc = map_version(c, NULL);
	if (rc == 0)
		rc = version_new(v, c, &o);
	if (rc) {
		zone_cow_free(c);
		return rc;
	}
	mprotect(c->map, c->img->size, PROT_READ);
	o->n_nodes = c->img->n_nodes;
	o->n_rrsets = c->img->n_rrsets;
	o->n_records = c->img->n_records;
	zone_read_soa(o);
	*out = o;
	return 0;
}
