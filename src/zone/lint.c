/* Zone lint: the mistakes that break Matrix federation and other SRV users
 * even though the zone is valid DNS. srvd-checkzone runs these on a zone
 * that loaded; each finding is a warning.
 *
 *  - an SRV, MX or NS target that is an alias (RFC 2782, RFC 2181 10.3);
 *  - an in-zone SRV target with no address record, or that does not exist;
 *  - a "." SRV target beside other SRV records (RFC 2782: "." means the
 *    service is decidedly not available, so it must stand alone);
 *  - a target that repeats the origin ("matrix.example.com.example.com."):
 *    the trailing dot was forgotten in the zone file;
 *  - a misspelt Matrix service owner ("_matrix_fed", "matrix-fed" without
 *    the underscore, "_matrix._udp");
 *  - only one of _matrix-fed._tcp and _matrix._tcp for a server name:
 *    Matrix v1.8+ looks up _matrix-fed first, older servers only _matrix;
 *  - both, but with different targets or ports (or "." in one): peers of
 *    either age then federate with different hosts;
 *  - DNSSEC: an RRSIG that has expired or expires within LINT_SIG_DAYS
 *    days (validators then answer SERVFAIL, which breaks federation), and
 *    an RRSIG covering a type its owner does not have (left over from a
 *    removed RRset; RFC 4035 2.2 asks for signatures of what is there).
 *
 * A version loaded with its lines (loader_load_lines) gives each finding
 * the FILE:LINE of the RRset it is about.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "wire/serial.h"
#include "zone/zone.h"

enum { LINT_SIG_DAYS = 7 };

typedef struct lint {
	const zone_t *z;
	srvd_diag_t *diag;
	unsigned found;
	char zone[1010];
	const char *file; /* of the RRset being looked at, when the version has lines */
	unsigned line;
} lint_t;

static void warn(lint_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(lint_t *l, const char *fmt, ...)
{
	l->found++;
	if (!l->diag)
		return;
	l->diag->warnings++;
	if (!l->diag->fn)
		return;
	char msg[2200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->diag->fn(l->diag->ctx, SRVD_DIAG_WARNING, l->zone, l->file, l->line, msg);
}

static const char *str(const uint8_t *name, char buf[1010])
{
	wire_name_to_str(name, buf, 1010);
	return buf;
}

static const zone_node_t *find(const zone_t *z, const uint8_t *name)
{
	uint8_t l[255];
	size_t len = wire_name_len(name);
	wire_name_lower(l, name, len);
	uint32_t i = zone_find(z, l, len);
	return i == ZONE_NONE ? NULL : &z->nodes[i];
}

/* "x.example.com.example.com." in zone example.com: a forgotten dot. */
static bool origin_twice(const zone_t *z, const uint8_t *name)
{
	unsigned n = wire_name_labels(name), o = z->origin_labels;
	size_t ol = z->origin_len;
	if (o == 0 || n < 2 * o || 2 * ol - 1 > DNS_NAME_MAX)
		return false;
	uint8_t twice[255];
	memcpy(twice, z->origin, ol - 1);
	memcpy(twice + ol - 1, z->origin, ol);
	return wire_name_eq(wire_name_skip(name, n - 2 * o), twice);
}

static void check_target(lint_t *l, const zone_node_t *owner, uint16_t type, const uint8_t *target,
                         uint16_t srv_count)
{
	const zone_t *z = l->z;
	char o[1010], t[1010];
	const uint8_t *oname = zone_node_name(z, owner);
	const char *ts = type == DNS_T_SRV ? "SRV" : type == DNS_T_MX ? "MX" : "NS";
	if (target[0] == 0) {
		if (type == DNS_T_SRV && srv_count > 1)
			warn(
			    l,
			    "%s SRV: target \".\" (service not available) beside other SRV records "
			    "(RFC 2782)",
			    str(oname, o));
		return;
	}
	if (origin_twice(z, target)) {
		warn(l,
		     "%s %s: target %s repeats the origin; a trailing dot is missing in the file",
		     str(oname, o), ts, str(target, t));
		return;
	}
	if (!wire_name_is_sub(target, z->origin))
		return;
	const zone_node_t *n = find(z, target);
	if (n && (n->flags & NODE_CNAME))
		warn(l, "%s %s: target %s is an alias (CNAME); %s", str(oname, o), ts,
		     str(target, t),
		     type == DNS_T_SRV ? "RFC 2782 forbids it" : "RFC 2181 10.3 forbids it");
	else if (type == DNS_T_SRV && !n)
		warn(l, "%s SRV: target %s does not exist in the zone", str(oname, o),
		     str(target, t));
	else if (type == DNS_T_SRV && !(n->flags & NODE_ADDR) && !(n->flags & NODE_OCCLUDED))
		warn(l, "%s SRV: target %s has no A or AAAA record", str(oname, o), str(target, t));
}

static void check_rrset(lint_t *l, const zone_node_t *n, const zone_rrset_t *s)
{
	int off = s->type == DNS_T_SRV ? 6 : s->type == DNS_T_MX ? 2 : s->type == DNS_T_NS ? 0 : -1;
	if (off < 0)
		return;
	const uint8_t *p = l->z->rdata + s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		uint16_t len = get_u16(p);
		if (len > (uint16_t)off)
			check_target(l, n, s->type, p + 2 + off, s->count);
		p += 2u + len;
	}
}

static bool label_is(const uint8_t *label, const char *s)
{
	size_t n = strlen(s);
	if (label[0] != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (wire_lower(label[1 + i]) != (uint8_t)s[i])
			return false;
	return true;
}

/* A first label that means a Matrix service but is not spelt right. */
static bool matrix_misspelt(const uint8_t *label)
{
	char s[64];
	size_t n = label[0];
	for (size_t i = 0; i < n; i++)
		s[i] = (char)wire_lower(label[1 + i]);
	s[n] = 0;
	const char *t = s[0] == '_' ? s + 1 : s;
	if (strncmp(t, "matrix", 6) != 0 || strcmp(s, "_matrix") == 0 ||
	    strcmp(s, "_matrix-fed") == 0)
		return false;
	return strcmp(t, "matrix") == 0 || strcmp(t, "matrix-fed") == 0 || strstr(t, "fed") != NULL;
}

static void check_owner(lint_t *l, const zone_node_t *n)
{
	const uint8_t *name = zone_node_name(l->z, n);
	char o[1010];
	if (name[0] == 0)
		return;
	const uint8_t *second = name + name[0] + 1;
	bool srv = zone_node_rrset(l->z, n, DNS_T_SRV) != NULL;
	if (srv && matrix_misspelt(name))
		warn(l,
		     "%s: looks like a misspelt Matrix service name (use _matrix-fed._tcp or "
		     "_matrix._tcp)",
		     str(name, o));
	else if ((label_is(name, "_matrix") || label_is(name, "_matrix-fed")) && *second &&
	         !label_is(second, "_tcp"))
		warn(l, "%s: Matrix federation runs over TCP; the owner should be under _tcp",
		     str(name, o));
}

static void at_rrset(lint_t *l, const zone_rrset_t *s)
{
	size_t i = s ? (size_t)(s - l->z->rrsets) : 0;
	l->file = s && l->z->rrset_file ? l->z->rrset_file[i] : NULL;
	l->line = s && l->z->rrset_line ? l->z->rrset_line[i] : 0;
}

/* Does SRV record rd (port, target) appear in set? Targets compare
 * without case; priority and weight may differ. */
static bool srv_in(const zone_t *z, const uint8_t *rd, uint16_t len, const zone_rrset_t *set)
{
	const uint8_t *p = z->rdata + set->data;
	for (uint16_t i = 0; i < set->count; i++) {
		uint16_t n = get_u16(p);
		if (n >= 7 && len >= 7 && memcmp(p + 6, rd + 4, 2) == 0 &&
		    wire_name_eq(p + 8, rd + 6))
			return true;
		p += 2u + n;
	}
	return false;
}

static bool srv_subset(const zone_t *z, const zone_rrset_t *a, const zone_rrset_t *b)
{
	const uint8_t *p = z->rdata + a->data;
	for (uint16_t i = 0; i < a->count; i++) {
		uint16_t n = get_u16(p);
		if (!srv_in(z, p + 2, n, b))
			return false;
		p += 2u + n;
	}
	return true;
}

/* _matrix-fed._tcp.X and _matrix._tcp.X: warn when only one exists, and
 * when both exist but point at different places. */
static void check_pair(lint_t *l, const zone_node_t *n)
{
	const uint8_t *name = zone_node_name(l->z, n);
	bool fed = label_is(name, "_matrix-fed");
	if ((!fed && !label_is(name, "_matrix")) || !label_is(name + name[0] + 1, "_tcp") ||
	    !zone_node_rrset(l->z, n, DNS_T_SRV))
		return;
	uint8_t other[255];
	const char *want = fed ? "\7_matrix" : "\13_matrix-fed";
	size_t wl = strlen(want), rest = wire_name_len(name) - name[0] - 1u;
	if (wl + rest > sizeof(other))
		return;
	memcpy(other, want, wl);
	memcpy(other + wl, name + name[0] + 1, rest);
	const zone_node_t *o = find(l->z, other);
	const zone_rrset_t *mine = zone_node_rrset(l->z, n, DNS_T_SRV);
	const zone_rrset_t *theirs = o ? zone_node_rrset(l->z, o, DNS_T_SRV) : NULL;
	char a[1010], b[1010];
	if (theirs && fed && !(srv_subset(l->z, mine, theirs) && srv_subset(l->z, theirs, mine)))
		warn(l,
		     "%s SRV and %s SRV disagree (different targets or ports, or \".\" in one): "
		     "old and new homeservers would federate with different hosts",
		     str(name, a), str(other, b));
	if (theirs)
		return;
	warn(l, "%s SRV has no %s SRV beside it: %s", str(name, a), str(other, b),
	     fed ? "homeservers older than Matrix v1.8 only look up _matrix._tcp"
	         : "Matrix v1.8+ looks up _matrix-fed._tcp first (_matrix._tcp is deprecated)");
}

/* ---- DNSSEC signatures ---------------------------------------------------- */

static const char *type_str(uint16_t t, char buf[16])
{
	static const struct {
		uint16_t t;
		const char *s;
	} names[] = {{DNS_T_A, "A"},         {DNS_T_NS, "NS"},     {DNS_T_CNAME, "CNAME"},
	             {DNS_T_SOA, "SOA"},     {DNS_T_MX, "MX"},     {DNS_T_TXT, "TXT"},
	             {DNS_T_AAAA, "AAAA"},   {DNS_T_SRV, "SRV"},   {DNS_T_DNAME, "DNAME"},
	             {DNS_T_DS, "DS"},       {DNS_T_NSEC, "NSEC"}, {DNS_T_DNSKEY, "DNSKEY"},
	             {DNS_T_NSEC3, "NSEC3"}, {51, "NSEC3PARAM"},   {DNS_T_HTTPS, "HTTPS"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].s;
	snprintf(buf, 16, "TYPE%u", t);
	return buf;
}

/* An RRSIG time (RFC 4034 3.1.5: 32 bits, serial arithmetic) as a date
 * near `now`. */
static const char *sig_date(uint32_t t, time_t now, char buf[32])
{
	time_t when = now + (int32_t)(t - (uint32_t)now);
	struct tm tm;
	if (!gmtime_r(&when, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, 32, "%u", t);
	return buf;
}

/* The earliest expiration of a signature group, in serial order. */
static uint32_t group_expires(const zone_t *z, const zone_rrset_t *g)
{
	const uint8_t *p = z->rdata + g->data;
	uint32_t min = get_u32(p + 2 + 8);
	for (uint16_t i = 0; i < g->count; i++) {
		uint32_t e = get_u32(p + 2 + 8);
		if (wire_serial_lt(e, min))
			min = e;
		p += 2 + get_u16(p);
	}
	return min;
}

static void check_sigs(lint_t *l, const zone_node_t *n, time_t now)
{
	const zone_t *z = l->z;
	uint32_t now32 = (uint32_t)now, soon = now32 + LINT_SIG_DAYS * 86400u;
	char name[1010], tb[16], db[32];
	for (uint32_t i = 0; i < n->n_sig; i++) {
		const zone_rrset_t *g = &z->rrsets[n->rrset + n->n_rrset + i];
		uint16_t cov = zone_sig_covered(z, g);
		const char *ts = type_str(cov, tb);
		if (!zone_node_rrset(z, n, cov))
			warn(l, "%s: RRSIG covers %s, which %s does not have",
			     str(zone_node_name(z, n), name), ts, name);
		uint32_t exp = group_expires(z, g);
		if (wire_serial_lt(exp, now32))
			warn(l, "%s: RRSIG %s expired on %s: validators answer SERVFAIL",
			     str(zone_node_name(z, n), name), ts, sig_date(exp, now, db));
		else if (wire_serial_lt(exp, soon))
			warn(l, "%s: RRSIG %s expires on %s, within %d days: re-sign the zone",
			     str(zone_node_name(z, n), name), ts, sig_date(exp, now, db),
			     LINT_SIG_DAYS);
	}
}

int srvd_zone_lint(const srvd_zone_t *z, srvd_diag_t *diag)
{
	if (!z)
		return SRVD_EINVAL;
	lint_t l = {.z = z, .diag = diag};
	wire_name_to_str(z->origin, l.zone, sizeof(l.zone));
	for (uint32_t i = 0; i < z->n_nodes; i++) {
		const zone_node_t *n = &z->nodes[i];
		if ((n->flags & NODE_OCCLUDED) && !(n->flags & NODE_DELEG))
			continue;
		for (uint16_t k = 0; k < n->n_rrset; k++) {
			at_rrset(&l, &z->rrsets[n->rrset + k]);
			check_rrset(&l, n, &z->rrsets[n->rrset + k]);
		}
		const zone_rrset_t *srv = zone_node_rrset(z, n, DNS_T_SRV);
		at_rrset(&l, srv ? srv : n->n_rrset ? &z->rrsets[n->rrset] : NULL);
		check_owner(&l, n);
		check_pair(&l, n);
	}
	time_t now = time(NULL);
	for (uint32_t i = 0; i < z->n_nodes + z->n_n3; i++)
		if (!(z->nodes[i].flags & NODE_OCCLUDED))
			check_sigs(&l, &z->nodes[i], now);
	return (int)l.found;
}
