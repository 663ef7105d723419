/* Logging backend: formats a line with level and time, writes it once. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static log_level_t g_level = LOG_LVL_INFO;
static int g_syslog;

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
	char out[1100];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int m = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02dZ srvd[%d] %s: %s\n",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, (int)getpid(), names[level], line);
	if (m > 0) {
		size_t len = (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1;
		ssize_t r = write(STDERR_FILENO, out, len);
		(void)r;
	}
}
