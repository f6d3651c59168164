/*
 * fuzz_model.c - libFuzzer target for model.h: server JSON -> structs and
 * renderings, user JSON -> request bodies.
 *
 * Input: one selector byte (taken modulo SEL_COUNT) picks the entry point;
 * the rest is its input. Entry points that take several strings get them as
 * NUL-separated parts (see each case). Bodies are passed in buffers of their
 * exact length. Beyond "no crash, no leak, no UB" every result is checked:
 * renderings are one JSON object ending in exactly one '\n', list entries
 * have an id and re-parse to themselves, error codes are the documented ones.
 * The drivers of the write helpers (model_body.c) are in fuzz_model_body.c.
 * The seeds in corpus/model/ are made by make_corpus.py.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "model.h"
#include "reslist.h"
#include "fuzz.h"
#include "fuzz_model.h"

enum sel {
	SEL_VALIDATION,	      /* body */
	SEL_KEYS_PAGE,	      /* body */
	SEL_COLLECTIONS_PAGE, /* body */
	SEL_DOCUMENTS_PAGE,   /* body */
	SEL_MODELS,	      /* body */
	SEL_USAGE,	      /* body \0 now (decimal; default 2026-01-15) */
	SEL_BILLING,	/* balance \0 limits \0 preview (empty/missing: NULL) */
	SEL_ERROR,	/* body */
	SEL_TIME,	/* string (cut at the first NUL) */
	SEL_KEY,	/* body */
	SEL_COLLECTION, /* body */
	SEL_DOCUMENT,	/* body */
	SEL_KEY_CREATE, /* name \0 input */
	SEL_KEY_UPDATE, /* current rendering \0 input */
	SEL_COLLECTION_UPDATE, /* current rendering \0 input */
	SEL_KEY_WITH_SECRET,   /* rendering \0 secret */
	SEL_COUNTERS,	       /* section \0 name \0 section \0 name ... */
	SEL_NAME_BODIES,       /* name */
	SEL_USAGE_MONTH,       /* body \0 now \0 year \0 month (decimal) */
	SEL_DOCUMENT_STATUS,   /* body */
	SEL_PRETTY,	       /* body */
	SEL_AUDIT_PAGE,	       /* body */
	SEL_SEARCH,	       /* body (fuzz_model_account.c) */
	SEL_INVOICES,	       /* body */
	SEL_LIMITS,	       /* body */
	SEL_LIMITS_UPDATE,     /* current rendering \0 input */
	SEL_SEARCH_QUERY,      /* file name (cut at the first NUL) */
	SEL_USAGE_SVG,	       /* the usage file */
	SEL_FIELDS, /* user.xai.fields value \0 collection \0 document
		       (fuzz_model_fields.c) */
	SEL_COUNT
};

#define DEFAULT_NOW 1768478400 /* 2026-01-15T12:00:00Z */

/* ------------------------------------------------------------------ */
/* Checks                                                             */
/* ------------------------------------------------------------------ */

/*
 * Parse a rendering of ours: the whole text must be one JSON object. Depth
 * 64, not json-c's 32: a rendering may nest a server value one level deeper
 * than the server sent it (billing, usage). Returns a reference to put.
 */
struct json_object *fm_reparse(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *o;

	FUZZ_CHECK(tok != NULL);
	o = json_tokener_parse_ex(tok, s, (int)len);
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(json_tokener_get_error(tok) == json_tokener_success);
	FUZZ_CHECK(json_object_is_type(o, json_type_object));
	/* only the final '\n' (and the pretty printer's spaces) may follow */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		FUZZ_CHECK(s[i] == '\n' || s[i] == ' ');
	json_tokener_free(tok);
	return o;
}

/* A file rendering: NUL-terminated at len, one object, exactly one final '\n'. */
struct json_object *fm_check_rendering(const char *s, size_t len)
{
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(strlen(s) == len);
	FUZZ_CHECK(len >= 3);
	FUZZ_CHECK(s[len - 1] == '\n' && s[len - 2] != '\n');
	return fm_reparse(s, len);
}

/* A request body: compact or pretty, one object; returns a reference. */
struct json_object *fm_check_body(const char *s)
{
	FUZZ_CHECK(s != NULL);
	return fm_reparse(s, strlen(s));
}

const char *fm_member_str(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The string member k equals want, byte for byte (NUL bytes too). */
int fm_member_is(struct json_object *o, const char *k, const char *want)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) &&
	       json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == strlen(want) &&
	       memcmp(json_object_get_string(v), want, strlen(want)) == 0;
}

enum kind {
	KIND_KEY,
	KIND_COLLECTION,
	KIND_DOCUMENT,
	KIND_MODEL
};

/* Parse one rendering again as a single object of its kind. */
static int parse_single(enum kind k, const char *json, size_t len,
			struct res *out)
{
	char *secret = NULL;
	int rc;

	switch (k) {
	case KIND_KEY:
		rc = model_parse_key(json, len, out, &secret);
		FUZZ_CHECK(secret == NULL); /* it was taken out of the json */
		return rc;
	case KIND_COLLECTION:
		return model_parse_collection(json, len, out);
	case KIND_DOCUMENT:
		return model_parse_document(json, len, out);
	default:
		return -EINVAL;
	}
}

/* The fields a parser takes from an object are the same in a and b. */
static void check_same_fields(const struct res *a, const struct res *b)
{
	FUZZ_CHECK(strcmp(a->id, b->id) == 0);
	FUZZ_CHECK(strcmp(a->raw_name, b->raw_name) == 0);
	FUZZ_CHECK(a->mtime == b->mtime);
	FUZZ_CHECK(a->size == b->size);
	FUZZ_CHECK(a->count == b->count);
	FUZZ_CHECK((a->hash == NULL) == (b->hash == NULL));
	FUZZ_CHECK(!a->hash || strcmp(a->hash, b->hash) == 0);
}

/* Parse r's rendering again as one object of kind k into out. */
static void parse_rendering(enum kind k, const struct res *r, struct res *out)
{
	char *copy = fuzz_dup_exact(r->json, r->json_len);

	FUZZ_CHECK(parse_single(k, copy, r->json_len, out) == 0);
	free(copy);
}

/*
 * One entry as a parser leaves it. For list kinds the rendering must parse
 * again as an object of the same kind with the same fields, and rendering
 * is then a fixed point. Known finding (reported, not fixed): json-c keeps
 * the text of a number as the server sent it, and its default parser takes
 * malformed numbers, so "08813952e" renders as 08813952 (not JSON), which
 * renders as 8813952 the next time; NaN, Infinity and "1." pass through
 * unchanged. Hence the text is compared from the second rendering on.
 */
static void check_res(const struct res *r, enum kind k)
{
	struct json_object *o;
	struct res again, third;

	FUZZ_CHECK(r->id != NULL && r->id[0] != '\0');
	FUZZ_CHECK(r->raw_name != NULL);
	FUZZ_CHECK(r->name == NULL);
	FUZZ_CHECK(r->json != NULL);
	o = fm_check_rendering(r->json, r->json_len);
	if (k == KIND_KEY) {
		FUZZ_CHECK(!json_object_object_get_ex(o, "apiKey", NULL));
		FUZZ_CHECK(!json_object_object_get_ex(o, "api_key", NULL));
	}
	if (k == KIND_MODEL) {
		struct json_object *cl = NULL;

		FUZZ_CHECK(strcmp(r->id, r->raw_name) == 0);
		FUZZ_CHECK(fm_member_is(o, "name", r->id));
		FUZZ_CHECK(fm_member_str(o, "modelType") != NULL);
		FUZZ_CHECK(json_object_object_get_ex(o, "clusters", &cl) &&
			   json_object_is_type(cl, json_type_array));
	}
	json_object_put(o);
	FUZZ_CHECK(k == KIND_DOCUMENT ? r->size >= -1 : r->size == -1);
	FUZZ_CHECK(k == KIND_COLLECTION ? r->count >= 0 : r->count == 0);
	FUZZ_CHECK(k == KIND_DOCUMENT || r->hash == NULL);
	FUZZ_CHECK(r->hash == NULL || r->hash[0] != '\0');
	if (k == KIND_MODEL)
		return;

	parse_rendering(k, r, &again);
	check_same_fields(r, &again);
	parse_rendering(k, &again, &third);
	check_same_fields(r, &third);
	FUZZ_CHECK(third.json_len == again.json_len);
	FUZZ_CHECK(strcmp(third.json, again.json) == 0);
	res_release(&third);
	res_release(&again);
}

static void check_list(const struct reslist *l, size_t from, enum kind k)
{
	for (size_t i = from; i < l->n; i++)
		check_res(&l->v[i], k);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                       */
/* ------------------------------------------------------------------ */

static void fuzz_validation(const char *b, size_t len)
{
	struct whoami w;
	int rc = model_parse_validation(b, len, &w);

	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc < 0) {
		FUZZ_CHECK(!w.team_id && !w.scope && !w.key_id && !w.name);
		return;
	}
	FUZZ_CHECK(w.team_id && w.scope && w.key_id && w.name);
	whoami_release(&w);
	whoami_release(NULL);
}

static int parse_page(enum sel s, const char *b, size_t len, struct reslist *l,
		      char **next)
{
	if (s == SEL_KEYS_PAGE)
		return model_parse_keys_page(b, len, l, next);
	if (s == SEL_COLLECTIONS_PAGE)
		return model_parse_collections_page(b, len, l, next);
	return model_parse_documents_page(b, len, l, next);
}

static void fuzz_page(enum sel s, const char *b, size_t len)
{
	static const enum kind kinds[] = {
		[SEL_KEYS_PAGE] = KIND_KEY,
		[SEL_COLLECTIONS_PAGE] = KIND_COLLECTION,
		[SEL_DOCUMENTS_PAGE] = KIND_DOCUMENT,
	};
	struct reslist *l = reslist_new();
	char *next = (char *)"unset";
	size_t n1;
	int rc, rc2;

	FUZZ_CHECK(l != NULL);
	rc = parse_page(s, b, len, l, &next);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc < 0)
		FUZZ_CHECK(next == NULL);
	else
		FUZZ_CHECK(next == NULL || next[0] != '\0');
	free(next);
	check_list(l, 0, kinds[s]);
	n1 = l->n;

	/* the same page again is appended after the first, entry for entry */
	rc2 = parse_page(s, b, len, l, NULL);
	FUZZ_CHECK(rc2 == rc);
	if (rc == 0) {
		FUZZ_CHECK(l->n == 2 * n1);
		for (size_t i = 0; i < n1; i++) {
			FUZZ_CHECK(strcmp(l->v[i].id, l->v[n1 + i].id) == 0);
			FUZZ_CHECK(strcmp(l->v[i].json, l->v[n1 + i].json) ==
				   0);
		}
	}
	reslist_unref(l);
}

static void fuzz_models(const char *b, size_t len, int want_regions)
{
	struct reslist *l = reslist_new();
	char *regions = (char *)"unset";
	size_t rlen = 12345;
	int rc;

	FUZZ_CHECK(l != NULL);
	if (want_regions)
		rc = model_parse_models(b, len, l, &regions, &rlen);
	else
		rc = model_parse_models(b, len, l, NULL, NULL);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	check_list(l, 0, KIND_MODEL);
	if (rc == 0) {
		/* one entry per distinct name */
		for (size_t i = 0; i < l->n; i++)
			for (size_t j = i + 1; j < l->n; j++)
				FUZZ_CHECK(strcmp(l->v[i].id, l->v[j].id) != 0);
	}
	if (want_regions) {
		if (rc == 0) {
			struct json_object *o = fm_check_rendering(regions,
								   rlen),
					   *a = NULL;

			FUZZ_CHECK(
				json_object_object_get_ex(o, "regions", &a) &&
				json_object_is_type(a, json_type_array));
			json_object_put(o);
			free(regions);
		} else {
			FUZZ_CHECK(regions == NULL && rlen == 0);
		}
	}
	reslist_unref(l);
}

static void fuzz_usage(const struct fuzz_parts *p)
{
	char *b = fuzz_dup_exact(p->p[0], p->len[0]);
	time_t now = DEFAULT_NOW;
	char *req = NULL, *out = (char *)"unset";
	size_t olen = 7;
	struct json_object *o, *r, *ar = NULL, *tr = NULL;
	int rc;

	if (p->n > 1 && p->len[1] > 0) {
		char *s = fuzz_dup_str(p->p[1], p->len[1]);

		now = (time_t)strtoll(s, NULL, 10);
		free(s);
	}
	rc = model_render_usage(now, b, p->len[0], &out, &olen);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc < 0) {
		FUZZ_CHECK(out == NULL && olen == 0);
		free(b);
		return;
	}
	o = fm_check_rendering(out, olen);
	FUZZ_CHECK(json_object_object_get_ex(o, "totalUsd", NULL));
	FUZZ_CHECK(fm_member_str(o, "startTime") &&
		   fm_member_str(o, "endTime"));

	/* the rendering states the period the request asks for */
	FUZZ_CHECK(model_usage_request(now, &req) == 0);
	FUZZ_CHECK(req[strlen(req) - 1] == '}');
	r = fm_check_body(req);
	FUZZ_CHECK(json_object_object_get_ex(r, "analyticsRequest", &ar));
	FUZZ_CHECK(json_object_object_get_ex(ar, "timeRange", &tr));
	FUZZ_CHECK(strcmp(fm_member_str(tr, "startTime"),
			  fm_member_str(o, "startTime")) == 0);
	FUZZ_CHECK(strcmp(fm_member_str(tr, "endTime"),
			  fm_member_str(o, "endTime")) == 0);
	json_object_put(r);
	json_object_put(o);
	free(req);
	free(out);
	free(b);
}

static void fuzz_billing(const struct fuzz_parts *p)
{
	char *b[3] = { NULL, NULL, NULL };
	size_t n[3] = { 0, 0, 0 };
	char *out = (char *)"unset";
	size_t olen = 7;
	struct json_object *o, *c = NULL;
	int rc;

	for (size_t i = 0; i < 3 && i < p->n; i++) {
		b[i] = fuzz_dup_exact(p->p[i], p->len[i]); /* empty: NULL */
		n[i] = p->len[i];
	}
	rc = model_render_billing(
		&(struct model_billing){ { b[0], b[1], b[2] },
					 { n[0], n[1], n[2] },
					 { NULL, NULL, NULL } },
		&out, &olen);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc == 0) {
		o = fm_check_rendering(out, olen);
		FUZZ_CHECK(
			json_object_object_get_ex(o, "prepaidCreditCents", &c));
		FUZZ_CHECK(b[0] ? json_object_is_type(c, json_type_int) &&
					   json_object_get_int64(c) >= 0
				: c == NULL);
		FUZZ_CHECK(
			!b[0] || !b[1] || !b[2]
				? json_object_object_get_ex(o, "errors", NULL)
				: !json_object_object_get_ex(o, "errors",
							     NULL));
		json_object_put(o);
		free(out);
	} else {
		FUZZ_CHECK(out == NULL && olen == 0);
	}
	for (size_t i = 0; i < 3; i++)
		free(b[i]);
}

/*
 * The message is one line without control bytes or trailing spaces; a
 * smaller buffer gives a prefix of what a larger one gives; a body that is
 * valid UTF-8 without escapes gives valid UTF-8 at every size.
 */
static void fuzz_error(const char *b, size_t len)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 5, 8, 17, 64, 200, 4096 };
	char *msg[sizeof(sizes) / sizeof(sizes[0])];
	int utf8 = fuzz_valid_utf8((const unsigned char *)b, len) &&
		   (len == 0 || !memchr(b, '\\', len));
	char untouched = 'x';

	model_error_message(b, len, &untouched, 0);
	FUZZ_CHECK(untouched == 'x');
	model_error_message(b, len, NULL, 16);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t m;

		msg[i] = malloc(sizes[i]);
		FUZZ_CHECK(msg[i] != NULL);
		model_error_message(b, len, msg[i], sizes[i]);
		m = strnlen(msg[i], sizes[i]);
		FUZZ_CHECK(m < sizes[i]);
		for (size_t j = 0; j < m; j++) {
			unsigned char c = (unsigned char)msg[i][j];

			FUZZ_CHECK(c >= 0x20 && c != 0x7f);
		}
		FUZZ_CHECK(m == 0 || msg[i][m - 1] != ' ');
		if (utf8)
			FUZZ_CHECK(fuzz_valid_utf8((unsigned char *)msg[i], m));
		if (i > 0)
			FUZZ_CHECK(strncmp(msg[i - 1], msg[i],
					   strlen(msg[i - 1])) == 0);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		free(msg[i]);
}

/* A parsed time formats back (RFC 3339 UTC and decimal) to the same value. */
static void fuzz_time(const char *s)
{
	int64_t t = 42, again = 0;
	struct tm tm;
	time_t tt;
	char buf[64];
	int rc = model_parse_time(s, &t);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(t == 42);
		return;
	}
	snprintf(buf, sizeof(buf), "%" PRId64, t);
	FUZZ_CHECK(model_parse_time(buf, &again) == 0 && again == t);
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) && tm.tm_year >= -1900 &&
	    tm.tm_year <= 9999 - 1900) {
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		/* %Y does not pad years below 1000 */
		if (strlen(buf) == 20) {
			FUZZ_CHECK(model_parse_time(buf, &again) == 0);
			FUZZ_CHECK(again == t);
		}
	}
}

static void fuzz_single(enum sel s, const char *b, size_t len)
{
	struct res r;
	char *secret = (char *)"unset";
	int rc;

	memset(&r, 0, sizeof(r));
	if (s == SEL_KEY) {
		rc = model_parse_key(b, len, &r, &secret);
	} else if (s == SEL_COLLECTION) {
		rc = model_parse_collection(b, len, &r);
		secret = NULL;
	} else {
		rc = model_parse_document(b, len, &r);
		secret = NULL;
	}
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc < 0) {
		FUZZ_CHECK(secret == NULL);
		return;
	}
	FUZZ_CHECK(secret == NULL || secret[0] != '\0');
	check_res(&r, s == SEL_KEY	    ? KIND_KEY
		      : s == SEL_COLLECTION ? KIND_COLLECTION
					    : KIND_DOCUMENT);
	res_release(&r);
	free(secret);
}

static long long part_num(const struct fuzz_parts *p, size_t i, long long dflt)
{
	long long v = dflt;

	if (i < p->n && p->len[i] > 0) {
		char *s = fuzz_dup_str(p->p[i], p->len[i]);

		v = strtoll(s, NULL, 10);
		free(s);
	}
	return v;
}

/* Same checks as fuzz_usage(), for one calendar month. */
static void fuzz_usage_month(const struct fuzz_parts *p)
{
	char *b = fuzz_dup_exact(p->p[0], p->len[0]);
	time_t now = (time_t)part_num(p, 1, DEFAULT_NOW);
	long long y = part_num(p, 2, 2025), m = part_num(p, 3, 11);
	int year = y < INT32_MIN   ? INT32_MIN
		   : y > INT32_MAX ? INT32_MAX
				   : (int)y;
	int month = m < INT32_MIN   ? INT32_MIN
		    : m > INT32_MAX ? INT32_MAX
				    : (int)m;
	int valid = month >= 1 && month <= 12 && year >= 1970 && year <= 9999;
	char *req = (char *)"unset", *out = (char *)"unset";
	size_t olen = 7;
	struct json_object *o, *r, *ar = NULL, *tr = NULL;
	int rc;

	rc = model_usage_month_request(year, month, now, &req);
	FUZZ_CHECK(valid ? rc == 0 : rc == -EINVAL);
	rc = model_render_usage_month(year, month, now, b, p->len[0], &out,
				      &olen);
	FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL);
	FUZZ_CHECK(valid || rc == -EINVAL);
	if (rc == 0) {
		o = fm_check_rendering(out, olen);
		r = fm_check_body(req);
		FUZZ_CHECK(
			json_object_object_get_ex(r, "analyticsRequest", &ar));
		FUZZ_CHECK(json_object_object_get_ex(ar, "timeRange", &tr));
		FUZZ_CHECK(strcmp(fm_member_str(tr, "startTime"),
				  fm_member_str(o, "startTime")) == 0);
		FUZZ_CHECK(strcmp(fm_member_str(tr, "endTime"),
				  fm_member_str(o, "endTime")) == 0);
		/* "YYYY-MM-01 00:00:00" of the month asked for, and a later end
		 */
		FUZZ_CHECK(strlen(fm_member_str(o, "startTime")) == 19);
		FUZZ_CHECK(atoi(fm_member_str(o, "startTime")) == year);
		FUZZ_CHECK(atoi(fm_member_str(o, "startTime") + 5) == month);
		/* (December 9999 ends in year 10000, which sorts first) */
		if (year < 9999 || month < 12)
			FUZZ_CHECK(strcmp(fm_member_str(o, "startTime"),
					  fm_member_str(o, "endTime")) < 0);
		json_object_put(r);
		json_object_put(o);
		free(out);
	}
	if (valid)
		free(req);
	free(b);
}

static void fuzz_document_status(const char *b, size_t len)
{
	static const size_t sizes[] = { 1, 5, 64 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *out = malloc(sizes[i]);
		int rc;

		FUZZ_CHECK(out != NULL);
		rc = model_document_status(b, len, out, sizes[i]);
		FUZZ_CHECK(rc == 0 || rc == -EIO);
		if (rc == 0)
			FUZZ_CHECK(memchr(out, '\0', sizes[i]) != NULL);
		free(out);
	}
}

static void fuzz_pretty(const char *b, size_t len)
{
	char *out = NULL;
	size_t olen = 0;
	int rc = model_pretty(b, len, &out, &olen);

	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc == 0) {
		json_object_put(fm_check_rendering(out, olen));
		free(out);
	}
}

/* Each event is one line holding one compact JSON object. */
static void fuzz_audit_page(const char *b, size_t len)
{
	static const size_t caps[] = { 1 << 20, 64 };

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct buf lines;
		size_t count = 3, n = 0;
		char *next = (char *)"unset";
		int rc;

		buf_init(&lines, caps[c]);
		FUZZ_CHECK(buf_puts(&lines, "x\n") ==
			   0); /* pages are appended */
		rc = model_audit_page(b, len, &lines, &count, &next);
		FUZZ_CHECK(rc == 0 || rc == -EIO);
		if (rc < 0) {
			FUZZ_CHECK(next == NULL);
		} else {
			FUZZ_CHECK(next == NULL || next[0] != '\0');
			FUZZ_CHECK(lines.len >= 2 &&
				   lines.data[lines.len - 1] == '\n');
			for (const char *s = lines.data + 2; *s; n++) {
				const char *nl = strchr(s, '\n');
				struct json_object *o;

				FUZZ_CHECK(nl != NULL);
				o = fm_reparse(s, (size_t)(nl - s));
				json_object_put(o);
				s = nl + 1;
			}
			FUZZ_CHECK(count == 3 + n);
			FUZZ_CHECK(strlen(lines.data) == lines.len);
		}
		free(next);
		buf_release(&lines);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts p;
	enum sel s;
	char *b, *str;
	size_t len;

	if (size == 0)
		return 0;
	s = (enum sel)(data[0] % SEL_COUNT);
	data++;
	size--;
	len = size;
	b = fuzz_dup_exact((const char *)data, len);

	switch (s) {
	case SEL_VALIDATION:
		fuzz_validation(b, len);
		break;
	case SEL_KEYS_PAGE:
	case SEL_COLLECTIONS_PAGE:
	case SEL_DOCUMENTS_PAGE:
		fuzz_page(s, b, len);
		break;
	case SEL_MODELS:
		fuzz_models(b, len, 1);
		fuzz_models(b, len, 0);
		break;
	case SEL_USAGE:
		fuzz_split(data, size, 2, &p);
		fuzz_usage(&p);
		break;
	case SEL_BILLING:
		fuzz_split(data, size, 3, &p);
		fuzz_billing(&p);
		break;
	case SEL_ERROR:
		fuzz_error(b, len);
		break;
	case SEL_TIME:
		str = fuzz_dup_str((const char *)data, size);
		fuzz_time(str);
		free(str);
		break;
	case SEL_KEY:
	case SEL_COLLECTION:
	case SEL_DOCUMENT:
		fuzz_single(s, b, len);
		break;
	case SEL_KEY_CREATE:
		fuzz_split(data, size, 2, &p);
		fm_key_create(&p);
		break;
	case SEL_KEY_UPDATE:
	case SEL_COLLECTION_UPDATE:
		fuzz_split(data, size, 2, &p);
		fm_update(s == SEL_KEY_UPDATE, &p);
		break;
	case SEL_KEY_WITH_SECRET:
		fuzz_split(data, size, 2, &p);
		fm_key_with_secret(&p);
		break;
	case SEL_COUNTERS:
		fuzz_split(data, size, FUZZ_MAX_PARTS, &p);
		fm_counters(&p);
		break;
	case SEL_NAME_BODIES:
		fm_name_bodies((const char *)data, size);
		break;
	case SEL_USAGE_MONTH:
		fuzz_split(data, size, 4, &p);
		fuzz_usage_month(&p);
		break;
	case SEL_DOCUMENT_STATUS:
		fuzz_document_status(b, len);
		break;
	case SEL_PRETTY:
		fuzz_pretty(b, len);
		break;
	case SEL_AUDIT_PAGE:
		fuzz_audit_page(b, len);
		break;
	case SEL_SEARCH:
		fm_search(b, len);
		break;
	case SEL_INVOICES:
		fm_invoices(b, len);
		break;
	case SEL_LIMITS:
		fm_limits(b, len);
		break;
	case SEL_LIMITS_UPDATE:
		fuzz_split(data, size, 2, &p);
		fm_limits_update(&p);
		break;
	case SEL_SEARCH_QUERY:
		fm_search_query(b, len);
		break;
	case SEL_USAGE_SVG:
		fm_usage_svg(b, len);
		break;
	case SEL_FIELDS:
		fuzz_split(data, size, 3, &p);
		fm_fields(&p);
		break;
	default:
		break;
	}
	free(b);
	return 0;
}
