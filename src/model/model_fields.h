/*
 * model_fields.h - a document's fields (xai-api.md 7.6: `fields`, a map of
 * string keys to string values) as the user gives them in the
 * "user.xai.fields" attribute, as documents and collections carry them, and
 * as uploads send them. Part of the model module: the rules of model.h
 * (tolerance, ownership, no I/O, no locks, no globals) apply.
 *
 * Owns: the one compact form every fields value takes inside the mount:
 * a JSON object printed without spaces, keys in the order given (for
 * example {"author":"ann","year":"2024"}). It is what getfattr shows, what
 * the multipart `fields` part and the add-file body carry, and what
 * model_fields_equal() compares.
 */
#ifndef XAIFS_MODEL_FIELDS_H
#define XAIFS_MODEL_FIELDS_H

#include <stddef.h>

#define MODEL_FIELDS_MAX \
	(64u << 10) /* an attribute value is at most this (the kernel's cap) */
#define MODEL_FIELDS_BAD 128 /* room for the offending key in a message */

/*
 * A user's value (setxattr): one JSON object whose values are all strings
 * (UTF-8), keys non-empty. *out gets the compact form (free()). On -EINVAL,
 * bad names what is wrong: the first key whose value is not a string or
 * that is empty ("" when the value is not a JSON object at all). -ENOMEM.
 */
int model_fields_parse(const char *value, size_t len, char **out, char *bad,
		       size_t bad_size);

/*
 * The fields of a document as listed (DocumentMetadata JSON): the compact
 * form, "{}" when it has none. Entries the compact form cannot hold (a value
 * that is not a string, an empty or non-UTF-8 key or value) are left out. 0,
 * -EIO for a body that is not an object, -ENOMEM.
 */
int model_fields_of_document(const char *doc, size_t len, char **out);

/*
 * Check fields (compact form) against a collection's field_definitions
 * (CollectionMetadata JSON): a definition with "required": true whose key is
 * missing or empty in fields makes this return 1, with the key in missing.
 * 0 when every required field is given (or none is required); -EIO when
 * either body is not an object.
 */
int model_fields_missing(const char *coll, size_t coll_len, const char *fields,
			 char *missing, size_t missing_size);

/* The body of POST /v1/collections/{id}/documents/{file_id}: {"fields":{...}}.
 * 0 or -errno. */
int model_fields_add_body(const char *fields, char **body);

/* Whether two compact forms hold the same keys and values (order aside). */
int model_fields_equal(const char *a, const char *b);

#endif
