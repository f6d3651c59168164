/* kernel_cache.c - kernel cache invalidations and remembered misses; see
 * kernel_cache.h. */
#include "kernel_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fuse_lowlevel.h>

#define KC_MISS_BUCKETS 1024
#define KC_MISS_MAX \
	16384 /* recorded misses; beyond, misses are not remembered */

struct kc_note {
	uint64_t parent; /* 0: invalidate inode ino */
	uint64_t ino;
	char *name;
	struct kc_note *next;
};

struct kc_miss {
	uint64_t parent;
	double expires; /* monotonic seconds: the kernel forgets it then */
	struct kc_miss *next;
	char name[];
};

struct kernel_cache {
	struct fuse_session *se;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;	     /* a note was queued, or stop */
	pthread_cond_t idle;	     /* the queue ran empty */
	struct kc_note *head, *tail; /* lock */
	int busy;		     /* a note is being sent; lock */
	int stop;		     /* lock */
	struct kc_miss *misses[KC_MISS_BUCKETS]; /* lock */
	size_t n_misses;			 /* lock */
};

static double kc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Whether the same note waits in the queue already (a change names the same
 * inode or entry from several listings: the documents and the collections
 * that count them). Only a short queue is searched; a long one (a listing
 * fetched again with many changes) is not, and may send a note twice.
 */
#define KC_DEDUP_SCAN 64
static int kc_queued_locked(const struct kernel_cache *kc, uint64_t parent,
			    uint64_t ino, const char *name)
{
	int n = 0;

	for (const struct kc_note *q = kc->head; q && n < KC_DEDUP_SCAN;
	     q = q->next, n++)
		if (q->parent == parent && q->ino == ino &&
		    (q->name && name ? strcmp(q->name, name) == 0
				     : q->name == name))
			return 1;
	return 0;
}

/* Append a note (kc->lock held). Returns 0 or -ENOMEM (then nothing is queued).
 */
static int kc_queue_locked(struct kernel_cache *kc, uint64_t parent,
			   uint64_t ino, const char *name)
{
	struct kc_note *note;

	if (kc_queued_locked(kc, parent, ino, name))
		return 0;
	note = calloc(1, sizeof(*note));

	if (!note || (name && !(note->name = strdup(name)))) {
		free(note);
		return -ENOMEM; /* the kernel's timeouts bound the staleness
				   instead */
	}
	note->parent = parent;
	note->ino = ino;
	if (kc->tail)
		kc->tail->next = note;
	else
		kc->head = note;
	kc->tail = note;
	pthread_cond_signal(&kc->cond);
	return 0;
}

void kernel_cache_entry(struct kernel_cache *kc, uint64_t parent,
			const char *name)
{
	if (!kc)
		return;
	pthread_mutex_lock(&kc->lock);
	kc_queue_locked(kc, parent, 0, name);
	pthread_mutex_unlock(&kc->lock);
}

void kernel_cache_inode(struct kernel_cache *kc, uint64_t ino)
{
	if (!kc)
		return;
	pthread_mutex_lock(&kc->lock);
	kc_queue_locked(kc, 0, ino, NULL);
	pthread_mutex_unlock(&kc->lock);
}

static void *kc_thread(void *arg)
{
	struct kernel_cache *kc = arg;

	pthread_mutex_lock(&kc->lock);
	for (;;) {
		struct kc_note *note;

		while (!kc->head && !kc->stop)
			pthread_cond_wait(&kc->cond, &kc->lock);
		if (kc->stop)
			break;
		kc->busy = 1;
		note = kc->head;
		kc->head = note->next;
		if (!kc->head)
			kc->tail = NULL;
		pthread_mutex_unlock(&kc->lock);
		/* -ENOENT only means the kernel had nothing cached. */
		if (note->name)
			fuse_lowlevel_notify_inval_entry(kc->se, note->parent,
							 note->name,
							 strlen(note->name));
		else
			fuse_lowlevel_notify_inval_inode(kc->se, note->ino, 0,
							 0);
		free(note->name);
		free(note);
		pthread_mutex_lock(&kc->lock);
		kc->busy = 0;
		if (!kc->head)
			pthread_cond_broadcast(&kc->idle);
	}
	pthread_mutex_unlock(&kc->lock);
	return NULL;
}

void kernel_cache_drain(struct kernel_cache *kc)
{
	if (!kc)
		return;
	pthread_mutex_lock(&kc->lock);
	while ((kc->head || kc->busy) && !kc->stop)
		pthread_cond_wait(&kc->idle, &kc->lock);
	pthread_mutex_unlock(&kc->lock);
}

struct kernel_cache *kernel_cache_start(struct fuse_session *se)
{
	struct kernel_cache *kc = calloc(1, sizeof(*kc));
	int rc;

	if (!kc)
		return NULL;
	kc->se = se;
	pthread_mutex_init(&kc->lock, NULL);
	pthread_cond_init(&kc->cond, NULL);
	pthread_cond_init(&kc->idle, NULL);
	rc = pthread_create(&kc->thread, NULL, kc_thread, kc);
	if (rc != 0) {
		pthread_mutex_destroy(&kc->lock);
		pthread_cond_destroy(&kc->cond);
		pthread_cond_destroy(&kc->idle);
		free(kc);
		errno = rc;
		return NULL;
	}
	return kc;
}

/* ---- remembered misses ---- */

static size_t kc_hash(uint64_t parent, const char *name)
{
	uint64_t h = 14695981039346656037ull ^ parent;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 1099511628211ull;
	return (size_t)(h % KC_MISS_BUCKETS);
}

/* Drop the misses the kernel has forgotten by now (kc->lock held). */
static void kc_prune_locked(struct kernel_cache *kc, double now)
{
	for (size_t i = 0; i < KC_MISS_BUCKETS; i++)
		for (struct kc_miss **p = &kc->misses[i]; *p;) {
			struct kc_miss *m = *p;

			if (m->expires > now) {
				p = &m->next;
				continue;
			}
			*p = m->next;
			free(m);
			kc->n_misses--;
		}
}

double kernel_cache_miss(struct kernel_cache *kc, uint64_t parent,
			 const char *name, double ttl)
{
	double now = kc_now(), given = 0;
	size_t h, len = strlen(name);
	struct kc_miss *m;

	if (!kc || ttl <= 0)
		return 0;
	h = kc_hash(parent, name);
	pthread_mutex_lock(&kc->lock);
	for (m = kc->misses[h]; m; m = m->next)
		if (m->parent == parent && strcmp(m->name, name) == 0)
			break;
	if (!m && kc->n_misses >= KC_MISS_MAX)
		kc_prune_locked(kc, now);
	if (!m && kc->n_misses < KC_MISS_MAX &&
	    (m = malloc(sizeof(*m) + len + 1))) {
		m->parent = parent;
		memcpy(m->name, name, len + 1);
		m->next = kc->misses[h];
		kc->misses[h] = m;
		kc->n_misses++;
	}
	if (m) {
		m->expires = now + ttl;
		given = ttl;
	}
	pthread_mutex_unlock(&kc->lock);
	return given;
}

/* Empty the record, queueing an invalidation of each miss when inval (kc->lock
 * held). */
static void kc_clear_misses_locked(struct kernel_cache *kc, int inval)
{
	for (size_t i = 0; i < KC_MISS_BUCKETS; i++)
		while (kc->misses[i]) {
			struct kc_miss *m = kc->misses[i];

			kc->misses[i] = m->next;
			if (inval)
				kc_queue_locked(kc, m->parent, 0, m->name);
			free(m);
		}
	kc->n_misses = 0;
}

void kernel_cache_forget_misses(struct kernel_cache *kc)
{
	if (!kc)
		return;
	pthread_mutex_lock(&kc->lock);
	kc_clear_misses_locked(kc, 1);
	pthread_mutex_unlock(&kc->lock);
}

void kernel_cache_stop(struct kernel_cache *kc)
{
	if (!kc)
		return;
	pthread_mutex_lock(&kc->lock);
	kc->stop = 1;
	pthread_cond_signal(&kc->cond);
	pthread_mutex_unlock(&kc->lock);
	pthread_join(kc->thread, NULL);
	while (kc->head) {
		struct kc_note *note = kc->head;

		kc->head = note->next;
		free(note->name);
		free(note);
	}
	kc_clear_misses_locked(kc, 0); /* the thread is gone: no lock needed */
	pthread_mutex_destroy(&kc->lock);
	pthread_cond_destroy(&kc->cond);
	pthread_cond_destroy(&kc->idle);
	free(kc);
}
