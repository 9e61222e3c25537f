// SPDX-License-Identifier: MIT
/*
 * vm/sched.h: green processes, run queues, semaphores, timers, and the
 * scheduler loop every VM thread runs (the ownership core's embedder).
 * See Documentation/vm/scheduler.md.
 */
#ifndef BATON_VM_SCHED_H
#define BATON_VM_SCHED_H

#include "vm/io/io.h"
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
/* Process>>interrupt, Ctrl-C in the REPL: [p] signals Interrupted (its
 * signalInterrupt) when it runs next; waiting on a Semaphore or for I/O,
 * it stops waiting and becomes runnable (the wait is abandoned). */
void sched_interrupt(struct st_vm *vm, struct st_proc *p);
/* Semaphore>>wait: answers 1 when [p] now waits. */
int sched_wait(struct st_vm *vm, struct st_proc *p, oop sem);
/* The same, with a time limit: [at] (baton_now_ns) ends the wait, and the
 * process then resumes with true on its stack top (0: no limit). Answers
 * PRIM_SWITCH (it waits), PRIM_OK (a signal was there: it does not) or
 * PRIM_OOM (no room for the timer: it does not wait either). */
int sched_wait_until(struct st_vm *vm, struct st_proc *p, oop sem, uint64_t at);
/* Semaphore>>signal: answers the process made runnable, or NULL. */
struct st_proc *sched_signal(struct st_vm *vm, oop sem);
int sched_preempts(struct st_vm *vm, struct st_proc *p);
void sched_unwait(struct st_vm *vm, struct st_proc *p);
/* Semaphore>>size: how many processes wait on [sem]. */
intptr_t sched_sem_size(struct st_vm *vm, oop sem);
int sched_add_timer(struct st_vm *vm, uint64_t at, oop sem, int proc);
void sched_run_timers(struct st_vm *vm, uint64_t now);
int sched_grow_stack(struct st_vm *vm, struct st_proc *p, size_t need);
/* The stack of [p] was cut back to [depth] slots by an unwind (exception
 * return, retry, non-local return): ends the StackOverflow reserve. */
void sched_settle_stack(struct st_proc *p, size_t depth);

/* The scheduler loop: hooks->run, and main's after the program starts. */
void sched_run(struct st_vm *vm, baton_thread *t);
extern const struct baton_hooks sched_hooks;

/*
 * Callbacks (vm/ffi/ffi_cb.c) run the scheduler nested, on the thread C called
 * them on, until the callback's process has answered. [p] is that process,
 * bound to the thread; [done] is set when it answered or died ([failed]:
 * died without answering, or could never finish).
 */
struct sched_wait {
	struct st_proc *p;
	int done;
	int failed;
};

/* What the scheduler keeps per VM thread (by baton_thread_index): a
 * handoff found it in a callout (skip what is bound to it until it comes
 * back); the process its blocked callout carries (hook_save to restore). */
struct sched_thr {
	uint8_t busy;
	struct st_proc *saved;
};

/*
 * The thread registry: a thread that runs a VM's scheduler (every VM
 * thread, and a foreign thread while it runs a callback) registers itself
 * in a thread-local list keyed by VM. A callback asks it whether the calling
 * OS thread is one of this VM's threads (then it is in a callout and
 * re-owns the VM), or foreign to it (then it attaches). Several VMs may
 * share a process and a thread, so the list holds one record per VM the
 * thread serves. Records live on the registering thread's stack; the list
 * is the VM's only thread-local state and holds no VM state.
 */
struct sched_reg {
	struct st_vm *vm;
	baton_thread *t;
	struct sched_wait *wait; /* innermost callback this thread runs */
	struct sched_reg *next;
};

void sched_reg_push(struct sched_reg *r, struct st_vm *vm, baton_thread *t);
void sched_reg_pop(struct sched_reg *r);
/* The calling thread's record for [vm], or NULL: foreign to it. */
struct sched_reg *sched_reg_find(struct st_vm *vm);

/* Runs processes on [t], which owns the VM, until [w] is done; then [t]
 * still owns the VM. Quitting the VM from inside exits the process. */
void sched_run_until(struct st_vm *vm, baton_thread *t, struct sched_wait *w);
/* [t] has come to own the VM other than through a callout's fast path. */
void sched_owned(struct st_vm *vm, baton_thread *t);
/* Flushes output, prints --stats, and ends the process now: for a quit
 * seen where the C stack cannot be unwound (inside a callback). */
void sched_exit_now(struct st_vm *vm) __attribute__((noreturn));

/*
 * A callout: around a C call that touches no VM memory except pinned
 * objects. Primitives run with the interpreter's registers saved in the
 * active process, so the collector (possibly on another thread, if the
 * heartbeat finds this one blocked) sees and updates its stack. [flags]:
 * BATON_BLOCKING for calls known to block. Buffered output is written
 * first (the call may block every VM thread).
 *
 * The fast path is the core's disown and own and nothing else: the VM's
 * state is left as it is (the process stays vm->active, RUNNING). If
 * nobody took the VM meanwhile, that state is still right when the call
 * returns. If somebody did, hook_save set the process aside (PS_CALLOUT,
 * counted in vm->in_callout) and hook_restore reinstalls it when this
 * thread owns the VM again, before baton_own() returns.
 */
struct sched_callout {
	baton_thread *t;
};

/* --trace: [t] now runs [p] (NULL: the scheduler). */
void sched_trace_run(struct st_vm *vm, baton_thread *t, struct st_proc *p);

/* [fn]: the C function's name, for --trace. */
static inline void sched_callout_begin(struct st_vm *vm, struct sched_callout *c,
				       unsigned flags, const char *fn)
{
	c->t = vm->cur_thread;
	/* the call may block, and every VM thread with it: output so far
	 * must not wait for the VM to run again */
	if (vm->outlen)
		st_out_flush(vm);
	/* what processes queued on the ring must not wait for this call */
	vio_flush_if(vm);
	if (ST_TRACING(vm))
		baton_trace_callout(vm->core, c->t, fn);
	/* which C function: for bpftrace's "blocked callouts by function" */
	BATON__PROBE2(callout, ((const struct baton__thread_hot *)c->t)->index, fn);
	baton_disown(vm->core, c->t, vm->active->prio, flags);
}

/* Owns the VM again; objects may have moved meanwhile: re-read args[]. */
static inline void sched_callout_end(struct st_vm *vm, struct sched_callout *c)
{
	if (ST_TRACING(vm))
		baton_trace_callout_end(vm->core, c->t);
	baton_own(vm->core, c->t);
	if (ST_TRACING(vm))
		sched_trace_run(vm, c->t, vm->active);
}

/* Counts processes left waiting on semaphores. */
int sched_count_waiting(struct st_vm *vm);

#endif /* BATON_VM_SCHED_H */
