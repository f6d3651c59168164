/* log.c - leveled logging with secret redaction; see log.h. */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_SECRETS 4
#define LOG_LINE_MAX 2048

static enum log_level log_level = LOG_LVL_INFO;
static int log_syslog;
static const char *log_secrets[LOG_MAX_SECRETS];
static log_error_hook log_hook;
static void *log_hook_arg;

void log_set_error_hook(log_error_hook fn, void *arg)
{
	log_hook = fn;
	log_hook_arg = arg;
}

void log_init(enum log_level level, int use_syslog)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("xaifs", LOG_PID, LOG_DAEMON);
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_add_secret(const char *s)
{
	if (!s || strlen(s) < 4)
		return;
	for (int i = 0; i < LOG_MAX_SECRETS; i++) {
		if (!log_secrets[i]) {
			log_secrets[i] = s;
			return;
		}
	}
}

void log_clear_secrets(void)
{
	memset(log_secrets, 0, sizeof(log_secrets));
}

static const char log_mask[] = "[redacted]";

/* Replace every occurrence of each secret in line (size bytes), in place. */
static void log_redact(char *line, size_t size)
{
	for (int i = 0; i < LOG_MAX_SECRETS && log_secrets[i]; i++) {
		size_t slen = strlen(log_secrets[i]);
		char *from = line, *p;

		while ((p = strstr(from, log_secrets[i])) != NULL) {
			size_t tail = strlen(p + slen) + 1;
			size_t mlen = sizeof(log_mask) - 1;

			if ((size_t)(p - line) + mlen + tail > size)
				mlen = slen < mlen ? slen : mlen;
			memmove(p + mlen, p + slen, tail);
			memcpy(p, log_mask, mlen);
			from = p + mlen; /* never search inside our own mask */
		}
	}
}

void log_scrub(char *text, size_t size)
{
	log_redact(text, size);
}

/* A line cut short may end in the first part of a secret: mask that too. */
static void log_redact_tail(char *line)
{
	size_t n = strlen(line);

	for (int i = 0; i < LOG_MAX_SECRETS && log_secrets[i]; i++) {
		size_t slen = strlen(log_secrets[i]);

		for (size_t k = slen - 1; k > 0; k--) {
			if (k <= n &&
			    memcmp(line + n - k, log_secrets[i], k) == 0) {
				memset(line + n - k, '*', k);
				break;
			}
		}
	}
}

/* Control bytes from the server must not reach a terminal or syslog. */
static void log_sanitize(char *line)
{
	for (unsigned char *p = (unsigned char *)line; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[LOG_LINE_MAX];
	char out[LOG_LINE_MAX + 64];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	log_redact(line, sizeof(line));
	if (n >= (int)sizeof(line))
		log_redact_tail(line);
	log_sanitize(line);
	if (level == LOG_LVL_ERROR && log_hook)
		log_hook(line, log_hook_arg);
	if (log_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	n = snprintf(out, sizeof(out), "xaifs: %s: %s\n", names[level], line);
	if (n > (int)sizeof(out))
		n = (int)sizeof(out);
	if (n > 0 && write(STDERR_FILENO, out, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
