// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc_priv.h: the collector's private state and the functions its files
 * (gc.c policy and API, gc_new.c scavenger, gc_old.c old space, gc_full.c
 * mark-compact) share. Nothing outside vm/gc/ includes it.
 * See Documentation/vm/gc.md.
 */
#ifndef BATON_VM_GC_PRIV_H
#define BATON_VM_GC_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "baton.h"
#include "vm/gc/gc.h"

/*
 * Old space is a sorted array of segments (mmap'd, seg_bytes each) that are
 * always walkable from base to end: objects and free chunks, except for
 * the current bump region [cur, lim), which has no header until it is
 * sealed. A free chunk is a header word with fmt GC_FREE and its size in
 * words in [cls]; chunks of two words or more link to the next chunk of
 * their size bin through word 1. Objects above large_min live alone in a
 * mapping of their own (struct gc_large in front) and never move.
 */
#define GC_FREE 0xff /* fmt of a free chunk (never a real format) */
#define GC_NBINS 40  /* free chunk bins: [2^k, 2^(k+1)) words */
#define GC_HIST 1920 /* pause histogram buckets (see gc.c) */
#define GC_MARK_MIN 1024 /* mark stack entries always available */

/* Sanitizer builds overwrite memory the collector frees, so that a stale
 * oop kept by C code across an allocation fails at once. */
#if defined(__SANITIZE_ADDRESS__)
#define GC_POISON 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GC_POISON 1
#endif
#endif
#ifndef GC_POISON
#define GC_POISON 0
#endif

struct gc_seg {
	char *base, *end;
	int empty; /* full collection: no object left in it */
};

struct gc_large {
	struct gc_large *next, *prev;
	size_t map; /* bytes mapped, this header included */
	size_t pad; /* keeps the object 16-byte aligned */
};

/* Header word 1, saved while a moving object's word 1 holds its new address. */
struct gc_w1 {
	uint32_t hash, slots;
};

struct gc_vec {
	uintptr_t *v;
	size_t n, cap;
};

struct gc_span {
	char *lo, *hi;
};

/* Header flags of finalization (vm/obj.h leaves GC1..GC3 to the collector). */
#define GC_F_FINAL OBJ_F_GC1 /* registered for finalization */
#define GC_F_SEEN OBJ_F_GC2  /* inside a registry pass: entry already kept */
/* Weak object (gc_make_weak): its slots do not keep their referents alive;
 * a collection that frees a referent stores nil (g->fill) in the slot. */
#define GC_F_WEAK OBJ_F_GC3

/*
 * The finalization registry (gc_final.c). [young] and [old] list the
 * registered objects by space; an entry whose object lost GC_F_FINAL
 * (gc_final_remove) is stale and dropped by the next pass over its list,
 * and an object may be listed twice after a remove and an add (passes keep
 * one). Entries are weak: collections update or drop them. [ready]'s
 * entries from [head] on are roots. Capacities are reserved by
 * gc_final_add: old.cap >= young.n + old.n and ready.cap >= ready.n +
 * young.n + old.n, so a collection moves entries without allocating.
 */
struct gc_final {
	struct gc_vec young, old, ready;
	size_t head;  /* ready entries before it were taken */
	size_t nreg;  /* objects with GC_F_FINAL */
	int queued;   /* this collection made objects ready */
	void (*notify)(void *owner);
};

struct gc {
	struct gc_heap *g;

	/* new space: one mapping, eden then two survivor spaces */
	char *new_base;
	size_t new_bytes;
	char *eden_lo, *eden_hi;
	char *surv[2];
	size_t surv_bytes;
	int from;          /* index of the survivor space holding objects */
	char *from_top;    /* end of the objects in surv[from] */
	char *to_top, *to_scan; /* scavenge: copy and scan pointers */
	size_t young_max;  /* larger requests go to old space directly */
	unsigned tenure_age;

	/* old space */
	struct gc_seg *segs;
	size_t nsegs, segcap, seg_bytes;
	char *cur, *lim;   /* bump region */
	char *bins[GC_NBINS];
	size_t old_used;   /* object bytes in segments, live or not */
	size_t live_after_full;
	size_t next_full;  /* old_used + large_bytes that triggers a full GC */
	struct gc_large *large;
	size_t large_min, large_bytes, large_mapped;
	/* Mappings of freed large objects kept for reuse (gc_old.c): a
	 * program that reads a file in 1 MB chunks would otherwise map, fault
	 * in and unmap a megabyte per chunk. */
	struct gc_large *lfree;
	size_t lfree_bytes;
	size_t old_max;    /* heap_max - new space; 0: no limit */
	size_t ext_bytes;  /* memory outside the heap charged against old_max
			    * (gc_charge: process records and stacks) */
	size_t heap_max;

	/* scavenge work: promoted objects are scanned in allocation order */
	char *oscan;       /* scan pointer in the current region */
	struct gc_span *spans; /* retired regions still to scan */
	size_t nspans, spancap;
	int scavenging;

	/* remembered set: old objects that may refer to young ones */
	struct gc_vec rem;
	int rem_overflow;  /* a push failed: rescan all of old space */

	/* weak objects scanned by the current collection, whose slots are
	 * fixed (updated or cleared) once everything reachable is found */
	struct gc_vec weak;

	/* full collection */
	struct gc_vec mark;
	int mark_overflow;
	struct gc_w1 *side; /* saved header word 1 of the objects that move */
	struct gc_vec rootv; /* root slots, each once */
	int no_compact;      /* a table could not grow: nothing moves */
	size_t nside, sidecap;

	oop *pin_ref;      /* extra root during gc_pin */
	struct gc_final fin;

	unsigned stress, countdown;
	unsigned stress_full, stress_n; /* BATON_GC_STRESS_FULL */
	uint64_t eden_bytes; /* eden allocation retired by scavenges */
	struct gc_stats st;
	uint64_t hist[GC_HIST];
	uint64_t nhist;
};

static inline int gc_young(const struct gc *c, oop o)
{
	return gc_is_young(c->g, o);
}

/* Size in bytes of the object or free chunk at [p]. */
static inline size_t gc_chunk_size(const char *p)
{
	const struct obj_header *h = (const struct obj_header *)p;
	return h->fmt == GC_FREE ? (size_t)h->cls * 8 : obj_size_for(h->slots);
}

/* gc_old.c */
int gc_old_init(struct gc *c);
void gc_old_free(struct gc *c);
char *gc_old_refill(struct gc *c, size_t bytes); /* NULL: no memory */

/* A bump allocation in old space (segments): objects below large_min. */
static inline char *gc_old_alloc(struct gc *c, size_t bytes)
{
	char *p = c->cur;
	if (bytes <= (size_t)(c->lim - p)) {
		c->cur = p + bytes;
		c->old_used += bytes;
		return p;
	}
	return gc_old_refill(c, bytes);
}
void gc_old_seal(struct gc *c);    /* give the bump region a header */
void gc_old_retire(struct gc *c);  /* seal it and hand it back to the bins */
void gc_old_make_free(struct gc *c, char *p, size_t bytes, int bin);
void gc_old_clear_bins(struct gc *c);
/* A new segment (not on any free list, its memory zero), or NULL. */
char *gc_old_new_segment(struct gc *c);
/* [zero]: a reused mapping is zeroed (a new one always is). */
oop gc_large_alloc(struct gc *c, size_t bytes, int zero);
void gc_seg_unmap(struct gc *c, size_t i);
void gc_large_sweep(struct gc *c);

/* gc_new.c */
int gc_new_init(struct gc *c, size_t new_size);
void gc_new_free(struct gc *c);
void gc_scavenge_now(struct gc *c, int tenure_all);
void gc_promoted_span(struct gc *c, char *lo, char *hi);
oop gc_new_evacuate(struct gc *c, oop young); /* copy (once) during a scavenge */
void gc_new_drain(struct gc *c);              /* scan what was copied */

/* gc_full.c */
void gc_full_now(struct gc *c);
void gc_full_mark_root(oop *slot, void *c); /* mark and record a root slot */
void gc_full_trace(struct gc *c);           /* mark what the marked reach */

/* gc_final.c */
void gc_final_free(struct gc *c);
void gc_final_roots(struct gc *c, gc_visit_fn fn); /* the ready queue */
void gc_final_scavenge(struct gc *c);  /* after the scavenge's drain */
void gc_final_full(struct gc *c);      /* after marking */
void gc_final_forward(struct gc *c);   /* after planning: follow moves */
void gc_final_done(struct gc *c);      /* end of a collection: notify */
void gc_final_become(struct gc *c, oop from, oop to);

/* gc.c */
int gc_vec_push(struct gc_vec *v, uintptr_t x);
void gc_roots(struct gc *c, gc_visit_fn fn); /* the owner's roots and gc_pin's ref */
void gc_pause(struct gc *c, uint64_t ns, int full);
void gc_fatal(const char *what) __attribute__((noreturn));
/* A weak object met by a scan: listed for the fix-up (1), or 0 when the
 * list cannot grow (then the caller scans it as a strong one). */
static inline int gc_weak_defer(struct gc *c, oop o)
{
	return (obj_hdr(o)->flags & GC_F_WEAK) && gc_vec_push(&c->weak, o);
}

#endif /* BATON_VM_GC_PRIV_H */
