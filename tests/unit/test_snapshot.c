/* Zone snapshots (src/loader/snapshot.c): a snapshot answers exactly like
 * the zone it was made from, is ignored once a source file changes, and a
 * damaged snapshot file is refused without harm (it is a cache on disk,
 * never trusted).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_helpers.h"

#include "loader/snapshot.h"

static char dir[64];
static char zpath[128], ipath[128], spath[128];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char ZONE[] = "$ORIGIN example.com.\n$TTL 300\n"
                           "@ SOA ns1 hostmaster 7 3600 900 604800 60\n"
                           "@ NS ns1\n"
                           "ns1 A 192.0.2.53\n"
                           "_matrix-fed._tcp SRV 10 0 8448 matrix\n"
                           "www CNAME matrix\n"
                           "*.wild TXT \"w\"\n"
                           "sub NS ns.sub\n"
                           "ns.sub A 192.0.2.9\n"
                           "$INCLUDE inc.zone\n";
static const char INC[] = "matrix A 192.0.2.10\nmatrix AAAA 2001:db8::10\n";

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/srvd-test-snap-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(zpath, sizeof(zpath), "%s/example.com.zone", dir);
	snprintf(ipath, sizeof(ipath), "%s/inc.zone", dir);
	snprintf(spath, sizeof(spath), "%s/example.com.snap", dir);
	write_file(zpath, ZONE);
	write_file(ipath, INC);
	return 0;
}

static int teardown(void **state)
{
	unlink(zpath);
	unlink(ipath);
	unlink(spath);
	rmdir(dir);
	return 0;
}

static srvd_zone_t *load(bool with_snapshot)
{
	srvd_zone_src_t src = {.origin = "example.com", .path = zpath};
	if (with_snapshot)
		src.snapshot = spath;
	srvd_zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, NULL), 0);
	return z;
}

/* The wire answer of one query, for comparing two zone versions. */
static size_t answer(srvd_zone_t *z, const char *name, uint16_t type, uint8_t *out)
{
	uint8_t q[300] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t n = th_name(name, q + 12);
	put_u16(q + 12 + n, type);
	put_u16(q + 14 + n, DNS_C_IN);
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&z, 1, &zs), 0);
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), 0);
	srvd_query_t query = {.wire = q, .len = 16 + n, .transport = SRVD_UDP};
	size_t len = 0;
	assert_int_equal(srvd_respond(r, zs, &query, out, 1232, &len), 0);
	srvd_responder_free(r);
	srvd_zoneset_unref(zs);
	return len;
}

static void same_answers(srvd_zone_t *a, srvd_zone_t *b)
{
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {{"example.com", DNS_T_SOA},
	          {"example.com", DNS_T_NS},
	          {"_matrix-fed._tcp.example.com", DNS_T_SRV},
	          {"_tcp.example.com", DNS_T_SRV},
	          {"www.example.com", DNS_T_A},
	          {"x.wild.example.com", DNS_T_TXT},
	          {"host.sub.example.com", DNS_T_A},
	          {"nosuch.example.com", DNS_T_A}};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint8_t x[1232], y[1232];
		size_t nx = answer(a, qs[i].name, qs[i].type, x);
		size_t ny = answer(b, qs[i].name, qs[i].type, y);
		assert_int_equal(nx, ny);
		assert_memory_equal(x, y, nx);
	}
}

static void snapshot_answers_like_the_zone(void **state)
{
	srvd_zone_t *parsed = load(true); /* parses, then writes the snapshot */
	struct stat st;
	assert_int_equal(stat(spath, &st), 0);
	srvd_zone_t *snap = NULL;
	uint8_t origin[255];
	th_name("example.com", origin);
	assert_int_equal(snapshot_load(spath, origin, &snap), 0);
	same_answers(parsed, snap);
	/* It lists the same files, so reloads watch the same things. */
	assert_int_equal(srvd_zone_file_count(snap), 2);
	assert_string_equal(srvd_zone_file(snap, 0), zpath);
	assert_string_equal(srvd_zone_file(snap, 1), ipath);
	srvd_zone_info_t a, b;
	srvd_zone_info(parsed, &a);
	srvd_zone_info(snap, &b);
	assert_int_equal(a.serial, b.serial);
	assert_int_equal(a.records, b.records);
	srvd_zone_unref(snap);
	srvd_zone_unref(parsed);
}

/* A signed zone: the signature groups, the NSEC3 chain after the indexed
 * nodes and the hashes computed again on load give the same DO answers. */
static size_t answer_do(srvd_zone_t *z, const char *name, uint16_t type, uint8_t *out)
{
	uint8_t q[300] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
	size_t n = th_name(name, q + 12);
	put_u16(q + 12 + n, type);
	put_u16(q + 14 + n, DNS_C_IN);
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0};
	memcpy(q + 16 + n, opt, sizeof(opt));
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&z, 1, &zs), 0);
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), 0);
	srvd_query_t query = {.wire = q, .len = 16 + n + sizeof(opt), .transport = SRVD_TCP};
	size_t len = 0;
	assert_int_equal(srvd_respond(r, zs, &query, out, 4096, &len), 0);
	srvd_responder_free(r);
	srvd_zoneset_unref(zs);
	return len;
}

static void signed_snapshot_answers_like_the_zone(void **state)
{
	char snap_path[160];
	snprintf(snap_path, sizeof(snap_path), "%s/nsec3o.snap", dir);
	srvd_zone_src_t src = {.origin = "nsec3o.test",
	                       .path =
	                           SRVD_SOURCE_DIR "/tests/golden/zones/dnssec/nsec3o.test.signed",
	                       .snapshot = snap_path};
	srvd_zone_t *parsed = NULL, *snap = NULL;
	assert_int_equal(srvd_zone_load(&src, &parsed, NULL), 0);
	uint8_t origin[255];
	th_name("nsec3o.test", origin);
	assert_int_equal(snapshot_load(snap_path, origin, &snap), 0);
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {{"_matrix-fed._tcp.nsec3o.test", DNS_T_SRV},
	          {"nosuch.nsec3o.test", DNS_T_A},
	          {"_tcp.nsec3o.test", DNS_T_SRV},
	          {"foo.wild.nsec3o.test", DNS_T_MX},
	          {"www.insecure.nsec3o.test", DNS_T_A},
	          {"matrix.nsec3o.test", DNS_T_RRSIG},
	          {"0madr2c2o78cqsoquiejtbeh6gfgb0ff.nsec3o.test", DNS_T_NSEC3}};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint8_t x[4096], y[4096];
		size_t nx = answer_do(parsed, qs[i].name, qs[i].type, x);
		size_t ny = answer_do(snap, qs[i].name, qs[i].type, y);
		assert_true(nx > 100);
		assert_int_equal(nx, ny);
		assert_memory_equal(x, y, nx);
	}
	srvd_zone_info_t a, b;
	srvd_zone_info(parsed, &a);
	srvd_zone_info(snap, &b);
	assert_int_equal(a.records, b.records);
	srvd_zone_unref(snap);
	srvd_zone_unref(parsed);
	unlink(snap_path);
}

static void changed_include_makes_it_stale(void **state)
{
	srvd_zone_unref(load(true));
	uint8_t origin[255];
	th_name("example.com", origin);
	srvd_zone_t *z = NULL;
	write_file(ipath, "matrix A 192.0.2.11\n");
	assert_int_equal(snapshot_load(spath, origin, &z), SRVD_ENOENT);
	/* Through the public API the change is served, and the snapshot renewed. */
	srvd_zone_t *fresh = load(true);
	assert_int_equal(snapshot_load(spath, origin, &z), 0);
	same_answers(fresh, z);
	srvd_zone_unref(z);
	srvd_zone_unref(fresh);
	write_file(ipath, INC);
}

static void other_origin_is_not_used(void **state)
{
	srvd_zone_unref(load(true));
	uint8_t origin[255];
	th_name("example.net", origin);
	srvd_zone_t *z = NULL;
	assert_int_equal(snapshot_load(spath, origin, &z), SRVD_ENOENT);
	assert_null(z);
}

static size_t read_all(const char *path, uint8_t **out)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size_t n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	*out = malloc(n);
	assert_int_equal(fread(*out, 1, n, f), n);
	fclose(f);
	return n;
}

static void write_bytes(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Truncations and single-byte changes anywhere: refused or, if the change
 * hit bytes that do not matter, a valid zone; never a crash (run under
 * ASan in the asan-ubsan preset). */
static void damaged_snapshots_are_refused(void **state)
{
	srvd_zone_unref(load(true));
	uint8_t *good;
	size_t n = read_all(spath, &good);
	uint8_t origin[255];
	th_name("example.com", origin);
	uint8_t *bad = malloc(n);
	unsigned refused = 0;
	for (size_t cut = 0; cut < n; cut += 7) {
		write_bytes(spath, good, cut);
		srvd_zone_t *z = NULL;
		assert_int_not_equal(snapshot_load(spath, origin, &z), 0);
		refused++;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, good, n);
		bad[i] ^= (uint8_t)(0x5A + i);
		write_bytes(spath, bad, n);
		srvd_zone_t *z = NULL;
		if (snapshot_load(spath, origin, &z) == 0) {
			uint8_t out[1232];
			answer(z, "_matrix-fed._tcp.example.com", DNS_T_SRV, out);
			answer(z, "nosuch.example.com", DNS_T_A, out);
			srvd_zone_unref(z);
		} else {
			refused++;
		}
	}
	assert_true(refused > n / 2);
	free(bad);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(snapshot_answers_like_the_zone),
	    cmocka_unit_test(signed_snapshot_answers_like_the_zone),
	    cmocka_unit_test(changed_include_makes_it_stale),
	    cmocka_unit_test(other_origin_is_not_used),
	    cmocka_unit_test(damaged_snapshots_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
