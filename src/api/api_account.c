/* api_account.c - search, endpoint ACLs, invoices and spending limits; see
 * api.h. */
#include <errno.h>

#include "api_int.h"
#include "model_account.h"

int api_search(struct api *a, const char *body, char **out, size_t *out_len)
{
	struct api_text_ans t = { NULL, out, out_len };

	return api_send(a,
			&(struct api_req){ .route = API_SEARCH, .json = body },
			api_ans_object, &t);
}

int api_endpoints(struct api *a, char **out, size_t *out_len)
{
	struct api_text_ans t = { model_pretty, out, out_len };

	return api_send(a, &(struct api_req){ .route = API_ENDPOINTS },
			api_ans_text, &t);
}

int api_list_invoices(struct api *a, struct reslist **out)
{
	struct api_list_ans c = { model_parse_invoices, reslist_new() };
	int rc;

	if (!c.list)
		return -ENOMEM;
	rc = api_send(a, &(struct api_req){ .route = API_INVOICES },
		      api_ans_list, &c);
	if (rc < 0) {
		reslist_unref(c.list);
		return rc;
	}
	*out = c.list;
	return 0;
}

int api_spending_limits(struct api *a, char **out, size_t *out_len)
{
	struct api_text_ans t = { model_render_limits, out, out_len };

	return api_send(a, &(struct api_req){ .route = API_SPENDING_LIMITS },
			api_ans_text, &t);
}

int api_set_soft_limit(struct api *a, const char *body)
{
	return api_send(
		a,
		&(struct api_req){ .route = API_SET_SOFT_LIMIT, .json = body },
		NULL, NULL);
}
