/* The replies of the control commands (control_cmd.c), for control.c. Each fills
 * r (a fresh ctl_reply_new) and returns its sticky error, if any. */
#ifndef SRVD_NET_CONTROL_CMD_H
#define SRVD_NET_CONTROL_CMD_H

#include "ctl/ctl.h"
#include "net/net_int.h"

int net_ctl_status(const net_t *n, ctl_reply_t *r);
/* zone: "" for every zone. An unknown zone is a failed reply. */
int net_ctl_zone_status(const net_t *n, const char *zone, ctl_reply_t *r);
/* zone: "" for the server's counters, else that zone's (it exists). */
int net_ctl_stats(net_t *n, const net_stats_t *s, const char *zone, ctl_reply_t *r);
/* j: the job that covered the request, NULL when it did not run. */
int net_ctl_reload(const net_t *n, const char *zone, const ztab_job_t *j, ctl_reply_t *r);

#endif
