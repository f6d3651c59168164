/*
 * model_svg.h - usage drawn as a picture: /usage.svg and
 * usage-by-month/YYYY-MM.svg. Part of the model module: the rules of model.h
 * (tolerance, ownership, no I/O, no locks, no globals) apply.
 *
 * Owns: the chart's layout. One stacked bar per day: a segment per series
 * (the API's time series, one per model or description), the largest series
 * at the bottom, each in its own colour; the series beyond the
 * MODEL_SVG_COLOURS - 1 largest share one grey "other" segment. Beside the
 * bars a legend (colour, name, the series' total), a dollar axis with
 * gridlines at round amounts, a date under each bar (MM-DD; every few days
 * when there are many), and a heading with the period and totalUsd. Every
 * segment and every day carries a <title> tooltip ("<timestamp> <series>:
 * $<usd>", "<timestamp>: $<day total>"). Elements are marked with classes
 * (bar, swatch, tick, date, legend) so tools can read the chart back.
 *
 * Server text (series names, times) is XML-escaped, and bytes that are not
 * UTF-8 become '?', so the picture is always well-formed XML.
 */
#ifndef XAIFS_MODEL_SVG_H
#define XAIFS_MODEL_SVG_H

#include <stddef.h>

#define MODEL_SVG_MAX_BARS \
	400 /* days drawn at most (later ones are left out) */
#define MODEL_SVG_COLOURS \
	10 /* series drawn apart, the last colour being "other" */

/*
 * Render a usage file (model_render_usage(), model_render_usage_month():
 * startTime, endTime, timezone, totalUsd, timeSeries[{groupLabels, group,
 * dataPoints[{timestamp, values[usd]}]}]) as an SVG document ending in
 * "</svg>\n". A value that is not a finite number from 0 to 1e15 counts as 0.
 * Returns 0, -EIO when timeSeries is not an array (or the body not an
 * object), -ENOMEM. *out is the caller's (free()).
 */
int model_render_usage_svg(const char *usage, size_t len, char **out,
			   size_t *out_len);

#endif
