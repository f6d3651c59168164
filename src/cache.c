/* cache.c - TTL cache with single flight; see cache.h. */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "model.h"
#include "names.h"
#include "anonfile.h"

#define CACHE_BUCKETS 1024

struct centry {
	char *key;
	struct cval *val;	/* last good value, or NULL */
	double expires;		/* val is fresh until then */
	double used;		/* last access, for LRU */
	int busy;		/* a fetch is in flight */
	int waiters;		/* readers waiting for that fetch; pins the entry */
	unsigned gen;		/* bumped by cache_invalidate() */
	unsigned fetch_gen;	/* gen when the fetch in flight started */
	unsigned fetch_cgen;	/* c->generation then */
	struct cval *flight_val;	/* the last fetch's own answer, for its joiners */
	unsigned flights;	/* fetches finished */
	int last_rc;		/* result of the last fetch */
	struct centry *next;	/* hash chain */
};

struct cache {
	struct api *api;
	struct cache_opts o;
	pthread_mutex_t lock;
	pthread_cond_t done;	/* a fetch finished */
	struct centry *buckets[CACHE_BUCKETS];	/* protected by lock */
	size_t n_entries;			/* protected by lock */
	unsigned generation;			/* bumped by cache_drop_all; lock */
	struct cache_stats stats;		/* protected by lock */
	cache_replaced_fn replaced;		/* set before sharing; read-only */
	void *replaced_ctx;
};

void cache_set_hook(struct cache *c, cache_replaced_fn fn, void *ctx)
{
	c->replaced = fn;
	c->replaced_ctx = ctx;
}

/* Tell the hook that old was replaced by nv (no lock held); drops the reference on old. */
static void cache_tell_replaced(struct cache *c, const char *key, struct cval *old,
				struct cval *nv)
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

static void cval_mark_stale(struct cval *v)
{
	if (v)
		__atomic_store_n(&v->stale, 1, __ATOMIC_RELEASE);
}

int cval_find(struct cval **v, const char *key, int by_id, const struct res **r)
{
	*r = by_id ? reslist_by_id((*v)->list, key) : reslist_by_name((*v)->list, key);
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
	free(e->key);
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

struct api *cache_api(struct cache *c)
{
	return c->api;
}

double cache_ttl(const struct cache *c, int live)
{
	return live ? c->o.live_ttl : c->o.ttl;
}

static size_t cache_hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h % CACHE_BUCKETS;
}

/* Drop the least recently used idle entry. Called with c->lock held. */
static void cache_evict_locked(struct cache *c)
{
	struct centry **victim = NULL;

	for (size_t i = 0; i < CACHE_BUCKETS; i++)
		for (struct centry **p = &c->buckets[i]; *p; p = &(*p)->next)
			if (!(*p)->busy && !(*p)->waiters && (!victim || (*p)->used < (*victim)->used))
				victim = p;
	if (victim) {
		struct centry *e = *victim;

		*victim = e->next;
		centry_free(e);
		c->n_entries--;
	}
}

static struct centry *cache_entry_locked(struct cache *c, const char *key)
{
	size_t h = cache_hash(key);
	struct centry *e;

	for (e = c->buckets[h]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (c->n_entries >= c->o.max_entries)
		cache_evict_locked(c);
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return NULL;
	}
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
static int cache_fill_locked(struct cache *c, struct centry *e, cache_fetch_fn fetch,
			     const char *arg, double ttl, struct cval **out, struct cval **old)
{
	unsigned gen = c->generation, egen = e->gen;
	struct cval *v = cval_new();
	int rc;

	e->busy = 1;
	e->fetch_gen = egen;
	e->fetch_cgen = gen;
	c->stats.misses++;
	pthread_mutex_unlock(&c->lock);
	rc = v ? fetch(c, arg, v) : -ENOMEM;
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
		 * A drop, an invalidation or a store while we fetched: this answer
		 * may predate a change. Its callers get it; the entry stays stale
		 * (or keeps the stored value).
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

int cache_get(struct cache *c, const char *key, cache_fetch_fn fetch,
	      const char *arg, double ttl, struct cval **out)
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
			int stale = e->fetch_gen != e->gen || e->fetch_cgen != c->generation;

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
		rc = cache_fill_locked(c, e, fetch, arg, ttl, out, &old);
		break;
	}
	pthread_mutex_unlock(&c->lock);
	cache_tell_replaced(c, key, old, rc == 0 ? *out : NULL);
	return rc;
}

/* ---- fetchers (run without the lock) ---- */

static int cache_name_list(struct reslist *l, size_t maxlen)
{
	int rc = names_assign(l, maxlen, NULL);

	if (rc < 0)
		log_error("cannot name entries: %s", strerror(-rc));
	return rc;
}

static int fetch_keys(struct cache *c, const char *arg, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	int rc = api_list_keys(c->api, &v->list);

	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX);
}

static int fetch_collections(struct cache *c, const char *arg, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	int rc = api_list_collections(c->api, &v->list);

	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX);
}

static int fetch_documents(struct cache *c, const char *cid, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	int rc = api_list_documents(c->api, cid, &v->list);

	/* Leave room for the ".json" of metadata/<doc>.json. */
	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX - 5);
}

static int fetch_models(struct cache *c, const char *arg, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	int rc = api_list_models(c->api, &v->list, &v->text, &v->len);

	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX);
}

static int fetch_usage(struct cache *c, const char *arg, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	v->fetched = time(NULL);
	return api_usage(c->api, v->fetched, &v->text, &v->len);
}

static int fetch_billing(struct cache *c, const char *arg, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	v->fetched = time(NULL);
	return api_billing(c->api, &v->text, &v->len);
}

#define CACHE_AUDIT_PAGES 10

static int fetch_audit(struct cache *c, const char *arg, struct cval *v)
{
	if (!c->api)
		return -ENOTCONN;
	v->fetched = time(NULL);
	return api_audit(c->api, CACHE_AUDIT_PAGES, &v->text, &v->len);
}

static int fetch_usage_month(struct cache *c, const char *month, struct cval *v)
{
	int y, m;

	if (!c->api)
		return -ENOTCONN;
	if (sscanf(month, "%4d-%2d", &y, &m) != 2)
		return -ENOENT;
	v->fetched = time(NULL);
	return api_usage_month(c->api, y, m, v->fetched, &v->text, &v->len);
}

int cache_audit(struct cache *c, struct cval **out)
{
	return cache_get(c, "audit", fetch_audit, NULL, c->o.live_ttl, out);
}

int cache_usage_month(struct cache *c, const char *month, struct cval **out)
{
	char key[32], cur[8];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(cur, sizeof(cur), "%Y-%m", &tm);
	snprintf(key, sizeof(key), "usage/%.7s", month);
	/* A past month no longer changes much; the current one is live. */
	return cache_get(c, key, fetch_usage_month, month,
			 strcmp(month, cur) == 0 ? c->o.live_ttl : c->o.ttl, out);
}

int cache_keys(struct cache *c, struct cval **out)
{
	return cache_get(c, "keys", fetch_keys, NULL, c->o.ttl, out);
}

int cache_collections(struct cache *c, struct cval **out)
{
	return cache_get(c, "collections", fetch_collections, NULL, c->o.ttl, out);
}

int cache_documents(struct cache *c, const char *collection_id, struct cval **out)
{
	size_t n = strlen(collection_id) + 16;
	char *key = malloc(n);
	int rc;

	if (!key)
		return -ENOMEM;
	snprintf(key, n, "documents/%s", collection_id);
	rc = cache_get(c, key, fetch_documents, collection_id, c->o.ttl, out);
	free(key);
	return rc;
}

int cache_models(struct cache *c, struct cval **out)
{
	return cache_get(c, "models", fetch_models, NULL, c->o.ttl, out);
}

int cache_regions(struct cache *c, struct cval **out)
{
	return cache_models(c, out);
}

int cache_usage(struct cache *c, struct cval **out)
{
	return cache_get(c, "usage", fetch_usage, NULL, c->o.live_ttl, out);
}

int cache_billing(struct cache *c, struct cval **out)
{
	return cache_get(c, "billing", fetch_billing, NULL, c->o.live_ttl, out);
}

int cache_read_document(struct cache *c, const char *file_id, int fd, uint64_t *bytes)
{
	if (!c->api)
		return -ENOTCONN;
	return api_download_file(c->api, file_id, fd, bytes);
}

int cache_store(struct cache *c, const char *key, struct cval *v)
{
	struct cval *old = NULL;
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = cache_entry_locked(c, key);
	if (e) {
		e->gen++;	/* a fetch in flight predates this value */
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

/* ---- write-through ---- */

/* Longest display name in the listing under key (documents leave room for ".json"). */
static size_t cache_name_max(const char *key)
{
	return strncmp(key, "documents/", 10) == 0 ? NAMES_MAX - 5 : NAMES_MAX;
}

/* One change to a listing (see cache_put(), cache_remove(), cache_count_documents()). */
struct cache_change {
	const char *gone_id;	/* entry to take out, or NULL */
	struct res *add;	/* entry to put in place of its id (strings taken), or NULL */
	const char *count_id;	/* collection whose documents_count changes, or NULL */
	int count_delta;
};

/* A copy of entry r as ch changes it (r is kept when ch does not touch it). */
static int cache_entry_edit(const struct res *r, struct cache_change *ch, struct reslist *l)
{
	struct res copy;
	int rc;

	if (ch->gone_id && strcmp(r->id, ch->gone_id) == 0)
		return 0;
	if (ch->add && ch->add->id && strcmp(r->id, ch->add->id) == 0)
		return reslist_append(l, ch->add);	/* zeroes *ch->add */
	rc = res_copy(r, &copy);
	if (rc == 0 && ch->count_id && strcmp(r->id, ch->count_id) == 0)
		rc = model_collection_set_count(&copy, copy.count + ch->count_delta);
	if (rc < 0) {
		res_release(&copy);
		return rc;
	}
	return reslist_append(l, &copy);
}

/* A named copy of old changed by ch (ch->add's strings are taken). NULL on error. */
static struct reslist *cache_list_edit(const struct reslist *old, struct cache_change *ch,
				       size_t maxlen)
{
	struct reslist *l = reslist_new();
	int rc = l ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < old->n; i++)
		rc = cache_entry_edit(&old->v[i], ch, l);
	if (rc == 0 && ch->add && ch->add->id)
		rc = reslist_append(l, ch->add);
	res_release(ch->add);
	if (rc == 0)
		rc = names_assign(l, maxlen, NULL);
	if (rc < 0) {
		reslist_unref(l);
		return NULL;
	}
	return l;
}

static struct centry *cache_find_locked(struct cache *c, const char *key)
{
	for (struct centry *e = c->buckets[cache_hash(key)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

static void cache_invalidate_locked(struct centry *e)
{
	e->expires = 0;
	e->gen++;
	cval_mark_stale(e->val);
}

/*
 * Change the fresh listing under key by one entry. The new list is built
 * outside the lock from a referenced snapshot and stored only if nothing
 * else changed the entry meanwhile; otherwise, and when there is no fresh
 * listing to change, the entry is invalidated as before.
 */
static void cache_edit(struct cache *c, const char *key, struct cache_change *ch)
{
	struct cval *old = NULL, *nv = NULL, *replaced = NULL;
	struct centry *e;
	unsigned gen = 0, cgen = 0;

	pthread_mutex_lock(&c->lock);
	e = cache_find_locked(c, key);
	if (e && e->val && e->val->list && !cval_stale(e->val) && c->o.now() < e->expires) {
		old = cval_ref(e->val);
		gen = e->gen;
		cgen = c->generation;
	}
	pthread_mutex_unlock(&c->lock);
	if (old && (nv = cval_new()) &&
	    !(nv->list = cache_list_edit(old->list, ch, cache_name_max(key)))) {
		cval_unref(nv);
		nv = NULL;
	}
	res_release(ch->add);
	if (nv)
		nv->fetched = old->fetched;
	pthread_mutex_lock(&c->lock);
	e = cache_find_locked(c, key);
	if (e && nv && e->val == old && e->gen == gen && c->generation == cgen) {
		e->gen++;	/* a fetch in flight predates this value */
		cval_mark_stale(e->val);
		replaced = e->val;
		e->val = cval_ref(nv);
		c->stats.write_through++;
	} else if (e) {
		cache_invalidate_locked(e);
	}
	pthread_mutex_unlock(&c->lock);
	cache_tell_replaced(c, key, replaced, nv);
	cval_unref(old);
	cval_unref(nv);
}

/* The key of a listing: "keys", "collections" or "documents/<cid>" (malloc'd). */
static char *cache_list_key(enum cache_list which, const char *cid)
{
	char *key = NULL;

	switch (which) {
	case CACHE_KEYS:
		return strdup("keys");
	case CACHE_COLLECTIONS:
		return strdup("collections");
	case CACHE_DOCUMENTS:
		if (asprintf(&key, "documents/%s", cid ? cid : "") < 0)
			key = NULL;
		return key;
	}
	return NULL;
}

void cache_put(struct cache *c, enum cache_list which, const char *cid, struct res *r)
{
	char *key = cache_list_key(which, cid);

	if (!key) {
		res_release(r);
		cache_drop_all(c);	/* stale data is worse than a refetch */
	} else if (!r->id || !*r->id || !r->json) {
		res_release(r);
		cache_invalidate(c, key);
	} else {
		cache_edit(c, key, &(struct cache_change){ .add = r });
	}
	free(key);
}

void cache_remove(struct cache *c, enum cache_list which, const char *cid, const char *id)
{
	char *key = cache_list_key(which, cid);

	if (!key)
		cache_drop_all(c);
	else
		cache_edit(c, key, &(struct cache_change){ .gone_id = id });
	free(key);
}

void cache_count_documents(struct cache *c, const char *collection_id, int delta)
{
	cache_edit(c, "collections",
		   &(struct cache_change){ .count_id = collection_id, .count_delta = delta });
}

void cache_invalidate(struct cache *c, const char *key)
{
	struct centry *e;

	pthread_mutex_lock(&c->lock);
	e = cache_find_locked(c, key);
	if (e)
		cache_invalidate_locked(e);
	pthread_mutex_unlock(&c->lock);
}

void cache_invalidate_documents(struct cache *c, const char *collection_id)
{
	size_t n = strlen(collection_id) + 16;
	char *key = malloc(n);

	if (!key) {
		cache_drop_all(c);	/* stale data is worse than a refetch */
		return;
	}
	snprintf(key, n, "documents/%s", collection_id);
	cache_invalidate(c, key);
	free(key);
}

static int cache_fill_document(void *ctx, const char *file_id, int fd, uint64_t *bytes)
{
	struct cache *c = ctx;

	return api_download_file(c->api, file_id, fd, bytes);
}

int cache_open_document(struct cache *c, const char *file_id, const char *hash,
			struct doccache_dl **dl)
{
	uint64_t bytes = 0;
	int fd, rc;

	*dl = NULL;
	if (!c->api)
		return -ENOTCONN;
	if (c->o.doccache) {
		/* Readers of one uncached document share one download. */
		fd = doccache_open_async(c->o.doccache, file_id, hash, cache_fill_document, c, dl);
	} else {
		fd = anonfile_open(c->o.tmpdir ? c->o.tmpdir : "/var/tmp");
		rc = fd < 0 ? fd : api_download_file(c->api, file_id, fd, &bytes);
		if (fd >= 0 && rc < 0) {
			close(fd);
			fd = rc;
		}
	}
	pthread_mutex_lock(&c->lock);
	if (fd >= 0 && c->o.doccache && !*dl)
		c->stats.doc_hits++;
	else if (fd >= 0)
		c->stats.doc_misses++;
	pthread_mutex_unlock(&c->lock);
	return fd;
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
