/*
 * reslist.h - resources and resource lists: the plain C form of what the API
 * lists.
 *
 * Owns: struct res (one API key, model, collection or document) and struct
 * reslist (an ordered list of them with a name index and an id index).
 *
 * Depends on nothing but libc. model.c fills lists, names.c gives every entry
 * its display name and builds the indexes; cache.c shares finished lists
 * between threads.
 *
 * Ownership: a reslist owns its entries and every string in them. Lists are
 * reference counted: reslist_new() returns a list with one reference;
 * reslist_ref()/reslist_unref() are thread safe (atomic). A list is mutable
 * only while its creator holds the single reference; once shared (after
 * names_assign() and handing it to the cache) it is read-only, so readers need
 * no lock.
 */
#ifndef XAIFS_RESLIST_H
#define XAIFS_RESLIST_H

#include <stddef.h>
#include <stdint.h>

struct res {
	char *id; /* apiKeyId, model name, collection_id or file_id; never NULL */
	char *raw_name; /* the name as the server sent it ("" when missing);
			   never NULL */
	char *name;    /* display name (file name); NULL until names_assign() */
	int64_t mtime; /* seconds since the epoch; 0 when unknown */
	int64_t size;  /* documents: size in bytes; -1 for everything else */
	int64_t count; /* collections: documents_count; 0 otherwise */
	char *json; /* pretty-printed JSON ending in '\n'; owned; never NULL */
	char *hash; /* documents: content hash (sha256 hex) or NULL; owned */
	size_t json_len; /* strlen(json) */
};

struct reslist_index;

struct reslist {
	size_t n;		       /* entries in use */
	size_t cap;		       /* allocated entries */
	struct res *v;		       /* entries, in server order */
	struct reslist_index *by_name; /* built by reslist_index_build() */
	struct reslist_index *by_id;
	/*
	 * Hashes of entry i's display name and id at [2i] and [2i+1], set by
	 * reslist_index_build() and handed on with borrowed entries, so a
	 * list changed by one entry hashes one entry, not all of them.
	 */
	uint64_t *hashes;
	int refs; /* atomic reference count */
	/*
	 * A list made from another by a few changes (cache write-through)
	 * shares the strings of the entries it did not change: borrowed[i]
	 * says entry i's strings (display name included) belong to donor, or
	 * to donor's own donor; the list holds a reference on donor and never
	 * frees them. depth is the length of that chain (0: owns everything).
	 */
	struct reslist *donor;
	unsigned char *borrowed; /* cap bytes, or NULL: nothing borrowed */
	unsigned depth;
	int names_plain; /* every display name is the server name (names.h) */
};

/* New empty list with one reference. NULL on ENOMEM. */
struct reslist *reslist_new(void);

/* Take another reference; returns l. NULL-safe. */
struct reslist *reslist_ref(struct reslist *l);

/* Drop a reference; the last one frees the list. NULL-safe. */
void reslist_unref(struct reslist *l);

/*
 * Append an entry; the list takes ownership of every string in *r (also on
 * failure, when they are freed) and *r is zeroed on success. r->id and
 * r->json must not be NULL (else -EINVAL); a NULL raw_name becomes "".
 * json_len is recomputed. Appending drops the indexes (lookups then scan
 * until reslist_index_build() runs again). Returns 0, -EINVAL or -ENOMEM.
 */
int reslist_append(struct reslist *l, struct res *r);

/*
 * Make l borrow strings from donor (takes a reference on donor; l must be
 * new and empty), then append shallow copies of donor's entries, or of
 * entries donor borrowed itself, with reslist_append_borrowed(): they keep
 * their display names. names_assign() must not be run on such a list (it
 * replaces names); reslist_index_build() must. Returns 0 or -ENOMEM.
 */
int reslist_borrow_from(struct reslist *l, struct reslist *donor);
int reslist_append_borrowed(struct reslist *l, const struct res *r);

/* Room for n entries in all, so that appending that many allocates nothing.
 * Returns 0 or -ENOMEM. */
int reslist_reserve(struct reslist *l, size_t n);

/* Free the strings of one entry (not the entry itself). */
void res_release(struct res *r);

/*
 * A deep copy of src in dst, without the display name (names_assign() gives
 * it). Returns 0 or -ENOMEM (then dst holds nothing).
 */
int res_copy(const struct res *src, struct res *dst);

/*
 * Build (or rebuild) the name and id indexes. Every entry should have a name
 * (entries without one are left out of the name index). For equal keys the
 * first entry in list order is found. Returns 0 or -ENOMEM (then no index).
 */
int reslist_index_build(struct reslist *l);

/*
 * Look up by display name / by id. Borrowed pointer valid while l is. NULL if
 * none. Without an index (not built, or dropped by an append) they scan.
 */
const struct res *reslist_by_name(const struct reslist *l, const char *name);
const struct res *reslist_by_id(const struct reslist *l, const char *id);

/*
 * Whether entry i of l has the id id, whose reslist_hash() is h. An indexed
 * list compares the hash it keeps first, so a pass over every entry reads no
 * id string but the ones that match.
 */
uint64_t reslist_hash(const char *s);
int reslist_id_is(const struct reslist *l, size_t i, const char *id,
		  uint64_t h);

#endif
