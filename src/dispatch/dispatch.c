/* srvd_dispatch(): the one front door for every DNS message a server gets.
 *
 * The order follows RFC 8945 and what Knot's process_query.c does: parse
 * the header and records once (resp_parse), check TSIG before anything
 * else looks at the request, then act on the opcode:
 *   1. A TSIG record that is malformed, not last, or one of several:
 *      FORMERR (RFC 8945 5.1), unsigned.
 *   2. A key we do not have, a MAC that does not verify, a time outside
 *      the fudge: NOTAUTH with the TSIG error (RFC 8945 5.2). Never an
 *      unsigned answer to a signed request: that would let a client that
 *      forged a MAC read what an unsigned request may read.
 *   3. QUERY (and NOTIFY for zones that are not ours to take): the
 *      responder, with the verified key's name in srvd_query_t.tsig_key
 *      so transfer ACLs may grant by it.
 *   4. NOTIFY for a secondary zone: notify.c. UPDATE: update.c, which
 *      answers what needs no zone data and hands the rest back
 *      (SRVD_UPDATE) for srvd_update_begin.
 *   5. The answer to a verified request is signed; room for the TSIG
 *      record is held back inside the client's size limit.
 * A plain query (no TSIG record, not NOTIFY) takes the responder's fast
 * path (resp_respond_plain), parsed once, and costs a few stores over
 * srvd_respond; everything else is deferred to door().
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"

static_assert(sizeof(dsp_scratch_t) <= RESP_DSP_SCRATCH, "dispatch scratch outgrew the responder");
static_assert(_Alignof(dsp_scratch_t) <= 16, "dispatch scratch alignment");

dsp_scratch_t *dsp_scratch(srvd_responder_t *r)
{
	return (dsp_scratch_t *)(void *)r->dsp;
}

const char *dsp_peer(const void *sockaddr, char *buf, size_t cap)
{
	return resp_peer(sockaddr, buf, cap);
}

/* Counted by kind (srvd_stats_t.tsig_failed: the status, below 16) and
 * logged, rate-limited per peer. */
static void tsig_refused(srvd_responder_t *r, const resp_query_t *q, const xfr_tsig_t *t,
                         const srvd_query_t *sq)
{
	r->stats.tsig_failed[(unsigned)t->status & 15]++;
	char why[256];
	snprintf(why, sizeof(why), "TSIG %s (%s)", xfr_tsig_status_name(t->status), t->why);
	resp_log_refused(r, sq, q->qwire ? q->lname : (const uint8_t *)"", "request", why);
}

/* Verify the request's TSIG, if it has one. Returns true when the answer
 * is already in resp (an error answer). */
static bool tsig_in(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
                    const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res)
{
	dsp_scratch_t *d = dsp_scratch(r);
	d->signed_ok = false;
	if (!q->tsig)
		return false;
	xfr_tsig_rr_t rr;
	if (xfr_tsig_find(sq->wire, sq->len, &rr) != 0) {
		xfr_tsig_init(&d->t, NULL);
		d->t.status = XFR_TSIG_FORMERR;
		snprintf(d->t.why, sizeof(d->t.why), "TSIG malformed, not last, or not alone");
		tsig_refused(r, q, &d->t, sq);
		resp_reply_rcode(r, q, sq, DNS_RC_FORMERR, false, resp, cap, 0, &res->len);
		return true;
	}
	const xfr_tsig_key_t *k = dsp_keyring_find(s->keys, rr.name);
	xfr_tsig_init(&d->t, k);
	if (k && xfr_tsig_verify(&d->t, sq->wire, sq->len) == 0) {
		d->signed_ok = true;
		d->key = k;
		return false;
	}
	if (!k) {
		d->t.status = XFR_TSIG_BADKEY;
		snprintf(d->t.why, sizeof(d->t.why), "no key of that name");
	}
	tsig_refused(r, q, &d->t, sq);
	if (xfr_tsig_error_reply(&d->t, sq->wire, sq->len, resp, cap, &res->len) != 0) {
		resp_reply_rcode(r, q, sq, DNS_RC_FORMERR, false, resp, cap, 0, &res->len);
	}
	xfr_tsig_deinit(&d->t);
	return true;
}

static int signed_answer(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
                         resp_parse_t pr, const srvd_query_t *sq, uint8_t *resp, size_t cap,
                         srvd_result_t *res)
{
	dsp_scratch_t *d = dsp_scratch(r);
	srvd_query_t vq = *sq;
	vq.tsig_key = d->key->name;
	size_t reserve = xfr_tsig_size(d->key);
	int rc = 0;
	if (pr != PARSE_OK || q->opcode != DNS_OP_NOTIFY ||
	    !dsp_notify(r, s, q, &vq, resp, cap - reserve, res))
		rc = resp_respond_parsed(r, s->zs, q, pr, &vq, resp, cap, reserve, &res->len);
	if (rc != 0)
		return rc; /* SRVD_XFR: srvd_xfr_begin takes the session over */
	if (xfr_tsig_sign(&d->t, resp, res->len, resp, cap, &res->len) != 0) {
		xfr_tsig_deinit(&d->t);
		return SRVD_DROP;
	}
	xfr_tsig_deinit(&d->t);
	d->signed_ok = false;
	res->tsig = 1;
	return 0;
}

/* UPDATE: answered here (signed when the request was), or SRVD_UPDATE with
 * the TSIG session left in the scratch for srvd_update_begin. */
static int update_door(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
                       const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res)
{
	dsp_scratch_t *d = dsp_scratch(r);
	size_t reserve = d->signed_ok ? xfr_tsig_size(d->key) : 0;
	res->tsig = d->signed_ok;
	int rc = dsp_update(r, s, q, sq, resp, cap - reserve, res);
	if (rc != 0 || !d->signed_ok)
		return rc;
	rc = xfr_tsig_sign(&d->t, resp, res->len, resp, cap, &res->len);
	xfr_tsig_deinit(&d->t);
	d->signed_ok = false;
	return rc ? SRVD_DROP : 0;
}

/* What the fast path deferred: a request with a TSIG record, a NOTIFY or
 * an UPDATE. */
static __attribute__((noinline, cold)) int door(srvd_responder_t *r, const srvd_server_t *s,
                                                const resp_query_t *q, resp_parse_t pr,
                                                const srvd_query_t *sq, uint8_t *resp, size_t cap,
                                                srvd_result_t *res)
{
	if (tsig_in(r, s, q, sq, resp, cap, res))
		return 0;
	if (pr == PARSE_OK && q->opcode == DNS_OP_UPDATE)
		return update_door(r, s, q, sq, resp, cap, res);
	if (dsp_scratch(r)->signed_ok)
		return signed_answer(r, s, q, pr, sq, resp, cap, res);
	if (pr == PARSE_OK && dsp_notify(r, s, q, sq, resp, cap, res))
		return 0;
	return resp_respond_parsed(r, s->zs, q, pr, sq, resp, cap, 0, &res->len);
}

int srvd_dispatch(srvd_responder_t *r, const srvd_server_t *s, const srvd_query_t *sq,
                  uint8_t *resp, size_t cap, srvd_result_t *res)
{
	if (!r || !s || !sq || !sq->wire || !resp || !res)
		return SRVD_EINVAL;
	if (cap < DNS_UDP_MIN)
		return SRVD_ESPACE;
	resp_query_t q;
	resp_parse_t pr;
	dsp_scratch_t *d = dsp_scratch(r);
	d->signed_ok = false;
	res->len = 0;
	int rc = resp_respond_plain(r, s->zs, sq, resp, cap, &res->len, &q, &pr);
	res->opcode = q.opcode;
	res->tsig = 0;
	res->zone = NULL;
	res->has_serial = 0;
	res->serial = 0;
	if (rc == RESP_DEFER)
		rc = door(r, s, &q, pr, sq, resp, cap, res);
	res->rcode = rc == 0 && res->len >= DNS_HDR_LEN ? resp[3] & 0xF : 0;
	return rc;
}
