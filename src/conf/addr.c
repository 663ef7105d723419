/* conf/ address syntax: "address[@port]" for listen and notify, and
 * "address[/bits]" for transfer ACLs. inet_pton decides what an address is,
 * and we store the inet_ntop form, so equal addresses compare equal. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

#include "conf/conf_int.h"

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return SRVD_EPARSE;
}

/* Decimal digits only: no sign, no blanks, no 0x. Saturates, so a long run of
 * digits is simply out of range. */
static int parse_num(const char *s, unsigned *out)
{
	unsigned v = 0;
	if (!*s)
		return SRVD_EPARSE;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return SRVD_EPARSE;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > 1000000)
			v = 1000000;
	}
	*out = v;
	return 0;
}

/* Splits s into host and port text. IPv6 with a port needs brackets, but
 * "::1@53" is unambiguous too, so the last '@' separates. */
static int split_host(const char *s, char *host, size_t cap, const char **port, bool *bracket,
                      const char **why)
{
	const char *h = s, *end;
	*port = NULL;
	*bracket = s[0] == '[';
	if (*bracket) {
		h = s + 1;
		end = strchr(h, ']');
		if (!end)
			return bad(why, "missing ']'");
		if (end[1] == '@')
			*port = end + 2;
		else if (end[1])
			return bad(why, "expected '@port' after ']'");
	} else {
		end = strrchr(s, '@');
		if (end)
			*port = end + 1;
		else
			end = s + strlen(s);
	}
	size_t n = (size_t)(end - h);
	if (n == 0 || n >= cap)
		return bad(why, "not an IPv4 or IPv6 address");
	memcpy(host, h, n);
	host[n] = '\0';
	return 0;
}

int conf_addr_parse(const char *s, uint16_t default_port, conf_addr_t *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	uint8_t bin[16];
	const char *port;
	bool bracket;
	conf_addr_t a = {.port = default_port};

	if (split_host(s, host, sizeof(host), &port, &bracket, why))
		return SRVD_EPARSE;
	int af = AF_INET6;
	if (inet_pton(AF_INET6, host, bin) != 1) {
		af = AF_INET;
		if (bracket || inet_pton(AF_INET, host, bin) != 1)
			return bad(why, "not an IPv4 or IPv6 address");
	}
	if (port) {
		unsigned p;
		if (parse_num(port, &p))
			return bad(why, "the port is not a number");
		if (p < 1 || p > 65535)
			return bad(why, "port out of range 1..65535");
		a.port = (uint16_t)p;
	}
	if (!inet_ntop(af, bin, a.host, sizeof(a.host)))
		return bad(why, "not an IPv4 or IPv6 address");
	*out = a;
	return 0;
}

int conf_parse_addr(const char *s, uint16_t default_port, conf_addr_t *out)
{
	const char *why;
	if (!s || !out)
		return SRVD_EINVAL;
	return conf_addr_parse(s, default_port, out, &why);
}

static bool host_bits_clear(const uint8_t *a, unsigned bits, unsigned max)
{
	for (unsigned i = bits; i < max; i++) {
		if (a[i / 8] & (0x80u >> (i % 8)))
			return false;
	}
	return true;
}

int conf_prefix_parse(const char *s, srvd_prefix_t *out, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	srvd_prefix_t p = {.family = 6};
	unsigned max = 128, bits;
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	if (n == 0 || n >= sizeof(host))
		return bad(why, "not an IPv4 or IPv6 address");
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, p.addr) != 1) {
		p.family = 4;
		max = 32;
		if (inet_pton(AF_INET, host, p.addr) != 1)
			return bad(why, "not an IPv4 or IPv6 address");
	}
	bits = max;
	if (slash && parse_num(slash + 1, &bits))
		return bad(why, "the prefix length is not a number");
	if (bits > max)
		return bad(why, p.family == 4 ? "prefix length beyond /32"
		                              : "prefix length beyond /128");
	/* 192.0.2.1/24 is most likely a typo for /32: refuse to guess. */
	if (!host_bits_clear(p.addr, bits, max))
		return bad(why, "address bits set beyond the prefix length");
	p.bits = (uint8_t)bits;
	*out = p;
	return 0;
}

int conf_parse_prefix(const char *s, srvd_prefix_t *out)
{
	const char *why;
	if (!s || !out)
		return SRVD_EINVAL;
	return conf_prefix_parse(s, out, &why);
}
