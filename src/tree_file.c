/* tree_file.c - open files: JSON snapshots and document bytes; see tree.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "tree_int.h"

/* ---- files ---- */

static int tree_open_document(struct tree *tree, const struct node_id *n, struct tree_file *f)
{
	const struct res *r;
	struct cval *v = NULL;
	struct stat st;
	char *hash = NULL;
	off_t listed;
	int rc, fd;

	rc = cache_documents(tree->cache, n->cid, &v);
	r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
	if (rc == 0 && !r)
		rc = tree_stale(n->kind, -ENOENT);
	if (rc == 0 && r->hash && !(hash = strdup(r->hash)))
		rc = -ENOMEM;
	listed = r ? (off_t)r->size : 0;
	cval_unref(v);
	if (rc < 0)
		return rc;
	fd = cache_open_document(tree->cache, n->id, hash, &f->dl);
	free(hash);
	if (fd < 0)
		return fd;
	f->fd = fd;
	/* A file id's bytes never change (a new version gets a new id). */
	f->keep_cache = 1;
	if (f->dl) {
		/* Reads are served as the bytes arrive; a failing download fails open. */
		rc = doccache_dl_wait(f->dl, fd, listed > 0 ? 1 : 0);
		return rc;
	}
	/* A size that disagrees with the listing must not truncate reads. */
	f->direct_io = fstat(fd, &st) < 0 || st.st_size != listed;
	return 0;
}

static int tree_open_json(struct tree *tree, uint64_t ino, const struct node_id *n,
			struct tree_file *f)
{
	const struct res *r = NULL;
	struct cval *v = NULL;
	int rendered = tree_is_rendered(n->kind);
	int rc;

	switch (n->kind) {
	case NODE_CTL_STATS:
		rc = tree_render_stats(tree, &f->owned, &f->len);
		f->data = f->owned;
		f->direct_io = 1;
		return rc;
	case NODE_CTL_REFRESH:
		f->data = "";
		f->len = 0;
		f->direct_io = 1;
		return 0;
	case NODE_REGIONS:
	case NODE_USAGE:
	case NODE_BILLING:
	case NODE_AUDIT:
	case NODE_USAGE_MONTH:
	case NODE_ENDPOINTS:
	case NODE_LIMITS:
	case NODE_USAGE_SVG:
	case NODE_USAGE_MONTH_SVG:
		rc = tree_text(tree, n->kind, n->id, &v);
		break;
	case NODE_SEARCH:
		rc = tree_search_name_ok(n->id) ? account_search(tree->cache, n->cid, n->id, &v) : -ENOENT;
		break;
	case NODE_COLL_JSON:
		rc = cache_collections(tree->cache, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->cid) : NULL;
		break;
	default:
		rc = tree_listing(tree, n->kind, n->cid, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
		break;
	}
	if (rc < 0)
		return rc;
	if (rendered ? !v->text : !r) {
		cval_unref(v);
		return tree_stale(n->kind, -ENOENT);
	}
	f->val = v;
	f->data = rendered ? v->text : r->json;
	f->len = rendered ? v->len : r->json_len;
	if (n->kind == NODE_KEY)
		rc = tree_key_bytes(tree, r, &f->owned, &f->data, &f->len);
	/* See tree.h, "The page cache". */
	f->version = tree_version(f->data, f->len);
	f->direct_io = rc < 0 || !tree_page_cache(tree, ino, f->version, &f->keep_cache);
	f->ino = f->direct_io ? 0 : ino;
	return rc;
}

/* When ino is a local file that became a resource, turn n into that resource. */
int tree_scratch_target(struct tree *tree, uint64_t ino, struct node_id *n)
{
	struct scratch_info li;

	if (!tree->local || scratch_get_ino(tree->local, ino, &li) < 0)
		return -ENOENT;
	if (!li.redirect_id) {
		scratch_info_release(&li);
		return -ENOENT;
	}
	node_id_release(n);
	n->kind = li.redirect;
	n->cid = li.cid;
	n->id = li.redirect_id;
	li.cid = NULL;
	li.redirect_id = NULL;
	scratch_info_release(&li);
	return 0;
}

int tree_open(struct tree *tree, uint64_t ino, int flags, struct tree_file **out)
{
	struct node_id n = { 0 };
	struct tree_file *f = NULL;
	int rc;

	__atomic_add_fetch(&tree->opens, 1, __ATOMIC_RELAXED);
	rc = inode_find(tree->inodes, ino, &n);
	if (rc < 0)
		return rc;
	if (tree_is_dir_kind(n.kind)) {
		rc = -EISDIR;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->fd = -1;
	if (n.kind == NODE_LOCAL && tree_scratch_target(tree, ino, &n) == 0) {
		rc = n.kind == NODE_DOC ? tree_open_document(tree, &n, f) : tree_open_json(tree, ino, &n, f);
	} else if (n.kind == NODE_LOCAL) {
		rc = tree->local ? scratch_open_fd(tree->local, ino) : -ENOENT;
		f->fd = rc;
		f->direct_io = 1;
		rc = rc < 0 ? rc : 0;
	} else if (n.kind == NODE_DOC)
		rc = tree_open_document(tree, &n, f);
	else
		rc = tree_open_json(tree, ino, &n, f);
	if (rc == 0) {
		*out = f;
		f = NULL;
	}
out:
	tree_release(f);
	node_id_release(&n);
	return rc;
}

void tree_count_read(struct tree *tree)
{
	__atomic_add_fetch(&tree->reads, 1, __ATOMIC_RELAXED);
}

void tree_release(struct tree_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	doccache_dl_unref(f->dl);
	if (f->owned)
		explicit_bzero(f->owned, f->len);
	free(f->owned);
	cval_unref(f->val);
	free(f);
}
