/*
 * inode.h - the inode table: FUSE inode numbers <-> the nodes of the tree.
 *
 * Owns: struct inode and the two indexes (by number, by identity). A node's
 * identity is (kind, collection id, id): an API key is (NODE_KEY, "", its
 * apiKeyId), a document is (NODE_DOC, its collection_id, its file_id), a
 * fixed directory is (kind, "", ""). Identities use ids, never display
 * names, so a node keeps its inode number when names change.
 *
 * Numbers are never reused during a mount (64-bit counter), so generation is
 * always 0. Fixed nodes (root, keys/, ...) are pinned; other inodes live while
 * the kernel holds a lookup count on them (FUSE nlookup semantics) or another
 * table holds them (inode_hold), and are freed when both reach zero.
 *
 * Threads: all functions are thread safe; t->lock guards everything. It
 * is held while inode_each() callbacks run (they may only queue kernel
 * invalidations) and never across HTTP, disk I/O or a fuse_reply_*() call.
 * Where it stands among the other locks: tree.h, "Lock order".
 *
 * Ownership: inode_find() copies the node out (struct node_id with owned
 * strings; release with node_id_release()), so callers never hold pointers
 * into the table.
 */
#ifndef XAIFS_INODE_H
#define XAIFS_INODE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "node.h" /* enum node_kind: what each kind of node is */

struct node_id {
	enum node_kind kind;
	char *cid; /* collection id, "" outside collections; owned */
	char *id;  /* resource id, "" for fixed nodes; owned */
};

void node_id_release(struct node_id *n);

struct inode_table;

struct inode_table *inode_table_new(void);
void inode_table_free(struct inode_table *t);

/*
 * Find or create the inode of (kind, cid, id) and add nlookup to its lookup
 * count (0 for a peek that the kernel will not count). cid and id may be NULL
 * (taken as ""). Returns the inode number, or 0 on ENOMEM.
 */
uint64_t inode_get(struct inode_table *t, enum node_kind kind, const char *cid,
		   const char *id, uint64_t nlookup);

/* The inode of (kind, cid, id) if the table has it (nothing is created), else
 * 0. */
uint64_t inode_lookup(struct inode_table *t, enum node_kind kind,
		      const char *cid, const char *id);

/*
 * Versions of a file's bytes (hashes, never 0; 0 = none or unknown), for
 * tree's page cache rule (tree.h, "The page cache"). inode_set_shown() records
 * the version whose size the kernel was last given for ino and returns the
 * one before; inode_shown() reads it. inode_page_open() records the version
 * of an open that uses the page cache and returns whether the last such
 * open had the same one (the kernel's pages may be kept).
 */
uint64_t inode_set_shown(struct inode_table *t, uint64_t ino, uint64_t version);
uint64_t inode_shown(struct inode_table *t, uint64_t ino);
int inode_page_open(struct inode_table *t, uint64_t ino, uint64_t version);
/* Whether the last page-cache open had version; if not, forget it (the next one
 * drops pages). */
int inode_page_check(struct inode_table *t, uint64_t ino, uint64_t version);

/*
 * Handles open for writing on ino (change.c): while one is open, the size
 * the last of them wrote or truncated to, and when, are the file's size and
 * mtime (a handle behaves like a local file: fstat, SEEK_END). open and size
 * record size now; close ends one handle. inode_written() returns 1 and
 * fills *size and *mtime while a handle is open, else 0.
 */
void inode_write_open(struct inode_table *t, uint64_t ino, off_t size);
void inode_write_size(struct inode_table *t, uint64_t ino, off_t size);
void inode_write_close(struct inode_table *t, uint64_t ino);
int inode_written(struct inode_table *t, uint64_t ino, off_t *size,
		  struct timespec *mtime);
/*
 * A handle of ino was closed with its commit left for the release (an empty
 * new version: change_state_flush()); the next writer event ends that.
 * inode_wait_released() waits, at most ms, for it to end: a reader opening
 * ino just after close(2) then sees what the release stored.
 */
void inode_write_releasing(struct inode_table *t, uint64_t ino);
void inode_wait_released(struct inode_table *t, uint64_t ino, int ms);

/* Add n kernel lookups to an existing inode. Returns 0 or -ENOENT. */
int inode_ref(struct inode_table *t, uint64_t ino, uint64_t n);

/* Copy the identity of ino into out. Returns 0, or -ENOENT for an unknown
 * number. */
int inode_find(struct inode_table *t, uint64_t ino, struct node_id *out);

/*
 * Drop n lookups. The inode is freed when its lookups and holds are both
 * zero, unless it is pinned. Returns the inode's kind when its lookup count
 * reached zero (freed or held), else NODE_NONE.
 */
enum node_kind inode_forget(struct inode_table *t, uint64_t ino, uint64_t n);

/*
 * Internal references: an inode held by another table (local files) stays
 * while held, whatever the kernel forgets. Returns 0 or -ENOENT.
 */
int inode_hold(struct inode_table *t, uint64_t ino);
void inode_drop(struct inode_table *t, uint64_t ino);

/*
 * Call fn for every inode in the table, with t->lock held: fn must not call
 * back into the table (it may take locks that come after it, see above).
 */
void inode_each(struct inode_table *t,
		void (*fn)(void *ctx, uint64_t ino, enum node_kind kind),
		void *ctx);

/* The same for local files only (node_is_scratch()): none costs nothing. */
void inode_each_scratch(struct inode_table *t,
			void (*fn)(void *ctx, uint64_t ino,
				   enum node_kind kind),
			void *ctx);

/* Inodes in the table (for stats and tests). */
uint64_t inode_count(struct inode_table *t);

#endif
