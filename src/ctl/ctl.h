/* Control protocol: the messages that srvdctl and the daemon exchange over
 * the control socket, and their text renderings. Pure: no I/O, no sockets.
 *
 * Wire format (protocol version 1). A message is a 4-byte big-endian body
 * length (1..CTL_MAX_MSG) followed by exactly one CBOR map, definite lengths
 * only, text keys only, at most CTL_MAX_DEPTH levels deep:
 *
 *   request  {"v": 1, "cmd": text, "zone": text (some commands)}
 *   reply    {"v": 1, "ok": bool, "error": text (when !ok), "data": map}
 *
 * A request with any unknown key, wrong type or anything else in it is
 * refused; the daemon answers such a request with an error reply and keeps
 * the connection. A reply may carry keys a client does not know; it ignores
 * them.
 *
 * Reply data, by command (the daemon fills it, srvdctl renders it):
 *   status       version (text), pid, uptime (s), workers, zones,
 *                memory (bytes held by zone versions)
 *   reload       zones: [{name, ok (bool), serial, error (text, if failed)}]
 *   zone-status  zones: [{name, serial, files: [text], loaded (unix time,
 *                0 = never), records, error (text, last failed load)}]
 *   stats        queries: {udp, tcp} (messages received), qtype: {"A": n,
 *                ...}, rcode: {"NOERROR": n, ...} (every zone and none, the
 *                bounded label sets of src/zone/stats.c), truncated,
 *                dropped, reloads: {ok, failed}, dnstap: {logged,
 *                dropped}, connections: {accepted, open}
 *   stats ZONE   zone, serial, queries (answered), qtype, rcode, answers:
 *                {"SRV": {"NOERROR": n}, ...}, xfr_in, xfr_in_failed,
 *                xfr_in_bytes, xfr_out, xfr_out_bytes, notify_in,
 *                notify_out; a secondary: last_refresh_at, expires_at
 *   stop, refresh, retransfer
 *                {} (ok alone says it was accepted)
 * Numbers are unsigned unless said otherwise. The text renderer knows these
 * keys: "uptime" is a duration, "memory" and keys ending in "_bytes" are
 * sizes, "loaded" and keys ending in "_at" are unix times.
 */
#ifndef SRVD_CTL_CTL_H
#define SRVD_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srvd/srvd.h"

#define CTL_VERSION 1
#define CTL_HDR_LEN 4          /* the length prefix */
#define CTL_MAX_MSG (1u << 20) /* body bytes */
#define CTL_MAX_DEPTH 16       /* nesting of a reply, its own map included */
#define CTL_MAX_STR 65536      /* bytes of one text string in a reply */
#define CTL_MAX_ZONE 255       /* bytes of a zone name in a request */
#define CTL_DEFAULT_SOCKET "/run/srvd/srvd.sock"

/* ---- commands ---------------------------------------------------------- */

typedef enum {
	CTL_CMD_STATUS = 1,
	CTL_CMD_RELOAD,
	CTL_CMD_ZONE_STATUS,
	CTL_CMD_STATS,
	CTL_CMD_STOP,
	CTL_CMD_REFRESH,
	CTL_CMD_RETRANSFER,
} ctl_cmd_t;

typedef enum { CTL_ZONE_NONE, CTL_ZONE_OPTIONAL, CTL_ZONE_REQUIRED } ctl_zone_arg_t;

/* "status", "reload", "zone-status", ...; NULL for a value out of range. */
const char *ctl_cmd_name(ctl_cmd_t cmd);
/* SRVD_EINVAL for a name that is no command. */
int ctl_cmd_parse(const char *name, ctl_cmd_t *out);
/* Whether cmd takes a zone argument. */
ctl_zone_arg_t ctl_cmd_zone_arg(ctl_cmd_t cmd);

/* ---- framing ----------------------------------------------------------- */

/* How many bytes the message at the start of buf[len] occupies, prefix
 * included: CTL_HDR_LEN while the prefix is incomplete, then the whole
 * message. The message is complete when len >= *need. SRVD_EMALFORM when the
 * prefix announces 0 or more than CTL_MAX_MSG bytes: the stream cannot be
 * resynchronised, the connection must be closed. */
int ctl_frame_need(const uint8_t *buf, size_t len, size_t *need);

/* ---- requests ---------------------------------------------------------- */

typedef struct ctl_request {
	ctl_cmd_t cmd;
	char zone[CTL_MAX_ZONE + 1]; /* "" = none; printable ASCII, no spaces */
} ctl_request_t;

/* A whole message (prefix included) in *out, to free(). SRVD_EINVAL when the
 * command is unknown or its zone argument is missing, not allowed or
 * invalid. */
int ctl_request_encode(const ctl_request_t *req, uint8_t **out, size_t *out_len);

/* Decode one whole message msg[len], prefix included (len as returned by
 * ctl_frame_need). SRVD_EMALFORM for bytes that are not a well-formed request
 * (not CBOR, trailing bytes, not a map, nesting, wrong types, oversized
 * strings, missing keys), SRVD_EINVAL for a well-formed request that asks for
 * something unknown (version, command, key, zone). Either way a one-line
 * reason goes to err[errlen] (may be NULL), fit for the error reply. */
int ctl_request_decode(const uint8_t *msg, size_t len, ctl_request_t *out, char *err,
                       size_t errlen);

/* ---- replies: building (daemon side) ----------------------------------- */

/* A reply under construction, or a decoded one (read-only). The builder
 * keeps a cursor: values go into the innermost open map (with a key) or
 * array (key NULL). Errors stick: after the first one every call returns
 * it and ctl_reply_encode fails with it, so callers may check once. */
typedef struct ctl_reply ctl_reply_t;

int ctl_reply_new(ctl_reply_t **out);
void ctl_reply_free(ctl_reply_t *r);

/* Mark the reply failed, with a one-line reason. The data stays. */
int ctl_reply_fail(ctl_reply_t *r, const char *error);

/* key is NULL inside an array, required inside a map (SRVD_EINVAL), and
 * unique within its map (SRVD_EEXIST; checked by a linear scan, so keep maps
 * small and put long lists in arrays). Text is stored as UTF-8: invalid bytes
 * become U+FFFD, and it is cut at CTL_MAX_STR bytes. */
int ctl_reply_set_u64(ctl_reply_t *r, const char *key, uint64_t v);
int ctl_reply_set_i64(ctl_reply_t *r, const char *key, int64_t v);
int ctl_reply_set_bool(ctl_reply_t *r, const char *key, bool v);
int ctl_reply_set_str(ctl_reply_t *r, const char *key, const char *v);

/* Open a nested map or array, which takes the following values until its
 * ctl_reply_end. SRVD_ELIMIT beyond CTL_MAX_DEPTH. */
int ctl_reply_begin_map(ctl_reply_t *r, const char *key);
int ctl_reply_begin_array(ctl_reply_t *r, const char *key);
int ctl_reply_end(ctl_reply_t *r);

/* The whole message (prefix included) in *out, to free(). Fails with the
 * sticky error, SRVD_EINVAL while a map or array is open, SRVD_ELIMIT when the
 * body would exceed CTL_MAX_MSG. */
int ctl_reply_encode(const ctl_reply_t *r, uint8_t **out, size_t *out_len);

/* Shorthand for a failed reply without data, e.g. to a malformed request. */
int ctl_reply_encode_error(const char *error, uint8_t **out, size_t *out_len);

/* ---- replies: reading (client side) ------------------------------------ */

/* Decode one whole message, prefix included. SRVD_EMALFORM (reason in err)
 * for anything that is not a well-formed version 1 reply. */
int ctl_reply_decode(const uint8_t *msg, size_t len, ctl_reply_t **out, char *err, size_t errlen);

bool ctl_reply_ok(const ctl_reply_t *r);
/* The reason of a failed reply, NULL when ok. */
const char *ctl_reply_error(const ctl_reply_t *r);

/* The whole reply as one line of JSON with a newline, in *out to free(). */
int ctl_reply_to_json(const ctl_reply_t *r, char **out);

/* The data for people: aligned "key: value" lines, nested maps indented, a
 * table for zone-status. "" when there is no data. In *out, to free(). */
int ctl_reply_to_text(const ctl_reply_t *r, ctl_cmd_t cmd, char **out);

#endif
