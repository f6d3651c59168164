/* test_cache.c - TTL, single flight, errors, drops, LRU, with a fake clock. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "names.h"
#include "test.h"

/*
 * cache_get() only calls the fetch function when the cache has an api (with
 * NULL every fetch is -ENOTCONN), so the fetch tests give it a dummy handle
 * that is never dereferenced: the fetchers here do not use it.
 */
static char dummy_api_mem;
#define DUMMY_API ((struct api *)(void *)&dummy_api_mem)

/*
 * The key a test names: "keys" and "documents/<id>" are those listings;
 * any other name is a key of its own (a search family entry, which the
 * cache treats like any other).
 */
static enum cache_family key_family(const char *s)
{
	if (strcmp(s, "keys") == 0)
		return CACHE_KEYS;
	return strncmp(s, "documents/", 10) == 0 ? CACHE_DOCUMENTS
						 : CACHE_SEARCH;
}

static const char *key_arg(const char *s)
{
	if (strcmp(s, "keys") == 0)
		return NULL;
	return strncmp(s, "documents/", 10) == 0 ? s + 10 : s;
}

#define KEY(s) (&(const struct cache_key){ key_family(s), key_arg(s) })

static double fake_time = 1000;

static double fake_clock(void)
{
	return fake_time;
}

static struct cache *new_cache(struct api *api, double ttl, size_t max_entries)
{
	struct cache_opts o = { ttl, ttl, max_entries, NULL, NULL, fake_clock };

	return cache_new(api, &o);
}

static struct cache_stats stats(struct cache *c)
{
	struct cache_stats s;

	cache_get_stats(c, &s);
	return s;
}

/* ------------------------------------------------------------------ */
/* Fetch functions                                                    */
/* ------------------------------------------------------------------ */

static int fetches; /* atomic: fetch calls so far */
static const char *last_arg;

/* Fills v->text with "v<N>" (N = this fetch's number). */
static int fetch_count(struct cache *c, struct api *api, const char *arg,
		       struct cval *v)
{
	int n = __atomic_add_fetch(&fetches, 1, __ATOMIC_SEQ_CST);
	char s[32];

	last_arg = arg;
	v->len = (size_t)snprintf(s, sizeof(s), "v%d", n);
	v->text = strdup(s);
	return v->text ? 0 : -ENOMEM;
}

static int fetch_fail(struct cache *c, struct api *api, const char *arg,
		      struct cval *v)
{
	__atomic_add_fetch(&fetches, 1, __ATOMIC_SEQ_CST);
	v->text = strdup("partial"); /* must be freed, not kept */
	return -EIO;
}

/* A fetch that blocks until the test opens the gate. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered;
	int open;
	int rc; /* what the gated fetch returns */
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };

/* Close the gate for the next fetch (rc: its result), or open it (open = 1). */
static void gate_set(int open, int rc)
{
	pthread_mutex_lock(&gate.lock);
	if (!open)
		gate.entered = 0, gate.rc = rc;
	gate.open = open;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

static int fetch_gated(struct cache *c, struct api *api, const char *arg,
		       struct cval *v)
{
	pthread_mutex_lock(&gate.lock);
	gate.entered++;
	pthread_cond_broadcast(&gate.cond);
	while (!gate.open)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
	return gate.rc < 0 ? (fetch_fail(c, api, arg, v), gate.rc)
			   : fetch_count(c, api, arg, v);
}

static void gate_wait_entered(void)
{
	pthread_mutex_lock(&gate.lock);
	while (!gate.entered)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);
}

/* Wait (at most 10 s) until the cache counts want joins. */
static int wait_joins(struct cache *c, uint64_t want)
{
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < 10000; i++) {
		if (stats(c).joins >= want)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                              */
/* ------------------------------------------------------------------ */

static void test_null_api(void)
{
	struct cache *c = new_cache(NULL, 60, 0);
	struct cval *v = NULL;

	TEST_CTX(
		"NULL api: every fetch fails with ENOTCONN and no fetcher runs");
	fetches = 0;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 60, &v), -ENOTCONN);
	CHECK(v == NULL);
	CHECK_EQ_INT(fetches, 0);
	CHECK_EQ_INT(cache_keys(c, &v), -ENOTCONN);
	CHECK_EQ_INT(cache_documents(c, "collection_x", &v), -ENOTCONN);
	cache_free(c);
	cache_free(NULL);
}

static void test_ttl(void)
{
	struct cache *c = new_cache(DUMMY_API, 10, 0);
	struct cval *v = NULL, *w = NULL;

	TEST_CTX("first get fetches");
	fetches = 0;
	fake_time = 1000;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 10, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v1");
	CHECK_EQ_STR(last_arg, "k");
	CHECK_EQ_INT(v ? v->refs : 0,
		     3); /* ours, the entry's, the last flight's */

	TEST_CTX("fresh until the ttl runs out");
	fake_time = 1009.999;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 10, &w), 0);
	CHECK(w == v);
	CHECK_EQ_INT(fetches, 1);
	cval_unref(w);

	TEST_CTX("expired at exactly fetch time + ttl");
	fake_time = 1010;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 10, &w), 0);
	CHECK_EQ_STR(w ? w->text : NULL, "v2");
	CHECK_EQ_INT(fetches, 2);
	CHECK_EQ_STR(v->text, "v1"); /* the old value is still ours */
	CHECK_EQ_INT(v->refs, 1);
	cval_unref(v);
	cval_unref(w);

	TEST_CTX("keys are independent");
	CHECK_EQ_INT(cache_get(c, KEY("other"), fetch_count, 10, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v3");
	cval_unref(v);

	TEST_CTX("stats");
	CHECK_EQ_INT(stats(c).hits, 1);
	CHECK_EQ_INT(stats(c).misses, 3);
	CHECK_EQ_INT(stats(c).joins, 0);
	CHECK_EQ_INT(stats(c).entries, 2);
	cache_free(c);

	TEST_CTX("ttl 0: every get fetches");
	c = new_cache(DUMMY_API, 0, 0);
	fetches = 0;
	for (int i = 1; i <= 5; i++) {
		char want[8];

		CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 0, &v), 0);
		snprintf(want, sizeof(want), "v%d", i);
		CHECK_EQ_STR(v ? v->text : NULL, want);
		cval_unref(v);
	}
	CHECK_EQ_INT(stats(c).hits, 0);
	CHECK_EQ_INT(stats(c).misses, 5);
	cache_free(c);
}

static void test_errors_not_cached(void)
{
	struct cache *c = new_cache(DUMMY_API, 60, 0);
	struct cval *v = NULL;

	TEST_CTX("an error is returned and not kept");
	fetches = 0;
	fake_time = 3000;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_fail, 60, &v), -EIO);
	CHECK(v == NULL);
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_fail, 60, &v), -EIO);
	CHECK_EQ_INT(fetches, 2);
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v3");
	cval_unref(v);

	TEST_CTX("an expired value is not served when the refetch fails");
	fake_time = 3060;
	v = NULL;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_fail, 60, &v), -EIO);
	CHECK(v == NULL);
	CHECK_EQ_INT(stats(c).misses, 4);
	CHECK_EQ_INT(stats(c).hits, 0);
	cache_free(c);
}

static void test_store(void)
{
	struct cache *c = new_cache(DUMMY_API, 30, 0);
	struct cval *s = cval_new(), *s2 = cval_new(), *v = NULL;

	TEST_CTX("cval_new");
	CHECK(s && s->refs == 1 && !s->text && !s->list && s->len == 0);
	s->text = strdup("stored");
	s->len = 6;
	s2->text = strdup("stored again");

	TEST_CTX("a stored value is fresh");
	fetches = 0;
	fake_time = 4000;
	CHECK_EQ_INT(cache_store(c, KEY("k"), s), 0);
	CHECK_EQ_INT(s->refs, 2);
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 30, &v), 0);
	CHECK(v == s);
	CHECK_EQ_INT(fetches, 0);
	cval_unref(v);

	TEST_CTX("a store replaces a fresh value");
	CHECK_EQ_INT(cache_store(c, KEY("k"), s2), 0);
	CHECK_EQ_INT(s->refs, 1); /* the cache let go of it */
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 30, &v), 0);
	CHECK(v == s2);
	cval_unref(v);

	TEST_CTX("a stored value expires after the listing ttl");
	fake_time = 4030;
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 30, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v1");
	CHECK_EQ_INT(fetches, 1);
	cval_unref(v);

	TEST_CTX("a store after a drop is fresh again");
	cache_drop_all(c);
	CHECK_EQ_INT(cache_store(c, KEY("k"), s), 0);
	CHECK_EQ_INT(cache_get(c, KEY("k"), fetch_count, 30, &v), 0);
	CHECK(v == s);
	CHECK_EQ_INT(fetches, 1);
	cval_unref(v);
	cval_unref(s);
	cval_unref(s2);
	cache_free(c);
}

static void test_invalidate(void)
{
	struct cache *c = new_cache(DUMMY_API, 60, 0);
	struct cval *v = NULL;

	TEST_CTX("invalidate: only that key fetches again");
	fetches = 0;
	fake_time = 5500;
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 60, &v), 0);
	cval_unref(v);
	CHECK_EQ_INT(cache_get(c, KEY("documents/c1"), fetch_count, 60, &v), 0);
	cval_unref(v);
	CHECK_EQ_INT(cache_get(c, KEY("documents/c2"), fetch_count, 60, &v), 0);
	cval_unref(v);
	cache_invalidate(c, CACHE_KEYS, NULL);
	cache_invalidate(c, CACHE_SEARCH, "no such key");
	cache_invalidate(c, CACHE_DOCUMENTS, "c1");
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v4");
	cval_unref(v);
	CHECK_EQ_INT(cache_get(c, KEY("documents/c1"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v5");
	cval_unref(v);
	CHECK_EQ_INT(cache_get(c, KEY("documents/c2"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v3"); /* untouched */
	cval_unref(v);
	CHECK_EQ_INT(fetches, 5);

	TEST_CTX("drop_all: every key fetches again");
	cache_drop_all(c);
	CHECK_EQ_INT(cache_get(c, KEY("documents/c2"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v6");
	cval_unref(v);
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v7");
	cval_unref(v);
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* Single flight                                                      */
/* ------------------------------------------------------------------ */

#define NTHREADS 8

struct getter {
	pthread_t th;
	struct cache *c;
	struct cval *v;
	int rc;
};

static void *getter_run(void *p)
{
	struct getter *g = p;

	g->v = NULL;
	g->rc = cache_get(g->c, KEY("shared"), fetch_gated, 60, &g->v);
	return NULL;
}

/*
 * Start one getter, wait until its fetch runs, start the others and wait until
 * all of them have joined. drop: call cache_drop_all() (1) or
 * cache_invalidate() (2) while the fetch runs.
 */
static void run_flight(struct cache *c, struct getter *g, int rc, int drop)
{
	uint64_t joins = stats(c).joins;

	gate_set(0, rc);
	g[0].c = c;
	pthread_create(&g[0].th, NULL, getter_run, &g[0]);
	gate_wait_entered();
	for (int i = 1; i < NTHREADS; i++) {
		g[i].c = c;
		pthread_create(&g[i].th, NULL, getter_run, &g[i]);
	}
	CHECK(wait_joins(c, joins + NTHREADS - 1));
	if (drop == 1)
		cache_drop_all(c);
	else if (drop == 2)
		cache_invalidate(c, CACHE_SEARCH, "shared");
	gate_set(1, 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(g[i].th, NULL);
}

static void test_single_flight(void)
{
	struct cache *c = new_cache(DUMMY_API, 60, 0);
	struct getter g[NTHREADS];
	struct cval *v = NULL;
	int same = 0, ok = 0;

	TEST_CTX("single flight: one fetch, one value for all");
	fetches = 0;
	fake_time = 6000;
	run_flight(c, g, 0, 0);
	CHECK_EQ_INT(fetches, 1);
	for (int i = 0; i < NTHREADS; i++) {
		ok += g[i].rc == 0;
		same += g[i].v == g[0].v;
	}
	CHECK_EQ_INT(ok, NTHREADS);
	CHECK_EQ_INT(same, NTHREADS);
	CHECK_EQ_STR(g[0].v ? g[0].v->text : NULL, "v1");
	CHECK_EQ_INT(g[0].v ? g[0].v->refs : 0,
		     NTHREADS + 2); /* + entry + last flight */
	CHECK_EQ_INT(stats(c).joins, NTHREADS - 1);
	CHECK_EQ_INT(stats(c).misses, 1);
	for (int i = 0; i < NTHREADS; i++)
		cval_unref(g[i].v);

	TEST_CTX("single flight: the value is kept afterwards");
	CHECK_EQ_INT(cache_get(c, KEY("shared"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v1");
	CHECK_EQ_INT(fetches, 1);
	CHECK_EQ_INT(stats(c).hits, 1);
	cval_unref(v);
	cache_free(c);
}

static void test_single_flight_error(void)
{
	struct cache *c = new_cache(DUMMY_API, 60, 0);
	struct getter g[NTHREADS];
	struct cval *v = NULL;
	int eio = 0, null = 0;

	TEST_CTX("single flight error: shared with the waiters");
	fetches = 0;
	fake_time = 7000;
	run_flight(c, g, -EIO, 0);
	CHECK_EQ_INT(fetches, 1);
	for (int i = 0; i < NTHREADS; i++) {
		eio += g[i].rc == -EIO;
		null += g[i].v == NULL;
	}
	CHECK_EQ_INT(eio, NTHREADS);
	CHECK_EQ_INT(null, NTHREADS);
	CHECK_EQ_INT(stats(c).joins, NTHREADS - 1);

	TEST_CTX("single flight error: not cached");
	CHECK_EQ_INT(cache_get(c, KEY("shared"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v2");
	CHECK_EQ_INT(fetches, 2);
	cval_unref(v);
	cache_free(c);
}

static void single_flight_drop(int how)
{
	struct cache *c = new_cache(DUMMY_API, 60, 0);
	struct getter g[NTHREADS];
	struct cval *v = NULL;
	int same = 0;

	TEST_CTX("drop during a fetch: its callers get the value");
	fetches = 0;
	fake_time = 8000;
	run_flight(c, g, 0, how);
	CHECK_EQ_INT(fetches, 1);
	for (int i = 0; i < NTHREADS; i++)
		same += g[i].rc == 0 && g[i].v == g[0].v;
	CHECK_EQ_INT(same, NTHREADS);
	CHECK_EQ_STR(g[0].v ? g[0].v->text : NULL, "v1");

	TEST_CTX("drop during a fetch: the next get fetches again");
	CHECK_EQ_INT(cache_get(c, KEY("shared"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v2");
	CHECK_EQ_INT(fetches, 2);
	cval_unref(v);
	CHECK_EQ_INT(cache_get(c, KEY("shared"), fetch_count, 60, &v), 0);
	CHECK_EQ_STR(v ? v->text : NULL, "v2"); /* and keeps that one */
	CHECK_EQ_INT(fetches, 2);
	cval_unref(v);
	for (int i = 0; i < NTHREADS; i++)
		cval_unref(g[i].v);
	cache_free(c);
}

static void test_single_flight_drop(void)
{
	single_flight_drop(1); /* cache_drop_all() */
	single_flight_drop(2); /* cache_invalidate() of that key */
}

/* ------------------------------------------------------------------ */
/* LRU                                                                */
/* ------------------------------------------------------------------ */

/* Get key; returns 1 if that was a fetch. */
static int get_fetched(struct cache *c, const char *key)
{
	int before = fetches;
	struct cval *v = NULL;

	fake_time += 1; /* distinct access times */
	if (cache_get(c, KEY(key), fetch_count, 1e6, &v) != 0)
		return -1;
	cval_unref(v);
	return fetches != before;
}

static void test_lru(void)
{
	struct cache *c = new_cache(DUMMY_API, 1e6, 3);
	struct cval *held = NULL;

	TEST_CTX("lru: fill three");
	fetches = 0;
	fake_time = 9000;
	CHECK_EQ_INT(get_fetched(c, "k1"), 1);
	CHECK_EQ_INT(get_fetched(c, "k2"), 1);
	CHECK_EQ_INT(get_fetched(c, "k3"), 1);
	CHECK_EQ_INT(get_fetched(c, "k1"), 0); /* k2 is now the oldest */
	CHECK_EQ_INT(stats(c).entries, 3);

	TEST_CTX("lru: a fourth evicts the least recently used");
	CHECK_EQ_INT(get_fetched(c, "k4"), 1);
	CHECK_EQ_INT(stats(c).entries, 3);
	CHECK_EQ_INT(get_fetched(c, "k1"), 0);
	CHECK_EQ_INT(get_fetched(c, "k4"), 0);
	CHECK_EQ_INT(get_fetched(c, "k3"), 0);
	CHECK_EQ_INT(get_fetched(c, "k2"), 1); /* evicted; evicts k1 */
	CHECK_EQ_INT(get_fetched(c, "k4"), 0);
	CHECK_EQ_INT(get_fetched(c, "k1"), 1);

	TEST_CTX("lru: an evicted value held by a reader stays valid");
	fake_time += 1;
	CHECK_EQ_INT(cache_get(c, KEY("held"), fetch_count, 1e6, &held), 0);
	for (int i = 0; i < 5; i++) {
		char key[8];

		snprintf(key, sizeof(key), "x%d", i);
		CHECK_EQ_INT(get_fetched(c, key), 1);
	}
	CHECK_EQ_INT(stats(c).entries, 3);
	CHECK_EQ_INT(held ? held->refs : 0, 1);
	CHECK(held && held->text && held->text[0] == 'v');
	cval_unref(held);
	cache_free(c);
}

/* ------------------------------------------------------------------ */
/* Write-through                                                      */
/* ------------------------------------------------------------------ */

static struct res mkres(const char *id, const char *name)
{
	struct res r = { 0 };

	r.id = strdup(id);
	r.raw_name = strdup(name);
	r.json = strdup("{}\n");
	r.size = -1;
	return r;
}

static struct cval *listing(int n)
{
	struct cval *v = cval_new();
	char id[16], name[16];

	v->list = reslist_new();
	for (int i = 1; i <= n; i++) {
		struct res r;

		snprintf(id, sizeof(id), "k%d", i);
		snprintf(name, sizeof(name), "name%d", i);
		r = mkres(id, name);
		reslist_append(v->list, &r);
	}
	names_assign(v->list, 255, NULL);
	return v;
}

static const char *id_at(const struct cval *v, size_t i)
{
	return v && v->list && i < v->list->n ? v->list->v[i].id : NULL;
}

static void test_write_through(void)
{
	struct cache *c = new_cache(DUMMY_API, 30, 0);
	struct cval *l = listing(3), *v = NULL, *held = NULL;
	struct res r;

	fetches = 0;
	fake_time = 9000;
	cache_store(c, KEY("keys"), l);
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 30, &held), 0);
	CHECK(held == l);
	cval_unref(l); /* held and the cache keep it */

	TEST_CTX(
		"write-through: a changed entry keeps its place and takes its new name");
	r = mkres("k2", "renamed");
	cache_put(c, CACHE_KEYS, NULL, &r);
	CHECK(!r.id && !r.json); /* strings taken */
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 30, &v), 0);
	CHECK_EQ_INT(fetches, 0);
	CHECK_EQ_INT(v && v->list ? (int)v->list->n : -1, 3);
	CHECK_EQ_STR(id_at(v, 1), "k2");
	CHECK(v && reslist_by_name(v->list, "renamed") &&
	      !reslist_by_name(v->list, "name2"));
	cval_unref(v);

	TEST_CTX(
		"write-through: a reader's snapshot is left as it was, marked stale");
	CHECK(held && reslist_by_name(held->list, "name2"));
	CHECK(cval_stale(held));
	cval_unref(held);

	TEST_CTX("write-through: a new entry is added, a removed one goes");
	r = mkres("k4", "name4");
	cache_put(c, CACHE_KEYS, NULL, &r);
	cache_remove(c, CACHE_KEYS, NULL, "k1");
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 30, &v), 0);
	CHECK_EQ_INT(fetches, 0);
	CHECK_EQ_INT(v && v->list ? (int)v->list->n : -1, 3);
	CHECK_EQ_STR(id_at(v, 0), "k2");
	CHECK_EQ_STR(id_at(v, 2), "k4");
	CHECK(v && !reslist_by_id(v->list, "k1") &&
	      reslist_by_name(v->list, "name4"));
	cval_unref(v);
	CHECK_EQ_INT(stats(c).write_through, 3);

	TEST_CTX(
		"write-through: two entries that now share a name follow the name rule");
	r = mkres("k3", "name4");
	cache_put(c, CACHE_KEYS, NULL, &r);
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 30, &v), 0);
	CHECK(v && reslist_by_name(v->list, "name4") &&
	      reslist_by_name(v->list, "name4~k4"));
	cval_unref(v);

	TEST_CTX(
		"write-through: a listing past its ttl is not edited but fetched again");
	fake_time += 31;
	r = mkres("k9", "name9");
	cache_put(c, CACHE_KEYS, NULL, &r);
	CHECK_EQ_INT(stats(c).write_through, 4);
	CHECK_EQ_INT(cache_get(c, KEY("keys"), fetch_count, 30, &v), 0);
	CHECK_EQ_INT(fetches, 1);
	cval_unref(v);

	TEST_CTX("write-through: no listing cached, nothing stored");
	r = mkres("d1", "doc");
	cache_put(c, CACHE_DOCUMENTS, "c1", &r);
	cache_remove(c, CACHE_COLLECTIONS, NULL, "c1");
	CHECK_EQ_INT(stats(c).write_through, 4);
	CHECK_EQ_INT(cache_get(c, KEY("documents/c1"), fetch_count, 30, &v), 0);
	CHECK_EQ_INT(fetches, 2);
	cval_unref(v);

	TEST_CTX(
		"write-through: documents of one collection are keyed by its id");
	l = listing(2);
	cache_store(c, KEY("documents/c7"), l);
	cval_unref(l);
	cache_remove(c, CACHE_DOCUMENTS, "c7", "k2");
	CHECK_EQ_INT(cache_get(c, KEY("documents/c7"), fetch_count, 30, &v), 0);
	CHECK_EQ_INT(v && v->list ? (int)v->list->n : -1, 1);
	cval_unref(v);
	cache_free(c);
}

/* Whether the entry under key fetches on its next get (ttl 60 at fake_time). */
static int refetches(struct cache *c, const struct cache_key *key)
{
	struct cval *v = NULL;
	int before = fetches;

	if (cache_get(c, key, fetch_count, 60, &v) != 0)
		return -1;
	cval_unref(v);
	return fetches != before;
}

/*
 * Every name in v's listing is the one names_assign() gives a fresh copy of
 * it: what a shared (write-through) listing shows is what a fetch would.
 */
static int names_as_assigned(const struct cval *v)
{
	struct reslist *fresh = reslist_new();
	int same = fresh != NULL;

	for (size_t i = 0; same && i < v->list->n; i++) {
		struct res copy;

		same = res_copy(&v->list->v[i], &copy) == 0 &&
		       reslist_append(fresh, &copy) == 0;
	}
	same = same && names_assign(fresh, 255, NULL) == 0;
	for (size_t i = 0; same && i < v->list->n; i++) {
		const struct res *r = reslist_by_id(fresh, v->list->v[i].id);

		same = r && strcmp(r->name, v->list->v[i].name) == 0 &&
		       reslist_by_name(v->list, r->name) == &v->list->v[i];
	}
	reslist_unref(fresh);
	return same;
}

static void test_write_through_shares(void)
{
	static const char *const raw[] = { "alpha", "beta", "gamma",
					   "delta", "a/b",  "a%2Fb",
					   "",	    ".",    "Thumbs.db",
					   "x~k3" };
	struct cache *c = new_cache(DUMMY_API, 30, 0);
	struct cval *l = listing(40), *v = NULL;
	unsigned seed = 12345, shared = 0, copied = 0;
	int bad = 0;

	fetches = 0;
	fake_time = 9500;
	cache_store(c, KEY("keys"), l);
	cval_unref(l);
	TEST_CTX(
		"write-through: 2,000 random changes, each listing named as a fetch would");
	for (int i = 0; i < 2000 && !bad; i++) {
		unsigned op = (seed = seed * 1103515245u + 12345u) >> 16;
		char id[16], name[32];
		struct res r;

		snprintf(id, sizeof(id), "k%u", (op >> 3) % 100);
		if (op % 2 == 0) {
			cache_remove(c, CACHE_KEYS, NULL, id);
		} else {
			if ((op >> 10) % 150 != 0)
				snprintf(name, sizeof(name), "n%u",
					 (op >> 3) % 1000);
			else
				snprintf(name, sizeof(name), "%s",
					 raw[(op >> 4) % 10]);
			r = mkres(id, name);
			r.mtime = (int64_t)(op % 5);
			cache_put(c, CACHE_KEYS, NULL, &r);
		}
		if (cache_get(c, KEY("keys"), fetch_count, 30, &v) != 0) {
			bad = 1;
			break;
		}
		if (v->list->depth > 0)
			shared++;
		else
			copied++;
		bad = !names_as_assigned(v);
		cval_unref(v);
	}
	CHECK(!bad);
	CHECK_EQ_INT(fetches, 0);
	TEST_CTX(
		"write-through: both ways are taken (shared listings, full copies)");
	printf("write-through: %u listings shared, %u copied\n", shared,
	       copied);
	CHECK(shared > 500);
	CHECK(copied > 200);
	cache_free(c);
}

static void test_dependants(void)
{
	const struct cache_key *audit = CACHE_KEY(CACHE_AUDIT, NULL);
	const struct cache_key *colls = CACHE_KEY(CACHE_COLLECTIONS, NULL);
	const struct cache_key *billing = CACHE_KEY(CACHE_BILLING, NULL);
	const struct cache_key *docs = CACHE_KEY(CACHE_DOCUMENTS, "c1");
	const struct cache_key *keys = CACHE_KEY(CACHE_KEYS, NULL);
	struct cache *c = new_cache(DUMMY_API, 60, 0);

	fetches = 0;
	fake_time = 9000;
	TEST_CTX("first gets fetch, second ones do not");
	CHECK_EQ_INT(refetches(c, audit) + refetches(c, colls) +
			     refetches(c, billing) + refetches(c, docs) +
			     refetches(c, keys),
		     5);
	CHECK_EQ_INT(refetches(c, audit) + refetches(c, colls) +
			     refetches(c, billing) + refetches(c, docs) +
			     refetches(c, keys),
		     0);

	TEST_CTX(
		"a changed documents listing takes documents_count and the audit log with it");
	cache_changed(c, CACHE_DOCUMENTS, "c1");
	CHECK_EQ_INT(refetches(c, docs), 1);
	CHECK_EQ_INT(refetches(c, colls), 1);
	CHECK_EQ_INT(refetches(c, audit), 1);
	CHECK_EQ_INT(refetches(c, keys), 0);
	CHECK_EQ_INT(refetches(c, billing), 0);

	TEST_CTX("changed spending limits take billing with them");
	cache_changed(c, CACHE_LIMITS, NULL);
	CHECK_EQ_INT(refetches(c, billing), 1);
	CHECK_EQ_INT(refetches(c, audit), 1);
	CHECK_EQ_INT(refetches(c, docs), 0);

	TEST_CTX(
		"a removal from a listing that is not cached still reaches the audit log");
	cache_remove(c, CACHE_DOCUMENTS, "c9", "d1");
	CHECK_EQ_INT(refetches(c, audit), 1);
	CHECK_EQ_INT(refetches(c, keys), 0);

	TEST_CTX("removing a collection forgets its documents listing");
	cache_remove(c, CACHE_COLLECTIONS, NULL, "c1");
	CHECK_EQ_INT(refetches(c, docs), 1);
	CHECK_EQ_INT(refetches(c, audit), 1);

	TEST_CTX("cache_invalidate() reaches only its entry");
	cache_invalidate(c, CACHE_KEYS, NULL);
	CHECK_EQ_INT(refetches(c, keys), 1);
	CHECK_EQ_INT(refetches(c, audit), 0);
	cache_free(c);
}

int main(void)
{
	test_null_api();
	test_ttl();
	test_errors_not_cached();
	test_store();
	test_invalidate();
	test_single_flight();
	test_single_flight_error();
	test_single_flight_drop();
	test_lru();
	test_write_through();
	test_dependants();
	test_write_through_shares();
	return test_done();
}
