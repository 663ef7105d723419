/* Zone builder: collects records (from the zone-file loader or a transfer),
 * checks them, and lays out an immutable zone version (see zone.h).
 *
 * Records are collected on the heap; finish() sorts them, drops exact
 * duplicates (RFC 2181 5), runs the semantic checks, and writes the final
 * arrays into the version's arena. The builder's own memory is freed
 * before finish() returns.
 *
 * NSEC3 records and the RRSIGs covering them belong to owners of their
 * own (n3 nodes): they are interned apart from the zone's names, so they
 * create no name (RFC 5155 7.2.8: an NSEC3 owner does not exist for
 * lookup) and are laid out after the indexed nodes, sorted by hash.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

typedef struct bnode {
	const uint8_t *name; /* original case, in the builder arena */
	uint32_t hash;
	uint32_t parent;
	uint8_t len;
	uint8_t labels;
	bool n3; /* an NSEC3 owner */
} bnode_t;

typedef struct brr {
	uint32_t node;
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	uint32_t line;
	size_t rdata; /* offset into b->rdata */
	const char *file;
} brr_t;

struct zone_builder {
	arena_t arena; /* names */
	uint8_t origin[255];
	size_t origin_len;
	char origin_str[1010];
	srvd_diag_t *diag;
	unsigned errors;

	bnode_t *nodes;
	uint32_t n_nodes;
	size_t cap_nodes;
	uint32_t *table; /* lower-case name -> node + 1 */
	uint32_t mask;
	uint32_t n_n3; /* of n_nodes */

	brr_t *rrs;
	size_t n_rrs, cap_rrs;
	uint8_t *rdata;
	size_t rdata_len, rdata_cap;
	bool keep_lines;
};

static void vdiag(zone_builder_t *b, srvd_diag_level_t lvl, const char *file, unsigned line,
                  const char *fmt, va_list ap)
{
	if (lvl == SRVD_DIAG_ERROR)
		b->errors++;
	if (!b->diag)
		return;
	if (lvl == SRVD_DIAG_ERROR)
		b->diag->errors++;
	else
		b->diag->warnings++;
	if (!b->diag->fn)
		return;
	char msg[1200];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	b->diag->fn(b->diag->ctx, lvl, b->origin_str, file, line, msg);
}

void zone_builder_diag(zone_builder_t *b, srvd_diag_level_t lvl, const char *file, unsigned line,
                       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdiag(b, lvl, file, line, fmt, ap);
	va_end(ap);
}

#define DIAG(b, lvl, rr, ...) zone_builder_diag(b, lvl, (rr)->file, (rr)->line, __VA_ARGS__)

/* ---- name interning ------------------------------------------------------ */

static int table_grow(zone_builder_t *b)
{
	uint32_t size = b->table ? (b->mask + 1) * 2 : 1024;
	uint32_t *t = calloc(size, sizeof(*t));
	if (!t)
		return SRVD_ENOMEM;
	for (uint32_t i = 0; i < b->n_nodes; i++) {
		uint32_t h = b->nodes[i].hash & (size - 1);
		while (t[h])
			h = (h + 1) & (size - 1);
		t[h] = i + 1;
	}
	free(b->table);
	b->table = t;
	b->mask = size - 1;
	return 0;
}

static bool lname_eq(const uint8_t *stored, const uint8_t *lname, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (wire_lower(stored[i]) != lname[i])
			return false;
	return true;
}

static uint32_t find_node(const zone_builder_t *b, const uint8_t *lname, size_t len, uint32_t h,
                          bool n3)
{
	for (uint32_t i = h & b->mask;; i = (i + 1) & b->mask) {
		uint32_t v = b->table[i];
		if (!v)
			return ZONE_NONE;
		const bnode_t *n = &b->nodes[v - 1];
		if (n->hash == h && n->len == len && n->n3 == n3 && lname_eq(n->name, lname, len))
			return v - 1;
	}
}

/* Node id for name (which is at or below the origin), creating it and its
 * missing ancestors (empty non-terminals). An NSEC3 owner (n3) is one
 * label below the apex and creates nothing else. */
static int intern(zone_builder_t *b, const uint8_t *name, size_t len, bool n3, uint32_t *out)
{
	uint8_t lname[255];
	wire_name_lower(lname, name, len);
	uint32_t h = zone_hash(lname, len);
	uint32_t id = find_node(b, lname, len, h, n3);
	if (id != ZONE_NONE) {
		*out = id;
		return 0;
	}
	uint32_t parent = n3 ? 0 : ZONE_NONE;
	if (len > b->origin_len && !n3) {
		int rc = intern(b, name + name[0] + 1, len - name[0] - 1u, false, &parent);
		if (rc)
			return rc;
	}
	if ((b->n_nodes + 1) * 2 > b->mask + 1 && table_grow(b))
		return SRVD_ENOMEM;
	if (arr_grow((void **)&b->nodes, &b->cap_nodes, (size_t)b->n_nodes + 1, sizeof(*b->nodes),
	             256))
		return SRVD_ENOMEM;
	const uint8_t *copy = arena_memdup(&b->arena, name, len);
	if (!copy)
		return SRVD_ENOMEM;
	id = b->n_nodes++;
	b->nodes[id] = (bnode_t){.name = copy,
	                         .hash = h,
	                         .parent = parent,
	                         .len = (uint8_t)len,
	                         .labels = (uint8_t)wire_name_labels(name),
	                         .n3 = n3};
	b->n_n3 += n3;
	uint32_t i = h & b->mask;
	while (b->table[i])
		i = (i + 1) & b->mask;
	b->table[i] = id + 1;
	*out = id;
	return 0;
}

/* ---- public builder API -------------------------------------------------- */

int zone_builder_new(const uint8_t *origin, srvd_diag_t *diag, zone_builder_t **out)
{
	zone_builder_t *b = calloc(1, sizeof(*b));
	if (!b)
		return SRVD_ENOMEM;
	arena_init(&b->arena, 256 * 1024);
	b->origin_len = wire_name_len(origin);
	memcpy(b->origin, origin, b->origin_len);
	wire_name_to_str(origin, b->origin_str, sizeof(b->origin_str));
	b->diag = diag;
	uint32_t apex;
	if (table_grow(b) || intern(b, b->origin, b->origin_len, false, &apex)) {
		zone_builder_free(b);
		return SRVD_ENOMEM;
	}
	*out = b;
	return 0;
}

void zone_builder_free(zone_builder_t *b)
{
	if (!b)
		return;
	arena_deinit(&b->arena);
	free(b->nodes);
	free(b->table);
	free(b->rrs);
	free(b->rdata);
	free(b);
}

/* RRSIG RDATA (RFC 4034 3.1): 18 fixed bytes, the signer's name, the
 * signature. The responder reads the covered type and the labels field. */
static bool rrsig_valid(const uint8_t *rd, uint16_t len)
{
	size_t o = 18;
	while (o < len && rd[o] && rd[o] <= 63)
		o += rd[o] + 1u;
	return o < len && rd[o] == 0;
}

/* NSEC3 records and their signatures live in the hash chain when the owner
 * is one label below the apex, as RFC 5155 7.1 requires. */
static bool in_n3_chain(const zone_builder_t *b, const uint8_t *owner, uint16_t type,
                        const uint8_t *rdata)
{
	bool n3 = type == DNS_T_NSEC3 || (type == DNS_T_RRSIG && get_u16(rdata) == DNS_T_NSEC3);
	return n3 && wire_name_len(owner) == b->origin_len + owner[0] + 1u;
}

int zone_builder_add(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen, const char *file, unsigned line)
{
	if (!zone_rdata_valid(type, rdata, rdlen) ||
	    (type == DNS_T_RRSIG && !rrsig_valid(rdata, rdlen))) {
		zone_builder_diag(b, SRVD_DIAG_ERROR, file, line, "malformed RDATA for type %u",
		                  type);
		return SRVD_EZONE;
	}
	if (!wire_name_is_sub(owner, b->origin)) {
		char s[1010];
		wire_name_to_str(owner, s, sizeof(s));
		zone_builder_diag(b, SRVD_DIAG_ERROR, file, line, "%s is outside the zone %s", s,
		                  b->origin_str);
		return SRVD_EZONE;
	}
	uint32_t node;
	int rc = intern(b, owner, wire_name_len(owner), in_n3_chain(b, owner, type, rdata), &node);
	if (rc)
		return rc;
	if (arr_grow((void **)&b->rrs, &b->cap_rrs, b->n_rrs + 1, sizeof(*b->rrs), 1024) ||
	    arr_grow((void **)&b->rdata, &b->rdata_cap, b->rdata_len + rdlen, 1, 1024))
		return SRVD_ENOMEM;
	if (rdlen) /* memcpy from NULL is undefined even for 0 bytes */
		memcpy(b->rdata + b->rdata_len, rdata, rdlen);
	b->rrs[b->n_rrs++] = (brr_t){.node = node,
	                             .type = type,
	                             .rdlen = rdlen,
	                             .ttl = ttl,
	                             .line = line,
	                             .rdata = b->rdata_len,
	                             .file = file};
	b->rdata_len += rdlen;
	return 0;
}

/* ---- finish: sort, check, lay out ---------------------------------------- */

static _Thread_local const zone_builder_t *g_sort_b; /* qsort has no context argument in C11 */
static _Thread_local const uint32_t *g_sort_rank;

/* RRSIGs sort after a node's RRsets (they become its signature groups),
 * among themselves by RDATA, so by the type they cover first. */
static uint32_t type_key(uint16_t type)
{
	return type == DNS_T_RRSIG ? 0x10000u : type;
}

static int rr_cmp(const void *pa, const void *pb)
{
	const brr_t *a = pa, *b = pb;
	uint32_t ra = g_sort_rank[a->node], rb = g_sort_rank[b->node];
	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (a->type != b->type)
		return type_key(a->type) < type_key(b->type) ? -1 : 1;
	size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	int d = n ? memcmp(g_sort_b->rdata + a->rdata, g_sort_b->rdata + b->rdata, n) : 0;
	if (d)
		return d;
	return (int)a->rdlen - (int)b->rdlen;
}

static bool rr_same(const zone_builder_t *b, const brr_t *x, const brr_t *y)
{
	return x->node == y->node && x->type == y->type && x->rdlen == y->rdlen &&
	       (x->rdlen == 0 || memcmp(b->rdata + x->rdata, b->rdata + y->rdata, x->rdlen) == 0);
}

/* Hash order of NSEC3 owners: base32hex keeps the order of the bytes it
 * encodes (RFC 4648 7), so the first labels compare as text, without case. */
static int n3_cmp(const void *pa, const void *pb)
{
	const bnode_t *a = &g_sort_b->nodes[*(const uint32_t *)pa];
	const bnode_t *b = &g_sort_b->nodes[*(const uint32_t *)pb];
	size_t n = a->name[0] < b->name[0] ? a->name[0] : b->name[0];
	for (size_t i = 1; i <= n; i++)
		if (wire_lower(a->name[i]) != wire_lower(b->name[i]))
			return wire_lower(a->name[i]) < wire_lower(b->name[i]) ? -1 : 1;
	return (int)a->name[0] - (int)b->name[0];
}

/* Parents before children: order node ids by label count (counting sort);
 * NSEC3 owners last, by hash. */
static int rank_nodes(zone_builder_t *b, uint32_t **out)
{
	uint32_t count[130] = {0};
	uint32_t *rank = malloc(b->n_nodes * sizeof(*rank));
	uint32_t *n3 = malloc((b->n_n3 + 1) * sizeof(*n3));
	if (!rank || !n3) {
		free(rank);
		free(n3);
		return SRVD_ENOMEM;
	}
	for (uint32_t i = 0; i < b->n_nodes; i++)
		if (!b->nodes[i].n3)
			count[b->nodes[i].labels + 1]++;
	for (int i = 1; i < 130; i++)
		count[i] += count[i - 1];
	uint32_t k = 0;
	for (uint32_t i = 0; i < b->n_nodes; i++) {
		if (b->nodes[i].n3)
			n3[k++] = i;
		else
			rank[i] = count[b->nodes[i].labels]++;
	}
	g_sort_b = b;
	qsort(n3, k, sizeof(*n3), n3_cmp);
	for (uint32_t i = 0; i < k; i++)
		rank[n3[i]] = b->n_nodes - k + i;
	free(n3);
	*out = rank;
	return 0;
}

/* Drop exact duplicates in place; rrs must be sorted. */
static void dedupe(zone_builder_t *b)
{
	size_t w = 0;
	for (size_t i = 0; i < b->n_rrs; i++) {
		if (w > 0 && rr_same(b, &b->rrs[w - 1], &b->rrs[i]))
			continue;
		b->rrs[w++] = b->rrs[i];
	}
	b->n_rrs = w;
}

static bool is_dnssec_meta(uint16_t t)
{
	return t == DNS_T_RRSIG || t == DNS_T_NSEC;
}

/* Checks that look at one node's records: rrs[lo, hi) share a node. */
static void check_node(zone_builder_t *b, size_t lo, size_t hi)
{
	const brr_t *first = &b->rrs[lo];
	const bnode_t *n = &b->nodes[first->node];
	char name[1010];
	wire_name_to_str(n->name, name, sizeof(name));
	size_t cname = 0, other = 0;
	for (size_t i = lo; i < hi; i++) {
		if (b->rrs[i].type == DNS_T_CNAME)
			cname++;
		else if (!is_dnssec_meta(b->rrs[i].type))
			other++;
	}
	if (cname > 1)
		DIAG(b, SRVD_DIAG_ERROR, first, "%s has more than one CNAME (RFC 1034 3.6.2)",
		     name);
	if (cname && other)
		DIAG(b, SRVD_DIAG_ERROR, first, "%s has a CNAME beside other data (RFC 1034 3.6.2)",
		     name);
	/* TTLs within an RRset: serve the lowest (RFC 2181 5.2). Not for
	 * RRSIGs: they are no RRset, each keeps its TTL (RFC 4034 3). */
	for (size_t i = lo; i < hi;) {
		size_t j = i;
		if (b->rrs[i].type == DNS_T_RRSIG)
			break; /* they sort last */
		uint32_t min = b->rrs[i].ttl;
		bool differ = false;
		for (; j < hi && b->rrs[j].type == b->rrs[i].type; j++) {
			differ |= b->rrs[j].ttl != b->rrs[i].ttl;
			if (b->rrs[j].ttl < min)
				min = b->rrs[j].ttl;
		}
		if (differ) {
			DIAG(b, SRVD_DIAG_WARNING, &b->rrs[i],
			     "%s: TTLs differ within an RRset; serving TTL %u (RFC 2181 5.2)", name,
			     min);
			for (size_t k = i; k < j; k++)
				b->rrs[k].ttl = min;
		}
		i = j;
	}
}

static void check_apex(zone_builder_t *b, size_t lo, size_t hi)
{
	size_t soa = 0, ns = 0;
	for (size_t i = lo; i < hi; i++) {
		soa += b->rrs[i].type == DNS_T_SOA;
		ns += b->rrs[i].type == DNS_T_NS;
	}
	const char *file = lo < hi ? b->rrs[lo].file : NULL;
	if (soa == 0)
		zone_builder_diag(b, SRVD_DIAG_ERROR, file, 0, "no SOA record at the apex %s",
		                  b->origin_str);
	else if (soa > 1)
		zone_builder_diag(b, SRVD_DIAG_ERROR, file, b->rrs[lo].line,
		                  "more than one SOA record at the apex %s", b->origin_str);
	if (ns == 0)
		zone_builder_diag(b, SRVD_DIAG_ERROR, file, 0, "no NS records at the apex %s",
		                  b->origin_str);
}

/* Offset of the target name inside rdata for types whose additional
 * section we fill, or -1. */
static int target_offset(uint16_t type)
{
	switch (type) {
	case DNS_T_NS: return 0;
	case DNS_T_MX: return 2;
	case DNS_T_SRV: return 6;
	default: return -1;
	}
}

typedef struct out_sizes {
	size_t names, rrsets, rdata, links;
} out_sizes_t;

/* Does y continue x's RRset? RRSIGs form one group per covered type and
 * TTL: each signature goes out with the TTL it was given. */
static bool same_set(const zone_builder_t *b, const brr_t *x, const brr_t *y)
{
	if (x->node != y->node || x->type != y->type)
		return false;
	return x->type != DNS_T_RRSIG ||
	       (x->ttl == y->ttl && get_u16(b->rdata + x->rdata) == get_u16(b->rdata + y->rdata));
}

static void measure(const zone_builder_t *b, out_sizes_t *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < b->n_nodes; i++)
		s->names += b->nodes[i].len;
	for (size_t i = 0; i < b->n_rrs; i++) {
		s->rdata += 2u + b->rrs[i].rdlen;
		if (i == 0 || !same_set(b, &b->rrs[i - 1], &b->rrs[i]))
			s->rrsets++;
		if (target_offset(b->rrs[i].type) >= 0)
			s->links++;
	}
}

static size_t table_size(uint32_t n_nodes)
{
	uint32_t tsize = 16;
	while (tsize < n_nodes * 2u)
		tsize *= 2;
	return tsize;
}

static size_t estimate(const zone_builder_t *b, const out_sizes_t *s)
{
	return 512 + b->origin_len + s->names + b->n_nodes * sizeof(zone_node_t) +
	       (s->rrsets + 1) * sizeof(zone_rrset_t) + s->rdata + (s->links + 1) * 4 +
	       table_size(b->n_nodes) * 4 + 8 * 8;
}

static int alloc_arrays(zone_t *z, const zone_builder_t *b, const out_sizes_t *s)
{
	uint32_t tsize = (uint32_t)table_size(b->n_nodes);
	z->names = arena_alloc(&z->arena, s->names + 1);
	z->nodes = arena_alloc(&z->arena, b->n_nodes * sizeof(zone_node_t));
	z->rrsets = arena_alloc(&z->arena, (s->rrsets + 1) * sizeof(zone_rrset_t));
	z->rdata = arena_alloc(&z->arena, s->rdata + 1);
	z->links = arena_alloc(&z->arena, (s->links + 1) * sizeof(uint32_t));
	uint32_t *table = arena_alloc(&z->arena, tsize * sizeof(uint32_t));
	if (!z->names || !z->nodes || !z->rrsets || !z->rdata || !z->links || !table)
		return SRVD_ENOMEM;
	memset(table, 0, tsize * sizeof(uint32_t));
	z->table = table;
	z->table_mask = tsize - 1;
	z->n_nodes = b->n_nodes - b->n_n3;
	z->n_n3 = b->n_n3;
	return 0;
}

/* Copy nodes in rank order, with names and the hash table. */
static void emit_nodes(zone_t *z, const zone_builder_t *b, const uint32_t *rank)
{
	zone_node_t *nodes = (zone_node_t *)z->nodes;
	uint8_t *names = (uint8_t *)z->names;
	uint32_t *table = (uint32_t *)z->table;
	size_t off = 0;
	for (uint32_t i = 0; i < b->n_nodes; i++) {
		const bnode_t *bn = &b->nodes[i];
		zone_node_t *n = &nodes[rank[i]];
		memcpy(names + off, bn->name, bn->len);
		*n = (zone_node_t){.name = (uint32_t)off,
		                   .hash = bn->hash,
		                   .parent = bn->parent == ZONE_NONE ? ZONE_NONE : rank[bn->parent],
		                   .stop = ZONE_NONE,
		                   .wild = ZONE_NONE,
		                   .name_len = bn->len};
		if (bn->name[0] == 1 && bn->name[1] == '*')
			n->flags |= NODE_WILD;
		off += bn->len;
		if (bn->n3) { /* not a name of the zone: not in the index */
			n->flags = NODE_NSEC3;
			continue;
		}
		uint32_t h = bn->hash & z->table_mask;
		while (table[h])
			h = (h + 1) & z->table_mask;
		table[h] = rank[i] + 1;
	}
}

void zone_builder_keep_lines(zone_builder_t *b)
{
	b->keep_lines = true;
}

/* Each RRset's first line and its file, copied into the arena (the
 * feeder's file names do not outlive the builder). */
static int emit_lines(zone_t *z, const zone_builder_t *b)
{
	uint32_t *lines = arena_alloc(&z->arena, (z->n_rrsets + 1) * sizeof(*lines));
	const char **files = arena_alloc(&z->arena, (z->n_rrsets + 1) * sizeof(*files));
	if (!lines || !files)
		return SRVD_ENOMEM;
	const char *from = NULL, *copy = NULL;
	uint32_t ns = 0;
	for (size_t i = 0; i < b->n_rrs; ns++) {
		const brr_t *r = &b->rrs[i];
		if (r->file != from) {
			from = r->file;
			copy = from ? arena_memdup(&z->arena, from, strlen(from) + 1) : NULL;
		}
		lines[ns] = r->line;
		files[ns] = copy;
		while (i < b->n_rrs && b->rrs[i].node == r->node && b->rrs[i].type == r->type)
			i++;
	}
	z->rrset_line = lines;
	z->rrset_file = files;
	return 0;
}

/* Copy RRsets and rdata; rrs are sorted by final node order. */
static void emit_rrsets(zone_t *z, const zone_builder_t *b, const uint32_t *rank)
{
	zone_node_t *nodes = (zone_node_t *)z->nodes;
	zone_rrset_t *sets = (zone_rrset_t *)z->rrsets;
	uint8_t *rd = (uint8_t *)z->rdata;
	size_t off = 0;
	uint32_t ns = 0;
	for (size_t i = 0; i < b->n_rrs;) {
		const brr_t *r = &b->rrs[i];
		zone_node_t *n = &nodes[rank[r->node]];
		if (n->n_rrset == 0 && n->n_sig == 0)
			n->rrset = ns;
		if (r->type == DNS_T_RRSIG)
			n->n_sig++;
		else
			n->n_rrset++;
		zone_rrset_t *s = &sets[ns++];
		*s = (zone_rrset_t){
		    .type = r->type, .ttl = r->ttl, .data = (uint32_t)off, .links = ZONE_NONE};
		for (; i < b->n_rrs && same_set(b, r, &b->rrs[i]); i++) {
			put_u16(rd + off, b->rrs[i].rdlen);
			if (b->rrs[i].rdlen)
				memcpy(rd + off + 2, b->rdata + b->rrs[i].rdata, b->rrs[i].rdlen);
			off += 2u + b->rrs[i].rdlen;
			s->count++;
		}
		switch (r->type) {
		case DNS_T_CNAME: n->flags |= NODE_CNAME; break;
		case DNS_T_DNAME: n->flags |= NODE_DNAME; break;
		case DNS_T_A:
		case DNS_T_AAAA: n->flags |= NODE_ADDR; break;
		case DNS_T_NS:
			if (n->parent != ZONE_NONE)
				n->flags |= NODE_DELEG;
			break;
		default: break;
		}
	}
	z->n_rrsets = ns;
	z->n_records = b->n_rrs;
}

/* Cuts, DNAMEs and wildcards: parents come first, so one pass suffices. */
static void link_tree(zone_t *z)
{
	zone_node_t *nodes = (zone_node_t *)z->nodes;
	for (uint32_t i = 0; i < z->n_nodes; i++) {
		zone_node_t *n = &nodes[i];
		if (n->parent != ZONE_NONE) {
			zone_node_t *p = &nodes[n->parent];
			if (p->stop != ZONE_NONE) {
				n->stop = p->stop;
				n->flags |= NODE_OCCLUDED;
			}
			if (n->flags & NODE_WILD)
				p->wild = i;
		}
		if (n->stop == ZONE_NONE && (n->flags & (NODE_DELEG | NODE_DNAME)))
			n->stop = i;
	}
}

static void check_glue(zone_t *z, zone_builder_t *b, uint32_t node, const uint8_t *target)
{
	const zone_node_t *n = &z->nodes[node];
	if (!wire_name_is_sub(target, z->origin))
		return;
	/* Only names at or below this cut (in-bailiwick) need glue; other
	 * in-zone targets are authoritative data that may legitimately be
	 * missing an address only by mistake, which we also point out. */
	char ns[1010], t[1010];
	wire_name_to_str(zone_node_name(z, n), ns, sizeof(ns));
	wire_name_to_str(target, t, sizeof(t));
	zone_builder_diag(b, SRVD_DIAG_WARNING, NULL, 0,
	                  "NS %s of %s has no address record (glue) in the zone", t, ns);
}

/* Resolve NS/MX/SRV targets to in-zone address nodes. */
static void link_targets(zone_t *z, zone_builder_t *b)
{
	uint32_t *links = (uint32_t *)z->links;
	size_t nl = 0;
	for (uint32_t ni = 0; ni < z->n_nodes; ni++) {
		const zone_node_t *n = &z->nodes[ni];
		for (uint32_t k = 0; k < n->n_rrset; k++) {
			zone_rrset_t *s = (zone_rrset_t *)&z->rrsets[n->rrset + k];
			int toff = target_offset(s->type);
			if (toff < 0)
				continue;
			/* Occluded data is not served, so it needs no links, except NS
			 * at a cut, whose targets below the cut are the glue. */
			if ((n->flags & NODE_OCCLUDED) && !(s->type == DNS_T_NS && n->stop == ni))
				continue;
			s->links = (uint32_t)nl;
			const uint8_t *p = z->rdata + s->data;
			for (uint16_t r = 0; r < s->count; r++) {
				uint16_t len = get_u16(p);
				const uint8_t *target = p + 2 + toff;
				uint8_t lt[255];
				size_t tl = (size_t)toff < len ? wire_name_len(target) : 1;
				uint32_t hit = ZONE_NONE;
				if ((size_t)toff < len && wire_name_is_sub(target, z->origin)) {
					wire_name_lower(lt, target, tl);
					hit = zone_find(z, lt, tl);
				}
				bool usable =
				    hit != ZONE_NONE && (z->nodes[hit].flags & NODE_ADDR) &&
				    (s->type == DNS_T_NS || !(z->nodes[hit].flags & NODE_OCCLUDED));
				if (s->type == DNS_T_NS && !usable && (size_t)toff < len)
					if (hit == ZONE_NONE || !(z->nodes[hit].flags & NODE_ADDR))
						check_glue(z, b, ni, target);
				links[nl++] = usable ? hit : ZONE_NONE;
				p += 2 + len;
			}
		}
	}
}

static int build(zone_builder_t *b, const uint32_t *rank, zone_t **out)
{
	zone_t *z = calloc(1, sizeof(*z));
	if (!z)
		return SRVD_ENOMEM;
	atomic_init(&z->refs, 1);
	out_sizes_t s;
	measure(b, &s);
	/* One chunk sized for this zone: small zones stay small. */
	arena_init(&z->arena, estimate(b, &s));
	z->origin = arena_memdup(&z->arena, b->origin, b->origin_len);
	if (!z->origin || alloc_arrays(z, b, &s)) {
		srvd_zone_unref(z);
		return SRVD_ENOMEM;
	}
	z->origin_len = b->origin_len;
	wire_name_lower(z->origin_lower, b->origin, b->origin_len);
	z->origin_labels = wire_name_labels(b->origin);
	emit_nodes(z, b, rank);
	emit_rrsets(z, b, rank);
	if (b->keep_lines && emit_lines(z, b)) {
		srvd_zone_unref(z);
		return SRVD_ENOMEM;
	}
	link_tree(z);
	link_targets(z, b);
	zone_read_soa(z);
	if (zone_chain_index(z)) {
		srvd_zone_unref(z);
		return SRVD_ENOMEM;
	}
	*out = z;
	return 0;
}

static void check_all(zone_builder_t *b)
{
	size_t i = 0;
	bool apex_seen = false;
	while (i < b->n_rrs) {
		size_t j = i;
		while (j < b->n_rrs && b->rrs[j].node == b->rrs[i].node)
			j++;
		if (b->rrs[i].node == 0) {
			check_apex(b, i, j);
			apex_seen = true;
		}
		check_node(b, i, j);
		i = j;
	}
	if (!apex_seen)
		check_apex(b, 0, 0);
}

int zone_builder_finish(zone_builder_t *b, zone_t **out)
{
	uint32_t *rank = NULL;
	int rc = rank_nodes(b, &rank);
	if (rc)
		goto done;
	g_sort_b = b;
	g_sort_rank = rank;
	if (b->n_rrs)
		qsort(b->rrs, b->n_rrs, sizeof(brr_t), rr_cmp);
	dedupe(b);
	/* The apex is builder node 0 (interned first) and rank 0 (fewest labels). */
	check_all(b);
	if (b->errors) {
		rc = SRVD_EZONE;
		goto done;
	}
	rc = build(b, rank, out);
done:
	free(rank);
	zone_builder_free(b);
	return rc;
}
