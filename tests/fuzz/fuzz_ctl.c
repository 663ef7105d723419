/* libFuzzer target: the control protocol (src/ctl), which the daemon runs on
 * bytes from its control socket.
 *
 * The input is read two ways. As a stream off the socket: ctl_frame_need
 * splits it into messages. And as one CBOR body, framed here, so that
 * mutations need not keep a length prefix right. Each message goes to both
 * decoders, request and reply.
 *
 * Beyond crashes, leaks and sanitizer findings it checks: a decoded request
 * encodes and decodes to itself; the daemon's answer (data echoing the
 * request, or the error reply a malformed request gets) encodes and decodes
 * with the same status and error text; a decoded reply renders as JSON and
 * text, encodes again, and decodes to the same JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "fuzz_util.h"

static ctl_reply_t *decode_own(const uint8_t *msg, size_t len)
{
	ctl_reply_t *d = NULL;
	char err[128] = "";
	int rc = ctl_reply_decode(msg, len, &d, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "own reply does not decode: %s\n", err);
	FUZZ_CHECK(rc == 0);
	return d;
}

/* What the daemon sends back to a malformed request. */
static void answer_error(const char *why)
{
	uint8_t *msg;
	size_t len;
	FUZZ_CHECK(ctl_reply_encode_error(why, &msg, &len) == 0);
	ctl_reply_t *d = decode_own(msg, len);
	FUZZ_CHECK(!ctl_reply_ok(d));
	FUZZ_CHECK(strcmp(ctl_reply_error(d), why) == 0);
	free(msg);
	ctl_reply_free(d);
}

/* A reply shaped like the daemon's, echoing the request. */
static void answer(const ctl_request_t *req)
{
	ctl_reply_t *r = NULL;
	FUZZ_CHECK(ctl_reply_new(&r) == 0);
	ctl_reply_set_str(r, "cmd", ctl_cmd_name(req->cmd));
	ctl_reply_set_u64(r, "uptime", (uint64_t)req->zone[0] * 86399);
	ctl_reply_begin_array(r, "zones");
	ctl_reply_begin_map(r, NULL);
	ctl_reply_set_str(r, "name", req->zone);
	ctl_reply_set_bool(r, "ok", req->zone[0] != '\0');
	ctl_reply_set_u64(r, "loaded", (uint64_t)strlen(req->zone) << 28);
	ctl_reply_begin_array(r, "files");
	ctl_reply_set_str(r, NULL, req->zone);
	ctl_reply_end(r);
	ctl_reply_end(r);
	ctl_reply_end(r);
	if (!req->zone[0])
		ctl_reply_fail(r, "no zone given");
	uint8_t *msg;
	size_t len;
	FUZZ_CHECK(ctl_reply_encode(r, &msg, &len) == 0);
	ctl_reply_t *d = decode_own(msg, len);
	FUZZ_CHECK(ctl_reply_ok(d) == ctl_reply_ok(r));
	char *a = NULL, *b = NULL;
	FUZZ_CHECK(ctl_reply_to_json(r, &a) == 0 && ctl_reply_to_json(d, &b) == 0);
	FUZZ_CHECK(strcmp(a, b) == 0);
	free(a);
	free(b);
	FUZZ_CHECK(ctl_reply_to_text(d, req->cmd, &a) == 0);
	free(a);
	free(msg);
	ctl_reply_free(d);
	ctl_reply_free(r);
}

static void check_request(const uint8_t *msg, size_t len)
{
	ctl_request_t req, again;
	char err[128] = "";
	int rc = ctl_request_decode(msg, len, &req, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == SRVD_EMALFORM || rc == SRVD_EINVAL);
	if (rc != 0) {
		FUZZ_CHECK(err[0] != '\0');
		answer_error(err);
		return;
	}
	uint8_t *enc;
	size_t n;
	FUZZ_CHECK(ctl_request_encode(&req, &enc, &n) == 0);
	FUZZ_CHECK(ctl_request_decode(enc, n, &again, NULL, 0) == 0);
	FUZZ_CHECK(again.cmd == req.cmd && strcmp(again.zone, req.zone) == 0);
	free(enc);
	answer(&req);
}

static void check_reply(const uint8_t *msg, size_t len)
{
	ctl_reply_t *r = NULL;
	int rc = ctl_reply_decode(msg, len, &r, NULL, 0);
	FUZZ_CHECK(rc == 0 || rc == SRVD_EMALFORM);
	if (rc != 0)
		return;
	char *json = NULL, *text = NULL;
	FUZZ_CHECK(ctl_reply_to_json(r, &json) == 0);
	const ctl_cmd_t cmds[] = {CTL_CMD_STATUS, CTL_CMD_ZONE_STATUS, CTL_CMD_RELOAD};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		FUZZ_CHECK(ctl_reply_to_text(r, cmds[i], &text) == 0);
		free(text);
	}
	uint8_t *enc;
	size_t n;
	rc = ctl_reply_encode(r, &enc, &n);
	FUZZ_CHECK(rc == 0 || rc == SRVD_ELIMIT); /* floats widen to doubles */
	if (rc == 0) {
		ctl_reply_t *d = decode_own(enc, n);
		char *again = NULL;
		FUZZ_CHECK(ctl_reply_to_json(d, &again) == 0);
		FUZZ_CHECK(strcmp(json, again) == 0);
		free(again);
		ctl_reply_free(d);
		free(enc);
	}
	free(json);
	ctl_reply_free(r);
}

static void check_message(const uint8_t *msg, size_t len)
{
	check_request(msg, len);
	check_reply(msg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0, need;
	while (pos < size && ctl_frame_need(data + pos, size - pos, &need) == 0 &&
	       need <= size - pos && need > CTL_HDR_LEN) {
		check_message(data + pos, need);
		pos += need;
	}
	if (size == 0 || size > CTL_MAX_MSG)
		return 0;
	uint8_t *msg = malloc(CTL_HDR_LEN + size);
	FUZZ_CHECK(msg != NULL);
	msg[0] = (uint8_t)(size >> 24);
	msg[1] = (uint8_t)(size >> 16);
	msg[2] = (uint8_t)(size >> 8);
	msg[3] = (uint8_t)size;
	memcpy(msg + CTL_HDR_LEN, data, size);
	check_message(msg, CTL_HDR_LEN + size);
	free(msg);
	return 0;
}
