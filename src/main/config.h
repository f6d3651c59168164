/*
 * config.h - the mount's settings: command line (-o options), environment
 * and key files, with defaults and validation.
 *
 * Owns: struct config and every string in it, including the two secrets
 * (management key, inference key). Secrets are read only from the
 * environment or from files, never from argv; the environment copies are
 * wiped once read. config_release() wipes the secrets (explicit_bzero)
 * before freeing them.
 *
 * Not thread safe; filled once in main() before any thread starts and read-only
 * afterwards.
 */
#ifndef XAIFS_CONFIG_H
#define XAIFS_CONFIG_H

#include <fuse_opt.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_MANAGEMENT_URL "https://management-api.x.ai"
#define CONFIG_DEFAULT_API_URL "https://api.x.ai"

struct config {
	char *source; /* optional SOURCE label ("xaifs") */
	char *mountpoint;
	char *mgmt_key; /* secret; never NULL after config_finish() */
	char *api_key;	/* secret; NULL when no inference key */
	char *key_file;
	char *api_key_file;
	char *team_id; /* NULL until given or discovered */
	char *management_url;
	char *api_url;
	char *region;
	char *config_file; /* -o config=PATH; else $XDG_CONFIG_HOME/xaifs/config
			    */
	char *cache_dir; /* on-disk cache of document bytes; NULL: private, per
			    mount */
	char *cache_size_str; /* as given: bytes, or with K, M, G */
	char *cacert;  /* -o cacert=PATH: CAs trusted besides the system's */
	char *trace;   /* -o trace=FILE: every request and answer, redacted */
	int trace_fd;  /* that file, opened 0600 by config_finish(); 0: none */
	char *upload;  /* "direct" (default) or "files" */
	char *uid_str; /* -o uid=, gid=, umask= as given (NULL: not given) */
	char *gid_str;
	char *umask_str;
	unsigned long long cache_size; /* bytes */
	double cache_ttl;	       /* seconds: listings and metadata */
	double live_ttl;	       /* seconds: usage and billing */
	int page_size; /* items per list request; 0: as many as the route gives */
	int connect_timeout; /* seconds */
	int timeout;	     /* seconds: whole request, metadata calls */
	int max_conns;	     /* most HTTP requests in flight */
	uid_t uid; /* owner every file shows: uid=, else the mounting user */
	gid_t gid; /* group every file shows: gid=, else the mounting group */
	mode_t umask; /* permission bits every file hides: umask=, else 077 */
	int foreground;
	int debug;
	int single_thread;
	int read_only;
	int ro_given;	 /* ro or rw was on the command line */
	int allow_other; /* -o allow_other was given (it is passed on to
			    libfuse) */
	int show_help;
	int show_version;
};

/*
 * Parse args (argv) into c, leaving in args only what libfuse's session
 * takes (program name, -d, -o ro/allow_other/...), plus default_permissions,
 * always: the kernel checks every access against the modes xaifs shows. Then
 * read the config file (-o config=PATH, else $XDG_CONFIG_HOME/xaifs/config,
 * else
 * ~/.config/xaifs/config; a missing default file is fine): one option per
 * line, "name=value" or "name", '#' comments; the command line wins, FUSE
 * options from the file are passed on. Defaults fill what neither set.
 * Returns 0, or -EINVAL with one line printed to stderr.
 */
int config_parse(struct config *c, struct fuse_args *args);

/*
 * Read secrets and environment, apply the region, and validate everything:
 * URLs (https, or http to loopback only), key file permissions, numbers,
 * and the owner and modes to show: uid= and gid= take a number or a name
 * (looked up in the user and group databases), umask= octal bits 0-777.
 * Call after config_parse() unless help/version was asked for.
 * Returns 0, or -errno with one line printed to stderr saying why.
 */
int config_finish(struct config *c);

/* Print the option list for --help. */
void config_print_help(const char *prog);

/* Wipe the secrets and free everything. */
void config_release(struct config *c);

/*
 * Whether url is acceptable: https://..., or http:// to 127.0.0.0/8,
 * localhost or [::1]. Pure; exposed for unit tests.
 */
int config_url_allowed(const char *url);

/*
 * Parse a umask= value: octal digits only, at most 0777. Pure; exposed for
 * unit tests. Returns 0 or -EINVAL.
 */
int config_parse_umask(const char *s, mode_t *out);

#endif
