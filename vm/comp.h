// SPDX-License-Identifier: MIT
/*
 * vm/comp.h: the compiler: syntax trees to CompiledMethods, class
 * declarations to declaration records the main program installs in order.
 * See Documentation/vm/compiler.md.
 */
#ifndef BATON_VM_COMP_H
#define BATON_VM_COMP_H

#include <stddef.h>
#include <stdio.h>

#include "vm/st.h"

#define COMP_IMMEDIATE 0x1 /* install class declarations while compiling */
#define COMP_REPL 0x2      /* undeclared variables become globals */
#define COMP_VALUE 0x4     /* the doit answers its last statement's value */
#define COMP_UNIT 0x8      /* a unit of a file run unit by unit (CMH_UNIT) */

/*
 * Compiles a whole source file. Answers the main program, a CompiledMethod
 * UndefinedObject>>executeStatements, or 0 after a syntax or semantic error
 * (then [err] holds "FILE:LINE:COL: message").
 */
oop comp_file(struct st_vm *vm, const char *file, const char *src, size_t n,
	      unsigned flags, char *err, size_t errlen);

/* Compiles one top-level item of [lx]'s file (parse_item) into a doit that
 * runs it (an Eval answers its value); class definitions are installed
 * now. 0 with [err] set on a compile error. */
struct item;
struct lexer;
struct arena;
oop comp_item(struct st_vm *vm, struct lexer *lx, struct arena *a, struct item *it,
	      unsigned flags, char *err, size_t errlen);

/* Compiles one method definition ("sel args [ body ]" is not needed: the
 * source is "pattern body" as in Behavior>>compile:) for [cls]. */
oop comp_method(struct st_vm *vm, oop cls, const char *file, const char *src,
		size_t n, char *err, size_t errlen);

/* Lists the bytecodes of [m] on [out] (BATON_DISASM=1 does it for every
 * method compiled from a file other than the kernel). */
void comp_disasm(struct st_vm *vm, oop m, FILE *out);

/* The number of a named primitive ("intAdd"), or 0 (vm/prim.c). */
int prim_index(const char *name);

/* As comp_method, for source that starts on [line] of [file]. */
oop comp_method_at(struct st_vm *vm, oop cls, const char *file, const char *src, size_t n,
		   int line, char *err, size_t errlen);

#endif /* BATON_VM_COMP_H */
