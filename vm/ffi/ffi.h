// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi.h: what the rest of the VM sees of the threaded FFI: its roots
 * and its teardown, and the error text an FFI primitive leaves for its
 * fallback. The FFI itself is the files in vm/ffi/; see Documentation/vm/ffi.md.
 */
#ifndef BATON_VM_FFI_H
#define BATON_VM_FFI_H

#include "vm/st.h"

/* The FFI's roots (Callback objects C may call) for vm_roots(). */
void cf_roots(struct st_vm *vm, gc_visit_fn visit, void *ud);
/* Frees the FFI's tables, closures and pins (libraries stay loaded). */
void cf_free(struct st_vm *vm);
/* Callbacks C may still call: then the VM must never be freed. */
int cf_live_callbacks(struct st_vm *vm);

/*
 * Records the failure of an FFI primitive in the active process and
 * answers PRIM_FAIL: the text is [fmt], with [obj]'s printString put where
 * the text has "%O" (at most once; obj 0: none). The fallback code
 * (Object>>ffiFailed) raises an Error with that text.
 */
int cf_fail(struct st_vm *vm, oop obj, const char *fmt, ...);

#endif /* BATON_VM_FFI_H */
