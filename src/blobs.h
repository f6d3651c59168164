/*
 * blobs.h - the on-disk cache of document bytes.
 *
 * Owns: a private directory (mode 0700) of files named by a document's
 * file id and content hash, their total size, and least-recently-used
 * eviction down to a byte budget. A document replaced on the server gets a
 * new file id (and hash), so a cached file is never served for changed
 * content.
 *
 * Threads: thread safe; b->lock guards the bookkeeping, the list of
 * downloads in flight and the temporary file of each (created, opened,
 * renamed and unlinked under it), and is never held while bytes are
 * downloaded. Readers
 * of one uncached document share one download (blobs_open_async), which runs
 * on a detached thread; blobs_free() waits for every such thread.
 *
 * Ownership: blobs_open_async() returns a read-only fd the caller closes; an
 * open fd stays valid even if the file is evicted meanwhile.
 */
#ifndef XAIFS_BLOBS_H
#define XAIFS_BLOBS_H

#include <stdint.h>

struct blobs;

/* Fills fd (opened for writing, empty) with the bytes of id; returns 0 or -errno. */
typedef int (*blobs_fill_fn)(void *ctx, const char *id, int fd, uint64_t *bytes);

/* A download in progress, shared by every reader of that document. */
struct blobs_dl;

/*
 * Use dir (created 0700 if missing) with a budget of max_bytes. When dir is
 * NULL a private directory is made under tmpdir and removed by blobs_free().
 * Returns NULL with errno set on failure.
 */
struct blobs *blobs_new(const char *dir, const char *tmpdir, uint64_t max_bytes);
void blobs_free(struct blobs *b);

/*
 * An fd on the cached bytes of (id, hash). A miss starts the download on a thread of its own
 * (or joins the one already running for that document) and returns at once
 * an fd on the file as it grows, with *dl set (a reference: release it with
 * blobs_dl_unref()). Readers call blobs_dl_wait() before reading. On a hit
 * *dl is NULL. ctx must outlive the blobs (it is the cache).
 */
int blobs_open_async(struct blobs *b, const char *id, const char *hash, blobs_fill_fn fill,
		     void *ctx, struct blobs_dl **dl);

/*
 * Wait until the download has put `want` bytes in the file, or has ended.
 * Returns 0, or the download's -errno when it failed.
 */
int blobs_dl_wait(struct blobs_dl *dl, int fd, uint64_t want);
void blobs_dl_unref(struct blobs_dl *dl);

/* Forget everything cached (files are removed). */
void blobs_clear(struct blobs *b);

#endif
