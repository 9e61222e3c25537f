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
#include <sysexits.h>
#include <unistd.h>

#include "vm/final.h"
#include "vm/grow.h"
#include "vm/hydra/hydra.h"
#include "vm/interp.h"
#include "vm/sched.h"

#define STACK_MIN 64 /* slots beyond the first frame: room for the slack primitives use */
#define STACK_SOFT ((size_t)1 << 20) /* slots (8 MiB): then StackOverflow */
#define STACK_RESERVE ((size_t)1 << 16)

/* ---- process records ------------------------------------------------------ */

/* A free handle: the last one freed (O(1)), else a new one at the end.
 * The free stack grows with procs, so freeing a handle cannot fail. */
static int new_handle(struct st_vm *vm)
{
	if (vm->nfree)
		return vm->freeh[--vm->nfree];
	if (vm->nprocs == vm->proccap) {
		int old = vm->proccap, fcap = vm->proccap;
		/* The free-handle stack first, as large as procs: every handle
		 * freed later has its slot. Bigger than needed if procs cannot
		 * grow: harmless. */
		if (!GROW(vm->freeh, fcap, (size_t)vm->nprocs + 1, 64))
			return 0;
		if (!GROW(vm->procs, vm->proccap, (size_t)vm->nprocs + 1, 64))
			return 0;
		memset(vm->procs + old, 0, sizeof(void *) * (size_t)(vm->proccap - old));
		if (vm->nprocs == 0)
			vm->nprocs = 1;
	}
	return vm->nprocs++;
}

/* What a process costs outside the heap: counted against --heap-max. */
static size_t proc_bytes(const struct st_proc *p) { return sizeof *p + p->cap * sizeof(oop); }

int sched_grow_stack(struct st_vm *vm, struct st_proc *p, size_t need)
{
	size_t limit = STACK_SOFT + (p->ovf ? STACK_RESERVE : 0);
	if (need <= p->cap)
		return 1;
	if (need > limit)
		return 0;
	size_t cap = grow_cap(p->cap, need, sizeof(oop), STACK_MIN);
	if (!cap || cap > limit)
		cap = limit;
	size_t spi = (size_t)(p->sp - p->stack), fpi = (size_t)(p->fp - p->stack);
	oop *ns = realloc(p->stack, cap * sizeof(oop));
	if (!ns)
		return 0;
	/* charged even over the limit: the next allocation raises OutOfMemory */
	gc_charge(&vm->gc, (cap - p->cap) * sizeof(oop), 1);
	p->stack = ns;
	p->cap = cap;
	p->sp = ns + spi;
	p->fp = ns + fpi;
	return 1;
}

void sched_settle_stack(struct st_proc *p, size_t depth)
{
	/* back well below the soft limit after a StackOverflow was handled: the
	 * next overflow signals again (at the soft limit, with a fresh reserve).
	 * The block stays allocated; only the usable capacity shrinks. */
	if (p->ovf && depth + STACK_RESERVE < STACK_SOFT) {
		p->ovf = 0;
		if (p->cap > STACK_SOFT)
			p->cap = STACK_SOFT;
	}
}

struct st_proc *sched_new_proc(struct st_vm *vm, oop closure, oop method, int prio)
{
	/* the stack fits the first frame and STACK_MIN more; it grows on demand */
	oop m = closure ? obj_body(closure)[BC_CODE] : method;
	intptr_t h = obj_int(obj_body(m)[CM_HEADER]);
	size_t cap = 2 + FH_SIZE + CMH_NTEMPS(h) + CMH_STACK(h) + STACK_MIN;
	size_t bytes = sizeof(struct st_proc) + cap * sizeof(oop);
	ST_ROOT(vm, closure);
	ST_ROOT(vm, method);
	/* over --heap-max even after a full GC: the caller signals OutOfMemory */
	if (!gc_charge(&vm->gc, bytes, 0)) {
		ST_UNROOT(vm, 2);
		return NULL;
	}
	oop po = st_alloc(vm, CI_PROCESS, OBJ_FMT_PTRS, (size_t)st_instsize(vm->classes[CI_PROCESS]), 0);
	ST_UNROOT(vm, 2);
	int hd = po ? new_handle(vm) : 0;
	struct st_proc *p = hd ? calloc(1, sizeof *p) : NULL;
	oop *stack = p ? malloc(cap * sizeof(oop)) : NULL;
	if (!stack) {
		if (hd)
			vm->freeh[vm->nfree++] = hd;
		free(p);
		gc_uncharge(&vm->gc, bytes);
		return NULL;
	}
	m = closure ? obj_body(closure)[BC_CODE] : method;
	p->self = po;
	p->stack = stack;
	p->cap = cap;
	p->prio = prio;
	p->state = PS_NEW;
	p->handle = hd;
	vm->procs[hd] = p;
	vm->nlive++;
	vm->processes_created++;
	obj_body(po)[PROC_HANDLE] = obj_from_int(hd);
	obj_body(po)[PROC_PRIORITY] = obj_from_int(prio);
	/* first frame: the block (or the method on nil), marked as the base */
	oop *s = p->stack;
	s[0] = obj_from_int(0);
	s[1] = closure ? closure : vm->nil;
	oop *fp = s + 2;
	p->sp = push_frame(vm, fp, m, closure ? obj_body(closure)[BC_RECEIVER] : vm->nil, fp, NULL,
			   closure ? closure : vm->nil, closure ? obj_body(closure)[BC_OUTER] : vm->nil,
			   (intptr_t)FF_BASE << 8, (int)CMH_NTEMPS(h));
	p->fp = fp;
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
	if (st_unlikely(p->bound != NULL))
		vm->nbound_ready++;
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
	if (st_unlikely(p == vm->yielded)) {
		vm->yielded = NULL; /* parked, in no run queue */
		return;
	}
	int pr = p->prio;
	if (st_unlikely(p->bound != NULL))
		vm->nbound_ready--;
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

/* [p] was just made runnable: answers whether it preempts the active
 * process (a better priority).
 * Under gst's rule (Processor preemptEqual: true, which baton -r sets) one
 * of the same priority preempts too: [p] runs next and the active process
 * goes to the back of its run queue. */
int sched_preempts(struct st_vm *vm, struct st_proc *p)
{
	struct st_proc *a = vm->active;
	if (!p || !a || p == a || p->state != PS_RUNNABLE)
		return 0;
	if (p->prio > a->prio)
		return 1;
	if (p->prio < a->prio || !vm->preempt_equal || a->state != PS_RUNNING)
		return 0;
	sched_unready(vm, p);
	sched_ready(vm, p, 1);
	sched_ready(vm, a, 0);
	return 1;
}

int sched_best(struct st_vm *vm)
{
	if (vm->runmask[1])
		return 64 + 63 - __builtin_clzll(vm->runmask[1]);
	if (vm->runmask[0])
		return 63 - __builtin_clzll(vm->runmask[0]);
	return -1;
}

static struct sched_thr *thr(struct st_vm *vm, baton_thread *t)
{
	return &vm->thr[baton_thread_index(t)];
}

/*
 * The slow pick: some runnable process is bound to a thread, or the owning
 * thread runs a callback. Nothing when that callback is done (its thread
 * must return to C first). Otherwise the best process this thread may run;
 * but if a better one is bound to another thread that can take the VM,
 * nothing, with vm->want naming that thread: the scheduler loop hands the
 * VM over (a thread found in a callout is skipped until it returns).
 */
static struct st_proc *pick_slow(struct st_vm *vm)
{
	if (vm->cur_wait && vm->cur_wait->done)
		return NULL;
	for (int b = sched_best(vm); b >= 0; b--) {
		for (struct st_proc *p = vm->runq[b]; p; p = p->next) {
			if (!p->bound || p->bound == vm->cur_thread) {
				sched_unready(vm, p);
				return p;
			}
			if (!thr(vm, p->bound)->busy) {
				vm->want = p->bound;
				return NULL;
			}
		}
	}
	return NULL;
}

struct st_proc *sched_pick(struct st_vm *vm)
{
	if (st_unlikely(vm->yielded != NULL)) {
		if (vm->yield_fresh) {
			vm->yield_fresh = 0; /* this pick is the yield's own */
		} else {
			/* the lower process it yielded to stopped: back it comes */
			struct st_proc *y = vm->yielded;
			vm->yielded = NULL;
			sched_ready(vm, y, 0);
		}
	}
	if (st_unlikely(vm->nbound_ready || vm->cur_wait))
		return pick_slow(vm);
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

intptr_t sched_sem_size(struct st_vm *vm, oop sem)
{
	intptr_t n = 0;
	for (struct st_proc *q = handle_proc(vm, obj_body(sem)[SEM_FIRST]); q;
	     q = q->next_waiter ? vm->procs[q->next_waiter] : NULL)
		n++;
	return n;
}

int sched_wait_until(struct st_vm *vm, struct st_proc *p, oop sem, uint64_t at)
{
	if (!sched_wait(vm, p, sem))
		return PRIM_OK;
	if (!at)
		return PRIM_SWITCH;
	p->timer_at = at;
	if (!sched_add_timer(vm, at, sem, p->handle)) {
		sched_unwait(vm, p);
		p->state = PS_RUNNING;
		return PRIM_OOM;
	}
	return PRIM_SWITCH;
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

static void drop_timer(struct st_vm *vm, struct st_proc *p);

/* Whoever waits for [p] to end wakes, and whoever comes later does not
 * wait: every waiter is signalled and the semaphore stays open. */
static void wake_exit_watchers(struct st_vm *vm, struct st_proc *p)
{
	oop s = obj_body(p->self)[PROC_EXIT];
	if (!obj_is_ptr(s) || obj_cls(s) != CI_SEMAPHORE)
		return;
	while (sched_signal(vm, s))
		;
	obj_body(s)[SEM_SIGNALS] = obj_from_int((intptr_t)1 << 30);
}

/* Ends [p] and frees its record; when it was the active process,
 * vm->active becomes NULL (the interpreter then switches). */
void sched_kill(struct st_vm *vm, struct st_proc *p)
{
	if (p->state == PS_RUNNABLE)
		sched_unready(vm, p);
	if (p->state == PS_WAITING) {
		if (p->timer_at)
			drop_timer(vm, p);
		sched_unwait(vm, p);
	}
	if (p->io_req)
		vio_kill(vm, p); /* cancels its I/O request */
	p->state = PS_DEAD;
	vm->nlive--;
	wake_exit_watchers(vm, p);
	if (p->wait_rec) {
		/* a callback's process: its C caller gets 0 unless it answered */
		p->wait_rec->failed |= !p->wait_rec->done;
		p->wait_rec->done = 1;
		p->wait_rec->p = NULL;
	}
	free(p->err);
	obj_body(p->self)[PROC_HANDLE] = vm->nil;
	vm->procs[p->handle] = NULL;
	vm->freeh[vm->nfree++] = p->handle;
	gc_uncharge(&vm->gc, proc_bytes(p));
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
	if (vm->ntimers == vm->timercap && !GROW(vm->timers, vm->timercap, (size_t)vm->ntimers + 1, 16))
		return 0;
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

/* Some pending timer signals a semaphore a process waits on (a timed
 * wait's timer always does). When none does, firing them all only counts
 * excess signals, and with nothing runnable nobody could ever wait for
 * them: a Delay of a terminated process does not keep the VM alive. */
static int timer_can_wake(struct st_vm *vm)
{
	for (int i = 0; i < vm->ntimers; i++)
		if (obj_is_int(obj_body(vm->timers[i].sem)[SEM_FIRST]))
			return 1;
	return 0;
}

/* Drops the timeout of [p]'s timed wait (it is ending). */
static void drop_timer(struct st_vm *vm, struct st_proc *p)
{
	int j = 0;
	for (int i = 0; i < vm->ntimers; i++)
		if (vm->timers[i].proc != p->handle)
			vm->timers[j++] = vm->timers[i];
	vm->ntimers = j;
	set_deadline(vm);
}

int sched_count_waiting(struct st_vm *vm)
{
	int n = 0;
	for (int i = 1; i < vm->nprocs; i++)
		if (vm->procs[i] && vm->procs[i]->state == PS_WAITING &&
		    !final_is_finalizer(vm, vm->procs[i]))
			n++;
	return n;
}

void sched_interrupt(struct st_vm *vm, struct st_proc *p)
{
	if (!p || p->ending || p->state == PS_DEAD)
		return;
	p->intr = 1;
	if (p->state == PS_WAITING) {
		sched_unwait(vm, p);
		sched_ready(vm, p, 0);
	} else if (p->state == PS_IOWAIT) {
		vio_kill(vm, p); /* its request is cancelled */
		sched_ready(vm, p, 0);
	} else if (p->state == PS_RUNNING) {
		baton_wake(vm->core); /* its next checkpoint comes soon */
	}
	/* runnable, new, suspended or in a callout: when it runs again */
}

/* ---- --trace ---------------------------------------------------------------------- */

/* The span's name: the process's name: (if a String or Symbol), its handle. */
void sched_trace_run(struct st_vm *vm, baton_thread *t, struct st_proc *p)
{
	uint32_t id = 0;
	if (p) {
		oop n = st_slot(p->self, PROC_NAME);
		if (!p->trace_name || n != p->trace_src) {
			char buf[96];
			int len;
			if (obj_is_ptr(n) && (obj_cls(n) == CI_STRING || obj_cls(n) == CI_SYMBOL)) {
				size_t l = obj_byte_size(n);
				len = snprintf(buf, sizeof buf, "%.*s (#%d)", (int)(l > 64 ? 64 : l),
					       (const char *)obj_bytes(n), p->handle);
			} else {
				len = snprintf(buf, sizeof buf, "%s #%d",
					       p->is_main ? "main process" : "process", p->handle);
			}
			p->trace_name = baton_trace_name(vm->core, buf, (size_t)len);
			p->trace_src = n;
		}
		id = p->trace_name;
	}
	baton_trace_run(vm->core, t, id);
}

/* ---- the core's hooks ------------------------------------------------------------ */

static void hook_run(baton_vm *core, baton_thread *self, void *ud)
{
	(void)core;
	sched_run(ud, self);
}

/* [blocked]'s process is stuck in a callout: it is not ours to run. The
 * VM ran nothing since [blocked] disowned it, so that process is still
 * the active one; [blocked] gets it back in hook_restore. */
static void hook_save(baton_vm *core, baton_thread *blocked, void *ud)
{
	(void)core;
	struct st_vm *vm = ud;
	struct st_proc *p = vm->active;
	thr(vm, blocked)->saved = p;
	if (p) {
		p->state = PS_CALLOUT;
		vm->in_callout++;
	}
	vm->active = NULL;
}

static void hook_restore(baton_vm *core, baton_thread *self, void *ud)
{
	(void)core;
	struct st_vm *vm = ud;
	struct sched_thr *s = thr(vm, self);
	struct st_proc *p = s->saved;
	sched_owned(vm, self);
	s->saved = NULL;
	s->busy = 0; /* back from the callout a handoff found it in */
	if (p) {
		p->state = PS_RUNNING;
		vm->active = p;
		vm->in_callout--;
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

/* ---- which VM thread am I -------------------------------------------------------- */

static __thread struct sched_reg *threads;

void sched_reg_push(struct sched_reg *r, struct st_vm *vm, baton_thread *t)
{
	r->vm = vm;
	r->t = t;
	r->wait = NULL;
	r->next = threads;
	threads = r;
}

void sched_reg_pop(struct sched_reg *r)
{
	struct sched_reg **p = &threads;
	while (*p && *p != r)
		p = &(*p)->next;
	if (*p)
		*p = r->next;
}

struct sched_reg *sched_reg_find(struct st_vm *vm)
{
	struct sched_reg *r = threads;
	while (r && r->vm != vm)
		r = r->next;
	return r;
}

/* ---- the scheduler loop ----------------------------------------------------------- */

void sched_owned(struct st_vm *vm, baton_thread *t)
{
	struct sched_reg *r = sched_reg_find(vm);
	vm->cur_thread = t;
	vm->cur_wait = r ? r->wait : NULL;
}

void sched_exit_now(struct st_vm *vm)
{
	if (vm->exit_now) /* a head of Hydra: the process goes on */
		vm->exit_now(vm, st_out_status(vm, vm->quit ? vm->quit_code : vm->main_failed));
	st_out_flush(vm);
	if (vm->stats && vm->print_stats)
		vm->print_stats(vm);
	if (vm->tracing)
		baton_trace_flush(vm->core);
	fflush(stdout);
	fflush(stderr);
	_exit(st_out_status(vm, vm->quit ? vm->quit_code : vm->main_failed));
}

/* Nothing can ever run again: no runnable process, no objects ready for
 * the finalizer, no timer that can wake one, no callout in flight, no
 * process waiting for I/O, no stdout chunk still to write, nobody queued
 * for the VM. (A callout in flight while this thread owns the VM has been
 * set aside: vm->in_callout counts it.) */
static int dead_end(struct st_vm *vm)
{
	return sched_best(vm) < 0 && !final_kick(vm) && !timer_can_wake(vm) &&
	       vm->in_callout == 0 && vm->io_waiting == 0 && !vio_out_pending(vm) &&
	       baton_top_waiter(vm->core) < 0 && !vio_sig_keeps_alive(vm) && !hy_keeps_alive(vm);
}

/* The active process belongs to a callback that has answered (its
 * primitive left the interpreter): it ends here. */
static void reap(struct st_vm *vm)
{
	struct st_proc *p = vm->active;
	if (p && p->wait_rec && p->wait_rec->done)
		sched_kill(vm, p);
}

/* Nothing is active: install the next process, or give the VM away
 * (to a waiter with work as good, to the thread a bound process needs, or
 * to nobody). Answers BATON_RUN (we own the VM) or BATON_QUIT. */
static int next(struct st_vm *vm, baton_thread *t)
{
	int r;
	vio_poll(vm); /* completions make processes runnable */
	hy_poll(vm);  /* so do messages from other heads */
	struct st_proc *p = sched_pick(vm);
	if (p) {
		if (baton_top_waiter(vm->core) < p->prio) {
			p->state = PS_RUNNING;
			vm->active = p;
			return BATON_RUN;
		}
		/* a returning callout (or a foreign thread) carries work as good */
		sched_ready(vm, p, 1);
		vio_flush_if(vm);
		r = baton_yield(vm->core, t);
	} else if (vm->want) {
		baton_thread *to = vm->want;
		vm->want = NULL;
		r = baton_handoff(vm->core, t, to);
		if (r < 0) {
			/* in a callout: skip what is bound to it until it is back */
			thr(vm, to)->busy = 1;
			return BATON_RUN;
		}
	} else if (vm->cur_wait && vm->cur_wait->done) {
		return BATON_RUN; /* the loop returns to C */
	} else {
		/* behind ring writes still to come, output waits in the ring
		 * too: the idle wait completes them */
		if (!vio_out_queue(vm))
			st_out_flush(vm);
		r = baton_idle(vm->core, t);
		if (r == BATON_RUN) {
			sched_owned(vm, t);
			sched_run_timers(vm, baton_now_ns());
			vio_poll(vm); /* what woke the idle wait */
			hy_poll(vm);
		}
		return r;
	}
	if (r == BATON_RUN)
		sched_owned(vm, t);
	return r;
}

/* The VM is quitting, or nothing can run again. The exit happens on the
 * main thread, in main(), unless main cannot get there (it is in a callout
 * or runs a callback): then here. Answers 1 when the outer loop returns. */
static int ending(struct st_vm *vm, baton_thread *t, struct sched_wait *w)
{
	if (w && !vm->quit) {
		/* the callback's process waits for what can never happen */
		fputs("baton: a callback can never finish (its process waits forever); C gets 0\n",
		      stderr);
		if (w->p)
			sched_kill(vm, w->p);
		w->failed = w->done = 1;
		return 0;
	}
	if (t == vm->main_thread) {
		if (w)
			sched_exit_now(vm);
		return 1;
	}
	int r = baton_handoff(vm->core, t, vm->main_thread);
	if (r < 0)
		sched_exit_now(vm);
	if (r == BATON_QUIT) {
		if (w)
			for (;;)
				pause(); /* main() is ending the process */
		return 1;
	}
	sched_owned(vm, t);
	return 0;
}

/* Every VM thread runs this: [w] NULL for the outer loop (until the VM
 * ends), else until that callback is done. */
static void loop(struct st_vm *vm, baton_thread *t, struct sched_wait *w)
{
	sched_owned(vm, t);
	for (;;) {
		reap(vm);
		if (w && w->done)
			return;
		if (vm->quit || (dead_end(vm) && !vm->active)) {
			if (ending(vm, t, w))
				return;
			continue;
		}
		if (!vm->active) {
			if (next(vm, t) == BATON_QUIT) {
				if (!w)
					return;
				for (;;)
					pause();
			}
			continue;
		}
		if (interp_run(vm, t) == INTERP_YIELD) {
			vio_flush_if(vm);
			int r = baton_yield(vm->core, t);
			if (r == BATON_QUIT) {
				if (!w)
					return;
				for (;;)
					pause();
			}
			sched_owned(vm, t);
		}
	}
}

void sched_run(struct st_vm *vm, baton_thread *t)
{
	struct sched_reg reg;
	if (!vm->thr) {
		/* thread indices are 1..max_threads (the core's default: 64) */
		if (!vm->max_threads)
			vm->max_threads = 64;
		vm->thr = calloc((size_t)vm->max_threads + 1, sizeof *vm->thr);
		if (!vm->thr) {
			fputs("baton: out of memory\n", stderr);
			exit(EX_SOFTWARE);
		}
	}
	sched_reg_push(&reg, vm, t);
	loop(vm, t, NULL);
	sched_reg_pop(&reg);
}

/* The calling thread is registered (sched_reg_push): its record says
 * which callback it waits for, for sched_owned() and pick_slow(). */
void sched_run_until(struct st_vm *vm, baton_thread *t, struct sched_wait *w)
{
	struct sched_reg *r = sched_reg_find(vm);
	struct sched_wait *outer = r->wait;
	r->wait = w;
	loop(vm, t, w);
	r->wait = outer;
	vm->cur_wait = outer;
}
