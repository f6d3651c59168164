/*
 * api_int.h - what the api_*.c files share (never included outside the api
 * module): struct api, the route labels, URL building and the one-request
 * helpers. The rules of api.h apply: 0 or -errno, one log line per failure,
 * results owned by the caller.
 */
#ifndef XAIFS_API_INT_H
#define XAIFS_API_INT_H

#include "api.h"
#include "buf.h"

struct api {
	struct http *http;
	struct api_opts o;
	char *team;	/* escaped team id, set once before threads */
	uint64_t counts[API_ROUTE_COUNT];	/* atomic */
	int streams;				/* atomic: stream slots taken */
	uint64_t stream_counts[API_STREAM_COUNTERS];	/* atomic */
};

extern const char *const api_routes[API_ROUTE_COUNT];

/* Percent-encode s (all but RFC 3986 unreserved bytes) onto b. 0 or -ENOMEM. */
int api_escape(struct buf *b, const char *s);

/* "<base><p1><escaped id><p2>" (id and p2 may be NULL) in a new string; NULL on ENOMEM. */
char *api_url_id(const char *base, const char *p1, const char *id, const char *p2);

/* ".../v1/collections/{collection_id}/documents/{file_id}" in a new string. */
char *api_document_url(struct api *a, const char *collection_id, const char *file_id);

/*
 * One request with a JSON body (or none). On success *body is the caller's
 * (NUL-terminated) and *len its length. Writes are refused with -EROFS on a
 * read-only mount. msg (when not NULL) receives a one-line reason on
 * failure: "HTTP <status>: <server message>" or the errno's text.
 */
int api_call(struct api *a, enum api_route route, const char *method,
	     const char *url, const char *bearer, const char *json,
	     char **body, size_t *len);
int api_call_msg(struct api *a, enum api_route route, const char *method,
		 const char *url, const char *bearer, const char *json,
		 char **body, size_t *len, char *msg, size_t msgsz);

typedef int (*api_parse_fn)(const char *body, size_t len, struct res *out);

/* One write whose answer is an object of the given kind (parse may be NULL). Frees url. */
int api_write(struct api *a, enum api_route route, const char *method, char *url,
	      const char *json, api_parse_fn parse, struct res *out);

#endif
