// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/attach.c: threads the VM never saw call in.
 *
 * Description: a C library's own threads attach on demand, own the VM, run
 * and detach, whether the VM is idle, busy with checkpoints, or contended by
 * many such threads at once; nobody polls while waiting.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "selftests/harness.h"
#include "common.h"

#define THREADS 8
#define ROUNDS 2000

struct crowd {
	baton_vm *vm;
	uint64_t counter;       /* plain: owners only */
	volatile unsigned inside;
	unsigned violations;
	atomic_uint finished;
	int prio;
	unsigned nthreads; /* how many foreign threads take part */
};

static void owned_work(struct crowd *c, baton_thread *t)
{
	unsigned me = baton_thread_index(t);
	if (baton_owner(c->vm) != me || c->inside)
		c->violations++;
	c->inside = me;
	c->counter++;
	if (c->inside != me)
		c->violations++;
	c->inside = 0;
}

static void *foreign_main(void *arg)
{
	struct crowd *c = arg;
	for (int i = 0; i < ROUNDS; i++) {
		baton_thread *t = baton_attach(c->vm, c->prio);
		if (!t)
			abort();
		if (baton_thread_is_foreign(t) != 1)
			c->violations++;
		owned_work(c, t);
		baton_detach(c->vm, t);
	}
	if (atomic_fetch_add(&c->finished, 1) + 1 == c->nthreads)
		baton_wake(c->vm); /* main waits parked in baton_idle() */
	return NULL;
}

/* Where the crowd stood when a watchdog fired. */
static void crowd_report(void *ud)
{
	struct crowd *c = ud;
	TH_LOG("%u of %u foreign threads finished; owner %u, %u queued",
	       atomic_load(&c->finished), c->nthreads, baton_owner(c->vm),
	       t_stats(c->vm).waiting);
}

/* A VM entered by the caller and [n] foreign threads hammering it. */
static baton_thread *crowd_start(struct crowd *c, int prio, unsigned n, pthread_t *th)
{
	struct baton_config cfg = { 0 };
	*c = (struct crowd){ .vm = baton_vm_new(&cfg), .prio = prio, .nthreads = n };
	if (!c->vm)
		abort();
	baton_thread *me = baton_enter(c->vm);
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, foreign_main, c))
			abort();
	return me;
}

TEST(many_foreign_threads_attach_while_vm_idle)
{
	struct crowd c;
	pthread_t th[THREADS];
	baton_thread *me = crowd_start(&c, 60, THREADS, th);
	/* Main has nothing to do: it idles until the last one wakes it. */
	struct t_watch wd;
	t_watch_start(&wd, 20, crowd_report, &c, "the %d foreign threads did not all finish",
		      THREADS);
	while (atomic_load(&c.finished) < THREADS)
		ASSERT_EQ(BATON_RUN, baton_idle(c.vm, me));
	t_watch_stop(&wd);
	T_CHECK(c.vm, me);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0u, c.violations);
	EXPECT_EQ((uint64_t)THREADS * ROUNDS, c.counter);
	struct baton_stats s = t_stats(c.vm);
	EXPECT_EQ((uint64_t)THREADS * ROUNDS, s.attaches);
	/* Detached slots are reused: the table never grew past the crowd. */
	EXPECT_LE(s.threads_peak, THREADS + 1u);
	EXPECT_EQ(1u, s.threads);
	baton_vm_free(c.vm, me);
}

TEST(foreign_threads_preempt_a_busy_owner_at_checkpoints)
{
	/* Main computes at priority 40 and polls the interrupt flag like an
	 * interpreter; the foreign threads carry priority 60, so each of
	 * their arrivals makes a checkpoint answer "yield". */
	struct crowd c;
	pthread_t th[THREADS];
	baton_thread *me = crowd_start(&c, 60, THREADS, th);
	uint64_t mine = 0, yields = 0;
	struct t_watch wd;
	t_watch_start(&wd, 20, crowd_report, &c,
		      "the %d foreign threads did not all finish at main's checkpoints", THREADS);
	while (atomic_load(&c.finished) < THREADS) {
		owned_work(&c, me);
		mine++;
		if (baton_interrupted(c.vm) && baton_checkpoint(c.vm, me, 40)) {
			yields++;
			/* Parks until the VM is handed back (or the last
			 * foreign thread's wake). */
			ASSERT_EQ(BATON_RUN, baton_yield(c.vm, me));
		}
	}
	t_watch_stop(&wd);
	T_CHECK(c.vm, me);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0u, c.violations);
	EXPECT_EQ((uint64_t)THREADS * ROUNDS + mine, c.counter);
	EXPECT_GT(yields, 0u);
	EXPECT_EQ(yields, t_stats(c.vm).preemptions);
	baton_vm_free(c.vm, me);
}

TEST(lower_priority_waiter_does_not_preempt)
{
	const char *stress = getenv("BATON_STRESS_HANDOFF");
	if (stress && *stress && strcmp(stress, "0"))
		SKIP(return, "BATON_STRESS_HANDOFF: every checkpoint answers \"yield\" by design");
	struct crowd c;
	pthread_t th;
	baton_thread *me = crowd_start(&c, 10, 1, &th);
	ASSERT_TRUE(t_wait_queued(c.vm, 1))
	TH_LOG("the foreign thread never queued for the VM within %d s", T_LIVE_S);
	T_CHECK(c.vm, me);
	/* The waiter raised the interrupt flag; the checkpoint looks and
	 * declines: 10 < 40. */
	ASSERT_TRUE(baton_interrupted(c.vm));
	ASSERT_EQ(0, baton_checkpoint(c.vm, me, 40));
	ASSERT_FALSE(baton_interrupted(c.vm));
	ASSERT_EQ(1, baton_checkpoint(c.vm, me, 5));
	ASSERT_EQ(1u, t_stats(c.vm).waiting);
	/* Going idle hands it over. */
	struct t_watch wd;
	t_watch_start(&wd, 20, crowd_report, &c, "the foreign thread never finished");
	while (atomic_load(&c.finished) < 1)
		ASSERT_EQ(BATON_RUN, baton_idle(c.vm, me));
	t_watch_stop(&wd);
	pthread_join(th, NULL);
	EXPECT_EQ((uint64_t)ROUNDS, c.counter);
	EXPECT_EQ(0u, c.violations);
	baton_vm_free(c.vm, me);
}

TEST_HARNESS_MAIN
