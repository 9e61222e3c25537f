// SPDX-License-Identifier: MIT
/*
 * selftests/harness/libharness_cases.c: deliberately passing, failing, skipping, hanging and
 * crashing tests, for harness_test.c to run and judge. Built as libharness_cases.so (the
 * lib prefix), so the runner never runs it as a test program of its own: harness_test.c
 * dlopen()s it in a child and calls t_harness_cases_main(). See Documentation/testing.md.
 * Description: fodder for the harness self-test. Minimum kernel: any.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../harness.h"

/* Every operand kind the comparisons must get right, in passing form. */
TEST(passes)
{
	int zero = 0;
	const int *p = &zero;
	size_t big = SIZE_MAX;

	ASSERT_EQ(0, zero);
	ASSERT_NE(1, zero);
	ASSERT_LT(-1, 0u); /* mathematical comparison, not C's -1 -> UINT_MAX */
	ASSERT_GT(big, 0);
	ASSERT_LE(-5L, -5);
	ASSERT_GE((char)'b', 'a');
	ASSERT_EQ(&zero, p);
	ASSERT_TRUE(p);
	ASSERT_FALSE(zero);
	ASSERT_NULL(NULL);
	ASSERT_NE_NULL(p);
	ASSERT_STREQ("baton", "baton");
	ASSERT_STRNE("baton", NULL);
	EXPECT_EQ(UINT64_MAX, (uint64_t)-1);
}

/* Evaluates each operand once. */
TEST(evaluates_once)
{
	int n = 0;

	ASSERT_EQ(1, ++n);
	ASSERT_EQ(1, n);
}

TEST(expect_fails_and_continues)
{
	EXPECT_EQ(-1, 4294967295u);
	TH_LOG("marker-after-expect");
}

TEST(assert_stops)
{
	ASSERT_EQ(3, 4) TH_LOG("marker-trailing-log");
	TH_LOG("marker-unreachable");
}

TEST(streq_fails)
{
	EXPECT_STREQ("left-string", "right-string");
}

TEST(skips)
{
	SKIP(return, "reason-%d", 42);
	TH_LOG("marker-after-skip");
}

/* The grandchild holds the caller's stdout pipe: the caller only sees EOF if the harness
 * killed the whole process group on timeout. */
TEST_TIMEOUT(hangs, 1)
{
	if (fork() == 0)
		for (;;)
			pause();
	for (;;)
		pause();
}

TEST(crashes)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	abort();
}

TEST_SIGNAL(expected_signal, SIGABRT)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	abort();
}

TEST(exits_3)
{
	exit(3);
}

static void *assert_off_thread(void *arg)
{
	struct __test_metadata *_metadata = arg;

	ASSERT_EQ(1, 2);
	return NULL;
}

TEST(assert_in_thread)
{
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, assert_off_thread, _metadata));
	pthread_join(t, NULL);
	TH_LOG("marker-after-thread");
}

FIXTURE(fx)
{
	int value;
};

FIXTURE_VARIANT(fx)
{
	int factor;
};

FIXTURE_VARIANT_ADD(fx, a)
{
	.factor = 2,
};

FIXTURE_VARIANT_ADD(fx, b)
{
	.factor = 3,
};

FIXTURE_SETUP(fx)
{
	self->value = 10 * variant->factor;
}

FIXTURE_TEARDOWN(fx)
{
	TH_LOG("marker-teardown value=%d", self->value);
}

TEST_F(fx, uses_variant)
{
	ASSERT_EQ(10 * variant->factor, self->value);
}

TEST_F(fx, assert_runs_teardown)
{
	self->value = -1;
	ASSERT_EQ(0, 1);
	self->value = -2;
}

FIXTURE(skipper)
{
	int unused;
};

FIXTURE_SETUP(skipper)
{
	SKIP(return, "setup-skip-reason");
}

FIXTURE_TEARDOWN(skipper)
{
	TH_LOG("marker-skipper-teardown");
}

TEST_F(skipper, body_not_run)
{
	TH_LOG("marker-skipped-body");
}

/* Called by harness_test.c in a forked child, in place of a main(). */
__attribute__((visibility("default"))) int t_harness_cases_main(int argc, char **argv)
{
	return th_main(argc, argv);
}
