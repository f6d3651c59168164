/* change_fields.c - the fields documents are uploaded with; see
 * change_fields.h. */
#include "change_fields.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anonfile.h"
#include "log.h"
#include "model_fields.h"
#include "change_fields_int.h"
#include "change_int.h"

/* An existing document rewritten through open handles. */
struct fields_entry {
	uint64_t ino;
	int handles;  /* open handles on it */
	char *fields; /* set while open (compact JSON), or NULL */
	struct fields_entry *next;
};

struct change_fields {
	pthread_mutex_t lock;
	struct fields_entry *list; /* protected by lock; one per open rewrite */
};

struct change_fields *change_fields_new(void)
{
	struct change_fields *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

void change_fields_free(struct change_fields *t)
{
	struct fields_entry *e, *next;

	if (!t)
		return;
	for (e = t->list; e; e = next) {
		next = e->next;
		free(e->fields);
		free(e);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct fields_entry *fields_find_locked(struct change_fields *t,
					       uint64_t ino)
{
	for (struct fields_entry *e = t->list; e; e = e->next)
		if (e->ino == ino)
			return e;
	return NULL;
}

void change_fields_hold(struct change *w, uint64_t ino)
{
	struct change_fields *t = w->fields;
	struct fields_entry *e;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	e = fields_find_locked(t, ino);
	if (!e && (e = calloc(1, sizeof(*e)))) {
		e->ino = ino;
		e->next = t->list;
		t->list = e;
	}
	if (e)
		e->handles++; /* without memory, fields set on it apply to the
				 stored document */
	pthread_mutex_unlock(&t->lock);
}

void change_fields_drop(struct change *w, uint64_t ino)
{
	struct change_fields *t = w->fields;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	for (struct fields_entry **p = &t->list; *p; p = &(*p)->next) {
		struct fields_entry *e = *p;

		if (e->ino != ino)
			continue;
		if (--e->handles <= 0) {
			*p = e->next;
			free(e->fields);
			free(e);
		}
		break;
	}
	pthread_mutex_unlock(&t->lock);
}

/*
 * fields (or NULL: clear) for the open rewrite of ino. Returns 1 when an
 * open handle holds ino (set), 0 when none does, -ENOMEM.
 */
int fields_set_held(struct change *w, uint64_t ino, const char *fields)
{
	struct change_fields *t = w->fields;
	char *copy = fields ? strdup(fields) : NULL;
	struct fields_entry *e;
	int rc;

	if (fields && !copy)
		return -ENOMEM;
	if (!t) {
		free(copy);
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	e = fields_find_locked(t, ino);
	rc = e != NULL;
	if (e) {
		free(e->fields);
		e->fields = copy;
		copy = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(copy);
	return rc;
}

/* A copy of what was set on the open rewrite of ino: 1 (*out, maybe NULL), 0
 * not held, -ENOMEM. */
static int fields_get_held(struct change *w, uint64_t ino, char **out)
{
	struct change_fields *t = w->fields;
	struct fields_entry *e;
	int rc;

	*out = NULL;
	if (!t)
		return 0;
	pthread_mutex_lock(&t->lock);
	e = fields_find_locked(t, ino);
	rc = e != NULL;
	if (e && e->fields && !(*out = strdup(e->fields)))
		rc = -ENOMEM;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---- what ino is ---- */

void fields_node_release(struct fields_node *f)
{
	free(f->cid);
	free(f->id);
}

int fields_node(struct change *w, uint64_t ino, struct fields_node *out)
{
	struct node_id n = { 0 };
	struct scratch_info li = { 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	rc = tree_node(w->tree, ino, &n);
	if (rc < 0)
		return rc;
	if (n.kind == NODE_LOCAL && w->local &&
	    scratch_get_ino(w->local, ino, &li) == 0 &&
	    li.dir == NODE_DOCS_DIR) {
		out->t = li.redirect_id
				 ? (li.redirect == NODE_DOC ? FIELDS_DOC
							    : FIELDS_NONE)
				 : FIELDS_LOCAL;
		out->cid = li.cid;
		out->id = li.redirect_id;
		li.cid = NULL;
		li.redirect_id = NULL;
	} else if (n.kind == NODE_DOC || n.kind == NODE_DOC_META) {
		out->t = FIELDS_DOC;
		out->cid = n.cid;
		out->id = n.id;
		n.cid = NULL;
		n.id = NULL;
	}
	if (out->t != FIELDS_NONE &&
	    (!out->cid || (out->t == FIELDS_DOC && !out->id)))
		rc = -ENOMEM;
	scratch_info_release(&li);
	node_id_release(&n);
	return rc;
}

/* The fields document id of collection cid has now: *out (compact), *name its
 * server name. */
int fields_of_stored(struct change *w, const char *cid, const char *id,
		     char **out, char **raw_name, char **name)
{
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find_id(w, NODE_LIST_DOCUMENTS, cid, id, &v, &r);

	/* Unreadable fields in the listing are none; a listing that could not
	 * be fetched is an error (a replaced document must not lose them). */
	if (rc == 0 &&
	    (rc = model_fields_of_document(r->json, r->json_len, out)) == -EIO)
		rc = -ENOENT;
	if (rc == 0 && raw_name && !(*raw_name = strdup(r->raw_name)))
		rc = -ENOMEM;
	if (rc == 0 && name && !(*name = strdup(r->name)))
		rc = -ENOMEM;
	cval_unref(v);
	return rc;
}

/* ---- the upload's fields ---- */

/*
 * Whether fields give every field collection cid requires: 0, or -EINVAL
 * with one log line naming the missing field. A collection that cannot be
 * read is left to the server.
 */
int fields_check(struct change *w, const char *cid, const char *name,
		 const char *fields)
{
	char missing[MODEL_FIELDS_BAD];
	const struct res *r;
	struct cval *v = NULL;
	int rc = change_find_id(w, NODE_LIST_COLLECTIONS, "", cid, &v, &r);

	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	rc = model_fields_missing(r->json, r->json_len, fields, missing,
				  sizeof(missing));
	if (rc == 1) {
		log_error(
			"cannot upload '%s' to collection '%s': field '%s' is required (set it "
			"with setfattr -n " CHANGE_FIELDS_XATTR
			" -v '{\"%s\": \"...\"}')",
			name, r->name, missing, missing);
		rc = -EINVAL;
	}
	cval_unref(v);
	return rc == -EIO ? 0 : rc;
}

int change_fields_prepare(struct change *w, uint64_t ino, const char *cid,
			  const char *name, const char *old_id, char **fields)
{
	int rc = ino ? fields_get_held(w, ino, fields) : 0;

	if (rc == 0 && ino && w->local) {
		rc = scratch_get_fields(w->local, ino, fields);
		rc = rc == -ENOENT ? 0 : rc;
	}
	if (rc >= 0 && !*fields && old_id && *old_id) {
		rc = fields_of_stored(w, cid, old_id, fields, NULL, NULL);
		rc = rc == -ENOENT ? 0 : rc;
	}
	if (rc >= 0 && !*fields && !(*fields = strdup("{}")))
		rc = -ENOMEM;
	if (rc >= 0)
		rc = fields_check(w, cid, name, *fields);
	if (rc < 0) {
		free(*fields);
		*fields = NULL;
	}
	return rc < 0 ? rc : 0;
}

/* ---- the attribute ---- */

int change_fields_ignored(struct change *w, uint64_t ino, const char *name)
{
	static const char *const shown[] = {
		"user.xai.id",	   "user.xai.name",	   "user.xai.json",
		"user.xai.status", "user.xai.propagation",
	};
	struct fields_node f;
	char *held = NULL;
	int known = 0, ignored = 0;

	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		known |= strcmp(name, shown[i]) == 0;
	if (!known || w->read_only || fields_node(w, ino, &f) < 0)
		return 0;
	ignored = f.t == FIELDS_LOCAL ||
		  (f.t == FIELDS_DOC && fields_get_held(w, ino, &held) == 1);
	free(held);
	fields_node_release(&f);
	return ignored;
}

int change_fields_get(struct change *w, uint64_t ino, char **out, size_t *len)
{
	struct fields_node f;
	int rc;

	*out = NULL;
	*len = 0;
	rc = fields_node(w, ino, &f);
	if (rc < 0)
		return rc == -ENOENT ? -ENODATA : rc;
	if (f.t == FIELDS_LOCAL)
		rc = scratch_get_fields(w->local, ino, out);
	else if (f.t == FIELDS_DOC &&
		 (rc = fields_get_held(w, ino, out)) >= 0 && !*out)
		rc = fields_of_stored(w, f.cid, f.id, out, NULL, NULL);
	if (rc >= 0 && !*out)
		rc = -ENODATA;
	if (rc >= 0) {
		*len = strlen(*out);
		rc = 0;
	}
	fields_node_release(&f);
	return rc == -ENOENT ? -ENODATA : rc;
}

int change_fields_shown(struct change *w, uint64_t ino)
{
	struct fields_node f;
	char *set = NULL;
	int shown;

	if (fields_node(w, ino, &f) < 0)
		return 0;
	shown = f.t == FIELDS_DOC;
	if (f.t == FIELDS_LOCAL &&
	    scratch_get_fields(w->local, ino, &set) == 0 && set)
		shown = 1;
	free(set);
	fields_node_release(&f);
	return shown;
}
