/* model_trace.c - an answer's body as it may stand in a trace (-o trace=):
 * secrets and payment details replaced; see model.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_int.h"

#define TRACE_MASK "[redacted]"
#define TRACE_TEXT_MAX 4096 /* a body that is not JSON: its first bytes */

/*
 * Whether a member of this name holds a secret or a payment detail: a key's
 * secret (apiKey), tokens and passwords, card numbers, billing addresses.
 * Ids ("apiKeyId") are not secrets.
 */
static int trace_sensitive(const char *name)
{
	static const char *const parts[] = {
		"apikey",  "api_key", "secret", "password",	 "card",
		"address", "iban",    "last4",	"authorization", NULL
	};
	char low[64];
	size_t n = strlen(name);

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[n] = '\0';
	if (n >= 2 && strcmp(low + n - 2, "id") == 0)
		return 0;
	if (strcmp(low, "token") == 0 || strcmp(low, "key") == 0)
		return 1;
	for (int i = 0; parts[i]; i++)
		if (strstr(low, parts[i]))
			return 1;
	return 0;
}

/* Replace, in place, every sensitive member's value under o. */
static void trace_scrub(struct json_object *o)
{
	if (json_object_is_type(o, json_type_array)) {
		size_t n = json_object_array_length(o);

		for (size_t i = 0; i < n; i++)
			trace_scrub(json_object_array_get_idx(o, i));
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, name, val)
	{
		if (trace_sensitive(name) &&
		    !json_object_is_type(val, json_type_null))
			json_object_object_add(
				o, name, json_object_new_string(TRACE_MASK));
		else
			trace_scrub(val);
	}
}

int model_trace_body(const char *body, size_t len, char **out)
{
	struct json_object *o = NULL, *s;
	const char *text;

	*out = NULL;
	if (len > 0 && parse_object(body, len, &o) == 0) {
		trace_scrub(o);
		text = json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE);
		*out = text ? strdup(text) : NULL;
		json_object_put(o);
		return *out ? 0 : -ENOMEM;
	}
	/* Not JSON (a gateway's HTML page): its first bytes, as a string. */
	s = json_object_new_string_len(
		body ? body : "",
		(int)(len < TRACE_TEXT_MAX ? len : TRACE_TEXT_MAX));
	text = s ? json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN)
		 : NULL;
	*out = text ? strdup(text) : NULL;
	json_object_put(s);
	return *out ? 0 : -ENOMEM;
}
