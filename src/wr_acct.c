/*
 * wr_acct.c - writes to the account files: /spending-limits, whose softSl
 * sets the soft spending limit (see wr.h for the rules every write follows).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "acct.h"
#include "api.h"
#include "log.h"
#include "model_acct.h"
#include "wr_int.h"

#define WR_LIMITS_NAME "spending-limits"

int wr_open_limits(struct wr *w, uint64_t ino, int flags, struct wr_file **out)
{
	struct cval *v = NULL;
	int rc, fd;

	rc = acct_limits(w->cache, &v);
	if (rc < 0)
		return rc;
	fd = wr_json_spool(w, v->text, v->len, flags & O_TRUNC);
	cval_unref(v);
	if (fd < 0)
		return fd;
	*out = wr_file_new(WR_LIMITS, ino, 0, NODE_ROOT, "", "", WR_LIMITS_NAME, fd);
	if (!*out) {
		close(fd);
		return -ENOMEM;
	}
	(*out)->dirty = (flags & O_TRUNC) != 0;
	return 0;
}

int wr_commit_limits(struct wr *w, const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct cval *v = NULL;
	int rc;

	/* Compared with what the server says now, not what was read at open. */
	rc = acct_limits(w->cache, &v);
	if (rc < 0)
		return rc;
	rc = model_limits_update(v->text, v->len, in, len, &ch);
	cval_unref(v);
	if (rc == -EINVAL)
		rc = wr_log_invalid("set spending limits", WR_LIMITS_NAME, &ch);
	if (rc == 0 && ch.body) {
		rc = api_set_soft_limit(cache_api(w->cache), ch.body);
		acct_limits_changed(w->cache);
		if (rc == 0)
			log_info("spending limits: soft limit set");
	}
	model_change_release(&ch);
	return rc;
}
