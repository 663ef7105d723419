/* Service: dnstap output (server: dnstap:), src/dnstap/ on the workers.
 *
 * The output is set up at start, at the first after_reload, before any
 * worker runs: each worker gets its end (worker_t.dt), a ring and an fstrm
 * input queue of its own, and logs from udp.c and tcp.c with no lock and
 * no allocation. Changing dnstap: in a reload takes a restart (the line
 * says so): swapping the output under running workers would need a grace
 * period for something that changes once in a server's life.
 *
 * The I/O thread is stopped in free, after the workers are joined and freed
 * (net_free frees the services after the workers), so nobody submits to a
 * queue that is gone and every ring outlives its messages.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dnstap/dnstap.h"
#include "net/net_int.h"

typedef struct net_dnstap {
	net_t *n;
	dt_out_t *out;
	bool started; /* the first after_reload has run */
	char *what;   /* the settings in force, to see a change */
} net_dnstap_t;

static char *describe(const conf_dnstap_t *d)
{
	size_t cap = 512 + d->n_zones * 256 + d->n_qtypes * 8;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	size_t k = (size_t)snprintf(s, cap, "%s %s %u", d->socket ? "socket" : "file",
	                            d->socket ? d->socket
	                            : d->file ? d->file
	                                      : "-",
	                            d->sample);
	for (size_t i = 0; i < d->n_zones && k < cap; i++)
		k += (size_t)snprintf(s + k, cap - k, " %s", d->zones[i]);
	for (size_t i = 0; i < d->n_qtypes && k < cap; i++)
		k += (size_t)snprintf(s + k, cap - k, " %u", d->qtypes[i]);
	return s;
}

static int dnstap_init(net_t *n, void **state)
{
	net_dnstap_t *d = calloc(1, sizeof(*d));
	if (!d)
		return SRVD_ENOMEM;
	d->n = n;
	*state = d;
	return 0;
}

static void start(net_dnstap_t *d, const conf_t *c)
{
	net_t *n = d->n;
	const conf_dnstap_t *dc = &c->dnstap;
	char version[64];
	snprintf(version, sizeof(version), "srvd %s", SRVD_VERSION_STRING);
	int rc = dt_out_new(dc, n->n_workers, c->identity, version, &d->out);
	if (rc) {
		log_err("dnstap: cannot write to %s: %s", dc->socket ? dc->socket : dc->file,
		        srvd_strerror(rc));
		return;
	}
	for (unsigned i = 0; i < n->n_workers; i++)
		n->workers[i]->dt = dt_out_worker(d->out, i);
	log_info("dnstap: AUTH_QUERY and AUTH_RESPONSE to %s %s (1 query in %u)",
	         dc->socket ? "socket" : "file", dc->socket ? dc->socket : dc->file,
	         dc->sample ? dc->sample : 1);
}

static void dnstap_after_reload(void *state)
{
	net_dnstap_t *d = state;
	const conf_t *c = net_reload_conf(d->n);
	if (!c)
		return;
	bool on = c->dnstap.socket || c->dnstap.file;
	char *what = on ? describe(&c->dnstap) : NULL;
	if (!d->started) {
		d->started = true;
		d->what = what;
		if (on)
			start(d, c);
		return;
	}
	bool same = (!what && !d->what) || (what && d->what && strcmp(what, d->what) == 0);
	if (!same)
		log_warn("dnstap: the new settings apply at the next start");
	free(what);
}

static void dnstap_free(void *state)
{
	net_dnstap_t *d = state;
	if (!d)
		return;
	dt_out_free(d->out); /* the workers are freed already (net_free) */
	free(d->what);
	free(d);
}

void net_dnstap_counts(const net_t *n, uint64_t *logged, uint64_t *dropped)
{
	*logged = *dropped = 0;
	for (unsigned i = 0; i < n->n_workers; i++) {
		if (!n->workers[i]->dt)
			continue;
		dt_counts_t c;
		dt_worker_counts(n->workers[i]->dt, &c);
		*logged += c.logged;
		*dropped += c.dropped + c.too_big;
	}
}

const net_service_t net_dnstap_service = {
    .name = "dnstap",
    .init = dnstap_init,
    .after_reload = dnstap_after_reload,
    .free = dnstap_free,
};
