/* http_xfer.c - one try's options, headers, body and byte callbacks; see
 * http_xfer.h. */
#include "http_xfer.h"

/* Debian's hashed CA directory (libcurl's own default there) */
#define HTTP_SYSTEM_CAPATH "/etc/ssl/certs"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdwriter.h"
#include "http_pace.h"

/* Writing the out fd failed with rc (the first failure is kept). */
static void http_write_failed(struct http_sink *s, int rc)
{
	s->cut.failed_write = 2;
	if (!s->cut.write_err)
		s->cut.write_err = rc;
}

int http_xfer_flush(struct http_sink *s)
{
	int rc = s->out ? fdwriter_flush(s->out) : 0;

	if (rc < 0)
		http_write_failed(s, rc);
	return rc < 0 ? -1 : 0;
}

int http_xfer_end(struct http_sink *s)
{
	int rc = fdwriter_end(s->out);

	s->out = NULL;
	if (rc < 0)
		http_write_failed(s, rc);
	return rc < 0 ? -1 : 0;
}

/* A 2xx body piece for out_fd, gathered by the sink's fdwriter. */
static size_t http_write_fd(struct http_sink *s, const char *p, size_t len)
{
	int rc;

	if (!s->out)
		s->out = fdwriter_new(s->out_fd, s->landed, s->landed_arg);
	rc = s->out ? fdwriter_put(s->out, p, len) : -ENOMEM;
	if (rc < 0) {
		http_write_failed(s, rc);
		return 0;
	}
	return len;
}

static size_t http_write_cb(char *p, size_t size, size_t n, void *data)
{
	struct http_sink *s = data;
	size_t len = size * n;

	s->resp->bytes += len;
	if (s->out_fd >= 0 && s->status >= 200 && s->status < 300)
		return http_write_fd(s, p, len);
	if (buf_append(&s->resp->body, p, len) < 0) {
		s->cut.failed_write = 1;
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

	/* the end of a batch libcurl received: what it brought goes out */
	if (http_xfer_flush(s) < 0)
		return 1; /* CURLE_ABORTED_BY_CALLBACK, cut.failed_write set */

	if (dlnow + ulnow != s->moved || !s->moved_at) {
		s->moved = dlnow + ulnow;
		s->moved_at = now;
		return 0;
	}
	if (now - s->moved_at >= s->stall_ms) {
		s->cut.stalled = 1;
		return 1; /* CURLE_ABORTED_BY_CALLBACK */
	}
	return 0;
}

/* ---- multipart bodies ---- */

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
		return CURL_READFUNC_ABORT; /* the spool file shrank or failed */
	s->off += (uint64_t)got;
	return (size_t)got;
}

/*
 * libcurl rewinds a body to send it again (a kept connection found dead with
 * no answer, an HTTP/2 stream refused): refused once any byte of it was read,
 * as the server may then have acted on it (http.h, struct http_req.warm).
 * A rewind to where the body already is changes nothing and is allowed.
 */
static int http_fd_seek(void *arg, curl_off_t off, int origin)
{
	struct http_fd_src *s = arg;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off != s->off)
		return CURL_SEEKFUNC_CANTSEEK;
	return CURL_SEEKFUNC_OK;
}

static void http_src_free(void *arg)
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
		s->sink->cut.read_aborted = 1;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)got;
}

int http_xfer_streams(const struct http_req *req)
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
	if (curl_mime_data_cb(mp, -1, http_stream_read, NULL, http_src_free,
			      src) != CURLE_OK) {
		free(src);
		return -ENOMEM;
	}
	return 0;
}

static int http_mime_fd(curl_mimepart *mp, const struct http_part *p)
{
	struct http_fd_src *src = calloc(1, sizeof(*src));

	if (!src)
		return -ENOMEM;
	src->fd = p->fd;
	src->size = p->size;
	if (curl_mime_data_cb(mp, (curl_off_t)p->size, http_fd_read,
			      http_fd_seek, http_src_free, src) != CURLE_OK) {
		free(src);
		return -ENOMEM;
	}
	return 0;
}

/* One part: its name, filename and type, then a value, a stream or an fd's
 * bytes. */
static int http_mime_part(curl_mime *m, const struct http_part *p,
			  struct http_sink *sink)
{
	curl_mimepart *mp = curl_mime_addpart(m);

	if (!mp || curl_mime_name(mp, p->name) != CURLE_OK)
		return -ENOMEM;
	if (p->filename && curl_mime_filename(mp, p->filename) != CURLE_OK)
		return -ENOMEM;
	if (p->type && curl_mime_type(mp, p->type) != CURLE_OK)
		return -ENOMEM;
	if (p->value)
		return curl_mime_data(mp, p->value, CURL_ZERO_TERMINATED) ==
				       CURLE_OK
			       ? 0
			       : -ENOMEM;
	if (p->read)
		return http_mime_stream(mp, p, sink);
	return http_mime_fd(mp, p);
}

int http_xfer_mime(CURL *c, const struct http_req *req, struct http_sink *sink)
{
	curl_mime *m = curl_mime_init(c);

	for (size_t i = 0; m && i < req->n_parts; i++) {
		if (http_mime_part(m, &req->parts[i], sink) < 0) {
			curl_mime_free(m);
			m = NULL;
		}
	}
	sink->mime = m;
	return m ? 0 : -ENOMEM;
}

/* ---- options and headers ---- */

/* A JSON body handed to libcurl piece by piece (warm POSTs). */
static size_t http_body_read(char *p, size_t size, size_t n, void *arg)
{
	struct http_sink *sink = arg;
	size_t left = sink->body_len - sink->body_off;
	size_t want = size * n < left ? size * n : left;

	memcpy(p, sink->body + sink->body_off, want);
	sink->body_off += want;
	return want;
}

/* Never back once a byte was read (see http_fd_seek()). */
static int http_body_seek(void *arg, curl_off_t off, int origin)
{
	struct http_sink *sink = arg;

	return origin == SEEK_SET && off >= 0 && (size_t)off == sink->body_off
		       ? CURL_SEEKFUNC_OK
		       : CURL_SEEKFUNC_CANTSEEK;
}

static void http_setup_read_body(CURL *c, const struct http_req *req,
				 struct http_sink *sink)
{
	sink->body = req->body;
	sink->body_len = req->body_len;
	sink->body_off = 0;
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, http_body_read);
	curl_easy_setopt(c, CURLOPT_READDATA, sink);
	curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, http_body_seek);
	curl_easy_setopt(c, CURLOPT_SEEKDATA, sink);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)req->body_len);
}

/* The method and the body: JSON, multipart, or an empty one for a bare
 * POST/PUT. */
static void http_setup_body(CURL *c, const struct http_req *req,
			    struct http_sink *sink)
{
	if (strcmp(req->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (sink->mime) {
		curl_easy_setopt(c, CURLOPT_MIMEPOST, sink->mime);
	} else if (req->body && req->warm && req->body_len > 0) {
		http_setup_read_body(c, req, sink);
	} else if (req->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "POST") == 0 ||
		   strcmp(req->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
}

int http_xfer_idempotent_method(const char *method)
{
	return strcmp(method, "DELETE") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "GET") == 0;
}

/*
 * -o cacert=: that file is the CA file, and the system's CA directory stays
 * (OpenSSL looks in both), so a private CA is trusted besides the system's.
 * Verification is never turned off.
 */
static void http_xfer_trust(CURL *c, const struct http_opts *o)
{
	if (!o->cacert)
		return;
	curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	curl_easy_setopt(c, CURLOPT_CAPATH, HTTP_SYSTEM_CAPATH);
}

/*
 * Connections: TCP keepalive on, and an idle connection reused for up to an
 * hour, not libcurl's 118 s, for as long as the server keeps it: one the
 * server closed is found dead and dropped before use, and one that closes as
 * a request goes out is handled by the rule of struct http_req.warm.
 */
static void http_xfer_keep(CURL *c)
{
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, 3600L);
}

/*
 * Whether req's body can be held to "never rewound once read": a JSON body
 * that is not empty (an empty one is whole with the headers alone), or
 * multipart parts of values and spooled files, not streams (a stream's bytes
 * are gone once sent).
 */
static int http_xfer_warm_body(const struct http_req *req)
{
	if (req->parts)
		return !http_xfer_streams(req);
	return req->body && req->body_len > 0;
}

void http_xfer_setup(CURL *c, CURLSH *share, const struct http_opts *o,
		     const struct http_req *req, struct curl_slist *hdrs,
		     struct http_sink *sink)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_SHARE, share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	http_xfer_trust(c, o);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	http_xfer_keep(c);
	/* Big buffers: fewer callbacks and syscalls when moving document bytes.
	 */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	/*
	 * HTTP/2 over TLS, but HTTP/1.1 for a multipart upload: a front may
	 * grant an HTTP/2 request body a small flow-control window (nginx:
	 * 64 KiB, more only as it forwards the body), which costs an upload a
	 * round trip per 64 KiB; HTTP/1.1 is limited only by TCP
	 * (docs/performance.md, "Through a front").
	 */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
			 req->parts ? (long)CURL_HTTP_VERSION_1_1
				    : (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "xaifs/" XAIFS_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)o->connect_timeout);
	/* Stall detection on every request; a total limit on metadata calls. */
	sink->stall_ms = (uint64_t)o->timeout * 1000;
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, http_progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, sink);
	if (req->out_fd < 0 && !req->parts)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)o->timeout);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, sink);
	if (req->range)
		curl_easy_setopt(c, CURLOPT_RANGE, req->range);
	/*
	 * libcurl sends a request again by itself when a reused connection
	 * turns out dead before any answer, or an HTTP/2 stream was refused
	 * (http.h, struct http_req.warm). DELETE and PUT are idempotent
	 * methods (RFC 9110 9.2.2), so they keep the pool's connections. A
	 * POST does only when warm: its body then cannot be rewound once a
	 * byte of it was read, so libcurl can send it again only when the
	 * server cannot have seen it whole; otherwise the try fails
	 * (CURLE_SEND_FAIL_REWIND) and the caller asks the server. Any other
	 * POST gets a connection of its own, which libcurl never retries.
	 */
	if (!req->idempotent && !http_xfer_idempotent_method(req->method) &&
	    !(req->warm && http_xfer_warm_body(req)))
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	http_setup_body(c, req, sink);
}

/* Append one header line; on ENOMEM the whole list is freed and NULL returned. */
static struct curl_slist *http_header_add(struct curl_slist *l,
					  const char *line)
{
	struct curl_slist *t = curl_slist_append(l, line);

	if (!t)
		http_xfer_headers_free(l);
	return t;
}

struct curl_slist *http_xfer_headers(const struct http_req *req)
{
	struct curl_slist *l;
	char accept[128];
	char *auth;
	size_t n;

	snprintf(accept, sizeof(accept), "Accept: %s",
		 req->accept ? req->accept : "application/json");
	l = curl_slist_append(NULL, accept);
	/* No "Expect: 100-continue" round trip before a multipart body. */
	if (l && req->parts)
		l = http_header_add(l, "Expect:");
	if (l && req->body)
		l = http_header_add(l, "Content-Type: application/json");
	if (l && req->bearer) {
		n = strlen(req->bearer) + 32;
		auth = malloc(n);
		if (!auth) {
			http_xfer_headers_free(l);
			return NULL;
		}
		snprintf(auth, n, "Authorization: Bearer %s", req->bearer);
		l = http_header_add(l, auth);
		explicit_bzero(auth, n);
		free(auth);
	}
	return l;
}

void http_xfer_headers_free(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/*
 * A failure before the request went out (no connection, no name) cannot have
 * reached the server; after, it may have.
 */
int http_xfer_was_sent(CURL *c, CURLcode cc)
{
	long req_bytes = 0;

	if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
	    cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_OUT_OF_MEMORY)
		return 0;
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &req_bytes);
	return req_bytes > 0;
}
