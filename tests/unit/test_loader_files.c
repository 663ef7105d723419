/* Unit tests for what the loader agrees to read: only regular files, and at
 * most LOADER_BYTES_MAX bytes in one load. A FIFO (with no writer, so a
 * blocking open would wait forever), /dev/zero (never ends) and a sparse
 * file over the limit must each be refused at once with the file, or the
 * $INCLUDE line, in the finding. Every test runs under alarm(): a
 * regression fails with a message instead of hanging ctest.
 */
#include "common/ldns.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/loader.h"
#include "test_helpers.h"

enum { HANG_SECONDS = 10 };

static char g_dir[64];

typedef struct finding {
	char file[256];
	unsigned line;
	char msg[512];
} finding_t;

typedef struct findings {
	unsigned n;
	finding_t f[8];
} findings_t;

static void collect(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                    unsigned line, const char *msg)
{
	(void)level;
	(void)zone;
	findings_t *fs = ctx;
	if (fs->n == 8)
		return;
	finding_t *f = &fs->f[fs->n++];
	snprintf(f->file, sizeof(f->file), "%s", file ? file : "");
	f->line = line;
	snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "test_loader_files: the load hung (blocked on a FIFO or "
	                          "reading a device or a huge file)\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

static int setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/srvd-test-loader-files-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	signal(SIGALRM, on_alarm);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *base_zone = "$TTL 3600\n"
                               "@ IN SOA ns1 hostmaster 7 7200 3600 1209600 300\n"
                               "  IN NS ns1\n"
                               "ns1 IN A 192.0.2.53\n";

static void path_in_dir(const char *name, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", g_dir, name);
}

static void write_file(const char *name, const char *text, char *path, size_t cap)
{
	path_in_dir(name, path, cap);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_fifo(const char *name, char *path, size_t cap)
{
	path_in_dir(name, path, cap);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
}

/* Loads path (as zone example.com) under alarm(); the load must fail, and
 * the refusal must be the first finding (a refused master file also leaves
 * the zone without SOA and NS). */
static void load_refused(const char *path, const char *snapshot, findings_t *fs)
{
	srvd_diag_t d = {.fn = collect, .ctx = fs};
	srvd_zone_src_t src = {.origin = "example.com", .path = path, .snapshot = snapshot};
	srvd_zone_t *z = NULL;
	alarm(HANG_SECONDS);
	int rc = srvd_zone_load(&src, &z, &d);
	alarm(0);
	if (rc == 0) {
		srvd_zone_unref(z);
		fail_msg("%s loaded; want it refused", path);
	}
	assert_int_equal(rc, SRVD_EZONE);
	assert_true(d.errors >= 1);
	assert_true(fs->n >= 1);
}

static void fifo_zone_file_is_refused(void **state)
{
	char path[256];
	make_fifo("fifo.zone", path, sizeof(path));
	findings_t fs = {0};
	load_refused(path, NULL, &fs);
	assert_string_equal(fs.f[0].file, path);
	assert_int_equal(fs.f[0].line, 0);
	assert_non_null(strstr(fs.f[0].msg, "FIFO, not a regular file"));
}

static void device_zone_file_is_refused(void **state)
{
	findings_t fs = {0};
	load_refused("/dev/zero", NULL, &fs);
	assert_string_equal(fs.f[0].file, "/dev/zero");
	assert_non_null(strstr(fs.f[0].msg, "character device, not a regular file"));
}

/* The finding points at the $INCLUDE line (5) and names the included file. */
static void include_of_fifo_or_device_is_refused(void **state)
{
	static const char *const targets[] = {"inc.fifo", "/dev/zero", "/dev/urandom"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char inc[256], text[1024], path[256];
		if (targets[i][0] == '/')
			snprintf(inc, sizeof(inc), "%s", targets[i]);
		else
			make_fifo(targets[i], inc, sizeof(inc));
		snprintf(text, sizeof(text), "%s$INCLUDE %s\nwww IN A 192.0.2.80\n", base_zone,
		         targets[i]);
		write_file("inc.zone", text, path, sizeof(path));
		findings_t fs = {0};
		load_refused(path, NULL, &fs);
		assert_int_equal(fs.n, 1); /* the rest of the zone is fine */
		assert_string_equal(fs.f[0].file, path);
		assert_int_equal(fs.f[0].line, 5);
		assert_non_null(strstr(fs.f[0].msg, "$INCLUDE "));
		assert_non_null(strstr(fs.f[0].msg, inc));
		assert_non_null(strstr(fs.f[0].msg, "not a regular file"));
	}
}

/* Sparse: no disk space, but over the limit by one byte. Reading it would
 * take minutes of NULs. */
static void file_over_the_limit_is_refused(void **state)
{
	char path[256];
	path_in_dir("huge.zone", path, sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)LOADER_BYTES_MAX + 1), 0);
	close(fd);
	findings_t fs = {0};
	load_refused(path, NULL, &fs);
	assert_string_equal(fs.f[0].file, path);
	assert_non_null(strstr(fs.f[0].msg, "over the limit"));

	/* The limit is for the whole zone: a file under it is refused at its
	 * $INCLUDE when the files before it used the rest. Both are sparse.
	 * The line too long after the $INCLUDE ends the read there, before
	 * the NULs, which would take seconds. */
	char top[256], inc[256], text[LDNS_MAX_LINELEN + 1024];
	snprintf(text, sizeof(text), "%s$INCLUDE half.inc\n%0*d\n", base_zone, LDNS_MAX_LINELEN + 1,
	         0);
	write_file("half.zone", text, top, sizeof(top));
	assert_int_equal(truncate(top, (off_t)(LOADER_BYTES_MAX / 2 + 1)), 0);
	write_file("half.inc", "www IN A 192.0.2.80\n", inc, sizeof(inc));
	assert_int_equal(truncate(inc, (off_t)(LOADER_BYTES_MAX / 2)), 0);
	memset(&fs, 0, sizeof(fs));
	srvd_diag_t d = {.fn = collect, .ctx = &fs};
	srvd_zone_src_t src = {.origin = "example.com", .path = top};
	srvd_zone_t *z = NULL;
	alarm(HANG_SECONDS);
	assert_int_equal(srvd_zone_load(&src, &z, &d), SRVD_EZONE);
	alarm(0);
	assert_int_equal(fs.n, 2);
	assert_string_equal(fs.f[0].file, top);
	assert_int_equal(fs.f[0].line, 5);
	assert_non_null(strstr(fs.f[0].msg, inc));
	assert_non_null(strstr(fs.f[0].msg, "over the limit"));
	assert_int_equal(fs.f[1].line, 6);
}

/* A snapshot whose source file was replaced by a FIFO: checking the
 * snapshot must not open the FIFO for a blocking read either. */
static void snapshot_source_replaced_by_fifo_is_refused(void **state)
{
	char path[256], snap[256];
	char text[1024];
	snprintf(text, sizeof(text), "%swww IN A 192.0.2.80\n", base_zone);
	write_file("snap.zone", text, path, sizeof(path));
	path_in_dir("snap.bin", snap, sizeof(snap));
	srvd_diag_t d = {0};
	srvd_zone_src_t src = {.origin = "example.com", .path = path, .snapshot = snap};
	srvd_zone_t *z = NULL;
	assert_int_equal(srvd_zone_load(&src, &z, &d), 0);
	srvd_zone_unref(z);
	unlink(path);
	make_fifo("snap.zone", path, sizeof(path));
	findings_t fs = {0};
	load_refused(path, snap, &fs);
	assert_non_null(strstr(fs.f[0].msg, "FIFO, not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fifo_zone_file_is_refused),
	    cmocka_unit_test(device_zone_file_is_refused),
	    cmocka_unit_test(include_of_fifo_or_device_is_refused),
	    cmocka_unit_test(file_over_the_limit_is_refused),
	    cmocka_unit_test(snapshot_source_replaced_by_fifo_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
