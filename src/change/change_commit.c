/*
 * change_commit.c - what a commit asks of the API: updating and creating
 * keys, uploading documents, updating and creating collections, and keeping
 * the cache true after each (change_base.c). Calls change_base.c and the
 * layers below change only. See change_int.h and docs/semantics.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "anonfile.h"
#include "api.h"
#include "log.h"
#include "model.h"
#include "change_int.h"

/* What writing in to key id asks of the API, against the cached key. */
static int change_key_change(struct change *w, const char *id, const char *in,
			     size_t len, struct model_change *ch)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find_id(w, NODE_LIST_KEYS, "", id, &v, &r);

	if (rc < 0)
		return rc;
	rc = model_key_update(r->json, r->json_len, in, len, ch);
	cval_unref(v);
	return rc;
}

/* Update a key from JSON; rotate when asked. in is the written JSON. */
int change_commit_key_update(struct change *w, const char *id,
			     const char *label, const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	char *secret = NULL;
	int rc;

	rc = change_key_change(w, id, in, len, &ch);
	/*
	 * Nothing differs from the cached key: the cache may be behind a change
	 * made elsewhere, and the user's values would then be dropped. Compare
	 * with the server's key once more before deciding nothing is to be sent.
	 */
	if (rc == 0 && !ch.body && !ch.rotate) {
		model_change_release(&ch);
		memset(&ch, 0, sizeof(ch));
		cache_invalidate(w->cache, CACHE_KEYS, NULL);
		rc = change_key_change(w, id, in, len, &ch);
	}
	if (rc == -EINVAL)
		rc = change_log_invalid("update key", label, &ch);
	if (rc == 0 && ch.body) {
		rc = api_update_key(w->api, id, ch.body, &out);
		if (rc == 0)
			change_learned(w, NODE_LIST_KEYS, "", &out);
		res_release(&out);
	}
	if (rc == 0 && ch.rotate) {
		rc = api_rotate_key(w->api, id, ch.rotate_body, &out, &secret);
		if (rc == 0) {
			change_keep_secret(w, id, secret);
			change_learned(w, NODE_LIST_KEYS, "", &out);
		}
		res_release(&out);
	}
	/* After a failure the server may still have acted: fetch again. */
	if (rc < 0 && (ch.body || ch.rotate))
		change_changed(w, NODE_LIST_KEYS, "");
	model_change_release(&ch);
	return rc;
}

/* Create key name from JSON. *id gets its id; -ENODATA when the input was
 * empty. */
int change_commit_key_create(struct change *w, const char *name, const char *in,
			     size_t len, char **id)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	char *secret = NULL;
	int rc;

	rc = model_key_create(name, in, len, &ch);
	if (rc == -EINVAL)
		rc = change_log_invalid("create key", name, &ch);
	if (rc == 0)
		rc = api_create_key(w->api, name, ch.body, &out, &secret);
	if (rc == 0) {
		*id = strdup(out.id);
		change_keep_secret(w, out.id, secret);
		rc = *id ? 0 : -ENOMEM;
		change_learned(w, NODE_LIST_KEYS, "", &out);
	}
	res_release(&out);
	model_change_release(&ch);
	return rc;
}

/* The upload of document name replaced old_id: remove that one. 0 or -errno. */
static int change_doc_replaced(struct change *w, const char *cid,
			       const char *name, const char *old_id,
			       const char *new_id)
{
	int rc;

	if (!old_id || !*old_id || strcmp(old_id, new_id) == 0)
		return 0;
	rc = api_delete_document(w->api, cid, old_id);
	if (rc == 0 || rc == -ENOENT) {
		/* removed now, or already by someone else */
		change_gone(w, NODE_LIST_DOCUMENTS, cid, old_id);
		return 0;
	}
	/* The new bytes are stored: close() succeeds; the old one shows too. */
	log_warn("document '%s' was stored, but its old version %s could not "
		 "be removed (%s): both are listed until it is",
		 name, old_id, strerror(-rc));
	change_changed(w, NODE_LIST_DOCUMENTS, cid);
	return 0;
}

/*
 * Upload fd as document name, with the fields that apply to ino
 * (change_fields.h); when old_id is given (a document being replaced),
 * remove that one once the new one is in. *id gets the new id.
 */
int change_commit_doc(struct change *w, const char *cid, const char *name,
		      int fd, struct upload_stream *up, uint64_t ino,
		      const char *old_id, char **id)
{
	struct res out = { 0 };
	off_t size = anonfile_size(fd);
	char *fields = NULL;
	int rc = size < 0 ? (int)size
			  : change_fields_prepare(w, ino, cid, name, old_id,
						  &fields);

	/* Not sent: a stream is cut before its end, so the server stores
	 * nothing. */
	if (rc < 0) {
		upload_stream_free(up);
		return rc;
	}
	/* Streamed: only the tail, the fields and the answer are left
	 * (change_stream.c). */
	if (up) {
		rc = upload_stream_finish(up, fields, &out);
		upload_stream_free(up);
	}
	/*
	 * A 429 refuses before anything is carried out: send the spool (every
	 * byte is there), which waits such refusals out.
	 */
	if (up && rc == -EAGAIN) {
		res_release(&out);
		log_info(
			"upload of '%s' was refused (429) while streaming: sending it whole",
			name);
		up = NULL;
	}
	if (!up) {
		rc = api_upload_document(w->api, cid, name, fd, (uint64_t)size,
					 change_content_type(name), fields,
					 old_id, &out);
	}
	free(fields);
	/* Stored, but its id is unknown: it shows at the next listing; the old
	 * stays. */
	if (rc == 0 && !out.id) {
		if (old_id && *old_id)
			log_warn(
				"document '%s' was uploaded, but without its new id its old "
				"version %s is kept",
				name, old_id);
		change_changed(w, NODE_LIST_DOCUMENTS, cid);
		res_release(&out);
		return 0;
	}
	if (rc == 0) {
		*id = strdup(out.id);
		rc = *id ? change_doc_replaced(w, cid, name, old_id, out.id)
			 : -ENOMEM;
	}
	if (rc == 0)
		change_learned(w, NODE_LIST_DOCUMENTS, cid, &out);
	else
		change_changed(w, NODE_LIST_DOCUMENTS, cid);
	res_release(&out);
	return rc;
}

/* What writing in to collection cid's collection.json asks, against the cache. */
static int change_coll_change(struct change *w, const char *cid, const char *in,
			      size_t len, struct model_change *ch)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find_id(w, NODE_LIST_COLLECTIONS, "", cid, &v, &r);

	if (rc < 0)
		return rc;
	rc = model_collection_update(r->json, r->json_len, in, len, ch);
	cval_unref(v);
	return rc;
}

int change_commit_coll_json(struct change *w, const char *cid,
			    const char *label, const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	int rc;

	rc = change_coll_change(w, cid, in, len, &ch);
	if (rc == 0 && !ch.body) {
		/* As for keys: check with the server before dropping the write.
		 */
		model_change_release(&ch);
		memset(&ch, 0, sizeof(ch));
		cache_invalidate(w->cache, CACHE_COLLECTIONS, NULL);
		rc = change_coll_change(w, cid, in, len, &ch);
	}
	if (rc == -EINVAL)
		rc = change_log_invalid("update collection", label, &ch);
	if (rc == 0 && ch.body) {
		rc = api_update_collection(w->api, cid, ch.body, &out);
		if (rc == 0)
			change_learned(w, NODE_LIST_COLLECTIONS, "", &out);
		else
			change_changed(w, NODE_LIST_COLLECTIONS, "");
	}
	res_release(&out);
	model_change_release(&ch);
	return rc;
}

/*
 * collections/NAME.json was written: create collection NAME with the options
 * in the JSON (index model, chunking, metric space, field definitions). An
 * existing NAME is -EEXIST: its collection.json is where it changes.
 */
int change_commit_new_collection(struct change *w, const char *file_name,
				 const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct res out = { 0 };
	const struct res *r;
	struct cval *v = NULL;
	char *name = strndup(file_name, strlen(file_name) - strlen(".json"));
	int rc = name ? change_find(w, NODE_LIST_COLLECTIONS, "", name, &v, &r)
		      : -ENOMEM;

	cval_unref(v);
	if (rc == 0) {
		log_error(
			"cannot create collection '%s' from %s: it exists (change it through "
			"collections/%s/collection.json)",
			name, file_name, name);
		rc = -EEXIST;
		goto out;
	}
	if (rc != -ENOENT)
		goto out;
	rc = model_collection_create(name, in, len, &ch);
	if (rc == -EINVAL)
		rc = change_log_invalid("create collection", name, &ch);
	if (rc == 0)
		rc = api_create_collection(w->api, name, ch.body, &out);
	if (rc == 0)
		change_learned(w, NODE_LIST_COLLECTIONS, "", &out);
out:
	res_release(&out);
	model_change_release(&ch);
	free(name);
	return rc;
}

/*
 * The id listed under f's name now (*old, NULL when none): what its commit
 * replaces, whoever stored it. When the listing cannot be had, the version
 * the handle was opened on.
 */
static int change_current_id(struct change *w, struct change_file *f,
			     char **old)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find(w, NODE_LIST_DOCUMENTS, f->cid, f->name, &v, &r);
	int want = rc == 0 || (rc != -ENOENT && f->st.target == CHANGE_DOC);

	*old = want ? strdup(rc == 0 ? r->id : f->id) : NULL;
	cval_unref(v);
	return want && !*old ? -ENOMEM : 0;
}

/*
 * Commit a document under its name's lock (change_int.h, "Names being
 * written"): 0 stored (*new_id), 1 nothing to store (the name was removed
 * since the open, or only truncated and stored by another handle since), or
 * -errno.
 */
int change_commit_named(struct change *w, struct change_file *f, char **new_id)
{
	enum change_name_verdict verdict;
	char *old = NULL;
	int rc;

	verdict = change_name_judge(f->nm, &f->seen, f->wrote);
	if (verdict != CHANGE_NAME_STORE) {
		if (verdict == CHANGE_NAME_REMOVED)
			log_info("'%s' was removed while open for writing: "
				 "what was written to it is not stored",
				 f->name);
		change_stream_drop(f);
		rc = 1;
		goto out;
	}
	rc = change_current_id(w, f, &old);
	if (rc == 0)
		rc = change_commit_doc(w, f->cid, f->name, f->fd,
				       change_stream_take(f), f->ino, old,
				       new_id);
	if (rc == 0)
		change_name_stored(f->nm);
out:
	free(old);
	return rc;
}

/*
 * A new key written under name: the key now listed under it (another handle
 * stored it first) is updated, else one is created; *id gets its id.
 */
static int change_key_to_name(struct change *w, const char *name,
			      const char *in, size_t len, char **id)
{
	const struct res *r;
	struct cval *v = NULL;
	char *have = NULL;
	int rc = change_find(w, NODE_LIST_KEYS, "", name, &v, &r);

	if (rc == 0 && !(have = strdup(r->id)))
		rc = -ENOMEM;
	cval_unref(v);
	if (rc == -ENOMEM)
		return rc;
	if (!have)
		return change_commit_key_create(w, name, in, len, id);
	rc = change_commit_key_update(w, have, name, in, len);
	if (rc == 0)
		*id = have;
	else
		free(have);
	return rc;
}

int change_commit_key_named(struct change *w, struct change_file *f,
			    const char *in, size_t len, char **id)
{
	int rc;

	if (change_name_judge(f->nm, &f->seen, 1) == CHANGE_NAME_REMOVED) {
		log_info("key '%s' was removed while open for writing: what "
			 "was written to it is not sent",
			 f->name);
		rc = 1;
	} else if (f->st.target == CHANGE_KEY) {
		rc = change_commit_key_update(w, f->id, f->name, in, len);
	} else {
		rc = change_key_to_name(w, f->name, in, len, id);
	}
	if (rc == 0)
		change_name_stored(f->nm);
	return rc;
}
