/*
 * change_int.h - what the files of the change module share; never included
 * outside it. Ownership as in change.h.
 *
 * Owns: struct change and struct change_file. Files, in layers (each calls
 * only those below it, and the layers under change: tree, scratch, cache,
 * api):
 *
 *   change.c (handles: create, open, write, flush, close)
 *   change_ops.c (unlink, rmdir, mkdir, rename, setattr, setxattr)
 *   change_stream.c (streamed uploads)  change_commit.c (keys, documents,
 *       collections: the API calls of a commit)  change_account.c (limits)
 *   change_base.c   finding resources, keeping caches true, spools, handles
 *   change_name.c   names being written: their order of commits, removals
 *   change_state.c  the write state machine (pure; change_state.h)
 *
 * Locks (see tree.h, "Lock order"): f->up_lock guards a handle's stream.
 */
#ifndef XAIFS_CHANGE_INT_H
#define XAIFS_CHANGE_INT_H

#include <pthread.h>
#include "change.h"
#include "change_state.h"
#include "upload_stream.h"

struct change_fields;

/*
 * Names being written (change_name.c). One entry per (collection id, name)
 * that a handle is open on or that a commit or removal is working on;
 * refcounted (refs, under w->names_lock). Its lock is held across the API
 * calls of one commit of the name (find what is under the name, upload,
 * remove the old version, then the listing and the handle learning of it:
 * change_commit_locked()) and of one removal, and across nothing else: two
 * commits of one name, or a commit and an unlink, run one after the other,
 * so the name ends with exactly one document, the last one stored. It is
 * taken before every other lock (tree.h, "Lock order") and never two at
 * once. epoch counts removals of the name, gen its stored commits (both
 * atomic); a handle notes them when opened (change_name_mark()) and asks at
 * commit whether its bytes still go there (change_name_judge()).
 */
struct change_name {
	char *cid, *name;
	pthread_mutex_t lock;
	unsigned refs;	/* w->names_lock */
	uint64_t epoch; /* atomic: removals (unlink) of the name */
	uint64_t gen;	/* atomic: commits of the name that were stored */
	struct change_name *next; /* w->names; w->names_lock */
};

/* What a handle saw of its name when it was opened. */
struct change_name_seen {
	uint64_t epoch, gen;
};

enum change_name_verdict {
	CHANGE_NAME_STORE,	/* commit the handle's bytes under the name */
	CHANGE_NAME_REMOVED,	/* the name was removed since: store nothing */
	CHANGE_NAME_SUPERSEDED, /* only truncated at open, and another handle
				 * stored the name since: nothing to store */
};

struct change {
	struct tree *tree;
	struct cache *cache;
	struct api *api;
	struct scratch *local;
	int read_only;
	char *tmpdir;
	struct change_notify notify;
	/* user.xai.fields of open rewrites (change_fields.c) */
	struct change_fields *fields;
	pthread_mutex_t names_lock;
	struct change_name *names; /* names being written; names_lock */
};

struct change_file {
	struct change_state st; /* target, dirty, closing, whole_only, err */
	uint64_t ino;		/* the file's inode */
	uint64_t parent;	/* its directory's inode (0: not needed) */
	char *cid;		/* collection id ("" for keys) */
	char *id;		/* the resource's id (existing targets) */
	char *name;		/* file name */
	int fd;			/* spool */
	/*
	 * Streaming (change_stream.c); up_lock guards these, in case two
	 * writes of one handle ever run at once (first in the lock order;
	 * held while a write waits for room in the ring).
	 */
	pthread_mutex_t up_lock;
	struct upload_stream *up; /* the upload fed by the writes, or NULL */
	struct change_stream_pos pos; /* how far it was written in order */
	/* documents: the name's entry (a reference), what it was at open */
	struct change_name *nm;
	struct change_name_seen seen;
	int wrote;  /* a write or a truncation came through the handle */
	off_t size; /* the spool's size (kept by write and truncate) */
};

/* ---- change_name.c: names being written (struct change_name) ---- */

/* The entry of (cid, name) with a reference taken; NULL on ENOMEM. */
struct change_name *change_name_get(struct change *w, const char *cid,
				    const char *name);
/* Drop a reference (NULL-safe); the last one frees the entry. */
void change_name_put(struct change *w, struct change_name *n);
/* Whether anything but the caller holds a reference on n (NULL: 0). */
int change_name_shared(struct change *w, const struct change_name *n);
/* change_name_get(), then hold its lock; NULL on ENOMEM (nothing held). */
struct change_name *change_name_lock(struct change *w, const char *cid,
				     const char *name);
/* Release the lock and the reference (NULL-safe). */
void change_name_unlock(struct change *w, struct change_name *n);
/* The name was removed / a commit of it was stored (NULL-safe). */
void change_name_removed(struct change_name *n);
void change_name_stored(struct change_name *n);
/* Note the counters now, for a handle opened on the name (n may be NULL). */
void change_name_mark(const struct change_name *n, struct change_name_seen *s);
/* Whether a handle that saw *s (and wrote, or not) stores its bytes now. */
enum change_name_verdict change_name_judge(const struct change_name *n,
					   const struct change_name_seen *s,
					   int wrote);

/* ---- change_base.c ---- */

/* Queue taking back the kernel's entry name of directory parent. */
void change_inval_entry(struct change *w, uint64_t parent, const char *name);
/* Queue taking back the kernel's attributes and pages of ino. */
void change_inval_inode(struct change *w, uint64_t ino);
/* The directory a change is made in (a copy of its identity); -EROFS on a
 * read-only mount. */
int change_parent(struct change *w, uint64_t parent, struct node_id *p);
/* The listing list (of collection cid) through tree_listing(); cval_unref()
 * *out. */
int change_listing(struct change *w, enum node_list list, const char *cid,
		   struct cval **out);
/* The resource named name in listing list: *v holds the listing, *r points into
 * it; -ENOENT. */
int change_find(struct change *w, enum node_list list, const char *cid,
		const char *name, struct cval **v, const struct res **r);
/* Same, by id. */
int change_find_id(struct change *w, enum node_list list, const char *cid,
		   const char *id, struct cval **v, const struct res **r);
/* A change whose outcome is unknown (or not answered): fetch the listing again.
 */
void change_changed(struct change *w, enum node_list list, const char *cid);
/* The server accepted a change: the listing learns *out (strings taken) in
 * place. */
void change_learned(struct change *w, enum node_list list, const char *cid,
		    struct res *out);
/* The server removed id: the listing forgets it in place. */
void change_gone(struct change *w, enum node_list list, const char *cid,
		 const char *id);
/* The Content-Type an upload of name is sent with (by its extension). */
const char *change_content_type(const char *name);
/* Log (once) why JSON written to name could not be used to "what"; returns
 * -EINVAL. */
int change_log_invalid(const char *what, const char *name,
		       const struct model_change *c);
/* Keep a key's new one-time secret in tree for the mount's life; wipes and
 * frees secret. */
void change_keep_secret(struct change *w, const char *id, char *secret);
/* Write all of data at offset 0 of fd. */
int change_spool_write(int fd, const char *data, size_t len);
/* A new spool holding json (empty when trunc); the fd, or -errno. */
int change_json_spool(struct change *w, const char *json, size_t len,
		      int trunc);
/*
 * A new handle in state *st (*out); strings are copied and fd is taken:
 * closed on failure, and a negative fd (a failed open) is the result.
 * Returns 0, fd when negative, or -ENOMEM.
 */
int change_file_new(const struct change_state *st, uint64_t ino,
		    uint64_t parent, const char *cid, const char *id,
		    const char *name, int fd, struct change_file **out);
/* Free a handle (closes its spool); its stream must be gone. NULL-safe. */
void change_file_free(struct change_file *f);

/* ---- change_commit.c: what a commit asks of the API ---- */

/* Update key id from the JSON in (label: its file name, for logs); rotate when
 * asked. */
int change_commit_key_update(struct change *w, const char *id,
			     const char *label, const char *in, size_t len);
/* Create key name from JSON; *id gets its id. -ENODATA when in was empty. */
int change_commit_key_create(struct change *w, const char *name, const char *in,
			     size_t len, char **id);
/*
 * Upload fd (or finish stream up) as document name, with the fields of ino
 * (change_fields_prepare()); replaces old_id if given; *id: the new id.
 */
int change_commit_doc(struct change *w, const char *cid, const char *name,
		      int fd, struct upload_stream *up, uint64_t ino,
		      const char *old_id, char **id);
/*
 * Commit document handle f; the caller holds its name's lock (see "Names
 * being written"): 0 stored (*new_id), 1 nothing to store (the name was removed
 * since the open, or only truncated and stored by another handle since), or
 * -errno. What it replaces is what the name holds now, whoever stored it.
 */
int change_commit_named(struct change *w, struct change_file *f, char **new_id);
/*
 * Commit key handle f (JSON in); the caller holds its name's lock: an existing
 * key is updated; a new one is created, or updates the key another handle
 * created under the name since. 0 (*id: a new key's id), 1 nothing to send (the
 * name was removed since the open), or -errno (-ENODATA: empty, nothing
 * created).
 */
int change_commit_key_named(struct change *w, struct change_file *f,
			    const char *in, size_t len, char **id);
/* Update collection cid from the JSON of its collection.json. */
int change_commit_coll_json(struct change *w, const char *cid,
			    const char *label, const char *in, size_t len);
/* collections/NAME.json was written: create collection NAME with its options. */
int change_commit_new_collection(struct change *w, const char *file_name,
				 const char *in, size_t len);

/* ---- change_account.c: /spending-limits ---- */

/* Open /spending-limits for writing (st from change_state_open()). */
int change_open_limits(struct change *w, uint64_t ino, int flags,
		       const struct change_state *st, struct change_file **out);
/* Set the soft spending limit from the JSON written. */
int change_commit_limits(struct change *w, const char *in, size_t len);

/*
 * ---- change_stream.c: documents written from offset 0 onwards are uploaded
 * while they are written (upload_stream.h); everything else keeps to the spool
 * ----
 */

/* Follow a write of n bytes at off that reached the spool. */
void change_stream_write(struct change *w, struct change_file *f,
			 const char *buf, size_t n, off_t off);
/* Follow a truncation of the spool to size. */
void change_stream_cut(struct change_file *f, off_t size);
/* Hand the upload to the commit; NULL: commit the spool. */
struct upload_stream *change_stream_take(struct change_file *f);
/* Abandon the upload (the file is not committed). */
void change_stream_drop(struct change_file *f);

/* change_fields.c (change_fields.h): a new, empty table of open rewrites'
 * fields; NULL on ENOMEM. */
struct change_fields *change_fields_new(void);
/* Free the table (NULL: no-op). */
void change_fields_free(struct change_fields *t);
/* An open handle rewrites the document at ino: fields set on ino wait for its
 * upload. */
void change_fields_hold(struct change *w, uint64_t ino);
/* One such handle closed: what was set on ino goes with the last one. */
void change_fields_drop(struct change *w, uint64_t ino);
/* Whether setting read-only attribute name on ino is accepted and ignored (a
 * document being written). */
int change_fields_ignored(struct change *w, uint64_t ino, const char *name);
/* The fields an upload from ino sends, checked (0 with *fields, -EINVAL logged,
 * -ENOMEM). */
int change_fields_prepare(struct change *w, uint64_t ino, const char *cid,
			  const char *name, const char *old_id, char **fields);

#endif
