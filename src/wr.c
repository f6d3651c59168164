/* wr.c - changes made through the mount; see wr.h and docs/semantics.md. */
#include "wr.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acct.h"
#include "api.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "spool.h"
#include "wr_int.h"


struct wr *wr_new(struct ns *ns, struct cache *c, struct local *l, int read_only,
		  const char *tmpdir)
{
	struct wr *w = calloc(1, sizeof(*w));

	if (!w || !(w->tmpdir = strdup(tmpdir))) {
		free(w);
		return NULL;
	}
	w->ns = ns;
	w->cache = c;
	w->api = cache_api(c);
	w->local = l;
	w->read_only = read_only;
	return w;
}

void wr_free(struct wr *w)
{
	if (!w)
		return;
	free(w->tmpdir);
	free(w);
}

void wr_set_notify(struct wr *w, const struct wr_notify *n)
{
	w->notify = *n;
}

int wr_wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_TRUNC | O_APPEND));
}

void wr_inval_entry(struct wr *w, uint64_t parent, const char *name)
{
	if (w->notify.inval_entry)
		w->notify.inval_entry(w->notify.ctx, parent, name);
}

void wr_inval_inode(struct wr *w, uint64_t ino)
{
	if (w->notify.inval_inode)
		w->notify.inval_inode(w->notify.ctx, ino);
}

static void wr_refresh_inode(void *ctx, uint64_t ino, enum node_kind kind)
{
	(void)kind;
	wr_inval_inode(ctx, ino);
}

void wr_refresh(struct wr *w)
{
	cache_drop_all(w->cache);
	ns_each_inode(w->ns, wr_refresh_inode, w);
	if (w->notify.refreshed)
		w->notify.refreshed(w->notify.ctx);
}

/* ---- finding things ---- */

int wr_parent(struct wr *w, uint64_t parent, struct node_id *p)
{
	if (w->read_only)
		return -EROFS;
	return ns_node(w->ns, parent, p);
}

int wr_dir_writable(enum node_kind k)
{
	return k == NODE_KEYS_DIR || k == NODE_DOCS_DIR;
}

/* The listing a writable directory shows (keys, or a collection's documents). */
int wr_listing(struct wr *w, enum node_kind dir, const char *cid, struct cval **out)
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
int wr_find(struct wr *w, enum node_kind dir, const char *cid, const char *name,
		   struct cval **v, const struct res **r)
{
	int rc = wr_listing(w, dir, cid, v);

	return rc < 0 ? rc : cval_find(v, name, 0, r);
}

/* Same, by id. */
int wr_find_id(struct wr *w, enum node_kind dir, const char *cid, const char *id,
		      struct cval **v, const struct res **r)
{
	int rc = wr_listing(w, dir, cid, v);

	return rc < 0 ? rc : cval_find(v, id, 1, r);
}

void wr_changed(struct wr *w, enum node_kind dir, const char *cid)
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
void wr_learned(struct wr *w, enum node_kind dir, const char *cid, struct res *out)
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
void wr_gone(struct wr *w, enum node_kind dir, const char *cid, const char *id)
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

void wr_changed_collections(struct wr *w)
{
	cache_invalidate(w->cache, "collections");
	cache_invalidate(w->cache, "audit");
}

const char *wr_content_type(const char *name)
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

struct wr_file *wr_file_new(enum wr_target t, uint64_t ino, uint64_t parent,
				   enum node_kind dir, const char *cid, const char *id,
				   const char *name, int fd)
{
	struct wr_file *f = calloc(1, sizeof(*f));

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

static void wr_file_free(struct wr_file *f)
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

int wr_spool_write(int fd, const char *data, size_t len)
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
int wr_json_spool(struct wr *w, const char *json, size_t len, int trunc)
{
	int fd = spool_open(w->tmpdir), rc;

	if (fd < 0 || trunc)
		return fd;
	rc = wr_spool_write(fd, json, len);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int wr_create(struct wr *w, uint64_t parent, const char *name, int flags, struct ns_entry *e,
	      struct wr_file **out)
{
	struct node_id p = { 0 };
	struct local_info li = { 0 };
	enum wr_target t;
	int rc, fd = -1, temp, spec;

	rc = wr_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	spec = p.kind == NODE_COLLS_DIR && wr_is_collection_spec(name);
	if ((!wr_dir_writable(p.kind) && !spec) || !w->local) {
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
	temp = local_is_temp_name(name);
	t = temp ? WR_LOCAL : spec ? WR_NEW_COLL : p.kind == NODE_KEYS_DIR ? WR_NEW_KEY : WR_NEW_DOC;
	rc = local_create(w->local, p.kind, p.cid, name, !temp, &li);
	if (rc < 0)
		goto out;
	fd = local_open_fd(w->local, li.ino);
	*out = fd < 0 ? NULL : wr_file_new(t, li.ino, parent, p.kind, p.cid, NULL, name, fd);
	if (!*out) {
		rc = fd < 0 ? fd : -ENOMEM;
		if (fd >= 0)
			close(fd);
		local_remove_ino(w->local, li.ino);
		ns_forget(w->ns, li.ino, 1);
		goto out;
	}
	/* A new document is uploaded at close even when nothing was written. */
	(*out)->dirty = t == WR_NEW_DOC;
	rc = ns_getattr(w->ns, li.ino, e);
	e->ino = li.ino;
	e->attr_ttl = 0;
	if (rc < 0) {
		wr_release(w, *out);
		*out = NULL;
		ns_forget(w->ns, li.ino, 1);
	}
out:
	local_info_release(&li);
	node_id_release(&p);
	(void)flags;
	return rc;
}

/* Open an existing key or collection.json for writing. */
static int wr_open_json(struct wr *w, const struct node_id *n, uint64_t ino, int flags,
			struct wr_file **out)
{
	enum node_kind dir = n->kind == NODE_KEY ? NODE_KEYS_DIR : NODE_COLLS_DIR;
	const char *id = n->kind == NODE_KEY ? n->id : n->cid;
	const struct res *r;
	struct cval *v = NULL;
	int rc, fd;

	rc = wr_find_id(w, dir, "", id, &v, &r);
	if (rc < 0)
		return rc;
	fd = wr_json_spool(w, r->json, r->json_len, flags & O_TRUNC);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	*out = wr_file_new(n->kind == NODE_KEY ? WR_KEY : WR_COLL_JSON, ino, 0,
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

static int wr_open_doc(struct wr *w, const struct node_id *n, uint64_t ino, int flags,
		       struct wr_file **out);

static int wr_open_local(struct wr *w, uint64_t ino, int flags, struct wr_file **out)
{
	struct local_info li = { 0 };
	int rc, fd;

	rc = local_get_ino(w->local, ino, &li);
	if (rc < 0)
		return rc;
	if (li.redirect_id) {
		/* It became a server resource: write to that. */
		struct node_id r = { li.redirect, li.cid, li.redirect_id };

		rc = r.kind == NODE_KEY ? wr_open_json(w, &r, ino, flags, out)
					: wr_open_doc(w, &r, ino, flags, out);
		goto out;
	}
	fd = local_open_fd(w->local, ino);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if ((flags & O_TRUNC) && ftruncate(fd, 0) < 0) {
		rc = -errno;
		close(fd);
		goto out;
	}
	*out = wr_file_new(li.pending ? (li.dir == NODE_KEYS_DIR ? WR_NEW_KEY : WR_NEW_DOC)
				      : WR_LOCAL,
			   ino, ns_dir_ino(w->ns, li.dir, li.cid), li.dir, li.cid, NULL, li.name, fd);
	if (!*out) {
		close(fd);
		rc = -ENOMEM;
	}
out:
	local_info_release(&li);
	return rc;
}

static int wr_open_doc(struct wr *w, const struct node_id *n, uint64_t ino, int flags,
		       struct wr_file **out)
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
	rc = wr_find_id(w, NODE_DOCS_DIR, n->cid, n->id, &v, &r);
	if (rc < 0)
		return rc;
	fd = spool_open(w->tmpdir);
	*out = fd < 0 ? NULL : wr_file_new(WR_DOC, ino, ns_dir_ino(w->ns, NODE_DOCS_DIR, n->cid),
					   NODE_DOCS_DIR, n->cid, n->id, r->name, fd);
	if (!*out) {
		rc = fd < 0 ? fd : -ENOMEM;
		if (fd >= 0)
			close(fd);
	} else {
		(*out)->dirty = (flags & O_TRUNC) != 0;
		(*out)->whole_only = !(flags & O_TRUNC);
	}
	cval_unref(v);
	return rc;
}

int wr_open(struct wr *w, uint64_t ino, int flags, struct wr_file **out)
{
	struct node_id n = { 0 };
	int rc;

	*out = NULL;
	rc = ns_node(w->ns, ino, &n);
	if (rc < 0)
		return rc;
	/* A read-only mount still takes .xaifs/refresh: it sends nothing. */
	if (w->read_only && n.kind != NODE_CTL_REFRESH) {
		node_id_release(&n);
		return -EROFS;
	}
	switch (n.kind) {
	case NODE_LOCAL:
		rc = w->local ? wr_open_local(w, ino, flags, out) : -ENOENT;
		break;
	case NODE_KEY:
	case NODE_COLL_JSON:
		rc = wr_open_json(w, &n, ino, flags, out);
		break;
	case NODE_DOC:
		rc = wr_open_doc(w, &n, ino, flags, out);
		break;
	case NODE_LIMITS:
		rc = wr_open_limits(w, ino, flags, out);
		break;
	case NODE_CTL_REFRESH:
		rc = spool_open(w->tmpdir);
		*out = rc < 0 ? NULL : wr_file_new(WR_REFRESH, ino, 0, NODE_CTL_DIR, "", "",
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

ssize_t wr_read(struct wr_file *f, char *buf, size_t size, off_t off)
{
	ssize_t n;

	do
		n = pread(f->fd, buf, size, off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t wr_write(struct wr *w, struct wr_file *f, const char *buf, size_t size, off_t off)
{
	ssize_t n;

	if ((f->target == WR_KEY || f->target == WR_NEW_KEY || f->target == WR_COLL_JSON) &&
	    (off < 0 || (uint64_t)off + size > WR_JSON_MAX)) {
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
	wr_stream_write(w, f, buf, (size_t)n, off);
	return n;
}

/* ---- commits ---- */

int wr_log_invalid(const char *what, const char *name, const struct model_change *c)
{
	if (*c->field)
		log_error("cannot %s '%s': field '%s' is read-only, unknown or of the wrong type",
			  what, name, c->field);
	else
		log_error("cannot %s '%s': the file is not a JSON object", what, name);
	return -EINVAL;
}

/* Keep a new one-time secret for the life of the mount, then wipe our copy. */
void wr_keep_secret(struct wr *w, const char *id, char *secret)
{
	if (!secret)
		return;
	if (ns_set_secret(w->ns, id, secret) < 0)
		log_error("cannot keep the secret of key '%s' in memory", id);
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* What writing in to key id asks of the API, against the cached key. */
static int wr_key_change(struct wr *w, const char *id, const char *in, size_t len,
			 struct model_change *ch)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = wr_find_id(w, NODE_KEYS_DIR, "", id, &v, &r);

	if (rc < 0)
		return rc;
	rc = model_key_update(r->json, r->json_len, in, len, ch);
	cval_unref(v);
	return rc;
}

/* Update a key from JSON; rotate when asked. in is the written JSON. */
int wr_commit_key_update(struct wr *w, const char *id, const char *label,
				const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	char *secret = NULL;
	int rc;

	rc = wr_key_change(w, id, in, len, &ch);
	/*
	 * Nothing differs from the cached key: the cache may be behind a change
	 * made elsewhere, and the user's values would then be dropped. Compare
	 * with the server's key once more before deciding nothing is to be sent.
	 */
	if (rc == 0 && !ch.body && !ch.rotate) {
		model_change_release(&ch);
		memset(&ch, 0, sizeof(ch));
		cache_invalidate(w->cache, "keys");
		rc = wr_key_change(w, id, in, len, &ch);
	}
	if (rc == -EINVAL)
		rc = wr_log_invalid("update key", label, &ch);
	if (rc == 0 && ch.body) {
		rc = api_update_key(w->api, id, ch.body, &out);
		if (rc == 0)
			wr_learned(w, NODE_KEYS_DIR, "", &out);
		res_release(&out);
	}
	if (rc == 0 && ch.rotate) {
		rc = api_rotate_key(w->api, id, ch.rotate_body, &out, &secret);
		if (rc == 0) {
			wr_keep_secret(w, id, secret);
			wr_learned(w, NODE_KEYS_DIR, "", &out);
		}
		res_release(&out);
	}
	/* After a failure the server may still have acted: fetch again. */
	if (rc < 0 && (ch.body || ch.rotate))
		wr_changed(w, NODE_KEYS_DIR, "");
	model_change_release(&ch);
	return rc;
}

/* Create key name from JSON. *id gets its id; -ENODATA when the input was empty. */
int wr_commit_key_create(struct wr *w, const char *name, const char *in, size_t len,
				char **id)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	char *secret = NULL;
	int rc;

	rc = model_key_create(name, in, len, &ch);
	if (rc == -EINVAL)
		rc = wr_log_invalid("create key", name, &ch);
	if (rc == 0)
		rc = api_create_key(w->api, ch.body, &out, &secret);
	if (rc == 0) {
		*id = strdup(out.id);
		wr_keep_secret(w, out.id, secret);
		rc = *id ? 0 : -ENOMEM;
		wr_learned(w, NODE_KEYS_DIR, "", &out);
	}
	res_release(&out);
	model_change_release(&ch);
	return rc;
}

/*
 * Upload fd as document name; when old_id is given (a document being
 * replaced), remove that one once the new one is in. *id gets the new id.
 */
int wr_commit_doc(struct wr *w, const char *cid, const char *name, int fd,
		  struct upstream *up, const char *old_id, char **id)
{
	struct res out = { 0 };
	off_t size = spool_size(fd);
	int rc;

	if (size < 0) {
		upstream_free(up);
		return (int)size;
	}
	/* Streamed: only the tail and the answer are left (wr_stream.c). */
	if (up) {
		rc = upstream_finish(up, &out);
		upstream_free(up);
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
					 wr_content_type(name), old_id, &out);
	}
	/* Stored, but its id is unknown: it shows at the next listing; the old stays. */
	if (rc == 0 && !out.id) {
		if (old_id && *old_id)
			log_warn("document '%s' was uploaded, but without its new id its old "
				 "version %s is kept", name, old_id);
		wr_changed(w, NODE_DOCS_DIR, cid);
		res_release(&out);
		return 0;
	}
	if (rc == 0) {
		*id = strdup(out.id);
		rc = *id ? 0 : -ENOMEM;
	}
	if (rc == 0 && old_id && *old_id && strcmp(old_id, out.id) != 0) {
		rc = api_delete_document(w->api, cid, old_id);
		if (rc < 0)
			log_error("document '%s' was uploaded but its old version %s could not "
				  "be removed", name, old_id);
		else
			wr_gone(w, NODE_DOCS_DIR, cid, old_id);
	}
	if (rc == 0)
		wr_learned(w, NODE_DOCS_DIR, cid, &out);
	else
		wr_changed(w, NODE_DOCS_DIR, cid);
	res_release(&out);
	return rc;
}

/* What writing in to collection cid's collection.json asks, against the cache. */
static int wr_coll_change(struct wr *w, const char *cid, const char *in, size_t len,
			  struct model_change *ch)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = wr_find_id(w, NODE_COLLS_DIR, "", cid, &v, &r);

	if (rc < 0)
		return rc;
	rc = model_collection_update(r->json, r->json_len, in, len, ch);
	cval_unref(v);
	return rc;
}

static int wr_commit_coll_json(struct wr *w, const char *cid, const char *label,
			       const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	int rc;

	rc = wr_coll_change(w, cid, in, len, &ch);
	if (rc == 0 && !ch.body) {
		/* As for keys: check with the server before dropping the write. */
		model_change_release(&ch);
		memset(&ch, 0, sizeof(ch));
		cache_invalidate(w->cache, "collections");
		rc = wr_coll_change(w, cid, in, len, &ch);
	}
	if (rc == -EINVAL)
		rc = wr_log_invalid("update collection", label, &ch);
	if (rc == 0 && ch.body) {
		rc = api_update_collection(w->api, cid, ch.body, &out);
		if (rc == 0)
			wr_learned(w, NODE_COLLS_DIR, "", &out);
		else
			wr_changed_collections(w);
	}
	res_release(&out);
	model_change_release(&ch);
	return rc;
}

/* Commit a JSON spool: read it, then update or create. */
static int wr_commit_json(struct wr *w, struct wr_file *f, char **new_id)
{
	char *in = NULL;
	size_t len = 0;
	int rc;

	rc = spool_read_all(f->fd, WR_JSON_MAX, &in, &len);
	if (rc < 0)
		return rc;
	if (f->target == WR_KEY)
		rc = wr_commit_key_update(w, f->id, f->name, in, len);
	else if (f->target == WR_COLL_JSON)
		rc = wr_commit_coll_json(w, f->cid, f->name, in, len);
	else if (f->target == WR_LIMITS)
		rc = wr_commit_limits(w, in, len);
	else if (f->target == WR_NEW_COLL)
		rc = wr_commit_new_collection(w, f->name, in, len);
	else
		rc = wr_commit_key_create(w, f->name, in, len, new_id);
	explicit_bzero(in, len);
	free(in);
	return rc;
}

/* The new resource f was written to exists now as id: its name resolves there. */
static void wr_became(struct wr *w, struct wr_file *f, char *id)
{
	local_redirect(w->local, f->ino, f->target == WR_NEW_KEY ? NODE_KEY : NODE_DOC, id);
	f->target = f->target == WR_NEW_KEY ? WR_KEY : WR_DOC;
	free(f->id);
	f->id = id;
	wr_inval_entry(w, f->parent, f->name);
	wr_inval_inode(w, f->ino);
}

int wr_flush(struct wr *w, struct wr_file *f)
{
	char *new_id = NULL;
	int rc;

	if (f->target == WR_LOCAL || !f->dirty)
		return f->err;
	if (f->target == WR_REFRESH) {
		f->dirty = 0;
		wr_refresh(w);
		log_info("refresh: caches dropped");
		return 0;
	}
	/*
	 * Shells open a redirection's target, dup2() it and close the
	 * original before the command writes: that first close must not
	 * commit an empty file. Empty content waits for the last close.
	 */
	if (spool_size(f->fd) == 0 && !f->closing)
		return 0;
	f->dirty = 0;
	if (f->target == WR_DOC || f->target == WR_NEW_DOC)
		rc = wr_commit_doc(w, f->cid, f->name, f->fd, wr_stream_take(f),
				   f->target == WR_DOC ? f->id : NULL, &new_id);
	else
		rc = wr_commit_json(w, f, &new_id);
	if (rc == -ENODATA)
		rc = 0;	/* an empty new key file: nothing to create */
	/*
	 * After a failure the server may still have acted (a timeout once the
	 * request was sent): drop the listing so ls shows what it holds.
	 */
	if (rc < 0 && (f->target == WR_COLL_JSON || f->target == WR_NEW_COLL))
		wr_changed_collections(w);
	else if (rc < 0 && f->target == WR_LIMITS)
		acct_limits_changed(w->cache);
	else if (rc < 0)
		wr_changed(w, f->dir == NODE_KEYS_DIR ? NODE_KEYS_DIR : NODE_DOCS_DIR, f->cid);
	if (rc == 0 && new_id && f->target == WR_DOC) {
		/* A replaced document has a new id: its name must be looked up again. */
		free(f->id);
		f->id = new_id;
		new_id = NULL;
		wr_inval_entry(w, f->parent, f->name);
		wr_inval_entry(w, ns_dir_ino(w->ns, NODE_META_DIR, f->cid), f->name);
	}
	if (rc == 0 && new_id)
		wr_became(w, f, new_id);
	else
		free(new_id);
	if (rc == 0 && f->target == WR_NEW_COLL && spool_size(f->fd) > 0) {
		/* The file was a request: it goes, the collection's directory shows. */
		size_t n = strlen(f->name) - strlen(".json");

		local_remove_ino(w->local, f->ino);
		wr_inval_entry(w, f->parent, f->name);
		f->name[n] = '\0';
		wr_inval_entry(w, f->parent, f->name);
		f->name[n] = '.';
		f->target = WR_LOCAL;
	}
	if (rc == 0 && (f->target == WR_KEY || f->target == WR_COLL_JSON || f->target == WR_DOC ||
			f->target == WR_LIMITS))
		wr_inval_inode(w, f->ino);
	f->err = rc;
	return rc;
}

void wr_abandon(struct wr *w, struct wr_file *f)
{
	(void)w;
	if (f)
		wr_stream_drop(f);
	if (f)
		wr_file_free(f);
}

void wr_release(struct wr *w, struct wr_file *f)
{
	struct local_info li = { 0 };

	if (!f)
		return;
	/* An empty document written and closed: upload it now (errors can only be logged). */
	if (f->dirty && (f->target == WR_DOC || f->target == WR_NEW_DOC)) {
		f->closing = 1;
		if (wr_flush(w, f) < 0)
			log_error("empty document '%s' was not uploaded", f->name);
	}
	/* A new resource never created (nothing written, or a failed upload) vanishes. */
	if ((f->target == WR_NEW_KEY || f->target == WR_NEW_DOC || f->target == WR_NEW_COLL) &&
	    local_get_ino(w->local, f->ino, &li) == 0 && li.pending && !li.redirect_id) {
		local_remove_ino(w->local, f->ino);
		wr_inval_entry(w, f->parent, f->name);
	}
	local_info_release(&li);
	wr_stream_drop(f);
	wr_file_free(f);
}
