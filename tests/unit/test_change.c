/*
 * test_change.c - the write state machine (change_state.h): which target a
 * handle gets, how writes, truncations, flushes and closes move it, and when
 * a document streams; then the same rules through real handles (change.h)
 * over a primed cache without an API, where any request would fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change.h"
#include "change_state.h"
#include "model.h"
#include "names.h"
#include "test.h"

#define KIB (1u << 10)

/* ---- Targets ---- */

struct create_row {
	enum node_kind parent;
	const char *name;
	int have_local;
	int rc;
	enum change_target target;
	int dirty;
};

static const struct create_row create_rows[] = {
	{ NODE_KEYS_DIR, "ci-bot", 1, 0, CHANGE_NEW_KEY, 0 },
	{ NODE_KEYS_DIR, ".ci-bot.swp", 1, 0, CHANGE_SCRATCH, 0 },
	{ NODE_KEYS_DIR, "4913", 1, 0, CHANGE_SCRATCH, 0 },
	{ NODE_KEYS_DIR, "ci-bot~", 1, 0, CHANGE_SCRATCH, 0 },
	/* A new document is uploaded at close even when nothing was written. */
	{ NODE_DOCS_DIR, "report.pdf", 1, 0, CHANGE_NEW_DOC, 1 },
	{ NODE_DOCS_DIR, "sedAb12Cd", 1, 0, CHANGE_SCRATCH, 0 },
	{ NODE_COLLS_DIR, "contracts.json", 1, 0, CHANGE_NEW_COLL, 0 },
	{ NODE_COLLS_DIR, "contracts", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_COLLS_DIR, ".contracts.json", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_COLLS_DIR, "contracts.json", 0, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_ROOT, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_MODELS_DIR, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_COLL_DIR, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_META_DIR, "x.json", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_CTL_DIR, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_USAGE_DIR, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_SEARCH_DIR, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_INVOICES_DIR, "x", 1, -EACCES, CHANGE_SCRATCH, 0 },
	{ NODE_KEY, "x", 1, -ENOTDIR, CHANGE_SCRATCH, 0 },
	{ NODE_KEYS_DIR, "x", 0, -ENOTDIR, CHANGE_SCRATCH, 0 },
};

static void test_create(void)
{
	char name[NAMES_MAX + 2];
	struct change_state st;

	for (size_t i = 0; i < sizeof(create_rows) / sizeof(create_rows[0]);
	     i++) {
		const struct create_row *r = &create_rows[i];

		TEST_CTX(r->name);
		memset(&st, 0x55, sizeof(st));
		CHECK_EQ_INT(change_state_create(r->parent, r->name,
						 r->have_local, &st),
			     r->rc);
		if (r->rc < 0)
			continue;
		CHECK_EQ_INT(st.target, r->target);
		CHECK_EQ_INT(st.dirty, r->dirty);
		CHECK(!st.closing && !st.whole_only && !st.err);
		/* Only new resources vanish when never created. */
		CHECK_EQ_INT(change_state_is_new(&st),
			     r->target != CHANGE_SCRATCH);
	}
	TEST_CTX("name lengths: documents leave room for metadata/<name>.json");
	memset(name, 'a', sizeof(name));
	name[NAMES_MAX] = '\0';
	CHECK_EQ_INT(change_state_create(NODE_KEYS_DIR, name, 1, &st), 0);
	CHECK_EQ_INT(change_state_create(NODE_DOCS_DIR, name, 1, &st),
		     -ENAMETOOLONG);
	name[NAMES_MAX - 5] = '\0';
	CHECK_EQ_INT(change_state_create(NODE_DOCS_DIR, name, 1, &st), 0);
	name[NAMES_MAX - 5] = 'a';
	name[NAMES_MAX] = 'a';
	name[NAMES_MAX + 1] = '\0';
	CHECK_EQ_INT(change_state_create(NODE_KEYS_DIR, name, 1, &st),
		     -ENAMETOOLONG);
}

struct open_row {
	const char *what;
	enum node_kind kind;
	int flags;
	int rc;
	enum change_target target;
	int dirty, whole_only;
};

static const struct open_row open_rows[] = {
	{ "key", NODE_KEY, O_WRONLY, 0, CHANGE_KEY, 0, 0 },
	{ "key, truncated", NODE_KEY, O_WRONLY | O_TRUNC, 0, CHANGE_KEY, 1, 0 },
	{ "key, appended", NODE_KEY, O_WRONLY | O_APPEND, 0, CHANGE_KEY, 0, 0 },
	{ "collection.json", NODE_COLL_JSON, O_RDWR, 0, CHANGE_COLL_JSON, 0,
	  0 },
	{ "document, truncated", NODE_DOC, O_WRONLY | O_TRUNC, 0, CHANGE_DOC, 1,
	  0 },
	{ "document, rw truncated", NODE_DOC, O_RDWR | O_TRUNC, 0, CHANGE_DOC,
	  1, 0 },
	/* vim and GIO open first and truncate or rename after. */
	{ "document, not truncated", NODE_DOC, O_WRONLY, 0, CHANGE_DOC, 0, 1 },
	{ "document, rw", NODE_DOC, O_RDWR, -EOPNOTSUPP, CHANGE_SCRATCH, 0, 0 },
	{ "document, appended", NODE_DOC, O_WRONLY | O_APPEND | O_TRUNC,
	  -EOPNOTSUPP, CHANGE_SCRATCH, 0, 0 },
	{ "spending-limits", NODE_LIMITS, O_WRONLY | O_TRUNC, 0, CHANGE_LIMITS,
	  1, 0 },
	{ "refresh", NODE_CTL_REFRESH, O_WRONLY | O_TRUNC, 0, CHANGE_REFRESH, 0,
	  0 },
	{ "model", NODE_MODEL, O_WRONLY, -EACCES, CHANGE_SCRATCH, 0, 0 },
	{ "metadata", NODE_DOC_META, O_WRONLY, -EACCES, CHANGE_SCRATCH, 0, 0 },
	{ "usage", NODE_USAGE, O_WRONLY, -EACCES, CHANGE_SCRATCH, 0, 0 },
	{ "stats", NODE_CTL_STATS, O_WRONLY, -EACCES, CHANGE_SCRATCH, 0, 0 },
	{ "keys/", NODE_KEYS_DIR, O_WRONLY, -EISDIR, CHANGE_SCRATCH, 0, 0 },
	{ "search/", NODE_SEARCH_DIR, O_WRONLY, -EISDIR, CHANGE_SCRATCH, 0, 0 },
};

static void test_open(void)
{
	struct change_state st;

	for (size_t i = 0; i < sizeof(open_rows) / sizeof(open_rows[0]); i++) {
		const struct open_row *r = &open_rows[i];

		TEST_CTX(r->what);
		CHECK_EQ_INT(change_state_open(r->kind, r->flags, &st), r->rc);
		if (r->rc < 0)
			continue;
		CHECK_EQ_INT(st.target, r->target);
		CHECK_EQ_INT(st.dirty, r->dirty);
		CHECK_EQ_INT(st.whole_only, r->whole_only);
		CHECK(!change_state_is_new(&st));
		CHECK_EQ_INT(change_state_kind(st.target), r->kind);
	}
	TEST_CTX("local files");
	change_state_scratch(0, NODE_KEYS_DIR, O_TRUNC, &st);
	CHECK_EQ_INT(st.target, CHANGE_SCRATCH);
	CHECK_EQ_INT(st.dirty, 0);
	change_state_scratch(1, NODE_KEYS_DIR, O_TRUNC, &st);
	CHECK_EQ_INT(st.target, CHANGE_NEW_KEY);
	CHECK_EQ_INT(st.dirty, 0);
	change_state_scratch(1, NODE_DOCS_DIR, 0, &st);
	CHECK_EQ_INT(st.target, CHANGE_NEW_DOC);
	CHECK_EQ_INT(st.dirty, 0);
	/* a new document opened again with O_TRUNC is stored at its close */
	change_state_scratch(1, NODE_DOCS_DIR, O_WRONLY | O_TRUNC, &st);
	CHECK_EQ_INT(st.dirty, 1);
	change_state_scratch(1, NODE_COLLS_DIR, 0, &st);
	CHECK_EQ_INT(st.target, CHANGE_NEW_COLL);
}

/* ---- Writes, truncations, flushes, closes ---- */

/* Write n bytes at off through the rules; 0 or the refusal. */
static int wrote(struct change_state *st, off_t off, size_t n)
{
	int rc = change_state_write(st, off, n);

	if (rc == 0)
		change_state_wrote(st);
	return rc;
}

static void test_flush_without_writes(void)
{
	struct change_state st;

	TEST_CTX("an existing key opened, nothing written: no commit");
	change_state_open(NODE_KEY, O_WRONLY, &st);
	CHECK_EQ_INT(change_state_flush(&st, 120), CHANGE_STEP_NONE);
	CHECK_EQ_INT(change_state_close(&st), 0);
	CHECK_EQ_INT(change_state_flush(&st, 120), CHANGE_STEP_NONE);

	TEST_CTX(
		"a document opened without O_TRUNC, nothing written: no commit");
	change_state_open(NODE_DOC, O_WRONLY, &st);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_NONE);
	CHECK_EQ_INT(change_state_close(&st), 0);

	TEST_CTX("a shell's first close of a redirection: empty content waits");
	change_state_open(NODE_KEY, O_WRONLY | O_TRUNC, &st);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_WAIT);
	CHECK_EQ_INT(st.dirty, 1);
	CHECK_EQ_INT(wrote(&st, 0, 20), 0);
	CHECK_EQ_INT(change_state_flush(&st, 20), CHANGE_STEP_JSON);
	CHECK_EQ_INT(st.dirty, 0);
	CHECK_EQ_INT(change_state_flush(&st, 20), CHANGE_STEP_NONE);

	TEST_CTX("an empty new document: uploaded at the last close");
	change_state_create(NODE_DOCS_DIR, "empty.txt", 1, &st);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_WAIT);
	CHECK_EQ_INT(change_state_close(&st), 1);
	CHECK_EQ_INT(st.closing, 1);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_DOC);

	TEST_CTX("an empty new key: nothing is created, its name vanishes");
	change_state_create(NODE_KEYS_DIR, "ci-bot", 1, &st);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_NONE);
	CHECK_EQ_INT(change_state_close(&st), 0);
	CHECK_EQ_INT(change_state_is_new(&st), 1);

	TEST_CTX(".xaifs/refresh: a write drops every cache at flush, once");
	change_state_open(NODE_CTL_REFRESH, O_WRONLY | O_TRUNC, &st);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_NONE);
	CHECK_EQ_INT(wrote(&st, 0, 2), 0);
	CHECK_EQ_INT(change_state_flush(&st, 0), CHANGE_STEP_REFRESH);
	CHECK_EQ_INT(change_state_flush(&st, 2), CHANGE_STEP_NONE);
}

static void test_temporary_name(void)
{
	struct change_state st;

	TEST_CTX("a temporary name is written and closed: nothing is sent");
	CHECK_EQ_INT(
		change_state_create(NODE_DOCS_DIR, ".report.pdf.swp", 1, &st),
		0);
	CHECK_EQ_INT(st.target, CHANGE_SCRATCH);
	CHECK_EQ_INT(wrote(&st, 0, 4096), 0);
	CHECK_EQ_INT(st.dirty, 1);
	CHECK_EQ_INT(change_state_flush(&st, 4096), CHANGE_STEP_NONE);
	CHECK_EQ_INT(change_state_close(&st), 0);
	CHECK_EQ_INT(change_state_is_new(&st), 0);
	CHECK(!change_state_streamable(&st, 0,
				       &(struct change_stream_pos){ 0 }));
}

static void test_error_sticks(void)
{
	struct change_state st;
	int rc;

	TEST_CTX("a failed commit: its error is what later flushes return");
	change_state_open(NODE_KEY, O_WRONLY | O_TRUNC, &st);
	CHECK_EQ_INT(wrote(&st, 0, 30), 0);
	CHECK_EQ_INT(change_state_flush(&st, 30), CHANGE_STEP_JSON);
	rc = -EIO;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 30),
		     CHANGE_AFTER_REFETCH);
	CHECK_EQ_INT(rc, -EIO);
	CHECK_EQ_INT(st.err, -EIO);
	CHECK_EQ_INT(change_state_flush(&st, 30), CHANGE_STEP_NONE);
	CHECK_EQ_INT(st.err, -EIO);
	CHECK_EQ_INT(change_state_flush(&st, 30), CHANGE_STEP_NONE);
	TEST_CTX("... until new writes are committed");
	CHECK_EQ_INT(wrote(&st, 0, 30), 0);
	CHECK_EQ_INT(change_state_flush(&st, 30), CHANGE_STEP_JSON);
	rc = 0;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 30),
		     CHANGE_AFTER_INODE);
	CHECK_EQ_INT(st.err, 0);

	TEST_CTX(
		"JSON past its limit: never sent, and every later write and flush fails");
	change_state_open(NODE_KEY, O_WRONLY | O_TRUNC, &st);
	CHECK_EQ_INT(wrote(&st, 0, 100), 0);
	CHECK_EQ_INT(wrote(&st, CHANGE_JSON_MAX - 1, 2), -EFBIG);
	CHECK_EQ_INT(st.dirty, 0);
	CHECK_EQ_INT(wrote(&st, 0, 1), -EFBIG);
	CHECK_EQ_INT(change_state_flush(&st, 100), CHANGE_STEP_NONE);
	CHECK_EQ_INT(st.err, -EFBIG);
	CHECK_EQ_INT(wrote(&st, -1, 1), -EFBIG);
	TEST_CTX("documents and local files have no such limit");
	change_state_create(NODE_DOCS_DIR, "big.bin", 1, &st);
	CHECK_EQ_INT(wrote(&st, CHANGE_JSON_MAX, 4096), 0);
	change_state_create(NODE_KEYS_DIR, ".big.swp", 1, &st);
	CHECK_EQ_INT(wrote(&st, CHANGE_JSON_MAX, 4096), 0);

	TEST_CTX("failures fetch what the server may have changed");
	change_state_open(NODE_LIMITS, O_WRONLY | O_TRUNC, &st);
	rc = -ETIMEDOUT;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 10),
		     CHANGE_AFTER_LIMITS);
	change_state_open(NODE_COLL_JSON, O_WRONLY | O_TRUNC, &st);
	rc = -EIO;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 10),
		     CHANGE_AFTER_REFETCH);
	CHECK_EQ_INT(change_state_list(st.target), NODE_LIST_COLLECTIONS);
	change_state_create(NODE_DOCS_DIR, "a.pdf", 1, &st);
	rc = -EIO;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 10),
		     CHANGE_AFTER_REFETCH);
	CHECK_EQ_INT(change_state_list(st.target), NODE_LIST_DOCUMENTS);
	CHECK_EQ_INT(st.target, CHANGE_NEW_DOC); /* still to be created */
}

static void test_commit_outcomes(void)
{
	struct change_state st;
	int rc;

	TEST_CTX("a new key is created: the handle now updates it");
	change_state_create(NODE_KEYS_DIR, "ci-bot", 1, &st);
	CHECK_EQ_INT(wrote(&st, 0, 10), 0);
	CHECK_EQ_INT(change_state_flush(&st, 10), CHANGE_STEP_JSON);
	rc = 0;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 1, 10),
		     CHANGE_AFTER_BECAME | CHANGE_AFTER_INODE);
	CHECK_EQ_INT(st.target, CHANGE_KEY);
	CHECK_EQ_INT(change_state_kind(st.target), NODE_KEY);
	CHECK(!change_state_is_new(&st));

	TEST_CTX("an empty new key file: nothing to create is no error");
	change_state_create(NODE_KEYS_DIR, "ci-bot", 1, &st);
	rc = -ENODATA;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 0), 0);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(st.target, CHANGE_NEW_KEY);

	TEST_CTX("a document is replaced: a new version, a new id");
	change_state_open(NODE_DOC, O_WRONLY | O_TRUNC, &st);
	CHECK_EQ_INT(wrote(&st, 0, 10), 0);
	CHECK_EQ_INT(change_state_flush(&st, 10), CHANGE_STEP_DOC);
	rc = 0;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 1, 10),
		     CHANGE_AFTER_VERSION | CHANGE_AFTER_INODE);
	CHECK_EQ_INT(st.target, CHANGE_DOC);
	TEST_CTX("... stored without a known id: nothing to take");
	rc = 0;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 10),
		     CHANGE_AFTER_INODE);

	TEST_CTX("collections/NAME.json did its work: the file goes");
	change_state_create(NODE_COLLS_DIR, "contracts.json", 1, &st);
	CHECK_EQ_INT(wrote(&st, 0, 40), 0);
	CHECK_EQ_INT(change_state_flush(&st, 40), CHANGE_STEP_JSON);
	rc = 0;
	CHECK_EQ_INT(change_state_committed(&st, &rc, 0, 40),
		     CHANGE_AFTER_REQUEST);
	CHECK_EQ_INT(st.target, CHANGE_SCRATCH);
	CHECK_EQ_INT(change_state_flush(&st, 40), CHANGE_STEP_NONE);
}

static void test_truncate(void)
{
	struct change_state st;
	struct change_stream_pos p = { 0 };

	TEST_CTX(
		"truncate after write: dirty, and a running stream is given up");
	change_state_create(NODE_DOCS_DIR, "a.bin", 1, &st);
	CHECK_EQ_INT(wrote(&st, 0, 100), 0);
	CHECK_EQ_INT(change_state_stream_write(&p, 0, 0, 100),
		     CHANGE_STREAM_NONE);
	CHECK_EQ_INT(change_state_flush(&st, 100), CHANGE_STEP_DOC);
	CHECK_EQ_INT(st.dirty, 0);
	CHECK_EQ_INT(change_state_truncate(&st, 0), 0);
	CHECK_EQ_INT(st.dirty, 1);
	CHECK_EQ_INT(change_state_stream_cut(&p, 100),
		     0); /* to where it is: nothing */
	CHECK_EQ_INT(p.broken, 0);
	CHECK_EQ_INT(change_state_stream_cut(&p, 0), 1);
	CHECK_EQ_INT(p.broken, 1);
	CHECK_EQ_INT(change_state_stream_write(&p, 0, 100, 100),
		     CHANGE_STREAM_NONE);

	TEST_CTX(
		"a document opened without O_TRUNC: only a truncation to 0 starts a version");
	change_state_open(NODE_DOC, O_WRONLY, &st);
	CHECK_EQ_INT(wrote(&st, 0, 10), -EOPNOTSUPP);
	CHECK_EQ_INT(st.dirty, 0);
	CHECK_EQ_INT(change_state_truncate(&st, 5), -EOPNOTSUPP);
	CHECK_EQ_INT(st.dirty, 0);
	CHECK_EQ_INT(change_state_truncate(&st, 0), 0);
	CHECK_EQ_INT(st.whole_only, 0);
	CHECK_EQ_INT(st.dirty, 1);
	CHECK_EQ_INT(wrote(&st, 0, 10), 0);
	CHECK_EQ_INT(change_state_truncate(&st, 5),
		     0); /* a new version may be cut */
	CHECK_EQ_INT(change_state_close(&st), 1);
}

/* ---- Streamed uploads ---- */

static void test_stream_in_order(void)
{
	struct change_state st;
	struct change_stream_pos p = { 0 };
	const size_t w = 256 * KIB;
	off_t off = 0;

	TEST_CTX(
		"a fresh create, then writes in order: streamed from 1 MiB on");
	change_state_create(NODE_DOCS_DIR, "big.bin", 1, &st);
	for (int i = 0; i < 3; i++, off += (off_t)w) {
		CHECK_EQ_INT(wrote(&st, off, w), 0);
		CHECK_EQ_INT(change_state_stream_write(&p, 0, off, w),
			     CHANGE_STREAM_NONE);
	}
	CHECK_EQ_INT(wrote(&st, off, w), 0);
	CHECK_EQ_INT(change_state_stream_write(&p, 0, off, w),
		     CHANGE_STREAM_START);
	off += (off_t)w;
	CHECK_EQ_INT(p.off, CHANGE_STREAM_MIN);
	CHECK(change_state_streamable(&st, off, &p));
	CHECK(!change_state_streamable(&st, off + 1,
				       &p)); /* the spool holds more */
	/* Streaming: each write in order is handed over. */
	CHECK_EQ_INT(change_state_stream_write(&p, 1, off, w),
		     CHANGE_STREAM_SEND);
	p.off += w;
	off += (off_t)w;
	CHECK_EQ_INT(change_state_stream_write(&p, 1, off, w),
		     CHANGE_STREAM_SEND);
	p.err = -EPIPE; /* its request ended early: the commit reports it */
	CHECK_EQ_INT(change_state_stream_write(&p, 1, off + (off_t)w, w),
		     CHANGE_STREAM_NONE);

	TEST_CTX(
		"a replaced document streams too; one opened without O_TRUNC does not");
	change_state_open(NODE_DOC, O_WRONLY | O_TRUNC, &st);
	CHECK(change_state_streamable(&st, 0,
				      &(struct change_stream_pos){ 0 }));
	change_state_open(NODE_DOC, O_WRONLY, &st);
	CHECK(!change_state_streamable(&st, 0,
				       &(struct change_stream_pos){ 0 }));
	TEST_CTX("keys never stream; nor does a handle with an error");
	change_state_open(NODE_KEY, O_WRONLY | O_TRUNC, &st);
	CHECK(!change_state_streamable(&st, 0,
				       &(struct change_stream_pos){ 0 }));
	change_state_create(NODE_DOCS_DIR, "big.bin", 1, &st);
	st.err = -EIO;
	CHECK(!change_state_streamable(&st, 0,
				       &(struct change_stream_pos){ 0 }));
}

static void test_stream_seek_back(void)
{
	struct change_stream_pos p = { 0 };
	const size_t w = 256 * KIB;

	TEST_CTX(
		"a seek back before streaming: the spool is uploaded at close");
	CHECK_EQ_INT(change_state_stream_write(&p, 0, 0, w),
		     CHANGE_STREAM_NONE);
	CHECK_EQ_INT(change_state_stream_write(&p, 0, 0, w),
		     CHANGE_STREAM_NONE);
	CHECK_EQ_INT(p.broken, 1);
	for (off_t off = (off_t)w; off < 8 * (off_t)w; off += (off_t)w)
		CHECK_EQ_INT(change_state_stream_write(&p, 0, off, w),
			     CHANGE_STREAM_NONE);

	TEST_CTX("a write past the end (a hole) is out of order too");
	memset(&p, 0, sizeof(p));
	CHECK_EQ_INT(change_state_stream_write(&p, 0, 4096, w),
		     CHANGE_STREAM_NONE);
	CHECK_EQ_INT(p.broken, 1);

	TEST_CTX("a seek back while streaming: the stream is given up");
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 3; i++)
		change_state_stream_write(&p, 0, (off_t)(i * w), w);
	CHECK_EQ_INT(change_state_stream_write(&p, 0, 3 * (off_t)w, w),
		     CHANGE_STREAM_START);
	CHECK_EQ_INT(change_state_stream_write(&p, 1, 0, w),
		     CHANGE_STREAM_ABANDON);
	CHECK_EQ_INT(change_state_stream_cut(&p, 0), 1);
}

/* ---- Handles (change.h) over a primed cache, without an API ---- */

static const char keys_json[] =
	"{\"apiKeys\":[{\"apiKeyId\":\"k-alpha\",\"name\":\"alpha\"}]}";
static const char colls_json[] =
	"{\"collections\":[{\"collection_id\":\"collection_1\",\"collection_name\":\"Docs\"}]}";
static const char docs_json[] =
	"{\"documents\":[{\"file_metadata\":{\"file_id\":\"file_a\",\"name\":\"report.pdf\","
	"\"size_bytes\":\"5\"}}]}";

typedef int (*page_fn)(const char *, size_t, struct reslist *, char **);

static void prime(struct cache *c, const struct cache_key *key, page_fn parse,
		  const char *json, size_t maxlen)
{
	struct reslist *l = reslist_new();
	struct cval *v = cval_new();

	if (parse(json, strlen(json), l, NULL) != 0 ||
	    names_assign(l, maxlen, NULL) != 0)
		abort();
	v->list = l;
	if (cache_store(c, key, v) != 0)
		abort();
	cval_unref(v);
}

static struct cache *cache;
static struct inode_table *itab;
static struct scratch *local;
static struct tree *tree;
static struct change *chg;

static void setup(int read_only)
{
	struct cache_opts co = { 3600, 3600, 0, NULL, NULL, NULL };
	struct tree_opts to = { getuid(), getgid(), 60,	      10,
				"/tmp",	  077,	    read_only };

	cache = cache_new(NULL, &co);
	itab = inode_table_new();
	local = scratch_new(itab, "/tmp");
	prime(cache, CACHE_KEY(CACHE_KEYS, NULL), model_parse_keys_page,
	      keys_json, NAMES_MAX);
	prime(cache, CACHE_KEY(CACHE_COLLECTIONS, NULL),
	      model_parse_collections_page, colls_json, NAMES_MAX);
	prime(cache, CACHE_KEY(CACHE_DOCUMENTS, "collection_1"),
	      model_parse_documents_page, docs_json, NAMES_MAX - 5);
	tree = tree_new(cache, itab, local, &to);
	chg = change_new(tree, cache, NULL, local, read_only, "/tmp");
	if (!cache || !itab || !local || !tree || !chg)
		abort();
}

static void teardown(void)
{
	change_free(chg);
	tree_free(tree);
	scratch_free(local);
	inode_table_free(itab);
	cache_free(cache);
}

/* The inode of a path ("keys/alpha"), or 0. */
static uint64_t walk(const char *path)
{
	char buf[256], *part, *next;
	struct tree_entry e;
	uint64_t ino = 1;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = buf; part; part = next) {
		next = strchr(part, '/');
		if (next)
			*next++ = '\0';
		if (tree_lookup(tree, ino, part, &e) != 0)
			return 0;
		ino = e.ino;
	}
	return ino;
}

static void test_handles(void)
{
	struct change_file *f = NULL;
	struct tree_entry e;
	uint64_t keys, alpha, doc;
	struct stat st = { 0 };

	setup(0);
	keys = walk("keys");
	alpha = walk("keys/alpha");
	doc = walk("collections/Docs/documents/report.pdf");
	CHECK(keys && alpha && doc);

	TEST_CTX(
		"handle: a temporary name is written, flushed and closed locally");
	CHECK_EQ_INT(change_create(chg, keys, ".alpha.swp", O_WRONLY, &e, &f),
		     0);
	CHECK_EQ_INT(change_write(chg, f, "abc", 3, 0), 3);
	CHECK_EQ_INT(change_flush(chg, f),
		     0); /* an upload would fail: there is no API */
	change_release(chg, f);
	CHECK(walk("keys/.alpha.swp") != 0); /* still there, locally */

	TEST_CTX(
		"handle: an existing key opened and closed unwritten sends nothing");
	CHECK_EQ_INT(change_open(chg, alpha, O_WRONLY, &f), 0);
	CHECK_EQ_INT(change_flush(chg, f), 0);
	change_release(chg, f);

	TEST_CTX("handle: JSON past its limit fails every later flush");
	CHECK_EQ_INT(change_open(chg, alpha, O_WRONLY | O_TRUNC, &f), 0);
	CHECK_EQ_INT(change_write(chg, f, "{}", 2, CHANGE_JSON_MAX), -EFBIG);
	CHECK_EQ_INT(change_flush(chg, f), -EFBIG);
	CHECK_EQ_INT(change_flush(chg, f), -EFBIG);
	change_release(chg, f);

	TEST_CTX(
		"handle: a document is replaced whole, after a truncation to 0");
	CHECK_EQ_INT(change_open(chg, doc, O_RDWR, &f), -EOPNOTSUPP);
	CHECK_EQ_INT(change_open(chg, doc, O_WRONLY, &f), 0);
	CHECK_EQ_INT(change_write(chg, f, "new", 3, 0), -EOPNOTSUPP);
	st.st_size = 2;
	CHECK_EQ_INT(change_setattr(chg, doc, f, &st, 1, 0, &e), -EOPNOTSUPP);
	st.st_size = 0;
	CHECK_EQ_INT(change_setattr(chg, doc, f, &st, 1, 0, &e), 0);
	CHECK_EQ_INT(e.st.st_size, 0);
	CHECK_EQ_INT(change_write(chg, f, "new", 3, 0), 3);
	change_abandon(chg, f); /* not committed: there is no API */

	TEST_CTX("handle: what the table says is not written");
	CHECK_EQ_INT(change_create(chg, 1, "x", O_WRONLY, &e, &f), -EACCES);
	CHECK_EQ_INT(change_create(chg, walk("models"), "x", O_WRONLY, &e, &f),
		     -EACCES);
	CHECK_EQ_INT(change_open(chg, walk(".xaifs/stats"), O_WRONLY, &f),
		     -EACCES);
	CHECK_EQ_INT(change_open(chg,
				 inode_get(itab, NODE_USAGE, NULL, NULL, 0),
				 O_WRONLY, &f),
		     -EACCES);
	teardown();

	TEST_CTX("handle: a read-only mount takes only .xaifs/refresh");
	setup(1);
	CHECK_EQ_INT(change_open(chg, walk("keys/alpha"), O_WRONLY, &f),
		     -EROFS);
	CHECK_EQ_INT(change_create(chg, walk("keys"), "x", O_WRONLY, &e, &f),
		     -EROFS);
	CHECK_EQ_INT(change_open(chg, walk(".xaifs/refresh"),
				 O_WRONLY | O_TRUNC, &f),
		     0);
	CHECK_EQ_INT(change_write(chg, f, "1\n", 2, 0), 2);
	CHECK_EQ_INT(change_flush(chg, f), 0);
	change_release(chg, f);
	teardown();
}

int main(void)
{
	test_create();
	test_open();
	test_flush_without_writes();
	test_temporary_name();
	test_error_sticks();
	test_commit_outcomes();
	test_truncate();
	test_stream_in_order();
	test_stream_seek_back();
	test_handles();
	return test_done();
}
