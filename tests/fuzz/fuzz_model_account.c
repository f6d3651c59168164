/*
 * fuzz_model_account.c - the drivers of model_account.h for the fuzz_model
 * target: search answers, invoices, spending limits and search file names.
 * Beyond "no crash, no leak, no UB": search renders are JSON Lines of objects
 * with the documented members, best score first; the limits file is one object;
 * usage.svg is one <svg> element;
 * invoice entries have an id; error codes are the documented ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "model_account.h"
#include "model_svg.h"
#include "fuzz.h"
#include "fuzz_model.h"

static const char *fm_names(void *ctx, const char *cid, const char *file_id)
{
	(void)ctx;
	if (!file_id)
		return *cid ? "coll" : NULL;
	return strlen(file_id) % 2 ? "doc" : NULL;
}

void fm_search(const char *b, size_t len)
{
	char *out = NULL;
	size_t olen = 0, lines = 0;
	double last = 0;
	int rc = model_render_search(b, len, fm_names, NULL, &out, &olen);

	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc < 0)
		return;
	FUZZ_CHECK(out && strlen(out) == olen);
	for (char *p = out, *nl; *p; p = nl + 1, lines++) {
		struct json_object *o, *score = NULL;

		nl = strchr(p, '\n');
		FUZZ_CHECK(nl != NULL);
		o = fm_reparse(p, (size_t)(nl - p));
		FUZZ_CHECK(fm_member_str(o, "document") &&
			   fm_member_str(o, "collection"));
		FUZZ_CHECK(fm_member_str(o, "text") &&
			   fm_member_str(o, "file_id"));
		FUZZ_CHECK(json_object_object_get_ex(o, "score", &score));
		if (lines > 0 && json_object_is_type(score, json_type_double))
			FUZZ_CHECK(!(json_object_get_double(score) > last));
		if (json_object_is_type(score, json_type_double))
			last = json_object_get_double(score);
		else
			last = 1e308;
		json_object_put(o);
	}
	free(out);
}

void fm_invoices(const char *b, size_t len)
{
	struct reslist *l = reslist_new();
	int rc;

	FUZZ_CHECK(l != NULL);
	rc = model_parse_invoices(b, len, l);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	for (size_t i = 0; i < l->n; i++) {
		FUZZ_CHECK(*l->v[i].id);
		FUZZ_CHECK(strlen(l->v[i].raw_name) == 0 ||
			   strlen(l->v[i].raw_name) == 7);
		json_object_put(
			fm_check_rendering(l->v[i].json, l->v[i].json_len));
	}
	reslist_unref(l);
}

void fm_limits(const char *b, size_t len)
{
	char *out = NULL;
	size_t olen = 0;
	int rc = model_render_limits(b, len, &out, &olen);

	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc == 0)
		json_object_put(fm_check_rendering(out, olen));
	free(out);
}

void fm_limits_update(const struct fuzz_parts *p)
{
	char *cur = fuzz_dup_exact(p->p[0], p->len[0]);
	char *in = p->n > 1 ? fuzz_dup_exact(p->p[1], p->len[1])
			    : fuzz_dup_exact("", 0);
	struct model_change ch;
	int rc = model_limits_update(cur, p->len[0], in,
				     p->n > 1 ? p->len[1] : 0, &ch);

	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENODATA || rc == -EIO);
	if (rc == 0 && ch.body)
		json_object_put(fm_check_body(ch.body));
	if (rc != 0)
		FUZZ_CHECK(ch.body == NULL);
	model_change_release(&ch);
	free(cur);
	free(in);
}

void fm_search_query(const char *b, size_t len)
{
	char *name = fuzz_dup_str(b, len);
	const char *const cids[] = { "c1" };
	struct model_search_q q;
	char *body = NULL;
	int rc = model_search_query(name, &q);

	FUZZ_CHECK(rc == 0 || rc == -ENOENT);
	FUZZ_CHECK(q.limit >= 0 && q.limit <= MODEL_SEARCH_LIMIT_MAX);
	if (rc == 0) {
		FUZZ_CHECK(model_search_request(&q, cids, 1, &body) == 0);
		json_object_put(fm_check_body(body));
		free(body);
	}
	free(name);
}

void fm_usage_svg(const char *b, size_t len)
{
	char *out = NULL;
	size_t olen = 0;
	int rc = model_render_usage_svg(b, len, &out, &olen);

	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc == 0) {
		FUZZ_CHECK(out && strlen(out) == olen);
		FUZZ_CHECK(strncmp(out, "<svg ", 5) == 0);
		FUZZ_CHECK(olen >= 7 &&
			   strcmp(out + olen - 7, "</svg>\n") == 0);
		/* server text is escaped: no markup can come from it */
		FUZZ_CHECK(strstr(out, "<script") == NULL);
	}
	free(out);
}
