/* test_names.c - the display-name rule: encoding, cutting, collisions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "test.h"

/* ------------------------------------------------------------------ */
/* Invariant checker                                                  */
/* ------------------------------------------------------------------ */

/* Independent strict UTF-8 validator (no overlongs, surrogates, > U+10FFFF). */
static int valid_utf8(const unsigned char *p)
{
	uint32_t cp;
	int n, i;

	while (*p) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* A name a kernel and a terminal can take. */
static int sane_name(const char *s, size_t maxlen)
{
	const unsigned char *p;

	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, "..") ||
	    strlen(s) > maxlen || !valid_utf8((const unsigned char *)s))
		return 0;
	for (p = (const unsigned char *)s; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return 0; /* C0, DEL or C1 (U+0080-U+009F) */
	return 1;
}

/* ------------------------------------------------------------------ */
/* names_encode                                                       */
/* ------------------------------------------------------------------ */

static char *rep(const char *unit, size_t n, const char *tail)
{
	size_t ul = strlen(unit), tl = tail ? strlen(tail) : 0, i;
	char *s = malloc(ul * n + tl + 1);

	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	if (tl)
		memcpy(s + ul * n, tail, tl);
	s[ul * n + tl] = '\0';
	return s;
}

struct enc_row {
	const char *what;
	const char *raw;
	const char *id;
	size_t maxlen;
	const char *want;
};

static const struct enc_row enc_rows[] = {
	{ "plain", "hello", "id1", 255, "hello" },
	{ "NULL name", NULL, "id1", 255, "id1" },
	{ "empty name", "", "id1", 255, "id1" },
	{ "dot", ".", "id1", 255, "id1" },
	{ "dotdot", "..", "id1", 255, "id1" },
	{ "three dots kept", "...", "id1", 255, "..." },
	{ "dot prefix kept", ".hidden", "id1", 255, ".hidden" },
	{ "slash", "a/b", "id1", 255, "a%2Fb" },
	{ "only slash", "/", "id1", 255, "%2F" },
	{ "newline", "a\nb", "id1", 255, "a%0Ab" },
	{ "tab", "\t", "id1", 255, "%09" },
	{ "escape seq", "\x1b[31mred", "id1", 255, "%1B[31mred" },
	{ "DEL", "x\x7f", "id1", 255, "x%7F" },
	{ "percent kept", "100% sure %2F", "id1", 255, "100% sure %2F" },
	{ "spaces kept", " a b ", "id1", 255, " a b " },
	{ "utf8 2-byte", "caf\xc3\xa9", "id1", 255, "caf\xc3\xa9" },
	{ "utf8 3-byte", "\xe2\x82\xac", "id1", 255, "\xe2\x82\xac" },
	{ "utf8 4-byte", "\xf0\x9f\x98\x80", "id1", 255, "\xf0\x9f\x98\x80" },
	{ "C1 NEL", "\xc2\x85", "id1", 255, "%C2%85" },
	{ "C1 CSI",
	  "a\xc2\x9b"
	  "31mb",
	  "id1", 255, "a%C2%9B31mb" },
	{ "C1 first", "\xc2\x80", "id1", 255, "%C2%80" },
	{ "C1 last", "\xc2\x9f", "id1", 255, "%C2%9F" },
	{ "NBSP after C1 kept", "\xc2\xa0", "id1", 255, "\xc2\xa0" },
	{ "U+00A1 and U+00C0 kept", "\xc2\xa1\xc3\x80", "id1", 255,
	  "\xc2\xa1\xc3\x80" },
	{ "C2 then C1 byte twice", "\xc2\xc2\x9b", "id1", 255, "%C2%C2%9B" },
	{ "C2 then DEL", "\xc2\x7f", "id1", 255, "%C2%7F" },
	{ "C1 in id", NULL, "x\xc2\x9by", 255, "x%C2%9By" },
	{ "lone 0xff", "\xff", "id1", 255, "%FF" },
	{ "truncated seq", "a\xc3", "id1", 255, "a%C3" },
	{ "truncated 3-byte",
	  "\xe2\x82"
	  "x",
	  "id1", 255, "%E2%82x" },
	{ "lone continuation",
	  "\x80"
	  "a",
	  "id1", 255, "%80a" },
	{ "overlong slash", "\xc0\xaf", "id1", 255, "%C0%AF" },
	{ "overlong 3-byte", "\xe0\x80\xaf", "id1", 255, "%E0%80%AF" },
	{ "surrogate", "\xed\xa0\x80", "id1", 255, "%ED%A0%80" },
	{ "above U+10FFFF", "\xf4\x90\x80\x80", "id1", 255, "%F4%90%80%80" },
	{ "lead 0xf5", "\xf5\x80\x80\x80", "id1", 255, "%F5%80%80%80" },
	{ "id with slash", NULL, "a/b", 255, "a%2Fb" },
	{ "id is dot", ".", ".", 255, "%2E" },
	{ "id is dotdot", "", "..", 255, "%2E%2E" },
	{ "empty id too", "", "", 255, "_" },
	{ "NULL id", NULL, NULL, 255, "_" },
};

static void test_encode_table(void)
{
	size_t i;
	char *s;

	for (i = 0; i < sizeof(enc_rows) / sizeof(enc_rows[0]); i++) {
		TEST_CTX(enc_rows[i].what);
		s = names_encode(enc_rows[i].raw, enc_rows[i].id,
				 enc_rows[i].maxlen);
		CHECK_EQ_STR(s, enc_rows[i].want);
		CHECK(sane_name(s, enc_rows[i].maxlen));
		free(s);
	}
}

struct long_row {
	const char *what;
	const char *unit; /* raw = prefix + unit * n */
	const char *prefix;
	size_t n;
	const char *id;
	size_t maxlen;
	const char *want_unit; /* want = want_prefix + want_unit * wn + tail */
	const char *want_prefix;
	size_t wn;
	const char *tail;
};

static const struct long_row long_rows[] = {
	{ "255 fits", "a", "", 255, "ID", 255, "a", "", 255, NULL },
	{ "256 cut", "a", "", 256, "ID", 255, "a", "", 252, "~ID" },
	{ "300 bytes", "a", "", 300, "ID", 255, "a", "", 252, "~ID" },
	{ "2-byte chars", "\xc3\xa9", "", 150, "ID", 255, "\xc3\xa9", "", 126,
	  "~ID" },
	{ "3-byte at the cut", "\xe2\x82\xac", "a", 100, "ID", 255,
	  "\xe2\x82\xac", "a", 83, "~ID" },
	{ "escape at the cut", "/", "a", 100, "ID", 255, "%2F", "a", 83,
	  "~ID" },
	{ "C1 at the cut", "\xc2\x9b", "a", 60, "ID", 255, "%C2%9B", "a", 41,
	  "~ID" },
	{ "C1 fits", "\xc2\x9b", "a", 42, "ID", 255, "%C2%9B", "a", 42, NULL },
	{ "id needs escaping", "a", "", 300, "x/y", 255, "a", "", 249,
	  "~x%2Fy" },
	{ "small maxlen", "a", "", 40, "ID", 33, "a", "", 30, "~ID" },
	{ "maxlen below min", "a", "", 40, "ID", 4, "a", "", 29, "~ID" },
	{ "maxlen 0 = max", "a", "", 300, "ID", 0, "a", "", 252, "~ID" },
	{ "maxlen above max", "a", "", 300, "ID", 4096, "a", "", 252, "~ID" },
};

static void test_encode_long(void)
{
	char *raw, *want, *s, *tmp;
	const struct long_row *r;
	size_t i, max;

	for (i = 0; i < sizeof(long_rows) / sizeof(long_rows[0]); i++) {
		r = &long_rows[i];
		TEST_CTX(r->what);
		tmp = rep(r->unit, r->n, NULL);
		raw = rep(r->prefix, 1, tmp);
		free(tmp);
		tmp = rep(r->want_unit, r->wn, r->tail);
		want = rep(r->want_prefix, 1, tmp);
		free(tmp);
		s = names_encode(raw, r->id, r->maxlen);
		CHECK_EQ_STR(s, want);
		max = r->maxlen == 0 || r->maxlen > NAMES_MAX ? NAMES_MAX
		      : r->maxlen < NAMES_MIN		      ? NAMES_MIN
							      : r->maxlen;
		CHECK(sane_name(s, max));
		free(s);
		free(raw);
		free(want);
	}
}

static void test_encode_long_id(void)
{
	char *raw = rep("a", 300, NULL), *id = rep("b", 300, NULL);
	char *want = rep("b", 254, NULL), *s;

	TEST_CTX("id longer than the limit");
	s = names_encode(raw, id, 255);
	CHECK(s && s[0] == '~');
	CHECK(s && !strcmp(s + 1, want));
	CHECK(sane_name(s, 255));
	free(s);
	s = names_encode(NULL, id, 255); /* the id itself as the name */
	CHECK(sane_name(s, 255));
	free(s);
	free(raw);
	free(id);
	free(want);
}

/* Random bytes: every result is a sane name. */
static void test_encode_random(void)
{
	unsigned char raw[400];
	uint32_t x = 12345;
	size_t i, j, n, maxlen;
	int bad = 0;
	char *s;

	TEST_CTX("random bytes");
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		n = (x >> 8) % sizeof(raw);
		for (j = 0; j < n; j++) {
			x = x * 1103515245u + 12345u;
			raw[j] = (unsigned char)(x >> 16);
			if (!raw[j])
				raw[j] = 0xc3;
		}
		raw[n] = '\0';
		maxlen = NAMES_MIN + (x >> 4) % (NAMES_MAX - NAMES_MIN + 1);
		s = names_encode((const char *)raw, "file_x/y", maxlen);
		if (!sane_name(s, maxlen))
			bad++;
		free(s);
	}
	CHECK_EQ_INT(bad, 0);
}

/* ------------------------------------------------------------------ */
/* names_assign                                                       */
/* ------------------------------------------------------------------ */

struct ent_row {
	const char *id;
	const char *raw;
	int64_t mtime;
	const char *want;
};

static struct reslist *build(const struct ent_row *rows, const size_t *order,
			     size_t n)
{
	struct reslist *l = reslist_new();
	struct res r;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ent_row *e = &rows[order ? order[i] : i];

		memset(&r, 0, sizeof(r));
		r.id = strdup(e->id);
		r.raw_name = e->raw ? strdup(e->raw) : NULL;
		r.json = strdup("{}\n");
		r.mtime = e->mtime;
		r.size = -1;
		if (reslist_append(l, &r) != 0)
			abort();
	}
	return l;
}

/* Every entry sane, names unique, both indexes find every entry. */
static void check_assigned(const struct reslist *l, size_t maxlen)
{
	size_t i, j;
	int bad = 0, dup = 0;

	for (i = 0; i < l->n; i++) {
		if (!sane_name(l->v[i].name, maxlen))
			bad++;
		if (reslist_by_name(l, l->v[i].name) != &l->v[i])
			bad++;
		for (j = i + 1; j < l->n && l->n <= 300; j++)
			if (!strcmp(l->v[i].name, l->v[j].name))
				dup++;
	}
	CHECK(l->by_name != NULL && l->by_id != NULL);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(dup, 0);
}

static const char *name_of(const struct reslist *l, const char *id)
{
	const struct res *r = reslist_by_id(l, id);

	return r ? r->name : NULL;
}

static const char *const reserved[] = { "usage", "billing", ".xaifs", NULL };

/* Collisions of every kind among entries with distinct ids. */
static const struct ent_row collide[] = {
	{ "z", "a", 5, "a~z" },
	{ "y", "a", 1, "a~y~2" },	  /* "a~y" is x2's own name */
	{ "x", "a", 1, "a" },		  /* mtime 1, id x: first */
	{ "x2", "a~y", 9, "a~y" },	  /* keeps its own name */
	{ "u1", "usage", 0, "usage~u1" }, /* reserved */
	{ "b1", "billing", 0, "billing~b1" },
	{ "p", "p/q", 0, "p%2Fq" },
	{ "p2", "p%2Fq", 0, "p%2Fq~p2" }, /* same name after encoding */
	{ "n1", NULL, 0, "n1" },
	{ "n2", "n1", 7, "n1~n2" }, /* empty name took id n1 first */
};
#define NCOLLIDE (sizeof(collide) / sizeof(collide[0]))

static void check_rows(const struct reslist *l, const struct ent_row *rows,
		       size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		CHECK_EQ_STR(name_of(l, rows[i].id), rows[i].want);
}

static void test_assign_collisions(void)
{
	struct reslist *l = build(collide, NULL, NCOLLIDE);

	TEST_CTX("collisions");
	CHECK_EQ_INT(names_assign(l, 255, reserved), 0);
	check_rows(l, collide, NCOLLIDE);
	check_assigned(l, 255);
	/* running it again gives the same names (and frees the old ones) */
	CHECK_EQ_INT(names_assign(l, 255, reserved), 0);
	check_rows(l, collide, NCOLLIDE);
	reslist_unref(l);
}

/* Reverse-lexicographic next permutation; 0 when done. */
static int next_perm(size_t *a, size_t n)
{
	size_t i, j, t;

	if (n < 2)
		return 0;
	for (i = n - 1; i > 0 && a[i - 1] >= a[i]; i--)
		;
	if (i == 0)
		return 0;
	for (j = n - 1; a[j] <= a[i - 1]; j--)
		;
	t = a[i - 1];
	a[i - 1] = a[j];
	a[j] = t;
	for (j = n - 1; i < j; i++, j--) {
		t = a[i];
		a[i] = a[j];
		a[j] = t;
	}
	return 1;
}

/* Every order of the first 7 rows (5040 lists) gives the same names. */
static void test_assign_order_independent(void)
{
	size_t order[7] = { 0, 1, 2, 3, 4, 5, 6 }, i;
	struct reslist *l;
	int perms = 0, bad = 0;

	TEST_CTX("order independence");
	do {
		l = build(collide, order, 7);
		if (names_assign(l, 255, reserved) != 0)
			bad++;
		for (i = 0; i < 7; i++) {
			const char *got = name_of(l, collide[i].id);

			if (!got || strcmp(got, collide[i].want))
				bad++;
		}
		reslist_unref(l);
		perms++;
	} while (next_perm(order, 7));
	CHECK_EQ_INT(perms, 5040);
	CHECK_EQ_INT(bad, 0);
}

static void test_assign_same_id(void)
{
	static const struct ent_row rows[] = {
		{ "d", "dup", 0, NULL },
		{ "d", "dup", 0, NULL },
		{ "d", "dup", 0, NULL },
		{ "d", "dup", 0, NULL },
	};
	struct reslist *l = build(rows, NULL, 4);
	int seen[4] = { 0 }, i, j;
	static const char *const want[] = { "dup", "dup~d", "dup~d~2",
					    "dup~d~3" };

	TEST_CTX("same id listed four times");
	CHECK_EQ_INT(names_assign(l, 255, NULL), 0);
	check_assigned(l, 255);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			if (!strcmp(l->v[i].name, want[j]))
				seen[j]++;
	for (j = 0; j < 4; j++)
		CHECK_EQ_INT(seen[j], 1);
	reslist_unref(l);
}

static void test_assign_long_collisions(void)
{
	struct ent_row rows[3];
	char *longname = rep("\xc3\xa9", 200, NULL);
	struct reslist *l;

	TEST_CTX("long names colliding");
	rows[0] = (struct ent_row){ "id-1", longname, 0, NULL };
	rows[1] = (struct ent_row){ "id-2", longname, 0, NULL };
	rows[2] = (struct ent_row){ "id-2", longname, 0, NULL };
	l = build(rows, NULL, 3);
	CHECK_EQ_INT(names_assign(l, 255, NULL), 0);
	check_assigned(l, 255);
	CHECK(strstr(l->v[0].name, "~id-1") != NULL);
	reslist_unref(l);

	TEST_CTX("long names colliding, small maxlen");
	l = build(rows, NULL, 3);
	CHECK_EQ_INT(names_assign(l, NAMES_MIN, NULL), 0);
	check_assigned(l, NAMES_MIN);
	reslist_unref(l);
	free(longname);
}

static void test_assign_hostile(void)
{
	static const struct ent_row rows[] = {
		{ "h1", "/", 0, "%2F" },
		{ "h2", ".", 0, "h2" },
		{ "h3", "..", 0, "h3" },
		{ "h4", "", 0, "h4" },
		{ "h5", "\x01\x02", 0, "%01%02" },
		{ "h6", "\xff\xfe", 0, "%FF%FE" },
		{ "h7", "%2F", 0, "%2F~h7" },
		{ ".", NULL, 0, "%2E" },
		{ "a/b", "", 0, "a%2Fb" },
		{ "h8", "usage", 0, "usage~h8" },
		{ "c1", "\xc2\x9b", 0, "%C2%9B" },
		{ "c2", "%C2%9B", 0,
		  "%C2%9B~c2" }, /* same name after encoding */
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);
	struct reslist *l = build(rows, NULL, n);

	TEST_CTX("hostile names");
	CHECK_EQ_INT(names_assign(l, 255, reserved), 0);
	check_rows(l, rows, n);
	check_assigned(l, 255);
	reslist_unref(l);
}

/* Thousands of entries with one name: unique, and the (mtime, id) first wins. */
static void test_assign_many(void)
{
	struct reslist *l = reslist_new();
	char id[32];
	struct res r;
	size_t i, n = 5000;
	int bad = 0;

	TEST_CTX("5000 same names");
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(id, sizeof(id), "id-%05zu", (i * 7919) % n);
		r.id = strdup(id);
		r.raw_name = strdup("same");
		r.json = strdup("{}\n");
		r.mtime = 100 - (int64_t)((i * 7919) % n % 3);
		if (reslist_append(l, &r) != 0)
			bad++;
	}
	CHECK_EQ_INT(names_assign(l, 255, NULL), 0);
	check_assigned(l, 255);
	/* mtime 98 holds ids with (id % 3 == 2); the smallest is id-00002 */
	CHECK_EQ_STR(name_of(l, "id-00002"), "same");
	CHECK_EQ_STR(name_of(l, "id-00000"), "same~id-00000");
	CHECK_EQ_INT(bad, 0);
	reslist_unref(l);
}

static void test_assign_empty(void)
{
	struct reslist *l = reslist_new();

	TEST_CTX("empty list");
	CHECK_EQ_INT(names_assign(l, 255, reserved), 0);
	CHECK(reslist_by_name(l, "usage") == NULL);
	reslist_unref(l);
}

int main(void)
{
	test_encode_table();
	test_encode_long();
	test_encode_long_id();
	test_encode_random();
	test_assign_collisions();
	test_assign_order_independent();
	test_assign_same_id();
	test_assign_long_collisions();
	test_assign_hostile();
	test_assign_many();
	test_assign_empty();
	return test_done();
}
