/*
 * scratch.h - files that exist only inside the mount: temporary names that
 * editors and copy tools make (vim swap files and its 4913 probe, backups,
 * sed -i, rsync and GIO temp files), and new resources being written that
 * are not on the server yet (pending). Their bytes live in private spool
 * files (unlinked at creation, so nothing is left on disk after a crash).
 *
 * Owns: the table of local nodes, keyed by (directory kind, collection id,
 * name) and by inode number, and each node's spool fd. Never talks to the
 * API: committing a local file to the server is change.c's job.
 *
 * Threads: every function is thread safe; l->lock guards the table and is
 * never held across I/O other than making, sizing (fstat, ftruncate) and
 * closing a spool. It comes
 * before the inode table lock (scratch_create() counts a lookup under it);
 * the order of every lock: tree.h, "Lock order".
 *
 * Ownership: scratch_get() fills a struct scratch_info with copies (free with
 * scratch_info_release()); scratch_open_fd() returns a dup'd fd the caller
 * closes.
 */
#ifndef XAIFS_SCRATCH_H
#define XAIFS_SCRATCH_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "inode.h"

struct scratch;

struct scratch_info {
	uint64_t ino;
	enum node_kind dir; /* NODE_KEYS_DIR or NODE_DOCS_DIR */
	char *cid;	    /* collection id ("" for keys) */
	char *name;
	int pending; /* a new resource to create on the server */
	off_t size;
	struct timespec mtime;
	/* NODE_NONE, or the kind of the resource it became */
	enum node_kind redirect;
	char *redirect_id; /* that resource's id, or NULL */
};

void scratch_info_release(struct scratch_info *i);

/*
 * Whether name is a temporary name that stays local: it starts with '.'
 * (swap files, rsync and GIO temp files, hidden files), ends with '~'
 * (backups), is all digits (vim's 4913 probe), is #...# or .#... (emacs),
 * or is "sed" followed by six letters/digits (sed -i).
 */
int scratch_is_temp_name(const char *name);

struct scratch *scratch_new(struct inode_table *t, const char *tmpdir);
void scratch_free(struct scratch *l);

/*
 * Make a new, empty local file name in directory (dir, cid). Its inode has
 * one kernel lookup counted. Returns 0, -EEXIST, -ENOMEM or a spool error.
 */
int scratch_create(struct scratch *l, enum node_kind dir, const char *cid,
		   const char *name, int pending, struct scratch_info *out);

/* Find by name / by inode. Returns 0 or -ENOENT. */
int scratch_get(struct scratch *l, enum node_kind dir, const char *cid,
		const char *name, struct scratch_info *out);
int scratch_get_ino(struct scratch *l, uint64_t ino, struct scratch_info *out);

/* A new fd on the node's spool (read-write). Returns fd or -errno. */
int scratch_open_fd(struct scratch *l, uint64_t ino);

/* Remove a name (its spool lives on in fds already open). Returns 0 or -ENOENT.
 */
int scratch_remove(struct scratch *l, enum node_kind dir, const char *cid,
		   const char *name);
int scratch_remove_ino(struct scratch *l, uint64_t ino);

/* Rename within one directory, replacing a local target. Returns 0 or -ENOENT. */
int scratch_rename(struct scratch *l, enum node_kind dir, const char *cid,
		   const char *from, const char *to);

/*
 * The local file became a server resource (kind, id): its name leaves the
 * directory (lookups now find the resource), but its inode stays usable and
 * resolves to the resource until the kernel forgets it. Returns 0 or -ENOENT.
 */
int scratch_redirect(struct scratch *l, uint64_t ino, enum node_kind kind,
		     const char *id);

/* Set mtime (utimens). */
void scratch_set_mtime(struct scratch *l, uint64_t ino,
		       const struct timespec *t);

/*
 * The "user.xai.fields" value set on a local file (compact JSON, see
 * model_fields.h), kept with the file through renames and dropped with it
 * or when it becomes a resource (scratch_redirect()). set: fields NULL
 * clears; get: *out is a copy (free()), NULL when none was set. Both
 * return 0, -ENOENT (no such local file, or it became a resource) or
 * -ENOMEM.
 */
int scratch_set_fields(struct scratch *l, uint64_t ino, const char *fields);
int scratch_get_fields(struct scratch *l, uint64_t ino, char **out);

/*
 * The names in directory (dir, cid), for readdir: *names is a malloc'd array
 * of malloc'd strings (free each, then the array), *inos their inodes.
 * Returns the count, or -ENOMEM.
 */
long scratch_list(struct scratch *l, enum node_kind dir, const char *cid,
		  char ***names, uint64_t **inos);

#endif
