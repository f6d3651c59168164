/* test_inode.c - inode numbers: identity, lookup counts, forget, growth. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "test.h"

/* The identity stored under ino is exactly (kind, cid, id). */
static int has_identity(struct inode_table *t, uint64_t ino,
			enum node_kind kind, const char *cid, const char *id)
{
	struct node_id n = { 0 };
	int ok;

	if (inode_find(t, ino, &n) != 0)
		return 0;
	ok = n.kind == kind && !strcmp(n.cid, cid) && !strcmp(n.id, id);
	node_id_release(&n);
	return ok;
}

static void test_root_and_fixed(void)
{
	struct inode_table *t = inode_table_new();
	uint64_t keys, root;

	TEST_CTX("root is 1");
	root = inode_get(t, NODE_ROOT, NULL, NULL, 0);
	CHECK_EQ_INT(root, 1);
	CHECK(has_identity(t, 1, NODE_ROOT, "", ""));
	keys = inode_get(t, NODE_KEYS_DIR, NULL, NULL, 0);
	CHECK(keys > 1);
	CHECK_EQ_INT(inode_get(t, NODE_ROOT, "", "", 5), 1);
	CHECK_EQ_INT(inode_count(t), 2);

	TEST_CTX("fixed nodes are pinned");
	inode_forget(t, 1, 5);
	inode_forget(t, keys, 100);
	CHECK(has_identity(t, 1, NODE_ROOT, "", ""));
	CHECK(has_identity(t, keys, NODE_KEYS_DIR, "", ""));
	CHECK_EQ_INT(inode_forget(t, keys, 1), NODE_NONE); /* nothing freed */
	CHECK_EQ_INT(inode_get(t, NODE_KEYS_DIR, NULL, NULL, 1), keys);

	TEST_CTX("every fixed kind is pinned");
	{
		static const enum node_kind fixed[] = {
			NODE_MODELS_DIR, NODE_COLLS_DIR, NODE_REGIONS,
			NODE_USAGE,	 NODE_BILLING,
		};

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			uint64_t ino = inode_get(t, fixed[i], "", "", 1);

			inode_forget(t, ino, 1);
			CHECK(has_identity(t, ino, fixed[i], "", ""));
		}
	}
	inode_table_free(t);
	inode_table_free(NULL);
}

struct ident {
	enum node_kind kind;
	const char *cid, *id;
};

/* Pairwise different identities: each must get its own number. */
static const struct ident idents[] = {
	{ NODE_KEY, "", "key-1" },
	{ NODE_KEY, "", "key-2" },
	{ NODE_MODEL, "", "key-1" }, /* same id, other kind */
	{ NODE_COLL_DIR, "collection_a", "" },
	{ NODE_COLL_JSON, "collection_a", "" },
	{ NODE_DOCS_DIR, "collection_a", "" },
	{ NODE_META_DIR, "collection_a", "" },
	{ NODE_COLL_DIR, "collection_b", "" },
	{ NODE_DOC, "collection_a", "file_1" },
	{ NODE_DOC, "collection_b",
	  "file_1" }, /* same file, other collection */
	{ NODE_DOC_META, "collection_a", "file_1" },
	{ NODE_DOC, "collection_a", "file_2" },
	{ NODE_DOC, "collection_af",
	  "ile_1" }, /* concatenations must not collide */
	{ NODE_DOC, "collection_a", "" },
	{ NODE_DOC, "", "collection_a" },
	{ NODE_KEY, "", "" },
	{ NODE_KEY, "", "KEY-1" },
	{ NODE_KEY, "", "key-1 " },
	{ NODE_KEY, "", "key-1\xc3\xa9" },
};
#define NIDENTS (sizeof(idents) / sizeof(idents[0]))

static void test_identity(void)
{
	struct inode_table *t = inode_table_new();
	uint64_t ino[NIDENTS];
	int dup = 0, bad = 0;

	TEST_CTX("distinct identities, distinct numbers");
	for (size_t i = 0; i < NIDENTS; i++) {
		ino[i] = inode_get(t, idents[i].kind, idents[i].cid,
				   idents[i].id, 1);
		if (ino[i] <= 1)
			bad++;
	}
	for (size_t i = 0; i < NIDENTS; i++)
		for (size_t j = i + 1; j < NIDENTS; j++)
			dup += ino[i] == ino[j];
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(dup, 0);
	CHECK_EQ_INT(inode_count(t), NIDENTS);

	TEST_CTX("same identity, same number; find returns it");
	for (size_t i = 0; i < NIDENTS; i++) {
		if (inode_get(t, idents[i].kind, idents[i].cid, idents[i].id,
			      1) != ino[i])
			bad++;
		if (!has_identity(t, ino[i], idents[i].kind, idents[i].cid,
				  idents[i].id))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(inode_count(t), NIDENTS);

	TEST_CTX("NULL cid and id are \"\"");
	CHECK_EQ_INT(inode_get(t, NODE_KEY, NULL, NULL, 0), ino[15]);
	CHECK_EQ_INT(inode_get(t, NODE_DOC, "collection_a", NULL, 0), ino[13]);

	TEST_CTX("unknown numbers");
	{
		struct node_id n = { 0 };

		CHECK_EQ_INT(inode_find(t, 0, &n), -ENOENT);
		CHECK_EQ_INT(inode_find(t, 999999, &n), -ENOENT);
		CHECK(n.cid == NULL && n.id == NULL);
		inode_forget(t, 999999, 1); /* harmless */
	}
	inode_table_free(t);
}

static void test_forget(void)
{
	struct inode_table *t = inode_table_new();
	struct node_id n = { 0 };
	uint64_t a, b, a2;

	TEST_CTX("lookups add up; forget to zero frees");
	a = inode_get(t, NODE_KEY, "", "k", 1);
	CHECK_EQ_INT(inode_get(t, NODE_KEY, "", "k", 2), a); /* nlookup 3 */
	b = inode_get(t, NODE_KEY, "", "other", 1);
	CHECK_EQ_INT(inode_forget(t, a, 2), NODE_NONE);
	CHECK(has_identity(t, a, NODE_KEY, "", "k"));
	CHECK_EQ_INT(inode_forget(t, a, 1), NODE_KEY); /* the kind it freed */
	CHECK_EQ_INT(inode_find(t, a, &n), -ENOENT);
	CHECK_EQ_INT(inode_forget(t, a, 1), NODE_NONE); /* already gone */
	CHECK_EQ_INT(inode_count(t), 1);
	CHECK(has_identity(t, b, NODE_KEY, "", "other"));

	TEST_CTX("numbers are never reused");
	a2 = inode_get(t, NODE_KEY, "", "k", 1);
	CHECK(a2 != a);
	CHECK(a2 > b);
	CHECK_EQ_INT(inode_find(t, a, &n), -ENOENT);
	CHECK(has_identity(t, a2, NODE_KEY, "", "k"));

	TEST_CTX("forgetting more than was looked up frees");
	inode_forget(t, a2, 1000);
	CHECK_EQ_INT(inode_find(t, a2, &n), -ENOENT);

	TEST_CTX("inode_ref adds lookups to an existing inode only");
	CHECK_EQ_INT(inode_ref(t, b, 2), 0); /* nlookup 3 */
	CHECK_EQ_INT(inode_forget(t, b, 2), NODE_NONE);
	CHECK(has_identity(t, b, NODE_KEY, "", "other"));
	CHECK_EQ_INT(inode_ref(t, a, 1), -ENOENT);
	CHECK_EQ_INT(inode_ref(t, 999999, 1), -ENOENT);

	TEST_CTX("forget of 0 on a counted node keeps it");
	inode_forget(t, b, 0);
	CHECK(has_identity(t, b, NODE_KEY, "", "other"));
	inode_forget(t, b, 1);
	CHECK_EQ_INT(inode_count(t), 0);

	TEST_CTX("many cycles never repeat a number");
	{
		uint64_t last = inode_get(t, NODE_DOC, "c", "f", 1), cur;
		int bad = 0;

		for (int i = 0; i < 1000; i++) {
			inode_forget(t, last, 1);
			cur = inode_get(t, NODE_DOC, "c", "f", 1);
			if (cur <= last)
				bad++;
			last = cur;
		}
		CHECK_EQ_INT(bad, 0);
		CHECK_EQ_INT(inode_count(t), 1);
	}
	inode_table_free(t);
}

/* Past 2048 entries the table grows; every lookup must stay right. */
static void test_growth(void)
{
	struct inode_table *t = inode_table_new();
	enum {
		N = 20000
	};
	uint64_t *ino = calloc(N, sizeof(*ino));
	char cid[32], id[32];
	int bad = 0, dup = 0;

	TEST_CTX("20000 inodes");
	for (int i = 0; i < N; i++) {
		snprintf(cid, sizeof(cid), "collection_%d", i % 37);
		snprintf(id, sizeof(id), "file_%d", i);
		ino[i] = inode_get(t, NODE_DOC, cid, id, 1);
		if (!ino[i])
			bad++;
		if (i > 0 && ino[i] <= ino[i - 1])
			dup++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(dup, 0);
	CHECK_EQ_INT(inode_count(t), N);
	for (int i = 0; i < N; i++) {
		snprintf(cid, sizeof(cid), "collection_%d", i % 37);
		snprintf(id, sizeof(id), "file_%d", i);
		if (!has_identity(t, ino[i], NODE_DOC, cid, id))
			bad++;
		if (inode_get(t, NODE_DOC, cid, id, 0) != ino[i])
			bad++;
	}
	CHECK_EQ_INT(bad, 0);

	TEST_CTX("forget every other one after growth");
	for (int i = 0; i < N; i += 2)
		inode_forget(t, ino[i], 1);
	CHECK_EQ_INT(inode_count(t), N / 2);
	for (int i = 0; i < N; i++) {
		struct node_id n = { 0 };
		int rc = inode_find(t, ino[i], &n);

		if (rc != (i % 2 ? 0 : -ENOENT))
			bad++;
		node_id_release(&n);
	}
	CHECK_EQ_INT(bad, 0);
	free(ino);
	inode_table_free(t);
}

/* Threads racing on the same identities agree on the numbers. */
#define RACE_THREADS 4
#define RACE_N 2000

static struct inode_table *race_t;
static uint64_t race_ino[RACE_THREADS][RACE_N];

static void *race_run(void *p)
{
	uint64_t *out = p;
	char id[32];

	for (int i = 0; i < RACE_N; i++) {
		snprintf(id, sizeof(id), "key-%d", i);
		out[i] = inode_get(race_t, NODE_KEY, "", id, 1);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[RACE_THREADS];
	int bad = 0;

	TEST_CTX("threads agree");
	race_t = inode_table_new();
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_create(&th[i], NULL, race_run, race_ino[i]);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < RACE_N; i++)
		for (int k = 1; k < RACE_THREADS; k++)
			bad += race_ino[k][i] != race_ino[0][i] ||
			       !race_ino[0][i];
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(inode_count(race_t), RACE_N);
	for (int i = 0; i < RACE_N; i++)
		inode_forget(race_t, race_ino[0][i], RACE_THREADS);
	CHECK_EQ_INT(inode_count(race_t), 0);
	inode_table_free(race_t);
}

static void test_lookup_and_versions(void)
{
	struct inode_table *t = inode_table_new();
	uint64_t ino;

	TEST_CTX("lookup and versions");
	CHECK_EQ_INT(inode_lookup(t, NODE_KEY, "", "k1"), 0);
	CHECK_EQ_INT(inode_count(t), 0); /* a lookup creates nothing */
	ino = inode_get(t, NODE_KEY, NULL, "k1", 1);
	CHECK_EQ_INT(inode_lookup(t, NODE_KEY, NULL, "k1"), ino);
	CHECK_EQ_INT(inode_lookup(t, NODE_DOC, "", "k1"), 0);
	CHECK_EQ_INT(inode_shown(t, ino), 0);
	CHECK_EQ_INT(inode_set_shown(t, ino, 7), 0);
	CHECK_EQ_INT(inode_set_shown(t, ino, 8), 7);
	CHECK_EQ_INT(inode_shown(t, ino), 8);
	CHECK_EQ_INT(inode_page_open(t, ino, 8), 0);
	CHECK_EQ_INT(inode_page_open(t, ino, 8), 1);
	CHECK_EQ_INT(inode_page_open(t, ino, 9), 0);
	CHECK_EQ_INT(inode_set_shown(t, 999, 1),
		     0); /* unknown numbers: nothing */
	inode_forget(t, ino, 1);
	CHECK_EQ_INT(inode_lookup(t, NODE_KEY, NULL, "k1"), 0);
	inode_table_free(t);
}

int main(void)
{
	test_lookup_and_versions();
	test_root_and_fixed();
	test_identity();
	test_forget();
	test_growth();
	test_threads();
	return test_done();
}
