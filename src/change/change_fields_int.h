/*
 * change_fields_int.h - what change_fields.c (the table of fields held for
 * open rewrites, and what an upload sends) and change_fields_set.c (the
 * attribute set and removed) share; never included outside them. Rules of
 * change_fields.h.
 */
#ifndef XAIFS_CHANGE_FIELDS_INT_H
#define XAIFS_CHANGE_FIELDS_INT_H

#include <stdint.h>
#include "change.h"

enum fields_target {
	FIELDS_NONE,  /* not a document */
	FIELDS_LOCAL, /* a local file of documents/ (new, or a temporary name) */
	FIELDS_DOC,   /* a document (or its metadata file): cid, id */
};

/* What inode a fields attribute is set on. */
struct fields_node {
	enum fields_target t;
	char *cid;
	char *id; /* the document's file id (FIELDS_DOC) */
};

/* What ino is (*out: release with fields_node_release()). 0 or -errno. */
int fields_node(struct change *w, uint64_t ino, struct fields_node *out);
/* Free the strings of f. */
void fields_node_release(struct fields_node *f);
/* fields (NULL: clear) for the open rewrite of ino: 1 held and set, 0 not held,
 * -ENOMEM. */
int fields_set_held(struct change *w, uint64_t ino, const char *fields);
/* The fields of stored document id (*out compact); its server and display names
 * if asked. */
int fields_of_stored(struct change *w, const char *cid, const char *id,
		     char **out, char **raw_name, char **name);
/* 0 when fields give every field collection cid requires, else -EINVAL
 * (logged). */
int fields_check(struct change *w, const char *cid, const char *name,
		 const char *fields);

#endif
