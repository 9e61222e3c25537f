// SPDX-License-Identifier: MIT
/*
 * vm/filein.h: readers that run a file unit by unit, as GNU Smalltalk does
 * (vm/filein.c). A reader belongs to one VM and is named by a small
 * integer handle (the Smalltalk side holds it).
 */
#ifndef BATON_VM_FILEIN_H
#define BATON_VM_FILEIN_H

#include <stddef.h>

#include "vm/st.h"

enum { FI_END, FI_EVAL, FI_STMT, FI_NONE, FI_ERROR };

int fi_is_unitwise(const char *src, size_t n);
/* A reader of a copy of [src]; -1 when out of memory. */
int fi_open(struct st_vm *vm, const char *file, const char *src, size_t n);
/* The next unit: FI_EVAL / FI_STMT with its doit in [out], FI_NONE (method
 * chunks were installed), FI_ERROR with "FILE:LINE:COL: message" in [err]
 * (the reader has skipped the unit), FI_END. */
int fi_next(struct st_vm *vm, int h, unsigned flags, oop *out, char *err, size_t errlen);
void fi_close(struct st_vm *vm, int h);
void fi_free_all(struct st_vm *vm);

#endif /* BATON_VM_FILEIN_H */
