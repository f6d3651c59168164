/*
 * api_upload.c - putting a document into a collection, and learning what
 * became of it; see api.h.
 *
 * The direct upload's answer is not documented (xai-api.md 7.7). Success is
 * the 2xx: whatever its body holds, the document is stored, and a stored
 * upload is never reported as failed (the user would send it again and make
 * a duplicate). What the body lacks is learned with the narrowest request
 * there is: the document by id when the answer names one, else one listing
 * of the collection. An upload whose answer never came (a stall or a dropped
 * connection after the request went out) may or may not be stored: the
 * listing decides before close() reports anything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "log.h"
#include "model_fields.h"

/* Server clocks may differ from ours: a found document may predate the upload
 * this much. */
#define API_UPLOAD_SKEW_S 300

static int api_ans_file_id(void *ctx, struct buf *body)
{
	return model_parse_file_id(body->data ? body->data : "", body->len,
				   ctx);
}

/* Step 1 of the two-step upload: POST /v1/files on the inference API. *id is
 * the file's. */
static int api_files_upload(struct api *a, const char *name, int fd,
			    uint64_t size, const char *content_type, char **id)
{
	const struct http_part parts[] = {
		{ .name = "purpose", .value = "assistants", .fd = -1 },
		{ .name = "file",
		  .fd = fd,
		  .size = size,
		  .filename = name,
		  .type = content_type },
	};
	struct api_req rq = {
		.route = API_FILE_UPLOAD,
		.parts = parts,
		.n_parts = sizeof(parts) / sizeof(parts[0]),
		.subject = name,
	};

	return api_send(a, &rq, api_ans_file_id, id);
}

/* GET the document by id into out. */
static int api_get_document(struct api *a, const char *collection_id,
			    const char *file_id, struct res *out)
{
	struct api_res_ans c = { model_parse_document, out };
	struct api_req rq = { .route = API_GET_DOCUMENT,
			      .id = { collection_id, file_id } };

	return api_send(a, &rq, api_ans_res, &c);
}

static int api_upload_two_steps(struct api *a, const char *collection_id,
				const char *name, int fd, uint64_t size,
				const char *content_type, const char *fields,
				struct res *out)
{
	char *file_id = NULL, *add = NULL;
	int rc;

	rc = model_fields_add_body(fields ? fields : "{}", &add);
	if (rc < 0)
		return rc;
	rc = api_files_upload(a, name, fd, size, content_type, &file_id);
	if (rc < 0) {
		free(add);
		return rc;
	}
	rc = api_send(a,
		      &(struct api_req){ .route = API_ADD_FILE,
					 .id = { collection_id, file_id },
					 .json = add },
		      NULL, NULL);
	free(add);
	if (rc < 0) /* Nothing half-made: the file must not stay behind on the
		       server. */
		api_send(a,
			 &(struct api_req){ .route = API_FILE_DELETE,
					    .id = { file_id } },
			 NULL, NULL);
	else
		rc = api_get_document(a, collection_id, file_id, out);
	free(file_id);
	return rc;
}

/* Whether listed document r can be the one just uploaded. */
static int api_upload_matches(const struct res *r, const char *name,
			      uint64_t size, const char *replaces, time_t start)
{
	if (strcmp(r->raw_name, name) != 0)
		return 0;
	if (replaces && strcmp(r->id, replaces) == 0)
		return 0;
	if (r->size >= 0 && (uint64_t)r->size != size)
		return 0;
	return r->mtime <= 0 || r->mtime >= (int64_t)start - API_UPLOAD_SKEW_S;
}

/*
 * One listing of the collection: the newest document that can be the one
 * just uploaded (same name and size, not the one it replaces, not older than
 * the upload) into out. 0, -ENOENT when none, or the listing's error.
 */
static int api_upload_find(struct api *a, const char *collection_id,
			   const char *name, uint64_t size,
			   const char *replaces, time_t start, struct res *out)
{
	const struct res *best = NULL;
	struct reslist *l = NULL;
	int rc;

	rc = api_list_documents(a, collection_id, &l);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < l->n; i++) {
		const struct res *r = &l->v[i];

		if (api_upload_matches(r, name, size, replaces, start) &&
		    (!best || r->mtime >= best->mtime))
			best = r;
	}
	rc = best ? res_copy(best, out) : -ENOENT;
	reslist_unref(l);
	return rc;
}

/*
 * A 2xx answer: the document is stored. Fill out from the answer, or learn
 * it; if that fails too, out->id is the answer's id or NULL. 0 or -ENOMEM.
 */
static int api_upload_learn(struct api *a, const char *collection_id,
			    const char *name, uint64_t size,
			    const char *replaces, time_t start,
			    const struct buf *answer, struct res *out)
{
	char *id = NULL;
	int rc;

	rc = model_parse_upload_answer(answer->data ? answer->data : "",
				       answer->len, out, &id);
	if (rc <= 0)
		return rc;
	if (id)
		rc = api_get_document(a, collection_id, id, out);
	else
		rc = api_upload_find(a, collection_id, name, size, replaces,
				     start, out);
	if (rc == -ENOMEM) {
		free(id);
		return rc;
	}
	if (rc < 0) {
		log_warn(
			"document '%s' was stored, but the answer did not describe it and %s; "
			"it shows at the next listing",
			name,
			id ? "it could not be read back"
			   : "no listing showed it yet");
		memset(out, 0, sizeof(*out));
		out->id = id;
		return 0;
	}
	free(id);
	return 0;
}

/*
 * The upload's answer never came: ask the server. 0 (with out) when it holds
 * the document; when it does not, 1 if resend (its kept connection died
 * before the server could have had it whole: send it again on a new one),
 * else failed (the upload's own error).
 */
static int api_upload_check(struct api *a, const char *collection_id,
			    const char *name, uint64_t size,
			    const char *replaces, time_t start, int failed,
			    int resend, struct res *out)
{
	int rc = api_upload_find(a, collection_id, name, size, replaces, start,
				 out);

	if (rc == -ENOENT && resend) {
		log_info("upload of '%s': the connection closed before the "
			 "server stored it: sent again on a new connection",
			 name);
		return 1;
	}
	if (rc == 0)
		log_warn("upload of '%s' got no answer, but the server holds "
			 "it: stored",
			 name);
	else if (rc == -ENOENT)
		log_warn("upload of '%s' got no answer and the server does not "
			 "hold it",
			 name);
	else
		log_warn("upload of '%s' got no answer and the server could "
			 "not be asked whether it holds it",
			 name);
	return rc == 0 || rc == -ENOMEM ? rc : failed;
}

/* The direct upload of data (an fd, or a stream whose length is *size once it
 * ended). */
static int api_upload_direct(struct api *a, const char *collection_id,
			     const char *name, const struct http_part *data,
			     const struct http_part *fields,
			     const uint64_t *size, const char *content_type,
			     const char *replaces, struct res *out)
{
	const struct http_part parts[] = {
		{ .name = "name", .value = name, .fd = -1 },
		*data,
		{ .name = "content_type", .value = content_type, .fd = -1 },
		*fields,
	};
	struct api_req rq = {
		.route = API_UPLOAD_DOCUMENT,
		.id = { collection_id },
		.parts = parts,
		.n_parts = sizeof(parts) / sizeof(parts[0]),
		.subject = name,
	};
	struct http_resp resp;
	time_t start = time(NULL);
	int rc;

	for (;;) {
		http_resp_init(&resp);
		rc = api_exchange(a, &rq, &resp);
		/* A 2xx whose body was cut off is stored all the same. */
		if (rc == 0 || (resp.status >= 200 && resp.status < 300))
			rc = api_upload_learn(a, collection_id, name, *size,
					      replaces, start, &resp.body, out);
		else if (resp.unanswered)
			rc = api_upload_check(
				a, collection_id, name, *size, replaces, start,
				rc, resp.kept_died && !rq.fresh && !data->read,
				out);
		if (rc == 1) { /* not made: once more, on a new connection */
			http_resp_release(&resp);
			rq.fresh = 1;
			continue;
		}
		http_resp_release(&resp);
		return rc;
	}
}

int api_upload_document(struct api *a, const char *collection_id,
			const char *name, int fd, uint64_t size,
			const char *content_type, const char *fields,
			const char *replaces, struct res *out)
{
	const struct http_part data = {
		.name = "data",
		.fd = fd,
		.size = size,
		.filename = name,
		.type = content_type,
	};
	const struct http_part fpart = { .name = "fields",
					 .value = fields ? fields : "{}",
					 .fd = -1 };

	memset(out, 0, sizeof(*out));
	if (a->o.upload_files)
		return api_upload_two_steps(a, collection_id, name, fd, size,
					    content_type, fields, out);
	return api_upload_direct(a, collection_id, name, &data, &fpart, &size,
				 content_type, replaces, out);
}

int api_upload_streams(const struct api *a)
{
	return !a->o.read_only && !a->o.upload_files;
}

int api_upload_document_stream(struct api *a, const char *collection_id,
			       const char *name, http_read_fn read,
			       http_read_fn fields_read, void *ctx,
			       const uint64_t *size, const char *content_type,
			       const char *replaces, struct res *out)
{
	const struct http_part data = {
		.name = "data",
		.fd = -1,
		.filename = name,
		.type = content_type,
		.read = read,
		.read_ctx = ctx,
	};
	const struct http_part fields = {
		.name = "fields",
		.fd = -1,
		.read = fields_read,
		.read_ctx = ctx,
	};

	memset(out, 0, sizeof(*out));
	if (!api_upload_streams(a))
		return -EOPNOTSUPP;
	return api_upload_direct(a, collection_id, name, &data, &fields, size,
				 content_type, replaces, out);
}

int api_stream_begin(struct api *a)
{
	int n = __atomic_add_fetch(&a->streams, 1, __ATOMIC_ACQ_REL);

	if (n <= a->o.max_streams && api_upload_streams(a)) {
		api_stream_count(a, API_STREAMS, 1);
		return 0;
	}
	__atomic_sub_fetch(&a->streams, 1, __ATOMIC_ACQ_REL);
	return -EBUSY;
}

void api_stream_end(struct api *a)
{
	__atomic_sub_fetch(&a->streams, 1, __ATOMIC_ACQ_REL);
}

void api_stream_count(struct api *a, enum api_stream_counter which, uint64_t n)
{
	__atomic_add_fetch(&a->stream_counts[which], n, __ATOMIC_RELAXED);
}

uint64_t api_stream_counter(struct api *a, enum api_stream_counter which)
{
	return __atomic_load_n(&a->stream_counts[which], __ATOMIC_RELAXED);
}
