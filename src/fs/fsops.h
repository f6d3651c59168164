/*
 * fsops.h - the FUSE low-level operations.
 *
 * Owns: decoding each FUSE request, calling the namespace, and sending
 * exactly one reply per request. Holds no state of its own beyond struct
 * fsops (read-only after fsops_start() but for the list of open handles,
 * guarded by fs->lock); per-handle state lives in fi->fh (struct fsops_fh:
 * a struct tree_dir, tree_file or change_file).
 *
 * Operations that change the account go to change (writes), the rest to tree.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_FSOPS_H
#define XAIFS_FSOPS_H

#include <fuse_lowlevel.h>
#include <pthread.h>

#include "tree.h"
#include "change.h"

struct kernel_cache;
struct fsops_fh;

struct fsops {
	struct tree *tree;
	struct change *change;
	int read_only;
	double negative_ttl;	 /* kernel timeout of a cached miss */
	struct kernel_cache *kc; /* set by fsops_start() */
	/* Open handles (fsops.c), from fsops_start() to fsops_stop(). */
	pthread_mutex_t lock;
	struct fsops_fh *handles; /* lock */
	int tracking;
};

/*
 * Start the kernel cache invalidations (kernel_cache.h) and hook them into
 * fs->change. Call after the session is mounted. Returns 0 or -errno.
 */
int fsops_start(struct fsops *fs, struct fuse_session *se);

/* Stop that thread (dropping what is still queued). NULL-safe. */
void fsops_stop(struct fsops *fs);

/* change_refresh(), then wait until the kernel has been told (SIGHUP). */
void fsops_refresh(struct fsops *fs);

/* The operation table; userdata for fuse_session_new() is a struct fsops *. */
extern const struct fuse_lowlevel_ops fsops_ops;

#endif
