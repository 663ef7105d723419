/* Arena allocator: chunk list, bump pointer. See arena.h. */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	arena_chunk_t *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

void arena_init(arena_t *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
	a->total = 0;
}

void arena_deinit(arena_t *a)
{
	arena_chunk_t *c = a->head;
	while (c) {
		arena_chunk_t *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

static arena_chunk_t *chunk_new(arena_t *a, size_t need)
{
	size_t size = need > a->chunk_size ? need : a->chunk_size;
	arena_chunk_t *c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->size = size;
	c->used = 0;
	a->total += sizeof(*c) + size;
	return c;
}

void *arena_alloc(arena_t *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (n == 0)
		n = 8;
	arena_chunk_t *c = a->head;
	if (!c || c->size - c->used < n) {
		arena_chunk_t *nc = chunk_new(a, n);
		if (!nc)
			return NULL;
		/* A big one-off block goes behind the head so the head's free
		 * space stays usable for the small allocations that follow. */
		if (c && n > a->chunk_size / 2) {
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = (uint8_t *)c->data + c->used;
	c->used += n;
	return p;
}

void *arena_memdup(arena_t *a, const void *src, size_t n)
{
	void *p = arena_alloc(a, n);
	if (p && n)
		memcpy(p, src, n);
	return p;
}
