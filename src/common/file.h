/* Small file-system helpers shared by the writers of zone copies,
 * journals and snapshots. */
#ifndef SRVD_COMMON_FILE_H
#define SRVD_COMMON_FILE_H

/* fsync the folder that holds path, so that a rename into it survives a
 * crash. 0 or SRVD_EIO / SRVD_ENOMEM. */
int file_sync_dir(const char *path);

#endif
