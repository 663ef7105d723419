/* DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018.
 *
 * A server cookie is Version (1) | Reserved (3) | Timestamp (4) | Hash (8),
 * the hash SipHash-2-4 under the server secret of Client Cookie | Version |
 * Reserved | Timestamp | Client IP. Any server that shares the secret can
 * check it, which is what an anycast group needs. A cookie proves that the
 * client received an answer at its address before, so a valid one means
 * the source address is not spoofed: srvd_dispatch exempts it from RRL.
 *
 * Choices:
 *  - Valid: version 1, 16 bytes, no older than an hour and at most five
 *    minutes ahead (RFC 9018 4.3), made with the current secret or the
 *    one before it (the overlap that lets the secret rotate).
 *  - The answer echoes a valid cookie until it is half an hour old and was
 *    made with the current secret; otherwise it carries a new one, so a
 *    client always leaves with a cookie that stays valid for an hour.
 *  - A bad server cookie is answered normally with a fresh one (RFC 7873
 *    5.2.3 allows both; BADCOOKIE only when the operator requires cookies,
 *    dispatch.c): a client whose cookie went stale after a rotation or a
 *    restart then loses nothing.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "common/siphash.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"

enum { CLIENT = 8, SERVER = 16, MIN_SERVER = 8, MAX_SERVER = 32 };

void dsp_cookie_make(const uint8_t secret[16], const uint8_t client[8], const uint8_t reserved[3],
                     uint32_t when, const uint8_t *ip, size_t ip_len, uint8_t out[16])
{
	uint8_t in[CLIENT + 8 + 16];
	memcpy(in, client, CLIENT);
	in[8] = 1;
	memcpy(in + 9, reserved, 3);
	put_u32(in + 12, when);
	memcpy(in + 16, ip, ip_len);
	uint64_t h = siphash24(secret, in, 16 + ip_len);
	memcpy(out, in + 8, 8);
	for (unsigned i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(h >> (8 * i)); /* the reference's byte order */
}

/* The client's address as the hash takes it: 4 bytes for IPv4 (also when
 * mapped into IPv6), 16 for IPv6, none without an address. */
static size_t client_ip(const void *sockaddr, uint8_t ip[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	const struct sockaddr *sa = sockaddr;
	if (sa && sa->sa_family == AF_INET) {
		memcpy(ip, &((const struct sockaddr_in *)sockaddr)->sin_addr, 4);
		return 4;
	}
	if (!sa || sa->sa_family != AF_INET6)
		return 0;
	const uint8_t *a = ((const struct sockaddr_in6 *)sockaddr)->sin6_addr.s6_addr;
	bool v4 = memcmp(a, mapped, 12) == 0;
	memcpy(ip, v4 ? a + 12 : a, v4 ? 4 : 16);
	return v4 ? 4 : 16;
}

static bool same(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0; /* no early exit: the time taken says nothing */
	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* 1: valid with the current secret, 2: with the previous one, 0: not. */
static int check(const dsp_guard_t *g, const uint8_t *c, const uint8_t *ip, size_t ip_len,
                 uint32_t now)
{
	const uint8_t *sc = c + CLIENT;
	int32_t age = (int32_t)(now - get_u32(sc + 4)); /* RFC 1982 arithmetic */
	if (sc[0] != 1 || age > DSP_COOKIE_LIFE || age < -DSP_COOKIE_SKEW)
		return 0;
	uint8_t want[SERVER];
	dsp_cookie_make(g->secret, c, sc + 1, get_u32(sc + 4), ip, ip_len, want);
	if (same(want, sc, SERVER))
		return 1;
	if (!g->has_previous)
		return 0;
	dsp_cookie_make(g->previous, c, sc + 1, get_u32(sc + 4), ip, ip_len, want);
	return same(want, sc, SERVER) ? 2 : 0;
}

dsp_cookie_t dsp_cookie(const dsp_guard_t *g, const uint8_t *cookie, size_t len,
                        const void *sockaddr, uint32_t now, uint8_t out[DSP_COOKIE_OPT])
{
	if (len != CLIENT && (len < CLIENT + MIN_SERVER || len > CLIENT + MAX_SERVER))
		return DSP_COOKIE_MALFORMED;
	uint8_t ip[16];
	size_t ip_len = client_ip(sockaddr, ip);
	int ok = len == CLIENT + SERVER ? check(g, cookie, ip, ip_len, now) : 0;
	put_u16(out, EDNS_OPT_COOKIE);
	put_u16(out + 2, CLIENT + SERVER);
	memcpy(out + 4, cookie, CLIENT);
	int32_t age = ok ? (int32_t)(now - get_u32(cookie + CLIENT + 4)) : 0;
	if (ok == 1 && age <= DSP_COOKIE_FRESH) {
		memcpy(out + 4 + CLIENT, cookie + CLIENT, SERVER);
	} else {
		static const uint8_t zero[3];
		dsp_cookie_make(g->secret, cookie, zero, now, ip, ip_len, out + 4 + CLIENT);
	}
	if (ok)
		return DSP_COOKIE_VALID;
	return len == CLIENT ? DSP_COOKIE_CLIENT : DSP_COOKIE_INVALID;
}
