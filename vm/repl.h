// SPDX-License-Identifier: MIT
/*
 * vm/repl.h: the read-eval-print loop (vm/repl.c) and its rule for when
 * typed lines make a whole statement.
 */
#ifndef BATON_VM_REPL_H
#define BATON_VM_REPL_H

#include <stddef.h>

#include "vm/st.h"

/* Where a statement being typed stands. Zero-initialised: nothing typed. */
struct stmt_scan {
	int depth;  /* ( [ { opened minus closed */
	char quote; /* 0; '\'' inside a string or quoted symbol; '"' inside a comment */
};

void stmt_scan_line(struct stmt_scan *sc, const char *s, size_t n);
/* True when what was scanned is a whole statement: no bracket, string or
 * comment is left open. */
int stmt_complete(const struct stmt_scan *sc);

/* Reads statements from the terminal with line editing and history
 * (~/.baton_history, or $BATON_HISTORY; empty: none) and runs each with
 * [run], until Ctrl-D or Smalltalk quit. A statement continues over lines
 * while a bracket, string or comment is open. */
void repl_run(struct st_vm *vm, void (*run)(struct st_vm *vm, oop doit));

#endif /* BATON_VM_REPL_H */
