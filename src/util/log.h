/*
 * log.h - leveled logging with secret redaction.
 *
 * Owns: the log level, the sink (stderr, or syslog once daemonized), an
 * optional hook told of each error, and the list of secrets that must never
 * be printed. Messages are one line each,
 * lower case, problem first ("cannot list keys: ...").
 *
 * Thread safety: log_msg() may be called from any thread; each message is
 * written with a single write(2)/syslog(3) call. log_init(),
 * log_add_secret() and log_clear_secrets() run in main() before or after the
 * FUSE threads, never while they run.
 *
 * Redaction: every registered secret (the management key, the inference key)
 * is replaced by "[redacted]" in every message before it is written, so even
 * a mistaken log of a header or URL cannot leak it.
 */
#ifndef XAIFS_LOG_H
#define XAIFS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

/* Set the level and the sink: use_syslog selects syslog(3) (daemon mode). */
void log_init(enum log_level level, int use_syslog);

enum log_level log_get_level(void);

/* Register a secret to redact. s is borrowed and must outlive logging. */
void log_add_secret(const char *s);

/* Mask every registered secret in text (a string in a buffer of size
 * bytes), in place, as log lines are (for the trace, http_trace.h). */
void log_scrub(char *text, size_t size);

/* Forget every registered secret (before they are wiped at exit). */
void log_clear_secrets(void);

/*
 * Call fn(line, arg) with every error message as it is logged: one line,
 * secrets redacted, control bytes replaced. fn runs on the thread that
 * logged and must not log. Set (or cleared with NULL) in main() while no
 * other thread runs, like log_init().
 */
typedef void (*log_error_hook)(const char *line, void *arg);
void log_set_error_hook(log_error_hook fn, void *arg);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_get_level() >= LOG_LVL_DEBUG)        \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
