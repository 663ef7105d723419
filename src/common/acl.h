/* ACLs: does a client's socket address fall in a list of prefixes, or did
 * it sign its request with a key the list names? Used for transfer ACLs
 * (the responder, addresses and keys) and notify-from (the daemon,
 * addresses; its keys are checked by name there).
 *
 * A key entry is an srvd_prefix_t with family 0 whose key bytes hold the
 * key's name itself: wire form, lower case, zero-padded. Names compare
 * exactly, by memcmp, so no two distinct key names can ever match (a
 * digest of the name could collide, and a key name is a string that
 * whoever asks for a key may choose). Every ACL stays a flat array of one
 * fixed-size type, which the config, the zone sources, the secondary-zone
 * state and each zone version copy as plain memory. */
#ifndef SRVD_COMMON_ACL_H
#define SRVD_COMMON_ACL_H

#include <stdbool.h>
#include <stddef.h>

#include "srvd/srvd.h"

/* sockaddr is a struct sockaddr (IPv4, IPv6; an IPv4-mapped IPv6 address
 * counts as IPv4) or NULL, which matches nothing. */
bool acl_match(const srvd_prefix_t *acl, size_t n, const void *sockaddr);

/* The entry that grants the key named `name` (presentation form, any case,
 * trailing dot or not). A name that is not a domain name gets an entry
 * that matches nothing (family 0xFF): srvd_acl_key() has no error for it. */
void acl_key_entry(const char *name, srvd_prefix_t *out);

/* Does the list grant the key named `name` (text, as acl_key_entry)? */
bool acl_match_key(const srvd_prefix_t *acl, size_t n, const char *name);

#endif
