/* http_trace.c - one JSON line per try for -o trace=; see http_trace.h. */
#include "http_trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "model.h"

void http_trace_init(struct http_trace *t, int fd)
{
	t->fd = fd;
	pthread_mutex_init(&t->lock, NULL);
}

void http_trace_destroy(struct http_trace *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* "2026-12-08T00:20:01.123Z" */
static void http_trace_now(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char day[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03ldZ", day, ts.tv_nsec / 1000000L);
}

/* The answer's body as trace JSON (a malloc'd string), or NULL. */
static char *http_trace_body(const struct http_req *req,
			     const struct http_resp *resp)
{
	char *body = NULL;

	if (req->out_fd >= 0 || !resp->body.data)
		return NULL;
	if (model_trace_body(resp->body.data, resp->body.len, &body) < 0)
		return NULL;
	return body;
}

static void http_trace_write(int fd, const char *line, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
		len -= (size_t)n;
	}
}

void http_trace_try(struct http_trace *t, const struct http_req *req,
		    const struct http_resp *resp, CURLcode cc, uint64_t ms,
		    uint64_t up)
{
	const char *sp = strchr(req->route, ' ');
	char when[48], *body, *line;
	size_t size, len;

	if (t->fd < 0)
		return;
	http_trace_now(when, sizeof(when));
	body = http_trace_body(req, resp);
	/* Room for the masks of log_scrub() (a secret of 4 bytes becomes
	 * "[redacted]"). */
	size = 3 * (strlen(req->route) + (body ? strlen(body) : 0)) + 512;
	line = malloc(size);
	if (!line) {
		free(body);
		return;
	}
	snprintf(line, size,
		 "{\"time\":\"%s\",\"method\":\"%.*s\",\"route\":\"%s\","
		 "\"status\":%ld,\"ms\":%llu,\"up\":%llu,\"down\":%llu,"
		 "\"try\":%d,\"error\":%s%s%s,\"body\":%s}\n",
		 when, sp ? (int)(sp - req->route) : 0, req->route,
		 sp ? sp + 1 : req->route, resp->status, (unsigned long long)ms,
		 (unsigned long long)up, (unsigned long long)resp->bytes,
		 resp->attempts + 1, cc == CURLE_OK ? "" : "\"",
		 cc == CURLE_OK ? "null" : curl_easy_strerror(cc),
		 cc == CURLE_OK ? "" : "\"", body ? body : "null");
	free(body);
	log_scrub(line, size);
	len = strlen(line);
	pthread_mutex_lock(&t->lock);
	http_trace_write(t->fd, line, len);
	pthread_mutex_unlock(&t->lock);
	explicit_bzero(line, len);
	free(line);
}
