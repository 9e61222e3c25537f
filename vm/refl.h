// SPDX-License-Identifier: MIT
/*
 * vm/refl.h: reshaping a live class (vm/prim_refl.c), for the primitive
 * Behavior>>primReshape:superclass: and for the compiler, when a class
 * body or an extend adds instance variables to a class that exists.
 */
#ifndef BATON_VM_REFL_H
#define BATON_VM_REFL_H

#include "vm/interp.h"
#include "vm/st.h"

/*
 * [cls]'s own instance variables become [names] (an Array of Strings) and
 * its superclass [super] (nil: unchanged). The instances of [cls] and of
 * its subclasses are migrated, the instance-variable operands of their
 * methods renumbered. Answers PRIM_OK, PRIM_FAIL (refused: see the
 * definition) or PRIM_OOM.
 */
int refl_reshape(struct st_vm *vm, oop cls, oop names, oop super);

#endif /* BATON_VM_REFL_H */
