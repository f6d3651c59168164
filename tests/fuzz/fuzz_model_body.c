/*
 * fuzz_model_body.c - the fuzz_model drivers of the write helpers of model.h:
 * JSON a user writes to a key or collection.json -> request bodies, and the
 * small bodies and renderings built from plain strings. Called by
 * LLVMFuzzerTestOneInput() in fuzz_model.c; each aborts on a broken
 * invariant.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "model.h"
#include "fuzz.h"
#include "fuzz_model.h"

/*
 * The names in a fieldMask and the members of the change are the same set.
 * Known finding (reported, not fixed): input with both spellings of a field
 * ("expireTime" and "expire_time", "acls" and "aclStrings") puts the name in
 * the mask twice and sends the value of the spelling json-c iterates last,
 * so repeated names are tolerated here.
 */
static void check_mask(struct json_object *changed, const char *mask)
{
	char *m = strdup(mask), *save = NULL;
	size_t members = 0, found = 0;

	FUZZ_CHECK(m != NULL && mask[0] != '\0');
	for (char *t = strtok_r(m, ",", &save); t;
	     t = strtok_r(NULL, ",", &save))
		FUZZ_CHECK(json_object_object_get_ex(changed, t, NULL));
	json_object_object_foreach(changed, k, v)
	{
		size_t kl = strlen(k);

		(void)v;
		members++;
		for (const char *p = mask; (p = strstr(p, k)) != NULL; p += kl)
			if ((p == mask || p[-1] == ',') &&
			    (p[kl] == ',' || p[kl] == '\0')) {
				found++;
				break;
			}
	}
	FUZZ_CHECK(found == members);
	free(m);
}

static void check_change(int rc, const struct model_change *c)
{
	FUZZ_CHECK(memchr(c->field, '\0', sizeof(c->field)) != NULL);
	FUZZ_CHECK(c->rotate == 0 || c->rotate == 1);
	if (rc < 0)
		FUZZ_CHECK(c->body == NULL);
}

void fm_key_create(const struct fuzz_parts *p)
{
	char *name = fuzz_dup_str(p->p[0], p->len[0]);
	const char *in_p = p->n > 1 ? p->p[1] : "";
	size_t in_len = p->n > 1 ? p->len[1] : 0;
	char *in = fuzz_dup_exact(in_p, in_len);
	struct model_change c;
	int rc = model_key_create(name, in, in_len, &c);

	FUZZ_CHECK(rc == 0 || rc == -ENODATA || rc == -EINVAL);
	check_change(rc, &c);
	if (rc == 0) {
		struct json_object *o = fm_check_body(c.body);

		FUZZ_CHECK(fm_member_is(o, "name", name));
		FUZZ_CHECK(!json_object_object_get_ex(o, "disabled", NULL));
		json_object_put(o);
	}
	model_change_release(&c);
	model_change_release(&c); /* twice is safe */
	free(in);
	free(name);
}

/* Each update names an operation the API knows and a definition with a key. */
static void check_fielddef_updates(struct json_object *a)
{
	size_t n;

	FUZZ_CHECK(json_object_is_type(a, json_type_array));
	n = json_object_array_length(a);
	FUZZ_CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		struct json_object *u = json_object_array_get_idx(a, i),
				   *d = NULL;
		const char *op = fm_member_str(u, "operation");

		FUZZ_CHECK(op && (strcmp(op, "FIELD_DEFINITION_ADD") == 0 ||
				  strcmp(op, "FIELD_DEFINITION_DELETE") == 0));
		FUZZ_CHECK(
			json_object_object_get_ex(u, "field_definition", &d) &&
			json_object_is_type(d, json_type_object));
		FUZZ_CHECK(fm_member_str(d, "key") && *fm_member_str(d, "key"));
	}
}

void fm_update(int key, const struct fuzz_parts *p)
{
	static const char *const coll_fields[] = {
		"collection_name", "collection_description",
		"chunk_configuration", "field_definition_updates", NULL
	};
	char *cur = fuzz_dup_exact(p->p[0], p->len[0]);
	const char *in_p = p->n > 1 ? p->p[1] : "";
	size_t in_len = p->n > 1 ? p->len[1] : 0;
	char *in = fuzz_dup_exact(in_p, in_len);
	struct model_change c;
	struct json_object *o, *k = NULL;
	int rc;

	if (key)
		rc = model_key_update(cur, p->len[0], in, in_len, &c);
	else
		rc = model_collection_update(cur, p->len[0], in, in_len, &c);
	FUZZ_CHECK(rc == 0 || rc == -EIO || rc == -EINVAL);
	check_change(rc, &c);
	if (!key)
		FUZZ_CHECK(c.rotate == 0);
	if (rc == 0 && c.body) {
		o = fm_check_body(c.body);
		if (key) {
			FUZZ_CHECK(json_object_object_get_ex(o, "apiKey", &k) &&
				   json_object_is_type(k, json_type_object));
			FUZZ_CHECK(fm_member_str(o, "fieldMask") != NULL);
			check_mask(k, fm_member_str(o, "fieldMask"));
		} else {
			size_t n = 0;

			json_object_object_foreach(o, field, v)
			{
				size_t i;

				for (i = 0; coll_fields[i] &&
					    strcmp(field, coll_fields[i]);
				     i++)
					;
				FUZZ_CHECK(coll_fields[i] != NULL);
				if (strcmp(field, "field_definition_updates") ==
				    0)
					check_fielddef_updates(v);
				n++;
			}
			FUZZ_CHECK(n > 0);
		}
		json_object_put(o);
	}
	model_change_release(&c);
	free(in);
	free(cur);
}

void fm_key_with_secret(const struct fuzz_parts *p)
{
	char *json = fuzz_dup_exact(p->p[0], p->len[0]);
	char *secret = fuzz_dup_str(p->n > 1 ? p->p[1] : "",
				    p->n > 1 ? p->len[1] : 0);
	char *out = NULL;
	size_t olen = 0;
	int rc = model_key_with_secret(json, p->len[0], secret, &out, &olen);

	FUZZ_CHECK(rc == 0 || rc == -EIO);
	if (rc == 0) {
		struct json_object *o = fm_check_rendering(out, olen);

		FUZZ_CHECK(fm_member_is(o, "apiKey", secret));
		json_object_put(o);
		free(out);
	}
	free(secret);
	free(json);
}

void fm_counters(const struct fuzz_parts *p)
{
	struct model_counter c[FUZZ_MAX_PARTS / 2];
	char *s[FUZZ_MAX_PARTS];
	size_t n = p->n / 2, olen = 0;
	char *out = NULL;
	struct json_object *o;

	for (size_t i = 0; i < p->n; i++)
		s[i] = fuzz_dup_str(p->p[i], p->len[i]);
	for (size_t i = 0; i < n; i++) {
		c[i].section = s[2 * i];
		c[i].name = s[2 * i + 1];
		c[i].value = (uint64_t)p->len[2 * i + 1] *
			     0x9e3779b97f4a7c15ULL;
	}
	FUZZ_CHECK(model_render_counters(c, n, &out, &olen) == 0);
	o = fm_check_rendering(out, olen);
	for (size_t i = 0; i < n; i++) {
		struct json_object *sec = NULL, *v = NULL;
		size_t last = i;

		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(c[j].section, c[i].section) &&
			    !strcmp(c[j].name, c[i].name))
				last = j;
		FUZZ_CHECK(json_object_object_get_ex(o, c[i].section, &sec));
		FUZZ_CHECK(json_object_object_get_ex(sec, c[i].name, &v));
		FUZZ_CHECK(json_object_get_int64(v) == (int64_t)c[last].value);
	}
	json_object_put(o);
	free(out);
	for (size_t i = 0; i < p->n; i++)
		free(s[i]);
}

void fm_name_bodies(const char *b, size_t len)
{
	char *name = fuzz_dup_str(b, len), *body = NULL;
	struct json_object *o, *k = NULL;

	FUZZ_CHECK(model_key_rename_body(name, &body) == 0);
	o = fm_check_body(body);
	FUZZ_CHECK(fm_member_is(o, "fieldMask", "name"));
	FUZZ_CHECK(json_object_object_get_ex(o, "apiKey", &k) &&
		   fm_member_is(k, "name", name));
	json_object_put(o);
	free(body);

	FUZZ_CHECK(model_collection_name_body(name, &body) == 0);
	o = fm_check_body(body);
	FUZZ_CHECK(fm_member_is(o, "collection_name", name));
	json_object_put(o);
	free(body);
	free(name);
}
