/*
 * http_pool.h - the curl easy handles of one client, and what they share.
 *
 * Owns: a pool of at most max easy handles (kept for keep-alive reuse, made
 * on demand) and one CURLSH sharing DNS answers and TLS sessions between
 * them. The connection cache is not shared: each handle keeps its own.
 *
 * Threads: http_pool_acquire() and http_pool_release() may be called from any
 * thread; a handle belongs to the thread that acquired it until released.
 * Locks: pool_lock guards idle, n_idle and n_out (pool_cond signals a
 * returned handle); each share kind has its own lock, taken by libcurl
 * through the callbacks. No lock is held while a request runs, and neither
 * lock is taken while holding the other.
 *
 * Where its locks stand among the program's: tree.h, "Lock order".
 */
#ifndef XAIFS_HTTP_POOL_H
#define XAIFS_HTTP_POOL_H

#include <curl/curl.h>
#include <pthread.h>

struct http_pool {
	int max; /* handles out at most: the requests in flight */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	CURL **idle; /* protected by pool_lock */
	int n_idle;  /* protected by pool_lock */
	int n_out;   /* handles in use; protected by pool_lock */
};

/* Set up an empty pool of at most max handles. 0 or -ENOMEM (nothing to
 * release). */
int http_pool_init(struct http_pool *p, int max);

/* Free the idle handles and the share (every handle must be back). */
void http_pool_destroy(struct http_pool *p);

/*
 * Take an idle handle, make one, or wait until one is returned. NULL on
 * ENOMEM. The handle keeps the options of its last request: reset it.
 */
CURL *http_pool_acquire(struct http_pool *p);

/* Give a handle back (kept idle for reuse) and wake one waiter. */
void http_pool_release(struct http_pool *p, CURL *c);

#endif
