/*
 * model.h - JSON <-> plain C for the xAI Management API (see
 * ../shared/xai-api.md).
 *
 * Owns: every use of json-c in the program. No other module includes json-c;
 * they get plain structs, owned strings and struct reslist.
 *
 * Pure: no I/O, no locks, no globals; unit-tested and fuzzed. Every string
 * from the server is hostile: wrong types, missing fields, unknown enum values
 * and both spellings of a field (camelCase and snake_case) are tolerated.
 * A body that is not JSON, or not an object where one is required, gives
 * -EIO; nothing here crashes on any input.
 *
 * Ownership: functions that return char ** or fill a struct give the caller
 * ownership (free() / the matching *_release()). Input bodies are borrowed
 * and need not be NUL-terminated (len is given).
 *
 * JSON renderings (res.json and the *_render outputs) are pretty-printed with
 * two-space indentation, no escaped slashes, and end with exactly one '\n'
 * (json-c's PRETTY style: "key":value, no space after the colon).
 *
 * Tolerance rules shared by every parser below:
 *  - A missing, null or wrongly typed field is its default ("", 0, -1). An
 *    envelope array that is missing or null is an empty page; one of the
 *    wrong type is -EIO.
 *  - int64 fields are read from JSON numbers or decimal strings; times from
 *    RFC 3339 strings or Unix seconds (model_parse_time()).
 *  - A string holding a NUL byte (\u0000) counts as missing, so an id or a
 *    name is never silently cut short.
 *  - The body must be one JSON object, optionally followed by whitespace;
 *    trailing bytes, truncation and nesting deeper than 32 give -EIO.
 */
#ifndef XAIFS_MODEL_H
#define XAIFS_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "reslist.h"

/* GET /auth/management-keys/validation */
struct whoami {
	char *team_id; /* chosen team: see model_parse_validation() */
	char *scope;   /* "SCOPE_TEAM", ... or "" */
	char *key_id;  /* apiKeyId of the management key, or "" */
	char *name;    /* name of the management key, or "" */
};
void whoami_release(struct whoami *w);

/*
 * Parse the validation response. team_id is scopeId when scope is SCOPE_TEAM,
 * empty or unspecified (or missing); else teamId; else scopeId unless the
 * scope is SCOPE_ORGANIZATION (then scopeId is an organization's id, never a
 * team's); team_id / scope_id spellings count too; "" when none is present
 * (an organization-scoped key with no teamId names no team). Returns 0 or
 * -EIO.
 */
int model_parse_validation(const char *body, size_t len, struct whoami *out);

/*
 * List pages. Each appends the page's entries to out (which the caller
 * created) and sets *next to the next page token, or NULL on the last page
 * (token missing or empty). Returns 0, -EIO (malformed) or -ENOMEM. On error
 * out may hold some entries of the page; *next is NULL.
 *
 * Keys (GET /auth/teams/{t}/api-keys, envelope apiKeys + paginationToken):
 *   id = apiKeyId, raw_name = name, mtime = modifyTime or else createTime,
 *   json = the key object as sent, minus any "apiKey" (or "api_key") secret
 *   field. Entries without apiKeyId are skipped. snake_case spellings
 *   (api_keys, api_key_id, pagination_token, ...) are accepted too.
 * Collections (GET /v1/collections, collections + pagination_token):
 *   id = collection_id, raw_name = collection_name, mtime = created_at,
 *   count = documents_count (negative -> 0), json = the object as sent.
 *   camelCase spellings are accepted; entries without an id are skipped.
 * Documents (GET /v1/collections/{c}/documents, documents + pagination_token):
 *   id = file_metadata.file_id, raw_name = file_metadata.name,
 *   mtime = file_metadata.created_at, size = file_metadata.size_bytes (string
 *   or number; -1 if missing, negative or bad), json = the object as sent.
 *   camelCase spellings are accepted; entries without a file_id are skipped.
 * next may be NULL when the caller does not want the token.
 */
int model_parse_keys_page(const char *body, size_t len, struct reslist *out,
			  char **next);
int model_parse_collections_page(const char *body, size_t len,
				 struct reslist *out, char **next);
int model_parse_documents_page(const char *body, size_t len,
			       struct reslist *out, char **next);

/*
 * GET /auth/teams/{t}/models. Appends one entry per distinct model name
 * (first occurrence wins) from every cluster's languageModels,
 * embeddingModels, imageGenerationModels, audioModels and
 * videoGenerationModels (other *Models arrays too). id = raw_name = name.
 * json = the model object plus "modelType" ("language", "embedding", "image",
 * "audio", "video" or the array name) and "clusters" (every non-empty
 * clusterName that lists it). Any cluster member whose name ends in "Models"
 * or "_models" counts as a model list. *regions gets the rendering of
 *   {"regions":[{"clusterName":..,"models":[names..]}, ...]}
 * (one entry per cluster object, clusterName "" if missing, each name once).
 * regions and regions_len may be NULL. Returns 0, -EIO or -ENOMEM; on error
 * *regions is NULL and out may hold some entries.
 */
int model_parse_models(const char *body, size_t len, struct reslist *out,
		       char **regions, size_t *regions_len);

/*
 * The body of POST /v1/billing/teams/{t}/usage asking for month-to-date usage
 * per day: startTime = the first of now's month 00:00:00, endTime = the day
 * after now 00:00:00 (exclusive), timezone "Etc/GMT", TIME_UNIT_DAY, value
 * usd/AGGREGATION_SUM, groupBy ["description"], filters []. now is UTC.
 * Times are written "YYYY-MM-DD HH:MM:SS" (not ISO 8601; see xai-api.md
 * 6.11). The body is compact JSON without a trailing newline.
 * Returns 0 or -ENOMEM; *body is the caller's.
 */
int model_usage_request(time_t now, char **body);

/*
 * Render the usage file from the usage response:
 *   {"startTime","endTime","timezone","timeUnit","totalUsd": sum of every
 *    data point's first value, "timeSeries": as sent, "limitReached"}
 * with the request's period (same now as model_usage_request()).
 * Values may be numbers or numeric strings; anything else is skipped.
 * totalUsd is rounded to 1e-6 (null if the sum is not finite). A missing
 * timeSeries renders as []; one that is not an array gives -EIO.
 * limitReached is false unless the response has it as a JSON true.
 * Returns 0, -EIO or -ENOMEM.
 */
int model_render_usage(time_t now, const char *body, size_t len, char **out,
		       size_t *out_len);

/*
 * Usage of one calendar month (year, month 1-12): the whole month, or up to
 * tomorrow when it is now's month. Same shapes as above. -EINVAL for a bad
 * month.
 */
int model_usage_month_request(int year, int month, time_t now, char **body);
int model_render_usage_month(int year, int month, time_t now, const char *body,
			     size_t len, char **out, size_t *out_len);

/* A document's "status" (DOCUMENT_STATUS_*) from its rendering, into out. */
int model_document_status(const char *json, size_t len, char *out,
			  size_t outsz);

/* Pretty rendering of any JSON object answer (e.g. key propagation). */
int model_pretty(const char *body, size_t len, char **out, size_t *out_len);

/*
 * An answer's body as a trace line (-o trace=) may hold it: a JSON object
 * compacted with the value of every member that may hold a secret or a
 * payment detail (apiKey, secret, token, password, card..., ...address...,
 * last4; not ...Id) replaced by "[redacted]"; anything else as a JSON
 * string of its first 4 KiB. *out is malloc'd JSON text. 0 or -ENOMEM.
 */
int model_trace_body(const char *body, size_t len, char **out);

struct buf;
/*
 * One page of audit events appended to lines, one compact JSON object per
 * line; *count is increased by the events added; *next is the next page
 * token or NULL. Returns 0, -EIO or -ENOMEM.
 */
int model_audit_page(const char *body, size_t len, struct buf *lines,
		     size_t *count, char **next);

/* The parts of the billing file, in the order they are rendered. */
enum model_billing_part {
	MODEL_BALANCE,
	MODEL_LIMITS,
	MODEL_PREVIEW,
	MODEL_BILLING_PARTS
};

/* Each part's member name in the billing file ("balance", ...). */
const char *model_billing_part_name(enum model_billing_part p);

/* One part: the body that answered, or NULL and why not. */
struct model_billing {
	const char *body[MODEL_BILLING_PARTS];
	size_t len[MODEL_BILLING_PARTS];
	const char *error[MODEL_BILLING_PARTS]; /* NULL when the part answered */
};

/*
 * Render the billing file from three responses:
 *   {"prepaidCreditCents": abs(balance.total.val) as a number (0 if missing),
 *    "balance": <prepaid/balance response>,
 *    "spendingLimits": <spending-limits response's spendingLimits>,
 *    "invoicePreview": <postpaid/invoice/preview response>,
 *    "errors": {"<part>": "<message>", ...}}   (only when a part failed)
 * total may also be a bare int64 (string or number); abs(INT64_MIN) is
 * written as INT64_MAX; prepaidCreditCents is null when the balance failed.
 * A NULL body means that part is unavailable (the request failed) and
 * renders as null, with error[part] (or "unavailable") under "errors". A
 * non-NULL body that is not an object gives -EIO (check parts first with
 * model_is_object()). spendingLimits is null when the response lacks it.
 * Returns 0, -EIO or -ENOMEM.
 */
int model_render_billing(const struct model_billing *b, char **out,
			 size_t *out_len);

/* Whether body is one JSON object (as every parser here requires): 0 or -EIO. */
int model_is_object(const char *body, size_t len);

/*
 * Parse an RFC 3339 time ("2025-11-13T16:14:38.164829Z", offsets allowed),
 * or a decimal count of Unix seconds (optionally signed). RFC 3339 details:
 * 'T', 't' or ' ' between date and time, 'Z' or 'z', a leap second :60 is
 * accepted, the fraction is dropped (rounded down), a zone is required and
 * day-of-month is checked against the calendar. Returns 0 and sets *out, or
 * -EINVAL (s NULL, empty, or anything else).
 */
int model_parse_time(const char *s, int64_t *out);

/*
 * Copy the message of an error body into msg (always NUL-terminated,
 * truncated to msgsz): a JSON object's "error" string, else "message", else
 * "error"."message" (empty strings do not count), else the raw text. Either
 * way only the first non-blank line is kept, control bytes are dropped,
 * trailing spaces trimmed, and a cut never splits a UTF-8 sequence.
 * Empty body gives "". msgsz 0 leaves msg untouched. Never fails.
 */
void model_error_message(const char *body, size_t len, char *msg, size_t msgsz);

/* One counter of .xaifs/stats: rendered as {"<section>": {"<name>": value}}. */
struct model_counter {
	const char *section;
	const char *name;
	uint64_t value;
};

/* Render counters grouped by section, in the order given. */
int model_render_counters(const struct model_counter *c, size_t n, char **out,
			  size_t *out_len);

/* ---- writes: single objects and request bodies ---- */

/*
 * Parse one object answered by a create/update/rotate call, like one list
 * entry (see the page parsers for the fields). For keys, *secret gets the
 * one-time "apiKey" secret when present (else NULL); it is never in out->json.
 * Returns 0, -EIO (malformed, or no id) or -ENOMEM.
 */
int model_parse_key(const char *body, size_t len, struct res *out,
		    char **secret);
int model_parse_collection(const char *body, size_t len, struct res *out);
int model_parse_document(const char *body, size_t len, struct res *out);

/*
 * Set a collection's documents_count (r->count and the member of r->json,
 * under the spelling and JSON type the server used). Returns 0, -EIO or
 * -ENOMEM (then r is unchanged).
 */
int model_collection_set_count(struct res *r, int64_t count);

/*
 * The answer of a direct upload (POST .../documents), whose shape the API
 * does not document. A DocumentMetadata (file_metadata with file_id and
 * name) fills out: returns 0. Anything else returns 1 and sets *id to a file
 * id found at file_id, fileId, id or file_metadata.file_id, or NULL when the
 * answer names none (e.g. {} or a body that is not JSON): the upload was
 * stored all the same (the 2xx says so) and the caller learns the rest.
 * -ENOMEM only; *id is the caller's.
 */
int model_parse_upload_answer(const char *body, size_t len, struct res *out,
			      char **id);

/* The "id" of a Files API file object ({"id":"file_...",...}). -EIO without
 * one. */
int model_parse_file_id(const char *body, size_t len, char **id);

/* What a write to a resource file asks the API to do. */
struct model_change {
	char *body;	   /* request body; NULL when nothing is to be sent */
	int rotate;	   /* keys: "rotate": true was given */
	char *rotate_body; /* keys: the rotate request when it has fields, else
			      NULL */
	char field[128]; /* on -EINVAL: the field at fault (or "" for bad JSON) */
};
void model_change_release(struct model_change *c);

/*
 * A key created by writing JSON to keys/NAME. Accepted fields: acls (or
 * aclStrings), qps, qpm, tpm (number or string), expireTime, and name (which
 * must equal NAME). Body: {"name","acls","qps","qpm","tpm","expireTime"}.
 * Returns 0, -ENODATA for an empty (all whitespace) input, -EINVAL (bad
 * JSON, an unknown or read-only field; out->field names it) or -ENOMEM.
 */
int model_key_create(const char *name, const char *in, size_t in_len,
		     struct model_change *out);

/*
 * The body creating collection name from the JSON written to
 * collections/NAME.json: collection_description, index_configuration,
 * chunk_configuration, metric_space and field_definitions (snake_case or
 * camelCase), collection_name only if equal to name. Anything else, a wrong
 * type, a field given twice or a bad definitions list is -EINVAL (field
 * named in out->field); empty input is -ENODATA.
 */
int model_collection_create(const char *name, const char *in, size_t in_len,
			    struct model_change *out);

/*
 * An update from JSON written over an existing key whose current rendering
 * is cur. Only fields present in the input count; updatable ones (name,
 * aclStrings/acls, qps, qpm, tpm, disabled, expireTime) that differ from cur
 * go into {"apiKey":{...},"fieldMask":"a,b"}; "apiKey" (the secret) is
 * ignored; "rotate": true sets out->rotate, and "oldSecretExpireTime" (an
 * RFC 3339 time, only with rotate) goes into out->rotate_body as
 * {"oldSecretExpireTime": ..}: until then the old secret keeps working (the
 * API's default is 24 hours). Any other field that differs from cur is
 * -EINVAL with out->field. out->body is NULL when nothing changed.
 */
int model_key_update(const char *cur, size_t cur_len, const char *in,
		     size_t in_len, struct model_change *out);

/*
 * An update of a collection from JSON written over collection.json:
 * collection_name, collection_description and chunk_configuration (either
 * spelling) may change, and field_definitions may gain, change or lose
 * definitions (sent as field_definition_updates: ADD for each new or changed
 * definition, the API upserting by key; DELETE for each key left out); any
 * other field that differs is -EINVAL, as is a definitions list that is not
 * an array of objects with distinct non-empty keys. Body: only the changes,
 * snake_case.
 */
int model_collection_update(const char *cur, size_t cur_len, const char *in,
			    size_t in_len, struct model_change *out);

/* {"apiKey":{"name":name},"fieldMask":"name"}: renaming a key. */
int model_key_rename_body(const char *name, char **body);

/* {"collection_name": name}: the body of create and of rename. */
int model_collection_name_body(const char *name, char **body);

/*
 * The rendering of a key with its one-time secret put back as "apiKey"
 * (shown for the life of the mount after create or rotate).
 */
int model_key_with_secret(const char *json, size_t len, const char *secret,
			  char **out, size_t *out_len);

#endif
