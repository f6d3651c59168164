/* scratch.c - files that exist only inside the mount; see scratch.h. */
#include "scratch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "anonfile.h"

struct lnode {
	uint64_t ino;
	enum node_kind dir;
	char *cid;
	char *name;
	int fd;
	int pending;
	struct timespec mtime;
	enum node_kind redirect;
	char *redirect_id;
	char *fields; /* user.xai.fields set on it (compact JSON), or NULL */
	struct lnode *next;
};

struct scratch {
	pthread_mutex_t lock;
	struct inode_table *inodes;
	char *tmpdir;
	struct lnode *nodes; /* protected by lock; few at a time */
	uint64_t seq;	     /* protected by lock */
};

void scratch_info_release(struct scratch_info *i)
{
	free(i->cid);
	free(i->name);
	free(i->redirect_id);
	i->cid = NULL;
	i->name = NULL;
	i->redirect_id = NULL;
}

int scratch_is_temp_name(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0)
		return 0;
	if (name[0] == '.' || name[n - 1] == '~')
		return 1;
	if (n >= 2 && name[0] == '#' && name[n - 1] == '#')
		return 1;
	for (i = 0; i < n && isdigit((unsigned char)name[i]); i++)
		;
	if (i == n)
		return 1;
	if (n == 9 && strncmp(name, "sed", 3) == 0) {
		for (i = 3; i < n && isalnum((unsigned char)name[i]); i++)
			;
		return i == n;
	}
	return 0;
}

struct scratch *scratch_new(struct inode_table *t, const char *tmpdir)
{
	struct scratch *l = calloc(1, sizeof(*l));

	if (!l || !(l->tmpdir = strdup(tmpdir))) {
		free(l);
		return NULL;
	}
	l->inodes = t;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

static void lnode_free(struct scratch *l, struct lnode *n)
{
	if (n->ino)
		inode_drop(l->inodes, n->ino);
	if (n->fd >= 0)
		close(n->fd);
	free(n->cid);
	free(n->name);
	free(n->redirect_id);
	free(n->fields);
	free(n);
}

void scratch_free(struct scratch *l)
{
	struct lnode *n, *next;

	if (!l)
		return;
	for (n = l->nodes; n; n = next) {
		next = n->next;
		lnode_free(l, n);
	}
	pthread_mutex_destroy(&l->lock);
	free(l->tmpdir);
	free(l);
}

static struct lnode *scratch_find_locked(struct scratch *l, enum node_kind dir,
					 const char *cid, const char *name)
{
	for (struct lnode *n = l->nodes; n; n = n->next)
		if (!n->redirect_id && n->dir == dir &&
		    strcmp(n->cid, cid) == 0 && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static struct lnode *scratch_find_ino_locked(struct scratch *l, uint64_t ino)
{
	for (struct lnode *n = l->nodes; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

static int scratch_fill(const struct lnode *n, struct scratch_info *out)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	out->ino = n->ino;
	out->dir = n->dir;
	out->pending = n->pending;
	out->mtime = n->mtime;
	out->size = fstat(n->fd, &st) == 0 ? st.st_size : 0;
	out->cid = strdup(n->cid);
	out->name = strdup(n->name);
	out->redirect = n->redirect;
	if (n->redirect_id && !(out->redirect_id = strdup(n->redirect_id)))
		out->name = (free(out->name), NULL);
	if (!out->cid || !out->name) {
		scratch_info_release(out);
		return -ENOMEM;
	}
	return 0;
}

int scratch_create(struct scratch *l, enum node_kind dir, const char *cid,
		   const char *name, int pending, struct scratch_info *out)
{
	char id[32];
	struct lnode *n;
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	if (scratch_find_locked(l, dir, cid, name)) {
		rc = -EEXIST;
		goto out;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		rc = -ENOMEM;
		goto out;
	}
	n->fd = anonfile_open(l->tmpdir);
	n->cid = strdup(cid);
	n->name = strdup(name);
	snprintf(id, sizeof(id), "local:%llu", (unsigned long long)++l->seq);
	if (n->fd < 0 || !n->cid || !n->name) {
		rc = n->fd < 0 ? n->fd : -ENOMEM;
		lnode_free(l, n);
		goto out;
	}
	n->ino = inode_get(l->inodes, NODE_LOCAL, cid, id, 1);
	if (n->ino && inode_hold(l->inodes, n->ino) < 0)
		n->ino = 0;
	if (!n->ino) {
		lnode_free(l, n);
		rc = -ENOMEM;
		goto out;
	}
	n->dir = dir;
	n->pending = pending;
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	n->next = l->nodes;
	l->nodes = n;
	rc = scratch_fill(n, out);
out:
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int scratch_get(struct scratch *l, enum node_kind dir, const char *cid,
		const char *name, struct scratch_info *out)
{
	struct lnode *n;
	int rc;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_locked(l, dir, cid, name);
	rc = n ? scratch_fill(n, out) : -ENOENT;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int scratch_get_ino(struct scratch *l, uint64_t ino, struct scratch_info *out)
{
	struct lnode *n;
	int rc;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	rc = n ? scratch_fill(n, out) : -ENOENT;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int scratch_open_fd(struct scratch *l, uint64_t ino)
{
	struct lnode *n;
	int fd;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	fd = n ? fcntl(n->fd, F_DUPFD_CLOEXEC, 0) : -ENOENT;
	if (n && fd < 0)
		fd = -errno;
	pthread_mutex_unlock(&l->lock);
	return fd;
}

static void scratch_unlink_locked(struct scratch *l, struct lnode *victim)
{
	for (struct lnode **p = &l->nodes; *p; p = &(*p)->next)
		if (*p == victim) {
			*p = victim->next;
			lnode_free(l, victim);
			return;
		}
}

int scratch_remove(struct scratch *l, enum node_kind dir, const char *cid,
		   const char *name)
{
	struct lnode *n;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_locked(l, dir, cid, name);
	if (n)
		scratch_unlink_locked(l, n);
	pthread_mutex_unlock(&l->lock);
	return n ? 0 : -ENOENT;
}

int scratch_remove_ino(struct scratch *l, uint64_t ino)
{
	struct lnode *n;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	if (n)
		scratch_unlink_locked(l, n);
	pthread_mutex_unlock(&l->lock);
	return n ? 0 : -ENOENT;
}

int scratch_rename(struct scratch *l, enum node_kind dir, const char *cid,
		   const char *from, const char *to)
{
	struct lnode *n, *old;
	char *nn;
	int rc = 0;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_locked(l, dir, cid, from);
	if (!n) {
		rc = -ENOENT;
		goto out;
	}
	nn = strdup(to);
	if (!nn) {
		rc = -ENOMEM;
		goto out;
	}
	old = scratch_find_locked(l, dir, cid, to);
	if (old && old != n)
		scratch_unlink_locked(l, old);
	free(n->name);
	n->name = nn;
out:
	pthread_mutex_unlock(&l->lock);
	return rc;
}

int scratch_redirect(struct scratch *l, uint64_t ino, enum node_kind kind,
		     const char *id)
{
	struct lnode *n;
	char *copy = strdup(id);
	int rc = copy ? 0 : -ENOMEM;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	if (!n)
		rc = -ENOENT;
	if (rc == 0) {
		free(n->redirect_id);
		n->redirect_id = copy;
		n->redirect = kind;
		n->pending = 0;
		copy = NULL;
		/* The resource carries its fields now: the local ones are
		 * spent. */
		free(n->fields);
		n->fields = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	free(copy);
	return rc;
}

void scratch_set_mtime(struct scratch *l, uint64_t ino,
		       const struct timespec *t)
{
	struct lnode *n;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	if (n)
		n->mtime = *t;
	pthread_mutex_unlock(&l->lock);
}

int scratch_set_fields(struct scratch *l, uint64_t ino, const char *fields)
{
	char *copy = fields ? strdup(fields) : NULL;
	struct lnode *n;
	int rc = fields && !copy ? -ENOMEM : 0;

	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	if (!n || n->redirect_id)
		rc = rc ? rc : -ENOENT;
	if (rc == 0) {
		free(n->fields);
		n->fields = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	free(copy);
	return rc;
}

int scratch_get_fields(struct scratch *l, uint64_t ino, char **out)
{
	struct lnode *n;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&l->lock);
	n = scratch_find_ino_locked(l, ino);
	if (!n || n->redirect_id)
		rc = -ENOENT;
	else if (n->fields && !(*out = strdup(n->fields)))
		rc = -ENOMEM;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

long scratch_list(struct scratch *l, enum node_kind dir, const char *cid,
		  char ***names, uint64_t **inos)
{
	long count = 0, i = 0;

	*names = NULL;
	*inos = NULL;
	pthread_mutex_lock(&l->lock);
	for (struct lnode *n = l->nodes; n; n = n->next)
		count += !n->redirect_id && n->dir == dir &&
			 strcmp(n->cid, cid) == 0;
	if (count == 0)
		goto out;
	*names = calloc((size_t)count, sizeof(**names));
	*inos = calloc((size_t)count, sizeof(**inos));
	if (!*names || !*inos) {
		count = -ENOMEM;
		goto out;
	}
	for (struct lnode *n = l->nodes; n && i < count; n = n->next) {
		if (n->redirect_id || n->dir != dir || strcmp(n->cid, cid) != 0)
			continue;
		(*inos)[i] = n->ino;
		(*names)[i] = strdup(n->name);
		if (!(*names)[i++]) {
			count = -ENOMEM;
			break;
		}
	}
out:
	if (count < 0) {
		for (long j = 0; *names && j < i; j++)
			free((*names)[j]);
		free(*names);
		free(*inos);
		*names = NULL;
		*inos = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	return count;
}
