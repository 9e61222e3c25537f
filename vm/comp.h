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

/*
 * Compiles a whole source file. Answers the main program, a CompiledMethod
 * UndefinedObject>>executeStatements, or 0 after a syntax or semantic error
 * (then [err] holds "FILE:LINE:COL: message").
 */
oop comp_file(struct st_vm *vm, const char *file, const char *src, size_t n,
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

#endif /* BATON_VM_COMP_H */
