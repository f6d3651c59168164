/*
 * model_int.h - helpers shared by the model_*.c files only (never included
 * outside the model module). The json-c reference rules of model.c apply:
 * member() results are borrowed; put_member() steals v; parse_object()'s
 * result is the caller's to put.
 */
#ifndef XAIFS_MODEL_INT_H
#define XAIFS_MODEL_INT_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "res.h"

int mj_is_space(char c);
int mj_is_digit(char c);
int mj_parse_object(const char *body, size_t len, struct json_object **out);
struct json_object *mj_member(struct json_object *o, const char *k1, const char *k2);
const char *mj_str_value(struct json_object *v);
const char *mj_member_str(struct json_object *o, const char *k1, const char *k2);
int mj_str_to_int64(const char *s, int64_t *out);
int mj_int64_value(struct json_object *v, int64_t *out);
int mj_member_int64(struct json_object *o, const char *k1, const char *k2, int64_t *out);
int mj_double_value(struct json_object *v, double *out);
int64_t mj_member_time(struct json_object *o, const char *k1, const char *k2);
void mj_put_member(struct json_object *o, const char *k, struct json_object *v, int *rc);
void mj_put_ref(struct json_object *o, const char *k, struct json_object *borrowed, int *rc);
int mj_array_push(struct json_object *a, struct json_object *v);
int mj_render(struct json_object *o, char **out, size_t *out_len);
int mj_res_init(struct res *r, const char *id, const char *name, struct json_object *obj);
int mj_nonempty(const char *s);
char *mj_dup_or_empty(const char *s);

#endif
