// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc_full.c: the full collection: empty new space into old space, mark
 * from the roots, then slide the live unpinned old objects towards the
 * start of old space (Lisp 2 style), leaving pinned ones where they are
 * and their bodies untouched; free dead large objects and empty segments.
 * Between marking and planning, gc_final.c marks the unreachable registered
 * objects. Owns the mark stack and the forwarding side table.
 * See Documentation/vm/gc.md.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/gc/gc_priv.h"
#include "vm/grow.h"

/* ---- mark ------------------------------------------------------------------ */

static void mark(struct gc *c, oop v)
{
	if (!obj_is_ptr(v) || !v)
		return;
	struct obj_header *h = obj_hdr(v);
	if (h->flags & OBJ_F_MARK)
		return;
	h->flags |= OBJ_F_MARK;
	if (h->fmt <= OBJ_FMT_IPTRS && h->slots && !gc_vec_push(&c->mark, v))
		c->mark_overflow = 1; /* marked, not scanned: found again below */
}

static void scan_children(struct gc *c, oop o)
{
	oop *s;
	if (gc_weak_defer(c, o))
		return; /* its referents are not marked through it: weak_clear */
	size_t n = obj_ptr_slots(o, &s);
	for (size_t i = 0; i < n; i++)
		mark(c, s[i]);
}

static void drain(struct gc *c)
{
	while (c->mark.n)
		scan_children(c, c->mark.v[--c->mark.n]);
}

/* Marks a root and records its slot: the update pass must visit each slot
 * once (a root presented twice would be forwarded twice). */
static void mark_root(oop *slot, void *ud)
{
	struct gc *c = ud;
	mark(c, *slot);
	if (!gc_vec_push(&c->rootv, (uintptr_t)slot))
		c->no_compact = 1;
}

void gc_full_mark_root(oop *slot, void *c) { mark_root(slot, c); }

static void rescan(struct gc *c, oop o)
{
	if (obj_hdr(o)->flags & OBJ_F_MARK) {
		scan_children(c, o);
		drain(c);
	}
}

/* After a mark stack overflow: rescan the marked objects for unmarked
 * children until a pass completes without overflowing. */
static void remark(struct gc *c)
{
	while (c->mark_overflow) {
		c->mark_overflow = 0;
		for (size_t i = 0; i < c->nsegs; i++)
			for (char *p = c->segs[i].base; p < c->segs[i].end; p += gc_chunk_size(p)) {
				struct obj_header *h = (struct obj_header *)p;
				if (h->fmt != GC_FREE)
					rescan(c, (oop)p);
			}
		for (struct gc_large *l = c->large; l; l = l->next)
			rescan(c, (oop)(l + 1));
		/* young objects left by a failed promotion */
		for (char *p = c->surv[c->from]; p < c->from_top; p += obj_size((oop)p))
			rescan(c, (oop)p);
	}
}

void gc_full_trace(struct gc *c)
{
	drain(c);
	remark(c);
}

/* After marking: the slots of the weak objects listed by scan_children
 * that refer to unmarked objects get nil; the others are updated with the
 * rest of the heap when objects move. */
static void weak_clear(struct gc *c)
{
	for (size_t k = 0; k < c->weak.n; k++) {
		oop o = c->weak.v[k], *s;
		size_t n = obj_ptr_slots(o, &s);
		for (size_t i = 0; i < n; i++)
			if (obj_is_ptr(s[i]) && s[i] && !(obj_hdr(s[i])->flags & OBJ_F_MARK))
				s[i] = c->g->fill;
	}
	c->weak.n = 0;
}

static int cmp_slot(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static void dedup_roots(struct gc *c)
{
	if (c->rootv.n < 2)
		return;
	qsort(c->rootv.v, c->rootv.n, sizeof(uintptr_t), cmp_slot);
	size_t k = 0;
	for (size_t i = 0; i < c->rootv.n; i++)
		if (!k || c->rootv.v[i] != c->rootv.v[k - 1])
			c->rootv.v[k++] = c->rootv.v[i];
	c->rootv.n = k;
}

/* ---- plan: forwarding addresses ------------------------------------------ */

static int is_live(const char *p)
{
	const struct obj_header *h = (const struct obj_header *)p;
	return h->fmt != GC_FREE && (h->flags & OBJ_F_MARK);
}

static int side_push(struct gc *c, struct gc_w1 w)
{
	if (!GROW(c->side, c->sidecap, c->nside + 1, 4096))
		return 0;
	c->side[c->nside++] = w;
	return 1;
}

/*
 * Walks old space in address order with a destination cursor [to] that
 * only ever trails the walk. A movable object goes to [to] (or to the
 * start of a later segment when the rest of this one is too small); a
 * pinned object stays and puts [to] behind it. The gap a pinned object
 * leaves below it becomes free space. Dead runs are coalesced into one
 * free chunk each so that the later passes skip them in one step.
 * Answers the number of objects that move.
 */
static size_t plan(struct gc *c)
{
	size_t ti = 0, moved = 0;
	char *to = c->segs[0].base, *to_end = c->segs[0].end;
	int compact = !c->no_compact;
	c->nside = 0;
	for (size_t si = 0; si < c->nsegs; si++) {
		char *p = c->segs[si].base, *end = c->segs[si].end, *dead = NULL;
		while (p < end) {
			size_t n = gc_chunk_size(p);
			if (!is_live(p)) {
				if (!dead)
					dead = p;
				p += n;
				continue;
			}
			if (dead) {
				gc_old_make_free(c, dead, (size_t)(p - dead), 0);
				dead = NULL;
			}
			struct obj_header *h = (struct obj_header *)p;
			int stays = !compact || (h->flags & OBJ_F_PINNED);
			if (!stays) {
				while (to + n > to_end) {
					ti++;
					to = c->segs[ti].base;
					to_end = c->segs[ti].end;
				}
				if (to == p) {
					stays = 1;
				} else if (!side_push(c, (struct gc_w1){ h->hash, h->slots })) {
					compact = 0; /* no memory for the table: stop moving */
					stays = 1;
				} else {
					obj_set_forward((oop)p, (oop)to);
					to += n;
					moved++;
				}
			}
			if (stays) {
				ti = si;
				to = p + n;
				to_end = end;
			}
			p += n;
		}
		if (dead)
			gc_old_make_free(c, dead, (size_t)(end - dead), 0);
	}
	return moved;
}

/* ---- update references --------------------------------------------------- */

static inline void update(oop *s)
{
	oop v = *s;
	if (obj_is_ptr(v) && v && (obj_hdr(v)->flags & OBJ_F_FWD))
		*s = obj_forward(v);
}

static void update_slots(oop o)
{
	oop *s;
	size_t n = obj_ptr_slots(o, &s);
	for (size_t i = 0; i < n; i++)
		update(&s[i]);
}

/* The size of the live object at [p] (its word 1 may be in the table). */
static size_t live_size(struct gc *c, char *p, size_t *k)
{
	if (((struct obj_header *)p)->flags & OBJ_F_FWD)
		return obj_size_for(c->side[(*k)++].slots);
	return obj_size((oop)p);
}

static void update_all(struct gc *c)
{
	for (size_t i = 0; i < c->rootv.n; i++)
		update((oop *)c->rootv.v[i]);
	size_t k = 0;
	for (size_t i = 0; i < c->nsegs; i++) {
		for (char *p = c->segs[i].base; p < c->segs[i].end;) {
			if (((struct obj_header *)p)->fmt == GC_FREE) {
				p += gc_chunk_size(p);
				continue;
			}
			/* an object's slots are its own: read them at the old place */
			size_t n = live_size(c, p, &k);
			if (obj_hdr((oop)p)->fmt <= OBJ_FMT_IPTRS) {
				oop *s = obj_body((oop)p);
				for (size_t j = 0; j < (n - OBJ_HDR_BYTES) / 8; j++)
					update(&s[j]);
			}
			p += n;
		}
	}
	for (struct gc_large *l = c->large; l; l = l->next)
		if (obj_hdr((oop)(l + 1))->flags & OBJ_F_MARK)
			update_slots((oop)(l + 1));
}

/* ---- move, and rebuild the free space --------------------------------------- */

struct layout {
	size_t nt;      /* segment of the last placed object */
	char *end;      /* end of the last placed object */
	size_t live;
};

static void hole(struct gc *c, struct layout *L, char *to)
{
	if (to <= L->end)
		return;
	gc_old_make_free(c, L->end, (size_t)(to - L->end), 1);
	if (GC_POISON && to - L->end > 16)
		memset(L->end + 16, 0xdb, (size_t)(to - L->end) - 16);
}

/* The new layout, object by object in address order: whatever lies
 * between consecutive objects, or after the last one of a segment, is
 * free; a segment that receives nothing is empty. */
static void place(struct gc *c, struct layout *L, char *dst, size_t n)
{
	while (dst < c->segs[L->nt].base || dst >= c->segs[L->nt].end) {
		if (!c->segs[L->nt].empty)
			hole(c, L, c->segs[L->nt].end);
		L->nt++;
		L->end = c->segs[L->nt].base;
	}
	hole(c, L, dst);
	c->segs[L->nt].empty = 0;
	L->end = dst + n;
	L->live += n;
}

static size_t move_all(struct gc *c)
{
	struct layout L = { 0, c->segs[0].base, 0 };
	size_t k = 0;
	for (size_t i = 0; i < c->nsegs; i++)
		c->segs[i].empty = 1;
	for (size_t i = 0; i < c->nsegs; i++) {
		for (char *p = c->segs[i].base; p < c->segs[i].end;) {
			struct obj_header *h = (struct obj_header *)p;
			if (h->fmt == GC_FREE) {
				p += gc_chunk_size(p);
				continue;
			}
			if (h->flags & OBJ_F_FWD) {
				struct gc_w1 w = c->side[k++];
				size_t n = obj_size_for(w.slots);
				char *dst = (char *)obj_forward((oop)p);
				place(c, &L, dst, n);
				memmove(dst, p, n);
				struct obj_header *d = (struct obj_header *)dst;
				d->hash = w.hash;
				d->slots = w.slots;
				d->flags &= (uint8_t)~(OBJ_F_FWD | OBJ_F_MARK);
				p += n;
			} else {
				size_t n = obj_size((oop)p);
				place(c, &L, p, n);
				h->flags &= (uint8_t)~OBJ_F_MARK; /* header only: may be pinned */
				p += n;
			}
		}
	}
	if (!c->segs[L.nt].empty)
		hole(c, &L, c->segs[L.nt].end);
	return L.live;
}

/* Empty segments: keep enough to absorb a full new space, unmap the rest. */
static void release_segments(struct gc *c)
{
	size_t keep = c->new_bytes / c->seg_bytes + 1;
	for (size_t i = c->nsegs; i-- > 0;) {
		struct gc_seg *s = &c->segs[i];
		if (!s->empty)
			continue;
		if (keep) {
			keep--;
			madvise(s->base, (size_t)(s->end - s->base), MADV_DONTNEED);
			gc_old_make_free(c, s->base, (size_t)(s->end - s->base), 1);
			s->empty = 0;
		} else {
			gc_seg_unmap(c, i);
		}
	}
}

/* Lowest addresses first: allocation fills the bottom of old space. */
static void reverse_bins(struct gc *c)
{
	for (int b = 0; b < GC_NBINS; b++) {
		char *prev = NULL, *p = c->bins[b];
		while (p) {
			char *next = *(char **)(p + 8);
			*(char **)(p + 8) = prev;
			prev = p;
			p = next;
		}
		c->bins[b] = prev;
	}
}

static void shrink(struct gc_vec *v)
{
	if (v->cap > 65536) {
		uintptr_t *n = realloc(v->v, GC_MARK_MIN * sizeof *n);
		if (n) {
			v->v = n;
			v->cap = GC_MARK_MIN;
		}
	}
}

/*
 * Old space could not take all of new space (mmap failed): young objects
 * are left. They are marked and traced like the others, nothing moves
 * (their slots would not be updated), the remembered set stays, minus the
 * objects found dead, and their MARK bits are cleared here.
 */
static void young_left_after_mark(struct gc *c)
{
	size_t k = 0;
	for (size_t i = 0; i < c->rem.n; i++) {
		struct obj_header *h = obj_hdr(c->rem.v[i]);
		if (h->flags & OBJ_F_MARK)
			c->rem.v[k++] = c->rem.v[i];
		else
			h->flags &= (uint8_t)~OBJ_F_REMEMBERED;
	}
	c->rem.n = k;
	for (char *p = c->surv[c->from]; p < c->from_top; p += obj_size((oop)p))
		obj_hdr((oop)p)->flags &= (uint8_t)~OBJ_F_MARK;
}

void gc_full_now(struct gc *c)
{
	uint64_t t0 = baton_now_ns();
	uint64_t b0 = c->old_used + c->large_bytes;
	BATON__PROBE2(gc_begin, 1, b0);
	if (c->g->on_gc)
		c->g->on_gc(c->g->owner, 1, 0, b0);
	/* 1. new space into old space: afterwards nothing is young, unless
	 * old space could not grow */
	gc_scavenge_now(c, 1);
	int young_left = c->from_top != c->surv[c->from];
	if (!young_left) {
		for (size_t i = 0; i < c->rem.n; i++)
			obj_hdr(c->rem.v[i])->flags &= (uint8_t)~OBJ_F_REMEMBERED;
		c->rem.n = 0;
		c->rem_overflow = 0;
	}
	gc_old_retire(c);
	gc_old_clear_bins(c);

	/* 2. mark */
	c->mark.n = 0;
	c->mark_overflow = 0;
	c->rootv.n = 0;
	c->weak.n = 0;
	c->no_compact = young_left;
	gc_roots(c, mark_root);
	drain(c);
	remark(c);
	gc_final_full(c); /* marks the unreachable registered objects */
	weak_clear(c);
	dedup_roots(c);
	if (young_left)
		young_left_after_mark(c);

	/* 3. plan, update, move (sliding; pinned objects stay) */
	size_t live = 0;
	if (c->nsegs) {
		if (plan(c)) {
			update_all(c);
			gc_final_forward(c);
		}
		live = move_all(c);
		release_segments(c);
		reverse_bins(c);
	}
	gc_large_sweep(c);

	/* the tables can be large after a big heap: do not keep them */
	if (c->sidecap > 65536) {
		free(c->side);
		c->side = NULL;
		c->sidecap = 0;
	}
	shrink(&c->mark);
	shrink(&c->rootv);
	c->old_used = live;
	c->live_after_full = live + c->large_bytes;
	c->st.full_gcs++;
	gc_pause(c, baton_now_ns() - t0, 1);
	BATON__PROBE2(gc_end, 1, (uint64_t)c->live_after_full);
	if (c->g->on_gc)
		c->g->on_gc(c->g->owner, 1, 1, (uint64_t)c->live_after_full);
	gc_final_done(c);
}
