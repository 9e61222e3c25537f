// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi.c: the FFI's per-VM state (made on first use, freed with the VM)
 * and its roots. (The thread registry a callback consults, "which VM thread
 * am I", is the scheduler's: vm/sched.h.) See Documentation/vm/ffi.md.
 */
#include <ffi.h>
#include <stdlib.h>

#include "vm/ffi/ffi_priv.h"

/* ---- state ------------------------------------------------------------------- */

struct cf_state *cf_state(struct st_vm *vm)
{
	if (!vm->ffi)
		vm->ffi = calloc(1, sizeof *vm->ffi);
	return vm->ffi;
}

void cf_roots(struct st_vm *vm, gc_visit_fn visit, void *ud)
{
	struct cf_state *s = vm->ffi;
	if (!s)
		return;
	for (int i = 0; i < s->ncbs; i++)
		if (s->cbs[i] && obj_is_ptr(s->cbs[i]->obj))
			visit(&s->cbs[i]->obj, ud);
	/* pinned, so they do not move: presented to keep them alive */
	for (int i = 0; i < s->npins; i++)
		visit(&s->pins[i].o, ud);
}

int cf_live_callbacks(struct st_vm *vm)
{
	struct cf_state *s = vm->ffi;
	int n = 0;
	for (int i = 0; s && i < s->ncbs; i++)
		n += s->cbs[i] != NULL;
	return n;
}

void cf_free(struct st_vm *vm)
{
	struct cf_state *s = vm->ffi;
	if (!s)
		return;
	/* libraries stay loaded: threads they started may still run their code */
	for (int i = 0; i < s->nfns; i++) {
		free(s->fns[i]->name);
		free(s->fns[i]);
	}
	for (int i = 0; i < s->ncbs; i++)
		if (s->cbs[i])
			cf_cb_destroy(vm, s->cbs[i]);
	free(s->libs);
	free(s->fns);
	free(s->cbs);
	free(s->pins);
	free(s);
	vm->ffi = NULL;
}
