// SPDX-License-Identifier: MIT
/*
 * t_hb.h: selftest helpers for the heartbeat: a scripted VM (what beat()
 * and still_idle() answer), backend variants and their skip rules, and
 * "the heartbeat thread is asleep" checks. Test code only.
 */
#ifndef T_HB_H
#define T_HB_H

#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "heartbeat/hb.h"
#include "kernel-iface/clock.h"
#include "kernel-iface/futex.h"
#include "kernel-iface/uring.h"
#include "selftests/kernel-iface/t_proc.h"

/* What the scripted beat() returns. */
enum { T_TICK, T_IDLE, T_DEADLINE };

struct t_vm {
	_Atomic uint32_t mode;     /* T_TICK, T_IDLE, T_DEADLINE */
	_Atomic uint64_t deadline; /* T_DEADLINE: returned until it passes */
	_Atomic uint32_t idle;     /* still_idle()'s answer */
	_Atomic uint32_t beats;    /* beat() calls; a futex word tests wait on */
	_Atomic uint64_t expirations;
	_Atomic uint64_t still_idle_calls;
	_Atomic uint64_t idle_votes;   /* still_idle() calls that said idle */
	_Atomic uint64_t late_beats;   /* calls at or after deadline, T_DEADLINE */
	_Atomic uint64_t late_now;     /* now of the first of those */
	_Atomic uint64_t late_exp;     /* its expirations */
	_Atomic uint64_t early_beats;  /* calls before the deadline, T_DEADLINE */
};

static inline uint64_t t_beat(void *ud, uint64_t now, uint64_t exp)
{
	struct t_vm *vm = ud;
	atomic_fetch_add(&vm->expirations, exp);
	uint64_t ret = HB_TICK;
	switch (atomic_load(&vm->mode)) {
	case T_IDLE:
		ret = HB_NO_DEADLINE;
		break;
	case T_DEADLINE: {
		uint64_t d = atomic_load(&vm->deadline);
		if (now < d) {
			atomic_fetch_add(&vm->early_beats, 1);
			ret = d;
		} else {
			if (atomic_fetch_add(&vm->late_beats, 1) == 0) {
				atomic_store(&vm->late_now, now);
				atomic_store(&vm->late_exp, exp);
			}
			ret = HB_NO_DEADLINE;
		}
		break;
	}
	}
	atomic_fetch_add(&vm->beats, 1);
	(void)kif_futex_wake(&vm->beats, INT_MAX);
	return ret;
}

static inline int t_still_idle(void *ud)
{
	struct t_vm *vm = ud;
	atomic_fetch_add(&vm->still_idle_calls, 1);
	int idle = (int)atomic_load(&vm->idle); /* seq_cst, as hb.h requires */
	if (idle)
		atomic_fetch_add(&vm->idle_votes, 1);
	return idle;
}

/* Sleeps until beat() has been called at least [n] times in all. */
static inline void t_wait_beats(struct t_vm *vm, uint32_t n)
{
	uint32_t b;
	while ((b = atomic_load(&vm->beats)) < n)
		(void)kif_futex_wait(&vm->beats, b, -1);
}

/* Backend variants, shared by the heartbeat tests. */
struct t_backend {
	const char *name; /* expected hb_backend() */
	int force_read, no_multishot;
	int uring, multishot; /* needs */
};

/* NULL when the variant can run here, else why not. */
static inline const char *t_backend_missing(const struct t_backend *b, char *buf, size_t n)
{
	struct kif_uring_caps c;
	if (!b->uring)
		return NULL;
	if (kif_uring_probe(&c) < 0) {
		snprintf(buf, n, "io_uring unusable: %s", c.why);
		return buf;
	}
	if (b->multishot && !c.read_multishot)
		return "IORING_OP_READ_MULTISHOT unsupported (needs Linux 6.7)";
	return NULL;
}

static inline struct hb *t_hb_start(const struct t_backend *b, struct t_vm *vm, unsigned hz)
{
	struct hb_config cfg = {
		.hz = hz,
		.force_read = b->force_read,
		.no_multishot = b->no_multishot,
		.beat = t_beat,
		.still_idle = t_still_idle,
		.ud = vm,
	};
	return hb_start(&cfg);
}

/* The heartbeat sleeps in its backend: read(2), or io_uring_enter(2). */
static inline int t_hb_asleep(int tid)
{
	return t_task_sleeps_in(tid, SYS_read, 0) ||
	       t_task_sleeps_in(tid, SYS_io_uring_enter, 0);
}

/*
 * Returns once the heartbeat, told to be idle, has gone tickless and sleeps:
 * still_idle() was asked (more than [s0] calls in all), then the thread was
 * seen asleep with no beat in between. Any sleep after a still_idle() call
 * that said "idle" is a tickless one: the disarm (or one-shot) comes between.
 */
static inline void t_wait_tickless_sleep(struct t_vm *vm, int tid, uint64_t s0)
{
	for (;;) {
		uint32_t b = atomic_load(&vm->beats);
		uint64_t s = atomic_load(&vm->still_idle_calls);
		if (s > s0 && t_hb_asleep(tid) && atomic_load(&vm->beats) == b &&
		    atomic_load(&vm->still_idle_calls) == s)
			return;
		sched_yield();
	}
}

#endif /* T_HB_H */
