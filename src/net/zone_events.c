/* Per-zone counts of what happens beside queries: transfers in and out
 * (with bytes), NOTIFY in and out, and a secondary's last refresh and
 * expiry, for the metrics endpoint and `srvdctl stats ZONE`.
 *
 * Kept by zone name (lower case, no trailing dot) in a small table behind
 * a mutex: transfers out and NOTIFY in end on the workers, the rest on the
 * main loop, and all of them are rare (nothing here is on the query path:
 * a transfer's end, a NOTIFY accepted). The table is made on first use
 * and freed with the rest of the stats (net_stats_free). A zone's counts
 * stay when it leaves the configuration: they are few, and a zone that
 * comes back goes on counting from where it was, as Prometheus expects.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "net/net_int.h"

typedef struct zev_entry {
	char name[256];
	net_zone_ev_t ev;
} zev_entry_t;

struct net_zev {
	zev_entry_t *v;
	size_t n, cap;
};

/* Guards the making of n->zev and everything in it. One net per process. */
static pthread_mutex_t zev_mu = PTHREAD_MUTEX_INITIALIZER;

static void key_of(const char *zone, char out[256])
{
	size_t k = 0;
	for (; zone[k] && k < 255; k++)
		out[k] = (char)tolower((unsigned char)zone[k]);
	if (k > 1 && out[k - 1] == '.')
		k--;
	out[k] = 0;
}

/* With zev_mu held: the entry for zone, made when add. */
static net_zone_ev_t *entry(net_t *n, const char *zone, bool add)
{
	char key[256];
	key_of(zone, key);
	if (!n->zev && add && !(n->zev = calloc(1, sizeof(*n->zev))))
		return NULL;
	struct net_zev *z = n->zev;
	for (size_t i = 0; z && i < z->n; i++)
		if (strcmp(z->v[i].name, key) == 0)
			return &z->v[i].ev;
	if (!add || !z || arr_grow((void **)&z->v, &z->cap, z->n + 1, sizeof(*z->v), 8) != 0)
		return NULL;
	zev_entry_t *e = &z->v[z->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, key, sizeof(key));
	return &e->ev;
}

void net_zev_xfr_in(net_t *n, const char *zone, uint64_t bytes, bool ok)
{
	pthread_mutex_lock(&zev_mu);
	net_zone_ev_t *e = entry(n, zone, true);
	if (e && ok) {
		e->xfr_in++;
		e->xfr_in_bytes += bytes;
	} else if (e) {
		e->xfr_in_failed++;
	}
	pthread_mutex_unlock(&zev_mu);
}

void net_zev_xfr_out(net_t *n, const srvd_zone_t *z, uint64_t bytes)
{
	srvd_zone_info_t info;
	if (!z || srvd_zone_info(z, &info) != 0)
		return;
	pthread_mutex_lock(&zev_mu);
	net_zone_ev_t *e = entry(n, info.origin, true);
	if (e) {
		e->xfr_out++;
		e->xfr_out_bytes += bytes;
	}
	pthread_mutex_unlock(&zev_mu);
}

void net_zev_notify(net_t *n, const char *zone, bool in)
{
	pthread_mutex_lock(&zev_mu);
	net_zone_ev_t *e = entry(n, zone, true);
	if (e && in)
		e->notify_in++;
	else if (e)
		e->notify_out++;
	pthread_mutex_unlock(&zev_mu);
}

void net_zev_refresh(net_t *n, const char *zone, time_t last_ok, time_t expire_at)
{
	pthread_mutex_lock(&zev_mu);
	net_zone_ev_t *e = entry(n, zone, true);
	if (e) {
		e->secondary = true;
		e->last_refresh = last_ok;
		e->expire_at = expire_at;
	}
	pthread_mutex_unlock(&zev_mu);
}

bool net_zev_get(net_t *n, const char *zone, net_zone_ev_t *out)
{
	pthread_mutex_lock(&zev_mu);
	const net_zone_ev_t *e = entry(n, zone, false);
	if (e)
		*out = *e;
	else
		memset(out, 0, sizeof(*out));
	pthread_mutex_unlock(&zev_mu);
	return e != NULL;
}

void net_zev_free(net_t *n)
{
	pthread_mutex_lock(&zev_mu);
	if (n->zev)
		free(n->zev->v);
	free(n->zev);
	n->zev = NULL;
	pthread_mutex_unlock(&zev_mu);
}
