/*
 * api_int.h - what the api_*.c files share (never included outside the api
 * module): struct api, the route table, the one request path and the parse
 * adapters. The rules of api.h apply: 0 or -errno, one log line per failure,
 * results owned by the caller.
 *
 * The one request path (api_route.c): every request names its route and
 * goes through api_exchange(), which in this order refuses a mutating route
 * on a read-only mount (-EROFS, one log line, nothing sent), refuses an
 * inference route without an inference key (-EACCES, one log line), builds
 * the URL from the route's template (every id and page token
 * percent-escaped; -ENAMETOOLONG and one log line past API_URL_MAX, never
 * cut), counts the request for its route, and sends it. api_send() adds the
 * answer's parse and the one "malformed answer" log line.
 *
 * Calls go one way: api.c, api_account.c, api_upload.c -> api_route.c,
 * api_answer.c; api_upload.c -> api.c (the documents listing).
 */
#ifndef XAIFS_API_INT_H
#define XAIFS_API_INT_H

#include "api.h"
#include "buf.h"

/* The longest URL sent (the bytes before the NUL); a longer one is refused. */
#define API_URL_MAX 65536

struct api {
	struct http *http;
	struct api_opts o;
	char *team; /* the team id as given (escaped in URLs); set once before
		       threads */
	uint64_t counts[API_ROUTE_COUNT]; /* atomic */
	int streams;			  /* atomic: stream slots taken */
	uint64_t stream_counts[API_STREAM_COUNTERS]; /* atomic */
};

/* Which host a route is on, and so which credential it carries. */
enum api_host {
	API_MGMT,  /* management_url, the management key */
	API_INFER, /* api_url, the inference key (refused with -EACCES when
		      none) */
};

/* Properties of a route. */
enum api_route_flags {
	API_MUTATES = 1 << 0, /* changes the account: -EROFS on a read-only
				 mount, never re-sent */
	API_SECRET =
		1 << 1, /* the answer may hold a secret: wiped once parsed */
	API_TO_FD = 1 << 2, /* the 2xx body goes to the request's fd, Accept:
			       octet-stream */
	API_WARM = 1 << 3,  /* a create that may go on a kept connection: the
			       caller can look for what it made (http.h, warm) */
};

/* One row of the route table: everything about a route but the request's
 * values. */
struct api_route_def {
	/* "<method> <path>": its counter in .xaifs/stats and its logs */
	const char *label;
	const char *method;
	/* {teamId}/{team_id}: the team; any other {..}: the next id */
	const char *path;
	enum api_host host;
	unsigned flags;	   /* enum api_route_flags */
	const char *query; /* fixed query (program text, sent as is), or NULL */
	const char *size_param; /* the page-size parameter, or NULL */
	const char *tok_param;	/* the page-token parameter, or NULL */
	/* API_INFER: what is refused without the key ("search") */
	const char *verb;
	/* API_INFER: what needs the key ("searching collections") */
	const char *needs;
};

/* One request: its route and its values (all borrowed). */
struct api_req {
	enum api_route route;
	const char *id[2]; /* the values of the path's non-team {..}, in order */
	int page_size;	   /* > 0: the route's size_param=page_size */
	const char
		*token; /* the route's tok_param=token, or NULL (first page) */
	const char *json;	       /* JSON body, or NULL */
	const struct http_part *parts; /* multipart body instead, or NULL */
	size_t n_parts;
	int fd; /* API_TO_FD routes: where the 2xx body goes */
	void (*landed)(void *arg); /* and who hears of each piece (http.h) */
	void *landed_arg;
	int fresh; /* an API_WARM route sent on a new connection after all */
	/* what the request is about, named in a refusal's log line */
	const char *subject;
	char *why; /* if not NULL: a one-line reason on failure */
	size_t whysz;
};

/*
 * Parse a 2xx answer into ctx: 0, -EIO when the answer is malformed (the
 * caller logs it), or another -errno. It may take the body (buf_take()).
 */
typedef int (*api_parse_fn)(void *ctx, struct buf *body);

/* The route's row of the table (r < API_ROUTE_COUNT). */
const struct api_route_def *api_route_def(enum api_route r);

/* Build rq's URL into *url (caller frees): 0, -EINVAL (no id), -ENAMETOOLONG,
 * -ENOMEM; logged. */
int api_url(const struct api *a, const struct api_req *rq, char **url);

/* Refuse, build, count and send rq; resp (http_resp_init() by the caller) gets
 * the answer. */
int api_exchange(struct api *a, const struct api_req *rq,
		 struct http_resp *resp);

/* api_exchange(), then parse (NULL: none) a 2xx answer into ctx; -EIO logs
 * "malformed answer". */
/*
 * api_send() of a create (an API_WARM route) whose result find can look for:
 * when the kept connection it went on died before any answer, find(a, fctx)
 * says whether the server made it (0: found, the caller's out filled;
 * -ENOENT: not made), and what was not made is sent once more on a new
 * connection (libcurl never re-sends on one). Never two creates for one.
 */
int api_send_create(struct api *a, const struct api_req *rq, api_parse_fn parse,
		    void *ctx, int (*find)(struct api *a, void *fctx),
		    void *fctx);
/* One of several requests sent at once (api_send_all()); rc is its result. */
struct api_many {
	struct api *a;
	struct api_req rq;
	api_parse_fn parse;
	void *ctx;
	int rc;
};

/*
 * api_send() of m[0..n-1] at once, each on a handle (and connection) of its
 * own from the pool, so that n independent requests cost one round trip,
 * not n. Returns when all have ended; their results are in m[i].rc.
 */
void api_send_all(struct api_many *m, size_t n);

int api_send(struct api *a, const struct api_req *rq, api_parse_fn parse,
	     void *ctx);

/* ---- parse adapters (api_answer.c): ctx is the struct named ---- */

/* struct api_res_ans: fn(body, len, out) for one object into a struct res. */
struct api_res_ans {
	int (*fn)(const char *body, size_t len, struct res *out);
	struct res *out;
};
int api_ans_res(void *ctx, struct buf *body);

/* struct api_text_ans: fn(body, len, out, out_len) for a rendered file. */
struct api_text_ans {
	int (*fn)(const char *body, size_t len, char **out, size_t *out_len);
	char **out;
	size_t *out_len;
};
int api_ans_text(void *ctx, struct buf *body);

/* struct api_text_ans without fn: the body itself, when it is one JSON object. */
int api_ans_object(void *ctx, struct buf *body);

/* struct api_list_ans: fn(body, len, list) for a whole list in one answer. */
struct api_list_ans {
	int (*fn)(const char *body, size_t len, struct reslist *out);
	struct reslist *list;
};
int api_ans_list(void *ctx, struct buf *body);

/* struct api_key_ans: a key into out, its one-time secret into *secret (NULL:
 * wiped). */
struct api_key_ans {
	struct res *out;
	char **secret;
};
int api_ans_key(void *ctx, struct buf *body);

#endif
