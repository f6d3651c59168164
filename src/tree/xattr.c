/* xattr.c - read-only "user.xai.*" extended attributes; see xattr.h. */
#include "xattr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "model.h"

#define XATTR_ID "user.xai.id"
#define XATTR_NAME "user.xai.name"
#define XATTR_JSON "user.xai.json"
#define XATTR_STATUS "user.xai.status"
#define XATTR_PROPAGATION "user.xai.propagation"

/* Whether kind shows xattr flag (node.h, enum node_xattr). */
static int xattr_has(enum node_kind k, unsigned flag)
{
	return (node_of(k)->xattr & flag) != 0;
}

int xattr_list(struct tree *tree, uint64_t ino, char **out, size_t *len)
{
	static const char common[] = XATTR_ID "\0" XATTR_NAME "\0" XATTR_JSON;
	const char *extra = NULL;
	struct node_id n = { 0 };
	const struct res *r;
	struct cval *v = NULL;
	size_t base = sizeof(common), elen = 0;
	int rc;

	*out = NULL;
	*len = 0;
	rc = tree_resource(tree, ino, &n, &v, &r);
	cval_unref(v);
	if (rc == -ENOENT) {
		node_id_release(&n);
		return 0; /* nothing to show for this node */
	}
	if (rc < 0)
		goto out;
	if (xattr_has(n.kind, NODE_XA_STATUS))
		extra = XATTR_STATUS;
	else if (xattr_has(n.kind, NODE_XA_PROPAGATION))
		extra = XATTR_PROPAGATION;
	elen = extra ? strlen(extra) + 1 : 0;
	*out = malloc(base + elen);
	if (!*out) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*out, common, base);
	if (extra)
		memcpy(*out + base, extra, elen);
	*len = base + elen;
out:
	node_id_release(&n);
	return rc;
}

static int xattr_copy(const char *s, size_t n, char **out, size_t *len)
{
	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, s, n);
	*len = n;
	return 0;
}

int xattr_get(struct tree *tree, uint64_t ino, const char *name, char **out,
	      size_t *len)
{
	struct node_id n = { 0 };
	const struct res *r = NULL;
	struct cval *v = NULL;
	char status[64];
	int rc;

	*out = NULL;
	*len = 0;
	/*
	 * ls -l asks every file for security.selinux and system.posix_acl_*:
	 * "not supported" makes it stop asking for the rest of the mount.
	 */
	if (strncmp(name, "user.", 5) != 0)
		return -ENOTSUP;
	if (strncmp(name, "user.xai.", 9) != 0)
		return -ENODATA;
	rc = tree_resource(tree, ino, &n, &v, &r);
	if (rc == -ENOENT)
		rc = -ENODATA;
	if (rc < 0)
		goto out;
	if (strcmp(name, XATTR_ID) == 0) {
		rc = xattr_copy(r->id, strlen(r->id), out, len);
	} else if (strcmp(name, XATTR_NAME) == 0) {
		rc = xattr_copy(r->raw_name, strlen(r->raw_name), out, len);
	} else if (strcmp(name, XATTR_JSON) == 0) {
		rc = xattr_copy(r->json, r->json_len, out, len);
	} else if (strcmp(name, XATTR_STATUS) == 0 &&
		   xattr_has(n.kind, NODE_XA_STATUS)) {
		rc = model_document_status(r->json, r->json_len, status,
					   sizeof(status));
		if (rc == 0)
			rc = xattr_copy(status, strlen(status), out, len);
	} else if (strcmp(name, XATTR_PROPAGATION) == 0 &&
		   xattr_has(n.kind, NODE_XA_PROPAGATION)) {
		rc = cache_key_propagation(tree_cache(tree), r->id, out, len);
	} else {
		rc = -ENODATA;
	}
out:
	cval_unref(v);
	node_id_release(&n);
	return rc;
}
