// SPDX-License-Identifier: MIT
/*
 * vm/gc/gc_old.c: old space memory: segments, free chunk bins, the bump
 * region that tenuring and old allocations carve from them, and large
 * objects (one mapping each). Owns every mmap/munmap of old space; never
 * moves an object (that is gc_full.c's job) and never writes into an
 * object's body. See Documentation/vm/gc.md.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/gc/gc_priv.h"
#include "vm/grow.h"

static int bin_of(size_t words)
{
	int b = 63 - __builtin_clzl(words);
	return b < GC_NBINS ? b : GC_NBINS - 1;
}

/* Turns [p, p+bytes) into a free chunk; [bin]: also list it for reuse. */
void gc_old_make_free(struct gc *c, char *p, size_t bytes, int bin)
{
	size_t words = bytes / 8;
	struct obj_header *h = (struct obj_header *)p;
	h->cls = (uint32_t)words;
	h->fmt = GC_FREE;
	h->flags = 0;
	h->age = 0;
	h->odd = 0;
	if (bin && words >= 2) {
		int b = bin_of(words);
		*(char **)(p + 8) = c->bins[b];
		c->bins[b] = p;
	}
}

void gc_old_clear_bins(struct gc *c) { memset(c->bins, 0, sizeof c->bins); }

void gc_old_seal(struct gc *c)
{
	if (c->cur < c->lim)
		gc_old_make_free(c, c->cur, (size_t)(c->lim - c->cur), 0);
}

/* During a scavenge the promoted objects of a region are scanned later:
 * remember the part not scanned yet before leaving the region. */
void gc_old_retire(struct gc *c)
{
	if (c->scavenging && c->oscan < c->cur)
		gc_promoted_span(c, c->oscan, c->cur);
	if (c->cur < c->lim)
		gc_old_make_free(c, c->cur, (size_t)(c->lim - c->cur), 1);
	c->cur = c->lim = c->oscan = NULL;
}

static char *take_chunk(struct gc *c, size_t words)
{
	int b0 = bin_of(words);
	for (int b = b0 + 1; b < GC_NBINS; b++) {
		char *p = c->bins[b];
		if (p) {
			c->bins[b] = *(char **)(p + 8);
			return p;
		}
	}
	/* first fit among the chunks of the same class, a bounded search */
	char **link = &c->bins[b0];
	for (int i = 0; *link && i < 64; i++) {
		char *p = *link;
		if (((struct obj_header *)p)->cls >= words) {
			*link = *(char **)(p + 8);
			return p;
		}
		link = (char **)(p + 8);
	}
	return NULL;
}

char *gc_old_new_segment(struct gc *c)
{
	if (!GROW(c->segs, c->segcap, c->nsegs + 1, 16))
		return NULL;
	char *p = mmap(NULL, c->seg_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* keep the array sorted by address: collections walk it in order */
	size_t i = c->nsegs;
	while (i > 0 && c->segs[i - 1].base > p) {
		c->segs[i] = c->segs[i - 1];
		i--;
	}
	c->segs[i] = (struct gc_seg){ .base = p, .end = p + c->seg_bytes };
	c->nsegs++;
	return p;
}

char *gc_old_refill(struct gc *c, size_t bytes)
{
	if (bytes > c->seg_bytes / 2)
		return NULL; /* large objects have mappings of their own */
	gc_old_retire(c);
	char *p = take_chunk(c, bytes / 8);
	size_t n;
	if (p) {
		n = (size_t)((struct obj_header *)p)->cls * 8;
	} else {
		p = gc_old_new_segment(c);
		if (!p)
			return NULL;
		n = c->seg_bytes;
	}
	c->cur = p + bytes;
	c->lim = p + n;
	c->oscan = p;
	c->old_used += bytes;
	return p;
}

void gc_seg_unmap(struct gc *c, size_t i)
{
	munmap(c->segs[i].base, (size_t)(c->segs[i].end - c->segs[i].base));
	memmove(&c->segs[i], &c->segs[i + 1], (c->nsegs - i - 1) * sizeof c->segs[0]);
	c->nsegs--;
}

/* A large object: its own mapping, the list header in front. */
/* Freed mappings kept for reuse: at most this much, each at most 1/4 of it. */
#define LFREE_MAX ((size_t)32 << 20)

/* A kept mapping of [map] bytes (or up to a quarter more), its first
 * [bytes] zeroed, or NULL. */
static struct gc_large *lfree_take(struct gc *c, size_t map, size_t bytes)
{
	for (struct gc_large **pl = &c->lfree; *pl; pl = &(*pl)->next) {
		struct gc_large *l = *pl;
		if (l->map >= map && l->map <= map + map / 4) {
			*pl = l->next;
			c->lfree_bytes -= l->map;
			/* what the kernel would have given: zeros */
			memset(l + 1, 0, bytes);
			return l;
		}
	}
	return NULL;
}

static void lfree_put(struct gc *c, struct gc_large *l)
{
	if (l->map > LFREE_MAX / 4 || c->lfree_bytes + l->map > LFREE_MAX) {
		munmap(l, l->map);
		return;
	}
	l->next = c->lfree;
	c->lfree = l;
	c->lfree_bytes += l->map;
}

oop gc_large_alloc(struct gc *c, size_t bytes, int zero)
{
	size_t map = (sizeof(struct gc_large) + bytes + 4095) & ~(size_t)4095;
	if (map < bytes)
		return 0;
	struct gc_large *l = lfree_take(c, map, zero ? bytes : 0);
	if (l) {
		map = l->map;
	} else {
		/* committed (no MAP_NORESERVE): the kernel refuses what it
		 * could never back instead of killing us when it is filled */
		char *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (p == MAP_FAILED)
			return 0;
		l = (struct gc_large *)p;
	}
	l->map = map;
	l->prev = NULL;
	l->next = c->large;
	if (c->large)
		c->large->prev = l;
	c->large = l;
	c->large_bytes += bytes;
	c->large_mapped += map;
	return (oop)(l + 1);
}

/* Frees every large object without the MARK bit; clears it on the others. */
void gc_large_sweep(struct gc *c)
{
	struct gc_large *l = c->large;
	while (l) {
		struct gc_large *next = l->next;
		oop o = (oop)(l + 1);
		struct obj_header *h = obj_hdr(o);
		if (h->flags & OBJ_F_MARK) {
			h->flags &= (uint8_t)~OBJ_F_MARK;
		} else {
			if (l->prev)
				l->prev->next = l->next;
			else
				c->large = l->next;
			if (l->next)
				l->next->prev = l->prev;
			c->large_bytes -= obj_size(o);
			c->large_mapped -= l->map;
			lfree_put(c, l);
		}
		l = next;
	}
}

int gc_old_init(struct gc *c)
{
	c->seg_bytes = (size_t)4 << 20;
	if (c->heap_max) {
		/* small heaps: segments small enough that a few fit */
		size_t s = c->heap_max / 16;
		if (s < ((size_t)256 << 10))
			s = (size_t)256 << 10;
		if (s < c->seg_bytes)
			c->seg_bytes = (s + 4095) & ~(size_t)4095;
	}
	c->large_min = c->seg_bytes / 16;
	if (c->large_min > ((size_t)256 << 10))
		c->large_min = (size_t)256 << 10;
	return 0;
}

void gc_old_free(struct gc *c)
{
	while (c->nsegs)
		gc_seg_unmap(c, c->nsegs - 1);
	free(c->segs);
	c->segs = NULL;
	c->segcap = 0;
	for (int k = 0; k < 2; k++) {
		struct gc_large *l = k ? c->lfree : c->large;
		while (l) {
			struct gc_large *next = l->next;
			munmap(l, l->map);
			l = next;
		}
	}
	c->large = c->lfree = NULL;
	c->lfree_bytes = 0;
}
