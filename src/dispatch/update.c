/* UPDATE in (RFC 2136, RFC 3007), the front door's part: after TSIG, on the
 * worker that got the message, decide what needs no zone data, so that a
 * refused or malformed request never leaves the worker:
 *   1. the zone section: one entry (else FORMERR), type SOA (FORMERR),
 *      class IN and a zone we serve at exactly that name (NOTAUTH);
 *   2. a secondary zone: hand it back for forwarding to the primary
 *      (RFC 2136 6), as it came: the primary judges it;
 *   3. a requester with no grant at all for the zone (an unsigned request
 *      from an address no rule names, a key no rule names): REFUSED;
 *   4. upd_scan: FORMERR, NOTZONE, or REFUSED for an RR outside the grant
 *      (logged with the zone, the key, the name and the type).
 * Anything else returns SRVD_UPDATE: the daemon takes the request with
 * srvd_update_begin and answers once the change is published and durable.
 * Nothing here allocates except srvd_update_begin, which the daemon calls.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"
#include "wire/name.h"

static int answer(srvd_responder_t *r, const srvd_query_t *sq, unsigned rcode, uint8_t *resp,
                  size_t cap, srvd_result_t *res)
{
	(void)r;
	return upd_reply(sq->wire, sq->len, rcode, resp, cap, &res->len);
}

static void log_refusal(const dsp_rule_t *rule, const uint8_t *key, const srvd_query_t *sq,
                        const upd_verdict_t *v)
{
	char who[INET6_ADDRSTRLEN], kname[1024] = "none", name[1024] = "?";
	if (key && wire_name_to_str(key, kname, sizeof(kname)) < 0)
		snprintf(kname, sizeof(kname), "?");
	if (v && v->name[0] == 0 && v->type == 0)
		snprintf(name, sizeof(name), "-");
	else if (v && wire_name_to_str(v->name, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	log_warn("update: zone %s: refused from %s, key %s, name %s, type %u: %s", rule->origin,
	         resp_peer(sq->src_addr, who, sizeof(who)), kname, v ? name : "-", v ? v->type : 0u,
	         v ? v->why : "no grant for this requester");
}

int dsp_update(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
               const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res)
{
	dsp_scratch_t *d = dsp_scratch(r);
	const uint8_t *key = d->signed_ok ? d->key->name : NULL;
	if (q->qtype != DNS_T_SOA)
		return answer(r, sq, DNS_RC_FORMERR, resp, cap, res);
	const zone_t *z = zone_set_find(s->zs, q->lname, q->qname_len);
	const dsp_rule_t *rule = dsp_server_rule(s, q->lname, q->qname_len);
	bool ours = (z && z->origin_len == q->qname_len) || (rule && rule->secondary);
	if (q->qclass != DNS_C_IN || !ours)
		return answer(r, sq, DNS_RC_NOTAUTH, resp, cap, res);
	if (!rule) { /* a zone with no update rules at all */
		char who[INET6_ADDRSTRLEN];
		log_warn("update: refused from %s: the zone takes no updates",
		         resp_peer(sq->src_addr, who, sizeof(who)));
		return answer(r, sq, DNS_RC_REFUSED, resp, cap, res);
	}
	if (rule->secondary) {
		res->zone = rule->origin;
		return SRVD_UPDATE;
	}
	if (!upd_policy_knows(&rule->update, key, sq->src_addr)) {
		log_refusal(rule, key, sq, NULL);
		return answer(r, sq, DNS_RC_REFUSED, resp, cap, res);
	}
	upd_verdict_t v;
	int rc = upd_scan(sq->wire, sq->len, q->lname, q->qname_len, &rule->update, key,
	                  sq->src_addr, &v);
	if (rc)
		return rc;
	if (v.rcode == DNS_RC_REFUSED)
		log_refusal(rule, key, sq, &v);
	if (v.rcode != DNS_RC_NOERROR)
		return answer(r, sq, v.rcode, resp, cap, res);
	res->zone = rule->origin;
	return SRVD_UPDATE;
}

int srvd_update_begin(srvd_responder_t *r, const srvd_server_t *s, const srvd_query_t *q,
                      srvd_update_t **out)
{
	if (!r || !s || !q || !q->wire || !out)
		return SRVD_EINVAL;
	dsp_scratch_t *d = dsp_scratch(r);
	resp_query_t pq;
	const dsp_rule_t *rule = NULL;
	if (resp_parse(q->wire, q->len, &pq) == PARSE_OK && pq.opcode == DNS_OP_UPDATE)
		rule = dsp_server_rule(s, pq.lname, pq.qname_len);
	srvd_update_t *u = rule ? calloc(1, sizeof(*u)) : NULL;
	int rc = !rule ? SRVD_EINVAL : u ? 0 : SRVD_ENOMEM;
	if (rc == 0 && (!(u->wire = malloc(q->len)) || !(u->zone = strdup(rule->origin))))
		rc = SRVD_ENOMEM;
	if (rc == 0) {
		memcpy(u->wire, q->wire, q->len);
		u->len = q->len;
		u->forward = rule->secondary;
		u->transport = q->transport;
		const struct sockaddr *sa = q->src_addr;
		if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
			size_t n = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
			                                    : sizeof(struct sockaddr_in6);
			memcpy(&u->peer, sa, n);
			u->has_peer = true;
		}
		if (d->signed_ok) {
			u->signed_ok = true;
			u->key = *d->key;
			u->tsig = d->t;
			u->tsig.key = &u->key;
		}
	}
	if (d->signed_ok) {
		xfr_tsig_deinit(&d->t);
		d->signed_ok = false;
	}
	if (rc) {
		srvd_update_free(u);
		return rc;
	}
	*out = u;
	return 0;
}
