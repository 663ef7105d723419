/* Small file-system helpers shared by the readers of zone files and the
 * writers of zone copies, journals and snapshots. */
#ifndef SRVD_COMMON_FILE_H
#define SRVD_COMMON_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Open path read-only (and close-on-exec) if it is a regular file of at
 * most max bytes; a FIFO, a device, a folder or a socket is refused without
 * blocking. Returns 0 with the descriptor and the file's size, or
 * SRVD_EIO (open or fstat failed), SRVD_EINVAL (not a regular file) or
 * SRVD_ELIMIT (too big), with a message for people in why[cap]. */
int file_open_regular(const char *path, uint64_t max, char *why, size_t cap, int *fd_out,
                      uint64_t *size_out);

/* fsync the folder that holds path, so that a rename into it survives a
 * crash. 0 or SRVD_EIO / SRVD_ENOMEM. */
int file_sync_dir(const char *path);

#endif
