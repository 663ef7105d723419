/* Zone versions and zone sets: lookup, reference counting, public API. */
#include <stdlib.h>
#include <string.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

/* The last k (1-7) bytes of a label as a word, zero-padded like a short
 * memcpy into a zeroed word. The name holds `before` bytes ahead of p and
 * `avail` from p on: where eight bytes fit either way, one load and a
 * shift do it without a library call, which is all but the shortest
 * names. */
static uint64_t label_tail(const uint8_t *p, size_t k, size_t before, size_t avail)
{
	uint64_t w = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (avail >= 8) {
		memcpy(&w, p, 8);
		return w & (~0ull >> (64 - 8 * k));
	}
	if (before + k >= 8) {
		memcpy(&w, p + k - 8, 8);
		return w >> (64 - 8 * k);
	}
#else
	(void)before;
	(void)avail;
#endif
	memcpy(&w, p, k);
	return w;
}

/* One label (length byte included), eight bytes at a time, continuing
 * from the parent's hash: multiply-xorshift mixing, enough for a table
 * index and cheap on the query path. The name has `before` bytes ahead
 * of the label and `avail` from its start on. */
static uint32_t label_hash(uint32_t h32, const uint8_t *label, size_t before, size_t avail)
{
	uint64_t h = h32 ^ 0x9E3779B97F4A7C15ull;
	size_t n = (size_t)label[0] + 1, i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, label + i, 8);
		h = (h ^ w) * 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
	}
	if (i < n) {
		uint64_t w = label_tail(label + i, n - i, before + i, avail - i);
		h = (h ^ w) * 0xFF51AFD7ED558CCDull;
	}
	/* Finish with a full avalanche (MurmurHash3's fmix64): every input
	 * bit must reach the low 32 bits that index the table. */
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

void zone_key_init(zone_key_t *k, const uint8_t *lname, size_t len)
{
	unsigned n = 0;
	for (size_t o = 0; lname[o] && n < 127; o += lname[o] + 1u)
		k->off[n++] = (uint8_t)o;
	k->lname = lname;
	k->len = len;
	k->labels = n;
	k->off[n] = (uint8_t)(len - 1);
	uint32_t h = 2166136261u;
	k->hash[n] = h;
	for (unsigned i = n; i-- > 0;)
		k->hash[i] = h = label_hash(h, lname + k->off[i], k->off[i], len - k->off[i]);
}

uint32_t zone_hash(const uint8_t *lname, size_t len)
{
	zone_key_t k;
	zone_key_init(&k, lname, len);
	return k.hash[0];
}

uint32_t zone_find_h(const zone_t *z, const uint8_t *lname, size_t len, uint32_t h)
{
	for (uint32_t i = h & z->table_mask;; i = (i + 1) & z->table_mask) {
		uint32_t v = z->table[i];
		if (!v)
			return ZONE_NONE;
		const zone_node_t *n = &z->nodes[v - 1];
		if (n->hash != h || n->name_len != len)
			continue;
		/* Zone files are mostly lower case: try the plain compare first. */
		const uint8_t *s = z->names + n->name;
		if (mem_eq(s, lname, len))
			return v - 1;
		size_t j = 0;
		while (j < len && wire_lower(s[j]) == lname[j])
			j++;
		if (j == len)
			return v - 1;
	}
}

uint32_t zone_find(const zone_t *z, const uint8_t *lname, size_t len)
{
	return zone_find_h(z, lname, len, zone_hash(lname, len));
}

void zone_lookup(const zone_t *z, const zone_key_t *k, zone_lookup_t *out)
{
	uint32_t idx = ZONE_NONE;
	unsigned i = 0;
	/* Strip labels until a node matches: that is the closest encloser.
	 * Empty non-terminals are nodes, so the walk ends at the right place
	 * and at the apex at the latest. */
	for (; i <= k->labels && k->len - k->off[i] >= z->origin_len; i++) {
		idx = zone_find_h(z, k->lname + k->off[i], k->len - k->off[i], k->hash[i]);
		if (idx != ZONE_NONE)
			break;
	}
	bool exact = i == 0 && idx != ZONE_NONE;
	if (idx == ZONE_NONE)
		idx = 0;
	const zone_node_t *n = &z->nodes[idx];
	uint32_t stop = n->stop;
	/* A DNAME redirects the names below its owner, not the owner itself. */
	if (exact && stop == idx && !(n->flags & NODE_DELEG))
		stop = ZONE_NONE;
	out->node = idx;
	out->exact = exact;
	out->stop = stop;
	out->wild = (!exact && stop == ZONE_NONE) ? n->wild : ZONE_NONE;
}

const zone_rrset_t *zone_node_rrset(const zone_t *z, const zone_node_t *n, uint16_t type)
{
	const zone_rrset_t *s = z->rrsets + n->rrset;
	for (uint16_t i = 0; i < n->n_rrset; i++)
		if (s[i].type == type)
			return &s[i];
	return NULL;
}

/* ---- public zone API ------------------------------------------------------ */

void srvd_zone_ref(srvd_zone_t *z)
{
	if (z)
		atomic_fetch_add(&z->refs, 1);
}

void srvd_zone_unref(srvd_zone_t *z)
{
	if (!z || atomic_fetch_sub(&z->refs, 1) != 1)
		return;
	zone_cow_free(z->cow);
	free(z->acl);
	free(z->ctr);
	arena_deinit(&z->arena);
	free(z);
}

int srvd_zone_info(const srvd_zone_t *z, srvd_zone_info_t *out)
{
	if (!z || !out)
		return SRVD_EINVAL;
	srvd_zone_info_t i;
	memset(&i, 0, sizeof(i));
	wire_name_to_str(z->origin, i.origin, sizeof(i.origin));
	i.serial = z->serial;
	i.records = z->n_records;
	i.names = z->n_nodes;
	i.memory = z->arena.total + sizeof(*z) + zone_cow_bytes(z) + zone_cow_image_bytes(z);
	*out = i;
	return 0;
}

int srvd_zone_new_expired(const char *origin, srvd_zone_t **out)
{
	uint8_t wire[255];
	size_t len = 0;
	if (!origin || !out || wire_name_from_str(origin, wire, &len))
		return SRVD_EINVAL;
	zone_t *z = calloc(1, sizeof(*z));
	if (!z)
		return SRVD_ENOMEM;
	atomic_init(&z->refs, 1);
	arena_init(&z->arena, 512);
	z->origin = arena_memdup(&z->arena, wire, len);
	if (!z->origin) {
		arena_deinit(&z->arena);
		free(z);
		return SRVD_ENOMEM;
	}
	wire_name_lower(z->origin_lower, wire, len);
	z->origin_len = len;
	for (size_t i = 0; wire[i]; i += wire[i] + 1u)
		z->origin_labels++;
	z->soa_rrset = z->ns_rrset = ZONE_NONE;
	z->expired = true;
	*out = z;
	return 0;
}

int srvd_zone_is_expired(const srvd_zone_t *z)
{
	return z && z->expired;
}

size_t srvd_zone_file_count(const srvd_zone_t *z)
{
	return z ? z->n_files : 0;
}

const char *srvd_zone_file(const srvd_zone_t *z, size_t i)
{
	return z && i < z->n_files ? z->files[i] : NULL;
}

/* ---- zone sets ----------------------------------------------------------- */

static int origin_cmp(const void *a, const void *b)
{
	const zone_t *x = *(zone_t *const *)a, *y = *(zone_t *const *)b;
	return wire_name_cmp(x->origin, y->origin);
}

int srvd_zoneset_new(srvd_zone_t *const *zones, size_t n, srvd_zoneset_t **out)
{
	if ((!zones && n) || !out)
		return SRVD_EINVAL;
	srvd_zoneset_t *zs = calloc(1, sizeof(*zs));
	uint32_t size = 8;
	while (size < n * 2)
		size *= 2;
	if (zs) {
		zs->zones = calloc(n + 1, sizeof(*zs->zones));
		zs->table = calloc(size, sizeof(*zs->table));
	}
	if (!zs || !zs->zones || !zs->table) {
		if (zs) {
			free(zs->zones);
			free(zs->table);
		}
		free(zs);
		return SRVD_ENOMEM;
	}
	if (n) {
		memcpy(zs->zones, zones, n * sizeof(*zones));
		qsort(zs->zones, n, sizeof(*zs->zones), origin_cmp);
	}
	for (size_t i = 1; i < n; i++) {
		if (wire_name_eq(zs->zones[i]->origin, zs->zones[i - 1]->origin)) {
			free(zs->zones);
			free(zs->table);
			free(zs);
			return SRVD_EEXIST;
		}
	}
	atomic_init(&zs->refs, 1);
	zs->n = n;
	zs->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		srvd_zone_ref(zs->zones[i]);
		const zone_t *z = zs->zones[i];
		uint32_t h = zone_hash(z->origin_lower, z->origin_len) & zs->mask;
		while (zs->table[h])
			h = (h + 1) & zs->mask;
		zs->table[h] = (uint32_t)i + 1;
	}
	*out = zs;
	return 0;
}

void srvd_zoneset_ref(srvd_zoneset_t *zs)
{
	if (zs)
		atomic_fetch_add(&zs->refs, 1);
}

void srvd_zoneset_unref(srvd_zoneset_t *zs)
{
	if (!zs || atomic_fetch_sub(&zs->refs, 1) != 1)
		return;
	for (size_t i = 0; i < zs->n; i++)
		srvd_zone_unref(zs->zones[i]);
	free(zs->zones);
	free(zs->table);
	free(zs);
}

size_t srvd_zoneset_count(const srvd_zoneset_t *zs)
{
	return zs ? zs->n : 0;
}

srvd_zone_t *srvd_zoneset_at(const srvd_zoneset_t *zs, size_t i)
{
	return zs && i < zs->n ? zs->zones[i] : NULL;
}

static const zone_t *set_exact(const srvd_zoneset_t *zs, const uint8_t *lname, size_t len,
                               uint32_t h)
{
	for (uint32_t i = h & zs->mask;; i = (i + 1) & zs->mask) {
		uint32_t v = zs->table[i];
		if (!v)
			return NULL;
		const zone_t *z = zs->zones[v - 1];
		if (z->origin_len == len && mem_eq(z->origin_lower, lname, len))
			return z;
	}
}

const zone_t *zone_set_find_key(const srvd_zoneset_t *zs, const zone_key_t *k)
{
	if (zs->n == 0)
		return NULL;
	for (unsigned i = 0; i <= k->labels; i++) {
		const zone_t *z =
		    set_exact(zs, k->lname + k->off[i], k->len - k->off[i], k->hash[i]);
		if (z)
			return z;
	}
	return NULL;
}

const zone_t *zone_set_find(const srvd_zoneset_t *zs, const uint8_t *lname, size_t len)
{
	zone_key_t k;
	zone_key_init(&k, lname, len);
	return zone_set_find_key(zs, &k);
}

const zone_t *zone_set_parent(const srvd_zoneset_t *zs, const zone_t *z)
{
	if (z->origin_len <= 1)
		return NULL;
	const uint8_t *up = z->origin_lower + z->origin_lower[0] + 1;
	return zone_set_find(zs, up, z->origin_len - z->origin_lower[0] - 1u);
}
