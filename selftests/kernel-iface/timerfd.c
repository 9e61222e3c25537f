// SPDX-License-Identifier: MIT
/*
 * timerfd.c: selftests of the kif_timerfd wrappers.
 *
 * Counts are checked against what the clock allows, never against speed.
 * See Documentation/core/kernel-iface.md.
 */
#include <fcntl.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/timerfd.h"
#include "selftests/harness.h"

#define MS 1000000u

FIXTURE(tfd) {
	int fd;
};

FIXTURE_SETUP(tfd)
{
	self->fd = kif_timerfd_open(KIF_TFD_BLOCKING);
	ASSERT_GE(self->fd, 0);
}

FIXTURE_TEARDOWN(tfd)
{
	kif_timerfd_close(self->fd);
}

TEST_F(tfd, opens_disarmed_blocking_and_cloexec)
{
	uint64_t left = 1;
	ASSERT_EQ(0, kif_timerfd_remaining(self->fd, &left));
	ASSERT_EQ(0, left);
	ASSERT_TRUE(fcntl(self->fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_FALSE(fcntl(self->fd, F_GETFL) & O_NONBLOCK);
	int nb = kif_timerfd_open(KIF_TFD_NONBLOCK);
	ASSERT_GE(nb, 0);
	EXPECT_TRUE(fcntl(nb, F_GETFL) & O_NONBLOCK);
	kif_timerfd_close(nb);
}

TEST_F(tfd, set_nonblock_switches_mode)
{
	uint64_t n;
	ASSERT_EQ(0, kif_timerfd_set_nonblock(self->fd, 1));
	ASSERT_TRUE(fcntl(self->fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(-EAGAIN, kif_timerfd_read(self->fd, &n)); /* nothing expired */
	ASSERT_EQ(0, kif_timerfd_set_nonblock(self->fd, 0));
	ASSERT_FALSE(fcntl(self->fd, F_GETFL) & O_NONBLOCK);
}

TEST_F(tfd, periodic_counts_every_expiration)
{
	const uint64_t period = 2 * MS;
	uint64_t sum = 0, reads = 0, n;
	uint64_t t0 = kif_now_ns();
	ASSERT_EQ(0, kif_timerfd_periodic(self->fd, period));
	uint64_t left = 0;
	ASSERT_EQ(0, kif_timerfd_remaining(self->fd, &left));
	ASSERT_GT(left, 0);
	ASSERT_LE(left, period);
	while (sum < 25) {
		ASSERT_EQ(0, kif_timerfd_read(self->fd, &n));
		ASSERT_GE(n, 1);
		sum += n;
		reads++;
	}
	uint64_t elapsed = kif_now_ns() - t0;
	/* Late reads lose nothing, they get several at once: never more
	 * expirations than the clock allows, never fewer reads than one. */
	ASSERT_LE(sum, elapsed / period + 1);
	ASSERT_LE(reads, sum);
}

TEST_F(tfd, oneshot_abs_fires_once_not_before_deadline)
{
	uint64_t n, deadline = kif_now_ns() + 20 * MS;
	ASSERT_EQ(0, kif_timerfd_oneshot_abs(self->fd, deadline));
	ASSERT_EQ(0, kif_timerfd_read(self->fd, &n));
	ASSERT_GE(kif_now_ns(), deadline);
	ASSERT_EQ(1, n);
	uint64_t left = 1;
	ASSERT_EQ(0, kif_timerfd_remaining(self->fd, &left));
	ASSERT_EQ(0, left); /* spent: disarmed */
	ASSERT_EQ(0, kif_timerfd_set_nonblock(self->fd, 1));
	ASSERT_EQ(-EAGAIN, kif_timerfd_read(self->fd, &n));
}

TEST_F(tfd, periodic_from_starts_at_the_time_given)
{
	uint64_t n = 0, left = 0, first = kif_now_ns() + 20 * MS;
	ASSERT_EQ(0, kif_timerfd_periodic_from(self->fd, first, 5 * MS));
	ASSERT_EQ(0, kif_timerfd_read(self->fd, &n));
	ASSERT_GE(kif_now_ns(), first);
	ASSERT_GE(n, 1);
	/* Still armed: periodic after the first expiration. */
	ASSERT_EQ(0, kif_timerfd_remaining(self->fd, &left));
	ASSERT_GT(left, 0);
	ASSERT_LE(left, 5 * MS);
}

TEST_F(tfd, oneshot_in_the_past_fires_at_once)
{
	uint64_t n = 0;
	ASSERT_EQ(0, kif_timerfd_oneshot_abs(self->fd, 0));
	ASSERT_EQ(0, kif_timerfd_set_nonblock(self->fd, 1));
	/* Expired on arming: readable without waiting. */
	ASSERT_EQ(0, kif_timerfd_read(self->fd, &n));
	ASSERT_EQ(1, n);
}

TEST_F(tfd, disarm_discards_pending_expirations)
{
	uint64_t n, left = 1;
	ASSERT_EQ(0, kif_timerfd_oneshot_abs(self->fd, 1)); /* expired already */
	ASSERT_EQ(0, kif_timerfd_disarm(self->fd));
	ASSERT_EQ(0, kif_timerfd_remaining(self->fd, &left));
	ASSERT_EQ(0, left);
	ASSERT_EQ(0, kif_timerfd_set_nonblock(self->fd, 1));
	ASSERT_EQ(-EAGAIN, kif_timerfd_read(self->fd, &n));
}

TEST(bad_fd_returns_ebadf_and_keeps_errno)
{
	uint64_t n;
	errno = 777;
	ASSERT_EQ(-EBADF, kif_timerfd_periodic(-1, MS));
	ASSERT_EQ(-EBADF, kif_timerfd_read(-1, &n));
	ASSERT_EQ(-EBADF, kif_timerfd_set_nonblock(-1, 1));
	ASSERT_EQ(777, errno);
}

TEST_HARNESS_MAIN
