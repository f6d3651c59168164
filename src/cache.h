/*
 * cache.h - the cache between the file system and the API: listings and
 * rendered JSON with a TTL, shared by every reader, one request in flight per
 * resource.
 *
 * Owns: the entries (keyed by resource: "keys", "collections",
 * "documents/<collection_id>", "models", "usage", "billing"), their values,
 * and the hit/miss/join counters.
 *
 * Coherence: an entry is fresh for cache_ttl seconds (live_ttl for usage and
 * billing). A listing is the authority for its directory: a name missing from
 * a fresh listing is a cached negative answer, so lookups of missing names
 * and of entries already listed cost no request. cache_drop_all() (SIGHUP,
 * .xaifs/refresh) and cache_invalidate() (after the mount's own changes) make
 * the next read fetch again; a fetch that was in flight while they ran is
 * handed to its waiters but not kept.
 *
 * Single flight: concurrent readers of a missing or expired entry share one
 * fetch; all of them get its result or its error. Errors are not cached.
 *
 * Threads: every function is thread safe. c->lock guards the table, each
 * entry's state and the counters; it is never held during a fetch (HTTP) and
 * is the innermost lock of the program (see inode.h for the order).
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
#include "reslist.h"

struct cache;

struct cval {
	int refs;		/* atomic */
	struct reslist *list;	/* listings; NULL for rendered files */
	char *text;		/* rendered JSON (usage, billing, regions); NULL for listings */
	size_t len;
	time_t fetched;		/* wall-clock time of the fetch */
	int stale;		/* atomic: a change made through the mount (or a
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
int cval_find(struct cval **v, const char *key, int by_id, const struct res **r);
struct cval *cval_ref(struct cval *v);

struct cache_opts {
	double ttl;		/* seconds for listings; 0 = every read fetches */
	double live_ttl;	/* seconds for usage and billing */
	size_t max_entries;	/* bound on entries (LRU eviction of idle ones) */
	struct doccache *doccache;	/* on-disk document bytes (borrowed); NULL: none */
	const char *tmpdir;	/* spool directory when doccache is NULL */
	double (*now)(void);	/* monotonic seconds; NULL = CLOCK_MONOTONIC */
};

struct cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t joins;		/* readers that waited for another's fetch */
	uint64_t doc_hits;	/* document opens served from disk */
	uint64_t doc_misses;	/* document opens that downloaded */
	uint64_t entries;
	uint64_t write_through;	/* listings changed in place after a write */
};

/* api may be NULL (tests): every fetch then fails with -ENOTCONN. */
struct cache *cache_new(struct api *api, const struct cache_opts *o);
void cache_free(struct cache *c);

/* Listings, whole (every page). Return 0 and a referenced value, or -errno. */
int cache_keys(struct cache *c, struct cval **out);
int cache_collections(struct cache *c, struct cval **out);
int cache_documents(struct cache *c, const char *collection_id, struct cval **out);
int cache_models(struct cache *c, struct cval **out);	/* list of models */
int cache_regions(struct cache *c, struct cval **out);	/* text */
int cache_usage(struct cache *c, struct cval **out);	/* text */
int cache_billing(struct cache *c, struct cval **out);	/* text */
int cache_audit(struct cache *c, struct cval **out);	/* text: JSON lines */
/* Usage of a calendar month, "YYYY-MM" (text); past months keep for the listing TTL. */
int cache_usage_month(struct cache *c, const char *month, struct cval **out);

/* Document bytes into fd, straight from the API (not kept). */
int cache_read_document(struct cache *c, const char *file_id, int fd, uint64_t *bytes);

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
 * fetch(c, arg, v) to fill a new one (v is zeroed; return 0 or -errno),
 * kept for ttl seconds. Single flight as above. Exposed for tests.
 */
typedef int (*cache_fetch_fn)(struct cache *c, const char *arg, struct cval *v);
int cache_get(struct cache *c, const char *key, cache_fetch_fn fetch, const char *arg,
	      double ttl, struct cval **out);

/*
 * Store v under key as a fresh value (for the listing TTL), replacing what was
 * there; used after the mount's own changes, and by tests to prime the cache.
 * Takes a new reference to v. Returns 0 or -ENOMEM.
 */
int cache_store(struct cache *c, const char *key, struct cval *v);

/* A new empty value with one reference, or NULL on ENOMEM. */
struct cval *cval_new(void);

/*
 * Make one entry stale ("keys", "collections", "documents/<collection_id>",
 * "models", "usage", "billing"): the next read fetches, and a fetch already
 * in flight is handed to its waiters but not kept.
 */
void cache_invalidate(struct cache *c, const char *key);

/* The listings that writes change in place. */
enum cache_list {
	CACHE_KEYS,
	CACHE_COLLECTIONS,
	CACHE_DOCUMENTS,	/* of one collection (cid) */
};

/*
 * Write-through after a change the server accepted, so the next read costs
 * no request: cache_put() puts r in place of the listed entry with r's id
 * (or adds it) and takes r's strings; cache_remove() takes out the entry
 * with id. cid names the collection for CACHE_DOCUMENTS (else ignored).
 * Names are assigned again by the name rule; the listing keeps its expiry.
 * When there is no fresh listing, or another change, drop or fetch raced
 * with this one, the listing is invalidated instead (the next read fetches).
 */
void cache_put(struct cache *c, enum cache_list which, const char *cid, struct res *r);
void cache_remove(struct cache *c, enum cache_list which, const char *cid, const char *id);

/*
 * A document was added to (delta 1) or removed from (delta -1) a collection:
 * its documents_count in the collections listing changes in place, under the
 * same rules (no fresh listing, or a race: the listing is invalidated).
 */
void cache_count_documents(struct cache *c, const char *collection_id, int delta);
void cache_invalidate_documents(struct cache *c, const char *collection_id);

/*
 * Told after the value under key was replaced by another (a refetch, a
 * write-through edit or a store): old is the value replaced, nv the new one;
 * both stay referenced for the call. Runs in the thread that replaced it,
 * outside c->lock, so it may take any lock that comes after the cache's
 * callers (inode table, kernel_cache). Not called for a first value (there
 * is nothing the kernel could hold from before), nor for values that were
 * dropped without a replacement (eviction: see docs/performance.md).
 */
typedef void (*cache_replaced_fn)(void *ctx, const char *key, const struct cval *old,
				  const struct cval *nv);

/* Set the replacement hook; call once, before the cache is shared between threads. */
void cache_set_hook(struct cache *c, cache_replaced_fn fn, void *ctx);

/* Forget every entry (values still referenced stay valid). */
void cache_drop_all(struct cache *c);

void cache_get_stats(struct cache *c, struct cache_stats *out);

/* The api behind the cache (for calls that are never cached). */
struct api *cache_api(struct cache *c);

/* The cache's TTLs in seconds: the listing TTL, or with live the live TTL. */
double cache_ttl(const struct cache *c, int live);

#endif
