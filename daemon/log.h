/*
 * log.h - the one place messages leave the process.
 *
 * Under systemd (stderr connected to the journal, per $JOURNAL_STREAM) lines
 * go to the journal with a PRIORITY and structured fields; otherwise to
 * stderr as "PROG: message". Levels are syslog priorities.
 */
#ifndef PAYOUTD_LOG_H
#define PAYOUTD_LOG_H

#include <syslog.h>

/* prog: the program name used on stderr. */
void log_init(const char *prog);
/* Suppress LOG_INFO/LOG_DEBUG on stderr (payoutctl's default). */
void log_set_quiet(int quiet);
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With one structured field, e.g. log_file(LOG_INFO, "sales.csv", "booked ..."). */
void log_file(int priority, const char *file, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
