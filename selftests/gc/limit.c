// SPDX-License-Identifier: MIT
/*
 * selftests/gc/limit.c: the heap limit (gc_sizes.heap_max, --heap-max).
 *
 * Description: when live data fills the heap, the allocators answer 0
 * (the VM then signals OutOfMemory) after a full collection, and count the
 * failure; the failed request changes nothing reachable; once the data is
 * dropped allocation succeeds again. Requests that can never fit fail at
 * once and leave the heap usable.
 */
#include "selftests/harness.h"
#include "t_gc.h"

static const struct gc_sizes limited = { .heap_max = 32 << 20 };

static int chain_ok(struct t_heap *th, oop head, intptr_t n)
{
	for (oop x = head; x != th->nil; x = obj_body(x)[1])
		if (t_id(x) != n--)
			return 0;
	return n == 0;
}

TEST(filling_the_heap_answers_zero_and_the_heap_recovers)
{
	for (int old = 0; old <= 1; old++) {
		struct t_heap *th = t_heap(&limited);
		ASSERT_NE_NULL(th);
		oop head = th->nil;
		T_ROOT(th, head);
		intptr_t n = 0;
		for (;;) {
			oop x = old ? t_old_node(th, n + 1, 30, 0) : t_node(th, n + 1, 30);
			if (!x)
				break;
			gc_store(&th->gc, x, 1, head);
			head = x;
			n++;
			ASSERT_GT(200000, n) TH_LOG("the limit never hit");
		}
		struct gc_stats s = t_stats(th);
		ASSERT_LT(0u, s.alloc_failures);
		ASSERT_LT(0u, s.full_gcs);
		/* roughly the limit's worth of 256-byte nodes */
		ASSERT_LT(50000, n);
		ASSERT_TRUE(chain_ok(th, head, n));
		T_VERIFY(th);
		head = th->nil;
		oop x = old ? t_old_node(th, 1, 30, 0) : t_node(th, 1, 30);
		ASSERT_NE(0, x);
		for (int i = 0; i < 200000; i++)
			ASSERT_NE(0, t_node(th, i, 30)) TH_LOG("allocation %d after recovery", i);
		T_VERIFY(th);
		T_UNROOT(th, 1);
		t_heap_free(th);
	}
}

TEST(request_larger_than_the_heap_fails_at_once)
{
	struct t_heap *th = t_heap(&limited);
	ASSERT_NE_NULL(th);
	oop keep = t_node(th, 1, 2);
	T_ROOT(th, keep);
	uint64_t f = t_stats(th).alloc_failures;
	ASSERT_EQ(0, gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 8u << 20, 0));
	ASSERT_EQ(0, gc_alloc_old(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 8u << 20, 0, 0));
	ASSERT_EQ(0, gc_alloc_old(&th->gc, T_CLS_BYTES, OBJ_FMT_BYTES, (size_t)1 << 40, 0, 0));
	ASSERT_EQ(f + 3, t_stats(th).alloc_failures);
	ASSERT_EQ(1, t_id(keep));
	oop a = gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 1u << 20, 0); /* 8 MiB fits */
	ASSERT_NE(0, a);
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(absurd_sizes_fail_without_a_limit)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	ASSERT_EQ(0, gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, (size_t)1 << 33, 0));
	ASSERT_EQ(0, gc_alloc_old(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, (size_t)1 << 33, 0, 0));
	ASSERT_NE(0, t_node(th, 1, 3));
	T_VERIFY(th);
	t_heap_free(th);
}

TEST(garbage_far_beyond_the_limit_is_no_problem)
{
	struct t_heap *th = t_heap(&limited);
	ASSERT_NE_NULL(th);
	/* 400 arrays of 400 KB: 160 MB through a 32 MiB heap */
	for (int i = 0; i < 400; i++)
		ASSERT_NE(0, gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 50000, 0)) TH_LOG("array %d", i);
	for (int i = 0; i < 2000000; i++)
		ASSERT_NE(0, t_node(th, i, 10));
	struct gc_stats s = t_stats(th);
	ASSERT_EQ(0u, s.alloc_failures);
	ASSERT_GE(32u << 20, s.old_bytes);
	T_VERIFY(th);
	t_heap_free(th);
}

TEST_HARNESS_MAIN
