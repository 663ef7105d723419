/* The text exposition format of Prometheus, written into a growing
 * buffer. Out of memory sticks, so writers check once at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

static bool reserve(metrics_text_t *t, size_t more)
{
	if (t->failed)
		return false;
	if (t->len + more < t->cap)
		return true;
	size_t cap = t->cap ? t->cap : 4096;
	while (cap <= t->len + more)
		cap *= 2;
	char *b = realloc(t->buf, cap);
	if (!b) {
		t->failed = true;
		return false;
	}
	t->buf = b;
	t->cap = cap;
	return true;
}

void metrics_printf(metrics_text_t *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(t, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void metrics_family(metrics_text_t *t, const char *name, const char *type, const char *help)
{
	metrics_printf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_label(metrics_text_t *t, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			metrics_printf(t, "\\\\");
		else if (*p == '"')
			metrics_printf(t, "\\\"");
		else if (*p == '\n')
			metrics_printf(t, "\\n");
		else
			metrics_printf(t, "%c", *p);
	}
}

void metrics_text_free(metrics_text_t *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}
