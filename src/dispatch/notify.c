/* NOTIFY in (RFC 1996) for the zones a server is a secondary for.
 *
 * A NOTIFY for a zone that has no rule marked secondary (a zone we are
 * primary for, or do not serve) is not taken here: the responder answers
 * it NOTAUTH. For a secondary zone, the peer is allowed when its address is
 * in the rule's notify-from, or when the request verified (dispatch.c) with
 * a key the list names. An allowed NOTIFY is answered NOERROR and reported
 * in srvd_result_t.zone, for the daemon to check the zone's SOA; one that
 * is not allowed gets REFUSED and a log line. Both echo the question and
 * the OPT (RFC 1996 4.7: the answer mirrors the request), with AA.
 *
 * The serial hint is read from the answer section here, with the
 * bounds-checked reader and no allocation.
 */
#include <arpa/inet.h>
#include <string.h>

#include "common/acl.h"
#include "common/buf.h"
#include "common/log.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"
#include "wire/name.h"

/* The serial of the SOA for the question's name in the answer section, if
 * the primary put one there (RFC 1996 3.7). */
static bool serial_hint(const srvd_query_t *sq, const resp_query_t *q, uint32_t *out)
{
	rd_t r;
	rd_init(&r, sq->wire, sq->len);
	rd_seek(&r, 6);
	uint16_t an = rd_u16(&r);
	rd_seek(&r, DNS_HDR_LEN + q->qwire_len);
	uint8_t name[255], lname[255];
	for (uint16_t i = 0; i < an && !r.err; i++) {
		size_t nlen = wire_name_read(&r, true, name);
		uint16_t type = rd_u16(&r);
		rd_skip(&r, 6);
		uint16_t rdlen = rd_u16(&r);
		size_t end = r.pos + rdlen;
		if (r.err || type != DNS_T_SOA || nlen != q->qname_len) {
			rd_skip(&r, rdlen);
			continue;
		}
		wire_name_lower(lname, name, nlen);
		if (memcmp(lname, q->lname, nlen) != 0) {
			rd_skip(&r, rdlen);
			continue;
		}
		wire_name_read(&r, true, name); /* MNAME */
		wire_name_read(&r, true, name); /* RNAME */
		uint32_t serial = rd_u32(&r);
		if (r.err || r.pos > end)
			return false;
		*out = serial;
		return true;
	}
	return false;
}

static bool allowed(const dsp_rule_t *rule, const srvd_query_t *sq)
{
	if (acl_match(rule->notify_from, rule->n_notify_from, sq->src_addr))
		return true;
	if (!sq->tsig_key)
		return false;
	char name[1024];
	wire_name_to_str(sq->tsig_key, name, sizeof(name));
	return acl_match_key(rule->notify_from, rule->n_notify_from, name);
}

static void log_notify(srvd_responder_t *r, const dsp_rule_t *rule, const srvd_query_t *sq, bool ok,
                       const srvd_result_t *res)
{
	if (!ok) {
		resp_log_refused(r, sq, rule->lorigin, "NOTIFY", "not in notify-from");
		return;
	}
	char who[INET6_ADDRSTRLEN], zone[1024];
	resp_peer(sq->src_addr, who, sizeof(who));
	wire_name_to_str(rule->lorigin, zone, sizeof(zone));
	const char *tsig = sq->tsig_key ? " (TSIG)" : "";
	if (res->has_serial)
		log_info("notify: zone %s serial %u from %s%s", zone, res->serial, who, tsig);
	else
		log_info("notify: zone %s from %s%s", zone, who, tsig);
}

bool dsp_notify(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
                const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res)
{
	if (q->qdcount != 1 || q->edns_bad || (q->edns && q->edns_version > 0) ||
	    q->qtype != DNS_T_SOA || q->qclass != DNS_C_IN)
		return false; /* the responder has the right error for it */
	const dsp_rule_t *rule = dsp_server_rule(s, q->lname, q->qname_len);
	if (!rule || !rule->secondary)
		return false;
	bool ok = allowed(rule, sq);
	if (ok) {
		res->zone = rule->origin;
		res->has_serial = serial_hint(sq, q, &res->serial);
	}
	log_notify(r, rule, sq, ok, res);
	resp_reply_rcode(r, q, sq, ok ? DNS_RC_NOERROR : DNS_RC_REFUSED, true, resp, cap, 0,
	                 &res->len);
	return true;
}
