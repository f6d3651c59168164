/* tree.c - the namespace of the mount; see tree.h. */
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "log.h"
#include "model.h"
#include "model_account.h"
#include "names.h"
#include "anonfile.h"
#include "tree_int.h"

const struct tree_fixed tree_root_children[14] = {
	{ ".xaifs", NODE_CTL_DIR },
	{ "audit.jsonl", NODE_AUDIT },
	{ "billing", NODE_BILLING },
	{ "collections", NODE_COLLS_DIR },
	{ "endpoints", NODE_ENDPOINTS },
	{ "invoices", NODE_INVOICES_DIR },
	{ "keys", NODE_KEYS_DIR },
	{ "models", NODE_MODELS_DIR },
	{ "regions", NODE_REGIONS },
	{ "search", NODE_SEARCH_DIR },
	{ "spending-limits", NODE_LIMITS },
	{ "usage", NODE_USAGE },
	{ "usage-by-month", NODE_USAGE_DIR },
	{ "usage.svg", NODE_USAGE_SVG },
};

const struct tree_fixed tree_coll_children[4] = {
	{ "collection.json", NODE_COLL_JSON },
	{ "documents", NODE_DOCS_DIR },
	{ "metadata", NODE_META_DIR },
	{ "search", NODE_SEARCH_DIR },
};

const struct tree_fixed tree_ctl_children[2] = {
	{ "refresh", NODE_CTL_REFRESH },
	{ "stats", NODE_CTL_STATS },
};

int tree_is_probe(const char *name)
{
	return names_is_probe(name);
}

struct tree *tree_new(struct cache *c, struct inode_table *t, struct scratch *local,
		  const struct tree_opts *o)
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
	/* The fixed nodes exist from the start, pinned. */
	inode_get(t, NODE_ROOT, NULL, NULL, 0);
	for (size_t i = 0; i < TREE_COUNT(tree_root_children); i++)
		inode_get(t, tree_root_children[i].kind, NULL, NULL, 0);
	for (size_t i = 0; i < TREE_COUNT(tree_ctl_children); i++)
		inode_get(t, tree_ctl_children[i].kind, NULL, NULL, 0);
	return tree;
}

static void tree_secret_free(struct tree_secret *s)
{
	explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->key_id);
	free(s);
}

void tree_free(struct tree *tree)
{
	struct tree_secret *s, *next;

	if (!tree)
		return;
	for (s = tree->secrets; s; s = next) {
		next = s->next;
		tree_secret_free(s);
	}
	pthread_mutex_destroy(&tree->secrets_lock);
	pthread_mutex_destroy(&tree->notify_lock);
	free(tree);
}

int tree_set_secret(struct tree *tree, const char *key_id, const char *secret)
{
	struct tree_secret *s = calloc(1, sizeof(*s));

	if (!s || !(s->key_id = strdup(key_id)) || !(s->secret = strdup(secret))) {
		if (s)
			free(s->key_id);
		free(s);
		return -ENOMEM;
	}
	tree_forget_secret(tree, key_id);
	pthread_mutex_lock(&tree->secrets_lock);
	s->next = tree->secrets;
	tree->secrets = s;
	pthread_mutex_unlock(&tree->secrets_lock);
	tree_key_changed(tree, key_id);
	return 0;
}

void tree_forget_secret(struct tree *tree, const char *key_id)
{
	int found = 0;

	pthread_mutex_lock(&tree->secrets_lock);
	for (struct tree_secret **p = &tree->secrets; *p; p = &(*p)->next) {
		if (strcmp((*p)->key_id, key_id) == 0) {
			struct tree_secret *s = *p;

			*p = s->next;
			tree_secret_free(s);
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&tree->secrets_lock);
	/* The kernel's pages of the key may hold the secret: take them back. */
	if (found)
		tree_key_changed(tree, key_id);
}

/*
 * The bytes of a key's file: its rendering, with the one-time secret put
 * back when the mount holds one. *owned is set when a new buffer was made.
 */
int tree_key_bytes(struct tree *tree, const struct res *r, char **owned,
			const char **data, size_t *len)
{
	char *secret = NULL;
	int rc = 0;

	*owned = NULL;
	*data = r->json;
	*len = r->json_len;
	pthread_mutex_lock(&tree->secrets_lock);
	for (struct tree_secret *s = tree->secrets; s; s = s->next)
		if (strcmp(s->key_id, r->id) == 0) {
			secret = strdup(s->secret);
			rc = secret ? 0 : -ENOMEM;
			break;
		}
	pthread_mutex_unlock(&tree->secrets_lock);
	if (!secret)
		return rc;
	rc = model_key_with_secret(r->json, r->json_len, secret, owned, len);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if (rc == 0)
		*data = *owned;
	return rc;
}


int tree_resource(struct tree *tree, uint64_t ino, struct node_id *n, struct cval **v,
		const struct res **r)
{
	int rc = inode_find(tree->inodes, ino, n);
	int by_cid;

	if (rc < 0)
		return rc;
	if (n->kind == NODE_LOCAL && tree_scratch_target(tree, ino, n) < 0)
		return -ENOENT;
	by_cid = n->kind == NODE_COLL_DIR || n->kind == NODE_COLL_JSON;
	if (!by_cid && n->kind != NODE_KEY && n->kind != NODE_MODEL && n->kind != NODE_DOC &&
	    n->kind != NODE_DOC_META)
		return -ENOENT;
	rc = tree_listing(tree, n->kind, n->cid, v);
	return rc < 0 ? rc : cval_find(v, by_cid ? n->cid : n->id, 1, r);
}

struct cache *tree_cache(struct tree *tree)
{
	return tree->cache;
}

int tree_node(struct tree *tree, uint64_t ino, struct node_id *out)
{
	return inode_find(tree->inodes, ino, out);
}

void tree_each_inode(struct tree *tree, void (*fn)(void *ctx, uint64_t ino, enum node_kind kind),
		   void *ctx)
{
	inode_each(tree->inodes, fn, ctx);
}

uint64_t tree_dir_ino(struct tree *tree, enum node_kind kind, const char *cid)
{
	return inode_get(tree->inodes, kind, cid, "", 0);
}

int tree_is_dir_kind(enum node_kind k)
{
	return k == NODE_ROOT || k == NODE_KEYS_DIR || k == NODE_MODELS_DIR ||
	       k == NODE_COLLS_DIR || k == NODE_COLL_DIR || k == NODE_DOCS_DIR ||
	       k == NODE_META_DIR || k == NODE_CTL_DIR || k == NODE_USAGE_DIR ||
	       k == NODE_SEARCH_DIR || k == NODE_INVOICES_DIR;
}

/* Files that can be opened for writing, on a writable mount. */
static int tree_is_writable_kind(enum node_kind k)
{
	return k == NODE_KEY || k == NODE_COLL_JSON || k == NODE_DOC || k == NODE_LOCAL ||
	       k == NODE_CTL_REFRESH || k == NODE_LIMITS;
}

/* The permission bits of a node of this kind; see struct tree_opts. */
static mode_t tree_perm(const struct tree *tree, enum node_kind kind)
{
	mode_t perm;

	if (tree_is_dir_kind(kind)) {
		perm = 0777 & ~tree->o.umask;
		perm |= (perm & 0444) >> 2;
	} else {
		perm = 0666 & ~tree->o.umask;
		if (!tree_is_writable_kind(kind))
			perm &= ~0222;
	}
	return tree->o.read_only ? perm & ~0222 : perm;
}

void tree_stat_base(struct tree *tree, enum node_kind kind, int64_t mtime, off_t size,
			 struct tree_entry *e)
{
	memset(&e->st, 0, sizeof(e->st));
	if (tree_is_dir_kind(kind)) {
		e->st.st_mode = S_IFDIR | tree_perm(tree, kind);
		e->st.st_nlink = 2;
		e->st.st_size = 0;
	} else {
		e->st.st_mode = S_IFREG | tree_perm(tree, kind);
		e->st.st_nlink = 1;
		e->st.st_size = size < 0 ? 0 : size;
	}
	e->st.st_uid = tree->o.uid;
	e->st.st_gid = tree->o.gid;
	e->st.st_blksize = 4096;
	e->st.st_blocks = (e->st.st_size + 511) / 512;
	e->st.st_mtime = mtime > 0 ? (time_t)mtime : tree->mount_time;
	e->st.st_ctime = e->st.st_mtime;
	e->st.st_atime = e->st.st_mtime;
	e->entry_ttl = tree->o.entry_ttl;
	e->attr_ttl = tree->o.entry_ttl;
	e->version = 0;
}

/* Attributes of a listed resource of the given kind. */
void tree_stat_res(struct tree *tree, enum node_kind kind, const struct res *r,
			struct tree_entry *e)
{
	off_t size = kind == NODE_DOC ? (off_t)r->size : (off_t)r->json_len;
	const char *data;
	char *owned = NULL;
	size_t len;

	uint64_t version = 0;

	if (kind == NODE_KEY && tree_key_bytes(tree, r, &owned, &data, &len) == 0) {
		size = (off_t)len;
		version = tree_version(data, len);
	} else if (kind != NODE_DOC && !tree_is_dir_kind(kind)) {
		version = tree_version(r->json, r->json_len);
	}
	if (owned)
		explicit_bzero(owned, len);
	free(owned);
	tree_stat_base(tree, kind, r->mtime, tree_is_dir_kind(kind) ? 0 : size, e);
	e->version = version;
}

/* Attributes of a file that lives only in the mount. */
void tree_stat_scratch(struct tree *tree, const struct scratch_info *li, struct tree_entry *e)
{
	tree_stat_base(tree, NODE_LOCAL, li->mtime.tv_sec, li->size, e);
	e->st.st_mtim = li->mtime;
	e->st.st_ctim = li->mtime;
	e->st.st_atim = li->mtime;
	/* Its size changes with every write: let the kernel ask again. */
	e->attr_ttl = 0;
}

/* .xaifs/stats: the mount's counters as JSON (never a credential). */
int tree_render_stats(struct tree *tree, char **out, size_t *len)
{
	struct model_counter c[API_ROUTE_COUNT + 32];
	struct api *api = cache_api(tree->cache);
	struct cache_stats cs;
	struct http_stats hs = { 0 };
	size_t n = 0;

	cache_get_stats(tree->cache, &cs);
	if (api)
		api_http_stats(api, &hs);
	for (int r = 0; api && r < API_ROUTE_COUNT; r++)
		c[n++] = (struct model_counter){ "requests", api_route_name(r),
						 api_route_count(api, r) };
	if (api) {
		c[n++] = (struct model_counter){ "uploads", "streamed",
						 api_stream_counter(api, API_STREAMS) };
		c[n++] = (struct model_counter){ "uploads", "streamed_bytes",
						 api_stream_counter(api, API_STREAM_BYTES) };
		c[n++] = (struct model_counter){ "uploads", "abandoned",
						 api_stream_counter(api, API_STREAMS_ABANDONED) };
	}
	c[n++] = (struct model_counter){ "http", "requests", hs.requests };
	c[n++] = (struct model_counter){ "http", "retries", hs.retries };
	c[n++] = (struct model_counter){ "http", "errors", hs.errors };
	c[n++] = (struct model_counter){ "http", "bytes_up", hs.bytes_up };
	c[n++] = (struct model_counter){ "http", "bytes_down", hs.bytes_down };
	c[n++] = (struct model_counter){ "cache", "hits", cs.hits };
	c[n++] = (struct model_counter){ "cache", "misses", cs.misses };
	c[n++] = (struct model_counter){ "cache", "joins", cs.joins };
	c[n++] = (struct model_counter){ "cache", "entries", cs.entries };
	c[n++] = (struct model_counter){ "cache", "document_hits", cs.doc_hits };
	c[n++] = (struct model_counter){ "cache", "document_misses", cs.doc_misses };
	c[n++] = (struct model_counter){ "cache", "write_through", cs.write_through };
	c[n++] = (struct model_counter){ "inodes", "count", inode_count(tree->inodes) };
	c[n++] = (struct model_counter){ "fuse", "opens",
					 __atomic_load_n(&tree->opens, __ATOMIC_RELAXED) };
	c[n++] = (struct model_counter){ "fuse", "reads",
					 __atomic_load_n(&tree->reads, __ATOMIC_RELAXED) };
	return model_render_counters(c, n, out, len);
}

int tree_is_rendered(enum node_kind k)
{
	return k == NODE_REGIONS || k == NODE_USAGE || k == NODE_BILLING || k == NODE_AUDIT ||
	       k == NODE_USAGE_MONTH || k == NODE_ENDPOINTS || k == NODE_LIMITS ||
	       k == NODE_SEARCH || k == NODE_USAGE_SVG || k == NODE_USAGE_MONTH_SVG;
}

/* The oldest month usage-by-month/ answers for. */
#define TREE_FIRST_MONTH 202301

/* Whether s is "YYYY-MM" from TREE_FIRST_MONTH to the current month. */
static int tree_month_ok(const char *s)
{
	time_t now = time(NULL);
	struct tm tm;
	int y, m, n = 0;

	if (strlen(s) != 7 || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 ||
	    s[4] != '-' || m < 1 || m > 12)
		return 0;
	gmtime_r(&now, &tm);
	return y * 100 + m >= TREE_FIRST_MONTH &&
	       y * 100 + m <= (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

/* The text of a rendered file (regions, usage, billing, audit, a month's usage). */
int tree_text(struct tree *tree, enum node_kind kind, const char *id, struct cval **v)
{
	switch (kind) {
	case NODE_REGIONS:
		return cache_regions(tree->cache, v);
	case NODE_USAGE:
		return cache_usage(tree->cache, v);
	case NODE_BILLING:
		return cache_billing(tree->cache, v);
	case NODE_AUDIT:
		return cache_audit(tree->cache, v);
	case NODE_USAGE_MONTH:
		return tree_month_ok(id) ? cache_usage_month(tree->cache, id, v) : -ENOENT;
	case NODE_ENDPOINTS:
		return account_endpoints(tree->cache, v);
	case NODE_LIMITS:
		return account_limits(tree->cache, v);
	case NODE_USAGE_SVG:
		return account_usage_svg(tree->cache, v);
	case NODE_USAGE_MONTH_SVG:
		return tree_month_ok(id) ? account_usage_month_svg(tree->cache, id, v) : -ENOENT;
	default:
		return -ENOENT;
	}
}

/* Attributes of a rendered file. */
static int tree_stat_text(struct tree *tree, enum node_kind kind, const char *id, struct tree_entry *e)
{
	struct cval *v = NULL;
	int rc;

	rc = tree_text(tree, kind, id, &v);
	if (rc < 0)
		return rc;
	tree_stat_base(tree, kind, kind == NODE_REGIONS ? 0 : v->fetched, (off_t)v->len, e);
	e->version = v->text ? tree_version(v->text, v->len) : 0;
	if (kind != NODE_REGIONS) {
		e->attr_ttl = tree->o.live_ttl;
		e->entry_ttl = tree->o.live_ttl;
	}
	cval_unref(v);
	return 0;
}

/* The listing a node of this kind lives in (with cid for documents). */
int tree_listing(struct tree *tree, enum node_kind kind, const char *cid, struct cval **out)
{
	switch (kind) {
	case NODE_KEYS_DIR:
	case NODE_KEY:
		return cache_keys(tree->cache, out);
	case NODE_MODELS_DIR:
	case NODE_MODEL:
		return cache_models(tree->cache, out);
	case NODE_COLLS_DIR:
	case NODE_COLL_DIR:
	case NODE_COLL_JSON:
		return cache_collections(tree->cache, out);
	case NODE_DOCS_DIR:
	case NODE_META_DIR:
	case NODE_DOC:
	case NODE_DOC_META:
		return cache_documents(tree->cache, cid, out);
	case NODE_INVOICES_DIR:
	case NODE_INVOICE:
		return account_invoices(tree->cache, out);
	default:
		return -ENOENT;
	}
}

/*
 * A search file's name: a query, not hidden (editors' swap files, desktop
 * probes and dot files are never searched for) and without an asterisk: a
 * shell passes a glob that matched nothing on as its literal text, and ls of
 * such a glob in search/ must not search for it. Costs nothing.
 */
int tree_search_name_ok(const char *name)
{
	struct model_search_q q;

	return name[0] != '.' && !strchr(name, '*') && !tree_is_probe(name) &&
	       model_search_query(name, &q) == 0;
}

/* Attributes of a search file: its size is the cached result's. */
static int tree_stat_search(struct tree *tree, const struct node_id *n, struct tree_entry *e)
{
	struct cval *v = NULL;
	int rc;

	if (!tree_search_name_ok(n->id))
		return -ENOENT;
	rc = account_search(tree->cache, n->cid, n->id, &v);
	if (rc < 0)
		return rc;
	tree_stat_base(tree, NODE_SEARCH, v->fetched, (off_t)v->len, e);
	cval_unref(v);
	return 0;
}

/* Attributes of any node, fetching through the cache as needed. */
int tree_attr(struct tree *tree, const struct node_id *n, struct tree_entry *e)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc;

	switch (n->kind) {
	case NODE_ROOT:
	case NODE_KEYS_DIR:
	case NODE_MODELS_DIR:
	case NODE_COLLS_DIR:
		tree_stat_base(tree, n->kind, 0, 0, e);
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
		return tree_stat_text(tree, n->kind, n->id, e);
	case NODE_SEARCH:
		return tree_stat_search(tree, n, e);
	case NODE_INVOICES_DIR:
		tree_stat_base(tree, n->kind, 0, 0, e);
		return 0;
	case NODE_SEARCH_DIR:
		if (*n->cid)
			break;	/* a collection's: found by its collection id below */
		tree_stat_base(tree, n->kind, 0, 0, e);
		return 0;
	case NODE_USAGE_DIR:
		tree_stat_base(tree, n->kind, 0, 0, e);
		return 0;
	case NODE_LOCAL:
		return -ENOENT;	/* handled by tree_getattr() through its inode */
	case NODE_CTL_DIR:
		tree_stat_base(tree, n->kind, 0, 0, e);
		return 0;
	case NODE_CTL_REFRESH:
		tree_stat_base(tree, n->kind, 0, 0, e);
		return 0;
	case NODE_CTL_STATS: {
		char *text = NULL;
		size_t len = 0;
		rc = tree_render_stats(tree, &text, &len);
		free(text);
		tree_stat_base(tree, n->kind, 0, (off_t)len, e);
		e->attr_ttl = 0;
		return rc;
	}
	default:
		break;
	}
	/* Collection-level nodes are found by collection id, the rest by id. */
	if (n->kind == NODE_COLL_DIR || n->kind == NODE_COLL_JSON ||
	    n->kind == NODE_DOCS_DIR || n->kind == NODE_META_DIR || n->kind == NODE_SEARCH_DIR) {
		rc = cache_collections(tree->cache, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->cid) : NULL;
	} else {
		rc = tree_listing(tree, n->kind, n->cid, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
	}
	if (rc == 0 && !r)
		rc = -ENOENT;
	if (rc == 0) {
		if (n->kind == NODE_DOCS_DIR || n->kind == NODE_META_DIR ||
		    n->kind == NODE_SEARCH_DIR)
			tree_stat_base(tree, n->kind, r->mtime, 0, e);
		else
			tree_stat_res(tree, n->kind, r, e);
	}
	cval_unref(v);
	return rc;
}

/*
 * An inode whose listed resource is gone (deleted, or its name now belongs
 * to another id): -ESTALE instead of -ENOENT, so the kernel looks the path
 * up again (the VFS retries an open or stat once with a fresh lookup)
 * rather than failing a name the server may still have.
 */
int tree_stale(enum node_kind kind, int rc)
{
	if (rc != -ENOENT)
		return rc;
	switch (kind) {
	case NODE_KEY:
	case NODE_MODEL:
	case NODE_COLL_DIR:
	case NODE_COLL_JSON:
	case NODE_DOCS_DIR:
	case NODE_META_DIR:
	case NODE_DOC:
	case NODE_DOC_META:
		return -ESTALE;
	default:
		return rc;
	}
}

int tree_getattr(struct tree *tree, uint64_t ino, struct tree_entry *out)
{
	struct node_id n = { 0 };
	struct scratch_info li = { 0 };
	int rc = inode_find(tree->inodes, ino, &n);

	if (rc == 0 && n.kind == NODE_LOCAL) {
		rc = tree->local ? scratch_get_ino(tree->local, ino, &li) : -ENOENT;
		if (rc == 0 && li.redirect_id) {
			struct node_id r = { li.redirect, li.cid, li.redirect_id };

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
	}
	node_id_release(&n);
	return rc;
}

static const struct tree_fixed *tree_find_fixed(const struct tree_fixed *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* Kind of the entries of a listed directory. */
enum node_kind tree_child_kind(enum node_kind dir)
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
	case NODE_INVOICES_DIR:
		return NODE_INVOICE;
	default:
		return NODE_NONE;
	}
}

/* Identity of a listed child: collections are known by their collection id. */
void tree_child_ident(enum node_kind kind, const char *parent_cid, const struct res *r,
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

static int tree_lookup_listed(struct tree *tree, const struct node_id *p, const char *name,
			    struct tree_entry *e)
{
	enum node_kind kind = tree_child_kind(p->kind);
	const char *cid, *id;
	const struct res *r = NULL;
	struct cval *v = NULL;
	char *base = NULL;
	int rc;

	if (kind == NODE_NONE)
		return -ENOTDIR;
	if ((kind == NODE_KEY || kind == NODE_DOC || kind == NODE_COLL_DIR) && tree->local) {
		struct scratch_info li;

		if (scratch_get(tree->local, p->kind, p->cid, name, &li) == 0) {
			tree_stat_scratch(tree, &li, e);
			e->ino = li.ino;
			scratch_info_release(&li);
			return inode_ref(tree->inodes, e->ino, 1);
		}
	}
	if (tree_is_probe(name))
		return -ENOENT;
	if (kind == NODE_DOC_META) {
		size_t n = strlen(name), s = strlen(TREE_META_SUFFIX);

		if (n <= s || strcmp(name + n - s, TREE_META_SUFFIX) != 0)
			return -ENOENT;
		base = strndup(name, n - s);
		if (!base)
			return -ENOMEM;
		name = base;
	}
	rc = tree_listing(tree, kind, p->cid, &v);
	if (rc == 0 && !(r = reslist_by_name(v->list, name)))
		rc = -ENOENT;
	if (rc == 0) {
		tree_stat_res(tree, kind, r, e);
		tree_child_ident(kind, p->cid, r, &cid, &id);
		e->ino = inode_get(tree->inodes, kind, cid, id, 1);
		if (!e->ino)
			rc = -ENOMEM;
	}
	cval_unref(v);
	free(base);
	return rc;
}

static int tree_lookup_fixed(struct tree *tree, const struct node_id *p, const struct tree_fixed *f,
			   struct tree_entry *e)
{
	struct node_id child = { f->kind, p->cid, (char *)"" };
	int rc = tree_attr(tree, &child, e);

	if (rc == 0) {
		e->ino = inode_get(tree->inodes, f->kind, p->cid, "", 1);
		if (!e->ino)
			rc = -ENOMEM;
	}
	return rc;
}

/* usage-by-month/YYYY-MM, or YYYY-MM.svg: its drawing. */
static int tree_lookup_month(struct tree *tree, const char *name, struct tree_entry *e)
{
	char month[8] = "";
	size_t len = strlen(name);
	int svg = len == 11 && strcmp(name + 7, ".svg") == 0;
	struct node_id n = { svg ? NODE_USAGE_MONTH_SVG : NODE_USAGE_MONTH, (char *)"", month };
	int rc;

	if (len == 7 || svg)
		memcpy(month, name, 7);
	rc = tree_month_ok(month) ? tree_attr(tree, &n, e) : -ENOENT;
	if (rc == 0) {
		e->ino = inode_get(tree->inodes, n.kind, "", month, 1);
		rc = e->ino ? 0 : -ENOMEM;
	}
	return rc;
}

/* A search file: the query runs (once per cache TTL) to know its size. */
static int tree_lookup_search(struct tree *tree, const struct node_id *p, const char *name,
			    struct tree_entry *e)
{
	struct node_id n = { NODE_SEARCH, p->cid, (char *)name };
	int rc = tree_search_name_ok(name) ? tree_attr(tree, &n, e) : -ENOENT;

	if (rc == 0) {
		e->ino = inode_get(tree->inodes, NODE_SEARCH, p->cid, name, 1);
		rc = e->ino ? 0 : -ENOMEM;
	}
	return rc;
}

int tree_lookup(struct tree *tree, uint64_t parent, const char *name, struct tree_entry *out)
{
	struct node_id p = { 0 };
	const struct tree_fixed *f;
	int rc;

	rc = inode_find(tree->inodes, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind == NODE_ROOT || p.kind == NODE_COLL_DIR) {
		if (tree_is_probe(name))
			rc = -ENOENT;
	}
	if (rc < 0) {
		/* a probe: answered at no cost */
	} else if (p.kind == NODE_ROOT) {
		f = tree_find_fixed(tree_root_children, TREE_COUNT(tree_root_children), name);
		rc = f ? tree_lookup_fixed(tree, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_COLL_DIR) {
		f = tree_find_fixed(tree_coll_children, TREE_COUNT(tree_coll_children), name);
		rc = f ? tree_lookup_fixed(tree, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_CTL_DIR) {
		f = tree_find_fixed(tree_ctl_children, TREE_COUNT(tree_ctl_children), name);
		rc = f ? tree_lookup_fixed(tree, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_USAGE_DIR) {
		rc = tree_lookup_month(tree, name, out);
	} else if (p.kind == NODE_SEARCH_DIR) {
		rc = tree_lookup_search(tree, &p, name, out);
	} else {
		rc = tree_lookup_listed(tree, &p, name, out);
	}
	if (rc == 0) {
		out->st.st_ino = (ino_t)out->ino;
		tree_shown(tree, out->ino, out);
	}
	node_id_release(&p);
	return rc;
}

void tree_forget(struct tree *tree, uint64_t ino, uint64_t n)
{
	/* A local file whose name is gone lives until the kernel forgets it. */
	if (inode_forget(tree->inodes, ino, n) == NODE_LOCAL && tree->local) {
		struct scratch_info li;

		if (scratch_get_ino(tree->local, ino, &li) == 0) {
			if (li.redirect_id)
				scratch_remove_ino(tree->local, ino);
			scratch_info_release(&li);
		}
	}
}
