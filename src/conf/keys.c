/* conf/ keys and secondaries: TSIG key checks (algorithm, base64 secret,
 * secret files that must be private), and the checks that tie a secondary
 * zone's settings to the rest of the file (key names, timer bounds,
 * notify-from defaults). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_int.h"

enum { SECRET_FILE_MAX = 4096 };

static const char *const algorithms[] = {"hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384",
                                         "hmac-sha512"};

static int why_f(char *why, size_t cap, const char *msg, const char *arg)
{
	snprintf(why, cap, msg, arg);
	return SRVD_EPARSE;
}

static int check_algorithm(conf_key_t *k, char *why, size_t cap)
{
	size_t n = strlen(k->algorithm);
	if (n && k->algorithm[n - 1] == '.')
		k->algorithm[--n] = 0;
	for (size_t i = 0; i < n; i++)
		k->algorithm[i] = (char)tolower((unsigned char)k->algorithm[i]);
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcmp(k->algorithm, algorithms[i]) == 0)
			return 0;
	return why_f(why, cap,
	             "algorithm \"%s\" is not one of hmac-sha1, hmac-sha224, hmac-sha256, "
	             "hmac-sha384, hmac-sha512",
	             k->algorithm);
}

/* Base64 (RFC 4648 4) with blanks allowed between groups, as in key files. */
static bool is_base64(const char *s)
{
	size_t n = 0, pad = 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isspace(ch))
			continue;
		if (ch == '=') {
			pad++;
		} else if (pad || !(isalnum(ch) || ch == '+' || ch == '/')) {
			return false;
		}
		n++;
	}
	return n > 0 && n % 4 == 0 && pad <= 2;
}

static int read_secret(const char *path, char **out, char *why, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, cap, "secret-file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SRVD_EPARSE;
	}
	int rc = SRVD_EPARSE;
	char *buf = NULL;
	if (!S_ISREG(st.st_mode))
		snprintf(why, cap, "secret-file %s: not a regular file", path);
	else if (st.st_mode & 077)
		snprintf(why, cap,
		         "secret-file %s: mode %04o lets others read it; make it 0600 or "
		         "stricter",
		         path, (unsigned)(st.st_mode & 07777));
	else if (st.st_size > SECRET_FILE_MAX)
		snprintf(why, cap, "secret-file %s: larger than %d bytes", path, SECRET_FILE_MAX);
	else if (!(buf = calloc(1, (size_t)st.st_size + 1)))
		snprintf(why, cap, "out of memory");
	else if (read(fd, buf, (size_t)st.st_size) != st.st_size)
		snprintf(why, cap, "secret-file %s: short read", path);
	else
		rc = 0;
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}

int conf_key_check(conf_key_t *k, const char *secret_file, char *why, size_t cap)
{
	const char *bad = NULL;
	if (conf_zone_name_check(k->name, &bad))
		return why_f(why, cap, "bad key name: %s", bad);
	int rc = check_algorithm(k, why, cap);
	if (rc == 0 && secret_file)
		rc = read_secret(secret_file, &k->secret, why, cap);
	if (rc == 0 && !is_base64(k->secret))
		rc = why_f(why, cap, "the secret%s is not base64",
		           secret_file ? " in secret-file" : "");
	return rc;
}

const conf_key_t *conf_key_find(const conf_t *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->n_keys; i++)
		if (conf_zone_name_cmp(c->keys[i].name, name) == 0)
			return &c->keys[i];
	return NULL;
}

/* ---- secondary zones ------------------------------------------------------- */

static bool timers_set(const conf_timers_t *t)
{
	return t->refresh_min || t->refresh_max || t->retry_min || t->retry_max || t->expire_min ||
	       t->expire_max;
}

static void inherit(unsigned *z, unsigned s)
{
	if (!*z)
		*z = s;
}

static const char *bad_bounds(const conf_timers_t *t)
{
	if (t->refresh_min && t->refresh_max && t->refresh_min > t->refresh_max)
		return "refresh-min is above refresh-max";
	if (t->retry_min && t->retry_max && t->retry_min > t->retry_max)
		return "retry-min is above retry-max";
	if (t->expire_min && t->expire_max && t->expire_min > t->expire_max)
		return "expire-min is above expire-max";
	return NULL;
}

static int primaries_acl(conf_zone_t *z)
{
	if (z->notify_from_set)
		return 0;
	free(z->notify_from);
	z->notify_from = calloc(z->n_primaries, sizeof(*z->notify_from));
	if (!z->notify_from)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < z->n_primaries; i++)
		conf_parse_prefix(z->primaries[i].host, &z->notify_from[i]);
	z->n_notify_from = z->n_primaries;
	return 0;
}

static int check_zone(const conf_t *c, conf_zone_t *z, char *err, size_t errlen)
{
	const char *why = NULL;
	if (!z->n_primaries && (z->notify_from_set || timers_set(&z->timers)))
		return conf_errf(err, errlen, SRVD_EPARSE,
		                 "%s:%u: zone %s: notify-from and timer bounds need primaries",
		                 c->path, z->line, z->name);
	if (z->key && !conf_key_find(c, z->key))
		return conf_errf(err, errlen, SRVD_EPARSE,
		                 "%s:%u: zone %s: key: no key named %s in keys", c->path,
		                 z->key_line ? z->key_line : z->line, z->name, z->key);
	if (!z->n_primaries)
		return 0; /* a primary zone's key signs its NOTIFYs */
	for (size_t i = 0; i < z->n_notify_keys; i++)
		if (!conf_key_find(c, z->notify_keys[i]))
			return conf_errf(err, errlen, SRVD_EPARSE,
			                 "%s:%u: zone %s: notify-from: no key named %s in keys",
			                 c->path, z->line, z->name, z->notify_keys[i]);
	conf_timers_t *t = &z->timers;
	inherit(&t->refresh_min, c->timers.refresh_min);
	inherit(&t->refresh_max, c->timers.refresh_max);
	inherit(&t->retry_min, c->timers.retry_min);
	inherit(&t->retry_max, c->timers.retry_max);
	inherit(&t->expire_min, c->timers.expire_min);
	inherit(&t->expire_max, c->timers.expire_max);
	if ((why = bad_bounds(t)))
		return conf_errf(err, errlen, SRVD_EPARSE, "%s:%u: zone %s: %s", c->path, z->line,
		                 z->name, why);
	if (primaries_acl(z))
		return conf_errf(err, errlen, SRVD_ENOMEM, "%s: out of memory", c->path);
	return 0;
}

int conf_check_secondary(conf_t *c, char *err, size_t errlen)
{
	int rc = 0;
	for (size_t i = 0; i < c->n_key_refs; i++)
		if (!conf_key_find(c, c->key_refs[i].name))
			rc = conf_erradd(err, errlen, SRVD_EPARSE,
			                 "%s:%u: allow-transfer: no key named %s in keys", c->path,
			                 c->key_refs[i].line, c->key_refs[i].name);
	const char *why = bad_bounds(&c->timers);
	if (why)
		rc = conf_erradd(err, errlen, SRVD_EPARSE, "%s: server: %s", c->path, why);
	if (!c->xfr_timeout)
		c->xfr_timeout = 60;
	if (!c->xfr_max_size)
		c->xfr_max_size = (uint64_t)128 << 20;
	/* Every zone, also after an error: --check-config shows them all. */
	for (size_t i = 0; i < c->n_zones && rc != SRVD_ENOMEM; i++) {
		char one[1024] = "";
		int r = check_zone(c, &c->zones[i], one, sizeof(one));
		if (r)
			rc = conf_erradd(err, errlen, r, "%s", one);
	}
	return rc;
}
