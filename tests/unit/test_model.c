/*
 * test_model.c - JSON <-> C: fixtures shaped like shared/xai-api.md, both
 * spellings, int64 as strings, malformed bodies, renderings, times, errors.
 *
 * The tests read renderings back with json-c; only model.c uses json-c in
 * the program itself.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "model.h"
#include "test.h"

#define LEN_STR ((size_t)-1) /* row length: strlen(body) */

static size_t blen(const char *body, size_t len)
{
	return len == LEN_STR ? strlen(body) : len;
}

/* ------------------------------------------------------------------ */
/* Helpers to inspect renderings                                      */
/* ------------------------------------------------------------------ */

/* Borrowed value at a dotted path; numeric parts index arrays. */
static struct json_object *jpath(struct json_object *o, const char *path)
{
	char buf[256], *part, *dot;
	struct json_object *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = buf; part && v; part = dot) {
		dot = strchr(part, '.');
		if (dot)
			*dot++ = '\0';
		if (json_object_is_type(v, json_type_array)) {
			size_t i = strtoul(part, NULL, 10);

			if (i >= json_object_array_length(v))
				return NULL;
			v = json_object_array_get_idx(v, i);
		} else if (!json_object_object_get_ex(v, part, &v)) {
			return NULL;
		}
	}
	return v;
}

static const char *jstr(struct json_object *o, const char *path)
{
	struct json_object *v = jpath(o, path);

	return json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int has(struct json_object *o, const char *path)
{
	char buf[256], *dot;
	struct json_object *parent = o;

	snprintf(buf, sizeof(buf), "%s", path);
	dot = strrchr(buf, '.');
	if (dot) {
		*dot = '\0';
		parent = jpath(o, buf);
	}
	return json_object_object_get_ex(parent, dot ? dot + 1 : buf, NULL);
}

/*
 * A rendering: length right, exactly one trailing '\n', two-space
 * indentation, no escaped slashes, parses to an object. Returns the parsed
 * object (caller puts) or NULL.
 */
static struct json_object *check_render(const char *s, size_t len)
{
	struct json_object *o;

	CHECK(s != NULL);
	if (!s)
		return NULL;
	CHECK_EQ_INT(len, strlen(s));
	CHECK(len >= 2 && s[len - 1] == '\n' && s[len - 2] != '\n');
	CHECK(strstr(s, "\\/") == NULL);
	CHECK(strchr(s, '\t') == NULL);
	CHECK(len < 4 || strncmp(s, "{\n  \"", 5) == 0 ||
	      strncmp(s, "{\n}", 3) == 0 || strncmp(s, "{ }", 3) == 0);
	o = json_tokener_parse(s);
	CHECK(json_object_is_type(o, json_type_object));
	return o;
}

/* ------------------------------------------------------------------ */
/* Malformed bodies, for every parser                                 */
/* ------------------------------------------------------------------ */

struct bad_row {
	const char *what;
	const char *body;
	size_t len;
};

static const struct bad_row bad_rows[] = {
	{ "empty", "", 0 },
	{ "NULL body", NULL, 0 },
	{ "whitespace", "  \n", LEN_STR },
	{ "open brace", "{", LEN_STR },
	{ "truncated", "{\"apiKeys\":[{\"apiKeyId\":\"k", LEN_STR },
	{ "truncated mid-escape", "{\"a\":\"\\u12", LEN_STR },
	{ "cut by len", "{\"apiKeys\":[]}", 5 },
	{ "null", "null", LEN_STR },
	{ "array", "[]", LEN_STR },
	{ "array of objects", "[{\"apiKeyId\":\"k\"}]", LEN_STR },
	{ "string", "\"hello\"", LEN_STR },
	{ "number", "123", LEN_STR },
	{ "bool", "true", LEN_STR },
	{ "trailing garbage", "{}garbage", LEN_STR },
	{ "two objects", "{}{}", LEN_STR },
	{ "extra brace", "{\"a\":1}}", LEN_STR },
	{ "binary", "\xff\xfe\x00\x01", 4 },
	{ "NUL inside", "{\"a\":\0}", 7 },
	{ "NUL after", "{}\0", 3 },
	{ "html", "<html><body>502 Bad Gateway</body></html>", LEN_STR },
	{ "deep nesting",
	  "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	  LEN_STR },
	{ "unquoted key", "{apiKeys:[]", LEN_STR },
};

typedef int (*page_fn)(const char *, size_t, struct reslist *, char **);

/* model_render_billing() of three bodies (NULL: the part failed, no message). */
static int render_billing3(const char *b0, size_t n0, const char *b1, size_t n1,
			   const char *b2, size_t n2, char **out, size_t *len)
{
	struct model_billing b = { { b0, b1, b2 },
				   { n0, n1, n2 },
				   { NULL, NULL, NULL } };

	return model_render_billing(&b, out, len);
}

static void test_malformed(void)
{
	static const page_fn pages[] = { model_parse_keys_page,
					 model_parse_collections_page,
					 model_parse_documents_page };
	struct reslist *l = reslist_new();
	struct whoami w;
	char *next, *out, *regions;
	size_t i, j, len, out_len;

	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const char *b = bad_rows[i].body;

		TEST_CTX(bad_rows[i].what);
		len = b ? blen(b, bad_rows[i].len) : 0;
		for (j = 0; j < 3; j++) {
			next = (char *)"sentinel";
			CHECK_EQ_INT(pages[j](b, len, l, &next), -EIO);
			CHECK(next == NULL);
		}
		CHECK_EQ_INT(l->n, 0);
		CHECK_EQ_INT(model_parse_validation(b, len, &w), -EIO);
		regions = (char *)"sentinel";
		CHECK_EQ_INT(model_parse_models(b, len, l, &regions, &out_len),
			     -EIO);
		CHECK(regions == NULL);
		out = (char *)"sentinel";
		CHECK_EQ_INT(model_render_usage(0, b, len, &out, &out_len),
			     -EIO);
		CHECK(out == NULL);
		CHECK_EQ_INT(render_billing3(b ? b : "", len, "{}", 2, "{}", 2,
					     &out, &out_len),
			     -EIO);
		CHECK_EQ_INT(render_billing3("{}", 2, b ? b : "", len, "{}", 2,
					     &out, &out_len),
			     -EIO);
		CHECK(out == NULL);
	}
	reslist_unref(l);
}

/* A body that is not NUL-terminated: only len bytes may be read. */
static void test_unterminated(void)
{
	static const char body[] = "{\"apiKeys\":[{\"apiKeyId\":\"k1\"}]}";
	char *copy = malloc(sizeof(body) - 1); /* no NUL */
	struct reslist *l = reslist_new();
	char *next;

	TEST_CTX("unterminated body");
	memcpy(copy, body, sizeof(body) - 1);
	CHECK_EQ_INT(model_parse_keys_page(copy, sizeof(body) - 1, l, &next),
		     0);
	CHECK_EQ_INT(l->n, 1);
	CHECK(next == NULL);
	CHECK_EQ_INT(model_parse_keys_page("{}\r\n\t ", 6, l, &next), 0);
	free(copy);
	reslist_unref(l);
}

/* ------------------------------------------------------------------ */
/* Validation                                                         */
/* ------------------------------------------------------------------ */

struct whoami_row {
	const char *what;
	const char *body;
	const char *team, *scope, *key_id, *name;
};

static const struct whoami_row whoami_rows[] = {
	{ "docs example",
	  "{\"apiKeyId\":\"mk-1\",\"teamId\":\"team-dep\",\"scope\":\"SCOPE_TEAM\","
	  "\"scopeId\":\"team-1\",\"ownerUserId\":\"u\",\"name\":\"mgmt\","
	  "\"acls\":[\"team-token:endpoint:ListApiKeys\"],"
	  "\"reactedApiKey\":\"xai-...abcd\",\"ipRanges\":null}",
	  "team-1", "SCOPE_TEAM", "mk-1", "mgmt" },
	{ "no scope: scopeId", "{\"scopeId\":\"s1\",\"teamId\":\"t1\"}", "s1",
	  "", "", "" },
	{ "unspecified scope",
	  "{\"scope\":\"SCOPE_UNSPECIFIED\",\"scopeId\":\"s1\",\"teamId\":\"t1\"}",
	  "s1", "SCOPE_UNSPECIFIED", "", "" },
	{ "org scope: teamId",
	  "{\"scope\":\"SCOPE_ORGANIZATION\",\"scopeId\":\"org\",\"teamId\":\"t1\"}",
	  "t1", "SCOPE_ORGANIZATION", "", "" },
	{ "org scope, no teamId: no team (an org id is not a team id)",
	  "{\"scope\":\"SCOPE_ORGANIZATION\",\"scopeId\":\"org\"}", "",
	  "SCOPE_ORGANIZATION", "", "" },
	{ "org scope, snake scope_id only: no team",
	  "{\"scope\":\"SCOPE_ORGANIZATION\",\"scope_id\":\"org\"}", "",
	  "SCOPE_ORGANIZATION", "", "" },
	{ "team scope, empty scopeId",
	  "{\"scope\":\"SCOPE_TEAM\",\"scopeId\":\"\",\"teamId\":\"t\"}", "t",
	  "SCOPE_TEAM", "", "" },
	{ "snake team_id", "{\"team_id\":\"t9\",\"api_key_id\":\"k\"}", "t9",
	  "", "k", "" },
	{ "snake scope_id", "{\"scope_id\":\"s9\"}", "s9", "", "", "" },
	{ "empty object", "{}", "", "", "", "" },
	{ "wrong types",
	  "{\"teamId\":5,\"scopeId\":[],\"scope\":1,\"name\":{}}", "", "", "",
	  "" },
	{ "NUL in string", "{\"teamId\":\"a\\u0000b\"}", "", "", "", "" },
};

static void test_validation(void)
{
	struct whoami w;
	size_t i;

	for (i = 0; i < sizeof(whoami_rows) / sizeof(whoami_rows[0]); i++) {
		const struct whoami_row *r = &whoami_rows[i];

		TEST_CTX(r->what);
		CHECK_EQ_INT(
			model_parse_validation(r->body, strlen(r->body), &w),
			0);
		CHECK_EQ_STR(w.team_id, r->team);
		CHECK_EQ_STR(w.scope, r->scope);
		CHECK_EQ_STR(w.key_id, r->key_id);
		CHECK_EQ_STR(w.name, r->name);
		whoami_release(&w);
		CHECK(w.team_id == NULL);
	}
	whoami_release(NULL);
}

/* ------------------------------------------------------------------ */
/* API keys                                                           */
/* ------------------------------------------------------------------ */

static const char keys_fixture[] =
	"{\"apiKeys\":[{\"redactedApiKey\":\"xai-...oYZ4\",\"userId\":\"u-1\","
	"\"name\":\"ci/deploy\",\"createTime\":\"2025-11-13T16:14:38.164829Z\","
	"\"modifyTime\":\"2025-11-14T00:00:00Z\",\"apiKeyId\":\"ae1b2c3d-0000\","
	"\"teamId\":\"t-1\",\"aclStrings\":[\"api-key:model:*\",\"api-key:endpoint:*\"],"
	"\"qps\":5,\"qpm\":100,\"tpm\":\"1000000\",\"disabled\":false,"
	"\"expireTime\":\"2026-01-01T00:00:00Z\",\"futureField\":{\"x\":1},"
	"\"apiKey\":\"xai-SECRETSECRET\"},"
	"{\"apiKeyId\":\"k2\",\"createTime\":\"2025-01-01T00:00:00Z\",\"disabled\":\"false\","
	"\"acl_strings\":[]},"
	"{\"name\":\"no id\"},{\"apiKeyId\":\"\"},{\"apiKeyId\":7},\"junk\",[1],null,"
	"{\"apiKeyId\":\"k3\",\"modifyTime\":\"not a time\",\"createTime\":1762345678}"
	"],\"paginationToken\":\"tok-2\"}";

static void test_keys(void)
{
	struct reslist *l = reslist_new();
	struct json_object *o;
	char *next = NULL;

	TEST_CTX("keys fixture");
	CHECK_EQ_INT(model_parse_keys_page(keys_fixture, strlen(keys_fixture),
					   l, &next),
		     0);
	CHECK_EQ_STR(next, "tok-2");
	free(next);
	CHECK_EQ_INT(l->n, 3);
	if (l->n != 3)
		goto out;
	CHECK_EQ_STR(l->v[0].id, "ae1b2c3d-0000");
	CHECK_EQ_STR(l->v[0].raw_name, "ci/deploy");
	CHECK(l->v[0].name == NULL);
	CHECK_EQ_INT(l->v[0].mtime, 1763078400); /* modifyTime wins */
	CHECK_EQ_INT(l->v[0].size, -1);
	CHECK_EQ_INT(l->v[0].count, 0);
	CHECK(strstr(l->v[0].json, "SECRET") == NULL);
	CHECK(strstr(l->v[0].json, "ci/deploy") != NULL); /* no \/ */
	o = check_render(l->v[0].json, l->v[0].json_len);
	CHECK(!has(o, "apiKey"));
	CHECK_EQ_STR(jstr(o, "redactedApiKey"), "xai-...oYZ4");
	CHECK_EQ_STR(jstr(o, "tpm"), "1000000");
	CHECK_EQ_STR(jstr(o, "aclStrings.1"), "api-key:endpoint:*");
	CHECK(has(o, "futureField.x")); /* unknown kept */
	json_object_put(o);

	CHECK_EQ_STR(l->v[1].id, "k2");
	CHECK_EQ_STR(l->v[1].raw_name, "");
	CHECK_EQ_INT(l->v[1].mtime, 1735689600); /* createTime */
	o = check_render(l->v[1].json, l->v[1].json_len);
	CHECK_EQ_STR(jstr(o, "disabled"), "false"); /* kept as sent */
	json_object_put(o);

	CHECK_EQ_STR(l->v[2].id, "k3");
	CHECK_EQ_INT(l->v[2].mtime, 1762345678); /* Unix number */
out:
	reslist_unref(l);
}

struct token_row {
	const char *what;
	const char *body;
	int n;
	const char *next;
};

static const struct token_row key_token_rows[] = {
	{ "token absent", "{\"apiKeys\":[{\"apiKeyId\":\"a\"}]}", 1, NULL },
	{ "token empty", "{\"apiKeys\":[],\"paginationToken\":\"\"}", 0, NULL },
	{ "token null", "{\"paginationToken\":null}", 0, NULL },
	{ "token number", "{\"paginationToken\":5}", 0, NULL },
	{ "token present", "{\"paginationToken\":\"p/2==\"}", 0, "p/2==" },
	{ "empty object", "{}", 0, NULL },
	{ "apiKeys null", "{\"apiKeys\":null}", 0, NULL },
	{ "snake_case",
	  "{\"api_keys\":[{\"api_key_id\":\"s1\",\"name\":\"n\","
	  "\"create_time\":\"1970-01-01T00:01:00Z\"}],\"pagination_token\":\"t\"}",
	  1, "t" },
};

static void test_tokens(const struct token_row *rows, size_t n, page_fn fn)
{
	struct reslist *l;
	char *next;
	size_t i;

	for (i = 0; i < n; i++) {
		TEST_CTX(rows[i].what);
		l = reslist_new();
		next = (char *)"sentinel";
		CHECK_EQ_INT(fn(rows[i].body, strlen(rows[i].body), l, &next),
			     0);
		CHECK_EQ_INT(l->n, rows[i].n);
		CHECK_EQ_STR(next, rows[i].next);
		free(next);
		/* a NULL next is allowed */
		CHECK_EQ_INT(fn(rows[i].body, strlen(rows[i].body), l, NULL),
			     0);
		reslist_unref(l);
	}
}

static void test_keys_wrong_envelope(void)
{
	static const char *const bodies[] = {
		"{\"apiKeys\":{}}",
		"{\"apiKeys\":\"x\"}",
		"{\"apiKeys\":1}",
	};
	struct reslist *l = reslist_new();
	char *next;
	size_t i;

	TEST_CTX("apiKeys not an array");
	for (i = 0; i < 3; i++) {
		next = (char *)"sentinel";
		CHECK_EQ_INT(model_parse_keys_page(bodies[i], strlen(bodies[i]),
						   l, &next),
			     -EIO);
		CHECK(next == NULL);
	}
	reslist_unref(l);
}

/* ------------------------------------------------------------------ */
/* Collections and documents                                          */
/* ------------------------------------------------------------------ */

static const char collections_fixture[] =
	"{\"collections\":[{\"collection_id\":\"collection_0a1b\","
	"\"collection_name\":\"SEC filings\",\"created_at\":\"2025-11-13T16:14:38.164829Z\","
	"\"index_configuration\":{\"model_name\":\"grok-embedding-small\"},"
	"\"chunk_configuration\":{\"tokens_configuration\":{\"max_chunk_size_tokens\":512,"
	"\"chunk_overlap_tokens\":64,\"encoding_name\":\"o200k_base\"}},"
	"\"documents_count\":3,\"field_definitions\":[],\"collection_description\":\"a/b\","
	"\"collection_type\":\"text\",\"total_file_size\":\"99\"},"
	"{\"collectionId\":\"collection_2\",\"collectionName\":\"camel\","
	"\"createdAt\":\"2025-01-01T00:00:00Z\",\"documentsCount\":\"7\"},"
	"{\"collection_id\":\"collection_3\",\"documents_count\":-4,\"created_at\":\"bad\"},"
	"{\"collection_id\":\"collection_4\",\"documents_count\":\"x\"},"
	"{\"collection_name\":\"no id\"}],"
	"\"pagination_token\":\"next-page\"}";

static void test_collections(void)
{
	struct reslist *l = reslist_new();
	struct json_object *o;
	char *next = NULL;

	TEST_CTX("collections fixture");
	CHECK_EQ_INT(model_parse_collections_page(collections_fixture,
						  strlen(collections_fixture),
						  l, &next),
		     0);
	CHECK_EQ_STR(next, "next-page");
	free(next);
	CHECK_EQ_INT(l->n, 4);
	if (l->n != 4)
		goto out;
	CHECK_EQ_STR(l->v[0].id, "collection_0a1b");
	CHECK_EQ_STR(l->v[0].raw_name, "SEC filings");
	CHECK_EQ_INT(l->v[0].mtime, 1763050478);
	CHECK_EQ_INT(l->v[0].count, 3);
	CHECK_EQ_INT(l->v[0].size, -1);
	o = check_render(l->v[0].json, l->v[0].json_len);
	CHECK_EQ_STR(
		jstr(o,
		     "chunk_configuration.tokens_configuration.encoding_name"),
		"o200k_base");
	CHECK_EQ_STR(jstr(o, "collection_type"), "text");
	CHECK_EQ_STR(jstr(o, "collection_description"), "a/b");
	json_object_put(o);
	CHECK_EQ_STR(l->v[1].id, "collection_2");
	CHECK_EQ_STR(l->v[1].raw_name, "camel");
	CHECK_EQ_INT(l->v[1].mtime, 1735689600);
	CHECK_EQ_INT(l->v[1].count, 7); /* int as string */
	CHECK_EQ_INT(l->v[2].count, 0); /* negative */
	CHECK_EQ_INT(l->v[2].mtime, 0); /* bad time */
	CHECK_EQ_INT(l->v[3].count, 0); /* not a number */
out:
	reslist_unref(l);
}

static const struct token_row coll_token_rows[] = {
	{ "token absent", "{\"collections\":[]}", 0, NULL },
	{ "token empty",
	  "{\"collections\":[{\"collection_id\":\"c\"}],\"pagination_token\":\"\"}",
	  1, NULL },
	{ "token camel", "{\"paginationToken\":\"c2\"}", 0, "c2" },
	{ "empty object", "{}", 0, NULL },
};

struct doc_row {
	const char *what;
	const char *body;
	int n;
	const char *id, *name;
	int64_t size, mtime;
};

#define DOC(fm)                                   \
	"{\"documents\":[{\"file_metadata\":{" fm \
	"},\"fields\":{\"k\":\"v\"},"             \
	"\"status\":\"DOCUMENT_STATUS_PROCESSED\",\"error_message\":\"\"}]}"

static const struct doc_row doc_rows[] = {
	{ "docs example",
	  DOC("\"file_id\":\"file_1\",\"name\":\"report.pdf\","
	      "\"size_bytes\":\"12345\",\"content_type\":\"application/pdf\","
	      "\"created_at\":\"2025-11-13T16:14:38.164829Z\",\"expires_at\":null,"
	      "\"hash\":\"ab12\",\"upload_status\":\"\",\"processing_status\":\"complete\""),
	  1, "file_1", "report.pdf", 12345, 1763050478 },
	{ "size as number", DOC("\"file_id\":\"f\",\"size_bytes\":42"), 1, "f",
	  "", 42, 0 },
	{ "size as double", DOC("\"file_id\":\"f\",\"size_bytes\":1.5e3"), 1,
	  "f", "", 1500, 0 },
	{ "size bad string", DOC("\"file_id\":\"f\",\"size_bytes\":\"12x\""), 1,
	  "f", "", -1, 0 },
	{ "size missing", DOC("\"file_id\":\"f\""), 1, "f", "", -1, 0 },
	{ "size negative", DOC("\"file_id\":\"f\",\"size_bytes\":\"-5\""), 1,
	  "f", "", -1, 0 },
	{ "size int64 max",
	  DOC("\"file_id\":\"f\",\"size_bytes\":\"9223372036854775807\""), 1,
	  "f", "", INT64_MAX, 0 },
	{ "size overflow",
	  DOC("\"file_id\":\"f\",\"size_bytes\":\"9223372036854775808\""), 1,
	  "f", "", -1, 0 },
	{ "size huge double", DOC("\"file_id\":\"f\",\"size_bytes\":1e300"), 1,
	  "f", "", -1, 0 },
	{ "size bool", DOC("\"file_id\":\"f\",\"size_bytes\":true"), 1, "f", "",
	  -1, 0 },
	{ "size padded", DOC("\"file_id\":\"f\",\"size_bytes\":\" 5\""), 1, "f",
	  "", -1, 0 },
	{ "camelCase",
	  "{\"documents\":[{\"fileMetadata\":{\"fileId\":\"fc\",\"name\":\"n\","
	  "\"sizeBytes\":\"7\",\"createdAt\":\"1970-01-02T00:00:00Z\"}}]}",
	  1, "fc", "n", 7, 86400 },
	{ "no file_metadata", "{\"documents\":[{\"status\":\"x\"}]}", 0, NULL,
	  NULL, 0, 0 },
	{ "file_metadata not object",
	  "{\"documents\":[{\"file_metadata\":\"x\"}]}", 0, NULL, NULL, 0, 0 },
	{ "file_id missing", DOC("\"name\":\"n\""), 0, NULL, NULL, 0, 0 },
	{ "empty list", "{\"documents\":[]}", 0, NULL, NULL, 0, 0 },
	{ "hostile name",
	  DOC("\"file_id\":\"f\",\"name\":\"../../etc/passwd\\n\\u001b\""), 1,
	  "f", "../../etc/passwd\n\x1b", -1, 0 },
};

static void test_documents(void)
{
	struct json_object *o;
	struct reslist *l;
	char *next;
	size_t i;

	for (i = 0; i < sizeof(doc_rows) / sizeof(doc_rows[0]); i++) {
		const struct doc_row *r = &doc_rows[i];

		TEST_CTX(r->what);
		l = reslist_new();
		CHECK_EQ_INT(model_parse_documents_page(
				     r->body, strlen(r->body), l, &next),
			     0);
		CHECK(next == NULL);
		CHECK_EQ_INT(l->n, r->n);
		if (l->n == 1 && r->n == 1) {
			CHECK_EQ_STR(l->v[0].id, r->id);
			CHECK_EQ_STR(l->v[0].raw_name, r->name);
			CHECK_EQ_INT(l->v[0].size, r->size);
			CHECK_EQ_INT(l->v[0].mtime, r->mtime);
			CHECK_EQ_INT(l->v[0].count, 0);
			o = check_render(l->v[0].json, l->v[0].json_len);
			CHECK(has(o, "file_metadata") ||
			      has(o, "fileMetadata"));
			json_object_put(o);
		}
		reslist_unref(l);
	}
}

static const struct token_row doc_token_rows[] = {
	{ "token present", "{\"documents\":[],\"pagination_token\":\"d2\"}", 0,
	  "d2" },
	{ "token empty", "{\"documents\":[],\"pagination_token\":\"\"}", 0,
	  NULL },
	{ "token absent", "{\"documents\":[]}", 0, NULL },
	{ "documents null", "{\"documents\":null}", 0, NULL },
};

/* ------------------------------------------------------------------ */
/* Models                                                             */
/* ------------------------------------------------------------------ */

static const char models_fixture[] =
	"{\"clusterConfigs\":["
	"{\"clusterName\":\"us-east-1\","
	"\"languageModels\":[{\"name\":\"grok-4\",\"version\":\"1\",\"aliases\":[\"grok-4-latest\"],"
	"\"inputModalities\":[\"TEXT\",\"IMAGE\"],\"promptTextTokenPrice\":\"20000\","
	"\"rps\":\"8\",\"maxPromptLength\":256000,\"features\":{\"reasoning\":true}},"
	"{\"name\":\"grok-3\"},{\"version\":\"no name\"},{\"name\":5},\"junk\"],"
	"\"embeddingModels\":[{\"name\":\"grok-embedding-small\"}],"
	"\"imageGenerationModels\":[{\"name\":\"grok-4\"}]},"
	"{\"clusterName\":\"eu-west-1\","
	"\"languageModels\":[{\"name\":\"grok-4\",\"version\":\"2\"}],"
	"\"imageGenerationModels\":[{\"name\":\"grok-2-image\",\"imagePrice\":\"700\"}],"
	"\"audioModels\":[{\"name\":\"grok-voice\"}],"
	"\"videoGenerationModels\":[{\"name\":\"grok-video\"}],"
	"\"futureModels\":[{\"name\":\"grok-future\"}],"
	"\"embeddingModels\":\"not an array\",\"otherThing\":[{\"name\":\"ignored\"}]},"
	"\"not a cluster\","
	"{\"languageModels\":[{\"name\":\"grok-3\"},{\"name\":\"nameless-cluster\"}]}"
	"]}";

struct model_want {
	const char *name;
	const char *type;
	const char *clusters; /* comma separated */
};

static const struct model_want model_wants[] = {
	{ "grok-4", "language", "us-east-1,eu-west-1" },
	{ "grok-3", "language", "us-east-1" },
	{ "grok-embedding-small", "embedding", "us-east-1" },
	{ "grok-2-image", "image", "eu-west-1" },
	{ "grok-voice", "audio", "eu-west-1" },
	{ "grok-video", "video", "eu-west-1" },
	{ "grok-future", "futureModels", "eu-west-1" },
	{ "nameless-cluster", "language", "" },
};
#define NMODELS (sizeof(model_wants) / sizeof(model_wants[0]))

static void check_clusters(struct json_object *o, const char *want)
{
	struct json_object *a = jpath(o, "clusters");
	char got[256] = "";
	size_t i, n, off = 0;

	CHECK(json_object_is_type(a, json_type_array));
	if (!json_object_is_type(a, json_type_array))
		return;
	n = json_object_array_length(a);
	for (i = 0; i < n && off < sizeof(got); i++)
		off += (size_t)snprintf(
			got + off, sizeof(got) - off, "%s%s", i ? "," : "",
			json_object_get_string(
				json_object_array_get_idx(a, i)));
	CHECK_EQ_STR(got, want);
}

static void test_models(void)
{
	struct reslist *l = reslist_new();
	struct json_object *o;
	char *regions = NULL;
	size_t i, rlen = 0;

	TEST_CTX("models fixture");
	CHECK_EQ_INT(model_parse_models(models_fixture, strlen(models_fixture),
					l, &regions, &rlen),
		     0);
	CHECK_EQ_INT(l->n, NMODELS);
	for (i = 0; i < l->n && i < NMODELS; i++) {
		TEST_CTX(model_wants[i].name);
		CHECK_EQ_STR(l->v[i].id, model_wants[i].name);
		CHECK_EQ_STR(l->v[i].raw_name, model_wants[i].name);
		CHECK_EQ_INT(l->v[i].size, -1);
		o = check_render(l->v[i].json, l->v[i].json_len);
		CHECK_EQ_STR(jstr(o, "name"), model_wants[i].name);
		CHECK_EQ_STR(jstr(o, "modelType"), model_wants[i].type);
		check_clusters(o, model_wants[i].clusters);
		if (i == 0) { /* first occurrence wins, fields kept */
			CHECK_EQ_STR(jstr(o, "version"), "1");
			CHECK_EQ_STR(jstr(o, "promptTextTokenPrice"), "20000");
			CHECK_EQ_STR(jstr(o, "aliases.0"), "grok-4-latest");
		}
		json_object_put(o);
	}

	TEST_CTX("models regions");
	o = check_render(regions, rlen);
	CHECK_EQ_STR(jstr(o, "regions.0.clusterName"), "us-east-1");
	CHECK_EQ_STR(jstr(o, "regions.0.models.0"), "grok-4");
	CHECK_EQ_STR(jstr(o, "regions.0.models.1"), "grok-3");
	CHECK_EQ_STR(jstr(o, "regions.0.models.2"), "grok-embedding-small");
	CHECK(jpath(o, "regions.0.models.3") == NULL); /* grok-4 once */
	CHECK_EQ_STR(jstr(o, "regions.1.clusterName"), "eu-west-1");
	CHECK_EQ_STR(jstr(o, "regions.1.models.0"), "grok-4");
	CHECK_EQ_STR(jstr(o, "regions.1.models.4"), "grok-future");
	CHECK(jpath(o, "regions.1.models.5") == NULL);
	CHECK_EQ_STR(jstr(o, "regions.2.clusterName"), "");
	CHECK_EQ_STR(jstr(o, "regions.2.models.1"), "nameless-cluster");
	CHECK(jpath(o, "regions.3") == NULL);
	json_object_put(o);
	free(regions);
	reslist_unref(l);
}

static void test_models_edges(void)
{
	static const char *const ok[] = {
		"{}",
		"{\"clusterConfigs\":[]}",
		"{\"clusterConfigs\":null}",
		"{\"clusterConfigs\":[{}]}",
		"{\"cluster_configs\":[{\"cluster_name\":\"c\",\"language_models\":[{\"name\":\"m\"}]}]}",
	};
	static const int okn[] = { 0, 0, 0, 0, 1 };
	struct reslist *l;
	struct json_object *o;
	char *regions;
	size_t i, rlen;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		TEST_CTX(ok[i]);
		l = reslist_new();
		CHECK_EQ_INT(model_parse_models(ok[i], strlen(ok[i]), l,
						&regions, &rlen),
			     0);
		CHECK_EQ_INT(l->n, okn[i]);
		o = check_render(regions, rlen);
		CHECK(json_object_is_type(jpath(o, "regions"),
					  json_type_array));
		json_object_put(o);
		free(regions);
		if (l->n == 1) {
			o = check_render(l->v[0].json, l->v[0].json_len);
			CHECK_EQ_STR(jstr(o, "modelType"), "language");
			CHECK_EQ_STR(jstr(o, "clusters.0"), "c");
			json_object_put(o);
		}
		/* regions may be NULL */
		CHECK_EQ_INT(
			model_parse_models(ok[i], strlen(ok[i]), l, NULL, NULL),
			0);
		reslist_unref(l);
	}
	TEST_CTX("clusterConfigs not an array");
	l = reslist_new();
	CHECK_EQ_INT(model_parse_models("{\"clusterConfigs\":{}}", 21, l,
					&regions, &rlen),
		     -EIO);
	CHECK(regions == NULL);
	reslist_unref(l);
}

/* ------------------------------------------------------------------ */
/* Usage                                                              */
/* ------------------------------------------------------------------ */

static time_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

struct period_row {
	const char *what;
	time_t now;
	const char *start, *end;
};

static void test_usage_request(void)
{
	const struct period_row rows[] = {
		{ "year end", utc(2026, 12, 31, 23, 0, 0),
		  "2026-12-01 00:00:00", "2027-01-01 00:00:00" },
		{ "mid month", utc(2026, 11, 15, 12, 34, 56),
		  "2026-11-01 00:00:00", "2026-11-16 00:00:00" },
		{ "first second of a month", utc(2026, 1, 1, 0, 0, 0),
		  "2026-01-01 00:00:00", "2026-01-02 00:00:00" },
		{ "last second of a month", utc(2026, 4, 30, 23, 59, 59),
		  "2026-04-01 00:00:00", "2026-05-01 00:00:00" },
		{ "leap Feb 28", utc(2024, 2, 28, 23, 59, 59),
		  "2024-02-01 00:00:00", "2024-02-29 00:00:00" },
		{ "leap Feb 29", utc(2024, 2, 29, 0, 0, 0),
		  "2024-02-01 00:00:00", "2024-03-01 00:00:00" },
		{ "plain Feb 28", utc(2025, 2, 28, 10, 0, 0),
		  "2025-02-01 00:00:00", "2025-03-01 00:00:00" },
		{ "century non-leap", utc(2100, 2, 28, 1, 0, 0),
		  "2100-02-01 00:00:00", "2100-03-01 00:00:00" },
		{ "epoch", 0, "1970-01-01 00:00:00", "1970-01-02 00:00:00" },
		{ "before epoch", -1, "1969-12-01 00:00:00",
		  "1970-01-01 00:00:00" },
	};
	struct json_object *o;
	char *body;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		TEST_CTX(rows[i].what);
		CHECK_EQ_INT(model_usage_request(rows[i].now, &body), 0);
		o = json_tokener_parse(body);
		CHECK(json_object_is_type(o, json_type_object));
		CHECK_EQ_STR(jstr(o, "analyticsRequest.timeRange.startTime"),
			     rows[i].start);
		CHECK_EQ_STR(jstr(o, "analyticsRequest.timeRange.endTime"),
			     rows[i].end);
		CHECK_EQ_STR(jstr(o, "analyticsRequest.timeRange.timezone"),
			     "Etc/GMT");
		CHECK_EQ_STR(jstr(o, "analyticsRequest.timeUnit"),
			     "TIME_UNIT_DAY");
		CHECK_EQ_STR(jstr(o, "analyticsRequest.values.0.name"), "usd");
		CHECK_EQ_STR(jstr(o, "analyticsRequest.values.0.aggregation"),
			     "AGGREGATION_SUM");
		CHECK(jpath(o, "analyticsRequest.values.1") == NULL);
		CHECK_EQ_STR(jstr(o, "analyticsRequest.groupBy.0"),
			     "description");
		CHECK(json_object_is_type(jpath(o, "analyticsRequest.filters"),
					  json_type_array));
		CHECK_EQ_INT(json_object_array_length(
				     jpath(o, "analyticsRequest.filters")),
			     0);
		json_object_put(o);
		free(body);
	}
}

static const char usage_fixture[] =
	"{\"timeSeries\":[{\"group\":[\"grok-4 tokens\"],\"groupLabels\":[\"grok-4\"],"
	"\"dataPoints\":[{\"timestamp\":\"2025-10-01T00:00:00Z\",\"values\":[0.7597]},"
	"{\"timestamp\":\"2025-10-02T00:00:00Z\",\"values\":[0.25,99]}]},"
	"{\"group\":[\"x\"],\"dataPoints\":[{\"values\":[1]},{\"values\":[]},"
	"{\"values\":[\"0.5\"]},{\"values\":[null]},{\"values\":[\"abc\"]},{},\"junk\","
	"{\"values\":\"7\"}]},"
	"{\"dataPoints\":\"nope\"},\"junk\"],"
	"\"limitReached\":false,\"futureField\":1}";

struct usage_row {
	const char *what;
	const char *body;
	const char *total_text; /* how totalUsd appears in the rendering */
	int limit;
	int series;
};

static const struct usage_row usage_rows[] = {
	{ "fixture", usage_fixture, "\"totalUsd\": 2.5097,", 0, 4 },
	{ "float noise rounded",
	  "{\"timeSeries\":[{\"dataPoints\":[{\"values\":[0.1]},"
	  "{\"values\":[0.2]}]}]}",
	  "\"totalUsd\": 0.3,", 0, 1 },
	{ "whole number",
	  "{\"timeSeries\":[{\"dataPoints\":[{\"values\":[3]}]}],"
	  "\"limitReached\":true}",
	  "\"totalUsd\": 3.0,", 1, 1 },
	{ "empty object", "{}", "\"totalUsd\": 0.0,", 0, 0 },
	{ "snake_case",
	  "{\"time_series\":[{\"data_points\":[{\"values\":[1.5]}]}],"
	  "\"limit_reached\":true}",
	  "\"totalUsd\": 1.5,", 1, 1 },
	{ "limitReached wrong type", "{\"limitReached\":\"true\"}",
	  "\"totalUsd\": 0.0,", 0, 0 },
	{ "negative zero",
	  "{\"timeSeries\":[{\"dataPoints\":[{\"values\":[-0.0000001]}]}]}",
	  "\"totalUsd\": 0.0,", 0, 1 },
	{ "overflow to inf",
	  "{\"timeSeries\":[{\"dataPoints\":[{\"values\":[1e308]},"
	  "{\"values\":[1e308]}]}]}",
	  "\"totalUsd\": null,", 0, 1 },
};

static void test_usage_render(void)
{
	time_t now = utc(2026, 12, 31, 23, 0, 0);
	struct json_object *o;
	char *out = NULL;
	size_t i, len = 0;

	for (i = 0; i < sizeof(usage_rows) / sizeof(usage_rows[0]); i++) {
		const struct usage_row *r = &usage_rows[i];

		TEST_CTX(r->what);
		CHECK_EQ_INT(model_render_usage(now, r->body, strlen(r->body),
						&out, &len),
			     0);
		o = check_render(out, len);
		CHECK(out && strstr(out, r->total_text) != NULL);
		CHECK_EQ_STR(jstr(o, "startTime"), "2026-12-01 00:00:00");
		CHECK_EQ_STR(jstr(o, "endTime"), "2027-01-01 00:00:00");
		CHECK_EQ_STR(jstr(o, "timezone"), "Etc/GMT");
		CHECK_EQ_STR(jstr(o, "timeUnit"), "TIME_UNIT_DAY");
		CHECK(json_object_is_type(jpath(o, "limitReached"),
					  json_type_boolean));
		CHECK_EQ_INT(json_object_get_boolean(jpath(o, "limitReached")),
			     r->limit);
		CHECK(json_object_is_type(jpath(o, "timeSeries"),
					  json_type_array));
		CHECK_EQ_INT(json_object_array_length(jpath(o, "timeSeries")),
			     r->series);
		if (i == 0) {
			CHECK_EQ_STR(jstr(o, "timeSeries.0.groupLabels.0"),
				     "grok-4");
			CHECK(fabs(json_object_get_double(jpath(o, "totalUsd")) -
				   2.5097) < 1e-9);
			CHECK(!has(o, "futureField")); /* the file has its own
							  shape */
		}
		json_object_put(o);
		free(out);
		out = NULL;
	}
	TEST_CTX("timeSeries not an array");
	CHECK_EQ_INT(
		model_render_usage(now, "{\"timeSeries\":{}}", 17, &out, &len),
		-EIO);
	CHECK(out == NULL);
}

/* ------------------------------------------------------------------ */
/* Billing                                                            */
/* ------------------------------------------------------------------ */

static const char balance_fixture[] =
	"{\"changes\":[{\"teamId\":\"t\",\"changeOrigin\":\"PURCHASE\","
	"\"topupStatus\":\"FAILED_TO_GEMNERATE_INVOICE\",\"amount\":{\"val\":\"-1000\"},"
	"\"createTime\":\"2025-11-01T00:00:00Z\"}],\"total\":{\"val\":\"-1000\"}}";
static const char limits_fixture[] =
	"{\"spendingLimits\":{\"hardSlAuto\":{\"val\":\"100000\"},"
	"\"effectiveHardSl\":{\"val\":\"100000\"},\"softSl\":{\"val\":\"20000\"},"
	"\"effectiveSl\":{\"val\":\"20000\"}}}";
static const char preview_fixture[] =
	"{\"coreInvoice\":{\"lines\":[],\"amountBeforeVat\":\"1234\","
	"\"prepaidCredits\":{\"val\":\"-4500\"}},\"effectiveSpendingLimit\":\"20000\","
	"\"defaultCredits\":\"0\",\"billingCycle\":{\"year\":2025,\"month\":11}}";

struct cents_row {
	const char *what;
	const char *balance;
	long long cents;
};

static const struct cents_row cents_rows[] = {
	{ "credit left (negative)", "{\"total\":{\"val\":\"-1000\"}}", 1000 },
	{ "positive", "{\"total\":{\"val\":\"250\"}}", 250 },
	{ "number val", "{\"total\":{\"val\":-5}}", 5 },
	{ "bare string total", "{\"total\":\"-77\"}", 77 },
	{ "empty total (proto3 zero)", "{\"total\":{}}", 0 },
	{ "missing total", "{\"changes\":[]}", 0 },
	{ "bad val", "{\"total\":{\"val\":\"abc\"}}", 0 },
	{ "val null", "{\"total\":{\"val\":null}}", 0 },
	{ "INT64_MIN", "{\"total\":{\"val\":\"-9223372036854775808\"}}",
	  INT64_MAX },
	{ "overflow", "{\"total\":{\"val\":\"-99999999999999999999\"}}", 0 },
	{ "total array", "{\"total\":[1]}", 0 },
};

static void test_billing(void)
{
	struct json_object *o;
	char *out = NULL;
	size_t i, len = 0;

	TEST_CTX("billing fixture");
	CHECK_EQ_INT(render_billing3(balance_fixture, strlen(balance_fixture),
				     limits_fixture, strlen(limits_fixture),
				     preview_fixture, strlen(preview_fixture),
				     &out, &len),
		     0);
	o = check_render(out, len);
	CHECK_EQ_INT(json_object_get_int64(jpath(o, "prepaidCreditCents")),
		     1000);
	CHECK(json_object_is_type(jpath(o, "prepaidCreditCents"),
				  json_type_int));
	CHECK_EQ_STR(jstr(o, "balance.changes.0.topupStatus"),
		     "FAILED_TO_GEMNERATE_INVOICE");
	CHECK_EQ_STR(jstr(o, "spendingLimits.softSl.val"), "20000");
	CHECK(!has(o, "spendingLimits.spendingLimits"));
	CHECK(!has(o, "errors"));
	CHECK_EQ_STR(jstr(o, "invoicePreview.coreInvoice.prepaidCredits.val"),
		     "-4500");
	CHECK_EQ_INT(json_object_get_int(
			     jpath(o, "invoicePreview.billingCycle.month")),
		     11);
	json_object_put(o);
	free(out);

	for (i = 0; i < sizeof(cents_rows) / sizeof(cents_rows[0]); i++) {
		TEST_CTX(cents_rows[i].what);
		out = NULL;
		CHECK_EQ_INT(render_billing3(cents_rows[i].balance,
					     strlen(cents_rows[i].balance),
					     "{}", 2, "{}", 2, &out, &len),
			     0);
		o = check_render(out, len);
		CHECK_EQ_INT(
			json_object_get_int64(jpath(o, "prepaidCreditCents")),
			cents_rows[i].cents);
		CHECK(has(o, "spendingLimits")); /* null when absent */
		CHECK(jpath(o, "spendingLimits") == NULL);
		json_object_put(o);
		free(out);
	}

	TEST_CTX("billing with unavailable parts");
	out = NULL;
	CHECK_EQ_INT(render_billing3(NULL, 0,
				     "{\"spending_limits\":{\"softSl\":{}}}",
				     33, NULL, 0, &out, &len),
		     0);
	o = check_render(out, len);
	CHECK(has(o, "prepaidCreditCents") &&
	      jpath(o, "prepaidCreditCents") == NULL);
	CHECK(has(o, "balance") && jpath(o, "balance") == NULL);
	CHECK_EQ_STR(jstr(o, "errors.balance"), "unavailable");
	CHECK_EQ_STR(jstr(o, "errors.invoicePreview"), "unavailable");
	CHECK(!has(o, "errors.spendingLimits"));
	CHECK(has(o, "invoicePreview") && jpath(o, "invoicePreview") == NULL);
	CHECK(json_object_is_type(jpath(o, "spendingLimits.softSl"),
				  json_type_object));
	json_object_put(o);
	free(out);

	TEST_CTX("billing with a refused part and its message");
	{
		struct model_billing b = {
			{ balance_fixture, NULL, preview_fixture },
			{ strlen(balance_fixture), 0, strlen(preview_fixture) },
			{ NULL, "HTTP 403: no postpaid plan", NULL },
		};

		out = NULL;
		CHECK_EQ_INT(model_render_billing(&b, &out, &len), 0);
		o = check_render(out, len);
		CHECK_EQ_INT(
			json_object_get_int64(jpath(o, "prepaidCreditCents")),
			1000);
		CHECK(has(o, "spendingLimits") &&
		      jpath(o, "spendingLimits") == NULL);
		CHECK_EQ_STR(jstr(o, "errors.spendingLimits"),
			     "HTTP 403: no postpaid plan");
		CHECK(!has(o, "errors.balance") &&
		      !has(o, "errors.invoicePreview"));
		json_object_put(o);
		free(out);
	}

	TEST_CTX("billing malformed preview");
	out = NULL;
	CHECK_EQ_INT(
		render_billing3("{}", 2, "{}", 2, "{\"x\":", 5, &out, &len),
		-EIO);
	CHECK(out == NULL);
}

/* ------------------------------------------------------------------ */
/* Times                                                              */
/* ------------------------------------------------------------------ */

struct time_row {
	const char *s;
	int rc;
	long long t;
};

static const struct time_row time_rows[] = {
	{ "2025-11-13T16:14:38.164829Z", 0, 1763050478 },
	{ "2025-11-13T16:14:38Z", 0, 1763050478 },
	{ "2025-11-13T17:14:38+01:00", 0, 1763050478 },
	{ "2025-11-13T11:14:38.5-05:00", 0, 1763050478 },
	{ "2025-11-14T01:44:38.000+09:30", 0, 1763050478 },
	{ "2025-11-13t16:14:38z", 0, 1763050478 },
	{ "2025-11-13 16:14:38Z", 0, 1763050478 },
	{ "1970-01-01T00:00:00Z", 0, 0 },
	{ "2000-02-29T00:00:00Z", 0, 951782400 },
	{ "2016-12-31T23:59:60Z", 0, 1483228800 }, /* leap second */
	{ "0001-01-01T00:00:00Z", 0, -62135596800LL },
	{ "9999-12-31T23:59:59Z", 0, 253402300799LL },
	{ "1762345678", 0, 1762345678 },
	{ "0", 0, 0 },
	{ "-1", 0, -1 },
	{ "", -EINVAL, 0 },
	{ "abc", -EINVAL, 0 },
	{ "12a", -EINVAL, 0 },
	{ "1.5", -EINVAL, 0 },
	{ " 12", -EINVAL, 0 },
	{ "99999999999999999999", -EINVAL, 0 },
	{ "2025-11-13", -EINVAL, 0 },
	{ "2025-11-13T16:14:38", -EINVAL, 0 }, /* no zone */
	{ "2025-11-13T16:14Z", -EINVAL, 0 },
	{ "2025-11-13T16:14:38.Z", -EINVAL, 0 },
	{ "2025-11-13T16:14:38Zjunk", -EINVAL, 0 },
	{ "2025-11-13T16:14:38+0100", -EINVAL, 0 },
	{ "2025-11-13T16:14:38+01", -EINVAL, 0 },
	{ "2025-11-13T16:14:38+24:00", -EINVAL, 0 },
	{ "2025-13-01T00:00:00Z", -EINVAL, 0 },
	{ "2025-00-01T00:00:00Z", -EINVAL, 0 },
	{ "2025-02-29T00:00:00Z", -EINVAL, 0 },
	{ "1900-02-29T00:00:00Z", -EINVAL, 0 },
	{ "2024-04-31T00:00:00Z", -EINVAL, 0 },
	{ "2024-04-00T00:00:00Z", -EINVAL, 0 },
	{ "2024-04-01T24:00:00Z", -EINVAL, 0 },
	{ "2024-04-01T23:60:00Z", -EINVAL, 0 },
	{ "2024-04-01T23:59:61Z", -EINVAL, 0 },
	{ "2024/04/01T00:00:00Z", -EINVAL, 0 },
	{ "+2024-04-01T00:00:00Z", -EINVAL, 0 },
	{ "2", 0, 2 },
	{ "2025-1", -EINVAL, 0 },
};

static void test_parse_time(void)
{
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof(time_rows) / sizeof(time_rows[0]); i++) {
		TEST_CTX(time_rows[i].s);
		t = -12345;
		CHECK_EQ_INT(model_parse_time(time_rows[i].s, &t),
			     time_rows[i].rc);
		if (time_rows[i].rc == 0)
			CHECK_EQ_INT(t, time_rows[i].t);
	}
	TEST_CTX("NULL time");
	CHECK_EQ_INT(model_parse_time(NULL, &t), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                       */
/* ------------------------------------------------------------------ */

struct err_row {
	const char *what;
	const char *body;
	size_t len;
	size_t msgsz;
	const char *want;
};

static const struct err_row err_rows[] = {
	{ "gateway shape",
	  "{\"code\":\"Client specified an invalid argument\","
	  "\"error\":\"Incorrect API key provided: xa***cd.\"}",
	  LEN_STR, 256, "Incorrect API key provided: xa***cd." },
	{ "message", "{\"message\":\"Cannot find API key\"}", LEN_STR, 256,
	  "Cannot find API key" },
	{ "error.message",
	  "{\"error\":{\"code\":\"unauthorized\",\"message\":\"bad key\"}}",
	  LEN_STR, 256, "bad key" },
	{ "empty error, message", "{\"error\":\"\",\"message\":\"m\"}", LEN_STR,
	  256, "m" },
	{ "error wins over message", "{\"error\":\"e\",\"message\":\"m\"}",
	  LEN_STR, 256, "e" },
	{ "plain text", "Not Found", LEN_STR, 256, "Not Found" },
	{ "401 text, first line",
	  "Invalid bearer token. Please ensure you use a valid management key.\nmore",
	  LEN_STR, 256,
	  "Invalid bearer token. Please ensure you use a valid management key." },
	{ "empty", "", 0, 256, "" },
	{ "NULL", NULL, 0, 256, "" },
	{ "blank lines first", "  \r\n\n  text  \nsecond", LEN_STR, 256,
	  "text" },
	{ "JSON without message", "{\"code\":\"Not Found\"}", LEN_STR, 256,
	  "{\"code\":\"Not Found\"}" },
	{ "message wrong type", "{\"error\":5,\"message\":[]}", LEN_STR, 256,
	  "{\"error\":5,\"message\":[]}" },
	{ "multi-line message", "{\"error\":\"line1\\nline2\"}", LEN_STR, 256,
	  "line1" },
	{ "control bytes dropped",
	  "a\x01"
	  "b\x1b[31mc\x7f",
	  LEN_STR, 256, "ab[31mc" },
	{ "escapes in JSON dropped", "{\"error\":\"x\\u001b[2Jy\"}", LEN_STR,
	  256, "x[2Jy" },
	{ "truncated", "abcdefgh", LEN_STR, 5, "abcd" },
	{ "truncated at UTF-8", "a\xc3\xa9\xc3\xa9", LEN_STR, 4, "a\xc3\xa9" },
	{ "truncated inside UTF-8", "a\xc3\xa9x", LEN_STR, 3, "a" },
	{ "truncated inside 4-byte", "\xf0\x9f\x98\x80", LEN_STR, 4, "" },
	{ "size one", "abc", LEN_STR, 1, "" },
	{ "not NUL-terminated", "Not FoundXXXX", 9, 256, "Not Found" },
	{ "html", "<html>\n<body>502</body>", LEN_STR, 256, "<html>" },
	{ "truncated JSON", "{\"error\":\"x", LEN_STR, 256, "{\"error\":\"x" },
};

static void test_error_message(void)
{
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *r = &err_rows[i];

		TEST_CTX(r->what);
		memset(msg, 'Z', sizeof(msg));
		model_error_message(r->body,
				    r->body ? blen(r->body, r->len) : 0, msg,
				    r->msgsz);
		CHECK_EQ_STR(msg, r->want);
	}
	TEST_CTX("msgsz zero");
	msg[0] = 'Q';
	model_error_message("x", 1, msg, 0);
	CHECK(msg[0] == 'Q');
}

/* ------------------------------------------------------------------ */
/* Upload answers                                                     */
/* ------------------------------------------------------------------ */

struct upload_row {
	const char *what;
	const char *body;
	int rc;		/* 0: a document; 1: id (or none) only */
	const char *id; /* out.id (rc 0) or *id (rc 1); NULL: none */
};

static const struct upload_row upload_rows[] = {
	{ "document",
	  "{\"file_metadata\":{\"file_id\":\"file_1\",\"name\":\"a.txt\","
	  "\"size_bytes\":\"5\"},\"status\":\"DOCUMENT_STATUS_PROCESSING\"}",
	  0, "file_1" },
	{ "empty object", "{}", 1, NULL },
	{ "empty body", "", 1, NULL },
	{ "not JSON", "<html>ok</html>", 1, NULL },
	{ "file_id only", "{\"file_id\":\"file_2\"}", 1, "file_2" },
	{ "fileId only", "{\"fileId\":\"file_3\"}", 1, "file_3" },
	{ "id only", "{\"id\":\"file_4\"}", 1, "file_4" },
	{ "metadata without a name",
	  "{\"file_metadata\":{\"file_id\":\"file_5\"}}", 1, "file_5" },
	{ "name without an id", "{\"file_metadata\":{\"name\":\"a.txt\"}}", 1,
	  NULL },
	{ "wrong types", "{\"file_id\":5,\"id\":[]}", 1, NULL },
};

static void test_upload_answer(void)
{
	for (size_t i = 0; i < sizeof(upload_rows) / sizeof(upload_rows[0]);
	     i++) {
		const struct upload_row *r = &upload_rows[i];
		struct res out = { 0 };
		char *id = (char *)"sentinel";
		int rc;

		TEST_CTX(r->what);
		rc = model_parse_upload_answer(r->body, strlen(r->body), &out,
					       &id);
		CHECK_EQ_INT(rc, r->rc);
		if (rc == 0) {
			CHECK(id == NULL);
			CHECK_EQ_STR(out.id, r->id);
			CHECK_EQ_STR(out.raw_name, "a.txt");
		} else if (r->id) {
			CHECK(id != NULL);
			CHECK_EQ_STR(id, r->id);
		} else {
			CHECK(id == NULL);
		}
		free(rc == 1 ? id : NULL);
		res_release(&out);
	}
}

/* ------------------------------------------------------------------ */
/* Rotation with a grace period                                       */
/* ------------------------------------------------------------------ */

static void test_rotate_grace(void)
{
	static const char cur[] = "{\"apiKeyId\":\"k1\",\"name\":\"ci\"}";
	static const struct {
		const char *what, *in;
		int rc;
		const char *body;
	} rows[] = {
		{ "rotate alone", "{\"rotate\":true}", 0, NULL },
		{ "with a grace period",
		  "{\"rotate\":true,\"oldSecretExpireTime\":\"2030-01-02T03:04:05Z\"}",
		  0,
		  "{\n  \"oldSecretExpireTime\": \"2030-01-02T03:04:05Z\"\n}\n" },
		{ "grace without rotate",
		  "{\"oldSecretExpireTime\":\"2030-01-02T03:04:05Z\"}", -EINVAL,
		  NULL },
		{ "grace not a time",
		  "{\"rotate\":true,\"oldSecretExpireTime\":\"tomorrow\"}",
		  -EINVAL, NULL },
		{ "grace in Unix seconds",
		  "{\"rotate\":true,\"oldSecretExpireTime\":\"1900000000\"}",
		  -EINVAL, NULL },
		{ "grace a number",
		  "{\"rotate\":true,\"oldSecretExpireTime\":5}", -EINVAL,
		  NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct model_change c;

		TEST_CTX(rows[i].what);
		CHECK_EQ_INT(model_key_update(cur, strlen(cur), rows[i].in,
					      strlen(rows[i].in), &c),
			     rows[i].rc);
		if (rows[i].rc == 0) {
			CHECK(c.rotate);
			CHECK(c.body == NULL);
			if (rows[i].body)
				CHECK_EQ_STR(c.rotate_body, rows[i].body);
			else
				CHECK(c.rotate_body == NULL);
		} else {
			CHECK_EQ_STR(c.field, "oldSecretExpireTime");
		}
		model_change_release(&c);
	}
}

static void test_collection_count(void)
{
	static const struct {
		const char *body;
		int64_t count;
		const char *want; /* expected member text in the rendering */
	} rows[] = {
		{ "{\"collection_id\":\"c1\",\"collection_name\":\"a\",\"documents_count\":3}",
		  4, "\"documents_count\":4" },
		{ "{\"collection_id\":\"c1\",\"collection_name\":\"a\",\"documents_count\":\"3\"}",
		  2, "\"documents_count\":\"2\"" },
		{ "{\"collectionId\":\"c1\",\"collectionName\":\"a\",\"documentsCount\":1}",
		  0, "\"documentsCount\":0" },
		{ "{\"collection_id\":\"c1\",\"collection_name\":\"a\"}", 1,
		  "\"documents_count\":1" },
		{ "{\"collection_id\":\"c1\",\"collection_name\":\"a\",\"documents_count\":0}",
		  -1, "\"documents_count\":0" },
	};

	TEST_CTX(
		"collection documents_count is set in place, in the server's spelling and type");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct res r;
		char *flat = NULL;

		CHECK_EQ_INT(model_parse_collection(rows[i].body,
						    strlen(rows[i].body), &r),
			     0);
		CHECK_EQ_INT(model_collection_set_count(&r, rows[i].count), 0);
		CHECK_EQ_INT(r.count, rows[i].count < 0 ? 0 : rows[i].count);
		CHECK_EQ_INT(r.json_len, strlen(r.json));
		/* Compare without the pretty printer's spaces. */
		flat = calloc(1, r.json_len + 1);
		for (size_t j = 0, k = 0; flat && j < r.json_len; j++)
			if (r.json[j] != ' ' && r.json[j] != '\n')
				flat[k++] = r.json[j];
		CHECK(flat && strstr(flat, rows[i].want));
		free(flat);
		res_release(&r);
	}
}

/* Compact JSON text (no spaces or newlines) for substring checks. */
static char *flat_json(const char *s)
{
	char *f = calloc(1, strlen(s) + 1);

	for (size_t j = 0, k = 0; f && s[j]; j++)
		if (s[j] != ' ' && s[j] != '\n')
			f[k++] = s[j];
	return f;
}

static void test_collection_update(void)
{
	static const char cur[] =
		"{\"collection_id\":\"c1\",\"collection_name\":\"contracts\","
		"\"collection_description\":\"d\",\"field_definitions\":["
		"{\"key\":\"author\",\"required\":false},{\"key\":\"year\",\"required\":true}]}";
	static const struct {
		const char *what, *in;
		int rc;
		/* substring of the flattened body; NULL: no body */
		const char *want;
		const char *field; /* on -EINVAL */
	} rows[] = {
		{ "unchanged definitions: no body",
		  "{\"field_definitions\":[{\"key\":\"author\",\"required\":false},"
		  "{\"key\":\"year\",\"required\":true}]}",
		  0, NULL, NULL },
		{ "a new definition is an ADD",
		  "{\"field_definitions\":[{\"key\":\"author\",\"required\":false},"
		  "{\"key\":\"year\",\"required\":true},{\"key\":\"lang\"}]}",
		  0,
		  "{\"field_definition_updates\":[{\"field_definition\":{\"key\":\"lang\"},"
		  "\"operation\":\"FIELD_DEFINITION_ADD\"}]}",
		  NULL },
		{ "a key left out is a DELETE",
		  "{\"field_definitions\":[{\"key\":\"year\",\"required\":true}]}",
		  0,
		  "\"field_definition\":{\"key\":\"author\",\"required\":false},"
		  "\"operation\":\"FIELD_DEFINITION_DELETE\"",
		  NULL },
		{ "a changed definition is an ADD (upsert), with other fields",
		  "{\"collectionDescription\":\"e\",\"fieldDefinitions\":["
		  "{\"key\":\"author\",\"required\":false,\"description\":\"who\"},"
		  "{\"key\":\"year\",\"required\":true}]}",
		  0,
		  "{\"key\":\"author\",\"required\":false,\"description\":\"who\"},"
		  "\"operation\":\"FIELD_DEFINITION_ADD\"}],\"collection_description\":\"e\"",
		  NULL },
		{ "definitions that are not a list",
		  "{\"field_definitions\":{}}", -EINVAL, NULL,
		  "field_definitions" },
		{ "a definition without a key",
		  "{\"field_definitions\":[{\"required\":true}]}", -EINVAL,
		  NULL, "field_definitions" },
		{ "one key twice",
		  "{\"field_definitions\":[{\"key\":\"a\"},{\"key\":\"a\"}]}",
		  -EINVAL, NULL, "field_definitions" },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct model_change c;
		char *flat;

		TEST_CTX(rows[i].what);
		CHECK_EQ_INT(model_collection_update(cur, strlen(cur),
						     rows[i].in,
						     strlen(rows[i].in), &c),
			     rows[i].rc);
		if (rows[i].field)
			CHECK_EQ_STR(c.field, rows[i].field);
		if (!rows[i].want) {
			CHECK(c.body == NULL);
		} else {
			flat = c.body ? flat_json(c.body) : NULL;
			CHECK(flat && strstr(flat, rows[i].want));
			if (flat && !strstr(flat, rows[i].want))
				fprintf(stderr, "body: %s\n", flat);
			free(flat);
		}
		model_change_release(&c);
	}
}

static void test_collection_create(void)
{
	static const struct {
		const char *what, *in;
		int rc;
		const char *want, *field;
	} rows[] = {
		{ "options pass through, the name is the file's",
		  "{\"indexConfiguration\":{\"model_name\":\"m\"},\"metric_space\":\"HNSW_METRIC_COSINE\","
		  "\"field_definitions\":[{\"key\":\"a\",\"required\":true}]}",
		  0, "\"collection_name\":\"docs\"", NULL },
		{ "camelCase is sent snake_case",
		  "{\"indexConfiguration\":{\"model_name\":\"m\"}}", 0,
		  "\"index_configuration\":{\"model_name\":\"m\"}", NULL },
		{ "the same name may be given",
		  "{\"collection_name\":\"docs\"}", 0,
		  "{\"collection_name\":\"docs\"}", NULL },
		{ "another name is refused", "{\"collection_name\":\"x\"}",
		  -EINVAL, NULL, "collection_name" },
		{ "unknown field", "{\"documents_count\":1}", -EINVAL, NULL,
		  "documents_count" },
		{ "wrong type", "{\"metric_space\":1}", -EINVAL, NULL,
		  "metric_space" },
		{ "a field twice",
		  "{\"metric_space\":\"A\",\"metricSpace\":\"B\"}", -EINVAL,
		  NULL, "metricSpace" },
		{ "definitions without keys", "{\"field_definitions\":[{}]}",
		  -EINVAL, NULL, "field_definitions" },
		{ "empty input", "  \n", -ENODATA, NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct model_change c;
		char *flat;

		TEST_CTX(rows[i].what);
		CHECK_EQ_INT(model_collection_create("docs", rows[i].in,
						     strlen(rows[i].in), &c),
			     rows[i].rc);
		if (rows[i].field)
			CHECK_EQ_STR(c.field, rows[i].field);
		if (rows[i].want) {
			flat = c.body ? flat_json(c.body) : NULL;
			CHECK(flat && strstr(flat, rows[i].want));
			free(flat);
		} else {
			CHECK(c.body == NULL);
		}
		model_change_release(&c);
	}
}

int main(void)
{
	test_malformed();
	test_unterminated();
	test_validation();
	test_keys();
	test_tokens(key_token_rows,
		    sizeof(key_token_rows) / sizeof(key_token_rows[0]),
		    model_parse_keys_page);
	test_keys_wrong_envelope();
	test_collections();
	test_tokens(coll_token_rows,
		    sizeof(coll_token_rows) / sizeof(coll_token_rows[0]),
		    model_parse_collections_page);
	test_documents();
	test_tokens(doc_token_rows,
		    sizeof(doc_token_rows) / sizeof(doc_token_rows[0]),
		    model_parse_documents_page);
	test_models();
	test_models_edges();
	test_usage_request();
	test_usage_render();
	test_billing();
	test_upload_answer();
	test_rotate_grace();
	test_parse_time();
	test_error_message();
	test_collection_count();
	test_collection_update();
	test_collection_create();
	return test_done();
}
