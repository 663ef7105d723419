/* bench/loadgen.c: a DNS load generator that can saturate a server on this
 * machine, for side-by-side runs of srvd, knotd and nsd.
 *
 * Plain C11 and libc only: it must not link srvd, so a bug in srvd's wire
 * code cannot hide itself in the measurement. Built by bench/CMakeLists.txt
 * as its own target.
 *
 * UDP: one connected socket, sendmmsg/recvmmsg in batches, at most --window
 * queries in flight. TCP: --conns connections, each with at most --pipeline
 * queries in flight, RFC 7766 2-byte framing. Either transport runs at the
 * highest rate the window allows (the default) or at --rate q/s (latency
 * runs), and stops at --duration seconds or --count queries, whichever comes
 * first; then it waits one --timeout for the answers still out.
 *
 * Every query in the file is encoded once at start (with --do, the OPT
 * carries the DO bit, so a signed zone answers with its RRSIGs and denial
 * proofs). The DNS ID of a query in
 * flight is its slot index, so an answer finds its slot without a search; the
 * question section must match too. A slot whose query timed out cools down
 * for one more timeout before reuse, so a late answer cannot be taken for
 * the answer to the slot's next query. Latency goes into a fixed log-linear
 * histogram (64 sub-buckets per power of two, <1.6% error); nothing is
 * allocated per query.
 *
 * Query file: `name TYPE [EXPECT]` per line (dnsperf's format plus an
 * optional third column): EXPECT is NOERROR (rcode 0 and an answer), NODATA
 * (rcode 0, no answer), NXDOMAIN, or another rcode name. Without it, any
 * NOERROR or NXDOMAIN passes. Every answer must have QR and AA set.
 *
 * Output: a human summary on stderr and one `key=value` line on stdout.
 * Other modes: --probe "NAME TYPE" sends one query and describes the answer
 * (its size, sections); --wait-ready S polls with single UDP queries until
 * an authoritative answer arrives and prints when (for startup timing).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 256
#define RECV_BUF 4096
#define MAX_QUERY 300       /* 2-byte frame + header + 255-byte name + question + OPT */
#define SCAN_NS 10000000ull /* timeout scan period: 10 ms */

enum expect { EXP_ANY = 0, EXP_NOERROR, EXP_NODATA, EXP_RCODE };

typedef struct query {
	uint32_t off;   /* into qbuf: 2-byte length, then the message */
	uint16_t len;   /* message length, without the frame */
	uint16_t qsec;  /* question section length (name + type + class) */
	uint8_t expect; /* enum expect */
	uint8_t rcode;  /* for EXP_RCODE */
} query_t;

enum slot_state { SLOT_FREE = 0, SLOT_BUSY, SLOT_COOL };

typedef struct slot {
	uint64_t t;    /* send time, or end of cool-down */
	uint32_t q;    /* query index */
	uint8_t state; /* enum slot_state */
} slot_t;

typedef struct conn {
	int fd;
	uint16_t *free_ids; /* stack of this connection's free slot ids */
	unsigned n_free;
	uint8_t *out;
	size_t out_len, out_off;
	uint8_t *in;
	size_t in_len;
	bool dead;
} conn_t;

#define HIST_SUB 64
#define HIST_N (64 * HIST_SUB)

static struct opts {
	const char *server, *file, *probe, *label;
	int port;
	bool tcp, edns, dnssec_ok, quiet;
	unsigned window, conns, pipeline, batch;
	double rate, duration, wait_ready;
	uint64_t count;
	unsigned timeout_ms;
	uint16_t edns_size;
} o = {
    .server = "127.0.0.1",
    .port = 53,
    .edns = true,
    .window = 200,
    .conns = 8,
    .pipeline = 25,
    .batch = 64,
    .duration = 10,
    .timeout_ms = 1000,
    .edns_size = 1232,
    .label = "-",
};

static query_t *queries;
static size_t n_queries;
static uint8_t *qbuf;
static size_t qbuf_len, qbuf_cap;

static slot_t *slots;
static unsigned n_slots;
static uint64_t hist[HIST_N];

static struct stats {
	uint64_t sent, answered, lost, wrong, truncated, stray, send_err, bytes;
	uint64_t bad_rcode, bad_count, bad_qsec, bad_flags, late_sends, reconnects;
	uint64_t lat_sum, lat_max;
} st;

static volatile sig_atomic_t interrupted;
static double send_secs; /* from the first query to the last one sent */

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "loadgen: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

/* ---- histogram ---- */

static unsigned hist_idx(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 6 */
	unsigned sub = (unsigned)(v >> (e - 6)) & (HIST_SUB - 1);
	unsigned i = (e - 5) * HIST_SUB + sub;
	return i < HIST_N ? i : HIST_N - 1;
}

static uint64_t hist_val(unsigned i) /* middle of bucket i */
{
	if (i < HIST_SUB)
		return i;
	unsigned e = i / HIST_SUB + 5, sub = i % HIST_SUB;
	uint64_t lo = ((uint64_t)(HIST_SUB + sub)) << (e - 6);
	return lo + ((1ull << (e - 6)) >> 1);
}

static void hist_add(uint64_t ns)
{
	hist[hist_idx(ns)]++;
	st.lat_sum += ns;
	if (ns > st.lat_max)
		st.lat_max = ns;
}

static double hist_pct(double p) /* microseconds */
{
	uint64_t total = 0;
	for (unsigned i = 0; i < HIST_N; i++)
		total += hist[i];
	if (!total)
		return 0;
	uint64_t want = (uint64_t)(p / 100.0 * (double)total);
	if (want >= total)
		want = total - 1;
	uint64_t acc = 0;
	for (unsigned i = 0; i < HIST_N; i++) {
		acc += hist[i];
		if (acc > want)
			return (double)hist_val(i) / 1000.0;
	}
	return 0;
}

/* ---- query encoding ---- */

static const struct {
	const char *name;
	uint16_t code;
} qtypes[] = {
    {"A", 1},      {"NS", 2},     {"CNAME", 5},  {"SOA", 6},     {"PTR", 12},
    {"MX", 15},    {"TXT", 16},   {"AAAA", 28},  {"SRV", 33},    {"NAPTR", 35},
    {"DS", 43},    {"RRSIG", 46}, {"NSEC", 47},  {"DNSKEY", 48}, {"SVCB", 64},
    {"HTTPS", 65}, {"CAA", 257},  {"AXFR", 252}, {"ANY", 255},
};

static const char *rcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                               "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};

static int parse_qtype(const char *s)
{
	for (size_t i = 0; i < sizeof qtypes / sizeof qtypes[0]; i++)
		if (!strcasecmp(s, qtypes[i].name))
			return qtypes[i].code;
	if (!strncasecmp(s, "TYPE", 4) && s[4]) {
		char *end;
		long v = strtol(s + 4, &end, 10);
		if (!*end && v >= 0 && v <= 65535)
			return (int)v;
	}
	return -1;
}

static const char *rcode_name(unsigned rc)
{
	return rc < sizeof rcodes / sizeof rcodes[0] ? rcodes[rc] : "RCODE?";
}

/* Encode `name` as wire labels into w; returns the length or -1. */
static int encode_name(const char *name, uint8_t *w, size_t cap)
{
	size_t n = 0;
	const char *p = name;
	if (!strcmp(p, ".")) {
		if (cap < 1)
			return -1;
		w[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || n + 1 + l + 1 > cap || n + 1 + l + 1 > 255)
			return -1;
		w[n++] = (uint8_t)l;
		memcpy(w + n, p, l);
		n += l;
		p += l;
		if (*p == '.')
			p++;
	}
	w[n++] = 0;
	return (int)n;
}

/* Append one query to qbuf. Returns 0, or -1 when the line is bad. */
static int add_query(const char *name, const char *type, const char *expect)
{
	int qt = parse_qtype(type);
	if (qt < 0 || strchr(name, '\\'))
		return -1;
	if (qbuf_len + MAX_QUERY > qbuf_cap) {
		qbuf_cap = qbuf_cap ? qbuf_cap * 2 : 1 << 20;
		qbuf = realloc(qbuf, qbuf_cap);
		if (!qbuf)
			die("%s", "out of memory");
	}
	uint8_t *m = qbuf + qbuf_len + 2;
	memset(m, 0, 12);
	m[5] = 1; /* QDCOUNT; RD=0 as a resolver asks an authoritative server */
	int nl = encode_name(name, m + 12, 256);
	if (nl < 0)
		return -1;
	size_t l = 12 + (size_t)nl;
	m[l++] = (uint8_t)(qt >> 8);
	m[l++] = (uint8_t)qt;
	m[l++] = 0;
	m[l++] = 1; /* IN */
	uint16_t qsec = (uint16_t)(l - 12);
	if (o.edns) {
		m[11] = 1; /* ARCOUNT */
		m[l++] = 0;
		m[l++] = 0;
		m[l++] = 41;
		m[l++] = (uint8_t)(o.edns_size >> 8);
		m[l++] = (uint8_t)o.edns_size;
		memset(m + l, 0, 6);
		if (o.dnssec_ok)
			m[l + 2] = 0x80; /* DO, the top bit of the OPT TTL's flags (RFC 3225) */
		l += 6;
	}
	qbuf[qbuf_len] = (uint8_t)(l >> 8);
	qbuf[qbuf_len + 1] = (uint8_t)l;

	if (n_queries % 65536 == 0) {
		queries = realloc(queries, (n_queries + 65536) * sizeof *queries);
		if (!queries)
			die("%s", "out of memory");
	}
	query_t *q = &queries[n_queries++];
	q->off = (uint32_t)qbuf_len;
	q->len = (uint16_t)l;
	q->qsec = qsec;
	q->expect = EXP_ANY;
	q->rcode = 0;
	if (expect && *expect) {
		if (!strcasecmp(expect, "NOERROR"))
			q->expect = EXP_NOERROR;
		else if (!strcasecmp(expect, "NODATA"))
			q->expect = EXP_NODATA;
		else {
			unsigned i;
			for (i = 0; i < sizeof rcodes / sizeof rcodes[0]; i++)
				if (!strcasecmp(expect, rcodes[i]))
					break;
			if (i == sizeof rcodes / sizeof rcodes[0])
				return -1;
			q->expect = EXP_RCODE;
			q->rcode = (uint8_t)i;
		}
	}
	qbuf_len += 2 + l;
	return 0;
}

static void load_queries(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open query file %s", path);
	char line[1024];
	unsigned long lineno = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *save = NULL;
		char *name = strtok_r(line, " \t\r\n", &save);
		if (!name || name[0] == '#' || name[0] == ';')
			continue;
		char *type = strtok_r(NULL, " \t\r\n", &save);
		char *exp = strtok_r(NULL, " \t\r\n", &save);
		if (!type || add_query(name, type, exp) < 0) {
			fprintf(stderr, "loadgen: %s:%lu: bad query line\n", path, lineno);
			exit(2);
		}
		if (n_queries >= 50000000)
			break;
	}
	fclose(f);
	if (!n_queries)
		die("no queries in %s", path);
}

/* ---- answer checking ---- */

/* Check an answer against slot `id`; counts it. `now` is the receive time. */
static void take_answer(const uint8_t *r, size_t len, uint64_t now, bool udp)
{
	if (len < 12) {
		st.stray++;
		return;
	}
	unsigned id = ((unsigned)r[0] << 8) | r[1];
	if (id >= n_slots || slots[id].state != SLOT_BUSY) {
		st.stray++; /* late answer to a timed-out query, or garbage */
		return;
	}
	slot_t *s = &slots[id];
	const query_t *q = &queries[s->q];
	const uint8_t *m = qbuf + q->off + 2;
	if (len < 12u + q->qsec || r[5] != 1 || r[4] != 0 || memcmp(r + 12, m + 12, q->qsec) != 0) {
		st.stray++; /* not the answer to what this slot asked */
		return;
	}
	s->state = SLOT_FREE;
	st.answered++;
	st.bytes += len;
	hist_add(now - s->t);

	unsigned rc = r[3] & 0x0F, an = ((unsigned)r[6] << 8) | r[7];
	bool qr = r[2] & 0x80, aa = r[2] & 0x04, tc = r[2] & 0x02;
	if (tc && udp) {
		st.truncated++;
		return;
	}
	bool ok = true;
	if (!qr || !aa || (r[2] & 0x78) != 0) {
		st.bad_flags++;
		ok = false;
	}
	switch (q->expect) {
	case EXP_ANY:
		if (rc != 0 && rc != 3) {
			st.bad_rcode++;
			ok = false;
		}
		break;
	case EXP_NOERROR:
	case EXP_NODATA:
		if (rc != 0) {
			st.bad_rcode++;
			ok = false;
		} else if ((q->expect == EXP_NOERROR) != (an > 0)) {
			st.bad_count++;
			ok = false;
		}
		break;
	case EXP_RCODE:
		if (rc != q->rcode) {
			st.bad_rcode++;
			ok = false;
		}
		break;
	}
	if (!ok)
		st.wrong++;
}

/* Expire slots past the timeout; release cooled-down ones. Returns how many
 * slots became free (for UDP, pushed back on the free stack by the caller). */
static void scan_slots(uint64_t now, uint64_t timeout_ns, void (*freed)(unsigned id))
{
	for (unsigned i = 0; i < n_slots; i++) {
		slot_t *s = &slots[i];
		/* s->t may be a little after `now`: sent later in the same loop turn */
		if (s->state == SLOT_BUSY && now > s->t && now - s->t >= timeout_ns) {
			s->state = SLOT_COOL;
			s->t = now + timeout_ns;
			st.lost++;
		} else if (s->state == SLOT_COOL && now >= s->t) {
			s->state = SLOT_FREE;
			freed(i);
		}
	}
}

/* ---- sockets ---- */

static struct sockaddr_storage srv_addr;
static socklen_t srv_len;

static void resolve_server(void)
{
	memset(&srv_addr, 0, sizeof srv_addr);
	struct sockaddr_in *a4 = (struct sockaddr_in *)&srv_addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&srv_addr;
	if (inet_pton(AF_INET, o.server, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)o.port);
		srv_len = sizeof *a4;
	} else if (inet_pton(AF_INET6, o.server, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)o.port);
		srv_len = sizeof *a6;
	} else {
		die("--server must be a numeric address, not %s", o.server);
	}
}

static int udp_socket(void)
{
	int fd = socket(srv_addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int sz = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	if (connect(fd, (struct sockaddr *)&srv_addr, srv_len) < 0)
		die("connect: %s", strerror(errno));
	return fd;
}

static int tcp_socket(void)
{
	int fd = socket(srv_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&srv_addr, srv_len) < 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* How many queries may go out now under --rate and --count. */
static uint64_t budget(uint64_t now, uint64_t start)
{
	uint64_t b = UINT64_MAX;
	if (o.rate > 0) {
		uint64_t due = (uint64_t)((double)(now - start) * o.rate / 1e9) + 1;
		b = due > st.sent ? due - st.sent : 0;
	}
	if (o.count && o.count - st.sent < b)
		b = o.count - st.sent;
	return b;
}

/* Time to sleep until the next query is due (rate mode), capped. */
static uint64_t next_due_ns(uint64_t now, uint64_t start)
{
	if (o.rate <= 0)
		return SCAN_NS;
	double t_next = (double)(st.sent) * 1e9 / o.rate;
	double wait = t_next - (double)(now - start);
	if (wait <= 0)
		return 0;
	return wait < (double)SCAN_NS ? (uint64_t)wait : SCAN_NS;
}

static void wait_fd(int fd, short events, uint64_t ns)
{
	struct pollfd p = {.fd = fd, .events = events};
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
	                      .tv_nsec = (long)(ns % 1000000000ull)};
	ppoll(&p, 1, &ts, NULL);
}

/* ---- UDP ---- */

static uint32_t *udp_free;
static unsigned udp_n_free;

static void udp_freed(unsigned id)
{
	udp_free[udp_n_free++] = id;
}

static double run_udp(void)
{
	int fd = udp_socket();
	n_slots = o.window;
	slots = calloc(n_slots, sizeof *slots);
	udp_free = malloc(n_slots * sizeof *udp_free);
	static uint8_t sbuf[MAX_BATCH][MAX_QUERY];
	static uint8_t rbuf[MAX_BATCH][RECV_BUF];
	static struct mmsghdr smsg[MAX_BATCH], rmsg[MAX_BATCH];
	static struct iovec siov[MAX_BATCH], riov[MAX_BATCH];
	static uint32_t batch_ids[MAX_BATCH];
	if (!slots || !udp_free)
		die("%s", "out of memory");
	for (unsigned i = 0; i < n_slots; i++)
		udp_free[udp_n_free++] = n_slots - 1 - i;
	for (unsigned i = 0; i < o.batch; i++) {
		siov[i].iov_base = sbuf[i];
		smsg[i].msg_hdr.msg_iov = &siov[i];
		smsg[i].msg_hdr.msg_iovlen = 1;
		riov[i].iov_base = rbuf[i];
		riov[i].iov_len = RECV_BUF;
		rmsg[i].msg_hdr.msg_iov = &riov[i];
		rmsg[i].msg_hdr.msg_iovlen = 1;
	}

	const uint64_t timeout_ns = (uint64_t)o.timeout_ms * 1000000ull;
	const uint64_t start = mono_ns();
	const uint64_t end = start + (uint64_t)(o.duration * 1e9);
	uint64_t stop_at = 0, next_scan = start + SCAN_NS, qi = 0, inflight = 0;
	uint64_t now = start;

	for (;;) {
		now = mono_ns();
		bool sending = !stop_at;
		if (sending && (now >= end || (o.count && st.sent >= o.count) || interrupted)) {
			stop_at = now;
			sending = false;
		}
		if (!sending && (inflight == 0 || now >= stop_at + timeout_ns || interrupted > 1))
			break;
		bool progress = false;

		if (sending) {
			uint64_t b = budget(now, start);
			if (o.rate > 0 && b > udp_n_free && b > 1)
				st.late_sends++; /* the window, not the rate, limits us */
			while (b > 0 && udp_n_free > 0) {
				unsigned n = o.batch;
				if (n > b)
					n = (unsigned)b;
				if (n > udp_n_free)
					n = udp_n_free;
				for (unsigned i = 0; i < n; i++) {
					uint32_t id = udp_free[udp_n_free - 1 - i];
					const query_t *q = &queries[qi % n_queries];
					memcpy(sbuf[i], qbuf + q->off + 2, q->len);
					sbuf[i][0] = (uint8_t)(id >> 8);
					sbuf[i][1] = (uint8_t)id;
					siov[i].iov_len = q->len;
					slots[id].q = (uint32_t)(qi % n_queries);
					batch_ids[i] = id;
					qi++;
				}
				uint64_t t = mono_ns();
				int r = sendmmsg(fd, smsg, n, 0);
				if (r <= 0) {
					qi -= n;
					if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
					    errno != ENOBUFS)
						st.send_err++;
					break;
				}
				qi -= n - (unsigned)r;
				for (int i = 0; i < r; i++) {
					slots[batch_ids[i]].state = SLOT_BUSY;
					slots[batch_ids[i]].t = t;
				}
				udp_n_free -= (unsigned)r;
				inflight += (unsigned)r;
				st.sent += (unsigned)r;
				b -= (unsigned)r;
				progress = true;
				if ((unsigned)r < n)
					break;
			}
		}

		for (int rounds = 0; rounds < 16; rounds++) {
			for (unsigned i = 0; i < o.batch; i++)
				rmsg[i].msg_hdr.msg_flags = 0;
			int r = recvmmsg(fd, rmsg, o.batch, MSG_DONTWAIT, NULL);
			if (r <= 0) {
				if (r < 0 && errno == ECONNREFUSED)
					st.send_err++;
				break;
			}
			uint64_t t = mono_ns();
			for (int i = 0; i < r; i++) {
				uint64_t before = st.answered;
				unsigned id = ((unsigned)rbuf[i][0] << 8) | rbuf[i][1];
				take_answer(rbuf[i], rmsg[i].msg_len, t, true);
				if (st.answered != before) {
					udp_free[udp_n_free++] = id;
					inflight--;
				}
			}
			progress = true;
			if ((unsigned)r < o.batch)
				break;
		}

		if (now >= next_scan) {
			uint64_t lost_before = st.lost;
			scan_slots(now, timeout_ns, udp_freed);
			inflight -= st.lost - lost_before;
			next_scan = now + SCAN_NS;
		}

		if (!progress) {
			uint64_t w = sending ? next_due_ns(now, start) : SCAN_NS;
			if (sending && udp_n_free == 0)
				w = SCAN_NS;
			if (w)
				wait_fd(fd, POLLIN, w);
		}
	}
	close(fd);
	send_secs = (double)((stop_at ? stop_at : now) - start) / 1e9;
	return (double)(now - start) / 1e9;
}

/* ---- TCP ---- */

static conn_t *conns;

static void conn_open(conn_t *c)
{
	c->fd = tcp_socket();
	c->dead = c->fd < 0;
	c->out_len = c->out_off = 0;
	c->in_len = 0;
}

static void conn_fail(conn_t *c, unsigned ci, uint64_t now, uint64_t *inflight)
{
	/* Every query still out on this connection is lost. Its slot is free at
	 * once: an answer to it could only come on the connection now closed. */
	(void)now;
	for (unsigned k = 0; k < o.pipeline; k++) {
		slot_t *s = &slots[ci * o.pipeline + k];
		if (s->state == SLOT_BUSY) {
			s->state = SLOT_FREE;
			st.lost++;
			(*inflight)--;
		}
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->dead = true;
}

static void tcp_freed(unsigned id)
{
	conn_t *c = &conns[id / o.pipeline];
	c->free_ids[c->n_free++] = (uint16_t)id;
}

static double run_tcp(void)
{
	n_slots = o.conns * o.pipeline;
	slots = calloc(n_slots, sizeof *slots);
	conns = calloc(o.conns, sizeof *conns);
	if (!slots || !conns)
		die("%s", "out of memory");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (unsigned ci = 0; ci < o.conns; ci++) {
		conn_t *c = &conns[ci];
		c->free_ids = malloc(o.pipeline * sizeof *c->free_ids);
		c->out = malloc((size_t)o.pipeline * MAX_QUERY);
		c->in = malloc(65536 + 2);
		if (!c->free_ids || !c->out || !c->in)
			die("%s", "out of memory");
		for (unsigned k = 0; k < o.pipeline; k++)
			c->free_ids[c->n_free++] = (uint16_t)(ci * o.pipeline + o.pipeline - 1 - k);
		conn_open(c);
		if (c->dead)
			die("cannot connect over TCP: %s", strerror(errno));
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = ci};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}

	const uint64_t timeout_ns = (uint64_t)o.timeout_ms * 1000000ull;
	const uint64_t start = mono_ns();
	const uint64_t end = start + (uint64_t)(o.duration * 1e9);
	uint64_t stop_at = 0, next_scan = start + SCAN_NS, qi = 0, inflight = 0, now = start;
	unsigned rr = 0;
	struct epoll_event evs[256];

	for (;;) {
		now = mono_ns();
		bool sending = !stop_at;
		if (sending && (now >= end || (o.count && st.sent >= o.count) || interrupted)) {
			stop_at = now;
			sending = false;
		}
		if (!sending && (inflight == 0 || now >= stop_at + timeout_ns || interrupted > 1))
			break;
		bool progress = false;

		uint64_t b = sending ? budget(now, start) : 0;
		for (unsigned j = 0; j < o.conns; j++) {
			unsigned ci = (rr + j) % o.conns;
			conn_t *c = &conns[ci];
			if (c->dead) {
				if (!sending)
					continue;
				/* bounded: at most one reconnect per connection per loop,
				 * and the loop is bounded by --duration */
				c->n_free = 0;
				for (unsigned k = 0; k < o.pipeline; k++)
					if (slots[ci * o.pipeline + k].state == SLOT_FREE)
						c->free_ids[c->n_free++] =
						    (uint16_t)(ci * o.pipeline + k);
				conn_open(c);
				if (c->dead)
					continue;
				st.reconnects++;
				struct epoll_event ev = {.events = EPOLLIN, .data.u32 = ci};
				epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			}
			uint64_t t = mono_ns();
			while (b > 0 && c->n_free > 0) {
				uint16_t id = c->free_ids[--c->n_free];
				const query_t *q = &queries[qi % n_queries];
				uint8_t *w = c->out + c->out_len;
				memcpy(w, qbuf + q->off, q->len + 2u);
				w[2] = (uint8_t)(id >> 8);
				w[3] = (uint8_t)id;
				c->out_len += q->len + 2u;
				slots[id].q = (uint32_t)(qi % n_queries);
				slots[id].state = SLOT_BUSY;
				slots[id].t = t;
				qi++;
				st.sent++;
				inflight++;
				b--;
			}
			if (c->out_len > c->out_off) {
				ssize_t r =
				    write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
				if (r > 0) {
					c->out_off += (size_t)r;
					progress = true;
				} else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
					st.send_err++;
					conn_fail(c, ci, now, &inflight);
					continue;
				}
				if (c->out_off == c->out_len)
					c->out_off = c->out_len = 0;
				else if (c->out_off > 0) {
					memmove(c->out, c->out + c->out_off,
					        c->out_len - c->out_off);
					c->out_len -= c->out_off;
					c->out_off = 0;
				}
			}
		}
		rr++;

		uint64_t w = progress ? 0 : (sending ? next_due_ns(now, start) : SCAN_NS);
		if (w)
			wait_fd(ep, POLLIN, w); /* an epoll fd polls readable when events wait */
		int n = epoll_wait(ep, evs, 256, 0);
		uint64_t t = mono_ns();
		for (int e = 0; e < n; e++) {
			unsigned ci = evs[e].data.u32;
			conn_t *c = &conns[ci];
			if (c->dead)
				continue;
			for (int rounds = 0; rounds < 8; rounds++) {
				size_t room = 65536 + 2 - c->in_len;
				ssize_t r = read(c->fd, c->in + c->in_len, room);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
					conn_fail(c, ci, t, &inflight);
					break;
				}
				if (r < 0)
					break;
				c->in_len += (size_t)r;
				progress = true;
				size_t off = 0;
				while (c->in_len - off >= 2) {
					size_t fl = ((size_t)c->in[off] << 8) | c->in[off + 1];
					if (c->in_len - off < 2 + fl)
						break;
					const uint8_t *msg = c->in + off + 2;
					uint64_t before = st.answered;
					unsigned id =
					    fl >= 2 ? (((unsigned)msg[0] << 8) | msg[1]) : 0;
					take_answer(msg, fl, t, false);
					if (st.answered != before) {
						c->free_ids[c->n_free++] = (uint16_t)id;
						inflight--;
					}
					off += 2 + fl;
				}
				memmove(c->in, c->in + off, c->in_len - off);
				c->in_len -= off;
				if ((size_t)r < room)
					break;
			}
		}

		if (now >= next_scan) {
			uint64_t lost_before = st.lost;
			scan_slots(now, timeout_ns, tcp_freed);
			inflight -= st.lost - lost_before;
			next_scan = now + SCAN_NS;
		}
	}
	for (unsigned ci = 0; ci < o.conns; ci++)
		if (conns[ci].fd >= 0)
			close(conns[ci].fd);
	close(ep);
	send_secs = (double)((stop_at ? stop_at : now) - start) / 1e9;
	return (double)(now - start) / 1e9;
}

/* ---- single-query modes ---- */

/* Send query 0 once and wait up to wait_ns for its answer. Returns the
 * answer length, 0 on timeout, -1 on a socket error. */
static int one_query(int fd, uint8_t *ans, size_t cap, uint64_t wait_ns)
{
	const query_t *q = &queries[0];
	uint8_t *m = qbuf + q->off + 2;
	static uint16_t id = 1;
	id = (uint16_t)(id * 31421u + 6927u);
	m[0] = (uint8_t)(id >> 8);
	m[1] = (uint8_t)id;
	if (o.tcp) {
		if (write(fd, qbuf + q->off, q->len + 2u) != q->len + 2)
			return -1;
		size_t got = 0, need = 2;
		uint64_t until = mono_ns() + wait_ns;
		uint8_t hdr[2];
		while (got < need) {
			uint64_t now = mono_ns();
			if (now >= until)
				return 0;
			wait_fd(fd, POLLIN, until - now);
			uint8_t *dst = got < 2 ? hdr + got : ans + got - 2;
			size_t want = got < 2 ? 2 - got : need - got;
			ssize_t r = read(fd, dst, want);
			if (r == 0)
				return -1;
			if (r < 0) {
				if (errno == EAGAIN)
					continue;
				return -1;
			}
			got += (size_t)r;
			if (got == 2) {
				need = 2 + (((size_t)hdr[0] << 8) | hdr[1]);
				if (need - 2 > cap)
					return -1;
			}
		}
		return (int)(need - 2);
	}
	if (send(fd, m, q->len, 0) < 0)
		return -1;
	uint64_t until = mono_ns() + wait_ns;
	for (;;) {
		uint64_t now = mono_ns();
		if (now >= until)
			return 0;
		wait_fd(fd, POLLIN, until - now);
		ssize_t r = recv(fd, ans, cap, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -1;
		}
		if (r >= 12 && ans[0] == m[0] && ans[1] == m[1])
			return (int)r;
	}
}

static int run_probe(void)
{
	uint8_t ans[65536];
	int fd = o.tcp ? tcp_socket() : udp_socket();
	if (fd < 0)
		die("cannot connect: %s", strerror(errno));
	int n = one_query(fd, ans, sizeof ans, (uint64_t)o.timeout_ms * 1000000ull);
	close(fd);
	if (n <= 0) {
		printf("probe=%s proto=%s status=%s\n", o.probe, o.tcp ? "tcp" : "udp",
		       n == 0 ? "timeout" : "error");
		return 1;
	}
	unsigned rc = ans[3] & 15;
	printf("probe=\"%s\" proto=%s status=ok size=%d rcode=%s aa=%d tc=%d ancount=%u nscount=%u "
	       "arcount=%u\n",
	       o.probe, o.tcp ? "tcp" : "udp", n, rcode_name(rc), !!(ans[2] & 4), !!(ans[2] & 2),
	       ((unsigned)ans[6] << 8) | ans[7], ((unsigned)ans[8] << 8) | ans[9],
	       ((unsigned)ans[10] << 8) | ans[11]);
	return 0;
}

/* Poll with single UDP queries until an authoritative answer with the
 * expected outcome arrives; print when, on the realtime clock (so a script
 * can subtract the time it started the server). */
static int run_wait_ready(void)
{
	uint8_t ans[RECV_BUF];
	uint64_t start = mono_ns(), limit = start + (uint64_t)(o.wait_ready * 1e9);
	uint64_t tries = 0;
	int fd = udp_socket();
	n_slots = 0;
	while (mono_ns() < limit && !interrupted) {
		uint64_t t0 = mono_ns();
		tries++;
		int n = one_query(fd, ans, sizeof ans, 2000000ull);
		if (n > 0) {
			unsigned rc = ans[3] & 15, an = ((unsigned)ans[6] << 8) | ans[7];
			const query_t *q = &queries[0];
			bool ok = (ans[2] & 0x84) == 0x84;
			if (q->expect == EXP_NOERROR)
				ok = ok && rc == 0 && an > 0;
			else if (q->expect == EXP_NODATA)
				ok = ok && rc == 0 && an == 0;
			else if (q->expect == EXP_RCODE)
				ok = ok && rc == q->rcode;
			if (ok) {
				uint64_t rt = real_ns();
				printf("ready=1 ready_realtime_ns=%" PRIu64
				       " waited_s=%.6f tries=%" PRIu64 "\n",
				       rt, (double)(mono_ns() - start) / 1e9, tries);
				close(fd);
				return 0;
			}
		}
		/* refused or not yet authoritative: pace at about 1 kHz */
		uint64_t spent = mono_ns() - t0;
		if (spent < 1000000ull) {
			struct timespec ts = {0, (long)(1000000ull - spent)};
			nanosleep(&ts, NULL);
		}
	}
	close(fd);
	printf("ready=0 waited_s=%.6f tries=%" PRIu64 "\n", (double)(mono_ns() - start) / 1e9,
	       tries);
	return 1;
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr,
	        "usage: loadgen -q FILE [options]     (load run)\n"
	        "       loadgen --probe 'NAME TYPE' [options]\n"
	        "       loadgen --wait-ready S (-q FILE | --probe 'NAME TYPE [EXPECT]') [options]\n"
	        "  -s, --server ADDR     numeric address (127.0.0.1)\n"
	        "  -p, --port PORT       (53)\n"
	        "  -q, --queries FILE    `name TYPE [NOERROR|NODATA|NXDOMAIN|rcode]` per line\n"
	        "  -t, --tcp             TCP instead of UDP\n"
	        "  -w, --window N        UDP queries in flight (200)\n"
	        "  -c, --conns N         TCP connections (8)\n"
	        "  -k, --pipeline K      TCP queries in flight per connection (25)\n"
	        "  -r, --rate QPS        fixed rate; 0 = as fast as the window allows (0)\n"
	        "  -d, --duration S      stop sending after S seconds (10)\n"
	        "  -n, --count N         stop sending after N queries (0 = no bound but -d)\n"
	        "  -T, --timeout MS      an answer later than this is lost (1000)\n"
	        "  -b, --batch N         UDP sendmmsg/recvmmsg batch (64, max 256)\n"
	        "  -e, --edns-size N     EDNS UDP size in queries (1232); --no-edns for none\n"
	        "      --do              set the DO bit (DNSSEC OK) in every query's OPT\n"
	        "  -l, --label STR       tag for the result line\n"
	        "      --quiet           no human summary on stderr\n");
	exit(2);
}

static unsigned long arg_ul(const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		die("bad number: %s", s);
	return v;
}

static double arg_d(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (*end || v < 0 || v > 1e9)
		die("bad number: %s", s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"server", required_argument, 0, 's'},
	    {"port", required_argument, 0, 'p'},
	    {"queries", required_argument, 0, 'q'},
	    {"tcp", no_argument, 0, 't'},
	    {"window", required_argument, 0, 'w'},
	    {"conns", required_argument, 0, 'c'},
	    {"pipeline", required_argument, 0, 'k'},
	    {"rate", required_argument, 0, 'r'},
	    {"duration", required_argument, 0, 'd'},
	    {"count", required_argument, 0, 'n'},
	    {"timeout", required_argument, 0, 'T'},
	    {"batch", required_argument, 0, 'b'},
	    {"edns-size", required_argument, 0, 'e'},
	    {"no-edns", no_argument, 0, 'E'},
	    {"do", no_argument, 0, 'D'},
	    {"label", required_argument, 0, 'l'},
	    {"probe", required_argument, 0, 'P'},
	    {"wait-ready", required_argument, 0, 'R'},
	    {"quiet", no_argument, 0, 'Q'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "s:p:q:tw:c:k:r:d:n:T:b:e:l:h", lo, NULL)) != -1) {
		switch (ch) {
		case 's': o.server = optarg; break;
		case 'p': o.port = (int)arg_ul(optarg, 1, 65535); break;
		case 'q': o.file = optarg; break;
		case 't': o.tcp = true; break;
		case 'w': o.window = (unsigned)arg_ul(optarg, 1, 65535); break;
		case 'c': o.conns = (unsigned)arg_ul(optarg, 1, 4096); break;
		case 'k': o.pipeline = (unsigned)arg_ul(optarg, 1, 65535); break;
		case 'r': o.rate = arg_d(optarg); break;
		case 'd': o.duration = arg_d(optarg); break;
		case 'n': o.count = arg_ul(optarg, 0, ULONG_MAX); break;
		case 'T': o.timeout_ms = (unsigned)arg_ul(optarg, 1, 600000); break;
		case 'b': o.batch = (unsigned)arg_ul(optarg, 1, MAX_BATCH); break;
		case 'e': o.edns_size = (uint16_t)arg_ul(optarg, 512, 65535); break;
		case 'E': o.edns = false; break;
		case 'D': o.dnssec_ok = true; break;
		case 'l': o.label = optarg; break;
		case 'P': o.probe = optarg; break;
		case 'R': o.wait_ready = arg_d(optarg); break;
		case 'Q': o.quiet = true; break;
		default: usage();
		}
	}
	if (optind != argc || (!o.file && !o.probe))
		usage();
	if (o.dnssec_ok && !o.edns)
		die("%s", "--do needs EDNS: it is a bit of the OPT record");
	if (o.tcp && (uint64_t)o.conns * o.pipeline > 65536)
		die("%s", "--conns x --pipeline must be at most 65536 (one DNS ID each)");
	if (o.duration <= 0 && !o.count)
		die("%s", "a run needs a bound: --duration or --count");

	resolve_server();
	if (o.probe) {
		char tmp[1024];
		snprintf(tmp, sizeof tmp, "%s", o.probe);
		char *save = NULL;
		char *name = strtok_r(tmp, " \t", &save), *type = strtok_r(NULL, " \t", &save);
		char *exp = strtok_r(NULL, " \t", &save);
		if (!name || !type || add_query(name, type, exp) < 0)
			die("bad --probe query: %s", o.probe);
	} else {
		load_queries(o.file);
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* precise sleeps at a fixed rate */

	if (o.wait_ready > 0)
		return run_wait_ready();
	if (o.probe)
		return run_probe();

	double secs = o.tcp ? run_tcp() : run_udp();
	/* Throughput over the sending phase: the drain adds at most the answers
	 * to one window, but up to one timeout of wall time. */
	double qps = send_secs > 0 ? (double)st.answered / send_secs : 0;
	double p50 = hist_pct(50), p99 = hist_pct(99), p999 = hist_pct(99.9);
	double avg_us = st.answered ? (double)st.lat_sum / (double)st.answered / 1000.0 : 0;
	double avg_size = st.answered ? (double)st.bytes / (double)st.answered : 0;
	/* The client's own CPU time: near `elapsed_s` means the client, not the
	 * server, may be what limits a max-throughput run. */
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

	printf("label=%s proto=%s mode=%s rate=%.0f window=%u conns=%u pipeline=%u elapsed_s=%.3f "
	       "sent=%" PRIu64 " answered=%" PRIu64 " lost=%" PRIu64 " wrong=%" PRIu64
	       " truncated=%" PRIu64 " stray=%" PRIu64 " send_err=%" PRIu64 " reconnects=%" PRIu64
	       " bad_rcode=%" PRIu64 " bad_count=%" PRIu64 " bad_flags=%" PRIu64
	       " late_sends=%" PRIu64
	       " send_s=%.3f qps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f avg_us=%.1f max_us=%.1f"
	       " avg_resp_bytes=%.1f client_cpu_s=%.2f\n",
	       o.label, o.tcp ? "tcp" : "udp", o.rate > 0 ? "rate" : "max", o.rate,
	       o.tcp ? 0 : o.window, o.tcp ? o.conns : 0, o.tcp ? o.pipeline : 0, secs, st.sent,
	       st.answered, st.lost, st.wrong, st.truncated, st.stray, st.send_err, st.reconnects,
	       st.bad_rcode, st.bad_count, st.bad_flags, st.late_sends, send_secs, qps, p50, p99,
	       p999, avg_us, (double)st.lat_max / 1000.0, avg_size, cpu);
	fflush(stdout);
	if (!o.quiet) {
		fprintf(stderr,
		        "%s over %s to %s port %d, %s, %.2f s\n"
		        "  sent %" PRIu64 ", answered %" PRIu64 " (%.0f q/s), lost %" PRIu64
		        ", wrong %" PRIu64 ", truncated %" PRIu64 ", stray %" PRIu64 "\n"
		        "  latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us; answers "
		        "%.1f bytes on average\n",
		        o.label, o.tcp ? "TCP" : "UDP", o.server, o.port,
		        o.rate > 0 ? "fixed rate" : "max throughput", secs, st.sent, st.answered,
		        qps, st.lost, st.wrong, st.truncated, st.stray, p50, p99, p999,
		        (double)st.lat_max / 1000.0, avg_size);
		if (st.wrong)
			fprintf(stderr,
			        "  wrong: rcode %" PRIu64 ", answer count %" PRIu64
			        ", flags %" PRIu64 "\n",
			        st.bad_rcode, st.bad_count, st.bad_flags);
	}
	return 0;
}
