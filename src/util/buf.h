/*
 * buf.h - a growable byte buffer with a hard size cap.
 *
 * Owns: its bytes. Not thread safe: one owner at a time.
 * The cap is set once at init, so a misbehaving server cannot make the
 * program allocate without bound: an append past the cap fails with -EFBIG
 * and leaves the buffer as it was.
 */
#ifndef XAIFS_BUF_H
#define XAIFS_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* NUL-terminated when non-NULL */
	size_t len;
	size_t alloc;
	size_t cap; /* most bytes the buffer may hold */
};

void buf_init(struct buf *b, size_t cap);

/* Free the bytes; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);

/* Append n bytes. Returns 0, -EFBIG (over the cap) or -ENOMEM. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append a string. Same returns as buf_append(). */
int buf_puts(struct buf *b, const char *s);

/* printf-style append. Same returns as buf_append(). */
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Hand the bytes to the caller (who frees them); the buffer becomes empty.
 * Never NULL: an empty buffer gives an empty malloc'd string, or NULL on
 * ENOMEM. */
char *buf_take(struct buf *b, size_t *len);

#endif
