/* Zone-file loader: RFC 1035 master files -> zone builder, through ldns.
 *
 * ldns parses the records; this file owns the directives, because ldns
 * reports $INCLUDE without its argument: we read one logical line at a time
 * (text.c joins parentheses and strips comments), handle $ORIGIN, $TTL and
 * $INCLUDE ourselves, and hand every other line to ldns_rr_new_frm_str().
 * That also gives every diagnostic its file and starting line. Parsing goes
 * on after an error so that the caller gets every finding in one run.
 *
 * Only regular files are read, and at most LOADER_BYTES_MAX bytes in one
 * load: a FIFO or a device (/dev/zero) would block the load or never end.
 */
#include "common/ldns.h"
#include <errno.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/file.h"
#include "loader/loader.h"
#include "loader/text.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "zone/zone.h"

enum { INCLUDE_DEPTH_MAX = 8 };

typedef struct path_list {
	struct path_list *next;
	char path[];
} path_list_t;

typedef struct loader {
	zone_builder_t *b;
	path_list_t *paths; /* file names that diagnostics point at */
	uint32_t ttl;       /* $TTL, or the default */
	bool ttl_set;
	ldns_rdf *prev; /* previous owner, for lines that start with blanks */
	uint64_t bytes; /* of the files opened so far, against LOADER_BYTES_MAX */
	char line[LDNS_MAX_LINELEN + 1];
} loader_t;

static const char *keep_path(loader_t *l, const char *path)
{
	size_t n = strlen(path) + 1;
	path_list_t *p = malloc(sizeof(*p) + n);
	if (!p)
		return NULL;
	memcpy(p->path, path, n);
	p->next = l->paths;
	l->paths = p;
	return p->path;
}

static int load_file(loader_t *l, const char *path, ldns_rdf *origin, int depth, char *why,
                     size_t cap);

/* "$INCLUDE file [origin]": the file name is relative to the including file. */
static void directive_include(loader_t *l, const char *file, int line, char *args, ldns_rdf *origin,
                              int depth)
{
	char *save = NULL;
	char *name = strtok_r(args, " \t", &save);
	char *org = strtok_r(NULL, " \t", &save);
	if (!name) {
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
		                  "$INCLUDE needs a file name");
		return;
	}
	char full[4096];
	const char *slash = strrchr(file, '/');
	if (name[0] == '/' || !slash)
		snprintf(full, sizeof(full), "%s", name);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - file), file, name);
	ldns_rdf *inc_origin = ldns_rdf_clone(origin);
	if (org) {
		ldns_rdf_deep_free(inc_origin);
		inc_origin = NULL;
		if (ldns_str2rdf_dname(&inc_origin, org) != LDNS_STATUS_OK) {
			zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
			                  "$INCLUDE: bad origin %s", org);
			return;
		}
	}
	char why[256];
	if (depth >= INCLUDE_DEPTH_MAX)
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
		                  "$INCLUDE nested more than %d deep", INCLUDE_DEPTH_MAX);
	else if (load_file(l, full, inc_origin, depth + 1, why, sizeof(why)) != 0)
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line, "$INCLUDE %s: %s",
		                  full, why);
	ldns_rdf_deep_free(inc_origin);
}

static void directive_origin(loader_t *l, const char *file, int line, char *arg, ldns_rdf **origin)
{
	char *save = NULL;
	char *tok = strtok_r(arg, " \t", &save);
	ldns_rdf *o = NULL;
	size_t n = tok ? strlen(tok) : 0;
	if (!tok || tok[n - 1] != '.' || ldns_str2rdf_dname(&o, tok) != LDNS_STATUS_OK) {
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
		                  "$ORIGIN needs an absolute name");
		return;
	}
	ldns_rdf_deep_free(*origin);
	*origin = o;
}

static void directive_ttl(loader_t *l, const char *file, int line, char *arg)
{
	char *save = NULL;
	char *tok = strtok_r(arg, " \t", &save);
	const char *end = NULL;
	uint32_t ttl = tok ? ldns_str2period(tok, &end) : 0;
	if (!tok || *end) {
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line, "$TTL needs a TTL");
		return;
	}
	l->ttl = ttl;
	l->ttl_set = true;
}

static void add_rr(loader_t *l, const char *file, int line, const ldns_rr *rr)
{
	/* ldns turns "NAME WORD" with an unknown WORD into TYPE0 without RDATA;
	 * type 0 is reserved (RFC 6895 3.1), so this is a misspelt type. */
	if (ldns_rr_get_type(rr) == 0) {
		char msg[1024];
		if (!loader_explain(l->line, msg, sizeof(msg)))
			snprintf(msg, sizeof(msg), "unknown record type or missing RDATA");
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line, "%s", msg);
		return;
	}
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
		                  "only class IN is served");
		return;
	}
	uint8_t rdata[65535];
	size_t len = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		size_t n = ldns_rdf_size(f);
		if (len + n > sizeof(rdata)) {
			zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
			                  "record data longer than 65535 bytes");
			return;
		}
		memcpy(rdata + len, ldns_rdf_data(f), n);
		len += n;
	}
	const uint8_t *owner = ldns_rdf_data(ldns_rr_owner(rr));
	zone_builder_add(l->b, owner, ldns_rr_get_type(rr), ldns_rr_ttl(rr), rdata, (uint16_t)len,
	                 file, (unsigned)line);
}

static void parse_line(loader_t *l, const char *file, int line, ldns_rdf **origin, int depth)
{
	char *s = l->line;
	if (s[0] == '$') {
		char *save = NULL;
		char *word = strtok_r(s, " \t", &save);
		char *rest = save ? save : (char *)"";
		if (strcasecmp(word, "$INCLUDE") == 0)
			directive_include(l, file, line, rest, *origin, depth);
		else if (strcasecmp(word, "$ORIGIN") == 0)
			directive_origin(l, file, line, rest, origin);
		else if (strcasecmp(word, "$TTL") == 0)
			directive_ttl(l, file, line, rest);
		else
			zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line,
			                  "unknown directive %s", word);
		return;
	}
	char msg[1024];
	if (loader_check_head(s, msg, sizeof(msg))) {
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line, "%s", msg);
		return;
	}
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, s, l->ttl, *origin, &l->prev);
	if (st != LDNS_STATUS_OK) {
		if (!loader_explain(s, msg, sizeof(msg)))
			snprintf(msg, sizeof(msg), "%s", ldns_get_errorstr_by_id(st));
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, (unsigned)line, "%s", msg);
		return;
	}
	add_rr(l, file, line, rr);
	ldns_rr_free(rr);
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t')
			return false;
	return true;
}

/* Reads one file into the builder. A file that can't be read is reported by
 * the caller, which knows the line to blame (the $INCLUDE), from why. */
static int load_file(loader_t *l, const char *path, ldns_rdf *origin_in, int depth, char *why,
                     size_t cap)
{
	int fd;
	uint64_t size;
	int rc = file_open_regular(path, LOADER_BYTES_MAX, why, cap, &fd, &size);
	if (rc)
		return rc;
	if (size > LOADER_BYTES_MAX - l->bytes) {
		/* The $INCLUDEs of one zone count together: a file that
		 * includes itself 8 deep must not read 8 GiB. */
		snprintf(why, cap,
		         "%llu bytes after %llu in this zone's other files, over the limit of %llu "
		         "for one zone: refused",
		         (unsigned long long)size, (unsigned long long)l->bytes,
		         (unsigned long long)LOADER_BYTES_MAX);
		close(fd);
		return SRVD_ELIMIT;
	}
	l->bytes += size;
	FILE *fp = fdopen(fd, "r");
	if (!fp) {
		snprintf(why, cap, "cannot open: %s", strerror(errno));
		close(fd);
		return SRVD_EIO;
	}
	/* ldns reads a character at a time with getc. Once the process has
	 * threads (every reload does), glibc locks the FILE on each call, a
	 * quarter of a reload's time; this FILE is ours and one thread's. */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	const char *file = keep_path(l, path);
	ldns_rdf *origin = ldns_rdf_clone(origin_in);
	if (!file || !origin) {
		fclose(fp);
		ldns_rdf_deep_free(origin);
		snprintf(why, cap, "out of memory");
		return SRVD_ENOMEM;
	}
	unsigned line_nr = 1, start;
	const char *bad;
	int more;
	while ((more = loader_next_line(fp, &line_nr, l->line, sizeof(l->line), &start, &bad))) {
		if (bad)
			zone_builder_diag(l->b, SRVD_DIAG_ERROR, file, start, "%s", bad);
		else if (!blank(l->line))
			parse_line(l, file, (int)start, &origin, depth);
		if (more < 0)
			break;
	}
	ldns_rdf_deep_free(origin);
	fclose(fp);
	return 0;
}

/* The version's file list (srvd_zone_file): l->paths in reverse, which is
 * the order the files were opened, without repeats, copied into z's arena. */
static int keep_files(const loader_t *l, zone_t *z)
{
	size_t n = 0;
	for (const path_list_t *p = l->paths; p; p = p->next)
		n++;
	const char **v = n ? arena_alloc(&z->arena, n * sizeof(*v)) : NULL;
	if (n && !v)
		return SRVD_ENOMEM;
	size_t i = n, k = 0;
	for (const path_list_t *p = l->paths; p; p = p->next)
		v[--i] = p->path;
	for (i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = strcmp(v[j], v[i]) == 0;
		if (seen)
			continue;
		v[k] = arena_memdup(&z->arena, v[i], strlen(v[i]) + 1);
		if (!v[k])
			return SRVD_ENOMEM;
		k++;
	}
	z->files = v;
	z->n_files = k;
	return 0;
}

static int load(const srvd_zone_src_t *src, srvd_diag_t *diag, bool keep_lines, zone_t **out)
{
	uint8_t origin[255];
	size_t olen;
	char ostr[1024];
	snprintf(ostr, sizeof(ostr), "%s", src->origin);
	if (wire_name_from_str(ostr, origin, &olen) != 0)
		return SRVD_EINVAL;
	loader_t *l = calloc(1, sizeof(*l));
	if (!l)
		return SRVD_ENOMEM;
	l->ttl = 3600;
	int rc = zone_builder_new(origin, diag, &l->b);
	if (rc == 0 && keep_lines)
		zone_builder_keep_lines(l->b);
	ldns_rdf *org = NULL;
	if (rc == 0) {
		size_t n = strlen(ostr);
		if (n == 0 || ostr[n - 1] != '.')
			strncat(ostr, ".", sizeof(ostr) - n - 1);
		if (ldns_str2rdf_dname(&org, ostr) != LDNS_STATUS_OK)
			rc = SRVD_EINVAL;
	}
	char why[256];
	int r = rc == 0 ? load_file(l, src->path, org, 0, why, sizeof(why)) : 0;
	if (r && r != SRVD_ENOMEM) /* one error: no "no SOA" after "cannot open" */
		zone_builder_diag(l->b, SRVD_DIAG_ERROR, src->path, 0, "%s", why);
	if (r)
		rc = r == SRVD_ENOMEM ? r : SRVD_EZONE;
	zone_t *z = NULL;
	if (rc == 0) {
		rc = zone_builder_finish(l->b, &z);
		l->b = NULL;
	}
	if (rc == 0 && (rc = keep_files(l, z)) != 0) {
		srvd_zone_unref(z);
		z = NULL;
	}
	zone_builder_free(l->b);
	ldns_rdf_deep_free(org);
	ldns_rdf_deep_free(l->prev);
	while (l->paths) {
		path_list_t *p = l->paths->next;
		free(l->paths);
		l->paths = p;
	}
	free(l);
	if (rc == 0)
		*out = z;
	return rc;
}

int loader_load(const srvd_zone_src_t *src, srvd_diag_t *diag, zone_t **out)
{
	return load(src, diag, false, out);
}

int loader_load_lines(const srvd_zone_src_t *src, srvd_diag_t *diag, zone_t **out)
{
	return load(src, diag, true, out);
}
