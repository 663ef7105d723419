/* File-system helpers: opening files that must be plain files, and syncing
 * the folder of a renamed file. See file.h. */
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srvd/srvd.h"

static const char *kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISDIR(m))
		return "a folder";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a plain file";
}

int file_open_regular(const char *path, uint64_t max, char *why, size_t cap, int *fd_out,
                      uint64_t *size_out)
{
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, forever. O_NOCTTY: a terminal must not become ours. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, cap, "cannot open: %s", strerror(errno));
		return SRVD_EIO;
	}
	struct stat st;
	int rc = SRVD_EIO, flags;
	if (fstat(fd, &st) != 0) {
		snprintf(why, cap, "cannot open: %s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		/* A FIFO or a device never ends (/dev/zero) or blocks a reader. */
		snprintf(why, cap, "%s, not a regular file: refused", kind(st.st_mode));
		rc = SRVD_EINVAL;
	} else if ((uint64_t)st.st_size > max) {
		snprintf(why, cap, "%llu bytes, over the limit of %llu: refused",
		         (unsigned long long)st.st_size, (unsigned long long)max);
		rc = SRVD_ELIMIT;
	} else if ((flags = fcntl(fd, F_GETFL)) < 0 ||
	           fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		snprintf(why, cap, "cannot open: %s", strerror(errno));
	} else {
		rc = 0;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	*size_out = (uint64_t)st.st_size;
	return 0;
}

int file_sync_dir(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return SRVD_ENOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return SRVD_EIO;
	int rc = fsync(fd) == 0 ? 0 : SRVD_EIO;
	close(fd);
	return rc;
}
