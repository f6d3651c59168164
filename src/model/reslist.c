/*
 * reslist.c - resource lists: a growable array of struct res with two hash
 * indexes (display name and id). See reslist.h for ownership and threading.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reslist.h"

/*
 * Open addressing with linear probing. slot[i] holds an entry index plus one,
 * so 0 means empty. The table is at most half full, so probes stay short and
 * a lookup of an absent key always reaches an empty slot.
 */
struct reslist_index {
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t *slot;
};

/* ------------------------------------------------------------------ */
/* Entries and lifetime                                               */
/* ------------------------------------------------------------------ */

void res_release(struct res *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->raw_name);
	free(r->name);
	free(r->json);
	free(r->hash);
	r->id = r->raw_name = r->name = r->json = r->hash = NULL;
	r->json_len = 0;
}

static int res_dup_str(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int res_copy(const struct res *src, struct res *dst)
{
	int rc;

	memset(dst, 0, sizeof(*dst));
	rc = res_dup_str(src->id, &dst->id);
	if (rc == 0)
		rc = res_dup_str(src->raw_name, &dst->raw_name);
	if (rc == 0)
		rc = res_dup_str(src->json, &dst->json);
	if (rc == 0)
		rc = res_dup_str(src->hash, &dst->hash);
	if (rc < 0) {
		res_release(dst);
		return rc;
	}
	dst->mtime = src->mtime;
	dst->size = src->size;
	dst->count = src->count;
	dst->json_len = src->json_len;
	return 0;
}

static void index_free(struct reslist_index *ix)
{
	if (!ix)
		return;
	free(ix->slot);
	free(ix);
}

/* Drop both indexes; lookups fall back to a linear scan until rebuilt. */
static void drop_indexes(struct reslist *l)
{
	index_free(l->by_name);
	index_free(l->by_id);
	l->by_name = l->by_id = NULL;
}

struct reslist *reslist_new(void)
{
	struct reslist *l = calloc(1, sizeof(*l));

	if (l)
		l->refs = 1;
	return l;
}

struct reslist *reslist_ref(struct reslist *l)
{
	if (l)
		__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

void reslist_unref(struct reslist *l)
{
	size_t i;

	if (!l)
		return;
	/* acq_rel: the freeing thread must see every other holder's writes */
	if (__atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < l->n; i++)
		if (!l->borrowed || !l->borrowed[i])
			res_release(&l->v[i]);
	drop_indexes(l);
	free(l->v);
	free(l->hashes);
	free(l->borrowed);
	reslist_unref(l->donor); /* the chain is at most a few lists long */
	free(l);
}

/* Room for at least want entries. */
static int grow_to(struct reslist *l, size_t want)
{
	size_t cap = want;
	struct res *v;
	uint64_t *h;

	if (cap < l->cap || cap > SIZE_MAX / 2 / sizeof(*v))
		return -ENOMEM;
	v = realloc(l->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	/* l->v grew; l->cap stays until every array did: still consistent */
	h = realloc(l->hashes, 2 * cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	memset(h + 2 * l->cap, 0, 2 * (cap - l->cap) * sizeof(*h));
	l->hashes = h;
	if (l->donor) {
		unsigned char *b = realloc(l->borrowed, cap);

		if (!b)
			return -ENOMEM;
		memset(b + l->cap, 0, cap - l->cap);
		l->borrowed = b;
	}
	l->cap = cap;
	return 0;
}

static int grow(struct reslist *l)
{
	return grow_to(l, l->cap ? l->cap * 2 : 16);
}

int reslist_reserve(struct reslist *l, size_t n)
{
	return n > l->cap ? grow_to(l, n) : 0;
}

int reslist_borrow_from(struct reslist *l, struct reslist *donor)
{
	if (l->n || l->donor)
		return -EINVAL;
	l->borrowed = calloc(l->cap ? l->cap : 1, 1);
	if (!l->borrowed)
		return -ENOMEM;
	l->donor = reslist_ref(donor);
	l->depth = donor->depth + 1;
	return 0;
}

int reslist_append_borrowed(struct reslist *l, const struct res *r)
{
	const struct reslist *d = l->donor;
	size_t at;
	int rc;

	if (!d)
		return -EINVAL;
	if (l->n == l->cap && (rc = grow(l)) < 0)
		return rc;
	/* the donor's hashes of r, when r is one of its indexed entries */
	at = (size_t)(r - d->v);
	if (r >= d->v && at < d->n && d->hashes && d->by_name && d->by_id)
		memcpy(&l->hashes[2 * l->n], &d->hashes[2 * at],
		       2 * sizeof(*l->hashes));
	else
		memset(&l->hashes[2 * l->n], 0, 2 * sizeof(*l->hashes));
	l->v[l->n] = *r;
	l->borrowed[l->n++] = 1;
	drop_indexes(l);
	return 0;
}

int reslist_append(struct reslist *l, struct res *r)
{
	int rc;

	if (!l || !r->id || !r->json) {
		rc = -EINVAL;
		goto fail;
	}
	if (!r->raw_name) {
		r->raw_name = strdup("");
		if (!r->raw_name) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (l->n == l->cap) {
		rc = grow(l);
		if (rc < 0)
			goto fail;
	}
	r->json_len = strlen(r->json);
	if (l->borrowed)
		l->borrowed[l->n] = 0;
	l->v[l->n++] = *r;
	memset(r, 0, sizeof(*r));
	drop_indexes(l);
	return 0;
fail:
	res_release(r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Indexes                                                            */
/* ------------------------------------------------------------------ */

/* FNV-1a, 64 bit, with the low bit set: 0 means "not hashed yet". */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h | 1;
}

static const char *key_of(const struct res *r, int by_name)
{
	return by_name ? r->name : r->id;
}

/*
 * Entry i's hash for one index. Borrowed entries bring theirs from the donor
 * (their strings never change); owned ones are hashed again, as a name may
 * have been given since the last build.
 */
static uint64_t entry_hash(const struct reslist *l, size_t i, int by_name)
{
	uint64_t *h = &l->hashes[2 * i + !by_name];
	const char *k = key_of(&l->v[i], by_name);

	if (!l->borrowed || !l->borrowed[i] || !*h)
		*h = hash_str(k);
	return *h;
}

/*
 * Build one index. Entries whose key is NULL are left out; for equal keys
 * the first entry in list order wins.
 */
static int index_build(const struct reslist *l, int by_name,
		       struct reslist_index **out)
{
	struct reslist_index *ix;
	size_t cap = 16, i, h, j;
	uint64_t hk;
	const char *k;

	while (cap < 2 * l->n + 1) {
		if (cap > SIZE_MAX / 4 / sizeof(size_t))
			return -ENOMEM;
		cap *= 2;
	}
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	ix->slot = calloc(cap, sizeof(size_t));
	if (!ix->slot) {
		free(ix);
		return -ENOMEM;
	}
	ix->mask = cap - 1;
	for (i = 0; i < l->n; i++) {
		k = key_of(&l->v[i], by_name);
		if (!k)
			continue;
		hk = entry_hash(l, i, by_name);
		for (h = hk & ix->mask; (j = ix->slot[h]);
		     h = (h + 1) & ix->mask)
			if (l->hashes[2 * (j - 1) + !by_name] == hk &&
			    !strcmp(key_of(&l->v[j - 1], by_name), k))
				break;
		if (!j)
			ix->slot[h] = i + 1;
	}
	*out = ix;
	return 0;
}

int reslist_index_build(struct reslist *l)
{
	int rc;

	drop_indexes(l);
	rc = index_build(l, 1, &l->by_name);
	if (rc == 0)
		rc = index_build(l, 0, &l->by_id);
	if (rc < 0)
		drop_indexes(l);
	return rc;
}

static const struct res *lookup(const struct reslist *l,
				const struct reslist_index *ix, int by_name,
				const char *key)
{
	const char *k;
	size_t h, i;
	uint64_t hk;

	if (!l || !key)
		return NULL;
	if (!ix) {
		for (i = 0; i < l->n; i++) {
			k = key_of(&l->v[i], by_name);
			if (k && !strcmp(k, key))
				return &l->v[i];
		}
		return NULL;
	}
	hk = hash_str(key);
	for (h = hk & ix->mask; ix->slot[h]; h = (h + 1) & ix->mask) {
		i = ix->slot[h] - 1;
		if (l->hashes[2 * i + !by_name] == hk &&
		    !strcmp(key_of(&l->v[i], by_name), key))
			return &l->v[i];
	}
	return NULL;
}

const struct res *reslist_by_name(const struct reslist *l, const char *name)
{
	return lookup(l, l ? l->by_name : NULL, 1, name);
}

const struct res *reslist_by_id(const struct reslist *l, const char *id)
{
	return lookup(l, l ? l->by_id : NULL, 0, id);
}

uint64_t reslist_hash(const char *s)
{
	return hash_str(s);
}

int reslist_id_is(const struct reslist *l, size_t i, const char *id, uint64_t h)
{
	if (l->by_id && l->hashes[2 * i + 1] != h)
		return 0; /* the index keeps every id's hash */
	return strcmp(l->v[i].id, id) == 0;
}
