// SPDX-License-Identifier: MIT
/*
 * vm/prim_coll.c: primitives of GNU Smalltalk's collection classes
 * (st/kernel/45-GstColl.st): making an object weak (Array>>makeWeak,
 * WeakArray), answering whether it is. The collector does the work
 * (gc_make_weak, Documentation/vm/gc.md "Weak objects").
 */
#include "vm/prim.h"

/* anArray makeWeak: fails on an object without pointer slots */
PRIM(objMakeWeak)
{
	if (obj_is_int(args[0]) || gc_make_weak(&vm->gc, args[0]) < 0)
		return PRIM_FAIL;
	return PRIM_OK;
}

PRIM(objIsWeak)
{
	args[0] = st_bool(vm, gc_is_weak(args[0]));
	return PRIM_OK;
}
