/* node.c - the table of node kinds; see node.h. */
#include "node.h"

#include <string.h>

#define NODE_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Fixed entries, sorted by name (readdir shows them in this order). */
static const struct node_fixed node_root_entries[] = {
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

static const struct node_fixed node_coll_entries[] = {
	{ "collection.json", NODE_COLL_JSON },
	{ "documents", NODE_DOCS_DIR },
	{ "metadata", NODE_META_DIR },
	{ "search", NODE_SEARCH_DIR },
};

static const struct node_fixed node_ctl_entries[] = {
	{ "refresh", NODE_CTL_REFRESH },
	{ "stats", NODE_CTL_STATS },
};

#define NODE_FIXED(a) \
	.entries = NODE_E_FIXED, .fixed = (a), .n_fixed = NODE_COUNT(a)
#define NODE_LISTED(l, k) .entries = NODE_E_LISTED, .lists = (l), .child = (k)
/* A rendered text that changes with the account: fetched time, live_ttl, page
 * cache. */
#define NODE_LIVE_TEXT                                                 \
	.open = NODE_O_TEXT, .ttl = NODE_TTL_LIVE, .fetched_mtime = 1, \
	.page_cache = 1

static const struct node_info node_table[NODE_KIND_COUNT] = {
	[NODE_NONE] = { .kind_name = "NODE_NONE" },

	/* The root and its fixed directories. */
	[NODE_ROOT] = { .kind_name = "NODE_ROOT",
			.mode = NODE_MODE_DIR,
			NODE_FIXED(node_root_entries),
			.pinned = 1 },
	[NODE_KEYS_DIR] = { .kind_name = "NODE_KEYS_DIR",
			    .name = "keys",
			    .mode = NODE_MODE_DIR,
			    .write = NODE_W_ENTRIES,
			    NODE_LISTED(NODE_LIST_KEYS, NODE_KEY),
			    .pinned = 1 },
	[NODE_MODELS_DIR] = { .kind_name = "NODE_MODELS_DIR",
			      .name = "models",
			      .mode = NODE_MODE_DIR,
			      NODE_LISTED(NODE_LIST_MODELS, NODE_MODEL),
			      .pinned = 1 },
	[NODE_COLLS_DIR] = { .kind_name = "NODE_COLLS_DIR",
			     .name = "collections",
			     .mode = NODE_MODE_DIR,
			     .write = NODE_W_COLLECTIONS,
			     NODE_LISTED(NODE_LIST_COLLECTIONS, NODE_COLL_DIR),
			     .pinned = 1 },
	[NODE_INVOICES_DIR] = { .kind_name = "NODE_INVOICES_DIR",
				.name = "invoices",
				.mode = NODE_MODE_DIR,
				NODE_LISTED(NODE_LIST_INVOICES, NODE_INVOICE) },
	[NODE_USAGE_DIR] = { .kind_name = "NODE_USAGE_DIR",
			     .name = "usage-by-month",
			     .mode = NODE_MODE_DIR,
			     .entries = NODE_E_MONTHS,
			     .child = NODE_USAGE_MONTH,
			     .drawing = NODE_USAGE_MONTH_SVG,
			     .pinned = 1 },
	/* The root's (cid "") or a collection's (found by its collection id). */
	[NODE_SEARCH_DIR] = { .kind_name = "NODE_SEARCH_DIR",
			      .name = "search",
			      .mode = NODE_MODE_DIR,
			      .entries = NODE_E_QUERIES,
			      .child = NODE_SEARCH,
			      .in = NODE_LIST_COLLECTIONS,
			      .by = NODE_BY_CID },
	[NODE_CTL_DIR] = { .kind_name = "NODE_CTL_DIR",
			   .name = ".xaifs",
			   .mode = NODE_MODE_DIR,
			   NODE_FIXED(node_ctl_entries),
			   .pinned = 1 },

	/* Rendered files. */
	[NODE_REGIONS] = { .kind_name = "NODE_REGIONS",
			   .name = "regions",
			   .mode = NODE_MODE_RO,
			   .open = NODE_O_TEXT,
			   .page_cache = 1,
			   .pinned = 1 },
	[NODE_USAGE] = { .kind_name = "NODE_USAGE",
			 .name = "usage",
			 .mode = NODE_MODE_RO,
			 NODE_LIVE_TEXT,
			 .pinned = 1 },
	[NODE_BILLING] = { .kind_name = "NODE_BILLING",
			   .name = "billing",
			   .mode = NODE_MODE_RO,
			   NODE_LIVE_TEXT,
			   .pinned = 1 },
	[NODE_AUDIT] = { .kind_name = "NODE_AUDIT",
			 .name = "audit.jsonl",
			 .mode = NODE_MODE_RO,
			 NODE_LIVE_TEXT,
			 .pinned = 1 },
	[NODE_USAGE_MONTH] = { .kind_name = "NODE_USAGE_MONTH",
			       .mode = NODE_MODE_RO,
			       NODE_LIVE_TEXT },
	[NODE_ENDPOINTS] = { .kind_name = "NODE_ENDPOINTS",
			     .name = "endpoints",
			     .mode = NODE_MODE_RO,
			     NODE_LIVE_TEXT },
	[NODE_USAGE_SVG] = { .kind_name = "NODE_USAGE_SVG",
			     .name = "usage.svg",
			     .mode = NODE_MODE_RO,
			     NODE_LIVE_TEXT },
	[NODE_USAGE_MONTH_SVG] = { .kind_name = "NODE_USAGE_MONTH_SVG",
				   .mode = NODE_MODE_RO,
				   NODE_LIVE_TEXT },
	[NODE_LIMITS] = { .kind_name = "NODE_LIMITS",
			  .name = "spending-limits",
			  .mode = NODE_MODE_RW,
			  .write = NODE_W_ACCOUNT,
			  NODE_LIVE_TEXT },
	/* A query's result: each name is its own request, so no page cache. */
	[NODE_SEARCH] = { .kind_name = "NODE_SEARCH",
			  .mode = NODE_MODE_RO,
			  .open = NODE_O_TEXT,
			  .fetched_mtime = 1 },

	/* Listed resources and the views of a collection. */
	[NODE_KEY] = { .kind_name = "NODE_KEY",
		       .mode = NODE_MODE_RW,
		       .write = NODE_W_JSON,
		       .in = NODE_LIST_KEYS,
		       .open = NODE_O_KEY,
		       .page_cache = 1,
		       .stale = 1,
		       .resource = 1,
		       .xattr = NODE_XA_PROPAGATION | NODE_XA_ROTATE },
	[NODE_MODEL] = { .kind_name = "NODE_MODEL",
			 .mode = NODE_MODE_RO,
			 .in = NODE_LIST_MODELS,
			 .open = NODE_O_ENTRY,
			 .page_cache = 1,
			 .stale = 1,
			 .resource = 1 },
	[NODE_INVOICE] = { .kind_name = "NODE_INVOICE",
			   .mode = NODE_MODE_RO,
			   .in = NODE_LIST_INVOICES,
			   .open = NODE_O_ENTRY,
			   .page_cache = 1 },
	[NODE_COLL_DIR] = { .kind_name = "NODE_COLL_DIR",
			    .mode = NODE_MODE_DIR,
			    .write = NODE_W_VIEWS,
			    NODE_FIXED(node_coll_entries),
			    .in = NODE_LIST_COLLECTIONS,
			    .by = NODE_BY_CID,
			    .stale = 1,
			    .resource = 1 },
	[NODE_COLL_JSON] = { .kind_name = "NODE_COLL_JSON",
			     .name = "collection.json",
			     .mode = NODE_MODE_RW,
			     .write = NODE_W_JSON,
			     .in = NODE_LIST_COLLECTIONS,
			     .by = NODE_BY_CID,
			     .open = NODE_O_ENTRY,
			     .page_cache = 1,
			     .stale = 1,
			     .resource = 1 },
	[NODE_DOCS_DIR] = { .kind_name = "NODE_DOCS_DIR",
			    .name = "documents",
			    .mode = NODE_MODE_DIR,
			    .write = NODE_W_ENTRIES,
			    NODE_LISTED(NODE_LIST_DOCUMENTS, NODE_DOC),
			    .in = NODE_LIST_COLLECTIONS,
			    .by = NODE_BY_CID,
			    .stale = 1 },
	[NODE_META_DIR] = { .kind_name = "NODE_META_DIR",
			    .name = "metadata",
			    .mode = NODE_MODE_DIR,
			    .write = NODE_W_META,
			    NODE_LISTED(NODE_LIST_DOCUMENTS, NODE_DOC_META),
			    .suffix = ".json",
			    .in = NODE_LIST_COLLECTIONS,
			    .by = NODE_BY_CID,
			    .stale = 1 },
	[NODE_DOC] = { .kind_name = "NODE_DOC",
		       .mode = NODE_MODE_RW,
		       .write = NODE_W_DOC,
		       .in = NODE_LIST_DOCUMENTS,
		       .open = NODE_O_DOC,
		       .stale = 1,
		       .resource = 1,
		       .xattr = NODE_XA_STATUS | NODE_XA_REINDEX },
	[NODE_DOC_META] = { .kind_name = "NODE_DOC_META",
			    .mode = NODE_MODE_RO,
			    .in = NODE_LIST_DOCUMENTS,
			    .open = NODE_O_ENTRY,
			    .page_cache = 1,
			    .stale = 1,
			    .resource = 1,
			    .xattr = NODE_XA_STATUS | NODE_XA_REINDEX },

	/* Files of the mount itself. */
	[NODE_LOCAL] = { .kind_name = "NODE_LOCAL",
			 .mode = NODE_MODE_RW,
			 .write = NODE_W_SCRATCH,
			 .open = NODE_O_SCRATCH,
			 .ttl = NODE_TTL_ZERO },
	[NODE_CTL_STATS] = { .kind_name = "NODE_CTL_STATS",
			     .name = "stats",
			     .mode = NODE_MODE_RO,
			     .open = NODE_O_STATS,
			     .ttl = NODE_TTL_ZERO,
			     .pinned = 1 },
	[NODE_CTL_REFRESH] = { .kind_name = "NODE_CTL_REFRESH",
			       .name = "refresh",
			       .mode = NODE_MODE_RW,
			       .write = NODE_W_CONTROL,
			       .open = NODE_O_EMPTY,
			       .pinned = 1 },
};

const struct node_info *node_of(enum node_kind k)
{
	if ((unsigned)k >= NODE_KIND_COUNT)
		return &node_table[NODE_NONE];
	return &node_table[k];
}

int node_is_dir(enum node_kind k)
{
	return node_of(k)->mode == NODE_MODE_DIR;
}

int node_is_scratch(enum node_kind k)
{
	return node_of(k)->write == NODE_W_SCRATCH;
}

const struct node_fixed *node_fixed_find(enum node_kind dir, const char *name)
{
	const struct node_info *d = node_of(dir);

	for (size_t i = 0; i < d->n_fixed; i++)
		if (strcmp(d->fixed[i].name, name) == 0)
			return &d->fixed[i];
	return NULL;
}
