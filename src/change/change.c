/*
 * change.c - handles open for writing: create, open, read, write, flush and
 * close; see change.h and docs/semantics.md. What each step does is decided
 * by change_state.c; this file carries it out. Calls change_base.c,
 * change_commit.c, change_account.c and change_stream.c, never change_ops.c.
 */
#include "change.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "anonfile.h"
#include "log.h"
#include "change_int.h"

struct change *change_new(struct tree *tree, struct cache *c, struct api *api,
			  struct scratch *l, int read_only, const char *tmpdir)
{
	struct change *w = calloc(1, sizeof(*w));

	if (!w || !(w->tmpdir = strdup(tmpdir)) ||
	    !(w->fields = change_fields_new())) {
		if (w)
			free(w->tmpdir);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->names_lock, NULL);
	w->tree = tree;
	w->cache = c;
	w->api = api;
	w->local = l;
	w->read_only = read_only;
	return w;
}

void change_free(struct change *w)
{
	if (!w)
		return;
	change_fields_free(w->fields);
	pthread_mutex_destroy(&w->names_lock);
	free(w->tmpdir);
	free(w);
}

void change_set_notify(struct change *w, const struct change_notify *n)
{
	w->notify = *n;
}

static void change_refresh_inode(void *ctx, uint64_t ino, enum node_kind kind)
{
	(void)kind;
	change_inval_inode(ctx, ino);
}

void change_refresh(struct change *w)
{
	cache_drop_all(w->cache);
	tree_each_inode(w->tree, change_refresh_inode, w);
	if (w->notify.refreshed)
		w->notify.refreshed(w->notify.ctx);
}

/* ---- create and open ---- */

/*
 * A handle that writes a document or key takes a reference on its name's entry
 * and notes what the name was at open (change_int.h, "Names being written").
 */
static void change_name_attach(struct change *w, struct change_file *f)
{
	enum change_target t = f->st.target;

	if (t != CHANGE_DOC && t != CHANGE_NEW_DOC && t != CHANGE_KEY &&
	    t != CHANGE_NEW_KEY)
		return;
	f->nm = change_name_get(w, f->cid, f->name);
	change_name_mark(f->nm, &f->seen);
}

int change_create(struct change *w, uint64_t parent, const char *name,
		  int flags, struct tree_entry *e, struct change_file **out)
{
	struct node_id p = { 0 };
	struct scratch_info li = { 0 };
	struct change_state st;
	int rc;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	rc = change_state_create(p.kind, name, w->local != NULL, &st);
	if (rc < 0)
		goto out;
	rc = scratch_create(w->local, p.kind, p.cid, name,
			    st.target != CHANGE_SCRATCH, &li);
	if (rc < 0)
		goto out;
	rc = change_file_new(&st, li.ino, parent, p.cid, NULL, name,
			     scratch_open_fd(w->local, li.ino), out);
	if (rc < 0) {
		scratch_remove_ino(w->local, li.ino);
		tree_forget(w->tree, li.ino, 1);
		goto out;
	}
	tree_write_open(w->tree, li.ino, 0);
	change_name_attach(w, *out);
	rc = tree_getattr(w->tree, li.ino, e);
	e->ino = li.ino;
	e->attr_ttl = 0;
	if (rc < 0) {
		/* a create that failed sends nothing, not even an empty file */
		change_abandon(w, *out);
		*out = NULL;
		scratch_remove_ino(w->local, li.ino);
		tree_forget(w->tree, li.ino, 1);
	}
out:
	scratch_info_release(&li);
	node_id_release(&p);
	(void)flags;
	return rc;
}

/* Open an existing key or collection.json for writing: its spool holds the
 * JSON. */
static int change_open_json(struct change *w, const struct node_id *n,
			    uint64_t ino, int flags,
			    const struct change_state *st,
			    struct change_file **out)
{
	const struct node_info *k = node_of(n->kind);
	const char *id = k->by == NODE_BY_CID ? n->cid : n->id;
	const struct res *r;
	struct cval *v = NULL;
	int rc, fd;

	rc = change_find_id(w, k->in, "", id, &v, &r);
	if (rc < 0)
		return rc;
	fd = change_json_spool(w, r->json, r->json_len, flags & O_TRUNC);
	rc = change_file_new(st, ino, 0, n->cid, id, r->name, fd, out);
	cval_unref(v);
	return rc;
}

/* Open an existing document for writing: a new version is written to an empty
 * spool. */
static int change_open_doc(struct change *w, const struct node_id *n,
			   uint64_t ino, const struct change_state *st,
			   struct change_file **out)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc, fd;

	rc = change_find_id(w, NODE_LIST_DOCUMENTS, n->cid, n->id, &v, &r);
	if (rc < 0)
		return rc;
	fd = anonfile_open(w->tmpdir);
	rc = change_file_new(st, ino,
			     tree_dir_ino(w->tree, NODE_DOCS_DIR, n->cid),
			     n->cid, n->id, r->name, fd, out);
	/* user.xai.fields set from now on wait for the upload */
	if (rc == 0)
		change_fields_hold(w, ino);
	cval_unref(v);
	return rc;
}

/* .xaifs/refresh: an empty spool; the flush after a write drops every cache. */
static int change_open_refresh(struct change *w, uint64_t ino,
			       const struct change_state *st,
			       struct change_file **out)
{
	return change_file_new(st, ino, 0, "", "", "refresh",
			       anonfile_open(w->tmpdir), out);
}

static int change_open_node(struct change *w, const struct node_id *n,
			    uint64_t ino, int flags, struct change_file **out);

/* A local file: its own spool, or the resource it became. */
static int change_open_scratch(struct change *w, uint64_t ino, int flags,
			       struct change_file **out)
{
	struct scratch_info li = { 0 };
	struct change_state st;
	int rc, fd;

	rc = w->local ? scratch_get_ino(w->local, ino, &li) : -ENOENT;
	if (rc < 0)
		return rc;
	if (li.redirect_id) {
		/* It became a server resource: write to that. */
		struct node_id r = { li.redirect, li.cid, li.redirect_id };

		rc = change_open_node(w, &r, ino, flags, out);
		goto out;
	}
	/*
	 * A new document not stored yet, opened again to be rewritten: a spool
	 * of the handle's own, so that neither handle cuts the other's bytes
	 * (the last one closed is stored).
	 */
	if (li.pending && (flags & O_TRUNC) &&
	    node_of(li.dir)->lists == NODE_LIST_DOCUMENTS)
		fd = anonfile_open(w->tmpdir);
	else
		fd = scratch_open_fd(w->local, ino);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if ((flags & O_TRUNC) && ftruncate(fd, 0) < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	change_state_scratch(li.pending, li.dir, flags, &st);
	rc = change_file_new(&st, ino, tree_dir_ino(w->tree, li.dir, li.cid),
			     li.cid, NULL, li.name, fd, out);
out:
	scratch_info_release(&li);
	return rc;
}

/* Why an open of document n for writing without O_TRUNC is refused, naming
 * it by its file name. */
static void change_log_in_place(struct change *w, const struct node_id *n)
{
	const struct res *r = NULL;
	struct cval *v = NULL;

	change_find_id(w, NODE_LIST_DOCUMENTS, n->cid, n->id, &v, &r);
	log_error("cannot write into document '%s': documents are replaced "
		  "whole (open with O_TRUNC, e.g. cp or >), not modified in "
		  "place",
		  r ? r->name : n->id);
	cval_unref(v);
}

/* The one dispatch on how a kind is written (node.h, enum node_write). */
static int change_open_node(struct change *w, const struct node_id *n,
			    uint64_t ino, int flags, struct change_file **out)
{
	enum node_write how = node_of(n->kind)->write;
	struct change_state st;
	int rc;

	if (how == NODE_W_SCRATCH)
		return change_open_scratch(w, ino, flags, out);
	rc = change_state_open(n->kind, flags, &st);
	if (rc == -EOPNOTSUPP)
		change_log_in_place(w, n);
	if (rc < 0)
		return rc;
	switch (how) {
	case NODE_W_JSON:
		return change_open_json(w, n, ino, flags, &st, out);
	case NODE_W_DOC:
		return change_open_doc(w, n, ino, &st, out);
	case NODE_W_ACCOUNT:
		return change_open_limits(w, ino, flags, &st, out);
	default:
		return change_open_refresh(w, ino, &st, out);
	}
}

/*
 * The size a new handle shows: its spool's, but the stored document's while
 * a document opened without O_TRUNC has not been truncated yet.
 */
static off_t change_open_size(struct change *w, const struct change_file *f)
{
	struct tree_entry e;

	if (f->st.whole_only && tree_getattr(w->tree, f->ino, &e) == 0)
		return e.st.st_size;
	return anonfile_size(f->fd);
}

int change_open(struct change *w, uint64_t ino, int flags,
		struct change_file **out)
{
	struct node_id n = { 0 };
	int rc;

	*out = NULL;
	/*
	 * The kernel looked ino up, and it is gone since (a local file that
	 * vanished, a document deleted): -ESTALE, so that the VFS looks the
	 * name up again (and an O_CREAT open creates it anew) instead of
	 * failing with ENOENT.
	 */
	rc = tree_node(w->tree, ino, &n);
	if (rc < 0)
		return rc == -ENOENT ? -ESTALE : rc;
	/* A read-only mount still takes .xaifs/refresh: it sends nothing. */
	if (w->read_only && node_of(n.kind)->write != NODE_W_CONTROL)
		rc = -EROFS;
	else
		rc = change_open_node(w, &n, ino, flags, out);
	if (rc == 0) {
		(*out)->size = anonfile_size((*out)->fd);
		tree_write_open(w->tree, ino, change_open_size(w, *out));
		change_name_attach(w, *out);
	} else if (rc == -ENOENT) {
		rc = -ESTALE;
	}
	node_id_release(&n);
	return rc;
}

/* ---- read and write ---- */

ssize_t change_read(struct change_file *f, char *buf, size_t size, off_t off)
{
	ssize_t n;

	do
		n = pread(f->fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t change_write(struct change *w, struct change_file *f, const char *buf,
		     size_t size, off_t off)
{
	ssize_t n;
	int rc = change_state_write(&f->st, off, size);

	if (rc == -EOPNOTSUPP)
		log_error(
			"cannot write into document '%s': documents are replaced whole "
			"(truncate first, or open with O_TRUNC), not modified in place",
			f->name);
	if (rc < 0)
		return rc;
	do
		n = pwrite(f->fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	change_state_wrote(&f->st);
	f->wrote = 1;
	/* the spool's size without an fstat per write */
	if (off + n > f->size) {
		f->size = off + n;
		tree_write_size(w->tree, f->ino, f->size);
	}
	change_stream_write(w, f, buf, (size_t)n, off);
	return n;
}

/* ---- commits ---- */

/* Commit a JSON spool: read it, then update or create. */
static int change_commit_json(struct change *w, struct change_file *f,
			      char **new_id)
{
	char *in = NULL;
	size_t len = 0;
	int rc;

	rc = anonfile_read_all(f->fd, CHANGE_JSON_MAX, &in, &len);
	if (rc < 0)
		return rc;
	switch (f->st.target) {
	case CHANGE_COLL_JSON:
		rc = change_commit_coll_json(w, f->cid, f->name, in, len);
		break;
	case CHANGE_LIMITS:
		rc = change_commit_limits(w, in, len);
		break;
	case CHANGE_NEW_COLL:
		rc = change_commit_new_collection(w, f->name, in, len);
		break;
	default: /* CHANGE_KEY, CHANGE_NEW_KEY */
		rc = change_commit_key_named(w, f, in, len, new_id);
		break;
	}
	explicit_bzero(in, len);
	free(in);
	return rc;
}

/* A document was replaced: it has a new id, and its name must be looked up
 * again. */
static void change_new_version(struct change *w, struct change_file *f,
			       char *id)
{
	free(f->id);
	f->id = id;
	change_inval_entry(w, f->parent, f->name);
	change_inval_entry(w, tree_dir_ino(w->tree, NODE_META_DIR, f->cid),
			   f->name);
}

/* The new resource f was written to exists now as id: its name resolves there. */
static void change_became(struct change *w, struct change_file *f, char *id)
{
	enum node_kind kind = change_state_kind(f->st.target);

	scratch_redirect(w->local, f->ino, kind, id);
	if (kind == NODE_DOC)
		change_fields_hold(
			w, f->ino); /* now a rewrite, dropped at release */
	free(f->id);
	f->id = id;
	change_inval_entry(w, f->parent, f->name);
	change_inval_inode(w, f->ino);
}

/* collections/NAME.json did its work: the file goes, the collection's directory
 * shows. */
static void change_request_done(struct change *w, struct change_file *f)
{
	size_t n = strlen(f->name) - strlen(".json");

	scratch_remove_ino(w->local, f->ino);
	change_inval_entry(w, f->parent, f->name);
	f->name[n] = '\0';
	change_inval_entry(w, f->parent, f->name);
	f->name[n] = '.';
}

/* Carry out what follows a commit (enum change_after); takes new_id. */
static void change_after(struct change *w, struct change_file *f,
			 unsigned after, char *new_id)
{
	if (after & CHANGE_AFTER_LIMITS)
		account_limits_changed(w->cache);
	if (after & CHANGE_AFTER_REFETCH)
		change_changed(w, change_state_list(f->st.target), f->cid);
	if (after & CHANGE_AFTER_VERSION)
		change_new_version(w, f, new_id);
	else if (after & CHANGE_AFTER_BECAME)
		change_became(w, f, new_id);
	else
		free(new_id);
	if (after & CHANGE_AFTER_REQUEST)
		change_request_done(w, f);
	if (after & CHANGE_AFTER_INODE)
		change_inval_inode(w, f->ino);
}

/*
 * A new resource never created (nothing written, or a failed commit)
 * vanishes, unless another handle is still writing it: at the failed
 * commit already, so that the name is gone when close() returns (the
 * RELEASE that follows comes later, and a new create of the name must not
 * find the old pending file), and at the release.
 */
static void change_vanish(struct change *w, struct change_file *f)
{
	struct scratch_info li = { 0 };

	if (change_state_is_new(&f->st) && !change_name_shared(w, f->nm) &&
	    w->local && scratch_get_ino(w->local, f->ino, &li) == 0 &&
	    li.pending && !li.redirect_id) {
		scratch_remove_ino(w->local, f->ino);
		change_inval_entry(w, f->parent, f->name);
	}
	scratch_info_release(&li);
}

/*
 * Commit f, then carry out what follows, all under its name's lock (when it
 * has one): an unlink or another commit of the name comes wholly before or
 * wholly after, never between the upload and the listing learning of it.
 */
static int change_commit_locked(struct change *w, struct change_file *f,
				enum change_step step)
{
	char *new_id = NULL;
	unsigned after;
	int rc;

	if (f->nm)
		pthread_mutex_lock(&f->nm->lock);
	rc = step == CHANGE_STEP_DOC ? change_commit_named(w, f, &new_id)
				     : change_commit_json(w, f, &new_id);
	if (rc == 1) {
		rc = 0; /* nothing of this handle goes to the name */
	} else {
		after = change_state_committed(&f->st, &rc, new_id != NULL,
					       anonfile_size(f->fd));
		change_after(w, f, after, new_id);
		if (rc < 0)
			change_vanish(w, f);
	}
	if (f->nm)
		pthread_mutex_unlock(&f->nm->lock);
	return rc;
}

int change_flush(struct change *w, struct change_file *f)
{
	enum change_step step = change_state_flush(&f->st,
						   anonfile_size(f->fd));

	switch (step) {
	case CHANGE_STEP_NONE:
		return f->st.err;
	case CHANGE_STEP_WAIT:
		tree_write_releasing(w->tree, f->ino);
		return 0;
	case CHANGE_STEP_REFRESH:
		change_refresh(w);
		log_info("refresh: caches dropped");
		return 0;
	default:
		return change_commit_locked(w, f, step);
	}
}

/* ---- attributes ---- */

/* A truncation through a handle: a new version starts (documents), the stream
 * follows. */
static int change_truncate_handle(struct change_file *f, off_t size)
{
	int rc = change_state_truncate(&f->st, size);

	if (rc < 0)
		return rc;
	f->wrote = 1;
	change_stream_cut(f, size);
	if (ftruncate(f->fd, size) < 0)
		return -errno;
	f->size = size;
	return 0;
}

static int change_truncate_scratch(struct change *w, uint64_t ino, off_t size)
{
	int fd = scratch_open_fd(w->local, ino), rc = 0;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * truncate(2) by name of a file of the server: what open(2) for writing,
 * ftruncate(2) and close(2) would do (a document only to 0: O_TRUNC; a file
 * nobody writes: -EACCES, as open(O_TRUNC) answers).
 */
static int change_truncate_name(struct change *w, uint64_t ino, off_t size)
{
	struct change_file *f = NULL;
	int rc = change_open(w, ino, O_WRONLY | (size == 0 ? O_TRUNC : 0), &f);

	if (rc == 0 && size != 0)
		rc = change_truncate_handle(f, size);
	else if (rc == 0)
		f->wrote = 1;
	if (rc == 0)
		rc = change_flush(w, f);
	if (f)
		change_release(w, f);
	return rc;
}

int change_setattr(struct change *w, uint64_t ino, struct change_file *f,
		   const struct stat *attr, int set_size, int set_mtime,
		   struct tree_entry *out)
{
	struct node_id n = { 0 };
	int rc;

	rc = tree_node(w->tree, ino, &n);
	if (rc < 0)
		return rc;
	if (set_size && w->read_only) {
		rc = -EROFS;
	} else if (set_size && f) {
		rc = change_truncate_handle(f, attr->st_size);
		if (rc == 0)
			tree_write_size(w->tree, f->ino, attr->st_size);
	} else if (set_size && node_is_scratch(n.kind) && w->local) {
		rc = change_truncate_scratch(w, ino, attr->st_size);
	}
	if (rc == 0 && set_mtime && node_is_scratch(n.kind) && w->local)
		scratch_set_mtime(w->local, ino, &attr->st_mtim);
	if (rc == 0)
		rc = tree_getattr(w->tree, ino, out);
	/* truncate(2) of a server file: as an open, a truncation and a close */
	if (rc == 0 && set_size && !f && !node_is_scratch(n.kind) &&
	    out->st.st_size != attr->st_size) {
		rc = change_truncate_name(w, ino, attr->st_size);
		if (rc == 0)
			rc = tree_getattr(w->tree, ino, out);
	}
	if (rc == 0 && f) {
		off_t s = anonfile_size(f->fd);

		if (s >= 0)
			out->st.st_size = s;
		out->attr_ttl = 0;
	}
	node_id_release(&n);
	return rc;
}

void change_abandon(struct change *w, struct change_file *f)
{
	if (f) {
		tree_write_close(w->tree, f->ino);
		change_stream_drop(f);
		change_name_put(w, f->nm);
	}
	change_file_free(f);
}

void change_release(struct change *w, struct change_file *f)
{
	if (!f)
		return;
	/* A document closed with nothing left to send (its writes were sent
	 * at flush, or it was only created or truncated): send it now; the
	 * commit logged its failure, and nobody waits for this one's result. */
	if (change_state_close(&f->st))
		change_flush(w, f);
	change_vanish(w, f);
	if (f->st.target == CHANGE_DOC)
		change_fields_drop(w, f->ino);
	tree_write_close(w->tree, f->ino);
	change_stream_drop(f);
	change_name_put(w, f->nm);
	change_file_free(f);
}
