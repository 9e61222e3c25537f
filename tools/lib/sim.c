// SPDX-License-Identifier: MIT
/*
 * tools/lib/sim.c: green tasks scheduled over the ownership core.
 *
 * The scheduler loop below is what an interpreter's process scheduler does:
 * every OS thread that owns the VM runs it; a task is bound to a thread only
 * while it is in a callout. All simulator state is touched by owners only,
 * so any break of mutual exclusion shows up in the witnesses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/lib/sim.h"

uint64_t sim_rand(uint64_t *state)
{
	/* xorshift64*: plenty for choosing callout lengths. */
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

__attribute__((noinline)) static void empty_call(void)
{
	__asm__ volatile("" ::: "memory");
}

void sim_callout_body(unsigned us)
{
	if (!us) {
		empty_call();
		return;
	}
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void logev(struct sim *s, enum sim_event ev, baton_thread *t, struct sim_task *k)
{
	if (s->log)
		s->log(s, ev, t, k);
}

/* Best priority first; [front] puts a preempted task before its peers. */
static void enqueue(struct sim *s, struct sim_task *k, int front)
{
	struct sim_task **p = &s->runq;
	while (*p && ((*p)->prio > k->prio || (!front && (*p)->prio == k->prio)))
		p = &(*p)->next;
	k->next = *p;
	*p = k;
}

static struct sim_task *pop(struct sim *s)
{
	struct sim_task *k = s->runq;
	if (k)
		s->runq = k->next;
	return k;
}

static void witness(struct sim *s, baton_thread *t)
{
	unsigned me = baton_thread_index(t);
	if (baton_owner(s->vm) != me || s->inside)
		s->violations++;
	s->inside = me;
	s->counter++;
	if (s->inside != me)
		s->violations++;
	s->inside = 0;
}

static void arm(struct sim *s)
{
	baton_set_deadline(s->vm, s->sleepers ? s->sleepers->wake_at : 0);
}

static void sleep_task(struct sim *s, struct sim_task *k)
{
	k->wake_at = baton_now_ns() + k->delay_ms * 1000000ull;
	k->delay_ms = 0;
	struct sim_task **p = &s->sleepers;
	while (*p && (*p)->wake_at <= k->wake_at)
		p = &(*p)->next;
	k->next = *p;
	*p = k;
	arm(s);
}

static void hook_timers(baton_vm *vm, baton_thread *t, uint64_t now, void *ud)
{
	(void)vm;
	struct sim *s = ud;
	s->timer_runs++;
	while (s->sleepers && s->sleepers->wake_at <= now) {
		struct sim_task *k = s->sleepers;
		s->sleepers = k->next;
		logev(s, SIM_TIMER, t, k);
		enqueue(s, k, 0);
	}
	arm(s);
}

static void hook_save(baton_vm *vm, baton_thread *blocked, void *ud)
{
	(void)vm;
	struct sim *s = ud;
	s->saves++;
	logev(s, SIM_SAVE, blocked, baton_thread_data(blocked));
}

static void hook_restore(baton_vm *vm, baton_thread *t, void *ud)
{
	(void)vm;
	struct sim *s = ud;
	s->restores++;
	logev(s, SIM_RESTORE, t, baton_thread_data(t));
}

/* One step of [k] on [t]: its owned work, then one callout. Answers 1
 * when [k] no longer runs here (finished or asleep). */
static int step(struct sim *s, baton_thread *t, struct sim_task *k)
{
	if (k->delay_ms) {
		sleep_task(s, k);
		return 1;
	}
	for (unsigned i = 0; i < k->work; i++)
		witness(s, t);
	if (k->done >= k->ops) {
		k->finished = 1;
		s->nfinished++;
		logev(s, SIM_FINISH, t, k);
		return 1;
	}
	unsigned us = k->callout_us ? k->callout_us(k) : 0;
	baton_thread_set_data(t, k);
	logev(s, SIM_CALLOUT_BEGIN, t, k);
	baton_disown(s->vm, t, k->prio, k->flags);
	sim_callout_body(us);
	k->last_tid = gettid();
	baton_own(s->vm, t);
	k->done++;
	logev(s, SIM_CALLOUT_END, t, k);
	return 0;
}

/* The scheduler loop, on every thread that owns the VM. */
static void loop(struct sim *s, baton_thread *t)
{
	struct sim_task *cur = NULL;
	for (;;) {
		if (baton_interrupted(s->vm)) {
			if (baton_checkpoint(s->vm, t, cur ? cur->prio : -1)) {
				if (cur)
					enqueue(s, cur, 1);
				cur = NULL;
				if (baton_yield(s->vm, t) == BATON_QUIT)
					return;
				continue;
			}
			/* A timer may have made better work runnable. */
			if (cur && s->runq && s->runq->prio > cur->prio) {
				enqueue(s, cur, 1);
				cur = NULL;
			}
		}
		if (!cur && s->nfinished == s->ntasks) {
			/* All done: the VM ends on the thread that entered it. */
			if (t == s->main)
				return;
			int r = baton_handoff(s->vm, t, s->main);
			if (r < 0)
				r = baton_idle(s->vm, t);
			if (r == BATON_QUIT)
				return;
			continue;
		}
		if (!cur && !(cur = pop(s))) {
			if (baton_idle(s->vm, t) == BATON_QUIT)
				return;
			continue;
		}
		/* A returning callout at our priority or better goes first. */
		if (baton_top_waiter(s->vm) >= cur->prio) {
			enqueue(s, cur, 1);
			cur = NULL;
			if (baton_yield(s->vm, t) == BATON_QUIT)
				return;
			continue;
		}
		if (step(s, t, cur))
			cur = NULL;
	}
}

static void hook_run(baton_vm *vm, baton_thread *t, void *ud)
{
	(void)vm;
	struct sim *s = ud;
	s->threads_seen++;
	logev(s, SIM_THREAD_START, t, NULL);
	loop(s, t);
}

static const struct baton_hooks sim_hooks = {
	.run = hook_run,
	.save = hook_save,
	.restore = hook_restore,
	.timers = hook_timers,
};

int sim_init(struct sim *s, const struct baton_config *cfg)
{
	void (*log)(struct sim *, enum sim_event, baton_thread *, struct sim_task *) = s->log;
	void *ud = s->ud;
	memset(s, 0, sizeof *s);
	s->log = log;
	s->ud = ud;
	struct baton_config c = *cfg;
	c.hooks = &sim_hooks;
	c.ud = s;
	s->vm = baton_vm_new(&c);
	return s->vm ? 0 : -errno;
}

void sim_add(struct sim *s, struct sim_task *k)
{
	k->done = 0;
	k->finished = 0;
	enqueue(s, k, 0);
	s->ntasks++;
}

int sim_run(struct sim *s)
{
	s->main = baton_enter(s->vm);
	if (!s->main)
		return -errno;
	s->threads_seen = 1;
	loop(s, s->main);
	return s->violations ? -1 : 0;
}

void sim_fini(struct sim *s)
{
	baton_vm_free(s->vm, s->main);
	s->vm = NULL;
}
