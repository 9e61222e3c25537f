// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi_cb.c: Callbacks: libffi closures whose code C calls, and what
 * happens when it does. On one of this VM's threads (C called from a
 * callout) the thread re-owns the VM, runs the block as a process bound to
 * it, and disowns again; on any other thread it attaches to the VM (queued
 * in the kernel, never polling), runs the block the same way, and detaches.
 * The block's process is run to its answer by a nested scheduler loop
 * (sched_run_until). A Callback freed while C is in it lives until its
 * last activation has finished. See Documentation/vm/ffi.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/ffi/ffi_priv.h"
#include "vm/grow.h"
#include "vm/interp.h"

/* Runs [inv] as a process at [prio] bound to [t], which owns the VM, until
 * it has answered (or died: C then gets the zero already in the result). */
static void run_block(struct st_vm *vm, baton_thread *t, struct cf_inv *inv, int prio)
{
	struct sched_wait w = {NULL, 0, 0};
	oop obj = inv->cb->obj;
	oop runner = obj_has_ptrs(obj) && obj_slots(obj) > CB_RUNNER ? obj_body(obj)[CB_RUNNER] : 0;
	if (!runner || !obj_is_ptr(runner) || obj_cls(runner) != CI_BLOCK)
		return;
	struct st_proc *p = sched_new_proc(vm, runner, 0, prio);
	if (!p) {
		st_err(vm, "baton: no memory for a callback's process; C gets 0\n");
		return;
	}
	p->bound = t;
	p->wait_rec = &w;
	p->cb_inv = inv;
	w.p = p;
	sched_ready(vm, p, 1);
	sched_run_until(vm, t, &w);
}

/* run_block(), counted as an activation of the callback: a block that frees
 * its own Callback (or a nested activation that does) must not free what
 * this call still reads (inv->cb) nor the closure C is returning through;
 * the last activation frees it. libffi reads nothing of the closure or its
 * cif once entry() has been called, so freeing it here, before entry()
 * returns, is safe. */
static void run(struct st_vm *vm, baton_thread *t, struct cf_inv *inv, int prio)
{
	struct cf_cb *cb = inv->cb;
	cb->busy++;
	run_block(vm, t, inv, prio);
	if (--cb->busy == 0 && cb->freed)
		cf_cb_destroy(vm, cb);
}

/*
 * C called back on one of this VM's threads: it is in a callout of process
 * [outer] (disowned), or in an unthreaded one (still owning). Own the VM
 * (outer is the active process again: it was never set aside, or
 * hook_restore reinstalled it), set the callout's process aside while the
 * block runs (not runnable, and not a callout in flight: it waits for us),
 * then make it the callout it was and disown again.
 */
static void nested(struct st_vm *vm, struct sched_reg *r, struct cf_inv *inv)
{
	baton_thread *t = r->t;
	int owning = baton_owner(vm->core) == baton_thread_index(t);
	if (!owning) {
		if (ST_TRACING(vm))
			baton_trace_callout_end(vm->core, t);
		baton_own(vm->core, t); /* may have saved and restored outer */
		vm->cur_thread = t;
	}
	struct st_proc *outer = vm->active;
	int prio = outer ? outer->prio : inv->cb->prio;
	vm->cb_active++;
	if (outer)
		outer->state = PS_CALLOUT;
	vm->active = NULL;
	run(vm, t, inv, prio);
	if (vm->active) /* never: the loop returns with nothing active */
		sched_ready(vm, vm->active, 1);
	vm->active = outer;
	if (outer)
		outer->state = PS_RUNNING;
	vm->cb_active--;
	if (!owning) {
		if (ST_TRACING(vm))
			baton_trace_callout(vm->core, t, NULL); /* back in the same C call */
		baton_disown(vm->core, t, outer ? outer->prio : prio, 0);
	}
}

/* C called back on a thread this VM never saw. */
static void foreign(struct st_vm *vm, struct cf_inv *inv)
{
	struct sched_reg r;
	int prio = __atomic_load_n(&inv->cb->prio, __ATOMIC_RELAXED);
	baton_thread *t = baton_attach(vm->core, prio);
	if (!t) {
		fputs("baton: a foreign thread's callback was refused: the VM's thread table is "
		      "full (--max-threads); C gets 0\n",
		      stderr);
		return;
	}
	sched_reg_push(&r, vm, t);
	sched_owned(vm, t);
	if (vm->active) { /* never: whoever gave the VM away set it aside */
		sched_ready(vm, vm->active, 1);
		vm->active = NULL;
	}
	vm->cb_active++;
	run(vm, t, inv, prio);
	vm->cb_active--;
	/* Work left runnable (we may have preempted it), or a finished main
	 * program (someone must see that nothing can run any more): a parked
	 * thread has to look. */
	int more = sched_best(vm) >= 0 || !vm->main_proc;
	sched_reg_pop(&r);
	baton_detach(vm->core, t);
	if (more)
		baton_wake(vm->core);
}

/* libffi's entry for every closure. The result is zeroed first: C gets 0
 * when the block fails. */
static void entry(ffi_cif *cif, void *ret, void **args, void *ud)
{
	(void)cif;
	struct cf_cb *cb = ud;
	struct cf_inv inv = {cb, ret, args};
	memset(ret, 0, sizeof(ffi_arg));
	if (__atomic_load_n(&cb->vm->ended, __ATOMIC_ACQUIRE))
		return; /* the process is ending: the VM runs nothing more */
	struct sched_reg *r = sched_reg_find(cb->vm);
	if (r)
		nested(cb->vm, r, &inv);
	else
		foreign(cb->vm, &inv);
}

struct cf_cb *cf_cb_new(struct st_vm *vm, oop obj, int rkind, const uint8_t *kinds, int nargs)
{
	struct cf_state *s = cf_state(vm);
	if (!s)
		return NULL;
	int slot = 0;
	while (slot < s->ncbs && s->cbs[slot])
		slot++;
	if (slot == s->ncbs) {
		if (!GROW(s->cbs, s->capcbs, s->ncbs + 1, 16))
			return NULL;
		s->cbs[s->ncbs++] = NULL;
	}
	struct cf_cb *cb = calloc(1, sizeof *cb);
	if (!cb)
		return NULL;
	cb->vm = vm;
	cb->nargs = nargs;
	cb->rkind = (uint8_t)rkind;
	cb->prio = 60; /* lowIOPriority */
	cb->handle = slot + 1;
	cb->obj = obj;
	for (int i = 0; i < nargs; i++) {
		cb->kinds[i] = kinds[i];
		cb->types[i] = cf_kinds[kinds[i]].type;
	}
	cb->closure = ffi_closure_alloc(sizeof(ffi_closure), &cb->code);
	if (!cb->closure ||
	    ffi_prep_cif(&cb->cif, FFI_DEFAULT_ABI, (unsigned)nargs, cf_kinds[rkind].type,
			 cb->types) != FFI_OK ||
	    ffi_prep_closure_loc(cb->closure, &cb->cif, entry, cb, cb->code) != FFI_OK) {
		if (cb->closure)
			ffi_closure_free(cb->closure);
		free(cb);
		return NULL;
	}
	s->cbs[slot] = cb;
	return cb;
}

void cf_cb_destroy(struct st_vm *vm, struct cf_cb *cb)
{
	struct cf_state *s = vm->ffi;
	if (s && cb->handle >= 1 && cb->handle <= s->ncbs && s->cbs[cb->handle - 1] == cb)
		s->cbs[cb->handle - 1] = NULL;
	ffi_closure_free(cb->closure);
	free(cb);
}

void cf_cb_free(struct st_vm *vm, struct cf_cb *cb)
{
	if (cb->busy) {
		cb->freed = 1; /* its last activation frees it (run()) */
		return;
	}
	cf_cb_destroy(vm, cb);
}
