// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi.h: what the rest of the VM sees of the threaded FFI: the
 * per-thread "which VM thread am I" records, the FFI's roots and its
 * teardown, and the error text an FFI primitive leaves for its fallback.
 * The FFI itself is vm/ffi_*.c and vm/ffi/prim_ffi.c; see Documentation/vm/ffi.md.
 */
#ifndef BATON_VM_FFI_H
#define BATON_VM_FFI_H

#include "vm/st.h"

/*
 * A thread that runs a VM's scheduler (every VM thread, and a foreign
 * thread while it runs a callback) registers itself in a thread-local list
 * keyed by VM: a callback asks it whether the calling OS thread is one of
 * this VM's threads (then it is in a callout and re-owns the VM), or
 * foreign to it (then it attaches). Several VMs may share a process and a
 * thread, so the list holds one record per VM the thread serves. Records
 * live on the registering thread's stack.
 */
struct ffi_thread {
	struct st_vm *vm;
	baton_thread *t;
	struct sched_wait *wait; /* innermost callback this thread runs */
	struct ffi_thread *next;
};

void ffi_thread_push(struct ffi_thread *r, struct st_vm *vm, baton_thread *t);
void ffi_thread_pop(struct ffi_thread *r);
struct ffi_thread *ffi_thread_find(struct st_vm *vm);

/* The FFI's roots (Callback objects C may call) for vm_roots(). */
void ffi_roots(struct st_vm *vm, gc_visit_fn visit, void *ud);
/* Frees the FFI's tables, closures and pins (libraries stay loaded). */
void ffi_free(struct st_vm *vm);
/* Callbacks C may still call: then the VM must never be freed. */
int ffi_live_callbacks(struct st_vm *vm);

/*
 * Records the failure of an FFI primitive in the active process and
 * answers PRIM_FAIL: the text is [fmt], with [obj]'s printString put where
 * the text has "%O" (at most once; obj 0: none). The fallback code
 * (Object>>ffiFailed) raises an Error with that text.
 */
int ffi_fail(struct st_vm *vm, oop obj, const char *fmt, ...);

#endif /* BATON_VM_FFI_H */
