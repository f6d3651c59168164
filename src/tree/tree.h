/*
 * tree.h - the namespace: what each path of the mount is.
 *
 *   /keys/<name>  /models/<name>  /regions  /usage  /billing
 *   /collections/<name>/{collection.json, documents/<doc>, metadata/<doc>.json}
 *
 * Owns: the mapping from (parent inode, name) to nodes, the attributes of
 * every node, directory snapshots and open-file contents. Reads everything
 * through the cache (never the API directly) and keeps the kernel's lookup
 * counts in the inode table. Knows nothing of FUSE requests or replies.
 *
 * What each kind of node is (directory or file, mode, listing, how it is
 * opened, ...) is node.h's table; tree reads it and never compares kinds to
 * decide such a property.
 *
 * Threads: every function is thread safe; struct tree is read-only after
 * tree_new(). A struct tree_dir or tree_file belongs to one open handle; the
 * kernel does not run two operations on one handle at once for directories,
 * and file reads only read immutable snapshot data. Locks: see "Lock order"
 * at the end of this file.
 *
 * Returns: 0 or -errno (-ENOENT for names and inodes that do not exist now,
 * errors of the cache/API passed through).
 */
#ifndef XAIFS_TREE_H
#define XAIFS_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "cache.h"
#include "inode.h"
#include "scratch.h"

struct tree;

/*
 * Owner and modes: every node shows uid and gid. A directory shows
 * 0777 & ~umask, plus x wherever it shows r; a file 0666 & ~umask, without
 * the write bits when it can never be written (usage, billing, regions,
 * models, metadata, stats, audit: NODE_MODE_RO in node.h) or the mount is
 * read-only, when directories lose theirs too. The kernel enforces these modes
 * (default_permissions), so they are the whole access policy.
 */
struct tree_opts {
	uid_t uid;
	gid_t gid;
	double entry_ttl;   /* kernel entry/attr timeouts for listed things */
	double live_ttl;    /* attr timeout for usage and billing */
	const char *tmpdir; /* where document bytes are spooled */
	mode_t umask;  /* permission bits hidden: 077 gives 0600 and 0700 */
	int read_only; /* a read-only mount: no write bits anywhere */
};

struct tree_entry {
	uint64_t ino; /* 0: attributes not given (readdirplus only) */
	struct stat st;
	double entry_ttl;
	double attr_ttl;
	uint64_t version; /* hash of a JSON file's bytes (st_size's); 0: none */
};

/* local may be NULL (a mount without local files, e.g. in tests). */
struct tree *tree_new(struct cache *c, struct inode_table *t,
		      struct scratch *local, const struct tree_opts *o);
void tree_free(struct tree *tree);

/* Resolve name in parent. On success the inode's lookup count is incremented. */
int tree_lookup(struct tree *tree, uint64_t parent, const char *name,
		struct tree_entry *out);

/* Attributes of an inode (out->ino is set; no lookup count change). */
int tree_getattr(struct tree *tree, uint64_t ino, struct tree_entry *out);

/*
 * rc, or -ESTALE for -ENOENT of a kind whose row says stale (node.h): a
 * resource gone since the kernel looked its name up, so that the VFS looks
 * the path up again.
 */
int tree_stale(enum node_kind kind, int rc);

/* The kernel forgot n lookups of ino. */
void tree_forget(struct tree *tree, uint64_t ino, uint64_t n);

/*
 * A handle open for writing on ino (change.c), and each size it writes or
 * truncates to: while one is open, getattr of ino shows the last such size
 * and its time, with no attribute caching (inode.h, inode_write_open()).
 */
void tree_write_open(struct tree *tree, uint64_t ino, off_t size);
void tree_write_size(struct tree *tree, uint64_t ino, off_t size);
void tree_write_close(struct tree *tree, uint64_t ino);
/*
 * ino's handle was closed and its commit waits for the release (an empty new
 * version): an open for reading of ino waits for it, at most a second
 * (inode.h, inode_write_releasing()).
 */
void tree_write_releasing(struct tree *tree, uint64_t ino);

/* A directory listing fixed at opendir time, so offsets stay stable. */
struct tree_dir;
int tree_opendir(struct tree *tree, uint64_t ino, struct tree_dir **out);
size_t tree_dir_count(const struct tree_dir *d);

/*
 * Entry i of the snapshot: its name (borrowed, valid while d is open) and,
 * with plus, its attributes and a counted lookup (e->ino != 0) unless its
 * attributes would cost a request (then e->ino == 0 and nothing is counted).
 * Without plus only e->st.st_ino and st_mode are set.
 */
int tree_dir_entry(struct tree *tree, struct tree_dir *d, size_t i, int plus,
		   const char **name, struct tree_entry *e);
void tree_closedir(struct tree_dir *d);

/*
 * The page cache. JSON files (keys, models, metadata, collection.json,
 * usage, billing, regions, audit) are served from the kernel's page cache
 * when the kernel can be trusted to hold the same version as the open:
 *
 *  - Every attribute reply of a JSON file records its version (a hash of
 *    the bytes its st_size was taken from) in the inode table; a reply with
 *    another version than the last one queues an invalidation of the
 *    inode's attributes and pages.
 *  - An open whose snapshot is the recorded version uses the page cache;
 *    it keeps the pages (keep_cache) when the last page-cache open had the
 *    same version, else the kernel drops them at this open. Any other open
 *    is served straight from its snapshot (direct_io), whatever the size
 *    the kernel holds, so a reader never sees bytes of one version cut to
 *    the size of another.
 *  - When a listing or rendering is replaced (a refetch, the mount's own
 *    write-through), the entries whose bytes or names changed are taken
 *    back from the kernel (tree_set_notify()); so are a key's pages when its
 *    one-time secret is set or forgotten.
 */
struct tree_notify {
	void (*inval_entry)(void *ctx, uint64_t parent, const char *name);
	void (*inval_inode)(void *ctx, uint64_t ino);
	void *ctx;
};

/* Set where kernel invalidations go (queued, never sent from a request); NULL
 * fields: none. */
void tree_set_notify(struct tree *tree, const struct tree_notify *n);

/* An open file: a JSON snapshot in memory, or document bytes in a private spool
 * file. */
struct tree_file {
	struct cval *val; /* keeps data alive; NULL for documents */
	char *owned; /* data when it was rendered for this open (or NULL) */
	const char *data; /* JSON bytes, or NULL */
	size_t len;
	int fd;		/* spooled document bytes, or -1 */
	int direct_io;	/* serve with FOPEN_DIRECT_IO */
	int keep_cache; /* the kernel may keep pages from an earlier open */
	/* documents still downloading: wait before reads */
	struct doccache_dl *dl;
	uint64_t ino;	  /* JSON read through the page cache: its inode */
	uint64_t version; /* and the version of data (see "The page cache") */
};

/* Open ino for reading (flags are open(2) flags). */
int tree_open(struct tree *tree, uint64_t ino, int flags,
	      struct tree_file **out);
void tree_release(struct tree_file *f);

/* Count a read that reached the daemon (shown in .xaifs/stats as fuse.reads). */
void tree_count_read(struct tree *tree);

/*
 * A read of a file opened as (f->ino, f->version) was answered (pass
 * copies: the handle may be released once the reply is out). When it reads
 * through the page cache (ino != 0) but its version is no longer the one
 * the cache is for (a newer open took over), the pages it just filled are
 * taken back.
 */
void tree_read_done(struct tree *tree, uint64_t ino, uint64_t version);

/*
 * The first read of a JSON open f: when the kernel has since been given the
 * size of a newer version (the listing was fetched again and the file
 * stat()ed between open() and read()), serving f's bytes would pair one
 * version's size with another's bytes. Then *out is a fresh open of ino,
 * holding that newer version, and 1 is returned; otherwise 0 (f stays the
 * open's version, as it does once any byte of it was read).
 */
int tree_reopen_shown(struct tree *tree, uint64_t ino,
		      const struct tree_file *f, struct tree_file **out);

/*
 * Hold a key's one-time secret (from create or rotate) for the life of the
 * mount: the key's file shows it as "apiKey". Memory only; wiped on
 * replacement, tree_forget_secret() and tree_free(). Returns 0 or -ENOMEM.
 */
int tree_set_secret(struct tree *tree, const char *key_id, const char *secret);
void tree_forget_secret(struct tree *tree, const char *key_id);

/*
 * The listed resource behind an inode (a key, model, collection, its
 * collection.json, a document or its metadata file): *v holds the listing
 * (cval_unref() it), *r points into it. -ENOENT for other nodes.
 */
int tree_resource(struct tree *tree, uint64_t ino, struct node_id *n,
		  struct cval **v, const struct res **r);

/*
 * The listing list (for documents: of collection cid) through the cache:
 * the one place that says which cache call serves which enum node_list.
 * *out is a new reference (cval_unref()). -ENOENT for NODE_LIST_NONE.
 */
int tree_listing(struct tree *tree, enum node_list list, const char *cid,
		 struct cval **out);

/* The cache behind the namespace. */
struct cache *tree_cache(struct tree *tree);

/* The identity of an inode (a copy; release with node_id_release()). */
int tree_node(struct tree *tree, uint64_t ino, struct node_id *out);

/* The inode of a directory node (a collection's documents/, keys/, ...). */
uint64_t tree_dir_ino(struct tree *tree, enum node_kind kind, const char *cid);

/* Call fn for every inode the kernel may hold (inode_each(); fn must not call
 * into tree). */
void tree_each_inode(struct tree *tree,
		     void (*fn)(void *ctx, uint64_t ino, enum node_kind kind),
		     void *ctx);

/* Desktop and tool probes (".Trash-1000", ".DS_Store", ...): answered ENOENT at
 * no cost. */
int tree_is_probe(const char *name);

/*
 * Lock order of the program, written here once (other headers point here).
 * A lock may be taken while holding only locks above it in this list:
 *
 *   1. change_file.up_lock   one write handle's streaming state (change_int.h);
 *                            held while a write waits for room in the ring
 *   2. upload_stream u->lock its ring (upload_stream.h)
 *   3. scratch l->lock       the table of local files (scratch.h)
 *   4. inode table t->lock   (inode.h); inode_each() callbacks run under it
 *                            and may only queue kernel invalidations
 *   5. each held alone, taking no other lock: kernel_cache kc->lock (the
 *      queue of invalidations), tree notify_lock and secrets_lock
 *      (tree_int.h), cache c->lock (cache.h), doccache b->lock and a
 *      download's lock, http pool_lock, share, stats and pace locks,
 *      fsops fs->lock (open handles).
 *
 * No lock is held across HTTP or a fuse_reply_*() call. The one long wait
 * under a lock is (1): a write waits for the upload thread, which never
 * takes (1). Short file operations under a lock are named in the owning
 * header (scratch.h, doccache.h). The cache's replacement hook
 * (tree_replaced()) runs outside c->lock.
 */

#endif
