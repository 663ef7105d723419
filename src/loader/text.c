/* Zone-file text: logical lines and what is wrong with a record line.
 *
 * Logical lines (RFC 1035 5.1) are read here, not with ldns_fget_token_l:
 * ldns returns whatever it holds at end of file, so a file that ends
 * inside parentheses (a half-written file) loaded without a word, and it
 * accepts nested parentheses. BIND and NSD refuse both; so do we, with the
 * line of the '(' that was never closed.
 *
 * ldns's own message for a record it refuses is "Syntax error, could not
 * parse the RR's rdata", whatever the field. loader_explain() finds the
 * field and says why, as NSD does ("invalid IPv4 address '192.0.2.300'").
 * It also catches what ldns accepts wrongly: a TTL like "1w2x" (ldns reads
 * the "1w2" and drops the rest) must be an error, not a week.
 */
#include "common/ldns.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "loader/text.h"

enum { TOK_MAX = 512 };

/* ---- logical lines --------------------------------------------------------------- */

typedef struct reader {
	FILE *fp;
	char *buf;
	size_t cap, len;
	unsigned *line;
	unsigned depth, open_line; /* parentheses, and where the outer one opened */
	bool quoted, too_long;
	const char *err; /* first problem of this logical line */
} reader_t;

static void put(reader_t *r, int c)
{
	if (r->len + 1 < r->cap)
		r->buf[r->len++] = (char)c;
	else
		r->too_long = true;
}

static void skip_comment(reader_t *r)
{
	int c;
	while ((c = getc_unlocked(r->fp)) != EOF && c != '\n')
		;
	if (c == '\n')
		ungetc(c, r->fp);
}

/* One character outside quotes; returns true at the end of the logical line. */
static bool plain_char(reader_t *r, int c)
{
	switch (c) {
	case ';': skip_comment(r); return false;
	case '"':
		/* A quote opens a string only at the start of a word: a '"' inside a
		 * name is a character of it (ldns reads it so, and our own saved
		 * copies write it so). */
		r->quoted = r->len == 0 || r->buf[r->len - 1] == ' ' || r->buf[r->len - 1] == '\t';
		put(r, c);
		return false;
	case '(':
		if (r->depth++ == 0)
			r->open_line = *r->line;
		else if (!r->err)
			r->err = "nested parentheses";
		put(r, ' ');
		return false;
	case ')':
		if (r->depth == 0 && !r->err)
			r->err = "')' without '('";
		r->depth -= r->depth > 0;
		put(r, ' ');
		return false;
	case '\n':
		(*r->line)++;
		if (r->depth == 0)
			return true;
		put(r, ' ');
		return false;
	case '\r': put(r, ' '); return false;
	default: put(r, c); return false;
	}
}

int loader_next_line(FILE *fp, unsigned *line, char *buf, size_t cap, unsigned *start,
                     const char **err)
{
	reader_t r = {.fp = fp, .buf = buf, .cap = cap, .line = line};
	unsigned first = *line;
	int c;
	while ((c = getc_unlocked(fp)) != EOF) {
		if (c == '\\') {
			put(&r, c);
			if ((c = getc_unlocked(fp)) == EOF)
				break;
			*line += c == '\n';
			put(&r, c);
		} else if (r.quoted) {
			r.quoted = c != '"';
			if (c == '\n') {
				r.err = r.err ? r.err : "unterminated quoted string";
				r.quoted = false;
				ungetc(c, fp);
				continue;
			}
			put(&r, c);
		} else if (plain_char(&r, c)) {
			break;
		}
		if (r.too_long)
			break; /* what follows may be a gigabyte of anything */
	}
	buf[r.len] = 0;
	*start = first;
	if (c == EOF && r.depth && !r.err) {
		*start = r.open_line;
		r.err = "unbalanced parentheses: '(' not closed before the end of the file";
	}
	if (c == EOF && r.quoted && !r.err)
		r.err = "unterminated quoted string";
	if (r.too_long) {
		*err = "line too long";
		return -1;
	}
	*err = r.err;
	return c == EOF && r.len == 0 && !r.err ? 0 : 1;
}

/* ---- what is wrong with a record line -------------------------------------------- */

/* The next blank-separated token (quotes kept together) into tok. */
static bool next_tok(const char **p, char *tok)
{
	const char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = 0;
	bool q = false;
	for (; *s && (q || (*s != ' ' && *s != '\t')); s++) {
		if (*s == '\\' && s[1] && n + 2 < TOK_MAX) {
			tok[n++] = *s++;
		} else if (*s == '"') {
			q = !q;
		}
		if (n + 1 < TOK_MAX)
			tok[n++] = *s;
	}
	tok[n] = 0;
	*p = s;
	return n > 0;
}

/* RFC 1035 TTLs, with BIND's units: groups of digits, each with a unit,
 * the last one's optional ("3600", "1h30m", "1w2d"). */
static bool ttl_ok(const char *s)
{
	while (*s) {
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
		if (!*s)
			return true;
		if (!strchr("smhdwSMHDW", *s))
			return false;
		s++;
	}
	return true;
}

static bool is_class(const char *s)
{
	return !strcasecmp(s, "IN") || !strcasecmp(s, "CH") || !strcasecmp(s, "HS") ||
	       !strcasecmp(s, "CS") || !strncasecmp(s, "CLASS", 5);
}

/* Past the owner, TTL and class: *p at the type. Writes a message and
 * returns false when the TTL is malformed. */
static bool skip_head(const char **p, char *tok, char *msg, size_t cap)
{
	const char *s = *p;
	if (*s != ' ' && *s != '\t')
		next_tok(&s, tok); /* the owner */
	for (int i = 0; i < 2; i++) {
		const char *save = s;
		if (!next_tok(&s, tok))
			break;
		if (isdigit((unsigned char)tok[0]) && !ttl_ok(tok)) {
			snprintf(msg, cap, "TTL '%s' is not a number", tok);
			return false;
		}
		if (!isdigit((unsigned char)tok[0]) && !is_class(tok)) {
			s = save;
			break;
		}
	}
	*p = s;
	return true;
}

int loader_check_head(const char *line, char *msg, size_t cap)
{
	char tok[TOK_MAX];
	return skip_head(&line, tok, msg, cap) ? 0 : -1;
}

/* Field kinds that are one token each, with a name for messages. */
static const char *field_name(ldns_rdf_type t)
{
	switch (t) {
	case LDNS_RDF_TYPE_A: return "IPv4 address";
	case LDNS_RDF_TYPE_AAAA: return "IPv6 address";
	case LDNS_RDF_TYPE_DNAME: return "domain name";
	case LDNS_RDF_TYPE_INT8: return "number (0-255)";
	case LDNS_RDF_TYPE_INT16: return "number (0-65535)";
	case LDNS_RDF_TYPE_INT32: return "number (0-4294967295)";
	case LDNS_RDF_TYPE_PERIOD: return "time value";
	case LDNS_RDF_TYPE_TYPE: return "type";
	case LDNS_RDF_TYPE_CLASS: return "class";
	case LDNS_RDF_TYPE_STR: return "string";
	default: return NULL;
	}
}

static bool int_ok(const char *s, unsigned long max)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return false;
	unsigned long v = strtoul(s, &end, 10);
	return !*end && v <= max;
}

/* ldns accepts "300" as an A address and wraps numbers that overflow;
 * these are checked by hand. */
static bool field_ok(ldns_rdf_type t, const char *tok)
{
	unsigned char a[16];
	switch (t) {
	case LDNS_RDF_TYPE_A: return inet_pton(AF_INET, tok, a) == 1;
	case LDNS_RDF_TYPE_AAAA: return inet_pton(AF_INET6, tok, a) == 1;
	case LDNS_RDF_TYPE_INT8: return int_ok(tok, 255);
	case LDNS_RDF_TYPE_INT16: return int_ok(tok, 65535);
	case LDNS_RDF_TYPE_INT32: return int_ok(tok, 4294967295UL);
	case LDNS_RDF_TYPE_PERIOD: return ttl_ok(tok);
	default: break;
	}
	ldns_rdf *f = ldns_rdf_new_frm_str(t, tok);
	bool ok = f != NULL;
	ldns_rdf_deep_free(f);
	return ok;
}

/* Each field of a type whose fields are one token each, in order. */
static bool explain_fields(const ldns_rr_descriptor *d, const char *type, const char *s, char *tok,
                           char *msg, size_t cap)
{
	size_t max = ldns_rr_descriptor_maximum(d), min = ldns_rr_descriptor_minimum(d), i = 0;
	if (ldns_rr_descriptor_field_type(d, 0) == LDNS_RDF_TYPE_STR && max > 1)
		return false; /* TXT-like: any number of strings */
	for (i = 0; i < max; i++)
		if (!field_name(ldns_rr_descriptor_field_type(d, i)))
			return false;
	for (i = 0; next_tok(&s, tok); i++) {
		if (i >= max) {
			snprintf(msg, cap, "%s record: unexpected '%s' after %zu fields", type, tok,
			         max);
			return true;
		}
		ldns_rdf_type t = ldns_rr_descriptor_field_type(d, i);
		if (!field_ok(t, tok)) {
			snprintf(msg, cap, "%s record: invalid %s '%s'", type, field_name(t), tok);
			return true;
		}
	}
	if (i < min) {
		snprintf(msg, cap, "%s record: %zu fields, expected %zu", type, i, min);
		return true;
	}
	return false;
}

bool loader_explain(const char *line, char *msg, size_t cap)
{
	char tok[TOK_MAX];
	const char *s = line;
	if (!skip_head(&s, tok, msg, cap))
		return true;
	if (!next_tok(&s, tok)) {
		snprintf(msg, cap, "missing type");
		return true;
	}
	ldns_rr_type type = ldns_get_rr_type_by_name(tok);
	if (type == 0) {
		snprintf(msg, cap, "unknown type '%s'", tok);
		return true;
	}
	char tname[64];
	snprintf(tname, sizeof(tname), "%.63s", tok);
	for (char *c = tname; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	const char *rest = s;
	if (next_tok(&rest, tok) && strcmp(tok, "\\#") == 0)
		return false; /* RFC 3597 form: ldns's word is as good as ours */
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	return d && explain_fields(d, tname, s, tok, msg, cap);
}
