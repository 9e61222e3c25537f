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
#include "selftests/harness.h"
#include "t_gc.h"

/* [n] old nodes [id, next, bytes] in a list, with garbage between them. */
static oop old_list_with_garbage(struct st_vm *vm, int n, int garbage_per_node)
{
	oop head = vm->nil;
	ST_ROOT(vm, head);
	for (int i = n; i >= 1; i--) {
		for (int k = 0; k < garbage_per_node; k++)
			t_old_node(vm, -1, 5, 0);
		oop x = t_old_node(vm, i, 3, 0);
		gc_store(&vm->gc, x, 1, head);
		head = x;
		oop b = t_bytes(vm, (size_t)i % 50, (unsigned)i);
		gc_store(&vm->gc, head, 2, b);
	}
	ST_UNROOT(vm, 1);
	return head;
}

static int old_list_ok(struct st_vm *vm, oop head, int n)
{
	int i = 1;
	for (oop x = head; x != vm->nil; x = obj_body(x)[1], i++)
		if (t_id(x) != i || !t_bytes_ok(obj_body(x)[2], (size_t)i % 50, (unsigned)i))
			return 0;
	return i == n + 1;
}

TEST(full_gc_keeps_the_reachable_and_frees_the_rest)
{
	struct st_vm *vm = t_vm(NULL);
	ASSERT_NE_NULL(vm);
	oop head = old_list_with_garbage(vm, 20000, 3);
	ST_ROOT(vm, head);
	T_VERIFY(vm);
	gc_scavenge(vm);
	size_t before = t_stats(vm).old_bytes;
	gc_full(vm);
	struct gc_stats s = t_stats(vm);
	ASSERT_LT(s.old_bytes, before);
	ASSERT_LT(0u, s.full_gcs);
	ASSERT_TRUE(old_list_ok(vm, head, 20000));
	T_VERIFY(vm);
	/* the heap goes on working: allocate, collect again */
	oop more = old_list_with_garbage(vm, 5000, 1);
	ST_ROOT(vm, more);
	gc_full(vm);
	ASSERT_TRUE(old_list_ok(vm, head, 20000));
	ASSERT_TRUE(old_list_ok(vm, more, 5000));
	T_VERIFY(vm);
	ST_UNROOT(vm, 2);
	t_vm_free(vm);
}

TEST(full_gc_empties_new_space)
{
	struct st_vm *vm = t_vm(NULL);
	ASSERT_NE_NULL(vm);
	oop a = t_node(vm, 7, 2);
	ST_ROOT(vm, a);
	t_store_new(vm, &a, 1, 8, 1);
	gc_full(vm);
	ASSERT_FALSE(gc_is_young(&vm->gc, a));
	ASSERT_FALSE(gc_is_young(&vm->gc, obj_body(a)[1]));
	ASSERT_EQ(7, t_id(a));
	ASSERT_EQ(8, t_id(obj_body(a)[1]));
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST(compaction_slides_objects_down_keeping_identity)
{
	struct st_vm *vm = t_vm(NULL);
	ASSERT_NE_NULL(vm);
	oop garbage = t_old_node(vm, -1, 1000, 0);
	ASSERT_NE(0, garbage);
	garbage = 0;
	oop keep = t_old_node(vm, 5, 3, 0);
	ST_ROOT(vm, keep);
	t_store_new(vm, &keep, 1, 6, 1);
	uint32_t h = st_hash(vm, keep);
	oop before = keep;
	gc_full(vm);
	ASSERT_LT(keep, before); /* slid down over the dead array */
	ASSERT_EQ(h, st_hash(vm, keep));
	ASSERT_EQ(5, t_id(keep));
	ASSERT_EQ(6, t_id(obj_body(keep)[1]));
	ASSERT_EQ(vm->nil, obj_body(keep)[2]);
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST(full_gc_frees_dead_large_objects_and_segments)
{
	struct st_vm *vm = t_vm(NULL);
	ASSERT_NE_NULL(vm);
	size_t h0 = t_stats(vm).heap_bytes;
	oop keep = t_old_node(vm, 0, 12, 0);
	ST_ROOT(vm, keep);
	for (int i = 1; i <= 10; i++) {
		oop a = gc_alloc(&vm->gc, CI_ARRAY, OBJ_FMT_IPTRS, 1 << 20, 0);
		ASSERT_NE(0, a);
		gc_store(&vm->gc, keep, (size_t)i, a);
	}
	for (int i = 0; i < 100000; i++) {
		oop x = t_old_node(vm, i, 30, 0);
		ASSERT_NE(0, x);
		gc_store(&vm->gc, x, 1, obj_body(keep)[11]);
		gc_store(&vm->gc, keep, 11, x);
	}
	size_t h1 = t_stats(vm).heap_bytes;
	ASSERT_LT(h0 + (100u << 20), h1);
	gc_full(vm);
	ASSERT_LE(h1, t_stats(vm).heap_bytes + (4u << 20)); /* all still alive */
	for (int i = 1; i <= 11; i++)
		gc_store(&vm->gc, keep, (size_t)i, vm->nil);
	gc_full(vm);
	struct gc_stats s = t_stats(vm);
	ASSERT_GT(h0 + (16u << 20), s.heap_bytes); /* at most a reserve of free segments */
	ASSERT_GT(1u << 20, s.old_bytes);
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST(repeated_full_gcs_with_churn)
{
	struct st_vm *vm = t_vm(NULL);
	ASSERT_NE_NULL(vm);
	oop ring = t_old_node(vm, 0, 64, 0);
	ST_ROOT(vm, ring);
	for (int round = 0; round < 20; round++) {
		/* replace a third of the ring with new objects, young and old */
		for (int i = 1; i < 64; i++) {
			if ((i + round) % 3)
				continue;
			oop x = (i & 1) ? t_node(vm, round * 100 + i, 4)
					: t_old_node(vm, round * 100 + i, 4, 0);
			gc_store(&vm->gc, ring, (size_t)i, x);
		}
		for (int k = 0; k < 2000; k++)
			t_old_node(vm, -k, k % 17, 0);
		if (round % 2)
			gc_full(vm);
		else
			gc_scavenge(vm);
		T_VERIFY(vm);
		for (int i = 1; i < 64; i++) {
			oop x = obj_body(ring)[i];
			if (x != vm->nil) {
				ASSERT_EQ(i, t_id(x) % 100);
			}
		}
	}
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST_HARNESS_MAIN
