/* Unit tests for src/secondary/: the decisions a secondary zone takes,
 * with no uv loop and no clock (time is a plain number here). They prove
 *   - sec_timers: the SOA timers are clamped by each configured bound
 *     separately, a bound of 0 is no bound, and before any SOA the zone
 *     retries after SEC_DEFAULT_RETRY and never expires;
 *   - the schedule: a good check moves both the next check (refresh) and
 *     the expiry, a failed one moves only the next check (retry), a saved
 *     copy expires counting from when it was last confirmed, expiry happens
 *     at exactly expire_at, and sec_due wakes for the expiry only when live
 *     data is served and the expiry comes before the next check;
 *   - serials (RFC 1982): a transfer is wanted when nothing is held or the
 *     primary's serial is newer across the 2^32 wrap, never when it is
 *     equal, older or exactly 2^31 away (undefined); a transfer's serial is
 *     accepted only when it advances ours, unless the transfer was forced;
 *   - the NOTIFY set: a zone is in it once however often it is added, take
 *     hands the names over and empties it, deinit frees what is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secondary/secondary.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- sec_timers ------------------------------------------------------------ */

static void assert_timers(sec_timers_t t, uint32_t refresh, uint32_t retry, uint32_t expire)
{
	assert_int_equal(t.refresh, refresh);
	assert_int_equal(t.retry, retry);
	assert_int_equal(t.expire, expire);
}

static void timers_without_bounds_are_the_soa(void **state)
{
	(void)state;
	const conf_timers_t none = {0};
	assert_timers(sec_timers(true, 7200, 3600, 1209600, &none), 7200, 3600, 1209600);
	/* 0 and the largest values pass untouched too: 0 is no bound */
	assert_timers(sec_timers(true, 0, 0, 0, &none), 0, 0, 0);
	assert_timers(sec_timers(true, UINT32_MAX, UINT32_MAX, UINT32_MAX, &none), UINT32_MAX,
	              UINT32_MAX, UINT32_MAX);
}

/* Each bound alone moves its own timer and no other. */
static void timers_clamped_by_each_bound(void **state)
{
	(void)state;
	const uint32_t refresh = 7200, retry = 3600, expire = 1209600;
	static const struct {
		conf_timers_t b;
		uint32_t refresh, retry, expire;
	} cases[] = {
	    {{.refresh_min = 10000}, 10000, 3600, 1209600},
	    {{.refresh_max = 600}, 600, 3600, 1209600},
	    {{.retry_min = 5000}, 7200, 5000, 1209600},
	    {{.retry_max = 60}, 7200, 60, 1209600},
	    {{.expire_min = 2000000}, 7200, 3600, 2000000},
	    {{.expire_max = 86400}, 7200, 3600, 86400},
	    /* a bound the value already respects changes nothing */
	    {{.refresh_min = 60, .refresh_max = 86400}, 7200, 3600, 1209600},
	    {{.retry_min = 3600, .retry_max = 3600}, 7200, 3600, 1209600},
	    {{.expire_min = 1209600, .expire_max = 1209600}, 7200, 3600, 1209600},
	    /* all of them at once */
	    {{300, 600, 30, 60, 86400, 172800}, 600, 60, 172800},
	};
	for (size_t i = 0; i < N(cases); i++) {
		sec_timers_t t = sec_timers(true, refresh, retry, expire, &cases[i].b);
		if (t.refresh != cases[i].refresh || t.retry != cases[i].retry ||
		    t.expire != cases[i].expire)
			fail_msg("case %zu: got %u/%u/%u, want %u/%u/%u", i, t.refresh, t.retry,
			         t.expire, cases[i].refresh, cases[i].retry, cases[i].expire);
	}
}

/* No SOA yet: whatever was passed for the timers is ignored. */
static void timers_without_soa_retry_soon_and_never_expire(void **state)
{
	(void)state;
	const conf_timers_t none = {0};
	assert_timers(sec_timers(false, 0, 0, 0, &none), SEC_DEFAULT_RETRY, SEC_DEFAULT_RETRY, 0);
	assert_timers(sec_timers(false, 7200, 3600, 1209600, &none), SEC_DEFAULT_RETRY,
	              SEC_DEFAULT_RETRY, 0);
	/* the retry bounds still hold for the retry */
	const conf_timers_t slow = {.retry_min = 60};
	assert_int_equal(sec_timers(false, 0, 0, 0, &slow).retry, 60);
	/* expire-min bounds an SOA's expire; with no SOA nothing expires */
	const conf_timers_t floor = {.expire_min = 3600};
	assert_int_equal(sec_timers(false, 0, 0, 0, &floor).expire, 0);
	assert_int_equal(sec_timers(true, 0, 0, 60, &floor).expire, 3600);
}

/* ---- the schedule ---------------------------------------------------------- */

static const sec_timers_t TM = {.refresh = 7200, .retry = 600, .expire = 86400};

static void checked_moves_next_and_expiry(void **state)
{
	(void)state;
	sec_sched_t s = {.last_ok = 1, .next_at = 2, .expire_at = 3};
	sec_checked(&s, &TM, 1000000);
	assert_int_equal(s.last_ok, 1000000);
	assert_int_equal(s.next_at, 1000000 + 7200);
	assert_int_equal(s.expire_at, 1000000 + 86400);
	/* a later check moves them again */
	sec_checked(&s, &TM, 1005000);
	assert_int_equal(s.last_ok, 1005000);
	assert_int_equal(s.next_at, 1005000 + 7200);
	assert_int_equal(s.expire_at, 1005000 + 86400);
}

static void failed_moves_next_only(void **state)
{
	(void)state;
	sec_sched_t s = {0};
	sec_checked(&s, &TM, 1000000);
	sec_failed(&s, &TM, 1007200);
	assert_int_equal(s.next_at, 1007200 + 600);
	assert_int_equal(s.expire_at, 1000000 + 86400); /* unchanged */
	assert_int_equal(s.last_ok, 1000000);           /* unchanged */
	/* failing again and again never pushes the expiry back */
	for (time_t now = 1007800; now < 1000000 + 86400; now += 600) {
		sec_failed(&s, &TM, now);
		assert_int_equal(s.next_at, now + 600);
		assert_int_equal(s.expire_at, 1000000 + 86400);
	}
	/* nothing held: expire_at stays 0 */
	sec_sched_t e = {0};
	sec_failed(&e, &TM, 500);
	assert_int_equal(e.next_at, 500 + 600);
	assert_int_equal(e.expire_at, 0);
}

/* A saved copy confirmed at last_ok expires at last_ok + expire, not at
 * now + expire: a restart does not extend the data's life. */
static void adopt_counts_from_the_saved_copy(void **state)
{
	(void)state;
	sec_sched_t s = {.next_at = 42};
	sec_adopt(&s, &TM, 1000000);
	assert_int_equal(s.last_ok, 1000000);
	assert_int_equal(s.expire_at, 1000000 + 86400);
	assert_int_equal(s.next_at, 42); /* the driver decides the first check */
	assert_false(sec_expired(&s, 1000000 + 86399));
	assert_true(sec_expired(&s, 1000000 + 86400));
}

static void expired_at_exactly_expire_at(void **state)
{
	(void)state;
	sec_sched_t s = {0};
	sec_checked(&s, &TM, 1000000);
	assert_false(sec_expired(&s, 1000000));
	assert_false(sec_expired(&s, 1000000 + 86400 - 1));
	assert_true(sec_expired(&s, 1000000 + 86400));
	assert_true(sec_expired(&s, 1000000 + 86400 + 1));
	/* expire_at 0: nothing held, never expires */
	sec_sched_t none = {.next_at = 10};
	assert_false(sec_expired(&none, 0));
	assert_false(sec_expired(&none, (time_t)1 << 40));
}

static void due_is_expiry_only_when_served_and_first(void **state)
{
	(void)state;
	sec_sched_t s = {.next_at = 2000, .expire_at = 1500};
	assert_int_equal(sec_due(&s, true), 1500);  /* served, expiry first */
	assert_int_equal(sec_due(&s, false), 2000); /* nothing served to expire */
	s.expire_at = 2500;
	assert_int_equal(sec_due(&s, true), 2000); /* the check comes first */
	assert_int_equal(sec_due(&s, false), 2000);
	s.expire_at = 2000;
	assert_int_equal(sec_due(&s, true), 2000); /* a tie: either is right */
	s.expire_at = 0;
	assert_int_equal(sec_due(&s, true), 2000); /* nothing held */
	/* retries after failures run into the expiry: wake for it */
	sec_sched_t r = {0};
	sec_checked(&r, &TM, 1000000);
	sec_failed(&r, &TM, 1000000 + 86000);
	assert_int_equal(r.next_at, 1000000 + 86600);
	assert_int_equal(sec_due(&r, true), 1000000 + 86400);
}

/* ---- serials --------------------------------------------------------------- */

static void should_transfer_by_rfc1982(void **state)
{
	(void)state;
	static const struct {
		uint32_t ours, theirs;
		bool want;
	} cases[] = {
	    {1, 2, true},
	    {2, 1, false},
	    {7, 7, false},
	    {0, 0, false},
	    {0xFFFFFFF0u, 5, true},            /* newer across the wrap */
	    {5, 0xFFFFFFF0u, false},           /* older across the wrap */
	    {0xFFFFFFFFu, 0, true},            /* the smallest step over the wrap */
	    {0, 0xFFFFFFFFu, false},           /* and back */
	    {100, 100 + 0x7FFFFFFFu, true},    /* the largest step forward */
	    {100 + 0x7FFFFFFFu, 100, false},   /* seen from the other side */
	    {100, 100 + 0x80000000u, false},   /* 2^31 apart: undefined */
	    {100 + 0x80000000u, 100, false},   /* both ways */
	    {0, 0x80000000u, false},           /* undefined */
	    {0x80000000u, 0, false},           /* undefined */
	    {0x7FFFFFFFu, 0xFFFFFFFFu, false}, /* undefined */
	    {0x7FFFFFFFu, 0xFFFFFFFEu, true},  /* one short of it */
	};
	for (size_t i = 0; i < N(cases); i++)
		if (sec_should_transfer(true, cases[i].ours, cases[i].theirs) != cases[i].want)
			fail_msg("case %zu: ours %u theirs %u: want %s", i, cases[i].ours,
			         cases[i].theirs, cases[i].want ? "transfer" : "none");
}

static void should_transfer_when_nothing_held(void **state)
{
	(void)state;
	/* ours is meaningless then: every serial is wanted, even an "older" one */
	const uint32_t v[] = {0, 1, 5, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFF0u, 0xFFFFFFFFu};
	for (size_t i = 0; i < N(v); i++) {
		assert_true(sec_should_transfer(false, 0, v[i]));
		assert_true(sec_should_transfer(false, v[i], v[i]));
		assert_true(sec_should_transfer(false, v[i] + 10, v[i]));
	}
}

static void accept_serial_refuses_rollback_unless_forced(void **state)
{
	(void)state;
	/* advances: accepted, forced or not */
	assert_true(sec_accept_serial(true, 1, 2, false));
	assert_true(sec_accept_serial(true, 0xFFFFFFF0u, 5, false));
	/* equal, older, undefined: refused */
	assert_false(sec_accept_serial(true, 7, 7, false));
	assert_false(sec_accept_serial(true, 7, 6, false));
	assert_false(sec_accept_serial(true, 5, 0xFFFFFFF0u, false));
	assert_false(sec_accept_serial(true, 0, 0x80000000u, false));
	/* a forced retransfer may go back or stay */
	assert_true(sec_accept_serial(true, 7, 7, true));
	assert_true(sec_accept_serial(true, 7, 6, true));
	assert_true(sec_accept_serial(true, 5, 0xFFFFFFF0u, true));
	assert_true(sec_accept_serial(true, 0, 0x80000000u, true));
	/* nothing held: anything is accepted */
	assert_true(sec_accept_serial(false, 7, 6, false));
	assert_true(sec_accept_serial(false, 7, 7, false));
	assert_true(sec_accept_serial(false, 0, 0x80000000u, false));
}

/* ---- the NOTIFY set -------------------------------------------------------- */

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void pending_coalesces(void **state)
{
	(void)state;
	sec_pending_t p = {0};
	assert_int_equal(sec_pending_add(&p, "a.example"), 1);
	assert_int_equal(sec_pending_add(&p, "a.example"), 0);
	assert_int_equal(sec_pending_add(&p, "b.example"), 1);
	assert_int_equal(sec_pending_add(&p, "a.example"), 0);
	assert_int_equal(sec_pending_add(&p, "b.example"), 0);
	assert_int_equal(p.n, 2);
	/* many NOTIFYs for a few zones: still one entry each */
	char name[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "z%d.example", i % 40);
		assert_in_range(sec_pending_add(&p, name), 0, 1);
	}
	assert_int_equal(p.n, 42);
	sec_pending_deinit(&p);
	assert_int_equal(p.n, 0);
	assert_null(p.v);
}

static void pending_take_hands_over_and_empties(void **state)
{
	(void)state;
	sec_pending_t p = {0};
	assert_int_equal(sec_pending_add(&p, "a.example"), 1);
	assert_int_equal(sec_pending_add(&p, "b.example"), 1);
	assert_int_equal(sec_pending_add(&p, "a.example"), 0);
	size_t n = 99;
	char **v = sec_pending_take(&p, &n);
	assert_int_equal(n, 2);
	assert_non_null(v);
	assert_string_equal(v[0], "a.example");
	assert_string_equal(v[1], "b.example");
	assert_int_equal(p.n, 0);
	assert_null(p.v);
	/* empty again: the same zone is new once more, the taken names are ours */
	assert_int_equal(sec_pending_add(&p, "a.example"), 1);
	assert_string_equal(v[0], "a.example");
	free_names(v, n);
	/* take from an empty set: nothing */
	sec_pending_t e = {0};
	v = sec_pending_take(&e, &n);
	assert_int_equal(n, 0);
	free_names(v, n);
	sec_pending_deinit(&p); /* frees the one left; ASan checks */
	sec_pending_deinit(&p); /* and is safe twice */
}

#define T(f) cmocka_unit_test(f)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(timers_without_bounds_are_the_soa),
	    T(timers_clamped_by_each_bound),
	    T(timers_without_soa_retry_soon_and_never_expire),
	    T(checked_moves_next_and_expiry),
	    T(failed_moves_next_only),
	    T(adopt_counts_from_the_saved_copy),
	    T(expired_at_exactly_expire_at),
	    T(due_is_expiry_only_when_served_and_first),
	    T(should_transfer_by_rfc1982),
	    T(should_transfer_when_nothing_held),
	    T(accept_serial_refuses_rollback_unless_forced),
	    T(pending_coalesces),
	    T(pending_take_hands_over_and_empties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
