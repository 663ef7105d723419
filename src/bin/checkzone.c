/* srvd-checkzone: load a zone file with srvd's own loader and checks, run
 * the lint (what breaks Matrix federation while being valid DNS), and print
 * every finding as FILE:LINE, for people or (--format json) for tools.
 *
 * Exit status: 0 when the zone loads, 1 when it has errors (or, with
 * --strict, warnings: so that CI can gate on a clean zone), 2 on usage
 * errors. The zone is loaded with its lines kept (loader_load_lines), which
 * the daemon does not pay for, so that lint findings carry them too.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bin/tune.h"
#include "loader/loader.h"
#include "srvd/srvd.h"

enum { DIAG_PRINT_MAX = 100 }; /* a broken generator can produce millions */
enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 };

typedef struct check {
	bool json;
	unsigned printed;
} check_t;

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(check_t *c, const char *lvl, const char *file, unsigned line,
                       const char *msg)
{
	printf("%s\n    {\"level\": \"%s\", \"file\": ", c->printed > 1 ? "," : "", lvl);
	if (file)
		json_str(file);
	else
		printf("null");
	printf(", \"line\": %u, \"message\": ", line);
	json_str(msg);
	putchar('}');
}

static void print_diag(void *ctx, srvd_diag_level_t level, const char *zone, const char *file,
                       unsigned line, const char *msg)
{
	check_t *c = ctx;
	if (++c->printed > DIAG_PRINT_MAX) {
		if (c->printed == DIAG_PRINT_MAX + 1 && !c->json)
			fprintf(stderr, "%s: more findings not shown\n", zone);
		return;
	}
	const char *lvl = level == SRVD_DIAG_ERROR ? "error" : "warning";
	if (c->json)
		print_json(c, lvl, file, line, msg);
	else if (file && line)
		fprintf(stderr, "%s:%u: %s: %s\n", file, line, lvl, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", file ? file : zone, lvl, msg);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: srvd-checkzone [--strict] [--format text|json] ZONE-NAME FILE\n"
	           "Check a zone file as srvd would load it, then lint it for SRV and\n"
	           "Matrix federation mistakes. Findings are FILE:LINE: level: message.\n"
	           "\n"
	           "  --strict          exit 1 on warnings too\n"
	           "  --format FORMAT   text (default, findings on stderr) or json (stdout)\n"
	           "  -h, --help        this text\n"
	           "      --version     print the version\n"
	           "\n"
	           "Exit 0 when the zone loads, 1 when it has errors (or warnings with\n"
	           "--strict), 2 on usage errors. See srvd-checkzone(1).\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, check_t *c, bool *strict)
{
	static const struct option opts[] = {
	    {"strict", no_argument, NULL, 's'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': *strict = true; break;
		case 'f':
			if (strcmp(optarg, "json") && strcmp(optarg, "text")) {
				fprintf(stderr,
				        "srvd-checkzone: --format: text or json, not '%s'\n",
				        optarg);
				return EXIT_USAGE;
			}
			c->json = strcmp(optarg, "json") == 0;
			break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("srvd-checkzone %s\n", SRVD_VERSION_STRING); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

static void print_summary(const check_t *c, const srvd_zone_t *z, const srvd_diag_t *diag,
                          const char *name, int rc)
{
	srvd_zone_info_t info = {0};
	if (z)
		srvd_zone_info(z, &info);
	if (c->json) {
		printf("\n  ],\n  \"zone\": ");
		json_str(z ? info.origin : name);
		printf(",\n  \"loaded\": %s,\n  \"errors\": %u,\n  \"warnings\": %u",
		       z ? "true" : "false", diag->errors, diag->warnings);
		if (z)
			printf(",\n  \"serial\": %u,\n  \"records\": %zu,\n  \"names\": %zu",
			       info.serial, info.records, info.names);
		printf("\n}\n");
	} else if (z) {
		printf("%s: serial %u, %zu records, %zu names, %zu bytes (%.1f per record), %u "
		       "warnings\n",
		       info.origin, info.serial, info.records, info.names, info.memory,
		       info.records ? (double)info.memory / (double)info.records : 0.0,
		       diag->warnings);
	} else {
		fprintf(stderr, "%s: not loaded (%u errors, %u warnings): %s\n", name, diag->errors,
		        diag->warnings, srvd_strerror(rc));
	}
}

int main(int argc, char **argv)
{
	bin_tune_malloc();
	check_t c = {0};
	bool strict = false;
	int rc = parse_args(argc, argv, &c, &strict);
	if (rc >= 0)
		return rc;
	srvd_zone_src_t src = {.origin = argv[optind], .path = argv[optind + 1]};
	srvd_diag_t diag = {.fn = print_diag, .ctx = &c};
	zone_t *z = NULL;
	if (c.json)
		printf("{\n  \"findings\": [");
	rc = loader_load_lines(&src, &diag, &z);
	if (rc == 0)
		srvd_zone_lint(z, &diag);
	print_summary(&c, z, &diag, src.origin, rc);
	srvd_zone_unref(z);
	if (rc)
		return EXIT_FINDINGS;
	return strict && diag.warnings ? EXIT_FINDINGS : EXIT_OK;
}
