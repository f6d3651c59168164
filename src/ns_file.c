/* ns_file.c - open files: JSON snapshots and document bytes; see ns.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "log.h"
#include "model.h"
#include "names.h"
#include "ns_int.h"

/* ---- files ---- */

static int ns_open_document(struct ns *ns, const struct node_id *n, struct ns_file *f)
{
	const struct res *r;
	struct cval *v = NULL;
	struct stat st;
	char *hash = NULL;
	off_t listed;
	int rc, fd;

	rc = cache_documents(ns->cache, n->cid, &v);
	r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
	if (rc == 0 && !r)
		rc = ns_stale(n->kind, -ENOENT);
	if (rc == 0 && r->hash && !(hash = strdup(r->hash)))
		rc = -ENOMEM;
	listed = r ? (off_t)r->size : 0;
	cval_unref(v);
	if (rc < 0)
		return rc;
	fd = cache_open_document(ns->cache, n->id, hash, &f->dl);
	free(hash);
	if (fd < 0)
		return fd;
	f->fd = fd;
	/* A file id's bytes never change (a new version gets a new id). */
	f->keep_cache = 1;
	if (f->dl) {
		/* Reads are served as the bytes arrive; a failing download fails open. */
		rc = blobs_dl_wait(f->dl, fd, listed > 0 ? 1 : 0);
		return rc;
	}
	/* A size that disagrees with the listing must not truncate reads. */
	f->direct_io = fstat(fd, &st) < 0 || st.st_size != listed;
	return 0;
}

static int ns_open_json(struct ns *ns, uint64_t ino, const struct node_id *n,
			struct ns_file *f)
{
	const struct res *r = NULL;
	struct cval *v = NULL;
	int rendered = ns_is_rendered(n->kind);
	int rc;

	switch (n->kind) {
	case NODE_CTL_STATS:
		rc = ns_render_stats(ns, &f->owned, &f->len);
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
		rc = ns_text(ns, n->kind, n->id, &v);
		break;
	case NODE_SEARCH:
		rc = ns_search_name_ok(n->id) ? acct_search(ns->cache, n->cid, n->id, &v) : -ENOENT;
		break;
	case NODE_COLL_JSON:
		rc = cache_collections(ns->cache, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->cid) : NULL;
		break;
	default:
		rc = ns_listing(ns, n->kind, n->cid, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
		break;
	}
	if (rc < 0)
		return rc;
	if (rendered ? !v->text : !r) {
		cval_unref(v);
		return ns_stale(n->kind, -ENOENT);
	}
	f->val = v;
	f->data = rendered ? v->text : r->json;
	f->len = rendered ? v->len : r->json_len;
	if (n->kind == NODE_KEY)
		rc = ns_key_bytes(ns, r, &f->owned, &f->data, &f->len);
	/* See ns.h, "The page cache". */
	f->version = ns_version(f->data, f->len);
	f->direct_io = rc < 0 || !ns_page_cache(ns, ino, f->version, &f->keep_cache);
	f->ino = f->direct_io ? 0 : ino;
	return rc;
}

/* When ino is a local file that became a resource, turn n into that resource. */
int ns_local_target(struct ns *ns, uint64_t ino, struct node_id *n)
{
	struct local_info li;

	if (!ns->local || local_get_ino(ns->local, ino, &li) < 0)
		return -ENOENT;
	if (!li.redirect_id) {
		local_info_release(&li);
		return -ENOENT;
	}
	node_id_release(n);
	n->kind = li.redirect;
	n->cid = li.cid;
	n->id = li.redirect_id;
	li.cid = NULL;
	li.redirect_id = NULL;
	local_info_release(&li);
	return 0;
}

int ns_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out)
{
	struct node_id n = { 0 };
	struct ns_file *f = NULL;
	int rc;

	__atomic_add_fetch(&ns->opens, 1, __ATOMIC_RELAXED);
	rc = inode_find(ns->inodes, ino, &n);
	if (rc < 0)
		return rc;
	if (ns_is_dir_kind(n.kind)) {
		rc = -EISDIR;
		goto out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		rc = -ENOMEM;
		goto out;
	}
	f->fd = -1;
	if (n.kind == NODE_LOCAL && ns_local_target(ns, ino, &n) == 0) {
		rc = n.kind == NODE_DOC ? ns_open_document(ns, &n, f) : ns_open_json(ns, ino, &n, f);
	} else if (n.kind == NODE_LOCAL) {
		rc = ns->local ? local_open_fd(ns->local, ino) : -ENOENT;
		f->fd = rc;
		f->direct_io = 1;
		rc = rc < 0 ? rc : 0;
	} else if (n.kind == NODE_DOC)
		rc = ns_open_document(ns, &n, f);
	else
		rc = ns_open_json(ns, ino, &n, f);
	if (rc == 0) {
		*out = f;
		f = NULL;
	}
out:
	ns_release(f);
	node_id_release(&n);
	return rc;
}

void ns_count_read(struct ns *ns)
{
	__atomic_add_fetch(&ns->reads, 1, __ATOMIC_RELAXED);
}

void ns_release(struct ns_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	blobs_dl_unref(f->dl);
	if (f->owned)
		explicit_bzero(f->owned, f->len);
	free(f->owned);
	cval_unref(f->val);
	free(f);
}
