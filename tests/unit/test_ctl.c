/* Unit tests for src/ctl: the control protocol. Framing with partial input,
 * request and reply round trips, every way a request can be malformed, the
 * reply builder's sticky errors and limits, JSON escaping, and the text
 * renderings srvdctl prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/ctl.h"

/* ---- helpers ------------------------------------------------------------ */

/* A whole message from a CBOR body written in hex ("a1 61 76 01"). */
static size_t msg_from_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = hex; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(p, "%2x", &v), 1);
		assert_true(CTL_HDR_LEN + n < cap);
		out[CTL_HDR_LEN + n++] = (uint8_t)v;
		p += 2;
	}
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
	return CTL_HDR_LEN + n;
}

/* A malformed message, its CBOR body in hex, and what decoding must say. */
struct bad {
	const char *what;
	const char *hex;
	int rc;
	const char *reason; /* a substring of the error text */
};

static ctl_reply_t *new_reply(void)
{
	ctl_reply_t *r = NULL;
	assert_int_equal(ctl_reply_new(&r), 0);
	return r;
}

/* Encode r, decode it again, free both, return the JSON of the decoded one. */
static char *round_trip_json(ctl_reply_t *r)
{
	uint8_t *msg;
	size_t len;
	assert_int_equal(ctl_reply_encode(r, &msg, &len), 0);
	ctl_reply_free(r);
	char err[128] = "";
	ctl_reply_t *d = NULL;
	assert_int_equal(ctl_reply_decode(msg, len, &d, err, sizeof(err)), 0);
	free(msg);
	char *json = NULL;
	assert_int_equal(ctl_reply_to_json(d, &json), 0);
	ctl_reply_free(d);
	return json;
}

static ctl_reply_t *decode_hex(const char *hex)
{
	static uint8_t msg[4096];
	size_t len = msg_from_hex(hex, msg, sizeof(msg));
	char err[128] = "";
	ctl_reply_t *r = NULL;
	int rc = ctl_reply_decode(msg, len, &r, err, sizeof(err));
	if (rc != 0)
		fail_msg("decode failed: %s", err);
	return r;
}

static char *text_of(ctl_reply_t *r, ctl_cmd_t cmd)
{
	uint8_t *msg;
	size_t len;
	assert_int_equal(ctl_reply_encode(r, &msg, &len), 0);
	ctl_reply_free(r);
	ctl_reply_t *d = NULL;
	assert_int_equal(ctl_reply_decode(msg, len, &d, NULL, 0), 0);
	free(msg);
	char *text = NULL;
	assert_int_equal(ctl_reply_to_text(d, cmd, &text), 0);
	ctl_reply_free(d);
	return text;
}

/* ---- commands and framing ------------------------------------------------ */

static void commands_parse_and_name(void **state)
{
	static const char *const names[] = {"status", "reload",  "zone-status", "stats",
	                                    "stop",   "refresh", "retransfer"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ctl_cmd_t c = 0;
		assert_int_equal(ctl_cmd_parse(names[i], &c), 0);
		assert_string_equal(ctl_cmd_name(c), names[i]);
	}
	ctl_cmd_t c = CTL_CMD_STOP;
	assert_int_equal(ctl_cmd_parse("Status", &c), SRVD_EINVAL);
	assert_int_equal(ctl_cmd_parse("", &c), SRVD_EINVAL);
	assert_int_equal(c, CTL_CMD_STOP); /* untouched on failure */
	assert_null(ctl_cmd_name(0));
	assert_null(ctl_cmd_name(99));
	assert_int_equal(ctl_cmd_zone_arg(CTL_CMD_STATUS), CTL_ZONE_NONE);
	assert_int_equal(ctl_cmd_zone_arg(CTL_CMD_RELOAD), CTL_ZONE_OPTIONAL);
	assert_int_equal(ctl_cmd_zone_arg(CTL_CMD_RETRANSFER), CTL_ZONE_REQUIRED);
}

static void frame_need_partial_prefix(void **state)
{
	const uint8_t buf[] = {0x00, 0x00, 0x01, 0x02, 0xaa};
	size_t need = 0;
	for (size_t len = 0; len < CTL_HDR_LEN; len++) {
		assert_int_equal(ctl_frame_need(buf, len, &need), 0);
		assert_int_equal(need, CTL_HDR_LEN);
	}
	assert_int_equal(ctl_frame_need(buf, 4, &need), 0);
	assert_int_equal(need, 4 + 0x102);
	assert_int_equal(ctl_frame_need(buf, 5, &need), 0);
	assert_int_equal(need, 4 + 0x102);
	assert_int_equal(ctl_frame_need(NULL, 0, &need), 0);
	assert_int_equal(need, CTL_HDR_LEN);
}

static void frame_need_limits(void **state)
{
	const uint8_t zero[] = {0, 0, 0, 0};
	const uint8_t max[] = {0x00, 0x10, 0x00, 0x00}; /* 1 MiB */
	const uint8_t over[] = {0x00, 0x10, 0x00, 0x01};
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
	size_t need = 7;
	assert_int_equal(ctl_frame_need(zero, 4, &need), SRVD_EMALFORM);
	assert_int_equal(ctl_frame_need(over, 4, &need), SRVD_EMALFORM);
	assert_int_equal(ctl_frame_need(huge, 4, &need), SRVD_EMALFORM);
	assert_int_equal(need, 7);
	assert_int_equal(ctl_frame_need(max, 4, &need), 0);
	assert_int_equal(need, CTL_HDR_LEN + CTL_MAX_MSG);
}

/* Two requests arrive in one stream, one byte at a time, as a socket may
 * deliver them; each is decoded as soon as it is complete. */
static void frame_reassembly_byte_by_byte(void **state)
{
	ctl_request_t a = {.cmd = CTL_CMD_RELOAD, .zone = "example.com."};
	ctl_request_t b = {.cmd = CTL_CMD_STATS};
	uint8_t *ma, *mb, stream[512], acc[512];
	size_t la, lb, acc_len = 0, got = 0;
	assert_int_equal(ctl_request_encode(&a, &ma, &la), 0);
	assert_int_equal(ctl_request_encode(&b, &mb, &lb), 0);
	memcpy(stream, ma, la);
	memcpy(stream + la, mb, lb);
	ctl_request_t seen[2];
	for (size_t i = 0; i < la + lb; i++) {
		acc[acc_len++] = stream[i];
		size_t need;
		assert_int_equal(ctl_frame_need(acc, acc_len, &need), 0);
		if (acc_len < need)
			continue;
		assert_int_equal(acc_len, need);
		assert_true(got < 2);
		assert_int_equal(ctl_request_decode(acc, need, &seen[got++], NULL, 0), 0);
		acc_len = 0;
	}
	assert_int_equal(got, 2);
	assert_int_equal(acc_len, 0);
	assert_int_equal(seen[0].cmd, CTL_CMD_RELOAD);
	assert_string_equal(seen[0].zone, "example.com.");
	assert_int_equal(seen[1].cmd, CTL_CMD_STATS);
	assert_string_equal(seen[1].zone, "");
	free(ma);
	free(mb);
}

/* ---- requests ----------------------------------------------------------- */

static void request_round_trip_every_command(void **state)
{
	const ctl_request_t reqs[] = {
	    {CTL_CMD_STATUS, ""},
	    {CTL_CMD_RELOAD, ""},
	    {CTL_CMD_RELOAD, "a.example"},
	    {CTL_CMD_ZONE_STATUS, ""},
	    {CTL_CMD_ZONE_STATUS, "."},
	    {CTL_CMD_STATS, ""},
	    {CTL_CMD_STOP, ""},
	    {CTL_CMD_REFRESH, "example.com"},
	    {CTL_CMD_RETRANSFER, "e\\046x.example"},
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		uint8_t *msg;
		size_t len, need;
		assert_int_equal(ctl_request_encode(&reqs[i], &msg, &len), 0);
		assert_int_equal(ctl_frame_need(msg, len, &need), 0);
		assert_int_equal(need, len);
		ctl_request_t out;
		char err[128] = "";
		assert_int_equal(ctl_request_decode(msg, len, &out, err, sizeof(err)), 0);
		assert_int_equal(out.cmd, reqs[i].cmd);
		assert_string_equal(out.zone, reqs[i].zone);
		free(msg);
	}
}

static void request_encoding_is_exact(void **state)
{
	/* {"v": 1, "cmd": "stats"}: the bytes other clients may rely on */
	static const uint8_t want[] = {0x00, 0x00, 0x00, 0x0e, 0xa2, 0x61, 'v', 0x01, 0x63,
	                               'c',  'm',  'd',  0x65, 's',  't',  'a', 't',  's'};
	ctl_request_t req = {.cmd = CTL_CMD_STATS};
	uint8_t *msg;
	size_t len;
	assert_int_equal(ctl_request_encode(&req, &msg, &len), 0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(msg, want, sizeof(want));
	free(msg);
}

static void request_encode_refuses_bad_requests(void **state)
{
	const ctl_request_t bad[] = {
	    {CTL_CMD_STATUS, "example.com"}, /* takes no zone */
	    {CTL_CMD_STOP, "x"},
	    {CTL_CMD_REFRESH, ""}, /* needs one */
	    {CTL_CMD_RETRANSFER, ""},
	    {CTL_CMD_RELOAD, "a b"}, /* space */
	    {CTL_CMD_RELOAD, "a\nb"},
	    {CTL_CMD_RELOAD, "caf\xc3\xa9"}, /* not ASCII */
	    {0, ""},
	    {(ctl_cmd_t)99, ""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *msg = (uint8_t *)"untouched";
		size_t len = 42;
		assert_int_equal(ctl_request_encode(&bad[i], &msg, &len), SRVD_EINVAL);
		assert_int_equal(len, 42);
	}
}

static const struct bad bad_requests[] = {
    {"reserved additional info", "1c", SRVD_EMALFORM, "not valid CBOR"},
    {"truncated map", "a2 61 76 01 63 63 6d 64", SRVD_EMALFORM, "truncated"},
    {"truncated string", "a2 61 76 01 63 63 6d 64 66 73 74 61", SRVD_EMALFORM, "truncated"},
    {"count beyond the bytes", "a8 61 76 01", SRVD_EMALFORM, "larger than the message"},
    {"huge count", "bb 00 00 00 01 00 00 00 00", SRVD_EMALFORM, "too many items"},
    {"nine keys", "a9 00", SRVD_EMALFORM, "too many items"},
    {"trailing byte", "a2 61 76 01 63 63 6d 64 64 73 74 6f 70 00", SRVD_EMALFORM, "trailing"},
    {"two maps", "a0 a0", SRVD_EMALFORM, "trailing"},
    {"array", "81 01", SRVD_EMALFORM, "not a map"},
    {"integer", "01", SRVD_EMALFORM, "not a map"},
    {"text", "61 76", SRVD_EMALFORM, "not a map"},
    {"nested map", "a2 61 76 01 63 63 6d 64 a1 61 61 01", SRVD_EMALFORM, "nested"},
    {"nested array", "a2 61 76 01 63 63 6d 64 80", SRVD_EMALFORM, "nested"},
    {"indefinite map", "bf 61 76 01 ff", SRVD_EMALFORM, "indefinite"},
    {"indefinite text", "a2 61 76 01 63 63 6d 64 7f 62 73 74 62 6f 70 ff", SRVD_EMALFORM,
     "indefinite"},
    {"stray break", "ff", SRVD_EMALFORM, "indefinite"},
    {"byte string", "a2 61 76 01 63 63 6d 64 44 73 74 6f 70", SRVD_EMALFORM, "byte strings"},
    {"tag", "a2 61 76 c1 01 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "tags"},
    {"undefined", "a2 61 76 f7 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "undefined"},
    {"integer key", "a2 01 01 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "key is not a text"},
    {"invalid UTF-8", "a2 61 76 01 63 63 6d 64 62 c3 28", SRVD_EMALFORM, "UTF-8"},
    {"surrogate", "a2 61 76 01 63 63 6d 64 63 ed a0 80", SRVD_EMALFORM, "UTF-8"},
    {"overlong", "a2 61 76 01 63 63 6d 64 62 c0 af", SRVD_EMALFORM, "UTF-8"},
    {"empty map", "a0", SRVD_EMALFORM, "missing protocol version"},
    {"missing v", "a1 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "missing protocol version"},
    {"v is text", "a2 61 76 61 31 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "'v' is not"},
    {"v is negative", "a2 61 76 20 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "'v' is not"},
    {"v is a float", "a2 61 76 f9 3c 00 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM, "'v' is not"},
    {"v is 2", "a2 61 76 02 63 63 6d 64 64 73 74 6f 70", SRVD_EINVAL, "version 2"},
    {"v is 0", "a2 61 76 00 63 63 6d 64 64 73 74 6f 70", SRVD_EINVAL, "version 0"},
    {"v is huge", "a2 61 76 1b ff ff ff ff ff ff ff ff 63 63 6d 64 64 73 74 6f 70", SRVD_EINVAL,
     "version 18446744073709551615"},
    {"duplicate v", "a3 61 76 01 61 76 01 63 63 6d 64 64 73 74 6f 70", SRVD_EMALFORM,
     "duplicate key 'v'"},
    {"missing cmd", "a1 61 76 01", SRVD_EMALFORM, "missing 'cmd'"},
    {"cmd is a number", "a2 61 76 01 63 63 6d 64 05", SRVD_EMALFORM, "'cmd' is not"},
    {"cmd is null", "a2 61 76 01 63 63 6d 64 f6", SRVD_EMALFORM, "'cmd' is not"},
    {"cmd is true", "a2 61 76 01 63 63 6d 64 f5", SRVD_EMALFORM, "'cmd' is not"},
    {"unknown cmd", "a2 61 76 01 63 63 6d 64 63 66 6f 6f", SRVD_EINVAL, "unknown command 'foo'"},
    {"cmd with NUL", "a2 61 76 01 63 63 6d 64 65 73 74 6f 70 00", SRVD_EINVAL,
     "unknown command 'stop?'"},
    {"cmd with escape", "a2 61 76 01 63 63 6d 64 63 1b 5b 41", SRVD_EINVAL,
     "unknown command '?[A'"},
    {"unknown key", "a3 61 76 01 63 63 6d 64 64 73 74 6f 70 61 78 01", SRVD_EINVAL,
     "unknown key 'x'"},
    {"zone is a number", "a3 61 76 01 63 63 6d 64 66 72 65 6c 6f 61 64 64 7a 6f 6e 65 01",
     SRVD_EMALFORM, "'zone' is not"},
    {"zone is empty", "a3 61 76 01 63 63 6d 64 66 72 65 6c 6f 61 64 64 7a 6f 6e 65 60", SRVD_EINVAL,
     "invalid zone"},
    {"zone with space", "a3 61 76 01 63 63 6d 64 66 72 65 6c 6f 61 64 64 7a 6f 6e 65 63 61 20 62",
     SRVD_EINVAL, "invalid zone"},
    {"zone for status", "a3 61 76 01 63 63 6d 64 66 73 74 61 74 75 73 64 7a 6f 6e 65 61 61",
     SRVD_EINVAL, "'status' takes no zone"},
    {"refresh without zone", "a2 61 76 01 63 63 6d 64 67 72 65 66 72 65 73 68", SRVD_EINVAL,
     "'refresh' needs a zone"},
};

static void request_decode_refuses_malformed(void **state)
{
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
		const struct bad *b = &bad_requests[i];
		uint8_t msg[512];
		size_t len = msg_from_hex(b->hex, msg, sizeof(msg));
		ctl_request_t out = {.cmd = CTL_CMD_STOP, .zone = "keep"};
		char err[128] = "";
		int rc = ctl_request_decode(msg, len, &out, err, sizeof(err));
		if (rc != b->rc || !strstr(err, b->reason))
			fail_msg("%s: rc %d (want %d), error '%s' (want '%s')", b->what, rc, b->rc,
			         err, b->reason);
		assert_int_equal(out.cmd, CTL_CMD_STOP);
		assert_string_equal(out.zone, "keep");
		assert_int_equal(ctl_request_decode(msg, len, &out, NULL, 0), b->rc);
	}
}

/* {"v": 1, "cmd": "reload", "zone": n times "a"} in hex. */
static void zone_request_hex(size_t n, char *hex)
{
	strcpy(hex, "a3 61 76 01 63 63 6d 64 66 72 65 6c 6f 61 64 64 7a 6f 6e 65");
	hex += strlen(hex);
	hex += sprintf(hex, n < 256 ? " 78 %02zx" : " 79 %04zx", n);
	for (size_t i = 0; i < n; i++)
		hex += sprintf(hex, " 61");
}

static void request_decode_refuses_oversized_zone(void **state)
{
	char hex[2048];
	uint8_t msg[512];
	ctl_request_t out;
	zone_request_hex(CTL_MAX_ZONE, hex);
	size_t len = msg_from_hex(hex, msg, sizeof(msg));
	assert_int_equal(ctl_request_decode(msg, len, &out, NULL, 0), 0);
	assert_int_equal(strlen(out.zone), CTL_MAX_ZONE);

	zone_request_hex(CTL_MAX_ZONE + 1, hex);
	len = msg_from_hex(hex, msg, sizeof(msg));
	char err[128] = "";
	assert_int_equal(ctl_request_decode(msg, len, &out, err, sizeof(err)), SRVD_EMALFORM);
	assert_non_null(strstr(err, "too long"));
}

static void request_decode_checks_the_prefix(void **state)
{
	ctl_request_t req = {.cmd = CTL_CMD_STOP}, out;
	uint8_t *msg, longer[64];
	size_t len;
	char err[128] = "";
	assert_int_equal(ctl_request_encode(&req, &msg, &len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(ctl_request_decode(msg, cut, &out, NULL, 0), SRVD_EMALFORM);
	assert_int_equal(ctl_request_decode(msg, len - 1, &out, err, sizeof(err)), SRVD_EMALFORM);
	assert_non_null(strstr(err, "truncated"));
	memcpy(longer, msg, len);
	longer[len] = 0;
	assert_int_equal(ctl_request_decode(longer, len + 1, &out, err, sizeof(err)),
	                 SRVD_EMALFORM);
	assert_non_null(strstr(err, "trailing"));
	msg[0] = 0xff;
	assert_int_equal(ctl_request_decode(msg, len, &out, err, sizeof(err)), SRVD_EMALFORM);
	assert_non_null(strstr(err, "length prefix"));
	free(msg);
}

/* ---- replies: building --------------------------------------------------- */

static void reply_round_trip_all_types(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_set_u64(r, "big", UINT64_MAX);
	ctl_reply_set_i64(r, "neg", INT64_MIN);
	ctl_reply_set_i64(r, "pos", 7);
	ctl_reply_set_bool(r, "yes", true);
	ctl_reply_set_str(r, "s", "text");
	ctl_reply_begin_map(r, "m");
	ctl_reply_set_u64(r, "a", 1);
	ctl_reply_begin_array(r, "list");
	ctl_reply_set_str(r, NULL, "x");
	ctl_reply_begin_map(r, NULL);
	ctl_reply_end(r);
	ctl_reply_begin_array(r, NULL);
	ctl_reply_end(r);
	ctl_reply_end(r);
	ctl_reply_end(r);
	assert_int_equal(ctl_reply_set_bool(r, "no", false), 0);
	char *json = round_trip_json(r);
	assert_string_equal(json, "{\"v\":1,\"ok\":true,\"data\":{\"big\":18446744073709551615,"
	                          "\"neg\":-9223372036854775808,\"pos\":7,\"yes\":true,"
	                          "\"s\":\"text\",\"m\":{\"a\":1,\"list\":[\"x\",{},[]]},"
	                          "\"no\":false}}\n");
	free(json);
}

static void reply_empty_and_failed(void **state)
{
	char *json = round_trip_json(new_reply());
	assert_string_equal(json, "{\"v\":1,\"ok\":true,\"data\":{}}\n");
	free(json);

	ctl_reply_t *r = new_reply();
	assert_true(ctl_reply_ok(r));
	assert_null(ctl_reply_error(r));
	ctl_reply_set_str(r, "zone", "example.com.");
	assert_int_equal(ctl_reply_fail(r, "example.com.zone:12: bad \"TTL\""), 0);
	assert_false(ctl_reply_ok(r));
	assert_string_equal(ctl_reply_error(r), "example.com.zone:12: bad \"TTL\"");
	json = round_trip_json(r);
	assert_string_equal(json, "{\"v\":1,\"ok\":false,\"error\":\"example.com.zone:12: bad "
	                          "\\\"TTL\\\"\",\"data\":{\"zone\":\"example.com.\"}}\n");
	free(json);
}

static void reply_encode_error_shorthand(void **state)
{
	uint8_t *msg;
	size_t len;
	assert_int_equal(ctl_reply_encode_error("unknown command 'x'", &msg, &len), 0);
	ctl_reply_t *d = NULL;
	assert_int_equal(ctl_reply_decode(msg, len, &d, NULL, 0), 0);
	assert_false(ctl_reply_ok(d));
	assert_string_equal(ctl_reply_error(d), "unknown command 'x'");
	char *text = NULL;
	assert_int_equal(ctl_reply_to_text(d, CTL_CMD_STATUS, &text), 0);
	assert_string_equal(text, "");
	free(text);
	ctl_reply_free(d);
	free(msg);
}

static void reply_builder_errors_stick(void **state)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	ctl_reply_t *r = new_reply();
	assert_int_equal(ctl_reply_set_u64(r, NULL, 1), SRVD_EINVAL); /* a map needs keys */
	assert_int_equal(ctl_reply_set_u64(r, "fine", 1), SRVD_EINVAL);
	assert_int_equal(ctl_reply_encode(r, &msg, &len), SRVD_EINVAL);
	assert_null(msg);
	ctl_reply_free(r);

	r = new_reply();
	ctl_reply_begin_array(r, "a");
	assert_int_equal(ctl_reply_set_u64(r, "k", 1), SRVD_EINVAL); /* arrays take no keys */
	ctl_reply_free(r);

	r = new_reply();
	assert_int_equal(ctl_reply_set_u64(r, "k", 1), 0);
	assert_int_equal(ctl_reply_set_str(r, "k", "again"), SRVD_EEXIST);
	assert_int_equal(ctl_reply_fail(r, "x"), SRVD_EEXIST);
	assert_int_equal(ctl_reply_encode(r, &msg, &len), SRVD_EEXIST);
	ctl_reply_free(r);

	r = new_reply();
	assert_int_equal(ctl_reply_end(r), SRVD_EINVAL); /* nothing open */
	ctl_reply_free(r);

	r = new_reply();
	ctl_reply_begin_map(r, "open");
	assert_int_equal(ctl_reply_encode(r, &msg, &len), SRVD_EINVAL);
	assert_int_equal(ctl_reply_end(r), 0);
	assert_int_equal(ctl_reply_encode(r, &msg, &len), 0);
	free(msg);
	ctl_reply_free(r);
}

static void reply_nesting_limit(void **state)
{
	ctl_reply_t *r = new_reply();
	int depth = 0;
	while (ctl_reply_begin_array(r, depth ? NULL : "deep") == 0)
		depth++;
	/* reply map + data map + the arrays: exactly the protocol's limit */
	assert_int_equal(depth + 2, CTL_MAX_DEPTH);
	assert_int_equal(ctl_reply_end(r), SRVD_ELIMIT);
	ctl_reply_free(r);

	r = new_reply();
	for (int i = 0; i < depth; i++)
		assert_int_equal(ctl_reply_begin_array(r, i ? NULL : "deep"), 0);
	ctl_reply_set_u64(r, NULL, 42);
	for (int i = 0; i < depth; i++)
		assert_int_equal(ctl_reply_end(r), 0);
	char *json = round_trip_json(r); /* the deepest reply still decodes */
	assert_non_null(strstr(json, "[[[[[[[[[[[[[[42]]]]]]]]]]]]]]"));
	free(json);
}

static void reply_size_limit(void **state)
{
	char *big = malloc(CTL_MAX_STR + 100);
	assert_non_null(big);
	memset(big, 'a', CTL_MAX_STR + 99);
	big[CTL_MAX_STR + 99] = '\0';
	ctl_reply_t *r = new_reply();
	ctl_reply_begin_array(r, "chunks");
	for (int i = 0; i < 15; i++)
		assert_int_equal(ctl_reply_set_str(r, NULL, big), 0);
	ctl_reply_end(r);
	uint8_t *msg;
	size_t len;
	assert_int_equal(ctl_reply_encode(r, &msg, &len), 0); /* 15 x 64 KiB fits */
	assert_true(len <= CTL_HDR_LEN + CTL_MAX_MSG);
	ctl_reply_t *d = NULL;
	assert_int_equal(ctl_reply_decode(msg, len, &d, NULL, 0), 0);
	ctl_reply_free(d);
	free(msg);
	ctl_reply_set_str(r, "more", big);
	assert_int_equal(ctl_reply_encode(r, &msg, &len), SRVD_ELIMIT);
	ctl_reply_free(r);
	free(big);
}

static void reply_text_is_made_valid_utf8(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_set_str(r, "s",
	                  "a\xff"
	                  "b\xc3\xa9"
	                  "c\xed\xa0\x80");
	char *json = round_trip_json(r);
	assert_string_equal(json, "{\"v\":1,\"ok\":true,\"data\":{\"s\":\"a\xef\xbf\xbd"
	                          "b\xc3\xa9"
	                          "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}\n");
	free(json);

	/* Cut at CTL_MAX_STR bytes, between characters. */
	char *big = malloc(CTL_MAX_STR + 2);
	assert_non_null(big);
	big[0] = 'x';
	for (size_t i = 1; i + 1 < CTL_MAX_STR + 2; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[CTL_MAX_STR + 1] = '\0';
	r = new_reply();
	ctl_reply_set_str(r, "s", big);
	json = round_trip_json(r);
	char *start = strstr(json, "\"s\":\"") + 5;
	assert_int_equal(strchr(start, '"') - start, CTL_MAX_STR - 1);
	free(json);
	free(big);
}

/* ---- replies: reading ----------------------------------------------------- */

static void reply_decode_refuses_malformed(void **state)
{
	static const struct bad cases[] = {
	    {"missing v", "a2 62 6f 6b f5 64 64 61 74 61 a0", SRVD_EMALFORM, "version 1 reply"},
	    {"v is 2", "a3 61 76 02 62 6f 6b f5 64 64 61 74 61 a0", SRVD_EMALFORM, "version"},
	    {"missing ok", "a2 61 76 01 64 64 61 74 61 a0", SRVD_EMALFORM, "wrong type"},
	    {"ok is 1", "a2 61 76 01 62 6f 6b 01", SRVD_EMALFORM, "wrong type"},
	    {"data is a list", "a3 61 76 01 62 6f 6b f5 64 64 61 74 61 80", SRVD_EMALFORM,
	     "wrong type"},
	    {"error is a number", "a3 61 76 01 62 6f 6b f4 65 65 72 72 6f 72 01", SRVD_EMALFORM,
	     "wrong type"},
	    {"ok is a float", "a2 61 76 01 62 6f 6b f9 3c 00", SRVD_EMALFORM, "wrong type"},
	    {"ok is null", "a2 61 76 01 62 6f 6b f6", SRVD_EMALFORM, "wrong type"},
	    {"not a map", "80", SRVD_EMALFORM, "not a map"},
	    {"integer key in data", "a3 61 76 01 62 6f 6b f5 64 64 61 74 61 a1 01 01",
	     SRVD_EMALFORM, "key is not a text"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t msg[256];
		size_t len = msg_from_hex(cases[i].hex, msg, sizeof(msg));
		ctl_reply_t *r = NULL;
		char err[128] = "";
		int rc = ctl_reply_decode(msg, len, &r, err, sizeof(err));
		if (rc != cases[i].rc || !strstr(err, cases[i].reason))
			fail_msg("%s: rc %d, error '%s'", cases[i].what, rc, err);
		assert_null(r);
	}
}

static void reply_decode_is_lenient_where_it_may_be(void **state)
{
	/* unknown keys ignored, data optional, failure without a reason */
	ctl_reply_t *r = decode_hex("a3 61 76 01 62 6f 6b f4 63 6e 65 77 01");
	assert_false(ctl_reply_ok(r));
	assert_string_equal(ctl_reply_error(r), "unspecified error");
	char *json = NULL;
	assert_int_equal(ctl_reply_to_json(r, &json), 0);
	assert_string_equal(json,
	                    "{\"v\":1,\"ok\":false,\"error\":\"unspecified error\",\"data\":{}}\n");
	free(json);
	ctl_reply_free(r);

	/* NUL bytes in the reason do not cut it short (found by fuzz_ctl) */
	r = decode_hex("a3 61 76 01 62 6f 6b f4 65 65 72 72 6f 72 63 00 61 00");
	assert_string_equal(ctl_reply_error(r), "?a?");
	ctl_reply_free(r);

	/* a decoded reply is read-only */
	r = decode_hex("a3 61 76 01 62 6f 6b f5 64 64 61 74 61 a1 61 61 01");
	assert_int_equal(ctl_reply_set_u64(r, "b", 2), SRVD_EINVAL);
	ctl_reply_free(r);
}

static void reply_decode_depth_limit(void **state)
{
	/* {"v":1,"ok":true,"data": 14 nested arrays} is the deepest allowed */
	char hex[512] = "a3 61 76 01 62 6f 6b f5 64 64 61 74 61 a1 61 61";
	for (int i = 0; i < CTL_MAX_DEPTH - 2; i++)
		strcat(hex, " 81");
	strcat(hex, " 01");
	ctl_reply_free(decode_hex(hex));
	strcpy(hex, "a3 61 76 01 62 6f 6b f5 64 64 61 74 61 a1 61 61");
	for (int i = 0; i < CTL_MAX_DEPTH - 1; i++)
		strcat(hex, " 81");
	strcat(hex, " 01");
	uint8_t msg[256];
	size_t len = msg_from_hex(hex, msg, sizeof(msg));
	ctl_reply_t *r = NULL;
	char err[128] = "";
	assert_int_equal(ctl_reply_decode(msg, len, &r, err, sizeof(err)), SRVD_EMALFORM);
	assert_non_null(strstr(err, "nested"));
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_escapes_strings(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_set_str(r, "q\"k", "\"\\/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xf0\x9f\x98\x80");
	char *json = round_trip_json(r);
	assert_string_equal(json, "{\"v\":1,\"ok\":true,\"data\":{\"q\\\"k\":\"\\\"\\\\/\\b\\f\\n"
	                          "\\r\\t\\u0001\\u001f\\u007f \xc3\xa9\xf0\x9f\x98\x80\"}}\n");
	free(json);
}

static void json_numbers_and_simple_values(void **state)
{
	/* data: {"n": -2^64, "h": 1.5 (half), "d": NaN, "z": null, "t": true} */
	ctl_reply_t *r = decode_hex("a3 61 76 01 62 6f 6b f5 64 64 61 74 61 a5"
	                            " 61 6e 3b ff ff ff ff ff ff ff ff"
	                            " 61 68 f9 3e 00"
	                            " 61 64 fb 7f f8 00 00 00 00 00 00"
	                            " 61 7a f6"
	                            " 61 74 f5");
	char *json = NULL;
	assert_int_equal(ctl_reply_to_json(r, &json), 0);
	assert_string_equal(json, "{\"v\":1,\"ok\":true,\"data\":{\"n\":-18446744073709551616,"
	                          "\"h\":1.5,\"d\":null,\"z\":null,\"t\":true}}\n");
	free(json);
	/* the text renderer takes the same values (a float is no bool: found by
	 * fuzz_ctl, libcbor 0.8's cbor_is_bool asserts on one) */
	char *text = NULL;
	assert_int_equal(ctl_reply_to_text(r, CTL_CMD_STATUS, &text), 0);
	assert_string_equal(text, "n: -18446744073709551616\n"
	                          "h: 1.5\n"
	                          "d: null\n"
	                          "z: -\n"
	                          "t: yes\n");
	free(text);
	ctl_reply_free(r);
}

/* ---- text ---------------------------------------------------------------- */

static void text_status_aligns_and_formats(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_set_str(r, "version", "0.1.0");
	ctl_reply_set_u64(r, "pid", 4242);
	ctl_reply_set_u64(r, "uptime", 93784);
	ctl_reply_set_u64(r, "workers", 4);
	ctl_reply_set_u64(r, "zones", 2);
	ctl_reply_set_u64(r, "memory", 3 * 1024 * 1024 + 512 * 1024);
	ctl_reply_set_u64(r, "log_bytes", 100);
	ctl_reply_set_u64(r, "started_at", 1700000000);
	ctl_reply_set_bool(r, "syslog", false);
	ctl_reply_set_i64(r, "offset", -5);
	ctl_reply_set_str(r, "note", "bell\a esc\x1b[2J");
	char *text = text_of(r, CTL_CMD_STATUS);
	assert_string_equal(text, "version:    0.1.0\n"
	                          "pid:        4242\n"
	                          "uptime:     1d 02:03:04\n"
	                          "workers:    4\n"
	                          "zones:      2\n"
	                          "memory:     3.5 MiB\n"
	                          "log_bytes:  100 B\n"
	                          "started_at: 2023-11-14 22:13:20 UTC\n"
	                          "syslog:     no\n"
	                          "offset:     -5\n"
	                          "note:       bell? esc?[2J\n");
	free(text);
}

static void text_stats_nests(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_begin_map(r, "queries");
	ctl_reply_set_u64(r, "udp", 10);
	ctl_reply_set_u64(r, "tcp", 2);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "qtype");
	ctl_reply_set_u64(r, "A", 7);
	ctl_reply_set_u64(r, "AAAA", 5);
	ctl_reply_end(r);
	ctl_reply_begin_map(r, "rcode");
	ctl_reply_end(r);
	ctl_reply_set_u64(r, "truncated", 1);
	ctl_reply_begin_array(r, "listen");
	ctl_reply_set_str(r, NULL, "127.0.0.1@53");
	ctl_reply_set_str(r, NULL, "::1@53");
	ctl_reply_end(r);
	char *text = text_of(r, CTL_CMD_STATS);
	assert_string_equal(text, "queries:\n"
	                          "  udp: 10\n"
	                          "  tcp: 2\n"
	                          "qtype:\n"
	                          "  A:    7\n"
	                          "  AAAA: 5\n"
	                          "rcode:     -\n"
	                          "truncated: 1\n"
	                          "listen:    127.0.0.1@53, ::1@53\n");
	free(text);
}

static void add_zone(ctl_reply_t *r, const char *name, uint64_t serial, const char *file,
                     uint64_t loaded, const char *error)
{
	ctl_reply_begin_map(r, NULL);
	ctl_reply_set_str(r, "name", name);
	if (serial)
		ctl_reply_set_u64(r, "serial", serial);
	ctl_reply_begin_array(r, "files");
	ctl_reply_set_str(r, NULL, file);
	ctl_reply_end(r);
	ctl_reply_set_u64(r, "loaded", loaded);
	ctl_reply_set_u64(r, "records", serial ? 12 : 0);
	if (error)
		ctl_reply_set_str(r, "error", error);
	ctl_reply_end(r);
}

static void text_zone_status_table(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_begin_array(r, "zones");
	add_zone(r, "example.com.", 2024010101, "/etc/srvd/example.com.zone", 1704067200, NULL);
	add_zone(r, "b.example.", 0, "b.zone", 0, "b.zone:3: unknown type FOO");
	ctl_reply_end(r);
	char *text = text_of(r, CTL_CMD_ZONE_STATUS);
	assert_string_equal(text,
	                    "ZONE          SERIAL      RECORDS  LOADED                   FILES\n"
	                    "example.com.  2024010101  12       2024-01-01 00:00:00 UTC  "
	                    "/etc/srvd/example.com.zone\n"
	                    "b.example.    -           0        never                    b.zone\n"
	                    "  error: b.zone:3: unknown type FOO\n");
	free(text);

	r = new_reply();
	ctl_reply_begin_array(r, "zones");
	ctl_reply_end(r);
	text = text_of(r, CTL_CMD_ZONE_STATUS);
	assert_string_equal(text, "no zones\n");
	free(text);
}

static void text_reload_table_and_fallback(void **state)
{
	ctl_reply_t *r = new_reply();
	ctl_reply_begin_array(r, "zones");
	ctl_reply_begin_map(r, NULL);
	ctl_reply_set_str(r, "name", "example.com.");
	ctl_reply_set_bool(r, "ok", true);
	ctl_reply_set_str(r, "action", "loaded");
	ctl_reply_set_u64(r, "serial", 7);
	ctl_reply_end(r);
	ctl_reply_end(r);
	char *text = text_of(r, CTL_CMD_RELOAD);
	assert_string_equal(text, "ZONE          OK   ACTION  SERIAL\n"
	                          "example.com.  yes  loaded  7\n");
	free(text);

	/* Lists of maps elsewhere are rendered as indented items. */
	r = new_reply();
	ctl_reply_begin_array(r, "peers");
	ctl_reply_begin_map(r, NULL);
	ctl_reply_set_str(r, "addr", "192.0.2.1");
	ctl_reply_set_u64(r, "serial", 3);
	ctl_reply_end(r);
	ctl_reply_set_u64(r, NULL, 5);
	ctl_reply_end(r);
	text = text_of(r, CTL_CMD_STATUS);
	assert_string_equal(text, "peers:\n"
	                          "  - addr:   192.0.2.1\n"
	                          "    serial: 3\n"
	                          "  - 5\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(commands_parse_and_name),
	    cmocka_unit_test(frame_need_partial_prefix),
	    cmocka_unit_test(frame_need_limits),
	    cmocka_unit_test(frame_reassembly_byte_by_byte),
	    cmocka_unit_test(request_round_trip_every_command),
	    cmocka_unit_test(request_encoding_is_exact),
	    cmocka_unit_test(request_encode_refuses_bad_requests),
	    cmocka_unit_test(request_decode_refuses_malformed),
	    cmocka_unit_test(request_decode_refuses_oversized_zone),
	    cmocka_unit_test(request_decode_checks_the_prefix),
	    cmocka_unit_test(reply_round_trip_all_types),
	    cmocka_unit_test(reply_empty_and_failed),
	    cmocka_unit_test(reply_encode_error_shorthand),
	    cmocka_unit_test(reply_builder_errors_stick),
	    cmocka_unit_test(reply_nesting_limit),
	    cmocka_unit_test(reply_size_limit),
	    cmocka_unit_test(reply_text_is_made_valid_utf8),
	    cmocka_unit_test(reply_decode_refuses_malformed),
	    cmocka_unit_test(reply_decode_is_lenient_where_it_may_be),
	    cmocka_unit_test(reply_decode_depth_limit),
	    cmocka_unit_test(json_escapes_strings),
	    cmocka_unit_test(json_numbers_and_simple_values),
	    cmocka_unit_test(text_status_aligns_and_formats),
	    cmocka_unit_test(text_stats_nests),
	    cmocka_unit_test(text_zone_status_table),
	    cmocka_unit_test(text_reload_table_and_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
