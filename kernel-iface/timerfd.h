// SPDX-License-Identifier: MIT
/*
 * timerfd.h: CLOCK_MONOTONIC timerfd set-up, arming and reading, -errno.
 *
 * Owns every timerfd(2) call in Baton. A timerfd counts expirations in the
 * kernel, so a late reader loses none: it reads how many it missed.
 * See Documentation/core/kernel-iface.md.
 */
#ifndef KIF_TIMERFD_H
#define KIF_TIMERFD_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "kernel-iface/sys.h"

/* kif_timerfd_open() flags */
#define KIF_TFD_BLOCKING 0
#define KIF_TFD_NONBLOCK 1

static inline struct timespec kif__tfd_ts(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };
	return ts;
}

/*
 * A disarmed CLOCK_MONOTONIC timerfd, close-on-exec. Blocking by default,
 * for readers that sleep in read(2); KIF_TFD_NONBLOCK for readers that
 * wait elsewhere (io_uring, poll), where it also lets io_uring serve the
 * read from its poll path on kernels whose timerfd lacks FMODE_NOWAIT.
 * Returns the fd or -errno.
 */
static inline int kif_timerfd_open(int flags)
{
	int f = TFD_CLOEXEC | (flags & KIF_TFD_NONBLOCK ? TFD_NONBLOCK : 0);
	return (int)KIF_CALL(timerfd_create(CLOCK_MONOTONIC, f));
}

/* Expire every [period_ns] (> 0), the first one period from now. */
static inline int kif_timerfd_periodic(int fd, uint64_t period_ns)
{
	struct itimerspec its = { .it_interval = kif__tfd_ts(period_ns),
				  .it_value = kif__tfd_ts(period_ns) };
	return (int)KIF_CALL(timerfd_settime(fd, 0, &its, NULL));
}

/* Expire at CLOCK_MONOTONIC [first_abs_ns] (at once if that has passed),
 * then every [period_ns] after it. */
static inline int kif_timerfd_periodic_from(int fd, uint64_t first_abs_ns,
					    uint64_t period_ns)
{
	struct itimerspec its = { .it_interval = kif__tfd_ts(period_ns),
				  .it_value = kif__tfd_ts(first_abs_ns ? first_abs_ns : 1) };
	return (int)KIF_CALL(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
}

/* Expire once at CLOCK_MONOTONIC [abs_ns]; at once if that has passed. */
static inline int kif_timerfd_oneshot_abs(int fd, uint64_t abs_ns)
{
	/* An it_value of zero would disarm: 1 ns is as past as 0. */
	struct itimerspec its = { .it_value = kif__tfd_ts(abs_ns ? abs_ns : 1) };
	return (int)KIF_CALL(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL));
}

/* No more expirations; any not yet read are discarded. */
static inline int kif_timerfd_disarm(int fd)
{
	struct itimerspec its = { 0 };
	return (int)KIF_CALL(timerfd_settime(fd, 0, &its, NULL));
}

/* Time left before the next expiration in *ns (0: disarmed). */
static inline int kif_timerfd_remaining(int fd, uint64_t *ns)
{
	struct itimerspec its;
	long r = KIF_CALL(timerfd_gettime(fd, &its));
	if (r < 0)
		return (int)r;
	*ns = (uint64_t)its.it_value.tv_sec * 1000000000u +
	      (uint64_t)its.it_value.tv_nsec;
	return 0;
}

/* Reads the expirations since the last read (>= 1) into *expirations.
 * Blocks on a blocking fd; -EAGAIN on a non-blocking one with none. */
static inline int kif_timerfd_read(int fd, uint64_t *expirations)
{
	long r = KIF_CALL(read(fd, expirations, sizeof *expirations));
	if (r < 0)
		return (int)r;
	return r == (long)sizeof *expirations ? 0 : -EIO;
}

/* Switch an open timerfd between blocking (0) and non-blocking (1) reads,
 * for a reader that needs the other mode than the fd was opened with. */
static inline int kif_timerfd_set_nonblock(int fd, int on)
{
	long fl = KIF_CALL(fcntl(fd, F_GETFL));
	if (fl < 0)
		return (int)fl;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~(long)O_NONBLOCK);
	long r = KIF_CALL(fcntl(fd, F_SETFL, (int)fl));
	return r < 0 ? (int)r : 0;
}

static inline void kif_timerfd_close(int fd)
{
	(void)KIF_CALL(close(fd));
}

#endif /* KIF_TIMERFD_H */
