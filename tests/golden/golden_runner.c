/* Golden test runner: zone files plus queries with expected answers, run
 * in-process through the public API (include/srvd/srvd.h) only.
 *
 * Usage: golden_runner FILE.test
 *
 * A .test file is line based; '#' at the start of a line is a comment.
 *
 *   zone ORIGIN PATH [allow=PREFIX,...]   load a zone (PATH relative to the
 *                                         .test file); all zones form one set
 *   responder [nsid=S] [identity=S] [version=S] [payload=N]
 *
 *   query NAME TYPE [CLASS] [+option ...] one case; the query is built here,
 *                                         NAME keeps its case
 *     options: +noedns +bufsize=N +edns=VERSION +do +nsid +two-opt +tcp
 *              +rd +cd +ad +qr +opcode=N +qdcount=N +id=N +ixfr=SERIAL
 *              +src=ADDR|none (default 127.0.0.1) +cap=N (output buffer)
 *              +xfrcap=N (message size for srvd_xfr_next) +raw=HEX
 *   result OK|DROP|XFR                    srvd_respond's return (default OK)
 *   rcode NAME                            NOERROR FORMERR ... BADVERS
 *   flags F...                            the exact set of qr aa tc rd ra ad cd
 *   answer RR | authority RR | additional RR
 *                                         each section is compared as a
 *                                         multiset with the lines given (none
 *                                         given = empty section); names are
 *                                         case-insensitive, TTLs exact
 *   edns none | edns [payload=N] [version=N] [do] [nsid=S] [nonsid]
 *                                         without this line: OPT must be
 *                                         present exactly when the query
 *                                         carried one well-formed OPT
 *   question none                         QDCOUNT 0 expected; otherwise the
 *                                         question must be echoed byte-exact
 *   maxsize N                             response length <= N
 *   compressed                            response shorter than the same
 *                                         records with names uncompressed
 *   xfr RR                                (result XFR) every record streamed
 *                                         by srvd_xfr_*, as a multiset; the
 *                                         first and last must be the SOA
 *   xfr-zone PATH                         (result XFR) like one xfr line per
 *                                         record of the zone file PATH, its
 *                                         SOA twice: the transfer carries
 *                                         every record as written, TTLs too
 *   xfr-messages N                        number of messages streamed
 *   xfr-messages-min N                    at least N messages
 *   xfr-records N                         number of records streamed (with
 *                                         no xfr lines: only the count)
 *   sections subset                       the records listed must be there,
 *                                         others may be too (TC answers)
 *   whole-rrsets                          every RRset in the response is
 *                                         complete: it has as many records
 *                                         as in the same query over TCP
 *   end
 *
 * Output: one line per case and a closing "N passed, N failed" line; the
 * exit status is non-zero when any case failed.
 */
#include "common/ldns.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "srvd/srvd.h"

enum { MAX_ZONES = 16, MAX_ACL = 8, MAX_EXPECT = 512 };

typedef struct zone_decl {
	char origin[256];
	char path[PATH_MAX];
	srvd_prefix_t acl[MAX_ACL];
	size_t n_acl;
} zone_decl_t;

typedef enum { S_AN, S_NS, S_AR, S_XFR, S_COUNT } sec_t;
static const char *sec_names[S_COUNT] = {"answer", "authority", "additional", "xfr"};

typedef struct expect {
	int result; /* SRVD_OK, SRVD_DROP, SRVD_XFR */
	int rcode;  /* -1: not checked */
	bool flags_set;
	unsigned flags; /* header bits */
	ldns_rr *rrs[S_COUNT][MAX_EXPECT];
	size_t n_rrs[S_COUNT];
	int edns; /* -1 default rule, 0 none, 1 present */
	int edns_payload, edns_version, edns_do;
	char nsid[4096];
	bool nsid_set, nonsid;
	bool no_question;
	long maxsize;
	bool compressed;
	long xfr_messages;
	long xfr_records;
	long xfr_messages_min;
	bool subset;
	bool whole_rrsets;
} expect_t;

typedef struct query {
	char line[1024];
	char name[1024];
	uint16_t type, qclass;
	bool edns, nsid, tcp, rd, cd, ad, qr, do_bit, two_opt;
	uint16_t bufsize;
	uint8_t version;
	unsigned opcode;
	long qdcount;
	uint16_t id;
	bool ixfr;
	uint32_t ixfr_serial;
	bool src_none;
	struct sockaddr_storage src;
	size_t cap, xfrcap;
	uint8_t raw[4096];
	size_t raw_len;
} query_t;

static const char *g_dir = ".";
static const char *g_file;
static unsigned g_lineno;
static unsigned g_pass, g_fail;

static zone_decl_t g_zones[MAX_ZONES];
static size_t g_nzones;
static srvd_responder_opts_t g_opts;
static char g_nsid[4096], g_identity[256], g_version[256];
static srvd_zoneset_t *g_zs;
static srvd_responder_t *g_r;

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s:%u: ", g_file, g_lineno);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ---- case failure reporting ------------------------------------------- */

static char g_errbuf[65536];
static size_t g_errlen;

static void failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (g_errlen < sizeof(g_errbuf) - 1) {
		int n = vsnprintf(g_errbuf + g_errlen, sizeof(g_errbuf) - g_errlen, fmt, ap);
		if (n > 0)
			g_errlen += (size_t)n;
		if (g_errlen > sizeof(g_errbuf) - 1)
			g_errlen = sizeof(g_errbuf) - 1;
	}
	va_end(ap);
}

/* ---- parsing helpers ---------------------------------------------------- */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = 0;
	return s;
}

static long parse_num(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || *end || end == s)
		die("not a number: %s", s);
	return v;
}

static const struct {
	const char *name;
	int code;
} rcodes[] = {{"NOERROR", 0}, {"FORMERR", 1}, {"SERVFAIL", 2}, {"NXDOMAIN", 3},
              {"NOTIMP", 4},  {"REFUSED", 5}, {"YXDOMAIN", 6}, {"YXRRSET", 7},
              {"NXRRSET", 8}, {"NOTAUTH", 9}, {"NOTZONE", 10}, {"BADVERS", 16}};

static int rcode_by_name(const char *s)
{
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (strcasecmp(s, rcodes[i].name) == 0)
			return rcodes[i].code;
	die("unknown rcode %s", s);
	return -1;
}

static const char *rcode_name(int c)
{
	static char buf[16];
	for (size_t i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++)
		if (rcodes[i].code == c)
			return rcodes[i].name;
	snprintf(buf, sizeof(buf), "RCODE%d", c);
	return buf;
}

static const struct {
	const char *name;
	unsigned bit;
} flag_bits[] = {{"qr", 0x8000}, {"aa", 0x0400}, {"tc", 0x0200}, {"rd", 0x0100},
                 {"ra", 0x0080}, {"z", 0x0040},  {"ad", 0x0020}, {"cd", 0x0010}};

static void flags_str(unsigned f, char *buf, size_t cap)
{
	buf[0] = 0;
	for (size_t i = 0; i < sizeof(flag_bits) / sizeof(flag_bits[0]); i++) {
		if (f & flag_bits[i].bit) {
			if (buf[0])
				strncat(buf, " ", cap - strlen(buf) - 1);
			strncat(buf, flag_bits[i].name, cap - strlen(buf) - 1);
		}
	}
	if (!buf[0])
		snprintf(buf, cap, "(none)");
}

static uint16_t class_by_name(const char *s)
{
	if (strcasecmp(s, "NONE") == 0)
		return 254;
	if (strcasecmp(s, "ANY") == 0)
		return 255;
	ldns_rr_class c = ldns_get_rr_class_by_name(s);
	if (c == 0)
		die("unknown class %s", s);
	return (uint16_t)c;
}

static bool looks_like_class(const char *s)
{
	return strcasecmp(s, "IN") == 0 || strcasecmp(s, "CH") == 0 || strcasecmp(s, "HS") == 0 ||
	       strcasecmp(s, "NONE") == 0 || strcasecmp(s, "ANY") == 0 ||
	       strncasecmp(s, "CLASS", 5) == 0;
}

static void parse_prefix(const char *s, srvd_prefix_t *p)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", s);
	char *slash = strchr(buf, '/');
	long bits = -1;
	if (slash) {
		*slash = 0;
		bits = parse_num(slash + 1);
	}
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = 4;
		p->bits = (uint8_t)(bits < 0 ? 32 : bits);
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = 6;
		p->bits = (uint8_t)(bits < 0 ? 128 : bits);
	} else {
		die("bad prefix %s", s);
	}
}

static void parse_addr(const char *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(53000);
	} else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(53000);
	} else {
		die("bad address %s", s);
	}
}

/* ---- directives ------------------------------------------------------- */

static void directive_zone(char *args)
{
	if (g_zs)
		die("zone after the first query");
	if (g_nzones == MAX_ZONES)
		die("too many zones");
	zone_decl_t *z = &g_zones[g_nzones++];
	char *save = NULL;
	char *origin = strtok_r(args, " \t", &save);
	char *path = strtok_r(NULL, " \t", &save);
	if (!origin || !path)
		die("zone ORIGIN PATH [allow=...]");
	snprintf(z->origin, sizeof(z->origin), "%s", origin);
	if (path[0] == '/')
		snprintf(z->path, sizeof(z->path), "%s", path);
	else
		snprintf(z->path, sizeof(z->path), "%s/%s", g_dir, path);
	char *opt;
	while ((opt = strtok_r(NULL, " \t", &save)) != NULL) {
		if (strncmp(opt, "allow=", 6) != 0)
			die("unknown zone option %s", opt);
		char *s2 = NULL;
		for (char *p = strtok_r(opt + 6, ",", &s2); p; p = strtok_r(NULL, ",", &s2)) {
			if (z->n_acl == MAX_ACL)
				die("too many prefixes");
			parse_prefix(p, &z->acl[z->n_acl++]);
		}
	}
}

static void directive_responder(char *args)
{
	if (g_r)
		die("responder after the first query");
	char *save = NULL;
	for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (strncmp(t, "nsid=", 5) == 0) {
			snprintf(g_nsid, sizeof(g_nsid), "%s", t + 5);
			g_opts.nsid = g_nsid;
		} else if (strncmp(t, "identity=", 9) == 0) {
			snprintf(g_identity, sizeof(g_identity), "%s", t + 9);
			g_opts.identity = g_identity;
		} else if (strncmp(t, "version=", 8) == 0) {
			snprintf(g_version, sizeof(g_version), "%s", t + 8);
			g_opts.version = g_version;
		} else if (strncmp(t, "payload=", 8) == 0) {
			g_opts.udp_payload = (uint16_t)parse_num(t + 8);
		} else {
			die("unknown responder option %s", t);
		}
	}
}

static void diag_print(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                       unsigned line, const char *msg)
{
	fprintf(stderr, "  zone %s: %s:%u: %s: %s\n", zone, file ? file : "-", line,
	        level == SRVD_DIAG_ERROR ? "error" : "warning", msg);
}

static void load_everything(void)
{
	srvd_zone_src_t src[MAX_ZONES];
	for (size_t i = 0; i < g_nzones; i++) {
		src[i] =
		    (srvd_zone_src_t){.origin = g_zones[i].origin,
		                      .path = g_zones[i].path,
		                      .allow_transfer = g_zones[i].n_acl ? g_zones[i].acl : NULL,
		                      .n_allow_transfer = g_zones[i].n_acl};
	}
	srvd_diag_t diag = {.fn = diag_print};
	int rc = srvd_zoneset_load(src, g_nzones, &g_zs, &diag);
	if (rc != 0)
		die("zones do not load: %s", srvd_strerror(rc));
	if (diag.errors)
		die("zones loaded with %u errors", diag.errors);
	rc = srvd_responder_new(&g_opts, &g_r);
	if (rc != 0)
		die("srvd_responder_new: %s", srvd_strerror(rc));
}

/* ---- query construction ------------------------------------------------- */

static void parse_query(char *args, query_t *q)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->line, sizeof(q->line), "query %s", args);
	q->edns = true;
	q->bufsize = 1232;
	q->qclass = 1;
	q->qdcount = -1;
	q->id = (uint16_t)(0x4000 + g_lineno);
	q->cap = 65535;
	q->xfrcap = 65535;
	parse_addr("127.0.0.1", &q->src);
	char *save = NULL;
	char *name = strtok_r(args, " \t", &save);
	char *type = strtok_r(NULL, " \t", &save);
	if (!name || !type)
		die("query NAME TYPE [CLASS] [+options]");
	snprintf(q->name, sizeof(q->name), "%s", name);
	ldns_rr_type t = ldns_get_rr_type_by_name(type);
	if (t == 0 && strcasecmp(type, "TYPE0") != 0)
		die("unknown type %s", type);
	q->type = (uint16_t)t;
	char *tok;
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		if (tok[0] != '+') {
			if (!looks_like_class(tok))
				die("expected a class or +option: %s", tok);
			q->qclass = class_by_name(tok);
			continue;
		}
		char *v = strchr(tok, '=');
		if (v)
			*v++ = 0;
		const char *o = tok + 1;
		if (strcmp(o, "noedns") == 0)
			q->edns = false;
		else if (strcmp(o, "bufsize") == 0 && v)
			q->bufsize = (uint16_t)parse_num(v);
		else if (strcmp(o, "edns") == 0 && v)
			q->version = (uint8_t)parse_num(v);
		else if (strcmp(o, "do") == 0)
			q->do_bit = true;
		else if (strcmp(o, "nsid") == 0)
			q->nsid = true;
		else if (strcmp(o, "two-opt") == 0)
			q->two_opt = true;
		else if (strcmp(o, "tcp") == 0)
			q->tcp = true;
		else if (strcmp(o, "rd") == 0)
			q->rd = true;
		else if (strcmp(o, "cd") == 0)
			q->cd = true;
		else if (strcmp(o, "ad") == 0)
			q->ad = true;
		else if (strcmp(o, "qr") == 0)
			q->qr = true;
		else if (strcmp(o, "opcode") == 0 && v)
			q->opcode = (unsigned)parse_num(v);
		else if (strcmp(o, "qdcount") == 0 && v)
			q->qdcount = parse_num(v);
		else if (strcmp(o, "id") == 0 && v)
			q->id = (uint16_t)parse_num(v);
		else if (strcmp(o, "ixfr") == 0 && v) {
			q->ixfr = true;
			q->ixfr_serial = (uint32_t)strtoul(v, NULL, 10);
		} else if (strcmp(o, "src") == 0 && v) {
			if (strcmp(v, "none") == 0)
				q->src_none = true;
			else
				parse_addr(v, &q->src);
		} else if (strcmp(o, "cap") == 0 && v)
			q->cap = (size_t)parse_num(v);
		else if (strcmp(o, "xfrcap") == 0 && v)
			q->xfrcap = (size_t)parse_num(v);
		else if (strcmp(o, "raw") == 0 && v) {
			size_t n = strlen(v);
			if (n % 2 || n / 2 > sizeof(q->raw))
				die("bad +raw");
			for (size_t i = 0; i < n / 2; i++) {
				unsigned b;
				if (sscanf(v + 2 * i, "%2x", &b) != 1)
					die("bad +raw");
				q->raw[i] = (uint8_t)b;
			}
			q->raw_len = n / 2;
			if (q->raw_len == 0)
				q->raw_len = SIZE_MAX; /* an empty message */
		} else
			die("unknown query option +%s", o);
	}
}

typedef struct wbuf {
	uint8_t b[4096];
	size_t n;
} wbuf_t;

static void put8(wbuf_t *w, unsigned v)
{
	if (w->n >= sizeof(w->b))
		die("query too long");
	w->b[w->n++] = (uint8_t)v;
}

static void put16(wbuf_t *w, unsigned v)
{
	put8(w, v >> 8);
	put8(w, v & 0xFF);
}

static void put32(wbuf_t *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v & 0xFFFF);
}

static void put_opt(wbuf_t *w, const query_t *q)
{
	put8(w, 0);
	put16(w, 41);
	put16(w, q->bufsize);
	put8(w, 0);
	put8(w, q->version);
	put16(w, q->do_bit ? 0x8000 : 0);
	put16(w, q->nsid ? 4 : 0);
	if (q->nsid) {
		put16(w, 3);
		put16(w, 0);
	}
}

static size_t build_query(const query_t *q, uint8_t *out)
{
	if (q->raw_len) {
		size_t n = q->raw_len == SIZE_MAX ? 0 : q->raw_len;
		memcpy(out, q->raw, n);
		return n;
	}
	wbuf_t w = {.n = 0};
	ldns_rdf *dn = NULL;
	if (ldns_str2rdf_dname(&dn, q->name) != LDNS_STATUS_OK)
		die("bad name %s", q->name);
	unsigned flags = (q->qr ? 0x8000 : 0) | (q->opcode & 0xF) << 11 | (q->rd ? 0x0100 : 0) |
	                 (q->ad ? 0x0020 : 0) | (q->cd ? 0x0010 : 0);
	unsigned qd = q->qdcount >= 0 ? (unsigned)q->qdcount : 1;
	unsigned ar = (q->edns ? 1u : 0u) + (q->two_opt ? 1u : 0u);
	put16(&w, q->id);
	put16(&w, flags);
	put16(&w, qd);
	put16(&w, 0);
	put16(&w, q->ixfr ? 1 : 0);
	put16(&w, ar);
	/* As many questions as QDCOUNT says (0 writes none). */
	for (unsigned i = 0; i < (qd ? qd : 0); i++) {
		for (size_t k = 0; k < ldns_rdf_size(dn); k++)
			put8(&w, ldns_rdf_data(dn)[k]);
		put16(&w, q->type);
		put16(&w, q->qclass);
	}
	if (q->ixfr) {
		/* RFC 1995 3: the client's SOA in the authority section. */
		put16(&w, 0xC00C);
		put16(&w, 6);
		put16(&w, 1);
		put32(&w, 0);
		put16(&w, 22);
		put8(&w, 0);
		put8(&w, 0);
		put32(&w, q->ixfr_serial);
		for (int i = 0; i < 4; i++)
			put32(&w, 0);
	}
	if (q->edns)
		put_opt(&w, q);
	if (q->two_opt)
		put_opt(&w, q);
	ldns_rdf_deep_free(dn);
	memcpy(out, w.b, w.n);
	return w.n;
}

/* ---- response inspection -------------------------------------------------- */

typedef struct raw_info {
	bool ok;
	uint16_t count[4];
	unsigned opt;
	uint16_t opt_payload;
	uint8_t opt_ext_rcode, opt_version;
	bool opt_do;
	bool nsid_present;
	char nsid[4096];
	size_t question_len; /* bytes of the question section */
} raw_info_t;

/* Skip a (possibly compressed) name; false when malformed. */
static bool skip_name(const uint8_t *m, size_t n, size_t *pos)
{
	size_t p = *pos;
	for (unsigned guard = 0; guard < 256; guard++) {
		if (p >= n)
			return false;
		uint8_t c = m[p];
		if ((c & 0xC0) == 0xC0) {
			if (p + 2 > n)
				return false;
			*pos = p + 2;
			return true;
		}
		if (c & 0xC0)
			return false;
		p += 1u + c;
		if (c == 0) {
			*pos = p;
			return p <= n;
		}
	}
	return false;
}

static void raw_walk(const uint8_t *m, size_t n, raw_info_t *ri)
{
	memset(ri, 0, sizeof(*ri));
	if (n < 12)
		return;
	for (int i = 0; i < 4; i++)
		ri->count[i] = (uint16_t)(m[4 + 2 * i] << 8 | m[5 + 2 * i]);
	size_t pos = 12;
	for (unsigned i = 0; i < ri->count[0]; i++) {
		if (!skip_name(m, n, &pos) || pos + 4 > n)
			return;
		pos += 4;
	}
	ri->question_len = pos - 12;
	for (int s = 1; s < 4; s++) {
		for (unsigned i = 0; i < ri->count[s]; i++) {
			size_t owner = pos;
			if (!skip_name(m, n, &pos) || pos + 10 > n)
				return;
			uint16_t type = (uint16_t)(m[pos] << 8 | m[pos + 1]);
			uint16_t rdlen = (uint16_t)(m[pos + 8] << 8 | m[pos + 9]);
			if (pos + 10 + rdlen > n)
				return;
			if (type == 41) {
				ri->opt++;
				if (s != 3 || m[owner] != 0)
					return;
				ri->opt_payload = (uint16_t)(m[pos + 2] << 8 | m[pos + 3]);
				ri->opt_ext_rcode = m[pos + 4];
				ri->opt_version = m[pos + 5];
				ri->opt_do = (m[pos + 6] & 0x80) != 0;
				size_t o = pos + 10, end = o + rdlen;
				while (o + 4 <= end) {
					uint16_t code = (uint16_t)(m[o] << 8 | m[o + 1]);
					uint16_t olen = (uint16_t)(m[o + 2] << 8 | m[o + 3]);
					if (o + 4 + olen > end)
						return;
					if (code == 3) {
						ri->nsid_present = true;
						size_t k = olen < sizeof(ri->nsid) - 1
						               ? olen
						               : sizeof(ri->nsid) - 1;
						memcpy(ri->nsid, m + o + 4, k);
						ri->nsid[k] = 0;
					}
					o += 4u + olen;
				}
				if (o != end)
					return;
			}
			pos += 10u + rdlen;
		}
	}
	ri->ok = pos == n;
}

static char *rr_str(const ldns_rr *rr)
{
	char *s = ldns_rr2str(rr);
	if (!s)
		return strdup("(unprintable)");
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
	for (char *p = s; *p; p++)
		if (*p == '\t')
			*p = ' ';
	return s;
}

static bool rr_equal(const ldns_rr *a, const ldns_rr *b)
{
	return ldns_rr_get_type(a) == ldns_rr_get_type(b) &&
	       ldns_rr_get_class(a) == ldns_rr_get_class(b) && ldns_rr_ttl(a) == ldns_rr_ttl(b) &&
	       ldns_rr_compare(a, b) == 0;
}

/* Multiset comparison of one section; reports missing and unexpected RRs. */
static void compare_section(sec_t s, const expect_t *e, const ldns_rr_list *got)
{
	if (s == S_XFR && e->n_rrs[s] == 0 && e->xfr_records >= 0)
		return; /* only the count was asked for */
	size_t ng = got ? ldns_rr_list_rr_count(got) : 0;
	bool used[8192] = {false};
	if (ng > sizeof(used))
		ng = sizeof(used);
	bool bad = false;
	for (size_t i = 0; i < e->n_rrs[s]; i++) {
		bool found = false;
		for (size_t k = 0; k < ng && !found; k++) {
			if (!used[k] && rr_equal(e->rrs[s][i], ldns_rr_list_rr(got, k))) {
				used[k] = true;
				found = true;
			}
		}
		if (!found) {
			char *t = rr_str(e->rrs[s][i]);
			failf("  %s: missing   %s\n", sec_names[s], t);
			free(t);
			bad = true;
		}
	}
	for (size_t k = 0; k < ng && !(e->subset && s != S_XFR); k++) {
		if (!used[k]) {
			char *t = rr_str(ldns_rr_list_rr(got, k));
			failf("  %s: unexpected %s\n", sec_names[s], t);
			free(t);
			bad = true;
		}
	}
	(void)bad;
}

static size_t uncompressed_size(const ldns_pkt *p, const raw_info_t *ri, size_t opt_len)
{
	size_t n = 12 + ri->question_len + opt_len;
	const ldns_rr_list *secs[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
	                               ldns_pkt_additional(p)};
	for (int s = 0; s < 3; s++)
		for (size_t i = 0; secs[s] && i < ldns_rr_list_rr_count(secs[s]); i++)
			n += ldns_rr_uncompressed_size(ldns_rr_list_rr(secs[s], i));
	return n;
}

static size_t rrset_count(const ldns_rr_list *l, const ldns_rr *rr)
{
	size_t n = 0;
	for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *x = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(x) == ldns_rr_get_type(rr) &&
		    ldns_dname_compare(ldns_rr_owner(x), ldns_rr_owner(rr)) == 0)
			n++;
	}
	return n;
}

/* RFC 2181 9: a truncated response carries whole RRsets only. The same
 * query over TCP is not truncated, so it tells how big each RRset is. */
static void check_whole_rrsets(const uint8_t *qw, size_t qn, const ldns_pkt *p)
{
	srvd_query_t sq = {.wire = qw, .len = qn, .transport = SRVD_TCP};
	static uint8_t full[65535];
	size_t len = 0;
	ldns_pkt *fp = NULL;
	if (srvd_respond(g_r, g_zs, &sq, full, sizeof(full), &len) != SRVD_OK ||
	    ldns_wire2pkt(&fp, full, len) != LDNS_STATUS_OK) {
		failf("  whole-rrsets: the TCP query failed\n");
		return;
	}
	const ldns_rr_list *secs[3] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
	                               ldns_pkt_additional(p)};
	const ldns_rr_list *fsecs[3] = {ldns_pkt_answer(fp), ldns_pkt_authority(fp),
	                                ldns_pkt_additional(fp)};
	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; secs[s] && i < ldns_rr_list_rr_count(secs[s]); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(secs[s], i);
			size_t got = rrset_count(secs[s], rr), want = rrset_count(fsecs[s], rr);
			if (got != want) {
				char *t = rr_str(rr);
				failf("  %s: partial RRset (%zu of %zu) of %s\n", sec_names[s], got,
				      want, t);
				free(t);
				break;
			}
		}
	}
	ldns_pkt_free(fp);
}

static void check_response(const query_t *q, const uint8_t *qw, size_t qn, const expect_t *e,
                           const uint8_t *resp, size_t len)
{
	raw_info_t ri;
	raw_walk(resp, len, &ri);
	if (!ri.ok) {
		failf("  response does not parse (%zu bytes)\n", len);
		return;
	}
	if (len < 12 || resp[0] != qw[0] || resp[1] != qw[1])
		failf("  ID not echoed\n");
	unsigned flags = (unsigned)(resp[2] << 8 | resp[3]) & 0xFFF0;
	flags &= ~0x7800u; /* the opcode */
	if (e->flags_set && flags != e->flags) {
		char a[64], b[64];
		flags_str(flags, a, sizeof(a));
		flags_str(e->flags, b, sizeof(b));
		failf("  flags: got %s, want %s\n", a, b);
	}
	unsigned opcode = (unsigned)(resp[2] >> 3) & 0xF;
	if (qn >= 12 && opcode != ((unsigned)(qw[2] >> 3) & 0xF))
		failf("  opcode not echoed\n");
	int rcode = (resp[3] & 0xF) | (ri.opt ? ri.opt_ext_rcode << 4 : 0);
	if (e->rcode >= 0 && rcode != e->rcode)
		failf("  rcode: got %s, want %s\n", rcode_name(rcode), rcode_name(e->rcode));
	/* Question: echoed byte for byte (0x20 case included), or absent. */
	if (e->no_question) {
		if (ri.count[0] != 0)
			failf("  question: got QDCOUNT %u, want 0\n", ri.count[0]);
	} else if (ri.count[0] != 1) {
		failf("  question: got QDCOUNT %u, want 1\n", ri.count[0]);
	} else if (qn < 12 + ri.question_len || memcmp(qw + 12, resp + 12, ri.question_len) != 0) {
		failf("  question: not echoed byte for byte\n");
	}
	/* EDNS */
	if (ri.opt > 1)
		failf("  %u OPT records in the response\n", ri.opt);
	int want_opt = e->edns;
	if (want_opt < 0)
		want_opt = q->edns && !q->two_opt && !q->raw_len;
	if (want_opt == 0 && ri.opt)
		failf("  edns: OPT present, want none\n");
	if (want_opt == 1 && !ri.opt)
		failf("  edns: no OPT, want one\n");
	if (ri.opt) {
		if (e->edns_payload >= 0 && ri.opt_payload != e->edns_payload)
			failf("  edns: payload %u, want %d\n", ri.opt_payload, e->edns_payload);
		if (e->edns_version >= 0 && ri.opt_version != e->edns_version)
			failf("  edns: version %u, want %d\n", ri.opt_version, e->edns_version);
		if (e->edns_do >= 0 && ri.opt_do != (e->edns_do != 0))
			failf("  edns: DO %d, want %d\n", ri.opt_do, e->edns_do);
		if (e->nsid_set && (!ri.nsid_present || strcmp(ri.nsid, e->nsid) != 0))
			failf("  edns: NSID %s, want \"%s\"\n",
			      ri.nsid_present ? ri.nsid : "(absent)", e->nsid);
		if (e->nonsid && ri.nsid_present)
			failf("  edns: NSID present, want none\n");
	}
	if (e->maxsize >= 0 && (long)len > e->maxsize)
		failf("  size: %zu bytes, want at most %ld\n", len, e->maxsize);
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, resp, len) != LDNS_STATUS_OK) {
		failf("  ldns cannot parse the response\n");
		return;
	}
	compare_section(S_AN, e, ldns_pkt_answer(p));
	compare_section(S_NS, e, ldns_pkt_authority(p));
	compare_section(S_AR, e, ldns_pkt_additional(p));
	if (e->whole_rrsets)
		check_whole_rrsets(qw, qn, p);
	if (e->compressed) {
		size_t opt_len = 0;
		if (ri.opt) {
			/* The OPT's size is the same either way: measure it. */
			opt_len = 11 + (ri.nsid_present ? 4 + strlen(ri.nsid) : 0);
		}
		size_t un = uncompressed_size(p, &ri, opt_len);
		if (len >= un)
			failf("  compression: %zu bytes, uncompressed %zu\n", len, un);
	}
	ldns_pkt_free(p);
}

/* Stream an accepted transfer and check it. */
static void check_xfr(const query_t *q, const srvd_query_t *sq, const expect_t *e)
{
	srvd_xfr_t *x = NULL;
	int rc = srvd_xfr_new(g_zs, sq, &x);
	if (rc != 0) {
		failf("  srvd_xfr_new: %s\n", srvd_strerror(rc));
		return;
	}
	ldns_rr_list *all = ldns_rr_list_new();
	static uint8_t buf[65535];
	int more = 1;
	long msgs = 0;
	while (more && msgs < 100000) {
		size_t len = 0;
		rc = srvd_xfr_next(x, buf, q->xfrcap, &len, &more);
		if (rc != 0) {
			failf("  srvd_xfr_next: %s\n", srvd_strerror(rc));
			break;
		}
		msgs++;
		if (len > q->xfrcap)
			failf("  message %ld: %zu bytes, cap %zu\n", msgs, len, q->xfrcap);
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK) {
			failf("  message %ld does not parse\n", msgs);
			break;
		}
		if (ldns_pkt_id(p) != q->id || !ldns_pkt_qr(p) || !ldns_pkt_aa(p) ||
		    ldns_pkt_get_rcode(p) != 0)
			failf("  message %ld: wrong ID, flags or rcode\n", msgs);
		if (ldns_pkt_qdcount(p) != (msgs == 1 ? 1 : 0))
			failf("  message %ld: QDCOUNT %u\n", msgs, ldns_pkt_qdcount(p));
		const ldns_rr_list *an = ldns_pkt_answer(p);
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
			ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_rr_list_rr(an, i)));
		ldns_pkt_free(p);
	}
	srvd_xfr_free(x);
	size_t n = ldns_rr_list_rr_count(all);
	/* RFC 5936 2.2: the SOA opens and closes the transfer. */
	if (n < 2 || ldns_rr_get_type(ldns_rr_list_rr(all, 0)) != LDNS_RR_TYPE_SOA ||
	    ldns_rr_get_type(ldns_rr_list_rr(all, n - 1)) != LDNS_RR_TYPE_SOA)
		failf("  transfer does not start and end with the SOA\n");
	if (e->xfr_records >= 0 && (long)n != e->xfr_records)
		failf("  transfer: %zu records, want %ld\n", n, e->xfr_records);
	if (e->xfr_messages_min >= 0 && msgs < e->xfr_messages_min)
		failf("  transfer: %ld messages, want at least %ld\n", msgs, e->xfr_messages_min);
	if (e->xfr_messages >= 0 && msgs != e->xfr_messages)
		failf("  transfer: %ld messages, want %ld\n", msgs, e->xfr_messages);
	compare_section(S_XFR, e, all);
	ldns_rr_list_deep_free(all);
}

static void run_case(const query_t *q, const expect_t *e)
{
	if (!g_zs)
		load_everything();
	g_errlen = 0;
	g_errbuf[0] = 0;
	uint8_t qw[4096];
	size_t qn = build_query(q, qw);
	srvd_query_t sq = {.wire = qw,
	                   .len = qn,
	                   .transport = q->tcp ? SRVD_TCP : SRVD_UDP,
	                   .src_addr = q->src_none ? NULL : &q->src};
	static uint8_t resp[65535];
	size_t len = 0;
	int rc = srvd_respond(g_r, g_zs, &sq, resp, q->cap, &len);
	if (rc != e->result) {
		failf("  srvd_respond returned %d (%s), want %d (%s)\n", rc, srvd_strerror(rc),
		      e->result, srvd_strerror(e->result));
	} else if (rc == SRVD_OK && len > q->cap) {
		failf("  srvd_respond wrote %zu bytes into a %zu-byte buffer\n", len, q->cap);
	} else if (rc == SRVD_OK) {
		check_response(q, qw, qn, e, resp, len);
	} else if (rc == SRVD_XFR) {
		check_xfr(q, &sq, e);
	}
	if (g_errlen) {
		g_fail++;
		printf("FAIL %s:%u: %s\n%s", g_file, g_lineno, q->line, g_errbuf);
	} else {
		g_pass++;
		printf("ok   %s:%u: %s\n", g_file, g_lineno, q->line);
	}
}

/* ---- the file ------------------------------------------------------------- */

static void expect_reset(expect_t *e)
{
	for (int s = 0; s < S_COUNT; s++) {
		for (size_t i = 0; i < e->n_rrs[s]; i++)
			ldns_rr_free(e->rrs[s][i]);
	}
	memset(e, 0, sizeof(*e));
	e->result = SRVD_OK;
	e->rcode = -1;
	e->edns = -1;
	e->edns_payload = e->edns_version = e->edns_do = -1;
	e->maxsize = -1;
	e->xfr_messages = -1;
	e->xfr_records = -1;
	e->xfr_messages_min = -1;
}

static void expect_rr(expect_t *e, sec_t s, const char *text)
{
	if (e->n_rrs[s] == MAX_EXPECT)
		die("too many records");
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL);
	if (st != LDNS_STATUS_OK)
		die("bad record \"%s\": %s", text, ldns_get_errorstr_by_id(st));
	e->rrs[s][e->n_rrs[s]++] = rr;
}

static void expect_xfr_zone(expect_t *e, const char *path)
{
	char full[PATH_MAX + 1024];
	snprintf(full, sizeof(full), "%s/%s", g_dir, path);
	FILE *f = fopen(full, "r");
	if (!f)
		die("%s: %s", full, strerror(errno));
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, NULL, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	if (st != LDNS_STATUS_OK)
		die("%s:%d: %s", full, line, ldns_get_errorstr_by_id(st));
	const ldns_rr_list *rrs = ldns_zone_rrs(z);
	size_t n = ldns_rr_list_rr_count(rrs);
	if (e->n_rrs[S_XFR] + n + 2 > MAX_EXPECT)
		die("too many records");
	e->rrs[S_XFR][e->n_rrs[S_XFR]++] = ldns_rr_clone(ldns_zone_soa(z));
	e->rrs[S_XFR][e->n_rrs[S_XFR]++] = ldns_rr_clone(ldns_zone_soa(z));
	for (size_t i = 0; i < n; i++)
		e->rrs[S_XFR][e->n_rrs[S_XFR]++] = ldns_rr_clone(ldns_rr_list_rr(rrs, i));
	ldns_zone_deep_free(z);
}

static void expect_edns(expect_t *e, char *args)
{
	char *save = NULL;
	char *t = strtok_r(args, " \t", &save);
	if (t && strcmp(t, "none") == 0) {
		e->edns = 0;
		return;
	}
	e->edns = 1;
	for (; t; t = strtok_r(NULL, " \t", &save)) {
		if (strncmp(t, "payload=", 8) == 0)
			e->edns_payload = (int)parse_num(t + 8);
		else if (strncmp(t, "version=", 8) == 0)
			e->edns_version = (int)parse_num(t + 8);
		else if (strcmp(t, "do") == 0)
			e->edns_do = 1;
		else if (strcmp(t, "nodo") == 0)
			e->edns_do = 0;
		else if (strncmp(t, "nsid=", 5) == 0) {
			snprintf(e->nsid, sizeof(e->nsid), "%s", t + 5);
			e->nsid_set = true;
		} else if (strcmp(t, "nonsid") == 0)
			e->nonsid = true;
		else
			die("unknown edns expectation %s", t);
	}
}

static void expect_flags(expect_t *e, char *args)
{
	e->flags_set = true;
	e->flags = 0;
	char *save = NULL;
	for (char *t = strtok_r(args, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		size_t i = 0;
		for (; i < sizeof(flag_bits) / sizeof(flag_bits[0]); i++)
			if (strcasecmp(t, flag_bits[i].name) == 0)
				break;
		if (i == sizeof(flag_bits) / sizeof(flag_bits[0]))
			die("unknown flag %s", t);
		e->flags |= flag_bits[i].bit;
	}
}

static int result_by_name(const char *s)
{
	if (strcmp(s, "OK") == 0)
		return SRVD_OK;
	if (strcmp(s, "DROP") == 0)
		return SRVD_DROP;
	if (strcmp(s, "XFR") == 0)
		return SRVD_XFR;
	die("unknown result %s", s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.test\n", argv[0]);
		return 2;
	}
	g_file = argv[1];
	static char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", g_file);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		g_dir = dir;
	}
	FILE *f = fopen(g_file, "r");
	if (!f) {
		perror(g_file);
		return 2;
	}
	static expect_t e;
	static query_t q;
	expect_reset(&e);
	bool in_case = false;
	unsigned case_line = 0;
	char line[8192];
	while (fgets(line, sizeof(line), f)) {
		g_lineno++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *args = s;
		while (*args && !isspace((unsigned char)*args))
			args++;
		if (*args)
			*args++ = 0;
		args = trim(args);
		if (!in_case) {
			if (strcmp(s, "zone") == 0)
				directive_zone(args);
			else if (strcmp(s, "responder") == 0)
				directive_responder(args);
			else if (strcmp(s, "query") == 0) {
				parse_query(args, &q);
				in_case = true;
				case_line = g_lineno;
			} else
				die("unexpected %s outside a case", s);
			continue;
		}
		if (strcmp(s, "end") == 0) {
			unsigned l = g_lineno;
			g_lineno = case_line;
			run_case(&q, &e);
			g_lineno = l;
			expect_reset(&e);
			in_case = false;
		} else if (strcmp(s, "result") == 0)
			e.result = result_by_name(args);
		else if (strcmp(s, "rcode") == 0)
			e.rcode = rcode_by_name(args);
		else if (strcmp(s, "flags") == 0)
			expect_flags(&e, args);
		else if (strcmp(s, "answer") == 0)
			expect_rr(&e, S_AN, args);
		else if (strcmp(s, "authority") == 0)
			expect_rr(&e, S_NS, args);
		else if (strcmp(s, "additional") == 0)
			expect_rr(&e, S_AR, args);
		else if (strcmp(s, "xfr") == 0)
			expect_rr(&e, S_XFR, args);
		else if (strcmp(s, "xfr-zone") == 0)
			expect_xfr_zone(&e, args);
		else if (strcmp(s, "xfr-messages-min") == 0)
			e.xfr_messages_min = parse_num(args);
		else if (strcmp(s, "xfr-records") == 0)
			e.xfr_records = parse_num(args);
		else if (strcmp(s, "sections") == 0 && strcmp(args, "subset") == 0)
			e.subset = true;
		else if (strcmp(s, "whole-rrsets") == 0)
			e.whole_rrsets = true;
		else if (strcmp(s, "xfr-messages") == 0)
			e.xfr_messages = parse_num(args);
		else if (strcmp(s, "edns") == 0)
			expect_edns(&e, args);
		else if (strcmp(s, "question") == 0 && strcmp(args, "none") == 0)
			e.no_question = true;
		else if (strcmp(s, "maxsize") == 0)
			e.maxsize = parse_num(args);
		else if (strcmp(s, "compressed") == 0)
			e.compressed = true;
		else
			die("unknown expectation %s", s);
	}
	fclose(f);
	if (in_case)
		die("missing end");
	expect_reset(&e);
	srvd_responder_free(g_r);
	srvd_zoneset_unref(g_zs);
	if (g_pass + g_fail == 0) {
		fprintf(stderr, "%s: no cases\n", g_file);
		return 1;
	}
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail ? 1 : 0;
}
