/* Proof that logging to dnstap allocates nothing on the query path
 * (src/dnstap/dnstap.h): dt_log packs into the worker's ring and submits
 * to fstrm's input queue, and the I/O thread hands the bytes back.
 *
 * This binary defines malloc and friends to count calls made while the
 * calling thread's `counting` flag is set: fstrm's I/O thread allocates
 * as it likes (opening the file), and that is not the query path. The
 * worker logs far more than the ring (1 MiB) and the queue (512 entries)
 * hold, so the ring wraps many times, the free callback runs throughout,
 * and a full queue drops messages: every path of dt_log is taken.
 *
 * Meaningful only without sanitizers (they own the allocator): not built
 * under SRVD_SANITIZE or SRVD_FUZZ.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnstap/dnstap.h"
#include "test_helpers.h"

#define COUNTING_STORAGE static _Thread_local
#include "counting_alloc.h"

/* A query for _matrix-fed._tcp.example.com SRV, and an answer-sized blob. */
static size_t make_query(uint8_t *q)
{
	static const uint8_t hdr[12] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(q, hdr, 12);
	size_t n = th_name("_matrix-fed._tcp.example.com", q + 12);
	put_u16(q + 12 + n, 33);
	put_u16(q + 14 + n, 1);
	return 16 + n;
}

static void logs_without_allocating(void **state)
{
	(void)state;
	char path[] = "/tmp/srvd-dnstap-noalloc-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char *zones[] = {"example.com"};
	uint16_t qtypes[] = {33};
	conf_dnstap_t c = {
	    .file = path, .zones = zones, .n_zones = 1, .qtypes = qtypes, .n_qtypes = 1};
	dt_out_t *o = NULL;
	assert_int_equal(dt_out_new(&c, 1, "noalloc", "test", &o), 0);
	dt_worker_t *w = dt_out_worker(o, 0);
	assert_non_null(w);

	uint8_t q[512], small[300], big[60000];
	size_t qlen = make_query(q);
	memset(small, 0xAB, sizeof(small));
	memset(big, 0xCD, sizeof(big));
	struct sockaddr_in client = {
	    .sin_family = AF_INET, .sin_port = htons(5353), .sin_addr.s_addr = htonl(0x7f000001)};
	struct sockaddr_in local = {
	    .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(0x7f000001)};
	enum { N = 100000 };
	counting = 1;
	for (unsigned i = 0; i < N; i++) {
		srvd_query_t sq = {.wire = q,
		                   .len = qlen,
		                   .transport = i % 7 ? SRVD_UDP : SRVD_TCP,
		                   .src_addr = &client};
		/* mostly small answers, every 97th a large TCP-sized one */
		if (i % 97)
			dt_log(w, &sq, (const struct sockaddr *)&local, small, sizeof(small));
		else
			dt_log(w, &sq, NULL, big, sizeof(big));
	}
	counting = 0;
	unsigned long allocs = n_alloc, frees = n_free;

	dt_counts_t cnt;
	dt_worker_counts(w, &cnt);
	dt_out_free(o); /* the I/O thread flushes and returns every buffer */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
	if (allocs || frees)
		fail_msg("dt_log called the allocator: %lu allocations, %lu frees", allocs, frees);
	/* a query and its answer each time: all of them logged or dropped */
	assert_int_equal(cnt.logged + cnt.dropped + cnt.too_big, 2 * N);
	assert_true(cnt.logged > 0);
	assert_true(st.st_size > 0);
}

static void filters_keep_other_queries_out(void **state)
{
	(void)state;
	char path[] = "/tmp/srvd-dnstap-filter-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char *zones[] = {"other.example"};
	conf_dnstap_t c = {.file = path, .zones = zones, .n_zones = 1};
	dt_out_t *o = NULL;
	assert_int_equal(dt_out_new(&c, 1, NULL, NULL, &o), 0);
	uint8_t q[512];
	size_t qlen = make_query(q);
	srvd_query_t sq = {.wire = q, .len = qlen, .transport = SRVD_UDP};
	dt_log(dt_out_worker(o, 0), &sq, NULL, q, qlen);
	sq.len = 11; /* no question: never logged with a filter */
	dt_log(dt_out_worker(o, 0), &sq, NULL, q, qlen);
	dt_counts_t cnt;
	dt_worker_counts(dt_out_worker(o, 0), &cnt);
	assert_int_equal(cnt.logged + cnt.dropped, 0);
	dt_out_free(o);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(logs_without_allocating),
	    cmocka_unit_test(filters_keep_other_queries_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
