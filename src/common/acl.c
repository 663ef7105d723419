/* Address ACLs. See acl.h. */
#include "common/acl.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static bool prefix_match(const srvd_prefix_t *p, const uint8_t *addr, int family)
{
	if (p->family != family)
		return false;
	unsigned full = p->bits / 8u, rest = p->bits % 8u;
	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (p->addr[full] & mask) == (addr[full] & mask);
}

/* The address bytes and family (4 or 6) of a socket address. */
static bool addr_of(const struct sockaddr *sa, uint8_t out[16], int *family)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		*family = 4;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	bool v4 = memcmp(a6, mapped, 12) == 0;
	memcpy(out, v4 ? a6 + 12 : a6, v4 ? 4 : 16);
	*family = v4 ? 4 : 6;
	return true;
}

bool acl_match(const srvd_prefix_t *acl, size_t n, const void *sockaddr)
{
	uint8_t addr[16];
	int family;
	if (!sockaddr || !n || !addr_of(sockaddr, addr, &family))
		return false;
	for (size_t i = 0; i < n; i++)
		if (prefix_match(&acl[i], addr, family))
			return true;
	return false;
}
