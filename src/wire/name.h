/* Domain names in wire form: parse from packets (with compression
 * pointers), lower-case, count labels, compare canonically (RFC 4034 6.1),
 * convert to and from presentation form.
 *
 * Inside srvd a name is always uncompressed wire form, at most 255 bytes,
 * ending with the root label. Lookups use lower-case copies (RFC 4343:
 * comparison is case-insensitive; the query's case is kept only for the echo).
 */
#ifndef SRVD_WIRE_NAME_H
#define SRVD_WIRE_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Read a name at r's position from a whole message (pointers allowed when
 * allow_ptr; they must point backwards). Writes an uncompressed copy into
 * out[255]. Returns its length, or 0 on a malformed name (r->err set). */
size_t wire_name_read(rd_t *r, bool allow_ptr, uint8_t out[255]);
/* The same for an uncompressed name (a question), lower-cased as it is
 * copied: one pass where the query path would otherwise make two. */
size_t wire_name_read_lower(rd_t *r, uint8_t out[255]);

/* Length of a valid uncompressed wire name (no checks). Inline: the
 * responder asks for it several times per query. */
static inline size_t wire_name_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}
unsigned wire_name_labels(const uint8_t *name);
/* dst and src are the same buffer or do not overlap. */
void wire_name_lower(uint8_t *dst, const uint8_t *src, size_t len);
bool wire_name_eq(const uint8_t *a, const uint8_t *b); /* case-insensitive */
/* Canonical DNS order (RFC 4034 6.1), case-insensitive: <0, 0, >0. */
int wire_name_cmp(const uint8_t *a, const uint8_t *b);
/* True when name is sub or below parent (or equal). */
bool wire_name_is_sub(const uint8_t *name, const uint8_t *parent);
/* Pointer to the suffix of name that drops its first `drop` labels. */
const uint8_t *wire_name_skip(const uint8_t *name, unsigned drop);

extern const uint8_t wire_lower_tab[256];

static inline uint8_t wire_lower(uint8_t c)
{
	return wire_lower_tab[c];
}

/* Presentation form with escapes and a trailing dot. Returns length, or -1
 * when dst is too small (1010 bytes is always enough). */
int wire_name_to_str(const uint8_t *name, char *dst, size_t cap);
/* Parse presentation form (absolute; relative names get the root). */
int wire_name_from_str(const char *s, uint8_t out[255], size_t *len);

#endif
