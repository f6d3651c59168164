/*
 * fuzz_model.h - what the two files of the fuzz_model target share: the
 * checks of renderings and bodies (fuzz_model.c) and the write drivers
 * (fuzz_model_body.c). Every check aborts on failure.
 */
#ifndef XAIFS_FUZZ_MODEL_H
#define XAIFS_FUZZ_MODEL_H

#include <stddef.h>

#include <json-c/json.h>

#include "fuzz.h"

/*
 * Parse s[0..len) as one JSON object (depth up to 64) followed by nothing
 * but '\n' and ' '. Returns a reference the caller puts.
 */
struct json_object *fm_reparse(const char *s, size_t len);

/* A file rendering: NUL-terminated at len, one object, exactly one final '\n'. */
struct json_object *fm_check_rendering(const char *s, size_t len);

/* A request body: one object. */
struct json_object *fm_check_body(const char *s);

/* String member k of o (borrowed), or NULL. */
const char *fm_member_str(struct json_object *o, const char *k);

/* Whether string member k of o equals want, byte for byte. */
int fm_member_is(struct json_object *o, const char *k, const char *want);

/* Drivers, one per selector (input parts as in fuzz_model.c's enum sel). */
void fm_key_create(const struct fuzz_parts *p);
void fm_update(int key, const struct fuzz_parts *p);
void fm_key_with_secret(const struct fuzz_parts *p);
void fm_counters(const struct fuzz_parts *p);
void fm_name_bodies(const char *b, size_t len);
/* fuzz_model_account.c */
void fm_search(const char *b, size_t len);
void fm_invoices(const char *b, size_t len);
void fm_limits(const char *b, size_t len);
void fm_limits_update(const struct fuzz_parts *p);
void fm_search_query(const char *b, size_t len);
void fm_usage_svg(const char *b, size_t len);
/* fuzz_model_fields.c */
void fm_fields(const struct fuzz_parts *p);

#endif
