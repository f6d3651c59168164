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
#include "reslist.h"

int is_json_space(char c);
int is_ascii_digit(char c);
int parse_object(const char *body, size_t len, struct json_object **out);
struct json_object *member(struct json_object *o, const char *k1,
			   const char *k2);
const char *str_value(struct json_object *v);
const char *member_str(struct json_object *o, const char *k1, const char *k2);
/* An optional array member: *arr and its length *n (NULL and 0 when absent);
 * -EIO when the member holds something else. */
int member_array(struct json_object *o, const char *k1, const char *k2,
		 struct json_object **arr, size_t *n);
int str_to_int64(const char *s, int64_t *out);
int int64_value(struct json_object *v, int64_t *out);
int member_int64(struct json_object *o, const char *k1, const char *k2,
		 int64_t *out);
int double_value(struct json_object *v, double *out);
int64_t member_time(struct json_object *o, const char *k1, const char *k2);
void put_member(struct json_object *o, const char *k, struct json_object *v,
		int *rc);
void put_ref(struct json_object *o, const char *k, struct json_object *borrowed,
	     int *rc);
int array_push(struct json_object *a, struct json_object *v);
int render_json(struct json_object *o, char **out, size_t *out_len);
struct buf;
/* o as one compact line of JSON Lines (plain, '/' unescaped, then '\n'). */
int append_json_line(struct buf *b, struct json_object *o);
int res_init_from(struct res *r, const char *id, const char *name,
		  struct json_object *obj);
int nonempty(const char *s);
char *dup_or_empty(const char *s);

/* Days since 1970-01-01 of a proleptic Gregorian date (model_time.c). */
int64_t days_from_civil(int64_t y, int m, int d);
/* The date of a day number: the inverse of days_from_civil() (model_time.c). */
void civil_from_days(int64_t z, int64_t *y, int *m, int *d);

#endif
