/* Zone-file loader: parses a master file with ldns into a zone version. */
#ifndef SRVD_LOADER_LOADER_H
#define SRVD_LOADER_LOADER_H

#include "srvd/srvd.h"
#include "zone/zone.h"

/* The most bytes one zone load reads, its master file and every $INCLUDE
 * together. A zone this big would take minutes to load and gigabytes to
 * hold; a larger file is a mistake (or /dev/sda), and refusing it early
 * keeps a reload from eating the machine. Not configurable: nobody has
 * asked for a bigger zone. */
#define LOADER_BYTES_MAX ((uint64_t)1 << 30)

int loader_load(const srvd_zone_src_t *src, srvd_diag_t *diag, zone_t **out);
/* As loader_load; the version also keeps each RRset's file and line, for
 * tools that report findings on a loaded zone (srvd-checkzone's lint). */
int loader_load_lines(const srvd_zone_src_t *src, srvd_diag_t *diag, zone_t **out);

#endif
