// SPDX-License-Identifier: MIT
/*
 * vm/core/core.h: the ownership core's private structures.
 *
 * struct baton_vm and struct baton_thread begin with the hot members that
 * include/baton.h's inline fast paths touch. Only vm/core/own.c, vm/core/thread.c and
 * vm/core/core.c include this. See Documentation/core/protocol.md.
 */
#ifndef BATON_CORE_H
#define BATON_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "baton.h"
#include "baton/debug.h"
#include "heartbeat/hb.h"
#include "vm/core/trace.h"

struct kif_evio;
struct baton_io_cqe;

/* Values of baton_thread.wake, the per-thread futex word a sleeping
 * thread waits on. Only a thread holding vm->lock sets GRANTED or QUIT. */
#define WAKE_NONE 0u
#define WAKE_GRANTED 1u /* the ownership word already names this thread */
#define WAKE_QUIT 2u    /* the VM is shutting down */

/* Where a thread is, for the lists below (guarded by vm->lock). T_OWNING
 * also covers a thread in a callout: the fast-path disown takes no lock,
 * so where cannot tell the two apart, and nothing needs it to. */
enum thr_where { T_FREE, T_OWNING, T_QUEUED, T_PARKED };

struct baton_thread {
	struct baton__thread_hot hot; /* must stay first: see baton.h */
	_Atomic uint32_t wake;        /* futex: WAKE_* */
	enum thr_where where;         /* guarded by vm->lock */
	struct baton_thread *next;    /* waiter queue or pool, under vm->lock */
	baton_vm *vm;
	void *data;                   /* the embedder's */
	int tid;
	int foreign;                  /* attached with baton_attach() */
	int created;                  /* created by the core: joined at exit */
	pthread_t pth;
	int stress_due;               /* BATON_STRESS_HANDOFF: hand on at the next yield */
};

struct baton_vm {
	struct baton__vm_hot hot; /* must stay first: see baton.h */
	/* Written by slow paths only; kept off the hot cache line. */
	_Alignas(64) pthread_mutex_t lock; /* queue, pool, thread table */
	struct baton_thread *waiters; /* queued, best priority first, FIFO within */
	struct baton_thread *parked;  /* pool of idle threads, a LIFO stack */
	_Atomic int32_t top_prio;     /* waiters ? waiters->hot.prio : -1 */
	struct baton_thread **table;  /* [1..max]; [0] unused */
	unsigned max;
	_Atomic unsigned nthreads, peak;
	_Atomic uint64_t deadline;    /* hooks->timers due (ns), 0: none */
	_Atomic int quitting;

	struct baton_hooks hooks;
	void *ud;
	int (*before_spawn)(void *spawn_ud);
	void *spawn_ud;

	struct hb *hb;
	unsigned hz;
	uint64_t period_ns;
	uint64_t block_ns;            /* confirmation delay of a blocked callout */
	/* The heartbeat thread's memory of the previous beat. */
	uint64_t hb_suspect;          /* epoch+1 of a callout seen in flight, 0: none */
	uint64_t hb_suspect_at;       /* when it was first seen (ns) */
	int warned_max, warned_spawn;
	int trace_fd;                 /* ftrace trace_marker, -1: off */
	/* BATON_STRESS_HANDOFF=1, read once by baton_vm_new(): every checkpoint
	 * hands the VM to another thread (a waiter, a parked one or a new one). */
	int stress;

	/* The event loop (vm/core/io.c), opened on first use by the owner. */
	struct kif_evio *io;
	int io_err;                   /* why it could not be opened (-errno), 0 */
	int uring_off;                /* baton_config.uring == BATON_URING_OFF */
	int io_ask;                   /* the backend needs asking (epoll): baton_io_check */
	char io_why[128];             /* why io_uring was not used */
	/* Completions an idle wait took from the loop, for baton_io_harvest. */
	struct baton_io_cqe *stash;
	unsigned nstash, stash_head;
	/* The owner sleeps in the loop's wait (own.c, idle_on_loop): whoever
	 * wants the VM or its attention then kicks the loop (kif_evio_wake),
	 * and the heartbeat counts the VM as idle. seq_cst: see idle_on_loop. */
	_Atomic int loop_sleeping;
	_Atomic uint64_t io_idle_waits;

	/* Slow-path counters (fetch_add, relaxed). */
	_Atomic uint64_t owns_slow, handoffs, beats, blocked, hints,
		activations, creations, creation_failures, max_hits, idles,
		wakes, attaches, preemptions, wait_ns;
	/* The membarrier fast path's take-overs (own.c, own_steal_locked). */
	_Atomic uint64_t takeovers, takeover_aborts, takeover_ns;

	/* baton --trace (vm/core/trace.c); NULL: off. Published with a
	 * release store once complete: the heartbeat may already run. */
	struct baton_trace *_Atomic tr;
	uint64_t tr_io_sub, tr_io_comp; /* the loop's counts at the last I/O event */
};

/* vm/core/own.c: the protocol. */
void own_takeover(baton_vm *vm, baton_thread *t, int from_callout);
int own_park(baton_vm *vm, baton_thread *t);
void own_grant_locked(baton_vm *vm, baton_thread *to, uint32_t from);
void own_wake_granted(baton_thread *to);
int own_activate(baton_vm *vm, const char *why);
int own_release_free(baton_vm *vm);
int own_claim_locked(baton_vm *vm, uint32_t to);
int own_check(baton_vm *vm, const baton_thread *self, char *why, size_t len);
/* vm/core/io.c */
void io_close(baton_vm *vm);
/* The owner sleeps in the event loop: make it look (any thread). */
void own_kick_loop(baton_vm *vm);
/* The same, from the owner of [from] (whose loop is open): one MSG_RING
 * from its ring when both are io_uring (baton_wake_from). */
void own_kick_loop_from(baton_vm *vm, baton_vm *from);
/* The idle owner's one kernel wait (completions go to the stash): > 0
 * completions, 0 woken, -ETIME at [deadline], other -errno: not usable. */
int io_idle_wait(baton_vm *vm, uint64_t deadline);

/* vm/core/thread.c: the thread table and the threads the core creates. */
baton_thread *thr_alloc(baton_vm *vm, int foreign);
void thr_free(baton_vm *vm, baton_thread *t);
void thr_free_locked(baton_vm *vm, baton_thread *t);
baton_thread *thr_spawn_locked(baton_vm *vm);
int thr_start(baton_vm *vm, baton_thread *t);
void thr_join_all(baton_vm *vm);

/* vm/core/core.c */
void core_trace_handoff(baton_vm *vm, uint32_t from, uint32_t to);
void core_warn_once(baton_vm *vm, int *flag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define hot_load(vm, f) atomic_load_explicit(&(vm)->hot.f, memory_order_relaxed)
#define hot_store(vm, f, v) atomic_store_explicit(&(vm)->hot.f, (v), memory_order_relaxed)
/*
 * The thread running VM code now, or 0: the ownership word, unless the
 * thread it names is out in a callout (membarrier fast path: the word keeps
 * naming a thread during its callouts). A snapshot, from any thread.
 */
static inline uint32_t own_running(baton_vm *vm)
{
	uint32_t w = atomic_load(&vm->hot.owner);
	if (w && vm->hot.mb && w <= vm->max && vm->table[w] &&
	    atomic_load_explicit(&vm->table[w]->hot.out, memory_order_acquire))
		return 0;
	return w;
}

/* Debug builds: the calling thread is [t], it owns the VM, I1-I7 hold. */
#ifdef BATON_DEBUG
void own_assert_owner(baton_vm *vm, const baton_thread *t, const char *fn);
#define OWN_ASSERT(vm, t) own_assert_owner((vm), (t), __func__)
#else
#define OWN_ASSERT(vm, t) ((void)(vm), (void)(t))
#endif

#define count(vm, f) atomic_fetch_add_explicit(&(vm)->f, 1, memory_order_relaxed)

#endif
