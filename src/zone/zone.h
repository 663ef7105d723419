/* Zone version: the immutable, wire-ready form of one zone that the
 * responder reads, and the one-call lookup over it.
 *
 * Layout: every piece lives in one arena owned by the version. Nodes (owner
 * names, including empty non-terminals) are an array ordered parents first;
 * a hash table maps lower-case wire names to nodes. Each node points at its
 * RRsets, sorted by type; RRset data is a run of [u16 rdlength][rdata] in
 * uncompressed wire form, so the responder copies bytes and only compresses
 * names. Additional-section targets (NS, MX, SRV -> in-zone address nodes)
 * are resolved to node indices at build time.
 *
 * DNSSEC (RFC 4034, 4035, 5155): RRSIGs are not an RRset of their own
 * (RFC 4034 3: each keeps its TTL, and they go out with the RRset they
 * cover). A node's RRSIGs follow its RRsets as "signature groups": RRsets
 * of type RRSIG holding the signatures of one covered type with one TTL,
 * ordered by the type they cover (read from the RDATA's first two bytes).
 * NSEC3 owners are not names of the zone (RFC 5155 7.2.8): they are nodes
 * after the n_nodes indexed ones, sorted by hash, outside the name index,
 * so lookup never sees them but transfers still carry them. chain.c keeps
 * the proofs' indexes (NSEC owners in canonical order, the NSEC3 hash of
 * every name precomputed).
 */
#ifndef SRVD_ZONE_ZONE_H
#define SRVD_ZONE_ZONE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "srvd/srvd.h"

#define ZONE_NONE UINT32_MAX

enum {
	NODE_DELEG = 1 << 0,    /* NS below the apex: a zone cut */
	NODE_DNAME = 1 << 1,    /* owns a DNAME */
	NODE_CNAME = 1 << 2,    /* owns a CNAME */
	NODE_OCCLUDED = 1 << 3, /* below a cut or DNAME: glue or hidden data */
	NODE_ADDR = 1 << 4,     /* owns A or AAAA */
	NODE_WILD = 1 << 5,     /* first label is "*" */
	NODE_NSEC3 = 1 << 6,    /* an NSEC3 owner: in the hash chain, not a zone name */
};

typedef struct zone_node {
	uint32_t name;   /* offset into zone->names: wire name as written in the file */
	uint32_t hash;   /* of the lower-case name */
	uint32_t parent; /* ZONE_NONE for the apex */
	uint32_t stop;   /* topmost cut or DNAME owner at or above, or ZONE_NONE */
	uint32_t wild;   /* the "*" child, or ZONE_NONE */
	uint32_t rrset;  /* first RRset in zone->rrsets */
	uint16_t n_rrset;
	uint16_t n_sig; /* signature groups after the RRsets: rrset + n_rrset ... */
	uint8_t flags;
	uint8_t name_len;
} zone_node_t;

typedef struct zone_rrset {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint32_t data;  /* offset into zone->rdata of count [u16 len][rdata] runs */
	uint32_t links; /* offset into zone->links of count node ids, or ZONE_NONE */
} zone_rrset_t;

struct srvd_zone {
	atomic_uint refs;
	arena_t arena;
	const uint8_t *origin; /* wire, original case */
	uint8_t origin_lower[255];
	size_t origin_len;
	unsigned origin_labels;
	uint32_t serial;
	uint32_t neg_ttl; /* min(SOA TTL, SOA MINIMUM), RFC 2308 3 */
	uint32_t soa_rrset;
	uint32_t ns_rrset;

	const uint8_t *names;
	const zone_node_t *nodes;
	uint32_t n_nodes;
	const zone_rrset_t *rrsets;
	uint32_t n_rrsets;
	/* Where each RRset's first record was written, for srvd-checkzone's
	 * findings; NULL unless the builder was asked (zone_builder_keep_lines),
	 * so that served zones don't pay for them. */
	const uint32_t *rrset_line;
	const char *const *rrset_file;
	const uint8_t *rdata;
	const uint32_t *links;
	const uint32_t *table; /* hash -> node index + 1, 0 = empty */
	uint32_t table_mask;
	size_t n_records;

	/* DNSSEC proofs (chain.c), filled by zone_chain_index(). */
	uint32_t n_n3;        /* NSEC3 owners: nodes[n_nodes, n_nodes + n_n3), by hash */
	const uint32_t *nsec; /* nodes that own an NSEC, canonical order (RFC 4034 6.1) */
	uint32_t n_nsec;
	/* Per node of the name index, NULL without an NSEC3 chain: the NSEC3
	 * node matching its hash, and the one matching or covering the hash of
	 * "*.<name>" (ZONE_NONE: none, e.g. an opt-out delegation). */
	const uint32_t *n3_match;
	const uint32_t *n3_wild;
	uint16_t n3_iterations; /* from NSEC3PARAM (or the first NSEC3) */
	uint8_t n3_salt_len;
	uint8_t n3_salt[255];

	srvd_prefix_t *acl;
	size_t n_acl;

	const char *const *files; /* the loader's, in the arena; see srvd_zone_file */
	size_t n_files;

	/* srvd_zone_new_expired: an origin and nothing else (no nodes, no
	 * SOA); the responder answers SERVFAIL for every name in it. */
	bool expired;
	/* Read back from a compiled snapshot rather than parsed (loader/api.c):
	 * the log says so, since it explains a start-up time. */
	bool from_snapshot;

	/* Per-zone counters (stats.c): ctr_rows blocks, one per responder
	 * row, or none; ctr_size is their bytes, so that a responder checks
	 * its row with one compare (resp.h: row_off). Set once, before the
	 * version is published. */
	struct zone_ctr *ctr;
	unsigned ctr_rows;
	size_t ctr_size;
	bool ctr_tried;

	/* A copy-on-write version (cow.c): the arrays above live in its
	 * mapping of a shared zone image, not in the arena. NULL otherwise. */
	struct zone_cow *cow;
};

typedef srvd_zone_t zone_t;

/* One responder's counters for one zone version (or, in the responder, for
 * the queries no zone answered): answers by query type and rcode together,
 * so that a query costs one increment. Written by that responder only
 * (ZONE_CTR_ADD), read by anyone with relaxed loads. A cache line of its
 * own start keeps two rows from sharing one (22 lines a row). */
typedef struct zone_ctr {
	_Alignas(64) _Atomic uint64_t n[SRVD_ZSTAT_QTYPES * SRVD_ZSTAT_RCODES];
} zone_ctr_t;

/* A plain load, add and store: only the owning thread writes. */
#define ZONE_CTR_ADD(c, n)                                                                         \
	atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n),        \
	                      memory_order_relaxed)

/* Query type -> label index times SRVD_ZSTAT_RCODES, and rcode -> label
 * index: a row's cell is the sum of the two. The type table covers every
 * type (64 KiB, read-only, and only the lines of the types that come are
 * ever touched), so that counting needs no bounds check. */
extern const uint8_t zone_stat_qtype[65536];
extern const uint8_t zone_stat_rcode[16];

/* The cell of a query type and rcode in a row. */
static inline unsigned zone_stat_cell(uint16_t qtype, int rcode)
{
	return (unsigned)zone_stat_qtype[qtype] + zone_stat_rcode[rcode & 0xF];
}
/* out->n += c (relaxed loads; the marginals are left alone). */
void zone_ctr_read(const zone_ctr_t *c, srvd_zone_stats_t *out);
/* out->queries and out->rcode from out->n. */
void zone_stats_marginals(srvd_zone_stats_t *out);

static inline const uint8_t *zone_node_name(const zone_t *z, const zone_node_t *n)
{
	return z->names + n->name;
}

/* A lower-case name prepared for lookups: where each label starts and the
 * hash of every suffix, computed in one pass from the root. Finding the
 * zone and then the closest encloser probes suffixes only, so no name is
 * hashed twice. The hash of a name is composed from the hash of its parent
 * and its first label. */
typedef struct zone_key {
	const uint8_t *lname;
	size_t len;
	unsigned labels; /* not counting the root */
	uint8_t off[128];
	uint32_t hash[128]; /* hash[i]: the suffix at off[i]; [labels] is the root */
} zone_key_t;

void zone_key_init(zone_key_t *k, const uint8_t *lname, size_t len);
uint32_t zone_hash(const uint8_t *lname, size_t len);

/* Exact node for a lower-case wire name, or ZONE_NONE. */
uint32_t zone_find(const zone_t *z, const uint8_t *lname, size_t len);
uint32_t zone_find_h(const zone_t *z, const uint8_t *lname, size_t len, uint32_t hash);

typedef struct zone_lookup {
	uint32_t node; /* exact match, or the closest encloser */
	bool exact;
	uint32_t stop; /* cut or DNAME that takes the name out of this zone's data */
	uint32_t wild; /* wildcard candidate when not exact and no stop */
} zone_lookup_t;

/* The key's name must be at or below the apex. */
void zone_lookup(const zone_t *z, const zone_key_t *k, zone_lookup_t *out);

/* The RRset of a type at a node, or NULL. */
const zone_rrset_t *zone_node_rrset(const zone_t *z, const zone_node_t *n, uint16_t type);

/* ---- DNSSEC chains (chain.c) -------------------------------------------- */

/* The type a signature group covers. */
static inline uint16_t zone_sig_covered(const zone_t *z, const zone_rrset_t *s)
{
	const uint8_t *p = z->rdata + s->data + 2;
	return (uint16_t)(p[0] << 8 | p[1]);
}
/* The signature groups of a node that cover `type`: *first and the count
 * (0 when unsigned). */
unsigned zone_node_sigs(const zone_t *z, const zone_node_t *n, uint16_t type, uint32_t *first);
/* Sort the NSEC owners, hash every name for the NSEC3 chain. Run after the
 * name index exists (builder and snapshot reader). */
int zone_chain_index(zone_t *z);
/* The NSEC owner whose NSEC matches or covers a lower-case name (the
 * greatest owner at or before it in canonical order); n_nsec must be > 0. */
uint32_t zone_nsec_find(const zone_t *z, const uint8_t *lname);
/* The NSEC3 hash of a lower-case name with the zone's parameters, in
 * lower-case base32hex (RFC 4648 7), 32 characters. */
void zone_n3_hash(const zone_t *z, const uint8_t *lname, size_t len, uint8_t out[32]);
/* The NSEC3 node matching (*exact) or covering a base32hex hash; n_n3 > 0. */
uint32_t zone_n3_find(const zone_t *z, const uint8_t *b32, size_t len, bool *exact);

/* ---- layout checks (layout.c) ------------------------------------------ */

/* RDATA of the types whose names the responder walks must be well formed. */
bool zone_rdata_valid(uint16_t type, const uint8_t *rd, size_t len);
/* serial, neg_ttl, soa_rrset, ns_rrset from the apex. */
void zone_read_soa(zone_t *z);
/* Every offset and index of a version read from disk is in bounds, every
 * name and name-bearing RDATA valid, and the apex holds the SOA. */
int zone_check_layout(const zone_t *z, size_t names_len, size_t rdata_len, size_t links_len);
/* Build the name index (node hashes and the table), read the SOA and
 * index the DNSSEC chains. */
int zone_index(zone_t *z);

/* ---- builder: fed by the zone-file loader and by transfers in ---------- */

typedef struct zone_builder zone_builder_t;

/* Findings go to diag (may be NULL) as they are found. */
int zone_builder_new(const uint8_t *origin, srvd_diag_t *diag, zone_builder_t **out);
void zone_builder_free(zone_builder_t *b);
/* file/line are kept for diagnostics only; file must outlive the builder.
 * A record outside the origin is reported and skipped (SRVD_EZONE). */
int zone_builder_add(zone_builder_t *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
                     const uint8_t *rdata, uint16_t rdlen, const char *file, unsigned line);
/* Report a finding of the feeder (a syntax error, say) through the builder,
 * so that it counts and carries the zone name. */
void zone_builder_diag(zone_builder_t *b, srvd_diag_level_t lvl, const char *file, unsigned line,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Keep each RRset's file and line in the version (rrset_line/rrset_file). */
void zone_builder_keep_lines(zone_builder_t *b);
/* Check and build. Consumes b in every case. SRVD_EZONE when any error
 * was reported, by the checks or by the feeder. */
int zone_builder_finish(zone_builder_t *b, zone_t **out);

/* ---- copy-on-write versions (cow.c) ------------------------------------ */

typedef struct zone_cow zone_cow_t;

/* One record added to or removed from a version (removals match owner,
 * type and RDATA; their TTL is not looked at). */
typedef struct zone_change {
	const uint8_t *owner; /* wire, any case */
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	const uint8_t *rdata;
	bool add;
} zone_change_t;

/* A new version: z with the changes (removals before additions), sharing
 * z's memory page by page instead of building the zone again. z is not
 * touched. SRVD_ENOTSUP when the change is of a kind this path does not
 * take (a signed zone, a zone cut or DNAME, a name gaining or losing its
 * addresses: see cow.c), or z is not copy-on-write yet and has fewer than
 * min_records records: the caller builds the version in full. SRVD_EZONE
 * when the result would fail the builder's checks (CNAME and other data,
 * the apex without its SOA or NS, malformed RDATA, a name outside). */
int zone_cow_apply(const zone_t *z, const zone_change_t *ch, size_t n, size_t min_records,
                   zone_t **out);
void zone_cow_free(zone_cow_t *c);
/* Bytes of pages this version holds apart from its image, and the image. */
size_t zone_cow_bytes(const zone_t *z);
size_t zone_cow_image_bytes(const zone_t *z);
/* Which image a version maps (NULL: none), to tell when a new one was made. */
const void *zone_cow_image(const zone_t *z);
/* A version of v's image as it was made: the records of the version the
 * image was copied from, in the image's pages (no memory of its own but
 * its page tables). The daemon keeps it in place of that version, which
 * can then be freed. */
int zone_cow_origin(const zone_t *v, zone_t **out);

/* ---- zone set ---------------------------------------------------------- */

struct srvd_zoneset {
	atomic_uint refs;
	size_t n;
	zone_t **zones;
	uint32_t *table; /* hash of lower-case origin -> index + 1 */
	uint32_t mask;
};

/* Zone holding the name: the longest matching origin, or NULL. */
const zone_t *zone_set_find_key(const srvd_zoneset_t *zs, const zone_key_t *k);
const zone_t *zone_set_find(const srvd_zoneset_t *zs, const uint8_t *lname, size_t len);
/* The zone above z in the set (for DS at a cut), or NULL. */
const zone_t *zone_set_parent(const srvd_zoneset_t *zs, const zone_t *z);

#endif
