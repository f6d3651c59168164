/*
 * api.c - the Management API calls of api.h: listings followed to their end,
 * the rendered reads, the download and the writes. Each is one api_req (or
 * one per page) through api_send() or api_exchange() (api_route.c).
 */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"

#define API_MAX_PAGES \
	100000 /* a server that never ends a listing is an error */

static int api_ans_whoami(void *ctx, struct buf *body)
{
	return model_parse_validation(body->data ? body->data : "", body->len,
				      ctx);
}

int api_validate(struct api *a, struct whoami *out)
{
	return api_send(a, &(struct api_req){ .route = API_VALIDATE },
			api_ans_whoami, out);
}

/* ---- listings ---- */

/* One page's parser: what it holds into ctx, *added how many, *next the next
 * token or NULL. */
typedef int (*api_page_fn)(void *ctx, const char *body, size_t len,
			   size_t *added, char **next);

struct api_page_ans {
	api_page_fn fn;
	void *ctx;
	size_t added;
	char *next;
};

static int api_ans_page(void *ctx, struct buf *body)
{
	struct api_page_ans *p = ctx;

	return p->fn(p->ctx, body->data ? body->data : "", body->len, &p->added,
		     &p->next);
}

/*
 * Where a listing goes after a page: 1 to stop, 0 to fetch *next. The end
 * is a missing or empty token (the parsers give NULL for both), and also,
 * with one log line, a page with no entries that still carries a token and
 * a token already seen: the one just sent, or the one saved at the last
 * power-of-two page (Brent's cycle check: any loop of pages is caught
 * within twice its length, with no memory of every token).
 */
static int api_list_done(enum api_route route, int page, size_t added,
			 const char *sent, char **saved, const char *next)
{
	if (!next)
		return 1;
	if ((sent && strcmp(next, sent) == 0) ||
	    (*saved && strcmp(next, *saved) == 0)) {
		log_warn(
			"%s: the server repeated a page token after page %d; the listing "
			"ends there",
			api_route_name(route), page + 1);
		return 1;
	}
	if (added == 0) {
		log_warn(
			"%s: page %d was empty but carried a next-page token; the listing "
			"ends there",
			api_route_name(route), page + 1);
		return 1;
	}
	if (sent && ((page + 1) & page) == 0) {
		free(*saved);
		*saved = strdup(
			sent); /* on ENOMEM the check just skips a round */
	}
	return 0;
}

/*
 * Follow rq's listing from its first page through fn into ctx. After
 * max_pages pages it ends: with -EIO and a log line when strict, else quietly.
 */
static int api_follow(struct api *a, struct api_req *rq, int max_pages,
		      int strict, api_page_fn fn, void *ctx)
{
	struct api_page_ans p = { fn, ctx, 0, NULL };
	char *token = NULL, *saved = NULL;
	int rc = 0, page;

	for (page = 0; rc == 0 && page < max_pages; page++) {
		rq->token = token;
		p.added = 0;
		rc = api_send(a, rq, api_ans_page, &p);
		if (rc == 0 && api_list_done(rq->route, page, p.added, token,
					     &saved, p.next))
			break;
		free(token);
		token = p.next;
		p.next = NULL;
	}
	if (rc == 0 && page == max_pages && strict) {
		log_error("%s: more than %d pages, giving up",
			  api_route_name(rq->route), max_pages);
		rc = -EIO;
	}
	rq->token = NULL;
	free(token);
	free(p.next);
	free(saved);
	return rc;
}

struct api_list_pages {
	int (*fn)(const char *body, size_t len, struct reslist *out,
		  char **next);
	struct reslist *list;
};

static int api_list_page(void *ctx, const char *body, size_t len, size_t *added,
			 char **next)
{
	struct api_list_pages *c = ctx;
	size_t before = c->list->n;
	int rc = c->fn(body, len, c->list, next);

	*added = c->list->n - before;
	return rc;
}

/* A whole listing into a new list. */
static int api_list(struct api *a, struct api_req *rq,
		    int (*fn)(const char *, size_t, struct reslist *, char **),
		    struct reslist **out)
{
	struct api_list_pages c = { fn, reslist_new() };
	int rc;

	if (!c.list)
		return -ENOMEM;
	rc = api_follow(a, rq, API_MAX_PAGES, 1, api_list_page, &c);
	if (rc < 0) {
		reslist_unref(c.list);
		return rc;
	}
	*out = c.list;
	return 0;
}

/* limit= of the collections routes: the page size, at most (and by default)
 * 100. */
static int api_limit(const struct api *a)
{
	return a->o.page_size > 0 && a->o.page_size < 100 ? a->o.page_size
							  : 100;
}

int api_list_keys(struct api *a, struct reslist **out)
{
	/* Without pageSize the route answers every key at once (a token is
	 * still followed). */
	struct api_req rq = { .route = API_LIST_KEYS,
			      .page_size = a->o.page_size };

	return api_list(a, &rq, model_parse_keys_page, out);
}

int api_list_collections(struct api *a, struct reslist **out)
{
	struct api_req rq = { .route = API_LIST_COLLECTIONS,
			      .page_size = api_limit(a) };

	return api_list(a, &rq, model_parse_collections_page, out);
}

int api_list_documents(struct api *a, const char *collection_id,
		       struct reslist **out)
{
	struct api_req rq = {
		.route = API_LIST_DOCUMENTS,
		.id = { collection_id },
		.page_size = api_limit(a),
	};

	return api_list(a, &rq, model_parse_documents_page, out);
}

struct api_audit_pages {
	struct buf lines;
	size_t count;
};

static int api_audit_page(void *ctx, const char *body, size_t len,
			  size_t *added, char **next)
{
	struct api_audit_pages *c = ctx;
	size_t before = c->count;
	int rc = model_audit_page(body, len, &c->lines, &c->count, next);

	*added = c->count - before;
	return rc;
}

int api_audit(struct api *a, int max_pages, char **out, size_t *out_len)
{
	struct api_req rq = { .route = API_AUDIT, .page_size = 100 };
	struct api_audit_pages c = { .count = 0 };
	int rc;

	buf_init(&c.lines, HTTP_BODY_MAX);
	rc = api_follow(a, &rq, max_pages, 0, api_audit_page, &c);
	if (rc == 0) {
		*out = buf_take(&c.lines, out_len);
		rc = *out ? 0 : -ENOMEM;
	}
	buf_release(&c.lines);
	return rc;
}

struct api_models_ans {
	struct reslist *list;
	char **regions;
	size_t *regions_len;
};

static int api_ans_models(void *ctx, struct buf *body)
{
	struct api_models_ans *c = ctx;

	return model_parse_models(body->data ? body->data : "", body->len,
				  c->list, c->regions, c->regions_len);
}

int api_list_models(struct api *a, struct reslist **out, char **regions,
		    size_t *regions_len)
{
	struct api_models_ans c = { reslist_new(), regions, regions_len };
	int rc;

	if (!c.list)
		return -ENOMEM;
	rc = api_send(a, &(struct api_req){ .route = API_LIST_MODELS },
		      api_ans_models, &c);
	if (rc < 0) {
		reslist_unref(c.list);
		return rc;
	}
	*out = c.list;
	return 0;
}

/* ---- rendered reads ---- */

struct api_usage_ans {
	int year, month; /* month 0: the usage file of now */
	time_t now;
	char **out;
	size_t *out_len;
};

static int api_ans_usage(void *ctx, struct buf *body)
{
	struct api_usage_ans *c = ctx;
	const char *d = body->data ? body->data : "";

	if (c->month == 0)
		return model_render_usage(c->now, d, body->len, c->out,
					  c->out_len);
	return model_render_usage_month(c->year, c->month, c->now, d, body->len,
					c->out, c->out_len);
}

/* POST the usage request req (freed here, may be NULL on a failed rc) and
 * render the answer. */
static int api_usage_post(struct api *a, int rc, char *req,
			  struct api_usage_ans *c)
{
	if (rc == 0)
		rc = api_send(
			a, &(struct api_req){ .route = API_USAGE, .json = req },
			api_ans_usage, c);
	free(req);
	return rc;
}

int api_usage(struct api *a, time_t now, char **out, size_t *out_len)
{
	struct api_usage_ans c = { 0, 0, now, out, out_len };
	char *req = NULL;
	int rc = model_usage_request(now, &req);

	return api_usage_post(a, rc, req, &c);
}

int api_usage_month(struct api *a, int year, int month, time_t now, char **out,
		    size_t *out_len)
{
	struct api_usage_ans c = { year, month, now, out, out_len };
	char *req = NULL;
	int rc = model_usage_month_request(year, month, now, &req);

	return api_usage_post(a, rc, req, &c);
}

/*
 * The billing file shows every part that answered; a part that failed (a
 * prepaid-only team is refused the postpaid routes) is null, with its reason
 * under "errors". Only when no part answered does reading fail.
 */
int api_billing(struct api *a, char **out, size_t *out_len)
{
	static const enum api_route routes[MODEL_BILLING_PARTS] = {
		API_BALANCE,
		API_SPENDING_LIMITS,
		API_INVOICE_PREVIEW,
	};
	char *body[MODEL_BILLING_PARTS] = { NULL },
	     msg[MODEL_BILLING_PARTS][256];
	struct api_text_ans t[MODEL_BILLING_PARTS];
	struct api_many m[MODEL_BILLING_PARTS];
	struct model_billing b;
	int rc = 0, first_rc = 0, answered = 0;

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < MODEL_BILLING_PARTS; i++) {
		t[i] = (struct api_text_ans){ NULL, &body[i], &b.len[i] };
		m[i] = (struct api_many){ a,
					  { .route = routes[i],
					    .why = msg[i],
					    .whysz = sizeof(msg[i]) },
					  api_ans_object,
					  &t[i],
					  0 };
	}
	/* The three parts are independent: one round trip, not three. */
	api_send_all(m, MODEL_BILLING_PARTS);
	for (int i = 0; i < MODEL_BILLING_PARTS; i++) {
		if (m[i].rc == -ENOMEM)
			rc = -ENOMEM;
		b.body[i] = body[i];
		b.error[i] = m[i].rc < 0 ? msg[i] : NULL;
		answered += m[i].rc == 0;
		if (m[i].rc < 0 && !first_rc)
			first_rc = m[i].rc;
	}
	if (rc == 0)
		rc = answered ? model_render_billing(&b, out, out_len)
			      : first_rc;
	for (int i = 0; i < MODEL_BILLING_PARTS; i++)
		free(body[i]);
	return rc;
}

int api_key_propagation(struct api *a, const char *key_id, char **out,
			size_t *out_len)
{
	struct api_text_ans t = { model_pretty, out, out_len };

	return api_send(a,
			&(struct api_req){ .route = API_KEY_PROPAGATION,
					   .id = { key_id } },
			api_ans_text, &t);
}

int api_download_file(struct api *a, const char *file_id, int fd,
		      uint64_t *bytes, void (*landed)(void *arg), void *arg)
{
	struct api_req rq = {
		.route = API_FILE_CONTENT,
		.id = { file_id },
		.fd = fd,
		.landed = landed,
		.landed_arg = arg,
		.subject = file_id,
	};
	struct http_resp resp;
	int rc;

	http_resp_init(&resp);
	rc = api_exchange(a, &rq, &resp);
	if (rc == 0)
		*bytes = resp.bytes;
	http_resp_release(&resp);
	return rc;
}

/* ---- writes ---- */

/* One write of route on ids, its answer (when out is given) parsed by fn into
 * out. */
static int api_write_res(struct api *a, enum api_route route, const char *id0,
			 const char *id1, const char *json,
			 int (*fn)(const char *, size_t, struct res *),
			 struct res *out)
{
	struct api_res_ans c = { fn, out };
	struct api_req rq = { .route = route,
			      .id = { id0, id1 },
			      .json = json };

	return api_send(a, &rq, fn && out ? api_ans_res : NULL, &c);
}

/* A write answered by a key: out, and its one-time secret when secret is given.
 */
static int api_write_key(struct api *a, enum api_route route,
			 const char *key_id, const char *json, struct res *out,
			 char **secret)
{
	struct api_key_ans c = { out, secret };
	struct api_req rq = { .route = route, .id = { key_id }, .json = json };

	return api_send(a, &rq, out ? api_ans_key : NULL, &c);
}

/* What a create is looked for by when its answer was lost (api_send_create). */
struct api_made {
	int (*list)(struct api *a, struct reslist **out);
	const char *name; /* the server name it was created with */
	struct res *out;
};

/* The newest entry named m->name in m->list's listing, copied to m->out. */
static int api_find_made(struct api *a, void *ctx)
{
	struct api_made *m = ctx;
	struct reslist *l = NULL;
	const struct res *best = NULL;
	int rc = m->list(a, &l);

	for (size_t i = 0; rc == 0 && i < l->n; i++)
		if (strcmp(l->v[i].raw_name, m->name) == 0 &&
		    (!best || l->v[i].mtime >= best->mtime))
			best = &l->v[i];
	if (rc == 0 && !best)
		rc = -ENOENT;
	if (rc == 0 && m->out) {
		res_release(m->out);
		rc = res_copy(best, m->out);
	}
	reslist_unref(l);
	return rc;
}

int api_create_key(struct api *a, const char *name, const char *body,
		   struct res *out, char **secret)
{
	struct api_key_ans c = { out, secret };
	struct api_made m = { api_list_keys, name, out };
	struct api_req rq = { .route = API_CREATE_KEY,
			      .json = body ? body : "{}",
			      .subject = name };
	int rc = api_send_create(a, &rq, out ? api_ans_key : NULL, &c,
				 api_find_made, &m);

	if (rc == 0 && secret && !*secret)
		log_warn("key '%s' was created, but its one-time secret was "
			 "lost with the connection: rotate it for a new one "
			 "(setfattr -n user.xai.rotate -v 1 keys/%s)",
			 name, name);
	return rc;
}

int api_update_key(struct api *a, const char *key_id, const char *body,
		   struct res *out)
{
	return api_write_key(a, API_UPDATE_KEY, key_id, body, out, NULL);
}

int api_rotate_key(struct api *a, const char *key_id, const char *body,
		   struct res *out, char **secret)
{
	return api_write_key(a, API_ROTATE_KEY, key_id, body ? body : "{}", out,
			     secret);
}

int api_delete_key(struct api *a, const char *key_id)
{
	return api_write_res(a, API_DELETE_KEY, key_id, NULL, NULL, NULL, NULL);
}

int api_create_collection(struct api *a, const char *name, const char *body,
			  struct res *out)
{
	struct api_res_ans c = { model_parse_collection, out };
	struct api_made m = { api_list_collections, name, out };
	struct api_req rq = { .route = API_CREATE_COLLECTION,
			      .json = body,
			      .subject = name };

	return api_send_create(a, &rq, out ? api_ans_res : NULL, &c,
			       api_find_made, &m);
}

int api_update_collection(struct api *a, const char *collection_id,
			  const char *body, struct res *out)
{
	return api_write_res(a, API_UPDATE_COLLECTION, collection_id, NULL,
			     body, model_parse_collection, out);
}

int api_delete_collection(struct api *a, const char *collection_id)
{
	return api_write_res(a, API_DELETE_COLLECTION, collection_id, NULL,
			     NULL, NULL, NULL);
}

int api_delete_document(struct api *a, const char *collection_id,
			const char *file_id)
{
	return api_write_res(a, API_DELETE_DOCUMENT, collection_id, file_id,
			     NULL, NULL, NULL);
}

int api_reindex_document(struct api *a, const char *collection_id,
			 const char *file_id)
{
	return api_write_res(a, API_REINDEX_DOCUMENT, collection_id, file_id,
			     NULL, NULL, NULL);
}
