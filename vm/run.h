// SPDX-License-Identifier: MIT
/*
 * vm/run.h: running a program on a VM, for the baton executable (vm/main.c)
 * and for the heads of Hydra (vm/hydra/head.c): reading and compiling the
 * program, running it as the main process, its exit status, the end.
 */
#ifndef BATON_VM_RUN_H
#define BATON_VM_RUN_H

#include <stdio.h>

#include "vm/st.h"

/* Reads all of [f]; NULL: out of memory. */
char *st_read_all(FILE *f, size_t *n);
/* Compiles the program file [name] ("-": standard input). Answers the doit,
 * or 0 with the exit status in *[status] (EX_NOINPUT, EX_DATAERR,
 * EX_SOFTWARE) after the message on stderr (after [prefix]). */
oop st_compile_program(struct st_vm *vm, const char *name, const char *prefix, int *status);
/* Runs [doit] as the main program and everything it starts, until nothing
 * can run again (or Smalltalk quit:). */
void st_run_main(struct st_vm *vm, oop doit);
/* The exit status of a finished run: quit: n, 1 after an unhandled error
 * in the main program, else 0 (and a note of processes left waiting). */
int st_run_status(struct st_vm *vm, const char *prefix);
/* Writes what stdout holds, frees the VM unless a thread may still be in it
 * (a callout, a callback); answers the status to exit with. */
int st_finish(struct st_vm *vm, int code);

#endif /* BATON_VM_RUN_H */
