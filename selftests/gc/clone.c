// SPDX-License-Identifier: MIT
/*
 * selftests/gc/clone.c: whole-heap copies (gc_freeze, gc_clone_from).
 *
 * Description: a frozen heap of several segments, a large object, pinned
 * objects and holes is copied into empty heaps: the copies verify, hold the
 * same graph with the same headers (identity hashes, pinning), point only
 * into their own heap, relocate the owner's roots, and go on allocating and
 * collecting; a change in a copy is not seen in the source. A source that is
 * not frozen or a destination that is not empty is refused; a root outside
 * the source fails the copy and leaves the destination empty and usable.
 * Minimum kernel: any.
 */
#include <errno.h>
#include <string.h>

#include "selftests/harness.h"
#include "t_gc.h"

#define NODES 60000 /* about 6 MB of old objects: more than one segment */

/* An empty heap (no nil of its own yet) whose roots are [th]'s fields. */
static struct t_heap *t_empty(const struct gc_sizes *sizes)
{
	struct t_heap *th = calloc(1, sizeof *th);
	if (th && gc_init(&th->gc, sizes, t_roots, th) < 0) {
		free(th);
		return NULL;
	}
	return th;
}

/* A list of [n] old nodes [id, next, bytes, big], garbage between them,
 * every 1000th pinned; [big] (a large object) refers to every 100th node. */
static oop build(struct t_heap *th, int n, oop *big)
{
	oop head = th->nil;
	T_ROOT(th, head);
	*big = gc_alloc_old(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, (size_t)n / 100 + 1 + 40000, 0, 0);
	T_ROOT(th, *big);
	for (int i = n; i >= 1; i--) {
		t_old_node(th, -1, 5, 0);
		oop x = t_old_node(th, i, 4, i % 1000 ? 0 : OBJ_F_PINNED);
		gc_store(&th->gc, x, 1, head);
		head = x;
		oop b = t_bytes(th, (size_t)i % 50, (unsigned)i);
		gc_store(&th->gc, head, 2, b);
		gc_store(&th->gc, head, 3, *big);
		if (i % 100 == 0)
			gc_store(&th->gc, *big, (size_t)(i / 100), head);
		if (i % 7 == 0)
			t_hash(th, head);
	}
	T_UNROOT(th, 2);
	return head;
}

/* The graph build() made, in heap [th] (whose hashes [ref] gives). */
static int graph_ok(struct t_heap *th, oop head, oop big, int n, oop ref_head)
{
	int i = 1;
	oop r = ref_head;
	for (oop x = head; x != th->nil; x = obj_body(x)[1], i++) {
		if (t_id(x) != i || !t_bytes_ok(obj_body(x)[2], (size_t)i % 50, (unsigned)i) ||
		    obj_body(x)[3] != big || obj_hdr(x)->hash != obj_hdr(r)->hash ||
		    obj_is_pinned(x) != !(i % 1000))
			return 0;
		if (i % 100 == 0 && obj_body(big)[i / 100] != x)
			return 0;
		r = obj_body(r)[1];
	}
	return i == n + 1;
}

struct span {
	uintptr_t lo, hi;
	long hits;
};

static void in_span(oop o, void *ud)
{
	struct span *s = ud;
	oop *f;
	size_t n = obj_ptr_slots(o, &f);
	for (size_t i = 0; i < n; i++)
		s->hits += obj_is_ptr(f[i]) && f[i] >= s->lo && f[i] < s->hi;
}

TEST(a_frozen_heap_is_copied_with_its_graph_and_roots)
{
	struct t_heap *src = t_heap(NULL);
	ASSERT_NE_NULL(src);
	oop big = 0;
	oop head = build(src, NODES, &big);
	T_ROOT(src, head);
	T_ROOT(src, big);
	oop young = t_node(src, 77, 2); /* frozen: tenured */
	T_ROOT(src, young);
	gc_freeze(&src->gc);
	T_VERIFY(src);
	ASSERT_FALSE(gc_is_young(&src->gc, young));
	struct gc_stats ss = t_stats(src);
	ASSERT_LT((size_t)5 << 20, ss.old_bytes); /* several segments */
	ASSERT_TRUE(graph_ok(src, head, big, NODES, head));

	for (int k = 0; k < 2; k++) {
		struct t_heap *d = t_empty(NULL);
		ASSERT_NE_NULL(d);
		/* the owner's roots hold the source's oops before the copy */
		d->nil = src->nil;
		oop dhead = head, dbig = big, dyoung = young;
		T_ROOT(d, dhead);
		T_ROOT(d, dbig);
		T_ROOT(d, dyoung);
		ASSERT_EQ(0, gc_clone_from(&d->gc, &src->gc));
		T_VERIFY(d);
		EXPECT_NE(src->nil, d->nil);
		EXPECT_EQ(d->nil, d->gc.fill);
		EXPECT_NE(head, dhead);
		EXPECT_NE(big, dbig);
		EXPECT_EQ(77, t_id(dyoung));
		EXPECT_TRUE(graph_ok(d, dhead, dbig, NODES, head));
		EXPECT_EQ(ss.old_bytes, t_stats(d).old_bytes);
		/* nothing in the copy points into the source's first area */
		struct span s = {src->nil, src->nil + 4096, 0};
		gc_each_object(&d->gc, in_span, &s);
		EXPECT_EQ(0, s.hits);
		/* a change in the copy stays there */
		oop x = t_old_node(d, 4242, 2, 0);
		gc_store(&d->gc, dhead, 2, x);
		EXPECT_TRUE(t_bytes_ok(obj_body(head)[2], 1, 1));
		/* it allocates and collects */
		for (int i = 0; i < 20000; i++)
			ASSERT_NE(0, t_store_new(d, &dyoung, 1, i, 6));
		gc_full(&d->gc);
		T_VERIFY(d);
		EXPECT_EQ(4242, t_id(obj_body(dhead)[2]));
		T_UNROOT(d, 3);
		t_heap_free(d);
	}
	T_VERIFY(src);
	EXPECT_TRUE(graph_ok(src, head, big, NODES, head));
	T_UNROOT(src, 3);
	t_heap_free(src);
}

TEST(only_a_frozen_source_and_an_empty_destination)
{
	struct t_heap *src = t_heap(NULL);
	ASSERT_NE_NULL(src);
	oop y = t_node(src, 1, 2);
	T_ROOT(src, y);
	struct t_heap *d = t_empty(NULL);
	ASSERT_NE_NULL(d);
	EXPECT_EQ(-EBUSY, gc_clone_from(&d->gc, &src->gc)); /* young objects */
	gc_freeze(&src->gc);
	struct t_heap *full = t_heap(NULL); /* has its own nil */
	ASSERT_NE_NULL(full);
	EXPECT_EQ(-EBUSY, gc_clone_from(&full->gc, &src->gc));
	EXPECT_EQ(-EINVAL, gc_clone_from(&src->gc, &src->gc));
	d->nil = src->nil;
	ASSERT_EQ(0, gc_clone_from(&d->gc, &src->gc));
	T_VERIFY(d);
	t_heap_free(full);
	t_heap_free(d);
	T_UNROOT(src, 1);
	t_heap_free(src);
}

TEST(a_root_outside_the_source_leaves_the_destination_empty)
{
	struct t_heap *src = t_heap(NULL), *other = t_heap(NULL);
	ASSERT_NE_NULL(src);
	ASSERT_NE_NULL(other);
	oop big = 0;
	oop head = build(src, 2000, &big);
	T_ROOT(src, head);
	gc_freeze(&src->gc);
	struct t_heap *d = t_empty(NULL);
	ASSERT_NE_NULL(d);
	d->nil = src->nil;
	oop stray = other->nil;
	T_ROOT(d, stray);
	EXPECT_EQ(-EFAULT, gc_clone_from(&d->gc, &src->gc));
	T_UNROOT(d, 1);
	struct gc_stats s = t_stats(d);
	EXPECT_EQ(0, s.old_bytes);
	EXPECT_EQ(0, d->gc.fill);
	T_VERIFY(d);
	/* still a heap: a nil, objects, collections */
	d->nil = gc_alloc_old(&d->gc, T_CLS_NIL, OBJ_FMT_PTRS, 0, 0, OBJ_F_PINNED);
	ASSERT_NE(0, d->nil);
	d->gc.fill = d->nil;
	oop x = t_node(d, 5, 3);
	T_ROOT(d, x);
	gc_full(&d->gc);
	T_VERIFY(d);
	EXPECT_EQ(5, t_id(x));
	/* not empty any more */
	EXPECT_EQ(-EBUSY, gc_clone_from(&d->gc, &src->gc));
	T_UNROOT(d, 1);
	t_heap_free(d);
	t_heap_free(other);
	T_UNROOT(src, 1);
	t_heap_free(src);
}

TEST(a_destination_with_smaller_segments_is_refused)
{
	struct t_heap *src = t_heap(NULL);
	ASSERT_NE_NULL(src);
	oop big = 0;
	oop head = build(src, 20000, &big);
	T_ROOT(src, head);
	gc_freeze(&src->gc);
	struct gc_sizes small = {.heap_max = (size_t)4 << 20};
	struct t_heap *d = t_empty(&small);
	ASSERT_NE_NULL(d);
	d->nil = src->nil;
	int r = gc_clone_from(&d->gc, &src->gc);
	EXPECT_TRUE(r == -E2BIG || r == -ENOMEM) TH_LOG("gc_clone_from: %d", r);
	EXPECT_EQ(0, t_stats(d).old_bytes);
	T_VERIFY(d);
	t_heap_free(d);
	T_UNROOT(src, 1);
	t_heap_free(src);
}

TEST_HARNESS_MAIN
