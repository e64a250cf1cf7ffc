/* watchdog.c - see watchdog.h. */
#include "watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "progress.h"

atomic_uint_fast64_t pd_progress;

static pthread_t thread;
static int started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv; /* on CLOCK_MONOTONIC */
static int stop;
static uint64_t period_usec;

static void *watch(void *arg)
{
	(void)arg;
	uint64_t seen = progress_count();
	pthread_mutex_lock(&mu);
	while (!stop) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		uint64_t ns = (uint64_t)t.tv_nsec + period_usec * 1000;
		t.tv_sec += (time_t)(ns / 1000000000u);
		t.tv_nsec = (long)(ns % 1000000000u);
		pthread_cond_timedwait(&cv, &mu, &t);
		uint64_t now = progress_count();
		if (!stop && now != seen) {
			seen = now;
			sd_notify(0, "WATCHDOG=1");
		}
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int watchdog_start(uint64_t usec)
{
	if (started || usec == 0)
		return 0;
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &a);
	pthread_condattr_destroy(&a);
	/* a quarter of the limit: a step that ticks at least that often is never killed */
	period_usec = usec / 4 ? usec / 4 : 1;
	stop = 0;
	int e = pthread_create(&thread, NULL, watch, NULL);
	if (e) {
		pthread_cond_destroy(&cv);
		errno = e;
		return -1;
	}
	started = 1;
	return 0;
}

void watchdog_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stop = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	pthread_cond_destroy(&cv);
	started = 0;
}
