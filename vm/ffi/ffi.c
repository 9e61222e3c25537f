// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi.c: the FFI's per-VM state (made on first use, freed with the VM),
 * its roots, and the thread-local "which VM thread am I" records, keyed by
 * VM. The thread-local list is the only one in the VM: it holds pointers to
 * records on the registered threads' own stacks, never VM state.
 * See Documentation/vm/ffi.md.
 */
#include <ffi.h>
#include <stdlib.h>

#include "vm/ffi/ffi_priv.h"

/* ---- which VM thread am I ------------------------------------------------- */

static __thread struct ffi_thread *threads;

void ffi_thread_push(struct ffi_thread *r, struct st_vm *vm, baton_thread *t)
{
	r->vm = vm;
	r->t = t;
	r->wait = NULL;
	r->next = threads;
	threads = r;
}

void ffi_thread_pop(struct ffi_thread *r)
{
	struct ffi_thread **p = &threads;
	while (*p && *p != r)
		p = &(*p)->next;
	if (*p)
		*p = r->next;
}

struct ffi_thread *ffi_thread_find(struct st_vm *vm)
{
	struct ffi_thread *r = threads;
	while (r && r->vm != vm)
		r = r->next;
	return r;
}

/* ---- state ------------------------------------------------------------------- */

struct ffi_state *ffi_state(struct st_vm *vm)
{
	if (!vm->ffi)
		vm->ffi = calloc(1, sizeof *vm->ffi);
	return vm->ffi;
}

void ffi_roots(struct st_vm *vm, gc_visit_fn visit, void *ud)
{
	struct ffi_state *s = vm->ffi;
	if (!s)
		return;
	for (int i = 0; i < s->ncbs; i++)
		if (s->cbs[i] && obj_is_ptr(s->cbs[i]->obj))
			visit(&s->cbs[i]->obj, ud);
	/* pinned, so they do not move: presented to keep them alive */
	for (int i = 0; i < s->npins; i++)
		visit(&s->pins[i].o, ud);
}

int ffi_live_callbacks(struct st_vm *vm)
{
	struct ffi_state *s = vm->ffi;
	int n = 0;
	for (int i = 0; s && i < s->ncbs; i++)
		n += s->cbs[i] != NULL;
	return n;
}

void ffi_free(struct st_vm *vm)
{
	struct ffi_state *s = vm->ffi;
	if (!s)
		return;
	/* libraries stay loaded: threads they started may still run their code */
	for (int i = 0; i < s->nfns; i++) {
		free(s->fns[i]->name);
		free(s->fns[i]);
	}
	for (int i = 0; i < s->ncbs; i++)
		if (s->cbs[i])
			ffi_cb_destroy(vm, s->cbs[i]);
	free(s->libs);
	free(s->fns);
	free(s->cbs);
	free(s->pins);
	free(s);
	vm->ffi = NULL;
}
