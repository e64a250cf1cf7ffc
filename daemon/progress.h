/*
 * progress.h - a counter of work done, read by the watchdog thread.
 *
 * Long steps (reading a file block by block, writing statement files,
 * hashing) call progress_tick() as they go; watchdog.c feeds systemd's
 * watchdog only while the counter moves, so a daemon that hangs is still
 * killed and restarted, and one busy with a 10 GiB file is not.
 */
#ifndef PAYOUTD_PROGRESS_H
#define PAYOUTD_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

extern atomic_uint_fast64_t pd_progress;

static inline void progress_tick(void)
{
	atomic_fetch_add_explicit(&pd_progress, 1, memory_order_relaxed);
}

static inline uint64_t progress_count(void)
{
	return (uint64_t)atomic_load_explicit(&pd_progress, memory_order_relaxed);
}

#endif
