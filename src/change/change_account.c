/*
 * change_account.c - writes to the account files: /spending-limits, whose
 * softSl sets the soft spending limit (see change.h for the rules every write
 * follows). Calls change_base.c and the layers below change only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "account.h"
#include "api.h"
#include "log.h"
#include "model_account.h"
#include "change_int.h"

#define CHANGE_LIMITS_NAME "spending-limits"

int change_open_limits(struct change *w, uint64_t ino, int flags,
		       const struct change_state *st, struct change_file **out)
{
	struct cval *v = NULL;
	int rc, fd;

	rc = account_limits(w->cache, &v);
	if (rc < 0)
		return rc;
	fd = change_json_spool(w, v->text, v->len, flags & O_TRUNC);
	cval_unref(v);
	return change_file_new(st, ino, 0, "", "", CHANGE_LIMITS_NAME, fd, out);
}

int change_commit_limits(struct change *w, const char *in, size_t len)
{
	struct model_change ch = { 0 };
	struct cval *v = NULL;
	int rc;

	/* Compared with what the server says now, not what was read at open. */
	rc = account_limits(w->cache, &v);
	if (rc < 0)
		return rc;
	rc = model_limits_update(v->text, v->len, in, len, &ch);
	cval_unref(v);
	if (rc == -EINVAL)
		rc = change_log_invalid("set spending limits",
					CHANGE_LIMITS_NAME, &ch);
	if (rc == 0 && ch.body) {
		rc = api_set_soft_limit(w->api, ch.body);
		account_limits_changed(w->cache);
		if (rc == 0)
			log_info("spending limits: soft limit set");
	}
	model_change_release(&ch);
	return rc;
}
