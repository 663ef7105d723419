/* Unit tests: RFC 1982 serial arithmetic (xfr/xfr.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "xfr/xfr.h"

static void test_basic(void **state)
{
	(void)state;
	assert_int_equal(wire_serial_cmp(1, 1), 0);
	assert_int_equal(wire_serial_cmp(1, 2), -1);
	assert_int_equal(wire_serial_cmp(2, 1), 1);
	assert_true(wire_serial_lt(1, 2));
	assert_false(wire_serial_lt(2, 1));
	assert_false(wire_serial_lt(5, 5));
	assert_true(wire_serial_gt(2, 1));
	assert_false(wire_serial_gt(5, 5));
}

/* RFC 1982 3.2: the increment wraps at 2^32. */
static void test_wrap(void **state)
{
	(void)state;
	assert_true(wire_serial_gt(0, 0xFFFFFFFFu));
	assert_true(wire_serial_lt(0xFFFFFFFFu, 0));
	assert_true(wire_serial_gt(10, 0xFFFFFFF0u));
	assert_true(wire_serial_lt(0xFFFFFFF0u, 10));
	/* the largest step forward is 2^31 - 1 */
	assert_true(wire_serial_gt(0x7FFFFFFFu, 0));
	assert_true(wire_serial_lt(0, 0x7FFFFFFFu));
	assert_true(wire_serial_lt(0x80000001u, 0));
	assert_true(wire_serial_gt(0, 0x80000001u));
}

/* s and s + 2^31 are not comparable: neither is newer. */
static void test_undefined(void **state)
{
	(void)state;
	uint32_t pairs[][2] = {
	    {0, 0x80000000u}, {0x80000000u, 0}, {1, 0x80000001u}, {0xFFFFFFFFu, 0x7FFFFFFFu}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		uint32_t a = pairs[i][0], b = pairs[i][1];
		assert_int_equal(wire_serial_cmp(a, b), WIRE_SERIAL_UNDEF);
		assert_false(wire_serial_lt(a, b));
		assert_false(wire_serial_gt(a, b));
		assert_false(wire_serial_lt(b, a));
		assert_false(wire_serial_gt(b, a));
	}
}

/* Antisymmetry over a spread of values. */
static void test_symmetry(void **state)
{
	(void)state;
	uint32_t v[] = {0,           1,           2,           100,
	                0x7FFFFFFEu, 0x7FFFFFFFu, 0x80000000u, 0x80000001u,
	                0xFFFFFFFEu, 0xFFFFFFFFu, 2023010101u};
	size_t n = sizeof(v) / sizeof(v[0]);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			int a = wire_serial_cmp(v[i], v[j]), b = wire_serial_cmp(v[j], v[i]);
			if (a == WIRE_SERIAL_UNDEF)
				assert_int_equal(b, WIRE_SERIAL_UNDEF);
			else
				assert_int_equal(a, -b);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_basic),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_undefined),
	    cmocka_unit_test(test_symmetry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
