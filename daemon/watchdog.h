/*
 * watchdog.h - feeds systemd's watchdog (WATCHDOG=1) from a thread while the
 * daemon makes progress (progress.h), so that one long step - a file of tens
 * of millions of rows, a recovery that rewrites a close's statements - does
 * not get the daemon killed, while a daemon that stops moving still is.
 */
#ifndef PAYOUTD_WATCHDOG_H
#define PAYOUTD_WATCHDOG_H

#include <stdint.h>

/* Starts the thread: it looks every usec/4 and pings when the progress count
 * moved since its last look. usec: systemd's WatchdogSec. 0, or -1 with errno. */
int watchdog_start(uint64_t usec);
/* Stops and joins the thread (a no-op when none was started). */
void watchdog_stop(void);

#endif
