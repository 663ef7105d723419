/* conf/ entry points: conf_load (read the file, parse, then the checks that
 * span the whole file: defaults, duplicate zones, ACL inheritance, zones-dir),
 * conf_default, conf_free, and the error and path helpers. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "conf/conf_int.h"

int conf_errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int conf_erradd(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (!err || !errlen)
		return code;
	size_t used = strnlen(err, errlen);
	if (used && used + 1 < errlen)
		err[used++] = '\n';
	if (used + 1 >= errlen)
		return code; /* full: the first errors are the ones to fix first */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + used, errlen - used, fmt, ap);
	va_end(ap);
	return code;
}

char *conf_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup("");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

char *conf_path_join(const char *dir, const char *file)
{
	size_t dl = strlen(dir), fl = strlen(file);
	if (file[0] == '/' || dl == 0)
		return strdup(file);
	int sep = dir[dl - 1] != '/';
	char *p = malloc(dl + (size_t)sep + fl + 1);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	if (sep)
		p[dl] = '/';
	memcpy(p + dl + (size_t)sep, file, fl + 1);
	return p;
}

static int grow(char **buf, size_t *cap)
{
	if (*cap >= CONF_FILE_MAX)
		return SRVD_ELIMIT;
	return arr_grow((void **)buf, cap, *cap + 1, 1, 4096);
}

static int read_stream(FILE *f, char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int rc = 0;
	for (;;) {
		if (n == cap && (rc = grow(&buf, &cap)))
			break;
		n += fread(buf + n, 1, cap - n, f);
		if (ferror(f))
			rc = SRVD_EIO;
		if (rc || feof(f))
			break;
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The whole file in memory: libyaml then reports byte offsets we can turn
 * into lines, and a read error is told apart from a syntax error. */
static int read_all(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return conf_errf(err, errlen, SRVD_EIO, "%s: %s", path, strerror(errno));
	errno = 0;
	int rc = read_stream(f, out, len);
	int saved = errno;
	fclose(f);
	if (rc == SRVD_EIO)
		return conf_errf(err, errlen, rc, "%s: %s", path, strerror(saved ? saved : EIO));
	if (rc == SRVD_ELIMIT)
		return conf_errf(err, errlen, SRVD_EIO, "%s: larger than %d bytes", path,
		                 CONF_FILE_MAX);
	if (rc)
		return conf_errf(err, errlen, rc, "%s: out of memory", path);
	return 0;
}

static conf_t *conf_new(const char *path)
{
	conf_t *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->udp_payload = 1232;
	c->tcp_idle_timeout = 10;
	c->tcp_max_clients = 1000;
	c->xfr_timeout = 60;
	c->xfr_max_size = (uint64_t)128 << 20;
	c->rrl =
	    (conf_rrl_t){.rate = 20, .slip = 2, .window = 15, .ipv4_prefix = 24, .ipv6_prefix = 56};
	c->cookies = SRVD_COOKIES_ON;
	c->cookie_rotate = 3600;
	if (path && !(c->path = strdup(path))) {
		free(c);
		return NULL;
	}
	return c;
}

/* What the file leaves unset; listen only if it names none at all. */
static int set_defaults(conf_t *c, uint16_t port)
{
	if (!c->log_level && !(c->log_level = strdup("info")))
		return SRVD_ENOMEM;
	if (c->n_listen)
		return 0;
	c->listen = calloc(2, sizeof(*c->listen));
	if (!c->listen)
		return SRVD_ENOMEM;
	c->listen[0] = (conf_addr_t){.host = "127.0.0.1", .port = port};
	c->listen[1] = (conf_addr_t){.host = "::1", .port = port};
	c->n_listen = 2;
	return 0;
}

/* state-dir/NAME.EXT: NAME lower case without the trailing dot, "root" for
 * the root zone (the names ztab gives journals and snapshots too). */
char *conf_state_path(const char *dir, const char *zone, const char *ext)
{
	size_t n = strlen(zone);
	if (n > 1 && zone[n - 1] == '.')
		n--;
	if (strcmp(zone, ".") == 0) {
		zone = "root";
		n = 4;
	}
	size_t len = strlen(dir) + 1 + n + strlen(ext) + 1;
	char *p = malloc(len);
	if (!p)
		return NULL;
	int at = snprintf(p, len, "%s/", dir);
	for (size_t i = 0; i < n; i++)
		p[at + (int)i] = (char)tolower((unsigned char)zone[i]);
	snprintf(p + at + n, len - (size_t)at - n, "%s", ext);
	return p;
}

/* What state-dir gives: the snapshot folder, and the copies of secondary
 * zones that name no file. Without it a secondary zone needs its file. */
static int set_state_paths(conf_t *c, unsigned dir_line, char *err, size_t errlen)
{
	int rc = 0;
	if (c->state_dir && c->zones_dir && strcmp(c->state_dir, c->zones_dir) == 0)
		rc = conf_erradd(err, errlen, SRVD_EPARSE,
		                 "%s:%u: zones-dir: %s is also state-dir: the copies of secondary "
		                 "zones kept there would be served as zones of their own",
		                 c->path, dir_line, c->zones_dir);
	if (c->state_dir && !c->snapshot_dir && !(c->snapshot_dir = strdup(c->state_dir)))
		return conf_errf(err, errlen, SRVD_ENOMEM, "%s: out of memory", c->path);
	for (size_t i = 0; i < c->n_zones; i++) {
		conf_zone_t *z = &c->zones[i];
		if (z->file)
			continue;
		if (!c->state_dir) {
			rc = conf_erradd(
			    err, errlen, SRVD_EPARSE,
			    "%s:%u: zone %s: no file (a secondary zone may leave it out "
			    "when server: state-dir is set)",
			    c->path, z->line, z->name);
			continue;
		}
		if (!(z->file = conf_state_path(c->state_dir, z->name, ".zone")))
			return conf_errf(err, errlen, SRVD_ENOMEM, "%s: out of memory", c->path);
	}
	return rc;
}

static int check_zones(conf_t *c, char *err, size_t errlen)
{
	size_t a, b;
	int rc = conf_zones_find_dup(c->zones, c->n_zones, &a, &b);
	if (rc == 1)
		return conf_errf(err, errlen, SRVD_EPARSE,
		                 "%s:%u: duplicate zone %s (first at line %u)", c->path,
		                 c->zones[b].line, c->zones[b].name, c->zones[a].line);
	for (size_t i = 0; !rc && i < c->n_zones; i++)
		rc = conf_zone_inherit(&c->zones[i], c);
	if (rc)
		return conf_errf(err, errlen, rc, "%s: out of memory", c->path);
	return 0;
}

static int load(conf_t *c, char *err, size_t errlen)
{
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	unsigned dir_line = 0;
	int rc = read_all(c->path, &text, &len, err, errlen);
	if (rc)
		return rc;
	if (!(dir = conf_dirname(c->path)))
		rc = conf_errf(err, errlen, SRVD_ENOMEM, "%s: out of memory", c->path);
	if (!rc)
		rc = conf_parse_yaml(c, text, len, dir, &dir_line, err, errlen);
	free(text);
	free(dir);
	if (!rc && set_defaults(c, CONF_DEFAULT_PORT))
		rc = conf_errf(err, errlen, SRVD_ENOMEM, "%s: out of memory", c->path);
	if (!rc)
		rc = set_state_paths(c, dir_line, err, errlen);
	if (!rc)
		rc = check_zones(c, err, errlen);
	if (!rc)
		rc = conf_check_secondary(c, err, errlen);
	if (!rc && c->zones_dir)
		rc = conf_scan_dir(c, c->zones_dir, c->path, dir_line, err, errlen);
	return rc;
}

int conf_load(const char *path, conf_t **out, char *err, size_t errlen)
{
	if (!path || !out)
		return conf_errf(err, errlen, SRVD_EINVAL, "conf_load: no path");
	if (err && errlen)
		err[0] = 0; /* errors are appended to it */
	conf_t *c = conf_new(path);
	if (!c)
		return conf_errf(err, errlen, SRVD_ENOMEM, "%s: out of memory", path);
	int rc = load(c, err, errlen);
	if (rc) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int conf_default(const char *zones_dir, uint16_t port, conf_t **out, char *err, size_t errlen)
{
	if (!zones_dir || !out || port == 0)
		return conf_errf(err, errlen, SRVD_EINVAL, "conf_default: bad arguments");
	conf_t *c = conf_new(NULL);
	int rc = SRVD_ENOMEM;
	if (c && !set_defaults(c, port) && (c->zones_dir = strdup(zones_dir)))
		rc = conf_scan_dir(c, zones_dir, NULL, 0, err, errlen);
	else
		conf_errf(err, errlen, rc, "out of memory");
	if (rc) {
		conf_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void conf_free(conf_t *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_zones; i++)
		conf_zone_deinit(&c->zones[i]);
	free(c->zones);
	for (size_t i = 0; i < c->n_keys; i++) {
		free(c->keys[i].name);
		free(c->keys[i].algorithm);
		free(c->keys[i].secret);
	}
	free(c->keys);
	free(c->listen);
	free(c->metrics);
	free(c->dnstap.socket);
	free(c->dnstap.file);
	for (size_t i = 0; i < c->dnstap.n_zones; i++)
		free(c->dnstap.zones[i]);
	free(c->dnstap.zones);
	free(c->dnstap.qtypes);
	free(c->identity);
	free(c->version);
	free(c->nsid);
	free(c->user);
	free(c->group);
	free(c->pidfile);
	free(c->snapshot_dir);
	free(c->state_dir);
	free(c->control);
	free(c->log_level);
	free(c->allow_transfer);
	free(c->rrl.exempt);
	for (size_t i = 0; i < c->n_key_refs; i++)
		free(c->key_refs[i].name);
	free(c->key_refs);
	free(c->zones_dir);
	for (size_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	free(c->path);
	free(c);
}
