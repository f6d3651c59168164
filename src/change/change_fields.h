/*
 * change_fields.h - the "user.xai.fields" attribute of documents: the fields
 * (xai-api.md 7.6, string keys to string values) a document is stored with,
 * set with setfattr, cp --preserve=xattr or rsync -X, and sent with the
 * upload (docs/semantics.md, "Fields").
 *
 * Owns: the fields given to existing documents that are being rewritten
 * through an open handle (a table by inode, w->fields; new documents and
 * temporary names keep theirs in scratch, so they travel with renames),
 * and the rule that picks and checks the fields an upload sends:
 *
 *   1. the fields set on the file being written (this table or scratch);
 *   2. else, when it replaces a document, that document's fields;
 *   3. else none.
 *
 * The read-only attributes of documents (user.xai.id, name, json, status)
 * set on a document being written are accepted and ignored, like chmod, so
 * a document copied out with its attributes copies back.
 *
 * A collection field definition with "required": true whose key is missing
 * (or empty) fails the upload before anything is sent: -EINVAL and one log
 * line naming the field. Setting fields on a stored document re-uploads it
 * with them (there is no route that changes a stored document's fields).
 *
 * Part of the change module (change_int.h has its hooks); depends on tree,
 * scratch, cache, api and model_fields.
 *
 * Threads: every function is thread safe; t->lock guards the table and is
 * taken after no other lock, never held across HTTP or I/O. Values come back
 * in malloc'd buffers the caller frees.
 */
#ifndef XAIFS_CHANGE_FIELDS_H
#define XAIFS_CHANGE_FIELDS_H

#include <stddef.h>
#include <stdint.h>
#include "change.h"

#define CHANGE_FIELDS_XATTR "user.xai.fields"

/*
 * setxattr of user.xai.fields: value must be a JSON object of strings
 * (model_fields_parse(), else -EINVAL and a log line). On a document being
 * written (a new one, a temporary name, or an existing one open for
 * writing) it is kept for the upload at close; on a stored document it
 * re-uploads the document with these fields (nothing when they are the
 * same). -ENOTSUP for anything that is not a document; -EROFS on a
 * read-only mount.
 */
int change_fields_set(struct change *w, uint64_t ino, const char *value,
		      size_t size);

/*
 * removexattr of user.xai.fields: a document being written goes back to
 * the default (rule 2 and 3 above); a stored document is re-uploaded with
 * no fields. -ENODATA when nothing was set on a local file.
 */
int change_fields_remove(struct change *w, uint64_t ino);

/*
 * getxattr: the fields that a document has, or that a document being
 * written will be sent with (set ones only for local files). *out is
 * malloc'd (not NUL-terminated for the caller's purposes: *len bytes).
 * -ENODATA when there is nothing to show.
 */
int change_fields_get(struct change *w, uint64_t ino, char **out, size_t *len);

/* listxattr: whether ino shows user.xai.fields (documents; local files with
 * fields set). */
int change_fields_shown(struct change *w, uint64_t ino);

#endif
