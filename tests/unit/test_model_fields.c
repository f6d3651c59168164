/* test_model_fields.c - documents' fields: user values, listings, schemas
 * (model_fields.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model_fields.h"
#include "test.h"

struct parse_row {
	const char *in;
	int rc;
	const char *out; /* the compact form, or the key named on -EINVAL */
};

static const struct parse_row parse_rows[] = {
	{ "{\"author\":\"ann\",\"year\":\"2024\"}", 0,
	  "{\"author\":\"ann\",\"year\":\"2024\"}" },
	{ " { \"author\" : \"a/b\" }\n", 0, "{\"author\":\"a/b\"}" },
	{ "{}", 0, "{}" },
	{ "{\"t\":\"caf\xc3\xa9\"}", 0, "{\"t\":\"caf\xc3\xa9\"}" },
	{ "{\"year\":2024}", -EINVAL, "year" },
	{ "{\"a\":\"x\",\"b\":null}", -EINVAL, "b" },
	{ "{\"a\":{\"b\":\"c\"}}", -EINVAL, "a" },
	{ "{\"\":\"x\"}", -EINVAL, "(a key)" },
	{ "{\"a\":\"b\\u0000c\"}", -EINVAL, "a" },
	{ "{\"a\":\"\xff\"}", -EINVAL, "a" },
	{ "{\"a\":\"\xed\xa0\x80\"}", -EINVAL, "a" }, /* a surrogate */
	{ "[1]", -EINVAL, "" },
	{ "author=ann", -EINVAL, "" },
	{ "{\"a\":\"b\"} x", -EINVAL, "" },
	{ "", -EINVAL, "" },
};

static void test_parse(void)
{
	char bad[MODEL_FIELDS_BAD], *out;

	for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]);
	     i++) {
		const struct parse_row *r = &parse_rows[i];
		int rc;

		TEST_CTX(r->in);
		out = (char *)"unset";
		rc = model_fields_parse(r->in, strlen(r->in), &out, bad,
					sizeof(bad));
		CHECK_EQ_INT(rc, r->rc);
		CHECK_EQ_STR(rc == 0 ? out : bad, r->out);
		if (rc < 0)
			CHECK(out == NULL);
		free(rc == 0 ? out : NULL);
	}
}

static void test_document(void)
{
	static const char doc[] =
		"{\"file_metadata\":{\"file_id\":\"f\"},"
		"\"fields\":{\"a\":\"1\",\"n\":2,\"b\":\"x\"}}";
	char *out = NULL;

	TEST_CTX("a document's fields, non-strings left out");
	CHECK_EQ_INT(model_fields_of_document(doc, strlen(doc), &out), 0);
	CHECK_EQ_STR(out, "{\"a\":\"1\",\"b\":\"x\"}");
	free(out);
	TEST_CTX("a document without fields");
	CHECK_EQ_INT(model_fields_of_document("{\"status\":\"x\"}", 14, &out),
		     0);
	CHECK_EQ_STR(out, "{}");
	free(out);
	CHECK_EQ_INT(model_fields_of_document("nope", 4, &out), -EIO);
}

static void test_missing(void)
{
	static const char coll[] =
		"{\"collection_name\":\"papers\",\"field_definitions\":["
		"{\"key\":\"year\"},{\"key\":\"odd\",\"required\":\"true\"},"
		"{\"key\":\"author\",\"required\":true,\"unique\":true}]}";
	char missing[MODEL_FIELDS_BAD];

	TEST_CTX("required field given");
	CHECK_EQ_INT(model_fields_missing(coll, strlen(coll),
					  "{\"author\":\"ann\"}", missing,
					  sizeof(missing)),
		     0);
	CHECK_EQ_STR(missing, "");
	TEST_CTX("required field missing");
	CHECK_EQ_INT(model_fields_missing(coll, strlen(coll),
					  "{\"year\":\"1\"}", missing,
					  sizeof(missing)),
		     1);
	CHECK_EQ_STR(missing, "author");
	TEST_CTX("required field empty");
	CHECK_EQ_INT(model_fields_missing(coll, strlen(coll),
					  "{\"author\":\"\"}", missing,
					  sizeof(missing)),
		     1);
	TEST_CTX("no definitions");
	CHECK_EQ_INT(
		model_fields_missing("{}", 2, "{}", missing, sizeof(missing)),
		0);
	CHECK_EQ_INT(
		model_fields_missing("[]", 2, "{}", missing, sizeof(missing)),
		-EIO);
}

static void test_bodies(void)
{
	char *body = NULL;

	TEST_CTX("add-file body");
	CHECK_EQ_INT(model_fields_add_body("{\"a\":\"b\"}", &body), 0);
	CHECK_EQ_STR(body, "{\"fields\":{\"a\":\"b\"}}");
	free(body);
	CHECK_EQ_INT(model_fields_add_body("x", &body), -EINVAL);
	TEST_CTX("equal, order aside");
	CHECK(model_fields_equal("{\"a\":\"1\",\"b\":\"2\"}",
				 "{\"b\":\"2\",\"a\":\"1\"}"));
	CHECK(!model_fields_equal("{\"a\":\"1\"}", "{\"a\":\"2\"}"));
	CHECK(!model_fields_equal("{\"a\":\"1\"}", "{}"));
	CHECK(!model_fields_equal("x", "x"));
}

int main(void)
{
	test_parse();
	test_document();
	test_missing();
	test_bodies();
	return test_done();
}
