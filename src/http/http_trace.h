/*
 * http_trace.h - the trace of -o trace=FILE: one JSON line per try of every
 * request, for a bug report (docs/semantics.md, "First contact: the trace").
 *
 * Owns: the format of a line and the lock that keeps lines whole. A line
 * holds the time, the method and the route's template (never an id or a
 * query), the status, the time taken, the bytes each way, the try, libcurl's
 * error when there was one, and the answer's body with every secret and
 * payment detail replaced (model_trace_body()) and every registered secret
 * (the management and inference keys: log.h) masked. Request bodies and
 * headers are never written; an answer written to a file (a document's
 * bytes) is left out. The fd is the caller's: opened 0600 by main's config,
 * closed after the last request.
 *
 * Threads: http_trace_try() may run on any thread; lock guards writes.
 */
#ifndef XAIFS_HTTP_TRACE_H
#define XAIFS_HTTP_TRACE_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include "http.h"

struct http_trace {
	int fd; /* -1: no trace */
	pthread_mutex_t lock;
};

void http_trace_init(struct http_trace *t, int fd);
void http_trace_destroy(struct http_trace *t);

/* One line for a try of req that ended with cc and resp, after ms, its
 * body up bytes. Failures to write are ignored (the trace is an aid). */
void http_trace_try(struct http_trace *t, const struct http_req *req,
		    const struct http_resp *resp, CURLcode cc, uint64_t ms,
		    uint64_t up);

#endif
