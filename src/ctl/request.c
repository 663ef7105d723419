/* Requests: {"v": 1, "cmd": text, "zone": text}. The client encodes them;
 * the daemon decodes untrusted bytes into a ctl_request_t and refuses, with a
 * reason, anything that is not exactly such a map.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/internal.h"

#define MAX_CMD 32
#define MAX_KEYS 8

static const ctl_limits_t request_limits = {.depth = 1, .str = CTL_MAX_ZONE, .items = MAX_KEYS};

/* Printable ASCII without spaces: a presentation-form name, escapes allowed.
 * It keeps control characters out of logs and replies. */
static bool zone_ok(const char *s, size_t n)
{
	if (n == 0 || n > CTL_MAX_ZONE)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	}
	return true;
}

/* Which zone arguments cmd accepts; the reason goes to err. */
static int zone_rule(ctl_cmd_t cmd, bool has_zone, char *err, size_t errlen)
{
	ctl_zone_arg_t arg = ctl_cmd_zone_arg(cmd);
	if (arg == CTL_ZONE_NONE && has_zone) {
		ctl_seterr(err, errlen, "'%s' takes no zone", ctl_cmd_name(cmd));
		return SRVD_EINVAL;
	}
	if (arg == CTL_ZONE_REQUIRED && !has_zone) {
		ctl_seterr(err, errlen, "'%s' needs a zone", ctl_cmd_name(cmd));
		return SRVD_EINVAL;
	}
	return 0;
}

/* Consumes the reference on value, which may be NULL (no memory). */
static int add(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	cbor_item_t *k = cbor_build_string(key);
	bool ok = k && value && cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
	if (k)
		cbor_decref(&k);
	if (value)
		cbor_decref(&value);
	return ok ? 0 : SRVD_ENOMEM;
}

int ctl_request_encode(const ctl_request_t *req, uint8_t **out, size_t *out_len)
{
	assert(req && out && out_len);
	const char *name = ctl_cmd_name(req->cmd);
	size_t zlen = strnlen(req->zone, sizeof(req->zone));
	if (!name || req->cmd == 0 || zlen == sizeof(req->zone))
		return SRVD_EINVAL;
	if (zone_rule(req->cmd, zlen > 0, NULL, 0) != 0 || (zlen > 0 && !zone_ok(req->zone, zlen)))
		return SRVD_EINVAL;
	cbor_item_t *map = cbor_new_definite_map(zlen ? 3 : 2);
	if (!map)
		return SRVD_ENOMEM;
	int rc = add(map, "v", cbor_build_uint8(CTL_VERSION));
	if (rc == 0)
		rc = add(map, "cmd", cbor_build_string(name));
	if (rc == 0 && zlen)
		rc = add(map, "zone", cbor_build_string(req->zone));
	if (rc == 0)
		rc = ctl_encode(map, out, out_len);
	cbor_decref(&map);
	return rc;
}

/* ---- decoding ----------------------------------------------------------- */

struct fields {
	const cbor_item_t *v, *cmd, *zone;
	const cbor_item_t *unknown; /* the first unknown key */
};

/* Printable copy of a text item for an error message. */
static void show(const cbor_item_t *text, char *dst, size_t cap)
{
	size_t n = cbor_string_length(text), j = 0;
	const unsigned char *s = cbor_string_handle(text);
	for (size_t i = 0; i < n && j + 1 < cap; i++)
		dst[j++] = s[i] > 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	dst[j] = '\0';
}

static int sort_keys(const cbor_item_t *map, struct fields *f, char *err, size_t errlen)
{
	struct cbor_pair *p = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		const cbor_item_t **slot = ctl_text_is(p[i].key, "v")      ? &f->v
		                           : ctl_text_is(p[i].key, "cmd")  ? &f->cmd
		                           : ctl_text_is(p[i].key, "zone") ? &f->zone
		                                                           : NULL;
		if (!slot) {
			f->unknown = f->unknown ? f->unknown : p[i].key;
			continue;
		}
		if (*slot) {
			char key[8];
			show(p[i].key, key, sizeof(key));
			ctl_seterr(err, errlen, "duplicate key '%s'", key);
			return SRVD_EMALFORM;
		}
		*slot = p[i].value;
	}
	return 0;
}

static int check_version(const cbor_item_t *v, char *err, size_t errlen)
{
	if (!v) {
		ctl_seterr(err, errlen, "missing protocol version 'v'");
		return SRVD_EMALFORM;
	}
	if (!cbor_isa_uint(v)) {
		ctl_seterr(err, errlen, "'v' is not an unsigned integer");
		return SRVD_EMALFORM;
	}
	if (cbor_get_int(v) != CTL_VERSION) {
		ctl_seterr(err, errlen, "unsupported protocol version %llu (this daemon speaks %d)",
		           (unsigned long long)cbor_get_int(v), CTL_VERSION);
		return SRVD_EINVAL;
	}
	return 0;
}

static int parse_cmd(const cbor_item_t *cmd, ctl_cmd_t *out, char *err, size_t errlen)
{
	if (!cmd) {
		ctl_seterr(err, errlen, "missing 'cmd'");
		return SRVD_EMALFORM;
	}
	if (!cbor_isa_string(cmd)) {
		ctl_seterr(err, errlen, "'cmd' is not a text string");
		return SRVD_EMALFORM;
	}
	char name[MAX_CMD + 1];
	size_t n = cbor_string_length(cmd);
	const char *s = (const char *)cbor_string_handle(cmd);
	if (n <= MAX_CMD && !memchr(s ? s : "", '\0', n)) {
		memcpy(name, s ? s : "", n);
		name[n] = '\0';
		if (ctl_cmd_parse(name, out) == 0)
			return 0;
	}
	show(cmd, name, sizeof(name));
	ctl_seterr(err, errlen, "unknown command '%s'", name);
	return SRVD_EINVAL;
}

static int parse_zone(const cbor_item_t *zone, char *dst, char *err, size_t errlen)
{
	if (!zone) {
		dst[0] = '\0';
		return 0;
	}
	if (!cbor_isa_string(zone)) {
		ctl_seterr(err, errlen, "'zone' is not a text string");
		return SRVD_EMALFORM;
	}
	size_t n = cbor_string_length(zone);
	const char *s = (const char *)cbor_string_handle(zone);
	if (!s || !zone_ok(s, n)) {
		ctl_seterr(err, errlen, "invalid zone name");
		return SRVD_EINVAL;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse(const cbor_item_t *map, ctl_request_t *req, char *err, size_t errlen)
{
	struct fields f = {0};
	int rc = sort_keys(map, &f, err, errlen);
	if (rc == 0)
		rc = check_version(f.v, err, errlen);
	if (rc == 0 && f.unknown) {
		char key[MAX_CMD + 1];
		show(f.unknown, key, sizeof(key));
		ctl_seterr(err, errlen, "unknown key '%s'", key);
		rc = SRVD_EINVAL;
	}
	if (rc == 0)
		rc = parse_cmd(f.cmd, &req->cmd, err, errlen);
	if (rc == 0)
		rc = parse_zone(f.zone, req->zone, err, errlen);
	if (rc == 0)
		rc = zone_rule(req->cmd, req->zone[0] != '\0', err, errlen);
	return rc;
}

int ctl_request_decode(const uint8_t *msg, size_t len, ctl_request_t *out, char *err, size_t errlen)
{
	assert(out);
	cbor_item_t *map;
	int rc = ctl_load(msg, len, &request_limits, &map, err, errlen);
	if (rc)
		return rc;
	ctl_request_t req;
	rc = parse(map, &req, err, errlen);
	cbor_decref(&map);
	if (rc == 0)
		*out = req;
	return rc;
}
