/* fsops.c - FUSE low-level operations: decode, call ns, reply once; see fsops.h. */
#include "fsops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log.h"

#define FSOPS_DIRBUF_MAX (128 * 1024)

static struct fsops *fsops_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void fsops_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	/* We own no page cache invalidation policy tied to mtimes. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

static void fsops_entry_param(const struct ns_entry *e, struct fuse_entry_param *p)
{
	memset(p, 0, sizeof(*p));
	p->ino = e->ino;
	p->attr = e->st;
	p->attr_timeout = e->attr_ttl;
	p->entry_timeout = e->entry_ttl;
}

static void fsops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *fs = fsops_of(req);
	struct fuse_entry_param p;
	struct ns_entry e;
	int rc;

	rc = ns_lookup(fs->ns, parent, name, &e);
	if (rc == -ENOENT) {
		/* A negative entry: the kernel remembers the miss for a while. */
		memset(&p, 0, sizeof(p));
		p.entry_timeout = ns_is_probe(name) ? 3600 : fs->negative_ttl;
		fuse_reply_entry(req, &p);
		return;
	}
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fsops_entry_param(&e, &p);
	if (fuse_reply_entry(req, &p) != 0)
		ns_forget(fs->ns, e.ino, 1);
}

static void fsops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	ns_forget(fsops_of(req)->ns, ino, nlookup);
	fuse_reply_none(req);
}

static void fsops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	struct fsops *fs = fsops_of(req);

	for (size_t i = 0; i < count; i++)
		ns_forget(fs->ns, f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void fsops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ns_entry e;
	int rc = ns_getattr(fsops_of(req)->ns, ino, &e);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &e.st, e.attr_ttl);
}

static void fsops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ns_dir *d = NULL;
	int rc = ns_opendir(fsops_of(req)->ns, ino, &d);

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		ns_closedir(d);
}

/*
 * Offsets: 1 after ".", 2 after "..", 3 + i after entry i.
 * With plus, each entry that fits carries a counted lookup; one that does
 * not fit has its lookup given back.
 */
static void fsops_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
				 struct fuse_file_info *fi, int plus)
{
	struct fsops *fs = fsops_of(req);
	struct ns_dir *d = (struct ns_dir *)(uintptr_t)fi->fh;
	size_t cap = size < FSOPS_DIRBUF_MAX ? size : FSOPS_DIRBUF_MAX, used = 0;
	char *buf = malloc(cap);
	int rc = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t o = off; ; o++) {
		struct fuse_entry_param p;
		struct ns_entry e;
		const char *name;
		size_t need;

		memset(&e, 0, sizeof(e));
		if (o == 0 || o == 1) {
			name = o == 0 ? "." : "..";
			e.st.st_mode = S_IFDIR;
			e.st.st_ino = o == 0 ? ino : FUSE_ROOT_ID;
		} else if ((size_t)(o - 2) >= ns_dir_count(d)) {
			break;
		} else {
			rc = ns_dir_entry(fs->ns, d, (size_t)(o - 2), plus, &name, &e);
			if (rc < 0)
				break;
		}
		if (plus) {
			fsops_entry_param(&e, &p);
			if (o < 2)
				p.attr = e.st;
			need = fuse_add_direntry_plus(req, buf + used, cap - used, name, &p, o + 1);
		} else {
			need = fuse_add_direntry(req, buf + used, cap - used, name, &e.st, o + 1);
		}
		if (need > cap - used) {
			if (plus && e.ino)
				ns_forget(fs->ns, e.ino, 1);
			break;
		}
		used += need;
	}
	if (rc < 0 && used == 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void fsops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			  struct fuse_file_info *fi)
{
	fsops_readdir_common(req, ino, size, off, fi, 0);
}

static void fsops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			      struct fuse_file_info *fi)
{
	fsops_readdir_common(req, ino, size, off, fi, 1);
}

static void fsops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	ns_closedir((struct ns_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fsops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct ns_file *f = NULL;
	int rc;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	rc = ns_open(fs->ns, ino, fi->flags, &f);
	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = f->direct_io;
	fi->keep_cache = 0;
	if (fuse_reply_open(req, fi) != 0)
		ns_release(f);
}

static void fsops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct ns_file *f = (struct ns_file *)(uintptr_t)fi->fh;
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (f->fd < 0) {
		size_t n = (size_t)off >= f->len ? 0 : f->len - (size_t)off;

		fuse_reply_buf(req, f->data + (n ? off : 0), n < size ? n : size);
		return;
	}
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = f->fd;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void fsops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	ns_release((struct ns_file *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void fsops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs s;

	/* There is no quota to report: a large free space lets file managers copy. */
	memset(&s, 0, sizeof(s));
	s.f_bsize = 4096;
	s.f_frsize = 4096;
	s.f_blocks = 1ull << 30;
	s.f_bfree = 1ull << 30;
	s.f_bavail = 1ull << 30;
	s.f_files = 1u << 20;
	s.f_ffree = 1u << 20;
	s.f_favail = 1u << 20;
	s.f_namemax = 255;
	fuse_reply_statfs(req, &s);
}

/* ---- changes: not in this version ---- */

static void fsops_erofs(fuse_req_t req)
{
	fuse_reply_err(req, EROFS);
}

static void fsops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			  struct fuse_file_info *fi)
{
	fsops_erofs(req);
}

static void fsops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			dev_t rdev)
{
	fsops_erofs(req);
}

static void fsops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fsops_erofs(req);
}

static void fsops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fsops_erofs(req);
}

static void fsops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	fsops_erofs(req);
}

static void fsops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	fsops_erofs(req);
}

static void fsops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	fsops_erofs(req);
}

static void fsops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			 struct fuse_file_info *fi)
{
	fsops_erofs(req);
}

const struct fuse_lowlevel_ops fsops_ops = {
	.init = fsops_init,
	.lookup = fsops_lookup,
	.forget = fsops_forget,
	.forget_multi = fsops_forget_multi,
	.getattr = fsops_getattr,
	.setattr = fsops_setattr,
	.mknod = fsops_mknod,
	.mkdir = fsops_mkdir,
	.unlink = fsops_unlink,
	.rmdir = fsops_unlink,
	.symlink = fsops_symlink,
	.rename = fsops_rename,
	.link = fsops_link,
	.open = fsops_open,
	.read = fsops_read,
	.release = fsops_release,
	.opendir = fsops_opendir,
	.readdir = fsops_readdir,
	.readdirplus = fsops_readdirplus,
	.releasedir = fsops_releasedir,
	.statfs = fsops_statfs,
	.create = fsops_create,
};
