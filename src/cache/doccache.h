/*
 * doccache.h - the on-disk cache of document bytes.
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
 * of one uncached document share one download (doccache_open_async), which runs
 * on a detached thread; doccache_free() waits for every such thread.
 *
 * Ownership: doccache_open_async() returns a read-only fd the caller closes; an
 * open fd stays valid even if the file is evicted meanwhile.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_DOCCACHE_H
#define XAIFS_DOCCACHE_H

#include <stdint.h>

struct doccache;

/*
 * Fills fd (opened for writing, empty) with the bytes of id, calling
 * landed(arg) each time some have been written (readers waiting for them go
 * on at once); returns 0 or -errno.
 */
typedef int (*doccache_fill_fn)(void *ctx, const char *id, int fd,
				uint64_t *bytes, void (*landed)(void *arg),
				void *arg);

/* A download in progress, shared by every reader of that document. */
struct doccache_dl;

/*
 * Use dir (created 0700 if missing) with a budget of max_bytes. When dir is
 * NULL a private directory is made under tmpdir and removed by doccache_free().
 * Returns NULL with errno set on failure.
 */
struct doccache *doccache_new(const char *dir, const char *tmpdir,
			      uint64_t max_bytes);
/*
 * Wait until no download thread runs any more (they call back into their
 * filler: the cache and the API must outlive them). NULL-safe.
 */
void doccache_drain(struct doccache *b);
void doccache_free(struct doccache *b);

/*
 * An fd on the cached bytes of (id, hash). A miss starts the download on a
 * thread of its own (or joins the one already running for that document) and
 * returns at once an fd on the file as it grows, with *dl set (a reference:
 * release it with doccache_dl_unref()). Readers call doccache_dl_wait() before
 * reading. On a hit *dl is NULL. ctx must outlive the doccache (it is the
 * cache).
 */
int doccache_open_async(struct doccache *b, const char *id, const char *hash,
			doccache_fill_fn fill, void *ctx,
			struct doccache_dl **dl);

/*
 * Wait until the download has put `want` bytes in the file, or has ended.
 * Returns 0, or the download's -errno when it failed.
 */
int doccache_dl_wait(struct doccache_dl *dl, int fd, uint64_t want);
void doccache_dl_unref(struct doccache_dl *dl);

/* Forget everything cached (files are removed). */
void doccache_clear(struct doccache *b);

#endif
