// SPDX-License-Identifier: MIT
/*
 * vm/interp.h: the bytecode interpreter and the primitive table.
 * See Documentation/vm/interpreter.md.
 */
#ifndef BATON_VM_INTERP_H
#define BATON_VM_INTERP_H

#include "vm/st.h"

/* interp_run() answers why it stopped. */
#define INTERP_IDLE 0  /* nothing runnable: vm->active is NULL */
#define INTERP_YIELD 1 /* a waiting thread has better work: yield the VM */
#define INTERP_QUIT 2  /* Smalltalk quit */

/* Runs processes on the owning thread [t] until one of the above. */
int interp_run(struct st_vm *vm, baton_thread *t);

/* Primitive results. */
#define PRIM_FAIL 0   /* run the method body */
#define PRIM_OK 1     /* result in args[0] */
#define PRIM_SWITCH 2 /* result in args[0]; scheduling changed: reschedule */
#define PRIM_OOM 3    /* allocation failed: signal OutOfMemory */
#define PRIM_QUIT 4   /* Smalltalk quit */

/* args[0] is the receiver, args[1..nargs] the arguments (process stack
 * slots: roots, updated by the collector). */
typedef int (*prim_fn)(struct st_vm *vm, oop *args, int nargs);

/*
 * Primitives the interpreter handles itself (they push frames or cut the
 * stack), then the generic ones of vm/prim*.c. The number is the index in
 * this list; <primitive: name> in st/kernel uses the names.
 */
#define PRIM_SPECIAL                                                           \
	PRIM_ENTRY(markHandler) PRIM_ENTRY(markEnsure)                         \
	PRIM_ENTRY(markCurtail) PRIM_ENTRY(blockValue)                         \
	PRIM_ENTRY(blockValueArgs) PRIM_ENTRY(perform)                         \
	PRIM_ENTRY(performArgs) PRIM_ENTRY(returnFrom)                         \
	PRIM_ENTRY(restartFrame) PRIM_ENTRY(methodValueWithReceiver)           \
	PRIM_ENTRY(blockNumArgs)

enum {
	PRIM_NONE_ = 0,
#define PRIM_ENTRY(n) PRIM_##n,
	PRIM_SPECIAL
#undef PRIM_ENTRY
	PRIM_GENERIC /* first generic primitive */
};

struct prim_entry {
	const char *name;
	prim_fn fn;
};
/* vm/prim.c: the generic table, terminated by {NULL, NULL}. */
extern const struct prim_entry prim_table[];
int prim_count(void);

/*
 * Writes the header of a new frame at [fp] (layout in vm/st.h) and nils its
 * [ntemps] temporaries; answers the new sp, the last temporary. [caller] is
 * the caller's fp, or [fp] itself for a process's base frame (distance 0:
 * none); [ip] is where the caller resumes. The caller has made room and sets
 * its own registers. The one writer of frame headers: every send, block
 * activation and process start goes through it, so it is inline.
 */
static inline oop *push_frame(struct st_vm *vm, oop *fp, oop meth, oop recv, oop *caller,
			      uint8_t *ip, oop closure, oop env, intptr_t flags, int ntemps)
{
	oop nil = vm->nil, *sp = fp + FH_SIZE - 1;
	fp[FH_METHOD] = meth;
	fp[FH_RECV] = recv;
	fp[FH_CALLER_FP] = obj_from_int(fp - caller);
	fp[FH_CALLER_IP] = obj_from_int((intptr_t)ip);
	fp[FH_CLOSURE] = closure;
	fp[FH_ENV] = env;
	fp[FH_FLAGS] = obj_from_int(flags);
	for (int i = 0; i < ntemps; i++)
		*++sp = nil;
	return sp;
}

/* Helpers the primitives share (vm/interp.c). */
oop *interp_frame_caller(struct st_proc *p, oop *fp);
void interp_print_trace(struct st_vm *vm, struct st_proc *p, oop *fp);
/* The name of class [cls] ("Foo", "Foo class"), read from the class itself */
void interp_put_name(FILE *f, struct st_vm *vm, oop cls);
int interp_method_line(struct st_vm *vm, oop meth, uint8_t *ip);

#endif /* BATON_VM_INTERP_H */
