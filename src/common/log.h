/* Logging: one line per event, to stderr or syslog, with levels.
 * Thread-safe (each line is one write). */
#ifndef SRVD_COMMON_LOG_H
#define SRVD_COMMON_LOG_H

typedef enum { LOG_LVL_ERROR = 0, LOG_LVL_WARNING, LOG_LVL_INFO, LOG_LVL_DEBUG } log_level_t;

void log_setup(log_level_t level, int use_syslog);
int log_level_parse(const char *s, log_level_t *out);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
