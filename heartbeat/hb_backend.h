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

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "heartbeat/hb.h"

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

/* ---- shared by hb.c (one thread per heartbeat) and hb_group.c (one
 * thread for a group of clients); defined in hb.c. ---- */

#define HB_MAX_CHAIN 3

/* A timerfd and the backend that waits on it. */
struct hb_waiter {
	int tfd;
	_Atomic(const struct hb_ops *) ops; /* current backend, read by hb_backend() */
	void *bk;                           /* its state; heartbeat thread only */
	int live;                           /* bk is open */
	const struct hb_ops *chain[HB_MAX_CHAIN]; /* backends to try, best first */
	unsigned nchain, next;                    /* next: index of the next to try */
};

void hb_waiter_choose(struct hb_waiter *w, int force_read, int no_multishot);
/* Heartbeat thread: opens the first backend that works. 0 or -errno. */
int hb_waiter_open(struct hb_waiter *w);
/* Heartbeat thread: sleeps; expirations (>= 1), 0 (interrupted, or fell
 * back to the next backend: call again) or -1 (no backend left). */
int64_t hb_waiter_wait(struct hb_waiter *w);
void hb_waiter_close(struct hb_waiter *w);
const char *hb_waiter_name(const struct hb_waiter *w);
/* Starts [fn] with every signal blocked and waits until it calls
 * hb_started(started, 1 or 2); 0 or an errno (2: *start_err). */
int hb_spawn(pthread_t *thread, void *(*fn)(void *), void *arg,
	     _Atomic uint32_t *started, const int *start_err);
void hb_started(_Atomic uint32_t *started, uint32_t how);
uint64_t hb_thread_cpu_ns(pthread_t thread);

/* ---- a client of a shared heartbeat (hb_group.c), behind struct hb ---- */
struct hb_client;
struct hb_client *hbg_join(struct hb_group *g, const struct hb_config *cfg, struct hb *owner);
void hbg_leave(struct hb_client *c);
void hbg_resume(struct hb_client *c);
void hbg_recheck_at(struct hb_client *c, uint64_t at_ns);
const char *hbg_backend(const struct hb_client *c);
uint64_t hbg_wakeups(const struct hb_client *c);
uint64_t hbg_cpu_ns(const struct hb_client *c);

#endif /* HB_BACKEND_H */
