// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc_new.c: new space and the scavenger: a Cheney copy of the live
 * young objects from eden and one survivor space into the other, ageing
 * them, and promoting the old enough (or those gc_pin wants tenured) into
 * old space. Roots: the owner's (gc_roots()) and the remembered set; then
 * gc_final.c copies the unreachable registered objects. Owns new space and
 * the remembered set; never touches an old object it does not scan, and
 * writes into an old object only the slots that pointed at a young one.
 * See Documentation/vm/gc.md.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/gc/gc_priv.h"
#include "vm/grow.h"

int gc_new_init(struct gc *c, size_t new_size)
{
	size_t page = 4096;
	new_size = (new_size + page - 1) & ~(page - 1);
	/* eden 3/4, each survivor space 1/8 */
	size_t surv = (new_size / 8 + page - 1) & ~(page - 1);
	size_t eden = new_size - 2 * surv;
	char *p = mmap(NULL, new_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	c->new_base = p;
	c->new_bytes = new_size;
	c->eden_lo = p;
	c->eden_hi = p + eden;
	c->surv[0] = c->eden_hi;
	c->surv[1] = c->eden_hi + surv;
	c->surv_bytes = surv;
	c->from = 0;
	c->from_top = c->surv[0];
	c->young_max = surv / 4 < GC_YOUNG_MAX_BYTES ? surv / 4 : GC_YOUNG_MAX_BYTES;
	c->g->young_lo = (uintptr_t)p;
	c->g->young_hi = (uintptr_t)(p + new_size);
	c->g->top = c->eden_lo;
	c->g->limit = c->stress ? c->eden_lo : c->eden_hi;
	return 0;
}

void gc_new_free(struct gc *c)
{
	if (c->new_base)
		munmap(c->new_base, c->new_bytes);
	c->new_base = NULL;
}

void gc_promoted_span(struct gc *c, char *lo, char *hi)
{
	if (!GROW(c->spans, c->spancap, c->nspans + 1, 64))
		gc_fatal("out of memory in the scavenger");
	c->spans[c->nspans++] = (struct gc_span){ lo, hi };
}

/* ---- copying -------------------------------------------------------------- */

static oop copy(struct gc *c, oop o)
{
	struct obj_header *h = obj_hdr(o);
	size_t bytes = obj_size_for(h->slots);
	unsigned age = h->age + 1u;
	char *to_end = c->surv[1 - c->from] + c->surv_bytes;
	char *d;
	if (age < c->tenure_age && !(h->flags & (OBJ_F_TENURE | OBJ_F_PINNED)) &&
	    bytes <= c->young_max && bytes <= (size_t)(to_end - c->to_top)) {
		d = c->to_top;
		c->to_top = d + bytes;
		memcpy(d, (void *)o, bytes);
		obj_hdr((oop)d)->age = (uint8_t)age;
	} else {
		if (bytes < c->large_min) {
			d = gc_old_alloc(c, bytes);
		} else {
			/* big enough to fill eden's fast path: a mapping of
			 * its own, scanned as a span of one object */
			d = (char *)gc_large_alloc(c, bytes, 1);
			if (d)
				gc_promoted_span(c, d, d + bytes);
		}
		if (d) {
			memcpy(d, (void *)o, bytes);
			struct obj_header *n = obj_hdr((oop)d);
			n->age = 0;
			n->flags &= (uint8_t)~OBJ_F_TENURE;
			c->st.tenured_bytes += bytes;
		} else if (bytes <= (size_t)(to_end - c->to_top)) {
			/* old space cannot grow: keep it young */
			d = c->to_top;
			c->to_top = d + bytes;
			memcpy(d, (void *)o, bytes);
			obj_hdr((oop)d)->age = (uint8_t)(age > 255 ? 255 : age);
		} else {
			gc_fatal("out of memory: cannot tenure during a scavenge");
		}
	}
	obj_set_forward(o, (oop)d);
	return (oop)d;
}

/* The new address of young [v]. A slot seen twice (a root presented
 * twice, an object scanned twice) already points into to-space. */
static inline oop evacuate(struct gc *c, oop v)
{
	if (obj_is_forwarded(v))
		return obj_forward(v);
	if (v - (uintptr_t)c->surv[1 - c->from] < c->surv_bytes)
		return v;
	return copy(c, v);
}

/* Updates the young references of [o]; nonzero if some still are young. */
static int scan(struct gc *c, oop o)
{
	oop *s;
	if (gc_weak_defer(c, o))
		return 0; /* fixed by weak_fixup, which remembers it if need be */
	size_t n = obj_ptr_slots(o, &s);
	uintptr_t lo = c->g->young_lo, sz = c->g->young_hi - lo;
	int young = 0;
	for (size_t i = 0; i < n; i++) {
		oop v = s[i];
		if (obj_is_ptr(v) && v - lo < sz) {
			oop w = evacuate(c, v);
			if (w != v)
				s[i] = w;
			young |= w - lo < sz;
		}
	}
	return young;
}

static void visit_root(oop *slot, void *ud)
{
	struct gc *c = ud;
	oop v = *slot;
	if (gc_young(c, v))
		*slot = evacuate(c, v);
}

static void remember(struct gc *c, oop o)
{
	struct obj_header *h = obj_hdr(o);
	if (h->flags & OBJ_F_REMEMBERED)
		return;
	h->flags |= OBJ_F_REMEMBERED;
	if (!gc_vec_push(&c->rem, o))
		c->rem_overflow = 1;
}

/* A promoted object: scanned once, remembered if it keeps young refs. */
static void scan_promoted(struct gc *c, oop o)
{
	if (scan(c, o))
		remember(c, o);
}

/* The segment holding the lowest address above [p], or NULL. */
static struct gc_seg *seg_after(struct gc *c, char *p)
{
	struct gc_seg *best = NULL;
	for (size_t i = 0; i < c->nsegs; i++)
		if (c->segs[i].base >= p && (!best || c->segs[i].base < best->base))
			best = &c->segs[i];
	return best;
}

/*
 * The remembered set overflowed (malloc failed): scan every old object.
 * Objects promoted meanwhile land in the bump region, whose unused part
 * [cur, lim) has no header: the walk jumps over it; segments mapped
 * meanwhile are found by address.
 */
static void rescan(struct gc *c, oop o)
{
	obj_hdr(o)->flags &= (uint8_t)~OBJ_F_REMEMBERED;
	scan_promoted(c, o);
}

static void scan_all_old(struct gc *c)
{
	c->rem.n = 0;
	c->rem_overflow = 0;
	char *from = NULL;
	struct gc_seg *s;
	while ((s = seg_after(c, from))) {
		char *base = s->base, *end = s->end;
		for (char *p = base; p < end;) {
			if (p == c->cur && c->cur < c->lim) {
				p = c->lim;
				continue;
			}
			size_t n = gc_chunk_size(p);
			if (((struct obj_header *)p)->fmt != GC_FREE)
				rescan(c, (oop)p);
			p += n;
		}
		from = base + 1;
	}
	for (struct gc_large *l = c->large; l; l = l->next)
		rescan(c, (oop)(l + 1));
}

static void scan_remembered(struct gc *c)
{
	if (c->rem_overflow) {
		scan_all_old(c);
		return;
	}
	size_t k = 0, n = c->rem.n;
	for (size_t i = 0; i < n; i++) {
		oop o = c->rem.v[i];
		if (scan(c, o))
			c->rem.v[k++] = o;
		else
			obj_hdr(o)->flags &= (uint8_t)~OBJ_F_REMEMBERED;
	}
	c->rem.n = k;
}

oop gc_new_evacuate(struct gc *c, oop young) { return evacuate(c, young); }

/*
 * Once everything reachable is copied: each young referent of a weak object
 * listed by scan() is replaced by its copy, or by nil when it was not
 * copied (only weak objects reached it). An old weak object left with young
 * referents goes back into the remembered set.
 */
static void weak_fixup(struct gc *c)
{
	uintptr_t lo = c->g->young_lo, sz = c->g->young_hi - lo;
	uintptr_t to = (uintptr_t)c->surv[1 - c->from];
	for (size_t k = 0; k < c->weak.n; k++) {
		oop o = c->weak.v[k], *s;
		size_t n = obj_ptr_slots(o, &s);
		int young = 0;
		for (size_t i = 0; i < n; i++) {
			oop v = s[i];
			if (!obj_is_ptr(v) || v - lo >= sz)
				continue;
			if (v - to < c->surv_bytes)
				;
			else if (obj_is_forwarded(v))
				s[i] = v = obj_forward(v);
			else
				s[i] = v = c->g->fill;
			young |= obj_is_ptr(v) && v - lo < sz;
		}
		if (young && o - to >= c->surv_bytes)
			remember(c, o);
	}
	c->weak.n = 0;
}

/* Cheney: scan the survivor copies and the promoted objects until both
 * scan pointers catch up with allocation. */
static void drain(struct gc *c)
{
	for (;;) {
		if (c->to_scan < c->to_top) {
			oop o = (oop)c->to_scan;
			c->to_scan += obj_size(o);
			scan(c, o);
		} else if (c->oscan < c->cur) {
			oop o = (oop)c->oscan;
			c->oscan += obj_size(o);
			scan_promoted(c, o);
		} else if (c->nspans) {
			struct gc_span sp = c->spans[--c->nspans];
			for (char *p = sp.lo; p < sp.hi;) {
				size_t n = obj_size((oop)p);
				scan_promoted(c, (oop)p);
				p += n;
			}
		} else {
			break;
		}
	}
}

void gc_new_drain(struct gc *c) { drain(c); }

void gc_scavenge_now(struct gc *c, int tenure_all)
{
	uint64_t t0 = baton_now_ns();
	struct gc_heap *g = c->g;
	unsigned age = c->tenure_age;
	if (tenure_all)
		c->tenure_age = 1;
	int to = 1 - c->from;
	c->to_top = c->to_scan = c->surv[to];
	c->eden_bytes += (uint64_t)(g->top - c->eden_lo);
	if (!tenure_all) {
		uint64_t b = (uint64_t)(g->top - c->eden_lo);
		BATON__PROBE2(gc_begin, 0, b);
		if (g->on_gc)
			g->on_gc(g->owner, 0, 0, b);
	}
	c->scavenging = 1;
	c->oscan = c->cur;
	c->nspans = 0;

	gc_roots(c, visit_root);
	scan_remembered(c);
	drain(c);
	gc_final_scavenge(c); /* may copy more: the unreachable registered */
	weak_fixup(c);

	c->scavenging = 0;
	c->tenure_age = age;
	if (GC_POISON) {
		/* a stale oop into what was new space now reads garbage */
		memset(c->eden_lo, 0xdb, (size_t)(g->top - c->eden_lo));
		memset(c->surv[c->from], 0xdb, (size_t)(c->from_top - c->surv[c->from]));
	}
	c->from = to;
	c->from_top = c->to_top;
	g->top = c->eden_lo;
	g->limit = c->stress ? c->eden_lo : c->eden_hi;
	c->st.scavenges += !tenure_all;
	if (!tenure_all) {
		gc_pause(c, baton_now_ns() - t0, 0);
		uint64_t b = (uint64_t)(c->to_top - c->surv[to]);
		BATON__PROBE2(gc_end, 0, b);
		if (g->on_gc)
			g->on_gc(g->owner, 0, 1, b);
		gc_final_done(c);
	}
}
