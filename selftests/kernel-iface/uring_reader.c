// SPDX-License-Identifier: MIT
/*
 * uring_reader.c: selftests of the kif_uring reader, single-shot and
 * multishot, on a timerfd and on a pipe (whose values keep their order).
 *
 * See Documentation/core/kernel-iface.md.
 */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "kernel-iface/timerfd.h"
#include "kernel-iface/uring.h"
#include "selftests/harness.h"

FIXTURE(reader) {
	struct kif_uring_caps caps;
	int fds[2]; /* a pipe, for tests that need chosen values */
};

FIXTURE_VARIANT(reader) {
	unsigned flags;
};

FIXTURE_VARIANT_ADD(reader, single) {
	.flags = 0,
};

FIXTURE_VARIANT_ADD(reader, multishot) {
	.flags = KIF_URING_MULTISHOT,
};

FIXTURE_SETUP(reader)
{
	self->fds[0] = self->fds[1] = -1;
	unsetenv("BATON_URING");
	if (kif_uring_probe(&self->caps) < 0)
		SKIP(return, "io_uring unusable: %s", self->caps.why);
	if ((variant->flags & KIF_URING_MULTISHOT) && !self->caps.read_multishot)
		SKIP(return, "IORING_OP_READ_MULTISHOT unsupported (needs Linux 6.7)");
	ASSERT_EQ(0, pipe2(self->fds, O_NONBLOCK | O_CLOEXEC));
}

FIXTURE_TEARDOWN(reader)
{
	if (self->fds[0] >= 0) {
		close(self->fds[0]);
		close(self->fds[1]);
	}
}

TEST_F(reader, timerfd_expirations_arrive)
{
	int fd = kif_timerfd_open(KIF_TFD_NONBLOCK);
	ASSERT_GE(fd, 0);
	struct kif_uring_reader_opts o = { .flags = variant->flags };
	struct kif_uring *u;
	ASSERT_EQ(0, kif_uring_reader_open(&u, fd, &o));
	ASSERT_EQ(0, kif_timerfd_periodic(fd, 1000000));
	uint64_t sum = 0, v;
	const unsigned waits = 30;
	for (unsigned i = 0; i < waits; i++) {
		ASSERT_EQ(0, kif_uring_reader_wait(u, &v));
		ASSERT_GE(v, 1);
		sum += v;
	}
	struct kif_uring_stats st;
	kif_uring_reader_stats(u, &st);
	kif_uring_reader_close(u);
	kif_timerfd_close(fd);
	TH_LOG("%u values, %lu expirations, %lu enters, %lu cqes, %lu arms", waits,
	       (unsigned long)sum, (unsigned long)st.enters, (unsigned long)st.cqes,
	       (unsigned long)st.arms);
	ASSERT_GE(sum, waits);
	/* At most one io_uring_enter per value. */
	ASSERT_LE(st.enters, waits);
	if (variant->flags & KIF_URING_MULTISHOT) {
		/* One SQE served many completions. */
		ASSERT_LT(st.arms, st.cqes);
	} else {
		/* Every completion queued the next read. */
		ASSERT_EQ(st.cqes + 1, st.arms);
	}
}

/* A burst of values larger than the buffer ring: the multishot read runs
 * out of buffers, ends without IORING_CQE_F_MORE, and must be re-armed
 * without losing or reordering anything. */
TEST_F(reader, burst_of_values_arrives_in_order)
{
	enum { N = 100 };
	uint64_t vals[N];
	for (unsigned i = 0; i < N; i++)
		vals[i] = 1000 + i;
	ASSERT_EQ((ssize_t)sizeof vals, write(self->fds[1], vals, sizeof vals));
	struct kif_uring_reader_opts o = { .flags = variant->flags, .nbufs = 2 };
	struct kif_uring *u;
	ASSERT_EQ(0, kif_uring_reader_open(&u, self->fds[0], &o));
	for (unsigned i = 0; i < N; i++) {
		uint64_t v = 0;
		ASSERT_EQ(0, kif_uring_reader_wait(u, &v));
		ASSERT_EQ(1000 + i, v);
	}
	struct kif_uring_stats st;
	kif_uring_reader_stats(u, &st);
	kif_uring_reader_close(u);
	TH_LOG("%d values, %lu enters, %lu cqes, %lu arms", N, (unsigned long)st.enters,
	       (unsigned long)st.cqes, (unsigned long)st.arms);
	if (variant->flags & KIF_URING_MULTISHOT) {
		ASSERT_GT(st.arms, 1); /* it did end and was re-armed */
	}
}

TEST_F(reader, read_error_is_reported)
{
	/* The write end of a pipe cannot be read. */
	struct kif_uring_reader_opts o = { .flags = variant->flags };
	struct kif_uring *u;
	ASSERT_EQ(0, kif_uring_reader_open(&u, self->fds[1], &o));
	uint64_t v;
	int r = kif_uring_reader_wait(u, &v);
	kif_uring_reader_close(u);
	ASSERT_LT(r, 0);
	ASSERT_NE(-EINTR, r);
}

TEST_F(reader, bad_buffer_count_is_rejected)
{
	struct kif_uring_reader_opts o = { .flags = KIF_URING_MULTISHOT, .nbufs = 1000 };
	struct kif_uring *u;
	ASSERT_EQ(-EINVAL, kif_uring_reader_open(&u, self->fds[0], &o));
}

TEST_HARNESS_MAIN
