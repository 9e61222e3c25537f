// SPDX-License-Identifier: MIT
/*
 * tools/lib/sim.h: a tiny embedder of the ownership core: green tasks.
 *
 * Stands in for an interpreter in the selftests, the demo and the benchmarks:
 * tasks with priorities that compute (in owned sections, checked for mutual
 * exclusion) and make callouts of chosen lengths, scheduled by a run queue
 * that only the VM's owner touches. Uses only include/baton.h.
 */
#ifndef BATON_SIM_H
#define BATON_SIM_H

#include <stdint.h>
#include "baton.h"

struct sim;

struct sim_task {
	/* Set by the creator. */
	int prio;                 /* 0..255, higher first */
	unsigned ops;             /* callouts to make */
	unsigned work;            /* owned-section increments before each callout */
	unsigned delay_ms;        /* sleep this long on a VM timer before starting */
	unsigned flags;           /* baton_disown() flags for every callout */
	/* Length of the next callout in microseconds (NULL: always 0). */
	unsigned (*callout_us)(struct sim_task *t);
	uint64_t rng;             /* for callout_us; sim_rand() uses it */
	void *ud;

	/* Kept by the simulator. */
	unsigned done;            /* callouts completed */
	int finished;
	int last_tid;             /* OS thread of the latest callout */
	uint64_t wake_at;         /* timer deadline while sleeping */
	struct sim_task *next;
};

/* What the simulator reports to an optional logger (the demo prints it). */
enum sim_event { SIM_SAVE, SIM_RESTORE, SIM_THREAD_START, SIM_CALLOUT_BEGIN,
		 SIM_CALLOUT_END, SIM_TIMER, SIM_FINISH };

struct sim {
	baton_vm *vm;
	baton_thread *main;
	struct sim_task *runq;    /* best priority first; owner only */
	struct sim_task *sleepers;/* by wake_at; owner only */
	unsigned ntasks, nfinished;
	/* Mutual-exclusion witnesses: plain memory, touched by owners only.
	 * Two threads in owned sections at once lose increments or trip the
	 * inside check. */
	uint64_t counter;
	volatile unsigned inside;
	uint64_t violations;
	uint64_t saves, restores, timer_runs;
	unsigned threads_seen;
	void (*log)(struct sim *s, enum sim_event ev, baton_thread *t,
		    struct sim_task *task);
	void *ud;
};

/* Creates the VM with the simulator's hooks; [cfg] supplies the rest. */
int sim_init(struct sim *s, const struct baton_config *cfg);
void sim_add(struct sim *s, struct sim_task *t);
/* The calling thread enters the VM and schedules until every task is done. */
int sim_run(struct sim *s);
void sim_fini(struct sim *s);
uint64_t sim_rand(uint64_t *state);
/* Length of a callout body: spins for 0 us, else sleeps in the kernel. */
void sim_callout_body(unsigned us);

#endif
