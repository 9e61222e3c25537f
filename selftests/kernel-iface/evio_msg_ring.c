// SPDX-License-Identifier: MIT
/*
 * evio_msg_ring.c: selftests of kif_evio_wake_from, the wake of one loop
 * sent from another (Hydra: a head wakes the head it sent a message to).
 * Two loops in one process: the test thread sleeps in kif_evio_wait on
 * [dst], a second thread owns [src] and wakes [dst] from it. With both on
 * io_uring and IORING_OP_MSG_RING in the kernel, the wake is a completion
 * posted from src's ring into dst's (counted in dst's msg_ring_wakes; the
 * eventfd is not written); otherwise (epoll, mixed, or MSG_RING turned off
 * with KIF_EVIO_OPT_NO_MSG_RING) it is the eventfd write of kif_evio_wake,
 * as when the kernel refuses the MSG_RING (KIF_EVIO_OPT_MSG_RING_REFUSED).
 * Either way no completion of the loop's own reaches a caller, also when the
 * sender gets a completion for its MSG_RING (KIF_EVIO_OPT_NO_CQE_SKIP).
 *
 * See Documentation/core/kernel-iface.md ("evio.h").
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "selftests/harness.h"
#include "t_evio.h"
#include "t_proc.h"

/* One loop of each backend (t_evio.h): only io_uring can have MSG_RING,
 * and KIF_EVIO_OPT_NO_MSG_RING turns it off. */
TEST_F(evio, msg_ring_only_on_uring)
{
	int has = kif_evio_has_msg_ring(self->ev);
	TH_LOG("%s loop: MSG_RING %s", kif_evio_backend_name(self->ev), has ? "yes" : "no");
	if (variant->backend == KIF_EVIO_EPOLL) {
		ASSERT_EQ(0, has);
	}
	struct kif_evio *off = NULL;
	ASSERT_EQ(0, t_open(&off, variant->backend, 0, KIF_EVIO_OPT_NO_MSG_RING, NULL, 0));
	ASSERT_EQ(0, kif_evio_has_msg_ring(off));
	kif_evio_close(off);
}

FIXTURE(msg) {
	struct kif_evio *dst, *src;
	int msg_ring; /* the wake must go by MSG_RING */
	int refused;  /* each MSG_RING is refused: the eventfd, failures counted */
};

FIXTURE_VARIANT(msg) {
	int dst_backend, src_backend;
	unsigned src_flags;
};

/* io_uring on both sides: MSG_RING (skipped if the kernel lacks it). */
FIXTURE_VARIANT_ADD(msg, uring) {
	.dst_backend = KIF_EVIO_URING, .src_backend = KIF_EVIO_URING,
};

/* io_uring on both sides, MSG_RING turned off: the eventfd. */
FIXTURE_VARIANT_ADD(msg, uring_no_msg_ring) {
	.dst_backend = KIF_EVIO_URING, .src_backend = KIF_EVIO_URING,
	.src_flags = KIF_EVIO_OPT_NO_MSG_RING,
};

/* MSG_RING, the sender getting (and swallowing) its completion of it, as
 * on kernels without IOSQE_CQE_SKIP_SUCCESS (before 5.17: in fact never
 * with MSG_RING, but the path is there). */
FIXTURE_VARIANT_ADD(msg, uring_no_cqe_skip) {
	.dst_backend = KIF_EVIO_URING, .src_backend = KIF_EVIO_URING,
	.src_flags = KIF_EVIO_OPT_NO_CQE_SKIP,
};

/* MSG_RING that the kernel refuses at once: the eventfd takes over. */
FIXTURE_VARIANT_ADD(msg, uring_refused) {
	.dst_backend = KIF_EVIO_URING, .src_backend = KIF_EVIO_URING,
	.src_flags = KIF_EVIO_OPT_MSG_RING_REFUSED,
};

/* A sender on epoll waking an io_uring loop: the eventfd. */
FIXTURE_VARIANT_ADD(msg, epoll_to_uring) {
	.dst_backend = KIF_EVIO_URING, .src_backend = KIF_EVIO_EPOLL,
};

FIXTURE_VARIANT_ADD(msg, epoll) {
	.dst_backend = KIF_EVIO_EPOLL, .src_backend = KIF_EVIO_EPOLL,
};

FIXTURE_SETUP(msg)
{
	char why[160] = "";
	unsetenv("BATON_URING");
	int r = t_open(&self->dst, variant->dst_backend, 0, 0, why, sizeof why);
	if (r < 0 && variant->dst_backend == KIF_EVIO_URING)
		SKIP(return, "io_uring backend unavailable: %s (%s)", why, strerror(-r));
	ASSERT_EQ(0, r) TH_LOG("kif_evio_open: %s %s", strerror(-r), why);
	r = t_open(&self->src, variant->src_backend, 0, variant->src_flags, why, sizeof why);
	ASSERT_EQ(0, r) TH_LOG("kif_evio_open: %s %s", strerror(-r), why);
	int both = variant->dst_backend == KIF_EVIO_URING &&
		   variant->src_backend == KIF_EVIO_URING &&
		   !(variant->src_flags & KIF_EVIO_OPT_NO_MSG_RING);
	if (both && !kif_evio_has_msg_ring(self->src))
		SKIP(return, "the kernel has no IORING_OP_MSG_RING (Linux 5.18)");
	ASSERT_EQ(both, kif_evio_has_msg_ring(self->src) && kif_evio_has_msg_ring(self->dst));
	self->refused = both && (variant->src_flags & KIF_EVIO_OPT_MSG_RING_REFUSED);
	self->msg_ring = both && !self->refused;
}

FIXTURE_TEARDOWN(msg)
{
	kif_evio_close(self->src);
	kif_evio_close(self->dst);
}

/* Polls (yielding) until [tid] sleeps in the wait; 0 if it never did. */
static int t_until_in_wait(int tid)
{
	for (int i = 0; i < 5000000; i++) {
		if (t_task_sleeps_in_loop(tid))
			return 1;
		sched_yield();
	}
	return 0;
}

struct sender {
	struct kif_evio *dst, *src;
	int tid;            /* the thread asleep on dst */
	unsigned rounds;    /* wakes to send, one per sleep of dst */
	atomic_uint woken;  /* the dst thread's count of ended waits */
	atomic_int failed;  /* 1: dst never slept; 2: kif_evio_wake_from failed */
	uint64_t tag;       /* nonzero: a timeout of src's own to harvest */
	int own;            /* its result, from src's owner */
};

/* The owner of [src]: for each round, once dst's thread sleeps in the
 * kernel, wakes it from src; then waits for that wake to end the wait. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	if (s->tag && kif_evio_timeout(s->src, s->tag, kif_now_ns() + 1000000) < 0)
		atomic_store(&s->failed, 3);
	for (unsigned i = 0; i < s->rounds && !atomic_load(&s->failed); i++) {
		if (!t_until_in_wait(s->tid)) {
			atomic_store(&s->failed, 1);
			break;
		}
		if (kif_evio_wake_from(s->dst, s->src) < 0) {
			atomic_store(&s->failed, 2);
			break;
		}
		for (long k = 0; atomic_load(&s->woken) <= i && k < 100000000; k++)
			sched_yield();
	}
	if (s->tag) {
		/* src's own completion comes through, and nothing else does. */
		struct kif_evio_cqe c = { 0 };
		int r = kif_evio_wait(s->src, &c, 1, kif_now_ns() + 5 * T_NS_PER_S);
		s->own = r == 1 && c.tag == s->tag ? c.res : -EPROTO;
		if (kif_evio_wait(s->src, &c, 1, 0) != -ETIME)
			s->own = -EEXIST;
	}
	/* Unblock the dst thread whatever happened. */
	if (atomic_load(&s->failed))
		kif_evio_wake(s->dst);
	return NULL;
}

/* Runs [rounds] sleep/wake rounds on dst (this thread); asserts each wait
 * was ended by a wake and nothing else. */
static void t_rounds_(struct __test_metadata *_metadata, FIXTURE_DATA(msg) *self,
		      unsigned rounds, uint64_t tag)
{
	struct sender s = { .dst = self->dst, .src = self->src, .tid = kif_gettid(),
			    .rounds = rounds, .tag = tag };
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, sender_main, &s));
	unsigned i;
	for (i = 0; i < rounds; i++) {
		struct kif_evio_cqe c = { 0 };
		int r = kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 10 * T_NS_PER_S);
		if (atomic_load(&s.failed))
			break;
		EXPECT_EQ(0, r) TH_LOG("round %u: %s", i,
				       r == -ETIME ? "no wake within 10 s" :
				       r > 0 ? "a completion came out" : strerror(-r));
		if (r != 0)
			break;
		atomic_store(&s.woken, i + 1);
	}
	pthread_join(th, NULL);
	ASSERT_EQ(0, atomic_load(&s.failed))
		TH_LOG("%s", s.failed == 1 ? "the dst thread never slept in its wait" :
			     "kif_evio_wake_from or the src timeout failed");
	ASSERT_EQ(rounds, i);
	if (tag) {
		ASSERT_EQ(-ETIME, s.own) TH_LOG("src's own timeout: %d", s.own);
	}
}
#define t_rounds(rounds, tag) t_rounds_(_metadata, self, (rounds), (tag))

/* The wake went the expected way [n] times. */
static void t_counted_(struct __test_metadata *_metadata, FIXTURE_DATA(msg) *self, uint64_t n)
{
	struct kif_evio_stats d, s;
	kif_evio_stats(self->dst, &d);
	kif_evio_stats(self->src, &s);
	TH_LOG("dst: %lu msg_ring wakes, %lu eventfd wakes; src: %lu msg_ring failures",
	       (unsigned long)d.msg_ring_wakes, (unsigned long)d.wakes,
	       (unsigned long)s.msg_ring_failed);
	ASSERT_EQ(self->refused ? n : 0, s.msg_ring_failed);
	ASSERT_EQ(self->msg_ring ? n : 0, d.msg_ring_wakes);
	ASSERT_EQ(self->msg_ring ? 0 : n, d.wakes);
	ASSERT_EQ(0u, s.msg_ring_wakes);
	ASSERT_EQ(0u, s.wakes);
	ASSERT_EQ(0u, d.completed); /* nothing of the loops' own came out */
	ASSERT_EQ(0u, d.pending);
}
#define t_counted(n) t_counted_(_metadata, self, (n))

/* Both loops work on afterwards, with no stray completion. */
static void t_still_fine_(struct __test_metadata *_metadata, FIXTURE_DATA(msg) *self)
{
	struct kif_evio_cqe c;
	ASSERT_EQ(-ETIME, kif_evio_wait(self->src, &c, 1, 0));
	ASSERT_EQ(0, kif_evio_timeout(self->dst, 7, kif_now_ns() + 1000000));
	ASSERT_EQ(-ETIME, t_expect(self->dst, 7, 5, "a timeout after the wakes"));
	ASSERT_EQ(0, kif_evio_timeout(self->src, 8, kif_now_ns() + 1000000));
	ASSERT_EQ(-ETIME, t_expect(self->src, 8, 5, "a timeout of src after the wakes"));
	ASSERT_EQ(-ETIME, kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 2000000));
}
#define t_still_fine() t_still_fine_(_metadata, self)

TEST_F(msg, wake_from_ends_a_sleeping_wait)
{
	t_rounds(1, 0);
	t_counted(1);
	t_still_fine();
}

TEST_F(msg, repeated_wakes_each_end_a_wait)
{
	t_rounds(200, 0);
	t_counted(200);
	t_still_fine();
}

/* The sender's loop has an operation of its own in flight: its completion
 * comes out, the MSG_RING's does not. */
TEST_F(msg, src_keeps_its_own_completions)
{
	t_rounds(3, 42);
	t_counted(3);
	t_still_fine();
}

TEST_F(msg, wake_before_the_wait_is_not_lost)
{
	struct kif_evio_cqe c;
	ASSERT_EQ(0, kif_evio_wake_from(self->dst, self->src));
	ASSERT_EQ(0, kif_evio_wake_from(self->dst, self->src)); /* costs nothing */
	ASSERT_EQ(0, kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 10 * T_NS_PER_S));
	t_counted(0); /* nobody slept: no kick at all */
	ASSERT_EQ(-ETIME, kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 10000000));
	t_still_fine();
}

/* A NULL sender, or the loop itself, is plain kif_evio_wake. */
TEST_F(msg, null_or_same_sender_is_a_plain_wake)
{
	struct kif_evio_cqe c;
	ASSERT_EQ(0, kif_evio_wake_from(self->dst, NULL));
	ASSERT_EQ(0, kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 10 * T_NS_PER_S));
	ASSERT_EQ(0, kif_evio_wake_from(self->dst, self->dst));
	ASSERT_EQ(0, kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 10 * T_NS_PER_S));
	t_counted(0);
}

struct hammer {
	struct kif_evio *dst, *src;
	atomic_int done;
	atomic_uint waits;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 2000000 && atomic_load(&h->waits) < 2000; i++)
		kif_evio_wake_from(h->dst, h->src);
	atomic_store(&h->done, 1);
	kif_evio_wake_from(h->dst, h->src);
	return NULL;
}

/* Wakes from src racing with dst's waits: none is lost (the last one,
 * sent after "done", always ends a wait), and both loops stay usable. */
TEST_F(msg, wakes_racing_with_waits_are_not_lost)
{
	struct hammer h = { .dst = self->dst, .src = self->src };
	pthread_t th;
	struct kif_evio_cqe c;
	ASSERT_EQ(0, pthread_create(&th, NULL, hammer_main, &h));
	unsigned waits = 0;
	for (;;) {
		int r = kif_evio_wait(self->dst, &c, 1, kif_now_ns() + 10 * T_NS_PER_S);
		ASSERT_EQ(0, r) TH_LOG("wait %u: %s", waits,
				       r == -ETIME ? "no wake within 10 s" :
				       r > 0 ? "a completion came out" : strerror(-r));
		waits++;
		atomic_store(&h.waits, waits);
		if (atomic_load(&h.done))
			break;
	}
	pthread_join(th, NULL);
	/* src harvests (and swallows what it has of its MSG_RINGs: 2,000
	 * of them overflow its completion ring when each gets one). */
	t_still_fine();
	struct kif_evio_stats d, s;
	kif_evio_stats(self->dst, &d);
	kif_evio_stats(self->src, &s);
	TH_LOG("%u waits ended, %lu msg_ring and %lu eventfd kicks", waits,
	       (unsigned long)d.msg_ring_wakes, (unsigned long)d.wakes);
	if (!self->refused) {
		ASSERT_EQ(0u, s.msg_ring_failed);
	}
	ASSERT_EQ(1u, d.completed); /* t_still_fine's timeout, nothing else */
	if (!self->msg_ring) {
		ASSERT_EQ(0u, d.msg_ring_wakes);
	}
	if (self->refused) {
		ASSERT_EQ(d.wakes, s.msg_ring_failed); /* each one fell back */
	}
}

/* Closing dst right after a MSG_RING to it, and src after sending: no
 * leak, no crash (the kernel holds the target ring while the op runs). */
TEST_F(msg, close_after_wakes)
{
	int fds = t_count_fds();
	t_rounds(2, 0);
	kif_evio_close(self->dst);
	self->dst = NULL;
	ASSERT_EQ(0, t_open(&self->dst, variant->dst_backend, 0, 0, NULL, 0));
	ASSERT_EQ(fds, t_count_fds());
	t_rounds(2, 0);
}

TEST_HARNESS_MAIN
