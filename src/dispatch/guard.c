/* srvd_server_with_guard: the RRL and cookie settings a server carries.
 *
 * They are part of the published server, like the keyring, because the
 * daemon changes them at run time (a reload, and the cookie secret's
 * rotation) and workers must see a whole set at once without a lock: a
 * new secret is a new server, published with the same RCU step as a new
 * zone set. The mutable part of RRL, the table, is per responder. */
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch.h"

enum { RRL_WINDOW = 15, RRL_V4 = 24, RRL_V6 = 56, RRL_RATE_MAX = 1000000, RRL_WINDOW_MAX = 3600 };

void dsp_guard_free(dsp_guard_t *g)
{
	if (g)
		free(g->exempt);
	free(g);
}

static int guard_dup(const dsp_guard_t *in, dsp_guard_t **out)
{
	dsp_guard_t *g = malloc(sizeof(*g));
	size_t bytes = in->rrl.n_exempt * sizeof(srvd_prefix_t);
	srvd_prefix_t *ex = bytes ? malloc(bytes) : NULL;
	if (!g || (bytes && !ex)) {
		free(g);
		free(ex);
		return SRVD_ENOMEM;
	}
	*g = *in;
	if (bytes)
		memcpy(ex, in->exempt, bytes);
	g->exempt = ex;
	g->rrl.exempt = ex;
	*out = g;
	return 0;
}

int dsp_server_set_guard(srvd_server_t *s, const dsp_guard_t *g)
{
	dsp_guard_t *copy = NULL;
	int rc = g ? guard_dup(g, &copy) : 0;
	if (rc)
		return rc;
	dsp_guard_free(s->guard);
	s->guard = copy;
	s->rrl = copy && copy->rrl.rate > 0;
	return 0;
}

static int check(const srvd_guard_conf_t *c)
{
	const srvd_rrl_conf_t *r = &c->rrl;
	if (r->rate > RRL_RATE_MAX || r->window > RRL_WINDOW_MAX || r->ipv4_prefix > 32 ||
	    r->ipv6_prefix > 128 || (r->n_exempt && !r->exempt))
		return SRVD_EINVAL;
	if (c->cookies != SRVD_COOKIES_OFF && c->cookies != SRVD_COOKIES_ON &&
	    c->cookies != SRVD_COOKIES_REQUIRE)
		return SRVD_EINVAL;
	for (size_t i = 0; i < r->n_exempt; i++)
		if ((r->exempt[i].family != 4 || r->exempt[i].bits > 32) &&
		    (r->exempt[i].family != 6 || r->exempt[i].bits > 128))
			return SRVD_EINVAL;
	return 0;
}

/* The conf with its defaults filled in; exempt still the caller's. */
static void settle(const srvd_guard_conf_t *c, dsp_guard_t *g)
{
	memset(g, 0, sizeof(*g));
	g->rrl = c->rrl;
	if (!g->rrl.window)
		g->rrl.window = RRL_WINDOW;
	if (!g->rrl.ipv4_prefix)
		g->rrl.ipv4_prefix = RRL_V4;
	if (!g->rrl.ipv6_prefix)
		g->rrl.ipv6_prefix = RRL_V6;
	g->exempt = (srvd_prefix_t *)c->rrl.exempt;
	g->debt = (int32_t)(g->rrl.rate * g->rrl.window);
	g->cookies = c->cookies;
	memcpy(g->secret, c->secret, sizeof(g->secret));
	memcpy(g->previous, c->previous, sizeof(g->previous));
	g->has_previous = c->has_previous != 0;
}

int srvd_server_with_guard(const srvd_server_t *s, const srvd_guard_conf_t *c, srvd_server_t **out)
{
	if (!s || !out || (c && check(c) != 0))
		return SRVD_EINVAL;
	srvd_server_t *n = NULL;
	int rc = dsp_server_derive(s, NULL, NULL, &n);
	if (rc)
		return rc;
	dsp_guard_t g;
	if (c)
		settle(c, &g);
	rc = dsp_server_set_guard(n, c ? &g : NULL);
	if (rc) {
		srvd_server_unref(n);
		return rc;
	}
	*out = n;
	return 0;
}
