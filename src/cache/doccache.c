/* doccache.c - on-disk cache of document bytes; see doccache.h. */
#include "doccache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct blob {
	char *name; /* file name in the directory */
	uint64_t size;
	uint64_t used; /* last use, a counter */
	struct blob *next;
};

struct doccache_dl {
	int refs; /* atomic */
	struct doccache *b;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* progress or end */
	int done;	     /* protected by lock */
	int rc;		     /* protected by lock */
	char *id;
	char *name; /* file name in the directory */
	char *tmp;  /* the growing file */
	int wfd;    /* the downloader's fd */
	doccache_fill_fn fill;
	void *ctx;
	struct doccache_dl *next; /* in b->inflight; protected by b->lock */
};

struct doccache {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* a download thread ended */
	int active;	     /* download threads running; protected by lock */
	struct doccache_dl *inflight; /* protected by lock */
	char *dir;
	int owned; /* a private directory removed at the end */
	uint64_t max_bytes;
	uint64_t total;	   /* protected by lock */
	uint64_t clock;	   /* protected by lock */
	struct blob *list; /* protected by lock */
	uint64_t seq;	   /* temp names; protected by lock */
};

/* The file name of (id, hash): only safe bytes, so no path tricks. */
static void doccache_name(const char *id, const char *hash, char *out, size_t n)
{
	size_t j = 0;

	for (const char *s = id; *s && j + 1 < n / 2; s++)
		out[j++] = (*s >= 'a' && *s <= 'z') ||
					   (*s >= 'A' && *s <= 'Z') ||
					   (*s >= '0' && *s <= '9') ||
					   *s == '-' || *s == '_'
				   ? *s
				   : '_';
	if (j + 1 < n)
		out[j++] = '.';
	for (const char *s = hash ? hash : ""; *s && j + 1 < n; s++)
		if ((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))
			out[j++] = *s;
	out[j] = '\0';
}

static void doccache_forget_locked(struct doccache *b, struct blob **p)
{
	struct blob *victim = *p;
	char path[4096];

	*p = victim->next;
	snprintf(path, sizeof(path), "%s/%s", b->dir, victim->name);
	unlink(path);
	b->total -= victim->size;
	free(victim->name);
	free(victim);
}

/* Evict least recently used files until total + extra fits the budget. */
static void doccache_evict_locked(struct doccache *b, uint64_t extra)
{
	while (b->list && b->total + extra > b->max_bytes) {
		struct blob **oldest = &b->list;

		for (struct blob **p = &b->list; *p; p = &(*p)->next)
			if ((*p)->used < (*oldest)->used)
				oldest = p;
		doccache_forget_locked(b, oldest);
	}
}

static struct blob **doccache_find_locked(struct doccache *b, const char *name)
{
	for (struct blob **p = &b->list; *p; p = &(*p)->next)
		if (strcmp((*p)->name, name) == 0)
			return p;
	return NULL;
}

/* Files left by an earlier mount of a persistent directory are reused. */
static void doccache_scan(struct doccache *b)
{
	DIR *d = opendir(b->dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		struct blob *x;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		x = calloc(1, sizeof(*x));
		if (!x || !(x->name = strdup(de->d_name))) {
			free(x);
			break;
		}
		x->size = (uint64_t)st.st_size;
		x->next = b->list;
		b->list = x;
		b->total += x->size;
	}
	closedir(d);
	doccache_evict_locked(b, 0);
}

struct doccache *doccache_new(const char *dir, const char *tmpdir,
			      uint64_t max_bytes)
{
	struct doccache *b = calloc(1, sizeof(*b));
	char tmpl[4096];

	if (!b)
		return NULL;
	if (dir) {
		b->dir = strdup(dir);
		if (b->dir && mkdir(dir, 0700) < 0 && errno != EEXIST) {
			free(b->dir);
			b->dir = NULL;
		}
	} else {
		snprintf(tmpl, sizeof(tmpl), "%s/xaifs-cache-XXXXXX", tmpdir);
		b->dir = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
		b->owned = 1;
	}
	if (!b->dir) {
		free(b);
		return NULL;
	}
	b->max_bytes = max_bytes;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->idle, NULL);
	if (!b->owned)
		doccache_scan(b);
	return b;
}

void doccache_clear(struct doccache *b)
{
	pthread_mutex_lock(&b->lock);
	while (b->list)
		doccache_forget_locked(b, &b->list);
	pthread_mutex_unlock(&b->lock);
}

void doccache_drain(struct doccache *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	while (b->active)
		pthread_cond_wait(&b->idle, &b->lock);
	pthread_mutex_unlock(&b->lock);
}

void doccache_free(struct doccache *b)
{
	if (!b)
		return;
	doccache_drain(b);
	if (b->owned) {
		doccache_clear(b);
		rmdir(b->dir);
	}
	while (b->list) {
		struct blob *x = b->list;

		b->list = x->next;
		free(x->name);
		free(x);
	}
	pthread_mutex_destroy(&b->lock);
	pthread_cond_destroy(&b->idle);
	free(b->dir);
	free(b);
}

/* An fd on a cached file, or -ENOENT. Touches it for LRU. */
static int doccache_lookup(struct doccache *b, const char *name)
{
	char path[4096];
	struct blob **p;
	int fd = -ENOENT;

	pthread_mutex_lock(&b->lock);
	p = doccache_find_locked(b, name);
	if (p) {
		(*p)->used = ++b->clock;
		snprintf(path, sizeof(path), "%s/%s", b->dir, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
			doccache_forget_locked(b, p);
		}
	}
	pthread_mutex_unlock(&b->lock);
	return fd;
}

/* Record a new file (after its rename into place), evicting to make room
 * (b->lock held). */
static void doccache_insert_locked(struct doccache *b, const char *name,
				   uint64_t size)
{
	struct blob **p, *x = calloc(1, sizeof(*x));

	p = doccache_find_locked(b, name);
	if (p) {
		b->total -= (*p)->size;
		(*p)->size = size;
		(*p)->used = ++b->clock;
		b->total += size;
		free(x);
		x = NULL;
	} else if (x && (x->name = strdup(name))) {
		x->size = size;
		x->used = ++b->clock;
		doccache_evict_locked(b, size);
		x->next = b->list;
		b->list = x;
		b->total += size;
		x = NULL;
	}
	free(x);
}

/* ---- downloads on their own threads ---- */

void doccache_dl_unref(struct doccache_dl *dl)
{
	if (!dl || __atomic_sub_fetch(&dl->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	pthread_mutex_destroy(&dl->lock);
	pthread_cond_destroy(&dl->cond);
	free(dl->id);
	free(dl->name);
	free(dl->tmp);
	free(dl);
}

/*
 * Move the finished file into place (or remove it) and take dl off the
 * in-flight list in one hold of b->lock: a reader that finds dl listed
 * opens dl->tmp under that lock too, so the file is still there for it.
 */
static void doccache_dl_finish(struct doccache_dl *dl, int rc, uint64_t bytes)
{
	struct doccache *b = dl->b;
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", b->dir, dl->name);
	pthread_mutex_lock(&b->lock);
	if (rc == 0 && bytes <= b->max_bytes && rename(dl->tmp, path) == 0)
		doccache_insert_locked(b, dl->name, bytes);
	else
		unlink(dl->tmp); /* readers' fds still read it */
	for (struct doccache_dl **p = &b->inflight; *p; p = &(*p)->next)
		if (*p == dl) {
			*p = dl->next;
			break;
		}
	pthread_mutex_unlock(&b->lock);
	pthread_mutex_lock(&dl->lock);
	dl->done = 1;
	dl->rc = rc;
	pthread_cond_broadcast(&dl->cond);
	pthread_mutex_unlock(&dl->lock);
}

/* Bytes reached the file: wake its readers (doccache_dl_wait()). */
static void doccache_dl_landed(void *arg)
{
	struct doccache_dl *dl = arg;

	pthread_mutex_lock(&dl->lock);
	pthread_cond_broadcast(&dl->cond);
	pthread_mutex_unlock(&dl->lock);
}

static void *doccache_dl_thread(void *arg)
{
	struct doccache_dl *dl = arg;
	struct doccache *b = dl->b;
	uint64_t bytes = 0;
	int rc;

	rc = dl->fill(dl->ctx, dl->id, dl->wfd, &bytes, doccache_dl_landed, dl);
	close(dl->wfd);
	doccache_dl_finish(dl, rc, bytes);
	doccache_dl_unref(dl);
	pthread_mutex_lock(&b->lock);
	b->active--;
	pthread_cond_broadcast(&b->idle);
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static struct doccache_dl *doccache_dl_new(struct doccache *b, const char *id,
					   const char *name,
					   doccache_fill_fn fill, void *ctx)
{
	struct doccache_dl *dl = calloc(1, sizeof(*dl));

	if (!dl)
		return NULL;
	dl->refs = 1;
	dl->b = b;
	dl->fill = fill;
	dl->ctx = ctx;
	dl->wfd = -1;
	dl->id = strdup(id);
	dl->name = strdup(name);
	if (asprintf(&dl->tmp, "%s/.part-%llu-%s", b->dir,
		     (unsigned long long)++b->seq, name) < 0)
		dl->tmp = NULL;
	pthread_mutex_init(&dl->lock, NULL);
	pthread_cond_init(&dl->cond, NULL);
	if (!dl->id || !dl->name || !dl->tmp) {
		doccache_dl_unref(dl);
		return NULL;
	}
	return dl;
}

/* Start a download thread for dl (b->lock held). Returns 0 or -errno. */
static int doccache_dl_start_locked(struct doccache *b, struct doccache_dl *dl)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	dl->wfd = open(dl->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (dl->wfd < 0)
		return -errno;
	__atomic_add_fetch(&dl->refs, 1, __ATOMIC_RELAXED); /* the thread's */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, doccache_dl_thread, dl);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		close(dl->wfd);
		unlink(dl->tmp);
		__atomic_sub_fetch(&dl->refs, 1, __ATOMIC_RELAXED);
		return -rc;
	}
	b->active++;
	dl->next = b->inflight;
	b->inflight = dl;
	return 0;
}

int doccache_open_async(struct doccache *b, const char *id, const char *hash,
			doccache_fill_fn fill, void *ctx,
			struct doccache_dl **out)
{
	struct doccache_dl *dl;
	char name[512];
	int fd, rc = 0;

	*out = NULL;
	doccache_name(id, hash, name, sizeof(name));
	fd = doccache_lookup(b, name);
	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&b->lock);
	for (dl = b->inflight; dl; dl = dl->next)
		if (strcmp(dl->name, name) == 0)
			break;
	if (dl) {
		__atomic_add_fetch(&dl->refs, 1, __ATOMIC_RELAXED);
	} else {
		dl = doccache_dl_new(b, id, name, fill, ctx);
		rc = dl ? doccache_dl_start_locked(b, dl) : -ENOMEM;
		if (rc < 0) {
			doccache_dl_unref(dl);
			dl = NULL;
		}
	}
	/* Opened while b->lock is held: the file cannot be renamed away first. */
	fd = dl ? open(dl->tmp, O_RDONLY | O_CLOEXEC) : rc;
	if (dl && fd < 0)
		fd = -errno;
	pthread_mutex_unlock(&b->lock);
	if (fd < 0) {
		doccache_dl_unref(dl);
		return fd;
	}
	*out = dl;
	return fd;
}

int doccache_dl_wait(struct doccache_dl *dl, int fd, uint64_t want)
{
	struct timespec until;
	struct stat st;
	long wait_ns = 50 * 1000; /* grows to 2 ms while nothing arrives */
	int rc = 0;

	pthread_mutex_lock(&dl->lock);
	for (;;) {
		if (dl->done) {
			rc = dl->rc;
			break;
		}
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= want)
			break;
		/* The downloader signals what it writes (doccache_dl_landed());
		 * the timeout is a safety net. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += wait_ns;
		if (wait_ns < 2 * 1000 * 1000)
			wait_ns *= 2;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&dl->cond, &dl->lock, &until);
	}
	pthread_mutex_unlock(&dl->lock);
	return rc;
}
