/* test_sdnotify.c - the notification protocol, heard on sockets of our own. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "test.h"

/* A datagram socket bound to path ("@name": abstract), or -1. */
static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	socklen_t alen;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memcpy(a.sun_path, path, len);
	if (path[0] == '@') {
		a.sun_path[0] = '\0';
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				   len);
	} else {
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				   len + 1);
	}
	if (bind(fd, (struct sockaddr *)&a, alen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next datagram on fd (waits up to 10 s), NUL-terminated in buf; its length
 * or -1. */
static ssize_t hear(int fd, char *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 10000) != 1)
		return -1;
	n = recv(fd, buf, size - 1, 0);
	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

/* Nothing waiting on fd right now. */
static int quiet(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

static void test_disabled(void)
{
	struct sdnotify n;

	TEST_CTX("no NOTIFY_SOCKET");
	CHECK_EQ_INT(sdnotify_init(&n, NULL), 0);
	CHECK(!sdnotify_enabled(&n));
	CHECK_EQ_INT(sdnotify_send(&n, "READY=1"), 0);
	CHECK_EQ_INT(sdnotify_status(&n, "x"), 0);
	sdnotify_release(&n);
	TEST_CTX("empty NOTIFY_SOCKET");
	CHECK_EQ_INT(sdnotify_init(&n, ""), 0);
	CHECK(!sdnotify_enabled(&n));
	sdnotify_release(&n);
}

static void test_bad_paths(void)
{
	static const char *const bad[] = { "relative/sock", "@", "/", "x",
					   NULL };
	char longp[200];
	struct sdnotify n;

	for (int i = 0; bad[i]; i++) {
		TEST_CTX(bad[i]);
		CHECK_EQ_INT(sdnotify_init(&n, bad[i]), -EINVAL);
		CHECK(!sdnotify_enabled(&n));
		CHECK_EQ_INT(sdnotify_send(&n, "READY=1"), 0);
		sdnotify_release(&n);
	}
	TEST_CTX("too long for sun_path");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_EQ_INT(sdnotify_init(&n, longp), -EINVAL);
	CHECK(!sdnotify_enabled(&n));
	sdnotify_release(&n);
}

/* Messages arrive one datagram each, byte for byte. */
static void check_path(const char *what, const char *path)
{
	char buf[4096];
	struct sdnotify n;
	int fd = listen_on(path);

	TEST_CTX(what);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ_INT(sdnotify_init(&n, path), 0);
	CHECK(sdnotify_enabled(&n));
	CHECK_EQ_INT(sdnotify_send(&n, "READY=1"), 0);
	CHECK_EQ_INT(hear(fd, buf, sizeof(buf)), 7);
	CHECK_EQ_STR(buf, "READY=1");
	CHECK_EQ_INT(sdnotify_send(&n, "READY=1\nMAINPID=42"), 0);
	hear(fd, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "READY=1\nMAINPID=42");
	CHECK_EQ_INT(sdnotify_status(&n, "team T on /mnt"), 0);
	hear(fd, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "STATUS=team T on /mnt");
	CHECK_EQ_INT(sdnotify_send(&n, "STOPPING=1"), 0);
	hear(fd, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "STOPPING=1");
	CHECK(quiet(fd));
	sdnotify_release(&n);
	CHECK(!sdnotify_enabled(&n));
	close(fd);
}

static void test_status_is_one_line(void)
{
	char path[108], buf[4096], big[3000];
	struct sdnotify n;
	int fd;

	snprintf(path, sizeof(path), "@xaifs-test-sdnotify-status-%ld",
		 (long)getpid());
	fd = listen_on(path);
	TEST_CTX("a newline cannot add a line");
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ_INT(sdnotify_init(&n, path), 0);
	CHECK_EQ_INT(sdnotify_status(&n, "last error: x\nREADY=1\r\x7f"), 0);
	hear(fd, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "STATUS=last error: x?READY=1??");
	TEST_CTX("a long status is cut");
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ_INT(sdnotify_status(&n, big), 0);
	CHECK_EQ_INT(hear(fd, buf, sizeof(buf)),
		     strlen("STATUS=") + SDNOTIFY_STATUS_MAX);
	CHECK(strncmp(buf, "STATUS=eee", 10) == 0);
	sdnotify_release(&n);
	close(fd);
}

static void test_nobody_listening(void)
{
	char path[108];
	struct sdnotify n;

	snprintf(path, sizeof(path), "/tmp/xaifs-test-sdnotify-none-%ld",
		 (long)getpid());
	unlink(path);
	TEST_CTX("a socket no one listens on");
	CHECK_EQ_INT(sdnotify_init(&n, path), 0);
	CHECK_EQ_INT(sdnotify_send(&n, "READY=1"), -ENOENT);
	sdnotify_release(&n);
}

int main(void)
{
	char path[108];

	test_disabled();
	test_bad_paths();
	snprintf(path, sizeof(path), "/tmp/xaifs-test-sdnotify-%ld",
		 (long)getpid());
	unlink(path);
	check_path("a socket in the file system", path);
	unlink(path);
	snprintf(path, sizeof(path), "@xaifs-test-sdnotify-%ld",
		 (long)getpid());
	check_path("an abstract socket", path);
	test_status_is_one_line();
	test_nobody_listening();
	return test_done();
}
