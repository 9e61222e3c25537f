// SPDX-License-Identifier: MIT
/*
 * vm/prim_str.c: String primitives of GNU Smalltalk's protocol: String's
 * case-insensitive comparison (gst's < > <= >=), and Object>>changeClassTo:
 * (strings.st turns a ByteArray into a UnicodeString with it). It owns the
 * rule of which class changes are safe: the two classes must lay out their
 * instances alike (the same format word: kind of slots, indexed or not, named
 * variables), and neither may be a class the VM knows the insides of, but
 * String, ByteArray and Array. Anything else fails, and the Smalltalk side
 * raises the error. See Documentation/language.md (Strings).
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

/* aString caseInsensitiveCompareTo: other: -1, 0 or 1, ASCII letters folded
 * to lowercase; a shorter string that is a prefix sorts first */
PRIM(stringCompareNoCase)
{
	(void)vm;
	oop a = args[0], b = args[1];
	if (!prim_is_bytes(a) || !prim_is_bytes(b))
		return PRIM_FAIL;
	size_t na = obj_byte_size(a), nb = obj_byte_size(b), n = na < nb ? na : nb;
	const uint8_t *p = obj_bytes(a), *q = obj_bytes(b);
	int c = 0;
	for (size_t i = 0; i < n && !c; i++) {
		int x = p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i];
		int y = q[i] >= 'A' && q[i] <= 'Z' ? q[i] + 32 : q[i];
		c = x - y;
	}
	if (!c)
		c = na < nb ? -1 : na > nb;
	args[0] = obj_from_int(c < 0 ? -1 : c > 0);
	return PRIM_OK;
}
