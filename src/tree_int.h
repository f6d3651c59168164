/*
 * tree_int.h - what tree.c (names, attributes), tree_dir.c (directory
 * snapshots) and tree_file.c (open files) share; never included outside the
 * tree module. Locking as in tree.h: secrets_lock guards the secrets list only.
 */
#ifndef XAIFS_TREE_INT_H
#define XAIFS_TREE_INT_H

#include <pthread.h>
#include "tree.h"

#define TREE_UNKNOWN_INO 0xffffffffu
#define TREE_META_SUFFIX ".json"

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
	struct tree_secret *secrets;	/* protected by secrets_lock */
	uint64_t opens;			/* atomic: files opened for reading */
	uint64_t reads;			/* atomic: reads that reached the daemon */
	pthread_mutex_t notify_lock;
	struct tree_notify notify;	/* protected by notify_lock */
};

struct tree_fixed {
	const char *name;
	enum node_kind kind;
};

#define TREE_COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct tree_dir {
	enum node_kind kind;
	char *cid;
	const struct tree_fixed *fixed;	/* fixed directories */
	size_t n_fixed;
	struct cval *val;		/* listed directories */
	char **meta_names;		/* metadata/: "<doc>.json" per entry */
	struct tree_fixed *months;	/* usage-by-month/: owned names */
	char **scratch_names;		/* local files of keys/ and documents/ */
	uint64_t *scratch_inos;
	size_t n_local;
};

extern const struct tree_fixed tree_root_children[14];
extern const struct tree_fixed tree_coll_children[4];
extern const struct tree_fixed tree_ctl_children[2];

void tree_stat_base(struct tree *tree, enum node_kind kind, int64_t mtime, off_t size, struct tree_entry *e);
void tree_stat_res(struct tree *tree, enum node_kind kind, const struct res *r, struct tree_entry *e);
void tree_stat_scratch(struct tree *tree, const struct scratch_info *li, struct tree_entry *e);
int tree_attr(struct tree *tree, const struct node_id *n, struct tree_entry *e);
/* rc, or -ESTALE for -ENOENT of a listed resource's inode (see tree.c). */
int tree_stale(enum node_kind kind, int rc);
int tree_listing(struct tree *tree, enum node_kind kind, const char *cid, struct cval **out);
enum node_kind tree_child_kind(enum node_kind dir);
void tree_child_ident(enum node_kind kind, const char *parent_cid, const struct res *r, const char **cid, const char **id);
int tree_is_rendered(enum node_kind k);
int tree_text(struct tree *tree, enum node_kind kind, const char *id, struct cval **v);
int tree_key_bytes(struct tree *tree, const struct res *r, char **owned, const char **data, size_t *len);
int tree_render_stats(struct tree *tree, char **out, size_t *len);
int tree_is_dir_kind(enum node_kind k);
int tree_scratch_target(struct tree *tree, uint64_t ino, struct node_id *n);
/* Whether name may be a search file's name (see docs/semantics.md, "Search"). */
int tree_search_name_ok(const char *name);

/* tree_kernel.c: versions and kernel invalidations (see tree.h, "The page cache"). */
uint64_t tree_version(const char *data, size_t len);
/* Attributes of ino with e->version are about to reach the kernel. */
void tree_shown(struct tree *tree, uint64_t ino, const struct tree_entry *e);
/* Whether an open of ino with this snapshot version may use the page cache; *keep: keep its pages. */
int tree_page_cache(struct tree *tree, uint64_t ino, uint64_t version, int *keep);
void tree_inval_inode(struct tree *tree, uint64_t ino);
void tree_inval_entry(struct tree *tree, uint64_t parent, const char *name);
/* The cache's replacement hook (cache_set_hook()). */
void tree_replaced(void *ctx, const struct cache_key *key, const struct cval *old, const struct cval *nv);
/* A key's bytes changed outside any listing (its one-time secret). */
void tree_key_changed(struct tree *tree, const char *key_id);

#endif
