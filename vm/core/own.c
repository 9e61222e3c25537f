// SPDX-License-Identifier: MIT
/*
 * vm/core/own.c: the ownership protocol, the slow paths behind baton_disown() and
 * baton_own() (whose fast paths are inline in include/baton.h).
 *
 * Owns every change of the ownership word except the two fast paths. Never
 * allocates or makes a syscall on a fast path. Model: selftests/model/own.pml;
 * Documentation/core/protocol.md has the state diagram.
 *
 * Invariants
 * ----------
 * I1 Mutual exclusion. Only the thread whose index is in the ownership word
 *    (vm->hot.owner) runs VM code, from the moment the word names it until
 *    the moment it writes another value.
 * I2 Who writes the word. 0 -> i by a CAS, done by i itself or by a granter
 *    holding vm->lock on i's behalf; i -> 0 and i -> j only by i. So no
 *    thread can lose the VM without giving it.
 * I3 Directed grants. A thread is granted the VM only while it is queued or
 *    parked; the granter removes it under vm->lock, writes its index into the
 *    word, then sets its wake word to WAKE_GRANTED and wakes exactly it. A
 *    sleeping thread returns only when its wake word changed: no thundering
 *    herd, and the woken thread never races anyone for the VM.
 * I4 Installed work. hot.installed names the thread whose work the VM holds.
 *    If it names i while i does not own, i is in a callout (or queued after
 *    one), and the next other owner calls hooks->save(i) before running
 *    anything: own_takeover(). The fast path own succeeds only when nothing
 *    was taken (the word was 0 and installed still names the caller).
 * I5 No waiter sleeps while the VM is free for longer than one beat. A
 *    waiter retries the CAS after queueing itself; idle and detach re-check
 *    the queue after releasing (both sides seq_cst, so one sees the other).
 *    Disown cannot look (it is one plain store), so the heartbeat grants a
 *    free VM to the best waiter at every beat.
 * I6 hot.disowns (callouts started: the heartbeat's callout epoch) and
 *    hot.installed are written only by the owner.
 * I7 Tickless. The heartbeat stops ticking only after seeing owner == 0,
 *    installed == 0 and nobody queued; every takeover calls hb_resume().
 */
#include <errno.h>
#include <stdio.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/futex.h"
#include "kernel-iface/probes.h"
#include "vm/core/core.h"

#define owner_of(vm) (&(vm)->hot.owner)

/* ---- the waiter queue and the pool (vm->lock held) --------------------- */

static void set_top(baton_vm *vm)
{
	atomic_store(&vm->top_prio, vm->waiters ? vm->waiters->hot.prio : -1);
}

/* Best priority first; FIFO among equals, so nobody starves its peers. */
static void enqueue(baton_vm *vm, baton_thread *t)
{
	baton_thread **p = &vm->waiters;
	while (*p && (*p)->hot.prio >= t->hot.prio)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
	t->where = T_QUEUED;
	set_top(vm);
}

static void unlink_from(baton_thread **list, baton_thread *t)
{
	while (*list && *list != t)
		list = &(*list)->next;
	if (*list)
		*list = t->next;
	t->next = NULL;
}

static baton_thread *dequeue(baton_vm *vm)
{
	baton_thread *t = vm->waiters;
	if (t) {
		vm->waiters = t->next;
		t->next = NULL;
		set_top(vm);
	}
	return t;
}

static void push_parked(baton_vm *vm, baton_thread *t)
{
	atomic_store_explicit(&t->wake, WAKE_NONE, memory_order_relaxed);
	t->where = T_PARKED;
	t->next = vm->parked;
	vm->parked = t;
}

static baton_thread *pop_parked(baton_vm *vm)
{
	baton_thread *t = vm->parked;
	if (t) {
		vm->parked = t->next;
		t->next = NULL;
	}
	return t;
}

/* ---- grants -------------------------------------------------------------- */

/* The word already names [to] (I3); tell it, under vm->lock. */
void own_grant_locked(baton_vm *vm, baton_thread *to, uint32_t from)
{
	to->where = T_OWNING;
	atomic_store_explicit(&to->wake, WAKE_GRANTED, memory_order_release);
	count(vm, handoffs);
	KIF_PROBE2(handoff, from, to->hot.index);
	core_trace_handoff(vm, from, to->hot.index);
}

/* After vm->lock is dropped: one futex wake, for exactly that thread. */
void own_wake_granted(baton_thread *to)
{
	kif_futex_wake(&to->wake, 1);
}

/* The VM is (probably) free and someone waits: grant it to the best waiter.
 * Used by releasers (I5) and by the heartbeat. Answers 1 if it did. */
int own_release_free(baton_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = vm->waiters;
	uint32_t free_word = 0;
	if (!to || !atomic_compare_exchange_strong(owner_of(vm), &free_word, to->hot.index)) {
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	dequeue(vm);
	own_grant_locked(vm, to, 0);
	pthread_mutex_unlock(&vm->lock);
	own_wake_granted(to);
	return 1;
}

static void run_timers(baton_vm *vm, baton_thread *t)
{
	uint64_t dl = atomic_load_explicit(&vm->deadline, memory_order_relaxed);
	if (!dl || !vm->hooks.timers)
		return;
	uint64_t now = kif_now_ns();
	if (now < dl)
		return;
	atomic_store_explicit(&vm->deadline, 0, memory_order_relaxed);
	vm->hooks.timers(vm, t, now, vm->ud);
}

/* [t] has just come to own the VM other than by the fast path. */
void own_takeover(baton_vm *vm, baton_thread *t, int from_callout)
{
	uint32_t inst = hot_load(vm, installed);
	if (inst != t->hot.index) {
		if (inst && vm->hooks.save)
			vm->hooks.save(vm, vm->table[inst], vm->ud);
		hot_store(vm, installed, t->hot.index);
		if (from_callout && vm->hooks.restore)
			vm->hooks.restore(vm, t, vm->ud);
	}
	hb_resume(vm->hb);
}

/* Sleep until granted (or told to quit). [t] is queued or parked. */
int own_park(baton_vm *vm, baton_thread *t)
{
	uint32_t w;
	while ((w = atomic_load_explicit(&t->wake, memory_order_acquire)) == WAKE_NONE)
		kif_futex_wait(&t->wake, WAKE_NONE, -1);
	if (w == WAKE_QUIT)
		return BATON_QUIT;
	own_takeover(vm, t, 0);
	run_timers(vm, t);
	return BATON_RUN;
}

/* ---- acquiring: the slow path of own, and attach --------------------------- */

/* Queue at t->hot.prio and sleep until the VM is ours. */
static void acquire_queued(baton_vm *vm, baton_thread *t)
{
	uint64_t t0 = kif_now_ns();
	pthread_mutex_lock(&vm->lock);
	atomic_store_explicit(&t->wake, WAKE_NONE, memory_order_relaxed);
	enqueue(vm, t);
	pthread_mutex_unlock(&vm->lock);
	/* Make the owner look at the queue at its next checkpoint. */
	atomic_store_explicit(&vm->hot.interrupt, 1, memory_order_relaxed);
	for (;;) {
		if (atomic_load_explicit(&t->wake, memory_order_acquire) == WAKE_GRANTED)
			break;
		uint32_t seen = 0;
		if (atomic_compare_exchange_strong(owner_of(vm), &seen, t->hot.index)) {
			/* Freed between our failed CAS and queueing (I5). */
			pthread_mutex_lock(&vm->lock);
			unlink_from(&vm->waiters, t);
			set_top(vm);
			t->where = T_OWNING;
			pthread_mutex_unlock(&vm->lock);
			break;
		}
		kif_futex_wait(&t->wake, WAKE_NONE, -1);
	}
	uint64_t waited = kif_now_ns() - t0;
	atomic_fetch_add_explicit(&vm->wait_ns, waited, memory_order_relaxed);
	KIF_PROBE2(own_slow_end, t->hot.index, waited);
}

void baton__own_slow(baton_vm *vm, baton_thread *t, uint32_t seen)
{
	count(vm, owns_slow);
	KIF_PROBE2(own_slow_begin, t->hot.index, seen);
	if (seen != 0)
		acquire_queued(vm, t);
	else
		KIF_PROBE2(own_slow_end, t->hot.index, 0);
	own_takeover(vm, t, 1);
}

baton_thread *baton_attach(baton_vm *vm, int prio)
{
	baton_thread *t = thr_alloc(vm, 1);
	if (!t)
		return NULL;
	t->tid = kif_gettid();
	t->hot.prio = prio;
	count(vm, attaches);
	KIF_PROBE1(attach, t->hot.index);
	uint32_t seen = 0;
	if (!atomic_compare_exchange_strong(owner_of(vm), &seen, t->hot.index))
		acquire_queued(vm, t);
	own_takeover(vm, t, 0);
	return t;
}

/* ---- giving the VM away ------------------------------------------------------ */

/* We own and hold vm->lock; [to] is off every list. Hand over, then park. */
static int hand_to(baton_vm *vm, baton_thread *t, baton_thread *to)
{
	hot_store(vm, installed, 0);
	atomic_store_explicit(owner_of(vm), to->hot.index, memory_order_release);
	own_grant_locked(vm, to, t->hot.index);
	push_parked(vm, t);
	pthread_mutex_unlock(&vm->lock);
	own_wake_granted(to);
	return own_park(vm, t);
}

/* Nothing installed, nobody (maybe) waiting: release the word (I5). */
static void release(baton_vm *vm)
{
	hot_store(vm, installed, 0);
	atomic_store(owner_of(vm), 0);
	if (atomic_load(&vm->top_prio) >= 0)
		own_release_free(vm);
}

int baton_idle(baton_vm *vm, baton_thread *t)
{
	count(vm, idles);
	KIF_PROBE1(idle, t->hot.index);
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (to)
		return hand_to(vm, t, to);
	push_parked(vm, t);
	pthread_mutex_unlock(&vm->lock);
	release(vm);
	return own_park(vm, t);
}

int baton_yield(baton_vm *vm, baton_thread *t)
{
	if (atomic_load_explicit(&vm->top_prio, memory_order_relaxed) < 0)
		return BATON_RUN;
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (!to) {
		pthread_mutex_unlock(&vm->lock);
		return BATON_RUN;
	}
	count(vm, preemptions);
	return hand_to(vm, t, to);
}

int baton_handoff(baton_vm *vm, baton_thread *t, baton_thread *to)
{
	pthread_mutex_lock(&vm->lock);
	if (to->where == T_QUEUED) {
		unlink_from(&vm->waiters, to);
		set_top(vm);
	} else if (to->where == T_PARKED) {
		unlink_from(&vm->parked, to);
	} else {
		pthread_mutex_unlock(&vm->lock);
		return -1;
	}
	return hand_to(vm, t, to);
}

void baton_detach(baton_vm *vm, baton_thread *t)
{
	KIF_PROBE1(detach, t->hot.index);
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (to) {
		hot_store(vm, installed, 0);
		atomic_store_explicit(owner_of(vm), to->hot.index, memory_order_release);
		own_grant_locked(vm, to, t->hot.index);
		pthread_mutex_unlock(&vm->lock);
		own_wake_granted(to);
	} else {
		pthread_mutex_unlock(&vm->lock);
		release(vm);
	}
	/* Only now may the index be reused: the word no longer names it. */
	thr_free(vm, t);
}

/* Known-blocking callout: hand the VM on now rather than at the next beat
 * (Go's entersyscallblock). The fast path's bookkeeping is already done. */
void baton__disown_slow(baton_vm *vm, baton_thread *t, unsigned flags)
{
	(void)flags;
	count(vm, hints);
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (!to)
		to = pop_parked(vm);
	if (to) {
		atomic_store_explicit(owner_of(vm), to->hot.index, memory_order_release);
		own_grant_locked(vm, to, t->hot.index);
		pthread_mutex_unlock(&vm->lock);
		own_wake_granted(to);
		return;
	}
	baton_thread *n = thr_spawn_locked(vm);
	if (n)
		atomic_store_explicit(owner_of(vm), n->hot.index, memory_order_release);
	pthread_mutex_unlock(&vm->lock);
	if (n)
		thr_start(vm, n);
	else
		atomic_store_explicit(owner_of(vm), 0, memory_order_release);
}

/* Heartbeat (or baton_wake): the VM is free but work is pending (a blocked
 * callout's VM, a due timer). Give it to a parked thread, or a new one. */
int own_activate(baton_vm *vm, const char *why)
{
	(void)why;
	pthread_mutex_lock(&vm->lock);
	baton_thread *p = pop_parked(vm);
	uint32_t free_word = 0;
	if (p) {
		if (!atomic_compare_exchange_strong(owner_of(vm), &free_word, p->hot.index)) {
			push_parked(vm, p);
			pthread_mutex_unlock(&vm->lock);
			return 0;
		}
		own_grant_locked(vm, p, 0);
		pthread_mutex_unlock(&vm->lock);
		count(vm, activations);
		KIF_PROBE1(activate, p->hot.index);
		own_wake_granted(p);
		return 1;
	}
	baton_thread *n = thr_spawn_locked(vm);
	if (n && !atomic_compare_exchange_strong(owner_of(vm), &free_word, n->hot.index)) {
		thr_free_locked(vm, n);
		n = NULL;
	}
	pthread_mutex_unlock(&vm->lock);
	if (!n)
		return 0;
	thr_start(vm, n);
	return 1;
}

/* ---- checkpoints ---------------------------------------------------------------- */

int baton_checkpoint(baton_vm *vm, baton_thread *t, int prio)
{
	atomic_store_explicit(&vm->hot.interrupt, 0, memory_order_relaxed);
	run_timers(vm, t);
	int top = atomic_load_explicit(&vm->top_prio, memory_order_relaxed);
	return top >= 0 && (prio < 0 || top > prio);
}

int baton_top_waiter(baton_vm *vm)
{
	return atomic_load_explicit(&vm->top_prio, memory_order_relaxed);
}
