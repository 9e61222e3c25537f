// SPDX-License-Identifier: MIT
/*
 * clock.h: monotonic time, thread ids and per-thread CPU time.
 *
 * Owns Baton's clock_gettime() and gettid calls. Everything in Baton that
 * stores a time stores CLOCK_MONOTONIC nanoseconds from kif_now_ns().
 * See Documentation/core/kernel-iface.md.
 */
#ifndef KIF_CLOCK_H
#define KIF_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernel-iface/sys.h"

/* CLOCK_MONOTONIC in nanoseconds (a vDSO call, no system call). */
static inline uint64_t kif_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail for this clock */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The calling thread's kernel id. Through syscall() rather than gettid()
 * so that callers need not define _GNU_SOURCE. */
static inline int kif_gettid(void)
{
	return (int)KIF_CALL(syscall(SYS_gettid));
}

/* CPU time consumed so far by thread [t] (alive), or -errno. */
static inline int64_t kif_thread_cpu_ns(pthread_t t)
{
	clockid_t c;
	struct timespec ts;
	int e = pthread_getcpuclockid(t, &c); /* returns the error number */
	if (e)
		return -e;
	long r = KIF_CALL(clock_gettime(c, &ts));
	if (r < 0)
		return r;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* KIF_CLOCK_H */
