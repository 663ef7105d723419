/* The worker threads and their sockets, shared by worker.c, udp.c, tcp.c,
 * sock.c and stats.c. Only src/net includes this (it pulls in uv.h); the
 * net object itself and the main loop's files are in net_int.h.
 *
 * Every worker is a share-nothing server: its own uv loop, responder,
 * buffers, sockets (SO_REUSEPORT, one per address per worker) and counters.
 * The only shared state on the query path is the zone set pointer, read with
 * one atomic load per batch, and the epoch each worker bumps once per loop
 * iteration so the main thread knows when an old zone set is unreachable.
 */
#ifndef SRVD_NET_WORKER_H
#define SRVD_NET_WORKER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <uv.h>

#include "common/list.h"
#include "net/net.h"

enum {
	NET_UDP_BATCH = 64,      /* datagrams per recvmmsg/sendmmsg */
	NET_UDP_ROUNDS = 4,      /* batches per readable event, then yield */
	NET_UDP_SLOT = 4096,     /* largest query and response; udp-payload max */
	NET_TCP_RBUF = 16384,    /* per-connection input: the largest query + 2 */
	NET_TCP_MSG = 65535 + 2, /* the largest framed message */
	NET_TCP_PAUSE = 16384,   /* queued output that pauses reading */
	NET_TCP_FLUSH = 16384,   /* answers of one turn gathered before a write; <= PAUSE */
	NET_TCP_OUT = NET_TCP_PAUSE + NET_TCP_MSG,
	NET_TCP_BUDGET = 16,   /* queries per connection per turn */
	NET_TCP_BACKLOG = 256, /* listen() queue */
	NET_POOL = 32,         /* output buffers kept for reuse */
	NET_DRAIN_MS = 2000,   /* graceful stop: time left to in-flight TCP */
	NET_RETRY_MS = 500,    /* a listener paused by EMFILE tries again */
	NET_FD_SPARE = 64,     /* fds kept from TCP: zone files, journals, control, transfers */
};

typedef struct net_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	bool any; /* a wildcard: UDP replies need the pktinfo of the query */
	char text[INET6_ADDRSTRLEN + 8];
} net_addr_t;

typedef struct worker worker_t;
typedef struct net_batch net_batch_t; /* UDP mmsg arrays, see udp.c */

/* Where the answer to a request goes when it is sent later than the
 * request's turn (UPDATE: update.c): the worker that got it sends it, on
 * the same socket or connection. */
typedef struct net_route {
	srvd_transport_t transport;
	unsigned sock; /* UDP: index in w->udp */
	uint64_t conn; /* TCP: the connection's id (conn_t.id) */
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t ctl[128]; /* UDP: the reply's source address (pktinfo cmsg) */
	size_t ctl_len;
} net_route_t;

typedef struct net_reply {
	link_t link;
	net_route_t route;
	size_t len;
	uint8_t msg[];
} net_reply_t;

typedef struct udp_sock {
	uv_poll_t poll;
	worker_t *w;
	int fd;
	bool pktinfo;
	bool open; /* poll initialised: closing it closes fd */
} udp_sock_t;

typedef struct tcp_listener {
	uv_tcp_t tcp;
	worker_t *w;
	int fd;       /* ours until uv_tcp_open takes it, then -1 */
	int spare;    /* a dup of the socket: it lives on while the handle is closed */
	bool open;    /* handle initialised (and not closed for a pause) */
	bool pending; /* at the cap: libuv holds an accepted fd until we take it */
	bool paused;  /* closed after an accept error (EMFILE); spare reopens it */
	bool closing; /* the handle is closing: wait before reopening */
} tcp_listener_t;

enum { NET_SIZE_BUCKETS = 9 };

/* Written by the owning worker only, read by anyone. */
typedef struct net_counters {
	atomic_uint_fast64_t udp_recv, udp_sent, udp_dropped;
	atomic_uint_fast64_t tcp_accepted, tcp_queries, tcp_evicted, tcp_timeouts, tcp_paused;
	atomic_uint_fast64_t xfr_started, xfr_done;
	/* answers by size: <= 64, 128, ..., 4096, 8192, more (net_count_size) */
	atomic_uint_fast64_t size[NET_SIZE_BUCKETS], size_bytes;
} net_counters_t;

#define NET_COUNT(w, field, n)                                                                     \
	atomic_store_explicit(&(w)->stats.field,                                                   \
	                      atomic_load_explicit(&(w)->stats.field, memory_order_relaxed) + (n), \
	                      memory_order_relaxed)

/* Bucket i holds answers of at most 64 << i bytes; the last, the rest. */
static inline unsigned net_size_bucket(size_t len)
{
	unsigned b = len > 64 ? 58u - (unsigned)__builtin_clzll(len - 1) : 0;
	return b < NET_SIZE_BUCKETS - 1 ? b : NET_SIZE_BUCKETS - 1;
}

#define net_count_size(w, len)                                                                     \
	do {                                                                                       \
		NET_COUNT(w, size[net_size_bucket(len)], 1);                                       \
		NET_COUNT(w, size_bytes, len);                                                     \
	} while (0)

struct worker {
	struct net *net;
	_Atomic(srvd_server_t *) *srv; /* &net->srv: what this worker answers from */
	unsigned id;
	uv_loop_t loop;
	bool loop_ok;
	uv_thread_t thread;
	bool running;
	uv_async_t wake;  /* stop requests and reload grace periods */
	uv_check_t check; /* the quiescent point: bumps epoch */
	uv_idle_t turn;   /* connections with queries left after their budget */
	uv_timer_t idle;  /* closes TCP connections idle for idle_ms */
	uv_timer_t drain; /* bounds the graceful stop */
	uv_timer_t retry; /* reopens listeners paused by EMFILE when nothing closes */
	srvd_responder_t *resp;
	udp_sock_t *udp;
	tcp_listener_t *lst;
	size_t n_socks; /* of each kind: one per listen address */
	link_t conns;   /* least recently active first */
	link_t ready;   /* waiting for their next turn */
	size_t n_conns, max_conns;
	uint64_t idle_ms;
	uint64_t pause_logged; /* uv_now() of the last "not accepting" warning */
	bool draining, finished;
	uint8_t *pool[NET_POOL];
	unsigned n_pool;
	uint8_t *tx; /* one turn's framed TCP answers: NET_TCP_FLUSH + NET_TCP_MSG */
	net_batch_t *batch;
	net_counters_t stats;
	/* stats.c: the main thread asks for a snapshot of the responder's
	 * counters (snap_req), the worker writes it and publishes snap_seq */
	atomic_uint_fast64_t snap_req, snap_seq;
	srvd_stats_t snap;
	size_t snap_conns;
	/* answers sent late (net_worker_reply), taken on wake */
	uv_mutex_t reply_mu;
	link_t replies;
	uint64_t next_conn;   /* ids of TCP connections */
	struct dt_worker *dt; /* dnstap output (net/dnstap.c), or NULL */
	_Alignas(64) atomic_uint_fast64_t epoch;
};

/* The server to answer from; load once per batch and drop it before the
 * callback returns. */
static inline const srvd_server_t *net_server(const worker_t *w)
{
	return atomic_load(w->srv);
}

/* sock.c */
int net_addr_init(const conf_addr_t *a, net_addr_t *out);
int net_addr_probe(net_addr_t *a);
int net_sock_udp(const net_addr_t *a, int *fd);
int net_sock_tcp(const net_addr_t *a, int *fd);

/* worker.c */
int net_worker_new(struct net *n, unsigned id, worker_t **out);
int net_worker_start(worker_t *w);
void net_worker_wake(worker_t *w);
void net_worker_join(worker_t *w);
void net_worker_free(worker_t *w);
void net_worker_finish(worker_t *w);

/* udp.c */
int net_udp_init(worker_t *w);
int net_udp_open(worker_t *w, udp_sock_t *u, int fd, bool pktinfo);
void net_udp_close(udp_sock_t *u);
void net_udp_free(worker_t *w);

/* notify_in.c, from any worker: a NOTIFY for zone was accepted; queue it
 * (coalesced) for the main loop's services. */
void net_notified_push(struct net *n, const char *zone);

/* worker.c, any thread: send msg along route from worker w (copied). */
void net_worker_reply(worker_t *w, const net_route_t *route, const uint8_t *msg, size_t len);
/* udp.c, tcp.c, on the worker: send one late answer (dropped when the
 * socket or connection is gone). */
void net_udp_reply(worker_t *w, const net_reply_t *r);
void net_tcp_reply(worker_t *w, const net_reply_t *r);

/* update.c, from a worker: srvd_dispatch said SRVD_UPDATE for q. */
void net_update_push(worker_t *w, const srvd_server_t *srv, const srvd_query_t *q,
                     const net_route_t *route);

/* tcp.c */
int net_tcp_init(worker_t *w);
int net_tcp_open(worker_t *w, tcp_listener_t *l, int fd);
void net_tcp_drain(worker_t *w);
/* Take a connection waiting at the cap, listen again after EMFILE: called
 * when a connection's descriptor is freed, and by a retry timer. */
void net_tcp_resume(worker_t *w);
void net_tcp_close(worker_t *w);
void net_tcp_free(worker_t *w);

#endif
