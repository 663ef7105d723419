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
 *   6. A COOKIE option, when the server answers cookies (cookie.c): a
 *      malformed one is FORMERR; the answer carries our server cookie;
 *      BADCOOKIE only when cookies are required (RFC 7873 5.2.3).
 *   7. Last, response rate limiting (rrl.c) for UDP answers that neither
 *      a verified TSIG nor a valid server cookie vouches for: the answer
 *      goes out, is dropped (SRVD_DROP), or is replaced by a truncated
 *      slip. With RRL off this is one test of a flag in the server.
 * A plain query (no TSIG record, no COOKIE option, not NOTIFY or UPDATE,
 * RRL off) takes the responder's fast path (resp_respond_plain), parsed
 * once, and costs a few stores over srvd_respond; everything else is
 * deferred to door().
 */
#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"
#include "wire/name.h"

static_assert(sizeof(dsp_scratch_t) <= RESP_DSP_SCRATCH, "dispatch scratch outgrew the responder");
static_assert(_Alignof(dsp_scratch_t) <= 16, "dispatch scratch alignment");

dsp_scratch_t *dsp_scratch(srvd_responder_t *r)
{
	return (dsp_scratch_t *)(void *)r->dsp;
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
                         const uint8_t *cookie, srvd_result_t *res)
{
	dsp_scratch_t *d = dsp_scratch(r);
	srvd_query_t vq = *sq;
	vq.tsig_key = d->key->name;
	size_t reserve = xfr_tsig_size(d->key) + (cookie ? DSP_COOKIE_OPT : 0);
	int rc = 0;
	if (pr != PARSE_OK || q->opcode != DNS_OP_NOTIFY ||
	    !dsp_notify(r, s, q, &vq, resp, cap - reserve, res))
		rc = resp_respond_parsed(r, s->zs, q, pr, &vq, resp, cap, reserve, &res->len);
	if (rc != 0)
		return rc; /* SRVD_XFR: srvd_xfr_begin takes the session over */
	if (cookie)
		dsp_cookie_out(cookie, resp, cap, &res->len);
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

/* Add our COOKIE option to the OPT of the answer in resp[*len], whose
 * room (DSP_COOKIE_OPT) the answer held back. The OPT is the answer's last
 * record: the responder writes it last, and a TSIG comes after this. The
 * answer is walked with the reader rather than the responder told about
 * cookies, so that a plain query pays nothing for them. */
void dsp_cookie_out(const uint8_t opt[DSP_COOKIE_OPT], uint8_t *resp, size_t cap, size_t *len)
{
	uint8_t name[255];
	rd_t rd;
	rd_init(&rd, resp, *len);
	rd_seek(&rd, DNS_HDR_LEN);
	unsigned records = 0u + get_u16(resp + 6) + get_u16(resp + 8) + get_u16(resp + 10);
	for (unsigned i = get_u16(resp + 4); i > 0; i--) {
		wire_name_read(&rd, true, name);
		rd_skip(&rd, 4);
	}
	for (; records > 1; records--) {
		wire_name_read(&rd, true, name);
		rd_skip(&rd, 8);
		rd_skip(&rd, rd_u16(&rd));
	}
	wire_name_read(&rd, true, name);
	uint16_t type = rd_u16(&rd);
	rd_skip(&rd, 6);
	size_t at = rd.pos;
	uint16_t rdlen = rd_u16(&rd);
	rd_skip(&rd, rdlen);
	if (rd.err || records != 1 || type != DNS_T_OPT || rd.pos != *len ||
	    *len + DSP_COOKIE_OPT > cap)
		return;
	put_u16(resp + at, (uint16_t)(rdlen + DSP_COOKIE_OPT));
	memcpy(resp + *len, opt, DSP_COOKIE_OPT);
	*len += DSP_COOKIE_OPT;
}

/* The request's COOKIE option, when the server answers cookies: *opt is
 * set to the option the answer carries. Returns true when the answer is
 * already in resp: FORMERR for a malformed option (RFC 7873 5.2.2), or
 * BADCOOKIE when cookies are required and the request over UDP has no
 * valid server cookie (5.2.3). *valid: it has one. */
static bool cookie_in(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
                      const srvd_query_t *sq, uint8_t *resp, size_t cap, srvd_result_t *res,
                      const uint8_t **opt, bool *valid)
{
	dsp_scratch_t *d = dsp_scratch(r);
	dsp_cookie_t c =
	    dsp_cookie(s->guard, q->cookie_at, q->cookie_len, sq->src_addr, dsp_now(sq), d->cookie);
	if (c == DSP_COOKIE_MALFORMED) {
		if (d->signed_ok) /* FORMERR answers no question: it goes unsigned */
			xfr_tsig_deinit(&d->t);
		d->signed_ok = false;
		resp_reply_rcode(r, q, sq, DNS_RC_FORMERR, false, resp, cap, 0, &res->len);
		return true;
	}
	*opt = d->cookie;
	*valid = c == DSP_COOKIE_VALID;
	r->stats.cookie_valid += c == DSP_COOKIE_VALID;
	r->stats.cookie_invalid += c == DSP_COOKIE_INVALID;
	if (c == DSP_COOKIE_VALID || s->guard->cookies != SRVD_COOKIES_REQUIRE ||
	    sq->transport != SRVD_UDP || d->signed_ok)
		return false;
	r->stats.cookie_badcookie++;
	resp_reply_rcode(r, q, sq, DNS_RC_BADCOOKIE, false, resp, cap, DSP_COOKIE_OPT, &res->len);
	dsp_cookie_out(d->cookie, resp, cap, &res->len);
	return true;
}

/* What the fast path deferred: a request with a TSIG record or a COOKIE
 * option, a NOTIFY, an UPDATE, or any request when RRL is on. A verified
 * TSIG or a valid server cookie proves the source address, so its answer
 * skips RRL. UPDATE answers carry no cookie and are not rate limited:
 * they need a key or an address grant, and the daemon answers them. */
static __attribute__((noinline, cold)) int door(srvd_responder_t *r, const srvd_server_t *s,
                                                const resp_query_t *q, resp_parse_t pr,
                                                const srvd_query_t *sq, uint8_t *resp, size_t cap,
                                                srvd_result_t *res)
{
	if (tsig_in(r, s, q, sq, resp, cap, res))
		return 0;
	if (pr == PARSE_OK && q->opcode == DNS_OP_UPDATE)
		return update_door(r, s, q, sq, resp, cap, res);
	bool vouched = dsp_scratch(r)->signed_ok;
	const uint8_t *opt = NULL;
	if (q->cookie && s->guard && s->guard->cookies != SRVD_COOKIES_OFF && pr == PARSE_OK &&
	    cookie_in(r, s, q, sq, resp, cap, res, &opt, &vouched))
		return s->rrl && !vouched ? dsp_rrl(r, s, q, sq, resp, cap, opt, res) : 0;
	if (dsp_scratch(r)->signed_ok)
		return signed_answer(r, s, q, pr, sq, resp, cap, opt, res);
	size_t reserve = opt ? DSP_COOKIE_OPT : 0;
	int rc = 0;
	if (!(pr == PARSE_OK && q->opcode == DNS_OP_NOTIFY &&
	      dsp_notify(r, s, q, sq, resp, cap - reserve, res)))
		rc = resp_respond_parsed(r, s->zs, q, pr, sq, resp, cap, reserve, &res->len);
	if (rc == 0 && opt)
		dsp_cookie_out(opt, resp, cap, &res->len);
	if (rc == 0 && s->rrl && !vouched)
		rc = dsp_rrl(r, s, q, sq, resp, cap, opt, res);
	return rc;
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
	/* With RRL on, every answer takes door(): the fast path then stays as
	 * it was, but for this one flag. */
	int rc = resp_respond_plain(r, s->zs, sq, s->rrl, resp, cap, &res->len, &q, &pr);
	res->opcode = q.opcode;
	res->tsig = 0;
	res->limited = 0;
	res->zone = NULL;
	res->has_serial = 0;
	res->serial = 0;
	if (rc == RESP_DEFER)
		rc = door(r, s, &q, pr, sq, resp, cap, res);
	res->rcode = rc == 0 && res->len >= DNS_HDR_LEN ? resp[3] & 0xF : 0;
	return rc;
}
