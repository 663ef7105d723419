/* A counting allocator for the tests that prove a path allocates nothing
 * (test_noalloc, test_tsig_noalloc, test_dnstap_noalloc): malloc, calloc,
 * realloc, free, posix_memalign and aligned_alloc, defined by the test
 * binary itself, forward to glibc's __libc_* functions and, while
 * `counting` is set, count every call into n_alloc and n_free.
 *
 * Include it in exactly one file of a test binary. COUNTING_STORAGE picks
 * what the counters are: `static volatile` by default (one count for the
 * process); `static _Thread_local` counts one thread's calls only.
 * Meaningful only without sanitizers (they own the allocator): the CMake
 * file does not build these tests under SRVD_SANITIZE or SRVD_FUZZ. */
#ifndef SRVD_TESTS_UNIT_COUNTING_ALLOC_H
#define SRVD_TESTS_UNIT_COUNTING_ALLOC_H

#include <errno.h>
#include <stddef.h>

#ifndef COUNTING_STORAGE
#define COUNTING_STORAGE static volatile
#endif

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);

COUNTING_STORAGE int counting;
COUNTING_STORAGE unsigned long n_alloc, n_free;

void *malloc(size_t n)
{
	if (counting)
		n_alloc++;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (counting)
		n_alloc++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (counting)
		n_alloc++;
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (counting && p)
		n_free++;
	__libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (counting)
		n_alloc++;
	void *p = __libc_memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	if (counting)
		n_alloc++;
	return __libc_memalign(align, n);
}

#endif
