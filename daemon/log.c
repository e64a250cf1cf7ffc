#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

static const char *log_prog = "payoutd";
static int log_to_journal;
static int log_quiet;

/* $JOURNAL_STREAM is "DEV:INO" of the journal socket systemd gave us as stderr;
 * when it still matches fd 2 we log natively (priorities, fields). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	if (!js)
		return 0;
	unsigned long long dev, ino;
	if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	struct stat st;
	if (fstat(2, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *prog)
{
	log_prog = prog;
	log_to_journal = stderr_is_journal();
}

void log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

__attribute__((format(printf, 3, 0)))
static void log_v(int priority, const char *file, const char *fmt, va_list ap)
{
	char msg[4096];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_to_journal) {
		if (file)
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority,
					"SYSLOG_IDENTIFIER=%s", log_prog, "PAYOUTD_FILE=%s", file, NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", priority,
					"SYSLOG_IDENTIFIER=%s", log_prog, NULL);
		return;
	}
	if (log_quiet && priority >= LOG_INFO)
		return;
	fprintf(stderr, "%s: %s\n", log_prog, msg);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(priority, NULL, fmt, ap);
	va_end(ap);
}

void log_file(int priority, const char *file, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_v(priority, file, fmt, ap);
	va_end(ap);
}
