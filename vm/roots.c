// SPDX-License-Identifier: MIT
/*
 * vm/roots.c: vm_roots(), the VM's side of the collector contract: the roots
 * callback the VM registers with its heap (gc_init in main.c), presenting
 * every root slot of the VM once per collection (the FFI's among them).
 * Drops the method cache (it holds methods, which may move).
 * See Documentation/vm/gc.md.
 */
#include <string.h>

#include "vm/ffi/ffi.h"
#include "vm/gc/gc.h"
#include "vm/hydra/hydra.h"
#include "vm/io/io.h"
#include "vm/st.h"

static void visit_slot(oop *s, gc_visit_fn visit, void *ud)
{
	if (*s && obj_is_ptr(*s))
		visit(s, ud);
}

void vm_roots(void *owner, gc_visit_fn visit, void *ud)
{
	struct st_vm *vm = owner;
	st_flush_cache(vm);
	visit_slot(&vm->nil, visit, ud);
	visit_slot(&vm->true_, visit, ud);
	visit_slot(&vm->false_, visit, ud);
	visit_slot(&vm->smalltalk, visit, ud);
	visit_slot(&vm->processor, visit, ud);
	visit_slot(&vm->transcript, visit, ud);
	visit_slot(&vm->final_sem, visit, ud);
	for (int i = 0; i < 256; i++)
		visit_slot(&vm->chars[i], visit, ud);
	for (int i = 0; i < SS_COUNT; i++)
		visit_slot(&vm->special_sels[i], visit, ud);
	for (int i = 0; i < SY_COUNT; i++)
		visit_slot(&vm->syms[i], visit, ud);
	for (uint32_t i = 0; i < vm->nclasses; i++)
		visit_slot(&vm->classes[i], visit, ud);
	for (size_t i = 0; i < vm->symcap; i++)
		visit_slot(&vm->symtab[i], visit, ud);
	for (size_t i = 0; i < vm->globcap; i++)
		visit_slot(&vm->globals[i], visit, ud);
	for (unsigned i = 0; i < vm->nroots; i++)
		visit_slot(vm->roots[i], visit, ud);
	cf_roots(vm, visit, ud);
	vio_roots(vm, visit, ud);
	hy_roots(vm, visit, ud);
	for (int i = 0; i < vm->ntimers; i++)
		visit_slot(&vm->timers[i].sem, visit, ud);
	/* process stacks: slot 1 up to sp; every slot is an oop */
	for (int i = 1; i < vm->nprocs; i++) {
		struct st_proc *p = vm->procs[i];
		if (!p)
			continue;
		visit_slot(&p->self, visit, ud);
		if (p->err_obj)
			visit_slot(&p->err_obj, visit, ud);
		if (p->waiting_on)
			visit_slot(&p->waiting_on, visit, ud);
		if (!p->stack)
			continue;
		for (oop *s = p->stack + 1; s <= p->sp; s++)
			visit_slot(s, visit, ud);
	}
}
