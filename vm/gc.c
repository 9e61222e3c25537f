// SPDX-License-Identifier: MIT
/*
 * vm/gc.c: placeholder collector until the generational one lands: malloc
 * backed. Old objects never move and are never freed; young objects are
 * moved by every collection (to a fresh block, the old one is poisoned and
 * freed) so that a VM keeping a stale oop across an allocation crashes
 * early, and unreachable young objects are freed. No remembered set: every
 * old object is scanned. Slow; correct. See Documentation/vm/gc.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernel-iface/clock.h"
#include "vm/gc.h"
#include "vm/st.h"

#define F_YOUNG OBJ_F_GC1 /* allocated by gc_alloc, may move */
#define F_SEEN OBJ_F_GC2  /* reached by the current collection */

struct vec {
	oop *v;
	size_t n, cap;
};

struct stub {
	size_t used, max;
	unsigned stress, countdown;
	size_t since_gc;  /* young bytes since the last collection */
	struct vec old, young, grey;
	uint64_t pause[1024];
	unsigned npause;
	struct gc_stats stats;
};

static int vpush(struct vec *v, oop o)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		oop *nv = realloc(v->v, cap * sizeof(oop));
		if (!nv)
			return 0;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = o;
	return 1;
}

int gc_init(struct st_vm *vm, const struct gc_sizes *sizes)
{
	struct gc_heap *g = &vm->gc;
	struct stub *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->max = sizes ? sizes->heap_max : 0;
	s->stress = sizes ? sizes->stress : 0;
	s->countdown = s->stress;
	g->vm = vm;
	g->priv = s;
	g->top = g->limit = NULL; /* every allocation takes the slow path */
	g->young_lo = g->young_hi = 0;
	return 0;
}

void gc_free(struct st_vm *vm)
{
	struct stub *s = vm->gc.priv;
	if (!s)
		return;
	for (size_t i = 0; i < s->old.n; i++)
		free((void *)s->old.v[i]);
	for (size_t i = 0; i < s->young.n; i++)
		free((void *)s->young.v[i]);
	free(s->old.v);
	free(s->young.v);
	free(s->grey.v);
	free(s);
	vm->gc.priv = NULL;
}

/* ---- collection ------------------------------------------------------------ */

static void forward(oop *slot, void *ud)
{
	struct stub *s = ud;
	oop o = *slot;
	if (!obj_is_ptr(o) || !o)
		return;
	if (obj_is_forwarded(o))
		o = *slot = obj_forward(o);
	if (!(obj_hdr(o)->flags & F_SEEN)) {
		obj_hdr(o)->flags |= F_SEEN;
		vpush(&s->grey, o);
	}
}

static void collect(struct st_vm *vm, int full)
{
	struct stub *s = vm->gc.priv;
	uint64_t t0 = kif_now_ns();
	/* 1. copy every young object (pinned ones stay) */
	for (size_t i = 0; i < s->young.n; i++) {
		oop o = s->young.v[i];
		if (obj_hdr(o)->flags & OBJ_F_PINNED)
			continue;
		size_t bytes = obj_size(o);
		oop c = (oop)malloc(bytes);
		if (!c)
			continue; /* stays where it is */
		memcpy((void *)c, (void *)o, bytes);
		obj_set_forward(o, c);
		s->young.v[i] = c;
	}
	/* 2. roots, then everything reachable (old objects are all roots) */
	s->grey.n = 0;
	vm_roots(vm, forward, s);
	for (size_t i = 0; i < s->old.n; i++) {
		oop o = s->old.v[i];
		oop *p;
		size_t n = obj_ptr_slots(o, &p);
		for (size_t k = 0; k < n; k++)
			forward(&p[k], s);
	}
	while (s->grey.n) {
		oop o = s->grey.v[--s->grey.n];
		oop *p;
		size_t n = obj_ptr_slots(o, &p);
		for (size_t k = 0; k < n; k++)
			forward(&p[k], s);
	}
	/* 3. free the old copies (poisoned first) and the unreachable */
	size_t k = 0;
	for (size_t i = 0; i < s->young.n; i++) {
		oop c = s->young.v[i];
		if (obj_hdr(c)->flags & F_SEEN) {
			obj_hdr(c)->flags &= (uint8_t)~F_SEEN;
			s->young.v[k++] = c;
		} else {
			s->used -= obj_size(c);
			free((void *)c);
		}
	}
	s->young.n = k;
	for (size_t i = 0; i < s->old.n; i++)
		obj_hdr(s->old.v[i])->flags &= (uint8_t)~F_SEEN;
	/* the from-copies: every forwarded object was replaced above */
	s->since_gc = 0;
	uint64_t dt = kif_now_ns() - t0;
	if (full) {
		s->stats.full_gcs++;
		s->stats.full_ns += dt;
		if (dt > s->stats.full_max_ns)
			s->stats.full_max_ns = dt;
	} else {
		s->stats.scavenges++;
		s->stats.scavenge_ns += dt;
		if (dt > s->stats.scavenge_max_ns)
			s->stats.scavenge_max_ns = dt;
		s->pause[s->npause++ % 1024] = dt;
	}
}

/* The from-copies are freed after the collection: forwarded objects are
 * recorded while copying. */
static void collect_and_free(struct st_vm *vm, int full)
{
	struct stub *s = vm->gc.priv;
	struct vec from = {0};
	for (size_t i = 0; i < s->young.n; i++)
		if (!(obj_hdr(s->young.v[i])->flags & OBJ_F_PINNED)) {
			vpush(&from, s->young.v[i]);
			vpush(&from, (oop)obj_size(s->young.v[i]));
		}
	collect(vm, full);
	for (size_t i = 0; i < from.n; i += 2) {
		oop o = from.v[i];
		if (!obj_is_forwarded(o))
			continue; /* copy failed: it was kept */
		memset((void *)(o + 16), 0xdb, (size_t)from.v[i + 1] - 16);
		free((void *)o);
	}
	free(from.v);
}

/* ---- allocation --------------------------------------------------------------- */

static oop alloc(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots, unsigned odd,
		 unsigned flags, int young)
{
	struct stub *s = vm->gc.priv;
	size_t bytes = obj_size_for(slots);
	if (young && s->stress && --s->countdown == 0) {
		s->countdown = s->stress;
		collect_and_free(vm, 0);
	} else if (young && s->since_gc > ((size_t)8 << 20)) {
		collect_and_free(vm, 0);
	}
	if (s->max && s->used + bytes > s->max) {
		collect_and_free(vm, 1);
		if (s->used + bytes > s->max) {
			s->stats.alloc_failures++;
			return 0;
		}
	}
	void *p = malloc(bytes); /* 16-aligned on glibc x86-64 */
	if (!p) {
		s->stats.alloc_failures++;
		return 0;
	}
	oop o = (oop)p;
	if (!vpush(young ? &s->young : &s->old, o)) {
		free(p);
		s->stats.alloc_failures++;
		return 0;
	}
	s->used += bytes;
	if (young)
		s->since_gc += bytes;
	s->stats.allocated_bytes += bytes;
	s->stats.heap_bytes = s->stats.old_bytes = s->used;
	obj_init_header(o, cls, fmt, slots, odd, flags | (young ? F_YOUNG : 0));
	oop *b = obj_body(o);
	for (size_t i = 0; i < slots; i++)
		b[i] = fmt <= OBJ_FMT_IPTRS ? vm->gc.fill : 0;
	return o;
}

oop gc_alloc_slow(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots, unsigned odd)
{
	return alloc(vm, cls, fmt, slots, odd, 0, 1);
}

oop gc_alloc_old(struct st_vm *vm, uint32_t cls, unsigned fmt, size_t slots,
		 unsigned odd, unsigned flags)
{
	return alloc(vm, cls, fmt, slots, odd, flags & OBJ_F_PINNED, 0);
}

void gc_remember(struct st_vm *vm, oop obj)
{
	(void)vm;
	obj_hdr(obj)->flags |= OBJ_F_REMEMBERED;
}

void gc_scavenge(struct st_vm *vm) { collect_and_free(vm, 0); }
void gc_full(struct st_vm *vm) { collect_and_free(vm, 1); }

oop gc_pin(struct st_vm *vm, oop *ref)
{
	struct stub *s = vm->gc.priv;
	if (!obj_is_pinned(*ref)) {
		obj_hdr(*ref)->flags |= OBJ_F_PINNED;
		s->stats.pins++;
	}
	return *ref;
}

void gc_unpin(struct st_vm *vm, oop o)
{
	(void)vm;
	obj_hdr(o)->flags &= (uint8_t)~OBJ_F_PINNED;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void gc_get_stats(struct st_vm *vm, struct gc_stats *out)
{
	struct stub *s = vm->gc.priv;
	*out = s->stats;
	unsigned n = s->npause < 1024 ? s->npause : 1024;
	if (n) {
		uint64_t tmp[1024];
		memcpy(tmp, s->pause, n * sizeof tmp[0]);
		qsort(tmp, n, sizeof tmp[0], cmp_u64);
		out->scavenge_p99_ns = tmp[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	}
}
