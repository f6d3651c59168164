/*
 * change_fields_set.c - setfattr and removexattr of user.xai.fields: kept
 * for a document being written, or a stored document uploaded again with
 * the new fields (there is no route that changes them in place). See
 * change_fields.h. Above change_commit.c (it uploads through
 * change_commit_doc()); change_fields.c, below both, keeps what was set.
 */
#include "change_fields.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anonfile.h"
#include "log.h"
#include "model_fields.h"
#include "change_fields_int.h"
#include "change_int.h"

/* ---- a stored document: uploaded again with other fields ---- */

/* Upload the bytes in fd as the new version of doc id, with fields held on ino.
 */
static int fields_replace(struct change *w, uint64_t ino,
			  const struct fields_node *f, const char *raw_name,
			  const char *name, int fd, const char *fields)
{
	char *new_id = NULL;
	int rc;

	change_fields_hold(w, ino);
	rc = fields_set_held(w, ino, fields);
	if (rc >= 0)
		rc = change_commit_doc(w, f->cid, raw_name, fd, NULL, ino,
				       f->id, &new_id);
	change_fields_drop(w, ino);
	if (rc == 0) {
		/* A new id: the name and its metadata file must be looked up
		 * again. */
		change_inval_entry(
			w, tree_dir_ino(w->tree, NODE_DOCS_DIR, f->cid), name);
		change_inval_entry(
			w, tree_dir_ino(w->tree, NODE_META_DIR, f->cid), name);
		change_inval_inode(w, ino);
	}
	free(new_id);
	return rc;
}

static int fields_reupload(struct change *w, uint64_t ino,
			   const struct fields_node *f, const char *fields)
{
	char *old = NULL, *raw_name = NULL, *name = NULL;
	uint64_t bytes = 0;
	int rc, fd = -1;

	rc = fields_of_stored(w, f->cid, f->id, &old, &raw_name, &name);
	if (rc < 0 || model_fields_equal(old, fields))
		goto out; /* the same fields: nothing to send */
	rc = fields_check(w, f->cid, raw_name, fields);
	if (rc < 0)
		goto out;
	fd = anonfile_open(w->tmpdir);
	rc = fd < 0 ? fd : cache_read_document(w->cache, f->id, fd, &bytes);
	if (rc < 0) {
		log_error(
			"cannot change the fields of document '%s': its bytes could not be read "
			"to upload it again (%s)",
			raw_name, strerror(-rc));
		goto out;
	}
	log_info(
		"document '%s' is uploaded again with new fields (the API cannot change a "
		"stored document's fields)",
		raw_name);
	rc = fields_replace(w, ino, f, raw_name, name, fd, fields);
out:
	if (fd >= 0)
		close(fd);
	free(old);
	free(raw_name);
	free(name);
	return rc;
}

static int fields_put(struct change *w, uint64_t ino, const char *fields)
{
	struct fields_node f;
	int rc;

	if (w->read_only)
		return -EROFS;
	rc = fields_node(w, ino, &f);
	if (rc < 0)
		return rc;
	if (f.t == FIELDS_NONE) {
		rc = -ENOTSUP;
	} else if (f.t == FIELDS_LOCAL) {
		rc = scratch_set_fields(w->local, ino, fields);
	} else {
		rc = fields_set_held(w, ino, fields);
		if (rc == 0)
			rc = fields_reupload(w, ino, &f,
					     fields ? fields : "{}");
		rc = rc > 0 ? 0 : rc;
	}
	fields_node_release(&f);
	return rc;
}

int change_fields_set(struct change *w, uint64_t ino, const char *value,
		      size_t size)
{
	char bad[MODEL_FIELDS_BAD], *fields = NULL;
	int rc = model_fields_parse(value, size, &fields, bad, sizeof(bad));

	if (rc == -EINVAL && *bad)
		log_error(
			"cannot set " CHANGE_FIELDS_XATTR
			": field '%s' needs a non-empty name and "
			"a string value (fields are text: quote numbers, e.g. \"2024\")",
			bad);
	else if (rc == -EINVAL)
		log_error("cannot set " CHANGE_FIELDS_XATTR
			  ": the value is not one JSON object of "
			  "strings, e.g. {\"author\": \"ann\"}");
	if (rc == 0)
		rc = fields_put(w, ino, fields);
	free(fields);
	return rc;
}

int change_fields_remove(struct change *w, uint64_t ino)
{
	char *had = NULL;

	if (w->local && scratch_get_fields(w->local, ino, &had) == 0 && !had)
		return -ENODATA; /* a local file with nothing set */
	free(had);
	return fields_put(w, ino, NULL);
}
