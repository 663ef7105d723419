/* TSIG (RFC 8945) signing and verification for transfers. See tsig.h.
 *
 * The HMAC is our own over OpenSSL's low-level digests (xfr/hmac.c), so
 * that nothing here allocates; the key secret is decoded by ldns (at
 * configuration time, where allocating is fine). We do not call
 * ldns_pkt_tsig_sign/verify_next, because in ldns 1.8.3 they:
 *  - cannot digest a run of unsigned messages (RFC 8945 5.3.1): the only
 *    way in is to smuggle them through the "original MAC" argument, into a
 *    64 KiB buffer that ldns writes past without a check (NSD signs only
 *    every 96th message, so such runs are megabytes);
 *  - know no hmac-sha224, and misspell hmac-sha384 ("hmac-shac384.");
 *  - re-serialise the message before signing, so the bytes sent are not
 *    the bytes we built.
 * Here the digest is fed as it streams: the unsigned messages go into a
 * running HMAC as they arrive and are never kept. The tests check every
 * case against ldns's signer and verifier, a Knot capture, and an
 * independent Python signer.
 */
#include "common/ldns.h"
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/tsig.h"

enum { TSIG_UNSIGNED_MAX = 99 };

/* xfr_hmac_final() writes XFR_HMAC_MAX bytes at most into our MAC buffers. */
_Static_assert((int)XFR_TSIG_MAC_MAX >= (int)XFR_HMAC_MAX,
               "TSIG MAC buffers too small for the HMAC");

static const struct {
	const char *name; /* presentation form, no trailing dot */
	const char *digest;
	xfr_tsig_alg_t alg;
	xfr_hmac_alg_t hmac;
	size_t mac_len;
} algs[] = {
    {"hmac-md5.sig-alg.reg.int", "MD5", XFR_TSIG_HMAC_MD5, XFR_HMAC_MD5, 16},
    {"hmac-sha1", "SHA1", XFR_TSIG_HMAC_SHA1, XFR_HMAC_SHA1, 20},
    {"hmac-sha224", "SHA224", XFR_TSIG_HMAC_SHA224, XFR_HMAC_SHA224, 28},
    {"hmac-sha256", "SHA256", XFR_TSIG_HMAC_SHA256, XFR_HMAC_SHA256, 32},
    {"hmac-sha384", "SHA384", XFR_TSIG_HMAC_SHA384, XFR_HMAC_SHA384, 48},
    {"hmac-sha512", "SHA512", XFR_TSIG_HMAC_SHA512, XFR_HMAC_SHA512, 64},
};

static const char *digest_name(xfr_tsig_alg_t a)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == a)
			return algs[i].digest;
	return NULL;
}

int xfr_tsig_key_init(const char *name, const char *algorithm, const char *secret_b64,
                      xfr_tsig_key_t *out)
{
	if (!name || !algorithm || !secret_b64 || !out)
		return SRVD_EINVAL;
	xfr_tsig_key_t k;
	memset(&k, 0, sizeof(k));
	uint8_t wire[255];
	if (wire_name_from_str(name, wire, &k.name_len) != 0 || k.name_len < 2)
		return SRVD_EINVAL;
	wire_name_lower(k.name, wire, k.name_len);
	size_t alen = strlen(algorithm);
	if (alen && algorithm[alen - 1] == '.')
		alen--;
	size_t i = 0;
	for (; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == alen && strncasecmp(algs[i].name, algorithm, alen) == 0)
			break;
	if (i == sizeof(algs) / sizeof(algs[0]))
		return SRVD_EINVAL;
	k.alg = algs[i].alg;
	k.mac_len = algs[i].mac_len;
	if (wire_name_from_str(algs[i].name, wire, &k.alg_name_len) != 0)
		return SRVD_EINVAL;
	memcpy(k.alg_name, wire, k.alg_name_len);
	ldns_rdf *rdf = NULL;
	if (ldns_str2rdf_b64(&rdf, secret_b64) != LDNS_STATUS_OK || !rdf)
		return SRVD_EINVAL;
	size_t n = ldns_rdf_size(rdf);
	if (n == 0 || n > sizeof(k.secret)) {
		ldns_rdf_deep_free(rdf);
		return SRVD_EINVAL;
	}
	memcpy(k.secret, ldns_rdf_data(rdf), n);
	k.secret_len = n;
	ldns_rdf_deep_free(rdf);
	if (xfr_hmac_init(algs[i].hmac, k.secret, k.secret_len, &k.hmac) != 0 ||
	    xfr_hmac_len(k.hmac.alg) != k.mac_len) {
		OPENSSL_cleanse(&k, sizeof(k));
		return SRVD_EINVAL;
	}
	*out = k;
	OPENSSL_cleanse(&k, sizeof(k));
	return 0;
}

size_t xfr_tsig_size(const xfr_tsig_key_t *k)
{
	/* owner, type class ttl rdlen, algorithm, time fudge, mac size, mac,
	 * original id, error, other len */
	return k->name_len + 10 + k->alg_name_len + 8 + 2 + k->mac_len + 6;
}

const char *xfr_tsig_status_name(xfr_tsig_status_t s)
{
	switch (s) {
	case XFR_TSIG_OK: return "OK";
	case XFR_TSIG_UNSIGNED: return "UNSIGNED";
	case XFR_TSIG_FORMERR: return "FORMERR";
	case XFR_TSIG_BADKEY: return "BADKEY";
	case XFR_TSIG_BADSIG: return "BADSIG";
	case XFR_TSIG_BADTIME: return "BADTIME";
	case XFR_TSIG_BADTRUNC: return "BADTRUNC";
	case XFR_TSIG_PEER_ERROR: return "PEER_ERROR";
	case XFR_TSIG_UNSIGNED_RUN: return "UNSIGNED_RUN";
	case XFR_TSIG_STATE: return "STATE";
	default: return "?";
	}
}

/* ---- HMAC -------------------------------------------------------------- */

/* A key fit to sign with: its schedule matches its MAC size. A key made
 * other than by xfr_tsig_key_init (zeroed, say) is refused here rather
 * than yield a short or empty MAC. */
static bool key_ok(const xfr_tsig_key_t *k)
{
	return k->mac_len && xfr_hmac_len(k->hmac.alg) == k->mac_len;
}

static void hmac_u16(xfr_hmac_t *h, uint16_t v)
{
	uint8_t b[2];
	put_u16(b, v);
	xfr_hmac_update(h, b, 2);
}

static void hmac_u48(xfr_hmac_t *h, uint64_t v)
{
	uint8_t b[6];
	put_u16(b, (uint16_t)(v >> 32));
	put_u32(b + 2, (uint32_t)v);
	xfr_hmac_update(h, b, 6);
}

/* The MAC a digest opens with when it answers or follows another. */
static void hmac_prev(xfr_hmac_t *h, const xfr_tsig_t *t)
{
	hmac_u16(h, (uint16_t)t->mac_len);
	xfr_hmac_update(h, t->mac, t->mac_len);
}

/* A message as the digest sees it (RFC 8945 4.3.2): the TSIG record cut
 * off, ARCOUNT one less, the original ID back in place. */
static void hmac_stripped(xfr_hmac_t *h, const uint8_t *msg, size_t tsig_start, uint16_t id)
{
	uint8_t hdr[DNS_HDR_LEN];
	memcpy(hdr, msg, DNS_HDR_LEN);
	put_u16(hdr, id);
	put_u16(hdr + 10, (uint16_t)(get_u16(msg + 10) - 1));
	xfr_hmac_update(h, hdr, DNS_HDR_LEN);
	xfr_hmac_update(h, msg + DNS_HDR_LEN, tsig_start - DNS_HDR_LEN);
}

typedef struct vars {
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
} vars_t;

/* The TSIG variables (RFC 8945 4.3.3), or only the timers. */
static void hmac_vars(xfr_hmac_t *h, const xfr_tsig_key_t *k, const vars_t *v, bool timers_only)
{
	if (!timers_only) {
		xfr_hmac_update(h, k->name, k->name_len);
		hmac_u16(h, DNS_C_ANY);
		uint8_t ttl[4] = {0, 0, 0, 0};
		xfr_hmac_update(h, ttl, 4);
		xfr_hmac_update(h, k->alg_name, k->alg_name_len);
	}
	hmac_u48(h, v->time_signed);
	hmac_u16(h, v->fudge);
	if (!timers_only) {
		hmac_u16(h, v->error);
		hmac_u16(h, v->other_len);
		if (v->other_len)
			xfr_hmac_update(h, v->other, v->other_len);
	}
}

/* ---- session ------------------------------------------------------------ */

void xfr_tsig_init(xfr_tsig_t *t, const xfr_tsig_key_t *key)
{
	memset(t, 0, sizeof(*t));
	t->key = key;
	t->fudge = XFR_TSIG_FUDGE;
}

void xfr_tsig_deinit(xfr_tsig_t *t)
{
	if (!t)
		return;
	xfr_hmac_wipe(&t->run);
	t->run_open = false;
}

static int tfail(xfr_tsig_t *t, xfr_tsig_status_t s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tfail(xfr_tsig_t *t, xfr_tsig_status_t s, const char *fmt, ...)
{
	t->status = s;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	switch (s) {
	case XFR_TSIG_FORMERR: return SRVD_EMALFORM;
	case XFR_TSIG_STATE: return SRVD_EINVAL;
	default: return SRVD_EINVAL;
	}
}

static uint64_t now_of(const xfr_tsig_t *t)
{
	return t->now ? t->now : (uint64_t)time(NULL);
}

/* ---- finding the TSIG record -------------------------------------------- */

static bool skip_rr(rd_t *r, uint16_t *type)
{
	uint8_t name[255];
	wire_name_read(r, true, name);
	*type = rd_u16(r);
	rd_skip(r, 6);
	uint16_t rdlen = rd_u16(r);
	rd_skip(r, rdlen);
	return !r->err;
}

int xfr_tsig_find(const uint8_t *msg, size_t len, xfr_tsig_rr_t *out)
{
	if (!msg || !out)
		return SRVD_EINVAL;
	rd_t r;
	rd_init(&r, msg, len);
	rd_skip(&r, 4);
	uint16_t qd = rd_u16(&r), an = rd_u16(&r), ns = rd_u16(&r), ar = rd_u16(&r);
	uint8_t name[255];
	for (uint16_t i = 0; i < qd; i++) {
		wire_name_read(&r, true, name);
		rd_skip(&r, 4);
	}
	if (r.err)
		return SRVD_EMALFORM;
	uint32_t total = (uint32_t)an + ns + ar;
	for (uint32_t i = 0; i < total; i++) {
		size_t start = r.pos;
		uint16_t type;
		if (!skip_rr(&r, &type))
			return SRVD_EMALFORM;
		if (type != DNS_T_TSIG)
			continue;
		/* The TSIG must be the last record of the additional section. */
		if (i != total - 1 || ar == 0)
			return SRVD_EMALFORM;
		xfr_tsig_rr_t t;
		memset(&t, 0, sizeof(t));
		t.start = start;
		rd_seek(&r, start);
		wire_name_read(&r, true, name);
		wire_name_lower(t.name, name, wire_name_len(name));
		rd_skip(&r, 2);
		uint16_t rclass = rd_u16(&r);
		uint32_t ttl = rd_u32(&r);
		uint16_t rdlen = rd_u16(&r);
		size_t end = r.pos + rdlen;
		wire_name_read(&r, true, name);
		if (!r.err)
			wire_name_lower(t.alg, name, wire_name_len(name));
		uint16_t hi = rd_u16(&r);
		t.time_signed = (uint64_t)hi << 32 | rd_u32(&r);
		t.fudge = rd_u16(&r);
		t.mac_len = rd_u16(&r);
		t.mac = rd_ptr(&r, t.mac_len);
		t.orig_id = rd_u16(&r);
		t.error = rd_u16(&r);
		t.other_len = rd_u16(&r);
		t.other = rd_ptr(&r, t.other_len);
		if (r.err || r.pos != end || end != len || rclass != DNS_C_ANY || ttl != 0)
			return SRVD_EMALFORM;
		*out = t;
		return 0;
	}
	if (r.pos != len)
		return SRVD_EMALFORM; /* trailing bytes */
	return SRVD_ENOENT;
}

/* ---- sign --------------------------------------------------------------- */

/* Append a TSIG record at w->pos. */
static void put_tsig(wr_t *w, const uint8_t *name, const uint8_t *alg, const vars_t *v,
                     const uint8_t *mac, size_t mac_len, uint16_t orig_id)
{
	size_t nlen = wire_name_len(name), alen = wire_name_len(alg);
	wr_bytes(w, name, nlen);
	wr_u16(w, DNS_T_TSIG);
	wr_u16(w, DNS_C_ANY);
	wr_u32(w, 0);
	wr_u16(w, (uint16_t)(alen + 6 + 2 + 2 + mac_len + 2 + 2 + 2 + v->other_len));
	wr_bytes(w, alg, alen);
	wr_u16(w, (uint16_t)(v->time_signed >> 32));
	wr_u32(w, (uint32_t)v->time_signed);
	wr_u16(w, v->fudge);
	wr_u16(w, (uint16_t)mac_len);
	wr_bytes(w, mac, mac_len);
	wr_u16(w, orig_id);
	wr_u16(w, v->error);
	wr_u16(w, v->other_len);
	if (v->other_len)
		wr_bytes(w, v->other, v->other_len);
}

int xfr_tsig_sign(xfr_tsig_t *t, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                  size_t *out_len)
{
	if (!t || !t->key || !key_ok(t->key) || !msg || !out || !out_len)
		return SRVD_EINVAL;
	const xfr_tsig_key_t *k = t->key;
	if (len < DNS_HDR_LEN)
		return tfail(t, XFR_TSIG_FORMERR, "message shorter than a header");
	if (t->state == XFR_TSIG_AWAIT_RESPONSE || t->state == XFR_TSIG_STREAM_IN)
		return tfail(t, XFR_TSIG_STATE, "sign called while awaiting a response");
	size_t need = len + xfr_tsig_size(k);
	if (need > cap || need > DNS_TCP_MAX)
		return SRVD_ESPACE;
	bool response = t->state == XFR_TSIG_RESPONDING || t->state == XFR_TSIG_STREAM_OUT;
	bool timers_only = t->state == XFR_TSIG_STREAM_OUT;
	vars_t v = {.time_signed = now_of(t), .fudge = t->fudge};
	xfr_hmac_t h = k->hmac;
	if (response)
		hmac_prev(&h, t);
	xfr_hmac_update(&h, msg, len);
	hmac_vars(&h, k, &v, timers_only);
	uint8_t mac[XFR_TSIG_MAC_MAX];
	size_t mac_len = k->mac_len;
	xfr_hmac_final(&h, mac);
	uint16_t id = get_u16(msg);
	uint16_t arcount = get_u16(msg + 10);
	if (out != msg)
		memmove(out, msg, len);
	wr_t w;
	wr_init(&w, out, cap);
	w.pos = len;
	put_tsig(&w, k->name, k->alg_name, &v, mac, mac_len, id);
	if (w.err)
		return SRVD_ESPACE;
	put_u16(out + 10, (uint16_t)(arcount + 1));
	memcpy(t->mac, mac, mac_len);
	t->mac_len = mac_len;
	t->time_signed = v.time_signed;
	t->state = response ? XFR_TSIG_STREAM_OUT : XFR_TSIG_AWAIT_RESPONSE;
	t->status = XFR_TSIG_OK;
	t->why[0] = 0;
	*out_len = w.pos;
	return 0;
}

/* ---- verify ------------------------------------------------------------- */

/* Start (when needed) the running digest of a stream: it opens with the
 * previous MAC. */
static void run_start(xfr_tsig_t *t)
{
	if (t->run_open)
		return;
	t->run = t->key->hmac;
	hmac_prev(&t->run, t);
	t->run_open = true;
}

static bool alg_eq(const uint8_t *a, const uint8_t *b)
{
	return wire_name_eq(a, b);
}

int xfr_tsig_verify(xfr_tsig_t *t, const uint8_t *msg, size_t len)
{
	if (!t || !t->key || !key_ok(t->key) || !msg)
		return SRVD_EINVAL;
	const xfr_tsig_key_t *k = t->key;
	t->status = XFR_TSIG_OK;
	t->why[0] = 0;
	t->peer_error = 0;
	if (t->state == XFR_TSIG_RESPONDING || t->state == XFR_TSIG_STREAM_OUT)
		return tfail(t, XFR_TSIG_STATE, "verify called while sending a response");
	bool stream = t->state == XFR_TSIG_STREAM_IN;
	if (len < DNS_HDR_LEN)
		return tfail(t, XFR_TSIG_FORMERR, "message shorter than a header");
	xfr_tsig_rr_t rr;
	int rc = xfr_tsig_find(msg, len, &rr);
	if (rc == SRVD_EMALFORM)
		return tfail(t, XFR_TSIG_FORMERR,
		             "message or TSIG record malformed, or TSIG not the last record");
	if (rc == SRVD_ENOENT) {
		if (!stream)
			return tfail(t, XFR_TSIG_UNSIGNED, "%s is not signed",
			             t->state == XFR_TSIG_FRESH ? "request"
			                                        : "first response message");
		if (t->unsigned_run >= TSIG_UNSIGNED_MAX)
			return tfail(t, XFR_TSIG_UNSIGNED_RUN,
			             "more than %d unsigned messages in a row", TSIG_UNSIGNED_MAX);
		run_start(t);
		xfr_hmac_update(&t->run, msg, len);
		t->unsigned_run++;
		t->last_signed = false;
		return 0;
	}
	t->time_signed = rr.time_signed;
	if (!wire_name_eq(rr.name, k->name) || !alg_eq(rr.alg, k->alg_name)) {
		char a[1010], b[1010], c[1010], d[1010];
		wire_name_to_str(rr.name, a, sizeof(a));
		wire_name_to_str(rr.alg, b, sizeof(b));
		wire_name_to_str(k->name, c, sizeof(c));
		wire_name_to_str(k->alg_name, d, sizeof(d));
		return tfail(t, XFR_TSIG_BADKEY, "signed with key %s %s, expected %s %s", a, b, c,
		             d);
	}
	if (rr.error != 0 && t->state != XFR_TSIG_FRESH) {
		t->peer_error = rr.error;
		return tfail(t, XFR_TSIG_PEER_ERROR, "peer rejected our TSIG: %s",
		             rr.error == 16   ? "BADSIG"
		             : rr.error == 17 ? "BADKEY"
		             : rr.error == 18 ? "BADTIME"
		             : rr.error == 22 ? "BADTRUNC"
		                              : "error");
	}
	if (rr.mac_len != k->mac_len) {
		if (rr.mac_len < k->mac_len)
			return tfail(t, XFR_TSIG_BADTRUNC,
			             "truncated MAC (%u of %zu bytes) not accepted", rr.mac_len,
			             k->mac_len);
		return tfail(t, XFR_TSIG_FORMERR, "MAC of %u bytes, %s gives %zu", rr.mac_len,
		             digest_name(k->alg), k->mac_len);
	}
	/* In a stream the running digest is finished here, and gone whether
	 * the MAC verifies or not: the next message starts a new one. */
	xfr_hmac_t one, *h = &one;
	if (stream) {
		run_start(t);
		h = &t->run;
		t->run_open = false;
	} else {
		one = k->hmac;
		if (t->state == XFR_TSIG_AWAIT_RESPONSE)
			hmac_prev(h, t);
	}
	hmac_stripped(h, msg, rr.start, rr.orig_id);
	vars_t v = {.time_signed = rr.time_signed,
	            .fudge = rr.fudge,
	            .error = rr.error,
	            .other = rr.other,
	            .other_len = rr.other_len};
	hmac_vars(h, k, &v, stream);
	uint8_t mac[XFR_TSIG_MAC_MAX];
	size_t mac_len = k->mac_len;
	xfr_hmac_final(h, mac);
	if (mac_len != rr.mac_len || CRYPTO_memcmp(mac, rr.mac, mac_len) != 0)
		return tfail(t, XFR_TSIG_BADSIG, "MAC does not verify");
	/* Time after the MAC (RFC 8945 5.2.3), with the fudge the signer chose. */
	uint64_t now = now_of(t);
	uint64_t skew = now > rr.time_signed ? now - rr.time_signed : rr.time_signed - now;
	if (skew > rr.fudge) {
		/* The MAC is good: keep it, a BADTIME answer is signed over it. */
		memcpy(t->mac, rr.mac, mac_len);
		t->mac_len = mac_len;
		return tfail(t, XFR_TSIG_BADTIME,
		             "time signed is %llu s %s our clock, fudge is %u s",
		             (unsigned long long)skew, now > rr.time_signed ? "behind" : "ahead of",
		             rr.fudge);
	}
	memcpy(t->mac, rr.mac, mac_len);
	t->mac_len = mac_len;
	t->unsigned_run = 0;
	t->last_signed = true;
	if (t->state == XFR_TSIG_FRESH)
		t->state = XFR_TSIG_RESPONDING;
	else if (t->state == XFR_TSIG_AWAIT_RESPONSE)
		t->state = XFR_TSIG_STREAM_IN;
	return 0;
}

int xfr_tsig_end(xfr_tsig_t *t)
{
	if (!t)
		return SRVD_EINVAL;
	xfr_hmac_wipe(&t->run);
	t->run_open = false;
	if (t->state != XFR_TSIG_STREAM_IN)
		return tfail(t, XFR_TSIG_STATE, "no verified response stream to end");
	if (!t->last_signed)
		return tfail(t, XFR_TSIG_UNSIGNED_RUN,
		             "the last message of the stream is not signed");
	return 0;
}

/* ---- errors a server sends back --------------------------------------------- */

int xfr_tsig_error_reply(xfr_tsig_t *t, const uint8_t *req, size_t len, uint8_t *out, size_t cap,
                         size_t *out_len)
{
	if (!t || !req || !out || !out_len)
		return SRVD_EINVAL;
	uint16_t error;
	switch (t->status) {
	case XFR_TSIG_BADSIG: error = 16; break;
	case XFR_TSIG_BADKEY: error = 17; break;
	case XFR_TSIG_BADTIME: error = 18; break;
	case XFR_TSIG_BADTRUNC: error = 22; break;
	default: return SRVD_EINVAL;
	}
	xfr_tsig_rr_t rr;
	if (xfr_tsig_find(req, len, &rr) != 0)
		return SRVD_EMALFORM;
	/* header and question of the request */
	rd_t r;
	rd_init(&r, req, len);
	uint16_t id = rd_u16(&r), flags = rd_u16(&r), qd = rd_u16(&r);
	rd_seek(&r, DNS_HDR_LEN);
	size_t qstart = r.pos;
	if (qd) {
		uint8_t name[255];
		wire_name_read(&r, false, name);
		rd_skip(&r, 4);
	}
	if (r.err)
		return SRVD_EMALFORM;
	wr_t w;
	wr_init(&w, out, cap);
	wr_u16(&w, id);
	wr_u16(&w, (uint16_t)(DNS_QR | (flags & 0x7900) | DNS_RC_NOTAUTH));
	wr_u16(&w, qd ? 1 : 0);
	wr_u16(&w, 0);
	wr_u16(&w, 0);
	wr_u16(&w, 0);
	wr_bytes(&w, req + qstart, r.pos - qstart);
	if (w.err)
		return SRVD_ESPACE;
	size_t body = w.pos;
	uint8_t other[6];
	vars_t v = {.time_signed = now_of(t), .fudge = XFR_TSIG_FUDGE, .error = error};
	uint8_t mac[XFR_TSIG_MAC_MAX];
	size_t mac_len = 0;
	if (error == 18 && t->key && key_ok(t->key) && t->mac_len) {
		/* BADTIME: signed, with our clock in Other Data (RFC 8945 5.2.3) */
		put_u16(other, (uint16_t)(v.time_signed >> 32));
		put_u32(other + 2, (uint32_t)v.time_signed);
		v.other = other;
		v.other_len = 6;
		xfr_hmac_t h = t->key->hmac;
		hmac_prev(&h, t);
		xfr_hmac_update(&h, out, body);
		hmac_vars(&h, t->key, &v, false);
		xfr_hmac_final(&h, mac);
		mac_len = t->key->mac_len;
	}
	/* BADKEY, BADSIG: unsigned, under the request's own names (5.2.1, 5.2.2) */
	put_tsig(&w, rr.name, rr.alg, &v, mac, mac_len, rr.orig_id);
	if (w.err)
		return SRVD_ESPACE;
	put_u16(out + 10, 1);
	*out_len = w.pos;
	return 0;
}
