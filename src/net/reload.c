/* Reloads on the main thread: the zone table and config in force, the queue
 * of reload requests (SIGHUP, srvdctl, file events), running one job at a
 * time on the libuv thread pool, and applying its result: swap the table,
 * publish the new zone set, send NOTIFYs, re-aim the file watches, answer
 * whoever waits.
 *
 * A job's life: requested -> queued work (ztab_job_run on a pool thread) ->
 * applied here -> (when a zone set was published) the grace period of
 * net.c -> released. Only then does the next job start, so at most one old
 * zone set is ever waiting to be freed. Requests that come in meanwhile are
 * merged: their flags OR together and their forced zones add up, and all
 * their waiters are answered by that next job.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/sdnotify.h"
#include "net/net_int.h"

struct net_reload {
	net_t *n;
	conf_t *conf;
	ztab_t tab;
	ztab_conf_fn conf_fn;
	void *conf_ctx;
	uint64_t ok, failed; /* zone loads; a config that fails counts as failed */
	/* the next job */
	unsigned pend_flags;
	char **pend_force;
	size_t n_pend_force;
	ztab_install_t *pend_installs; /* secondary.c's new versions */
	size_t n_pend_installs;
	ztab_written_t *pend_written; /* update.c: versions written to zone files */
	size_t n_pend_written;
	link_t pend_waiters;
	/* the running job */
	bool running, stopped;
	uv_work_t work;
	ztab_job_t job;
	link_t run_waiters;
};

static struct net_reload *rl_of(const net_t *n)
{
	return n->rl;
}

const ztab_t *net_reload_table(const net_t *n)
{
	return &rl_of(n)->tab;
}

const conf_t *net_reload_conf(const net_t *n)
{
	return rl_of(n)->conf;
}

const conf_zone_t *net_conf_zone(const net_t *n, const char *key)
{
	const conf_t *c = rl_of(n)->conf;
	size_t k = strlen(key);
	if (k > 1 && key[k - 1] == '.')
		k--;
	for (size_t i = 0; c && i < c->n_zones; i++) {
		const char *name = c->zones[i].name;
		size_t m = strlen(name);
		if (m > 1 && name[m - 1] == '.')
			m--;
		if (m == k && strncasecmp(name, key, k) == 0)
			return &c->zones[i];
	}
	return NULL;
}

void net_reload_counts(const net_t *n, uint64_t *ok, uint64_t *failed)
{
	*ok = rl_of(n)->ok;
	*failed = rl_of(n)->failed;
}

static void tell_waiters(link_t *list, const ztab_job_t *j)
{
	while (!link_empty(list)) {
		net_waiter_t *w = CONTAINER_OF(list->next, net_waiter_t, link);
		link_remove(&w->link);
		w->done(w, j);
	}
}

/* ---- applying a job's result ----------------------------------------------- */

static void log_summary(const ztab_job_t *j, size_t zones)
{
	size_t added = 0;
	for (size_t i = 0; i < j->next.n; i++)
		added += j->prev[i] == NULL;
	if (j->loaded || j->failed || j->n_removed || added)
		log_info("reload: %u zones loaded, %u failed, %zu added, %zu removed; %zu zones",
		         j->loaded, j->failed, added, j->n_removed, zones);
	else
		log_debug("reload: no zone changed");
}

static uint32_t serial_of(const srvd_zone_t *z)
{
	srvd_zone_info_t info;
	return z && srvd_zone_info(z, &info) == 0 ? info.serial : 0;
}

static void notify_changes(net_t *n, const ztab_job_t *j)
{
	for (size_t i = 0; i < j->next.n; i++) {
		const ztab_zone_t *e = j->next.v[i], *p = j->prev[i];
		if (j->outcome[i] != ZTAB_ZONE_LOADED || !e->src.n_notify)
			continue;
		if (!p || !p->ver || serial_of(p->ver) != serial_of(e->ver))
			net_notify_zone(n, e);
	}
	for (size_t i = 0; i < j->n_removed; i++)
		net_notify_cancel(n, j->removed[i]->src.key);
}

/* The entries of the old table that the new one does not reuse. */
static void free_replaced(ztab_job_t *j)
{
	for (size_t i = 0; i < j->next.n; i++)
		if (j->outcome[i] != ZTAB_ZONE_KEPT)
			ztab_zone_free((ztab_zone_t *)j->prev[i]);
	for (size_t i = 0; i < j->n_removed; i++)
		ztab_zone_free((ztab_zone_t *)j->removed[i]);
	j->n_removed = 0;
}

static void apply(net_t *n, ztab_job_t *j)
{
	struct net_reload *rl = rl_of(n);
	if (j->rc) {
		rl->failed++;
		return;
	}
	if (j->conf_new) {
		conf_free(rl->conf);
		rl->conf = j->conf_new;
		j->conf_new = NULL;
		net_reload_publish_keys(n);
		net_guard_update(n);
	}
	free(rl->tab.v);
	rl->tab = j->next;
	rl->ok += j->loaded;
	rl->failed += j->failed;
	log_summary(j, rl->tab.n);
	notify_changes(n, j);
	net_watch_update(n, &rl->tab, rl->conf->zones_dir);
	net_services_after_reload(n);
}

/* ---- running jobs -------------------------------------------------------------- */

static void start_job(net_t *n);

/* The end of a reload that read the config: READY=1 again, and the zone
 * counts for `systemctl status`. */
static void tell_systemd(const net_t *n, const ztab_job_t *j)
{
	const ztab_t *t = net_reload_table(n);
	size_t served = 0;
	for (size_t i = 0; i < t->n; i++)
		served += t->v[i]->ver != NULL;
	sd_notifyf("READY=1\nSTATUS=serving %zu of %zu zones%s", served, t->n,
	           j->rc ? "; the last reload failed" : "");
}

static void finish(net_t *n)
{
	struct net_reload *rl = rl_of(n);
	rl->running = false;
	if (!rl->stopped && (rl->pend_flags || rl->n_pend_force || rl->n_pend_installs ||
	                     rl->n_pend_written || !link_empty(&rl->pend_waiters)))
		start_job(n);
}

static void run_job(uv_work_t *req)
{
	ztab_job_run(req->data);
}

/* The job's entries are in the table by now; what is left of it (arrays,
 * replaced entries) is freed here, after the waiters have seen it. */
static void job_done(uv_work_t *req, int status)
{
	struct net_reload *rl = CONTAINER_OF(req, struct net_reload, work);
	net_t *n = rl->n;
	ztab_job_t *j = &rl->job;
	srvd_zoneset_t *zs = NULL;
	bool ok = status == 0 && !rl->stopped;
	if (ok) {
		/* Publish before apply(): it sends NOTIFY, and a secondary that
		 * asks for the SOA at once must see the new serial. */
		zs = j->rc ? NULL : j->zs;
		j->zs = NULL;
		if (zs)
			net_publish(n, zs);
		apply(n, j);
	}
	if (j->flags & ZTAB_JOB_CONF)
		tell_systemd(n, j);
	tell_waiters(&rl->run_waiters, ok ? j : NULL);
	if (ok && !j->rc) {
		free_replaced(j);
		j->next = (ztab_t){0}; /* the table has the entries */
	}
	ztab_job_deinit(j);
	if (!zs)
		finish(n);
}

void net_reload_released(net_t *n)
{
	finish(n);
}

static void start_job(net_t *n)
{
	struct net_reload *rl = rl_of(n);
	rl->job = (ztab_job_t){
	    .flags = rl->pend_flags,
	    .force = rl->pend_force,
	    .n_force = rl->n_pend_force,
	    .installs = rl->pend_installs,
	    .n_installs = rl->n_pend_installs,
	    .written = rl->pend_written,
	    .n_written = rl->n_pend_written,
	    .conf = rl->conf,
	    .cur = &rl->tab,
	    .conf_fn = rl->conf_fn,
	    .conf_ctx = rl->conf_ctx,
	};
	rl->pend_flags = 0;
	rl->pend_force = NULL;
	rl->n_pend_force = 0;
	rl->pend_installs = NULL;
	rl->n_pend_installs = 0;
	rl->pend_written = NULL;
	rl->n_pend_written = 0;
	while (!link_empty(&rl->pend_waiters)) {
		link_t *l = rl->pend_waiters.next;
		link_remove(l);
		link_push_back(&rl->run_waiters, l);
	}
	rl->work.data = &rl->job;
	/* systemd shows "reloading" until READY=1 (job_done); the time tells
	 * it which reload this is (systemd.service(5), Type=notify-reload). */
	if (rl->job.flags & ZTAB_JOB_CONF)
		sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		           (unsigned long long)sd_monotonic_usec());
	int rc = uv_queue_work(&n->loop, &rl->work, run_job, job_done);
	if (rc) {
		log_err("reload: %s", uv_strerror(rc));
		tell_waiters(&rl->run_waiters, NULL);
		ztab_job_deinit(&rl->job);
		return;
	}
	rl->running = true;
}

static int add_force(struct net_reload *rl, const char *zone)
{
	for (size_t i = 0; i < rl->n_pend_force; i++)
		if (strcmp(rl->pend_force[i], zone) == 0)
			return 0;
	char **v = realloc(rl->pend_force, (rl->n_pend_force + 1) * sizeof(*v));
	if (!v)
		return SRVD_ENOMEM;
	rl->pend_force = v;
	if (!(v[rl->n_pend_force] = strdup(zone)))
		return SRVD_ENOMEM;
	rl->n_pend_force++;
	return 0;
}

/* A later version for the same zone replaces one still waiting. */
static int add_install(ztab_install_t **list, size_t *n, const char *key, srvd_zone_t *ver,
                       srvd_zone_t *twin)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i].key, key) == 0) {
			srvd_zone_unref((*list)[i].ver);
			(*list)[i].ver = ver;
			if (twin) {
				srvd_zone_unref((*list)[i].file_twin);
				(*list)[i].file_twin = twin;
			}
			return 0;
		}
	ztab_install_t *v = realloc(*list, (*n + 1) * sizeof(*v));
	char *k = strdup(key);
	if (v)
		*list = v;
	if (!v || !k) {
		free(k);
		return SRVD_ENOMEM;
	}
	v[(*n)++] = (ztab_install_t){k, ver, twin};
	return 0;
}

void net_reload_written(net_t *n, const char *key, srvd_zone_t *ver)
{
	struct net_reload *rl = rl_of(n);
	if (rl->stopped || add_install(&rl->pend_written, &rl->n_pend_written, key, ver, NULL)) {
		srvd_zone_unref(ver);
		return;
	}
	if (!rl->running)
		start_job(n);
}

void net_reload_install(net_t *n, const char *key, srvd_zone_t *ver, net_waiter_t *w)
{
	net_reload_install_twin(n, key, ver, NULL, w);
}

void net_reload_install_twin(net_t *n, const char *key, srvd_zone_t *ver, srvd_zone_t *twin,
                             net_waiter_t *w)
{
	struct net_reload *rl = rl_of(n);
	if (rl->stopped || add_install(&rl->pend_installs, &rl->n_pend_installs, key, ver, twin)) {
		srvd_zone_unref(ver);
		srvd_zone_unref(twin);
		if (w)
			w->done(w, NULL);
		return;
	}
	if (w)
		link_push_back(&rl->pend_waiters, &w->link);
	if (!rl->running)
		start_job(n);
}

void net_reload_request(net_t *n, unsigned flags, const char *force, net_waiter_t *w)
{
	struct net_reload *rl = rl_of(n);
	if (rl->stopped || (force && add_force(rl, force))) {
		if (w)
			w->done(w, NULL);
		return;
	}
	rl->pend_flags |= flags;
	if (w)
		link_push_back(&rl->pend_waiters, &w->link);
	if (!rl->running)
		start_job(n);
}

/* The config's TSIG keys, for srvd_dispatch. A key that does not parse was
 * refused when the config loaded, so none is expected to fail here. */
void net_reload_publish_keys(net_t *n)
{
	const conf_t *c = rl_of(n)->conf;
	srvd_key_src_t *v = calloc(c->n_keys + 1, sizeof(*v));
	srvd_keyring_t *k = NULL;
	int rc = v ? 0 : SRVD_ENOMEM;
	for (size_t i = 0; rc == 0 && i < c->n_keys; i++)
		v[i] = (srvd_key_src_t){c->keys[i].name, c->keys[i].algorithm, c->keys[i].secret};
	if (rc == 0)
		rc = srvd_keyring_new(v, c->n_keys, &k);
	free(v);
	if (rc)
		log_err("tsig: keys: %s; keeping the previous ones", srvd_strerror(rc));
	else
		net_publish_keys(n, k);
}

/* ---- start-up and teardown -------------------------------------------------------- */

int net_reload_init(net_t *n, conf_t *conf, ztab_conf_fn fn, void *ctx, srvd_zoneset_t **zs,
                    unsigned *failed)
{
	struct net_reload *rl = calloc(1, sizeof(*rl));
	if (!rl) {
		conf_free(conf);
		return SRVD_ENOMEM;
	}
	n->rl = rl;
	rl->n = n;
	rl->conf = conf;
	rl->conf_fn = fn;
	rl->conf_ctx = ctx;
	link_init(&rl->pend_waiters);
	link_init(&rl->run_waiters);
	ztab_job_t j = {.flags = ZTAB_JOB_INIT, .conf = conf};
	ztab_job_run(&j);
	if (j.rc || !j.zs) {
		int rc = j.rc ? j.rc : SRVD_ENOMEM;
		ztab_job_deinit(&j);
		return rc;
	}
	rl->tab = j.next;
	rl->ok = j.loaded;
	rl->failed = j.failed;
	*failed = j.failed;
	*zs = j.zs;
	j.next = (ztab_t){0};
	j.zs = NULL;
	ztab_job_deinit(&j);
	net_watch_update(n, &rl->tab, conf->zones_dir);
	return 0;
}

void net_reload_stop(net_t *n)
{
	struct net_reload *rl = rl_of(n);
	if (!rl || rl->stopped)
		return;
	rl->stopped = true;
	tell_waiters(&rl->pend_waiters, NULL);
	if (rl->running && uv_cancel((uv_req_t *)&rl->work) == 0)
		log_info("reload cancelled");
	else if (rl->running)
		log_info("waiting for the reload in progress to finish");
}

void net_reload_free(net_t *n)
{
	struct net_reload *rl = rl_of(n);
	if (!rl)
		return;
	ztab_deinit(&rl->tab);
	conf_free(rl->conf);
	for (size_t i = 0; i < rl->n_pend_force; i++)
		free(rl->pend_force[i]);
	free(rl->pend_force);
	for (size_t i = 0; i < rl->n_pend_installs; i++) {
		free(rl->pend_installs[i].key);
		srvd_zone_unref(rl->pend_installs[i].ver);
		srvd_zone_unref(rl->pend_installs[i].file_twin);
	}
	free(rl->pend_installs);
	for (size_t i = 0; i < rl->n_pend_written; i++) {
		free(rl->pend_written[i].key);
		srvd_zone_unref(rl->pend_written[i].ver);
	}
	free(rl->pend_written);
	free(rl);
	n->rl = NULL;
}
