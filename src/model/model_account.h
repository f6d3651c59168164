/*
 * model_account.h - JSON of the account files beyond keys and collections:
 * search results (search/<query>), invoices (invoices/<YYYY-MM>) and the
 * spending limits (/spending-limits). Part of the model module: the rules
 * of model.h (tolerance, ownership, renderings, no I/O, no locks) apply.
 *
 * Owns: the search file name syntax and request body, the renderings of
 * search results, invoices and limits, and the limits update body. The
 * usage charts are model_svg.h's.
 */
#ifndef XAIFS_MODEL_ACCOUNT_H
#define XAIFS_MODEL_ACCOUNT_H

#include <stddef.h>
#include "model.h"
#include "reslist.h"

/* ---- search ---- */

#define MODEL_SEARCH_LIMIT_MAX 100

/*
 * A search file's name: optional leading options, each a word followed by
 * one space, then the query text:
 *   mode:hybrid | mode:semantic | mode:keyword   retrieval_mode.type
 *   limit:N                                      1..MODEL_SEARCH_LIMIT_MAX
 * e.g. "mode:keyword limit:3 termination notice". An option not given is
 * left to the server (hybrid search, 10 matches).
 */
struct model_search_q {
	char mode[16];	   /* "" when not given */
	int limit;	   /* 0 when not given */
	const char *query; /* points into the name given */
};

/*
 * Split name into options and query. Returns 0, or -ENOENT when the query
 * is empty (only options, or blank): such a name is no search file.
 */
int model_search_query(const char *name, struct model_search_q *out);

/*
 * The body of POST /v1/documents/search over the n collections cids:
 * {"query", "source":{"collection_ids":[..]}, "limit"?, "retrieval_mode"?}.
 * Compact JSON. Returns 0 or -ENOMEM; *body is the caller's.
 */
int model_search_request(const struct model_search_q *q,
			 const char *const *cids, size_t n, char **body);

/*
 * Display names for a match: names(ctx, cid, NULL) is the collection's name,
 * names(ctx, cid, file_id) the document's (NULL when unknown: the id is
 * shown instead). The strings are borrowed for the duration of the render.
 */
typedef const char *(*model_names_fn)(void *ctx, const char *cid,
				      const char *file_id);

/*
 * Render a search answer {"matches":[..]} as JSON Lines, best score first
 * (equal scores in the server's order), one compact object per match:
 *   {"document", "collection", "score", "text", "page"?, "fields"?,
 *    "file_id", "chunk_id"?, "collection_id"}
 * document/collection are display names (see names); text is the chunk's
 * content; page is page_number when the answer gives it; fields when it is
 * a non-empty object. A match without a file id is skipped; a missing score
 * is 0. Empty matches render as "" (an empty file). Returns 0, -EIO or
 * -ENOMEM.
 */
int model_render_search(const char *body, size_t len, model_names_fn names,
			void *ctx, char **out, size_t *out_len);

/* ---- invoices ---- */

/*
 * GET .../invoices ({"invoices":[InvoiceBundle..]}): one entry per invoice.
 * id = invoiceId (else invoiceNumber; an invoice with neither is skipped),
 * raw_name = "YYYY-MM" of monthly.billingCycle, else of createTime (UTC),
 * else "" (the name rule then uses the id); mtime = createTime; json = the
 * invoice as sent. Returns 0, -EIO or -ENOMEM.
 */
int model_parse_invoices(const char *body, size_t len, struct reslist *out);

/* ---- spending limits ---- */

/*
 * Render GET .../postpaid/spending-limits as the /spending-limits file:
 *   {"softSl": cents or null, "effectiveSl", "hardSlAuto", "effectiveHardSl",
 *    "hardSlOverride"}
 * each a JSON number of cents ({"val":"<int64>"} wrappers, bare strings and
 * numbers are read alike; a missing one is null, except that a present
 * wrapper without val is 0, as proto3 leaves zero out). Other members of
 * spendingLimits are kept as sent. -EIO when the answer is not an object.
 */
int model_render_limits(const char *body, size_t len, char **out,
			size_t *out_len);

/*
 * An edit of the /spending-limits file: cur is its current rendering, in
 * what was written. softSl (a number, a decimal string or {"val":..}) that
 * differs from cur gives out->body = {"desiredSoftSpendingLimit":{"val":
 * "<cents>"}}; any other member that differs from cur (or is unknown) is
 * -EINVAL with out->field naming it, as is a softSl that is not an integer
 * or is negative, and input that is not a JSON object. Members left out
 * are unchanged. out->body is NULL when nothing changed. Returns 0,
 * -ENODATA (empty input), -EINVAL or -ENOMEM.
 */
int model_limits_update(const char *cur, size_t cur_len, const char *in,
			size_t in_len, struct model_change *out);

#endif
