/*
 * cache_int.h - what cache.c (entries, single flight), cache_write.c
 * (changes) and cache_fetch.c (what each family fetches) share; never
 * included outside the cache module. Locking as in cache.h: c->lock guards
 * the table, every entry's state and the counters.
 */
#ifndef XAIFS_CACHE_INT_H
#define XAIFS_CACHE_INT_H

#include <pthread.h>
#include "cache.h"

#define CACHE_BUCKETS 1024

/* One entry: the value under (family, arg), and its fetch in flight. */
struct centry {
	enum cache_family family;
	char *arg;	    /* "" for families without one; owned */
	struct cval *val;   /* last good value, or NULL */
	double expires;	    /* val is fresh until then */
	double used;	    /* last access, for LRU */
	int busy;	    /* a fetch is in flight */
	int waiters;	    /* readers waiting for that fetch; pins the entry */
	unsigned gen;	    /* bumped by every invalidation and store */
	unsigned fetch_gen; /* gen when the fetch in flight started */
	unsigned fetch_cgen; /* c->generation then */
	/* the last fetch's own answer, for its joiners */
	struct cval *flight_val;
	unsigned flights;    /* fetches finished */
	int last_rc;	     /* result of the last fetch */
	struct centry *next; /* hash chain */
};

struct cache {
	struct api *api;
	struct cache_opts o;
	pthread_mutex_t lock;
	pthread_cond_t done;		       /* a fetch finished */
	struct centry *buckets[CACHE_BUCKETS]; /* protected by lock */
	size_t n_entries;		       /* protected by lock */
	unsigned generation;	    /* bumped by cache_drop_all; lock */
	struct cache_stats stats;   /* protected by lock */
	cache_replaced_fn replaced; /* set before sharing; read-only */
	void *replaced_ctx;
};

/* The entry under key, or NULL. Called with c->lock held. */
struct centry *cache_find_locked(struct cache *c, const struct cache_key *key);

/* Make e stale (next read fetches; a fetch in flight is not kept). Lock held. */
void cache_invalidate_locked(struct centry *e);

/* Mark a value out of date for those who hold it (cval.stale). v may be NULL. */
void cval_mark_stale(struct cval *v);

/* Tell the hook that old was replaced by nv (no lock held); drops the reference
 * on old. */
void cache_tell_replaced(struct cache *c, const struct cache_key *key,
			 struct cval *old, struct cval *nv);

#endif
