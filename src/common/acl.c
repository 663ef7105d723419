/* Address and key ACLs. See acl.h. */
#include "common/acl.h"

#include <ctype.h>
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

/* The presentation-form name (\X and \DDD escapes, trailing dot or not) in
 * wire form, ASCII folded to lower case (RFC 4343), zero-padded to
 * SRVD_ACL_KEY_LEN bytes: two names are the same DNS name exactly when
 * these bytes are equal. Own parser: common/ sits below wire/. */
static bool canonical(const char *s, uint8_t out[SRVD_ACL_KEY_LEN])
{
	uint8_t buf[SRVD_ACL_KEY_LEN + 64] = {0};
	size_t o = 0;
	if (!*s)
		return false;
	if (strcmp(s, ".") == 0)
		s++; /* the root: one zero byte */
	while (*s) {
		size_t lpos = o++;
		unsigned l = 0;
		while (*s && *s != '.') {
			unsigned c = (unsigned char)*s++;
			if (c == '\\') {
				if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
				    isdigit((unsigned char)s[2])) {
					c = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 +
					               (s[2] - '0'));
					s += 3;
					if (c > 255)
						return false;
				} else if (*s) {
					c = (unsigned char)*s++;
				} else {
					return false;
				}
			}
			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (l == 63 || o >= SRVD_ACL_KEY_LEN)
				return false;
			buf[o++] = (uint8_t)c;
			l++;
		}
		if (l == 0)
			return false; /* empty label: "a..b", ".a" */
		buf[lpos] = (uint8_t)l;
		if (*s == '.')
			s++;
	}
	if (o + 1 > SRVD_ACL_KEY_LEN)
		return false; /* with the root label, over 255 bytes */
	memcpy(out, buf, SRVD_ACL_KEY_LEN);
	return true;
}

void acl_key_entry(const char *name, srvd_prefix_t *out)
{
	memset(out, 0, sizeof(*out));
	/* Family 0xFF matches nothing: not an address family, not a key. */
	out->family = canonical(name, out->key) ? 0 : 0xFF;
}

bool acl_match_key(const srvd_prefix_t *acl, size_t n, const char *name)
{
	uint8_t key[SRVD_ACL_KEY_LEN];
	if (!name || !canonical(name, key))
		return false;
	for (size_t i = 0; i < n; i++)
		if (acl[i].family == 0 && memcmp(acl[i].key, key, sizeof(key)) == 0)
			return true;
	return false;
}
