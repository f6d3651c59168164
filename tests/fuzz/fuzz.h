/*
 * fuzz.h - helpers shared by the libFuzzer targets (header only).
 *
 * FUZZ_CHECK() aborts with the failed condition, so a broken invariant is a
 * crash libFuzzer saves and minimizes like any other. fuzz_split() cuts an
 * input into NUL-separated parts; every part handed to the code under test is
 * copied into a buffer of exactly its length, so AddressSanitizer catches a
 * read past the end of a body that is not NUL-terminated.
 */
#ifndef XAIFS_FUZZ_H
#define XAIFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(c)                                                    \
	do {                                                             \
		if (!(c)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #c);                 \
			abort();                                         \
		}                                                        \
	} while (0)

#define FUZZ_MAX_PARTS 8

struct fuzz_parts {
	size_t n;		       /* parts found (>= 1) */
	const char *p[FUZZ_MAX_PARTS]; /* borrowed from the input */
	size_t len[FUZZ_MAX_PARTS];
};

/*
 * Split data at its first max-1 NUL bytes (max <= FUZZ_MAX_PARTS): the last
 * part keeps the rest, NULs included.
 */
static inline void fuzz_split(const uint8_t *data, size_t size, size_t max,
			      struct fuzz_parts *out)
{
	const char *s = (const char *)data;
	const char *nul;

	out->n = 0;
	while (out->n + 1 < max && size > 0 &&
	       (nul = memchr(s, '\0', size)) != NULL) {
		out->p[out->n] = s;
		out->len[out->n++] = (size_t)(nul - s);
		size -= (size_t)(nul - s) + 1;
		s = nul + 1;
	}
	out->p[out->n] = s;
	out->len[out->n++] = size;
}

/* An exact-size heap copy (no terminator); NULL for len 0. Caller frees. */
static inline char *fuzz_dup_exact(const char *p, size_t len)
{
	char *d;

	if (len == 0)
		return NULL;
	d = malloc(len);
	FUZZ_CHECK(d != NULL);
	memcpy(d, p, len);
	return d;
}

/* A NUL-terminated copy, cut at the first NUL inside. Caller frees. */
static inline char *fuzz_dup_str(const char *p, size_t len)
{
	char *d = strndup(p ? p : "", p ? len : 0);

	FUZZ_CHECK(d != NULL);
	return d;
}

/* Strict UTF-8 (RFC 3629: no overlongs, surrogates or code points > U+10FFFF). */
static inline int fuzz_valid_utf8(const unsigned char *p, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
		} else {
			return 0;
		}
		if (i + n >= len) /* the sequence runs past the end */
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

#endif
