/*
 * tree_file.c - open files: JSON snapshots and document bytes; see tree.h.
 * Calls tree_attr.c and tree_kernel.c (tree_int.h), never tree.c or tree_dir.c.
 */
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

static int tree_open_document(struct tree *tree, const struct node_id *n,
			      struct tree_file *f)
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
		/* Reads are served as the bytes arrive; a failing download
		 * fails open. */
		rc = doccache_dl_wait(f->dl, fd, listed > 0 ? 1 : 0);
		return rc;
	}
	/* A size that disagrees with the listing must not truncate reads. */
	f->direct_io = fstat(fd, &st) < 0 || st.st_size != listed;
	return 0;
}

/* A JSON (or SVG) file: a snapshot of its text or of its listing entry. */
static int tree_open_json(struct tree *tree, uint64_t ino,
			  const struct node_id *n, struct tree_file *f)
{
	const struct node_info *k = node_of(n->kind);
	int rendered = k->open == NODE_O_TEXT;
	const struct res *r = NULL;
	struct cval *v = NULL;
	int rc;

	if (rendered)
		rc = tree_text(tree, n, &v);
	else
		rc = tree_in_listing(n) ? tree_listing(tree, k->in, n->cid, &v)
					: -ENOENT;
	if (rc < 0)
		return rc;
	if (!rendered)
		r = reslist_by_id(v->list,
				  k->by == NODE_BY_CID ? n->cid : n->id);
	if (rendered ? !v->text : !r) {
		cval_unref(v);
		return tree_stale(n->kind, -ENOENT);
	}
	f->val = v;
	f->data = rendered ? v->text : r->json;
	f->len = rendered ? v->len : r->json_len;
	if (k->open == NODE_O_KEY)
		rc = tree_key_bytes(tree, r, &f->owned, &f->data, &f->len);
	/* See tree.h, "The page cache". */
	f->version = tree_version(f->data, f->len);
	f->direct_io = rc < 0 ||
		       !tree_page_cache(tree, ino, f->version, &f->keep_cache);
	f->ino = f->direct_io ? 0 : ino;
	return rc;
}

/* .xaifs/stats (rendered at each open) and .xaifs/refresh (always empty). */
static int tree_open_control(struct tree *tree, const struct node_id *n,
			     struct tree_file *f)
{
	f->direct_io = 1;
	if (node_of(n->kind)->open == NODE_O_STATS) {
		int rc = tree_render_stats(tree, &f->owned, &f->len);

		f->data = f->owned;
		return rc;
	}
	f->data = "";
	f->len = 0;
	return 0;
}

/* A local file: its spool. */
static int tree_open_scratch(struct tree *tree, uint64_t ino,
			     struct tree_file *f)
{
	int fd = tree->local ? scratch_open_fd(tree->local, ino) : -ENOENT;

	f->fd = fd;
	f->direct_io = 1;
	return fd < 0 ? fd : 0;
}

/* The one dispatch on how a kind is opened (node.h, enum node_open). */
static int tree_open_node(struct tree *tree, uint64_t ino, struct node_id *n,
			  struct tree_file *f)
{
	switch (node_of(n->kind)->open) {
	case NODE_O_SCRATCH:
		/* A local file that became a resource opens as that resource. */
		if (tree_scratch_target(tree, ino, n) == 0)
			return tree_open_node(tree, ino, n, f);
		return tree_open_scratch(tree, ino, f);
	case NODE_O_DOC:
		return tree_open_document(tree, n, f);
	case NODE_O_ENTRY:
	case NODE_O_KEY:
	case NODE_O_TEXT:
		return tree_open_json(tree, ino, n, f);
	case NODE_O_STATS:
	case NODE_O_EMPTY:
		return tree_open_control(tree, n, f);
	default:
		return node_is_dir(n->kind) ? -EISDIR : -ENOENT;
	}
}

int tree_reopen_shown(struct tree *tree, uint64_t ino,
		      const struct tree_file *f, struct tree_file **out)
{
	uint64_t shown;

	*out = NULL;
	if (!f->data || f->fd >= 0 || !f->version)
		return 0;
	shown = inode_shown(tree->inodes, ino);
	if (!shown || shown == f->version)
		return 0;
	if (tree_open(tree, ino, O_RDONLY, out) < 0)
		return 0; /* f is still a whole version */
	if ((*out)->version == shown)
		return 1;
	tree_release(*out);
	*out = NULL;
	return 0;
}

int tree_open(struct tree *tree, uint64_t ino, int flags,
	      struct tree_file **out)
{
	struct node_id n = { 0 };
	struct tree_file *f = NULL;
	int rc;

	__atomic_add_fetch(&tree->opens, 1, __ATOMIC_RELAXED);
	inode_wait_released(tree->inodes, ino, 1000);
	rc = inode_find(tree->inodes, ino, &n);
	if (rc < 0)
		return rc;
	if (node_is_dir(n.kind)) {
		rc = -EISDIR;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->fd = -1;
	rc = tree_open_node(tree, ino, &n, f);
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
