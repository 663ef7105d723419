/* Process-wide settings that srvd and srvd-checkzone share, made once at
 * the start of main(). A library must not change them, so they live here.
 */
#ifndef SRVD_BIN_TUNE_H
#define SRVD_BIN_TUNE_H

#include <malloc.h>

/* ldns allocates and frees buffers of up to 64 KiB for every record it
 * parses. Where they sit at the top of glibc's heap, each free trims the
 * heap and the next malloc grows it again: 79,512 brk calls and 40% of the
 * time for a 1,000,000-record zone (3.7 s to load it, 2.3-2.7 s without).
 * Keeping 1 MiB spare at the top stops that (8 brk calls), at the price of
 * that much memory at most. */
static inline void bin_tune_malloc(void)
{
#ifdef M_TOP_PAD
	mallopt(M_TOP_PAD, 1 << 20);
#endif
}

#endif
