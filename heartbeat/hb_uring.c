// SPDX-License-Identifier: MIT
/*
 * hb_uring.c: heartbeat backends that read the timerfd through io_uring.
 *
 * "io_uring-multishot": one IORING_OP_READ_MULTISHOT serves every beat, so
 * a beat costs one io_uring_enter and no submission (Linux 6.7).
 * "io_uring": a single-shot read, re-armed each beat and submitted by the
 * same io_uring_enter that waits. hb.c picks one from kif_uring_probe().
 * See Documentation/core/heartbeat.md.
 */
#include <stdint.h>

#include "heartbeat/hb_backend.h"
#include "kernel-iface/timerfd.h"
#include "kernel-iface/uring.h"

static int create(void **state, int tfd, unsigned flags)
{
	/* Non-blocking, so that io_uring serves the read from its poll path
	 * instead of a worker thread blocked in read(2). */
	int r = kif_timerfd_set_nonblock(tfd, 1);
	if (r < 0)
		return r;
	struct kif_uring_reader_opts o = { .flags = flags };
	struct kif_uring *u;
	r = kif_uring_reader_open(&u, tfd, &o);
	if (r < 0)
		return r;
	*state = u;
	return 0;
}

static int create_multishot(void **state, int tfd)
{
	return create(state, tfd, KIF_URING_MULTISHOT);
}

static int create_single(void **state, int tfd)
{
	return create(state, tfd, 0);
}

static int64_t wait_beat(void *state)
{
	uint64_t n;
	int r = kif_uring_reader_wait(state, &n);
	return r < 0 ? r : (int64_t)n;
}

static void destroy(void *state)
{
	kif_uring_reader_close(state);
}

const struct hb_ops hb_uring_multishot_ops = {
	.name = "io_uring-multishot",
	.create = create_multishot,
	.wait = wait_beat,
	.destroy = destroy,
};

const struct hb_ops hb_uring_ops = {
	.name = "io_uring",
	.create = create_single,
	.wait = wait_beat,
	.destroy = destroy,
};
