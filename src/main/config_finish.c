/*
 * config_finish.c - the settings that come after the command line: the
 * environment, key files (secrets), URLs, sizes and the owner of the files;
 * and config_release(). See config.h (config_finish()).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE_MAX 4096 /* longest key file read */

/* Free a string that may hold a key. */
static void config_wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

static int config_take_env(const char *name, char **out)
{
	char *v = getenv(name);

	if (!v || !*v)
		return 0;
	config_wipe(*out);
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
		fprintf(stderr, "xaifs: cannot read %s '%s': %s\n", what, path,
			strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "xaifs: %s '%s' is not a regular file\n", what,
			path);
		rc = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		fprintf(stderr,
			"xaifs: %s '%s' is accessible by group or others (mode %04o); "
			"run: chmod 600 '%s'\n",
			what, path, (unsigned)(st.st_mode & 07777), path);
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
		fprintf(stderr, "xaifs: %s '%s' must hold exactly one key\n",
			what, path);
		rc = -EINVAL;
		goto out;
	}
	config_wipe(*out);
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
		       inet_ntop(AF_INET, &a, back, sizeof(back)) &&
		       strcmp(back, ip) == 0;
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
		fprintf(stderr,
			"xaifs: %s '%s' refused: use https:// (plain http:// is allowed "
			"only to a loopback address)\n",
			what, *url);
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
		rc = config_read_key_file(c->key_file, "key file",
					  &c->mgmt_key);
	if (rc == 0 && c->api_key_file)
		rc = config_read_key_file(c->api_key_file, "api key file",
					  &c->api_key);
	if (rc < 0)
		return rc;
	if (!c->mgmt_key) {
		fprintf(stderr,
			"xaifs: no management key: set XAI_MANAGEMENT_KEY or use "
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
	case 'K':
	case 'k':
		v <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		v <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * -o cacert=PATH: a readable file holding at least one PEM certificate
 * (a private CA, a TLS-inspecting proxy's). 0, or -EINVAL with one line.
 */
static int config_check_cacert(const char *path)
{
	char buf[65536];
	size_t n = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	} else {
		fprintf(stderr, "xaifs: cacert '%s': %s\n", path,
			strerror(errno));
		return -EINVAL;
	}
	buf[n] = '\0';
	if (!strstr(buf, "-----BEGIN CERTIFICATE-----")) {
		fprintf(stderr,
			"xaifs: cacert '%s' holds no PEM certificate "
			"(-----BEGIN CERTIFICATE-----)\n",
			path);
		return -EINVAL;
	}
	return 0;
}

/*
 * -o cache_dir=DIR holds document bytes across mounts: it is made 0700 when
 * missing, and refused (one line, -EINVAL) when it is not a directory of
 * this user's that nobody else may write (a shared /tmp, a group's folder):
 * another user could plant or swap the bytes served as a document.
 */
static int config_check_cache_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "xaifs: cache_dir '%s': %s\n", dir,
			strerror(errno));
		return -EINVAL;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xaifs: cache_dir '%s' is not a directory\n",
			dir);
		return -EINVAL;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		fprintf(stderr,
			"xaifs: cache_dir '%s' may be written by other users "
			"(mode %04o, owner %lu): use a directory of your own, "
			"chmod 700\n",
			dir, (unsigned)(st.st_mode & 07777),
			(unsigned long)st.st_uid);
		return -EINVAL;
	}
	return 0;
}

/*
 * -o trace=FILE: made anew, 0600 and only the user's (O_NOFOLLOW: a link
 * planted under that name is refused). 0, or -EINVAL with one line.
 */
static int config_open_trace(struct config *c)
{
	int fd = open(c->trace,
		      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		      0600);

	if (fd < 0 || fchmod(fd, 0600) < 0) {
		fprintf(stderr, "xaifs: trace '%s': %s\n", c->trace,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	/* 0 means "none": an fd of 0 only when stdin was closed; move it */
	c->trace_fd = fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd <= 2)
		close(fd);
	return c->trace_fd > 2 ? 0 : -EINVAL;
}

static int config_numbers(struct config *c)
{
	if (c->upload && strcmp(c->upload, "direct") != 0 &&
	    strcmp(c->upload, "files") != 0) {
		fprintf(stderr, "xaifs: upload= takes 'direct' or 'files'\n");
		return -EINVAL;
	}
	if (c->cacert && config_check_cacert(c->cacert) < 0)
		return -EINVAL;
	if (c->cache_dir && config_check_cache_dir(c->cache_dir) < 0)
		return -EINVAL;
	if (c->trace && config_open_trace(c) < 0)
		return -EINVAL;
	c->cache_size = 1ull << 30;
	if (c->cache_size_str &&
	    config_size(c->cache_size_str, &c->cache_size) < 0) {
		fprintf(stderr,
			"xaifs: bad cache_size '%s' (bytes, or a number with K, M or G)\n",
			c->cache_size_str);
		return -EINVAL;
	}
	if (c->cache_ttl < 0 || c->live_ttl < 0 || c->page_size < 0 ||
	    c->page_size > 1000 || c->connect_timeout < 1 || c->timeout < 1 ||
	    c->max_conns < 1 || c->max_conns > 64) {
		fprintf(stderr,
			"xaifs: an option is out of range (cache_ttl, live_ttl >= 0; "
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
		fprintf(stderr,
			"xaifs: bad %s '%s': give a %s name or a number below "
			"4294967295\n",
			opt, s, group ? "group" : "user");
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
			fprintf(stderr,
				"xaifs: cannot look up %s '%s' for %s=: %s\n",
				group ? "group" : "user", s, opt,
				strerror(err));
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
		fprintf(stderr,
			"xaifs: bad umask '%s': give octal permission bits to hide, "
			"000 to 777 (e.g. umask=0027)\n",
			c->umask_str);
		return -EINVAL;
	}
	if ((c->uid_str || c->gid_str || c->umask_str) && !c->allow_other)
		fprintf(stderr,
			"xaifs: warning: without -o allow_other no other user can "
			"enter the mount, whatever uid=, gid= and umask= say\n");
	return 0;
}

int config_finish(struct config *c)
{
	int rc;

	if (!c->mountpoint) {
		fprintf(stderr,
			"xaifs: no mountpoint given (see xaifs --help)\n");
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
		rc = (c->management_url = strdup(CONFIG_DEFAULT_MANAGEMENT_URL))
			     ? 0
			     : -ENOMEM;
	if (rc == 0 && !c->api_url)
		rc = (c->api_url = strdup(CONFIG_DEFAULT_API_URL)) ? 0
								   : -ENOMEM;
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
	free(c->cacert);
	free(c->trace);
	if (c->trace_fd > 2)
		close(c->trace_fd);
	free(c->cache_size_str);
	free(c->upload);
	free(c->uid_str);
	free(c->gid_str);
	free(c->umask_str);
	free(c->config_file);
	memset(c, 0, sizeof(*c));
}
