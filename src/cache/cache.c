/* cache.c - TTL cache with single flight; see cache.h. */
#include "cache_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "names.h"
#include "anonfile.h"

void cache_set_hook(struct cache *c, cache_replaced_fn fn, void *ctx)
{
	c->replaced = fn;
	c->replaced_ctx = ctx;
}

void cache_tell_replaced(struct cache *c, const struct cache_key *key,
			 struct cval *old, struct cval *nv)
{
	if (old && nv && old != nv && c->replaced)
		c->replaced(c->replaced_ctx, key, old, nv);
	cval_unref(old);
}

static double cache_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cval *cval_ref(struct cval *v)
{
	if (v)
		__atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
	return v;
}

struct cval *cval_new(void)
{
	struct cval *v = calloc(1, sizeof(*v));

	if (v)
		v->refs = 1;
	return v;
}

int cval_stale(const struct cval *v)
{
	return __atomic_load_n(&v->stale, __ATOMIC_ACQUIRE);
}

void cval_mark_stale(struct cval *v)
{
	if (v)
		__atomic_store_n(&v->stale, 1, __ATOMIC_RELEASE);
}

int cval_find(struct cval **v, const char *key, int by_id, const struct res **r)
{
	*r = by_id ? reslist_by_id((*v)->list, key)
		   : reslist_by_name((*v)->list, key);
	if (*r)
		return 0;
	cval_unref(*v);
	*v = NULL;
	return -ENOENT;
}

void cval_unref(struct cval *v)
{
	if (!v || __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	reslist_unref(v->list);
	free(v->text);
	free(v);
}

struct cache *cache_new(struct api *api, const struct cache_opts *o)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->api = api;
	c->o = *o;
	if (!c->o.now)
		c->o.now = cache_clock;
	if (!c->o.max_entries)
		c->o.max_entries = 4096;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->done, NULL);
	return c;
}

static void centry_free(struct centry *e)
{
	cval_unref(e->flight_val);
	cval_unref(e->val);
	free(e->arg);
	free(e);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct centry *e = c->buckets[i], *n;

		for (; e; e = n) {
			n = e->next;
			centry_free(e);
		}
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->done);
	free(c);
}

double cache_ttl(const struct cache *c, int live)
{
	return live ? c->o.live_ttl : c->o.ttl;
}

/* An entry's argument: "" for a family without one. */
static const char *cache_arg(const struct cache_key *key)
{
	return key->arg ? key->arg : "";
}

static size_t cache_hash(const struct cache_key *key)
{
	size_t h = (14695981039346656037ull ^ (unsigned)key->family) *
		   1099511628211ull;

	for (const char *s = cache_arg(key); *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h % CACHE_BUCKETS;
}

struct centry *cache_find_locked(struct cache *c, const struct cache_key *key)
{
	for (struct centry *e = c->buckets[cache_hash(key)]; e; e = e->next)
		if (e->family == key->family &&
		    strcmp(e->arg, cache_arg(key)) == 0)
			return e;
	return NULL;
}

/* Drop the least recently used idle entry. Called with c->lock held. */
static void cache_evict_locked(struct cache *c)
{
	struct centry **victim = NULL;

	for (size_t i = 0; i < CACHE_BUCKETS; i++)
		for (struct centry **p = &c->buckets[i]; *p; p = &(*p)->next)
			if (!(*p)->busy && !(*p)->waiters &&
			    (!victim || (*p)->used < (*victim)->used))
				victim = p;
	if (victim) {
		struct centry *e = *victim;

		*victim = e->next;
		centry_free(e);
		c->n_entries--;
	}
}

/* The entry under key, made when there is none (NULL on ENOMEM). Lock held. */
static struct centry *cache_entry_locked(struct cache *c,
					 const struct cache_key *key)
{
	size_t h = cache_hash(key);
	struct centry *e = cache_find_locked(c, key);

	if (e)
		return e;
	if (c->n_entries >= c->o.max_entries)
		cache_evict_locked(c);
	e = calloc(1, sizeof(*e));
	if (!e || !(e->arg = strdup(cache_arg(key)))) {
		free(e);
		return NULL;
	}
	e->family = key->family;
	e->next = c->buckets[h];
	c->buckets[h] = e;
	c->n_entries++;
	return e;
}

/*
 * Run the fetch for e outside the lock; publish the result. Lock held on
 * entry and exit. When the new value replaces one, *old gets that one (its
 * reference) for cache_tell_replaced() after the lock is let go.
 */
static int cache_fill_locked(struct cache *c, struct centry *e,
			     cache_fetch_fn fetch, const char *arg, double ttl,
			     struct cval **out, struct cval **old)
{
	unsigned gen = c->generation, egen = e->gen;
	struct cval *v = cval_new();
	int rc;

	e->busy = 1;
	e->fetch_gen = egen;
	e->fetch_cgen = gen;
	c->stats.misses++;
	pthread_mutex_unlock(&c->lock);
	/* every fetch's time; one drawn from another value takes that one's */
	if (v)
		v->fetched = time(NULL);
	rc = !v ? -ENOMEM : !c->api ? -ENOTCONN : fetch(c, c->api, arg, v);
	if (rc < 0) {
		cval_unref(v);
		v = NULL;
	}
	pthread_mutex_lock(&c->lock);
	e->busy = 0;
	e->flights++;
	e->last_rc = rc;
	/*
	 * Joiners get this fetch's answer even when a change during the fetch
	 * keeps it out of the entry: it is at least as new as what they asked
	 * after, while e->val may be older.
	 */
	cval_unref(e->flight_val);
	e->flight_val = rc == 0 ? cval_ref(v) : NULL;
	if (rc == 0 && gen == c->generation && egen == e->gen) {
		*old = e->val;
		e->val = v;
		e->expires = c->o.now() + ttl;
		*out = cval_ref(v);
	} else if (rc == 0) {
		/*
		 * A drop, an invalidation or a store while we fetched: this
		 * answer may predate a change. Its callers get it; the entry
		 * stays stale (or keeps the stored value).
		 */
		cval_mark_stale(v);
		if (!e->val) {
			e->val = cval_ref(v);
			e->expires = 0;
		}
		*out = v;
	}
	pthread_cond_broadcast(&c->done);
	return rc;
}

int cache_get(struct cache *c, const struct cache_key *key,
	      cache_fetch_fn fetch, double ttl, struct cval **out)
{
	struct cval *old = NULL;
	struct centry *e;
	int rc;

	pthread_mutex_lock(&c->lock);
	e = cache_entry_locked(c, key);
	if (!e) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	for (;;) {
		double now = c->o.now();

		e->used = now;
		if (e->val && now < e->expires) {
			c->stats.hits++;
			*out = cval_ref(e->val);
			rc = 0;
			break;
		}
		if (e->busy) {
			unsigned seen = e->flights;
			/*
			 * A fetch that started before the last change predates
			 * it: wait for it to end, then fetch again, rather than
			 * share its answer.
			 */
			int stale = e->fetch_gen != e->gen ||
				    e->fetch_cgen != c->generation;

			if (!stale)
				c->stats.joins++;
			e->waiters++;
			while (e->busy)
				pthread_cond_wait(&c->done, &c->lock);
			e->waiters--;
			if (e->flights == seen || stale)
				continue;
			rc = e->last_rc;
			if (rc == 0)
				*out = cval_ref(e->flight_val);
			break;
		}
		rc = cache_fill_locked(c, e, fetch, e->arg, ttl, out, &old);
		break;
	}
	pthread_mutex_unlock(&c->lock);
	cache_tell_replaced(c, key, old, rc == 0 ? *out : NULL);
	return rc;
}

int cache_store(struct cache *c, const struct cache_key *key, struct cval *v)
{
	struct cval *old = NULL;
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = cache_entry_locked(c, key);
	if (e) {
		e->gen++; /* a fetch in flight predates this value */
		cval_mark_stale(e->val);
		old = e->val;
		e->val = cval_ref(v);
		e->expires = c->o.now() + c->o.ttl;
		e->used = c->o.now();
	}
	pthread_mutex_unlock(&c->lock);
	cache_tell_replaced(c, key, old, v);
	return e ? 0 : -ENOMEM;
}

void cache_invalidate(struct cache *c, enum cache_family f, const char *arg)
{
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = cache_find_locked(c, CACHE_KEY(f, arg));
	if (e)
		cache_invalidate_locked(e);
	pthread_mutex_unlock(&c->lock);
}

void cache_invalidate_locked(struct centry *e)
{
	e->expires = 0;
	e->gen++;
	cval_mark_stale(e->val);
}

void cache_drop_all(struct cache *c)
{
	if (c->o.doccache)
		doccache_clear(c->o.doccache);
	pthread_mutex_lock(&c->lock);
	c->generation++;
	for (size_t i = 0; i < CACHE_BUCKETS; i++)
		for (struct centry *e = c->buckets[i]; e; e = e->next) {
			e->expires = 0;
			cval_mark_stale(e->val);
		}
	pthread_mutex_unlock(&c->lock);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	out->entries = c->n_entries;
	pthread_mutex_unlock(&c->lock);
}
