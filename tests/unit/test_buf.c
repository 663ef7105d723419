/* Unit tests for common/buf.h: the bounds-checked reader and writer.
 * What matters: exact boundaries (reading or writing the last byte works,
 * one more fails), errors are sticky (nothing is read or written after the
 * first failure), and a failed access never consumes part of the buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"

static const uint8_t data[7] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};

static void rd_reads_big_endian(void **state)
{
	rd_t r;
	rd_init(&r, data, sizeof(data));
	assert_int_equal(rd_u8(&r), 0x01);
	assert_int_equal(rd_u16(&r), 0x0203);
	assert_int_equal(rd_u32(&r), 0x04050607);
	assert_false(r.err);
	assert_int_equal(r.pos, 7);
	assert_int_equal(rd_left(&r), 0);
}

static void rd_exact_end_then_one_more(void **state)
{
	rd_t r;
	rd_init(&r, data, sizeof(data));
	rd_skip(&r, 6);
	assert_false(r.err);
	assert_int_equal(rd_left(&r), 1);
	assert_int_equal(rd_u8(&r), 0x07); /* the last byte is readable */
	assert_false(r.err);
	assert_int_equal(rd_u8(&r), 0); /* one past the end is not */
	assert_true(r.err);
}

static void rd_partial_read_consumes_nothing(void **state)
{
	rd_t r;
	rd_init(&r, data, sizeof(data));
	rd_skip(&r, 4); /* 3 bytes left */
	assert_int_equal(rd_u32(&r), 0);
	assert_true(r.err);
	assert_int_equal(r.pos, 4);
	assert_int_equal(rd_left(&r), 0); /* an errored reader has nothing left */
}

static void rd_error_is_sticky(void **state)
{
	rd_t r;
	rd_init(&r, data, 2);
	assert_int_equal(rd_u32(&r), 0);
	assert_true(r.err);
	/* Would fit in the buffer, but the error sticks: zeros, no progress. */
	assert_int_equal(rd_u8(&r), 0);
	assert_int_equal(rd_u16(&r), 0);
	assert_null(rd_ptr(&r, 1));
	rd_skip(&r, 1);
	assert_int_equal(r.pos, 0);
	rd_seek(&r, 1);
	assert_int_equal(r.pos, 0);
	assert_true(r.err);
}

static void rd_ptr_bounds(void **state)
{
	rd_t r;
	rd_init(&r, data, sizeof(data));
	const uint8_t *p = rd_ptr(&r, 7);
	assert_ptr_equal(p, data);
	assert_int_equal(r.pos, 7);
	assert_non_null(rd_ptr(&r, 0)); /* zero bytes at the end is fine */
	assert_false(r.err);
	assert_null(rd_ptr(&r, 1));
	assert_true(r.err);
}

static void rd_huge_length_does_not_wrap(void **state)
{
	rd_t r;
	rd_init(&r, data, sizeof(data));
	rd_skip(&r, 3);
	assert_null(rd_ptr(&r, SIZE_MAX));
	assert_true(r.err);
	assert_int_equal(r.pos, 3);
}

static void rd_seek_bounds(void **state)
{
	rd_t r;
	rd_init(&r, data, sizeof(data));
	rd_seek(&r, 7); /* the end itself is a valid position */
	assert_false(r.err);
	assert_int_equal(rd_left(&r), 0);
	rd_seek(&r, 2);
	assert_int_equal(rd_u8(&r), 0x03);
	rd_seek(&r, 8);
	assert_true(r.err);
	assert_int_equal(r.pos, 3);
}

static void rd_empty_buffer(void **state)
{
	rd_t r;
	rd_init(&r, NULL, 0);
	assert_int_equal(rd_left(&r), 0);
	assert_int_equal(rd_u8(&r), 0);
	assert_true(r.err);
}

static void wr_writes_big_endian(void **state)
{
	uint8_t buf[7];
	wr_t w;
	wr_init(&w, buf, sizeof(buf));
	wr_u8(&w, 0x01);
	wr_u16(&w, 0x0203);
	wr_u32(&w, 0x04050607);
	assert_false(w.err);
	assert_int_equal(w.pos, 7);
	assert_memory_equal(buf, data, 7);
	assert_int_equal(wr_left(&w), 0);
}

static void wr_exact_fit_then_overflow(void **state)
{
	uint8_t buf[8];
	memset(buf, 0xEE, sizeof(buf));
	wr_t w;
	wr_init(&w, buf, 4); /* byte 4.. are a guard */
	wr_u16(&w, 0x1122);
	wr_u16(&w, 0x3344); /* exactly fills the buffer */
	assert_false(w.err);
	wr_u8(&w, 0x55);
	assert_true(w.err);
	assert_int_equal(w.pos, 4);
	static const uint8_t want[8] = {0x11, 0x22, 0x33, 0x44, 0xEE, 0xEE, 0xEE, 0xEE};
	assert_memory_equal(buf, want, 8);
}

static void wr_partial_write_writes_nothing(void **state)
{
	uint8_t buf[8];
	memset(buf, 0xEE, sizeof(buf));
	wr_t w;
	wr_init(&w, buf, 3);
	wr_u8(&w, 0x01);
	wr_u32(&w, 0xAABBCCDD); /* 2 bytes left: nothing of it is written */
	assert_true(w.err);
	assert_int_equal(w.pos, 1);
	assert_int_equal(buf[1], 0xEE);
	assert_int_equal(buf[2], 0xEE);
	wr_bytes(&w, data, 1); /* sticky: fits, but is not written */
	assert_int_equal(buf[1], 0xEE);
	assert_int_equal(w.pos, 1);
	assert_int_equal(wr_left(&w), 0);
}

static void wr_bytes_bounds(void **state)
{
	uint8_t buf[7];
	wr_t w;
	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, data, 7);
	assert_false(w.err);
	assert_memory_equal(buf, data, 7);
	wr_bytes(&w, data, 0);
	assert_false(w.err);
	wr_init(&w, buf, sizeof(buf));
	wr_bytes(&w, data, SIZE_MAX);
	assert_true(w.err);
	assert_int_equal(w.pos, 0);
}

static void wr_put_u16_at_checks_bounds(void **state)
{
	uint8_t buf[6] = {0};
	wr_t w;
	wr_init(&w, buf, 4);
	wr_put_u16_at(&w, 2, 0xABCD); /* the last two bytes */
	assert_int_equal(buf[2], 0xAB);
	assert_int_equal(buf[3], 0xCD);
	wr_put_u16_at(&w, 3, 0x1234); /* would touch buf[4]: ignored */
	assert_int_equal(buf[3], 0xCD);
	assert_int_equal(buf[4], 0);
}

static void get_put_helpers(void **state)
{
	uint8_t b[4];
	put_u16(b, 0xBEEF);
	assert_int_equal(get_u16(b), 0xBEEF);
	put_u32(b, 0xDEADBEEF);
	assert_int_equal(get_u32(b), 0xDEADBEEF);
	assert_int_equal(b[0], 0xDE);
}

/* mem_eq reads words and the last eight bytes again: every length and
 * every position of a difference must still decide right, and bytes just
 * outside the range must not count. */
static void mem_eq_every_length_and_position(void **state)
{
	(void)state;
	uint8_t x[48], y[48];
	for (size_t n = 0; n <= 40; n++) {
		memset(x, 'a', sizeof(x));
		memset(y, 'a', sizeof(y));
		x[n] = 'X'; /* one past the end differs: ignored */
		assert_true(mem_eq(x, y, n));
		for (size_t i = 0; i < n; i++) {
			y[i] = 'b';
			assert_false(mem_eq(x, y, n));
			y[i] = 'a';
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rd_reads_big_endian),
	    cmocka_unit_test(rd_exact_end_then_one_more),
	    cmocka_unit_test(rd_partial_read_consumes_nothing),
	    cmocka_unit_test(rd_error_is_sticky),
	    cmocka_unit_test(rd_ptr_bounds),
	    cmocka_unit_test(rd_huge_length_does_not_wrap),
	    cmocka_unit_test(rd_seek_bounds),
	    cmocka_unit_test(rd_empty_buffer),
	    cmocka_unit_test(wr_writes_big_endian),
	    cmocka_unit_test(wr_exact_fit_then_overflow),
	    cmocka_unit_test(wr_partial_write_writes_nothing),
	    cmocka_unit_test(wr_bytes_bounds),
	    cmocka_unit_test(wr_put_u16_at_checks_bounds),
	    cmocka_unit_test(get_put_helpers),
	    cmocka_unit_test(mem_eq_every_length_and_position),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
