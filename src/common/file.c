/* File-system helpers. See file.h. */
#include "common/file.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srvd/srvd.h"

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
