/*
 * http_pace.h - the pacer: how far apart requests start after a 429, and the
 * monotonic clock the HTTP client measures with.
 *
 * Owns: the current gap and the earliest start of the next request. After a
 * 429 requests start at least a gap apart; the gap starts at 50 ms, doubles
 * on each further 429 (up to 1 s) and halves on each success until it goes
 * away. No request waits longer than one gap: with every request reserving
 * the next slot, a queue of waiters used to add up to tens of seconds (8
 * threads x 5 s) after a burst of 429s. Retry-After is honoured by the retry
 * itself (http.c), not here.
 *
 * Threads: every function may be called from any thread. Locks: lock guards
 * ms and next; it is never held while sleeping or while a request runs.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_HTTP_PACE_H
#define XAIFS_HTTP_PACE_H

#include <pthread.h>
#include <stdint.h>

#define HTTP_PACE_MIN_MS 50
#define HTTP_PACE_MAX_MS 1000

struct http_pace {
	pthread_mutex_t lock;
	unsigned ms;   /* current gap, 0 when not pacing; protected by lock */
	uint64_t next; /* earliest start of the next request (ms); protected by
			  lock */
};

/* A pacer that does not pace yet. */
void http_pace_init(struct http_pace *p);
void http_pace_destroy(struct http_pace *p);

/* Wait for this request's turn (at once unless a 429 came lately). */
void http_pace_wait(struct http_pace *p);

/* Feed the status of a try (0: none): 429 widens the gap, a 2xx narrows it. */
void http_pace_update(struct http_pace *p, long status);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t http_now_ms(void);

#endif
