/* anonfile.c - private anonymous spool files; see anonfile.h. */
#include "anonfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int anonfile_open(const char *dir)
{
	char path[4096];
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -errno;
	snprintf(path, sizeof(path), "%s/.xaifs-spool-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

off_t anonfile_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? -errno : st.st_size;
}

int anonfile_read_all(int fd, size_t max, char **out, size_t *len)
{
	off_t size = anonfile_size(fd);
	size_t done = 0;
	char *p;

	if (size < 0)
		return (int)size;
	if ((uint64_t)size > max)
		return -EFBIG;
	p = malloc((size_t)size + 1);
	if (!p)
		return -ENOMEM;
	while (done < (size_t)size) {
		ssize_t n = pread(fd, p + done, (size_t)size - done,
				  (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(p);
			return n < 0 ? -errno : -EIO;
		}
		done += (size_t)n;
	}
	p[done] = '\0';
	*out = p;
	*len = done;
	return 0;
}
