/* srvd_keyring_t: the TSIG keys (RFC 8945) of a server, made once from the
 * config and shared read-only by every worker. Lookups compare lower-case
 * wire names in a short array; servers hold a handful of keys, and the
 * array is sorted so that a name given twice is caught when it is made. */
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch.h"
#include "wire/name.h"

static int cmp_key(const void *a, const void *b)
{
	const xfr_tsig_key_t *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

int srvd_keyring_new(const srvd_key_src_t *keys, size_t n, srvd_keyring_t **out)
{
	if ((n && !keys) || !out)
		return SRVD_EINVAL;
	srvd_keyring_t *k = calloc(1, sizeof(*k) + n * sizeof(k->keys[0]));
	if (!k)
		return SRVD_ENOMEM;
	atomic_init(&k->refs, 1);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc =
		    xfr_tsig_key_init(keys[i].name, keys[i].algorithm, keys[i].secret, &k->keys[i]);
	k->n = n;
	if (rc == 0 && n > 1) {
		qsort(k->keys, n, sizeof(k->keys[0]), cmp_key);
		for (size_t i = 1; i < n && rc == 0; i++)
			if (cmp_key(&k->keys[i - 1], &k->keys[i]) == 0)
				rc = SRVD_EEXIST;
	}
	if (rc) {
		srvd_keyring_unref(k);
		return rc;
	}
	*out = k;
	return 0;
}

void srvd_keyring_ref(srvd_keyring_t *k)
{
	if (k)
		atomic_fetch_add(&k->refs, 1);
}

void srvd_keyring_unref(srvd_keyring_t *k)
{
	if (!k || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	explicit_bzero(k->keys, k->n * sizeof(k->keys[0])); /* secrets */
	free(k);
}

const xfr_tsig_key_t *dsp_keyring_find(const srvd_keyring_t *k, const uint8_t *name)
{
	if (!k || k->n == 0)
		return NULL;
	uint8_t lname[255];
	size_t len = wire_name_len(name);
	wire_name_lower(lname, name, len);
	for (size_t i = 0; i < k->n; i++)
		if (k->keys[i].name_len == len && memcmp(k->keys[i].name, lname, len) == 0)
			return &k->keys[i];
	return NULL;
}
