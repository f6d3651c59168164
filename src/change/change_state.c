/* change_state.c - the write state machine of a handle; see change_state.h. */
#include "change_state.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "names.h"
#include "scratch.h"

/* What each target is. */
struct change_target_info {
	enum node_list list;  /* the listing it changes */
	enum node_kind kind;  /* the kind of node its resource is */
	unsigned char capped; /* JSON: writes past CHANGE_JSON_MAX are refused */
	/* a document: uploaded whole, may stream, commits at close */
	unsigned char doc;
	unsigned char is_new; /* a resource to create: pending until committed */
	unsigned char inode;  /* a commit changes the bytes of the open file */
};

static const struct change_target_info change_targets[CHANGE_TARGET_COUNT] = {
	[CHANGE_SCRATCH] = { NODE_LIST_NONE, NODE_LOCAL, 0, 0, 0, 0 },
	[CHANGE_KEY] = { NODE_LIST_KEYS, NODE_KEY, 1, 0, 0, 1 },
	[CHANGE_NEW_KEY] = { NODE_LIST_KEYS, NODE_KEY, 1, 0, 1, 0 },
	[CHANGE_DOC] = { NODE_LIST_DOCUMENTS, NODE_DOC, 0, 1, 0, 1 },
	[CHANGE_NEW_DOC] = { NODE_LIST_DOCUMENTS, NODE_DOC, 0, 1, 1, 0 },
	[CHANGE_COLL_JSON] = { NODE_LIST_COLLECTIONS, NODE_COLL_JSON, 1, 0, 0,
			       1 },
	[CHANGE_NEW_COLL] = { NODE_LIST_COLLECTIONS, NODE_COLL_JSON, 0, 0, 1,
			      0 },
	[CHANGE_REFRESH] = { NODE_LIST_NONE, NODE_CTL_REFRESH, 0, 0, 0, 0 },
	[CHANGE_LIMITS] = { NODE_LIST_NONE, NODE_LIMITS, 0, 0, 0, 1 },
};

static const struct change_target_info *change_target_of(enum change_target t)
{
	return &change_targets[(unsigned)t < CHANGE_TARGET_COUNT
				       ? t
				       : CHANGE_SCRATCH];
}

int change_is_collection_spec(const char *name)
{
	size_t n = strlen(name), s = strlen(".json");

	return n > s && strcmp(name + n - s, ".json") == 0 && name[0] != '.' &&
	       !scratch_is_temp_name(name);
}

enum node_list change_state_list(enum change_target t)
{
	return change_target_of(t)->list;
}

enum node_kind change_state_kind(enum change_target t)
{
	return change_target_of(t)->kind;
}

/* The target that creates (is_new) or changes (!is_new) resources of listing
 * list / kind. */
static enum change_target change_target_find(enum node_list list,
					     enum node_kind kind, int is_new)
{
	for (int t = 0; t < CHANGE_TARGET_COUNT; t++) {
		const struct change_target_info *i = &change_targets[t];

		if (i->is_new == is_new &&
		    (list ? i->list == list : i->kind == kind))
			return (enum change_target)t;
	}
	return CHANGE_SCRATCH;
}

int change_state_name(enum node_kind dir, const char *name)
{
	/* A document's name leaves room for its metadata file's ".json". */
	size_t max = NAMES_MAX - (node_of(dir)->lists == NODE_LIST_DOCUMENTS
					  ? strlen(".json")
					  : 0);

	return strlen(name) > max ? -ENAMETOOLONG : 0;
}

int change_state_create(enum node_kind parent, const char *name, int have_local,
			struct change_state *st)
{
	const struct node_info *d = node_of(parent);
	int spec = d->write == NODE_W_COLLECTIONS &&
		   change_is_collection_spec(name);

	memset(st, 0, sizeof(*st));
	if ((d->write != NODE_W_ENTRIES && !spec) || !have_local)
		return d->mode == NODE_MODE_DIR && d->write != NODE_W_ENTRIES
			       ? -EACCES
			       : -ENOTDIR;
	if (change_state_name(parent, name) < 0)
		return -ENAMETOOLONG;
	if (!scratch_is_temp_name(name))
		st->target = change_target_find(d->lists, NODE_NONE, 1);
	/* A new document is uploaded at close even when nothing was written. */
	st->dirty = change_target_of(st->target)->doc;
	return 0;
}

int change_state_open(enum node_kind kind, int flags, struct change_state *st)
{
	const struct node_info *k = node_of(kind);
	int trunc = (flags & O_TRUNC) != 0;

	memset(st, 0, sizeof(*st));
	switch (k->write) {
	case NODE_W_DOC:
		/*
		 * Bytes cannot be changed in place: only a whole new version
		 * replaces a document. An open without O_TRUNC is allowed (vim
		 * and GIO open first and truncate or rename after); writing
		 * before truncating to 0 is refused.
		 */
		if ((flags & O_APPEND) ||
		    (!trunc && (flags & O_ACCMODE) == O_RDWR))
			return -EOPNOTSUPP;
		st->whole_only = !trunc;
		/* fall through */
	case NODE_W_JSON:
	case NODE_W_ACCOUNT:
		st->dirty = trunc;
		/* fall through */
	case NODE_W_CONTROL:
		st->target = change_target_find(NODE_LIST_NONE, kind, 0);
		return 0;
	default:
		return k->mode == NODE_MODE_DIR ? -EISDIR : -EACCES;
	}
}

void change_state_scratch(int pending, enum node_kind dir, int flags,
			  struct change_state *st)
{
	memset(st, 0, sizeof(*st));
	if (!pending)
		return;
	st->target = change_target_find(node_of(dir)->lists, NODE_NONE, 1);
	/* A new document truncated by this open is stored at its close, as
	 * the one created is (the last close of the name wins). */
	st->dirty = (flags & O_TRUNC) && change_target_of(st->target)->doc;
}

int change_state_write(struct change_state *st, off_t off, size_t size)
{
	if (change_target_of(st->target)->capped &&
	    (off < 0 || (uint64_t)off + size > CHANGE_JSON_MAX)) {
		/* What was written is incomplete: it must never be sent. */
		st->err = -EFBIG;
		st->dirty = 0;
		return -EFBIG;
	}
	if (st->err == -EFBIG)
		return -EFBIG;
	return st->whole_only ? -EOPNOTSUPP : 0;
}

void change_state_wrote(struct change_state *st)
{
	st->dirty = 1;
}

int change_state_truncate(struct change_state *st, off_t size)
{
	if (st->whole_only && size != 0)
		return -EOPNOTSUPP;
	st->dirty = 1;
	st->whole_only = 0; /* a new version starts here */
	return 0;
}

enum change_step change_state_flush(struct change_state *st, off_t spool_size)
{
	if (st->target == CHANGE_SCRATCH || !st->dirty)
		return CHANGE_STEP_NONE;
	if (st->target == CHANGE_REFRESH) {
		st->dirty = 0;
		return CHANGE_STEP_REFRESH;
	}
	/*
	 * Shells open a redirection's target, dup2() it and close the
	 * original before the command writes: that first close must not
	 * commit an empty file. Empty content waits for the last close.
	 */
	if (spool_size == 0 && !st->closing)
		return CHANGE_STEP_WAIT;
	st->dirty = 0;
	return change_target_of(st->target)->doc ? CHANGE_STEP_DOC
						 : CHANGE_STEP_JSON;
}

unsigned change_state_committed(struct change_state *st, int *rc, int got_id,
				off_t spool_size)
{
	const struct change_target_info *t = change_target_of(st->target);
	unsigned after = 0;

	if (*rc == -ENODATA)
		*rc = 0; /* an empty new key file: nothing to create */
	/* After a failure the server may still have acted: fetch again. */
	if (*rc < 0 && st->target == CHANGE_LIMITS)
		after |= CHANGE_AFTER_LIMITS;
	else if (*rc < 0 && t->list != NODE_LIST_NONE)
		after |= CHANGE_AFTER_REFETCH;
	if (*rc == 0 && got_id && t->doc && !t->is_new) {
		after |= CHANGE_AFTER_VERSION;
	} else if (*rc == 0 && got_id && t->is_new) {
		after |= CHANGE_AFTER_BECAME;
		st->target = change_target_find(NODE_LIST_NONE, t->kind, 0);
	}
	if (*rc == 0 && st->target == CHANGE_NEW_COLL && spool_size > 0) {
		after |= CHANGE_AFTER_REQUEST;
		st->target = CHANGE_SCRATCH;
	}
	if (*rc == 0 && change_target_of(st->target)->inode)
		after |= CHANGE_AFTER_INODE;
	st->err = *rc;
	return after;
}

int change_state_close(struct change_state *st)
{
	if (!st->dirty || !change_target_of(st->target)->doc)
		return 0;
	st->closing = 1;
	return 1;
}

int change_state_is_new(const struct change_state *st)
{
	return change_target_of(st->target)->is_new;
}

int change_state_streamable(const struct change_state *st, off_t spool_size,
			    const struct change_stream_pos *p)
{
	return change_target_of(st->target)->doc && !st->whole_only &&
	       !st->err && spool_size == (off_t)p->off;
}

enum change_stream_step change_state_stream_write(struct change_stream_pos *p,
						  int streaming, off_t off,
						  size_t n)
{
	if (!streaming) {
		/* Not streaming (yet): count the bytes written in order from 0.
		 */
		if (p->broken || (uint64_t)off != p->off) {
			p->broken = 1;
			return CHANGE_STREAM_NONE;
		}
		p->off += n;
		return p->off >= CHANGE_STREAM_MIN ? CHANGE_STREAM_START
						   : CHANGE_STREAM_NONE;
	}
	if (p->err)
		return CHANGE_STREAM_NONE;
	return (uint64_t)off != p->off ? CHANGE_STREAM_ABANDON
				       : CHANGE_STREAM_SEND;
}

int change_state_stream_cut(struct change_stream_pos *p, off_t size)
{
	if (size >= 0 && (uint64_t)size == p->off)
		return 0;
	p->broken = 1;
	return 1;
}
