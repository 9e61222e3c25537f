// SPDX-License-Identifier: MIT
/*
 * vm/boot.c: the object model's C side: allocation helpers, symbols,
 * globals, classes and method dictionaries, and the bootstrap that builds
 * the kernel classes before the st/kernel sources are compiled into them.
 * Owns the class table, symbol table and global table (all roots).
 * See Documentation/vm/objects.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/comp.h"
#include "vm/filein.h"
#include "vm/ffi/ffi.h"
#include "vm/grow.h"
#include "vm/hydra/hydra.h"
#include "vm/io/io.h"
#include "vm/st.h"

/* ---- allocation ------------------------------------------------------------ */

void st_roots_overflow(void)
{
	fputs("baton: C root stack overflow (nesting too deep)\n", stderr);
	abort();
}

oop st_alloc(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots, unsigned odd)
{
	return gc_alloc(&vm->gc, cls, fmt, slots, odd);
}

oop st_alloc_old(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots, unsigned odd,
		 unsigned flags)
{
	return gc_alloc_old(&vm->gc, cls, fmt, slots, odd, flags);
}

oop st_new_array(struct st_vm *vm, size_t n)
{
	return st_alloc(vm, CI_ARRAY, OBJ_FMT_IPTRS, n, 0);
}

oop st_new_bytes(struct st_vm *vm, uint32_t cls, size_t n)
{
	size_t slots = (n + 7) / 8;
	return st_alloc(vm, cls, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - n));
}

oop st_new_string(struct st_vm *vm, const char *s, size_t n)
{
	oop o = st_new_bytes(vm, CI_STRING, n);
	if (o && n)
		memcpy(obj_bytes(o), s, n);
	return o;
}

oop st_new_float(struct st_vm *vm, double d)
{
	oop o = st_alloc(vm, CI_FLOAT, OBJ_FMT_WORDS, 1, 0);
	if (o)
		memcpy(obj_body(o), &d, 8);
	return o;
}

oop st_new_assoc(struct st_vm *vm, oop k, oop v)
{
	ST_ROOT(vm, k);
	ST_ROOT(vm, v);
	oop a = st_alloc(vm, CI_ASSOCIATION, OBJ_FMT_PTRS, ASSOC_SIZE, 0);
	if (a) {
		st_put(vm, a, ASSOC_KEY, k);
		st_put(vm, a, ASSOC_VALUE, v);
	}
	ST_UNROOT(vm, 2);
	return a;
}

/* Identity hash: assigned on first request, never 0. */
uint32_t st_hash(struct st_vm *vm, oop o)
{
	if (obj_is_int(o))
		return (uint32_t)obj_int(o);
	struct obj_header *h = obj_hdr(o);
	if (!h->hash) {
		uint32_t x = vm->hash_seed;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		vm->hash_seed = x;
		h->hash = (x & 0x3fffffff) | 1;
	}
	return h->hash;
}

int st_string_eq(oop s, const char *c)
{
	size_t n = strlen(c);
	return obj_is_ptr(s) && obj_fmt(s) == OBJ_FMT_BYTES && obj_byte_size(s) == n &&
	       !memcmp(obj_bytes(s), c, n);
}

char *st_cstring(oop s)
{
	size_t n = obj_byte_size(s);
	char *c = malloc(n + 1);
	if (c) {
		memcpy(c, obj_bytes(s), n);
		c[n] = 0;
	}
	return c;
}

oop st_char(struct st_vm *vm, uint32_t cp)
{
	if (cp < 256 && vm->chars[cp])
		return vm->chars[cp];
	oop c = st_alloc(vm, CI_CHARACTER, OBJ_FMT_PTRS, CHAR_SIZE, 0);
	if (c)
		obj_body(c)[CHAR_VALUE] = obj_from_int(cp);
	return c;
}

/* ---- symbols -------------------------------------------------------------- */

static uint32_t str_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return (h & 0x3fffffff) | 1;
}

static int sym_grow(struct st_vm *vm)
{
	size_t ncap = grow_cap(vm->symcap, vm->symcap + 1, sizeof(oop), 4096);
	oop *nt = ncap ? calloc(ncap, sizeof(oop)) : NULL;
	if (!nt)
		return 0;
	for (size_t i = 0; i < vm->symcap; i++) {
		oop s = vm->symtab[i];
		if (!s)
			continue;
		size_t j = obj_hdr(s)->hash & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = s;
	}
	free(vm->symtab);
	vm->symtab = nt;
	vm->symcap = ncap;
	return 1;
}

oop st_lookup_symbol(struct st_vm *vm, const char *s, size_t n)
{
	if (!vm->symcap)
		return 0;
	uint32_t h = str_hash(s, n);
	for (size_t j = h & (vm->symcap - 1);; j = (j + 1) & (vm->symcap - 1)) {
		oop y = vm->symtab[j];
		if (!y)
			return 0;
		if (obj_hdr(y)->hash == h && obj_byte_size(y) == n && !memcmp(obj_bytes(y), s, n))
			return y;
	}
}

/* Symbols are old and pinned: C code may keep them across allocations
 * as long as something refers to them (the symbol table always does). */
oop st_symbol(struct st_vm *vm, const char *s, size_t n)
{
	oop y = st_lookup_symbol(vm, s, n);
	if (y)
		return y;
	if ((vm->symcount + 1) * 2 > vm->symcap && !sym_grow(vm))
		return 0;
	size_t slots = (n + 7) / 8;
	y = st_alloc_old(vm, CI_SYMBOL, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - n), OBJ_F_PINNED);
	if (!y)
		return 0;
	memcpy(obj_bytes(y), s, n);
	uint32_t h = str_hash(s, n);
	obj_hdr(y)->hash = h;
	size_t j = h & (vm->symcap - 1);
	while (vm->symtab[j])
		j = (j + 1) & (vm->symcap - 1);
	vm->symtab[j] = y;
	vm->symcount++;
	return y;
}

oop st_symbol_c(struct st_vm *vm, const char *s) { return st_symbol(vm, s, strlen(s)); }

/* ---- globals ---------------------------------------------------------------- */

static int glob_grow(struct st_vm *vm)
{
	size_t ncap = grow_cap(vm->globcap, vm->globcap + 1, sizeof(oop), 512);
	oop *nt = ncap ? calloc(ncap, sizeof(oop)) : NULL;
	if (!nt)
		return 0;
	for (size_t i = 0; i < vm->globcap; i++) {
		oop a = vm->globals[i];
		if (!a)
			continue;
		size_t j = obj_hdr(st_slot(a, ASSOC_KEY))->hash & (ncap - 1);
		while (nt[j])
			j = (j + 1) & (ncap - 1);
		nt[j] = a;
	}
	free(vm->globals);
	vm->globals = nt;
	vm->globcap = ncap;
	return 1;
}

/* The Association of global [sym]; created (value nil) when [create]. */
oop st_global_binding(struct st_vm *vm, oop sym, int create)
{
	if (vm->globcap) {
		for (size_t j = obj_hdr(sym)->hash & (vm->globcap - 1);;
		     j = (j + 1) & (vm->globcap - 1)) {
			oop a = vm->globals[j];
			if (!a)
				break;
			if (st_slot(a, ASSOC_KEY) == sym)
				return a;
		}
	}
	if (!create)
		return 0;
	if ((vm->globcount + 1) * 2 > vm->globcap && !glob_grow(vm))
		return 0;
	ST_ROOT(vm, sym);
	oop a = st_alloc_old(vm, CI_ASSOCIATION, OBJ_FMT_PTRS, ASSOC_SIZE, 0, 0);
	ST_UNROOT(vm, 1);
	if (!a)
		return 0;
	st_put(vm, a, ASSOC_KEY, sym);
	size_t j = obj_hdr(sym)->hash & (vm->globcap - 1);
	while (vm->globals[j])
		j = (j + 1) & (vm->globcap - 1);
	vm->globals[j] = a;
	vm->globcount++;
	return a;
}

oop st_global(struct st_vm *vm, const char *name)
{
	oop s = st_lookup_symbol(vm, name, strlen(name));
	oop a = s ? st_global_binding(vm, s, 0) : 0;
	return a ? st_slot(a, ASSOC_VALUE) : vm->nil;
}

void st_set_global(struct st_vm *vm, oop sym, oop val)
{
	ST_ROOT(vm, val);
	oop a = st_global_binding(vm, sym, 1);
	ST_UNROOT(vm, 1);
	if (a)
		st_put(vm, a, ASSOC_VALUE, val);
}

/* ---- classes ------------------------------------------------------------------- */

int st_instsize(oop cls) { return (int)(obj_int(st_slot(cls, CLS_FORMAT)) >> 16); }
uint32_t st_class_index(oop cls) { return (uint32_t)obj_int(st_slot(cls, CLS_INDEX)); }

static uint32_t new_index(struct st_vm *vm)
{
	if (vm->nclasses >= vm->classcap) {
		uint32_t old = vm->classcap;
		if (!GROW(vm->classes, vm->classcap, (size_t)vm->nclasses + 1, 1024))
			return 0;
		memset(vm->classes + old, 0, sizeof(oop) * (vm->classcap - old));
	}
	return vm->nclasses++;
}

static oop new_mdict(struct st_vm *vm, size_t cap)
{
	oop d = st_alloc_old(vm, CI_METHODDICT, OBJ_FMT_IPTRS, 1 + 2 * cap, 0, 0);
	if (d)
		obj_body(d)[0] = obj_from_int(0);
	return d;
}

/*
 * A class and its metaclass. [want_index] is the fixed index of a kernel
 * class, or 0 for the next free one. Both are old and pinned, and live in
 * the class table from now on.
 */
oop st_new_class(struct st_vm *vm, oop super, oop name, unsigned fmt, int indexed, int ninst,
		 uint32_t want_index)
{
	ST_ROOT(vm, super);
	ST_ROOT(vm, name);
	oop meta = 0, cls = 0, md = 0;
	ST_ROOT(vm, meta);
	ST_ROOT(vm, cls);
	ST_ROOT(vm, md);
	uint32_t mi = new_index(vm), ci = want_index ? want_index : new_index(vm);
	int msize = CLS_FIXED;
	oop msuper = vm->nil;
	if (super != vm->nil) {
		msuper = vm->classes[obj_cls(super)];
		msize = st_instsize(msuper);
	} else if (vm->classes[CI_CLASS]) {
		msuper = vm->classes[CI_CLASS];
	}
	meta = st_alloc_old(vm, CI_METACLASS, OBJ_FMT_PTRS, CLS_FIXED, 0, OBJ_F_PINNED);
	if (!meta)
		goto fail;
	vm->classes[mi] = meta;
	cls = st_alloc_old(vm, mi, OBJ_FMT_PTRS, (size_t)msize, 0, OBJ_F_PINNED);
	if (!cls)
		goto fail;
	vm->classes[ci] = cls;
	md = new_mdict(vm, 8);
	if (!md)
		goto fail;
	st_put(vm, meta, CLS_MDICT, md);
	md = new_mdict(vm, 8);
	if (!md)
		goto fail;
	st_put(vm, cls, CLS_MDICT, md);
	st_put(vm, meta, CLS_SUPER, msuper);
	obj_body(meta)[CLS_FORMAT] = obj_from_int(OBJ_FMT_PTRS | (intptr_t)msize << 16);
	obj_body(meta)[CLS_INDEX] = obj_from_int(mi);
	st_put(vm, meta, CLS_THIS, cls);
	st_put(vm, cls, CLS_SUPER, super);
	st_put(vm, cls, CLS_NAME, name);
	obj_body(cls)[CLS_FORMAT] =
		obj_from_int((intptr_t)fmt | (indexed ? CLS_FMT_INDEXED : 0) | (intptr_t)ninst << 16);
	obj_body(cls)[CLS_INDEX] = obj_from_int(ci);
	oop r = cls;
	ST_UNROOT(vm, 5);
	return r;
fail:
	ST_UNROOT(vm, 5);
	return 0;
}

/*
 * A class object grows when class-side instance variables are added: it is
 * reallocated, and every reference to the old object, wherever it is (class
 * table, metaclass, globals, methods, subclasses, declaration records, stacks,
 * variables), is redirected to the new one. New slots are nil. Answers the
 * new class, or 0 when out of memory.
 */
oop st_resize_class(struct st_vm *vm, oop cls)
{
	oop meta = vm->classes[obj_cls(cls)];
	size_t want = (size_t)st_instsize(meta);
	if (obj_slots(cls) >= want)
		return cls;
	ST_ROOT(vm, cls);
	oop nc = st_alloc_old(vm, obj_cls(cls), OBJ_FMT_PTRS, want, 0, OBJ_F_PINNED);
	ST_UNROOT(vm, 1);
	if (!nc)
		return 0;
	for (size_t i = 0; i < obj_slots(cls); i++)
		st_put(vm, nc, i, obj_body(cls)[i]);
	gc_become_forward(&vm->gc, cls, nc);
	st_flush_cache(vm);
	return nc;
}

oop st_class_named(struct st_vm *vm, const char *name) { return st_global(vm, name); }

int st_is_kind_of(struct st_vm *vm, oop o, uint32_t ci)
{
	oop target = vm->classes[ci];
	for (oop c = st_class_of(vm, o); c != vm->nil; c = st_slot(c, CLS_SUPER))
		if (c == target)
			return 1;
	return 0;
}

/* ---- method dictionaries ---------------------------------------------------------- */

static oop mdict_at(oop d, oop sel)
{
	size_t cap = (obj_slots(d) - 1) / 2;
	size_t i = obj_hdr(sel)->hash & (cap - 1);
	for (;;) {
		oop k = obj_body(d)[1 + 2 * i];
		if (k == sel)
			return obj_body(d)[2 + 2 * i];
		if (obj_is_int(k) || !k)
			return 0;
		/* nil marks an empty slot */
		if (obj_cls(k) != CI_SYMBOL)
			return 0;
		i = (i + 1) & (cap - 1);
	}
}

oop st_lookup(struct st_vm *vm, oop cls, oop sel)
{
	for (; cls != vm->nil; cls = st_slot(cls, CLS_SUPER)) {
		oop m = mdict_at(st_slot(cls, CLS_MDICT), sel);
		if (m)
			return m;
	}
	return 0;
}

static void mdict_put(struct st_vm *vm, oop d, oop sel, oop m)
{
	size_t cap = (obj_slots(d) - 1) / 2;
	size_t i = obj_hdr(sel)->hash & (cap - 1);
	for (;;) {
		oop k = obj_body(d)[1 + 2 * i];
		if (k == sel) {
			st_put(vm, d, 2 + 2 * i, m);
			return;
		}
		if (k == vm->nil) {
			st_put(vm, d, 1 + 2 * i, sel);
			st_put(vm, d, 2 + 2 * i, m);
			obj_body(d)[0] = obj_from_int(obj_int(obj_body(d)[0]) + 1);
			return;
		}
		i = (i + 1) & (cap - 1);
	}
}

void st_flush_cache(struct st_vm *vm) { memset(vm->mcache, 0, sizeof vm->mcache); }

void st_install(struct st_vm *vm, oop cls, oop sel, oop meth)
{
	ST_ROOT(vm, cls);
	ST_ROOT(vm, sel);
	ST_ROOT(vm, meth);
	oop d = st_slot(cls, CLS_MDICT);
	size_t cap = (obj_slots(d) - 1) / 2, tally = (size_t)obj_int(obj_body(d)[0]);
	if ((tally + 1) * 4 > cap * 3) {
		oop nd = new_mdict(vm, cap * 2);
		if (nd) {
			d = st_slot(cls, CLS_MDICT);
			for (size_t i = 0; i < cap; i++) {
				oop k = obj_body(d)[1 + 2 * i];
				if (k != vm->nil)
					mdict_put(vm, nd, k, obj_body(d)[2 + 2 * i]);
			}
			st_put(vm, cls, CLS_MDICT, nd);
		}
	}
	mdict_put(vm, st_slot(cls, CLS_MDICT), sel, meth);
	ST_UNROOT(vm, 3);
	st_flush_cache(vm);
}

/*
 * A declaration record (Array), made by the compiler (comp_file): [binding
 * or nil, class, target, sel, meth, target, sel, meth, ...]. Installing it
 * binds the class name and installs the methods. The runtime does it: the
 * DECL bytecode when the main program reaches the class definition, or
 * the compiler at once (COMP_IMMEDIATE).
 */
void st_install_decl(struct st_vm *vm, oop rec)
{
	ST_ROOT(vm, rec); /* st_install allocates */
	oop b = obj_body(rec)[0];
	if (b != vm->nil)
		st_put(vm, b, ASSOC_VALUE, obj_body(rec)[1]);
	for (size_t i = 2; i + 2 < obj_slots(rec); i += 3)
		st_install(vm, obj_body(rec)[i], obj_body(rec)[i + 1], obj_body(rec)[i + 2]);
	ST_UNROOT(vm, 1);
}

/* ---- bootstrap ----------------------------------------------------------------- */

struct kclass {
	uint32_t ci, super;
	unsigned fmt;
	int indexed;
	const char *ivars;
};

static const struct kclass kclasses[] = {
	{CI_OBJECT, 0, OBJ_FMT_PTRS, 0, ""},
	{CI_BEHAVIOR, CI_OBJECT, OBJ_FMT_PTRS, 0,
	 "superclass methodDictionary format classIndex name instanceVariableNames "
	 "classVariables thisClass"},
	{CI_CLASS, CI_BEHAVIOR, OBJ_FMT_PTRS, 0, ""},
	{CI_METACLASS, CI_BEHAVIOR, OBJ_FMT_PTRS, 0, ""},
	{CI_MAGNITUDE, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_NUMBER, CI_MAGNITUDE, OBJ_FMT_PTRS, 0, ""},
	{CI_INTEGER, CI_NUMBER, OBJ_FMT_PTRS, 0, ""},
	{CI_SMALLINT, CI_INTEGER, OBJ_FMT_PTRS, 0, ""},
	{CI_LARGEPOS, CI_INTEGER, OBJ_FMT_BYTES, 1, ""},
	{CI_LARGENEG, CI_LARGEPOS, OBJ_FMT_BYTES, 1, ""},
	{CI_FLOATBASE, CI_NUMBER, OBJ_FMT_WORDS, 1, ""},
	{CI_FLOAT, CI_FLOATBASE, OBJ_FMT_WORDS, 1, ""},
	{CI_FLOATE, CI_FLOATBASE, OBJ_FMT_WORDS, 1, ""},
	{CI_FLOATQ, CI_FLOATBASE, OBJ_FMT_WORDS, 1, ""},
	{CI_FRACTION, CI_NUMBER, OBJ_FMT_PTRS, 0, "numerator denominator"},
	{CI_CHARACTER, CI_MAGNITUDE, OBJ_FMT_PTRS, 0, "value"},
	{CI_COLLECTION, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_SEQCOLL, CI_COLLECTION, OBJ_FMT_PTRS, 0, ""},
	{CI_ARRAYED, CI_SEQCOLL, OBJ_FMT_PTRS, 0, ""},
	{CI_ARRAY, CI_ARRAYED, OBJ_FMT_IPTRS, 1, ""},
	{CI_BYTEARRAY, CI_ARRAYED, OBJ_FMT_BYTES, 1, ""},
	{CI_STRING, CI_ARRAYED, OBJ_FMT_BYTES, 1, ""},
	{CI_SYMBOL, CI_STRING, OBJ_FMT_BYTES, 1, ""},
	{CI_UNDEFINED, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_BOOLEAN, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_TRUE, CI_BOOLEAN, OBJ_FMT_PTRS, 0, ""},
	{CI_FALSE, CI_BOOLEAN, OBJ_FMT_PTRS, 0, ""},
	{CI_ASSOCIATION, CI_MAGNITUDE, OBJ_FMT_PTRS, 0, "key value"},
	{CI_METHOD, CI_OBJECT, OBJ_FMT_PTRS, 0,
	 "bytecodes literals selector methodClass header outerMethod sourceFile lineTable"},
	{CI_BLOCK, CI_OBJECT, OBJ_FMT_PTRS, 0, "method receiver outerContext"},
	{CI_METHODDICT, CI_OBJECT, OBJ_FMT_IPTRS, 1, "tally"},
	{CI_PROCESS, CI_OBJECT, OBJ_FMT_PTRS, 0, "handle priority name reportGuard exitSemaphore evalBase"},
	{CI_SEMAPHORE, CI_OBJECT, OBJ_FMT_PTRS, 0, "excessSignals firstWaiter lastWaiter"},
	{CI_MESSAGE, CI_OBJECT, OBJ_FMT_PTRS, 0, "selector arguments startingClass"},
	{CI_SCHEDULER, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_SYSDICT, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_TRANSCRIPT, CI_OBJECT, OBJ_FMT_PTRS, 0, ""},
	{CI_EXTADDR, CI_OBJECT, OBJ_FMT_WORDS, 1, ""},
	{CI_CONTEXT, CI_OBJECT, OBJ_FMT_PTRS, 0, "process frame serial method receiver"},
	{CI_METHODCTX, CI_CONTEXT, OBJ_FMT_PTRS, 0, ""},
	{CI_BLOCKCTX, CI_CONTEXT, OBJ_FMT_PTRS, 0, ""},
};

static const char *class_names[] = {
	NULL,
#define X(n, s) s,
	ST_CLASSES(X)
#undef X
};

static int count_words(const char *s)
{
	int n = 0, in = 0;
	for (; *s; s++) {
		if (*s != ' ' && !in)
			n++;
		in = *s != ' ';
	}
	return n;
}

static oop names_array(struct st_vm *vm, const char *s)
{
	int n = count_words(s);
	oop a = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, (size_t)n, 0, 0);
	if (!a)
		return 0;
	ST_ROOT(vm, a);
	int k = 0;
	while (*s) {
		while (*s == ' ')
			s++;
		const char *e = s;
		while (*e && *e != ' ')
			e++;
		if (e > s) {
			oop str = st_new_string(vm, s, (size_t)(e - s));
			st_put(vm, a, (size_t)k++, str);
		}
		s = e;
	}
	ST_UNROOT(vm, 1);
	return a;
}

#include "kernel.inc" /* $(B)/gen/, made by tools/embed-kernel */

static int boot_classes(struct st_vm *vm)
{
	vm->classcap = 1024;
	vm->classes = calloc(vm->classcap, sizeof(oop));
	if (!vm->classes)
		return 0;
	vm->nclasses = CI_FIXED;
	/* nil, true, false first: everything else is filled with nil */
	vm->nil = st_alloc_old(vm, CI_UNDEFINED, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	if (!vm->nil)
		return 0;
	vm->gc.fill = vm->nil;
	vm->true_ = st_alloc_old(vm, CI_TRUE, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	vm->false_ = st_alloc_old(vm, CI_FALSE, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	if (!vm->true_ || !vm->false_)
		return 0;
	for (size_t i = 0; i < sizeof kclasses / sizeof kclasses[0]; i++) {
		const struct kclass *k = &kclasses[i];
		oop super = k->super ? vm->classes[k->super] : vm->nil;
		int ninst = (k->super ? st_instsize(super) : 0) + count_words(k->ivars);
		oop name = st_symbol_c(vm, class_names[k->ci]);
		oop c = st_new_class(vm, super, name, k->fmt, k->indexed, ninst, k->ci);
		if (!c)
			return 0;
		oop iv = names_array(vm, k->ivars);
		if (!iv)
			return 0;
		st_put(vm, vm->classes[k->ci], CLS_IVARS, iv);
		st_set_global(vm, name, vm->classes[k->ci]);
	}
	/* Object class superclass is Class (made before Class existed). */
	st_put(vm, vm->classes[obj_cls(vm->classes[CI_OBJECT])], CLS_SUPER, vm->classes[CI_CLASS]);
	/* Metaclasses made before Metaclass existed have the right index
	 * already (CI_METACLASS is fixed). */
	for (int i = 0; i < 256; i++) {
		oop ch = st_alloc_old(vm, CI_CHARACTER, OBJ_FMT_PTRS, CHAR_SIZE, 0, OBJ_F_PINNED);
		if (!ch)
			return 0;
		obj_body(ch)[CHAR_VALUE] = obj_from_int(i);
		vm->chars[i] = ch;
	}
	vm->smalltalk = st_alloc_old(vm, CI_SYSDICT, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	vm->processor = st_alloc_old(vm, CI_SCHEDULER, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	vm->transcript = st_alloc_old(vm, CI_TRANSCRIPT, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	if (!vm->smalltalk || !vm->processor || !vm->transcript)
		return 0;
	st_set_global(vm, st_symbol_c(vm, "Smalltalk"), vm->smalltalk);
	st_set_global(vm, st_symbol_c(vm, "Processor"), vm->processor);
	st_set_global(vm, st_symbol_c(vm, "Transcript"), vm->transcript);
	static const char *ss[] = {
#define X(n, s, a) s,
		ST_SPECIAL_SELECTORS(X)
#undef X
	};
	for (int i = 0; i < SS_COUNT; i++)
		vm->special_sels[i] = st_symbol_c(vm, ss[i]);
	static const char *sy[] = {
#define X(n, s) s,
		ST_SYMBOLS(X)
#undef X
	};
	for (int i = 0; i < SY_COUNT; i++)
		vm->syms[i] = st_symbol_c(vm, sy[i]);
	return 1;
}

struct st_vm *st_new(void)
{
	struct st_vm *vm = calloc(1, sizeof *vm);
	if (!vm)
		return NULL;
	vm->hash_seed = 2463534242u;
	vm->outcap = 1 << 16;
	vm->out = malloc(vm->outcap);
	return vm;
}

/*
 * The globals stdin, stdout, stderr: StdStreams (st/kernel/84-StdStreams.st)
 * on descriptors 0, 1, 2. Kernel statements do not run, so they are made
 * here: the first instance variable is the descriptor, the rest start nil
 * and the stream sets itself up on first use.
 */
static int boot_std_streams(struct st_vm *vm)
{
	static const char *const name[] = {"stdin", "stdout", "stderr"};
	oop cls = st_global(vm, "StdStream");
	if (cls == vm->nil)
		return 1;
	for (int i = 0; i < 3; i++) {
		oop o = st_alloc_old(vm, st_class_index(cls), OBJ_FMT_PTRS,
				     (size_t)st_instsize(cls), 0, 0);
		if (!o)
			return 0;
		obj_body(o)[0] = obj_from_int(i);
		st_set_global(vm, st_symbol_c(vm, name[i]), o);
	}
	return 1;
}

int st_boot(struct st_vm *vm)
{
	if (!boot_classes(vm))
		return 0;
	char err[512];
	size_t nk = sizeof kernel_files / sizeof kernel_files[0];
	for (size_t i = 0; i + 1 < nk; i++) {
		oop m = comp_file(vm, kernel_files[i].name, kernel_files[i].src,
				  strlen(kernel_files[i].src), COMP_IMMEDIATE, err, sizeof err);
		if (!m) {
			fprintf(stderr, "baton: kernel: %s\n", err);
			return 0;
		}
	}
	/* the trace printer's Exception, fixed now: the program may rebind the global */
	oop exc = st_global(vm, "Exception");
	if (exc != vm->nil)
		vm->exc_index = st_class_index(exc);
	/* GNU Smalltalk's namespaced names for the exceptions */
	static const char *const alias[][2] = {
		{"SystemExceptions.NotFound", "NotFound"},
		{"SystemExceptions.IndexOutOfRange", "SubscriptOutOfBounds"},
		{"IndexOutOfRange", "SubscriptOutOfBounds"},
		{"SystemExceptions.InvalidValue", "InvalidValue"},
		{"SystemExceptions.InvalidArgument", "InvalidArgument"},
		{"SystemExceptions.WrongClass", "WrongClass"},
		{"SystemExceptions.EmptyCollection", "EmptyCollection"},
		{"SystemExceptions.NotYetImplemented", "NotYetImplemented"},
		{"SystemExceptions.ZeroDivide", "ZeroDivide"},
		{"SystemExceptions.UnhandledError", "Error"},
	};
	for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
		st_set_global(vm, st_symbol_c(vm, alias[i][0]), st_global(vm, alias[i][1]));
	return boot_std_streams(vm);
}

void st_free(struct st_vm *vm)
{
	fi_free_all(vm);
	cf_free(vm);
	rx_free(vm);
	vio_free(vm);
	hy_free_vm(vm);
	free(vm->thr);
	free(vm->symtab);
	free(vm->globals);
	free(vm->classes);
	for (int i = 1; i < vm->nprocs; i++) {
		if (vm->procs[i]) {
			free(vm->procs[i]->err);
			free(vm->procs[i]->stack);
			free(vm->procs[i]);
		}
	}
	free(vm->procs);
	free(vm->freeh);
	free(vm->timers);
	free(vm->out);
	free(vm);
}
