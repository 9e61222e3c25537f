// SPDX-License-Identifier: MIT
/*
 * hb_beats.c: selftests of a ticking heartbeat on each backend: backend
 * choice, beat count against the clock, wake-up and CPU counters, thread
 * name and signal mask. Counts only, never speed.
 *
 * See Documentation/core/heartbeat.md.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "selftests/harness.h"
#include "selftests/heartbeat/t_hb.h"

FIXTURE(hb) {
	struct t_vm vm;
	struct hb *hb;
	int tid;
};

FIXTURE_VARIANT(hb) {
	struct t_backend b;
};

FIXTURE_VARIANT_ADD(hb, uring_multishot) {
	.b = { .name = "io_uring-multishot", .uring = 1, .multishot = 1 },
};
FIXTURE_VARIANT_ADD(hb, uring) {
	.b = { .name = "io_uring", .no_multishot = 1, .uring = 1 },
};
FIXTURE_VARIANT_ADD(hb, read) {
	.b = { .name = "read", .force_read = 1 },
};

FIXTURE_SETUP(hb)
{
	char buf[160];
	const char *why = t_backend_missing(&variant->b, buf, sizeof buf);
	if (why)
		SKIP(return, "%s", why);
	self->hb = t_hb_start(&variant->b, &self->vm, 1000);
	ASSERT_NE_NULL(self->hb);
	self->tid = t_find_thread("baton-hb");
}

FIXTURE_TEARDOWN(hb)
{
	hb_stop(self->hb);
}

TEST_F(hb, backend_is_the_one_asked_for)
{
	ASSERT_STREQ(variant->b.name, hb_backend(self->hb));
}

TEST_F(hb, beats_about_hz_times_per_second)
{
	const uint64_t window = 300 * 1000000u, period = 1000000u;
	uint64_t t0 = kif_now_ns();
	uint64_t e0 = atomic_load(&self->vm.expirations);
	/* An observation window, not a synchronisation: the heartbeat's own
	 * expiration count is compared with the clock afterwards. */
	struct timespec ts = { 0, (long)window };
	while (nanosleep(&ts, &ts))
		;
	uint64_t e = atomic_load(&self->vm.expirations) - e0;
	uint64_t elapsed = kif_now_ns() - t0;
	TH_LOG("%s: %lu expirations in %.1f ms, %u beats, %lu wake-ups",
	       hb_backend(self->hb), (unsigned long)e, elapsed / 1e6,
	       atomic_load(&self->vm.beats), (unsigned long)hb_wakeups(self->hb));
	/* A late heartbeat reads several expirations at once: the count
	 * keeps up with the clock even on a loaded machine. */
	ASSERT_GE(e, elapsed / period / 2);
	/* ... and cannot run ahead of it (the timer was armed before t0). */
	ASSERT_LE(e, (kif_now_ns() - t0) / period + 2);
}

TEST_F(hb, wakeups_count_beat_calls)
{
	t_wait_beats(&self->vm, 50);
	for (int i = 0; i < 100; i++) {
		/* A wake-up is counted just before its beat() call. */
		uint32_t c = atomic_load(&self->vm.beats);
		uint64_t w = hb_wakeups(self->hb);
		uint32_t c2 = atomic_load(&self->vm.beats);
		ASSERT_LE(c, w);
		ASSERT_LE(w, (uint64_t)c2 + 1);
	}
}

TEST_F(hb, cpu_time_is_reported)
{
	t_wait_beats(&self->vm, 50);
	ASSERT_GT(hb_cpu_ns(self->hb), 0);
}

TEST_F(hb, thread_is_named_and_blocks_signals)
{
	ASSERT_GT(self->tid, 0); /* exactly one "baton-hb" */
	char path[64], line[256];
	unsigned long long blk = 0;
	snprintf(path, sizeof path, "/proc/self/task/%d/status", self->tid);
	FILE *f = fopen(path, "re");
	ASSERT_NE_NULL(f);
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "SigBlk: %llx", &blk) == 1)
			break;
	fclose(f);
	/* Signals are for the embedder's threads. */
	EXPECT_TRUE(blk & (1ull << (SIGINT - 1)));
	EXPECT_TRUE(blk & (1ull << (SIGTERM - 1)));
	EXPECT_TRUE(blk & (1ull << (SIGUSR1 - 1)));
}

TEST_F(hb, sleeps_between_beats)
{
	t_wait_beats(&self->vm, 5);
	/* Between beats the thread is asleep in its backend's system call. */
	while (!t_hb_asleep(self->tid))
		sched_yield();
}

TEST_HARNESS_MAIN
