/*
 * kernel_cache.h - taking back what the kernel has cached: its entries
 * (names -> inodes, and remembered misses), inode attributes and pages.
 *
 * Owns: the queue of invalidations and the thread that sends them (they must
 * not be sent from inside the request that made them stale: the kernel may
 * hold the directory lock that the invalidation needs), and the record of
 * misses ("no such file") the kernel was told to remember, so that a refresh
 * can take them back: a negative entry cannot be listed any other way.
 *
 * Threads: every function is thread safe; kc->lock guards the queue and the
 * record and is never held while a notification is sent. A NULL kc (tests,
 * no session yet) makes every call a no-op.
 *
 * Ownership: names are copied.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_KERNEL_CACHE_H
#define XAIFS_KERNEL_CACHE_H

#include <stdint.h>

struct fuse_session;
struct kernel_cache;

/* Start the sending thread for se. Returns NULL on failure (errno set). */
struct kernel_cache *kernel_cache_start(struct fuse_session *se);

/* Stop the thread, dropping what is still queued. NULL-safe. */
void kernel_cache_stop(struct kernel_cache *kc);

/* Queue: forget the entry name in parent (positive or negative). */
void kernel_cache_entry(struct kernel_cache *kc, uint64_t parent,
			const char *name);

/* Queue: forget ino's attributes and cached pages. */
void kernel_cache_inode(struct kernel_cache *kc, uint64_t ino);

/* Wait until everything queued so far has been sent. */
void kernel_cache_drain(struct kernel_cache *kc);

/*
 * The kernel is about to be told that name is missing in parent, for ttl
 * seconds. Returns the timeout to give it: ttl when the miss is recorded,
 * 0 (do not remember it) when the record is full.
 */
double kernel_cache_miss(struct kernel_cache *kc, uint64_t parent,
			 const char *name, double ttl);

/* Queue the invalidation of every recorded miss, and forget the record. */
void kernel_cache_forget_misses(struct kernel_cache *kc);

#endif
