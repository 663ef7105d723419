/* dnstap output: the fstrm I/O thread, the per-worker rings, the filters
 * and the encoding (dnstap.h says how they fit together).
 *
 * The ring. head and tail count bytes since the start (they only grow);
 * the position in buf is the count modulo DT_RING_BYTES. A message takes a
 * 16-byte header (where its space ends) and its packed bytes, rounded to
 * 16; one that would cross the end of buf starts over at 0 and the bytes
 * it skipped are freed with it. fstrm frees the entries of one input queue
 * in the order they were submitted (fstrm/iothr.c: FIFO queues, then one
 * output array written and freed in order, or discarded in order while
 * the stream is closed), so freeing a message frees everything before it:
 * the free callback stores its end into tail (release) and the worker
 * reads tail (acquire) before it reuses space. A message fstrm does not
 * take (queue full) was never seen by the I/O thread: the worker simply
 * does not move head.
 *
 * The unix socket. fstrm's own unix writer blocks without a limit on a
 * collector that accepts and never reads (in the handshake or in sendmsg),
 * which would hold the I/O thread, and srvd's stop with it. So the stream
 * is ours (fstrm_rdwr): the same connect, with SO_SNDTIMEO/SO_RCVTIMEO.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fstrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "dnstap/dnstap.h"
#include "dnstap/dnstap.pb-c.h"
#include "wire/name.h"

#define CONTENT_TYPE "protobuf:dnstap.Dnstap"

enum { HDR = 16 };

struct dt_worker {
	_Alignas(64) uint8_t *buf; /* DT_RING_BYTES */
	size_t head;               /* the worker's */
	_Atomic size_t tail;       /* the I/O thread's (free callback) */
	struct fstrm_iothr *iothr;
	struct fstrm_iothr_queue *q;
	const dt_out_t *o;
	uint64_t seen; /* queries that passed the filters, for sampling */
	_Atomic uint64_t logged, dropped, too_big;
};

struct dt_out {
	struct fstrm_iothr *iothr;
	dt_worker_t *w;
	unsigned n;
	unsigned sample;
	uint8_t zones[DT_MAX_ZONES][255]; /* lower-case wire names */
	size_t n_zones;
	uint16_t qtypes[DT_MAX_QTYPES];
	size_t n_qtypes;
	char *identity, *version;
};

#define COUNT(f, n)                                                                                \
	atomic_store_explicit(&(f), atomic_load_explicit(&(f), memory_order_relaxed) + (n),        \
	                      memory_order_relaxed)

/* ---- the ring ------------------------------------------------------------------ */

/* Room for at most len bytes, or NULL (full). The space is taken by
 * ring_commit, with the length the message turned out to have. */
static uint8_t *ring_get(dt_worker_t *w, size_t len, size_t *skip)
{
	size_t need = (HDR + len + 15) & ~(size_t)15;
	size_t pos = w->head % DT_RING_BYTES;
	*skip = pos + need > DT_RING_BYTES ? DT_RING_BYTES - pos : 0;
	if (w->head + *skip + need - atomic_load_explicit(&w->tail, memory_order_acquire) >
	    DT_RING_BYTES)
		return NULL;
	return w->buf + (*skip ? 0 : pos) + HDR;
}

/* The header of the message at p (len bytes): where its space ends, which
 * is head once fstrm took it. */
static size_t ring_mark(dt_worker_t *w, uint8_t *p, size_t len, size_t skip)
{
	size_t end = w->head + skip + ((HDR + len + 15) & ~(size_t)15);
	memcpy(p - HDR, &end, sizeof(end));
	return end;
}

/* fstrm's I/O thread, once the message is written or discarded. */
static void ring_free(void *data, void *arg)
{
	dt_worker_t *w = arg;
	size_t end;
	memcpy(&end, (const uint8_t *)data - HDR, sizeof(end));
	atomic_store_explicit(&w->tail, end, memory_order_release);
}

/* ---- encoding ---------------------------------------------------------------- */

static void put_addr(const struct sockaddr *sa, bool query, Dnstap__Message *m)
{
	ProtobufCBinaryData *a = query ? &m->query_address : &m->response_address;
	uint32_t *port = query ? &m->query_port : &m->response_port;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
		a->data = (uint8_t *)&s4->sin_addr;
		a->len = 4;
		*port = ntohs(s4->sin_port);
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
		a->data = (uint8_t *)&s6->sin6_addr;
		a->len = 16;
		*port = ntohs(s6->sin6_port);
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET6;
	} else {
		return;
	}
	m->has_socket_family = 1;
	if (query)
		m->has_query_address = m->has_query_port = 1;
	else
		m->has_response_address = m->has_response_port = 1;
}

/* Pack d into the ring and hand it to fstrm; counted either way. bound
 * is at least its packed size (dt_log says why): packing once, without
 * protobuf-c's sizing pass, saves a walk of the message. */
static void submit(dt_worker_t *w, const Dnstap__Dnstap *d, size_t bound)
{
	if (bound + HDR + 15 > DT_RING_BYTES / 2) {
		COUNT(w->too_big, 1);
		return;
	}
	size_t skip;
	uint8_t *p = ring_get(w, bound, &skip);
	if (!p) {
		COUNT(w->dropped, 1);
		return;
	}
	size_t len = dnstap__dnstap__pack(d, p);
	assert(len <= bound);
	size_t next = ring_mark(w, p, len, skip);
	if (fstrm_iothr_submit(w->iothr, w->q, p, len, ring_free, w) != fstrm_res_success) {
		COUNT(w->dropped, 1);
		return; /* fstrm did not take it: the space is still ours */
	}
	w->head = next;
	COUNT(w->logged, 1);
}

/* The question's name (lower case) and type, through the bounds-checked
 * reader; false for a request without a readable question. */
static bool question(const uint8_t *wire, size_t len, uint8_t name[255], uint16_t *qtype)
{
	rd_t r;
	rd_init(&r, wire, len);
	rd_skip(&r, 4);
	uint16_t qd = rd_u16(&r);
	rd_skip(&r, 6);
	if (r.err || qd == 0 || wire_name_read_lower(&r, name) == 0)
		return false;
	*qtype = rd_u16(&r);
	return !r.err;
}

static bool wanted(dt_worker_t *w, const srvd_query_t *q)
{
	const dt_out_t *o = w->o;
	if (o->n_zones || o->n_qtypes) {
		uint8_t name[255];
		uint16_t qtype = 0;
		if (!question(q->wire, q->len, name, &qtype))
			return false;
		bool ok = o->n_qtypes == 0;
		for (size_t i = 0; !ok && i < o->n_qtypes; i++)
			ok = o->qtypes[i] == qtype;
		if (!ok)
			return false;
		ok = o->n_zones == 0;
		for (size_t i = 0; !ok && i < o->n_zones; i++)
			ok = wire_name_is_sub(name, o->zones[i]);
		if (!ok)
			return false;
	}
	return o->sample <= 1 || w->seen++ % o->sample == 0;
}

void dt_log(dt_worker_t *w, const srvd_query_t *q, const struct sockaddr *local,
            const uint8_t *resp, size_t resp_len)
{
	if (!w || !wanted(w, q))
		return;
	const dt_out_t *o = w->o;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	m.has_socket_protocol = 1;
	m.socket_protocol =
	    q->transport == SRVD_TCP ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
	put_addr(q->src_addr, true, &m);
	put_addr(local, false, &m);
	/* One clock read for both: the answer left microseconds after the
	 * query came, well inside what a collector resolves. */
	m.has_query_time_sec = m.has_query_time_nsec = 1;
	m.query_time_sec = (uint64_t)now.tv_sec;
	m.query_time_nsec = (uint32_t)now.tv_nsec;
	m.type = DNSTAP__MESSAGE__TYPE__AUTH_QUERY;
	m.has_query_message = 1;
	m.query_message.data = (uint8_t *)q->wire;
	m.query_message.len = q->len;
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	if (o->identity) {
		d.has_identity = 1;
		d.identity.data = (uint8_t *)o->identity;
		d.identity.len = strlen(o->identity);
	}
	if (o->version) {
		d.has_version = 1;
		d.version.data = (uint8_t *)o->version;
		d.version.len = strlen(o->version);
	}
	/* An upper bound of the packed size: the byte strings, and for every
	 * field its tag and length (at most 1 + 10 bytes, a varint of 64
	 * bits), 16 fields at most in the two messages. */
	size_t fixed =
	    d.identity.len + d.version.len + m.query_address.len + m.response_address.len + 20 * 11;
	submit(w, &d, fixed + q->len);
	if (!resp)
		return;
	m.type = DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE;
	m.has_response_time_sec = m.has_response_time_nsec = 1;
	m.response_time_sec = m.query_time_sec;
	m.response_time_nsec = m.query_time_nsec;
	m.has_response_message = 1;
	m.response_message.data = (uint8_t *)resp;
	m.response_message.len = resp_len;
	m.has_query_message = 0; /* it went in the query's message */
	submit(w, &d, fixed + resp_len);
}

void dt_worker_counts(const dt_worker_t *w, dt_counts_t *out)
{
	out->logged = atomic_load_explicit(&w->logged, memory_order_relaxed);
	out->dropped = atomic_load_explicit(&w->dropped, memory_order_relaxed);
	out->too_big = atomic_load_explicit(&w->too_big, memory_order_relaxed);
}

/* ---- the unix socket stream, with timeouts --------------------------------------- */

typedef struct unix_stream {
	struct sockaddr_un sa;
	int fd;
} unix_stream_t;

static fstrm_res us_open(void *obj)
{
	unix_stream_t *s = obj;
	if (s->fd >= 0)
		return fstrm_res_success;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fstrm_res_failure;
	struct timeval tv = {.tv_sec = DT_IO_TIMEOUT_MS / 1000,
	                     .tv_usec = DT_IO_TIMEOUT_MS % 1000 * 1000};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (const struct sockaddr *)&s->sa, sizeof(s->sa)) != 0) {
		close(fd);
		return fstrm_res_failure;
	}
	s->fd = fd;
	return fstrm_res_success;
}

static fstrm_res us_close(void *obj)
{
	unix_stream_t *s = obj;
	if (s->fd < 0)
		return fstrm_res_failure;
	close(s->fd);
	s->fd = -1;
	return fstrm_res_success;
}

/* Exactly n bytes, or failure (a timeout included). */
static fstrm_res us_read(void *obj, void *buf, size_t n)
{
	unix_stream_t *s = obj;
	uint8_t *p = buf;
	while (s->fd >= 0 && n) {
		ssize_t r = read(s->fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fstrm_res_failure;
		p += r;
		n -= (size_t)r;
	}
	return n ? fstrm_res_failure : fstrm_res_success;
}

/* All of iov, in sendmsg calls of at most 64 pieces (fstrm gives two a
 * frame), or failure (the send timeout included). */
static fstrm_res us_write(void *obj, const struct iovec *iov, int iovcnt)
{
	unix_stream_t *s = obj;
	if (s->fd < 0)
		return fstrm_res_failure;
	int i = 0;
	size_t off = 0; /* bytes of iov[i] already sent */
	while (i < iovcnt) {
		struct iovec v[64];
		int cnt = 0;
		for (int k = i; k < iovcnt && cnt < 64; k++, cnt++) {
			v[cnt] = iov[k];
			if (k == i) {
				v[cnt].iov_base = (uint8_t *)v[cnt].iov_base + off;
				v[cnt].iov_len -= off;
			}
		}
		struct msghdr msg = {.msg_iov = v, .msg_iovlen = (size_t)cnt};
		ssize_t n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fstrm_res_failure; /* EAGAIN: the send timeout */
		size_t left = (size_t)n;
		while (i < iovcnt && left >= iov[i].iov_len - off) {
			left -= iov[i].iov_len - off;
			off = 0;
			i++;
		}
		off += left;
	}
	return fstrm_res_success;
}

static fstrm_res us_destroy(void *obj)
{
	unix_stream_t *s = obj;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return fstrm_res_success;
}

static struct fstrm_writer *unix_writer(const char *path, const struct fstrm_writer_options *wo)
{
	unix_stream_t *s = calloc(1, sizeof(*s));
	if (!s || strlen(path) >= sizeof(s->sa.sun_path)) {
		free(s);
		return NULL;
	}
	s->fd = -1;
	s->sa.sun_family = AF_UNIX;
	strcpy(s->sa.sun_path, path);
	struct fstrm_rdwr *rw = fstrm_rdwr_init(s);
	fstrm_rdwr_set_open(rw, us_open);
	fstrm_rdwr_set_close(rw, us_close);
	fstrm_rdwr_set_read(rw, us_read);
	fstrm_rdwr_set_write(rw, us_write);
	fstrm_rdwr_set_destroy(rw, us_destroy);
	return fstrm_writer_init(wo, &rw);
}

/* ---- setting up ----------------------------------------------------------------- */

static struct fstrm_writer *make_writer(const conf_dnstap_t *c)
{
	struct fstrm_writer_options *wo = fstrm_writer_options_init();
	fstrm_writer_options_add_content_type(wo, CONTENT_TYPE, strlen(CONTENT_TYPE));
	struct fstrm_writer *w = NULL;
	if (c->socket) {
		w = unix_writer(c->socket, wo);
	} else {
		struct fstrm_file_options *fo = fstrm_file_options_init();
		fstrm_file_options_set_file_path(fo, c->file);
		w = fstrm_file_writer_init(fo, wo);
		fstrm_file_options_destroy(&fo);
	}
	fstrm_writer_options_destroy(&wo);
	return w;
}

static int filters(dt_out_t *o, const conf_dnstap_t *c)
{
	if (c->n_zones > DT_MAX_ZONES || c->n_qtypes > DT_MAX_QTYPES)
		return SRVD_ELIMIT;
	for (size_t i = 0; i < c->n_zones; i++) {
		size_t len;
		if (wire_name_from_str(c->zones[i], o->zones[i], &len) != 0)
			return SRVD_EINVAL;
		wire_name_lower(o->zones[i], o->zones[i], len);
	}
	o->n_zones = c->n_zones;
	if (c->n_qtypes) /* qtypes is NULL without any */
		memcpy(o->qtypes, c->qtypes, c->n_qtypes * sizeof(*c->qtypes));
	o->n_qtypes = c->n_qtypes;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int dt_out_new(const conf_dnstap_t *c, unsigned workers, const char *identity, const char *version,
               dt_out_t **out)
{
	if (!c || !out || workers == 0 || !c->socket == !c->file)
		return SRVD_EINVAL;
	dt_out_t *o = calloc(1, sizeof(*o));
	if (!o)
		return SRVD_ENOMEM;
	o->sample = c->sample ? c->sample : 1;
	o->n = workers;
	o->identity = dup_or_null(identity);
	o->version = dup_or_null(version);
	int rc = filters(o, c);
	o->w = rc ? NULL : aligned_alloc(64, workers * sizeof(*o->w));
	if (!rc && !o->w)
		rc = SRVD_ENOMEM;
	if (rc) {
		dt_out_free(o);
		return rc;
	}
	memset(o->w, 0, workers * sizeof(*o->w));
	for (unsigned i = 0; i < workers && !rc; i++)
		if (!(o->w[i].buf = malloc(DT_RING_BYTES)))
			rc = SRVD_ENOMEM;
	struct fstrm_writer *fw = rc ? NULL : make_writer(c);
	if (!rc && !fw)
		rc = SRVD_EIO;
	if (!rc) {
		struct fstrm_iothr_options *io = fstrm_iothr_options_init();
		fstrm_iothr_options_set_num_input_queues(io, workers);
		fstrm_iothr_options_set_input_queue_size(io, DT_QUEUE);
		fstrm_iothr_options_set_queue_model(io, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
		fstrm_iothr_options_set_reopen_interval(io, DT_REOPEN_S);
		o->iothr = fstrm_iothr_init(io, &fw);
		fstrm_iothr_options_destroy(&io);
		if (!o->iothr) {
			fstrm_writer_destroy(&fw);
			rc = SRVD_EIO;
		}
	}
	for (unsigned i = 0; i < workers && !rc; i++) {
		dt_worker_t *w = &o->w[i];
		w->o = o;
		w->iothr = o->iothr;
		w->q = fstrm_iothr_get_input_queue_idx(o->iothr, i);
		atomic_init(&w->tail, 0);
		if (!w->q)
			rc = SRVD_EIO;
	}
	if (rc) {
		dt_out_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

dt_worker_t *dt_out_worker(dt_out_t *o, unsigned i)
{
	return o && i < o->n ? &o->w[i] : NULL;
}

void dt_out_free(dt_out_t *o)
{
	if (!o)
		return;
	if (o->iothr)
		fstrm_iothr_destroy(&o->iothr); /* frees every entry: the rings must live */
	for (unsigned i = 0; o->w && i < o->n; i++)
		free(o->w[i].buf);
	free(o->w);
	free(o->identity);
	free(o->version);
	free(o);
}
