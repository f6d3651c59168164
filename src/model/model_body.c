/*
 * model_body.c - request bodies for writes: what JSON written to a key or a
 * collection.json asks the API to change. See model.h ("writes").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "model.h"
#include "model_int.h"

/* A field users may write: its spellings and its canonical (wire) name. */
struct field {
	const char *wire; /* name in responses and update masks */
	const char *alt1; /* other accepted spellings, or NULL */
	const char *alt2;
	enum json_type type; /* json_type_null: string or number (int64) */
};

static const struct field key_fields[] = {
	{ "name", NULL, NULL, json_type_string },
	{ "aclStrings", "acls", "acl_strings", json_type_array },
	{ "qps", NULL, NULL, json_type_int },
	{ "qpm", NULL, NULL, json_type_int },
	{ "tpm", NULL, NULL, json_type_null },
	{ "disabled", NULL, NULL, json_type_boolean },
	{ "expireTime", "expire_time", NULL, json_type_string },
	{ NULL, NULL, NULL, 0 }
};

static const struct field coll_fields[] = {
	{ "collection_name", "collectionName", NULL, json_type_string },
	{ "collection_description", "collectionDescription", NULL,
	  json_type_string },
	{ "chunk_configuration", "chunkConfiguration", NULL, json_type_object },
	{ NULL, NULL, NULL, 0 }
};

/* What a new collection may be created with (collections/NAME.json). */
static const struct field coll_create_fields[] = {
	{ "collection_name", "collectionName", NULL, json_type_string },
	{ "collection_description", "collectionDescription", NULL,
	  json_type_string },
	{ "index_configuration", "indexConfiguration", NULL, json_type_object },
	{ "chunk_configuration", "chunkConfiguration", NULL, json_type_object },
	{ "metric_space", "metricSpace", NULL, json_type_string },
	{ "field_definitions", "fieldDefinitions", NULL, json_type_array },
	{ NULL, NULL, NULL, 0 }
};

void model_change_release(struct model_change *c)
{
	free(c->body);
	free(c->rotate_body);
	c->body = NULL;
	c->rotate_body = NULL;
}

static void change_init(struct model_change *c)
{
	memset(c, 0, sizeof(*c));
}

static int bad_field(struct model_change *c, const char *field)
{
	snprintf(c->field, sizeof(c->field), "%s", field);
	return -EINVAL;
}

static const struct field *find_field(const struct field *t, const char *k)
{
	for (; t->wire; t++)
		if (strcmp(k, t->wire) == 0 ||
		    (t->alt1 && strcmp(k, t->alt1) == 0) ||
		    (t->alt2 && strcmp(k, t->alt2) == 0))
			return t;
	return NULL;
}

/* Parse user input: empty is -ENODATA, anything but an object -EINVAL. */
static int parse_input(const char *in, size_t len, struct json_object **out,
		       struct model_change *c)
{
	size_t i = 0;

	while (i < len && is_json_space(in[i]))
		i++;
	if (i == len)
		return -ENODATA;
	if (parse_object(in, len, out) < 0)
		return bad_field(c, "");
	return 0;
}

/* Check a value's type; int64 fields take numbers or decimal strings. */
static int type_ok(const struct field *f, struct json_object *v)
{
	int64_t n;

	if (f->type == json_type_null)
		return v == NULL || int64_value(v, &n) == 0;
	if (f->type == json_type_int)
		return json_object_is_type(v, json_type_int);
	return json_object_is_type(v, f->type);
}

/* The value as sent on the wire: int64 fields become decimal strings. */
static struct json_object *wire_value(const struct field *f,
				      struct json_object *v)
{
	char buf[32];
	int64_t n;

	if (f->type == json_type_null && v && int64_value(v, &n) == 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)n);
		return json_object_new_string(buf);
	}
	return json_object_get(v);
}

/* Whether v (a wire value, may be NULL) equals cur's member (missing =
 * default). */
static int same_as_current(struct json_object *cur, const struct field *f,
			   struct json_object *v)
{
	struct json_object *c = member(cur, f->wire, f->alt1);
	int same;

	if (!c && !v)
		return 1;
	if (!c) {
		switch (json_object_get_type(v)) {
		case json_type_boolean:
			return !json_object_get_boolean(v);
		case json_type_int:
			return json_object_get_int64(v) == 0;
		case json_type_string:
			return json_object_get_string_len(v) == 0;
		case json_type_array:
			return json_object_array_length(v) == 0;
		default:
			return 0;
		}
	}
	if (!v)
		return 0;
	same = json_object_equal(c, v);
	return same;
}

/*
 * A field's rule in a create request: -EINVAL refuses the value, else 0 with
 * *wire set to the name it is sent under (f->wire unless the rule says).
 */
typedef int (*create_rule)(const struct field *f, struct json_object *v,
			   const char **wire);

/*
 * The body of a create from the user's JSON: name_wire is set to name (the
 * file's name; the JSON may repeat it but not change it), every other member
 * must be a field of t with the right type, given once, and pass rule.
 */
static int create_body(const struct field *t, const char *name_wire,
		       const char *name, create_rule rule, const char *in,
		       size_t in_len, struct model_change *out)
{
	struct json_object *o = NULL, *req = NULL;
	int rc;

	change_init(out);
	rc = parse_input(in, in_len, &o, out);
	if (rc < 0)
		return rc;
	req = json_object_new_object();
	if (!req) {
		rc = -ENOMEM;
		goto out;
	}
	put_member(req, name_wire, json_object_new_string(name), &rc);
	json_object_object_foreach(o, k, v)
	{
		const struct field *f = find_field(t, k);
		const char *wire = f ? f->wire : NULL;

		if (rc < 0)
			break;
		if (!f || !type_ok(f, v) || (rule && rule(f, v, &wire) < 0)) {
			rc = bad_field(out, k);
			break;
		}
		if (strcmp(f->wire, name_wire) == 0) {
			if (strcmp(json_object_get_string(v), name) != 0)
				rc = bad_field(out, k);
			continue;
		}
		if (member(req, wire, NULL)) { /* two spellings of one field */
			rc = bad_field(out, k);
			break;
		}
		put_member(req, wire, wire_value(f, v), &rc);
	}
	if (rc == 0)
		rc = render_json(req, &out->body, NULL);
out:
	json_object_put(o);
	json_object_put(req);
	return rc;
}

/* Keys are created enabled, and the create request spells the ACL list "acls". */
static int key_create_rule(const struct field *f, struct json_object *v,
			   const char **wire)
{
	(void)v;
	if (strcmp(f->wire, "disabled") == 0)
		return -EINVAL;
	if (strcmp(f->wire, "aclStrings") == 0)
		*wire = "acls";
	return 0;
}

int model_key_create(const char *name, const char *in, size_t in_len,
		     struct model_change *out)
{
	return create_body(key_fields, "name", name, key_create_rule, in,
			   in_len, out);
}

/* Whether the comma-separated mask already names field. */
static int mask_has(const char *mask, const char *field)
{
	size_t n = strlen(field);

	for (const char *p = mask; (p = strstr(p, field)) != NULL; p += n)
		if ((p == mask || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * Collect the changed fields of in (against cur) into changed, their wire
 * names into mask. Read-only fields must be unchanged.
 */
static int diff_fields(const struct field *t, struct json_object *cur,
		       struct json_object *in, struct json_object *changed,
		       char *mask, size_t mask_sz, struct model_change *out)
{
	int rc = 0;

	json_object_object_foreach(in, k, v)
	{
		const struct field *f = find_field(t, k);
		struct json_object *w;

		if (rc < 0)
			break;
		if (!f) {
			struct json_object *c = member(cur, k, NULL);

			if (!c || !json_object_equal(c, v))
				rc = bad_field(out, k);
			continue;
		}
		if (!type_ok(f, v)) {
			rc = bad_field(out, k);
			continue;
		}
		if (mask && mask_has(mask, f->wire)) {
			rc = bad_field(out, k); /* two spellings of one field */
			continue;
		}
		w = wire_value(f, v);
		if (same_as_current(cur, f, w)) {
			json_object_put(w);
			continue;
		}
		if (mask && *mask)
			strncat(mask, ",", mask_sz - strlen(mask) - 1);
		if (mask)
			strncat(mask, f->wire, mask_sz - strlen(mask) - 1);
		put_member(changed, f->wire, w, &rc);
	}
	return rc;
}

/* Parse cur (a rendering we made) and the user's input; drop ignorable members.
 */
static int load_pair(const char *cur, size_t cur_len, const char *in,
		     size_t in_len, struct json_object **c,
		     struct json_object **i, struct model_change *out)
{
	int rc;

	rc = parse_object(cur, cur_len, c);
	if (rc < 0)
		return rc;
	rc = parse_input(in, in_len, i, out);
	if (rc == -ENODATA)
		return bad_field(out, "");
	return rc;
}

/*
 * "oldSecretExpireTime" (RFC 3339) goes with "rotate": true into the rotate
 * request: how long the old secret keeps working. It is taken out of in.
 */
static int rotate_request(struct json_object *in, struct model_change *out)
{
	struct json_object *v = member(in, "oldSecretExpireTime",
				       "old_secret_expire_time");
	struct json_object *req;
	const char *s = str_value(v);
	int64_t t;
	int rc = 0;

	if (!v)
		return 0;
	if (!out->rotate || !s || model_parse_time(s, &t) < 0 ||
	    strlen(s) < 20 || s[4] != '-')
		return bad_field(out, "oldSecretExpireTime");
	req = json_object_new_object();
	if (!req)
		return -ENOMEM;
	put_member(req, "oldSecretExpireTime", json_object_new_string(s), &rc);
	if (rc == 0)
		rc = render_json(req, &out->rotate_body, NULL);
	json_object_put(req);
	json_object_object_del(in, "oldSecretExpireTime");
	json_object_object_del(in, "old_secret_expire_time");
	return rc;
}

int model_key_update(const char *cur, size_t cur_len, const char *in,
		     size_t in_len, struct model_change *out)
{
	struct json_object *c = NULL, *i = NULL, *changed = NULL, *req = NULL,
			   *rot;
	char mask[256] = "";
	int rc;

	change_init(out);
	rc = load_pair(cur, cur_len, in, in_len, &c, &i, out);
	if (rc < 0)
		goto out;
	rot = member(i, "rotate", NULL);
	if (rot && !json_object_is_type(rot, json_type_boolean)) {
		rc = bad_field(out, "rotate");
		goto out;
	}
	out->rotate = rot && json_object_get_boolean(rot);
	json_object_object_del(i, "rotate");
	rc = rotate_request(i, out);
	if (rc < 0)
		goto out;
	json_object_object_del(i,
			       "apiKey"); /* the secret we showed: never sent */
	changed = json_object_new_object();
	if (!changed) {
		rc = -ENOMEM;
		goto out;
	}
	rc = diff_fields(key_fields, c, i, changed, mask, sizeof(mask), out);
	if (rc < 0 || !*mask)
		goto out;
	req = json_object_new_object();
	if (!req) {
		rc = -ENOMEM;
		goto out;
	}
	json_object_get(changed);
	put_member(req, "apiKey", changed, &rc);
	put_member(req, "fieldMask", json_object_new_string(mask), &rc);
	if (rc == 0)
		rc = render_json(req, &out->body, NULL);
out:
	json_object_put(c);
	json_object_put(i);
	json_object_put(changed);
	json_object_put(req);
	return rc;
}

/* The definition in array a whose "key" is key, or NULL. */
static struct json_object *fielddef_find(struct json_object *a, const char *key)
{
	size_t n = a ? json_object_array_length(a) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(a, i);
		const char *k = member_str(d, "key", NULL);

		if (k && strcmp(k, key) == 0)
			return d;
	}
	return NULL;
}

/* Append {"field_definition": def (a new reference), "operation": op} to ups. */
static int fielddef_op(struct json_object *ups, struct json_object *def,
		       const char *op)
{
	struct json_object *u = json_object_new_object();
	int rc = u ? 0 : -ENOMEM;

	put_ref(u, "field_definition", def, &rc);
	put_member(u, "operation", json_object_new_string(op), &rc);
	if (rc < 0) {
		json_object_put(u);
		return rc;
	}
	return array_push(ups, u);
}

/* Every definition of a is an object with a non-empty string "key", each key
 * once. */
static int fielddefs_ok(struct json_object *a)
{
	size_t n = json_object_array_length(a);

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(a, i);
		const char *k = member_str(d, "key", NULL);

		if (!json_object_is_type(d, json_type_object) || !nonempty(k))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (strcmp(k,
				   member_str(json_object_array_get_idx(a, j),
					      "key", NULL)) == 0)
				return 0;
	}
	return 1;
}

/*
 * An edited field_definitions list becomes field_definition_updates: ADD
 * (the API upserts by key) for each definition that is new or changed,
 * DELETE for each key no longer listed. The member is taken out of in, so
 * the plain field diff does not see it. Appends to mask when there is an update.
 */
static int fielddef_updates(struct json_object *cur, struct json_object *in,
			    struct json_object *changed, char *mask,
			    size_t mask_sz, struct model_change *out)
{
	const char *name = json_object_object_get_ex(in, "field_definitions",
						     NULL)
				   ? "field_definitions"
				   : "fieldDefinitions";
	struct json_object *nd = member(in, name, NULL);
	struct json_object *cd = member(cur, "field_definitions",
					"fieldDefinitions");
	struct json_object *ups;
	size_t n;
	int rc = 0;

	if (!nd)
		return 0;
	if (!json_object_is_type(nd, json_type_array) || !fielddefs_ok(nd))
		return bad_field(out, name);
	if (cd && !json_object_is_type(cd, json_type_array))
		cd = NULL;
	ups = json_object_new_array();
	if (!ups)
		return -ENOMEM;
	n = json_object_array_length(nd);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct json_object *d = json_object_array_get_idx(nd, i);
		struct json_object *old = fielddef_find(
			cd, member_str(d, "key", NULL));

		if (!old || !json_object_equal(old, d))
			rc = fielddef_op(ups, d, "FIELD_DEFINITION_ADD");
	}
	n = cd ? json_object_array_length(cd) : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct json_object *d = json_object_array_get_idx(cd, i);
		const char *k = member_str(d, "key", NULL);

		if (k && !fielddef_find(nd, k))
			rc = fielddef_op(ups, d, "FIELD_DEFINITION_DELETE");
	}
	if (rc == 0 && json_object_array_length(ups) > 0) {
		if (*mask)
			strncat(mask, ",", mask_sz - strlen(mask) - 1);
		strncat(mask, "field_definition_updates",
			mask_sz - strlen(mask) - 1);
		put_member(changed, "field_definition_updates",
			   json_object_get(ups), &rc);
	}
	json_object_put(ups);
	json_object_object_del(in, name);
	return rc;
}

static int coll_create_rule(const struct field *f, struct json_object *v,
			    const char **wire)
{
	(void)wire;
	return strcmp(f->wire, "field_definitions") == 0 && !fielddefs_ok(v)
		       ? -EINVAL
		       : 0;
}

int model_collection_create(const char *name, const char *in, size_t in_len,
			    struct model_change *out)
{
	return create_body(coll_create_fields, "collection_name", name,
			   coll_create_rule, in, in_len, out);
}

int model_collection_update(const char *cur, size_t cur_len, const char *in,
			    size_t in_len, struct model_change *out)
{
	struct json_object *c = NULL, *i = NULL, *changed = NULL;
	char mask[256] = "";
	int rc;

	change_init(out);
	rc = load_pair(cur, cur_len, in, in_len, &c, &i, out);
	if (rc < 0)
		goto out;
	changed = json_object_new_object();
	if (!changed) {
		rc = -ENOMEM;
		goto out;
	}
	rc = fielddef_updates(c, i, changed, mask, sizeof(mask), out);
	if (rc == 0)
		rc = diff_fields(coll_fields, c, i, changed, mask, sizeof(mask),
				 out);
	if (rc == 0 && *mask)
		rc = render_json(changed, &out->body, NULL);
out:
	json_object_put(c);
	json_object_put(i);
	json_object_put(changed);
	return rc;
}

int model_key_rename_body(const char *name, char **body)
{
	struct json_object *o = json_object_new_object(),
			   *k = json_object_new_object();
	int rc = 0;

	if (!o || !k) {
		json_object_put(o);
		json_object_put(k);
		return -ENOMEM;
	}
	put_member(k, "name", json_object_new_string(name), &rc);
	put_member(o, "apiKey", k, &rc);
	put_member(o, "fieldMask", json_object_new_string("name"), &rc);
	if (rc == 0)
		rc = render_json(o, body, NULL);
	json_object_put(o);
	return rc;
}

int model_collection_name_body(const char *name, char **body)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return -ENOMEM;
	put_member(o, "collection_name", json_object_new_string(name), &rc);
	if (rc == 0)
		rc = render_json(o, body, NULL);
	json_object_put(o);
	return rc;
}

int model_key_with_secret(const char *json, size_t len, const char *secret,
			  char **out, size_t *out_len)
{
	struct json_object *o = NULL;
	int rc = parse_object(json, len, &o);

	if (rc < 0)
		return rc;
	put_member(o, "apiKey", json_object_new_string(secret), &rc);
	if (rc == 0)
		rc = render_json(o, out, out_len);
	json_object_put(o);
	return rc;
}
