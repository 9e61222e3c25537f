// SPDX-License-Identifier: MIT
/*
 * vm/sched.h: green processes, run queues, semaphores, timers, and the
 * scheduler loop every VM thread runs (the ownership core's embedder).
 * See Documentation/vm/scheduler.md.
 */
#ifndef BATON_VM_SCHED_H
#define BATON_VM_SCHED_H

#include "vm/st.h"

#define PRIO_USER 40

/* A process whose first frame runs [closure] (a BlockClosure with no
 * arguments), or [method] on nil when closure is 0. NULL: no memory. */
struct st_proc *sched_new_proc(struct st_vm *vm, oop closure, oop method, int prio);
struct st_proc *sched_proc_of(struct st_vm *vm, oop process);
void sched_ready(struct st_vm *vm, struct st_proc *p, int front);
void sched_unready(struct st_vm *vm, struct st_proc *p);
struct st_proc *sched_pick(struct st_vm *vm);
int sched_best(struct st_vm *vm); /* best runnable priority, -1: none */
void sched_kill(struct st_vm *vm, struct st_proc *p);
/* Semaphore>>wait: answers 1 when [p] now waits. */
int sched_wait(struct st_vm *vm, struct st_proc *p, oop sem);
/* Semaphore>>signal: answers the process made runnable, or NULL. */
struct st_proc *sched_signal(struct st_vm *vm, oop sem);
void sched_unwait(struct st_vm *vm, struct st_proc *p);
int sched_add_timer(struct st_vm *vm, uint64_t at, oop sem, int proc);
void sched_run_timers(struct st_vm *vm, uint64_t now);
int sched_grow_stack(struct st_vm *vm, struct st_proc *p, size_t need);

/* The scheduler loop: hooks->run, and main's after the program starts. */
void sched_run(struct st_vm *vm, baton_thread *t);
extern const struct baton_hooks sched_hooks;

/*
 * A callout: around a C call that touches no VM memory except pinned
 * objects. Primitives run with the interpreter's registers saved in the
 * active process, so the collector (possibly on another thread, if the
 * heartbeat finds this one blocked) sees and updates its stack. [flags]:
 * BATON_BLOCKING for calls known to block. Plain stores only: the fast
 * path of a callout is the core's disown and own and nothing else.
 */
struct sched_callout {
	baton_thread *t;
	struct st_proc *p;
};

static inline void sched_callout_begin(struct st_vm *vm, struct sched_callout *c,
				       unsigned flags)
{
	c->t = vm->cur_thread;
	c->p = vm->active;
	baton_thread_set_data(c->t, c->p);
	vm->in_callout++;
	baton_disown(vm->core, c->t, c->p->prio, flags);
}

/* Owns the VM again; if another thread ran meanwhile, hooks->restore has
 * reinstalled the process. Objects may have moved: re-read args[]. */
static inline void sched_callout_end(struct st_vm *vm, struct sched_callout *c)
{
	baton_own(vm->core, c->t);
	vm->cur_thread = c->t;
	vm->in_callout--;
	baton_thread_set_data(c->t, NULL);
	vm->active = c->p;
	c->p->state = PS_RUNNING;
}

/* Counts processes left waiting on semaphores. */
int sched_count_waiting(struct st_vm *vm);

#endif /* BATON_VM_SCHED_H */
