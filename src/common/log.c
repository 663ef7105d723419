/* Logging backend: formats a line with level and time, writes it once.
 *
 * Under systemd (JOURNAL_STREAM set: stderr is connected to the journal)
 * a line starts with its syslog priority, "<3>" to "<7>" (sd-daemon(3)),
 * and carries no time of its own: journald stamps it, and a second stamp
 * only clutters `journalctl`. Otherwise: ISO time, pid and level. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static log_level_t g_level = LOG_LVL_INFO;
static int g_syslog;
static int g_journal = -1; /* -1: not looked at yet */

static const char *const names[] = {"error", "warning", "info", "debug"};

void log_setup(log_level_t level, int use_syslog)
{
	g_level = level;
	if (use_syslog && !g_syslog)
		openlog("srvd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	g_syslog = use_syslog;
}

int log_level_parse(const char *s, log_level_t *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (log_level_t)i;
			return 0;
		}
	}
	return -1;
}

static void write_line(const char *out, int m, size_t cap)
{
	if (m > 0) {
		size_t len = (size_t)m < cap ? (size_t)m : cap - 1;
		ssize_t r = write(STDERR_FILENO, out, len);
		(void)r;
	}
}

void log_msg(log_level_t level, const char *fmt, ...)
{
	if (level > g_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (g_syslog) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		syslog(prio[level], "%s", line);
		return;
	}
	if (g_journal < 0)
		g_journal = getenv("JOURNAL_STREAM") != NULL;
	char out[1100];
	int m;
	if (g_journal) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		m = snprintf(out, sizeof(out), "<%d>%s: %s\n", prio[level], names[level], line);
		write_line(out, m, sizeof(out));
		return;
	}
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	m = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02dZ srvd[%d] %s: %s\n",
	             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             (int)getpid(), names[level], line);
	write_line(out, m, sizeof(out));
}
