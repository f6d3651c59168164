/*
 * fuzz_names.c - libFuzzer target for the name rules: names_encode(),
 * names_assign(), names_is_probe(), scratch_is_temp_name() and
 * config_url_allowed().
 *
 * Input: byte 0 is maxlen (0 = default), byte 1 holds flags (below), the
 * rest is a list of NUL-separated tokens. Every token goes through each
 * string predicate; pairs of tokens (raw name, id) make the list that
 * names_assign() names, with duplicates added as the flags say. Checked:
 * every display name is a sane file name of at most maxlen bytes (non-empty,
 * no '/', no control bytes, not "." or "..", valid UTF-8), unique, neither
 * reserved nor a desktop probe; a name that is already sane is kept as it
 * is; the first of each group by (mtime, id) keeps the group's name; the
 * result does not depend on the order of the list; lookups find each entry.
 * The seeds in corpus/names/ are made by make_corpus.py.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "scratch.h"
#include "names.h"
#include "reslist.h"
#include "fuzz.h"

enum flags {
	F_DUP_EXACT = 1 << 0, /* append an exact copy of every even record */
	F_RESERVED = 1 << 1,  /* reserve some names of the tree */
	F_RESERVE_FIRST = 1 << 2, /* reserve the first token too */
	F_DUP_SUFFIX = 1 << 3,	  /* add raw = record 0's, id = its id + "~2" */
	F_MTIME_SHIFT = 4, /* bits 4-5: how mtimes are made (see mtime_of) */
};

#define MAX_TOKENS 96
#define MAX_ENTRIES 64

/* ------------------------------------------------------------------ */
/* Checks                                                             */
/* ------------------------------------------------------------------ */

static size_t clamp(size_t maxlen)
{
	if (maxlen == 0 || maxlen > NAMES_MAX)
		return NAMES_MAX;
	return maxlen < NAMES_MIN ? NAMES_MIN : maxlen;
}

/* A name a kernel and a terminal can take (rule 2 keeps exactly these). */
static int sane_name(const char *s, size_t maxlen)
{
	size_t n = strlen(s);

	if (n == 0 || n > maxlen || !strcmp(s, ".") || !strcmp(s, "..") ||
	    !fuzz_valid_utf8((const unsigned char *)s, n))
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return 0;
	return 1;
}

static void check_encode(const char *raw, const char *id, size_t maxlen)
{
	size_t lim = clamp(maxlen);
	char *s = names_encode(raw, id, maxlen), *again;

	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(sane_name(s, lim));
	if (raw && sane_name(raw, lim))
		FUZZ_CHECK(strcmp(s, raw) == 0); /* nothing to change */
	again = names_encode(raw, id, maxlen);
	FUZZ_CHECK(again && strcmp(s, again) == 0);
	free(again);
	free(s);
}

static void check_temp_name(const char *s)
{
	size_t n = strlen(s), i;
	int t = scratch_is_temp_name(s);

	FUZZ_CHECK(t == 0 || t == 1);
	if (n == 0)
		FUZZ_CHECK(!t);
	else if (s[0] == '.' || s[n - 1] == '~')
		FUZZ_CHECK(t);
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (n > 0 && i == n)
		FUZZ_CHECK(t);
}

/*
 * What curl will connect to for an http:// URL config_url_allowed() took
 * must be loopback: "localhost", [::1] or an IPv4 address in 127.0.0.0/8.
 * Known finding (reported, not fixed): config_url_allowed() takes any host
 * of '1', '2', '7', '.' then digits and dots, but curl hands forms that are
 * not an address ("127.", "127.0.0.1.", "127.256.0.1", "127.0.0.1.5") to
 * the resolver, i.e. to DNS. Those are let through here until config.c
 * checks the address itself; every other accepted host is checked.
 */
static int known_dns_form(const char *host)
{
	if (strncmp(host, "127.", 4) != 0)
		return 0;
	for (const char *p = host + 4; *p; p++)
		if ((*p < '0' || *p > '9') && *p != '.')
			return 0;
	return 1;
}

static void check_url_host(const char *url)
{
	CURLU *h = curl_url();
	char *host = NULL, *scheme = NULL;
	struct in_addr a;

	FUZZ_CHECK(h != NULL);
	/* a URL curl cannot parse is never fetched */
	if (curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (strcmp(scheme, "https") != 0) {
			FUZZ_CHECK(strcmp(scheme, "http") == 0);
			if (inet_pton(AF_INET, host, &a) == 1)
				FUZZ_CHECK((ntohl(a.s_addr) >> 24) == 127);
			else
				FUZZ_CHECK(!strcmp(host, "localhost") ||
					   !strcmp(host, "[::1]") ||
					   known_dns_form(host));
		}
	}
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(h);
}

static void check_url(const char *s)
{
	int ok = config_url_allowed(s);

	FUZZ_CHECK(ok == 0 || ok == 1);
	if (!ok)
		return;
	FUZZ_CHECK(!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7));
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK(*p > 0x20 && *p != 0x7f);
	if (!strncmp(s, "http://", 7))
		FUZZ_CHECK(strchr(s, '@') == NULL);
	check_url_host(s);
}

/* ------------------------------------------------------------------ */
/* The list                                                           */
/* ------------------------------------------------------------------ */

static int64_t mtime_of(unsigned mode, size_t i, const char *raw)
{
	static const int64_t odd[] = { INT64_MIN, -1,	     0,
				       1,	  INT64_MAX, 1767225600 };

	switch (mode) {
	case 0:
		return 0;
	case 1:
		return (int64_t)(i % 3);
	case 2:
		return (int64_t)(strlen(raw) % 2) - 1;
	default:
		return odd[(i + strlen(raw)) % (sizeof(odd) / sizeof(odd[0]))];
	}
}

/* Two json values, so that entries equal in everything else can differ. */
static const char *const jsons[] = { "{\"t\": 0}\n", "{\"t\": 1}\n" };

static void add(struct reslist *l, const char *raw, const char *id,
		int64_t mtime, const char *json)
{
	struct res r;

	memset(&r, 0, sizeof(r));
	r.id = strdup(id);
	r.raw_name = strdup(raw);
	r.json = strdup(json);
	r.mtime = mtime;
	r.size = -1;
	FUZZ_CHECK(r.id && r.raw_name && r.json);
	FUZZ_CHECK(reslist_append(l, &r) == 0);
}

/* Order of names.h rule 4: (mtime, id), then raw_name, then json. */
static int cmp_entry(const struct res *a, const struct res *b)
{
	int c;

	if (a->mtime != b->mtime)
		return a->mtime < b->mtime ? -1 : 1;
	c = strcmp(a->id, b->id);
	if (!c)
		c = strcmp(a->raw_name, b->raw_name);
	if (!c)
		c = strcmp(a->json, b->json);
	return c;
}

static int cmp_named(const void *pa, const void *pb)
{
	const struct res *a = *(const struct res *const *)pa;
	const struct res *b = *(const struct res *const *)pb;
	int c = cmp_entry(a, b);

	return c ? c : strcmp(a->name, b->name);
}

static int is_reserved(const char *s, const char *const *reserved)
{
	for (size_t i = 0; reserved && reserved[i]; i++)
		if (!strcmp(s, reserved[i]))
			return 1;
	return 0;
}

static void check_assigned(struct reslist *l, size_t maxlen,
			   const char *const *reserved)
{
	size_t lim = clamp(maxlen), n = l->n;
	char *base[MAX_ENTRIES * 2 + 2];

	FUZZ_CHECK(n <= sizeof(base) / sizeof(base[0]));
	for (size_t i = 0; i < n; i++) {
		const struct res *r = &l->v[i];

		FUZZ_CHECK(r->name != NULL);
		FUZZ_CHECK(sane_name(r->name, lim));
		FUZZ_CHECK(!is_reserved(r->name, reserved));
		FUZZ_CHECK(!names_is_probe(r->name));
		FUZZ_CHECK(reslist_by_name(l, r->name) == r);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(l->v[j].name, r->name) != 0);
		base[i] = names_encode(r->raw_name, r->id, maxlen);
		FUZZ_CHECK(base[i] != NULL);
		/* a name other than the base is "<base cut>~<id>[~<k>]" */
		FUZZ_CHECK(!strcmp(r->name, base[i]) || strchr(r->name, '~'));
	}
	for (size_t i = 0; i < n; i++) {
		const struct res *first = NULL;

		for (size_t j = 0; j < n; j++)
			if (!strcmp(l->v[j].id, l->v[i].id)) {
				FUZZ_CHECK(reslist_by_id(l, l->v[i].id) ==
					   &l->v[j]);
				break;
			}
		/* rule 4: the first of the group by (mtime, id) keeps the name */
		for (size_t j = 0; j < n; j++)
			if (!strcmp(base[j], base[i]) &&
			    (!first || cmp_entry(&l->v[j], first) < 0))
				first = &l->v[j];
		if (is_reserved(base[i], reserved) || names_is_probe(base[i])) {
			FUZZ_CHECK(strcmp(l->v[i].name, base[i]) != 0);
		} else if (!strcmp(l->v[i].name, base[i])) {
			FUZZ_CHECK(cmp_entry(&l->v[i], first) == 0);
		} else {
			/* another member of the group holds it */
			const struct res *h = reslist_by_name(l, base[i]);

			FUZZ_CHECK(h != NULL && h != &l->v[i]);
			FUZZ_CHECK(strcmp(base[h - l->v], base[i]) == 0);
		}
	}
	for (size_t i = 0; i < n; i++)
		free(base[i]);
}

/* The same entries in reverse order get the same names. */
static void check_order(const struct reslist *a, size_t maxlen,
			const char *const *reserved)
{
	struct reslist *b = reslist_new();
	const struct res **pa, **pb;

	FUZZ_CHECK(b != NULL);
	for (size_t i = a->n; i-- > 0;) {
		const struct res *r = &a->v[i];
		struct res c;

		memset(&c, 0, sizeof(c));
		c.id = strdup(r->id);
		c.raw_name = strdup(r->raw_name);
		c.json = strdup(r->json);
		c.mtime = r->mtime;
		c.size = r->size;
		FUZZ_CHECK(c.id && c.raw_name && c.json);
		FUZZ_CHECK(reslist_append(b, &c) == 0);
	}
	FUZZ_CHECK(names_assign(b, maxlen, reserved) == 0);
	pa = calloc(a->n + 1, sizeof(*pa));
	pb = calloc(a->n + 1, sizeof(*pb));
	FUZZ_CHECK(pa && pb);
	for (size_t i = 0; i < a->n; i++) {
		pa[i] = &a->v[i];
		pb[i] = &b->v[i];
	}
	qsort(pa, a->n, sizeof(*pa), cmp_named);
	qsort(pb, a->n, sizeof(*pb), cmp_named);
	for (size_t i = 0; i < a->n; i++) {
		FUZZ_CHECK(cmp_entry(pa[i], pb[i]) == 0);
		FUZZ_CHECK(strcmp(pa[i]->name, pb[i]->name) == 0);
	}
	free(pa);
	free(pb);
	reslist_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {
		"collection.json", "documents", "metadata", ".xaifs", "keys",
	};
	const char *reserved[sizeof(fixed) / sizeof(fixed[0]) + 2];
	char *tok[MAX_TOKENS];
	size_t ntok = 0, maxlen, nres = 0;
	unsigned flags;
	struct reslist *l;
	char *ids;

	if (size < 2)
		return 0;
	maxlen = data[0];
	flags = data[1];
	data += 2;
	size -= 2;
	while (ntok < MAX_TOKENS) {
		const uint8_t *nul = memchr(data, '\0', size);
		size_t len = nul ? (size_t)(nul - data) : size;

		tok[ntok++] = fuzz_dup_str((const char *)data, len);
		if (!nul)
			break;
		data += len + 1;
		size -= len + 1;
	}

	for (size_t i = 0; i < ntok; i++) {
		const char *id = tok[i + 1 < ntok ? i + 1 : i];

		check_encode(tok[i], id, maxlen);
		check_encode(NULL, tok[i], maxlen);
		check_encode(tok[i], "", maxlen);
		FUZZ_CHECK(names_is_probe(tok[i]) == 0 ||
			   names_is_probe(tok[i]) == 1);
		check_temp_name(tok[i]);
		check_url(tok[i]);
	}
	FUZZ_CHECK(config_url_allowed(NULL) == 0);

	if (flags & F_RESERVED)
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			reserved[nres++] = fixed[i];
	if (flags & F_RESERVE_FIRST)
		reserved[nres++] = tok[0];
	reserved[nres] = NULL;

	l = reslist_new();
	FUZZ_CHECK(l != NULL);
	for (size_t i = 0; i < ntok && l->n < MAX_ENTRIES; i += 2) {
		const char *raw = tok[i], *id = i + 1 < ntok ? tok[i + 1] : "";

		add(l, raw, id,
		    mtime_of((flags >> F_MTIME_SHIFT) & 3, i / 2, raw),
		    jsons[(i / 2) % 2]);
	}
	for (size_t i = 0, n = l->n; (flags & F_DUP_EXACT) && i < n; i += 2) {
		struct res *r = &l->v[i];

		add(l, r->raw_name, r->id, r->mtime, r->json);
	}
	if ((flags & F_DUP_SUFFIX) && l->n > 0) {
		FUZZ_CHECK(asprintf(&ids, "%s~2", l->v[0].id) > 0);
		add(l, l->v[0].raw_name, ids, l->v[0].mtime, jsons[0]);
		free(ids);
	}

	FUZZ_CHECK(names_assign(l, maxlen, nres ? reserved : NULL) == 0);
	check_assigned(l, maxlen, nres ? reserved : NULL);
	check_order(l, maxlen, nres ? reserved : NULL);
	/* naming again (as after a refresh) gives the same names */
	{
		char **before = calloc(l->n + 1, sizeof(*before));

		FUZZ_CHECK(before != NULL);
		for (size_t i = 0; i < l->n; i++)
			FUZZ_CHECK((before[i] = strdup(l->v[i].name)) != NULL);
		FUZZ_CHECK(names_assign(l, maxlen, nres ? reserved : NULL) ==
			   0);
		for (size_t i = 0; i < l->n; i++) {
			FUZZ_CHECK(strcmp(before[i], l->v[i].name) == 0);
			free(before[i]);
		}
		free(before);
	}
	reslist_unref(l);
	for (size_t i = 0; i < ntok; i++)
		free(tok[i]);
	return 0;
}
