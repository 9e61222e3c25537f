// SPDX-License-Identifier: MIT
/*
 * vm/core/trace.h: the in-VM event recorder behind `baton --trace` (the
 * hooks the core's slow paths call; the embedder's half is in baton.h).
 *
 * Owns nothing itself: vm/core/trace.c owns the buffers. A hook is one
 * predicted-not-taken test of vm->tr, and only on slow paths: the inline
 * fast paths of include/baton.h have none. See Documentation/core/tracing.md.
 */
#ifndef BATON_CORE_TRACE_H
#define BATON_CORE_TRACE_H

#include <stdatomic.h>
#include <stdint.h>

#include "baton.h"

/* What an event is. Spans at the top level of a thread's track (RUN,
 * CALLOUT, WAIT, PARK, LOOP) replace each other: setting one ends the
 * previous. GC spans nest inside. */
enum trace_kind {
	TR_NONE,
	TR_RUN,      /* owns the VM and runs [name] (a process) */
	TR_CALLOUT,  /* in a callout of C function [name] */
	TR_WAIT,     /* queued to own the VM again (slow own, attach) */
	TR_PARK,     /* parked in the pool: idle, or gave the VM away */
	TR_LOOP,     /* owns the VM, asleep in the event loop's wait */
	TR_TOP_END,  /* (marks the end of the top-level span kinds) */
	TR_GC_B,     /* collection begins: arg = bytes, name "scavenge"/"full GC" */
	TR_GC_E,
	TR_BEAT,     /* heartbeat: arg = expirations */
	TR_BLOCKED,  /* the heartbeat found thread arg's callout blocked */
	TR_ACTIVATE, /* thread arg activated to run the VM */
	TR_CREATE,   /* new VM thread arg */
	TR_GIVE,     /* handoff: arg = flow id << 16 | receiver */
	TR_TAKE,     /* the receiver woke with the VM: arg = flow id */
	TR_IO_SUBMIT,   /* arg = requests sent */
	TR_IO_COMPLETE, /* arg = completions taken */
	TR_END_MARK, /* a top-level span ended (written by trace_top) */
	TR_NKINDS
};

struct baton_trace;

/* vm->tr is NULL unless `--trace` (baton_trace_start) turned it on. */
#ifdef BATON_NO_TRACE /* make bench's reference build: no hooks at all */
#define TRACE_ON(vm) ((void)(vm), 0)
#else
#define TRACE_ON(vm)                                                           \
	__builtin_expect(atomic_load_explicit(&(vm)->tr, memory_order_relaxed) != NULL, 0)
#endif
/* An event on [t]'s track (t NULL: the heartbeat's track). */
#define TRACE_EV(vm, t, kind, arg)                                             \
	do {                                                                   \
		if (TRACE_ON(vm))                                              \
			trace_ev((vm), (t), (kind), 0, (arg));                  \
	} while (0)
/* [t]'s top-level state becomes [kind] (the previous span ends). */
#define TRACE_TOP(vm, t, kind)                                                 \
	do {                                                                   \
		if (TRACE_ON(vm))                                              \
			trace_top((vm), (t), (kind), 0);                        \
	} while (0)
/* The giver of a handoff, before the store that wakes [to]. */
#define TRACE_GIVE(vm, from, to)                                               \
	do {                                                                   \
		if (TRACE_ON(vm))                                              \
			trace_give((vm), (from), (to));                         \
	} while (0)
/* The taker, once it sees the grant (before its wait or park span ends). */
#define TRACE_TAKE(vm, t)                                                      \
	do {                                                                   \
		if (TRACE_ON(vm))                                              \
			trace_take((vm), (t));                                  \
	} while (0)

/* [t] sleeps as [kind] (TR_PARK, TR_WAIT, TR_LOOP) / woke up (a grant's
 * flow arrow ends here). */
#define TRACE_SLEEP(vm, t, kind) TRACE_TOP(vm, t, kind)
#define TRACE_WOKE(vm, t)                                                      \
	do {                                                                   \
		if (TRACE_ON(vm)) {                                            \
			trace_take((vm), (t));                                  \
			trace_top((vm), (t), TR_NONE, 0);                       \
		}                                                              \
	} while (0)

/* I/O on the owner's track: [n] requests sent (complete 0) or taken. */
#define TRACE_IO(vm, complete, n)                                              \
	do {                                                                   \
		if (TRACE_ON(vm))                                              \
			trace_io((vm), (complete), (n));                        \
	} while (0)

void trace_io(baton_vm *vm, int complete, uint64_t n);
void trace_ev(baton_vm *vm, baton_thread *t, int kind, uint32_t name, uint64_t arg);
void trace_top(baton_vm *vm, baton_thread *t, int kind, uint32_t name);
void trace_give(baton_vm *vm, uint32_t from, baton_thread *to);
void trace_take(baton_vm *vm, baton_thread *t);
/* baton_vm_free: write the file (if tracing) and free everything. */
void trace_close(baton_vm *vm);

#endif
