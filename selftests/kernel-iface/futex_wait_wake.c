// SPDX-License-Identifier: MIT
/*
 * futex_wait_wake.c: selftests of kif_futex_wait/_until/_wake.
 *
 * Waiters are checked asleep in futex(2) on the right word (through
 * /proc/self/task) before being woken. See Documentation/core/kernel-iface.md.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/futex.h"
#include "selftests/harness.h"
#include "selftests/kernel-iface/t_proc.h"

struct waiter {
	_Atomic uint32_t *word;
	uint32_t expected;
	_Atomic int tid;  /* set just before sleeping */
	_Atomic int done; /* set after the wait returned */
	int ret;
	pthread_t thread;
};

static void *wait_body(void *arg)
{
	struct waiter *w = arg;
	atomic_store(&w->tid, kif_gettid());
	w->ret = kif_futex_wait(w->word, w->expected, -1);
	atomic_store(&w->done, 1);
	return NULL;
}

/* Start [w] and return once it sleeps in futex(2) on its word. */
static void t_start_waiter(struct waiter *w, _Atomic uint32_t *word, uint32_t expected)
{
	w->word = word;
	w->expected = expected;
	atomic_store(&w->tid, 0);
	atomic_store(&w->done, 0);
	pthread_create(&w->thread, NULL, wait_body, w);
	while (!atomic_load(&w->tid))
		sched_yield();
	t_wait_sleeping_in(atomic_load(&w->tid), SYS_futex, (uintptr_t)word);
}

TEST(wait_on_mismatch_returns_eagain)
{
	_Atomic uint32_t word = 5;
	ASSERT_EQ(-EAGAIN, kif_futex_wait(&word, 4, -1));
	ASSERT_EQ(-EAGAIN, kif_futex_wait_until(&word, 4, KIF_FOREVER));
}

TEST(wait_with_timeout_returns_etimedout_after_it)
{
	_Atomic uint32_t word = 0;
	uint64_t t0 = kif_now_ns();
	ASSERT_EQ(-ETIMEDOUT, kif_futex_wait(&word, 0, 20 * 1000000));
	/* Not a speed check: the kernel may not return before the timeout. */
	ASSERT_GE(kif_now_ns() - t0, 20 * 1000000u);
}

TEST(wait_until_deadline_returns_etimedout_after_it)
{
	_Atomic uint32_t word = 0;
	uint64_t deadline = kif_now_ns() + 20 * 1000000u;
	ASSERT_EQ(-ETIMEDOUT, kif_futex_wait_until(&word, 0, deadline));
	ASSERT_GE(kif_now_ns(), deadline);
	/* A deadline already past times out without sleeping. */
	ASSERT_EQ(-ETIMEDOUT, kif_futex_wait_until(&word, 0, 1));
}

TEST(zero_timeout_returns_etimedout)
{
	_Atomic uint32_t word = 0;
	ASSERT_EQ(-ETIMEDOUT, kif_futex_wait(&word, 0, 0));
}

TEST(wake_without_waiters_returns_zero)
{
	_Atomic uint32_t word = 0;
	ASSERT_EQ(0, kif_futex_wake(&word, 1));
	ASSERT_EQ(0, kif_futex_wake(&word, INT_MAX));
}

TEST(wake_releases_sleeping_waiter)
{
	_Atomic uint32_t word = 0;
	struct waiter w;
	t_start_waiter(&w, &word, 0);
	EXPECT_EQ(0, atomic_load(&w.done));
	atomic_store(&word, 1);
	ASSERT_EQ(1, kif_futex_wake(&word, 1));
	pthread_join(w.thread, NULL);
	ASSERT_EQ(0, w.ret);
}

TEST(wake_count_is_bounded_by_n)
{
	_Atomic uint32_t word = 0;
	struct waiter w[3];
	for (int i = 0; i < 3; i++)
		t_start_waiter(&w[i], &word, 0);
	atomic_store(&word, 1);
	ASSERT_EQ(2, kif_futex_wake(&word, 2));
	/* Two return; the third is still asleep on the word. */
	int done;
	while ((done = atomic_load(&w[0].done) + atomic_load(&w[1].done) +
		       atomic_load(&w[2].done)) < 2)
		sched_yield();
	for (int i = 0; i < 3; i++) {
		if (!atomic_load(&w[i].done)) {
			EXPECT_TRUE(t_task_sleeps_in(atomic_load(&w[i].tid), SYS_futex,
						     (uintptr_t)&word));
		}
	}
	ASSERT_EQ(1, kif_futex_wake(&word, INT_MAX));
	for (int i = 0; i < 3; i++) {
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].ret);
	}
}

TEST(wake_on_other_word_leaves_waiter_asleep)
{
	_Atomic uint32_t a = 0, b = 0;
	struct waiter w;
	t_start_waiter(&w, &a, 0);
	ASSERT_EQ(0, kif_futex_wake(&b, INT_MAX)); /* directed: per-thread words */
	EXPECT_TRUE(t_task_sleeps_in(atomic_load(&w.tid), SYS_futex, (uintptr_t)&a));
	ASSERT_EQ(1, kif_futex_wake(&a, 1));
	pthread_join(w.thread, NULL);
}

static void on_usr1(int sig)
{
	(void)sig;
}

TEST(signal_interrupts_wait_with_eintr)
{
	_Atomic uint32_t word = 0;
	struct sigaction sa = { .sa_handler = on_usr1 }; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	struct waiter w;
	t_start_waiter(&w, &word, 0);
	pthread_kill(w.thread, SIGUSR1);
	pthread_join(w.thread, NULL);
	/* The word never changed: the caller must see a signal, not a wake. */
	ASSERT_EQ(-EINTR, w.ret);
}

TEST(errno_is_left_alone)
{
	_Atomic uint32_t word = 1;
	errno = 12345;
	ASSERT_EQ(-EAGAIN, kif_futex_wait(&word, 0, -1));
	ASSERT_EQ(12345, errno);
	ASSERT_EQ(-EFAULT, kif_futex_wait(NULL, 0, 0));
	ASSERT_EQ(12345, errno);
}

TEST_HARNESS_MAIN
