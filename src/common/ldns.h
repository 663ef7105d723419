/* ldns, the one way it may be included: after <stdbool.h>.
 *
 * ldns/common.h checks whether <stdbool.h> came first and, when it did
 * not, defines _Bool as signed char and bool as _Bool. Every bool in a
 * struct of a file that includes ldns first (rd_t, wr_t, xfr_tsig_t...)
 * then has another type than in the files without ldns: undefined
 * behaviour, which link-time optimisation turned into wrong code (a
 * reader's position that did not move, so TSIG records were not found).
 * common/buf.h refuses to compile after such an include. */
#ifndef SRVD_COMMON_LDNS_H
#define SRVD_COMMON_LDNS_H

#include <stdbool.h>

#include <ldns/ldns.h>

#endif
