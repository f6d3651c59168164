/* change_ops.c - removing, making, renaming, attributes and actions; see change.h. */
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
#include "anonfile.h"
#include "change_int.h"
#include "change_fields.h"

/* ---- names ---- */

/* Remove a server resource by name from a writable directory. */
static int change_remove_resource(struct change *w, enum node_kind dir, const char *cid,
			      const char *name)
{
	const struct res *r;
	struct cval *v = NULL;
	char *id;
	int rc;

	rc = change_find(w, dir == NODE_META_DIR ? NODE_DOCS_DIR : dir, cid, name, &v, &r);
	if (rc < 0)
		return rc;
	id = strdup(r->id);
	cval_unref(v);
	if (!id)
		return -ENOMEM;
	if (dir == NODE_KEYS_DIR) {
		rc = api_delete_key(w->api, id);
		if (rc == 0)
			tree_forget_secret(w->tree, id);
	} else {
		rc = api_delete_document(w->api, cid, id);
	}
	/* Gone either way: removed now, or already by someone else. */
	if (rc == 0 || rc == -ENOENT)
		change_gone(w, dir == NODE_KEYS_DIR ? NODE_KEYS_DIR : NODE_DOCS_DIR, cid, id);
	else
		change_changed(w, dir == NODE_KEYS_DIR ? NODE_KEYS_DIR : NODE_DOCS_DIR, cid);
	free(id);
	return rc;
}

int change_unlink(struct change *w, uint64_t parent, const char *name)
{
	struct node_id p = { 0 };
	char *base = NULL;
	size_t n = strlen(name), s = strlen(CHANGE_META_SUFFIX);
	int rc;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	switch (p.kind) {
	case NODE_KEYS_DIR:
	case NODE_DOCS_DIR:
		if (w->local && scratch_remove(w->local, p.kind, p.cid, name) == 0)
			break;
		rc = change_remove_resource(w, p.kind, p.cid, name);
		break;
	case NODE_META_DIR:
		/* Removing a document's metadata removes the document (rm -r works). */
		if (n <= s || strcmp(name + n - s, CHANGE_META_SUFFIX) != 0) {
			rc = -ENOENT;
			break;
		}
		base = strndup(name, n - s);
		rc = base ? change_remove_resource(w, NODE_META_DIR, p.cid, base) : -ENOMEM;
		if (rc == 0)
			change_inval_entry(w, tree_dir_ino(w->tree, NODE_DOCS_DIR, p.cid), base);
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
		change_inval_entry(w, tree_dir_ino(w->tree, NODE_META_DIR, p.cid), name);
	free(base);
	node_id_release(&p);
	return rc;
}

/* Whether a collection has documents (fetched fresh) or local files in documents/. */
static int change_collection_empty(struct change *w, const char *cid)
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
		nl = scratch_list(w->local, NODE_DOCS_DIR, cid, &names, &inos);
	for (long i = 0; i < nl; i++)
		free(names[i]);
	free(names);
	free(inos);
	return rc && nl <= 0;
}

int change_rmdir(struct change *w, uint64_t parent, const char *name)
{
	struct node_id p = { 0 };
	const struct res *r;
	struct cval *v = NULL;
	char *cid = NULL;
	int rc;

	rc = change_parent(w, parent, &p);
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
			rc = change_collection_empty(w, p.cid);
		rc = rc == 1 ? 0 : rc == 0 ? -ENOTEMPTY : rc;
		goto out;
	}
	if (p.kind != NODE_COLLS_DIR) {
		rc = p.kind == NODE_KEYS_DIR || p.kind == NODE_DOCS_DIR ? -ENOTDIR : -EACCES;
		goto out;
	}
	rc = change_find(w, NODE_COLLS_DIR, "", name, &v, &r);
	if (rc == 0 && !(cid = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc == 0)
		rc = change_collection_empty(w, cid);
	if (rc == 0)
		rc = -ENOTEMPTY;
	else if (rc == 1)
		rc = api_delete_collection(w->api, cid);
	if (rc == 0)
		change_gone(w, NODE_COLLS_DIR, "", cid);
out:
	free(cid);
	node_id_release(&p);
	return rc;
}

int change_mkdir(struct change *w, uint64_t parent, const char *name, struct tree_entry *e)
{
	struct node_id p = { 0 };
	struct res out = { 0 };
	char *body = NULL;
	int rc;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind != NODE_COLLS_DIR) {
		rc = -EACCES;
		goto out;
	}
	if (tree_lookup(w->tree, parent, name, e) == 0) {
		tree_forget(w->tree, e->ino, 1);
		rc = -EEXIST;
		goto out;
	}
	rc = model_collection_name_body(name, &body);
	if (rc == 0)
		rc = api_create_collection(w->api, body, &out);
	if (rc < 0) {
		change_changed_collections(w);
		goto out;
	}
	change_learned(w, NODE_COLLS_DIR, "", &out);
	rc = tree_lookup(w->tree, parent, name, e);
	if (rc == -ENOENT)
		log_error("collection '%s' was created but is not listed yet", name);
out:
	res_release(&out);
	free(body);
	node_id_release(&p);
	return rc;
}

int change_is_collection_spec(const char *name)
{
	size_t n = strlen(name), s = strlen(".json");

	return n > s && strcmp(name + n - s, ".json") == 0 && name[0] != '.' &&
	       !scratch_is_temp_name(name);
}

/*
 * collections/NAME.json was written: create collection NAME with the options
 * in the JSON (index model, chunking, metric space, field definitions). An
 * existing NAME is -EEXIST: its collection.json is where it changes.
 */
int change_commit_new_collection(struct change *w, const char *file_name, const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	const struct res *r;
	struct cval *v = NULL;
	char *name = strndup(file_name, strlen(file_name) - strlen(".json"));
	int rc = name ? change_find(w, NODE_COLLS_DIR, "", name, &v, &r) : -ENOMEM;

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
		rc = change_log_invalid("create collection", name, &ch);
	if (rc == 0)
		rc = api_create_collection(w->api, ch.body, &out);
	if (rc == 0)
		change_learned(w, NODE_COLLS_DIR, "", &out);
out:
	res_release(&out);
	model_change_release(&ch);
	free(name);
	return rc;
}

/* ---- renames ---- */

static int change_rename_collection(struct change *w, const char *name, const char *newname)
{
	const struct res *r;
	struct cval *v = NULL;
	struct res out = { 0 };
	char *cid = NULL, *body = NULL;
	int rc;

	rc = change_find(w, NODE_COLLS_DIR, "", newname, &v, &r);
	cval_unref(v);
	if (rc == 0)
		return -EEXIST;
	rc = change_find(w, NODE_COLLS_DIR, "", name, &v, &r);
	if (rc == 0 && !(cid = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc == 0)
		rc = model_collection_name_body(newname, &body);
	if (rc == 0)
		rc = api_update_collection(w->api, cid, body, &out);
	if (rc == 0)
		change_learned(w, NODE_COLLS_DIR, "", &out);
	else if (cid && body)
		change_changed_collections(w);
	res_release(&out);
	free(body);
	free(cid);
	return rc;
}

/* rename(2) of a key onto a free name: the key's name changes. */
static int change_rename_key(struct change *w, const char *id, const char *newname)
{
	struct res out = { 0 };
	char *body = NULL;
	int rc = model_key_rename_body(newname, &body);

	if (rc == 0)
		rc = api_update_key(w->api, id, body, &out);
	if (rc == 0)
		change_learned(w, NODE_KEYS_DIR, "", &out);
	else if (body)
		change_changed(w, NODE_KEYS_DIR, "");
	res_release(&out);
	free(body);
	return rc;
}

/*
 * A local file renamed onto a real name (rsync, sed -i, GIO save): its
 * content becomes that key or document. dst is the resource already there,
 * or NULL.
 */
static int change_commit_scratch(struct change *w, enum node_kind dir, const char *cid,
			   const struct scratch_info *src, const char *newname, const struct res *dst)
{
	char *in = NULL, *id = NULL;
	size_t len = 0;
	int rc, fd;

	fd = scratch_open_fd(w->local, src->ino);
	if (fd < 0)
		return fd;
	if (dir == NODE_DOCS_DIR) {
		rc = change_commit_doc(w, cid, newname, fd, NULL, src->ino, dst ? dst->id : NULL, &id);
	} else {
		rc = anonfile_read_all(fd, CHANGE_JSON_MAX, &in, &len);
		if (rc == 0 && dst)
			rc = change_commit_key_update(w, dst->id, newname, in, len);
		else if (rc == 0)
			rc = change_commit_key_create(w, newname, in, len, &id);
		if (rc == -ENODATA)
			rc = change_log_invalid("create key", newname, &(struct model_change){ 0 });
		if (in)
			explicit_bzero(in, len);
	}
	close(fd);
	if (rc == 0 && (id || dst))
		rc = scratch_redirect(w->local, src->ino, dir == NODE_KEYS_DIR ? NODE_KEY : NODE_DOC,
				    id ? id : dst->id);
	free(in);
	free(id);
	return rc;
}

/* A resource renamed to a temporary name (an editor's backup): copy it locally. */
static int change_copy_to_scratch(struct change *w, enum node_kind dir, const char *cid,
			    const struct res *r, const char *newname)
{
	struct scratch_info li = { 0 };
	uint64_t bytes = 0;
	int rc, fd;

	scratch_remove(w->local, dir, cid, newname);
	rc = scratch_create(w->local, dir, cid, newname, 0, &li);
	if (rc < 0)
		return rc;
	fd = scratch_open_fd(w->local, li.ino);
	if (fd < 0)
		rc = fd;
	else if (dir == NODE_KEYS_DIR)
		rc = change_spool_write(fd, r->json, r->json_len);
	else
		rc = cache_read_document(w->cache, r->id, fd, &bytes);
	if (fd >= 0)
		close(fd);
	/* scratch_create counted a lookup the kernel will not make: give it back. */
	tree_forget(w->tree, li.ino, 1);
	if (rc < 0)
		scratch_remove(w->local, dir, cid, newname);
	scratch_info_release(&li);
	return rc;
}

static int change_rename_file(struct change *w, enum node_kind dir, const char *cid, uint64_t parent,
			  const char *name, const char *newname, unsigned int flags)
{
	struct scratch_info src = { 0 }, other = { 0 };
	const struct res *r = NULL, *dst = NULL;
	struct cval *v = NULL;
	char *id = NULL;
	int rc, src_local, dst_local, dst_temp = scratch_is_temp_name(newname);

	src_local = scratch_get(w->local, dir, cid, name, &src) == 0;
	dst_local = scratch_get(w->local, dir, cid, newname, &other) == 0;
	scratch_info_release(&other);
	rc = change_listing(w, dir, cid, &v);
	if (rc < 0)
		goto out;
	r = reslist_by_name(v->list, name);
	dst = reslist_by_name(v->list, newname);
	if ((flags & RENAME_NOREPLACE) && (dst_local || dst)) {
		rc = -EEXIST;
	} else if (src_local && dst_temp) {
		rc = scratch_rename(w->local, dir, cid, name, newname);
	} else if (src_local) {
		rc = change_commit_scratch(w, dir, cid, &src, newname, dst);
		if (rc == 0)
			scratch_remove(w->local, dir, cid, newname);
	} else if (!r) {
		rc = -ENOENT;
	} else if (dst_temp) {
		rc = change_copy_to_scratch(w, dir, cid, r, newname);
		change_inval_entry(w, parent, newname);
	} else if (dir == NODE_DOCS_DIR) {
		rc = -EXDEV;	/* no rename route: mv copies and removes instead */
	} else if (dst) {
		rc = -EEXIST;
	} else if (!(id = strdup(r->id))) {
		rc = -ENOMEM;
	} else {
		rc = change_rename_key(w, id, newname);
	}
out:
	free(id);
	cval_unref(v);
	scratch_info_release(&src);
	return rc;
}

int change_rename(struct change *w, uint64_t parent, const char *name, uint64_t newparent,
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
	rc = tree_node(w->tree, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind == NODE_COLLS_DIR)
		rc = change_rename_collection(w, name, newname);
	else if (change_dir_writable(p.kind) && w->local)
		rc = change_rename_file(w, p.kind, p.cid, parent, name, newname, flags);
	else
		rc = -EACCES;
	node_id_release(&p);
	return rc;
}

/* ---- attributes ---- */

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

int change_setattr(struct change *w, uint64_t ino, struct change_file *f, const struct stat *attr,
	       int set_size, int set_mtime, struct tree_entry *out)
{
	struct node_id n = { 0 };
	int rc;

	rc = tree_node(w->tree, ino, &n);
	if (rc < 0)
		return rc;
	if (set_size && w->read_only) {
		rc = -EROFS;
	} else if (set_size && f && f->whole_only && attr->st_size != 0) {
		rc = -EOPNOTSUPP;
	} else if (set_size && f) {
		change_stream_cut(f, attr->st_size);
		if (ftruncate(f->fd, attr->st_size) < 0)
			rc = -errno;
		f->dirty = 1;
		f->whole_only = 0;	/* a new version starts here */
	} else if (set_size && n.kind == NODE_LOCAL && w->local) {
		rc = change_truncate_scratch(w, ino, attr->st_size);
	}
	if (rc == 0 && set_mtime && n.kind == NODE_LOCAL && w->local)
		scratch_set_mtime(w->local, ino, &attr->st_mtim);
	if (rc == 0)
		rc = tree_getattr(w->tree, ino, out);
	/* A size change of a server file needs an open handle (open with O_TRUNC). */
	if (rc == 0 && set_size && !f && n.kind != NODE_LOCAL && out->st.st_size != attr->st_size)
		rc = -EOPNOTSUPP;
	if (rc == 0 && f) {
		off_t s = anonfile_size(f->fd);

		if (s >= 0)
			out->st.st_size = s;
		out->attr_ttl = 0;
	}
	node_id_release(&n);
	return rc;
}

/* ---- actions ---- */

int change_setxattr(struct change *w, uint64_t ino, const char *name, const char *value, size_t size)
{
	struct node_id n = { 0 };
	const struct res *r = NULL;
	struct cval *v = NULL;
	struct res out = { 0 };
	char *secret = NULL, *id = NULL;
	int rc, rotate = strcmp(name, "user.xai.rotate") == 0;

	if (strcmp(name, CHANGE_FIELDS_XATTR) == 0)
		return change_fields_set(w, ino, value, size);
	if (change_fields_ignored(w, ino, name))
		return 0;	/* a copy of a document's attributes (cp --preserve=xattr) */
	if (!rotate && strcmp(name, "user.xai.reindex") != 0)
		return -ENOTSUP;
	if (w->read_only)
		return -EROFS;
	rc = tree_resource(w->tree, ino, &n, &v, &r);
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
			change_keep_secret(w, id, secret);
			change_learned(w, NODE_KEYS_DIR, "", &out);
			change_inval_inode(w, ino);
		} else {
			change_changed(w, NODE_KEYS_DIR, "");
		}
	} else if (!rotate && (n.kind == NODE_DOC || n.kind == NODE_DOC_META)) {
		rc = api_reindex_document(w->api, n.cid, id);
		if (rc == 0)
			change_changed(w, NODE_DOCS_DIR, n.cid);
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
