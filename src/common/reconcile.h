/* Reconciling a list of per-item states with the items wanted now: the one
 * keep/add/drop loop.
 *
 * Services that hold state per zone (the secondary's refresh timers, the
 * primary zones' journals) must follow every reload: keep the state of a
 * zone that is still there, make state for a new one, and drop the state of
 * one that went. The lists are small and in the order of the configuration,
 * not sorted, so the caller decides per wanted item (find or make) and this
 * loop does the bookkeeping that must not differ between them: the new list
 * is in wanted order, anything no longer wanted is dropped exactly once, and
 * running out of memory changes nothing.
 */
#ifndef SRVD_COMMON_RECONCILE_H
#define SRVD_COMMON_RECONCILE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "srvd/srvd.h"

typedef struct reconcile_ops {
	/* The state to hold for wanted item i: one already held (kept, and
	 * updated as the caller sees fit), a new one (added), or NULL for none.
	 * The old list is still in place while this runs, so it may search it.
	 * A held state that it does not return is dropped. */
	void *(*want)(void *ctx, size_t i);
	/* A held state that no want() returned. Called once each, after every
	 * want(), in the order of the old list. */
	void (*drop)(void *ctx, void *state);
} reconcile_ops_t;

/* Replace the list have[0..n_have) (heap, or NULL) by the states want()
 * returns for items 0..n_want-1, in that order, and drop the rest. The old
 * array is freed; the new one goes to *out (never NULL) and its length to
 * *n_out. Without memory for the new array it returns SRVD_ENOMEM before
 * calling anything, and the old list stays as it was. */
static inline int reconcile(void **have, size_t n_have, size_t n_want, const reconcile_ops_t *ops,
                            void *ctx, void ***out, size_t *n_out)
{
	assert(ops && ops->want && ops->drop && out && n_out);
	void **keep = calloc(n_want + 1, sizeof(*keep)); /* + 1: no calloc(0) */
	if (!keep)
		return SRVD_ENOMEM;
	size_t nk = 0;
	for (size_t i = 0; i < n_want; i++) {
		void *s = ops->want(ctx, i);
		if (s)
			keep[nk++] = s;
	}
	/* Quadratic, but no worse than the linear search that want() does per
	 * item; it drops in the order of the old list. */
	for (size_t i = 0; i < n_have; i++) {
		bool kept = false;
		for (size_t k = 0; k < nk && !kept; k++)
			kept = keep[k] == have[i];
		if (!kept)
			ops->drop(ctx, have[i]);
	}
	free(have);
	*out = keep;
	*n_out = nk;
	return 0;
}

#endif
