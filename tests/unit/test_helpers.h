/* Helpers for the unit tests: presentation names to wire form, and records
 * fed straight into a zone builder (no zone file, no ldns), so lookup and
 * builder tests control exactly what goes into a zone version.
 */
#ifndef SRVD_TESTS_UNIT_HELPERS_H
#define SRVD_TESTS_UNIT_HELPERS_H

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

/* Wire form of a presentation name; returns its length. */
static inline size_t th_name(const char *s, uint8_t out[255])
{
	size_t len = 0;
	assert_int_equal(wire_name_from_str(s, out, &len), 0);
	return len;
}

static inline int th_add(zone_builder_t *b, const char *owner, uint16_t type, uint32_t ttl,
                         const uint8_t *rd, size_t rdlen)
{
	uint8_t o[255];
	th_name(owner, o);
	return zone_builder_add(b, o, type, ttl, rd, (uint16_t)rdlen, "unit", 1);
}

static inline void th_soa(zone_builder_t *b, const char *owner, uint32_t ttl, uint32_t serial,
                          uint32_t minimum)
{
	uint8_t rd[600];
	size_t n = th_name("ns1.example.com", rd);
	n += th_name("hostmaster.example.com", rd + n);
	const uint32_t v[5] = {serial, 7200, 3600, 1209600, minimum};
	for (int i = 0; i < 5; i++, n += 4)
		put_u32(rd + n, v[i]);
	assert_int_equal(th_add(b, owner, DNS_T_SOA, ttl, rd, n), 0);
}

/* NS, CNAME, DNAME, PTR: rdata is one name. */
static inline int th_name_rr(zone_builder_t *b, const char *owner, uint16_t type, uint32_t ttl,
                             const char *target)
{
	uint8_t rd[255];
	size_t n = th_name(target, rd);
	return th_add(b, owner, type, ttl, rd, n);
}

static inline int th_a(zone_builder_t *b, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t rd[4];
	assert_int_equal(inet_pton(AF_INET, addr, rd), 1);
	return th_add(b, owner, DNS_T_A, ttl, rd, 4);
}

static inline int th_aaaa(zone_builder_t *b, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t rd[16];
	assert_int_equal(inet_pton(AF_INET6, addr, rd), 1);
	return th_add(b, owner, DNS_T_AAAA, ttl, rd, 16);
}

static inline int th_txt(zone_builder_t *b, const char *owner, uint32_t ttl, const char *text)
{
	uint8_t rd[256];
	size_t n = strlen(text);
	assert_true(n < 256);
	rd[0] = (uint8_t)n;
	memcpy(rd + 1, text, n);
	return th_add(b, owner, DNS_T_TXT, ttl, rd, n + 1);
}

static inline int th_srv(zone_builder_t *b, const char *owner, uint32_t ttl, uint16_t prio,
                         uint16_t weight, uint16_t port, const char *target)
{
	uint8_t rd[261];
	put_u16(rd, prio);
	put_u16(rd + 2, weight);
	put_u16(rd + 4, port);
	size_t n = th_name(target, rd + 6);
	return th_add(b, owner, DNS_T_SRV, ttl, rd, n + 6);
}

static inline int th_mx(zone_builder_t *b, const char *owner, uint32_t ttl, uint16_t pref,
                        const char *target)
{
	uint8_t rd[257];
	put_u16(rd, pref);
	size_t n = th_name(target, rd + 2);
	return th_add(b, owner, DNS_T_MX, ttl, rd, n + 2);
}

/* A new builder for origin, with diagnostics counted into diag. */
static inline zone_builder_t *th_builder(const char *origin, srvd_diag_t *diag)
{
	uint8_t o[255];
	th_name(origin, o);
	zone_builder_t *b = NULL;
	assert_int_equal(zone_builder_new(o, diag, &b), 0);
	return b;
}

/* Exact node of a presentation name, or ZONE_NONE. */
static inline uint32_t th_find(const zone_t *z, const char *name)
{
	uint8_t w[255], l[255];
	size_t n = th_name(name, w);
	wire_name_lower(l, w, n);
	return zone_find(z, l, n);
}

static inline void th_lookup(const zone_t *z, const char *name, zone_lookup_t *out)
{
	uint8_t w[255], l[255];
	size_t n = th_name(name, w);
	wire_name_lower(l, w, n);
	zone_key_t k;
	zone_key_init(&k, l, n);
	zone_lookup(z, &k, out);
}

/* Presentation form of a node's owner name, for readable assertions. */
static inline const char *th_node_str(const zone_t *z, uint32_t node, char buf[1010])
{
	if (node == ZONE_NONE)
		return "(none)";
	wire_name_to_str(zone_node_name(z, &z->nodes[node]), buf, 1010);
	return buf;
}

#endif
