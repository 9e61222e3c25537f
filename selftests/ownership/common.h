// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/common.h: small helpers shared by the ownership tests.
 *
 * Waiting for a condition here means polling a counter the core keeps,
 * yielding the CPU between looks: never a sleep standing in for an event.
 */
#ifndef T_OWNERSHIP_COMMON_H
#define T_OWNERSHIP_COMMON_H

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton.h"
#include "tools/lib/sim.h"

static inline struct baton_stats t_stats(baton_vm *vm)
{
	struct baton_stats s;
	baton_get_stats(vm, &s);
	return s;
}

/* Spin (yielding) until [n] threads are queued for the VM. */
static inline void t_wait_queued(baton_vm *vm, unsigned n)
{
	while (t_stats(vm).waiting < n)
		sched_yield();
}

static inline void t_wait_parked(baton_vm *vm, unsigned n)
{
	while (t_stats(vm).parked < n)
		sched_yield();
}

/* BATON_URING=0 in the test's own (forked) environment selects the
 * fallback heartbeat; variants use it to cover both backends. */
static inline void t_backend(int uring)
{
	if (uring)
		unsetenv("BATON_URING");
	else
		setenv("BATON_URING", "0", 1);
}

static inline unsigned t_fixed_us(struct sim_task *k)
{
	return (unsigned)(uintptr_t)k->ud;
}

#endif
