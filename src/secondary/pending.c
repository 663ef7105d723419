/* The zones that got an accepted NOTIFY since the main loop last looked.
 * A zone is in the set once however many NOTIFYs arrive (RFC 1996 4.4
 * lets a secondary coalesce them): one SOA check answers them all. The
 * caller provides the locking (net/notify_in.c: workers add, the main
 * loop takes). */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "secondary/secondary.h"

int sec_pending_add(sec_pending_t *p, const char *zone)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i], zone) == 0)
			return 0;
	if (arr_grow((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v), 8) != 0)
		return SRVD_ENOMEM;
	if (!(p->v[p->n] = strdup(zone)))
		return SRVD_ENOMEM;
	p->n++;
	return 1;
}

char **sec_pending_take(sec_pending_t *p, size_t *n)
{
	char **v = p->v;
	*n = p->n;
	*p = (sec_pending_t){0};
	return v;
}

void sec_pending_deinit(sec_pending_t *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	*p = (sec_pending_t){0};
}
