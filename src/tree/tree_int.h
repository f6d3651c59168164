/*
 * tree_int.h - what the files of the tree module share; never included
 * outside it. What each kind of node is comes from node.h, not from here.
 *
 * Owns: struct tree, struct tree_dir and the secrets list. Files, in layers
 * (each calls only those below it, and the layers under tree):
 *
 *   tree.c (lookup, getattr, forget)  tree_dir.c (readdir)  tree_file.c (open)
 *   tree_attr.c   listings, texts, attributes, secrets
 *   tree_kernel.c versions and kernel invalidations
 *
 * Locks (see tree.h, "Lock order"): secrets_lock guards the secrets list,
 * notify_lock the notify hooks; each is held only to read or change those.
 */
#ifndef XAIFS_TREE_INT_H
#define XAIFS_TREE_INT_H

#include <pthread.h>
#include "tree.h"

#define TREE_UNKNOWN_INO 0xffffffffu

struct tree_secret {
	char *key_id;
	char *secret;
	struct tree_secret *next;
};

struct tree {
	struct cache *cache;
	struct inode_table *inodes;
	struct scratch *local;
	struct tree_opts o;
	time_t mount_time;
	pthread_mutex_t secrets_lock;
	struct tree_secret *secrets; /* protected by secrets_lock */
	uint64_t opens;		     /* atomic: files opened for reading */
	uint64_t reads;		     /* atomic: reads that reached the daemon */
	pthread_mutex_t notify_lock;
	struct tree_notify notify; /* protected by notify_lock */
};

struct tree_dir {
	enum node_kind kind;
	char *cid;
	const struct node_fixed *fixed; /* fixed and month entries */
	size_t n_fixed;
	struct cval *val; /* listed directories */
	char **suffixed;  /* metadata/: "<doc>.json" per listed entry */
	struct node_fixed *months; /* usage-by-month/: owned names */
	char **scratch_names;	   /* local files of keys/ and documents/ */
	uint64_t *scratch_inos;
	size_t n_local;
};

/* ---- tree_attr.c ---- */

/* Free every secret (tree_free(); no lock: nothing else runs). */
void tree_secrets_free(struct tree *tree);
/* A key's bytes, with its one-time secret if the mount holds one; *owned: a new
 * buffer or NULL. */
int tree_key_bytes(struct tree *tree, const struct res *r, char **owned,
		   const char **data, size_t *len);
/* Whether n is described by an entry of its listing (node.h: .in, .by). */
int tree_in_listing(const struct node_id *n);
/* That entry: *v holds the listing (cval_unref() it, also on error), *r points
 * into it. */
int tree_entry_of(struct tree *tree, const struct node_id *n, struct cval **v,
		  const struct res **r);
/* The identity (cid, id) of a child of kind, listed as r in a directory of
 * parent_cid. */
void tree_child_ident(enum node_kind kind, const char *parent_cid,
		      const struct res *r, const char **cid, const char **id);
/* Whether s is a month usage-by-month/ answers for ("YYYY-MM", 2023-01 to now).
 */
int tree_month_ok(const char *s);
/* Whether name may be a search file's name (see docs/semantics.md, "Search"). */
int tree_search_name_ok(const char *name);
/* The text of a rendered file (NODE_O_TEXT); cval_unref() *v. */
int tree_text(struct tree *tree, const struct node_id *n, struct cval **v);
/* .xaifs/stats: the counters as JSON in a new buffer *out. */
int tree_render_stats(struct tree *tree, char **out, size_t *len);
/* Attributes from the node's kind alone: owner, mode, links, times (mtime 0:
 * the mount's). */
void tree_stat_base(struct tree *tree, enum node_kind kind, int64_t mtime,
		    off_t size, struct tree_entry *e);
/* Attributes of a node of kind described by listing entry r (with its version).
 */
void tree_stat_res(struct tree *tree, enum node_kind kind, const struct res *r,
		   struct tree_entry *e);
/* Attributes of a local file (never kept by the kernel). */
void tree_stat_scratch(struct tree *tree, const struct scratch_info *li,
		       struct tree_entry *e);
/* Attributes of any node but a local file, fetching through the cache as
 * needed. */
int tree_attr(struct tree *tree, const struct node_id *n, struct tree_entry *e);
/* rc, or -ESTALE for -ENOENT of a kind whose row says stale (see tree_attr.c). */
int tree_stale(enum node_kind kind, int rc);
/* When ino is a local file that became a resource, turn n into that resource;
 * else -ENOENT. */
int tree_scratch_target(struct tree *tree, uint64_t ino, struct node_id *n);

/* ---- tree_kernel.c: versions and kernel invalidations (tree.h, "The page
 * cache") ---- */

/* The version of bytes (a hash, never 0). */
uint64_t tree_version(const char *data, size_t len);
/* Attributes of ino with e->version are about to reach the kernel. */
void tree_shown(struct tree *tree, uint64_t ino, const struct tree_entry *e);
/* Whether an open of ino with this snapshot version may use the page cache;
 * *keep: keep its pages. */
int tree_page_cache(struct tree *tree, uint64_t ino, uint64_t version,
		    int *keep);
/* Queue taking back the kernel's attributes and pages of ino. */
void tree_inval_inode(struct tree *tree, uint64_t ino);
/* Queue taking back the kernel's entry name of directory parent. */
void tree_inval_entry(struct tree *tree, uint64_t parent, const char *name);
/* The cache's replacement hook (cache_set_hook()). */
void tree_replaced(void *ctx, const struct cache_key *key,
		   const struct cval *old, const struct cval *nv);
/* A key's bytes changed outside any listing (its one-time secret). */
void tree_key_changed(struct tree *tree, const char *key_id);

#endif
