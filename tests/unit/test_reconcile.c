/* Unit tests for common/reconcile.h: the keep/add/drop loop behind the
 * secondary's and the primary journals' per-zone state.
 * What matters: the new list holds what want() returned, in wanted order;
 * every old state not returned is dropped exactly once, after all the
 * want() calls and in the old list's order; want() still sees the old list;
 * and without memory nothing is called and nothing changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* calloc of this file's own, so that running out of memory can be asked
 * for (the helper is header-only). */
static int calloc_fail;

static void *fake_calloc(size_t n, size_t size)
{
	return calloc_fail ? NULL : calloc(n, size);
}

#define calloc fake_calloc
#include "common/reconcile.h"
#undef calloc

typedef struct st {
	int id;
	int drops;
} st_t;

enum { NONE = -1, ADD = -2 };

/* One run: plan[i] says what want(i) returns: old[plan[i]] (kept), a new
 * state from fresh[] (ADD) or nothing (NONE). log records the calls: +id
 * for want, -id for drop. */
typedef struct run {
	const int *plan;
	st_t **old;              /* the caller's list, to check it is still in place */
	st_t **const *have_seen; /* what the caller's variable points at */
	st_t fresh[8];
	int n_fresh;
	int log[32];
	int n_log;
} run_t;

static void *want(void *ctx, size_t i)
{
	run_t *r = ctx;
	assert_ptr_equal(*r->have_seen, r->old); /* the old list is in place */
	int p = r->plan[i];
	st_t *s = NULL;
	if (p == ADD) {
		s = &r->fresh[r->n_fresh];
		s->id = 100 + r->n_fresh++;
	} else if (p != NONE) {
		s = r->old[p];
	}
	r->log[r->n_log++] = s ? s->id : 0;
	return s;
}

static void drop(void *ctx, void *state)
{
	run_t *r = ctx;
	st_t *s = state;
	s->drops++;
	r->log[r->n_log++] = -s->id;
}

static const reconcile_ops_t ops = {want, drop};

/* Reconcile *v as the callers do: the new list replaces it on success. */
static int sync_list(st_t ***v, size_t *nv, size_t n_want, run_t *r)
{
	void **out = NULL;
	int rc = reconcile((void **)*v, *nv, n_want, &ops, r, &out, nv);
	if (rc == 0)
		*v = (st_t **)out;
	return rc;
}

/* A heap list of n states with ids 1..n, as a caller holds it. */
static st_t **make(st_t *pool, size_t n)
{
	st_t **v = calloc(n + 1, sizeof(*v));
	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		pool[i] = (st_t){.id = (int)i + 1};
		v[i] = &pool[i];
	}
	return v;
}

static void keep_add_drop_mix(void **state)
{
	st_t pool[4];
	st_t **v = make(pool, 4);
	size_t nv = 4;
	/* keep 3, add, nothing, keep 1, add: 2 and 4 go */
	const int plan[] = {2, ADD, NONE, 0, ADD};
	run_t r = {.plan = plan, .old = v, .have_seen = &v};
	assert_int_equal(sync_list(&v, &nv, 5, &r), 0);
	assert_int_equal(nv, 4);
	assert_ptr_equal(v[0], &pool[2]);
	assert_ptr_equal(v[1], &r.fresh[0]);
	assert_ptr_equal(v[2], &pool[0]);
	assert_ptr_equal(v[3], &r.fresh[1]);
	assert_int_equal(pool[0].drops + pool[2].drops, 0);
	assert_int_equal(pool[1].drops, 1);
	assert_int_equal(pool[3].drops, 1);
	/* every want first, then the drops in the old list's order */
	const int log[] = {3, 100, 0, 1, 101, -2, -4};
	assert_int_equal(r.n_log, 7);
	assert_memory_equal(r.log, log, sizeof(log));
	free(v);
}

static void from_nothing_all_added(void **state)
{
	const int plan[] = {ADD, ADD, NONE};
	st_t **v = NULL;
	size_t nv = 0;
	run_t r = {.plan = plan, .old = NULL, .have_seen = &v};
	assert_int_equal(sync_list(&v, &nv, 3, &r), 0);
	assert_int_equal(nv, 2);
	assert_ptr_equal(v[0], &r.fresh[0]);
	assert_ptr_equal(v[1], &r.fresh[1]);
	free(v);
}

static void to_nothing_all_dropped(void **state)
{
	st_t pool[3];
	st_t **v = make(pool, 3);
	size_t nv = 3;
	run_t r = {.plan = NULL, .old = v, .have_seen = &v};
	assert_int_equal(sync_list(&v, &nv, 0, &r), 0);
	assert_non_null(v); /* an empty list is still an array */
	assert_int_equal(nv, 0);
	const int log[] = {-1, -2, -3};
	assert_int_equal(r.n_log, 3);
	assert_memory_equal(r.log, log, sizeof(log));
	for (int i = 0; i < 3; i++)
		assert_int_equal(pool[i].drops, 1);
	free(v);
}

/* Everything kept, in a new order: nothing dropped. */
static void all_kept_reordered(void **state)
{
	st_t pool[3];
	st_t **v = make(pool, 3);
	size_t nv = 3;
	const int plan[] = {2, 1, 0};
	run_t r = {.plan = plan, .old = v, .have_seen = &v};
	assert_int_equal(sync_list(&v, &nv, 3, &r), 0);
	assert_int_equal(nv, 3);
	for (int i = 0; i < 3; i++) {
		assert_ptr_equal(v[i], &pool[2 - i]);
		assert_int_equal(pool[i].drops, 0);
	}
	free(v);
}

static void out_of_memory_changes_nothing(void **state)
{
	st_t pool[2];
	st_t **v = make(pool, 2);
	size_t nv = 2;
	const int plan[] = {ADD};
	run_t r = {.plan = plan, .old = v, .have_seen = &v};
	st_t **before = v;
	calloc_fail = 1;
	assert_int_equal(sync_list(&v, &nv, 1, &r), SRVD_ENOMEM);
	calloc_fail = 0;
	assert_ptr_equal(v, before);
	assert_int_equal(nv, 2);
	assert_int_equal(r.n_log, 0); /* neither want nor drop ran */
	assert_ptr_equal(v[0], &pool[0]);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keep_add_drop_mix),
	    cmocka_unit_test(from_nothing_all_added),
	    cmocka_unit_test(to_nothing_all_dropped),
	    cmocka_unit_test(all_kept_reordered),
	    cmocka_unit_test(out_of_memory_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
