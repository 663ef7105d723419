/* Unit tests for common/array.h: arr_grow, the one growth policy.
 * What matters: growth from empty starts at the minimum, growth doubles to
 * the first capacity that holds what is needed, a size that would overflow
 * is refused before anything is allocated, and a failure leaves the array
 * and its capacity exactly as they were (the caller still owns them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* The helper is header-only, so this file can put a realloc of its own
 * under it: failures on demand, and a count that shows when nothing was
 * asked of the allocator at all. */
static int realloc_calls;
static int realloc_fail;

static void *fake_realloc(void *p, size_t n)
{
	realloc_calls++;
	return realloc_fail ? NULL : realloc(p, n);
}

#define realloc fake_realloc
#include "common/array.h"
#undef realloc

static int setup(void **state)
{
	realloc_calls = 0;
	realloc_fail = 0;
	return 0;
}

static void grows_from_empty_to_the_minimum(void **state)
{
	int *v = NULL;
	size_t cap = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, 1, sizeof(*v), 16), 0);
	assert_non_null(v);
	assert_int_equal(cap, 16);
	v[15] = 1; /* the whole capacity is usable */
	free(v);
}

static void grows_from_empty_past_the_minimum(void **state)
{
	uint8_t *v = NULL;
	size_t cap = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, 5000, 1, 4096), 0);
	assert_int_equal(cap, 8192);
	assert_int_equal(realloc_calls, 1); /* one allocation, not one per doubling */
	free(v);
}

static void room_enough_changes_nothing(void **state)
{
	int *v = NULL;
	size_t cap = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, 0, sizeof(*v), 8), 0);
	assert_null(v); /* need 0: nothing allocated */
	assert_int_equal(cap, 0);
	assert_int_equal(arr_grow((void **)&v, &cap, 8, sizeof(*v), 8), 0);
	int *before = v;
	assert_int_equal(arr_grow((void **)&v, &cap, 8, sizeof(*v), 8), 0);
	assert_int_equal(arr_grow((void **)&v, &cap, 3, sizeof(*v), 8), 0);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 8);
	assert_int_equal(realloc_calls, 1);
	free(v);
}

/* One more than the capacity doubles it; far more doubles until it fits.
 * The elements already there survive. */
static void doubles_and_keeps_the_elements(void **state)
{
	size_t *v = NULL;
	size_t cap = 0, n = 0;
	for (; n < 100; n++) {
		assert_int_equal(arr_grow((void **)&v, &cap, n + 1, sizeof(*v), 16), 0);
		v[n] = n * 7;
	}
	assert_int_equal(cap, 128);
	assert_int_equal(realloc_calls, 4); /* 16, 32, 64, 128 */
	assert_int_equal(arr_grow((void **)&v, &cap, 1000, sizeof(*v), 16), 0);
	assert_int_equal(cap, 1024);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i], i * 7);
	free(v);
}

/* need * elem past SIZE_MAX would wrap to a short buffer: refused, and the
 * allocator is not even asked. */
static void refuses_a_byte_count_that_overflows(void **state)
{
	uint64_t *v = NULL;
	size_t cap = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, SIZE_MAX / 8 + 1, 8, 16), SRVD_ENOMEM);
	assert_null(v);
	assert_int_equal(cap, 0);
	assert_int_equal(realloc_calls, 0);
}

/* No power-of-two multiple of the minimum reaches need: doubling would
 * wrap. Also from a capacity already past half the address space. */
static void refuses_a_capacity_that_overflows(void **state)
{
	uint8_t *v = NULL;
	size_t cap = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, SIZE_MAX, 1, 3), SRVD_ENOMEM);
	assert_int_equal(arr_grow((void **)&v, &cap, SIZE_MAX / 2 + 2, 1, 1), SRVD_ENOMEM);
	assert_null(v);
	assert_int_equal(cap, 0);
	size_t big = SIZE_MAX / 2 + 1;
	assert_int_equal(arr_grow((void **)&v, &big, big + 1, 1, 1), SRVD_ENOMEM);
	assert_int_equal(big, SIZE_MAX / 2 + 1);
	assert_int_equal(realloc_calls, 0);
}

static void failure_leaves_the_array_as_it_was(void **state)
{
	int *v = NULL;
	size_t cap = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, 4, sizeof(*v), 4), 0);
	for (int i = 0; i < 4; i++)
		v[i] = i;
	int *before = v;
	realloc_fail = 1;
	assert_int_equal(arr_grow((void **)&v, &cap, 5, sizeof(*v), 4), SRVD_ENOMEM);
	assert_ptr_equal(v, before);
	assert_int_equal(cap, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(v[i], i);
	realloc_fail = 0;
	assert_int_equal(arr_grow((void **)&v, &cap, 5, sizeof(*v), 4), 0);
	assert_int_equal(cap, 8);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(grows_from_empty_to_the_minimum, setup),
	    cmocka_unit_test_setup(grows_from_empty_past_the_minimum, setup),
	    cmocka_unit_test_setup(room_enough_changes_nothing, setup),
	    cmocka_unit_test_setup(doubles_and_keeps_the_elements, setup),
	    cmocka_unit_test_setup(refuses_a_byte_count_that_overflows, setup),
	    cmocka_unit_test_setup(refuses_a_capacity_that_overflows, setup),
	    cmocka_unit_test_setup(failure_leaves_the_array_as_it_was, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
