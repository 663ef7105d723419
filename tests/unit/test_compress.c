/* Unit tests for respond/compress.c: name compression (RFC 1035 4.1.4)
 * and the all-or-nothing writes that truncation relies on.
 *
 * Every message written here is also read back with wire_name_read, so a
 * pointer that compresses but points at the wrong place fails too.
 */
#include "respond/msg.h"
#include "test_helpers.h"

static uint8_t buf[70000];

/* Message with the question "www.example.com IN A" already in it. */
static void start(msg_t *m, size_t limit)
{
	memset(buf, 0, sizeof(buf));
	msg_init(m, buf, limit);
	uint8_t q[260];
	size_t n = th_name("www.example.com", q);
	put_u16(q + n, DNS_T_A);
	put_u16(q + n + 2, DNS_C_IN);
	assert_true(msg_put_question(m, q, n + 4, NULL));
	assert_int_equal(m->len, 12 + 17 + 4);
}

/* Read the name at off back out of the message and compare. */
static void expect_name_at(const msg_t *m, size_t off, const char *want)
{
	rd_t r;
	rd_init(&r, m->buf, m->len);
	rd_seek(&r, off);
	uint8_t got[255], w[255];
	size_t n = wire_name_read(&r, true, got);
	assert_false(r.err);
	size_t wn = th_name(want, w);
	assert_int_equal(n, wn);
	assert_memory_equal(got, w, n); /* case as written, too */
}

/* Names written must stay put until the message is done (msg.h): later
 * names are compared against them. Each test writes only a few. */
static void put(msg_t *m, const char *name)
{
	static uint8_t pool[16][255];
	static unsigned next;
	uint8_t *w = pool[next++ % 16];
	th_name(name, w);
	assert_true(msg_put_name(m, w));
}

static void suffix_of_question_is_a_pointer(void **state)
{
	msg_t m;
	start(&m, 512);
	size_t at = m.len;
	put(&m, "example.com");
	assert_int_equal(m.len - at, 2);
	assert_int_equal(get_u16(buf + at), 0xC000 | 16); /* "example" at 12 + 4 */
	expect_name_at(&m, at, "example.com");

	at = m.len;
	put(&m, "www.example.com"); /* the whole question name */
	assert_int_equal(get_u16(buf + at), 0xC000 | 12);
	assert_int_equal(m.len - at, 2);
}

static void new_label_then_pointer(void **state)
{
	msg_t m;
	start(&m, 512);
	size_t at = m.len;
	put(&m, "mail.example.com");
	assert_int_equal(m.len - at, 5 + 2); /* "\4mail" + pointer */
	assert_int_equal(get_u16(buf + at + 5), 0xC000 | 16);
	expect_name_at(&m, at, "mail.example.com");

	/* A later name reuses the label written literally above. */
	size_t at2 = m.len;
	put(&m, "x.mail.example.com");
	assert_int_equal(m.len - at2, 2 + 2);
	assert_int_equal(get_u16(buf + at2 + 2), 0xC000 | at);
	expect_name_at(&m, at2, "x.mail.example.com");
}

static void compression_is_case_insensitive(void **state)
{
	msg_t m;
	start(&m, 512);
	size_t at = m.len;
	put(&m, "MAIL.EXAMPLE.COM");
	assert_int_equal(m.len - at, 5 + 2);
	/* The new label keeps its case; the suffix points at the question's. */
	assert_memory_equal(buf + at, "\4MAIL", 5);
	expect_name_at(&m, at, "MAIL.example.com");
}

static void unrelated_name_is_literal(void **state)
{
	msg_t m;
	start(&m, 512);
	size_t at = m.len;
	put(&m, "example.net");
	assert_int_equal(m.len - at, 13);
	expect_name_at(&m, at, "example.net");
	at = m.len;
	put(&m, ".");
	assert_int_equal(m.len - at, 1);
	assert_int_equal(buf[at], 0);
	/* "com" alone: a suffix of the question, so a pointer. */
	at = m.len;
	put(&m, "com");
	assert_int_equal(get_u16(buf + at), 0xC000 | 24);
}

static void overflow_rolls_back(void **state)
{
	msg_t m;
	start(&m, 512);
	m.limit = m.len + 6; /* room for "\4mail" but not the pointer after it */
	uint8_t w[255];
	th_name("mail.example.com", w);
	size_t len = m.len;
	uint16_t ncptr = m.ncptr;
	assert_false(msg_put_name(&m, w));
	assert_int_equal(m.len, len);
	assert_int_equal(m.ncptr, ncptr); /* the unwritten label is forgotten */
	/* With room again, a later name must not point at the lost label. */
	m.limit = 512;
	size_t at = m.len;
	memset(buf + at, 0xFF, 16); /* the failed write's bytes would be garbage */
	put(&m, "mail.example.com");
	expect_name_at(&m, at, "mail.example.com");
	assert_int_equal(m.len - at, 7);
}

static void exact_fit_succeeds(void **state)
{
	msg_t m;
	start(&m, 512);
	m.limit = m.len + 7; /* "\4mail" + pointer, exactly */
	uint8_t w[255];
	th_name("mail.example.com", w);
	assert_true(msg_put_name(&m, w));
	assert_int_equal(m.len, m.limit);
	/* Exactly full: even the root label does not fit any more. */
	th_name(".", w);
	assert_false(msg_put_name(&m, w));
	assert_int_equal(m.len, m.limit);
}

static void no_pointer_beyond_0x3fff(void **state)
{
	msg_t m;
	memset(buf, 0, sizeof(buf));
	msg_init(&m, buf, sizeof(buf));
	m.len = 0x4000 + 3; /* pointers can only reach offsets below 0x4000 */
	size_t at1 = m.len;
	put(&m, "far.example");
	size_t at2 = m.len;
	put(&m, "far.example");
	/* The second copy cannot point at the first: literal again. */
	assert_int_equal(at2 - at1, 13);
	assert_int_equal(m.len - at2, 13);
	expect_name_at(&m, at1, "far.example");
	expect_name_at(&m, at2, "far.example");
}

/* A zone version for the RRset writers. */
static zone_t *rrset_zone(void)
{
	zone_builder_t *b = th_builder("example.com", NULL);
	th_soa(b, "example.com", 3600, 1, 300);
	assert_int_equal(th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns1.example.com"), 0);
	assert_int_equal(th_a(b, "ns1.example.com", 3600, "192.0.2.53"), 0);
	assert_int_equal(th_a(b, "big.example.com", 60, "192.0.2.1"), 0);
	assert_int_equal(th_a(b, "big.example.com", 60, "192.0.2.2"), 0);
	assert_int_equal(th_a(b, "big.example.com", 60, "192.0.2.3"), 0);
	assert_int_equal(th_srv(b, "_x._tcp.example.com", 60, 10, 0, 8448, "www.example.com"), 0);
	assert_int_equal(th_mx(b, "example.com", 60, 10, "www.example.com"), 0);
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	return z;
}

static const zone_rrset_t *rrset(const zone_t *z, const char *name, uint16_t type)
{
	uint32_t node = th_find(z, name);
	assert_int_not_equal(node, ZONE_NONE);
	const zone_rrset_t *s = zone_node_rrset(z, &z->nodes[node], type);
	assert_non_null(s);
	return s;
}

static void rrset_all_or_nothing(void **state)
{
	zone_t *z = rrset_zone();
	const zone_rrset_t *s = rrset(z, "big.example.com", DNS_T_A);
	assert_int_equal(s->count, 3);
	uint8_t owner[255];
	th_name("big.example.com", owner);

	msg_t m;
	start(&m, 512);
	/* Each RR: owner (big + pointer = 6) + 10 + 4 = 20, the later ones
	 * 2 + 10 + 4 = 16: 52 in all. One byte short: nothing is written. */
	m.limit = m.len + 51;
	size_t len = m.len;
	uint16_t ncptr = m.ncptr;
	assert_false(msg_put_rrset(&m, SEC_AN, owner, DNS_C_IN, z, s, s->ttl));
	assert_int_equal(m.len, len);
	assert_int_equal(m.count[SEC_AN], 0);
	assert_int_equal(m.ncptr, ncptr);
	m.limit = m.len + 52;
	assert_true(msg_put_rrset(&m, SEC_AN, owner, DNS_C_IN, z, s, 42));
	assert_int_equal(m.len, m.limit);
	assert_int_equal(m.count[SEC_AN], 3);
	/* The TTL passed in is the one written (negative answers use it). */
	assert_int_equal(get_u32(buf + len + 6 + 4), 42);
	srvd_zone_unref(z);
}

static void mark_and_rollback(void **state)
{
	zone_t *z = rrset_zone();
	msg_t m;
	start(&m, 512);
	msg_mark_t mark;
	msg_mark(&m, &mark);
	const zone_rrset_t *s = rrset(z, "big.example.com", DNS_T_A);
	uint8_t owner[255];
	th_name("big.example.com", owner);
	assert_true(msg_put_rrset(&m, SEC_AR, owner, DNS_C_IN, z, s, s->ttl));
	assert_int_equal(m.count[SEC_AR], 3);
	msg_rollback(&m, &mark);
	assert_int_equal(m.len, mark.len);
	assert_int_equal(m.count[SEC_AR], 0);
	assert_int_equal(m.ncptr, mark.ncptr);
	/* Written again after the rollback, the owner is spelled out where it
	 * now stands, not a pointer into the bytes rolled back. */
	size_t at = m.len;
	assert_true(msg_put_rrset(&m, SEC_AR, owner, DNS_C_IN, z, s, s->ttl));
	assert_memory_equal(buf + at, "\3big", 4);
	expect_name_at(&m, at, "big.example.com");
	srvd_zone_unref(z);
}

/* The A and AAAA RRsets of one node share the owner pointer: the second
 * RRset's owner is a pointer to the first's, with no name compared. */
static void same_owner_is_one_pointer(void **state)
{
	zone_t *z = rrset_zone();
	msg_t m;
	start(&m, 512);
	uint8_t owner[255];
	th_name("big.example.com", owner);
	size_t at = m.len;
	assert_true(msg_put_rrset(&m, SEC_AR, owner, DNS_C_IN, z,
	                          rrset(z, "big.example.com", DNS_T_A), 60));
	size_t at2 = m.len;
	assert_true(msg_put_rrset(&m, SEC_AR, owner, DNS_C_IN, z,
	                          rrset(z, "big.example.com", DNS_T_A), 60));
	assert_int_equal(get_u16(buf + at2), 0xC000 | at);
	expect_name_at(&m, at2, "big.example.com");
	srvd_zone_unref(z);
}

static void rdata_names_rfc1035_types_only(void **state)
{
	zone_t *z = rrset_zone();
	uint8_t owner[255];
	msg_t m;
	start(&m, 512);
	/* MX: the exchange is compressed (RFC 1035 type). */
	th_name("example.com", owner);
	size_t at = m.len;
	assert_true(
	    msg_put_rrset(&m, SEC_AN, owner, DNS_C_IN, z, rrset(z, "example.com", DNS_T_MX), 60));
	/* owner pointer 2 + 10 + preference 2 + pointer to www.example.com 2 */
	assert_int_equal(m.len - at, 16);
	assert_int_equal(get_u16(buf + at + 10), 4); /* RDLENGTH of the compressed form */
	expect_name_at(&m, at + 14, "www.example.com");

	/* SRV: the target is never compressed (RFC 2782, RFC 3597 4). */
	uint8_t owner2[255];
	th_name("_x._tcp.example.com", owner2);
	at = m.len;
	assert_true(msg_put_rrset(&m, SEC_AN, owner2, DNS_C_IN, z,
	                          rrset(z, "_x._tcp.example.com", DNS_T_SRV), 60));
	size_t owner_len = 3 + 5 + 2; /* "_x" "_tcp" + pointer */
	assert_int_equal(get_u16(buf + at + owner_len + 8), 6 + 17);
	assert_memory_equal(buf + at + owner_len + 10 + 6, "\3www\7example\3com", 17);
	srvd_zone_unref(z);
}

/* The SRV target is written literally (RFC 2782), but the target's A
 * owner after it is a pointer into it: the SRV answer srvd sends is then
 * as small as Knot's. */
static void srv_target_is_a_pointer_target(void **state)
{
	zone_t *z = rrset_zone();
	msg_t m;
	memset(buf, 0, sizeof(buf));
	msg_init(&m, buf, 512);
	uint8_t q[260];
	size_t n = th_name("_x._tcp.example.com", q);
	put_u16(q + n, DNS_T_SRV);
	put_u16(q + n + 2, DNS_C_IN);
	assert_true(msg_put_question(&m, q, n + 4, NULL));
	size_t at = m.len;
	assert_true(msg_put_rrset(&m, SEC_AN, q, DNS_C_IN, z,
	                          rrset(z, "_x._tcp.example.com", DNS_T_SRV), 60));
	size_t target = at + 2 + 10 + 6; /* owner pointer, header, prio/weight/port */
	assert_memory_equal(buf + target, "\3www\7example\3com", 17); /* literal */
	size_t at2 = m.len;
	put(&m, "www.example.com");
	assert_int_equal(m.len - at2, 2);
	assert_int_equal(get_u16(buf + at2), 0xC000 | target);
	expect_name_at(&m, at2, "www.example.com");
	srvd_zone_unref(z);
}

static void put_rr_literal(void **state)
{
	msg_t m;
	start(&m, 512);
	uint8_t owner[255], target[255];
	th_name("alias.example.com", owner);
	size_t tn = th_name("www.example.com", target);
	size_t at = m.len;
	/* A synthesized CNAME: its target compresses to a pointer. */
	assert_true(
	    msg_put_rr(&m, SEC_AN, owner, DNS_T_CNAME, DNS_C_IN, 300, target, (uint16_t)tn));
	assert_int_equal(m.count[SEC_AN], 1);
	/* owner: "\5alias" + pointer = 8 bytes, then type, class, TTL, RDLENGTH */
	assert_int_equal(get_u16(buf + at + 8), DNS_T_CNAME);
	assert_int_equal(get_u32(buf + at + 12), 300);
	assert_int_equal(get_u16(buf + at + 16), 2);
	expect_name_at(&m, at + 18, "www.example.com");
	/* Too big: nothing written, nothing counted. */
	m.limit = m.len + 10;
	size_t len = m.len;
	assert_false(
	    msg_put_rr(&m, SEC_AN, owner, DNS_T_CNAME, DNS_C_IN, 300, target, (uint16_t)tn));
	assert_int_equal(m.len, len);
	assert_int_equal(m.count[SEC_AN], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(suffix_of_question_is_a_pointer),
	    cmocka_unit_test(new_label_then_pointer),
	    cmocka_unit_test(compression_is_case_insensitive),
	    cmocka_unit_test(unrelated_name_is_literal),
	    cmocka_unit_test(overflow_rolls_back),
	    cmocka_unit_test(exact_fit_succeeds),
	    cmocka_unit_test(no_pointer_beyond_0x3fff),
	    cmocka_unit_test(rrset_all_or_nothing),
	    cmocka_unit_test(mark_and_rollback),
	    cmocka_unit_test(same_owner_is_one_pointer),
	    cmocka_unit_test(rdata_names_rfc1035_types_only),
	    cmocka_unit_test(srv_target_is_a_pointer_target),
	    cmocka_unit_test(put_rr_literal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
