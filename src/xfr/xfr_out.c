/* Zone transfer out: a cursor that fills one AXFR message per call
 * (RFC 5936), so a slow reader never holds a worker: the network layer asks
 * for the next message only when the previous one has been written.
 *
 * The cursor holds a reference on the zone version it started with, so a
 * reload during the transfer does not change what is sent. Messages carry
 * whole RRs; RRsets may span messages (RFC 5936 2.2). The question is in the
 * first message only; OPT, when the request had one, is in every message.
 *
 * The same cursor streams IXFR answers in the incremental form (RFC 1995 4)
 * from a chain of journal diffs, which it holds references on just as it
 * holds the version.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "respond/msg.h"
#include "respond/resp.h"
#include "wire/dns.h"
#include "xfr/journal.h"
#include "xfr/tsig.h"

typedef enum { XS_SOA_FIRST, XS_BODY, XS_SOA_LAST, XS_DONE } xfr_state_t;

struct srvd_xfr {
	zone_t *z;
	xfr_state_t state;
	uint32_t node, set, rr; /* position in the body */
	size_t rr_off;          /* offset of the next RR's [len][rdata] */
	uint16_t id;
	uint16_t rd;
	bool edns, edns_do;
	uint8_t question[260];
	size_t question_len;
	bool first;
	size_t reserve;     /* bytes held back at the end of each message (TSIG) */
	xfr_chain_t *chain; /* IXFR: the body is these diffs */
	size_t diff, diff_rr;
	bool sign;          /* every message gets a TSIG (RFC 8945 5.3.1) */
	xfr_tsig_key_t key; /* a copy: the keyring may go before the stream ends */
	xfr_tsig_t tsig;
	uint64_t bytes; /* of the messages made so far */
};

static int start(const srvd_zoneset_t *zs, const srvd_query_t *q, resp_query_t *pq,
                 srvd_xfr_t **out)
{
	if (!zs || !q || !q->wire || !out)
		return SRVD_EINVAL;
	if (resp_parse(q->wire, q->len, pq) != PARSE_OK || pq->qdcount != 1)
		return SRVD_EMALFORM;
	const zone_t *z = zone_set_find(zs, pq->lname, pq->qname_len);
	if (!z || z->origin_len != pq->qname_len || z->expired)
		return SRVD_ENOENT;
	srvd_xfr_t *x = calloc(1, sizeof(*x));
	if (!x)
		return SRVD_ENOMEM;
	x->z = (zone_t *)z;
	srvd_zone_ref(x->z);
	x->id = pq->id;
	x->rd = pq->flags & DNS_RD;
	x->edns = pq->edns && !pq->edns_bad;
	x->edns_do = pq->edns_do;
	memcpy(x->question, pq->qwire, pq->qwire_len);
	x->question_len = pq->qwire_len;
	x->first = true;
	*out = x;
	return 0;
}

int srvd_xfr_new(const srvd_zoneset_t *zs, const srvd_query_t *q, srvd_xfr_t **out)
{
	resp_query_t pq;
	return start(zs, q, &pq, out);
}

int xfr_out_ixfr_new(const srvd_zoneset_t *zs, const srvd_query_t *q, xfr_journal_t *j,
                     bool *incremental, srvd_xfr_t **out)
{
	if (!incremental)
		return SRVD_EINVAL;
	resp_query_t pq;
	srvd_xfr_t *x;
	int rc = start(zs, q, &pq, &x);
	if (rc)
		return rc;
	const zone_t *z = x->z;
	xfr_chain_t *c = NULL;
	if (j && pq.qtype == DNS_T_IXFR && pq.has_soa && wire_serial_lt(pq.soa_serial, z->serial)) {
		rc = xfr_journal_chain(j, pq.soa_serial, z->serial, &c);
		if (rc == SRVD_ENOMEM) {
			srvd_xfr_free(x);
			return rc;
		}
		/* RFC 1995 2: when the diffs are no smaller than the zone, the
		 * whole zone is the better answer. */
		if (c && c->records >= z->n_records) {
			xfr_chain_free(c);
			c = NULL;
		}
	}
	x->chain = c;
	*incremental = c != NULL;
	*out = x;
	return 0;
}

void xfr_out_reserve(srvd_xfr_t *x, size_t bytes)
{
	if (x)
		x->reserve = bytes;
}

int xfr_out_set_tsig(srvd_xfr_t *x, const xfr_tsig_t *t, const xfr_tsig_key_t *key)
{
	if (!x || !t || !key || t->state != XFR_TSIG_RESPONDING)
		return SRVD_EINVAL;
	x->key = *key;
	x->tsig = *t;
	x->tsig.key = &x->key;
	x->sign = true;
	x->reserve = xfr_tsig_size(&x->key);
	return 0;
}

int srvd_xfr_incremental(const srvd_xfr_t *x)
{
	return x && x->chain ? 1 : 0;
}

const srvd_zone_t *srvd_xfr_zone(const srvd_xfr_t *x)
{
	return x ? x->z : NULL;
}

uint64_t srvd_xfr_bytes(const srvd_xfr_t *x)
{
	return x ? x->bytes : 0;
}

void srvd_xfr_free(srvd_xfr_t *x)
{
	if (!x)
		return;
	xfr_chain_free(x->chain);
	srvd_zone_unref(x->z);
	if (x->sign)
		xfr_tsig_deinit(&x->tsig);
	explicit_bzero(&x->key, sizeof(x->key));
	free(x);
}

static bool put_soa(msg_t *m, const zone_t *z)
{
	return msg_put_rrset(m, SEC_AN, z->origin, DNS_C_IN, z, &z->rrsets[z->soa_rrset],
	                     z->rrsets[z->soa_rrset].ttl);
}

/* Advance to the next RR of the body, skipping the apex SOA. */
static bool body_next(srvd_xfr_t *x, const zone_node_t **n, const zone_rrset_t **s)
{
	const zone_t *z = x->z;
	/* Every record: the signature groups and the NSEC3 chain too. */
	for (; x->node < z->n_nodes + z->n_n3; x->node++, x->set = 0, x->rr = 0) {
		const zone_node_t *nd = &z->nodes[x->node];
		for (; x->set < (uint32_t)nd->n_rrset + nd->n_sig; x->set++, x->rr = 0) {
			const zone_rrset_t *rs = &z->rrsets[nd->rrset + x->set];
			if (nd->rrset + x->set == z->soa_rrset || x->rr >= rs->count)
				continue;
			if (x->rr == 0)
				x->rr_off = rs->data;
			*n = nd;
			*s = rs;
			return true;
		}
	}
	return false;
}

static void fill_body(srvd_xfr_t *x, msg_t *m)
{
	const zone_t *z = x->z;
	const zone_node_t *n;
	const zone_rrset_t *s;
	while (body_next(x, &n, &s)) {
		const uint8_t *p = z->rdata + x->rr_off;
		uint16_t len = get_u16(p);
		if (!msg_put_rr(m, SEC_AN, zone_node_name(z, n), s->type, DNS_C_IN, s->ttl, p + 2,
		                len))
			return;
		x->rr_off += 2u + len;
		x->rr++;
	}
	x->state = XS_SOA_LAST;
}

/* IXFR body: each diff as old SOA, removed, new SOA, added. */
static void fill_diffs(srvd_xfr_t *x, msg_t *m)
{
	const xfr_chain_t *c = x->chain;
	for (; x->diff < c->n; x->diff++, x->diff_rr = 0) {
		const xfr_diff_t *d = c->diffs[x->diff];
		for (; x->diff_rr < d->n_removed + d->n_added; x->diff_rr++) {
			const xfr_rr_t *rr = x->diff_rr < d->n_removed
			                         ? &d->removed[x->diff_rr]
			                         : &d->added[x->diff_rr - d->n_removed];
			if (!msg_put_rr(m, SEC_AN, rr->owner, rr->type, DNS_C_IN, rr->ttl,
			                rr->rdata, rr->rdlen))
				return;
		}
	}
	x->state = XS_SOA_LAST;
}

int srvd_xfr_next(srvd_xfr_t *x, uint8_t *buf, size_t cap, size_t *len, int *more)
{
	if (!x || !buf || !len || !more)
		return SRVD_EINVAL;
	if (cap < DNS_UDP_MIN || x->state == XS_DONE)
		return cap < DNS_UDP_MIN ? SRVD_ESPACE : SRVD_EINVAL;
	if (cap > DNS_TCP_MAX)
		cap = DNS_TCP_MAX;
	size_t hold = (x->edns ? 11 : 0) + x->reserve;
	if (hold + DNS_HDR_LEN + x->question_len >= cap)
		return SRVD_ESPACE;
	msg_t m;
	msg_init(&m, buf, cap - hold);
	uint16_t qd = 0;
	if (x->first) {
		msg_put_question(&m, x->question, x->question_len, NULL);
		qd = 1;
		x->first = false;
	}
	if (x->state == XS_SOA_FIRST && put_soa(&m, x->z))
		x->state = XS_BODY;
	if (x->state == XS_BODY) {
		if (x->chain)
			fill_diffs(x, &m);
		else
			fill_body(x, &m);
	}
	if (x->state == XS_SOA_LAST && put_soa(&m, x->z))
		x->state = XS_DONE;
	/* A record larger than the buffer would give empty messages forever. */
	if (m.count[SEC_AN] == 0)
		return SRVD_ESPACE;
	if (x->edns) {
		uint8_t *p = buf + m.len;
		p[0] = 0;
		put_u16(p + 1, DNS_T_OPT);
		put_u16(p + 3, 1232);
		put_u32(p + 5, x->edns_do ? EDNS_DO : 0);
		put_u16(p + 9, 0);
		m.len += 11;
		m.count[SEC_AR]++;
	}
	put_u16(buf, x->id);
	put_u16(buf + 2, DNS_QR | DNS_AA | x->rd);
	put_u16(buf + 4, qd);
	put_u16(buf + 6, m.count[SEC_AN]);
	put_u16(buf + 8, 0);
	put_u16(buf + 10, m.count[SEC_AR]);
	if (x->sign && xfr_tsig_sign(&x->tsig, buf, m.len, buf, cap, &m.len) != 0)
		return SRVD_ESPACE;
	*len = m.len;
	*more = x->state != XS_DONE;
	x->bytes += m.len;
	return 0;
}
