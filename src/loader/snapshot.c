/* Zone snapshots: a compiled zone version saved beside its source in CBOR,
 * reused at start-up while the zone files are unchanged.
 *
 * Parsing a 1M-record master file with ldns takes seconds; reading back the
 * arrays of a zone version takes milliseconds. A snapshot is a CBOR array
 *   ["srvd-snapshot", 1, abi, key, files, origin, records,
 *    names, nodes, rrsets, rdata, links]
 * where the five last items are the version's arrays as byte strings in
 * host order (abi encodes the struct sizes and byte order; a snapshot from
 * another build is ignored), files are the zone's source paths and key is a
 * hash of their contents. A snapshot is used only when the hash of the
 * files as they are now equals key, and only after zone_check_layout()
 * accepts every offset in it: the file is a cache, never trusted.
 * Writing goes to a temporary file that is renamed into place.
 */
#include <cbor.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "loader/loader.h"
#include "loader/snapshot.h"
#include "wire/dns.h"
#include "wire/name.h"

enum { SNAP_VERSION = 2, SNAP_ITEMS = 12, SNAP_FILES_MAX = 64 };
static const char SNAP_MAGIC[] = "srvd-snapshot";

static uint64_t abi_word(void)
{
	const uint32_t one = 1;
	return (uint64_t)sizeof(zone_node_t) << 32 | (uint64_t)sizeof(zone_rrset_t) << 16 |
	       (uint64_t)(*(const uint8_t *)&one);
}

/* A fast 64-bit hash of a file's bytes (not cryptographic: the snapshot is
 * a cache next to files whose writer controls the zone anyway). */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A source that is no longer a regular file (now a FIFO: opening it
 * would block) or has grown past what the loader reads makes the key
 * fail, and the caller loads the sources, which reports why. */
static int hash_file(const char *path, uint64_t *h)
{
	char why[128];
	int fd;
	uint64_t size;
	if (file_open_regular(path, LOADER_BYTES_MAX, why, sizeof(why), &fd, &size))
		return SRVD_EIO;
	uint8_t buf[65536];
	ssize_t n;
	*h = hash_bytes(*h, (const uint8_t *)path, strlen(path) + 1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*h = hash_bytes(*h, buf, (size_t)n);
	close(fd);
	return n == 0 ? 0 : SRVD_EIO;
}

int snapshot_key(const char *const *files, size_t n, uint64_t *out)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		int rc = hash_file(files[i], &h);
		if (rc)
			return rc;
	}
	*out = h;
	return 0;
}

/* ---- writing ------------------------------------------------------------- */

typedef struct out {
	FILE *f;
	bool err;
} out_t;

static void put_head(out_t *o, size_t (*enc)(size_t, unsigned char *, size_t), size_t v)
{
	unsigned char b[16];
	size_t n = enc(v, b, sizeof(b));
	if (!n || fwrite(b, 1, n, o->f) != n)
		o->err = true;
}

static size_t enc_uint(size_t v, unsigned char *b, size_t n)
{
	return cbor_encode_uint(v, b, n);
}

static void put_bytes(out_t *o, const void *p, size_t n)
{
	put_head(o, cbor_encode_bytestring_start, n);
	if (n && fwrite(p, 1, n, o->f) != n)
		o->err = true;
}

static void put_text(out_t *o, const char *s)
{
	size_t n = strlen(s);
	put_head(o, cbor_encode_string_start, n);
	if (n && fwrite(s, 1, n, o->f) != n)
		o->err = true;
}

static size_t names_len(const zone_t *z)
{
	size_t end = 0; /* names are not stored in node order */
	for (uint32_t i = 0; i < z->n_nodes + z->n_n3; i++)
		if ((size_t)z->nodes[i].name + z->nodes[i].name_len > end)
			end = (size_t)z->nodes[i].name + z->nodes[i].name_len;
	return end;
}

static size_t rdata_len(const zone_t *z)
{
	size_t end = 0;
	for (uint32_t i = 0; i < z->n_rrsets; i++) {
		const zone_rrset_t *s = &z->rrsets[i];
		size_t off = s->data;
		for (uint16_t k = 0; k < s->count; k++)
			off += 2u + get_u16(z->rdata + off);
		if (off > end)
			end = off;
	}
	return end;
}

static size_t links_len(const zone_t *z)
{
	size_t end = 0;
	for (uint32_t i = 0; i < z->n_rrsets; i++) {
		const zone_rrset_t *s = &z->rrsets[i];
		if (s->links != ZONE_NONE && (size_t)s->links + s->count > end)
			end = (size_t)s->links + s->count;
	}
	return end;
}

static void write_body(out_t *o, const zone_t *z, const char *const *files, size_t n, uint64_t key)
{
	put_head(o, cbor_encode_array_start, SNAP_ITEMS);
	put_text(o, SNAP_MAGIC);
	put_head(o, enc_uint, SNAP_VERSION);
	put_head(o, enc_uint, abi_word());
	put_head(o, enc_uint, key);
	put_head(o, cbor_encode_array_start, n);
	for (size_t i = 0; i < n; i++)
		put_text(o, files[i]);
	put_bytes(o, z->origin, z->origin_len);
	put_head(o, enc_uint, z->n_records);
	put_bytes(o, z->names, names_len(z));
	put_bytes(o, z->nodes, (z->n_nodes + z->n_n3) * sizeof(zone_node_t)); /* NSEC3 last */
	put_bytes(o, z->rrsets, z->n_rrsets * sizeof(zone_rrset_t));
	put_bytes(o, z->rdata, rdata_len(z));
	put_bytes(o, z->links, links_len(z) * sizeof(uint32_t));
}

int snapshot_save(const zone_t *z, const char *const *files, size_t n, const char *path)
{
	if (!z || !files || !n || n > SNAP_FILES_MAX || !path)
		return SRVD_EINVAL;
	uint64_t key;
	int rc = snapshot_key(files, n, &key);
	if (rc)
		return rc;
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return SRVD_EINVAL;
	out_t o = {.f = fopen(tmp, "wbx")};
	if (!o.f)
		return SRVD_EIO;
	write_body(&o, z, files, n, key);
	if (fflush(o.f) != 0 || fsync(fileno(o.f)) != 0)
		o.err = true;
	if (fclose(o.f) != 0)
		o.err = true;
	if (o.err || rename(tmp, path) != 0) {
		unlink(tmp);
		return SRVD_EIO;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------- */

/* The decoder hands us one item per call; we accept exactly the shape that
 * snapshot_save() writes and note where each byte string lies. */
typedef struct in {
	unsigned item; /* items of the top array seen so far */
	bool bad;
	uint64_t uints[4]; /* version, abi, key, records */
	unsigned n_uints;
	size_t n_files, files_seen;
	char files[SNAP_FILES_MAX][4096];
	const uint8_t *bytes[6]; /* origin, names, nodes, rrsets, rdata, links */
	size_t bytes_len[6];
	unsigned n_bytes;
	bool magic_ok;
} in_t;

static void cb_uint(void *ctx, uint64_t v)
{
	in_t *in = ctx;
	if (in->n_uints < 4)
		in->uints[in->n_uints++] = v;
	else
		in->bad = true;
	in->item++;
}

static void cb_u8(void *ctx, uint8_t v)
{
	cb_uint(ctx, v);
}
static void cb_u16(void *ctx, uint16_t v)
{
	cb_uint(ctx, v);
}
static void cb_u32(void *ctx, uint32_t v)
{
	cb_uint(ctx, v);
}

static void cb_string(void *ctx, cbor_data data, uint64_t len)
{
	in_t *in = ctx;
	if (in->item == 0) {
		in->magic_ok = len == strlen(SNAP_MAGIC) && memcmp(data, SNAP_MAGIC, len) == 0;
		in->item++;
	} else if (in->files_seen < in->n_files && len < sizeof(in->files[0])) {
		memcpy(in->files[in->files_seen], data, len);
		in->files[in->files_seen++][len] = 0;
	} else {
		in->bad = true;
	}
}

static void cb_bytes(void *ctx, cbor_data data, uint64_t len)
{
	in_t *in = ctx;
	if (in->n_bytes < 6) {
		in->bytes[in->n_bytes] = data;
		in->bytes_len[in->n_bytes++] = len;
	} else {
		in->bad = true;
	}
	in->item++;
}

static void cb_array(void *ctx, uint64_t n)
{
	in_t *in = ctx;
	if (in->item == 0 && n == SNAP_ITEMS && !in->magic_ok && in->n_uints == 0 &&
	    in->n_files == 0)
		return; /* the top array */
	if (in->n_uints == 3 && n <= SNAP_FILES_MAX && in->n_files == 0) {
		in->n_files = n;
		in->item++;
		return;
	}
	in->bad = true;
}

/* Anything snapshot_save() never writes makes the file unusable. */
static void bad(void *ctx)
{
	((in_t *)ctx)->bad = true;
}
static void bad_i8(void *ctx, uint8_t v)
{
	(void)v;
	bad(ctx);
}
static void bad_i16(void *ctx, uint16_t v)
{
	(void)v;
	bad(ctx);
}
static void bad_i32(void *ctx, uint32_t v)
{
	(void)v;
	bad(ctx);
}
static void bad_i64(void *ctx, uint64_t v)
{
	(void)v;
	bad(ctx);
}
static void bad_size(void *ctx, uint64_t v)
{
	(void)v;
	bad(ctx);
}
static void bad_float(void *ctx, float v)
{
	(void)v;
	bad(ctx);
}
static void bad_double(void *ctx, double v)
{
	(void)v;
	bad(ctx);
}
static void bad_bool(void *ctx, bool v)
{
	(void)v;
	bad(ctx);
}

static void set_callbacks(struct cbor_callbacks *cb)
{
	*cb = cbor_empty_callbacks;
	cb->uint8 = cb_u8;
	cb->uint16 = cb_u16;
	cb->uint32 = cb_u32;
	cb->uint64 = cb_uint;
	cb->string = cb_string;
	cb->byte_string = cb_bytes;
	cb->array_start = cb_array;
	cb->negint8 = bad_i8;
	cb->negint16 = bad_i16;
	cb->negint32 = bad_i32;
	cb->negint64 = bad_i64;
	cb->map_start = bad_size;
	cb->indef_array_start = bad;
	cb->indef_map_start = bad;
	cb->byte_string_start = bad;
	cb->string_start = bad;
	cb->tag = bad_i64;
	cb->float2 = bad_float;
	cb->float4 = bad_float;
	cb->float8 = bad_double;
	cb->undefined = bad;
	cb->null = bad;
	cb->boolean = bad_bool;
	cb->indef_break = bad;
}

static int decode(const uint8_t *p, size_t n, in_t *in)
{
	struct cbor_callbacks cb;
	set_callbacks(&cb);
	size_t off = 0;
	while (off < n && !in->bad) {
		struct cbor_decoder_result r = cbor_stream_decode(p + off, n - off, &cb, in);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
			return SRVD_EMALFORM;
		off += r.read;
	}
	bool complete = in->magic_ok && in->n_uints == 4 && in->n_bytes == 6 &&
	                in->files_seen == in->n_files && in->n_files > 0;
	return in->bad || !complete ? SRVD_EMALFORM : 0;
}

/* The version lists its files, as one loaded from them would. */
static int keep_files(zone_t *z, const in_t *in)
{
	const char **v = arena_alloc(&z->arena, in->n_files * sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < in->n_files; i++)
		if (!(v[i] = arena_memdup(&z->arena, in->files[i], strlen(in->files[i]) + 1)))
			return SRVD_ENOMEM;
	z->files = v;
	z->n_files = in->n_files;
	return 0;
}

static int make_zone(const in_t *in, zone_t **out)
{
	const size_t node_sz = sizeof(zone_node_t), set_sz = sizeof(zone_rrset_t);
	if (in->bytes_len[2] % node_sz || in->bytes_len[3] % set_sz || in->bytes_len[5] % 4 ||
	    in->bytes_len[0] == 0 || in->bytes_len[0] > 255)
		return SRVD_EMALFORM;
	zone_t *z = calloc(1, sizeof(*z));
	if (!z)
		return SRVD_ENOMEM;
	atomic_init(&z->refs, 1);
	size_t total = 1024;
	for (int i = 0; i < 6; i++)
		total += in->bytes_len[i] + 8;
	arena_init(&z->arena, total);
	void *copy[6];
	for (int i = 0; i < 6; i++) /* an empty item may sit at the end of the map */
		copy[i] = in->bytes_len[i] ? arena_memdup(&z->arena, in->bytes[i], in->bytes_len[i])
		                           : arena_alloc(&z->arena, 8);
	int rc = SRVD_ENOMEM;
	if (copy[0] && copy[1] && copy[2] && copy[3] && copy[4] && copy[5]) {
		z->origin = copy[0];
		z->origin_len = in->bytes_len[0];
		z->names = copy[1];
		z->nodes = copy[2];
		z->n_nodes = (uint32_t)(in->bytes_len[2] / node_sz);
		while (z->n_n3 < z->n_nodes && /* the NSEC3 owners come last */
		       (z->nodes[z->n_nodes - 1 - z->n_n3].flags & NODE_NSEC3))
			z->n_n3++;
		z->n_nodes -= z->n_n3;
		z->rrsets = copy[3];
		z->n_rrsets = (uint32_t)(in->bytes_len[3] / set_sz);
		z->rdata = copy[4];
		z->links = copy[5];
		z->n_records = in->uints[3];
		rc = SRVD_EMALFORM;
		if (zone_rdata_valid(DNS_T_NS, z->origin, z->origin_len) &&
		    zone_check_layout(z, in->bytes_len[1], in->bytes_len[4],
		                      in->bytes_len[5] / 4) == 0) {
			wire_name_lower(z->origin_lower, z->origin, z->origin_len);
			z->origin_labels = wire_name_labels(z->origin);
			rc = zone_index(z);
		}
		if (rc == 0)
			rc = keep_files(z, in);
	}
	if (rc) {
		srvd_zone_unref(z);
		return rc;
	}
	*out = z;
	return 0;
}

static int check_meta(const in_t *in, const uint8_t *origin, size_t origin_len)
{
	if (in->uints[0] != SNAP_VERSION || in->uints[1] != abi_word())
		return SRVD_ENOENT; /* another format: not ours to read */
	if (in->bytes_len[0] != origin_len || !wire_name_eq(in->bytes[0], origin))
		return SRVD_ENOENT;
	const char *files[SNAP_FILES_MAX];
	for (size_t i = 0; i < in->n_files; i++)
		files[i] = in->files[i];
	uint64_t key;
	if (snapshot_key(files, in->n_files, &key) || key != in->uints[2])
		return SRVD_ENOENT; /* the sources changed */
	return 0;
}

int snapshot_load(const char *path, const uint8_t *origin, zone_t **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return SRVD_ENOENT;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return SRVD_ENOENT;
	}
	size_t n = (size_t)st.st_size;
	void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return SRVD_EIO;
	in_t *in = calloc(1, sizeof(*in));
	int rc = in ? decode(map, n, in) : SRVD_ENOMEM;
	if (rc == 0)
		rc = check_meta(in, origin, wire_name_len(origin));
	if (rc == 0)
		rc = make_zone(in, out);
	free(in);
	munmap(map, n);
	return rc;
}
