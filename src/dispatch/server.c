/* srvd_server_t: what one published state of a server answers from. A
 * zone set, a keyring, the zone rules and the guard (guard.c), bundled so that the network
 * layer publishes one pointer (and retires one) however many of them a
 * reload changed. Making one is cheap: references and a copy of the rules,
 * which are few (one per zone that takes NOTIFY or has a journal). */
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "wire/name.h"

static void grants_free(srvd_update_grant_t *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++) {
		for (size_t k = 0; g[i].names && k < g[i].n_names; k++)
			free((char *)g[i].names[k]);
		free((void *)g[i].names);
		free((void *)g[i].types);
	}
	free(g);
}

static void rules_free(dsp_rule_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].origin);
		free(v[i].notify_from);
		grants_free(v[i].grants, v[i].n_grants);
		upd_policy_deinit(&v[i].update);
	}
	free(v);
}

static int grant_copy(const srvd_update_grant_t *in, srvd_update_grant_t *out)
{
	*out = *in;
	out->names = NULL;
	out->types = NULL;
	char **names = in->n_names ? calloc(in->n_names, sizeof(*names)) : NULL;
	uint16_t *types = in->n_types ? malloc(in->n_types * sizeof(*types)) : NULL;
	out->names = (const char *const *)names;
	out->types = types;
	if ((in->n_names && !names) || (in->n_types && !types))
		return SRVD_ENOMEM;
	if (types)
		memcpy(types, in->types, in->n_types * sizeof(*types));
	for (size_t k = 0; k < in->n_names; k++)
		if (!in->names[k] || !(names[k] = strdup(in->names[k])))
			return SRVD_ENOMEM;
	return 0;
}

/* The grants are kept as given (so dsp_server_derive can pass them on)
 * and compiled against the origin. */
static int grants_copy(const srvd_zone_rule_t *in, dsp_rule_t *out)
{
	if (in->n_update && !in->update)
		return SRVD_EINVAL;
	if (!in->n_update)
		return 0;
	out->grants = calloc(in->n_update, sizeof(*out->grants));
	if (!out->grants)
		return SRVD_ENOMEM;
	out->n_grants = in->n_update;
	for (size_t i = 0; i < in->n_update; i++) {
		int rc = grant_copy(&in->update[i], &out->grants[i]);
		if (rc)
			return rc;
	}
	return upd_policy_init(out->grants, out->n_grants, out->lorigin, &out->update);
}

static int rule_copy(const srvd_zone_rule_t *in, xfr_journal_t *jnl, dsp_rule_t *out)
{
	if (!in->origin || (in->n_notify_from && !in->notify_from))
		return SRVD_EINVAL;
	uint8_t w[255];
	size_t len = 0;
	if (wire_name_from_str(in->origin, w, &len) != 0)
		return SRVD_EINVAL;
	wire_name_lower(out->lorigin, w, len);
	out->lorigin_len = len;
	out->secondary = in->secondary != 0;
	out->journal = jnl;
	out->origin = strdup(in->origin);
	size_t bytes = in->n_notify_from * sizeof(srvd_prefix_t);
	out->notify_from = bytes ? malloc(bytes) : NULL;
	if (!out->origin || (bytes && !out->notify_from))
		return SRVD_ENOMEM;
	if (bytes)
		memcpy(out->notify_from, in->notify_from, bytes);
	out->n_notify_from = in->n_notify_from;
	return grants_copy(in, out);
}

int dsp_server_new(srvd_zoneset_t *zs, srvd_keyring_t *keys, const srvd_zone_rule_t *rules,
                   xfr_journal_t *const *journals, size_t n_rules, srvd_server_t **out)
{
	if (!zs || (n_rules && !rules) || !out)
		return SRVD_EINVAL;
	srvd_server_t *s = calloc(1, sizeof(*s));
	dsp_rule_t *v = n_rules ? calloc(n_rules, sizeof(*v)) : NULL;
	if (!s || (n_rules && !v)) {
		free(s);
		free(v);
		return SRVD_ENOMEM;
	}
	int rc = 0;
	for (size_t i = 0; i < n_rules && rc == 0; i++)
		rc = rule_copy(&rules[i], journals ? journals[i] : NULL, &v[i]);
	if (rc) {
		rules_free(v, n_rules);
		free(s);
		return rc;
	}
	atomic_init(&s->refs, 1);
	srvd_zoneset_ref(zs);
	srvd_keyring_ref(keys);
	s->zs = zs;
	s->keys = keys;
	s->rules = v;
	s->n_rules = n_rules;
	*out = s;
	return 0;
}

int srvd_server_new(srvd_zoneset_t *zs, srvd_keyring_t *keys, const srvd_zone_rule_t *rules,
                    size_t n_rules, srvd_server_t **out)
{
	return dsp_server_new(zs, keys, rules, NULL, n_rules, out);
}

int dsp_server_derive(const srvd_server_t *old, srvd_zoneset_t *zs, srvd_keyring_t *keys,
                      srvd_server_t **out)
{
	size_t n = old->n_rules;
	srvd_zone_rule_t *v = n ? calloc(n, sizeof(*v)) : NULL;
	xfr_journal_t **j = n ? calloc(n, sizeof(*j)) : NULL;
	int rc = n && (!v || !j) ? SRVD_ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const dsp_rule_t *r = &old->rules[i];
		v[i] = (srvd_zone_rule_t){r->origin,        r->secondary, r->notify_from,
		                          r->n_notify_from, r->grants,    r->n_grants};
		j[i] = r->journal;
	}
	srvd_server_t *s = NULL;
	if (rc == 0)
		rc = dsp_server_new(zs ? zs : old->zs, keys ? keys : old->keys, v, j, n, &s);
	if (rc == 0)
		rc = dsp_server_set_guard(s, old->guard);
	free(v);
	free(j);
	if (rc)
		srvd_server_unref(s);
	else
		*out = s;
	return rc;
}

void srvd_server_ref(srvd_server_t *s)
{
	if (s)
		atomic_fetch_add(&s->refs, 1);
}

void srvd_server_unref(srvd_server_t *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	rules_free(s->rules, s->n_rules);
	dsp_guard_free(s->guard);
	srvd_keyring_unref(s->keys);
	srvd_zoneset_unref(s->zs);
	free(s);
}

const srvd_zoneset_t *srvd_server_zoneset(const srvd_server_t *s)
{
	return s ? s->zs : NULL;
}

const dsp_rule_t *dsp_server_rule(const srvd_server_t *s, const uint8_t *lorigin, size_t len)
{
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].lorigin_len == len &&
		    memcmp(s->rules[i].lorigin, lorigin, len) == 0)
			return &s->rules[i];
	return NULL;
}
