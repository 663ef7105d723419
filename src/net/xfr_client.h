/* The transfer client of a secondary (xfr_client.c): one SOA query, IXFR or AXFR
 * against one primary, on a uv loop, with TSIG and a deadline.
 *
 * Only src/net includes this (it names uv types). A client runs from
 * net_xfr_client_start until its callback, which runs exactly once unless the
 * client is cancelled; in the callback the caller reads the results and
 * calls net_xfr_client_free. net_xfr_client_free before the callback cancels.
 */
#ifndef SRVD_NET_XFR_CLIENT_H
#define SRVD_NET_XFR_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "xfr/tsig.h"
#include "xfr/xfr.h"

typedef struct net_xfr_client net_xfr_client_t;
typedef void (*net_xfr_client_cb)(net_xfr_client_t *x, void *ctx);

typedef struct net_xfr_client_opts {
	struct sockaddr_storage addr; /* the primary */
	const uint8_t *origin;        /* wire; copied */
	const xfr_tsig_key_t *key;    /* NULL: unsigned; borrowed until the callback */
	uint64_t timeout_ms;          /* the whole exchange */
	uint16_t qtype;               /* DNS_T_SOA (UDP, TCP on TC), DNS_T_IXFR or DNS_T_AXFR */
	const zone_t *cur;            /* IXFR, AXFR: the version we serve (referenced), or NULL */
	xfr_in_limits_t lim;
	const char *spool_beside; /* IXFR, AXFR: spool a full transfer in this file's
	                             folder (xfr_in_spool); NULL: in memory. Read at start */
} net_xfr_client_opts_t;

int net_xfr_client_start(uv_loop_t *loop, const net_xfr_client_opts_t *o, net_xfr_client_cb cb,
                         void *ctx, net_xfr_client_t **out);
/* Close and free; no callback after this. */
void net_xfr_client_free(net_xfr_client_t *x);

/* In the callback: 0, or a negative SRVD_E* with the reason in why. */
int net_xfr_client_result(const net_xfr_client_t *x);
const char *net_xfr_client_why(const net_xfr_client_t *x);
/* SOA: the primary's serial. */
uint32_t net_xfr_client_serial(const net_xfr_client_t *x);
/* A failed IXFR that AXFR may fix (xfr_err_fallback). */
bool net_xfr_client_fallback(const net_xfr_client_t *x);
/* Failed because the serial did not advance ours (XFR_FAIL_NOT_NEWER). */
bool net_xfr_client_not_newer(const net_xfr_client_t *x);
/* A transfer that is done: the caller owns it from here. */
xfr_in_t *net_xfr_client_take(net_xfr_client_t *x);
/* Bytes received (framing included) and messages, for logs. */
void net_xfr_client_counts(const net_xfr_client_t *x, uint64_t *bytes, uint64_t *msgs);

#endif
