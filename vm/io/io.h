// SPDX-License-Identifier: MIT
/*
 * vm/io/io.h: I/O requests of Smalltalk processes (the SystemIO
 * primitives). Owns the per-VM request table: a primitive queues an
 * operation on the VM's event loop (include/baton/io.h) and parks the
 * asking process in PS_IOWAIT; harvesting the loop's completions answers
 * it and makes it runnable. Every other process runs on meanwhile.
 * See Documentation/vm/io.md ("Inside the VM").
 */
#ifndef BATON_VM_IO_H
#define BATON_VM_IO_H

#include <stdio.h>

#include "vm/st.h"

/* Once per process, at start-up: the soft descriptor limit raised to the
 * hard one (BATON_NOFILE=N: to N), SIGPIPE ignored. */
void vio_setup_process(void);

/* Handles the completions the loop already has (no system call): answers
 * the waiting processes and makes them runnable. May allocate (and so
 * collect): callers hold no raw oops across it. Answers how many. */
int vio_harvest(struct st_vm *vm);
/* Cheap enough for every process switch: one load. */
static inline void vio_poll(struct st_vm *vm)
{
	if (st_unlikely(vm->io_inflight != 0))
		vio_harvest(vm);
}
/* The interpreter's periodic check (every tick of a busy VM): sends what
 * is queued, asks the kernel what is ready where harvesting alone cannot
 * see it (epoll), and harvests. May allocate. */
void vio_tick(struct st_vm *vm);
/* Sends queued submissions to the kernel (before the VM yields or blocks). */
void vio_flush(struct st_vm *vm);
static inline void vio_flush_if(struct st_vm *vm)
{
	if (st_unlikely(vm->io_unflushed != 0))
		vio_flush(vm);
}
/* [p] (in PS_IOWAIT, or stopped while it was) will never take its answer:
 * its request is cancelled; the completion that still comes frees what the
 * request holds (and closes a descriptor it opened). Idempotent. */
void vio_kill(struct st_vm *vm, struct st_proc *p);
/* The request table's roots: target objects of pending operations. */
void vio_roots(struct st_vm *vm, void (*visit)(oop *slot, void *ud), void *ud);
/* --stats rows io.*. */
void vio_print_stats(struct st_vm *vm, FILE *f);
/* Frees the table (after the loop is closed: baton_vm_free). */
void vio_free(struct st_vm *vm);

/*
 * A ring request for other parts of the VM (the FFI's ring mode): the
 * active process waits for one operation that [submit] queues with [tag]
 * (a baton_io_* call; it answers 0 or -errno). [*obj] (may be NULL or 0:
 * none) is pinned while the kernel may use it and given to [submit]
 * pinned; [buf] (malloc'd, may be NULL) is freed once the kernel is done
 * with it, also when the process is terminated meanwhile. The process's
 * answer is the completion's result as an Integer (-errno on failure; an
 * fd a terminated process's request opened is closed when [closes_fd]).
 * Answers PRIM_SWITCH, PRIM_OK (the error answered at once in args[0]) or
 * PRIM_OOM.
 */
typedef int (*vio_submit_fn)(struct st_vm *vm, uint64_t tag, oop pinned, void *ud);
int vio_raw(struct st_vm *vm, oop *args, vio_submit_fn submit, void *ud, void *buf, oop *obj,
	    int closes_fd);

/* flushOut from a process: the shared stdout buffer goes through the ring,
 * only the asking process waits. PRIM_OK (nothing to wait for, or written
 * synchronously) or PRIM_SWITCH. */
int vio_out_flush(struct st_vm *vm, oop *args);
/* Before the VM goes idle: answers 1 when ring writes of earlier output
 * are still to come; then the buffer was queued behind them (the idle
 * wait completes them), else 0 (write it synchronously). */
int vio_out_queue(struct st_vm *vm);
/* Before a synchronous write of the buffer (st_out_flush: stderr output,
 * a callout, the exit): waits, blocking the VM, until the ring has written
 * every chunk, so that nothing overtakes them. Allocates nothing in the
 * heap: other completions it meets wait for the next harvest. */
void vio_out_drain(struct st_vm *vm);
/* Chunks of stdout are still to be written (the VM must not end yet). */
int vio_out_pending(struct st_vm *vm);

/*
 * Signals (vm/io/sig.c, Documentation/vm/signals.md). vio_sig_keeps_alive:
 * a Smalltalk signal handler is installed and some process waits (on a
 * Semaphore): a signal may still wake it, so the VM is not at a dead end.
 * vio_sig_child_reset: for a child after fork(), before execve(): the
 * signals the handlers may have blocked are unblocked and their
 * dispositions reset to the default (async-signal-safe).
 */
int vio_sig_keeps_alive(struct st_vm *vm);
void vio_sig_child_reset(void);
/* The REPL runs a statement (1) or waits at its prompt (0): while it runs,
 * SIGINT interrupts the statement's process (Interrupted), unless the
 * program has its own SIGINT handler; at the prompt it is the REPL's. */
void vio_sig_repl(struct st_vm *vm, int on);

#endif /* BATON_VM_IO_H */
