/*
 * cache.h - the cache between the file system and the API: listings and
 * rendered JSON with a TTL, shared by every reader, one request in flight per
 * resource.
 *
 * Owns: the entries, each under a typed key (struct cache_key: a family
 * of answers and, for some families, an argument such as a collection id),
 * their values, and the hit/miss/join counters. cache.c holds the entries and
 * single flight, cache_write.c what a change does to them (write-through and
 * invalidation, one entry point per family), cache_fetch.c what each family
 * fetches. The API is used only through the fetches it runs: no upper layer
 * reaches it through the cache.
 *
 * Coherence: an entry is fresh for cache_ttl seconds (live_ttl for usage and
 * billing). A listing is the authority for its directory: a name missing from
 * a fresh listing is a cached negative answer, so lookups of missing names
 * and of entries already listed cost no request. cache_drop_all() (SIGHUP,
 * .xaifs/refresh), cache_changed() and cache_invalidate() make the next read
 * fetch again; a fetch that was in flight while they ran is
 * handed to its waiters but not kept.
 *
 * Single flight: concurrent readers of a missing or expired entry share one
 * fetch; all of them get its result or its error. Errors are not cached.
 *
 * Threads: every function is thread safe. c->lock guards the table, each
 * entry's state and the counters; it is never held during a fetch (HTTP) and
 * is taken while holding no other lock (tree.h, "Lock order").
 *
 * Ownership: getters return a new reference to an immutable value; release it
 * with cval_unref(). Listings in values have their display names assigned
 * (names.h) and their indexes built.
 */
#ifndef XAIFS_CACHE_H
#define XAIFS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "api.h"
#include "doccache.h"
#include "model.h"
#include "reslist.h"

struct cache;

struct cval {
	int refs;	      /* atomic */
	struct reslist *list; /* listings; NULL for rendered files */
	char *text; /* rendered JSON (usage, billing, regions); NULL for
		       listings */
	size_t len;
	time_t fetched; /* wall-clock time of the fetch (set by the cache before
			   the fetch function runs; one drawn from another
			   value takes its time) */
	int stale;	/* atomic: a change made through the mount (or a
			 * drop) has made this value out of date */
};

/* Whether v is known to be out of date (see cval.stale). */
int cval_stale(const struct cval *v);

void cval_unref(struct cval *v);

/*
 * Find an entry of the listing *v by display name (or by id): *r points into
 * the listing. When there is none, *v is released and set to NULL and the
 * result is -ENOENT.
 */
int cval_find(struct cval **v, const char *key, int by_id,
	      const struct res **r);
struct cval *cval_ref(struct cval *v);

struct cache_opts {
	double ttl;	    /* seconds for listings; 0 = every read fetches */
	double live_ttl;    /* seconds for usage and billing */
	size_t max_entries; /* bound on entries (LRU eviction of idle ones) */
	/* on-disk document bytes (borrowed); NULL: none */
	struct doccache *doccache;
	const char *tmpdir;  /* spool directory when doccache is NULL */
	double (*now)(void); /* monotonic seconds; NULL = CLOCK_MONOTONIC */
};

struct cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t joins;	     /* readers that waited for another's fetch */
	uint64_t doc_hits;   /* document opens served from disk */
	uint64_t doc_misses; /* document opens that downloaded */
	uint64_t entries;
	uint64_t write_through; /* listings changed in place after a write */
};

/* api may be NULL (tests): every fetch then fails with -ENOTCONN. */
struct cache *cache_new(struct api *api, const struct cache_opts *o);
void cache_free(struct cache *c);

/* What the cache keeps: one family per kind of answer. */
enum cache_family {
	CACHE_KEYS,	   /* the API keys (listing) */
	CACHE_COLLECTIONS, /* the collections (listing) */
	CACHE_DOCUMENTS,   /* the documents of the collection arg (listing) */
	CACHE_MODELS,	   /* the models (listing; regions come from it too) */
	CACHE_USAGE,	   /* this month's usage (text) */
	CACHE_USAGE_MONTH, /* the usage of month arg, "YYYY-MM" (text) */
	CACHE_BILLING,	   /* billing information (text) */
	CACHE_AUDIT,	   /* recent audit events (text: JSON lines) */
	CACHE_SEARCH, /* arg "<collection id>/<query>"; "" id: every collection */
	CACHE_ENDPOINTS,       /* the endpoint ACL catalogue (text) */
	CACHE_INVOICES,	       /* invoices (listing) */
	CACHE_LIMITS,	       /* spending limits (text) */
	CACHE_USAGE_SVG,       /* /usage.svg, drawn from CACHE_USAGE (text) */
	CACHE_USAGE_MONTH_SVG, /* usage-by-month/<arg>.svg, drawn from
				  CACHE_USAGE_MONTH */
	CACHE_FAMILY_COUNT
};

/* The key of an entry; arg is NULL (or "") for families without one. */
struct cache_key {
	enum cache_family family;
	const char *arg;
};

#define CACHE_KEY(f, a) (&(const struct cache_key){ (f), (a) })

/* Listings, whole (every page). Return 0 and a referenced value, or -errno. */
int cache_keys(struct cache *c, struct cval **out);
int cache_collections(struct cache *c, struct cval **out);
int cache_documents(struct cache *c, const char *collection_id,
		    struct cval **out);
int cache_models(struct cache *c, struct cval **out);  /* list of models */
int cache_regions(struct cache *c, struct cval **out); /* text */
int cache_usage(struct cache *c, struct cval **out);   /* text */
int cache_billing(struct cache *c, struct cval **out); /* text */
int cache_audit(struct cache *c, struct cval **out);   /* text: JSON lines */
/* Usage of a calendar month, "YYYY-MM" (text); past months keep for the listing
 * TTL. */
int cache_usage_month(struct cache *c, const char *month, struct cval **out);
/* A key's propagation to the clusters (text), asked of the server every time. */
int cache_key_propagation(struct cache *c, const char *key_id, char **text,
			  size_t *len);
/*
 * The counters of the cache and of the API and HTTP client under it
 * (requests by route, uploads, retries, bytes, hits...), in out[] (room for
 * CACHE_COUNTERS_MAX); returns how many. For .xaifs/stats.
 */
#define CACHE_COUNTERS_MAX (API_ROUTE_COUNT + 24)
size_t cache_counters(struct cache *c, struct model_counter *out);

/* Document bytes into fd, straight from the API (not kept). */
int cache_read_document(struct cache *c, const char *file_id, int fd,
			uint64_t *bytes);

/*
 * A read-only fd on a document's bytes, from the on-disk cache (keyed by
 * file id and content hash), or on the file a download is filling: then
 * *dl is set (release with doccache_dl_unref()) and readers must call
 * doccache_dl_wait() for the bytes they read. Returns fd or -errno.
 */
int cache_open_document(struct cache *c, const char *file_id, const char *hash,
			struct doccache_dl **dl);

/*
 * The generic getter behind the typed ones: the value stored under key, or
 * fetch(c, api, key->arg, v) to fill a new one (v is zeroed; return 0 or
 * -errno; never called when the cache has no api: -ENOTCONN), kept for ttl
 * seconds. Single flight as above. Used by account.c and by tests.
 */
typedef int (*cache_fetch_fn)(struct cache *c, struct api *api, const char *arg,
			      struct cval *v);
int cache_get(struct cache *c, const struct cache_key *key,
	      cache_fetch_fn fetch, double ttl, struct cval **out);

/*
 * Store v under key as a fresh value (for the listing TTL), replacing what was
 * there; used by tests to prime the cache. Takes a new reference to v.
 * Returns 0 or -ENOMEM.
 */
int cache_store(struct cache *c, const struct cache_key *key, struct cval *v);

/* A new empty value with one reference, or NULL on ENOMEM. */
struct cval *cval_new(void);

/*
 * Make the one entry under (family, arg) stale: the next read fetches, and
 * a fetch already in flight is handed to its waiters but not kept. For a
 * read that must see the server (a write compared with what is listed);
 * after a change, use cache_changed(), which also reaches what depends on it.
 */
void cache_invalidate(struct cache *c, enum cache_family f, const char *arg);

/*
 * After a change the server accepted, one entry point per family
 * (cache_write.c; every rule of what depends on what is there):
 *
 * cache_put() puts r in place of the listed entry with r's id (or adds it)
 * and takes r's strings; cache_remove() takes out the entry with id
 * (CACHE_KEYS, CACHE_COLLECTIONS, or CACHE_DOCUMENTS of collection cid).
 * Names are assigned again by the name rule; the listing keeps its expiry.
 * When there is no fresh listing, or another change, drop or fetch raced
 * with this one, the listing is invalidated instead (the next read fetches).
 * A document put or removed also changes its collection's documents_count
 * in place; a collection removed takes its documents listing with it.
 *
 * cache_changed() is for a change whose result the answer does not tell:
 * the entry becomes stale, with what depends on it (a collection's
 * documents: the collections listing, for documents_count; the spending
 * limits: billing).
 *
 * Every one of them also makes CACHE_AUDIT stale: each change is an event.
 */
void cache_put(struct cache *c, enum cache_family f, const char *cid,
	       struct res *r);
void cache_remove(struct cache *c, enum cache_family f, const char *cid,
		  const char *id);
void cache_changed(struct cache *c, enum cache_family f, const char *arg);

/*
 * Told after the value under key was replaced by another (a refetch, a
 * write-through edit or a store): old is the value replaced, nv the new one;
 * both stay referenced for the call. Runs in the thread that replaced it,
 * outside c->lock, so it may take any lock that comes after the cache's
 * callers (inode table, kernel_cache). Not called for a first value (there
 * is nothing the kernel could hold from before), nor for values that were
 * dropped without a replacement (eviction: see docs/performance.md).
 */
typedef void (*cache_replaced_fn)(void *ctx, const struct cache_key *key,
				  const struct cval *old,
				  const struct cval *nv);

/* Set the replacement hook; call once, before the cache is shared between
 * threads. */
void cache_set_hook(struct cache *c, cache_replaced_fn fn, void *ctx);

/* Forget every entry (values still referenced stay valid). */
void cache_drop_all(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *out);

/* The cache's TTLs in seconds: the listing TTL, or with live the live TTL. */
double cache_ttl(const struct cache *c, int live);

/*
 * The TTL of what is drawn from one month's usage ("YYYY-MM"): the current
 * month is live; a past one no longer changes much and keeps for the
 * listing TTL.
 */
double cache_month_ttl(const struct cache *c, const char *month);

#endif
