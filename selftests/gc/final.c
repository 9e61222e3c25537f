// SPDX-License-Identifier: MIT
/*
 * selftests/gc/final.c: finalization (gc_final_add/remove/take).
 *
 * Description: a registered object that becomes unreachable is queued by
 * the next collection that can see it (a scavenge for a young one, a full
 * collection for an old one), exactly once, with everything it references
 * kept valid; a reachable one never is, however often it moves (scavenges,
 * promotion, compaction); the registry does not keep objects alive; queued
 * objects are roots until taken; remove, idempotent add, add/remove churn;
 * 10,000 registered objects; the owner's notification.
 */
#include <errno.h>

#include "selftests/harness.h"
#include "t_gc.h"

/* A young node [id, child, bytes] whose child is a young node [id+1] and
 * whose bytes hold 40 bytes of seed id. */
static oop node_with_children(struct t_heap *th, intptr_t id)
{
	oop n = t_node(th, id, 3);
	T_ROOT(th, n);
	t_store_new(th, &n, 1, id + 1, 2);
	oop b = t_bytes(th, 40, (unsigned)id);
	gc_store(&th->gc, n, 2, b);
	T_UNROOT(th, 1);
	return n;
}

static int node_with_children_ok(oop n, intptr_t id)
{
	return t_id(n) == id && t_id(obj_body(n)[1]) == id + 1 &&
	       t_bytes_ok(obj_body(n)[2], 40, (unsigned)id);
}

/* Young and old garbage, and a scavenge or a full collection. */
static void churn(struct t_heap *th, int round)
{
	for (int i = 0; i < 2000; i++)
		t_old_node(th, -i, (size_t)(i % 17), 0);
	for (int i = 0; i < 20000; i++)
		t_node(th, -i, (size_t)(i % 7) + 1);
	if (round % 2)
		gc_full(&th->gc);
	else
		gc_scavenge(&th->gc);
}

TEST(unreachable_young_object_is_queued_by_a_scavenge)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop n = node_with_children(th, 10);
	ASSERT_EQ(1, gc_final_add(&th->gc, n));
	ASSERT_EQ(1u, gc_final_registered(&th->gc));
	n = 0; /* the last reference */
	gc_scavenge(&th->gc);
	ASSERT_EQ(1u, gc_final_ready(&th->gc));
	ASSERT_EQ(0u, gc_final_registered(&th->gc));
	T_VERIFY(th);
	oop r = gc_final_take(&th->gc);
	ASSERT_NE(0, r);
	ASSERT_TRUE(node_with_children_ok(r, 10));
	ASSERT_EQ(0, gc_final_take(&th->gc));
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	ASSERT_EQ(1u, t_stats(th).finalized);
	/* unregistered now: when it is dropped again, nothing is queued */
	r = 0;
	gc_scavenge(&th->gc);
	gc_full(&th->gc);
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	T_VERIFY(th);
	t_heap_free(th);
}

TEST(reachable_objects_are_never_queued_however_they_move)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	t_old_node(th, -1, 800, 0); /* garbage below: compaction slides them */
	oop young = node_with_children(th, 100);
	T_ROOT(th, young);
	oop old = t_old_node(th, 200, 3, 0);
	T_ROOT(th, old);
	t_store_new(th, &old, 1, 201, 2);
	ASSERT_EQ(1, gc_final_add(&th->gc, young));
	ASSERT_EQ(1, gc_final_add(&th->gc, old));
	oop young0 = young, old0 = old;
	for (int round = 0; round < 8; round++) {
		churn(th, round);
		ASSERT_EQ(0u, gc_final_ready(&th->gc)) TH_LOG("round %d", round);
		ASSERT_EQ(2u, gc_final_registered(&th->gc));
		ASSERT_TRUE(node_with_children_ok(young, 100));
		ASSERT_EQ(200, t_id(old));
		ASSERT_EQ(201, t_id(obj_body(old)[1]));
		T_VERIFY(th);
	}
	ASSERT_NE(young0, young); /* copied, then promoted */
	ASSERT_FALSE(gc_is_young(&th->gc, young));
	ASSERT_NE(old0, old);     /* slid down by compaction */
	/* the entries followed them: both are still registered, once */
	ASSERT_EQ(0, gc_final_add(&th->gc, young));
	ASSERT_EQ(1, gc_final_remove(&th->gc, young));
	ASSERT_EQ(1, gc_final_remove(&th->gc, old));
	ASSERT_EQ(0u, gc_final_registered(&th->gc));
	T_VERIFY(th);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(unreachable_old_object_waits_for_a_full_collection)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop o = t_old_node(th, 7, 2, 0);
	T_ROOT(th, o);
	t_store_new(th, &o, 1, 8, 1); /* a young referent, kept with it */
	ASSERT_EQ(1, gc_final_add(&th->gc, o));
	T_UNROOT(th, 1);
	o = 0;
	gc_scavenge(&th->gc); /* a scavenge cannot know an old object is dead */
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	ASSERT_EQ(1u, gc_final_registered(&th->gc));
	gc_full(&th->gc);
	ASSERT_EQ(1u, gc_final_ready(&th->gc));
	T_VERIFY(th);
	oop r = gc_final_take(&th->gc);
	ASSERT_EQ(7, t_id(r));
	ASSERT_EQ(8, t_id(obj_body(r)[1]));
	t_heap_free(th);
}

TEST(queued_objects_are_roots_until_taken_and_keep_their_contents)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	for (intptr_t i = 0; i < 50; i++) {
		oop n = node_with_children(th, i * 10);
		ASSERT_EQ(1, gc_final_add(&th->gc, n));
	}
	oop o = t_old_node(th, 5000, 2, 0);
	T_ROOT(th, o);
	oop b = t_bytes(th, 3000, 9);
	gc_store(&th->gc, o, 1, b);
	ASSERT_EQ(1, gc_final_add(&th->gc, o));
	T_UNROOT(th, 1);
	gc_full(&th->gc);
	ASSERT_EQ(51u, gc_final_ready(&th->gc));
	/* nobody takes them for a while: they move, and stay intact */
	for (int round = 0; round < 6; round++) {
		churn(th, round);
		ASSERT_EQ(51u, gc_final_ready(&th->gc));
		T_VERIFY(th);
	}
	int seen_old = 0, seen[50] = { 0 };
	oop r;
	while ((r = gc_final_take(&th->gc))) {
		if (t_id(r) == 5000) {
			ASSERT_TRUE(t_bytes_ok(obj_body(r)[1], 3000, 9));
			seen_old++;
			continue;
		}
		intptr_t i = t_id(r) / 10;
		ASSERT_TRUE(i >= 0 && i < 50);
		ASSERT_TRUE(node_with_children_ok(r, i * 10));
		seen[i]++;
	}
	ASSERT_EQ(1, seen_old);
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(1, seen[i]) TH_LOG("object %d", i);
	ASSERT_EQ(51u, t_stats(th).finalized);
	t_heap_free(th);
}

TEST(a_taken_object_kept_by_the_owner_stays_valid)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop n = node_with_children(th, 40);
	gc_final_add(&th->gc, n);
	n = 0;
	gc_scavenge(&th->gc);
	oop r = gc_final_take(&th->gc);
	ASSERT_NE(0, r);
	T_ROOT(th, r); /* resurrected for good */
	for (int round = 0; round < 6; round++)
		churn(th, round);
	ASSERT_TRUE(node_with_children_ok(r, 40));
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST(registered_objects_reachable_only_from_each_other_are_all_queued)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	/* young a -> b -> a (a cycle), and old c -> d */
	oop a = t_node(th, 1, 2);
	T_ROOT(th, a);
	oop b = t_store_new(th, &a, 1, 2, 2);
	gc_store(&th->gc, b, 1, a);
	ASSERT_EQ(1, gc_final_add(&th->gc, a));
	ASSERT_EQ(1, gc_final_add(&th->gc, b));
	oop c = t_old_node(th, 3, 2, 0);
	T_ROOT(th, c);
	oop d = t_old_node(th, 4, 2, 0);
	gc_store(&th->gc, c, 1, d);
	ASSERT_EQ(1, gc_final_add(&th->gc, c));
	ASSERT_EQ(1, gc_final_add(&th->gc, d));
	T_UNROOT(th, 2);
	a = b = c = d = 0;
	gc_scavenge(&th->gc);
	ASSERT_EQ(2u, gc_final_ready(&th->gc));
	gc_full(&th->gc);
	ASSERT_EQ(4u, gc_final_ready(&th->gc));
	T_VERIFY(th);
	intptr_t sum = 0;
	oop r;
	oop ra = 0, rb = 0;
	while ((r = gc_final_take(&th->gc))) {
		sum += t_id(r);
		if (t_id(r) == 1)
			ra = r;
		if (t_id(r) == 2)
			rb = r;
	}
	ASSERT_EQ(10, sum);
	ASSERT_EQ(rb, obj_body(ra)[1]); /* the cycle is intact */
	ASSERT_EQ(ra, obj_body(rb)[1]);
	t_heap_free(th);
}

TEST(the_registry_does_not_keep_unregistered_objects_alive)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	gc_full(&th->gc);
	size_t old0 = t_stats(th).old_bytes;
	for (int i = 0; i < 1000; i++) {
		oop o = t_old_node(th, i, 30, 0);
		ASSERT_EQ(1, gc_final_add(&th->gc, o));
		ASSERT_EQ(1, gc_final_remove(&th->gc, o));
		ASSERT_EQ(0, gc_final_remove(&th->gc, o));
	}
	gc_full(&th->gc);
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	ASSERT_EQ(old0, t_stats(th).old_bytes); /* all freed */
	T_VERIFY(th);
	t_heap_free(th);
}

TEST(add_is_idempotent_and_remove_unregisters)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	ASSERT_EQ(-EINVAL, gc_final_add(&th->gc, obj_from_int(3)));
	ASSERT_EQ(-EINVAL, gc_final_add(&th->gc, 0));
	ASSERT_EQ(0, gc_final_remove(&th->gc, obj_from_int(3)));
	oop keep = t_node(th, 1, 1);
	T_ROOT(th, keep);
	oop gone = t_node(th, 2, 1);
	T_ROOT(th, gone);
	oop twice = t_node(th, 3, 1);
	T_ROOT(th, twice);
	ASSERT_EQ(1, gc_final_add(&th->gc, keep));
	ASSERT_EQ(0, gc_final_add(&th->gc, keep));
	ASSERT_EQ(1, gc_final_add(&th->gc, gone));
	ASSERT_EQ(1, gc_final_remove(&th->gc, gone));
	/* removed and added again, many times, between collections */
	for (int i = 0; i < 5000; i++) {
		ASSERT_EQ(1, gc_final_add(&th->gc, twice));
		ASSERT_EQ(1, gc_final_remove(&th->gc, twice));
	}
	ASSERT_EQ(1, gc_final_add(&th->gc, twice));
	ASSERT_EQ(2u, gc_final_registered(&th->gc));
	T_VERIFY(th);
	T_UNROOT(th, 3);
	keep = gone = twice = 0;
	gc_scavenge(&th->gc);
	ASSERT_EQ(2u, gc_final_ready(&th->gc)); /* keep and twice, once each */
	intptr_t sum = 0;
	oop r;
	while ((r = gc_final_take(&th->gc)))
		sum += t_id(r);
	ASSERT_EQ(4, sum);
	gc_full(&th->gc);
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	ASSERT_EQ(0u, gc_final_registered(&th->gc));
	T_VERIFY(th);
	t_heap_free(th);
}

/* A holder of [n] slots (slot 0: its id) in old space. */
static oop holder(struct t_heap *th, size_t n)
{
	return t_old_node(th, -7, n + 1, 0);
}

TEST(ten_thousand_registered_objects)
{
	enum { N = 10000 };
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop h = holder(th, N);
	T_ROOT(th, h);
	for (intptr_t i = 0; i < N; i++) {
		oop n = t_store_new(th, &h, (size_t)i + 1, i, 2);
		ASSERT_NE(0, n);
		ASSERT_EQ(1, gc_final_add(&th->gc, n));
	}
	ASSERT_EQ((size_t)N, gc_final_registered(&th->gc));
	/* drop the odd ones */
	for (size_t i = 1; i < N; i += 2)
		obj_body(h)[i + 1] = th->nil;
	gc_scavenge(&th->gc);
	ASSERT_EQ((size_t)N / 2, gc_final_ready(&th->gc));
	T_VERIFY(th);
	static char seen[N];
	oop r;
	while ((r = gc_final_take(&th->gc))) {
		intptr_t id = t_id(r);
		ASSERT_TRUE(id >= 0 && id < N && id % 2 == 1) TH_LOG("id %ld", (long)id);
		ASSERT_EQ(0, seen[id]);
		seen[id] = 1;
	}
	/* the even ones are promoted and compacted, and stay registered */
	for (int round = 0; round < 4; round++)
		churn(th, round);
	ASSERT_EQ(0u, gc_final_ready(&th->gc));
	ASSERT_EQ((size_t)N / 2, gc_final_registered(&th->gc));
	for (size_t i = 0; i < N; i += 2)
		ASSERT_EQ((intptr_t)i, t_id(obj_body(h)[i + 1]));
	T_UNROOT(th, 1);
	h = 0;
	gc_full(&th->gc);
	ASSERT_EQ((size_t)N / 2, gc_final_ready(&th->gc));
	while ((r = gc_final_take(&th->gc))) {
		intptr_t id = t_id(r);
		ASSERT_TRUE(id >= 0 && id < N && id % 2 == 0);
		ASSERT_EQ(0, seen[id]);
		seen[id] = 1;
	}
	for (int i = 0; i < N; i++)
		ASSERT_EQ(1, seen[i]);
	ASSERT_EQ(0u, gc_final_registered(&th->gc));
	T_VERIFY(th);
	t_heap_free(th);
}

static int notified;

static void on_ready(void *owner)
{
	struct t_heap *th = owner;
	notified++;
	/* allowed here: look at the queue, not allocate */
	if (!gc_final_ready(&th->gc))
		notified = -1000;
}

TEST(the_owner_is_notified_once_per_collection_that_queued)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	gc_final_notify(&th->gc, on_ready);
	notified = 0;
	gc_scavenge(&th->gc);
	gc_full(&th->gc);
	ASSERT_EQ(0, notified);
	for (int i = 0; i < 3; i++)
		gc_final_add(&th->gc, t_node(th, i, 1));
	gc_scavenge(&th->gc);
	ASSERT_EQ(1, notified);
	gc_final_add(&th->gc, t_old_node(th, 9, 1, 0));
	gc_full(&th->gc);
	ASSERT_EQ(2, notified);
	gc_scavenge(&th->gc);
	ASSERT_EQ(2, notified);
	ASSERT_EQ(4u, gc_final_ready(&th->gc));
	t_heap_free(th);
}

TEST(finalization_under_stress_mode)
{
	struct gc_sizes sz = { .stress = 1 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	oop h = holder(th, 200);
	T_ROOT(th, h);
	for (intptr_t i = 0; i < 200; i++) {
		oop n = node_with_children(th, i * 3);
		gc_store(&th->gc, h, (size_t)i + 1, n);
		ASSERT_EQ(1, gc_final_add(&th->gc, n));
		if (i % 3 == 0)
			obj_body(h)[i + 1] = th->nil;
	}
	gc_full(&th->gc);
	T_VERIFY(th);
	size_t queued = 0;
	oop r;
	while ((r = gc_final_take(&th->gc))) {
		ASSERT_EQ(0, t_id(r) % 9) TH_LOG("id %ld", (long)t_id(r));
		ASSERT_TRUE(node_with_children_ok(r, t_id(r)));
		queued++;
	}
	ASSERT_EQ(67u, queued);
	for (intptr_t i = 0; i < 200; i++) {
		if (i % 3) {
			ASSERT_TRUE(node_with_children_ok(obj_body(h)[i + 1], i * 3));
		}
	}
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST_HARNESS_MAIN
