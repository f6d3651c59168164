/* upload_stream.c - document uploads fed by writes as they come; see
 * upload_stream.h. */
#include "upload_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct upload_stream {
	struct api *api;
	char *cid, *name, *type, *replaces;
	pthread_t thread;
	int joined; /* the thread was joined (owner only) */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* the ring or the state changed */
	char *ring;	     /* lock: cap bytes, len of them from head */
	size_t cap, head, len;
	int eof;	   /* lock: the writer is done */
	int aborted;	   /* lock: the writer gave up */
	int done;	   /* lock: the request returned */
	int rc;		   /* lock: its result */
	uint64_t sent;	   /* lock: bytes handed to the request */
	uint64_t size;	   /* bytes of the whole file, once eof was read */
	char *fields;	   /* lock: the fields part, set by finish before eof */
	size_t fields_off; /* upload thread: bytes of it sent */
	struct res out;	   /* the result's resource (after done) */
};

/* The request's read callback (upload thread): the next bytes of the ring. */
static ssize_t upload_stream_read(void *ctx, char *buf, size_t n)
{
	struct upload_stream *u = ctx;
	ssize_t got;
	size_t k;

	pthread_mutex_lock(&u->lock);
	while (!u->len && !u->eof && !u->aborted)
		pthread_cond_wait(&u->cond, &u->lock);
	if (u->aborted) {
		got = -ECANCELED;
	} else if (!u->len) {
		u->size = u->sent; /* eof */
		got = 0;
	} else {
		k = u->len < n ? u->len : n;
		if (k > u->cap - u->head)
			k = u->cap - u->head;
		memcpy(buf, u->ring + u->head, k);
		u->head = (u->head + k) % u->cap;
		u->len -= k;
		u->sent += k;
		api_stream_count(u->api, API_STREAM_BYTES, k);
		got = (ssize_t)k;
		pthread_cond_broadcast(&u->cond);
	}
	pthread_mutex_unlock(&u->lock);
	return got;
}

/*
 * The fields part's read callback (upload thread). The request reaches this
 * part only after the data part ended, which needs eof, which finish sets
 * after the fields: so they are the ones decided at close.
 */
static ssize_t upload_stream_read_fields(void *ctx, char *buf, size_t n)
{
	struct upload_stream *u = ctx;
	const char *f;
	size_t len, k;

	pthread_mutex_lock(&u->lock);
	f = u->fields ? u->fields : "{}";
	len = strlen(f);
	k = len - u->fields_off < n ? len - u->fields_off : n;
	memcpy(buf, f + u->fields_off, k);
	u->fields_off += k;
	pthread_mutex_unlock(&u->lock);
	return (ssize_t)k;
}

static void *upload_stream_main(void *arg)
{
	struct upload_stream *u = arg;
	struct res out;
	int rc;

	rc = api_upload_document_stream(u->api, u->cid, u->name,
					upload_stream_read,
					upload_stream_read_fields, u, &u->size,
					u->type, u->replaces, &out);
	pthread_mutex_lock(&u->lock);
	u->out = out;
	u->rc = rc;
	u->done = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static void upload_stream_release(struct upload_stream *u)
{
	free(u->cid);
	free(u->name);
	free(u->type);
	free(u->replaces);
	free(u->fields);
	free(u->ring);
	free(u);
}

int upload_stream_start(struct api *a, const char *cid, const char *name,
			const char *type, const char *replaces,
			size_t ring_bytes, struct upload_stream **out)
{
	struct upload_stream *u;
	int rc;

	*out = NULL;
	rc = api_stream_begin(a);
	if (rc < 0)
		return rc;
	u = calloc(1, sizeof(*u));
	if (!u || !(u->cid = strdup(cid)) || !(u->name = strdup(name)) ||
	    !(u->type = strdup(type)) ||
	    (replaces && !(u->replaces = strdup(replaces))) ||
	    !(u->ring = malloc(ring_bytes))) {
		rc = -ENOMEM;
		goto fail;
	}
	u->api = a;
	u->cap = ring_bytes;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	rc = -pthread_create(&u->thread, NULL, upload_stream_main, u);
	if (rc < 0) {
		log_error("cannot start the upload of '%s': %s", name,
			  strerror(-rc));
		pthread_mutex_destroy(&u->lock);
		pthread_cond_destroy(&u->cond);
		goto fail;
	}
	*out = u;
	return 0;
fail:
	if (u)
		upload_stream_release(u);
	api_stream_end(a);
	return rc;
}

int upload_stream_write(struct upload_stream *u, const char *buf, size_t n)
{
	int rc = 0;

	pthread_mutex_lock(&u->lock);
	while (n && rc == 0) {
		size_t tail, k;

		while (u->len == u->cap && !u->done)
			pthread_cond_wait(&u->cond, &u->lock);
		if (u->done) {
			/* The request ended before the file did. */
			rc = u->rc < 0 ? u->rc : -EIO;
			break;
		}
		tail = (u->head + u->len) % u->cap;
		k = u->cap - u->len;
		if (k > u->cap - tail)
			k = u->cap - tail;
		if (k > n)
			k = n;
		memcpy(u->ring + tail, buf, k);
		u->len += k;
		buf += k;
		n -= k;
		pthread_cond_broadcast(&u->cond);
	}
	pthread_mutex_unlock(&u->lock);
	return rc;
}

static void upload_stream_join(struct upload_stream *u)
{
	if (!u->joined) {
		pthread_join(u->thread, NULL);
		u->joined = 1;
	}
}

/* A server that answered before the end of the file stored a cut one. */
static void upload_stream_log_cut(const struct upload_stream *u)
{
	log_error("upload of '%s' was answered before its end; the server may "
		  "hold an incomplete copy (id %s)",
		  u->name, u->out.id ? u->out.id : "unknown");
}

int upload_stream_finish(struct upload_stream *u, const char *fields,
			 struct res *out)
{
	char *copy = fields ? strdup(fields) : NULL;
	int rc, early;

	if (fields && !copy) {
		memset(out, 0, sizeof(*out));
		upload_stream_abort(u);
		return -ENOMEM;
	}
	pthread_mutex_lock(&u->lock);
	early = u->done; /* answered before the end of the file */
	free(u->fields);
	u->fields = copy;
	u->eof = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	upload_stream_join(u);
	rc = u->rc;
	if (rc == 0 && early) {
		upload_stream_log_cut(u);
		rc = -EIO;
	}
	*out = u->out;
	memset(&u->out, 0, sizeof(u->out));
	if (rc == 0 && u->aborted)
		rc = -EIO;
	return rc;
}

void upload_stream_abort(struct upload_stream *u)
{
	api_stream_count(u->api, API_STREAMS_ABANDONED, 1);
	pthread_mutex_lock(&u->lock);
	u->aborted = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	upload_stream_join(u);
	if (u->rc == 0 && !u->eof)
		upload_stream_log_cut(u);
}

void upload_stream_free(struct upload_stream *u)
{
	if (!u)
		return;
	if (!u->joined)
		upload_stream_abort(u);
	res_release(&u->out);
	pthread_mutex_destroy(&u->lock);
	pthread_cond_destroy(&u->cond);
	api_stream_end(u->api);
	upload_stream_release(u);
}
