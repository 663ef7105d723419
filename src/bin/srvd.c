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
#include "conf/conf.h"
#include "net/net.h"
#include "srvd/srvd.h"

enum { DEFAULT_PORT = 5353 };

typedef struct daemon {
	const char *conf_path; /* NULL: the built-in default */
	char zones_dir[PATH_MAX];
	conf_t *conf;  /* replaced by each successful reload */
	char *pidfile; /* written at start-up, removed at exit */
} daemon_t;

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: srvd [OPTION]...\n"
	    "Authoritative DNS server.\n"
	    "\n"
	    "  -c, --config FILE   read the configuration from FILE (YAML)\n"
	    "      --check-config  check the configuration and every zone, then exit\n"
	    "  -h, --help          display this help and exit\n"
	    "  -V, --version       output version information and exit\n"
	    "\n"
	    "Without --config, srvd serves every zone file in ./zones (or the zones/\n"
	    "folder of its source tree) on 127.0.0.1@%d and [::1]@%d.\n"
	    "Signals: SIGHUP reloads the configuration and changed zones, SIGTERM stops;\n"
	    "SIGUSR1, SIGUSR2, SIGALRM and SIGQUIT are ignored.\n"
	    "Exit status: 0 on a clean stop or a clean check, 1 on errors, 2 on usage errors.\n",
	    DEFAULT_PORT, DEFAULT_PORT);
}

/* ---- configuration -------------------------------------------------------- */

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ./zones, else the zones/ folder of the source tree the binary was built
 * in (build/<preset>/src/bin/srvd), else next to an installed bin/.
 * out has room for PATH_MAX bytes (realpath). */
static int find_zones_dir(char *out)
{
	static const char *const rel[] = {"/../../../../zones", "/../../../zones", "/../zones"};
	if (is_dir("zones"))
		return realpath("zones", out) ? 0 : -1;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	const char *dir = dirname(exe);
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char cand[PATH_MAX * 2];
		snprintf(cand, sizeof(cand), "%s%s", dir, rel[i]);
		if (is_dir(cand) && realpath(cand, out))
			return 0;
	}
	return -1;
}

/* What conf skipped but did not fail on (a bad zones-dir entry). */
static void log_conf_warnings(const conf_t *c)
{
	for (size_t i = 0; i < c->n_warnings; i++)
		log_warn("%s", c->warnings[i]);
}

static int load_conf(daemon_t *d, conf_t **out)
{
	char err[512] = "";
	int rc;
	if (d->conf_path)
		rc = conf_load(d->conf_path, out, err, sizeof(err));
	else
		rc = conf_default(d->zones_dir, DEFAULT_PORT, out, err, sizeof(err));
	if (rc)
		log_err("%s", err[0] ? err : srvd_strerror(rc));
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

static int check_config(daemon_t *d)
{
	conf_t *c = NULL;
	char err[512] = "";
	int rc = d->conf_path ? conf_load(d->conf_path, &c, err, sizeof(err))
	                      : conf_default(d->zones_dir, DEFAULT_PORT, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s\n", err[0] ? err : srvd_strerror(rc));
		return 1;
	}
	for (size_t i = 0; i < c->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", c->warnings[i]);
	unsigned bad = 0;
	for (size_t i = 0; i < c->n_zones; i++) {
		srvd_zone_src_t src;
		ztab_zone_src(c, &c->zones[i], &src);
		srvd_diag_t diag = {.fn = print_diag};
		srvd_zone_t *z = NULL;
		srvd_zone_info_t info;
		if (srvd_zone_load(&src, &z, &diag) == 0 && srvd_zone_info(z, &info) == 0) {
			printf("%s: serial %u, %zu records, %u warnings\n", info.origin,
			       info.serial, info.records, diag.warnings);
		} else {
			printf("%s: not loaded from %s (%u errors, %u warnings)\n", src.origin,
			       src.path, diag.errors, diag.warnings);
			bad++;
		}
		srvd_zone_unref(z);
	}
	printf("%s: %zu zones, %u with errors\n", c->path ? c->path : "default config", c->n_zones,
	       bad);
	conf_free(c);
	return bad ? 1 : 0;
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

/* After bind, before the workers start: the threads never run as root. */
static int drop_privileges(const conf_t *c)
{
	if (geteuid() != 0) {
		if (c->user || c->group)
			log_info("not running as root: user and group left as they are");
		return 0;
	}
	if (!c->user && !c->group) {
		log_warn("running as root: set user and group to drop privileges");
		return 0;
	}
	uid_t uid = 0;
	gid_t gid = 0;
	if (lookup_ids(c, &uid, &gid))
		return SRVD_EINVAL;
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

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, which is
 * a path or, with a leading '@', an abstract socket name. */
static void notify_ready(size_t zones)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || (path[0] != '/' && path[0] != '@'))
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path)) {
		log_warn("NOTIFY_SOCKET is too long");
		return;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d\nSTATUS=serving %zu zones",
	                 (int)getpid(), zones);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (const struct sockaddr *)&sa,
	                     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("NOTIFY_SOCKET %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
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
	int rc;
	if (d->conf_path)
		rc = conf_load(d->conf_path, out, err, errlen);
	else
		rc = conf_default(d->zones_dir, DEFAULT_PORT, out, err, errlen);
	if (rc)
		log_err("reload: %s; the configuration in force stays",
		        err[0] ? err : srvd_strerror(rc));
	else
		log_conf_warnings(*out);
	return rc;
}

/* The main-loop services net runs beside its own (net.h). */
static const net_service_t *const services[] = {&net_secondary_service};

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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	daemon_t d = {0};
	bool check = false;
	int opt;
	bin_tune_malloc();
	ignore_signals();
	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': d.conf_path = optarg; break;
		case 'C': check = true; break;
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
	if (!d.conf_path && find_zones_dir(d.zones_dir)) {
		fprintf(stderr, "srvd: no --config given and no zones/ folder found\n");
		return 1;
	}
	if (check)
		return check_config(&d);
	if (load_conf(&d, &d.conf) || setup_log(d.conf)) {
		conf_free(d.conf);
		return 1;
	}
	int rc = serve(&d);
	if (d.pidfile)
		unlink(d.pidfile);
	free(d.pidfile);
	log_info("srvd stopped");
	conf_free(d.conf);
	return rc;
}
