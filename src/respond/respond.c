/* srvd_respond(): request parsing, the dispatch on opcode, class and type,
 * EDNS(0) (RFC 6891), truncation limits, and the response header.
 *
 * The answer algorithm itself is in answer.c. Decisions that the RFCs leave
 * open, and what we chose:
 *  - QDCOUNT > 1: FORMERR (RFC 9619 4) without parsing further, so without
 *    OPT and question. QDCOUNT = 0 is well-formed: FORMERR, with OPT.
 *  - A broken OPT (two of them, one outside the additional section, an owner
 *    other than root): FORMERR without OPT (RFC 6891 6.1.1).
 *  - Opcodes other than QUERY and NOTIFY: NOTIMP, UPDATE included (we have no
 *    dynamic updates; RFC 2136 3.1). NOTIFY for a zone we are primary for,
 *    or do not serve: NOTAUTH; srvd_dispatch (src/dispatch) takes NOTIFY for
 *    secondary zones before it gets here.
 *  - Class other than IN, ANY or CH: REFUSED. CH answers only the
 *    configured version.bind/version.server and id.server/hostname.bind.
 *  - AXFR over UDP: NOTIMP. A transfer refused by ACL: REFUSED (RFC 1035
 *    4.1.1); a zone we do not serve: NOTAUTH (RFC 5936 2.2.1). IXFR over UDP
 *    is always the single current SOA (RFC 1995 2: allowed when the answer
 *    would not fit, and without a journal it never fits usefully).
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/acl.h"
#include "common/buf.h"
#include "common/log.h"
#include "respond/resp.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "wire/serial.h"

/* ---- request parsing --------------------------------------------------- */

static void parse_opt(rd_t *r, size_t rr_start, resp_query_t *q, bool owner_root)
{
	uint16_t payload = rd_u16(r);
	uint32_t ttl = rd_u32(r);
	uint16_t rdlen = rd_u16(r);
	const uint8_t *rd = rd_ptr(r, rdlen);
	(void)rr_start;
	if (r->err)
		return;
	if (q->edns || !owner_root) {
		q->edns_bad = true;
		return;
	}
	q->edns = true;
	q->edns_payload = payload;
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & EDNS_DO) != 0;
	rd_t o;
	rd_init(&o, rd, rdlen);
	while (rd_left(&o) > 0) {
		uint16_t code = rd_u16(&o);
		uint16_t olen = rd_u16(&o);
		const uint8_t *data = rd_ptr(&o, olen);
		if (code == EDNS_OPT_NSID && !o.err)
			q->want_nsid = true;
		if (code == EDNS_OPT_COOKIE && !o.err && !q->cookie) {
			q->cookie_at = data;
			q->cookie_len = olen;
			q->cookie = q->defer = true;
		}
	}
	if (o.err)
		q->edns_bad = true; /* option lengths overrun the RDATA */
}

/* Walk answer, authority and additional: find the OPT, the IXFR SOA, TSIG. */
static bool parse_records(rd_t *r, const uint8_t *hdr, resp_query_t *q)
{
	uint16_t counts[3] = {get_u16(hdr + 6), get_u16(hdr + 8), get_u16(hdr + 10)};
	uint8_t name[255];
	for (int sec = 0; sec < 3; sec++) {
		for (uint16_t i = 0; i < counts[sec]; i++) {
			size_t start = r->pos;
			size_t nlen = wire_name_read(r, true, name);
			uint16_t type = rd_u16(r);
			if (r->err)
				return false;
			if (type == DNS_T_OPT) {
				if (sec != 2)
					q->edns_bad = true;
				parse_opt(r, start, q, nlen == 1);
				continue;
			}
			rd_skip(r, 6); /* class, ttl */
			uint16_t rdlen = rd_u16(r);
			const uint8_t *rd = rd_ptr(r, rdlen);
			if (r->err)
				return false;
			if (type == DNS_T_TSIG)
				q->tsig = q->defer = true;
			if (sec == 1 && type == DNS_T_SOA && !q->has_soa) {
				rd_t s;
				rd_init(&s, r->base, r->len);
				rd_seek(&s, (size_t)(rd - r->base));
				wire_name_read(&s, true, name);
				wire_name_read(&s, true, name);
				uint32_t serial = rd_u32(&s);
				if (!s.err) {
					q->has_soa = true;
					q->soa_serial = serial;
				}
			}
		}
	}
	return true;
}

resp_parse_t resp_parse(const uint8_t *wire, size_t len, resp_query_t *q)
{
	/* The scalars only: lname is written before it is read. */
	memset(q, 0, offsetof(resp_query_t, lname));
	if (len < DNS_HDR_LEN)
		return PARSE_DROP;
	q->id = get_u16(wire);
	/* RFC 4035 3.1.6: "A security-aware name server SHOULD clear the CD
	 * bit when composing an authoritative response", DO or not (Knot and
	 * NSD do the same). */
	q->flags = get_u16(wire + 2) & (uint16_t)~DNS_CD;
	if (q->flags & DNS_QR)
		return PARSE_DROP;
	q->opcode = dns_opcode(q->flags);
	q->qdcount = get_u16(wire + 4);
	if (q->qdcount > 1)
		return PARSE_MULTI_Q;
	rd_t r;
	rd_init(&r, wire, len);
	rd_seek(&r, DNS_HDR_LEN);
	if (q->qdcount == 1) {
		size_t start = r.pos;
		q->qname_len = wire_name_read_lower(&r, q->lname);
		q->qname = wire + start;
		q->qtype = rd_u16(&r);
		q->qclass = rd_u16(&r);
		if (r.err)
			return PARSE_FORMERR;
		q->qwire = wire + start;
		q->qwire_len = r.pos - start;
	}
	if (!parse_records(&r, wire, q))
		return q->qdcount ? PARSE_FORMERR_Q : PARSE_FORMERR;
	return PARSE_OK;
}

/* ---- responder object ------------------------------------------------- */

static char *dup_opt(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* The RRL table, a power of two entries, and the key of its hash. A key
 * that getrandom cannot give still works: only the protection against
 * aimed collisions is weaker, so it falls back to the clock and address. */
static int rrl_table(srvd_responder_t *r, unsigned slots)
{
	uint32_t n = 16;
	uint32_t want = slots ? slots : RESP_RRL_SLOTS;
	while (n < want && n < (1u << 26))
		n <<= 1;
	r->rrl = calloc(n, RESP_RRL_SLOT);
	if (!r->rrl)
		return SRVD_ENOMEM;
	r->rrl_mask = n - 1;
	if (getrandom(r->rrl_key, sizeof(r->rrl_key), GRND_NONBLOCK) != sizeof(r->rrl_key)) {
		uint64_t v[2] = {(uint64_t)time(NULL), (uint64_t)(uintptr_t)r};
		memcpy(r->rrl_key, v, sizeof(v));
	}
	return 0;
}

int srvd_responder_new(const srvd_responder_opts_t *opts, srvd_responder_t **out)
{
	if (!out)
		return SRVD_EINVAL;
	/* aligned_alloc: the responder's own counter row wants 64 bytes */
	srvd_responder_t *r = aligned_alloc(_Alignof(srvd_responder_t), sizeof(*r));
	if (!r)
		return SRVD_ENOMEM;
	memset(r, 0, sizeof(*r));
	srvd_responder_opts_t o = {0};
	if (opts)
		o = *opts;
	r->udp_payload = o.udp_payload >= DNS_UDP_MIN ? o.udp_payload : 1232;
	if (o.udp_payload && o.udp_payload < DNS_UDP_MIN)
		r->udp_payload = DNS_UDP_MIN;
	r->nsid = dup_opt(o.nsid);
	r->identity = dup_opt(o.identity);
	r->version = dup_opt(o.version);
	r->nsid_len = r->nsid ? strlen(r->nsid) : 0;
	r->row_off = (size_t)o.stats_row * sizeof(zone_ctr_t);
	int rc = rrl_table(r, o.rrl_slots);
	if (rc || (o.nsid && !r->nsid) || (o.identity && !r->identity) ||
	    (o.version && !r->version)) {
		srvd_responder_free(r);
		return SRVD_ENOMEM;
	}
	*out = r;
	return 0;
}

void srvd_responder_free(srvd_responder_t *r)
{
	if (!r)
		return;
	free(r->nsid);
	free(r->identity);
	free(r->version);
	free(r->rrl);
	free(r);
}

void srvd_responder_stats(const srvd_responder_t *r, srvd_stats_t *out)
{
	if (!r || !out)
		return;
	*out = r->stats;
	memset(&out->unzoned, 0, sizeof(out->unzoned));
	zone_ctr_read(&r->own, &out->unzoned);
	zone_stats_marginals(&out->unzoned);
}

/* ---- response assembly ------------------------------------------------- */

typedef struct reply {
	msg_t m;
	size_t cap; /* the hard size limit for this reply */
	bool aa, tc, opt, nsid, question;
	int rcode;
	/* Where the answer counts: the responder's row of the zone that
	 * answered, else its own row (count()); NULL: not at all (an RRL
	 * slip replaces an answer that was counted already). */
	zone_ctr_t *ctr;
} reply_t;

enum { OPT_LEN = 11 };

/* The most a reply may hold: the client's limit over UDP (RFC 6891 6.2.5,
 * RFC 1035 4.2.1), 64 KiB over TCP, never more than the caller's buffer. */
static size_t reply_cap(const srvd_responder_t *r, const resp_query_t *q, srvd_transport_t t,
                        size_t cap)
{
	size_t lim = DNS_TCP_MAX;
	if (t == SRVD_UDP) {
		lim = DNS_UDP_MIN;
		if (q->edns && q->edns_payload > DNS_UDP_MIN)
			lim = q->edns_payload < r->udp_payload ? q->edns_payload : r->udp_payload;
	}
	return lim < cap ? lim : cap;
}

static void reply_begin(reply_t *rp, srvd_responder_t *r, const resp_query_t *q, uint8_t *buf,
                        size_t cap, bool with_opt, bool with_question)
{
	rp->cap = cap;
	rp->opt = with_opt;
	rp->aa = rp->tc = rp->nsid = rp->question = false;
	rp->rcode = 0;
	rp->ctr = &r->own;
	size_t reserve = with_opt ? OPT_LEN : 0;
	/* NSID is optional (RFC 5001 2.1): sent only when it leaves room for
	 * the question and a small answer. */
	size_t nsid = 4 + r->nsid_len;
	if (with_opt && q->want_nsid && r->nsid &&
	    DNS_HDR_LEN + q->qwire_len + reserve + nsid <= cap / 2) {
		rp->nsid = true;
		reserve += nsid;
	}
	msg_init(&rp->m, buf, cap > reserve ? cap - reserve : DNS_HDR_LEN);
	if (with_question && q->qwire && msg_put_question(&rp->m, q->qwire, q->qwire_len, q->lname))
		rp->question = true;
}

static void put_opt(reply_t *rp, const srvd_responder_t *r, const resp_query_t *q)
{
	msg_t *m = &rp->m;
	m->limit = rp->cap; /* the space held back is ours now */
	uint8_t *p = m->buf + m->len;
	bool nsid = rp->nsid;
	uint16_t rdlen = nsid ? (uint16_t)(4 + r->nsid_len) : 0;
	p[0] = 0;
	put_u16(p + 1, DNS_T_OPT);
	put_u16(p + 3, r->udp_payload);
	uint32_t ttl = (uint32_t)(rp->rcode >> 4) << 24 | (q->edns_do ? EDNS_DO : 0);
	put_u32(p + 5, ttl);
	put_u16(p + 9, rdlen);
	if (nsid) {
		put_u16(p + 11, EDNS_OPT_NSID);
		put_u16(p + 13, (uint16_t)r->nsid_len);
		memcpy(p + 15, r->nsid, r->nsid_len);
	}
	m->len += 11u + rdlen;
	m->count[SEC_AR]++;
}

/* Every answer ends here, and is counted here, once (a transfer, which
 * does not end here, in count()): by type and rcode in one cell of the
 * row that reply_begin or count_in chose, TC in the responder's plain
 * counters (its worker copies them). By transport is the caller's: it
 * counts what it received. */
static inline __attribute__((always_inline)) void count(srvd_responder_t *r, uint16_t qtype,
                                                        zone_ctr_t *c, unsigned rcode, bool tc)
{
	r->stats.truncated += tc;
	ZONE_CTR_ADD(c->n[(size_t)zone_stat_qtype[qtype] + zone_stat_rcode[rcode]], 1);
}

static size_t reply_end(reply_t *rp, srvd_responder_t *r, const resp_query_t *q)
{
	if (rp->ctr)
		count(r, q->qtype, rp->ctr, (unsigned)rp->rcode & 0xF, rp->tc);
	msg_t *m = &rp->m;
	if (rp->opt)
		put_opt(rp, r, q);
	uint8_t *h = m->buf;
	/* RD (RFC 1035 4.1.1); CD is cleared (resp_parse, RFC 4035 3.1.6)
	 * and AD never set: an authoritative server does not validate. */
	uint16_t flags = DNS_QR | (uint16_t)(q->opcode << 11) | (q->flags & DNS_RD) |
	                 (rp->aa ? DNS_AA : 0) | (rp->tc ? DNS_TC : 0) |
	                 (uint16_t)(rp->rcode & 0xF);
	put_u16(h, q->id);
	put_u16(h + 2, flags);
	put_u16(h + 4, rp->question ? 1 : 0);
	put_u16(h + 6, m->count[SEC_AN]);
	put_u16(h + 8, m->count[SEC_NS]);
	put_u16(h + 10, m->count[SEC_AR]);
	return m->len;
}

/* An error reply: header, question when we have one, OPT when it is usable. */
static size_t reply_error(srvd_responder_t *r, const resp_query_t *q, uint8_t *buf, size_t cap,
                          int rcode, bool opt)
{
	reply_t rp;
	reply_begin(&rp, r, q, buf, cap, opt, true);
	rp.rcode = rcode;
	return reply_end(&rp, r, q);
}

/* ---- CHAOS ------------------------------------------------------------- */

static const char *chaos_text(const srvd_responder_t *r, const resp_query_t *q)
{
	static const struct {
		const char *name;
		int which;
	} names[] = {{"\7version\4bind", 0},
	             {"\7version\6server", 0},
	             {"\2id\6server", 1},
	             {"\10hostname\4bind", 1}};
	if (q->qtype != DNS_T_TXT)
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i].name) + 1; /* with the root label */
		if (q->qname_len == n && memcmp(q->lname, names[i].name, n) == 0)
			return names[i].which ? r->identity : r->version;
	}
	return NULL;
}

static void answer_chaos(reply_t *rp, const srvd_responder_t *r, const resp_query_t *q)
{
	const char *text = chaos_text(r, q);
	if (!text) {
		rp->rcode = DNS_RC_REFUSED;
		return;
	}
	uint8_t rd[256];
	size_t n = strlen(text);
	if (n > 255)
		n = 255;
	rd[0] = (uint8_t)n;
	memcpy(rd + 1, text, n);
	if (!msg_put_rr(&rp->m, SEC_AN, q->qname, DNS_T_TXT, DNS_C_CH, 0, rd, (uint16_t)(n + 1)))
		rp->tc = true;
}

/* ---- transfers ---------------------------------------------------------- */

bool resp_acl_allows(const zone_t *z, const void *sockaddr, const uint8_t *tsig_key)
{
	if (acl_match(z->acl, z->n_acl, sockaddr))
		return true;
	if (!tsig_key)
		return false;
	char name[1024];
	wire_name_to_str(tsig_key, name, sizeof(name));
	return acl_match_key(z->acl, z->n_acl, name);
}

int srvd_acl_key(const char *name, srvd_prefix_t *out)
{
	if (!name || !out || !name[0])
		return SRVD_EINVAL;
	srvd_prefix_t e;
	acl_key_entry(name, &e);
	if (e.family != 0) /* not a name: it would match nothing */
		return SRVD_EINVAL;
	*out = e;
	return 0;
}

/* The answer counts in z's counters (zone/stats.c), in the responder's
 * row, when z has them; set where z is already in a register. */
static inline __attribute__((always_inline)) void count_in(const srvd_responder_t *r, reply_t *rp,
                                                           const zone_t *z)
{
	if (r->row_off < z->ctr_size)
		rp->ctr = (zone_ctr_t *)(void *)((char *)z->ctr + r->row_off);
}

/* AXFR/IXFR. Returns SRVD_XFR when the caller must stream the zone. */
static int answer_xfr(srvd_responder_t *r, reply_t *rp, const srvd_zoneset_t *zs,
                      const resp_query_t *q, const srvd_query_t *sq)
{
	if (q->qtype == DNS_T_AXFR && sq->transport == SRVD_UDP) {
		rp->rcode = DNS_RC_NOTIMP;
		return 0;
	}
	if (q->qtype == DNS_T_IXFR && !q->has_soa) {
		rp->rcode = DNS_RC_FORMERR; /* RFC 1995 3: the SOA is mandatory */
		return 0;
	}
	const zone_t *z = zone_set_find(zs, q->lname, q->qname_len);
	if (!z || z->origin_len != q->qname_len) {
		rp->rcode = DNS_RC_NOTAUTH;
		return 0;
	}
	if (z->expired) {
		rp->rcode = DNS_RC_SERVFAIL;
		return 0;
	}
	count_in(r, rp, z);
	if (!resp_acl_allows(z, sq->src_addr, sq->tsig_key)) {
		resp_log_refused(r, sq, z->origin, q->qtype == DNS_T_AXFR ? "AXFR" : "IXFR",
		                 "not in allow-transfer");
		rp->rcode = DNS_RC_REFUSED;
		return 0;
	}
	rp->aa = true;
	/* IXFR from a current serial, or any IXFR over UDP: the single SOA. */
	if (q->qtype == DNS_T_IXFR &&
	    (sq->transport == SRVD_UDP || !wire_serial_lt(q->soa_serial, z->serial))) {
		const zone_rrset_t *soa = &z->rrsets[z->soa_rrset];
		if (!msg_put_rrset(&rp->m, SEC_AN, q->qname, DNS_C_IN, z, soa, soa->ttl))
			rp->tc = true;
		return 0;
	}
	return SRVD_XFR;
}

/* ---- dispatch ---------------------------------------------------------- */

static const zone_t *zone_for_query(const srvd_zoneset_t *zs, const resp_query_t *q,
                                    const zone_key_t *k)
{
	const zone_t *z = zone_set_find_key(zs, k);
	/* DS lives on the parent side of a cut (RFC 4035 3.1.4.1). */
	if (z && q->qtype == DNS_T_DS && z->origin_len == q->qname_len) {
		const zone_t *p = zone_set_parent(zs, z);
		if (p)
			z = p;
	}
	return z;
}

static inline __attribute__((always_inline)) void
answer_query(srvd_responder_t *r, reply_t *rp, const srvd_zoneset_t *zs, const resp_query_t *q)
{
	zone_key_init(&r->key, q->lname, q->qname_len);
	const zone_t *z = zone_for_query(zs, q, &r->key);
	if (!z) {
		rp->rcode = DNS_RC_REFUSED;
		return;
	}
	count_in(r, rp, z);
	rp->rcode = resp_answer(r, zs, z, q, &rp->m, &rp->aa, &rp->tc);
}

/* The well-formed single-question cases. Returns SRVD_OK or SRVD_XFR. */
static inline __attribute__((always_inline)) int dispatch(srvd_responder_t *r, reply_t *rp,
                                                          const srvd_zoneset_t *zs,
                                                          const resp_query_t *q,
                                                          const srvd_query_t *sq)
{
	if (q->opcode == DNS_OP_NOTIFY) {
		rp->rcode = DNS_RC_NOTAUTH;
		return 0;
	}
	if (q->qclass == DNS_C_CH) {
		answer_chaos(rp, r, q);
		return 0;
	}
	if (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY) {
		rp->rcode = DNS_RC_REFUSED;
		return 0;
	}
	if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR)
		return answer_xfr(r, rp, zs, q, sq);
	answer_query(r, rp, zs, q);
	return 0;
}

/* The client's limit less what the caller holds back (a TSIG record). */
static size_t limit(const srvd_responder_t *r, const resp_query_t *q, srvd_transport_t t,
                    size_t cap, size_t reserve)
{
	size_t lim = reply_cap(r, q, t, cap);
	return lim > reserve + DNS_UDP_MIN / 2 ? lim - reserve : lim;
}

int resp_reply_rcode(srvd_responder_t *r, const resp_query_t *q, const srvd_query_t *sq,
                     unsigned rcode, bool aa, uint8_t *resp, size_t cap, size_t reserve,
                     size_t *len)
{
	reply_t rp;
	reply_begin(&rp, r, q, resp, limit(r, q, sq->transport, cap, reserve),
	            q->edns && !q->edns_bad, true);
	rp.rcode = (int)rcode;
	rp.aa = aa;
	*len = reply_end(&rp, r, q);
	return 0;
}

int resp_reply_slip(srvd_responder_t *r, const resp_query_t *q, const srvd_query_t *sq,
                    unsigned rcode, uint8_t *resp, size_t cap, size_t reserve, size_t *len)
{
	reply_t rp;
	reply_begin(&rp, r, q, resp, limit(r, q, sq->transport, cap, reserve),
	            q->edns && !q->edns_bad, true);
	rp.rcode = (int)rcode;
	rp.tc = true;
	rp.ctr = NULL; /* the answer it replaces was counted */
	*len = reply_end(&rp, r, q);
	return 0;
}

int srvd_respond_notify(srvd_responder_t *r, const srvd_query_t *sq, unsigned rcode, uint8_t *resp,
                        size_t cap, size_t *resp_len)
{
	if (!r || !sq || !sq->wire || !resp || !resp_len || rcode > 15 || cap < DNS_UDP_MIN)
		return SRVD_EINVAL;
	resp_query_t q;
	if (resp_parse(sq->wire, sq->len, &q) != PARSE_OK || q.opcode != DNS_OP_NOTIFY ||
	    q.qdcount != 1 || q.edns_bad || (q.edns && q.edns_version > 0))
		return SRVD_EINVAL;
	return resp_reply_rcode(r, &q, sq, rcode, true, resp, cap, 0, resp_len);
}

/* FORMERR without the question: RFC 9619 for QDCOUNT > 1, and a question
 * we could not read. */
static size_t reply_formerr(srvd_responder_t *r, const resp_query_t *q, resp_parse_t pr,
                            uint8_t *resp, size_t lim)
{
	resp_query_t nq = *q;
	nq.qwire = NULL;
	return reply_error(r, &nq, resp, lim, DNS_RC_FORMERR,
	                   pr == PARSE_FORMERR && q->edns && !q->edns_bad);
}

/* Inlined into srvd_respond: the call would cost the query path more
 * than everything the split bought. */
static inline __attribute__((always_inline)) int
respond_parsed(srvd_responder_t *r, const srvd_zoneset_t *zs, const resp_query_t *q,
               resp_parse_t pr, const srvd_query_t *sq, uint8_t *resp, size_t cap, size_t reserve,
               size_t *resp_len)
{
	size_t lim = limit(r, q, sq->transport, cap, reserve);
	bool usable_opt = q->edns && !q->edns_bad;
	reply_t rp;
	int rc = 0;
	if (pr == PARSE_MULTI_Q || pr == PARSE_FORMERR) {
		*resp_len = reply_formerr(r, q, pr, resp, lim);
		return 0;
	}
	if (q->opcode != DNS_OP_QUERY && q->opcode != DNS_OP_NOTIFY) {
		reply_begin(&rp, r, q, resp, lim, usable_opt, true);
		rp.rcode = DNS_RC_NOTIMP;
	} else if (pr == PARSE_FORMERR_Q || q->qdcount == 0 || q->edns_bad) {
		reply_begin(&rp, r, q, resp, lim, usable_opt, true);
		rp.rcode = DNS_RC_FORMERR;
	} else if (q->edns && q->edns_version > 0) {
		reply_begin(&rp, r, q, resp, lim, true, true);
		rp.rcode = DNS_RC_BADVERS;
	} else {
		reply_begin(&rp, r, q, resp, lim, q->edns, true);
		rc = dispatch(r, &rp, zs, q, sq);
	}
	if (rc == SRVD_XFR) {
		count(r, q->qtype, rp.ctr, (unsigned)rp.rcode & 0xF, rp.tc);
		r->stats.xfr++;
		return SRVD_XFR;
	}
	*resp_len = reply_end(&rp, r, q);
	return 0;
}

int resp_respond_parsed(srvd_responder_t *r, const srvd_zoneset_t *zs, const resp_query_t *q,
                        resp_parse_t pr, const srvd_query_t *sq, uint8_t *resp, size_t cap,
                        size_t reserve, size_t *resp_len)
{
	return respond_parsed(r, zs, q, pr, sq, resp, cap, reserve, resp_len);
}

int resp_respond_plain(srvd_responder_t *r, const srvd_zoneset_t *zs, const srvd_query_t *sq,
                       bool defer, uint8_t *resp, size_t cap, size_t *len, resp_query_t *q,
                       resp_parse_t *pr)
{
	*pr = resp_parse(sq->wire, sq->len, q);
	if (*pr == PARSE_DROP) {
		r->stats.dropped++;
		return SRVD_DROP;
	}
	if (defer || q->defer || q->opcode == DNS_OP_NOTIFY || q->opcode == DNS_OP_UPDATE)
		return RESP_DEFER;
	return respond_parsed(r, zs, q, *pr, sq, resp, cap, 0, len);
}

int srvd_respond(srvd_responder_t *r, const srvd_zoneset_t *zs, const srvd_query_t *sq,
                 uint8_t *resp, size_t cap, size_t *resp_len)
{
	if (!r || !zs || !sq || !sq->wire || !resp || !resp_len)
		return SRVD_EINVAL;
	if (cap < DNS_UDP_MIN)
		return SRVD_ESPACE;
	resp_query_t q;
	resp_parse_t pr = resp_parse(sq->wire, sq->len, &q);
	if (pr == PARSE_DROP) {
		r->stats.dropped++;
		return SRVD_DROP;
	}
	return respond_parsed(r, zs, &q, pr, sq, resp, cap, 0, resp_len);
}

const char *resp_peer(const void *sockaddr, char *buf, size_t cap)
{
	const struct sockaddr *sa = sockaddr;
	snprintf(buf, cap, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sockaddr)->sin_addr, buf,
		          (socklen_t)cap);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sockaddr)->sin6_addr, buf,
		          (socklen_t)cap);
	return buf;
}

void resp_log_refused(srvd_responder_t *r, const srvd_query_t *sq, const uint8_t *zone,
                      const char *kind, const char *why)
{
	uint8_t key[RATELIM_KEY];
	uint64_t left_out = 0;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ratelim_key(sq->src_addr, key);
	if (!ratelim_allow(&r->refusals, key, (uint64_t)now.tv_sec, &left_out))
		return;
	char name[256], who[INET6_ADDRSTRLEN];
	wire_name_to_str(zone, name, sizeof(name));
	resp_peer(sq->src_addr, who, sizeof(who));
	if (left_out)
		log_warn("%s for zone %s from %s refused: %s (%" PRIu64
		         " similar lines left out before this one)",
		         kind, name, who, why, left_out);
	else
		log_warn("%s for zone %s from %s refused: %s", kind, name, who, why);
}
