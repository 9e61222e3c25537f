// SPDX-License-Identifier: MIT
/*
 * vm/prim_proc.c: primitives for processes, semaphores, timers, and the
 * process side of unwinding (unwind blocks, traces). Frames are named by
 * contexts (vm/ctx.c owns them and the primitives on them).
 * See Documentation/vm/scheduler.md and Documentation/vm/interpreter.md.
 */
#include <string.h>

#include "vm/ctx.h"
#include "vm/prim.h"
#include "vm/sched.h"

static struct st_proc *proc_arg(struct st_vm *vm, oop o) { return sched_proc_of(vm, o); }

static int is_sem(oop o) { return obj_is_ptr(o) && obj_cls(o) == CI_SEMAPHORE; }

/* After making [p] runnable: switch if it preempts the active process. */
static int maybe_preempt(struct st_vm *vm, struct st_proc *p)
{
	return sched_preempts(vm, p) ? PRIM_SWITCH : PRIM_OK;
}

/* BlockClosure>>newProcessAt: priority (suspended) */
PRIM(procNewFor)
{
	oop b = args[0];
	if (!obj_is_ptr(b) || obj_cls(b) != CI_BLOCK || !obj_is_int(args[1]) ||
	    obj_int(args[1]) < 1 || obj_int(args[1]) > ST_PRIO_MAX)
		return PRIM_FAIL;
	if (CMH_NARGS(obj_int(obj_body(obj_body(b)[BC_CODE])[CM_HEADER])) != 0)
		return PRIM_FAIL;
	struct st_proc *p = sched_new_proc(vm, b, 0, (int)obj_int(args[1]));
	if (!p)
		return PRIM_OOM;
	p->state = PS_SUSPENDED;
	args[0] = p->self;
	return PRIM_OK;
}

/* BlockClosure>>forkOnMainThread: a process that only ever runs (and
 * calls out) on the VM's main OS thread. */
PRIM(procForkMain)
{
	int r = prim_procNewFor(vm, args, nargs);
	if (r != PRIM_OK)
		return r;
	struct st_proc *p = proc_arg(vm, args[0]);
	p->bound = vm->main_thread;
	sched_ready(vm, p, 0);
	return maybe_preempt(vm, p);
}

PRIM(procFork)
{
	int r = prim_procNewFor(vm, args, nargs);
	if (r != PRIM_OK)
		return r;
	struct st_proc *p = proc_arg(vm, args[0]);
	sched_ready(vm, p, 0);
	return maybe_preempt(vm, p);
}

PRIM(procResume)
{
	struct st_proc *p = proc_arg(vm, args[0]);
	if (!p)
		return PRIM_FAIL;
	if ((p->state != PS_SUSPENDED && p->state != PS_NEW) || p->ending)
		return PRIM_OK;
	sched_ready(vm, p, 0);
	return maybe_preempt(vm, p);
}

PRIM(procSuspend)
{
	struct st_proc *p = proc_arg(vm, args[0]);
	if (!p)
		return PRIM_FAIL;
	switch (p->state) {
	case PS_RUNNING:
		p->state = PS_SUSPENDED;
		return PRIM_SWITCH;
	case PS_RUNNABLE:
		sched_unready(vm, p);
		p->state = PS_SUSPENDED;
		return PRIM_OK;
	case PS_WAITING:
		sched_unwait(vm, p);
		p->state = PS_SUSPENDED;
		return PRIM_OK;
	default:
		return PRIM_OK;
	}
}

/* Process>>primStop: another process terminates this one. It leaves its
 * run queue or semaphore (a signal its unwind blocks send goes to the
 * next waiter) and never runs again, while the terminator runs the unwind
 * blocks it entered. Fails for a process in a callout (its thread runs C). */
PRIM(procStop)
{
	struct st_proc *p = proc_arg(vm, args[0]);
	if (!p || p == vm->active)
		return PRIM_OK;
	if (p->state == PS_CALLOUT)
		return PRIM_FAIL;
	if (p->state == PS_RUNNABLE)
		sched_unready(vm, p);
	else if (p->state == PS_WAITING)
		sched_unwait(vm, p);
	else if (p->state == PS_IOWAIT)
		vio_kill(vm, p); /* its request is cancelled */
	p->state = PS_SUSPENDED;
	p->ending = 1;
	return PRIM_OK;
}

/* Process>>primTerminate: the unwind blocks already ran. */
PRIM(procTerminate)
{
	struct st_proc *p = proc_arg(vm, args[0]);
	if (!p)
		return PRIM_OK; /* already terminated */
	if (p->state == PS_CALLOUT)
		return PRIM_FAIL;
	int active = p == vm->active;
	sched_kill(vm, p);
	return active ? PRIM_SWITCH : PRIM_OK;
}

PRIM(procYield)
{
	(void)args;
	struct st_proc *p = vm->active;
	if (p && !vm->runq[p->prio] && vm->preempt_equal && !vm->yielded && sched_best(vm) > 0) {
		/* gst's rule: alone at its priority, it yields to the best lower
		 * one, parked until that one stops running (sched_pick) */
		p->state = PS_RUNNABLE;
		vm->yielded = p;
		vm->yield_fresh = 1;
		return PRIM_SWITCH;
	}
	if (!p || !vm->runq[p->prio])
		return PRIM_OK;
	sched_ready(vm, p, 0);
	return PRIM_SWITCH;
}

PRIM(procActive)
{
	args[0] = vm->active ? vm->active->self : vm->nil;
	return PRIM_OK;
}

PRIM(procPriority)
{
	(void)vm;
	if (!obj_is_ptr(args[0]) || obj_cls(args[0]) != CI_PROCESS)
		return PRIM_FAIL;
	args[0] = obj_body(args[0])[PROC_PRIORITY];
	return PRIM_OK;
}

PRIM(procSetPriority)
{
	if (!obj_is_ptr(args[0]) || obj_cls(args[0]) != CI_PROCESS || !obj_is_int(args[1]) ||
	    obj_int(args[1]) < 1 || obj_int(args[1]) > ST_PRIO_MAX)
		return PRIM_FAIL;
	int np = (int)obj_int(args[1]);
	obj_body(args[0])[PROC_PRIORITY] = args[1];
	struct st_proc *p = proc_arg(vm, args[0]);
	if (!p)
		return PRIM_OK;
	if (p->state == PS_RUNNABLE) {
		sched_unready(vm, p);
		p->prio = np;
		sched_ready(vm, p, 0);
		return maybe_preempt(vm, p);
	}
	p->prio = np;
	if (p == vm->active && sched_best(vm) > np)
		return PRIM_SWITCH;
	return PRIM_OK;
}

PRIM(procState)
{
	static const char *const names[] = {"suspended", "runnable", "running", "waiting",
					    "suspended", "callout",  "ioWait",  "terminated"};
	struct st_proc *p = proc_arg(vm, args[0]);
	const char *s = p ? names[p->state] : "terminated";
	args[0] = st_symbol_c(vm, s);
	return PRIM_OK;
}

PRIM(semSignal)
{
	if (!is_sem(args[0]))
		return PRIM_FAIL;
	return maybe_preempt(vm, sched_signal(vm, args[0]));
}

PRIM(semWait)
{
	if (!is_sem(args[0]) || !vm->active)
		return PRIM_FAIL;
	return sched_wait(vm, vm->active, args[0]) ? PRIM_SWITCH : PRIM_OK;
}

/* Semaphore>>wait: ms — answers true when it timed out */
PRIM(semWaitTimeout)
{
	if (!is_sem(args[0]) || !vm->active || !obj_is_int(args[1]) || obj_int(args[1]) < 0)
		return PRIM_FAIL;
	oop sem = args[0];
	uint64_t at = baton_now_ns() + (uint64_t)obj_int(args[1]) * 1000000u;
	args[0] = vm->false_;
	return sched_wait_until(vm, vm->active, sem, at);
}

PRIM(semInit)
{
	if (!is_sem(args[0]))
		return PRIM_FAIL;
	obj_body(args[0])[SEM_SIGNALS] = obj_from_int(0);
	obj_body(args[0])[SEM_FIRST] = vm->nil;
	obj_body(args[0])[SEM_LAST] = vm->nil;
	return PRIM_OK;
}

/* Semaphore>>size: the processes waiting on it */
PRIM(semSize)
{
	if (!is_sem(args[0]))
		return PRIM_FAIL;
	args[0] = obj_from_int(sched_sem_size(vm, args[0]));
	return PRIM_OK;
}

/* Processor signal: aSemaphore afterMilliseconds: ms */
PRIM(timerSignal)
{
	if (!is_sem(args[1]) || !obj_is_int(args[2]) || obj_int(args[2]) < 0)
		return PRIM_FAIL;
	uint64_t at = baton_now_ns() + (uint64_t)obj_int(args[2]) * 1000000u;
	if (!sched_add_timer(vm, at, args[1], 0))
		return PRIM_OOM;
	return PRIM_OK;
}

/* ---- unwinding and traces (frames are named by contexts: vm/ctx.c) ---------------- */

/* Process>>nextUnwindBlockAbove: aContext (nil: all): the innermost
 * ensure:/ifCurtailed: frame above it not yet unwound; marks it done and
 * answers its block, or nil. Fails unless aContext is nil or a live context
 * of the receiver. */
PRIM(nextUnwindBlock)
{
	struct st_proc *p = proc_arg(vm, args[0]), *cp = NULL;
	if (!p) { /* terminated: nothing left to unwind */
		args[0] = vm->nil;
		return PRIM_OK;
	}
	oop *limit = NULL;
	if (args[1] != vm->nil) {
		limit = ctx_frame(vm, args[1], &cp);
		if (!limit || cp != p)
			return PRIM_FAIL;
	}
	if (!p->stack) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	for (oop *f = p->fp; f && f != limit; f = interp_frame_caller(p, f)) {
		intptr_t m = ctx_marks(f);
		if ((m & (FF_ENSURE | FF_CURTAIL)) && !(m & FF_DONE)) {
			ctx_set_marks(f, m | FF_DONE);
			args[0] = f[-1];
			return PRIM_OK;
		}
	}
	args[0] = vm->nil;
	return PRIM_OK;
}

/* Process>>printTraceFrom: aContext (nil, or a dead one: the top) */
PRIM(printTrace)
{
	struct st_proc *p = proc_arg(vm, args[0]), *cp = NULL;
	if (args[1] != vm->nil && !ctx_is(args[1]))
		return PRIM_FAIL;
	if (!p || !p->stack)
		return PRIM_OK; /* terminated: no stack to print */
	oop *f = ctx_frame(vm, args[1], &cp);
	if (!f || cp != p)
		f = p->fp;
	interp_print_trace(vm, p, f);
	return PRIM_OK;
}

/* The active process dies of an unhandled error: the exit status says so
 * if it is the main program. */
PRIM(procMainFailed)
{
	(void)args;
	if (vm->active && vm->active->is_main)
		vm->main_failed = 1;
	return PRIM_OK;
}

PRIM(procIsMain)
{
	struct st_proc *p = proc_arg(vm, args[0]);
	args[0] = st_bool(vm, p && p->is_main);
	return PRIM_OK;
}

PRIM(procWaitingCount)
{
	args[0] = obj_from_int(sched_count_waiting(vm));
	return PRIM_OK;
}

PRIM(procOsThread)
{
	args[0] = obj_from_int(vm->cur_thread ? baton_thread_tid(vm->cur_thread) : 0);
	return PRIM_OK;
}

/* Processor preemptEqual: aBoolean -- gst's scheduling rule (baton -r sets
 * it): a process resumed or signalled at the active process's priority
 * preempts it, and a yield with no other process at its priority runs the
 * best lower one until that one stops. Answers the previous setting. */
PRIM(procPreemptEqual)
{
	if (args[1] != vm->true_ && args[1] != vm->false_)
		return PRIM_FAIL;
	int was = vm->preempt_equal;
	vm->preempt_equal = args[1] == vm->true_;
	args[0] = was ? vm->true_ : vm->false_;
	return PRIM_OK;
}
