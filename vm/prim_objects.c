// SPDX-License-Identifier: MIT
/*
 * vm/prim_objects.c: GNU Smalltalk's lightweight classes (st/kernel/58-GstBehavior.st):
 * `Behavior new` makes a nameless class with no superclass (a real class of
 * the class table, with its metaclass), which gets one with #superclass:;
 * and #become: between two such classes, which keeps the class table
 * consistent (instances follow the identity: an instance of the class a
 * variable named before the swap is one of the class it names now).
 * See Documentation/language.md ("GNU Smalltalk compatibility").
 */
#include "vm/prim.h"

/* Behavior class>>primNewBehavior: a nameless class, no superclass, no
 * instance variables. */
PRIM(objectsNewBehavior)
{
	oop c = st_new_class(vm, vm->nil, vm->nil, OBJ_FMT_PTRS, 0, 0, 0);
	if (!c)
		return PRIM_OOM;
	args[0] = c;
	return PRIM_OK;
}

static int swappable(struct st_vm *vm, oop c)
{
	return prim_is_class(vm, c) && obj_cls(c) != CI_METACLASS && st_class_index(c) >= CI_FIXED &&
	       vm->classes[st_class_index(c)] == c;
}

/*
 * Behavior>>become: other, both classes the program made (not kernel ones,
 * not metaclasses). Every reference to one refers to the other, the class
 * table's slots included, so the instances of each are now instances of the
 * other; then each class takes the index of the slot it now fills, each
 * metaclass points back at its own class again, and the metaclass of every
 * class whose superclass was one of them follows it.
 */
PRIM(objectsBecomeClass)
{
	if (!swappable(vm, args[0]) || !swappable(vm, args[1]))
		return PRIM_FAIL;
	if (args[0] == args[1])
		return PRIM_OK;
	oop x = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, 0, 0, 0);
	if (!x)
		return PRIM_OOM;
	oop a = args[0], b = args[1];
	intptr_t ia = obj_int(st_slot(a, CLS_INDEX)), ib = obj_int(st_slot(b, CLS_INDEX));
	gc_become_forward(&vm->gc, a, x);
	gc_become_forward(&vm->gc, b, a);
	gc_become_forward(&vm->gc, x, b);
	/* vm->classes[ia] is b now, vm->classes[ib] a */
	obj_body(a)[CLS_INDEX] = obj_from_int(ib);
	obj_body(b)[CLS_INDEX] = obj_from_int(ia);
	st_put(vm, vm->classes[obj_cls(a)], CLS_THIS, a);
	st_put(vm, vm->classes[obj_cls(b)], CLS_THIS, b);
	for (uint32_t i = CI_FIXED; i < vm->nclasses; i++) {
		oop c = vm->classes[i];
		if (!c || c == vm->nil || !prim_is_class(vm, c) || obj_cls(c) == CI_METACLASS)
			continue;
		oop s = st_slot(c, CLS_SUPER);
		if (s == a || s == b)
			st_put(vm, vm->classes[obj_cls(c)], CLS_SUPER, vm->classes[obj_cls(s)]);
	}
	st_flush_cache(vm);
	return PRIM_OK; /* answers the receiver, which is now the other */
}
