/*
 * change_ops.c - removing, making, renaming, attributes and actions; see
 * change.h. What a directory allows is its node.h row (.write). Calls
 * change_base.c, change_commit.c, change_stream.c and change_state.c, never
 * change.c.
 */
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

/* Remove a server resource by name from the listing list (keys or documents). */
static int change_remove_resource(struct change *w, enum node_list list,
				  const char *cid, const char *name)
{
	const struct res *r;
	struct cval *v = NULL;
	char *id;
	int rc;

	rc = change_find(w, list, cid, name, &v, &r);
	if (rc < 0)
		return rc;
	id = strdup(r->id);
	cval_unref(v);
	if (!id)
		return -ENOMEM;
	if (list == NODE_LIST_KEYS) {
		rc = api_delete_key(w->api, id);
		if (rc == 0)
			tree_forget_secret(w->tree, id);
	} else {
		rc = api_delete_document(w->api, cid, id);
	}
	/* Gone either way: removed now, or already by someone else. */
	if (rc == 0 || rc == -ENOENT)
		change_gone(w, list, cid, id);
	else
		change_changed(w, list, cid);
	free(id);
	return rc;
}

/* metadata/<doc>.json: removing a document's metadata removes the document (rm
 * -r works). */
static int change_unlink_meta(struct change *w, const struct node_id *p,
			      const char *name)
{
	const struct node_info *d = node_of(p->kind);
	size_t n = strlen(name), s = strlen(d->suffix);
	char *base;
	int rc;

	if (n <= s || strcmp(name + n - s, d->suffix) != 0)
		return -ENOENT;
	base = strndup(name, n - s);
	rc = base ? change_remove_resource(w, d->lists, p->cid, base) : -ENOMEM;
	if (rc == 0)
		change_inval_entry(
			w, tree_dir_ino(w->tree, NODE_DOCS_DIR, p->cid), base);
	free(base);
	return rc;
}

/* A collection's views: collection.json may go freely (rm -r); its directories
 * are directories. */
static int change_unlink_view(const struct node_id *p, const char *name)
{
	const struct node_fixed *f = node_fixed_find(p->kind, name);

	if (!f)
		return -ENOENT;
	return node_is_dir(f->kind) ? -EISDIR : 0;
}

/*
 * A key or document (or a local file of their directories): after any commit
 * of the name in flight, and so that no handle open on it stores it again
 * (change_int.h, "Names being written").
 */
static int change_unlink_entry(struct change *w, const struct node_id *p,
			       const char *name)
{
	struct change_name *n = change_name_lock(w, p->cid, name);
	int rc;

	if (!n)
		return -ENOMEM;
	if (w->local && scratch_remove(w->local, p->kind, p->cid, name) == 0)
		rc = 0;
	else
		rc = change_remove_resource(w, node_of(p->kind)->lists, p->cid,
					    name);
	if (rc == 0)
		change_name_removed(n);
	change_name_unlock(w, n);
	return rc;
}

int change_unlink(struct change *w, uint64_t parent, const char *name)
{
	const struct node_info *d;
	struct node_id p = { 0 };
	int rc;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	d = node_of(p.kind);
	switch (d->write) {
	case NODE_W_ENTRIES:
		rc = change_unlink_entry(w, &p, name);
		break;
	case NODE_W_META:
		rc = change_unlink_meta(w, &p, name);
		break;
	case NODE_W_VIEWS:
		rc = change_unlink_view(&p, name);
		break;
	default:
		rc = -EACCES;
		break;
	}
	if (rc == 0 && d->write == NODE_W_ENTRIES &&
	    d->lists == NODE_LIST_DOCUMENTS)
		change_inval_entry(
			w, tree_dir_ino(w->tree, NODE_META_DIR, p.cid), name);
	node_id_release(&p);
	return rc;
}

/* Whether a collection has documents (fetched fresh) or local files in
 * documents/. */
static int change_collection_empty(struct change *w, const char *cid)
{
	struct cval *v = NULL;
	char **names = NULL;
	uint64_t *inos = NULL;
	long nl = 0;
	int rc;

	cache_invalidate(w->cache, CACHE_DOCUMENTS, cid);
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

/* rmdir of a collection's view: documents/ and metadata/ go with their
 * collection. */
static int change_rmdir_view(struct change *w, const struct node_id *p,
			     const char *name)
{
	const struct node_fixed *f = node_fixed_find(p->kind, name);
	int rc;

	if (!f)
		return -ENOENT;
	if (!node_is_dir(f->kind))
		return -ENOTDIR;
	/* Always empty (search/): rm -r of a collection passes through it. */
	if (node_of(f->kind)->entries != NODE_E_LISTED)
		return 0;
	/* Empty ones may be "removed". */
	rc = change_collection_empty(w, p->cid);
	return rc == 1 ? 0 : rc == 0 ? -ENOTEMPTY : rc;
}

/* rmdir of collections/NAME: the collection, when it has no documents. */
static int change_rmdir_collection(struct change *w, const char *name)
{
	const struct res *r;
	struct cval *v = NULL;
	char *cid = NULL;
	int rc;

	rc = change_find(w, NODE_LIST_COLLECTIONS, "", name, &v, &r);
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
		change_gone(w, NODE_LIST_COLLECTIONS, "", cid);
	free(cid);
	return rc;
}

int change_rmdir(struct change *w, uint64_t parent, const char *name)
{
	struct node_id p = { 0 };
	int rc;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	switch (node_of(p.kind)->write) {
	case NODE_W_VIEWS:
		rc = change_rmdir_view(w, &p, name);
		break;
	case NODE_W_COLLECTIONS:
		rc = change_rmdir_collection(w, name);
		break;
	case NODE_W_ENTRIES:
		rc = -ENOTDIR; /* keys and documents are files */
		break;
	default:
		rc = -EACCES;
		break;
	}
	node_id_release(&p);
	return rc;
}

int change_mkdir(struct change *w, uint64_t parent, const char *name,
		 struct tree_entry *e)
{
	struct node_id p = { 0 };
	struct res out = { 0 };
	char *body = NULL;
	int rc;

	rc = change_parent(w, parent, &p);
	if (rc < 0)
		return rc;
	if (node_of(p.kind)->write != NODE_W_COLLECTIONS) {
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
		rc = api_create_collection(w->api, name, body, &out);
	if (rc < 0) {
		change_changed(w, NODE_LIST_COLLECTIONS, "");
		goto out;
	}
	change_learned(w, NODE_LIST_COLLECTIONS, "", &out);
	rc = tree_lookup(w->tree, parent, name, e);
	if (rc == -ENOENT)
		log_error("collection '%s' was created but is not listed yet",
			  name);
out:
	res_release(&out);
	free(body);
	node_id_release(&p);
	return rc;
}

/* ---- renames ---- */

static int change_rename_collection(struct change *w, const char *name,
				    const char *newname)
{
	const struct res *r;
	struct cval *v = NULL;
	struct res out = { 0 };
	char *cid = NULL, *body = NULL;
	int rc;

	rc = change_find(w, NODE_LIST_COLLECTIONS, "", newname, &v, &r);
	cval_unref(v);
	if (rc == 0)
		return -EEXIST;
	rc = change_find(w, NODE_LIST_COLLECTIONS, "", name, &v, &r);
	if (rc == 0 && !(cid = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc == 0)
		rc = model_collection_name_body(newname, &body);
	if (rc == 0)
		rc = api_update_collection(w->api, cid, body, &out);
	if (rc == 0)
		change_learned(w, NODE_LIST_COLLECTIONS, "", &out);
	else if (cid && body)
		change_changed(w, NODE_LIST_COLLECTIONS, "");
	res_release(&out);
	free(body);
	free(cid);
	return rc;
}

/* rename(2) of a key onto a free name: the key's name changes. */
static int change_rename_key(struct change *w, const char *id,
			     const char *newname)
{
	struct res out = { 0 };
	char *body = NULL;
	int rc = model_key_rename_body(newname, &body);

	if (rc == 0)
		rc = api_update_key(w->api, id, body, &out);
	if (rc == 0)
		change_learned(w, NODE_LIST_KEYS, "", &out);
	else if (body)
		change_changed(w, NODE_LIST_KEYS, "");
	res_release(&out);
	free(body);
	return rc;
}

/*
 * A local file renamed onto a real name (rsync, sed -i, GIO save): its
 * content becomes that key or document. dst is the resource already there,
 * or NULL.
 */
static int change_commit_scratch(struct change *w, enum node_kind dir,
				 const char *cid,
				 const struct scratch_info *src,
				 const char *newname, const struct res *dst)
{
	char *in = NULL, *id = NULL;
	size_t len = 0;
	int rc, fd;

	enum node_kind kind = node_of(dir)->child;

	fd = scratch_open_fd(w->local, src->ino);
	if (fd < 0)
		return fd;
	if (node_of(kind)->write == NODE_W_DOC) {
		rc = change_commit_doc(w, cid, newname, fd, NULL, src->ino,
				       dst ? dst->id : NULL, &id);
	} else {
		rc = anonfile_read_all(fd, CHANGE_JSON_MAX, &in, &len);
		if (rc == 0 && dst)
			rc = change_commit_key_update(w, dst->id, newname, in,
						      len);
		else if (rc == 0)
			rc = change_commit_key_create(w, newname, in, len, &id);
		if (rc == -ENODATA)
			rc = change_log_invalid("create key", newname,
						&(struct model_change){ 0 });
		if (in)
			explicit_bzero(in, len);
	}
	close(fd);
	if (rc == 0 && (id || dst))
		rc = scratch_redirect(w->local, src->ino, kind,
				      id ? id : dst->id);
	free(in);
	free(id);
	return rc;
}

/* A resource renamed to a temporary name (an editor's backup): copy it locally.
 */
static int change_copy_to_scratch(struct change *w, enum node_kind dir,
				  const char *cid, const struct res *r,
				  const char *newname)
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
	else if (node_of(node_of(dir)->child)->write == NODE_W_DOC)
		rc = cache_read_document(w->cache, r->id, fd, &bytes);
	else
		rc = change_spool_write(fd, r->json, r->json_len);
	if (fd >= 0)
		close(fd);
	/* scratch_create counted a lookup the kernel will not make: give it
	 * back. */
	tree_forget(w->tree, li.ino, 1);
	if (rc < 0)
		scratch_remove(w->local, dir, cid, newname);
	scratch_info_release(&li);
	return rc;
}

static int change_rename_file(struct change *w, enum node_kind dir,
			      const char *cid, uint64_t parent,
			      const char *name, const char *newname,
			      unsigned int flags)
{
	struct scratch_info src = { 0 }, other = { 0 };
	const struct res *r = NULL, *dst = NULL;
	struct cval *v = NULL;
	char *id = NULL;
	int rc, src_local, dst_local, dst_temp = scratch_is_temp_name(newname);
	/* a rename onto newname is a commit of it (change_int.h, "Names being
	 * written"): after any other in flight, and what it replaces is looked
	 * up under the lock */
	struct change_name *nm = change_name_lock(w, cid, newname);

	if (!nm)
		return -ENOMEM;
	src_local = scratch_get(w->local, dir, cid, name, &src) == 0;
	dst_local = scratch_get(w->local, dir, cid, newname, &other) == 0;
	scratch_info_release(&other);
	rc = change_listing(w, node_of(dir)->lists, cid, &v);
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
		if (rc == 0) {
			scratch_remove(w->local, dir, cid, newname);
			change_name_stored(nm);
		}
	} else if (!r) {
		rc = -ENOENT;
	} else if (dst_temp) {
		rc = change_copy_to_scratch(w, dir, cid, r, newname);
		change_inval_entry(w, parent, newname);
	} else if (node_of(node_of(dir)->child)->write == NODE_W_DOC) {
		rc = -EXDEV; /* no rename route: mv copies and removes instead */
	} else if (dst) {
		rc = -EEXIST;
	} else if (!(id = strdup(r->id))) {
		rc = -ENOMEM;
	} else {
		rc = change_rename_key(w, id, newname);
	}
out:
	change_name_unlock(w, nm);
	free(id);
	cval_unref(v);
	scratch_info_release(&src);
	return rc;
}

int change_rename(struct change *w, uint64_t parent, const char *name,
		  uint64_t newparent, const char *newname, unsigned int flags)
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
	rc = change_state_name(p.kind, newname);
	if (rc == 0 && node_of(p.kind)->write == NODE_W_COLLECTIONS)
		rc = change_rename_collection(w, name, newname);
	else if (rc == 0 && node_of(p.kind)->write == NODE_W_ENTRIES &&
		 w->local)
		rc = change_rename_file(w, p.kind, p.cid, parent, name, newname,
					flags);
	else if (rc == 0)
		rc = -EACCES;
	node_id_release(&p);
	return rc;
}

/* ---- actions ---- */

int change_setxattr(struct change *w, uint64_t ino, const char *name,
		    const char *value, size_t size)
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
		return 0; /* a copy of a document's attributes (cp
			     --preserve=xattr) */
	if (!rotate && strcmp(name, "user.xai.reindex") != 0)
		return -ENOTSUP;
	if (w->read_only)
		return -EROFS;
	rc = tree_resource(w->tree, ino, &n, &v, &r);
	if (rc == -ENOENT && n.kind != NODE_NONE &&
	    !(node_of(n.kind)->xattr & (NODE_XA_ROTATE | NODE_XA_REINDEX)))
		rc = -ENOTSUP; /* not something with actions */
	if (rc == 0 && !(id = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc < 0)
		goto out;
	if (rotate && (node_of(n.kind)->xattr & NODE_XA_ROTATE)) {
		rc = api_rotate_key(w->api, id, NULL, &out, &secret);
		if (rc == 0) {
			change_keep_secret(w, id, secret);
			change_learned(w, NODE_LIST_KEYS, "", &out);
			change_inval_inode(w, ino);
		} else {
			change_changed(w, NODE_LIST_KEYS, "");
		}
	} else if (!rotate && (node_of(n.kind)->xattr & NODE_XA_REINDEX)) {
		rc = api_reindex_document(w->api, n.cid, id);
		if (rc == 0)
			change_changed(w, NODE_LIST_DOCUMENTS, n.cid);
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
