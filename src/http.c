/* http.c - libcurl client with a handle pool, retries and the errno table; see http.h. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"

#define HTTP_BACKOFF_BASE_MS 250
#define HTTP_BACKOFF_CAP_MS 8000
#define HTTP_RETRY_AFTER_CAP_S 20

struct http {
	struct http_opts opts;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	CURL **idle;		/* protected by pool_lock */
	int n_idle;		/* protected by pool_lock */
	int n_out;		/* handles in use; protected by pool_lock */

	pthread_mutex_t stats_lock;
	struct http_stats stats;	/* protected by stats_lock */

	/*
	 * The pacer: after a 429 requests start at least a gap apart; the gap
	 * doubles on each 429 (up to HTTP_PACE_MAX_MS) and halves on success.
	 * No request waits longer than one gap: with every request reserving
	 * the next slot, a queue of waiters used to add up to tens of seconds
	 * (8 threads x 5 s) after a burst of 429s. Retry-After is honoured by
	 * the retry itself, not here.
	 */
	pthread_mutex_t pace_lock;
	unsigned pace_ms;	/* current gap; protected by pace_lock */
	uint64_t pace_next;	/* earliest start of the next request (ms) */
};

#define HTTP_PACE_MIN_MS 50
#define HTTP_PACE_MAX_MS 1000

struct http_sink {
	struct http_resp *resp;
	int out_fd;		/* -1: into resp->body */
	long status;		/* known once headers are in */
	int failed_write;	/* 1: body cap, 2: fd write error */
	curl_mime *mime;	/* multipart body, owned by the try */
	curl_off_t moved;	/* bytes up + down so far */
	uint64_t moved_at;	/* when they last changed (ms) */
	uint64_t stall_ms;	/* no progress for this long ends the try */
	int stalled;
	int read_aborted;	/* a streamed part's source gave up */
};

int http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void http_global_cleanup(void)
{
	curl_global_cleanup();
}

static void http_share_lock(CURL *c, curl_lock_data data, curl_lock_access a, void *p)
{
	struct http *h = p;

	pthread_mutex_lock(&h->share_locks[data]);
}

static void http_share_unlock(CURL *c, curl_lock_data data, void *p)
{
	struct http *h = p;

	pthread_mutex_unlock(&h->share_locks[data]);
}

struct http *http_new(const struct http_opts *o)
{
	struct http *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->opts = *o;
	if (h->opts.max_attempts < 1)
		h->opts.max_attempts = 1;
	h->idle = calloc((size_t)o->max_conns, sizeof(*h->idle));
	h->share = curl_share_init();
	if (!h->idle || !h->share) {
		free(h->idle);
		if (h->share)
			curl_share_cleanup(h->share);
		free(h);
		return NULL;
	}
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	pthread_cond_init(&h->pool_cond, NULL);
	pthread_mutex_init(&h->stats_lock, NULL);
	pthread_mutex_init(&h->pace_lock, NULL);
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, http_share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, http_share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return h;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	for (int i = 0; i < h->n_idle; i++)
		curl_easy_cleanup(h->idle[i]);
	curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->pool_lock);
	pthread_cond_destroy(&h->pool_cond);
	pthread_mutex_destroy(&h->stats_lock);
	pthread_mutex_destroy(&h->pace_lock);
	free(h->idle);
	free(h);
}

/* Take an idle handle, make one, or wait until one is returned. */
static CURL *http_acquire(struct http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->pool_lock);
	while (h->n_idle == 0 && h->n_out >= h->opts.max_conns)
		pthread_cond_wait(&h->pool_cond, &h->pool_lock);
	if (h->n_idle > 0)
		c = h->idle[--h->n_idle];
	h->n_out++;
	pthread_mutex_unlock(&h->pool_lock);
	if (!c)
		c = curl_easy_init();
	if (!c) {
		pthread_mutex_lock(&h->pool_lock);
		h->n_out--;
		pthread_cond_signal(&h->pool_cond);
		pthread_mutex_unlock(&h->pool_lock);
	}
	return c;
}

static void http_release_handle(struct http *h, CURL *c)
{
	pthread_mutex_lock(&h->pool_lock);
	h->n_out--;
	if (h->n_idle < h->opts.max_conns)
		h->idle[h->n_idle++] = c;
	else
		curl_easy_cleanup(c);
	pthread_cond_signal(&h->pool_cond);
	pthread_mutex_unlock(&h->pool_lock);
}

int http_status_errno(long status)
{
	if (status >= 200 && status < 300)
		return 0;
	switch (status) {
	case 400:
	case 415:
	case 422:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 408:
		return -ETIMEDOUT;
	case 409:
		return -EEXIST;
	case 413:
		return -EFBIG;
	case 429:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

int http_status_transient(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

static size_t http_write_cb(char *p, size_t size, size_t n, void *data)
{
	struct http_sink *s = data;
	size_t len = size * n;

	s->resp->bytes += len;
	if (s->out_fd >= 0 && s->status >= 200 && s->status < 300) {
		size_t done = 0;

		while (done < len) {
			ssize_t w = write(s->out_fd, p + done, len - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				s->failed_write = 2;
				return 0;
			}
			done += (size_t)w;
		}
		return len;
	}
	if (buf_append(&s->resp->body, p, len) < 0) {
		s->failed_write = 1;
		return 0;
	}
	return len;
}

static size_t http_header_cb(char *p, size_t size, size_t n, void *data)
{
	struct http_sink *s = data;
	long code;

	/* Each status line starts a new response (after 100-continue, too). */
	if (size * n > 9 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', size * n);

		if (sp && sscanf(sp + 1, "%ld", &code) == 1)
			s->status = code;
	}
	return size * n;
}

static uint64_t http_now_ms(void);

/*
 * Stall detection: no byte moved in either direction for stall_ms ends the
 * try. (libcurl's low-speed limit averages over a window, so a small upload
 * followed by a silent server would take several times longer to notice.)
 */
static int http_progress_cb(void *data, curl_off_t dltotal, curl_off_t dlnow,
			    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_sink *s = data;
	uint64_t now = http_now_ms();

	if (dlnow + ulnow != s->moved || !s->moved_at) {
		s->moved = dlnow + ulnow;
		s->moved_at = now;
		return 0;
	}
	if (now - s->moved_at >= s->stall_ms) {
		s->stalled = 1;
		return 1;	/* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

static int http_curl_errno(CURLcode cc, const struct http_sink *s)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_ABORTED_BY_CALLBACK:
		return s->stalled ? -ETIMEDOUT : s->read_aborted ? -ECANCELED : -EIO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_WRITE_ERROR:
		return s->failed_write == 2 ? -ENOSPC : -EIO;
	default:
		return -EIO;
	}
}

static int http_transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}

struct http_fd_src {
	int fd;
	uint64_t off;
	uint64_t size;
};

static size_t http_fd_read(char *p, size_t size, size_t n, void *arg)
{
	struct http_fd_src *s = arg;
	size_t want = size * n;
	ssize_t got;

	if (s->off >= s->size)
		return 0;
	if (want > s->size - s->off)
		want = (size_t)(s->size - s->off);
	do
		got = pread(s->fd, p, want, (off_t)s->off);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;	/* the spool file shrank or failed */
	s->off += (uint64_t)got;
	return (size_t)got;
}

static int http_fd_seek(void *arg, curl_off_t off, int origin)
{
	struct http_fd_src *s = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > s->size)
		return CURL_SEEKFUNC_FAIL;
	s->off = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

static void http_fd_free(void *arg)
{
	free(arg);
}

/* A streamed part (http_part.read): its bytes as they come. */
struct http_stream_src {
	http_read_fn read;
	void *ctx;
	struct http_sink *sink;
};

static size_t http_stream_read(char *p, size_t size, size_t n, void *arg)
{
	struct http_stream_src *s = arg;
	ssize_t got = s->read(s->ctx, p, size * n);

	/* Waiting for the writer is not a stall of the connection. */
	s->sink->moved_at = 0;
	if (got < 0) {
		s->sink->read_aborted = 1;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)got;
}

static int http_streams(const struct http_req *req)
{
	for (size_t i = 0; i < req->n_parts; i++)
		if (req->parts[i].read)
			return 1;
	return 0;
}

static int http_mime_stream(curl_mimepart *mp, const struct http_part *p,
			    struct http_sink *sink)
{
	struct http_stream_src *src = calloc(1, sizeof(*src));

	if (!src)
		return -ENOMEM;
	src->read = p->read;
	src->ctx = p->read_ctx;
	src->sink = sink;
	/* Size -1: sent with chunked transfer encoding (or HTTP/2 frames). */
	if (curl_mime_data_cb(mp, -1, http_stream_read, NULL, http_fd_free, src) != CURLE_OK) {
		free(src);
		return -ENOMEM;
	}
	return 0;
}

/* Build the multipart body of req. Returns NULL on ENOMEM. */
static curl_mime *http_mime(CURL *c, const struct http_req *req, struct http_sink *sink)
{
	curl_mime *m = curl_mime_init(c);

	for (size_t i = 0; m && i < req->n_parts; i++) {
		const struct http_part *p = &req->parts[i];
		curl_mimepart *mp = curl_mime_addpart(m);
		struct http_fd_src *src;

		if (!mp || curl_mime_name(mp, p->name) != CURLE_OK)
			goto fail;
		if (p->filename && curl_mime_filename(mp, p->filename) != CURLE_OK)
			goto fail;
		if (p->type && curl_mime_type(mp, p->type) != CURLE_OK)
			goto fail;
		if (p->value) {
			if (curl_mime_data(mp, p->value, CURL_ZERO_TERMINATED) != CURLE_OK)
				goto fail;
			continue;
		}
		if (p->read) {
			if (http_mime_stream(mp, p, sink) < 0)
				goto fail;
			continue;
		}
		src = calloc(1, sizeof(*src));
		if (!src)
			goto fail;
		src->fd = p->fd;
		src->size = p->size;
		if (curl_mime_data_cb(mp, (curl_off_t)p->size, http_fd_read, http_fd_seek,
				      http_fd_free, src) != CURLE_OK) {
			free(src);
			goto fail;
		}
	}
	return m;
fail:
	curl_mime_free(m);
	return NULL;
}

static void http_setup(struct http *h, CURL *c, const struct http_req *req,
		       struct curl_slist *hdrs, struct http_sink *sink)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	/* Big buffers: fewer callbacks and syscalls when moving document bytes. */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "xaifs/" XAIFS_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->opts.connect_timeout);
	/* Stall detection on every request; a total limit on metadata calls. */
	sink->stall_ms = (uint64_t)h->opts.timeout * 1000;
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, sink);
	if (req->out_fd < 0 && !req->parts)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)h->opts.timeout);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, sink);
	if (req->range)
		curl_easy_setopt(c, CURLOPT_RANGE, req->range);
	/*
	 * libcurl sends a request again by itself when a reused connection
	 * turns out dead before any answer. A request that may change the
	 * account must never be sent twice: give it a connection of its own.
	 */
	if (!req->idempotent)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (sink->mime) {
		curl_easy_setopt(c, CURLOPT_MIMEPOST, sink->mime);
	} else if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
}

static struct curl_slist *http_headers(const struct http_req *req)
{
	struct curl_slist *l = NULL, *t;
	char *auth = NULL;
	size_t n;

	char accept[128];

	snprintf(accept, sizeof(accept), "Accept: %s",
		 req->accept ? req->accept : "application/json");
	l = curl_slist_append(NULL, accept);
	/* No "Expect: 100-continue" round trip before a multipart body. */
	if (l && req->parts) {
		t = curl_slist_append(l, "Expect:");
		if (!t)
			goto fail;
		l = t;
	}
	if (l && req->body) {
		t = curl_slist_append(l, "Content-Type: application/json");
		if (!t)
			goto fail;
		l = t;
	}
	if (l && req->bearer) {
		n = strlen(req->bearer) + 32;
		auth = malloc(n);
		if (!auth)
			goto fail;
		snprintf(auth, n, "Authorization: Bearer %s", req->bearer);
		t = curl_slist_append(l, auth);
		explicit_bzero(auth, n);
		free(auth);
		if (!t)
			goto fail;
		l = t;
	}
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

/* Wipe the Authorization header before the list is freed. */
static void http_headers_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static uint64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
	jitter = (unsigned)(((uint64_t)rand() * (ms / 2)) / ((uint64_t)RAND_MAX + 1));
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
	char msg[256];

	if (resp->status && cc == CURLE_OK) {
		model_error_message(resp->body.data, resp->body.len, msg, sizeof(msg));
		log_error("%s failed: HTTP %ld%s%s", req->route, resp->status,
			  *msg ? ": " : "", msg);
	} else if (cc == CURLE_WRITE_ERROR && rc == -EIO) {
		log_error("%s failed: response larger than %u bytes", req->route, HTTP_BODY_MAX);
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		log_error("%s failed: timed out (no progress for the -o timeout= seconds)",
			  req->route);
	} else {
		log_error("%s failed: %s", req->route, curl_easy_strerror(cc));
	}
}

/* Wait for our turn when the server has asked us to slow down. */
static void http_pace_wait(struct http *h)
{
	uint64_t now, at;

	pthread_mutex_lock(&h->pace_lock);
	if (h->pace_ms == 0) {
		pthread_mutex_unlock(&h->pace_lock);
		return;
	}
	now = http_now_ms();
	at = h->pace_next > now ? h->pace_next : now;
	if (at > now + h->pace_ms)
		at = now + h->pace_ms;
	h->pace_next = at + h->pace_ms;
	pthread_mutex_unlock(&h->pace_lock);
	if (at > now)
		usleep((useconds_t)(at - now) * 1000u);
}

/* Feed a result to the pacer: 429 widens the gap, success narrows it. */
static void http_pace_update(struct http *h, long status)
{
	pthread_mutex_lock(&h->pace_lock);
	if (status == 429) {
		h->pace_ms = h->pace_ms ? h->pace_ms * 2 : HTTP_PACE_MIN_MS;
		if (h->pace_ms > HTTP_PACE_MAX_MS)
			h->pace_ms = HTTP_PACE_MAX_MS;
	} else if (status >= 200 && status < 300 && h->pace_ms) {
		h->pace_ms = h->pace_ms / 2;
		if (h->pace_ms < HTTP_PACE_MIN_MS / 2)
			h->pace_ms = 0;
	}
	pthread_mutex_unlock(&h->pace_lock);
}

/*
 * Whether a failed try got as far as sending the request: the connection was
 * made and request bytes went out. A failure before that (no connection, no
 * name) cannot have reached the server.
 */
static int http_was_sent(CURL *c, CURLcode cc)
{
	long req_bytes = 0;

	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_OUT_OF_MEMORY)
		return 0;
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &req_bytes);
	return req_bytes > 0;
}

/* One try. Sets *cc; returns 0 or -errno. */
static int http_once(struct http *h, CURL *c, const struct http_req *req,
		     struct curl_slist *hdrs, struct http_resp *resp, CURLcode *cc,
		     long *retry_after)
{
	struct http_sink sink = { .resp = resp, .out_fd = req->out_fd };
	curl_off_t ra = -1;
	uint64_t up = req->body_len;

	resp->status = 0;
	resp->bytes = 0;
	buf_release(&resp->body);
	if (req->parts) {
		sink.mime = http_mime(c, req, &sink);
		if (!sink.mime)
			return -ENOMEM;
		for (size_t i = 0; i < req->n_parts; i++)
			up += req->parts[i].value ? strlen(req->parts[i].value) :
			      req->parts[i].read ? 0 : req->parts[i].size;
	}
	http_setup(h, c, req, hdrs, &sink);
	http_pace_wait(h);
	*cc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(sink.mime);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra);
	if (req->parts && http_streams(req)) {
		curl_off_t sent = 0;

		curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &sent);
		up = sent > 0 ? (uint64_t)sent : 0;
	}
	*retry_after = ra > 0 ? (long)ra : 0;
	/* A body cut by its own source cannot have been carried out. */
	/* (A "100 Continue" is no answer.) */
	resp->unanswered = *cc != CURLE_OK && resp->status < 200 && http_was_sent(c, *cc) &&
			   !sink.read_aborted;
	http_pace_update(h, resp->status);
	http_count(h, up, resp->bytes, resp->attempts > 0);
	resp->attempts++;
	if (*cc != CURLE_OK)
		return http_curl_errno(*cc, &sink);
	return http_status_errno(resp->status);
}

int http_do(struct http *h, const struct http_req *req, struct http_resp *resp)
{
	uint64_t start = http_now_ms(), budget = (uint64_t)h->opts.timeout * 1000;
	struct curl_slist *hdrs;
	CURLcode cc = CURLE_OK;
	long retry_after = 0;
	CURL *c;
	int rc;

	hdrs = http_headers(req);
	if (!hdrs)
		return -ENOMEM;
	c = http_acquire(h);
	if (!c) {
		http_headers_free(hdrs);
		return -ENOMEM;
	}
	for (;;) {
		unsigned wait;
		uint64_t t0 = http_now_ms();

		rc = http_once(h, c, req, hdrs, resp, &cc, &retry_after);
		log_debug("%s -> %ld (%s, %llu ms, try %d)", req->route, resp->status,
			  rc == 0 ? "ok" : strerror(-rc),
			  (unsigned long long)(http_now_ms() - t0), resp->attempts);
		if (rc == 0 || resp->attempts >= h->opts.max_attempts || http_streams(req))
			break;
		/*
		 * A request that may have been acted on is never sent twice.
		 * Two failures prove it was not: no connection, and a 429
		 * (refused by the rate limiter in front of the handler).
		 */
		if (!req->idempotent && cc != CURLE_COULDNT_CONNECT &&
		    !(cc == CURLE_OK && resp->status == 429))
			break;
		if (cc != CURLE_OK ? !http_transient_curl(cc) : !http_status_transient(resp->status))
			break;
		wait = http_backoff_ms(resp->attempts - 1, retry_after);
		if (http_now_ms() - start + wait > budget)
			break;
		if (req->out_fd >= 0 && (lseek(req->out_fd, 0, SEEK_SET) < 0 ||
					 ftruncate(req->out_fd, 0) < 0))
			break;
		usleep(wait * 1000u);
	}
	http_release_handle(h, c);
	http_headers_free(hdrs);
	if (rc == -ECANCELED) {
		log_debug("%s: abandoned by the sender before its end", req->route);
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
