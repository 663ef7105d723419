/* Transfer in: the state machine that takes AXFR (RFC 5936) and IXFR
 * (RFC 1995) response messages one at a time and makes a new zone version.
 *
 * Every received byte is read through rd_t. A full transfer goes straight
 * into a zone builder, so the new version gets exactly the checks a zone
 * file gets (and the builder drops RRs repeated across messages). An
 * incremental transfer is applied to a copy of the version we serve: the
 * diffs update an overlay keyed by owner/type/RDATA, checked against the
 * current version as they arrive (a deletion of a record we do not have
 * fails at once, so the caller can fall back to AXFR early); finish() then
 * feeds the current records minus the overlay plus its additions into a
 * new builder. The current version is never modified.
 *
 * With a spool file (xfr_in_spool), a full transfer is checked message by
 * message but not built: the messages go to the file, and finish() feeds
 * them to a second xfr_in that builds. A transfer that never ends then
 * costs disk up to max_bytes and no memory; the builder's several bytes
 * per wire byte are spent only on a transfer that is complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/array.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/tsig.h"
#include "xfr/xfr.h"

typedef enum {
	ST_FIRST,  /* expecting the opening SOA */
	ST_SECOND, /* IXFR: the record after the opening SOA decides the form */
	ST_AXFR,   /* full zone body */
	ST_DEL,    /* IXFR: after a diff's old SOA */
	ST_ADD,    /* IXFR: after a diff's new SOA */
	ST_DONE,
	ST_FAILED,
	ST_FINISHED,
} state_t;

/* One record touched by the diffs, and whether it exists after them. */
typedef struct ov_ent {
	uint32_t hash;
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	size_t owner; /* offset into ov.bytes */
	size_t rdata;
	bool present;
} ov_ent_t;

typedef struct overlay {
	ov_ent_t *e;
	size_t n, cap;
	uint32_t *table; /* entry index + 1 */
	size_t mask;
	uint8_t *bytes;
	size_t blen, bcap;
} overlay_t;

struct xfr_in {
	uint8_t origin[255];
	size_t origin_len;
	zone_t *cur;
	uint16_t qtype, id;
	xfr_in_limits_t lim;
	xfr_tsig_t *tsig;
	state_t state;
	xfr_kind_t kind;
	xfr_err_t err;
	int err_rc;
	uint64_t msgs, bytes, records;

	/* the opening SOA: the version being transferred */
	uint32_t serial;
	uint32_t soa_ttl;
	uint16_t soa_rdlen;
	uint8_t soa_rdata[2 * 255 + 20];
	bool not_newer;

	zone_builder_t *b; /* full transfer */
	uint32_t diff_from, diff_to;
	overlay_t ov; /* incremental transfer */

	srvd_diag_t proxy; /* the builder reports here ... */
	srvd_diag_t *diag; /* ... and we forward to the caller's, set in finish() */
	char zone_why[200];

	uint8_t owner[255];
	uint8_t *rdbuf;

	int spool;          /* full transfers go here, not to b; -1: none */
	uint64_t spool_len; /* bytes written to it */
};

/* ---- small helpers ------------------------------------------------------- */

static int fail(xfr_in_t *x, xfr_fail_t f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(xfr_in_t *x, xfr_fail_t f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char why[sizeof(x->err.why)];
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	x->err.msg = (unsigned)x->msgs;
	x->err_rc = xfr_fail(&x->err, f, "%s", why);
	x->state = ST_FAILED;
	return x->err_rc;
}

/* After xfr_read_head() filled x->err. */
static int fail_head(xfr_in_t *x, int rc)
{
	x->err.msg = (unsigned)x->msgs;
	x->err_rc = rc;
	x->state = ST_FAILED;
	return rc;
}

static void name_str(const uint8_t *name, char *buf, size_t cap)
{
	if (wire_name_to_str(name, buf, cap) < 0)
		snprintf(buf, cap, "(long name)");
}

static void forward_diag(void *ctx, srvd_diag_level_t lvl, const char *zone, const char *file,
                         unsigned line, const char *msg)
{
	xfr_in_t *x = ctx;
	if (lvl == SRVD_DIAG_ERROR && !x->zone_why[0])
		snprintf(x->zone_why, sizeof(x->zone_why), "%s", msg);
	srvd_diag_t *d = x->diag;
	if (!d)
		return;
	if (lvl == SRVD_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->fn)
		d->fn(d->ctx, lvl, zone, file, line, msg);
}

/* ---- overlay ------------------------------------------------------------- */

static uint32_t rr_hash(const xfr_rr_t *rr)
{
	uint32_t h = 2166136261u;
	size_t n = wire_name_len(rr->owner);
	for (size_t i = 0; i < n; i++) {
		h ^= wire_lower(rr->owner[i]);
		h *= 16777619u;
	}
	h ^= rr->type;
	h *= 16777619u;
	for (size_t i = 0; i < rr->rdlen; i++) {
		h ^= rr->rdata[i];
		h *= 16777619u;
	}
	return h;
}

static ov_ent_t *ov_find(overlay_t *o, const xfr_rr_t *rr, uint32_t h)
{
	if (!o->table)
		return NULL;
	for (size_t i = h & o->mask;; i = (i + 1) & o->mask) {
		uint32_t v = o->table[i];
		if (!v)
			return NULL;
		ov_ent_t *e = &o->e[v - 1];
		if (e->hash == h && e->type == rr->type && e->rdlen == rr->rdlen &&
		    memcmp(o->bytes + e->rdata, rr->rdata, rr->rdlen) == 0 &&
		    wire_name_eq(o->bytes + e->owner, rr->owner))
			return e;
	}
}

static int ov_grow_table(overlay_t *o)
{
	size_t size = o->table ? (o->mask + 1) * 2 : 1024;
	uint32_t *t = calloc(size, sizeof(*t));
	if (!t)
		return SRVD_ENOMEM;
	for (size_t k = 0; k < o->n; k++) {
		size_t i = o->e[k].hash & (size - 1);
		while (t[i])
			i = (i + 1) & (size - 1);
		t[i] = (uint32_t)k + 1;
	}
	free(o->table);
	o->table = t;
	o->mask = size - 1;
	return 0;
}

static int ov_insert(overlay_t *o, const xfr_rr_t *rr, uint32_t h, bool present)
{
	if (o->n >= UINT32_MAX - 1)
		return SRVD_ENOMEM;
	if ((!o->table || (o->n + 1) * 2 > o->mask + 1) && ov_grow_table(o))
		return SRVD_ENOMEM;
	size_t olen = wire_name_len(rr->owner);
	size_t need = o->blen + olen + rr->rdlen;
	if (arr_grow((void **)&o->e, &o->cap, o->n + 1, sizeof(*o->e), 256) ||
	    arr_grow((void **)&o->bytes, &o->bcap, need, 1, 65536))
		return SRVD_ENOMEM;
	ov_ent_t *e = &o->e[o->n];
	*e = (ov_ent_t){.hash = h,
	                .type = rr->type,
	                .rdlen = rr->rdlen,
	                .ttl = rr->ttl,
	                .owner = o->blen,
	                .rdata = o->blen + olen,
	                .present = present};
	memcpy(o->bytes + o->blen, rr->owner, olen);
	memcpy(o->bytes + o->blen + olen, rr->rdata, rr->rdlen);
	o->blen = need;
	size_t i = h & o->mask;
	while (o->table[i])
		i = (i + 1) & o->mask;
	o->table[i] = (uint32_t)++o->n;
	return 0;
}

static void ov_free(overlay_t *o)
{
	free(o->e);
	free(o->table);
	free(o->bytes);
	memset(o, 0, sizeof(*o));
}

/* Does the version we serve hold this record (any TTL)? */
static bool base_has(const zone_t *z, const xfr_rr_t *rr)
{
	uint8_t lname[255];
	size_t len = wire_name_len(rr->owner);
	wire_name_lower(lname, rr->owner, len);
	uint32_t idx = zone_find(z, lname, len);
	if (idx == ZONE_NONE)
		return false;
	const zone_rrset_t *s = zone_node_rrset(z, &z->nodes[idx], rr->type);
	if (!s)
		return false;
	const uint8_t *p = z->rdata + s->data;
	for (uint16_t i = 0; i < s->count; i++) {
		uint16_t n = get_u16(p);
		if (n == rr->rdlen && memcmp(p + 2, rr->rdata, n) == 0)
			return true;
		p += 2u + n;
	}
	return false;
}

/* ---- lifecycle ------------------------------------------------------------ */

int xfr_in_new(const uint8_t *origin, const zone_t *cur, uint16_t qtype, uint16_t id,
               const xfr_in_limits_t *lim, xfr_in_t **out)
{
	if (!origin || !out || (qtype != DNS_T_AXFR && qtype != DNS_T_IXFR))
		return SRVD_EINVAL;
	if (qtype == DNS_T_IXFR && !cur)
		return SRVD_EINVAL;
	if (cur && !wire_name_eq(cur->origin, origin))
		return SRVD_EINVAL;
	xfr_in_t *x = calloc(1, sizeof(*x));
	if (!x)
		return SRVD_ENOMEM;
	x->rdbuf = malloc(65535);
	if (!x->rdbuf) {
		free(x);
		return SRVD_ENOMEM;
	}
	x->origin_len = wire_name_len(origin);
	memcpy(x->origin, origin, x->origin_len);
	x->cur = (zone_t *)cur;
	srvd_zone_ref(x->cur);
	x->qtype = qtype;
	x->id = id;
	if (lim)
		x->lim = *lim;
	x->proxy.fn = forward_diag;
	x->proxy.ctx = x;
	x->spool = -1;
	*out = x;
	return 0;
}

void xfr_in_free(xfr_in_t *x)
{
	if (!x)
		return;
	zone_builder_free(x->b);
	ov_free(&x->ov);
	srvd_zone_unref(x->cur);
	free(x->rdbuf);
	if (x->spool >= 0)
		close(x->spool);
	free(x);
}

void xfr_in_set_tsig(xfr_in_t *x, xfr_tsig_t *t)
{
	if (x)
		x->tsig = t;
}

void xfr_in_spool(xfr_in_t *x, int fd)
{
	if (x && x->spool < 0 && x->msgs == 0)
		x->spool = fd;
	else if (fd >= 0)
		close(fd);
}

int xfr_spool_open(const char *beside, int *out)
{
	if (!beside || !out)
		return SRVD_EINVAL;
	const char *slash = strrchr(beside, '/');
	size_t dlen = slash ? (size_t)(slash - beside) : 1;
	char *path = malloc(dlen + 32);
	if (!path)
		return SRVD_ENOMEM;
	snprintf(path, dlen + 32, "%.*s", (int)dlen, slash ? (dlen ? beside : "/") : ".");
	int fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) { /* a file system without O_TMPFILE */
		strcat(path, "/.srvd-xfr.XXXXXX");
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	free(path);
	if (fd < 0)
		return SRVD_EIO;
	*out = fd;
	return 0;
}

/* Append one message, framed as on TCP, while the form may still be full. */
static int spool_write(xfr_in_t *x, const uint8_t *msg, size_t len)
{
	uint8_t hdr[2];
	put_u16(hdr, (uint16_t)len);
	struct iovec iov[2] = {{hdr, 2}, {(void *)msg, len}};
	ssize_t n = pwritev(x->spool, iov, 2, (off_t)x->spool_len);
	if (n != (ssize_t)(len + 2))
		return fail(x, XFR_FAIL_SPOOL, "spool file: %s",
		            n < 0 ? strerror(errno) : "short write (disk full?)");
	x->spool_len += len + 2;
	return 0;
}

const xfr_err_t *xfr_in_error(const xfr_in_t *x)
{
	return &x->err;
}

xfr_kind_t xfr_in_kind(const xfr_in_t *x)
{
	return x->kind;
}

uint32_t xfr_in_serial(const xfr_in_t *x)
{
	return x->serial;
}

void xfr_in_counts(const xfr_in_t *x, uint64_t *msgs, uint64_t *bytes, uint64_t *records)
{
	if (msgs)
		*msgs = x->msgs;
	if (bytes)
		*bytes = x->bytes;
	if (records)
		*records = x->records;
}

/* ---- records ---------------------------------------------------------------- */

static bool is_apex_soa(const xfr_in_t *x, const xfr_rr_t *rr)
{
	return rr->type == DNS_T_SOA && wire_name_eq(rr->owner, x->origin);
}

static int soa_serial_of(xfr_in_t *x, const xfr_rr_t *rr, uint32_t *serial)
{
	if (!xfr_soa_serial(rr->rdata, rr->rdlen, serial))
		return fail(x, XFR_FAIL_MALFORMED, "SOA record with malformed RDATA");
	return 0;
}

static int builder_start(xfr_in_t *x)
{
	if (x->spool >= 0) { /* finish() builds, from the file */
		x->kind = XFR_KIND_FULL;
		x->state = ST_AXFR;
		return 0;
	}
	int rc = zone_builder_new(x->origin, &x->proxy, &x->b);
	if (rc)
		return fail(x, XFR_FAIL_NOMEM, "out of memory");
	rc = zone_builder_add(x->b, x->origin, DNS_T_SOA, x->soa_ttl, x->soa_rdata, x->soa_rdlen,
	                      "transfer", 1);
	if (rc)
		return fail(x, rc == SRVD_ENOMEM ? XFR_FAIL_NOMEM : XFR_FAIL_ZONE, "builder: %s",
		            srvd_strerror(rc));
	x->kind = XFR_KIND_FULL;
	x->state = ST_AXFR;
	return 0;
}

static int builder_add(xfr_in_t *x, const xfr_rr_t *rr)
{
	if (x->spool >= 0)
		return 0;
	int rc = zone_builder_add(x->b, rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen,
	                          "transfer", (unsigned)x->msgs);
	if (rc)
		return fail(x, rc == SRVD_ENOMEM ? XFR_FAIL_NOMEM : XFR_FAIL_ZONE, "builder: %s",
		            srvd_strerror(rc));
	return 0;
}

static int first_soa(xfr_in_t *x, const xfr_rr_t *rr)
{
	if (!is_apex_soa(x, rr)) {
		char a[1010], b[1010];
		name_str(rr->owner, a, sizeof(a));
		name_str(x->origin, b, sizeof(b));
		return fail(x, XFR_FAIL_FIRST_SOA, "first record is %s type %u, not the SOA of %s",
		            a, rr->type, b);
	}
	int rc = soa_serial_of(x, rr, &x->serial);
	if (rc)
		return rc;
	if (rr->rdlen > sizeof(x->soa_rdata))
		return fail(x, XFR_FAIL_MALFORMED, "SOA RDATA of %u bytes", rr->rdlen);
	memcpy(x->soa_rdata, rr->rdata, rr->rdlen);
	x->soa_rdlen = rr->rdlen;
	x->soa_ttl = rr->ttl;
	x->not_newer = x->cur && !wire_serial_gt(x->serial, x->cur->serial);
	if (x->qtype == DNS_T_IXFR) {
		x->state = ST_SECOND;
		return 0;
	}
	if (x->not_newer && !x->lim.force)
		return fail(x, XFR_FAIL_NOT_NEWER, "serial %u is not newer than ours (%u)",
		            x->serial, x->cur->serial);
	return builder_start(x);
}

static int second_rr(xfr_in_t *x, const xfr_rr_t *rr)
{
	if (x->not_newer)
		return fail(x, XFR_FAIL_NOT_NEWER, "serial %u is not newer than ours (%u)",
		            x->serial, x->cur->serial);
	if (!is_apex_soa(x, rr)) {
		/* AXFR-style answer to our IXFR (RFC 1995 4). */
		int rc = builder_start(x);
		return rc ? rc : builder_add(x, rr);
	}
	uint32_t s;
	int rc = soa_serial_of(x, rr, &s);
	if (rc)
		return rc;
	if (s != x->cur->serial)
		return fail(x, XFR_FAIL_DIFF_START, "first diff starts at serial %u, ours is %u", s,
		            x->cur->serial);
	x->kind = XFR_KIND_INCREMENTAL;
	x->diff_from = s;
	x->state = ST_DEL;
	return 0;
}

static int axfr_rr(xfr_in_t *x, const xfr_rr_t *rr)
{
	if (rr->type != DNS_T_SOA)
		return builder_add(x, rr);
	if (!is_apex_soa(x, rr)) {
		char a[1010];
		name_str(rr->owner, a, sizeof(a));
		return fail(x, XFR_FAIL_BRACKET, "SOA record for %s inside the transfer", a);
	}
	uint32_t s;
	int rc = soa_serial_of(x, rr, &s);
	if (rc)
		return rc;
	if (s != x->serial)
		return fail(x, XFR_FAIL_BRACKET,
		            "closing SOA has serial %u, the opening SOA had %u", s, x->serial);
	x->state = ST_DONE;
	return 0;
}

static int ixfr_del(xfr_in_t *x, const xfr_rr_t *rr)
{
	uint32_t h = rr_hash(rr);
	ov_ent_t *e = ov_find(&x->ov, rr, h);
	bool present = e ? e->present : base_has(x->cur, rr);
	if (!present) {
		char a[1010];
		name_str(rr->owner, a, sizeof(a));
		return fail(x, XFR_FAIL_DIFF_MISSING,
		            "diff from serial %u deletes %s type %u (%u bytes of RDATA), which we "
		            "do not have",
		            x->diff_from, a, rr->type, rr->rdlen);
	}
	if (e)
		e->present = false;
	else if (ov_insert(&x->ov, rr, h, false))
		return fail(x, XFR_FAIL_NOMEM, "out of memory");
	return 0;
}

static int ixfr_add(xfr_in_t *x, const xfr_rr_t *rr)
{
	uint32_t h = rr_hash(rr);
	ov_ent_t *e = ov_find(&x->ov, rr, h);
	if (e) {
		e->present = true;
		e->ttl = rr->ttl;
		return 0;
	}
	if (ov_insert(&x->ov, rr, h, true))
		return fail(x, XFR_FAIL_NOMEM, "out of memory");
	return 0;
}

static int ixfr_rr(xfr_in_t *x, const xfr_rr_t *rr)
{
	if (rr->type == DNS_T_SOA && !is_apex_soa(x, rr)) {
		char a[1010];
		name_str(rr->owner, a, sizeof(a));
		return fail(x, XFR_FAIL_BRACKET, "SOA record for %s inside the transfer", a);
	}
	if (rr->type != DNS_T_SOA)
		return x->state == ST_DEL ? ixfr_del(x, rr) : ixfr_add(x, rr);
	uint32_t s;
	int rc = soa_serial_of(x, rr, &s);
	if (rc)
		return rc;
	if (x->state == ST_DEL) {
		/* The diff's new SOA: deletions end, additions begin. */
		if (!wire_serial_gt(s, x->diff_from))
			return fail(x, XFR_FAIL_DIFF_CHAIN, "diff goes from serial %u to %u",
			            x->diff_from, s);
		x->diff_to = s;
		x->state = ST_ADD;
		return 0;
	}
	if (s == x->serial && x->diff_to == x->serial) {
		x->state = ST_DONE;
		return 0;
	}
	if (s != x->diff_to)
		return fail(x, XFR_FAIL_DIFF_CHAIN,
		            "diff starts at serial %u, the one before ended at %u", s, x->diff_to);
	x->diff_from = s;
	x->state = ST_DEL;
	return 0;
}

static int one_rr(xfr_in_t *x, const xfr_rr_t *rr)
{
	if (rr->rclass != DNS_C_IN)
		return fail(x, XFR_FAIL_CLASS, "record of class %u, not IN", rr->rclass);
	if (!wire_name_is_sub(rr->owner, x->origin)) {
		char a[1010], b[1010];
		name_str(rr->owner, a, sizeof(a));
		name_str(x->origin, b, sizeof(b));
		return fail(x, XFR_FAIL_OUTSIDE, "record %s type %u is outside the zone %s", a,
		            rr->type, b);
	}
	switch (x->state) {
	case ST_FIRST: return first_soa(x, rr);
	case ST_SECOND: return second_rr(x, rr);
	case ST_AXFR: return axfr_rr(x, rr);
	case ST_DEL:
	case ST_ADD: return ixfr_rr(x, rr);
	default: return fail(x, XFR_FAIL_BRACKET, "record after the closing SOA");
	}
}

/* ---- messages ----------------------------------------------------------- */

int xfr_in_feed(xfr_in_t *x, const uint8_t *msg, size_t len)
{
	if (!x || !msg)
		return SRVD_EINVAL;
	if (x->state == ST_FAILED)
		return x->err_rc;
	if (x->state == ST_DONE || x->state == ST_FINISHED) {
		x->msgs++;
		return fail(x, XFR_FAIL_STATE, "message after the end of the transfer");
	}
	x->msgs++;
	x->bytes += len;
	if (x->lim.max_bytes && x->bytes > x->lim.max_bytes)
		return fail(x, XFR_FAIL_SIZE, "transfer exceeds the size limit of %llu bytes",
		            (unsigned long long)x->lim.max_bytes);
	if (x->tsig && xfr_tsig_verify(x->tsig, msg, len) != 0) {
		/* An unsigned error answer (a server that refuses before it
		 * looks at TSIG) is better named by its rcode. */
		if (x->tsig->status == XFR_TSIG_UNSIGNED && len >= DNS_HDR_LEN &&
		    (get_u16(msg + 2) & 0xF) != DNS_RC_NOERROR && get_u16(msg) == x->id) {
			x->err.rcode = (uint8_t)(get_u16(msg + 2) & 0xF);
			return fail(x, XFR_FAIL_RCODE, "server answered %s (without TSIG)",
			            xfr_rcode_name(x->err.rcode));
		}
		return fail(x, XFR_FAIL_TSIG, "TSIG %s: %s", xfr_tsig_status_name(x->tsig->status),
		            x->tsig->why);
	}
	rd_t r;
	rd_init(&r, msg, len);
	xfr_hdr_t h;
	int rc =
	    xfr_read_head(&r, x->origin, x->qtype, DNS_OP_QUERY, x->id, x->msgs == 1, &x->err, &h);
	if (rc)
		return fail_head(x, rc);
	for (uint16_t i = 0; i < h.an; i++) {
		size_t at = r.pos;
		xfr_rr_t rr;
		if (!xfr_rr_read(&r, x->owner, x->rdbuf, &rr)) {
			x->err.offset = at;
			return fail(x, XFR_FAIL_MALFORMED,
			            "answer record %u malformed at offset %zu", i + 1, at);
		}
		if (++x->records > x->lim.max_records && x->lim.max_records)
			return fail(x, XFR_FAIL_COUNT, "transfer exceeds the limit of %llu records",
			            (unsigned long long)x->lim.max_records);
		if (x->state == ST_DONE)
			return fail(x, XFR_FAIL_BRACKET, "records after the closing SOA");
		if ((rc = one_rr(x, &rr)) != 0)
			return rc;
	}
	/* Authority and additional carry nothing for us (OPT, TSIG), but
	 * they must parse. */
	uint32_t rest = (uint32_t)h.ns + h.ar;
	for (uint32_t i = 0; i < rest; i++) {
		size_t at = r.pos;
		xfr_rr_t rr;
		if (!xfr_rr_read(&r, x->owner, x->rdbuf, &rr)) {
			x->err.offset = at;
			return fail(x, XFR_FAIL_MALFORMED, "record malformed at offset %zu", at);
		}
	}
	if (r.pos != len) {
		x->err.offset = r.pos;
		return fail(x, XFR_FAIL_MALFORMED, "%zu bytes after the last record (offset %zu)",
		            len - r.pos, r.pos);
	}
	if (x->state == ST_SECOND && x->not_newer) {
		/* A lone SOA that is not newer: we are up to date (RFC 1995 2). */
		x->kind = XFR_KIND_UPTODATE;
		x->state = ST_DONE;
	}
	if (x->spool >= 0 && x->kind != XFR_KIND_INCREMENTAL && x->kind != XFR_KIND_UPTODATE &&
	    (rc = spool_write(x, msg, len)) != 0)
		return rc;
	if (x->state != ST_DONE)
		return XFR_IN_MORE;
	if (x->tsig && xfr_tsig_end(x->tsig) != 0)
		return fail(x, XFR_FAIL_TSIG, "TSIG %s: %s", xfr_tsig_status_name(x->tsig->status),
		            x->tsig->why);
	return XFR_IN_DONE;
}

/* ---- finish ---------------------------------------------------------------- */

static int apply_diffs(xfr_in_t *x)
{
	int rc = zone_builder_new(x->origin, &x->proxy, &x->b);
	if (rc)
		return rc;
	xfr_iter_t it;
	xfr_rr_t rr;
	xfr_iter_init(&it, x->cur);
	while (xfr_iter_next(&it, &rr)) {
		if (rr.type == DNS_T_SOA)
			continue;
		if (ov_find(&x->ov, &rr, rr_hash(&rr)))
			continue; /* the overlay decides about this one */
		rc = zone_builder_add(x->b, rr.owner, rr.type, rr.ttl, rr.rdata, rr.rdlen,
		                      "current version", 0);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < x->ov.n; i++) {
		const ov_ent_t *e = &x->ov.e[i];
		if (!e->present)
			continue;
		rc = zone_builder_add(x->b, x->ov.bytes + e->owner, e->type, e->ttl,
		                      x->ov.bytes + e->rdata, e->rdlen, "transfer", 0);
		if (rc)
			return rc;
	}
	return zone_builder_add(x->b, x->origin, DNS_T_SOA, x->soa_ttl, x->soa_rdata, x->soa_rdlen,
	                        "transfer", 0);
}

/* The overlay as changes to the current version, for zone_cow_apply: each
 * entry's record goes (whatever its TTL), and comes back when present
 * (with the transfer's TTL); the SOA is replaced. */
static int apply_cow(xfr_in_t *x, zone_t **out)
{
	size_t n = 0;
	zone_change_t *ch = malloc((2 * x->ov.n + 2) * sizeof(*ch));
	if (!ch)
		return SRVD_ENOMEM;
	xfr_rr_t soa;
	xfr_zone_soa(x->cur, &soa);
	ch[n++] = (zone_change_t){soa.owner, DNS_T_SOA, soa.rdlen, soa.ttl, soa.rdata, false};
	ch[n++] =
	    (zone_change_t){x->origin, DNS_T_SOA, x->soa_rdlen, x->soa_ttl, x->soa_rdata, true};
	for (size_t i = 0; i < x->ov.n; i++) {
		const ov_ent_t *e = &x->ov.e[i];
		zone_change_t c = {x->ov.bytes + e->owner, e->type, e->rdlen, e->ttl,
		                   x->ov.bytes + e->rdata, false};
		ch[n++] = c;
		if (e->present) {
			c.add = true;
			ch[n++] = c;
		}
	}
	int rc = zone_cow_apply(x->cur, ch, n, XFR_COW_MIN_RECORDS, out);
	free(ch);
	return rc;
}

static int copy_acl(const zone_t *from, zone_t *to)
{
	if (!from || !from->n_acl)
		return 0;
	to->acl = malloc(from->n_acl * sizeof(*to->acl));
	if (!to->acl)
		return SRVD_ENOMEM;
	memcpy(to->acl, from->acl, from->n_acl * sizeof(*to->acl));
	to->n_acl = from->n_acl;
	return 0;
}

/* The message framed at off in the spool, into buf (65535 bytes). */
static int spool_read(const xfr_in_t *x, uint64_t off, uint8_t *buf, size_t *len)
{
	uint8_t hdr[2];
	if (off >= x->spool_len || pread(x->spool, hdr, 2, (off_t)off) != 2)
		return SRVD_EIO;
	size_t n = get_u16(hdr);
	if (pread(x->spool, buf, n, (off_t)(off + 2)) != (ssize_t)n)
		return SRVD_EIO;
	*len = n;
	return 0;
}

/* The spooled messages, fed again to a transfer that builds (no TSIG:
 * every message was verified as it came). Its result, or its error, is
 * x's. */
static int replay(xfr_in_t *x, zone_t **out)
{
	xfr_in_t *y = NULL;
	if (xfr_in_new(x->origin, x->cur, x->qtype, x->id, &x->lim, &y) != 0)
		return fail(x, XFR_FAIL_NOMEM, "out of memory");
	uint8_t *buf = malloc(65535);
	int rc = buf ? XFR_IN_MORE : fail(x, XFR_FAIL_NOMEM, "out of memory");
	for (uint64_t off = 0; rc == XFR_IN_MORE;) {
		size_t len = 0;
		if (spool_read(x, off, buf, &len) != 0) {
			rc = fail(x, XFR_FAIL_SPOOL, "spool file: short read");
			break;
		}
		off += len + 2;
		rc = xfr_in_feed(y, buf, len);
	}
	free(buf);
	if (rc == XFR_IN_DONE)
		rc = xfr_in_finish(y, x->diag, out);
	if (rc < 0 && y->state == ST_FAILED) {
		x->err = y->err;
		x->err_rc = rc;
		x->state = ST_FAILED;
	}
	xfr_in_free(y);
	return rc < 0 ? rc : 0;
}

int xfr_in_finish(xfr_in_t *x, srvd_diag_t *diag, zone_t **out)
{
	if (!x || !out)
		return SRVD_EINVAL;
	if (x->state != ST_DONE)
		return fail(x, XFR_FAIL_STATE, "finish before the transfer is complete");
	x->state = ST_FINISHED;
	x->diag = diag;
	if (x->kind == XFR_KIND_UPTODATE) {
		srvd_zone_ref(x->cur);
		*out = x->cur;
		return 0;
	}
	if (x->kind == XFR_KIND_FULL && x->spool >= 0)
		return replay(x, out);
	int rc = 0;
	zone_t *z = NULL;
	if (x->kind == XFR_KIND_INCREMENTAL) {
		rc = apply_cow(x, &z); /* copies the ACL itself */
		if (rc == 0) {
			*out = z;
			return 0;
		}
		if (rc == SRVD_ENOTSUP)
			rc = apply_diffs(x);
	}
	if (rc == 0) {
		rc = zone_builder_finish(x->b, &z);
		x->b = NULL;
	}
	if (rc == 0 && (rc = copy_acl(x->cur, z)) != 0)
		srvd_zone_unref(z);
	if (rc == SRVD_ENOMEM)
		return fail(x, XFR_FAIL_NOMEM, "out of memory");
	if (rc)
		return fail(x, XFR_FAIL_ZONE, "zone checks failed: %s",
		            x->zone_why[0] ? x->zone_why : srvd_strerror(rc));
	*out = z;
	return 0;
}
