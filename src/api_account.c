/* api_account.c - search, endpoint ACLs, invoices and spending limits; see api.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "log.h"
#include "model_account.h"

int api_search(struct api *a, const char *body, char **out, size_t *out_len)
{
	char url[2048];
	int rc;

	if (!a->o.api_key) {
		log_error("cannot search: searching collections needs an inference key "
			  "(XAI_API_KEY or -o api_key_file=PATH)");
		return -EACCES;
	}
	snprintf(url, sizeof(url), "%s/v1/documents/search", a->o.api_url);
	/* A search changes nothing: it may be retried like a GET. */
	rc = api_call(a, API_SEARCH, "POST", url, a->o.api_key, body, out, out_len);
	if (rc == 0 && model_is_object(*out, *out_len) < 0) {
		log_error("%s: malformed answer", api_routes[API_SEARCH]);
		free(*out);
		*out = NULL;
		rc = -EIO;
	}
	return rc;
}

int api_endpoints(struct api *a, char **out, size_t *out_len)
{
	char url[2048];
	char *body = NULL;
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "%s/auth/teams/%s/endpoints", a->o.management_url, a->team);
	rc = api_call(a, API_ENDPOINTS, "GET", url, a->o.mgmt_key, NULL, &body, &len);
	if (rc == 0 && (rc = model_pretty(body, len, out, out_len)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_ENDPOINTS]);
	free(body);
	return rc;
}

int api_list_invoices(struct api *a, struct reslist **out)
{
	struct reslist *l = reslist_new();
	char url[2048];
	char *body = NULL;
	size_t len;
	int rc = l ? 0 : -ENOMEM;

	snprintf(url, sizeof(url), "%s/v1/billing/teams/%s/invoices", a->o.management_url,
		 a->team);
	if (rc == 0)
		rc = api_call(a, API_INVOICES, "GET", url, a->o.mgmt_key, NULL, &body, &len);
	if (rc == 0 && (rc = model_parse_invoices(body, len, l)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_INVOICES]);
	free(body);
	if (rc < 0) {
		reslist_unref(l);
		return rc;
	}
	*out = l;
	return 0;
}

int api_spending_limits(struct api *a, char **out, size_t *out_len)
{
	char url[2048];
	char *body = NULL;
	size_t len;
	int rc;

	snprintf(url, sizeof(url), "%s/v1/billing/teams/%s/postpaid/spending-limits",
		 a->o.management_url, a->team);
	rc = api_call(a, API_SPENDING_LIMITS, "GET", url, a->o.mgmt_key, NULL, &body, &len);
	if (rc == 0 && (rc = model_render_limits(body, len, out, out_len)) == -EIO)
		log_error("%s: malformed answer", api_routes[API_SPENDING_LIMITS]);
	free(body);
	return rc;
}

int api_set_soft_limit(struct api *a, const char *body)
{
	char url[2048];

	snprintf(url, sizeof(url), "%s/v1/billing/teams/%s/postpaid/spending-limits",
		 a->o.management_url, a->team);
	return api_write(a, API_SET_SOFT_LIMIT, "POST", strdup(url), body, NULL, NULL);
}
