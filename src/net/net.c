/* The main thread's side of the front end: the net object, signals, the
 * start-up and stop of the main thread's services, and the publication of
 * zone sets.
 *
 * The main thread answers no queries. Its uv loop watches signals (SIGHUP
 * reloads, SIGTERM and SIGINT stop) and runs the parts of net_int.h and the services of net.h:
 * reloads (built on the libuv thread pool, so that a big zone never stalls
 * the loop), file watches, NOTIFY out and the control socket.
 *
 * Publication is RCU without a library: the served set is one _Atomic
 * pointer that workers load once per batch. A publish swaps in the new set,
 * samples every worker's epoch, wakes the workers (an idle loop would
 * otherwise sleep in epoll and never reach its quiescent point) and polls
 * the epochs with a 1 ms uv_timer. When each has moved, no worker can hold
 * the old pointer and we drop our reference; transfers in progress hold
 * their own references on zones, so they are not disturbed. reload.c runs
 * one reload at a time and starts the next only after this release.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/array.h"
#include "common/log.h"
#include "common/sdnotify.h"
#include "dispatch/dispatch.h"
#include "net/net_int.h"

enum { MAX_WORKERS = 256 };

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int copy_conf(net_t *n, const conf_t *c)
{
	n->nsid = dup_str(c->nsid);
	n->identity = dup_str(c->identity);
	n->version = dup_str(c->version);
	if ((c->nsid && !n->nsid) || (c->identity && !n->identity) || (c->version && !n->version))
		return SRVD_ENOMEM;
	n->ropts.udp_payload = c->udp_payload > NET_UDP_SLOT ? NET_UDP_SLOT : c->udp_payload;
	n->ropts.nsid = n->nsid;
	n->ropts.identity = n->identity;
	n->ropts.version = n->version;
	n->ropts.rrl_slots = c->rrl.table_size;
	unsigned workers = c->workers ? c->workers : uv_available_parallelism();
	n->n_workers = workers < 1 ? 1 : workers > MAX_WORKERS ? MAX_WORKERS : workers;
	n->idle_ms = 1000u * (uint64_t)(c->tcp_idle_timeout ? c->tcp_idle_timeout : 10);
	n->max_total = c->tcp_max_clients ? c->tcp_max_clients : 1000;
	n->max_conns = (n->max_total + n->n_workers - 1) / n->n_workers;
	return 0;
}

/* Probes cannot catch a duplicate (each probe closes before the next), and
 * SO_REUSEPORT would then bind it twice without complaint. */
static bool listed_before(const net_t *n, const net_addr_t *a)
{
	for (size_t i = 0; i < n->n_addrs; i++)
		if (n->addrs[i].len == a->len && memcmp(&n->addrs[i].sa, &a->sa, a->len) == 0)
			return true;
	return false;
}

static int init_addrs(net_t *n, const conf_t *c)
{
	if (c->n_listen == 0) {
		log_err("no listen address configured");
		return SRVD_EINVAL;
	}
	n->addrs = calloc(c->n_listen, sizeof(*n->addrs));
	if (!n->addrs)
		return SRVD_ENOMEM;
	for (size_t i = 0; i < c->n_listen; i++) {
		net_addr_t *a = &n->addrs[i];
		if (net_addr_init(&c->listen[i], a))
			return SRVD_EINVAL;
		if (listed_before(n, a)) {
			log_err("listen: %s is listed twice", a->text);
			return SRVD_EINVAL;
		}
		if (net_addr_probe(a))
			return SRVD_EIO;
		n->n_addrs++;
	}
	return 0;
}

static int init_workers(net_t *n)
{
	n->workers = calloc(n->n_workers, sizeof(*n->workers));
	n->snap = calloc(n->n_workers, sizeof(*n->snap));
	if (!n->workers || !n->snap)
		return SRVD_ENOMEM;
	for (unsigned i = 0; i < n->n_workers; i++) {
		int rc = net_worker_new(n, i, &n->workers[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static int init_loop(net_t *n)
{
	int rc = uv_loop_init(&n->loop);
	if (rc) {
		log_err("main loop: %s", uv_strerror(rc));
		return SRVD_EIO;
	}
	n->loop_ok = true;
	uv_signal_init(&n->loop, &n->sig_term);
	uv_signal_init(&n->loop, &n->sig_int);
	uv_signal_init(&n->loop, &n->sig_hup);
	uv_timer_init(&n->loop, &n->grace);
	n->sig_term.data = n->sig_int.data = n->sig_hup.data = n->grace.data = n;
	return 0;
}

int net_new(const conf_t *c, net_t **out)
{
	net_t *n = calloc(1, sizeof(*n));
	if (!n)
		return SRVD_ENOMEM;
	atomic_init(&n->srv, NULL);
	atomic_init(&n->stopping, false);
	/* A peer that resets a TCP connection must not kill us on write. */
	signal(SIGPIPE, SIG_IGN);
	int rc = copy_conf(n, c);
	if (rc == 0)
		rc = init_addrs(n, c);
	if (rc == 0)
		rc = init_loop(n);
	if (rc == 0)
		rc = init_workers(n);
	if (rc) {
		net_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

void net_log_addrs(const net_t *n)
{
	for (size_t i = 0; i < n->n_addrs; i++)
		log_info("listening on %s (udp, tcp)", n->addrs[i].text);
	log_info("%u workers, tcp-max-clients %zu per worker, tcp-idle-timeout %llu s",
	         n->n_workers, n->max_conns, (unsigned long long)(n->idle_ms / 1000));
}

static void on_signal(uv_signal_t *h, int signum);

/* Signals are watched before the first zone loads and so before the
 * first worker answers: whoever sees an answer may signal us at once, and
 * the default action would kill us. They queue in libuv until net_run runs
 * the loop (the first load runs without it), so on_signal always finds the
 * reload machinery in place. */
static int watch_signals(net_t *n)
{
	int rc = uv_signal_start(&n->sig_term, on_signal, SIGTERM);
	if (rc == 0)
		rc = uv_signal_start(&n->sig_int, on_signal, SIGINT);
	if (rc == 0)
		rc = uv_signal_start(&n->sig_hup, on_signal, SIGHUP);
	if (rc)
		log_err("signals: %s", uv_strerror(rc));
	return rc ? SRVD_EIO : 0;
}

/* ---- services ---------------------------------------------------------------- */

int net_add_service(net_t *n, const net_service_t *svc)
{
	if (!svc)
		return SRVD_EINVAL;
	if (n->n_svc == NET_MAX_SERVICES)
		return SRVD_ELIMIT;
	n->svc[n->n_svc++] = svc;
	return 0;
}

int net_services_init(net_t *n)
{
	for (size_t i = 0; i < n->n_svc; i++) {
		int rc = n->svc[i]->init ? n->svc[i]->init(n, &n->svc_state[i]) : 0;
		if (rc) {
			log_err("%s: %s", n->svc[i]->name, srvd_strerror(rc));
			return rc;
		}
	}
	return 0;
}

void net_services_after_reload(net_t *n)
{
	for (size_t i = 0; i < n->n_svc; i++)
		if (n->svc[i]->after_reload && n->svc_state[i])
			n->svc[i]->after_reload(n->svc_state[i]);
}

void net_services_notified(net_t *n, const char *zone)
{
	for (size_t i = 0; i < n->n_svc; i++)
		if (n->svc[i]->notified && n->svc_state[i])
			n->svc[i]->notified(n->svc_state[i], zone);
}

int net_services_refresh(net_t *n, const char *zone, bool axfr)
{
	for (size_t i = 0; i < n->n_svc; i++)
		if (n->svc[i]->refresh && n->svc_state[i] &&
		    n->svc[i]->refresh(n->svc_state[i], zone, axfr) == 0)
			return 0;
	return SRVD_ENOENT;
}

void net_services_zone_status(const net_t *n, const char *zone, struct ctl_reply *r)
{
	for (size_t i = 0; i < n->n_svc; i++)
		if (n->svc[i]->zone_status && n->svc_state[i])
			n->svc[i]->zone_status(n->svc_state[i], zone, r);
}

void net_services_stop(net_t *n)
{
	for (size_t i = 0; i < n->n_svc; i++)
		if (n->svc[i]->stop && n->svc_state[i])
			n->svc[i]->stop(n->svc_state[i]);
}

void net_services_free(net_t *n)
{
	for (size_t i = 0; i < n->n_svc; i++) {
		if (n->svc[i]->free && n->svc_state[i])
			n->svc[i]->free(n->svc_state[i]);
		n->svc_state[i] = NULL;
	}
}

/* ---- start-up ----------------------------------------------------------------- */

static void counters(net_t *n, srvd_zoneset_t *zs);

static int start_services(net_t *n, conf_t *conf, ztab_conf_fn reload, void *ctx, unsigned *failed)
{
	srvd_zoneset_t *zs = NULL;
	int rc = net_watch_init(n);
	if (rc == 0)
		rc = net_notify_init(n);
	if (rc == 0)
		rc = net_notified_init(n);
	if (rc == 0)
		rc = net_update_init(n);
	if (rc == 0)
		rc = net_guard_init(n);
	if (rc == 0)
		rc = net_services_init(n);
	if (rc == 0)
		rc = net_reload_init(n, conf, reload, ctx, &zs, failed);
	else
		conf_free(conf);
	if (rc) {
		log_err("loading zones: %s", srvd_strerror(rc));
		return rc;
	}
	srvd_server_t *srv = NULL;
	counters(n, zs);
	rc = srvd_server_new(zs, NULL, NULL, 0, &srv);
	srvd_zoneset_unref(zs);
	if (rc) {
		log_err("loading zones: %s", srvd_strerror(rc));
		return rc;
	}
	atomic_store(&n->srv, srv);
	net_reload_publish_keys(n);
	net_guard_update(n);
	net_services_after_reload(n);
	const char *control = net_reload_conf(n)->control;
	return control ? net_control_start(n, control) : 0;
}

/* ---- descriptors ------------------------------------------------------------ */

static size_t count_open_fds(rlim_t limit)
{
	size_t open = 0;
	for (rlim_t fd = 0; fd < limit && fd < 65536; fd++)
		open += fcntl((int)fd, F_GETFD) != -1;
	return open;
}

/* Every TCP connection is a descriptor. At RLIMIT_NOFILE accept fails
 * (EMFILE), and so does opening a zone file, a journal or a control client:
 * the TCP cap must leave room for them. What is open now (sockets, loops,
 * the control socket, inotify) plus NET_FD_SPARE for what opens later, and
 * one per listener for the connection libuv holds while we are at the cap,
 * is kept from TCP. The soft limit is raised towards the hard one first, as
 * far as tcp-max-clients needs. */
static void cap_connections(net_t *n)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	size_t reserve = count_open_fds(rl.rlim_cur) + NET_FD_SPARE + n->n_workers * n->n_addrs;
	rlim_t need = (rlim_t)(reserve + n->max_total);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = old;
		else
			log_info("RLIMIT_NOFILE raised from %llu to %llu for tcp-max-clients",
			         (unsigned long long)old, (unsigned long long)rl.rlim_cur);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	size_t avail = rl.rlim_cur > reserve ? (size_t)rl.rlim_cur - reserve : 0;
	size_t per = avail / n->n_workers ? avail / n->n_workers : 1;
	log_warn("tcp-max-clients lowered from %zu to %zu (%zu per worker): RLIMIT_NOFILE is %llu "
	         "and %zu descriptors are kept for the sockets, zone files, journals, the control "
	         "socket and transfers",
	         n->max_total, per * n->n_workers, per, (unsigned long long)rl.rlim_cur, reserve);
	n->max_conns = per;
	for (unsigned i = 0; i < n->n_workers; i++)
		n->workers[i]->max_conns = per;
}

static void notify_all(net_t *n)
{
	const ztab_t *t = net_reload_table(n);
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->ver && t->v[i]->src.n_notify)
			net_notify_zone(n, t->v[i]);
}

/* WatchdogSec=: ping at half the interval from the main loop, so a main
 * loop that hangs (and with it reloads and control) gets us restarted. */
static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notifyf("WATCHDOG=1");
}

static void start_watchdog(net_t *n)
{
	uint64_t usec = sd_watchdog_usec();
	if (!usec)
		return;
	uint64_t ms = usec / 2000u ? usec / 2000u : 1;
	if (uv_timer_init(&n->loop, &n->watchdog) == 0) {
		n->watchdog_on = true;
		uv_timer_start(&n->watchdog, on_watchdog, 0, ms);
	}
}

int net_start(net_t *n, conf_t *conf, ztab_conf_fn reload, void *ctx, size_t *zones,
              unsigned *failed)
{
	n->started = true;
	n->started_at = time(NULL);
	*failed = 0;
	/* Before the first load, which may take a while: a SIGHUP (systemctl
	 * reload) then waits in libuv and becomes a reload once the loop runs,
	 * instead of killing us with the default action. */
	int rc = watch_signals(n);
	if (rc == 0)
		rc = start_services(n, conf, reload, ctx, failed);
	else
		conf_free(conf);
	if (rc == 0)
		cap_connections(n);
	for (unsigned i = 0; rc == 0 && i < n->n_workers; i++)
		rc = net_worker_start(n->workers[i]);
	if (rc == 0)
		notify_all(n);
	if (rc == 0)
		start_watchdog(n);
	srvd_server_t *srv = atomic_load(&n->srv);
	*zones = srv ? srvd_zoneset_count(srvd_server_zoneset(srv)) : 0;
	return rc;
}

/* ---- publication ------------------------------------------------------------ */

/* Per-zone counters, a row per worker, on every version of zs that has
 * none yet; before any worker can see them (zone/stats.c). Without
 * memory a zone is only counted in the totals. */
static void counters(net_t *n, srvd_zoneset_t *zs)
{
	if (zs && srvd_zoneset_counters(zs, n->n_workers) != 0)
		log_warn("stats: out of memory; some zones are counted in the totals only");
}

static void on_grace(uv_timer_t *t)
{
	net_t *n = t->data;
	for (unsigned i = 0; i < n->n_workers; i++)
		if (atomic_load(&n->workers[i]->epoch) == n->snap[i])
			return;
	uv_timer_stop(t);
	const srvd_zoneset_t *cur = srvd_server_zoneset(atomic_load(&n->srv));
	for (size_t i = 0; i < n->n_retired; i++) {
		net_stats_fold(n, srvd_server_zoneset(n->retired[i]), cur);
		srvd_server_unref(n->retired[i]);
	}
	n->n_retired = 0;
	log_debug("publish: previous server state released");
	if (n->release_pending) {
		n->release_pending = false;
		net_reload_released(n);
	}
}

/* Keep old until every worker has passed its quiescent point. Out of
 * memory, it is leaked rather than freed too early. */
static void retire(net_t *n, srvd_server_t *old)
{
	if (!old)
		return;
	if (arr_grow((void **)&n->retired, &n->cap_retired, n->n_retired + 1, sizeof(*n->retired),
	             4) != 0) {
		log_err("publish: out of memory; the replaced state stays allocated");
		return;
	}
	n->retired[n->n_retired++] = old;
}

/* Swap s in (taking the reference) and start the grace period. */
static void swap_in(net_t *n, srvd_server_t *s)
{
	retire(n, atomic_exchange(&n->srv, s));
	for (unsigned i = 0; i < n->n_workers; i++)
		n->snap[i] = atomic_load(&n->workers[i]->epoch);
	for (unsigned i = 0; i < n->n_workers; i++)
		net_worker_wake(n->workers[i]);
	uv_timer_start(&n->grace, on_grace, 1, 1);
}

/* A copy of the served state with zs or keys replaced, or NULL. */
static srvd_server_t *derive(net_t *n, srvd_zoneset_t *zs, srvd_keyring_t *keys)
{
	srvd_server_t *s = NULL;
	int rc = dsp_server_derive(atomic_load(&n->srv), zs, keys, &s);
	if (rc)
		log_err("publish: %s; still serving the previous state", srvd_strerror(rc));
	return rc ? NULL : s;
}

void net_publish(net_t *n, srvd_zoneset_t *zs)
{
	counters(n, zs);
	srvd_server_t *s = derive(n, zs, NULL);
	srvd_zoneset_unref(zs);
	n->release_pending = true;
	if (s)
		swap_in(n, s);
	else
		uv_timer_start(&n->grace, on_grace, 1, 1);
}

void net_publish_keys(net_t *n, srvd_keyring_t *keys)
{
	srvd_server_t *s = derive(n, NULL, keys);
	srvd_keyring_unref(keys);
	if (s)
		swap_in(n, s);
}

void net_publish_guard(net_t *n, const srvd_guard_conf_t *g)
{
	srvd_server_t *s = NULL;
	int rc = srvd_server_with_guard(atomic_load(&n->srv), g, &s);
	if (rc)
		log_err("publish: rrl and cookies: %s; keeping the previous ones",
		        srvd_strerror(rc));
	else
		swap_in(n, s);
}

void net_publish_rules(net_t *n, const srvd_zone_rule_t *rules, xfr_journal_t *const *journals,
                       size_t n_rules)
{
	const srvd_server_t *cur = atomic_load(&n->srv);
	srvd_server_t *s = NULL;
	int rc = dsp_server_new(cur->zs, cur->keys, rules, journals, n_rules, &s);
	if (rc == 0 && (rc = dsp_server_set_guard(s, cur->guard)) != 0)
		srvd_server_unref(s);
	if (rc)
		log_err("publish: zone rules: %s; keeping the previous ones", srvd_strerror(rc));
	else
		swap_in(n, s);
}

/* ---- signals and stopping ------------------------------------------------ */

/* The signal handles stay open (but no longer hold the loop) so that a
 * second SIGTERM during the drain does not kill us with the default action. */
static void begin_stop(net_t *n)
{
	if (n->stopped)
		return;
	n->stopped = true;
	atomic_store(&n->stopping, true);
	sd_notifyf("STOPPING=1\nSTATUS=stopping");
	if (n->watchdog_on)
		uv_close((uv_handle_t *)&n->watchdog, NULL);
	n->watchdog_on = false;
	for (unsigned i = 0; i < n->n_workers; i++)
		net_worker_wake(n->workers[i]);
	uv_unref((uv_handle_t *)&n->sig_term);
	uv_unref((uv_handle_t *)&n->sig_int);
	uv_unref((uv_handle_t *)&n->sig_hup);
	uv_timer_stop(&n->grace);
	net_control_stop(n);
	net_stats_stop(n);
	net_watch_stop(n);
	net_notify_stop(n);
	net_notified_stop(n);
	net_update_stop(n);
	net_guard_stop(n);
	net_services_stop(n);
	net_reload_stop(n);
}

void net_stop(net_t *n)
{
	if (!n->stopped)
		log_info("stopping");
	begin_stop(n);
}

static void on_signal(uv_signal_t *h, int signum)
{
	net_t *n = h->data;
	if (signum == SIGHUP) {
		if (n->stopped)
			return;
		log_info("SIGHUP: reloading the configuration and changed zones");
		net_reload_request(n, ZTAB_JOB_CONF | ZTAB_JOB_CHECK, NULL, NULL);
		return;
	}
	if (!n->stopped)
		log_info("%s: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
	begin_stop(n);
}

static void join_workers(net_t *n)
{
	for (unsigned i = 0; n->workers && i < n->n_workers; i++)
		if (n->workers[i])
			net_worker_join(n->workers[i]);
}

int net_run(net_t *n)
{
	uv_run(&n->loop, UV_RUN_DEFAULT);
	join_workers(n);
	return 0;
}

/* ---- teardown ------------------------------------------------------------- */

static void close_any(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void log_counters(const net_t *n)
{
	uint64_t udp = 0, tcp = 0, xfr = 0, dropped = 0;
	for (unsigned i = 0; i < n->n_workers; i++) {
		const worker_t *w = n->workers[i];
		udp += atomic_load(&w->stats.udp_recv);
		dropped += atomic_load(&w->stats.udp_dropped);
		tcp += atomic_load(&w->stats.tcp_queries);
		xfr += atomic_load(&w->stats.xfr_started);
	}
	log_info("served %llu udp and %llu tcp queries, %llu transfers, %llu udp replies dropped",
	         (unsigned long long)udp, (unsigned long long)tcp, (unsigned long long)xfr,
	         (unsigned long long)dropped);
}

void net_free(net_t *n)
{
	if (!n)
		return;
	if (n->started && n->loop_ok) {
		begin_stop(n);
		uv_run(&n->loop, UV_RUN_DEFAULT);
		join_workers(n);
		log_counters(n);
	}
	for (unsigned i = 0; n->workers && i < n->n_workers; i++)
		net_worker_free(n->workers[i]);
	if (n->loop_ok) {
		uv_walk(&n->loop, close_any, NULL);
		uv_run(&n->loop, UV_RUN_DEFAULT);
		if (uv_loop_close(&n->loop))
			log_err("main loop still has handles at exit");
	}
	net_control_free(n);
	net_stats_free(n);
	net_watch_free(n);
	net_notify_free(n);
	net_notified_free(n);
	net_update_free(n);
	net_guard_free(n);
	net_services_free(n);
	net_reload_free(n);
	srvd_server_unref(atomic_load(&n->srv));
	for (size_t i = 0; i < n->n_retired; i++)
		srvd_server_unref(n->retired[i]);
	free(n->retired);
	free(n->workers);
	free(n->snap);
	free(n->addrs);
	free(n->nsid);
	free(n->identity);
	free(n->version);
	free(n);
}
