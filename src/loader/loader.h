/* Zone-file loader: parses a master file with ldns into a zone version. */
#ifndef SRVD_LOADER_LOADER_H
#define SRVD_LOADER_LOADER_H

#include "srvd/srvd.h"
#include "zone/zone.h"

int loader_load(const srvd_zone_src_t *src, srvd_diag_t *diag, zone_t **out);

#endif
