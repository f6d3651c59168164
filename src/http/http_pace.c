/* http_pace.c - pacing after 429s, and the clock; see http_pace.h. */
#include "http_pace.h"

#include <time.h>
#include <unistd.h>

void http_pace_init(struct http_pace *p)
{
	pthread_mutex_init(&p->lock, NULL);
	p->ms = 0;
	p->next = 0;
}

void http_pace_destroy(struct http_pace *p)
{
	pthread_mutex_destroy(&p->lock);
}

uint64_t http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void http_pace_wait(struct http_pace *p)
{
	uint64_t now, at;

	pthread_mutex_lock(&p->lock);
	if (p->ms == 0) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	now = http_now_ms();
	at = p->next > now ? p->next : now;
	if (at > now + p->ms)
		at = now + p->ms;
	p->next = at + p->ms;
	pthread_mutex_unlock(&p->lock);
	if (at > now)
		usleep((useconds_t)(at - now) * 1000u);
}

void http_pace_update(struct http_pace *p, long status)
{
	pthread_mutex_lock(&p->lock);
	if (status == 429) {
		p->ms = p->ms ? p->ms * 2 : HTTP_PACE_MIN_MS;
		if (p->ms > HTTP_PACE_MAX_MS)
			p->ms = HTTP_PACE_MAX_MS;
	} else if (status >= 200 && status < 300 && p->ms) {
		p->ms = p->ms / 2;
		if (p->ms < HTTP_PACE_MIN_MS / 2)
			p->ms = 0;
	}
	pthread_mutex_unlock(&p->lock);
}
