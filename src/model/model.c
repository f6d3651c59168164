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
#include "model_int.h"

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
	else if (nonempty(scope_id) && strcmp(scope, "SCOPE_ORGANIZATION") != 0)
		pick = scope_id; /* an organization's id is never a team's */
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
	const char *list[2];  /* envelope array, both spellings */
	const char *token[2]; /* next page token, both spellings */
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
	rc = member_array(root, k->list[0], k->list[1], &arr, &n);
	if (rc < 0)
		goto out;
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
	if (res_init_from(r, id, member_str(o, "name", NULL), o) < 0)
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
	if (res_init_from(r, id, name, o) < 0)
		return -ENOMEM;
	r->mtime = member_time(o, "created_at", "createdAt");
	if (member_int64(o, "documents_count", "documentsCount", &c) == 0 &&
	    c > 0)
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
	if (res_init_from(r, id, member_str(fm, "name", NULL), o) < 0)
		return -ENOMEM;
	if (nonempty(member_str(fm, "hash", NULL)) &&
	    !(r->hash = strdup(member_str(fm, "hash", NULL)))) {
		res_release(r);
		return -ENOMEM;
	}
	r->mtime = member_time(fm, "created_at", "createdAt");
	if (member_int64(fm, "size_bytes", "sizeBytes", &s) == 0 && s >= 0)
		r->size = s;
	return 0;
}

static const struct page_kind keys_page = {
	{ "apiKeys", "api_keys" },
	{ "paginationToken", "pagination_token" },
	key_entry,
};
static const struct page_kind collections_page = {
	{ "collections", NULL },
	{ "pagination_token", "paginationToken" },
	collection_entry,
};
static const struct page_kind documents_page = {
	{ "documents", NULL },
	{ "pagination_token", "paginationToken" },
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
	struct json_object *seen;    /* name -> model object (a reference) */
	struct json_object *order;   /* model objects, first seen first */
	struct json_object *regions; /* [{clusterName, models}] */
};

/* Add s to the string array a unless it is there already. */
static int push_unique(struct json_object *a, const char *s)
{
	size_t i, n = json_object_array_length(a);

	for (i = 0; i < n; i++)
		if (!strcmp(json_object_get_string(
				    json_object_array_get_idx(a, i)),
			    s))
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
	const char *cname;	    /* clusterName, "" if missing */
	struct json_object *models; /* its names, in order (borrowed) */
	struct json_object *seen;   /* set of those names (owned) */
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
		rc = models_take(m, json_object_array_get_idx(list, i), type,
				 rg);
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
			json_object_put(o); /* else array_push put it */
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
		rc = res_init_from(&r, name, name, model);
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
		rc = render_json(o, regions, regions_len);
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
	rc = member_array(root, "clusterConfigs", "cluster_configs", &clusters,
			  &n);
	if (rc < 0)
		goto out;
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
/* Single objects (answers of writes)                                 */
/* ------------------------------------------------------------------ */

static int parse_one(const char *body, size_t len, entry_fn fn, struct res *out)
{
	struct json_object *o = NULL;
	int rc = parse_object(body, len, &o);

	if (rc == 0)
		rc = fn(o, out);
	json_object_put(o);
	return rc > 0 ? -EIO : rc;
}

int model_parse_key(const char *body, size_t len, struct res *out,
		    char **secret)
{
	struct json_object *o = NULL;
	const char *s;
	int rc;

	*secret = NULL;
	rc = parse_object(body, len, &o);
	if (rc < 0)
		return rc;
	s = member_str(o, "apiKey", "api_key");
	if (nonempty(s) && !(*secret = strdup(s)))
		rc = -ENOMEM;
	if (rc == 0)
		rc = key_entry(o, out);
	if (rc > 0)
		rc = -EIO;
	if (rc < 0 && *secret) {
		explicit_bzero(*secret, strlen(*secret));
		free(*secret);
		*secret = NULL;
	}
	json_object_put(o);
	return rc;
}

int model_parse_collection(const char *body, size_t len, struct res *out)
{
	return parse_one(body, len, collection_entry, out);
}

int model_parse_document(const char *body, size_t len, struct res *out)
{
	return parse_one(body, len, document_entry, out);
}

/* A file id anywhere an upload answer may carry one. */
static const char *upload_answer_id(struct json_object *o)
{
	const char *id = member_str(o, "file_id", "fileId");

	if (!nonempty(id))
		id = member_str(o, "id", NULL);
	if (!nonempty(id))
		id = member_str(member(o, "file_metadata", "fileMetadata"),
				"file_id", "fileId");
	return nonempty(id) ? id : NULL;
}

int model_parse_upload_answer(const char *body, size_t len, struct res *out,
			      char **id)
{
	struct json_object *o = NULL, *fm;
	int rc;

	*id = NULL;
	if (parse_object(body, len, &o) < 0)
		return 1; /* stored all the same: the 2xx says so */
	fm = member(o, "file_metadata", "fileMetadata");
	if (nonempty(member_str(fm, "name", NULL))) {
		rc = document_entry(o, out);
		if (rc <= 0) {
			json_object_put(o);
			return rc;
		}
	}
	rc = 1;
	if (upload_answer_id(o) && !(*id = strdup(upload_answer_id(o))))
		rc = -ENOMEM;
	json_object_put(o);
	return rc;
}

int model_collection_set_count(struct res *r, int64_t count)
{
	struct json_object *o = NULL, *old, *v;
	const char *k = "documents_count";
	char *json = NULL, num[32];
	size_t len = 0;
	int rc = parse_object(r->json, r->json_len, &o);

	if (rc < 0)
		return rc;
	if (!json_object_object_get_ex(o, k, &old) &&
	    json_object_object_get_ex(o, "documentsCount", &old))
		k = "documentsCount";
	if (count < 0)
		count = 0;
	/* Keep the server's type: int64 values often come as JSON strings. */
	snprintf(num, sizeof(num), "%lld", (long long)count);
	v = json_object_object_get_ex(o, k, &old) &&
			    json_object_is_type(old, json_type_string)
		    ? json_object_new_string(num)
		    : json_object_new_int64(count);
	put_member(o, k, v, &rc);
	if (rc == 0)
		rc = render_json(o, &json, &len);
	json_object_put(o);
	if (rc < 0)
		return rc;
	free(r->json);
	r->json = json;
	r->json_len = len;
	r->count = count;
	return 0;
}

int model_parse_file_id(const char *body, size_t len, char **id)
{
	struct json_object *o = NULL;
	const char *s;
	int rc = parse_object(body, len, &o);

	*id = NULL;
	if (rc == 0) {
		s = member_str(o, "id", "file_id");
		if (!nonempty(s))
			rc = -EIO;
		else if (!(*id = strdup(s)))
			rc = -ENOMEM;
	}
	json_object_put(o);
	return rc;
}
