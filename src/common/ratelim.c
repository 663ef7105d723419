/* Log rate limits per peer: see ratelim.h for the rules and why. */
#include "common/ratelim.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

void ratelim_key(const void *sockaddr, uint8_t key[RATELIM_KEY])
{
	const struct sockaddr *sa = sockaddr;
	memset(key, 0, RATELIM_KEY);
	if (sa && sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sockaddr)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)sockaddr)->sin6_addr, 16);
	}
}

static ratelim_entry_t *slot(ratelim_t *t, const uint8_t *key)
{
	ratelim_entry_t *oldest = &t->e[0];
	for (unsigned i = 0; i < RATELIM_SLOTS; i++) {
		ratelim_entry_t *e = &t->e[i];
		if (e->used && memcmp(e->key, key, RATELIM_KEY) == 0)
			return e;
		if (!e->used || (oldest->used && e->start < oldest->start))
			oldest = e;
	}
	memcpy(oldest->key, key, RATELIM_KEY);
	oldest->used = true;
	oldest->lines = 0;
	oldest->start = 0;
	return oldest;
}

bool ratelim_allow(ratelim_t *t, const uint8_t key[RATELIM_KEY], uint64_t now, uint64_t *suppressed)
{
	if (now >= t->start + RATELIM_WINDOW || now < t->start) {
		t->start = now;
		t->lines = 0;
	}
	ratelim_entry_t *e = slot(t, key);
	if (e->lines == 0 || now >= e->start + RATELIM_WINDOW || now < e->start) {
		e->start = now;
		e->lines = 0;
	}
	if (e->lines >= RATELIM_BURST || t->lines >= RATELIM_TOTAL) {
		t->suppressed++;
		return false;
	}
	e->lines++;
	t->lines++;
	*suppressed = t->suppressed;
	t->suppressed = 0;
	return true;
}
