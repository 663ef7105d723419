/* The state file of a secondary zone's saved copy: when the copy was last
 * confirmed by a primary, its serial and its expire interval, so that a
 * restart serves the copy at once only while it has not expired. Also the
 * paths of journals, and whether one can be written.
 *
 * Format: one line "srvd-secondary 1 REFRESHED SERIAL EXPIRE\n", written to
 * a temp file and renamed. No libuv: reload jobs read it on pool threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zonetab/zonetab.h"

static char *with_suffix(const char *file, const char *prefix, const char *suffix)
{
	const char *slash = strrchr(file, '/');
	size_t dir = slash ? (size_t)(slash - file) + 1 : 0;
	size_t n = strlen(file) + strlen(prefix) + strlen(suffix) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%.*s%s%s%s", (int)dir, file, prefix, file + dir, suffix);
	return p;
}

char *ztab_saved_path(const char *file)
{
	return with_suffix(file, ".", ".srvd-state");
}

char *ztab_journal_path(const char *file)
{
	return with_suffix(file, "", ".jnl");
}

/* The folder too: a journal that is trimmed is rewritten (temp file and
 * rename beside it). access() and not a trial write, so that nothing is
 * left behind; the daemon runs with its real ids, so access() answers for
 * them. Under systemd's ProtectSystem=strict this is EROFS. */
bool ztab_journal_writable(const char *path, char *why, size_t cap)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	const char *bad = NULL;
	if (access(dir, W_OK) != 0)
		bad = dir;
	else if (access(path, F_OK) == 0 && access(path, W_OK) != 0)
		bad = path;
	if (bad && why && cap)
		snprintf(why, cap, "%s: %s", bad, strerror(errno));
	return !bad;
}

int ztab_saved_read(const char *file, ztab_saved_t *out)
{
	char *path = ztab_saved_path(file);
	FILE *f = path ? fopen(path, "r") : NULL;
	free(path);
	if (!f)
		return SRVD_ENOENT;
	long long t = 0;
	unsigned long serial = 0, expire = 0;
	int got = fscanf(f, "srvd-secondary 1 %lld %lu %lu", &t, &serial, &expire);
	fclose(f);
	if (got != 3 || t < 0 || serial > UINT32_MAX || expire > UINT32_MAX)
		return SRVD_ENOENT;
	*out = (ztab_saved_t){(time_t)t, (uint32_t)serial, (uint32_t)expire};
	return 0;
}

int ztab_saved_write(const char *file, const ztab_saved_t *st)
{
	char *path = ztab_saved_path(file);
	char *tmp = path ? with_suffix(path, "", ".tmp") : NULL;
	FILE *f = tmp ? fopen(tmp, "w") : NULL;
	int rc = f ? 0 : SRVD_EIO;
	if (f) {
		fprintf(f, "srvd-secondary 1 %lld %" PRIu32 " %" PRIu32 "\n",
		        (long long)st->refreshed, st->serial, st->expire);
		if (fflush(f) != 0 || fsync(fileno(f)) != 0)
			rc = SRVD_EIO;
		if (fclose(f) != 0)
			rc = SRVD_EIO;
		if (rc == 0 && rename(tmp, path) != 0)
			rc = SRVD_EIO;
		if (rc)
			unlink(tmp);
	}
	free(path);
	free(tmp);
	return rc;
}

bool ztab_saved_fresh(const char *file, time_t now)
{
	struct stat st;
	if (stat(file, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	ztab_saved_t s;
	if (ztab_saved_read(file, &s) != 0)
		return true;
	return now < s.refreshed + (time_t)s.expire;
}
