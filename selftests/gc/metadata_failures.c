// SPDX-License-Identifier: MIT
/*
 * selftests/gc/metadata_failures.c: the collector when malloc fails.
 *
 * Description: the collector's own tables (remembered set, mark stack,
 * root list, forwarding side table) grow with realloc(). This program
 * interposes realloc() to make it fail on demand and checks the fallbacks:
 * a remembered set that cannot grow makes the next scavenge scan all of old
 * space (with promotions happening during that scan); a mark stack that
 * cannot grow is recovered by rescanning; without a root list or a side
 * table the full collection does not move anything (it sweeps). mmap() is
 * interposed too: when old space cannot grow, a full collection leaves the
 * objects it cannot promote young. In every case the data survives,
 * garbage is reclaimed and the heap verifies.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/mman.h>

#include "selftests/harness.h"
#include "t_gc.h"

enum { FAIL_NONE, FAIL_ALL, FAIL_FIRST_BIG };
static volatile int fail_mode;

/* Our realloc for the whole program; the real one found with RTLD_NEXT
 * (libc's, or the sanitizer's interceptor). */
void *realloc(void *p, size_t n)
{
	static void *(*real)(void *, size_t);
	if (!real)
		real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	if (fail_mode == FAIL_ALL || (fail_mode == FAIL_FIRST_BIG && !p && n >= 32768))
		return NULL;
	return real(p, n);
}

static volatile int fail_mmap;

void *mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	if (!real)
		real = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_NEXT, "mmap");
	if (fail_mmap) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return real(a, n, prot, flags, fd, off);
}

TEST(remembered_set_overflow_rescans_old_space)
{
	struct gc_sizes sz = { .new_size = 1 << 20, .tenure_age = 2 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	/* 3000 old objects in a list, each to receive a young object */
	oop head = th->nil;
	T_ROOT(th, head);
	for (int i = 1; i <= 3000; i++) {
		oop x = t_old_node(th, i, 3, 0);
		ASSERT_NE(0, x);
		gc_store(&th->gc, x, 1, head);
		head = x;
	}
	/* young objects of age 1: the rescan promotes them while it walks */
	oop tmp = t_node(th, 0, 3001);
	T_ROOT(th, tmp);
	for (int i = 1; i <= 3000; i++)
		ASSERT_NE(0, t_store_new(th, &tmp, (size_t)i, 10000 + i, 2));
	gc_scavenge(&th->gc);
	fail_mode = FAIL_ALL;
	oop x = head;
	for (int i = 3000; i >= 1; i--, x = obj_body(x)[1])
		gc_store(&th->gc, x, 2, obj_body(tmp)[i]);
	fail_mode = FAIL_NONE;
	tmp = th->nil;
	gc_scavenge(&th->gc); /* the remembered set lost them: scan everything */
	for (int k = 0; k < 200000; k++)
		t_node(th, -k, 3);
	x = head;
	for (int i = 3000; i >= 1; i--, x = obj_body(x)[1]) {
		ASSERT_EQ(i, t_id(x));
		ASSERT_EQ(10000 + i, t_id(obj_body(x)[2]));
	}
	T_VERIFY(th);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

static oop old_list(struct t_heap *th, int n)
{
	oop head = th->nil;
	T_ROOT(th, head);
	for (int i = 1; i <= n; i++) {
		t_old_node(th, -i, 4, 0); /* garbage */
		oop x = t_old_node(th, i, 2, 0);
		gc_store(&th->gc, x, 1, head);
		head = x;
	}
	T_UNROOT(th, 1);
	return head;
}

static int old_list_ok(struct t_heap *th, oop head, int n)
{
	for (oop x = head; x != th->nil; x = obj_body(x)[1])
		if (t_id(x) != n--)
			return 0;
	return n == 0;
}

TEST(full_gc_without_any_table_marks_by_rescanning_and_sweeps)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop head = old_list(th, 20000);
	T_ROOT(th, head);
	/* a wide object: more children than the mark stack holds */
	oop wide = t_old_node(th, 0, 5001, 0);
	T_ROOT(th, wide);
	for (int i = 1; i <= 5000; i++) {
		oop x = t_old_node(th, i, 2, 0);
		ASSERT_NE(0, x);
		gc_store(&th->gc, wide, (size_t)i, x);
		oop y = t_old_node(th, -i, 1, 0);
		gc_store(&th->gc, x, 1, y);
		t_old_node(th, 0, 3, 0); /* garbage */
	}
	gc_scavenge(&th->gc);
	size_t before = t_stats(th).old_bytes;
	oop h0 = head;
	fail_mode = FAIL_ALL;
	gc_full(&th->gc);
	fail_mode = FAIL_NONE;
	ASSERT_EQ(h0, head); /* nothing moved */
	ASSERT_TRUE(old_list_ok(th, head, 20000));
	for (int i = 1; i <= 5000; i++) {
		oop x = obj_body(wide)[i];
		ASSERT_EQ(i, t_id(x));
		ASSERT_EQ(-i, t_id(obj_body(x)[1]));
	}
	ASSERT_LT(t_stats(th).old_bytes, before); /* the garbage is gone */
	T_VERIFY(th);
	/* the next full collection compacts again */
	gc_full(&th->gc);
	ASSERT_LT(head, h0);
	ASSERT_TRUE(old_list_ok(th, head, 20000));
	for (int i = 1; i <= 5000; i++)
		ASSERT_EQ(-i, t_id(obj_body(obj_body(wide)[i])[1]));
	T_VERIFY(th);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(full_gc_without_a_side_table_moves_nothing)
{
	struct t_heap *th = t_heap(NULL);
	ASSERT_NE_NULL(th);
	oop head = old_list(th, 20000);
	T_ROOT(th, head);
	oop h0 = head;
	fail_mode = FAIL_FIRST_BIG;
	gc_full(&th->gc);
	fail_mode = FAIL_NONE;
	ASSERT_EQ(h0, head);
	ASSERT_TRUE(old_list_ok(th, head, 20000));
	T_VERIFY(th);
	/* allocation goes on in the swept segments */
	size_t heap = t_stats(th).heap_bytes;
	oop more = old_list(th, 10000);
	T_ROOT(th, more);
	ASSERT_EQ(heap, t_stats(th).heap_bytes);
	ASSERT_TRUE(old_list_ok(th, more, 10000));
	T_VERIFY(th);
	T_UNROOT(th, 2);
	t_heap_free(th);
}

TEST(old_space_that_cannot_grow_leaves_young_objects_young)
{
	struct gc_sizes sz = { .tenure_age = 255 };
	struct t_heap *th = t_heap(&sz);
	ASSERT_NE_NULL(th);
	/* 4.6 MB of live young nodes: more than the one old segment holds */
	oop head = th->nil;
	T_ROOT(th, head);
	for (int i = 1; i <= 145000; i++) {
		oop x = t_node(th, i, 2);
		ASSERT_NE(0, x);
		gc_store(&th->gc, x, 1, head);
		head = x;
	}
	ASSERT_EQ(0u, t_stats(th).scavenges);
	fail_mmap = 1;
	gc_full(&th->gc);
	ASSERT_EQ(0, gc_alloc(&th->gc, T_CLS_NODE, OBJ_FMT_IPTRS, 1 << 20, 0));
	fail_mmap = 0;
	T_VERIFY(th);
	intptr_t n = 145000, young = 0;
	for (oop x = head; x != th->nil; x = obj_body(x)[1]) {
		ASSERT_EQ(n--, t_id(x));
		young += gc_is_young(&th->gc, x);
	}
	ASSERT_EQ(0, n);
	ASSERT_LT(1000, young); /* the tail of the list did not fit */
	gc_full(&th->gc); /* now old space can grow */
	n = 145000;
	for (oop x = head; x != th->nil; x = obj_body(x)[1]) {
		ASSERT_EQ(n--, t_id(x));
		ASSERT_FALSE(gc_is_young(&th->gc, x));
	}
	T_VERIFY(th);
	T_UNROOT(th, 1);
	t_heap_free(th);
}

TEST_HARNESS_MAIN
