/* Fuzz target: the UPDATE parser and its semantics (src/update). Each input
 * is an UPDATE message for example.com: upd_scan judges it as a worker
 * would (with a policy that grants one key everything and the acme
 * shortcut to another), then, if accepted, upd_req_new parses it, upd_eval
 * runs it against a small zone, and a resulting diff is applied, so the
 * whole path from bytes to a new version runs under the sanitizers. The
 * zone section is not checked here (srvd_dispatch does that), so the
 * input's own is skipped whatever it says.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "update/update.h"
#include "wire/dns.h"

static const char zone_text[] = "$ORIGIN example.com.\n"
                                "$TTL 3600\n"
                                "@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                                "@ NS ns1\n"
                                "@ NS ns2\n"
                                "ns1 A 192.0.2.1\n"
                                "ns2 A 192.0.2.2\n"
                                "matrix A 192.0.2.10\n"
                                "www CNAME matrix\n"
                                "_matrix-fed._tcp SRV 10 5 8448 matrix\n"
                                "txt TXT \"one\" \"two\"\n"
                                "sub NS ns.sub\n"
                                "ns.sub A 192.0.2.3\n";

static srvd_zoneset_t *g_zs;
static const zone_t *g_zone;
static upd_policy_t g_pol;
static uint8_t g_origin[] = "\x07"
                            "example\x03"
                            "com";
static uint8_t g_all[] = "\x03"
                         "all";

static void init(void)
{
	char path[256];
	fuzz_write_file("example.com.zone", zone_text, sizeof(zone_text) - 1, path, sizeof(path));
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	srvd_diag_t diag = {0};
	if (srvd_zoneset_load(&src, 1, &g_zs, &diag) != 0)
		abort();
	unlink(path);
	rmdir(fuzz_tmpdir());
	g_zone = srvd_zoneset_at(g_zs, 0);
	static srvd_update_grant_t g[2] = {{.acme = 1}, {.n_names = 0}};
	srvd_acl_key("acme", &g[0].who);
	srvd_acl_key("all", &g[1].who);
	if (upd_policy_init(g, 2, g_origin, &g_pol) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_zs)
		init();
	upd_verdict_t v;
	if (upd_scan(data, size, g_origin, sizeof(g_origin), &g_pol, g_all, NULL, &v) != 0 ||
	    v.rcode != DNS_RC_NOERROR)
		return 0;
	upd_req_t *r = NULL;
	if (upd_req_new(data, size, &r) != 0)
		return 0;
	upd_outcome_t out;
	if (upd_eval(g_zone, r, UPD_SERIAL_INCREMENT, 1700000000, 4096, &out) == 0 && out.diff) {
		zone_t *n = NULL;
		if (xfr_diff_apply(g_zone, out.diff, NULL, &n) == 0)
			srvd_zone_unref(n);
		xfr_diff_unref(out.diff);
	}
	upd_req_free(r);
	uint8_t buf[512];
	size_t len;
	upd_reply(data, size, out.rcode, buf, sizeof(buf), &len);
	return 0;
}
