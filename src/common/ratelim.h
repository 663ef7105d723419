/* Rate limits for log lines about repeated events from one peer, so that
 * a flood of refused requests cannot fill the disk.
 *
 * A small table, bounded: RATELIM_SLOTS peers, each allowed RATELIM_BURST
 * lines per RATELIM_WINDOW seconds, and the whole table RATELIM_TOTAL
 * lines per window whatever the number of peers (a flood from spoofed
 * addresses would otherwise get a fresh entry per packet). A new peer
 * takes the slot whose window started longest ago. The line that opens a
 * new window says how many were left out before it. Time is an input;
 * one table per thread, so nothing here locks.
 */
#ifndef SRVD_COMMON_RATELIM_H
#define SRVD_COMMON_RATELIM_H

#include <stdbool.h>
#include <stdint.h>

enum {
	RATELIM_SLOTS = 16,
	RATELIM_BURST = 3,
	RATELIM_TOTAL = 20,
	RATELIM_WINDOW = 60, /* seconds */
	RATELIM_KEY = 17,    /* family byte + address */
};

typedef struct ratelim_entry {
	uint8_t key[RATELIM_KEY];
	bool used;
	uint32_t lines;
	uint64_t start;
} ratelim_entry_t;

typedef struct ratelim {
	ratelim_entry_t e[RATELIM_SLOTS];
	uint32_t lines;      /* in the table's window */
	uint64_t start;      /* of the table's window */
	uint64_t suppressed; /* since the last line allowed */
} ratelim_t;

/* May a line about key be written at time now (seconds)? When it may,
 * *suppressed is how many lines (any peer) were left out since the last
 * one written. */
bool ratelim_allow(ratelim_t *t, const uint8_t key[RATELIM_KEY], uint64_t now,
                   uint64_t *suppressed);

/* The key of a struct sockaddr (IPv4 or IPv6; anything else shares one
 * key). */
void ratelim_key(const void *sockaddr, uint8_t key[RATELIM_KEY]);

#endif
