/*
 * cache_write.c - what a change the server accepted does to the cache:
 * listings edited in place (write-through) and, where the answer does not
 * tell enough, entries made stale, with every rule of which family depends
 * on which. See cache.h ("After a change").
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache_int.h"
#include "model.h"
#include "names.h"

/* Longest display name in a listing of family f (documents leave room for
 * ".json"). */
static size_t cache_name_max(enum cache_family f)
{
	return f == CACHE_DOCUMENTS ? NAMES_MAX - 5 : NAMES_MAX;
}

/* One change to a listing (see cache_put() and cache_remove()). */
struct cache_change {
	const char *gone_id; /* entry to take out, or NULL */
	/* entry to put in place of its id (strings taken), or NULL */
	struct res *add;
	/* collection whose documents_count changes, or NULL */
	const char *count_id;
	int count_delta;
	/* reslist_hash() of gone_id, add->id and count_id (cache_change_hash())
	 */
	uint64_t gone_h, add_h, count_h;
};

static void cache_change_hash(struct cache_change *ch)
{
	if (ch->gone_id)
		ch->gone_h = reslist_hash(ch->gone_id);
	if (ch->add && ch->add->id)
		ch->add_h = reslist_hash(ch->add->id);
	if (ch->count_id)
		ch->count_h = reslist_hash(ch->count_id);
}

/* Append ch->add (its strings taken) under its own server name. */
static int cache_append_added(struct reslist *l, struct res *add)
{
	free(add->name);
	add->name = strdup(add->raw_name ? add->raw_name : "");
	return add->name ? reslist_append(l, add) : -ENOMEM;
}

/*
 * Entry i of old in the new listing as ch changes it: left out, replaced by
 * ch->add (its strings taken), given a new documents_count, or kept as it
 * was: shared with the old listing when share, else copied (then named
 * later).
 */
static int cache_entry_edit(const struct reslist *old, size_t i,
			    struct cache_change *ch, struct reslist *l,
			    int share)
{
	const struct res *r = &old->v[i];
	int counted = ch->count_id &&
		      reslist_id_is(old, i, ch->count_id, ch->count_h);
	struct res copy;
	int rc;

	if (ch->gone_id && reslist_id_is(old, i, ch->gone_id, ch->gone_h))
		return 0;
	if (ch->add && ch->add->id &&
	    reslist_id_is(old, i, ch->add->id, ch->add_h))
		return share ? cache_append_added(l, ch->add)
			     : reslist_append(l, ch->add); /* zeroes *ch->add */
	if (share && !counted)
		return reslist_append_borrowed(l, r);
	rc = res_copy(r, &copy);
	if (rc == 0 && counted)
		rc = model_collection_set_count(&copy,
						copy.count + ch->count_delta);
	if (rc == 0 && share && !(copy.name = strdup(r->name)))
		rc = -ENOMEM;
	if (rc < 0) {
		res_release(&copy);
		return rc;
	}
	return reslist_append(l, &copy);
}

/*
 * Sharing: a listing changed by one entry shares the strings of the entries
 * it keeps with the listing it replaces (reslist.h, "donor"), when no other
 * name changes (names_plain_add()). The chain of lists kept alive that way
 * is bounded, in length and in the entries it holds; past either bound the
 * change copies every entry and names them again, as a fetch would.
 */
#define CACHE_SHARE_DEPTH 32
#define CACHE_SHARE_ENTRIES 200000 /* entries over the whole chain */

static int cache_can_share(const struct reslist *old,
			   const struct cache_change *ch, size_t maxlen)
{
	const struct res *replaced;

	if (!old->names_plain || old->depth >= CACHE_SHARE_DEPTH ||
	    old->n * (old->depth + 1) > CACHE_SHARE_ENTRIES)
		return 0;
	if (!ch->add || !ch->add->id)
		return 1; /* an entry leaves, or a count changes: no name does */
	replaced = reslist_by_id(old, ch->add->id);
	return names_plain_add(old, ch->add, replaced, maxlen);
}

/* old changed by ch, sharing what it keeps (cache_can_share()). NULL on error. */
static struct reslist *cache_list_share(struct reslist *old,
					struct cache_change *ch)
{
	struct reslist *l = reslist_new();
	int rc = l ? reslist_reserve(l, old->n + 1) : -ENOMEM;

	if (rc == 0)
		rc = reslist_borrow_from(l, old);

	for (size_t i = 0; rc == 0 && i < old->n; i++)
		rc = cache_entry_edit(old, i, ch, l, 1);
	if (rc == 0 && ch->add && ch->add->id)
		rc = cache_append_added(l, ch->add);
	res_release(ch->add);
	if (rc == 0)
		rc = reslist_index_build(l);
	if (rc < 0) {
		reslist_unref(l);
		return NULL;
	}
	l->names_plain = 1;
	return l;
}

/* A copy of old changed by ch, every entry copied and named again. NULL on
 * error. */
static struct reslist *cache_list_copy(const struct reslist *old,
				       struct cache_change *ch, size_t maxlen)
{
	struct reslist *l = reslist_new();
	int rc = l ? reslist_reserve(l, old->n + 1) : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < old->n; i++)
		rc = cache_entry_edit(old, i, ch, l, 0);
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

/* A named copy of old changed by ch (ch->add's strings are taken). NULL on
 * error. */
static struct reslist *cache_list_edit(struct reslist *old,
				       struct cache_change *ch, size_t maxlen)
{
	cache_change_hash(ch);
	if (cache_can_share(old, ch, maxlen))
		return cache_list_share(old, ch);
	return cache_list_copy(old, ch, maxlen);
}

/*
 * Change the fresh listing under key by one entry. The new list is built
 * outside the lock from a referenced snapshot and stored only if nothing
 * else changed the entry meanwhile; otherwise, and when there is no fresh
 * listing to change, the entry is invalidated as before.
 */
static void cache_edit(struct cache *c, const struct cache_key *key,
		       struct cache_change *ch)
{
	struct cval *old = NULL, *nv = NULL, *replaced = NULL;
	struct centry *e;
	unsigned gen = 0, cgen = 0;

	pthread_mutex_lock(&c->lock);
	e = cache_find_locked(c, key);
	if (e && e->val && e->val->list && !cval_stale(e->val) &&
	    c->o.now() < e->expires) {
		old = cval_ref(e->val);
		gen = e->gen;
		cgen = c->generation;
	}
	pthread_mutex_unlock(&c->lock);
	if (old && (nv = cval_new()) &&
	    !(nv->list = cache_list_edit(old->list, ch,
					 cache_name_max(key->family)))) {
		cval_unref(nv);
		nv = NULL;
	}
	res_release(ch->add);
	if (nv)
		nv->fetched = old->fetched;
	pthread_mutex_lock(&c->lock);
	e = cache_find_locked(c, key);
	if (e && nv && e->val == old && e->gen == gen &&
	    c->generation == cgen) {
		e->gen++; /* a fetch in flight predates this value */
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

/* Whether f is a listing that cache_put() and cache_remove() edit. */
static int cache_editable(enum cache_family f)
{
	return f == CACHE_KEYS || f == CACHE_COLLECTIONS ||
	       f == CACHE_DOCUMENTS;
}

/*
 * Edit listing f (of collection cid for documents) by ch, and keep what
 * depends on it true: the audit log, the collection's documents_count
 * (delta: an upload always makes a new id), a removed collection's
 * documents listing.
 */
static void cache_apply(struct cache *c, enum cache_family f, const char *cid,
			struct cache_change *ch, int delta)
{
	cache_invalidate(c, CACHE_AUDIT, NULL);
	cache_edit(c, CACHE_KEY(f, f == CACHE_DOCUMENTS ? cid : NULL), ch);
	if (f == CACHE_DOCUMENTS)
		cache_edit(c, CACHE_KEY(CACHE_COLLECTIONS, NULL),
			   &(struct cache_change){ .count_id = cid,
						   .count_delta = delta });
	else if (f == CACHE_COLLECTIONS && ch->gone_id)
		cache_invalidate(c, CACHE_DOCUMENTS, ch->gone_id);
}

void cache_put(struct cache *c, enum cache_family f, const char *cid,
	       struct res *r)
{
	if (!cache_editable(f) || !r->id || !*r->id || !r->json) {
		res_release(r);
		cache_changed(c, f, f == CACHE_DOCUMENTS ? cid : NULL);
		return;
	}
	cache_apply(c, f, cid, &(struct cache_change){ .add = r }, 1);
}

void cache_remove(struct cache *c, enum cache_family f, const char *cid,
		  const char *id)
{
	if (!cache_editable(f)) {
		cache_changed(c, f, f == CACHE_DOCUMENTS ? cid : NULL);
		return;
	}
	cache_apply(c, f, cid, &(struct cache_change){ .gone_id = id }, -1);
}

void cache_changed(struct cache *c, enum cache_family f, const char *arg)
{
	cache_invalidate(c, CACHE_AUDIT, NULL);
	cache_invalidate(c, f, arg);
	if (f == CACHE_DOCUMENTS) /* its documents_count */
		cache_invalidate(c, CACHE_COLLECTIONS, NULL);
	else if (f == CACHE_LIMITS)
		cache_invalidate(c, CACHE_BILLING, NULL);
}
