/*
 * fdwriter.h - a stream of bytes written to a file descriptor in large
 * batches, by a thread of its own once the stream is large.
 *
 * Owns: two batch buffers of FDWRITER_BATCH bytes, and for a stream past
 * FDWRITER_THREAD_AFTER bytes a writer thread: while it writes one batch the
 * producer fills the other, so receiving and writing a download overlap. A
 * small stream is written on the producer's thread and starts no thread.
 *
 * Threads: one producer calls put, flush and end; the writer thread only
 * writes and calls landed. w->lock guards the hand-over between them and is
 * never held during a write or a landed call; it is a leaf (no other lock is
 * taken under it).
 *
 * Ownership: the fd is borrowed (never closed). landed(arg) is called, on
 * either thread, after each batch has been written, so that readers of the
 * file can go on; it must not call back into the fdwriter.
 */
#ifndef XAIFS_FDWRITER_H
#define XAIFS_FDWRITER_H

#include <stddef.h>

#define FDWRITER_BATCH (512 * 1024)
#define FDWRITER_THREAD_AFTER (1024 * 1024)

struct fdwriter;

/* NULL on ENOMEM. */
struct fdwriter *fdwriter_new(int fd, void (*landed)(void *arg), void *arg);

/*
 * Add len bytes (copied). A full batch is handed to be written. Returns 0,
 * or the -errno of a write that failed (this one's or an earlier batch's).
 */
int fdwriter_put(struct fdwriter *w, const void *p, size_t len);

/* Hand what is gathered to be written now (the end of a burst). 0 or -errno. */
int fdwriter_flush(struct fdwriter *w);

/*
 * Write everything still gathered, wait for it, stop the thread and free w.
 * Returns 0 or the first -errno of any write. NULL-safe.
 */
int fdwriter_end(struct fdwriter *w);

#endif
