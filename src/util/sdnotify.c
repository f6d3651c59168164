/* sdnotify.c - the service manager's notification protocol; see sdnotify.h. */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int sdnotify_init(struct sdnotify *n, const char *path)
{
	size_t len;

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 ||
	    len >= sizeof(n->addr.sun_path))
		return -EINVAL;
	n->addr.sun_family = AF_UNIX;
	memcpy(n->addr.sun_path, path, len);
	if (path[0] == '@') {
		/* Abstract: the name is the bytes after a leading NUL, no
		 * terminator. */
		n->addr.sun_path[0] = '\0';
		n->addr_len =
			(socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    len);
	} else {
		n->addr_len =
			(socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				    len + 1);
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return n->fd < 0 ? -errno : 0;
}

int sdnotify_enabled(const struct sdnotify *n)
{
	return n->fd >= 0;
}

int sdnotify_send(const struct sdnotify *n, const char *msg)
{
	ssize_t r;

	if (n->fd < 0)
		return 0;
	do
		r = sendto(n->fd, msg, strlen(msg), MSG_NOSIGNAL,
			   (const struct sockaddr *)&n->addr, n->addr_len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int sdnotify_status(const struct sdnotify *n, const char *text)
{
	char msg[sizeof("STATUS=") + SDNOTIFY_STATUS_MAX];
	size_t len;

	if (n->fd < 0)
		return 0;
	len = (size_t)snprintf(msg, sizeof(msg), "STATUS=%s", text);
	if (len >= sizeof(msg))
		len = sizeof(msg) - 1;
	for (size_t i = sizeof("STATUS=") - 1; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	return sdnotify_send(n, msg);
}

void sdnotify_release(struct sdnotify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}
