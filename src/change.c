/* change.c - changes made through the mount; see change.h and docs/semantics.md. */
#include "change.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "api.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "anonfile.h"
#include "change_int.h"


struct change *change_new(struct tree *tree, struct cache *c, struct scratch *l, int read_only,
		  const char *tmpdir)
{
	struct change *w = calloc(1, sizeof(*w));

	if (!w || !(w->tmpdir = strdup(tmpdir)) || !(w->fields = change_fields_new())) {
		if (w)
			free(w->tmpdir);
		free(w);
		return NULL;
	}
	w->tree = tree;
	w->cache = c;
	w->api = cache_api(c);
	w->local = l;
	w->read_only = read_only;
	return w;
}

void change_free(struct change *w)
{
	if (!w)
		return;
	change_fields_free(w->fields);
	free(w->tmpdir);
	free(w);
}

void change_set_notify(struct change *w, const struct change_notify *n)
{
	w->notify = *n;
}

int change_wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND));
}

void change_inval_entry(struct change *w, uint64_t parent, const char *name)
{
	if (w->notify.inval_entry)
		w->notify.inval_entry(w->notify.ctx, parent, name);
}

void change_inval_inode(struct change *w, uint64_t ino)
{
	if (w->notify.inval_inode)
		w->notify.inval_inode(w->notify.ctx, ino);
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

/* ---- finding things ---- */

int change_parent(struct change *w, uint64_t parent, struct node_id *p)
{
	if (w->read_only)
		return -EROFS;
	return tree_node(w->tree, parent, p);
}

int change_dir_writable(enum node_kind k)
{
	return k == NODE_KEYS_DIR || k == NODE_DOCS_DIR;
}

/* The listing a writable directory shows (keys, or a collection's documents). */
int change_listing(struct change *w, enum node_kind dir, const char *cid, struct cval **out)
{
	if (dir == NODE_KEYS_DIR)
		return cache_keys(w->cache, out);
	if (dir == NODE_DOCS_DIR || dir == NODE_META_DIR)
		return cache_documents(w->cache, cid, out);
	if (dir == NODE_COLLS_DIR)
		return cache_collections(w->cache, out);
	return -EACCES;
}

/*
 * Find the server resource named name in (dir, cid). On success *v holds
 * the listing (unref it) and *r points into it. -ENOENT when absent.
 */
int change_find(struct change *w, enum node_kind dir, const char *cid, const char *name,
		   struct cval **v, const struct res **r)
{
	int rc = change_listing(w, dir, cid, v);

	return rc < 0 ? rc : cval_find(v, name, 0, r);
}

/* Same, by id. */
int change_find_id(struct change *w, enum node_kind dir, const char *cid, const char *id,
		      struct cval **v, const struct res **r)
{
	int rc = change_listing(w, dir, cid, v);

	return rc < 0 ? rc : cval_find(v, id, 1, r);
}

void change_changed(struct change *w, enum node_kind dir, const char *cid)
{
	cache_invalidate(w->cache, "audit");	/* the change is an audit event */
	if (dir == NODE_KEYS_DIR) {
		cache_invalidate(w->cache, "keys");
	} else {
		cache_invalidate_documents(w->cache, cid);
		cache_invalidate(w->cache, "collections");	/* documents_count */
	}
}

/*
 * The server accepted a change in (dir, cid) and answered with the resource
 * as it is now (*out, strings taken): the listing learns it in place, so the
 * next read costs no request. Documents also change their collection's
 * documents_count, in the collections listing.
 */
void change_learned(struct change *w, enum node_kind dir, const char *cid, struct res *out)
{
	cache_invalidate(w->cache, "audit");	/* the change is an audit event */
	if (dir == NODE_KEYS_DIR) {
		cache_put(w->cache, CACHE_KEYS, NULL, out);
	} else if (dir == NODE_COLLS_DIR) {
		cache_put(w->cache, CACHE_COLLECTIONS, NULL, out);
	} else {
		cache_put(w->cache, CACHE_DOCUMENTS, cid, out);
		cache_count_documents(w->cache, cid, 1);	/* uploads always make a new id */
	}
}

/* The server removed resource id of (dir, cid): the listing forgets it in place. */
void change_gone(struct change *w, enum node_kind dir, const char *cid, const char *id)
{
	cache_invalidate(w->cache, "audit");
	if (dir == NODE_KEYS_DIR) {
		cache_remove(w->cache, CACHE_KEYS, NULL, id);
	} else if (dir == NODE_COLLS_DIR) {
		cache_remove(w->cache, CACHE_COLLECTIONS, NULL, id);
		cache_invalidate_documents(w->cache, id);
	} else {
		cache_remove(w->cache, CACHE_DOCUMENTS, cid, id);
		cache_count_documents(w->cache, cid, -1);
	}
}

void change_changed_collections(struct change *w)
{
	cache_invalidate(w->cache, "collections");
	cache_invalidate(w->cache, "audit");
}

const char *change_content_type(const char *name)
{
	static const char *const map[][2] = {
		{ ".pdf", "application/pdf" }, { ".txt", "text/plain" },
		{ ".md", "text/markdown" }, { ".json", "application/json" },
		{ ".csv", "text/csv" }, { ".html", "text/html" }, { ".htm", "text/html" },
		{ ".xml", "application/xml" }, { ".jsonl", "application/jsonl" },
		{ ".docx", "application/vnd.openxmlformats-officedocument."
			   "wordprocessingml.document" },
		{ ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ ".pptx", "application/vnd.openxmlformats-officedocument."
			   "presentationml.presentation" },
		{ ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(dot, map[i][0]) == 0)
			return map[i][1];
	return "application/octet-stream";
}

/* ---- handles ---- */

struct change_file *change_file_new(enum change_target t, uint64_t ino, uint64_t parent,
				   enum node_kind dir, const char *cid, const char *id,
				   const char *name, int fd)
{
	struct change_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->target = t;
	f->ino = ino;
	f->parent = parent;
	f->dir = dir;
	f->fd = fd;
	f->cid = strdup(cid ? cid : "");
	f->id = strdup(id ? id : "");
	f->name = strdup(name ? name : "");
	if (!f->cid || !f->id || !f->name) {
		free(f->cid);
		free(f->id);
		free(f->name);
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->up_lock, NULL);
	return f;
}

static void change_file_free(struct change_file *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->up_lock);
	if (f->fd >= 0)
		close(f->fd);
	free(f->cid);
	free(f->id);
	free(f->name);
	free(f);
}

int change_spool_write(int fd, const char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, data + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* A spool holding the current bytes of a JSON resource (unless truncating). */
int change_json_spool(struct change *w, const char *json, size_t len, int trunc)
{
	int fd = anonfile_open(w->tmpdir), rc;

	if (fd < 0 || trunc)
		return fd;
	rc = change_spool_write(fd, json, len);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int change_create(struct change *w, uint64_t parent, const char *name, int flags, struct tree_entry *e,
	      struct change_file **out)
{
	struct node_id p = { 0 };
	struct scratch_info li = { 0 };
	enum change_target t;
	int rc, fd = -1, temp, spec;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	spec = p.kind == NODE_COLLS_DIR && change_is_collection_spec(name);
	if ((!change_dir_writable(p.kind) && !spec) || !w->local) {
		rc = p.kind == NODE_META_DIR || p.kind == NODE_COLL_DIR || p.kind == NODE_ROOT ||
		     p.kind == NODE_MODELS_DIR || p.kind == NODE_COLLS_DIR ||
		     p.kind == NODE_CTL_DIR || p.kind == NODE_USAGE_DIR ||
		     p.kind == NODE_SEARCH_DIR || p.kind == NODE_INVOICES_DIR ? -EACCES : -ENOTDIR;
		goto out;
	}
	if (strlen(name) > NAMES_MAX - (p.kind == NODE_DOCS_DIR ? 5 : 0)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	temp = scratch_is_temp_name(name);
	t = temp ? CHANGE_SCRATCH : spec ? CHANGE_NEW_COLL : p.kind == NODE_KEYS_DIR ? CHANGE_NEW_KEY : CHANGE_NEW_DOC;
	rc = scratch_create(w->local, p.kind, p.cid, name, !temp, &li);
	if (rc < 0)
		goto out;
	fd = scratch_open_fd(w->local, li.ino);
	*out = fd < 0 ? NULL : change_file_new(t, li.ino, parent, p.kind, p.cid, NULL, name, fd);
	if (!*out) {
		rc = fd < 0 ? fd : -ENOMEM;
		if (fd >= 0)
			close(fd);
		scratch_remove_ino(w->local, li.ino);
		tree_forget(w->tree, li.ino, 1);
		goto out;
	}
	/* A new document is uploaded at close even when nothing was written. */
	(*out)->dirty = t == CHANGE_NEW_DOC;
	rc = tree_getattr(w->tree, li.ino, e);
	e->ino = li.ino;
	e->attr_ttl = 0;
	if (rc < 0) {
		change_release(w, *out);
		*out = NULL;
		tree_forget(w->tree, li.ino, 1);
	}
out:
	scratch_info_release(&li);
	node_id_release(&p);
	(void)flags;
	return rc;
}

/* Open an existing key or collection.json for writing. */
static int change_open_json(struct change *w, const struct node_id *n, uint64_t ino, int flags,
			struct change_file **out)
{
	enum node_kind dir = n->kind == NODE_KEY ? NODE_KEYS_DIR : NODE_COLLS_DIR;
	const char *id = n->kind == NODE_KEY ? n->id : n->cid;
	const struct res *r;
	struct cval *v = NULL;
	int rc, fd;

	rc = change_find_id(w, dir, "", id, &v, &r);
	if (rc < 0)
		return rc;
	fd = change_json_spool(w, r->json, r->json_len, flags & O_TRUNC);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	*out = change_file_new(n->kind == NODE_KEY ? CHANGE_KEY : CHANGE_COLL_JSON, ino, 0,
			   n->kind == NODE_KEY ? NODE_KEYS_DIR : NODE_COLL_DIR, n->cid, id,
			   r->name, fd);
	if (!*out) {
		close(fd);
		rc = -ENOMEM;
		goto out;
	}
	(*out)->dirty = (flags & O_TRUNC) != 0;
out:
	cval_unref(v);
	return rc;
}

static int change_open_doc(struct change *w, const struct node_id *n, uint64_t ino, int flags,
		       struct change_file **out);

static int change_open_scratch(struct change *w, uint64_t ino, int flags, struct change_file **out)
{
	struct scratch_info li = { 0 };
	int rc, fd;

	rc = scratch_get_ino(w->local, ino, &li);
	if (rc < 0)
		return rc;
	if (li.redirect_id) {
		/* It became a server resource: write to that. */
		struct node_id r = { li.redirect, li.cid, li.redirect_id };

		rc = r.kind == NODE_KEY ? change_open_json(w, &r, ino, flags, out)
					: change_open_doc(w, &r, ino, flags, out);
		goto out;
	}
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
	*out = change_file_new(li.pending ? (li.dir == NODE_KEYS_DIR ? CHANGE_NEW_KEY : CHANGE_NEW_DOC)
				      : CHANGE_SCRATCH,
			   ino, tree_dir_ino(w->tree, li.dir, li.cid), li.dir, li.cid, NULL, li.name, fd);
	if (!*out) {
		close(fd);
		rc = -ENOMEM;
	}
out:
	scratch_info_release(&li);
	return rc;
}

static int change_open_doc(struct change *w, const struct node_id *n, uint64_t ino, int flags,
		       struct change_file **out)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc, fd;

	/*
	 * Bytes cannot be changed in place: only a whole new version replaces
	 * a document. An open without O_TRUNC is allowed (vim and GIO open
	 * first and truncate or rename after); writing before truncating to
	 * 0 is refused.
	 */
	if ((flags & O_APPEND) || (!(flags & O_TRUNC) && (flags & O_ACCMODE) == O_RDWR)) {
		log_error("cannot write into document '%s': documents are replaced whole "
			  "(open with O_TRUNC, e.g. cp or >), not modified in place", n->id);
		return -EOPNOTSUPP;
	}
	rc = change_find_id(w, NODE_DOCS_DIR, n->cid, n->id, &v, &r);
	if (rc < 0)
		return rc;
	fd = anonfile_open(w->tmpdir);
	*out = fd < 0 ? NULL : change_file_new(CHANGE_DOC, ino, tree_dir_ino(w->tree, NODE_DOCS_DIR, n->cid),
					   NODE_DOCS_DIR, n->cid, n->id, r->name, fd);
	if (!*out) {
		rc = fd < 0 ? fd : -ENOMEM;
		if (fd >= 0)
			close(fd);
	} else {
		(*out)->dirty = (flags & O_TRUNC) != 0;
		(*out)->whole_only = !(flags & O_TRUNC);
		change_fields_hold(w, ino);	/* user.xai.fields set now wait for the upload */
	}
	cval_unref(v);
	return rc;
}

int change_open(struct change *w, uint64_t ino, int flags, struct change_file **out)
{
	struct node_id n = { 0 };
	int rc;

	*out = NULL;
	rc = tree_node(w->tree, ino, &n);
	if (rc < 0)
		return rc;
	/* A read-only mount still takes .xaifs/refresh: it sends nothing. */
	if (w->read_only && n.kind != NODE_CTL_REFRESH) {
		node_id_release(&n);
		return -EROFS;
	}
	switch (n.kind) {
	case NODE_LOCAL:
		rc = w->local ? change_open_scratch(w, ino, flags, out) : -ENOENT;
		break;
	case NODE_KEY:
	case NODE_COLL_JSON:
		rc = change_open_json(w, &n, ino, flags, out);
		break;
	case NODE_DOC:
		rc = change_open_doc(w, &n, ino, flags, out);
		break;
	case NODE_LIMITS:
		rc = change_open_limits(w, ino, flags, out);
		break;
	case NODE_CTL_REFRESH:
		rc = anonfile_open(w->tmpdir);
		*out = rc < 0 ? NULL : change_file_new(CHANGE_REFRESH, ino, 0, NODE_CTL_DIR, "", "",
						   "refresh", rc);
		rc = rc < 0 ? rc : *out ? 0 : -ENOMEM;
		break;
	case NODE_CTL_DIR:
	case NODE_ROOT:
	case NODE_KEYS_DIR:
	case NODE_MODELS_DIR:
	case NODE_COLLS_DIR:
	case NODE_COLL_DIR:
	case NODE_DOCS_DIR:
	case NODE_META_DIR:
		rc = -EISDIR;
		break;
	default:
		rc = -EACCES;	/* models, regions, usage, billing, metadata */
		break;
	}
	node_id_release(&n);
	return rc;
}

ssize_t change_read(struct change_file *f, char *buf, size_t size, off_t off)
{
	ssize_t n;

	do
		n = pread(f->fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t change_write(struct change *w, struct change_file *f, const char *buf, size_t size, off_t off)
{
	ssize_t n;

	if ((f->target == CHANGE_KEY || f->target == CHANGE_NEW_KEY || f->target == CHANGE_COLL_JSON) &&
	    (off < 0 || (uint64_t)off + size > CHANGE_JSON_MAX)) {
		/* What was written is incomplete: it must never be sent. */
		f->err = -EFBIG;
		f->dirty = 0;
		return -EFBIG;
	}
	if (f->err == -EFBIG)
		return -EFBIG;
	if (f->whole_only) {
		log_error("cannot write into document '%s': documents are replaced whole "
			  "(truncate first, or open with O_TRUNC), not modified in place", f->name);
		return -EOPNOTSUPP;
	}
	do
		n = pwrite(f->fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	f->dirty = 1;
	change_stream_write(w, f, buf, (size_t)n, off);
	return n;
}

/* ---- commits ---- */

int change_log_invalid(const char *what, const char *name, const struct model_change *c)
{
	if (*c->field)
		log_error("cannot %s '%s': field '%s' is read-only, unknown or of the wrong type",
			  what, name, c->field);
	else
		log_error("cannot %s '%s': the file is not a JSON object", what, name);
	return -EINVAL;
}

/* Keep a new one-time secret for the life of the mount, then wipe our copy. */
void change_keep_secret(struct change *w, const char *id, char *secret)
{
	if (!secret)
		return;
	if (tree_set_secret(w->tree, id, secret) < 0)
		log_error("cannot keep the secret of key '%s' in memory", id);
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* What writing in to key id asks of the API, against the cached key. */
static int change_key_change(struct change *w, const char *id, const char *in, size_t len,
			 struct model_change *ch)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find_id(w, NODE_KEYS_DIR, "", id, &v, &r);

	if (rc < 0)
		return rc;
	rc = model_key_update(r->json, r->json_len, in, len, ch);
	cval_unref(v);
	return rc;
}

/* Update a key from JSON; rotate when asked. in is the written JSON. */
int change_commit_key_update(struct change *w, const char *id, const char *label,
				const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	char *secret = NULL;
	int rc;

	rc = change_key_change(w, id, in, len, &ch);
	/*
	 * Nothing differs from the cached key: the cache may be behind a change
	 * made elsewhere, and the user's values would then be dropped. Compare
	 * with the server's key once more before deciding nothing is to be sent.
	 */
	if (rc == 0 && !ch.body && !ch.rotate) {
		model_change_release(&ch);
		memset(&ch, 0, sizeof(ch));
		cache_invalidate(w->cache, "keys");
		rc = change_key_change(w, id, in, len, &ch);
	}
	if (rc == -EINVAL)
		rc = change_log_invalid("update key", label, &ch);
	if (rc == 0 && ch.body) {
		rc = api_update_key(w->api, id, ch.body, &out);
		if (rc == 0)
			change_learned(w, NODE_KEYS_DIR, "", &out);
		res_release(&out);
	}
	if (rc == 0 && ch.rotate) {
		rc = api_rotate_key(w->api, id, ch.rotate_body, &out, &secret);
		if (rc == 0) {
			change_keep_secret(w, id, secret);
			change_learned(w, NODE_KEYS_DIR, "", &out);
		}
		res_release(&out);
	}
	/* After a failure the server may still have acted: fetch again. */
	if (rc < 0 && (ch.body || ch.rotate))
		change_changed(w, NODE_KEYS_DIR, "");
	model_change_release(&ch);
	return rc;
}

/* Create key name from JSON. *id gets its id; -ENODATA when the input was empty. */
int change_commit_key_create(struct change *w, const char *name, const char *in, size_t len,
				char **id)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	char *secret = NULL;
	int rc;

	rc = model_key_create(name, in, len, &ch);
	if (rc == -EINVAL)
		rc = change_log_invalid("create key", name, &ch);
	if (rc == 0)
		rc = api_create_key(w->api, ch.body, &out, &secret);
	if (rc == 0) {
		*id = strdup(out.id);
		change_keep_secret(w, out.id, secret);
		rc = *id ? 0 : -ENOMEM;
		change_learned(w, NODE_KEYS_DIR, "", &out);
	}
	res_release(&out);
	model_change_release(&ch);
	return rc;
}

/* The upload of document name replaced old_id: remove that one. 0 or -errno. */
static int change_doc_replaced(struct change *w, const char *cid, const char *name,
			   const char *old_id, const char *new_id)
{
	int rc;

	if (!old_id || !*old_id || strcmp(old_id, new_id) == 0)
		return 0;
	rc = api_delete_document(w->api, cid, old_id);
	if (rc < 0)
		log_error("document '%s' was uploaded but its old version %s could not "
			  "be removed", name, old_id);
	else
		change_gone(w, NODE_DOCS_DIR, cid, old_id);
	return rc;
}

/*
 * Upload fd as document name, with the fields that apply to ino
 * (change_fields.h); when old_id is given (a document being replaced),
 * remove that one once the new one is in. *id gets the new id.
 */
int change_commit_doc(struct change *w, const char *cid, const char *name, int fd,
		  struct upload_stream *up, uint64_t ino, const char *old_id, char **id)
{
	struct res out = { 0 };
	off_t size = anonfile_size(fd);
	char *fields = NULL;
	int rc = size < 0 ? (int)size : change_fields_prepare(w, ino, cid, name, old_id, &fields);

	/* Not sent: a stream is cut before its end, so the server stores nothing. */
	if (rc < 0) {
		upload_stream_free(up);
		return rc;
	}
	/* Streamed: only the tail, the fields and the answer are left (change_stream.c). */
	if (up) {
		rc = upload_stream_finish(up, fields, &out);
		upload_stream_free(up);
	}
	/*
	 * A 429 refuses before anything is carried out: send the spool (every
	 * byte is there), which waits such refusals out.
	 */
	if (up && rc == -EAGAIN) {
		res_release(&out);
		log_info("upload of '%s' was refused (429) while streaming: sending it whole",
			 name);
		up = NULL;
	}
	if (!up) {
		rc = api_upload_document(w->api, cid, name, fd, (uint64_t)size,
					 change_content_type(name), fields, old_id, &out);
	}
	free(fields);
	/* Stored, but its id is unknown: it shows at the next listing; the old stays. */
	if (rc == 0 && !out.id) {
		if (old_id && *old_id)
			log_warn("document '%s' was uploaded, but without its new id its old "
				 "version %s is kept", name, old_id);
		change_changed(w, NODE_DOCS_DIR, cid);
		res_release(&out);
		return 0;
	}
	if (rc == 0) {
		*id = strdup(out.id);
		rc = *id ? change_doc_replaced(w, cid, name, old_id, out.id) : -ENOMEM;
	}
	if (rc == 0)
		change_learned(w, NODE_DOCS_DIR, cid, &out);
	else
		change_changed(w, NODE_DOCS_DIR, cid);
	res_release(&out);
	return rc;
}

/* What writing in to collection cid's collection.json asks, against the cache. */
static int change_coll_change(struct change *w, const char *cid, const char *in, size_t len,
			  struct model_change *ch)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find_id(w, NODE_COLLS_DIR, "", cid, &v, &r);

	if (rc < 0)
		return rc;
	rc = model_collection_update(r->json, r->json_len, in, len, ch);
	cval_unref(v);
	return rc;
}

static int change_commit_coll_json(struct change *w, const char *cid, const char *label,
			       const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	int rc;

	rc = change_coll_change(w, cid, in, len, &ch);
	if (rc == 0 && !ch.body) {
		/* As for keys: check with the server before dropping the write. */
		model_change_release(&ch);
		memset(&ch, 0, sizeof(ch));
		cache_invalidate(w->cache, "collections");
		rc = change_coll_change(w, cid, in, len, &ch);
	}
	if (rc == -EINVAL)
		rc = change_log_invalid("update collection", label, &ch);
	if (rc == 0 && ch.body) {
		rc = api_update_collection(w->api, cid, ch.body, &out);
		if (rc == 0)
			change_learned(w, NODE_COLLS_DIR, "", &out);
		else
			change_changed_collections(w);
	}
	res_release(&out);
	model_change_release(&ch);
	return rc;
}

/* Commit a JSON spool: read it, then update or create. */
static int change_commit_json(struct change *w, struct change_file *f, char **new_id)
{
	char *in = NULL;
	size_t len = 0;
	int rc;

	rc = anonfile_read_all(f->fd, CHANGE_JSON_MAX, &in, &len);
	if (rc < 0)
		return rc;
	if (f->target == CHANGE_KEY)
		rc = change_commit_key_update(w, f->id, f->name, in, len);
	else if (f->target == CHANGE_COLL_JSON)
		rc = change_commit_coll_json(w, f->cid, f->name, in, len);
	else if (f->target == CHANGE_LIMITS)
		rc = change_commit_limits(w, in, len);
	else if (f->target == CHANGE_NEW_COLL)
		rc = change_commit_new_collection(w, f->name, in, len);
	else
		rc = change_commit_key_create(w, f->name, in, len, new_id);
	explicit_bzero(in, len);
	free(in);
	return rc;
}

/* The new resource f was written to exists now as id: its name resolves there. */
static void change_became(struct change *w, struct change_file *f, char *id)
{
	scratch_redirect(w->local, f->ino, f->target == CHANGE_NEW_KEY ? NODE_KEY : NODE_DOC, id);
	if (f->target == CHANGE_NEW_DOC)
		change_fields_hold(w, f->ino);	/* now a rewrite, dropped at release */
	f->target = f->target == CHANGE_NEW_KEY ? CHANGE_KEY : CHANGE_DOC;
	free(f->id);
	f->id = id;
	change_inval_entry(w, f->parent, f->name);
	change_inval_inode(w, f->ino);
}

int change_flush(struct change *w, struct change_file *f)
{
	char *new_id = NULL;
	int rc;

	if (f->target == CHANGE_SCRATCH || !f->dirty)
		return f->err;
	if (f->target == CHANGE_REFRESH) {
		f->dirty = 0;
		change_refresh(w);
		log_info("refresh: caches dropped");
		return 0;
	}
	/*
	 * Shells open a redirection's target, dup2() it and close the
	 * original before the command writes: that first close must not
	 * commit an empty file. Empty content waits for the last close.
	 */
	if (anonfile_size(f->fd) == 0 && !f->closing)
		return 0;
	f->dirty = 0;
	if (f->target == CHANGE_DOC || f->target == CHANGE_NEW_DOC)
		rc = change_commit_doc(w, f->cid, f->name, f->fd, change_stream_take(f), f->ino,
				   f->target == CHANGE_DOC ? f->id : NULL, &new_id);
	else
		rc = change_commit_json(w, f, &new_id);
	if (rc == -ENODATA)
		rc = 0;	/* an empty new key file: nothing to create */
	/*
	 * After a failure the server may still have acted (a timeout once the
	 * request was sent): drop the listing so ls shows what it holds.
	 */
	if (rc < 0 && (f->target == CHANGE_COLL_JSON || f->target == CHANGE_NEW_COLL))
		change_changed_collections(w);
	else if (rc < 0 && f->target == CHANGE_LIMITS)
		account_limits_changed(w->cache);
	else if (rc < 0)
		change_changed(w, f->dir == NODE_KEYS_DIR ? NODE_KEYS_DIR : NODE_DOCS_DIR, f->cid);
	if (rc == 0 && new_id && f->target == CHANGE_DOC) {
		/* A replaced document has a new id: its name must be looked up again. */
		free(f->id);
		f->id = new_id;
		new_id = NULL;
		change_inval_entry(w, f->parent, f->name);
		change_inval_entry(w, tree_dir_ino(w->tree, NODE_META_DIR, f->cid), f->name);
	}
	if (rc == 0 && new_id)
		change_became(w, f, new_id);
	else
		free(new_id);
	if (rc == 0 && f->target == CHANGE_NEW_COLL && anonfile_size(f->fd) > 0) {
		/* The file was a request: it goes, the collection's directory shows. */
		size_t n = strlen(f->name) - strlen(".json");

		scratch_remove_ino(w->local, f->ino);
		change_inval_entry(w, f->parent, f->name);
		f->name[n] = '\0';
		change_inval_entry(w, f->parent, f->name);
		f->name[n] = '.';
		f->target = CHANGE_SCRATCH;
	}
	if (rc == 0 && (f->target == CHANGE_KEY || f->target == CHANGE_COLL_JSON || f->target == CHANGE_DOC ||
			f->target == CHANGE_LIMITS))
		change_inval_inode(w, f->ino);
	f->err = rc;
	return rc;
}

void change_abandon(struct change *w, struct change_file *f)
{
	(void)w;
	if (f)
		change_stream_drop(f);
	if (f)
		change_file_free(f);
}

void change_release(struct change *w, struct change_file *f)
{
	struct scratch_info li = { 0 };

	if (!f)
		return;
	/* An empty document written and closed: upload it now (errors can only be logged). */
	if (f->dirty && (f->target == CHANGE_DOC || f->target == CHANGE_NEW_DOC)) {
		f->closing = 1;
		if (change_flush(w, f) < 0)
			log_error("empty document '%s' was not uploaded", f->name);
	}
	/* A new resource never created (nothing written, or a failed upload) vanishes. */
	if ((f->target == CHANGE_NEW_KEY || f->target == CHANGE_NEW_DOC || f->target == CHANGE_NEW_COLL) &&
	    scratch_get_ino(w->local, f->ino, &li) == 0 && li.pending && !li.redirect_id) {
		scratch_remove_ino(w->local, f->ino);
		change_inval_entry(w, f->parent, f->name);
	}
	scratch_info_release(&li);
	if (f->target == CHANGE_DOC)
		change_fields_drop(w, f->ino);
	change_stream_drop(f);
	change_file_free(f);
}
