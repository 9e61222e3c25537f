// SPDX-License-Identifier: MIT
/*
 * vm/final.c: the VM's side of finalization (the collector's registry is
 * vm/gc/gc_final.c): the primitives of addToBeFinalized,
 * removeToBeFinalized and Smalltalk finalizePending, and the finalizer
 * process's semaphore, which the collector's notification signals when a
 * collection made objects ready. The finalizer process itself is Smalltalk
 * (st/kernel/60-System.st), started at the first registration. Owns
 * vm->final_sem. See Documentation/vm/gc.md ("Finalization").
 */
#include "vm/final.h"
#include "vm/prim.h"
#include "vm/sched.h"

/* The collector made objects ready (end of a collection, inside an
 * allocation: nothing here allocates). The finalizer becomes runnable; a
 * priority above the active process's takes over at the next interrupt
 * check. */
static void final_ready(void *owner)
{
	struct st_vm *vm = owner;
	if (!vm->final_sem)
		return;
	struct st_proc *p = sched_signal(vm, vm->final_sem);
	if (p && vm->core && (!vm->active || p->prio > vm->active->prio))
		baton_wake(vm->core);
}

int final_kick(struct st_vm *vm)
{
	if (!vm->final_sem || !gc_final_ready(&vm->gc) ||
	    !obj_is_int(obj_body(vm->final_sem)[SEM_FIRST]))
		return 0;
	sched_signal(vm, vm->final_sem);
	return 1;
}

int final_is_finalizer(struct st_vm *vm, struct st_proc *p)
{
	return vm->final_sem && p->state == PS_WAITING && p->waiting_on == vm->final_sem;
}

/* anObject addToBeFinalized: fails before the finalizer exists (the
 * Smalltalk side starts it and retries), for a SmallInteger, and when the
 * registry cannot grow. */
PRIM(finalAdd)
{
	if (!vm->final_sem)
		return PRIM_FAIL;
	return gc_final_add(&vm->gc, args[0]) < 0 ? PRIM_FAIL : PRIM_OK;
}

PRIM(finalRemove)
{
	gc_final_remove(&vm->gc, args[0]);
	return PRIM_OK;
}

/* Smalltalk primFinalizeNext: the next ready object, or nil. */
PRIM(finalNext)
{
	oop o = gc_final_take(&vm->gc);
	args[0] = o ? o : vm->nil;
	return PRIM_OK;
}

/* Smalltalk primFinalizerSemaphore: the finalizer's semaphore or nil. */
PRIM(finalSem)
{
	args[0] = vm->final_sem ? vm->final_sem : vm->nil;
	return PRIM_OK;
}

/* Smalltalk primFinalizerSemaphore: aSemaphore — true when it is the
 * finalizer's now, false when there was one already (the caller lost a
 * race to start the finalizer). nil: the finalizer ended (terminated), the
 * next registration starts another. Objects already ready are signalled. */
PRIM(finalSemSet)
{
	oop s = args[1];
	if (s == vm->nil) {
		vm->final_sem = 0;
		args[0] = vm->true_;
		return PRIM_OK;
	}
	if (!obj_is_ptr(s) || obj_cls(s) != CI_SEMAPHORE)
		return PRIM_FAIL;
	if (vm->final_sem) {
		args[0] = vm->false_;
		return PRIM_OK;
	}
	vm->final_sem = s;
	gc_final_notify(&vm->gc, final_ready);
	if (gc_final_ready(&vm->gc))
		sched_signal(vm, s);
	args[0] = vm->true_;
	return PRIM_OK;
}
