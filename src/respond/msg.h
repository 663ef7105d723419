/* Response message writer: sections, whole-RRset writes with rollback, and
 * name compression (RFC 1035 4.1.4).
 *
 * The writer never writes past `limit`, which the caller sets to the
 * client's size minus the space held back for the OPT record. A write that
 * does not fit leaves the message exactly as it was (length, counts and
 * compression table), so callers can try an RRset and set TC on failure.
 */
#ifndef SRVD_RESPOND_MSG_H
#define SRVD_RESPOND_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"

enum { MSG_CPTR_MAX = 96 };

typedef enum { SEC_AN = 0, SEC_NS = 1, SEC_AR = 2 } msg_sec_t;

typedef struct msg {
	uint8_t *buf;
	size_t len;
	size_t limit;
	uint16_t count[3];
	uint16_t ncptr;
	uint16_t cptr[MSG_CPTR_MAX]; /* offsets of literal labels, usable as pointer targets */
	uint8_t cplen[MSG_CPTR_MAX]; /* uncompressed length of the name from there */
	/* The same name uncompressed, where it came from (zone data, the
	 * query's lower-cased name, responder scratch): comparing against it
	 * needs no pointer chasing. */
	const uint8_t *csrc[MSG_CPTR_MAX];
	const uint8_t *qname; /* this exact pointer is written as a pointer to the question */
	const uint8_t *owner; /* the owner last written in full, at owner_at */
	uint16_t owner_at;
} msg_t;

typedef struct msg_mark {
	size_t len;
	uint16_t count[3];
	uint16_t ncptr;
	const uint8_t *owner;
	uint16_t owner_at;
} msg_mark_t;

void msg_init(msg_t *m, uint8_t *buf, size_t limit);
void msg_mark(const msg_t *m, msg_mark_t *mark);
void msg_rollback(msg_t *m, const msg_mark_t *mark);

/* Write a name, compressed. Returns false when it does not fit. The
 * name's bytes must stay unchanged until the message is finished: later
 * names are compared against them. */
bool msg_put_name(msg_t *m, const uint8_t *name);
/* Copy the question (name type class) verbatim from the query and register
 * its labels for compression. lname, if given, is the name lower-cased,
 * and must stay unchanged until the message is finished. */
bool msg_put_question(msg_t *m, const uint8_t *qwire, size_t qlen, const uint8_t *lname);

/* Write a whole RRset with the given owner and TTL. On failure nothing is
 * written. */
bool msg_put_rrset(msg_t *m, msg_sec_t sec, const uint8_t *owner, uint16_t rclass, const zone_t *z,
                   const zone_rrset_t *s, uint32_t ttl);
/* Write one RR with literal rdata (synthesized records). */
bool msg_put_rr(msg_t *m, msg_sec_t sec, const uint8_t *owner, uint16_t type, uint16_t rclass,
                uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

#endif
