/* dnstap output (server: dnstap:): AUTH_QUERY and AUTH_RESPONSE messages
 * in the standard dnstap protobuf schema (dnstap.proto, CC0, compiled by
 * protoc-c at build time), written as a Frame Streams stream by libfstrm's
 * I/O thread to a collector's unix socket or to a file. No libuv here:
 * src/net/dnstap.c plugs it into the workers and the main loop.
 *
 * The query path never waits and never allocates: each worker has its own
 * fstrm input queue (single producer, single consumer) and its own ring of
 * message bytes, allocated once. A message is packed by protobuf-c straight
 * into the ring (get_packed_size, then pack: neither allocates) and handed
 * to fstrm_iothr_submit, which never blocks; the I/O thread returns the
 * bytes to the ring through the free callback once written (or discarded),
 * in the order they were submitted, so the ring is a FIFO with one writer
 * (the worker moves head) and one freer (the I/O thread moves tail). A full
 * queue or a full ring drops the message and counts it.
 *
 * A collector that stops reading cannot hold the I/O thread: the socket
 * has send and receive timeouts (DT_IO_TIMEOUT_MS), after which fstrm
 * closes the stream, discards what it holds, and reconnects a second
 * later. So a stalled collector loses messages, and queries go on.
 */
#ifndef SRVD_DNSTAP_DNSTAP_H
#define SRVD_DNSTAP_DNSTAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "conf/conf.h"
#include "srvd/srvd.h"

enum {
	DT_RING_BYTES = 1 << 20, /* per worker */
	DT_QUEUE = 512,          /* fstrm input queue entries per worker (a power of 2) */
	DT_IO_TIMEOUT_MS = 1000, /* a collector that does not read for this long is dropped */
	DT_REOPEN_S = 1,         /* then fstrm tries again after this long */
	DT_MAX_ZONES = 64,       /* zones: filter entries */
	DT_MAX_QTYPES = 64,      /* qtypes: filter entries */
};

typedef struct dt_out dt_out_t;
typedef struct dt_worker dt_worker_t;

/* What one worker logged; written by that worker only, read by anyone. */
typedef struct dt_counts {
	uint64_t logged;  /* messages handed to the I/O thread */
	uint64_t dropped; /* messages lost: queue or ring full (a slow collector) */
	uint64_t too_big; /* messages larger than the ring could ever hold */
} dt_counts_t;

/* Start the I/O thread for c (socket or file) with one input queue and
 * ring per worker. identity and version go into every message (may be
 * NULL). SRVD_EINVAL when c names neither, SRVD_EIO when fstrm refuses
 * (a file that cannot be opened; a socket that is not there yet is
 * retried every DT_REOPEN_S). */
int dt_out_new(const conf_dnstap_t *c, unsigned workers, const char *identity, const char *version,
               dt_out_t **out);
/* Worker i's end; NULL past the last. */
dt_worker_t *dt_out_worker(dt_out_t *o, unsigned i);
/* Stop the I/O thread (it flushes what it can, bounded by the timeouts)
 * and free everything. Only once no worker logs any more. */
void dt_out_free(dt_out_t *o);

/* On worker w's thread: one query and its answer. local is the address
 * the query came to (may be NULL), q->src_addr the client's. Filters
 * (zones, qtypes) and sampling are applied here. */
void dt_log(dt_worker_t *w, const srvd_query_t *q, const struct sockaddr *local,
            const uint8_t *resp, size_t resp_len);

/* Anywhere: w's counters so far. */
void dt_worker_counts(const dt_worker_t *w, dt_counts_t *out);

#endif
