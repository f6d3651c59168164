/*
 * api.h - one function per xAI Management API call xaifs makes.
 *
 * Owns: the route table (api_route.c: per route its method, path template,
 * host and credential, whether it mutates, its counter label) and the one
 * request path every call takes: URL building (ids and page tokens
 * percent-escaped, a URL over 64 KiB refused rather than cut), the
 * read-only refusal, the request counters by route, and the "malformed
 * answer" log line. Also pagination to the end of every listing (which also
 * ends, with a log line, on a repeated page token or an empty page that
 * carries a token; api.c), the uploads and how their outcome is learned
 * (api_upload.c) and the account files' calls (api_account.c). Built on http
 * (transport) and model (JSON); json-c types never appear here.
 *
 * Threads: every function may be called from any thread at once; the
 * struct api is read-only after api_set_team() except the route counters,
 * the stream slots and the stream counters (all atomic). No lock is taken
 * here; the http client has its own.
 *
 * Ownership: output lists and strings belong to the caller (reslist_unref(),
 * free()). The keys given in api_opts are borrowed and must outlive the api;
 * the team id is copied.
 *
 * Returns: 0 or -errno (see http.h for the errno of each HTTP status; -EIO
 * for malformed answers, -EROFS for a write on a read-only mount, -EACCES
 * for an inference route without an inference key, -ENAMETOOLONG for a URL
 * too long to send). Each failure is logged once, by http.c or here.
 */
#ifndef XAIFS_API_H
#define XAIFS_API_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "http.h"
#include "model.h"
#include "reslist.h"

struct api;

struct api_opts {
	const char *management_url; /* no trailing '/' */
	const char *api_url;	    /* no trailing '/' */
	const char *mgmt_key;	    /* borrowed secret */
	const char *api_key;	    /* borrowed secret, or NULL */
	int page_size;
	int read_only;	  /* refuse every mutating call with -EROFS, unsent */
	int upload_files; /* upload documents through the Files API (two steps) */
	int max_streams; /* streamed uploads at once (each holds a connection);
			    0: none */
};

/* The routes, for counters (.xaifs/stats) and logs. */
enum api_route {
	API_VALIDATE,
	API_LIST_KEYS,
	API_LIST_MODELS,
	API_LIST_COLLECTIONS,
	API_LIST_DOCUMENTS,
	API_USAGE,
	API_BALANCE,
	API_SPENDING_LIMITS,
	API_INVOICE_PREVIEW,
	API_FILE_CONTENT,
	API_CREATE_KEY,
	API_UPDATE_KEY,
	API_ROTATE_KEY,
	API_DELETE_KEY,
	API_CREATE_COLLECTION,
	API_UPDATE_COLLECTION,
	API_DELETE_COLLECTION,
	API_UPLOAD_DOCUMENT,
	API_DELETE_DOCUMENT,
	API_KEY_PROPAGATION,
	API_REINDEX_DOCUMENT,
	API_AUDIT,
	API_FILE_UPLOAD,
	API_ADD_FILE,
	API_FILE_DELETE,
	API_GET_DOCUMENT,
	API_SEARCH,
	API_ENDPOINTS,
	API_INVOICES,
	API_SET_SOFT_LIMIT,
	API_ROUTE_COUNT
};

struct api *api_new(struct http *h, const struct api_opts *o);
void api_free(struct api *a);

/* Set the team (before any thread uses the api). Returns 0 or -ENOMEM. */
int api_set_team(struct api *a, const char *team_id);

/* GET /auth/management-keys/validation. */
int api_validate(struct api *a, struct whoami *out);

/* Whole listings, every page followed. Names are not assigned yet. */
int api_list_keys(struct api *a, struct reslist **out);
int api_list_collections(struct api *a, struct reslist **out);
int api_list_documents(struct api *a, const char *collection_id,
		       struct reslist **out);
int api_list_models(struct api *a, struct reslist **out, char **regions,
		    size_t *regions_len);

/*
 * Rendered JSON files (see model.h for their shape). Billing shows every
 * part that answered (a failed one is null, its reason under "errors") and
 * fails only when none did, with the first part's error.
 */
int api_usage(struct api *a, time_t now, char **out, size_t *out_len);
int api_billing(struct api *a, char **out, size_t *out_len);

/*
 * Download a file's bytes (Files API, inference key) into fd from its
 * current offset: GET .../content?format=original with Accept:
 * application/octet-stream. -EACCES (with a log line) when no inference key
 * is set. landed(arg), when given, is called each time bytes reach fd.
 */
int api_download_file(struct api *a, const char *file_id, int fd,
		      uint64_t *bytes, void (*landed)(void *arg), void *arg);

/*
 * Writes. Each sends one request and is never retried once it may have been
 * acted on: creates (name: the server name made) may go on a kept
 * connection; when it dies before the answer, the listing says whether the
 * server made it, and only what was not made is sent again, on a new
 * connection (a key found that way has no secret: logged). out (when given)
 * receives the answered object; for keys, *secret the one-time secret (caller
 * wipes and frees). -EROFS without a request on a read-only mount.
 */
int api_create_key(struct api *a, const char *name, const char *body,
		   struct res *out, char **secret);
int api_update_key(struct api *a, const char *key_id, const char *body,
		   struct res *out);
/* body: the rotate request ({"oldSecretExpireTime":..} etc.), or NULL for {}. */
int api_rotate_key(struct api *a, const char *key_id, const char *body,
		   struct res *out, char **secret);
int api_delete_key(struct api *a, const char *key_id);
int api_create_collection(struct api *a, const char *name, const char *body,
			  struct res *out);
int api_update_collection(struct api *a, const char *collection_id,
			  const char *body, struct res *out);
int api_delete_collection(struct api *a, const char *collection_id);

/*
 * Upload size bytes of fd (from offset 0) as document name into a collection:
 * by default one direct multipart POST (parts name, data, content_type,
 * fields); with upload_files, the two-step route: POST api.x.ai/v1/files
 * (inference key), then POST .../documents/{file_id}, then GET the
 * document's metadata. If the second step fails the uploaded file is
 * deleted again, so nothing half-made remains.
 *
 * Direct uploads: any 2xx is success. When the answer is not the document's
 * metadata, it is learned by GET of the document (the answer names its id)
 * or else from one listing of the collection (the newest document of that
 * name and size, not older than the upload, never replaces: the id of the
 * document being replaced, or NULL). If even that fails the upload still
 * succeeds, with out->id the answer's id or NULL (then out->json is NULL
 * too). When no answer came at all (stall, dropped connection after the
 * request went out), the same listing decides: found is success, else the
 * upload's error. out is the caller's (res_release()) whatever the result.
 */
/*
 * fields: the document's fields, a JSON object in compact form
 * (model_fields.h), or NULL for none ("{}"): the multipart `fields` part
 * (after `data`, in the documented order), or the add-file body.
 */
int api_upload_document(struct api *a, const char *collection_id,
			const char *name, int fd, uint64_t size,
			const char *content_type, const char *fields,
			const char *replaces, struct res *out);

/*
 * Whether documents can be streamed: the direct upload (not -o upload=files,
 * whose two steps need the whole file first) on a writable mount.
 */
int api_upload_streams(const struct api *a);

/*
 * Take one of the max_streams slots for a streamed upload: 0, or -EBUSY
 * when all are taken (then upload from a spool). A stream holds a connection
 * while its writer writes, so the slots leave the rest to other requests.
 * Give it back with api_stream_end().
 */
int api_stream_begin(struct api *a);
void api_stream_end(struct api *a);

/* Counters of streamed uploads (.xaifs/stats "uploads"). */
enum api_stream_counter {
	API_STREAMS,	       /* streamed uploads started */
	API_STREAM_BYTES,      /* bytes handed to their connections */
	API_STREAMS_ABANDONED, /* given up for the spool (a seek, a truncation) */
	API_STREAM_COUNTERS
};
void api_stream_count(struct api *a, enum api_stream_counter which, uint64_t n);
uint64_t api_stream_counter(struct api *a, enum api_stream_counter which);

/*
 * The direct upload with the bytes of read(ctx) as they come (chunked; see
 * http_read_fn): a read that fails aborts the request before its final
 * boundary, and the server stores nothing. *size must hold the bytes read
 * once read() returned 0 (used to learn the document, as above). Same
 * answers and tolerance as api_upload_document(). The `fields` part comes
 * after `data` and is read from fields_read(ctx) once read() returned 0, so
 * the writer decides the fields at the end of the file. -EOPNOTSUPP when
 * api_upload_streams() is false. Blocks until the answer.
 */
int api_upload_document_stream(struct api *a, const char *collection_id,
			       const char *name, http_read_fn read,
			       http_read_fn fields_read, void *ctx,
			       const uint64_t *size, const char *content_type,
			       const char *replaces, struct res *out);
int api_delete_document(struct api *a, const char *collection_id,
			const char *file_id);

/* Usage of a calendar month (see model_usage_month_request()). */
int api_usage_month(struct api *a, int year, int month, time_t now, char **out,
		    size_t *out_len);

/* The latest audit events (newest first), at most max_pages pages of 100, as
 * JSON lines. */
int api_audit(struct api *a, int max_pages, char **out, size_t *out_len);

/* A key's propagation to the inference clusters, pretty JSON. */
int api_key_propagation(struct api *a, const char *key_id, char **out,
			size_t *out_len);

/* Re-index a document (PATCH). */
int api_reindex_document(struct api *a, const char *collection_id,
			 const char *file_id);

/* The HTTP client's counters (requests, retries, errors, bytes). */
void api_http_stats(const struct api *a, struct http_stats *out);

/* Requests sent per route since start. */
uint64_t api_route_count(const struct api *a, enum api_route r);
const char *api_route_name(enum api_route r);

/* ---- the rest of the account (api_account.c) ---- */

/*
 * POST api.x.ai/v1/documents/search with the inference key; body is the
 * request (model_search_request()), *out the answer as sent. -EACCES (with
 * a log line) when no inference key is set.
 */
int api_search(struct api *a, const char *body, char **out, size_t *out_len);

/* GET /auth/teams/{teamId}/endpoints, pretty JSON. */
int api_endpoints(struct api *a, char **out, size_t *out_len);

/* GET /v1/billing/teams/{team_id}/invoices: every invoice
 * (model_parse_invoices()). */
int api_list_invoices(struct api *a, struct reslist **out);

/* GET .../postpaid/spending-limits rendered as /spending-limits
 * (model_render_limits()). */
int api_spending_limits(struct api *a, char **out, size_t *out_len);

/* POST .../postpaid/spending-limits with body
 * ({"desiredSoftSpendingLimit":..}). */
int api_set_soft_limit(struct api *a, const char *body);

#endif
