// SPDX-License-Identifier: MIT
/*
 * selftests/gc/t_gc.h: a VM with a heap and nothing else, for driving the
 * collector directly through vm/gc/gc.h: st_new() gives a zeroed struct st_vm
 * (no classes, no processes, so vm_roots() presents only what a test
 * registers with ST_ROOT), and a pinned old "nil" fills new objects.
 * Objects carry an integer id in slot 0 so that tests can follow them as
 * they move. Helpers here define no tests. See Documentation/vm/gc.md.
 */
#ifndef T_GC_H
#define T_GC_H

#include <stdint.h>
#include <string.h>

#include "vm/gc/gc.h"
#include "vm/st.h"

#define T_CLS_NODE CI_ARRAY     /* pointer object: slot 0 id, then references */
#define T_CLS_BYTES CI_BYTEARRAY

static inline struct st_vm *t_vm(const struct gc_sizes *sizes)
{
	struct st_vm *vm = st_new();
	if (!vm)
		return NULL;
	if (gc_init(vm, sizes) < 0) {
		st_free(vm);
		return NULL;
	}
	vm->nil = gc_alloc_old(vm, CI_UNDEFINED, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	vm->gc.fill = vm->nil;
	return vm;
}

static inline void t_vm_free(struct st_vm *vm)
{
	gc_free(vm);
	st_free(vm);
}

/* A young node of [n] slots with id [id] in slot 0 (0 on failure). */
static inline oop t_node(struct st_vm *vm, intptr_t id, size_t n)
{
	oop o = gc_alloc(&vm->gc, T_CLS_NODE, OBJ_FMT_IPTRS, n, 0);
	if (o)
		obj_body(o)[0] = obj_from_int(id);
	return o;
}

/* Stores a new young node into slot [i] of *[holder], a registered root:
 * it is read after the allocation, which may have moved it. */
static inline oop t_store_new(struct st_vm *vm, oop *holder, size_t i, intptr_t id, size_t n)
{
	oop x = t_node(vm, id, n);
	if (x)
		gc_store(&vm->gc, *holder, i, x);
	return x;
}

static inline oop t_old_node(struct st_vm *vm, intptr_t id, size_t n, unsigned flags)
{
	oop o = gc_alloc_old(vm, T_CLS_NODE, OBJ_FMT_IPTRS, n, 0, flags);
	if (o)
		obj_body(o)[0] = obj_from_int(id);
	return o;
}

/* A byte object of [n] bytes, byte i = (seed + i * 7) & 0xff. */
static inline oop t_bytes(struct st_vm *vm, size_t n, unsigned seed)
{
	size_t slots = (n + 7) / 8;
	oop o = gc_alloc(&vm->gc, T_CLS_BYTES, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - n));
	if (o)
		for (size_t i = 0; i < n; i++)
			obj_bytes(o)[i] = (uint8_t)(seed + i * 7);
	return o;
}

static inline int t_bytes_ok(oop o, size_t n, unsigned seed)
{
	if (obj_fmt(o) != OBJ_FMT_BYTES || obj_byte_size(o) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (obj_bytes(o)[i] != (uint8_t)(seed + i * 7))
			return 0;
	return 1;
}

static inline intptr_t t_id(oop o) { return obj_int(obj_body(o)[0]); }

static inline struct gc_stats t_stats(struct st_vm *vm)
{
	struct gc_stats s;
	gc_get_stats(vm, &s);
	return s;
}

/* ASSERTs that the heap verifies. */
#define T_VERIFY(vm)                                                                           \
	do {                                                                                   \
		char t_msg_[256];                                                              \
		long t_errs_ = gc_verify(vm, t_msg_, sizeof t_msg_);                           \
		ASSERT_EQ(0, t_errs_) TH_LOG("heap: %s", t_msg_);                              \
	} while (0)

#endif
