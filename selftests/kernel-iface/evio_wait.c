// SPDX-License-Identifier: MIT
/*
 * evio_wait.c: selftests of kif_evio's waiting and bookkeeping: timeouts
 * and deadlines, the cross-thread wake, cancel, poll, a submission burst
 * larger than the queue, many completions before harvesting (completion
 * ring overflow on io_uring), harvesting without a system call, and the
 * choice of backend. Every fixture test runs on both backends.
 *
 * See Documentation/core/kernel-iface.md ("evio.h").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "selftests/harness.h"
#include "t_evio.h"
#include "t_proc.h"
#include "t_seccomp.h"

TEST_F(evio, timeout_completes_at_its_time)
{
	uint64_t t0 = kif_now_ns(), at = t0 + 20000000; /* 20 ms */
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 1, at));
	ASSERT_EQ(-ETIME, t_expect(self->ev, 1, 5, "a 20 ms timeout"));
	ASSERT_LE(at, kif_now_ns());
}

TEST_F(evio, timeouts_complete_in_deadline_order)
{
	uint64_t now = kif_now_ns();
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 3, now + 30000000));
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 1, now + 10000000));
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 2, now + 20000000));
	for (uint64_t tag = 1; tag <= 3; tag++)
		ASSERT_EQ(-ETIME, t_expect(self->ev, tag, 5, "timeouts in order"));
}

TEST_F(evio, wait_ends_at_the_deadline)
{
	struct kif_evio_cqe c;
	uint64_t t0 = kif_now_ns();
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &c, 1, 0)); /* no sleep at all */
	uint64_t at = kif_now_ns() + 20000000;
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &c, 1, at));
	uint64_t t1 = kif_now_ns();
	ASSERT_LE(at, t1);
	ASSERT_GT(t0 + 5 * T_NS_PER_S, t1) TH_LOG("a 20 ms deadline took %.3f s",
						 (double)(t1 - t0) / 1e9);
}

TEST_F(evio, wake_before_the_wait_ends_it_at_once)
{
	struct kif_evio_cqe c;
	ASSERT_EQ(0, kif_evio_wake(self->ev));
	ASSERT_EQ(0, kif_evio_wait(self->ev, &c, 1, kif_now_ns() + 10 * T_NS_PER_S));
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(0u, st.wakes); /* nobody slept: no eventfd write */
	/* Consumed: the next wait sleeps until its deadline. */
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &c, 1, kif_now_ns() + 10000000));
}

struct waker {
	struct kif_evio *ev;
	int tid;
	int ok;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	/* Wake only once the owner sleeps in the kernel. */
	for (int i = 0; i < 2000000 && t_task_state(w->tid) != 'S'; i++)
		sched_yield();
	w->ok = t_task_state(w->tid) == 'S';
	kif_evio_wake(w->ev);
	return NULL;
}

TEST_F(evio, wake_from_another_thread_ends_a_sleeping_wait)
{
	struct waker w = { .ev = self->ev, .tid = kif_gettid() };
	pthread_t th;
	struct kif_evio_cqe c;
	ASSERT_EQ(0, pthread_create(&th, NULL, waker_main, &w));
	int r = kif_evio_wait(self->ev, &c, 1, kif_now_ns() + 10 * T_NS_PER_S);
	pthread_join(th, NULL);
	ASSERT_EQ(0, r) TH_LOG("the wait was not woken within 10 s (%d)", r);
	ASSERT_TRUE(w.ok) TH_LOG("the owner never went to sleep");
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(1u, st.wakes);
	/* The loop works on afterwards, and the eventfd was drained. */
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 5, kif_now_ns() + 1000000));
	ASSERT_EQ(-ETIME, t_expect(self->ev, 5, 5, "a timeout after the wake"));
}

struct submitter {
	struct kif_evio *ev;
	int fd;
	char *buf; /* NULL: a multishot accept of [fd] */
	int r;
};

static void *submitter_main(void *arg)
{
	struct submitter *s = arg;
	if (s->buf)
		s->r = kif_evio_read(s->ev, 11, s->fd, s->buf, 8, KIF_EVIO_CUR_POS);
	else
		s->r = kif_evio_accept(s->ev, 12, s->fd, NULL, NULL, SOCK_CLOEXEC,
				       KIF_EVIO_MULTISHOT);
	if (s->r == 0)
		s->r = kif_evio_flush(s->ev) < 0 ? -1 : 0;
	return NULL;
}

/* The VM moves between threads: a read submitted by a thread that has
 * exited since completes in another thread's wait. */
TEST_F(evio, operation_outlives_the_thread_that_submitted_it)
{
	int p[2];
	char buf[8];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	struct submitter s = { .ev = self->ev, .fd = p[0], .buf = buf };
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, submitter_main, &s));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, s.r);
	ASSERT_EQ(3, write(p[1], "hop", 3));
	ASSERT_EQ(3, t_expect(self->ev, 11, 5, "a read whose submitter exited"));
	ASSERT_EQ(0, memcmp(buf, "hop", 3));
	close(p[0]);
	close(p[1]);
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	TH_LOG("%lu operations issued again", (unsigned long)st.reissued);
	if (variant->backend == KIF_EVIO_URING) { /* the kernel did cancel it */
		ASSERT_LT(0u, st.reissued);
	}
}

TEST_F(evio, multishot_accept_outlives_the_thread_that_submitted_it)
{
	int port = 0, l = t_listen(8, &port);
	ASSERT_LE(0, l);
	struct submitter s = { .ev = self->ev, .fd = l };
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, submitter_main, &s));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, s.r);
	int c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = t_dial(port);
		ASSERT_LE(0, c[i]);
		struct kif_evio_cqe e = t_next(self->ev, 5, "an accept whose submitter exited");
		ASSERT_EQ(12u, e.tag);
		ASSERT_LE(0, e.res) TH_LOG("accept: %s", strerror(-e.res));
		ASSERT_EQ(KIF_EVIO_MORE, e.flags);
		close(e.res);
	}
	ASSERT_EQ(1, kif_evio_cancel(self->ev, 12));
	ASSERT_EQ(-ECANCELED, t_expect(self->ev, 12, 5, "the cancelled accept"));
	for (int i = 0; i < 3; i++)
		close(c[i]);
	close(l);
}

struct dialer {
	struct kif_evio *ev;
	int fd;
	struct sockaddr_in a;
	int r;
};

static void *dialer_main(void *arg)
{
	struct dialer *d = arg;
	d->r = kif_evio_connect(d->ev, 13, d->fd, (struct sockaddr *)&d->a, sizeof d->a);
	if (d->r == 0)
		d->r = kif_evio_flush(d->ev) < 0 ? -1 : 0;
	return NULL;
}

/* A connect still under way when its submitting thread exits: io_uring
 * cancels it, the loop waits for the connection instead (POLLOUT and
 * SO_ERROR). The listener's accept queue is full, so the handshake waits
 * for the SYN to be sent again (about 1 s) after one is accepted. */
TEST_F(evio, connect_outlives_the_thread_that_submitted_it)
{
	int port = 0, l = t_listen(0, &port);
	ASSERT_LE(0, l);
	int first = t_dial(port); /* fills the accept queue (backlog 0: one) */
	ASSERT_LE(0, first);
	struct dialer d = { .ev = self->ev, .a = t_addr(port) };
	d.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, d.fd);
	pthread_t th;
	ASSERT_EQ(0, pthread_create(&th, NULL, dialer_main, &d));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, d.r);
	struct kif_evio_cqe c;
	int r = kif_evio_wait(self->ev, &c, 1, 0);
	if (r == 1)
		SKIP(goto out, "the connect completed before its thread exited (%d)", c.res);
	int a = accept4(l, NULL, NULL, SOCK_CLOEXEC); /* room for the second */
	ASSERT_LE(0, a);
	ASSERT_EQ(0, t_expect(self->ev, 13, 10, "a connect whose submitter exited"));
	close(a);
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	TH_LOG("%lu operations issued again", (unsigned long)st.reissued);
out:
	close(d.fd);
	close(first);
	close(l);
}

TEST_F(evio, cancel_of_a_pending_read)
{
	int p[2];
	char buf[8];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, kif_evio_read(self->ev, 42, p[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(0, kif_evio_flush(self->ev) < 0);
	ASSERT_EQ(1, kif_evio_cancel(self->ev, 42));
	ASSERT_EQ(-ECANCELED, t_expect(self->ev, 42, 5, "the cancelled read"));
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(0u, st.pending);
	/* Nothing else comes, and data written now stays in the pipe. */
	ASSERT_EQ(1, write(p[1], "z", 1));
	struct kif_evio_cqe c;
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &c, 1, kif_now_ns() + 20000000));
	ASSERT_EQ(1, read(p[0], buf, sizeof buf));
	ASSERT_EQ(0, kif_evio_cancel(self->ev, 42)); /* nothing left with that tag */
	close(p[0]);
	close(p[1]);
}

TEST_F(evio, cancel_before_flush_and_of_a_timeout)
{
	int p[2];
	char buf[8];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	/* Queued, never sent: cancelled all the same. */
	ASSERT_EQ(0, kif_evio_read(self->ev, 1, p[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(1, kif_evio_cancel(self->ev, 1));
	ASSERT_EQ(-ECANCELED, t_expect(self->ev, 1, 5, "read cancelled before the flush"));
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 2, kif_now_ns() + 3600 * T_NS_PER_S));
	ASSERT_EQ(0, kif_evio_flush(self->ev) < 0);
	ASSERT_EQ(1, kif_evio_cancel(self->ev, 2));
	ASSERT_EQ(-ECANCELED, t_expect(self->ev, 2, 5, "the cancelled timeout"));
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(0u, st.pending);
	close(p[0]);
	close(p[1]);
}

/* A descriptor closed behind the loop's back, its number reused: after
 * kif_evio_forget_fd the loop treats the new one as new (epoll would
 * otherwise trust a registration that went with the old one). */
TEST_F(evio, descriptor_number_reused_after_forget)
{
	int p[2], q[2];
	char buf[8];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, kif_evio_read(self->ev, 1, p[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(0, kif_evio_flush(self->ev) < 0);
	ASSERT_EQ(1, kif_evio_cancel(self->ev, 1));
	ASSERT_EQ(-ECANCELED, t_expect(self->ev, 1, 5, "the cancelled read"));
	close(p[0]);
	close(p[1]);
	kif_evio_forget_fd(self->ev, p[0]);
	kif_evio_forget_fd(self->ev, p[1]);
	ASSERT_EQ(0, pipe2(q, O_CLOEXEC));
	ASSERT_EQ(p[0], q[0]); /* the same number, a new pipe */
	ASSERT_EQ(0, kif_evio_read(self->ev, 2, q[0], buf, sizeof buf, KIF_EVIO_CUR_POS));
	ASSERT_EQ(0, kif_evio_flush(self->ev) < 0);
	ASSERT_EQ(2, write(q[1], "ok", 2));
	ASSERT_EQ(2, t_expect(self->ev, 2, 5, "a read of the reused descriptor number"));
	close(q[0]);
	close(q[1]);
}

TEST_F(evio, poll_reports_readiness)
{
	int p[2];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, kif_evio_poll(self->ev, 1, p[0], POLLIN));
	struct kif_evio_cqe c;
	ASSERT_EQ(-ETIME, kif_evio_wait(self->ev, &c, 1, 0));
	ASSERT_EQ(1, write(p[1], "!", 1));
	int32_t r = t_expect(self->ev, 1, 5, "POLLIN after a write");
	ASSERT_TRUE(r & POLLIN) TH_LOG("events %#x", r);
	close(p[1]);
	ASSERT_EQ(0, kif_evio_poll(self->ev, 2, p[0], POLLOUT));
	/* A read end never becomes writable, but the hang-up is reported. */
	r = t_expect(self->ev, 2, 5, "POLLHUP of a pipe whose writer closed");
	ASSERT_TRUE(r & POLLHUP) TH_LOG("events %#x", r);
	close(p[0]);
}

/* Tags are checked off one by one: none lost, none twice. */
static void collect(struct __test_metadata *_metadata, struct kif_evio *ev, unsigned n,
		    int32_t want, int harvest_only)
{
	unsigned char *seen = calloc(n, 1);
	struct kif_evio_cqe cq[32];
	unsigned got = 0;
	uint64_t deadline = kif_now_ns() + 10 * T_NS_PER_S;
	ASSERT_NE_NULL(seen);
	while (got < n) {
		int k = harvest_only ? kif_evio_harvest(ev, cq, 32) :
				       kif_evio_wait(ev, cq, 32, deadline);
		if (harvest_only && k == 0)
			k = kif_evio_wait(ev, cq, 32, deadline);
		ASSERT_LT(0, k) TH_LOG("%u of %u completions, then %s", got, n,
				       k == -ETIME ? "none for 10 s" : strerror(-k));
		for (int i = 0; i < k; i++) {
			ASSERT_LT(cq[i].tag, (uint64_t)n);
			ASSERT_EQ(0, seen[cq[i].tag]) TH_LOG("tag %lu twice",
							     (unsigned long)cq[i].tag);
			seen[cq[i].tag] = 1;
			ASSERT_EQ(want, cq[i].res & want);
		}
		got += (unsigned)k;
	}
	free(seen);
}

/* A small queue (8 entries) and 1,000 operations queued before any flush:
 * queuing flushes by itself when the queue is full, never fails. */
FIXTURE_VARIANT_ADD(evio, uring_small) {
	.backend = KIF_EVIO_URING, .entries = 8,
};
FIXTURE_VARIANT_ADD(evio, epoll_small) {
	.backend = KIF_EVIO_EPOLL, .entries = 8,
};

TEST_F(evio, submission_burst_larger_than_the_queue)
{
	enum { N = 1000 };
	int p[2];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (unsigned i = 0; i < N; i++)
		ASSERT_EQ(0, kif_evio_poll(self->ev, i, p[1], POLLOUT));
	collect(_metadata, self->ev, N, POLLOUT, 0);
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	TH_LOG("%lu forced flushes", (unsigned long)st.flushes_full);
	if (variant->backend == KIF_EVIO_URING && variant->entries == 8) {
		ASSERT_LT(0u, st.flushes_full);
	}
	ASSERT_EQ(0u, st.pending);
	close(p[0]);
	close(p[1]);
}

/* Many more completions than the completion ring holds (2 x entries on
 * io_uring), all ready before the first harvest: none may be lost. */
TEST_F(evio, many_completions_before_harvesting)
{
	enum { N = 600 };
	int p[2];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	for (unsigned i = 0; i < N; i++)
		ASSERT_EQ(0, kif_evio_poll(self->ev, i, p[1], POLLOUT));
	ASSERT_LE(0, kif_evio_flush(self->ev));
	collect(_metadata, self->ev, N, POLLOUT, 1);
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(0u, st.pending);
	ASSERT_EQ((uint64_t)N, st.completed);
	TH_LOG("completion ring overflows: %lu", (unsigned long)st.cq_overflows);
	/* 600 > 2 x 256 entries: the ring did overflow. */
	if (variant->backend == KIF_EVIO_URING) {
		ASSERT_LT(0u, st.cq_overflows);
	}
	close(p[0]);
	close(p[1]);
}

/*
 * Harvesting what is there, and finding nothing new, makes no system call.
 * Not a fixture test: after the filter, the teardown's close would be one.
 */
static void harvest_without_syscalls(struct __test_metadata *_metadata, int backend)
{
	struct kif_evio *ev;
	char why[160];
	int r = t_open(&ev, backend, 0, 0, why, sizeof why);
	if (r < 0)
		SKIP(return, "backend unavailable: %s", why);
	if ((getenv("SAN") && strcmp(getenv("SAN"), "1") == 0) ||
	    (getenv("TSAN") && strcmp(getenv("TSAN"), "1") == 0))
		SKIP(return, "sanitizer build: its runtime makes syscalls");
	int p[2];
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	/* Ready at once: its completion is in the ring (or queue) after the
	 * flush, before anyone waits. */
	ASSERT_EQ(0, kif_evio_poll(ev, 9, p[1], POLLOUT));
	ASSERT_LE(1, kif_evio_flush(ev));
	struct kif_evio_cqe c[4];
	int n = 0;
	if (t_seccomp_only_write_exit())
		SKIP(return, "seccomp filters unavailable");
	/* From here, any system call but write and exit kills the test. */
	n = kif_evio_harvest(ev, c, 4);
	for (int i = 0; i < 100000; i++)
		n += kif_evio_harvest(ev, c + 1, 3);
	ASSERT_EQ(1, n);
	ASSERT_EQ(9u, c[0].tag);
	ASSERT_TRUE(c[0].res & POLLOUT);
}

TEST(harvest_makes_no_syscall_uring)
{
	unsetenv("BATON_URING");
	harvest_without_syscalls(_metadata, KIF_EVIO_URING);
}

TEST(harvest_makes_no_syscall_epoll)
{
	harvest_without_syscalls(_metadata, KIF_EVIO_EPOLL);
}

/* The witness for the two tests above: under the same filter, asking the
 * epoll backend for news (one epoll_pwait2) kills the process. */
TEST(seccomp_filter_kills_a_wait_that_asks_the_kernel)
{
	pid_t pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct kif_evio *ev;
		struct kif_evio_cqe c;
		if (t_open(&ev, KIF_EVIO_EPOLL, 0, 0, NULL, 0) < 0)
			_exit(78);
		if (t_seccomp_only_write_exit())
			_exit(77);
		kif_evio_wait(ev, &c, 1, 0);
		_exit(0);
	}
	int st;
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		SKIP(return, "seccomp filters unavailable");
	ASSERT_TRUE(WIFSIGNALED(st)) TH_LOG("the child exited with %d", WEXITSTATUS(st));
	ASSERT_EQ(SIGSYS, WTERMSIG(st));
}

TEST(backend_choice)
{
	struct kif_evio *ev;
	char why[160] = "";
	unsetenv("BATON_URING");
	ASSERT_EQ(0, t_open(&ev, KIF_EVIO_AUTO, 0, 0, why, sizeof why));
	const char *name = kif_evio_backend_name(ev);
	TH_LOG("automatic choice: %s%s%s", name, why[0] ? ": " : "", why);
	ASSERT_TRUE(!strcmp(name, "uring") || !strcmp(name, "epoll"));
	if (!strcmp(name, "epoll")) {
		ASSERT_NE(0, why[0]) TH_LOG("epoll chosen without a reason");
	}
	kif_evio_close(ev);
	setenv("BATON_URING", "0", 1);
	ASSERT_EQ(0, t_open(&ev, KIF_EVIO_AUTO, 0, 0, why, sizeof why));
	ASSERT_STREQ("epoll", kif_evio_backend_name(ev));
	ASSERT_NE_NULL(strstr(why, "BATON_URING=0"));
	kif_evio_close(ev);
	/* Asked for explicitly, io_uring says why it cannot. */
	ASSERT_GT(0, t_open(&ev, KIF_EVIO_URING, 0, 0, why, sizeof why));
	ASSERT_NE_NULL(strstr(why, "BATON_URING=0"));
	unsetenv("BATON_URING");
	ASSERT_EQ(-EINVAL, t_open(&ev, KIF_EVIO_AUTO, 100, 0, why, sizeof why));
}

/* Docker's default profile refuses io_uring_setup: the automatic choice
 * falls back to epoll and says why; asking for io_uring fails. */
TEST(io_uring_refused_by_seccomp_falls_back_to_epoll)
{
	char why[160];
	unsetenv("BATON_URING");
	if (t_seccomp_refuse(__NR_io_uring_setup, EPERM, 0, why, sizeof why))
		SKIP(return, "%s", why);
	struct kif_evio *ev;
	ASSERT_EQ(-EPERM, t_open(&ev, KIF_EVIO_URING, 0, 0, why, sizeof why));
	ASSERT_EQ(0, t_open(&ev, KIF_EVIO_AUTO, 0, 0, why, sizeof why));
	ASSERT_STREQ("epoll", kif_evio_backend_name(ev));
	TH_LOG("fell back: %s", why);
	ASSERT_NE_NULL(strstr(why, "EPERM"));
	ASSERT_EQ(0, kif_evio_timeout(ev, 1, kif_now_ns() + 1000000));
	ASSERT_EQ(-ETIME, t_expect(ev, 1, 5, "a timeout on the fallback"));
	kif_evio_close(ev);
}

struct hammer {
	struct kif_evio *ev;
	atomic_int done;
	atomic_uint waits; /* the owner's, so that the race really happens */
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 2000000 && atomic_load(&h->waits) < 2000; i++)
		kif_evio_wake(h->ev);
	atomic_store(&h->done, 1);
	kif_evio_wake(h->ev);
	return NULL;
}

/* Wakes racing with the owner's waits: none is lost (the last one, sent
 * after "done", always ends a wait), and the loop stays usable. */
TEST_F(evio, wakes_racing_with_waits_are_not_lost)
{
	struct hammer h = { .ev = self->ev };
	pthread_t th;
	struct kif_evio_cqe c;
	ASSERT_EQ(0, pthread_create(&th, NULL, hammer_main, &h));
	unsigned waits = 0;
	for (;;) {
		int r = kif_evio_wait(self->ev, &c, 1, kif_now_ns() + 10 * T_NS_PER_S);
		ASSERT_EQ(0, r) TH_LOG("wait %u: %s", waits,
				       r == -ETIME ? "no wake within 10 s" : strerror(-r));
		waits++;
		atomic_store(&h.waits, waits);
		/* Read after the wait: "done" seen means the last wake was
		 * sent before it, and this wait or an earlier one took it;
		 * not seen means the last wake is still to come. */
		if (atomic_load(&h.done))
			break;
	}
	pthread_join(th, NULL);
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	TH_LOG("%u waits ended by wakes, %lu eventfd writes", waits, (unsigned long)st.wakes);
	ASSERT_EQ(0, kif_evio_timeout(self->ev, 1, kif_now_ns() + 1000000));
	ASSERT_EQ(-ETIME, t_expect(self->ev, 1, 5, "a timeout after the wakes"));
}

TEST_F(evio, reserved_tags_and_bad_arguments)
{
	char buf[4];
	ASSERT_EQ(-EINVAL, kif_evio_read(self->ev, KIF_EVIO_TAG_RESERVED, 0, buf, 4, 0));
	ASSERT_EQ(-EINVAL, kif_evio_read(self->ev, 1, 0, buf, 4, -2));
	ASSERT_EQ(-EINVAL, kif_evio_accept(self->ev, 1, 0, (struct sockaddr *)buf, NULL, 0, 0));
	ASSERT_EQ(-EINVAL, kif_evio_poll(self->ev, 1, 0, 0));
	ASSERT_EQ(-EINVAL, kif_evio_cancel(self->ev, UINT64_MAX));
	struct kif_evio_stats st;
	kif_evio_stats(self->ev, &st);
	ASSERT_EQ(0u, st.pending);
	ASSERT_EQ(0u, st.submitted);
}

TEST_HARNESS_MAIN
