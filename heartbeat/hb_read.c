// SPDX-License-Identifier: MIT
/*
 * hb_read.c: heartbeat backend that sleeps in a plain blocking read(2) of
 * the timerfd: one system call per beat.
 *
 * The fallback when io_uring is unusable (BATON_URING=0, seccomp,
 * kernel.io_uring_disabled). See Documentation/core/heartbeat.md.
 */
#include <stdint.h>

#include "heartbeat/hb_backend.h"
#include "kernel-iface/timerfd.h"

/* The state is the fd itself: nothing else to keep. */
static int create(void **state, int tfd)
{
	int r = kif_timerfd_set_nonblock(tfd, 0);
	if (r < 0)
		return r;
	*state = (void *)(intptr_t)tfd;
	return 0;
}

static int64_t wait_beat(void *state)
{
	uint64_t n;
	int r = kif_timerfd_read((int)(intptr_t)state, &n);
	return r < 0 ? r : (int64_t)n;
}

static void destroy(void *state)
{
	(void)state;
}

const struct hb_ops hb_read_ops = {
	.name = "read",
	.create = create,
	.wait = wait_beat,
	.destroy = destroy,
};
