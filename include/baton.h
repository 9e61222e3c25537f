// SPDX-License-Identifier: MIT
/*
 * baton.h: the public interface of Baton's ownership core.
 *
 * A VM (ours, or anyone's) embeds this core to be natively multi-threaded but
 * not concurrent: many OS threads, exactly one of which owns the VM at a time.
 * This is the only installed header. The protocol itself (and its invariants)
 * lives in vm/core/own.c; see Documentation/core/embedding.md for the embedder's
 * contract and Documentation/core/protocol.md for the state diagram.
 */
#ifndef BATON_H
#define BATON_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include "baton/debug.h"

/* USDT probes on the inline fast paths: a single nop when nobody listens.
 * Define BATON_NO_PROBES to leave them out. */
#if !defined(BATON_NO_PROBES) && defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define BATON__PROBE2(n, a, b) STAP_PROBE2(baton, n, a, b)
#define BATON__PROBE1(n, a) STAP_PROBE1(baton, n, a)
#endif
#endif
#ifndef BATON__PROBE2
#define BATON__PROBE2(n, a, b) ((void)0)
#define BATON__PROBE1(n, a) ((void)0)
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define BATON_API __attribute__((visibility("default")))
#define BATON_VERSION_MAJOR 0
#define BATON_VERSION_MINOR 1

typedef struct baton_vm baton_vm;
typedef struct baton_thread baton_thread;
/* A heartbeat thread shared by several VMs (baton_config.heartbeat). */
typedef struct baton_heartbeat baton_heartbeat;

/* Priorities are the embedder's (Smalltalk uses 1..80); higher runs first. */
#define BATON_PRIO_MIN 0
#define BATON_PRIO_MAX 255

/* Flags for baton_disown(). */
#define BATON_BLOCKING 0x1u /* the callout is known to block: hand the VM on now */

/* Return values of baton_idle() and baton_yield(). */
#define BATON_RUN 0  /* this thread owns the VM: look for work */
#define BATON_QUIT 1 /* the VM is shutting down: return from hooks->run */

/*
 * Callbacks from the core into the embedder. All of them run on a thread that
 * owns the VM. [ud] is baton_config.ud.
 */
struct baton_hooks {
	/* Body of a VM thread the core created (the heartbeat's answer to a
	 * blocked callout). The thread owns the VM and nothing is installed:
	 * run the scheduler; return only when baton_idle() says BATON_QUIT. */
	void (*run)(baton_vm *vm, baton_thread *self, void *ud);
	/* The work installed by [blocked] is stuck in a callout and another
	 * thread (the caller) has taken the VM: save whatever the VM keeps of
	 * it so that other work can run. [blocked] will get it back through
	 * restore(). */
	void (*save)(baton_vm *vm, baton_thread *blocked, void *ud);
	/* [self] owns the VM again after its work was saved: reinstall it. */
	void (*restore)(baton_vm *vm, baton_thread *self, void *ud);
	/* The deadline set with baton_set_deadline() has passed. */
	void (*timers)(baton_vm *vm, baton_thread *self, uint64_t now_ns, void *ud);
};

struct baton_config {
	const struct baton_hooks *hooks;
	void *ud;
	unsigned heartbeat_hz; /* 0: 1000 */
	unsigned max_threads;  /* VM threads, foreign ones included; 0: 64 */
	int uring;             /* BATON_URING_AUTO or BATON_URING_OFF */
	/* Block-detection delay: a callout seen in flight at a beat is
	 * declared blocked if it is still the same callout this many
	 * microseconds later. 0: a sixteenth of the beat period. */
	unsigned block_us;
	/* Test hook, called before the core creates a thread: a non-zero
	 * return makes that creation fail as pthread_create would. */
	int (*before_spawn)(void *spawn_ud);
	void *spawn_ud;
	/* NULL: the VM starts its own heartbeat thread. Else the VM is a
	 * client of this shared heartbeat (one thread for all its VMs):
	 * heartbeat_hz must then be 0 or the shared one's, and uring is the
	 * shared one's. See Documentation/core/heartbeat.md. */
	baton_heartbeat *heartbeat;
};
/* baton_config.uring: the heartbeat backend. The environment variable
 * BATON_URING=0 forces the plain-read fallback whatever is asked here. */
#define BATON_URING_AUTO 0
#define BATON_URING_OFF 1

/* Counters, all monotonic since baton_vm_new(). */
struct baton_stats {
	uint64_t disowns;          /* callouts started */
	uint64_t owns_fast;        /* re-owned on the fast path, nothing saved:
				      derived as disowns - owns_slow, so a
				      callout in flight counts until it returns */
	uint64_t owns_slow;        /* took the slow path (queue, restore...) */
	uint64_t handoffs;         /* VM handed directly to a chosen thread */
	uint64_t beats;            /* heartbeat expirations handled */
	uint64_t blocked;          /* callouts detected blocked by the heartbeat */
	uint64_t blocking_hints;   /* callouts flagged BATON_BLOCKING */
	uint64_t activations;      /* parked threads activated */
	uint64_t creations;        /* threads created */
	uint64_t creation_failures;/* spawn failures */
	uint64_t max_threads_hits; /* activations refused: max_threads */
	uint64_t idles;            /* times the VM went idle */
	uint64_t wakes;            /* idle VM woken (deadline, baton_wake) */
	uint64_t attaches;         /* foreign threads attached */
	uint64_t preemptions;      /* checkpoints that yielded to a waiter */
	uint64_t wait_ns_total;    /* time spent queued in slow-path owns */
	uint64_t hb_wakeups;       /* times the heartbeat thread woke */
	uint64_t hb_cpu_ns;        /* CPU time of the heartbeat thread */
	unsigned threads;          /* VM threads now in the table */
	unsigned threads_peak;     /* most VM threads ever at once */
	unsigned waiting;          /* threads queued for the VM now */
	unsigned parked;           /* threads parked in the pool now */
	const char *hb_backend;    /* "io_uring", "io_uring-multishot" or "read" */
	const char *own_fast_path; /* "membarrier" or "cas" (BATON_MEMBARRIER=0) */
	uint64_t takeovers;        /* membarrier path: VM taken from a callout */
	uint64_t takeover_aborts;  /* ... given up: the callout had come back */
	uint64_t takeover_ns;      /* time spent in those (membarrier included) */
};

/* ---- lifecycle --------------------------------------------------------- */

/* A new VM core; starts its heartbeat. NULL and errno on failure (EINVAL:
 * [cfg] is NULL). */
BATON_API baton_vm *baton_vm_new(const struct baton_config *cfg);
/* A shared heartbeat: one thread ticking for every VM made with it in
 * baton_config.heartbeat, at [hz] (0: 1000); [uring] as baton_config.uring.
 * NULL and errno on failure. */
BATON_API baton_heartbeat *baton_heartbeat_new(unsigned hz, int uring);
/* Stops and frees it: -EBUSY (and nothing done) while a VM still uses it;
 * -EPERM for baton_heartbeat_process()'s. NULL: 0. */
BATON_API int baton_heartbeat_free(baton_heartbeat *hb);
/* The process's shared heartbeat (1000 Hz, uring auto), made on the first
 * call and never freed; NULL and errno if it could not be made. */
BATON_API baton_heartbeat *baton_heartbeat_process(void);
/* The calling thread becomes the VM's main thread (index 1) and owns it. */
BATON_API baton_thread *baton_enter(baton_vm *vm);
/* Called by the owner once no work remains anywhere (no callout in flight,
 * no foreign thread attached): stops the heartbeat, ends the threads the
 * core created, frees everything. The calling thread must be main. */
BATON_API void baton_vm_free(baton_vm *vm, baton_thread *main_thread);

/* ---- ownership (fast paths are inline, below) -------------------------- */

/* Slow paths of baton_disown()/baton_own(): never call them directly. */
BATON_API void baton__disown_slow(baton_vm *vm, baton_thread *t, unsigned flags);
BATON_API void baton__own_slow(baton_vm *vm, baton_thread *t, uint32_t seen);

/* Nothing to run: give the VM away (to a waiter, or to nobody) and sleep
 * until the core needs this thread again. Returns BATON_RUN owning the VM
 * with nothing installed, or BATON_QUIT. */
BATON_API int baton_idle(baton_vm *vm, baton_thread *t);

/* Called where the interpreter polls baton_interrupted(). Clears the flag,
 * runs hooks->timers if the deadline passed, and answers 1 if a thread is
 * waiting for the VM with work of higher priority than [prio] (or, with
 * [prio] < 0, of any priority): the caller then makes its own work
 * runnable again and calls baton_yield(). With BATON_STRESS_HANDOFF=1 in
 * the environment of baton_vm_new() it always answers 1, and the
 * baton_yield() that follows hands the VM to another thread even when
 * nobody waits (a parked one, or a new one): a test mode. */
BATON_API int baton_checkpoint(baton_vm *vm, baton_thread *t, int prio);
/* Priority of the best waiting thread, or -1 when none waits. */
BATON_API int baton_top_waiter(baton_vm *vm);
/* Hand the VM to the best waiter and sleep like baton_idle(). If nobody
 * waits, returns BATON_RUN at once. */
BATON_API int baton_yield(baton_vm *vm, baton_thread *t);
/* Hand the VM to [to], which must be parked in baton_idle()/baton_yield()
 * or queued; this thread then sleeps like baton_idle(). For thread
 * affinity (work that must run on one OS thread). Returns like baton_idle,
 * or -1 if [to] could not take it (then the caller still owns the VM). */
BATON_API int baton_handoff(baton_vm *vm, baton_thread *t, baton_thread *to);

/* Threads the VM never saw (a C library's) call in: attach registers the
 * calling thread and returns owning the VM (after waiting, at [prio], if
 * another thread owns it); detach gives the VM away and forgets the
 * thread. NULL from attach: the thread table is full. */
BATON_API baton_thread *baton_attach(baton_vm *vm, int prio);
BATON_API void baton_detach(baton_vm *vm, baton_thread *t);

/* ---- time and events ----------------------------------------------------- */

/* Owner only: hooks->timers should run at CLOCK_MONOTONIC [ns] (0: never).
 * The heartbeat honours it even when the VM is idle and tickless. */
BATON_API void baton_set_deadline(baton_vm *vm, uint64_t ns);
/* Any thread: something external happened (I/O completion...). If the VM
 * is idle a parked thread is activated; else the interrupt flag is raised. */
BATON_API void baton_wake(baton_vm *vm);
/* baton_wake(target) from the owner of another VM [from] (Hydra: a head wakes
 * the head it sent a message to). The same, except for the kick of an
 * owner asleep in [target]'s event loop: when both loops are io_uring and the
 * kernel has IORING_OP_MSG_RING (Linux 5.18), one MSG_RING submitted on
 * [from]'s ring posts a completion into [target]'s, instead of the eventfd
 * write (baton_io_stats: msg_ring_wakes). The caller must own [from];
 * [from] NULL, [target] itself or without an open loop: baton_wake(target). */
BATON_API void baton_wake_from(baton_vm *target, baton_vm *from);
#define BATON_HAVE_WAKE_FROM 1 /* for code that must build without it */
BATON_API uint64_t baton_now_ns(void);

/* ---- introspection ---------------------------------------------------- */

BATON_API void baton_get_stats(baton_vm *vm, struct baton_stats *out);
BATON_API unsigned baton_thread_index(const baton_thread *t);
BATON_API int baton_thread_tid(const baton_thread *t);  /* gettid() */
BATON_API int baton_thread_is_foreign(const baton_thread *t);
/* The embedder's per-thread pointer (e.g. the process a thread carries). */
BATON_API void baton_thread_set_data(baton_thread *t, void *data);
BATON_API void *baton_thread_data(const baton_thread *t);
/* The thread table entry of index [i], or NULL. */
BATON_API baton_thread *baton_thread_at(baton_vm *vm, unsigned i);
/* Owner of the VM right now (0: nobody, also while the last owner is in a
 * callout, whichever fast path runs). A snapshot, for tests and tools. */
BATON_API unsigned baton_owner(baton_vm *vm);
/* Checks the invariants I1-I7 (vm/core/own.c) as far as a snapshot can:
 * [self] is the calling thread, which must own the VM, or NULL from a
 * thread outside the VM at a quiescent point. Answers the number of
 * violations found (0: none) and describes the first in [why] (up to [len]
 * bytes). For tests, like a collector's verify; debug builds (BATON_DEBUG)
 * also run it at every entry point an owner calls. */
BATON_API int baton_check(baton_vm *vm, const baton_thread *self, char *why, size_t len);

/* ---- the ownership timeline (vm/core/trace.c) ---------------------------
 * `baton --trace FILE`: every VM thread appends events (owning, callouts,
 * waiting, parked, handoffs, heartbeat findings, GC, I/O) to a buffer of
 * its own, without locks; baton_trace_flush() and baton_vm_free() write
 * them as Chrome trace-event JSON. Off (never started), only the core's
 * slow paths test one pointer; the embedder tests its own flag. See
 * Documentation/core/tracing.md. */
/* Turns recording on; the file is created now and written at each flush.
 * 0, or -errno (-EBUSY: already on). Call it before other threads run. */
BATON_API int baton_trace_start(baton_vm *vm, const char *path);
/* Writes everything recorded so far (spans still open end now). 0 when
 * off; -errno (and a message) when the file cannot be written. */
BATON_API int baton_trace_flush(baton_vm *vm);
BATON_API int baton_trace_on(baton_vm *vm);
/* An id for a name shown in the trace (interned; 0: off or no memory). */
BATON_API uint32_t baton_trace_name(baton_vm *vm, const char *s, size_t len);
/* Owner [t] now runs the work called [name] (a process). */
BATON_API void baton_trace_run(baton_vm *vm, baton_thread *t, uint32_t name);
/* Just before baton_disown(): [t] calls C function [fn]. */
BATON_API void baton_trace_callout(baton_vm *vm, baton_thread *t, const char *fn);
/* Just before baton_own(): the call returned. */
BATON_API void baton_trace_callout_end(baton_vm *vm, baton_thread *t);
/* A collection on owner [t]: [full] 0 scavenge, 1 full; [end] 0 begins. */
BATON_API void baton_trace_gc(baton_vm *vm, baton_thread *t, int full, int end, uint64_t bytes);
/* I/O: [n] requests submitted ([complete] 0) or completions taken (1). */
BATON_API void baton_trace_io(baton_vm *vm, baton_thread *t, int complete, uint64_t n);

/* ---- inline fast paths ---------------------------------------------------
 * The leading members of struct baton_vm and struct baton_thread, exposed so
 * that disown and own compile to a few plain stores and a load (or a store
 * and a CAS, BATON_MEMBARRIER=0) in the embedder's interpreter (liburing
 * does the same for its rings). Do not touch them
 * except through these functions. The invariants are in vm/core/own.c.
 */
struct baton__vm_hot {
	_Atomic uint32_t owner;     /* THE ownership word (a futex): owner index */
	_Atomic uint32_t interrupt; /* nonzero: call baton_checkpoint() */
	_Atomic uint32_t installed; /* index whose work the VM holds; owner writes */
	uint32_t mb;                /* 1: the membarrier fast path (set once) */
	_Atomic uint64_t disowns;   /* callouts started, also the callout epoch */
};
struct baton__thread_hot {
	uint32_t index; /* 1..max_threads, never changes */
	int32_t prio;   /* priority of the work this thread carries */
	/* The membarrier fast path only (Documentation/core/protocol.md). */
	_Atomic uint32_t out;   /* nonzero (callout number): in a callout; own writes */
	_Atomic uint32_t taken; /* the VM was taken during the callout (vm->lock) */
	_Atomic uint32_t defer; /* back, found taken: waits for vm->lock (own slow) */
};

/* Owner-only counter bump: a plain load and store, no locked instruction. */
#define BATON__BUMP(field, type)                                               \
	atomic_store_explicit(&(field),                                         \
			      atomic_load_explicit(&(field), memory_order_relaxed) + \
				      (type)1,                                  \
			      memory_order_relaxed)

/* Before a callout, three plain stores: the priority this thread will
 * queue at if it must wait to re-own, the callout count the heartbeat reads
 * as an epoch, and "I am out": with the membarrier fast path the thread's
 * own out word (the ownership word keeps naming it), otherwise 0 into the
 * ownership word (a release store). */
static inline void baton_disown(baton_vm *vm, baton_thread *t, int prio, unsigned flags)
{
	struct baton__vm_hot *h = (struct baton__vm_hot *)vm;
	struct baton__thread_hot *th = (struct baton__thread_hot *)t;
	B_ASSERT(vm && t, "baton_disown: no VM or no thread");
	B_ASSERT(atomic_load(&h->owner) == th->index,
		 "baton_disown: the calling thread does not own the VM");
	th->prio = prio;
	BATON__BUMP(h->disowns, uint64_t);
	BATON__PROBE2(disown, th->index, atomic_load_explicit(&h->disowns, memory_order_relaxed));
	if (__builtin_expect(flags != 0, 0)) {
		baton__disown_slow(vm, t, flags);
		return;
	}
	if (h->mb)
		atomic_store_explicit(&th->out,
				      ((uint32_t)atomic_load_explicit(&h->disowns,
								      memory_order_relaxed)
				       << 1) | 1u,
				      memory_order_release);
	else
		atomic_store_explicit(&h->owner, 0, memory_order_release);
}

/* After a callout. Membarrier fast path: "I am back" (a plain store), a
 * compiler barrier, and one plain load: nobody took the VM during the
 * callout, so it is still ours. The heartbeat's take-over pays for this with
 * a membarrier() (vm/core/own.c, own_steal_locked). CAS fast path: one CAS
 * of the free word and one load of installed. Otherwise the slow path
 * queues and restores. It keeps no counter: one more store here measurably
 * slows every callout (Documentation/core/protocol.md, "costs"). */
static inline void baton_own(baton_vm *vm, baton_thread *t)
{
	struct baton__vm_hot *h = (struct baton__vm_hot *)vm;
	struct baton__thread_hot *th = (struct baton__thread_hot *)t;
	uint32_t seen = 0;
	B_ASSERT(vm && t, "baton_own: no VM or no thread");
	if (h->mb) {
		B_ASSERT(atomic_load_explicit(&th->out, memory_order_relaxed) != 0,
			 "baton_own: the calling thread owns the VM already (no baton_disown)");
		atomic_store_explicit(&th->out, 0, memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
		if (__builtin_expect(!atomic_load_explicit(&th->taken, memory_order_relaxed), 1)) {
			BATON__PROBE1(own_fast, th->index);
			return;
		}
	} else {
		B_ASSERT(atomic_load(&h->owner) != th->index,
			 "baton_own: the calling thread owns the VM already (no baton_disown)");
		if (__builtin_expect(atomic_compare_exchange_strong_explicit(
					     &h->owner, &seen, th->index,
					     memory_order_acquire, memory_order_relaxed) &&
				     atomic_load_explicit(&h->installed, memory_order_relaxed) ==
					     th->index,
				     1)) {
			BATON__PROBE1(own_fast, th->index);
			return;
		}
	}
	baton__own_slow(vm, t, seen);
}

/* The flag the interpreter polls at sends and backward jumps. */
static inline int baton_interrupted(baton_vm *vm)
{
	return atomic_load_explicit(&((struct baton__vm_hot *)vm)->interrupt,
				    memory_order_relaxed) != 0;
}

#ifdef __cplusplus
}
#endif
#endif /* BATON_H */
