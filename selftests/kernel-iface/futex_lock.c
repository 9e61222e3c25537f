// SPDX-License-Identifier: MIT
/*
 * futex_lock.c: selftests of the three-state futex mutex (kif_lock).
 *
 * See Documentation/core/kernel-iface.md.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "kernel-iface/clock.h"
#include "kernel-iface/lock.h"
#include "selftests/harness.h"
#include "selftests/kernel-iface/t_proc.h"

TEST(trylock_takes_free_lock_only)
{
	struct kif_mutex m = KIF_MUTEX_INIT;
	ASSERT_EQ(1, kif_trylock(&m));
	ASSERT_EQ(1, atomic_load(&m.word)); /* locked, no waiter */
	ASSERT_EQ(0, kif_trylock(&m));
	kif_unlock(&m);
	ASSERT_EQ(0, atomic_load(&m.word));
	ASSERT_EQ(1, kif_trylock(&m));
	kif_unlock(&m);
}

struct contender {
	struct kif_mutex *m;
	_Atomic int tid;
	_Atomic int got;
};

static void *contend(void *arg)
{
	struct contender *c = arg;
	atomic_store(&c->tid, kif_gettid());
	kif_lock(c->m);
	atomic_store(&c->got, 1);
	kif_unlock(c->m);
	return NULL;
}

TEST(contended_lock_sleeps_until_unlock)
{
	struct kif_mutex m = KIF_MUTEX_INIT;
	struct contender c = { .m = &m };
	pthread_t t;
	kif_lock(&m);
	pthread_create(&t, NULL, contend, &c);
	while (!atomic_load(&c.tid))
		sched_yield();
	/* The contender sleeps in the kernel, having marked the lock "waiters". */
	t_wait_sleeping_in(atomic_load(&c.tid), SYS_futex, (uintptr_t)&m.word);
	EXPECT_EQ(2, atomic_load(&m.word));
	EXPECT_EQ(0, atomic_load(&c.got));
	kif_unlock(&m);
	pthread_join(t, NULL);
	ASSERT_EQ(1, atomic_load(&c.got));
	ASSERT_EQ(0, atomic_load(&m.word));
}

#define THREADS 4
#define ROUNDS 200000

struct shared {
	struct kif_mutex m;
	_Atomic int inside;
	long counter; /* plain: only the lock protects it */
	_Atomic int overlaps;
};

static void *hammer(void *arg)
{
	struct shared *s = arg;
	for (int i = 0; i < ROUNDS; i++) {
		kif_lock(&s->m);
		if (atomic_fetch_add(&s->inside, 1) != 0)
			atomic_fetch_add(&s->overlaps, 1);
		s->counter++;
		atomic_fetch_sub(&s->inside, 1);
		kif_unlock(&s->m);
	}
	return NULL;
}

TEST(lock_excludes_under_contention)
{
	static struct shared s = { .m = KIF_MUTEX_INIT };
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, hammer, &s);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(0, atomic_load(&s.overlaps));
	ASSERT_EQ((long)THREADS * ROUNDS, s.counter);
	ASSERT_EQ(0, atomic_load(&s.m.word));
}

TEST_HARNESS_MAIN
