// SPDX-License-Identifier: MIT
/*
 * vm/sched.c: green processes on the ownership core: process records and
 * stacks, run queues (one FIFO per priority and a bitmap), semaphores,
 * timers, the scheduler loop every VM thread runs, and the core's hooks.
 * A process switch is a register save and load, never an OS thread switch.
 * See Documentation/vm/scheduler.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm/interp.h"
#include "vm/sched.h"

#define STACK_INIT 1024
#define STACK_SOFT ((size_t)1 << 20) /* slots (8 MiB): then StackOverflow */
#define STACK_RESERVE ((size_t)1 << 16)

/* ---- process records ------------------------------------------------------ */

static int new_handle(struct st_vm *vm)
{
	for (int i = 1; i < vm->nprocs; i++)
		if (!vm->procs[i])
			return i;
	if (vm->nprocs == vm->proccap) {
		int cap = vm->proccap ? vm->proccap * 2 : 64;
		struct st_proc **np = realloc(vm->procs, sizeof(void *) * (size_t)cap);
		if (!np)
			return 0;
		memset(np + vm->proccap, 0, sizeof(void *) * (size_t)(cap - vm->proccap));
		vm->procs = np;
		vm->proccap = cap;
		if (vm->nprocs == 0)
			vm->nprocs = 1;
	}
	return vm->nprocs++;
}

int sched_grow_stack(struct st_vm *vm, struct st_proc *p, size_t need)
{
	(void)vm;
	size_t limit = STACK_SOFT + (p->ovf ? STACK_RESERVE : 0);
	if (need <= p->cap)
		return 1;
	if (need > limit)
		return 0;
	size_t cap = p->cap * 2;
	while (cap < need)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	size_t spi = (size_t)(p->sp - p->stack), fpi = (size_t)(p->fp - p->stack);
	oop *ns = realloc(p->stack, cap * sizeof(oop));
	if (!ns)
		return 0;
	p->stack = ns;
	p->cap = cap;
	p->sp = ns + spi;
	p->fp = ns + fpi;
	return 1;
}

struct st_proc *sched_new_proc(struct st_vm *vm, oop closure, oop method, int prio)
{
	ST_ROOT(vm, closure);
	ST_ROOT(vm, method);
	oop po = st_alloc(vm, CI_PROCESS, OBJ_FMT_PTRS, PROC_SIZE, 0);
	ST_UNROOT(vm, 2);
	if (!po)
		return NULL;
	int hd = new_handle(vm);
	struct st_proc *p = calloc(1, sizeof *p);
	oop *stack = malloc(STACK_INIT * sizeof(oop));
	if (!hd || !p || !stack) {
		free(p);
		free(stack);
		return NULL;
	}
	p->self = po;
	p->stack = stack;
	p->cap = STACK_INIT;
	p->prio = prio;
	p->state = PS_NEW;
	p->handle = hd;
	vm->procs[hd] = p;
	vm->nlive++;
	vm->processes_created++;
	obj_body(po)[PROC_HANDLE] = obj_from_int(hd);
	obj_body(po)[PROC_PRIORITY] = obj_from_int(prio);
	/* first frame: the block (or the method on nil), marked as the base */
	oop m = closure ? obj_body(closure)[BC_CODE] : method;
	intptr_t h = obj_int(obj_body(m)[CM_HEADER]);
	size_t need = 2 + FH_SIZE + CMH_NTEMPS(h) + CMH_STACK(h) + 64;
	if (need > p->cap) {
		p->sp = p->fp = p->stack;
		sched_grow_stack(vm, p, need);
	}
	oop *s = p->stack;
	s[0] = obj_from_int(0);
	s[1] = closure ? closure : vm->nil;
	oop *fp = s + 2;
	fp[FH_METHOD] = m;
	fp[FH_RECV] = closure ? obj_body(closure)[BC_RECEIVER] : vm->nil;
	fp[FH_CALLER_FP] = obj_from_int(0);
	fp[FH_CALLER_IP] = obj_from_int(0);
	fp[FH_CLOSURE] = closure ? closure : vm->nil;
	fp[FH_ENV] = closure ? obj_body(closure)[BC_OUTER] : vm->nil;
	fp[FH_FLAGS] = obj_from_int((intptr_t)FF_BASE << 8);
	oop *sp = fp + FH_SIZE - 1;
	for (intptr_t i = 0; i < (intptr_t)CMH_NTEMPS(h); i++)
		*++sp = vm->nil;
	p->fp = fp;
	p->sp = sp;
	p->ip = obj_bytes(obj_body(m)[CM_BYTES]);
	return p;
}

struct st_proc *sched_proc_of(struct st_vm *vm, oop process)
{
	if (!obj_is_ptr(process) || obj_cls(process) != CI_PROCESS)
		return NULL;
	oop h = obj_body(process)[PROC_HANDLE];
	if (!obj_is_int(h) || obj_int(h) <= 0 || obj_int(h) >= vm->nprocs)
		return NULL;
	return vm->procs[obj_int(h)];
}

/* ---- run queues ------------------------------------------------------------- */

void sched_ready(struct st_vm *vm, struct st_proc *p, int front)
{
	int pr = p->prio;
	p->state = PS_RUNNABLE;
	if (front) {
		p->prev = NULL;
		p->next = vm->runq[pr];
		if (p->next)
			p->next->prev = p;
		else
			vm->runq_tail[pr] = p;
		vm->runq[pr] = p;
	} else {
		p->next = NULL;
		p->prev = vm->runq_tail[pr];
		if (p->prev)
			p->prev->next = p;
		else
			vm->runq[pr] = p;
		vm->runq_tail[pr] = p;
	}
	vm->runmask[pr >> 6] |= (uint64_t)1 << (pr & 63);
}

void sched_unready(struct st_vm *vm, struct st_proc *p)
{
	int pr = p->prio;
	if (p->prev)
		p->prev->next = p->next;
	else
		vm->runq[pr] = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		vm->runq_tail[pr] = p->prev;
	p->next = p->prev = NULL;
	if (!vm->runq[pr])
		vm->runmask[pr >> 6] &= ~((uint64_t)1 << (pr & 63));
}

int sched_best(struct st_vm *vm)
{
	if (vm->runmask[1])
		return 64 + 63 - __builtin_clzll(vm->runmask[1]);
	if (vm->runmask[0])
		return 63 - __builtin_clzll(vm->runmask[0]);
	return -1;
}

struct st_proc *sched_pick(struct st_vm *vm)
{
	int b = sched_best(vm);
	if (b < 0)
		return NULL;
	struct st_proc *p = vm->runq[b];
	sched_unready(vm, p);
	return p;
}

/* ---- semaphores ----------------------------------------------------------------- */

static struct st_proc *handle_proc(struct st_vm *vm, oop h)
{
	return obj_is_int(h) && obj_int(h) > 0 && obj_int(h) < vm->nprocs ? vm->procs[obj_int(h)] : NULL;
}

int sched_wait(struct st_vm *vm, struct st_proc *p, oop sem)
{
	oop *s = obj_body(sem);
	intptr_t sig = obj_is_int(s[SEM_SIGNALS]) ? obj_int(s[SEM_SIGNALS]) : 0;
	if (sig > 0) {
		s[SEM_SIGNALS] = obj_from_int(sig - 1);
		return 0;
	}
	p->state = PS_WAITING;
	p->waiting_on = sem;
	p->next_waiter = 0;
	struct st_proc *last = handle_proc(vm, s[SEM_LAST]);
	if (last)
		last->next_waiter = p->handle;
	else
		s[SEM_FIRST] = obj_from_int(p->handle);
	s[SEM_LAST] = obj_from_int(p->handle);
	return 1;
}

/* Takes [p] out of its semaphore's list. */
void sched_unwait(struct st_vm *vm, struct st_proc *p)
{
	oop sem = p->waiting_on;
	if (!sem)
		return;
	oop *s = obj_body(sem);
	struct st_proc *prev = NULL, *q = handle_proc(vm, s[SEM_FIRST]);
	while (q && q != p) {
		prev = q;
		q = q->next_waiter ? vm->procs[q->next_waiter] : NULL;
	}
	if (q) {
		if (prev)
			prev->next_waiter = p->next_waiter;
		else
			s[SEM_FIRST] = p->next_waiter ? obj_from_int(p->next_waiter) : vm->nil;
		if (handle_proc(vm, s[SEM_LAST]) == p)
			s[SEM_LAST] = prev ? obj_from_int(prev->handle) : vm->nil;
	}
	p->waiting_on = 0;
	p->next_waiter = 0;
	p->timer_at = 0;
}

struct st_proc *sched_signal(struct st_vm *vm, oop sem)
{
	oop *s = obj_body(sem);
	struct st_proc *p = handle_proc(vm, s[SEM_FIRST]);
	if (!p) {
		intptr_t sig = obj_is_int(s[SEM_SIGNALS]) ? obj_int(s[SEM_SIGNALS]) : 0;
		s[SEM_SIGNALS] = obj_from_int(sig + 1);
		return NULL;
	}
	sched_unwait(vm, p);
	sched_ready(vm, p, 0);
	return p;
}

/* Ends [p] and frees its record; when it was the active process,
 * vm->active becomes NULL (the interpreter then switches). */
void sched_kill(struct st_vm *vm, struct st_proc *p)
{
	if (p->state == PS_RUNNABLE)
		sched_unready(vm, p);
	if (p->state == PS_WAITING)
		sched_unwait(vm, p);
	p->state = PS_DEAD;
	vm->nlive--;
	obj_body(p->self)[PROC_HANDLE] = vm->nil;
	vm->procs[p->handle] = NULL;
	if (vm->active == p)
		vm->active = NULL;
	if (vm->main_proc == p)
		vm->main_proc = NULL;
	free(p->stack);
	free(p);
}

/* ---- timers -------------------------------------------------------------------- */

static void set_deadline(struct st_vm *vm)
{
	if (vm->core)
		baton_set_deadline(vm->core, vm->ntimers ? vm->timers[0].at : 0);
}

int sched_add_timer(struct st_vm *vm, uint64_t at, oop sem, int proc)
{
	if (vm->ntimers == vm->timercap) {
		int cap = vm->timercap ? vm->timercap * 2 : 16;
		struct st_timer *nt = realloc(vm->timers, sizeof *nt * (size_t)cap);
		if (!nt)
			return 0;
		vm->timers = nt;
		vm->timercap = cap;
	}
	int i = vm->ntimers++;
	while (i > 0 && vm->timers[i - 1].at > at) {
		vm->timers[i] = vm->timers[i - 1];
		i--;
	}
	vm->timers[i].at = at;
	vm->timers[i].sem = sem;
	vm->timers[i].proc = proc;
	set_deadline(vm);
	return 1;
}

void sched_run_timers(struct st_vm *vm, uint64_t now)
{
	int k = 0;
	while (k < vm->ntimers && vm->timers[k].at <= now)
		k++;
	if (!k)
		return;
	/* copy out first: signalling never adds timers, but stay safe */
	struct st_timer due[64];
	int n = k > 64 ? 64 : k;
	memcpy(due, vm->timers, sizeof due[0] * (size_t)n);
	memmove(vm->timers, vm->timers + n, sizeof due[0] * (size_t)(vm->ntimers - n));
	vm->ntimers -= n;
	for (int i = 0; i < n; i++) {
		if (due[i].proc) {
			/* Semaphore>>wait: timed out, if still waiting there */
			struct st_proc *p = vm->procs[due[i].proc];
			if (p && p->state == PS_WAITING && p->waiting_on == due[i].sem &&
			    p->timer_at == due[i].at) {
				sched_unwait(vm, p);
				*p->sp = vm->true_;
				sched_ready(vm, p, 0);
			}
		} else {
			sched_signal(vm, due[i].sem);
		}
	}
	set_deadline(vm);
}

int sched_count_waiting(struct st_vm *vm)
{
	int n = 0;
	for (int i = 1; i < vm->nprocs; i++)
		if (vm->procs[i] && vm->procs[i]->state == PS_WAITING)
			n++;
	return n;
}

/* ---- the core's hooks ------------------------------------------------------------ */

static void hook_run(baton_vm *core, baton_thread *self, void *ud)
{
	(void)core;
	sched_run(ud, self);
}

/* [blocked]'s process is stuck in a callout: it is not ours to run. */
static void hook_save(baton_vm *core, baton_thread *blocked, void *ud)
{
	(void)core;
	struct st_vm *vm = ud;
	struct st_proc *p = baton_thread_data(blocked);
	if (p && p->state != PS_DEAD)
		p->state = PS_CALLOUT;
	if (vm->active == p)
		vm->active = NULL;
}

static void hook_restore(baton_vm *core, baton_thread *self, void *ud)
{
	(void)core;
	struct st_vm *vm = ud;
	struct st_proc *p = baton_thread_data(self);
	vm->cur_thread = self;
	if (p) {
		p->state = PS_RUNNING;
		vm->active = p;
	}
}

static void hook_timers(baton_vm *core, baton_thread *self, uint64_t now, void *ud)
{
	(void)core;
	(void)self;
	sched_run_timers(ud, now);
}

const struct baton_hooks sched_hooks = {
	.run = hook_run,
	.save = hook_save,
	.restore = hook_restore,
	.timers = hook_timers,
};

/* ---- the scheduler loop ----------------------------------------------------------- */

/* Nothing can ever run again: no runnable process, no timer, no callout
 * in flight, nobody queued for the VM. */
static int dead_end(struct st_vm *vm)
{
	return sched_best(vm) < 0 && vm->ntimers == 0 && vm->in_callout == 0 &&
	       baton_top_waiter(vm->core) < 0;
}

void sched_run(struct st_vm *vm, baton_thread *t)
{
	vm->cur_thread = t;
	for (;;) {
		if (vm->quit || (dead_end(vm) && !vm->active)) {
			/* the exit happens on the main thread */
			if (t == vm->main_thread)
				return;
			int r = baton_handoff(vm->core, t, vm->main_thread);
			if (r == BATON_QUIT)
				return;
			if (r < 0) {
				/* main is in a callout: quit from here */
				st_out_flush(vm);
				fflush(stderr);
				_exit(vm->quit ? vm->quit_code : vm->main_failed);
			}
			vm->cur_thread = t;
			continue;
		}
		if (!vm->active) {
			int best = sched_best(vm);
			if (best >= 0 && baton_top_waiter(vm->core) >= best) {
				if (baton_yield(vm->core, t) == BATON_QUIT)
					return;
				vm->cur_thread = t;
				continue;
			}
			if (best < 0) {
				st_out_flush(vm);
				if (baton_idle(vm->core, t) == BATON_QUIT)
					return;
				vm->cur_thread = t;
				sched_run_timers(vm, baton_now_ns());
				continue;
			}
		}
		int r = interp_run(vm, t);
		if (r == INTERP_YIELD) {
			if (baton_yield(vm->core, t) == BATON_QUIT)
				return;
			vm->cur_thread = t;
		}
	}
}
