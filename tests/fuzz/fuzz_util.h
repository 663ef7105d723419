/* Helpers shared by the fuzz targets: temporary files, query encoding, and
 * a structural check of every response the library produces.
 *
 * The check turns the fuzzers from crash finders into correctness finders:
 * a response must parse back to exactly its length, echo the ID and the
 * question bytes, stay within the UDP size the client may receive, and carry
 * at most one OPT, in the additional section. Any violation aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef SRVD_TESTS_FUZZ_UTIL_H
#define SRVD_TESTS_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "srvd/srvd.h"
#include "wire/name.h"

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A private directory for this process, made once. */
static inline const char *fuzz_tmpdir(void)
{
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/srvd-fuzz-XXXXXX");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
	}
	return dir;
}

/* Write n bytes to dir/name; the full path goes to path[cap]. */
static inline void fuzz_write_file(const char *name, const void *data, size_t n, char *path,
                                   size_t cap)
{
	snprintf(path, cap, "%s/%s", fuzz_tmpdir(), name);
	FILE *f = fopen(path, "wb");
	if (!f || (n && fwrite(data, 1, n, f) != n)) {
		perror(path);
		abort();
	}
	fclose(f);
}

/* Encode a query: header (id, flags), one question for a presentation name,
 * and an OPT record when payload is not 0. Returns the length. */
static inline size_t fuzz_make_query(uint8_t *buf, size_t cap, uint16_t id, uint16_t flags,
                                     const char *name, uint16_t qtype, uint16_t qclass,
                                     uint16_t payload)
{
	uint8_t wname[255];
	size_t nlen;
	if (wire_name_from_str(name, wname, &nlen) != 0)
		return 0;
	wr_t w;
	wr_init(&w, buf, cap);
	wr_u16(&w, id);
	wr_u16(&w, flags);
	wr_u16(&w, 1);
	wr_u16(&w, 0);
	wr_u16(&w, 0);
	wr_u16(&w, payload ? 1 : 0);
	wr_bytes(&w, wname, nlen);
	wr_u16(&w, qtype);
	wr_u16(&w, qclass);
	if (payload) {
		wr_u8(&w, 0);
		wr_u16(&w, 41);
		wr_u16(&w, payload);
		wr_u32(&w, 0);
		wr_u16(&w, 0);
	}
	return w.err ? 0 : w.pos;
}

typedef struct fuzz_msg_info {
	uint16_t counts[4];
	unsigned opt;         /* OPT records seen */
	uint16_t first_type;  /* type of the first answer RR */
	uint16_t last_type;   /* type of the last answer RR */
	unsigned soa_answers; /* SOA records in the answer section */
} fuzz_msg_info_t;

/* Walk a message completely; false when it does not parse to exactly n. */
static inline bool fuzz_walk(const uint8_t *msg, size_t n, fuzz_msg_info_t *info)
{
	memset(info, 0, sizeof(*info));
	if (n < 12)
		return false;
	for (int i = 0; i < 4; i++)
		info->counts[i] = get_u16(msg + 4 + 2 * i);
	rd_t r;
	rd_init(&r, msg, n);
	rd_seek(&r, 12);
	uint8_t name[255];
	for (uint16_t i = 0; i < info->counts[0]; i++) {
		wire_name_read(&r, true, name);
		rd_skip(&r, 4);
	}
	for (int sec = 1; sec < 4; sec++) {
		for (uint16_t i = 0; i < info->counts[sec]; i++) {
			wire_name_read(&r, true, name);
			uint16_t type = rd_u16(&r);
			rd_skip(&r, 6);
			uint16_t rdlen = rd_u16(&r);
			rd_skip(&r, rdlen);
			if (r.err)
				return false;
			if (type == 41) {
				if (sec != 3)
					return false;
				info->opt++;
			}
			if (sec == 1) {
				if (i == 0)
					info->first_type = type;
				info->last_type = type;
				info->soa_answers += type == 6;
			}
		}
	}
	return !r.err && r.pos == n;
}

/* Length of the question section of a query with QDCOUNT 1, or 0. */
static inline size_t fuzz_question_len(const uint8_t *q, size_t n)
{
	if (n < 12 || get_u16(q + 4) != 1)
		return 0;
	rd_t r;
	rd_init(&r, q, n);
	rd_seek(&r, 12);
	uint8_t name[255];
	wire_name_read(&r, false, name);
	rd_skip(&r, 4);
	return r.err ? 0 : r.pos - 12;
}

/* Invariants of any response of srvd_respond to query q. */
static inline void fuzz_check_response(const uint8_t *q, size_t qn, const uint8_t *resp, size_t rn,
                                       size_t cap, srvd_transport_t t, bool tcp_fits)
{
	fuzz_msg_info_t info;
	FUZZ_CHECK(rn >= 12 && rn <= cap);
	FUZZ_CHECK(fuzz_walk(resp, rn, &info));
	FUZZ_CHECK(memcmp(resp, q, 2) == 0); /* ID echoed */
	FUZZ_CHECK((resp[2] & 0x80) != 0);   /* QR */
	FUZZ_CHECK((resp[3] & 0x80) == 0);   /* RA: we do not recurse */
	FUZZ_CHECK(info.opt <= 1);           /* RFC 6891 6.1.1 */
	FUZZ_CHECK(info.counts[0] <= 1);
	if (t == SRVD_UDP) {
		FUZZ_CHECK(rn <= 1232); /* our advertised payload */
		if (!info.opt)
			FUZZ_CHECK(rn <= 512); /* RFC 1035 4.2.1 */
	} else if (tcp_fits) {
		FUZZ_CHECK((resp[2] & 0x02) == 0); /* the caller's zones fit in 64 KiB */
	}
	if (info.counts[0] == 1) {
		/* The question is echoed byte for byte (case included). */
		size_t ql = fuzz_question_len(q, qn);
		FUZZ_CHECK(ql > 0 && 12 + ql <= rn);
		FUZZ_CHECK(memcmp(q + 12, resp + 12, ql) == 0);
	}
}

#endif
