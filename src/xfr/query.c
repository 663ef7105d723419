/* The messages of a secondary's refresh cycle and of NOTIFY (RFC 1996):
 * building SOA/AXFR/IXFR/NOTIFY queries, checking the header and question
 * of responses, the SOA-check answer, and incoming NOTIFY messages.
 *
 * Kept apart from xfr_in.c because the network layer uses these on their
 * own: the SOA check and NOTIFY never start a transfer by themselves.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/xfr.h"

int xfr_fail(xfr_err_t *e, xfr_fail_t f, const char *fmt, ...)
{
	if (e) {
		e->fail = f;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->why, sizeof(e->why), fmt, ap);
		va_end(ap);
	}
	switch (f) {
	case XFR_FAIL_NONE: return 0;
	case XFR_FAIL_RCODE: return SRVD_EIO;
	case XFR_FAIL_NOT_NEWER: return SRVD_EEXIST;
	case XFR_FAIL_SIZE:
	case XFR_FAIL_COUNT: return SRVD_ELIMIT;
	case XFR_FAIL_DIFF_START:
	case XFR_FAIL_DIFF_CHAIN:
	case XFR_FAIL_DIFF_MISSING:
	case XFR_FAIL_ZONE: return SRVD_EZONE;
	case XFR_FAIL_TSIG:
	case XFR_FAIL_STATE: return SRVD_EINVAL;
	case XFR_FAIL_NOMEM: return SRVD_ENOMEM;
	case XFR_FAIL_SPOOL: return SRVD_EIO;
	default: return SRVD_EMALFORM;
	}
}

/* ---- queries ---------------------------------------------------------- */

static void put_header(wr_t *w, uint16_t id, uint16_t flags, uint16_t an, uint16_t ns)
{
	wr_u16(w, id);
	wr_u16(w, flags);
	wr_u16(w, 1);
	wr_u16(w, an);
	wr_u16(w, ns);
	wr_u16(w, 0);
}

static void put_question(wr_t *w, const uint8_t *origin, uint16_t qtype)
{
	wr_bytes(w, origin, wire_name_len(origin));
	wr_u16(w, qtype);
	wr_u16(w, DNS_C_IN);
}

/* The zone's SOA with its owner as a pointer to the question name. */
static void put_soa(wr_t *w, const zone_t *z)
{
	xfr_rr_t soa;
	xfr_zone_soa(z, &soa);
	wr_u16(w, 0xC000 | DNS_HDR_LEN);
	wr_u16(w, DNS_T_SOA);
	wr_u16(w, DNS_C_IN);
	wr_u32(w, soa.ttl);
	wr_u16(w, soa.rdlen);
	wr_bytes(w, soa.rdata, soa.rdlen);
}

static int finish(const wr_t *w, size_t *len)
{
	if (w->err)
		return SRVD_ESPACE;
	*len = w->pos;
	return 0;
}

static int simple_query(const uint8_t *origin, uint16_t qtype, uint16_t id, uint8_t *buf,
                        size_t cap, size_t *len)
{
	if (!origin || !buf || !len)
		return SRVD_EINVAL;
	wr_t w;
	wr_init(&w, buf, cap);
	put_header(&w, id, 0, 0, 0);
	put_question(&w, origin, qtype);
	return finish(&w, len);
}

int xfr_query_soa(const uint8_t *origin, uint16_t id, uint8_t *buf, size_t cap, size_t *len)
{
	return simple_query(origin, DNS_T_SOA, id, buf, cap, len);
}

int xfr_query_axfr(const uint8_t *origin, uint16_t id, uint8_t *buf, size_t cap, size_t *len)
{
	return simple_query(origin, DNS_T_AXFR, id, buf, cap, len);
}

int xfr_query_ixfr(const zone_t *cur, uint16_t id, uint8_t *buf, size_t cap, size_t *len)
{
	if (!cur || !buf || !len)
		return SRVD_EINVAL;
	wr_t w;
	wr_init(&w, buf, cap);
	put_header(&w, id, 0, 0, 1);
	put_question(&w, cur->origin, DNS_T_IXFR);
	put_soa(&w, cur);
	return finish(&w, len);
}

int xfr_query_notify(const uint8_t *origin, const zone_t *z, uint16_t id, uint8_t *buf, size_t cap,
                     size_t *len)
{
	if (!origin || !buf || !len)
		return SRVD_EINVAL;
	wr_t w;
	wr_init(&w, buf, cap);
	put_header(&w, id, (uint16_t)(DNS_OP_NOTIFY << 11) | DNS_AA, z ? 1 : 0, 0);
	put_question(&w, origin, DNS_T_SOA);
	if (z)
		put_soa(&w, z);
	return finish(&w, len);
}

/* ---- responses ---------------------------------------------------------- */

int xfr_read_head(rd_t *r, const uint8_t *origin, uint16_t qtype, unsigned opcode, uint16_t id,
                  bool need_question, xfr_err_t *err, xfr_hdr_t *out)
{
	xfr_hdr_t h;
	h.id = rd_u16(r);
	h.flags = rd_u16(r);
	h.qd = rd_u16(r);
	h.an = rd_u16(r);
	h.ns = rd_u16(r);
	h.ar = rd_u16(r);
	if (r->err)
		return xfr_fail(err, XFR_FAIL_MALFORMED,
		                "message shorter than a header (%zu bytes)", r->len);
	if (h.id != id)
		return xfr_fail(err, XFR_FAIL_ID, "message ID %u is not our query's %u", h.id, id);
	if (!(h.flags & DNS_QR))
		return xfr_fail(err, XFR_FAIL_QR, "QR bit not set: not a response");
	if (dns_opcode(h.flags) != opcode)
		return xfr_fail(err, XFR_FAIL_OPCODE, "opcode %u, expected %u", dns_opcode(h.flags),
		                opcode);
	unsigned rcode = h.flags & 0xF;
	if (rcode != DNS_RC_NOERROR) {
		if (err)
			err->rcode = (uint8_t)rcode;
		return xfr_fail(err, XFR_FAIL_RCODE, "server answered %s", xfr_rcode_name(rcode));
	}
	if (h.flags & DNS_TC)
		return xfr_fail(err, XFR_FAIL_TC, "TC bit set");
	if (h.qd > 1)
		return xfr_fail(err, XFR_FAIL_QUESTION, "%u questions", h.qd);
	if (h.qd == 0 && need_question)
		return xfr_fail(err, XFR_FAIL_QUESTION, "question section missing");
	if (h.qd == 1) {
		uint8_t qname[255];
		size_t at = r->pos;
		wire_name_read(r, true, qname);
		uint16_t qt = rd_u16(r);
		uint16_t qc = rd_u16(r);
		if (r->err) {
			if (err)
				err->offset = at;
			return xfr_fail(err, XFR_FAIL_MALFORMED, "question malformed at offset %zu",
			                at);
		}
		if (!wire_name_eq(qname, origin) || qt != qtype || qc != DNS_C_IN) {
			char a[1010], b[1010];
			wire_name_to_str(qname, a, sizeof(a));
			wire_name_to_str(origin, b, sizeof(b));
			return xfr_fail(err, XFR_FAIL_QUESTION,
			                "question %s type %u class %u does not match %s type %u IN",
			                a, qt, qc, b, qtype);
		}
	}
	*out = h;
	return 0;
}

int xfr_check_response(const uint8_t *msg, size_t len, const uint8_t *origin, uint16_t qtype,
                       unsigned opcode, uint16_t id, xfr_err_t *err)
{
	if (!msg || !origin)
		return SRVD_EINVAL;
	rd_t r;
	rd_init(&r, msg, len);
	xfr_hdr_t h;
	return xfr_read_head(&r, origin, qtype, opcode, id, true, err, &h);
}

int xfr_soa_response(const uint8_t *msg, size_t len, const uint8_t *origin, uint16_t id,
                     xfr_err_t *err, uint32_t *serial)
{
	if (!msg || !origin || !serial)
		return SRVD_EINVAL;
	rd_t r;
	rd_init(&r, msg, len);
	xfr_hdr_t h;
	int rc = xfr_read_head(&r, origin, DNS_T_SOA, DNS_OP_QUERY, id, true, err, &h);
	if (rc)
		return rc;
	uint8_t owner[255];
	uint8_t *rdbuf = malloc(65535);
	if (!rdbuf)
		return xfr_fail(err, XFR_FAIL_NOMEM, "out of memory");
	for (uint16_t i = 0; i < h.an; i++) {
		size_t at = r.pos;
		xfr_rr_t rr;
		if (!xfr_rr_read(&r, owner, rdbuf, &rr)) {
			if (err)
				err->offset = at;
			rc = xfr_fail(err, XFR_FAIL_MALFORMED,
			              "answer record malformed at offset %zu", at);
			goto done;
		}
		uint32_t s;
		if (rr.type == DNS_T_SOA && rr.rclass == DNS_C_IN && wire_name_eq(owner, origin) &&
		    xfr_soa_serial(rr.rdata, rr.rdlen, &s)) {
			if (!(h.flags & DNS_AA)) {
				rc = xfr_fail(err, XFR_FAIL_FIRST_SOA,
				              "SOA answer is not authoritative (AA clear)");
				goto done;
			}
			*serial = s;
			rc = 0;
			goto done;
		}
	}
	rc = xfr_fail(err, XFR_FAIL_FIRST_SOA, "no SOA for the zone in the answer");
done:
	free(rdbuf);
	return rc;
}

/* ---- NOTIFY -------------------------------------------------------------- */

int xfr_notify_parse(const uint8_t *msg, size_t len, xfr_err_t *err, xfr_notify_t *out)
{
	if (!msg || !out)
		return SRVD_EINVAL;
	rd_t r;
	rd_init(&r, msg, len);
	xfr_notify_t n;
	memset(&n, 0, sizeof(n));
	n.id = rd_u16(&r);
	uint16_t flags = rd_u16(&r);
	uint16_t counts[4];
	for (int i = 0; i < 4; i++)
		counts[i] = rd_u16(&r);
	if (r.err)
		return xfr_fail(err, XFR_FAIL_MALFORMED, "message shorter than a header");
	if (flags & DNS_QR)
		return xfr_fail(err, XFR_FAIL_QR, "QR set: a response, not a NOTIFY");
	if (dns_opcode(flags) != DNS_OP_NOTIFY)
		return xfr_fail(err, XFR_FAIL_OPCODE, "opcode %u is not NOTIFY", dns_opcode(flags));
	if (counts[0] != 1)
		return xfr_fail(err, XFR_FAIL_QUESTION, "NOTIFY with %u questions", counts[0]);
	n.origin_len = wire_name_read(&r, true, n.origin);
	uint16_t qtype = rd_u16(&r);
	uint16_t qclass = rd_u16(&r);
	if (r.err)
		return xfr_fail(err, XFR_FAIL_MALFORMED, "question malformed");
	if (qtype != DNS_T_SOA || qclass != DNS_C_IN)
		return xfr_fail(err, XFR_FAIL_QUESTION, "NOTIFY for type %u class %u, not SOA IN",
		                qtype, qclass);
	uint8_t owner[255];
	uint8_t *rdbuf = malloc(65535);
	if (!rdbuf)
		return xfr_fail(err, XFR_FAIL_NOMEM, "out of memory");
	unsigned total = (unsigned)counts[1] + counts[2] + counts[3];
	int rc = 0;
	for (unsigned i = 0; i < total && rc == 0; i++) {
		size_t at = r.pos;
		xfr_rr_t rr;
		if (!xfr_rr_read(&r, owner, rdbuf, &rr)) {
			if (err)
				err->offset = at;
			rc =
			    xfr_fail(err, XFR_FAIL_MALFORMED, "record malformed at offset %zu", at);
			break;
		}
		if (i < counts[1] && !n.has_serial && rr.type == DNS_T_SOA &&
		    wire_name_eq(owner, n.origin) && xfr_soa_serial(rr.rdata, rr.rdlen, &n.serial))
			n.has_serial = true;
		if (rr.type == DNS_T_TSIG)
			n.tsig = true;
	}
	free(rdbuf);
	if (rc == 0)
		*out = n;
	return rc;
}

int xfr_notify_reply(const uint8_t *query, size_t qlen, uint8_t rcode, uint8_t *buf, size_t cap,
                     size_t *len)
{
	if (!query || !buf || !len)
		return SRVD_EINVAL;
	rd_t r;
	rd_init(&r, query, qlen);
	uint16_t id = rd_u16(&r);
	uint16_t flags = rd_u16(&r);
	uint16_t qd = rd_u16(&r);
	rd_seek(&r, DNS_HDR_LEN);
	uint8_t name[255];
	size_t start = r.pos;
	if (qd >= 1) {
		wire_name_read(&r, false, name);
		rd_skip(&r, 4);
	}
	if (r.err)
		return SRVD_EMALFORM;
	wr_t w;
	wr_init(&w, buf, cap);
	wr_u16(&w, id);
	wr_u16(&w, (uint16_t)(DNS_QR | DNS_AA | (flags & 0x7800) | (rcode & 0xF)));
	wr_u16(&w, qd >= 1 ? 1 : 0);
	wr_u16(&w, 0);
	wr_u16(&w, 0);
	wr_u16(&w, 0);
	wr_bytes(&w, query + start, r.pos - start);
	return finish(&w, len);
}
