// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc_clone.c: whole-heap copies. gc_freeze() turns a heap into a
 * read-only source (nothing young, new space given back); gc_clone_from()
 * copies every object of such a heap into an empty one, each old-space
 * segment and large object at once, and relocates every pointer slot of the
 * copies and every root slot of the new owner by the delta of the area it
 * points into. Owns nothing after a call: the copies belong to the new heap
 * like any object it allocated. See Documentation/vm/gc.md (Cloning).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/gc/gc_priv.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels answer EINVAL */
#endif

void gc_freeze(struct gc_heap *g)
{
	struct gc *c = g->priv;
	gc_full(g);
	/* what the collections touched in new space is garbage now */
	madvise(c->new_base, c->new_bytes, MADV_DONTNEED);
	free(c->rem.v);
	c->rem = (struct gc_vec){0};
	free(c->side);
	c->side = NULL;
	c->sidecap = c->nside = 0;
}

/* An area of the source and where its copy lies. */
struct area {
	uintptr_t lo, hi;
	uintptr_t to;
};

struct clone {
	struct area *a;
	size_t n, cap;
	long bad; /* slots that pointed outside the source */
};

static int add_area(struct clone *k, uintptr_t lo, uintptr_t hi, uintptr_t to)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct area *a = realloc(k->a, cap * sizeof *a);
		if (!a)
			return 0;
		k->a = a;
		k->cap = cap;
	}
	k->a[k->n++] = (struct area){ lo, hi, to };
	return 1;
}

static int cmp_area(const void *x, const void *y)
{
	uintptr_t a = ((const struct area *)x)->lo, b = ((const struct area *)y)->lo;
	return a < b ? -1 : a > b;
}

/* The copy of source object [o]; [o] itself (counted bad) if it is none. */
static inline oop relocate(struct clone *k, oop o)
{
	size_t lo = 0, hi = k->n;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		const struct area *a = &k->a[m];
		if (o < a->lo)
			hi = m;
		else if (o >= a->hi)
			lo = m + 1;
		else
			return o - a->lo + a->to;
	}
	k->bad++;
	return o;
}

static void relocate_slots(struct clone *k, oop o)
{
	oop *s;
	size_t n = obj_ptr_slots(o, &s);
	for (size_t i = 0; i < n; i++)
		if (s[i] && obj_is_ptr(s[i]))
			s[i] = relocate(k, s[i]);
}

static void relocate_root(oop *slot, void *ud)
{
	if (*slot && obj_is_ptr(*slot))
		*slot = relocate(ud, *slot);
}

/* End of the last object of source segment [s] (the bump region, which
 * has no header, is skipped). */
static char *seg_used_end(const struct gc *sc, const struct gc_seg *s)
{
	char *end = s->base;
	for (char *p = s->base; p < s->end;) {
		if (p == sc->cur && sc->cur < sc->lim) {
			p = sc->lim;
			continue;
		}
		size_t n = gc_chunk_size(p);
		if (((struct obj_header *)p)->fmt != GC_FREE)
			end = p + n;
		p += n;
	}
	return end;
}

/* Gives back everything a failed clone put into [c] (which was empty). */
static void undo(struct gc *c)
{
	gc_old_free(c);
	gc_old_clear_bins(c);
	c->cur = c->lim = c->oscan = NULL;
	c->old_used = c->large_bytes = c->large_mapped = 0;
	c->g->fill = 0;
}

int gc_clone_from(struct gc_heap *dst, const struct gc_heap *src)
{
	struct gc *c = dst->priv;
	const struct gc *sc = src->priv;
	if (!c || !sc || c == sc)
		return -EINVAL;
	/* the source is frozen; the destination holds nothing yet */
	if (src->top != sc->eden_lo || sc->from_top != sc->surv[sc->from] || sc->fin.nreg ||
	    sc->fin.head != sc->fin.ready.n)
		return -EBUSY;
	if (dst->top != c->eden_lo || c->from_top != c->surv[c->from] || c->nsegs || c->large ||
	    c->fin.nreg)
		return -EBUSY;
	char **ends = malloc((sc->nsegs + 1) * sizeof *ends);
	if (!ends)
		return -ENOMEM;
	size_t total = sc->large_bytes;
	for (size_t i = 0; i < sc->nsegs; i++) {
		ends[i] = seg_used_end(sc, &sc->segs[i]);
		size_t n = (size_t)(ends[i] - sc->segs[i].base);
		total += n;
		if (n > c->seg_bytes) {
			free(ends);
			return -E2BIG; /* a smaller heap_max made smaller segments */
		}
	}
	if (c->old_max && total + c->ext_bytes > c->old_max) {
		free(ends);
		return -ENOMEM;
	}

	struct clone k = {0};
	int err = -ENOMEM;
	/* 1. copy: each segment's used part, each large object */
	for (size_t i = 0; i < sc->nsegs; i++) {
		const struct gc_seg *s = &sc->segs[i];
		char *end = ends[i];
		if (end == s->base)
			continue; /* nothing in it */
		char *d = gc_old_new_segment(c);
		if (!d || !add_area(&k, (uintptr_t)s->base, (uintptr_t)end, (uintptr_t)d))
			goto fail;
		size_t n = (size_t)(end - s->base);
		/* one fault for the lot instead of one per page */
		madvise(d, (n + 4095) & ~(size_t)4095, MADV_POPULATE_WRITE);
		memcpy(d, s->base, n);
		if (sc->cur < sc->lim && sc->cur >= s->base && sc->cur < end)
			gc_old_make_free(c, d + (sc->cur - s->base), (size_t)(sc->lim - sc->cur), 0);
	}
	for (const struct gc_large *l = sc->large; l; l = l->next) {
		oop o = (oop)(l + 1);
		size_t n = obj_size(o);
		oop d = gc_large_alloc(c, n, 0);
		if (!d || !add_area(&k, o, o + n, d))
			goto fail;
		memcpy((void *)d, (const void *)o, n);
	}
	if (k.n > 1)
		qsort(k.a, k.n, sizeof *k.a, cmp_area);

	/* 2. relocate the copies' slots; free space goes to the bins */
	const uint8_t drop = (uint8_t)~(OBJ_F_MARK | OBJ_F_FWD | OBJ_F_REMEMBERED | OBJ_F_TENURE |
					GC_F_FINAL | GC_F_SEEN);
	for (size_t i = 0; i < c->nsegs; i++) {
		struct gc_seg *s = &c->segs[i];
		char *end = s->base;
		for (size_t j = 0; j < k.n; j++)
			if (k.a[j].to == (uintptr_t)s->base)
				end = s->base + (k.a[j].hi - k.a[j].lo);
		for (char *p = s->base; p < end;) {
			struct obj_header *h = (struct obj_header *)p;
			size_t n = gc_chunk_size(p);
			if (h->fmt == GC_FREE) {
				gc_old_make_free(c, p, n, 1);
			} else {
				h->flags &= drop;
				relocate_slots(&k, (oop)p);
				c->old_used += n;
			}
			p += n;
		}
		if (end < s->end)
			gc_old_make_free(c, end, (size_t)(s->end - end), 1);
	}
	for (struct gc_large *l = c->large; l; l = l->next) {
		obj_hdr((oop)(l + 1))->flags &= drop;
		relocate_slots(&k, (oop)(l + 1));
	}
	/* 3. the new owner's roots, which still hold the source's oops */
	if (dst->roots)
		dst->roots(dst->owner, relocate_root, &k);
	if (src->fill)
		dst->fill = relocate(&k, src->fill);
	if (k.bad) {
		err = -EFAULT;
		goto fail;
	}
	c->st.old_bytes = c->old_used + c->large_bytes;
	free(ends);
	free(k.a);
	return 0;
fail:
	free(ends);
	free(k.a);
	undo(c);
	return err;
}
