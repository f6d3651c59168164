/* model_render.c - times, usage, billing and error bodies: the rendered files.
 * See model.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "model.h"
#include "model_int.h"

/* ------------------------------------------------------------------ */
/* Usage                                                              */
/* ------------------------------------------------------------------ */

struct period {
	char start[48]; /* "YYYY-MM-01 00:00:00" */
	char end[48];	/* the day after now, 00:00:00 (exclusive) */
};

static void usage_period(time_t now, struct period *p)
{
	int64_t t = (int64_t)now, days, y;
	int m, d;

	days = t / 86400 - (t % 86400 < 0); /* floor */
	civil_from_days(days, &y, &m, &d);
	snprintf(p->start, sizeof(p->start), "%04lld-%02d-01 00:00:00",
		 (long long)y, m);
	civil_from_days(days + 1, &y, &m, &d);
	snprintf(p->end, sizeof(p->end), "%04lld-%02d-%02d 00:00:00",
		 (long long)y, m, d);
}

/* The period of month (y, m): whole, or up to tomorrow when it is now's month. */
static void usage_period_month(int y, int m, time_t now, struct period *p)
{
	int64_t days = (int64_t)now / 86400 - ((int64_t)now % 86400 < 0), ny;
	int nm, nd;

	civil_from_days(days, &ny, &nm, &nd);
	if (ny == y && nm == m) {
		usage_period(now, p);
		return;
	}
	snprintf(p->start, sizeof(p->start), "%04d-%02d-01 00:00:00", y, m);
	snprintf(p->end, sizeof(p->end), "%04d-%02d-01 00:00:00",
		 m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
}

static int usage_request_for(const struct period *p, char **body);
static int render_usage_for(const struct period *p, const char *body,
			    size_t len, char **out, size_t *out_len);

int model_usage_month_request(int year, int month, time_t now, char **body)
{
	struct period p;

	if (month < 1 || month > 12 || year < 1970 || year > 9999)
		return -EINVAL;
	usage_period_month(year, month, now, &p);
	return usage_request_for(&p, body);
}

int model_render_usage_month(int year, int month, time_t now, const char *body,
			     size_t len, char **out, size_t *out_len)
{
	struct period p;

	if (month < 1 || month > 12 || year < 1970 || year > 9999)
		return -EINVAL;
	usage_period_month(year, month, now, &p);
	return render_usage_for(&p, body, len, out, out_len);
}

int model_usage_request(time_t now, char **body)
{
	struct period p;

	usage_period(now, &p);
	return usage_request_for(&p, body);
}

static int usage_request_for(const struct period *p, char **body)
{
	/* every interpolated byte is a digit, '-', ':' or ' ': no escaping */
	static const char fmt[] =
		"{\"analyticsRequest\":{"
		"\"timeRange\":{\"startTime\":\"%s\",\"endTime\":\"%s\","
		"\"timezone\":\"Etc/GMT\"},"
		"\"timeUnit\":\"TIME_UNIT_DAY\","
		"\"values\":[{\"name\":\"usd\",\"aggregation\":\"AGGREGATION_SUM\"}],"
		"\"groupBy\":[\"description\"],"
		"\"filters\":[]}}";
	*body = NULL;
	if (asprintf(body, fmt, p->start, p->end) < 0) {
		*body = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Sum of every data point's first value (non-numbers are skipped). */
static double usage_total(struct json_object *series)
{
	struct json_object *s, *pts, *vals;
	size_t i, j, n = json_object_array_length(series), np;
	double sum = 0, v;

	for (i = 0; i < n; i++) {
		s = json_object_array_get_idx(series, i);
		pts = member(s, "dataPoints", "data_points");
		if (!json_object_is_type(pts, json_type_array))
			continue;
		np = json_object_array_length(pts);
		for (j = 0; j < np; j++) {
			vals = member(json_object_array_get_idx(pts, j),
				      "values", NULL);
			if (json_object_is_type(vals, json_type_array) &&
			    json_object_array_length(vals) > 0 &&
			    double_value(json_object_array_get_idx(vals, 0),
					 &v) == 0)
				sum += v;
		}
	}
	return sum;
}

/*
 * USD as a JSON number rounded to micro-dollars ("1.5194", not
 * "1.5194000000000001"); NULL (written as null) if not finite.
 */
static struct json_object *usd_number(double v)
{
	char s[64];
	size_t n;

	if (!isfinite(v))
		return NULL;
	if (fabs(v) >= 1e15)
		return json_object_new_double(v);
	snprintf(s, sizeof(s), "%.6f", v);
	n = strlen(s);
	while (n > 2 && s[n - 1] == '0' && s[n - 2] != '.')
		s[--n] = '\0';
	return json_object_new_double_s(v, strcmp(s, "-0.0") ? s : "0.0");
}

int model_render_usage(time_t now, const char *body, size_t len, char **out,
		       size_t *out_len)
{
	struct period p;

	usage_period(now, &p);
	return render_usage_for(&p, body, len, out, out_len);
}

static int render_usage_for(const struct period *p, const char *body,
			    size_t len, char **out, size_t *out_len)
{
	struct json_object *root = NULL, *o = NULL, *ts, *lr, *usd;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = parse_object(body, len, &root);
	if (rc < 0)
		return rc;
	ts = member(root, "timeSeries", "time_series");
	lr = member(root, "limitReached", "limit_reached");
	rc = -EIO;
	if (ts && !json_object_is_type(ts, json_type_array))
		goto out;
	rc = -ENOMEM;
	o = json_object_new_object();
	if (!o)
		goto out;
	rc = 0;
	put_member(o, "startTime", json_object_new_string(p->start), &rc);
	put_member(o, "endTime", json_object_new_string(p->end), &rc);
	put_member(o, "timezone", json_object_new_string("Etc/GMT"), &rc);
	put_member(o, "timeUnit", json_object_new_string("TIME_UNIT_DAY"), &rc);
	usd = ts ? usd_number(usage_total(ts)) : usd_number(0);
	if (usd)
		put_member(o, "totalUsd", usd, &rc);
	else
		put_ref(o, "totalUsd", NULL, &rc);
	if (ts)
		put_ref(o, "timeSeries", ts, &rc);
	else
		put_member(o, "timeSeries", json_object_new_array(), &rc);
	put_member(o, "limitReached",
		   json_object_new_boolean(
			   json_object_is_type(lr, json_type_boolean) &&
			   json_object_get_boolean(lr)),
		   &rc);
	if (rc == 0)
		rc = render_json(o, out, out_len);
out:
	json_object_put(o);
	json_object_put(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Billing                                                            */
/* ------------------------------------------------------------------ */

/* A NULL body is "not available": *out stays NULL and renders as null. */
static int parse_opt(const char *body, size_t len, struct json_object **out)
{
	*out = NULL;
	return body ? parse_object(body, len, out) : 0;
}

/* abs(total.val) of a prepaid balance (negative means credit left). */
static int64_t prepaid_cents(struct json_object *balance)
{
	struct json_object *t = member(balance, "total", NULL);
	int64_t v;

	if (json_object_is_type(t, json_type_object))
		t = member(t, "val", NULL);
	if (int64_value(t, &v) < 0)
		return 0;
	if (v == INT64_MIN)
		return INT64_MAX;
	return v < 0 ? -v : v;
}

static const char *const billing_parts[MODEL_BILLING_PARTS] = {
	[MODEL_BALANCE] = "balance",
	[MODEL_LIMITS] = "spendingLimits",
	[MODEL_PREVIEW] = "invoicePreview",
};

const char *model_billing_part_name(enum model_billing_part p)
{
	return p < MODEL_BILLING_PARTS ? billing_parts[p] : "?";
}

int model_is_object(const char *body, size_t len)
{
	struct json_object *o = NULL;
	int rc = parse_object(body, len, &o);

	json_object_put(o);
	return rc;
}

/* {"<part>": "<message>"} for each part that failed, or NULL when none did. */
static struct json_object *billing_errors(const struct model_billing *b,
					  int *rc)
{
	struct json_object *e = NULL;

	for (int i = 0; i < MODEL_BILLING_PARTS && *rc == 0; i++) {
		if (b->body[i])
			continue;
		if (!e && !(e = json_object_new_object())) {
			*rc = -ENOMEM;
			break;
		}
		put_member(e, billing_parts[i],
			   json_object_new_string(b->error[i] ? b->error[i]
							      : "unavailable"),
			   rc);
	}
	return e;
}

int model_render_billing(const struct model_billing *b, char **out,
			 size_t *out_len)
{
	struct json_object *part[MODEL_BILLING_PARTS] = { NULL }, *o = NULL,
			   *errs;
	int rc = 0;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	for (int i = 0; i < MODEL_BILLING_PARTS && rc == 0; i++)
		rc = parse_opt(b->body[i], b->len[i], &part[i]);
	if (rc < 0)
		goto out;
	o = json_object_new_object();
	if (!o) {
		rc = -ENOMEM;
		goto out;
	}
	if (part[MODEL_BALANCE])
		put_member(o, "prepaidCreditCents",
			   json_object_new_int64(
				   prepaid_cents(part[MODEL_BALANCE])),
			   &rc);
	else
		put_ref(o, "prepaidCreditCents", NULL, &rc);
	put_ref(o, "balance", part[MODEL_BALANCE], &rc);
	put_ref(o, "spendingLimits",
		member(part[MODEL_LIMITS], "spendingLimits", "spending_limits"),
		&rc);
	put_ref(o, "invoicePreview", part[MODEL_PREVIEW], &rc);
	errs = billing_errors(b, &rc);
	if (errs)
		put_member(o, "errors", errs, &rc);
	if (rc == 0)
		rc = render_json(o, out, out_len);
out:
	json_object_put(o);
	for (int i = 0; i < MODEL_BILLING_PARTS; i++)
		json_object_put(part[i]);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Error bodies                                                       */
/* ------------------------------------------------------------------ */

/* Expected length of a UTF-8 sequence from its lead byte (1 if not a lead). */
static size_t utf8_seq_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	return c >= 0xc0 ? 2 : 1;
}

/* Drop a UTF-8 sequence left incomplete at the end of msg[0..n). */
static size_t trim_partial_utf8(const char *msg, size_t n)
{
	size_t j = n;

	while (j > 0 && ((unsigned char)msg[j - 1] & 0xc0) == 0x80)
		j--;
	if (j > 0 && (unsigned char)msg[j - 1] >= 0xc0 &&
	    n - (j - 1) < utf8_seq_len((unsigned char)msg[j - 1]))
		return j - 1;
	return n;
}

/* First non-blank line of s[0..n) into msg, control bytes dropped. */
static void copy_line(const char *s, size_t n, char *msg, size_t msgsz)
{
	size_t i = 0, o = 0;
	unsigned char c;
	int cut = 0;

	while (i < n && is_json_space(s[i]))
		i++;
	for (; i < n && s[i] != '\n' && s[i] != '\r'; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			continue;
		if (o + 1 >= msgsz) {
			cut = 1;
			break;
		}
		msg[o++] = (char)c;
	}
	if (cut)
		o = trim_partial_utf8(msg, o);
	while (o > 0 && msg[o - 1] == ' ')
		o--;
	msg[o] = '\0';
}

void model_error_message(const char *body, size_t len, char *msg, size_t msgsz)
{
	struct json_object *root = NULL;
	const char *s = NULL;

	if (!msg || msgsz == 0)
		return;
	msg[0] = '\0';
	if (!body || len == 0)
		return;
	if (parse_object(body, len, &root) == 0) {
		s = member_str(root, "error", NULL);
		if (!nonempty(s))
			s = member_str(root, "message", NULL);
		if (!nonempty(s))
			s = member_str(member(root, "error", NULL), "message",
				       NULL);
	}
	if (nonempty(s))
		copy_line(s, strlen(s), msg, msgsz);
	else
		copy_line(body, len, msg, msgsz);
	json_object_put(root);
}

int model_render_counters(const struct model_counter *c, size_t n, char **out,
			  size_t *out_len)
{
	struct json_object *root = json_object_new_object();
	int rc = root ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && rc == 0; i++) {
		struct json_object *sec = member(root, c[i].section, NULL);

		if (!sec) {
			sec = json_object_new_object();
			if (!sec) {
				rc = -ENOMEM;
				break;
			}
			put_member(root, c[i].section, sec, &rc);
		}
		if (rc == 0)
			put_member(sec, c[i].name,
				   json_object_new_int64((int64_t)c[i].value),
				   &rc);
	}
	if (rc == 0)
		rc = render_json(root, out, out_len);
	json_object_put(root);
	return rc;
}

int model_pretty(const char *body, size_t len, char **out, size_t *out_len)
{
	struct json_object *o = NULL;
	int rc = parse_object(body, len, &o);

	if (rc == 0)
		rc = render_json(o, out, out_len);
	json_object_put(o);
	return rc;
}

/* One event per line: compact JSON (no slashes escaped) and '\n'. */
int model_audit_page(const char *body, size_t len, struct buf *lines,
		     size_t *count, char **next)
{
	struct json_object *root = NULL, *events;
	const char *tok;
	size_t n;
	int rc;

	*next = NULL;
	rc = parse_object(body, len, &root);
	if (rc < 0)
		return rc;
	rc = member_array(root, "events", NULL, &events, &n);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct json_object *e = json_object_array_get_idx(events, i);

		if (!json_object_is_type(e, json_type_object))
			continue;
		rc = append_json_line(lines, e);
		if (rc == 0)
			(*count)++;
	}
	tok = member_str(root, "nextPageToken", "next_page_token");
	if (rc == 0 && nonempty(tok) && !(*next = strdup(tok)))
		rc = -ENOMEM;
out:
	json_object_put(root);
	return rc == -EFBIG ? -EIO : rc;
}

int model_document_status(const char *json, size_t len, char *out, size_t outsz)
{
	struct json_object *o = NULL;
	const char *st;
	int rc = parse_object(json, len, &o);

	if (rc == 0) {
		st = member_str(o, "status", NULL);
		snprintf(out, outsz, "%s", st ? st : "DOCUMENT_STATUS_UNKNOWN");
	}
	json_object_put(o);
	return rc;
}
