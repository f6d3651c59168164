/* tree_dir.c - directory snapshots for readdir; see tree.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "names.h"
#include "tree_int.h"

/* ---- directories ---- */

static int tree_dir_meta_names(struct tree_dir *d)
{
	const struct reslist *l = d->val->list;

	d->meta_names = calloc(l->n ? l->n : 1, sizeof(*d->meta_names));
	if (!d->meta_names)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i].name) + sizeof(TREE_META_SUFFIX);

		d->meta_names[i] = malloc(n);
		if (!d->meta_names[i])
			return -ENOMEM;
		snprintf(d->meta_names[i], n, "%s%s", l->v[i].name, TREE_META_SUFFIX);
	}
	return 0;
}

#define TREE_LISTED_MONTHS 13	/* the current month and the 12 before it */

/* usage-by-month/: each month's JSON and its drawing, newest first, as a fixed list. */
static int tree_dir_months(struct tree_dir *d)
{
	struct tree_fixed *f = calloc(2 * TREE_LISTED_MONTHS, sizeof(*f));
	time_t now = time(NULL);
	struct tm tm;
	int y, m;

	if (!f)
		return -ENOMEM;
	d->months = f;
	gmtime_r(&now, &tm);
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	for (size_t i = 0; i < 2 * TREE_LISTED_MONTHS; i++) {
		char *name = malloc(12);

		if (!name)
			return -ENOMEM;
		snprintf(name, 12, "%04d-%02d%s", y, m, i % 2 ? ".svg" : "");
		f[i].name = name;
		f[i].kind = i % 2 ? NODE_USAGE_MONTH_SVG : NODE_USAGE_MONTH;
		d->n_fixed = i + 1;	/* so far, for tree_closedir() */
		if (i % 2 && --m == 0) {
			m = 12;
			y--;
		}
	}
	d->fixed = f;
	return 0;
}

int tree_opendir(struct tree *tree, uint64_t ino, struct tree_dir **out)
{
	struct node_id n = { 0 };
	struct tree_entry e;
	struct tree_dir *d;
	int rc;

	rc = inode_find(tree->inodes, ino, &n);
	if (rc < 0)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d) {
		rc = -ENOMEM;
		goto out;
	}
	d->kind = n.kind;
	d->cid = n.cid;
	n.cid = NULL;
	if (n.kind == NODE_ROOT) {
		d->fixed = tree_root_children;
		d->n_fixed = TREE_COUNT(tree_root_children);
	} else if (n.kind == NODE_CTL_DIR) {
		d->fixed = tree_ctl_children;
		d->n_fixed = TREE_COUNT(tree_ctl_children);
	} else if (n.kind == NODE_USAGE_DIR) {
		rc = tree_dir_months(d);
	} else if (n.kind == NODE_SEARCH_DIR) {
		/* Always empty: listing must never start a search. */
		n.cid = d->cid;
		rc = *d->cid ? tree_stale(n.kind, tree_attr(tree, &n, &e)) : 0;
		n.cid = NULL;
	} else if (n.kind == NODE_COLL_DIR) {
		d->fixed = tree_coll_children;
		d->n_fixed = TREE_COUNT(tree_coll_children);
		n.cid = d->cid;
		rc = tree_stale(n.kind, tree_attr(tree, &n, &e));	/* the collection must still exist */
		n.cid = NULL;
	} else if (tree_child_kind(n.kind) != NODE_NONE) {
		rc = tree_listing(tree, n.kind, d->cid, &d->val);
		if (rc == 0 && n.kind == NODE_META_DIR)
			rc = tree_dir_meta_names(d);
		if (rc == 0 && (n.kind == NODE_KEYS_DIR || n.kind == NODE_DOCS_DIR) && tree->local) {
			long k = scratch_list(tree->local, n.kind, d->cid, &d->scratch_names,
					    &d->scratch_inos);

			rc = k < 0 ? (int)k : 0;
			d->n_local = k < 0 ? 0 : (size_t)k;
		}
	} else {
		rc = -ENOTDIR;
	}
out:
	if (rc < 0)
		tree_closedir(d);
	else
		*out = d;
	node_id_release(&n);
	return rc;
}

size_t tree_dir_count(const struct tree_dir *d)
{
	return (d->val ? d->val->list->n : d->n_fixed) + d->n_local;
}

static int tree_dir_scratch_entry(struct tree *tree, struct tree_dir *d, size_t i, int plus,
			      const char **name, struct tree_entry *e)
{
	struct scratch_info li;

	*name = d->scratch_names[i];
	if (!plus || scratch_get_ino(tree->local, d->scratch_inos[i], &li) < 0) {
		tree_stat_base(tree, NODE_LOCAL, 0, 0, e);
		e->ino = 0;
		e->st.st_ino = TREE_UNKNOWN_INO;
		return 0;
	}
	tree_stat_scratch(tree, &li, e);
	scratch_info_release(&li);
	e->ino = d->scratch_inos[i];
	e->st.st_ino = (ino_t)e->ino;
	if (inode_ref(tree->inodes, e->ino, 1) < 0)
		e->ino = 0;
	return 0;
}

static int tree_dir_fixed_entry(struct tree *tree, struct tree_dir *d, size_t i, int plus,
			      struct tree_entry *e)
{
	const struct tree_fixed *f = &d->fixed[i];
	struct node_id child = { f->kind, d->cid, (char *)"" };
	int rc;

	/* Rendered files cost requests to size: leave their attributes to lookup. */
	if (!plus || tree_is_rendered(f->kind) || f->kind == NODE_CTL_STATS) {
		tree_stat_base(tree, f->kind, 0, 0, e);
		e->ino = 0;
		e->st.st_ino = TREE_UNKNOWN_INO;
		return 0;
	}
	rc = tree_attr(tree, &child, e);
	if (rc < 0)
		return rc;
	e->ino = inode_get(tree->inodes, f->kind, d->cid, "", 1);
	e->st.st_ino = (ino_t)e->ino;
	tree_shown(tree, e->ino, e);
	return e->ino ? 0 : -ENOMEM;
}

int tree_dir_entry(struct tree *tree, struct tree_dir *d, size_t i, int plus,
		 const char **name, struct tree_entry *e)
{
	enum node_kind kind = tree_child_kind(d->kind);
	const char *cid, *id;
	const struct res *r;

	if (i >= tree_dir_count(d))
		return -ENOENT;
	if (i >= tree_dir_count(d) - d->n_local)
		return tree_dir_scratch_entry(tree, d, i - (tree_dir_count(d) - d->n_local), plus, name, e);
	if (!d->val) {
		*name = d->fixed[i].name;
		return tree_dir_fixed_entry(tree, d, i, plus, e);
	}
	r = &d->val->list->v[i];
	*name = d->meta_names ? d->meta_names[i] : r->name;
	tree_stat_res(tree, kind, r, e);
	/* A snapshot a change has overtaken must not seed the kernel's caches. */
	if (cval_stale(d->val)) {
		e->entry_ttl = 0;
		e->attr_ttl = 0;
	}
	e->ino = 0;
	e->st.st_ino = TREE_UNKNOWN_INO;
	if (plus) {
		tree_child_ident(kind, d->cid, r, &cid, &id);
		e->ino = inode_get(tree->inodes, kind, cid, id, 1);
		if (!e->ino)
			return -ENOMEM;
		e->st.st_ino = (ino_t)e->ino;
		if (e->attr_ttl > 0)
			tree_shown(tree, e->ino, e);
	}
	return 0;
}

void tree_closedir(struct tree_dir *d)
{
	if (!d)
		return;
	if (d->meta_names && d->val)
		for (size_t i = 0; i < d->val->list->n; i++)
			free(d->meta_names[i]);
	free(d->meta_names);
	for (size_t i = 0; d->months && i < d->n_fixed; i++)
		free((char *)d->months[i].name);
	free(d->months);
	for (size_t i = 0; i < d->n_local; i++)
		free(d->scratch_names[i]);
	free(d->scratch_names);
	free(d->scratch_inos);
	cval_unref(d->val);
	free(d->cid);
	free(d);
}
