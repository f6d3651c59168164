/*
 * wr_int.h - what wr.c (handles and commits) and wr_ops.c (names,
 * attributes, actions) share; never included outside the wr module.
 * Ownership and locking as in wr.h.
 */
#ifndef XAIFS_WR_INT_H
#define XAIFS_WR_INT_H

#include <pthread.h>
#include "upstream.h"
#include "wr.h"

#define WR_JSON_MAX (1u << 20)	/* a key or collection.json written is at most this */
#define WR_META_SUFFIX ".json"

enum wr_target {
	WR_LOCAL,	/* a local file: nothing is sent */
	WR_KEY,		/* an existing key: update on flush */
	WR_NEW_KEY,	/* a key to create on flush */
	WR_DOC,		/* an existing document: replace on flush */
	WR_NEW_DOC,	/* a document to upload on flush */
	WR_COLL_JSON,	/* collection.json: update the collection on flush */
	WR_NEW_COLL,	/* collections/NAME.json: create collection NAME on flush */
	WR_REFRESH,	/* .xaifs/refresh: drop every cache on flush */
	WR_LIMITS,	/* /spending-limits: set the soft limit on flush (wr_acct.c) */
};

struct wr {
	struct ns *ns;
	struct cache *cache;
	struct api *api;
	struct local *local;
	int read_only;
	char *tmpdir;
	struct wr_notify notify;
};

struct wr_file {
	enum wr_target target;
	uint64_t ino;		/* the file's inode */
	uint64_t parent;	/* its directory's inode */
	enum node_kind dir;	/* its directory's kind */
	char *cid;		/* collection id ("" for keys) */
	char *id;		/* the resource's id (existing targets) */
	char *name;		/* file name */
	int fd;			/* spool */
	int dirty;		/* written since the last commit */
	int closing;		/* wr_release() is committing what is left */
	int whole_only;		/* a document opened without O_TRUNC: only a
				 * truncation to 0 may start a new version */
	int err;		/* last commit error, returned by later flushes */
	/*
	 * Streaming (wr_stream.c); up_lock guards these fields, in case two
	 * writes of one handle ever run at once (taken before no other lock;
	 * held while a write waits for room in the ring).
	 */
	pthread_mutex_t up_lock;
	struct upstream *up;	/* the upload fed by the writes, or NULL */
	uint64_t up_off;	/* bytes written in order from 0: the next write must start here */
	int up_off_order;	/* a write came out of order before a stream started */
	int up_err;		/* its request ended early with this error */
};

/* wr_ops.c: collections/NAME.json, a collection made with options mkdir cannot carry. */
int wr_is_collection_spec(const char *name);
int wr_commit_new_collection(struct wr *w, const char *file_name, const char *in, size_t len);

int wr_find(struct wr *w, enum node_kind dir, const char *cid, const char *name, struct cval **v, const struct res **r);
int wr_find_id(struct wr *w, enum node_kind dir, const char *cid, const char *id, struct cval **v, const struct res **r);
int wr_listing(struct wr *w, enum node_kind dir, const char *cid, struct cval **out);
/* A change whose outcome is unknown (or not answered): fetch the listing again. */
void wr_changed(struct wr *w, enum node_kind dir, const char *cid);
/* The server accepted a change: the listing learns *out (strings taken) in place. */
void wr_learned(struct wr *w, enum node_kind dir, const char *cid, struct res *out);
/* The server removed id: the listing forgets it in place. */
void wr_gone(struct wr *w, enum node_kind dir, const char *cid, const char *id);
void wr_changed_collections(struct wr *w);
void wr_inval_entry(struct wr *w, uint64_t parent, const char *name);
void wr_inval_inode(struct wr *w, uint64_t ino);
int wr_commit_doc(struct wr *w, const char *cid, const char *name, int fd, struct upstream *up,
		  const char *old_id, char **id);
const char *wr_content_type(const char *name);

/*
 * wr_stream.c: documents written from offset 0 onwards are uploaded while
 * they are written (upstream.h); everything else keeps to the spool.
 * wr_stream_write() follows a write that reached the spool; wr_stream_cut()
 * a truncation to size; wr_stream_take() hands the upload to the commit
 * (NULL: commit the spool); wr_stream_drop() abandons it.
 */
void wr_stream_write(struct wr *w, struct wr_file *f, const char *buf, size_t n, off_t off);
void wr_stream_cut(struct wr_file *f, off_t size);
struct upstream *wr_stream_take(struct wr_file *f);
void wr_stream_drop(struct wr_file *f);
int wr_commit_key_update(struct wr *w, const char *id, const char *label, const char *in, size_t len);
int wr_commit_key_create(struct wr *w, const char *name, const char *in, size_t len, char **id);
int wr_log_invalid(const char *what, const char *name, const struct model_change *c);
void wr_keep_secret(struct wr *w, const char *id, char *secret);
int wr_spool_write(int fd, const char *data, size_t len);
int wr_dir_writable(enum node_kind k);

struct wr_file *wr_file_new(enum wr_target t, uint64_t ino, uint64_t parent, enum node_kind dir,
			    const char *cid, const char *id, const char *name, int fd);
int wr_json_spool(struct wr *w, const char *json, size_t len, int trunc);
/* wr_acct.c: open /spending-limits for writing, and commit what was written. */
int wr_open_limits(struct wr *w, uint64_t ino, int flags, struct wr_file **out);
int wr_commit_limits(struct wr *w, const char *in, size_t len);

/* The directory a change is made in; -EROFS on a read-only mount. */
int wr_parent(struct wr *w, uint64_t parent, struct node_id *p);

#endif
