/*
 * test.h - a tiny unit-test harness.
 *
 * CHECK*() record one pass or one failure and never abort, so one bad row of
 * a table does not hide the rest. TEST_CTX(s) names the row being checked;
 * failures print it. test_done() prints "N passed, N failed" on its own line
 * and returns the process exit status (non-zero on any failure).
 */
#ifndef XAIFS_TEST_H
#define XAIFS_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;
static const char *test_ctx = "";

#define TEST_CTX(s) (test_ctx = (s))

__attribute__((format(printf, 4, 5))) static inline void test_check(
	int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "%s:%d: [%s] FAILED: ", file, line, test_ctx);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CHECK(c) test_check(!!(c), __FILE__, __LINE__, "%s", #c)

#define CHECK_EQ_STR(a, b)                                                  \
	do {                                                                \
		const char *a_ = (a), *b_ = (b);                            \
		test_check(a_ &&b_ ? !strcmp(a_, b_) : a_ == b_, __FILE__,  \
			   __LINE__, "%s == %s (\"%s\" vs \"%s\")", #a, #b, \
			   a_ ? a_ : "(null)", b_ ? b_ : "(null)");         \
	} while (0)

#define CHECK_EQ_INT(a, b)                                             \
	do {                                                           \
		long long a_ = (long long)(a), b_ = (long long)(b);    \
		test_check(a_ == b_, __FILE__, __LINE__,               \
			   "%s == %s (%lld vs %lld)", #a, #b, a_, b_); \
	} while (0)

static inline int test_done(void)
{
	printf("%d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
