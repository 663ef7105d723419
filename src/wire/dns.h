/* DNS protocol constants: header layout, flags, types, classes, rcodes. */
#ifndef SRVD_WIRE_DNS_H
#define SRVD_WIRE_DNS_H

#include <stdbool.h>
#include <stdint.h>

enum {
	DNS_HDR_LEN = 12,
	DNS_NAME_MAX = 255,
	DNS_LABEL_MAX = 63,
	DNS_UDP_MIN = 512,
	DNS_TCP_MAX = 65535,
};

/* Header flag bits in the 16-bit flags word. */
enum {
	DNS_QR = 0x8000,
	DNS_AA = 0x0400,
	DNS_TC = 0x0200,
	DNS_RD = 0x0100,
	DNS_RA = 0x0080,
	DNS_Z = 0x0040,
	DNS_AD = 0x0020,
	DNS_CD = 0x0010,
};

static inline unsigned dns_opcode(uint16_t flags)
{
	return (flags >> 11) & 0xF;
}

enum {
	DNS_OP_QUERY = 0,
	DNS_OP_NOTIFY = 4,
	DNS_OP_UPDATE = 5,
};

enum {
	DNS_RC_NOERROR = 0,
	DNS_RC_FORMERR = 1,
	DNS_RC_SERVFAIL = 2,
	DNS_RC_NXDOMAIN = 3,
	DNS_RC_NOTIMP = 4,
	DNS_RC_REFUSED = 5,
	DNS_RC_YXDOMAIN = 6,
	DNS_RC_NOTAUTH = 9,
	DNS_RC_BADVERS = 16,
	DNS_RC_BADCOOKIE = 23, /* RFC 7873 8 */
};

enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_MD = 3,
	DNS_T_MF = 4,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_MB = 7,
	DNS_T_MG = 8,
	DNS_T_MR = 9,
	DNS_T_PTR = 12,
	DNS_T_HINFO = 13,
	DNS_T_MINFO = 14,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_RP = 17,
	DNS_T_AFSDB = 18,
	DNS_T_RT = 21,
	DNS_T_SIG = 24,
	DNS_T_PX = 26,
	DNS_T_AAAA = 28,
	DNS_T_NXT = 30,
	DNS_T_SRV = 33,
	DNS_T_NAPTR = 35,
	DNS_T_KX = 36,
	DNS_T_A6 = 38,
	DNS_T_DNAME = 39,
	DNS_T_OPT = 41,
	DNS_T_DS = 43,
	DNS_T_RRSIG = 46,
	DNS_T_NSEC = 47,
	DNS_T_DNSKEY = 48,
	DNS_T_NSEC3 = 50,
	DNS_T_SVCB = 64,
	DNS_T_HTTPS = 65,
	DNS_T_TKEY = 249,
	DNS_T_TSIG = 250,
	DNS_T_IXFR = 251,
	DNS_T_AXFR = 252,
	DNS_T_MAILB = 253,
	DNS_T_MAILA = 254,
	DNS_T_ANY = 255,
};

enum {
	DNS_C_IN = 1,
	DNS_C_CH = 3,
	DNS_C_HS = 4,
	DNS_C_NONE = 254,
	DNS_C_ANY = 255,
};

enum {
	EDNS_OPT_NSID = 3,
	EDNS_OPT_COOKIE = 10, /* RFC 7873 */
	EDNS_DO = 0x8000,
};

/* Where the domain names sit in the RDATA of the types srvd looks inside:
 * `fixed` bytes, then `names` uncompressed names, then exactly `tail`
 * bytes. `compress`: the names may be compressed in responses (the RFC
 * 1035 types only, RFC 3597 4; not SRV, RFC 2782, nor DNAME, RFC 6672).
 * False for every other type, whose RDATA is opaque to us. */
typedef struct dns_rdata_shape {
	uint8_t fixed, names, tail;
	bool compress;
} dns_rdata_shape_t;

static inline bool dns_rdata_shape(uint16_t type, dns_rdata_shape_t *s)
{
	*s = (dns_rdata_shape_t){.names = 1, .compress = true};
	switch (type) {
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
	case DNS_T_MB:
	case DNS_T_MD:
	case DNS_T_MF:
	case DNS_T_MG:
	case DNS_T_MR: return true;
	case DNS_T_MX: s->fixed = 2; return true;
	case DNS_T_MINFO: s->names = 2; return true;
	case DNS_T_SOA: s->names = 2, s->tail = 20; return true;
	case DNS_T_SRV: s->fixed = 6, s->compress = false; return true;
	case DNS_T_DNAME: s->compress = false; return true;
	default: return false;
	}
}

#endif
