/* config.c - the command line, the config file and --help; see config.h. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_RO,
	KEY_RW,
	KEY_KEY,
	KEY_ALLOW_OTHER,
};

#define CONFIG_OPT(t, p)                         \
	{                                        \
		t, offsetof(struct config, p), 1 \
	}

static const struct fuse_opt config_opts[] = {
	CONFIG_OPT("key_file=%s", key_file),
	CONFIG_OPT("api_key_file=%s", api_key_file),
	CONFIG_OPT("team_id=%s", team_id),
	CONFIG_OPT("management_url=%s", management_url),
	CONFIG_OPT("api_url=%s", api_url), CONFIG_OPT("region=%s", region),
	CONFIG_OPT("cache_dir=%s", cache_dir),
	CONFIG_OPT("config=%s", config_file),
	CONFIG_OPT("cache_size=%s", cache_size_str),
	CONFIG_OPT("cacert=%s", cacert), CONFIG_OPT("trace=%s", trace),
	CONFIG_OPT("upload=%s", upload), CONFIG_OPT("uid=%s", uid_str),
	CONFIG_OPT("gid=%s", gid_str), CONFIG_OPT("umask=%s", umask_str),
	CONFIG_OPT("cache_ttl=%lf", cache_ttl),
	CONFIG_OPT("live_ttl=%lf", live_ttl),
	CONFIG_OPT("page_size=%d", page_size),
	CONFIG_OPT("connect_timeout=%d", connect_timeout),
	CONFIG_OPT("timeout=%d", timeout),
	CONFIG_OPT("max_conns=%d", max_conns),
	/* keys by any likely name: refused before libfuse could echo an
	 * unknown option, value and all */
	FUSE_OPT_KEY("key=", KEY_KEY), FUSE_OPT_KEY("api_key=", KEY_KEY),
	FUSE_OPT_KEY("management_key=", KEY_KEY),
	FUSE_OPT_KEY("mgmt_key=", KEY_KEY), FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP), FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND), FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG), FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("ro", KEY_RO), FUSE_OPT_KEY("rw", KEY_RW),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER), FUSE_OPT_END
};

/* Options that only mean something to fstab or mount(8) and must not reach
 * libfuse. */
static const char *const config_dropped[] = {
	"_netdev",  "noauto", "auto",	 "nofail",   "user",   "users",
	"defaults", "exec",   "noexec",	 "suid",     "nosuid", "dev",
	"nodev",    "atime",  "noatime", "relatime", NULL
};

static int config_nonopt(struct config *c, const char *arg)
{
	if (!c->mountpoint) {
		c->mountpoint = strdup(arg);
		return c->mountpoint ? 0 : -1;
	}
	if (c->source) {
		fprintf(stderr, "xaifs: too many arguments: '%s'\n", arg);
		return -1;
	}
	/* Two non-options: the first was SOURCE (mount -t fuse.xaifs SOURCE
	 * DIR). */
	c->source = c->mountpoint;
	c->mountpoint = strdup(arg);
	return c->mountpoint ? 0 : -1;
}

static int config_proc(void *data, const char *arg, int key,
		       struct fuse_args *out)
{
	struct config *c = data;

	switch (key) {
	case KEY_HELP:
		c->show_help = 1;
		return 0;
	case KEY_VERSION:
		c->show_version = 1;
		return 0;
	case KEY_FOREGROUND:
		c->foreground = 1;
		return 0;
	case KEY_DEBUG:
		c->debug = 1;
		c->foreground = 1;
		return 1;
	case KEY_SINGLE:
		c->single_thread = 1;
		return 0;
	case KEY_RO:
	case KEY_RW:
		c->read_only = key == KEY_RO;
		c->ro_given = 1;
		return 1;
	case KEY_ALLOW_OTHER:
		c->allow_other = 1;
		return 1;
	case KEY_KEY:
		fprintf(stderr,
			"xaifs: keys are not accepted on the command line (anyone can "
			"read them there); use XAI_MANAGEMENT_KEY and XAI_API_KEY, or "
			"-o key_file=PATH and -o api_key_file=PATH\n");
		return -1;
	case FUSE_OPT_KEY_NONOPT:
		return config_nonopt(c, arg);
	case FUSE_OPT_KEY_OPT:
		for (int i = 0; config_dropped[i]; i++)
			if (strcmp(arg, config_dropped[i]) == 0)
				return 0;
		return 1;
	default:
		return 1;
	}
}

#define CONFIG_UNSET INT_MIN /* "not given"; no one sets an option to this */

static void config_unset(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->cache_ttl = CONFIG_UNSET;
	c->live_ttl = CONFIG_UNSET;
	c->page_size = CONFIG_UNSET;
	c->connect_timeout = CONFIG_UNSET;
	c->timeout = CONFIG_UNSET;
	c->max_conns = CONFIG_UNSET;
}

#define CONFIG_TAKE_STR(dst, src, f)         \
	do {                                 \
		if (!(dst)->f) {             \
			(dst)->f = (src)->f; \
			(src)->f = NULL;     \
		}                            \
	} while (0)
#define CONFIG_TAKE_NUM(dst, src, f, def)                              \
	do {                                                           \
		if ((dst)->f == CONFIG_UNSET)                          \
			(dst)->f = (src)->f != CONFIG_UNSET ? (src)->f \
							    : (def);   \
	} while (0)

/* Fill what the command line left unset from the file's values, then defaults. */
static void config_merge(struct config *c, struct config *f)
{
	CONFIG_TAKE_STR(c, f, key_file);
	CONFIG_TAKE_STR(c, f, api_key_file);
	CONFIG_TAKE_STR(c, f, team_id);
	CONFIG_TAKE_STR(c, f, management_url);
	CONFIG_TAKE_STR(c, f, api_url);
	CONFIG_TAKE_STR(c, f, region);
	CONFIG_TAKE_STR(c, f, cache_dir);
	CONFIG_TAKE_STR(c, f, cache_size_str);
	CONFIG_TAKE_STR(c, f, cacert);
	CONFIG_TAKE_STR(c, f, trace);
	CONFIG_TAKE_STR(c, f, upload);
	CONFIG_TAKE_STR(c, f, uid_str);
	CONFIG_TAKE_STR(c, f, gid_str);
	CONFIG_TAKE_STR(c, f, umask_str);
	CONFIG_TAKE_NUM(c, f, cache_ttl, 60);
	CONFIG_TAKE_NUM(c, f, live_ttl, 10);
	CONFIG_TAKE_NUM(c, f, page_size, 0);
	CONFIG_TAKE_NUM(c, f, connect_timeout, 10);
	CONFIG_TAKE_NUM(c, f, timeout, 30);
	CONFIG_TAKE_NUM(c, f, max_conns, 8);
	if (!c->ro_given)
		c->read_only = f->read_only;
	c->allow_other |= f->allow_other;
}

/* The config file's path: given, or the XDG default (NULL if none applies). */
static char *config_file_path(const struct config *c, int *explicit)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *p = NULL;

	*explicit = c->config_file != NULL;
	if (c->config_file)
		return strdup(c->config_file);
	if (xdg && *xdg && asprintf(&p, "%s/xaifs/config", xdg) < 0)
		p = NULL;
	else if ((!xdg || !*xdg) && home && *home &&
		 asprintf(&p, "%s/.config/xaifs/config", home) < 0)
		p = NULL;
	return p;
}

/* Turn the file's lines into "-o line" arguments. */
static int config_file_args(FILE *fp, const char *path, struct fuse_args *fa)
{
	char line[4096];
	int rc = 0, n = 0;

	while (rc == 0 && fgets(line, sizeof(line), fp)) {
		char *s = line, *e;

		n++;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		if (strchr(s, ',')) {
			fprintf(stderr,
				"xaifs: %s:%d: one option per line, please\n",
				path, n);
			rc = -EINVAL;
		} else if (fuse_opt_add_arg(fa, "-o") ||
			   fuse_opt_add_arg(fa, s)) {
			rc = -ENOMEM;
		}
	}
	return rc;
}

/* Read the config file into c (CLI values win) and pass its FUSE options on. */
static int config_read_file(struct config *c, struct fuse_args *args)
{
	struct fuse_args fa = FUSE_ARGS_INIT(0, NULL);
	struct config f;
	int explicit, rc = 0;
	char *path = config_file_path(c, &explicit);
	FILE *fp = path ? fopen(path, "re") : NULL;

	config_unset(&f);
	if (!fp && explicit) {
		fprintf(stderr, "xaifs: cannot read config file '%s': %s\n",
			path, strerror(errno));
		rc = -EINVAL;
	}
	if (fp &&
	    (fuse_opt_add_arg(&fa, "xaifs") || config_file_args(fp, path, &fa)))
		rc = -EINVAL;
	if (fp && rc == 0 &&
	    fuse_opt_parse(&fa, &f, config_opts, config_proc) == -1) {
		fprintf(stderr, "xaifs: in config file '%s'\n", path);
		rc = -EINVAL;
	}
	if (rc == 0 && (f.mountpoint || f.source)) {
		fprintf(stderr,
			"xaifs: config file '%s' may only hold options\n",
			path);
		rc = -EINVAL;
	}
	/* File options go first, so that the command line's come later and win.
	 */
	for (int i = fa.argc - 1; rc == 0 && i >= 1; i--)
		if (fuse_opt_insert_arg(args, 1, fa.argv[i]))
			rc = -ENOMEM;
	if (rc == 0)
		config_merge(c, &f);
	if (fp)
		fclose(fp);
	free(path);
	fuse_opt_free_args(&fa);
	config_release(&f);
	return rc;
}

/*
 * Show the mount as "xaifs" of type fuse.xaifs in /proc/mounts and df, and
 * let the kernel check permissions, whatever was asked: without
 * default_permissions the kernel leaves every check to the file system, and
 * xaifs, which acts with the team's key for everyone, would make none.
 */
static int config_mount_opts(const struct config *c, struct fuse_args *args)
{
	char opt[512];
	int named = 0;

	if (fuse_opt_add_arg(args, "-odefault_permissions"))
		return -ENOMEM;
	for (int i = 0; i < args->argc; i++)
		if (strstr(args->argv[i], "fsname=") ||
		    strstr(args->argv[i], "subtype="))
			named = 1;
	if (named)
		return 0;
	snprintf(opt, sizeof(opt), "-ofsname=%s,subtype=xaifs",
		 c->source && !strchr(c->source, ',') ? c->source : "xaifs");
	return fuse_opt_add_arg(args, opt) ? -ENOMEM : 0;
}

int config_parse(struct config *c, struct fuse_args *args)
{
	config_unset(c);
	if (fuse_opt_parse(args, c, config_opts, config_proc) == -1)
		return -EINVAL;
	if (config_mount_opts(c, args) < 0)
		return -ENOMEM;
	if (c->show_help || c->show_version) {
		config_merge(c,
			     &(struct config){ .cache_ttl = CONFIG_UNSET,
					       .live_ttl = CONFIG_UNSET,
					       .page_size = CONFIG_UNSET,
					       .connect_timeout = CONFIG_UNSET,
					       .timeout = CONFIG_UNSET,
					       .max_conns = CONFIG_UNSET });
		return 0;
	}
	return config_read_file(c, args);
}

void config_print_help(const char *prog)
{
	printf("usage: %s [SOURCE] MOUNTPOINT [-f] [-d] [-s] [-o OPTION[,OPTION...]]\n\n"
	       "Mount an xAI team (API keys, models, collections, usage, billing) as files.\n\n"
	       "Credentials (never on the command line):\n"
	       "    XAI_MANAGEMENT_KEY       management key (or -o key_file=PATH, mode 0600)\n"
	       "    XAI_TEAM_ID              team id (or -o team_id=ID; else discovered)\n"
	       "    XAI_API_KEY              inference key for document bytes (or -o api_key_file=PATH)\n\n"
	       "xaifs options:\n"
	       "    -o key_file=PATH         read the management key from PATH\n"
	       "    -o api_key_file=PATH     read the inference key from PATH\n"
	       "    -o team_id=ID            team to mount\n"
	       "    -o management_url=URL    management API (default %s, env XAI_MANAGEMENT_URL)\n"
	       "    -o api_url=URL           inference API (default %s, env XAI_API_URL)\n"
	       "    -o region=R              use https://R.api.x.ai (env XAI_API_REGION)\n"
	       "    -o cache_ttl=SECONDS     how long listings are trusted (default 60)\n"
	       "    -o live_ttl=SECONDS      how long usage and billing are trusted (default 10)\n"
	       "    -o page_size=N           items per list request (default 0: as many as\n"
	       "                             each route gives; collections at most 100)\n"
	       "    -o connect_timeout=S     connect timeout (default 10)\n"
	       "    -o timeout=S             whole-request timeout for metadata (default 30)\n"
	       "    -o max_conns=N           most HTTP requests in flight (default 8)\n"
	       "    -o cache_dir=DIR         keep document bytes in DIR across mounts\n"
	       "    -o cacert=PATH           also trust the CA certificates in PATH (PEM)\n"
	       "    -o trace=FILE            every request and answer as a JSON line, secrets\n"
	       "                             replaced (for a bug report; created 0600)\n"
	       "                             (default: a private directory per mount)\n"
	       "    -o cache_size=N[K|M|G]   most bytes of documents kept on disk (default 1G)\n"
	       "    -o upload=direct|files   upload documents in one request (default), or\n"
	       "                             through the Files API (needs an inference key)\n"
	       "    -o config=PATH           options file, one per line (default\n"
	       "                             $XDG_CONFIG_HOME/xaifs/config or ~/.config/xaifs/config)\n"
	       "    -o ro                    read-only mount\n"
	       "    -o uid=USER              owner every file shows (a name or a number;\n"
	       "                             default: the user who mounts)\n"
	       "    -o gid=GROUP             group every file shows (likewise)\n"
	       "    -o umask=OCTAL           permission bits every file hides (default 077:\n"
	       "                             files 0600, directories 0700); with allow_other,\n"
	       "                             e.g. gid=admins,umask=0027 lets a group read\n\n"
	       "General options:\n"
	       "    -f                       stay in the foreground\n"
	       "    -d                       debug output (implies -f)\n"
	       "    -s                       single-threaded\n"
	       "    -h, --help               this help\n"
	       "    -V, --version            version\n"
	       "    -o allow_other, -o auto_unmount and other FUSE mount options are\n"
	       "    passed to libfuse; default_permissions is always on (the kernel\n"
	       "    enforces the modes shown).\n\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n",
	       prog, CONFIG_DEFAULT_MANAGEMENT_URL, CONFIG_DEFAULT_API_URL);
}

/* Copy an environment variable's value and wipe the original. */
