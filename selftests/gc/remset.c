// SPDX-License-Identifier: MIT
/*
 * selftests/gc/remset.c: the write barrier and the remembered set.
 *
 * Description: an old object that receives a young reference through
 * gc_store()/gc_wb()/gc_wb_bulk() keeps that object alive and sees its new
 * address after scavenges, whatever else refers to it; it leaves the
 * remembered set once its referents are old. (A store without the barrier
 * is a VM bug, not a behaviour: it is not tested.)
 */
#include "selftests/harness.h"
#include "t_gc.h"

static const struct gc_sizes small = { .new_size = 1 << 20 };

TEST(old_to_young_reference_survives_scavenges)
{
	struct t_heap *th = t_heap(&small);
	ASSERT_NE_NULL(th);
	oop old = t_old_node(th, 1, 3, 0);
	ASSERT_NE(0, old);
	ASSERT_FALSE(gc_is_young(&th->gc, old));
	T_ROOT(th, old);
	oop y = t_node(th, 2, 2);
	gc_store(&th->gc, old, 1, y);
	y = t_bytes(th, 100, 3);
	gc_store(&th->gc, old, 2, y);
	y = 0; /* only the old object refers to them now */
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(&th->gc);
	ASSERT_TRUE(gc_is_young(&th->gc, obj_body(old)[1]));
	ASSERT_EQ(2, t_id(obj_body(old)[1]));
	ASSERT_TRUE(t_bytes_ok(obj_body(old)[2], 100, 3));
	T_VERIFY(th);
	/* garbage in between: the referents still move, the slots follow */
	for (int i = 0; i < 100000; i++)
		t_node(th, i, 4);
	ASSERT_EQ(2, t_id(obj_body(old)[1]));
	ASSERT_TRUE(t_bytes_ok(obj_body(old)[2], 100, 3));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(remembered_object_leaves_the_set_once_its_referents_are_old)
{
	struct gc_sizes sz = { .new_size = 1 << 20, .tenure_age = 2 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	oop old = t_old_node(th, 1, 2, 0);
	T_ROOT(th, old);
	t_store_new(th, &old, 1, 2, 2);
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(&th->gc); /* referent: age 1, still young */
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(&th->gc); /* referent promoted */
	ASSERT_FALSE(gc_is_young(&th->gc, obj_body(old)[1]));
	ASSERT_FALSE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	ASSERT_EQ(2, t_id(obj_body(old)[1]));
	/* and comes back with the next young store */
	t_store_new(th, &old, 1, 3, 2);
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(&th->gc);
	ASSERT_EQ(3, t_id(obj_body(old)[1]));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(bulk_barrier_covers_unchecked_stores)
{
	struct t_heap *th = t_heap(&small);
	ASSERT_NE_NULL(th);
	oop old = t_old_node(th, 1, 65, 0);
	T_ROOT(th, old);
	oop tmp = t_node(th, 0, 65);
	T_ROOT(th, tmp);
	for (int i = 1; i < 65; i++) {
		oop x = t_node(th, 100 + i, 1);
		gc_store(&th->gc, tmp, (size_t)i, x);
	}
	/* a memcpy of slots, as a primitive's replaceFrom:... does it */
	memcpy(obj_body(old) + 1, obj_body(tmp) + 1, 64 * sizeof(oop));
	gc_wb_bulk(&th->gc, old);
	tmp = th->nil;
	for (int k = 0; k < 3; k++)
		gc_scavenge(&th->gc);
	for (int i = 1; i < 65; i++)
		ASSERT_EQ(100 + i, t_id(obj_body(old)[i]));
	T_VERIFY(th);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(promoted_object_with_young_referents_is_remembered)
{
	/* a tenure age of 2 and objects of different ages: the older one is
	 * promoted while the one it refers to stays young */
	struct gc_sizes sz = { .new_size = 1 << 20, .tenure_age = 2 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	oop a = t_node(th, 1, 2);
	T_ROOT(th, a);
	gc_scavenge(&th->gc); /* a: age 1 */
	t_store_new(th, &a, 1, 2, 2);
	gc_scavenge(&th->gc); /* a promoted, its referent age 1 */
	ASSERT_FALSE(gc_is_young(&th->gc, a));
	ASSERT_TRUE(gc_is_young(&th->gc, obj_body(a)[1]));
	ASSERT_TRUE(obj_hdr(a)->flags & OBJ_F_REMEMBERED);
	T_VERIFY(th);
	for (int i = 0; i < 50000; i++)
		t_node(th, i, 4);
	ASSERT_EQ(2, t_id(obj_body(a)[1]));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(large_old_array_holding_young_objects)
{
	struct t_heap *th = t_heap(&small);
	ASSERT_NE_NULL(th);
	oop big = gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 200000, 0);
	ASSERT_NE(0, big);
	ASSERT_FALSE(gc_is_young(&th->gc, big));
	T_ROOT(th, big);
	for (int i = 0; i < 200000; i += 1000)
		t_store_new(th, &big, (size_t)i, i, 1);
	for (int i = 0; i < 100000; i++)
		t_node(th, -i, 6);
	for (int i = 0; i < 200000; i++) {
		oop x = obj_body(big)[i];
		if (i % 1000) {
			ASSERT_EQ(th->nil, x);
		} else {
			ASSERT_EQ(i, t_id(x));
		}
	}
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST_HARNESS_MAIN
