/* model_account.c - search, invoices and spending limits as JSON; see
 * model_account.h. */
#include "model_account.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "model_int.h"

/* ---- search ---- */

static const char *const search_modes[] = { "hybrid", "semantic", "keyword",
					    NULL };

/* One leading option at s (ending in a space): 1 taken, 0 not an option. */
static int search_option(const char *s, struct model_search_q *q, size_t *used)
{
	const char *sp = strchr(s, ' ');
	size_t n = sp ? (size_t)(sp - s) : 0;

	if (!sp)
		return 0;
	for (int i = 0; search_modes[i]; i++)
		if (n == 5 + strlen(search_modes[i]) &&
		    strncmp(s, "mode:", 5) == 0 &&
		    strncmp(s + 5, search_modes[i], n - 5) == 0 &&
		    !q->mode[0]) {
			snprintf(q->mode, sizeof(q->mode), "%s",
				 search_modes[i]);
			*used = n + 1;
			return 1;
		}
	if (n > 6 && n <= 9 && strncmp(s, "limit:", 6) == 0 && !q->limit) {
		int v = 0;

		for (size_t i = 6; i < n; i++) {
			if (!is_ascii_digit(s[i]))
				return 0;
			v = v * 10 + (s[i] - '0');
		}
		if (v < 1 || v > MODEL_SEARCH_LIMIT_MAX)
			return 0;
		q->limit = v;
		*used = n + 1;
		return 1;
	}
	return 0;
}

int model_search_query(const char *name, struct model_search_q *out)
{
	size_t used = 0;
	const char *p;

	memset(out, 0, sizeof(*out));
	while (search_option(name, out, &used))
		name += used;
	out->query = name;
	for (p = name; *p; p++)
		if (!is_json_space(*p))
			return 0;
	return -ENOENT;
}

int model_search_request(const struct model_search_q *q,
			 const char *const *cids, size_t n, char **body)
{
	struct json_object *o = json_object_new_object();
	struct json_object *src = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	const char *s;
	int rc = 0;

	*body = NULL;
	if (!o || !src || !ids) {
		json_object_put(src);
		json_object_put(ids);
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = array_push(ids, json_object_new_string(cids[i]));
	put_member(o, "query", json_object_new_string(q->query), &rc);
	put_member(src, "collection_ids", ids, &rc);
	put_member(o, "source", src, &rc);
	if (q->limit)
		put_member(o, "limit", json_object_new_int(q->limit), &rc);
	if (q->mode[0]) {
		struct json_object *m = json_object_new_object();

		if (m)
			put_member(m, "type", json_object_new_string(q->mode),
				   &rc);
		put_member(o, "retrieval_mode", m, &rc);
	}
	if (rc < 0)
		goto out;
	s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*body = s ? strdup(s) : NULL;
	rc = *body ? 0 : -ENOMEM;
out:
	json_object_put(o);
	return rc;
}

struct search_hit {
	struct json_object *m; /* borrowed from the answer */
	double score;
	size_t order;
};

static int hit_cmp(const void *a, const void *b)
{
	const struct search_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The score as a JSON number: the server's own text when it sent a number. */
static struct json_object *score_value(struct json_object *v, double *d)
{
	*d = 0;
	if (v && double_value(v, d) == 0) {
		if (json_object_is_type(v, json_type_double) ||
		    json_object_is_type(v, json_type_int))
			return json_object_get(v);
		return json_object_new_double(*d);
	}
	return json_object_new_int(0);
}

/* The first collection id of a match ("" when none). */
static const char *match_collection(struct json_object *m)
{
	struct json_object *ids = member(m, "collection_ids", "collectionIds");
	const char *s = NULL;

	if (ids && json_object_is_type(ids, json_type_array) &&
	    json_object_array_length(ids) > 0)
		s = str_value(json_object_array_get_idx(ids, 0));
	return s ? s : "";
}

/* One match as a compact line appended to b. */
static int search_line(struct json_object *m, model_names_fn names, void *ctx,
		       struct buf *b)
{
	struct json_object *o = json_object_new_object(), *v;
	const char *fid = member_str(m, "file_id", "fileId");
	const char *cid = match_collection(m);
	const char *doc = names ? names(ctx, cid, fid) : NULL;
	const char *coll = names ? names(ctx, cid, NULL) : NULL;
	const char *text = member_str(m, "chunk_content", "chunkContent");
	const char *chunk = member_str(m, "chunk_id", "chunkId");
	double d;
	int64_t page;
	int rc = o ? 0 : -ENOMEM;

	put_member(o, "document", json_object_new_string(doc ? doc : fid), &rc);
	put_member(o, "collection", json_object_new_string(coll ? coll : cid),
		   &rc);
	put_member(o, "score", score_value(member(m, "score", NULL), &d), &rc);
	put_member(o, "text", json_object_new_string(text ? text : ""), &rc);
	if (member_int64(m, "page_number", "pageNumber", &page) == 0)
		put_member(o, "page", json_object_new_int64(page), &rc);
	v = member(m, "fields", NULL);
	if (v && json_object_is_type(v, json_type_object) &&
	    json_object_object_length(v) > 0)
		put_ref(o, "fields", v, &rc);
	put_member(o, "file_id", json_object_new_string(fid), &rc);
	if (nonempty(chunk))
		put_member(o, "chunk_id", json_object_new_string(chunk), &rc);
	put_member(o, "collection_id", json_object_new_string(cid), &rc);
	if (rc == 0)
		rc = append_json_line(b, o);
	json_object_put(o);
	return rc;
}

int model_render_search(const char *body, size_t len, model_names_fn names,
			void *ctx, char **out, size_t *out_len)
{
	struct json_object *root = NULL, *arr;
	struct search_hit *hits = NULL;
	size_t n = 0, k = 0;
	struct buf b;
	int rc;

	buf_init(&b, 1u << 30);
	rc = parse_object(body, len, &root);
	if (rc < 0)
		goto out;
	rc = member_array(root, "matches", NULL, &arr, &n);
	if (rc < 0)
		goto out;
	hits = calloc(n ? n : 1, sizeof(*hits));
	if (!hits) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(m, json_type_object) ||
		    !nonempty(member_str(m, "file_id", "fileId")))
			continue;
		hits[k].m = m;
		hits[k].order = i;
		if (double_value(member(m, "score", NULL), &hits[k].score) <
			    0 ||
		    hits[k].score != hits[k].score)
			hits[k].score = 0;
		k++;
	}
	qsort(hits, k, sizeof(*hits), hit_cmp);
	for (size_t i = 0; i < k && rc == 0; i++)
		rc = search_line(hits[i].m, names, ctx, &b);
	if (rc == 0 && !b.data)
		rc = buf_puts(&b, "");
	if (rc == 0) {
		*out = buf_take(&b, out_len);
		rc = *out ? 0 : -ENOMEM;
	}
out:
	free(hits);
	buf_release(&b);
	json_object_put(root);
	return rc == -EFBIG ? -ENOMEM : rc;
}

/* ---- invoices ---- */

/* "YYYY-MM" of the invoice's billing cycle, else of its createTime. */
static void invoice_month(struct json_object *inv, int64_t created, char *out,
			  size_t outsz)
{
	struct json_object *cyc = member(member(inv, "monthly", NULL),
					 "billingCycle", "billing_cycle");
	int64_t y = 0, m = 0;

	out[0] = '\0';
	if (cyc && member_int64(cyc, "year", NULL, &y) == 0 &&
	    member_int64(cyc, "month", NULL, &m) == 0 && y > 0 && y <= 9999 &&
	    m >= 1 && m <= 12) {
		snprintf(out, outsz, "%04d-%02d", (int)y, (int)m);
	} else if (created > 0) {
		time_t t = (time_t)created;
		struct tm tm;

		if (gmtime_r(&t, &tm) && tm.tm_year + 1900 <= 9999)
			strftime(out, outsz, "%Y-%m", &tm);
	}
}

int model_parse_invoices(const char *body, size_t len, struct reslist *out)
{
	struct json_object *root = NULL, *arr;
	int rc = parse_object(body, len, &root);
	size_t n;

	if (rc < 0)
		return rc;
	rc = member_array(root, "invoices", NULL, &arr, &n);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct json_object *inv = json_object_array_get_idx(arr, i);
		const char *id;
		char month[16];
		int64_t mtime;
		struct res r;

		if (!json_object_is_type(inv, json_type_object))
			continue;
		id = member_str(inv, "invoiceId", "invoice_id");
		if (!nonempty(id))
			id = member_str(inv, "invoiceNumber", "invoice_number");
		if (!nonempty(id))
			continue;
		mtime = member_time(inv, "createTime", "create_time");
		invoice_month(inv, mtime, month, sizeof(month));
		rc = res_init_from(&r, id, month, inv);
		if (rc == 0) {
			r.mtime = mtime;
			rc = reslist_append(out, &r);
		}
	}
out:
	json_object_put(root);
	return rc;
}

/* ---- spending limits ---- */

static const char *const limit_names[] = { "softSl",	     "effectiveSl",
					   "hardSlAuto",     "effectiveHardSl",
					   "hardSlOverride", NULL };

/* Cents of a {val} wrapper, a decimal string or a number: 0 or -EINVAL. */
static int cents_value(struct json_object *v, int64_t *out)
{
	struct json_object *val;

	if (json_object_is_type(v, json_type_object)) {
		val = member(v, "val", NULL);
		if (!val) {
			*out = 0; /* proto3 leaves a zero val out */
			return 0;
		}
		v = val;
	}
	if (json_object_is_type(v, json_type_double))
		return -EINVAL;
	return int64_value(v, out) == 0 ? 0 : -EINVAL;
}

int model_render_limits(const char *body, size_t len, char **out,
			size_t *out_len)
{
	struct json_object *root = NULL, *lim, *o = NULL;
	int rc = parse_object(body, len, &root);
	int64_t c;

	if (rc < 0)
		return rc;
	lim = member(root, "spendingLimits", "spending_limits");
	if (lim && !json_object_is_type(lim, json_type_object))
		lim = NULL;
	o = json_object_new_object();
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	for (int i = 0; limit_names[i] && rc == 0; i++) {
		struct json_object *v = member(lim, limit_names[i], NULL);

		if (v && cents_value(v, &c) == 0)
			put_member(o, limit_names[i], json_object_new_int64(c),
				   &rc);
		else if (json_object_object_add(o, limit_names[i], NULL) != 0)
			rc = -ENOMEM; /* written as null */
	}
	if (lim) {
		json_object_object_foreach(lim, k, v)
		{
			int known = 0;

			for (int i = 0; limit_names[i]; i++)
				known |= strcmp(k, limit_names[i]) == 0;
			if (!known)
				put_ref(o, k, v, &rc);
		}
	}
	if (rc == 0)
		rc = render_json(o, out, out_len);
out:
	json_object_put(o);
	json_object_put(root);
	return rc;
}

static int limits_bad(struct model_change *c, const char *field)
{
	snprintf(c->field, sizeof(c->field), "%s", field);
	return -EINVAL;
}

/* Whether in's member k (present) equals cur's. */
static int limits_same(struct json_object *cur, const char *k,
		       struct json_object *v)
{
	struct json_object *c = NULL;
	int64_t a, b;

	json_object_object_get_ex(cur, k, &c);
	if (!c || !v)
		return c == v;
	if (cents_value(c, &a) == 0 && cents_value(v, &b) == 0)
		return a == b;
	return json_object_equal(c, v);
}

int model_limits_update(const char *cur, size_t cur_len, const char *in,
			size_t in_len, struct model_change *out)
{
	struct json_object *c = NULL, *i = NULL, *want = NULL;
	size_t p = 0;
	int64_t soft;
	int rc;

	memset(out, 0, sizeof(*out));
	while (p < in_len && is_json_space(in[p]))
		p++;
	if (p == in_len)
		return -ENODATA;
	rc = parse_object(cur, cur_len, &c);
	if (rc < 0)
		return rc;
	if (parse_object(in, in_len, &i) < 0) {
		rc = limits_bad(out, "");
		goto out;
	}
	json_object_object_foreach(i, k, v)
	{
		if (strcmp(k, "softSl") == 0 || limits_same(c, k, v))
			continue;
		rc = limits_bad(out, k);
		goto out;
	}
	if (!json_object_object_get_ex(i, "softSl", &want) ||
	    limits_same(c, "softSl", want))
		goto out;
	if (!want || cents_value(want, &soft) < 0 || soft < 0) {
		rc = limits_bad(out, "softSl");
		goto out;
	}
	{
		char buf[96];

		snprintf(buf, sizeof(buf),
			 "{\"desiredSoftSpendingLimit\":{\"val\":\"%lld\"}}",
			 (long long)soft);
		out->body = strdup(buf);
		rc = out->body ? 0 : -ENOMEM;
	}
out:
	json_object_put(i);
	json_object_put(c);
	return rc;
}
