// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/spawn_fail.c: the VM survives failing thread creation.
 *
 * Description: when the heartbeat wants a new VM thread for a blocked
 * callout and creation fails (injected through before_spawn) or the thread
 * maximum is reached, the failure is counted, said once on stderr, and the
 * VM goes on with the threads it has: all work completes.
 */
#include "selftests/harness.h"
#include "common.h"

static int always_fail(void *ud)
{
	(*(unsigned *)ud)++;
	return EAGAIN;
}

static int fail_first(void *ud)
{
	unsigned *left = ud;
	return *left ? ((*left)--, EAGAIN) : 0;
}

static void run_two(struct sim *s, struct sim_task *sleeper, struct sim_task *worker)
{
	*sleeper = (struct sim_task){ .prio = 40, .ops = 1, .callout_us = t_fixed_us,
				      .ud = (void *)(uintptr_t)30000 };
	*worker = (struct sim_task){ .prio = 40, .ops = 100, .work = 2 };
	sim_add(s, sleeper);
	sim_add(s, worker);
}

TEST(creation_failure_is_counted_and_work_completes)
{
	unsigned tries = 0;
	struct baton_config cfg = { .before_spawn = always_fail, .spawn_ud = &tries };
	struct sim s = { 0 };
	ASSERT_EQ(0, sim_init(&s, &cfg));
	struct sim_task a, b;
	run_two(&s, &a, &b);
	ASSERT_EQ(0, t_sim_run(&s, 20));
	T_CHECK(s.vm, s.main);
	struct baton_stats st = t_stats(s.vm);
	EXPECT_TRUE(a.finished && b.finished);
	EXPECT_GE(st.creation_failures, 1u);
	EXPECT_EQ(st.creation_failures, (uint64_t)tries);
	EXPECT_EQ(0u, st.creations);
	EXPECT_EQ(1u, st.threads);
	EXPECT_EQ(0u, s.violations);
	EXPECT_EQ(2u * 101, s.counter);
	sim_fini(&s);
}

TEST(thread_maximum_is_counted_and_work_completes)
{
	struct baton_config cfg = { .max_threads = 1 };
	struct sim s = { 0 };
	ASSERT_EQ(0, sim_init(&s, &cfg));
	struct sim_task a, b;
	run_two(&s, &a, &b);
	ASSERT_EQ(0, t_sim_run(&s, 20));
	T_CHECK(s.vm, s.main);
	struct baton_stats st = t_stats(s.vm);
	EXPECT_TRUE(a.finished && b.finished);
	EXPECT_GE(st.max_threads_hits, 1u);
	EXPECT_EQ(0u, st.creations);
	EXPECT_EQ(1u, st.threads_peak);
	sim_fini(&s);
}

TEST(a_later_creation_succeeds_after_failures)
{
	/* Fail the first two creations only: the third attempt (a later
	 * beat) brings a thread, and the worker then runs during the block. */
	unsigned left = 2;
	struct baton_config cfg = { .before_spawn = fail_first, .spawn_ud = &left };
	struct sim s = { 0 };
	ASSERT_EQ(0, sim_init(&s, &cfg));
	struct sim_task a, b;
	run_two(&s, &a, &b);
	ASSERT_EQ(0, t_sim_run(&s, 20));
	T_CHECK(s.vm, s.main);
	struct baton_stats st = t_stats(s.vm);
	EXPECT_EQ(2u, st.creation_failures);
	EXPECT_GE(st.creations, 1u);
	EXPECT_TRUE(b.finished);
	EXPECT_GE(s.saves, 1u);
	sim_fini(&s);
}

TEST_HARNESS_MAIN
