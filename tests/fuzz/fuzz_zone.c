/* libFuzzer target: the zone-file loader and builder (srvd_zone_load).
 *
 * The input is a master file for origin example.com. It is written to a
 * private temporary directory and loaded; when it loads, a handful of
 * queries are answered from it (apex SOA/NS/ANY, a name below the apex, a
 * wildcard-shaped name, a DNAME-shaped name) and the zone is transferred
 * with the AXFR cursor, all through the structural checks of fuzz_util.h.
 *
 * $INCLUDE is fuzzed too, but only within the private directory: an input
 * that names $INCLUDE and contains a '/' is skipped, so it cannot read
 * /dev/stdin or other files of the machine. The directory holds the zone
 * itself and one fixed file, inc.zone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"
#include "srvd/srvd.h"

static srvd_responder_t *g_r;
static char g_path[256];
static char g_inc[256];

static void cleanup(void)
{
	srvd_responder_free(g_r);
	unlink(g_path);
	unlink(g_inc);
	rmdir(fuzz_tmpdir());
}

static void init(void)
{
	static const char inc[] = "incl IN A 192.0.2.99\n$TTL 60\nincl2 IN TXT \"from inc\"\n";
	fuzz_write_file("inc.zone", inc, sizeof(inc) - 1, g_inc, sizeof(g_inc));
	if (srvd_responder_new(NULL, &g_r) != 0)
		abort();
	atexit(cleanup);
}

static bool mentions_include_path(const uint8_t *data, size_t size)
{
	bool inc = false, slash = false;
	for (size_t i = 0; i < size; i++) {
		slash |= data[i] == '/';
		if (data[i] == '$' && size - i >= 8 &&
		    strncasecmp((const char *)data + i, "$INCLUDE", 8) == 0)
			inc = true;
	}
	return inc && slash;
}

static void ask(const srvd_zoneset_t *zs, const char *name, uint16_t qtype, srvd_transport_t t)
{
	static uint8_t resp[65535];
	uint8_t q[300];
	size_t qn =
	    fuzz_make_query(q, sizeof(q), 0x1234, 0, name, qtype, 1, t == SRVD_UDP ? 1232 : 0);
	FUZZ_CHECK(qn > 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	srvd_query_t sq = {.wire = q, .len = qn, .transport = t, .src_addr = &sa};
	size_t len = 0;
	int rc = srvd_respond(g_r, zs, &sq, resp, sizeof(resp), &len);
	if (qtype == 252) {
		FUZZ_CHECK(rc == SRVD_XFR);
		srvd_xfr_t *x = NULL;
		FUZZ_CHECK(srvd_xfr_new(zs, &sq, &x) == 0);
		int more = 1;
		unsigned msgs = 0;
		while (more) {
			fuzz_msg_info_t info;
			FUZZ_CHECK(srvd_xfr_next(x, resp, sizeof(resp), &len, &more) == 0);
			FUZZ_CHECK(fuzz_walk(resp, len, &info));
			FUZZ_CHECK(++msgs < 10000);
		}
		srvd_xfr_free(x);
		return;
	}
	FUZZ_CHECK(rc == SRVD_OK);
	fuzz_check_response(q, qn, resp, len, sizeof(resp), t, false);
	/* Every query here is for a name in the zone: never REFUSED/SERVFAIL. */
	FUZZ_CHECK((resp[3] & 0xF) != 5 && (resp[3] & 0xF) != 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_r)
		init();
	if (size > 64 * 1024 || mentions_include_path(data, size))
		return 0;
	fuzz_write_file("zone", data, size, g_path, sizeof(g_path));
	static const srvd_prefix_t acl = {.family = 4, .bits = 8, .addr = {127}};
	srvd_zone_src_t src = {
	    .origin = "example.com", .path = g_path, .allow_transfer = &acl, .n_allow_transfer = 1};
	srvd_diag_t diag = {0};
	srvd_zone_t *z = NULL;
	int rc = srvd_zone_load(&src, &z, &diag);
	if (rc != 0) {
		FUZZ_CHECK(rc == SRVD_EZONE || rc == SRVD_EPARSE || rc == SRVD_EIO);
		FUZZ_CHECK(diag.errors > 0); /* a refused zone always says why */
		return 0;
	}
	FUZZ_CHECK(diag.errors == 0);
	srvd_zone_info_t info;
	FUZZ_CHECK(srvd_zone_info(z, &info) == 0);
	FUZZ_CHECK(strcmp(info.origin, "example.com.") == 0);
	srvd_zoneset_t *zs = NULL;
	FUZZ_CHECK(srvd_zoneset_new(&z, 1, &zs) == 0);
	srvd_zone_unref(z);
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {
	    {"example.com", 6},       {"example.com", 2},          {"example.com", 255},
	    {"www.example.com", 1},   {"x.y.example.com", 16},     {"_tcp.example.com", 33},
	    {"a.b.c.example.com", 5}, {"incl.inc.example.com", 1}, {"example.com", 252},
	};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		ask(zs, qs[i].name, qs[i].type, SRVD_TCP);
		if (qs[i].type != 252) /* AXFR goes over TCP only */
			ask(zs, qs[i].name, qs[i].type, SRVD_UDP);
	}
	srvd_zoneset_unref(zs);
	return 0;
}
