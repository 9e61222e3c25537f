// SPDX-License-Identifier: MIT
/*
 * vm/prim_bytes.c: byte-string primitives for protocol parsing (the HTTP
 * package, st/packages/HTTP): a copy of a range lowercased (ASCII), and a
 * copy of a range without the spaces and tabs at its ends. Each replaces a
 * loop of sends per byte with one allocation and one pass in C. They fail
 * (the Smalltalk fallback raises the error) on a receiver that is not a
 * String or ByteArray or on a range outside it.
 */
#include <string.h>

#include "vm/prim.h"

/* receiver, start, stop: 0 and the bounds in [a, n] when the range is good
 * (stop = start - 1 is the empty range) */
static int range(oop *args, size_t *a, size_t *n)
{
	if (!prim_is_bytes(args[0]) || !obj_is_int(args[1]) || !obj_is_int(args[2]))
		return -1;
	intptr_t s = obj_int(args[1]), e = obj_int(args[2]);
	if (s < 1 || e < s - 1 || (size_t)e > obj_byte_size(args[0]))
		return -1;
	*a = (size_t)s - 1;
	*n = (size_t)(e - s + 1);
	return 0;
}

/* aString asciiLowercaseFrom: start to: stop: a new String of those bytes,
 * A-Z made a-z */
PRIM(bytesLowerCopy)
{
	size_t a, n;
	if (range(args, &a, &n) < 0)
		return PRIM_FAIL;
	oop r = st_new_bytes(vm, CI_STRING, n);
	if (!r)
		return PRIM_OOM;
	const uint8_t *s = obj_bytes(args[0]) + a; /* args[0]: may have moved */
	uint8_t *d = obj_bytes(r);
	for (size_t i = 0; i < n; i++)
		d[i] = s[i] >= 'A' && s[i] <= 'Z' ? (uint8_t)(s[i] + 32) : s[i];
	args[0] = r;
	return PRIM_OK;
}

/* aString trimmedFrom: start to: stop: a new String of those bytes without
 * the spaces and tabs at either end */
PRIM(bytesTrimCopy)
{
	size_t a, n;
	if (range(args, &a, &n) < 0)
		return PRIM_FAIL;
	const uint8_t *s = obj_bytes(args[0]);
	while (n && (s[a] == ' ' || s[a] == '\t'))
		a++, n--;
	while (n && (s[a + n - 1] == ' ' || s[a + n - 1] == '\t'))
		n--;
	oop r = st_new_bytes(vm, CI_STRING, n);
	if (!r)
		return PRIM_OOM;
	memcpy(obj_bytes(r), obj_bytes(args[0]) + a, n);
	args[0] = r;
	return PRIM_OK;
}
