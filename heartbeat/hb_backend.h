// SPDX-License-Identifier: MIT
/*
 * hb_backend.h: the contract between hb.c and a way of waiting for timerfd
 * expirations.
 *
 * hb.c owns the timerfd and arms it; a backend only waits on it. Each
 * backend file exports its ops table(s) and keeps its state private.
 * See Documentation/core/heartbeat.md.
 */
#ifndef HB_BACKEND_H
#define HB_BACKEND_H

#include <stdint.h>

struct hb_ops {
	const char *name; /* what hb_backend() reports */
	/* On the heartbeat thread, which alone then uses the state: prepare
	 * to wait on [tfd] (the backend may switch its O_NONBLOCK mode).
	 * 0 and *state, or -errno (hb.c then tries the next backend). */
	int (*create)(void **state, int tfd);
	/* Sleeps until the timer has expired at least once; returns the
	 * expirations (>= 1), -EINTR (call again), or another -errno (the
	 * backend is broken: hb.c destroys it and falls back). */
	int64_t (*wait)(void *state);
	void (*destroy)(void *state);
};

extern const struct hb_ops hb_uring_multishot_ops; /* hb_uring.c */
extern const struct hb_ops hb_uring_ops;           /* hb_uring.c */
extern const struct hb_ops hb_read_ops;            /* hb_read.c */

#endif /* HB_BACKEND_H */
