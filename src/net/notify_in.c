/* NOTIFY in, the network side: srvd_dispatch judges a NOTIFY on the worker
 * that got it (src/dispatch/notify.c) and names the zone in its result;
 * this file carries that name to the main loop, which hands it to the
 * secondary zones' refresh (net_secondary_notified).
 *
 * A zone is queued once however many NOTIFYs come before the main loop
 * takes it (RFC 1996 4.4 allows coalescing). NOTIFY is rare, so the queue
 * is a plain array behind a mutex; queries never touch it. Copying the
 * name is the one allocation a NOTIFY costs, on the worker, and only the
 * first of a burst pays it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/log.h"
#include "net/daemon.h"

struct net_notified {
	uv_mutex_t mu;
	uv_async_t async;
	char **v;
	size_t n, cap;
};

static void on_async(uv_async_t *h)
{
	net_t *n = h->data;
	struct net_notified *q = n->notified;
	uv_mutex_lock(&q->mu);
	char **v = q->v;
	size_t k = q->n;
	q->v = NULL;
	q->n = q->cap = 0;
	uv_mutex_unlock(&q->mu);
	for (size_t i = 0; i < k; i++) {
		net_services_notified(n, v[i]);
		free(v[i]);
	}
	free(v);
}

static bool queued(const struct net_notified *q, const char *zone)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->v[i], zone) == 0)
			return true;
	return false;
}

void net_notified_push(net_t *n, const char *zone)
{
	struct net_notified *q = n->notified;
	if (!q || !zone)
		return;
	bool wake = false;
	uv_mutex_lock(&q->mu);
	if (!queued(q, zone) && arr_grow((void **)&q->v, &q->cap, q->n + 1, sizeof(*q->v)) == 0 &&
	    (q->v[q->n] = strdup(zone)) != NULL) {
		q->n++;
		wake = true;
	}
	uv_mutex_unlock(&q->mu);
	if (wake)
		uv_async_send(&q->async);
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
	for (size_t i = 0; i < q->n; i++)
		free(q->v[i]);
	free(q->v);
	uv_mutex_destroy(&q->mu);
	free(q);
	n->notified = NULL;
}
