/* The wire rules of the control protocol: command names, the length prefix,
 * the check of untrusted CBOR before libcbor loads it, and the encoding of
 * items with definite lengths.
 *
 * Untrusted bytes go through a streaming pass first. It bounds nesting (so
 * the recursive cbor_decref and encoders stay shallow), string sizes and
 * item counts (a declared count may not exceed the bytes that remain, so
 * cbor_load never preallocates more than the message could fill), and
 * refuses what the protocol never uses: indefinite lengths, byte strings,
 * tags, undefined, non-text map keys, invalid UTF-8.
 */
#include <assert.h>
#include <string.h>

#include "common/buf.h"
#include "ctl/ctl.h"
#include "ctl/internal.h"

static const char *const cmd_names[] = {
    [CTL_CMD_STATUS] = "status",
    [CTL_CMD_RELOAD] = "reload",
    [CTL_CMD_ZONE_STATUS] = "zone-status",
    [CTL_CMD_STATS] = "stats",
    [CTL_CMD_STOP] = "stop",
    [CTL_CMD_REFRESH] = "refresh",
    [CTL_CMD_RETRANSFER] = "retransfer",
};
#define N_CMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

const char *ctl_cmd_name(ctl_cmd_t cmd)
{
	if ((unsigned)cmd >= N_CMDS)
		return NULL;
	return cmd_names[cmd];
}

int ctl_cmd_parse(const char *name, ctl_cmd_t *out)
{
	assert(name && out);
	for (unsigned i = 1; i < N_CMDS; i++) {
		if (strcmp(name, cmd_names[i]) == 0) {
			*out = (ctl_cmd_t)i;
			return 0;
		}
	}
	return SRVD_EINVAL;
}

ctl_zone_arg_t ctl_cmd_zone_arg(ctl_cmd_t cmd)
{
	switch (cmd) {
	case CTL_CMD_RELOAD:
	case CTL_CMD_ZONE_STATUS:
	case CTL_CMD_STATS: return CTL_ZONE_OPTIONAL;
	case CTL_CMD_REFRESH:
	case CTL_CMD_RETRANSFER: return CTL_ZONE_REQUIRED;
	default: return CTL_ZONE_NONE;
	}
}

int ctl_frame_need(const uint8_t *buf, size_t len, size_t *need)
{
	assert(buf || len == 0);
	assert(need);
	if (len < CTL_HDR_LEN) {
		*need = CTL_HDR_LEN;
		return 0;
	}
	uint32_t n = get_u32(buf);
	if (n == 0 || n > CTL_MAX_MSG)
		return SRVD_EMALFORM;
	*need = CTL_HDR_LEN + (size_t)n;
	return 0;
}

/* ---- the streaming check ------------------------------------------------ */

enum kind { SCALAR, TEXT, ARRAY, MAP };

struct level {
	uint64_t left; /* items still to come; a map counts keys and values */
	bool map;
};

struct walk {
	const ctl_limits_t *lim;
	struct level st[CTL_MAX_DEPTH];
	int depth;     /* open containers */
	bool done;     /* the root item is complete */
	unsigned seen; /* callbacks in this decode step */
	size_t avail;  /* bytes from the current item to the end */
	const char *error;
};

static void fail(struct walk *w, const char *why)
{
	w->seen++;
	if (!w->error)
		w->error = why;
}

static bool next_is_key(const struct walk *w)
{
	return w->depth > 0 && w->st[w->depth - 1].map && w->st[w->depth - 1].left % 2 == 0;
}

static void push(struct walk *w, bool map, uint64_t count)
{
	if (w->depth >= w->lim->depth) {
		w->error = "nested too deeply";
	} else if (count > w->lim->items) {
		w->error = "too many items in an array or map";
	} else if (count > w->avail || (map && 2 * count > w->avail)) {
		w->error = "an array or map is larger than the message";
	} else {
		w->st[w->depth++] = (struct level){.left = map ? 2 * count : count, .map = map};
	}
}

/* Account for one item that starts here. */
static void item(struct walk *w, enum kind kind, uint64_t count)
{
	w->seen++;
	if (w->error)
		return;
	if (w->done) {
		w->error = "trailing bytes after the message";
		return;
	}
	if (next_is_key(w) && kind != TEXT) {
		w->error = "a map key is not a text string";
		return;
	}
	if (w->depth > 0)
		w->st[w->depth - 1].left--;
	if (kind == ARRAY || kind == MAP) {
		push(w, kind == MAP, count);
		if (w->error)
			return;
	}
	while (w->depth > 0 && w->st[w->depth - 1].left == 0)
		w->depth--;
	w->done = w->depth == 0;
}

static void on_u8(void *ctx, uint8_t v)
{
	item(ctx, SCALAR, 0);
}

static void on_u16(void *ctx, uint16_t v)
{
	item(ctx, SCALAR, 0);
}

static void on_u32(void *ctx, uint32_t v)
{
	item(ctx, SCALAR, 0);
}

static void on_u64(void *ctx, uint64_t v)
{
	item(ctx, SCALAR, 0);
}

static void on_float(void *ctx, float v)
{
	item(ctx, SCALAR, 0);
}

static void on_double(void *ctx, double v)
{
	item(ctx, SCALAR, 0);
}

static void on_bool(void *ctx, bool v)
{
	item(ctx, SCALAR, 0);
}

static void on_null(void *ctx)
{
	item(ctx, SCALAR, 0);
}

static void on_text(void *ctx, cbor_data s, size_t n)
{
	struct walk *w = ctx;
	if (n > w->lim->str) {
		fail(w, "a text string is too long");
		return;
	}
	for (size_t i = 0, l; i < n; i += l) {
		l = ctl_utf8_len(s + i, n - i);
		if (l == 0) {
			fail(w, "invalid UTF-8 in a text string");
			return;
		}
	}
	item(w, TEXT, 0);
}

static void on_array(void *ctx, size_t n)
{
	item(ctx, ARRAY, n);
}

static void on_map(void *ctx, size_t n)
{
	item(ctx, MAP, n);
}

static void on_indefinite(void *ctx)
{
	fail(ctx, "indefinite lengths are not allowed");
}

static void on_bytes(void *ctx, cbor_data s, size_t n)
{
	fail(ctx, "byte strings are not allowed");
}

static void on_bytes_start(void *ctx)
{
	fail(ctx, "byte strings are not allowed");
}

static void on_tag(void *ctx, uint64_t v)
{
	fail(ctx, "tags are not allowed");
}

static void on_undefined(void *ctx)
{
	fail(ctx, "undefined is not allowed");
}

static const struct cbor_callbacks walk_callbacks = {
    .uint8 = on_u8,
    .uint16 = on_u16,
    .uint32 = on_u32,
    .uint64 = on_u64,
    .negint8 = on_u8,
    .negint16 = on_u16,
    .negint32 = on_u32,
    .negint64 = on_u64,
    .byte_string = on_bytes,
    .byte_string_start = on_bytes_start,
    .string = on_text,
    .string_start = on_indefinite,
    .array_start = on_array,
    .indef_array_start = on_indefinite,
    .map_start = on_map,
    .indef_map_start = on_indefinite,
    .tag = on_tag,
    .float2 = on_float,
    .float4 = on_float,
    .float8 = on_double,
    .undefined = on_undefined,
    .null = on_null,
    .boolean = on_bool,
    .indef_break = on_indefinite,
};

static const char *check(const uint8_t *body, size_t len, const ctl_limits_t *lim)
{
	struct walk w = {.lim = lim};
	size_t pos = 0;
	while (pos < len && !w.error) {
		w.avail = len - pos;
		w.seen = 0;
		struct cbor_decoder_result r =
		    cbor_stream_decode(body + pos, len - pos, &walk_callbacks, &w);
		if (r.status == CBOR_DECODER_NEDATA)
			return "the message is truncated";
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
			return "not valid CBOR";
		if (w.seen != 1 && !w.error)
			return "an unsupported CBOR item";
		pos += r.read;
	}
	if (!w.error && !w.done)
		return "the message is truncated";
	return w.error;
}

int ctl_load(const uint8_t *msg, size_t len, const ctl_limits_t *lim, cbor_item_t **out, char *err,
             size_t errlen)
{
	assert(msg || len == 0);
	size_t need;
	if (ctl_frame_need(msg, len, &need) != 0 || len < CTL_HDR_LEN) {
		ctl_seterr(err, errlen, "bad length prefix");
		return SRVD_EMALFORM;
	}
	if (len != need) {
		ctl_seterr(err, errlen, "%s",
		           len < need ? "the message is truncated"
		                      : "trailing bytes after the message");
		return SRVD_EMALFORM;
	}
	const char *why = check(msg + CTL_HDR_LEN, len - CTL_HDR_LEN, lim);
	if (why) {
		ctl_seterr(err, errlen, "%s", why);
		return SRVD_EMALFORM;
	}
	struct cbor_load_result res;
	cbor_item_t *root = cbor_load(msg + CTL_HDR_LEN, len - CTL_HDR_LEN, &res);
	if (!root || res.error.code != CBOR_ERR_NONE) {
		if (root)
			cbor_decref(&root);
		ctl_seterr(err, errlen, "cannot load the message");
		return res.error.code == CBOR_ERR_MEMERROR ? SRVD_ENOMEM : SRVD_EMALFORM;
	}
	if (!cbor_isa_map(root)) {
		cbor_decref(&root);
		ctl_seterr(err, errlen, "the message is not a map");
		return SRVD_EMALFORM;
	}
	*out = root;
	return 0;
}

/* ---- encoding ----------------------------------------------------------- */

/* The head of an item: major type and argument, shortest form. */
static void put_head(ctl_buf_t *b, uint8_t major, uint64_t n)
{
	uint8_t h[9];
	size_t len = n < 24 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
	uint8_t info = len == 1 ? (uint8_t)n : len == 2 ? 24 : len == 3 ? 25 : len == 5 ? 26 : 27;
	h[0] = (uint8_t)(major << 5 | info);
	for (size_t i = 1; i < len; i++)
		h[i] = (uint8_t)(n >> (8 * (len - 1 - i)));
	ctl_buf_put(b, h, len);
}

static void put_item(ctl_buf_t *b, const cbor_item_t *it);

static void put_container(ctl_buf_t *b, const cbor_item_t *it)
{
	if (cbor_isa_array(it)) {
		size_t n = cbor_array_size(it);
		cbor_item_t **v = cbor_array_handle(it);
		put_head(b, 4, n);
		for (size_t i = 0; i < n && !b->err; i++)
			put_item(b, v[i]);
		return;
	}
	size_t n = cbor_map_size(it);
	struct cbor_pair *p = cbor_map_handle(it);
	put_head(b, 5, n);
	for (size_t i = 0; i < n && !b->err; i++) {
		put_item(b, p[i].key);
		put_item(b, p[i].value);
	}
}

static void put_simple(ctl_buf_t *b, const cbor_item_t *it)
{
	unsigned char h[9];
	size_t n;
	if (cbor_is_float(it))
		n = cbor_encode_double(cbor_float_get_float(it), h, sizeof(h));
	else
		n = cbor_encode_ctrl(cbor_ctrl_value(it), h, sizeof(h));
	ctl_buf_put(b, h, n);
}

static void put_item(ctl_buf_t *b, const cbor_item_t *it)
{
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT: put_head(b, 0, cbor_get_int(it)); break;
	case CBOR_TYPE_NEGINT: put_head(b, 1, cbor_get_int(it)); break;
	case CBOR_TYPE_STRING:
		if (!cbor_string_is_definite(it)) {
			b->err = b->err ? b->err : SRVD_EINVAL;
			break;
		}
		put_head(b, 3, cbor_string_length(it));
		ctl_buf_put(b, cbor_string_handle(it), cbor_string_length(it));
		break;
	case CBOR_TYPE_ARRAY:
	case CBOR_TYPE_MAP: put_container(b, it); break;
	case CBOR_TYPE_FLOAT_CTRL: put_simple(b, it); break;
	default: b->err = b->err ? b->err : SRVD_EINVAL; break;
	}
}

int ctl_encode(const cbor_item_t *root, uint8_t **out, size_t *out_len)
{
	static const uint8_t zero[CTL_HDR_LEN];
	ctl_buf_t b;
	ctl_buf_init(&b, CTL_HDR_LEN + CTL_MAX_MSG);
	ctl_buf_put(&b, zero, sizeof(zero));
	put_item(&b, root);
	uint8_t *msg;
	size_t len;
	int rc = ctl_buf_take(&b, &msg, &len);
	if (rc)
		return rc;
	size_t n = len - CTL_HDR_LEN;
	put_u32(msg, (uint32_t)n); /* n <= CTL_MAX_MSG */
	*out = msg;
	*out_len = len;
	return 0;
}

/* ---- lookups ------------------------------------------------------------ */

bool ctl_is_bool(const cbor_item_t *item)
{
	if (!cbor_isa_float_ctrl(item) || !cbor_float_ctrl_is_ctrl(item))
		return false;
	return cbor_ctrl_value(item) == CBOR_CTRL_FALSE || cbor_ctrl_value(item) == CBOR_CTRL_TRUE;
}

bool ctl_text_is(const cbor_item_t *item, const char *s)
{
	if (!cbor_isa_string(item) || !cbor_string_is_definite(item))
		return false;
	size_t n = strlen(s);
	return cbor_string_length(item) == n &&
	       (n == 0 || memcmp(cbor_string_handle(item), s, n) == 0);
}

cbor_item_t *ctl_map_get(const cbor_item_t *map, const char *key)
{
	if (!map || !cbor_isa_map(map))
		return NULL;
	struct cbor_pair *p = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		if (ctl_text_is(p[i].key, key))
			return p[i].value;
	}
	return NULL;
}
