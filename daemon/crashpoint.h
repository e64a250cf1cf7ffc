/*
 * crashpoint.h - numbered crash points, for proving recovery (issue 5).
 *
 * Compiled in only with the CMake option PAYOUTD_CRASH_POINTS; otherwise
 * CRASH_POINT() is nothing at all. Every durable step of ingest and close
 * (write, fsync/syncfs, rename, ftruncate, COMMIT) is bracketed by a point
 * before it and one after it. Points are numbered in the order one process
 * reaches them, from 1.
 *
 *   PAYOUTD_CRASH_AT=N    the Nth point kills the process with SIGKILL,
 *                         as `kill -9` or a power cut would (no cleanup)
 *   PAYOUTD_CRASH_LOG=F   each point reached is appended to F as
 *                         "N STEP DETAIL" (how a test counts the points)
 *
 * The statement files of a close are written by several threads, so the
 * order of those points may differ between runs; the count does not.
 */
#ifndef PAYOUTD_CRASHPOINT_H
#define PAYOUTD_CRASHPOINT_H

#ifdef PAYOUTD_CRASH_POINTS
void crash_point(const char *step, const char *detail);
#define CRASH_POINT(step, detail) crash_point((step), (detail))
#else
#define CRASH_POINT(step, detail) ((void)0)
#endif

#endif
