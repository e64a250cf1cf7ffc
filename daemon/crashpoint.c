/* crashpoint.c - see crashpoint.h. */
#include "crashpoint.h"

#ifdef PAYOUTD_CRASH_POINTS
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long reached;
static long crash_at; /* 0: never */
static int log_fd = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void crash_init(void)
{
	const char *at = getenv("PAYOUTD_CRASH_AT");
	if (at && *at)
		crash_at = strtol(at, NULL, 10);
	const char *log = getenv("PAYOUTD_CRASH_LOG");
	if (log && *log)
		log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

void crash_point(const char *step, const char *detail)
{
	pthread_once(&once, crash_init);
	long n = atomic_fetch_add(&reached, 1) + 1;
	if (log_fd >= 0) {
		char line[512];
		int len = snprintf(line, sizeof line, "%ld %s %s\n", n, step, detail ? detail : "");
		if (len > (int)sizeof line - 1)
			len = (int)sizeof line - 1;
		/* one O_APPEND write: lines of concurrent threads do not interleave */
		if (write(log_fd, line, (size_t)len) < 0) {
			/* counting is best effort; the crash itself does not depend on it */
		}
	}
	if (n == crash_at) {
		kill(getpid(), SIGKILL);
		for (;;)
			pause();
	}
}
#endif
