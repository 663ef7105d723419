/* srvd_xfr_begin(): the cursor for a transfer srvd_dispatch allowed. It
 * picks the journal of the zone's rule for IXFR (RFC 1995: incremental
 * when the journal reaches the client's serial), and moves the TSIG
 * session of the request from the responder's scratch into the cursor, so
 * that every message of the stream is signed (RFC 8945 5.3.1) however long
 * the stream outlives the message that started it. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"

static xfr_journal_t *journal_for(const srvd_server_t *s, const srvd_query_t *q)
{
	resp_query_t pq;
	if (resp_parse(q->wire, q->len, &pq) != PARSE_OK || pq.qtype != DNS_T_IXFR)
		return NULL;
	const dsp_rule_t *rule = dsp_server_rule(s, pq.lname, pq.qname_len);
	return rule ? rule->journal : NULL;
}

int srvd_xfr_begin(srvd_responder_t *r, const srvd_server_t *s, const srvd_query_t *q,
                   srvd_xfr_t **out)
{
	if (!r || !s || !q || !q->wire || !out)
		return SRVD_EINVAL;
	dsp_scratch_t *d = dsp_scratch(r);
	srvd_query_t vq = *q;
	if (d->signed_ok)
		vq.tsig_key = d->key->name;
	bool incremental = false;
	srvd_xfr_t *x = NULL;
	int rc = xfr_out_ixfr_new(s->zs, &vq, journal_for(s, q), &incremental, &x);
	if (rc == 0 && d->signed_ok)
		rc = xfr_out_set_tsig(x, &d->t, d->key);
	if (d->signed_ok) {
		xfr_tsig_deinit(&d->t);
		d->signed_ok = false;
	}
	if (rc) {
		srvd_xfr_free(x);
		return rc;
	}
	*out = x;
	return 0;
}
