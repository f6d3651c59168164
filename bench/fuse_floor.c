/*
 * fuse_floor.c - the least a FUSE file system can do for open+read+close:
 * one file, "f", served from memory with the kernel's page cache kept
 * (keep_cache), no flush on close and day-long timeouts. bench.py runs it
 * beside xaifs to show what the FUSE round trips alone cost on this machine.
 *
 *   fuse_floor MOUNTPOINT FILE [st]   (foreground; fusermount3 -u to stop)
 *
 * Its workers are kept as xaifs keeps them (16, none retired); "st" runs
 * libfuse's single-threaded loop instead, which hands no request between
 * threads.
 */

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FLOOR_INO 2
#define FLOOR_TTL 86400.0

static char *floor_data;
static size_t floor_len;

static void floor_attr(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = ino == FUSE_ROOT_ID ? 2 : 1;
	st->st_mode = ino == FUSE_ROOT_ID ? S_IFDIR | 0755 : S_IFREG | 0644;
	st->st_size = ino == FUSE_ROOT_ID ? 0 : (off_t)floor_len;
}

/* The connection as xaifs sets it up (fsops_init()). */
static void floor_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_SPLICE_READ)
		conn->want |= FUSE_CAP_SPLICE_READ;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	conn->max_write = 1024 * 1024;
	conn->max_readahead = 1024 * 1024;
}

static void floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, "f") != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FLOOR_INO;
	e.attr_timeout = e.entry_timeout = FLOOR_TTL;
	floor_attr(e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void floor_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != FUSE_ROOT_ID && ino != FLOOR_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	floor_attr(ino, &st);
	fuse_reply_attr(req, &st, FLOOR_TTL);
}

static void floor_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	if (ino != FLOOR_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	if ((size_t)off >= floor_len)
		size = 0;
	else if (size > floor_len - (size_t)off)
		size = floor_len - (size_t)off;
	fuse_reply_buf(req, size ? floor_data + off : NULL, size);
}

static const struct fuse_lowlevel_ops floor_ops = {
	.init = floor_init,
	.lookup = floor_lookup,
	.getattr = floor_getattr,
	.open = floor_open,
	.read = floor_read,
};

static int floor_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    !(floor_data = malloc((size_t)n + 1)) ||
	    fread(floor_data, 1, (size_t)n, f) != (size_t)n) {
		if (f)
			fclose(f);
		return -1;
	}
	floor_len = (size_t)n;
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	/* the kernel checks permissions, as on every xaifs mount */
	char dp[] = "-odefault_permissions";
	char *fargv[] = { argv[0], dp, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(2, fargv);
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se;
	int rc = 1;

	if (argc < 3 || argc > 4 || floor_load(argv[2]) < 0) {
		fprintf(stderr, "usage: fuse_floor MOUNTPOINT FILE [st]\n");
		return 2;
	}
	se = fuse_session_new(&args, &floor_ops, sizeof(floor_ops), NULL);
	if (!se || fuse_session_mount(se, argv[1]) != 0)
		goto out;
	if (argc == 4 && strcmp(argv[3], "st") == 0) {
		rc = fuse_session_loop(se) != 0;
	} else if ((lc = fuse_loop_cfg_create())) {
		fuse_loop_cfg_set_max_threads(lc, 16);
		fuse_loop_cfg_set_idle_threads(lc, 16);
		rc = fuse_session_loop_mt(se, lc) != 0;
	}
	fuse_loop_cfg_destroy(lc);
	fuse_session_unmount(se);
out:
	if (se)
		fuse_session_destroy(se);
	free(floor_data);
	return rc;
}
