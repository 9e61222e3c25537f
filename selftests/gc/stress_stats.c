// SPDX-License-Identifier: MIT
/*
 * selftests/gc/stress_stats.c: GC stress mode and the statistics.
 *
 * Description: with gc_sizes.stress = N every Nth allocation (young or
 * old) scavenges first, so young objects move under C code's feet as often
 * as possible and the data survives; the counters of struct gc_stats
 * (scavenges, full collections, bytes allocated and tenured, pauses and
 * their p99, pins, failures, sizes) follow what happened.
 */
#include "selftests/harness.h"
#include "t_gc.h"

TEST(stress_one_scavenges_at_every_allocation)
{
	struct gc_sizes sz = { .stress = 1, .tenure_age = 255 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	oop head = th->nil;
	T_ROOT(th, head);
	uint64_t s0 = t_stats(th).scavenges;
	oop last = 0;
	int moves = 0;
	for (int i = 1; i <= 3000; i++) {
		oop x = t_node(th, i, 2);
		ASSERT_NE(0, x);
		moves += last && head != last;
		gc_store(&th->gc, x, 1, head);
		head = last = x;
	}
	ASSERT_EQ(s0 + 3000, t_stats(th).scavenges);
	ASSERT_EQ(2999, moves); /* the previous node moved at every allocation */
	intptr_t n = 3000;
	for (oop x = head; x != th->nil; x = obj_body(x)[1])
		ASSERT_EQ(n--, t_id(x));
	ASSERT_EQ(0, n);
	T_VERIFY(th);
	/* old allocations count too */
	uint64_t s1 = t_stats(th).scavenges;
	for (int i = 0; i < 10; i++)
		ASSERT_NE(0, t_old_node(th, i, 1, 0));
	ASSERT_EQ(s1 + 10, t_stats(th).scavenges);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(stress_n_scavenges_at_every_nth_allocation)
{
	struct gc_sizes sz = { .stress = 7 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	oop keep = t_node(th, 0, 101);
	T_ROOT(th, keep);
	uint64_t s0 = t_stats(th).scavenges;
	for (int i = 1; i <= 700; i++) {
		oop x = i <= 100 ? t_store_new(th, &keep, (size_t)i, i, 1) : t_node(th, i, 3);
		ASSERT_NE(0, x);
	}
	ASSERT_EQ(s0 + 100, t_stats(th).scavenges);
	for (int i = 1; i <= 100; i++)
		ASSERT_EQ(i, t_id(obj_body(keep)[i]));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(statistics_follow_the_work)
{
	struct gc_sizes sz = { .new_size = 2 << 20, .tenure_age = 1 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	struct gc_stats s0 = t_stats(th);
	ASSERT_LE(2u << 20, s0.heap_bytes);
	ASSERT_EQ(0u, s0.scavenges);
	ASSERT_EQ(0u, s0.scavenge_p99_ns);
	oop keep = t_node(th, 0, 2);
	T_ROOT(th, keep);
	for (int i = 0; i < 200000; i++)
		ASSERT_NE(0, t_node(th, i, 6)); /* 64 bytes each */
	gc_scavenge(&th->gc);
	struct gc_stats s1 = t_stats(th);
	ASSERT_LE(200000u * 64, s1.allocated_bytes - s0.allocated_bytes);
	ASSERT_LT(5u, s1.scavenges);
	ASSERT_LE(obj_size(keep), s1.tenured_bytes); /* tenure age 1: promoted at once */
	ASSERT_LT(0u, s1.scavenge_ns);
	ASSERT_LE(s1.scavenge_max_ns, s1.scavenge_ns);
	ASSERT_LE(s1.scavenge_p99_ns, s1.scavenge_max_ns);
	ASSERT_LT(0u, s1.scavenge_p99_ns);
	ASSERT_EQ(0u, s1.full_gcs);
	ASSERT_EQ(0u, s1.full_ns);
	ASSERT_EQ(0u, s1.pins);
	oop p = t_node(th, 1, 1);
	T_ROOT(th, p);
	ASSERT_NE(0, gc_pin(&th->gc, &p));
	gc_full(&th->gc);
	struct gc_stats s2 = t_stats(th);
	ASSERT_EQ(1u, s2.pins);
	ASSERT_EQ(1u, s2.full_gcs);
	ASSERT_LT(0u, s2.full_ns);
	ASSERT_EQ(s2.full_ns, s2.full_max_ns);
	ASSERT_LT(0u, s2.old_bytes);
	ASSERT_GT(1u << 20, s2.old_bytes);
	ASSERT_EQ(0u, s2.alloc_failures);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(two_heaps_in_one_process_are_independent)
{
	struct t_heap *a = t_heap(NULL), *b = t_heap(NULL);
	ASSERT_NE_NULL(a);
	ASSERT_NE_NULL(b);
	oop x = t_node(a, 1, 2), y = t_node(b, 2, 2);
	T_ROOT(a, x);
	T_ROOT(b, y);
	gc_scavenge(&a->gc);
	gc_full(&b->gc);
	ASSERT_EQ(1u, t_stats(a).scavenges);
	ASSERT_EQ(0u, t_stats(b).scavenges);
	ASSERT_EQ(1u, t_stats(b).full_gcs);
	ASSERT_EQ(1, t_id(x));
	ASSERT_EQ(2, t_id(y));
	ASSERT_TRUE(gc_is_young(&a->gc, x));
	ASSERT_FALSE(gc_is_young(&b->gc, y));
	T_VERIFY(a);
	T_VERIFY(b);
	T_UNROOT(a, 1);
	T_UNROOT(b, 1);
	t_heap_free(a);
	t_heap_free(b);
}

TEST_HARNESS_MAIN
