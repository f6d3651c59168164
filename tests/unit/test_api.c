/*
 * test_api.c - the api module's one request path: URL building (escaping, no
 * silent truncation), the route table (every mutating route refused on a
 * read-only mount with nothing sent), and the one "malformed answer" (-EIO).
 *
 * A tiny HTTP/1.1 server on 127.0.0.1 (one thread, one request per
 * connection) answers every request with the status and body the test sets,
 * and records how many requests came and the last request target.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_int.h"
#include "log.h"
#include "test.h"

/* ------------------------------------------------------------------ */
/* The server                                                         */
/* ------------------------------------------------------------------ */

static struct {
	int fd; /* listening socket */
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	int status;	   /* protected by lock: the answer's status */
	char body[256];	   /* protected by lock: the answer's body */
	int requests;	   /* protected by lock: requests answered */
	char target[1024]; /* protected by lock: the last request target */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void srv_answer(int status, const char *body)
{
	pthread_mutex_lock(&srv.lock);
	srv.status = status;
	snprintf(srv.body, sizeof(srv.body), "%s", body);
	pthread_mutex_unlock(&srv.lock);
}

static int srv_requests(void)
{
	int n;

	pthread_mutex_lock(&srv.lock);
	n = srv.requests;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

/* Read a request head (and its Content-Length body) from c into buf; 0 or -1. */
static int srv_read(int c, char *buf, size_t size)
{
	size_t len = 0, want = 0;
	char *end = NULL, *cl;
	ssize_t n;

	while (!end || len < want) {
		if (len + 1 >= size)
			return -1;
		n = read(c, buf + len, size - len - 1);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			cl = strcasestr(buf, "\r\ncontent-length:");
			want = (size_t)(end + 4 - buf) +
			       (cl && cl < end ? strtoul(cl + 17, NULL, 10)
					       : 0);
		}
	}
	return 0;
}

static void srv_serve(int c)
{
	static char buf[1 << 17];
	char head[256], *sp;
	int status;
	char body[256];

	if (srv_read(c, buf, sizeof(buf)) < 0)
		return;
	pthread_mutex_lock(&srv.lock);
	srv.requests++;
	sp = strchr(buf, ' ');
	snprintf(srv.target, sizeof(srv.target), "%.*s",
		 sp ? (int)strcspn(sp + 1, " ") : 0, sp ? sp + 1 : "");
	status = srv.status;
	snprintf(body, sizeof(body), "%s", srv.body);
	pthread_mutex_unlock(&srv.lock);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 status, strlen(body));
	if (write(c, head, strlen(head)) < 0 ||
	    write(c, body, strlen(body)) < 0)
		return;
}

static void *srv_run(void *arg)
{
	int c;

	while ((c = accept(srv.fd, NULL, NULL)) >= 0) {
		srv_serve(c);
		close(c);
	}
	return NULL;
}

static int srv_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);

	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv.fd < 0 ||
	    bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(srv.fd, 16) < 0 ||
	    getsockname(srv.fd, (struct sockaddr *)&sa, &sl) < 0)
		return -1;
	srv.port = ntohs(sa.sin_port);
	srv_answer(200, "{}");
	return pthread_create(&srv.thread, NULL, srv_run, NULL) == 0 ? 0 : -1;
}

static void srv_stop(void)
{
	shutdown(srv.fd, SHUT_RDWR);
	close(srv.fd);
	pthread_join(srv.thread, NULL);
}

/* ------------------------------------------------------------------ */
/* Helpers                                                            */
/* ------------------------------------------------------------------ */

static char base_url[64];
static struct http *http;

/* Error lines logged that contain hook_want (atomic: billing's parts log
 * from threads of their own). */
static const char *hook_want = "";
static int hook_hits;

static void hook(const char *line, void *arg)
{
	if (strstr(line, hook_want))
		__atomic_add_fetch(&hook_hits, 1, __ATOMIC_SEQ_CST);
}

static void hook_expect(const char *want)
{
	hook_want = want;
	hook_hits = 0;
}

/* An api on the test server (or on url), team "team/1 %\xc3\xa9". */
static struct api *new_api(const char *url, int read_only, const char *api_key,
			   int upload_files)
{
	struct api_opts o = {
		.management_url = url,
		.api_url = url,
		.mgmt_key = "mgmt-key",
		.api_key = api_key,
		.read_only = read_only,
		.upload_files = upload_files,
		.max_streams = 2,
	};
	struct api *a = api_new(http, &o);

	if (a && api_set_team(a, "team/1 %\xc3\xa9") < 0) {
		api_free(a);
		return NULL;
	}
	return a;
}

static uint64_t http_requests(struct api *a)
{
	struct http_stats s;

	api_http_stats(a, &s);
	return s.requests;
}

static uint64_t all_counts(struct api *a)
{
	uint64_t n = 0;

	for (int r = 0; r < API_ROUTE_COUNT; r++)
		n += api_route_count(a, (enum api_route)r);
	return n;
}

/* api_url() of rq on a, compared with want (NULL: must fail with err). */
static void check_url(struct api *a, const struct api_req *rq, const char *want,
		      int err)
{
	char *url = (char *)"untouched";
	int rc = api_url(a, rq, &url);

	CHECK_EQ_INT(rc, want ? 0 : err);
	CHECK_EQ_STR(url, want);
	free(url);
}

/* ------------------------------------------------------------------ */
/* URL building                                                       */
/* ------------------------------------------------------------------ */

static void test_url_escaping(void)
{
	struct api *a = new_api("http://m.example", 0, NULL, 0);
	struct api_opts o = { .management_url = "http://m.example",
			      .api_url = "https://i.example",
			      .mgmt_key = "k",
			      .api_key = "ik" };
	struct api *b = api_new(http, &o);

	TEST_CTX("ids: '/', '%', ' ', non-ASCII escaped; unreserved kept");
	check_url(
		a,
		&(struct api_req){ .route = API_DELETE_DOCUMENT,
				   .id = { "a/b%c d\xc3\xa9", "AZaz09-_.~" } },
		"http://m.example/v1/collections/a%2Fb%25c%20d%C3%A9/documents/AZaz09-_.~",
		0);
	TEST_CTX("the team is escaped in both spellings of its placeholder");
	check_url(a, &(struct api_req){ .route = API_LIST_KEYS },
		  "http://m.example/auth/teams/team%2F1%20%25%C3%A9/api-keys",
		  0);
	check_url(
		a, &(struct api_req){ .route = API_INVOICES },
		"http://m.example/v1/billing/teams/team%2F1%20%25%C3%A9/invoices",
		0);
	TEST_CTX("page size and page token (escaped)");
	check_url(a,
		  &(struct api_req){ .route = API_LIST_DOCUMENTS,
				     .id = { "c" },
				     .page_size = 100,
				     .token = "t/k%n \xc3\xa9+=&?" },
		  "http://m.example/v1/collections/c/documents?limit=100"
		  "&pagination_token=t%2Fk%25n%20%C3%A9%2B%3D%26%3F",
		  0);
	check_url(
		a, &(struct api_req){ .route = API_LIST_KEYS, .token = "a b" },
		"http://m.example/auth/teams/team%2F1%20%25%C3%A9/api-keys?paginationToken=a%20b",
		0);
	TEST_CTX("page size, fixed query, token in that order");
	check_url(
		a,
		&(struct api_req){
			.route = API_AUDIT, .page_size = 100, .token = "x/y" },
		"http://m.example/audit/teams/team%2F1%20%25%C3%A9/events?pageSize=100"
		"&orderBy=TIME_DESCENDING&pageToken=x%2Fy",
		0);
	TEST_CTX("inference routes go to api_url");
	if (b && api_set_team(b, "t") == 0) {
		check_url(
			b,
			&(struct api_req){ .route = API_FILE_CONTENT,
					   .id = { "f/1" } },
			"https://i.example/v1/files/f%2F1/content?format=original",
			0);
		check_url(b, &(struct api_req){ .route = API_SEARCH },
			  "https://i.example/v1/documents/search", 0);
	}
	TEST_CTX("a missing id is refused");
	check_url(a,
		  &(struct api_req){ .route = API_DELETE_DOCUMENT,
				     .id = { "c" } },
		  NULL, -EINVAL);
	api_free(a);
	api_free(b);
}

static void test_url_too_long(void)
{
	struct api *a = new_api("http://m.example", 0, NULL, 0);
	const char *prefix = "http://m.example/v1/collections/",
		   *suffix = "/documents";
	size_t fit = API_URL_MAX - strlen(prefix) - strlen(suffix);
	char *id = malloc(API_URL_MAX + 2), *want = malloc(API_URL_MAX + 2);

	if (!a || !id || !want) {
		CHECK(!"out of memory");
		goto out;
	}
	TEST_CTX("a URL of exactly API_URL_MAX bytes is sent whole");
	memset(id, 'a', fit);
	id[fit] = '\0';
	snprintf(want, API_URL_MAX + 2, "%s%s%s", prefix, id, suffix);
	check_url(
		a,
		&(struct api_req){ .route = API_LIST_DOCUMENTS, .id = { id } },
		want, 0);
	CHECK_EQ_INT(strlen(want), API_URL_MAX);
	TEST_CTX("one byte more is refused, not cut");
	id[fit] = 'a';
	id[fit + 1] = '\0';
	hook_expect("the URL would be longer than");
	check_url(
		a,
		&(struct api_req){ .route = API_LIST_DOCUMENTS, .id = { id } },
		NULL, -ENAMETOOLONG);
	CHECK_EQ_INT(hook_hits, 1);
	TEST_CTX("escaping counts: a third of the limit in '/' does not fit");
	memset(id, '/', API_URL_MAX / 3);
	id[API_URL_MAX / 3] = '\0';
	check_url(a, &(struct api_req){ .route = API_DELETE_KEY, .id = { id } },
		  NULL, -ENAMETOOLONG);
	TEST_CTX("a page token too long is refused");
	check_url(a,
		  &(struct api_req){ .route = API_LIST_COLLECTIONS,
				     .page_size = 10,
				     .token = id },
		  NULL, -ENAMETOOLONG);
	TEST_CTX("a refused URL is not sent and not counted");
	hook_expect("the URL would be longer than");
	CHECK_EQ_INT(api_delete_key(a, id), -ENAMETOOLONG);
	CHECK_EQ_INT(hook_hits, 1);
	CHECK_EQ_INT(all_counts(a), 0);
	CHECK_EQ_INT(http_requests(a), 0);
out:
	free(id);
	free(want);
	api_free(a);
}

/* ------------------------------------------------------------------ */
/* The route table                                                    */
/* ------------------------------------------------------------------ */

static void test_table(void)
{
	char ctx[128], label[256];

	for (int r = 0; r < API_ROUTE_COUNT; r++) {
		const struct api_route_def *d = api_route_def(
			(enum api_route)r);
		int reads = strcmp(d->method, "GET") == 0 || r == API_USAGE ||
			    r == API_SEARCH;

		snprintf(ctx, sizeof(ctx), "route %d (%s)", r,
			 d->label ? d->label : "none");
		TEST_CTX(ctx);
		if (!d->label || !d->method || !d->path) {
			CHECK(!"a route without a row");
			continue;
		}
		snprintf(label, sizeof(label), "%s %s", d->method, d->path);
		CHECK_EQ_STR(d->label, label);
		CHECK_EQ_STR(api_route_name((enum api_route)r), d->label);
		CHECK_EQ_INT(!(d->flags & API_MUTATES), reads);
		CHECK(d->host == API_MGMT || (d->verb && d->needs));
		for (int s = 0; s < r; s++)
			CHECK(strcmp(api_route_def((enum api_route)s)->label,
				     d->label) != 0);
	}
	TEST_CTX("labels the stats file and the tests name");
	CHECK_EQ_STR(api_route_name(API_LIST_KEYS),
		     "GET /auth/teams/{teamId}/api-keys");
	CHECK_EQ_STR(api_route_name(API_UPLOAD_DOCUMENT),
		     "POST /v1/collections/{collection_id}/documents");
	CHECK_EQ_STR(api_route_name(API_ROUTE_COUNT), "?");
}

/* Every mutating route, through api_send() and through the api_* functions. */
static void test_read_only(void)
{
	struct api *ro = new_api(base_url, 1, "inference-key", 0);
	struct api *ro2 = new_api(base_url, 1, "inference-key", 1);
	struct res out;
	char *secret = NULL, tmpl[] = "/tmp/test_api_XXXXXX";
	uint64_t size = 0;
	int fd = mkstemp(tmpl), refused = 0;

	if (!ro || !ro2 || fd < 0) {
		CHECK(!"setup");
		goto out;
	}
	unlink(tmpl);
	TEST_CTX("every mutating row refused with -EROFS, one log line each");
	hook_expect("refused: the mount is read-only");
	for (int r = 0; r < API_ROUTE_COUNT; r++) {
		if (!(api_route_def((enum api_route)r)->flags & API_MUTATES))
			continue;
		refused++;
		CHECK_EQ_INT(
			api_send(ro,
				 &(struct api_req){ .route = (enum api_route)r,
						    .id = { "x", "y" },
						    .json = "{}" },
				 NULL, NULL),
			-EROFS);
	}
	CHECK_EQ_INT(hook_hits, refused);
	CHECK(refused >= 14);
	TEST_CTX("every write function refused with -EROFS");
	memset(&out, 0, sizeof(out));
	CHECK_EQ_INT(api_create_key(ro, "k", "{}", &out, &secret), -EROFS);
	CHECK_EQ_INT(api_update_key(ro, "k", "{}", &out), -EROFS);
	CHECK_EQ_INT(api_rotate_key(ro, "k", NULL, &out, &secret), -EROFS);
	CHECK_EQ_INT(api_delete_key(ro, "k"), -EROFS);
	CHECK_EQ_INT(api_create_collection(ro, "c", "{}", &out), -EROFS);
	CHECK_EQ_INT(api_update_collection(ro, "c", "{}", &out), -EROFS);
	CHECK_EQ_INT(api_delete_collection(ro, "c"), -EROFS);
	CHECK_EQ_INT(api_upload_document(ro, "c", "n", fd, 0, "text/plain",
					 NULL, NULL, &out),
		     -EROFS);
	CHECK_EQ_INT(api_upload_document(ro2, "c", "n", fd, 0, "text/plain",
					 NULL, NULL, &out),
		     -EROFS);
	CHECK_EQ_INT(api_upload_document_stream(ro, "c", "n", NULL, NULL, NULL,
						&size, "text/plain", NULL,
						&out),
		     -EOPNOTSUPP);
	CHECK_EQ_INT(api_upload_streams(ro), 0);
	CHECK_EQ_INT(api_stream_begin(ro), -EBUSY);
	CHECK_EQ_INT(api_delete_document(ro, "c", "d"), -EROFS);
	CHECK_EQ_INT(api_reindex_document(ro, "c", "d"), -EROFS);
	CHECK_EQ_INT(api_set_soft_limit(ro, "{}"), -EROFS);
	CHECK(secret == NULL);
	TEST_CTX("nothing was sent or counted");
	CHECK_EQ_INT(all_counts(ro) + all_counts(ro2), 0);
	CHECK_EQ_INT(http_requests(ro), 0);
	CHECK_EQ_INT(srv_requests(), 0);
	TEST_CTX("a read on the same mount is sent (the server was there)");
	srv_answer(200, "{\"keys\":[]}");
	CHECK(api_endpoints(ro, &secret, &size) == 0);
	free(secret);
	CHECK_EQ_INT(api_route_count(ro, API_ENDPOINTS), 1);
	CHECK_EQ_INT(srv_requests(), 1);
out:
	if (fd >= 0)
		close(fd);
	api_free(ro);
	api_free(ro2);
}

/* ------------------------------------------------------------------ */
/* Answers                                                            */
/* ------------------------------------------------------------------ */

/* Call number i of the reads and writes (-1 past the last), with a malformed
 * answer. */
static int call_one(struct api *a, int i, const char **name)
{
	struct reslist *l = NULL;
	struct whoami w;
	struct res out;
	char *s = NULL, *regions = NULL;
	size_t n;
	int rc;

	memset(&w, 0, sizeof(w));
	memset(&out, 0, sizeof(out));
	switch (i) {
	case 0:
		*name = "validate";
		rc = api_validate(a, &w);
		break;
	case 1:
		*name = "keys";
		rc = api_list_keys(a, &l);
		break;
	case 2:
		*name = "collections";
		rc = api_list_collections(a, &l);
		break;
	case 3:
		*name = "documents";
		rc = api_list_documents(a, "c", &l);
		break;
	case 4:
		*name = "models";
		rc = api_list_models(a, &l, &regions, &n);
		break;
	case 5:
		*name = "invoices";
		rc = api_list_invoices(a, &l);
		break;
	case 6:
		*name = "usage";
		rc = api_usage(a, 1700000000, &s, &n);
		break;
	case 7:
		*name = "audit";
		rc = api_audit(a, 3, &s, &n);
		break;
	case 8:
		*name = "propagation";
		rc = api_key_propagation(a, "k", &s, &n);
		break;
	case 9:
		*name = "endpoints";
		rc = api_endpoints(a, &s, &n);
		break;
	case 10:
		*name = "limits";
		rc = api_spending_limits(a, &s, &n);
		break;
	case 11:
		*name = "search";
		rc = api_search(a, "{}", &s, &n);
		break;
	case 12:
		*name = "billing";
		rc = api_billing(a, &s, &n);
		break;
	case 13:
		*name = "create key";
		rc = api_create_key(a, "k", "{}", &out, &s);
		break;
	case 14:
		*name = "create collection";
		rc = api_create_collection(a, "c", "{}", &out);
		break;
	default:
		return 1;
	}
	reslist_unref(l);
	free(s);
	free(regions);
	res_release(&out);
	whoami_release(&w);
	return rc;
}

static void test_malformed(void)
{
	struct api *a = new_api(base_url, 0, "inference-key", 0);
	const char *name = "";
	char ctx[64];
	int rc;

	if (!a) {
		CHECK(!"setup");
		return;
	}
	srv_answer(200, "not json {");
	for (int i = 0;; i++) {
		int before = srv_requests();

		rc = call_one(a, i, &name);
		if (rc == 1)
			break;
		snprintf(ctx, sizeof(ctx), "malformed answer: %s", name);
		TEST_CTX(ctx);
		CHECK_EQ_INT(rc, -EIO);
		/* billing asks three routes; a create whose 2xx answer is
		 * unreadable looks for what it made in one listing (nothing
		 * found here: not sent again); each of the others is one
		 * request, not retried */
		CHECK_EQ_INT(srv_requests() - before, i == 12	? 3
						      : i >= 13 ? 2
								: 1);
	}
	TEST_CTX("one log line per malformed answer");
	hook_expect(": malformed answer");
	CHECK_EQ_INT(call_one(a, 9, &name), -EIO);
	CHECK_EQ_INT(hook_hits, 1);
	hook_expect(": malformed answer");
	CHECK_EQ_INT(call_one(a, 12, &name), -EIO);
	CHECK_EQ_INT(hook_hits, 3);
	TEST_CTX("counted once per request, by route");
	CHECK_EQ_INT(api_route_count(a, API_VALIDATE), 1);
	CHECK_EQ_INT(api_route_count(a, API_LIST_KEYS), 2);
	CHECK_EQ_INT(api_route_count(a, API_BALANCE), 2);
	CHECK_EQ_INT(api_route_count(a, API_CREATE_KEY), 1);
	api_free(a);
}

static void test_answers(void)
{
	struct api *a = new_api(base_url, 0, NULL, 0);
	char why[128] = "", *s = NULL;
	size_t n;
	int before = srv_requests();

	if (!a) {
		CHECK(!"setup");
		return;
	}
	TEST_CTX("the ids reach the server escaped");
	srv_answer(200, "{}");
	CHECK_EQ_INT(api_delete_document(a, "a/b c", "\xc3\xa9%"), 0);
	pthread_mutex_lock(&srv.lock);
	CHECK_EQ_STR(srv.target,
		     "/v1/collections/a%2Fb%20c/documents/%C3%A9%25");
	pthread_mutex_unlock(&srv.lock);
	TEST_CTX("a malformed answer's reason");
	srv_answer(200, "[1]");
	CHECK_EQ_INT(api_send(a,
			      &(struct api_req){ .route = API_BALANCE,
						 .why = why,
						 .whysz = sizeof(why) },
			      api_ans_object,
			      &(struct api_text_ans){ NULL, &s, &n }),
		     -EIO);
	CHECK_EQ_STR(why, "malformed answer");
	CHECK(s == NULL);
	TEST_CTX(
		"an error status: its errno, the server's message in the reason and the log");
	srv_answer(404, "{\"error\":\"no such thing\"}");
	hook_expect("failed: HTTP 404: no such thing");
	CHECK_EQ_INT(api_send(a,
			      &(struct api_req){ .route = API_BALANCE,
						 .why = why,
						 .whysz = sizeof(why) },
			      api_ans_object,
			      &(struct api_text_ans){ NULL, &s, &n }),
		     -ENOENT);
	CHECK_EQ_STR(why, "HTTP 404: no such thing");
	CHECK_EQ_INT(hook_hits, 1);
	TEST_CTX("an inference route without the key: -EACCES, nothing sent");
	hook_expect(
		"cannot search: searching collections needs an inference key");
	CHECK_EQ_INT(api_search(a, "{}", &s, &n), -EACCES);
	CHECK_EQ_INT(hook_hits, 1);
	hook_expect(
		"cannot read document 'f1': reading document bytes needs an inference key");
	CHECK_EQ_INT(
		api_download_file(a, "f1", 1, &(uint64_t){ 0 }, NULL, NULL),
		-EACCES);
	CHECK_EQ_INT(hook_hits, 1);
	CHECK_EQ_INT(api_route_count(a, API_SEARCH) +
			     api_route_count(a, API_FILE_CONTENT),
		     0);
	CHECK_EQ_INT(srv_requests() - before, 3);
	api_free(a);
}

int main(void)
{
	struct http_opts ho = { .connect_timeout = 5,
				.timeout = 10,
				.max_conns = 2,
				.max_attempts = 1 };

	log_init(LOG_LVL_ERROR, 0);
	log_set_error_hook(hook, NULL);
	if (http_global_init() < 0 || srv_start() < 0 ||
	    !(http = http_new(&ho))) {
		fprintf(stderr,
			"test_api: cannot set up the client or the server\n");
		return 1;
	}
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d", srv.port);
	test_url_escaping();
	test_url_too_long();
	test_table();
	test_read_only();
	test_malformed();
	test_answers();
	http_free(http);
	srv_stop();
	http_global_cleanup();
	return test_done();
}
