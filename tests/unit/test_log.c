/* test_log.c - log lines: secret redaction, control bytes, level filtering. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

/* ------------------------------------------------------------------ */
/* Capturing stderr                                                   */
/* ------------------------------------------------------------------ */

static int cap_pipe[2] = { -1, -1 };
static int cap_saved = -1;
static char cap_out[16384];

/* Route fd 2 into a pipe. Nothing may CHECK() until capture_end(). */
static void capture_begin(void)
{
	fflush(stderr);
	if (pipe(cap_pipe) < 0 || (cap_saved = dup(STDERR_FILENO)) < 0 ||
	    dup2(cap_pipe[1], STDERR_FILENO) < 0) {
		perror("capture");
		exit(2);
	}
	close(cap_pipe[1]);
}

/* Restore fd 2 and return what was written (NUL-terminated). */
static const char *capture_end(void)
{
	size_t len = 0;
	ssize_t n;

	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	while (len < sizeof(cap_out) - 1 &&
	       (n = read(cap_pipe[0], cap_out + len,
			 sizeof(cap_out) - 1 - len)) > 0)
		len += (size_t)n;
	cap_out[len] = '\0';
	close(cap_pipe[0]);
	return cap_out;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static int count_lines(const char *s)
{
	return count_of(s, "\n");
}

/* ------------------------------------------------------------------ */
/* Redaction                                                          */
/* ------------------------------------------------------------------ */

static void test_redact(void)
{
	static const char key[] = "xai-mgmt-0123456789abcdefSECRET";
	static const char key2[] = "k9Z!"; /* shorter than the mask */
	const char *out;

	log_init(LOG_LVL_DEBUG, 0);
	log_add_secret(key);
	log_add_secret(key2);

	TEST_CTX("secret twice in one message");
	capture_begin();
	log_error("auth '%s' failed; header Authorization: Bearer %s", key,
		  key);
	out = capture_end();
	CHECK_EQ_STR(out, "xaifs: error: auth '[redacted]' failed; "
			  "header Authorization: Bearer [redacted]\n");
	CHECK(strstr(out, key) == NULL);
	CHECK_EQ_INT(count_of(out, "[redacted]"), 2);

	TEST_CTX("secret glued to other text, at both ends");
	capture_begin();
	log_warn("%sX%s", key, key);
	out = capture_end();
	CHECK_EQ_STR(out, "xaifs: warning: [redacted]X[redacted]\n");

	TEST_CTX("short secret grows to the mask");
	capture_begin();
	log_info("a%sb%s", key2, key2);
	out = capture_end();
	CHECK_EQ_STR(out, "xaifs: info: a[redacted]b[redacted]\n");

	TEST_CTX("secret inside a url, debug level");
	capture_begin();
	log_debug("GET https://x/?k=%s&z=1", key);
	out = capture_end();
	CHECK_EQ_STR(out, "xaifs: debug: GET https://x/?k=[redacted]&z=1\n");

	TEST_CTX("many secrets on a long line");
	{
		char big[1900];
		size_t kl = strlen(key);

		for (size_t i = 0; i < 55; i++)
			memcpy(big + i * kl, key,
			       kl); /* 55 * 31 = 1705 bytes */
		big[55 * kl] = '\0';
		capture_begin();
		log_error("%s", big);
		out = capture_end();
		CHECK(strstr(out, key) == NULL);
		CHECK(strstr(out, "xai-") == NULL);
		CHECK_EQ_INT(count_of(out, "[redacted]"), 55);
		CHECK_EQ_INT(count_lines(out), 1);
	}

	TEST_CTX("secret cut by the line limit never appears whole");
	{
		char pad[2100];

		memset(pad, 'p', 2030);
		pad[2030] = '\0';
		capture_begin();
		log_error("%s%s", pad, key);
		out = capture_end();
		CHECK(strstr(out, key) == NULL);
		CHECK_EQ_INT(count_lines(out), 1);
		CHECK(strlen(out) > 2030);
	}

	TEST_CTX("cleared secrets are printed again");
	log_clear_secrets();
	capture_begin();
	log_error("%s", key);
	out = capture_end();
	CHECK(strstr(out, key) != NULL);
	CHECK(strstr(out, "[redacted]") == NULL);
}

/* ------------------------------------------------------------------ */
/* Control bytes                                                      */
/* ------------------------------------------------------------------ */

struct ctl_row {
	const char *what;
	const char *arg;
	const char *want; /* the line after "xaifs: error: " */
};

static const struct ctl_row ctl_rows[] = {
	{ "plain", "hello world", "hello world\n" },
	{ "newline", "a\nb", "a?b\n" },
	{ "carriage return", "fake\rline", "fake?line\n" },
	{ "escape sequence", "\x1b[31mred\x1b[0m", "?[31mred?[0m\n" },
	{ "tab and bell", "\t\a", "??\n" },
	{ "DEL", "x\x7fy", "x?y\n" },
	{ "0x01 and 0x1f", "\x01\x1f", "??\n" },
	{ "UTF-8 kept", "caf\xc3\xa9 \xe2\x82\xac",
	  "caf\xc3\xa9 \xe2\x82\xac\n" },
	{ "trailing newline", "msg\n", "msg?\n" },
};

static void test_control_bytes(void)
{
	const char *out;
	char want[256];

	log_init(LOG_LVL_ERROR, 0);
	for (size_t i = 0; i < sizeof(ctl_rows) / sizeof(ctl_rows[0]); i++) {
		TEST_CTX(ctl_rows[i].what);
		capture_begin();
		log_error("%s", ctl_rows[i].arg);
		out = capture_end();
		snprintf(want, sizeof(want), "xaifs: error: %s",
			 ctl_rows[i].want);
		CHECK_EQ_STR(out, want);
		CHECK_EQ_INT(count_lines(out), 1);
	}
}

/* ------------------------------------------------------------------ */
/* Levels                                                             */
/* ------------------------------------------------------------------ */

struct level_row {
	enum log_level level;
	const char *want;
};

static const struct level_row level_rows[] = {
	{ LOG_LVL_ERROR, "xaifs: error: e\n" },
	{ LOG_LVL_WARN, "xaifs: error: e\nxaifs: warning: w\n" },
	{ LOG_LVL_INFO,
	  "xaifs: error: e\nxaifs: warning: w\nxaifs: info: i\n" },
	{ LOG_LVL_DEBUG, "xaifs: error: e\nxaifs: warning: w\nxaifs: info: i\n"
			 "xaifs: debug: d\n" },
};

static int debug_args_evaluated;

static const char *debug_arg(void)
{
	debug_args_evaluated++;
	return "d";
}

static void test_levels(void)
{
	const char *out;

	for (size_t i = 0; i < sizeof(level_rows) / sizeof(level_rows[0]);
	     i++) {
		char ctx[32];

		snprintf(ctx, sizeof(ctx), "level %d",
			 (int)level_rows[i].level);
		TEST_CTX(ctx);
		log_init(level_rows[i].level, 0);
		CHECK_EQ_INT(log_get_level(), level_rows[i].level);
		debug_args_evaluated = 0;
		capture_begin();
		log_error("e");
		log_warn("w");
		log_info("i");
		log_debug("%s", debug_arg());
		out = capture_end();
		CHECK_EQ_STR(out, level_rows[i].want);
		/* log_debug() must not even evaluate its arguments below DEBUG */
		CHECK_EQ_INT(debug_args_evaluated,
			     level_rows[i].level >= LOG_LVL_DEBUG ? 1 : 0);
	}
	TEST_CTX("log_msg with an explicit level");
	log_init(LOG_LVL_WARN, 0);
	capture_begin();
	log_msg(LOG_LVL_INFO, "hidden %d", 1);
	log_msg(LOG_LVL_WARN, "shown %d", 2);
	out = capture_end();
	CHECK_EQ_STR(out, "xaifs: warning: shown 2\n");
}

/* The error hook (the service manager's "last error"): errors only, as written.
 */
static char hook_line[4096];
static int hook_calls;
static char hook_arg[] = "arg:";

static void hook(const char *line, void *arg)
{
	hook_calls++;
	snprintf(hook_line, sizeof(hook_line), "%s%s", (const char *)arg, line);
}

static void test_error_hook(void)
{
	static const char key[] = "xai-hook-secret-0123456789";

	TEST_CTX("error hook");
	log_init(LOG_LVL_DEBUG, 0);
	log_add_secret(key);
	log_set_error_hook(hook, hook_arg);
	capture_begin();
	log_warn("not an error");
	log_info("nor this");
	log_error("cannot list keys with %s:\n%s", key, "503");
	capture_end();
	CHECK_EQ_INT(hook_calls, 1);
	CHECK_EQ_STR(hook_line, "arg:cannot list keys with [redacted]:?503");
	log_set_error_hook(NULL, NULL);
	capture_begin();
	log_error("after");
	capture_end();
	CHECK_EQ_INT(hook_calls, 1);
	log_clear_secrets();
}

int main(void)
{
	test_redact();
	test_control_bytes();
	test_levels();
	test_error_hook();
	return test_done();
}
