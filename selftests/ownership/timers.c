// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/timers.c: deadlines and the tickless heartbeat.
 *
 * Description: hooks->timers runs when the deadline passes, whether the VM
 * is busy (at a checkpoint) or idle (the heartbeat wakes a parked thread);
 * while the VM is idle the heartbeat makes no wake-ups but for the next
 * deadline, and it resumes ticking when a thread takes the VM.
 */
#include <pthread.h>
#include <time.h>

#include "selftests/harness.h"
#include "common.h"

struct order {
	struct sim_task *finish[8];
	int n;
};

static void on_event(struct sim *s, enum sim_event ev, baton_thread *t, struct sim_task *k)
{
	(void)t;
	struct order *o = s->ud;
	if (ev == SIM_FINISH && o->n < 8)
		o->finish[o->n++] = k;
}

FIXTURE(timers) {
	struct sim s;
	struct order o;
};
FIXTURE_VARIANT(timers) {
	int uring;
};
FIXTURE_VARIANT_ADD(timers, io_uring) { .uring = 1 };
FIXTURE_VARIANT_ADD(timers, read) { .uring = 0 };

FIXTURE_SETUP(timers)
{
	t_backend(variant->uring);
	self->s.log = on_event;
	self->s.ud = &self->o;
	struct baton_config cfg = { .heartbeat_hz = 1000 };
	ASSERT_EQ(0, sim_init(&self->s, &cfg));
}

FIXTURE_TEARDOWN(timers)
{
	sim_fini(&self->s);
}

TEST_F(timers, sleepers_wake_in_deadline_order_while_idle)
{
	struct sim_task k[3] = {
		{ .prio = 40, .delay_ms = 60 },
		{ .prio = 40, .delay_ms = 20 },
		{ .prio = 40, .delay_ms = 40 },
	};
	uint64_t t0 = baton_now_ns();
	for (int i = 0; i < 3; i++)
		sim_add(&self->s, &k[i]);
	ASSERT_EQ(0, t_sim_run(&self->s, 20));
	T_CHECK(self->s.vm, self->s.main);
	ASSERT_EQ(3, self->o.n);
	EXPECT_TRUE(self->o.finish[0] == &k[1]);
	EXPECT_TRUE(self->o.finish[1] == &k[2]);
	EXPECT_TRUE(self->o.finish[2] == &k[0]);
	/* A timer never fires early. */
	EXPECT_GE(baton_now_ns() - t0, 60000000u);
	EXPECT_GE(self->s.timer_runs, 3u);
	EXPECT_GE(t_stats(self->s.vm).wakes, 1u);
}

TEST_F(timers, idle_heartbeat_wakes_only_for_the_deadline)
{
	/* One task sleeps 300 ms with nothing else to do: ticking would
	 * mean ~300 wake-ups; tickless means a handful (the beats before the
	 * heartbeat saw the VM idle, and the deadline itself). */
	struct sim_task k = { .prio = 40, .delay_ms = 300 };
	sim_add(&self->s, &k);
	uint64_t w0 = t_stats(self->s.vm).hb_wakeups;
	ASSERT_EQ(0, t_sim_run(&self->s, 20));
	T_CHECK(self->s.vm, self->s.main);
	uint64_t woke = t_stats(self->s.vm).hb_wakeups - w0;
	TH_LOG("heartbeat wake-ups during a 300 ms idle sleep: %llu",
	       (unsigned long long)woke);
	EXPECT_TRUE(k.finished);
	EXPECT_LE(woke, 10u);
}

TEST_F(timers, timer_fires_at_a_checkpoint_while_busy)
{
	/* A low-priority task computes without pause (no-op callouts); the
	 * high-priority sleeper must wake and finish first, so the deadline
	 * was honoured at a checkpoint. */
	struct sim_task busy = { .prio = 10, .ops = 2000000, .work = 1 };
	struct sim_task sleeper = { .prio = 70, .delay_ms = 5 };
	sim_add(&self->s, &sleeper);
	sim_add(&self->s, &busy);
	ASSERT_EQ(0, t_sim_run(&self->s, 20));
	T_CHECK(self->s.vm, self->s.main);
	ASSERT_EQ(2, self->o.n);
	EXPECT_TRUE(self->o.finish[0] == &sleeper);
	EXPECT_EQ(0u, self->s.violations);
}

TEST_F(timers, idle_vm_without_deadline_makes_no_wakeups)
{
	/* Nobody has entered this VM: after the first beat sees it idle,
	 * the heartbeat sleeps with no timer armed at all. */
	baton_vm *vm = self->s.vm;
	ASSERT_TRUE(T_WAIT_UNTIL(t_stats(vm).hb_wakeups >= 1, T_LIVE_S))
	TH_LOG("the heartbeat never woke within %d s", T_LIVE_S);
	uint64_t w0 = t_stats(vm).hb_wakeups;
	struct timespec ts = { 0, 250000000 }; /* the measurement window */
	nanosleep(&ts, NULL);
	uint64_t w1 = t_stats(vm).hb_wakeups;
	EXPECT_LE(w1 - w0, 1u);
	/* Entering makes it tick again: count beats while we own. */
	self->s.main = baton_enter(vm);
	ASSERT_NE_NULL(self->s.main);
	uint64_t b0 = t_stats(vm).hb_wakeups;
	nanosleep(&ts, NULL);
	EXPECT_GE(t_stats(vm).hb_wakeups - b0, 25u);
	EXPECT_TRUE(baton_interrupted(vm));
}

TEST_HARNESS_MAIN
