/* The journal of diffs that IXFR out answers from: in memory as a list of
 * shared diffs, on disk as a CBOR sequence beside the zone (format in
 * journal.h), bounded in size.
 *
 * One thread appends (the one that publishes versions); any thread may ask
 * for a chain. The lock covers only the list, never the file I/O, so a
 * worker starting an IXFR never waits for an fsync.
 *
 * Loading trusts nothing: every item is decoded by libcbor and then checked
 * field by field (names through rd_t, serial chain, SOAs); a file that fails
 * is ignored with a reason and rewritten on the next append.
 */
#include <cbor.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/file.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/journal.h"

enum { JOURNAL_VERSION = 1 };

struct xfr_journal {
	pthread_mutex_t lock;
	char *path;
	uint8_t origin[255];
	size_t origin_len;
	size_t max_bytes;
	xfr_diff_t **d;
	size_t *enc; /* encoded size of each diff */
	size_t n, cap;
	size_t total;
	bool rewrite; /* the file does not match the list: rewrite before appending */
};

/* ---- encoding -------------------------------------------------------------- */

typedef struct enc {
	uint8_t *p;
	size_t len, cap;
	bool err;
} enc_t;

static void enc_raw(enc_t *e, const void *src, size_t n)
{
	if (e->err)
		return;
	if (arr_grow((void **)&e->p, &e->cap, e->len + n, 1, 4096)) {
		e->err = true;
		return;
	}
	memcpy(e->p + e->len, src, n);
	e->len += n;
}

static void enc_uint(enc_t *e, uint64_t v)
{
	unsigned char b[9];
	enc_raw(e, b, cbor_encode_uint(v, b, sizeof(b)));
}

static void enc_bytes(enc_t *e, const void *p, size_t n)
{
	unsigned char b[9];
	enc_raw(e, b, cbor_encode_bytestring_start(n, b, sizeof(b)));
	enc_raw(e, p, n);
}

static void enc_text(enc_t *e, const char *s)
{
	unsigned char b[9];
	size_t n = strlen(s);
	enc_raw(e, b, cbor_encode_string_start(n, b, sizeof(b)));
	enc_raw(e, s, n);
}

static void enc_array(enc_t *e, size_t n)
{
	unsigned char b[9];
	enc_raw(e, b, cbor_encode_array_start(n, b, sizeof(b)));
}

static void enc_map(enc_t *e, size_t n)
{
	unsigned char b[9];
	enc_raw(e, b, cbor_encode_map_start(n, b, sizeof(b)));
}

static void enc_header(enc_t *e, const uint8_t *origin, size_t origin_len)
{
	enc_map(e, 2);
	enc_text(e, "srvd-journal");
	enc_uint(e, JOURNAL_VERSION);
	enc_text(e, "zone");
	enc_bytes(e, origin, origin_len);
}

static void enc_rrs(enc_t *e, const xfr_rr_t *rrs, size_t n)
{
	enc_array(e, n);
	for (size_t i = 0; i < n; i++) {
		enc_array(e, 4);
		enc_bytes(e, rrs[i].owner, wire_name_len(rrs[i].owner));
		enc_uint(e, rrs[i].type);
		enc_uint(e, rrs[i].ttl);
		enc_bytes(e, rrs[i].rdata, rrs[i].rdlen);
	}
}

static void enc_diff(enc_t *e, const xfr_diff_t *d)
{
	enc_map(e, 4);
	enc_text(e, "from");
	enc_uint(e, d->from);
	enc_text(e, "to");
	enc_uint(e, d->to);
	enc_text(e, "removed");
	enc_rrs(e, d->removed, d->n_removed);
	enc_text(e, "added");
	enc_rrs(e, d->added, d->n_added);
}

/* ---- decoding ---------------------------------------------------------------- */

static const cbor_item_t *map_get(const cbor_item_t *map, const char *key)
{
	if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
		return NULL;
	size_t n = cbor_map_size(map), klen = strlen(key);
	const struct cbor_pair *p = cbor_map_handle(map);
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *k = p[i].key;
		if (cbor_isa_string(k) && cbor_string_is_definite(k) &&
		    cbor_string_length(k) == klen && memcmp(cbor_string_handle(k), key, klen) == 0)
			return p[i].value;
	}
	return NULL;
}

static bool get_uint(const cbor_item_t *it, uint64_t max, uint64_t *out)
{
	if (!it || !cbor_isa_uint(it))
		return false;
	uint64_t v = cbor_get_int(it);
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool get_bytes(const cbor_item_t *it, const uint8_t **p, size_t *n)
{
	if (!it || !cbor_isa_bytestring(it) || !cbor_bytestring_is_definite(it))
		return false;
	*n = cbor_bytestring_length(it);
	*p = *n ? cbor_bytestring_handle(it) : (const uint8_t *)"";
	return true;
}

/* An uncompressed wire name filling exactly n bytes. */
static bool valid_name(const uint8_t *p, size_t n)
{
	rd_t r;
	rd_init(&r, p, n);
	uint8_t tmp[255];
	size_t len = wire_name_read(&r, false, tmp);
	return !r.err && len == n;
}

static const char *decode_rrs(const cbor_item_t *arr, xfr_rr_t **out, size_t *n_out)
{
	if (!arr || !cbor_isa_array(arr) || !cbor_array_is_definite(arr))
		return "RR list is not an array";
	size_t n = cbor_array_size(arr);
	if (n == 0)
		return "RR list is empty (the SOA is missing)";
	xfr_rr_t *v = calloc(n, sizeof(*v));
	if (!v)
		return "out of memory";
	cbor_item_t **items = cbor_array_handle(arr);
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *a = items[i];
		if (!cbor_isa_array(a) || !cbor_array_is_definite(a) || cbor_array_size(a) != 4) {
			free(v);
			return "RR is not a 4-element array";
		}
		cbor_item_t **f = cbor_array_handle(a);
		const uint8_t *owner, *rdata;
		size_t olen, rdlen;
		uint64_t type, ttl;
		if (!get_bytes(f[0], &owner, &olen) || !valid_name(owner, olen) ||
		    !get_uint(f[1], UINT16_MAX, &type) || !get_uint(f[2], UINT32_MAX, &ttl) ||
		    !get_bytes(f[3], &rdata, &rdlen) || rdlen > UINT16_MAX) {
			free(v);
			return "RR field malformed";
		}
		v[i] = (xfr_rr_t){.owner = owner,
		                  .type = (uint16_t)type,
		                  .rclass = DNS_C_IN,
		                  .ttl = (uint32_t)ttl,
		                  .rdata = rdata,
		                  .rdlen = (uint16_t)rdlen};
	}
	*out = v;
	*n_out = n;
	return NULL;
}

static bool soa_ok(const xfr_rr_t *rr, const uint8_t *origin, uint32_t serial)
{
	uint32_t s;
	return rr->type == DNS_T_SOA && wire_name_eq(rr->owner, origin) &&
	       xfr_soa_serial(rr->rdata, rr->rdlen, &s) && s == serial;
}

static const char *decode_diff(const cbor_item_t *it, const uint8_t *origin, xfr_diff_t **out)
{
	uint64_t from, to;
	if (!get_uint(map_get(it, "from"), UINT32_MAX, &from) ||
	    !get_uint(map_get(it, "to"), UINT32_MAX, &to))
		return "diff without from/to serials";
	if (!wire_serial_gt((uint32_t)to, (uint32_t)from))
		return "diff does not go forward";
	xfr_rr_t *rem = NULL, *add = NULL;
	size_t nr = 0, na = 0;
	const char *why = decode_rrs(map_get(it, "removed"), &rem, &nr);
	if (!why)
		why = decode_rrs(map_get(it, "added"), &add, &na);
	if (!why &&
	    (!soa_ok(&rem[0], origin, (uint32_t)from) || !soa_ok(&add[0], origin, (uint32_t)to)))
		why = "diff does not open with the zone's SOAs";
	for (size_t i = 1; !why && i < nr + na; i++) {
		const xfr_rr_t *rr = i < nr ? &rem[i] : &add[i - nr];
		if (i != nr && (rr->type == DNS_T_SOA || !wire_name_is_sub(rr->owner, origin)))
			why = "diff holds a second SOA or a record outside the zone";
	}
	if (!why && xfr_diff_new((uint32_t)from, (uint32_t)to, rem, nr, add, na, out) != 0)
		why = "out of memory";
	free(rem);
	free(add);
	return why;
}

/* ---- the list ------------------------------------------------------------------ */

/* Room for one more diff. d and enc share one capacity, which moves only
 * when both have grown: a half-done growth leaves cap as it was. */
static int room(xfr_journal_t *j)
{
	size_t cap_d = j->cap, cap_e = j->cap;
	if (arr_grow((void **)&j->d, &cap_d, j->n + 1, sizeof(*j->d), 16) ||
	    arr_grow((void **)&j->enc, &cap_e, j->n + 1, sizeof(*j->enc), 16))
		return SRVD_ENOMEM;
	j->cap = cap_d;
	return 0;
}

static int push(xfr_journal_t *j, xfr_diff_t *d, size_t enc)
{
	if (room(j))
		return SRVD_ENOMEM;
	j->d[j->n] = d;
	j->enc[j->n] = enc;
	j->n++;
	j->total += enc;
	return 0;
}

/* Remove the first k diffs; returns them for unref outside the lock. */
static void drop_front(xfr_journal_t *j, size_t k, xfr_diff_t **gone)
{
	for (size_t i = 0; i < k; i++) {
		gone[i] = j->d[i];
		j->total -= j->enc[i];
	}
	memmove(j->d, j->d + k, (j->n - k) * sizeof(*j->d));
	memmove(j->enc, j->enc + k, (j->n - k) * sizeof(*j->enc));
	j->n -= k;
}

static void clear(xfr_journal_t *j)
{
	for (size_t i = 0; i < j->n; i++)
		xfr_diff_unref(j->d[i]);
	j->n = 0;
	j->total = 0;
}

/* ---- load ------------------------------------------------------------------------ */

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t cap, const char *fmt, ...)
{
	if (!why || !cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

/* The extent of the CBOR item at the start of p[len], checked before
 * libcbor sees it: every declared length must fit in what is left, so a
 * damaged length cannot make libcbor allocate gigabytes. Indefinite
 * lengths are refused (our writer never makes them). 0 = the item is
 * complete (*item_len set), 1 = truncated, -1 = malformed. */
static int cbor_extent(const uint8_t *p, size_t len, size_t *item_len)
{
	rd_t r;
	rd_init(&r, p, len);
	uint64_t need = 1;
	while (need > 0) {
		if (rd_left(&r) == 0)
			return 1;
		uint8_t ib = rd_u8(&r);
		unsigned major = ib >> 5, ai = ib & 0x1F;
		uint64_t v = ai;
		if (ai == 24)
			v = rd_u8(&r);
		else if (ai == 25)
			v = rd_u16(&r);
		else if (ai == 26)
			v = rd_u32(&r);
		else if (ai == 27)
			v = (uint64_t)rd_u32(&r) << 32 | rd_u32(&r);
		else if (ai > 27)
			return -1;
		if (r.err)
			return 1;
		need--;
		uint64_t left = rd_left(&r);
		switch (major) {
		case 2:
		case 3:
			if (v > left)
				return 1;
			rd_skip(&r, (size_t)v);
			break;
		case 4:
			if (v > left)
				return v > len ? -1 : 1;
			need += v;
			break;
		case 5:
			if (v > left / 2)
				return v > len ? -1 : 1;
			need += 2 * v;
			break;
		case 6: need++; break;
		default: break; /* 0, 1, 7: the head was all */
		}
	}
	*item_len = r.pos;
	return 0;
}

static const char *cbor_err_name(cbor_error_code c)
{
	switch (c) {
	case CBOR_ERR_NOTENOUGHDATA: return "truncated";
	case CBOR_ERR_NODATA: return "no data";
	case CBOR_ERR_MALFORMATED: return "malformed";
	case CBOR_ERR_MEMERROR: return "out of memory";
	case CBOR_ERR_SYNTAXERROR: return "syntax error";
	default: return "error";
	}
}

static int read_file(const char *path, uint8_t **out, size_t *len, size_t limit)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? SRVD_ENOENT : SRVD_EIO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return SRVD_EIO;
	}
	if ((uint64_t)st.st_size > limit) {
		close(fd);
		return SRVD_ELIMIT;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *p = malloc(n + 1);
	if (!p) {
		close(fd);
		return SRVD_ENOMEM;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*out = p;
	*len = got;
	return 0;
}

/* Fill j from the file; on any problem leave it empty (or with the good
 * prefix for a torn tail) and explain in why. */
static int load(xfr_journal_t *j, char *why, size_t cap)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	/* Appends keep the file near max_bytes; far beyond is not ours. */
	size_t limit = j->max_bytes * 2 + (1u << 20);
	int rc = read_file(j->path, &buf, &len, limit);
	if (rc == SRVD_ENOENT) {
		j->rewrite = true;
		return 0;
	}
	if (rc == SRVD_ENOMEM)
		return rc;
	j->rewrite = true; /* until proven otherwise */
	if (rc == SRVD_ELIMIT) {
		say(why, cap, "journal ignored: file larger than %zu bytes", limit);
		return 0;
	}
	if (rc) {
		say(why, cap, "journal ignored: cannot read: %s", strerror(errno));
		return 0;
	}
	size_t pos = 0;
	unsigned item = 0;
	bool bad = false;
	while (pos < len) {
		size_t extent = 0;
		int ext = cbor_extent(buf + pos, len - pos, &extent);
		if (ext == 1 && item > 0) {
			say(why, cap, "journal: entry %u at offset %zu is truncated; dropped it",
			    item, pos);
			break; /* keep the good prefix; the file gets rewritten */
		}
		if (ext != 0) {
			say(why, cap, "journal ignored: entry %u at offset %zu: %s", item, pos,
			    ext == 1 ? "truncated" : "not well-formed CBOR");
			bad = true;
			break;
		}
		struct cbor_load_result res;
		cbor_item_t *it = cbor_load(buf + pos, extent, &res);
		if (!it || res.error.code != CBOR_ERR_NONE || res.read != extent) {
			if (it)
				cbor_decref(&it);
			say(why, cap, "journal ignored: entry %u at offset %zu: CBOR %s", item, pos,
			    cbor_err_name(res.error.code));
			bad = true;
			break;
		}
		const char *err = NULL;
		if (item == 0) {
			uint64_t ver;
			const uint8_t *zone;
			size_t zlen;
			if (!get_uint(map_get(it, "srvd-journal"), UINT32_MAX, &ver))
				err = "not a srvd journal (no header)";
			else if (ver != JOURNAL_VERSION)
				err = "unknown journal version";
			else if (!get_bytes(map_get(it, "zone"), &zone, &zlen) ||
			         zlen != j->origin_len || !valid_name(zone, zlen) ||
			         !wire_name_eq(zone, j->origin))
				err = "journal of another zone";
		} else {
			xfr_diff_t *d = NULL;
			err = decode_diff(it, j->origin, &d);
			if (!err && j->n && d->from != j->d[j->n - 1]->to)
				err = "diff does not follow the one before";
			if (!err && push(j, d, res.read) != 0)
				err = "out of memory";
			if (err && d)
				xfr_diff_unref(d);
		}
		cbor_decref(&it);
		if (err) {
			say(why, cap, "journal ignored: entry %u at offset %zu: %s", item, pos,
			    err);
			bad = true;
			break;
		}
		pos += res.read;
		item++;
	}
	free(buf);
	if (bad) {
		clear(j);
		return 0;
	}
	if (item == 0) {
		say(why, cap, "journal ignored: empty file");
		return 0;
	}
	if (pos == len)
		j->rewrite = false;
	return 0;
}

/* ---- files -------------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return SRVD_EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Header and every diff to a temp file, then rename over the journal. */
static int rewrite_file(const xfr_journal_t *j)
{
	enc_t e = {0};
	enc_header(&e, j->origin, j->origin_len);
	for (size_t i = 0; i < j->n; i++)
		enc_diff(&e, j->d[i]);
	if (e.err) {
		free(e.p);
		return SRVD_ENOMEM;
	}
	size_t n = strlen(j->path) + 32;
	char *tmp = malloc(n);
	if (!tmp) {
		free(e.p);
		return SRVD_ENOMEM;
	}
	snprintf(tmp, n, "%s.tmp.%ld", j->path, (long)getpid());
	int rc = SRVD_EIO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		rc = write_all(fd, e.p, e.len);
		if (rc == 0 && fsync(fd) != 0)
			rc = SRVD_EIO;
		if (close(fd) != 0 && rc == 0)
			rc = SRVD_EIO;
		if (rc == 0 && rename(tmp, j->path) != 0)
			rc = SRVD_EIO;
		if (rc)
			unlink(tmp);
	}
	if (rc == 0)
		rc = file_sync_dir(j->path);
	free(tmp);
	free(e.p);
	return rc;
}

static int append_file(const xfr_journal_t *j, const enc_t *e)
{
	int fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return SRVD_EIO;
	int rc = write_all(fd, e->p, e->len);
	if (rc == 0 && fsync(fd) != 0)
		rc = SRVD_EIO;
	if (close(fd) != 0 && rc == 0)
		rc = SRVD_EIO;
	return rc;
}

/* ---- API ------------------------------------------------------------------------ */

int xfr_journal_open(const char *path, const uint8_t *origin, size_t max_bytes, char *why,
                     size_t cap, xfr_journal_t **out)
{
	if (!path || !origin || !out || max_bytes == 0)
		return SRVD_EINVAL;
	if (why && cap)
		why[0] = 0;
	xfr_journal_t *j = calloc(1, sizeof(*j));
	if (!j)
		return SRVD_ENOMEM;
	j->path = strdup(path);
	if (!j->path || pthread_mutex_init(&j->lock, NULL) != 0) {
		free(j->path);
		free(j);
		return SRVD_ENOMEM;
	}
	j->origin_len = wire_name_len(origin);
	memcpy(j->origin, origin, j->origin_len);
	j->max_bytes = max_bytes;
	int rc = load(j, why, cap);
	if (rc) {
		xfr_journal_free(j);
		return rc;
	}
	/* The limit may have shrunk since the file was written. */
	size_t k = 0, total = j->total;
	while (k < j->n && total > max_bytes)
		total -= j->enc[k++];
	if (k) {
		for (size_t i = 0; i < k; i++)
			xfr_diff_unref(j->d[i]);
		memmove(j->d, j->d + k, (j->n - k) * sizeof(*j->d));
		memmove(j->enc, j->enc + k, (j->n - k) * sizeof(*j->enc));
		j->n -= k;
		j->total = total;
		j->rewrite = true;
	}
	*out = j;
	return 0;
}

void xfr_journal_free(xfr_journal_t *j)
{
	if (!j)
		return;
	clear(j);
	free(j->d);
	free(j->enc);
	free(j->path);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

int xfr_journal_append(xfr_journal_t *j, xfr_diff_t *d)
{
	if (!j || !d || !wire_serial_gt(d->to, d->from))
		return SRVD_EINVAL;
	if (d->n_removed == 0 || d->n_added == 0 || !soa_ok(&d->removed[0], j->origin, d->from) ||
	    !soa_ok(&d->added[0], j->origin, d->to))
		return SRVD_EINVAL;
	enc_t e = {0};
	enc_diff(&e, d);
	if (e.err) {
		free(e.p);
		return SRVD_ENOMEM;
	}
	/* Only this thread changes the list, so it may read it unlocked. */
	size_t n = j->n;
	size_t keep_from = 0; /* diffs before this index go */
	if (n && j->d[n - 1]->to != d->from)
		keep_from = n; /* a new chain */
	size_t total = e.len;
	for (size_t i = keep_from; i < n; i++)
		total += j->enc[i];
	while (keep_from < n && total > j->max_bytes)
		total -= j->enc[keep_from++];
	bool fits = e.len <= j->max_bytes;
	if (!fits)
		keep_from = n;
	xfr_diff_t **gone = NULL;
	if (keep_from) {
		gone = malloc(keep_from * sizeof(*gone));
		if (!gone) {
			free(e.p);
			return SRVD_ENOMEM;
		}
	}
	pthread_mutex_lock(&j->lock);
	/* grow before dropping, so that a failure changes nothing */
	int rc = fits ? room(j) : 0;
	if (rc == 0) {
		drop_front(j, keep_from, gone);
		if (fits) {
			xfr_diff_ref(d);
			push(j, d, e.len); /* cannot fail: room was made above */
		}
	}
	pthread_mutex_unlock(&j->lock);
	if (rc) {
		free(gone);
		free(e.p);
		return rc;
	}
	for (size_t i = 0; i < keep_from; i++)
		xfr_diff_unref(gone[i]);
	free(gone);
	if (keep_from || !fits)
		j->rewrite = true;
	if (j->rewrite) {
		rc = rewrite_file(j);
		if (rc == 0)
			j->rewrite = false;
	} else {
		rc = append_file(j, &e);
		if (rc)
			j->rewrite = true;
	}
	free(e.p);
	if (rc == 0 && !fits)
		rc = SRVD_ELIMIT;
	return rc;
}

int xfr_journal_clear(xfr_journal_t *j)
{
	if (!j)
		return SRVD_EINVAL;
	pthread_mutex_lock(&j->lock);
	size_t n = j->n;
	xfr_diff_t **gone = n ? malloc(n * sizeof(*gone)) : NULL;
	if (gone)
		drop_front(j, n, gone);
	pthread_mutex_unlock(&j->lock);
	if (n && !gone)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < n; i++)
		xfr_diff_unref(gone[i]);
	free(gone);
	/* Only this thread writes the file, as for appends. */
	int rc = rewrite_file(j);
	j->rewrite = rc != 0;
	return rc;
}

int xfr_journal_reset(xfr_journal_t *j, xfr_diff_t *d)
{
	if (!j || !d || !wire_serial_gt(d->to, d->from) || d->n_removed == 0 || d->n_added == 0 ||
	    !soa_ok(&d->removed[0], j->origin, d->from) || !soa_ok(&d->added[0], j->origin, d->to))
		return SRVD_EINVAL;
	enc_t e = {0};
	enc_diff(&e, d);
	free(e.p);
	if (e.err)
		return SRVD_ENOMEM;
	bool fits = e.len <= j->max_bytes;
	size_t n = j->n;
	xfr_diff_t **gone = n ? malloc(n * sizeof(*gone)) : NULL;
	if (n && !gone)
		return SRVD_ENOMEM;
	pthread_mutex_lock(&j->lock);
	int rc = fits ? room(j) : 0;
	if (rc == 0) {
		drop_front(j, n, gone);
		if (fits) {
			xfr_diff_ref(d);
			push(j, d, e.len);
		}
	}
	pthread_mutex_unlock(&j->lock);
	if (rc) {
		free(gone);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		xfr_diff_unref(gone[i]);
	free(gone);
	rc = rewrite_file(j);
	j->rewrite = rc != 0;
	return rc ? rc : fits ? 0 : SRVD_ELIMIT;
}

size_t xfr_journal_count(const xfr_journal_t *j)
{
	xfr_journal_t *m = (xfr_journal_t *)j;
	pthread_mutex_lock(&m->lock);
	size_t n = j->n;
	pthread_mutex_unlock(&m->lock);
	return n;
}

bool xfr_journal_range(const xfr_journal_t *j, uint32_t *first, uint32_t *last)
{
	xfr_journal_t *m = (xfr_journal_t *)j;
	pthread_mutex_lock(&m->lock);
	bool any = j->n > 0;
	if (any) {
		*first = j->d[0]->from;
		*last = j->d[j->n - 1]->to;
	}
	pthread_mutex_unlock(&m->lock);
	return any;
}

size_t xfr_journal_bytes(const xfr_journal_t *j)
{
	xfr_journal_t *m = (xfr_journal_t *)j;
	pthread_mutex_lock(&m->lock);
	size_t n = j->total;
	pthread_mutex_unlock(&m->lock);
	return n;
}

int xfr_journal_chain(xfr_journal_t *j, uint32_t from, uint32_t to, xfr_chain_t **out)
{
	if (!j || !out)
		return SRVD_EINVAL;
	if (from == to)
		return SRVD_ENOENT;
	xfr_chain_t *c = calloc(1, sizeof(*c));
	if (!c)
		return SRVD_ENOMEM;
	int rc = SRVD_ENOENT;
	pthread_mutex_lock(&j->lock);
	size_t i = 0;
	while (i < j->n && j->d[i]->from != from)
		i++;
	size_t k = i;
	while (k < j->n && j->d[k]->to != to)
		k++;
	if (i < j->n && k < j->n) {
		c->n = k - i + 1;
		c->diffs = malloc(c->n * sizeof(*c->diffs));
		if (!c->diffs) {
			rc = SRVD_ENOMEM;
		} else {
			for (size_t m = 0; m < c->n; m++) {
				c->diffs[m] = j->d[i + m];
				xfr_diff_ref(c->diffs[m]);
				c->records += c->diffs[m]->n_removed + c->diffs[m]->n_added;
			}
			rc = 0;
		}
	}
	pthread_mutex_unlock(&j->lock);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void xfr_chain_free(xfr_chain_t *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		xfr_diff_unref(c->diffs[i]);
	free(c->diffs);
	free(c);
}
