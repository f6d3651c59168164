/* ns.c - the namespace of the mount; see ns.h. */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NS_UNKNOWN_INO 0xffffffffu
#define NS_META_SUFFIX ".json"

struct ns {
	struct cache *cache;
	struct inode_table *inodes;
	struct ns_opts o;
	time_t mount_time;
};

struct ns_fixed {
	const char *name;
	enum node_kind kind;
};

static const struct ns_fixed ns_root_children[] = {
	{ "billing", NODE_BILLING },
	{ "collections", NODE_COLLS_DIR },
	{ "keys", NODE_KEYS_DIR },
	{ "models", NODE_MODELS_DIR },
	{ "regions", NODE_REGIONS },
	{ "usage", NODE_USAGE },
};

static const struct ns_fixed ns_coll_children[] = {
	{ "collection.json", NODE_COLL_JSON },
	{ "documents", NODE_DOCS_DIR },
	{ "metadata", NODE_META_DIR },
};

#define NS_COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct ns_dir {
	enum node_kind kind;
	char *cid;
	const struct ns_fixed *fixed;	/* fixed directories */
	size_t n_fixed;
	struct cval *val;		/* listed directories */
	char **meta_names;		/* metadata/: "<doc>.json" per entry */
};

static const char *const ns_probes[] = {
	".Trash", ".hidden", ".xdg-volume-info", "autorun.inf", ".DS_Store",
	"desktop.ini", "Thumbs.db", ".directory", NULL
};

int ns_is_probe(const char *name)
{
	for (int i = 0; ns_probes[i]; i++)
		if (strcmp(name, ns_probes[i]) == 0)
			return 1;
	return strncmp(name, ".Trash-", 7) == 0 || strncmp(name, "._", 2) == 0;
}

struct ns *ns_new(struct cache *c, struct inode_table *t, const struct ns_opts *o)
{
	struct ns *ns = calloc(1, sizeof(*ns));

	if (!ns)
		return NULL;
	ns->cache = c;
	ns->inodes = t;
	ns->o = *o;
	ns->mount_time = time(NULL);
	/* The fixed nodes exist from the start, pinned. */
	inode_get(t, NODE_ROOT, NULL, NULL, 0);
	for (size_t i = 0; i < NS_COUNT(ns_root_children); i++)
		inode_get(t, ns_root_children[i].kind, NULL, NULL, 0);
	return ns;
}

void ns_free(struct ns *ns)
{
	free(ns);
}

static int ns_is_dir_kind(enum node_kind k)
{
	return k == NODE_ROOT || k == NODE_KEYS_DIR || k == NODE_MODELS_DIR ||
	       k == NODE_COLLS_DIR || k == NODE_COLL_DIR || k == NODE_DOCS_DIR ||
	       k == NODE_META_DIR;
}

static void ns_stat_base(struct ns *ns, enum node_kind kind, int64_t mtime, off_t size,
			 struct ns_entry *e)
{
	memset(&e->st, 0, sizeof(e->st));
	if (ns_is_dir_kind(kind)) {
		e->st.st_mode = S_IFDIR | 0700;
		e->st.st_nlink = 2;
		e->st.st_size = 0;
	} else {
		e->st.st_mode = S_IFREG | 0600;
		e->st.st_nlink = 1;
		e->st.st_size = size < 0 ? 0 : size;
	}
	e->st.st_uid = ns->o.uid;
	e->st.st_gid = ns->o.gid;
	e->st.st_blksize = 4096;
	e->st.st_blocks = (e->st.st_size + 511) / 512;
	e->st.st_mtime = mtime > 0 ? (time_t)mtime : ns->mount_time;
	e->st.st_ctime = e->st.st_mtime;
	e->st.st_atime = e->st.st_mtime;
	e->entry_ttl = ns->o.entry_ttl;
	e->attr_ttl = ns->o.entry_ttl;
}

/* Attributes of a listed resource of the given kind. */
static void ns_stat_res(struct ns *ns, enum node_kind kind, const struct res *r,
			struct ns_entry *e)
{
	off_t size = kind == NODE_DOC ? (off_t)r->size : (off_t)r->json_len;

	ns_stat_base(ns, kind, r->mtime, ns_is_dir_kind(kind) ? 0 : size, e);
}

/* Attributes of a rendered file (regions, usage, billing). */
static int ns_stat_text(struct ns *ns, enum node_kind kind, struct ns_entry *e)
{
	struct cval *v = NULL;
	int rc;

	if (kind == NODE_REGIONS)
		rc = cache_regions(ns->cache, &v);
	else if (kind == NODE_USAGE)
		rc = cache_usage(ns->cache, &v);
	else
		rc = cache_billing(ns->cache, &v);
	if (rc < 0)
		return rc;
	ns_stat_base(ns, kind, kind == NODE_REGIONS ? 0 : v->fetched, (off_t)v->len, e);
	if (kind != NODE_REGIONS) {
		e->attr_ttl = ns->o.live_ttl;
		e->entry_ttl = ns->o.live_ttl;
	}
	cval_unref(v);
	return 0;
}

/* The listing a node of this kind lives in (with cid for documents). */
static int ns_listing(struct ns *ns, enum node_kind kind, const char *cid, struct cval **out)
{
	switch (kind) {
	case NODE_KEYS_DIR:
	case NODE_KEY:
		return cache_keys(ns->cache, out);
	case NODE_MODELS_DIR:
	case NODE_MODEL:
		return cache_models(ns->cache, out);
	case NODE_COLLS_DIR:
	case NODE_COLL_DIR:
	case NODE_COLL_JSON:
		return cache_collections(ns->cache, out);
	case NODE_DOCS_DIR:
	case NODE_META_DIR:
	case NODE_DOC:
	case NODE_DOC_META:
		return cache_documents(ns->cache, cid, out);
	default:
		return -ENOENT;
	}
}

/* Attributes of any node, fetching through the cache as needed. */
static int ns_attr(struct ns *ns, const struct node_id *n, struct ns_entry *e)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc;

	switch (n->kind) {
	case NODE_ROOT:
	case NODE_KEYS_DIR:
	case NODE_MODELS_DIR:
	case NODE_COLLS_DIR:
		ns_stat_base(ns, n->kind, 0, 0, e);
		return 0;
	case NODE_REGIONS:
	case NODE_USAGE:
	case NODE_BILLING:
		return ns_stat_text(ns, n->kind, e);
	default:
		break;
	}
	/* Collection-level nodes are found by collection id, the rest by id. */
	if (n->kind == NODE_COLL_DIR || n->kind == NODE_COLL_JSON ||
	    n->kind == NODE_DOCS_DIR || n->kind == NODE_META_DIR) {
		rc = cache_collections(ns->cache, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->cid) : NULL;
	} else {
		rc = ns_listing(ns, n->kind, n->cid, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
	}
	if (rc == 0 && !r)
		rc = -ENOENT;
	if (rc == 0) {
		if (n->kind == NODE_DOCS_DIR || n->kind == NODE_META_DIR)
			ns_stat_base(ns, n->kind, r->mtime, 0, e);
		else
			ns_stat_res(ns, n->kind, r, e);
	}
	cval_unref(v);
	return rc;
}

int ns_getattr(struct ns *ns, uint64_t ino, struct ns_entry *out)
{
	struct node_id n = { 0 };
	int rc = inode_find(ns->inodes, ino, &n);

	if (rc == 0)
		rc = ns_attr(ns, &n, out);
	if (rc == 0) {
		out->ino = ino;
		out->st.st_ino = (ino_t)ino;
	}
	node_id_release(&n);
	return rc;
}

static const struct ns_fixed *ns_find_fixed(const struct ns_fixed *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* Kind of the entries of a listed directory. */
static enum node_kind ns_child_kind(enum node_kind dir)
{
	switch (dir) {
	case NODE_KEYS_DIR:
		return NODE_KEY;
	case NODE_MODELS_DIR:
		return NODE_MODEL;
	case NODE_COLLS_DIR:
		return NODE_COLL_DIR;
	case NODE_DOCS_DIR:
		return NODE_DOC;
	case NODE_META_DIR:
		return NODE_DOC_META;
	default:
		return NODE_NONE;
	}
}

/* Identity of a listed child: collections are known by their collection id. */
static void ns_child_ident(enum node_kind kind, const char *parent_cid, const struct res *r,
			   const char **cid, const char **id)
{
	if (kind == NODE_COLL_DIR) {
		*cid = r->id;
		*id = "";
	} else {
		*cid = parent_cid;
		*id = r->id;
	}
}

static int ns_lookup_listed(struct ns *ns, const struct node_id *p, const char *name,
			    struct ns_entry *e)
{
	enum node_kind kind = ns_child_kind(p->kind);
	const char *cid, *id;
	const struct res *r = NULL;
	struct cval *v = NULL;
	char *base = NULL;
	int rc;

	if (kind == NODE_NONE)
		return -ENOTDIR;
	if (kind == NODE_DOC_META) {
		size_t n = strlen(name), s = strlen(NS_META_SUFFIX);

		if (n <= s || strcmp(name + n - s, NS_META_SUFFIX) != 0)
			return -ENOENT;
		base = strndup(name, n - s);
		if (!base)
			return -ENOMEM;
		name = base;
	}
	rc = ns_listing(ns, kind, p->cid, &v);
	if (rc == 0 && !(r = reslist_by_name(v->list, name)))
		rc = -ENOENT;
	if (rc == 0) {
		ns_stat_res(ns, kind, r, e);
		ns_child_ident(kind, p->cid, r, &cid, &id);
		e->ino = inode_get(ns->inodes, kind, cid, id, 1);
		if (!e->ino)
			rc = -ENOMEM;
	}
	cval_unref(v);
	free(base);
	return rc;
}

static int ns_lookup_fixed(struct ns *ns, const struct node_id *p, const struct ns_fixed *f,
			   struct ns_entry *e)
{
	struct node_id child = { f->kind, p->cid, (char *)"" };
	int rc = ns_attr(ns, &child, e);

	if (rc == 0) {
		e->ino = inode_get(ns->inodes, f->kind, p->cid, "", 1);
		if (!e->ino)
			rc = -ENOMEM;
	}
	return rc;
}

int ns_lookup(struct ns *ns, uint64_t parent, const char *name, struct ns_entry *out)
{
	struct node_id p = { 0 };
	const struct ns_fixed *f;
	int rc;

	if (ns_is_probe(name))
		return -ENOENT;
	rc = inode_find(ns->inodes, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind == NODE_ROOT) {
		f = ns_find_fixed(ns_root_children, NS_COUNT(ns_root_children), name);
		rc = f ? ns_lookup_fixed(ns, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_COLL_DIR) {
		f = ns_find_fixed(ns_coll_children, NS_COUNT(ns_coll_children), name);
		rc = f ? ns_lookup_fixed(ns, &p, f, out) : -ENOENT;
	} else {
		rc = ns_lookup_listed(ns, &p, name, out);
	}
	if (rc == 0)
		out->st.st_ino = (ino_t)out->ino;
	node_id_release(&p);
	return rc;
}

void ns_forget(struct ns *ns, uint64_t ino, uint64_t n)
{
	inode_forget(ns->inodes, ino, n);
}

/* ---- directories ---- */

static int ns_dir_meta_names(struct ns_dir *d)
{
	const struct reslist *l = d->val->list;

	d->meta_names = calloc(l->n ? l->n : 1, sizeof(*d->meta_names));
	if (!d->meta_names)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(l->v[i].name) + sizeof(NS_META_SUFFIX);

		d->meta_names[i] = malloc(n);
		if (!d->meta_names[i])
			return -ENOMEM;
		snprintf(d->meta_names[i], n, "%s%s", l->v[i].name, NS_META_SUFFIX);
	}
	return 0;
}

int ns_opendir(struct ns *ns, uint64_t ino, struct ns_dir **out)
{
	struct node_id n = { 0 };
	struct ns_entry e;
	struct ns_dir *d;
	int rc;

	rc = inode_find(ns->inodes, ino, &n);
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
		d->fixed = ns_root_children;
		d->n_fixed = NS_COUNT(ns_root_children);
	} else if (n.kind == NODE_COLL_DIR) {
		d->fixed = ns_coll_children;
		d->n_fixed = NS_COUNT(ns_coll_children);
		n.cid = d->cid;
		rc = ns_attr(ns, &n, &e);	/* the collection must still exist */
		n.cid = NULL;
	} else if (ns_child_kind(n.kind) != NODE_NONE) {
		rc = ns_listing(ns, n.kind, d->cid, &d->val);
		if (rc == 0 && n.kind == NODE_META_DIR)
			rc = ns_dir_meta_names(d);
	} else {
		rc = -ENOTDIR;
	}
out:
	if (rc < 0)
		ns_closedir(d);
	else
		*out = d;
	node_id_release(&n);
	return rc;
}

size_t ns_dir_count(const struct ns_dir *d)
{
	return d->val ? d->val->list->n : d->n_fixed;
}

static int ns_dir_fixed_entry(struct ns *ns, struct ns_dir *d, size_t i, int plus,
			      struct ns_entry *e)
{
	const struct ns_fixed *f = &d->fixed[i];
	struct node_id child = { f->kind, d->cid, (char *)"" };
	int rc;

	/* Rendered files cost requests to size: leave their attributes to lookup. */
	if (!plus || f->kind == NODE_REGIONS || f->kind == NODE_USAGE ||
	    f->kind == NODE_BILLING) {
		ns_stat_base(ns, f->kind, 0, 0, e);
		e->ino = 0;
		e->st.st_ino = NS_UNKNOWN_INO;
		return 0;
	}
	rc = ns_attr(ns, &child, e);
	if (rc < 0)
		return rc;
	e->ino = inode_get(ns->inodes, f->kind, d->cid, "", 1);
	e->st.st_ino = (ino_t)e->ino;
	return e->ino ? 0 : -ENOMEM;
}

int ns_dir_entry(struct ns *ns, struct ns_dir *d, size_t i, int plus,
		 const char **name, struct ns_entry *e)
{
	enum node_kind kind = ns_child_kind(d->kind);
	const char *cid, *id;
	const struct res *r;

	if (i >= ns_dir_count(d))
		return -ENOENT;
	if (!d->val) {
		*name = d->fixed[i].name;
		return ns_dir_fixed_entry(ns, d, i, plus, e);
	}
	r = &d->val->list->v[i];
	*name = d->meta_names ? d->meta_names[i] : r->name;
	ns_stat_res(ns, kind, r, e);
	e->ino = 0;
	e->st.st_ino = NS_UNKNOWN_INO;
	if (plus) {
		ns_child_ident(kind, d->cid, r, &cid, &id);
		e->ino = inode_get(ns->inodes, kind, cid, id, 1);
		if (!e->ino)
			return -ENOMEM;
		e->st.st_ino = (ino_t)e->ino;
	}
	return 0;
}

void ns_closedir(struct ns_dir *d)
{
	if (!d)
		return;
	if (d->meta_names && d->val)
		for (size_t i = 0; i < d->val->list->n; i++)
			free(d->meta_names[i]);
	free(d->meta_names);
	cval_unref(d->val);
	free(d->cid);
	free(d);
}

/* ---- files ---- */

static int ns_spool_fd(const char *dir)
{
	char path[4096];
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd >= 0 ? fd : -errno;
	snprintf(path, sizeof(path), "%s/xaifs-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

static int ns_open_document(struct ns *ns, const struct node_id *n, struct ns_file *f)
{
	struct ns_entry e;
	uint64_t bytes = 0;
	int rc, fd;

	rc = ns_attr(ns, n, &e);
	if (rc < 0)
		return rc;
	fd = ns_spool_fd(ns->o.tmpdir);
	if (fd < 0) {
		log_error("cannot make a spool file in '%s': %s", ns->o.tmpdir, strerror(-fd));
		return fd;
	}
	rc = cache_read_document(ns->cache, n->id, fd, &bytes);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	f->fd = fd;
	/* A size that disagrees with the listing must not truncate reads. */
	f->direct_io = (off_t)bytes != e.st.st_size;
	return 0;
}

static int ns_open_json(struct ns *ns, const struct node_id *n, struct ns_file *f)
{
	const struct res *r = NULL;
	struct cval *v = NULL;
	int rendered = n->kind == NODE_REGIONS || n->kind == NODE_USAGE ||
		       n->kind == NODE_BILLING;
	int rc;

	switch (n->kind) {
	case NODE_REGIONS:
		rc = cache_regions(ns->cache, &v);
		break;
	case NODE_USAGE:
		rc = cache_usage(ns->cache, &v);
		break;
	case NODE_BILLING:
		rc = cache_billing(ns->cache, &v);
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
		return -ENOENT;
	}
	f->val = v;
	f->data = rendered ? v->text : r->json;
	f->len = rendered ? v->len : r->json_len;
	f->direct_io = 1;
	return 0;
}

int ns_open(struct ns *ns, uint64_t ino, int flags, struct ns_file **out)
{
	struct node_id n = { 0 };
	struct ns_file *f = NULL;
	int rc;

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
	if (n.kind == NODE_DOC)
		rc = ns_open_document(ns, &n, f);
	else
		rc = ns_open_json(ns, &n, f);
	if (rc == 0) {
		*out = f;
		f = NULL;
	}
out:
	free(f);
	node_id_release(&n);
	return rc;
}

void ns_release(struct ns_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	cval_unref(f->val);
	free(f);
}
