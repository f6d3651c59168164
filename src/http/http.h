/*
 * http.h - the HTTP client: libcurl requests with timeouts, retries, a bound
 * on requests in flight, and the one HTTP-status-to-errno table.
 *
 * Owns: the client (struct http): its options, its request counters, and
 * through its parts a pool of curl easy handles reused for keep-alive with a
 * CURLSH sharing DNS and TLS sessions (http_pool.h), the pacer (http_pace.h),
 * one try's transfer (http_xfer.h) and the status table (http_status.h).
 * Knows nothing of JSON or of the API's routes beyond the label it is given
 * for logs and stats: the server's message in an error body is read by the
 * caller's http_msg_fn.
 *
 * Threads: http_do() may be called from any number of threads. At most
 * max_conns requests run at once; further callers wait for a free handle.
 * Locks: the pool's and the pacer's own (see their headers); stats_lock
 * guards the counters. No lock is held while a request runs, and none is
 * taken while holding another.
 *
 * Security: TLS peer and host verification are always on; the bearer token
 * is only ever placed in the Authorization header and never logged (log.c
 * redacts it as well). Redirects are not followed, so the token is never sent
 * to another host.
 *
 * Pacing: after a 429 every request waits for a gap since the previous one;
 * the gap doubles with each 429 (50 ms to 1 s) and halves with each success,
 * so a rate-limited server sees the mount slow down.
 *
 * Retries: only requests marked idempotent are retried, on connection
 * failures, 429 and 5xx, with capped exponential backoff and jitter,
 * honouring Retry-After, within the request's time budget. Any request is
 * tried again when the connection could not be made at all (nothing was sent)
 * and when it was refused with 429 (a rate limiter refuses before the
 * request reaches its handler, so nothing was carried out); no other failure
 * of a non-idempotent request is ever sent again by xaifs. (libcurl itself
 * resends a request whose reused connection was found closed before any
 * answer; POSTs that are not idempotent get a fresh connection so that it
 * never happens to them, while DELETE and PUT, idempotent methods, keep
 * their connections.)
 * Requests with an fd body or an fd download have no total time limit, only
 * the stall limit (no progress for `timeout` seconds). A request with a
 * streamed part is sent once, never again (its bytes are gone), and the
 * time its source blocks waiting for bytes is not a stall.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_HTTP_H
#define XAIFS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"

#define HTTP_BODY_MAX (64u << 20) /* cap on an in-memory response body */

struct http;

struct http_opts {
	int connect_timeout; /* seconds */
	int timeout;	     /* seconds, whole request (not for fd downloads) */
	int max_conns;	     /* requests in flight at most */
	int max_attempts;    /* tries for an idempotent request (>= 1) */
	const char *cacert;  /* CA file trusted besides the system's, or NULL
			      * (borrowed: it outlives the struct http) */
	int trace_fd;	     /* -o trace=: one line per try (http_trace.h);
			      * 0 (never a trace: stdin) for none */
};

/*
 * The source of a streamed part: fill buf with up to n bytes, blocking
 * until some are there. Returns the bytes, 0 at the end, or -errno to
 * abort the request before its final boundary (the server then holds an
 * incomplete body and stores nothing). Called on the requesting thread.
 */
typedef ssize_t (*http_read_fn)(void *ctx, char *buf, size_t n);

/* One part of a multipart/form-data body: a value, the bytes of an fd, or a
 * stream. */
struct http_part {
	const char *name;     /* form field name */
	const char *value;    /* text value, or NULL when fd or read is used */
	int fd;		      /* file bytes from offset 0 (read with pread) */
	uint64_t size;	      /* bytes of fd to send */
	const char *filename; /* optional filename for the part */
	const char *type;     /* optional Content-Type of the part */
	http_read_fn read; /* a stream of unknown length (chunked), or NULL */
	void *read_ctx;
};

/*
 * Copy the server's message out of an error body into msg (NUL-terminated,
 * at most msgsz bytes; "" when there is none). body may be NULL when len is 0.
 */
typedef void (*http_msg_fn)(const char *body, size_t len, char *msg,
			    size_t msgsz);

struct http_req {
	const char *method; /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *url;    /* full URL, already escaped */
	/* label for logs and stats, e.g. "GET /v1/collections" */
	const char *route;
	const char *bearer; /* token for Authorization (borrowed); may be NULL */
	const char
		*subject; /* the file it is about, for its log line, or NULL */
	const char *body; /* request body (JSON), or NULL */
	size_t body_len;
	int idempotent; /* safe to send again */
	/*
	 * A POST that may go on a kept connection (a create the caller can look
	 * for afterwards). libcurl may send a request again by itself when a
	 * kept connection turns out dead before any answer, or an HTTP/2 stream
	 * was refused: such a body is never rewound once libcurl read a byte of
	 * it, so that happens only when the server cannot have had it whole;
	 * otherwise the try ends with resp->kept_died set, and the caller looks
	 * for what it created before sending again with warm 0 (a new
	 * connection, never re-sent). Streamed bodies are never warm.
	 */
	int warm;
	int out_fd; /* >= 0: write the 2xx body to this fd instead of resp->body
		     */
	/*
	 * out_fd only: called each time a batch of bytes has been written to
	 * out_fd (fdwriter.h: on the requesting thread or the writer's), so
	 * that readers of the file can go on at once; may be NULL.
	 */
	void (*landed)(void *arg);
	void *landed_arg;
	const char *range; /* optional "a-b" byte range for GET */
	/* multipart body (instead of body), or NULL */
	const struct http_part *parts;
	size_t n_parts;
	const char *accept;  /* Accept header value; NULL: application/json */
	http_msg_fn message; /* the server's message for the failure's log line,
				or NULL */
};

struct http_resp {
	long status;	 /* last HTTP status, 0 if none */
	struct buf body; /* response body (error bodies too); caller releases */
	uint64_t bytes;	 /* body bytes received (also for out_fd) */
	int attempts;	 /* tries made */
	int kept_died;	/* a warm POST's kept connection died before any answer:
			 * the server may or may not have acted on it */
	int unanswered; /* the last try sent the request but got no status
				  line back (timeout, dropped connection): the
				  server may or may not have carried it out */
	int write_err;	/* the last try's body could not be written to
			   out_fd: that write's -errno; else 0 */
};

/* Call once in main() before any thread: curl_global_init(). */
int http_global_init(void);
void http_global_cleanup(void);

/* New client. Returns NULL on ENOMEM. */
struct http *http_new(const struct http_opts *o);

void http_free(struct http *h);

/*
 * Perform req. resp must be initialised with http_resp_init() and is filled
 * (status, body) whatever the outcome. Returns 0 for a 2xx answer, else
 * -errno: the mapped status (http_status_errno), -ETIMEDOUT, -EIO for
 * connection failures and bodies over HTTP_BODY_MAX, -ENOMEM. Logs one line
 * on failure (method, route, status or cause, server message).
 */
int http_do(struct http *h, const struct http_req *req, struct http_resp *resp);

void http_resp_init(struct http_resp *r);
void http_resp_release(struct http_resp *r);

/* The status table: 400/415/422 EINVAL, 401/403 EACCES, 404 ENOENT, 408
 * ETIMEDOUT, 409 EEXIST, 413 EFBIG, 429 EAGAIN, other 4xx/5xx EIO; 2xx 0. */
int http_status_errno(long status);

/* Whether a status is worth another try (429, 500, 502, 503, 504). */
int http_status_transient(long status);

/* Counters since start (thread safe snapshot). */
struct http_stats {
	uint64_t requests; /* requests sent, retries included */
	uint64_t retries;
	uint64_t errors; /* http_do() calls that failed */
	uint64_t bytes_down;
	uint64_t bytes_up;
};
void http_get_stats(struct http *h, struct http_stats *out);

#endif
