/* The workers' side of secondary zones: NOTIFY in (RFC 1996) and IXFR out
 * from the journals, and the registry of secondary zones they consult.
 *
 * NOTIFY is intercepted before srvd_respond, only for zones in the
 * registry (the secondary zones); a NOTIFY for a zone we are primary for,
 * or don't serve, goes on to srvd_respond, which answers NOTAUTH. For a
 * secondary zone: a TSIG, when present, must verify with a configured key
 * (else the RFC 8945 5.2 error answer); the peer is allowed when its
 * address is in notify-from, or the key that signed it is. An allowed
 * NOTIFY is answered NOERROR (srvd_respond_notify: question and OPT
 * echoed; signed when the query was) and the zone is queued for the main
 * loop, which checks the SOA at once. A queued zone is queued once, however
 * many NOTIFYs come before the main loop takes it (coalescing). A peer not
 * allowed gets REFUSED and a log line.
 *
 * NOTIFY is rare, so the registry is a plain array behind a mutex; the
 * query path never touches it.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"
#include "common/array.h"
#include "common/buf.h"
#include "common/log.h"
#include "net/secondary.h"
#include "wire/dns.h"
#include "wire/name.h"

enum { NOT_MINE = 1 };

struct net_sec_reg {
	net_t *n;
	uv_mutex_t mu;
	uv_async_t async;
	void (*wake)(net_t *n);
	net_sec_entry_t *v;
	size_t nv;
	xfr_tsig_key_t *keys;
	size_t nk;
	atomic_bool have_keys; /* read without the mutex: no keys, no TSIG parsing */
	char **pending;
	size_t n_pending, cap_pending;
};

/* ---- the registry ---------------------------------------------------------------- */

static void free_entries(net_sec_entry_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].acl);
		for (size_t k = 0; k < v[i].n_keys; k++)
			free(v[i].keys[k]);
		free(v[i].keys);
	}
	free(v);
}

void net_sec_registry_set(net_t *n, net_sec_entry_t *v, size_t nv, xfr_tsig_key_t *keys, size_t nk)
{
	struct net_sec_reg *g = n->secreg;
	uv_mutex_lock(&g->mu);
	net_sec_entry_t *ov = g->v;
	size_t onv = g->nv;
	xfr_tsig_key_t *ok = g->keys;
	g->v = v;
	g->nv = nv;
	g->keys = keys;
	g->nk = nk;
	atomic_store(&g->have_keys, nk > 0);
	uv_mutex_unlock(&g->mu);
	free_entries(ov, onv);
	free(ok);
}

size_t net_sec_registry_take(net_t *n, char ***out)
{
	struct net_sec_reg *g = n->secreg;
	uv_mutex_lock(&g->mu);
	*out = g->pending;
	size_t k = g->n_pending;
	g->pending = NULL;
	g->n_pending = g->cap_pending = 0;
	uv_mutex_unlock(&g->mu);
	return k;
}

static void on_async(uv_async_t *h)
{
	struct net_sec_reg *g = h->data;
	g->wake(g->n);
}

int net_sec_registry_init(net_t *n, void (*wake)(net_t *n))
{
	struct net_sec_reg *g = calloc(1, sizeof(*g));
	if (!g)
		return SRVD_ENOMEM;
	g->n = n;
	g->wake = wake;
	uv_mutex_init(&g->mu);
	uv_async_init(&n->loop, &g->async, on_async);
	g->async.data = g;
	n->secreg = g;
	return 0;
}

void net_sec_registry_stop(net_t *n)
{
	struct net_sec_reg *g = n->secreg;
	if (g && !uv_is_closing((uv_handle_t *)&g->async))
		uv_close((uv_handle_t *)&g->async, NULL);
}

/* After the workers have stopped and the main loop has closed. */
void net_sec_registry_free(net_t *n)
{
	struct net_sec_reg *g = n->secreg;
	if (!g)
		return;
	free_entries(g->v, g->nv);
	free(g->keys);
	for (size_t i = 0; i < g->n_pending; i++)
		free(g->pending[i]);
	free(g->pending);
	uv_mutex_destroy(&g->mu);
	free(g);
	n->secreg = NULL;
}

static const net_sec_entry_t *find_entry(const struct net_sec_reg *g, const uint8_t *lname,
                                         size_t len)
{
	for (size_t i = 0; i < g->nv; i++)
		if (g->v[i].origin_len == len && memcmp(g->v[i].origin, lname, len) == 0)
			return &g->v[i];
	return NULL;
}

static bool queue(struct net_sec_reg *g, const char *key)
{
	for (size_t i = 0; i < g->n_pending; i++)
		if (strcmp(g->pending[i], key) == 0)
			return true; /* coalesced */
	if (arr_grow((void **)&g->pending, &g->cap_pending, g->n_pending + 1, sizeof(*g->pending),
	             8))
		return false;
	char *k = strdup(key);
	if (!k)
		return false;
	g->pending[g->n_pending++] = k;
	return true;
}

/* ---- NOTIFY ---------------------------------------------------------------------- */

static bool addr_allowed(const net_sec_entry_t *e, const struct sockaddr *sa)
{
	return acl_match(e->acl, e->n_acl, sa);
}

static bool key_allowed(const net_sec_entry_t *e, const xfr_tsig_key_t *k)
{
	uint8_t w[255];
	size_t len = 0;
	for (size_t i = 0; k && i < e->n_keys; i++) {
		if (wire_name_from_str(e->keys[i], w, &len) == 0) {
			wire_name_lower(w, w, len);
			if (len == k->name_len && memcmp(w, k->name, len) == 0)
				return true;
		}
	}
	return false;
}

static const xfr_tsig_key_t *find_key(const struct net_sec_reg *g, const uint8_t *name)
{
	uint8_t lname[255];
	size_t len = wire_name_len(name);
	wire_name_lower(lname, name, len);
	for (size_t i = 0; i < g->nk; i++)
		if (g->keys[i].name_len == len && memcmp(g->keys[i].name, lname, len) == 0)
			return &g->keys[i];
	return NULL;
}

typedef struct verdict {
	const char *why; /* refused: why */
	bool signed_ok, tsig_error;
	xfr_tsig_t t;
	xfr_tsig_key_t key; /* a copy: the registry may change once unlocked */
} verdict_t;

/* Under the mutex. */
static void judge(struct net_sec_reg *g, const net_sec_entry_t *e, const srvd_query_t *q,
                  bool has_tsig, verdict_t *v)
{
	if (has_tsig) {
		xfr_tsig_rr_t rr;
		const xfr_tsig_key_t *k =
		    xfr_tsig_find(q->wire, q->len, &rr) == 0 ? find_key(g, rr.name) : NULL;
		if (k)
			v->key = *k;
		xfr_tsig_init(&v->t, k ? &v->key : NULL);
		if (!k) {
			v->t.status = XFR_TSIG_BADKEY;
			snprintf(v->t.why, sizeof(v->t.why), "no key of that name");
		}
		if (!k || xfr_tsig_verify(&v->t, q->wire, q->len) != 0) {
			v->tsig_error = true;
			v->why = "TSIG";
			return;
		}
		v->signed_ok = true;
	}
	if (addr_allowed(e, q->src_addr) || (v->signed_ok && key_allowed(e, &v->key)))
		return;
	v->why = "not in notify-from";
}

static const char *peer(const void *sa_, char *buf, size_t cap)
{
	const struct sockaddr *sa = sa_;
	snprintf(buf, cap, "?");
	if (sa && sa->sa_family == AF_INET)
		uv_ip4_name((const struct sockaddr_in *)sa_, buf, cap);
	else if (sa && sa->sa_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)sa_, buf, cap);
	return buf;
}

static int notify_in(net_t *n, srvd_responder_t *r, const srvd_query_t *q, uint8_t *out, size_t cap,
                     size_t *len)
{
	struct net_sec_reg *g = n->secreg;
	xfr_notify_t nt;
	xfr_err_t err = {0};
	if (!g || xfr_notify_parse(q->wire, q->len, &err, &nt) != 0)
		return NOT_MINE;
	uint8_t lname[255];
	wire_name_lower(lname, nt.origin, nt.origin_len);
	verdict_t v = {0};
	char key[256] = "", who[64], zone[1010];
	bool queued = false;
	uv_mutex_lock(&g->mu);
	const net_sec_entry_t *e = find_entry(g, lname, nt.origin_len);
	if (e && !e->secondary)
		e = NULL; /* a primary zone: srvd_respond says NOTAUTH */
	if (e) {
		judge(g, e, q, nt.tsig, &v);
		snprintf(key, sizeof(key), "%s", e->key);
		queued = !v.why && queue(g, e->key);
	}
	uv_mutex_unlock(&g->mu);
	if (!e)
		return NOT_MINE;
	wire_name_to_str(nt.origin, zone, sizeof(zone));
	peer(q->src_addr, who, sizeof(who));
	int rc;
	if (v.tsig_error) {
		log_warn("notify: zone %s from %s: TSIG %s (%s): refused", zone, who,
		         xfr_tsig_status_name(v.t.status), v.t.why);
		rc = xfr_tsig_error_reply(&v.t, q->wire, q->len, out, cap, len);
	} else {
		if (v.why)
			log_warn("notify: zone %s from %s: refused (%s)", zone, who, v.why);
		else if (nt.has_serial)
			log_info("notify: zone %s serial %u from %s%s", zone, nt.serial, who,
			         v.signed_ok ? " (TSIG)" : "");
		else
			log_info("notify: zone %s from %s%s", zone, who,
			         v.signed_ok ? " (TSIG)" : "");
		rc = srvd_respond_notify(r, q, v.why ? DNS_RC_REFUSED : DNS_RC_NOERROR, out, cap,
		                         len);
		if (rc == 0 && v.signed_ok)
			rc = xfr_tsig_sign(&v.t, out, *len, out, cap, len);
	}
	xfr_tsig_deinit(&v.t);
	if (queued)
		uv_async_send(&g->async);
	return rc == 0 ? 0 : NOT_MINE;
}

static bool is_notify(const srvd_query_t *q)
{
	rd_t r;
	rd_init(&r, q->wire, q->len);
	rd_skip(&r, 2);
	uint16_t flags = rd_u16(&r);
	return !r.err && !(flags & DNS_QR) && ((flags >> 11) & 0xF) == DNS_OP_NOTIFY;
}

int net_sec_respond(net_t *n, srvd_responder_t *r, const srvd_zoneset_t *zs, const srvd_query_t *q,
                    uint8_t *out, size_t cap, size_t *len)
{
	if (is_notify(q) && notify_in(n, r, q, out, cap, len) == 0)
		return SRVD_OK;
	return srvd_respond(r, zs, q, out, cap, len);
}

/* ---- IXFR out -------------------------------------------------------------------- */

/* The query's type and lower-case name, or false. */
static bool question(const srvd_query_t *q, uint8_t lname[255], size_t *nlen, uint16_t *qtype)
{
	rd_t r;
	rd_init(&r, q->wire, q->len);
	rd_seek(&r, DNS_HDR_LEN);
	uint8_t name[255];
	*nlen = wire_name_read(&r, false, name);
	*qtype = rd_u16(&r);
	if (r.err)
		return false;
	wire_name_lower(lname, name, *nlen);
	return true;
}

int net_sec_xfr_new(net_t *n, const srvd_zoneset_t *zs, const srvd_query_t *q, srvd_xfr_t **out,
                    bool *incremental)
{
	struct net_sec_reg *g = n->secreg;
	uint8_t lname[255];
	size_t nlen = 0;
	uint16_t qtype = 0;
	*incremental = false;
	xfr_journal_t *j = NULL;
	if (g && question(q, lname, &nlen, &qtype) && qtype == DNS_T_IXFR) {
		uv_mutex_lock(&g->mu);
		const net_sec_entry_t *e = find_entry(g, lname, nlen);
		j = e ? e->jnl : NULL;
		uv_mutex_unlock(&g->mu);
	}
	if (!j)
		return srvd_xfr_new(zs, q, out);
	return xfr_out_ixfr_new(zs, q, j, incremental, out);
}

/* ---- TSIG on TCP answers --------------------------------------------------------- */

struct net_tsig_srv {
	xfr_tsig_key_t key;
	xfr_tsig_t t;
	char zone[64];
};

size_t net_tsig_srv_reserve(const net_tsig_srv_t *s)
{
	return xfr_tsig_size(&s->key);
}

int net_tsig_srv_sign(net_tsig_srv_t *s, uint8_t *msg, size_t *len, size_t cap)
{
	return xfr_tsig_sign(&s->t, msg, *len, msg, cap, len);
}

void net_tsig_srv_free(net_tsig_srv_t *s)
{
	if (!s)
		return;
	xfr_tsig_deinit(&s->t);
	free(s);
}

static uint16_t arcount(const srvd_query_t *q)
{
	rd_t r;
	rd_init(&r, q->wire, q->len);
	rd_skip(&r, 10);
	uint16_t n = rd_u16(&r);
	return r.err ? 0 : n;
}

/* 0: no TSIG; 1: verified into *out; 2: the error answer is in buf. */
static int tsig_request(net_t *n, const srvd_query_t *q, uint8_t *buf, size_t cap, size_t *len,
                        net_tsig_srv_t **out)
{
	struct net_sec_reg *g = n->secreg;
	xfr_tsig_rr_t rr;
	if (!g || !atomic_load_explicit(&g->have_keys, memory_order_relaxed) || arcount(q) == 0 ||
	    xfr_tsig_find(q->wire, q->len, &rr) != 0)
		return 0;
	net_tsig_srv_t *s = calloc(1, sizeof(*s));
	if (!s)
		return 0;
	uv_mutex_lock(&g->mu);
	const xfr_tsig_key_t *k = find_key(g, rr.name);
	if (k)
		s->key = *k;
	uv_mutex_unlock(&g->mu);
	xfr_tsig_init(&s->t, k ? &s->key : NULL);
	if (k && xfr_tsig_verify(&s->t, q->wire, q->len) == 0) {
		*out = s;
		return 1;
	}
	if (!k) {
		s->t.status = XFR_TSIG_BADKEY;
		snprintf(s->t.why, sizeof(s->t.why), "no key of that name");
	}
	char who[64];
	log_warn("tsig: query from %s: %s (%s)", peer(q->src_addr, who, sizeof(who)),
	         xfr_tsig_status_name(s->t.status), s->t.why);
	int rc = xfr_tsig_error_reply(&s->t, q->wire, q->len, buf, cap, len);
	net_tsig_srv_free(s);
	return rc == 0 ? 2 : 0;
}

int net_sec_respond_signed(net_t *n, srvd_responder_t *r, const srvd_zoneset_t *zs,
                           const srvd_query_t *q, uint8_t *out, size_t cap, size_t *len,
                           net_tsig_srv_t **tsig)
{
	net_tsig_srv_t *s = NULL;
	if (tsig)
		*tsig = NULL;
	if (is_notify(q)) /* notify_in verifies and signs its own */
		return net_sec_respond(n, r, zs, q, out, cap, len);
	switch (tsig_request(n, q, out, cap, len, &s)) {
	case 2: return SRVD_OK;
	case 1: break;
	default: return net_sec_respond(n, r, zs, q, out, cap, len);
	}
	size_t room = net_tsig_srv_reserve(s);
	srvd_query_t signed_q = *q; /* transfer ACLs may grant by the key */
	signed_q.tsig_key = s->key.name;
	int rc =
	    net_sec_respond(n, r, zs, &signed_q, out, cap > room + 512 ? cap - room : cap, len);
	if (rc == SRVD_XFR && tsig) {
		*tsig = s;
		return rc;
	}
	if (rc == SRVD_OK && net_tsig_srv_sign(s, out, len, cap) != 0)
		rc = SRVD_DROP;
	net_tsig_srv_free(s);
	return rc;
}
