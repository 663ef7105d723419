/* Public entry points that load zones from files (srvd_zone_load,
 * srvd_zoneset_load). They live here because only the loader may use ldns. */
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "loader/loader.h"
#include "loader/snapshot.h"
#include "wire/name.h"

static int load_snapshot(const srvd_zone_src_t *src, zone_t **out)
{
	uint8_t origin[255];
	size_t len;
	char s[1024];
	snprintf(s, sizeof(s), "%s", src->origin);
	if (wire_name_from_str(s, origin, &len) != 0)
		return SRVD_EINVAL;
	zone_t *z = NULL;
	int rc = snapshot_load(src->snapshot, origin, &z);
	/* It must describe this source: the same master file first. */
	if (rc == 0 && (z->n_files == 0 || strcmp(z->files[0], src->path) != 0)) {
		srvd_zone_unref(z);
		rc = SRVD_ENOENT;
	}
	if (rc == 0) {
		z->from_snapshot = true;
		*out = z;
	}
	return rc;
}

int srvd_zone_load(const srvd_zone_src_t *src, srvd_zone_t **out, srvd_diag_t *diag)
{
	if (!src || !src->origin || !src->path || !out)
		return SRVD_EINVAL;
	zone_t *z = NULL;
	int rc = src->snapshot ? load_snapshot(src, &z) : SRVD_ENOENT;
	if (rc) {
		rc = loader_load(src, diag, &z);
		if (rc)
			return rc;
		/* A snapshot that cannot be written costs only start-up time. */
		if (src->snapshot && z->n_files)
			(void)snapshot_save(z, z->files, z->n_files, src->snapshot);
	}
	if (src->n_allow_transfer) {
		z->acl = malloc(src->n_allow_transfer * sizeof(*z->acl));
		if (!z->acl) {
			srvd_zone_unref(z);
			return SRVD_ENOMEM;
		}
		memcpy(z->acl, src->allow_transfer, src->n_allow_transfer * sizeof(*z->acl));
		z->n_acl = src->n_allow_transfer;
	}
	*out = z;
	return 0;
}

int srvd_zoneset_load(const srvd_zone_src_t *srcs, size_t n, srvd_zoneset_t **out,
                      srvd_diag_t *diag)
{
	if ((!srcs && n) || !out)
		return SRVD_EINVAL;
	srvd_zone_t **zones = calloc(n + 1, sizeof(*zones));
	if (!zones)
		return SRVD_ENOMEM;
	int rc = 0;
	size_t i = 0;
	for (; i < n; i++) {
		int r = srvd_zone_load(&srcs[i], &zones[i], diag);
		if (r) {
			rc = rc ? rc : r;
			zones[i] = NULL;
		}
	}
	if (rc == 0)
		rc = srvd_zoneset_new(zones, n, out);
	for (i = 0; i < n; i++)
		srvd_zone_unref(zones[i]);
	free(zones);
	return rc;
}
