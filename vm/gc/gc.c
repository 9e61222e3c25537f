// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc.c: the collector's interface (vm/gc/gc.h): set-up, the allocation
 * slow paths and the policy deciding between scavenge, full collection and
 * OutOfMemory, the write barrier's slow path, pinning, statistics and a
 * heap verifier. The work itself is in gc_new.c (scavenger), gc_old.c (old
 * space memory) and gc_full.c (mark-compact). Owns struct gc's lifetime.
 * See Documentation/vm/gc.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/gc/gc_priv.h"
#include "vm/grow.h"

#define MIB ((size_t)1 << 20)
#define NEW_DEFAULT (8 * MIB)
#define NEW_MIN ((size_t)256 << 10)
#define TENURE_DEFAULT 3
#define FULL_MIN (16 * MIB) /* old space growth between full collections, at least */

void gc_fatal(const char *what)
{
	fprintf(stderr, "baton: %s\n", what);
	abort();
}

int gc_vec_push(struct gc_vec *v, uintptr_t x)
{
	if (!GROW(v->v, v->cap, v->n + 1, 1024))
		return 0;
	v->v[v->n++] = x;
	return 1;
}

void gc_roots(struct gc *c, gc_visit_fn fn)
{
	if (c->g->roots)
		c->g->roots(c->g->owner, fn, c);
	if (c->pin_ref && *c->pin_ref && obj_is_ptr(*c->pin_ref))
		fn(c->pin_ref, c);
	gc_final_roots(c, fn);
}

/* ---- lifecycle ------------------------------------------------------------ */

int gc_init(struct gc_heap *g, const struct gc_sizes *sizes, gc_roots_fn roots,
	    void *owner)
{
	static const struct gc_sizes none;
	if (!sizes)
		sizes = &none;
	struct gc *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->g = g;
	g->roots = roots;
	g->owner = owner;
	g->priv = c;
	c->heap_max = sizes->heap_max;
	size_t new_size = sizes->new_size ? sizes->new_size : NEW_DEFAULT;
	if (c->heap_max && new_size > c->heap_max / 4)
		new_size = c->heap_max / 4;
	if (new_size < NEW_MIN)
		new_size = NEW_MIN;
	c->tenure_age = sizes->tenure_age ? sizes->tenure_age : TENURE_DEFAULT;
	if (c->tenure_age > 255)
		c->tenure_age = 255;
	c->stress = sizes->stress;
	c->countdown = c->stress;
	/* debugging: every Nth stress collection a full one (moves old objects) */
	const char *e = getenv("BATON_GC_STRESS_FULL");
	c->stress_full = e ? (unsigned)strtoul(e, NULL, 10) : 0;
	/* the mark stack keeps this much even when it cannot grow */
	c->mark.v = malloc(GC_MARK_MIN * sizeof(uintptr_t));
	c->mark.cap = c->mark.v ? GC_MARK_MIN : 0;
	if (!c->mark.v || gc_new_init(c, new_size) < 0 || gc_old_init(c) < 0) {
		gc_free(g);
		return -ENOMEM;
	}
	if (c->heap_max)
		c->old_max = c->heap_max > c->new_bytes ? c->heap_max - c->new_bytes : 1;
	c->next_full = FULL_MIN > 2 * c->new_bytes ? FULL_MIN : 2 * c->new_bytes;
	if (c->old_max && c->next_full > c->old_max)
		c->next_full = c->old_max;
	return 0;
}

void gc_free(struct gc_heap *g)
{
	struct gc *c = g->priv;
	if (!c)
		return;
	gc_new_free(c);
	gc_old_free(c);
	gc_final_free(c);
	free(c->rem.v);
	free(c->weak.v);
	free(c->mark.v);
	free(c->rootv.v);
	free(c->side);
	free(c->spans);
	free(c);
	g->priv = NULL;
	g->top = g->limit = NULL;
	g->young_lo = g->young_hi = 0;
}

/* ---- policy --------------------------------------------------------------- */

static size_t old_total(const struct gc *c) { return c->old_used + c->large_bytes; }

static int over_limit(const struct gc *c, size_t extra)
{
	return c->old_max && old_total(c) + c->ext_bytes + extra > c->old_max;
}

static void full(struct gc *c)
{
	gc_full_now(c);
	/* let old space grow by as much as survived, 16 MiB at least */
	size_t live = c->live_after_full;
	size_t grow = live > FULL_MIN ? live : FULL_MIN;
	if (grow < 2 * c->new_bytes)
		grow = 2 * c->new_bytes;
	c->next_full = live + grow;
	if (c->old_max && c->next_full > c->old_max)
		c->next_full = c->old_max;
	c->st.old_bytes = old_total(c);
}

/* A scavenge, then a full collection if old space grew past its budget.
 * 0: old space is over the heap limit even so. */
static int collect(struct gc *c)
{
	gc_scavenge_now(c, 0);
	if (over_limit(c, 0) || old_total(c) > c->next_full)
		full(c);
	c->st.old_bytes = old_total(c);
	return !over_limit(c, 0);
}

/* Stress mode: a scavenge every [stress] allocations. It never fails the
 * allocation itself (the program must be able to handle OutOfMemory). */
static void stress_tick(struct gc *c)
{
	if (--c->countdown == 0) {
		c->countdown = c->stress;
		if (c->stress_full && ++c->stress_n % c->stress_full == 0)
			full(c);
		else
			collect(c);
	}
}

static oop fail(struct gc *c)
{
	c->st.alloc_failures++;
	return 0;
}

/* ---- allocation ----------------------------------------------------------- */

static void init_obj(struct gc *c, char *p, uint32_t cls, unsigned fmt, size_t slots,
		     unsigned odd, unsigned flags, int zeroed)
{
	oop o = (oop)p;
	obj_init_header(o, cls, fmt, slots, odd, flags);
	oop *b = obj_body(o);
	if (fmt <= OBJ_FMT_IPTRS) {
		oop f = c->g->fill;
		if (f || !zeroed)
			for (size_t i = 0; i < slots; i++)
				b[i] = f;
	} else if (!zeroed) {
		memset(b, 0, slots * 8);
	}
}

static oop alloc_old(struct gc *c, uint32_t cls, unsigned fmt, size_t slots, unsigned odd,
		     unsigned flags)
{
	if (slots > UINT32_MAX)
		return fail(c);
	size_t bytes = obj_size_for(slots);
	if (c->stress)
		stress_tick(c);
	if (over_limit(c, bytes) || old_total(c) + bytes > c->next_full) {
		full(c);
		if (over_limit(c, bytes))
			return fail(c);
	}
	int large = bytes >= c->large_min;
	int raw = (flags & GC_ALLOC_UNINIT) && fmt > OBJ_FMT_IPTRS;
	for (int attempt = 0;; attempt++) {
		char *p = large ? (char *)gc_large_alloc(c, bytes, !raw) : gc_old_alloc(c, bytes);
		if (p) {
			init_obj(c, p, cls, fmt, slots, odd, flags & OBJ_F_PINNED, large || raw);
			c->st.allocated_bytes += bytes;
			return (oop)p;
		}
		if (attempt)
			return fail(c);
		full(c); /* mmap failed: give memory back and retry once */
	}
}

oop gc_alloc_slow(struct gc_heap *g, uint32_t cls, unsigned fmt, size_t slots, unsigned odd)
{
	struct gc *c = g->priv;
	if (slots > (c->young_max - OBJ_HDR_BYTES) / 8)
		return alloc_old(c, cls, fmt, slots, odd, 0);
	size_t bytes = obj_size_for(slots);
	if (c->stress)
		stress_tick(c);
	if (bytes > (size_t)(c->eden_hi - g->top) && !collect(c))
		return fail(c); /* eden is empty now: the OutOfMemory handler can run */
	char *p = g->top;
	g->top = p + bytes;
	if (c->stress)
		g->limit = g->top;
	init_obj(c, p, cls, fmt, slots, odd, 0, 0);
	return (oop)p;
}

oop gc_alloc_old(struct gc_heap *g, uint32_t cls, unsigned fmt, size_t slots, unsigned odd,
		 unsigned flags)
{
	return alloc_old(g->priv, cls, fmt, slots, odd, flags);
}

/* ---- barrier, collections, pinning ------------------------------------------ */

void gc_remember(struct gc_heap *g, oop obj)
{
	struct gc *c = g->priv;
	obj_hdr(obj)->flags |= OBJ_F_REMEMBERED;
	if (!gc_vec_push(&c->rem, obj))
		c->rem_overflow = 1; /* the next scavenge scans all of old space */
}

void gc_scavenge(struct gc_heap *g)
{
	struct gc *c = g->priv;
	gc_scavenge_now(c, 0);
	c->st.old_bytes = old_total(c);
}

void gc_full(struct gc_heap *g) { full(g->priv); }

int gc_charge(struct gc_heap *g, size_t bytes, int force)
{
	struct gc *c = g->priv;
	if (!force && over_limit(c, bytes)) {
		full(c);
		if (over_limit(c, bytes)) {
			c->st.alloc_failures++;
			return 0;
		}
	}
	c->ext_bytes += bytes;
	return 1;
}

void gc_uncharge(struct gc_heap *g, size_t bytes)
{
	struct gc *c = g->priv;
	c->ext_bytes -= bytes < c->ext_bytes ? bytes : c->ext_bytes;
}

oop gc_pin(struct gc_heap *g, oop *ref)
{
	struct gc *c = g->priv;
	oop o = *ref;
	if (!o || !obj_is_ptr(o) || obj_is_pinned(o))
		return o;
	if (gc_young(c, o)) {
		/* tenure it: a scavenge that promotes it (every collection
		 * treats *ref as a root meanwhile) */
		c->pin_ref = ref;
		if (over_limit(c, obj_size(o))) {
			full(c);
		} else {
			obj_hdr(o)->flags |= OBJ_F_TENURE;
			gc_scavenge_now(c, 0);
			if (old_total(c) > c->next_full)
				full(c);
		}
		c->pin_ref = NULL;
		c->st.old_bytes = old_total(c);
		o = *ref;
		if (gc_young(c, o) || over_limit(c, 0)) {
			if (gc_young(c, o))
				obj_hdr(o)->flags &= (uint8_t)~OBJ_F_TENURE;
			c->st.alloc_failures++;
			return 0;
		}
	}
	obj_hdr(o)->flags |= OBJ_F_PINNED;
	c->st.pins++;
	return o;
}

void gc_unpin(struct gc_heap *g, oop o)
{
	(void)g;
	if (o && obj_is_ptr(o))
		obj_hdr(o)->flags &= (uint8_t)~OBJ_F_PINNED;
}

/* ---- statistics ---------------------------------------------------------- */

/*
 * Pause histogram: exact below 64 ns, then 32 linear buckets per power of
 * two (3% resolution), so the p99 of any run costs 15 KiB and O(1) per
 * pause.
 */
static unsigned bucket(uint64_t ns)
{
	if (ns < 64)
		return (unsigned)ns;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns);
	unsigned m = (unsigned)(ns >> (e - 5)) & 31u;
	return 64u + (e - 6u) * 32u + m;
}

static uint64_t bucket_top(unsigned b)
{
	if (b < 64)
		return b;
	unsigned e = (b - 64u) / 32u + 6u, m = (b - 64u) % 32u;
	uint64_t lo = (uint64_t)(32u + m) << (e - 5u);
	return lo + (((uint64_t)1 << (e - 5u)) - 1u);
}

void gc_pause(struct gc *c, uint64_t ns, int is_full)
{
	if (is_full) {
		c->st.full_ns += ns;
		if (ns > c->st.full_max_ns)
			c->st.full_max_ns = ns;
		return;
	}
	c->st.scavenge_ns += ns;
	if (ns > c->st.scavenge_max_ns)
		c->st.scavenge_max_ns = ns;
	c->hist[bucket(ns)]++;
	c->nhist++;
}

static uint64_t p99(const struct gc *c)
{
	if (!c->nhist)
		return 0;
	uint64_t want = (c->nhist * 99 + 99) / 100, seen = 0;
	for (unsigned b = 0; b < GC_HIST; b++) {
		seen += c->hist[b];
		if (seen >= want) {
			uint64_t v = bucket_top(b);
			return v < c->st.scavenge_max_ns ? v : c->st.scavenge_max_ns;
		}
	}
	return c->st.scavenge_max_ns;
}

void gc_get_stats(struct gc_heap *g, struct gc_stats *out)
{
	struct gc *c = g->priv;
	*out = c->st;
	out->allocated_bytes += c->eden_bytes + (uint64_t)(g->top - c->eden_lo);
	out->scavenge_p99_ns = p99(c);
	out->heap_bytes = c->new_bytes + c->nsegs * c->seg_bytes + c->large_mapped + c->lfree_bytes;
}

/* ---- verification ---------------------------------------------------------- */

struct vfy {
	struct gc *c;
	struct gc_vec objs;
	long errs;
	size_t flagged; /* objects registered for finalization */
	char *msg;
	size_t len;
};

static void complain(struct vfy *v, const char *fmt, ...)
{
	if (v->errs++ == 0 && v->len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(v->msg, v->len, fmt, ap);
		va_end(ap);
	}
}

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

static int known(struct vfy *v, oop o)
{
	return v->objs.n &&
	       bsearch(&o, v->objs.v, v->objs.n, sizeof(uintptr_t), cmp_uptr) != NULL;
}

static void gather(struct vfy *v, char *lo, char *hi, int free_ok)
{
	for (char *p = lo; p < hi;) {
		struct obj_header *h = (struct obj_header *)p;
		size_t n = gc_chunk_size(p);
		if (h->fmt == GC_FREE ? !free_ok || !h->cls : h->fmt >= OBJ_FMT_COUNT) {
			complain(v, "bad header at %p (fmt %u)", (void *)p, h->fmt);
			return;
		}
		if (n > (size_t)(hi - p)) {
			complain(v, "object at %p runs past its space", (void *)p);
			return;
		}
		if (h->fmt != GC_FREE && !gc_vec_push(&v->objs, (uintptr_t)p))
			complain(v, "verifier out of memory");
		p += n;
	}
}

static void check(struct vfy *v, oop o)
{
	struct gc *c = v->c;
	struct obj_header *h = obj_hdr(o);
	int young = gc_young(c, o);
	if (!h->cls)
		complain(v, "object %p has class index 0", (void *)o);
	if (h->flags & (OBJ_F_MARK | OBJ_F_FWD | GC_F_SEEN))
		complain(v, "object %p has collection bits %#x", (void *)o, h->flags);
	v->flagged += (h->flags & GC_F_FINAL) != 0;
	if (young && (h->flags & (OBJ_F_PINNED | OBJ_F_REMEMBERED)))
		complain(v, "young object %p is pinned or remembered", (void *)o);
	oop *s;
	size_t n = obj_ptr_slots(o, &s);
	int refs_young = 0;
	for (size_t i = 0; i < n; i++) {
		oop x = s[i];
		if (!x || obj_is_int(x))
			continue;
		if (!known(v, x)) {
			complain(v, "slot %zu of %p (class %u) holds %#lx, not an object", i,
				 (void *)o, h->cls, (unsigned long)x);
			return;
		}
		refs_young |= gc_young(c, x);
	}
	if (!young && refs_young && !(h->flags & OBJ_F_REMEMBERED))
		complain(v, "old %p refers to a young object and is not remembered", (void *)o);
}

/* The registry lists every registered object (in the list of its space),
 * the ready queue holds objects, and the reservations hold. */
static void verify_final(struct vfy *v)
{
	struct gc *c = v->c;
	struct gc_final *f = &c->fin;
	const struct gc_vec *lists[2] = { &f->young, &f->old };
	size_t listed = 0;
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			oop o = lists[l]->v[i];
			if (!known(v, o)) {
				complain(v, "finalization entry %#lx is not an object", (unsigned long)o);
				return;
			}
			if (gc_young(c, o) != !l)
				complain(v, "finalization entry %p is in the wrong list", (void *)o);
			struct obj_header *h = obj_hdr(o);
			if ((h->flags & (GC_F_FINAL | GC_F_SEEN)) == GC_F_FINAL) {
				h->flags |= GC_F_SEEN; /* count each object once */
				listed++;
			}
		}
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			obj_hdr(lists[l]->v[i])->flags &= (uint8_t)~GC_F_SEEN;
	if (listed != f->nreg || v->flagged != f->nreg)
		complain(v, "%zu objects registered, %zu flagged, %zu listed", f->nreg, v->flagged,
			 listed);
	for (size_t i = f->head; i < f->ready.n; i++)
		if (!known(v, f->ready.v[i]))
			complain(v, "ready entry %#lx is not an object", (unsigned long)f->ready.v[i]);
	size_t ent = f->young.n + f->old.n;
	if (f->head > f->ready.n || (ent && (f->old.cap < ent || f->ready.cap < f->ready.n + ent)))
		complain(v, "finalization reservations do not hold");
}

long gc_verify(struct gc_heap *g, char *msg, size_t len)
{
	struct gc *c = g->priv;
	struct vfy v = { .c = c, .msg = msg, .len = len };
	if (len)
		msg[0] = 0;
	gc_old_seal(c);
	gather(&v, c->eden_lo, g->top, 0);
	gather(&v, c->surv[c->from], c->from_top, 0);
	size_t used = 0;
	for (size_t i = 0; i < c->nsegs; i++) {
		size_t before = v.objs.n;
		gather(&v, c->segs[i].base, c->segs[i].end, 1);
		for (size_t k = before; k < v.objs.n; k++)
			used += obj_size(v.objs.v[k]);
	}
	/* the bump region's unused part counts as free; a sealed region is
	 * indistinguishable from a chunk, so it needs nothing else */
	size_t large = 0;
	for (struct gc_large *l = c->large; l; l = l->next) {
		oop o = (oop)(l + 1);
		large += obj_size(o);
		if (!gc_vec_push(&v.objs, o))
			complain(&v, "verifier out of memory");
	}
	if (used != c->old_used)
		complain(&v, "old space holds %zu object bytes, accounting says %zu", used,
			 c->old_used);
	if (large != c->large_bytes)
		complain(&v, "large objects hold %zu bytes, accounting says %zu", large,
			 c->large_bytes);
	if (v.objs.n > 1)
		qsort(v.objs.v, v.objs.n, sizeof(uintptr_t), cmp_uptr);
	for (size_t i = 0; i < v.objs.n; i++)
		check(&v, v.objs.v[i]);
	for (size_t i = 0; i < c->rem.n; i++)
		if (!(obj_hdr(c->rem.v[i])->flags & OBJ_F_REMEMBERED))
			complain(&v, "remembered set entry %p lacks its flag", (void *)c->rem.v[i]);
	verify_final(&v);
	for (int b = 0; b < GC_NBINS; b++)
		for (char *p = c->bins[b]; p; p = *(char **)(p + 8)) {
			struct obj_header *h = (struct obj_header *)p;
			if (h->fmt != GC_FREE || h->cls < 2) {
				complain(&v, "free list %d holds a non-chunk at %p", b, (void *)p);
				break;
			}
		}
	free(v.objs.v);
	return v.errs;
}

/* ---- become ---------------------------------------------------------------- */

static void each_area(char *lo, char *hi, void (*fn)(oop, void *), void *ud)
{
	for (char *p = lo; p < hi; p += gc_chunk_size(p))
		if (((struct obj_header *)p)->fmt != GC_FREE)
			fn((oop)p, ud);
}

void gc_each_object(struct gc_heap *g, void (*fn)(oop o, void *ud), void *ud)
{
	struct gc *c = g->priv;
	gc_old_seal(c);
	each_area(c->eden_lo, g->top, fn, ud);
	each_area(c->surv[c->from], c->from_top, fn, ud);
	for (size_t i = 0; i < c->nsegs; i++)
		each_area(c->segs[i].base, c->segs[i].end, fn, ud);
	for (struct gc_large *l = c->large; l; l = l->next)
		fn((oop)(l + 1), ud);
}

/* gc_become_forward_many: [n] pairs, sorted by [from]; binary search per slot. */
struct becn {
	const struct gc_bec_pair *p;
	size_t n;
};

static void becn_slot(oop *s, void *ud)
{
	const struct becn *b = ud;
	oop v = *s;
	if (!obj_is_ptr(v) || !v || v < b->p[0].from || v > b->p[b->n - 1].from)
		return;
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->p[mid].from < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < b->n && b->p[lo].from == v)
		*s = b->p[lo].to;
}

/* Dead objects are walked too: they are intact, and only compared. */
static void becn_area(struct becn *b, char *lo, char *hi)
{
	for (char *p = lo; p < hi; p += gc_chunk_size(p)) {
		if (((struct obj_header *)p)->fmt == GC_FREE)
			continue;
		oop *s;
		size_t n = obj_ptr_slots((oop)p, &s);
		for (size_t i = 0; i < n; i++)
			becn_slot(&s[i], b);
	}
}

static int bec_cmp(const void *x, const void *y)
{
	oop a = ((const struct gc_bec_pair *)x)->from, b = ((const struct gc_bec_pair *)y)->from;
	return a < b ? -1 : a > b;
}

void gc_become_forward_many(struct gc_heap *g, struct gc_bec_pair *pairs, size_t n)
{
	struct gc *c = g->priv;
	if (!n)
		return;
	qsort(pairs, n, sizeof *pairs, bec_cmp);
	struct becn b = { pairs, n };
	gc_old_seal(c);
	if (g->roots)
		g->roots(g->owner, becn_slot, &b);
	if (c->pin_ref)
		becn_slot(c->pin_ref, &b);
	for (size_t i = 0; i < n; i++)
		gc_final_become(c, pairs[i].from, pairs[i].to);
	becn_area(&b, c->eden_lo, g->top);
	becn_area(&b, c->surv[c->from], c->from_top);
	for (size_t i = 0; i < c->nsegs; i++)
		becn_area(&b, c->segs[i].base, c->segs[i].end);
	for (struct gc_large *l = c->large; l; l = l->next)
		becn_area(&b, (char *)(l + 1), (char *)(l + 1) + obj_size((oop)(l + 1)));
}

void gc_become_forward(struct gc_heap *g, oop from, oop to)
{
	struct gc_bec_pair p = {from, to};
	gc_become_forward_many(g, &p, 1);
}

int gc_make_weak(struct gc_heap *g, oop o)
{
	(void)g;
	if (!obj_is_ptr(o) || !obj_has_ptrs(o))
		return -EINVAL;
	obj_hdr(o)->flags |= GC_F_WEAK;
	return 0;
}
