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
 *    thread can lose the VM without giving it. Membarrier fast path: the
 *    word keeps naming i during i's callouts (i's out word is nonzero), and
 *    one more writer: i -> j by a thread holding vm->lock that took i's
 *    callout (own_steal_locked: taken, membarrier, out unchanged). I1 then
 *    reads "the word names i and i is not out": own_running().
 * I3 Directed grants. A thread is granted the VM only while it is queued or
 *    parked; the granter removes it under vm->lock, writes its index into the
 *    word, then sets its wake word to WAKE_GRANTED and wakes exactly it. A
 *    sleeping thread returns only when its wake word changed: no thundering
 *    herd, and the woken thread never races anyone for the VM.
 * I4 Installed work. hot.installed names the thread whose work the VM holds.
 *    If it names i while i does not own, i is in a callout (or queued after
 *    one), and the next other owner calls hooks->save(i) before running
 *    anything: own_takeover(). The fast path own succeeds only when nothing
 *    was taken (the word was 0 and installed still names the caller; with
 *    membarrier, the thread's taken word is still 0).
 * I5 No waiter sleeps while the VM is free for longer than one beat. A
 *    waiter retries the CAS after queueing itself; idle and detach re-check
 *    the queue after releasing (both sides seq_cst, so one sees the other).
 *    Disown cannot look (it is one plain store), so the heartbeat grants a
 *    free VM to the best waiter at every beat.
 * I6 hot.disowns (callouts started: the heartbeat's callout epoch) and
 *    hot.installed are written only by the owner.
 * I7 Tickless. The heartbeat stops ticking only after seeing nobody queued
 *    and either owner == 0 and installed == 0, or the owner asleep in the
 *    event loop (loop_sleeping); every takeover, and every owner waking from
 *    the loop, calls hb_resume().
 * I8 Loop sleep. An owner sleeps in the event loop (idle_on_loop) only
 *    after publishing loop_sleeping and then seeing nobody queued; a thread
 *    that queues kicks the loop if it sees loop_sleeping. So no waiter sleeps
 *    behind an owner asleep in the loop (the model's loop-live run).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/futex.h"
#include "kernel-iface/membarrier.h"
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
	TRACE_GIVE(vm, from, to);
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

/*
 * Membarrier fast path: take the VM from thread [from], which the word
 * names, for thread [to], if [from] is out in a callout. The asymmetric
 * Dekker pair with baton_own(): it stores out = 0, then (compiler barrier)
 * loads taken; we store taken = 1, membarrier(), then load out. membarrier
 * puts a full barrier in every running thread, so at least one of us sees
 * the other's store: if out still holds the callout we first saw, [from]
 * will find taken and go to the slow path, which needs vm->lock (ours): the
 * VM is ours to give. The same if it came back but has already seen taken:
 * it says so (defer) before it waits for vm->lock, and it reads the word
 * only under the lock. Otherwise [from] came back: give up (taken = 0).
 * Answers 1 if the word now names [to]. vm->lock held.
 */
static int own_steal_locked(baton_vm *vm, uint32_t from, uint32_t to)
{
	baton_thread *o = from <= vm->max ? vm->table[from] : NULL;
	if (!o)
		return 0;
	uint32_t seq = atomic_load_explicit(&o->hot.out, memory_order_acquire);
	if (!seq)
		return 0; /* running VM code */
	uint64_t t0 = kif_now_ns();
	atomic_store_explicit(&o->hot.taken, 1, memory_order_relaxed);
	/* Still out on the same callout; or back, but it saw taken and waits
	 * for vm->lock (defer) before it reads the word: ours either way. */
	int ok = kif_membarrier() == 0 &&
		 (atomic_load_explicit(&o->hot.out, memory_order_acquire) == seq ||
		  atomic_load_explicit(&o->hot.defer, memory_order_acquire));
	if (ok) {
		atomic_store_explicit(owner_of(vm), to, memory_order_release);
		count(vm, takeovers);
	} else {
		atomic_store_explicit(&o->hot.taken, 0, memory_order_relaxed);
		count(vm, takeover_aborts);
	}
	atomic_fetch_add_explicit(&vm->takeover_ns, kif_now_ns() - t0, memory_order_relaxed);
	return ok;
}

/* Make the word name [to] if nobody runs VM code: a CAS of the free word,
 * or (membarrier fast path) a take-over of a thread out in a callout.
 * Answers 1 if it did. vm->lock held. */
int own_claim_locked(baton_vm *vm, uint32_t to)
{
	uint32_t seen = 0;
	if (atomic_compare_exchange_strong(owner_of(vm), &seen, to))
		return 1;
	return vm->hot.mb && seen != to && own_steal_locked(vm, seen, to);
}

/* The VM is (probably) free and someone waits: grant it to the best waiter.
 * Used by releasers (I5) and by the heartbeat. Answers 1 if it did. */
int own_release_free(baton_vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = vm->waiters;
	if (!to || !own_claim_locked(vm, to->hot.index)) {
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
	TRACE_SLEEP(vm, t, TR_PARK);
	while ((w = atomic_load_explicit(&t->wake, memory_order_acquire)) == WAKE_NONE)
		kif_futex_wait(&t->wake, WAKE_NONE, -1);
	TRACE_WOKE(vm, t);
	if (w == WAKE_QUIT)
		return BATON_QUIT;
	own_takeover(vm, t, 0);
	OWN_ASSERT(vm, t);
	run_timers(vm, t);
	return BATON_RUN;
}

/* ---- acquiring: the slow path of own, and attach --------------------------- */

/* Queue at t->hot.prio and sleep until the VM is ours. */
static void acquire_queued(baton_vm *vm, baton_thread *t)
{
	uint64_t t0 = kif_now_ns();
	TRACE_SLEEP(vm, t, TR_WAIT);
	pthread_mutex_lock(&vm->lock);
	if (vm->hot.mb && own_claim_locked(vm, t->hot.index)) {
		/* Its owner was out in a callout: taken over (own_steal_locked). */
		t->where = T_OWNING;
		pthread_mutex_unlock(&vm->lock);
		KIF_PROBE2(own_slow_end, t->hot.index, kif_now_ns() - t0);
		return;
	}
	atomic_store_explicit(&t->wake, WAKE_NONE, memory_order_relaxed);
	enqueue(vm, t);
	pthread_mutex_unlock(&vm->lock);
	/* Make the owner look at the queue at its next checkpoint, or now if
	 * it sleeps in the event loop. */
	atomic_store_explicit(&vm->hot.interrupt, 1, memory_order_relaxed);
	own_kick_loop(vm);
	for (;;) {
		if (atomic_load_explicit(&t->wake, memory_order_acquire) == WAKE_GRANTED)
			break;
		if (vm->hot.mb) {
			/* Freed, or its owner went out, since we queued (I5): the
			 * take-over needs vm->lock, and so may a grant meanwhile. */
			pthread_mutex_lock(&vm->lock);
			int got = atomic_load(&t->wake) != WAKE_GRANTED &&
				  own_claim_locked(vm, t->hot.index);
			if (got) {
				unlink_from(&vm->waiters, t);
				set_top(vm);
				t->where = T_OWNING;
			}
			pthread_mutex_unlock(&vm->lock);
			if (got)
				break;
		} else {
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
		}
		kif_futex_wait(&t->wake, WAKE_NONE, -1);
	}
	TRACE_WOKE(vm, t);
	uint64_t waited = kif_now_ns() - t0;
	atomic_fetch_add_explicit(&vm->wait_ns, waited, memory_order_relaxed);
	KIF_PROBE2(own_slow_end, t->hot.index, waited);
}

void baton__own_slow(baton_vm *vm, baton_thread *t, uint32_t seen)
{
	B_ASSERT(vm && t && t->vm == vm, "baton_own: bad VM or thread");
	count(vm, owns_slow);
	if (vm->hot.mb) {
		/* Membarrier fast path: our callout was taken (or a take-over
		 * was under way). Under vm->lock the take-over is decided: the
		 * word still names us (it gave up) or no longer does. We are
		 * back (out == 0), so nobody can take it from us any more; and
		 * we run no VM code before we read the word under the lock,
		 * which lets a take-over under way go through (defer). */
		atomic_store_explicit(&t->hot.defer, 1, memory_order_release);
		pthread_mutex_lock(&vm->lock);
		atomic_store_explicit(&t->hot.defer, 0, memory_order_relaxed);
		atomic_store_explicit(&t->hot.taken, 0, memory_order_relaxed);
		seen = atomic_load(owner_of(vm));
		pthread_mutex_unlock(&vm->lock);
		if (seen == t->hot.index)
			seen = 0; /* ours all along: nothing to restore */
		else if (!seen)
			seen = UINT32_MAX; /* free: acquire_queued claims it */
	}
	KIF_PROBE2(own_slow_begin, t->hot.index, seen);
	if (seen != 0)
		acquire_queued(vm, t);
	else
		KIF_PROBE2(own_slow_end, t->hot.index, 0);
	own_takeover(vm, t, 1);
	OWN_ASSERT(vm, t);
}

baton_thread *baton_attach(baton_vm *vm, int prio)
{
	B_ASSERT(vm, "baton_attach: no VM");
	B_ASSERT(prio >= BATON_PRIO_MIN && prio <= BATON_PRIO_MAX,
		 "baton_attach: priority out of BATON_PRIO_MIN..BATON_PRIO_MAX");
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
	OWN_ASSERT(vm, t);
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

/*
 * Idle on the event loop: the owner keeps the VM and sleeps in the loop's
 * one kernel wait, which ends at the first of a completion, the timer
 * deadline, or a kick. Keeping the word means that nobody else touches the
 * loop meanwhile (it is not locked) and that a completion needs no grant;
 * the price is that a thread wanting the VM cannot just CAS it: it queues
 * (acquire_queued) and kicks the loop, and we hand the VM over. Dekker
 * with those threads: we publish loop_sleeping, then look at top_prio (and
 * at the interrupt flag, for baton_wake); they publish top_prio (enqueue) or
 * the interrupt, then look at loop_sleeping; seq_cst, so one sees the other. The heartbeat counts a sleeping owner as idle (I7).
 * Answers 1 with BATON_RUN/QUIT in *r, or 0 when the loop cannot be used.
 */
static int idle_on_loop(baton_vm *vm, baton_thread *t, int *res)
{
	for (;;) {
		pthread_mutex_lock(&vm->lock);
		baton_thread *to = dequeue(vm);
		if (to) {
			*res = hand_to(vm, t, to);
			return 1;
		}
		pthread_mutex_unlock(&vm->lock);
		atomic_store(&vm->loop_sleeping, 1);
		int r = 0;
		/* The same Dekker pair with baton_wake(), which raises the
		 * interrupt (seq_cst) and then looks at loop_sleeping: a wake
		 * that came just before this point is taken here, not lost. */
		if (atomic_load(&vm->top_prio) < 0 && !atomic_exchange(&vm->hot.interrupt, 0)) {
			count(vm, io_idle_waits);
			TRACE_SLEEP(vm, t, TR_LOOP);
			r = io_idle_wait(vm, atomic_load(&vm->deadline));
			TRACE_WOKE(vm, t);
		}
		atomic_store(&vm->loop_sleeping, 0);
		hb_resume(vm->hb); /* busy again: the heartbeat may have gone tickless */
		if (r < 0 && r != -ETIME)
			return 0;
		if (atomic_load(&vm->top_prio) >= 0)
			continue; /* someone queued for the VM: hand it over */
		run_timers(vm, t);
		*res = BATON_RUN;
		return 1;
	}
}

int baton_idle(baton_vm *vm, baton_thread *t)
{
	OWN_ASSERT(vm, t);
	count(vm, idles);
	KIF_PROBE1(idle, t->hot.index);
	int res;
	if (vm->io && idle_on_loop(vm, t, &res))
		return res;
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (to)
		return hand_to(vm, t, to);
	push_parked(vm, t);
	pthread_mutex_unlock(&vm->lock);
	release(vm);
	/* Dekker with baton_wake(), which raises the interrupt and then looks
	 * at the word (seq_cst both): we freed the word, now we look at the
	 * interrupt. A wake that still saw us owning is taken here, not lost:
	 * the VM goes to a parked thread (us, most likely) at once. Taken,
	 * not just seen: the owner that wakes looks at what the waker wanted
	 * (sched.c's next()), and an interrupt left up would activate the VM
	 * again at every idle, for ever (the model's spinning park). */
	if (atomic_exchange(&vm->hot.interrupt, 0))
		own_activate(vm, "wake");
	return own_park(vm, t);
}

/* BATON_STRESS_HANDOFF: nobody waits, hand the VM on all the same, to a
 * parked thread or a new one, so that every checkpoint exercises a handoff
 * (and every process switch a change of OS thread). [t] parks. */
static int stress_handoff(baton_vm *vm, baton_thread *t)
{
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (!to)
		to = pop_parked(vm);
	if (to)
		return hand_to(vm, t, to);
	baton_thread *n = NULL;
	if (atomic_load(&vm->nthreads) < vm->max)
		n = thr_spawn_locked(vm);
	if (!n) {
		pthread_mutex_unlock(&vm->lock);
		return BATON_RUN;
	}
	hot_store(vm, installed, 0);
	atomic_store_explicit(owner_of(vm), n->hot.index, memory_order_release);
	push_parked(vm, t);
	pthread_mutex_unlock(&vm->lock);
	/* Not created: the word is free again; take it back from the pool. */
	if (thr_start(vm, n) < 0)
		own_activate(vm, "stress");
	return own_park(vm, t);
}

int baton_yield(baton_vm *vm, baton_thread *t)
{
	OWN_ASSERT(vm, t);
	int stress = t->stress_due;
	t->stress_due = 0;
	if (atomic_load_explicit(&vm->top_prio, memory_order_relaxed) < 0)
		return stress ? stress_handoff(vm, t) : BATON_RUN;
	pthread_mutex_lock(&vm->lock);
	baton_thread *to = dequeue(vm);
	if (!to) {
		pthread_mutex_unlock(&vm->lock);
		return stress ? stress_handoff(vm, t) : BATON_RUN;
	}
	count(vm, preemptions);
	return hand_to(vm, t, to);
}

int baton_handoff(baton_vm *vm, baton_thread *t, baton_thread *to)
{
	OWN_ASSERT(vm, t);
	B_ASSERT(to && to->vm == vm && to != t, "baton_handoff: bad target thread");
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
	OWN_ASSERT(vm, t);
	B_ASSERT(t->foreign, "baton_detach: the thread was not attached with baton_attach()");
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
	B_ASSERT(vm && t && t->vm == vm, "baton_disown: bad VM or thread");
	B_ASSERT(flags == BATON_BLOCKING, "baton_disown: unknown flags");
	count(vm, hints);
	pthread_mutex_lock(&vm->lock);
	if (vm->hot.mb) {
		/* We give the word away ourselves: our own() must not find the
		 * VM still ours, so it takes the slow path (taken). */
		atomic_store_explicit(&t->hot.taken, 1, memory_order_relaxed);
		atomic_store_explicit(&t->hot.out,
				      ((uint32_t)hot_load(vm, disowns) << 1) | 1u,
				      memory_order_release);
	}
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
	/* The word changes before vm->lock is dropped, the free word (at the
	 * maximum) included. Until it changes it names us while we are out
	 * (membarrier fast path), so a thread holding vm->lock may take the
	 * VM from us (own_steal_locked) as soon as we unlock, and run VM code;
	 * a store of 0 after the unlock would then free the word under it, a
	 * third thread would claim it, and two threads would run VM code at
	 * once (smashed C stacks, with every VM thread busy in callouts). */
	baton_thread *n = thr_spawn_locked(vm);
	atomic_store_explicit(owner_of(vm), n ? n->hot.index : 0, memory_order_release);
	pthread_mutex_unlock(&vm->lock);
	if (n)
		thr_start(vm, n);
}

/* Heartbeat (or baton_wake): the VM is free but work is pending (a blocked
 * callout's VM, a due timer). Give it to a parked thread, or a new one. */
int own_activate(baton_vm *vm, const char *why)
{
	(void)why;
	pthread_mutex_lock(&vm->lock);
	baton_thread *p = pop_parked(vm);
	if (p) {
		if (!own_claim_locked(vm, p->hot.index)) {
			push_parked(vm, p);
			pthread_mutex_unlock(&vm->lock);
			return 0;
		}
		own_grant_locked(vm, p, 0);
		pthread_mutex_unlock(&vm->lock);
		count(vm, activations);
		KIF_PROBE1(activate, p->hot.index);
		TRACE_EV(vm, NULL, TR_ACTIVATE, p->hot.index);
		own_wake_granted(p);
		return 1;
	}
	baton_thread *n = thr_spawn_locked(vm);
	if (n && !own_claim_locked(vm, n->hot.index)) {
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
	OWN_ASSERT(vm, t);
	atomic_store_explicit(&vm->hot.interrupt, 0, memory_order_relaxed);
	run_timers(vm, t);
	if (vm->stress) {
		t->stress_due = 1;
		return 1;
	}
	int top = atomic_load_explicit(&vm->top_prio, memory_order_relaxed);
	return top >= 0 && (prio < 0 || top > prio);
}

int baton_top_waiter(baton_vm *vm)
{
	B_ASSERT(vm, "baton_top_waiter: no VM");
	return atomic_load_explicit(&vm->top_prio, memory_order_relaxed);
}

/* ---- checking the invariants ------------------------------------------------------ */

/* A finding: count it, keep the first message. */
#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			if (!bad++ && len)                                       \
				snprintf(why, len, __VA_ARGS__);                 \
		}                                                                \
	} while (0)

/*
 * I1-I7 as far as a snapshot under vm->lock can see them. [self]: the
 * calling thread, which must then own the VM (I1), or NULL from a thread
 * outside the VM at a quiescent point. I5 (no waiter left asleep for more
 * than a beat), I6 (who wrote hot.disowns and hot.installed) and I7 (when
 * the heartbeat went tickless) are about histories, not states: a snapshot
 * checks only their state part (the lists and the words are consistent).
 * Answers the number of findings, the first described in [why].
 */
int own_check(baton_vm *vm, const baton_thread *self, char *why, size_t len)
{
	int bad = 0;
	if (len)
		why[0] = 0;
	pthread_mutex_lock(&vm->lock);
	uint32_t owner = atomic_load(owner_of(vm));
	uint32_t inst = hot_load(vm, installed);
	unsigned live = 0, queued = 0, parked = 0;
	/* I1: the word names a live thread; the caller running VM code is it. */
	CHECK(owner <= vm->max, "I1: owner word %u beyond the table (max %u)", owner, vm->max);
	if (self) {
		CHECK(owner == self->hot.index,
		      "I1: thread %u runs VM code but the owner word says %u",
		      self->hot.index, owner);
		CHECK(self->where == T_OWNING, "I1: owning thread %u is listed as %s",
		      self->hot.index, self->where == T_QUEUED ? "queued" : "parked or free");
		CHECK(!atomic_load(&self->hot.out) && !atomic_load(&self->hot.taken),
		      "I1: owning thread %u is marked out in a callout (out %u, taken %u)",
		      self->hot.index, atomic_load(&self->hot.out),
		      atomic_load(&self->hot.taken));
	} else if (owner && owner <= vm->max) {
		/* Seen from outside, the owner may be queued (its CAS in
		 * acquire_queued() precedes its unlinking) or parked (baton_idle()
		 * parks before it releases) for a moment, but never free. */
		baton_thread *o = vm->table[owner];
		CHECK(o && o->where != T_FREE, "I1: the owner word names thread %u, which is free",
		      owner);
	}
	/* I4: installed names a live thread or nobody. */
	CHECK(inst <= vm->max && (!inst || (vm->table[inst] && vm->table[inst]->where != T_FREE)),
	      "I4: installed names thread %u, which is not a live thread", inst);
	/* I3: queued and parked threads sleep on WAKE_NONE, are on exactly their
	 * list, in priority order, and are not the owner (but see above). */
	int prev = BATON_PRIO_MAX + 1;
	for (baton_thread *t = vm->waiters; t && queued <= vm->max; t = t->next, queued++) {
		CHECK(t->where == T_QUEUED, "I3: thread %u is on the waiter queue but not queued",
		      t->hot.index);
		CHECK(t->hot.prio <= prev, "I3: waiter queue out of priority order at thread %u",
		      t->hot.index);
		CHECK(atomic_load(&t->wake) == WAKE_NONE,
		      "I3: queued thread %u has already been woken", t->hot.index);
		prev = t->hot.prio;
	}
	CHECK(queued <= vm->max, "I3: the waiter queue has a cycle");
	CHECK(atomic_load(&vm->top_prio) == (vm->waiters ? vm->waiters->hot.prio : -1),
	      "I3: top_prio %d does not match the queue head",
	      (int)atomic_load(&vm->top_prio));
	for (baton_thread *t = vm->parked; t && parked <= vm->max; t = t->next, parked++) {
		CHECK(t->where == T_PARKED, "I3: thread %u is in the pool but not parked",
		      t->hot.index);
		CHECK(atomic_load(&t->wake) == WAKE_NONE,
		      "I3: parked thread %u has already been woken", t->hot.index);
	}
	CHECK(parked <= vm->max, "I3: the pool has a cycle");
	/* Every queued/parked thread is on its list; the live count is right. */
	unsigned nq = 0, np = 0;
	for (unsigned i = 1; i <= vm->max; i++) {
		baton_thread *t = vm->table[i];
		if (!t)
			continue;
		CHECK(t->hot.index == i, "table slot %u holds thread %u", i, t->hot.index);
		live += t->where != T_FREE;
		nq += t->where == T_QUEUED;
		np += t->where == T_PARKED;
	}
	CHECK(nq == queued, "I3: %u threads are queued but %u are on the queue", nq, queued);
	CHECK(np == parked, "I3: %u threads are parked but %u are in the pool", np, parked);
	CHECK(live == atomic_load(&vm->nthreads), "%u live threads but nthreads says %u", live,
	      atomic_load(&vm->nthreads));
	/* I6: the callout epoch only grows: nothing more from a snapshot. I7: a
	 * tickless heartbeat with a busy VM is legal for the instant between its
	 * steps 1 and 2 (heartbeat/hb.c), so it is the model's to check. */
	pthread_mutex_unlock(&vm->lock);
	return bad;
}

int baton_check(baton_vm *vm, const baton_thread *self, char *why, size_t len)
{
	if (!vm) {
		if (len)
			snprintf(why, len, "no VM");
		errno = EINVAL;
		return 1;
	}
	return own_check(vm, self, why, len);
}

#ifdef BATON_DEBUG
/* Entry points an owner calls: arguments, the caller's role, I1-I7. */
void own_assert_owner(baton_vm *vm, const baton_thread *t, const char *fn)
{
	char why[200];
	if (!vm || !t || t->vm != vm) {
		fprintf(stderr, "%s: %s\n", fn, !vm ? "no VM" : !t ? "no thread" :
			"the thread belongs to another VM");
		abort();
	}
	if (t->tid && t->tid != kif_gettid()) {
		fprintf(stderr, "%s: thread %u (tid %d) passed by tid %d\n", fn,
			t->hot.index, t->tid, kif_gettid());
		abort();
	}
	if (own_check(vm, t, why, sizeof why)) {
		fprintf(stderr, "%s: invariant violated: %s\n", fn, why);
		abort();
	}
}
#endif
