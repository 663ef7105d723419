/* The decisions of a secondary zone, without libuv and without a clock:
 * time is an argument, so every rule here is unit-tested with plain
 * numbers. The main-loop driver (src/net/secondary.c) owns the timers,
 * sockets and threads and asks these functions what to do.
 *
 *   refresh.c  the SOA timer schedule (RFC 1035 4.3.5: refresh, retry,
 *              expire, clamped by the config), serial decisions (RFC 1982)
 *   pending.c  the set of zones that got a NOTIFY since the main loop last
 *              looked (coalescing, RFC 1996 4.4)
 */
#ifndef SRVD_SECONDARY_SECONDARY_H
#define SRVD_SECONDARY_SECONDARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"

enum { SEC_DEFAULT_RETRY = 10 }; /* s, before the zone's SOA is known */

/* ---- refresh.c ----------------------------------------------------------- */

typedef struct sec_timers {
	uint32_t refresh, retry, expire;
} sec_timers_t;

/* The zone's SOA timers clamped to the configured bounds (a bound of 0 is
 * no bound). have_soa false: no data yet, so retry soon and never expire. */
sec_timers_t sec_timers(bool have_soa, uint32_t refresh, uint32_t retry, uint32_t expire,
                        const conf_timers_t *bounds);

/* When a zone's next check is due and when its data expires. */
typedef struct sec_sched {
	time_t last_ok;   /* the last successful check against a primary */
	time_t next_at;   /* the next check */
	time_t expire_at; /* data held past this is expired (0: nothing held) */
} sec_sched_t;

/* A primary answered (up to date, or a transfer was served): refresh from
 * now, and the data is good for expire seconds more. */
void sec_checked(sec_sched_t *s, const sec_timers_t *t, time_t now);
/* Every primary failed: try again after retry. expire_at does not move. */
void sec_failed(sec_sched_t *s, const sec_timers_t *t, time_t now);
/* Data held since last_ok (a saved copy at start-up). */
void sec_adopt(sec_sched_t *s, const sec_timers_t *t, time_t last_ok);

/* Should data held and still served expire at now? */
bool sec_expired(const sec_sched_t *s, time_t now);
/* The instant to wake up for: the next check, or the expiry when it comes
 * first and served is true (there is live data that can expire). */
time_t sec_due(const sec_sched_t *s, bool served);

/* After an SOA answer: transfer when we hold nothing, or when the
 * primary's serial is newer than ours in RFC 1982 arithmetic. */
bool sec_should_transfer(bool held, uint32_t ours, uint32_t theirs);
/* A transfer that brought serial theirs: serve it only when it advances
 * ours (a full transfer at a lower or equal serial is a rollback, which
 * only a forced retransfer may do). */
bool sec_accept_serial(bool held, uint32_t ours, uint32_t theirs, bool forced);

/* ---- pending.c ------------------------------------------------------------ */

typedef struct sec_pending {
	char **v;
	size_t n, cap;
} sec_pending_t;

/* Add zone unless it is already pending. 1 when added, 0 when it was
 * there, SRVD_ENOMEM. */
int sec_pending_add(sec_pending_t *p, const char *zone);
/* Hand the pending names (malloc'ed array of malloc'ed strings) to the
 * caller and empty the set; *n counts them. */
char **sec_pending_take(sec_pending_t *p, size_t *n);
void sec_pending_deinit(sec_pending_t *p);

#endif
