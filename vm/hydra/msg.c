// SPDX-License-Identifier: MIT
/*
 * vm/hydra/msg.c: messages between heads, copied, never shared.
 *
 * Owns the wire form of a message: a tag byte per object, then its payload
 * in the host's byte order (both ends are the same process). A message is
 * measured first and written second, so that a send is exactly one
 * allocation (the hy_msg that travels) and one copy. The recipient
 * rebuilds it in its own heap. Only values with no identity worth keeping
 * travel: nil, Booleans, SmallIntegers, LargeIntegers, Floats,
 * Characters, Strings, Symbols (interned again on arrival), ByteArrays,
 * and Arrays and Dictionaries of those, HY_DEPTH deep at most (which also
 * stops a cycle); and VMs, which travel as a reference to their head's
 * record (so that heads can tell each other about heads: the recipient
 * gets its own VM object for the same head). See Documentation/vm/hydra.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/hydra/hydra.h"

enum {
	T_NIL, T_TRUE, T_FALSE, T_INT, T_LPOS, T_LNEG, T_FLOAT, T_CHAR,
	T_STR, T_SYM, T_BYTES, T_ARRAY, T_DICT, T_VM,
};

struct enc {
	struct st_vm *vm;
	unsigned char *p; /* NULL while measuring */
	size_t n;
	uint32_t dict_ci;
	char *why;
	size_t whylen;
};

static void put(struct enc *e, const void *s, size_t n)
{
	if (e->p)
		memcpy(e->p + e->n, s, n);
	e->n += n;
}

static void put1(struct enc *e, unsigned char c) { put(e, &c, 1); }
static void put4(struct enc *e, uint32_t v) { put(e, &v, 4); }

/* "a Point", "an OrderedCollection", "Point class" */
static void refuse(struct enc *e, oop o)
{
	struct st_vm *vm = e->vm;
	oop cls = st_class_of(vm, o);
	oop name = st_slot(cls, CLS_NAME);
	const char *what = "an object of an unnamed class";
	char buf[160];
	if (obj_is_ptr(name) && obj_fmt(name) == OBJ_FMT_BYTES) {
		int len = (int)(obj_byte_size(name) > 100 ? 100 : obj_byte_size(name));
		const char *s = (const char *)obj_bytes(name);
		snprintf(buf, sizeof buf, "%s %.*s", strchr("AEIOU", s[0]) ? "an" : "a", len, s);
		what = buf;
	} else if (obj_cls(cls) == CI_METACLASS || obj_cls(o) == CI_METACLASS) {
		what = "a class";
	}
	snprintf(e->why, e->whylen,
		 "VM send: cannot send %s (only nil, Booleans, numbers, Characters, Strings, "
		 "Symbols, ByteArrays, Arrays, Dictionaries and VMs)",
		 what);
}

static int enc(struct enc *e, oop o, int depth);

static int enc_bytes(struct enc *e, int tag, oop o)
{
	size_t n = obj_byte_size(o);
	if (n > UINT32_MAX) {
		snprintf(e->why, e->whylen, "VM send: an object of %zu bytes is too large", n);
		return 0;
	}
	put1(e, (unsigned char)tag);
	put4(e, (uint32_t)n);
	put(e, obj_bytes(o), n);
	return 1;
}

/* Dictionary: tally keys values (st/kernel/30-Hashed.st), the last three
 * instance variables; keys[i] nil is a free slot. */
static int enc_dict(struct enc *e, oop d, int depth)
{
	size_t base = obj_slots(d) - 3;
	oop keys = obj_body(d)[base + 1], vals = obj_body(d)[base + 2];
	if (!obj_is_ptr(keys) || obj_cls(keys) != CI_ARRAY || !obj_is_ptr(vals) ||
	    obj_cls(vals) != CI_ARRAY || obj_slots(vals) < obj_slots(keys)) {
		snprintf(e->why, e->whylen, "VM send: a Dictionary in an inconsistent state");
		return 0;
	}
	uint32_t n = 0;
	for (size_t i = 0; i < obj_slots(keys); i++)
		n += obj_body(keys)[i] != e->vm->nil;
	put1(e, T_DICT);
	put4(e, n);
	for (size_t i = 0; i < obj_slots(keys); i++) {
		oop k = obj_body(keys)[i];
		if (k == e->vm->nil)
			continue;
		if (!enc(e, k, depth + 1) || !enc(e, obj_body(vals)[i], depth + 1))
			return 0;
	}
	return 1;
}

static int enc(struct enc *e, oop o, int depth)
{
	struct st_vm *vm = e->vm;
	if (depth > HY_DEPTH) {
		snprintf(e->why, e->whylen, "VM send: message nested deeper than %d", HY_DEPTH);
		return 0;
	}
	if (obj_is_int(o)) {
		int64_t v = obj_int(o);
		put1(e, T_INT);
		put(e, &v, 8);
		return 1;
	}
	if (o == vm->nil || o == vm->true_ || o == vm->false_) {
		put1(e, o == vm->nil ? T_NIL : o == vm->true_ ? T_TRUE : T_FALSE);
		return 1;
	}
	uint32_t ci = obj_cls(o);
	switch (ci) {
	case CI_LARGEPOS: return enc_bytes(e, T_LPOS, o);
	case CI_LARGENEG: return enc_bytes(e, T_LNEG, o);
	case CI_STRING: return enc_bytes(e, T_STR, o);
	case CI_SYMBOL: return enc_bytes(e, T_SYM, o);
	case CI_BYTEARRAY: return enc_bytes(e, T_BYTES, o);
	case CI_FLOAT:
		put1(e, T_FLOAT);
		put(e, obj_body(o), 8);
		return 1;
	case CI_CHARACTER: {
		oop v = obj_body(o)[CHAR_VALUE];
		put1(e, T_CHAR);
		put4(e, obj_is_int(v) ? (uint32_t)obj_int(v) : 0);
		return 1;
	}
	case CI_ARRAY: {
		size_t n = obj_slots(o);
		put1(e, T_ARRAY);
		put4(e, (uint32_t)n);
		for (size_t i = 0; i < n; i++)
			if (!enc(e, obj_body(o)[i], depth + 1))
				return 0;
		return 1;
	}
	default:
		if (ci == e->dict_ci && e->dict_ci)
			return enc_dict(e, o, depth);
		if (vm->hydra && ci == vm->hydra->vm_ci && vm->hydra->vm_ci) {
			struct hydra_head *h = hy_head_of(vm, o);
			if (h) {
				put1(e, T_VM);
				if (e->p)
					hy_ref(h); /* the message's, dropped by hy_msg_free */
				put(e, &h, sizeof h);
				return 1;
			}
		}
		refuse(e, o);
		return 0;
	}
}

struct hy_msg *hy_encode(struct st_vm *vm, oop o, char *why, size_t n)
{
	struct enc e = {.vm = vm, .why = why, .whylen = n,
			.dict_ci = vm->hydra ? vm->hydra->dict_ci : 0};
	if (!enc(&e, o, 0)) /* measuring: no reference taken yet */
		return NULL;
	struct hy_msg *m = malloc(sizeof *m + e.n);
	if (!m) {
		snprintf(why, n, "VM send: out of memory");
		return NULL;
	}
	m->from = NULL;
	m->len = (uint32_t)e.n;
	e.p = m->data;
	e.n = 0;
	enc(&e, o, 0); /* cannot fail now: the same walk succeeded */
	return m;
}

struct hy_msg *hy_msg_string(const char *s, size_t n)
{
	struct hy_msg *m = malloc(sizeof *m + 5 + n);
	if (!m || n > UINT32_MAX) {
		free(m);
		return NULL;
	}
	m->from = NULL;
	m->len = (uint32_t)(5 + n);
	m->data[0] = T_STR;
	uint32_t len = (uint32_t)n;
	memcpy(m->data + 1, &len, 4);
	memcpy(m->data + 5, s, n);
	return m;
}

/* ---- the recipient's side --------------------------------------------- */

struct dec {
	struct st_vm *vm;
	const unsigned char *p;
	oop *tag; /* a root slot: the collector updates it */
	int dicts;
};

static uint32_t get4(struct dec *d)
{
	uint32_t v;
	memcpy(&v, d->p, 4);
	d->p += 4;
	return v;
}

static oop dec_bytes(struct dec *d, uint32_t cls)
{
	uint32_t n = get4(d);
	oop o = cls == CI_SYMBOL ? st_symbol(d->vm, (const char *)d->p, n)
				 : st_new_bytes(d->vm, cls, n);
	if (o && cls != CI_SYMBOL && n)
		memcpy(obj_bytes(o), d->p, n);
	d->p += n;
	return o;
}

/* Rebuilds [n] elements into a new Array from [first] on (a Dictionary's
 * Array keeps slot 0 for the tag). The Array is a root while its elements,
 * which allocate, are made. */
static oop dec(struct dec *d);

static oop dec_seq(struct dec *d, size_t n, size_t first)
{
	struct st_vm *vm = d->vm;
	oop a = st_new_array(vm, n + first);
	if (!a)
		return 0;
	ST_ROOT(vm, a);
	if (first)
		st_put(vm, a, 0, *d->tag);
	for (size_t i = 0; i < n; i++) {
		oop v = dec(d);
		if (!v) {
			ST_UNROOT(vm, 1);
			return 0;
		}
		st_put(vm, a, first + i, v);
	}
	ST_UNROOT(vm, 1);
	return a;
}

static oop dec(struct dec *d)
{
	struct st_vm *vm = d->vm;
	unsigned char t = *d->p++;
	switch (t) {
	case T_NIL: return vm->nil;
	case T_TRUE: return vm->true_;
	case T_FALSE: return vm->false_;
	case T_INT: {
		int64_t v;
		memcpy(&v, d->p, 8);
		d->p += 8;
		return obj_from_int((intptr_t)v);
	}
	case T_LPOS: return dec_bytes(d, CI_LARGEPOS);
	case T_LNEG: return dec_bytes(d, CI_LARGENEG);
	case T_STR: return dec_bytes(d, CI_STRING);
	case T_SYM: return dec_bytes(d, CI_SYMBOL);
	case T_BYTES: return dec_bytes(d, CI_BYTEARRAY);
	case T_FLOAT: {
		double v;
		memcpy(&v, d->p, 8);
		d->p += 8;
		return st_new_float(vm, v);
	}
	case T_CHAR: return st_char(vm, get4(d));
	case T_ARRAY: return dec_seq(d, get4(d), 0);
	case T_DICT:
		d->dicts = 1;
		return dec_seq(d, (size_t)get4(d) * 2, 1);
	case T_VM: {
		struct hydra_head *h;
		memcpy(&h, d->p, sizeof h);
		d->p += sizeof h;
		return hy_vm_obj(vm, h); /* its own reference; hy_msg_free drops ours */
	}
	default:
		return 0; /* cannot happen: we wrote it */
	}
}

oop hy_decode(struct st_vm *vm, const struct hy_msg *m, oop *tag, int *dicts)
{
	struct dec d = {.vm = vm, .p = m->data, .tag = tag};
	oop o = dec(&d);
	*dicts = d.dicts;
	return o;
}

/* Walks one object of a message, dropping the head references of its
 * VMs; answers where the next object starts. */
static const unsigned char *release(const unsigned char *p)
{
	uint32_t n;
	unsigned char tag = *p++;
	switch (tag) {
	case T_INT:
	case T_FLOAT:
		return p + 8;
	case T_CHAR:
		return p + 4;
	case T_LPOS: case T_LNEG: case T_STR: case T_SYM: case T_BYTES:
		memcpy(&n, p, 4);
		return p + 4 + n;
	case T_ARRAY:
	case T_DICT:
		memcpy(&n, p, 4);
		p += 4;
		for (uint64_t i = 0; i < (uint64_t)n * (tag == T_DICT ? 2 : 1); i++)
			p = release(p);
		return p;
	case T_VM: {
		struct hydra_head *h;
		memcpy(&h, p, sizeof h);
		hy_unref(h);
		return p + sizeof h;
	}
	default:
		return p; /* nil, true, false */
	}
}

void hy_msg_free(struct hy_msg *m)
{
	if (m->len)
		release(m->data);
	if (m->from)
		hy_unref(m->from);
	free(m);
}
