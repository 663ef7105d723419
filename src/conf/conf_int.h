/* Internals shared by the files of src/conf/: error text, paths, zone names,
 * and the steps that conf.c strings together into conf_load().
 *
 * conf.c    conf_load, conf_default, conf_free, file reading, paths
 * parse.c   the YAML tree -> conf_t (the only file that knows the keys)
 * addr.c    "address@port" and "address/bits"
 * zones.c   zone names, duplicate detection, zones-dir scanning
 * keys.c    TSIG keys (secret files) and the settings of secondary zones
 */
#ifndef SRVD_CONF_CONF_INT_H
#define SRVD_CONF_CONF_INT_H

#include "conf/conf.h"

enum {
	CONF_NAME_MAX = 253, /* presentation length without the trailing dot */
	CONF_LABEL_MAX = 63,
	CONF_DEFAULT_PORT = 53,
	CONF_FILE_MAX = 16 << 20, /* bytes of YAML we are willing to read */
};

/* Writes the message into err (if any) and returns code. */
int conf_errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As conf_errf, but appends the message as a new line after what err
 * holds: for the checks that report every error they find. */
int conf_erradd(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The folder part of path: "" when there is none, "/" for "/x". */
char *conf_dirname(const char *path);
/* file if it is absolute or dir is "", else dir/file. NULL on ENOMEM. */
char *conf_path_join(const char *dir, const char *file);

/* As conf_parse_addr/conf_parse_prefix, with a reason on failure. */
int conf_addr_parse(const char *s, uint16_t default_port, conf_addr_t *out, const char **why);
int conf_prefix_parse(const char *s, srvd_prefix_t *out, const char **why);

/* 0 when name is a usable zone name, else SRVD_EPARSE and a reason. */
int conf_zone_name_check(const char *name, const char **why);
/* Case-insensitive, one trailing dot ignored: "Example.COM." == "example.com". */
int conf_zone_name_cmp(const char *a, const char *b);
/* 1 and the pair (first < second, smallest second) if two zones share a
 * name, 0 if none do, SRVD_ENOMEM. */
int conf_zones_find_dup(const conf_zone_t *z, size_t n, size_t *first, size_t *second);
/* Copies the server ACL into a zone that sets none. */
int conf_zone_inherit(conf_zone_t *z, const conf_t *c);
void conf_zone_deinit(conf_zone_t *z);

/* keys.c: check k's algorithm and secret; with secret_file (a path), read
 * the secret from it first (the file must not be readable by group or
 * others). SRVD_EPARSE with the reason in why. */
int conf_key_check(conf_key_t *k, const char *secret_file, char *why, size_t cap);
/* keys.c: the checks of the secondary settings of every zone, once the whole
 * file is read: keys exist, bounds are ordered, settings only on secondary
 * zones; the server's timer bounds and the primaries as notify-from. */
int conf_check_secondary(conf_t *c, char *err, size_t errlen);

/* conf_scan_zones_dir; when cfile is set, errors point at cfile:cline. */
int conf_scan_dir(conf_t *c, const char *dir, const char *cfile, unsigned cline, char *err,
                  size_t errlen);

/* Fills c from the YAML text. dir is the config file's folder. *dir_line is
 * the line of zones-dir, if the file has one. */
int conf_parse_yaml(conf_t *c, const char *text, size_t len, const char *dir, unsigned *dir_line,
                    char *err, size_t errlen);

#endif
