// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/torture.c: the protocol under load.
 *
 * Description: 32 tasks at random priorities make 1,048,576 callouts in
 * all, 1% of them blocking for 2 to 16 ms (past a beat), over up to 16 VM
 * threads. Asserts that no two threads ever ran VM code at once (a plain
 * counter loses no increment, the owner check and the inside witness never
 * trip), that every task finished (no lost wake-up: a lost one hangs and the
 * harness timeout fails the test) and that the blocking ones really caused
 * takeovers on several threads. Every 4096th returning callout checks the
 * invariants I1-I7 (baton_check()) from the owning thread; a lost wake-up
 * ends the test with the tasks' progress after 90 s.
 *
 * Variants: both heartbeat backends with the membarrier fast path (full
 * size), the CAS fast path (BATON_MEMBARRIER=0), and both fast paths with
 * the heartbeat at 10 kHz, where take-overs of blocked callouts are ten
 * times as frequent. The last three run a quarter of the callouts in make
 * check (the blocking sleeps set the time); BATON_TORTURE_FULL=1 runs them
 * at full size too. Where membarrier is refused the membarrier variants
 * skip.
 */
#include "selftests/harness.h"
#include "common.h"
#include "kernel-iface/membarrier.h"

#define TASKS 32
#define OPS (1u << 15)  /* per task: 32 * 32768 = 1,048,576 callouts */

static unsigned torture_us(struct sim_task *k)
{
	uint64_t r = sim_rand(&k->rng);
	if (r % 100 == 0)
		return 2000 + (unsigned)((r >> 16) % 14000); /* blocks 2-16 ms: past a beat */
	return 0;
}

FIXTURE(torture) {
	struct sim s;
	struct sim_task k[TASKS];
	unsigned checks, broken;
	char why[200];
};

/* The simulator's event log, called by owners: check the invariants now
 * and then, as the collector's torture test calls gc_verify. */
static void check_now_and_then(struct sim *s, enum sim_event ev, baton_thread *t,
			       struct sim_task *k)
{
	(void)k;
	FIXTURE_DATA(torture) *self = s->ud;
	static _Thread_local unsigned n;
	if (ev != SIM_CALLOUT_END || ++n % 4096)
		return;
	self->checks++;
	if (baton_check(s->vm, t, self->broken ? NULL : self->why,
			self->broken ? 0 : sizeof self->why))
		self->broken++;
}
FIXTURE_VARIANT(torture) {
	int uring;
	int cas;       /* BATON_MEMBARRIER=0 */
	unsigned hz;
	int quarter;   /* a quarter of the callouts unless BATON_TORTURE_FULL=1 */
};
FIXTURE_VARIANT_ADD(torture, io_uring) { .uring = 1, .hz = 1000 };
FIXTURE_VARIANT_ADD(torture, read) { .uring = 0, .hz = 1000 };
FIXTURE_VARIANT_ADD(torture, cas) { .uring = 1, .cas = 1, .hz = 1000, .quarter = 1 };
FIXTURE_VARIANT_ADD(torture, hz10k) { .uring = 1, .hz = 10000, .quarter = 1 };
FIXTURE_VARIANT_ADD(torture, hz10k_cas) { .uring = 1, .cas = 1, .hz = 10000, .quarter = 1 };

FIXTURE_SETUP(torture)
{
	t_backend(variant->uring);
	if (variant->cas)
		setenv("BATON_MEMBARRIER", "0", 1);
	else
		unsetenv("BATON_MEMBARRIER");
}

FIXTURE_TEARDOWN(torture)
{
	if (self->s.vm)
		sim_fini(&self->s);
}

TEST_F_TIMEOUT(torture, million_callouts_keep_mutual_exclusion, 120)
{
	if (!variant->cas && kif_membarrier_register() < 0)
		SKIP(return, "membarrier(PRIVATE_EXPEDITED) is refused here");
	const char *full = getenv("BATON_TORTURE_FULL");
	unsigned ops = variant->quarter && !(full && *full == '1') ? OPS / 4 : OPS;
	struct baton_config cfg = { .heartbeat_hz = variant->hz, .max_threads = 16 };
	self->s.log = check_now_and_then;
	self->s.ud = self;
	ASSERT_EQ(0, sim_init(&self->s, &cfg));
	uint64_t seed = 0x5eed1234abcdull;
	for (int i = 0; i < TASKS; i++) {
		self->k[i] = (struct sim_task){
			.prio = 1 + (int)(sim_rand(&seed) % 80),
			.ops = ops, .work = 2, .callout_us = torture_us,
			.rng = sim_rand(&seed) | 1,
		};
		sim_add(&self->s, &self->k[i]);
	}
	uint64_t t0 = baton_now_ns();
	ASSERT_EQ(0, t_sim_run(&self->s, 90));
	T_CHECK(self->s.vm, self->s.main);
	double secs = (baton_now_ns() - t0) / 1e9;
	struct baton_stats s = t_stats(self->s.vm);
	TH_LOG("%.2f s, %llu callouts, %llu blocked, %llu handoffs, %u threads, %llu slow owns,"
	       " fast path %s, %llu takeovers, %llu aborted",
	       secs, (unsigned long long)s.disowns, (unsigned long long)s.blocked,
	       (unsigned long long)s.handoffs, s.threads_peak,
	       (unsigned long long)s.owns_slow, s.own_fast_path,
	       (unsigned long long)s.takeovers, (unsigned long long)s.takeover_aborts);
	EXPECT_STREQ(variant->cas ? "cas" : "membarrier", s.own_fast_path);
	if (!variant->cas)
		EXPECT_GT(s.takeovers, 0u);
	else
		EXPECT_EQ(0u, s.takeovers);
	EXPECT_EQ(0u, self->s.violations);
	for (int i = 0; i < TASKS; i++)
		EXPECT_EQ(ops, self->k[i].done);
	EXPECT_EQ((uint64_t)TASKS * ops, s.disowns);
	EXPECT_EQ((uint64_t)TASKS * 2 * (ops + 1), self->s.counter);
	/* I4: a callout whose work was saved (taken over) must come back
	 * through the slow path, which restores it: a fast path that
	 * succeeded after a takeover would leave saves above slow owns. */
	EXPECT_GE(s.owns_slow, self->s.saves);
	EXPECT_GT(self->s.saves, 0u);
	EXPECT_GT(self->checks, 0u);
	EXPECT_EQ(0u, self->broken) TH_LOG("invariant: %s", self->why);
	EXPECT_GE(s.blocked, 25u);
	EXPECT_GE(s.threads_peak, 8u);
	EXPECT_LE(s.threads_peak, 16u);
	EXPECT_EQ(self->s.saves, self->s.restores);
}

TEST_HARNESS_MAIN
