// SPDX-License-Identifier: MIT
/*
 * hb_start.c: selftests of heartbeat start-up: configuration checks,
 * backend preference and the forced fallbacks (force_read, BATON_URING=0).
 *
 * See Documentation/core/heartbeat.md.
 */
#include <stdlib.h>

#include "selftests/harness.h"
#include "selftests/heartbeat/t_hb.h"
#include "selftests/kernel-iface/t_seccomp.h"

static uint64_t t_tick(void *ud, uint64_t now, uint64_t exp)
{
	(void)now;
	atomic_fetch_add((_Atomic uint64_t *)ud, exp);
	return HB_TICK;
}

TEST(bad_config_is_einval)
{
	_Atomic uint64_t n = 0;
	struct hb_config nobeat = { .hz = 1000 };
	struct hb_config toofast = { .hz = 2000000000u, .beat = t_tick, .ud = &n };
	errno = 0;
	ASSERT_NULL(hb_start(NULL));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_NULL(hb_start(&nobeat));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_NULL(hb_start(&toofast));
	ASSERT_EQ(EINVAL, errno);
	hb_stop(NULL); /* a no-op */
}

TEST(zero_hz_means_1000_and_still_idle_may_be_null)
{
	struct t_vm vm = { 0 };
	struct hb_config cfg = { .beat = t_beat, .ud = &vm };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	t_wait_beats(&vm, 10);
	/* NULL still_idle: idle is taken at beat()'s word. */
	atomic_store(&vm.mode, T_IDLE);
	t_wait_beats(&vm, atomic_load(&vm.beats) + 1);
	hb_resume(hb);
	hb_stop(hb);
}

TEST(default_prefers_io_uring)
{
	struct kif_uring_caps c;
	unsetenv("BATON_URING");
	int r = kif_uring_probe(&c);
	_Atomic uint64_t n = 0;
	struct hb_config cfg = { .hz = 1000, .beat = t_tick, .ud = &n };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	const char *want = r < 0 ? "read" : c.read_multishot ? "io_uring-multishot" : "io_uring";
	TH_LOG("backend %s%s%s", hb_backend(hb), r < 0 ? ", io_uring: " : "", r < 0 ? c.why : "");
	EXPECT_STREQ(want, hb_backend(hb));
	hb_stop(hb);
}

TEST(env_baton_uring_0_forces_read)
{
	setenv("BATON_URING", "0", 1);
	struct t_vm vm = { 0 };
	struct hb_config cfg = { .hz = 1000, .beat = t_beat, .ud = &vm };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	EXPECT_STREQ("read", hb_backend(hb));
	t_wait_beats(&vm, 10);
	hb_stop(hb);
}

TEST(force_read_wins_over_io_uring)
{
	unsetenv("BATON_URING");
	_Atomic uint64_t n = 0;
	struct hb_config cfg = { .hz = 1000, .force_read = 1, .beat = t_tick, .ud = &n };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	EXPECT_STREQ("read", hb_backend(hb));
	hb_stop(hb);
}

TEST(io_uring_blocked_by_seccomp_falls_back_to_read)
{
	char why[128];
	unsetenv("BATON_URING");
	if (t_seccomp_refuse(SYS_io_uring_setup, EPERM, 0, why, sizeof why))
		SKIP(return, "%s", why);
	struct t_vm vm = { 0 };
	struct hb_config cfg = { .hz = 1000, .beat = t_beat, .ud = &vm };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	EXPECT_STREQ("read", hb_backend(hb));
	t_wait_beats(&vm, 10);
	hb_stop(hb);
}

TEST(io_uring_failing_while_running_falls_back_to_read)
{
	char why[128];
	struct kif_uring_caps c;
	unsetenv("BATON_URING");
	if (kif_uring_probe(&c) < 0)
		SKIP(return, "io_uring unusable: %s", c.why);
	struct t_vm vm = { 0 };
	struct hb_config cfg = { .hz = 1000, .beat = t_beat, .ud = &vm };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	ASSERT_STRNE("read", hb_backend(hb));
	t_wait_beats(&vm, 5);
	/* From now on every thread's io_uring_enter fails: the heartbeat's
	 * next wait does, and it must carry on with the next backend. */
	if (t_seccomp_refuse(SYS_io_uring_enter, EPERM, 1, why, sizeof why)) {
		hb_stop(hb);
		SKIP(return, "%s", why);
	}
	t_wait_beats(&vm, atomic_load(&vm.beats) + 20);
	EXPECT_STREQ("read", hb_backend(hb));
	hb_stop(hb);
}

struct t_recheck {
	struct hb *_Atomic hb;
	uint64_t t[3], at;
	uint64_t exp[3];
	_Atomic uint32_t n;
};

static uint64_t t_recheck_beat(void *ud, uint64_t now, uint64_t exp)
{
	struct t_recheck *r = ud;
	uint32_t n = atomic_load(&r->n);
	struct hb *hb = atomic_load(&r->hb);
	if (!hb || n >= 3)
		return HB_TICK;
	r->t[n] = now;
	r->exp[n] = exp;
	if (n == 0) {
		r->at = now + 10 * 1000000u;
		hb_recheck_at(hb, r->at);
	}
	atomic_store(&r->n, n + 1);
	(void)kif_futex_wake(&r->n, INT_MAX);
	return HB_TICK;
}

TEST(recheck_adds_one_wakeup_then_ticks_on)
{
	static struct t_recheck r;
	struct hb_config cfg = { .hz = 1, .beat = t_recheck_beat, .ud = &r };
	struct hb *hb = hb_start(&cfg);
	ASSERT_NE_NULL(hb);
	atomic_store(&r.hb, hb);
	uint32_t n;
	while ((n = atomic_load(&r.n)) < 3)
		(void)kif_futex_wait(&r.n, n, -1);
	hb_stop(hb);
	/* The extra wake-up: not before the time asked, and well before the
	 * 1 s period would have ended (990 ms of margin: not a speed test). */
	ASSERT_GE(r.t[1], r.at);
	ASSERT_LT(r.t[1], r.t[0] + 1000000000u);
	ASSERT_EQ(1, r.exp[1]);
	/* Then periodic again, one period after the recheck. */
	ASSERT_GE(r.t[2], r.at + 1000000000u);
}

TEST(several_heartbeats_coexist)
{
	/* No global state: one heartbeat per VM, several VMs per process. */
	struct t_vm vm[3] = { 0 };
	struct hb *hb[3];
	for (int i = 0; i < 3; i++) {
		struct t_backend b = { .force_read = i == 2, .no_multishot = i == 1 };
		hb[i] = t_hb_start(&b, &vm[i], 500 + 250 * i);
		ASSERT_NE_NULL(hb[i]);
	}
	for (int i = 0; i < 3; i++)
		t_wait_beats(&vm[i], 10);
	for (int i = 0; i < 3; i++)
		hb_stop(hb[i]);
}

TEST_HARNESS_MAIN
