/* Growable arrays: one overflow-checked way to make room for `need`
 * elements, doubling from a small minimum, used wherever a list grows one
 * element at a time. */
#ifndef SRVD_COMMON_ARRAY_H
#define SRVD_COMMON_ARRAY_H

#include <stdint.h>
#include <stdlib.h>

#include "srvd/srvd.h"

/* Make *v hold at least need elements of elem bytes; *cap is its capacity
 * in elements. 0, or SRVD_ENOMEM (then *v and *cap are unchanged). */
static inline int arr_grow(void **v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return SRVD_ENOMEM;
		n *= 2;
	}
	if (elem && n > SIZE_MAX / elem)
		return SRVD_ENOMEM;
	void *p = realloc(*v, n * elem);
	if (!p)
		return SRVD_ENOMEM;
	*v = p;
	*cap = n;
	return 0;
}

#endif
