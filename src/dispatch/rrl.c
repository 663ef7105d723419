/* Response rate limiting: the per-responder table and the decision for one
 * answer (the design of Vixie and Schryver, as BIND, Knot and NSD have it).
 *
 * A spoofed request makes us send an answer to its victim; RRL bounds how
 * many identical answers one network gets. The key of a bucket is the
 * client's prefix (/24, /56 by default), the kind of answer, and for
 * answers and NODATA the name (and type): a real resolver asking many
 * names is not limited by one hot name. NXDOMAIN, referrals and errors
 * are keyed by prefix alone, so random names do not escape the limit.
 *
 * The table: a fixed array in the responder (one per worker thread, so no
 * lock), indexed by SipHash under a per-responder random key so that no
 * client can aim at another's entry. An entry whose tag differs is taken
 * over, as NSD does: under a flood of many keys the worst case is that a
 * bucket forgets and starts full again, never that memory grows.
 *
 * The bucket is a token bucket in whole seconds, as BIND's: `rate` tokens a
 * second up to `rate`, one per answer, and a debt of at most rate * window,
 * so a source that keeps flooding stays limited for `window` seconds after
 * its rate falls. Limited answers are dropped except every `slip`-th,
 * which goes out truncated: a real client behind a spoofed flood then
 * retries over TCP, which is never limited.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/acl.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/siphash.h"
#include "dispatch/dispatch.h"
#include "wire/dns.h"

static_assert(sizeof(dsp_rrl_slot_t) == RESP_RRL_SLOT, "RRL slot size");

typedef enum { K_ANSWER, K_NODATA, K_NXDOMAIN, K_REFERRAL, K_ERROR } kind_t;

static const char *const kind_names[] = {"answers", "NODATA answers", "NXDOMAIN answers",
                                         "referrals", "errors"};

uint32_t dsp_now(const srvd_query_t *sq)
{
	if (sq->now)
		return sq->now;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

dsp_rrl_verdict_t dsp_rrl_account(dsp_rrl_slot_t *slot, uint32_t tag, const dsp_guard_t *g,
                                  uint32_t now, bool *entered)
{
	int32_t rate = (int32_t)g->rrl.rate;
	*entered = false;
	if (slot->tag != tag) {
		*slot = (dsp_rrl_slot_t){.tag = tag, .stamp = now, .balance = rate};
	} else {
		/* RFC 1982 style: a clock that stepped back adds nothing. */
		int32_t elapsed = (int32_t)(now - slot->stamp);
		if (elapsed > (int32_t)g->rrl.window)
			slot->balance = rate;
		else if (elapsed > 0)
			slot->balance = slot->balance + elapsed * rate < rate
			                    ? slot->balance + elapsed * rate
			                    : rate;
		if (elapsed > 0)
			slot->stamp = now;
	}
	if (slot->balance > -g->debt)
		slot->balance--;
	if (slot->balance >= 0) {
		slot->flags &= (uint16_t)~DSP_RRL_LIMITING;
		return DSP_RRL_PASS;
	}
	if (!(slot->flags & DSP_RRL_LIMITING)) {
		slot->flags |= DSP_RRL_LIMITING;
		*entered = true;
	}
	slot->slips++;
	unsigned slip = g->rrl.slip;
	return slip && slot->slips % slip == 0 ? DSP_RRL_SLIP : DSP_RRL_DROP;
}

/* The kind of answer, read from the header the responder wrote. */
static kind_t kind_of(const uint8_t *resp)
{
	unsigned rcode = resp[3] & 0xF;
	if (rcode == DNS_RC_NXDOMAIN)
		return K_NXDOMAIN;
	if (rcode != DNS_RC_NOERROR)
		return K_ERROR;
	if (get_u16(resp + 6))
		return K_ANSWER;
	if (!(get_u16(resp + 2) & DNS_AA) && get_u16(resp + 8))
		return K_REFERRAL;
	return K_NODATA;
}

/* The client's prefix: family (4 or 6) and masked address bytes; false
 * for a request without an address. */
static bool prefix_of(const void *sockaddr, const dsp_guard_t *g, uint8_t out[17])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	const struct sockaddr *sa = sockaddr;
	memset(out, 0, 17);
	unsigned bits;
	if (sa && sa->sa_family == AF_INET) {
		memcpy(out + 1, &((const struct sockaddr_in *)sockaddr)->sin_addr, 4);
		out[0] = 4;
	} else if (sa && sa->sa_family == AF_INET6) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sockaddr)->sin6_addr.s6_addr;
		bool v4 = memcmp(a, mapped, 12) == 0;
		memcpy(out + 1, v4 ? a + 12 : a, v4 ? 4 : 16);
		out[0] = v4 ? 4 : 6;
	} else {
		return false;
	}
	bits = out[0] == 4 ? g->rrl.ipv4_prefix : g->rrl.ipv6_prefix;
	unsigned full = bits / 8;
	if (full < 16) {
		out[1 + full] &= (uint8_t)(0xFF00 >> (bits % 8));
		memset(out + 2 + full, 0, 15 - full);
	}
	return true;
}

static void log_limit(const uint8_t prefix[17], const dsp_guard_t *g, kind_t k)
{
	char text[INET6_ADDRSTRLEN];
	bool v4 = prefix[0] == 4;
	inet_ntop(v4 ? AF_INET : AF_INET6, prefix + 1, text, sizeof(text));
	log_info("rrl: %s %s to %s/%u at %u/s%s", g->rrl.log_only ? "would limit" : "limiting",
	         kind_names[k], text, v4 ? g->rrl.ipv4_prefix : g->rrl.ipv6_prefix, g->rrl.rate,
	         g->rrl.log_only ? " (log-only)" : "");
}

int dsp_rrl(srvd_responder_t *r, const srvd_server_t *s, const resp_query_t *q,
            const srvd_query_t *sq, uint8_t *resp, size_t cap, const uint8_t *cookie,
            srvd_result_t *res)
{
	const dsp_guard_t *g = s->guard;
	/* key: prefix (17), kind (1), type (2), name (up to 255) */
	uint8_t key[17 + 1 + 2 + 255];
	if (sq->transport != SRVD_UDP || res->len < DNS_HDR_LEN ||
	    !prefix_of(sq->src_addr, g, key) || acl_match(g->exempt, g->rrl.n_exempt, sq->src_addr))
		return 0;
	kind_t k = kind_of(resp);
	size_t n = 18;
	key[17] = (uint8_t)k;
	if (k == K_ANSWER || k == K_NODATA) {
		put_u16(key + 18, k == K_ANSWER ? q->qtype : 0);
		memcpy(key + 20, q->lname, q->qname_len);
		n = 20 + q->qname_len;
	}
	uint64_t h = siphash24(r->rrl_key, key, n);
	dsp_rrl_slot_t *slot = (dsp_rrl_slot_t *)r->rrl + (h & r->rrl_mask);
	bool entered;
	dsp_rrl_verdict_t v = dsp_rrl_account(slot, (uint32_t)(h >> 32), g, dsp_now(sq), &entered);
	if (entered)
		log_limit(key, g, k);
	if (v == DSP_RRL_PASS)
		return 0;
	if (g->rrl.log_only) {
		r->stats.rrl_logged++;
		return 0;
	}
	res->limited = 1;
	if (v == DSP_RRL_DROP) {
		r->stats.rrl_dropped++;
		res->len = 0;
		return SRVD_DROP;
	}
	r->stats.rrl_slipped++;
	resp_reply_slip(r, q, sq, resp[3] & 0xF, resp, cap, cookie ? DSP_COOKIE_OPT : 0, &res->len);
	if (cookie)
		dsp_cookie_out(cookie, resp, cap, &res->len);
	return 0;
}
