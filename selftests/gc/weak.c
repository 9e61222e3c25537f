// SPDX-License-Identifier: MIT
/*
 * selftests/gc/weak.c: weak objects (gc_make_weak).
 *
 * Description: a slot of a weak object does not keep its referent alive: a
 * scavenge (young weak object, or an old one in the remembered set) or a
 * full collection that frees the referent stores nil in the slot; a
 * referent that something else keeps is kept, moved and updated in the slot
 * (scavenges, promotion, compaction); an old weak object left referring to
 * young objects stays in the remembered set (the heap verifies); immediates
 * are untouched; raw objects cannot be made weak.
 */
#include <errno.h>

#include "selftests/harness.h"
#include "t_gc.h"

/* Young and old garbage. */
static void churn(struct t_heap *th)
{
	for (int i = 0; i < 500; i++)
		t_old_node(th, -i, (size_t)(i % 17), 0);
	for (int i = 0; i < 5000; i++)
		t_node(th, -i, (size_t)(i % 7) + 1);
}

/* weak [id, kept, dropped, 42]: kept also in *keep */
static oop weak_node(struct t_heap *th, intptr_t id, oop *keep, int old)
{
	oop w = old ? t_old_node(th, id, 4, 0) : t_node(th, id, 4);
	T_ROOT(th, w);
	*keep = t_store_new(th, &w, 1, id + 1, 2);
	t_store_new(th, &w, 2, id + 2, 2);
	obj_body(w)[3] = obj_from_int(42);
	T_UNROOT(th, 1);
	return w;
}

TEST(young_weak_object_loses_unreferenced_young_referent_in_a_scavenge)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop keep = 0, w = 0;
	T_ROOT(th, keep);
	T_ROOT(th, w);
	w = weak_node(th, 10, &keep, 0);
	ASSERT_EQ(0, gc_make_weak(&th->gc, w));
	ASSERT_TRUE(gc_is_weak(w));
	churn(th);
	gc_scavenge(&th->gc);
	T_VERIFY(th);
	ASSERT_TRUE(gc_is_weak(w));
	ASSERT_EQ(10, t_id(w));
	ASSERT_EQ(keep, obj_body(w)[1]);
	ASSERT_EQ(11, t_id(keep));
	ASSERT_EQ(th->nil, obj_body(w)[2]);
	ASSERT_EQ(42, obj_int(obj_body(w)[3]));
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(old_weak_object_keeps_young_referent_remembered_and_drops_the_other)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop keep = 0, w = 0;
	T_ROOT(th, keep);
	T_ROOT(th, w);
	w = weak_node(th, 20, &keep, 1);
	ASSERT_EQ(0, gc_make_weak(&th->gc, w));
	/* the first scavenge may keep [keep] young: it must stay remembered */
	for (int round = 0; round < 4; round++) {
		churn(th);
		gc_scavenge(&th->gc);
		T_VERIFY(th);
		ASSERT_EQ(keep, obj_body(w)[1]);
		ASSERT_EQ(21, t_id(keep));
		ASSERT_EQ(th->nil, obj_body(w)[2]);
	}
	/* a young referent stored later, then dropped */
	t_store_new(th, &w, 2, 99, 1);
	gc_scavenge(&th->gc);
	T_VERIFY(th);
	ASSERT_EQ(th->nil, obj_body(w)[2]);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(full_collection_clears_dead_old_referents_and_updates_moved_ones)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop keep = 0, w = 0, garbage = 0;
	T_ROOT(th, keep);
	T_ROOT(th, w);
	T_ROOT(th, garbage);
	/* old garbage below the referents, so that compaction moves them */
	garbage = t_old_node(th, -1, 50, 0);
	w = t_old_node(th, 30, 5, 0);
	keep = t_old_node(th, 31, 2, 0);
	gc_store(&th->gc, w, 1, keep);
	gc_store(&th->gc, w, 2, t_old_node(th, 32, 2, 0));
	gc_store(&th->gc, w, 3, t_old_node(th, 33, 2, 0));
	oop strong = t_old_node(th, 34, 2, 0);
	gc_store(&th->gc, strong, 1, obj_body(w)[3]); /* 33 kept through [strong] */
	gc_store(&th->gc, keep, 1, strong);
	ASSERT_EQ(0, gc_make_weak(&th->gc, w));
	garbage = 0;
	churn(th);
	gc_full(&th->gc);
	T_VERIFY(th);
	ASSERT_EQ(keep, obj_body(w)[1]);
	ASSERT_EQ(31, t_id(keep));
	ASSERT_EQ(th->nil, obj_body(w)[2]);
	ASSERT_EQ(33, t_id(obj_body(w)[3]));
	ASSERT_EQ(obj_body(obj_body(keep)[1])[1], obj_body(w)[3]);
	ASSERT_EQ(th->nil, obj_body(w)[4]);
	/* dropping the strong path: the next full collection clears slot 3 */
	obj_body(keep)[1] = th->nil;
	gc_full(&th->gc);
	T_VERIFY(th);
	ASSERT_EQ(th->nil, obj_body(w)[3]);
	ASSERT_EQ(keep, obj_body(w)[1]);
	T_UNROOT(th, 3);
	t_heap_free(th);
}

TEST(weak_object_reachable_only_weakly_is_itself_freed)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop w = 0, w2 = 0;
	T_ROOT(th, w);
	w = t_node(th, 40, 2);
	ASSERT_EQ(0, gc_make_weak(&th->gc, w));
	w2 = t_node(th, 41, 2);
	ASSERT_EQ(0, gc_make_weak(&th->gc, w2));
	gc_store(&th->gc, w, 1, w2); /* w2 only through a weak slot */
	w2 = 0;
	gc_scavenge(&th->gc);
	T_VERIFY(th);
	ASSERT_EQ(th->nil, obj_body(w)[1]);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(many_weak_objects_under_churn)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop ws = 0, keep = 0;
	T_ROOT(th, ws);
	T_ROOT(th, keep);
	ws = t_node(th, 0, 301);
	keep = t_node(th, 0, 301);
	for (intptr_t i = 1; i <= 300; i++) {
		oop w = t_store_new(th, &ws, (size_t)i, i, 3);
		ASSERT_NE_NULL((void *)w);
		ASSERT_EQ(0, gc_make_weak(&th->gc, w));
		oop r = t_node(th, 1000 + i, 1);
		ASSERT_NE_NULL((void *)r);
		w = obj_body(ws)[i];
		gc_store(&th->gc, w, 1, r);
		if (i % 2)
			gc_store(&th->gc, keep, (size_t)i, r);
		if (i % 50 == 0)
			churn(th);
	}
	for (int round = 0; round < 6; round++) {
		churn(th);
		if (round % 3 == 2)
			gc_full(&th->gc);
		else
			gc_scavenge(&th->gc);
		T_VERIFY(th);
	}
	for (intptr_t i = 1; i <= 300; i++) {
		oop w = obj_body(ws)[i];
		ASSERT_EQ(i, t_id(w));
		if (i % 2) {
			ASSERT_EQ(obj_body(keep)[i], obj_body(w)[1]);
			ASSERT_EQ(1000 + i, t_id(obj_body(w)[1]));
		} else {
			ASSERT_EQ(th->nil, obj_body(w)[1]);
		}
	}
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(raw_objects_cannot_be_weak)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop b = t_bytes(th, 16, 1);
	ASSERT_EQ(-EINVAL, gc_make_weak(&th->gc, b));
	ASSERT_FALSE(gc_is_weak(b));
	ASSERT_EQ(-EINVAL, gc_make_weak(&th->gc, obj_from_int(3)));
	t_heap_free(th);
}

TEST_HARNESS_MAIN
