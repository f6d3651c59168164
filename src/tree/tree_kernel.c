/*
 * tree_kernel.c - what the kernel may cache of the namespace: versions of
 * JSON files and the invalidations that keep its pages, attributes and
 * entries true; see tree.h, "The page cache".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tree_int.h"

void tree_set_notify(struct tree *tree, const struct tree_notify *n)
{
	pthread_mutex_lock(&tree->notify_lock);
	tree->notify = *n;
	pthread_mutex_unlock(&tree->notify_lock);
}

static struct tree_notify tree_notify_get(struct tree *tree)
{
	struct tree_notify n;

	pthread_mutex_lock(&tree->notify_lock);
	n = tree->notify;
	pthread_mutex_unlock(&tree->notify_lock);
	return n;
}

void tree_inval_inode(struct tree *tree, uint64_t ino)
{
	struct tree_notify n = tree_notify_get(tree);

	if (ino && n.inval_inode)
		n.inval_inode(n.ctx, ino);
}

void tree_inval_entry(struct tree *tree, uint64_t parent, const char *name)
{
	struct tree_notify n = tree_notify_get(tree);

	if (parent && name && n.inval_entry)
		n.inval_entry(n.ctx, parent, name);
}

uint64_t tree_version(const char *data, size_t len)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
	return h ? h : 1;
}

void tree_shown(struct tree *tree, uint64_t ino, const struct tree_entry *e)
{
	uint64_t prev;

	if (!ino || !e->version)
		return;
	/*
	 * Attributes the kernel may not keep (cache_ttl=0, live_ttl=0) are
	 * asked again at every read past the size it holds, each time a fetch:
	 * such files are served directly, as before the page cache.
	 */
	prev = inode_set_shown(tree->inodes, ino,
			       e->attr_ttl > 0 ? e->version : 0);
	/* Pages of the version before must not stay under this one's size. */
	if (prev && prev != e->version)
		tree_inval_inode(tree, ino);
}

int tree_page_cache(struct tree *tree, uint64_t ino, uint64_t version,
		    int *keep)
{
	*keep = 0;
	if (!ino || !version || inode_shown(tree->inodes, ino) != version)
		return 0;
	*keep = inode_page_open(tree->inodes, ino, version);
	return 1;
}

void tree_read_done(struct tree *tree, uint64_t ino, uint64_t version)
{
	if (ino && !inode_page_check(tree->inodes, ino, version))
		tree_inval_inode(tree, ino);
}

/* Take back an inode's attributes and pages, if the table has it. */
static void tree_inval_node(struct tree *tree, enum node_kind kind,
			    const char *cid, const char *id)
{
	uint64_t ino = inode_lookup(tree->inodes, kind, cid, id);

	if (!ino)
		return;
	/* The next attribute reply records a version without a second
	 * invalidation. */
	inode_set_shown(tree->inodes, ino, 0);
	tree_inval_inode(tree, ino);
}

static void tree_inval_scratch(void *ctx, uint64_t ino, enum node_kind kind)
{
	struct tree *tree = ctx;

	/* Called with the inode table locked: only the kernel_cache queue is
	 * touched. */
	(void)kind;
	tree_inval_inode(tree, ino);
}

/* Which listing a cache key holds (and the collection of a documents listing). */
struct tree_shape {
	enum node_list list;
	const char *cid; /* "" but for documents */
};

static int tree_shape_of(const struct cache_key *key, struct tree_shape *s)
{
	s->cid = "";
	switch (key->family) {
	case CACHE_KEYS:
		s->list = NODE_LIST_KEYS;
		break;
	case CACHE_MODELS:
		s->list = NODE_LIST_MODELS;
		break;
	case CACHE_COLLECTIONS:
		s->list = NODE_LIST_COLLECTIONS;
		break;
	case CACHE_DOCUMENTS:
		s->list = NODE_LIST_DOCUMENTS;
		s->cid = key->arg ? key->arg : "";
		break;
	default:
		return -1;
	}
	return 0;
}

/* Forget name in every directory that shows the listing (documents/ and
 * metadata/). */
static void tree_inval_name(struct tree *tree, const struct tree_shape *s,
			    const char *name)
{
	char buf[1024];

	for (int k = 0; k < NODE_KIND_COUNT; k++) {
		const struct node_info *d = node_of((enum node_kind)k);
		const char *shown = name;

		if (d->entries != NODE_E_LISTED || d->lists != s->list)
			continue;
		if (d->suffix) {
			if ((size_t)snprintf(buf, sizeof(buf), "%s%s", name,
					     d->suffix) >= sizeof(buf))
				continue;
			shown = buf;
		}
		tree_inval_entry(tree,
				 inode_lookup(tree->inodes, (enum node_kind)k,
					      s->cid, ""),
				 shown);
	}
}

/*
 * Forget the resources entry r is shown as (its bytes or attributes changed,
 * or it is gone): a key, a collection and its collection.json, a document
 * and its metadata file, ...
 */
static void tree_inval_res(struct tree *tree, const struct tree_shape *s,
			   const struct res *r, int bytes)
{
	for (int k = 0; k < NODE_KIND_COUNT; k++) {
		const struct node_info *n = node_of((enum node_kind)k);

		if (!n->resource || n->in != s->list)
			continue;
		/* A document's bytes never change under one id: only its listed
		 * size may. */
		if (n->open == NODE_O_DOC && !bytes)
			continue;
		if (n->by == NODE_BY_CID)
			tree_inval_node(tree, (enum node_kind)k, r->id, "");
		else
			tree_inval_node(tree, (enum node_kind)k, s->cid, r->id);
	}
}

/* Whether a listing's directories hold local files (scratch.h) whose inodes
 * outlive their names. */
static int tree_shows_scratch(enum node_list list)
{
	for (int k = 0; k < NODE_KIND_COUNT; k++) {
		const struct node_info *d = node_of((enum node_kind)k);

		if (d->entries == NODE_E_LISTED && d->lists == list &&
		    d->write == NODE_W_ENTRIES)
			return 1;
	}
	return 0;
}

static int tree_res_differs(const struct res *a, const struct res *b)
{
	return a->json_len != b->json_len ||
	       memcmp(a->json, b->json, a->json_len) != 0 ||
	       a->size != b->size || a->mtime != b->mtime;
}

/*
 * Whether o and n are one entry that a write-through edit carried over
 * unchanged: it shares the strings of what it keeps (reslist.h, "donor").
 */
static int tree_res_shared(const struct res *o, const struct res *n)
{
	return o->id == n->id && o->name == n->name && o->json == n->json &&
	       o->size == n->size && o->mtime == n->mtime;
}

/* What became of old entry o in nv: forget what the kernel holds of it. 1 if it
 * changed. */
static int tree_diff_entry(struct tree *tree, const struct tree_shape *s,
			   const struct res *o, const struct res *n)
{
	int renamed = n &&
		      (!o->name || !n->name || strcmp(o->name, n->name) != 0);

	if (!n || renamed) {
		if (o->name)
			tree_inval_name(tree, s, o->name);
		if (n && n->name)
			tree_inval_name(tree, s, n->name);
	}
	if (!n || renamed || tree_res_differs(o, n)) {
		tree_inval_res(tree, s, o, !n || (n && o->size != n->size));
		return 1;
	}
	return 0;
}

/*
 * Compare two listings by id; returns how many entries changed. Entries a
 * write-through edit carried over keep their order and strings, so they are
 * matched by position first, at the cost of a few pointer compares; the
 * rest are looked up by id.
 */
static size_t tree_diff_lists(struct tree *tree, const struct tree_shape *s,
			      const struct reslist *old,
			      const struct reslist *nv)
{
	unsigned char *known = calloc(nv->n ? nv->n : 1,
				      1); /* nv entries found in old */
	size_t changed = 0, j = 0;

	for (size_t i = 0; i < old->n; i++) {
		const struct res *o = &old->v[i];
		const struct res *n;

		if (j < nv->n && tree_res_shared(o, &nv->v[j])) {
			if (known)
				known[j] = 1;
			j++;
			continue;
		}
		n = reslist_by_id(nv, o->id);
		if (known && n)
			known[n - nv->v] = 1;
		changed += (size_t)tree_diff_entry(tree, s, o, n);
	}
	for (size_t k = 0; k < nv->n; k++) {
		const struct res *n = &nv->v[k];

		/* A new name: the kernel may remember that it was missing. */
		if ((!known || !known[k]) && !reslist_by_id(old, n->id) &&
		    n->name) {
			tree_inval_name(tree, s, n->name);
			changed++;
		}
	}
	free(known);
	return changed;
}

static int tree_text_differs(const struct cval *a, const struct cval *b)
{
	if (!a->text || !b->text)
		return a->text != b->text;
	return a->len != b->len || memcmp(a->text, b->text, a->len) != 0;
}

/* The rendered file stored under key, if it is one. */
static enum node_kind tree_rendered_of(const struct cache_key *key,
				       const char **id)
{
	*id = "";
	switch (key->family) {
	case CACHE_MODELS:
		return NODE_REGIONS;
	case CACHE_USAGE:
		return NODE_USAGE;
	case CACHE_BILLING:
		return NODE_BILLING;
	case CACHE_AUDIT:
		return NODE_AUDIT;
	case CACHE_USAGE_MONTH:
		*id = key->arg ? key->arg : "";
		return NODE_USAGE_MONTH;
	default:
		return NODE_NONE;
	}
}

void tree_replaced(void *ctx, const struct cache_key *key,
		   const struct cval *old, const struct cval *nv)
{
	struct tree *tree = ctx;
	struct tree_shape s;
	const char *id;
	enum node_kind text = tree_rendered_of(key, &id);

	if (text != NODE_NONE && tree_text_differs(old, nv))
		tree_inval_node(tree, text, "", id);
	if (tree_shape_of(key, &s) < 0 || !old->list || !nv->list)
		return;
	/* Files made through the mount keep their local inode until forgotten. */
	if (tree_diff_lists(tree, &s, old->list, nv->list) &&
	    tree_shows_scratch(s.list))
		inode_each_scratch(tree->inodes, tree_inval_scratch, tree);
}

void tree_key_changed(struct tree *tree, const char *key_id)
{
	tree_inval_node(tree, NODE_KEY, "", key_id);
	inode_each_scratch(tree->inodes, tree_inval_scratch, tree);
}
