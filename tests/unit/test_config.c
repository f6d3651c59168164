/* test_config.c - URL policy, command line parsing, secrets and validation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

/* ------------------------------------------------------------------ */
/* config_url_allowed                                                 */
/* ------------------------------------------------------------------ */

struct url_row {
	const char *url;
	int ok;
};

static const struct url_row url_rows[] = {
	{ "https://management-api.x.ai", 1 },
	{ "https://api.x.ai/v1", 1 },
	{ "https://example.com:8443/x", 1 },
	{ "https://10.0.0.1", 1 }, /* TLS makes any host fine */
	{ "http://127.0.0.1", 1 },
	{ "http://127.0.0.1/", 1 },
	{ "http://127.0.0.1:8080", 1 },
	{ "http://127.1.2.3:8080", 1 },
	{ "http://127.1.2.3:8080/path", 1 },
	{ "http://localhost", 1 },
	{ "http://localhost:9000/v1", 1 },
	{ "http://[::1]", 1 },
	{ "http://[::1]:8080/", 1 },
	{ "http://example.com", 0 },
	{ "http://10.0.0.1", 0 },
	{ "http://10.0.0.1:8080", 0 },
	{ "http://128.0.0.1", 0 },
	{ "http://127.0.0.1.evil.com", 0 },
	{ "http://127.0.0.1.evil.com:80/", 0 },
	{ "http://localhost.evil.com", 0 },
	{ "http://localhostx", 0 },
	{ "http://user@127.0.0.1", 0 },
	{ "http://user:pw@127.0.0.1:80/", 0 },
	{ "http://127.0.0.1@evil", 0 },
	{ "http://127.0.0.1:80@evil.com/", 0 },
	{ "http://127.0.0.1/@evil", 0 }, /* any '@' is refused */
	{ "http://127.0.0.1#@evil.com", 0 },
	{ "http://127.0.0.1?x=@evil.com", 0 },
	{ "http://127.0.0.1\\@evil.com", 0 },
	{ "http://127.0.0.1\\.evil.com", 0 },
	{ "http://[::1].evil.com", 0 },
	{ "http://[::2]", 0 },
	{ "http://[::1", 0 },
	{ "http://0x7f.0.0.1", 0 },
	{ "http://2130706433", 0 },
	{ "http://", 0 },
	{ "http:///x", 0 },
	{ "https://", 0 },
	{ "https:///path", 0 },
	{ "", 0 },
	{ NULL, 0 },
	{ "ftp://127.0.0.1", 0 },
	{ "ftp://example.com", 0 },
	{ "file:///etc/passwd", 0 },
	{ "HTTP://example.com", 0 },
	{ "127.0.0.1", 0 },
	{ "//127.0.0.1", 0 },
	{ " https://api.x.ai", 0 },
	{ "https://api.x.ai\n", 0 },
	{ "https://api .x.ai", 0 },
	{ "http://127.0.0.1\r\nHost: evil", 0 },
	{ "https://a\x7f", 0 },
};

static void test_url_allowed(void)
{
	for (size_t i = 0; i < sizeof(url_rows) / sizeof(url_rows[0]); i++) {
		TEST_CTX(url_rows[i].url ? url_rows[i].url : "(null)");
		CHECK_EQ_INT(config_url_allowed(url_rows[i].url),
			     url_rows[i].ok);
	}
}

/* ------------------------------------------------------------------ */
/* config_parse                                                       */
/* ------------------------------------------------------------------ */

#define MAXARG 12

static int
	last_fsname_ok;	 /* the last parse added "-ofsname=...,subtype=xaifs" */
static int last_defperm; /* how many "-odefault_permissions" the last parse
			    added */

/* Parse argv (NULL-terminated); *joined gets the args left for libfuse. */
static int parse(struct config *c, const char *const *argv, char *joined,
		 size_t jsz)
{
	char *v[MAXARG + 1];
	struct fuse_args args;
	int n = 0, rc;
	size_t off = 0;

	while (argv[n] && n < MAXARG) {
		v[n] = strdup(argv[n]);
		n++;
	}
	v[n] = NULL;
	args = (struct fuse_args)FUSE_ARGS_INIT(n, v);
	rc = config_parse(c, &args);
	joined[0] = '\0';
	last_defperm = 0;
	for (int i = 0; i < args.argc; i++) {
		/* Added to every mount: the kernel enforces the modes shown. */
		if (strcmp(args.argv[i], "-odefault_permissions") == 0) {
			last_defperm++;
			continue;
		}
		/* The mount's name and type, added to every mount, are checked
		 * apart. */
		if (strncmp(args.argv[i], "-ofsname=", 9) == 0) {
			last_fsname_ok = strstr(args.argv[i],
						",subtype=xaifs") != NULL;
			continue;
		}
		off += (size_t)snprintf(joined + off, off < jsz ? jsz - off : 0,
					"%s%s", i ? " " : "", args.argv[i]);
	}
	fuse_opt_free_args(&args);
	for (int i = 0; i < n; i++)
		free(v[i]);
	return rc;
}

static void test_mount_names(void)
{
	static const char *const argv[] = { "xaifs", "src", "/mnt", NULL };
	char joined[512];
	struct config c;

	TEST_CTX("fsname and subtype are added");
	last_fsname_ok = 0;
	CHECK_EQ_INT(parse(&c, argv, joined, sizeof(joined)), 0);
	CHECK(last_fsname_ok);
	config_release(&c);
}

/* default_permissions is added to every mount, whatever else is asked. */
static void test_default_permissions(void)
{
	static const char *const plain[] = { "xaifs", "/mnt", NULL };
	static const char *const shared[] = { "xaifs", "/mnt", "-o",
					      "allow_other,uid=0,gid=0,umask=0",
					      NULL };
	static const char *const named[] = { "xaifs", "/mnt", "-o",
					     "fsname=mine,ro", NULL };
	static const char *const given[] = { "xaifs", "/mnt", "-o",
					     "default_permissions", NULL };
	char joined[512];
	struct config c;

	TEST_CTX("plain mount");
	CHECK_EQ_INT(parse(&c, plain, joined, sizeof(joined)), 0);
	CHECK_EQ_INT(last_defperm, 1);
	CHECK_EQ_INT(c.allow_other, 0);
	config_release(&c);

	TEST_CTX("allow_other with owner and modes");
	CHECK_EQ_INT(parse(&c, shared, joined, sizeof(joined)), 0);
	CHECK_EQ_INT(last_defperm, 1);
	CHECK_EQ_INT(c.allow_other, 1);
	CHECK_EQ_STR(joined,
		     "xaifs -o allow_other"); /* uid, gid, umask are xaifs's */
	CHECK_EQ_STR(c.uid_str, "0");
	CHECK_EQ_STR(c.gid_str, "0");
	CHECK_EQ_STR(c.umask_str, "0");
	config_release(&c);

	TEST_CTX("own fsname");
	CHECK_EQ_INT(parse(&c, named, joined, sizeof(joined)), 0);
	CHECK_EQ_INT(last_defperm, 1);
	config_release(&c);

	TEST_CTX("default_permissions given too");
	CHECK_EQ_INT(parse(&c, given, joined, sizeof(joined)), 0);
	CHECK_EQ_INT(last_defperm, 1);
	CHECK_EQ_STR(joined,
		     "xaifs -o default_permissions"); /* the user's, harmless */
	config_release(&c);
}

struct parse_row {
	const char *what;
	const char *argv[MAXARG];
	int rc;
	const char *args; /* left for libfuse (rc 0 only) */
	const char *source, *mountpoint;
	int foreground, debug, read_only, single, help, version;
};

static const struct parse_row parse_rows[] = {
	{ "mountpoint only",
	  { "xaifs", "/mnt" },
	  0,
	  "xaifs",
	  NULL,
	  "/mnt",
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "source and mountpoint",
	  { "xaifs", "xaifs", "/mnt" },
	  0,
	  "xaifs",
	  "xaifs",
	  "/mnt",
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "three non-options",
	  { "xaifs", "a", "b", "c" },
	  -EINVAL,
	  NULL,
	  NULL,
	  NULL,
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "key on the command line",
	  { "xaifs", "/mnt", "-o", "key=SECRET" },
	  -EINVAL,
	  NULL,
	  NULL,
	  NULL,
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "inference key on the command line",
	  { "xaifs", "/mnt", "-o", "api_key=SECRET" },
	  -EINVAL,
	  NULL,
	  NULL,
	  NULL,
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "management key by its long name",
	  { "xaifs", "/mnt", "-o", "ro,management_key=SECRET" },
	  -EINVAL,
	  NULL,
	  NULL,
	  NULL,
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "key among other options",
	  { "xaifs", "-o", "ro,key=SECRET", "/mnt" },
	  -EINVAL,
	  NULL,
	  NULL,
	  NULL,
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "fstab options dropped",
	  { "xaifs", "/mnt", "-o",
	    "_netdev,noauto,nofail,allow_other,defaults,noatime" },
	  0,
	  "xaifs -o allow_other",
	  NULL,
	  "/mnt",
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
	{ "ro kept",
	  { "xaifs", "/mnt", "-o", "ro" },
	  0,
	  "xaifs -o ro",
	  NULL,
	  "/mnt",
	  0,
	  0,
	  1,
	  0,
	  0,
	  0 },
	{ "-d kept, implies -f",
	  { "xaifs", "-d", "/mnt" },
	  0,
	  "xaifs -d",
	  NULL,
	  "/mnt",
	  1,
	  1,
	  0,
	  0,
	  0,
	  0 },
	{ "-f and -s taken",
	  { "xaifs", "-f", "-s", "/mnt" },
	  0,
	  "xaifs",
	  NULL,
	  "/mnt",
	  1,
	  0,
	  0,
	  1,
	  0,
	  0 },
	{ "help",
	  { "xaifs", "--help" },
	  0,
	  "xaifs",
	  NULL,
	  NULL,
	  0,
	  0,
	  0,
	  0,
	  1,
	  0 },
	{ "version", { "xaifs", "-V" }, 0, "xaifs", NULL, NULL, 0, 0, 0, 0, 0, 1 },
	{ "mount(8) style",
	  { "xaifs", "src", "/mnt", "-o",
	    "rw,nosuid,nodev,_netdev,default_permissions" },
	  0,
	  "xaifs -o rw,default_permissions",
	  "src",
	  "/mnt",
	  0,
	  0,
	  0,
	  0,
	  0,
	  0 },
};

static void test_parse_table(void)
{
	char joined[512];
	struct config c;

	for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]);
	     i++) {
		const struct parse_row *r = &parse_rows[i];

		TEST_CTX(r->what);
		CHECK_EQ_INT(parse(&c, r->argv, joined, sizeof(joined)), r->rc);
		if (r->rc == 0) {
			CHECK_EQ_STR(joined, r->args);
			CHECK_EQ_STR(c.source, r->source);
			CHECK_EQ_STR(c.mountpoint, r->mountpoint);
			CHECK_EQ_INT(c.foreground, r->foreground);
			CHECK_EQ_INT(c.debug, r->debug);
			CHECK_EQ_INT(c.read_only, r->read_only);
			CHECK_EQ_INT(c.single_thread, r->single);
			CHECK_EQ_INT(c.show_help, r->help);
			CHECK_EQ_INT(c.show_version, r->version);
		}
		config_release(&c);
	}
}

static void test_parse_values(void)
{
	static const char *const defaults[] = { "xaifs", "/mnt", NULL };
	static const char *const given[] = {
		"xaifs",
		"/mnt",
		"-o",
		"key_file=/k/f,team_id=T-1,cache_ttl=5",
		"-o",
		"live_ttl=2.5,page_size=50,connect_timeout=3,timeout=7,max_conns=4,"
		"region=eu-1,management_url=http://127.0.0.1:9,api_url=https://a,"
		"api_key_file=/k/g",
		NULL
	};
	char joined[512];
	struct config c;

	TEST_CTX("defaults");
	CHECK_EQ_INT(parse(&c, defaults, joined, sizeof(joined)), 0);
	CHECK(c.cache_ttl == 60 && c.live_ttl == 10);
	CHECK_EQ_INT(c.page_size, 0);
	CHECK_EQ_INT(c.connect_timeout, 10);
	CHECK_EQ_INT(c.timeout, 30);
	CHECK_EQ_INT(c.max_conns, 8);
	CHECK(!c.key_file && !c.team_id && !c.region && !c.mgmt_key);
	config_release(&c);

	TEST_CTX("every -o value");
	CHECK_EQ_INT(parse(&c, given, joined, sizeof(joined)), 0);
	CHECK_EQ_STR(joined, "xaifs");
	CHECK_EQ_STR(c.key_file, "/k/f");
	CHECK_EQ_STR(c.api_key_file, "/k/g");
	CHECK_EQ_STR(c.team_id, "T-1");
	CHECK(c.cache_ttl == 5 && c.live_ttl == 2.5);
	CHECK_EQ_INT(c.page_size, 50);
	CHECK_EQ_INT(c.connect_timeout, 3);
	CHECK_EQ_INT(c.timeout, 7);
	CHECK_EQ_INT(c.max_conns, 4);
	CHECK_EQ_STR(c.region, "eu-1");
	CHECK_EQ_STR(c.management_url, "http://127.0.0.1:9");
	CHECK_EQ_STR(c.api_url, "https://a");
	config_release(&c);
}

/* ------------------------------------------------------------------ */
/* config_finish                                                      */
/* ------------------------------------------------------------------ */

static char tmpdir[] = "/tmp/xaifs-test-config-XXXXXX";

static const char *const env_names[] = {
	"XAI_MANAGEMENT_KEY", "XAI_API_KEY",
	"XAI_TEAM_ID",	      "XAI_MANAGEMENT_TEAM_ID",
	"XAI_MANAGEMENT_URL", "XAI_API_URL",
	"XAI_API_REGION",     NULL
};

static void clear_env(void)
{
	for (int i = 0; env_names[i]; i++)
		unsetenv(env_names[i]);
}

/* Write a key file; returns its path (static buffer). */
static const char *key_file(const char *name, const char *content, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 ||
	    write(fd, content, strlen(content)) != (ssize_t)strlen(content) ||
	    fchmod(fd, mode) < 0) {
		perror(path);
		exit(2);
	}
	close(fd);
	return path;
}

/* Parse "xaifs /mnt -o <opts>" (opts may be NULL) and finish. */
static int finish(struct config *c, const char *opts)
{
	const char *argv[] = { "xaifs", "/mnt", opts ? "-o" : NULL, opts,
			       NULL };
	char joined[512];
	int rc = parse(c, argv, joined, sizeof(joined));

	return rc < 0 ? rc : config_finish(c);
}

static void test_finish_env_key(void)
{
	static char env[] = "XAI_MANAGEMENT_KEY=xai-env-secret-123";
	char *val = env + strlen("XAI_MANAGEMENT_KEY=");
	struct config c;
	int wiped = 1;

	TEST_CTX("key from the environment");
	clear_env();
	putenv(env);
	CHECK_EQ_INT(finish(&c, NULL), 0);
	CHECK_EQ_STR(c.mgmt_key, "xai-env-secret-123");
	CHECK(getenv("XAI_MANAGEMENT_KEY") == NULL);
	for (size_t i = 0; i < strlen("xai-env-secret-123"); i++)
		if (val[i] != '\0')
			wiped = 0;
	CHECK(wiped);
	CHECK(c.api_key == NULL);
	CHECK_EQ_STR(c.management_url, CONFIG_DEFAULT_MANAGEMENT_URL);
	CHECK_EQ_STR(c.api_url, CONFIG_DEFAULT_API_URL);
	config_release(&c);
	CHECK(c.mgmt_key == NULL);

	TEST_CTX("inference key from the environment is taken too");
	clear_env();
	setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
	setenv("XAI_API_KEY", "i-key", 1);
	setenv("XAI_TEAM_ID", "team-env", 1);
	CHECK_EQ_INT(finish(&c, NULL), 0);
	CHECK_EQ_STR(c.api_key, "i-key");
	CHECK_EQ_STR(c.team_id, "team-env");
	CHECK(getenv("XAI_API_KEY") == NULL);
	CHECK_EQ_STR(getenv("XAI_TEAM_ID"), "team-env"); /* not a secret */
	config_release(&c);

	TEST_CTX("-o team_id beats the environment");
	clear_env();
	setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
	setenv("XAI_TEAM_ID", "team-env", 1);
	CHECK_EQ_INT(finish(&c, "team_id=team-opt"), 0);
	CHECK_EQ_STR(c.team_id, "team-opt");
	config_release(&c);

	TEST_CTX("no key at all");
	clear_env();
	CHECK_EQ_INT(finish(&c, NULL), -EINVAL);
	config_release(&c);

	TEST_CTX("no mountpoint");
	{
		const char *argv[] = { "xaifs", NULL };
		char joined[64];

		setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
		CHECK_EQ_INT(parse(&c, argv, joined, sizeof(joined)), 0);
		CHECK_EQ_INT(config_finish(&c), -EINVAL);
		config_release(&c);
	}
}

struct kf_row {
	const char *what;
	const char *content;
	mode_t mode;
	int rc;
	const char *key;
};

static const struct kf_row kf_rows[] = {
	{ "0600 with newline", "xai-file-key\n", 0600, 0, "xai-file-key" },
	{ "0400, CRLF and blanks", "xai-file-key \r\n\n", 0400, 0,
	  "xai-file-key" },
	{ "0644 refused", "xai-file-key\n", 0644, -EACCES, NULL },
	{ "0640 refused", "xai-file-key\n", 0640, -EACCES, NULL },
	{ "0601 refused", "xai-file-key\n", 0601, -EACCES, NULL },
	{ "empty", "", 0600, -EINVAL, NULL },
	{ "only a newline", "\n", 0600, -EINVAL, NULL },
	{ "two lines", "a\nb\n", 0600, -EINVAL, NULL },
};

static void test_finish_key_file(void)
{
	char opt[512];
	struct config c;
	char *big;

	for (size_t i = 0; i < sizeof(kf_rows) / sizeof(kf_rows[0]); i++) {
		const struct kf_row *r = &kf_rows[i];

		TEST_CTX(r->what);
		clear_env();
		snprintf(opt, sizeof(opt), "key_file=%s",
			 key_file("k", r->content, r->mode));
		CHECK_EQ_INT(finish(&c, opt), r->rc);
		if (r->key)
			CHECK_EQ_STR(c.mgmt_key, r->key);
		config_release(&c);
	}

	TEST_CTX("missing key file");
	snprintf(opt, sizeof(opt), "key_file=%s/nonexistent", tmpdir);
	CHECK_EQ_INT(finish(&c, opt), -ENOENT);
	config_release(&c);

	TEST_CTX("key file is a directory");
	snprintf(opt, sizeof(opt), "key_file=%s", tmpdir);
	CHECK_EQ_INT(finish(&c, opt), -EINVAL);
	config_release(&c);

	TEST_CTX("key file too large");
	big = malloc(5000);
	memset(big, 'k', 4999);
	big[4999] = '\0';
	snprintf(opt, sizeof(opt), "key_file=%s", key_file("big", big, 0600));
	CHECK_EQ_INT(finish(&c, opt), -EINVAL);
	config_release(&c);
	free(big);

	TEST_CTX("api_key_file");
	setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
	snprintf(opt, sizeof(opt), "api_key_file=%s",
		 key_file("ik", "inf-key\n", 0600));
	CHECK_EQ_INT(finish(&c, opt), 0);
	CHECK_EQ_STR(c.api_key, "inf-key");
	config_release(&c);

	TEST_CTX("api_key_file 0644 refused");
	setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
	snprintf(opt, sizeof(opt), "api_key_file=%s",
		 key_file("ik", "inf-key\n", 0644));
	CHECK_EQ_INT(finish(&c, opt), -EACCES);
	config_release(&c);
}

struct fin_row {
	const char *what;
	const char *opts;
	const char *env_name, *env_val; /* optional extra variable */
	int rc;
	const char *mgmt_url, *api_url; /* expected when rc == 0 */
};

static const struct fin_row fin_rows[] = {
	{ "region", "region=eu-west-1", NULL, NULL, 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, "https://eu-west-1.api.x.ai" },
	{ "region from env", NULL, "XAI_API_REGION", "us-east-1", 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, "https://us-east-1.api.x.ai" },
	{ "api_url beats region", "region=eu,api_url=https://x.test", NULL,
	  NULL, 0, CONFIG_DEFAULT_MANAGEMENT_URL, "https://x.test" },
	{ "region with a dot", "region=evil.com/x", NULL, NULL, -EINVAL, NULL,
	  NULL },
	{ "region with a slash", "region=a/b", NULL, NULL, -EINVAL, NULL,
	  NULL },
	{ "region with '@'", "region=a@b", NULL, NULL, -EINVAL, NULL, NULL },
	{ "management_url slash trimmed", "management_url=https://m.test/",
	  NULL, NULL, 0, "https://m.test", CONFIG_DEFAULT_API_URL },
	{ "many slashes trimmed", "management_url=http://127.0.0.1:8080///",
	  NULL, NULL, 0, "http://127.0.0.1:8080", CONFIG_DEFAULT_API_URL },
	{ "management_url from env", NULL, "XAI_MANAGEMENT_URL",
	  "http://localhost:1/", 0, "http://localhost:1",
	  CONFIG_DEFAULT_API_URL },
	{ "-o beats env", "management_url=https://o.test", "XAI_MANAGEMENT_URL",
	  "https://e.test", 0, "https://o.test", CONFIG_DEFAULT_API_URL },
	{ "plain http refused", "management_url=http://example.com", NULL, NULL,
	  -EINVAL, NULL, NULL },
	{ "api_url http refused", "api_url=http://10.0.0.1", NULL, NULL,
	  -EINVAL, NULL, NULL },
	{ "api_url env refused", NULL, "XAI_API_URL", "ftp://127.0.0.1",
	  -EINVAL, NULL, NULL },
	{ "page_size -1", "page_size=-1", NULL, NULL, -EINVAL, NULL, NULL },
	{ "page_size 0 ok (the default)", "page_size=0", NULL, NULL, 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, CONFIG_DEFAULT_API_URL },
	{ "page_size 1001", "page_size=1001", NULL, NULL, -EINVAL, NULL, NULL },
	{ "page_size 1000 ok", "page_size=1000", NULL, NULL, 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, CONFIG_DEFAULT_API_URL },
	{ "page_size 1 ok", "page_size=1", NULL, NULL, 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, CONFIG_DEFAULT_API_URL },
	{ "max_conns 0", "max_conns=0", NULL, NULL, -EINVAL, NULL, NULL },
	{ "max_conns 65", "max_conns=65", NULL, NULL, -EINVAL, NULL, NULL },
	{ "max_conns 64 ok", "max_conns=64", NULL, NULL, 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, CONFIG_DEFAULT_API_URL },
	{ "cache_ttl negative", "cache_ttl=-1", NULL, NULL, -EINVAL, NULL,
	  NULL },
	{ "cache_ttl 0 ok", "cache_ttl=0", NULL, NULL, 0,
	  CONFIG_DEFAULT_MANAGEMENT_URL, CONFIG_DEFAULT_API_URL },
	{ "live_ttl negative", "live_ttl=-0.5", NULL, NULL, -EINVAL, NULL,
	  NULL },
	{ "timeout 0", "timeout=0", NULL, NULL, -EINVAL, NULL, NULL },
	{ "connect_timeout 0", "connect_timeout=0", NULL, NULL, -EINVAL, NULL,
	  NULL },
	{ "connect_timeout negative", "connect_timeout=-3", NULL, NULL, -EINVAL,
	  NULL, NULL },
};

static void test_finish_table(void)
{
	struct config c;

	for (size_t i = 0; i < sizeof(fin_rows) / sizeof(fin_rows[0]); i++) {
		const struct fin_row *r = &fin_rows[i];

		TEST_CTX(r->what);
		clear_env();
		setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
		if (r->env_name)
			setenv(r->env_name, r->env_val, 1);
		CHECK_EQ_INT(finish(&c, r->opts), r->rc);
		if (r->rc == 0) {
			CHECK_EQ_STR(c.management_url, r->mgmt_url);
			CHECK_EQ_STR(c.api_url, r->api_url);
			CHECK_EQ_STR(c.mgmt_key, "m-key");
		}
		config_release(&c);
	}
}

/* ------------------------------------------------------------------ */
/* uid=, gid=, umask=                                                 */
/* ------------------------------------------------------------------ */

struct umask_row {
	const char *s;
	int rc;
	mode_t v;
};

static const struct umask_row umask_rows[] = {
	{ "0027", 0, 027 },	 { "027", 0, 027 },
	{ "27", 0, 027 },	 { "0", 0, 0 },
	{ "000", 0, 0 },	 { "777", 0, 0777 },
	{ "0777", 0, 0777 },	 { "7", 0, 07 },
	{ "", -EINVAL, 0 },	 { "8", -EINVAL, 0 },
	{ "0999", -EINVAL, 0 },	 { "1000", -EINVAL, 0 },
	{ "01000", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
	{ "0o27", -EINVAL, 0 },	 { "0x1f", -EINVAL, 0 },
	{ "027 ", -EINVAL, 0 },	 { " 027", -EINVAL, 0 },
	{ "+27", -EINVAL, 0 },	 { "00027", -EINVAL, 0 },
	{ "abc", -EINVAL, 0 },	 { NULL, -EINVAL, 0 },
};

static void test_umask_values(void)
{
	for (size_t i = 0; i < sizeof(umask_rows) / sizeof(umask_rows[0]);
	     i++) {
		const struct umask_row *r = &umask_rows[i];
		mode_t v = 01234;

		TEST_CTX(r->s ? r->s : "(null)");
		CHECK_EQ_INT(config_parse_umask(r->s, &v), r->rc);
		CHECK_EQ_INT(v, r->rc == 0 ? r->v
					   : 01234); /* untouched on error */
	}
}

struct owner_row {
	const char *what;
	const char *opts;
	int rc;
	long uid, gid; /* -1: the caller's */
	mode_t umask;
};

static const struct owner_row owner_rows[] = {
	{ "defaults", NULL, 0, -1, -1, 077 },
	{ "allow_other alone keeps 0600/0700", "allow_other", 0, -1, -1, 077 },
	{ "numbers", "allow_other,uid=1234,gid=5678,umask=0027", 0, 1234, 5678,
	  027 },
	{ "names", "allow_other,uid=root,gid=root", 0, 0, 0, 077 },
	{ "nobody and nogroup", "allow_other,uid=nobody,gid=nogroup", 0, 65534,
	  65534, 077 },
	{ "a numeric name is a number", "uid=0,gid=65534", 0, 0, 65534, 077 },
	{ "umask only", "allow_other,umask=0", 0, -1, -1, 0 },
	{ "largest id", "uid=4294967294", 0, 4294967294L, -1, 077 },
	{ "unknown user", "uid=no-such-user-xaifs", -EINVAL, 0, 0, 0 },
	{ "unknown group", "gid=no-such-group-xaifs", -EINVAL, 0, 0, 0 },
	{ "a user is not a group", "gid=nobody", -EINVAL, 0, 0, 0 },
	{ "uid -1", "uid=-1", -EINVAL, 0, 0, 0 },
	{ "gid +5", "gid=+5", -EINVAL, 0, 0, 0 },
	{ "uid 2^32-1", "uid=4294967295", -EINVAL, 0, 0, 0 },
	{ "uid too big", "uid=99999999999", -EINVAL, 0, 0, 0 },
	{ "uid with trailing junk", "uid=12ab", -EINVAL, 0, 0, 0 },
	{ "uid empty", "uid=", -EINVAL, 0, 0, 0 },
	{ "gid empty", "gid=", -EINVAL, 0, 0, 0 },
	{ "bad umask", "umask=0999", -EINVAL, 0, 0, 0 },
	{ "umask too large", "umask=01000", -EINVAL, 0, 0, 0 },
	{ "umask empty", "umask=", -EINVAL, 0, 0, 0 },
};

static void test_finish_owner(void)
{
	struct config c;

	for (size_t i = 0; i < sizeof(owner_rows) / sizeof(owner_rows[0]);
	     i++) {
		const struct owner_row *r = &owner_rows[i];

		TEST_CTX(r->what);
		clear_env();
		setenv("XAI_MANAGEMENT_KEY", "m-key", 1);
		CHECK_EQ_INT(finish(&c, r->opts), r->rc);
		if (r->rc == 0) {
			CHECK_EQ_INT(c.uid,
				     r->uid < 0 ? (long long)getuid() : r->uid);
			CHECK_EQ_INT(c.gid,
				     r->gid < 0 ? (long long)getgid() : r->gid);
			CHECK_EQ_INT(c.umask, r->umask);
		}
		config_release(&c);
	}
}

int main(void)
{
	char path[300];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	umask(077);
	test_url_allowed();
	test_mount_names();
	test_default_permissions();
	test_umask_values();
	test_finish_owner();
	test_parse_table();
	test_parse_values();
	test_finish_env_key();
	test_finish_key_file();
	test_finish_table();
	clear_env();
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir,
			 i == 0	  ? "k"
			 : i == 1 ? "big"
				  : "ik");
		unlink(path);
	}
	rmdir(tmpdir);
	return test_done();
}
