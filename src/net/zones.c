/* Building the zone set the daemon serves, at start-up and on reload.
 *
 * Each zone loads on its own so that one bad file costs only that zone: on
 * reload a zone that fails keeps the version being served (the same
 * srvd_zone_t, referenced again), and at start-up it is left out. Either way
 * every finding is logged with file:line, and one summary line per zone
 * says what is being served. This file does no I/O besides the loader's and
 * never touches libuv, so it runs on any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/log.h"
#include "net/net.h"

void net_zone_src(const conf_t *c, const conf_zone_t *z, srvd_zone_src_t *out)
{
	memset(out, 0, sizeof(*out));
	out->origin = z->name;
	out->path = z->file;
	if (z->allow_transfer_set) {
		out->allow_transfer = z->allow_transfer;
		out->n_allow_transfer = z->n_allow_transfer;
	} else {
		out->allow_transfer = c->allow_transfer;
		out->n_allow_transfer = c->n_allow_transfer;
	}
}

static void log_diag(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                     unsigned line, const char *msg)
{
	(void)ctx;
	log_level_t lvl = level == SRVD_DIAG_ERROR ? LOG_LVL_ERROR : LOG_LVL_WARNING;
	const char *what = level == SRVD_DIAG_ERROR ? "error" : "warning";
	if (file && line)
		log_msg(lvl, "%s:%u: %s: zone %s: %s", file, line, what, zone, msg);
	else if (file)
		log_msg(lvl, "%s: %s: zone %s: %s", file, what, zone, msg);
	else
		log_msg(lvl, "zone %s: %s: %s", zone, what, msg);
}

/* Names compare without case and without a trailing dot. */
static int same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static srvd_zone_t *find_old(const srvd_zoneset_t *old, const char *name)
{
	size_t n = srvd_zoneset_count(old);
	for (size_t i = 0; i < n; i++) {
		srvd_zone_t *z = srvd_zoneset_at(old, i);
		srvd_zone_info_t info;
		if (srvd_zone_info(z, &info) == 0 && same_name(info.origin, name))
			return z;
	}
	return NULL;
}

static double elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Load one zone into *out, or fall back to the old version. Returns 0 when
 * the new version loaded. *out stays NULL when there is nothing to serve. */
static int load_one(const conf_t *c, const conf_zone_t *cz, const srvd_zoneset_t *old,
                    srvd_zone_t **out)
{
	srvd_zone_src_t src;
	net_zone_src(c, cz, &src);
	srvd_diag_t diag = {.fn = log_diag};
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	srvd_zone_t *z = NULL;
	int rc = srvd_zone_load(&src, &z, &diag);
	srvd_zone_info_t info;
	if (rc == 0 && srvd_zone_info(z, &info) == 0) {
		log_info("zone %s: serial %u, %zu records, %u warnings, loaded in %.1f ms",
		         info.origin, info.serial, info.records, diag.warnings, elapsed_ms(&t0));
		*out = z;
		return 0;
	}
	srvd_zone_t *prev = old ? find_old(old, cz->name) : NULL;
	if (prev && srvd_zone_info(prev, &info) == 0) {
		log_err("zone %s: not loaded from %s (%u errors: %s), still serving serial %u",
		        cz->name, cz->file, diag.errors, srvd_strerror(rc), info.serial);
		srvd_zone_ref(prev);
		*out = prev;
	} else {
		log_err("zone %s: not loaded from %s (%u errors: %s), not served", cz->name,
		        cz->file, diag.errors, srvd_strerror(rc));
	}
	return rc ? rc : SRVD_EZONE;
}

int net_zones_load(const conf_t *c, const srvd_zoneset_t *old, srvd_zoneset_t **out,
                   unsigned *failed)
{
	srvd_zone_t **zones = calloc(c->n_zones + 1, sizeof(*zones));
	if (!zones)
		return SRVD_ENOMEM;
	size_t n = 0;
	unsigned bad = 0;
	for (size_t i = 0; i < c->n_zones; i++) {
		srvd_zone_t *z = NULL;
		if (load_one(c, &c->zones[i], old, &z))
			bad++;
		if (z)
			zones[n++] = z;
	}
	srvd_zoneset_t *zs = NULL;
	int rc = srvd_zoneset_new(zones, n, &zs);
	for (size_t i = 0; i < n; i++)
		srvd_zone_unref(zones[i]);
	free(zones);
	if (rc) {
		log_err("zone set: %s", srvd_strerror(rc));
		return rc;
	}
	*out = zs;
	*failed = bad;
	return 0;
}
