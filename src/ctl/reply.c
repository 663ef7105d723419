/* Replies: {"v": 1, "ok": bool, "error": text, "data": map}. The daemon
 * builds one with the ctl_reply_set_* cursor and encodes it; the client
 * decodes one from untrusted bytes. Both sides hold the data as a libcbor
 * tree whose containers are owned by their parents.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/internal.h"

/* The data map sits two levels below the message (reply map, data map), so
 * a builder may open CTL_MAX_DEPTH - 2 containers inside it. */
#define MAX_OPEN (CTL_MAX_DEPTH - 2)

static const ctl_limits_t reply_limits = {
    .depth = CTL_MAX_DEPTH, .str = CTL_MAX_STR, .items = CTL_MAX_MSG};

struct ctl_reply {
	bool ok;
	bool readonly; /* decoded: libcbor's definite containers cannot grow */
	char *error;
	cbor_item_t *data;
	cbor_item_t *open[MAX_OPEN + 1]; /* open[0] is data; borrowed */
	int depth;                       /* index of the innermost open container */
	int err;                         /* the sticky error */
};

int ctl_reply_new(ctl_reply_t **out)
{
	assert(out);
	ctl_reply_t *r = calloc(1, sizeof(*r));
	if (!r)
		return SRVD_ENOMEM;
	r->data = cbor_new_indefinite_map();
	if (!r->data) {
		free(r);
		return SRVD_ENOMEM;
	}
	r->ok = true;
	r->open[0] = r->data;
	*out = r;
	return 0;
}

void ctl_reply_free(ctl_reply_t *r)
{
	if (!r)
		return;
	if (r->data)
		cbor_decref(&r->data);
	free(r->error);
	free(r);
}

/* ---- building ----------------------------------------------------------- */

/* A copy of s that is valid UTF-8 (U+FFFD for each bad byte), at most
 * CTL_MAX_STR bytes and cut between characters. */
static cbor_item_t *text(const char *s)
{
	static const uint8_t bad[] = {0xef, 0xbf, 0xbd};
	const uint8_t *p = (const uint8_t *)s;
	size_t n = strlen(s);
	ctl_buf_t b;
	ctl_buf_init(&b, CTL_MAX_STR);
	for (size_t i = 0, l; i < n && !b.err; i += l ? l : 1) {
		l = ctl_utf8_len(p + i, n - i);
		if (l && b.len + l <= CTL_MAX_STR)
			ctl_buf_put(&b, p + i, l);
		else if (!l && b.len + sizeof(bad) <= CTL_MAX_STR)
			ctl_buf_put(&b, bad, sizeof(bad));
		else
			break;
	}
	uint8_t *copy;
	size_t len;
	if (ctl_buf_take(&b, &copy, &len) != 0)
		return NULL;
	cbor_item_t *item = cbor_build_stringn((const char *)copy, len);
	free(copy);
	return item;
}

static bool has_key(const cbor_item_t *map, const char *key)
{
	return ctl_map_get(map, key) != NULL;
}

/* Put item into the innermost open container. */
static int attach(cbor_item_t *c, const char *key, cbor_item_t *item)
{
	if (cbor_isa_array(c)) {
		if (key)
			return SRVD_EINVAL;
		return cbor_array_push(c, item) ? 0 : SRVD_ENOMEM;
	}
	if (!key)
		return SRVD_EINVAL;
	if (has_key(c, key))
		return SRVD_EEXIST;
	cbor_item_t *k = text(key);
	bool ok = k && cbor_map_add(c, (struct cbor_pair){.key = k, .value = item});
	if (k)
		cbor_decref(&k);
	return ok ? 0 : SRVD_ENOMEM;
}

/* Consumes the caller's reference on item (which may be NULL: no memory). */
static int add(ctl_reply_t *r, const char *key, cbor_item_t *item)
{
	assert(r);
	int rc = r->err;
	if (!rc && r->readonly)
		rc = SRVD_EINVAL;
	if (!rc && !item)
		rc = SRVD_ENOMEM;
	if (!rc)
		rc = attach(r->open[r->depth], key, item);
	if (item)
		cbor_decref(&item);
	if (!r->err)
		r->err = rc;
	return rc;
}

int ctl_reply_fail(ctl_reply_t *r, const char *error)
{
	assert(r && error);
	if (r->err)
		return r->err;
	cbor_item_t *t = text(error[0] ? error : "unspecified error");
	char *copy = t ? strndup((const char *)cbor_string_handle(t), cbor_string_length(t)) : NULL;
	if (t)
		cbor_decref(&t);
	if (!copy)
		return r->err = SRVD_ENOMEM;
	free(r->error);
	r->error = copy;
	r->ok = false;
	return 0;
}

int ctl_reply_set_u64(ctl_reply_t *r, const char *key, uint64_t v)
{
	return add(r, key, cbor_build_uint64(v));
}

int ctl_reply_set_i64(ctl_reply_t *r, const char *key, int64_t v)
{
	if (v >= 0)
		return add(r, key, cbor_build_uint64((uint64_t)v));
	return add(r, key, cbor_build_negint64((uint64_t)(-(v + 1))));
}

int ctl_reply_set_bool(ctl_reply_t *r, const char *key, bool v)
{
	return add(r, key, cbor_build_bool(v));
}

int ctl_reply_set_str(ctl_reply_t *r, const char *key, const char *v)
{
	assert(v);
	return add(r, key, text(v));
}

static int begin(ctl_reply_t *r, const char *key, cbor_item_t *c)
{
	if (!r->err && r->depth >= MAX_OPEN)
		r->err = SRVD_ELIMIT;
	int rc = add(r, key, c); /* the parent keeps c alive */
	if (rc == 0)
		r->open[++r->depth] = c;
	return rc;
}

int ctl_reply_begin_map(ctl_reply_t *r, const char *key)
{
	return begin(r, key, cbor_new_indefinite_map());
}

int ctl_reply_begin_array(ctl_reply_t *r, const char *key)
{
	return begin(r, key, cbor_new_indefinite_array());
}

int ctl_reply_end(ctl_reply_t *r)
{
	assert(r);
	if (!r->err && r->depth == 0)
		r->err = SRVD_EINVAL;
	if (r->err)
		return r->err;
	r->depth--;
	return 0;
}

/* ---- encoding ----------------------------------------------------------- */

static int add_pair(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	cbor_item_t *k = cbor_build_string(key);
	bool ok = k && value && cbor_map_add(map, (struct cbor_pair){.key = k, .value = value});
	if (k)
		cbor_decref(&k);
	return ok ? 0 : SRVD_ENOMEM;
}

static int add_owned(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	int rc = add_pair(map, key, value);
	if (value)
		cbor_decref(&value);
	return rc;
}

static int encode(bool ok, const char *error, cbor_item_t *data, uint8_t **out, size_t *out_len)
{
	cbor_item_t *map = cbor_new_definite_map(error ? 4 : 3);
	if (!map)
		return SRVD_ENOMEM;
	int rc = add_owned(map, "v", cbor_build_uint8(CTL_VERSION));
	if (rc == 0)
		rc = add_owned(map, "ok", cbor_build_bool(ok));
	if (rc == 0 && error)
		rc = add_owned(map, "error", text(error));
	if (rc == 0)
		rc = add_pair(map, "data", data);
	if (rc == 0)
		rc = ctl_encode(map, out, out_len);
	cbor_decref(&map);
	return rc;
}

int ctl_reply_encode(const ctl_reply_t *r, uint8_t **out, size_t *out_len)
{
	assert(r && out && out_len);
	if (r->err)
		return r->err;
	if (r->depth != 0)
		return SRVD_EINVAL;
	return encode(r->ok, r->ok ? NULL : r->error, r->data, out, out_len);
}

int ctl_reply_encode_error(const char *error, uint8_t **out, size_t *out_len)
{
	assert(error && out && out_len);
	cbor_item_t *data = cbor_new_definite_map(0);
	if (!data)
		return SRVD_ENOMEM;
	int rc = encode(false, error, data, out, out_len);
	cbor_decref(&data);
	return rc;
}

/* ---- decoding ----------------------------------------------------------- */

/* The reason of a failed reply as a C string: NUL bytes become '?' so that
 * nothing after them is lost, and a missing or empty reason gets one. */
static char *error_text(const cbor_item_t *error)
{
	size_t n = error ? cbor_string_length(error) : 0;
	if (n == 0)
		return strdup("unspecified error");
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, cbor_string_handle(error), n);
	for (size_t i = 0; i < n; i++)
		s[i] = s[i] ? s[i] : '?';
	s[n] = '\0';
	return s;
}

static int parse(const cbor_item_t *map, ctl_reply_t *r, char *err, size_t errlen)
{
	const cbor_item_t *v = ctl_map_get(map, "v"), *ok = ctl_map_get(map, "ok");
	const cbor_item_t *error = ctl_map_get(map, "error"), *data = ctl_map_get(map, "data");
	if (!v || !cbor_isa_uint(v) || cbor_get_int(v) != CTL_VERSION) {
		ctl_seterr(err, errlen, "not a control protocol version %d reply", CTL_VERSION);
		return SRVD_EMALFORM;
	}
	if (!ok || !ctl_is_bool(ok) || (error && !cbor_isa_string(error)) ||
	    (data && !cbor_isa_map(data))) {
		ctl_seterr(err, errlen, "a reply field has the wrong type");
		return SRVD_EMALFORM;
	}
	r->ok = cbor_get_bool(ok);
	if (!r->ok) {
		r->error = error_text(error);
		if (!r->error)
			return SRVD_ENOMEM;
	}
	if (data) {
		cbor_decref(&r->data);
		r->data = cbor_incref((cbor_item_t *)data);
		r->open[0] = r->data;
	}
	r->readonly = true;
	return 0;
}

int ctl_reply_decode(const uint8_t *msg, size_t len, ctl_reply_t **out, char *err, size_t errlen)
{
	assert(out);
	cbor_item_t *map;
	int rc = ctl_load(msg, len, &reply_limits, &map, err, errlen);
	if (rc)
		return rc;
	ctl_reply_t *r;
	rc = ctl_reply_new(&r);
	if (rc == 0) {
		rc = parse(map, r, err, errlen);
		if (rc)
			ctl_reply_free(r);
	}
	cbor_decref(&map);
	if (rc == 0)
		*out = r;
	return rc;
}

bool ctl_reply_ok(const ctl_reply_t *r)
{
	assert(r);
	return r->ok;
}

const char *ctl_reply_error(const ctl_reply_t *r)
{
	assert(r);
	return r->ok ? NULL : r->error;
}

/* For format.c: the data map. */
const cbor_item_t *ctl_reply_data(const ctl_reply_t *r)
{
	assert(r);
	return r->data;
}
