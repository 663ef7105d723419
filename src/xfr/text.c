/* Zone version -> master file, so that a zone received by transfer is on
 * disk and a restart serves it at once, before the first refresh.
 *
 * ldns prints each RR (this is never on the query path); a record ldns
 * cannot take apart is written in the RFC 3597 generic form, which our
 * loader reads back byte for byte. Names are absolute and every line has
 * its TTL, so the file needs no $ORIGIN or $TTL.
 */
#include "common/ldns.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "wire/dns.h"
#include "wire/name.h"
#include "xfr/xfr.h"

/* RFC 3597 3: "owner TTL IN TYPEn \# len hex". */
static int write_generic(FILE *fp, const xfr_rr_t *rr)
{
	char owner[1010];
	if (wire_name_to_str(rr->owner, owner, sizeof(owner)) < 0)
		return SRVD_EINVAL;
	fprintf(fp, "%s\t%u\tIN\tTYPE%u\t\\# %u", owner, rr->ttl, rr->type, rr->rdlen);
	if (rr->rdlen)
		fputc(' ', fp);
	for (uint16_t i = 0; i < rr->rdlen; i++)
		fprintf(fp, "%02x", rr->rdata[i]);
	fputc('\n', fp);
	return 0;
}

/* Does the text parse back (as our loader parses it) to the same record? */
static bool reads_back(const char *s, const xfr_rr_t *rr)
{
	ldns_rr *back = NULL;
	if (ldns_rr_new_frm_str(&back, s, 0, NULL, NULL) != LDNS_STATUS_OK)
		return false;
	bool same =
	    ldns_rr_get_type(back) == rr->type && ldns_rr_ttl(back) == rr->ttl &&
	    ldns_rdf_size(ldns_rr_owner(back)) == wire_name_len(rr->owner) &&
	    memcmp(ldns_rdf_data(ldns_rr_owner(back)), rr->owner, wire_name_len(rr->owner)) == 0;
	size_t off = 0;
	for (size_t i = 0; same && i < ldns_rr_rd_count(back); i++) {
		const ldns_rdf *f = ldns_rr_rdf(back, i);
		size_t n = ldns_rdf_size(f);
		same = off + n <= rr->rdlen && memcmp(rr->rdata + off, ldns_rdf_data(f), n) == 0;
		off += n;
	}
	ldns_rr_free(back);
	return same && off == rr->rdlen;
}

static int write_rr(FILE *fp, const xfr_rr_t *rr, uint8_t *buf)
{
	size_t olen = wire_name_len(rr->owner);
	memcpy(buf, rr->owner, olen);
	uint8_t *p = buf + olen;
	put_u16(p, rr->type);
	put_u16(p + 2, DNS_C_IN);
	put_u32(p + 4, rr->ttl);
	put_u16(p + 8, rr->rdlen);
	memcpy(p + 10, rr->rdata, rr->rdlen);
	size_t len = olen + 10 + rr->rdlen, pos = 0;
	ldns_rr *lrr = NULL;
	char *s = NULL;
	if (ldns_wire2rr(&lrr, buf, len, &pos, LDNS_SECTION_ANSWER) == LDNS_STATUS_OK && pos == len)
		s = ldns_rr2str(lrr);
	ldns_rr_free(lrr);
	/* What ldns cannot print faithfully goes out in the generic form. */
	if (!s || !reads_back(s, rr)) {
		free(s);
		return write_generic(fp, rr);
	}
	fputs(s, fp);
	free(s);
	return 0;
}

int xfr_zone_write(const zone_t *z, FILE *fp)
{
	if (!z || !fp)
		return SRVD_EINVAL;
	uint8_t *buf = malloc(255 + 10 + 65535);
	if (!buf)
		return SRVD_ENOMEM;
	char origin[1010];
	wire_name_to_str(z->origin, origin, sizeof(origin));
	fprintf(fp, "; %s serial %u, %zu records, written by srvd\n", origin, z->serial,
	        z->n_records);
	xfr_rr_t rr;
	xfr_zone_soa(z, &rr);
	int rc = write_rr(fp, &rr, buf);
	xfr_iter_t it;
	xfr_iter_init(&it, z);
	while (rc == 0 && xfr_iter_next(&it, &rr))
		if (rr.type != DNS_T_SOA)
			rc = write_rr(fp, &rr, buf);
	free(buf);
	if (rc == 0 && ferror(fp))
		rc = SRVD_EIO;
	return rc;
}

int xfr_zone_save(const zone_t *z, const char *path)
{
	if (!z || !path)
		return SRVD_EINVAL;
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp)
		return SRVD_ENOMEM;
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int rc = SRVD_EIO;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!fp) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	rc = xfr_zone_write(z, fp);
	if (rc == 0 && (fflush(fp) != 0 || fsync(fd) != 0))
		rc = SRVD_EIO;
	if (fclose(fp) != 0 && rc == 0)
		rc = SRVD_EIO;
	if (rc)
		goto fail;
	if (rename(tmp, path) != 0) {
		rc = SRVD_EIO;
		goto fail;
	}
	free(tmp);
	return file_sync_dir(path);
fail:
	unlink(tmp);
	free(tmp);
	return rc;
}
