/*
 * node.h - what each kind of node is: one row per enum node_kind.
 *
 * Owns: enum node_kind and the table of struct node_info (node.c), which says
 * for every kind whether it is a directory or a file and with which
 * permission class, whether and through which change path the mount writes
 * it, what a directory's entries are (fixed names, a listing of the cache,
 * months, queries) and their kind, which listing holds the entry a node is
 * described by, how an open for reading is served, how long the kernel may
 * keep its attributes, its fixed name, whether its inode is pinned and which
 * extended attributes and actions it has. Code in tree, change and xattr
 * reads these facts here instead of comparing kinds; a switch over a kind is
 * left only where it dispatches to different code (tree_text(): one cache
 * call per rendered file). Adding a kind means adding its row: the unit test
 * (tests/unit/test_tree.c) checks every kind has a complete, consistent one.
 *
 * Pure: constant data, no I/O, no locks, no dependencies; thread safe.
 */
#ifndef XAIFS_NODE_H
#define XAIFS_NODE_H

#include <stddef.h>

enum node_kind {
	NODE_NONE = 0,
	NODE_ROOT,
	NODE_KEYS_DIR,
	NODE_MODELS_DIR,
	NODE_COLLS_DIR,
	NODE_REGIONS,
	NODE_USAGE,
	NODE_BILLING,
	NODE_KEY,
	NODE_MODEL,
	NODE_COLL_DIR,
	NODE_COLL_JSON,
	NODE_DOCS_DIR,
	NODE_META_DIR,
	NODE_DOC,
	NODE_DOC_META,
	NODE_LOCAL,   /* a file only in the mount (scratch.h); id "local:<n>" */
	NODE_CTL_DIR, /* .xaifs/ */
	NODE_CTL_STATS,	      /* .xaifs/stats */
	NODE_CTL_REFRESH,     /* .xaifs/refresh */
	NODE_AUDIT,	      /* /audit.jsonl */
	NODE_USAGE_DIR,	      /* /usage-by-month/ */
	NODE_USAGE_MONTH,     /* /usage-by-month/YYYY-MM; id "YYYY-MM" */
	NODE_SEARCH_DIR,      /* /search/ (cid "") or collections/<c>/search/ */
	NODE_SEARCH,	      /* a search file: id = the file name (query) */
	NODE_ENDPOINTS,	      /* /endpoints */
	NODE_INVOICES_DIR,    /* /invoices/ */
	NODE_INVOICE,	      /* /invoices/<YYYY-MM>; id = invoiceId */
	NODE_LIMITS,	      /* /spending-limits */
	NODE_USAGE_SVG,	      /* /usage.svg */
	NODE_USAGE_MONTH_SVG, /* /usage-by-month/YYYY-MM.svg; id "YYYY-MM" */
	NODE_KIND_COUNT
};

/*
 * Directory or file, and the permission bits it shows (struct tree_opts): a
 * directory 0777 & ~umask plus x wherever it shows r; a file 0666 & ~umask,
 * without the write bits when it is read-only. A read-only mount drops every
 * write bit.
 */
enum node_mode {
	NODE_MODE_NONE = 0, /* not a node (NODE_NONE) */
	NODE_MODE_DIR,
	NODE_MODE_RO, /* a file that is never written */
	NODE_MODE_RW, /* a file the mount writes (see enum node_write) */
};

/* How the mount changes a file, or the entries of a directory (change.h). */
enum node_write {
	NODE_W_NEVER = 0,
	/* files: the change path an open for writing takes */
	NODE_W_JSON,	/* the JSON written updates the resource (key,
			   collection.json) */
	NODE_W_DOC,	/* a whole new version replaces the document */
	NODE_W_SCRATCH, /* a local file, or the resource it became */
	NODE_W_ACCOUNT, /* /spending-limits: sets the soft spending limit */
	NODE_W_CONTROL, /* .xaifs/refresh: drops every cache (read-only mounts
			   too) */
	/* directories: what happens to their entries */
	NODE_W_ENTRIES, /* keys/, documents/: files are made, renamed, removed */
	NODE_W_COLLECTIONS, /* collections/: mkdir, rmdir, rename, NAME.json */
	NODE_W_META,	    /* metadata/: rm NAME.json removes document NAME */
	NODE_W_VIEWS, /* a collection: its views pass rm -r, nothing else */
};

/* The listings of the cache (one per API list call) that nodes come from. */
enum node_list {
	NODE_LIST_NONE = 0,
	NODE_LIST_KEYS,	       /* cache_keys() */
	NODE_LIST_MODELS,      /* cache_models() */
	NODE_LIST_COLLECTIONS, /* cache_collections() */
	NODE_LIST_DOCUMENTS,   /* cache_documents(), per collection id */
	NODE_LIST_INVOICES,    /* account_invoices() */
};

/* Which id of a node finds its entry in its listing. */
enum node_by {
	NODE_BY_ID = 0, /* its id (keys, documents, ...) */
	NODE_BY_CID, /* its collection id; "" (the root's search/) has no entry */
};

/* What a directory's entries are. */
enum node_entries {
	NODE_E_NONE = 0, /* a file: no entries (lookup in it is -ENOTDIR) */
	NODE_E_FIXED,	 /* the names in .fixed */
	NODE_E_LISTED,	 /* the entries of listing .lists, of kind .child */
	NODE_E_MONTHS, /* YYYY-MM names of kind .child; the last 13 are listed */
	NODE_E_QUERIES, /* any query name, of kind .child; listed empty */
};

/* How an open for reading is served (tree_open()). */
enum node_open {
	NODE_O_NONE = 0, /* a directory: -EISDIR */
	NODE_O_ENTRY,	 /* the JSON of its listing entry */
	NODE_O_KEY,	 /* the same, with the key's one-time secret put back */
	NODE_O_DOC,	 /* the document's bytes (doccache) */
	NODE_O_TEXT,	 /* a rendered text of the cache (tree_text()) */
	NODE_O_STATS,	 /* the mount's counters, rendered at each open */
	NODE_O_EMPTY,	 /* always empty */
	NODE_O_SCRATCH,	 /* a local file's spool */
};

/* How long the kernel may keep its attributes. */
enum node_ttl {
	NODE_TTL_ENTRY = 0, /* entry_ttl, as listed things */
	NODE_TTL_LIVE,	    /* live_ttl (usage, billing, ...) */
	NODE_TTL_ZERO, /* asked again every time (they change with every write) */
};

/* Extended attributes (xattr.h) and setfattr actions (change_setxattr()). */
enum node_xattr {
	NODE_XA_STATUS = 1 << 0,      /* user.xai.status */
	NODE_XA_PROPAGATION = 1 << 1, /* user.xai.propagation */
	NODE_XA_ROTATE = 1 << 2,      /* user.xai.rotate */
	NODE_XA_REINDEX = 1 << 3,     /* user.xai.reindex */
};

/* A fixed entry of a directory. */
struct node_fixed {
	const char *name;
	enum node_kind kind;
};

/* What a kind of node is. Unset fields are 0: NEVER, NONE, ENTRY, ... */
struct node_info {
	const char *kind_name; /* "NODE_KEY": for tests and logs */
	const char *name;      /* its fixed name in its directory, or NULL */
	enum node_mode mode;
	enum node_write write;
	/* A directory's entries. */
	enum node_entries entries;
	enum node_kind child; /* the kind of listed, month and query entries */
	/* NODE_E_MONTHS: each month also drawn, as "<month>.svg", of this kind */
	enum node_kind drawing;
	/* NODE_E_FIXED: the entries, sorted by name */
	const struct node_fixed *fixed;
	size_t n_fixed;
	enum node_list lists; /* NODE_E_LISTED: the listing it shows */
	/* NODE_E_LISTED: added to each listed name, or NULL */
	const char *suffix;
	/* Where a node's own attributes and bytes come from. */
	enum node_list in; /* the listing holding its entry, or NONE */
	enum node_by by;   /* which of its ids finds that entry */
	enum node_open open;
	enum node_ttl ttl;
	/* rendered text: mtime is its fetch time (else the mount's) */
	unsigned char fetched_mtime;
	/* attributes carry a version (tree.h, "The page cache") */
	unsigned char page_cache;
	/* gone from its listing: -ESTALE, so the kernel looks again */
	unsigned char stale;
	/* it shows one listed resource: user.xai.id/name/json */
	unsigned char resource;
	unsigned char pinned; /* its inode lives for the whole mount (inode.h) */
	unsigned xattr;	      /* enum node_xattr */
};

/* The row of kind k; the NODE_NONE row for kinds out of range. Never NULL. */
const struct node_info *node_of(enum node_kind k);

/* Whether kind k is a directory. */
int node_is_dir(enum node_kind k);

/* Whether kind k is a local file: it lives in the scratch table
 * (NODE_W_SCRATCH). */
int node_is_scratch(enum node_kind k);

/* The entry of directory dir named name, or NULL (only NODE_E_FIXED directories
 * have any). */
const struct node_fixed *node_fixed_find(enum node_kind dir, const char *name);

#endif
