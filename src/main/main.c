/*
 * main.c - startup and teardown only:
 * config -> log -> http -> api (credential check) -> cache -> inodes -> tree
 * -> FUSE session -> loop, and back down in reverse order; the service
 * manager (sdnotify) hears READY=1 before the loop and STOPPING=1 after it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "doccache.h"
#include "cache.h"
#include "config.h"
#include "fsops.h"
#include "http.h"
#include "inode.h"
#include "scratch.h"
#include "log.h"
#include "tree.h"
#include "sdnotify.h"
#include "change.h"

/* SIGHUP drops every cache: the handler only posts; a thread does the work. */
static sem_t main_hup_sem;
static volatile sig_atomic_t main_hup_stop;

static void main_on_hup(int sig)
{
	sem_post(&main_hup_sem);
}

static void *main_hup_thread(void *arg)
{
	struct fsops *fs = arg;

	for (;;) {
		while (sem_wait(&main_hup_sem) < 0 && errno == EINTR)
			;
		if (main_hup_stop)
			return NULL;
		fsops_refresh(fs);
		log_info("SIGHUP: caches dropped");
	}
}

/*
 * The service manager's view: "team T on /mnt", then the last error after
 * it. Both set before the FUSE threads start and read-only while they run.
 */
static struct sdnotify main_sd = { .fd = -1 };
static char main_status[512];

static void main_on_error(const char *line, void *arg)
{
	char text[SDNOTIFY_STATUS_MAX];

	snprintf(text, sizeof(text), "%s; last error: %s", main_status, line);
	sdnotify_status(&main_sd, text);
}

/* Check the key (and learn the team) with one request before mounting. */
static int main_check_credentials(struct config *cfg, struct api *api)
{
	struct whoami w = { 0 };
	int rc = api_validate(api, &w);

	if (rc == -EACCES) {
		fprintf(stderr, "xaifs: the management key was refused by %s\n",
			cfg->management_url);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "xaifs: cannot reach %s: %s\n",
			cfg->management_url, strerror(-rc));
		goto out;
	}
	if (!cfg->team_id && !*w.team_id) {
		fprintf(stderr,
			"xaifs: the management key does not name a team; "
			"give one with XAI_TEAM_ID or -o team_id=ID\n");
		rc = -EINVAL;
		goto out;
	}
	if (cfg->team_id && *w.team_id && strcmp(w.scope, "SCOPE_TEAM") == 0 &&
	    strcmp(cfg->team_id, w.team_id) != 0) {
		fprintf(stderr,
			"xaifs: team '%s' not found: the management key belongs to "
			"another team\n",
			cfg->team_id);
		rc = -ENOENT;
		goto out;
	}
	if (!cfg->team_id && !(cfg->team_id = strdup(w.team_id)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = api_set_team(api, cfg->team_id);
out:
	whoami_release(&w);
	return rc;
}

#define MAIN_MAX_THREADS 16

static struct fuse_loop_config *main_loop_config(void)
{
	struct fuse_loop_config *lc = fuse_loop_cfg_create();

	/*
	 * Idle workers are kept (idle limit = thread limit). A worker that
	 * libfuse retires early detaches and exits on its own; if that exit
	 * runs after fuse_session_destroy() has deleted the thread-specific
	 * key of libfuse's splice pipe, the pipe's destructor never runs and
	 * its 24-byte record and two descriptors leak (LeakSanitizer saw it in
	 * the stress test). Kept workers are cancelled and joined by the loop
	 * itself, which runs every destructor before the session goes.
	 */
	if (lc) {
		fuse_loop_cfg_set_clone_fd(lc, 0);
		fuse_loop_cfg_set_max_threads(lc, MAIN_MAX_THREADS);
		fuse_loop_cfg_set_idle_threads(lc, MAIN_MAX_THREADS);
	}
	return lc;
}

/* READY=1 for the service manager, with the pid that runs the mount. */
static void main_tell_ready(const struct config *cfg)
{
	char ready[64];

	sdnotify_status(&main_sd, main_status);
	if (cfg->foreground) {
		sdnotify_send(&main_sd, "READY=1");
		return;
	}
	snprintf(ready, sizeof(ready), "READY=1\nMAINPID=%ld", (long)getpid());
	sdnotify_send(&main_sd, ready);
}

/* Serve requests until unmounted or signalled; libfuse's result. */
static int main_loop(struct fuse_session *se, const struct config *cfg)
{
	struct fuse_loop_config *lc;
	int rc;

	if (cfg->single_thread)
		return fuse_session_loop(se);
	lc = main_loop_config();
	rc = lc ? fuse_session_loop_mt(se, lc) : 1;
	fuse_loop_cfg_destroy(lc);
	return rc;
}

static int main_run(struct config *cfg, struct fuse_args *args,
		    struct fsops *fs, struct cache *cache)
{
	struct fuse_session *se;
	pthread_t hup;
	int rc = 1, hup_started = 0;

	se = fuse_session_new(args, &fsops_ops, sizeof(fsops_ops), fs);
	if (!se)
		return 1;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, cfg->mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(cfg->foreground) != 0)
		goto out_unmount;
	/* Threads start after daemonizing: fork keeps only the calling thread. */
	if (!cfg->foreground)
		log_init(cfg->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, 1);
	if (sdnotify_enabled(&main_sd))
		log_set_error_hook(main_on_error, NULL);
	if (fsops_start(fs, se) < 0)
		goto out_unmount;
	sem_init(&main_hup_sem, 0, 0);
	signal(SIGHUP, main_on_hup);
	hup_started = pthread_create(&hup, NULL, main_hup_thread, fs) == 0;
	log_info("mounted %s on %s", cfg->source ? cfg->source : "xaifs",
		 cfg->mountpoint);
	/*
	 * The kernel holds any request made from now on until the loop below
	 * reads it: the mount answers. After daemonizing, this process is not
	 * the one the service manager started, hence MAINPID (a unit should
	 * run xaifs with -f, as contrib/xaifs.service does).
	 */
	main_tell_ready(cfg);
	rc = main_loop(se, cfg);
	sdnotify_send(&main_sd, "STOPPING=1");
	if (hup_started) {
		main_hup_stop = 1;
		sem_post(&main_hup_sem);
		pthread_join(hup, NULL);
	}
	fsops_stop(fs);
out_unmount:
	log_set_error_hook(NULL, NULL);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	/* A loop ended by SIGTERM, SIGINT or SIGHUP reports the signal: a clean
	 * stop. */
	return rc == 0 || rc == SIGTERM || rc == SIGINT || rc == SIGHUP ? 0 : 1;
}

/* Every layer of the mount, built bottom up by main_build(). */
struct main_parts {
	struct http *http;
	struct api *api;
	struct doccache *doccache;
	struct cache *cache;
	struct inode_table *inodes;
	struct scratch *scratch;
	struct tree *tree;
	struct change *change;
};

/* The HTTP client and the API, with the credentials checked. 0 or -1. */
static int main_build_api(struct config *cfg, struct main_parts *p)
{
	if (http_global_init() < 0)
		return -1;
	p->http = http_new(&(struct http_opts){ cfg->connect_timeout,
						cfg->timeout, cfg->max_conns, 4,
						cfg->cacert, cfg->trace_fd });
	p->api = p->http ? api_new(p->http,
				   &(struct api_opts){
					   cfg->management_url, cfg->api_url,
					   cfg->mgmt_key, cfg->api_key,
					   cfg->page_size, cfg->read_only,
					   cfg->upload && strcmp(cfg->upload,
								 "files") == 0,
					   cfg->max_conns / 2 })
			 : NULL;
	if (!p->api || main_check_credentials(cfg, p->api) < 0)
		return -1;
	snprintf(main_status, sizeof(main_status), "team %s on %s",
		 cfg->team_id, cfg->mountpoint);
	return 0;
}

/* Every layer above the API. 0 or -1 (with a message). */
static int main_build(struct config *cfg, const char *tmpdir,
		      struct main_parts *p)
{
	if (main_build_api(cfg, p) < 0)
		return -1;
	p->doccache = doccache_new(cfg->cache_dir, tmpdir, cfg->cache_size);
	if (!p->doccache) {
		fprintf(stderr, "xaifs: cannot use cache directory '%s': %s\n",
			cfg->cache_dir ? cfg->cache_dir : tmpdir,
			strerror(errno));
		return -1;
	}
	p->cache = cache_new(p->api, &(struct cache_opts){
					     cfg->cache_ttl, cfg->live_ttl,
					     4096, p->doccache, tmpdir, NULL });
	p->inodes = inode_table_new();
	p->scratch = p->inodes ? scratch_new(p->inodes, tmpdir) : NULL;
	p->tree = p->cache && p->scratch
			  ? tree_new(p->cache, p->inodes, p->scratch,
				     &(struct tree_opts){
					     cfg->uid, cfg->gid, cfg->cache_ttl,
					     cfg->live_ttl, tmpdir, cfg->umask,
					     cfg->read_only })
			  : NULL;
	p->change = p->tree ? change_new(p->tree, p->cache, p->api, p->scratch,
					 cfg->read_only, tmpdir)
			    : NULL;
	return p->change ? 0 : -1;
}

/* Free what main_build() made, top down (any part may be NULL). */
static void main_teardown(struct main_parts *p)
{
	change_free(p->change);
	tree_free(p->tree);
	scratch_free(p->scratch);
	inode_table_free(p->inodes);
	/* download threads call into the cache and the API: wait for them */
	doccache_drain(p->doccache);
	cache_free(p->cache);
	doccache_free(p->doccache);
	api_free(p->api);
	http_free(p->http);
	http_global_cleanup();
}

/*
 * Whether libfuse takes every option left for it: a session made and
 * dropped at once (nothing is mounted), so that an unknown -o option is
 * reported, by libfuse, before any request goes out. 0 or -1.
 */
static int main_check_fuse_args(const struct fuse_args *args)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	int rc = 0;

	for (int i = 0; i < args->argc && rc == 0; i++)
		rc = fuse_opt_add_arg(&copy, args->argv[i]);
	if (rc == 0) {
		se = fuse_session_new(&copy, &fsops_ops, sizeof(fsops_ops),
				      NULL);
		rc = se ? 0 : -1;
	}
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&copy);
	return rc;
}

/* --help and --version: 1 when one of them was asked for (and printed). */
static int main_info(const struct config *cfg, const char *prog)
{
	if (cfg->show_help)
		config_print_help(prog);
	else if (cfg->show_version)
		printf("xaifs %s (libfuse %d, %s)\n", XAIFS_VERSION,
		       fuse_version(), curl_version());
	return cfg->show_help || cfg->show_version;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct main_parts parts = { 0 };
	struct config cfg;
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	int rc = 1;

	if (config_parse(&cfg, &args) < 0)
		goto out;
	if (main_info(&cfg, argv[0])) {
		rc = 0;
		goto out;
	}
	if (config_finish(&cfg) < 0 || main_check_fuse_args(&args) < 0)
		goto out;
	log_init(cfg.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO, 0);
	log_add_secret(cfg.mgmt_key);
	log_add_secret(cfg.api_key);
	if (sdnotify_init(&main_sd, getenv("NOTIFY_SOCKET")) < 0)
		log_warn(
			"cannot tell the service manager how the mount is doing: "
			"bad NOTIFY_SOCKET '%s'",
			getenv("NOTIFY_SOCKET"));
	if (main_build(&cfg, tmpdir, &parts) == 0)
		rc = main_run(&cfg, &args,
			      &(struct fsops){ .tree = parts.tree,
					       .change = parts.change,
					       .read_only = cfg.read_only,
					       .negative_ttl = cfg.cache_ttl },
			      parts.cache);
	main_teardown(&parts);
out:
	sdnotify_release(&main_sd);
	log_clear_secrets();
	config_release(&cfg);
	fuse_opt_free_args(&args);
	return rc;
}
