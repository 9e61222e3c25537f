// SPDX-License-Identifier: MIT
/*
 * vm/prim.c: the primitive table and the object, class, string and system
 * primitives. A primitive checks its arguments and fails (the method body
 * then raises the Smalltalk error) rather than trusting them; it re-reads
 * args[] after any allocation. See Documentation/vm/interpreter.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vm/bigint.h"
#include "vm/comp.h"
#include "vm/interp.h"
#include "vm/io/io.h"
#include "vm/prim.h"
#include "vm/sched.h"

const struct prim_entry prim_table[] = {
#define PRIM_ENTRY(n) {#n, prim_##n},
#include "vm/primlist.h"
#undef PRIM_ENTRY
	{NULL, NULL}};

int prim_count(void) { return (int)(sizeof prim_table / sizeof prim_table[0]) - 1; }

int prim_index(const char *name)
{
	static const char *const special[] = {
#define PRIM_ENTRY(n) #n,
		PRIM_SPECIAL
#undef PRIM_ENTRY
	};
	for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
		if (!strcmp(special[i], name))
			return (int)i + 1;
	for (int i = 0; prim_table[i].name; i++)
		if (!strcmp(prim_table[i].name, name))
			return PRIM_GENERIC + i;
	return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

int prim_is_class(struct st_vm *vm, oop o)
{
	return obj_is_ptr(o) && obj_cls(o) < vm->nclasses && vm->classes[obj_cls(o)] &&
	       (obj_cls(vm->classes[obj_cls(o)]) == CI_METACLASS || obj_cls(o) == CI_METACLASS ||
		o == vm->classes[CI_METACLASS]);
}

int prim_is_bytes(oop o) { return obj_is_ptr(o) && obj_fmt(o) == OBJ_FMT_BYTES; }

static int is_stringish(oop o)
{
	return obj_is_ptr(o) && (obj_cls(o) == CI_STRING || obj_cls(o) == CI_SYMBOL);
}

/* Named instance variables of [o] (from its class). */
static size_t ninst(struct st_vm *vm, oop o) { return (size_t)st_instsize(st_class_of(vm, o)); }

static int to_index(oop i, size_t n, size_t *out)
{
	if (!obj_is_int(i) || obj_int(i) < 1 || (size_t)obj_int(i) > n)
		return 0;
	*out = (size_t)obj_int(i) - 1;
	return 1;
}

oop prim_string(struct st_vm *vm, const char *s) { return st_new_string(vm, s, strlen(s)); }

/* ---- objects ------------------------------------------------------------------- */

static oop instantiate(struct st_vm *vm, oop cls, size_t n)
{
	intptr_t f = obj_int(st_slot(cls, CLS_FORMAT));
	unsigned fmt = (unsigned)(f & 0xff);
	size_t named = (size_t)(f >> 16);
	uint32_t ci = st_class_index(cls);
	if (fmt == OBJ_FMT_BYTES) {
		size_t slots = (n + 7) / 8;
		return st_alloc(vm, ci, fmt, slots, (unsigned)(slots * 8 - n));
	}
	if (fmt == OBJ_FMT_WORDS)
		return st_alloc(vm, ci, fmt, n, 0);
	return st_alloc(vm, ci, fmt, named + n, 0);
}

/* A `Behavior new` that has no superclass yet (vm/prim_objects.c) makes no
 * instances: they would understand nothing, not even the error messages. */
static int is_bare_behavior(struct st_vm *vm, oop cls)
{
	return st_slot(cls, CLS_SUPER) == vm->nil && st_slot(cls, CLS_NAME) == vm->nil &&
	       obj_cls(cls) != CI_METACLASS;
}

PRIM(basicNew)
{
	if (!prim_is_class(vm, args[0]) || is_bare_behavior(vm, args[0]))
		return PRIM_FAIL;
	intptr_t f = obj_int(st_slot(args[0], CLS_FORMAT));
	size_t n = 0;
	if ((f & CLS_FMT_INDEXED) && (f & 0xff) == OBJ_FMT_WORDS &&
	    (st_class_index(args[0]) == CI_FLOAT || st_class_index(args[0]) == CI_FLOATE ||
	     st_class_index(args[0]) == CI_FLOATQ))
		n = 1;
	oop o = instantiate(vm, args[0], n);
	if (!o)
		return PRIM_OOM;
	args[0] = o;
	return PRIM_OK;
}

PRIM(basicNewSize)
{
	if (!prim_is_class(vm, args[0]) || is_bare_behavior(vm, args[0]) || !obj_is_int(args[1]) ||
	    obj_int(args[1]) < 0)
		return PRIM_FAIL;
	intptr_t f = obj_int(st_slot(args[0], CLS_FORMAT));
	if (!(f & CLS_FMT_INDEXED))
		return PRIM_FAIL;
	if (obj_int(args[1]) > ((intptr_t)1 << 32))
		return PRIM_OOM;
	oop o = instantiate(vm, args[0], (size_t)obj_int(args[1]));
	if (!o)
		return PRIM_OOM;
	args[0] = o;
	return PRIM_OK;
}

/* String/ByteArray class basicNewForFill: n: as basicNew: for sizes under
 * 64 KiB; above, an old object whose bytes are NOT zeroed (memory of a dead
 * large object, reused): for a caller that fills all of it before anyone
 * sees it, such as a stream reading n bytes straight into its answer. */
PRIM(bytesNewForFill)
{
	oop c = args[0];
	if (!obj_is_int(args[1]) || obj_int(args[1]) < 0 || obj_int(args[1]) > ((intptr_t)1 << 32))
		return PRIM_FAIL;
	if (c != vm->classes[CI_STRING] && c != vm->classes[CI_BYTEARRAY])
		return PRIM_FAIL;
	size_t n = (size_t)obj_int(args[1]), slots = (n + 7) / 8;
	uint32_t ci = c == vm->classes[CI_STRING] ? CI_STRING : CI_BYTEARRAY;
	oop o = n < ((size_t)64 << 10)
			? st_new_bytes(vm, ci, n)
			: st_alloc_old(vm, ci, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - n),
				       GC_ALLOC_UNINIT);
	if (!o)
		return PRIM_OOM;
	args[0] = o;
	return PRIM_OK;
}

static size_t indexed_size(struct st_vm *vm, oop o)
{
	if (obj_is_int(o))
		return 0;
	switch (obj_fmt(o)) {
	case OBJ_FMT_BYTES: return obj_byte_size(o);
	case OBJ_FMT_WORDS: return obj_slots(o);
	case OBJ_FMT_IPTRS: return obj_slots(o) - ninst(vm, o);
	default: return 0;
	}
}

PRIM(basicSize)
{
	args[0] = obj_from_int((intptr_t)indexed_size(vm, args[0]));
	return PRIM_OK;
}

PRIM(basicAt)
{
	oop o = args[0];
	size_t i;
	if (obj_is_int(o) || !to_index(args[1], indexed_size(vm, o), &i))
		return PRIM_FAIL;
	switch (obj_fmt(o)) {
	case OBJ_FMT_BYTES:
		if (is_stringish(o))
			args[0] = vm->chars[obj_bytes(o)[i]];
		else
			args[0] = obj_from_int(obj_bytes(o)[i]);
		return PRIM_OK;
	case OBJ_FMT_WORDS: {
		int64_t v = (int64_t)obj_body(o)[i];
		oop r = obj_int_fits(v) ? obj_from_int(v) : big_from_int64(vm, v, 0);
		if (!r)
			return PRIM_OOM;
		args[0] = r;
		return PRIM_OK;
	}
	case OBJ_FMT_IPTRS:
		args[0] = obj_body(o)[ninst(vm, o) + i];
		return PRIM_OK;
	}
	return PRIM_FAIL;
}

PRIM(basicAtPut)
{
	oop o = args[0], v = args[2];
	size_t i;
	if (obj_is_int(o) || !to_index(args[1], indexed_size(vm, o), &i))
		return PRIM_FAIL;
	if (obj_cls(o) == CI_SYMBOL)
		return PRIM_FAIL; /* symbols are immutable */
	switch (obj_fmt(o)) {
	case OBJ_FMT_BYTES:
		if (is_stringish(o)) {
			if (!obj_is_ptr(v) || obj_cls(v) != CI_CHARACTER)
				return PRIM_FAIL;
			intptr_t c = obj_int(obj_body(v)[CHAR_VALUE]);
			if (c < 0 || c > 255)
				return PRIM_FAIL;
			obj_bytes(o)[i] = (uint8_t)c;
		} else {
			if (!obj_is_int(v) || obj_int(v) < 0 || obj_int(v) > 255)
				return PRIM_FAIL;
			obj_bytes(o)[i] = (uint8_t)obj_int(v);
		}
		break;
	case OBJ_FMT_WORDS: {
		int64_t w;
		if (!big_is_int(v) || !big_to_int64(v, &w))
			return PRIM_FAIL;
		/* a gst shape of narrower elements (#int, #uint...: vm/comp.c) */
		static const int64_t lo[] = {0, INT32_MIN, 0, INT16_MIN, 0, INT8_MIN};
		static const int64_t hi[] = {0, INT32_MAX, UINT32_MAX, INT16_MAX, UINT16_MAX, INT8_MAX};
		intptr_t kind = (obj_int(st_slot(vm->classes[obj_cls(o)], CLS_FORMAT)) &
				 CLS_FMT_KIND_MASK) >> CLS_FMT_KIND_SHIFT;
		if (kind > 0 && kind <= CLS_KIND_INT8 && (w < lo[kind] || w > hi[kind]))
			return PRIM_FAIL;
		obj_body(o)[i] = (oop)w;
		break;
	}
	case OBJ_FMT_IPTRS:
		st_put(vm, o, ninst(vm, o) + i, v);
		break;
	default:
		return PRIM_FAIL;
	}
	args[0] = v;
	return PRIM_OK;
}

PRIM(instVarAt)
{
	oop o = args[0];
	size_t i;
	if (obj_is_int(o) || !obj_has_ptrs(o) || !to_index(args[1], ninst(vm, o), &i))
		return PRIM_FAIL;
	args[0] = obj_body(o)[i];
	return PRIM_OK;
}

PRIM(instVarAtPut)
{
	oop o = args[0];
	size_t i;
	if (obj_is_int(o) || !obj_has_ptrs(o) || !to_index(args[1], ninst(vm, o), &i))
		return PRIM_FAIL;
	st_put(vm, o, i, args[2]);
	args[0] = args[2];
	return PRIM_OK;
}

PRIM(identityHash)
{
	args[0] = obj_from_int(st_hash(vm, args[0]));
	return PRIM_OK;
}

PRIM(shallowCopy)
{
	oop o = args[0];
	if (obj_is_int(o) || o == vm->nil || o == vm->true_ || o == vm->false_ ||
	    obj_cls(o) == CI_SYMBOL || obj_cls(o) == CI_CHARACTER)
		return PRIM_OK;
	oop c = st_alloc(vm, obj_cls(o), obj_fmt(o), obj_slots(o), obj_hdr(o)->odd);
	if (!c)
		return PRIM_OOM;
	o = args[0];
	memcpy(obj_body(c), obj_body(o), obj_slots(o) * 8);
	gc_wb_bulk(&vm->gc, c);
	args[0] = c;
	return PRIM_OK;
}

PRIM(identical)
{
	args[0] = st_bool(vm, args[0] == args[1]);
	return PRIM_OK;
}

PRIM(classOf)
{
	args[0] = st_class_of(vm, args[0]);
	return PRIM_OK;
}

/* replaceFrom: start to: stop with: src startingAt: srcStart */
PRIM(replaceFrom)
{
	oop d = args[0], s = args[3];
	if (obj_is_int(d) || obj_is_int(s) || !obj_is_int(args[1]) || !obj_is_int(args[2]) ||
	    !obj_is_int(args[4]))
		return PRIM_FAIL;
	intptr_t a = obj_int(args[1]), b = obj_int(args[2]), r = obj_int(args[4]);
	intptr_t n = b - a + 1;
	if (n == 0) 
		return PRIM_OK;
	size_t dn = indexed_size(vm, d), sn = indexed_size(vm, s);
	if (n < 0 || a < 1 || r < 1 || (size_t)(a + n - 1) > dn || (size_t)(r + n - 1) > sn)
		return PRIM_FAIL;
	if (obj_cls(d) == CI_SYMBOL)
		return PRIM_FAIL;
	unsigned fd = obj_fmt(d), fs = obj_fmt(s);
	if (fd == OBJ_FMT_BYTES && fs == OBJ_FMT_BYTES) {
		memmove(obj_bytes(d) + a - 1, obj_bytes(s) + r - 1, (size_t)n);
	} else if (fd == OBJ_FMT_IPTRS && fs == OBJ_FMT_IPTRS) {
		memmove(obj_body(d) + ninst(vm, d) + a - 1, obj_body(s) + ninst(vm, s) + r - 1,
			(size_t)n * 8);
		gc_wb_bulk(&vm->gc, d);
	} else if (fd == OBJ_FMT_WORDS && fs == OBJ_FMT_WORDS) {
		memmove(obj_body(d) + a - 1, obj_body(s) + r - 1, (size_t)n * 8);
	} else {
		return PRIM_FAIL;
	}
	return PRIM_OK;
}

PRIM(respondsTo)
{
	if (!obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	args[0] = st_bool(vm, st_lookup(vm, st_class_of(vm, args[0]), args[1]) != 0);
	return PRIM_OK;
}

PRIM(instSize)
{
	if (!prim_is_class(vm, args[0]))
		return PRIM_FAIL;
	args[0] = obj_from_int(st_instsize(args[0]));
	return PRIM_OK;
}

PRIM(pin)
{
	if (obj_is_int(args[0]))
		return PRIM_FAIL;
	if (!gc_pin(&vm->gc, &args[0]))
		return PRIM_OOM;
	return PRIM_OK;
}

PRIM(unpin)
{
	if (obj_is_int(args[0]))
		return PRIM_FAIL;
	gc_unpin(&vm->gc, args[0]);
	return PRIM_OK;
}

PRIM(isPinned)
{
	args[0] = st_bool(vm, obj_is_ptr(args[0]) && gc_is_pinned(args[0]));
	return PRIM_OK;
}

PRIM(becomeForward)
{
	(void)vm;
	(void)args;
	return PRIM_FAIL;
}

/* Behavior>>primSubclass: #Name instanceVariableNames: 'a b' classVariableNames: 'C' */
PRIM(makeClass)
{
	if (!prim_is_class(vm, args[0]) || !obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL ||
	    !is_stringish(args[2]) || !is_stringish(args[3]))
		return PRIM_FAIL;
	char *name = st_cstring(args[1]), *iv = st_cstring(args[2]), *cv = st_cstring(args[3]);
	size_t n = strlen(name) + strlen(iv) + strlen(cv) + 200;
	char *src = malloc(n);
	oop super_name = st_slot(args[0], CLS_NAME);
	char *sn = st_cstring(super_name);
	int k = snprintf(src, n, "%s subclass: %s [ | %s | ", sn, name, iv);
	/* class variables, each initialised to nil */
	char *save = NULL;
	for (char *tok = strtok_r(cv, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		k += snprintf(src + k, n - (size_t)k, "%s := nil. ", tok);
	snprintf(src + k, n - (size_t)k, "]");
	char err[300];
	oop m = comp_file(vm, "(subclass:)", src, strlen(src), COMP_IMMEDIATE, err, sizeof err);
	oop cls = m ? st_global(vm, name) : 0;
	free(name);
	free(iv);
	free(cv);
	free(sn);
	free(src);
	if (!cls)
		return PRIM_FAIL;
	args[0] = cls;
	return PRIM_OK;
}

/* ---- classes --------------------------------------------------------------- */

PRIM(className)
{
	if (!prim_is_class(vm, args[0]) || obj_cls(args[0]) == CI_METACLASS)
		return PRIM_FAIL;
	args[0] = st_slot(args[0], CLS_NAME);
	return PRIM_OK;
}

PRIM(selectors)
{
	if (!prim_is_class(vm, args[0]))
		return PRIM_FAIL;
	oop d = st_slot(args[0], CLS_MDICT);
	size_t n = (size_t)obj_int(obj_body(d)[0]);
	oop a = st_new_array(vm, n);
	if (!a)
		return PRIM_OOM;
	d = st_slot(args[0], CLS_MDICT);
	size_t cap = (obj_slots(d) - 1) / 2, k = 0;
	for (size_t i = 0; i < cap && k < n; i++) {
		oop key = obj_body(d)[1 + 2 * i];
		if (key != vm->nil)
			obj_body(a)[k++] = key;
	}
	args[0] = a;
	return PRIM_OK;
}

PRIM(includesSelector)
{
	if (!prim_is_class(vm, args[0]) || !obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	oop d = st_slot(args[0], CLS_MDICT);
	size_t cap = (obj_slots(d) - 1) / 2;
	int found = 0;
	for (size_t i = 0; i < cap; i++)
		if (obj_body(d)[1 + 2 * i] == args[1])
			found = 1;
	args[0] = st_bool(vm, found);
	return PRIM_OK;
}

PRIM(lookupSelector)
{
	if (!prim_is_class(vm, args[0]) || !obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	oop m = st_lookup(vm, args[0], args[1]);
	args[0] = m ? m : vm->nil;
	return PRIM_OK;
}

/* Behavior>>compile: 'source' — answers the selector, or nil after
 * printing the error. */
PRIM(compileMethod)
{
	if (!prim_is_class(vm, args[0]) || !is_stringish(args[1]))
		return PRIM_FAIL;
	char *src = st_cstring(args[1]);
	char err[300];
	oop m = comp_method(vm, args[0], "(compile:)", src, strlen(src), err, sizeof err);
	free(src);
	if (!m) {
		st_err(vm, "%s\n", err);
		args[0] = vm->nil;
		return PRIM_OK;
	}
	ST_ROOT(vm, m);
	oop sel = st_slot(m, CM_SELECTOR);
	st_install(vm, args[0], sel, m);
	ST_UNROOT(vm, 1);
	args[0] = sel;
	return PRIM_OK;
}

PRIM(classFormat)
{
	if (!prim_is_class(vm, args[0]))
		return PRIM_FAIL;
	args[0] = st_slot(args[0], CLS_FORMAT);
	return PRIM_OK;
}

PRIM(instVarNames)
{
	if (!prim_is_class(vm, args[0]))
		return PRIM_FAIL;
	args[0] = st_slot(args[0], CLS_IVARS);
	return PRIM_OK;
}

PRIM(classVarAt)
{
	if (!prim_is_class(vm, args[0]))
		return PRIM_FAIL;
	oop pool = st_slot(args[0], CLS_POOL);
	if (pool == vm->nil)
		return PRIM_FAIL;
	for (size_t i = 0; i < obj_slots(pool); i++) {
		oop a = obj_body(pool)[i];
		oop k = st_slot(a, ASSOC_KEY);
		if (k == args[1] || (is_stringish(args[1]) && obj_byte_size(k) == obj_byte_size(args[1]) &&
				     !memcmp(obj_bytes(k), obj_bytes(args[1]), obj_byte_size(k)))) {
			args[0] = a;
			return PRIM_OK;
		}
	}
	return PRIM_FAIL;
}

/* ---- strings and symbols -------------------------------------------------------- */

PRIM(stringEq)
{
	oop a = args[0], b = args[1];
	if (!is_stringish(a) || !is_stringish(b)) {
		args[0] = vm->false_;
		return PRIM_OK;
	}
	args[0] = st_bool(vm, obj_byte_size(a) == obj_byte_size(b) &&
				      !memcmp(obj_bytes(a), obj_bytes(b), obj_byte_size(a)));
	return PRIM_OK;
}

PRIM(stringCompare)
{
	(void)vm;
	oop a = args[0], b = args[1];
	if (!prim_is_bytes(a) || !prim_is_bytes(b))
		return PRIM_FAIL;
	size_t na = obj_byte_size(a), nb = obj_byte_size(b);
	int c = memcmp(obj_bytes(a), obj_bytes(b), na < nb ? na : nb);
	if (!c)
		c = na < nb ? -1 : na > nb;
	args[0] = obj_from_int(c < 0 ? -1 : c > 0);
	return PRIM_OK;
}

PRIM(stringHash)
{
	(void)vm;
	oop a = args[0];
	if (!prim_is_bytes(a))
		return PRIM_FAIL;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < obj_byte_size(a); i++)
		h = (h ^ obj_bytes(a)[i]) * 16777619u;
	args[0] = obj_from_int(h & 0x3fffffff);
	return PRIM_OK;
}

PRIM(asSymbol)
{
	if (!prim_is_bytes(args[0]))
		return PRIM_FAIL;
	if (obj_cls(args[0]) == CI_SYMBOL)
		return PRIM_OK;
	char *s = st_cstring(args[0]);
	oop y = st_symbol(vm, s, obj_byte_size(args[0]));
	free(s);
	if (!y)
		return PRIM_OOM;
	args[0] = y;
	return PRIM_OK;
}

PRIM(symbolAsString)
{
	if (!prim_is_bytes(args[0]))
		return PRIM_FAIL;
	size_t n = obj_byte_size(args[0]);
	oop s = st_new_bytes(vm, CI_STRING, n);
	if (!s)
		return PRIM_OOM;
	memcpy(obj_bytes(s), obj_bytes(args[0]), n);
	args[0] = s;
	return PRIM_OK;
}

/* indexOf: aCharacter startingAt: i (0 when absent) */
PRIM(stringIndexOf)
{
	(void)vm;
	oop s = args[0], c = args[1];
	if (!prim_is_bytes(s) || !obj_is_int(args[2]))
		return PRIM_FAIL;
	intptr_t v;
	if (obj_is_ptr(c) && obj_cls(c) == CI_CHARACTER)
		v = obj_int(obj_body(c)[CHAR_VALUE]);
	else if (obj_is_int(c))
		v = obj_int(c);
	else {
		args[0] = obj_from_int(0);
		return PRIM_OK;
	}
	size_t n = obj_byte_size(s);
	intptr_t i = obj_int(args[2]) - 1;
	/* memchr: the scan of every nextLine (st/kernel/82-FileDescriptor.st) */
	const uint8_t *hit = v >= 0 && v <= 255 && i >= 0 && (size_t)i < n
				     ? memchr(obj_bytes(s) + i, (int)v, n - (size_t)i)
				     : NULL;
	args[0] = obj_from_int(hit ? hit - obj_bytes(s) + 1 : 0);
	return PRIM_OK;
}

/* aString (or ByteArray) lineFrom: start to: lf binary: aBoolean: a new
 * String (ByteArray) of the bytes start..lf-1 without one CR at their end:
 * the line a stream's nextLine answers, in one step instead of a CR test,
 * an allocation and a copy in Smalltalk (st/kernel/82-FileDescriptor.st). */
PRIM(bytesLine)
{
	oop s = args[0];
	if (!prim_is_bytes(s) || !obj_is_int(args[1]) || !obj_is_int(args[2]) ||
	    (args[3] != vm->true_ && args[3] != vm->false_))
		return PRIM_FAIL;
	intptr_t a = obj_int(args[1]), lf = obj_int(args[2]);
	if (a < 1 || lf < a || (size_t)lf > obj_byte_size(s) + 1)
		return PRIM_FAIL;
	size_t n = (size_t)(lf - a);
	if (n && obj_bytes(s)[a - 1 + (intptr_t)n - 1] == '\r')
		n--;
	oop r = st_new_bytes(vm, args[3] == vm->true_ ? CI_BYTEARRAY : CI_STRING, n);
	if (!r)
		return PRIM_OOM;
	memcpy(obj_bytes(r), obj_bytes(args[0]) + a - 1, n); /* args[0]: may have moved */
	args[0] = r;
	return PRIM_OK;
}

/* String>>asNumber: integer (any size, radix), float, or nil */
PRIM(stringAsNumber)
{
	if (!prim_is_bytes(args[0]))
		return PRIM_FAIL;
	char *s = st_cstring(args[0]), *p = s;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	int neg = 0;
	if (*p == '-') {
		neg = 1;
		p++;
	}
	char *d = p;
	while (*p >= '0' && *p <= '9')
		p++;
	oop r = vm->nil;
	if (p > d) {
		char *e = p;
		while (*e == ' ' || *e == '\t' || *e == '\n')
			e++;
		if (!*e) {
			r = big_from_digits(vm, d, (size_t)(p - d), 10, neg);
			r = r ? r : vm->nil;
			if (r != vm->nil && obj_is_ptr(r)) {
				/* literal makers answer old objects; fine for a result */
			}
		} else if (*p == '.' || *p == 'e') {
			char *end;
			double v = strtod(d, &end);
			while (*end == ' ' || *end == '\t' || *end == '\n')
				end++;
			if (!*end) {
				r = st_new_float(vm, neg ? -v : v);
				if (!r) {
					free(s);
					return PRIM_OOM;
				}
			}
		}
	}
	free(s);
	args[0] = r;
	return PRIM_OK;
}

PRIM(symbolNumArgs)
{
	(void)vm;
	oop s = args[0];
	if (!prim_is_bytes(s))
		return PRIM_FAIL;
	size_t n = obj_byte_size(s);
	uint8_t *b = obj_bytes(s);
	int k = 0;
	if (n && !((b[0] >= 'a' && b[0] <= 'z') || (b[0] >= 'A' && b[0] <= 'Z') || b[0] == '_'))
		k = 1;
	else
		for (size_t i = 0; i < n; i++)
			k += b[i] == ':';
	args[0] = obj_from_int(k);
	return PRIM_OK;
}

/* String class>>fromByteArray: / ByteArray>>asString and back */
PRIM(stringFromBytes)
{
	/* args[0]: target class, args[1]: a byte object */
	if (!prim_is_class(vm, args[0]) || !prim_is_bytes(args[1]))
		return PRIM_FAIL;
	intptr_t f = obj_int(st_slot(args[0], CLS_FORMAT));
	if ((f & 0xff) != OBJ_FMT_BYTES)
		return PRIM_FAIL;
	size_t n = obj_byte_size(args[1]);
	oop o = st_new_bytes(vm, st_class_index(args[0]), n);
	if (!o)
		return PRIM_OOM;
	memcpy(obj_bytes(o), obj_bytes(args[1]), n);
	args[0] = o;
	return PRIM_OK;
}

/* ---- characters ---------------------------------------------------------------- */

PRIM(charValue)
{
	(void)vm;
	if (!obj_is_ptr(args[0]) || obj_cls(args[0]) != CI_CHARACTER)
		return PRIM_FAIL;
	args[0] = obj_body(args[0])[CHAR_VALUE];
	return PRIM_OK;
}

PRIM(charFromValue)
{
	oop v = args[1];
	if (!obj_is_int(v) || obj_int(v) < 0 || obj_int(v) > 0x10ffff)
		return PRIM_FAIL;
	oop c = st_char(vm, (uint32_t)obj_int(v));
	if (!c)
		return PRIM_OOM;
	args[0] = c;
	return PRIM_OK;
}

/* ---- system -------------------------------------------------------------------- */

PRIM(outString)
{
	oop s = args[1];
	if (!prim_is_bytes(s))
		return PRIM_FAIL;
	st_out(vm, (const char *)obj_bytes(s), obj_byte_size(s));
	return PRIM_OK;
}

PRIM(errString)
{
	oop s = args[1];
	if (!prim_is_bytes(s))
		return PRIM_FAIL;
	st_out_flush(vm);
	fwrite(obj_bytes(s), 1, obj_byte_size(s), stderr);
	fflush(stderr);
	return PRIM_OK;
}

/* Transcript flush: through the ring when a process asks (vm/io/stdout.c) */
PRIM(flushOut) { return vio_out_flush(vm, args); }

PRIM(quit)
{
	int code = 0;
	if (nargs == 1) {
		if (!obj_is_int(args[1]))
			return PRIM_FAIL;
		code = (int)obj_int(args[1]);
	}
	vm->quit = 1;
	vm->quit_code = code;
	return PRIM_QUIT;
}

PRIM(globalAt)
{
	if (!obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	oop a = st_global_binding(vm, args[1], 0);
	if (!a)
		return PRIM_FAIL;
	args[0] = st_slot(a, ASSOC_VALUE);
	return PRIM_OK;
}

PRIM(globalAtPut)
{
	if (!obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	oop a = st_global_binding(vm, args[1], 1);
	if (!a)
		return PRIM_OOM;
	st_put(vm, a, ASSOC_VALUE, args[2]);
	args[0] = args[2];
	return PRIM_OK;
}

PRIM(globalIncludes)
{
	if (!obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	oop a = st_global_binding(vm, args[1], 0);
	/* declared-but-unassigned names (forward references) do not count */
	args[0] = st_bool(vm, a && st_slot(a, ASSOC_VALUE) != vm->nil);
	return PRIM_OK;
}

PRIM(globalBindingOf)
{
	if (!obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_SYMBOL)
		return PRIM_FAIL;
	oop a = st_global_binding(vm, args[1], 0);
	args[0] = a ? a : vm->nil;
	return PRIM_OK;
}

PRIM(garbageCollect)
{
	(void)args;
	gc_full(&vm->gc);
	return PRIM_OK;
}

/* Smalltalk traceFlush: writes the --trace file now (true), false when
 * not tracing or the file could not be written. */
PRIM(traceFlush)
{
	args[0] = vm->tracing && baton_trace_flush(vm->core) == 0 ? vm->true_ : vm->false_;
	return PRIM_OK;
}

PRIM(scavenge)
{
	(void)args;
	gc_scavenge(&vm->gc);
	return PRIM_OK;
}

/* Smalltalk vmStats: an Array of name/value pairs (see the kernel). */
PRIM(vmStats)
{
	struct gc_stats g;
	gc_get_stats(&vm->gc, &g);
	struct baton_stats b;
	memset(&b, 0, sizeof b);
	if (vm->core)
		baton_get_stats(vm->core, &b);
	struct {
		const char *k;
		int64_t v;
	} kv[] = {
		{"scavenges", (int64_t)g.scavenges},
		{"fullGCs", (int64_t)g.full_gcs},
		{"allocatedBytes", (int64_t)g.allocated_bytes},
		{"tenuredBytes", (int64_t)g.tenured_bytes},
		{"scavengeMaxUs", (int64_t)(g.scavenge_max_ns / 1000)},
		{"scavengeP99Us", (int64_t)(g.scavenge_p99_ns / 1000)},
		{"scavengeP99Ns", (int64_t)g.scavenge_p99_ns},
		{"scavengeTotalUs", (int64_t)(g.scavenge_ns / 1000)},
		{"fullGCTotalUs", (int64_t)(g.full_ns / 1000)},
		{"oldBytes", (int64_t)g.old_bytes},
		{"heapBytes", (int64_t)g.heap_bytes},
		{"pins", (int64_t)g.pins},
		{"finalized", (int64_t)g.finalized},
		{"finalizationRegistered", (int64_t)gc_final_registered(&vm->gc)},
		{"finalizationReady", (int64_t)gc_final_ready(&vm->gc)},
		{"processSwitches", (int64_t)vm->switches},
		{"bytecodes", (int64_t)vm->bytecodes},
		{"processesCreated", (int64_t)vm->processes_created},
		{"processesLive", (int64_t)vm->nlive},
		{"disowns", (int64_t)b.disowns},
		{"ownsFast", (int64_t)b.owns_fast},
		{"ownsSlow", (int64_t)b.owns_slow},
		{"handoffs", (int64_t)b.handoffs},
		{"blockedCallouts", (int64_t)b.blocked},
		{"blockingCallouts", (int64_t)b.blocking_hints},
		{"activations", (int64_t)b.activations},
		{"threadCreations", (int64_t)b.creations},
		{"attaches", (int64_t)b.attaches},
		{"preemptions", (int64_t)b.preemptions},
		{"idles", (int64_t)b.idles},
		{"wakes", (int64_t)b.wakes},
		{"beats", (int64_t)b.beats},
		{"threads", (int64_t)b.threads},
		{"threadsPeak", (int64_t)b.threads_peak},
	};
	size_t n = sizeof kv / sizeof kv[0];
	oop a = st_new_array(vm, 2 * n);
	if (!a)
		return PRIM_OOM;
	ST_ROOT(vm, a);
	for (size_t i = 0; i < n; i++) {
		oop k = st_symbol_c(vm, kv[i].k);
		st_put(vm, a, 2 * i, k);
		oop v = obj_int_fits(kv[i].v) ? obj_from_int(kv[i].v) : big_from_int64(vm, kv[i].v, 0);
		if (v)
			st_put(vm, a, 2 * i + 1, v);
	}
	ST_UNROOT(vm, 1);
	args[0] = a;
	return PRIM_OK;
}

PRIM(arguments)
{
	oop a = st_new_array(vm, (size_t)vm->nargs);
	if (!a)
		return PRIM_OOM;
	ST_ROOT(vm, a);
	for (int i = 0; i < vm->nargs; i++) {
		oop s = prim_string(vm, vm->args[i]);
		if (s)
			st_put(vm, a, (size_t)i, s);
	}
	ST_UNROOT(vm, 1);
	args[0] = a;
	return PRIM_OK;
}

/*
 * Smalltalk blockingSleep: ms. A callout exactly as the FFI will make
 * them: registers are saved (the interpreter did), the VM is disowned for
 * the sleep and owned again; if the heartbeat saw it blocked, another
 * thread ran other processes meanwhile and restore() reinstalled ours.
 */
PRIM(blockingSleep)
{
	if (!obj_is_int(args[1]) || obj_int(args[1]) < 0)
		return PRIM_FAIL;
	intptr_t ms = obj_int(args[1]);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	if (!vm->core || !vm->cur_thread || !vm->active) {
		while (nanosleep(&ts, &ts) < 0)
			;
		return PRIM_OK;
	}
	struct sched_callout c;
	sched_callout_begin(vm, &c, 0, "nanosleep");
	while (nanosleep(&ts, &ts) < 0)
		;
	sched_callout_end(vm, &c);
	return PRIM_OK;
}

PRIM(nanoClock)
{
	uint64_t ns = baton_now_ns() - vm->start_ns;
	args[0] = obj_from_int((intptr_t)ns);
	return PRIM_OK;
}

PRIM(milliClock)
{
	args[0] = obj_from_int((intptr_t)((baton_now_ns() - vm->start_ns) / 1000000));
	return PRIM_OK;
}

/* CLOCK_MONOTONIC itself, not since this VM's start: one clock for every VM
 * of the process and every process of the machine (hydra.spawn_ms). */
PRIM(monoClock)
{
	(void)vm;
	args[0] = obj_from_int((intptr_t)baton_now_ns());
	return PRIM_OK;
}

PRIM(wallClock)
{
	(void)vm;
	args[0] = obj_from_int((intptr_t)time(NULL));
	return PRIM_OK;
}

PRIM(getenv)
{
	if (!prim_is_bytes(args[1]))
		return PRIM_FAIL;
	char *k = st_cstring(args[1]);
	const char *v = getenv(k);
	free(k);
	if (!v) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	oop s = prim_string(vm, v);
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}

/* stdin nextLine: a String without the newline, or nil at the end. */
PRIM(readLine)
{
	char *line = NULL;
	size_t cap = 0;
	st_out_flush(vm);
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		args[0] = vm->nil;
		return PRIM_OK;
	}
	if (n > 0 && line[n - 1] == '\n')
		n--;
	oop s = st_new_string(vm, line, (size_t)n);
	free(line);
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}
