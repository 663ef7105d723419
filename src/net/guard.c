/* The guard of the served state: RRL settings and the DNS cookie secret,
 * published in srvd_server_t (srvd_server_with_guard) like the keyring.
 *
 * The secret is the config's cookie-secret when it names one (an anycast
 * group shares it, and rotates it by changing the config), else 16 random
 * bytes made at start and replaced every cookie-rotate seconds by a uv
 * timer here. Either way the secret it replaces stays as the previous
 * one, which still validates: a cookie handed out just before a rotation
 * keeps working until the next one (RFC 9018 asks for an hour at least;
 * the default rotation is an hour).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "net/net_int.h"

struct net_guard {
	uv_timer_t rotate;
	bool timer_on;
	uint8_t secret[16], previous[16];
	bool has_secret, has_previous;
};

static int random16(uint8_t out[16])
{
	if (getrandom(out, 16, 0) != 16) {
		log_err("cookies: getrandom failed; no new secret");
		return SRVD_EIO;
	}
	return 0;
}

/* Make s the secret; the one it replaces becomes the previous. */
static void take_secret(struct net_guard *g, const uint8_t s[16])
{
	if (g->has_secret && memcmp(g->secret, s, 16) == 0)
		return;
	if (g->has_secret) {
		memcpy(g->previous, g->secret, 16);
		g->has_previous = true;
	}
	memcpy(g->secret, s, 16);
	g->has_secret = true;
}

static void publish(net_t *n)
{
	struct net_guard *g = n->guard;
	const conf_t *c = net_reload_conf(n);
	srvd_guard_conf_t gc = {
	    .rrl = {.rate = c->rrl.on ? c->rrl.rate : 0,
	            .slip = c->rrl.slip,
	            .window = c->rrl.window,
	            .ipv4_prefix = (uint8_t)c->rrl.ipv4_prefix,
	            .ipv6_prefix = (uint8_t)c->rrl.ipv6_prefix,
	            .exempt = c->rrl.exempt,
	            .n_exempt = c->rrl.n_exempt,
	            .log_only = c->rrl.log_only},
	    .cookies = (srvd_cookies_t)c->cookies,
	    .has_previous = g->has_previous,
	};
	memcpy(gc.secret, g->secret, 16);
	memcpy(gc.previous, g->previous, 16);
	net_publish_guard(n, &gc);
}

static void on_rotate(uv_timer_t *t)
{
	net_t *n = t->data;
	uint8_t s[16];
	if (random16(s) != 0)
		return;
	take_secret(n->guard, s);
	log_info("cookies: secret rotated; the previous one still validates");
	publish(n);
}

/* The timer runs only for a secret of our own making. */
static void arm(net_t *n, const conf_t *c)
{
	struct net_guard *g = n->guard;
	bool want = c->cookies != SRVD_COOKIES_OFF && !c->has_cookie_secret;
	uint64_t ms = 1000u * (uint64_t)c->cookie_rotate;
	if (want)
		uv_timer_start(&g->rotate, on_rotate, ms, ms);
	else
		uv_timer_stop(&g->rotate);
}

void net_guard_update(net_t *n)
{
	struct net_guard *g = n->guard;
	const conf_t *c = net_reload_conf(n);
	if (!g || !c)
		return;
	uint8_t s[16];
	if (c->has_cookie_secret)
		take_secret(g, c->cookie_secret);
	else if ((!g->has_secret || g->timer_on != !c->has_cookie_secret) && random16(s) == 0)
		take_secret(g, s);
	g->timer_on = !c->has_cookie_secret;
	arm(n, c);
	publish(n);
	static const char *const modes[] = {"off", "on", "require"};
	if (c->rrl.on)
		log_info("rrl: %u/s per prefix, slip %u, window %u s, /%u and /%u, %zu exempt%s",
		         c->rrl.rate, c->rrl.slip, c->rrl.window, c->rrl.ipv4_prefix,
		         c->rrl.ipv6_prefix, c->rrl.n_exempt, c->rrl.log_only ? ", log-only" : "");
	else
		log_info("rrl: off");
	log_info("cookies: %s%s", modes[c->cookies % 3],
	         c->cookies && !c->has_cookie_secret ? ", secret of our own, rotated" : "");
}

int net_guard_init(net_t *n)
{
	struct net_guard *g = calloc(1, sizeof(*g));
	if (!g)
		return SRVD_ENOMEM;
	uv_timer_init(&n->loop, &g->rotate);
	g->rotate.data = n;
	n->guard = g;
	return 0;
}

void net_guard_stop(net_t *n)
{
	if (n->guard)
		uv_close((uv_handle_t *)&n->guard->rotate, NULL);
}

void net_guard_free(net_t *n)
{
	free(n->guard);
	n->guard = NULL;
}
