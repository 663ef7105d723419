/* Zone snapshots: save a compiled zone version, load it back while its
 * source files are unchanged. See snapshot.c for the format. */
#ifndef SRVD_LOADER_SNAPSHOT_H
#define SRVD_LOADER_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"

/* Hash of the contents (and names) of the files, in order. */
int snapshot_key(const char *const *files, size_t n, uint64_t *out);
/* Write z to path (temp file + rename), keyed by the files' contents now. */
int snapshot_save(const zone_t *z, const char *const *files, size_t n, const char *path);
/* Read the snapshot at path if it is for origin (wire) and its files are
 * unchanged. SRVD_ENOENT: no usable snapshot (missing, stale, other
 * build); SRVD_EMALFORM: corrupt. The version lists the snapshot's files. */
int snapshot_load(const char *path, const uint8_t *origin, zone_t **out);

#endif
