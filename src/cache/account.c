/* account.c - search, endpoints, invoices and spending limits through the
 * cache; see account.h. */
#include "account.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "model_account.h"
#include "model_svg.h"
#include "names.h"

#define ACCOUNT_MAX_COLLS 64 /* collections whose documents a search names */

/* ---- search ---- */

/* What a search render needs to name its matches; owns the listings it took. */
struct account_names {
	struct cache *cache;
	struct cval *colls;	       /* collections listing, or NULL */
	char *cids[ACCOUNT_MAX_COLLS]; /* collections whose documents are known */
	struct cval *docs[ACCOUNT_MAX_COLLS]; /* NULL when the listing failed */
	size_t n;
};

static struct cval *account_docs(struct account_names *an, const char *cid)
{
	size_t i;

	for (i = 0; i < an->n; i++)
		if (strcmp(an->cids[i], cid) == 0)
			return an->docs[i];
	if (an->n == ACCOUNT_MAX_COLLS || !(an->cids[an->n] = strdup(cid)))
		return NULL;
	/* A failed listing leaves the file id in place of the name. */
	if (cache_documents(an->cache, cid, &an->docs[an->n]) < 0)
		an->docs[an->n] = NULL;
	return an->docs[an->n++];
}

static const char *account_name(void *ctx, const char *cid, const char *file_id)
{
	struct account_names *an = ctx;
	const struct res *r = NULL;
	struct cval *v;

	if (!file_id) {
		if (!an->colls && cache_collections(an->cache, &an->colls) < 0)
			an->colls = NULL;
		r = an->colls ? reslist_by_id(an->colls->list, cid) : NULL;
	} else if ((v = account_docs(an, cid))) {
		r = reslist_by_id(v->list, file_id);
	}
	return r ? r->name : NULL;
}

static void account_names_release(struct account_names *an)
{
	for (size_t i = 0; i < an->n; i++) {
		free(an->cids[i]);
		cval_unref(an->docs[i]);
	}
	cval_unref(an->colls);
}

/* The collections to search: cid, or every listed one (*n may be 0). */
static int account_search_cids(struct account_names *an, const char *cid,
			       const char ***out, size_t *n)
{
	const struct reslist *l;
	int rc;

	*n = 0;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	if (*cid) {
		(*out)[0] = cid;
		*n = 1;
		return 0;
	}
	rc = cache_collections(an->cache, &an->colls);
	if (rc < 0)
		return rc;
	l = an->colls->list;
	free(*out);
	*out = calloc(l->n ? l->n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		(*out)[i] = l->v[i].id;
	*n = l->n;
	return 0;
}

/* arg: "<cid>/<name>" (ids and names hold no '/'; cid "" for every collection).
 */
static int fetch_search(struct cache *c, struct api *api, const char *arg,
			struct cval *v)
{
	struct account_names an = { .cache = c };
	struct model_search_q q;
	const char *slash = strchr(arg, '/');
	const char **cids = NULL;
	char *qname = NULL, *cid = NULL, *req = NULL, *body = NULL;
	size_t n = 0, len = 0;
	int rc;

	if (!slash || !(qname = strdup(slash + 1)))
		return slash ? -ENOMEM : -ENOENT;
	rc = model_search_query(qname, &q);
	if (rc == 0 && (cid = strndup(arg, (size_t)(slash - arg))) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = account_search_cids(&an, cid, &cids, &n);
	if (rc == 0 && n > 0)
		rc = model_search_request(&q, cids, n, &req);
	if (rc == 0 && n > 0)
		rc = api_search(api, req, &body, &len);
	if (rc == 0 && n == 0) {
		v->text = strdup(""); /* no collection: nothing matches, nothing
					 is sent */
		rc = v->text ? 0 : -ENOMEM;
	} else if (rc == 0) {
		rc = model_render_search(body, len, account_name, &an, &v->text,
					 &v->len);
		if (rc == -EIO)
			log_error("%s: malformed answer",
				  api_route_name(API_SEARCH));
	}
	account_names_release(&an);
	free(cids);
	free(body);
	free(req);
	free(qname);
	free(cid);
	return rc;
}

int account_search(struct cache *c, const char *cid, const char *name,
		   struct cval **out)
{
	size_t n = strlen(name) + strlen(cid) + 16;
	char *key;
	int rc;

	if (strchr(name, '/'))
		return -ENOENT;
	key = malloc(n);
	if (!key)
		return -ENOMEM;
	snprintf(key, n, "%s/%s", cid, name);
	rc = cache_get(c, CACHE_KEY(CACHE_SEARCH, key), fetch_search,
		       cache_ttl(c, 0), out);
	free(key);
	return rc;
}

/* ---- endpoints, invoices, spending limits ---- */

static int fetch_endpoints(struct cache *c, struct api *api, const char *arg,
			   struct cval *v)
{
	(void)arg;
	return api_endpoints(api, &v->text, &v->len);
}

int account_endpoints(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_ENDPOINTS, NULL), fetch_endpoints,
			 cache_ttl(c, 0), out);
}

static int fetch_invoices(struct cache *c, struct api *api, const char *arg,
			  struct cval *v)
{
	int rc;

	(void)arg;
	rc = api_list_invoices(api, &v->list);
	if (rc == 0 && (rc = names_assign(v->list, NAMES_MAX, NULL)) < 0)
		log_error("cannot name invoices: %s", strerror(-rc));
	return rc;
}

int account_invoices(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_INVOICES, NULL), fetch_invoices,
			 cache_ttl(c, 0), out);
}

static int fetch_limits(struct cache *c, struct api *api, const char *arg,
			struct cval *v)
{
	(void)arg;
	return api_spending_limits(api, &v->text, &v->len);
}

int account_limits(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_LIMITS, NULL), fetch_limits,
			 cache_ttl(c, 1), out);
}

static int fetch_usage_svg(struct cache *c, struct api *api, const char *arg,
			   struct cval *v)
{
	struct cval *u = NULL;
	int rc;

	(void)arg;
	rc = cache_usage(c, &u);
	if (rc < 0)
		return rc;
	v->fetched = u->fetched;
	rc = model_render_usage_svg(u->text, u->len, &v->text, &v->len);
	if (rc == -EIO)
		log_error(
			"cannot draw usage.svg: the usage answer has no timeSeries");
	cval_unref(u);
	return rc;
}

int account_usage_svg(struct cache *c, struct cval **out)
{
	return cache_get(c, CACHE_KEY(CACHE_USAGE_SVG, NULL), fetch_usage_svg,
			 cache_ttl(c, 1), out);
}

/* Drawn from the month's cached usage: reading both costs one request. */
static int fetch_month_svg(struct cache *c, struct api *api, const char *month,
			   struct cval *v)
{
	struct cval *u = NULL;
	int rc;

	rc = cache_usage_month(c, month, &u);
	if (rc < 0)
		return rc;
	v->fetched = u->fetched;
	rc = model_render_usage_svg(u->text, u->len, &v->text, &v->len);
	if (rc == -EIO)
		log_error(
			"cannot draw usage-by-month/%s.svg: the usage answer has no timeSeries",
			month);
	cval_unref(u);
	return rc;
}

int account_usage_month_svg(struct cache *c, const char *month,
			    struct cval **out)
{
	char m[8];

	snprintf(m, sizeof(m), "%s", month);
	return cache_get(c, CACHE_KEY(CACHE_USAGE_MONTH_SVG, m),
			 fetch_month_svg, cache_month_ttl(c, m), out);
}

void account_limits_changed(struct cache *c)
{
	cache_changed(c, CACHE_LIMITS, NULL);
}
