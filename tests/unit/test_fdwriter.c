/* test_fdwriter.c - fdwriter: every byte in order, batches, the writer
 * thread, and write failures reported on either thread. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fdwriter.h"
#include "test.h"

static int landed_calls;

static void count_landed(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&landed_calls, 1, __ATOMIC_RELAXED);
}

/* A temporary file, already unlinked. */
static int temp_fd(void)
{
	char path[] = "/tmp/test-fdwriter-XXXXXX";
	int fd = mkstemp(path);

	if (fd >= 0)
		unlink(path);
	return fd;
}

/* Bytes of a stream: position-dependent, so a lost or swapped piece shows. */
static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 131u + (i >> 13));
}

/* Put total bytes in pieces of 1..piece bytes, flushing every few pieces. */
static int put_stream(struct fdwriter *w, size_t total, size_t piece)
{
	unsigned char buf[20000];
	size_t at = 0, n, k = 0;
	int rc = 0;

	while (rc == 0 && at < total) {
		n = 1 + (k * 7919) % piece;
		n = n < total - at ? n : total - at;
		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(at + i);
		rc = fdwriter_put(w, buf, n);
		at += n;
		if (rc == 0 && ++k % 5 == 0)
			rc = fdwriter_flush(w);
	}
	return rc;
}

static size_t stream_errors(int fd, size_t total)
{
	unsigned char buf[65536];
	size_t at = 0, bad = 0;
	ssize_t n;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return total;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			bad += buf[i] != byte_at(at + (size_t)i);
		at += (size_t)n;
	}
	return bad + (at != total);
}

static void test_stream(const char *what, size_t total, size_t piece)
{
	int fd = temp_fd();
	struct fdwriter *w = fdwriter_new(fd, count_landed, NULL);

	TEST_CTX(what);
	landed_calls = 0;
	CHECK(fd >= 0 && w != NULL);
	CHECK_EQ_INT(put_stream(w, total, piece), 0);
	CHECK_EQ_INT(fdwriter_end(w), 0);
	CHECK_EQ_INT(stream_errors(fd, total), 0);
	/* every batch told: at least one per FDWRITER_BATCH bytes */
	CHECK(landed_calls >= (int)(total / FDWRITER_BATCH));
	CHECK(total == 0 || landed_calls > 0);
	close(fd);
}

/* One put larger than several batches. */
static void test_one_big_put(void)
{
	size_t total = 3 * FDWRITER_BATCH + 12345;
	unsigned char *buf = malloc(total);
	int fd = temp_fd();
	struct fdwriter *w = fdwriter_new(fd, NULL, NULL);

	TEST_CTX("one put of 3.x batches");
	for (size_t i = 0; buf && i < total; i++)
		buf[i] = byte_at(i);
	CHECK_EQ_INT(fdwriter_put(w, buf, total), 0);
	CHECK_EQ_INT(fdwriter_end(w), 0);
	CHECK_EQ_INT(stream_errors(fd, total), 0);
	free(buf);
	close(fd);
}

static void test_empty_and_null(void)
{
	int fd = temp_fd();
	struct fdwriter *w = fdwriter_new(fd, NULL, NULL);

	TEST_CTX("nothing put");
	CHECK_EQ_INT(fdwriter_flush(w), 0);
	CHECK_EQ_INT(fdwriter_end(w), 0);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_END), 0);
	CHECK_EQ_INT(fdwriter_end(NULL), 0);
	close(fd);
}

/* A descriptor that cannot be written: the failure comes back. */
static void test_bad_fd(size_t total)
{
	int fd = temp_fd();
	struct fdwriter *w;
	int rc;

	TEST_CTX("bad fd");
	close(fd); /* fd is now invalid */
	w = fdwriter_new(fd, count_landed, NULL);
	rc = put_stream(w, total, 16384);
	if (rc == 0)
		rc = fdwriter_end(w);
	else
		CHECK_EQ_INT(fdwriter_end(w), rc);
	CHECK_EQ_INT(rc, -EBADF);
}

/* A file that may not grow past 3 MiB: the writer thread's failure reaches
 * the producer, and nothing past the limit is written. */
static void test_thread_failure(void)
{
	struct rlimit old, lim;
	int fd = temp_fd();
	struct fdwriter *w = fdwriter_new(fd, NULL, NULL);
	int rc;

	TEST_CTX("the writer thread fails (file size limit)");
	signal(SIGXFSZ, SIG_IGN);
	CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 3u << 20;
	CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = put_stream(w, 8u << 20, 16384);
	if (rc == 0)
		rc = fdwriter_end(w);
	else
		CHECK_EQ_INT(fdwriter_end(w), rc);
	CHECK_EQ_INT(rc, -EFBIG);
	CHECK(lseek(fd, 0, SEEK_END) <= (off_t)(3u << 20));
	setrlimit(RLIMIT_FSIZE, &old);
	close(fd);
}

int main(void)
{
	test_empty_and_null();
	test_stream("one small piece", 10, 10);
	test_stream("small stream, no thread", 300000, 16384);
	test_stream("exactly one batch", FDWRITER_BATCH, 16384);
	test_stream("large stream, writer thread", 9u << 20, 16384);
	test_stream("large stream, tiny pieces", 3u << 20, 97);
	test_stream("large stream, 20 kB pieces", 5u << 20, 20000);
	test_one_big_put();
	test_bad_fd(100000);
	test_thread_failure();
	return test_done();
}
