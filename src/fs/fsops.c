/* fsops.c - FUSE low-level operations: decode, call tree, reply once; see
 * fsops.h. */
#include "fsops.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "kernel_cache.h"
#include "log.h"
#include "fsops_int.h"

#define FSOPS_DIRBUF_MAX (128 * 1024)
#define FSOPS_MAX_IO (1024 * 1024) /* bytes per READ or WRITE request at most */

static void fsops_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	/* O_TRUNC arrives with open(), so a truncating open is one request. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* We own no page cache invalidation policy tied to mtimes. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/*
	 * 1 MiB requests: libfuse 3.14 caps max_write at its buffer (256
	 * pages) and asks the kernel for as many pages per request
	 * (FUSE_MAX_PAGES, Linux 4.20+), which reads use too. Readahead asks
	 * for as much; the kernel keeps the smaller of it and its own limit.
	 */
	conn->max_write = FSOPS_MAX_IO;
	conn->max_readahead = FSOPS_MAX_IO;
}

static void fsops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops *fs = fsops_of(req);
	struct fuse_entry_param p;
	struct tree_entry e;
	int rc;

	rc = fsops_name_ok(name);
	if (rc == 0)
		rc = tree_lookup(fs->tree, parent, name, &e);
	if (rc == -ENOENT) {
		/* A negative entry: the kernel remembers the miss for a while. */
		memset(&p, 0, sizeof(p));
		p.entry_timeout = tree_is_probe(name)
					  ? 3600
					  : kernel_cache_miss(fs->kc, parent,
							      name,
							      fs->negative_ttl);
		fuse_reply_entry(req, &p);
		return;
	}
	fsops_reply_entry(fs, req, rc, &e);
}

static void fsops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	tree_forget(fsops_of(req)->tree, ino, nlookup);
	fuse_reply_none(req);
}

static void fsops_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *f)
{
	struct fsops *fs = fsops_of(req);

	for (size_t i = 0; i < count; i++)
		tree_forget(fs->tree, f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void fsops_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct tree_entry e;
	int rc = tree_getattr(fsops_of(req)->tree, ino, &e);

	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &e.st, e.attr_ttl);
}

static void fsops_track(struct fsops *fs, struct fsops_fh *h)
{
	if (!fs->tracking)
		return;
	pthread_mutex_lock(&fs->lock);
	h->prev = NULL;
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->lock);
}

static void fsops_untrack(struct fsops *fs, struct fsops_fh *h)
{
	if (!fs->tracking)
		return;
	pthread_mutex_lock(&fs->lock);
	if (h->prev)
		h->prev->next = h->next;
	else if (fs->handles == h)
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	pthread_mutex_unlock(&fs->lock);
}

/* Free a handle that is off the list; commit=0 frees a write handle without
 * committing. */
static void fsops_fh_free(struct fsops *fs, struct fsops_fh *h, int commit)
{
	if (!h)
		return;
	tree_release(h->rf);
	tree_release(h->rf_before);
	tree_closedir(h->dir);
	if (h->wf && commit)
		change_release(fs->change, h->wf);
	else if (h->wf)
		change_abandon(fs->change, h->wf);
	free(h);
}

static void fsops_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct fsops_fh *h = calloc(1, sizeof(*h));
	int rc = h ? tree_opendir(fs->tree, ino, &h->dir) : -ENOMEM;

	if (rc < 0) {
		free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fsops_track(fs, h);
	if (fuse_reply_open(req, fi) != 0) {
		fsops_untrack(fs, h);
		fsops_fh_free(fs, h, 1);
	}
}

/*
 * Offsets: 1 after ".", 2 after "..", 3 + i after entry i.
 * With plus, each entry that fits carries a counted lookup; one that does
 * not fit has its lookup given back.
 */
static void fsops_readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size,
				 off_t off, struct fuse_file_info *fi, int plus)
{
	struct fsops *fs = fsops_of(req);
	struct tree_dir *d = fsops_fh_of(fi)->dir;
	size_t cap = size < FSOPS_DIRBUF_MAX ? size : FSOPS_DIRBUF_MAX,
	       used = 0;
	char *buf = malloc(cap);
	int rc = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t o = off;; o++) {
		struct fuse_entry_param p;
		struct tree_entry e;
		const char *name;
		size_t need;

		memset(&e, 0, sizeof(e));
		if (o == 0 || o == 1) {
			name = o == 0 ? "." : "..";
			e.st.st_mode = S_IFDIR;
			e.st.st_ino = o == 0 ? ino : FUSE_ROOT_ID;
		} else if ((size_t)(o - 2) >= tree_dir_count(d)) {
			break;
		} else {
			rc = tree_dir_entry(fs->tree, d, (size_t)(o - 2), plus,
					    &name, &e);
			if (rc < 0)
				break;
		}
		if (plus) {
			fsops_entry_param(&e, &p);
			if (o < 2)
				p.attr = e.st;
			need = fuse_add_direntry_plus(
				req, buf + used, cap - used, name, &p, o + 1);
		} else {
			need = fuse_add_direntry(req, buf + used, cap - used,
						 name, &e.st, o + 1);
		}
		if (need > cap - used) {
			if (plus && e.ino)
				tree_forget(fs->tree, e.ino, 1);
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

static void fsops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	fsops_readdir_common(req, ino, size, off, fi, 0);
}

static void fsops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	fsops_readdir_common(req, ino, size, off, fi, 1);
}

static void fsops_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);

	fsops_untrack(fs, fsops_fh_of(fi));
	fsops_fh_free(fs, fsops_fh_of(fi), 1);
	fuse_reply_err(req, 0);
}

static void fsops_reply_handle(fuse_req_t req, struct fuse_file_info *fi,
			       struct fsops_fh *h,
			       const struct fuse_entry_param *e)
{
	struct fsops *fs = fsops_of(req);
	int sent;

	fi->fh = (uint64_t)(uintptr_t)h;
	/* Write handles bypass the page cache; read handles as tree decided
	 * (tree.h). */
	fi->direct_io = h->wf ? 1 : h->rf->direct_io;
	fi->keep_cache = h->rf ? h->rf->keep_cache : 0;
	/* Closing a read handle commits nothing: spare the kernel a FLUSH. */
	fi->noflush = !h->wf;
	fsops_track(fs, h);
	sent = e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi);
	if (sent != 0) {
		fsops_untrack(fs, h);
		fsops_fh_free(fs, h, 1);
	}
}

static void fsops_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct fsops_fh *h = calloc(1, sizeof(*h));
	int rc;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (change_wants_write(fi->flags))
		rc = fs->read_only
			     ? -EROFS
			     : change_open(fs->change, ino, fi->flags, &h->wf);
	else
		rc = tree_open(fs->tree, ino, fi->flags, &h->rf);
	if (rc < 0) {
		free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	fsops_reply_handle(req, fi, h, NULL);
}

static void fsops_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct fsops_fh *h = calloc(1, sizeof(*h));
	struct fuse_entry_param p;
	struct tree_entry e;
	int rc;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = fsops_name_ok(name);
	if (rc == 0)
		rc = fs->read_only ? -EROFS
				   : change_create(fs->change, parent, name,
						   fi->flags, &e, &h->wf);
	if (rc < 0) {
		free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	fsops_entry_param(&e, &p);
	fsops_reply_handle(req, fi, h, &p);
}

/*
 * Reply with bytes of a JSON snapshot. The kernel completes the READ inside
 * the reply's writev(); a RELEASE that follows (readahead READs outlive
 * the reader's close()) may free f on another thread before writev()
 * returns, so the reply is made from a copy, wiped after (a key's bytes may
 * hold its secret).
 */
static void fsops_read_snapshot(struct fsops *fs, fuse_req_t req,
				const struct tree_file *f, size_t size,
				off_t off)
{
	size_t n = (size_t)off >= f->len ? 0 : f->len - (size_t)off;
	uint64_t ino = f->ino, version = f->version;
	char *copy;

	n = n < size ? n : size;
	copy = malloc(n ? n : 1);
	if (!copy) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(copy, f->data + (n ? off : 0), n);
	fuse_reply_buf(req, copy, n);
	explicit_bzero(copy, n);
	free(copy);
	tree_read_done(fs->tree, ino, version); /* req and perhaps f are gone */
}

/*
 * The version a read serves: the open's, or at the open's first read a newer
 * one whose size the kernel was given meanwhile (tree_reopen_shown()).
 * Reads of one handle are in practice one at a time; a concurrent one keeps
 * the handle it loaded, which stays alive until release.
 */
static struct tree_file *fsops_read_file(struct fsops *fs, struct fsops_fh *h,
					 fuse_ino_t ino)
{
	struct tree_file *f = __atomic_load_n(&h->rf, __ATOMIC_ACQUIRE);
	struct tree_file *cur;

	if (!f || __atomic_exchange_n(&h->read_once, 1, __ATOMIC_ACQ_REL) ||
	    !tree_reopen_shown(fs->tree, ino, f, &cur))
		return f;
	h->rf_before = f;
	__atomic_store_n(&h->rf, cur, __ATOMIC_RELEASE);
	return cur;
}

static void fsops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct fsops_fh *h = fsops_fh_of(fi);
	struct tree_file *f = fsops_read_file(fs, h, ino);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	tree_count_read(fs->tree);
	if (h->wf) {
		char *buf = malloc(size ? size : 1);
		ssize_t n = buf ? change_read(h->wf, buf, size, off) : -ENOMEM;

		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, buf, (size_t)n);
		free(buf);
		return;
	}
	if (f->fd < 0) {
		fsops_read_snapshot(fs, req, f, size, off);
		return;
	}
	if (f->dl) {
		/* A document still downloading: wait for the bytes asked for. */
		int rc = doccache_dl_wait(f->dl, f->fd, (uint64_t)off + size);

		if (rc < 0) {
			fuse_reply_err(req, rc == -ENOMEM ? ENOMEM : EIO);
			return;
		}
	}
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = f->fd;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void fsops_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsops_fh *h = fsops_fh_of(fi);
	ssize_t n;

	if (!h->wf) {
		fuse_reply_err(req, EBADF);
		return;
	}
	n = change_write(fsops_of(req)->change, h->wf, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void fsops_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);
	struct fsops_fh *h = fsops_fh_of(fi);
	int rc = h->wf ? change_flush(fs->change, h->wf) : 0;

	/*
	 * close() returns once the kernel has forgotten what the commit made
	 * stale, so the next command sees the change. Safe here: flush holds
	 * no directory lock.
	 */
	if (h->wf)
		kernel_cache_drain(fs->kc);
	fuse_reply_err(req, -rc);
}

static void fsops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	fsops_flush(req, ino, fi);
}

static void fsops_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct fsops *fs = fsops_of(req);

	fsops_untrack(fs, fsops_fh_of(fi));
	fsops_fh_free(fs, fsops_fh_of(fi), 1);
	fuse_reply_err(req, 0);
}

static void fsops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs s;

	/* There is no quota to report: a large free space lets file managers
	 * copy. */
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

/* ---- kernel cache invalidation (kernel_cache.h) ---- */

static void fsops_note_entry(void *ctx, uint64_t parent, const char *name)
{
	kernel_cache_entry(ctx, parent, name);
}

static void fsops_note_inode(void *ctx, uint64_t ino)
{
	kernel_cache_inode(ctx, ino);
}

static void fsops_note_refresh(void *ctx)
{
	kernel_cache_forget_misses(ctx);
}

int fsops_start(struct fsops *fs, struct fuse_session *se)
{
	struct kernel_cache *kc = kernel_cache_start(se);

	if (!kc)
		return -errno;
	fs->kc = kc;
	pthread_mutex_init(&fs->lock, NULL);
	fs->handles = NULL;
	fs->tracking = 1;
	change_set_notify(fs->change,
			  &(struct change_notify){ fsops_note_entry,
						   fsops_note_inode,
						   fsops_note_refresh, kc });
	tree_set_notify(fs->tree,
			&(struct tree_notify){ fsops_note_entry,
					       fsops_note_inode, kc });
	return 0;
}

void fsops_refresh(struct fsops *fs)
{
	change_refresh(fs->change);
	kernel_cache_drain(fs->kc);
}

void fsops_stop(struct fsops *fs)
{
	if (!fs || !fs->kc)
		return;
	change_set_notify(fs->change,
			  &(struct change_notify){ NULL, NULL, NULL, NULL });
	tree_set_notify(fs->tree, &(struct tree_notify){ NULL, NULL, NULL });
	kernel_cache_stop(fs->kc);
	fs->kc = NULL;
	/* The loop has ended: no request runs. Handles never released go now. */
	while (fs->handles) {
		struct fsops_fh *h = fs->handles;

		fs->handles = h->next;
		fsops_fh_free(fs, h, 0);
	}
	fs->tracking = 0;
	pthread_mutex_destroy(&fs->lock);
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
	.rmdir = fsops_rmdir,
	.symlink = fsops_symlink,
	.rename = fsops_rename,
	.link = fsops_link,
	.open = fsops_open,
	.read = fsops_read,
	.release = fsops_release,
	.write = fsops_write,
	.flush = fsops_flush,
	.fsync = fsops_fsync,
	.opendir = fsops_opendir,
	.readdir = fsops_readdir,
	.readdirplus = fsops_readdirplus,
	.releasedir = fsops_releasedir,
	.statfs = fsops_statfs,
	.getxattr = fsops_getxattr,
	.listxattr = fsops_listxattr,
	.setxattr = fsops_setxattr,
	.removexattr = fsops_removexattr,
	.create = fsops_create,
};
