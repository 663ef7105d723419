/* Helpers shared by the files of src/ctl: a growable buffer with a sticky
 * error, UTF-8 checks, the checked loading of untrusted CBOR and the encoding
 * of items with definite lengths. Not for use outside src/ctl.
 */
#ifndef SRVD_CTL_INTERNAL_H
#define SRVD_CTL_INTERNAL_H

#include <cbor.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes or text that grow on demand up to max; the first error sticks
 * (SRVD_ENOMEM, or SRVD_ELIMIT past max). */
typedef struct ctl_buf {
	uint8_t *p;
	size_t len, cap, max;
	int err;
} ctl_buf_t;

void ctl_buf_init(ctl_buf_t *b, size_t max);
void ctl_buf_deinit(ctl_buf_t *b);
void ctl_buf_put(ctl_buf_t *b, const void *data, size_t n);
void ctl_buf_puts(ctl_buf_t *b, const char *s);
void ctl_buf_printf(ctl_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the contents over, NUL-terminated (the NUL is not counted), or fail
 * with the sticky error. The buffer is empty afterwards either way. */
int ctl_buf_take(ctl_buf_t *b, uint8_t **out, size_t *out_len);

/* Length of the valid UTF-8 sequence at s[n] (1..4), 0 if there is none. */
size_t ctl_utf8_len(const uint8_t *s, size_t n);

/* printf into err[errlen]; err may be NULL. */
void ctl_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct ctl_limits {
	int depth;    /* containers nested, the outer map included */
	size_t str;   /* bytes of a text string */
	size_t items; /* entries of one array or map */
} ctl_limits_t;

/* Check one whole message (prefix included) against the wire rules and lim,
 * then load it. The root is a map whose keys are all text strings. */
int ctl_load(const uint8_t *msg, size_t len, const ctl_limits_t *lim, cbor_item_t **out, char *err,
             size_t errlen);

/* The message for root (prefix included), definite lengths, in *out. */
int ctl_encode(const cbor_item_t *root, uint8_t **out, size_t *out_len);

/* The value of key in map, or NULL. */
cbor_item_t *ctl_map_get(const cbor_item_t *map, const char *key);

/* The data map of a reply (reply.c). */
struct ctl_reply;
const cbor_item_t *ctl_reply_data(const struct ctl_reply *r);

/* Whether item is true or false. libcbor 0.8's cbor_is_bool (and
 * cbor_is_null) assert on a float, so the ctl code uses this instead. */
bool ctl_is_bool(const cbor_item_t *item);

/* True when item is a text string equal to s. */
bool ctl_text_is(const cbor_item_t *item, const char *s);

#endif
