/*
 * sdnotify.h - tell a service manager (systemd, Type=notify) how the mount
 * is doing: READY=1 once it answers, STATUS=... lines, STOPPING=1.
 *
 * The protocol (sd_notify(3), "the notification protocol") is one datagram
 * of newline-separated VAR=VALUE lines sent on an AF_UNIX SOCK_DGRAM socket
 * to the path in $NOTIFY_SOCKET; a path starting with '@' names a socket in
 * the abstract namespace ('@' becomes a NUL byte). It is written out here
 * rather than linked from libsystemd: it is a few dozen lines, stable, the
 * build keeps no systemd dependency (and works the same where there is no
 * systemd), and a test can listen on a socket of its own and read exactly
 * what was sent.
 *
 * Owns: one socket (close-on-exec) and the address it sends to. With no
 * socket named, every call does nothing and returns 0, so callers need not
 * ask whether a service manager is listening.
 *
 * Threads: sdnotify_init() and sdnotify_release() run in main() before and
 * after the FUSE threads; sdnotify_send() may be called from any thread
 * (each message is one sendto(2) of one datagram on a descriptor that does
 * not change).
 *
 * Returns: 0 or -errno.
 */
#ifndef XAIFS_SDNOTIFY_H
#define XAIFS_SDNOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

struct sdnotify {
	int fd; /* -1: no service manager to tell */
	struct sockaddr_un addr;
	socklen_t addr_len;
};

/*
 * Prepare to send to path, as $NOTIFY_SOCKET gives it ("/run/...", or
 * "@name" for the abstract namespace). NULL or "" leaves n disabled and
 * returns 0. A path that is neither, or too long, gives -EINVAL; a socket
 * that cannot be made gives its -errno. n is usable (disabled) either way.
 */
int sdnotify_init(struct sdnotify *n, const char *path);

/* Send msg ("READY=1", "STATUS=...\nERRNO=5", ...) as one datagram. */
int sdnotify_send(const struct sdnotify *n, const char *msg);

/*
 * Send "STATUS=<text>": a line for `systemctl status`. Control bytes in
 * text (newlines above all, which would start another VAR=VALUE line) are
 * replaced by '?', so text may carry what a server sent; it is cut at
 * SDNOTIFY_STATUS_MAX bytes.
 */
#define SDNOTIFY_STATUS_MAX 1024
int sdnotify_status(const struct sdnotify *n, const char *text);

/* Whether a service manager is listening (init found a socket). */
int sdnotify_enabled(const struct sdnotify *n);

/* Close the socket; n is disabled afterwards. */
void sdnotify_release(struct sdnotify *n);

#endif
