// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc_final.c: finalization: the registry of objects to report when
 * they become unreachable (gc_final_add/remove), its pass in each
 * collection (a scavenge resurrects the young registered objects it did not
 * reach, a full collection the registered objects left unmarked) and the
 * ready queue the owner takes them from (gc_final_take). Owns struct
 * gc_final; copies and marks only through gc_new.c and gc_full.c.
 * See Documentation/vm/gc.md ("Finalization").
 */
#include <errno.h>
#include <string.h>

#include "vm/gc/gc_priv.h"
#include "vm/grow.h"

static int reserve(struct gc_vec *v, size_t need)
{
	return GROW(v->v, v->cap, need, 64);
}

/* Drops the stale entries of [v] and the second listing of an object;
 * every kept object has GC_F_SEEN afterwards (see unsee). */
static void prune(struct gc_vec *v)
{
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++) {
		struct obj_header *h = obj_hdr(v->v[i]);
		if ((h->flags & (GC_F_FINAL | GC_F_SEEN)) != GC_F_FINAL)
			continue;
		h->flags |= GC_F_SEEN;
		v->v[k++] = v->v[i];
	}
	v->n = k;
}

static void unsee(struct gc_vec *v, size_t from)
{
	for (size_t i = from; i < v->n; i++)
		obj_hdr(v->v[i])->flags &= (uint8_t)~GC_F_SEEN;
}

/* Taken entries of the ready queue: given back once they are half of it. */
static void ready_compact(struct gc_final *f)
{
	if (f->head == f->ready.n) {
		f->head = f->ready.n = 0;
	} else if (f->head && 2 * f->head >= f->ready.n) {
		memmove(f->ready.v, f->ready.v + f->head,
			(f->ready.n - f->head) * sizeof *f->ready.v);
		f->ready.n -= f->head;
		f->head = 0;
	}
}

int gc_final_add(struct gc_heap *g, oop o)
{
	struct gc *c = g->priv;
	struct gc_final *f = &c->fin;
	if (!o || !obj_is_ptr(o))
		return -EINVAL;
	struct obj_header *h = obj_hdr(o);
	if (h->flags & GC_F_FINAL)
		return 0;
	/* add, remove, add... between collections: keep the lists bounded */
	if (f->young.n + f->old.n >= 2 * f->nreg + 64) {
		prune(&f->young);
		unsee(&f->young, 0);
		prune(&f->old);
		unsee(&f->old, 0);
	}
	ready_compact(f);
	size_t ent = f->young.n + f->old.n + 1;
	struct gc_vec *list = gc_young(c, o) ? &f->young : &f->old;
	if (!reserve(list, list->n + 1) || !reserve(&f->old, ent) ||
	    !reserve(&f->ready, f->ready.n + ent))
		return -ENOMEM;
	list->v[list->n++] = o;
	h->flags |= GC_F_FINAL;
	f->nreg++;
	return 1;
}

int gc_final_remove(struct gc_heap *g, oop o)
{
	struct gc *c = g->priv;
	if (!o || !obj_is_ptr(o) || !(obj_hdr(o)->flags & GC_F_FINAL))
		return 0;
	obj_hdr(o)->flags &= (uint8_t)~GC_F_FINAL; /* its entry is stale now */
	c->fin.nreg--;
	return 1;
}

oop gc_final_take(struct gc_heap *g)
{
	struct gc *c = g->priv;
	struct gc_final *f = &c->fin;
	if (f->head == f->ready.n)
		return 0;
	oop o = f->ready.v[f->head++];
	if (f->head == f->ready.n)
		f->head = f->ready.n = 0;
	c->st.finalized++;
	return o;
}

size_t gc_final_ready(struct gc_heap *g)
{
	struct gc *c = g->priv;
	return c->fin.ready.n - c->fin.head;
}

size_t gc_final_registered(struct gc_heap *g)
{
	struct gc *c = g->priv;
	return c->fin.nreg;
}

void gc_final_notify(struct gc_heap *g, void (*fn)(void *owner))
{
	struct gc *c = g->priv;
	c->fin.notify = fn;
}

void gc_final_free(struct gc *c)
{
	free(c->fin.young.v);
	free(c->fin.old.v);
	free(c->fin.ready.v);
	memset(&c->fin, 0, sizeof c->fin);
}

void gc_final_roots(struct gc *c, gc_visit_fn fn)
{
	struct gc_final *f = &c->fin;
	for (size_t i = f->head; i < f->ready.n; i++)
		fn(&f->ready.v[i], c);
}

/* An unreachable registered object: unregistered, queued, kept. */
static void make_ready(struct gc *c, oop o)
{
	struct gc_final *f = &c->fin;
	obj_hdr(o)->flags &= (uint8_t)~GC_F_FINAL;
	f->nreg--;
	f->ready.v[f->ready.n++] = o; /* reserved by gc_final_add */
	f->queued = 1;
}

/*
 * After a scavenge has copied everything reachable: a young registered
 * object that was copied moves with its entry (to the old list if it was
 * promoted); one that was not is copied now, with what it references, and
 * queued. A forwarded object keeps its header word 0, flags included.
 */
void gc_final_scavenge(struct gc *c)
{
	struct gc_final *f = &c->fin;
	size_t k = 0, old0 = f->old.n, ready0 = f->ready.n;
	for (size_t i = 0; i < f->young.n; i++) {
		oop o = f->young.v[i];
		struct obj_header *h = obj_hdr(o);
		if (!(h->flags & GC_F_FINAL))
			continue;
		if (!obj_is_forwarded(o)) {
			make_ready(c, o);
			continue;
		}
		oop n = obj_forward(o);
		struct obj_header *nh = obj_hdr(n);
		if (nh->flags & GC_F_SEEN)
			continue;
		nh->flags |= GC_F_SEEN;
		if (gc_young(c, n))
			f->young.v[k++] = n;
		else
			f->old.v[f->old.n++] = n; /* reserved by gc_final_add */
	}
	f->young.n = k;
	unsee(&f->young, 0);
	unsee(&f->old, old0);
	if (f->ready.n == ready0)
		return;
	/* copy the queued ones only now: what they reference was not reached
	 * either, and a registered object among it is queued as well */
	for (size_t i = ready0; i < f->ready.n; i++)
		f->ready.v[i] = gc_new_evacuate(c, f->ready.v[i]);
	gc_new_drain(c);
}

static void full_pass(struct gc *c, struct gc_vec *v)
{
	size_t k = 0;
	for (size_t i = 0; i < v->n; i++) {
		oop o = v->v[i];
		struct obj_header *h = obj_hdr(o);
		if (!(h->flags & GC_F_FINAL))
			continue;
		if (!(h->flags & OBJ_F_MARK)) {
			make_ready(c, o);
			continue;
		}
		if (h->flags & GC_F_SEEN)
			continue;
		h->flags |= GC_F_SEEN;
		v->v[k++] = o;
	}
	v->n = k;
	unsee(v, 0);
}

/* After marking: every registered object left unmarked is queued, then
 * marked with what it references. The queue does not move while the
 * collection records its slots (no growth: capacity is reserved). */
void gc_final_full(struct gc *c)
{
	struct gc_final *f = &c->fin;
	size_t ready0 = f->ready.n;
	full_pass(c, &f->young); /* young objects are left only if old space could not grow */
	full_pass(c, &f->old);
	if (f->ready.n == ready0)
		return;
	for (size_t i = ready0; i < f->ready.n; i++)
		gc_full_mark_root(&f->ready.v[i], c);
	gc_full_trace(c);
}

/* Compaction has planned the moves (OBJ_F_FWD, new address in word 1):
 * the registry follows them; the ready queue is updated as roots. */
void gc_final_forward(struct gc *c)
{
	struct gc_vec *v = &c->fin.old;
	for (size_t i = 0; i < v->n; i++)
		if (obj_is_forwarded(v->v[i]))
			v->v[i] = obj_forward(v->v[i]);
}

void gc_final_done(struct gc *c)
{
	struct gc_final *f = &c->fin;
	if (!f->queued)
		return;
	f->queued = 0;
	if (f->notify)
		f->notify(c->g->owner);
}

/* gc_become_forward: [to] takes over [from]'s registration. */
void gc_final_become(struct gc *c, oop from, oop to)
{
	struct gc_final *f = &c->fin;
	for (size_t i = f->head; i < f->ready.n; i++)
		if (f->ready.v[i] == from)
			f->ready.v[i] = to;
	if (obj_is_ptr(from) && (obj_hdr(from)->flags & GC_F_FINAL)) {
		gc_final_remove(c->g, from);
		gc_final_add(c->g, to); /* -ENOMEM: [to] is simply not registered */
	}
}
