/*
 * http.c - the client: a request's tries, their retry schedule, the counters
 * and the failure's log line; see http.h. The handle pool is http_pool.c,
 * the pacer http_pace.c, one try's transfer http_xfer.c, the status table
 * http_status.c.
 */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_pace.h"
#include "http_trace.h"
#include "http_pool.h"
#include "http_status.h"
#include "http_xfer.h"
#include "log.h"

#define HTTP_BACKOFF_BASE_MS 250
#define HTTP_BACKOFF_CAP_MS 8000
#define HTTP_RETRY_AFTER_CAP_S 20

struct http {
	struct http_opts opts;
	struct http_pool pool;	 /* its own locks (http_pool.h) */
	struct http_pace pace;	 /* its own lock (http_pace.h) */
	struct http_trace trace; /* its own lock (http_trace.h) */
	pthread_mutex_t stats_lock;
	struct http_stats stats; /* protected by stats_lock */
};

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

struct http *http_new(const struct http_opts *o)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->opts = *o;
	if (h->opts.max_attempts < 1)
		h->opts.max_attempts = 1;
	if (http_pool_init(&h->pool, o->max_conns) < 0) {
		free(h);
		return NULL;
	}
	http_pace_init(&h->pace);
	http_trace_init(&h->trace, o->trace_fd > 2 ? o->trace_fd : -1);
	pthread_mutex_init(&h->stats_lock, NULL);
	return h;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	http_pool_destroy(&h->pool);
	http_pace_destroy(&h->pace);
	http_trace_destroy(&h->trace);
	pthread_mutex_destroy(&h->stats_lock);
	free(h);
}

static unsigned http_backoff_ms(int attempt, long retry_after)
{
	unsigned ms, jitter;

	if (retry_after > 0) {
		if (retry_after > HTTP_RETRY_AFTER_CAP_S)
			retry_after = HTTP_RETRY_AFTER_CAP_S;
		return (unsigned)retry_after * 1000;
	}
	ms = HTTP_BACKOFF_BASE_MS << (attempt < 6 ? attempt : 6);
	if (ms > HTTP_BACKOFF_CAP_MS)
		ms = HTTP_BACKOFF_CAP_MS;
	/* Full jitter on the upper half: [ms/2, ms). */
	jitter = (unsigned)(((uint64_t)rand() * (ms / 2)) /
			    ((uint64_t)RAND_MAX + 1));
	return ms / 2 + jitter;
}

static void http_count(struct http *h, uint64_t up, uint64_t down, int retry)
{
	pthread_mutex_lock(&h->stats_lock);
	h->stats.requests++;
	h->stats.bytes_up += up;
	h->stats.bytes_down += down;
	if (retry)
		h->stats.retries++;
	pthread_mutex_unlock(&h->stats_lock);
}

static void http_log_failure(const struct http_req *req, struct http_resp *resp,
			     CURLcode cc, int rc)
{
	char msg[256] = "", what[512];

	/* "POST /v1/collections/{collection_id}/documents of 'a.pdf'" */
	if (req->subject)
		snprintf(what, sizeof(what), "%s of '%s'", req->route,
			 req->subject);
	else
		snprintf(what, sizeof(what), "%s", req->route);
	if (resp->status && cc == CURLE_OK) {
		if (req->message)
			req->message(resp->body.data, resp->body.len, msg,
				     sizeof(msg));
		log_error("%s failed: HTTP %ld%s%s", what, resp->status,
			  *msg ? ": " : "", msg);
	} else if (resp->write_err) {
		log_error("%s failed: cannot write the answer to its file: %s",
			  what, strerror(-resp->write_err));
	} else if (cc == CURLE_WRITE_ERROR && rc == -EIO) {
		log_error("%s failed: response larger than %u bytes", what,
			  HTTP_BODY_MAX);
	} else if (resp->kept_died) {
		/* the caller looks for what it made, and says so (http.h) */
		log_debug("%s: its kept connection closed before any answer",
			  what);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		log_error(
			"%s failed: timed out (no progress for the -o timeout= seconds)",
			what);
	} else {
		log_error("%s failed: %s", what, curl_easy_strerror(cc));
	}
}

/* Bytes of req's body: the JSON, or the parts (a streamed one counts as sent). */
static uint64_t http_body_bytes(CURL *c, const struct http_req *req)
{
	uint64_t up = req->body_len;
	curl_off_t sent = 0;

	if (req->parts && http_xfer_streams(req)) {
		curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent);
		return sent > 0 ? (uint64_t)sent : 0;
	}
	for (size_t i = 0; req->parts && i < req->n_parts; i++)
		up += req->parts[i].value ? strlen(req->parts[i].value)
					  : req->parts[i].size;
	return up;
}

/* One try. Sets *cc; returns 0 or -errno. */
static int http_once(struct http *h, CURL *c, const struct http_req *req,
		     struct curl_slist *hdrs, struct http_resp *resp,
		     CURLcode *cc, long *retry_after)
{
	struct http_sink sink = { .resp = resp,
				  .out_fd = req->out_fd,
				  .landed = req->landed,
				  .landed_arg = req->landed_arg };
	curl_off_t ra = -1;
	uint64_t t0;

	resp->status = 0;
	resp->bytes = 0;
	buf_release(&resp->body);
	if (req->parts && http_xfer_mime(c, req, &sink) < 0)
		return -ENOMEM;
	http_xfer_setup(c, h->pool.share, &h->opts, req, hdrs, &sink);
	http_pace_wait(&h->pace);
	t0 = http_now_ms();
	*cc = curl_easy_perform(c);
	http_xfer_end(&sink);
	/* A write to out_fd that failed is that, whichever callback saw it. */
	if (sink.cut.failed_write == 2)
		*cc = CURLE_WRITE_ERROR;
	resp->write_err = sink.cut.failed_write == 2
				  ? http_curl_errno(CURLE_WRITE_ERROR,
						    &sink.cut)
				  : 0;
	curl_easy_setopt(c, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(sink.mime);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra);
	*retry_after = ra > 0 ? (long)ra : 0;
	/* A body cut by its own source cannot have been carried out. */
	/* (A "100 Continue" is no answer.) */
	resp->unanswered = *cc != CURLE_OK && resp->status < 200 &&
			   http_xfer_was_sent(c, *cc) && !sink.cut.read_aborted;
	resp->kept_died = *cc == CURLE_SEND_FAIL_REWIND;
	if (resp->kept_died)
		resp->unanswered = 1;
	http_pace_update(&h->pace, resp->status);
	http_count(h, http_body_bytes(c, req), resp->bytes, resp->attempts > 0);
	http_trace_try(&h->trace, req, resp, *cc, http_now_ms() - t0,
		       http_body_bytes(c, req));
	resp->attempts++;
	if (*cc != CURLE_OK)
		return http_curl_errno(*cc, &sink.cut);
	return http_status_errno(resp->status);
}

/*
 * Whether a failed try is to be made again. A request that may have been
 * acted on is never sent twice; two failures prove it was not: no
 * connection, and a 429 (refused by the rate limiter in front of the
 * handler).
 */
static int http_retry(const struct http *h, const struct http_req *req,
		      const struct http_resp *resp, CURLcode cc)
{
	if (resp->attempts >= h->opts.max_attempts || http_xfer_streams(req))
		return 0;
	if (!req->idempotent && cc != CURLE_COULDNT_CONNECT &&
	    !(cc == CURLE_OK && resp->status == 429))
		return 0;
	return cc != CURLE_OK ? http_curl_transient(cc)
			      : http_status_transient(resp->status);
}

/* The tries of req on handle c, with the backoff between them. */
static int http_tries(struct http *h, CURL *c, const struct http_req *req,
		      struct curl_slist *hdrs, struct http_resp *resp,
		      CURLcode *cc)
{
	uint64_t start = http_now_ms(),
		 budget = (uint64_t)h->opts.timeout * 1000;
	long retry_after = 0;
	unsigned wait;
	int rc;

	for (;;) {
		uint64_t t0 = http_now_ms();

		rc = http_once(h, c, req, hdrs, resp, cc, &retry_after);
		log_debug("%s -> %ld (%s, %llu ms, try %d)", req->route,
			  resp->status, rc == 0 ? "ok" : strerror(-rc),
			  (unsigned long long)(http_now_ms() - t0),
			  resp->attempts);
		if (rc == 0 || !http_retry(h, req, resp, *cc))
			return rc;
		wait = http_backoff_ms(resp->attempts - 1, retry_after);
		if (http_now_ms() - start + wait > budget)
			return rc;
		if (req->out_fd >= 0 && (lseek(req->out_fd, 0, SEEK_SET) < 0 ||
					 ftruncate(req->out_fd, 0) < 0))
			return rc;
		usleep(wait * 1000u);
	}
}

int http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	struct curl_slist *hdrs;
	CURLcode cc = CURLE_OK;
	CURL *c;
	int rc;

	hdrs = http_xfer_headers(req);
	if (!hdrs)
		return -ENOMEM;
	c = http_pool_acquire(&h->pool);
	if (!c) {
		http_xfer_headers_free(hdrs);
		return -ENOMEM;
	}
	rc = http_tries(h, c, req, hdrs, resp, &cc);
	http_pool_release(&h->pool, c);
	http_xfer_headers_free(hdrs);
	if (rc == -ECANCELED) {
		log_debug("%s: abandoned by the sender before its end",
			  req->route);
	} else if (rc < 0) {
		http_log_failure(req, resp, cc, rc);
		pthread_mutex_lock(&h->stats_lock);
		h->stats.errors++;
		pthread_mutex_unlock(&h->stats_lock);
	}
	return rc;
}

void http_resp_init(struct http_resp *r)
{
	r->status = 0;
	r->bytes = 0;
	r->attempts = 0;
	r->unanswered = 0;
	r->kept_died = 0;
	r->write_err = 0;
	buf_init(&r->body, HTTP_BODY_MAX);
}

void http_resp_release(struct http_resp *r)
{
	buf_release(&r->body);
}

void http_get_stats(struct http *h, struct http_stats *out)
{
	pthread_mutex_lock(&h->stats_lock);
	*out = h->stats;
	pthread_mutex_unlock(&h->stats_lock);
}
