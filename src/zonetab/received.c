/* The reload job's step for a secondary zone (zonetab.h, ztab_received_step): a
 * secondary zone's data comes from transfers, not from its file, so a
 * reload never reads the file again; it only
 *   - serves a version that secondary.c handed over (net_reload_install),
 *   - keeps the entry (or copies it with new settings), or
 *   - for a zone new to the table, loads the saved copy when its state file
 *     says it has not expired; otherwise the zone starts with no version
 *     (not served: REFUSED) until the first transfer.
 * No libuv: this runs on a pool thread, or on the main thread at start-up.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "zonetab/zonetab.h"

static const ztab_install_t *find_install(const ztab_job_t *j, const char *key)
{
	for (size_t i = j->n_installs; i-- > 0;)
		if (strcmp(j->installs[i].key, key) == 0)
			return &j->installs[i];
	return NULL;
}

static ztab_zone_t *bare_entry(ztab_src_t *src)
{
	ztab_zone_t *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->src = *src;
	memset(src, 0, sizeof(*src));
	return e;
}

static bool same_src(const ztab_src_t *a, const ztab_src_t *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->file, b->file) == 0 &&
	       a->secondary == b->secondary && a->n_acl == b->n_acl &&
	       (!a->n_acl || memcmp(a->acl, b->acl, a->n_acl * sizeof(*a->acl)) == 0) &&
	       a->n_notify == b->n_notify &&
	       (!a->n_notify ||
	        memcmp(a->notify, b->notify, a->n_notify * sizeof(*a->notify)) == 0);
}

static ztab_zone_t *installed(const ztab_install_t *ins, ztab_src_t *src, const ztab_zone_t *old,
                              ztab_outcome_t *out)
{
	ztab_zone_t *e = old ? ztab_zone_clone(old, src) : bare_entry(src);
	if (!e)
		return NULL;
	srvd_zone_unref(e->ver);
	e->ver = ins->ver;
	srvd_zone_ref(e->ver);
	e->loaded_at = time(NULL);
	free(e->error);
	e->error = NULL;
	/* an expired placeholder has no SOA: nothing to NOTIFY about */
	*out = srvd_zone_is_expired(e->ver) ? ZTAB_ZONE_UPDATED : ZTAB_ZONE_LOADED;
	return e;
}

static ztab_zone_t *first(ztab_src_t *src, ztab_outcome_t *out)
{
	ztab_zone_t *e;
	if (src->secondary && !ztab_saved_fresh(src->file, time(NULL))) {
		e = bare_entry(src);
	} else {
		e = ztab_zone_load(src, NULL, NULL, 0, false);
		if (e && e->error && src->secondary) /* a copy that does not load: fetch anew */
			log_warn("zone %s: the saved copy does not load; waiting for a transfer",
			         e->src.name);
	}
	*out = e && e->error ? ZTAB_ZONE_FAILED : ZTAB_ZONE_LOADED;
	return e;
}

void ztab_received_step(ztab_job_t *j, ztab_src_t *src, const ztab_zone_t *old)
{
	const ztab_install_t *ins = src->secondary ? find_install(j, src->key) : NULL;
	bool continues =
	    old && old->src.secondary && src->secondary && strcmp(old->src.file, src->file) == 0;
	ztab_outcome_t out = ZTAB_ZONE_KEPT;
	ztab_zone_t *e = NULL;
	if (ins)
		e = installed(ins, src, old, &out);
	else if (continues && !same_src(&old->src, src))
		out = (e = ztab_zone_clone(old, src)) ? ZTAB_ZONE_UPDATED : ZTAB_ZONE_KEPT;
	else if (!continues)
		e = first(src, &out);
	ztab_src_deinit(src);
	if (!e && old) {
		e = (ztab_zone_t *)old;
		out = ZTAB_ZONE_KEPT;
	}
	if (e)
		ztab_job_add(j, e, e == old ? ZTAB_ZONE_KEPT : out, old);
}
