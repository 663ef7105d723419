/* conf/ zones: zone-name checks and comparison, duplicate detection, and the
 * zones-dir scan ("NAME.zone" or "db.NAME" -> zone NAME).
 *
 * One bad entry in zones-dir (a symbolic-link loop, a file we may not stat,
 * a name that is no zone name) is skipped with a warning that names it:
 * failing the whole scan would keep srvd from starting, or a SIGHUP from
 * taking any change, for every other zone. Two files for one zone stay an
 * error, since which one is meant can't be guessed. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/array.h"
#include "conf/conf_int.h"

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return SRVD_EPARSE;
}

/* Presentation form without escapes: the loader parses the real thing, we
 * only need enough to catch typos and compare names. */
int conf_zone_name_check(const char *name, const char **why)
{
	size_t len = strlen(name), label = 0;
	if (len == 0)
		return bad(why, "empty name");
	if (strcmp(name, ".") == 0)
		return 0;
	if (name[len - 1] == '.')
		len--;
	if (len > CONF_NAME_MAX)
		return bad(why, "longer than 253 characters");
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (i == len || ch == '.') {
			if (label == 0)
				return bad(why, "empty label");
			label = 0;
			continue;
		}
		if (ch <= ' ' || ch == 0x7f)
			return bad(why, "blank or control character");
		if (ch >= 0x80)
			return bad(why, "non-ASCII character (write IDNs in xn-- form)");
		if (ch == '\\')
			return bad(why, "escapes are not supported in zone names");
		if (++label > CONF_LABEL_MAX)
			return bad(why, "label longer than 63 characters");
	}
	return 0;
}

static size_t name_len(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

int conf_zone_name_cmp(const char *a, const char *b)
{
	size_t la = name_len(a), lb = name_len(b);
	for (size_t i = 0; i < la && i < lb; i++) {
		int ca = tolower((unsigned char)a[i]), cb = tolower((unsigned char)b[i]);
		if (ca != cb)
			return ca - cb;
	}
	return (la > lb) - (la < lb);
}

/* Equal names sort by address, i.e. by declaration order. */
static int cmp_zone_ptr(const void *pa, const void *pb)
{
	const conf_zone_t *a = *(const conf_zone_t *const *)pa;
	const conf_zone_t *b = *(const conf_zone_t *const *)pb;
	int r = conf_zone_name_cmp(a->name, b->name);
	return r ? r : (a > b) - (a < b);
}

/* Sorting makes this O(n log n), which matters for a zones-dir of thousands. */
int conf_zones_find_dup(const conf_zone_t *z, size_t n, size_t *first, size_t *second)
{
	if (n < 2)
		return 0;
	const conf_zone_t **v = malloc(n * sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		v[i] = &z[i];
	qsort(v, n, sizeof(*v), cmp_zone_ptr);
	const conf_zone_t *a = NULL, *b = NULL;
	for (size_t i = 0; i + 1 < n; i++) {
		if (conf_zone_name_cmp(v[i]->name, v[i + 1]->name) == 0 && (!b || v[i + 1] < b)) {
			a = v[i];
			b = v[i + 1];
		}
	}
	free(v);
	if (!b)
		return 0;
	*first = (size_t)(a - z);
	*second = (size_t)(b - z);
	return 1;
}

int conf_zone_inherit(conf_zone_t *z, const conf_t *c)
{
	if (z->allow_transfer_set || c->n_allow_transfer == 0)
		return 0;
	size_t size = c->n_allow_transfer * sizeof(*c->allow_transfer);
	z->allow_transfer = malloc(size);
	if (!z->allow_transfer)
		return SRVD_ENOMEM;
	memcpy(z->allow_transfer, c->allow_transfer, size);
	z->n_allow_transfer = c->n_allow_transfer;
	return 0;
}

void conf_zone_deinit(conf_zone_t *z)
{
	free(z->name);
	free(z->file);
	free(z->allow_transfer);
	free(z->notify);
	free(z->primaries);
	free(z->key);
	free(z->notify_from);
	for (size_t i = 0; i < z->n_notify_keys; i++)
		free(z->notify_keys[i]);
	free(z->notify_keys);
	for (size_t i = 0; i < z->n_grants; i++) {
		free(z->grants[i].key);
		for (size_t k = 0; k < z->grants[i].n_names; k++)
			free(z->grants[i].names[k]);
		free(z->grants[i].names);
		free(z->grants[i].types);
	}
	free(z->grants);
	free(z->serial_policy);
}

/* ---- zones-dir ---------------------------------------------------------- */

typedef struct scan {
	conf_t *c;
	const char *dir;
	const char *cfile; /* errors point here when set */
	unsigned cline;
	char *err;
	size_t errlen;
	conf_zone_t *v; /* zones found so far */
	size_t n, cap;
	char **warnings; /* entries skipped; moved to c on success */
	size_t n_warnings;
} scan_t;

static int scan_err(const scan_t *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int scan_err(const scan_t *s, int code, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->cfile)
		return conf_errf(s->err, s->errlen, code, "%s:%u: zones-dir: %s", s->cfile,
		                 s->cline, msg);
	return conf_errf(s->err, s->errlen, code, "%s", msg);
}

static int scan_warn(scan_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int scan_warn(scan_t *s, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char **v = realloc(s->warnings, (s->n_warnings + 1) * sizeof(*v));
	if (!v)
		return scan_err(s, SRVD_ENOMEM, "out of memory");
	s->warnings = v;
	char *w = NULL;
	int n = s->cfile ? asprintf(&w, "%s:%u: zones-dir: %s; skipped", s->cfile, s->cline, msg)
	                 : asprintf(&w, "%s; skipped", msg);
	if (n < 0)
		return scan_err(s, SRVD_ENOMEM, "out of memory");
	v[s->n_warnings++] = w;
	return 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* Hidden files, editor and package-manager leftovers, journals and temp files
 * that may sit beside the zones. */
static bool ignored(const char *f)
{
	static const char *const junk[] = {
	    "~",         ".swp",      ".swo",       ".bak", ".orig",    ".rej",    ".tmp",
	    ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".jnl", ".journal", ".rpmnew", ".rpmsave"};
	size_t len = strlen(f);
	if (f[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		if (has_suffix(f, len, junk[i]))
			return true;
	}
	return false;
}

/* "NAME.zone" -> NAME, else "db.NAME" -> NAME. The .zone rule comes first, so
 * "db.example.com.zone" is zone "db.example.com". */
static bool origin_span(const char *f, size_t *off, size_t *len)
{
	size_t n = strlen(f);
	if (n > 5 && has_suffix(f, n, ".zone")) {
		*off = 0;
		*len = n - 5;
		return true;
	}
	if (n > 3 && strncmp(f, "db.", 3) == 0) {
		*off = 3;
		*len = n - 3;
		return true;
	}
	return false;
}

static bool is_regular(scan_t *s, int dfd, const char *f, int *rc)
{
	struct stat st;
	*rc = 0;
	if (fstatat(dfd, f, &st, 0) == 0)
		return S_ISREG(st.st_mode);
	/* Gone since readdir, or a dangling link: not a zone file. A link
	 * loop (ELOOP) or a file we may not stat looks like one, but we
	 * can't tell, so say so. */
	if (errno != ENOENT)
		*rc = scan_warn(s, "%s/%s: %s", s->dir, f, strerror(errno));
	return false;
}

static int push(scan_t *s, char *name, char *file)
{
	if (arr_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v), 16))
		return SRVD_ENOMEM;
	s->v[s->n++] = (conf_zone_t){.name = name, .file = file};
	return 0;
}

static int add_entry(scan_t *s, int dfd, const char *f)
{
	size_t off, len;
	const char *why;
	int rc = 0;
	if (ignored(f) || !origin_span(f, &off, &len) || !is_regular(s, dfd, f, &rc))
		return rc;
	char *name = strndup(f + off, len);
	char *file = conf_path_join(s->dir, f);
	if (name && file && conf_zone_name_check(name, &why)) {
		rc = scan_warn(s, "%s: bad zone name \"%s\": %s", file, name, why);
		free(name);
		free(file);
		return rc;
	}
	if (!name || !file || (rc = push(s, name, file))) {
		free(name);
		free(file);
		return scan_err(s, SRVD_ENOMEM, "out of memory");
	}
	return 0;
}

static int read_dir(scan_t *s)
{
	DIR *d = opendir(s->dir);
	int rc = 0;
	if (!d)
		return scan_err(s, SRVD_EIO, "%s: %s", s->dir, strerror(errno));
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			if (errno)
				rc = scan_err(s, SRVD_EIO, "%s: %s", s->dir, strerror(errno));
			break;
		}
		if ((rc = add_entry(s, dirfd(d), e->d_name)))
			break;
	}
	closedir(d);
	return rc;
}

static int cmp_zone(const void *pa, const void *pb)
{
	const conf_zone_t *a = pa, *b = pb;
	int r = conf_zone_name_cmp(a->name, b->name);
	return r ? r : strcmp(a->file, b->file);
}

/* Against the zones c already has, then among the new ones. */
static int check_dups(const scan_t *s)
{
	size_t n = s->c->n_zones, a, b;
	conf_zone_t *all = malloc((n + s->n) * sizeof(*all));
	if (!all)
		return scan_err(s, SRVD_ENOMEM, "out of memory");
	if (n)
		memcpy(all, s->c->zones, n * sizeof(*all));
	memcpy(all + n, s->v, s->n * sizeof(*all));
	int rc = conf_zones_find_dup(all, n + s->n, &a, &b);
	if (rc == 1 && all[a].line)
		rc = scan_err(s, SRVD_EPARSE, "%s: duplicate zone %s (first at line %u)",
		              all[b].file, all[b].name, all[a].line);
	else if (rc == 1)
		rc = scan_err(s, SRVD_EPARSE, "%s: duplicate zone %s (first in %s)", all[b].file,
		              all[b].name, all[a].file);
	else if (rc)
		rc = scan_err(s, rc, "out of memory");
	free(all);
	return rc;
}

static int append(scan_t *s)
{
	conf_t *c = s->c;
	for (size_t i = 0; i < s->n; i++) {
		if (conf_zone_inherit(&s->v[i], c))
			return scan_err(s, SRVD_ENOMEM, "out of memory");
	}
	conf_zone_t *z = s->n ? realloc(c->zones, (c->n_zones + s->n) * sizeof(*z)) : c->zones;
	if (s->n && !z)
		return scan_err(s, SRVD_ENOMEM, "out of memory");
	c->zones = z;
	char **w = s->n_warnings
	               ? realloc(c->warnings, (c->n_warnings + s->n_warnings) * sizeof(*w))
	               : c->warnings;
	if (s->n_warnings && !w)
		return scan_err(s, SRVD_ENOMEM, "out of memory");
	c->warnings = w;
	if (s->n)
		memcpy(z + c->n_zones, s->v, s->n * sizeof(*z));
	c->n_zones += s->n;
	s->n = 0;
	if (s->n_warnings)
		memcpy(w + c->n_warnings, s->warnings, s->n_warnings * sizeof(*w));
	c->n_warnings += s->n_warnings;
	s->n_warnings = 0;
	return 0;
}

int conf_scan_dir(conf_t *c, const char *dir, const char *cfile, unsigned cline, char *err,
                  size_t errlen)
{
	scan_t s = {
	    .c = c, .dir = dir, .cfile = cfile, .cline = cline, .err = err, .errlen = errlen};
	int rc = read_dir(&s);
	if (!rc && s.n) {
		qsort(s.v, s.n, sizeof(*s.v), cmp_zone);
		rc = check_dups(&s);
	}
	if (!rc && (s.n || s.n_warnings))
		rc = append(&s);
	for (size_t i = 0; i < s.n; i++)
		conf_zone_deinit(&s.v[i]);
	free(s.v);
	for (size_t i = 0; i < s.n_warnings; i++)
		free(s.warnings[i]);
	free(s.warnings);
	return rc;
}

int conf_scan_zones_dir(conf_t *c, const char *dir, char *err, size_t errlen)
{
	if (!c || !dir)
		return SRVD_EINVAL;
	return conf_scan_dir(c, dir, NULL, 0, err, errlen);
}
