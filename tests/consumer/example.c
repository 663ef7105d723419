/* A consumer of libsrvd that sees nothing but include/srvd/srvd.h and the
 * shared library: load zones/example.com.zone, answer the Matrix
 * federation lookup "_matrix-fed._tcp.example.com SRV" and check the reply.
 *
 * Exits 0 only when the answer is NOERROR with one SRV record (ANCOUNT 1)
 * and the target's addresses in the additional section (ARCOUNT >= 2).
 */
#include <stdio.h>
#include <string.h>

#include <srvd/srvd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "zones/example.com.zone";
	srvd_zone_src_t src = {.origin = "example.com", .path = path};
	srvd_diag_t diag = {0};
	srvd_zoneset_t *zs = NULL;
	int rc = srvd_zoneset_load(&src, 1, &zs, &diag);
	if (rc != SRVD_OK) {
		fprintf(stderr, "load %s: %s (%u errors)\n", path, srvd_strerror(rc), diag.errors);
		return 1;
	}
	srvd_responder_t *r = NULL;
	rc = srvd_responder_new(NULL, &r);
	if (rc != SRVD_OK) {
		fprintf(stderr, "responder: %s\n", srvd_strerror(rc));
		srvd_zoneset_unref(zs);
		return 1;
	}
	/* id 0xBEEF, RD, one question, no EDNS */
	static const unsigned char query[] = {
	    0xBE, 0xEF, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    11,   '_',  'm',  'a',  't',  'r',  'i',  'x',  '-',  'f',  'e',  'd',
	    4,    '_',  't',  'c',  'p',  7,    'e',  'x',  'a',  'm',  'p',  'l',
	    'e',  3,    'c',  'o',  'm',  0,    0x00, 0x21, 0x00, 0x01};
	srvd_query_t q = {.wire = query, .len = sizeof(query), .transport = SRVD_UDP};
	unsigned char resp[512];
	size_t len = 0;
	rc = srvd_respond(r, zs, &q, resp, sizeof(resp), &len);
	srvd_responder_free(r);
	srvd_zoneset_unref(zs);
	if (rc != SRVD_OK || len < 12) {
		fprintf(stderr, "srvd_respond: %s\n", srvd_strerror(rc));
		return 1;
	}
	unsigned rcode = resp[3] & 0x0F;
	unsigned an = (unsigned)(resp[6] << 8 | resp[7]);
	unsigned ar = (unsigned)(resp[10] << 8 | resp[11]);
	printf("answer: %zu bytes, rcode %u, ANCOUNT %u, ARCOUNT %u\n", len, rcode, an, ar);
	if (resp[0] != 0xBE || resp[1] != 0xEF || rcode != 0 || an != 1 || ar < 2)
		return 1;
	return 0;
}
