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
	struct st_vm *vm = t_vm(&small);
	ASSERT_NE_NULL(vm);
	oop old = t_old_node(vm, 1, 3, 0);
	ASSERT_NE(0, old);
	ASSERT_FALSE(gc_is_young(&vm->gc, old));
	ST_ROOT(vm, old);
	oop y = t_node(vm, 2, 2);
	gc_store(&vm->gc, old, 1, y);
	y = t_bytes(vm, 100, 3);
	gc_store(&vm->gc, old, 2, y);
	y = 0; /* only the old object refers to them now */
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(vm);
	ASSERT_TRUE(gc_is_young(&vm->gc, obj_body(old)[1]));
	ASSERT_EQ(2, t_id(obj_body(old)[1]));
	ASSERT_TRUE(t_bytes_ok(obj_body(old)[2], 100, 3));
	T_VERIFY(vm);
	/* garbage in between: the referents still move, the slots follow */
	for (int i = 0; i < 100000; i++)
		t_node(vm, i, 4);
	ASSERT_EQ(2, t_id(obj_body(old)[1]));
	ASSERT_TRUE(t_bytes_ok(obj_body(old)[2], 100, 3));
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST(remembered_object_leaves_the_set_once_its_referents_are_old)
{
	struct gc_sizes sz = { .new_size = 1 << 20, .tenure_age = 2 };
	struct st_vm *vm = t_vm(&sz);
	ASSERT_NE_NULL(vm);
	oop old = t_old_node(vm, 1, 2, 0);
	ST_ROOT(vm, old);
	t_store_new(vm, &old, 1, 2, 2);
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(vm); /* referent: age 1, still young */
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(vm); /* referent promoted */
	ASSERT_FALSE(gc_is_young(&vm->gc, obj_body(old)[1]));
	ASSERT_FALSE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	ASSERT_EQ(2, t_id(obj_body(old)[1]));
	/* and comes back with the next young store */
	t_store_new(vm, &old, 1, 3, 2);
	ASSERT_TRUE(obj_hdr(old)->flags & OBJ_F_REMEMBERED);
	gc_scavenge(vm);
	ASSERT_EQ(3, t_id(obj_body(old)[1]));
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST(bulk_barrier_covers_unchecked_stores)
{
	struct st_vm *vm = t_vm(&small);
	ASSERT_NE_NULL(vm);
	oop old = t_old_node(vm, 1, 65, 0);
	ST_ROOT(vm, old);
	oop tmp = t_node(vm, 0, 65);
	ST_ROOT(vm, tmp);
	for (int i = 1; i < 65; i++) {
		oop x = t_node(vm, 100 + i, 1);
		gc_store(&vm->gc, tmp, (size_t)i, x);
	}
	/* a memcpy of slots, as a primitive's replaceFrom:... does it */
	memcpy(obj_body(old) + 1, obj_body(tmp) + 1, 64 * sizeof(oop));
	gc_wb_bulk(&vm->gc, old);
	tmp = vm->nil;
	for (int k = 0; k < 3; k++)
		gc_scavenge(vm);
	for (int i = 1; i < 65; i++)
		ASSERT_EQ(100 + i, t_id(obj_body(old)[i]));
	T_VERIFY(vm);
	ST_UNROOT(vm, 2);
	t_vm_free(vm);
}

TEST(promoted_object_with_young_referents_is_remembered)
{
	/* a tenure age of 2 and objects of different ages: the older one is
	 * promoted while the one it refers to stays young */
	struct gc_sizes sz = { .new_size = 1 << 20, .tenure_age = 2 };
	struct st_vm *vm = t_vm(&sz);
	ASSERT_NE_NULL(vm);
	oop a = t_node(vm, 1, 2);
	ST_ROOT(vm, a);
	gc_scavenge(vm); /* a: age 1 */
	t_store_new(vm, &a, 1, 2, 2);
	gc_scavenge(vm); /* a promoted, its referent age 1 */
	ASSERT_FALSE(gc_is_young(&vm->gc, a));
	ASSERT_TRUE(gc_is_young(&vm->gc, obj_body(a)[1]));
	ASSERT_TRUE(obj_hdr(a)->flags & OBJ_F_REMEMBERED);
	T_VERIFY(vm);
	for (int i = 0; i < 50000; i++)
		t_node(vm, i, 4);
	ASSERT_EQ(2, t_id(obj_body(a)[1]));
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST(large_old_array_holding_young_objects)
{
	struct st_vm *vm = t_vm(&small);
	ASSERT_NE_NULL(vm);
	oop big = gc_alloc(&vm->gc, CI_ARRAY, OBJ_FMT_IPTRS, 200000, 0);
	ASSERT_NE(0, big);
	ASSERT_FALSE(gc_is_young(&vm->gc, big));
	ST_ROOT(vm, big);
	for (int i = 0; i < 200000; i += 1000)
		t_store_new(vm, &big, (size_t)i, i, 1);
	for (int i = 0; i < 100000; i++)
		t_node(vm, -i, 6);
	for (int i = 0; i < 200000; i++) {
		oop x = obj_body(big)[i];
		if (i % 1000) {
			ASSERT_EQ(vm->nil, x);
		} else {
			ASSERT_EQ(i, t_id(x));
		}
	}
	T_VERIFY(vm);
	ST_UNROOT(vm, 1);
	t_vm_free(vm);
}

TEST_HARNESS_MAIN
