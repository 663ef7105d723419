/* NOTIFY in, the network side: srvd_dispatch judges a NOTIFY on the worker
 * that got it (src/dispatch/notify.c) and names the zone in its result;
 * this file carries that name to the main loop, which hands it to the
 * secondary zones' refresh (net_secondary_notified).
 *
 * A zone is queued once however many NOTIFYs come before the main loop
 * takes it (secondary/pending.c). NOTIFY is rare, so the set sits behind a
 * mutex; queries never touch it. Copying the name is the one allocation a
 * NOTIFY costs in the daemon (srvd_dispatch makes none), and only the
 * first of a burst pays it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/net_int.h"
#include "secondary/secondary.h"

struct net_notified {
	uv_mutex_t mu;
	uv_async_t async;
	sec_pending_t pending;
};

static void on_async(uv_async_t *h)
{
	net_t *n = h->data;
	struct net_notified *q = n->notified;
	size_t k = 0;
	uv_mutex_lock(&q->mu);
	char **v = sec_pending_take(&q->pending, &k);
	uv_mutex_unlock(&q->mu);
	for (size_t i = 0; i < k; i++) {
		net_services_notified(n, v[i]);
		free(v[i]);
	}
	free(v);
}

void net_notified_push(net_t *n, const char *zone)
{
	struct net_notified *q = n->notified;
	if (!q || !zone)
		return;
	net_zev_notify(n, zone, true);
	uv_mutex_lock(&q->mu);
	int rc = sec_pending_add(&q->pending, zone);
	uv_mutex_unlock(&q->mu);
	if (rc == 1)
		uv_async_send(&q->async);
	else if (rc < 0)
		log_err("notify: zone %s: out of memory; the next refresh timer will check it",
		        zone);
}

int net_notified_init(net_t *n)
{
	struct net_notified *q = calloc(1, sizeof(*q));
	if (!q)
		return SRVD_ENOMEM;
	uv_mutex_init(&q->mu);
	uv_async_init(&n->loop, &q->async, on_async);
	q->async.data = n;
	n->notified = q;
	return 0;
}

void net_notified_stop(net_t *n)
{
	struct net_notified *q = n->notified;
	if (q && !uv_is_closing((uv_handle_t *)&q->async))
		uv_close((uv_handle_t *)&q->async, NULL);
}

/* After the workers have stopped and the main loop has closed. */
void net_notified_free(net_t *n)
{
	struct net_notified *q = n->notified;
	if (!q)
		return;
	sec_pending_deinit(&q->pending);
	uv_mutex_destroy(&q->mu);
	free(q);
	n->notified = NULL;
}
