/* Intrusive lists: the one circular doubly linked list with a sentinel.
 *
 * Intrusive, so an object on a list (a connection, a waiter, a NOTIFY
 * target) costs no allocation to enqueue and removes itself in O(1) without
 * knowing which list holds it. A removed link points at itself, which makes
 * removal idempotent and lets link_empty() on an element's own link say
 * "not on any list": callers use that instead of a separate flag.
 */
#ifndef SRVD_COMMON_LIST_H
#define SRVD_COMMON_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct link {
	struct link *prev, *next;
} link_t;

/* The object of type `type` whose member `field` is at p. Through void *,
 * so the char * arithmetic does not trip -Wcast-align. */
#define CONTAINER_OF(p, type, field) ((type *)(void *)((char *)(p)-offsetof(type, field)))

/* An empty list head, or a link that is on no list. */
static inline void link_init(link_t *l)
{
	l->prev = l->next = l;
}

static inline bool link_empty(const link_t *l)
{
	return l->next == l;
}

/* Safe on a link that is on no list (after link_init or link_remove). */
static inline void link_remove(link_t *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

static inline void link_push_back(link_t *head, link_t *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

#endif
