/*
 * fdwriter.c - batched writes to an fd, handed to a writer thread once the
 * stream is large; see fdwriter.h.
 */
#include "fdwriter.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fdwriter {
	int fd;
	void (*landed)(void *arg);
	void *arg;
	char *fill; /* the batch being gathered (producer's) */
	size_t filled;
	uint64_t total; /* bytes put so far */
	int threaded;	/* the writer thread runs */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock: the batch handed over (NULL: the writer is idle) */
	char *pending;
	size_t pending_len;
	char *spare; /* the other buffer, once the writer is done with it */
	int err;     /* first -errno of a write */
	int stop;
};

static int fdwriter_write_all(int fd, const char *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

static void *fdwriter_thread(void *arg)
{
	struct fdwriter *w = arg;
	char *buf;
	size_t len;
	int rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->pending && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->pending)
			break;	  /* stopped with nothing left */
		buf = w->pending; /* never handed over once err is set */
		len = w->pending_len;
		pthread_mutex_unlock(&w->lock);
		rc = fdwriter_write_all(w->fd, buf, len);
		if (rc == 0 && w->landed)
			w->landed(w->arg);
		pthread_mutex_lock(&w->lock);
		if (rc < 0 && !w->err)
			w->err = rc;
		w->pending = NULL;
		w->spare = buf;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct fdwriter *fdwriter_new(int fd, void (*landed)(void *arg), void *arg)
{
	struct fdwriter *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fd = fd;
	w->landed = landed;
	w->arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	return w;
}

/* Start the writer with a second buffer; on failure stay synchronous. */
static void fdwriter_start(struct fdwriter *w)
{
	w->spare = malloc(FDWRITER_BATCH);
	if (!w->spare)
		return;
	if (pthread_create(&w->thread, NULL, fdwriter_thread, w) != 0) {
		free(w->spare);
		w->spare = NULL;
		return;
	}
	w->threaded = 1;
}

/* Hand the gathered batch to the thread (waiting for it to be idle). */
static int fdwriter_hand_over(struct fdwriter *w)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	while (w->pending)
		pthread_cond_wait(&w->cond, &w->lock);
	rc = w->err;
	if (rc == 0) {
		w->pending = w->fill;
		w->pending_len = w->filled;
		w->fill = w->spare;
		w->spare = NULL;
		w->filled = 0;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int fdwriter_flush(struct fdwriter *w)
{
	int rc;

	if (!w->filled) {
		pthread_mutex_lock(&w->lock); /* err is the thread's too */
		rc = w->err;
		pthread_mutex_unlock(&w->lock);
		return rc;
	}
	if (!w->threaded && w->total >= FDWRITER_THREAD_AFTER)
		fdwriter_start(w);
	if (w->threaded)
		return fdwriter_hand_over(w);
	rc = w->err ? w->err : fdwriter_write_all(w->fd, w->fill, w->filled);
	w->filled = 0;
	if (rc < 0)
		w->err = rc;
	else if (w->landed)
		w->landed(w->arg);
	return rc;
}

int fdwriter_put(struct fdwriter *w, const void *p, size_t len)
{
	const char *s = p;
	size_t n;
	int rc;

	if (!w->fill && !(w->fill = malloc(FDWRITER_BATCH)))
		return -ENOMEM;
	while (len) {
		if (w->filled == FDWRITER_BATCH && (rc = fdwriter_flush(w)) < 0)
			return rc;
		n = FDWRITER_BATCH - w->filled;
		n = n < len ? n : len;
		memcpy(w->fill + w->filled, s, n);
		w->filled += n;
		w->total += n;
		s += n;
		len -= n;
	}
	return 0;
}

int fdwriter_end(struct fdwriter *w)
{
	int rc;

	if (!w)
		return 0;
	rc = fdwriter_flush(w);
	if (w->threaded) {
		pthread_mutex_lock(&w->lock);
		while (w->pending)
			pthread_cond_wait(&w->cond, &w->lock);
		w->stop = 1;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
		rc = rc ? rc : w->err;
	}
	free(w->fill);
	free(w->spare);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	return rc;
}
