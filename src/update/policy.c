/* UPDATE policy (RFC 3007): grants that say which key, or for unsigned
 * requests which address, may change which names and types of one zone.
 *
 * A key is the narrowest thing a web host can be given: the `acme:`
 * shortcut grants TXT at _acme-challenge and _acme-challenge.<any name>,
 * which is all an ACME DNS-01 client writes, and nothing that would let a
 * stolen key move matrix.example.com or the zone's NS. Name patterns are
 * compiled once, when the server state is made, into absolute lower-case
 * wire names, so a check is a few compares.
 */
#include <stdlib.h>
#include <string.h>

#include "common/acl.h"
#include "update/update.h"
#include "wire/dns.h"
#include "wire/name.h"

static const uint8_t acme_label[] = "\x0f_acme-challenge";

/* "x.y" relative to the origin -> absolute lower-case wire. */
static int absolute(const char *rel, const uint8_t *lorigin, uint8_t *out, size_t *len)
{
	size_t olen = wire_name_len(lorigin);
	if (strcmp(rel, "@") == 0 || rel[0] == 0) {
		memcpy(out, lorigin, olen);
		*len = olen;
		return 0;
	}
	uint8_t w[255];
	size_t n = 0;
	if (wire_name_from_str(rel, w, &n) != 0 || n - 1 + olen > 255)
		return SRVD_EINVAL;
	size_t l = strlen(rel);
	if (rel[l - 1] == '.') { /* already absolute: must be in the zone */
		wire_name_lower(out, w, n);
		*len = n;
		return wire_name_is_sub(out, lorigin) ? 0 : SRVD_EINVAL;
	}
	wire_name_lower(out, w, n - 1);
	memcpy(out + n - 1, lorigin, olen);
	*len = n - 1 + olen;
	return 0;
}

static int compile_name(const char *s, const uint8_t *lorigin, upd_name_t *out)
{
	out->kind = UPD_NAME_EXACT;
	if (strcmp(s, "*") == 0) {
		out->kind = UPD_NAME_BELOW;
		s = "@";
	} else if (strncmp(s, "*.", 2) == 0) {
		out->kind = UPD_NAME_BELOW;
		s += 2;
	}
	return absolute(s, lorigin, out->lname, &out->len);
}

static int compile(const srvd_update_grant_t *g, const uint8_t *lorigin, upd_grant_t *out)
{
	static const uint16_t txt = DNS_T_TXT;
	out->who = g->who;
	size_t nn = g->acme ? 1 : g->n_names, nt = g->acme ? 1 : g->n_types;
	out->names = nn ? calloc(nn, sizeof(*out->names)) : NULL;
	out->types = nt ? calloc(nt, sizeof(*out->types)) : NULL;
	if ((nn && !out->names) || (nt && !out->types))
		return SRVD_ENOMEM;
	out->n_names = nn;
	out->n_types = nt;
	if (g->acme) {
		out->names[0].kind = UPD_NAME_ACME;
		out->types[0] = txt;
		return 0;
	}
	if (nt)
		memcpy(out->types, g->types, nt * sizeof(*out->types));
	for (size_t i = 0; i < nn; i++)
		if (!g->names[i] || compile_name(g->names[i], lorigin, &out->names[i]) != 0)
			return SRVD_EINVAL;
	return 0;
}

int upd_policy_init(const srvd_update_grant_t *g, size_t n, const uint8_t *lorigin,
                    upd_policy_t *out)
{
	upd_policy_t p = {n ? calloc(n, sizeof(*p.v)) : NULL, n};
	if (n && !p.v)
		return SRVD_ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = compile(&g[i], lorigin, &p.v[i]);
	if (rc) {
		upd_policy_deinit(&p);
		return rc;
	}
	*out = p;
	return 0;
}

void upd_policy_deinit(upd_policy_t *p)
{
	for (size_t i = 0; p->v && i < p->n; i++) {
		free(p->v[i].names);
		free(p->v[i].types);
	}
	free(p->v);
	*p = (upd_policy_t){0};
}

static bool is_acme(const uint8_t *owner)
{
	if (owner[0] != sizeof(acme_label) - 2)
		return false;
	for (size_t i = 1; i <= owner[0]; i++)
		if (wire_lower(owner[i]) != acme_label[i])
			return false;
	return true;
}

static bool name_ok(const upd_name_t *p, const uint8_t *owner)
{
	switch (p->kind) {
	case UPD_NAME_ACME: return is_acme(owner);
	case UPD_NAME_EXACT: return wire_name_eq(owner, p->lname);
	case UPD_NAME_BELOW:
		return !wire_name_eq(owner, p->lname) && wire_name_is_sub(owner, p->lname);
	}
	return false;
}

static bool type_ok(const upd_grant_t *g, uint16_t type)
{
	if (!g->n_types)
		return true;
	if (type == DNS_T_ANY)
		return false; /* deleting a whole name takes a grant of every type */
	for (size_t i = 0; i < g->n_types; i++)
		if (g->types[i] == type)
			return true;
	return false;
}

static bool who_ok(const upd_grant_t *g, const uint8_t *key, const void *sockaddr)
{
	if (g->who.family == 0) {
		if (!key)
			return false;
		size_t n = wire_name_len(key);
		return n <= sizeof(g->who.key) && memcmp(g->who.key, key, n) == 0 &&
		       (n == sizeof(g->who.key) || g->who.key[n] == 0);
	}
	/* an address grant serves unsigned requests only: a signed one is
	 * judged by its key alone */
	return !key && acl_match(&g->who, 1, sockaddr);
}

bool upd_policy_knows(const upd_policy_t *p, const uint8_t *key, const void *sockaddr)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (who_ok(&p->v[i], key, sockaddr))
			return true;
	return false;
}

bool upd_policy_allows(const upd_policy_t *p, const uint8_t *key, const void *sockaddr,
                       const uint8_t *owner, uint16_t type)
{
	for (size_t i = 0; p && i < p->n; i++) {
		const upd_grant_t *g = &p->v[i];
		if (!who_ok(g, key, sockaddr) || !type_ok(g, type))
			continue;
		if (!g->n_names)
			return true;
		for (size_t k = 0; k < g->n_names; k++)
			if (name_ok(&g->names[k], owner))
				return true;
	}
	return false;
}
