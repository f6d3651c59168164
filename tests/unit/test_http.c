/* test_http.c - the one HTTP-status-to-errno table, the transient sets, and
 * libcurl failures. */
#include <errno.h>
#include <stdio.h>

#include "http.h"
#include "http_status.h"
#include "test.h"

struct status_row {
	long status;
	int err;       /* http_status_errno() */
	int transient; /* http_status_transient() */
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
		CHECK_EQ_INT(!!http_status_transient(rows[i].status),
			     rows[i].transient);
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

/* What a libcurl failure means (http_status.h), including the client's own
 * cuts. */
static void test_curl_failures(void)
{
	struct http_cut none = { 0 }, stall = { .stalled = 1 },
			src = { .read_aborted = 1 };
	struct http_cut cap = { .failed_write = 1 }, fd = { .failed_write = 2 };

	TEST_CTX("libcurl failures to errno");
	CHECK_EQ_INT(http_curl_errno(CURLE_OPERATION_TIMEDOUT, &none),
		     -ETIMEDOUT);
	CHECK_EQ_INT(http_curl_errno(CURLE_ABORTED_BY_CALLBACK, &stall),
		     -ETIMEDOUT);
	CHECK_EQ_INT(http_curl_errno(CURLE_ABORTED_BY_CALLBACK, &src),
		     -ECANCELED);
	CHECK_EQ_INT(http_curl_errno(CURLE_ABORTED_BY_CALLBACK, &none), -EIO);
	CHECK_EQ_INT(http_curl_errno(CURLE_OUT_OF_MEMORY, &none), -ENOMEM);
	CHECK_EQ_INT(http_curl_errno(CURLE_WRITE_ERROR, &cap), -EIO);
	CHECK_EQ_INT(http_curl_errno(CURLE_WRITE_ERROR, &fd), -ENOSPC);
	/* the write's own errno, whichever callback cut the try */
	fd.write_err = -EFBIG;
	CHECK_EQ_INT(http_curl_errno(CURLE_WRITE_ERROR, &fd), -EFBIG);
	CHECK_EQ_INT(http_curl_errno(CURLE_ABORTED_BY_CALLBACK, &fd), -EFBIG);
	CHECK_EQ_INT(http_curl_errno(CURLE_COULDNT_CONNECT, &none), -EIO);
	CHECK_EQ_INT(http_curl_errno(CURLE_SSL_CONNECT_ERROR, &none), -EIO);
	TEST_CTX("transient libcurl failures");
	CHECK(http_curl_transient(CURLE_COULDNT_CONNECT));
	CHECK(http_curl_transient(CURLE_GOT_NOTHING));
	CHECK(http_curl_transient(CURLE_SEND_ERROR));
	CHECK(http_curl_transient(CURLE_RECV_ERROR));
	CHECK(http_curl_transient(CURLE_PARTIAL_FILE));
	CHECK(!http_curl_transient(CURLE_OPERATION_TIMEDOUT));
	CHECK(!http_curl_transient(CURLE_ABORTED_BY_CALLBACK));
	CHECK(!http_curl_transient(CURLE_PEER_FAILED_VERIFICATION));
	CHECK(!http_curl_transient(CURLE_OK));
}

int main(void)
{
	test_status_table();
	test_status_sweep();
	test_curl_failures();
	return test_done();
}
