/* Arena (region) allocator: many small allocations, one free.
 *
 * A zone version owns exactly one arena, so freeing a version is one call and
 * cannot leak a piece of it (NSD's region allocator is the model). Memory is
 * taken from the heap in chunks; allocations never move.
 */
#ifndef SRVD_COMMON_ARENA_H
#define SRVD_COMMON_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk_t;

typedef struct arena {
	arena_chunk_t *head;
	size_t chunk_size;
	size_t total; /* bytes taken from the heap */
} arena_t;

void arena_init(arena_t *a, size_t chunk_size);
void arena_deinit(arena_t *a);
/* 8-byte aligned; NULL when out of memory. */
void *arena_alloc(arena_t *a, size_t n);
void *arena_memdup(arena_t *a, const void *src, size_t n);

#endif
