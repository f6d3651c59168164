/*
 * fuzz_model_fields.c - the fuzz_model driver of model_fields.h: a
 * user.xai.fields value as a user sets it, checked against a collection's
 * field definitions and compared with a document's fields. Beyond "no
 * crash, no leak, no UB": an accepted value is one JSON object of strings in
 * the compact form, which parses back to the same form (and equals itself);
 * the add-file body is {"fields": that object}; error codes are the
 * documented ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "model_fields.h"
#include "fuzz.h"
#include "fuzz_model.h"

/* The compact form: parses, every value a string, and is its own normal form. */
static void ff_check_form(const char *f)
{
	char bad[MODEL_FIELDS_BAD], *again = NULL;
	struct json_object *o = fm_reparse(f, strlen(f));

	json_object_object_foreach(o, k, v)
	{
		FUZZ_CHECK(*k && json_object_is_type(v, json_type_string));
	}
	json_object_put(o);
	FUZZ_CHECK(model_fields_parse(f, strlen(f), &again, bad, sizeof(bad)) ==
		   0);
	FUZZ_CHECK(strcmp(again, f) == 0);
	FUZZ_CHECK(model_fields_equal(f, again));
	free(again);
}

static void ff_with_collection(const char *f, const char *coll, size_t coll_len)
{
	char missing[MODEL_FIELDS_BAD], *body = NULL;
	struct json_object *o, *inner = NULL;
	int rc = model_fields_missing(coll, coll_len, f, missing,
				      sizeof(missing));

	FUZZ_CHECK(rc == 0 || rc == 1 || rc == -EIO);
	FUZZ_CHECK(rc == 1 ? *missing != '\0' : *missing == '\0');
	FUZZ_CHECK(model_fields_add_body(f, &body) == 0);
	o = fm_check_body(body);
	FUZZ_CHECK(json_object_object_get_ex(o, "fields", &inner));
	FUZZ_CHECK(json_object_is_type(inner, json_type_object));
	json_object_put(o);
	free(body);
}

/* parts: value \0 collection JSON \0 document JSON (exact-size copies) */
void fm_fields(const struct fuzz_parts *p)
{
	char bad[MODEL_FIELDS_BAD], *f = NULL, *doc = NULL;
	size_t lc = p->n > 1 ? p->len[1] : 0, ld = p->n > 2 ? p->len[2] : 0;
	char *val = fuzz_dup_exact(p->p[0], p->len[0]);
	char *coll = p->n > 1 ? fuzz_dup_exact(p->p[1], lc) : NULL;
	char *dbody = p->n > 2 ? fuzz_dup_exact(p->p[2], ld) : NULL;
	int rc = model_fields_parse(val, p->len[0], &f, bad, sizeof(bad));

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	FUZZ_CHECK(rc == 0 ? f != NULL : f == NULL);
	if (rc == 0) {
		ff_check_form(f);
		ff_with_collection(f, coll, lc);
	}
	rc = model_fields_of_document(dbody, ld, &doc);
	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc == 0) {
		ff_check_form(doc);
		if (f)
			FUZZ_CHECK(model_fields_equal(f, doc) ==
				   model_fields_equal(doc, f));
	}
	free(doc);
	free(f);
	free(val);
	free(coll);
	free(dbody);
}
