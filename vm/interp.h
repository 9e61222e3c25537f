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
#define PRIM_SPECIAL(P)                                                        \
	P(markHandler) P(markEnsure) P(markCurtail) P(blockValue)              \
	P(blockValueArgs) P(perform) P(performArgs) P(returnFrom)              \
	P(restartFrame) P(methodValueWithReceiver) P(blockNumArgs)

enum {
	PRIM_NONE_ = 0,
#define P(n) PRIM_##n,
	PRIM_SPECIAL(P)
#undef P
	PRIM_GENERIC /* first generic primitive */
};

struct prim_entry {
	const char *name;
	prim_fn fn;
};
/* vm/prim.c: the generic table, terminated by {NULL, NULL}. */
extern const struct prim_entry prim_table[];
int prim_count(void);

/* Helpers the primitives share (vm/interp.c). */
oop *interp_frame_caller(struct st_proc *p, oop *fp);
void interp_print_trace(struct st_vm *vm, struct st_proc *p, oop *fp);
/* The name of class [cls] ("Foo", "Foo class"), read from the class itself */
void interp_put_name(FILE *f, struct st_vm *vm, oop cls);
int interp_method_line(struct st_vm *vm, oop meth, uint8_t *ip);

#endif /* BATON_VM_INTERP_H */
