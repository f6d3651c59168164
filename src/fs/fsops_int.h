/*
 * fsops_int.h - what fsops.c (the operations table, lookups, attributes,
 * directories, reads and writes) and fsops_change.c (changes to names and
 * attributes, extended attributes) share; never included outside them.
 * Rules of fsops.h: one reply per request.
 */
#ifndef XAIFS_FSOPS_INT_H
#define XAIFS_FSOPS_INT_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "fsops.h"

/*
 * An open file or directory: a read snapshot (tree), a write handle (change) or
 * a directory snapshot. Every handle is on fs->handles from just before its
 * reply until RELEASE/RELEASEDIR, so the ones the kernel never released (a
 * SIGTERM or an unmount while files were open) are freed by fsops_stop().
 */
struct fsops_fh {
	/* read-only open; its first read may replace it (tree_reopen_shown()),
	 * the one replaced kept in rf_before until release */
	struct tree_file *rf;
	struct tree_file *rf_before;
	int read_once; /* atomic: a read was served */
	struct change_file *wf;
	struct tree_dir *dir;
	struct fsops_fh *prev, *next; /* fs->handles; fs->lock */
};

/*
 * A name longer than a file name may be (NAME_MAX: 255 bytes) is refused
 * with -ENAMETOOLONG before anything is looked up or sent: FUSE leaves the
 * check to the file system (it passes names up to 1,024 bytes).
 */
static inline int fsops_name_ok(const char *name)
{
	return strlen(name) > 255 ? -ENAMETOOLONG : 0;
}

/* The mount's state, from a request. */
static inline struct fsops *fsops_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The handle behind fi->fh. */
static inline struct fsops_fh *fsops_fh_of(struct fuse_file_info *fi)
{
	return (struct fsops_fh *)(uintptr_t)fi->fh;
}

/* A FUSE entry reply from a tree entry. */
static inline void fsops_entry_param(const struct tree_entry *e,
				     struct fuse_entry_param *p)
{
	memset(p, 0, sizeof(*p));
	p->ino = e->ino;
	p->attr = e->st;
	p->attr_timeout = e->attr_ttl;
	p->entry_timeout = e->entry_ttl;
}

/*
 * The one reply to a request that made or found entry e (rc: its result):
 * the error, or the entry; an entry the kernel did not take is forgotten.
 */
static inline void fsops_reply_entry(struct fsops *fs, fuse_req_t req, int rc,
				     const struct tree_entry *e)
{
	struct fuse_entry_param p;

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fsops_entry_param(e, &p);
	if (fuse_reply_entry(req, &p) != 0)
		tree_forget(fs->tree, e->ino, 1);
}

/* fsops_change.c: the operations of struct fuse_lowlevel_ops of the same names.
 */
void fsops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi);
void fsops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev);
void fsops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name);
void fsops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname);
void fsops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode);
void fsops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void fsops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fsops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname,
		  unsigned int flags);
void fsops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size);
void fsops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void fsops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags);
void fsops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
