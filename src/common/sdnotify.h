/* sd_notify(3) without libsystemd: readiness, reloads, stopping, status
 * and the watchdog, as one datagram each to $NOTIFY_SOCKET. Does nothing
 * when the variable is not set (not under systemd). */
#ifndef SRVD_COMMON_SDNOTIFY_H
#define SRVD_COMMON_SDNOTIFY_H

#include <stdint.h>

/* Send the state lines (printf format, "KEY=value\n..."). 0, or a
 * negative SRVD_E* code (logged once per kind by the caller if it wants). */
int sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* CLOCK_MONOTONIC in microseconds, for MONOTONIC_USEC= with RELOADING=1. */
uint64_t sd_monotonic_usec(void);

/* $WATCHDOG_USEC when it is set for us ($WATCHDOG_PID unset or ours), else 0. */
uint64_t sd_watchdog_usec(void);

#endif
