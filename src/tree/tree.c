/*
 * tree.c - the namespace of the mount: names to inodes (lookup, forget) and
 * attributes by inode; see tree.h. Calls tree_attr.c and tree_kernel.c
 * (tree_int.h), never tree_dir.c or tree_file.c.
 */
#include "tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "names.h"
#include "tree_int.h"

int tree_is_probe(const char *name)
{
	return names_is_probe(name);
}

/* The inodes of directory dir's fixed entries, in the order of node.c. */
static void tree_make_fixed(struct inode_table *t, enum node_kind dir)
{
	const struct node_info *d = node_of(dir);

	for (size_t i = 0; i < d->n_fixed; i++)
		inode_get(t, d->fixed[i].kind, NULL, NULL, 0);
}

struct tree *tree_new(struct cache *c, struct inode_table *t,
		      struct scratch *local, const struct tree_opts *o)
{
	struct tree *tree = calloc(1, sizeof(*tree));

	if (!tree)
		return NULL;
	tree->cache = c;
	tree->inodes = t;
	tree->local = local;
	pthread_mutex_init(&tree->secrets_lock, NULL);
	pthread_mutex_init(&tree->notify_lock, NULL);
	cache_set_hook(c, tree_replaced, tree);
	tree->o = *o;
	tree->mount_time = time(NULL);
	/* The fixed nodes exist from the start (pinned: node.h). */
	inode_get(t, NODE_ROOT, NULL, NULL, 0);
	tree_make_fixed(t, NODE_ROOT);
	tree_make_fixed(t, NODE_CTL_DIR);
	return tree;
}

void tree_free(struct tree *tree)
{
	if (!tree)
		return;
	tree_secrets_free(tree);
	pthread_mutex_destroy(&tree->secrets_lock);
	pthread_mutex_destroy(&tree->notify_lock);
	free(tree);
}

int tree_resource(struct tree *tree, uint64_t ino, struct node_id *n,
		  struct cval **v, const struct res **r)
{
	const struct node_info *k;
	int rc = inode_find(tree->inodes, ino, n);

	if (rc < 0)
		return rc;
	if (node_is_scratch(n->kind) && tree_scratch_target(tree, ino, n) < 0)
		return -ENOENT;
	k = node_of(n->kind);
	if (!k->resource)
		return -ENOENT;
	rc = tree_listing(tree, k->in, n->cid, v);
	return rc < 0 ? rc
		      : cval_find(v, k->by == NODE_BY_CID ? n->cid : n->id, 1,
				  r);
}

struct cache *tree_cache(struct tree *tree)
{
	return tree->cache;
}

int tree_node(struct tree *tree, uint64_t ino, struct node_id *out)
{
	return inode_find(tree->inodes, ino, out);
}

void tree_each_inode(struct tree *tree,
		     void (*fn)(void *ctx, uint64_t ino, enum node_kind kind),
		     void *ctx)
{
	inode_each(tree->inodes, fn, ctx);
}

uint64_t tree_dir_ino(struct tree *tree, enum node_kind kind, const char *cid)
{
	return inode_get(tree->inodes, kind, cid, "", 0);
}

/* A file open for writing shows what its last writer made of it, asked anew
 * each time. */
static void tree_written(struct tree *tree, uint64_t ino, struct tree_entry *e)
{
	off_t size;
	struct timespec mtime;

	if (!inode_written(tree->inodes, ino, &size, &mtime))
		return;
	e->st.st_size = size;
	e->st.st_blocks = (size + 511) / 512;
	e->st.st_mtim = mtime;
	e->st.st_ctim = mtime;
	e->attr_ttl = 0;
}

void tree_write_open(struct tree *tree, uint64_t ino, off_t size)
{
	inode_write_open(tree->inodes, ino, size);
}

void tree_write_size(struct tree *tree, uint64_t ino, off_t size)
{
	inode_write_size(tree->inodes, ino, size);
}

void tree_write_close(struct tree *tree, uint64_t ino)
{
	inode_write_close(tree->inodes, ino);
}

void tree_write_releasing(struct tree *tree, uint64_t ino)
{
	inode_write_releasing(tree->inodes, ino);
}

int tree_getattr(struct tree *tree, uint64_t ino, struct tree_entry *out)
{
	struct node_id n = { 0 };
	struct scratch_info li = { 0 };
	int rc = inode_find(tree->inodes, ino, &n);

	if (rc == 0 && node_is_scratch(n.kind)) {
		rc = tree->local ? scratch_get_ino(tree->local, ino, &li)
				 : -ENOENT;
		if (rc == 0 && li.redirect_id) {
			struct node_id r = { li.redirect, li.cid,
					     li.redirect_id };

			rc = tree_stale(r.kind, tree_attr(tree, &r, out));
		} else if (rc == 0) {
			tree_stat_scratch(tree, &li, out);
		}
		scratch_info_release(&li);
	} else if (rc == 0) {
		rc = tree_stale(n.kind, tree_attr(tree, &n, out));
	}
	if (rc == 0) {
		out->ino = ino;
		out->st.st_ino = (ino_t)ino;
		tree_shown(tree, ino, out);
		tree_written(tree, ino, out);
	}
	node_id_release(&n);
	return rc;
}

/* Whether local files (scratch.h) may have names in directory dir. */
static int tree_holds_scratch(enum node_kind dir)
{
	enum node_write w = node_of(dir)->write;

	return w == NODE_W_ENTRIES || w == NODE_W_COLLECTIONS;
}

/* name with the directory's suffix taken off (metadata/: "<doc>.json"), in
 * *base. */
static int tree_strip_suffix(const char *suffix, const char *name, char **base)
{
	size_t n = strlen(name), s = suffix ? strlen(suffix) : 0;

	*base = NULL;
	if (!suffix)
		return 0;
	if (n <= s || strcmp(name + n - s, suffix) != 0)
		return -ENOENT;
	*base = strndup(name, n - s);
	return *base ? 0 : -ENOMEM;
}

/* A local file named name in p: 0 or -errno; 1 when there is none. */
static int tree_lookup_scratch(struct tree *tree, const struct node_id *p,
			       const char *name, struct tree_entry *e)
{
	struct scratch_info li;

	if (!tree->local || !tree_holds_scratch(p->kind) ||
	    scratch_get(tree->local, p->kind, p->cid, name, &li) < 0)
		return 1;
	tree_stat_scratch(tree, &li, e);
	e->ino = li.ino;
	scratch_info_release(&li);
	return inode_ref(tree->inodes, e->ino, 1);
}

static int tree_lookup_listed(struct tree *tree, const struct node_id *p,
			      const char *name, struct tree_entry *e)
{
	const struct node_info *d = node_of(p->kind);
	const char *cid, *id;
	const struct res *r = NULL;
	struct cval *v = NULL;
	char *base = NULL;
	int rc;

	rc = tree_lookup_scratch(tree, p, name, e);
	if (rc <= 0)
		return rc;
	if (names_is_probe(name))
		return -ENOENT;
	rc = tree_strip_suffix(d->suffix, name, &base);
	if (rc < 0)
		return rc;
	rc = tree_listing(tree, d->lists, p->cid, &v);
	if (rc == 0 && !(r = reslist_by_name(v->list, base ? base : name)))
		rc = -ENOENT;
	if (rc == 0) {
		tree_stat_res(tree, d->child, r, e);
		tree_child_ident(d->child, p->cid, r, &cid, &id);
		e->ino = inode_get(tree->inodes, d->child, cid, id, 1);
		if (!e->ino)
			rc = -ENOMEM;
	}
	cval_unref(v);
	free(base);
	return rc;
}

/* A child that is not listed: a fixed name, a month or a query (checked by the
 * caller). */
static int tree_lookup_node(struct tree *tree, const struct node_id *c,
			    struct tree_entry *e)
{
	int rc = tree_attr(tree, c, e);

	if (rc == 0) {
		e->ino = inode_get(tree->inodes, c->kind, c->cid, c->id, 1);
		rc = e->ino ? 0 : -ENOMEM;
	}
	return rc;
}

/* A month of directory kind d: "YYYY-MM", or "YYYY-MM.svg", its drawing. */
static int tree_lookup_month(struct tree *tree, const struct node_info *d,
			     const char *name, struct tree_entry *e)
{
	char month[8] = "";
	size_t len = strlen(name);
	int svg = d->drawing && len == 11 && strcmp(name + 7, ".svg") == 0;
	struct node_id c = { svg ? d->drawing : d->child, (char *)"", month };

	if (len == 7 || svg)
		memcpy(month, name, 7);
	return tree_month_ok(month) ? tree_lookup_node(tree, &c, e) : -ENOENT;
}

/* Find name in directory p, by what its entries are (node.h). */
static int tree_lookup_in(struct tree *tree, const struct node_id *p,
			  const char *name, struct tree_entry *e)
{
	const struct node_info *d = node_of(p->kind);
	struct node_id c = { d->child, p->cid, (char *)name };
	const struct node_fixed *f;

	switch (d->entries) {
	case NODE_E_FIXED:
		/* A probe is answered at no cost (no fixed name is one). */
		f = names_is_probe(name) ? NULL
					 : node_fixed_find(p->kind, name);
		if (!f)
			return -ENOENT;
		c.kind = f->kind;
		c.id = (char *)"";
		return tree_lookup_node(tree, &c, e);
	case NODE_E_MONTHS:
		return tree_lookup_month(tree, d, name, e);
	case NODE_E_QUERIES:
		/* A search file: the query runs (once per cache TTL) to know
		 * its size. */
		return tree_search_name_ok(name) ? tree_lookup_node(tree, &c, e)
						 : -ENOENT;
	case NODE_E_LISTED:
		return tree_lookup_listed(tree, p, name, e);
	default:
		return -ENOTDIR;
	}
}

int tree_lookup(struct tree *tree, uint64_t parent, const char *name,
		struct tree_entry *out)
{
	struct node_id p = { 0 };
	int rc;

	rc = inode_find(tree->inodes, parent, &p);
	if (rc < 0)
		return rc;
	rc = tree_lookup_in(tree, &p, name, out);
	if (rc == 0) {
		out->st.st_ino = (ino_t)out->ino;
		tree_shown(tree, out->ino, out);
		tree_written(tree, out->ino, out);
	}
	node_id_release(&p);
	return rc;
}

void tree_forget(struct tree *tree, uint64_t ino, uint64_t n)
{
	/* A local file whose name is gone lives until the kernel forgets it. */
	if (node_is_scratch(inode_forget(tree->inodes, ino, n)) &&
	    tree->local) {
		struct scratch_info li;

		if (scratch_get_ino(tree->local, ino, &li) == 0) {
			if (li.redirect_id)
				scratch_remove_ino(tree->local, ino);
			scratch_info_release(&li);
		}
	}
}
