/* Unit tests: diffs between versions, the CBOR journal (append, bound,
 * reload, damage of every kind), and the IXFR-out cursor, whose streams
 * go back through our own transfer-in to rebuild the newest version. */
#include "test_xfr_util.h"

#include <cbor.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "respond/resp.h"

#define ZONE_HEAD                                                                                  \
	"$ORIGIN example.com.\n"                                                                   \
	"$TTL 3600\n"

#define ZONE_BODY                                                                                  \
	"@ NS ns1\n"                                                                               \
	"@ NS ns2.example.net.\n"                                                                  \
	"@ MX 10 mail\n"                                                                           \
	"ns1 A 192.0.2.1\n"                                                                        \
	"mail A 192.0.2.2\n"                                                                       \
	"www AAAA 2001:db8::10\n"                                                                  \
	"_matrix-fed._tcp SRV 10 0 8448 matrix\n"                                                  \
	"matrix A 192.0.2.20\n"                                                                    \
	"sub NS ns.sub\n"                                                                          \
	"ns.sub A 192.0.2.53\n"

static const char *V1 =
    ZONE_HEAD "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n" ZONE_BODY "www A 192.0.2.10\n"
              "txt TXT \"hello\"\n"
              "old A 192.0.2.99\n";
static const char *V2 =
    ZONE_HEAD "@ IN SOA ns1 hostmaster 2 7200 3600 1209600 300\n" ZONE_BODY "www A 192.0.2.11\n"
              "txt TXT \"hello\"\n"
              "new A 192.0.2.100\n";
static const char *V3 =
    ZONE_HEAD "@ IN SOA ns1 hostmaster 3 7200 3600 1209600 300\n" ZONE_BODY "www A 192.0.2.11\n"
              "txt 600 TXT \"hello\"\n"
              "new A 192.0.2.100\n"
              "matrix AAAA 2001:db8::20\n";

static uint8_t ORIGIN[255];
static zone_t *v1, *v2, *v3;
static char dir[64];
static char path[128];
static tx_stream_t S;

static int setup(void **state)
{
	(void)state;
	tx_name("example.com.", ORIGIN);
	v1 = tx_zone("example.com", V1);
	v2 = tx_zone("example.com", V2);
	v3 = tx_zone("example.com", V3);
	snprintf(dir, sizeof(dir), "/tmp/srvd-journal-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/example.com.journal", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	srvd_zone_unref(v1);
	srvd_zone_unref(v2);
	srvd_zone_unref(v3);
	unlink(path);
	rmdir(dir);
	return 0;
}

static int cleanup_each(void **state)
{
	(void)state;
	unlink(path);
	tx_stream_free(&S);
	return 0;
}

static xfr_diff_t *diff(const zone_t *a, const zone_t *b)
{
	xfr_diff_t *d = NULL;
	assert_int_equal(xfr_diff_compute(a, b, &d), 0);
	return d;
}

static bool has(const xfr_rr_t *rrs, size_t n, const char *owner, uint16_t type, uint32_t ttl)
{
	uint8_t name[255];
	tx_name(owner, name);
	for (size_t i = 0; i < n; i++)
		if (rrs[i].type == type && rrs[i].ttl == ttl && wire_name_eq(rrs[i].owner, name))
			return true;
	return false;
}

static void assert_same_diff(const xfr_diff_t *a, const xfr_diff_t *b)
{
	assert_int_equal(a->from, b->from);
	assert_int_equal(a->to, b->to);
	assert_int_equal(a->n_removed, b->n_removed);
	assert_int_equal(a->n_added, b->n_added);
	for (size_t i = 0; i < a->n_removed + a->n_added; i++) {
		const xfr_rr_t *x = &a->removed[i], *y = &b->removed[i];
		assert_true(wire_name_eq(x->owner, y->owner));
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->ttl, y->ttl);
		assert_int_equal(x->rdlen, y->rdlen);
		assert_memory_equal(x->rdata, y->rdata, x->rdlen);
	}
}

/* ---- diffs ----------------------------------------------------------- */

static void test_diff(void **state)
{
	(void)state;
	xfr_diff_t *d = diff(v1, v2);
	assert_int_equal(d->from, 1);
	assert_int_equal(d->to, 2);
	assert_int_equal(d->n_removed, 3); /* SOA 1, old, www .10 */
	assert_int_equal(d->n_added, 3);   /* SOA 2, new, www .11 */
	assert_int_equal(d->removed[0].type, DNS_T_SOA);
	assert_int_equal(d->added[0].type, DNS_T_SOA);
	assert_true(has(d->removed, d->n_removed, "old.example.com.", DNS_T_A, 3600));
	assert_true(has(d->added, d->n_added, "new.example.com.", DNS_T_A, 3600));
	xfr_diff_unref(d);

	d = diff(v2, v3); /* a TTL change is a removal and an addition */
	assert_int_equal(d->n_removed, 2);
	assert_int_equal(d->n_added, 3);
	assert_true(has(d->removed, d->n_removed, "txt.example.com.", DNS_T_TXT, 3600));
	assert_true(has(d->added, d->n_added, "txt.example.com.", DNS_T_TXT, 600));
	assert_true(has(d->added, d->n_added, "matrix.example.com.", DNS_T_AAAA, 3600));
	xfr_diff_unref(d);

	d = diff(v3, v3);
	assert_int_equal(d->n_removed, 1);
	assert_int_equal(d->n_added, 1);
	xfr_diff_unref(d);

	zone_t *other = tx_zone("example.net", "$ORIGIN example.net.\n@ 60 SOA ns h 1 2 3 4 5\n"
	                                       "@ 60 NS ns\nns 60 A 192.0.2.1\n");
	assert_int_equal(xfr_diff_compute(v1, other, &d), SRVD_EINVAL);
	srvd_zone_unref(other);
}

/* ---- journal ------------------------------------------------------------- */

static xfr_journal_t *journal_123(void);

static xfr_journal_t *open_j(size_t max, char *why, size_t cap)
{
	xfr_journal_t *j = NULL;
	assert_int_equal(xfr_journal_open(path, ORIGIN, max, why, cap, &j), 0);
	return j;
}

static void test_journal_append_reload(void **state)
{
	(void)state;
	char why[256];
	xfr_journal_t *j = open_j(1 << 20, why, sizeof(why));
	assert_string_equal(why, ""); /* no file yet: nothing to say */
	assert_int_equal(xfr_journal_count(j), 0);
	xfr_diff_t *d12 = diff(v1, v2), *d23 = diff(v2, v3);
	assert_int_equal(xfr_journal_append(j, d12), 0);
	assert_int_equal(xfr_journal_append(j, d23), 0);
	uint32_t first, last;
	assert_true(xfr_journal_range(j, &first, &last));
	assert_int_equal(first, 1);
	assert_int_equal(last, 3);
	size_t bytes = xfr_journal_bytes(j);
	xfr_journal_free(j);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true((size_t)st.st_size > bytes); /* the diffs and the header */

	j = open_j(1 << 20, why, sizeof(why));
	assert_string_equal(why, "");
	assert_int_equal(xfr_journal_count(j), 2);
	assert_int_equal(xfr_journal_bytes(j), bytes);
	xfr_chain_t *c = NULL;
	assert_int_equal(xfr_journal_chain(j, 1, 3, &c), 0);
	assert_int_equal(c->n, 2);
	assert_same_diff(c->diffs[0], d12);
	assert_same_diff(c->diffs[1], d23);
	assert_int_equal(c->records, d12->n_removed + d12->n_added + d23->n_removed + d23->n_added);
	xfr_chain_free(c);
	assert_int_equal(xfr_journal_chain(j, 2, 3, &c), 0);
	assert_int_equal(c->n, 1);
	xfr_chain_free(c);
	assert_int_equal(xfr_journal_chain(j, 1, 2, &c), 0);
	assert_int_equal(c->n, 1);
	xfr_chain_free(c);
	assert_int_equal(xfr_journal_chain(j, 0, 3, &c), SRVD_ENOENT);
	assert_int_equal(xfr_journal_chain(j, 3, 3, &c), SRVD_ENOENT);
	assert_int_equal(xfr_journal_chain(j, 1, 4, &c), SRVD_ENOENT);

	/* a diff that does not go forward: refused */
	xfr_diff_t *back = diff(v3, v2);
	assert_int_equal(xfr_journal_append(j, back), SRVD_EINVAL);
	xfr_diff_unref(back);

	/* a diff that does not follow starts a new chain */
	zone_t *v9 = tx_zone("example.com", ZONE_HEAD
	                     "@ IN SOA ns1 hostmaster 9 7200 3600 1209600 300\n" ZONE_BODY);
	zone_t *v10 = tx_zone("example.com", ZONE_HEAD
	                      "@ IN SOA ns1 hostmaster 10 7200 3600 1209600 300\n" ZONE_BODY
	                      "extra A 192.0.2.77\n");
	xfr_diff_t *d910 = diff(v9, v10);
	assert_int_equal(xfr_journal_append(j, d910), 0);
	assert_int_equal(xfr_journal_count(j), 1);
	xfr_journal_free(j);
	j = open_j(1 << 20, why, sizeof(why));
	assert_string_equal(why, "");
	assert_int_equal(xfr_journal_count(j), 1);
	assert_true(xfr_journal_range(j, &first, &last));
	assert_int_equal(first, 9);
	assert_int_equal(last, 10);
	xfr_journal_free(j);
	xfr_diff_unref(d910);
	srvd_zone_unref(v9);
	srvd_zone_unref(v10);
	xfr_diff_unref(d12);
	xfr_diff_unref(d23);
}

/* A chain outlives the journal that handed it out. */
static void test_chain_survives(void **state)
{
	(void)state;
	xfr_journal_t *j = open_j(1 << 20, NULL, 0);
	xfr_diff_t *d12 = diff(v1, v2);
	assert_int_equal(xfr_journal_append(j, d12), 0);
	xfr_diff_unref(d12);
	xfr_chain_t *c = NULL;
	assert_int_equal(xfr_journal_chain(j, 1, 2, &c), 0);
	xfr_journal_free(j);
	assert_int_equal(c->diffs[0]->to, 2);
	assert_int_equal(c->diffs[0]->added[0].type, DNS_T_SOA);
	xfr_chain_free(c);
}

/* Clear: the history goes, in memory and on disk, and a chain handed out
 * before stays usable; appending afterwards starts from the new version. */
static void test_journal_clear(void **state)
{
	(void)state;
	xfr_journal_t *j = journal_123();
	xfr_chain_t *c = NULL;
	assert_int_equal(xfr_journal_chain(j, 1, 3, &c), 0);
	assert_int_equal(xfr_journal_clear(j), 0);
	assert_int_equal(xfr_journal_count(j), 0);
	assert_int_equal(xfr_journal_bytes(j), 0);
	assert_int_equal(c->n, 2); /* held by the chain, not the journal */
	xfr_chain_free(c);
	xfr_chain_t *none = NULL;
	assert_int_equal(xfr_journal_chain(j, 1, 3, &none), SRVD_ENOENT);
	xfr_journal_free(j);

	char why[256];
	j = open_j(1 << 20, why, sizeof(why));
	assert_string_equal(why, ""); /* a valid, empty journal */
	assert_int_equal(xfr_journal_count(j), 0);
	xfr_diff_t *d23 = diff(v2, v3);
	assert_int_equal(xfr_journal_append(j, d23), 0);
	xfr_diff_unref(d23);
	assert_int_equal(xfr_journal_clear(j), 0);
	assert_int_equal(xfr_journal_clear(j), 0); /* twice: nothing to drop */
	xfr_journal_free(j);
	j = open_j(1 << 20, why, sizeof(why));
	assert_int_equal(xfr_journal_count(j), 0);
	xfr_journal_free(j);
	assert_int_equal(xfr_journal_clear(NULL), SRVD_EINVAL);
}

/* xfr_journal_reset: the journal holds that one diff afterwards, on disk
 * too (a merge of a file edit, a compaction); one too big for the bound
 * empties it and says so. */
static void test_journal_reset(void **state)
{
	(void)state;
	xfr_journal_t *j = open_j(1 << 20, NULL, 0);
	xfr_diff_t *d12 = diff(v1, v2), *d23 = diff(v2, v3), *d13 = diff(v1, v3);
	assert_int_equal(xfr_journal_append(j, d12), 0);
	assert_int_equal(xfr_journal_append(j, d23), 0);
	assert_int_equal(xfr_journal_count(j), 2);
	assert_int_equal(xfr_journal_reset(j, d13), 0);
	assert_int_equal(xfr_journal_count(j), 1);
	xfr_journal_free(j);
	j = open_j(1 << 20, NULL, 0);
	uint32_t first, last;
	assert_int_equal(xfr_journal_count(j), 1);
	assert_true(xfr_journal_range(j, &first, &last));
	assert_int_equal(first, 1);
	assert_int_equal(last, 3);
	xfr_chain_t *c = NULL;
	assert_int_equal(xfr_journal_chain(j, 1, 3, &c), 0);
	assert_same_diff(c->diffs[0], d13);
	xfr_chain_free(c);
	assert_int_equal(xfr_journal_chain(j, 2, 3, &c), SRVD_ENOENT);
	/* appends continue the new chain */
	xfr_journal_free(j);
	j = open_j(64, NULL, 0); /* smaller than any diff */
	assert_int_equal(xfr_journal_reset(j, d13), SRVD_ELIMIT);
	assert_int_equal(xfr_journal_count(j), 0);
	xfr_diff_t *back = diff(v3, v1);
	assert_int_equal(xfr_journal_reset(j, back), SRVD_EINVAL);
	xfr_diff_unref(back);
	xfr_journal_free(j);
	xfr_diff_unref(d12);
	xfr_diff_unref(d23);
	xfr_diff_unref(d13);
}

/* Diffs 1->2->...->21, each adding one record, under a tight bound. */
static void test_journal_bound(void **state)
{
	(void)state;
	xfr_diff_t *d[20];
	size_t one = 0;
	for (int i = 0; i < 20; i++) {
		char a[512], b[512];
		snprintf(a, sizeof(a),
		         ZONE_HEAD "@ SOA ns1 h %d 1 2 3 4\n" ZONE_BODY "r%d A 192.0.2.1\n", i + 1,
		         i);
		snprintf(b, sizeof(b),
		         ZONE_HEAD "@ SOA ns1 h %d 1 2 3 4\n" ZONE_BODY "r%d A 192.0.2.1\n", i + 2,
		         i + 1);
		zone_t *za = tx_zone("example.com", a), *zb = tx_zone("example.com", b);
		d[i] = diff(za, zb);
		srvd_zone_unref(za);
		srvd_zone_unref(zb);
	}
	/* size of one encoded diff: append one to a scratch journal */
	xfr_journal_t *j = open_j(1 << 20, NULL, 0);
	assert_int_equal(xfr_journal_append(j, d[0]), 0);
	one = xfr_journal_bytes(j);
	xfr_journal_free(j);
	unlink(path);

	size_t max = one * 5 + one / 2; /* room for 5 */
	j = open_j(max, NULL, 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(xfr_journal_append(j, d[i]), 0);
	assert_int_equal(xfr_journal_count(j), 5);
	assert_true(xfr_journal_bytes(j) <= max);
	uint32_t first, last;
	assert_true(xfr_journal_range(j, &first, &last));
	assert_int_equal(first, 16);
	assert_int_equal(last, 21);
	xfr_journal_free(j);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true((size_t)st.st_size <= max + 64);

	/* reopened with a smaller bound: the oldest go */
	char why[256];
	j = open_j(one * 2 + 10, why, sizeof(why));
	assert_int_equal(xfr_journal_count(j), 2);
	assert_true(xfr_journal_range(j, &first, &last));
	assert_int_equal(first, 19);
	xfr_journal_free(j);

	/* a diff larger than the whole bound is not kept */
	j = open_j(one / 2, why, sizeof(why));
	assert_int_equal(xfr_journal_append(j, d[0]), SRVD_ELIMIT);
	assert_int_equal(xfr_journal_count(j), 0);
	xfr_journal_free(j);
	for (int i = 0; i < 20; i++)
		xfr_diff_unref(d[i]);
}

static void write_file(const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static uint8_t *read_file(size_t *n)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	*n = (size_t)ftell(fp);
	rewind(fp);
	uint8_t *p = malloc(*n + 1);
	assert_int_equal(fread(p, 1, *n, fp), *n);
	fclose(fp);
	return p;
}

/* Every loaded diff must still make sense. */
static void check_loaded(xfr_journal_t *j)
{
	uint32_t first, last;
	if (!xfr_journal_range(j, &first, &last))
		return;
	xfr_chain_t *c = NULL;
	assert_int_equal(xfr_journal_chain(j, first, last, &c), 0);
	for (size_t i = 0; i < c->n; i++) {
		assert_int_equal(c->diffs[i]->removed[0].type, DNS_T_SOA);
		assert_int_equal(c->diffs[i]->added[0].type, DNS_T_SOA);
		if (i)
			assert_int_equal(c->diffs[i]->from, c->diffs[i - 1]->to);
	}
	xfr_chain_free(c);
}

static void test_journal_damage(void **state)
{
	(void)state;
	xfr_journal_t *j = open_j(1 << 20, NULL, 0);
	xfr_diff_t *d12 = diff(v1, v2), *d23 = diff(v2, v3);
	assert_int_equal(xfr_journal_append(j, d12), 0);
	assert_int_equal(xfr_journal_append(j, d23), 0);
	xfr_journal_free(j);
	size_t len;
	uint8_t *good = read_file(&len);
	char why[256];

	/* every truncation: never fails, keeps a valid prefix, says why */
	for (size_t cut = 0; cut < len; cut++) {
		write_file(good, cut);
		j = open_j(1 << 20, why, sizeof(why));
		assert_true(xfr_journal_count(j) <= 1);
		if (cut == 0)
			assert_non_null(strstr(why, "empty"));
		check_loaded(j);
		xfr_journal_free(j);
	}
	/* a torn last entry costs only that entry */
	write_file(good, len - 5);
	j = open_j(1 << 20, why, sizeof(why));
	assert_int_equal(xfr_journal_count(j), 1);
	assert_non_null(strstr(why, "truncated"));
	/* the next append rewrites the file, and then it loads clean */
	assert_int_equal(xfr_journal_append(j, d23), 0);
	xfr_journal_free(j);
	j = open_j(1 << 20, why, sizeof(why));
	assert_string_equal(why, "");
	assert_int_equal(xfr_journal_count(j), 2);
	xfr_journal_free(j);

	/* random damage: never a crash, whatever loads is consistent */
	uint8_t *bad = malloc(len);
	srand(11);
	for (int i = 0; i < 3000; i++) {
		memcpy(bad, good, len);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++)
			bad[rand() % len] = (uint8_t)rand();
		write_file(bad, len);
		j = open_j(1 << 20, why, sizeof(why));
		check_loaded(j);
		xfr_journal_free(j);
	}
	free(bad);

	/* not CBOR at all */
	write_file((const uint8_t *)"hello, world\n", 13);
	j = open_j(1 << 20, why, sizeof(why));
	assert_int_equal(xfr_journal_count(j), 0);
	assert_non_null(strstr(why, "journal ignored"));
	xfr_journal_free(j);

	/* well-formed CBOR, wrong header */
	uint8_t buf[64];
	size_t n = cbor_encode_map_start(1, buf, sizeof(buf));
	n += cbor_encode_string_start(3, buf + n, sizeof(buf) - n);
	memcpy(buf + n, "foo", 3);
	n += 3;
	n += cbor_encode_uint(1, buf + n, sizeof(buf) - n);
	write_file(buf, n);
	j = open_j(1 << 20, why, sizeof(why));
	assert_non_null(strstr(why, "no header"));
	xfr_journal_free(j);

	/* another zone's journal */
	unlink(path);
	uint8_t net[255];
	tx_name("example.net.", net);
	assert_int_equal(xfr_journal_open(path, net, 1 << 20, NULL, 0, &j), 0);
	zone_t *n1 = tx_zone("example.net", "$ORIGIN example.net.\n@ 60 SOA ns h 1 2 3 4 5\n"
	                                    "@ 60 NS ns\nns 60 A 192.0.2.1\n");
	zone_t *n2 = tx_zone("example.net", "$ORIGIN example.net.\n@ 60 SOA ns h 2 2 3 4 5\n"
	                                    "@ 60 NS ns\nns 60 A 192.0.2.2\n");
	xfr_diff_t *dn = diff(n1, n2);
	assert_int_equal(xfr_journal_append(j, dn), 0);
	/* and a diff of example.com does not go into it */
	assert_int_equal(xfr_journal_append(j, d12), SRVD_EINVAL);
	xfr_journal_free(j);
	j = open_j(1 << 20, why, sizeof(why));
	assert_non_null(strstr(why, "another zone"));
	assert_int_equal(xfr_journal_count(j), 0);
	xfr_journal_free(j);
	xfr_diff_unref(dn);
	srvd_zone_unref(n1);
	srvd_zone_unref(n2);

	/* a directory where the file should be: ignored, with a reason */
	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	j = open_j(1 << 20, why, sizeof(why));
	assert_non_null(strstr(why, "journal ignored"));
	assert_int_equal(xfr_journal_append(j, d12), SRVD_EIO);
	xfr_journal_free(j);
	rmdir(path);

	free(good);
	xfr_diff_unref(d12);
	xfr_diff_unref(d23);
}

/* ---- IXFR out -------------------------------------------------------------- */

/* Journal 1->2->3, v3 served. */
static xfr_journal_t *journal_123(void)
{
	xfr_journal_t *j = open_j(1 << 20, NULL, 0);
	xfr_diff_t *d12 = diff(v1, v2), *d23 = diff(v2, v3);
	assert_int_equal(xfr_journal_append(j, d12), 0);
	assert_int_equal(xfr_journal_append(j, d23), 0);
	xfr_diff_unref(d12);
	xfr_diff_unref(d23);
	return j;
}

static srvd_xfr_t *ixfr_cursor(srvd_zoneset_t *zs, const zone_t *client, xfr_journal_t *j,
                               uint16_t id, bool *inc)
{
	uint8_t q[512];
	size_t qlen;
	assert_int_equal(xfr_query_ixfr(client, id, q, sizeof(q), &qlen), 0);
	srvd_query_t sq = {.wire = q, .len = qlen, .transport = SRVD_TCP};
	srvd_xfr_t *x = NULL;
	assert_int_equal(xfr_out_ixfr_new(zs, &sq, j, inc, &x), 0);
	return x;
}

/* Our IXFR stream, fed to our IXFR in at the client's version, rebuilds
 * exactly v3. */
static void ixfr_via_wire(const zone_t *client, size_t cap, bool want_inc, size_t reserve)
{
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&v3, 1, &zs), 0);
	xfr_journal_t *j = journal_123();
	bool inc = !want_inc;
	srvd_xfr_t *x = ixfr_cursor(zs, client, j, 0x7777, &inc);
	assert_int_equal(inc, want_inc);
	xfr_out_reserve(x, reserve);
	tx_drain(x, cap, &S);
	srvd_xfr_free(x);
	xfr_journal_free(j);
	for (size_t i = 0; i < S.n; i++) {
		assert_true(S.len[i] + reserve <= cap);
		ldns_pkt *p = NULL;
		assert_int_equal(ldns_wire2pkt(&p, S.msg[i], S.len[i]), LDNS_STATUS_OK);
		ldns_pkt_free(p);
	}
	xfr_in_t *in = NULL;
	assert_int_equal(xfr_in_new(ORIGIN, client, DNS_T_IXFR, 0x7777, NULL, &in), 0);
	assert_int_equal(tx_feed_all(in, &S), XFR_IN_DONE);
	assert_int_equal(xfr_in_kind(in), want_inc ? XFR_KIND_INCREMENTAL : XFR_KIND_FULL);
	zone_t *z = NULL;
	assert_int_equal(xfr_in_finish(in, NULL, &z), 0);
	tx_assert_same(v3, z);
	srvd_zone_unref(z);
	xfr_in_free(in);
	srvd_zoneset_unref(zs);
	tx_stream_free(&S);
}

static void test_ixfr_out_incremental(void **state)
{
	(void)state;
	ixfr_via_wire(v1, 65535, true, 0);
	ixfr_via_wire(v2, 65535, true, 0);
	ixfr_via_wire(v1, 512, true, 0);
	ixfr_via_wire(v1, 512, true, 100); /* room held back for TSIG */
}

/* The RFC 1995 4 layout, record by record, read by ldns. */
static void test_ixfr_out_layout(void **state)
{
	(void)state;
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&v3, 1, &zs), 0);
	xfr_journal_t *j = journal_123();
	bool inc;
	srvd_xfr_t *x = ixfr_cursor(zs, v1, j, 1, &inc);
	tx_drain(x, 65535, &S);
	assert_int_equal(S.n, 1);
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, S.msg[0], S.len[0]), LDNS_STATUS_OK);
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	ldns_rr_list *an = ldns_pkt_answer(p);
	/* 3(SOA 3) | SOA1 old www | SOA2 new www | SOA2 txt | SOA3 txt aaaa | 3(SOA 3) */
	size_t n = ldns_rr_list_rr_count(an);
	assert_int_equal(n, 1 + 3 + 3 + 2 + 3 + 1);
	uint32_t soas[6];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
			soas[k++] = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
	}
	assert_int_equal(k, 6);
	uint32_t want[6] = {3, 1, 2, 2, 3, 3};
	assert_memory_equal(soas, want, sizeof(want));
	ldns_pkt_free(p);
	srvd_xfr_free(x);
	xfr_journal_free(j);
	srvd_zoneset_unref(zs);
}

static void test_ixfr_out_fallbacks(void **state)
{
	(void)state;
	/* the client's serial is not in the journal: AXFR form */
	zone_t *v0 = tx_zone("example.com",
	                     ZONE_HEAD "@ SOA ns1 hostmaster 0 7200 3600 1209600 300\n" ZONE_BODY);
	ixfr_via_wire(v0, 512, false, 0);
	srvd_zone_unref(v0);

	/* no journal at all */
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&v3, 1, &zs), 0);
	bool inc = true;
	srvd_xfr_t *x = ixfr_cursor(zs, v1, NULL, 1, &inc);
	assert_false(inc);
	srvd_xfr_free(x);

	/* diffs bigger than the zone: AXFR form (RFC 1995 2) */
	zone_t *w1 =
	    tx_zone("example.com", ZONE_HEAD "@ SOA ns1 h 1 1 2 3 4\n@ NS ns1\n"
	                                     "ns1 A 192.0.2.1\na A 192.0.2.1\nb A 192.0.2.1\n");
	zone_t *w2 =
	    tx_zone("example.com", ZONE_HEAD "@ SOA ns1 h 2 1 2 3 4\n@ NS ns1\n"
	                                     "ns1 A 192.0.2.1\nc A 192.0.2.1\nd A 192.0.2.1\n");
	xfr_journal_t *j = open_j(1 << 20, NULL, 0);
	xfr_diff_t *d = diff(w1, w2);
	assert_int_equal(xfr_journal_append(j, d), 0);
	xfr_diff_unref(d);
	srvd_zoneset_t *ws = NULL;
	assert_int_equal(srvd_zoneset_new(&w2, 1, &ws), 0);
	x = ixfr_cursor(ws, w1, j, 1, &inc);
	assert_false(inc);
	srvd_xfr_free(x);
	xfr_journal_free(j);
	srvd_zoneset_unref(ws);
	srvd_zone_unref(w1);
	srvd_zone_unref(w2);

	/* an AXFR query through the IXFR entry point: AXFR */
	uint8_t q[512];
	size_t qlen;
	assert_int_equal(xfr_query_axfr(ORIGIN, 5, q, sizeof(q), &qlen), 0);
	srvd_query_t sq = {.wire = q, .len = qlen, .transport = SRVD_TCP};
	j = journal_123();
	assert_int_equal(xfr_out_ixfr_new(zs, &sq, j, &inc, &x), 0);
	assert_false(inc);
	srvd_xfr_free(x);
	xfr_journal_free(j);
	srvd_zoneset_unref(zs);
}

/* A record that cannot fit a message is an error, not an endless stream
 * of empty messages. */
static void test_xfr_out_record_too_big(void **state)
{
	(void)state;
	char text[2048];
	size_t n = (size_t)sprintf(text, "$ORIGIN example.com.\n@ 60 SOA ns h 1 2 3 4 5\n"
	                                 "@ 60 NS ns\nns 60 A 192.0.2.1\nbig 60 TXT \"");
	for (int i = 0; i < 250; i++)
		text[n++] = 'x';
	n += (size_t)sprintf(text + n, "\" \"");
	for (int i = 0; i < 250; i++)
		text[n++] = 'y';
	sprintf(text + n, "\"\n");
	zone_t *z = tx_zone("example.com", text);
	srvd_zoneset_t *zs = NULL;
	assert_int_equal(srvd_zoneset_new(&z, 1, &zs), 0);
	uint8_t q[512], buf[512];
	size_t qlen, len;
	assert_int_equal(xfr_query_axfr(ORIGIN, 5, q, sizeof(q), &qlen), 0);
	srvd_xfr_t *x = tx_cursor(zs, q, qlen);
	int more = 1, rc = 0, rounds = 0;
	while (more && rounds++ < 10 && (rc = srvd_xfr_next(x, buf, sizeof(buf), &len, &more)) == 0)
		;
	assert_int_equal(rc, SRVD_ESPACE);
	srvd_xfr_free(x);
	srvd_zoneset_unref(zs);
	srvd_zone_unref(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test_teardown(test_journal_append_reload, cleanup_each),
	    cmocka_unit_test_teardown(test_chain_survives, cleanup_each),
	    cmocka_unit_test_teardown(test_journal_clear, cleanup_each),
	    cmocka_unit_test_teardown(test_journal_reset, cleanup_each),
	    cmocka_unit_test_teardown(test_journal_bound, cleanup_each),
	    cmocka_unit_test_teardown(test_journal_damage, cleanup_each),
	    cmocka_unit_test_teardown(test_ixfr_out_incremental, cleanup_each),
	    cmocka_unit_test_teardown(test_ixfr_out_layout, cleanup_each),
	    cmocka_unit_test_teardown(test_ixfr_out_fallbacks, cleanup_each),
	    cmocka_unit_test(test_xfr_out_record_too_big),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
