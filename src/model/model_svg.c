/* model_svg.c - usage as a stacked bar chart in SVG; see model_svg.h. */
#include "model_svg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include "buf.h"
#include "model_int.h"

#define SVG_TOP 56     /* the heading above the plot */
#define SVG_PLOT_H 240 /* plot height in px */
#define SVG_BOTTOM 78  /* dates and the axis title below it */
#define SVG_LEFT 76    /* dollar labels */
#define SVG_SLOT 24    /* px per day */
#define SVG_BAR 18
#define SVG_LEGEND_W 320
#define SVG_LEGEND_ROW 20
#define SVG_LABEL_MAX 48 /* bytes of a series name in the legend */
#define SVG_TICKS 5	 /* about this many gridlines */

static const char *const svg_colours[MODEL_SVG_COLOURS] = {
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
};

struct svg_series {
	char *label; /* owned */
	double total;
	int slot; /* colour slot; the last one is "other" */
};

struct svg_chart {
	struct json_object *root, *series; /* borrowed from the parse */
	struct svg_series *s;		   /* one per time series */
	size_t ns;
	const char *days[MODEL_SVG_MAX_BARS]; /* sorted timestamps (borrowed) */
	size_t nd;
	double cells[MODEL_SVG_COLOURS]
		    [MODEL_SVG_MAX_BARS]; /* usd per slot and day */
	double day_total[MODEL_SVG_MAX_BARS];
	double slot_total[MODEL_SVG_COLOURS];
	const char *slot_label[MODEL_SVG_COLOURS];
	size_t nslots;	  /* slots in use */
	double top, step; /* the axis: 0..top, gridlines every step */
};

/* Bytes of the UTF-8 sequence at p, or 0 when it is not one. */
static size_t svg_utf8_len(const unsigned char *p)
{
	size_t n = p[0] < 0x80			 ? 1
		   : p[0] >= 0xc2 && p[0] < 0xe0 ? 2
		   : p[0] >= 0xe0 && p[0] < 0xf0 ? 3
		   : p[0] >= 0xf0 && p[0] < 0xf5 ? 4
						 : 0;

	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) ||
	    (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) ||
	    (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

/* XML-escape at most max bytes of s onto b (cut at a character; "..." when
 * cut). */
static int svg_text_max(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t used = 0;
	int rc = 0;

	while (*p && rc == 0) {
		size_t n = svg_utf8_len(p);

		if (used + (n ? n : 1) > max)
			return buf_puts(b, "...");
		used += n ? n : 1;
		if (!n ||
		    (*p < 0x20)) /* not UTF-8, or not allowed in XML 1.0 */
			rc = buf_puts(b, *p < 0x20 && n ? " " : "?");
		else if (*p == '&' || *p == '<' || *p == '>' || *p == '"' ||
			 *p == '\'')
			rc = buf_puts(b, *p == '&'   ? "&amp;"
					 : *p == '<' ? "&lt;"
					 : *p == '>' ? "&gt;"
					 : *p == '"' ? "&quot;"
						     : "&apos;");
		else
			rc = buf_printf(b, "%.*s", (int)n, (const char *)p);
		p += n ? n : 1;
	}
	return rc;
}

static int svg_text(struct buf *b, const char *s)
{
	return svg_text_max(b, s ? s : "", (size_t)-1);
}

/* ---- reading the usage ---- */

/* A series' name: its groupLabels (else group) joined with " / ", else "series
 * N". */
static char *svg_label(struct json_object *ts, size_t i)
{
	struct json_object *g = member(ts, "groupLabels", "group_labels");
	struct buf b;
	int rc = 0;

	if (!json_object_is_type(g, json_type_array) ||
	    json_object_array_length(g) == 0)
		g = member(ts, "group", NULL);
	buf_init(&b, 4096);
	for (size_t k = 0; json_object_is_type(g, json_type_array) &&
			   k < json_object_array_length(g) && rc == 0;
	     k++) {
		const char *s = str_value(json_object_array_get_idx(g, k));

		if (s && *s)
			rc = buf_printf(&b, "%s%s", b.len ? " / " : "", s);
	}
	if (rc == 0 && b.len == 0)
		rc = buf_printf(&b, "series %zu", i + 1);
	if (rc < 0 && b.len == 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b, NULL); /* a name cut at the cap is still a name */
}

/* The usd of a data point: its first value, 0 when it is not a sane amount. */
static double svg_value(struct json_object *pt)
{
	struct json_object *vals = member(pt, "values", NULL);
	double v = 0;

	if (!json_object_is_type(vals, json_type_array) ||
	    json_object_array_length(vals) == 0 ||
	    double_value(json_object_array_get_idx(vals, 0), &v) < 0 || v < 0 ||
	    v > 1e15)
		return 0;
	return v;
}

static int svg_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static long svg_day_index(const struct svg_chart *c, const char *ts)
{
	const char **hit = bsearch(&ts, c->days, c->nd, sizeof(c->days[0]),
				   svg_cmp_str);

	return hit ? (long)(hit - c->days) : -1;
}

/* Pass 1: names, totals and the days (the first MODEL_SVG_MAX_BARS met),
 * sorted. */
static int svg_scan(struct svg_chart *c)
{
	const char *seen[MODEL_SVG_MAX_BARS];
	size_t nseen = 0;

	c->ns = json_object_array_length(c->series);
	c->s = calloc(c->ns ? c->ns : 1, sizeof(*c->s));
	if (!c->s)
		return -ENOMEM;
	for (size_t i = 0; i < c->ns; i++) {
		struct json_object *ts = json_object_array_get_idx(c->series,
								   i);
		struct json_object *pts = member(ts, "dataPoints",
						 "data_points");

		if (!(c->s[i].label = svg_label(ts, i)))
			return -ENOMEM;
		for (size_t j = 0; json_object_is_type(pts, json_type_array) &&
				   j < json_object_array_length(pts);
		     j++) {
			struct json_object *pt = json_object_array_get_idx(pts,
									   j);
			const char *day = member_str(pt, "timestamp", NULL);
			size_t k;

			if (!day)
				continue;
			c->s[i].total += svg_value(pt);
			for (k = 0; k < nseen && strcmp(seen[k], day) != 0; k++)
				;
			if (k == nseen && nseen < MODEL_SVG_MAX_BARS)
				seen[nseen++] = day;
		}
	}
	memcpy(c->days, seen, nseen * sizeof(seen[0]));
	c->nd = nseen;
	qsort(c->days, c->nd, sizeof(c->days[0]), svg_cmp_str);
	return 0;
}

/* Colour slots: the largest series first; past the slots, all share "other". */
static void svg_slots(struct svg_chart *c)
{
	size_t drawn = 0, n = 0;

	for (size_t i = 0; i < c->ns; i++)
		n += c->s[i].total > 0;
	for (size_t i = 0; i < c->ns; i++) {
		size_t rank = 0;

		c->s[i].slot = -1;
		if (!(c->s[i].total > 0))
			continue;
		for (size_t k = 0; k < c->ns; k++)
			rank += c->s[k].total > c->s[i].total ||
				(c->s[k].total == c->s[i].total && k < i);
		c->s[i].slot = (int)(n <= MODEL_SVG_COLOURS ||
						     rank < MODEL_SVG_COLOURS -
								     1
					     ? rank
					     : MODEL_SVG_COLOURS - 1);
		c->slot_label[c->s[i].slot] =
			c->s[i].slot == MODEL_SVG_COLOURS - 1 &&
					n > MODEL_SVG_COLOURS
				? "other"
				: c->s[i].label;
		drawn++;
	}
	c->nslots = drawn < MODEL_SVG_COLOURS ? drawn : MODEL_SVG_COLOURS;
}

/* Pass 2: each point's usd into its slot and day. */
static void svg_fill(struct svg_chart *c)
{
	double max = 0;

	for (size_t i = 0; i < c->ns; i++) {
		struct json_object *ts = json_object_array_get_idx(c->series,
								   i);
		struct json_object *pts = member(ts, "dataPoints",
						 "data_points");

		for (size_t j = 0; c->s[i].slot >= 0 &&
				   json_object_is_type(pts, json_type_array) &&
				   j < json_object_array_length(pts);
		     j++) {
			struct json_object *pt = json_object_array_get_idx(pts,
									   j);
			const char *day = member_str(pt, "timestamp", NULL);
			long k = day ? svg_day_index(c, day) : -1;
			double v = svg_value(pt);

			if (k < 0)
				continue;
			c->cells[c->s[i].slot][k] += v;
			c->day_total[k] += v;
			c->slot_total[c->s[i].slot] += v;
		}
	}
	for (size_t k = 0; k < c->nd; k++)
		max = c->day_total[k] > max ? c->day_total[k] : max;
	/* Round gridlines: 1, 2 or 5 times a power of ten, about SVG_TICKS of
	 * them. */
	c->step = 1e-4;
	while (c->step * 10 * SVG_TICKS <= max)
		c->step *= 10;
	c->step = c->step * SVG_TICKS >= max	   ? c->step
		  : c->step * 2 * SVG_TICKS >= max ? c->step * 2
						   : c->step * 5;
	c->top = c->step;
	while (c->top < max * (1 - 1e-12))
		c->top += c->step;
	if (!(max > 0)) {
		c->step = 0.25;
		c->top = 1;
	}
}

/* ---- drawing ---- */

static double svg_y(const struct svg_chart *c, double usd)
{
	return SVG_TOP + SVG_PLOT_H - usd / c->top * SVG_PLOT_H;
}

static int svg_money(struct buf *b, const struct svg_chart *c, double usd)
{
	return buf_printf(b,
			  c->step >= 1	    ? "$%.0f"
			  : c->step >= 0.01 ? "$%.2f"
					    : "$%.4f",
			  usd);
}

static int svg_head(struct buf *b, const struct svg_chart *c, int w, int h)
{
	double total = 0;
	int rc;

	double_value(member(c->root, "totalUsd", "total_usd"), &total);
	rc = buf_printf(
		b,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		"<rect class=\"background\" x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
		"fill=\"white\"/>\n<text x=\"10\" y=\"24\" font-size=\"15\" "
		"font-weight=\"bold\">Usage ",
		w, h, w, h, w, h);
	if (rc == 0)
		rc = svg_text(b, member_str(c->root, "startTime", NULL));
	if (rc == 0)
		rc = buf_puts(b, " to ");
	if (rc == 0)
		rc = svg_text(b, member_str(c->root, "endTime", NULL));
	if (rc == 0)
		rc = buf_printf(b, ": $%.2f</text>\n", total);
	if (rc == 0 && c->nslots == 0)
		rc = buf_printf(
			b,
			"<text x=\"%d\" y=\"%d\" fill=\"#666\">no usage in this "
			"period</text>\n",
			SVG_LEFT + 10, SVG_TOP + SVG_PLOT_H / 2);
	return rc;
}

/* The dollar axis: gridlines, their amounts, the axis title. */
static int svg_axis(struct buf *b, const struct svg_chart *c, int right)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i * c->step <= c->top * (1 + 1e-9); i++) {
		double y = svg_y(c, i * c->step);

		rc = buf_printf(
			b,
			"<line class=\"grid\" x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" "
			"stroke=\"%s\"/>\n<text class=\"tick\" x=\"%d\" y=\"%.2f\" "
			"text-anchor=\"end\">",
			SVG_LEFT, y, right, y, i ? "#dddddd" : "black",
			SVG_LEFT - 6, y + 4);
		if (rc == 0)
			rc = svg_money(b, c, i * c->step);
		if (rc == 0)
			rc = buf_puts(b, "</text>\n");
	}
	if (rc == 0)
		rc = buf_printf(
			b,
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
			"<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 "
			"16 %d)\">spend (USD)</text>\n",
			SVG_LEFT, SVG_TOP, SVG_LEFT, SVG_TOP + SVG_PLOT_H,
			SVG_TOP + SVG_PLOT_H / 2, SVG_TOP + SVG_PLOT_H / 2);
	return rc;
}

/* Day k's date under its bar: MM-DD of an ISO timestamp, else the text. */
static int svg_date(struct buf *b, const struct svg_chart *c, size_t k, int x)
{
	const char *ts = c->days[k];
	int iso = strlen(ts) >= 10 && ts[4] == '-' && ts[7] == '-';
	int y = SVG_TOP + SVG_PLOT_H + 14;
	char md[6];
	int rc = buf_printf(
		b,
		"<text class=\"date\" x=\"%d\" y=\"%d\" font-size=\"10\" "
		"text-anchor=\"end\" transform=\"rotate(-45 %d %d)\">",
		x, y, x, y);

	snprintf(md, sizeof(md), "%s", iso ? ts + 5 : "");
	if (rc == 0)
		rc = svg_text_max(b, iso ? md : ts, 16);
	return rc ? rc : buf_puts(b, "</text>\n");
}

/* Day k: a group titled with its total, one segment per slot, then its date. */
static int svg_day(struct buf *b, const struct svg_chart *c, size_t k,
		   size_t every)
{
	int x = SVG_LEFT + 6 + (int)k * SVG_SLOT;
	double below = 0;
	int rc = buf_puts(b, "<g class=\"day\"><title>");

	if (rc == 0)
		rc = svg_text(b, c->days[k]);
	if (rc == 0)
		rc = buf_printf(b, ": $%.4f</title>\n", c->day_total[k]);
	for (size_t s = 0; rc == 0 && s < c->nslots; s++) {
		double v = c->cells[s][k];

		if (!(v > 0))
			continue;
		rc = buf_printf(
			b,
			"<rect class=\"bar\" x=\"%d\" y=\"%.2f\" width=\"%d\" "
			"height=\"%.2f\" fill=\"%s\"><title>",
			x, svg_y(c, below + v), SVG_BAR,
			v / c->top * SVG_PLOT_H, svg_colours[s]);
		below += v;
		if (rc == 0)
			rc = svg_text(b, c->days[k]);
		if (rc == 0)
			rc = buf_puts(b, " ");
		if (rc == 0)
			rc = svg_text(b, c->slot_label[s]);
		if (rc == 0)
			rc = buf_printf(b, ": $%.4f</title></rect>\n", v);
	}
	if (rc == 0)
		rc = buf_puts(b, "</g>\n");
	if (rc == 0 && k % every == 0)
		rc = svg_date(b, c, k, x + SVG_BAR / 2);
	return rc;
}

/* The legend right of the plot: colour, name, total; then the date axis title. */
static int svg_legend(struct buf *b, const struct svg_chart *c, int x)
{
	const char *tz = member_str(c->root, "timezone", NULL);
	int rc = 0;

	for (size_t s = 0; rc == 0 && s < c->nslots; s++) {
		int y = SVG_TOP + (int)s * SVG_LEGEND_ROW;

		rc = buf_printf(
			b,
			"<rect class=\"swatch\" x=\"%d\" y=\"%d\" width=\"12\" "
			"height=\"12\" fill=\"%s\"/>\n<text class=\"legend\" x=\"%d\" "
			"y=\"%d\">",
			x, y, svg_colours[s], x + 18, y + 11);
		if (rc == 0)
			rc = svg_text_max(b, c->slot_label[s], SVG_LABEL_MAX);
		if (rc == 0)
			rc = buf_printf(b, " ($%.2f)</text>\n",
					c->slot_total[s]);
	}
	if (rc == 0)
		rc = buf_printf(
			b,
			"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">day (",
			SVG_LEFT + ((int)c->nd * SVG_SLOT + 12) / 2,
			SVG_TOP + SVG_PLOT_H + SVG_BOTTOM - 8);
	if (rc == 0)
		rc = svg_text(b, tz && *tz ? tz : "UTC");
	return rc ? rc : buf_puts(b, ")</text>\n");
}

static int svg_draw(struct buf *b, const struct svg_chart *c)
{
	int right = SVG_LEFT + 12 + (int)c->nd * SVG_SLOT;
	int legend_h = SVG_TOP + (int)c->nslots * SVG_LEGEND_ROW + 20;
	int h = SVG_TOP + SVG_PLOT_H + SVG_BOTTOM, rc;
	size_t every = c->nd > 62 ? (c->nd + 30) / 31 : 1;

	if (right < SVG_LEFT + 240)
		right = SVG_LEFT + 240;
	rc = svg_head(b, c, right + 20 + SVG_LEGEND_W,
		      h > legend_h ? h : legend_h);
	if (rc == 0)
		rc = svg_axis(b, c, right);
	for (size_t k = 0; rc == 0 && k < c->nd; k++)
		rc = svg_day(b, c, k, every);
	if (rc == 0)
		rc = svg_legend(b, c, right + 20);
	return rc ? rc : buf_puts(b, "</svg>\n");
}

int model_render_usage_svg(const char *usage, size_t len, char **out,
			   size_t *out_len)
{
	struct svg_chart *c = calloc(1, sizeof(*c));
	struct buf b;
	int rc = c ? parse_object(usage, len, &c->root) : -ENOMEM;

	buf_init(&b, 1u << 24);
	if (rc < 0)
		goto out;
	c->series = member(c->root, "timeSeries", "time_series");
	if (!json_object_is_type(c->series, json_type_array)) {
		rc = -EIO;
		goto out;
	}
	rc = svg_scan(c);
	if (rc == 0) {
		svg_slots(c);
		svg_fill(c);
		rc = svg_draw(&b, c);
	}
	if (rc == 0) {
		*out = buf_take(&b, out_len);
		rc = *out ? 0 : -ENOMEM;
	}
out:
	for (size_t i = 0; c && c->s && i < c->ns; i++)
		free(c->s[i].label);
	if (c) {
		free(c->s);
		json_object_put(c->root);
	}
	free(c);
	buf_release(&b);
	return rc == -EFBIG ? -ENOMEM : rc;
}
