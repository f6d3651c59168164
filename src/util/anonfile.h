/*
 * anonfile.h - private spool files: anonymous files on disk that hold bytes the
 * mount is writing or has read (document uploads and downloads, local files).
 *
 * Owns nothing beyond the fds it returns. Files are created already unlinked
 * (O_TMPFILE, else mkstemp + unlink) with mode 0600 in the given directory,
 * so no bytes are left behind after a crash and memory use does not grow
 * with file sizes. Thread safe (no state).
 */
#ifndef XAIFS_ANONFILE_H
#define XAIFS_ANONFILE_H

#include <stddef.h>
#include <sys/types.h>

/* A new anonymous read-write file in dir. Returns the fd or -errno. */
int anonfile_open(const char *dir);

/* Read the whole spool (at most max bytes) into a new NUL-terminated buffer. */
int anonfile_read_all(int fd, size_t max, char **out, size_t *len);

/* Size of the spool, or -errno. */
off_t anonfile_size(int fd);

#endif
