/* micro_respond: in-process microbenchmark of the responder on one core.
 *
 * Usage: micro_respond [N] [--quiet] [--dispatch | --tsig | --rrl] [--do]
 *                      [--zone PATH] [--write-zone PATH]
 *
 *   (default)   srvd_respond, the responder alone
 *   --dispatch  srvd_dispatch, the front door the daemon calls
 *   --tsig      srvd_dispatch with every query signed (hmac-sha256): the
 *               TSIG verify and the signing of the answer included
 *   --rrl       srvd_dispatch with response rate limiting on (a rate no
 *               query reaches, so every answer is counted and sent) from
 *               one client address: the cost of the bucket per answer
 *
 * Generates a zone of about 10,000 records (SOA, NS, the Matrix SRV pair,
 * A/AAAA for matrix and the apex, 5000 filler hosts with A and AAAA, some
 * CNAME, MX and TXT), loads it, pre-encodes a query mix
 *   40% SRV _matrix-fed._tcp, 20% SRV _matrix._tcp,
 *   20% A/AAAA of matrix and random fillers, 10% NXDOMAIN, 10% NODATA
 * (EDNS 1232, UDP), then times N srvd_respond calls (default 2,000,000)
 * and prints queries per second and nanoseconds per query. The rcodes are
 * counted and checked so that the loop measures real answers.
 *
 * bench/callgrind.sh runs it under callgrind with N and 2N to get
 * instructions per query; the loading work cancels out in the difference.
 *
 * DNSSEC (bench/callgrind_dnssec.sh): --write-zone PATH writes the zone
 * and exits, so that a script can sign it; --zone PATH answers from that
 * file instead; --do sets the DO bit in every query.
 */
#define _POSIX_C_SOURCE 200809L
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srvd/srvd.h"
#include "xfr/tsig.h"

enum { FILLERS = 5000, MIX = 4096 };

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic, so runs compare */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static size_t write_zone(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	size_t n = 0;
	fprintf(f, "$ORIGIN example.com.\n$TTL 3600\n"
	           "@ IN SOA ns1 hostmaster 2024060101 7200 3600 1209600 300\n"
	           "  IN NS ns1\n  IN NS ns2.example.net.\n"
	           "  IN A 192.0.2.1\n  IN AAAA 2001:db8::1\n"
	           "  IN MX 10 mail\n  IN TXT \"v=spf1 mx -all\"\n"
	           "ns1 IN A 192.0.2.53\n    IN AAAA 2001:db8::53\n"
	           "mail IN A 192.0.2.25\n"
	           "matrix IN A 192.0.2.10\n       IN AAAA 2001:db8::10\n"
	           "_matrix-fed._tcp IN SRV 10 0 8448 matrix.example.com.\n"
	           "_matrix._tcp IN SRV 10 0 8448 matrix.example.com.\n");
	n += 14;
	for (unsigned i = 0; i < FILLERS; i++) {
		fprintf(f, "host%04u IN A 10.%u.%u.%u\n", i, i >> 16, (i >> 8) & 0xFF, i & 0xFF);
		fprintf(f, "host%04u IN AAAA 2001:db8:1::%x\n", i, i);
		n += 2;
		if (i % 25 == 0) {
			fprintf(f, "alias%04u IN CNAME host%04u\n", i, i);
			fprintf(f, "host%04u IN MX 10 mail\n", i);
			fprintf(f, "host%04u IN TXT \"filler host %u\"\n", i, i);
			n += 3;
		}
	}
	fclose(f);
	return n;
}

static int g_do; /* --do */

/* Encode a query: RD=0, EDNS 1232. */
static size_t encode(uint8_t *b, uint16_t id, const char *name, uint16_t type)
{
	size_t o = 0;
	b[o++] = (uint8_t)(id >> 8);
	b[o++] = (uint8_t)id;
	static const uint8_t hdr[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
	memcpy(b + o, hdr, sizeof(hdr));
	o += sizeof(hdr);
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		b[o++] = (uint8_t)l;
		memcpy(b + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(type >> 8);
	b[o++] = (uint8_t)type;
	b[o++] = 0;
	b[o++] = 1;
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
	memcpy(b + o, opt, sizeof(opt));
	if (g_do)
		b[o + 7] = 0x80; /* RFC 3225 */
	return o + sizeof(opt);
}

typedef struct q {
	uint8_t wire[256];
	uint16_t len;
	uint8_t rcode; /* expected */
} q_t;

static const srvd_key_src_t bench_key = {"bench-key", "hmac-sha256",
                                         "YmVuY2gta2V5LXNlY3JldC1mb3ItbWljcm8tcmVzcG9uZA=="};

/* Sign every query of the mix as a client would. */
static int sign_mix(q_t *v, unsigned n)
{
	xfr_tsig_key_t k;
	if (xfr_tsig_key_init(bench_key.name, bench_key.algorithm, bench_key.secret, &k) != 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		xfr_tsig_t t;
		xfr_tsig_init(&t, &k);
		size_t len = 0;
		if (xfr_tsig_sign(&t, v[i].wire, v[i].len, v[i].wire, sizeof(v[i].wire), &len) != 0)
			return -1;
		v[i].len = (uint16_t)len;
		xfr_tsig_deinit(&t);
	}
	return 0;
}

typedef enum { MODE_RESPOND, MODE_DISPATCH, MODE_TSIG, MODE_RRL } mode_t_;

static const struct sockaddr_in bench_client = {.sin_family = AF_INET,
                                                .sin_addr.s_addr = 0x010200c0}; /* 192.0.2.1 */

static int answer(mode_t_ mode, srvd_responder_t *r, const srvd_zoneset_t *zs,
                  const srvd_server_t *srv, const q_t *m, uint8_t *resp, size_t cap, size_t *len)
{
	srvd_query_t q = {.wire = m->wire, .len = m->len, .transport = SRVD_UDP};
	if (mode == MODE_RRL) {
		q.src_addr = &bench_client;
		q.now = 1700000000;
	}
	if (mode == MODE_RESPOND)
		return srvd_respond(r, zs, &q, resp, cap, len);
	srvd_result_t res;
	int rc = srvd_dispatch(r, srv, &q, resp, cap, &res);
	*len = res.len;
	return rc == SRVD_OK && (mode != MODE_TSIG || res.tsig) ? SRVD_OK : SRVD_EINVAL;
}

static q_t mix[MIX];

static void build_mix(void)
{
	char name[128];
	for (unsigned i = 0; i < MIX; i++) {
		unsigned r = rnd() % 100;
		uint16_t type;
		uint8_t rcode = 0;
		if (r < 40) {
			snprintf(name, sizeof(name), "_matrix-fed._tcp.example.com");
			type = 33;
		} else if (r < 60) {
			snprintf(name, sizeof(name), "_matrix._tcp.example.com");
			type = 33;
		} else if (r < 80) {
			if (rnd() % 4 == 0)
				snprintf(name, sizeof(name), "matrix.example.com");
			else
				snprintf(name, sizeof(name), "host%04u.example.com",
				         rnd() % FILLERS);
			type = rnd() % 2 ? 28 : 1;
		} else if (r < 90) {
			snprintf(name, sizeof(name), "nx%u.example.com", rnd());
			type = 1;
			rcode = 3;
		} else {
			/* NODATA: an existing name, a type it does not have */
			snprintf(name, sizeof(name), "host%04u.example.com", rnd() % FILLERS);
			type = 33;
		}
		mix[i].len = (uint16_t)encode(mix[i].wire, (uint16_t)i, name, type);
		mix[i].rcode = rcode;
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = 2000000;
	int quiet = 0;
	mode_t_ mode = MODE_RESPOND;
	const char *zone = NULL, *write_to = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quiet") == 0)
			quiet = 1;
		else if (strcmp(argv[i], "--dispatch") == 0)
			mode = MODE_DISPATCH;
		else if (strcmp(argv[i], "--tsig") == 0)
			mode = MODE_TSIG;
		else if (strcmp(argv[i], "--do") == 0)
			g_do = 1;
		else if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc)
			zone = argv[++i];
		else if (strcmp(argv[i], "--write-zone") == 0 && i + 1 < argc)
			write_to = argv[++i];
		else if (strcmp(argv[i], "--rrl") == 0)
			mode = MODE_RRL;
		else
			n = atol(argv[i]);
	}
	if (write_to) {
		write_zone(write_to);
		return 0;
	}
	if (n <= 0) {
		fprintf(stderr, "usage: %s [N] [--quiet] [--dispatch | --tsig | --rrl]\n", argv[0]);
		return 2;
	}
	char path[] = "/tmp/micro_respond-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	size_t written = write_zone(path);
	srvd_zone_src_t src = {.origin = "example.com", .path = zone ? zone : path};
	srvd_diag_t diag = {0};
	srvd_zoneset_t *zs = NULL;
	int rc = srvd_zoneset_load(&src, 1, &zs, &diag);
	unlink(path);
	if (rc != 0) {
		fprintf(stderr, "zone does not load: %s\n", srvd_strerror(rc));
		return 1;
	}
	srvd_zone_info_t info;
	srvd_zone_info(srvd_zoneset_at(zs, 0), &info);
	if (!zone && info.records != written) {
		fprintf(stderr, "zone has %zu records, %zu written\n", info.records, written);
		return 1;
	}
	/* Per-zone counters on, as the daemon has them (row 0 of 1). */
	if (srvd_zoneset_counters(zs, 1) != 0)
		return 1;
	srvd_responder_t *r = NULL;
	if (srvd_responder_new(NULL, &r) != 0)
		return 1;
	build_mix();
	srvd_keyring_t *keys = NULL;
	srvd_server_t *srv = NULL;
	if (srvd_keyring_new(&bench_key, 1, &keys) != 0 ||
	    srvd_server_new(zs, keys, NULL, 0, &srv) != 0 ||
	    (mode == MODE_TSIG && sign_mix(mix, MIX) != 0)) {
		fprintf(stderr, "cannot set up the server or sign the queries\n");
		return 1;
	}
	srvd_keyring_unref(keys);
	if (mode == MODE_RRL) {
		srvd_guard_conf_t g = {.rrl = {.rate = 1000000, .slip = 2}};
		srvd_server_t *limited = NULL;
		if (srvd_server_with_guard(srv, &g, &limited) != 0)
			return 1;
		srvd_server_unref(srv);
		srv = limited;
	}

	static uint8_t resp[65535];
	size_t len = 0;
	unsigned long bad = 0, bytes = 0;
	/* Warm up and check every query of the mix once. */
	for (unsigned i = 0; i < MIX; i++)
		if (answer(mode, r, zs, srv, &mix[i], resp, sizeof(resp), &len) != SRVD_OK ||
		    (resp[3] & 0xF) != mix[i].rcode)
			bad++;
	if (bad) {
		fprintf(stderr, "%lu queries of the mix got an unexpected answer\n", bad);
		return 1;
	}
	double t0 = now();
	if (mode == MODE_RESPOND) {
		for (long i = 0; i < n; i++) {
			const q_t *m = &mix[i & (MIX - 1)];
			srvd_query_t q = {.wire = m->wire, .len = m->len, .transport = SRVD_UDP};
			srvd_respond(r, zs, &q, resp, sizeof(resp), &len);
			bytes += len;
		}
	} else if (mode == MODE_RRL) {
		for (long i = 0; i < n; i++) {
			const q_t *m = &mix[i & (MIX - 1)];
			srvd_query_t q = {.wire = m->wire,
			                  .len = m->len,
			                  .transport = SRVD_UDP,
			                  .src_addr = &bench_client,
			                  .now = 1700000000};
			srvd_result_t res;
			srvd_dispatch(r, srv, &q, resp, sizeof(resp), &res);
			bytes += res.len;
		}
	} else {
		for (long i = 0; i < n; i++) {
			const q_t *m = &mix[i & (MIX - 1)];
			srvd_query_t q = {.wire = m->wire, .len = m->len, .transport = SRVD_UDP};
			srvd_result_t res;
			srvd_dispatch(r, srv, &q, resp, sizeof(resp), &res);
			bytes += res.len;
		}
	}
	double dt = now() - t0;
	if (!quiet) {
		printf("zone: %zu records, %zu names, %zu bytes; queries: %ld (mix of %d); "
		       "mean response %.1f bytes\n",
		       info.records, info.names, info.memory, n, MIX, (double)bytes / (double)n);
		printf("%.0f queries/s, %.1f ns/query (one core)\n", (double)n / dt,
		       dt * 1e9 / (double)n);
	}
	srvd_responder_free(r);
	srvd_server_unref(srv);
	srvd_zoneset_unref(zs);
	return 0;
}
