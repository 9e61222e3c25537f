// SPDX-License-Identifier: MIT
/*
 * futex.h: private futex wait and wake on a 32-bit word, returning -errno.
 *
 * Owns every futex(2) call in Baton. Private futexes only (the word never
 * lives in shared memory). Directed wake-ups are the caller's business: give
 * each sleeper its own word. See Documentation/core/kernel-iface.md.
 */
#ifndef KIF_FUTEX_H
#define KIF_FUTEX_H

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kernel-iface/sys.h"

#ifndef FUTEX_PRIVATE_FLAG
#define FUTEX_PRIVATE_FLAG 128
#endif
#ifndef FUTEX_WAIT_BITSET
#define FUTEX_WAIT_BITSET 9 /* Linux 2.6.25 */
#endif
#ifndef FUTEX_BITSET_MATCH_ANY
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu
#endif

#define KIF_FOREVER UINT64_MAX /* kif_futex_wait_until(): no deadline */

static inline struct timespec kif__ts(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	return ts;
}

/*
 * Sleeps while *word == expected, for at most [timeout_ns] (relative;
 * < 0: forever). Returns 0 when woken, which may be spurious; -EAGAIN if
 * *word != expected at the call; -ETIMEDOUT; -EINTR if a signal handler ran.
 *
 * "EINTR-safe" means a signal can never make the caller believe the word
 * changed: -EINTR is reported as such, nothing is consumed, and the caller's
 * ordinary loop (re-read the word, wait again) treats it exactly like a
 * spurious wake-up. Callers that loop with a timeout should use
 * kif_futex_wait_until() so that retries do not stretch the wait.
 */
static inline int kif_futex_wait(_Atomic uint32_t *word, uint32_t expected,
				 int64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;
	if (timeout_ns >= 0) {
		ts = kif__ts((uint64_t)timeout_ns);
		tp = &ts;
	}
	long r = KIF_CALL(syscall(SYS_futex, word,
				  FUTEX_WAIT | FUTEX_PRIVATE_FLAG, expected, tp,
				  NULL, 0));
	return r < 0 ? (int)r : 0;
}

/*
 * Same as kif_futex_wait() with an absolute CLOCK_MONOTONIC deadline
 * ([abs_ns], KIF_FOREVER: none), so that a loop retrying after -EINTR or a
 * spurious wake keeps the original deadline.
 */
static inline int kif_futex_wait_until(_Atomic uint32_t *word,
				       uint32_t expected, uint64_t abs_ns)
{
	struct timespec ts, *tp = NULL;
	if (abs_ns != KIF_FOREVER) {
		ts = kif__ts(abs_ns);
		tp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC timeout. */
	long r = KIF_CALL(syscall(SYS_futex, word,
				  FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
				  expected, tp, NULL, FUTEX_BITSET_MATCH_ANY));
	return r < 0 ? (int)r : 0;
}

/* Wakes at most [n] (>= 1; INT_MAX: all) sleepers on [word]. Returns how
 * many were woken, or -errno. */
static inline int kif_futex_wake(_Atomic uint32_t *word, int n)
{
	long r = KIF_CALL(syscall(SYS_futex, word,
				  FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL,
				  NULL, 0));
	return (int)r;
}

#endif /* KIF_FUTEX_H */
