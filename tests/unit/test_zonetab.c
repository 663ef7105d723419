/* Unit tests for src/zonetab/: the reload decisions of the daemon, with no
 * uv loop, on real files in a private temp folder and configs read by the
 * same YAML parser the daemon uses (conf_load). They prove
 *   - reload jobs: INIT loads every configured zone and makes a zone set;
 *     CHECK keeps every zone whose files did not change (no zone set to
 *     publish), also when a file was touched without a change in its bytes
 *     (the fingerprint's hash decides, and the new stat() is remembered);
 *     a rewritten file loads that zone alone; a broken file fails it and
 *     the previous version stays, with the error "FILE:LINE: ..."; CONF
 *     reads the config again: a dropped zone is in `removed`, a new one
 *     loads, a config that does not parse changes nothing;
 *   - fingerprints: same bytes with another mtime are the same, other bytes
 *     are different, a missing file is exists = false, and a hash is reused
 *     only while stat() says nothing moved;
 *   - the saved state of received zones: write/read round-trip, what does
 *     not parse is no state, and ztab_saved_fresh says false once the state
 *     has expired (at exactly refreshed + expire) or the copy is missing;
 *     at start-up a secondary zone serves its saved copy only while fresh;
 *   - updates and the file: an edit while updates exist is merged (the
 *     updates' changes kept where the edit did not touch the RRset, the
 *     file's where both did), with a serial newer than both; a file that
 *     srvd wrote itself (zonefile-sync) is the new file version, not an
 *     edit.
 * Jobs are applied as src/net/reload.c does (apply + free_replaced), so
 * the asan-ubsan build checks that nothing leaks or is freed twice.
 */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "conf/conf.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/journal.h"
#include "zone/zone.h"
#include "zonetab/zonetab.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

enum { T0 = 1700000000 }; /* the mtime every zone file starts with */

typedef struct fx {
	char dir[256];  /* the temp folder */
	char path[512]; /* dir/srvd.conf */
	char buf[512];  /* scratch for at() */
	conf_t *conf;   /* the config in force */
	ztab_t tab;     /* the table in force */
} fx_t;

/* ---- fixture ------------------------------------------------------------ */

static int setup(void **state)
{
	fx_t *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/srvd-zonetab-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/srvd.conf", f->dir);
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int teardown(void **state)
{
	fx_t *f = *state;
	ztab_deinit(&f->tab);
	conf_free(f->conf);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* dir/rel, in a scratch buffer that the next call overwrites. */
static const char *at(fx_t *f, const char *rel)
{
	snprintf(f->buf, sizeof(f->buf), "%s/%s", f->dir, rel);
	return f->buf;
}

static void set_mtime(fx_t *f, const char *rel, time_t t)
{
	const struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
	assert_int_equal(utimensat(AT_FDCWD, at(f, rel), ts, 0), 0);
}

/* Write rel and give it mtime t, so that a rewrite is seen by stat() even
 * on a file system whose clock ticks slower than the test runs. */
static void put(fx_t *f, const char *rel, const char *text, time_t t)
{
	FILE *fp = fopen(at(f, rel), "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	set_mtime(f, rel, t);
}

static void put_zone(fx_t *f, const char *rel, uint32_t serial, time_t t)
{
	char text[512];
	snprintf(text, sizeof(text),
	         "$TTL 300\n"
	         "@ IN SOA ns1 hostmaster %u 7200 3600 1209600 300\n"
	         "  IN NS ns1\n"
	         "ns1 IN A 192.0.2.53\n",
	         serial);
	put(f, rel, text, t);
}

static conf_t *read_conf(fx_t *f)
{
	char err[512] = "";
	conf_t *c = NULL;
	int rc = conf_load(f->path, &c, err, sizeof(err));
	if (rc)
		fail_msg("conf_load: %d: %s", rc, err);
	return c;
}

/* The daemon's reload_conf (src/bin/srvd.c), for CONF jobs. */
static int conf_fn(void *ctx, conf_t **out, char *err, size_t errlen)
{
	const fx_t *f = ctx;
	return conf_load(f->path, out, err, errlen);
}

static const char *const CONF3 = "zones:\n"
                                 "  - name: a.example\n"
                                 "    file: a.zone\n"
                                 "  - name: b.example\n"
                                 "    file: b.zone\n"
                                 "  - name: c.example\n"
                                 "    file: c.zone\n";

/* ---- jobs, applied the way src/net/reload.c does --------------------------- */

static ztab_job_t job(fx_t *f, unsigned flags)
{
	ztab_job_t j = {.flags = flags, .conf = f->conf, .cur = &f->tab};
	if (flags & ZTAB_JOB_INIT)
		j.cur = NULL;
	if (flags & ZTAB_JOB_CONF) {
		j.conf_fn = conf_fn;
		j.conf_ctx = f;
	}
	ztab_job_run(&j);
	return j;
}

/* reload.c: apply(), then free_replaced(), then ztab_job_deinit(). */
static void apply(fx_t *f, ztab_job_t *j)
{
	if (j->rc) {
		ztab_job_deinit(j);
		return;
	}
	if (j->conf_new) {
		conf_free(f->conf);
		f->conf = j->conf_new;
		j->conf_new = NULL;
	}
	free(f->tab.v);
	f->tab = j->next;
	for (size_t i = 0; i < j->next.n; i++)
		if (j->outcome[i] != ZTAB_ZONE_KEPT)
			ztab_zone_free((ztab_zone_t *)j->prev[i]);
	for (size_t i = 0; i < j->n_removed; i++)
		ztab_zone_free((ztab_zone_t *)j->removed[i]);
	j->n_removed = 0;
	j->next = (ztab_t){0};
	ztab_job_deinit(j);
}

static size_t index_of(const ztab_job_t *j, const char *key)
{
	for (size_t i = 0; i < j->next.n; i++)
		if (strcmp(j->next.v[i]->src.key, key) == 0)
			return i;
	fail_msg("zone %s is not in the job's table", key);
	return 0;
}

static ztab_outcome_t outcome(const ztab_job_t *j, const char *key)
{
	return (ztab_outcome_t)j->outcome[index_of(j, key)];
}

static void assert_outcomes(const ztab_job_t *j, const char *const *keys,
                            const ztab_outcome_t *want, size_t n)
{
	assert_int_equal(j->rc, 0);
	assert_int_equal(j->next.n, n);
	for (size_t i = 0; i < n; i++)
		if (outcome(j, keys[i]) != want[i])
			fail_msg("zone %s: outcome %d, want %d", keys[i], outcome(j, keys[i]),
			         want[i]);
}

static uint32_t serial_of(const srvd_zone_t *z)
{
	srvd_zone_info_t info;
	assert_non_null(z);
	assert_int_equal(srvd_zone_info(z, &info), 0);
	return info.serial;
}

static uint32_t served_serial(fx_t *f, const char *name)
{
	const ztab_zone_t *e = ztab_find(&f->tab, name);
	assert_non_null(e);
	return serial_of(e->ver);
}

static const char *const KEYS3[] = {"a.example", "b.example", "c.example"};

/* Three zones, serial 1, loaded by an INIT job and in force. */
static void start3(fx_t *f)
{
	put_zone(f, "a.zone", 1, T0);
	put_zone(f, "b.zone", 1, T0);
	put_zone(f, "c.zone", 1, T0);
	put(f, "srvd.conf", CONF3, T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	const ztab_outcome_t want[] = {ZTAB_ZONE_LOADED, ZTAB_ZONE_LOADED, ZTAB_ZONE_LOADED};
	assert_outcomes(&j, KEYS3, want, 3);
	apply(f, &j);
}

/* ---- reload jobs ------------------------------------------------------------ */

static void init_loads_every_zone(void **state)
{
	fx_t *f = *state;
	put_zone(f, "a.zone", 1, T0);
	put_zone(f, "b.zone", 2, T0);
	put_zone(f, "c.zone", 3, T0);
	put(f, "srvd.conf", CONF3, T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	const ztab_outcome_t want[] = {ZTAB_ZONE_LOADED, ZTAB_ZONE_LOADED, ZTAB_ZONE_LOADED};
	assert_outcomes(&j, KEYS3, want, 3);
	assert_int_equal(j.loaded, 3);
	assert_int_equal(j.failed, 0);
	assert_int_equal(j.n_removed, 0);
	assert_non_null(j.zs);
	assert_int_equal(srvd_zoneset_count(j.zs), 3);
	for (size_t i = 0; i < 3; i++) {
		const ztab_zone_t *e = j.next.v[i];
		assert_null(j.prev[i]);
		assert_null(e->error);
		assert_int_equal(serial_of(e->ver), i + 1); /* sorted a, b, c */
		assert_int_equal(e->n_fps, 1);
		assert_true(e->fps[0].exists);
		assert_int_equal(e->fps[0].mtime_ns, (int64_t)T0 * 1000000000);
	}
	apply(f, &j);
	assert_int_equal(f->tab.n, 3);
	assert_int_equal(served_serial(f, "B.Example."), 2); /* any case, trailing dot */
}

static void check_with_nothing_changed_keeps_all(void **state)
{
	fx_t *f = *state;
	start3(f);
	const ztab_zone_t *before[3];
	for (size_t i = 0; i < 3; i++)
		before[i] = f->tab.v[i];
	ztab_job_t j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, KEYS3, want, 3);
	assert_null(j.zs); /* nothing to publish */
	assert_int_equal(j.loaded, 0);
	assert_int_equal(j.failed, 0);
	assert_int_equal(j.n_removed, 0);
	for (size_t i = 0; i < 3; i++) {
		assert_ptr_equal(j.next.v[i], before[i]); /* the very same entries */
		assert_ptr_equal(j.prev[i], before[i]);
	}
	apply(f, &j);
}

/* touch: new stat(), same bytes. The hash says nothing changed, and the new
 * stat() is kept so that the next check does not hash again. */
static void check_after_touch_keeps(void **state)
{
	fx_t *f = *state;
	start3(f);
	set_mtime(f, "b.zone", T0 + 10);
	ztab_job_t j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, KEYS3, want, 3);
	assert_null(j.zs);
	assert_int_equal(j.loaded, 0);
	apply(f, &j);
	const ztab_zone_t *b = ztab_find(&f->tab, "b.example");
	assert_int_equal(b->fps[0].mtime_ns, (int64_t)(T0 + 10) * 1000000000);
	assert_int_equal(served_serial(f, "b.example"), 1);
}

static void check_after_rewrite_loads_that_zone(void **state)
{
	fx_t *f = *state;
	start3(f);
	const srvd_zone_t *old_b = ztab_find(&f->tab, "b.example")->ver;
	put_zone(f, "b.zone", 2, T0 + 10); /* same size: only the bytes differ */
	ztab_job_t j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_LOADED, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, KEYS3, want, 3);
	assert_int_equal(j.loaded, 1);
	assert_int_equal(j.failed, 0);
	size_t bi = index_of(&j, "b.example");
	assert_ptr_equal(j.prev[bi]->ver, old_b);
	assert_int_equal(serial_of(j.next.v[bi]->ver), 2);
	assert_non_null(j.zs);
	assert_int_equal(srvd_zoneset_count(j.zs), 3);
	apply(f, &j);
	assert_int_equal(served_serial(f, "a.example"), 1);
	assert_int_equal(served_serial(f, "b.example"), 2);
	assert_int_equal(served_serial(f, "c.example"), 1);
	/* and then it is stable again */
	j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t kept[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, KEYS3, kept, 3);
	assert_null(j.zs);
	apply(f, &j);
}

static void check_with_broken_file_keeps_previous_version(void **state)
{
	fx_t *f = *state;
	start3(f);
	const srvd_zone_t *old_c = ztab_find(&f->tab, "c.example")->ver;
	put(f, "c.zone",
	    "$TTL 300\n"
	    "@ IN SOA ns1 hostmaster 2 7200 3600 1209600 300\n"
	    "  IN NS ns1\n"
	    "ns1 IN A 192.0.2.999\n",
	    T0 + 10);
	ztab_job_t j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_FAILED};
	assert_outcomes(&j, KEYS3, want, 3);
	assert_int_equal(j.loaded, 0);
	assert_int_equal(j.failed, 1);
	assert_null(j.zs); /* no served version changed */
	const ztab_zone_t *c = j.next.v[index_of(&j, "c.example")];
	assert_ptr_equal(c->ver, old_c); /* still serving serial 1 */
	assert_non_null(c->error);
	char want_err[600];
	snprintf(want_err, sizeof(want_err), "%s:4: ", at(f, "c.zone"));
	if (strncmp(c->error, want_err, strlen(want_err)) != 0)
		fail_msg("error \"%s\", want it to start with \"%s\"", c->error, want_err);
	apply(f, &j);
	assert_int_equal(served_serial(f, "c.example"), 1);
	/* nothing changed since the failure: kept, error and all */
	j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t kept[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, KEYS3, kept, 3);
	apply(f, &j);
	assert_non_null(ztab_find(&f->tab, "c.example")->error);
	/* fixed: loads, and the error is gone */
	put_zone(f, "c.zone", 3, T0 + 20);
	j = job(f, ZTAB_JOB_CHECK);
	const ztab_outcome_t fixed[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_LOADED};
	assert_outcomes(&j, KEYS3, fixed, 3);
	assert_non_null(j.zs);
	apply(f, &j);
	assert_null(ztab_find(&f->tab, "c.example")->error);
	assert_int_equal(served_serial(f, "c.example"), 3);
}

static void conf_dropping_a_zone_removes_it(void **state)
{
	fx_t *f = *state;
	start3(f);
	const ztab_zone_t *old_c = ztab_find(&f->tab, "c.example");
	put(f, "srvd.conf",
	    "zones:\n"
	    "  - name: a.example\n"
	    "    file: a.zone\n"
	    "  - name: b.example\n"
	    "    file: b.zone\n",
	    T0 + 10);
	ztab_job_t j = job(f, ZTAB_JOB_CONF);
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, KEYS3, want, 2);
	assert_non_null(j.conf_new);
	assert_int_equal(j.conf_new->n_zones, 2);
	assert_int_equal(j.n_removed, 1);
	assert_ptr_equal(j.removed[0], old_c);
	assert_string_equal(j.removed[0]->src.key, "c.example");
	assert_non_null(j.zs); /* a served zone went away */
	assert_int_equal(srvd_zoneset_count(j.zs), 2);
	apply(f, &j);
	assert_int_equal(f->tab.n, 2);
	assert_null(ztab_find(&f->tab, "c.example"));
	assert_int_equal(f->conf->n_zones, 2);
}

static void conf_adding_a_zone_loads_it(void **state)
{
	fx_t *f = *state;
	start3(f);
	put_zone(f, "d.zone", 9, T0);
	put(f, "srvd.conf",
	    "zones:\n"
	    "  - name: a.example\n"
	    "    file: a.zone\n"
	    "  - name: b.example\n"
	    "    file: b.zone\n"
	    "  - name: c.example\n"
	    "    file: c.zone\n"
	    "  - name: d.example\n"
	    "    file: d.zone\n",
	    T0 + 10);
	ztab_job_t j = job(f, ZTAB_JOB_CONF);
	const char *const keys[] = {"a.example", "b.example", "c.example", "d.example"};
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT,
	                               ZTAB_ZONE_LOADED};
	assert_outcomes(&j, keys, want, 4);
	assert_int_equal(j.loaded, 1);
	assert_int_equal(j.n_removed, 0);
	assert_null(j.prev[index_of(&j, "d.example")]); /* new */
	assert_non_null(j.zs);
	assert_int_equal(srvd_zoneset_count(j.zs), 4);
	apply(f, &j);
	assert_int_equal(served_serial(f, "d.example"), 9);
}

static void conf_that_does_not_parse_changes_nothing(void **state)
{
	fx_t *f = *state;
	start3(f);
	const conf_t *before = f->conf;
	put(f, "srvd.conf", "zones:\n  - name: a.example\n    fiel: a.zone\n", T0 + 10);
	ztab_job_t j = job(f, ZTAB_JOB_CONF);
	assert_int_not_equal(j.rc, 0);
	assert_non_null(strstr(j.conf_err, f->path));
	assert_null(j.conf_new);
	assert_null(j.zs);
	assert_int_equal(j.next.n, 0);
	apply(f, &j); /* as reload.c: a failed job is only freed */
	assert_ptr_equal(f->conf, before);
	assert_int_equal(f->tab.n, 3);
}

/* ---- fingerprints ------------------------------------------------------------ */

static void fp_same_bytes_other_mtime_is_same(void **state)
{
	fx_t *f = *state;
	put_zone(f, "a.zone", 1, T0);
	ztab_fp_t a, b, c;
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), NULL, &a), 0);
	assert_true(a.exists);
	assert_string_equal(a.path, at(f, "a.zone"));
	assert_int_equal(a.mtime_ns, (int64_t)T0 * 1000000000);
	set_mtime(f, "a.zone", T0 + 10);
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), NULL, &b), 0);
	assert_int_not_equal(a.mtime_ns, b.mtime_ns);
	assert_true(ztab_fp_same(&a, &b));
	/* with the old one given: stat() moved, so it hashes again, same hash */
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), &a, &c), 0);
	assert_int_equal(c.hash, a.hash);
	assert_true(ztab_fp_same(&a, &c));
	free(a.path);
	free(b.path);
	free(c.path);
}

static void fp_other_bytes_is_different(void **state)
{
	fx_t *f = *state;
	put_zone(f, "a.zone", 1, T0);
	ztab_fp_t a, b, c;
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), NULL, &a), 0);
	put_zone(f, "a.zone", 2, T0); /* same size, same mtime, other bytes */
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), NULL, &b), 0);
	assert_int_equal(a.size, b.size);
	assert_int_not_equal(a.hash, b.hash);
	assert_false(ztab_fp_same(&a, &b));
	put_zone(f, "a.zone", 100, T0); /* another size */
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), NULL, &c), 0);
	assert_int_not_equal(a.size, c.size);
	assert_false(ztab_fp_same(&a, &c));
	assert_false(ztab_fp_same(&b, &c));
	free(a.path);
	free(b.path);
	free(c.path);
}

static void fp_missing_file_does_not_exist(void **state)
{
	fx_t *f = *state;
	ztab_fp_t m, m2, a;
	assert_int_equal(ztab_fp_take(at(f, "nothing.zone"), NULL, &m), 0);
	assert_false(m.exists);
	assert_int_equal(m.hash, 0);
	assert_string_equal(m.path, at(f, "nothing.zone"));
	assert_int_equal(ztab_fp_take(at(f, "nothing.zone"), &m, &m2), 0);
	assert_true(ztab_fp_same(&m, &m2)); /* still missing: no change */
	/* an empty file is not a missing one */
	put(f, "nothing.zone", "", T0);
	assert_int_equal(ztab_fp_take(at(f, "nothing.zone"), &m, &a), 0);
	assert_true(a.exists);
	assert_false(ztab_fp_same(&m, &a));
	/* a folder is no file either */
	ztab_fp_t d;
	assert_int_equal(ztab_fp_take(f->dir, NULL, &d), 0);
	assert_false(d.exists);
	free(m.path);
	free(m2.path);
	free(a.path);
	free(d.path);
}

/* The hash is taken once per stat(): an old fingerprint whose stat() still
 * matches lends its hash (this one is made up, to see it reused). */
static void fp_hash_reused_while_stat_matches(void **state)
{
	fx_t *f = *state;
	put_zone(f, "a.zone", 1, T0);
	ztab_fp_t a, b, c;
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), NULL, &a), 0);
	uint64_t real = a.hash;
	a.hash = real ^ 0x5a5a;
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), &a, &b), 0);
	assert_int_equal(b.hash, real ^ 0x5a5a);
	set_mtime(f, "a.zone", T0 + 1);
	assert_int_equal(ztab_fp_take(at(f, "a.zone"), &a, &c), 0);
	assert_int_equal(c.hash, real);
	free(a.path);
	free(b.path);
	free(c.path);
}

/* ---- the saved state of received zones ----------------------------------------- */

static void saved_round_trip(void **state)
{
	fx_t *f = *state;
	char file[512];
	snprintf(file, sizeof(file), "%s", at(f, "s.zone"));
	const ztab_saved_t st = {.refreshed = T0, .serial = 0xFFFFFFF0u, .expire = 604800};
	assert_int_equal(ztab_saved_write(file, &st), 0);
	ztab_saved_t back = {0};
	assert_int_equal(ztab_saved_read(file, &back), 0);
	assert_int_equal(back.refreshed, st.refreshed);
	assert_int_equal(back.serial, st.serial);
	assert_int_equal(back.expire, st.expire);
	/* hidden beside the copy, and no temp file left */
	char *p = ztab_saved_path(file);
	assert_string_equal(p, at(f, ".s.zone.srvd-state"));
	struct stat sb;
	assert_int_equal(stat(p, &sb), 0);
	assert_int_not_equal(stat(at(f, ".s.zone.srvd-state.tmp"), &sb), 0);
	free(p);
	/* a second write replaces the first */
	const ztab_saved_t st2 = {.refreshed = T0 + 5, .serial = 3, .expire = 0xFFFFFFFFu};
	assert_int_equal(ztab_saved_write(file, &st2), 0);
	assert_int_equal(ztab_saved_read(file, &back), 0);
	assert_int_equal(back.refreshed, T0 + 5);
	assert_int_equal(back.serial, 3);
	assert_int_equal(back.expire, 0xFFFFFFFFu);
}

static void saved_read_refuses_what_is_not_state(void **state)
{
	fx_t *f = *state;
	char file[512];
	snprintf(file, sizeof(file), "%s", at(f, "s.zone"));
	ztab_saved_t back = {.serial = 77};
	assert_int_equal(ztab_saved_read(file, &back), SRVD_ENOENT); /* none */
	static const char *const bad[] = {
	    "",
	    "garbage\n",
	    "srvd-secondary 2 1700000000 1 100\n", /* another version */
	    "srvd-secondary 1 1700000000 1\n",     /* short */
	    "srvd-secondary 1 -5 1 100\n",         /* before 1970 */
	    "srvd-secondary 1 1700000000 4294967296 100\n",
	};
	for (size_t i = 0; i < N(bad); i++) {
		put(f, ".s.zone.srvd-state", bad[i], T0);
		if (ztab_saved_read(file, &back) != SRVD_ENOENT)
			fail_msg("case %zu: \"%s\" was read as a state", i, bad[i]);
	}
	assert_int_equal(back.serial, 77); /* untouched */
}

static void saved_fresh_until_expired(void **state)
{
	fx_t *f = *state;
	char file[512];
	snprintf(file, sizeof(file), "%s", at(f, "s.zone"));
	const time_t now = T0 + 1000;
	/* no copy: nothing to serve, whatever the state says */
	const ztab_saved_t st = {.refreshed = T0, .serial = 5, .expire = 3600};
	assert_int_equal(ztab_saved_write(file, &st), 0);
	assert_false(ztab_saved_fresh(file, now));
	/* a copy, state confirmed 1000 s ago, expire 3600: fresh */
	put_zone(f, "s.zone", 5, T0);
	assert_true(ztab_saved_fresh(file, now));
	assert_true(ztab_saved_fresh(file, T0 + 3599));
	/* expired at exactly refreshed + expire, and after */
	assert_false(ztab_saved_fresh(file, T0 + 3600));
	assert_false(ztab_saved_fresh(file, T0 + 100000));
	/* expire 0: expired at once */
	const ztab_saved_t zero = {.refreshed = now, .serial = 5, .expire = 0};
	assert_int_equal(ztab_saved_write(file, &zero), 0);
	assert_false(ztab_saved_fresh(file, now));
	/* no state: served, its SOA decides later */
	assert_int_equal(unlink(at(f, ".s.zone.srvd-state")), 0);
	assert_true(ztab_saved_fresh(file, now));
}

/* At start-up a secondary zone serves its saved copy only while its state
 * says it is fresh; otherwise it waits, unserved, for a transfer. */
static void init_serves_saved_copy_only_while_fresh(void **state)
{
	fx_t *f = *state;
	char s[512], t[512];
	snprintf(s, sizeof(s), "%s", at(f, "s.zone"));
	snprintf(t, sizeof(t), "%s", at(f, "t.zone"));
	put_zone(f, "a.zone", 1, T0);
	put_zone(f, "s.zone", 40, T0);
	put_zone(f, "t.zone", 50, T0);
	time_t now = time(NULL);
	const ztab_saved_t fresh = {.refreshed = now - 60, .serial = 40, .expire = 86400};
	const ztab_saved_t stale = {.refreshed = now - 86400 - 60, .serial = 50, .expire = 86400};
	assert_int_equal(ztab_saved_write(s, &fresh), 0);
	assert_int_equal(ztab_saved_write(t, &stale), 0);
	put(f, "srvd.conf",
	    "zones:\n"
	    "  - name: a.example\n"
	    "    file: a.zone\n"
	    "  - name: s.example\n"
	    "    file: s.zone\n"
	    "    primaries: [192.0.2.1]\n"
	    "  - name: t.example\n"
	    "    file: t.zone\n"
	    "    primaries: [192.0.2.1]\n",
	    T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	assert_int_equal(j.rc, 0);
	assert_int_equal(j.next.n, 3);
	const ztab_zone_t *zs_ = j.next.v[index_of(&j, "s.example")];
	const ztab_zone_t *zt = j.next.v[index_of(&j, "t.example")];
	assert_true(zs_->src.secondary);
	assert_true(zt->src.secondary);
	assert_int_equal(serial_of(zs_->ver), 40);
	assert_null(zt->ver); /* expired: not served */
	assert_null(zt->error);
	assert_non_null(j.zs);
	assert_int_equal(srvd_zoneset_count(j.zs), 2);
	apply(f, &j);
	/* a CHECK never reads a secondary's file again */
	put_zone(f, "s.zone", 41, T0 + 10);
	j = job(f, ZTAB_JOB_CHECK);
	const char *const keys[] = {"a.example", "s.example", "t.example"};
	const ztab_outcome_t want[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, keys, want, 3);
	assert_null(j.zs);
	apply(f, &j);
	assert_int_equal(served_serial(f, "s.example"), 40);
}

/* With state-dir every zone, configured or found in zones-dir, keeps its
 * journal and snapshot there (the zone's folder may be read-only, as
 * /etc/srvd is under ProtectSystem=strict); without it the journal stays
 * beside the zone file and there is no snapshot. */
static void state_dir_holds_journals_and_snapshots(void **state)
{
	fx_t *f = *state;
	char want[600];
	assert_int_equal(mkdir(at(f, "zones"), 0755), 0);
	assert_int_equal(mkdir(at(f, "state"), 0755), 0);
	put_zone(f, "a.zone", 1, T0);
	put_zone(f, "zones/d.example.zone", 1, T0);
	put(f, "srvd.conf",
	    "server:\n  state-dir: state\nzones-dir: zones\n"
	    "zones:\n  - {name: A.Example., file: a.zone}\n",
	    T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	const char *const keys[] = {"a.example", "d.example"};
	const ztab_outcome_t loaded[] = {ZTAB_ZONE_LOADED, ZTAB_ZONE_LOADED};
	assert_outcomes(&j, keys, loaded, 2);
	for (size_t i = 0; i < N(keys); i++) {
		const ztab_src_t *src = &j.next.v[index_of(&j, keys[i])]->src;
		snprintf(want, sizeof(want), "%s/state/%s.jnl", f->dir, keys[i]);
		assert_string_equal(src->journal, want);
		snprintf(want, sizeof(want), "%s/state/%s.snap", f->dir, keys[i]);
		assert_string_equal(src->snapshot, want);
		struct stat st;
		assert_int_equal(stat(want, &st), 0); /* written by the load */
	}
	apply(f, &j);
	/* a zones-dir scan finds d.example again with the same paths: kept */
	j = job(f, ZTAB_JOB_SCAN | ZTAB_JOB_CHECK);
	const ztab_outcome_t kept[] = {ZTAB_ZONE_KEPT, ZTAB_ZONE_KEPT};
	assert_outcomes(&j, keys, kept, 2);
	apply(f, &j);
	conf_free(f->conf);
	ztab_deinit(&f->tab);

	put(f, "srvd.conf", "zones:\n  - {name: a.example, file: a.zone}\n", T0);
	f->conf = read_conf(f);
	j = job(f, ZTAB_JOB_INIT);
	const ztab_src_t *src = &j.next.v[index_of(&j, "a.example")]->src;
	snprintf(want, sizeof(want), "%s/a.zone.jnl", f->dir);
	assert_string_equal(src->journal, want);
	assert_null(src->snapshot);
	apply(f, &j);

	char why[300] = "";
	assert_true(ztab_journal_writable(at(f, "state/x.jnl"), why, sizeof(why)));
	assert_false(ztab_journal_writable(at(f, "nowhere/x.jnl"), why, sizeof(why)));
	snprintf(want, sizeof(want), "%s/nowhere: No such file or directory", f->dir);
	assert_string_equal(why, want);
	if (geteuid() != 0) { /* root may write anywhere */
		assert_int_equal(chmod(at(f, "state"), 0555), 0);
		assert_false(ztab_journal_writable(at(f, "state/x.jnl"), why, sizeof(why)));
		assert_non_null(strstr(why, "Permission denied"));
		assert_int_equal(chmod(at(f, "state"), 0755), 0);
	}
}

/* ---- updates and the zone file (merge.c, written) ---------------------------- */

static const char *const ZONE_HEAD = "$TTL 300\n"
                                     "@ IN SOA ns1 hostmaster %u 7200 3600 1209600 300\n"
                                     "  IN NS ns1\n"
                                     "ns1 IN A 192.0.2.53\n";

static void put_zone_with(fx_t *f, const char *rel, uint32_t serial, const char *more, time_t t)
{
	size_t cap = strlen(more) + 512;
	char *text = malloc(cap);
	int n = snprintf(text, cap, ZONE_HEAD, serial);
	snprintf(text + n, cap - (size_t)n, "%s", more);
	put(f, rel, text, t);
	free(text);
}

static srvd_zone_t *load_file(fx_t *f, const char *rel)
{
	srvd_zone_src_t src = {.origin = "a.example", .path = at(f, rel)};
	srvd_zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, NULL), 0);
	return z;
}

/* The RDATA texts of owner/type in z, joined by spaces ("" when none). */
static const char *rdatas(const srvd_zone_t *z, const char *owner, uint16_t type, char *buf,
                          size_t cap)
{
	uint8_t w[255], l[255];
	size_t len = 0;
	assert_int_equal(wire_name_from_str(owner, w, &len), 0);
	wire_name_lower(l, w, len);
	buf[0] = 0;
	uint32_t i = zone_find(z, l, len);
	const zone_rrset_t *s = i == ZONE_NONE ? NULL : zone_node_rrset(z, &z->nodes[i], type);
	size_t o = 0;
	const uint8_t *p = s ? z->rdata + s->data : NULL;
	for (uint16_t k = 0; s && k < s->count; k++) {
		uint16_t n = get_u16(p);
		if (type == 1 && n == 4)
			o += (size_t)snprintf(buf + o, cap - o, "%s%u.%u.%u.%u", o ? " " : "", p[2],
			                      p[3], p[4], p[5]);
		else
			o += (size_t)snprintf(buf + o, cap - o, "%s%.*s", o ? " " : "", p[2],
			                      (const char *)p + 3);
		p += 2u + n;
	}
	return buf;
}

/* A served version of a.example made by "updates" (any version other than
 * the file's), installed as src/net/update.c does. */
static void install(fx_t *f, srvd_zone_t *v)
{
	ztab_install_t *ins = calloc(1, sizeof(*ins));
	ins->key = strdup("a.example");
	ins->ver = v;
	ztab_job_t j = {.conf = f->conf, .cur = &f->tab, .installs = ins, .n_installs = 1};
	ztab_job_run(&j);
	assert_int_equal(outcome(&j, "a.example"), ZTAB_ZONE_LOADED);
	apply(f, &j);
}

static const char *const CONF_A = "zones:\n  - name: a.example\n    file: a.zone\n";

/* The file is edited while updates exist: the edit's own difference goes
 * on top of the updates; where both changed an RRset, the file wins. */
static void file_edit_merges_with_updates(void **state)
{
	fx_t *f = *state;
	char b1[512];
	put_zone_with(f, "a.zone", 10, "both IN A 192.0.2.1\nold IN A 192.0.2.2\n", T0);
	put(f, "srvd.conf", CONF_A, T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	apply(f, &j);
	const ztab_zone_t *e = ztab_find(&f->tab, "a.example");
	assert_ptr_equal(e->ver, e->file_ver);
	/* updates: a TXT added, both's A replaced, serial 10 -> 12 */
	put_zone_with(f, "u.zone", 12,
	              "both IN A 192.0.2.77\nold IN A 192.0.2.2\nkept IN TXT from-update\n", T0);
	install(f, load_file(f, "u.zone"));
	e = ztab_find(&f->tab, "a.example");
	assert_int_equal(serial_of(e->ver), 12);
	assert_int_equal(serial_of(e->file_ver), 10);
	/* the edit: both's A changed (a conflict), old gone, new added; serial
	 * not moved (the operator forgot) */
	put_zone_with(f, "a.zone", 10, "both IN A 192.0.2.88\nnew IN A 192.0.2.3\n", T0 + 10);
	j = job(f, ZTAB_JOB_CHECK);
	assert_int_equal(outcome(&j, "a.example"), ZTAB_ZONE_LOADED);
	assert_non_null(j.zs);
	apply(f, &j);
	e = ztab_find(&f->tab, "a.example");
	assert_int_equal(serial_of(e->ver), 13);      /* newer than the 12 served */
	assert_int_equal(serial_of(e->file_ver), 10); /* the file as it is */
	assert_string_equal(rdatas(e->ver, "kept.a.example", 16, b1, sizeof(b1)), "from-update");
	assert_string_equal(rdatas(e->ver, "both.a.example", 1, b1, sizeof(b1)), "192.0.2.88");
	assert_string_equal(rdatas(e->ver, "new.a.example", 1, b1, sizeof(b1)), "192.0.2.3");
	assert_string_equal(rdatas(e->ver, "old.a.example", 1, b1, sizeof(b1)), "");
	/* a second edit, serial far ahead: it is taken, plus one */
	put_zone_with(f, "a.zone", 100, "both IN A 192.0.2.88\nnew IN A 192.0.2.4\n", T0 + 20);
	j = job(f, ZTAB_JOB_CHECK);
	apply(f, &j);
	e = ztab_find(&f->tab, "a.example");
	assert_int_equal(serial_of(e->ver), 101);
	assert_string_equal(rdatas(e->ver, "kept.a.example", 16, b1, sizeof(b1)), "from-update");
	assert_string_equal(rdatas(e->ver, "new.a.example", 1, b1, sizeof(b1)), "192.0.2.4");
}

/* ztab_merge alone: nothing of the updates left and the file newer: the
 * file itself; the file not newer: the file with a serial past both. */
static void merge_without_update_changes(void **state)
{
	fx_t *f = *state;
	put_zone_with(f, "f0.zone", 10, "x IN A 192.0.2.1\n", T0);
	put_zone_with(f, "u.zone", 12, "x IN A 192.0.2.1\n", T0); /* TXT came and went */
	put_zone_with(f, "f1.zone", 20, "x IN A 192.0.2.9\n", T0);
	put_zone_with(f, "f2.zone", 11, "x IN A 192.0.2.9\n", T0);
	srvd_zone_t *f0 = load_file(f, "f0.zone"), *u = load_file(f, "u.zone");
	srvd_zone_t *f1 = load_file(f, "f1.zone"), *f2 = load_file(f, "f2.zone");
	srvd_zone_t *r = NULL;
	size_t conflicts = 9;
	assert_int_equal(ztab_merge(f0, u, f1, "a.example", &r, &conflicts), 0);
	assert_ptr_equal(r, f1);
	assert_int_equal(conflicts, 0);
	srvd_zone_unref(r);
	assert_int_equal(ztab_merge(f0, u, f2, "a.example", &r, &conflicts), 0);
	assert_int_equal(serial_of(r), 13);
	char b[128];
	assert_string_equal(rdatas(r, "x.a.example", 1, b, sizeof(b)), "192.0.2.9");
	srvd_zone_unref(r);
	/* both changed x the same way: no conflict */
	srvd_zone_t *u2 = NULL;
	put_zone_with(f, "u2.zone", 12, "x IN A 192.0.2.9\n", T0);
	u2 = load_file(f, "u2.zone");
	assert_int_equal(ztab_merge(f0, u2, f1, "a.example", &r, &conflicts), 0);
	assert_int_equal(conflicts, 0);
	srvd_zone_unref(r);
	assert_int_equal(ztab_merge(NULL, u, f1, "a.example", &r, &conflicts), SRVD_EINVAL);
	srvd_zone_unref(f0);
	srvd_zone_unref(u);
	srvd_zone_unref(u2);
	srvd_zone_unref(f1);
	srvd_zone_unref(f2);
}

/* zonefile-sync wrote the served version to the file: it becomes the file
 * version, and the rewritten file is not taken for an edit. */
static void written_file_is_not_an_edit(void **state)
{
	fx_t *f = *state;
	put_zone_with(f, "a.zone", 10, "", T0);
	put(f, "srvd.conf", CONF_A, T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	apply(f, &j);
	put_zone_with(f, "u.zone", 11, "kept IN TXT t\n", T0);
	srvd_zone_t *u = load_file(f, "u.zone");
	srvd_zone_ref(u);
	install(f, u);
	/* what update.c's work_sync does, then net_reload_written */
	put_zone_with(f, "a.zone", 11, "kept IN TXT t\n", T0 + 5);
	ztab_written_t *w = calloc(1, sizeof(*w));
	w->key = strdup("a.example");
	w->ver = u; /* the reference taken above */
	j = (ztab_job_t){.conf = f->conf, .cur = &f->tab, .written = w, .n_written = 1};
	ztab_job_run(&j);
	assert_int_equal(outcome(&j, "a.example"), ZTAB_ZONE_UPDATED);
	assert_null(j.zs); /* nothing new to publish */
	apply(f, &j);
	const ztab_zone_t *e = ztab_find(&f->tab, "a.example");
	assert_ptr_equal(e->ver, u);
	assert_ptr_equal(e->file_ver, u);
	j = job(f, ZTAB_JOB_CHECK);
	assert_int_equal(outcome(&j, "a.example"), ZTAB_ZONE_KEPT);
	apply(f, &j);
}

/* A restart of a big zone with updates in its journal: the journal is
 * replayed copy-on-write, and the file's version is kept as the image's
 * own copy of it (a twin), not a second copy of the zone. */
static void replay_keeps_one_copy_of_a_big_zone(void **state)
{
	fx_t *f = *state;
	char *more = malloc(40 * 1200 + 64);
	size_t o = 0;
	for (unsigned i = 0; i < 1200; i++)
		o += (size_t)sprintf(more + o, "h%u IN A 198.51.100.%u\n", i, i % 250 + 1);
	put_zone_with(f, "a.zone", 10, more, T0);
	char *more2 = malloc(40 * 1200 + 128);
	sprintf(more2, "%s_acme-challenge IN TXT token\n", more);
	put_zone_with(f, "u.zone", 11, more2, T0);
	srvd_zone_t *f0 = load_file(f, "a.zone"), *u = load_file(f, "u.zone");
	xfr_diff_t *d = NULL;
	assert_int_equal(xfr_diff_compute(f0, u, &d), 0);
	xfr_journal_t *jn = NULL;
	assert_int_equal(xfr_journal_open(at(f, "a.zone.jnl"), f0->origin, 1 << 20, NULL, 0, &jn),
	                 0);
	assert_int_equal(xfr_journal_append(jn, d), 0);
	xfr_journal_free(jn);
	xfr_diff_unref(d);
	put(f, "srvd.conf", CONF_A, T0);
	f->conf = read_conf(f);
	ztab_job_t j = job(f, ZTAB_JOB_INIT);
	apply(f, &j);
	const ztab_zone_t *e = ztab_find(&f->tab, "a.example");
	assert_int_equal(serial_of(e->ver), 11);
	assert_int_equal(serial_of(e->file_ver), 10);
	assert_non_null(zone_cow_image(e->ver));
	assert_ptr_equal(zone_cow_image(e->file_ver), zone_cow_image(e->ver));
	char b[64];
	assert_string_equal(rdatas(e->ver, "_acme-challenge.a.example", 16, b, sizeof(b)), "token");
	assert_string_equal(rdatas(e->file_ver, "_acme-challenge.a.example", 16, b, sizeof(b)), "");
	srvd_zone_unref(f0);
	srvd_zone_unref(u);
	free(more);
	free(more2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	log_setup(LOG_LVL_ERROR, 0);
	const struct CMUnitTest tests[] = {
	    T(init_loads_every_zone),
	    T(check_with_nothing_changed_keeps_all),
	    T(check_after_touch_keeps),
	    T(check_after_rewrite_loads_that_zone),
	    T(check_with_broken_file_keeps_previous_version),
	    T(conf_dropping_a_zone_removes_it),
	    T(conf_adding_a_zone_loads_it),
	    T(conf_that_does_not_parse_changes_nothing),
	    T(fp_same_bytes_other_mtime_is_same),
	    T(fp_other_bytes_is_different),
	    T(fp_missing_file_does_not_exist),
	    T(fp_hash_reused_while_stat_matches),
	    T(saved_round_trip),
	    T(saved_read_refuses_what_is_not_state),
	    T(saved_fresh_until_expired),
	    T(init_serves_saved_copy_only_while_fresh),
	    T(state_dir_holds_journals_and_snapshots),
	    T(file_edit_merges_with_updates),
	    T(merge_without_update_changes),
	    T(written_file_is_not_an_edit),
	    T(replay_keeps_one_copy_of_a_big_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
