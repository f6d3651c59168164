/*
 * model_time.c - times in the API's answers: RFC 3339 strings or Unix
 * seconds (model_parse_time(), member_time()), and the civil-date arithmetic
 * the usage periods are built on. Part of the model module (model.h).
 */
#include <errno.h>
#include <stdint.h>

#include <json-c/json.h>

#include "model.h"
#include "model_int.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic). */
int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dm[m - 1];
}

/* n decimal digits at s; stops at a NUL, so never reads past one. */
static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!is_ascii_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The zone at p ("Z" or "+HH:MM"/"-HH:MM", then the end): seconds east. */
static int parse_zone(const char *p, int *east)
{
	int h, m;

	if ((*p == 'Z' || *p == 'z') && !p[1]) {
		*east = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || digits(p + 1, 2, &h) || p[3] != ':' ||
	    digits(p + 4, 2, &m) || p[6] || h > 23 || m > 59)
		return -EINVAL;
	*east = (*p == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

int model_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, east;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	if (str_to_int64(s, out) == 0)
		return 0;
	/* each test runs only if the previous ones matched, so no overread */
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		if (!is_ascii_digit(*++p))
			return -EINVAL;
		while (is_ascii_digit(*p))
			p++;
	}
	if (parse_zone(p, &east) < 0)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       east;
	return 0;
}

/* A timestamp (RFC 3339 string or Unix seconds); 0 when missing or bad. */
int64_t member_time(struct json_object *o, const char *k1, const char *k2)
{
	struct json_object *v = member(o, k1, k2);
	int64_t t = 0;

	if (json_object_is_type(v, json_type_string)) {
		if (model_parse_time(str_value(v), &t) < 0)
			t = 0;
	} else if (int64_value(v, &t) < 0) {
		t = 0;
	}
	return t;
}
