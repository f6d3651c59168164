/*
 * http_xfer.h - one try of a request on one curl easy handle: its options,
 * headers, multipart body and the callbacks that move its bytes.
 *
 * Owns: the per-try state (struct http_sink: the status seen so far, the
 * multipart body, the stall timer, why the try was cut), the Authorization
 * header (wiped before it is freed) and the sources of fd and streamed parts.
 *
 * Threads: a sink and its handle belong to the one thread running the try;
 * nothing here is shared and no lock is taken. The callbacks run on that
 * thread, inside curl_easy_perform().
 */
#ifndef XAIFS_HTTP_XFER_H
#define XAIFS_HTTP_XFER_H

#include <curl/curl.h>
#include <stdint.h>

#include "http.h"
#include "http_status.h"

struct http_sink {
	struct http_resp *resp;	   /* borrowed: the response being filled */
	int out_fd;		   /* -1: the body goes into resp->body */
	struct fdwriter *out;	   /* writes the 2xx body to out_fd */
	void (*landed)(void *arg); /* from the request */
	void *landed_arg;
	long status;	 /* known once headers are in */
	curl_mime *mime; /* multipart body, owned by the try (http_xfer_mime) */
	curl_off_t moved; /* bytes up + down so far */
	uint64_t moved_at; /* when they last changed (ms); 0: restart the timer */
	uint64_t stall_ms;   /* no progress for this long ends the try */
	struct http_cut cut; /* why the client cut the try, if it did */
	const char *body; /* a warm POST's JSON, read by libcurl (borrowed) */
	size_t body_len, body_off;
};

/* Build req's multipart body into sink->mime (curl_mime_free() it after the
 * try). 0 or -ENOMEM. */
int http_xfer_mime(CURL *c, const struct http_req *req, struct http_sink *sink);

/*
 * Reset c and set every option of req: URL, TLS checks, no redirects,
 * timeouts (o->timeout is the stall limit, and the total limit of a request
 * without an fd body or download), headers, body, callbacks into sink, and a
 * fresh connection for a POST that is not idempotent (see the .c file).
 */
/* Whether method is idempotent by HTTP's definition (GET, PUT, DELETE). */
int http_xfer_idempotent_method(const char *method);

void http_xfer_setup(CURL *c, CURLSH *share, const struct http_opts *o,
		     const struct http_req *req, struct curl_slist *hdrs,
		     struct http_sink *sink);

/* The request headers (Accept, Content-Type, Authorization). NULL on ENOMEM. */
struct curl_slist *http_xfer_headers(const struct http_req *req);

/* Wipe the headers (the Authorization one holds the token) and free them. */
void http_xfer_headers_free(struct curl_slist *l);

/*
 * The body for out_fd arrives from libcurl in pieces of 16 KiB at most; an
 * fdwriter (fdwriter.h) gathers them into batches of up to 512 KiB, handed
 * on at the end of each burst libcurl received (from the progress callback)
 * and written, for a large body, on a thread of their own while the next
 * ones arrive. http_xfer_end() writes the rest and waits for it. Both return
 * 0, or -1 with sink->cut.failed_write set.
 */
int http_xfer_flush(struct http_sink *s);
int http_xfer_end(struct http_sink *s);

/* Whether a failed try got as far as sending the request (connected, bytes
 * out). */
int http_xfer_was_sent(CURL *c, CURLcode cc);

/* Whether req has a streamed part (sent once: its bytes are gone after). */
int http_xfer_streams(const struct http_req *req);

#endif
