/* Serial number arithmetic (RFC 1982) for SOA serials: shared by the
 * responder (IXFR answers), transfers and reloads. */
#ifndef SRVD_WIRE_SERIAL_H
#define SRVD_WIRE_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

/* Returned by wire_serial_cmp when a and b are exactly 2^31 apart: RFC 1982
 * 3.2 leaves that comparison undefined, so neither is newer. */
#define WIRE_SERIAL_UNDEF 2

/* -1 when a is older than b, 0 when equal, 1 when newer, WIRE_SERIAL_UNDEF. */
static inline int wire_serial_cmp(uint32_t a, uint32_t b)
{
	if (a == b)
		return 0;
	uint32_t d = b - a;
	if (d == 0x80000000u)
		return WIRE_SERIAL_UNDEF;
	return d < 0x80000000u ? -1 : 1;
}

/* a older than b (false in the undefined case). */
static inline bool wire_serial_lt(uint32_t a, uint32_t b)
{
	return wire_serial_cmp(a, b) == -1;
}

/* a newer than b (false in the undefined case). */
static inline bool wire_serial_gt(uint32_t a, uint32_t b)
{
	return wire_serial_cmp(a, b) == 1;
}

#endif
