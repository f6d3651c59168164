/*
 * ns_int.h - what ns.c (names, attributes), ns_dir.c (directory
 * snapshots) and ns_file.c (open files) share; never included outside the
 * ns module. Locking as in ns.h: secrets_lock guards the secrets list only.
 */
#ifndef XAIFS_NS_INT_H
#define XAIFS_NS_INT_H

#include <pthread.h>
#include "ns.h"

#define NS_UNKNOWN_INO 0xffffffffu
#define NS_META_SUFFIX ".json"

struct ns_secret {
	char *key_id;
	char *secret;
	struct ns_secret *next;
};

struct ns {
	struct cache *cache;
	struct inode_table *inodes;
	struct local *local;
	struct ns_opts o;
	time_t mount_time;
	pthread_mutex_t secrets_lock;
	struct ns_secret *secrets;	/* protected by secrets_lock */
	uint64_t opens;			/* atomic: files opened for reading */
	uint64_t reads;			/* atomic: reads that reached the daemon */
	pthread_mutex_t notify_lock;
	struct ns_notify notify;	/* protected by notify_lock */
};

struct ns_fixed {
	const char *name;
	enum node_kind kind;
};

#define NS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct ns_dir {
	enum node_kind kind;
	char *cid;
	const struct ns_fixed *fixed;	/* fixed directories */
	size_t n_fixed;
	struct cval *val;		/* listed directories */
	char **meta_names;		/* metadata/: "<doc>.json" per entry */
	struct ns_fixed *months;	/* usage-by-month/: owned names */
	char **local_names;		/* local files of keys/ and documents/ */
	uint64_t *local_inos;
	size_t n_local;
};

extern const struct ns_fixed ns_root_children[14];
extern const struct ns_fixed ns_coll_children[4];
extern const struct ns_fixed ns_ctl_children[2];

void ns_stat_base(struct ns *ns, enum node_kind kind, int64_t mtime, off_t size, struct ns_entry *e);
void ns_stat_res(struct ns *ns, enum node_kind kind, const struct res *r, struct ns_entry *e);
void ns_stat_local(struct ns *ns, const struct local_info *li, struct ns_entry *e);
int ns_attr(struct ns *ns, const struct node_id *n, struct ns_entry *e);
/* rc, or -ESTALE for -ENOENT of a listed resource's inode (see ns.c). */
int ns_stale(enum node_kind kind, int rc);
int ns_listing(struct ns *ns, enum node_kind kind, const char *cid, struct cval **out);
enum node_kind ns_child_kind(enum node_kind dir);
void ns_child_ident(enum node_kind kind, const char *parent_cid, const struct res *r, const char **cid, const char **id);
int ns_is_rendered(enum node_kind k);
int ns_text(struct ns *ns, enum node_kind kind, const char *id, struct cval **v);
int ns_key_bytes(struct ns *ns, const struct res *r, char **owned, const char **data, size_t *len);
int ns_render_stats(struct ns *ns, char **out, size_t *len);
int ns_is_dir_kind(enum node_kind k);
int ns_local_target(struct ns *ns, uint64_t ino, struct node_id *n);
/* Whether name may be a search file's name (see docs/semantics.md, "Search"). */
int ns_search_name_ok(const char *name);

/* ns_kernel.c: versions and kernel invalidations (see ns.h, "The page cache"). */
uint64_t ns_version(const char *data, size_t len);
/* Attributes of ino with e->version are about to reach the kernel. */
void ns_shown(struct ns *ns, uint64_t ino, const struct ns_entry *e);
/* Whether an open of ino with this snapshot version may use the page cache; *keep: keep its pages. */
int ns_page_cache(struct ns *ns, uint64_t ino, uint64_t version, int *keep);
void ns_inval_inode(struct ns *ns, uint64_t ino);
void ns_inval_entry(struct ns *ns, uint64_t parent, const char *name);
/* The cache's replacement hook (cache_set_hook()). */
void ns_replaced(void *ctx, const char *key, const struct cval *old, const struct cval *nv);
/* A key's bytes changed outside any listing (its one-time secret). */
void ns_key_changed(struct ns *ns, const char *key_id);

#endif
