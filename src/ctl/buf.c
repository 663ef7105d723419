/* Growable buffer with a sticky error, UTF-8 checks and error text: the
 * small tools the ctl encoders and renderers share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "ctl/internal.h"
#include "srvd/srvd.h"

void ctl_buf_init(ctl_buf_t *b, size_t max)
{
	*b = (ctl_buf_t){.max = max};
}

void ctl_buf_deinit(ctl_buf_t *b)
{
	free(b->p);
	*b = (ctl_buf_t){.max = b->max};
}

/* Room for n more bytes plus a NUL. */
static bool reserve(ctl_buf_t *b, size_t n)
{
	if (b->err)
		return false;
	if (n > b->max - b->len) {
		b->err = SRVD_ELIMIT;
		return false;
	}
	if (arr_grow((void **)&b->p, &b->cap, b->len + n + 1, 1, 256)) {
		b->err = SRVD_ENOMEM;
		return false;
	}
	return true;
}

void ctl_buf_put(ctl_buf_t *b, const void *data, size_t n)
{
	if (n == 0 || !reserve(b, n))
		return;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void ctl_buf_puts(ctl_buf_t *b, const char *s)
{
	ctl_buf_put(b, s, strlen(s));
}

void ctl_buf_printf(ctl_buf_t *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = b->err ? b->err : SRVD_EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		ctl_buf_put(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int ctl_buf_take(ctl_buf_t *b, uint8_t **out, size_t *out_len)
{
	if (!b->err && !b->p)
		reserve(b, 0);
	int rc = b->err;
	if (rc) {
		ctl_buf_deinit(b);
		return rc;
	}
	b->p[b->len] = '\0';
	*out = b->p;
	*out_len = b->len;
	*b = (ctl_buf_t){.max = b->max};
	return 0;
}

size_t ctl_utf8_len(const uint8_t *s, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : lo; /* overlong */
		hi = c == 0xed ? 0x9f : hi; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : lo; /* overlong */
		hi = c == 0xf4 ? 0x8f : hi; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return len;
}

void ctl_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
