/* http_pool.c - the easy-handle pool and the shared DNS/TLS cache; see
 * http_pool.h. */
#include "http_pool.h"

#include <errno.h>
#include <stdlib.h>

static void http_pool_share_lock(CURL *c, curl_lock_data data,
				 curl_lock_access a, void *arg)
{
	struct http_pool *p = arg;

	pthread_mutex_lock(&p->share_locks[data]);
}

static void http_pool_share_unlock(CURL *c, curl_lock_data data, void *arg)
{
	struct http_pool *p = arg;

	pthread_mutex_unlock(&p->share_locks[data]);
}

int http_pool_init(struct http_pool *p, int max)
{
	p->max = max;
	p->n_idle = 0;
	p->n_out = 0;
	p->idle = calloc(max > 0 ? (size_t)max : 1, sizeof(*p->idle));
	p->share = curl_share_init();
	if (!p->idle || !p->share) {
		free(p->idle);
		if (p->share)
			curl_share_cleanup(p->share);
		return -ENOMEM;
	}
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->share_locks[i], NULL);
	pthread_mutex_init(&p->pool_lock, NULL);
	pthread_cond_init(&p->pool_cond, NULL);
	curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, http_pool_share_lock);
	curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC,
			  http_pool_share_unlock);
	curl_share_setopt(p->share, CURLSHOPT_USERDATA, p);
	curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(p->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	return 0;
}

void http_pool_destroy(struct http_pool *p)
{
	for (int i = 0; i < p->n_idle; i++)
		curl_easy_cleanup(p->idle[i]);
	curl_share_cleanup(p->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->share_locks[i]);
	pthread_mutex_destroy(&p->pool_lock);
	pthread_cond_destroy(&p->pool_cond);
	free(p->idle);
}

CURL *http_pool_acquire(struct http_pool *p)
{
	CURL *c = NULL;

	pthread_mutex_lock(&p->pool_lock);
	while (p->n_idle == 0 && p->n_out >= p->max)
		pthread_cond_wait(&p->pool_cond, &p->pool_lock);
	if (p->n_idle > 0)
		c = p->idle[--p->n_idle];
	p->n_out++;
	pthread_mutex_unlock(&p->pool_lock);
	if (!c)
		c = curl_easy_init();
	if (!c) {
		pthread_mutex_lock(&p->pool_lock);
		p->n_out--;
		pthread_cond_signal(&p->pool_cond);
		pthread_mutex_unlock(&p->pool_lock);
	}
	return c;
}

void http_pool_release(struct http_pool *p, CURL *c)
{
	pthread_mutex_lock(&p->pool_lock);
	p->n_out--;
	if (p->n_idle < p->max)
		p->idle[p->n_idle++] = c;
	else
		curl_easy_cleanup(c);
	pthread_cond_signal(&p->pool_cond);
	pthread_mutex_unlock(&p->pool_lock);
}
