/* The refresh schedule of a secondary zone (RFC 1035 4.3.5) and its
 * serial decisions (RFC 1982), as pure functions of the SOA, the config's
 * bounds and the time given. The driver in src/net/secondary.c turns
 * their answers into uv timers; tests/unit/test_refresh.c checks them. */
#include "secondary/secondary.h"
#include "wire/serial.h"

static uint32_t clamp(uint32_t v, unsigned lo, unsigned hi)
{
	if (lo && v < lo)
		v = lo;
	if (hi && v > hi)
		v = hi;
	return v;
}

sec_timers_t sec_timers(bool have_soa, uint32_t refresh, uint32_t retry, uint32_t expire,
                        const conf_timers_t *b)
{
	sec_timers_t t = {SEC_DEFAULT_RETRY, SEC_DEFAULT_RETRY, 0};
	if (have_soa)
		t = (sec_timers_t){refresh, retry, expire};
	t.refresh = clamp(t.refresh, b->refresh_min, b->refresh_max);
	t.retry = clamp(t.retry, b->retry_min, b->retry_max);
	if (have_soa) /* nothing held, nothing to expire: expire-min must not invent it */
		t.expire = clamp(t.expire, b->expire_min, b->expire_max);
	return t;
}

void sec_checked(sec_sched_t *s, const sec_timers_t *t, time_t now)
{
	s->last_ok = now;
	s->next_at = now + t->refresh;
	s->expire_at = now + t->expire;
}

void sec_failed(sec_sched_t *s, const sec_timers_t *t, time_t now)
{
	s->next_at = now + t->retry;
}

void sec_adopt(sec_sched_t *s, const sec_timers_t *t, time_t last_ok)
{
	s->last_ok = last_ok;
	s->expire_at = last_ok + t->expire;
}

bool sec_expired(const sec_sched_t *s, time_t now)
{
	return s->expire_at && now >= s->expire_at;
}

time_t sec_due(const sec_sched_t *s, bool served)
{
	if (served && s->expire_at && s->expire_at < s->next_at)
		return s->expire_at;
	return s->next_at;
}

bool sec_should_transfer(bool held, uint32_t ours, uint32_t theirs)
{
	return !held || wire_serial_gt(theirs, ours);
}

bool sec_accept_serial(bool held, uint32_t ours, uint32_t theirs, bool forced)
{
	return forced || !held || wire_serial_gt(theirs, ours);
}
