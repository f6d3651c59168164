/* test_buf.c - the capped byte buffer: append, cap, printf, take. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"

/* Invariant checker (git assert_sane_strbuf): NUL-terminated, len < alloc. */
static int sane(const struct buf *b)
{
	if (!b->data)
		return b->len == 0 && b->alloc == 0;
	return b->len < b->alloc && b->len <= b->cap && b->data[b->len] == '\0';
}

struct append_row {
	const char *what;
	size_t cap;
	const char *first;  /* appended first (must fit) */
	const char *second; /* then this */
	int want_rc;
	const char *want; /* contents afterwards */
};

static const struct append_row append_rows[] = {
	{ "both fit", 16, "hello", " world", 0, "hello world" },
	{ "exactly the cap", 11, "hello", " world", 0, "hello world" },
	{ "one over the cap", 10, "hello", " world", -EFBIG, "hello" },
	{ "first fills the cap", 5, "hello", "!", -EFBIG, "hello" },
	{ "empty append at the cap", 5, "hello", "", 0, "hello" },
	{ "cap 0, empty", 0, "", "", 0, "" },
	{ "cap 0, one byte", 0, "", "x", -EFBIG, "" },
	{ "long second", 300, "a",
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789",
	  0, NULL },
};

static void test_append_table(void)
{
	for (size_t i = 0; i < sizeof(append_rows) / sizeof(append_rows[0]);
	     i++) {
		const struct append_row *r = &append_rows[i];
		struct buf b;

		TEST_CTX(r->what);
		buf_init(&b, r->cap);
		CHECK_EQ_INT(buf_puts(&b, r->first), 0);
		CHECK_EQ_INT(buf_puts(&b, r->second), r->want_rc);
		CHECK(sane(&b));
		if (r->want) {
			CHECK_EQ_INT(b.len, strlen(r->want));
			/* an empty buffer may have no bytes at all */
			CHECK_EQ_STR(b.data ? b.data : "", r->want);
		} else {
			CHECK_EQ_INT(b.len,
				     strlen(r->first) + strlen(r->second));
			CHECK(b.data &&
			      !strncmp(b.data, r->first, strlen(r->first)));
			CHECK(b.data &&
			      !strcmp(b.data + strlen(r->first), r->second));
		}
		buf_release(&b);
		CHECK(b.data == NULL && b.len == 0 && b.alloc == 0);
	}
}

/* A refused append leaves every field as it was, even the allocation. */
static void test_efbig_unchanged(void)
{
	struct buf b, before;
	char big[64];

	TEST_CTX("EFBIG leaves the buffer unchanged");
	memset(big, 'z', sizeof(big));
	buf_init(&b, 40);
	CHECK_EQ_INT(buf_append(&b, "abc", 3), 0);
	before = b;
	CHECK_EQ_INT(buf_append(&b, big, sizeof(big)), -EFBIG);
	CHECK_EQ_INT(buf_append(&b, big, 38), -EFBIG);
	CHECK_EQ_INT(buf_printf(&b, "%0400d", 7), -EFBIG);
	CHECK(b.data == before.data);
	CHECK_EQ_INT(b.len, before.len);
	CHECK_EQ_INT(b.alloc, before.alloc);
	CHECK_EQ_STR(b.data, "abc");
	/* n so large that len + n wraps around must not pass the cap check */
	CHECK_EQ_INT(buf_append(&b, big, (size_t)-2), -EFBIG);
	CHECK_EQ_INT(b.len, 3);
	CHECK_EQ_INT(buf_append(&b, big, 37), 0);
	CHECK_EQ_INT(b.len, 40);
	CHECK(sane(&b));
	buf_release(&b);
}

/* Binary data with NUL bytes is kept byte for byte; growth keeps the bytes. */
static void test_binary_growth(void)
{
	unsigned char chunk[97];
	struct buf b;
	int bad = 0;

	TEST_CTX("binary growth");
	for (size_t i = 0; i < sizeof(chunk); i++)
		chunk[i] = (unsigned char)(i * 7); /* includes 0 */
	buf_init(&b, 1u << 20);
	for (int k = 0; k < 1000; k++)
		if (buf_append(&b, chunk, sizeof(chunk)) != 0)
			bad++;
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(b.len, 97000);
	CHECK(sane(&b));
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] != chunk[i % sizeof(chunk)])
			bad++;
	CHECK_EQ_INT(bad, 0);
	buf_release(&b);
}

static void test_printf(void)
{
	struct buf b;
	char *want;
	size_t n = 100000;

	TEST_CTX("printf small");
	buf_init(&b, 1u << 20);
	CHECK_EQ_INT(buf_printf(&b, "%s=%d;", "a", 1), 0);
	CHECK_EQ_INT(buf_printf(&b, "%s", ""), 0);
	CHECK_EQ_INT(buf_printf(&b, "%03d", 7), 0);
	CHECK_EQ_STR(b.data, "a=1;007");

	TEST_CTX("printf exactly 255 and 256 bytes (the stack buffer edge)");
	buf_release(&b);
	CHECK_EQ_INT(buf_printf(&b, "%255s", "x"), 0);
	CHECK_EQ_INT(b.len, 255);
	CHECK_EQ_INT(buf_printf(&b, "%256s", "y"), 0);
	CHECK_EQ_INT(b.len, 511);
	CHECK(b.data[254] == 'x' && b.data[510] == 'y' && b.data[255] == ' ');
	CHECK(sane(&b));

	TEST_CTX("printf large string");
	buf_release(&b);
	want = malloc(n + 1);
	memset(want, 'q', n);
	want[n] = '\0';
	CHECK_EQ_INT(buf_printf(&b, "<%s>", want), 0);
	CHECK_EQ_INT(b.len, n + 2);
	CHECK(b.data[0] == '<' && b.data[n + 1] == '>' &&
	      b.data[n + 2] == '\0');
	CHECK(!strncmp(b.data + 1, want, n));
	CHECK(sane(&b));
	buf_release(&b);

	TEST_CTX("printf large string over the cap");
	buf_init(&b, n);
	CHECK_EQ_INT(buf_puts(&b, "k"), 0);
	CHECK_EQ_INT(buf_printf(&b, "%s", want), -EFBIG);
	CHECK_EQ_STR(b.data, "k");
	buf_release(&b);
	free(want);
}

static void test_take(void)
{
	struct buf b;
	size_t len = 99;
	char *p;

	TEST_CTX("take of an empty buffer");
	buf_init(&b, 100);
	p = buf_take(&b, &len);
	CHECK(p != NULL);
	CHECK_EQ_STR(p, "");
	CHECK_EQ_INT(len, 0);
	free(p);

	TEST_CTX("take hands over the bytes");
	CHECK_EQ_INT(buf_puts(&b, "payload"), 0);
	p = buf_take(&b, &len);
	CHECK_EQ_STR(p, "payload");
	CHECK_EQ_INT(len, 7);
	CHECK(b.data == NULL && b.len == 0 && b.alloc == 0);
	CHECK_EQ_INT(b.cap, 100); /* the cap survives */

	TEST_CTX("reuse after take");
	CHECK_EQ_INT(buf_puts(&b, "next"), 0);
	CHECK(b.data != p);
	CHECK_EQ_STR(b.data, "next");
	CHECK_EQ_STR(p, "payload"); /* the taken bytes are untouched */
	free(p);
	p = buf_take(&b, NULL); /* len may be NULL */
	CHECK_EQ_STR(p, "next");
	free(p);
	buf_release(&b); /* release of an emptied buffer is fine */
}

int main(void)
{
	test_append_table();
	test_efbig_unchanged();
	test_binary_growth();
	test_printf();
	test_take();
	return test_done();
}
