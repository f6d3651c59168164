/*
 * http_status.h - what the outcome of a try means: its errno, and whether it
 * is worth another try.
 *
 * Owns: the one HTTP-status-to-errno table and the set of transient statuses
 * (http_status_errno() and http_status_transient(), declared in http.h for
 * every user), and the same two answers for a libcurl failure. Pure: no
 * state, no locks, any thread.
 */
#ifndef XAIFS_HTTP_STATUS_H
#define XAIFS_HTTP_STATUS_H

#include <curl/curl.h>

/* Why a try was cut short by the client itself (beyond libcurl's code). */
struct http_cut {
	int stalled;	  /* no progress for the stall limit */
	int read_aborted; /* a streamed part's source gave up */
	int failed_write; /* 1: the body cap was reached, 2: writing the out fd
			     failed */
	int write_err;	  /* with 2: that write's -errno */
};

/*
 * The errno of a failed curl_easy_perform(): -ETIMEDOUT (timeout or stall),
 * -ECANCELED (the source gave up), -ENOMEM, the -errno of writing the out fd
 * (-ENOSPC when none is known), else -EIO (including a body over
 * HTTP_BODY_MAX).
 */
int http_curl_errno(CURLcode cc, const struct http_cut *cut);

/* Whether a libcurl failure is worth another try (no connection, dropped, cut).
 */
int http_curl_transient(CURLcode cc);

#endif
