/* Listen addresses and the sockets bound to them.
 *
 * We open sockets ourselves (socket, setsockopt, bind) rather than through
 * libuv because every worker binds its own socket to the same address with
 * SO_REUSEPORT, so the kernel spreads queries and connections across the
 * workers without a shared accept lock or queue.
 *
 * SO_REUSEPORT has one trap: a second srvd of the same user would bind the
 * same port silently and steal half the traffic. So before the real binds,
 * each address is probed with a plain bind (no SO_REUSEPORT): if anything
 * holds the port, the probe fails and the daemon refuses to start. The probe
 * also resolves port 0 to a concrete port that every worker then shares.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "net/worker.h"

static uint16_t addr_port(const net_addr_t *a)
{
	if (a->sa.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
}

static void set_port(net_addr_t *a, uint16_t port)
{
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons(port);
}

static void set_text(net_addr_t *a)
{
	char host[INET6_ADDRSTRLEN];
	const void *p = a->sa.ss_family == AF_INET
	                    ? (const void *)&((const struct sockaddr_in *)&a->sa)->sin_addr
	                    : (const void *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr;
	if (!inet_ntop(a->sa.ss_family, p, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	snprintf(a->text, sizeof(a->text), "%s@%u", host, addr_port(a));
}

int net_addr_init(const conf_addr_t *c, net_addr_t *out)
{
	net_addr_t a;
	memset(&a, 0, sizeof(a));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a.sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a.sa;
	if (inet_pton(AF_INET, c->host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		a.len = sizeof(*v4);
		a.any = v4->sin_addr.s_addr == htonl(INADDR_ANY);
	} else if (inet_pton(AF_INET6, c->host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		a.len = sizeof(*v6);
		a.any = IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr);
	} else {
		log_err("listen: %s is not a numeric IPv4 or IPv6 address", c->host);
		return SRVD_EINVAL;
	}
	set_port(&a, c->port);
	set_text(&a);
	*out = a;
	return 0;
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static const char *kind(int type)
{
	return type == SOCK_DGRAM ? "udp" : "tcp";
}

static int fail(int fd, const net_addr_t *a, int type, const char *what)
{
	log_err("cannot listen on %s (%s): %s: %s", a->text, kind(type), what, strerror(errno));
	if (fd >= 0)
		close(fd);
	return SRVD_EIO;
}

/* A socket of the address's family; v6 sockets never take v4 traffic, so
 * "::" and "0.0.0.0" can be listed side by side. */
static int open_sock(const net_addr_t *a, int type, int *fd)
{
	*fd = socket(a->sa.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return fail(-1, a, type, "socket");
	if (a->sa.ss_family == AF_INET6 && set_int(*fd, IPPROTO_IPV6, IPV6_V6ONLY, 1))
		return fail(*fd, a, type, "IPV6_V6ONLY");
	if (type == SOCK_STREAM && set_int(*fd, SOL_SOCKET, SO_REUSEADDR, 1))
		return fail(*fd, a, type, "SO_REUSEADDR");
	return 0;
}

static int probe(net_addr_t *a, int type)
{
	int fd;
	if (open_sock(a, type, &fd))
		return SRVD_EIO;
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len))
		return fail(fd, a, type, "bind");
	if (addr_port(a) == 0) {
		net_addr_t got = *a;
		got.len = sizeof(got.sa);
		if (getsockname(fd, (struct sockaddr *)&got.sa, &got.len))
			return fail(fd, a, type, "getsockname");
		set_port(a, addr_port(&got));
		set_text(a);
	}
	close(fd);
	return 0;
}

int net_addr_probe(net_addr_t *a)
{
	if (probe(a, SOCK_DGRAM) || probe(a, SOCK_STREAM))
		return SRVD_EIO;
	return 0;
}

/* Replies should not depend on path MTU discovery: a DNS answer that does
 * not fit is truncated by us, not fragmented by a stale route (as Knot and
 * NSD do). Best effort: older kernels lack OMIT. */
static void no_pmtud(int fd, int family)
{
#if defined(IP_PMTUDISC_OMIT) && defined(IPV6_PMTUDISC_OMIT)
	if (family == AF_INET)
		(void)set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT);
	else
		(void)set_int(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_OMIT);
#else
	(void)fd;
	(void)family;
#endif
}

/* The default 208 KiB receive buffer drops bursts of a few hundred
 * queries in flight; NSD asks for 1 MiB. As root (before dropping
 * privileges) the FORCE variant goes past net.core.rmem_max; otherwise
 * the kernel caps the request, which is still the best we can get. */
static void big_buffers(int fd)
{
	const int rcv = 4 << 20, snd = 1 << 20;
	if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcv))
		(void)set_int(fd, SOL_SOCKET, SO_RCVBUF, rcv);
	if (set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd))
		(void)set_int(fd, SOL_SOCKET, SO_SNDBUF, snd);
}

int net_sock_udp(const net_addr_t *a, int *out)
{
	int fd;
	if (open_sock(a, SOCK_DGRAM, &fd))
		return SRVD_EIO;
	if (set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1))
		return fail(fd, a, SOCK_DGRAM, "SO_REUSEPORT");
	if (a->any && a->sa.ss_family == AF_INET && set_int(fd, IPPROTO_IP, IP_PKTINFO, 1))
		return fail(fd, a, SOCK_DGRAM, "IP_PKTINFO");
	if (a->any && a->sa.ss_family == AF_INET6 && set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1))
		return fail(fd, a, SOCK_DGRAM, "IPV6_RECVPKTINFO");
	no_pmtud(fd, a->sa.ss_family);
	big_buffers(fd);
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len))
		return fail(fd, a, SOCK_DGRAM, "bind");
	*out = fd;
	return 0;
}

int net_sock_tcp(const net_addr_t *a, int *out)
{
	int fd;
	if (open_sock(a, SOCK_STREAM, &fd))
		return SRVD_EIO;
	if (set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1))
		return fail(fd, a, SOCK_STREAM, "SO_REUSEPORT");
	if (bind(fd, (const struct sockaddr *)&a->sa, a->len))
		return fail(fd, a, SOCK_STREAM, "bind");
	if (listen(fd, NET_TCP_BACKLOG))
		return fail(fd, a, SOCK_STREAM, "listen");
	*out = fd;
	return 0;
}
