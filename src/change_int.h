/*
 * change_int.h - what change.c (handles and commits) and change_ops.c (names,
 * attributes, actions) share; never included outside the change module.
 * Ownership and locking as in change.h.
 */
#ifndef XAIFS_CHANGE_INT_H
#define XAIFS_CHANGE_INT_H

#include <pthread.h>
#include "upload_stream.h"
#include "change.h"

#define CHANGE_JSON_MAX (1u << 20)	/* a key or collection.json written is at most this */
#define CHANGE_META_SUFFIX ".json"

enum change_target {
	CHANGE_SCRATCH,	/* a local file: nothing is sent */
	CHANGE_KEY,		/* an existing key: update on flush */
	CHANGE_NEW_KEY,	/* a key to create on flush */
	CHANGE_DOC,		/* an existing document: replace on flush */
	CHANGE_NEW_DOC,	/* a document to upload on flush */
	CHANGE_COLL_JSON,	/* collection.json: update the collection on flush */
	CHANGE_NEW_COLL,	/* collections/NAME.json: create collection NAME on flush */
	CHANGE_REFRESH,	/* .xaifs/refresh: drop every cache on flush */
	CHANGE_LIMITS,	/* /spending-limits: set the soft limit on flush (change_account.c) */
};

struct change_fields;

struct change {
	struct tree *tree;
	struct cache *cache;
	struct api *api;
	struct scratch *local;
	int read_only;
	char *tmpdir;
	struct change_notify notify;
	struct change_fields *fields;	/* user.xai.fields of open rewrites (change_fields.c) */
};

struct change_file {
	enum change_target target;
	uint64_t ino;		/* the file's inode */
	uint64_t parent;	/* its directory's inode */
	enum node_kind dir;	/* its directory's kind */
	char *cid;		/* collection id ("" for keys) */
	char *id;		/* the resource's id (existing targets) */
	char *name;		/* file name */
	int fd;			/* spool */
	int dirty;		/* written since the last commit */
	int closing;		/* change_release() is committing what is left */
	int whole_only;		/* a document opened without O_TRUNC: only a
				 * truncation to 0 may start a new version */
	int err;		/* last commit error, returned by later flushes */
	/*
	 * Streaming (change_stream.c); up_lock guards these fields, in case two
	 * writes of one handle ever run at once (taken before no other lock;
	 * held while a write waits for room in the ring).
	 */
	pthread_mutex_t up_lock;
	struct upload_stream *up;	/* the upload fed by the writes, or NULL */
	uint64_t up_off;	/* bytes written in order from 0: the next write must start here */
	int up_off_order;	/* a write came out of order before a stream started */
	int up_err;		/* its request ended early with this error */
};

/* change_ops.c: collections/NAME.json, a collection made with options mkdir cannot carry. */
int change_is_collection_spec(const char *name);
int change_commit_new_collection(struct change *w, const char *file_name, const char *in, size_t len);

int change_find(struct change *w, enum node_kind dir, const char *cid, const char *name, struct cval **v, const struct res **r);
int change_find_id(struct change *w, enum node_kind dir, const char *cid, const char *id, struct cval **v, const struct res **r);
int change_listing(struct change *w, enum node_kind dir, const char *cid, struct cval **out);
/* A change whose outcome is unknown (or not answered): fetch the listing again. */
void change_changed(struct change *w, enum node_kind dir, const char *cid);
/* The server accepted a change: the listing learns *out (strings taken) in place. */
void change_learned(struct change *w, enum node_kind dir, const char *cid, struct res *out);
/* The server removed id: the listing forgets it in place. */
void change_gone(struct change *w, enum node_kind dir, const char *cid, const char *id);
void change_changed_collections(struct change *w);
void change_inval_entry(struct change *w, uint64_t parent, const char *name);
void change_inval_inode(struct change *w, uint64_t ino);
/* Upload fd (or finish up) as document name, with the fields of ino (change_fields_prepare()). */
int change_commit_doc(struct change *w, const char *cid, const char *name, int fd, struct upload_stream *up,
		  uint64_t ino, const char *old_id, char **id);
const char *change_content_type(const char *name);

/*
 * change_stream.c: documents written from offset 0 onwards are uploaded while
 * they are written (upload_stream.h); everything else keeps to the spool.
 * change_stream_write() follows a write that reached the spool; change_stream_cut()
 * a truncation to size; change_stream_take() hands the upload to the commit
 * (NULL: commit the spool); change_stream_drop() abandons it.
 */
void change_stream_write(struct change *w, struct change_file *f, const char *buf, size_t n, off_t off);
void change_stream_cut(struct change_file *f, off_t size);
struct upload_stream *change_stream_take(struct change_file *f);
void change_stream_drop(struct change_file *f);
int change_commit_key_update(struct change *w, const char *id, const char *label, const char *in, size_t len);
int change_commit_key_create(struct change *w, const char *name, const char *in, size_t len, char **id);
int change_log_invalid(const char *what, const char *name, const struct model_change *c);
void change_keep_secret(struct change *w, const char *id, char *secret);
int change_spool_write(int fd, const char *data, size_t len);
int change_dir_writable(enum node_kind k);

struct change_file *change_file_new(enum change_target t, uint64_t ino, uint64_t parent, enum node_kind dir,
			    const char *cid, const char *id, const char *name, int fd);
int change_json_spool(struct change *w, const char *json, size_t len, int trunc);
/* change_account.c: open /spending-limits for writing, and commit what was written. */
int change_open_limits(struct change *w, uint64_t ino, int flags, struct change_file **out);
int change_commit_limits(struct change *w, const char *in, size_t len);

/* change_fields.c (change_fields.h): a new, empty table of open rewrites' fields; NULL on ENOMEM. */
struct change_fields *change_fields_new(void);
/* Free the table (NULL: no-op). */
void change_fields_free(struct change_fields *t);
/* An open handle rewrites the document at ino: fields set on ino wait for its upload. */
void change_fields_hold(struct change *w, uint64_t ino);
/* One such handle closed: what was set on ino goes with the last one. */
void change_fields_drop(struct change *w, uint64_t ino);
/* Whether setting read-only attribute name on ino is accepted and ignored (a document being written). */
int change_fields_ignored(struct change *w, uint64_t ino, const char *name);
/* The fields an upload from ino sends, checked (0 with *fields, -EINVAL logged, -ENOMEM). */
int change_fields_prepare(struct change *w, uint64_t ino, const char *cid, const char *name,
			  const char *old_id, char **fields);

/* The directory a change is made in; -EROFS on a read-only mount. */
int change_parent(struct change *w, uint64_t parent, struct node_id *p);

#endif
