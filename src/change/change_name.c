/*
 * change_name.c - one entry per name being written or removed (change_int.h,
 * "Names being written"): the lock that puts the commits and removals of a
 * name in one order, and the counters that tell a handle what happened to
 * its name since it was opened. Calls nothing of the change module.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "change_int.h"

/* The entry of (cid, name), or NULL; w->names_lock held. */
static struct change_name *change_name_find(struct change *w, const char *cid,
					    const char *name)
{
	struct change_name *n;

	for (n = w->names; n; n = n->next)
		if (strcmp(n->cid, cid) == 0 && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

static struct change_name *change_name_make(const char *cid, const char *name)
{
	struct change_name *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->cid = strdup(cid);
	n->name = strdup(name);
	if (!n->cid || !n->name) {
		free(n->cid);
		free(n->name);
		free(n);
		return NULL;
	}
	pthread_mutex_init(&n->lock, NULL);
	return n;
}

struct change_name *change_name_get(struct change *w, const char *cid,
				    const char *name)
{
	struct change_name *n;

	cid = cid ? cid : "";
	pthread_mutex_lock(&w->names_lock);
	n = change_name_find(w, cid, name);
	if (!n && (n = change_name_make(cid, name))) {
		n->next = w->names;
		w->names = n;
	}
	if (n)
		n->refs++;
	pthread_mutex_unlock(&w->names_lock);
	return n;
}

void change_name_put(struct change *w, struct change_name *n)
{
	struct change_name **p;

	if (!n)
		return;
	pthread_mutex_lock(&w->names_lock);
	if (--n->refs > 0) {
		pthread_mutex_unlock(&w->names_lock);
		return;
	}
	for (p = &w->names; *p && *p != n; p = &(*p)->next)
		;
	if (*p)
		*p = n->next;
	pthread_mutex_unlock(&w->names_lock);
	pthread_mutex_destroy(&n->lock);
	free(n->cid);
	free(n->name);
	free(n);
}

int change_name_shared(struct change *w, const struct change_name *n)
{
	int shared;

	if (!n)
		return 0;
	pthread_mutex_lock(&w->names_lock);
	shared = n->refs > 1;
	pthread_mutex_unlock(&w->names_lock);
	return shared;
}

struct change_name *change_name_lock(struct change *w, const char *cid,
				     const char *name)
{
	struct change_name *n = change_name_get(w, cid, name);

	if (n)
		pthread_mutex_lock(&n->lock);
	return n;
}

void change_name_unlock(struct change *w, struct change_name *n)
{
	if (!n)
		return;
	pthread_mutex_unlock(&n->lock);
	change_name_put(w, n);
}

void change_name_removed(struct change_name *n)
{
	if (n)
		__atomic_add_fetch(&n->epoch, 1, __ATOMIC_SEQ_CST);
}

void change_name_stored(struct change_name *n)
{
	if (n)
		__atomic_add_fetch(&n->gen, 1, __ATOMIC_SEQ_CST);
}

void change_name_mark(const struct change_name *n, struct change_name_seen *s)
{
	s->epoch = n ? __atomic_load_n(&n->epoch, __ATOMIC_SEQ_CST) : 0;
	s->gen = n ? __atomic_load_n(&n->gen, __ATOMIC_SEQ_CST) : 0;
}

enum change_name_verdict change_name_judge(const struct change_name *n,
					   const struct change_name_seen *s,
					   int wrote)
{
	struct change_name_seen now;

	if (!n)
		return CHANGE_NAME_STORE;
	change_name_mark(n, &now);
	if (now.epoch != s->epoch)
		return CHANGE_NAME_REMOVED;
	if (!wrote && now.gen != s->gen)
		return CHANGE_NAME_SUPERSEDED;
	return CHANGE_NAME_STORE;
}
