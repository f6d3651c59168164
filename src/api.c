/* api.c - xAI Management API calls; see api.h. */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "api_int.h"
#include "log.h"

#define API_MAX_PAGES 100000	/* a server that never ends a listing is an error */

const char *const api_routes[API_ROUTE_COUNT] = {
	[API_VALIDATE] = "GET /auth/management-keys/validation",
	[API_LIST_KEYS] = "GET /auth/teams/{teamId}/api-keys",
	[API_LIST_MODELS] = "GET /auth/teams/{teamId}/models",
	[API_LIST_COLLECTIONS] = "GET /v1/collections",
	[API_LIST_DOCUMENTS] = "GET /v1/collections/{collection_id}/documents",
	[API_USAGE] = "POST /v1/billing/teams/{team_id}/usage",
	[API_BALANCE] = "GET /v1/billing/teams/{team_id}/prepaid/balance",
	[API_SPENDING_LIMITS] = "GET /v1/billing/teams/{team_id}/postpaid/spending-limits",
	[API_INVOICE_PREVIEW] = "GET /v1/billing/teams/{team_id}/postpaid/invoice/preview",
	[API_FILE_CONTENT] = "GET /v1/files/{file_id}/content",
	[API_CREATE_KEY] = "POST /auth/teams/{teamId}/api-keys",
	[API_UPDATE_KEY] = "PUT /auth/api-keys/{apiKeyId}",
	[API_ROTATE_KEY] = "POST /auth/api-keys/{apiKeyId}/rotate",
	[API_DELETE_KEY] = "DELETE /auth/api-keys/{apiKeyId}",
	[API_CREATE_COLLECTION] = "POST /v1/collections",
	[API_UPDATE_COLLECTION] = "PUT /v1/collections/{collection_id}",
	[API_DELETE_COLLECTION] = "DELETE /v1/collections/{collection_id}",
	[API_UPLOAD_DOCUMENT] = "POST /v1/collections/{collection_id}/documents",
	[API_DELETE_DOCUMENT] = "DELETE /v1/collections/{collection_id}/documents/{file_id}",
	[API_KEY_PROPAGATION] = "GET /auth/api-keys/{apiKeyId}/propagation",
	[API_REINDEX_DOCUMENT] = "PATCH /v1/collections/{collection_id}/documents/{file_id}",
	[API_AUDIT] = "GET /audit/teams/{teamId}/events",
	[API_FILE_UPLOAD] = "POST /v1/files",
	[API_ADD_FILE] = "POST /v1/collections/{collection_id}/documents/{file_id}",
	[API_FILE_DELETE] = "DELETE /v1/files/{file_id}",
	[API_GET_DOCUMENT] = "GET /v1/collections/{collection_id}/documents/{file_id}",
	[API_SEARCH] = "POST /v1/documents/search",
	[API_ENDPOINTS] = "GET /auth/teams/{teamId}/endpoints",
	[API_INVOICES] = "GET /v1/billing/teams/{team_id}/invoices",
	[API_SET_SOFT_LIMIT] = "POST /v1/billing/teams/{team_id}/postpaid/spending-limits",
};

const char *api_route_name(enum api_route r)
{
	return r < API_ROUTE_COUNT ? api_routes[r] : "?";
}

uint64_t api_route_count(const struct api *a, enum api_route r)
{
	return __atomic_load_n(&a->counts[r], __ATOMIC_RELAXED);
}

struct api *api_new(struct http *h, const struct api_opts *o)
{
	struct api *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->http = h;
	a->o = *o;
	return a;
}

void api_free(struct api *a)
{
	if (!a)
		return;
	free(a->team);
	free(a);
}

/* Percent-encode everything but RFC 3986 unreserved bytes. */
int api_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			rc = buf_append(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

int api_set_team(struct api *a, const char *team_id)
{
	struct buf b;

	buf_init(&b, 4096);
	if (api_escape(&b, team_id) < 0) {
		buf_release(&b);
		return -ENOMEM;
	}
	free(a->team);
	a->team = buf_take(&b, NULL);
	return a->team ? 0 : -ENOMEM;
}


void api_http_stats(const struct api *a, struct http_stats *out)
{
	http_get_stats(a->http, out);
}


int api_call_msg(struct api *a, enum api_route route, const char *method,
		 const char *url, const char *bearer, const char *json,
		 char **body, size_t *len, char *msg, size_t msgsz)
{
	struct http_req req = {
		.method = method, .url = url, .route = api_routes[route],
		.bearer = bearer, .body = json, .body_len = json ? strlen(json) : 0,
		.idempotent = strcmp(method, "GET") == 0 || route == API_USAGE ||
			      route == API_SEARCH,
		.out_fd = -1,
	};
	struct http_resp resp;
	char why[200];
	int rc;

	if (a->o.read_only && strcmp(method, "GET") != 0 && route != API_USAGE &&
	    route != API_SEARCH) {
		log_error("%s refused: the mount is read-only", api_routes[route]);
		return -EROFS;
	}
	__atomic_add_fetch(&a->counts[route], 1, __ATOMIC_RELAXED);
	http_resp_init(&resp);
	rc = http_do(a->http, &req, &resp);
	if (rc == 0) {
		*body = buf_take(&resp.body, len);
		if (!*body)
			rc = -ENOMEM;
	} else if (msg && resp.status) {
		model_error_message(resp.body.data, resp.body.len, why, sizeof(why));
		snprintf(msg, msgsz, "HTTP %ld%s%s", resp.status, *why ? ": " : "", why);
	} else if (msg) {
		snprintf(msg, msgsz, "%s", strerror(-rc));
	}
	http_resp_release(&resp);
	return rc;
}

int api_call(struct api *a, enum api_route route, const char *method,
	     const char *url, const char *bearer, const char *json,
	     char **body, size_t *len)
{
	return api_call_msg(a, route, method, url, bearer, json, body, len, NULL, 0);
}

int api_validate(struct api *a, struct whoami *out)
{
	char url[2048];
	char *body = NULL;
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "%s/auth/management-keys/validation", a->o.management_url);
	rc = api_call(a, API_VALIDATE, "GET", url, a->o.mgmt_key, NULL, &body, &len);
	if (rc == 0 && (rc = model_parse_validation(body, len, out)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_VALIDATE]);
	free(body);
	return rc;
}

typedef int (*api_page_fn)(const char *body, size_t len, struct reslist *out, char **next);

/*
 * Where a listing goes after a page: 1 to stop, 0 to fetch *next. The end
 * is a missing or empty token (the parsers give NULL for both), and also,
 * with one log line, a page with no entries that still carries a token and
 * a token already seen: the one just sent, or the one saved at the last
 * power-of-two page (Brent's cycle check: any loop of pages is caught
 * within twice its length, with no memory of every token).
 */
static int api_list_done(enum api_route route, int page, size_t added, const char *sent,
			 char **saved, const char *next)
{
	if (!next)
		return 1;
	if ((sent && strcmp(next, sent) == 0) || (*saved && strcmp(next, *saved) == 0)) {
		log_warn("%s: the server repeated a page token after page %d; the listing "
			 "ends there", api_routes[route], page + 1);
		return 1;
	}
	if (added == 0) {
		log_warn("%s: page %d was empty but carried a next-page token; the listing "
			 "ends there", api_routes[route], page + 1);
		return 1;
	}
	if (sent && ((page + 1) & page) == 0) {
		free(*saved);
		*saved = strdup(sent);	/* on ENOMEM the check just skips a round */
	}
	return 0;
}

/* base, then "&<tok_param>=<escaped token>" when there is a token. */
static char *api_page_url(const char *base, const char *tok_param, const char *token)
{
	struct buf b;
	char *url;
	int rc;

	buf_init(&b, 1 << 16);
	rc = buf_puts(&b, base);
	if (rc == 0 && token)
		rc = buf_printf(&b, "%s%s=", base[strlen(base) - 1] == '?' ? "" : "&", tok_param);
	if (rc == 0 && token)
		rc = api_escape(&b, token);
	url = rc == 0 ? buf_take(&b, NULL) : NULL;
	buf_release(&b);
	return url;
}

/*
 * Follow a listing to its end. base is the URL with its fixed query
 * (ending in '?' or '&'); tok_param names the page-token parameter.
 */
static int api_list(struct api *a, enum api_route route, const char *base,
		    const char *tok_param, api_page_fn parse, struct reslist **out)
{
	struct reslist *l = reslist_new();
	char *token = NULL, *next = NULL, *saved = NULL, *body = NULL, *url;
	size_t len, before;
	int rc = l ? 0 : -ENOMEM;

	for (int page = 0; rc == 0; page++) {
		if (page >= API_MAX_PAGES) {
			log_error("%s: more than %d pages, giving up", api_routes[route], API_MAX_PAGES);
			rc = -EIO;
			break;
		}
		url = api_page_url(base, tok_param, token);
		rc = url ? api_call(a, route, "GET", url, a->o.mgmt_key, NULL, &body, &len)
			 : -ENOMEM;
		free(url);
		before = l->n;
		if (rc == 0 && (rc = parse(body, len, l, &next)) == -EIO)
			log_error("%s: malformed answer", api_routes[route]);
		free(body);
		body = NULL;
		if (rc == 0 && api_list_done(route, page, l->n - before, token, &saved, next))
			break;
		free(token);
		token = next;
		next = NULL;
	}
	free(token);
	free(next);
	free(saved);
	if (rc < 0) {
		reslist_unref(l);
		return rc;
	}
	*out = l;
	return 0;
}

/* limit= of the collections routes: the page size, at most (and by default) 100. */
static int api_limit(const struct api *a)
{
	return a->o.page_size > 0 && a->o.page_size < 100 ? a->o.page_size : 100;
}

int api_list_keys(struct api *a, struct reslist **out)
{
	char base[2048];

	/* Without pageSize the route answers every key at once (a token is still followed). */
	if (a->o.page_size > 0)
		snprintf(base, sizeof(base), "%s/auth/teams/%s/api-keys?pageSize=%d",
			 a->o.management_url, a->team, a->o.page_size);
	else
		snprintf(base, sizeof(base), "%s/auth/teams/%s/api-keys?",
			 a->o.management_url, a->team);
	return api_list(a, API_LIST_KEYS, base, "paginationToken",
			model_parse_keys_page, out);
}

int api_list_collections(struct api *a, struct reslist **out)
{
	char base[2048];
	int n = api_limit(a);

	snprintf(base, sizeof(base), "%s/v1/collections?limit=%d",
		 a->o.management_url, n);
	return api_list(a, API_LIST_COLLECTIONS, base, "pagination_token",
			model_parse_collections_page, out);
}

int api_list_documents(struct api *a, const char *collection_id, struct reslist **out)
{
	int n = api_limit(a);
	struct buf b;
	char *base;
	int rc;

	buf_init(&b, 8192);
	rc = buf_printf(&b, "%s/v1/collections/", a->o.management_url);
	if (rc == 0)
		rc = api_escape(&b, collection_id);
	if (rc == 0)
		rc = buf_printf(&b, "/documents?limit=%d", n);
	base = rc == 0 ? buf_take(&b, NULL) : NULL;
	buf_release(&b);
	if (!base)
		return rc < 0 ? rc : -ENOMEM;
	rc = api_list(a, API_LIST_DOCUMENTS, base, "pagination_token",
		      model_parse_documents_page, out);
	free(base);
	return rc;
}

int api_list_models(struct api *a, struct reslist **out, char **regions, size_t *regions_len)
{
	struct reslist *l = NULL;
	char url[2048];
	char *body = NULL;
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "%s/auth/teams/%s/models", a->o.management_url, a->team);
	rc = api_call(a, API_LIST_MODELS, "GET", url, a->o.mgmt_key, NULL, &body, &len);
	if (rc == 0 && !(l = reslist_new()))
		rc = -ENOMEM;
	if (rc == 0 && (rc = model_parse_models(body, len, l, regions, regions_len)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_LIST_MODELS]);
	free(body);
	if (rc < 0) {
		reslist_unref(l);
		return rc;
	}
	*out = l;
	return 0;
}

int api_usage(struct api *a, time_t now, char **out, size_t *out_len)
{
	char url[2048];
	char *req = NULL, *body = NULL;
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "%s/v1/billing/teams/%s/usage", a->o.management_url, a->team);
	rc = model_usage_request(now, &req);
	if (rc == 0)
		rc = api_call(a, API_USAGE, "POST", url, a->o.mgmt_key, req, &body, &len);
	if (rc == 0 && (rc = model_render_usage(now, body, len, out, out_len)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_USAGE]);
	free(req);
	free(body);
	return rc;
}

static int api_billing_get(struct api *a, enum api_route r, const char *suffix,
			   char **body, size_t *len, char *msg, size_t msgsz)
{
	char url[2048];
	int rc;

	snprintf(url, sizeof(url), "%s/v1/billing/teams/%s/%s", a->o.management_url,
		 a->team, suffix);
	rc = api_call_msg(a, r, "GET", url, a->o.mgmt_key, NULL, body, len, msg, msgsz);
	if (rc == 0 && model_is_object(*body, *len) < 0) {
		log_error("%s: malformed answer", api_routes[r]);
		snprintf(msg, msgsz, "malformed answer");
		free(*body);
		*body = NULL;
		rc = -EIO;
	}
	return rc;
}

/*
 * The billing file shows every part that answered; a part that failed (a
 * prepaid-only team is refused the postpaid routes) is null, with its reason
 * under "errors". Only when no part answered does reading fail.
 */
int api_billing(struct api *a, char **out, size_t *out_len)
{
	static const enum api_route routes[MODEL_BILLING_PARTS] = {
		API_BALANCE, API_SPENDING_LIMITS, API_INVOICE_PREVIEW,
	};
	static const char *const suffixes[MODEL_BILLING_PARTS] = {
		"prepaid/balance", "postpaid/spending-limits", "postpaid/invoice/preview",
	};
	char *body[MODEL_BILLING_PARTS] = { NULL }, msg[MODEL_BILLING_PARTS][256];
	struct model_billing b;
	int rc = 0, first_rc = 0, answered = 0;

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < MODEL_BILLING_PARTS; i++) {
		rc = api_billing_get(a, routes[i], suffixes[i], &body[i], &b.len[i],
				     msg[i], sizeof(msg[i]));
		if (rc == -ENOMEM)
			goto out;
		b.body[i] = body[i];
		b.error[i] = rc < 0 ? msg[i] : NULL;
		answered += rc == 0;
		if (rc < 0 && !first_rc)
			first_rc = rc;
	}
	rc = answered ? model_render_billing(&b, out, out_len) : first_rc;
out:
	for (int i = 0; i < MODEL_BILLING_PARTS; i++)
		free(body[i]);
	return rc;
}

int api_download_file(struct api *a, const char *file_id, int fd, uint64_t *bytes)
{
	/* The content route answers application/octet-stream, in the form asked for. */
	struct http_req req = {
		.method = "GET", .route = api_routes[API_FILE_CONTENT],
		.bearer = a->o.api_key, .idempotent = 1, .out_fd = fd,
		.accept = "application/octet-stream, */*;q=0.5",
	};
	struct http_resp resp;
	struct buf b;
	int rc;

	if (!a->o.api_key) {
		log_error("cannot read document '%s': reading document bytes needs an inference "
			  "key (XAI_API_KEY or -o api_key_file=PATH)", file_id);
		return -EACCES;
	}
	buf_init(&b, 8192);
	rc = buf_printf(&b, "%s/v1/files/", a->o.api_url);
	if (rc == 0)
		rc = api_escape(&b, file_id);
	if (rc == 0)
		rc = buf_puts(&b, "/content?format=original");
	if (rc < 0) {
		buf_release(&b);
		return rc;
	}
	req.url = b.data;
	__atomic_add_fetch(&a->counts[API_FILE_CONTENT], 1, __ATOMIC_RELAXED);
	http_resp_init(&resp);
	rc = http_do(a->http, &req, &resp);
	if (rc == 0)
		*bytes = resp.bytes;
	http_resp_release(&resp);
	buf_release(&b);
	return rc;
}

/* ---- writes ---- */

/* "<base><p1><escaped id><p2>" into a new string. */
char *api_url_id(const char *base, const char *p1, const char *id, const char *p2)
{
	struct buf b;
	char *url;
	int rc;

	buf_init(&b, 8192);
	rc = buf_puts(&b, base);
	if (rc == 0)
		rc = buf_puts(&b, p1);
	if (rc == 0 && id)
		rc = api_escape(&b, id);
	if (rc == 0 && p2)
		rc = buf_puts(&b, p2);
	url = rc == 0 ? buf_take(&b, NULL) : NULL;
	buf_release(&b);
	return url;
}

/* One write whose answer is an object of the given kind (parse may be NULL). */
int api_write(struct api *a, enum api_route route, const char *method, char *url,
		     const char *json, api_parse_fn parse, struct res *out)
{
	char *body = NULL;
	size_t len;
	int rc;

	if (!url)
		return -ENOMEM;
	rc = api_call(a, route, method, url, a->o.mgmt_key, json, &body, &len);
	if (rc == 0 && parse && out && (rc = parse(body, len, out)) == -EIO)
		log_error("%s: malformed answer", api_routes[route]);
	free(body);
	free(url);
	return rc;
}

/* A write answered by a key that may carry its one-time secret. */
static int api_key_write(struct api *a, enum api_route route, char *url, const char *json,
			 struct res *out, char **secret)
{
	char *body = NULL;
	size_t len;
	int rc;

	if (!url)
		return -ENOMEM;
	rc = api_call(a, route, "POST", url, a->o.mgmt_key, json ? json : "{}", &body, &len);
	if (rc == 0 && (rc = model_parse_key(body, len, out, secret)) == -EIO)
		log_error("%s: malformed answer", api_routes[route]);
	if (body)
		explicit_bzero(body, len);
	free(body);
	free(url);
	return rc;
}

static int api_parse_key_nosecret(const char *body, size_t len, struct res *out)
{
	char *secret = NULL;
	int rc = model_parse_key(body, len, out, &secret);

	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return rc;
}

int api_create_key(struct api *a, const char *body, struct res *out, char **secret)
{
	char *url = api_url_id(a->o.management_url, "/auth/teams/", NULL, NULL);
	char *full = NULL;

	if (url) {
		size_t n = strlen(url) + strlen(a->team) + 16;

		full = malloc(n);
		if (full)
			snprintf(full, n, "%s%s/api-keys", url, a->team);
	}
	free(url);
	return api_key_write(a, API_CREATE_KEY, full, body, out, secret);
}

int api_update_key(struct api *a, const char *key_id, const char *body, struct res *out)
{
	return api_write(a, API_UPDATE_KEY, "PUT",
			 api_url_id(a->o.management_url, "/auth/api-keys/", key_id, NULL),
			 body, api_parse_key_nosecret, out);
}

int api_rotate_key(struct api *a, const char *key_id, const char *body, struct res *out,
		   char **secret)
{
	return api_key_write(a, API_ROTATE_KEY,
			     api_url_id(a->o.management_url, "/auth/api-keys/", key_id, "/rotate"),
			     body ? body : "{}", out, secret);
}

int api_delete_key(struct api *a, const char *key_id)
{
	return api_write(a, API_DELETE_KEY, "DELETE",
			 api_url_id(a->o.management_url, "/auth/api-keys/", key_id, NULL),
			 NULL, NULL, NULL);
}

int api_create_collection(struct api *a, const char *body, struct res *out)
{
	return api_write(a, API_CREATE_COLLECTION, "POST",
			 api_url_id(a->o.management_url, "/v1/collections", NULL, NULL),
			 body, model_parse_collection, out);
}

int api_update_collection(struct api *a, const char *collection_id, const char *body,
			  struct res *out)
{
	return api_write(a, API_UPDATE_COLLECTION, "PUT",
			 api_url_id(a->o.management_url, "/v1/collections/", collection_id, NULL),
			 body, model_parse_collection, out);
}

int api_delete_collection(struct api *a, const char *collection_id)
{
	return api_write(a, API_DELETE_COLLECTION, "DELETE",
			 api_url_id(a->o.management_url, "/v1/collections/", collection_id, NULL),
			 NULL, NULL, NULL);
}

/* ".../v1/collections/{collection_id}/documents/{file_id}" */
char *api_document_url(struct api *a, const char *collection_id, const char *file_id)
{
	char *base = api_url_id(a->o.management_url, "/v1/collections/", collection_id,
				"/documents/");
	char *url = base ? api_url_id(base, "", file_id, NULL) : NULL;

	free(base);
	return url;
}

int api_delete_document(struct api *a, const char *collection_id, const char *file_id)
{
	return api_write(a, API_DELETE_DOCUMENT, "DELETE",
			 api_document_url(a, collection_id, file_id), NULL, NULL, NULL);
}

int api_usage_month(struct api *a, int year, int month, time_t now, char **out,
		    size_t *out_len)
{
	char url[2048];
	char *req = NULL, *body = NULL;
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "%s/v1/billing/teams/%s/usage", a->o.management_url, a->team);
	rc = model_usage_month_request(year, month, now, &req);
	if (rc == 0)
		rc = api_call(a, API_USAGE, "POST", url, a->o.mgmt_key, req, &body, &len);
	if (rc == 0 &&
	    (rc = model_render_usage_month(year, month, now, body, len, out, out_len)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_USAGE]);
	free(req);
	free(body);
	return rc;
}

int api_audit(struct api *a, int max_pages, char **out, size_t *out_len)
{
	struct buf lines;
	char *token = NULL, *next = NULL, *saved = NULL, *body = NULL, *url = NULL;
	char base[2048];
	size_t len, count = 0, before;
	int rc = 0;

	snprintf(base, sizeof(base), "%s/audit/teams/%s/events?pageSize=100&orderBy=TIME_DESCENDING",
		 a->o.management_url, a->team);
	buf_init(&lines, HTTP_BODY_MAX);
	for (int page = 0; page < max_pages && rc == 0; page++) {
		url = api_page_url(base, "pageToken", token);
		rc = url ? api_call(a, API_AUDIT, "GET", url, a->o.mgmt_key, NULL, &body, &len)
			 : -ENOMEM;
		free(url);
		before = count;
		if (rc == 0 && (rc = model_audit_page(body, len, &lines, &count, &next)) == -EIO)
			log_error("%s: malformed answer", api_routes[API_AUDIT]);
		free(body);
		body = NULL;
		if (rc < 0 || api_list_done(API_AUDIT, page, count - before, token, &saved, next))
			break;
		free(token);
		token = next;
		next = NULL;
	}
	free(token);
	free(next);
	free(saved);
	if (rc == 0) {
		*out = buf_take(&lines, out_len);
		rc = *out ? 0 : -ENOMEM;
	}
	buf_release(&lines);
	return rc;
}

int api_key_propagation(struct api *a, const char *key_id, char **out, size_t *out_len)
{
	char *url = api_url_id(a->o.management_url, "/auth/api-keys/", key_id, "/propagation");
	char *body = NULL;
	size_t len;
	int rc;

	if (!url)
		return -ENOMEM;
	rc = api_call(a, API_KEY_PROPAGATION, "GET", url, a->o.mgmt_key, NULL, &body, &len);
	if (rc == 0 && (rc = model_pretty(body, len, out, out_len)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_KEY_PROPAGATION]);
	free(body);
	free(url);
	return rc;
}

int api_reindex_document(struct api *a, const char *collection_id, const char *file_id)
{
	return api_write(a, API_REINDEX_DOCUMENT, "PATCH",
			 api_document_url(a, collection_id, file_id), NULL, NULL, NULL);
}
