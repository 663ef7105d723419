/* Renderings of a reply for srvdctl: JSON for scripts (every string escaped,
 * invalid UTF-8 replaced), and text for people (aligned "key: value" lines,
 * nested maps indented, tables for the per-zone lists).
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/internal.h"

/* ---- JSON --------------------------------------------------------------- */

static void json_str(ctl_buf_t *b, const uint8_t *s, size_t n)
{
	ctl_buf_put(b, "\"", 1);
	for (size_t i = 0, l; i < n; i += l) {
		uint8_t c = s[i];
		l = 1;
		switch (c) {
		case '"': ctl_buf_puts(b, "\\\""); continue;
		case '\\': ctl_buf_puts(b, "\\\\"); continue;
		case '\b': ctl_buf_puts(b, "\\b"); continue;
		case '\f': ctl_buf_puts(b, "\\f"); continue;
		case '\n': ctl_buf_puts(b, "\\n"); continue;
		case '\r': ctl_buf_puts(b, "\\r"); continue;
		case '\t': ctl_buf_puts(b, "\\t"); continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			ctl_buf_printf(b, "\\u%04x", c);
		} else if (c < 0x80) {
			ctl_buf_put(b, &c, 1);
		} else if ((l = ctl_utf8_len(s + i, n - i)) > 0) {
			ctl_buf_put(b, s + i, l);
		} else {
			ctl_buf_puts(b, "\\ufffd");
			l = 1;
		}
	}
	ctl_buf_put(b, "\"", 1);
}

static void json_text(ctl_buf_t *b, const cbor_item_t *it)
{
	if (cbor_isa_string(it) && cbor_string_is_definite(it))
		json_str(b, cbor_string_handle(it), cbor_string_length(it));
	else
		ctl_buf_puts(b, "\"\"");
}

static void json_item(ctl_buf_t *b, const cbor_item_t *it);

static void json_array(ctl_buf_t *b, const cbor_item_t *it)
{
	cbor_item_t **v = cbor_array_handle(it);
	ctl_buf_put(b, "[", 1);
	for (size_t i = 0; i < cbor_array_size(it) && !b->err; i++) {
		if (i)
			ctl_buf_put(b, ",", 1);
		json_item(b, v[i]);
	}
	ctl_buf_put(b, "]", 1);
}

static void json_map(ctl_buf_t *b, const cbor_item_t *it)
{
	struct cbor_pair *p = cbor_map_handle(it);
	ctl_buf_put(b, "{", 1);
	for (size_t i = 0; i < cbor_map_size(it) && !b->err; i++) {
		if (i)
			ctl_buf_put(b, ",", 1);
		json_text(b, p[i].key);
		ctl_buf_put(b, ":", 1);
		json_item(b, p[i].value);
	}
	ctl_buf_put(b, "}", 1);
}

static void json_simple(ctl_buf_t *b, const cbor_item_t *it)
{
	if (cbor_is_float(it)) {
		double d = cbor_float_get_float(it);
		if (isfinite(d))
			ctl_buf_printf(b, "%.17g", d);
		else
			ctl_buf_puts(b, "null");
	} else if (ctl_is_bool(it)) {
		ctl_buf_puts(b, cbor_get_bool(it) ? "true" : "false");
	} else {
		ctl_buf_puts(b, "null");
	}
}

static void json_item(ctl_buf_t *b, const cbor_item_t *it)
{
	uint64_t n;
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT: ctl_buf_printf(b, "%" PRIu64, cbor_get_int(it)); break;
	case CBOR_TYPE_NEGINT:
		n = cbor_get_int(it); /* the value is -1 - n */
		if (n == UINT64_MAX)
			ctl_buf_puts(b, "-18446744073709551616");
		else
			ctl_buf_printf(b, "-%" PRIu64, n + 1);
		break;
	case CBOR_TYPE_STRING: json_text(b, it); break;
	case CBOR_TYPE_ARRAY: json_array(b, it); break;
	case CBOR_TYPE_MAP: json_map(b, it); break;
	case CBOR_TYPE_FLOAT_CTRL: json_simple(b, it); break;
	default: ctl_buf_puts(b, "null"); break;
	}
}

static int take_text(ctl_buf_t *b, char **out)
{
	uint8_t *p;
	size_t len;
	int rc = ctl_buf_take(b, &p, &len);
	if (rc == 0)
		*out = (char *)p;
	return rc;
}

int ctl_reply_to_json(const ctl_reply_t *r, char **out)
{
	assert(r && out);
	ctl_buf_t b;
	ctl_buf_init(&b, SIZE_MAX / 2);
	ctl_buf_printf(&b, "{\"v\":%d,\"ok\":%s", CTL_VERSION, ctl_reply_ok(r) ? "true" : "false");
	if (!ctl_reply_ok(r)) {
		const char *e = ctl_reply_error(r);
		ctl_buf_puts(&b, ",\"error\":");
		json_str(&b, (const uint8_t *)e, strlen(e));
	}
	ctl_buf_puts(&b, ",\"data\":");
	json_item(&b, ctl_reply_data(r));
	ctl_buf_puts(&b, "}\n");
	return take_text(&b, out);
}

/* ---- text: values ------------------------------------------------------- */

enum hint { PLAIN, DURATION, SIZE, TIME };

static bool key_ends(const cbor_item_t *key, const char *suffix)
{
	size_t n = key ? cbor_string_length(key) : 0, m = strlen(suffix);
	return n >= m && memcmp(cbor_string_handle(key) + n - m, suffix, m) == 0;
}

static enum hint hint_of(const cbor_item_t *key)
{
	if (!key || !cbor_isa_string(key))
		return PLAIN;
	if (ctl_text_is(key, "uptime"))
		return DURATION;
	if (ctl_text_is(key, "memory") || key_ends(key, "_bytes"))
		return SIZE;
	/* srvdctl(1) promises UTC times in text: the secondary's timers too. */
	if (ctl_text_is(key, "loaded") || key_ends(key, "_at") ||
	    ctl_text_is(key, "last_refresh") || ctl_text_is(key, "next_refresh") ||
	    ctl_text_is(key, "expires"))
		return TIME;
	return PLAIN;
}

/* Text without control characters, so a reply cannot drive the terminal. */
static void put_clean(ctl_buf_t *b, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n && !b->err; i++) {
		uint8_t c = s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
		ctl_buf_put(b, &c, 1);
	}
}

static void put_duration(ctl_buf_t *b, uint64_t s)
{
	unsigned h = (unsigned)(s / 3600 % 24), m = (unsigned)(s / 60 % 60),
	         sec = (unsigned)(s % 60);
	if (s >= 86400)
		ctl_buf_printf(b, "%" PRIu64 "d %02u:%02u:%02u", s / 86400, h, m, sec);
	else
		ctl_buf_printf(b, "%02u:%02u:%02u", h, m, sec);
}

static void put_size(ctl_buf_t *b, uint64_t n)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (n < 1024) {
		ctl_buf_printf(b, "%" PRIu64 " B", n);
		return;
	}
	double v = (double)n / 1024;
	unsigned u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	ctl_buf_printf(b, "%.1f %s", v, units[u]);
}

static void put_time(ctl_buf_t *b, uint64_t t)
{
	struct tm tm;
	char s[64];
	if (t == 0) {
		ctl_buf_puts(b, "never");
	} else if (t <= 253402300799ull && gmtime_r(&(time_t){(time_t)t}, &tm) &&
	           strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%S UTC", &tm) > 0) {
		ctl_buf_puts(b, s);
	} else {
		ctl_buf_printf(b, "%" PRIu64, t);
	}
}

static void put_uint(ctl_buf_t *b, enum hint h, uint64_t v)
{
	switch (h) {
	case DURATION: put_duration(b, v); break;
	case SIZE: put_size(b, v); break;
	case TIME: put_time(b, v); break;
	default: ctl_buf_printf(b, "%" PRIu64, v); break;
	}
}

static bool is_container(const cbor_item_t *it)
{
	return cbor_isa_map(it) || cbor_isa_array(it);
}

/* One value on one line: scalars as such, arrays of scalars joined. */
static void put_value(ctl_buf_t *b, const cbor_item_t *key, const cbor_item_t *v)
{
	if (cbor_isa_uint(v)) {
		put_uint(b, hint_of(key), cbor_get_int(v));
	} else if (cbor_isa_string(v)) {
		put_clean(b, cbor_string_handle(v), cbor_string_length(v));
	} else if (ctl_is_bool(v)) {
		ctl_buf_puts(b, cbor_get_bool(v) ? "yes" : "no");
	} else if (cbor_isa_array(v)) {
		cbor_item_t **e = cbor_array_handle(v);
		for (size_t i = 0; i < cbor_array_size(v) && !b->err; i++) {
			ctl_buf_puts(b, i ? ", " : "");
			if (is_container(e[i]))
				ctl_buf_puts(b, "...");
			else
				put_value(b, key, e[i]);
		}
		if (cbor_array_size(v) == 0)
			ctl_buf_puts(b, "-");
	} else if (cbor_isa_map(v)) {
		ctl_buf_puts(b, cbor_map_size(v) ? "..." : "-");
	} else if (cbor_isa_negint(v) || cbor_is_float(v)) {
		json_item(b, v);
	} else {
		ctl_buf_puts(b, "-");
	}
}

/* ---- text: structure ---------------------------------------------------- */

static bool all_scalars(const cbor_item_t *arr)
{
	cbor_item_t **e = cbor_array_handle(arr);
	for (size_t i = 0; i < cbor_array_size(arr); i++) {
		if (is_container(e[i]))
			return false;
	}
	return true;
}

static void indent(ctl_buf_t *b, int n)
{
	ctl_buf_printf(b, "%*s", n, "");
}

static void text_map(ctl_buf_t *b, const cbor_item_t *map, int ind, bool first_indented);

static void text_list(ctl_buf_t *b, const cbor_item_t *key, const cbor_item_t *arr, int ind)
{
	cbor_item_t **e = cbor_array_handle(arr);
	for (size_t i = 0; i < cbor_array_size(arr) && !b->err; i++) {
		indent(b, ind);
		ctl_buf_puts(b, "- ");
		if (cbor_isa_map(e[i]) && cbor_map_size(e[i]) > 0) {
			text_map(b, e[i], ind + 2, false);
		} else {
			put_value(b, key, e[i]);
			ctl_buf_puts(b, "\n");
		}
	}
}

/* Whether v fits on its key's line. */
static bool one_line(const cbor_item_t *v)
{
	if (cbor_isa_map(v))
		return cbor_map_size(v) == 0;
	return !cbor_isa_array(v) || all_scalars(v);
}

static void text_entry(ctl_buf_t *b, const cbor_item_t *key, const cbor_item_t *v, int ind)
{
	if (one_line(v)) {
		put_value(b, key, v);
		ctl_buf_puts(b, "\n");
	} else if (cbor_isa_map(v)) {
		ctl_buf_puts(b, "\n");
		text_map(b, v, ind + 2, true);
	} else {
		ctl_buf_puts(b, "\n");
		text_list(b, key, v, ind + 2);
	}
}

static void text_map(ctl_buf_t *b, const cbor_item_t *map, int ind, bool first_indented)
{
	struct cbor_pair *p = cbor_map_handle(map);
	size_t n = cbor_map_size(map), width = 0;
	for (size_t i = 0; i < n; i++) {
		size_t kl = cbor_string_length(p[i].key);
		width = kl > width ? kl : width;
	}
	for (size_t i = 0; i < n && !b->err; i++) {
		size_t kl = cbor_string_length(p[i].key);
		if (i > 0 || first_indented)
			indent(b, ind);
		put_clean(b, cbor_string_handle(p[i].key), kl);
		ctl_buf_puts(b, ":");
		if (one_line(p[i].value))
			indent(b, (int)(width - kl + 1));
		text_entry(b, p[i].key, p[i].value, ind);
	}
}

/* ---- text: tables of zones ---------------------------------------------- */

struct column {
	const char *title, *key;
};

static const struct column status_cols[] = {
    {"ZONE", "name"},     {"SERIAL", "serial"}, {"RECORDS", "records"},
    {"LOADED", "loaded"}, {"FILES", "files"},   {NULL, NULL},
};

static const struct column reload_cols[] = {
    {"ZONE", "name"}, {"OK", "ok"}, {"ACTION", "action"}, {"SERIAL", "serial"}, {NULL, NULL},
};

static void put_cell(ctl_buf_t *b, const cbor_item_t *zone, const char *key)
{
	struct cbor_pair *p = cbor_map_handle(zone);
	for (size_t i = 0; i < cbor_map_size(zone); i++) {
		if (ctl_text_is(p[i].key, key)) {
			put_value(b, p[i].key, p[i].value);
			return;
		}
	}
	ctl_buf_puts(b, "-");
}

static size_t cell_width(const cbor_item_t *zone, const char *key)
{
	ctl_buf_t c;
	ctl_buf_init(&c, SIZE_MAX / 2);
	put_cell(&c, zone, key);
	size_t n = c.len;
	ctl_buf_deinit(&c);
	return n;
}

/* A secondary zone's refresh state, under its row. Times come as unix
 * seconds and print in UTC, as in the LOADED column (srvdctl(1)). */
static void secondary_line(ctl_buf_t *b, const cbor_item_t *zone)
{
	static const char *const keys[] = {"primary",     "last_refresh", "next_refresh",
	                                   "expires",     "expired",      "state",
	                                   "serial_held", "ixfr_in",      "axfr_in"};
	ctl_buf_puts(b, "  secondary:");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cbor_item_t *v = ctl_map_get(zone, keys[i]);
		if (!v)
			continue;
		ctl_buf_puts(b, " ");
		ctl_buf_puts(b, keys[i]);
		ctl_buf_puts(b, "=");
		put_cell(b, zone, keys[i]);
	}
	ctl_buf_puts(b, "\n");
	const cbor_item_t *e = ctl_map_get(zone, "last_error");
	if (e && cbor_isa_string(e)) {
		ctl_buf_puts(b, "  last error: ");
		put_clean(b, cbor_string_handle(e), cbor_string_length(e));
		ctl_buf_puts(b, "\n");
	}
}

static void table_row(ctl_buf_t *b, const struct column *cols, const size_t *w,
                      const cbor_item_t *zone)
{
	for (size_t c = 0; cols[c].title; c++) {
		size_t start = b->len;
		if (zone)
			put_cell(b, zone, cols[c].key);
		else
			ctl_buf_puts(b, cols[c].title);
		if (cols[c + 1].title && !b->err)
			indent(b, (int)(w[c] - (b->len - start) + 2));
	}
	ctl_buf_puts(b, "\n");
	if (zone && ctl_map_get(zone, "secondary"))
		secondary_line(b, zone);
	const cbor_item_t *e = zone ? ctl_map_get(zone, "error") : NULL;
	if (e && cbor_isa_string(e)) {
		ctl_buf_puts(b, "  error: ");
		put_clean(b, cbor_string_handle(e), cbor_string_length(e));
		ctl_buf_puts(b, "\n");
	}
}

/* A table when zones is an array of maps; false to fall back to lines. */
static bool text_table(ctl_buf_t *b, const struct column *cols, const cbor_item_t *zones)
{
	if (!zones || !cbor_isa_array(zones))
		return false;
	cbor_item_t **z = cbor_array_handle(zones);
	size_t n = cbor_array_size(zones), w[8] = {0};
	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_map(z[i]))
			return false;
	}
	if (n == 0) {
		ctl_buf_puts(b, "no zones\n");
		return true;
	}
	for (size_t c = 0; cols[c].title; c++) {
		w[c] = strlen(cols[c].title);
		for (size_t i = 0; i < n; i++) {
			size_t cw = cell_width(z[i], cols[c].key);
			w[c] = cw > w[c] ? cw : w[c];
		}
	}
	table_row(b, cols, w, NULL);
	for (size_t i = 0; i < n && !b->err; i++)
		table_row(b, cols, w, z[i]);
	return true;
}

int ctl_reply_to_text(const ctl_reply_t *r, ctl_cmd_t cmd, char **out)
{
	assert(r && out);
	const cbor_item_t *data = ctl_reply_data(r);
	const cbor_item_t *zones = ctl_map_get(data, "zones");
	ctl_buf_t b;
	ctl_buf_init(&b, SIZE_MAX / 2);
	bool done = false;
	if (cmd == CTL_CMD_ZONE_STATUS)
		done = text_table(&b, status_cols, zones);
	else if (cmd == CTL_CMD_RELOAD)
		done = text_table(&b, reload_cols, zones);
	if (!done && cbor_map_size(data) > 0)
		text_map(&b, data, 0, true);
	return take_text(&b, out);
}
