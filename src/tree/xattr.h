/*
 * xattr.h - extended attributes: read-only facts about keys, models,
 * collections and documents under the "user.xai." namespace.
 *
 *   user.xai.id           the resource id
 *   user.xai.name         the server's own name (the file name may differ)
 *   user.xai.json         the resource's JSON, as in its file / metadata file
 *   user.xai.status       documents: DOCUMENT_STATUS_*
 *   user.xai.propagation  keys: propagation to the clusters (fetched when read)
 *
 * Owns nothing; reads through tree (listings) and the api (propagation).
 * Which nodes show which names is node.h's table (.resource, .xattr).
 * Thread safe. Values are returned in malloc'd buffers the caller frees.
 * Actions (setfattr) are change's: see change_setxattr().
 */
#ifndef XAIFS_XATTR_H
#define XAIFS_XATTR_H

#include <stddef.h>
#include <stdint.h>
#include "tree.h"

/* The NUL-separated names that apply to ino, in *out. Returns 0 or -errno. */
int xattr_list(struct tree *tree, uint64_t ino, char **out, size_t *len);

/* One value. -ENODATA for a name that does not apply. */
int xattr_get(struct tree *tree, uint64_t ino, const char *name, char **out,
	      size_t *len);

#endif
