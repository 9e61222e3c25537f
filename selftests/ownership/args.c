// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/args.c: the core's entry points and bad arguments.
 *
 * Description: baton_vm_new(NULL) fails cleanly with EINVAL in every build;
 * baton_check() finds a deliberately broken state (it can fail); in debug
 * builds (make DEBUG=1) an entry point called by a thread that does not own
 * the VM, or with no VM, aborts with a message instead of corrupting the
 * protocol.
 */
#include <errno.h>
#include <signal.h>

#include "selftests/harness.h"
#include "common.h"
#include "vm/core/core.h"

TEST(vm_new_without_config_fails_with_einval)
{
	errno = 0;
	ASSERT_NULL(baton_vm_new(NULL));
	ASSERT_EQ(EINVAL, errno);
}

TEST(check_passes_on_a_fresh_vm_and_finds_a_broken_one)
{
	struct baton_config cfg = { 0 };
	baton_vm *vm = baton_vm_new(&cfg);
	ASSERT_NE_NULL(vm);
	char why[200];
	ASSERT_EQ(0, baton_check(vm, NULL, why, sizeof why)) TH_LOG("%s", why);
	baton_thread *me = baton_enter(vm);
	ASSERT_NE_NULL(me);
	T_CHECK(vm, me);
	/* Break I1 behind the core's back: the word names nobody while main
	 * runs VM code. The check must say so, then the state is restored. */
	uint32_t idx = baton_thread_index(me);
	atomic_store(&vm->hot.owner, 0);
	EXPECT_NE(0, baton_check(vm, me, why, sizeof why));
	EXPECT_TRUE(strstr(why, "I1") != NULL) TH_LOG("the finding was: %s", why);
	atomic_store(&vm->hot.owner, idx);
	/* Break I4: installed names a slot nobody holds. */
	atomic_store(&vm->hot.installed, 7);
	EXPECT_NE(0, baton_check(vm, me, why, sizeof why));
	EXPECT_TRUE(strstr(why, "I4") != NULL) TH_LOG("the finding was: %s", why);
	atomic_store(&vm->hot.installed, idx);
	T_CHECK(vm, me);
	EXPECT_NE(0, baton_check(NULL, NULL, why, sizeof why));
	baton_vm_free(vm, me);
}

#ifdef BATON_DEBUG
/* A thread that does not own the VM goes idle: the debug build stops it. */
TEST_SIGNAL(debug_build_stops_idle_by_a_non_owner, SIGABRT)
{
	struct baton_config cfg = { 0 };
	baton_vm *vm = baton_vm_new(&cfg);
	ASSERT_NE_NULL(vm);
	baton_thread *me = baton_enter(vm);
	ASSERT_NE_NULL(me);
	baton_disown(vm, me, 0, 0);
	baton_idle(vm, me); /* not the owner any more: aborts */
}

TEST_SIGNAL(debug_build_stops_a_null_vm, SIGABRT)
{
	baton_wake(NULL);
}
#endif

TEST_HARNESS_MAIN
