/* UPDATE in the daemon: the change pipeline of DESIGN.md for requests that
 * srvd_dispatch accepted (SRVD_UPDATE).
 *
 *   worker   srvd_update_begin copies the request; net_update_push queues
 *            it for the main loop (a mutex and an async, as notify_in.c)
 *   main     one queue per zone, at most UPD_QUEUE requests; one request
 *            of a zone at a time
 *   main     bounds: update-max-records, update-max-size (REFUSED)
 *   pool     upd_req_new -> upd_eval(served version) -> xfr_diff_apply:
 *            nothing is published yet, so a failure changes nothing that
 *            is served
 *   main     still the version served? (else evaluate again) -> the
 *            zone's journal driver appends the diff after any write a
 *            reload asked for (primary_journal.c; pool, fsync)
 *   main     net_reload_install: the next reload job swaps the version in
 *            and publishes it with the RCU step of every reload; apply()
 *            there sends NOTIFY to the zone's notify list
 *   main     the waiter hears the publish: NOERROR goes back through the
 *            worker that got the request (net_worker_reply)
 *   main     with `update-wait: S`, NOERROR waits (at most S seconds) until
 *            every address of the zone's notify: list answers SOA with the
 *            new serial (or a later one): see "confirming" below
 * So NOERROR means: published, and durable in the journal. A secondary
 * zone forwards the request to its first primary as it came (RFC 2136 6),
 * TSIG and all, and relays the answer untouched (same ID), so the client
 * verifies the primary's MAC against its own request.
 *
 * If a reload replaced the version between the evaluation and the install
 * (a file edit), the request is evaluated again on the new version.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "net/net_int.h"
#include "net/secondary.h"
#include "update/update.h"
#include "wire/dns.h"
#include "wire/serial.h"
#include "xfr/xfr.h"

enum {
	UPD_QUEUE = 64,          /* waiting requests per zone */
	UPD_MAX_RECORDS = 1000,  /* prerequisites + updates, unless update-max-records says */
	UPD_SYNC_RETRY = 1000,   /* ms: zonefile-sync found an update in flight */
	UPD_MAX_RRS = 65536,     /* records an update may touch */
	UPD_RETRIES = 3,         /* evaluations when reloads keep racing */
	UPD_FWD_TIMEOUT = 10000, /* ms for the primary to answer a forwarded one */
};

typedef struct item {
	link_t link;
	struct net_update *nu;
	struct zq *zq;
	srvd_update_t *u;
	worker_t *w;
	net_route_t route;
	/* the evaluation (pool) */
	uv_work_t work;
	zone_t *base, *next;
	zone_t *file_ver;  /* the zone file's version when base is it */
	zone_t *file_twin; /* next's image as copied from file_ver (zone_cow_origin) */
	xfr_diff_t *diff;  /* base -> next */
	upd_serial_t policy;
	unsigned rcode;
	unsigned tries;
	char why[240];
	net_waiter_t waiter;
	/* forwarding */
	uv_tcp_t tcp;
	uv_connect_t conn;
	uv_write_t wr;
	uv_timer_t timer;
	uint8_t *fbuf;
	size_t flen, fcap;
	uint8_t fhdr[2];
	bool fending;
	int fclosing;
} item_t;

typedef struct zq {
	char *key;
	link_t items;
	size_t n;
	bool busy;
	struct net_update *nu;
	/* zonefile-sync: the quiet-period timer and the write on the pool */
	uv_timer_t sync_timer;
	bool sync_init, sync_busy;
	uv_work_t sync_work;
	zone_t *sync_ver;
	char *sync_path;
	int sync_rc;
	const char *sync_why; /* for the log: "zonefile-sync" or "journal compaction" */
} zq_t;

struct net_update {
	net_t *n;
	uv_mutex_t mu;
	uv_async_t async;
	link_t incoming;
	link_t confirms; /* confirm_t waiting for secondaries */
	zq_t **zones;
	size_t n_zones;
	bool stopped;
	uint64_t ok, failed;
};

static void next_item(zq_t *z, struct net_update *nu);

/* ---- answering ----------------------------------------------------------------- */

static void reply_bytes(item_t *it, const uint8_t *msg, size_t len)
{
	if (!it->nu->stopped)
		net_worker_reply(it->w, &it->route, msg, len);
}

static void reply(item_t *it, unsigned rcode)
{
	uint8_t buf[1024];
	size_t len = 0;
	if (upd_answer(it->u, rcode, buf, sizeof(buf), &len) == 0)
		reply_bytes(it, buf, len);
	if (rcode == DNS_RC_NOERROR)
		it->nu->ok++;
	else
		it->nu->failed++;
}

static void item_free(item_t *it)
{
	srvd_update_free(it->u);
	srvd_zone_unref(it->base);
	srvd_zone_unref(it->next);
	srvd_zone_unref(it->file_ver);
	srvd_zone_unref(it->file_twin);
	xfr_diff_unref(it->diff);
	free(it->fbuf);
	free(it);
}

/* The item is done: answer, free, and start the zone's next one. */
static void finish(item_t *it, unsigned rcode)
{
	zq_t *z = it->zq;
	struct net_update *nu = it->nu;
	reply(it, rcode);
	item_free(it);
	z->busy = false;
	next_item(z, nu);
}

/* ---- the zone's settings ------------------------------------------------------------ */

static upd_serial_t policy_of(const conf_zone_t *cz)
{
	const char *p = cz ? cz->serial_policy : NULL;
	if (p && strcmp(p, "unixtime") == 0)
		return UPD_SERIAL_UNIXTIME;
	if (p && strcmp(p, "dateserial") == 0)
		return UPD_SERIAL_DATESERIAL;
	return UPD_SERIAL_INCREMENT;
}

/* ---- evaluation on the pool ------------------------------------------------------------ */

static void work_eval(uv_work_t *req)
{
	item_t *it = req->data;
	upd_req_t *r = NULL;
	it->rcode = DNS_RC_SERVFAIL;
	int rc = upd_req_new(it->u->wire, it->u->len, &r);
	if (rc == SRVD_EMALFORM) {
		it->rcode = DNS_RC_FORMERR;
		snprintf(it->why, sizeof(it->why), "malformed RDATA");
		return;
	}
	upd_outcome_t out = {0};
	if (rc == 0)
		rc = upd_eval(it->base, r, it->policy, time(NULL), UPD_MAX_RRS, &out);
	upd_req_free(r);
	if (rc) {
		snprintf(it->why, sizeof(it->why), "%s", srvd_strerror(rc));
		return;
	}
	it->rcode = out.rcode;
	snprintf(it->why, sizeof(it->why), "%s", out.why);
	if (!out.diff)
		return;
	rc = xfr_diff_apply(it->base, out.diff, NULL, &it->next);
	if (rc) {
		it->rcode = rc == SRVD_EZONE ? DNS_RC_REFUSED : DNS_RC_SERVFAIL;
		snprintf(it->why, sizeof(it->why), "%s",
		         rc == SRVD_EZONE ? "the result fails the zone checks" : srvd_strerror(rc));
		xfr_diff_unref(out.diff);
		return;
	}
	it->diff = out.diff;
	/* The first copy-on-write version of a zone copied the file's version
	 * into an image: a twin of that version in the image stands in for it
	 * in the zone table, and the file's version (as big as the zone) goes. */
	if (it->file_ver == it->base && !zone_cow_image(it->base) && zone_cow_image(it->next) &&
	    zone_cow_origin(it->next, &it->file_twin) != 0)
		it->file_twin = NULL;
}

static void start_eval(item_t *it);

/* ---- zonefile-sync: the updated zone back into its file -------------------------------- */

/* With `zonefile-sync: S`, S seconds after the last update the version
 * served is written to the zone's file (temp file, fsync, rename:
 * xfr_zone_save), and becomes the entry's file version (net_reload_written),
 * so the write is not taken for an edit. The journal keeps its diffs for
 * IXFR; a restart finds the file at the journal's last serial and has
 * nothing to replay. The file is rewritten in srvd's own form: one record
 * per line, absolute names, no comments, no $INCLUDE. */
static void sync_arm(zq_t *z, uint64_t ms);

static void work_sync(uv_work_t *w)
{
	zq_t *z = w->data;
	z->sync_rc = xfr_zone_save(z->sync_ver, z->sync_path);
}

static void after_sync(uv_work_t *w, int status)
{
	zq_t *z = w->data;
	struct net_update *nu = z->nu;
	z->sync_busy = false;
	int rc = status ? SRVD_EIO : z->sync_rc;
	if (rc)
		log_err("update: zone %s: writing %s failed: %s", z->key, z->sync_path,
		        srvd_strerror(rc));
	else
		log_info("update: zone %s: serial %u written to %s (%s)", z->key,
		         z->sync_ver->serial, z->sync_path, z->sync_why);
	if (rc == 0 && !nu->stopped) {
		net_reload_written(nu->n, z->key, z->sync_ver); /* takes the reference */
		z->sync_ver = NULL;
	}
	srvd_zone_unref(z->sync_ver);
	z->sync_ver = NULL;
	free(z->sync_path);
	z->sync_path = NULL;
}

static void on_sync(uv_timer_t *t)
{
	zq_t *z = t->data;
	struct net_update *nu = z->nu;
	if (nu->stopped)
		return;
	if (z->busy || z->sync_busy) {
		sync_arm(z, UPD_SYNC_RETRY);
		return;
	}
	const ztab_zone_t *e = ztab_find(net_reload_table(nu->n), z->key);
	if (!e || !e->ver || e->src.secondary || e->ver == e->file_ver)
		return; /* nothing the file lacks */
	if (!(z->sync_path = strdup(e->src.file)))
		return;
	z->sync_ver = e->ver;
	srvd_zone_ref(z->sync_ver);
	z->sync_busy = true;
	z->sync_work.data = z;
	if (uv_queue_work(&nu->n->loop, &z->sync_work, work_sync, after_sync)) {
		work_sync(&z->sync_work);
		after_sync(&z->sync_work, 0);
	}
}

static void sync_arm(zq_t *z, uint64_t ms)
{
	if (!z->sync_init) {
		uv_timer_init(&z->nu->n->loop, &z->sync_timer);
		z->sync_timer.data = z;
		z->sync_init = true;
	}
	uv_timer_start(&z->sync_timer, on_sync, ms, 0);
}

/* An update was published: the quiet period starts again. */
static void sync_after_update(zq_t *z)
{
	const conf_zone_t *cz = net_conf_zone(z->nu->n, z->key);
	if (cz && cz->zonefile_sync && !z->nu->stopped) {
		z->sync_why = "zonefile-sync";
		sync_arm(z, cz->zonefile_sync * 1000ull);
	}
}

/* ---- confirming: the secondaries serve it (update-wait) --------------------------------- */

/* An ACME CA asks any of the zone's servers, so a client told NOERROR
 * while a secondary still serves the old data may fail its challenge
 * (certbot issue 9378). With update-wait the answer waits until each
 * address of the notify: list answers SOA with the new serial or a later
 * one, polled over UDP after 5, 10, 20 ... 200 ms. The change is published
 * and durable either way: when the time is up the answer is still NOERROR,
 * and the log names the servers that did not confirm. */
enum { CONFIRM_FIRST_MS = 5, CONFIRM_MAX_MS = 200, CONFIRM_MSG = 1232 };

typedef struct confirm {
	link_t link; /* nu->confirms */
	item_t *it;
	uv_udp_t sock[2]; /* IPv4, IPv6 */
	bool has_sock[2];
	uv_timer_t timer;
	int open; /* handles not closed yet */
	bool ending;
	size_t n, left;
	struct sockaddr_storage *sa;
	bool *ok;
	uint16_t id;
	uint32_t serial;
	uint8_t origin[255];
	uint8_t q[512];
	size_t qlen;
	uint64_t deadline;
	unsigned interval;
	uint8_t rbuf[CONFIRM_MSG];
} confirm_t;

static void published_ok(item_t *it, const char *how)
{
	log_info("update: zone %s: serial %u published%s", it->zq->key, it->next->serial, how);
	finish(it, DNS_RC_NOERROR);
}

static void confirm_closed(uv_handle_t *h)
{
	confirm_t *c = h->data;
	if (--c->open > 0)
		return;
	item_t *it = c->it;
	bool all = c->left == 0;
	if (!all) {
		for (size_t i = 0; i < c->n; i++) {
			char host[INET6_ADDRSTRLEN] = "?";
			const struct sockaddr *sa = (const struct sockaddr *)&c->sa[i];
			if (!c->ok[i] && !uv_ip_name(sa, host, sizeof(host)))
				log_warn("update: zone %s: %s did not serve serial %u in time",
				         it->zq->key, host, c->serial);
		}
	}
	free(c->sa);
	free(c->ok);
	free(c);
	published_ok(it, all ? ", and served by every notify: address" : "");
}

static void confirm_end(confirm_t *c)
{
	if (c->ending)
		return;
	c->ending = true;
	link_remove(&c->link);
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, confirm_closed);
	for (int f = 0; f < 2; f++)
		if (c->has_sock[f])
			uv_close((uv_handle_t *)&c->sock[f], confirm_closed);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return x->sin6_port == y->sin6_port &&
	       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static void confirm_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	confirm_t *c = h->data;
	(void)hint;
	*buf = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void confirm_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                         const struct sockaddr *addr, unsigned flags)
{
	confirm_t *c = h->data;
	(void)buf;
	(void)flags;
	if (nread <= 0 || !addr || c->ending)
		return;
	xfr_err_t err;
	uint32_t serial = 0;
	if (xfr_soa_response(c->rbuf, (size_t)nread, c->origin, c->id, &err, &serial) ||
	    wire_serial_lt(serial, c->serial))
		return;
	for (size_t i = 0; i < c->n; i++)
		if (!c->ok[i] && same_addr(&c->sa[i], addr)) {
			c->ok[i] = true;
			c->left--;
		}
	if (c->left == 0)
		confirm_end(c);
}

static void confirm_tick(uv_timer_t *t)
{
	confirm_t *c = t->data;
	uv_loop_t *loop = t->loop;
	if (c->ending)
		return;
	if (c->it->nu->stopped || uv_now(loop) >= c->deadline) {
		confirm_end(c);
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		int f = c->sa[i].ss_family == AF_INET6;
		if (c->ok[i] || !c->has_sock[f])
			continue;
		uv_buf_t b = uv_buf_init((char *)c->q, (unsigned)c->qlen);
		(void)uv_udp_try_send(&c->sock[f], &b, 1, (const struct sockaddr *)&c->sa[i]);
	}
	uint64_t left = c->deadline - uv_now(loop);
	uv_timer_start(&c->timer, confirm_tick, c->interval < left ? c->interval : left, 0);
	c->interval = c->interval * 2 > CONFIRM_MAX_MS ? CONFIRM_MAX_MS : c->interval * 2;
}

static int confirm_targets(confirm_t *c, const conf_zone_t *cz)
{
	c->sa = calloc(cz->n_notify, sizeof(*c->sa));
	c->ok = calloc(cz->n_notify, sizeof(*c->ok));
	if (!c->sa || !c->ok)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < cz->n_notify; i++) {
		const conf_addr_t *a = &cz->notify[i];
		if (uv_ip4_addr(a->host, a->port, (struct sockaddr_in *)&c->sa[c->n]) &&
		    uv_ip6_addr(a->host, a->port, (struct sockaddr_in6 *)&c->sa[c->n]))
			continue;
		c->n++;
	}
	c->left = c->n;
	return c->n ? 0 : SRVD_EINVAL;
}

static int confirm_socket(confirm_t *c, uv_loop_t *loop, int f)
{
	struct sockaddr_storage any = {0};
	if (f)
		uv_ip6_addr("::", 0, (struct sockaddr_in6 *)&any);
	else
		uv_ip4_addr("0.0.0.0", 0, (struct sockaddr_in *)&any);
	if (uv_udp_init(loop, &c->sock[f]))
		return SRVD_EIO;
	c->has_sock[f] = true;
	c->open++;
	c->sock[f].data = c;
	if (uv_udp_bind(&c->sock[f], (const struct sockaddr *)&any, 0) ||
	    uv_udp_recv_start(&c->sock[f], confirm_alloc, confirm_recv))
		return SRVD_EIO;
	return 0;
}

/* Wait for the secondaries when the zone asks for it: true when the answer
 * is now the confirmation's to give. */
static bool start_confirm(item_t *it)
{
	struct net_update *nu = it->nu;
	const conf_zone_t *cz = net_conf_zone(nu->n, it->zq->key);
	if (!cz || !cz->update_wait || !cz->n_notify || nu->stopped)
		return false;
	confirm_t *c = calloc(1, sizeof(*c));
	if (!c)
		return false;
	uv_loop_t *loop = &nu->n->loop;
	c->it = it;
	c->serial = it->next->serial;
	memcpy(c->origin, it->next->origin, it->next->origin_len);
	if (uv_random(NULL, NULL, &c->id, sizeof(c->id), 0, NULL))
		c->id = (uint16_t)rand();
	int rc = confirm_targets(c, cz);
	if (rc == 0)
		rc = xfr_query_soa(c->origin, c->id, c->q, sizeof(c->q), &c->qlen);
	if (rc) {
		free(c->sa);
		free(c->ok);
		free(c);
		return false;
	}
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->open = 1;
	link_push_back(&nu->confirms, &c->link);
	for (size_t i = 0; i < c->n; i++) {
		int f = c->sa[i].ss_family == AF_INET6;
		if (!c->has_sock[f] && confirm_socket(c, loop, f))
			log_warn("update: zone %s: no UDP socket to confirm the update with",
			         it->zq->key);
	}
	c->deadline = uv_now(loop) + cz->update_wait * 1000ull;
	c->interval = CONFIRM_FIRST_MS;
	uv_timer_start(&c->timer, confirm_tick, CONFIRM_FIRST_MS, 0);
	return true;
}

static void published(net_waiter_t *w, const ztab_job_t *j)
{
	item_t *it = CONTAINER_OF(w, item_t, waiter);
	if (!j) {
		log_err("update: zone %s: the new version was not published", it->zq->key);
		finish(it, DNS_RC_SERVFAIL);
		return;
	}
	if (net_primary_journal_take_write(net_secondary_journals(it->nu->n), it->zq->key)) {
		it->zq->sync_why = "journal compaction"; /* zonefile-sync or not */
		sync_arm(it->zq, 0);
	} else {
		sync_after_update(it->zq);
	}
	if (!start_confirm(it))
		published_ok(it, "");
}

static void journaled(void *ctx, int rc)
{
	item_t *it = ctx;
	if (rc || it->nu->stopped) {
		if (rc)
			log_err(
			    "update: zone %s: the journal could not be written (%s): not applied",
			    it->zq->key, srvd_strerror(rc));
		finish(it, DNS_RC_SERVFAIL);
		return;
	}
	srvd_zone_ref(it->next);
	it->waiter.done = published;
	net_reload_install_twin(it->nu->n, it->zq->key, it->next, it->file_twin, &it->waiter);
	it->file_twin = NULL;
}

static void after_eval(uv_work_t *req, int status)
{
	item_t *it = req->data;
	net_t *n = it->nu->n;
	if (status || it->nu->stopped) {
		finish(it, DNS_RC_SERVFAIL);
		return;
	}
	if (!it->next) {
		if (it->rcode != DNS_RC_NOERROR)
			log_info("update: zone %s: %s: %s", it->zq->key, xfr_rcode_name(it->rcode),
			         it->why);
		finish(it, it->rcode);
		return;
	}
	const ztab_zone_t *e = ztab_find(net_reload_table(n), it->zq->key);
	if (!e || e->ver != it->base) { /* a reload came first: once more, on its version */
		srvd_zone_unref(it->next);
		it->next = NULL;
		xfr_diff_unref(it->diff);
		it->diff = NULL;
		start_eval(it);
		return;
	}
	/* Durable first (the journal's fsync), then published: the journal
	 * driver writes after whatever a reload asked for before us. */
	net_primary_journal_seen(net_secondary_journals(n), it->zq->key, it->next);
	int rc = net_primary_journal_append(net_secondary_journals(n), it->zq->key, it->diff,
	                                    it->next, e->file_ver, journaled, it);
	if (rc == SRVD_ENOENT) /* no journal (a folder we may not write): publish only */
		journaled(it, 0);
	else if (rc)
		journaled(it, rc);
}

static void start_eval(item_t *it)
{
	net_t *n = it->nu->n;
	const ztab_zone_t *e = ztab_find(net_reload_table(n), it->zq->key);
	if (!e || !e->ver || e->src.secondary || ++it->tries > UPD_RETRIES) {
		finish(it, DNS_RC_SERVFAIL);
		return;
	}
	srvd_zone_unref(it->base);
	it->base = e->ver;
	srvd_zone_ref(it->base);
	srvd_zone_unref(it->file_ver);
	it->file_ver = e->file_ver;
	srvd_zone_ref(it->file_ver);
	srvd_zone_unref(it->file_twin);
	it->file_twin = NULL;
	it->policy = policy_of(net_conf_zone(n, it->zq->key));
	it->work.data = it;
	if (uv_queue_work(&n->loop, &it->work, work_eval, after_eval))
		finish(it, DNS_RC_SERVFAIL);
}

/* ---- forwarding to the primary (RFC 2136 6) ------------------------------------------------ */

static void fwd_closed(uv_handle_t *h)
{
	item_t *it = h->data;
	if (++it->fclosing < 2)
		return;
	unsigned rcode = it->rcode;
	if (it->flen >= DNS_HDR_LEN + 2 && it->rcode == DNS_RC_NOERROR) {
		/* the primary's answer, as it came: its MAC is the client's to check */
		reply_bytes(it, it->fbuf + 2, it->flen - 2);
		it->nu->ok++;
		zq_t *z = it->zq;
		struct net_update *nu = it->nu;
		item_free(it);
		z->busy = false;
		next_item(z, nu);
		return;
	}
	log_warn("update: zone %s: forwarding to the primary failed", it->zq->key);
	finish(it, rcode == DNS_RC_NOERROR ? DNS_RC_SERVFAIL : rcode);
}

static void fwd_end(item_t *it, unsigned rcode)
{
	if (it->fending)
		return; /* a cancelled request's callback, after the end */
	it->fending = true;
	it->rcode = rcode;
	uv_timer_stop(&it->timer);
	uv_close((uv_handle_t *)&it->timer, fwd_closed);
	if (!uv_is_closing((uv_handle_t *)&it->tcp))
		uv_close((uv_handle_t *)&it->tcp, fwd_closed);
}

static void fwd_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	item_t *it = h->data;
	(void)hint;
	if (!it->fbuf && (it->fbuf = malloc(65537)))
		it->fcap = 65537;
	*buf = uv_buf_init((char *)it->fbuf + it->flen, (unsigned)(it->fcap - it->flen));
}

static void fwd_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	item_t *it = s->data;
	(void)buf;
	if (nread < 0) {
		fwd_end(it, DNS_RC_SERVFAIL);
		return;
	}
	it->flen += (size_t)nread;
	if (it->flen >= 2 && it->flen >= 2u + get_u16(it->fbuf)) {
		it->flen = 2u + get_u16(it->fbuf);
		uv_read_stop(s);
		fwd_end(it, DNS_RC_NOERROR);
	}
}

static void fwd_written(uv_write_t *req, int status)
{
	item_t *it = req->data;
	if (status < 0 || uv_read_start((uv_stream_t *)&it->tcp, fwd_alloc, fwd_read))
		fwd_end(it, DNS_RC_SERVFAIL);
}

static void fwd_connected(uv_connect_t *req, int status)
{
	item_t *it = req->data;
	if (status < 0) {
		fwd_end(it, DNS_RC_SERVFAIL);
		return;
	}
	put_u16(it->fhdr, (uint16_t)it->u->len);
	uv_buf_t b[2] = {uv_buf_init((char *)it->fhdr, 2),
	                 uv_buf_init((char *)it->u->wire, (unsigned)it->u->len)};
	if (uv_write(&it->wr, (uv_stream_t *)&it->tcp, b, 2, fwd_written))
		fwd_end(it, DNS_RC_SERVFAIL);
}

static void fwd_timeout(uv_timer_t *t)
{
	fwd_end(t->data, DNS_RC_SERVFAIL);
}

static void start_forward(item_t *it)
{
	net_t *n = it->nu->n;
	const conf_zone_t *cz = net_conf_zone(n, it->zq->key);
	struct sockaddr_storage sa = {0};
	if (!cz || !cz->n_primaries ||
	    (uv_ip4_addr(cz->primaries[0].host, cz->primaries[0].port, (struct sockaddr_in *)&sa) &&
	     uv_ip6_addr(cz->primaries[0].host, cz->primaries[0].port,
	                 (struct sockaddr_in6 *)&sa))) {
		finish(it, DNS_RC_SERVFAIL);
		return;
	}
	uv_tcp_init(&n->loop, &it->tcp);
	uv_timer_init(&n->loop, &it->timer);
	it->tcp.data = it->timer.data = it->conn.data = it->wr.data = it;
	it->rcode = DNS_RC_SERVFAIL;
	uv_timer_start(&it->timer, fwd_timeout, UPD_FWD_TIMEOUT, 0);
	if (uv_tcp_connect(&it->conn, &it->tcp, (struct sockaddr *)&sa, fwd_connected))
		fwd_end(it, DNS_RC_SERVFAIL);
	else
		log_info("update: zone %s: forwarding to the primary %s", it->zq->key,
		         cz->primaries[0].host);
}

/* ---- queues ------------------------------------------------------------------------------- */

static void next_item(zq_t *z, struct net_update *nu)
{
	if (z->busy || link_empty(&z->items) || nu->stopped)
		return;
	item_t *it = CONTAINER_OF(z->items.next, item_t, link);
	link_remove(&it->link);
	z->n--;
	z->busy = true;
	if (it->u->forward)
		start_forward(it);
	else
		start_eval(it);
}

static zq_t *zone_queue(struct net_update *nu, const char *key)
{
	for (size_t i = 0; i < nu->n_zones; i++)
		if (strcmp(nu->zones[i]->key, key) == 0)
			return nu->zones[i];
	zq_t **v = realloc(nu->zones, (nu->n_zones + 1) * sizeof(*v));
	zq_t *z = calloc(1, sizeof(*z));
	if (v)
		nu->zones = v;
	if (!v || !z || !(z->key = strdup(key))) {
		free(z);
		return NULL;
	}
	link_init(&z->items);
	z->nu = nu;
	v[nu->n_zones++] = z;
	return z;
}

/* update-max-records and update-max-size: a request past either is
 * REFUSED before it is parsed (the primary judges forwarded ones). */
static bool too_big(struct net_update *nu, const item_t *it)
{
	const srvd_update_t *u = it->u;
	if (u->forward || u->len < DNS_HDR_LEN)
		return false;
	const conf_zone_t *cz = net_conf_zone(nu->n, srvd_update_zone(u));
	size_t max_rr = cz && cz->update_max_records ? cz->update_max_records : UPD_MAX_RECORDS;
	size_t max_len = cz && cz->update_max_size ? cz->update_max_size : 65535;
	size_t rrs = (size_t)get_u16(u->wire + 6) + get_u16(u->wire + 8);
	if (rrs <= max_rr && u->len <= max_len)
		return false;
	char who[INET6_ADDRSTRLEN] = "?";
	if (u->has_peer)
		uv_ip_name((const struct sockaddr *)&u->peer, who, sizeof(who));
	log_warn("update: zone %s: refused from %s: %zu records and %zu bytes, the bounds are %zu "
	         "records (update-max-records) and %zu bytes (update-max-size)",
	         srvd_update_zone(u), who, rrs, u->len, max_rr, max_len);
	return true;
}

static void enqueue(struct net_update *nu, item_t *it)
{
	zq_t *z = zone_queue(nu, srvd_update_zone(it->u));
	it->zq = z;
	if (too_big(nu, it)) {
		reply(it, DNS_RC_REFUSED);
		item_free(it);
		return;
	}
	if (!z || z->n >= UPD_QUEUE) {

		log_warn("update: zone %s: %s, answering SERVFAIL", srvd_update_zone(it->u),
		         z ? "too many updates waiting" : "out of memory");
		reply(it, DNS_RC_SERVFAIL);
		item_free(it);
		return;
	}
	link_push_back(&z->items, &it->link);
	z->n++;
	next_item(z, nu);
}

static void on_async(uv_async_t *h)
{
	struct net_update *nu = h->data;
	link_t list;
	link_init(&list);
	uv_mutex_lock(&nu->mu);
	while (!link_empty(&nu->incoming)) {
		link_t *l = nu->incoming.next;
		link_remove(l);
		link_push_back(&list, l);
	}
	uv_mutex_unlock(&nu->mu);
	while (!link_empty(&list)) {
		item_t *it = CONTAINER_OF(list.next, item_t, link);
		link_remove(&it->link);
		enqueue(nu, it);
	}
}

void net_update_push(worker_t *w, const srvd_server_t *srv, const srvd_query_t *q,
                     const net_route_t *route)
{
	struct net_update *nu = w->net->upd;
	item_t *it = nu ? calloc(1, sizeof(*it)) : NULL;
	if (!it || srvd_update_begin(w->resp, srv, q, &it->u) != 0) {
		free(it);
		return; /* the client retries */
	}
	it->nu = nu;
	it->w = w;
	it->route = *route;
	uv_mutex_lock(&nu->mu);
	link_push_back(&nu->incoming, &it->link);
	uv_mutex_unlock(&nu->mu);
	uv_async_send(&nu->async);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int net_update_init(net_t *n)
{
	struct net_update *nu = calloc(1, sizeof(*nu));
	if (!nu)
		return SRVD_ENOMEM;
	nu->n = n;
	link_init(&nu->incoming);
	link_init(&nu->confirms);
	uv_mutex_init(&nu->mu);
	uv_async_init(&n->loop, &nu->async, on_async);
	nu->async.data = nu;
	n->upd = nu;
	return 0;
}

void net_update_counts(const net_t *n, uint64_t *ok, uint64_t *failed)
{
	*ok = n->upd ? n->upd->ok : 0;
	*failed = n->upd ? n->upd->failed : 0;
}

/* Requests still queued are dropped: their clients retry elsewhere. One
 * being evaluated finishes on the pool and is dropped in after_eval. */
void net_update_stop(net_t *n)
{
	struct net_update *nu = n->upd;
	if (!nu || nu->stopped)
		return;
	nu->stopped = true;
	while (!link_empty(&nu->confirms))
		confirm_end(CONTAINER_OF(nu->confirms.next, confirm_t, link));
	for (size_t i = 0; i < nu->n_zones; i++)
		if (nu->zones[i]->sync_init &&
		    !uv_is_closing((uv_handle_t *)&nu->zones[i]->sync_timer))
			uv_close((uv_handle_t *)&nu->zones[i]->sync_timer, NULL);
	for (size_t i = 0; i < nu->n_zones; i++)
		while (!link_empty(&nu->zones[i]->items)) {
			item_t *it = CONTAINER_OF(nu->zones[i]->items.next, item_t, link);
			link_remove(&it->link);
			item_free(it);
		}
	if (!uv_is_closing((uv_handle_t *)&nu->async))
		uv_close((uv_handle_t *)&nu->async, NULL);
}

void net_update_free(net_t *n)
{
	struct net_update *nu = n->upd;
	if (!nu)
		return;
	while (!link_empty(&nu->incoming)) {
		item_t *it = CONTAINER_OF(nu->incoming.next, item_t, link);
		link_remove(&it->link);
		item_free(it);
	}
	for (size_t i = 0; i < nu->n_zones; i++) {
		srvd_zone_unref(nu->zones[i]->sync_ver);
		free(nu->zones[i]->sync_path);
		free(nu->zones[i]->key);
		free(nu->zones[i]);
	}
	free(nu->zones);
	uv_mutex_destroy(&nu->mu);
	free(nu);
	n->upd = NULL;
}
