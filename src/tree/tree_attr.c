/*
 * tree_attr.c - what a node shows: the listing or text behind it, its
 * attributes, a key's bytes with its one-time secret. The base of the tree
 * module: it calls tree_kernel.c and the layers below, never tree.c,
 * tree_dir.c or tree_file.c. See tree.h and tree_int.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "model.h"
#include "model_account.h"
#include "names.h"
#include "tree_int.h"

/* ---- a key's one-time secret ---- */

static void tree_secret_free(struct tree_secret *s)
{
	explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->key_id);
	free(s);
}

void tree_secrets_free(struct tree *tree)
{
	struct tree_secret *s, *next;

	for (s = tree->secrets; s; s = next) {
		next = s->next;
		tree_secret_free(s);
	}
	tree->secrets = NULL;
}

int tree_set_secret(struct tree *tree, const char *key_id, const char *secret)
{
	struct tree_secret *s = calloc(1, sizeof(*s));

	if (!s || !(s->key_id = strdup(key_id)) ||
	    !(s->secret = strdup(secret))) {
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

/* ---- listings and texts ---- */

int tree_listing(struct tree *tree, enum node_list list, const char *cid,
		 struct cval **out)
{
	switch (list) {
	case NODE_LIST_KEYS:
		return cache_keys(tree->cache, out);
	case NODE_LIST_MODELS:
		return cache_models(tree->cache, out);
	case NODE_LIST_COLLECTIONS:
		return cache_collections(tree->cache, out);
	case NODE_LIST_DOCUMENTS:
		return cache_documents(tree->cache, cid, out);
	case NODE_LIST_INVOICES:
		return account_invoices(tree->cache, out);
	default:
		return -ENOENT;
	}
}

int tree_in_listing(const struct node_id *n)
{
	const struct node_info *k = node_of(n->kind);

	return k->in != NODE_LIST_NONE && (k->by == NODE_BY_ID || *n->cid);
}

int tree_entry_of(struct tree *tree, const struct node_id *n, struct cval **v,
		  const struct res **r)
{
	const struct node_info *k = node_of(n->kind);
	int rc = tree_in_listing(n) ? tree_listing(tree, k->in, n->cid, v)
				    : -ENOENT;

	*r = NULL;
	if (rc == 0 &&
	    !(*r = reslist_by_id((*v)->list,
				 k->by == NODE_BY_CID ? n->cid : n->id)))
		rc = -ENOENT;
	return rc;
}

void tree_child_ident(enum node_kind kind, const char *parent_cid,
		      const struct res *r, const char **cid, const char **id)
{
	if (node_of(kind)->by == NODE_BY_CID) {
		*cid = r->id;
		*id = "";
	} else {
		*cid = parent_cid;
		*id = r->id;
	}
}

/* The oldest month usage-by-month/ answers for. */
#define TREE_FIRST_MONTH 202301

int tree_month_ok(const char *s)
{
	time_t now = time(NULL);
	struct tm tm;
	int y, m, n = 0;

	if (strlen(s) != 7 || sscanf(s, "%4d-%2d%n", &y, &m, &n) != 2 ||
	    n != 7 || s[4] != '-' || m < 1 || m > 12)
		return 0;
	gmtime_r(&now, &tm);
	return y * 100 + m >= TREE_FIRST_MONTH &&
	       y * 100 + m <= (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
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

	return name[0] != '.' && !strchr(name, '*') && !names_is_probe(name) &&
	       model_search_query(name, &q) == 0;
}

/* The one place that says which cache call renders which file (NODE_O_TEXT). */
int tree_text(struct tree *tree, const struct node_id *n, struct cval **v)
{
	switch (n->kind) {
	case NODE_REGIONS:
		return cache_regions(tree->cache, v);
	case NODE_USAGE:
		return cache_usage(tree->cache, v);
	case NODE_BILLING:
		return cache_billing(tree->cache, v);
	case NODE_AUDIT:
		return cache_audit(tree->cache, v);
	case NODE_USAGE_MONTH:
		return tree_month_ok(n->id)
			       ? cache_usage_month(tree->cache, n->id, v)
			       : -ENOENT;
	case NODE_ENDPOINTS:
		return account_endpoints(tree->cache, v);
	case NODE_LIMITS:
		return account_limits(tree->cache, v);
	case NODE_USAGE_SVG:
		return account_usage_svg(tree->cache, v);
	case NODE_USAGE_MONTH_SVG:
		return tree_month_ok(n->id)
			       ? account_usage_month_svg(tree->cache, n->id, v)
			       : -ENOENT;
	case NODE_SEARCH:
		if (!tree_search_name_ok(n->id))
			return -ENOENT;
		return account_search(tree->cache, n->cid, n->id, v);
	default:
		return -ENOENT;
	}
}

/* .xaifs/stats: the mount's counters as JSON (never a credential). */
int tree_render_stats(struct tree *tree, char **out, size_t *len)
{
	struct model_counter c[CACHE_COUNTERS_MAX + 8];
	size_t n = cache_counters(tree->cache, c);

	c[n++] = (struct model_counter){ "inodes", "count",
					 inode_count(tree->inodes) };
	c[n++] = (struct model_counter){
		"fuse", "opens", __atomic_load_n(&tree->opens, __ATOMIC_RELAXED)
	};
	c[n++] = (struct model_counter){
		"fuse", "reads", __atomic_load_n(&tree->reads, __ATOMIC_RELAXED)
	};
	return model_render_counters(c, n, out, len);
}

/* ---- attributes ---- */

/* The permission bits of a node of this kind; see enum node_mode. */
static mode_t tree_perm(const struct tree *tree, enum node_kind kind)
{
	mode_t perm;

	if (node_is_dir(kind)) {
		perm = 0777 & ~tree->o.umask;
		perm |= (perm & 0444) >> 2;
	} else {
		perm = 0666 & ~tree->o.umask;
		if (node_of(kind)->mode != NODE_MODE_RW)
			perm &= ~0222;
	}
	return tree->o.read_only ? perm & ~0222 : perm;
}

void tree_stat_base(struct tree *tree, enum node_kind kind, int64_t mtime,
		    off_t size, struct tree_entry *e)
{
	memset(&e->st, 0, sizeof(e->st));
	if (node_is_dir(kind)) {
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

void tree_stat_res(struct tree *tree, enum node_kind kind, const struct res *r,
		   struct tree_entry *e)
{
	const struct node_info *k = node_of(kind);
	off_t size = k->open == NODE_O_DOC ? (off_t)r->size
					   : (off_t)r->json_len;
	const char *data;
	char *owned = NULL;
	size_t len;
	uint64_t version = 0;

	if (k->open == NODE_O_KEY &&
	    tree_key_bytes(tree, r, &owned, &data, &len) == 0) {
		size = (off_t)len;
		version = tree_version(data, len);
	} else if (k->page_cache) {
		version = tree_version(r->json, r->json_len);
	}
	if (owned)
		explicit_bzero(owned, len);
	free(owned);
	tree_stat_base(tree, kind, r->mtime,
		       k->mode == NODE_MODE_DIR ? 0 : size, e);
	e->version = version;
}

/* How long the kernel may keep what e says of a node of kind (node.h, enum
 * node_ttl). */
static void tree_apply_ttl(struct tree *tree, enum node_kind kind,
			   struct tree_entry *e)
{
	switch (node_of(kind)->ttl) {
	case NODE_TTL_LIVE:
		e->attr_ttl = tree->o.live_ttl;
		e->entry_ttl = tree->o.live_ttl;
		break;
	case NODE_TTL_ZERO:
		e->attr_ttl = 0; /* its size changes with every write or read */
		break;
	default:
		break;
	}
}

void tree_stat_scratch(struct tree *tree, const struct scratch_info *li,
		       struct tree_entry *e)
{
	tree_stat_base(tree, NODE_LOCAL, li->mtime.tv_sec, li->size, e);
	e->st.st_mtim = li->mtime;
	e->st.st_ctim = li->mtime;
	e->st.st_atim = li->mtime;
	tree_apply_ttl(tree, NODE_LOCAL, e);
}

/* Attributes of a rendered file (NODE_O_TEXT). */
static int tree_stat_text(struct tree *tree, const struct node_id *n,
			  struct tree_entry *e)
{
	const struct node_info *k = node_of(n->kind);
	struct cval *v = NULL;
	int rc;

	rc = tree_text(tree, n, &v);
	if (rc < 0)
		return rc;
	tree_stat_base(tree, n->kind, k->fetched_mtime ? v->fetched : 0,
		       (off_t)v->len, e);
	e->version = k->page_cache && v->text ? tree_version(v->text, v->len)
					      : 0;
	tree_apply_ttl(tree, n->kind, e);
	cval_unref(v);
	return 0;
}

/* Attributes of .xaifs/stats (NODE_O_STATS): its size is a rendering's. */
static int tree_stat_stats(struct tree *tree, enum node_kind kind,
			   struct tree_entry *e)
{
	char *text = NULL;
	size_t len = 0;
	int rc = tree_render_stats(tree, &text, &len);

	free(text);
	tree_stat_base(tree, kind, 0, (off_t)len, e);
	tree_apply_ttl(tree, kind, e);
	return rc;
}

/* Attributes of a node described by an entry of its listing. */
static int tree_stat_entry(struct tree *tree, const struct node_id *n,
			   struct tree_entry *e)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = tree_entry_of(tree, n, &v, &r);

	if (rc == 0)
		tree_stat_res(tree, n->kind, r, e);
	cval_unref(v);
	return rc;
}

int tree_attr(struct tree *tree, const struct node_id *n, struct tree_entry *e)
{
	const struct node_info *k = node_of(n->kind);

	if (k->mode == NODE_MODE_NONE)
		return -ENOENT;
	if (tree_in_listing(n))
		return tree_stat_entry(tree, n, e);
	switch (k->open) {
	case NODE_O_TEXT:
		return tree_stat_text(tree, n, e);
	case NODE_O_STATS:
		return tree_stat_stats(tree, n->kind, e);
	case NODE_O_SCRATCH:
		return -ENOENT; /* tree_getattr() finds it through its inode */
	default:
		tree_stat_base(tree, n->kind, 0, 0, e);
		return 0;
	}
}

/*
 * An inode whose listed resource is gone (deleted, or its name now belongs
 * to another id): -ESTALE instead of -ENOENT, so the kernel looks the path
 * up again (the VFS retries an open or stat once with a fresh lookup)
 * rather than failing a name the server may still have.
 */
int tree_stale(enum node_kind kind, int rc)
{
	return rc == -ENOENT && node_of(kind)->stale ? -ESTALE : rc;
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
