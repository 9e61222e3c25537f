// SPDX-License-Identifier: MIT
/*
 * vm/final.h: what the scheduler asks of finalization (vm/final.c).
 * See Documentation/vm/gc.md ("Finalization").
 */
#ifndef BATON_VM_FINAL_H
#define BATON_VM_FINAL_H

#include "vm/st.h"

/* Objects are ready and the finalizer waits for them: signals it (they
 * count as runnable work). Answers 1 when it did. */
int final_kick(struct st_vm *vm);
/* [p] is the finalizer, waiting for work (not a process left waiting). */
int final_is_finalizer(struct st_vm *vm, struct st_proc *p);

#endif /* BATON_VM_FINAL_H */
