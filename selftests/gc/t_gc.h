// SPDX-License-Identifier: MIT
/*
 * selftests/gc/t_gc.h: a heap and nothing else, for driving the collector
 * directly through vm/gc/gc.h: no Smalltalk VM, no classes, no processes.
 * t_heap() gives a struct t_heap whose roots callback presents a pinned old
 * "nil" (which also fills new objects) and the C variables a test registers
 * with T_ROOT. Objects carry an integer id in slot 0 so that tests can follow
 * them as they move. Helpers here define no tests. See Documentation/vm/gc.md.
 */
#ifndef T_GC_H
#define T_GC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/gc/gc.h"

/* Class indices mean nothing to the collector; any nonzero one will do. */
#define T_CLS_NIL 1
#define T_CLS_NODE 2  /* pointer object: slot 0 id, then references */
#define T_CLS_BYTES 3
#define T_CLS_WORDS 4

#define T_MAX_ROOTS 1024

struct t_heap {
	struct gc_heap gc;
	oop nil;
	oop *roots[T_MAX_ROOTS]; /* registered C variables, LIFO */
	unsigned nroots;
	uint32_t hash_seed;
};

/* The roots callback: nil and the registered variables. */
static inline void t_roots(void *owner, gc_visit_fn visit, void *ud)
{
	struct t_heap *th = owner;
	if (th->nil)
		visit(&th->nil, ud);
	for (unsigned i = 0; i < th->nroots; i++)
		if (*th->roots[i] && obj_is_ptr(*th->roots[i]))
			visit(th->roots[i], ud);
}

/* Registers C variable [var] as a root until the matching T_UNROOT. */
#define T_ROOT(th, var)                                                                        \
	do {                                                                                   \
		if ((th)->nroots >= T_MAX_ROOTS)                                               \
			abort();                                                               \
		(th)->roots[(th)->nroots++] = &(var);                                          \
	} while (0)
#define T_UNROOT(th, n) ((th)->nroots -= (n))

static inline struct t_heap *t_heap(const struct gc_sizes *sizes)
{
	struct t_heap *th = calloc(1, sizeof *th);
	if (!th)
		return NULL;
	th->hash_seed = 2463534242u;
	if (gc_init(&th->gc, sizes, t_roots, th) < 0) {
		free(th);
		return NULL;
	}
	th->nil = gc_alloc_old(&th->gc, T_CLS_NIL, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	th->gc.fill = th->nil;
	return th;
}

static inline void t_heap_free(struct t_heap *th)
{
	gc_free(&th->gc);
	free(th);
}

/* The identity hash of [o], assigned on first use into its header (as the
 * VM does): the collector must carry it along when [o] moves. */
static inline uint32_t t_hash(struct t_heap *th, oop o)
{
	struct obj_header *h = obj_hdr(o);
	if (!h->hash) {
		uint32_t x = th->hash_seed;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		th->hash_seed = x;
		h->hash = (x & 0x3fffffff) | 1;
	}
	return h->hash;
}

/* A young node of [n] slots with id [id] in slot 0 (0 on failure). */
static inline oop t_node(struct t_heap *th, intptr_t id, size_t n)
{
	oop o = gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, n, 0);
	if (o)
		obj_body(o)[0] = obj_from_int(id);
	return o;
}

/* Stores a new young node into slot [i] of *[holder], a registered root:
 * it is read after the allocation, which may have moved it. */
static inline oop t_store_new(struct t_heap *th, oop *holder, size_t i, intptr_t id, size_t n)
{
	oop x = t_node(th, id, n);
	if (x)
		gc_store(&th->gc, *holder, i, x);
	return x;
}

static inline oop t_old_node(struct t_heap *th, intptr_t id, size_t n, unsigned flags)
{
	oop o = gc_alloc_old(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, n, 0, flags);
	if (o)
		obj_body(o)[0] = obj_from_int(id);
	return o;
}

/* A byte object of [n] bytes, byte i = (seed + i * 7) & 0xff. */
static inline oop t_bytes(struct t_heap *th, size_t n, unsigned seed)
{
	size_t slots = (n + 7) / 8;
	oop o = gc_alloc(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - n));
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

static inline struct gc_stats t_stats(struct t_heap *th)
{
	struct gc_stats s;
	gc_get_stats(&th->gc, &s);
	return s;
}

/* ASSERTs that the heap verifies. */
#define T_VERIFY(th)                                                                           \
	do {                                                                                   \
		char t_msg_[256];                                                              \
		long t_errs_ = gc_verify(&(th)->gc, t_msg_, sizeof t_msg_);                    \
		ASSERT_EQ(0, t_errs_) TH_LOG("heap: %s", t_msg_);                              \
	} while (0)

#endif
