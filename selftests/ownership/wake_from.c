// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/wake_from.c: baton_wake_from across two VMs.
 *
 * Description: two baton_vm's in one process (Hydra's heads). The test
 * thread owns the target and goes idle in it; a second thread owns the
 * sender VM and wakes the target from it with baton_wake_from(), once the
 * target's owner really sleeps in its loop's kernel wait (/proc). The idle
 * wait must end for each wake. With both loops on io_uring and MSG_RING in
 * the kernel, the kick is an IORING_OP_MSG_RING from the sender's ring
 * (target's baton_io_stats: msg_ring_wakes, no eventfd write); on epoll, or
 * when the sender has no loop, the eventfd; a target without a loop is
 * parked and gets a thread activated, as with baton_wake().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "baton/io.h"
#include "kernel-iface/clock.h"
#include "kernel-iface/evio.h"
#include "selftests/harness.h"
#include "selftests/kernel-iface/t_proc.h"
#include "common.h"

#define ROUNDS 50

static void hook_run(baton_vm *vm, baton_thread *t, void *ud)
{
	(void)ud;
	while (baton_idle(vm, t) == BATON_RUN)
		;
}

static const struct baton_hooks hooks = { .run = hook_run };

FIXTURE(two) {
	baton_vm *target;
	baton_thread *main;
};
FIXTURE_VARIANT(two) {
	int uring;       /* both VMs' backend */
	int target_loop; /* the target's loop is open: it idles in it */
	int from_loop;   /* the sender's loop is open */
	int from_null;   /* baton_wake_from(target, NULL) */
};
/* The point: MSG_RING from one ring into the other. */
FIXTURE_VARIANT_ADD(two, io_uring) { .uring = 1, .target_loop = 1, .from_loop = 1 };
FIXTURE_VARIANT_ADD(two, epoll) { .uring = 0, .target_loop = 1, .from_loop = 1 };
/* The sender has no loop (or is NULL): the eventfd, as baton_wake. */
FIXTURE_VARIANT_ADD(two, from_without_loop) { .uring = 1, .target_loop = 1 };
FIXTURE_VARIANT_ADD(two, from_null) { .uring = 1, .target_loop = 1, .from_loop = 1, .from_null = 1 };
/* The target parks (no loop): a thread is activated, as baton_wake. */
FIXTURE_VARIANT_ADD(two, target_parked) { .uring = 1, .from_loop = 1 };

FIXTURE_SETUP(two)
{
	t_backend(variant->uring);
	struct baton_config cfg = { .hooks = &hooks, .heartbeat_hz = 1000 };
	self->target = baton_vm_new(&cfg);
	ASSERT_TRUE(self->target != NULL);
	self->main = baton_enter(self->target);
	ASSERT_TRUE(self->main != NULL);
	if (variant->target_loop) {
		ASSERT_EQ(0, baton_io_open(self->target));
		TH_LOG("target's loop: %s", baton_io_backend(self->target));
		if (variant->uring && strcmp(baton_io_backend(self->target), "uring"))
			SKIP(return, "io_uring unavailable: %s",
			     baton_io_fallback_reason(self->target));
	}
}

FIXTURE_TEARDOWN(two)
{
	baton_vm_free(self->target, self->main);
}

struct sender {
	baton_vm *target;
	int tid;           /* the target's owner */
	int from_loop, from_null, target_loop;
	int msg_ring;      /* out: the sender's loop can send MSG_RING */
	const char *backend;
	atomic_uint sent;  /* wakes sent */
	atomic_uint woken; /* idle waits the target's owner saw end */
	atomic_int failed;
};

/* Is [tid] asleep in its loop's kernel wait (target with a loop), or
 * parked (target without)? */
static int asleep(int tid, int in_loop)
{
	return in_loop ? t_task_sleeps_in_loop(tid) : t_task_sleeps_in(tid, SYS_futex, 0);
}

/* Owns its own VM (entered here, freed here) and wakes the target from it
 * ROUNDS times, each once the target's owner sleeps. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct baton_config cfg = { .hooks = &hooks, .heartbeat_hz = 1000 };
	baton_vm *from = baton_vm_new(&cfg);
	baton_thread *t = from ? baton_enter(from) : NULL;
	if (!t) {
		atomic_store(&s->failed, 1);
		baton_wake(s->target);
		return NULL;
	}
	if (s->from_loop && baton_io_open(from) < 0)
		atomic_store(&s->failed, 2);
	s->backend = baton_io_backend(from);
	for (unsigned i = 0; i < ROUNDS && !atomic_load(&s->failed); i++) {
		if (!T_WAIT_UNTIL(atomic_load(&s->woken) == i && asleep(s->tid, s->target_loop),
				  T_LIVE_S)) {
			atomic_store(&s->failed, 3);
			break;
		}
		atomic_store(&s->sent, i + 1);
		baton_wake_from(s->target, s->from_null ? NULL : from);
	}
	if (atomic_load(&s->failed))
		baton_wake(s->target);
	baton_vm_free(from, t);
	return NULL;
}

TEST_F(two, baton_wake_from_ends_the_idle_wait_of_another_vm)
{
	baton_vm *vm = self->target;
	struct sender s = { .target = vm, .tid = kif_gettid(), .from_loop = variant->from_loop,
			    .from_null = variant->from_null,
			    .target_loop = variant->target_loop };
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, sender_main, &s));
	struct t_watch w;
	t_watch_start(&w, 4 * T_LIVE_S, NULL, NULL, "baton_wake_from did not end an idle wait");
	for (unsigned i = 0; i < ROUNDS && !atomic_load(&s.failed); i++) {
		/* Idle until wake i + 1 was sent: a lost one leaves this
		 * thread asleep for good (the watch fires). An idle that
		 * ends early only goes round once more. */
		do {
			ASSERT_EQ(BATON_RUN, baton_idle(vm, self->main));
			/* as the interpreter does: the wake's interrupt flag
			 * is taken (else the next idle returns at once) */
			baton_checkpoint(vm, self->main, -1);
		} while (atomic_load(&s.sent) < i + 1 && !atomic_load(&s.failed));
		atomic_store(&s.woken, i + 1);
	}
	t_watch_stop(&w);
	pthread_join(th, NULL);
	ASSERT_EQ(0, atomic_load(&s.failed)) TH_LOG("sender failed at step %d", s.failed);
	ASSERT_EQ(1u, baton_owner(vm));
	struct baton_io_stats io;
	baton_io_stats(vm, &io);
	TH_LOG("target %s, sender %s: %lu msg_ring wakes, %lu eventfd wakes, %lu activations",
	       baton_io_backend(vm), s.backend, (unsigned long)io.msg_ring_wakes,
	       (unsigned long)io.wakes, (unsigned long)t_stats(vm).activations);
	if (!variant->target_loop) {
		/* Parked each time: each wake activated the parked thread. */
		ASSERT_EQ(0u, io.wakes + io.msg_ring_wakes);
		ASSERT_GE(t_stats(vm).activations, (uint64_t)ROUNDS);
		T_CHECK(vm, self->main);
		return;
	}
	ASSERT_EQ(0u, t_stats(vm).activations); /* the owner kept the VM */
	/* The sender's loop had MSG_RING iff a fresh uring loop has it. */
	int msg_ring = 0;
	if (variant->uring && variant->from_loop && !variant->from_null &&
	    !strcmp(s.backend, "uring") && !strcmp(baton_io_backend(vm), "uring")) {
		struct kif_evio *probe;
		struct kif_evio_opts o = { .backend = KIF_EVIO_URING };
		ASSERT_EQ(0, kif_evio_open(&probe, &o, NULL, 0));
		msg_ring = kif_evio_has_msg_ring(probe);
		kif_evio_close(probe);
		if (!msg_ring)
			TH_LOG("no IORING_OP_MSG_RING here: the eventfd was used");
	}
	ASSERT_EQ(msg_ring ? (uint64_t)ROUNDS : 0u, io.msg_ring_wakes);
	ASSERT_EQ(msg_ring ? 0u : (uint64_t)ROUNDS, io.wakes);
	ASSERT_EQ(0u, io.completed); /* the kicks never came out as completions */
	T_CHECK(vm, self->main);
}

TEST_HARNESS_MAIN
