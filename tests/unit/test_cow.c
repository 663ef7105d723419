/* Unit tests for src/zone/cow.c: a copy-on-write version must be the
 * version the builder makes from the same records, as far as anyone can
 * tell. What matters:
 *   - after every step of a long chain of changes (names added and removed,
 *     new empty non-terminals and their pruning, wildcards, RRsets grown,
 *     shrunk and given another TTL, SRV/MX/NS links, the apex NS and SOA),
 *     the chain's version holds the same records as the builder's (diff)
 *     and srvd_respond gives byte-identical answers for every name in the
 *     zone, names below them, and names that do not exist;
 *   - the kinds of change it does not take (a new cut, a DNAME, a name that
 *     gains or loses its addresses, anything below a cut, a signed zone)
 *     are SRVD_ENOTSUP, and those that break the zone (CNAME and other
 *     data, the apex without NS) SRVD_EZONE, with nothing made;
 *   - a version costs the pages it changed, not the zone, and the parent
 *     is untouched (it still answers as before).
 * The chain is long enough to make new images (pages and arrays fill up)
 * and the asan-ubsan build checks every mapping and reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_xfr_util.h"

enum { BASE_HOSTS = 1500, STEPS = 400, MAX_RRS = 4096 };

typedef struct mrr {
	char owner[96];
	char type[8];
	char rdata[272];
	unsigned ttl;
} mrr_t;

typedef struct model {
	mrr_t rr[MAX_RRS];
	size_t n;
	uint32_t serial;
} model_t;

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void add(model_t *m, const char *owner, const char *type, unsigned ttl, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(model_t *m, const char *owner, const char *type, unsigned ttl, const char *fmt, ...)
{
	assert_true(m->n < MAX_RRS);
	mrr_t *r = &m->rr[m->n++];
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	snprintf(r->type, sizeof(r->type), "%s", type);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->rdata, sizeof(r->rdata), fmt, ap);
	va_end(ap);
	r->ttl = ttl;
}

/* Remove the records of owner (and type, unless NULL); how many went. */
static size_t del(model_t *m, const char *owner, const char *type)
{
	size_t w = 0, gone = 0;
	for (size_t i = 0; i < m->n; i++) {
		bool match = strcmp(m->rr[i].owner, owner) == 0 &&
		             (!type || strcmp(m->rr[i].type, type) == 0);
		if (match)
			gone++;
		else
			m->rr[w++] = m->rr[i];
	}
	m->n = w;
	return gone;
}

static bool has(const model_t *m, const char *owner, const char *type)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->rr[i].owner, owner) == 0 &&
		    (!type || strcmp(m->rr[i].type, type) == 0))
			return true;
	return false;
}

static zone_t *build(const model_t *m)
{
	size_t cap = 128 + m->n * 400;
	char *text = malloc(cap);
	size_t o = (size_t)snprintf(text, cap,
	                            "$ORIGIN cow.test.\n@ 3600 IN SOA ns1 hostmaster %u 7200 3600 "
	                            "1209600 300\n",
	                            m->serial);
	for (size_t i = 0; i < m->n; i++)
		o += (size_t)snprintf(text + o, cap - o, "%s %u IN %s %s\n", m->rr[i].owner,
		                      m->rr[i].ttl, m->rr[i].type, m->rr[i].rdata);
	zone_t *z = tx_zone("cow.test", text);
	free(text);
	return z;
}

static void base(model_t *m)
{
	m->n = 0;
	m->serial = 1;
	add(m, "@", "NS", 3600, "ns1");
	add(m, "@", "NS", 3600, "ns2.other.test.");
	add(m, "@", "A", 3600, "192.0.2.1");
	add(m, "@", "MX", 3600, "10 mail");
	add(m, "ns1", "A", 3600, "192.0.2.53");
	add(m, "mail", "A", 3600, "192.0.2.25");
	add(m, "matrix", "A", 3600, "192.0.2.10");
	add(m, "matrix", "AAAA", 3600, "2001:db8::10");
	add(m, "_matrix-fed._tcp", "SRV", 3600, "10 0 8448 matrix");
	add(m, "*.wild", "TXT", 300, "\"w\"");
	add(m, "leaf.b.ent", "TXT", 300, "\"deep\"");
	add(m, "sub", "NS", 3600, "ns.sub");
	add(m, "ns.sub", "A", 3600, "192.0.2.99");
	add(m, "alias", "CNAME", 3600, "matrix");
	for (unsigned i = 0; i < BASE_HOSTS; i++)
		add(m, "", "A", 300, "198.51.%u.%u", i / 250, i % 250 + 1),
		    snprintf(m->rr[m->n - 1].owner, sizeof(m->rr[0].owner), "h%u", i);
}

/* ---- comparing two versions ---------------------------------------------------- */

static size_t make_query(const char *name, uint16_t qtype, uint8_t *buf)
{
	memset(buf, 0, 12);
	buf[0] = 0x12;
	buf[1] = 0x34;
	buf[5] = 1; /* QDCOUNT */
	uint8_t w[255];
	size_t len;
	assert_int_equal(wire_name_from_str(name, w, &len), 0);
	memcpy(buf + 12, w, len);
	put_u16(buf + 12 + len, qtype);
	put_u16(buf + 14 + len, DNS_C_IN);
	return 16 + len;
}

static void answers_equal(srvd_responder_t *r, srvd_zoneset_t *a, srvd_zoneset_t *b,
                          const char *name, uint16_t qtype)
{
	uint8_t q[300], ra[4096], rb[4096];
	size_t ql = make_query(name, qtype, q), la = 0, lb = 0;
	srvd_query_t sq = {.wire = q, .len = ql, .transport = SRVD_UDP};
	int rca = srvd_respond(r, a, &sq, ra, sizeof(ra), &la);
	int rcb = srvd_respond(r, b, &sq, rb, sizeof(rb), &lb);
	if (rca != rcb || la != lb || memcmp(ra, rb, la) != 0)
		fail_msg("%s type %u: the answers differ (rc %d/%d, %zu/%zu bytes, rcode %u/%u, "
		         "ancount %u/%u)",
		         name, qtype, rca, rcb, la, lb, la > 3 ? ra[3] & 15 : 99u,
		         lb > 3 ? rb[3] & 15 : 99u, la > 7 ? get_u16(ra + 6) : 0u,
		         lb > 7 ? get_u16(rb + 6) : 0u);
}

static void full_name(const char *owner, char *out, size_t cap)
{
	if (strcmp(owner, "@") == 0)
		snprintf(out, cap, "cow.test.");
	else
		snprintf(out, cap, "%s.cow.test.", owner);
}

static void same_zone(const model_t *m, zone_t *ref, zone_t *cow)
{
	xfr_diff_t *d = NULL;
	assert_int_equal(xfr_diff_compute(ref, cow, &d), 0);
	if (d->n_removed != 1 || d->n_added != 1)
		fail_msg("the records differ: %zu only in the builder's, %zu only in the copy's",
		         d->n_removed - 1, d->n_added - 1);
	xfr_diff_unref(d);
	assert_int_equal(ref->serial, cow->serial);
	assert_int_equal(ref->n_records, cow->n_records);
	srvd_zoneset_t *za = NULL, *zb = NULL;
	assert_int_equal(srvd_zoneset_new(&ref, 1, &za), 0);
	assert_int_equal(srvd_zoneset_new(&cow, 1, &zb), 0);
	srvd_responder_t *r = NULL;
	assert_int_equal(srvd_responder_new(NULL, &r), 0);
	static const uint16_t types[] = {DNS_T_A, DNS_T_TXT, DNS_T_MX, DNS_T_SRV, DNS_T_NS, 255};
	char name[300], below[320];
	/* every owner of records (a few hosts only: they all look alike),
	 * a name below each, and names that are not there */
	for (size_t i = 0; i < m->n; i++) {
		if (m->rr[i].owner[0] == 'h' && atoi(m->rr[i].owner + 1) % 97 != 0)
			continue;
		full_name(m->rr[i].owner, name, sizeof(name));
		snprintf(below, sizeof(below), "zz.%s", name);
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
			answers_equal(r, za, zb, name, types[t]);
			answers_equal(r, za, zb, below, types[t]);
		}
	}
	static const char *const more[] = {
	    "nosuch.cow.test.",      "b.ent.cow.test.",           "ent.cow.test.",
	    "x.wild.cow.test.",      "_acme-challenge.cow.test.", "a.b.c.newent.cow.test.",
	    "b.c.newent.cow.test.",  "c.newent.cow.test.",        "newent.cow.test.",
	    "x.y.newwild.cow.test.", "q.sub.cow.test.",           "alias.cow.test."};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			answers_equal(r, za, zb, more[i], types[t]);
	srvd_responder_free(r);
	srvd_zoneset_unref(za);
	srvd_zoneset_unref(zb);
}

/* ---- changes ------------------------------------------------------------------ */

static int cow_step(zone_t *from, const xfr_diff_t *d, zone_t **out)
{
	size_t n = d->n_removed + d->n_added;
	zone_change_t *ch = calloc(n + 1, sizeof(*ch));
	for (size_t i = 0; i < n; i++) {
		bool a = i >= d->n_removed;
		const xfr_rr_t *rr = a ? &d->added[i - d->n_removed] : &d->removed[i];
		ch[i] = (zone_change_t){rr->owner, rr->type, rr->rdlen, rr->ttl, rr->rdata, a};
	}
	int rc = zone_cow_apply(from, ch, n, 0, out);
	free(ch);
	return rc;
}

/* One random edit of the model; *expect is what cow.c must say to it. */
static void edit(model_t *m, unsigned step, int *expect)
{
	char o[96];
	*expect = 0;
	/* the kinds refused (10-12) one step in sixteen, so that chains grow
	 * long enough to fill their image */
	unsigned k = rnd(48);
	if (k >= 16)
		k = k % 16 >= 10 && k % 16 <= 12 ? 0 : k % 16;
	switch (k) {
	case 0: /* an ACME challenge at the apex or below a host */
	case 1:
		if (rnd(2))
			snprintf(o, sizeof(o), "_acme-challenge");
		else
			snprintf(o, sizeof(o), "_acme-challenge.h%u", rnd(BASE_HOSTS));
		if (has(m, o, "TXT") && rnd(2))
			del(m, o, "TXT");
		else
			add(m, o, "TXT", 60, "\"token-%u\"", step);
		break;
	case 2: /* deep new names: empty non-terminals made, and pruned */
		if (has(m, "a.b.c.newent", NULL))
			del(m, "a.b.c.newent", NULL);
		else
			add(m, "a.b.c.newent", "TXT", 60, "\"deep-%u\"", step);
		break;
	case 3: /* a wildcard comes and goes */
		if (has(m, "*.newwild", NULL))
			del(m, "*.newwild", NULL);
		else
			add(m, "*.newwild", "TXT", 60, "\"wild-%u\"", step);
		break;
	case 4: /* an address replaced: the name keeps one */
		snprintf(o, sizeof(o), "h%u", rnd(BASE_HOSTS));
		del(m, o, "A");
		add(m, o, "A", 300, "203.0.113.%u", rnd(250) + 1);
		break;
	case 5: /* an RRset grows, with another TTL (the lowest wins) */
		add(m, "txt", "TXT", 30 + rnd(600), "\"v%u\"", step);
		break;
	case 6: /* and shrinks */
		if (has(m, "txt", "TXT"))
			del(m, "txt", "TXT");
		else
			add(m, "txt", "TXT", 300, "\"fresh\"");
		break;
	case 7: /* SRV and MX with in-zone targets (links) and others */
		snprintf(o, sizeof(o), "_svc%u._tcp", rnd(4));
		del(m, o, "SRV");
		add(m, o, "SRV", 300, "10 0 %u h%u", rnd(60000), rnd(BASE_HOSTS));
		add(m, o, "SRV", 300, "20 0 1 %s", rnd(2) ? "txt" : "out.other.test.");
		break;
	case 8: /* the apex NS: a third one, or back to two */
		if (has(m, "@", "NS") && del(m, "@", "NS") > 2) {
			add(m, "@", "NS", 3600, "ns1");
			add(m, "@", "NS", 3600, "ns2.other.test.");
		} else {
			add(m, "@", "NS", 3600, "ns1");
			add(m, "@", "NS", 3600, "ns2.other.test.");
			add(m, "@", "NS", 3600, "h%u", rnd(BASE_HOSTS));
		}
		break;
	case 9: /* the empty non-terminal b.ent gets data, and loses it */
		if (has(m, "b.ent", NULL))
			del(m, "b.ent", NULL);
		else
			add(m, "b.ent", "TXT", 300, "\"ent\"");
		break;
	case 10: /* a name gains its first address: not this path */
		snprintf(o, sizeof(o), "addr%u", step);
		add(m, o, "A", 300, "192.0.2.%u", rnd(250) + 1);
		*expect = SRVD_ENOTSUP;
		break;
	case 11: /* a new zone cut: not this path */
		snprintf(o, sizeof(o), "cut%u", step);
		add(m, o, "NS", 300, "ns1.other.test.");
		*expect = SRVD_ENOTSUP;
		break;
	case 12: /* below a cut: not this path */
		snprintf(o, sizeof(o), "t%u.sub", step);
		add(m, o, "TXT", 300, "\"occluded\"");
		*expect = SRVD_ENOTSUP;
		break;
	case 13: /* several names at once, one of them removed */
		snprintf(o, sizeof(o), "multi%u", rnd(8));
		if (has(m, o, NULL))
			del(m, o, NULL);
		add(m, "multi-a", "TXT", 60, "\"%u\"", step);
		add(m, "x.multi-b", "MX", 60, "%u mail", step % 100);
		break;
	case 14: /* a name with several types loses one */
		if (has(m, "mixed", "TXT")) {
			del(m, "mixed", "TXT");
		} else {
			add(m, "mixed", "TXT", 60, "\"t\"");
			add(m, "mixed", "MX", 60, "1 matrix");
		}
		break;
	default: /* nothing but the serial */ break;
	}
	m->serial++;
}

static void chain_matches_builder(void **state)
{
	(void)state;
	model_t *m = calloc(1, sizeof(*m));
	base(m);
	zone_t *ref = build(m);
	zone_t *cow = ref;
	srvd_zone_ref(cow);
	size_t taken = 0, refused = 0;
	for (unsigned step = 0; step < STEPS; step++) {
		int expect;
		edit(m, step, &expect);
		zone_t *next_ref = build(m);
		xfr_diff_t *d = NULL;
		assert_int_equal(xfr_diff_compute(ref, next_ref, &d), 0);
		zone_t *next = NULL;
		int rc = cow_step(cow, d, &next);
		xfr_diff_unref(d);
		if (expect) {
			assert_int_equal(rc, expect);
			refused++;
			next = next_ref; /* the builder's, as xfr_diff_apply falls back */
			srvd_zone_ref(next);
		} else {
			if (rc)
				fail_msg("step %u: zone_cow_apply: %s", step, srvd_strerror(rc));
			assert_non_null(next->cow);
			taken++;
			/* a version costs its pages, not the zone */
			assert_true(zone_cow_bytes(next) < zone_cow_image_bytes(next) / 4);
		}
		if (step % 7 == 0 || expect == 0)
			same_zone(m, next_ref, next);
		srvd_zone_unref(ref);
		srvd_zone_unref(cow);
		ref = next_ref;
		cow = next;
	}
	same_zone(m, ref, cow);
	assert_true(taken > STEPS / 2);
	assert_true(refused > 10);
	srvd_zone_unref(ref);
	srvd_zone_unref(cow);
	free(m);
}

/* The parent is not touched: it answers as before its child was made. */
static void parent_untouched(void **state)
{
	(void)state;
	model_t *m = calloc(3, sizeof(*m)), *m2 = m + 1, *m3 = m + 2;
	base(m);
	zone_t *a = build(m);
	*m2 = *m;
	del(m2, "h7", "A");
	add(m2, "h7", "A", 300, "203.0.113.7");
	add(m2, "_acme-challenge", "TXT", 60, "\"t\"");
	m2->serial++;
	zone_t *b_ref = build(m2), *b = NULL;
	xfr_diff_t *d = NULL;
	assert_int_equal(xfr_diff_compute(a, b_ref, &d), 0);
	assert_int_equal(cow_step(a, d, &b), 0);
	xfr_diff_unref(d);
	zone_t *a_again = build(m), *origin = NULL;
	same_zone(m, a_again, a);
	same_zone(m2, b_ref, b);
	/* b's image as it was copied from a: a's records (zone_cow_origin) */
	assert_int_equal(zone_cow_origin(b, &origin), 0);
	assert_ptr_equal(zone_cow_image(origin), zone_cow_image(b));
	assert_int_equal(zone_cow_bytes(origin), 0);
	same_zone(m, a_again, origin);
	srvd_zone_unref(origin);
	*m3 = *m2;
	del(m3, "_acme-challenge", NULL);
	m3->serial++;
	zone_t *c_ref = build(m3), *c = NULL;
	assert_int_equal(xfr_diff_compute(b_ref, c_ref, &d), 0);
	assert_int_equal(cow_step(b, d, &c), 0);
	xfr_diff_unref(d);
	same_zone(m3, c_ref, c);
	same_zone(m2, b_ref, b); /* b, with a child now */
	zone_t *all[] = {a, b, c, a_again, b_ref, c_ref};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		srvd_zone_unref(all[i]);
	free(m);
}

/* A long chain of names added (and some removed): the pages it changed
 * and the arrays fill up, and new images are made from the chain. */
static void long_chain_makes_new_images(void **state)
{
	(void)state;
	model_t *m = calloc(1, sizeof(*m));
	base(m);
	zone_t *cow = build(m);
	size_t images = 0;
	static uint8_t rd[16][256]; /* big TXTs: the RDATA array fills up */
	for (unsigned step = 0; step < 600; step++) {
		char o[48];
		uint8_t own[2][255];
		zone_change_t ch[2];
		size_t n = 0;
		snprintf(o, sizeof(o), "n%u.grow.cow.test.", step);
		tx_name(o, own[0]);
		memset(rd[step % 16] + 1, 'a' + step % 26, 254);
		snprintf((char *)rd[step % 16] + 1, 8, "%06u", step);
		rd[step % 16][7] = '-';
		rd[step % 16][0] = 254;
		ch[n++] = (zone_change_t){own[0], DNS_T_TXT,     (uint16_t)(rd[step % 16][0] + 1),
		                          60,     rd[step % 16], true};
		snprintf(o, sizeof(o), "n%u.grow", step);
		add(m, o, "TXT", 60, "\"%.254s\"", (const char *)rd[step % 16] + 1);
		if (step % 3 == 2) { /* the one before goes again */
			snprintf(o, sizeof(o), "n%u.grow.cow.test.", step - 1);
			tx_name(o, own[1]);
			const uint8_t *prev = rd[(step - 1) % 16];
			ch[n++] = (zone_change_t){own[1], DNS_T_TXT, (uint16_t)(prev[0] + 1),
			                          60,     prev,      false};
			snprintf(o, sizeof(o), "n%u.grow", step - 1);
			del(m, o, NULL);
		}
		zone_t *next = NULL;
		assert_int_equal(zone_cow_apply(cow, ch, n, 0, &next), 0);
		if (cow->cow && zone_cow_image(next) != zone_cow_image(cow))
			images++;
		srvd_zone_unref(cow);
		cow = next;
		if (step % 150 == 149) {
			zone_t *ref = build(m);
			same_zone(m, ref, cow);
			srvd_zone_unref(ref);
		}
	}
	assert_true(images >= 2);
	srvd_zone_unref(cow);
	free(m);
}

static void refusals(void **state)
{
	(void)state;
	model_t *m = calloc(1, sizeof(*m));
	base(m);
	zone_t *z = build(m);
	uint8_t alias[255], apex[255], txt[] = {1, 'x'}, ns1[255], soa_owner[255];
	tx_name("alias.cow.test.", alias);
	tx_name("cow.test.", apex);
	tx_name("ns1.cow.test.", ns1);
	tx_name("cow.test.", soa_owner);
	zone_t *out = NULL;
	/* CNAME and other data */
	zone_change_t c1 = {alias, DNS_T_TXT, sizeof(txt), 60, txt, true};
	assert_int_equal(zone_cow_apply(z, &c1, 1, 0, &out), SRVD_EZONE);
	/* the apex without NS */
	uint8_t rd1[255], rd2[255];
	tx_name("ns1.cow.test.", rd1);
	tx_name("ns2.other.test.", rd2);
	zone_change_t c2[] = {{apex, DNS_T_NS, (uint16_t)wire_name_len(rd1), 3600, rd1, false},
	                      {apex, DNS_T_NS, (uint16_t)wire_name_len(rd2), 3600, rd2, false}};
	assert_int_equal(zone_cow_apply(z, c2, 2, 0, &out), SRVD_EZONE);
	/* malformed RDATA for a type with names; a name outside the zone */
	uint8_t bad[] = {3, 'a', 'b'};
	zone_change_t c3 = {apex, DNS_T_MX, sizeof(bad), 60, bad, true};
	assert_int_equal(zone_cow_apply(z, &c3, 1, 0, &out), SRVD_EZONE);
	uint8_t outside[255];
	tx_name("x.other.test.", outside);
	zone_change_t c4 = {outside, DNS_T_TXT, sizeof(txt), 60, txt, true};
	assert_int_equal(zone_cow_apply(z, &c4, 1, 0, &out), SRVD_EZONE);
	/* DNSSEC types, and a small zone under the threshold */
	zone_change_t c5 = {apex, DNS_T_NSEC, sizeof(txt), 60, txt, true};
	assert_int_equal(zone_cow_apply(z, &c5, 1, 0, &out), SRVD_ENOTSUP);
	zone_change_t c6 = {ns1, DNS_T_TXT, sizeof(txt), 60, txt, true};
	assert_int_equal(zone_cow_apply(z, &c6, 1, 1u << 30, &out), SRVD_ENOTSUP);
	assert_int_equal(zone_cow_apply(z, &c6, 1, 0, &out), 0);
	assert_null(out->files);
	srvd_zone_unref(out);
	srvd_zone_unref(z);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(chain_matches_builder),
	    cmocka_unit_test(parent_untouched),
	    cmocka_unit_test(long_chain_makes_new_images),
	    cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests_name("cow", tests, NULL, NULL);
}
