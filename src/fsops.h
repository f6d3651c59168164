/*
 * fsops.h - the FUSE low-level operations.
 *
 * Owns: decoding each FUSE request, calling the namespace, and sending
 * exactly one reply per request. Holds no state of its own beyond struct
 * fsops (read-only after fsops_new()); per-handle state lives in fi->fh
 * (struct ns_dir, struct ns_file).
 *
 * Read-only for now: every operation that would change the account fails with
 * EROFS (see docs/semantics.md).
 */
#ifndef XAIFS_FSOPS_H
#define XAIFS_FSOPS_H

#include <fuse_lowlevel.h>
#include "ns.h"

struct fsops {
	struct ns *ns;
	int read_only;
	double negative_ttl;	/* kernel timeout of a cached miss */
};

/* The operation table; userdata for fuse_session_new() is a struct fsops *. */
extern const struct fuse_lowlevel_ops fsops_ops;

#endif
