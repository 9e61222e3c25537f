// SPDX-License-Identifier: MIT
/*
 * clock.c: selftests of kif_now_ns, kif_gettid and kif_thread_cpu_ns.
 *
 * See Documentation/core/kernel-iface.md.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "kernel-iface/clock.h"
#include "selftests/harness.h"

TEST(now_never_goes_back)
{
	uint64_t prev = kif_now_ns();
	for (int i = 0; i < 100000; i++) {
		uint64_t now = kif_now_ns();
		ASSERT_GE(now, prev);
		prev = now;
	}
	ASSERT_GT(prev, 0);
}

static void *report_tid(void *arg)
{
	*(int *)arg = kif_gettid();
	return NULL;
}

TEST(gettid_names_the_calling_thread)
{
	ASSERT_EQ(getpid(), kif_gettid()); /* the main thread's tid is the pid */
	int tid = 0;
	pthread_t t;
	pthread_create(&t, NULL, report_tid, &tid);
	pthread_join(t, NULL);
	ASSERT_GT(tid, 0);
	ASSERT_NE(getpid(), tid);
}

TEST(thread_cpu_time_grows_with_work)
{
	int64_t t0 = kif_thread_cpu_ns(pthread_self());
	ASSERT_GE(t0, 0);
	/* Burn CPU until the clock says 2 ms more were used: ends only if
	 * the clock really follows this thread's work. */
	volatile uint64_t x = 0;
	while (kif_thread_cpu_ns(pthread_self()) < t0 + 2000000)
		for (int i = 0; i < 10000; i++)
			x += (uint64_t)i;
	(void)x;
}

TEST_HARNESS_MAIN
