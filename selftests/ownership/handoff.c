// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/handoff.c: directed handoff to queued threads.
 *
 * Description: threads that cannot own the VM queue by priority and sleep;
 * each release hands the VM to exactly one of them, best priority first and
 * first come first served among equals, while the others stay asleep.
 */
#include <pthread.h>

#include "selftests/harness.h"
#include "common.h"

#define N 6

struct shared {
	baton_vm *vm;
	int order[N];       /* written by owners only */
	unsigned still_queued[N];
	int n;
};

struct waiter {
	struct shared *sh;
	int id, prio;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct shared *sh = w->sh;
	baton_thread *t = baton_attach(sh->vm, w->prio);
	if (!t)
		return NULL;
	sh->still_queued[sh->n] = t_stats(sh->vm).waiting;
	sh->order[sh->n++] = w->id;
	int last = sh->n == N;
	baton_detach(sh->vm, t);
	if (last)
		baton_wake(sh->vm); /* main is parked in baton_yield() */
	return NULL;
}

TEST(handoff_by_priority_fifo_among_equals)
{
	static const int prio[N] = { 10, 50, 30, 50, 10, 70 };
	static const int want[N] = { 5, 1, 3, 2, 0, 4 };
	struct baton_config cfg = { .heartbeat_hz = 1000 };
	struct shared sh = { .vm = baton_vm_new(&cfg) };
	ASSERT_NE_NULL(sh.vm);
	baton_thread *me = baton_enter(sh.vm);
	ASSERT_NE_NULL(me);
	pthread_t th[N];
	struct waiter w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct waiter){ &sh, i, prio[i] };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, waiter_main, &w[i]));
		/* fixes the arrival order */
		ASSERT_TRUE(t_wait_queued(sh.vm, i + 1))
		TH_LOG("waiter %d never queued for the VM within %d s", i, T_LIVE_S);
	}
	T_CHECK(sh.vm, me);
	ASSERT_EQ(70, baton_top_waiter(sh.vm));
	struct t_watch wd;
	t_watch_start(&wd, 10, NULL, NULL, "main never got the VM back from the %d waiters", N);
	ASSERT_EQ(BATON_RUN, baton_yield(sh.vm, me));
	t_watch_stop(&wd);
	T_CHECK(sh.vm, me);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(N, sh.n);
	for (int i = 0; i < N; i++) {
		EXPECT_EQ(want[i], sh.order[i]);
		/* No herd: while one runs, every later one is still asleep. */
		EXPECT_EQ((unsigned)(N - 1 - i), sh.still_queued[i]);
	}
	struct baton_stats s = t_stats(sh.vm);
	EXPECT_EQ((uint64_t)N, s.attaches);
	EXPECT_GE(s.handoffs, (uint64_t)N);
	baton_vm_free(sh.vm, me);
}

TEST(yield_without_waiters_keeps_the_vm)
{
	struct baton_config cfg = { 0 };
	baton_vm *vm = baton_vm_new(&cfg);
	ASSERT_NE_NULL(vm);
	baton_thread *me = baton_enter(vm);
	ASSERT_EQ(-1, baton_top_waiter(vm));
	ASSERT_EQ(BATON_RUN, baton_yield(vm, me));
	ASSERT_EQ(baton_thread_index(me), baton_owner(vm));
	ASSERT_EQ(0u, t_stats(vm).handoffs);
	baton_vm_free(vm, me);
}

struct pingpong {
	baton_vm *vm;
	baton_thread *a;
	unsigned rounds, seen_b;
};

static void *pong_main(void *arg)
{
	struct pingpong *p = arg;
	baton_thread *b = baton_attach(p->vm, 40);
	for (unsigned i = 0; i < p->rounds; i++) {
		p->seen_b++;
		if (baton_handoff(p->vm, b, p->a) != BATON_RUN)
			return NULL;
	}
	baton_detach(p->vm, b);
	baton_wake(p->vm); /* a is parked in its last handoff */
	return NULL;
}

TEST(handoff_to_a_named_thread_alternates)
{
	struct baton_config cfg = { 0 };
	struct pingpong p = { .vm = baton_vm_new(&cfg), .rounds = 1000 };
	ASSERT_NE_NULL(p.vm);
	p.a = baton_enter(p.vm);
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, pong_main, &p));
	ASSERT_TRUE(t_wait_queued(p.vm, 1))
	TH_LOG("the pong thread never queued for the VM within %d s", T_LIVE_S);
	baton_thread *b = NULL;
	for (unsigned i = 1; !b; i++)
		b = baton_thread_at(p.vm, i) != p.a ? baton_thread_at(p.vm, i) : NULL;
	unsigned seen_a = 0;
	struct t_watch wd;
	t_watch_start(&wd, 20, NULL, NULL, "%u handoffs between two threads did not complete",
		      2 * p.rounds);
	for (unsigned i = 0; i <= p.rounds; i++) {
		ASSERT_EQ(seen_a, p.seen_b); /* strictly alternating */
		seen_a++;
		ASSERT_EQ(BATON_RUN, baton_handoff(p.vm, p.a, b));
	}
	t_watch_stop(&wd);
	pthread_join(th, NULL);
	EXPECT_EQ(p.rounds, p.seen_b);
	T_CHECK(p.vm, p.a);
	ASSERT_EQ(baton_thread_index(p.a), baton_owner(p.vm));
	baton_vm_free(p.vm, p.a);
}

TEST_HARNESS_MAIN
