/* config.c - options, environment and key files; see config.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE_MAX 4096

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

#define CONFIG_OPT(t, p) { t, offsetof(struct config, p), 1 }

static const struct fuse_opt config_opts[] = {
	CONFIG_OPT("key_file=%s", key_file),
	CONFIG_OPT("api_key_file=%s", api_key_file),
	CONFIG_OPT("team_id=%s", team_id),
	CONFIG_OPT("management_url=%s", management_url),
	CONFIG_OPT("api_url=%s", api_url),
	CONFIG_OPT("region=%s", region),
	CONFIG_OPT("cache_dir=%s", cache_dir),
	CONFIG_OPT("config=%s", config_file),
	CONFIG_OPT("cache_size=%s", cache_size_str),
	CONFIG_OPT("upload=%s", upload),
	CONFIG_OPT("uid=%s", uid_str),
	CONFIG_OPT("gid=%s", gid_str),
	CONFIG_OPT("umask=%s", umask_str),
	CONFIG_OPT("cache_ttl=%lf", cache_ttl),
	CONFIG_OPT("live_ttl=%lf", live_ttl),
	CONFIG_OPT("page_size=%d", page_size),
	CONFIG_OPT("connect_timeout=%d", connect_timeout),
	CONFIG_OPT("timeout=%d", timeout),
	CONFIG_OPT("max_conns=%d", max_conns),
	FUSE_OPT_KEY("key=", KEY_KEY),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_KEY("rw", KEY_RW),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	FUSE_OPT_END
};

/* Options that only mean something to fstab or mount(8) and must not reach libfuse. */
static const char *const config_dropped[] = {
	"_netdev", "noauto", "auto", "nofail", "user", "users", "defaults",
	"exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime",
	"noatime", "relatime", NULL
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
	/* Two non-options: the first was SOURCE (mount -t fuse.xaifs SOURCE DIR). */
	c->source = c->mountpoint;
	c->mountpoint = strdup(arg);
	return c->mountpoint ? 0 : -1;
}

static int config_proc(void *data, const char *arg, int key, struct fuse_args *out)
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
		fprintf(stderr, "xaifs: the management key is not accepted on the command line "
			"(anyone can read it there); use XAI_MANAGEMENT_KEY or -o key_file=PATH\n");
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

#define CONFIG_UNSET INT_MIN	/* "not given"; no one sets an option to this */

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

#define CONFIG_TAKE_STR(dst, src, f) \
	do { \
		if (!(dst)->f) { \
			(dst)->f = (src)->f; \
			(src)->f = NULL; \
		} \
	} while (0)
#define CONFIG_TAKE_NUM(dst, src, f, def) \
	do { \
		if ((dst)->f == CONFIG_UNSET) \
			(dst)->f = (src)->f != CONFIG_UNSET ? (src)->f : (def); \
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
	else if ((!xdg || !*xdg) && home && *home && asprintf(&p, "%s/.config/xaifs/config", home) < 0)
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
			fprintf(stderr, "xaifs: %s:%d: one option per line, please\n", path, n);
			rc = -EINVAL;
		} else if (fuse_opt_add_arg(fa, "-o") || fuse_opt_add_arg(fa, s)) {
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
		fprintf(stderr, "xaifs: cannot read config file '%s': %s\n", path, strerror(errno));
		rc = -EINVAL;
	}
	if (fp && (fuse_opt_add_arg(&fa, "xaifs") || config_file_args(fp, path, &fa)))
		rc = -EINVAL;
	if (fp && rc == 0 && fuse_opt_parse(&fa, &f, config_opts, config_proc) == -1) {
		fprintf(stderr, "xaifs: in config file '%s'\n", path);
		rc = -EINVAL;
	}
	if (rc == 0 && (f.mountpoint || f.source)) {
		fprintf(stderr, "xaifs: config file '%s' may only hold options\n", path);
		rc = -EINVAL;
	}
	/* File options go first, so that the command line's come later and win. */
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
		if (strstr(args->argv[i], "fsname=") || strstr(args->argv[i], "subtype="))
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
		config_merge(c, &(struct config){ .cache_ttl = CONFIG_UNSET, .live_ttl = CONFIG_UNSET,
			     .page_size = CONFIG_UNSET, .connect_timeout = CONFIG_UNSET,
			     .timeout = CONFIG_UNSET, .max_conns = CONFIG_UNSET });
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
static int config_take_env(const char *name, char **out)
{
	char *v = getenv(name);

	if (!v || !*v)
		return 0;
	free(*out);
	*out = strdup(v);
	if (!*out)
		return -ENOMEM;
	explicit_bzero(v, strlen(v));
	unsetenv(name);
	return 0;
}

static int config_copy_env(const char *name, char **out)
{
	const char *v = getenv(name);

	if (*out || !v || !*v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static void config_trim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* Read a secret from a regular file that only its owner can read. */
static int config_read_key_file(const char *path, const char *what, char **out)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "xaifs: cannot read %s '%s': %s\n", what, path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "xaifs: %s '%s' is not a regular file\n", what, path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "xaifs: %s '%s' is accessible by group or others (mode %04o); "
			"run: chmod 600 '%s'\n", what, path, (unsigned)(st.st_mode & 07777), path);
		rc = -EACCES;
		goto out;
	}
	n = read(fd, buf, KEY_FILE_MAX + 1);
	if (n < 0 || n > KEY_FILE_MAX) {
		fprintf(stderr, "xaifs: cannot read %s '%s': %s\n", what, path,
			n < 0 ? strerror(errno) : "file too large");
		rc = -EINVAL;
		goto out;
	}
	buf[n] = '\0';
	config_trim(buf);
	if (!*buf || strchr(buf, '\n')) {
		fprintf(stderr, "xaifs: %s '%s' must hold exactly one key\n", what, path);
		rc = -EINVAL;
		goto out;
	}
	free(*out);
	*out = strdup(buf);
	if (!*out)
		rc = -ENOMEM;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int config_host_is_loopback(const char *host, size_t len)
{
	if (len == 9 && strncmp(host, "localhost", 9) == 0)
		return 1;
	if (len == 5 && strncmp(host, "[::1]", 5) == 0)
		return 1;
	/* A dotted quad 127.a.b.c exactly, each part 0-255, no leading zeros. */
	if (len >= 7 && len < 16 && strncmp(host, "127.", 4) == 0) {
		char ip[16];
		struct in_addr a;
		char back[INET_ADDRSTRLEN];

		memcpy(ip, host, len);
		ip[len] = '\0';
		return inet_pton(AF_INET, ip, &a) == 1 &&
		       inet_ntop(AF_INET, &a, back, sizeof(back)) && strcmp(back, ip) == 0;
	}
	return 0;
}

int config_url_allowed(const char *url)
{
	const char *host, *end;

	if (!url)
		return 0;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	if (strncmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/';
	if (strncmp(url, "http://", 7) != 0)
		return 0;
	host = url + 7;
	if (strchr(host, '@'))
		return 0;
	if (*host == '[')
		end = strchr(host, ']') ? strchr(host, ']') + 1 : host;
	else
		end = host + strcspn(host, ":/");
	if (*end && *end != ':' && *end != '/')
		return 0;
	return config_host_is_loopback(host, (size_t)(end - host));
}

static int config_check_url(const char *what, char **url)
{
	size_t n = strlen(*url);

	while (n && (*url)[n - 1] == '/')
		(*url)[--n] = '\0';
	if (!config_url_allowed(*url)) {
		fprintf(stderr, "xaifs: %s '%s' refused: use https:// (plain http:// is allowed "
			"only to a loopback address)\n", what, *url);
		return -EINVAL;
	}
	return 0;
}

static int config_region_url(struct config *c)
{
	char buf[256];

	size_t n = strlen(c->region);

	for (const char *p = c->region; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			n = 0;
	if (n == 0 || n > 63 || c->region[0] == '-') {
		fprintf(stderr, "xaifs: bad region '%s'\n", c->region);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "https://%s.api.x.ai", c->region);
	c->api_url = strdup(buf);
	return c->api_url ? 0 : -ENOMEM;
}

static int config_secrets(struct config *c)
{
	int rc;

	rc = config_take_env("XAI_MANAGEMENT_KEY", &c->mgmt_key);
	if (rc == 0)
		rc = config_take_env("XAI_API_KEY", &c->api_key);
	if (rc == 0 && c->key_file)
		rc = config_read_key_file(c->key_file, "key file", &c->mgmt_key);
	if (rc == 0 && c->api_key_file)
		rc = config_read_key_file(c->api_key_file, "api key file", &c->api_key);
	if (rc < 0)
		return rc;
	if (!c->mgmt_key) {
		fprintf(stderr, "xaifs: no management key: set XAI_MANAGEMENT_KEY or use "
			"-o key_file=PATH\n");
		return -EINVAL;
	}
	return 0;
}

/* "512", "64K", "100M", "2G" -> bytes. */
static int config_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int config_numbers(struct config *c)
{
	if (c->upload && strcmp(c->upload, "direct") != 0 && strcmp(c->upload, "files") != 0) {
		fprintf(stderr, "xaifs: upload= takes 'direct' or 'files'\n");
		return -EINVAL;
	}
	c->cache_size = 1ull << 30;
	if (c->cache_size_str && config_size(c->cache_size_str, &c->cache_size) < 0) {
		fprintf(stderr, "xaifs: bad cache_size '%s' (bytes, or a number with K, M or G)\n",
			c->cache_size_str);
		return -EINVAL;
	}
	if (c->cache_ttl < 0 || c->live_ttl < 0 || c->page_size < 0 || c->page_size > 1000 ||
	    c->connect_timeout < 1 || c->timeout < 1 || c->max_conns < 1 || c->max_conns > 64) {
		fprintf(stderr, "xaifs: an option is out of range (cache_ttl, live_ttl >= 0; "
			"page_size 0-1000; timeouts >= 1; max_conns 1-64)\n");
		return -EINVAL;
	}
	return 0;
}

int config_parse_umask(const char *s, mode_t *out)
{
	unsigned long v = 0;

	if (!s || !*s || strlen(s) > 4)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '7')
			return -EINVAL;
		v = v * 8 + (unsigned long)(*p - '0');
	}
	if (v > 0777)
		return -EINVAL;
	*out = (mode_t)v;
	return 0;
}

/* A decimal id: digits only, below the (id_t)-1 that means "no change". */
static int config_number_id(const char *s, unsigned long *out)
{
	unsigned long long v = 0;

	if (!*s || strlen(s) > 10)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (v >= 0xffffffffull)
		return -EINVAL;
	*out = (unsigned long)v;
	return 0;
}

/*
 * uid= or gid= (group != 0): a number, or a name looked up with
 * getpwnam_r/getgrnam_r. Prints one line and returns -EINVAL when the value
 * names no one.
 */
static int config_lookup_id(const char *s, int group, unsigned long *out)
{
	const char *opt = group ? "gid" : "uid";
	size_t size = 16384;
	char *buf = NULL;
	int rc = -EINVAL, err;

	if (!*s) {
		fprintf(stderr, "xaifs: %s= needs a %s name or a number\n", opt,
			group ? "group" : "user");
		return -EINVAL;
	}
	if (isdigit((unsigned char)*s) || *s == '-' || *s == '+') {
		if (config_number_id(s, out) == 0)
			return 0;
		fprintf(stderr, "xaifs: bad %s '%s': give a %s name or a number below "
			"4294967295\n", opt, s, group ? "group" : "user");
		return -EINVAL;
	}
	for (;;) {
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		char *nb = realloc(buf, size);

		if (!nb) {
			rc = -ENOMEM;
			break;
		}
		buf = nb;
		if (group) {
			err = getgrnam_r(s, &gr, buf, size, &grp);
			if (err == 0 && grp)
				*out = (unsigned long)grp->gr_gid;
		} else {
			err = getpwnam_r(s, &pw, buf, size, &pwp);
			if (err == 0 && pwp)
				*out = (unsigned long)pwp->pw_uid;
		}
		if (err == ERANGE && size < (1u << 22)) {
			size *= 4;
			continue;
		}
		if (err == 0 && (pwp || grp))
			rc = 0;
		else if (err == 0 || err == ENOENT || err == ESRCH)
			fprintf(stderr, "xaifs: unknown %s '%s' in %s=\n",
				group ? "group" : "user", s, opt);
		else
			fprintf(stderr, "xaifs: cannot look up %s '%s' for %s=: %s\n",
				group ? "group" : "user", s, opt, strerror(err));
		break;
	}
	free(buf);
	return rc;
}

/* The owner, group and modes every file shows. */
static int config_owner(struct config *c)
{
	unsigned long id;
	int rc;

	c->uid = getuid();
	c->gid = getgid();
	c->umask = 077;
	if (c->uid_str) {
		if ((rc = config_lookup_id(c->uid_str, 0, &id)) < 0)
			return rc;
		c->uid = (uid_t)id;
	}
	if (c->gid_str) {
		if ((rc = config_lookup_id(c->gid_str, 1, &id)) < 0)
			return rc;
		c->gid = (gid_t)id;
	}
	if (c->umask_str && config_parse_umask(c->umask_str, &c->umask) < 0) {
		fprintf(stderr, "xaifs: bad umask '%s': give octal permission bits to hide, "
			"000 to 777 (e.g. umask=0027)\n", c->umask_str);
		return -EINVAL;
	}
	if ((c->uid_str || c->gid_str || c->umask_str) && !c->allow_other)
		fprintf(stderr, "xaifs: warning: without -o allow_other no other user can "
			"enter the mount, whatever uid=, gid= and umask= say\n");
	return 0;
}

int config_finish(struct config *c)
{
	int rc;

	if (!c->mountpoint) {
		fprintf(stderr, "xaifs: no mountpoint given (see xaifs --help)\n");
		return -EINVAL;
	}
	rc = config_secrets(c);
	if (rc == 0)
		rc = config_copy_env("XAI_TEAM_ID", &c->team_id);
	if (rc == 0)
		rc = config_copy_env("XAI_MANAGEMENT_TEAM_ID", &c->team_id);
	if (rc == 0)
		rc = config_copy_env("XAI_MANAGEMENT_URL", &c->management_url);
	if (rc == 0)
		rc = config_copy_env("XAI_API_URL", &c->api_url);
	if (rc == 0)
		rc = config_copy_env("XAI_API_REGION", &c->region);
	if (rc == 0 && !c->api_url && c->region)
		rc = config_region_url(c);
	if (rc == 0 && !c->management_url)
		rc = (c->management_url = strdup(CONFIG_DEFAULT_MANAGEMENT_URL)) ? 0 : -ENOMEM;
	if (rc == 0 && !c->api_url)
		rc = (c->api_url = strdup(CONFIG_DEFAULT_API_URL)) ? 0 : -ENOMEM;
	if (rc == 0)
		rc = config_check_url("management_url", &c->management_url);
	if (rc == 0)
		rc = config_check_url("api_url", &c->api_url);
	if (rc == 0)
		rc = config_numbers(c);
	if (rc == 0)
		rc = config_owner(c);
	if (rc == -ENOMEM)
		fprintf(stderr, "xaifs: out of memory\n");
	return rc;
}

static void config_wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void config_release(struct config *c)
{
	config_wipe(c->mgmt_key);
	config_wipe(c->api_key);
	free(c->source);
	free(c->mountpoint);
	free(c->key_file);
	free(c->api_key_file);
	free(c->team_id);
	free(c->management_url);
	free(c->api_url);
	free(c->region);
	free(c->cache_dir);
	free(c->cache_size_str);
	free(c->upload);
	free(c->uid_str);
	free(c->gid_str);
	free(c->umask_str);
	free(c->config_file);
	memset(c, 0, sizeof(*c));
}
