/* Unit tests for conf/: the YAML config file -> conf_t, address and prefix
 * syntax, zones-dir scanning. What matters: every default, every error names
 * the right file and line, relative paths follow the config file, zones are
 * unique however they are spelled, and a failed call writes no out-param.
 * Each test gets a fresh mkdtemp() folder, removed afterwards.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/acl.h"
#include "conf/conf.h"

typedef struct fx {
	char dir[256];  /* the temp folder */
	char path[512]; /* dir/srvd.conf */
	char err[1024];
	char buf[512]; /* scratch for at() */
} fx_t;

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/srvd-conf-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/srvd.conf", f->dir);
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	fx_t *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* dir/rel, in a scratch buffer that the next call overwrites. */
static const char *at(fx_t *f, const char *rel)
{
	snprintf(f->buf, sizeof(f->buf), "%s/%s", f->dir, rel);
	return f->buf;
}

static void put(fx_t *f, const char *rel, const char *text)
{
	FILE *fp = fopen(at(f, rel), "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void mkdir_in(fx_t *f, const char *rel)
{
	assert_int_equal(mkdir(at(f, rel), 0700), 0);
}

static conf_t *load_ok(fx_t *f, const char *yaml)
{
	conf_t *c = NULL;
	put(f, "srvd.conf", yaml);
	int rc = conf_load(f->path, &c, f->err, sizeof(f->err));
	if (rc != 0)
		fail_msg("conf_load failed (%d): %s\nfor:\n%s", rc, f->err, yaml);
	assert_non_null(c);
	return c;
}

/* Expects exactly "PATH:LINE: " followed by text containing `msg`. */
static void load_err(fx_t *f, const char *yaml, unsigned line, const char *msg)
{
	conf_t *c = (conf_t *)(uintptr_t)0x1;
	char want[600];
	put(f, "srvd.conf", yaml);
	f->err[0] = '\0';
	int rc = conf_load(f->path, &c, f->err, sizeof(f->err));
	snprintf(want, sizeof(want), "%s:%u: ", f->path, line);
	if (rc != SRVD_EPARSE || strncmp(f->err, want, strlen(want)) != 0 ||
	    !strstr(f->err + strlen(want), msg))
		fail_msg("want EPARSE \"%s...%s\", got %d \"%s\"\nfor:\n%s", want, msg, rc, f->err,
		         yaml);
	assert_ptr_equal(c, (conf_t *)(uintptr_t)0x1); /* untouched */
}

typedef struct bad {
	const char *yaml;
	unsigned line;
	const char *msg;
} bad_t;

static void load_errs(fx_t *f, const bad_t *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		load_err(f, t[i].yaml, t[i].line, t[i].msg);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void assert_addr(const conf_addr_t *a, const char *host, uint16_t port)
{
	assert_string_equal(a->host, host);
	assert_int_equal(a->port, port);
}

static void assert_prefix(const srvd_prefix_t *p, const char *addr, unsigned bits)
{
	uint8_t bin[16] = {0};
	int fam = strchr(addr, ':') ? 6 : 4;
	assert_int_equal(inet_pton(fam == 6 ? AF_INET6 : AF_INET, addr, bin), 1);
	assert_int_equal(p->family, fam);
	assert_int_equal(p->bits, bits);
	assert_memory_equal(p->addr, bin, fam == 6 ? 16 : 4);
}

/* ---- defaults and the full file ----------------------------------------- */

static void assert_defaults(const conf_t *c)
{
	assert_int_equal(c->n_listen, 2);
	assert_addr(&c->listen[0], "127.0.0.1", 53);
	assert_addr(&c->listen[1], "::1", 53);
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->udp_payload, 1232);
	assert_int_equal(c->tcp_idle_timeout, 10);
	assert_int_equal(c->tcp_max_clients, 1000);
	assert_string_equal(c->log_level, "info");
	assert_false(c->log_syslog);
	assert_null(c->identity);
	assert_null(c->version);
	assert_null(c->nsid);
	assert_null(c->user);
	assert_null(c->group);
	assert_null(c->pidfile);
	assert_null(c->control);
	assert_null(c->allow_transfer);
	assert_int_equal(c->n_allow_transfer, 0);
	assert_null(c->zones_dir);
	assert_int_equal(c->n_zones, 0);
}

static void defaults_for_empty_files(void **state)
{
	fx_t *f = *state;
	const char *texts[] = {
	    "", "# nothing yet\n", "server:\n", "server: {}\nzones: []\n", "---\n...\n", "~\n"};
	for (size_t i = 0; i < N(texts); i++) {
		conf_t *c = load_ok(f, texts[i]);
		assert_string_equal(c->path, f->path);
		assert_defaults(c);
		conf_free(c);
	}
}

static void every_server_key(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n"
	                       "  listen: [192.0.2.1@5353, \"[2001:db8::1]@53\"]\n"
	                       "  workers: 256\n"
	                       "  udp-payload: 4096\n"
	                       "  tcp-idle-timeout: 30\n"
	                       "  tcp-max-clients: 20\n"
	                       "  identity: ns1.example.com\n"
	                       "  version: \"srvd 0.1.0\"\n"
	                       "  nsid: ns1\n"
	                       "  user: srvd\n"
	                       "  group: nogroup\n"
	                       "  pidfile: /run/srvd.pid\n"
	                       "  control: /run/srvd.sock\n"
	                       "  log-level: debug\n"
	                       "  log-target: syslog\n"
	                       "  allow-transfer: [127.0.0.1, 192.0.2.0/24, \"2001:db8::/32\"]\n");
	assert_int_equal(c->n_listen, 2);
	assert_addr(&c->listen[0], "192.0.2.1", 5353);
	assert_addr(&c->listen[1], "2001:db8::1", 53);
	assert_int_equal(c->workers, 256);
	assert_int_equal(c->udp_payload, 4096);
	assert_int_equal(c->tcp_idle_timeout, 30);
	assert_int_equal(c->tcp_max_clients, 20);
	assert_string_equal(c->identity, "ns1.example.com");
	assert_string_equal(c->version, "srvd 0.1.0");
	assert_string_equal(c->nsid, "ns1");
	assert_string_equal(c->user, "srvd");
	assert_string_equal(c->group, "nogroup");
	assert_string_equal(c->pidfile, "/run/srvd.pid");
	assert_string_equal(c->control, "/run/srvd.sock");
	assert_string_equal(c->log_level, "debug");
	assert_true(c->log_syslog);
	assert_int_equal(c->n_allow_transfer, 3);
	assert_prefix(&c->allow_transfer[0], "127.0.0.1", 32);
	assert_prefix(&c->allow_transfer[1], "192.0.2.0", 24);
	assert_prefix(&c->allow_transfer[2], "2001:db8::", 32);
	conf_free(c);
}

static void log_keys_accept_each_value(void **state)
{
	fx_t *f = *state;
	const char *levels[] = {"error", "warning", "info", "debug"};
	char yaml[128];
	for (size_t i = 0; i < N(levels); i++) {
		snprintf(yaml, sizeof(yaml), "server:\n  log-level: %s\n  log-target: stderr\n",
		         levels[i]);
		conf_t *c = load_ok(f, yaml);
		assert_string_equal(c->log_level, levels[i]);
		assert_false(c->log_syslog);
		conf_free(c);
	}
}

static void bounds_are_inclusive(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n  workers: 1\n  udp-payload: 512\n"
	                       "  tcp-idle-timeout: 1\n  tcp-max-clients: 1\n");
	assert_int_equal(c->workers, 1);
	assert_int_equal(c->udp_payload, 512);
	assert_int_equal(c->tcp_idle_timeout, 1);
	assert_int_equal(c->tcp_max_clients, 1);
	conf_free(c);
}

/* ---- lists ---------------------------------------------------------------- */

static void list_as_scalar_or_sequence(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n"
	                       "  listen: \"::1@5353\"\n"
	                       "  allow-transfer: 10.0.0.0/8\n"
	                       "zones:\n"
	                       "  - name: a.test\n"
	                       "    file: /z/a\n"
	                       "    notify: 192.0.2.2\n"
	                       "  - name: b.test\n"
	                       "    file: /z/b\n"
	                       "    notify:\n"
	                       "      - 192.0.2.3@5300\n"
	                       "      - \"[::2]\"\n");
	assert_int_equal(c->n_listen, 1); /* no defaults added */
	assert_addr(&c->listen[0], "::1", 5353);
	assert_int_equal(c->n_allow_transfer, 1);
	assert_prefix(&c->allow_transfer[0], "10.0.0.0", 8);
	assert_int_equal(c->n_zones, 2);
	assert_int_equal(c->zones[0].n_notify, 1);
	assert_addr(&c->zones[0].notify[0], "192.0.2.2", 53);
	assert_int_equal(c->zones[1].n_notify, 2);
	assert_addr(&c->zones[1].notify[0], "192.0.2.3", 5300);
	assert_addr(&c->zones[1].notify[1], "::2", 53);
	conf_free(c);

	/* plain IPv6 is fine in a block sequence */
	c = load_ok(f, "server:\n  listen:\n    - ::1@5300\n    - 0.0.0.0\n");
	assert_int_equal(c->n_listen, 2);
	assert_addr(&c->listen[0], "::1", 5300);
	assert_addr(&c->listen[1], "0.0.0.0", 53);
	conf_free(c);
}

static void yaml_anchors_work(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n"
	                       "  allow-transfer: &xfr [192.0.2.7]\n"
	                       "zones:\n"
	                       "  - {name: a.test, file: /z/a, notify: *xfr}\n");
	assert_int_equal(c->zones[0].n_notify, 1);
	assert_addr(&c->zones[0].notify[0], "192.0.2.7", 53);
	conf_free(c);
}

/* ---- address and prefix syntax ------------------------------------------- */

static void parse_addr_forms(void **state)
{
	static const struct {
		const char *in, *host;
		uint16_t port;
	} ok[] = {
	    {"127.0.0.1@5353", "127.0.0.1", 5353},
	    {"::1@5353", "::1", 5353},
	    {"[::1]@5353", "::1", 5353},
	    {"[::1]", "::1", 99},
	    {"::1", "::1", 99},
	    {"192.0.2.1", "192.0.2.1", 99},
	    {"192.0.2.1@65535", "192.0.2.1", 65535},
	    {"192.0.2.1@1", "192.0.2.1", 1},
	    {"2001:DB8:0:0::1@53", "2001:db8::1", 53}, /* stored in canonical form */
	    {"::ffff:192.0.2.1", "::ffff:192.0.2.1", 99},
	};
	for (size_t i = 0; i < N(ok); i++) {
		conf_addr_t a;
		assert_int_equal(conf_parse_addr(ok[i].in, 99, &a), 0);
		assert_addr(&a, ok[i].host, ok[i].port);
	}
}

static void parse_addr_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "@53",
	    "localhost",
	    "192.0.2.1@",
	    "192.0.2.1@0",
	    "1.2.3.4@65536",
	    "1.2.3.4@99999999999",
	    "1.2.3.4@-1",
	    "1.2.3.4@+53",
	    "1.2.3.4@5 3",
	    "1.2.3.4:53",
	    "[::1",
	    "[::1]53",
	    "[::1]:53",
	    "[192.0.2.1]@53",
	    "192.0.2.256",
	    " 192.0.2.1",
	    "192.0.2.1 ",
	    "::1::2",
	    "fe80::1%eth0",
	    "[]@53",
	};
	for (size_t i = 0; i < N(bad); i++) {
		conf_addr_t a = {.host = "keep", .port = 7};
		if (conf_parse_addr(bad[i], 53, &a) != SRVD_EPARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_addr(&a, "keep", 7); /* untouched */
	}
	conf_addr_t a;
	assert_int_equal(conf_parse_addr(NULL, 53, &a), SRVD_EINVAL);
	assert_int_equal(conf_parse_addr("::1", 53, NULL), SRVD_EINVAL);
}

static void parse_prefix_forms(void **state)
{
	static const struct {
		const char *in, *addr;
		unsigned bits;
	} ok[] = {
	    {"192.0.2.0/24", "192.0.2.0", 24}, {"2001:db8::/32", "2001:db8::", 32},
	    {"127.0.0.1", "127.0.0.1", 32},    {"::1", "::1", 128},
	    {"0.0.0.0/0", "0.0.0.0", 0},       {"::/0", "::", 0},
	    {"10.1.2.3/32", "10.1.2.3", 32},   {"2001:db8::1/128", "2001:db8::1", 128},
	    {"10.128.0.0/9", "10.128.0.0", 9},
	};
	for (size_t i = 0; i < N(ok); i++) {
		srvd_prefix_t p;
		memset(&p, 0xaa, sizeof(p));
		assert_int_equal(conf_parse_prefix(ok[i].in, &p), 0);
		assert_prefix(&p, ok[i].addr, ok[i].bits);
		if (p.family == 4) /* the unused bytes are zero, not junk */
			assert_memory_equal(p.addr + 4, (uint8_t[12]){0}, 12);
	}
}

static void parse_prefix_rejects(void **state)
{
	static const char *const bad[] = {
	    "",
	    "/24",
	    "192.0.2.0/33",
	    "2001:db8::/129",
	    "192.0.2.0/",
	    "192.0.2.0/x",
	    "192.0.2.0/-1",
	    "192.0.2.0/+8",
	    "192.0.2.1/24",
	    "10.128.0.0/8",
	    "2001:db8::1/64",
	    "example.com",
	    "192.0.2.0/24/1",
	    "[::1]",
	    "::1@53",
	};
	for (size_t i = 0; i < N(bad); i++) {
		srvd_prefix_t p = {.family = 9, .bits = 9};
		if (conf_parse_prefix(bad[i], &p) != SRVD_EPARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(p.family, 9);
		assert_int_equal(p.bits, 9);
	}
	srvd_prefix_t p;
	assert_int_equal(conf_parse_prefix(NULL, &p), SRVD_EINVAL);
	assert_int_equal(conf_parse_prefix("::1", NULL), SRVD_EINVAL);
}

/* ---- errors: keys, types, values ----------------------------------------- */

static void unknown_keys_at_every_level(void **state)
{
	static const bad_t t[] = {
	    {"serve:\n  workers: 1\n", 1, "unknown key \"serve\""},
	    {"server:\n  workers: 1\n\n  worker: 2\n", 4, "unknown key \"worker\" in server"},
	    {"zones:\n  - name: a.test\n    file: /a\n    fiel: /b\n", 4,
	     "unknown key \"fiel\" in zone"},
	    {"server:\n  Workers: 1\n", 2, "unknown key \"Workers\" in server"},
	    {"server:\n  <<: {workers: 1}\n", 2, "unknown key \"<<\" in server"},
	    {"server:\n  ? [a]\n  : 1\n", 2, "expected a key name in server"},
	};
	load_errs(*state, t, N(t));
}

static void wrong_types(void **state)
{
	static const bad_t t[] = {
	    {"server: 5\n", 1, "server: expected a mapping, got a scalar"},
	    {"server: [a]\n", 1, "server: expected a mapping, got a list"},
	    {"- a\n- b\n", 1, "expected a mapping of server, zones, zones-dir"},
	    {"zones: {name: a}\n", 1, "zones: expected a list, got a mapping"},
	    {"zones:\n  - example.com\n", 2, "zones: expected a mapping with name and file"},
	    {"server:\n  workers: two\n", 2, "workers: expected an integer, got \"two\""},
	    {"server:\n  workers: \"2\"\n", 2, "workers: expected an integer, got \"2\""},
	    {"server:\n  workers: 2.0\n", 2, "workers: expected an integer"},
	    {"server:\n  workers: 0x10\n", 2, "workers: expected an integer"},
	    {"server:\n  workers: -1\n", 2, "workers: expected an integer"},
	    {"server:\n  workers: [1]\n", 2, "workers: expected an integer, got a list"},
	    {"server:\n  workers:\n", 2, "workers: expected an integer, got nothing"},
	    {"server:\n  identity: {a: b}\n", 2, "identity: expected a string, got a mapping"},
	    {"server:\n  identity: ~\n", 2, "identity: expected a string, got nothing"},
	    {"server:\n  identity: \"\"\n", 2, "identity: empty value"},
	    {"server:\n  identity: \"a\\0b\"\n", 2, "identity: NUL character"},
	    {"server:\n  listen: {a: 1}\n", 2, "listen: expected an address or a list"},
	    {"server:\n  listen:\n", 2,
	     "listen: expected an address or a list of them, got nothing"},
	    {"server:\n  listen:\n    - [\"::1\"]\n", 3, "listen: expected an address, got a list"},
	    {"server:\n  allow-transfer:\n    - 10.0.0.1\n    - {a: 1}\n", 4,
	     "allow-transfer: expected an address, prefix or key:NAME, got a mapping"},
	    {"zones-dir: [a, b]\n", 1, "zones-dir: expected a string, got a list"},
	    {"zones:\n  - name: [a]\n    file: x\n", 2, "name: expected a string, got a list"},
	};
	load_errs(*state, t, N(t));
}

static void bad_values(void **state)
{
	static const bad_t t[] = {
	    {"server:\n  listen: 127.0.0.1@0\n", 2,
	     "listen: bad address \"127.0.0.1@0\": port out"},
	    {"server:\n  listen: 127.0.0.1@65536\n", 2, "port out of range 1..65535"},
	    {"server:\n  listen: [127.0.0.1@53, 127.0.0.1@x]\n", 2, "the port is not a number"},
	    {"server:\n  listen:\n    - ::1\n    - 300.1.1.1\n", 4,
	     "listen: bad address \"300.1.1.1\": not an IPv4 or IPv6 address"},
	    {"server:\n  listen: []\n", 2, "listen: empty list"},
	    {"server:\n  listen: [\"::1@53\", \"[0::1]@53\"]\n", 2,
	     "listen: \"[0::1]@53\" is listed twice"},
	    {"server:\n  udp-payload: 511\n", 2, "udp-payload: 511 is out of range 512..4096"},
	    {"server:\n  udp-payload: 4097\n", 2, "udp-payload: 4097 is out of range 512..4096"},
	    {"server:\n  udp-payload: 99999999999999999999\n", 2, "is out of range 512..4096"},
	    {"server:\n  workers: 0\n", 2, "workers: 0 is out of range 1..256"},
	    {"server:\n  workers: 257\n", 2, "workers: 257 is out of range 1..256"},
	    {"server:\n  tcp-idle-timeout: 0\n", 2, "tcp-idle-timeout: 0 is out of range"},
	    {"server:\n  tcp-max-clients: 0\n", 2, "tcp-max-clients: 0 is out of range"},
	    {"server:\n  log-level: verbose\n", 2,
	     "log-level: \"verbose\" is not one of error, warning, info, debug"},
	    {"server:\n  log-level: INFO\n", 2, "log-level: \"INFO\" is not one of"},
	    {"server:\n  log-target: file\n", 2,
	     "log-target: \"file\" is not one of stderr, syslog"},
	    {"server:\n  allow-transfer: [10.0.0.0/8, 192.0.2.0/33]\n", 2,
	     "allow-transfer: bad prefix \"192.0.2.0/33\": prefix length beyond /32"},
	    {"server:\n  allow-transfer: \"2001:db8::/129\"\n", 2, "prefix length beyond /128"},
	    {"server:\n  allow-transfer: 192.0.2.1/24\n", 2,
	     "address bits set beyond the prefix length"},
	    {"server:\n  allow-transfer: any\n", 2, "bad prefix \"any\""},
	    {"zones:\n  - name: a.test\n    file: /a\n    allow-transfer: 10.0.0.0/40\n", 4,
	     "allow-transfer: bad prefix"},
	    {"zones:\n  - name: a.test\n    file: /a\n    notify: 10.0.0.1@0\n", 4,
	     "notify: bad address \"10.0.0.1@0\": port out of range"},
	    {"zones:\n  - name: a..test\n    file: /a\n", 2,
	     "name: bad zone name \"a..test\": empty label"},
	    {"zones:\n  - name: .test\n    file: /a\n", 2, "empty label"},
	    {"zones:\n  - name: a test\n    file: /a\n", 2, "blank or control character"},
	    {"zones:\n  - name: bücher.test\n    file: /a\n", 2, "xn--"},
	    {"zones:\n  - name: a\\.b.test\n    file: /a\n", 2, "escapes are not supported"},
	    {"zones:\n  - name: "
	     "a234567890123456789012345678901234567890123456789012345678901234.test\n"
	     "    file: /a\n",
	     2, "label longer than 63"},
	    {"server:\n  identity: "
	     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "a"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "a"
	     "\"\n",
	     2, "identity: longer than 255 characters"},
	};
	load_errs(*state, t, N(t));
}

static void long_zone_name_and_control_path(void **state)
{
	fx_t *f = *state;
	char yaml[1024], label[64];
	memset(label, 'a', 63);
	label[63] = '\0';
	/* 4 labels of 63 + 3 dots = 255 > 253 */
	snprintf(yaml, sizeof(yaml), "zones:\n  - name: %s.%s.%s.%s\n    file: /a\n", label, label,
	         label, label);
	load_err(f, yaml, 2, "longer than 253 characters");
	/* 3 labels of 63 + one of 61 + 3 dots = 253: fine, with or without the root dot */
	snprintf(yaml, sizeof(yaml), "zones:\n  - name: %s.%s.%s.%.61s.\n    file: /a\n", label,
	         label, label, label);
	conf_t *c = load_ok(f, yaml);
	assert_int_equal(strlen(c->zones[0].name), 254);
	conf_free(c);

	char path[200];
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(yaml, sizeof(yaml), "server:\n  pidfile: %s\n\n  control: %s\n", path, path);
	load_err(f, yaml, 4, "control: path longer than 107 characters");
	path[107] = '\0';
	snprintf(yaml, sizeof(yaml), "server:\n  control: %s\n", path);
	c = load_ok(f, yaml);
	assert_int_equal(strlen(c->control), 107);
	conf_free(c);
}

static void duplicate_keys(void **state)
{
	static const bad_t t[] = {
	    {"server:\n  workers: 1\n  workers: 2\n", 3,
	     "workers: duplicate key (first at line 2)"},
	    {"server: {}\nzones: []\nserver: {}\n", 3, "server: duplicate key (first at line 1)"},
	    {"zones:\n  - name: a.test\n    file: /a\n    name: b.test\n", 4,
	     "name: duplicate key (first at line 2)"},
	};
	load_errs(*state, t, N(t));
}

/* ---- zones ------------------------------------------------------------------ */

static void zones_need_name_and_file(void **state)
{
	static const bad_t t[] = {
	    {"zones:\n  - file: /a\n", 2, "zone without a name"},
	    {"zones:\n  - name: a.test\n    file: /a\n  - name: b.test\n", 4,
	     "zone b.test: no file"},
	    {"zones:\n  - {}\n", 2, "zone without a name"},
	    {"zones:\n  - name: a.test\n    file: \"\"\n", 3, "file: empty value"},
	};
	load_errs(*state, t, N(t));
}

static void zones_keep_order_and_lines(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "# zones\n"
	                       "zones:\n"
	                       "  - name: b.test\n"
	                       "    file: /z/b\n"
	                       "\n"
	                       "  - file: /z/a\n"
	                       "    name: A.test.\n");
	assert_int_equal(c->n_zones, 2);
	assert_string_equal(c->zones[0].name, "b.test");
	assert_string_equal(c->zones[0].file, "/z/b");
	assert_int_equal(c->zones[0].line, 3);
	assert_string_equal(c->zones[1].name, "A.test."); /* as written */
	assert_int_equal(c->zones[1].line, 6);
	assert_int_equal(c->zones[1].n_notify, 0);
	assert_null(c->zones[1].notify);
	conf_free(c);
}

static void duplicate_zones(void **state)
{
	static const bad_t t[] = {
	    {"zones:\n  - {name: a.test, file: /a}\n  - {name: a.test, file: /b}\n", 3,
	     "duplicate zone a.test (first at line 2)"},
	    {"zones:\n  - {name: a.test, file: /a}\n  - {name: A.TEST., file: /b}\n", 3,
	     "duplicate zone A.TEST. (first at line 2)"},
	    {"zones:\n  - {name: x.test, file: /a}\n  - {name: b.test, file: /b}\n"
	     "  - {name: X.Test, file: /c}\n  - {name: b.test., file: /d}\n",
	     4, "duplicate zone X.Test (first at line 2)"},
	    {"zones:\n  - {name: ., file: /a}\n  - {name: ., file: /b}\n", 3, "duplicate zone ."},
	};
	load_errs(*state, t, N(t));
	/* similar is not equal */
	conf_t *c = load_ok(*state, "zones:\n  - {name: a.test, file: /a}\n"
	                            "  - {name: a.test.x, file: /b}\n  - {name: test, file: /c}\n");
	assert_int_equal(c->n_zones, 3);
	conf_free(c);
}

static void allow_transfer_inheritance(void **state)
{
	fx_t *f = *state;
	/* server: comes after zones: on purpose */
	conf_t *c = load_ok(f, "zones:\n"
	                       "  - {name: inherit.test, file: /a}\n"
	                       "  - {name: own.test, file: /b, allow-transfer: 192.0.2.9}\n"
	                       "  - {name: none.test, file: /c, allow-transfer: []}\n"
	                       "server:\n"
	                       "  allow-transfer: [127.0.0.1, \"::1\"]\n");
	conf_zone_t *z = c->zones;
	assert_false(z[0].allow_transfer_set);
	assert_int_equal(z[0].n_allow_transfer, 2); /* copied in: the effective ACL */
	assert_prefix(&z[0].allow_transfer[0], "127.0.0.1", 32);
	assert_prefix(&z[0].allow_transfer[1], "::1", 128);
	assert_ptr_not_equal(z[0].allow_transfer, c->allow_transfer);
	assert_true(z[1].allow_transfer_set);
	assert_int_equal(z[1].n_allow_transfer, 1);
	assert_prefix(&z[1].allow_transfer[0], "192.0.2.9", 32);
	assert_true(z[2].allow_transfer_set);
	assert_int_equal(z[2].n_allow_transfer, 0);
	conf_free(c);

	c = load_ok(f, "zones:\n  - {name: a.test, file: /a}\n");
	assert_false(c->zones[0].allow_transfer_set);
	assert_int_equal(c->zones[0].n_allow_transfer, 0);
	assert_null(c->zones[0].allow_transfer);
	conf_free(c);
}

/* ---- secondary zones and keys ---------------------------------------------- */

static void secondary_zone(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n  refresh-min: 5\n  expire-max: 600\n  xfr-timeout: 9\n"
	                       "keys:\n  - {name: k1, algorithm: HMAC-SHA256., secret: "
	                       "\"c2VjcmV0c2VjcmV0c2VjcmV0\"}\n"
	                       "zones:\n"
	                       "  - name: sec.test\n    file: /s\n"
	                       "    primaries: [127.0.0.1@5300, \"::1\"]\n    key: k1\n"
	                       "    refresh-min: 7\n"
	                       "  - name: n.test\n    file: /n\n    primaries: 192.0.2.1\n"
	                       "    notify-from: [10.0.0.0/8, \"key:K1.\"]\n");
	assert_int_equal(c->xfr_timeout, 9);
	assert_int_equal(c->xfr_max_size, (uint64_t)128 << 20);
	assert_int_equal(c->n_keys, 1);
	assert_string_equal(c->keys[0].algorithm, "hmac-sha256");
	assert_ptr_equal(conf_key_find(c, "K1."), &c->keys[0]);
	const conf_zone_t *z = &c->zones[0];
	assert_int_equal(z->n_primaries, 2);
	assert_addr(&z->primaries[0], "127.0.0.1", 5300);
	assert_addr(&z->primaries[1], "::1", 53);
	assert_string_equal(z->key, "k1");
	assert_int_equal(z->timers.refresh_min, 7);
	assert_int_equal(z->timers.expire_max, 600); /* the server's */
	assert_int_equal(z->n_notify_from, 2);       /* the primaries by default */
	assert_prefix(&z->notify_from[0], "127.0.0.1", 32);
	assert_prefix(&z->notify_from[1], "::1", 128);
	z = &c->zones[1];
	assert_int_equal(z->n_notify_from, 1);
	assert_prefix(&z->notify_from[0], "10.0.0.0", 8);
	assert_int_equal(z->n_notify_keys, 1);
	assert_string_equal(z->notify_keys[0], "K1.");
	conf_free(c);
}

/* allow-transfer takes key:NAME beside prefixes, at server and zone level:
 * such an entry grants that key (any case, trailing dot or not) and no
 * address. */
static void transfer_acl_keys(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n  allow-transfer: [\"key:xfr\"]\n"
	                       "keys:\n  - {name: xfr., algorithm: hmac-sha256, secret: "
	                       "\"c2VjcmV0c2VjcmV0c2VjcmV0\"}\n"
	                       "zones:\n  - {name: a.test, file: /a}\n"
	                       "  - name: b.test\n    file: /b\n"
	                       "    allow-transfer: [192.0.2.1, \"key:XFR.\"]\n");
	assert_int_equal(c->n_allow_transfer, 1);
	assert_true(acl_match_key(c->allow_transfer, c->n_allow_transfer, "Xfr."));
	assert_false(acl_match_key(c->allow_transfer, c->n_allow_transfer, "xfr2"));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xC0000201)};
	assert_false(acl_match(c->allow_transfer, c->n_allow_transfer, &sa));
	const conf_zone_t *b = &c->zones[1];
	assert_int_equal(b->n_allow_transfer, 2);
	assert_true(acl_match(b->allow_transfer, b->n_allow_transfer, &sa));
	assert_true(acl_match_key(b->allow_transfer, b->n_allow_transfer, "xfr"));
	conf_free(c);
	load_err(f, "zones:\n  - name: a.test\n    file: /a\n    allow-transfer: [\"key:nokey\"]\n",
	         4, "allow-transfer: no key named nokey");
	load_err(f, "server:\n  allow-transfer: [\"key:\"]\n", 2, "bad key name");
}

/* The UPDATE settings of a zone: every key read, defaults 0 (the daemon's
 * own defaults apply), and out-of-range values named with their line. */
static void update_settings(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "zones:\n  - {name: a.test, file: /a}\n"
	                       "  - name: b.test\n    file: /b\n"
	                       "    update-wait: 10\n    update-max-records: 5\n"
	                       "    update-max-size: 512\n    zonefile-sync: 300\n"
	                       "    journal-max-size: 1048576\n    serial-policy: unixtime\n");
	const conf_zone_t *a = &c->zones[0], *b = &c->zones[1];
	assert_int_equal(a->update_wait, 0);
	assert_int_equal(a->update_max_records, 0);
	assert_int_equal(a->zonefile_sync, 0);
	assert_int_equal(a->journal_max_size, 0);
	assert_int_equal(b->update_wait, 10);
	assert_int_equal(b->update_max_records, 5);
	assert_int_equal(b->update_max_size, 512);
	assert_int_equal(b->zonefile_sync, 300);
	assert_int_equal(b->journal_max_size, 1048576);
	assert_string_equal(b->serial_policy, "unixtime");
	conf_free(c);
	load_err(f, "zones:\n  - name: a.test\n    file: /a\n    update-wait: 61\n", 4,
	         "update-wait: 61 is out of range 0..60");
	load_err(f, "zones:\n  - name: a.test\n    file: /a\n    update-max-records: 0\n", 4,
	         "out of range 1..65535");
	load_err(f, "zones:\n  - name: a.test\n    file: /a\n    journal-max-size: 100\n", 4,
	         "journal-max-size");
	load_err(f, "zones:\n  - name: a.test\n    file: /a\n    zonefile-sync: soon\n", 4,
	         "expected an integer");
}

static void secondary_errors(void **state)
{
	fx_t *f = *state;
	static const bad_t t[] = {
	    {"zones:\n  - {name: a.test, file: /a, retry-max: 5}\n", 2, "need primaries"},
	    {"zones:\n  - {name: a.test, file: /a, key: k}\n", 2, "no key named k"},
	    {"zones:\n  - {name: a.test, file: /a, primaries: [1.2.3.4], key: k}\n", 2,
	     "no key named k"},
	    {"zones:\n  - {name: a.test, file: /a, primaries: [1.2.3.4],\n"
	     "     notify-from: [\"key:x\"]}\n",
	     2, "notify-from: no key named x"},
	    {"zones:\n  - {name: a.test, file: /a, primaries: [1.2.3.4],\n"
	     "     notify-from: [\"1.2.3.4/40\"]}\n",
	     3, "bad prefix"},
	    {"zones:\n  - {name: a.test, file: /a, primaries: []}\n", 2, "empty list"},
	    {"zones:\n  - {name: a.test, file: /a, primaries: [1.2.3.4], retry-min: 9,\n"
	     "     retry-max: 8}\n",
	     2, "retry-min is above retry-max"},
	    {"keys:\n  - {name: k, algorithm: hmac-md5, secret: AAAA}\n", 2, "hmac-sha256"},
	    {"keys:\n  - {name: k, algorithm: hmac-sha1, secret: \"A?==\"}\n", 2, "not base64"},
	    {"keys:\n  - {name: k, algorithm: hmac-sha1}\n", 2, "one of secret and secret-file"},
	    {"keys:\n  - {name: k, algorithm: hmac-sha1, secret: AAAA}\n"
	     "  - {name: K., algorithm: hmac-sha1, secret: AAAA}\n",
	     3, "defined twice"},
	    {"keys:\n  - {name: k, secret: AAAA}\n", 2, "no algorithm"},
	    {"keys:\n  - {name: k, algorithm: hmac-sha1, secret: AAAA, colour: red}\n", 2,
	     "unknown key \"colour\" in key"},
	    {"server:\n  xfr-max-size: 10\n", 2, "out of range"},
	};
	load_errs(f, t, N(t));
}

static void secret_files(void **state)
{
	fx_t *f = *state;
	put(f, "k.secret", "c2VjcmV0c2VjcmV0\n");
	assert_int_equal(chmod(at(f, "k.secret"), 0644), 0);
	const char *yaml = "keys:\n  - {name: k, algorithm: hmac-sha512, secret-file: k.secret}\n";
	load_err(f, yaml, 2, "mode 0644 lets others read it");
	assert_int_equal(chmod(at(f, "k.secret"), 0600), 0);
	conf_t *c = load_ok(f, yaml);
	assert_string_equal(c->keys[0].secret, "c2VjcmV0c2VjcmV0\n");
	conf_free(c);
	load_err(f, "keys:\n  - {name: k, algorithm: hmac-sha1, secret-file: nope}\n", 2,
	         "secret-file");
}

/* ---- YAML syntax and I/O ------------------------------------------------- */

static void syntax_errors_name_the_line(void **state)
{
	static const bad_t t[] = {
	    {"server:\n  workers: 2\n  listen: [127.0.0.1\n  user: x\n", 4,
	     "did not find expected ',' or ']' (while parsing a flow sequence at line 3)"},
	    {"server:\n  workers: 2\n   user: x\n", 3, "mapping values are not allowed"},
	    {"server:\n\tworkers: 2\n", 2, "found character that cannot start any token"},
	    {"server:\n  workers: 2\n  identity: \"abc\n", 4, "found unexpected end of stream"},
	    {"server:\n  workers: *nope\n", 2, "found undefined alias"},
	    {"server:\n  identity: a\n  version: \"x\xff\"\n", 3, "invalid"},
	    {"server:\n  identity: \"x\x01\"\n", 2, "control characters are not allowed"},
	    {"server: {}\n---\nzones: []\n", 3, "only one YAML document is allowed"},
	    {"server: {}\n---\nzones: [\n", 4, "did not find expected node content"},
	    /* ':' is an indicator in flow context: IPv6 inside [ ] must be quoted */
	    {"server:\n  listen: [::1]\n", 2, "did not find expected node content"},
	};
	load_errs(*state, t, N(t));
}

static void io_errors(void **state)
{
	fx_t *f = *state;
	conf_t *c = (conf_t *)(uintptr_t)0x1;
	char want[600];

	snprintf(want, sizeof(want), "%s: No such file or directory", at(f, "missing.conf"));
	assert_int_equal(conf_load(at(f, "missing.conf"), &c, f->err, sizeof(f->err)), SRVD_EIO);
	assert_string_equal(f->err, want);
	mkdir_in(f, "adir");
	assert_int_equal(conf_load(at(f, "adir"), &c, f->err, sizeof(f->err)), SRVD_EIO);
	assert_non_null(strstr(f->err, "adir: Is a directory"));
	assert_ptr_equal(c, (conf_t *)(uintptr_t)0x1);

	assert_int_equal(conf_load(NULL, &c, f->err, sizeof(f->err)), SRVD_EINVAL);
	assert_int_equal(conf_load(f->path, NULL, NULL, 0), SRVD_EINVAL);
}

static void error_buffer_may_be_small_or_absent(void **state)
{
	fx_t *f = *state;
	conf_t *c = NULL;
	char small[8];
	memset(small, 'x', sizeof(small));
	put(f, "srvd.conf", "bogus: 1\n");
	assert_int_equal(conf_load(f->path, &c, small, sizeof(small)), SRVD_EPARSE);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(conf_load(f->path, &c, NULL, 0), SRVD_EPARSE);
	assert_null(c);
}

static void large_file(void **state)
{
	fx_t *f = *state;
	size_t n = 3000;
	char *yaml = malloc(n * 64 + 16);
	char *p = yaml + sprintf(yaml, "zones:\n");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "  - {name: z%zu.test, file: /z/%zu}\n", n - i, i);
	conf_t *c = load_ok(f, yaml);
	assert_int_equal(c->n_zones, n);
	assert_int_equal(c->zones[n - 1].line, n + 1);
	conf_free(c);
	p += sprintf(p, "  - {name: Z77.test., file: /z/dup}\n");
	load_err(f, yaml, (unsigned)n + 2, "duplicate zone Z77.test. (first at line 2925)");
	free(yaml);
}

/* ---- paths ------------------------------------------------------------------ */

static void relative_paths_follow_the_config(void **state)
{
	fx_t *f = *state;
	char path[512], want[512];
	conf_t *c;
	mkdir_in(f, "etc");
	mkdir_in(f, "etc/zones");
	snprintf(path, sizeof(path), "%s/etc/srvd.conf", f->dir);
	put(f, "etc/srvd.conf",
	    "server:\n  pidfile: run/srvd.pid\n  control: srvd.sock\n"
	    "zones:\n  - {name: a.test, file: a.zone}\n"
	    "  - {name: b.test, file: /abs/b.zone}\n"
	    "  - {name: c.test, file: ../c.zone}\n"
	    "zones-dir: zones\n");
	assert_int_equal(conf_load(path, &c, f->err, sizeof(f->err)), 0);
	snprintf(want, sizeof(want), "%s/etc/a.zone", f->dir);
	assert_string_equal(c->zones[0].file, want);
	assert_string_equal(c->zones[1].file, "/abs/b.zone");
	snprintf(want, sizeof(want), "%s/etc/../c.zone", f->dir);
	assert_string_equal(c->zones[2].file, want);
	snprintf(want, sizeof(want), "%s/etc/zones", f->dir);
	assert_string_equal(c->zones_dir, want);
	snprintf(want, sizeof(want), "%s/etc/run/srvd.pid", f->dir);
	assert_string_equal(c->pidfile, want);
	snprintf(want, sizeof(want), "%s/etc/srvd.sock", f->dir);
	assert_string_equal(c->control, want);
	assert_string_equal(c->path, path);
	conf_free(c);
}

/* state-dir holds journals, snapshots and the copies of secondary zones
 * that name no file; without it, journals stay beside the zone file and a
 * secondary zone needs its file. */
static void state_dir_defaults(void **state)
{
	fx_t *f = *state;
	char want[512];
	conf_t *c = load_ok(f, "server:\n  state-dir: state\n"
	                       "zones:\n  - {name: a.test, file: a.zone}\n"
	                       "  - {name: Sec.TEST., primaries: [192.0.2.1]}\n"
	                       "  - {name: ., primaries: [192.0.2.1]}\n"
	                       "  - {name: b.test, file: b.zone, primaries: [192.0.2.1]}\n");
	snprintf(want, sizeof(want), "%s/state", f->dir);
	assert_string_equal(c->state_dir, want);
	assert_string_equal(c->snapshot_dir, want); /* snapshots go there too */
	snprintf(want, sizeof(want), "%s/a.zone", f->dir);
	assert_string_equal(c->zones[0].file, want);
	snprintf(want, sizeof(want), "%s/state/sec.test.zone", f->dir);
	assert_string_equal(c->zones[1].file, want);
	snprintf(want, sizeof(want), "%s/state/root.zone", f->dir);
	assert_string_equal(c->zones[2].file, want);
	snprintf(want, sizeof(want), "%s/b.zone", f->dir); /* a file given is used */
	assert_string_equal(c->zones[3].file, want);
	conf_free(c);

	c = load_ok(f, "server:\n  state-dir: /var/lib/srvd\n  snapshot-dir: /var/cache/srvd\n");
	assert_string_equal(c->state_dir, "/var/lib/srvd");
	assert_string_equal(c->snapshot_dir, "/var/cache/srvd");
	conf_free(c);

	c = load_ok(f, "zones:\n  - {name: a.test, file: a.zone}\n");
	assert_null(c->state_dir);
	assert_null(c->snapshot_dir);
	conf_free(c);

	static const bad_t t[] = {
	    {"zones:\n  - name: a.test\n    primaries: [192.0.2.1]\n", 2,
	     "zone a.test: no file (a secondary zone may leave it out when server: state-dir is "
	     "set)"},
	    {"server:\n  state-dir: /s\nzones-dir: /s\n", 3, "zones-dir: /s is also state-dir"},
	    {"server:\n  state-dir: \"\"\n", 2, "state-dir: empty value"},
	    {"server:\n  state-dir: [a, b]\n", 2, "state-dir: expected"},
	    {"server:\n  statedir: /s\n", 2, "did you mean \"state-dir\""},
	};
	load_errs(f, t, N(t));

	char *p = conf_state_path("/s", "Example.COM.", ".jnl");
	assert_string_equal(p, "/s/example.com.jnl");
	free(p);
	p = conf_state_path("/s", ".", ".snap");
	assert_string_equal(p, "/s/root.snap");
	free(p);
}

/* A relative config path gives paths relative to the working directory. */
static void relative_config_path(void **state)
{
	fx_t *f = *state;
	char cwd[4096];
	conf_t *c = NULL, *d = NULL;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	mkdir_in(f, "etc");
	put(f, "etc/srvd.conf", "zones:\n  - {name: a.test, file: a.zone}\nzones-dir: .\n");
	put(f, "etc/b.test.zone", "");
	put(f, "srvd.conf", "zones:\n  - {name: a.test, file: a.zone}\n");
	assert_int_equal(chdir(f->dir), 0);
	int rc1 = conf_load("etc/srvd.conf", &c, f->err, sizeof(f->err));
	int rc2 = conf_load("srvd.conf", &d, f->err, sizeof(f->err));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc2, 0);
	assert_string_equal(c->zones[0].file, "etc/a.zone");
	assert_string_equal(c->zones_dir, "etc/.");
	assert_string_equal(c->zones[1].file, "etc/./b.test.zone");
	assert_string_equal(d->zones[0].file, "a.zone");
	conf_free(c);
	conf_free(d);
}

/* ---- zones-dir ------------------------------------------------------------ */

static void make_zone_folder(fx_t *f)
{
	mkdir_in(f, "zones");
	mkdir_in(f, "zones/sub.zone"); /* a folder, not a file */
	put(f, "zones/example.org.zone", "");
	put(f, "zones/db.example.com", "");
	put(f, "zones/Alpha.test.zone", "");
	put(f, "zones/.hidden.zone", "");
	put(f, "zones/.db.x.swp", "");
	put(f, "zones/db.y.test.swp", "");
	put(f, "zones/example.net.zone~", "");
	put(f, "zones/db.example.net~", "");
	put(f, "zones/db.z.test.bak", "");
	put(f, "zones/db.z.test.jnl", "");
	put(f, "zones/README", "");
	put(f, "zones/notes.txt", "");
	put(f, "zones/.zone", "");
	put(f, "zones/db.", "");
	put(f, "zones/example.com.zone.orig", "");
	assert_int_equal(symlink("/nonexistent", at(f, "zones/dangling.zone")), 0);
}

static void zones_dir_scan(void **state)
{
	fx_t *f = *state;
	make_zone_folder(f);
	conf_t *c = load_ok(f, "server:\n  allow-transfer: 192.0.2.0/24\n"
	                       "zones:\n  - {name: first.test, file: /f}\n"
	                       "zones-dir: zones\n");
	assert_int_equal(c->n_zones, 4);
	assert_string_equal(c->zones[0].name, "first.test"); /* zones: first, in order */
	const char *names[] = {"Alpha.test", "example.com", "example.org"};
	const char *files[] = {"zones/Alpha.test.zone", "zones/db.example.com",
	                       "zones/example.org.zone"};
	for (size_t i = 0; i < 3; i++) {
		const conf_zone_t *z = &c->zones[i + 1];
		assert_string_equal(z->name, names[i]);
		assert_string_equal(z->file, at(f, files[i]));
		assert_int_equal(z->line, 0);
		assert_false(z->allow_transfer_set);
		assert_int_equal(z->n_allow_transfer, 1);
		assert_prefix(&z->allow_transfer[0], "192.0.2.0", 24);
		assert_int_equal(z->n_notify, 0);
	}
	conf_free(c);
}

static void zones_dir_errors(void **state)
{
	fx_t *f = *state;
	char msg[1200];
	mkdir_in(f, "zones");
	put(f, "zones/a.test.zone", "");

	put(f, "zones/db.a.test.", "");
	/* The two files clash too, but the clash with the zones: entry comes first. */
	snprintf(msg, sizeof(msg), "zones-dir: %s: duplicate zone a.test (first at line 3)",
	         at(f, "zones/a.test.zone"));
	load_err(f, "zones-dir: zones\nzones:\n  - {name: A.Test, file: /x}\n", 1, msg);
	char first[512];
	snprintf(first, sizeof(first), "%s", at(f, "zones/a.test.zone"));
	snprintf(msg, sizeof(msg), "zones-dir: %s: duplicate zone a.test. (first in %s)",
	         at(f, "zones/db.a.test."), first);
	load_err(f, "zones:\n  - {name: b.test, file: /x}\n\nzones-dir: zones\n", 4, msg);
	remove(at(f, "zones/db.a.test."));

	snprintf(msg, sizeof(msg), "zones-dir: %s: duplicate zone a.test (first at line 2)",
	         at(f, "zones/a.test.zone"));
	load_err(f, "zones:\n  - {name: A.TEST., file: /x}\nzones-dir: zones\n", 3, msg);

	conf_t *c = (conf_t *)(uintptr_t)0x1;
	put(f, "srvd.conf", "server: {}\nzones-dir: nowhere\n");
	assert_int_equal(conf_load(f->path, &c, f->err, sizeof(f->err)), SRVD_EIO);
	snprintf(msg, sizeof(msg), "%s:2: zones-dir: %s: No such file or directory", f->path,
	         at(f, "nowhere"));
	assert_string_equal(f->err, msg);
	assert_ptr_equal(c, (conf_t *)(uintptr_t)0x1);
}

/* One bad entry (issue 14: a symbolic-link loop failed the whole config, at
 * start-up and on SIGHUP) is skipped with a warning naming it; the other
 * zones are kept. */
static void zones_dir_bad_entries_are_skipped(void **state)
{
	fx_t *f = *state;
	char want[1200], loop[512], bad[512];
	mkdir_in(f, "zones");
	put(f, "zones/a.test.zone", "");
	put(f, "zones/db.b.test", "");
	put(f, "zones/bad name.zone", "");
	assert_int_equal(symlink("loop.zone", at(f, "zones/loop.zone")), 0);
	assert_int_equal(symlink("db.loop2", at(f, "zones/db.loop1")), 0);
	assert_int_equal(symlink("db.loop1", at(f, "zones/db.loop2")), 0);
	snprintf(loop, sizeof(loop), "%s", at(f, "zones/loop.zone"));
	snprintf(bad, sizeof(bad), "%s", at(f, "zones/bad name.zone"));

	conf_t *c = load_ok(f, "server: {}\nzones-dir: zones\n");
	assert_int_equal(c->n_zones, 2);
	assert_string_equal(c->zones[0].name, "a.test");
	assert_string_equal(c->zones[1].name, "b.test");
	/* readdir order: look each one up */
	assert_int_equal(c->n_warnings, 4);
	const char *expect[][2] = {
	    {loop, ": Too many levels of symbolic links; skipped"},
	    {"zones/db.loop1", ": Too many levels of symbolic links; skipped"},
	    {"zones/db.loop2", ": Too many levels of symbolic links; skipped"},
	    {bad, ": bad zone name \"bad name\": blank or control character; skipped"},
	};
	snprintf(want, sizeof(want), "%s:2: zones-dir: ", f->path);
	for (size_t i = 0; i < N(expect); i++) {
		bool found = false;
		for (size_t j = 0; j < c->n_warnings && !found; j++) {
			const char *w = c->warnings[j];
			const char *p = strstr(w, expect[i][0]);
			found = strncmp(w, want, strlen(want)) == 0 && p &&
			        strcmp(p + strlen(expect[i][0]), expect[i][1]) == 0;
		}
		if (!found)
			fail_msg("no warning \"%s...%s%s\"", want, expect[i][0], expect[i][1]);
	}
	conf_free(c);

	/* Without a config file (and so on every reload of it): the same. */
	c = NULL;
	assert_int_equal(conf_default(at(f, "zones"), 53, &c, f->err, sizeof(f->err)), 0);
	assert_int_equal(c->n_zones, 2);
	assert_int_equal(c->n_warnings, 4);
	for (size_t j = 0; j < c->n_warnings; j++)
		assert_int_equal(c->warnings[j][0], '/'); /* no config line to point at */
	conf_free(c);

	/* The public scan appends warnings as it appends zones. */
	c = load_ok(f, "server: {}\n");
	assert_int_equal(c->n_warnings, 0);
	assert_int_equal(conf_scan_zones_dir(c, at(f, "zones"), f->err, sizeof(f->err)), 0);
	assert_int_equal(c->n_zones, 2);
	assert_int_equal(c->n_warnings, 4);
	conf_free(c);
}

static void zones_dir_duplicate_files(void **state)
{
	fx_t *f = *state;
	conf_t *c = NULL;
	char msg[1200];
	mkdir_in(f, "zones");
	put(f, "zones/a.test.zone", "");
	put(f, "zones/db.A.test", "");
	/* Sorted by name then file name: "a.test.zone" < "db.A.test". */
	char first[512], second[512];
	snprintf(first, sizeof(first), "%s", at(f, "zones/a.test.zone"));
	snprintf(second, sizeof(second), "%s", at(f, "zones/db.A.test"));
	snprintf(msg, sizeof(msg), "%s: duplicate zone A.test (first in %s)", second, first);
	assert_int_equal(conf_default(at(f, "zones"), 53, &c, f->err, sizeof(f->err)), SRVD_EPARSE);
	assert_string_equal(f->err, msg);
	assert_null(c);
}

static void conf_default_serves_a_folder(void **state)
{
	fx_t *f = *state;
	conf_t *c = NULL;
	make_zone_folder(f);
	assert_int_equal(conf_default(at(f, "zones"), 5353, &c, f->err, sizeof(f->err)), 0);
	assert_int_equal(c->n_listen, 2);
	assert_addr(&c->listen[0], "127.0.0.1", 5353);
	assert_addr(&c->listen[1], "::1", 5353);
	assert_string_equal(c->zones_dir, at(f, "zones"));
	assert_null(c->path);
	assert_string_equal(c->log_level, "info");
	assert_int_equal(c->udp_payload, 1232);
	assert_int_equal(c->n_zones, 3);
	assert_string_equal(c->zones[0].name, "Alpha.test");
	assert_string_equal(c->zones[1].name, "example.com");
	assert_string_equal(c->zones[2].name, "example.org");
	assert_string_equal(c->zones[2].file, at(f, "zones/example.org.zone"));
	assert_int_equal(c->zones[2].n_allow_transfer, 0);
	conf_free(c);

	c = (conf_t *)(uintptr_t)0x1;
	assert_int_equal(conf_default(at(f, "nowhere"), 53, &c, f->err, sizeof(f->err)), SRVD_EIO);
	char want[600];
	snprintf(want, sizeof(want), "%s: No such file or directory", at(f, "nowhere"));
	assert_string_equal(f->err, want);
	assert_int_equal(conf_default(NULL, 53, &c, NULL, 0), SRVD_EINVAL);
	assert_int_equal(conf_default(f->dir, 0, &c, NULL, 0), SRVD_EINVAL);
	assert_ptr_equal(c, (conf_t *)(uintptr_t)0x1);

	/* an empty folder is fine: nothing to serve yet */
	mkdir_in(f, "empty");
	assert_int_equal(conf_default(at(f, "empty"), 53, &c, NULL, 0), 0);
	assert_int_equal(c->n_zones, 0);
	conf_free(c);
}

/* The public scan appends, and on failure leaves c as it was. */
static void scan_appends_or_changes_nothing(void **state)
{
	fx_t *f = *state;
	mkdir_in(f, "more");
	put(f, "more/db.b.test", "");
	put(f, "more/c.test.zone", "");
	conf_t *c = load_ok(f, "server: {allow-transfer: 10.0.0.0/8}\n"
	                       "zones:\n  - {name: a.test, file: /a}\n");
	assert_int_equal(conf_scan_zones_dir(c, at(f, "more"), f->err, sizeof(f->err)), 0);
	assert_int_equal(c->n_zones, 3);
	assert_string_equal(c->zones[1].name, "b.test");
	assert_string_equal(c->zones[2].name, "c.test");
	assert_int_equal(c->zones[2].n_allow_transfer, 1);

	assert_int_equal(conf_scan_zones_dir(c, at(f, "more"), f->err, sizeof(f->err)),
	                 SRVD_EPARSE);
	assert_non_null(strstr(f->err, "duplicate zone b.test (first in"));
	assert_int_equal(c->n_zones, 3);
	assert_int_equal(conf_scan_zones_dir(c, at(f, "nowhere"), NULL, 0), SRVD_EIO);
	assert_int_equal(c->n_zones, 3);
	assert_int_equal(conf_scan_zones_dir(NULL, f->dir, NULL, 0), SRVD_EINVAL);
	assert_int_equal(conf_scan_zones_dir(c, NULL, NULL, 0), SRVD_EINVAL);
	conf_free(c);
}

static void free_accepts_null(void **state)
{
	conf_free(NULL);
}

/* server: rrl and cookies: off and on by default, every value, every
 * error with its line. */
static void rrl_and_cookies(void **state)
{
	fx_t *f = *state;
	conf_t *c = load_ok(f, "server:\n  listen: 127.0.0.1@5300\n");
	assert_false(c->rrl.on);
	assert_int_equal(c->cookies, SRVD_COOKIES_ON);
	assert_false(c->has_cookie_secret);
	assert_int_equal(c->cookie_rotate, 3600);
	conf_free(c);
	c = load_ok(f, "server:\n  rrl: {}\n");
	assert_true(c->rrl.on);
	assert_int_equal(c->rrl.rate, 20);
	assert_int_equal(c->rrl.slip, 2);
	assert_int_equal(c->rrl.window, 15);
	assert_int_equal(c->rrl.ipv4_prefix, 24);
	assert_int_equal(c->rrl.ipv6_prefix, 56);
	conf_free(c);
	c = load_ok(f, "server:\n"
	               "  rrl:\n"
	               "    rate: 5\n"
	               "    slip: 0\n"
	               "    window: 3\n"
	               "    ipv4-prefix: 32\n"
	               "    ipv6-prefix: 64\n"
	               "    exempt: [192.0.2.0/24, \"2001:db8::/32\"]\n"
	               "    log-only: true\n"
	               "    table-size: 1024\n"
	               "  cookies: require\n"
	               "  cookie-secret: e5e973e5a6b2a43f48e7dc849e37bfcf\n"
	               "  cookie-rotate: 60\n");
	assert_true(c->rrl.on);
	assert_int_equal(c->rrl.rate, 5);
	assert_int_equal(c->rrl.slip, 0);
	assert_int_equal(c->rrl.window, 3);
	assert_int_equal(c->rrl.ipv4_prefix, 32);
	assert_int_equal(c->rrl.ipv6_prefix, 64);
	assert_int_equal(c->rrl.n_exempt, 2);
	assert_prefix(&c->rrl.exempt[0], "192.0.2.0", 24);
	assert_true(c->rrl.log_only);
	assert_int_equal(c->rrl.table_size, 1024);
	assert_int_equal(c->cookies, SRVD_COOKIES_REQUIRE);
	assert_true(c->has_cookie_secret);
	assert_int_equal(c->cookie_secret[0], 0xe5);
	assert_int_equal(c->cookie_secret[15], 0xcf);
	assert_int_equal(c->cookie_rotate, 60);
	conf_free(c);
	c = load_ok(f, "server:\n  rrl: {rate: 0}\n  cookies: off\n");
	assert_false(c->rrl.on);
	assert_int_equal(c->cookies, SRVD_COOKIES_OFF);
	conf_free(c);
	static const bad_t bad[] = {
	    {"server:\n  rrl: 5\n", 2, "rrl: expected a mapping"},
	    {"server:\n  rrl:\n    rate: -1\n", 3, "rate: expected an integer"},
	    {"server:\n  rrl:\n    ipv4-prefix: 33\n", 3, "out of range 8..32"},
	    {"server:\n  rrl:\n    burst: 3\n", 3, "unknown key \"burst\" in rrl"},
	    {"server:\n  rrl:\n    exempt: [key:k]\n", 3, "bad prefix"},
	    {"server:\n  rrl:\n    log-only: yes\n", 3, "expected true or false"},
	    {"server:\n  cookies: maybe\n", 2, "not one of off, on, require"},
	    {"server:\n  cookie-secret: abcd\n", 2, "32 hexadecimal digits"},
	    {"server:\n  cookie-secret: e5e973e5a6b2a43f48e7dc849e37bfcg\n", 2, "32 hexadecimal"},
	    {"server:\n  cookie-rotate: 1\n", 2, "out of range"},
	};
	load_errs(f, bad, N(bad));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(defaults_for_empty_files),
	    T(every_server_key),
	    T(rrl_and_cookies),
	    T(log_keys_accept_each_value),
	    T(bounds_are_inclusive),
	    T(list_as_scalar_or_sequence),
	    T(yaml_anchors_work),
	    T(parse_addr_forms),
	    T(parse_addr_rejects),
	    T(parse_prefix_forms),
	    T(parse_prefix_rejects),
	    T(unknown_keys_at_every_level),
	    T(wrong_types),
	    T(bad_values),
	    T(long_zone_name_and_control_path),
	    T(duplicate_keys),
	    T(zones_need_name_and_file),
	    T(zones_keep_order_and_lines),
	    T(duplicate_zones),
	    T(allow_transfer_inheritance),
	    T(secondary_zone),
	    T(secondary_errors),
	    T(transfer_acl_keys),
	    T(update_settings),
	    T(secret_files),
	    T(syntax_errors_name_the_line),
	    T(io_errors),
	    T(error_buffer_may_be_small_or_absent),
	    T(large_file),
	    T(relative_paths_follow_the_config),
	    T(relative_config_path),
	    T(state_dir_defaults),
	    T(zones_dir_scan),
	    T(zones_dir_errors),
	    T(zones_dir_bad_entries_are_skipped),
	    T(zones_dir_duplicate_files),
	    T(conf_default_serves_a_folder),
	    T(scan_appends_or_changes_nothing),
	    T(free_accepts_null),
	};
#undef T
	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
