/*
 * names.c - the display-name rule of names.h.
 *
 * Names are produced by an emitter that writes whole units (a valid UTF-8
 * character, a plain ASCII byte, or a %XX escape) into a fixed buffer and
 * stops at the first unit that does not fit, so every cut lands on a unit
 * boundary and no buffer ever grows with the server's input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

/* ------------------------------------------------------------------ */
/* Encoding (rules 1-3)                                               */
/* ------------------------------------------------------------------ */

struct emit {
	char buf[NAMES_MAX + 1];
	size_t len;
	size_t limit; /* longest output, <= NAMES_MAX */
	int full;     /* a unit did not fit: the output was cut */
};

/* Where a name comes from (rule 1) and whether every byte is escaped. */
struct src {
	const char *s;
	int escape_all;
};

static size_t clamp_maxlen(size_t maxlen)
{
	if (maxlen == 0 || maxlen > NAMES_MAX)
		return NAMES_MAX;
	return maxlen < NAMES_MIN ? NAMES_MIN : maxlen;
}

static int is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/*
 * Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0 if p does not start one. p is
 * NUL-terminated, and NUL is never a continuation byte, so no overread.
 */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return is_cont(p[1]) ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return is_cont(p[1]) && is_cont(p[2]) ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return is_cont(p[1]) && is_cont(p[2]) && is_cont(p[3]) ? 4 : 0;
	}
	return 0;
}

static int must_escape(unsigned char c)
{
	return c == '/' || c < 0x20 || c == 0x7f;
}

/*
 * A C1 control character (U+0080-U+009F, UTF-8 C2 80-C2 9F): valid UTF-8,
 * but terminals act on it (U+009B is CSI), so it is escaped like C0.
 */
static int is_c1(const unsigned char *p)
{
	return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
}

/* Append n bytes as one unit, or mark e full if they do not fit. */
static void emit_unit(struct emit *e, const char *p, size_t n)
{
	if (e->full)
		return;
	if (n > e->limit - e->len) {
		e->full = 1;
		return;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
	e->buf[e->len] = '\0';
}

/* Append s by rule 2 (escape_all: every byte as %XX). */
static void emit_name(struct emit *e, const char *s, int escape_all)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t n;

	while (*p && !e->full) {
		if (!escape_all && is_c1(p)) {
			/* one unit, so a cut never separates the two escapes */
			snprintf(esc, sizeof(esc), "%%C2%%%02X", p[1]);
			emit_unit(e, esc, 6);
			p += 2;
			continue;
		}
		n = escape_all || must_escape(*p) ? 0 : utf8_len(p);
		if (n) {
			emit_unit(e, (const char *)p, n);
			p += n;
			continue;
		}
		snprintf(esc, sizeof(esc), "%%%02X", *p);
		emit_unit(e, esc, 3);
		p++;
	}
}

static void emit_init(struct emit *e, size_t limit)
{
	e->buf[0] = '\0';
	e->len = 0;
	e->limit = limit;
	e->full = 0;
}

/*
 * Rule 1. An id that cannot be a name itself ("." or "..") is escaped byte
 * by byte; an empty id (a broken server) gives "_".
 */
static struct src pick_src(const char *raw, const char *id)
{
	struct src s = { raw, 0 };

	if (raw && *raw && strcmp(raw, ".") && strcmp(raw, ".."))
		return s;
	s.s = id ? id : "";
	if (!*s.s)
		s.s = "_";
	else if (!strcmp(s.s, ".") || !strcmp(s.s, ".."))
		s.escape_all = 1;
	return s;
}

/* src cut so that "~<id>" fits after it, then "~<id>" (rule 3). */
static char *with_id(struct src src, const char *id, size_t maxlen)
{
	struct emit t, e;

	emit_init(&t, maxlen);
	emit_unit(&t, "~", 1);
	emit_name(&t, id ? id : "", 0);
	if (t.full) /* the suffix alone fills the limit */
		return strdup(t.buf);
	emit_init(&e, maxlen - t.len);
	emit_name(&e, src.s, src.escape_all);
	memcpy(e.buf + e.len, t.buf, t.len + 1);
	return strdup(e.buf);
}

/*
 * The k-th fallback (k >= 2) when "<name>~<id>" is itself taken:
 * "<name>~<id>" cut so that "~<k>" fits, then "~<k>". Distinct k give
 * distinct results, so a free one is always found.
 */
static char *with_counter(struct src src, const char *id, size_t maxlen,
			  size_t k)
{
	char tail[32];
	int tl = snprintf(tail, sizeof(tail), "~%zu", k);
	struct emit e;

	emit_init(&e, maxlen - (size_t)tl);
	emit_name(&e, src.s, src.escape_all);
	emit_unit(&e, "~", 1);
	emit_name(&e, id ? id : "", 0);
	memcpy(e.buf + e.len, tail, (size_t)tl + 1);
	return strdup(e.buf);
}

char *names_encode(const char *raw, const char *id, size_t maxlen)
{
	struct src src = pick_src(raw, id);
	struct emit e;

	maxlen = clamp_maxlen(maxlen);
	emit_init(&e, maxlen);
	emit_name(&e, src.s, src.escape_all);
	if (!e.full)
		return strdup(e.buf);
	return with_id(src, id, maxlen);
}

/* ------------------------------------------------------------------ */
/* Name set: open addressing over borrowed strings                    */
/* ------------------------------------------------------------------ */

struct nameset {
	size_t mask;
	const char **slot;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Room for n names at most half full. */
static int nameset_init(struct nameset *s, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 1) {
		if (cap > SIZE_MAX / 4 / sizeof(*s->slot))
			return -ENOMEM;
		cap *= 2;
	}
	s->slot = calloc(cap, sizeof(*s->slot));
	s->mask = cap - 1;
	return s->slot ? 0 : -ENOMEM;
}

static size_t nameset_find(const struct nameset *s, const char *k)
{
	size_t h = hash_str(k) & s->mask;

	while (s->slot[h] && strcmp(s->slot[h], k))
		h = (h + 1) & s->mask;
	return h;
}

static int nameset_has(const struct nameset *s, const char *k)
{
	return s->slot[nameset_find(s, k)] != NULL;
}

/* k is borrowed and must outlive the set. */
static void nameset_add(struct nameset *s, const char *k)
{
	s->slot[nameset_find(s, k)] = k;
}

/* ------------------------------------------------------------------ */
/* Assignment (rule 4)                                                */
/* ------------------------------------------------------------------ */

struct ent {
	struct res *r;
	char *base; /* rules 1-3 */
	char *alt;  /* rule 4 result for a loser, else NULL */
	int winner;
};

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/*
 * Canonical order: base name, then (mtime, id) as the rule says, then the
 * remaining fields so that only truly identical entries tie.
 */
static int cmp_ent(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	int c = strcmp(a->base, b->base);

	if (c)
		return c;
	if (a->r->mtime != b->r->mtime)
		return a->r->mtime < b->r->mtime ? -1 : 1;
	c = cmp_str(a->r->id, b->r->id);
	if (!c)
		c = cmp_str(a->r->raw_name, b->r->raw_name);
	if (!c)
		c = cmp_str(a->r->json, b->r->json);
	return c;
}

static char *loser_name(const struct res *r, size_t maxlen,
			const struct nameset *taken)
{
	struct src src = pick_src(r->raw_name, r->id);
	char *cand = with_id(src, r->id, maxlen);
	size_t k;

	for (k = 2; cand && nameset_has(taken, cand); k++) {
		free(cand);
		cand = with_counter(src, r->id, maxlen, k);
	}
	return cand;
}

static const char *const names_probes[] = {
	".Trash",      ".hidden",    ".xdg-volume-info",
	"autorun.inf", ".DS_Store",  "desktop.ini",
	"Thumbs.db",   ".directory", NULL
};

int names_is_probe(const char *name)
{
	size_t i;

	for (i = 0; names_probes[i]; i++)
		if (strcmp(name, names_probes[i]) == 0)
			return 1;
	if (strncmp(name, ".Trash-", 7) != 0 || !name[7])
		return 0;
	for (i = 7; name[i] >= '0' && name[i] <= '9'; i++)
		;
	return name[i] == '\0';
}

static int assign_sorted(struct ent *v, size_t n, size_t maxlen,
			 const char *const *reserved, struct nameset *taken)
{
	size_t i;

	for (i = 0; reserved && reserved[i]; i++)
		nameset_add(taken, reserved[i]);
	/* first pass: the first of each group keeps its name, unless reserved */
	for (i = 0; i < n; i++) {
		if (i > 0 && !strcmp(v[i].base, v[i - 1].base))
			continue;
		if (nameset_has(taken, v[i].base) || names_is_probe(v[i].base))
			continue;
		v[i].winner = 1;
		nameset_add(taken, v[i].base);
	}
	/* second pass, in canonical order: everyone else gets a free name */
	for (i = 0; i < n; i++) {
		if (v[i].winner)
			continue;
		v[i].alt = loser_name(v[i].r, maxlen, taken);
		if (!v[i].alt)
			return -ENOMEM;
		nameset_add(taken, v[i].alt);
	}
	return 0;
}

int names_assign(struct reslist *l, size_t maxlen, const char *const *reserved)
{
	struct nameset taken = { 0, NULL };
	struct ent *v = NULL;
	size_t i, nres = 0;
	int rc = -ENOMEM;

	if (l->donor)
		return -EINVAL; /* its names are borrowed (reslist.h) */
	maxlen = clamp_maxlen(maxlen);
	while (reserved && reserved[nres])
		nres++;
	v = calloc(l->n ? l->n : 1, sizeof(*v));
	if (!v)
		goto out;
	for (i = 0; i < l->n; i++) {
		v[i].r = &l->v[i];
		v[i].base = names_encode(l->v[i].raw_name, l->v[i].id, maxlen);
		if (!v[i].base)
			goto out;
	}
	qsort(v, l->n, sizeof(*v), cmp_ent);
	rc = nameset_init(&taken, l->n + nres);
	if (rc < 0)
		goto out;
	rc = assign_sorted(v, l->n, maxlen, reserved, &taken);
	if (rc < 0)
		goto out;
	l->names_plain = 1;
	for (i = 0; i < l->n; i++) {
		free(v[i].r->name);
		v[i].r->name = v[i].winner ? v[i].base : v[i].alt;
		if (v[i].winner)
			v[i].base = NULL;
		else
			v[i].alt = NULL;
		if (strcmp(v[i].r->name, v[i].r->raw_name) != 0)
			l->names_plain = 0;
	}
	rc = reslist_index_build(l);
out:
	for (i = 0; v && i < l->n; i++) {
		free(v[i].base);
		free(v[i].alt);
	}
	free(v);
	free(taken.slot);
	return rc;
}

int names_plain_add(const struct reslist *l, const struct res *r,
		    const struct res *replaced, size_t maxlen)
{
	const struct res *same;
	char *base;
	int plain;

	if (!l->names_plain || !r->raw_name || !*r->raw_name ||
	    names_is_probe(r->raw_name))
		return 0;
	same = reslist_by_name(l, r->raw_name);
	if (same && same != replaced)
		return 0;
	base = names_encode(r->raw_name, r->id, maxlen);
	plain = base && strcmp(base, r->raw_name) == 0;
	free(base);
	return plain;
}
