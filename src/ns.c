/* ns.c - the namespace of the mount; see ns.h. */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "log.h"
#include "model.h"
#include "model_acct.h"
#include "names.h"
#include "spool.h"
#include "ns_int.h"

const struct ns_fixed ns_root_children[14] = {
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

const struct ns_fixed ns_coll_children[4] = {
	{ "collection.json", NODE_COLL_JSON },
	{ "documents", NODE_DOCS_DIR },
	{ "metadata", NODE_META_DIR },
	{ "search", NODE_SEARCH_DIR },
};

const struct ns_fixed ns_ctl_children[2] = {
	{ "refresh", NODE_CTL_REFRESH },
	{ "stats", NODE_CTL_STATS },
};

int ns_is_probe(const char *name)
{
	return names_is_probe(name);
}

struct ns *ns_new(struct cache *c, struct inode_table *t, struct local *local,
		  const struct ns_opts *o)
{
	struct ns *ns = calloc(1, sizeof(*ns));

	if (!ns)
		return NULL;
	ns->cache = c;
	ns->inodes = t;
	ns->local = local;
	pthread_mutex_init(&ns->secrets_lock, NULL);
	pthread_mutex_init(&ns->notify_lock, NULL);
	cache_set_hook(c, ns_replaced, ns);
	ns->o = *o;
	ns->mount_time = time(NULL);
	/* The fixed nodes exist from the start, pinned. */
	inode_get(t, NODE_ROOT, NULL, NULL, 0);
	for (size_t i = 0; i < NS_COUNT(ns_root_children); i++)
		inode_get(t, ns_root_children[i].kind, NULL, NULL, 0);
	for (size_t i = 0; i < NS_COUNT(ns_ctl_children); i++)
		inode_get(t, ns_ctl_children[i].kind, NULL, NULL, 0);
	return ns;
}

static void ns_secret_free(struct ns_secret *s)
{
	explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->key_id);
	free(s);
}

void ns_free(struct ns *ns)
{
	struct ns_secret *s, *next;

	if (!ns)
		return;
	for (s = ns->secrets; s; s = next) {
		next = s->next;
		ns_secret_free(s);
	}
	pthread_mutex_destroy(&ns->secrets_lock);
	pthread_mutex_destroy(&ns->notify_lock);
	free(ns);
}

int ns_set_secret(struct ns *ns, const char *key_id, const char *secret)
{
	struct ns_secret *s = calloc(1, sizeof(*s));

	if (!s || !(s->key_id = strdup(key_id)) || !(s->secret = strdup(secret))) {
		if (s)
			free(s->key_id);
		free(s);
		return -ENOMEM;
	}
	ns_forget_secret(ns, key_id);
	pthread_mutex_lock(&ns->secrets_lock);
	s->next = ns->secrets;
	ns->secrets = s;
	pthread_mutex_unlock(&ns->secrets_lock);
	ns_key_changed(ns, key_id);
	return 0;
}

void ns_forget_secret(struct ns *ns, const char *key_id)
{
	int found = 0;

	pthread_mutex_lock(&ns->secrets_lock);
	for (struct ns_secret **p = &ns->secrets; *p; p = &(*p)->next) {
		if (strcmp((*p)->key_id, key_id) == 0) {
			struct ns_secret *s = *p;

			*p = s->next;
			ns_secret_free(s);
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&ns->secrets_lock);
	/* The kernel's pages of the key may hold the secret: take them back. */
	if (found)
		ns_key_changed(ns, key_id);
}

/*
 * The bytes of a key's file: its rendering, with the one-time secret put
 * back when the mount holds one. *owned is set when a new buffer was made.
 */
int ns_key_bytes(struct ns *ns, const struct res *r, char **owned,
			const char **data, size_t *len)
{
	char *secret = NULL;
	int rc = 0;

	*owned = NULL;
	*data = r->json;
	*len = r->json_len;
	pthread_mutex_lock(&ns->secrets_lock);
	for (struct ns_secret *s = ns->secrets; s; s = s->next)
		if (strcmp(s->key_id, r->id) == 0) {
			secret = strdup(s->secret);
			rc = secret ? 0 : -ENOMEM;
			break;
		}
	pthread_mutex_unlock(&ns->secrets_lock);
	if (!secret)
		return rc;
	rc = model_key_with_secret(r->json, r->json_len, secret, owned, len);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if (rc == 0)
		*data = *owned;
	return rc;
}


int ns_resource(struct ns *ns, uint64_t ino, struct node_id *n, struct cval **v,
		const struct res **r)
{
	int rc = inode_find(ns->inodes, ino, n);
	int by_cid;

	if (rc < 0)
		return rc;
	if (n->kind == NODE_LOCAL && ns_local_target(ns, ino, n) < 0)
		return -ENOENT;
	by_cid = n->kind == NODE_COLL_DIR || n->kind == NODE_COLL_JSON;
	if (!by_cid && n->kind != NODE_KEY && n->kind != NODE_MODEL && n->kind != NODE_DOC &&
	    n->kind != NODE_DOC_META)
		return -ENOENT;
	rc = ns_listing(ns, n->kind, n->cid, v);
	return rc < 0 ? rc : cval_find(v, by_cid ? n->cid : n->id, 1, r);
}

struct cache *ns_cache(struct ns *ns)
{
	return ns->cache;
}

int ns_node(struct ns *ns, uint64_t ino, struct node_id *out)
{
	return inode_find(ns->inodes, ino, out);
}

void ns_each_inode(struct ns *ns, void (*fn)(void *ctx, uint64_t ino, enum node_kind kind),
		   void *ctx)
{
	inode_each(ns->inodes, fn, ctx);
}

uint64_t ns_dir_ino(struct ns *ns, enum node_kind kind, const char *cid)
{
	return inode_get(ns->inodes, kind, cid, "", 0);
}

int ns_is_dir_kind(enum node_kind k)
{
	return k == NODE_ROOT || k == NODE_KEYS_DIR || k == NODE_MODELS_DIR ||
	       k == NODE_COLLS_DIR || k == NODE_COLL_DIR || k == NODE_DOCS_DIR ||
	       k == NODE_META_DIR || k == NODE_CTL_DIR || k == NODE_USAGE_DIR ||
	       k == NODE_SEARCH_DIR || k == NODE_INVOICES_DIR;
}

/* Files that can be opened for writing, on a writable mount. */
static int ns_is_writable_kind(enum node_kind k)
{
	return k == NODE_KEY || k == NODE_COLL_JSON || k == NODE_DOC || k == NODE_LOCAL ||
	       k == NODE_CTL_REFRESH || k == NODE_LIMITS;
}

/* The permission bits of a node of this kind; see struct ns_opts. */
static mode_t ns_perm(const struct ns *ns, enum node_kind kind)
{
	mode_t perm;

	if (ns_is_dir_kind(kind)) {
		perm = 0777 & ~ns->o.umask;
		perm |= (perm & 0444) >> 2;
	} else {
		perm = 0666 & ~ns->o.umask;
		if (!ns_is_writable_kind(kind))
			perm &= ~0222;
	}
	return ns->o.read_only ? perm & ~0222 : perm;
}

void ns_stat_base(struct ns *ns, enum node_kind kind, int64_t mtime, off_t size,
			 struct ns_entry *e)
{
	memset(&e->st, 0, sizeof(e->st));
	if (ns_is_dir_kind(kind)) {
		e->st.st_mode = S_IFDIR | ns_perm(ns, kind);
		e->st.st_nlink = 2;
		e->st.st_size = 0;
	} else {
		e->st.st_mode = S_IFREG | ns_perm(ns, kind);
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
	e->version = 0;
}

/* Attributes of a listed resource of the given kind. */
void ns_stat_res(struct ns *ns, enum node_kind kind, const struct res *r,
			struct ns_entry *e)
{
	off_t size = kind == NODE_DOC ? (off_t)r->size : (off_t)r->json_len;
	const char *data;
	char *owned = NULL;
	size_t len;

	uint64_t version = 0;

	if (kind == NODE_KEY && ns_key_bytes(ns, r, &owned, &data, &len) == 0) {
		size = (off_t)len;
		version = ns_version(data, len);
	} else if (kind != NODE_DOC && !ns_is_dir_kind(kind)) {
		version = ns_version(r->json, r->json_len);
	}
	if (owned)
		explicit_bzero(owned, len);
	free(owned);
	ns_stat_base(ns, kind, r->mtime, ns_is_dir_kind(kind) ? 0 : size, e);
	e->version = version;
}

/* Attributes of a file that lives only in the mount. */
void ns_stat_local(struct ns *ns, const struct local_info *li, struct ns_entry *e)
{
	ns_stat_base(ns, NODE_LOCAL, li->mtime.tv_sec, li->size, e);
	e->st.st_mtim = li->mtime;
	e->st.st_ctim = li->mtime;
	e->st.st_atim = li->mtime;
	/* Its size changes with every write: let the kernel ask again. */
	e->attr_ttl = 0;
}

/* .xaifs/stats: the mount's counters as JSON (never a credential). */
int ns_render_stats(struct ns *ns, char **out, size_t *len)
{
	struct model_counter c[API_ROUTE_COUNT + 32];
	struct api *api = cache_api(ns->cache);
	struct cache_stats cs;
	struct http_stats hs = { 0 };
	size_t n = 0;

	cache_get_stats(ns->cache, &cs);
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
	c[n++] = (struct model_counter){ "inodes", "count", inode_count(ns->inodes) };
	c[n++] = (struct model_counter){ "fuse", "opens",
					 __atomic_load_n(&ns->opens, __ATOMIC_RELAXED) };
	c[n++] = (struct model_counter){ "fuse", "reads",
					 __atomic_load_n(&ns->reads, __ATOMIC_RELAXED) };
	return model_render_counters(c, n, out, len);
}

int ns_is_rendered(enum node_kind k)
{
	return k == NODE_REGIONS || k == NODE_USAGE || k == NODE_BILLING || k == NODE_AUDIT ||
	       k == NODE_USAGE_MONTH || k == NODE_ENDPOINTS || k == NODE_LIMITS ||
	       k == NODE_SEARCH || k == NODE_USAGE_SVG;
}

/* The oldest month usage-by-month/ answers for. */
#define NS_FIRST_MONTH 202301

/* Whether s is "YYYY-MM" from NS_FIRST_MONTH to the current month. */
static int ns_month_ok(const char *s)
{
	time_t now = time(NULL);
	struct tm tm;
	int y, m, n = 0;

	if (strlen(s) != 7 || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 ||
	    s[4] != '-' || m < 1 || m > 12)
		return 0;
	gmtime_r(&now, &tm);
	return y * 100 + m >= NS_FIRST_MONTH &&
	       y * 100 + m <= (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
}

/* The text of a rendered file (regions, usage, billing, audit, a month's usage). */
int ns_text(struct ns *ns, enum node_kind kind, const char *id, struct cval **v)
{
	switch (kind) {
	case NODE_REGIONS:
		return cache_regions(ns->cache, v);
	case NODE_USAGE:
		return cache_usage(ns->cache, v);
	case NODE_BILLING:
		return cache_billing(ns->cache, v);
	case NODE_AUDIT:
		return cache_audit(ns->cache, v);
	case NODE_USAGE_MONTH:
		return ns_month_ok(id) ? cache_usage_month(ns->cache, id, v) : -ENOENT;
	case NODE_ENDPOINTS:
		return acct_endpoints(ns->cache, v);
	case NODE_LIMITS:
		return acct_limits(ns->cache, v);
	case NODE_USAGE_SVG:
		return acct_usage_svg(ns->cache, v);
	default:
		return -ENOENT;
	}
}

/* Attributes of a rendered file. */
static int ns_stat_text(struct ns *ns, enum node_kind kind, const char *id, struct ns_entry *e)
{
	struct cval *v = NULL;
	int rc;

	rc = ns_text(ns, kind, id, &v);
	if (rc < 0)
		return rc;
	ns_stat_base(ns, kind, kind == NODE_REGIONS ? 0 : v->fetched, (off_t)v->len, e);
	e->version = v->text ? ns_version(v->text, v->len) : 0;
	if (kind != NODE_REGIONS) {
		e->attr_ttl = ns->o.live_ttl;
		e->entry_ttl = ns->o.live_ttl;
	}
	cval_unref(v);
	return 0;
}

/* The listing a node of this kind lives in (with cid for documents). */
int ns_listing(struct ns *ns, enum node_kind kind, const char *cid, struct cval **out)
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
	case NODE_INVOICES_DIR:
	case NODE_INVOICE:
		return acct_invoices(ns->cache, out);
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
int ns_search_name_ok(const char *name)
{
	struct model_search_q q;

	return name[0] != '.' && !strchr(name, '*') && !ns_is_probe(name) &&
	       model_search_query(name, &q) == 0;
}

/* Attributes of a search file: its size is the cached result's. */
static int ns_stat_search(struct ns *ns, const struct node_id *n, struct ns_entry *e)
{
	struct cval *v = NULL;
	int rc;

	if (!ns_search_name_ok(n->id))
		return -ENOENT;
	rc = acct_search(ns->cache, n->cid, n->id, &v);
	if (rc < 0)
		return rc;
	ns_stat_base(ns, NODE_SEARCH, v->fetched, (off_t)v->len, e);
	cval_unref(v);
	return 0;
}

/* Attributes of any node, fetching through the cache as needed. */
int ns_attr(struct ns *ns, const struct node_id *n, struct ns_entry *e)
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
	case NODE_AUDIT:
	case NODE_USAGE_MONTH:
	case NODE_ENDPOINTS:
	case NODE_LIMITS:
	case NODE_USAGE_SVG:
		return ns_stat_text(ns, n->kind, n->id, e);
	case NODE_SEARCH:
		return ns_stat_search(ns, n, e);
	case NODE_INVOICES_DIR:
		ns_stat_base(ns, n->kind, 0, 0, e);
		return 0;
	case NODE_SEARCH_DIR:
		if (*n->cid)
			break;	/* a collection's: found by its collection id below */
		ns_stat_base(ns, n->kind, 0, 0, e);
		return 0;
	case NODE_USAGE_DIR:
		ns_stat_base(ns, n->kind, 0, 0, e);
		return 0;
	case NODE_LOCAL:
		return -ENOENT;	/* handled by ns_getattr() through its inode */
	case NODE_CTL_DIR:
		ns_stat_base(ns, n->kind, 0, 0, e);
		return 0;
	case NODE_CTL_REFRESH:
		ns_stat_base(ns, n->kind, 0, 0, e);
		return 0;
	case NODE_CTL_STATS: {
		char *text = NULL;
		size_t len = 0;
		rc = ns_render_stats(ns, &text, &len);
		free(text);
		ns_stat_base(ns, n->kind, 0, (off_t)len, e);
		e->attr_ttl = 0;
		return rc;
	}
	default:
		break;
	}
	/* Collection-level nodes are found by collection id, the rest by id. */
	if (n->kind == NODE_COLL_DIR || n->kind == NODE_COLL_JSON ||
	    n->kind == NODE_DOCS_DIR || n->kind == NODE_META_DIR || n->kind == NODE_SEARCH_DIR) {
		rc = cache_collections(ns->cache, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->cid) : NULL;
	} else {
		rc = ns_listing(ns, n->kind, n->cid, &v);
		r = rc == 0 ? reslist_by_id(v->list, n->id) : NULL;
	}
	if (rc == 0 && !r)
		rc = -ENOENT;
	if (rc == 0) {
		if (n->kind == NODE_DOCS_DIR || n->kind == NODE_META_DIR ||
		    n->kind == NODE_SEARCH_DIR)
			ns_stat_base(ns, n->kind, r->mtime, 0, e);
		else
			ns_stat_res(ns, n->kind, r, e);
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
int ns_stale(enum node_kind kind, int rc)
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

int ns_getattr(struct ns *ns, uint64_t ino, struct ns_entry *out)
{
	struct node_id n = { 0 };
	struct local_info li = { 0 };
	int rc = inode_find(ns->inodes, ino, &n);

	if (rc == 0 && n.kind == NODE_LOCAL) {
		rc = ns->local ? local_get_ino(ns->local, ino, &li) : -ENOENT;
		if (rc == 0 && li.redirect_id) {
			struct node_id r = { li.redirect, li.cid, li.redirect_id };

			rc = ns_stale(r.kind, ns_attr(ns, &r, out));
		} else if (rc == 0) {
			ns_stat_local(ns, &li, out);
		}
		local_info_release(&li);
	} else if (rc == 0) {
		rc = ns_stale(n.kind, ns_attr(ns, &n, out));
	}
	if (rc == 0) {
		out->ino = ino;
		out->st.st_ino = (ino_t)ino;
		ns_shown(ns, ino, out);
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
enum node_kind ns_child_kind(enum node_kind dir)
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
void ns_child_ident(enum node_kind kind, const char *parent_cid, const struct res *r,
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
	if ((kind == NODE_KEY || kind == NODE_DOC || kind == NODE_COLL_DIR) && ns->local) {
		struct local_info li;

		if (local_get(ns->local, p->kind, p->cid, name, &li) == 0) {
			ns_stat_local(ns, &li, e);
			e->ino = li.ino;
			local_info_release(&li);
			return inode_ref(ns->inodes, e->ino, 1);
		}
	}
	if (ns_is_probe(name))
		return -ENOENT;
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

static int ns_lookup_month(struct ns *ns, const char *name, struct ns_entry *e)
{
	struct node_id n = { NODE_USAGE_MONTH, (char *)"", (char *)name };
	int rc = ns_month_ok(name) ? ns_attr(ns, &n, e) : -ENOENT;

	if (rc == 0) {
		e->ino = inode_get(ns->inodes, NODE_USAGE_MONTH, "", name, 1);
		rc = e->ino ? 0 : -ENOMEM;
	}
	return rc;
}

/* A search file: the query runs (once per cache TTL) to know its size. */
static int ns_lookup_search(struct ns *ns, const struct node_id *p, const char *name,
			    struct ns_entry *e)
{
	struct node_id n = { NODE_SEARCH, p->cid, (char *)name };
	int rc = ns_search_name_ok(name) ? ns_attr(ns, &n, e) : -ENOENT;

	if (rc == 0) {
		e->ino = inode_get(ns->inodes, NODE_SEARCH, p->cid, name, 1);
		rc = e->ino ? 0 : -ENOMEM;
	}
	return rc;
}

int ns_lookup(struct ns *ns, uint64_t parent, const char *name, struct ns_entry *out)
{
	struct node_id p = { 0 };
	const struct ns_fixed *f;
	int rc;

	rc = inode_find(ns->inodes, parent, &p);
	if (rc < 0)
		return rc;
	if (p.kind == NODE_ROOT || p.kind == NODE_COLL_DIR) {
		if (ns_is_probe(name))
			rc = -ENOENT;
	}
	if (rc < 0) {
		/* a probe: answered at no cost */
	} else if (p.kind == NODE_ROOT) {
		f = ns_find_fixed(ns_root_children, NS_COUNT(ns_root_children), name);
		rc = f ? ns_lookup_fixed(ns, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_COLL_DIR) {
		f = ns_find_fixed(ns_coll_children, NS_COUNT(ns_coll_children), name);
		rc = f ? ns_lookup_fixed(ns, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_CTL_DIR) {
		f = ns_find_fixed(ns_ctl_children, NS_COUNT(ns_ctl_children), name);
		rc = f ? ns_lookup_fixed(ns, &p, f, out) : -ENOENT;
	} else if (p.kind == NODE_USAGE_DIR) {
		rc = ns_lookup_month(ns, name, out);
	} else if (p.kind == NODE_SEARCH_DIR) {
		rc = ns_lookup_search(ns, &p, name, out);
	} else {
		rc = ns_lookup_listed(ns, &p, name, out);
	}
	if (rc == 0) {
		out->st.st_ino = (ino_t)out->ino;
		ns_shown(ns, out->ino, out);
	}
	node_id_release(&p);
	return rc;
}

void ns_forget(struct ns *ns, uint64_t ino, uint64_t n)
{
	/* A local file whose name is gone lives until the kernel forgets it. */
	if (inode_forget(ns->inodes, ino, n) == NODE_LOCAL && ns->local) {
		struct local_info li;

		if (local_get_ino(ns->local, ino, &li) == 0) {
			if (li.redirect_id)
				local_remove_ino(ns->local, ino);
			local_info_release(&li);
		}
	}
}
