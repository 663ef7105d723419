/* Zone-file text (text.c): logical lines, and words for a record line
 * that ldns refused or that it would read wrongly. */
#ifndef SRVD_LOADER_TEXT_H
#define SRVD_LOADER_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Reads the next logical line (parentheses joined, comments dropped) into
 * buf, NUL-terminated. *line counts physical lines read so far; *start is
 * the line to blame. Returns 0 at the end of the file, else 1 with *err
 * NULL, or 1 with *err saying why the line must be skipped (nested or
 * unbalanced parentheses, an unterminated string), or -1 with *err when
 * the rest of the file can't be read as lines (a line too long). */
int loader_next_line(FILE *fp, unsigned *line, char *buf, size_t cap, unsigned *start,
                     const char **err);

/* 0 when the TTL of a record line (if it has one) is well formed, else -1
 * with the reason in msg. ldns reads "1w2x" as 1w2 and says nothing. */
int loader_check_head(const char *line, char *msg, size_t cap);

/* true with a message naming the field and why, for a line ldns refused;
 * false when it finds nothing better to say than ldns. */
bool loader_explain(const char *line, char *msg, size_t cap);

#endif
