/* test_reslist.c - reslist: append, ownership, refcount, indexes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reslist.h"
#include "test.h"

static struct res mk(const char *id, const char *raw, const char *name)
{
	struct res r;

	memset(&r, 0, sizeof(r));
	r.id = id ? strdup(id) : NULL;
	r.raw_name = raw ? strdup(raw) : NULL;
	r.name = name ? strdup(name) : NULL;
	r.json = strdup("{}\n");
	r.size = -1;
	return r;
}

/* Invariants every list must keep. */
static void check_sane(const struct reslist *l)
{
	size_t i;

	CHECK(l->n <= l->cap);
	CHECK(l->n == 0 || l->v != NULL);
	for (i = 0; i < l->n; i++) {
		CHECK(l->v[i].id != NULL);
		CHECK(l->v[i].raw_name != NULL);
		CHECK(l->v[i].json != NULL);
		CHECK_EQ_INT(l->v[i].json_len, strlen(l->v[i].json));
	}
}

static void test_empty(void)
{
	struct reslist *l = reslist_new();

	TEST_CTX("empty");
	CHECK(l != NULL);
	CHECK_EQ_INT(l->n, 0);
	CHECK_EQ_INT(l->refs, 1);
	CHECK(reslist_by_name(l, "x") == NULL);
	CHECK(reslist_by_id(l, "x") == NULL);
	CHECK_EQ_INT(reslist_index_build(l), 0);
	CHECK(reslist_by_name(l, "x") == NULL);
	CHECK(reslist_by_id(l, "") == NULL);
	CHECK(reslist_by_id(l, NULL) == NULL);
	CHECK(reslist_by_id(NULL, "x") == NULL);
	reslist_unref(l);
	reslist_unref(NULL);
	CHECK(reslist_ref(NULL) == NULL);
	res_release(NULL);
}

static void test_append_ownership(void)
{
	struct reslist *l = reslist_new();
	struct res r = mk("id1", NULL, NULL);

	TEST_CTX("append ownership");
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	CHECK(r.id == NULL && r.json == NULL); /* zeroed: the list owns them */
	CHECK_EQ_STR(l->v[0].raw_name, "");    /* NULL raw_name becomes "" */
	CHECK_EQ_INT(l->v[0].json_len, 3);

	r = mk(NULL, "x", NULL); /* no id: refused, freed */
	CHECK_EQ_INT(reslist_append(l, &r), -EINVAL);
	CHECK(r.raw_name == NULL && r.json == NULL);
	r = mk("id2", "x", NULL);
	free(r.json);
	r.json = NULL; /* no json: refused, freed */
	CHECK_EQ_INT(reslist_append(l, &r), -EINVAL);
	CHECK(r.id == NULL);
	CHECK_EQ_INT(l->n, 1);
	check_sane(l);
	reslist_unref(l);
}

static void test_grow_and_index(void)
{
	struct reslist *l = reslist_new();
	char id[32], name[32];
	const struct res *e;
	struct res r;
	size_t i, n = 1000;
	int bad = 0;

	TEST_CTX("grow + index");
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "id-%zu", i);
		snprintf(name, sizeof(name), "name-%zu", i);
		r = mk(id, name, name);
		if (reslist_append(l, &r) != 0)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(l->n, n);
	check_sane(l);
	/* no index yet: lookups scan */
	CHECK(l->by_name == NULL && l->by_id == NULL);
	e = reslist_by_name(l, "name-999");
	CHECK(e && !strcmp(e->id, "id-999"));
	CHECK_EQ_INT(reslist_index_build(l), 0);
	CHECK(l->by_name != NULL && l->by_id != NULL);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "id-%zu", i);
		snprintf(name, sizeof(name), "name-%zu", i);
		e = reslist_by_name(l, name);
		if (!e || e != &l->v[i] || reslist_by_id(l, id) != e)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(reslist_by_name(l, "name-1000") == NULL);
	CHECK(reslist_by_id(l, "name-1") == NULL); /* indexes are separate */
	CHECK(reslist_by_name(l, "id-1") == NULL);
	CHECK(reslist_by_name(l, "") == NULL);

	/* an append drops the indexes; lookups still find everything */
	r = mk("late", "late", "late");
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	CHECK(l->by_name == NULL);
	CHECK(reslist_by_id(l, "late") == &l->v[n]);
	CHECK(reslist_by_name(l, "name-5") == &l->v[5]);
	CHECK_EQ_INT(reslist_index_build(l), 0);
	CHECK(reslist_by_name(l, "late") == &l->v[n]);
	reslist_unref(l);
}

static void test_duplicates_and_unnamed(void)
{
	struct reslist *l = reslist_new();
	struct res r;

	TEST_CTX("duplicate keys, unnamed entries");
	r = mk("a", "x", "same");
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	r = mk("a", "y", "same");
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	r = mk("b", "z", NULL); /* no display name */
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	CHECK_EQ_INT(reslist_index_build(l), 0);
	CHECK(reslist_by_name(l, "same") == &l->v[0]); /* first wins */
	CHECK(reslist_by_id(l, "a") == &l->v[0]);
	CHECK(reslist_by_id(l, "b") == &l->v[2]);
	CHECK(reslist_by_name(l, "z") == NULL);
	reslist_unref(l);
}

/* Every entry of l is found by its name and id, and nothing else is. */
static int lookups_bad(const struct reslist *l)
{
	int bad = 0;

	for (size_t i = 0; i < l->n; i++)
		if (reslist_by_name(l, l->v[i].name) != &l->v[i] ||
		    reslist_by_id(l, l->v[i].id) != &l->v[i])
			bad++;
	return bad + (reslist_by_name(l, "absent") != NULL);
}

/* A generation of a listing: every entry of old but the one at gone, shared,
 * and one owned entry added. */
static struct reslist *next_generation(struct reslist *old, size_t gone,
				       const char *added)
{
	struct reslist *l = reslist_new();
	struct res r = mk(added, added, added);
	struct res *v;

	CHECK_EQ_INT(reslist_reserve(l, old->n), 0);
	CHECK_EQ_INT(reslist_borrow_from(l, old), 0);
	v = l->v;
	for (size_t i = 0; i < old->n; i++)
		if (i != gone)
			CHECK_EQ_INT(reslist_append_borrowed(l, &old->v[i]), 0);
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	CHECK(l->v == v); /* reserved: nothing moved */
	CHECK_EQ_INT(reslist_index_build(l), 0);
	return l;
}

static void test_borrowed_indexes(void)
{
	struct reslist *a = reslist_new(), *b, *c, *d;
	char id[32], name[32];
	struct res r;

	TEST_CTX("borrowed entries keep their hashes");
	for (int i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		snprintf(name, sizeof(name), "name-%d", i);
		r = mk(id, name, name);
		CHECK_EQ_INT(reslist_append(a, &r), 0);
	}
	/* a borrower of a list without indexes hashes everything itself */
	d = next_generation(a, 0, "unindexed");
	CHECK_EQ_INT(lookups_bad(d), 0);
	reslist_unref(d);
	CHECK_EQ_INT(reslist_index_build(a), 0);
	b = next_generation(a, 7, "added-b");
	c = next_generation(b, 0, "added-c");
	CHECK_EQ_INT(b->n, 300);
	CHECK_EQ_INT(c->n, 300);
	CHECK_EQ_INT(lookups_bad(b), 0);
	CHECK_EQ_INT(lookups_bad(c), 0);
	CHECK(reslist_by_name(b, "name-7") == NULL);
	CHECK(reslist_by_name(c, "name-0") == NULL);
	CHECK(reslist_by_name(c, "added-b") == &c->v[298]);
	/* an owned entry renamed before a rebuild is found by its new name */
	free(c->v[299].name);
	c->v[299].name = strdup("renamed");
	CHECK_EQ_INT(reslist_index_build(c), 0);
	CHECK(reslist_by_name(c, "renamed") == &c->v[299]);
	CHECK(reslist_by_name(c, "added-c") == NULL);
	reslist_unref(a); /* b and c keep what they borrow alive */
	reslist_unref(b);
	CHECK_EQ_INT(lookups_bad(c), 0);
	reslist_unref(c);
}

static void test_refcount(void)
{
	struct reslist *l = reslist_new();
	struct res r = mk("k", "k", "k");

	TEST_CTX("refcount");
	CHECK_EQ_INT(reslist_append(l, &r), 0);
	CHECK(reslist_ref(l) == l);
	CHECK(reslist_ref(l) == l);
	CHECK_EQ_INT(l->refs, 3);
	reslist_unref(l);
	reslist_unref(l);
	CHECK_EQ_INT(l->refs, 1);
	CHECK_EQ_STR(l->v[0].id, "k"); /* still alive */
	reslist_unref(l); /* freed: ASan would flag a leak otherwise */
}

int main(void)
{
	test_empty();
	test_append_ownership();
	test_grow_and_index();
	test_duplicates_and_unnamed();
	test_borrowed_indexes();
	test_refcount();
	return test_done();
}
