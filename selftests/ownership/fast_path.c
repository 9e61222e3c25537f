// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/fast_path.c: disown and own without contention.
 *
 * Description: a callout that returns before anyone takes the VM costs a
 * few plain stores and one load (membarrier fast path) or one CAS (the CAS
 * path, BATON_MEMBARRIER=0): it counts as a fast own, saves nothing, and
 * makes no system call at all (checked with a seccomp filter that kills the
 * process on any syscall but write and exit). Every test runs on both
 * paths; the membarrier variant skips where the kernel refuses membarrier.
 */
#include <stddef.h>
#include <sys/syscall.h>

#include "selftests/harness.h"
#include "common.h"
#include "selftests/kernel-iface/t_seccomp.h"
#include "kernel-iface/membarrier.h"

FIXTURE(mode) {
	int unused;
};
FIXTURE_VARIANT(mode) {
	int cas; /* BATON_MEMBARRIER=0 */
};
FIXTURE_VARIANT_ADD(mode, membarrier) { .cas = 0 };
FIXTURE_VARIANT_ADD(mode, cas) { .cas = 1 };
FIXTURE_SETUP(mode)
{
	if (variant->cas)
		setenv("BATON_MEMBARRIER", "0", 1);
	else if (kif_membarrier_register() < 0)
		SKIP(return, "membarrier(PRIVATE_EXPEDITED) is refused here");
	else
		unsetenv("BATON_MEMBARRIER");
}
FIXTURE_TEARDOWN(mode)
{
	unsetenv("BATON_MEMBARRIER");
}

/* A one-second beat and a one-second block delay: the heartbeat cannot
 * mistake a descheduled no-op callout for a blocked one during the test. */
static baton_vm *quiet_vm(void)
{
	struct baton_config cfg = { .heartbeat_hz = 1, .block_us = 1000000 };
	return baton_vm_new(&cfg);
}

TEST_F(mode, fast_path_counts_and_saves_nothing)
{
	baton_vm *vm = quiet_vm();
	ASSERT_NE_NULL(vm);
	baton_thread *t = baton_enter(vm);
	ASSERT_NE_NULL(t);
	ASSERT_EQ(baton_thread_index(t), baton_owner(vm));
	for (int i = 0; i < 1000; i++) {
		baton_disown(vm, t, 40, 0);
		ASSERT_EQ(0u, baton_owner(vm));
		baton_own(vm, t);
		ASSERT_EQ(baton_thread_index(t), baton_owner(vm));
	}
	struct baton_stats s = t_stats(vm);
	EXPECT_EQ(1000u, s.disowns);
	EXPECT_EQ(1000u, s.owns_fast);
	EXPECT_EQ(0u, s.owns_slow);
	EXPECT_EQ(0u, s.handoffs);
	EXPECT_STREQ(variant->cas ? "cas" : "membarrier", s.own_fast_path);
	EXPECT_EQ(0u, s.takeovers);
	baton_vm_free(vm, t);
}

TEST_F(mode, fast_path_makes_no_syscall)
{
	baton_vm *vm = quiet_vm();
	ASSERT_NE_NULL(vm);
	baton_thread *t = baton_enter(vm);
	ASSERT_NE_NULL(t);
	/* The sanitizers' runtime makes syscalls of its own (shadow memory,
	 * its allocator) inside instrumented code. */
	if ((getenv("SAN") && strcmp(getenv("SAN"), "1") == 0) ||
	    (getenv("TSAN") && strcmp(getenv("TSAN"), "1") == 0))
		SKIP(return, "sanitizer build: its runtime makes syscalls");
	if (t_seccomp_only_write_exit())
		SKIP(return, "seccomp filters unavailable");
	/* Any syscall from here to the end of the loop kills the test. */
	for (int i = 0; i < 100000; i++) {
		baton_disown(vm, t, 40, 0);
		baton_own(vm, t);
	}
	ASSERT_EQ(100000u, ((struct baton__vm_hot *)vm)->disowns);
}

TEST(seccomp_filter_really_kills_on_syscall)
{
	/* The witness for the test above: the same filter, one getpid. */
	pid_t pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (t_seccomp_only_write_exit())
			_exit(77);
		syscall(SYS_getpid);
		_exit(0);
	}
	int st;
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		SKIP(return, "seccomp filters unavailable");
	ASSERT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(SIGSYS, WTERMSIG(st));
}

TEST_F(mode, own_after_takeover_takes_slow_path_and_restores)
{
	/* A foreign thread takes the VM while main is in a callout (with
	 * membarrier: a take-over, taken + membarrier): main's own then
	 * fails, it queues, and gets the VM back on detach. */
	baton_vm *vm = quiet_vm();
	ASSERT_NE_NULL(vm);
	baton_thread *t = baton_enter(vm);
	baton_disown(vm, t, 40, 0);
	baton_thread *f = baton_attach(vm, 40);
	ASSERT_NE_NULL(f);
	ASSERT_EQ(baton_thread_index(f), baton_owner(vm));
	baton_detach(vm, f);
	baton_own(vm, t);
	ASSERT_EQ(baton_thread_index(t), baton_owner(vm));
	struct baton_stats s = t_stats(vm);
	EXPECT_EQ(1u, s.owns_slow);
	EXPECT_EQ(0u, s.owns_fast);
	EXPECT_EQ(1u, s.attaches);
	EXPECT_EQ(variant->cas ? 0u : 1u, s.takeovers);
	EXPECT_EQ(0u, s.takeover_aborts);
	baton_vm_free(vm, t);
}

TEST(membarrier_refused_falls_back_to_cas)
{
	/* A seccomp filter refusing membarrier (EPERM, as a container's
	 * profile may): the VM probes once at creation and runs the CAS path. */
	char why[128];
	unsetenv("BATON_MEMBARRIER");
	if (t_seccomp_refuse(SYS_membarrier, EPERM, 0, why, sizeof why))
		SKIP(return, "%s", why);
	baton_vm *vm = quiet_vm();
	ASSERT_NE_NULL(vm);
	baton_thread *t = baton_enter(vm);
	ASSERT_NE_NULL(t);
	for (int i = 0; i < 10; i++) {
		baton_disown(vm, t, 40, 0);
		ASSERT_EQ(0u, ((struct baton__vm_hot *)vm)->owner);
		baton_own(vm, t);
	}
	struct baton_stats s = t_stats(vm);
	EXPECT_STREQ("cas", s.own_fast_path);
	EXPECT_EQ(10u, s.owns_fast);
	baton_vm_free(vm, t);
}

TEST_HARNESS_MAIN
