/*
 * change.h - every change made through the mount: creating, writing, renaming
 * and removing keys, collections and documents, and the local files that
 * editors and copy tools make on the way (see docs/semantics.md, "Writes").
 *
 * Owns: write handles (struct change_file: a private spool file per open for
 * writing), the rule that turns a write, a close or a rename into API calls
 * (the write state machine: change_state.h), and keeping the cache and the
 * kernel's caches true after each change. What each kind of node allows
 * (written as JSON, replaced whole, files made in it, ...) is node.h's
 * table. Depends on tree (to resolve names and inodes), scratch, cache and
 * api; knows nothing of FUSE requests (kernel invalidations go through
 * struct change_notify). Its files and their layers: change_int.h.
 *
 * Errors of a write surface at flush (close): the commit happens there, once
 * per batch of writes, and its error is returned and logged once. A failed
 * upload or creation leaves nothing visible behind.
 *
 * Threads: every function is thread safe; a struct change_file is used by one
 * request at a time (the kernel serialises flush/release per handle; writes
 * to one spool at different offsets are safe with pwrite). No lock is held
 * across HTTP. Locks: see tree.h, "Lock order".
 */
#ifndef XAIFS_CHANGE_H
#define XAIFS_CHANGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "cache.h"
#include "scratch.h"
#include "tree.h"

struct change;
struct change_file;

/* Kernel cache invalidation, run later by whoever owns the FUSE session. */
struct change_notify {
	void (*inval_entry)(void *ctx, uint64_t parent, const char *name);
	void (*inval_inode)(void *ctx, uint64_t ino);
	void (*refreshed)(void *ctx); /* every cache was dropped */
	void *ctx;
};

struct change *change_new(struct tree *tree, struct cache *c, struct api *api,
			  struct scratch *l, int read_only, const char *tmpdir);
void change_free(struct change *w);
void change_set_notify(struct change *w, const struct change_notify *n);

/*
 * Drop every cached listing and rendering, and take back what the kernel
 * cached (every inode's attributes and pages, every remembered miss), so
 * the next access of any name shows the server's state (.xaifs/refresh,
 * SIGHUP). The kernel invalidations are queued, not yet sent.
 */
void change_refresh(struct change *w);

/* Whether open(2) flags ask for writing. */
int change_wants_write(int flags);

/*
 * create(2) of name in parent: a local file for temporary names, else a new
 * resource committed at flush. Fills e (one lookup counted) and *out.
 */
int change_create(struct change *w, uint64_t parent, const char *name,
		  int flags, struct tree_entry *e, struct change_file **out);

/* Open an existing file for writing (flags as open(2)). */
int change_open(struct change *w, uint64_t ino, int flags,
		struct change_file **out);

/*
 * Read and write a handle's spool. Return bytes, or -errno. A document
 * written in order from offset 0 is also uploaded while it is written
 * (change_stream.c); the spool keeps every byte for when it cannot be.
 */
ssize_t change_read(struct change_file *f, char *buf, size_t size, off_t off);
ssize_t change_write(struct change *w, struct change_file *f, const char *buf,
		     size_t size, off_t off);

/* Send what was written (create, update, upload). Returns 0 or -errno. */
int change_flush(struct change *w, struct change_file *f);

/* Close the handle; a new resource never committed disappears. */
void change_release(struct change *w, struct change_file *f);

/* Free a handle without committing anything (the mount is going away). */
void change_abandon(struct change *w, struct change_file *f);

int change_unlink(struct change *w, uint64_t parent, const char *name);
int change_rmdir(struct change *w, uint64_t parent, const char *name);
int change_mkdir(struct change *w, uint64_t parent, const char *name,
		 struct tree_entry *e);
int change_rename(struct change *w, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned int flags);

/*
 * setfattr actions: "user.xai.rotate" on a key rotates it (the new secret
 * shows in its file), "user.xai.reindex" on a document (or its metadata
 * file) re-indexes it. Anything else: -ENOTSUP.
 */
int change_setxattr(struct change *w, uint64_t ino, const char *name,
		    const char *value, size_t size);

/*
 * setattr: sizes of files being written or local files; times of local
 * files; modes, owners and other times are accepted and ignored. f may be
 * NULL. Fills out with the attributes after the change.
 */
int change_setattr(struct change *w, uint64_t ino, struct change_file *f,
		   const struct stat *attr, int set_size, int set_mtime,
		   struct tree_entry *out);

#endif
