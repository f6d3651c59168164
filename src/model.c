/*
 * model.c - JSON <-> plain C for the xAI Management API. See model.h.
 *
 * json-c reference rules, relied on everywhere below:
 *  - a parse result and every json_object_new_*() value start with one
 *    reference, owned by us until given away;
 *  - children found with json_object_object_get_ex() (member()) or
 *    json_object_array_get_idx() are borrowed: never put them;
 *  - json_object_object_add() and json_object_array_add() steal the value's
 *    reference on success; on failure we still own it and put it.
 * Every value from the server is type-checked before use: json-c asserts on
 * some calls made with the wrong type (array_length, object_del).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "model.h"

#define RENDER_PRETTY (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
		       JSON_C_TO_STRING_NOSLASHESCAPE)

/* ------------------------------------------------------------------ */
/* Parsing and typed access                                           */
/* ------------------------------------------------------------------ */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parse body as one JSON object followed by nothing but whitespace. *out is
 * the caller's (put it). -EIO for anything else, -ENOMEM if no tokener.
 */
static int parse_object(const char *body, size_t len, struct json_object **out)
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
	/* An object ends at its '}', so no trailing NUL is needed; a bare
	 * number or a truncated body gives json_tokener_continue: -EIO. */
	root = json_tokener_parse_ex(tok, body, (int)len);
	if (root && json_tokener_get_error(tok) == json_tokener_success &&
	    json_object_is_type(root, json_type_object)) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && is_space(body[end]))
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
static struct json_object *member(struct json_object *o, const char *k1,
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
static const char *str_value(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (!s || strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

static const char *member_str(struct json_object *o, const char *k1,
			      const char *k2)
{
	return str_value(member(o, k1, k2));
}

/* Strict decimal: optional sign, digits, nothing else, no overflow. */
static int str_to_int64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !(is_digit(*s) || *s == '-' || *s == '+'))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* An int64 sent as a JSON number or as a decimal string (proto3 int64). */
static int int64_value(struct json_object *v, int64_t *out)
{
	double d;

	switch (json_object_get_type(v)) {
	case json_type_int:
		*out = json_object_get_int64(v);	/* clamps uint64 */
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

static int member_int64(struct json_object *o, const char *k1, const char *k2,
			int64_t *out)
{
	return int64_value(member(o, k1, k2), out);
}

/* A finite double sent as a number or a numeric string. */
static int double_value(struct json_object *v, double *out)
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
		if (!s || !*s || is_space(*s))
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

/* A timestamp (RFC 3339 string or Unix seconds); 0 when missing or bad. */
static int64_t member_time(struct json_object *o, const char *k1,
			   const char *k2)
{
	struct json_object *v = member(o, k1, k2);
	int64_t t = 0;

	if (json_object_is_type(v, json_type_string)) {
		if (model_parse_time(str_value(v), &t) < 0)
			t = 0;
	} else if (int64_value(v, &t) < 0) {
		t = 0;
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* Building and rendering                                             */
/* ------------------------------------------------------------------ */

/*
 * Add an owned value v under k. *rc keeps the first error, so a run of adds
 * is checked once at its end; v is put whenever it is not added.
 */
static void put_member(struct json_object *o, const char *k,
		       struct json_object *v, int *rc)
{
	if (*rc == 0 && v && json_object_object_add(o, k, v) == 0)
		return;
	json_object_put(v);
	if (*rc == 0)
		*rc = -ENOMEM;
}

/* Add a new reference to a borrowed value (NULL is written as null). */
static void put_ref(struct json_object *o, const char *k,
		    struct json_object *borrowed, int *rc)
{
	if (*rc)
		return;
	json_object_get(borrowed);
	if (json_object_object_add(o, k, borrowed) != 0) {
		json_object_put(borrowed);
		*rc = -ENOMEM;
	}
}

static int array_push(struct json_object *a, struct json_object *v)
{
	if (v && json_object_array_add(a, v) == 0)
		return 0;
	json_object_put(v);
	return -ENOMEM;
}

/* Pretty rendering plus '\n' into a new string. */
static int render(struct json_object *o, char **out, size_t *out_len)
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

/* Fill r with copies of id and name and the rendering of obj. */
static int res_init(struct res *r, const char *id, const char *name,
		    struct json_object *obj)
{
	memset(r, 0, sizeof(*r));
	r->size = -1;
	r->id = strdup(id);
	r->raw_name = strdup(name ? name : "");
	if (!r->id || !r->raw_name || render(obj, &r->json, &r->json_len)) {
		res_release(r);
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Validation (whoami)                                                */
/* ------------------------------------------------------------------ */

void whoami_release(struct whoami *w)
{
	if (!w)
		return;
	free(w->team_id);
	free(w->scope);
	free(w->key_id);
	free(w->name);
	memset(w, 0, sizeof(*w));
}

static int nonempty(const char *s)
{
	return s && *s;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

int model_parse_validation(const char *body, size_t len, struct whoami *out)
{
	struct json_object *root = NULL;
	const char *scope, *scope_id, *team, *pick = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = parse_object(body, len, &root);
	if (rc < 0)
		return rc;
	scope = member_str(root, "scope", NULL);
	scope_id = member_str(root, "scopeId", "scope_id");
	team = member_str(root, "teamId", "team_id");
	if (!scope)
		scope = "";
	if (nonempty(scope_id) && (!*scope || !strcmp(scope, "SCOPE_TEAM") ||
				   !strcmp(scope, "SCOPE_UNSPECIFIED")))
		pick = scope_id;
	else if (nonempty(team))
		pick = team;
	else if (nonempty(scope_id))
		pick = scope_id;
	out->team_id = dup_or_empty(pick);
	out->scope = dup_or_empty(scope);
	out->key_id = dup_or_empty(member_str(root, "apiKeyId", "api_key_id"));
	out->name = dup_or_empty(member_str(root, "name", NULL));
	if (!out->team_id || !out->scope || !out->key_id || !out->name) {
		whoami_release(out);
		rc = -ENOMEM;
	}
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* List pages                                                         */
/* ------------------------------------------------------------------ */

/* Fill r from one list item: 0 filled, 1 skip the item, -ENOMEM. */
typedef int (*entry_fn)(struct json_object *item, struct res *r);

struct page_kind {
	const char *list[2];	/* envelope array, both spellings */
	const char *token[2];	/* next page token, both spellings */
	entry_fn entry;
};

static int parse_page(const char *body, size_t len, struct reslist *out,
		      char **next, const struct page_kind *k)
{
	struct json_object *root = NULL, *arr, *item;
	const char *tok;
	char *nt = NULL;
	size_t i, n = 0;
	struct res r;
	int rc;

	if (next)
		*next = NULL;
	rc = parse_object(body, len, &root);
	if (rc < 0)
		return rc;
	arr = member(root, k->list[0], k->list[1]);
	if (arr && !json_object_is_type(arr, json_type_array)) {
		rc = -EIO;
		goto out;
	}
	if (arr)
		n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		item = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(item, json_type_object))
			continue;
		rc = k->entry(item, &r);
		if (rc == 0)
			rc = reslist_append(out, &r);
		if (rc < 0)
			goto out;
	}
	rc = 0;
	tok = member_str(root, k->token[0], k->token[1]);
	if (nonempty(tok) && next) {
		nt = strdup(tok);
		if (!nt)
			rc = -ENOMEM;
		*next = nt;
	}
out:
	json_object_put(root);
	return rc;
}

static int key_entry(struct json_object *o, struct res *r)
{
	const char *id = member_str(o, "apiKeyId", "api_key_id");
	int64_t t;

	if (!nonempty(id))
		return 1;
	/* the secret never reaches a rendering (id is another member) */
	json_object_object_del(o, "apiKey");
	json_object_object_del(o, "api_key");
	t = member_time(o, "modifyTime", "modify_time");
	if (!t)
		t = member_time(o, "createTime", "create_time");
	if (res_init(r, id, member_str(o, "name", NULL), o) < 0)
		return -ENOMEM;
	r->mtime = t;
	return 0;
}

static int collection_entry(struct json_object *o, struct res *r)
{
	const char *id = member_str(o, "collection_id", "collectionId");
	const char *name = member_str(o, "collection_name", "collectionName");
	int64_t c;

	if (!nonempty(id))
		return 1;
	if (res_init(r, id, name, o) < 0)
		return -ENOMEM;
	r->mtime = member_time(o, "created_at", "createdAt");
	if (member_int64(o, "documents_count", "documentsCount", &c) == 0 && c > 0)
		r->count = c;
	return 0;
}

static int document_entry(struct json_object *o, struct res *r)
{
	struct json_object *fm = member(o, "file_metadata", "fileMetadata");
	const char *id = member_str(fm, "file_id", "fileId");
	int64_t s;

	if (!nonempty(id))
		return 1;
	if (res_init(r, id, member_str(fm, "name", NULL), o) < 0)
		return -ENOMEM;
	r->mtime = member_time(fm, "created_at", "createdAt");
	if (member_int64(fm, "size_bytes", "sizeBytes", &s) == 0 && s >= 0)
		r->size = s;
	return 0;
}

static const struct page_kind keys_page = {
	{ "apiKeys", "api_keys" }, { "paginationToken", "pagination_token" },
	key_entry,
};
static const struct page_kind collections_page = {
	{ "collections", NULL }, { "pagination_token", "paginationToken" },
	collection_entry,
};
static const struct page_kind documents_page = {
	{ "documents", NULL }, { "pagination_token", "paginationToken" },
	document_entry,
};

int model_parse_keys_page(const char *body, size_t len, struct reslist *out,
			  char **next)
{
	return parse_page(body, len, out, next, &keys_page);
}

int model_parse_collections_page(const char *body, size_t len,
				 struct reslist *out, char **next)
{
	return parse_page(body, len, out, next, &collections_page);
}

int model_parse_documents_page(const char *body, size_t len,
			       struct reslist *out, char **next)
{
	return parse_page(body, len, out, next, &documents_page);
}

/* ------------------------------------------------------------------ */
/* Models                                                             */
/* ------------------------------------------------------------------ */

static const char *const model_types[][3] = {
	{ "languageModels", "language_models", "language" },
	{ "embeddingModels", "embedding_models", "embedding" },
	{ "imageGenerationModels", "image_generation_models", "image" },
	{ "audioModels", "audio_models", "audio" },
	{ "videoGenerationModels", "video_generation_models", "video" },
};

/* modelType for a cluster member name; NULL unless it names a model list. */
static const char *model_type(const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < sizeof(model_types) / sizeof(model_types[0]); i++)
		if (!strcmp(key, model_types[i][0]) ||
		    !strcmp(key, model_types[i][1]))
			return model_types[i][2];
	if (n >= 6 && !strcasecmp(key + n - 6, "models"))
		return key;
	return NULL;
}

struct models {
	struct json_object *seen;	/* name -> model object (a reference) */
	struct json_object *order;	/* model objects, first seen first */
	struct json_object *regions;	/* [{clusterName, models}] */
};

/* Add s to the string array a unless it is there already. */
static int push_unique(struct json_object *a, const char *s)
{
	size_t i, n = json_object_array_length(a);

	for (i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s))
			return 0;
	return array_push(a, json_object_new_string(s));
}

/* First sighting of a model: tag it and remember it. */
static int models_first(struct models *m, struct json_object *model,
			const char *name, const char *type)
{
	int rc = 0;

	put_member(model, "modelType", json_object_new_string(type), &rc);
	put_member(model, "clusters", json_object_new_array(), &rc);
	put_ref(m->seen, name, model, &rc);
	if (rc == 0)
		rc = array_push(m->order, json_object_get(model));
	return rc;
}

/* One cluster being read. */
struct region {
	const char *cname;		/* clusterName, "" if missing */
	struct json_object *models;	/* its names, in order (borrowed) */
	struct json_object *seen;	/* set of those names (owned) */
};

static int models_take(struct models *m, struct json_object *model,
		       const char *type, struct region *rg)
{
	const char *name = member_str(model, "name", NULL);
	struct json_object *prev = NULL;
	int rc = 0;

	if (!json_object_is_type(model, json_type_object) || !nonempty(name))
		return 0;
	/* listed twice in one cluster: everything below is done already */
	if (json_object_object_get_ex(rg->seen, name, NULL))
		return 0;
	put_ref(rg->seen, name, NULL, &rc);
	if (rc == 0)
		rc = array_push(rg->models, json_object_new_string(name));
	if (rc < 0)
		return rc;
	if (!json_object_object_get_ex(m->seen, name, &prev)) {
		rc = models_first(m, model, name, type);
		prev = model;
	}
	/* a model's cluster list is short; the scan only guards against two
	 * clusters sent with the same clusterName */
	if (rc == 0 && *rg->cname)
		rc = push_unique(member(prev, "clusters", NULL), rg->cname);
	return rc;
}

static int models_list(struct models *m, struct json_object *list,
		       const char *type, struct region *rg)
{
	size_t i, n = json_object_array_length(list);
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = models_take(m, json_object_array_get_idx(list, i), type, rg);
	return rc;
}

/* Start the region entry of a cluster in m->regions. */
static int region_open(struct models *m, struct region *rg)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	rg->models = json_object_new_array();
	rg->seen = json_object_new_object();
	if (!rg->models || !rg->seen || array_push(m->regions, o) < 0) {
		if (!rg->models || !rg->seen)
			json_object_put(o);	/* else array_push put it */
		json_object_put(rg->models);
		return -ENOMEM;
	}
	/* o and rg->models stay valid as borrowed children of m->regions */
	put_member(o, "clusterName", json_object_new_string(rg->cname), &rc);
	put_member(o, "models", rg->models, &rc);
	return rc;
}

static int models_cluster(struct models *m, struct json_object *cluster)
{
	struct region rg = { NULL, NULL, NULL };
	struct json_object_iterator it, end;
	struct json_object *val;
	const char *type;
	int rc;

	rg.cname = member_str(cluster, "clusterName", "cluster_name");
	if (!rg.cname)
		rg.cname = "";
	rc = region_open(m, &rg);
	it = json_object_iter_begin(cluster);
	end = json_object_iter_end(cluster);
	for (; rc == 0 && !json_object_iter_equal(&it, &end);
	     json_object_iter_next(&it)) {
		type = model_type(json_object_iter_peek_name(&it));
		val = json_object_iter_peek_value(&it);
		if (type && json_object_is_type(val, json_type_array))
			rc = models_list(m, val, type, &rg);
	}
	json_object_put(rg.seen);
	return rc;
}

static int models_append(struct models *m, struct reslist *out)
{
	size_t i, n = json_object_array_length(m->order);
	struct json_object *model;
	struct res r;
	const char *name;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		model = json_object_array_get_idx(m->order, i);
		name = member_str(model, "name", NULL);
		rc = res_init(&r, name, name, model);
		if (rc == 0)
			rc = reslist_append(out, &r);
	}
	return rc;
}

static int models_regions(struct models *m, char **regions, size_t *regions_len)
{
	struct json_object *o = json_object_new_object();
	int rc = o ? 0 : -ENOMEM;

	put_ref(o, "regions", m->regions, &rc);
	if (rc == 0 && regions)
		rc = render(o, regions, regions_len);
	json_object_put(o);
	return rc;
}

int model_parse_models(const char *body, size_t len, struct reslist *out,
		       char **regions, size_t *regions_len)
{
	struct models m = { NULL, NULL, NULL };
	struct json_object *root = NULL, *clusters, *c;
	size_t i, n = 0;
	int rc;

	if (regions)
		*regions = NULL;
	if (regions_len)
		*regions_len = 0;
	rc = parse_object(body, len, &root);
	if (rc < 0)
		return rc;
	rc = -EIO;
	clusters = member(root, "clusterConfigs", "cluster_configs");
	if (clusters && !json_object_is_type(clusters, json_type_array))
		goto out;
	if (clusters)
		n = json_object_array_length(clusters);
	rc = -ENOMEM;
	m.seen = json_object_new_object();
	m.order = json_object_new_array();
	m.regions = json_object_new_array();
	if (!m.seen || !m.order || !m.regions)
		goto out;
	rc = 0;
	for (i = 0; i < n && rc == 0; i++) {
		c = json_object_array_get_idx(clusters, i);
		if (json_object_is_type(c, json_type_object))
			rc = models_cluster(&m, c);
	}
	/* regions last, so that *regions is NULL on every error */
	if (rc == 0)
		rc = models_append(&m, out);
	if (rc == 0)
		rc = models_regions(&m, regions, regions_len);
out:
	json_object_put(m.seen);
	json_object_put(m.order);
	json_object_put(m.regions);
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Times                                                              */
/* ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* n decimal digits at s; stops at a NUL, so never reads past one. */
static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The zone at p ("Z" or "+HH:MM"/"-HH:MM", then the end): seconds east. */
static int parse_zone(const char *p, int *east)
{
	int h, m;

	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		*east = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || digits(p + 1, 2, &h) || p[3] != ':' ||
	    digits(p + 4, 2, &m) || p[6] || h > 23 || m > 59)
		return -EINVAL;
	*east = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

int model_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, east;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	if (str_to_int64(s, out) == 0)
		return 0;
	/* each test runs only if the previous ones matched, so no overread */
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (!is_digit(*++p))
			return -EINVAL;
		while (is_digit(*p))
			p++;
	}
	if (parse_zone(p, &east) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - east;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Usage                                                              */
/* ------------------------------------------------------------------ */

struct period {
	char start[48];		/* "YYYY-MM-01 00:00:00" */
	char end[48];		/* the day after now, 00:00:00 (exclusive) */
};

static void usage_period(time_t now, struct period *p)
{
	int64_t t = (int64_t)now, days, y;
	int m, d;

	days = t / 86400 - (t % 86400 < 0);	/* floor */
	civil_from_days(days, &y, &m, &d);
	snprintf(p->start, sizeof(p->start), "%04lld-%02d-01 00:00:00",
		 (long long)y, m);
	civil_from_days(days + 1, &y, &m, &d);
	snprintf(p->end, sizeof(p->end), "%04lld-%02d-%02d 00:00:00",
		 (long long)y, m, d);
}

int model_usage_request(time_t now, char **body)
{
	/* every interpolated byte is a digit, '-', ':' or ' ': no escaping */
	static const char fmt[] =
		"{\"analyticsRequest\":{"
		"\"timeRange\":{\"startTime\":\"%s\",\"endTime\":\"%s\","
		"\"timezone\":\"Etc/GMT\"},"
		"\"timeUnit\":\"TIME_UNIT_DAY\","
		"\"values\":[{\"name\":\"usd\",\"aggregation\":\"AGGREGATION_SUM\"}],"
		"\"groupBy\":[\"description\"],"
		"\"filters\":[]}}";
	struct period p;

	*body = NULL;
	usage_period(now, &p);
	if (asprintf(body, fmt, p.start, p.end) < 0) {
		*body = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Sum of every data point's first value (non-numbers are skipped). */
static double usage_total(struct json_object *series)
{
	struct json_object *s, *pts, *vals;
	size_t i, j, n = json_object_array_length(series), np;
	double sum = 0, v;

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(series, i);
		pts = member(s, "dataPoints", "data_points");
		if (!json_object_is_type(pts, json_type_array))
			continue;
		np = json_object_array_length(pts);
		for (j = 0; j < np; j++) {
			vals = member(json_object_array_get_idx(pts, j), "values", NULL);
			if (json_object_is_type(vals, json_type_array) &&
			    json_object_array_length(vals) > 0 &&
			    double_value(json_object_array_get_idx(vals, 0), &v) == 0)
				sum += v;
		}
	}
	return sum;
}

/*
 * USD as a JSON number rounded to micro-dollars ("1.5194", not
 * "1.5194000000000001"); NULL (written as null) if not finite.
 */
static struct json_object *usd_number(double v)
{
	char s[64];
	size_t n;

	if (!isfinite(v))
		return NULL;
	if (fabs(v) >= 1e15)
		return json_object_new_double(v);
	snprintf(s, sizeof(s), "%.6f", v);
	n = strlen(s);
	while (n > 2 && s[n - 1] == '0' && s[n - 2] != '.')
		s[--n] = '\0';
	return json_object_new_double_s(v, strcmp(s, "-0.0") ? s : "0.0");
}

int model_render_usage(time_t now, const char *body, size_t len, char **out,
		       size_t *out_len)
{
	struct json_object *root = NULL, *o = NULL, *ts, *lr, *usd;
	struct period p;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = parse_object(body, len, &root);
	if (rc < 0)
		return rc;
	ts = member(root, "timeSeries", "time_series");
	lr = member(root, "limitReached", "limit_reached");
	rc = -EIO;
	if (ts && !json_object_is_type(ts, json_type_array))
		goto out;
	rc = -ENOMEM;
	o = json_object_new_object();
	if (!o)
		goto out;
	rc = 0;
	usage_period(now, &p);
	put_member(o, "startTime", json_object_new_string(p.start), &rc);
	put_member(o, "endTime", json_object_new_string(p.end), &rc);
	put_member(o, "timezone", json_object_new_string("Etc/GMT"), &rc);
	put_member(o, "timeUnit", json_object_new_string("TIME_UNIT_DAY"), &rc);
	usd = ts ? usd_number(usage_total(ts)) : usd_number(0);
	if (usd)
		put_member(o, "totalUsd", usd, &rc);
	else
		put_ref(o, "totalUsd", NULL, &rc);
	if (ts)
		put_ref(o, "timeSeries", ts, &rc);
	else
		put_member(o, "timeSeries", json_object_new_array(), &rc);
	put_member(o, "limitReached", json_object_new_boolean(
			   json_object_is_type(lr, json_type_boolean) &&
			   json_object_get_boolean(lr)), &rc);
	if (rc == 0)
		rc = render(o, out, out_len);
out:
	json_object_put(o);
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Billing                                                            */
/* ------------------------------------------------------------------ */

/* A NULL body is "not available": *out stays NULL and renders as null. */
static int parse_opt(const char *body, size_t len, struct json_object **out)
{
	*out = NULL;
	return body ? parse_object(body, len, out) : 0;
}

/* abs(total.val) of a prepaid balance (negative means credit left). */
static int64_t prepaid_cents(struct json_object *balance)
{
	struct json_object *t = member(balance, "total", NULL);
	int64_t v;

	if (json_object_is_type(t, json_type_object))
		t = member(t, "val", NULL);
	if (int64_value(t, &v) < 0)
		return 0;
	if (v == INT64_MIN)
		return INT64_MAX;
	return v < 0 ? -v : v;
}

int model_render_billing(const char *balance, size_t balance_len,
			 const char *limits, size_t limits_len,
			 const char *preview, size_t preview_len,
			 char **out, size_t *out_len)
{
	struct json_object *bal = NULL, *lim = NULL, *pre = NULL, *o = NULL;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = parse_opt(balance, balance_len, &bal);
	if (rc == 0)
		rc = parse_opt(limits, limits_len, &lim);
	if (rc == 0)
		rc = parse_opt(preview, preview_len, &pre);
	if (rc < 0)
		goto out;
	o = json_object_new_object();
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	put_member(o, "prepaidCreditCents",
		   json_object_new_int64(prepaid_cents(bal)), &rc);
	put_ref(o, "balance", bal, &rc);
	put_ref(o, "spendingLimits",
		member(lim, "spendingLimits", "spending_limits"), &rc);
	put_ref(o, "invoicePreview", pre, &rc);
	if (rc == 0)
		rc = render(o, out, out_len);
out:
	json_object_put(o);
	json_object_put(bal);
	json_object_put(lim);
	json_object_put(pre);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                       */
/* ------------------------------------------------------------------ */

/* Expected length of a UTF-8 sequence from its lead byte (1 if not a lead). */
static size_t utf8_seq_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	return c >= 0xc0 ? 2 : 1;
}

/* Drop a UTF-8 sequence left incomplete at the end of msg[0..n). */
static size_t trim_partial_utf8(const char *msg, size_t n)
{
	size_t j = n;

	while (j > 0 && ((unsigned char)msg[j - 1] & 0xc0) == 0x80)
		j--;
	if (j > 0 && (unsigned char)msg[j - 1] >= 0xc0 &&
	    n - (j - 1) < utf8_seq_len((unsigned char)msg[j - 1]))
		return j - 1;
	return n;
}

/* First non-blank line of s[0..n) into msg, control bytes dropped. */
static void copy_line(const char *s, size_t n, char *msg, size_t msgsz)
{
	size_t i = 0, o = 0;
	unsigned char c;
	int cut = 0;

	while (i < n && is_space(s[i]))
		i++;
	for (; i < n && s[i] != '\n' && s[i] != '\r'; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			continue;
		if (o + 1 >= msgsz) {
			cut = 1;
			break;
		}
		msg[o++] = (char)c;
	}
	if (cut)
		o = trim_partial_utf8(msg, o);
	while (o > 0 && msg[o - 1] == ' ')
		o--;
	msg[o] = '\0';
}

void model_error_message(const char *body, size_t len, char *msg, size_t msgsz)
{
	struct json_object *root = NULL;
	const char *s = NULL;

	if (!msg || msgsz == 0)
		return;
	msg[0] = '\0';
	if (!body || len == 0)
		return;
	if (parse_object(body, len, &root) == 0) {
		s = member_str(root, "error", NULL);
		if (!nonempty(s))
			s = member_str(root, "message", NULL);
		if (!nonempty(s))
			s = member_str(member(root, "error", NULL), "message", NULL);
	}
	if (nonempty(s))
		copy_line(s, strlen(s), msg, msgsz);
	else
		copy_line(body, len, msg, msgsz);
	json_object_put(root);
}
