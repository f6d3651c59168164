/* test_http.c - the one HTTP-status-to-errno table and the transient set. */
#include <errno.h>
#include <stdio.h>

#include "http.h"
#include "test.h"

struct status_row {
	long status;
	int err;	/* http_status_errno() */
	int transient;	/* http_status_transient() */
};

/* docs/semantics.md "Errors" and http.h, row by row. */
static const struct status_row rows[] = {
	{ 200, 0, 0 },
	{ 201, 0, 0 },
	{ 204, 0, 0 },
	{ 206, 0, 0 },
	{ 299, 0, 0 },
	{ 400, -EINVAL, 0 },
	{ 401, -EACCES, 0 },
	{ 403, -EACCES, 0 },
	{ 404, -ENOENT, 0 },
	{ 405, -EIO, 0 },
	{ 408, -ETIMEDOUT, 0 },
	{ 409, -EEXIST, 0 },
	{ 410, -EIO, 0 },
	{ 413, -EFBIG, 0 },
	{ 415, -EINVAL, 0 },
	{ 418, -EIO, 0 },
	{ 422, -EINVAL, 0 },
	{ 429, -EAGAIN, 1 },
	{ 499, -EIO, 0 },
	{ 500, -EIO, 1 },
	{ 501, -EIO, 0 },
	{ 502, -EIO, 1 },
	{ 503, -EIO, 1 },
	{ 504, -EIO, 1 },
	{ 505, -EIO, 0 },
	{ 599, -EIO, 0 },
	/* not an answer a server should give: never success, never retried */
	{ 0, -EIO, 0 },
	{ 100, -EIO, 0 },
	{ 199, -EIO, 0 },
	{ 300, -EIO, 0 },
	{ 301, -EIO, 0 },
	{ 304, -EIO, 0 },
	{ 600, -EIO, 0 },
	{ -1, -EIO, 0 },
	{ 200000, -EIO, 0 },
};

static void test_status_table(void)
{
	char ctx[32];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(ctx, sizeof(ctx), "status %ld", rows[i].status);
		TEST_CTX(ctx);
		CHECK_EQ_INT(http_status_errno(rows[i].status), rows[i].err);
		CHECK_EQ_INT(!!http_status_transient(rows[i].status), rows[i].transient);
	}
}

/* Every status maps to 0 or a negative errno, and only 2xx to 0. */
static void test_status_sweep(void)
{
	int bad = 0;

	TEST_CTX("sweep 0..999");
	for (long s = 0; s < 1000; s++) {
		int e = http_status_errno(s);

		if (e > 0 || (e == 0) != (s >= 200 && s < 300))
			bad++;
		/* a transient status is always an error */
		if (http_status_transient(s) && e == 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	test_status_table();
	test_status_sweep();
	return test_done();
}
