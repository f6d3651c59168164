/* test_model_account.c - search, invoices and spending limits JSON
 * (model_account.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model_account.h"
#include "model_svg.h"
#include "names.h"
#include "test.h"

struct query_row {
	const char *name;
	int rc;
	const char *mode;
	int limit;
	const char *query;
};

static const struct query_row query_rows[] = {
	{ "fees", 0, "", 0, "fees" },
	{ "termination notice", 0, "", 0, "termination notice" },
	{ "mode:keyword limit:3 a b", 0, "keyword", 3, "a b" },
	{ "limit:100 mode:semantic x", 0, "semantic", 100, "x" },
	{ "limit:0 x", 0, "", 0, "limit:0 x" },
	{ "limit:101 x", 0, "", 0, "limit:101 x" },
	{ "limit:1x y", 0, "", 0, "limit:1x y" },
	{ "mode:bogus x", 0, "", 0, "mode:bogus x" },
	{ "mode:keyword mode:hybrid x", 0, "keyword", 0, "mode:hybrid x" },
	{ "mode:keyword", 0, "", 0,
	  "mode:keyword" }, /* options end in a space */
	{ "mode:keyword  ", -ENOENT, "keyword", 0, " " },
	{ "   ", -ENOENT, "", 0, "   " },
	{ "", -ENOENT, "", 0, "" },
};

static void test_query(void)
{
	struct model_search_q q;

	for (size_t i = 0; i < sizeof(query_rows) / sizeof(query_rows[0]);
	     i++) {
		const struct query_row *r = &query_rows[i];

		TEST_CTX(r->name);
		CHECK_EQ_INT(model_search_query(r->name, &q), r->rc);
		CHECK_EQ_STR(q.mode, r->mode);
		CHECK_EQ_INT(q.limit, r->limit);
		CHECK_EQ_STR(q.query, r->query);
	}
}

static void test_request(void)
{
	const char *const cids[] = { "c1", "c/2" };
	struct model_search_q q;
	char *body = NULL;

	TEST_CTX("search request with options");
	CHECK_EQ_INT(model_search_query("mode:keyword limit:3 a \"b\"", &q), 0);
	CHECK_EQ_INT(model_search_request(&q, cids, 2, &body), 0);
	CHECK_EQ_STR(
		body,
		"{\"query\":\"a \\\"b\\\"\",\"source\":{\"collection_ids\":[\"c1\",\"c/2\"]},"
		"\"limit\":3,\"retrieval_mode\":{\"type\":\"keyword\"}}");
	free(body);
	TEST_CTX("search request without options");
	CHECK_EQ_INT(model_search_query("x", &q), 0);
	CHECK_EQ_INT(model_search_request(&q, cids, 1, &body), 0);
	CHECK_EQ_STR(
		body,
		"{\"query\":\"x\",\"source\":{\"collection_ids\":[\"c1\"]}}");
	free(body);
}

static const char *names(void *ctx, const char *cid, const char *file_id)
{
	(void)ctx;
	if (!file_id)
		return strcmp(cid, "c1") == 0 ? "contracts" : NULL;
	return strcmp(file_id, "f1") == 0 ? "msa.txt" : NULL;
}

static void test_render(void)
{
	static const char body[] =
		"{\"matches\":["
		"{\"file_id\":\"f2\",\"chunk_id\":\"k2\",\"chunk_content\":\"low\",\"score\":0.25,"
		"\"collection_ids\":[\"c2\"]},"
		"{\"chunk_content\":\"no file id\",\"score\":9},"
		"{\"file_id\":\"f1\",\"chunk_id\":\"k1\",\"chunk_content\":\"a/b\\nc\",\"score\":0.75,"
		"\"collection_ids\":[\"c1\"],\"fields\":{\"k\":\"v\"},\"page_number\":3},"
		"{\"file_id\":\"f3\",\"chunk_content\":\"str\",\"score\":\"0.5\",\"fields\":{}},"
		"{\"file_id\":\"f4\",\"chunk_content\":\"tie\",\"score\":0.25}"
		"]}";
	char *out = NULL;
	size_t len = 0;

	TEST_CTX("search answer as JSON lines, best first");
	CHECK_EQ_INT(model_render_search(body, strlen(body), names, NULL, &out,
					 &len),
		     0);
	CHECK_EQ_STR(
		out,
		"{\"document\":\"msa.txt\",\"collection\":\"contracts\",\"score\":0.75,\"text\":\"a/b\\nc\","
		"\"page\":3,\"fields\":{\"k\":\"v\"},\"file_id\":\"f1\",\"chunk_id\":\"k1\","
		"\"collection_id\":\"c1\"}\n"
		"{\"document\":\"f3\",\"collection\":\"\",\"score\":0.5,\"text\":\"str\",\"file_id\":\"f3\","
		"\"collection_id\":\"\"}\n"
		"{\"document\":\"f2\",\"collection\":\"c2\",\"score\":0.25,\"text\":\"low\",\"file_id\":\"f2\","
		"\"chunk_id\":\"k2\",\"collection_id\":\"c2\"}\n"
		"{\"document\":\"f4\",\"collection\":\"\",\"score\":0.25,\"text\":\"tie\",\"file_id\":\"f4\","
		"\"collection_id\":\"\"}\n");
	CHECK_EQ_INT(len, out ? strlen(out) : 0);
	free(out);

	TEST_CTX("no matches: an empty file");
	out = NULL;
	CHECK_EQ_INT(model_render_search("{}", 2, names, NULL, &out, &len), 0);
	CHECK_EQ_STR(out, "");
	CHECK_EQ_INT(len, 0);
	free(out);
	TEST_CTX("matches of the wrong type");
	CHECK_EQ_INT(model_render_search("{\"matches\":{}}", 14, names, NULL,
					 &out, &len),
		     -EIO);
	TEST_CTX("not JSON");
	CHECK_EQ_INT(model_render_search("[1]", 3, names, NULL, &out, &len),
		     -EIO);
}

static void test_invoices(void)
{
	static const char body[] =
		"{\"invoices\":["
		"{\"invoiceId\":\"inv1\",\"createTime\":\"2026-01-01T02:15:00Z\","
		"\"monthly\":{\"billingCycle\":{\"year\":2025,\"month\":12}}},"
		"{\"invoiceNumber\":\"742-250\",\"createTime\":\"2026-02-03T00:00:00Z\",\"prepaid\":{}},"
		"{\"invoiceId\":\"inv3\"},"
		"{\"total\":\"5\"},"
		"\"not an object\""
		"]}";
	struct reslist *l = reslist_new();

	TEST_CTX("invoices");
	CHECK_EQ_INT(model_parse_invoices(body, strlen(body), l), 0);
	CHECK_EQ_INT(l->n, 3);
	if (l->n == 3) {
		CHECK_EQ_STR(l->v[0].id, "inv1");
		CHECK_EQ_STR(l->v[0].raw_name, "2025-12");
		CHECK_EQ_INT(l->v[0].mtime, 1767233700);
		CHECK_EQ_STR(l->v[1].id, "742-250");
		CHECK_EQ_STR(l->v[1].raw_name, "2026-02");
		CHECK_EQ_STR(l->v[2].raw_name, "");
		CHECK(strstr(l->v[0].json, "\"billingCycle\"") != NULL);
		CHECK_EQ_INT(names_assign(l, NAMES_MAX, NULL), 0);
		CHECK_EQ_STR(l->v[2].name, "inv3");
	}
	reslist_unref(l);
	l = reslist_new();
	TEST_CTX("no invoices");
	CHECK_EQ_INT(model_parse_invoices("{}", 2, l), 0);
	CHECK_EQ_INT(l->n, 0);
	CHECK_EQ_INT(model_parse_invoices("{\"invoices\":7}", 14, l), -EIO);
	reslist_unref(l);
}

static const char limits_body[] =
	"{\"spendingLimits\":{\"hardSlAuto\":{\"val\":\"50000\"},\"effectiveHardSl\":{\"val\":\"50000\"},"
	"\"softSl\":{\"val\":\"20000\"},\"effectiveSl\":{},\"newThing\":true}}";

static const char limits_file[] = "{\n"
				  "  \"softSl\": 20000,\n"
				  "  \"effectiveSl\": 0,\n"
				  "  \"hardSlAuto\": 50000,\n"
				  "  \"effectiveHardSl\": 50000,\n"
				  "  \"hardSlOverride\": null,\n"
				  "  \"newThing\": true\n"
				  "}\n";

static void test_limits_render(void)
{
	char *out = NULL;
	size_t len = 0;

	TEST_CTX("spending limits file");
	CHECK_EQ_INT(model_render_limits(limits_body, strlen(limits_body), &out,
					 &len),
		     0);
	CHECK_EQ_STR(out, limits_file);
	free(out);
	out = NULL;
	TEST_CTX("no spendingLimits: every limit null");
	CHECK_EQ_INT(model_render_limits("{}", 2, &out, &len), 0);
	CHECK(out && strstr(out, "\"softSl\": null") != NULL);
	free(out);
	CHECK_EQ_INT(model_render_limits("nope", 4, &out, &len), -EIO);
}

struct update_row {
	const char *in;
	int rc;
	const char *body;
	const char *field;
};

static const struct update_row update_rows[] = {
	{ "{\"softSl\":30000}", 0,
	  "{\"desiredSoftSpendingLimit\":{\"val\":\"30000\"}}", "" },
	{ "{\"softSl\":\"300\"}", 0,
	  "{\"desiredSoftSpendingLimit\":{\"val\":\"300\"}}", "" },
	{ "{\"softSl\":{\"val\":\"400\"}}", 0,
	  "{\"desiredSoftSpendingLimit\":{\"val\":\"400\"}}", "" },
	{ "{\"softSl\":0,\"hardSlAuto\":50000}", 0,
	  "{\"desiredSoftSpendingLimit\":{\"val\":\"0\"}}", "" },
	{ "{\"softSl\":20000,\"hardSlAuto\":50000,\"hardSlOverride\":null}", 0,
	  NULL, "" },
	{ "{}", 0, NULL, "" },
	{ "{\"softSl\":20000,\"hardSlAuto\":1}", -EINVAL, NULL, "hardSlAuto" },
	{ "{\"hardSlOverride\":5}", -EINVAL, NULL, "hardSlOverride" },
	{ "{\"bogus\":1}", -EINVAL, NULL, "bogus" },
	{ "{\"softSl\":-1}", -EINVAL, NULL, "softSl" },
	{ "{\"softSl\":1.5}", -EINVAL, NULL, "softSl" },
	{ "{\"softSl\":null}", -EINVAL, NULL, "softSl" },
	{ "{\"softSl\":\"lots\"}", -EINVAL, NULL, "softSl" },
	{ "[1]", -EINVAL, NULL, "" },
	{ "  \n", -ENODATA, NULL, "" },
};

static void test_limits_update(void)
{
	for (size_t i = 0; i < sizeof(update_rows) / sizeof(update_rows[0]);
	     i++) {
		const struct update_row *r = &update_rows[i];
		struct model_change ch;

		TEST_CTX(r->in);
		CHECK_EQ_INT(model_limits_update(limits_file,
						 strlen(limits_file), r->in,
						 strlen(r->in), &ch),
			     r->rc);
		CHECK_EQ_STR(ch.body, r->body);
		CHECK_EQ_STR(ch.field, r->field);
		model_change_release(&ch);
	}
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (; s && (s = strstr(s, what)); s++)
		n++;
	return n;
}

static void test_usage_svg(void)
{
	static const char usage[] =
		"{\"startTime\":\"2026-12-01 00:00:00\",\"endTime\":\"2026-12-03 <&>\","
		"\"timezone\":\"Etc/GMT\",\"totalUsd\":3.5,\"timeSeries\":["
		"{\"groupLabels\":[\"small\"],\"dataPoints\":["
		"{\"timestamp\":\"2026-12-02T00:00:00Z\",\"values\":[0.5]},"
		"{\"timestamp\":\"2026-12-01T00:00:00Z\",\"values\":[1.0]}]},"
		"{\"group\":[\"big <b>\", \"x\"],\"dataPoints\":["
		"{\"timestamp\":\"2026-12-01T00:00:00Z\",\"values\":[\"1\"]},"
		"{\"timestamp\":\"2026-12-02T00:00:00Z\",\"values\":[1]},{\"values\":[9]}]},"
		"{\"dataPoints\":[{\"timestamp\":\"2026-12-01T00:00:00Z\",\"values\":[-4]}]}]}";
	char *out = NULL;
	const char *o;
	size_t len = 0;

	TEST_CTX("usage.svg: a stacked bar per day, a segment per series");
	CHECK_EQ_INT(model_render_usage_svg(usage, strlen(usage), &out, &len),
		     0);
	o = out ? out : "";
	CHECK(strncmp(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 40) ==
	      0);
	CHECK_EQ_INT(count(o, "<g class=\"day\">"), 2);
	CHECK_EQ_INT(count(o, "<rect class=\"bar\""), 4);
	CHECK_EQ_INT(count(o, "<rect class=\"swatch\""),
		     2); /* the series at $0 is left out */
	CHECK(strstr(o, "<title>2026-12-01T00:00:00Z: $2.0000</title>") !=
	      NULL);
	CHECK(strstr(o, "<title>2026-12-02T00:00:00Z: $1.5000</title>") !=
	      NULL);
	CHECK(strstr(o,
		     "<title>2026-12-01T00:00:00Z big &lt;b&gt; / x: $1.0000</title>") !=
	      NULL);
	CHECK(strstr(o, "<title>2026-12-02T00:00:00Z small: $0.5000</title>") !=
	      NULL);
	CHECK(strstr(o, "big &lt;b&gt; / x ($2.00)</text>") !=
	      NULL); /* the larger first */
	CHECK(strstr(o, "to 2026-12-03 &lt;&amp;&gt;: $3.50</text>") != NULL);
	CHECK(strstr(o, ">12-01</text>") != NULL &&
	      strstr(o, ">12-02</text>") != NULL);
	CHECK(strstr(o, ">day (Etc/GMT)</text>") != NULL);
	CHECK(strstr(o, ">$0.50</text>") !=
	      NULL); /* gridlines every 50 cents up to $2 */
	CHECK(strstr(o, ">$2.00</text>") != NULL);
	CHECK(strstr(o, "y=\"56.00\" width=\"18\" height=\"120.00\"") !=
	      NULL); /* the top */
	CHECK(o[len ? len - 1 : 0] == '\n' &&
	      strstr(o, "</svg>\n") == o + len - 7);
	CHECK_EQ_INT(len, strlen(o));
	free(out);
	out = NULL;
	TEST_CTX("usage.svg: no series");
	CHECK_EQ_INT(
		model_render_usage_svg("{\"timeSeries\":[]}", 17, &out, &len),
		0);
	CHECK_EQ_INT(count(out, "<rect class=\"bar\""), 0);
	CHECK(strstr(out ? out : "", "no usage in this period") != NULL);
	free(out);
	CHECK_EQ_INT(model_render_usage_svg("{}", 2, &out, &len), -EIO);
}

static void test_usage_svg_many(void)
{
	char usage[8192], *out = NULL, *p = usage;
	size_t len = 0;

	/* 12 series: the 9 largest apart, the other 3 as one grey "other". */
	p += sprintf(p, "{\"timeSeries\":[");
	for (int i = 0; i < 12; i++)
		p += sprintf(
			p,
			"%s{\"groupLabels\":[\"s%d\\u00e9\xff\"],\"dataPoints\":["
			"{\"timestamp\":\"2026-01-01T00:00:00Z\",\"values\":[%d]}]}",
			i ? "," : "", i, i + 1);
	sprintf(p, "]}");
	TEST_CTX("usage.svg: more series than colours");
	CHECK_EQ_INT(model_render_usage_svg(usage, strlen(usage), &out, &len),
		     0);
	CHECK_EQ_INT(count(out, "<rect class=\"swatch\""), 10);
	CHECK(strstr(out ? out : "", ">other ($6.00)</text>") != NULL);
	CHECK(strstr(out ? out : "", ">s11\xc3\xa9? ($12.00)</text>") !=
	      NULL); /* not UTF-8: ? */
	CHECK(strstr(out ? out : "",
		     "fill=\"#bab0ac\"><title>2026-01-01T00:00:00Z other: $6.0000") !=
	      NULL);
	free(out);
}

int main(void)
{
	test_query();
	test_request();
	test_render();
	test_invoices();
	test_limits_render();
	test_limits_update();
	test_usage_svg();
	test_usage_svg_many();
	return test_done();
}
