// SPDX-License-Identifier: MIT
/*
 * vm/prim.h: declarations of the generic primitives (vm/primlist.h lists
 * them) and helpers shared by vm/prim*.c.
 * See Documentation/vm/interpreter.md.
 */
#ifndef BATON_VM_PRIM_H
#define BATON_VM_PRIM_H

#include "vm/interp.h"

#define PRIM_ENTRY(n) int prim_##n(struct st_vm *vm, oop *args, int nargs);
#include "vm/primlist.h"
#undef PRIM_ENTRY

/* Defines primitive [n]: PRIM(intAdd) { ... }. Every primitive has this signature, and
 * most ignore [nargs] (a method's declaration fixes it), so it is marked unused once here
 * instead of by a "(void)nargs;" in each body. */
#define PRIM(n) int prim_##n(struct st_vm *vm, oop *args, int nargs __attribute__((unused)))

int prim_is_class(struct st_vm *vm, oop o);
int prim_is_bytes(oop o);
/* FloatD, FloatE or FloatQ, and its value (a FloatE's at C float precision) */
int prim_is_float(oop o);
double prim_float_value(oop o);
oop prim_string(struct st_vm *vm, const char *s);
/* vm/prim_float.c: a new FloatD/FloatE/FloatQ holding [d]: of the class of [a] (a float or
 * one of the float classes; anything else: FloatD), or of [b] if it is a more precise float
 * (0: none). A FloatE's value is rounded to C float. */
oop prim_new_float_like(struct st_vm *vm, oop a, oop b, double d);
/* gst -r's form of a float result ("3.10000", "1.00000d+16", "inf") into buf; 0: not a float */
int prim_float_regression_format(oop f, char *buf, size_t cap);

#endif /* BATON_VM_PRIM_H */
