/*
 * change_state.h - the write state machine of a handle open for writing: the
 * decisions that turn create, open, write, truncate, flush and close of a
 * struct change_file into actions, apart from the actions themselves.
 *
 * Owns: enum change_target (what a handle commits to), struct change_state
 * (target, dirty, closing, whole_only, err) and struct change_stream_pos (how
 * far a document was written in order, for streamed uploads). change.c,
 * change_ops.c and change_stream.c ask these functions what to do and then do
 * it (I/O, API calls, cache and kernel invalidations); the rules live here
 * only, so tests/unit/test_change.c can check them without a mount.
 *
 * The life of a handle (docs/semantics.md, "Writes"):
 *
 *   create/open   change_state_create() / _open() / _scratch(): the target;
 *                 dirty when the open truncated (a new document: always)
 *   write         change_state_write() first (-EFBIG, -EOPNOTSUPP), then
 *                 change_state_wrote(): dirty
 *   truncate      change_state_truncate(): dirty; a new version may start
 *   flush         change_state_flush(): nothing, wait, refresh or commit;
 *                 after a commit change_state_committed(): what follows
 *   close         change_state_close(): commit what is left (documents);
 *                 change_state_is_new(): a pending local name vanishes
 *
 * An error of a commit sticks (st->err is what later flushes return) until
 * new writes are committed or the handle is closed.
 *
 * Pure: no I/O, no locks, no allocation; a state belongs to one handle and
 * its caller serialises access (change_int.h).
 */
#ifndef XAIFS_CHANGE_STATE_H
#define XAIFS_CHANGE_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "node.h"

#define CHANGE_JSON_MAX \
	(1u << 20) /* a key or collection.json written is at most this */
/*
 * A document streams once this much was written in order: smaller ones go up
 * whole at close with a Content-Length, as one request either way.
 */
#define CHANGE_STREAM_MIN (1u << 20)

enum change_target {
	CHANGE_SCRATCH,	  /* a local file: nothing is sent */
	CHANGE_KEY,	  /* an existing key: update on flush */
	CHANGE_NEW_KEY,	  /* a key to create on flush */
	CHANGE_DOC,	  /* an existing document: replace on flush */
	CHANGE_NEW_DOC,	  /* a document to upload on flush */
	CHANGE_COLL_JSON, /* collection.json: update the collection on flush */
	CHANGE_NEW_COLL,  /* collections/NAME.json: create collection NAME on
			     flush */
	CHANGE_REFRESH,	  /* .xaifs/refresh: drop every cache on flush */
	CHANGE_LIMITS,	  /* /spending-limits: set the soft limit on flush */
	CHANGE_TARGET_COUNT
};

struct change_state {
	enum change_target target;
	int dirty;   /* written since the last commit */
	int closing; /* the handle is being closed: commit even empty content */
	int whole_only; /* a document opened without O_TRUNC: only a
			 * truncation to 0 may start a new version */
	int err;	/* last commit error, returned by later flushes */
};

/* Streamed uploads (change_stream.c): bytes written in order from offset 0. */
struct change_stream_pos {
	uint64_t off; /* written in order from 0: the next write must start here
		       */
	int broken; /* a write came out of order (or the stream was given up) */
	int err;    /* the stream's request ended early with this error */
};

/* Whether name in collections/ is a request to create a collection (NAME.json).
 */
int change_is_collection_spec(const char *name);

/* The listing a target changes (refetched after a failed commit), or
 * NODE_LIST_NONE. */
enum node_list change_state_list(enum change_target t);

/* The kind of node the target's resource is (NODE_KEY for both key targets,
 * ...). */
enum node_kind change_state_kind(enum change_target t);

/*
 * Whether name may be made (created, renamed to) in a directory of kind dir:
 * 0, or -ENAMETOOLONG when it would not be shown as itself (over NAME_MAX;
 * a document's name leaves room for its metadata file's ".json").
 */
int change_state_name(enum node_kind dir, const char *name);

/*
 * create(2) of name in a directory of kind parent; have_local: the mount
 * keeps local files. 0 and *st, or -EACCES (a directory that takes no new
 * files), -ENOTDIR, -ENAMETOOLONG.
 */
int change_state_create(enum node_kind parent, const char *name, int have_local,
			struct change_state *st);

/*
 * Open of an existing node of kind (the resource a local file became, too)
 * with open(2) flags. 0 and *st; -EOPNOTSUPP for a document opened to append
 * or to change in place (O_RDWR without O_TRUNC); -EISDIR, -EACCES for what
 * is not written through a handle (NODE_W_SCRATCH: change_state_scratch()).
 */
int change_state_open(enum node_kind kind, int flags, struct change_state *st);

/* Open of a local file of directory dir with open(2) flags; pending: a new
 * resource not created yet (a new document opened with O_TRUNC is dirty). */
void change_state_scratch(int pending, enum node_kind dir, int flags,
			  struct change_state *st);

/*
 * Before a write of size bytes at off: 0 to write, -EFBIG (JSON past
 * CHANGE_JSON_MAX: what was written is incomplete, never sent; sticks), or
 * -EOPNOTSUPP (a document not truncated first).
 */
int change_state_write(struct change_state *st, off_t off, size_t size);

/* After a write reached the spool. */
void change_state_wrote(struct change_state *st);

/* A truncation to size through the handle: 0, or -EOPNOTSUPP (whole_only, size
 * != 0). */
int change_state_truncate(struct change_state *st, off_t size);

enum change_step {
	CHANGE_STEP_NONE, /* nothing to send: return st->err */
	CHANGE_STEP_WAIT, /* empty content, not closing: wait for the last close
			   */
	CHANGE_STEP_REFRESH, /* drop every cache; return 0 */
	CHANGE_STEP_DOC,  /* upload the spool (or the stream) as a document */
	CHANGE_STEP_JSON, /* send the spool's JSON */
};

/* At flush, with the spool's size (or -errno): what to do. Clears dirty for a
 * commit. */
enum change_step change_state_flush(struct change_state *st, off_t spool_size);

/* What follows a commit (change_state_committed()). */
enum change_after {
	CHANGE_AFTER_REFETCH =
		1 << 0, /* failed: fetch the target's listing again */
	CHANGE_AFTER_LIMITS =
		1 << 1, /* failed: fetch the spending limits again */
	CHANGE_AFTER_VERSION =
		1 << 2, /* a document was replaced: take its new id */
	CHANGE_AFTER_BECAME =
		1 << 3, /* a new key or document exists: take its id */
	CHANGE_AFTER_REQUEST =
		1 << 4, /* collections/NAME.json did its work: it goes */
	CHANGE_AFTER_INODE =
		1 << 5, /* the file's bytes changed: take back its pages */
};

/*
 * A commit ended with *rc (-ENODATA, an empty new key, becomes 0); got_id:
 * it gave a new resource id. Records the error (st->err), moves the target
 * on (a new key or document to the existing one, a collection request to a
 * local file) and returns the enum change_after actions.
 */
unsigned change_state_committed(struct change_state *st, int *rc, int got_id,
				off_t spool_size);

/* At close: whether to commit what is left now (sets closing). */
int change_state_close(struct change_state *st);

/* Whether the target is a new resource: its pending local name goes unless
 * created. */
int change_state_is_new(const struct change_state *st);

/* Whether a stream may start: a document being replaced whole, all of its spool
 * in order. */
int change_state_streamable(const struct change_state *st, off_t spool_size,
			    const struct change_stream_pos *p);

enum change_stream_step {
	CHANGE_STREAM_NONE,    /* nothing to do for the stream */
	CHANGE_STREAM_START,   /* enough in order: start one (if streamable) */
	CHANGE_STREAM_SEND,    /* hand the bytes to the stream, then add them to
				  p->off */
	CHANGE_STREAM_ABANDON, /* out of order: give the stream up; the spool
				  goes at close */
};

/* A write of n bytes at off reached the spool; streaming: a stream is running. */
enum change_stream_step change_state_stream_write(struct change_stream_pos *p,
						  int streaming, off_t off,
						  size_t n);

/* A truncation to size: whether a running stream must be given up (the position
 * breaks). */
int change_state_stream_cut(struct change_stream_pos *p, off_t size);

#endif
