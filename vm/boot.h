// SPDX-License-Identifier: MIT
/*
 * vm/boot.h: booting a VM by copying the process's boot template
 * (vm/boot_clone.c) instead of compiling st/kernel/ again (st_boot, vm/st.h).
 * See Documentation/vm/objects.md (Boot).
 */
#ifndef BATON_VM_BOOT_H
#define BATON_VM_BOOT_H

#include "vm/st.h"

/*
 * Makes [vm] equivalent to a freshly st_boot()'ed VM by copying the boot
 * template: a read-only VM that the first call in the process boots with
 * st_boot() and freezes (pthread_once; never runs Smalltalk code, has no
 * core and no I/O state). [vm] must come straight from st_new() and
 * gc_init(&vm->gc, sizes, vm_roots, vm), as for st_boot(); the caller's
 * fields (argv, out, stats...) are left alone. Thread-safe: VMs on several
 * threads may clone at once, no lock is taken after the template is built.
 *
 * Answers 1 on success; 0 when it cannot (the template failed to boot, the
 * heap is too small for the copy, no memory, or BATON_BOOT=compile is set
 * in the environment): [vm] is then untouched and the caller runs
 * st_boot(vm) instead:
 *
 *	if (!st_boot_clone(vm) && !st_boot(vm))
 *		fail;
 */
int st_boot_clone(struct st_vm *vm);

/* Builds the template now if it is not built yet (the first st_boot_clone()
 * would, costing about one st_boot()): for a caller that wants its first
 * clone fast, e.g. from a thread of its own. Answers 1 when the template is
 * usable, 0 when it failed or BATON_BOOT=compile is set. Thread-safe. */
int st_boot_prepare(void);

/* The template, or NULL if it is not built (yet, or it failed): for tests
 * and measurements, which must not change it. */
const struct st_vm *st_boot_template(void);

#endif /* BATON_VM_BOOT_H */
