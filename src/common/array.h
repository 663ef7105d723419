/* Growable arrays: the one place that decides how an array grows.
 *
 * Arrays stay plain (T *v; size_t n, cap) in their owners' structs; this
 * helper only makes room. Capacity doubles from a per-array minimum, so
 * appends are amortised O(1) and a small array does not start with a
 * realloc per element. Both the doubling and the byte count are checked
 * for overflow: an array that cannot grow reports SRVD_ENOMEM instead of
 * wrapping to a short buffer that the caller would then write past.
 * Header-only because srvdctl (srvd_ctl) does not link the library objects.
 */
#ifndef SRVD_COMMON_ARRAY_H
#define SRVD_COMMON_ARRAY_H

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "srvd/srvd.h"

/* Make room for need elements of elem bytes in *v, which has room for
 * *cap. The new capacity is the smallest of min, 2 min, 4 min... (from
 * empty) or 2 cap, 4 cap... that holds need. *v and *cap change only on
 * success; on failure the old array is untouched and still the caller's.
 * v is the address of the caller's array pointer, cast to void **. */
static inline int arr_grow(void **v, size_t *cap, size_t need, size_t elem, size_t min)
{
	assert(v && cap && elem > 0 && min > 0);
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : min;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return SRVD_ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return SRVD_ENOMEM;
	void *p = realloc(*v, n * elem);
	if (!p)
		return SRVD_ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

#endif
