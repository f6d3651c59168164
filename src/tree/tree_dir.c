/*
 * tree_dir.c - directory snapshots for readdir; see tree.h. Calls
 * tree_attr.c and tree_kernel.c (tree_int.h), never tree.c or tree_file.c.
 */
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

/* metadata/: each listed name with the directory's suffix ("<doc>.json"). */
static int tree_dir_suffixed(struct tree_dir *d, const char *suffix)
{
	const struct reslist *l = d->val->list;

	d->suffixed = calloc(l->n ? l->n : 1, sizeof(*d->suffixed));
	if (!d->suffixed)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i].name) + strlen(suffix) + 1;

		d->suffixed[i] = malloc(n);
		if (!d->suffixed[i])
			return -ENOMEM;
		snprintf(d->suffixed[i], n, "%s%s", l->v[i].name, suffix);
	}
	return 0;
}

#define TREE_LISTED_MONTHS 13 /* the current month and the 12 before it */

/* usage-by-month/: each month's JSON and its drawing, newest first, as a fixed
 * list. */
static int tree_dir_months(struct tree_dir *d)
{
	const struct node_info *k = node_of(d->kind);
	size_t per = k->drawing ? 2 : 1; /* names per month */
	struct node_fixed *f = calloc(per * TREE_LISTED_MONTHS, sizeof(*f));
	time_t now = time(NULL);
	struct tm tm;
	int y, m;

	if (!f)
		return -ENOMEM;
	d->months = f;
	gmtime_r(&now, &tm);
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	for (size_t i = 0; i < per * TREE_LISTED_MONTHS; i++) {
		int drawn = i % per == 1;
		char *name = malloc(12);

		if (!name)
			return -ENOMEM;
		snprintf(name, 12, "%04d-%02d%s", y, m, drawn ? ".svg" : "");
		f[i].name = name;
		f[i].kind = drawn ? k->drawing : k->child;
		d->n_fixed = i + 1; /* so far, for tree_closedir() */
		if (i % per == per - 1 && --m == 0) {
			m = 12;
			y--;
		}
	}
	d->fixed = f;
	return 0;
}

/* A listed directory: its listing, and the local files it holds. */
static int tree_dir_listed(struct tree *tree, struct tree_dir *d)
{
	const struct node_info *k = node_of(d->kind);
	long n;
	int rc;

	rc = tree_listing(tree, k->lists, d->cid, &d->val);
	if (rc == 0 && k->suffix)
		rc = tree_dir_suffixed(d, k->suffix);
	/* Local files are listed where files are made (not
	 * collections/NAME.json). */
	if (rc < 0 || k->write != NODE_W_ENTRIES || !tree->local)
		return rc;
	n = scratch_list(tree->local, d->kind, d->cid, &d->scratch_names,
			 &d->scratch_inos);
	d->n_local = n < 0 ? 0 : (size_t)n;
	return n < 0 ? (int)n : 0;
}

/* What a directory holds, by what its entries are (node.h). */
static int tree_dir_fill(struct tree *tree, struct tree_dir *d)
{
	const struct node_info *k = node_of(d->kind);
	struct node_id n = { d->kind, d->cid, (char *)"" };
	struct tree_entry e;

	if (k->mode != NODE_MODE_DIR)
		return -ENOTDIR;
	/* Fixed and query entries do not prove the directory is still there. */
	if (k->entries != NODE_E_LISTED && tree_in_listing(&n)) {
		int rc = tree_stale(n.kind, tree_attr(tree, &n, &e));

		if (rc < 0)
			return rc;
	}
	switch (k->entries) {
	case NODE_E_FIXED:
		d->fixed = k->fixed;
		d->n_fixed = k->n_fixed;
		return 0;
	case NODE_E_MONTHS:
		return tree_dir_months(d);
	case NODE_E_QUERIES:
		return 0; /* always empty: listing must never start a search */
	case NODE_E_LISTED:
		return tree_dir_listed(tree, d);
	default:
		return -ENOTDIR;
	}
}

int tree_opendir(struct tree *tree, uint64_t ino, struct tree_dir **out)
{
	struct node_id n = { 0 };
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
	rc = tree_dir_fill(tree, d);
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

static int tree_dir_scratch_entry(struct tree *tree, struct tree_dir *d,
				  size_t i, int plus, const char **name,
				  struct tree_entry *e)
{
	struct scratch_info li;

	*name = d->scratch_names[i];
	if (!plus ||
	    scratch_get_ino(tree->local, d->scratch_inos[i], &li) < 0) {
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

static int tree_dir_fixed_entry(struct tree *tree, struct tree_dir *d, size_t i,
				int plus, struct tree_entry *e)
{
	const struct node_fixed *f = &d->fixed[i];
	struct node_id child = { f->kind, d->cid, (char *)"" };
	enum node_open open = node_of(f->kind)->open;
	int rc;

	/* Rendered files cost requests to size: leave their attributes to
	 * lookup. */
	if (!plus || open == NODE_O_TEXT || open == NODE_O_STATS) {
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
	enum node_kind kind = node_of(d->kind)->child;
	const char *cid, *id;
	const struct res *r;

	if (i >= tree_dir_count(d))
		return -ENOENT;
	if (i >= tree_dir_count(d) - d->n_local)
		return tree_dir_scratch_entry(
			tree, d, i - (tree_dir_count(d) - d->n_local), plus,
			name, e);
	if (!d->val) {
		*name = d->fixed[i].name;
		return tree_dir_fixed_entry(tree, d, i, plus, e);
	}
	r = &d->val->list->v[i];
	*name = d->suffixed ? d->suffixed[i] : r->name;
	/* without plus only the type is read: no size or version to work out */
	if (plus)
		tree_stat_res(tree, kind, r, e);
	else
		tree_stat_base(tree, kind, 0, 0, e);
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
	if (d->suffixed && d->val)
		for (size_t i = 0; i < d->val->list->n; i++)
			free(d->suffixed[i]);
	free(d->suffixed);
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
