/*
 * account.h - the cached values behind the account files beyond keys and
 * collections: search results (collections/<c>/search/<query>,
 * /search/<query>), the endpoint ACL catalogue (/endpoints), invoices
 * (/invoices/), the spending limits (/spending-limits) and /usage.svg.
 *
 * Owns: the fetches of their cache families (CACHE_SEARCH, argument
 * "<collection_id>/<query>" with "" for every collection; CACHE_ENDPOINTS,
 * CACHE_INVOICES, CACHE_LIMITS; CACHE_USAGE_SVG, drawn from CACHE_USAGE, and
 * CACHE_USAGE_MONTH_SVG, argument "YYYY-MM", drawn from CACHE_USAGE_MONTH)
 * and the mapping of search matches to display names. Built on cache
 * (cache_get(): TTL, single flight, errors not cached) and api; knows nothing
 * of inodes or FUSE.
 *
 * Costs: a search is one request, plus the documents listing of each
 * collection that has matches when it is not cached already (the
 * collection's own search: at most one), plus for /search/ the collections
 * listing (usually cached). Search results and the endpoint catalogue keep
 * for the listing TTL, invoices too; the spending limits for the live TTL.
 *
 * Threads: every function is thread safe (the cache's rules); results are
 * new references (cval_unref()).
 */
#ifndef XAIFS_ACCOUNT_H
#define XAIFS_ACCOUNT_H

#include "cache.h"

/*
 * The search file name in collection cid ("" = every collection): text =
 * JSON Lines (model_render_search()). -ENOENT for a name with no query
 * (model_search_query()), -EACCES without an inference key.
 */
int account_search(struct cache *c, const char *cid, const char *name,
		   struct cval **out);

/* /endpoints: the catalogue as sent, pretty (text). */
int account_endpoints(struct cache *c, struct cval **out);

/* /invoices/: a listing, one entry per invoice, named "YYYY-MM" by the name
 * rule. */
int account_invoices(struct cache *c, struct cval **out);

/* /spending-limits (text, model_render_limits()). */
int account_limits(struct cache *c, struct cval **out);

/* /usage.svg: /usage drawn as an SVG chart (text, model_svg.h), for the live
 * TTL. */
int account_usage_svg(struct cache *c, struct cval **out);

/*
 * usage-by-month/<month>.svg ("YYYY-MM", checked by the caller): that
 * month's usage (cache_usage_month(), whose cached answer it is drawn from)
 * as an SVG chart, kept as long as the month's usage.
 */
int account_usage_month_svg(struct cache *c, const char *month,
			    struct cval **out);

/* The limits changed through the mount: the next read fetches (billing too). */
void account_limits_changed(struct cache *c);

#endif
