/*
 * blobs.h - the on-disk cache of document bytes.
 *
 * Owns: a private directory (mode 0700) of files named by a document's
 * file id and content hash, their total size, and least-recently-used
 * eviction down to a byte budget. A document replaced on the server gets a
 * new file id (and hash), so a cached file is never served for changed
 * content.
 *
 * Threads: thread safe; b->lock guards the bookkeeping and is never held
 * while bytes are downloaded. Two readers of one uncached document may both
 * download it; the second rename simply replaces the first.
 *
 * Ownership: blobs_open() returns a read-only fd the caller closes; an
 * open fd stays valid even if the file is evicted meanwhile.
 */
#ifndef XAIFS_BLOBS_H
#define XAIFS_BLOBS_H

#include <stdint.h>

struct blobs;

/* Fills fd (opened for writing, empty) with the bytes; returns 0 or -errno. */
typedef int (*blobs_fill_fn)(void *ctx, int fd, uint64_t *bytes);

/*
 * Use dir (created 0700 if missing) with a budget of max_bytes. When dir is
 * NULL a private directory is made under tmpdir and removed by blobs_free().
 * Returns NULL with errno set on failure.
 */
struct blobs *blobs_new(const char *dir, const char *tmpdir, uint64_t max_bytes);
void blobs_free(struct blobs *b);

/*
 * An fd on the cached bytes of (id, hash), filling them with fill() on a
 * miss (fill NULL: -ENOENT on a miss). *hit tells which. Returns fd or -errno.
 */
int blobs_open(struct blobs *b, const char *id, const char *hash, blobs_fill_fn fill,
	       void *ctx, int *hit);

/* Forget everything cached (files are removed). */
void blobs_clear(struct blobs *b);

#endif
