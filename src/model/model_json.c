/*
 * model_json.c - typed, tolerant access to json-c values and rendering; the
 * helpers every model_*.c file shares. See model_int.h.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "model.h"
#include "model_int.h"

#define RENDER_PRETTY                                        \
	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
	 JSON_C_TO_STRING_NOSLASHESCAPE)

int is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
int is_ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}
/*
 * Parse body as one JSON object followed by nothing but whitespace. *out is
 * the caller's (put it). -EIO for anything else, -ENOMEM if no tokener.
 */
int parse_object(const char *body, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *root;
	size_t end;

	*out = NULL;
	if (!body || len == 0 || len > INT_MAX)
		return -EIO;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	/*
	 * Strict JSON: a number like "08e" is refused rather than kept as text
	 * that re-renders to something no strict parser (or we) reads the same.
	 */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* An object ends at its '}', so no trailing NUL is needed; a bare
	 * number or a truncated body gives json_tokener_continue: -EIO. */
	root = json_tokener_parse_ex(tok, body, (int)len);
	if (root && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(root, json_type_object)) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && is_json_space(body[end]))
			end++;
		if (end == len) {
			*out = root;
			root = NULL;
		}
	}
	json_object_put(root);
	json_tokener_free(tok);
	return *out ? 0 : -EIO;
}
/* Borrowed member under either spelling (k2 may be NULL); NULL if absent/null. */
struct json_object *member(struct json_object *o, const char *k1,
			   const char *k2)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object))
		return NULL;
	if (json_object_object_get_ex(o, k1, &v) && v)
		return v;
	if (k2 && json_object_object_get_ex(o, k2, &v) && v)
		return v;
	return NULL;
}
/*
 * The string value of v, or NULL if v is not a string or holds a NUL byte
 * (which would silently cut an id or a name short).
 */
const char *str_value(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (!s || strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}
int member_array(struct json_object *o, const char *k1, const char *k2,
		 struct json_object **arr, size_t *n)
{
	*arr = member(o, k1, k2);
	*n = 0;
	if (*arr && !json_object_is_type(*arr, json_type_array))
		return -EIO;
	if (*arr)
		*n = json_object_array_length(*arr);
	return 0;
}

const char *member_str(struct json_object *o, const char *k1, const char *k2)
{
	return str_value(member(o, k1, k2));
}
/* Strict decimal: optional sign, digits, nothing else, no overflow. */
int str_to_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !(is_ascii_digit(*s) || *s == '-' || *s == '+'))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}
/* An int64 sent as a JSON number or as a decimal string (proto3 int64). */
int int64_value(struct json_object *v, int64_t *out)
{
	double d;

	switch (json_object_get_type(v)) {
	case json_type_int:
		*out = json_object_get_int64(v); /* clamps uint64 */
		return 0;
	case json_type_double:
		d = json_object_get_double(v);
		/* also false for NaN; the cast is UB outside this range */
		if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
			return -EINVAL;
		*out = (int64_t)d;
		return 0;
	case json_type_string:
		return str_to_int64(str_value(v), out);
	default:
		return -EINVAL;
	}
}
int member_int64(struct json_object *o, const char *k1, const char *k2,
		 int64_t *out)
{
	return int64_value(member(o, k1, k2), out);
}
/* A finite double sent as a number or a numeric string. */
int double_value(struct json_object *v, double *out)
{
	const char *s;
	char *end;
	double d;

	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		d = json_object_get_double(v);
		break;
	case json_type_string:
		s = str_value(v);
		if (!s || !*s || is_json_space(*s))
			return -EINVAL;
		d = strtod(s, &end);
		if (*end)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (!isfinite(d))
		return -EINVAL;
	*out = d;
	return 0;
}
/*
 * Add an owned value v under k. *rc keeps the first error, so a run of adds
 * is checked once at its end; v is put whenever it is not added.
 */
void put_member(struct json_object *o, const char *k, struct json_object *v,
		int *rc)
{
	if (*rc == 0 && v && json_object_object_add(o, k, v) == 0)
		return;
	json_object_put(v);
	if (*rc == 0)
		*rc = -ENOMEM;
}
/* Add a new reference to a borrowed value (NULL is written as null). */
void put_ref(struct json_object *o, const char *k, struct json_object *borrowed,
	     int *rc)
{
	if (*rc)
		return;
	json_object_get(borrowed);
	if (json_object_object_add(o, k, borrowed) != 0) {
		json_object_put(borrowed);
		*rc = -ENOMEM;
	}
}
int array_push(struct json_object *a, struct json_object *v)
{
	if (v && json_object_array_add(a, v) == 0)
		return 0;
	json_object_put(v);
	return -ENOMEM;
}
/* Pretty rendering plus '\n' into a new string. */
int render_json(struct json_object *o, char **out, size_t *out_len)
{
	const char *s;
	size_t n;
	char *p;

	s = json_object_to_json_string_length(o, RENDER_PRETTY, &n);
	if (!s)
		return -ENOMEM;
	p = malloc(n + 2);
	if (!p)
		return -ENOMEM;
	memcpy(p, s, n);
	p[n++] = '\n';
	p[n] = '\0';
	*out = p;
	if (out_len)
		*out_len = n;
	return 0;
}
int append_json_line(struct buf *b, struct json_object *o)
{
	const char *line = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = line ? buf_puts(b, line) : -ENOMEM;

	return rc == 0 ? buf_puts(b, "\n") : rc;
}
/* Fill r with copies of id and name and the rendering of obj. */
int res_init_from(struct res *r, const char *id, const char *name,
		  struct json_object *obj)
{
	memset(r, 0, sizeof(*r));
	r->size = -1;
	r->id = strdup(id);
	r->raw_name = strdup(name ? name : "");
	if (!r->id || !r->raw_name ||
	    render_json(obj, &r->json, &r->json_len)) {
		res_release(r);
		return -ENOMEM;
	}
	return 0;
}
int nonempty(const char *s)
{
	return s && *s;
}
char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}
