/* The state file of a secondary zone's saved copy: when the copy was last
 * confirmed by a primary, its serial and its expire interval, so that a
 * restart serves the copy at once only while it has not expired. Also the
 * paths of journals, and whether one can be written.
 *
 * Format: one line "srvd-secondary 1 REFRESHED SERIAL EXPIRE\n", written to
 * a temp file and renamed. No libuv: reload jobs read it on pool threads.
 *
 * Also the clean-up of the temporaries a killed save leaves beside the copy
 * and its journal (they are full-size, and nothing else would remove them).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
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

/* ---- temporaries left by a killed save ----------------------------------- */

/* The PID of "BASE.tmp.PID" when name has exactly that shape, else 0. */
static long temp_pid(const char *name, const char *base)
{
	size_t n = strlen(base);
	if (strncmp(name, base, n) != 0 || strncmp(name + n, ".tmp.", 5) != 0)
		return 0;
	const char *digits = name + n + 5;
	char *end = NULL;
	errno = 0;
	long pid = strtol(digits, &end, 10);
	if (errno || end == digits || *end || digits[0] < '1' || digits[0] > '9' || pid <= 0)
		return 0;
	return pid;
}

static bool read_comm(long pid, char *buf, size_t cap)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/comm");
	FILE *f = fopen(path, "r");
	bool ok = f && fgets(buf, (int)cap, f);
	if (f)
		fclose(f);
	return ok;
}

/* A PID that cannot be saving this file now: gone, or another program.
 * One with our name is left alone (another srvd saving the same path is a
 * mistake in the configs, but not ours to break). */
static bool pid_stale(long pid)
{
	if (pid == (long)getpid())
		return false;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return true;
	char ours[64], theirs[64];
	return read_comm(0, ours, sizeof(ours)) && read_comm(pid, theirs, sizeof(theirs)) &&
	       strcmp(ours, theirs) != 0;
}

static bool remove_if_stale(int dfd, const char *dir, const char *name, long pid)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    !pid_stale(pid))
		return false;
	if (unlinkat(dfd, name, 0) != 0) {
		log_warn("%s/%s: a stale temporary, but: %s", dir, name, strerror(errno));
		return false;
	}
	log_info("removed %s/%s (%lld bytes), left by process %ld, which is no longer saving it",
	         dir, name, (long long)st.st_size, pid);
	return true;
}

unsigned ztab_clean_temps(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	const char *base = slash ? slash + 1 : path;
	DIR *d = dir ? opendir(dir[0] ? dir : "/") : NULL;
	unsigned removed = 0;
	const struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		long pid = temp_pid(e->d_name, base);
		if (pid && remove_if_stale(dirfd(d), dir, e->d_name, pid))
			removed++;
	}
	if (d)
		closedir(d);
	free(dir);
	return removed;
}
