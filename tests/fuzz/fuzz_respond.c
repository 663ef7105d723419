/* libFuzzer target: srvd_respond and srvd_dispatch over an embedded zone
 * set.
 *
 * The input is one DNS message. It is answered as if it came over UDP (with
 * a full-size and a minimum-size output buffer) and over TCP, from a client
 * address that the transfer ACL allows, so AXFR and IXFR reach the transfer
 * cursor, which is then drained with srvd_xfr_*. The same message then goes
 * through the front door, srvd_dispatch, with a keyring (so TSIG records are
 * parsed and verified) and a secondary-zone rule (so NOTIFY is judged).
 * Every response goes through the structural checks of fuzz_util.h.
 *
 * The zones are written to a temporary directory and loaded once per
 * process; they cover every branch of the answer algorithm: wildcards,
 * CNAME chains and loops, DNAME, delegations with and without glue, a child
 * zone (DS at the parent), empty non-terminals and a large RRset.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "srvd/srvd.h"

static const char zone_example[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 2024060101 7200 3600 1209600 300\n"
    "  IN NS ns1\n"
    "  IN NS ns2.example.net.\n"
    "  IN A 192.0.2.1\n"
    "  IN AAAA 2001:db8::1\n"
    "  IN MX 10 mail\n"
    "  IN TXT \"v=spf1 mx -all\"\n"
    "ns1 IN A 192.0.2.53\n"
    "    IN AAAA 2001:db8::53\n"
    "mail 300 IN A 192.0.2.25\n"
    "www IN CNAME @\n"
    "matrix IN A 192.0.2.10\n"
    "       IN AAAA 2001:db8::10\n"
    "_matrix-fed._tcp IN SRV 10 0 8448 matrix\n"
    "_matrix._tcp IN SRV 10 0 8448 matrix.example.com.\n"
    "_imap._tcp IN SRV 0 0 0 .\n"
    "c.b.ent IN A 192.0.2.30\n"
    "* IN TXT \"wildcard\"\n"
    "*.w IN CNAME matrix\n"
    "a IN CNAME b\n"
    "b IN CNAME c\n"
    "c IN A 192.0.2.3\n"
    "loop1 IN CNAME loop2\n"
    "loop2 IN CNAME loop1\n"
    "self IN CNAME self\n"
    "tosub IN CNAME www.sub\n"
    "toother IN CNAME host.other.test.\n"
    "old IN DNAME new.example.com.\n"
    "a.new IN A 192.0.2.40\n"
    "out IN DNAME example.net.\n"
    "deleg IN NS ns.deleg\n"
    "      IN NS ns1\n"
    "      IN DS 12345 13 2 "
    "8e4cd4d8d3f8c8bbc3e1c0b6b7b8d5e6f4c1a9b2c3d4e5f60718293a4b5c6d7e\n"
    "ns.deleg IN A 192.0.2.60\n"
    "ext IN NS ns.example.org.\n"
    "sub IN NS ns1\n"
    "    IN DS 54321 13 2 "
    "1e4cd4d8d3f8c8bbc3e1c0b6b7b8d5e6f4c1a9b2c3d4e5f60718293a4b5c6d7e\n"
    "big IN A 192.0.2.100\n    IN A 192.0.2.101\n    IN A 192.0.2.102\n"
    "    IN A 192.0.2.103\n    IN A 192.0.2.104\n    IN A 192.0.2.105\n"
    "    IN A 192.0.2.106\n    IN A 192.0.2.107\n    IN A 192.0.2.108\n"
    "    IN A 192.0.2.109\n    IN A 192.0.2.110\n    IN A 192.0.2.111\n"
    "    IN A 192.0.2.112\n    IN A 192.0.2.113\n    IN A 192.0.2.114\n"
    "    IN A 192.0.2.115\n    IN A 192.0.2.116\n    IN A 192.0.2.117\n"
    "    IN A 192.0.2.118\n    IN A 192.0.2.119\n    IN A 192.0.2.120\n"
    "    IN A 192.0.2.121\n    IN A 192.0.2.122\n    IN A 192.0.2.123\n"
    "    IN A 192.0.2.124\n    IN A 192.0.2.125\n    IN A 192.0.2.126\n"
    "    IN A 192.0.2.127\n    IN A 192.0.2.128\n    IN A 192.0.2.129\n"
    "    IN A 192.0.2.130\n    IN A 192.0.2.131\n    IN A 192.0.2.132\n"
    "    IN A 192.0.2.133\n    IN A 192.0.2.134\n    IN A 192.0.2.135\n";

static const char zone_sub[] = "$ORIGIN sub.example.com.\n"
                               "$TTL 600\n"
                               "@ IN SOA ns1.example.com. hostmaster 7 3600 900 604800 60\n"
                               "  IN NS ns1.example.com.\n"
                               "www IN A 192.0.2.70\n"
                               "* IN MX 10 www\n";

static const char zone_other[] = "$ORIGIN other.test.\n"
                                 "$TTL 300\n"
                                 "@ IN SOA ns hostmaster 1 3600 900 604800 60\n"
                                 "  IN NS ns\n"
                                 "ns IN A 192.0.2.80\n"
                                 "host IN A 192.0.2.81\n"
                                 "back IN CNAME www.example.com.\n";

static srvd_zoneset_t *g_zs;
static srvd_responder_t *g_r;
static srvd_server_t *g_srv;
static struct sockaddr_in g_client;

static void cleanup(void)
{
	srvd_responder_free(g_r);
	srvd_server_unref(g_srv);
	srvd_zoneset_unref(g_zs);
}

static void init(void)
{
	static const srvd_prefix_t acl = {.family = 4, .bits = 8, .addr = {127}};
	char p1[256], p2[256], p3[256];
	fuzz_write_file("example.com.zone", zone_example, sizeof(zone_example) - 1, p1, sizeof(p1));
	fuzz_write_file("sub.example.com.zone", zone_sub, sizeof(zone_sub) - 1, p2, sizeof(p2));
	fuzz_write_file("other.test.zone", zone_other, sizeof(zone_other) - 1, p3, sizeof(p3));
	srvd_zone_src_t src[3] = {
	    {.origin = "example.com", .path = p1, .allow_transfer = &acl, .n_allow_transfer = 1},
	    {.origin = "sub.example.com.", .path = p2},
	    {.origin = "other.test", .path = p3, .allow_transfer = &acl, .n_allow_transfer = 1},
	};
	srvd_diag_t diag = {0};
	int rc = srvd_zoneset_load(src, 3, &g_zs, &diag);
	if (rc != 0) {
		fprintf(stderr, "fuzz_respond: embedded zones do not load: %s\n",
		        srvd_strerror(rc));
		abort();
	}
	unlink(p1);
	unlink(p2);
	unlink(p3);
	rmdir(fuzz_tmpdir());
	static const srvd_key_src_t key = {"fuzz-key", "hmac-sha256",
	                                   "ZnV6ei1rZXktc2VjcmV0LWZ1enota2V5LXNlY3JldA=="};
	static const srvd_prefix_t from = {.family = 4, .bits = 8, .addr = {127}};
	const srvd_zone_rule_t rule = {
	    .origin = "other.test", .secondary = 1, .notify_from = &from, .n_notify_from = 1};
	srvd_keyring_t *k = NULL;
	if (srvd_keyring_new(&key, 1, &k) != 0 || srvd_server_new(g_zs, k, &rule, 1, &g_srv) != 0)
		abort();
	srvd_keyring_unref(k);
	srvd_responder_opts_t o = {.nsid = "fuzz-ns", .identity = "fuzz", .version = "0"};
	if (srvd_responder_new(&o, &g_r) != 0)
		abort();
	g_client.sin_family = AF_INET;
	g_client.sin_addr.s_addr = htonl(0x7f000001);
	atexit(cleanup);
}

/* Stream a transfer the responder accepted: SOA first, SOA last. */
static void drain_xfr(const srvd_query_t *q, bool door)
{
	srvd_xfr_t *x = NULL;
	int rc = door ? srvd_xfr_begin(g_r, g_srv, q, &x) : srvd_xfr_new(g_zs, q, &x);
	FUZZ_CHECK(rc == 0);
	static uint8_t buf[65535];
	int more = 1;
	unsigned msgs = 0;
	fuzz_msg_info_t info;
	uint16_t first = 0, last = 0;
	while (more) {
		size_t len = 0;
		FUZZ_CHECK(srvd_xfr_next(x, buf, sizeof(buf), &len, &more) == 0);
		FUZZ_CHECK(fuzz_walk(buf, len, &info));
		FUZZ_CHECK(memcmp(buf, q->wire, 2) == 0);
		FUZZ_CHECK(info.counts[1] > 0 || !more);
		if (msgs == 0)
			first = info.first_type;
		if (info.counts[1])
			last = info.last_type;
		FUZZ_CHECK(++msgs < 1000);
	}
	FUZZ_CHECK(first == 6 && last == 6); /* RFC 5936 2.2 */
	srvd_xfr_free(x);
}

static void run(const uint8_t *data, size_t size, srvd_transport_t t, size_t cap)
{
	static uint8_t resp[65536];
	srvd_query_t q = {.wire = data, .len = size, .transport = t, .src_addr = &g_client};
	size_t len = 0;
	int rc = srvd_respond(g_r, g_zs, &q, resp, cap, &len);
	FUZZ_CHECK(rc == SRVD_OK || rc == SRVD_DROP || rc == SRVD_XFR);
	if (rc == SRVD_OK)
		fuzz_check_response(data, size, resp, len, cap, t, true);
	else if (rc == SRVD_XFR) {
		FUZZ_CHECK(t == SRVD_TCP);
		drain_xfr(&q, false);
	}
}

static void run_door(const uint8_t *data, size_t size, srvd_transport_t t, size_t cap)
{
	static uint8_t resp[65536];
	srvd_query_t q = {.wire = data, .len = size, .transport = t, .src_addr = &g_client};
	srvd_result_t res;
	int rc = srvd_dispatch(g_r, g_srv, &q, resp, cap, &res);
	FUZZ_CHECK(rc == SRVD_OK || rc == SRVD_DROP || rc == SRVD_XFR);
	if (rc == SRVD_OK) {
		fuzz_check_response(data, size, resp, res.len, cap, t, true);
		FUZZ_CHECK(res.rcode == (unsigned)(resp[3] & 0xF));
		FUZZ_CHECK(!res.zone || strcmp(res.zone, "other.test") == 0);
	} else if (rc == SRVD_XFR) {
		FUZZ_CHECK(t == SRVD_TCP);
		drain_xfr(&q, true);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g_zs)
		init();
	run(data, size, SRVD_UDP, 65535);
	run(data, size, SRVD_UDP, 512);
	run(data, size, SRVD_TCP, 65535);
	run_door(data, size, SRVD_UDP, 512);
	run_door(data, size, SRVD_TCP, 65535);
	return 0;
}
