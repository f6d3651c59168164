/* test_tree.c - path routing over a primed cache: lookup, attributes, readdir,
 * open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "names.h"
#include "tree.h"
#include "test.h"

/* ---- Fixtures ---- */

static const char keys_json[] =
	"{\"apiKeys\":["
	"{\"apiKeyId\":\"k-alpha\",\"name\":\"alpha\",\"modifyTime\":\"2025-01-02T03:04:05Z\","
	"\"apiKey\":\"xai-SECRET\"},"
	"{\"apiKeyId\":\"k-beta\",\"name\":\"beta\"},"
	"{\"apiKeyId\":\"k-slash\",\"name\":\"a/b\"},"
	"{\"apiKeyId\":\"k-dotdot\",\"name\":\"..\"},"
	"{\"apiKeyId\":\"k-dup2\",\"name\":\"dup\",\"createTime\":\"2025-01-01T00:00:00Z\"},"
	"{\"apiKeyId\":\"k-dup1\",\"name\":\"dup\",\"createTime\":\"2024-01-01T00:00:00Z\"},"
	"{\"apiKeyId\":\"k-esc\",\"name\":\"\\u001b[31mred\"}"
	"]}";

static const char colls_json[] =
	"{\"collections\":["
	"{\"collection_id\":\"collection_1\",\"collection_name\":\"Docs\","
	"\"created_at\":\"2025-02-01T00:00:00Z\",\"documents_count\":2},"
	"{\"collection_id\":\"collection_2\",\"collection_name\":\"Empty\"}"
	"]}";

static const char docs1_json[] =
	"{\"documents\":["
	"{\"file_metadata\":{\"file_id\":\"file_a\",\"name\":\"report.pdf\","
	"\"size_bytes\":\"5120\",\"created_at\":\"2025-03-01T00:00:00Z\"},"
	"\"status\":\"DOCUMENT_STATUS_PROCESSED\"},"
	"{\"file_metadata\":{\"file_id\":\"file_b\",\"name\":\"notes.txt\",\"size_bytes\":42}}"
	"]}";

static const char docs2_json[] = "{\"documents\":[]}";

static const char models_json[] =
	"{\"clusterConfigs\":[{\"clusterName\":\"us-east-1\","
	"\"languageModels\":[{\"name\":\"grok-4\"},{\"name\":\"grok-3\"}]}]}";

static const char usage_text[] = "{\n  \"totalUsd\": 1.5\n}\n";
static const char billing_text[] = "{\n  \"prepaidCreditCents\": 1000\n}\n";

typedef int (*page_fn)(const char *, size_t, struct reslist *, char **);

static struct reslist *listing(page_fn parse, const char *json, size_t maxlen)
{
	struct reslist *l = reslist_new();

	if (parse(json, strlen(json), l, NULL) != 0 ||
	    names_assign(l, maxlen, NULL) != 0)
		abort();
	return l;
}

/* Store list and/or text under key; the cache keeps its own reference. */
static void prime(struct cache *c, const struct cache_key *key,
		  struct reslist *l, const char *text, size_t len)
{
	struct cval *v = cval_new();

	v->list = l;
	v->text = text ? strndup(text, len) : NULL;
	v->len = len;
	if (cache_store(c, key, v) != 0)
		abort();
	cval_unref(v);
}

static struct reslist *keys, *colls, *docs1,
	*models; /* borrowed from the cache */
static char regions_text[512];
static size_t regions_len;

static void prime_all(struct cache *c)
{
	char *regions = NULL;
	size_t rlen = 0;

	keys = listing(model_parse_keys_page, keys_json, NAMES_MAX);
	colls = listing(model_parse_collections_page, colls_json, NAMES_MAX);
	docs1 = listing(model_parse_documents_page, docs1_json, NAMES_MAX - 5);
	prime(c, CACHE_KEY(CACHE_KEYS, NULL), keys, NULL, 0);
	prime(c, CACHE_KEY(CACHE_COLLECTIONS, NULL), colls, NULL, 0);
	prime(c, CACHE_KEY(CACHE_DOCUMENTS, "collection_1"), docs1, NULL, 0);
	prime(c, CACHE_KEY(CACHE_DOCUMENTS, "collection_2"),
	      listing(model_parse_documents_page, docs2_json, NAMES_MAX - 5),
	      NULL, 0);
	models = reslist_new();
	if (model_parse_models(models_json, strlen(models_json), models,
			       &regions, &rlen) ||
	    names_assign(models, NAMES_MAX, NULL))
		abort();
	prime(c, CACHE_KEY(CACHE_MODELS, NULL), models, regions, rlen);
	snprintf(regions_text, sizeof(regions_text), "%s", regions);
	regions_len = rlen;
	free(regions);
	prime(c, CACHE_KEY(CACHE_USAGE, NULL), NULL, usage_text,
	      strlen(usage_text));
	prime(c, CACHE_KEY(CACHE_BILLING, NULL), NULL, billing_text,
	      strlen(billing_text));
}

static struct cache *cache;
static struct inode_table *itab;
static struct tree *tree;

static void setup_with(int primed, const struct tree_opts *no)
{
	struct cache_opts co = { 3600, 3600, 0, NULL, NULL, NULL };

	cache = cache_new(NULL, &co);
	itab = inode_table_new();
	if (primed)
		prime_all(cache);
	tree = tree_new(cache, itab, NULL, no);
}

/* As a user mounts by default: owned by the caller, umask 077. */
static void setup(int primed)
{
	setup_with(primed, &(struct tree_opts){ getuid(), getgid(), 60, 10,
						"/tmp", 077, 0 });
}

static void teardown(void)
{
	tree_free(tree);
	inode_table_free(itab);
	cache_free(cache);
}

/* ---- Helpers ---- */

/* Inode of a path ("keys/alpha"), or 0; every step counts one lookup. */
static uint64_t walk(const char *path, struct tree_entry *last)
{
	char buf[512], *part, *next;
	uint64_t ino = 1;
	struct tree_entry e;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = buf; part; part = next) {
		next = strchr(part, '/');
		if (next)
			*next++ = '\0';
		if (tree_lookup(tree, ino, part, &e) != 0)
			return 0;
		ino = e.ino;
	}
	if (last)
		*last = e;
	return ino;
}

static int is_ident(uint64_t ino, enum node_kind kind, const char *cid,
		    const char *id)
{
	struct node_id n = { 0 };
	int ok;

	if (inode_find(itab, ino, &n) != 0)
		return 0;
	ok = n.kind == kind && !strcmp(n.cid, cid) && !strcmp(n.id, id);
	node_id_release(&n);
	return ok;
}

/* Open ino and compare the bytes with want (len bytes). */
static int open_equals(uint64_t ino, const char *want, size_t len)
{
	struct tree_file *f = NULL;
	int ok;

	if (tree_open(tree, ino, O_RDONLY, &f) != 0)
		return 0;
	ok = f->len == len && f->data && !memcmp(f->data, want, len) &&
	     f->fd == -1;
	tree_release(f);
	return ok;
}

/* ---- The table of node kinds (node.h) ---- */

/* Whether kind k is an entry of some fixed directory, under its row's name. */
static int fixed_somewhere(enum node_kind k)
{
	int found = 0;

	for (int d = 0; d < NODE_KIND_COUNT; d++) {
		const struct node_info *dir = node_of((enum node_kind)d);

		for (size_t i = 0; i < dir->n_fixed; i++)
			if (dir->fixed[i].kind == k) {
				CHECK_EQ_STR(dir->fixed[i].name,
					     node_of(k)->name);
				found = 1;
			}
	}
	return found;
}

static void check_dir_row(enum node_kind k, const struct node_info *n)
{
	CHECK(n->entries != NODE_E_NONE);
	CHECK_EQ_INT(n->open, NODE_O_NONE);
	CHECK(!n->page_cache && !n->xattr && n->ttl == NODE_TTL_ENTRY);
	CHECK(n->write == NODE_W_NEVER || n->write >= NODE_W_ENTRIES);
	/* Fixed entries: sorted, distinct, each a kind with that fixed name. */
	CHECK_EQ_INT(n->entries == NODE_E_FIXED,
		     n->fixed != NULL && n->n_fixed > 0);
	for (size_t i = 0; i < n->n_fixed; i++) {
		CHECK(node_of(n->fixed[i].kind)->mode != NODE_MODE_NONE);
		CHECK(i == 0 ||
		      strcmp(n->fixed[i - 1].name, n->fixed[i].name) < 0);
		CHECK(node_fixed_find(k, n->fixed[i].name) == &n->fixed[i]);
	}
	/* Listed, month and query entries have a kind; listed ones come from a
	 * listing. */
	CHECK_EQ_INT(n->child != NODE_NONE, n->entries != NODE_E_FIXED);
	CHECK(n->child == NODE_NONE || node_of(n->child)->name == NULL);
	CHECK_EQ_INT(n->lists != NODE_LIST_NONE, n->entries == NODE_E_LISTED);
	if (n->entries == NODE_E_LISTED)
		CHECK_EQ_INT(node_of(n->child)->in, n->lists);
	if (n->entries == NODE_E_MONTHS || n->entries == NODE_E_QUERIES)
		CHECK_EQ_INT(node_of(n->child)->open, NODE_O_TEXT);
	CHECK(!n->suffix || n->entries == NODE_E_LISTED);
	/* What the mount does to its entries fits what they are. */
	if (n->write == NODE_W_ENTRIES)
		CHECK(n->entries == NODE_E_LISTED && !n->suffix &&
		      (node_of(n->child)->write == NODE_W_JSON ||
		       node_of(n->child)->write == NODE_W_DOC));
	if (n->write == NODE_W_COLLECTIONS)
		CHECK(n->entries == NODE_E_LISTED && node_is_dir(n->child));
	if (n->write == NODE_W_META)
		CHECK(n->entries == NODE_E_LISTED && n->suffix && *n->suffix);
	if (n->write == NODE_W_VIEWS)
		CHECK_EQ_INT(n->entries, NODE_E_FIXED);
}

static void check_file_row(const struct node_info *n)
{
	CHECK(n->entries == NODE_E_NONE && n->child == NODE_NONE && !n->fixed &&
	      !n->lists && !n->suffix);
	CHECK(n->open != NODE_O_NONE);
	CHECK(n->write < NODE_W_ENTRIES);
	/* Write bits exactly where the mount writes it. */
	CHECK_EQ_INT(n->mode == NODE_MODE_RW, n->write != NODE_W_NEVER);
	/* Served from its entry exactly when it is in a listing. */
	CHECK_EQ_INT(n->in != NODE_LIST_NONE, n->open == NODE_O_ENTRY ||
						      n->open == NODE_O_KEY ||
						      n->open == NODE_O_DOC);
	CHECK(!n->page_cache || n->open == NODE_O_ENTRY ||
	      n->open == NODE_O_KEY || n->open == NODE_O_TEXT);
	CHECK(n->ttl != NODE_TTL_LIVE || n->open == NODE_O_TEXT);
	CHECK(n->ttl != NODE_TTL_ZERO || n->open == NODE_O_STATS ||
	      n->open == NODE_O_SCRATCH);
	CHECK(!n->fetched_mtime || n->open == NODE_O_TEXT);
}

static void test_node_table(void)
{
	const char *seen[NODE_KIND_COUNT] = { 0 };

	for (int i = 0; i < NODE_KIND_COUNT; i++) {
		enum node_kind k = (enum node_kind)i;
		const struct node_info *n = node_of(k);

		TEST_CTX(n->kind_name ? n->kind_name : "a kind without a row");
		/* Every kind has a row, named once. */
		CHECK(n->kind_name && strncmp(n->kind_name, "NODE_", 5) == 0);
		for (int j = 0; n->kind_name && j < i; j++)
			CHECK(strcmp(seen[j], n->kind_name) != 0);
		seen[i] = n->kind_name ? n->kind_name : "";
		CHECK_EQ_INT(n->mode == NODE_MODE_NONE, k == NODE_NONE);
		if (k == NODE_NONE)
			continue;
		if (n->mode == NODE_MODE_DIR)
			check_dir_row(k, n);
		else
			check_file_row(n);
		CHECK_EQ_INT(node_is_dir(k), n->mode == NODE_MODE_DIR);
		CHECK_EQ_INT(node_is_scratch(k), n->open == NODE_O_SCRATCH);
		/* A fixed name exactly for the entries of fixed directories. */
		CHECK_EQ_INT(n->name != NULL, fixed_somewhere(k));
		CHECK(!n->pinned || k == NODE_ROOT || n->name);
		/* Its entry: found by id, or by collection id in the
		 * collections. */
		CHECK(n->by == NODE_BY_ID || n->in == NODE_LIST_COLLECTIONS);
		CHECK(!n->resource || n->in != NODE_LIST_NONE);
		CHECK(!n->stale || n->in != NODE_LIST_NONE);
		CHECK(!n->xattr || n->resource);
		CHECK(!(n->xattr & NODE_XA_ROTATE) || n->write == NODE_W_JSON);
	}
	TEST_CTX("node_of() outside the table");
	CHECK(node_of(NODE_KIND_COUNT) == node_of(NODE_NONE));
	CHECK(node_of((enum node_kind) - 1) == node_of(NODE_NONE));
	CHECK(node_fixed_find(NODE_KEYS_DIR, "keys") == NULL);
	CHECK(node_fixed_find(NODE_ROOT, "nope") == NULL);
	CHECK_EQ_INT(node_fixed_find(NODE_ROOT, "keys")->kind, NODE_KEYS_DIR);
}

/* readdir of every fixed directory shows each entry as its row says (type,
 * write bits). */
static void test_table_shows(void)
{
	static const char *const dirs[] = { "", ".xaifs", "collections/Docs" };

	setup(1);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		uint64_t ino = *dirs[i] ? walk(dirs[i], NULL) : 1;
		struct tree_dir *d = NULL;

		TEST_CTX(*dirs[i] ? dirs[i] : "/");
		CHECK_EQ_INT(tree_opendir(tree, ino, &d), 0);
		for (size_t j = 0; d && j < tree_dir_count(d); j++) {
			const struct node_fixed *f = NULL;
			const char *name = NULL;
			struct node_id n = { 0 };
			struct tree_entry e;

			CHECK_EQ_INT(tree_dir_entry(tree, d, j, 0, &name, &e),
				     0);
			CHECK_EQ_INT(tree_node(tree, ino, &n), 0);
			f = name ? node_fixed_find(n.kind, name) : NULL;
			node_id_release(&n);
			CHECK(f != NULL);
			if (!f)
				continue;
			TEST_CTX(name);
			CHECK_EQ_INT(S_ISDIR(e.st.st_mode),
				     node_is_dir(f->kind));
			if (!node_is_dir(f->kind))
				CHECK_EQ_INT((e.st.st_mode & 0200) != 0,
					     node_of(f->kind)->mode ==
						     NODE_MODE_RW);
		}
		tree_closedir(d);
	}
	teardown();
}

/* ---- Lookup ---- */

struct path_row {
	const char *path;
	int rc; /* of walking the path */
	enum node_kind kind;
	const char *cid, *id;
	mode_t mode;
	off_t size; /* -1: the size is checked elsewhere */
};

static const struct path_row path_rows[] = {
	{ "keys", 0, NODE_KEYS_DIR, "", "", S_IFDIR | 0700, 0 },
	{ "collections", 0, NODE_COLLS_DIR, "", "", S_IFDIR | 0700, 0 },
	{ "models", 0, NODE_MODELS_DIR, "", "", S_IFDIR | 0700, 0 },
	{ "usage", 0, NODE_USAGE, "", "", S_IFREG | 0400,
	  sizeof(usage_text) - 1 },
	{ "billing", 0, NODE_BILLING, "", "", S_IFREG | 0400,
	  sizeof(billing_text) - 1 },
	{ "regions", 0, NODE_REGIONS, "", "", S_IFREG | 0400, -1 },
	{ "nope", -ENOENT, NODE_NONE, NULL, NULL, 0, 0 },
	{ "Keys", -ENOENT, NODE_NONE, NULL, NULL, 0, 0 },
	{ "keys/alpha", 0, NODE_KEY, "", "k-alpha", S_IFREG | 0600, -1 },
	{ "keys/beta", 0, NODE_KEY, "", "k-beta", S_IFREG | 0600, -1 },
	{ "keys/a%2Fb", 0, NODE_KEY, "", "k-slash", S_IFREG | 0600, -1 },
	{ "keys/k-dotdot", 0, NODE_KEY, "", "k-dotdot", S_IFREG | 0600, -1 },
	{ "keys/dup", 0, NODE_KEY, "", "k-dup1", S_IFREG | 0600, -1 },
	{ "keys/dup~k-dup2", 0, NODE_KEY, "", "k-dup2", S_IFREG | 0600, -1 },
	{ "keys/%1B[31mred", 0, NODE_KEY, "", "k-esc", S_IFREG | 0600, -1 },
	{ "keys/k-alpha", -ENOENT, NODE_NONE, NULL, NULL, 0,
	  0 }, /* ids are not names */
	{ "keys/a", -ENOENT, NODE_NONE, NULL, NULL, 0, 0 },
	{ "keys/..", -ENOENT, NODE_NONE, NULL, NULL, 0, 0 },
	{ "keys/alpha/x", -ENOTDIR, NODE_NONE, NULL, NULL, 0, 0 },
	{ "usage/x", -ENOTDIR, NODE_NONE, NULL, NULL, 0, 0 },
	{ "models/grok-4", 0, NODE_MODEL, "", "grok-4", S_IFREG | 0400, -1 },
	{ "models/grok-4/x", -ENOTDIR, NODE_NONE, NULL, NULL, 0, 0 },
	{ "collections/Docs", 0, NODE_COLL_DIR, "collection_1", "",
	  S_IFDIR | 0700, 0 },
	{ "collections/Empty", 0, NODE_COLL_DIR, "collection_2", "",
	  S_IFDIR | 0700, 0 },
	{ "collections/collection_1", -ENOENT, NODE_NONE, NULL, NULL, 0, 0 },
	{ "collections/Docs/collection.json", 0, NODE_COLL_JSON, "collection_1",
	  "", S_IFREG | 0600, -1 },
	{ "collections/Docs/collection.json/x", -ENOTDIR, NODE_NONE, NULL, NULL,
	  0, 0 },
	{ "collections/Docs/documents", 0, NODE_DOCS_DIR, "collection_1", "",
	  S_IFDIR | 0700, 0 },
	{ "collections/Docs/metadata", 0, NODE_META_DIR, "collection_1", "",
	  S_IFDIR | 0700, 0 },
	{ "collections/Docs/other", -ENOENT, NODE_NONE, NULL, NULL, 0, 0 },
	{ "collections/Docs/documents/report.pdf", 0, NODE_DOC, "collection_1",
	  "file_a", S_IFREG | 0600, 5120 },
	{ "collections/Docs/documents/notes.txt", 0, NODE_DOC, "collection_1",
	  "file_b", S_IFREG | 0600, 42 },
	{ "collections/Docs/documents/report.pdf/x", -ENOTDIR, NODE_NONE, NULL,
	  NULL, 0, 0 },
	{ "collections/Docs/documents/report.pdf.json", -ENOENT, NODE_NONE,
	  NULL, NULL, 0, 0 },
	{ "collections/Docs/metadata/report.pdf.json", 0, NODE_DOC_META,
	  "collection_1", "file_a", S_IFREG | 0400, -1 },
	{ "collections/Docs/metadata/report.pdf", -ENOENT, NODE_NONE, NULL,
	  NULL, 0, 0 },
	{ "collections/Docs/metadata/.json", -ENOENT, NODE_NONE, NULL, NULL, 0,
	  0 },
	{ "collections/Docs/metadata/notes.txt_json", -ENOENT, NODE_NONE, NULL,
	  NULL, 0, 0 },
	{ "collections/Docs/metadata/report.pdf.json.json", -ENOENT, NODE_NONE,
	  NULL, NULL, 0, 0 },
	{ "collections/Empty/documents/report.pdf", -ENOENT, NODE_NONE, NULL,
	  NULL, 0, 0 },
	{ "collections/Empty/metadata/report.pdf.json", -ENOENT, NODE_NONE,
	  NULL, NULL, 0, 0 },
};

static void test_lookup_table(void)
{
	struct tree_file *f = NULL;
	struct tree_entry e, g;

	setup(1);
	for (size_t i = 0; i < sizeof(path_rows) / sizeof(path_rows[0]); i++) {
		const struct path_row *r = &path_rows[i];
		char parent[512], *slash;
		uint64_t pino, ino;
		int rc;

		TEST_CTX(r->path);
		snprintf(parent, sizeof(parent), "%s", r->path);
		slash = strrchr(parent, '/');
		if (slash)
			*slash = '\0';
		pino = slash ? walk(parent, NULL) : 1;
		CHECK(pino != 0);
		memset(&e, 0, sizeof(e));
		rc = tree_lookup(tree, pino, slash ? slash + 1 : parent, &e);
		CHECK_EQ_INT(rc, r->rc);
		if (rc != 0 || r->rc != 0)
			continue;
		ino = e.ino;
		CHECK(is_ident(ino, r->kind, r->cid, r->id));
		CHECK_EQ_INT(e.st.st_ino, ino);
		CHECK_EQ_INT(e.st.st_mode, r->mode);
		CHECK_EQ_INT(e.st.st_uid, getuid());
		if (r->size >= 0)
			CHECK_EQ_INT(e.st.st_size, r->size);
		/* getattr agrees with lookup */
		CHECK_EQ_INT(tree_getattr(tree, ino, &g), 0);
		CHECK_EQ_INT(g.ino, ino);
		CHECK_EQ_INT(g.st.st_mode, e.st.st_mode);
		CHECK_EQ_INT(g.st.st_size, e.st.st_size);
		CHECK_EQ_INT(g.st.st_mtime, e.st.st_mtime);
		/* a second lookup gives the same inode */
		CHECK_EQ_INT(walk(r->path, NULL), ino);
		if (S_ISDIR(r->mode))
			CHECK_EQ_INT(tree_open(tree, ino, O_RDONLY, &f),
				     -EISDIR);
	}
	TEST_CTX("open of the root");
	CHECK_EQ_INT(tree_open(tree, 1, O_RDONLY, &f), -EISDIR);
	CHECK(f == NULL);
	teardown();
}

/* Sizes equal the bytes open() serves, for every kind of listed JSON file. */
struct content_row {
	const char *path;
	struct reslist **list;
	const char *id;
};

static const struct content_row content_rows[] = {
	{ "keys/alpha", &keys, "k-alpha" },
	{ "keys/dup", &keys, "k-dup1" },
	{ "keys/dup~k-dup2", &keys, "k-dup2" },
	{ "keys/a%2Fb", &keys, "k-slash" },
	{ "keys/k-dotdot", &keys, "k-dotdot" },
	{ "models/grok-3", &models, "grok-3" },
	{ "collections/Docs/collection.json", &colls, "collection_1" },
	{ "collections/Empty/collection.json", &colls, "collection_2" },
	{ "collections/Docs/metadata/notes.txt.json", &docs1, "file_b" },
	{ "collections/Docs/metadata/report.pdf.json", &docs1, "file_a" },
};

static void test_sizes_and_content(void)
{
	const struct res *r;
	struct tree_entry e;
	uint64_t ino;

	setup(1);
	for (size_t i = 0; i < sizeof(content_rows) / sizeof(content_rows[0]);
	     i++) {
		TEST_CTX(content_rows[i].path);
		r = reslist_by_id(*content_rows[i].list, content_rows[i].id);
		ino = walk(content_rows[i].path, &e);
		CHECK(r && ino);
		CHECK_EQ_INT(e.st.st_size, r ? r->json_len : 0);
		CHECK(r && open_equals(ino, r->json, r->json_len));
	}

	TEST_CTX("keys/alpha: mtime, no secret");
	walk("keys/alpha", &e);
	CHECK_EQ_INT(e.st.st_mtime, 1735787045);
	CHECK(strstr(reslist_by_id(keys, "k-alpha")->json, "xai-SECRET") ==
	      NULL);

	TEST_CTX("usage and billing");
	CHECK(open_equals(walk("usage", NULL), usage_text, strlen(usage_text)));
	CHECK(open_equals(walk("billing", NULL), billing_text,
			  strlen(billing_text)));
	ino = walk("usage", &e);
	CHECK(e.attr_ttl == 10 && e.entry_ttl == 10);

	TEST_CTX("regions");
	ino = walk("regions", &e);
	CHECK(e.st.st_size > 0);
	CHECK(open_equals(ino, regions_text, regions_len));
	CHECK(strstr(regions_text, "\"us-east-1\"") != NULL);

	TEST_CTX("unknown inode");
	CHECK_EQ_INT(tree_getattr(tree, 999999, &e), -ENOENT);
	CHECK_EQ_INT(tree_lookup(tree, 999999, "x", &e), -ENOENT);
	teardown();
}

/* A node keeps its number when renamed, and is stale when its id is gone. */
static void test_relisting(void)
{
	struct tree_entry e;
	struct tree_file *f = NULL;
	uint64_t alpha, beta;

	setup(1);
	TEST_CTX(
		"rename keeps the inode; an inode whose resource is gone is ESTALE");
	alpha = walk("keys/alpha", NULL);
	beta = walk("keys/beta", NULL);
	prime(cache, CACHE_KEY(CACHE_KEYS, NULL),
	      listing(model_parse_keys_page,
		      "{\"apiKeys\":[{\"apiKeyId\":\"k-alpha\",\"name\":\"renamed\"}]}",
		      NAMES_MAX),
	      NULL, 0);
	CHECK_EQ_INT(walk("keys/renamed", NULL), alpha);
	CHECK_EQ_INT(walk("keys/alpha", NULL), 0);
	CHECK_EQ_INT(tree_getattr(tree, alpha, &e), 0);
	/* ESTALE makes the kernel look the name up again instead of failing. */
	CHECK_EQ_INT(tree_getattr(tree, beta, &e), -ESTALE);
	CHECK_EQ_INT(tree_open(tree, beta, O_RDONLY, &f), -ESTALE);
	CHECK(f == NULL);
	teardown();
}

/* Probes are answered without a fetch: with nothing cached and no api, any
 * fetch fails with ENOTCONN, so ENOENT proves none was made. */
static void test_probes(void)
{
	static const char *const probes[] = { ".Trash",		 ".Trash-1000",
					      ".DS_Store",	 ".hidden",
					      "autorun.inf",	 "desktop.ini",
					      "Thumbs.db",	 ".directory",
					      ".xdg-volume-info" };
	static const char *const not_probes[] = { "alpha",	 ".Trash2",
						  ".trash-1000", "._foo",
						  ".Trash-x",	 ".DS_Store2",
						  "_foo",	 ".git" };
	struct cache_stats before, after;
	struct tree_entry e;
	uint64_t keys_ino;

	setup(0);
	keys_ino = inode_get(itab, NODE_KEYS_DIR, NULL, NULL, 0);
	cache_get_stats(cache, &before);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		TEST_CTX(probes[i]);
		CHECK(tree_is_probe(probes[i]));
		CHECK_EQ_INT(tree_lookup(tree, 1, probes[i], &e), -ENOENT);
		CHECK_EQ_INT(tree_lookup(tree, keys_ino, probes[i], &e),
			     -ENOENT);
	}
	cache_get_stats(cache, &after);
	TEST_CTX("probes cost no fetch");
	CHECK_EQ_INT(after.misses, before.misses);
	for (size_t i = 0; i < sizeof(not_probes) / sizeof(not_probes[0]);
	     i++) {
		TEST_CTX(not_probes[i]);
		CHECK(!tree_is_probe(not_probes[i]));
		CHECK_EQ_INT(tree_lookup(tree, keys_ino, not_probes[i], &e),
			     -ENOTCONN);
	}
	teardown();
}

/*
 * search/: listed empty, and only names that are queries cost a fetch (the
 * test cache has no api, so a fetch answers -ENOTCONN).
 */
static void test_search_names(void)
{
	static const char *const free_names[] = { ".fees",     ".fees.swp",
						  "fe*s",      "*",
						  ".DS_Store", "mode:keyword ",
						  "   " };
	static const char *const queries[] = { "fees", "termination notice",
					       "what?",
					       "mode:keyword limit:3 fees",
					       "[x]" };
	struct cache_stats before, after;
	struct tree_dir *d = NULL;
	struct tree_entry e;
	uint64_t root_search, coll_search;

	setup(1);
	root_search = walk("search", NULL);
	coll_search = walk("collections/Docs/search", NULL);
	TEST_CTX("search directories");
	CHECK(root_search != 0 && coll_search != 0);
	CHECK(is_ident(root_search, NODE_SEARCH_DIR, "", ""));
	CHECK(is_ident(coll_search, NODE_SEARCH_DIR, "collection_1", ""));
	cache_get_stats(cache, &before);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(
			tree_opendir(tree, i ? coll_search : root_search, &d),
			0);
		CHECK_EQ_INT(d ? tree_dir_count(d) : 1, 0);
		tree_closedir(d);
		d = NULL;
	}
	for (size_t i = 0; i < sizeof(free_names) / sizeof(free_names[0]);
	     i++) {
		TEST_CTX(free_names[i]);
		CHECK_EQ_INT(tree_lookup(tree, root_search, free_names[i], &e),
			     -ENOENT);
		CHECK_EQ_INT(tree_lookup(tree, coll_search, free_names[i], &e),
			     -ENOENT);
	}
	cache_get_stats(cache, &after);
	TEST_CTX("listing search/ and looking up non-queries cost no fetch");
	CHECK_EQ_INT(after.misses, before.misses);
	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		TEST_CTX(queries[i]);
		CHECK_EQ_INT(tree_lookup(tree, coll_search, queries[i], &e),
			     -ENOTCONN);
	}
	teardown();
}

/* ---- Directories ---- */

struct dir_row {
	const char *path;
	const char *names; /* space separated, in order */
};

static const struct dir_row dir_rows[] = {
	{ "",
	  ".xaifs audit.jsonl billing collections endpoints invoices keys models regions search "
	  "spending-limits usage usage-by-month usage.svg" },
	{ "keys", "alpha beta a%2Fb k-dotdot dup~k-dup2 dup %1B[31mred" },
	{ "models", "grok-4 grok-3" },
	{ "collections", "Docs Empty" },
	{ "collections/Docs", "collection.json documents metadata search" },
	{ "collections/Docs/documents", "report.pdf notes.txt" },
	{ "collections/Docs/metadata", "report.pdf.json notes.txt.json" },
	{ "collections/Empty/documents", "" },
	{ "collections/Empty/metadata", "" },
};

/* Names of a directory, space separated; checks plus=0 entries on the way. */
static int list_dir(uint64_t ino, char *out, size_t outsz)
{
	struct tree_dir *d = NULL;
	const char *name;
	struct tree_entry e;
	size_t off = 0, i;
	int rc = tree_opendir(tree, ino, &d);

	out[0] = '\0';
	if (rc < 0)
		return rc;
	for (i = 0; i < tree_dir_count(d); i++) {
		if (tree_dir_entry(tree, d, i, 0, &name, &e) != 0 ||
		    e.ino != 0 ||
		    !(S_ISDIR(e.st.st_mode) || S_ISREG(e.st.st_mode)))
			rc = -EIO;
		off += (size_t)snprintf(out + off,
					off < outsz ? outsz - off : 0, "%s%s",
					i ? " " : "", name);
	}
	if (tree_dir_entry(tree, d, i, 0, &name, &e) != -ENOENT)
		rc = -EIO;
	tree_closedir(d);
	return rc;
}

static void test_readdir(void)
{
	char got[1024];
	struct tree_dir *d = NULL;

	setup(1);
	for (size_t i = 0; i < sizeof(dir_rows) / sizeof(dir_rows[0]); i++) {
		uint64_t ino = dir_rows[i].path[0]
				       ? walk(dir_rows[i].path, NULL)
				       : 1;

		TEST_CTX(dir_rows[i].path[0] ? dir_rows[i].path : "/");
		CHECK(ino != 0);
		CHECK_EQ_INT(list_dir(ino, got, sizeof(got)), 0);
		CHECK_EQ_STR(got, dir_rows[i].names);
	}
	TEST_CTX("opendir of a file");
	CHECK_EQ_INT(tree_opendir(tree, walk("keys/alpha", NULL), &d),
		     -ENOTDIR);
	CHECK_EQ_INT(tree_opendir(tree, walk("usage", NULL), &d), -ENOTDIR);
	CHECK_EQ_INT(tree_opendir(tree, 999999, &d), -ENOENT);
	CHECK(d == NULL);
	teardown();
}

/* readdirplus: attributes and a counted lookup per entry; forget frees them. */
static void test_readdir_plus(void)
{
	struct tree_dir *d = NULL;
	const char *name;
	struct tree_entry e, l;
	uint64_t ino[16], keys_ino, base;
	char empty[8];
	size_t n, i;
	int bad = 0;

	setup(1);
	TEST_CTX("plus on keys/");
	keys_ino = walk("keys", NULL);
	base = inode_count(itab);
	CHECK_EQ_INT(tree_opendir(tree, keys_ino, &d), 0);
	n = tree_dir_count(d);
	CHECK_EQ_INT(n, 7);
	for (i = 0; i < n && i < 16; i++) {
		const struct res *r = &keys->v[i];

		ino[i] = 0;
		if (tree_dir_entry(tree, d, i, 1, &name, &e) != 0) {
			bad++;
			continue;
		}
		ino[i] = e.ino;
		if (!e.ino || e.st.st_ino != e.ino ||
		    !is_ident(e.ino, NODE_KEY, "", r->id) ||
		    strcmp(name, r->name) ||
		    e.st.st_size != (off_t)r->json_len ||
		    e.st.st_mode != (S_IFREG | 0600))
			bad++;
	}
	tree_closedir(d);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(inode_count(itab), base + n);

	TEST_CTX("lookup after plus gives the same inode");
	CHECK_EQ_INT(tree_lookup(tree, keys_ino, "alpha", &l), 0);
	CHECK_EQ_INT(l.ino, ino[0]);

	TEST_CTX("forget releases the counted lookups");
	for (i = 0; i < n; i++)
		tree_forget(tree, ino[i], 1);
	CHECK(is_ident(ino[0], NODE_KEY, "", "k-alpha")); /* one lookup left */
	tree_forget(tree, ino[0], 1);
	CHECK_EQ_INT(inode_count(itab), base);
	for (i = 0; i < n; i++)
		CHECK(!is_ident(ino[i], NODE_KEY, "", keys->v[i].id));

	TEST_CTX(
		"plus on the root: rendered files cost requests, so no attributes");
	CHECK_EQ_INT(tree_opendir(tree, 1, &d), 0);
	bad = 0;
	for (i = 0; i < tree_dir_count(d); i++) {
		int rendered;

		if (tree_dir_entry(tree, d, i, 1, &name, &e) != 0) {
			bad++;
			continue;
		}
		rendered = !strcmp(name, "usage") || !strcmp(name, "billing") ||
			   !strcmp(name, "regions") ||
			   !strcmp(name, "audit.jsonl") ||
			   !strcmp(name, "endpoints") ||
			   !strcmp(name, "spending-limits") ||
			   !strcmp(name, "usage.svg");
		if (rendered ? e.ino != 0
			     : (e.ino == 0 || e.st.st_ino != e.ino ||
				!S_ISDIR(e.st.st_mode)))
			bad++;
	}
	tree_closedir(d);
	CHECK_EQ_INT(bad, 0);

	for (i = 0; i < 2; i++) {
		static const char *const path[] = {
			"collections/Docs/metadata/notes.txt.json",
			"collections/Docs/documents/notes.txt"
		};

		TEST_CTX(path[i]);
		CHECK_EQ_INT(tree_opendir(tree,
					  walk(i ? "collections/Docs/documents"
						 : "collections/Docs/metadata",
					       NULL),
					  &d),
			     0);
		CHECK_EQ_INT(tree_dir_entry(tree, d, 1, 1, &name, &e), 0);
		CHECK_EQ_STR(name, strrchr(path[i], '/') + 1);
		CHECK(is_ident(e.ino, i ? NODE_DOC : NODE_DOC_META,
			       "collection_1", "file_b"));
		CHECK_EQ_INT(e.st.st_size,
			     i ? 42 : reslist_by_id(docs1, "file_b")->json_len);
		CHECK_EQ_INT(walk(path[i], NULL), e.ino);
		tree_closedir(d);
	}

	TEST_CTX("a snapshot outlives a relisting");
	CHECK_EQ_INT(tree_opendir(tree, keys_ino, &d), 0);
	prime(cache, CACHE_KEY(CACHE_KEYS, NULL),
	      listing(model_parse_keys_page, "{\"apiKeys\":[]}", NAMES_MAX),
	      NULL, 0);
	CHECK_EQ_INT(tree_dir_count(d), 7);
	CHECK_EQ_INT(tree_dir_entry(tree, d, 6, 0, &name, &e), 0);
	CHECK_EQ_STR(name, "%1B[31mred");
	tree_closedir(d);
	CHECK_EQ_INT(list_dir(keys_ino, empty, sizeof(empty)), 0);
	CHECK_EQ_STR(empty, "");
	teardown();
}

/* ------------------------------------------------------------------ */
/* owner and modes: uid, gid, umask and read-only mounts              */
/* ------------------------------------------------------------------ */

struct mode_row {
	const char *path;
	mode_t u077, u027, u007, u000, ro027; /* permission bits under each */
};

static const struct mode_row mode_rows[] = {
	{ "keys", 0700, 0750, 0770, 0777, 0550 },
	{ "collections/Docs", 0700, 0750, 0770, 0777, 0550 },
	{ "collections/Docs/metadata", 0700, 0750, 0770, 0777, 0550 },
	{ "keys/alpha", 0600, 0640, 0660, 0666, 0440 },
	{ "collections/Docs/collection.json", 0600, 0640, 0660, 0666, 0440 },
	{ "collections/Docs/documents/report.pdf", 0600, 0640, 0660, 0666,
	  0440 },
	{ "usage", 0400, 0440, 0440, 0444, 0440 },
	{ "billing", 0400, 0440, 0440, 0444, 0440 },
	{ "regions", 0400, 0440, 0440, 0444, 0440 },
	{ "models/grok-4", 0400, 0440, 0440, 0444, 0440 },
	{ "collections/Docs/metadata/report.pdf.json", 0400, 0440, 0440, 0444,
	  0440 },
};

static void check_modes(const char *what, mode_t umask, int ro, size_t col)
{
	struct tree_entry e, g;

	setup_with(1, &(struct tree_opts){ 4321, 8765, 60, 10, "/tmp", umask,
					   ro });
	for (size_t i = 0; i < sizeof(mode_rows) / sizeof(mode_rows[0]); i++) {
		const struct mode_row *r = &mode_rows[i];
		const mode_t want[] = { r->u077, r->u027, r->u007, r->u000,
					r->ro027 };
		uint64_t ino;

		TEST_CTX(r->path);
		ino = walk(r->path, &e);
		CHECK(ino != 0);
		if (!ino)
			continue;
		CHECK_EQ_INT(e.st.st_mode & 07777, want[col]);
		CHECK_EQ_INT(e.st.st_uid, 4321);
		CHECK_EQ_INT(e.st.st_gid, 8765);
		CHECK_EQ_INT(tree_getattr(tree, ino, &g), 0);
		CHECK_EQ_INT(g.st.st_mode, e.st.st_mode);
		CHECK_EQ_INT(g.st.st_uid, 4321);
		CHECK_EQ_INT(g.st.st_gid, 8765);
	}
	TEST_CTX(what);
	teardown();
}

static void test_modes(void)
{
	check_modes("umask 077", 077, 0, 0);
	check_modes("umask 027", 027, 0, 1);
	check_modes("umask 007", 007, 0, 2);
	check_modes("umask 000", 0, 0, 3);
	check_modes("read-only, umask 027", 027, 1, 4);
	/* x follows r on directories: a group that may read a directory may
	 * enter it */
	setup_with(1, &(struct tree_opts){ 1, 2, 60, 10, "/tmp", 0137, 0 });
	TEST_CTX("x where r");
	{
		struct tree_entry e;

		CHECK(walk("keys", &e) != 0);
		CHECK_EQ_INT(e.st.st_mode & 07777, 0750);
		CHECK(walk("keys/alpha", &e) != 0);
		CHECK_EQ_INT(e.st.st_mode & 07777, 0640);
	}
	teardown();
}

/* ---- Page cache: versions and invalidations ---- */

#define NOTES_MAX 64
static char notes[NOTES_MAX][300];
static size_t n_notes;

static void note_entry(void *ctx, uint64_t parent, const char *name)
{
	if (n_notes < NOTES_MAX)
		snprintf(notes[n_notes++], sizeof(notes[0]), "entry %llu %s",
			 (unsigned long long)parent, name);
}

static void note_inode(void *ctx, uint64_t ino)
{
	if (n_notes < NOTES_MAX)
		snprintf(notes[n_notes++], sizeof(notes[0]), "inode %llu",
			 (unsigned long long)ino);
}

static int noted(const char *what, uint64_t n, const char *name)
{
	char want[300];

	snprintf(want, sizeof(want), "%s %llu%s%s", what, (unsigned long long)n,
		 name ? " " : "", name ? name : "");
	for (size_t i = 0; i < n_notes; i++)
		if (strcmp(notes[i], want) == 0)
			return 1;
	return 0;
}

/* Open ino: whether it may use the page cache, and whether its pages are kept. */
static int open_mode(uint64_t ino, int *keep)
{
	struct tree_file *f = NULL;
	int page;

	if (tree_open(tree, ino, O_RDONLY, &f) != 0)
		return -1;
	page = !f->direct_io;
	*keep = f->keep_cache;
	tree_release(f);
	return page;
}

static void test_page_cache_rule(void)
{
	struct tree_entry e;
	uint64_t alpha;
	int keep = -1;

	TEST_CTX("page cache rule");
	setup(1);
	n_notes = 0;
	tree_set_notify(tree,
			&(struct tree_notify){ note_entry, note_inode, NULL });
	/* Not yet given to the kernel: served straight. */
	alpha = inode_get(itab, NODE_KEY, "", "k-alpha", 0);
	CHECK_EQ_INT(open_mode(alpha, &keep), 0);
	/* Its attributes were given: the page cache, pages dropped at the first
	 * open. */
	CHECK_EQ_INT(walk("keys/alpha", &e), alpha);
	CHECK(e.version != 0);
	CHECK_EQ_INT(open_mode(alpha, &keep), 1);
	CHECK_EQ_INT(keep, 0);
	CHECK_EQ_INT(open_mode(alpha, &keep), 1);
	CHECK_EQ_INT(keep, 1);
	CHECK_EQ_INT(n_notes, 0);
	/* A secret set: its pages are taken back; the new bytes are served
	 * straight until their size reaches the kernel. */
	CHECK_EQ_INT(tree_set_secret(tree, "k-alpha", "xai-NEWSECRET"), 0);
	CHECK(noted("inode", alpha, NULL));
	CHECK_EQ_INT(open_mode(alpha, &keep), 0);
	n_notes = 0;
	CHECK_EQ_INT(tree_getattr(tree, alpha, &e), 0);
	CHECK_EQ_INT(n_notes,
		     0); /* already taken back: no second invalidation */
	CHECK_EQ_INT(open_mode(alpha, &keep), 1);
	CHECK_EQ_INT(keep, 0); /* pages of the version before are dropped */
	/* An older page-cache handle reading after a newer open took over:
	 * its pages are taken back, and the next open starts from none. */
	{
		struct tree_file *old = NULL, *cur = NULL;

		CHECK_EQ_INT(tree_open(tree, alpha, O_RDONLY, &old), 0);
		CHECK(old && !old->direct_io && old->ino == alpha);
		tree_forget_secret(tree, "k-alpha");
		CHECK(noted("inode", alpha, NULL));
		CHECK_EQ_INT(tree_getattr(tree, alpha, &e), 0);
		CHECK_EQ_INT(tree_open(tree, alpha, O_RDONLY, &cur), 0);
		CHECK(cur && !cur->direct_io && !cur->keep_cache);
		n_notes = 0;
		tree_read_done(tree, cur->ino, cur->version);
		CHECK_EQ_INT(n_notes, 0);
		tree_read_done(tree, old->ino, old->version);
		CHECK(noted("inode", alpha, NULL));
		tree_release(cur);
		tree_release(old);
		CHECK_EQ_INT(open_mode(alpha, &keep), 1);
		CHECK_EQ_INT(keep, 0);
	}
	/* A version given without a hook having run (e.g. a stale answer) still
	 * takes the old pages back. */
	n_notes = 0;
	inode_set_shown(itab, alpha, 12345);
	CHECK_EQ_INT(tree_getattr(tree, alpha, &e), 0);
	CHECK(noted("inode", alpha, NULL));
	teardown();
}

static void test_relisting_invalidates_what_changed(void)
{
	static const char keys2_json[] =
		"{\"apiKeys\":["
		"{\"apiKeyId\":\"k-alpha\",\"name\":\"alpha\",\"qps\":9}," /* changed
									    */
		"{\"apiKeyId\":\"k-beta\",\"name\":\"beta2\"}," /* renamed */
		"{\"apiKeyId\":\"k-slash\",\"name\":\"a/b\"},"
		"{\"apiKeyId\":\"k-new\",\"name\":\"fresh\"}" /* new */
		"]}"; /* k-dotdot, k-dup*, k-esc gone */
	struct tree_entry e;
	uint64_t dir, alpha, beta, slash, esc;

	TEST_CTX("relisting invalidates what changed");
	setup(1);
	n_notes = 0;
	tree_set_notify(tree,
			&(struct tree_notify){ note_entry, note_inode, NULL });
	dir = walk("keys", &e);
	alpha = walk("keys/alpha", &e);
	beta = walk("keys/beta", &e);
	slash = walk("keys/a%2Fb", &e);
	esc = walk("keys/%1B[31mred", &e);
	CHECK(dir && alpha && beta && slash && esc);
	CHECK_EQ_INT(n_notes, 0);
	prime(cache, CACHE_KEY(CACHE_KEYS, NULL),
	      listing(model_parse_keys_page, keys2_json, NAMES_MAX), NULL, 0);
	CHECK(noted("inode", alpha, NULL));
	CHECK(!noted("entry", dir, "alpha"));
	CHECK(noted("entry", dir, "beta"));
	CHECK(noted("entry", dir, "beta2"));
	CHECK(noted("inode", beta, NULL));
	CHECK(!noted("inode", slash, NULL));
	CHECK(!noted("entry", dir, "a%2Fb"));
	CHECK(noted("entry", dir, "fresh"));
	CHECK(noted("entry", dir, "%1B[31mred"));
	CHECK(noted("inode", esc, NULL));
	/* The same listing again: nothing to take back. */
	n_notes = 0;
	prime(cache, CACHE_KEY(CACHE_KEYS, NULL),
	      listing(model_parse_keys_page, keys2_json, NAMES_MAX), NULL, 0);
	CHECK_EQ_INT(n_notes, 0);
	/* A rendering that changes: its inode; one that does not: nothing. */
	walk("usage", &e);
	n_notes = 0;
	prime(cache, CACHE_KEY(CACHE_USAGE, NULL), NULL, usage_text,
	      strlen(usage_text));
	CHECK_EQ_INT(n_notes, 0);
	prime(cache, CACHE_KEY(CACHE_USAGE, NULL), NULL, "{}\n", 3);
	CHECK(noted("inode", e.ino, NULL));
	/* Documents: the metadata file's entry and inode go with the
	 * document's. */
	walk("collections/Docs/documents", NULL);
	walk("collections/Docs/metadata/report.pdf.json", &e);
	n_notes = 0;
	prime(cache, CACHE_KEY(CACHE_DOCUMENTS, "collection_1"),
	      listing(model_parse_documents_page, docs2_json, NAMES_MAX - 5),
	      NULL, 0);
	CHECK(noted("inode", e.ino, NULL));
	CHECK(noted("entry", tree_dir_ino(tree, NODE_META_DIR, "collection_1"),
		    "report.pdf.json"));
	CHECK(noted("entry", tree_dir_ino(tree, NODE_DOCS_DIR, "collection_1"),
		    "notes.txt"));
	teardown();
}

int main(void)
{
	test_node_table();
	test_table_shows();
	test_modes();
	test_lookup_table();
	test_sizes_and_content();
	test_relisting();
	test_probes();
	test_search_names();
	test_readdir();
	test_readdir_plus();
	test_page_cache_rule();
	test_relisting_invalidates_what_changed();
	return test_done();
}
