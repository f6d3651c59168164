/*
 * change_stream.c - streamed uploads of documents: a file written in order from
 * offset 0 is sent while it is written; a write elsewhere, or a truncation,
 * abandons the stream (its request is cut before its end, so the server
 * stores nothing) and the spool, which always holds every byte, is
 * uploaded at close as before. The decisions are change_state.c's. Calls
 * change_base.c, change_state.c and the layers below change only. See
 * change_int.h and docs/semantics.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "anonfile.h"
#include "change_int.h"

/* Memory between a writer and its connection: four 1 MiB FUSE writes. */
#define CHANGE_STREAM_RING (4u << 20)
#define CHANGE_STREAM_FEED (256u << 10) /* spool bytes handed over per read */

/* Streams start at CHANGE_STREAM_MIN (change_state.h). */
static int change_stream_eligible(const struct change *w,
				  const struct change_file *f)
{
	return change_state_streamable(&f->st, anonfile_size(f->fd), &f->pos) &&
	       w->api && api_upload_streams(w->api);
}

static void change_stream_abandon(struct change_file *f, const char *why)
{
	log_debug("upload of '%s' goes back to the spool: %s", f->name, why);
	upload_stream_abort(f->up);
	upload_stream_free(f->up);
	f->up = NULL;
	f->pos.err = 0;
	f->pos.broken = 1; /* never again for this handle */
}

/*
 * Hand the first len bytes of the spool to a new stream: 0, or the -errno its
 * request ended with (the commit reports it). When the spool itself cannot
 * be read, the stream is given up: sending the end after a gap would store a
 * cut file; the spool is sent whole at close instead.
 */
static int change_stream_feed(struct change_file *f, uint64_t len)
{
	char *buf = malloc(CHANGE_STREAM_FEED);
	uint64_t done = 0;
	int rc = 0, unread = !buf;

	while (!unread && rc == 0 && done < len) {
		size_t want = len - done < CHANGE_STREAM_FEED
				      ? (size_t)(len - done)
				      : CHANGE_STREAM_FEED;
		ssize_t got = pread(f->fd, buf, want, (off_t)done);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			unread = 1;
		else if ((rc = upload_stream_write(f->up, buf, (size_t)got)) ==
			 0)
			done += (uint64_t)got;
	}
	free(buf);
	if (unread)
		change_stream_abandon(f, "its spool could not be read");
	return rc;
}

/* Enough was written in order: start the stream with what the spool holds. */
static void change_stream_begin(struct change *w, struct change_file *f)
{
	int rc;

	if (!change_stream_eligible(w, f)) {
		f->pos.broken = 1;
		return;
	}
	rc = upload_stream_start(w->api, f->cid, f->name,
				 change_content_type(f->name),
				 f->st.target == CHANGE_DOC ? f->id : NULL,
				 CHANGE_STREAM_RING, &f->up);
	if (rc < 0) {
		if (rc != -EBUSY)
			log_warn(
				"upload of '%s' cannot be streamed (%s): it is sent at close",
				f->name, strerror(-rc));
		f->pos.broken = 1;
		return;
	}
	rc = change_stream_feed(f, f->pos.off);
	if (rc < 0)
		f->pos.err = rc; /* reported by the commit at close */
}

static void change_stream_write_locked(struct change *w, struct change_file *f,
				       const char *buf, size_t n, off_t off)
{
	int rc;

	switch (change_state_stream_write(&f->pos, f->up != NULL, off, n)) {
	case CHANGE_STREAM_START:
		change_stream_begin(w, f);
		break;
	case CHANGE_STREAM_ABANDON:
		change_stream_abandon(f, "written out of order");
		break;
	case CHANGE_STREAM_SEND:
		rc = upload_stream_write(f->up, buf, n);
		if (rc < 0)
			f->pos.err = rc; /* reported by the commit at close */
		else
			f->pos.off += n;
		break;
	default:
		break;
	}
}

static void change_stream_cut_locked(struct change_file *f, off_t size)
{
	if (change_state_stream_cut(&f->pos, size) && f->up)
		change_stream_abandon(f, "truncated");
}

static struct upload_stream *change_stream_take_locked(struct change_file *f)
{
	struct upload_stream *up = f->up;

	/*
	 * A request that ended early gives its error at the commit. A spool
	 * that differs from what was streamed (not expected) is sent instead.
	 */
	if (up && !f->pos.err && anonfile_size(f->fd) != (off_t)f->pos.off) {
		change_stream_abandon(f, "the spool holds more");
		return NULL;
	}
	f->up = NULL;
	return up;
}

static void change_stream_drop_locked(struct change_file *f)
{
	if (f->up)
		change_stream_abandon(f, "the file was not committed");
}

void change_stream_write(struct change *w, struct change_file *f,
			 const char *buf, size_t n, off_t off)
{
	pthread_mutex_lock(&f->up_lock);
	change_stream_write_locked(w, f, buf, n, off);
	pthread_mutex_unlock(&f->up_lock);
}

void change_stream_cut(struct change_file *f, off_t size)
{
	pthread_mutex_lock(&f->up_lock);
	change_stream_cut_locked(f, size);
	pthread_mutex_unlock(&f->up_lock);
}

struct upload_stream *change_stream_take(struct change_file *f)
{
	struct upload_stream *up;

	pthread_mutex_lock(&f->up_lock);
	up = change_stream_take_locked(f);
	pthread_mutex_unlock(&f->up_lock);
	return up;
}

void change_stream_drop(struct change_file *f)
{
	pthread_mutex_lock(&f->up_lock);
	change_stream_drop_locked(f);
	pthread_mutex_unlock(&f->up_lock);
}
