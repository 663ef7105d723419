/* conf/ YAML: the libyaml document tree -> conf_t. The only file that knows
 * the keys, their value types and their bounds (the tables below). Every
 * error names the node's line; a list value is a sequence or one scalar.
 *
 * Parsing goes on after an error, to the next key, zone or key entry, so
 * that --check-config shows every mistake in one run: errors are appended
 * to err, one "FILE:LINE: message" per line. An unknown key gets the
 * nearest known one ("did you mean"), as a typo is the usual cause. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "common/acl.h"
#include "conf/conf_int.h"

typedef struct parse {
	conf_t *c;
	yaml_document_t *doc;
	const char *dir; /* the config file's folder */
	char *err;
	size_t errlen;
	unsigned *n_err; /* errors so far: parsing goes on after one */
} parse_t;

typedef enum {
	K_STR,         /* char *, max = longest length (0: any) */
	K_PATH,        /* char *, relative to the config file's folder */
	K_NAME,        /* char *, a zone name */
	K_UINT,        /* unsigned in min..max */
	K_U16,         /* uint16_t in min..max */
	K_LEVEL,       /* char *, a log level */
	K_TARGET,      /* bool log_syslog */
	K_ADDRS,       /* conf_addr_t list, at least min entries */
	K_ACL,         /* srvd_prefix_t list */
	K_U64,         /* uint64_t in min..2^40 */
	K_NOTIFY_FROM, /* prefixes and "key:NAME" */
	K_UPDATE,      /* update: grants (conf_grant_t) */
	K_ACME,        /* acme: key names -> grants */
	K_SERIAL,      /* serial-policy */
	K_NAMES,       /* names: of a grant */
	K_TYPES,       /* types: of a grant */
	K_DNSTAP,      /* server: dnstap: (conf_dnstap_t) */
	K_DT_ZONES,    /* zones: of dnstap */
	K_DT_TYPES,    /* qtypes: of dnstap */
	K_SERVER,
	K_ZONES,
	K_KEYS,
	K_BOOL,     /* bool: true | false */
	K_PREFIXES, /* srvd_prefix_t list, addresses only */
	K_RRL,      /* the rrl mapping */
	K_COOKIES,  /* off | on | require */
	K_SECRET,   /* 32 hex digits into 16 bytes; sets the bool at n_off */
} kind_t;

typedef struct keydef {
	const char *name;
	kind_t kind;
	size_t off;   /* of the field in conf_t or conf_zone_t */
	size_t n_off; /* of the count, for lists */
	unsigned min, max;
} keydef_t;

#define C(f) offsetof(conf_t, f)
#define Z(f) offsetof(conf_zone_t, f)

static const keydef_t top_keys[] = {
    {"server", K_SERVER, 0, 0, 0, 0},
    {"zones", K_ZONES, 0, 0, 0, 0},
    {"zones-dir", K_PATH, C(zones_dir), 0, 0, 0},
    {"keys", K_KEYS, 0, 0, 0, 0},
};

/* The timer bounds, in the server and in a zone. */
#define TIMER_KEYS(M)                                                                              \
	{"refresh-min", K_UINT, M(timers.refresh_min), 0, 1, 1u << 31},                            \
	    {"refresh-max", K_UINT, M(timers.refresh_max), 0, 1, 1u << 31},                        \
	    {"retry-min", K_UINT, M(timers.retry_min), 0, 1, 1u << 31},                            \
	    {"retry-max", K_UINT, M(timers.retry_max), 0, 1, 1u << 31},                            \
	    {"expire-min", K_UINT, M(timers.expire_min), 0, 1, 1u << 31},                          \
	{                                                                                          \
		"expire-max", K_UINT, M(timers.expire_max), 0, 1, 1u << 31                         \
	}

static const keydef_t server_keys[] = {
    {"listen", K_ADDRS, C(listen), C(n_listen), 1, 0},
    {"workers", K_UINT, C(workers), 0, 1, 256},
    {"udp-payload", K_U16, C(udp_payload), 0, 512, 4096},
    {"tcp-idle-timeout", K_UINT, C(tcp_idle_timeout), 0, 1, 86400},
    {"tcp-max-clients", K_UINT, C(tcp_max_clients), 0, 1, 1000000},
    {"identity", K_STR, C(identity), 0, 0, 255},
    {"version", K_STR, C(version), 0, 0, 255},
    {"nsid", K_STR, C(nsid), 0, 0, 255},
    {"user", K_STR, C(user), 0, 0, 0},
    {"group", K_STR, C(group), 0, 0, 0},
    {"pidfile", K_PATH, C(pidfile), 0, 0, 0},
    {"snapshot-dir", K_PATH, C(snapshot_dir), 0, 0, 0},
    {"state-dir", K_PATH, C(state_dir), 0, 0, 0},
    {"control", K_PATH, C(control), 0, 0, 107}, /* sun_path holds 108 with the NUL */
    {"metrics", K_ADDRS, C(metrics), C(n_metrics), 0, 0},
    {"dnstap", K_DNSTAP, C(dnstap), 0, 0, 0},
    {"log-level", K_LEVEL, C(log_level), 0, 0, 0},
    {"log-target", K_TARGET, C(log_syslog), 0, 0, 0},
    {"allow-transfer", K_ACL, C(allow_transfer), C(n_allow_transfer), 0, 0},
    {"xfr-timeout", K_UINT, C(xfr_timeout), 0, 1, 86400},
    {"xfr-max-size", K_U64, C(xfr_max_size), 0, 512, 0},
    {"rrl", K_RRL, C(rrl), 0, 0, 0},
    {"cookies", K_COOKIES, C(cookies), 0, 0, 0},
    {"cookie-secret", K_SECRET, C(cookie_secret), C(has_cookie_secret), 0, 0},
    {"cookie-rotate", K_UINT, C(cookie_rotate), 0, 10, 86400 * 30},
    TIMER_KEYS(C),
};

#define R(f) offsetof(conf_rrl_t, f)

static const keydef_t rrl_keys[] = {
    {"rate", K_UINT, R(rate), 0, 0, 1000000},
    {"slip", K_UINT, R(slip), 0, 0, 10},
    {"window", K_UINT, R(window), 0, 1, 3600},
    {"ipv4-prefix", K_UINT, R(ipv4_prefix), 0, 8, 32},
    {"ipv6-prefix", K_UINT, R(ipv6_prefix), 0, 16, 128},
    {"exempt", K_PREFIXES, R(exempt), R(n_exempt), 0, 0},
    {"log-only", K_BOOL, R(log_only), 0, 0, 0},
    {"table-size", K_UINT, R(table_size), 0, 16, 1u << 26},
};

static const keydef_t zone_keys[] = {
    {"name", K_NAME, Z(name), 0, 0, 0},
    {"file", K_PATH, Z(file), 0, 0, 0},
    {"allow-transfer", K_ACL, Z(allow_transfer), Z(n_allow_transfer), 0, 0},
    {"notify", K_ADDRS, Z(notify), Z(n_notify), 0, 0},
    {"primaries", K_ADDRS, Z(primaries), Z(n_primaries), 1, 0},
    {"key", K_STR, Z(key), 0, 0, 255},
    {"notify-from", K_NOTIFY_FROM, Z(notify_from), Z(n_notify_from), 0, 0},
    {"update", K_UPDATE, 0, 0, 0, 0},
    {"acme", K_ACME, 0, 0, 0, 0},
    {"serial-policy", K_SERIAL, Z(serial_policy), 0, 0, 0},
    {"update-wait", K_UINT, Z(update_wait), 0, 0, 60},
    {"update-max-records", K_UINT, Z(update_max_records), 0, 1, 65535},
    {"update-max-size", K_UINT, Z(update_max_size), 0, 12, 65535},
    {"zonefile-sync", K_UINT, Z(zonefile_sync), 0, 1, 86400},
    {"journal-max-size", K_U64, Z(journal_max_size), 0, 65536, 0},
    TIMER_KEYS(Z),
};

/* A key while it is parsed: secret-file is read into secret afterwards. */
typedef struct key_parse {
	conf_key_t k;
	char *secret_file;
} key_parse_t;

#define K(f) offsetof(key_parse_t, f)

static const keydef_t key_keys[] = {
    {"name", K_STR, K(k.name), 0, 0, 255},
    {"algorithm", K_STR, K(k.algorithm), 0, 0, 64},
    {"secret", K_STR, K(k.secret), 0, 0, 4096},
    {"secret-file", K_PATH, K(secret_file), 0, 0, 0},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const log_levels[] = {"error", "warning", "info", "debug"};

static int fail(const parse_t *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const parse_t *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*p->n_err)++;
	return conf_erradd(p->err, p->errlen, SRVD_EPARSE, "%s:%lu: %s", p->c->path,
	                   (unsigned long)n->start_mark.line + 1, msg);
}

static int oom(const parse_t *p)
{
	return conf_errf(p->err, p->errlen, SRVD_ENOMEM, "%s: out of memory", p->c->path);
}

static yaml_node_t *node(const parse_t *p, int i)
{
	return yaml_document_get_node(p->doc, i);
}

static void *field(void *obj, size_t off)
{
	return (char *)obj + off;
}

static const char *text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static bool is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = text(n);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *type_name(const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	return is_null(n) ? "nothing" : "a scalar";
}

/* A non-empty scalar's text; `want` names the expected type for the error. */
static int scalar(const parse_t *p, const char *key, const yaml_node_t *n, const char *want,
                  const char **out)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return fail(p, n, "%s: expected %s, got %s", key, want, type_name(n));
	if (strlen(text(n)) != n->data.scalar.length)
		return fail(p, n, "%s: NUL character in value", key);
	if (!*text(n))
		return fail(p, n, "%s: empty value", key);
	*out = text(n);
	return 0;
}

/* ---- scalar values -------------------------------------------------------- */

static int set_str(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s = NULL, *why = NULL;
	char *v;
	if (scalar(p, k->name, n, "a string", &s))
		return SRVD_EPARSE;
	if (k->kind != K_PATH && k->max && strlen(s) > k->max)
		return fail(p, n, "%s: longer than %u characters", k->name, k->max);
	if (k->kind == K_NAME && conf_zone_name_check(s, &why))
		return fail(p, n, "%s: bad zone name \"%s\": %s", k->name, s, why);
	v = k->kind == K_PATH ? conf_path_join(p->dir, s) : strdup(s);
	if (!v)
		return oom(p);
	if (k->kind == K_PATH && k->max && strlen(v) > k->max) {
		free(v);
		return fail(p, n, "%s: path longer than %u characters", k->name, k->max);
	}
	*(char **)field(obj, k->off) = v;
	return 0;
}

static int set_uint(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s;
	unsigned long v = 0;
	if (scalar(p, k->name, n, "an integer", &s))
		return SRVD_EPARSE;
	bool ok = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	for (const char *q = s; ok && *q; q++) {
		ok = *q >= '0' && *q <= '9';
		v = v > 100000000 ? v : v * 10 + (unsigned long)(*q - '0');
	}
	if (!ok)
		return fail(p, n, "%s: expected an integer, got \"%s\"", k->name, s);
	if (v < k->min || v > k->max)
		return fail(p, n, "%s: %s is out of range %u..%u", k->name, s, k->min, k->max);
	if (k->kind == K_U16)
		*(uint16_t *)field(obj, k->off) = (uint16_t)v;
	else
		*(unsigned *)field(obj, k->off) = (unsigned)v;
	return 0;
}

static int set_level(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s;
	if (scalar(p, k->name, n, "a string", &s))
		return SRVD_EPARSE;
	for (size_t i = 0; i < N(log_levels); i++) {
		if (strcmp(s, log_levels[i]) == 0)
			return set_str(p, k, n, obj);
	}
	return fail(p, n, "%s: \"%s\" is not one of error, warning, info, debug", k->name, s);
}

static int set_target(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s;
	if (scalar(p, k->name, n, "a string", &s))
		return SRVD_EPARSE;
	if (strcmp(s, "stderr") && strcmp(s, "syslog"))
		return fail(p, n, "%s: \"%s\" is not one of stderr, syslog", k->name, s);
	*(bool *)field(obj, k->off) = strcmp(s, "syslog") == 0;
	return 0;
}

static int set_u64(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s;
	uint64_t v = 0, max = (uint64_t)1 << 40;
	if (scalar(p, k->name, n, "an integer", &s))
		return SRVD_EPARSE;
	bool ok = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	for (const char *q = s; ok && *q; q++) {
		ok = *q >= '0' && *q <= '9';
		v = v > max ? v : v * 10 + (uint64_t)(*q - '0');
	}
	if (!ok)
		return fail(p, n, "%s: expected an integer, got \"%s\"", k->name, s);
	if (v < k->min || v > max)
		return fail(p, n, "%s: %s is out of range %u..%llu", k->name, s, k->min,
		            (unsigned long long)max);
	*(uint64_t *)field(obj, k->off) = v;
	return 0;
}

/* ---- list values ---------------------------------------------------------- */

typedef int (*item_fn)(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr,
                       size_t i);

/* *out is calloc'ed, count entries long (NULL when the list is empty). */
static int set_list(const parse_t *p, const keydef_t *k, yaml_node_t *n, size_t size,
                    const char *want, item_fn fn, void **out, size_t *count)
{
	bool seq = n->type == YAML_SEQUENCE_NODE;
	if (!seq && (n->type != YAML_SCALAR_NODE || is_null(n)))
		return fail(p, n, "%s: expected %s, got %s", k->name, want, type_name(n));
	size_t cnt = seq ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start) : 1;
	if (cnt < k->min)
		return fail(p, n, "%s: empty list", k->name);
	void *arr = cnt ? calloc(cnt, size) : NULL;
	if (cnt && !arr)
		return oom(p);
	for (size_t i = 0; i < cnt; i++) {
		int rc = fn(p, k, seq ? node(p, n->data.sequence.items.start[i]) : n, arr, i);
		if (rc) {
			free(arr);
			return rc;
		}
	}
	*out = arr;
	*count = cnt;
	return 0;
}

static int addr_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr, size_t i)
{
	conf_addr_t *a = arr;
	const char *s = NULL, *why = NULL;
	if (scalar(p, k->name, n, "an address", &s))
		return SRVD_EPARSE;
	if (conf_addr_parse(s, CONF_DEFAULT_PORT, &a[i], &why))
		return fail(p, n, "%s: bad address \"%s\": %s", k->name, s, why);
	for (size_t j = 0; j < i; j++) {
		if (a[j].port == a[i].port && strcmp(a[j].host, a[i].host) == 0)
			return fail(p, n, "%s: \"%s\" is listed twice", k->name, s);
	}
	return 0;
}

/* allow-transfer: a prefix, or "key:NAME" for requests signed with that
 * key from anywhere (checked against keys: once the file is read). */
static int acl_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr, size_t i)
{
	srvd_prefix_t *a = arr;
	const char *s = NULL, *why = NULL;
	if (scalar(p, k->name, n, "an address, prefix or key:NAME", &s))
		return SRVD_EPARSE;
	if (strncmp(s, "key:", 4) == 0) {
		if (!s[4] || strlen(s + 4) > 255)
			return fail(p, n, "%s: bad key name in \"%s\"", k->name, s);
		conf_t *c = p->c;
		conf_keyref_t *r = realloc(c->key_refs, (c->n_key_refs + 1) * sizeof(*r));
		if (!r)
			return oom(p);
		c->key_refs = r;
		r[c->n_key_refs].line = (unsigned)n->start_mark.line + 1;
		if (!(r[c->n_key_refs].name = strdup(s + 4)))
			return oom(p);
		c->n_key_refs++;
		acl_key_entry(s + 4, &a[i]);
		return 0;
	}
	if (conf_prefix_parse(s, &a[i], &why))
		return fail(p, n, "%s: bad prefix \"%s\": %s", k->name, s, why);
	return 0;
}

/* notify-from: prefixes into the list, "key:NAME" into the zone's key
 * names (checked against keys: once the whole file is read). */
static int notify_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr,
                       size_t i)
{
	srvd_prefix_t *a = arr;
	const char *s = NULL, *why = NULL;
	if (scalar(p, k->name, n, "an address, prefix or key:NAME", &s))
		return SRVD_EPARSE;
	if (strncmp(s, "key:", 4) == 0) {
		a[i].family = 0; /* a key: moved out by set_notify_from */
		if (!s[4] || strlen(s + 4) > 255)
			return fail(p, n, "%s: bad key name in \"%s\"", k->name, s);
		return 0;
	}
	if (conf_prefix_parse(s, &a[i], &why))
		return fail(p, n, "%s: bad prefix \"%s\": %s", k->name, s, why);
	return 0;
}

static int prefix_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr,
                       size_t i)
{
	srvd_prefix_t *a = arr;
	const char *s = NULL, *why = NULL;
	if (scalar(p, k->name, n, "an address or prefix", &s))
		return SRVD_EPARSE;
	if (conf_prefix_parse(s, &a[i], &why))
		return fail(p, n, "%s: bad prefix \"%s\": %s", k->name, s, why);
	return 0;
}

static int set_prefixes(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	void *arr = NULL;
	size_t cnt = 0;
	int rc = set_list(p, k, n, sizeof(srvd_prefix_t), "a prefix or a list of them", prefix_item,
	                  &arr, &cnt);
	if (rc)
		return rc;
	free(*(srvd_prefix_t **)field(obj, k->off));
	*(srvd_prefix_t **)field(obj, k->off) = arr;
	*(size_t *)field(obj, k->n_off) = cnt;
	return 0;
}

static int set_bool(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s;
	if (scalar(p, k->name, n, "true or false", &s))
		return SRVD_EPARSE;
	if (strcmp(s, "true") && strcmp(s, "false"))
		return fail(p, n, "%s: expected true or false, got \"%s\"", k->name, s);
	*(bool *)field(obj, k->off) = strcmp(s, "true") == 0;
	return 0;
}

static int set_cookies(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	static const char *const modes[] = {"off", "on", "require"};
	const char *s;
	/* YAML 1.1 readers take a bare on/off for booleans; libyaml leaves
	 * them as text, and so do we. */
	if (scalar(p, k->name, n, "off, on or require", &s))
		return SRVD_EPARSE;
	for (unsigned i = 0; i < N(modes); i++)
		if (strcmp(s, modes[i]) == 0) {
			*(unsigned *)field(obj, k->off) = i;
			return 0;
		}
	return fail(p, n, "%s: \"%s\" is not one of off, on, require", k->name, s);
}

static int set_secret(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	const char *s;
	uint8_t *out = field(obj, k->off);
	if (scalar(p, k->name, n, "32 hexadecimal digits", &s))
		return SRVD_EPARSE;
	bool ok = strlen(s) == 32;
	for (unsigned i = 0; ok && i < 16; i++) {
		unsigned v;
		ok = isxdigit((unsigned char)s[2 * i]) && isxdigit((unsigned char)s[2 * i + 1]) &&
		     sscanf(s + 2 * i, "%2x", &v) == 1;
		out[i] = (uint8_t)v;
	}
	if (!ok)
		return fail(p, n, "%s: expected 32 hexadecimal digits (16 bytes)", k->name);
	*(bool *)field(obj, k->n_off) = true;
	return 0;
}

/* ---- mappings ------------------------------------------------------------- */

static int set_value(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj);

static const yaml_node_pair_t *find_pair(const parse_t *p, const yaml_node_t *map, const char *name,
                                         const yaml_node_pair_t *before)
{
	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < before; q++) {
		const yaml_node_t *kn = node(p, q->key);
		if (kn->type == YAML_SCALAR_NODE && strcmp(text(kn), name) == 0)
			return q;
	}
	return NULL;
}

static const keydef_t *find_key(const keydef_t *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

/* Edit distance (insert, delete, replace), for "did you mean"; names are
 * short, so one row of 64 is plenty. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key closest to name, if it is close enough to be a typo. */
static const char *nearest(const keydef_t *keys, size_t n, const char *name)
{
	const char *best = NULL;
	size_t bd = strlen(name) < 5 ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		size_t d = distance(name, keys[i].name);
		if (d < bd) {
			bd = d;
			best = keys[i].name;
		}
	}
	return best;
}

static int unknown_key(const parse_t *p, const yaml_node_t *kn, const char *where,
                       const keydef_t *keys, size_t nkeys)
{
	const char *name = text(kn), *near = nearest(keys, nkeys, name);
	if (near)
		return fail(p, kn, "unknown key \"%s\"%s; did you mean \"%s\"?", name, where, near);
	return fail(p, kn, "unknown key \"%s\"%s", name, where);
}

/* `where` completes "unknown key" messages: "", " in server", " in zone". */
static int walk_map(const parse_t *p, const yaml_node_t *map, const char *where,
                    const keydef_t *keys, size_t nkeys, void *obj)
{
	const yaml_node_pair_t *q, *prev;
	int rc = 0;
	for (q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top; q++) {
		const yaml_node_t *kn = node(p, q->key);
		const keydef_t *k = NULL;
		int r;
		if (kn->type != YAML_SCALAR_NODE)
			r = fail(p, kn, "expected a key name%s, got %s", where, type_name(kn));
		else if (!(k = find_key(keys, nkeys, text(kn))))
			r = unknown_key(p, kn, where, keys, nkeys);
		else if ((prev = find_pair(p, map, text(kn), q)))
			r = fail(p, kn, "%s: duplicate key (first at line %lu)", text(kn),
			         (unsigned long)node(p, prev->key)->start_mark.line + 1);
		else
			r = set_value(p, k, node(p, q->value), obj);
		if (r == SRVD_ENOMEM)
			return r;
		rc = rc ? rc : r; /* and go on: the user wants every error */
	}
	return rc;
}

static int set_server(const parse_t *p, const yaml_node_t *n)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "server: expected a mapping, got %s", type_name(n));
	return walk_map(p, n, " in server", server_keys, N(server_keys), p->c);
}

static int set_rrl(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *obj)
{
	conf_rrl_t *r = field(obj, k->off);
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "rrl: expected a mapping, got %s", type_name(n));
	int rc = walk_map(p, n, " in rrl", rrl_keys, N(rrl_keys), r);
	r->on = rc == 0 && r->rate > 0;
	return rc;
}

static int set_zone(const parse_t *p, const yaml_node_t *n, conf_zone_t *z)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "zones: expected a mapping with name and file, got %s",
		            type_name(n));
	z->line = (unsigned)n->start_mark.line + 1;
	int rc = walk_map(p, n, " in zone", zone_keys, N(zone_keys), z);
	if (rc)
		return rc;
	if (!z->name)
		return fail(p, n, "zone without a name");
	/* A secondary zone may leave its copy to state-dir (conf.c). */
	if (!z->file && !z->n_primaries)
		return fail(p, n, "zone %s: no file", z->name);
	z->allow_transfer_set =
	    find_pair(p, n, "allow-transfer", n->data.mapping.pairs.top) != NULL;
	const yaml_node_pair_t *key = find_pair(p, n, "key", n->data.mapping.pairs.top);
	z->key_line = key ? (unsigned)node(p, key->value)->start_mark.line + 1 : z->line;
	return 0;
}

/* The zones array is owned by conf_t from the start, so conf_free() cleans up
 * after an error halfway through. */
static int set_zones(const parse_t *p, const yaml_node_t *n)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "zones: expected a list, got %s", type_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt && !(p->c->zones = calloc(cnt, sizeof(conf_zone_t))))
		return oom(p);
	p->c->n_zones = cnt;
	int rc = 0;
	for (size_t i = 0; i < cnt && rc != SRVD_ENOMEM; i++) {
		int r = set_zone(p, node(p, n->data.sequence.items.start[i]), &p->c->zones[i]);
		rc = rc ? rc : r;
	}
	return rc;
}

static int set_addrs(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	void *arr = NULL;
	size_t cnt = 0;
	int rc = set_list(p, k, n, sizeof(conf_addr_t), "an address or a list of them", addr_item,
	                  &arr, &cnt);
	if (rc)
		return rc;
	*(conf_addr_t **)field(obj, k->off) = arr;
	*(size_t *)field(obj, k->n_off) = cnt;
	return 0;
}

static int set_acl(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	void *arr = NULL;
	size_t cnt = 0;
	int rc = set_list(p, k, n, sizeof(srvd_prefix_t), "a prefix, key:NAME, or a list of them",
	                  acl_item, &arr, &cnt);
	if (rc)
		return rc;
	*(srvd_prefix_t **)field(obj, k->off) = arr;
	*(size_t *)field(obj, k->n_off) = cnt;
	return 0;
}

static int set_notify_from(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	conf_zone_t *z = obj;
	srvd_prefix_t *arr = NULL;
	size_t cnt = 0;
	int rc = set_list(p, k, n, sizeof(srvd_prefix_t), "an address, prefix or key:NAME",
	                  notify_item, (void **)&arr, &cnt);
	if (rc)
		return rc;
	z->notify_from = arr;
	z->notify_keys = calloc(cnt ? cnt : 1, sizeof(char *));
	if (!z->notify_keys)
		return oom(p);
	size_t np = 0;
	bool seq = n->type == YAML_SEQUENCE_NODE;
	for (size_t i = 0; i < cnt; i++) {
		if (arr[i].family) {
			arr[np++] = arr[i];
			continue;
		}
		const yaml_node_t *it = seq ? node(p, n->data.sequence.items.start[i]) : n;
		if (!(z->notify_keys[z->n_notify_keys] = strdup(text(it) + 4)))
			return oom(p);
		z->n_notify_keys++;
	}
	z->n_notify_from = np;
	z->notify_from_set = true;
	return 0;
}

/* ---- dynamic update grants ------------------------------------------------ */

static const struct {
	const char *name;
	uint16_t type;
} rr_types[] = {
    {"A", 1},      {"NS", 2},     {"CNAME", 5}, {"SOA", 6},    {"PTR", 12},
    {"MX", 15},    {"TXT", 16},   {"AAAA", 28}, {"LOC", 29},   {"SRV", 33},
    {"NAPTR", 35}, {"DNAME", 39}, {"DS", 43},   {"SSHFP", 44}, {"TLSA", 52},
    {"SVCB", 64},  {"HTTPS", 65}, {"CAA", 257}, {"URI", 256},  {"OPENPGPKEY", 61},
};

static int type_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr, size_t i)
{
	const char *s = NULL;
	if (scalar(p, k->name, n, "a record type", &s))
		return SRVD_EPARSE;
	for (size_t t = 0; t < N(rr_types); t++)
		if (strcasecmp(s, rr_types[t].name) == 0) {
			((uint16_t *)arr)[i] = rr_types[t].type;
			return 0;
		}
	unsigned long v = 0;
	char *end = NULL;
	if (strncasecmp(s, "TYPE", 4) == 0 && (v = strtoul(s + 4, &end, 10)) > 0 && v < 65536 &&
	    !*end) {
		((uint16_t *)arr)[i] = (uint16_t)v;
		return 0;
	}
	return fail(p, n, "%s: unknown record type \"%s\"", k->name, s);
}

static int str_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr, size_t i)
{
	const char *s = NULL;
	if (scalar(p, k->name, n, "a string", &s))
		return SRVD_EPARSE;
	if (strlen(s) > 255)
		return fail(p, n, "%s: longer than 255 characters", k->name);
	if (!(((char **)arr)[i] = strdup(s)))
		return oom(p);
	return 0;
}

/* A grant while it is parsed: key or address. */
typedef struct grant_parse {
	conf_grant_t g;
	char *address;
} grant_parse_t;

static int set_names(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	conf_grant_t *g = obj;
	return set_list(p, k, n, sizeof(char *), "names", str_item, (void **)&g->names,
	                &g->n_names);
}

static int set_types(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	conf_grant_t *g = obj;
	return set_list(p, k, n, sizeof(uint16_t), "record types", type_item, (void **)&g->types,
	                &g->n_types);
}

#define DT(f) offsetof(conf_dnstap_t, f)
static const keydef_t dnstap_keys[] = {
    {"socket", K_PATH, DT(socket), 0, 0, 107}, /* sun_path */
    {"file", K_PATH, DT(file), 0, 0, 0},       {"sample", K_UINT, DT(sample), 0, 1, 1000000},
    {"zones", K_DT_ZONES, 0, 0, 0, 0},         {"qtypes", K_DT_TYPES, 0, 0, 0, 0},
};

static int dnstap_zone_item(const parse_t *p, const keydef_t *k, const yaml_node_t *n, void *arr,
                            size_t i)
{
	const char *s = NULL, *why = NULL;
	if (scalar(p, k->name, n, "a zone name", &s))
		return SRVD_EPARSE;
	if (conf_zone_name_check(s, &why))
		return fail(p, n, "dnstap: zones: \"%s\": %s", s, why);
	if (!(((char **)arr)[i] = strdup(s)))
		return oom(p);
	return 0;
}

static int set_dnstap(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	conf_dnstap_t *d = (conf_dnstap_t *)((char *)obj + k->off);
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n,
		            "dnstap: expected a mapping (socket or file, sample, zones, "
		            "qtypes), got %s",
		            type_name(n));
	int rc = walk_map(p, n, " in dnstap", dnstap_keys, N(dnstap_keys), d);
	if (rc)
		return rc;
	if (!d->socket == !d->file)
		return fail(p, n, "dnstap: give one of socket (a collector's unix socket) or file");
	return 0;
}

static const keydef_t grant_keys[] = {
    {"key", K_STR, offsetof(grant_parse_t, g.key), 0, 0, 255},
    {"address", K_STR, offsetof(grant_parse_t, address), 0, 0, 64},
    {"names", K_NAMES, 0, 0, 0, 0},
    {"types", K_TYPES, 0, 0, 0, 0},
};

static conf_grant_t *grant_push(const parse_t *p, conf_zone_t *z)
{
	conf_grant_t *v = realloc(z->grants, (z->n_grants + 1) * sizeof(*v));
	if (!v) {
		oom(p);
		return NULL;
	}
	z->grants = v;
	memset(&v[z->n_grants], 0, sizeof(*v));
	return &v[z->n_grants++];
}

static int grant_who(const parse_t *p, const yaml_node_t *n, grant_parse_t *gp)
{
	const char *why = NULL;
	if (!gp->g.key == !gp->address)
		return fail(p, n, "update: each entry needs a key or an address (one of them)");
	if (gp->address && conf_prefix_parse(gp->address, &gp->g.who, &why))
		return fail(p, n, "update: bad address \"%s\": %s", gp->address, why);
	if (gp->g.key)
		acl_key_entry(gp->g.key, &gp->g.who);
	return 0;
}

static int set_update(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	conf_zone_t *z = obj;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "%s: expected a list of mappings, got %s", k->name, type_name(n));
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node(p, *it);
		if (e->type != YAML_MAPPING_NODE)
			return fail(p, e, "%s: expected a mapping, got %s", k->name, type_name(e));
		conf_grant_t *g = grant_push(p, z);
		if (!g)
			return SRVD_ENOMEM;
		grant_parse_t gp = {.g = {.line = (unsigned)e->start_mark.line + 1}};
		int rc = walk_map(p, e, " in update", grant_keys, N(grant_keys), &gp);
		if (rc == 0)
			rc = grant_who(p, e, &gp);
		free(gp.address);
		*g = gp.g;
		if (rc)
			return rc;
	}
	return 0;
}

static int set_acme(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	conf_zone_t *z = obj;
	char **keys = NULL;
	size_t cnt = 0;
	int rc = set_list(p, k, n, sizeof(char *), "key names", str_item, (void **)&keys, &cnt);
	for (size_t i = 0; i < cnt; i++) {
		conf_grant_t *g = rc == 0 ? grant_push(p, z) : NULL;
		if (!g) {
			rc = rc ? rc : SRVD_ENOMEM;
			free(keys[i]);
			continue;
		}
		g->key = keys[i];
		g->acme = true;
		g->line = (unsigned)n->start_mark.line + 1;
		acl_key_entry(g->key, &g->who);
	}
	free(keys);
	return rc;
}

static int set_serial(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	const char *s = NULL;
	if (scalar(p, k->name, n, "increment, unixtime or dateserial", &s))
		return SRVD_EPARSE;
	if (strcmp(s, "increment") && strcmp(s, "unixtime") && strcmp(s, "dateserial"))
		return fail(p, n, "%s: expected increment, unixtime or dateserial, got \"%s\"",
		            k->name, s);
	return set_str(p, k, n, obj);
}

static int set_key(const parse_t *p, const yaml_node_t *n, conf_key_t *out)
{
	key_parse_t kp = {0};
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n,
		            "keys: expected a mapping with name, algorithm and secret, got %s",
		            type_name(n));
	out->line = (unsigned)n->start_mark.line + 1;
	int rc = walk_map(p, n, " in key", key_keys, N(key_keys), &kp);
	*out = (conf_key_t){kp.k.name, kp.k.algorithm, kp.k.secret, out->line};
	if (rc == 0 && !out->name)
		rc = fail(p, n, "key without a name");
	if (rc == 0 && !out->algorithm)
		rc = fail(p, n, "key %s: no algorithm", out->name);
	if (rc == 0 && !out->secret == !kp.secret_file)
		rc = fail(p, n, "key %s: give one of secret and secret-file", out->name);
	char why[512];
	if (rc == 0 && conf_key_check(out, kp.secret_file, why, sizeof(why)))
		rc = fail(p, n, "key %s: %s", out->name, why);
	free(kp.secret_file);
	return rc;
}

static int set_keys(const parse_t *p, const yaml_node_t *n)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "keys: expected a list, got %s", type_name(n));
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cnt && !(p->c->keys = calloc(cnt, sizeof(conf_key_t))))
		return oom(p);
	p->c->n_keys = cnt;
	int first = 0;
	for (size_t i = 0; i < cnt && first != SRVD_ENOMEM; i++) {
		const yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
		int rc = set_key(p, it, &p->c->keys[i]);
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (p->c->keys[j].name &&
			    conf_zone_name_cmp(p->c->keys[j].name, p->c->keys[i].name) == 0)
				rc = fail(p, it, "key %s: defined twice (first at line %u)",
				          p->c->keys[i].name, p->c->keys[j].line);
		first = first ? first : rc;
	}
	return first;
}

static int set_value(const parse_t *p, const keydef_t *k, yaml_node_t *n, void *obj)
{
	switch (k->kind) {
	case K_STR:
	case K_PATH:
	case K_NAME: return set_str(p, k, n, obj);
	case K_UINT:
	case K_U16: return set_uint(p, k, n, obj);
	case K_LEVEL: return set_level(p, k, n, obj);
	case K_TARGET: return set_target(p, k, n, obj);
	case K_ADDRS: return set_addrs(p, k, n, obj);
	case K_ACL: return set_acl(p, k, n, obj);
	case K_U64: return set_u64(p, k, n, obj);
	case K_NOTIFY_FROM: return set_notify_from(p, k, n, obj);
	case K_UPDATE: return set_update(p, k, n, obj);
	case K_ACME: return set_acme(p, k, n, obj);
	case K_SERIAL: return set_serial(p, k, n, obj);
	case K_NAMES: return set_names(p, k, n, obj);
	case K_TYPES: return set_types(p, k, n, obj);
	case K_DNSTAP: return set_dnstap(p, k, n, obj);
	case K_DT_ZONES: {
		conf_dnstap_t *d = obj;
		return set_list(p, k, n, sizeof(char *), "zone names", dnstap_zone_item,
		                (void **)&d->zones, &d->n_zones);
	}
	case K_DT_TYPES: {
		conf_dnstap_t *d = obj;
		return set_list(p, k, n, sizeof(uint16_t), "record types", type_item,
		                (void **)&d->qtypes, &d->n_qtypes);
	}
	case K_SERVER: return set_server(p, n);
	case K_ZONES: return set_zones(p, n);
	case K_KEYS: return set_keys(p, n);
	case K_BOOL: return set_bool(p, k, n, obj);
	case K_PREFIXES: return set_prefixes(p, k, n, obj);
	case K_RRL: return set_rrl(p, k, n, obj);
	case K_COOKIES: return set_cookies(p, k, n, obj);
	case K_SECRET: return set_secret(p, k, n, obj);
	}
	return SRVD_EINVAL;
}

static int walk_root(const parse_t *p, unsigned *dir_line)
{
	const yaml_node_t *root = yaml_document_get_root_node(p->doc);
	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(p, root, "expected a mapping of server, zones, zones-dir, keys; got %s",
		            type_name(root));
	int rc = walk_map(p, root, "", top_keys, N(top_keys), p->c);
	const yaml_node_pair_t *d = find_pair(p, root, "zones-dir", root->data.mapping.pairs.top);
	if (!rc && d)
		*dir_line = (unsigned)node(p, d->value)->start_mark.line + 1;
	return rc;
}

/* ---- libyaml -------------------------------------------------------------- */

static unsigned long line_at(const char *text, size_t len, size_t off)
{
	unsigned long line = 1;
	for (size_t i = 0; i < off && i < len; i++)
		line += text[i] == '\n';
	return line;
}

/* An IPv6 address written without quotes in a flow list ([::1@53]) is
 * a YAML syntax error whose libyaml text says nothing useful: a line
 * with "::" or two colons between hex digits gets a hint. */
static bool looks_ipv6(const char *text, size_t len, unsigned long line)
{
	size_t i = 0;
	for (unsigned long l = 1; i < len && l < line; i++)
		l += text[i] == '\n';
	unsigned colons = 0;
	for (; i < len && text[i] != '\n'; i++) {
		if (text[i] == '"' || text[i] == '\'')
			return false;
		if (text[i] == ':' && i + 1 < len && text[i + 1] == ':')
			return true;
		colons += text[i] == ':' && i + 1 < len && text[i + 1] != ' ';
	}
	return colons >= 2;
}

/* Reader errors (bad UTF-8, control characters) carry an offset, not a mark. */
static int syntax_error(const parse_t *p, const yaml_parser_t *yp, const char *text, size_t len)
{
	unsigned long line = yp->problem_mark.line + 1;
	if (yp->error == YAML_MEMORY_ERROR)
		return oom(p);
	if (yp->error == YAML_READER_ERROR)
		line = line_at(text, len, yp->problem_offset);
	else if (looks_ipv6(text, len, line) || looks_ipv6(text, len, yp->context_mark.line + 1))
		return conf_errf(p->err, p->errlen, SRVD_EPARSE,
		                 "%s:%lu: an IPv6 address must be quoted in YAML, as in "
		                 "listen: [\"::1@53\"] (libyaml: %s)",
		                 p->c->path, line, yp->problem ? yp->problem : "syntax error");
	if (yp->context && yp->context_mark.line != yp->problem_mark.line)
		return conf_errf(p->err, p->errlen, SRVD_EPARSE, "%s:%lu: %s (%s at line %lu)",
		                 p->c->path, line, yp->problem, yp->context,
		                 (unsigned long)yp->context_mark.line + 1);
	if (yp->context)
		return conf_errf(p->err, p->errlen, SRVD_EPARSE, "%s:%lu: %s %s", p->c->path, line,
		                 yp->problem, yp->context);
	return conf_errf(p->err, p->errlen, SRVD_EPARSE, "%s:%lu: %s", p->c->path, line,
	                 yp->problem ? yp->problem : "syntax error");
}

/* A second document would be silently ignored; refuse it instead. */
static int expect_end(parse_t *p, yaml_parser_t *yp, const char *text, size_t len)
{
	yaml_document_t doc;
	if (!yaml_parser_load(yp, &doc))
		return syntax_error(p, yp, text, len);
	p->doc = &doc;
	const yaml_node_t *root = yaml_document_get_root_node(&doc);
	int rc = root ? fail(p, root, "only one YAML document is allowed") : 0;
	yaml_document_delete(&doc);
	p->doc = NULL;
	return rc;
}

int conf_parse_yaml(conf_t *c, const char *text, size_t len, const char *dir, unsigned *dir_line,
                    char *err, size_t errlen)
{
	unsigned n_err = 0;
	parse_t p = {.c = c, .dir = dir, .err = err, .errlen = errlen, .n_err = &n_err};
	yaml_parser_t yp;
	yaml_document_t doc;
	int rc;
	if (!yaml_parser_initialize(&yp))
		return oom(&p);
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	if (!yaml_parser_load(&yp, &doc)) {
		rc = syntax_error(&p, &yp, text, len);
	} else {
		p.doc = &doc;
		rc = walk_root(&p, dir_line);
		yaml_document_delete(&doc);
		if (!rc)
			rc = expect_end(&p, &yp, text, len);
	}
	yaml_parser_delete(&yp);
	return rc;
}
