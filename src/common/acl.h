/* Address ACLs: does a client's socket address fall in a list of prefixes?
 * Used for transfer ACLs (the responder) and notify-from (the daemon). */
#ifndef SRVD_COMMON_ACL_H
#define SRVD_COMMON_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "srvd/srvd.h"

/* sockaddr is a struct sockaddr (IPv4, IPv6; an IPv4-mapped IPv6 address
 * counts as IPv4) or NULL, which matches nothing. */
bool acl_match(const srvd_prefix_t *acl, size_t n, const void *sockaddr);

#endif
