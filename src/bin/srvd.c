/* srvd: the authoritative DNS server daemon.
 *
 * This file owns the process: the command line, the config file, the
 * start-up order, privileges, the pidfile and systemd readiness. Everything
 * that touches sockets or threads is in src/net (net.h), which is also the
 * only place that sees libuv.
 *
 * Start-up order matters: load the config and every zone (a broken zone is
 * logged and left out, the others are served), bind every address (still
 * privileged, so port 53 works; any failure exits 1 before we claim to be
 * up), write the pidfile, drop to the configured user and group, start the
 * workers, and only then tell systemd READY=1. Zones load after the drop,
 * with the same rights as every reload. SIGHUP and `srvdctl reload` read
 * the config file again on a thread-pool thread (reload_conf below) and
 * reload the zones whose files changed (src/net/reload.c); a zone that
 * fails keeps its previous version.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bin/tune.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "conf/conf.h"
#include "net/net.h"
#include "srvd/srvd.h"

/* Not 5353: that is mDNS, and avahi-daemon holds it on most desktops. No
 * common service uses 8053. */
enum { DEFAULT_PORT = 8053, LISTEN_MAX = 16, ERR_MAX = 8192 };

typedef struct daemon {
	const char *conf_path; /* NULL: the built-in default */
	char zones_dir[PATH_MAX];
	const char *zones_from; /* how zones_dir was found, for the log */
	/* Command-line settings that override the config's (-l, -u, --control). */
	conf_addr_t listen[LISTEN_MAX];
	size_t n_listen;
	const char *user, *control;
	bool strict;     /* --check-config: zone errors fail the check too */
	conf_t *conf;    /* replaced by each successful reload */
	char *pidfile;   /* written at start-up, removed at exit */
	char *state_dir; /* of the start-up config: a reload may not move it */
} daemon_t;

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: srvd [OPTION]...\n"
	        "Authoritative DNS server.\n"
	        "\n"
	        "  -c, --config FILE      read the configuration from FILE (YAML)\n"
	        "      --check-config     check the configuration and every zone, then exit:\n"
	        "                         1 on configuration errors; zone errors are reported\n"
	        "                         (such zones are not served) and fail only with --strict\n"
	        "      --strict           with --check-config: zone errors fail the check too\n"
	        "  -l, --listen ADDR@PORT listen here instead (repeatable; [::1]@PORT for IPv6)\n"
	        "  -z, --zones-dir DIR    without --config: serve the zone files in DIR\n"
	        "  -u, --user USER        drop privileges to USER (and its group) after binding\n"
	        "      --control PATH     without --config: the control socket for srvdctl\n"
	        "  -h, --help             display this help and exit\n"
	        "  -V, --version          output version information and exit\n"
	        "\n"
	        "Without --config, srvd serves every zone file (NAME.zone, db.NAME) in DIR, or\n"
	        "in ./zones of the working directory, on 127.0.0.1@%d and [::1]@%d.\n"
	        "Signals: SIGHUP reloads the configuration and changed zones, SIGTERM stops;\n"
	        "SIGUSR1, SIGUSR2, SIGALRM and SIGQUIT are ignored.\n"
	        "Exit status: 0 on a clean stop or a clean check, 1 on errors, 2 on usage errors.\n"
	        "See srvd(8) and srvd.conf(5).\n",
	        DEFAULT_PORT, DEFAULT_PORT);
}

/* ---- configuration -------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The exe's build tree, when it runs from one (build/<preset>/src/bin/srvd
 * next to build/<preset>/CMakeCache.txt): there the repository's zones/
 * is the one meant. An installed binary never looks anywhere but ./zones. */
static int source_tree_zones(char *out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	const char *dir = dirname(exe);
	char cache[PATH_MAX * 2], cand[PATH_MAX * 2];
	snprintf(cache, sizeof(cache), "%s/../../CMakeCache.txt", dir);
	snprintf(cand, sizeof(cand), "%s/../../../../zones", dir);
	if (access(cache, F_OK) != 0 || !is_dir(cand))
		return -1;
	return realpath(cand, out) ? 0 : -1;
}

/* -z DIR, else ./zones, else the source tree's. out has PATH_MAX bytes. */
static int find_zones_dir(daemon_t *d, const char *given)
{
	if (given) {
		d->zones_from = "-z";
		if (!is_dir(given) || !realpath(given, d->zones_dir)) {
			fprintf(stderr, "srvd: -z %s: not a folder\n", given);
			return -1;
		}
		return 0;
	}
	d->zones_from = "./zones in the working directory";
	if (is_dir("zones"))
		return realpath("zones", d->zones_dir) ? 0 : -1;
	d->zones_from = "the source tree's zones/";
	if (source_tree_zones(d->zones_dir) == 0)
		return 0;
	char cwd[PATH_MAX];
	fprintf(stderr,
	        "srvd: no --config given and no ./zones folder in %s; give -c FILE (see "
	        "srvd.conf(5)) or -z DIR\n",
	        getcwd(cwd, sizeof(cwd)) ? cwd : "the working directory");
	return -1;
}

/* Each line of a (multi-line) error text, as one log line each. */
static void log_lines(log_level_t lvl, const char *text, const char *suffix)
{
	const char *s = text;
	while (*s) {
		size_t n = strcspn(s, "\n");
		log_msg(lvl, "%.*s%s", (int)n, s, suffix);
		s += n + (s[n] == '\n');
	}
}

/* The command line wins over the file: -l, -u, --control. */
static int apply_cli(const daemon_t *d, conf_t *c)
{
	if (d->n_listen) {
		conf_addr_t *v = calloc(d->n_listen, sizeof(*v));
		if (!v)
			return SRVD_ENOMEM;
		memcpy(v, d->listen, d->n_listen * sizeof(*v));
		free(c->listen);
		c->listen = v;
		c->n_listen = d->n_listen;
	}
	if (d->user) {
		free(c->user);
		if (!(c->user = strdup(d->user)))
			return SRVD_ENOMEM;
	}
	if (d->control) {
		free(c->control);
		if (!(c->control = strdup(d->control)))
			return SRVD_ENOMEM;
	}
	return 0;
}

static int read_conf(const daemon_t *d, conf_t **out, char *err, size_t errlen)
{
	conf_t *c = NULL;
	int rc = d->conf_path ? conf_load(d->conf_path, &c, err, errlen)
	                      : conf_default(d->zones_dir, DEFAULT_PORT, &c, err, errlen);
	if (rc == 0 && (rc = apply_cli(d, c)) != 0) {
		conf_free(c);
		snprintf(err, errlen, "out of memory");
	}
	if (rc == 0)
		*out = c;
	return rc;
}

/* What conf skipped but did not fail on (a bad zones-dir entry). */
static void log_conf_warnings(const conf_t *c)
{
	for (size_t i = 0; i < c->n_warnings; i++)
		log_warn("%s", c->warnings[i]);
}

static int load_conf(daemon_t *d, conf_t **out)
{
	static char err[ERR_MAX];
	err[0] = 0;
	int rc = read_conf(d, out, err, sizeof(err));
	if (rc)
		log_lines(LOG_LVL_ERROR, err[0] ? err : srvd_strerror(rc), "");
	else
		log_conf_warnings(*out);
	return rc;
}

static int setup_log(const conf_t *c)
{
	log_level_t lvl = LOG_LVL_INFO;
	if (c->log_level && log_level_parse(c->log_level, &lvl)) {
		log_err("unknown log-level %s", c->log_level);
		return SRVD_EINVAL;
	}
	log_setup(lvl, c->log_syslog);
	return 0;
}

/* ---- --check-config -------------------------------------------------------- */

static void print_diag(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                       unsigned line, const char *msg)
{
	(void)ctx;
	const char *lvl = level == SRVD_DIAG_ERROR ? "error" : "warning";
	if (file && line)
		fprintf(stderr, "%s:%u: %s: %s\n", file, line, lvl, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", file ? file : zone, lvl, msg);
}

/* The user and group the config names must exist: the daemon would fail
 * on them only after binding, under systemd in a restart loop. */
static unsigned check_ids(const conf_t *c)
{
	const char *where = c->path ? c->path : "-u";
	unsigned bad = 0;
	if (c->user && !getpwnam(c->user)) {
		fprintf(stderr, "%s: error: user %s: no such user\n", where, c->user);
		bad++;
	}
	if (c->group && !getgrnam(c->group)) {
		fprintf(stderr, "%s: error: group %s: no such group\n", where, c->group);
		bad++;
	}
	return bad;
}

/* A secondary zone without its file is normal before the first transfer. */
static bool awaiting_transfer(const conf_zone_t *z)
{
	return z->n_primaries && access(z->file, F_OK) != 0;
}

/* 0 when the zone loads (or is a secondary still waiting for its copy). */
static int check_zone(const conf_t *c, const conf_zone_t *cz)
{
	if (awaiting_transfer(cz)) {
		printf("%s: secondary, no copy in %s yet: it comes with the first transfer\n",
		       cz->name, cz->file);
		return 0;
	}
	srvd_zone_src_t src;
	ztab_zone_src(c, cz, &src);
	src.snapshot = NULL; /* check the files themselves */
	srvd_diag_t diag = {.fn = print_diag};
	srvd_zone_t *z = NULL;
	srvd_zone_info_t info;
	int rc = srvd_zone_load(&src, &z, &diag);
	if (rc == 0 && srvd_zone_info(z, &info) == 0)
		printf("%s: serial %u, %zu records, %u warnings\n", info.origin, info.serial,
		       info.records, diag.warnings);
	else
		printf("%s: not loaded from %s (%u errors, %u warnings): it will not be served\n",
		       src.origin, src.path, diag.errors, diag.warnings);
	srvd_zone_unref(z);
	return rc ? -1 : 0;
}

/* Config errors fail the check; zone errors do not (the daemon serves the
 * other zones, and a secondary's file comes later), unless --strict. */
static int check_config(daemon_t *d)
{
	static char err[ERR_MAX];
	conf_t *c = NULL;
	err[0] = 0;
	if (read_conf(d, &c, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err[0] ? err : "out of memory");
		return 1;
	}
	for (size_t i = 0; i < c->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", c->warnings[i]);
	unsigned bad_ids = check_ids(c), bad = 0;
	for (size_t i = 0; i < c->n_zones; i++)
		bad += check_zone(c, &c->zones[i]) != 0;
	printf("%s: %zu zones, %u with errors%s\n", c->path ? c->path : "default config",
	       c->n_zones, bad, bad && !d->strict ? " (not served; --strict fails on them)" : "");
	conf_free(c);
	return bad_ids || (bad && d->strict) ? 1 : 0;
}

/* ---- process setup ----------------------------------------------------------- */

/* srvd writes the pidfile as root. In a folder that someone else can
 * write to, they could put a symbolic link (or a hard link) at its path
 * and have us overwrite any file. So the folder must be ours or root's and
 * writable by nobody else, unless it is sticky (then others can't replace
 * our entries); and the file itself must not be a link. */
static int pidfile_folder_ok(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return SRVD_ENOMEM;
	const char *dir = dirname(copy);
	struct stat st;
	int rc = SRVD_EINVAL;
	if (stat(dir, &st) != 0) {
		log_err("pidfile %s: folder %s: %s", path, dir, strerror(errno));
		rc = SRVD_EIO;
	} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
		log_err("pidfile %s: refused: folder %s belongs to uid %u, neither root nor us",
		        path, dir, (unsigned)st.st_uid);
	} else if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		log_err("pidfile %s: refused: folder %s (mode %04o) is writable by others and not "
		        "sticky",
		        path, dir, (unsigned)(st.st_mode & 07777));
	} else {
		rc = 0;
	}
	free(copy);
	return rc;
}

static int write_pidfile(const char *path)
{
	int rc = pidfile_folder_ok(path);
	if (rc)
		return rc;
	/* No O_TRUNC: truncate only once we know what we opened. O_NONBLOCK:
	 * a FIFO at the path must not hang start-up. */
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == ELOOP)
			log_err("pidfile %s: refused: it is a symbolic link", path);
		else
			log_err("pidfile %s: %s", path, strerror(errno));
		return SRVD_EIO;
	}
	struct stat st;
	rc = SRVD_EIO;
	if (fstat(fd, &st) != 0)
		log_err("pidfile %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		log_err("pidfile %s: refused: not a regular file", path);
	else if (st.st_nlink != 1)
		log_err("pidfile %s: refused: it has %u hard links", path, (unsigned)st.st_nlink);
	else if (ftruncate(fd, 0) != 0)
		log_err("pidfile %s: %s", path, strerror(errno));
	else
		rc = 0;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (rc == 0 && write(fd, buf, (size_t)n) != n) {
		log_err("pidfile %s: short write", path);
		rc = SRVD_EIO;
	}
	close(fd);
	return rc;
}

static int lookup_ids(const conf_t *c, uid_t *uid, gid_t *gid)
{
	if (c->user) {
		const struct passwd *pw = getpwnam(c->user);
		if (!pw) {
			log_err("user %s: no such user", c->user);
			return SRVD_EINVAL;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (c->group) {
		const struct group *gr = getgrnam(c->group);
		if (!gr) {
			log_err("group %s: no such group", c->group);
			return SRVD_EINVAL;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/* The control socket's folder (/run/srvd), when srvd is started by hand as
 * root: systemd makes it for the unit (RuntimeDirectory=), nobody makes it
 * otherwise, and after the drop we could not. Only the last component is
 * made, for the user we become. */
static void make_control_dir(const conf_t *c, uid_t uid, gid_t gid)
{
	if (!c->control)
		return;
	char *copy = strdup(c->control);
	const char *dir = copy ? dirname(copy) : NULL;
	if (dir && !is_dir(dir)) {
		if (mkdir(dir, 0750) != 0 || chown(dir, uid, gid) != 0)
			log_warn("control socket folder %s: %s", dir, strerror(errno));
		else
			log_info("made %s for the control socket", dir);
	}
	free(copy);
}

/* After bind, before the workers start: the threads never run as root. */
static int drop_privileges(const conf_t *c)
{
	if (geteuid() != 0) {
		if (c->user || c->group)
			log_info("not running as root: user and group left as they are");
		return 0;
	}
	if (!c->user && !c->group) {
		make_control_dir(c, 0, 0);
		if (c->path)
			log_warn("running as root: set user: in %s, or pass -u USER, to drop "
			         "privileges",
			         c->path);
		else
			log_warn("running as root: pass -u USER (for example -u nobody) to drop "
			         "privileges");
		return 0;
	}
	uid_t uid = 0;
	gid_t gid = 0;
	if (lookup_ids(c, &uid, &gid))
		return SRVD_EINVAL;
	make_control_dir(c, uid, gid);
	/* lchown: never follow a link that replaced the file since. */
	if (c->pidfile && lchown(c->pidfile, uid, gid))
		log_warn("pidfile %s: chown: %s", c->pidfile, strerror(errno));
	if (setgroups(1, &gid) || setgid(gid) || (c->user && setuid(uid))) {
		log_err("cannot drop privileges: %s", strerror(errno));
		return SRVD_EIO;
	}
	log_info("running as uid %u, gid %u", (unsigned)getuid(), (unsigned)getgid());
	return 0;
}

/* systemd readiness (common/sdnotify.h); reloads and the stop tell it
 * from src/net. */
static void notify_ready(size_t zones)
{
	if (sd_notifyf("READY=1\nMAINPID=%d\nSTATUS=serving %zu zones", (int)getpid(), zones))
		log_warn("NOTIFY_SOCKET: cannot tell systemd we are ready");
}

/* Signals that mean nothing to srvd must not end it: their default action
 * kills the process, and a stray `kill -USR1` (log rotation scripts send
 * it; Knot and NSD ignore it) or a SIGQUIT from a terminal would take the
 * server down. SIGHUP is ignored too until net watches it, so a reload
 * asked for while the config is being read cannot kill us either (it is
 * not needed then: the config is read anyway). SIGPIPE: net.c. */
static void ignore_signals(void)
{
	static const int sigs[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGQUIT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_IGN);
}

/* ---- serving ----------------------------------------------------------------- */

/* Runs on a thread-pool thread; d->conf_path and d->zones_dir do not change
 * after start-up. */
static int reload_conf(void *ctx, conf_t **out, char *err, size_t errlen)
{
	const daemon_t *d = ctx;
	int rc = read_conf(d, out, err, errlen);
	const char *sd = rc == 0 ? (*out)->state_dir : NULL;
	/* Journals are open there, and updates live in them: moving them is a
	 * restart, after the files are moved too. */
	if (rc == 0 && (!sd != !d->state_dir || (sd && strcmp(sd, d->state_dir) != 0))) {
		snprintf(err, errlen,
		         "%s: state-dir: %s -> %s takes a restart (move its files first)",
		         (*out)->path, d->state_dir ? d->state_dir : "(none)", sd ? sd : "(none)");
		conf_free(*out);
		*out = NULL;
		rc = SRVD_EPARSE;
	}
	if (rc)
		log_lines(LOG_LVL_ERROR, err[0] ? err : srvd_strerror(rc),
		          " (reload: the configuration in force stays)");
	else
		log_conf_warnings(*out);
	return rc;
}

/* The main-loop services net runs beside its own (net.h). */
static const net_service_t *const services[] = {&net_secondary_service, &net_metrics_service,
                                                &net_dnstap_service};

static int add_services(net_t *n)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(services) / sizeof(services[0]); i++)
		rc = net_add_service(n, services[i]);
	return rc;
}

static int serve(daemon_t *d)
{
	const conf_t *c = d->conf;
	net_t *n = NULL;
	int rc = net_new(c, &n);
	if (rc == 0)
		rc = add_services(n);
	if (rc == 0 && c->pidfile) {
		rc = write_pidfile(c->pidfile);
		d->pidfile = rc ? NULL : strdup(c->pidfile);
	}
	if (rc == 0)
		rc = drop_privileges(c);
	if (rc) {
		net_free(n);
		return 1;
	}
	conf_t *conf = d->conf; /* net owns it from here on */
	d->conf = NULL;
	size_t count = 0;
	unsigned failed = 0;
	if (net_start(n, conf, reload_conf, d, &count, &failed)) {
		net_free(n);
		return 1;
	}
	if (failed)
		log_warn("%u zones failed to load and are not served", failed);
	net_log_addrs(n);
	log_info("srvd %s started: %zu zones", SRVD_VERSION_STRING, count);
	notify_ready(count);
	rc = net_run(n);
	net_free(n);
	return rc ? 1 : 0;
}

static int add_listen(daemon_t *d, const char *arg)
{
	if (d->n_listen == LISTEN_MAX) {
		fprintf(stderr, "srvd: at most %d -l addresses\n", LISTEN_MAX);
		return -1;
	}
	if (conf_parse_addr(arg, DEFAULT_PORT, &d->listen[d->n_listen])) {
		fprintf(stderr,
		        "srvd: -l %s: expected ADDRESS@PORT, e.g. 127.0.0.1@%d or "
		        "[::1]@%d\n",
		        arg, DEFAULT_PORT, DEFAULT_PORT);
		return -1;
	}
	d->n_listen++;
	return 0;
}

enum { OPT_CHECK = 256, OPT_STRICT, OPT_CONTROL };

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, daemon_t *d, bool *check, const char **zdir)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"listen", required_argument, NULL, 'l'},
	    {"zones-dir", required_argument, NULL, 'z'},
	    {"user", required_argument, NULL, 'u'},
	    {"control", required_argument, NULL, OPT_CONTROL},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "c:l:z:u:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': d->conf_path = optarg; break;
		case OPT_CHECK: *check = true; break;
		case OPT_STRICT: d->strict = true; break;
		case 'l':
			if (add_listen(d, optarg))
				return 2;
			break;
		case 'z': *zdir = optarg; break;
		case 'u': d->user = optarg; break;
		case OPT_CONTROL: d->control = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("srvd %s\n", SRVD_VERSION_STRING); return 0;
		default: fprintf(stderr, "Try 'srvd --help' for more information.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "srvd: unexpected argument '%s'\n", argv[optind]);
		fprintf(stderr, "Try 'srvd --help' for more information.\n");
		return 2;
	}
	if (d->conf_path && (*zdir || d->control)) {
		fprintf(stderr,
		        "srvd: -z and --control are for running without --config; set "
		        "zones-dir: and control: in %s\n",
		        d->conf_path);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	daemon_t d = {0};
	bool check = false;
	const char *zdir = NULL;
	bin_tune_malloc();
	ignore_signals();
	int rc = parse_args(argc, argv, &d, &check, &zdir);
	if (rc >= 0)
		return rc;
	if (!d.conf_path && find_zones_dir(&d, zdir))
		return 1;
	if (check)
		return check_config(&d);
	if (load_conf(&d, &d.conf) || setup_log(d.conf)) {
		conf_free(d.conf);
		return 1;
	}
	if (!d.conf_path)
		log_info("no --config: serving the zone files in %s (%s)", d.zones_dir,
		         d.zones_from);
	if (d.conf->state_dir && !(d.state_dir = strdup(d.conf->state_dir))) {
		log_err("out of memory");
		conf_free(d.conf);
		return 1;
	}
	rc = serve(&d);
	if (d.pidfile)
		unlink(d.pidfile);
	free(d.pidfile);
	free(d.state_dir);
	log_info("srvd stopped");
	conf_free(d.conf);
	return rc;
}
