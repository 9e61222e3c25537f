// SPDX-License-Identifier: MIT
/*
 * vm/ctx.h: contexts (thisContext): the only names of frames that Smalltalk
 * holds. See vm/ctx.c and Documentation/vm/interpreter.md.
 */
#ifndef BATON_VM_CTX_H
#define BATON_VM_CTX_H

#include "vm/st.h"

/* A new context for frame [f] of process [p] (stamps a serial into the
 * frame if it has none). Allocates: [f] stays valid (a collection never
 * moves a stack), other raw oops do not. 0: out of memory. */
oop ctx_new(struct st_vm *vm, struct st_proc *p, oop *f);

/* The frame context [c] names, if [c] is a context and that frame is still
 * one of its process's live frames with the serial [c] was made with;
 * NULL otherwise (not a context, a forged one, or its frame has returned).
 * [*pp] gets the process. The process's saved sp and fp must be current. */
oop *ctx_frame(struct st_vm *vm, oop c, struct st_proc **pp);

/* Is [o] a MethodContext or a BlockContext? */
int ctx_is(oop o);

/* A frame's FF_* marks, and setting them (the argument count and the serial
 * stay). */
static inline intptr_t ctx_marks(oop *f) { return (obj_int(f[FH_FLAGS]) >> 8) & 0xff; }
static inline void ctx_set_marks(oop *f, intptr_t m)
{
	intptr_t fl = obj_int(f[FH_FLAGS]);
	f[FH_FLAGS] = obj_from_int((fl & ~(intptr_t)0xff00) | (m & 0xff) << 8);
}

#endif /* BATON_VM_CTX_H */
