// SPDX-License-Identifier: MIT
/*
 * selftests/gc/pin.c: pinned objects.
 *
 * Description: a pinned object keeps its address through scavenges and
 * full collections (which compact everything around it); gc_pin of a
 * young object tenures it and updates every reference; an unpinned object
 * moves again; an unreachable pinned object is freed. The collector never
 * writes into a pinned body: with the body read-only (mprotect) the
 * collections still succeed, and a second thread writing into the body
 * through a raw pointer during collections (as C code in a callout does)
 * finds every byte as it left it.
 */
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include "selftests/harness.h"
#include "t_gc.h"

/* Old garbage, young garbage, and a collection of either kind. */
static void churn(struct t_heap *th, int round)
{
	for (int i = 0; i < 3000; i++)
		t_old_node(th, -i, (size_t)(i % 23), 0);
	for (int i = 0; i < 30000; i++)
		t_node(th, -i, (size_t)(i % 11) + 1);
	if (round % 2)
		gc_full(&th->gc);
	else
		gc_scavenge(&th->gc);
}

TEST(pinned_object_keeps_its_address)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	t_old_node(th, -1, 500, 0); /* garbage below them: compaction slides them down */
	oop q = t_old_node(th, 2, 3, 0); /* unpinned */
	T_ROOT(th, q);
	oop p = t_old_node(th, 1, 3, OBJ_F_PINNED);
	T_ROOT(th, p);
	t_store_new(th, &p, 1, 3, 1); /* a young referent: its slot follows it */
	oop p0 = p, q0 = q;
	for (int round = 0; round < 6; round++) {
		churn(th, round);
		ASSERT_EQ(p0, p) TH_LOG("round %d", round);
		ASSERT_TRUE(gc_is_pinned(p));
		ASSERT_EQ(1, t_id(p));
		ASSERT_EQ(3, t_id(obj_body(p)[1]));
		ASSERT_EQ(2, t_id(q));
		T_VERIFY(th);
	}
	ASSERT_NE(q0, q); /* the unpinned one did move */
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(pinning_a_young_object_tenures_it_and_updates_references)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop y = t_bytes(th, 300, 5);
	T_ROOT(th, y);
	oop other = y;
	T_ROOT(th, other);
	oop holder = t_node(th, 1, 2);
	T_ROOT(th, holder);
	gc_store(&th->gc, holder, 1, y);
	uint32_t h = t_hash(th, y);
	oop y0 = y;
	uint64_t pins = t_stats(th).pins;
	ASSERT_TRUE(gc_is_young(&th->gc, y));

	oop r = gc_pin(&th->gc, &y);
	ASSERT_NE(0, r);
	ASSERT_EQ(r, y);
	ASSERT_NE(y0, y);
	ASSERT_FALSE(gc_is_young(&th->gc, y));
	ASSERT_TRUE(gc_is_pinned(y));
	ASSERT_EQ(y, other);
	ASSERT_EQ(y, obj_body(holder)[1]);
	ASSERT_EQ(h, t_hash(th, y));
	ASSERT_TRUE(t_bytes_ok(y, 300, 5));
	ASSERT_EQ(pins + 1, t_stats(th).pins);
	/* pinning a pinned object changes nothing */
	ASSERT_EQ(y, gc_pin(&th->gc, &y));
	ASSERT_EQ(pins + 1, t_stats(th).pins);
	for (int round = 0; round < 4; round++) {
		churn(th, round);
		ASSERT_EQ(r, y);
	}
	ASSERT_TRUE(t_bytes_ok(y, 300, 5));
	T_VERIFY(th);
	T_UNROOT(th, 3);
	t_heap_free(th);
}

TEST(unpinned_object_moves_again)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	t_old_node(th, -1, 500, 0);
	oop p = t_old_node(th, 1, 3, 0);
	T_ROOT(th, p);
	ASSERT_EQ(p, gc_pin(&th->gc, &p));
	oop p0 = p;
	gc_full(&th->gc);
	ASSERT_EQ(p0, p);
	gc_unpin(&th->gc, p);
	ASSERT_FALSE(gc_is_pinned(p));
	gc_full(&th->gc);
	ASSERT_LT(p, p0); /* slid down over the garbage */
	ASSERT_EQ(1, t_id(p));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(unreachable_pinned_objects_are_freed)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	gc_full(&th->gc);
	struct gc_stats s0 = t_stats(th);
	for (int i = 0; i < 1000; i++)
		ASSERT_NE(0, t_old_node(th, i, 20, OBJ_F_PINNED));
	oop big = gc_alloc_old(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 1 << 20, 0, OBJ_F_PINNED);
	ASSERT_NE(0, big);
	big = 0;
	gc_full(&th->gc);
	struct gc_stats s1 = t_stats(th);
	ASSERT_EQ(s0.old_bytes, s1.old_bytes);
	ASSERT_EQ(s0.heap_bytes, s1.heap_bytes);
	T_VERIFY(th);
	t_heap_free(th);
}

/* A pinned byte object whose body is exactly [pages] whole pages. */
static oop page_aligned_bytes(struct t_heap *th, size_t pages)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	for (int tries = 0; tries < 1000; tries++) {
		oop probe = gc_alloc_old(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, 0, 0, 0);
		uintptr_t next = probe + OBJ_HDR_BYTES;
		size_t gap = (pg - (next + OBJ_HDR_BYTES) % pg) % pg;
		if (gap == 8)
			gap += pg; /* too small for an object: skip to the next page */
		if (gap)
			gc_alloc_old(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, (gap - OBJ_HDR_BYTES) / 8, 0, 0);
		oop o = gc_alloc_old(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, pages * pg / 8, 0, OBJ_F_PINNED);
		if ((o + OBJ_HDR_BYTES) % pg == 0)
			return o;
	}
	return 0;
}

TEST(collector_never_writes_into_a_pinned_body)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	oop b = page_aligned_bytes(th, 2);
	ASSERT_NE(0, b);
	T_ROOT(th, b);
	for (size_t i = 0; i < 2 * pg; i++)
		obj_bytes(b)[i] = (uint8_t)(i * 13);
	/* referred to from young and old objects, which move around it */
	oop yref = t_node(th, 1, 2);
	T_ROOT(th, yref);
	gc_store(&th->gc, yref, 1, b);
	oop oref = t_old_node(th, 2, 2, 0);
	gc_store(&th->gc, oref, 1, b);
	T_ROOT(th, oref);
	uint32_t h = t_hash(th, b);
	oop b0 = b;
	ASSERT_EQ(0, mprotect(obj_bytes(b), 2 * pg, PROT_READ));
	for (int round = 0; round < 8; round++)
		churn(th, round); /* any write into the body: SIGSEGV */
	ASSERT_EQ(0, mprotect(obj_bytes(b), 2 * pg, PROT_READ | PROT_WRITE));
	ASSERT_EQ(b0, b);
	ASSERT_EQ(b, obj_body(yref)[1]);
	ASSERT_EQ(b, obj_body(oref)[1]);
	ASSERT_EQ(h, t_hash(th, b));
	for (size_t i = 0; i < 2 * pg; i++)
		ASSERT_EQ((uint8_t)(i * 13), obj_bytes(b)[i]);
	T_VERIFY(th);
	T_UNROOT(th, 3);
	t_heap_free(th);
}

/* ---- a "callout" writing into a pinned body during collections ------------- */

#define WORDS 512

struct writer {
	volatile uint64_t *body;
	int stop;
	uint64_t passes; /* completed, published after each */
	uint64_t bad;    /* reads that did not see our own last write */
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	uint64_t pass = 0;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		pass++;
		for (uint64_t i = 0; i < WORDS; i++)
			w->body[i] = pass << 16 | i;
		for (uint64_t i = 0; i < WORDS; i++)
			if (w->body[i] != (pass << 16 | i))
				w->bad++;
		__atomic_store_n(&w->passes, pass, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Yields until the writer has completed [n] passes. */
static void wait_passes(struct writer *w, uint64_t n)
{
	while (__atomic_load_n(&w->passes, __ATOMIC_ACQUIRE) < n)
		sched_yield();
}

TEST(pinned_body_written_by_another_thread_during_collections)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop b = gc_alloc(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, WORDS, 0);
	ASSERT_NE(0, b);
	T_ROOT(th, b);
	ASSERT_NE(0, gc_pin(&th->gc, &b)); /* young: tenured, then pinned */
	oop b0 = b;
	struct writer w = { .body = (volatile uint64_t *)obj_body(b) };
	pthread_t t;
	ASSERT_EQ(0, pthread_create(&t, NULL, write_loop, &w));
	/* the writer runs through every round: each waits for a pass that
	 * began after the previous collection */
	for (int round = 0; round < 12; round++) {
		wait_passes(&w, __atomic_load_n(&w.passes, __ATOMIC_ACQUIRE) + 2);
		churn(th, round);
	}
	__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0u, w.bad);
	ASSERT_LE(24u, w.passes);
	ASSERT_EQ(b0, b);
	for (uint64_t i = 0; i < WORDS; i++)
		ASSERT_EQ(w.passes << 16 | i, (uint64_t)obj_body(b)[i]);
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST_HARNESS_MAIN
