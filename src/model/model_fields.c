/* model_fields.c - documents' fields as JSON; see model_fields.h. */
#include "model_fields.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

#define FIELDS_FORM (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Whether s is well-formed UTF-8 (no overlong forms, no surrogates). */
static int fields_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp, min;

		if (c < 0x80) {
			p++;
			continue;
		}
		n = c >= 0xf0 && c < 0xf5   ? 3
		    : c >= 0xe0 && c < 0xf0 ? 2
		    : c >= 0xc2 && c < 0xe0 ? 1
					    : 0;
		if (!n)
			return 0;
		cp = c & (0x3f >> n);
		min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* Whether (k, v) is an entry of the compact form: a UTF-8 key, a UTF-8 string
 * without NUL. */
static int fields_entry_ok(const char *k, struct json_object *v)
{
	const char *s = json_object_is_type(v, json_type_string)
				? json_object_get_string(v)
				: NULL;

	return *k && fields_utf8(k) && s &&
	       strlen(s) == (size_t)json_object_get_string_len(v) &&
	       fields_utf8(s);
}

/* The compact form of o, in *out. */
static int fields_render(struct json_object *o, char **out)
{
	const char *s = json_object_to_json_string_ext(o, FIELDS_FORM);

	*out = s ? strdup(s) : NULL;
	return *out ? 0 : -ENOMEM;
}

int model_fields_parse(const char *value, size_t len, char **out, char *bad,
		       size_t bad_size)
{
	struct json_object *root = NULL;
	int rc;

	*out = NULL;
	snprintf(bad, bad_size, "%s", "");
	if (len > MODEL_FIELDS_MAX || parse_object(value, len, &root) < 0)
		return -EINVAL;
	rc = 0;
	json_object_object_foreach(root, k, v)
	{
		/* A string with a NUL byte would be cut: refuse it too. */
		if (!fields_entry_ok(k, v)) {
			snprintf(bad, bad_size, "%s",
				 *k && fields_utf8(k) ? k : "(a key)");
			rc = -EINVAL;
			break;
		}
	}
	if (rc == 0)
		rc = fields_render(root, out);
	json_object_put(root);
	return rc;
}

int model_fields_of_document(const char *doc, size_t len, char **out)
{
	struct json_object *root = NULL, *f, *keep = NULL;
	int rc;

	*out = NULL;
	rc = parse_object(doc, len, &root);
	if (rc < 0)
		return rc;
	keep = json_object_new_object();
	if (!keep) {
		rc = -ENOMEM;
		goto out;
	}
	f = member(root, "fields", NULL);
	if (json_object_is_type(f, json_type_object)) {
		json_object_object_foreach(f, k, v)
		{
			if (fields_entry_ok(k, v))
				put_ref(keep, k, v, &rc);
		}
	}
	if (rc == 0)
		rc = fields_render(keep, out);
out:
	json_object_put(keep);
	json_object_put(root);
	return rc;
}

int model_fields_missing(const char *coll, size_t coll_len, const char *fields,
			 char *missing, size_t missing_size)
{
	struct json_object *c = NULL, *f = NULL, *defs;
	int rc;

	snprintf(missing, missing_size, "%s", "");
	rc = parse_object(coll, coll_len, &c);
	if (rc == 0)
		rc = parse_object(fields, strlen(fields), &f);
	if (rc < 0)
		goto out;
	defs = member(c, "field_definitions", "fieldDefinitions");
	for (size_t i = 0; json_object_is_type(defs, json_type_array) &&
			   i < json_object_array_length(defs);
	     i++) {
		struct json_object *d = json_object_array_get_idx(defs, i);
		const char *key = member_str(d, "key", NULL);
		const char *val = key ? member_str(f, key, NULL) : NULL;
		struct json_object *req = member(d, "required", NULL);

		if (key && json_object_is_type(req, json_type_boolean) &&
		    json_object_get_boolean(req) && (!val || !*val)) {
			snprintf(missing, missing_size, "%s", key);
			rc = 1;
			break;
		}
	}
out:
	json_object_put(f);
	json_object_put(c);
	return rc;
}

int model_fields_add_body(const char *fields, char **body)
{
	struct json_object *f = NULL, *o = NULL;
	int rc;

	*body = NULL;
	rc = parse_object(fields, strlen(fields), &f);
	if (rc < 0)
		return -EINVAL;
	o = json_object_new_object();
	if (!o) {
		json_object_put(f);
		return -ENOMEM;
	}
	put_member(o, "fields", f, &rc);
	if (rc == 0)
		rc = fields_render(o, body);
	json_object_put(o);
	return rc;
}

int model_fields_equal(const char *a, const char *b)
{
	struct json_object *x = NULL, *y = NULL;
	int eq = 0;

	if (parse_object(a, strlen(a), &x) == 0 &&
	    parse_object(b, strlen(b), &y) == 0)
		eq = json_object_equal(x, y);
	json_object_put(x);
	json_object_put(y);
	return eq;
}
