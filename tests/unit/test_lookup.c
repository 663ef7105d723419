/* Unit tests for zone_lookup() and the zone set, over zones built with the
 * builder directly. One lookup must give the exact match or the closest
 * encloser (RFC 4592 3.3.1), the wildcard candidate only when there is no
 * exact match and nothing stops the name (RFC 4592 3.3.2), and the cut or
 * DNAME above the name (RFC 1034 4.3.2 step 3b, RFC 6672 3).
 */
#include "test_helpers.h"

static zone_t *g_z;

/* example.com with every kind of node the lookup distinguishes. */
static int setup(void **state)
{
	zone_builder_t *b = th_builder("example.com", NULL);
	th_soa(b, "example.com", 3600, 1, 300);
	th_name_rr(b, "example.com", DNS_T_NS, 3600, "ns1.example.com");
	th_a(b, "ns1.example.com", 3600, "192.0.2.53");
	th_a(b, "WWW.Example.com", 3600, "192.0.2.80"); /* case as written is kept */
	th_a(b, "c.b.ent.example.com", 3600, "192.0.2.30");
	th_txt(b, "*.example.com", 3600, "apex wildcard");
	th_a(b, "*.w.example.com", 3600, "192.0.2.99");
	th_name_rr(b, "sub.example.com", DNS_T_NS, 3600, "ns.sub.example.com");
	th_a(b, "ns.sub.example.com", 3600, "192.0.2.129");
	th_a(b, "deep.below.sub.example.com", 3600, "192.0.2.130");
	th_name_rr(b, "dn.example.com", DNS_T_DNAME, 3600, "target.example.com");
	th_a(b, "dn.example.com", 3600, "192.0.2.40");
	th_a(b, "x.dn.example.com", 3600, "192.0.2.41");
	th_txt(b, "*.deep.sub.example.com", 3600, "wildcard under a cut");
	assert_int_equal(zone_builder_finish(b, &g_z), 0);
	return 0;
}

static int teardown(void **state)
{
	srvd_zone_unref(g_z);
	return 0;
}

static void expect(const char *qname, const char *node, bool exact, const char *stop,
                   const char *wild)
{
	zone_lookup_t lk;
	th_lookup(g_z, qname, &lk);
	char a[1010], b[1010], c[1010];
	const char *got_node = th_node_str(g_z, lk.node, a);
	const char *got_stop = th_node_str(g_z, lk.stop, b);
	const char *got_wild = th_node_str(g_z, lk.wild, c);
	if (strcmp(got_node, node) != 0 || lk.exact != exact || strcmp(got_stop, stop) != 0 ||
	    strcmp(got_wild, wild) != 0)
		fail_msg("%s: got node %s exact %d stop %s wild %s; want %s %d %s %s", qname,
		         got_node, lk.exact, got_stop, got_wild, node, exact, stop, wild);
}

static void exact_match(void **state)
{
	expect("www.example.com", "WWW.Example.com.", true, "(none)", "(none)");
	expect("example.com", "example.com.", true, "(none)", "(none)"); /* apex NS: no cut */
	expect("c.b.ent.example.com", "c.b.ent.example.com.", true, "(none)", "(none)");
	/* The wildcard owner itself is matched literally. */
	expect("*.example.com", "*.example.com.", true, "(none)", "(none)");
}

static void closest_encloser(void **state)
{
	/* Below an existing name with no wildcard child: no candidate, and the
	 * apex wildcard does not apply (its parent is not the closest encloser). */
	expect("a.b.www.example.com", "WWW.Example.com.", false, "(none)", "(none)");
	expect("x.c.b.ent.example.com", "c.b.ent.example.com.", false, "(none)", "(none)");
}

static void empty_non_terminal(void **state)
{
	/* ENTs are nodes (RFC 8020): exact, with no RRsets. */
	expect("ent.example.com", "ent.example.com.", true, "(none)", "(none)");
	expect("b.ent.example.com", "b.ent.example.com.", true, "(none)", "(none)");
	uint32_t n = th_find(g_z, "b.ent.example.com");
	assert_int_not_equal(n, ZONE_NONE);
	assert_int_equal(g_z->nodes[n].n_rrset, 0);
	/* An ENT is a closest encloser, and blocks the apex wildcard (RFC 4592 2.2.2). */
	expect("x.ent.example.com", "ent.example.com.", false, "(none)", "(none)");
	/* "w" exists only because of "*.w": an ENT with a wildcard child. */
	expect("w.example.com", "w.example.com.", true, "(none)", "(none)");
}

static void wildcard_candidate(void **state)
{
	expect("nothere.example.com", "example.com.", false, "(none)", "*.example.com.");
	expect("a.b.nothere.example.com", "example.com.", false, "(none)", "*.example.com.");
	expect("q.w.example.com", "w.example.com.", false, "(none)", "*.w.example.com.");
	expect("p.q.w.example.com", "w.example.com.", false, "(none)", "*.w.example.com.");
}

static void delegation_stops(void **state)
{
	/* The cut's owner, names below it, and glue: all stopped by the cut. */
	expect("sub.example.com", "sub.example.com.", true, "sub.example.com.", "(none)");
	expect("www.sub.example.com", "sub.example.com.", false, "sub.example.com.", "(none)");
	expect("ns.sub.example.com", "ns.sub.example.com.", true, "sub.example.com.", "(none)");
	expect("deep.below.sub.example.com", "deep.below.sub.example.com.", true,
	       "sub.example.com.", "(none)");
	/* A wildcard below a cut is occluded: no candidate, the cut wins. */
	expect("x.deep.sub.example.com", "deep.sub.example.com.", false, "sub.example.com.",
	       "(none)");
	uint32_t glue = th_find(g_z, "ns.sub.example.com");
	assert_true(g_z->nodes[glue].flags & NODE_OCCLUDED);
	uint32_t cut = th_find(g_z, "sub.example.com");
	assert_true(g_z->nodes[cut].flags & NODE_DELEG);
	assert_false(g_z->nodes[cut].flags & NODE_OCCLUDED);
}

static void dname_stops_below_owner(void **state)
{
	/* RFC 6672 2.3: the DNAME owner itself is answered normally... */
	expect("dn.example.com", "dn.example.com.", true, "(none)", "(none)");
	/* ...names below it are redirected, existing or not. */
	expect("x.dn.example.com", "x.dn.example.com.", true, "dn.example.com.", "(none)");
	expect("y.z.dn.example.com", "dn.example.com.", false, "dn.example.com.", "(none)");
	uint32_t d = th_find(g_z, "dn.example.com");
	assert_true(g_z->nodes[d].flags & NODE_DNAME);
}

static void find_and_rrsets(void **state)
{
	assert_int_equal(th_find(g_z, "nothere.example.com"), ZONE_NONE);
	assert_int_equal(th_find(g_z, "com"), ZONE_NONE);
	uint32_t n = th_find(g_z, "www.example.com");
	assert_int_not_equal(n, ZONE_NONE);
	const zone_node_t *node = &g_z->nodes[n];
	assert_non_null(zone_node_rrset(g_z, node, DNS_T_A));
	assert_null(zone_node_rrset(g_z, node, DNS_T_AAAA));
	assert_true(node->flags & NODE_ADDR);
	/* Original case of the owner is kept for the answer. */
	assert_memory_equal(zone_node_name(g_z, node), "\3WWW\7Example\3com", 17);
	/* Parents come before children. */
	for (uint32_t i = 1; i < g_z->n_nodes; i++)
		assert_true(g_z->nodes[i].parent < i);
	assert_int_equal(g_z->nodes[0].parent, ZONE_NONE);
}

static zone_t *tiny_zone(const char *origin)
{
	char ns[300];
	snprintf(ns, sizeof(ns), "ns.%s", origin);
	zone_builder_t *b = th_builder(origin, NULL);
	th_soa(b, origin, 3600, 1, 300);
	th_name_rr(b, origin, DNS_T_NS, 3600, ns);
	th_a(b, ns, 3600, "192.0.2.1");
	zone_t *z = NULL;
	assert_int_equal(zone_builder_finish(b, &z), 0);
	return z;
}

static const char *set_find(const srvd_zoneset_t *zs, const char *name, char buf[1010])
{
	uint8_t w[255], l[255];
	size_t n = th_name(name, w);
	wire_name_lower(l, w, n);
	const zone_t *z = zone_set_find(zs, l, n);
	if (!z)
		return "(none)";
	wire_name_to_str(z->origin, buf, 1010);
	return buf;
}

static void zone_set_longest_match(void **state)
{
	zone_t *zones[3] = {tiny_zone("example.com"), tiny_zone("sub.example.com"),
	                    tiny_zone("other.test")};
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(zones, 3, &zs), 0);
	for (int i = 0; i < 3; i++)
		srvd_zone_unref(zones[i]); /* the set holds its own references */
	char b[1010];
	assert_int_equal(srvd_zoneset_count(zs), 3);
	assert_string_equal(set_find(zs, "a.b.sub.example.com", b), "sub.example.com.");
	assert_string_equal(set_find(zs, "sub.example.com", b), "sub.example.com.");
	assert_string_equal(set_find(zs, "xsub.example.com", b), "example.com.");
	assert_string_equal(set_find(zs, "example.com", b), "example.com.");
	assert_string_equal(set_find(zs, "com", b), "(none)");
	assert_string_equal(set_find(zs, "example.org", b), "(none)");
	assert_string_equal(set_find(zs, "OTHER.Test", b), "other.test.");
	/* Sorted canonically: example.com, sub.example.com, other.test. */
	char o[1010];
	wire_name_to_str(srvd_zoneset_at(zs, 0)->origin, o, sizeof(o));
	assert_string_equal(o, "example.com.");
	assert_null(srvd_zoneset_at(zs, 3));
	/* The parent of a zone (DS is answered there). */
	const zone_t *sub = srvd_zoneset_at(zs, 1);
	const zone_t *parent = zone_set_parent(zs, sub);
	assert_non_null(parent);
	wire_name_to_str(parent->origin, o, sizeof(o));
	assert_string_equal(o, "example.com.");
	assert_null(zone_set_parent(zs, parent));
	srvd_zoneset_unref(zs);
}

static void zone_set_rejects_duplicate_origins(void **state)
{
	zone_t *zones[2] = {tiny_zone("example.com"), tiny_zone("Example.COM")};
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(zones, 2, &zs), SRVD_EEXIST);
	assert_null(zs);
	srvd_zone_unref(zones[0]);
	srvd_zone_unref(zones[1]);
}

/* A suffix's hash inside a longer name must equal the hash of the same
 * name on its own, wherever either sits in memory: lookups of closest
 * enclosers and zones rely on it. Label lengths 1-20 cover every tail
 * size and both ways the hash reads a label's tail. */
static void suffix_hash_is_position_free(void **state)
{
	(void)state;
	uint8_t name[255], alone[255 + 16];
	for (unsigned a = 1; a <= 20; a++)
		for (unsigned b = 1; b <= 20; b++) {
			char text[80];
			snprintf(text, sizeof(text), "%.*s.%.*s.c", (int)a, "aaaaaaaaaaaaaaaaaaaa",
			         (int)b, "bbbbbbbbbbbbbbbbbbbb");
			size_t len = th_name(text, name);
			zone_key_t k;
			zone_key_init(&k, name, len);
			for (unsigned i = 0; i <= k.labels; i++) {
				size_t sl = len - k.off[i];
				for (unsigned shift = 0; shift < 16; shift += 5) {
					memcpy(alone + shift, name + k.off[i], sl);
					assert_int_equal(zone_hash(alone + shift, sl), k.hash[i]);
				}
			}
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(exact_match),        cmocka_unit_test(closest_encloser),
	    cmocka_unit_test(empty_non_terminal), cmocka_unit_test(wildcard_candidate),
	    cmocka_unit_test(delegation_stops),   cmocka_unit_test(dname_stops_below_owner),
	    cmocka_unit_test(find_and_rrsets),    cmocka_unit_test(suffix_hash_is_position_free),
	};
	const struct CMUnitTest set_tests[] = {
	    cmocka_unit_test(zone_set_longest_match),
	    cmocka_unit_test(zone_set_rejects_duplicate_origins),
	};
	int failed = cmocka_run_group_tests_name("lookup", tests, setup, teardown);
	failed += cmocka_run_group_tests_name("zoneset", set_tests, NULL, NULL);
	return failed;
}
