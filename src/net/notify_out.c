/* NOTIFY out (RFC 1996): when a zone gets a new serial (and at start-up),
 * tell each address of its `notify:` list over UDP, and retry until it
 * answers.
 *
 * The message comes from src/xfr (xfr_query_notify: opcode NOTIFY, AA, the
 * question <zone> SOA, and the new SOA in the answer section as a hint). It
 * is sent from one unbound UDP socket per address family on the main loop.
 * A response counts when it comes from the address we sent to, with our ID,
 * QR set and opcode NOTIFY (RFC 1996 4.7); anything else is ignored. Each
 * target is retried after 1, 2, 4, 8 and 16 s (5 tries in all, then given
 * up). An error rcode is an answer too: it is logged and ends the retries.
 * A newer serial of the same zone replaces the NOTIFYs still in flight.
 * A zone with a TSIG `key:` signs its NOTIFYs, and its answers must verify
 * (RFC 8945); an answer that says our key was refused ends the retries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "net/net_int.h"
#include "wire/dns.h"
#include "xfr/tsig.h"
#include "xfr/xfr.h"
#include "zone/zone.h"

enum { TRIES = 5, FIRST_WAIT_MS = 1000, MSG_MAX = 1232 };

typedef struct target {
	link_t link;
	struct net_notify *nn;
	uv_timer_t timer;
	char *key;
	char zone[256];
	uint8_t origin[255];
	uint32_t serial;
	struct sockaddr_storage sa;
	char text[80];
	uint8_t msg[MSG_MAX];
	size_t len;
	uint16_t id;
	unsigned tries;
	bool done;
	bool signed_; /* the zone has a key: the message is signed, the answer must be */
	xfr_tsig_key_t tkey;
	xfr_tsig_t tsig;
} target_t;

typedef struct usock {
	uv_udp_t h;
	bool init, ok;
} usock_t;

struct net_notify {
	net_t *n;
	usock_t v4, v6;
	link_t targets;
	bool stopped;
	uint8_t rbuf[MSG_MAX];
};

/* ---- targets --------------------------------------------------------------- */

static void on_target_closed(uv_handle_t *h)
{
	target_t *t = h->data;
	xfr_tsig_deinit(&t->tsig);
	free(t->key);
	free(t);
}

static void drop(target_t *t)
{
	if (t->done)
		return;
	t->done = true;
	link_remove(&t->link);
	uv_close((uv_handle_t *)&t->timer, on_target_closed);
}

static uint16_t new_id(void)
{
	uint16_t id = 0;
	if (uv_random(NULL, NULL, &id, sizeof(id), 0, NULL))
		id = (uint16_t)rand();
	return id;
}

static int addr_of(const conf_addr_t *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(a->host, ':'))
		return uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)out);
	return uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)out);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags);

static void alloc_rbuf(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct net_notify *nn = h->data;
	(void)hint;
	*buf = uv_buf_init((char *)nn->rbuf, sizeof(nn->rbuf));
}

/* The socket for a family, opened on first use. */
static uv_udp_t *sock_for(struct net_notify *nn, int family)
{
	usock_t *s = family == AF_INET6 ? &nn->v6 : &nn->v4;
	if (s->init)
		return s->ok ? &s->h : NULL;
	s->init = true;
	uv_udp_init(&nn->n->loop, &s->h);
	s->h.data = nn;
	struct sockaddr_storage any;
	if (family == AF_INET6)
		uv_ip6_addr("::", 0, (struct sockaddr_in6 *)&any);
	else
		uv_ip4_addr("0.0.0.0", 0, (struct sockaddr_in *)&any);
	int rc = uv_udp_bind(&s->h, (const struct sockaddr *)&any, 0);
	if (rc == 0)
		rc = uv_udp_recv_start(&s->h, alloc_rbuf, on_recv);
	if (rc) {
		log_err("notify: cannot open a UDP socket: %s", uv_strerror(rc));
		return NULL;
	}
	s->ok = true;
	return &s->h;
}

static void on_timer(uv_timer_t *h);

static void send_one(target_t *t)
{
	uv_udp_t *u = sock_for(t->nn, t->sa.ss_family);
	t->tries++;
	uv_buf_t b = uv_buf_init((char *)t->msg, (unsigned)t->len);
	int rc = u ? uv_udp_try_send(u, &b, 1, (const struct sockaddr *)&t->sa) : UV_EBADF;
	if (rc < 0)
		log_debug("notify: zone %s to %s: %s", t->zone, t->text, uv_strerror(rc));
	else
		log_debug("notify: zone %s serial %u to %s (try %u)", t->zone, t->serial, t->text,
		          t->tries);
	if (rc >= 0)
		net_zev_notify(t->nn->n, t->key, false);
	uv_timer_start(&t->timer, on_timer, (uint64_t)FIRST_WAIT_MS << (t->tries - 1), 0);
}

static void on_timer(uv_timer_t *h)
{
	target_t *t = h->data;
	if (t->tries < TRIES) {
		send_one(t);
		return;
	}
	log_warn("notify: zone %s serial %u: no answer from %s after %u tries", t->zone, t->serial,
	         t->text, t->tries);
	drop(t);
}

static bool same_peer(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* The answer must be ours: ID, QR, opcode NOTIFY, and (when present) the
 * zone's question. An error rcode is an answer, and ends the retries. */
static bool answered(target_t *t, const uint8_t *msg, size_t len)
{
	rd_t r;
	rd_init(&r, msg, len);
	xfr_err_t err = {0};
	xfr_hdr_t h;
	int rc = xfr_read_head(&r, t->origin, DNS_T_SOA, DNS_OP_NOTIFY, t->id, false, &err, &h);
	if ((rc == 0 || err.fail == XFR_FAIL_RCODE) && t->signed_ &&
	    xfr_tsig_verify(&t->tsig, msg, len) != 0) {
		log_warn("notify: zone %s serial %u: %s: answer's TSIG %s: %s", t->zone, t->serial,
		         t->text, xfr_tsig_status_name(t->tsig.status), t->tsig.why);
		return t->tsig.status == XFR_TSIG_PEER_ERROR; /* it rejected our key: stop */
	}
	if (rc == 0) {
		log_info("notify: zone %s serial %u: %s acknowledged", t->zone, t->serial, t->text);
		return true;
	}
	if (err.fail == XFR_FAIL_RCODE) {
		log_warn("notify: zone %s serial %u: %s answered %s", t->zone, t->serial, t->text,
		         xfr_rcode_name(err.rcode));
		return true;
	}
	log_debug("notify: zone %s: ignored a reply from %s: %s", t->zone, t->text, err.why);
	return false;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
	struct net_notify *nn = h->data;
	(void)flags;
	if (nread < 12 || !addr)
		return;
	const uint8_t *msg = (const uint8_t *)buf->base;
	uint16_t id = get_u16(msg);
	for (link_t *l = nn->targets.next; l != &nn->targets; l = l->next) {
		target_t *t = CONTAINER_OF(l, target_t, link);
		if (t->id == id && same_peer(&t->sa, addr)) {
			if (answered(t, msg, (size_t)nread))
				drop(t);
			return;
		}
	}
}

/* ---- starting and cancelling -------------------------------------------------- */

/* "Example.COM." names the zone whose table key is "example.com". */
static bool names_key(const char *name, const char *key)
{
	size_t n = strlen(name), k = strlen(key);
	if (n > 1 && name[n - 1] == '.')
		n--;
	return n == k && strncasecmp(name, key, n) == 0;
}

/* Sign t's message with the zone's `key:`, when it has one (RFC 8945). */
static int sign(struct net_notify *nn, target_t *t)
{
	const conf_t *c = net_reload_conf(nn->n);
	const conf_zone_t *cz = NULL;
	for (size_t i = 0; c && i < c->n_zones && !cz; i++)
		if (names_key(c->zones[i].name, t->key))
			cz = &c->zones[i];
	const conf_key_t *k = cz && cz->key ? conf_key_find(c, cz->key) : NULL;
	if (!k)
		return 0;
	if (xfr_tsig_key_init(k->name, k->algorithm, k->secret, &t->tkey))
		return SRVD_EINVAL;
	xfr_tsig_init(&t->tsig, &t->tkey);
	t->signed_ = true;
	return xfr_tsig_sign(&t->tsig, t->msg, t->len, t->msg, sizeof(t->msg), &t->len);
}

static target_t *new_target(struct net_notify *nn, const ztab_zone_t *z, const conf_addr_t *a)
{
	target_t *t = calloc(1, sizeof(*t));
	if (!t || !(t->key = strdup(z->src.key))) {
		free(t);
		return NULL;
	}
	const zone_t *v = z->ver;
	t->nn = nn;
	memcpy(t->origin, v->origin, v->origin_len);
	srvd_zone_info_t info;
	srvd_zone_info(v, &info);
	snprintf(t->zone, sizeof(t->zone), "%s", info.origin);
	t->serial = info.serial;
	t->id = new_id();
	bool v6 = strchr(a->host, ':') != NULL;
	snprintf(t->text, sizeof(t->text), v6 ? "[%s]@%u" : "%s@%u", a->host, a->port);
	if (addr_of(a, &t->sa) ||
	    xfr_query_notify(t->origin, v, t->id, t->msg, sizeof(t->msg), &t->len) || sign(nn, t)) {
		log_err("notify: zone %s to %s: cannot build the message", t->zone, t->text);
		xfr_tsig_deinit(&t->tsig);
		free(t->key);
		free(t);
		return NULL;
	}
	return t;
}

void net_notify_cancel(net_t *n, const char *key)
{
	struct net_notify *nn = n->notify;
	if (!nn)
		return;
	for (link_t *l = nn->targets.next; l != &nn->targets;) {
		target_t *t = CONTAINER_OF(l, target_t, link);
		l = l->next;
		if (strcmp(t->key, key) == 0)
			drop(t);
	}
}

void net_notify_zone(net_t *n, const ztab_zone_t *z)
{
	struct net_notify *nn = n->notify;
	if (!nn || nn->stopped || !z->ver)
		return;
	net_notify_cancel(n, z->src.key);
	for (size_t i = 0; i < z->src.n_notify; i++) {
		target_t *t = new_target(nn, z, &z->src.notify[i]);
		if (!t)
			continue;
		uv_timer_init(&n->loop, &t->timer);
		t->timer.data = t;
		link_push_back(&nn->targets, &t->link);
		send_one(t);
	}
}

int net_notify_init(net_t *n)
{
	struct net_notify *nn = calloc(1, sizeof(*nn));
	if (!nn)
		return SRVD_ENOMEM;
	nn->n = n;
	link_init(&nn->targets);
	n->notify = nn;
	return 0;
}

void net_notify_stop(net_t *n)
{
	struct net_notify *nn = n->notify;
	if (!nn || nn->stopped)
		return;
	nn->stopped = true;
	while (!link_empty(&nn->targets))
		drop(CONTAINER_OF(nn->targets.next, target_t, link));
	if (nn->v4.init)
		uv_close((uv_handle_t *)&nn->v4.h, NULL);
	if (nn->v6.init)
		uv_close((uv_handle_t *)&nn->v6.h, NULL);
}

void net_notify_free(net_t *n)
{
	free(n->notify);
	n->notify = NULL;
}
