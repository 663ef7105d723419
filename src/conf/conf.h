/* Daemon configuration: the YAML file (libyaml) -> a validated struct.
 *
 * Every error names the file and line. Unknown keys, bad values and duplicate
 * zones are errors. The struct owns all its strings; conf_free() releases it.
 *
 * File shape (see docs/srvd.conf.5.md):
 *   server:
 *     listen: [127.0.0.1@8053, "::1@8053"]   # address@port; port defaults to 53
 *     workers: 2                  # default: one per core
 *     udp-payload: 1232           # 512..4096
 *     tcp-idle-timeout: 10        # seconds
 *     tcp-max-clients: 1000
 *     identity: ns1.example.com   # CH TXT id.server / hostname.bind
 *     version: "srvd 0.1.0"       # CH TXT version.bind / version.server
 *     nsid: ns1                   # EDNS NSID (RFC 5001)
 *     user: srvd
 *     group: srvd
 *     pidfile: /run/srvd.pid
 *     state-dir: /var/lib/srvd    # journals, snapshots, secondary copies (default:
 *                                 # journals beside the zone file, no snapshots)
 *     snapshot-dir: /var/cache/srvd   # compiled zones reused while files are unchanged
 *                                     # (default: state-dir)
 *     control: /run/srvd/srvd.sock # control socket path
 *     log-level: info             # error | warning | info | debug
 *     log-target: stderr          # stderr | syslog
 *     allow-transfer: [127.0.0.1, 192.0.2.0/24]   # default for every zone
 *     refresh-min: 60              # bounds on the SOA timers of secondary
 *     refresh-max: 86400           # zones (seconds; also retry-min/max,
 *     expire-min: 3600             # expire-min/max), per zone or here
 *     xfr-timeout: 60              # seconds for one transfer in
 *     xfr-max-size: 134217728      # bytes of one transfer in
 *     rrl:                         # response rate limiting; off without this
 *       rate: 20                   # answers per second per prefix and kind
 *       slip: 2                    # every 2nd limited answer goes out truncated
 *       window: 15                 # seconds a flooding prefix stays limited
 *       ipv4-prefix: 24
 *       ipv6-prefix: 56
 *       exempt: [192.0.2.0/24]     # never limited
 *       log-only: false            # count and log, drop nothing
 *       table-size: 16384          # entries per worker
 *     cookies: on                  # DNS cookies: off | on | require
 *     cookie-secret: 32 hex digits # default: random, rotated
 *     cookie-rotate: 3600          # seconds between rotations of a random secret
 *   keys:                          # TSIG keys (RFC 8945)
 *     - name: transfer-key
 *       algorithm: hmac-sha256     # hmac-sha1/224/256/384/512
 *       secret: base64==           # or secret-file: path (mode 0600 or stricter)
 *   zones:
 *     - name: example.com
 *       file: example.com.zone    # relative to the config file's folder
 *       allow-transfer: [127.0.0.1]
 *       notify: [192.0.2.2@53]
 *     - name: sec.example          # a secondary zone
 *       file: sec.example.zone     # where the received copy is kept (default, with
 *                                  # state-dir: state-dir/sec.example.zone)
 *       primaries: [192.0.2.1@53]  # tried in order
 *       key: transfer-key          # TSIG on SOA, IXFR, AXFR, NOTIFY
 *       notify-from: [192.0.2.1, "key:transfer-key"]   # default: the primaries
 *     - name: example.org          # dynamic update (RFC 2136/3007)
 *       file: example.org.zone
 *       update:
 *         - key: ops               # or address: 127.0.0.1 (unsigned updates)
 *           names: ["*.dyn"]       # relative: name, *.name (below it), *, @
 *           types: [A, AAAA]       # none: any type
 *       acme: [acme-matrix]        # TXT at _acme-challenge[.<any name>]
 *       serial-policy: increment   # or unixtime, dateserial
 *       update-wait: 5             # NOERROR once notify: serves it (at most 5 s)
 *       update-max-records: 1000   # prerequisites + updates of one UPDATE
 *       update-max-size: 65535     # bytes of one UPDATE message
 *       zonefile-sync: 300         # after 300 s without updates, write the file
 *       journal-max-size: 67108864 # bytes of FILE.jnl (compacted at half)
 *   zones-dir: /etc/srvd/zones    # every *.zone or db.* file; origin from the name
 */
#ifndef SRVD_CONF_CONF_H
#define SRVD_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "srvd/srvd.h"

typedef struct conf_addr {
	char host[64]; /* numeric IPv4 or IPv6, no brackets, inet_ntop form */
	uint16_t port;
} conf_addr_t;

/* Bounds on a secondary's SOA timers, in seconds; 0 = not set. */
typedef struct conf_timers {
	unsigned refresh_min, refresh_max, retry_min, retry_max, expire_min, expire_max;
} conf_timers_t;

/* A TSIG key; the secret is base64 text (from the file for secret-file). */
typedef struct conf_key {
	char *name;
	char *algorithm; /* lower case, e.g. "hmac-sha256" */
	char *secret;
	unsigned line;
} conf_key_t;

/* A key named by an allow-transfer entry, to check against keys: once
 * the whole file is read. */
typedef struct conf_keyref {
	char *name;
	unsigned line;
} conf_keyref_t;

/* One UPDATE grant of a zone (RFC 3007): a key or an address, and what it
 * may change. acme: TXT at _acme-challenge[.<any name>] only. */
typedef struct conf_grant {
	char *key;         /* key name, or NULL for an address grant */
	srvd_prefix_t who; /* the key's entry (srvd_acl_key) or the address */
	char **names;      /* "name", "*.name", "*", "@": relative to the zone */
	size_t n_names;
	uint16_t *types;
	size_t n_types;
	bool acme;
	unsigned line;
} conf_grant_t;

typedef struct conf_zone {
	char *name; /* as written, e.g. "example.com" */
	char *file; /* absolute, or relative to the working directory */
	/* The effective ACL: a zone that sets none gets a copy of the server's.
	 * "key:NAME" entries are family-0 key entries (common/acl.h). */
	srvd_prefix_t *allow_transfer;
	size_t n_allow_transfer;
	bool allow_transfer_set; /* false: inherit server: allow-transfer */
	conf_addr_t *notify;
	size_t n_notify;
	/* Secondary zones: n_primaries > 0, and file is the received copy. */
	conf_addr_t *primaries;
	size_t n_primaries;
	char *key;         /* TSIG key name for the primaries, or NULL */
	unsigned key_line; /* of the key: line, for "no key named" */
	/* Who may NOTIFY us: prefixes and key names. When the zone sets
	 * none, the primaries' addresses (full length). */
	srvd_prefix_t *notify_from;
	size_t n_notify_from;
	char **notify_keys;
	size_t n_notify_keys;
	bool notify_from_set;
	conf_timers_t timers; /* unset fields take the server's */
	unsigned line;        /* where it was declared, 0 for zones-dir */
	/* Dynamic update: update: and acme: entries, in file order. */
	conf_grant_t *grants;
	size_t n_grants;
	char *serial_policy;         /* "increment" (default), "unixtime", "dateserial" */
	unsigned update_wait;        /* seconds NOERROR waits for the notify: list to serve it */
	unsigned update_max_records; /* prerequisites + updates of one UPDATE; 0: 1000 */
	unsigned update_max_size;    /* bytes of one UPDATE message; 0: no bound */
	unsigned zonefile_sync;      /* seconds of quiet, then write updates to file; 0: never */
	uint64_t journal_max_size;   /* bytes of FILE.jnl; 0: 64 MiB */
} conf_zone_t;

/* server: rrl (response rate limiting); on when the mapping is there and
 * rate is not 0. The other fields hold their defaults until set. */
typedef struct conf_rrl {
	bool on;
	unsigned rate, slip, window, ipv4_prefix, ipv6_prefix, table_size;
	bool log_only;
	srvd_prefix_t *exempt;
	size_t n_exempt;
} conf_rrl_t;

/* server: dnstap: AUTH_QUERY and AUTH_RESPONSE messages (src/dnstap),
 * to a unix socket or a file; off when neither is set. */
typedef struct conf_dnstap {
	char *socket;    /* a Frame Streams collector's unix socket, or NULL */
	char *file;      /* or a file, written as a Frame Streams file */
	unsigned sample; /* log one query (and its answer) of every `sample`; 0 = 1 */
	char **zones;    /* only names at or below one of these; none = all */
	size_t n_zones;
	uint16_t *qtypes; /* only these query types; none = all */
	size_t n_qtypes;
} conf_dnstap_t;

typedef struct conf {
	conf_addr_t *listen;
	size_t n_listen;
	unsigned workers; /* 0 = one per core */
	uint16_t udp_payload;
	unsigned tcp_idle_timeout; /* seconds */
	unsigned tcp_max_clients;
	char *identity, *version, *nsid;
	char *user, *group, *pidfile, *control;
	char *snapshot_dir; /* compiled zone snapshots for fast start-up; NULL = off */
	char *state_dir;    /* journals, snapshots, secondary copies; NULL = beside the zone file */
	conf_addr_t *metrics; /* Prometheus endpoint (the first); none = off */
	size_t n_metrics;
	conf_dnstap_t dnstap; /* off unless socket or file */
	char *log_level;      /* "info" by default */
	bool log_syslog;
	srvd_prefix_t *allow_transfer;
	size_t n_allow_transfer;
	conf_keyref_t *key_refs; /* every key:NAME in an allow-transfer */
	size_t n_key_refs;
	conf_timers_t timers;  /* defaults for secondary zones */
	unsigned xfr_timeout;  /* seconds; default 60 */
	uint64_t xfr_max_size; /* bytes; default 128 MiB */
	conf_rrl_t rrl;
	unsigned cookies; /* srvd_cookies_t; default SRVD_COOKIES_ON */
	bool has_cookie_secret;
	uint8_t cookie_secret[16];
	unsigned cookie_rotate; /* seconds; default 3600 */
	conf_key_t *keys;
	size_t n_keys;
	char *zones_dir; /* NULL when not set */
	/* zones: in file order, then zones-dir sorted by name (case-insensitive) */
	conf_zone_t *zones;
	size_t n_zones;
	/* Findings that did not stop the load (a zones-dir entry skipped),
	 * one line each, for the caller to log: conf does no logging. */
	char **warnings;
	size_t n_warnings;
	char *path; /* the file this came from */
} conf_t;

/* Defaults: listen 127.0.0.1@53 and ::1@53 only when the file names no
 * listen, udp-payload 1232, tcp-idle-timeout 10, tcp-max-clients 1000,
 * log-level info to stderr. On error, returns SRVD_EPARSE (or SRVD_EIO) and
 * writes "file:line: message" into err, one line per error when the file
 * has several (err should start empty; give it room for a few). When the file (or zones-dir) can't
 * be read: SRVD_EIO and "file: strerror" (a zones-dir error names the config line too). Relative
 * file, zones-dir, pidfile, control, snapshot-dir and state-dir paths are joined to the config
 * file's folder. With state-dir, snapshot-dir defaults to it and a secondary zone without file
 * keeps its copy in state-dir/NAME.zone (NAME in lower case, no trailing dot; "root" for the
 * root zone). err may be NULL. */
int conf_load(const char *path, conf_t **out, char *err, size_t errlen);

/* The no-config default: serve every zone file in zones_dir on
 * 127.0.0.1@port and [::1]@port. port 0 is SRVD_EINVAL. path is NULL. */
int conf_default(const char *zones_dir, uint16_t port, conf_t **out, char *err, size_t errlen);

/* Scan a folder for zone files: "NAME.zone" or "db.NAME". Appends zones to c.
 * Duplicate origins are an error. Hidden files, backups (~, .swp, .bak, .orig,
 * ...) and journals (.jnl, .journal) are skipped. An entry that can't be
 * used (a symbolic-link loop, stat() fails, an invalid zone name) is
 * skipped with a line in c->warnings that names it. On error c is
 * unchanged. */
int conf_scan_zones_dir(conf_t *c, const char *dir, char *err, size_t errlen);

/* Parse "address@port" (IPv6 may be written [::1]@53) or "address".
 * Port 1..65535. Returns SRVD_EPARSE on bad text, SRVD_EINVAL on NULL. */
int conf_parse_addr(const char *s, uint16_t default_port, conf_addr_t *out);
/* Parse "192.0.2.0/24", "2001:db8::/32", or a bare address (full length).
 * Address bits beyond the length are an error (192.0.2.1/24). SRVD_EPARSE. */
int conf_parse_prefix(const char *s, srvd_prefix_t *out);

/* dir/NAME.EXT, a zone's file in state-dir (a secondary copy, a journal, a
 * snapshot): NAME in lower case without the trailing dot, "root" for the
 * root zone. malloc'ed; NULL when out of memory. */
char *conf_state_path(const char *dir, const char *zone, const char *ext);

/* The key of that name (case-insensitive, trailing dot ignored), or NULL. */
const conf_key_t *conf_key_find(const conf_t *c, const char *name);

void conf_free(conf_t *c);

#endif
