/* srvd-checkzone: load a zone file with srvd's own loader and checks, print
 * every finding as file:line, and exit non-zero on errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bin/tune.h"
#include "srvd/srvd.h"

enum { DIAG_PRINT_MAX = 100 }; /* a broken generator can produce millions */

static void print_diag(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                       unsigned line, const char *msg)
{
	unsigned *printed = ctx;
	if (++*printed > DIAG_PRINT_MAX) {
		if (*printed == DIAG_PRINT_MAX + 1)
			fprintf(stderr, "%s: more findings not shown\n", zone);
		return;
	}
	const char *lvl = level == SRVD_DIAG_ERROR ? "error" : "warning";
	if (file && line)
		fprintf(stderr, "%s:%u: %s: %s\n", file, line, lvl, msg);
	else if (file)
		fprintf(stderr, "%s: %s: %s\n", file, lvl, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", zone, lvl, msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: srvd-checkzone ZONE-NAME FILE\n"
	           "Check a zone file as srvd would load it. Exit 0 when it loads,\n"
	           "1 when it has errors, 2 on usage errors.\n");
}

int main(int argc, char **argv)
{
	bin_tune_malloc();
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("srvd-checkzone %s\n", SRVD_VERSION_STRING);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	srvd_zone_src_t src = {.origin = argv[1], .path = argv[2]};
	unsigned printed = 0;
	srvd_diag_t diag = {.fn = print_diag, .ctx = &printed};
	srvd_zone_t *z = NULL;
	int rc = srvd_zone_load(&src, &z, &diag);
	if (rc) {
		fprintf(stderr, "%s: not loaded (%u errors, %u warnings): %s\n", argv[1],
		        diag.errors, diag.warnings, srvd_strerror(rc));
		return 1;
	}
	srvd_zone_lint(z, &diag);
	srvd_zone_info_t info;
	srvd_zone_info(z, &info);
	printf("%s: serial %u, %zu records, %zu names, %zu bytes (%.1f per record), %u warnings\n",
	       info.origin, info.serial, info.records, info.names, info.memory,
	       info.records ? (double)info.memory / (double)info.records : 0.0, diag.warnings);
	srvd_zone_unref(z);
	return 0;
}
