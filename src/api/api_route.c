/*
 * api_route.c - the route table and the one request path of the api module
 * (see api_int.h): URL building, the read-only and credential refusals, the
 * counters by route, the send and the "malformed answer" log line.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"

#define ROUTE(m, p) .label = m " " p, .method = m, .path = p
#define INFER(v, n) .host = API_INFER, .verb = v, .needs = n

/* One row per route the program calls; the labels are the counter names of
 * .xaifs/stats. */
static const struct api_route_def api_table[API_ROUTE_COUNT] = {
	[API_VALIDATE] = { ROUTE("GET", "/auth/management-keys/validation") },
	[API_LIST_KEYS] = { ROUTE("GET", "/auth/teams/{teamId}/api-keys"),
			    .size_param = "pageSize",
			    .tok_param = "paginationToken" },
	[API_LIST_MODELS] = { ROUTE("GET", "/auth/teams/{teamId}/models") },
	[API_LIST_COLLECTIONS] = { ROUTE("GET", "/v1/collections"),
				   .size_param = "limit",
				   .tok_param = "pagination_token" },
	[API_LIST_DOCUMENTS] = { ROUTE("GET",
				       "/v1/collections/{collection_id}/documents"),
				 .size_param = "limit",
				 .tok_param = "pagination_token" },
	[API_USAGE] = { ROUTE("POST", "/v1/billing/teams/{team_id}/usage") },
	[API_BALANCE] = { ROUTE(
		"GET", "/v1/billing/teams/{team_id}/prepaid/balance") },
	[API_SPENDING_LIMITS] = { ROUTE(
		"GET",
		"/v1/billing/teams/{team_id}/postpaid/spending-limits") },
	[API_INVOICE_PREVIEW] = { ROUTE(
		"GET",
		"/v1/billing/teams/{team_id}/postpaid/invoice/preview") },
	/* The content route answers octet-stream, in the form asked for. */
	[API_FILE_CONTENT] = { ROUTE("GET", "/v1/files/{file_id}/content"),
			       INFER("read document", "reading document bytes"),
			       .flags = API_TO_FD, .query = "format=original" },
	[API_CREATE_KEY] = { ROUTE("POST", "/auth/teams/{teamId}/api-keys"),
			     .flags = API_MUTATES | API_SECRET | API_WARM },
	[API_UPDATE_KEY] = { ROUTE("PUT", "/auth/api-keys/{apiKeyId}"),
			     .flags = API_MUTATES | API_SECRET },
	[API_ROTATE_KEY] = { ROUTE("POST", "/auth/api-keys/{apiKeyId}/rotate"),
			     .flags = API_MUTATES | API_SECRET },
	[API_DELETE_KEY] = { ROUTE("DELETE", "/auth/api-keys/{apiKeyId}"),
			     .flags = API_MUTATES },
	[API_CREATE_COLLECTION] = { ROUTE("POST", "/v1/collections"),
				    .flags = API_MUTATES | API_WARM },
	[API_UPDATE_COLLECTION] = { ROUTE("PUT",
					  "/v1/collections/{collection_id}"),
				    .flags = API_MUTATES },
	[API_DELETE_COLLECTION] = { ROUTE("DELETE",
					  "/v1/collections/{collection_id}"),
				    .flags = API_MUTATES },
	[API_UPLOAD_DOCUMENT] = { ROUTE("POST",
					"/v1/collections/{collection_id}/documents"),
				  .flags = API_MUTATES | API_WARM },
	[API_DELETE_DOCUMENT] = { ROUTE("DELETE",
					"/v1/collections/{collection_id}/documents/{file_id}"),
				  .flags = API_MUTATES },
	[API_KEY_PROPAGATION] = { ROUTE(
		"GET", "/auth/api-keys/{apiKeyId}/propagation") },
	[API_REINDEX_DOCUMENT] = { ROUTE("PATCH",
					 "/v1/collections/{collection_id}/documents/{file_id}"),
				   .flags = API_MUTATES },
	[API_AUDIT] = { ROUTE("GET", "/audit/teams/{teamId}/events"),
			.size_param = "pageSize",
			.query = "orderBy=TIME_DESCENDING",
			.tok_param = "pageToken" },
	[API_FILE_UPLOAD] = { ROUTE("POST", "/v1/files"), .flags = API_MUTATES,
			      INFER("upload",
				    "uploading through the Files API (-o upload=files)") },
	[API_ADD_FILE] = { ROUTE("POST",
				 "/v1/collections/{collection_id}/documents/{file_id}"),
			   .flags = API_MUTATES },
	[API_FILE_DELETE] = { ROUTE("DELETE", "/v1/files/{file_id}"),
			      .flags = API_MUTATES,
			      INFER("delete file",
				    "deleting through the Files API") },
	[API_GET_DOCUMENT] = { ROUTE(
		"GET", "/v1/collections/{collection_id}/documents/{file_id}") },
	/* A search changes nothing: it may be retried like a GET. */
	[API_SEARCH] = { ROUTE("POST", "/v1/documents/search"),
			 INFER("search", "searching collections") },
	[API_ENDPOINTS] = { ROUTE("GET", "/auth/teams/{teamId}/endpoints") },
	[API_INVOICES] = { ROUTE("GET",
				 "/v1/billing/teams/{team_id}/invoices") },
	[API_SET_SOFT_LIMIT] = { ROUTE("POST",
				       "/v1/billing/teams/{team_id}/postpaid/spending-limits"),
				 .flags = API_MUTATES },
};

const struct api_route_def *api_route_def(enum api_route r)
{
	return &api_table[r];
}

const char *api_route_name(enum api_route r)
{
	return r < API_ROUTE_COUNT ? api_table[r].label : "?";
}

uint64_t api_route_count(const struct api *a, enum api_route r)
{
	return __atomic_load_n(&a->counts[r], __ATOMIC_RELAXED);
}

void api_http_stats(const struct api *a, struct http_stats *out)
{
	http_get_stats(a->http, out);
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

int api_set_team(struct api *a, const char *team_id)
{
	char *t = strdup(team_id);

	if (!t)
		return -ENOMEM;
	free(a->team);
	a->team = t;
	return 0;
}

/* ---- URLs ---- */

/* Percent-encode everything but RFC 3986 unreserved bytes. */
static int api_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0;
	     p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' ||
		    *p == '~') {
			rc = buf_append(b, p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			rc = buf_append(b, e, 3);
		}
	}
	return rc;
}

/* The value of the placeholder at name (past its '{', n bytes long): the team
 * or the next id. */
static const char *api_url_value(const struct api *a, const struct api_req *rq,
				 const char *name, size_t n, int *next_id)
{
	if ((n == 6 && strncmp(name, "teamId", n) == 0) ||
	    (n == 7 && strncmp(name, "team_id", n) == 0))
		return a->team;
	if (*next_id >= (int)(sizeof(rq->id) / sizeof(rq->id[0])))
		return NULL;
	return rq->id[(*next_id)++];
}

/* The route's path with every placeholder replaced by its escaped value. */
static int api_url_path(const struct api *a, const struct api_req *rq,
			struct buf *b)
{
	const char *p = api_table[rq->route].path, *open, *close, *v;
	int next_id = 0, rc = 0;

	while (rc == 0 && (open = strchr(p, '{')) &&
	       (close = strchr(open, '}'))) {
		rc = buf_append(b, p, (size_t)(open - p));
		v = api_url_value(a, rq, open + 1, (size_t)(close - open - 1),
				  &next_id);
		if (rc == 0 && !v) {
			log_error("%s: no value for %.*s; not sent",
				  api_table[rq->route].label,
				  (int)(close - open + 1), open);
			return -EINVAL;
		}
		if (rc == 0)
			rc = api_escape(b, v);
		p = close + 1;
	}
	return rc == 0 ? buf_puts(b, p) : rc;
}

/* "?size=N&fixed&token=T", each part only when there is one. */
static int api_url_query(const struct api_route_def *d,
			 const struct api_req *rq, struct buf *b)
{
	char sep = '?';
	int rc = 0;

	if (d->size_param && rq->page_size > 0) {
		rc = buf_printf(b, "%c%s=%d", sep, d->size_param,
				rq->page_size);
		sep = '&';
	}
	if (rc == 0 && d->query) {
		rc = buf_printf(b, "%c%s", sep, d->query);
		sep = '&';
	}
	if (rc == 0 && d->tok_param && rq->token) {
		rc = buf_printf(b, "%c%s=", sep, d->tok_param);
		if (rc == 0)
			rc = api_escape(b, rq->token);
	}
	return rc;
}

int api_url(const struct api *a, const struct api_req *rq, char **url)
{
	const struct api_route_def *d = &api_table[rq->route];
	struct buf b;
	int rc;

	*url = NULL;
	buf_init(&b, API_URL_MAX);
	rc = buf_puts(&b, d->host == API_INFER ? a->o.api_url
					       : a->o.management_url);
	if (rc == 0)
		rc = api_url_path(a, rq, &b);
	if (rc == 0)
		rc = api_url_query(d, rq, &b);
	if (rc == -EFBIG) {
		log_error("%s: the URL would be longer than %d bytes; not sent",
			  d->label, API_URL_MAX);
		rc = -ENAMETOOLONG;
	}
	if (rc == 0 && !(*url = buf_take(&b, NULL)))
		rc = -ENOMEM;
	buf_release(&b);
	return rc;
}

/* ---- sending ---- */

/* The credential of rq's route, or NULL with one log line (refused). */
static const char *api_bearer(const struct api *a, const struct api_req *rq)
{
	const struct api_route_def *d = &api_table[rq->route];

	if (d->host == API_MGMT)
		return a->o.mgmt_key;
	if (!a->o.api_key)
		log_error(
			"cannot %s%s%s%s: %s needs an inference key (XAI_API_KEY or "
			"-o api_key_file=PATH)",
			d->verb, rq->subject ? " '" : "",
			rq->subject ? rq->subject : "", rq->subject ? "'" : "",
			d->needs);
	return a->o.api_key;
}

/* The refusals, then the URL: 0 with *url, or -errno (logged, nothing counted).
 */
static int api_prepare(const struct api *a, const struct api_req *rq,
		       const char **bearer, char **url)
{
	const struct api_route_def *d = &api_table[rq->route];

	*url = NULL;
	if ((d->flags & API_MUTATES) && a->o.read_only) {
		log_error("%s refused: the mount is read-only", d->label);
		return -EROFS;
	}
	*bearer = api_bearer(a, rq);
	if (!*bearer)
		return -EACCES;
	return api_url(a, rq, url);
}

int api_exchange(struct api *a, const struct api_req *rq,
		 struct http_resp *resp)
{
	const struct api_route_def *d = &api_table[rq->route];
	struct http_req req = {
		.method = d->method,
		.route = d->label,
		.subject = rq->subject,
		.body = rq->json,
		.body_len = rq->json ? strlen(rq->json) : 0,
		.idempotent = !(d->flags & API_MUTATES),
		.warm = (d->flags & API_WARM) && !rq->fresh,
		.out_fd = d->flags & API_TO_FD ? rq->fd : -1,
		.landed = rq->landed,
		.landed_arg = rq->landed_arg,
		.parts = rq->parts,
		.n_parts = rq->n_parts,
		.accept = d->flags & API_TO_FD
				  ? "application/octet-stream, */*;q=0.5"
				  : NULL,
		.message = model_error_message,
	};
	char *url;
	int rc;

	rc = api_prepare(a, rq, &req.bearer, &url);
	if (rc < 0)
		return rc;
	req.url = url;
	__atomic_add_fetch(&a->counts[rq->route], 1, __ATOMIC_RELAXED);
	rc = http_do(a->http, &req, resp);
	free(url);
	return rc;
}

/*
 * The one-line reason of a failure for rq->why: "malformed answer" when the
 * answer did not parse, the server's status and message, or the errno's text.
 */
static void api_why(const struct api_req *rq, const struct http_resp *resp,
		    int rc, int parsed)
{
	char msg[200];

	if (!rq->why)
		return;
	if (parsed || !resp->status) {
		snprintf(rq->why, rq->whysz, "%s",
			 parsed && rc == -EIO ? "malformed answer"
					      : strerror(-rc));
		return;
	}
	model_error_message(resp->body.data, resp->body.len, msg, sizeof(msg));
	snprintf(rq->why, rq->whysz, "HTTP %ld%s%s", resp->status,
		 *msg ? ": " : "", msg);
}

/*
 * api_send(), telling how a failure left the request: *kept_died when a warm
 * request's kept connection died before any answer, *unsure when the server
 * may have carried it out all the same (no status came, or a 2xx whose body
 * was cut: an HTTP/2 stream reset mid-answer).
 */
static int api_send_once(struct api *a, const struct api_req *rq,
			 api_parse_fn parse, void *ctx, int *kept_died,
			 int *unsure)
{
	struct http_resp resp;
	int rc, parsed = 0;

	http_resp_init(&resp);
	rc = api_exchange(a, rq, &resp);
	if (rc == 0 && parse) {
		parsed = 1;
		rc = parse(ctx, &resp.body);
		if (rc == -EIO)
			log_error("%s: malformed answer",
				  api_table[rq->route].label);
	}
	*kept_died = rc < 0 && resp.kept_died;
	*unsure = rc < 0 && (resp.unanswered ||
			     (resp.status >= 200 && resp.status < 300));
	if (rc < 0 && !*kept_died)
		api_why(rq, &resp, rc, parsed);
	if ((api_table[rq->route].flags & API_SECRET) && resp.body.data)
		explicit_bzero(resp.body.data, resp.body.len);
	http_resp_release(&resp);
	return rc;
}

int api_send(struct api *a, const struct api_req *rq, api_parse_fn parse,
	     void *ctx)
{
	int kept_died, unsure;

	return api_send_once(a, rq, parse, ctx, &kept_died, &unsure);
}

int api_send_create(struct api *a, const struct api_req *rq, api_parse_fn parse,
		    void *ctx, int (*find)(struct api *a, void *fctx),
		    void *fctx)
{
	const char *label = api_table[rq->route].label;
	const char *subject = rq->subject ? rq->subject : "?";
	struct api_req again = *rq;
	int kept_died, unsure, found,
		rc = api_send_once(a, rq, parse, ctx, &kept_died, &unsure);

	if (!kept_died && !unsure)
		return rc;
	found = find(a, fctx);
	if (found == 0) {
		log_warn("%s of '%s': the answer was lost, but the server made "
			 "it",
			 label, subject);
		return 0;
	}
	if (found != -ENOENT) {
		log_error(
			"%s of '%s': the answer was lost, and the server could "
			"not be asked whether it was made",
			label, subject);
		return kept_died ? -EIO : rc;
	}
	if (!kept_died)
		return rc; /* not made: failed as logged */
	log_info("%s of '%s': the connection closed before the server made "
		 "it: sent again on a new connection",
		 label, subject);
	again.fresh = 1;
	return api_send(a, &again, parse, ctx);
}

/* One request of api_send_all(), run on a thread of its own. */
static void *api_send_thread(void *arg)
{
	struct api_many *m = arg;

	m->rc = api_send(m->a, &m->rq, m->parse, m->ctx);
	return NULL;
}

void api_send_all(struct api_many *m, size_t n)
{
	pthread_t *t = calloc(n, sizeof(*t));
	int *started = calloc(n, sizeof(*started));

	/* The first runs here; a thread that cannot be made runs here too. */
	for (size_t i = 1; t && started && i < n; i++)
		started[i] = pthread_create(&t[i], NULL, api_send_thread,
					    &m[i]) == 0;
	for (size_t i = 0; i < n; i++)
		if (!started || !started[i])
			api_send_thread(&m[i]);
	for (size_t i = 1; t && started && i < n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
	free(t);
	free(started);
}
