/* inode.c - inode table; see inode.h. */
#include "inode.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#define INODE_ROOT 1

struct inode {
	uint64_t ino;
	enum node_kind kind;
	char *cid;
	char *id;
	uint64_t nlookup;
	uint64_t holds; /* internal references (inode_hold) */
	int pinned;
	uint64_t shown; /* version the kernel was last given (inode_set_shown) */
	uint64_t paged; /* version of the last page-cache open (inode_page_open)
			 */
	unsigned writers; /* handles open for writing (inode_write_open) */
	int releasing;	  /* closed, its commit waits for the release */
	off_t wsize;	  /* the size the last of them wrote or truncated to */
	struct timespec wmtime; /* and when */
	struct inode *next_ino; /* chain in by_ino */
	struct inode *next_id;	/* chain in by_id */
};

struct inode_table {
	pthread_mutex_t lock;
	pthread_cond_t released; /* a releasing inode's writer went */
	struct inode **by_ino;	 /* protected by lock */
	struct inode **by_id;	 /* protected by lock */
	size_t nbuckets;	 /* protected by lock */
	uint64_t count;		 /* protected by lock */
	uint64_t scratch;	 /* of them local files (node_is_scratch()) */
	uint64_t next;		 /* next number; protected by lock */
};

void node_id_release(struct node_id *n)
{
	free(n->cid);
	free(n->id);
	n->cid = NULL;
	n->id = NULL;
	n->kind = NODE_NONE;
}

static size_t inode_hash_id(enum node_kind k, const char *cid, const char *id)
{
	uint64_t h = 14695981039346656037ull ^ (uint64_t)k;

	for (const char *s = cid; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (const char *s = id; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

static struct inode *inode_by_ino_locked(struct inode_table *t, uint64_t ino);

static size_t inode_hash_ino(uint64_t ino)
{
	return (size_t)(ino * 11400714819323198485ull >> 16);
}

struct inode_table *inode_table_new(void)
{
	struct inode_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nbuckets = 1024;
	t->by_ino = calloc(t->nbuckets, sizeof(*t->by_ino));
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	if (!t->by_ino || !t->by_id) {
		free(t->by_ino);
		free(t->by_id);
		free(t);
		return NULL;
	}
	t->next = INODE_ROOT;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->released, NULL);
	return t;
}

static void inode_free_one(struct inode *n)
{
	free(n->cid);
	free(n->id);
	free(n);
}

void inode_table_free(struct inode_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct inode *n = t->by_ino[i], *next;

		for (; n; n = next) {
			next = n->next_ino;
			inode_free_one(n);
		}
	}
	free(t->by_ino);
	free(t->by_id);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->released);
	free(t);
}

/* Double the buckets when the table gets crowded. Lock held. */
static void inode_grow_locked(struct inode_table *t)
{
	size_t nb = t->nbuckets * 2;
	struct inode **bi = calloc(nb, sizeof(*bi));
	struct inode **bd = calloc(nb, sizeof(*bd));

	if (!bi || !bd) {
		free(bi);
		free(bd);
		return; /* keep the old, longer chains */
	}
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct inode *n = t->by_ino[i], *next;

		for (; n; n = next) {
			size_t hi = inode_hash_ino(n->ino) % nb;
			size_t hd = inode_hash_id(n->kind, n->cid, n->id) % nb;

			next = n->next_ino;
			n->next_ino = bi[hi];
			bi[hi] = n;
			n->next_id = bd[hd];
			bd[hd] = n;
		}
	}
	free(t->by_ino);
	free(t->by_id);
	t->by_ino = bi;
	t->by_id = bd;
	t->nbuckets = nb;
}

static struct inode *inode_by_id_locked(struct inode_table *t,
					enum node_kind kind, const char *cid,
					const char *id)
{
	struct inode *n = t->by_id[inode_hash_id(kind, cid, id) % t->nbuckets];

	while (n && !(n->kind == kind && strcmp(n->id, id) == 0 &&
		      strcmp(n->cid, cid) == 0))
		n = n->next_id;
	return n;
}

uint64_t inode_lookup(struct inode_table *t, enum node_kind kind,
		      const char *cid, const char *id)
{
	struct inode *n;
	uint64_t ino;

	pthread_mutex_lock(&t->lock);
	n = inode_by_id_locked(t, kind, cid ? cid : "", id ? id : "");
	ino = n ? n->ino : 0;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

/* What inode_versions() does to an inode's page-cache versions. */
enum inode_vop {
	INODE_SET_SHOWN,  /* shown = version; the old one back */
	INODE_GET_SHOWN,  /* shown */
	INODE_PAGE_OPEN,  /* paged = version; 1 if it was that already */
	INODE_PAGE_CHECK, /* 1 if paged is version, else paged = 0 */
};

/* op on the versions of ino, under t->lock; 0 when there is no such inode. */
static uint64_t inode_versions(struct inode_table *t, uint64_t ino,
			       enum inode_vop op, uint64_t version)
{
	struct inode *n;
	uint64_t r = 0;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n && (op == INODE_SET_SHOWN || op == INODE_GET_SHOWN)) {
		r = n->shown;
		if (op == INODE_SET_SHOWN)
			n->shown = version;
	} else if (n) {
		r = n->paged == version;
		if (op == INODE_PAGE_OPEN || !r)
			n->paged = op == INODE_PAGE_OPEN ? version : 0;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

uint64_t inode_set_shown(struct inode_table *t, uint64_t ino, uint64_t version)
{
	return inode_versions(t, ino, INODE_SET_SHOWN, version);
}

uint64_t inode_shown(struct inode_table *t, uint64_t ino)
{
	return inode_versions(t, ino, INODE_GET_SHOWN, 0);
}

int inode_page_open(struct inode_table *t, uint64_t ino, uint64_t version)
{
	return (int)inode_versions(t, ino, INODE_PAGE_OPEN, version);
}

int inode_page_check(struct inode_table *t, uint64_t ino, uint64_t version)
{
	return (int)inode_versions(t, ino, INODE_PAGE_CHECK, version);
}

uint64_t inode_get(struct inode_table *t, enum node_kind kind, const char *cid,
		   const char *id, uint64_t nlookup)
{
	struct inode *n;
	uint64_t ino = 0;
	size_t h;

	cid = cid ? cid : "";
	id = id ? id : "";
	pthread_mutex_lock(&t->lock);
	h = inode_hash_id(kind, cid, id) % t->nbuckets;
	n = inode_by_id_locked(t, kind, cid, id);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n || !(n->cid = strdup(cid)) || !(n->id = strdup(id))) {
			if (n)
				inode_free_one(n);
			goto out;
		}
		n->kind = kind;
		n->pinned = node_of(kind)->pinned;
		n->ino = kind == NODE_ROOT ? INODE_ROOT : ++t->next;
		n->next_id = t->by_id[h];
		t->by_id[h] = n;
		h = inode_hash_ino(n->ino) % t->nbuckets;
		n->next_ino = t->by_ino[h];
		t->by_ino[h] = n;
		t->count++;
		t->scratch += node_is_scratch(kind) ? 1 : 0;
		if (t->count > t->nbuckets * 2)
			inode_grow_locked(t);
	}
	n->nlookup += nlookup;
	ino = n->ino;
out:
	pthread_mutex_unlock(&t->lock);
	return ino;
}

static struct inode *inode_by_ino_locked(struct inode_table *t, uint64_t ino)
{
	struct inode *n = t->by_ino[inode_hash_ino(ino) % t->nbuckets];

	while (n && n->ino != ino)
		n = n->next_ino;
	return n;
}

int inode_ref(struct inode_table *t, uint64_t ino, uint64_t n)
{
	struct inode *node;

	pthread_mutex_lock(&t->lock);
	node = inode_by_ino_locked(t, ino);
	if (node)
		node->nlookup += n;
	pthread_mutex_unlock(&t->lock);
	return node ? 0 : -ENOENT;
}

int inode_find(struct inode_table *t, uint64_t ino, struct node_id *out)
{
	struct inode *n;
	int rc = -ENOENT;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n) {
		out->kind = n->kind;
		out->cid = strdup(n->cid);
		out->id = strdup(n->id);
		rc = out->cid && out->id ? 0 : -ENOMEM;
		if (rc < 0)
			node_id_release(out);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static void inode_unlink_locked(struct inode_table *t, struct inode *n)
{
	struct inode **p;

	p = &t->by_ino[inode_hash_ino(n->ino) % t->nbuckets];
	while (*p != n)
		p = &(*p)->next_ino;
	*p = n->next_ino;
	p = &t->by_id[inode_hash_id(n->kind, n->cid, n->id) % t->nbuckets];
	while (*p != n)
		p = &(*p)->next_id;
	*p = n->next_id;
	t->count--;
	t->scratch -= node_is_scratch(n->kind) ? 1 : 0;
}

/* Free n when nothing refers to it any more. Lock held. */
static void inode_maybe_free_locked(struct inode_table *t, struct inode *n)
{
	if (n->nlookup == 0 && n->holds == 0 && !n->pinned) {
		inode_unlink_locked(t, n);
		inode_free_one(n);
	}
}

enum node_kind inode_forget(struct inode_table *t, uint64_t ino,
			    uint64_t nlookup)
{
	enum node_kind zero = NODE_NONE;
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n && n->nlookup) {
		n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
		if (n->nlookup == 0)
			zero = n->kind;
		inode_maybe_free_locked(t, n);
	}
	pthread_mutex_unlock(&t->lock);
	return zero;
}

/* Apply one writer event to ino (delta: +1 open, -1 close, 0 size only). */
static void inode_write_event(struct inode_table *t, uint64_t ino, int delta,
			      off_t size)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n && delta < 0 && n->writers > 0)
		n->writers--;
	else if (n && delta > 0)
		n->writers++;
	if (n && delta >= 0) {
		n->wsize = size;
		clock_gettime(CLOCK_REALTIME, &n->wmtime);
	}
	if (n && n->releasing) {
		n->releasing = 0;
		pthread_cond_broadcast(&t->released);
	}
	pthread_mutex_unlock(&t->lock);
}

void inode_write_releasing(struct inode_table *t, uint64_t ino)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n && n->writers > 0)
		n->releasing = 1;
	pthread_mutex_unlock(&t->lock);
}

void inode_wait_released(struct inode_table *t, uint64_t ino, int ms)
{
	struct timespec until;
	struct inode *n;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	while ((n = inode_by_ino_locked(t, ino)) && n->releasing)
		if (pthread_cond_timedwait(&t->released, &t->lock, &until))
			break;
	pthread_mutex_unlock(&t->lock);
}

void inode_write_open(struct inode_table *t, uint64_t ino, off_t size)
{
	inode_write_event(t, ino, 1, size);
}

void inode_write_size(struct inode_table *t, uint64_t ino, off_t size)
{
	inode_write_event(t, ino, 0, size);
}

void inode_write_close(struct inode_table *t, uint64_t ino)
{
	inode_write_event(t, ino, -1, 0);
}

int inode_written(struct inode_table *t, uint64_t ino, off_t *size,
		  struct timespec *mtime)
{
	struct inode *n;
	int open = 0;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n && n->writers > 0) {
		open = 1;
		*size = n->wsize;
		*mtime = n->wmtime;
	}
	pthread_mutex_unlock(&t->lock);
	return open;
}

int inode_hold(struct inode_table *t, uint64_t ino)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n)
		n->holds++;
	pthread_mutex_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

void inode_drop(struct inode_table *t, uint64_t ino)
{
	struct inode *n;

	pthread_mutex_lock(&t->lock);
	n = inode_by_ino_locked(t, ino);
	if (n && n->holds) {
		n->holds--;
		inode_maybe_free_locked(t, n);
	}
	pthread_mutex_unlock(&t->lock);
}

void inode_each_scratch(struct inode_table *t,
			void (*fn)(void *ctx, uint64_t ino,
				   enum node_kind kind),
			void *ctx)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; t->scratch && i < t->nbuckets; i++)
		for (struct inode *n = t->by_ino[i]; n; n = n->next_ino)
			if (node_is_scratch(n->kind))
				fn(ctx, n->ino, n->kind);
	pthread_mutex_unlock(&t->lock);
}

uint64_t inode_count(struct inode_table *t)
{
	uint64_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

void inode_each(struct inode_table *t,
		void (*fn)(void *ctx, uint64_t ino, enum node_kind kind),
		void *ctx)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->nbuckets; i++)
		for (struct inode *n = t->by_ino[i]; n; n = n->next_ino)
			fn(ctx, n->ino, n->kind);
	pthread_mutex_unlock(&t->lock);
}
