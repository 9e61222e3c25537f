// SPDX-License-Identifier: MIT
/*
 * vm/prim_str.c: Object>>changeClassTo: (GNU Smalltalk's; strings.st turns a
 * ByteArray into a UnicodeString with it). It owns the rule of which class
 * changes are safe: the two classes must lay out their instances alike (the
 * same format word: kind of slots, indexed or not, named variables), and
 * neither may be a class the VM knows the insides of, but String, ByteArray
 * and Array. Anything else fails, and the Smalltalk side raises the error.
 * See Documentation/language.md (String).
 */
#include "vm/prim.h"

static int plain_class(uint32_t ci)
{
	return ci >= CI_FIXED || ci == CI_STRING || ci == CI_BYTEARRAY || ci == CI_ARRAY;
}

/* anObject changeClassTo: aClass: answers anObject, now an instance of aClass */
PRIM(changeClass)
{
	oop o = args[0], cls = args[1];
	if (!obj_is_ptr(o) || !prim_is_class(vm, cls) || prim_is_class(vm, o))
		return PRIM_FAIL;
	uint32_t from = obj_cls(o), to = st_class_index(cls);
	if (!plain_class(from) || !plain_class(to) || from >= vm->nclasses || to >= vm->nclasses)
		return PRIM_FAIL;
	oop fc = vm->classes[from];
	if (!fc || st_slot(fc, CLS_FORMAT) != st_slot(cls, CLS_FORMAT))
		return PRIM_FAIL;
	obj_hdr(o)->cls = to;
	return PRIM_OK;
}
