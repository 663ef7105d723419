/* srvdctl: the control client. It sends one request over the daemon's unix
 * control socket, waits for the reply and prints it, for people or (--json)
 * for scripts. The exit status says what happened: 0 success, 1 the daemon
 * reported a failure, 2 usage error, 3 no connection or a protocol error.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "srvd/srvd.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CONN = 3 };

struct opts {
	const char *socket;
	bool json;
	int timeout_ms;
	ctl_request_t req;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: srvdctl [-s SOCKET] [-t SECONDS] [--json] COMMAND [ZONE]\n"
	        "\n"
	        "commands:\n"
	        "  status              uptime, workers, zones, memory\n"
	        "  reload [ZONE]       reload every zone, or one, from its files\n"
	        "  zone-status [ZONE]  serial, files, load time, records, last error\n"
	        "  stats [ZONE]        query, transfer and reload counters; a zone's own\n"
	        "                      (answers by type and rcode, transfers, NOTIFY)\n"
	        "  refresh ZONE        check the primary for a newer serial now\n"
	        "  retransfer ZONE     transfer the whole zone again\n"
	        "  stop                shut the daemon down\n"
	        "  keygen NAME         print a new TSIG key (hmac-sha256) and its config\n"
	        "                      lines; talks to no daemon\n"
	        "\n"
	        "options:\n"
	        "  -s, --socket PATH   control socket (default $SRVD_CONTROL, else %s)\n"
	        "  -t, --timeout SECS  give up after this long (default 5)\n"
	        "  -j, --json          print the reply as JSON\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       print the version\n"
	        "\n"
	        "exit status: 0 success, 1 the daemon reported a failure, 2 usage error,\n"
	        "3 cannot connect or protocol error\n",
	        CTL_DEFAULT_SOCKET);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("srvdctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\nTry 'srvdctl --help'.\n", stderr);
	va_end(ap);
	return EXIT_USAGE;
}

static int parse_timeout(const char *s, int *ms)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 3600)
		return -1;
	*ms = (int)v * 1000;
	return 0;
}

static int parse_command(int argc, char **argv, struct opts *o)
{
	if (argc < 1)
		return usage_error("missing command");
	if (ctl_cmd_parse(argv[0], &o->req.cmd) != 0)
		return usage_error("unknown command '%s'", argv[0]);
	ctl_zone_arg_t arg = ctl_cmd_zone_arg(o->req.cmd);
	if (argc > 2 || (argc == 2 && arg == CTL_ZONE_NONE))
		return usage_error("too many arguments for '%s'", argv[0]);
	if (argc == 1 && arg == CTL_ZONE_REQUIRED)
		return usage_error("'%s' needs a zone", argv[0]);
	if (argc == 2) {
		size_t n = strlen(argv[1]);
		if (n == 0 || n > CTL_MAX_ZONE)
			return usage_error("invalid zone name '%s'", argv[1]);
		memcpy(o->req.zone, argv[1], n + 1);
	}
	return EXIT_OK;
}

/* The daemon's text may already start with the command's name
 * ("refresh: zone x: ..."): say it once. */
static void print_failure(ctl_cmd_t cmd, const char *why)
{
	const char *name = ctl_cmd_name(cmd);
	size_t n = strlen(name);
	if (why && strncmp(why, name, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
		why += n + 2;
	fprintf(stderr, "srvdctl: %s: %s\n", name, why ? why : "failed");
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'}, {"timeout", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	const char *env = getenv("SRVD_CONTROL");
	o->socket = env && *env ? env : CTL_DEFAULT_SOCKET;
	o->timeout_ms = 5000;
	int c;
	while ((c = getopt_long(argc, argv, "+s:t:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 't':
			if (parse_timeout(optarg, &o->timeout_ms) != 0)
				return usage_error("invalid timeout '%s'", optarg);
			break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V':
			printf("srvdctl %s (control protocol %d)\n", SRVD_VERSION_STRING,
			       CTL_VERSION);
			return EXIT_OK;
		default: fprintf(stderr, "Try 'srvdctl --help'.\n"); return EXIT_USAGE;
		}
	}
	int rc = parse_command(argc - optind, argv + optind, o);
	return rc == EXIT_OK ? -1 : rc;
}

/* ---- the exchange ------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The unix connect blocks only while the listen backlog is full, and then
 * for at most SO_SNDTIMEO. */
static int connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e == EINPROGRESS || e == EAGAIN ? ETIMEDOUT : e;
		return -1;
	}
	return fd;
}

/* Wait until fd is ready for events, or the deadline passes (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int send_all(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		if (wait_fd(fd, POLLOUT, deadline) != 0)
			return -1;
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read one whole message into *out (to free). On failure *why says why,
 * or stays NULL when errno does. */
static int recv_msg(int fd, int64_t deadline, uint8_t **out, size_t *out_len, const char **why)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, need;
	int rc = -1;
	for (;;) {
		if (ctl_frame_need(buf, len, &need) != 0) {
			*why = "bad length prefix in the reply";
			break;
		}
		if (len == need && len > CTL_HDR_LEN) {
			rc = 0;
			break;
		}
		if (need > cap) {
			uint8_t *nb = realloc(buf, need);
			if (!nb) {
				*why = "out of memory";
				break;
			}
			buf = nb;
			cap = need;
		}
		if (wait_fd(fd, POLLIN, deadline) != 0)
			break;
		ssize_t r = recv(fd, buf + len, need - len, MSG_DONTWAIT);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == 0)
			*why = "the daemon closed the connection";
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	if (rc == 0) {
		*out = buf;
		*out_len = len;
	} else {
		free(buf);
	}
	return rc;
}

static int exchange(const struct opts *o, uint8_t **reply, size_t *reply_len)
{
	uint8_t *msg;
	size_t len;
	int rc = ctl_request_encode(&o->req, &msg, &len);
	if (rc == SRVD_EINVAL)
		return usage_error("invalid zone name '%s'", o->req.zone);
	if (rc != 0) {
		fprintf(stderr, "srvdctl: out of memory\n");
		return EXIT_CONN;
	}
	int64_t deadline = now_ms() + o->timeout_ms;
	int fd = connect_unix(o->socket, o->timeout_ms);
	if (fd < 0) {
		fprintf(stderr, "srvdctl: cannot connect to %s: %s\n", o->socket, strerror(errno));
		free(msg);
		return EXIT_CONN;
	}
	const char *why = NULL;
	rc = send_all(fd, msg, len, deadline);
	if (rc == 0)
		rc = recv_msg(fd, deadline, reply, reply_len, &why);
	if (rc != 0)
		fprintf(stderr, "srvdctl: %s: %s\n", o->socket, why ? why : strerror(errno));
	close(fd);
	free(msg);
	return rc == 0 ? EXIT_OK : EXIT_CONN;
}

/* ---- output ------------------------------------------------------------ */

static int print_reply(const struct opts *o, const ctl_reply_t *r)
{
	char *text = NULL;
	int rc = o->json ? ctl_reply_to_json(r, &text) : ctl_reply_to_text(r, o->req.cmd, &text);
	if (rc != 0) {
		fprintf(stderr, "srvdctl: cannot print the reply: out of memory\n");
		return EXIT_CONN;
	}
	if (!o->json && !ctl_reply_ok(r))
		print_failure(o->req.cmd, ctl_reply_error(r));
	if (!o->json && ctl_reply_ok(r) && text[0] == '\0')
		fputs("ok\n", stdout);
	fputs(text, stdout);
	free(text);
	if (fflush(stdout) != 0)
		return EXIT_CONN;
	return ctl_reply_ok(r) ? EXIT_OK : EXIT_FAILED;
}

/* keygen: 32 random bytes (the HMAC-SHA256 block is 64; RFC 8945 6 asks
 * for at least the output length), base64, and the lines to paste into
 * srvd.yaml and into a client (certbot's rfc2136.ini, lego's env). */
static int keygen(const char *name)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t key[33] = {0};
	if (getrandom(key, 32, 0) != 32) {
		fprintf(stderr, "srvdctl: keygen: no random bytes\n");
		return EXIT_FAILED;
	}
	char out[64] = "";
	size_t n = 0;
	for (size_t i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)key[i] << 16 | (uint32_t)key[i + 1] << 8 | key[i + 2];
		out[n++] = b64[v >> 18 & 63];
		out[n++] = b64[v >> 12 & 63];
		out[n++] = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		out[n++] = i + 2 < 32 ? b64[v & 63] : '=';
	}
	printf("# srvd.yaml\nkeys:\n  - name: %s\n    algorithm: hmac-sha256\n    secret: %s\n"
	       "# and in the zone: acme: [%s]\n"
	       "# certbot rfc2136.ini:\n"
	       "#   dns_rfc2136_name = %s\n#   dns_rfc2136_secret = %s\n"
	       "#   dns_rfc2136_algorithm = HMAC-SHA256\n",
	       name, out, name, name, out);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "keygen") == 0)
		return keygen(argv[2]);
	struct opts o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	uint8_t *msg = NULL;
	size_t len = 0;
	rc = exchange(&o, &msg, &len);
	if (rc != EXIT_OK)
		return rc;
	char err[160];
	ctl_reply_t *r;
	if (ctl_reply_decode(msg, len, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "srvdctl: %s: bad reply: %s\n", o.socket, err);
		free(msg);
		return EXIT_CONN;
	}
	free(msg);
	rc = print_reply(&o, r);
	ctl_reply_free(r);
	return rc;
}
