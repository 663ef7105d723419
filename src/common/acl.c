/* Address and key ACLs. See acl.h. */
#include "common/acl.h"

#include <netinet/in.h>
#include <stdint.h>
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

/* Two 64-bit multiply-xorshift hashes with different seeds over the name
 * folded to lower case, without its trailing dot. */
static uint64_t fold_hash(const char *name, size_t len, uint64_t h)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		h = (h ^ c) * 0x100000001B3ull;
		h ^= h >> 29;
	}
	h ^= len;
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ull;
	h ^= h >> 33;
	return h;
}

void acl_key_entry(const char *name, srvd_prefix_t *out)
{
	size_t len = strlen(name);
	if (len > 1 && name[len - 1] == '.' && name[len - 2] != '\\')
		len--;
	uint64_t a = fold_hash(name, len, 0xCBF29CE484222325ull);
	uint64_t b = fold_hash(name, len, 0x9E3779B97F4A7C15ull);
	memset(out, 0, sizeof(*out));
	memcpy(out->addr, &a, 8);
	memcpy(out->addr + 8, &b, 8);
}

bool acl_match_key(const srvd_prefix_t *acl, size_t n, const char *name)
{
	if (!name)
		return false;
	srvd_prefix_t k;
	acl_key_entry(name, &k);
	for (size_t i = 0; i < n; i++)
		if (acl[i].family == 0 && memcmp(acl[i].addr, k.addr, sizeof(k.addr)) == 0)
			return true;
	return false;
}
