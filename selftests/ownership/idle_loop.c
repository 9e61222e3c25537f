// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/idle_loop.c: an idle VM sleeps in its event loop.
 *
 * Description: once the VM's loop is open (include/baton/io.h), baton_idle()
 * keeps the VM and sleeps in the loop's one kernel wait, which must end at
 * the first of an I/O completion, the timer deadline, baton_wake(), or a
 * thread that queues for the VM (which then gets it); while the owner
 * sleeps there the heartbeat makes no beats. Both loop backends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "baton/io.h"
#include "selftests/harness.h"
#include "common.h"

struct ctx {
	baton_vm *vm;
	int pipe[2];
	_Atomic int timers;
	_Atomic int attached;
};

static void hook_run(baton_vm *vm, baton_thread *t, void *ud)
{
	(void)ud;
	while (baton_idle(vm, t) == BATON_RUN)
		;
}

static void hook_timers(baton_vm *vm, baton_thread *t, uint64_t now, void *ud)
{
	(void)vm;
	(void)t;
	(void)now;
	struct ctx *c = ud;
	c->timers++;
}

static const struct baton_hooks hooks = { .run = hook_run, .timers = hook_timers };

FIXTURE(loop) {
	struct ctx c;
	baton_thread *main;
};
FIXTURE_VARIANT(loop) {
	int uring;
};
FIXTURE_VARIANT_ADD(loop, io_uring) { .uring = 1 };
FIXTURE_VARIANT_ADD(loop, epoll) { .uring = 0 };

FIXTURE_SETUP(loop)
{
	t_backend(variant->uring);
	struct baton_config cfg = { .hooks = &hooks, .ud = &self->c, .heartbeat_hz = 1000 };
	self->c.vm = baton_vm_new(&cfg);
	ASSERT_TRUE(self->c.vm != NULL);
	self->main = baton_enter(self->c.vm);
	ASSERT_TRUE(self->main != NULL);
	ASSERT_EQ(0, pipe2(self->c.pipe, O_CLOEXEC));
	ASSERT_EQ(0, baton_io_open(self->c.vm));
	TH_LOG("loop backend: %s", baton_io_backend(self->c.vm));
	if (variant->uring == 0) {
		ASSERT_STREQ("epoll", baton_io_backend(self->c.vm));
	}
}

FIXTURE_TEARDOWN(loop)
{
	baton_vm_free(self->c.vm, self->main);
	close(self->c.pipe[0]);
	close(self->c.pipe[1]);
}

/* Writes the pipe once the owner went idle. */
static void *writer(void *arg)
{
	struct ctx *c = arg;
	if (T_WAIT_UNTIL(t_stats(c->vm).idles >= 1, T_LIVE_S))
		(void)!write(c->pipe[1], "x", 1);
	return NULL;
}

TEST_F(loop, a_completion_ends_the_idle_wait_and_the_owner_keeps_the_vm)
{
	baton_vm *vm = self->c.vm;
	ASSERT_EQ(0, baton_io_poll(vm, 7, self->c.pipe[0], POLLIN));
	ASSERT_EQ(1, baton_io_pending(vm));
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, writer, &self->c));
	baton_io_cqe c[4];
	int n = 0;
	for (int round = 0; round < 100 && n == 0; round++) {
		ASSERT_EQ(BATON_RUN, baton_idle(vm, self->main));
		n = baton_io_harvest(vm, c, 4);
	}
	pthread_join(th, NULL);
	ASSERT_EQ(1, n);
	EXPECT_EQ(7u, c[0].tag);
	EXPECT_TRUE(c[0].res & POLLIN);
	/* No grant happened: the owner slept holding the VM. */
	EXPECT_EQ(0u, t_stats(vm).handoffs);
	EXPECT_EQ(1u, baton_owner(vm));
	T_CHECK(vm, self->main);
}

TEST_F(loop, the_timer_deadline_ends_the_idle_wait)
{
	baton_vm *vm = self->c.vm;
	uint64_t t0 = baton_now_ns();
	baton_set_deadline(vm, t0 + 30000000u);
	while (self->c.timers == 0)
		ASSERT_EQ(BATON_RUN, baton_idle(vm, self->main));
	EXPECT_GE(baton_now_ns() - t0, 30000000u);
	EXPECT_EQ(1, self->c.timers);
	EXPECT_EQ(0u, t_stats(vm).handoffs);
}

static void *waker(void *arg)
{
	struct ctx *c = arg;
	if (T_WAIT_UNTIL(t_stats(c->vm).idles >= 1, T_LIVE_S))
		baton_wake(c->vm);
	return NULL;
}

TEST_F(loop, baton_wake_ends_the_idle_wait)
{
	baton_vm *vm = self->c.vm;
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, waker, &self->c));
	/* Without the wake this would sleep forever: nothing is pending. */
	struct t_watch w;
	t_watch_start(&w, T_LIVE_S, NULL, NULL, "baton_wake did not end the idle wait");
	ASSERT_EQ(BATON_RUN, baton_idle(vm, self->main));
	t_watch_stop(&w);
	pthread_join(th, NULL);
	EXPECT_EQ(1u, baton_owner(vm));
}

/* A foreign thread attaches while the owner sleeps in the loop, runs, and
 * leaves; then it wakes the VM so that the parked main thread gets it back. */
static void *attacher(void *arg)
{
	struct ctx *c = arg;
	if (!T_WAIT_UNTIL(t_stats(c->vm).idles >= 1, T_LIVE_S))
		return NULL;
	baton_thread *t = baton_attach(c->vm, 40);
	if (!t)
		return NULL;
	c->attached = 1;
	baton_detach(c->vm, t);
	baton_wake(c->vm);
	return NULL;
}

TEST_F(loop, a_thread_that_queues_for_the_vm_gets_it_from_a_sleeping_owner)
{
	baton_vm *vm = self->c.vm;
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, attacher, &self->c));
	struct t_watch w;
	t_watch_start(&w, T_LIVE_S, NULL, NULL,
		      "the attaching thread never got the VM from the loop-sleeping owner");
	while (!self->c.attached)
		ASSERT_EQ(BATON_RUN, baton_idle(vm, self->main));
	t_watch_stop(&w);
	pthread_join(th, NULL);
	EXPECT_EQ(1u, t_stats(vm).attaches);
	EXPECT_GE(t_stats(vm).handoffs, 1u);
	T_CHECK(vm, self->main);
}

TEST_F(loop, the_heartbeat_is_tickless_while_the_owner_sleeps_in_the_loop)
{
	baton_vm *vm = self->c.vm;
	/* 300 ms asleep with a deadline: ticking would be ~300 beats. */
	uint64_t t0 = baton_now_ns();
	uint64_t b0 = t_stats(vm).beats;
	baton_set_deadline(vm, t0 + 300000000u);
	while (self->c.timers == 0)
		ASSERT_EQ(BATON_RUN, baton_idle(vm, self->main));
	uint64_t beats = t_stats(vm).beats - b0;
	TH_LOG("%llu beats in %llu ms", (unsigned long long)beats,
	       (unsigned long long)((baton_now_ns() - t0) / 1000000u));
	EXPECT_LE(beats, 30u);
}

TEST_HARNESS_MAIN
