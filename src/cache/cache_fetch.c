/*
 * cache_fetch.c - what the cache fetches for each family of cache.h (the
 * typed getters and their fetches, which run outside c->lock), document
 * bytes, and the counters of the layers under the cache. See cache.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anonfile.h"
#include "cache_int.h"
#include "log.h"
#include "names.h"

static int cache_name_list(struct reslist *l, size_t maxlen)
{
	int rc = names_assign(l, maxlen, NULL);

	if (rc < 0)
		log_error("cannot name entries: %s", strerror(-rc));
	return rc;
}

static int fetch_keys(struct cache *c, struct api *api, const char *arg,
		      struct cval *v)
{
	int rc = api_list_keys(api, &v->list);

	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX);
}

static int fetch_collections(struct cache *c, struct api *api, const char *arg,
			     struct cval *v)
{
	int rc = api_list_collections(api, &v->list);

	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX);
}

static int fetch_documents(struct cache *c, struct api *api, const char *cid,
			   struct cval *v)
{
	int rc = api_list_documents(api, cid, &v->list);

	/* Leave room for the ".json" of metadata/<doc>.json. */
	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX - 5);
}

static int fetch_models(struct cache *c, struct api *api, const char *arg,
			struct cval *v)
{
	int rc = api_list_models(api, &v->list, &v->text, &v->len);

	return rc < 0 ? rc : cache_name_list(v->list, NAMES_MAX);
}

static int fetch_usage(struct cache *c, struct api *api, const char *arg,
		       struct cval *v)
{
	return api_usage(api, v->fetched, &v->text, &v->len);
}

static int fetch_billing(struct cache *c, struct api *api, const char *arg,
			 struct cval *v)
{
	return api_billing(api, &v->text, &v->len);
}

#define CACHE_AUDIT_PAGES 10

static int fetch_audit(struct cache *c, struct api *api, const char *arg,
		       struct cval *v)
{
	return api_audit(api, CACHE_AUDIT_PAGES, &v->text, &v->len);
}

static int fetch_usage_month(struct cache *c, struct api *api,
			     const char *month, struct cval *v)
{
	int y, m;

	if (sscanf(month, "%4d-%2d", &y, &m) != 2)
		return -ENOENT;
	return api_usage_month(api, y, m, v->fetched, &v->text, &v->len);
}

int cache_audit(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_AUDIT, NULL), fetch_audit,
			 c->o.live_ttl, out);
}

double cache_month_ttl(const struct cache *c, const char *month)
{
	char cur[8];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(cur, sizeof(cur), "%Y-%m", &tm);
	return cache_ttl(c, strncmp(month, cur, 7) == 0 && strlen(month) == 7);
}

int cache_usage_month(struct cache *c, const char *month, struct cval **out)
{
	char m[8];

	snprintf(m, sizeof(m), "%s", month);
	return cache_get(c, CACHE_KEY(CACHE_USAGE_MONTH, m), fetch_usage_month,
			 cache_month_ttl(c, m), out);
}

int cache_keys(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_KEYS, NULL), fetch_keys, c->o.ttl,
			 out);
}

int cache_collections(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_COLLECTIONS, NULL),
			 fetch_collections, c->o.ttl, out);
}

int cache_documents(struct cache *c, const char *collection_id,
		    struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_DOCUMENTS, collection_id),
			 fetch_documents, c->o.ttl, out);
}

int cache_models(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_MODELS, NULL), fetch_models,
			 c->o.ttl, out);
}

int cache_regions(struct cache *c, struct cval **out)
{
	return cache_models(c, out);
}

int cache_usage(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_USAGE, NULL), fetch_usage,
			 c->o.live_ttl, out);
}

int cache_billing(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_BILLING, NULL), fetch_billing,
			 c->o.live_ttl, out);
}

int cache_read_document(struct cache *c, const char *file_id, int fd,
			uint64_t *bytes)
{
	if (!c->api)
		return -ENOTCONN;
	return api_download_file(c->api, file_id, fd, bytes, NULL, NULL);
}

static int cache_fill_document(void *ctx, const char *file_id, int fd,
			       uint64_t *bytes, void (*landed)(void *arg),
			       void *arg)
{
	struct cache *c = ctx;

	return api_download_file(c->api, file_id, fd, bytes, landed, arg);
}

int cache_open_document(struct cache *c, const char *file_id, const char *hash,
			struct doccache_dl **dl)
{
	uint64_t bytes = 0;
	int fd, rc;

	*dl = NULL;
	if (!c->api)
		return -ENOTCONN;
	if (c->o.doccache) {
		/* Readers of one uncached document share one download. */
		fd = doccache_open_async(c->o.doccache, file_id, hash,
					 cache_fill_document, c, dl);
	} else {
		fd = anonfile_open(c->o.tmpdir ? c->o.tmpdir : "/var/tmp");
		rc = fd < 0 ? fd
			    : api_download_file(c->api, file_id, fd, &bytes,
						NULL, NULL);
		if (fd >= 0 && rc < 0) {
			close(fd);
			fd = rc;
		}
	}
	pthread_mutex_lock(&c->lock);
	if (fd >= 0 && c->o.doccache && !*dl)
		c->stats.doc_hits++;
	else if (fd >= 0)
		c->stats.doc_misses++;
	pthread_mutex_unlock(&c->lock);
	return fd;
}

int cache_key_propagation(struct cache *c, const char *key_id, char **text,
			  size_t *len)
{
	if (!c->api)
		return -ENOTCONN;
	return api_key_propagation(c->api, key_id, text, len);
}

/* The API's and the HTTP client's counters into out; returns how many. */
static size_t cache_api_counters(struct api *api, struct model_counter *out)
{
	struct http_stats hs = { 0 };
	size_t n = 0;

	for (int r = 0; r < API_ROUTE_COUNT; r++)
		out[n++] = (struct model_counter){ "requests",
						   api_route_name(r),
						   api_route_count(api, r) };
	out[n++] = (struct model_counter){
		"uploads", "streamed", api_stream_counter(api, API_STREAMS)
	};
	out[n++] = (struct model_counter){ "uploads", "streamed_bytes",
					   api_stream_counter(
						   api, API_STREAM_BYTES) };
	out[n++] = (struct model_counter){
		"uploads", "abandoned",
		api_stream_counter(api, API_STREAMS_ABANDONED)
	};
	api_http_stats(api, &hs);
	out[n++] = (struct model_counter){ "http", "requests", hs.requests };
	out[n++] = (struct model_counter){ "http", "retries", hs.retries };
	out[n++] = (struct model_counter){ "http", "errors", hs.errors };
	out[n++] = (struct model_counter){ "http", "bytes_up", hs.bytes_up };
	out[n++] = (struct model_counter){ "http", "bytes_down",
					   hs.bytes_down };
	return n;
}

size_t cache_counters(struct cache *c, struct model_counter *out)
{
	struct cache_stats cs;
	size_t n = c->api ? cache_api_counters(c->api, out) : 0;

	cache_get_stats(c, &cs);
	out[n++] = (struct model_counter){ "cache", "hits", cs.hits };
	out[n++] = (struct model_counter){ "cache", "misses", cs.misses };
	out[n++] = (struct model_counter){ "cache", "joins", cs.joins };
	out[n++] = (struct model_counter){ "cache", "entries", cs.entries };
	out[n++] = (struct model_counter){ "cache", "document_hits",
					   cs.doc_hits };
	out[n++] = (struct model_counter){ "cache", "document_misses",
					   cs.doc_misses };
	out[n++] = (struct model_counter){ "cache", "write_through",
					   cs.write_through };
	return n;
}
