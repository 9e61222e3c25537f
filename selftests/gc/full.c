// SPDX-License-Identifier: MIT
/*
 * selftests/gc/full.c: the full collection (mark-compact of old space).
 *
 * Description: a full collection empties new space, keeps everything
 * reachable with its contents and identity hash, frees the unreachable
 * (old objects, large objects, whole segments), slides live unpinned
 * objects down over the garbage, and leaves a heap the allocator can keep
 * using.
 */
#include <string.h>

#include "selftests/harness.h"
#include "t_gc.h"

/* [n] old nodes [id, next, bytes] in a list, with garbage between them. */
static oop old_list_with_garbage(struct t_heap *th, int n, int garbage_per_node)
{
	oop head = th->nil;
	T_ROOT(th, head);
	for (int i = n; i >= 1; i--) {
		for (int k = 0; k < garbage_per_node; k++)
			t_old_node(th, -1, 5, 0);
		oop x = t_old_node(th, i, 3, 0);
		gc_store(&th->gc, x, 1, head);
		head = x;
		oop b = t_bytes(th, (size_t)i % 50, (unsigned)i);
		gc_store(&th->gc, head, 2, b);
	}
	T_UNROOT(th, 1);
	return head;
}

static int old_list_ok(struct t_heap *th, oop head, int n)
{
	int i = 1;
	for (oop x = head; x != th->nil; x = obj_body(x)[1], i++)
		if (t_id(x) != i || !t_bytes_ok(obj_body(x)[2], (size_t)i % 50, (unsigned)i))
			return 0;
	return i == n + 1;
}

TEST(full_gc_keeps_the_reachable_and_frees_the_rest)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop head = old_list_with_garbage(th, 20000, 3);
	T_ROOT(th, head);
	T_VERIFY(th);
	gc_scavenge(&th->gc);
	size_t before = t_stats(th).old_bytes;
	gc_full(&th->gc);
	struct gc_stats s = t_stats(th);
	ASSERT_LT(s.old_bytes, before);
	ASSERT_LT(0u, s.full_gcs);
	ASSERT_TRUE(old_list_ok(th, head, 20000));
	T_VERIFY(th);
	/* the heap goes on working: allocate, collect again */
	oop more = old_list_with_garbage(th, 5000, 1);
	T_ROOT(th, more);
	gc_full(&th->gc);
	ASSERT_TRUE(old_list_ok(th, head, 20000));
	ASSERT_TRUE(old_list_ok(th, more, 5000));
	T_VERIFY(th);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(full_gc_empties_new_space)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop a = t_node(th, 7, 2);
	T_ROOT(th, a);
	t_store_new(th, &a, 1, 8, 1);
	gc_full(&th->gc);
	ASSERT_FALSE(gc_is_young(&th->gc, a));
	ASSERT_FALSE(gc_is_young(&th->gc, obj_body(a)[1]));
	ASSERT_EQ(7, t_id(a));
	ASSERT_EQ(8, t_id(obj_body(a)[1]));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(compaction_slides_objects_down_keeping_identity)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop garbage = t_old_node(th, -1, 1000, 0);
	ASSERT_NE(0, garbage);
	garbage = 0;
	oop keep = t_old_node(th, 5, 3, 0);
	T_ROOT(th, keep);
	t_store_new(th, &keep, 1, 6, 1);
	uint32_t h = t_hash(th, keep);
	oop before = keep;
	gc_full(&th->gc);
	ASSERT_LT(keep, before); /* slid down over the dead array */
	ASSERT_EQ(h, t_hash(th, keep));
	ASSERT_EQ(5, t_id(keep));
	ASSERT_EQ(6, t_id(obj_body(keep)[1]));
	ASSERT_EQ(th->nil, obj_body(keep)[2]);
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(full_gc_frees_dead_large_objects_and_segments)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	size_t h0 = t_stats(th).heap_bytes;
	oop keep = t_old_node(th, 0, 12, 0);
	T_ROOT(th, keep);
	for (int i = 1; i <= 10; i++) {
		oop a = gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 1 << 20, 0);
		ASSERT_NE(0, a);
		gc_store(&th->gc, keep, (size_t)i, a);
	}
	for (int i = 0; i < 100000; i++) {
		oop x = t_old_node(th, i, 30, 0);
		ASSERT_NE(0, x);
		gc_store(&th->gc, x, 1, obj_body(keep)[11]);
		gc_store(&th->gc, keep, 11, x);
	}
	size_t h1 = t_stats(th).heap_bytes;
	ASSERT_LT(h0 + (100u << 20), h1);
	gc_full(&th->gc);
	ASSERT_LE(h1, t_stats(th).heap_bytes + (4u << 20)); /* all still alive */
	for (int i = 1; i <= 11; i++)
		gc_store(&th->gc, keep, (size_t)i, th->nil);
	gc_full(&th->gc);
	struct gc_stats s = t_stats(th);
	ASSERT_GT(h0 + (16u << 20), s.heap_bytes); /* at most a reserve of free segments */
	ASSERT_GT(1u << 20, s.old_bytes);
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

/* A program reading a file in 1 MB chunks: each chunk a new large object,
 * dead by the next one. Freed mappings are reused (not mapped, faulted in
 * and unmapped each time), and a reused one is as zeroed as a new one. */
TEST(large_objects_reuse_freed_mappings_zeroed)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	size_t h0 = t_stats(th).heap_bytes;
	size_t peak = 0;
	for (int i = 0; i < 200; i++) {
		oop b = gc_alloc(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, (1u << 20) / 8, 0);
		ASSERT_NE(0, b);
		ASSERT_FALSE(gc_is_young(&th->gc, b)); /* too big for eden */
		unsigned char *p = (unsigned char *)obj_body(b);
		for (size_t k = 0; k < (1u << 20); k += 4096)
			ASSERT_EQ(0, p[k]) TH_LOG("chunk %d: byte %zu of a new object is not 0", i, k);
		ASSERT_EQ(0, p[(1u << 20) - 1]);
		memset(p, 0xab, 1u << 20);
		size_t h = t_stats(th).heap_bytes;
		peak = h > peak ? h : peak;
	}
	/* 200 MB allocated; the heap never held more than a full GC's budget
	 * of them plus the kept mappings. */
	ASSERT_GT(h0 + (80u << 20), peak);
	T_VERIFY(th);
	t_heap_free(th);
}

TEST(repeated_full_gcs_with_churn)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop ring = t_old_node(th, 0, 64, 0);
	T_ROOT(th, ring);
	for (int round = 0; round < 20; round++) {
		/* replace a third of the ring with new objects, young and old */
		for (int i = 1; i < 64; i++) {
			if ((i + round) % 3)
				continue;
			oop x = (i & 1) ? t_node(th, round * 100 + i, 4)
					: t_old_node(th, round * 100 + i, 4, 0);
			gc_store(&th->gc, ring, (size_t)i, x);
		}
		for (int k = 0; k < 2000; k++)
			t_old_node(th, -k, k % 17, 0);
		if (round % 2)
			gc_full(&th->gc);
		else
			gc_scavenge(&th->gc);
		T_VERIFY(th);
		for (int i = 1; i < 64; i++) {
			oop x = obj_body(ring)[i];
			if (x != th->nil) {
				ASSERT_EQ(i, t_id(x) % 100);
			}
		}
	}
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST_HARNESS_MAIN
