// SPDX-License-Identifier: MIT
// INTERFACE-READY
/*
 * vm/gc/gc.h: the allocator and collector interface (generational, moving,
 * with pinning). The collector owns new space, old space, the remembered set
 * and its statistics; it never interprets objects beyond vm/obj.h and finds
 * roots only through the callback its owner registers with gc_init(). It
 * knows nothing of the Smalltalk VM: a heap is a struct gc_heap, which the VM
 * embeds in struct st_vm and a selftest may declare on its own.
 * See Documentation/vm/gc.md.
 */
#ifndef BATON_VM_GC_H
#define BATON_VM_GC_H

#include <stddef.h>
#include <stdint.h>

#include "vm/obj.h"

/*
 * The contract between the heap's owner (the VM) and the collector.
 *
 * - The collector runs only on the thread that owns the heap (the VM's
 *   owner), and only inside gc_alloc*(), gc_scavenge(), gc_full() and
 *   gc_pin(). Any of these may move every young object and (gc_full) every
 *   unpinned old object: C code keeps no oop in a local across them unless
 *   that local is a registered root (the VM's ST_ROOT/ST_UNROOT) or is
 *   re-read from a root afterwards.
 * - Roots are exactly what the roots callback (gc_roots_fn) presents, plus
 *   the references found in reachable objects. The callback presents every
 *   root slot (oop *); the VM's (vm/roots.c) presents the live part of
 *   every process stack (including processes stuck in a callout on another
 *   OS thread), the class table, symbol and global tables, special
 *   objects, C root stack. The collector may rewrite any presented slot; it
 *   ignores SmallIntegers (obj_is_int) and 0 in them.
 * - Pinned objects (OBJ_F_PINNED) never move, whatever the collection. C
 *   code in a callout on another thread may read and write their bodies
 *   while a collection runs: the collector must not write into the body of
 *   a pinned object (it may write its header flags/age/hash bits only).
 * - Pointer slots of new objects hold g->fill (nil, once the VM made it;
 *   0 before: the VM then fills them itself), raw slots are zero.
 * - Heap limit: when an allocation cannot be satisfied within heap_max even
 *   after a full collection, the allocators answer 0 and the VM signals
 *   OutOfMemory. The VM stays usable (the failed request changed nothing).
 */

/* Sizes and modes for gc_init(). Zero fields take the defaults. */
struct gc_sizes {
	size_t new_size; /* new space bytes (eden + survivors); default 8 MiB */
	size_t heap_max; /* all heap bytes (new + old) at most; 0: no limit */
	unsigned stress; /* 0: off; N: scavenge at every Nth allocation
			  * (BATON_GC_STRESS=N; main() reads the environment) */
	unsigned tenure_age; /* scavenges survived before promotion; default 3 */
};

/* Counters, monotonic since gc_init(). */
struct gc_stats {
	uint64_t scavenges;
	uint64_t full_gcs;
	uint64_t allocated_bytes;  /* requested through every allocator */
	uint64_t tenured_bytes;    /* promoted from new to old space */
	uint64_t scavenge_ns;      /* total pause time in scavenges */
	uint64_t scavenge_max_ns;
	uint64_t scavenge_p99_ns;  /* 99th percentile pause over the run */
	uint64_t full_ns;          /* total pause time in full collections */
	uint64_t full_max_ns;
	uint64_t pins;             /* gc_pin() calls that pinned something */
	uint64_t alloc_failures;   /* requests answered 0 (heap limit) */
	uint64_t finalized;        /* ready objects the owner took (gc_final_take) */
	size_t old_bytes;          /* old space in use after the last GC */
	size_t heap_bytes;         /* bytes reserved for the heap now */
};

/* Presents one root slot; [ud] is the collector's. */
typedef void (*gc_visit_fn)(oop *slot, void *ud);

/*
 * The owner's roots: calls [visit](slot, [vud]) for every root slot. The
 * collector calls it once per scavenge and once per full collection, before
 * it moves anything, so the owner may also drop its caches of oops there
 * (the VM drops its method cache). [owner] is what gc_init() was given.
 */
typedef void (*gc_roots_fn)(void *owner, gc_visit_fn visit, void *vud);

/*
 * A heap. The VM embeds it in struct st_vm as [gc]. The first members are
 * read by the inline fast paths below; [priv] is the collector's own. The
 * owner sets [fill] and reads nothing else.
 */
struct gc_heap {
	char *top;          /* eden bump pointer */
	char *limit;        /* end of eden (== top to force the slow path) */
	uintptr_t young_lo; /* every young object lies in [young_lo, young_hi) */
	uintptr_t young_hi;
	oop fill;           /* initial pointer-slot value: the owner's nil */
	gc_roots_fn roots;  /* the owner's roots (gc_init) */
	void *owner;        /* passed to [roots] */
	void *priv;         /* collector private state */
	/* Optional (NULL: none): told when a collection begins (end 0) and
	 * ends (end 1); [full] 0 scavenge, 1 full; [bytes]: at the begin, the
	 * bytes to collect (eden / old space), at the end what survived. For
	 * the VM's --trace; the USDT probes gc_begin/gc_end fire regardless. */
	void (*on_gc)(void *owner, int full, int end, uint64_t bytes);
};

/* ---- lifecycle -------------------------------------------------------- */

/* Sets up the spaces of zeroed [g] and registers the owner's roots
 * ([roots] may be NULL: then only gc_pin's argument is a root); 0 on
 * success, -errno on failure. */
int gc_init(struct gc_heap *g, const struct gc_sizes *sizes, gc_roots_fn roots,
	    void *owner);
void gc_free(struct gc_heap *g);

/* ---- allocation --------------------------------------------------------- */

/* Slow path of gc_alloc(): refills eden (scavenging as needed), places
 * large objects in old space directly. 0: heap limit reached. */
oop gc_alloc_slow(struct gc_heap *g, uint32_t cls, unsigned fmt, size_t slots,
		  unsigned odd);

/* gc_alloc_old() [flags]: a byte object whose body the caller fills at once
 * (a read straight into it): its memory need not be zeroed first. The
 * caller must not let unfilled bytes be seen. */
#define GC_ALLOC_UNINIT 0x10000u

/* An object straight in old space (classes, methods, symbols, anything the
 * VM wants tenured from birth). [flags] may be OBJ_F_PINNED. 0: limit. */
oop gc_alloc_old(struct gc_heap *g, uint32_t cls, unsigned fmt, size_t slots,
		 unsigned odd, unsigned flags);

/* Objects larger than this are never made in eden: copying them at every
 * scavenge (and at the scavenge that pinning a young object costs) would
 * cost more than their allocation; they go to old space, the largest to a
 * mapping of their own. The slow path applies the exact limit (smaller for
 * a small new space). */
#define GC_YOUNG_MAX_BYTES ((size_t)64 << 10)

/* A new object of [slots] body words, [odd] unused trailing bytes (byte
 * format only). Fast path: a bump in eden. */
static inline oop gc_alloc(struct gc_heap *g, uint32_t cls, unsigned fmt,
			   size_t slots, unsigned odd)
{
	size_t bytes = obj_size_for(slots);
	char *p = g->top;
	if (__builtin_expect(bytes <= GC_YOUNG_MAX_BYTES && bytes <= (size_t)(g->limit - p), 1)) {
		g->top = p + bytes;
		oop o = (oop)p;
		obj_init_header(o, cls, fmt, slots, odd, 0);
		oop *b = obj_body(o);
		if (fmt <= OBJ_FMT_IPTRS) {
			for (size_t i = 0; i < slots; i++)
				b[i] = g->fill;
		} else {
			for (size_t i = 0; i < slots; i++)
				b[i] = 0;
		}
		return o;
	}
	return gc_alloc_slow(g, cls, fmt, slots, odd);
}

/* ---- write barrier ------------------------------------------------------ */

static inline int gc_is_young(const struct gc_heap *g, oop o)
{
	return obj_is_ptr(o) && o - g->young_lo < g->young_hi - g->young_lo;
}

/* Adds old [obj] to the remembered set (slow path of gc_wb). */
void gc_remember(struct gc_heap *g, oop obj);

/*
 * Must follow every store of an oop [val] into a slot of heap object [obj]
 * (stores into process stacks and C roots need none). Cheap when [val] is
 * a SmallInteger or old, or [obj] is young or already remembered.
 */
static inline void gc_wb(struct gc_heap *g, oop obj, oop val)
{
	if (gc_is_young(g, val) && !gc_is_young(g, obj) &&
	    !(obj_hdr(obj)->flags & OBJ_F_REMEMBERED))
		gc_remember(g, obj);
}

/* Store with barrier: the way to write slot [i] of [obj]. */
static inline void gc_store(struct gc_heap *g, oop obj, size_t i, oop val)
{
	obj_body(obj)[i] = val;
	gc_wb(g, obj, val);
}

/* After bulk stores into [obj] whose values were not checked (memcpy of
 * slots, become...): remembers [obj] if it is old. */
static inline void gc_wb_bulk(struct gc_heap *g, oop obj)
{
	if (!gc_is_young(g, obj) && !(obj_hdr(obj)->flags & OBJ_F_REMEMBERED))
		gc_remember(g, obj);
}

/* ---- collections -------------------------------------------------------- */

void gc_scavenge(struct gc_heap *g); /* new space only */
void gc_full(struct gc_heap *g);     /* everything */
/* Memory the owner keeps outside the heap (the VM's process records and
 * stacks) counts against heap_max like old space: charge it when taken (0:
 * over the limit even after a full collection; nothing charged; [force]:
 * charge anyway) and uncharge it when freed. It never triggers a GC by its
 * growth alone, since no collection can free it. */
int gc_charge(struct gc_heap *g, size_t bytes, int force);
void gc_uncharge(struct gc_heap *g, size_t bytes);

/*
 * Replaces every reference to [from] by [to], in every object and root:
 * one walk over the heap, no collection. [to] must be old (then no store
 * needs a barrier). For reshaping an object that cannot grow in place, such
 * as a class that gains class-instance variables.
 */
void gc_become_forward(struct gc_heap *g, oop from, oop to);
/* The same for [n] pairs in one walk ([to]s old); sorts [pairs] by [from]. */
struct gc_bec_pair {
	oop from, to;
};
void gc_become_forward_many(struct gc_heap *g, struct gc_bec_pair *pairs, size_t n);

/* Calls [fn] on every object in the heap, dead ones included until the next
 * collection frees them (gc_full() first to see only the live ones). [fn]
 * must not allocate. */
void gc_each_object(struct gc_heap *g, void (*fn)(oop o, void *ud), void *ud);

/*
 * Makes pointer object [o] weak: from the next collection on its slots do
 * not keep their referents alive, and a collection that frees a referent
 * stores nil (g->fill) in the slot. Answers 0, or -EINVAL when [o] has no
 * pointer slots. Lasts for the object's life (copies made by the owner,
 * e.g. shallowCopy, are not weak).
 */
int gc_make_weak(struct gc_heap *g, oop o);
static inline int gc_is_weak(oop o) { return obj_is_ptr(o) && (obj_hdr(o)->flags & OBJ_F_GC3) != 0; }

/* ---- pinning ------------------------------------------------------------ */

/*
 * Pins *[ref]. A young object is tenured first (by a scavenge that promotes
 * it), so its address changes: gc_pin updates *[ref] (which must be a C
 * variable or a root slot; the collector treats it as a root during the
 * call) and answers the pinned oop. Answers 0 if tenuring hit the heap
 * limit (nothing pinned). Pinning a pinned object is a no-op.
 */
oop gc_pin(struct gc_heap *g, oop *ref);
void gc_unpin(struct gc_heap *g, oop o);
static inline int gc_is_pinned(oop o) { return obj_is_pinned(o); }

/* ---- finalization ------------------------------------------------------- */

/*
 * A registry of objects the owner wants to hear about when they become
 * unreachable. The registry does not keep them alive. A collection that
 * finds a registered object unreachable (a scavenge: a young one it did not
 * reach; a full collection: any one left unmarked) keeps it once more, with
 * everything it references, unregisters it and appends it to the ready
 * queue. Ready objects are roots until the owner takes them. Each
 * collection costs O(registered objects it may free): a scavenge walks the
 * young ones only. Registering reserves all the memory the collections will
 * need for the entry, so a collection never fails for it.
 */

/* 1: registered now; 0: it already was; -EINVAL: not an object; -ENOMEM. */
int gc_final_add(struct gc_heap *g, oop o);
/* 1: it was registered (no longer); 0: it was not. O(1). */
int gc_final_remove(struct gc_heap *g, oop o);
/* The oldest ready object, removed from the queue (no longer a root), or
 * 0: none. Counted in gc_stats.finalized. */
oop gc_final_take(struct gc_heap *g);
size_t gc_final_ready(struct gc_heap *g);      /* ready objects not taken yet */
size_t gc_final_registered(struct gc_heap *g); /* registered objects */
/* [fn](owner) runs at the end of every collection that made objects ready,
 * on the collecting thread, before the allocation that triggered it
 * returns; it must neither allocate nor collect. NULL: none. */
void gc_final_notify(struct gc_heap *g, void (*fn)(void *owner));

/* ---- cloning ------------------------------------------------------------ */

/*
 * A heap built once and copied many times (the VM's boot template: vm/boot_clone.c).
 * gc_freeze() makes [g] a source: a full collection (nothing young is left),
 * then new space's pages and the collection tables are given back. From then
 * on nobody may allocate in [g], collect it or write into its objects: copies
 * read it from any thread, without a lock.
 */
void gc_freeze(struct gc_heap *g);

/*
 * Copies every object of frozen [src] into [dst], which gc_init() made and
 * which holds no object yet: the used part of each old-space segment, each
 * large object. Every pointer slot of the copies, and every root slot that
 * [dst]'s roots callback presents (the owner has copied its tables of
 * [src]'s oops before the call), is relocated by the delta of the area it
 * points into; dst->fill becomes the copy of src->fill. The copies keep
 * their headers (classes, identity hashes, pinning). 0 on success; -EBUSY
 * ([src] not frozen or [dst] not empty), -E2BIG ([dst]'s segments are
 * smaller than what a source segment holds), -ENOMEM (heap limit, no
 * memory), -EFAULT (a slot or root pointed outside [src]): then [dst] is
 * empty again, and the owner's root slots must be discarded.
 */
int gc_clone_from(struct gc_heap *dst, const struct gc_heap *src);

/* ---- statistics --------------------------------------------------------- */

void gc_get_stats(struct gc_heap *g, struct gc_stats *out);

/* Checks the heap (debugging and selftests): every object's header, every
 * pointer slot refers to an object, every old object referring to a young
 * one is remembered, the space accounting. Answers the number of problems
 * found and describes the first in [msg]. Allocates nothing in the heap. */
long gc_verify(struct gc_heap *g, char *msg, size_t len);

#endif /* BATON_VM_GC_H */
