/*
 * fsops_change.c - the FUSE operations that change names and attributes
 * (setattr, mkdir, unlink, rmdir, rename; mknod and links refused) and the
 * extended attribute ones: decode, call change or xattr, reply once. See
 * fsops.h; the operations table is in fsops.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "change_fields.h"
#include "fsops_int.h"
#include "xattr.h"

/* ---- changes ---- */

void fsops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		   int to_set, struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct fsops_fh *h = fi ? fsops_fh_of(fi) : NULL;
	struct tree_entry e;
	int rc;

	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &attr->st_mtim);
	/* Modes, owners and atimes mean nothing to the API: accepted, ignored. */
	rc = change_setattr(
		fs->change, ino, h ? h->wf : NULL, attr,
		!!(to_set & FUSE_SET_ATTR_SIZE),
		!!(to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)),
		&e);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &e.st, e.attr_ttl);
}

/* Special files, symbolic and hard links have no place in the API. */
static int fsops_refused(fuse_req_t req, const char *name)
{
	if (fsops_name_ok(name) < 0)
		return ENAMETOOLONG;
	return fsops_of(req)->read_only ? EROFS : EPERM;
}

void fsops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, fsops_refused(req, name));
}

void fsops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		   const char *name)
{
	fuse_reply_err(req, fsops_refused(req, name));
}

void fsops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		const char *newname)
{
	fuse_reply_err(req, fsops_refused(req, newname));
}

void fsops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		 mode_t mode)
{
	struct fsops *fs = fsops_of(req);
	struct tree_entry e;
	int rc = fsops_name_ok(name);

	if (rc == 0)
		rc = change_mkdir(fs->change, parent, name, &e);

	fsops_reply_entry(fs, req, rc, &e);
}

void fsops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc = fsops_name_ok(name);

	if (rc == 0)
		rc = change_unlink(fsops_of(req)->change, parent, name);
	fuse_reply_err(req, -rc);
}

void fsops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc = fsops_name_ok(name);

	if (rc == 0)
		rc = change_rmdir(fsops_of(req)->change, parent, name);
	fuse_reply_err(req, -rc);
}

void fsops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		  fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	int rc = fsops_name_ok(name);

	if (rc == 0)
		rc = fsops_name_ok(newname);
	if (rc == 0)
		rc = change_rename(fsops_of(req)->change, parent, name,
				   newparent, newname, flags);
	fuse_reply_err(req, -rc);
}

/* ---- extended attributes ---- */

/* Reply with a value or a list: its size when size is 0, ERANGE when too small.
 */
static void fsops_reply_xattr(fuse_req_t req, int rc, const char *val,
			      size_t len, size_t size)
{
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, val, len);
}

void fsops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    size_t size)
{
	char *val = NULL;
	size_t len = 0;
	int rc = strcmp(name, CHANGE_FIELDS_XATTR) == 0
			 ? change_fields_get(fsops_of(req)->change, ino, &val,
					     &len)
			 : xattr_get(fsops_of(req)->tree, ino, name, &val,
				     &len);

	fsops_reply_xattr(req, rc, val, len, size);
	free(val);
}

/* Append name (with its NUL) to a listxattr list. */
static int fsops_list_add(char **list, size_t *len, const char *name)
{
	size_t n = strlen(name) + 1;
	char *p = realloc(*list, *len + n);

	if (!p)
		return -ENOMEM;
	memcpy(p + *len, name, n);
	*list = p;
	*len += n;
	return 0;
}

void fsops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *val = NULL;
	size_t len = 0;
	int rc = xattr_list(fsops_of(req)->tree, ino, &val, &len);

	if (rc == 0 && change_fields_shown(fsops_of(req)->change, ino))
		rc = fsops_list_add(&val, &len, CHANGE_FIELDS_XATTR);
	fsops_reply_xattr(req, rc, val, len, size);
	free(val);
}

void fsops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		    const char *value, size_t size, int flags)
{
	fuse_reply_err(req, -change_setxattr(fsops_of(req)->change, ino, name,
					     value, size));
}

void fsops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	if (strcmp(name, CHANGE_FIELDS_XATTR) == 0)
		fuse_reply_err(
			req, -change_fields_remove(fsops_of(req)->change, ino));
	else
		fuse_reply_err(req, ENOTSUP);
}
