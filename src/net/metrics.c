/* Service: the Prometheus endpoint (server: metrics:), GET /metrics.
 *
 * HTTP runs on libmicrohttpd's thread (src/metrics/http.c). A scrape there
 * asks the main loop, through a uv_async, for a fresh collection of the
 * workers' counters (stats.c: each worker copies its own, nobody reads
 * them under a lock) and waits, at most METRICS_SCRAPE_MS, on a condition
 * variable for the text. The mutex is shared by the HTTP thread and the
 * main loop only; no worker ever sees it. Scrapes that come while one is
 * collected share the next collection.
 *
 * Counters follow the Prometheus conventions: srvd_ prefix, _total for
 * counters, base units (bytes, seconds), bounded label sets (zone/stats.c
 * for qtype and rcode). Per-zone counters survive reloads (stats.c folds
 * them); a zone that is no longer served disappears.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "metrics/metrics.h"
#include "net/net_int.h"

typedef struct net_metrics {
	net_t *n;
	metrics_http_t *http;
	conf_addr_t addr; /* bound; port 0: off */
	uv_async_t async;
	uv_timer_t reap; /* the whole-request deadline (http.c) */
	net_stats_req_t req;
	bool collecting, closed;
	uv_mutex_t mu; /* the HTTP thread and the main loop; below, guarded */
	uv_cond_t cv;
	uint64_t asked, target, answered;
	char *body;
	size_t len;
	bool stopping;
} net_metrics_t;

/* ---- rendering (main loop) ------------------------------------------------- */

static void counter(metrics_text_t *t, const char *name, const char *help, uint64_t v)
{
	metrics_family(t, name, "counter", help);
	metrics_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

static void gauge(metrics_text_t *t, const char *name, const char *help, uint64_t v)
{
	metrics_family(t, name, "gauge", help);
	metrics_printf(t, "%s %llu\n", name, (unsigned long long)v);
}

static void render_totals(metrics_text_t *t, const net_stats_t *s)
{
	const srvd_stats_t *r = &s->resp;
	metrics_family(t, "srvd_server_queries_total", "counter",
	               "DNS messages received, by transport.");
	metrics_printf(t, "srvd_server_queries_total{transport=\"udp\"} %llu\n",
	               (unsigned long long)s->queries[SRVD_UDP]);
	metrics_printf(t, "srvd_server_queries_total{transport=\"tcp\"} %llu\n",
	               (unsigned long long)s->queries[SRVD_TCP]);
	metrics_family(t, "srvd_server_queries_by_qtype_total", "counter",
	               "Queries answered, every zone and none, by query type (bounded set).");
	for (unsigned i = 0; i < SRVD_ZSTAT_QTYPES; i++)
		if (s->all.queries[i] || i == 9)
			metrics_printf(t, "srvd_server_queries_by_qtype_total{qtype=\"%s\"} %llu\n",
			               srvd_zstat_qtype_name(i),
			               (unsigned long long)s->all.queries[i]);
	metrics_family(t, "srvd_server_responses_total", "counter",
	               "Responses, every zone and none, by rcode (bounded set).");
	for (unsigned i = 0; i < SRVD_ZSTAT_RCODES; i++)
		if (s->all.rcode[i] || i == 0)
			metrics_printf(t, "srvd_server_responses_total{rcode=\"%s\"} %llu\n",
			               srvd_zstat_rcode_name(i),
			               (unsigned long long)s->all.rcode[i]);
	counter(t, "srvd_responses_truncated_total", "Responses with TC set.", r->truncated);
	counter(t, "srvd_queries_dropped_total", "Queries dropped unanswered (unparseable).",
	        r->dropped);
	counter(t, "srvd_udp_send_dropped_total", "UDP answers the kernel did not take.",
	        s->udp_dropped);
	metrics_family(t, "srvd_tsig_failures_total", "counter",
	               "Requests refused for their TSIG, by kind (RFC 8945).");
	static const char *const kinds[] = {NULL,     NULL,      "FORMERR", "BADKEY",
	                                    "BADSIG", "BADTIME", "BADTRUNC"};
	for (unsigned i = 2; i < 7; i++)
		metrics_printf(t, "srvd_tsig_failures_total{kind=\"%s\"} %llu\n", kinds[i],
		               (unsigned long long)r->tsig_failed[i]);
	counter(t, "srvd_dnstap_messages_total",
	        "dnstap messages handed to the collector (AUTH_QUERY and AUTH_RESPONSE).",
	        s->dnstap_logged);
	counter(t, "srvd_dnstap_dropped_total",
	        "dnstap messages lost: the collector was slow or away (queries were answered).",
	        s->dnstap_dropped);
	counter(t, "srvd_tcp_connections_accepted_total", "TCP connections accepted.",
	        s->tcp_accepted);
	counter(t, "srvd_tcp_connections_refused_total",
	        "TCP connections closed at tcp-max-clients to make room.", s->tcp_evicted);
	counter(t, "srvd_tcp_connections_timeout_total", "TCP connections closed idle.",
	        s->tcp_timeouts);
	gauge(t, "srvd_tcp_connections_open", "TCP connections open.", s->tcp_open);
	counter(t, "srvd_transfers_out_total", "Zone transfers started (AXFR/IXFR out).",
	        s->xfr_started);
	counter(t, "srvd_transfers_out_done_total", "Zone transfers out that finished.",
	        s->xfr_done);
	metrics_family(t, "srvd_response_size_bytes", "histogram", "Size of the answers sent.");
	uint64_t cum = 0;
	for (unsigned b = 0; b + 1 < NET_SIZE_BUCKETS; b++) {
		cum += s->size[b];
		metrics_printf(t, "srvd_response_size_bytes_bucket{le=\"%u\"} %llu\n", 64u << b,
		               (unsigned long long)cum);
	}
	cum += s->size[NET_SIZE_BUCKETS - 1];
	metrics_printf(t, "srvd_response_size_bytes_bucket{le=\"+Inf\"} %llu\n",
	               (unsigned long long)cum);
	metrics_printf(t, "srvd_response_size_bytes_sum %llu\n", (unsigned long long)s->size_bytes);
	metrics_printf(t, "srvd_response_size_bytes_count %llu\n", (unsigned long long)cum);
}

/* One sample line of a per-zone family: name{zone="..."<extra>} value */
static void zone_sample(metrics_text_t *t, const char *name, const char *zone, const char *extra,
                        const char *fmt_value, double v)
{
	metrics_printf(t, "%s{zone=\"", name);
	metrics_label(t, zone);
	metrics_printf(t, "\"%s} ", extra);
	metrics_printf(t, fmt_value, v);
	metrics_printf(t, "\n");
}

typedef struct zone_row {
	char label[256]; /* no trailing dot */
	srvd_zone_info_t info;
	srvd_zone_stats_t st;
	net_zone_ev_t ev; /* transfers, NOTIFY, refresh (zone_events.c) */
	const ztab_zone_t *z;
} zone_row_t;

/* One per-zone family from the rows' events: value(row) per zone, only
 * secondaries when secondary_only. */
static void zone_ev_family(metrics_text_t *t, const zone_row_t *rows, size_t n, const char *name,
                           const char *type, const char *help, size_t off, bool secondary_only)
{
	metrics_family(t, name, type, help);
	for (size_t i = 0; i < n; i++) {
		if (secondary_only && !rows[i].ev.secondary)
			continue;
		const char *base = (const char *)&rows[i].ev + off;
		double v = secondary_only ? (double)*(const time_t *)(const void *)base
		                          : (double)*(const uint64_t *)(const void *)base;
		zone_sample(t, name, rows[i].label, "", "%.0f", v);
	}
}

static void render_zone_events(metrics_text_t *t, const zone_row_t *rows, size_t n)
{
#define EV(f) offsetof(net_zone_ev_t, f)
	zone_ev_family(t, rows, n, "srvd_zone_transfers_in_total", "counter",
	               "Transfers in (IXFR or AXFR from a primary) that arrived.", EV(xfr_in),
	               false);
	zone_ev_family(t, rows, n, "srvd_zone_transfers_in_failed_total", "counter",
	               "Transfers in that failed.", EV(xfr_in_failed), false);
	zone_ev_family(t, rows, n, "srvd_zone_transfer_in_bytes_total", "counter",
	               "Bytes of the transfers in that arrived (DNS messages).", EV(xfr_in_bytes),
	               false);
	zone_ev_family(t, rows, n, "srvd_zone_transfers_out_total", "counter",
	               "Transfers out (AXFR/IXFR to a secondary) that finished.", EV(xfr_out),
	               false);
	zone_ev_family(t, rows, n, "srvd_zone_transfer_out_bytes_total", "counter",
	               "Bytes of the transfers out that finished (DNS messages).",
	               EV(xfr_out_bytes), false);
	zone_ev_family(t, rows, n, "srvd_zone_notify_in_total", "counter",
	               "NOTIFY messages accepted for the zone.", EV(notify_in), false);
	zone_ev_family(t, rows, n, "srvd_zone_notify_out_total", "counter",
	               "NOTIFY messages sent for the zone (each try).", EV(notify_out), false);
	zone_ev_family(t, rows, n, "srvd_zone_last_refresh_timestamp_seconds", "gauge",
	               "Secondary: when a primary last confirmed the data (Unix time).",
	               EV(last_refresh), true);
	zone_ev_family(t, rows, n, "srvd_zone_expire_timestamp_seconds", "gauge",
	               "Secondary: when the data expires without a refresh (Unix time).",
	               EV(expire_at), true);
#undef EV
}

static void render_zone_counts(metrics_text_t *t, const zone_row_t *rows, size_t n)
{
	metrics_family(t, "srvd_queries_total", "counter",
	               "Queries a zone answered, by query type (bounded set, else other).");
	for (size_t i = 0; i < n; i++)
		for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++) {
			if (!rows[i].st.queries[q] && q != 9)
				continue; /* SRV always: the Matrix name */
			char extra[48];
			snprintf(extra, sizeof(extra), ",qtype=\"%s\"", srvd_zstat_qtype_name(q));
			zone_sample(t, "srvd_queries_total", rows[i].label, extra, "%.0f",
			            (double)rows[i].st.queries[q]);
		}
	metrics_family(t, "srvd_responses_total", "counter", "Answers a zone gave, by rcode.");
	for (size_t i = 0; i < n; i++)
		for (unsigned c = 0; c < SRVD_ZSTAT_RCODES; c++) {
			if (!rows[i].st.rcode[c] && c != 0)
				continue;
			char extra[48];
			snprintf(extra, sizeof(extra), ",rcode=\"%s\"", srvd_zstat_rcode_name(c));
			zone_sample(t, "srvd_responses_total", rows[i].label, extra, "%.0f",
			            (double)rows[i].st.rcode[c]);
		}
	metrics_family(t, "srvd_zone_answers_total", "counter",
	               "Answers a zone gave, by query type and rcode together (non-zero only).");
	for (size_t i = 0; i < n; i++)
		for (unsigned q = 0; q < SRVD_ZSTAT_QTYPES; q++)
			for (unsigned c = 0; c < SRVD_ZSTAT_RCODES; c++) {
				if (!rows[i].st.n[q][c])
					continue;
				char extra[64];
				snprintf(extra, sizeof(extra), ",qtype=\"%s\",rcode=\"%s\"",
				         srvd_zstat_qtype_name(q), srvd_zstat_rcode_name(c));
				zone_sample(t, "srvd_zone_answers_total", rows[i].label, extra,
				            "%.0f", (double)rows[i].st.n[q][c]);
			}
}

static void render_zone_state(metrics_text_t *t, const zone_row_t *rows, size_t n)
{
	metrics_family(t, "srvd_zone_serial", "gauge", "SOA serial of the version served.");
	for (size_t i = 0; i < n; i++)
		if (rows[i].z->ver)
			zone_sample(t, "srvd_zone_serial", rows[i].label, "", "%.0f",
			            (double)rows[i].info.serial);
	metrics_family(t, "srvd_zone_records", "gauge", "Records in the version served.");
	for (size_t i = 0; i < n; i++)
		if (rows[i].z->ver)
			zone_sample(t, "srvd_zone_records", rows[i].label, "", "%.0f",
			            (double)rows[i].info.records);
	metrics_family(t, "srvd_zone_last_load_timestamp_seconds", "gauge",
	               "When the version served was loaded (Unix time).");
	for (size_t i = 0; i < n; i++)
		if (rows[i].z->ver)
			zone_sample(t, "srvd_zone_last_load_timestamp_seconds", rows[i].label, "",
			            "%.0f", (double)rows[i].z->loaded_at);
	metrics_family(t, "srvd_zone_last_load_ok", "gauge",
	               "1 when the last load of the zone succeeded, 0 when it failed.");
	for (size_t i = 0; i < n; i++)
		zone_sample(t, "srvd_zone_last_load_ok", rows[i].label, "", "%.0f",
		            rows[i].z->error ? 0.0 : 1.0);
	metrics_family(t, "srvd_zone_served", "gauge", "1 when the zone is served.");
	for (size_t i = 0; i < n; i++)
		zone_sample(t, "srvd_zone_served", rows[i].label, "", "%.0f",
		            rows[i].z->ver ? 1.0 : 0.0);
}

static void render_zones(net_t *n, metrics_text_t *t)
{
	const ztab_t *tab = net_reload_table(n);
	zone_row_t *rows = calloc(tab->n ? tab->n : 1, sizeof(*rows));
	if (!rows) {
		t->failed = true;
		return;
	}
	for (size_t i = 0; i < tab->n; i++) {
		zone_row_t *r = &rows[i];
		r->z = tab->v[i];
		snprintf(r->label, sizeof(r->label), "%s", r->z->src.key);
		if (r->z->ver && srvd_zone_info(r->z->ver, &r->info) == 0)
			net_stats_zone(n, r->info.origin, r->z->ver, &r->st);
		net_zev_get(n, r->z->src.key, &r->ev);
	}
	render_zone_counts(t, rows, tab->n);
	render_zone_state(t, rows, tab->n);
	render_zone_events(t, rows, tab->n);
	free(rows);
}

static void render(net_t *n, const net_stats_t *s, metrics_text_t *t)
{
	metrics_family(t, "srvd_build_info", "gauge", "Version of srvd, always 1.");
	metrics_printf(t, "srvd_build_info{version=\"%s\"} 1\n", SRVD_VERSION_STRING);
	gauge(t, "srvd_start_time_seconds", "When srvd started (Unix time).",
	      (uint64_t)n->started_at);
	uint64_t ok = 0, failed = 0;
	net_reload_counts(n, &ok, &failed);
	counter(t, "srvd_reloads_total", "Reloads that applied.", ok);
	counter(t, "srvd_reloads_failed_total", "Reloads that failed (nothing changed).", failed);
	const ztab_t *tab = net_reload_table(n);
	size_t served = 0;
	for (size_t i = 0; i < tab->n; i++)
		served += tab->v[i]->ver != NULL;
	gauge(t, "srvd_zones", "Zones configured.", tab->n);
	gauge(t, "srvd_zones_served", "Zones served.", served);
	render_totals(t, s);
	render_zones(n, t);
}

/* ---- the handshake ------------------------------------------------------------ */

static void collect(net_metrics_t *m);

static void on_collected(net_stats_req_t *r, const net_stats_t *s)
{
	net_metrics_t *m = CONTAINER_OF(r, net_metrics_t, req);
	metrics_text_t t = {0};
	render(m->n, s, &t);
	uv_mutex_lock(&m->mu);
	free(m->body);
	m->body = t.failed ? NULL : t.buf;
	m->len = t.failed ? 0 : t.len;
	if (t.failed)
		free(t.buf);
	m->answered = m->target;
	bool again = m->asked > m->target;
	uv_cond_broadcast(&m->cv);
	uv_mutex_unlock(&m->mu);
	m->collecting = false;
	if (again)
		collect(m);
}

static void collect(net_metrics_t *m)
{
	if (m->collecting || m->closed)
		return;
	uv_mutex_lock(&m->mu);
	m->target = m->asked;
	uv_mutex_unlock(&m->mu);
	m->collecting = true;
	net_stats_collect(m->n, &m->req);
}

static void on_async(uv_async_t *h)
{
	collect(h->data);
}

static int copy_body(const net_metrics_t *m, char **body, size_t *len)
{
	if (!m->body)
		return SRVD_ENOMEM;
	char *b = malloc(m->len ? m->len : 1);
	if (!b)
		return SRVD_ENOMEM;
	memcpy(b, m->body, m->len);
	*body = b;
	*len = m->len;
	return 0;
}

/* On the HTTP thread. */
static int scrape(void *ctx, char **body, size_t *len)
{
	net_metrics_t *m = ctx;
	uint64_t deadline = uv_hrtime() + (uint64_t)METRICS_SCRAPE_MS * 1000000u;
	uv_mutex_lock(&m->mu);
	uint64_t mine = ++m->asked;
	if (!m->stopping)
		uv_async_send(&m->async);
	while (m->answered < mine && !m->stopping) {
		uint64_t now = uv_hrtime();
		if (now >= deadline || uv_cond_timedwait(&m->cv, &m->mu, deadline - now) != 0)
			break;
	}
	int rc = m->answered >= mine ? copy_body(m, body, len) : SRVD_ELIMIT;
	uv_mutex_unlock(&m->mu);
	return rc;
}

/* ---- the service ------------------------------------------------------------- */

static int metrics_init(net_t *n, void **state)
{
	net_metrics_t *m = calloc(1, sizeof(*m));
	if (!m)
		return SRVD_ENOMEM;
	m->n = n;
	m->req.done = on_collected;
	link_init(&m->req.link);
	if (uv_mutex_init(&m->mu) || uv_cond_init(&m->cv)) {
		free(m);
		return SRVD_ENOMEM;
	}
	uv_async_init(&n->loop, &m->async, on_async);
	m->async.data = m;
	uv_timer_init(&n->loop, &m->reap);
	m->reap.data = m;
	*state = m;
	return 0;
}

static void stop_http(net_metrics_t *m)
{
	uv_mutex_lock(&m->mu);
	m->stopping = true;
	uv_cond_broadcast(&m->cv);
	uv_mutex_unlock(&m->mu);
	uv_timer_stop(&m->reap);
	metrics_http_stop(m->http); /* joins the HTTP thread */
	m->http = NULL;
	m->addr.port = 0;
	uv_mutex_lock(&m->mu);
	m->stopping = false;
	uv_mutex_unlock(&m->mu);
}

static void on_reap(uv_timer_t *t)
{
	net_metrics_t *m = t->data;
	metrics_http_reap(m->http);
}

static void start_http(net_metrics_t *m, const conf_addr_t *a)
{
	net_addr_t na;
	if (net_addr_init(a, &na) != 0)
		return;
	if (metrics_http_start((const struct sockaddr *)&na.sa, na.len, scrape, m, &m->http)) {
		log_err("metrics: cannot listen on %s", na.text);
		return;
	}
	m->addr = *a;
	uv_timer_start(&m->reap, on_reap, 1000, 1000);
	log_info("metrics: serving /metrics on %s", na.text);
}

static void metrics_after_reload(void *state)
{
	net_metrics_t *m = state;
	const conf_t *c = net_reload_conf(m->n);
	const conf_addr_t *want = c && c->n_metrics ? &c->metrics[0] : NULL;
	if (want && m->http && want->port == m->addr.port && strcmp(want->host, m->addr.host) == 0)
		return;
	if (m->http)
		stop_http(m);
	if (want)
		start_http(m, want);
}

static void metrics_stop(void *state)
{
	net_metrics_t *m = state;
	if (m->http)
		stop_http(m);
	m->closed = true;
	if (!link_empty(&m->req.link))
		link_remove(&m->req.link);
	uv_close((uv_handle_t *)&m->async, NULL);
	uv_close((uv_handle_t *)&m->reap, NULL);
}

static void metrics_free(void *state)
{
	net_metrics_t *m = state;
	if (!m)
		return;
	free(m->body);
	uv_cond_destroy(&m->cv);
	uv_mutex_destroy(&m->mu);
	free(m);
}

const net_service_t net_metrics_service = {
    .name = "metrics",
    .init = metrics_init,
    .after_reload = metrics_after_reload,
    .stop = metrics_stop,
    .free = metrics_free,
};
