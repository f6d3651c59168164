/* wr_ops.c - removing, making, renaming, attributes and actions; see wr.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "spool.h"
#include "wr_int.h"

/* ---- names ---- */

/* Remove a server resource by name from a writable directory. */
static int wr_remove_resource(struct wr *w, enum node_kind dir, const char *cid,
			      const char *name)
{
	const struct res *r;
	struct cval *v = NULL;
	char *id;
	int rc;

	rc = wr_find(w, dir == NODE_META_DIR ? NODE_DOCS_DIR : dir, cid, name, &v, &r);
	if (rc < 0)
		return rc;
	id = strdup(r->id);
	cval_unref(v);
	if (!id)
		return -ENOMEM;
	if (dir == NODE_KEYS_DIR) {
		rc = api_delete_key(w->api, id);
		if (rc == 0)
			ns_forget_secret(w->ns, id);
	} else {
		rc = api_delete_document(w->api, cid, id);
	}
	/* Gone either way: removed now, or already by someone else. */
	if (rc == 0 || rc == -ENOENT)
		wr_gone(w, dir == NODE_KEYS_DIR ? NODE_KEYS_DIR : NODE_DOCS_DIR, cid, id);
	else
		wr_changed(w, dir == NODE_KEYS_DIR ? NODE_KEYS_DIR : NODE_DOCS_DIR, cid);
	free(id);
	return rc;
}

int wr_unlink(struct wr *w, uint64_t parent, const char *name)
{
	struct node_id p = { 0 };
	char *base = NULL;
	size_t n = strlen(name), s = strlen(WR_META_SUFFIX);
	int rc;

	rc = wr_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	switch (p.kind) {
	case NODE_KEYS_DIR:
	case NODE_DOCS_DIR:
		if (w->local && local_remove(w->local, p.kind, p.cid, name) == 0)
			break;
		rc = wr_remove_resource(w, p.kind, p.cid, name);
		break;
	case NODE_META_DIR:
		/* Removing a document's metadata removes the document (rm -r works). */
		if (n <= s || strcmp(name + n - s, WR_META_SUFFIX) != 0) {
			rc = -ENOENT;
			break;
		}
		base = strndup(name, n - s);
		rc = base ? wr_remove_resource(w, NODE_META_DIR, p.cid, base) : -ENOMEM;
		if (rc == 0)
			wr_inval_entry(w, ns_dir_ino(w->ns, NODE_DOCS_DIR, p.cid), base);
		break;
	case NODE_COLL_DIR:
		/* collection.json is a view of the collection: rm -r may remove it freely. */
		rc = strcmp(name, "collection.json") == 0 ? 0 :
		     strcmp(name, "documents") == 0 || strcmp(name, "metadata") == 0 ||
		     strcmp(name, "search") == 0 ? -EISDIR :
		     -ENOENT;
		break;
	default:
		rc = -EACCES;
		break;
	}
	if (rc == 0 && p.kind == NODE_DOCS_DIR)
		wr_inval_entry(w, ns_dir_ino(w->ns, NODE_META_DIR, p.cid), name);
	free(base);
	node_id_release(&p);
	return rc;
}

/* Whether a collection has documents (fetched fresh) or local files in documents/. */
static int wr_collection_empty(struct wr *w, const char *cid)
{
	struct cval *v = NULL;
	char **names = NULL;
	uint64_t *inos = NULL;
	long nl = 0;
	int rc;

	cache_invalidate_documents(w->cache, cid);
	rc = cache_documents(w->cache, cid, &v);
	if (rc < 0)
		return rc;
	rc = v->list->n == 0;
	cval_unref(v);
	if (w->local)
		nl = local_list(w->local, NODE_DOCS_DIR, cid, &names, &inos);
	for (long i = 0; i < nl; i++)
		free(names[i]);
	free(names);
	free(inos);
	return rc && nl <= 0;
}

int wr_rmdir(struct wr *w, uint64_t parent, const char *name)
{
	struct node_id p = { 0 };
	const struct res *r;
	struct cval *v = NULL;
	char *cid = NULL;
	int rc;

	rc = wr_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind == NODE_COLL_DIR) {
		/* documents/ and metadata/ go with their collection; empty ones may be "removed". */
		if (strcmp(name, "search") == 0) {
			rc = 0;	/* always empty: rm -r of a collection passes through it */
			goto out;
		}
		if (strcmp(name, "documents") != 0 && strcmp(name, "metadata") != 0)
			rc = strcmp(name, "collection.json") == 0 ? -ENOTDIR : -ENOENT;
		else
			rc = wr_collection_empty(w, p.cid);
		rc = rc == 1 ? 0 : rc == 0 ? -ENOTEMPTY : rc;
		goto out;
	}
	if (p.kind != NODE_COLLS_DIR) {
		rc = p.kind == NODE_KEYS_DIR || p.kind == NODE_DOCS_DIR ? -ENOTDIR : -EACCES;
		goto out;
	}
	rc = wr_find(w, NODE_COLLS_DIR, "", name, &v, &r);
	if (rc == 0 && !(cid = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc == 0)
		rc = wr_collection_empty(w, cid);
	if (rc == 0)
		rc = -ENOTEMPTY;
	else if (rc == 1)
		rc = api_delete_collection(w->api, cid);
	if (rc == 0)
		wr_gone(w, NODE_COLLS_DIR, "", cid);
out:
	free(cid);
	node_id_release(&p);
	return rc;
}

int wr_mkdir(struct wr *w, uint64_t parent, const char *name, struct ns_entry *e)
{
	struct node_id p = { 0 };
	struct res out = { 0 };
	char *body = NULL;
	int rc;

	rc = wr_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind != NODE_COLLS_DIR) {
		rc = -EACCES;
		goto out;
	}
	if (ns_lookup(w->ns, parent, name, e) == 0) {
		ns_forget(w->ns, e->ino, 1);
		rc = -EEXIST;
		goto out;
	}
	rc = model_collection_name_body(name, &body);
	if (rc == 0)
		rc = api_create_collection(w->api, body, &out);
	if (rc < 0) {
		wr_changed_collections(w);
		goto out;
	}
	wr_learned(w, NODE_COLLS_DIR, "", &out);
	rc = ns_lookup(w->ns, parent, name, e);
	if (rc == -ENOENT)
		log_error("collection '%s' was created but is not listed yet", name);
out:
	res_release(&out);
	free(body);
	node_id_release(&p);
	return rc;
}

int wr_is_collection_spec(const char *name)
{
	size_t n = strlen(name), s = strlen(".json");

	return n > s && strcmp(name + n - s, ".json") == 0 && name[0] != '.' &&
	       !local_is_temp_name(name);
}

/*
 * collections/NAME.json was written: create collection NAME with the options
 * in the JSON (index model, chunking, metric space, field definitions). An
 * existing NAME is -EEXIST: its collection.json is where it changes.
 */
int wr_commit_new_collection(struct wr *w, const char *file_name, const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	const struct res *r;
	struct cval *v = NULL;
	char *name = strndup(file_name, strlen(file_name) - strlen(".json"));
	int rc = name ? wr_find(w, NODE_COLLS_DIR, "", name, &v, &r) : -ENOMEM;

	cval_unref(v);
	if (rc == 0) {
		log_error("cannot create collection '%s' from %s: it exists (change it through "
			  "collections/%s/collection.json)", name, file_name, name);
		rc = -EEXIST;
		goto out;
	}
	if (rc != -ENOENT)
		goto out;
	rc = model_collection_create(name, in, len, &ch);
	if (rc == -EINVAL)
		rc = wr_log_invalid("create collection", name, &ch);
	if (rc == 0)
		rc = api_create_collection(w->api, ch.body, &out);
	if (rc == 0)
		wr_learned(w, NODE_COLLS_DIR, "", &out);
out:
	res_release(&out);
	model_change_release(&ch);
	free(name);
	return rc;
}

/* ---- renames ---- */

static int wr_rename_collection(struct wr *w, const char *name, const char *newname)
{
	const struct res *r;
	struct cval *v = NULL;
	struct res out = { 0 };
	char *cid = NULL, *body = NULL;
	int rc;

	rc = wr_find(w, NODE_COLLS_DIR, "", newname, &v, &r);
	cval_unref(v);
	if (rc == 0)
		return -EEXIST;
	rc = wr_find(w, NODE_COLLS_DIR, "", name, &v, &r);
	if (rc == 0 && !(cid = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc == 0)
		rc = model_collection_name_body(newname, &body);
	if (rc == 0)
		rc = api_update_collection(w->api, cid, body, &out);
	if (rc == 0)
		wr_learned(w, NODE_COLLS_DIR, "", &out);
	else if (cid && body)
		wr_changed_collections(w);
	res_release(&out);
	free(body);
	free(cid);
	return rc;
}

/* rename(2) of a key onto a free name: the key's name changes. */
static int wr_rename_key(struct wr *w, const char *id, const char *newname)
{
	struct res out = { 0 };
	char *body = NULL;
	int rc = model_key_rename_body(newname, &body);

	if (rc == 0)
		rc = api_update_key(w->api, id, body, &out);
	if (rc == 0)
		wr_learned(w, NODE_KEYS_DIR, "", &out);
	else if (body)
		wr_changed(w, NODE_KEYS_DIR, "");
	res_release(&out);
	free(body);
	return rc;
}

/*
 * A local file renamed onto a real name (rsync, sed -i, GIO save): its
 * content becomes that key or document. dst is the resource already there,
 * or NULL.
 */
static int wr_commit_local(struct wr *w, enum node_kind dir, const char *cid,
			   const struct local_info *src, const char *newname, const struct res *dst)
{
	char *in = NULL, *id = NULL;
	size_t len = 0;
	int rc, fd;

	fd = local_open_fd(w->local, src->ino);
	if (fd < 0)
		return fd;
	if (dir == NODE_DOCS_DIR) {
		rc = wr_commit_doc(w, cid, newname, fd, NULL, dst ? dst->id : NULL, &id);
	} else {
		rc = spool_read_all(fd, WR_JSON_MAX, &in, &len);
		if (rc == 0 && dst)
			rc = wr_commit_key_update(w, dst->id, newname, in, len);
		else if (rc == 0)
			rc = wr_commit_key_create(w, newname, in, len, &id);
		if (rc == -ENODATA)
			rc = wr_log_invalid("create key", newname, &(struct model_change){ 0 });
		if (in)
			explicit_bzero(in, len);
	}
	close(fd);
	if (rc == 0 && (id || dst))
		rc = local_redirect(w->local, src->ino, dir == NODE_KEYS_DIR ? NODE_KEY : NODE_DOC,
				    id ? id : dst->id);
	free(in);
	free(id);
	return rc;
}

/* A resource renamed to a temporary name (an editor's backup): copy it locally. */
static int wr_copy_to_local(struct wr *w, enum node_kind dir, const char *cid,
			    const struct res *r, const char *newname)
{
	struct local_info li = { 0 };
	uint64_t bytes = 0;
	int rc, fd;

	local_remove(w->local, dir, cid, newname);
	rc = local_create(w->local, dir, cid, newname, 0, &li);
	if (rc < 0)
		return rc;
	fd = local_open_fd(w->local, li.ino);
	if (fd < 0)
		rc = fd;
	else if (dir == NODE_KEYS_DIR)
		rc = wr_spool_write(fd, r->json, r->json_len);
	else
		rc = cache_read_document(w->cache, r->id, fd, &bytes);
	if (fd >= 0)
		close(fd);
	/* local_create counted a lookup the kernel will not make: give it back. */
	ns_forget(w->ns, li.ino, 1);
	if (rc < 0)
		local_remove(w->local, dir, cid, newname);
	local_info_release(&li);
	return rc;
}

static int wr_rename_file(struct wr *w, enum node_kind dir, const char *cid, uint64_t parent,
			  const char *name, const char *newname, unsigned int flags)
{
	struct local_info src = { 0 }, other = { 0 };
	const struct res *r = NULL, *dst = NULL;
	struct cval *v = NULL;
	char *id = NULL;
	int rc, src_local, dst_local, dst_temp = local_is_temp_name(newname);

	src_local = local_get(w->local, dir, cid, name, &src) == 0;
	dst_local = local_get(w->local, dir, cid, newname, &other) == 0;
	local_info_release(&other);
	rc = wr_listing(w, dir, cid, &v);
	if (rc < 0)
		goto out;
	r = reslist_by_name(v->list, name);
	dst = reslist_by_name(v->list, newname);
	if ((flags & RENAME_NOREPLACE) && (dst_local || dst)) {
		rc = -EEXIST;
	} else if (src_local && dst_temp) {
		rc = local_rename(w->local, dir, cid, name, newname);
	} else if (src_local) {
		rc = wr_commit_local(w, dir, cid, &src, newname, dst);
		if (rc == 0)
			local_remove(w->local, dir, cid, newname);
	} else if (!r) {
		rc = -ENOENT;
	} else if (dst_temp) {
		rc = wr_copy_to_local(w, dir, cid, r, newname);
		wr_inval_entry(w, parent, newname);
	} else if (dir == NODE_DOCS_DIR) {
		rc = -EXDEV;	/* no rename route: mv copies and removes instead */
	} else if (dst) {
		rc = -EEXIST;
	} else if (!(id = strdup(r->id))) {
		rc = -ENOMEM;
	} else {
		rc = wr_rename_key(w, id, newname);
	}
out:
	free(id);
	cval_unref(v);
	local_info_release(&src);
	return rc;
}

int wr_rename(struct wr *w, uint64_t parent, const char *name, uint64_t newparent,
	      const char *newname, unsigned int flags)
{
	struct node_id p = { 0 };
	int rc;

	if (w->read_only)
		return -EROFS;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (parent != newparent)
		return -EXDEV;
	rc = ns_node(w->ns, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind == NODE_COLLS_DIR)
		rc = wr_rename_collection(w, name, newname);
	else if (wr_dir_writable(p.kind) && w->local)
		rc = wr_rename_file(w, p.kind, p.cid, parent, name, newname, flags);
	else
		rc = -EACCES;
	node_id_release(&p);
	return rc;
}

/* ---- attributes ---- */

static int wr_truncate_local(struct wr *w, uint64_t ino, off_t size)
{
	int fd = local_open_fd(w->local, ino), rc = 0;

	if (fd < 0)
		return fd;
	if (ftruncate(fd, size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int wr_setattr(struct wr *w, uint64_t ino, struct wr_file *f, const struct stat *attr,
	       int set_size, int set_mtime, struct ns_entry *out)
{
	struct node_id n = { 0 };
	int rc;

	rc = ns_node(w->ns, ino, &n);
	if (rc < 0)
		return rc;
	if (set_size && w->read_only) {
		rc = -EROFS;
	} else if (set_size && f && f->whole_only && attr->st_size != 0) {
		rc = -EOPNOTSUPP;
	} else if (set_size && f) {
		wr_stream_cut(f, attr->st_size);
		if (ftruncate(f->fd, attr->st_size) < 0)
			rc = -errno;
		f->dirty = 1;
		f->whole_only = 0;	/* a new version starts here */
	} else if (set_size && n.kind == NODE_LOCAL && w->local) {
		rc = wr_truncate_local(w, ino, attr->st_size);
	}
	if (rc == 0 && set_mtime && n.kind == NODE_LOCAL && w->local)
		local_set_mtime(w->local, ino, &attr->st_mtim);
	if (rc == 0)
		rc = ns_getattr(w->ns, ino, out);
	/* A size change of a server file needs an open handle (open with O_TRUNC). */
	if (rc == 0 && set_size && !f && n.kind != NODE_LOCAL && out->st.st_size != attr->st_size)
		rc = -EOPNOTSUPP;
	if (rc == 0 && f) {
		off_t s = spool_size(f->fd);

		if (s >= 0)
			out->st.st_size = s;
		out->attr_ttl = 0;
	}
	node_id_release(&n);
	return rc;
}

/* ---- actions ---- */

int wr_setxattr(struct wr *w, uint64_t ino, const char *name, const char *value, size_t size)
{
	struct node_id n = { 0 };
	const struct res *r = NULL;
	struct cval *v = NULL;
	struct res out = { 0 };
	char *secret = NULL, *id = NULL;
	int rc, rotate = strcmp(name, "user.xai.rotate") == 0;

	if (!rotate && strcmp(name, "user.xai.reindex") != 0)
		return -ENOTSUP;
	if (w->read_only)
		return -EROFS;
	rc = ns_resource(w->ns, ino, &n, &v, &r);
	if (rc == -ENOENT && n.kind != NODE_NONE && n.kind != NODE_KEY && n.kind != NODE_DOC &&
	    n.kind != NODE_DOC_META)
		rc = -ENOTSUP;	/* not something with actions */
	if (rc == 0 && !(id = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc < 0)
		goto out;
	if (rotate && n.kind == NODE_KEY) {
		rc = api_rotate_key(w->api, id, NULL, &out, &secret);
		if (rc == 0) {
			wr_keep_secret(w, id, secret);
			wr_learned(w, NODE_KEYS_DIR, "", &out);
			wr_inval_inode(w, ino);
		} else {
			wr_changed(w, NODE_KEYS_DIR, "");
		}
	} else if (!rotate && (n.kind == NODE_DOC || n.kind == NODE_DOC_META)) {
		rc = api_reindex_document(w->api, n.cid, id);
		if (rc == 0)
			wr_changed(w, NODE_DOCS_DIR, n.cid);
	} else {
		rc = -ENOTSUP;
	}
out:
	(void)value;
	(void)size;
	res_release(&out);
	free(id);
	node_id_release(&n);
	return rc;
}
