// SPDX-License-Identifier: MIT
/*
 * hb_tickless.c: selftests of the tickless protocol on each backend: no
 * wake-ups while idle, one wake-up at a deadline, hb_resume() restarting
 * beats (also racing with the heartbeat going tickless), still_idle()
 * vetoing, hb_stop() from tickless.
 *
 * See Documentation/core/heartbeat.md.
 */
#include <time.h>

#include "selftests/harness.h"
#include "selftests/heartbeat/t_hb.h"

#define MS 1000000u

FIXTURE(tl) {
	struct t_vm vm;
	struct hb *hb;
	int tid;
};

FIXTURE_VARIANT(tl) {
	struct t_backend b;
};

FIXTURE_VARIANT_ADD(tl, uring_multishot) {
	.b = { .name = "io_uring-multishot", .uring = 1, .multishot = 1 },
};
FIXTURE_VARIANT_ADD(tl, uring) {
	.b = { .name = "io_uring", .no_multishot = 1, .uring = 1 },
};
FIXTURE_VARIANT_ADD(tl, read) {
	.b = { .name = "read", .force_read = 1 },
};

FIXTURE_SETUP(tl)
{
	char buf[160];
	const char *why = t_backend_missing(&variant->b, buf, sizeof buf);
	if (why)
		SKIP(return, "%s", why);
	atomic_store(&self->vm.idle, 1);
	self->hb = t_hb_start(&variant->b, &self->vm, 1000);
	ASSERT_NE_NULL(self->hb);
	ASSERT_STREQ(variant->b.name, hb_backend(self->hb));
	self->tid = t_find_thread("baton-hb");
	ASSERT_GT(self->tid, 0);
}

FIXTURE_TEARDOWN(tl)
{
	hb_stop(self->hb);
}

static void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts))
		;
}

/* Observation window: the wake-up counter must not move for 200 ms. */
static uint64_t t_wakeups_moved(struct hb *hb)
{
	uint64_t w = hb_wakeups(hb);
	t_sleep_ms(200);
	return hb_wakeups(hb) - w;
}

TEST_F(tl, idle_without_deadline_makes_no_wakeups)
{
	atomic_store(&self->vm.mode, T_IDLE);
	t_wait_tickless_sleep(&self->vm, self->tid, 0);
	ASSERT_EQ(0, t_wakeups_moved(self->hb));
}

TEST_F(tl, deadline_wakes_once_not_before_it)
{
	uint64_t deadline = kif_now_ns() + 50 * MS;
	atomic_store(&self->vm.deadline, deadline);
	atomic_store(&self->vm.mode, T_DEADLINE);
	/* Wait for the first beat at or after the deadline. */
	while (atomic_load(&self->vm.late_beats) == 0)
		t_wait_beats(&self->vm, atomic_load(&self->vm.beats) + 1);
	ASSERT_GE(atomic_load(&self->vm.late_now), deadline);
	ASSERT_EQ(1, atomic_load(&self->vm.late_exp)); /* the one-shot */
	uint64_t s = atomic_load(&self->vm.still_idle_calls);
	t_wait_tickless_sleep(&self->vm, self->tid, s - 1);
	ASSERT_EQ(0, t_wakeups_moved(self->hb));
	ASSERT_EQ(1, atomic_load(&self->vm.late_beats));
	/* Before the deadline: the beat that asked for it, plus at most one
	 * period expiring while it was being armed. */
	ASSERT_LE(atomic_load(&self->vm.early_beats), 2);
}

TEST_F(tl, resume_restarts_periodic_beats)
{
	atomic_store(&self->vm.mode, T_IDLE);
	t_wait_tickless_sleep(&self->vm, self->tid, 0);
	uint32_t b = atomic_load(&self->vm.beats);
	atomic_store(&self->vm.mode, T_TICK);
	atomic_store(&self->vm.idle, 0);
	hb_resume(self->hb);
	t_wait_beats(&self->vm, b + 20); /* never returns if resume is lost */
}

TEST_F(tl, resume_while_ticking_changes_nothing)
{
	t_wait_beats(&self->vm, 5);
	for (int i = 0; i < 10000; i++)
		hb_resume(self->hb);
	uint32_t b = atomic_load(&self->vm.beats);
	t_wait_beats(&self->vm, b + 20);
}

TEST_F(tl, busy_vm_vetoes_tickless)
{
	atomic_store(&self->vm.idle, 0);
	atomic_store(&self->vm.mode, T_IDLE); /* beat() asks, still_idle() says no */
	uint32_t b = atomic_load(&self->vm.beats);
	t_wait_beats(&self->vm, b + 50);
	ASSERT_GE(atomic_load(&self->vm.still_idle_calls), 49);
}

TEST_F(tl, stop_from_tickless_returns)
{
	atomic_store(&self->vm.mode, T_IDLE);
	t_wait_tickless_sleep(&self->vm, self->tid, 0);
	hb_stop(self->hb); /* hangs (harness timeout) if the sleeper is not woken */
	self->hb = NULL;
}

/*
 * The lost-wake-up race: a thread becomes busy and calls hb_resume() just
 * as the heartbeat decides to sleep. Each round declares the VM idle,
 * waits until still_idle() has said so (the heartbeat is then between that
 * answer and its sleep, or asleep), makes the VM busy again and resumes:
 * a beat must follow.
 */
TEST_F_TIMEOUT(tl, resume_racing_tickless_loses_no_wakeup, 60)
{
	atomic_store(&self->vm.mode, T_IDLE);
	atomic_store(&self->vm.idle, 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = atomic_load(&self->vm.idle_votes);
		atomic_store(&self->vm.idle, 1);
		while (atomic_load(&self->vm.idle_votes) == v)
			sched_yield();
		atomic_store(&self->vm.idle, 0); /* seq_cst: the "busy" write */
		hb_resume(self->hb);
		t_wait_beats(&self->vm, atomic_load(&self->vm.beats) + 1);
	}
}

TEST_HARNESS_MAIN
