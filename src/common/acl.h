/* ACLs: does a client's socket address fall in a list of prefixes, or did
 * it sign its request with a key the list names? Used for transfer ACLs
 * (the responder, addresses and keys) and notify-from (the daemon,
 * addresses; its keys are checked by name there).
 *
 * A key entry is an srvd_prefix_t with family 0 whose 16 bytes are a
 * 128-bit digest of the key's name (lower case, without the trailing
 * dot). That keeps every ACL a flat array of one fixed-size type, which
 * the config, the zone sources, the secondary-zone state and each zone
 * version copy and compare as plain memory. The digest is not a secret
 * and need not resist attack: the request must still verify with a
 * configured key, and only names the operator configured are compared. */
#ifndef SRVD_COMMON_ACL_H
#define SRVD_COMMON_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "srvd/srvd.h"

/* sockaddr is a struct sockaddr (IPv4, IPv6; an IPv4-mapped IPv6 address
 * counts as IPv4) or NULL, which matches nothing. */
bool acl_match(const srvd_prefix_t *acl, size_t n, const void *sockaddr);

/* The entry that grants the key named `name` (text, any case, trailing dot
 * or not). */
void acl_key_entry(const char *name, srvd_prefix_t *out);

/* Does the list grant the key named `name` (text, as acl_key_entry)? */
bool acl_match_key(const srvd_prefix_t *acl, size_t n, const char *name);

#endif
