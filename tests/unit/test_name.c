/* Unit tests for wire/name.c: parsing names from messages (compression
 * pointers, RFC 1035 4.1.4), the limits of RFC 1035 2.3.4 (63-byte labels,
 * 255-byte names), extended label types (RFC 6891 5, obsolete), canonical
 * ordering (RFC 4034 6.1) and presentation form (RFC 1035 5.1 escapes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire/dns.h"
#include "wire/name.h"

/* A message: 12-byte header, then "example.com" at offset 12. */
static size_t msg_with_example(uint8_t *m)
{
	memset(m, 0, 12);
	static const uint8_t ex[] = "\7example\3com";
	memcpy(m + 12, ex, sizeof(ex)); /* includes the root label */
	return 12 + sizeof(ex);
}

static void read_plain_name(void **state)
{
	uint8_t m[64], out[255];
	size_t n = msg_with_example(m);
	rd_t r;
	rd_init(&r, m, n);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, false, out), 13);
	assert_memory_equal(out, "\7example\3com", 13);
	assert_int_equal(r.pos, 25);
	assert_false(r.err);
}

static void read_follows_backward_pointer(void **state)
{
	uint8_t m[64], out[255];
	size_t n = msg_with_example(m);
	/* "www" + pointer to offset 12, then a trailing byte */
	static const uint8_t tail[] = {3, 'w', 'w', 'w', 0xC0, 12, 0xAA};
	memcpy(m + n, tail, sizeof(tail));
	rd_t r;
	rd_init(&r, m, n + sizeof(tail));
	rd_seek(&r, n);
	assert_int_equal(wire_name_read(&r, true, out), 17);
	assert_memory_equal(out, "\3www\7example\3com", 17);
	/* The reader continues right after the (first) pointer. */
	assert_int_equal(r.pos, n + 6);
	assert_int_equal(rd_u8(&r), 0xAA);
}

static void read_chained_pointers(void **state)
{
	uint8_t m[64], out[255];
	size_t n = msg_with_example(m);
	/* at n: "www" -> 12; at n+6: "a" -> n */
	static const uint8_t tail[] = {3, 'w', 'w', 'w', 0xC0, 12, 1, 'a', 0xC0, 0};
	memcpy(m + n, tail, sizeof(tail));
	m[n + 9] = (uint8_t)n;
	rd_t r;
	rd_init(&r, m, n + sizeof(tail));
	rd_seek(&r, n + 6);
	assert_int_equal(wire_name_read(&r, true, out), 19);
	assert_memory_equal(out, "\1a\3www\7example\3com", 19);
	assert_int_equal(r.pos, n + 10);
}

static void read_pointer_refused_when_not_allowed(void **state)
{
	uint8_t m[64], out[255];
	size_t n = msg_with_example(m);
	m[n] = 0xC0;
	m[n + 1] = 12;
	rd_t r;
	rd_init(&r, m, n + 2);
	rd_seek(&r, n);
	assert_int_equal(wire_name_read(&r, false, out), 0);
	assert_true(r.err);
}

static void read_rejects_forward_and_self_pointers(void **state)
{
	uint8_t m[64], out[255];
	memset(m, 0, sizeof(m));
	rd_t r;
	/* A pointer to itself: a loop of one. */
	m[12] = 0xC0;
	m[13] = 12;
	rd_init(&r, m, 14);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
	/* A forward pointer to a valid name. */
	m[12] = 0xC0;
	m[13] = 14;
	m[14] = 1;
	m[15] = 'a';
	m[16] = 0;
	rd_init(&r, m, 17);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
	/* Two pointers at each other: 12 -> 14 (forward), 14 -> 12. */
	m[14] = 0xC0;
	m[15] = 12;
	rd_init(&r, m, 16);
	rd_seek(&r, 14);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
}

static void read_rejects_extended_label_types(void **state)
{
	static const uint8_t types[] = {0x40, 0x80};
	for (size_t i = 0; i < 2; i++) {
		uint8_t m[32] = {0}, out[255];
		m[12] = 1;
		m[13] = 'a';
		m[14] = types[i] | 1; /* 0x41 / 0x81: not a length, not a pointer */
		m[15] = 'b';
		m[16] = 0;
		rd_t r;
		rd_init(&r, m, 17);
		rd_seek(&r, 12);
		assert_int_equal(wire_name_read(&r, true, out), 0);
		assert_true(r.err);
	}
}

static void read_rejects_truncated(void **state)
{
	uint8_t m[32] = {0}, out[255];
	rd_t r;
	/* Label longer than the buffer. */
	m[12] = 5;
	memcpy(m + 13, "abc", 3);
	rd_init(&r, m, 16);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
	/* No root label before the end. */
	m[12] = 3;
	rd_init(&r, m, 16);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
	/* A pointer cut in half. */
	m[12] = 0xC0;
	rd_init(&r, m, 13);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
	/* An already failed reader reads nothing. */
	m[12] = 0;
	rd_init(&r, m, 13);
	rd_seek(&r, 12);
	r.err = true;
	assert_int_equal(wire_name_read(&r, true, out), 0);
}

/* Labels of the given lengths (each filled with 'a'), then the root. */
static size_t build_name(uint8_t *p, const unsigned *lens, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		p[o++] = (uint8_t)lens[i];
		memset(p + o, 'a', lens[i]);
		o += lens[i];
	}
	p[o++] = 0;
	return o;
}

static void read_255_byte_limit(void **state)
{
	uint8_t m[600] = {0}, out[255];
	rd_t r;
	/* 3 x 63 + 61: 64 * 3 + 62 + 1 = 255 bytes, the maximum. */
	static const unsigned ok[] = {63, 63, 63, 61};
	size_t n = build_name(m + 12, ok, 4);
	assert_int_equal(n, 255);
	rd_init(&r, m, 12 + n);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, false, out), 255);
	assert_false(r.err);
	/* One more byte: 256. */
	static const unsigned bad[] = {63, 63, 63, 62};
	n = build_name(m + 12, bad, 4);
	assert_int_equal(n, 256);
	rd_init(&r, m, 12 + n);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, false, out), 0);
	assert_true(r.err);
}

static void read_255_limit_counts_pointed_to_parts(void **state)
{
	uint8_t m[600] = {0}, out[255];
	/* At 12: a 200-byte name; then 60 bytes of labels and a pointer to it. */
	static const unsigned first[] = {63, 63, 63, 7};
	size_t n1 = build_name(m + 12, first, 4);
	assert_int_equal(n1, 201);
	size_t at = 12 + n1;
	static const unsigned second[] = {52};
	size_t n2 = build_name(m + at, second, 1) - 1; /* drop the root */
	m[at + n2] = 0xC0;
	m[at + n2 + 1] = 12;
	rd_t r;
	rd_init(&r, m, at + n2 + 2);
	rd_seek(&r, at);
	/* 53 + 201 = 254: fits. */
	assert_int_equal(wire_name_read(&r, true, out), 254);
	m[at] = 53; /* 54 + 201 = 255: still fits */
	memset(m + at + 1, 'b', 53);
	m[at + 54] = 0xC0;
	m[at + 55] = 12;
	rd_init(&r, m, at + 56);
	rd_seek(&r, at);
	assert_int_equal(wire_name_read(&r, true, out), 255);
	m[at] = 54; /* 256: too long, although each part is fine */
	memset(m + at + 1, 'b', 54);
	m[at + 55] = 0xC0;
	m[at + 56] = 12;
	rd_init(&r, m, at + 57);
	rd_seek(&r, at);
	assert_int_equal(wire_name_read(&r, true, out), 0);
	assert_true(r.err);
}

static void read_root(void **state)
{
	uint8_t m[13] = {0}, out[255];
	rd_t r;
	rd_init(&r, m, 13);
	rd_seek(&r, 12);
	assert_int_equal(wire_name_read(&r, false, out), 1);
	assert_int_equal(out[0], 0);
	assert_int_equal(r.pos, 13);
}

static size_t n_(const char *s, uint8_t out[255])
{
	size_t len = 0;
	assert_int_equal(wire_name_from_str(s, out, &len), 0);
	return len;
}

/* RFC 4034 6.1: the example list, in canonical order. */
static void canonical_order_rfc4034(void **state)
{
	static const char *order[] = {
	    "example",         "a.example",      "yljkjljk.a.example",
	    "Z.a.example",     "zABC.a.EXAMPLE", "z.example",
	    "\\001.z.example", "*.z.example",    "\\200.z.example",
	};
	size_t n = sizeof(order) / sizeof(order[0]);
	for (size_t i = 0; i < n; i++) {
		uint8_t a[255];
		n_(order[i], a);
		assert_int_equal(wire_name_cmp(a, a), 0);
		for (size_t j = i + 1; j < n; j++) {
			uint8_t b[255];
			n_(order[j], b);
			if (!(wire_name_cmp(a, b) < 0 && wire_name_cmp(b, a) > 0))
				fail_msg("%s should sort before %s", order[i], order[j]);
		}
	}
}

static void canonical_compare_is_case_insensitive(void **state)
{
	uint8_t a[255], b[255], c[255];
	n_("WWW.Example.COM", a);
	n_("www.example.com", b);
	n_("www.example.co", c);
	assert_int_equal(wire_name_cmp(a, b), 0);
	assert_true(wire_name_eq(a, b));
	assert_false(wire_name_eq(a, c));
	/* Shorter label sorts first when it is a prefix: "co" < "com". */
	assert_true(wire_name_cmp(c, b) < 0);
	/* The root sorts before everything. */
	uint8_t root[255];
	n_(".", root);
	assert_true(wire_name_cmp(root, b) < 0);
	assert_true(wire_name_cmp(b, root) > 0);
}

static void labels_skip_sub(void **state)
{
	uint8_t a[255], b[255], c[255];
	n_("a.b.Example.com", a);
	n_("example.COM", b);
	n_("xexample.com", c);
	assert_int_equal(wire_name_labels(a), 4);
	assert_int_equal(wire_name_len(a), 17);
	assert_true(wire_name_is_sub(a, b));
	assert_true(wire_name_is_sub(b, b));
	assert_false(wire_name_is_sub(b, a));
	assert_false(wire_name_is_sub(c, b)); /* label boundaries matter */
	assert_true(wire_name_eq(wire_name_skip(a, 2), b));
	assert_int_equal(*wire_name_skip(a, 9), 0); /* past the end: the root */
	uint8_t l[255];
	wire_name_lower(l, a, 17);
	assert_memory_equal(l, "\1a\1b\7example\3com", 17);
}

/* Lower-casing works on eight bytes at a time and redoes the last eight:
 * every length, in place and into another buffer, must match the table,
 * and nothing past the length may be written. */
static void lower_every_length(void **state)
{
	(void)state;
	for (size_t n = 1; n <= 40; n++) {
		uint8_t src[48], out[48], want[48];
		for (size_t i = 0; i < n; i++)
			src[i] = (uint8_t)("AbC@[`{Z\xc1z"[i % 11]);
		for (size_t i = 0; i < n; i++)
			want[i] = wire_lower_tab[src[i]];
		memset(out, 0xEE, sizeof(out));
		wire_name_lower(out, src, n);
		assert_memory_equal(out, want, n);
		assert_int_equal(out[n], 0xEE);
		wire_name_lower(src, src, n);
		assert_memory_equal(src, want, n);
	}
}

/* The question reader: copies and lower-cases an uncompressed name in
 * one pass, and refuses a pointer. */
static void read_lower_question_name(void **state)
{
	(void)state;
	static const uint8_t msg[] = {4,   'M', 'A', 'I', 'L', 7,   'E', 'x', 'a',  'm',
	                              'p', 'l', 'e', 3,   'C', 'O', 'M', 0,   0xC0, 0};
	uint8_t out[255];
	rd_t r;
	rd_init(&r, msg, sizeof(msg));
	assert_int_equal(wire_name_read_lower(&r, out), 18);
	assert_memory_equal(out, "\4mail\7example\3com", 18);
	assert_int_equal(r.pos, 18);
	assert_int_equal(wire_name_read_lower(&r, out), 0); /* a pointer */
	assert_true(r.err);
	rd_init(&r, msg, 10); /* cut short */
	assert_int_equal(wire_name_read_lower(&r, out), 0);
	assert_true(r.err);
}

static void to_str_escapes(void **state)
{
	char s[1010];
	/* label "a.b" (a literal dot), label "x y", label with byte 0xFF */
	static const uint8_t w[] = {3, 'a', '.', 'b', 3, 'x', ' ', 'y', 2, 'q', 0xFF, 0};
	assert_int_equal(wire_name_to_str(w, s, sizeof(s)), 18);
	assert_string_equal(s, "a\\.b.x\\032y.q\\255.");
	static const uint8_t w2[] = {4, '\\', '"', ';', '$', 0};
	wire_name_to_str(w2, s, sizeof(s));
	assert_string_equal(s, "\\\\\\\"\\;\\$.");
	static const uint8_t root[] = {0};
	assert_int_equal(wire_name_to_str(root, s, sizeof(s)), 1);
	assert_string_equal(s, ".");
}

static void to_str_small_buffer(void **state)
{
	char s[8];
	static const uint8_t w[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
	/* "example." plus the NUL needs 9 bytes. */
	assert_int_equal(wire_name_to_str(w, s, 8), -1);
	char t[9];
	assert_int_equal(wire_name_to_str(w, t, 9), 8);
	assert_string_equal(t, "example.");
	static const uint8_t root[] = {0};
	assert_int_equal(wire_name_to_str(root, s, 1), -1);
}

static void from_str_escapes(void **state)
{
	uint8_t w[255];
	size_t len = n_("weird\\032name.dot\\.label.example.", w);
	static const uint8_t want[] = "\12weird name\11dot.label\7example";
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(w, want, sizeof(want));
	/* Relative and absolute spellings are the same name. */
	uint8_t w2[255];
	assert_int_equal(n_("weird\\032name.dot\\.label.example", w2), len);
	assert_memory_equal(w, w2, len);
	assert_int_equal(n_(".", w2), 1);
	assert_int_equal(w2[0], 0);
}

static void str_round_trip(void **state)
{
	static const char *names[] = {"example.com.", "a\\.b.example.", "weird\\032name.x.",
	                              "\\000\\255.x.", "_matrix-fed._tcp.example.com."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t w[255];
		char s[1010];
		n_(names[i], w);
		assert_true(wire_name_to_str(w, s, sizeof(s)) > 0);
		assert_string_equal(s, names[i]);
	}
}

static void from_str_rejects_bad_names(void **state)
{
	uint8_t w[255];
	size_t len;
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".com");
	assert_int_equal(wire_name_from_str(label, w, &len), -1); /* 64 */
	strcpy(label + 63, ".com");
	assert_int_equal(wire_name_from_str(label, w, &len), 0); /* 63 is fine */
	assert_int_equal(wire_name_from_str("a..b", w, &len), -1);
	assert_int_equal(wire_name_from_str("..", w, &len), -1);
	assert_int_equal(wire_name_from_str("a\\256.b", w, &len), -1);
	assert_int_equal(wire_name_from_str("trailing\\", w, &len), -1);
}

/* A name of labels of the given lengths, in presentation form. */
static void str_of_lens(char *s, const unsigned *lens, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		memset(s + o, 'a', lens[i]);
		o += lens[i];
		s[o++] = '.';
	}
	s[o] = 0;
}

static void from_str_255_limit(void **state)
{
	char s[300];
	uint8_t w[255];
	size_t len = 0;
	/* 63.63.63.61 = 255 bytes of wire form: the longest name. */
	static const unsigned ok[] = {63, 63, 63, 61};
	str_of_lens(s, ok, 4);
	assert_int_equal(wire_name_from_str(s, w, &len), 0);
	assert_int_equal(len, 255);
	/* 63.63.63.62 = 256. */
	static const unsigned bad[] = {63, 63, 63, 62};
	str_of_lens(s, bad, 4);
	assert_int_equal(wire_name_from_str(s, w, &len), -1);
	/* Many short labels: 127 x "a" = 255 bytes, 128 = 257. */
	static unsigned ones[128];
	for (int i = 0; i < 128; i++)
		ones[i] = 1;
	str_of_lens(s, ones, 127);
	assert_int_equal(wire_name_from_str(s, w, &len), 0);
	assert_int_equal(len, 255);
	str_of_lens(s, ones, 128);
	assert_int_equal(wire_name_from_str(s, w, &len), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(read_plain_name),
	    cmocka_unit_test(read_follows_backward_pointer),
	    cmocka_unit_test(read_chained_pointers),
	    cmocka_unit_test(read_pointer_refused_when_not_allowed),
	    cmocka_unit_test(read_rejects_forward_and_self_pointers),
	    cmocka_unit_test(read_rejects_extended_label_types),
	    cmocka_unit_test(read_rejects_truncated),
	    cmocka_unit_test(read_255_byte_limit),
	    cmocka_unit_test(read_255_limit_counts_pointed_to_parts),
	    cmocka_unit_test(read_root),
	    cmocka_unit_test(canonical_order_rfc4034),
	    cmocka_unit_test(canonical_compare_is_case_insensitive),
	    cmocka_unit_test(labels_skip_sub),
	    cmocka_unit_test(to_str_escapes),
	    cmocka_unit_test(to_str_small_buffer),
	    cmocka_unit_test(from_str_escapes),
	    cmocka_unit_test(str_round_trip),
	    cmocka_unit_test(lower_every_length),
	    cmocka_unit_test(read_lower_question_name),
	    cmocka_unit_test(from_str_rejects_bad_names),
	    cmocka_unit_test(from_str_255_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
