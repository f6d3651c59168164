/* api_answer.c - the parse adapters of api_send(), one per kind of answer; see
 * api_int.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* The body's bytes ("" for an empty answer). */
static const char *api_ans_data(const struct buf *body)
{
	return body->data ? body->data : "";
}

int api_ans_res(void *ctx, struct buf *body)
{
	struct api_res_ans *c = ctx;

	return c->fn(api_ans_data(body), body->len, c->out);
}

int api_ans_text(void *ctx, struct buf *body)
{
	struct api_text_ans *c = ctx;

	return c->fn(api_ans_data(body), body->len, c->out, c->out_len);
}

int api_ans_object(void *ctx, struct buf *body)
{
	struct api_text_ans *c = ctx;
	int rc = model_is_object(api_ans_data(body), body->len);

	if (rc < 0)
		return rc;
	*c->out = buf_take(body, c->out_len);
	return *c->out ? 0 : -ENOMEM;
}

int api_ans_list(void *ctx, struct buf *body)
{
	struct api_list_ans *c = ctx;

	return c->fn(api_ans_data(body), body->len, c->list);
}

int api_ans_key(void *ctx, struct buf *body)
{
	struct api_key_ans *c = ctx;
	char *secret = NULL;
	int rc = model_parse_key(api_ans_data(body), body->len, c->out,
				 c->secret ? c->secret : &secret);

	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
	return rc;
}
