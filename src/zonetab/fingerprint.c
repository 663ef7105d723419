/* File fingerprints for reloads: stat() fields plus a 64-bit hash of the
 * bytes (see zonetab.h for how they decide whether a zone changed).
 *
 * The hash only has to tell a rewritten file from an unchanged one, not
 * resist an adversary (whoever can write the zone file decides its content
 * anyway), so it is a fast multiply-rotate over 8-byte words, seeded with
 * the length. stat() is taken before the bytes are read: a write that races
 * with the hashing leaves a stat() that no longer matches, so the next check
 * hashes again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "zonetab/zonetab.h"

enum { CHUNK = 1 << 16 };

static const uint64_t K1 = 0x9e3779b97f4a7c15ull, K2 = 0xc2b2ae3d27d4eb4full;

static uint64_t mix(uint64_t h, uint64_t w)
{
	h ^= w * K1;
	h = (h << 31 | h >> 33) * K2;
	return h;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = mix(h, w);
	}
	if (i < n) {
		uint64_t w = 0;
		memcpy(&w, p + i, n - i);
		h = mix(h, w ^ (uint64_t)(n - i) << 56);
	}
	return h;
}

/* Every chunk but the last is whole (fread fills it), so the words line up
 * the same way however the file is read. */
static bool hash_file(const char *path, uint64_t *out)
{
	/* A file swapped for a FIFO since the stat() must not block us. */
	int fd = -1;
	uint64_t size = 0;
	char why[200];
	if (file_open_regular(path, UINT64_MAX, why, sizeof(why), &fd, &size) != 0)
		return false;
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return false;
	}
	uint8_t *buf = malloc(CHUNK);
	uint64_t h = K2, total = 0;
	size_t n = 0;
	while (buf && (n = fread(buf, 1, CHUNK, f)) > 0) {
		h = hash_bytes(h, buf, n);
		total += n;
	}
	bool ok = buf && !ferror(f);
	free(buf);
	fclose(f);
	*out = mix(h, total);
	return ok;
}

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static bool same_stat(const ztab_fp_t *a, const ztab_fp_t *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

int ztab_fp_take(const char *path, const ztab_fp_t *old, ztab_fp_t *out)
{
	ztab_fp_t fp = {.path = strdup(path)};
	if (!fp.path)
		return SRVD_ENOMEM;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		fp.exists = true;
		fp.dev = (uint64_t)st.st_dev;
		fp.ino = (uint64_t)st.st_ino;
		fp.size = (uint64_t)st.st_size;
		fp.mtime_ns = ns(&st.st_mtim);
		fp.ctime_ns = ns(&st.st_ctim);
	}
	if (old && old->exists && same_stat(old, &fp))
		fp.hash = old->hash;
	else if (fp.exists && !hash_file(path, &fp.hash))
		fp.exists = false; /* gone (or unreadable) between stat and open */
	*out = fp;
	return 0;
}

bool ztab_fp_same(const ztab_fp_t *a, const ztab_fp_t *b)
{
	return a->exists == b->exists && a->size == b->size && a->hash == b->hash;
}

void ztab_fp_free(ztab_fp_t *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}
