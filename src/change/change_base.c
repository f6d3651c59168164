/*
 * change_base.c - what every change shares: finding the resource a change is
 * made to, keeping the cache and the kernel's caches true after it, spools
 * and handles. The base of the change module: it calls change_state.c and
 * the layers below change, never another change file. See change_int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "anonfile.h"
#include "log.h"
#include "model.h"
#include "change_int.h"

int change_wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY ||
	       (flags & (O_TRUNC | O_APPEND));
}

void change_inval_entry(struct change *w, uint64_t parent, const char *name)
{
	if (w->notify.inval_entry)
		w->notify.inval_entry(w->notify.ctx, parent, name);
}

void change_inval_inode(struct change *w, uint64_t ino)
{
	if (w->notify.inval_inode)
		w->notify.inval_inode(w->notify.ctx, ino);
}

/* ---- finding things ---- */

int change_parent(struct change *w, uint64_t parent, struct node_id *p)
{
	if (w->read_only)
		return -EROFS;
	return tree_node(w->tree, parent, p);
}

int change_listing(struct change *w, enum node_list list, const char *cid,
		   struct cval **out)
{
	return list == NODE_LIST_NONE ? -EACCES
				      : tree_listing(w->tree, list, cid, out);
}

/*
 * Find the server resource named name in (list, cid). On success *v holds
 * the listing (unref it) and *r points into it. -ENOENT when absent.
 */
int change_find(struct change *w, enum node_list list, const char *cid,
		const char *name, struct cval **v, const struct res **r)
{
	int rc = change_listing(w, list, cid, v);

	return rc < 0 ? rc : cval_find(v, name, 0, r);
}

int change_find_id(struct change *w, enum node_list list, const char *cid,
		   const char *id, struct cval **v, const struct res **r)
{
	int rc = change_listing(w, list, cid, v);

	return rc < 0 ? rc : cval_find(v, id, 1, r);
}

/* ---- keeping caches true ---- */

/* The cache family that holds listing list. */
static enum cache_family change_family(enum node_list list)
{
	switch (list) {
	case NODE_LIST_KEYS:
		return CACHE_KEYS;
	case NODE_LIST_COLLECTIONS:
		return CACHE_COLLECTIONS;
	default:
		return CACHE_DOCUMENTS;
	}
}

/* The server changed something in (list, cid) that its answer does not show. */
void change_changed(struct change *w, enum node_list list, const char *cid)
{
	cache_changed(w->cache, change_family(list), cid);
}

/*
 * The server accepted a change in (list, cid) and answered with the resource
 * as it is now (*out, strings taken): the listing learns it in place, so the
 * next read costs no request (cache_put() also keeps documents_count true).
 */
void change_learned(struct change *w, enum node_list list, const char *cid,
		    struct res *out)
{
	cache_put(w->cache, change_family(list), cid, out);
}

/* The server removed resource id of (list, cid): the listing forgets it in
 * place. */
void change_gone(struct change *w, enum node_list list, const char *cid,
		 const char *id)
{
	cache_remove(w->cache, change_family(list), cid, id);
}

/* ---- what commits share ---- */

const char *change_content_type(const char *name)
{
	static const char *const map[][2] = {
		{ ".pdf", "application/pdf" },
		{ ".txt", "text/plain" },
		{ ".md", "text/markdown" },
		{ ".json", "application/json" },
		{ ".csv", "text/csv" },
		{ ".html", "text/html" },
		{ ".htm", "text/html" },
		{ ".xml", "application/xml" },
		{ ".jsonl", "application/jsonl" },
		{ ".docx", "application/vnd.openxmlformats-officedocument."
			   "wordprocessingml.document" },
		{ ".xlsx",
		  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ ".pptx", "application/vnd.openxmlformats-officedocument."
			   "presentationml.presentation" },
		{ ".png", "image/png" },
		{ ".jpg", "image/jpeg" },
		{ ".jpeg", "image/jpeg" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(dot, map[i][0]) == 0)
			return map[i][1];
	return "application/octet-stream";
}

int change_log_invalid(const char *what, const char *name,
		       const struct model_change *c)
{
	if (*c->field)
		log_error(
			"cannot %s '%s': field '%s' is read-only, unknown or of the wrong type",
			what, name, c->field);
	else
		log_error("cannot %s '%s': the file is not a JSON object", what,
			  name);
	return -EINVAL;
}

/* Keep a new one-time secret for the life of the mount, then wipe our copy. */
void change_keep_secret(struct change *w, const char *id, char *secret)
{
	if (!secret)
		return;
	if (tree_set_secret(w->tree, id, secret) < 0)
		log_error("cannot keep the secret of key '%s' in memory", id);
	explicit_bzero(secret, strlen(secret));
	free(secret);
}

/* ---- spools and handles ---- */

int change_spool_write(int fd, const char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, data + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* A spool holding the current bytes of a JSON resource (unless truncating). */
int change_json_spool(struct change *w, const char *json, size_t len, int trunc)
{
	int fd = anonfile_open(w->tmpdir), rc;

	if (fd < 0 || trunc)
		return fd;
	rc = change_spool_write(fd, json, len);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int change_file_new(const struct change_state *st, uint64_t ino,
		    uint64_t parent, const char *cid, const char *id,
		    const char *name, int fd, struct change_file **out)
{
	struct change_file *f = fd < 0 ? NULL : calloc(1, sizeof(*f));

	*out = NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : -ENOMEM;
	}
	f->st = *st;
	f->ino = ino;
	f->parent = parent;
	f->fd = fd;
	f->cid = strdup(cid ? cid : "");
	f->id = strdup(id ? id : "");
	f->name = strdup(name ? name : "");
	if (!f->cid || !f->id || !f->name) {
		free(f->cid);
		free(f->id);
		free(f->name);
		free(f);
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->up_lock, NULL);
	*out = f;
	return 0;
}

void change_file_free(struct change_file *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->up_lock);
	if (f->fd >= 0)
		close(f->fd);
	free(f->cid);
	free(f->id);
	free(f->name);
	free(f);
}
