// SPDX-License-Identifier: MIT
/*
 * hb_shared.c: selftests of the shared heartbeat (hb_group.c) on each
 * backend: one thread beats every ticking client; a tickless client gets
 * no beat until hb_resume() (also racing with it going tickless) or its
 * own deadline; re-checks and deadlines are per client; a client detached
 * while others tick gets no beat after hb_stop(); the group sleeps when
 * every client is tickless.
 *
 * See Documentation/core/heartbeat.md ("One heartbeat per head, or one for all").
 */
#include <errno.h>
#include <time.h>

#include "selftests/harness.h"
#include "selftests/heartbeat/t_hb.h"

#define MS 1000000u
#define N 3

FIXTURE(sh) {
	struct t_vm vm[N];
	struct hb *hb[N];
	struct hb_group *g;
	int tid;
};

FIXTURE_VARIANT(sh) {
	struct t_backend b;
};

FIXTURE_VARIANT_ADD(sh, uring_multishot) {
	.b = { .name = "io_uring-multishot", .uring = 1, .multishot = 1 },
};
FIXTURE_VARIANT_ADD(sh, uring) {
	.b = { .name = "io_uring", .no_multishot = 1, .uring = 1 },
};
FIXTURE_VARIANT_ADD(sh, read) {
	.b = { .name = "read", .force_read = 1 },
};

static struct hb *t_join(struct hb_group *g, struct t_vm *vm)
{
	struct hb_config cfg = { .beat = t_beat, .still_idle = t_still_idle, .ud = vm };
	return hb_start_shared(g, &cfg);
}

FIXTURE_SETUP(sh)
{
	char buf[160];
	const char *why = t_backend_missing(&variant->b, buf, sizeof buf);
	if (why)
		SKIP(return, "%s", why);
	struct hb_config gc = { .hz = 1000, .force_read = variant->b.force_read,
				.no_multishot = variant->b.no_multishot };
	self->g = hb_group_new(&gc);
	ASSERT_NE_NULL(self->g);
	for (int i = 0; i < N; i++) {
		atomic_store(&self->vm[i].idle, 1);
		self->hb[i] = t_join(self->g, &self->vm[i]);
		ASSERT_NE_NULL(self->hb[i]);
		ASSERT_STREQ(variant->b.name, hb_backend(self->hb[i]));
	}
	ASSERT_EQ(N, hb_group_clients(self->g));
	self->tid = t_find_thread("baton-hbg");
	ASSERT_GT(self->tid, 0);
}

FIXTURE_TEARDOWN(sh)
{
	for (int i = 0; i < N; i++)
		hb_stop(self->hb[i]);
	ASSERT_EQ(0, hb_group_free(self->g));
}

/* Sleeps until client [vm]'s deadline beat has come. */
static void t_wait_late(struct t_vm *vm)
{
	for (;;) {
		uint32_t b = atomic_load(&vm->beats);
		if (atomic_load(&vm->late_beats))
			return;
		(void)kif_futex_wait(&vm->beats, b, -1);
	}
}

/* Returns once every client has said "idle" and the thread was then seen
 * asleep with no beat in between: with no client ticking, the group has
 * disarmed its timer (or armed a deadline) before that sleep. */
static void t_wait_group_sleeps(struct t_vm *vm, int n, int tid)
{
	for (;;) {
		int voted = 1;
		uint32_t b[N];
		for (int i = 0; i < n; i++) {
			voted &= atomic_load(&vm[i].idle_votes) > 0;
			b[i] = atomic_load(&vm[i].beats);
		}
		int same = voted && t_hb_asleep(tid);
		for (int i = 0; i < n && same; i++)
			same = atomic_load(&vm[i].beats) == b[i];
		if (same)
			return;
		sched_yield();
	}
}

static void t_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts))
		;
}

TEST_F(sh, one_thread_beats_every_ticking_client)
{
	for (int i = 0; i < N; i++)
		t_wait_beats(&self->vm[i], 50);
	/* One thread for all: no per-client heartbeat thread exists. */
	ASSERT_EQ(-1, t_find_thread("baton-hb"));
	/* Each client's beats fit in the group's wake-ups (one per tick,
	 * plus none here: no re-check, no deadline). */
	uint64_t w = hb_wakeups(self->hb[0]);
	ASSERT_EQ(w, hb_wakeups(self->hb[1]));
	for (int i = 0; i < N; i++)
		ASSERT_LE(atomic_load(&self->vm[i].beats), w);
	ASSERT_GT(hb_cpu_ns(self->hb[0]), 0);
}

TEST_F(sh, tickless_client_gets_no_beat_until_resumed)
{
	atomic_store(&self->vm[0].mode, T_IDLE);
	/* Its beat asked to go tickless and still_idle() agreed. */
	uint64_t s0 = atomic_load(&self->vm[0].idle_votes);
	while (atomic_load(&self->vm[0].idle_votes) == s0)
		sched_yield();
	uint32_t b0 = atomic_load(&self->vm[0].beats);
	/* 100 further beats of the others: none for the tickless one. */
	t_wait_beats(&self->vm[1], atomic_load(&self->vm[1].beats) + 100);
	ASSERT_EQ(b0, atomic_load(&self->vm[0].beats));
	atomic_store(&self->vm[0].mode, T_TICK);
	atomic_store(&self->vm[0].idle, 0);
	hb_resume(self->hb[0]);
	t_wait_beats(&self->vm[0], b0 + 20); /* never returns if resume is lost */
}

TEST_F(sh, all_tickless_the_thread_sleeps_until_resumed)
{
	for (int i = 0; i < N; i++)
		atomic_store(&self->vm[i].mode, T_IDLE);
	t_wait_group_sleeps(self->vm, N, self->tid);
	uint64_t w = hb_wakeups(self->hb[0]);
	t_sleep_ms(200); /* an observation window, not a synchronisation */
	ASSERT_EQ(w, hb_wakeups(self->hb[0]));
	uint32_t b = atomic_load(&self->vm[2].beats);
	atomic_store(&self->vm[2].mode, T_TICK);
	atomic_store(&self->vm[2].idle, 0);
	hb_resume(self->hb[2]);
	t_wait_beats(&self->vm[2], b + 20);
}

TEST_F(sh, deadlines_are_per_client)
{
	/* Client 0 ticks on; 1 and 2 go tickless with their own deadlines.
	 * Each deadline client is woken once, at or after its deadline,
	 * with one expiration, and not in between. */
	uint64_t now = kif_now_ns();
	atomic_store(&self->vm[1].deadline, now + 30 * MS);
	atomic_store(&self->vm[2].deadline, now + 60 * MS);
	atomic_store(&self->vm[1].mode, T_DEADLINE);
	atomic_store(&self->vm[2].mode, T_DEADLINE);
	for (int i = 1; i < N; i++)
		t_wait_late(&self->vm[i]);
	t_wait_beats(&self->vm[0], atomic_load(&self->vm[0].beats) + 50);
	for (int i = 1; i < N; i++) {
		ASSERT_EQ(1, atomic_load(&self->vm[i].late_beats));
		ASSERT_GE(atomic_load(&self->vm[i].late_now), atomic_load(&self->vm[i].deadline));
		ASSERT_EQ(1, atomic_load(&self->vm[i].late_exp));
		/* Only the beat that returned the deadline: none while
		 * client 0 kept the thread ticking. */
		ASSERT_EQ(1, atomic_load(&self->vm[i].early_beats));
	}
}

TEST_F(sh, deadlines_alone_the_group_wakes_only_for_them)
{
	uint64_t now = kif_now_ns();
	for (int i = 0; i < N; i++) {
		atomic_store(&self->vm[i].deadline, now + (20 + 20 * (uint64_t)i) * MS);
		atomic_store(&self->vm[i].mode, T_DEADLINE);
	}
	for (int i = 0; i < N; i++)
		t_wait_late(&self->vm[i]);
	for (int i = 0; i < N; i++) {
		ASSERT_GE(atomic_load(&self->vm[i].late_now), atomic_load(&self->vm[i].deadline));
		ASSERT_EQ(1, atomic_load(&self->vm[i].late_exp));
		ASSERT_EQ(1, atomic_load(&self->vm[i].early_beats));
	}
}

TEST_F(sh, busy_client_vetoes_tickless)
{
	atomic_store(&self->vm[1].idle, 0);
	atomic_store(&self->vm[1].mode, T_IDLE); /* beat() asks, still_idle() says no */
	uint32_t b = atomic_load(&self->vm[1].beats);
	t_wait_beats(&self->vm[1], b + 50);
	ASSERT_GE(atomic_load(&self->vm[1].still_idle_calls), 49);
}

TEST_F(sh, detaching_a_client_while_others_tick)
{
	for (int i = 0; i < N; i++)
		t_wait_beats(&self->vm[i], 5);
	hb_stop(self->hb[1]);
	self->hb[1] = NULL;
	ASSERT_EQ(N - 1, hb_group_clients(self->g));
	ASSERT_EQ(-EBUSY, hb_group_free(self->g));
	uint32_t b1 = atomic_load(&self->vm[1].beats);
	t_wait_beats(&self->vm[0], atomic_load(&self->vm[0].beats) + 50);
	t_wait_beats(&self->vm[2], atomic_load(&self->vm[2].beats) + 50);
	ASSERT_EQ(b1, atomic_load(&self->vm[1].beats));
}

/* A client that checks, in its beat(), that it has not been detached. */
struct t_churn {
	_Atomic uint32_t detached;
	_Atomic uint32_t late; /* beats after hb_stop() returned */
	_Atomic uint32_t beats;
};

static uint64_t t_churn_beat(void *ud, uint64_t now, uint64_t exp)
{
	(void)now;
	(void)exp;
	struct t_churn *c = ud;
	if (atomic_load(&c->detached))
		atomic_fetch_add(&c->late, 1);
	atomic_fetch_add(&c->beats, 1);
	(void)kif_futex_wake(&c->beats, INT_MAX);
	return HB_TICK;
}

TEST_F_TIMEOUT(sh, join_and_leave_race_with_beats, 60)
{
	for (int round = 0; round < 200; round++) {
		struct t_churn c = { 0 };
		struct hb_config cfg = { .beat = t_churn_beat, .ud = &c };
		struct hb *hb = hb_start_shared(self->g, &cfg);
		ASSERT_NE_NULL(hb);
		if (round % 2) { /* half the rounds: leave after a beat */
			uint32_t b;
			while ((b = atomic_load(&c.beats)) == 0)
				(void)kif_futex_wait(&c.beats, b, -1);
		}
		hb_stop(hb);
		atomic_store(&c.detached, 1);
		ASSERT_EQ(0, atomic_load(&c.late));
	}
	/* The others never stopped. */
	t_wait_beats(&self->vm[0], atomic_load(&self->vm[0].beats) + 20);
}

/* Re-check: one client asks for an extra beat; the others do not get it. */
struct t_rc {
	struct t_vm other;
	_Atomic(struct hb *) hb;
	_Atomic uint32_t n;
	uint64_t t[3], at;
	uint32_t ob[2]; /* the other client's beats at beats 0 and 1 */
};

static uint64_t t_rc_beat(void *ud, uint64_t now, uint64_t exp)
{
	(void)exp;
	struct t_rc *r = ud;
	uint32_t n = atomic_load(&r->n);
	struct hb *hb = atomic_load(&r->hb);
	if (!hb || n >= 3)
		return HB_TICK;
	r->t[n] = now;
	if (n < 2)
		r->ob[n] = atomic_load(&r->other.beats);
	if (n == 0) {
		r->at = now + 100 * MS;
		hb_recheck_at(hb, r->at);
	}
	atomic_store(&r->n, n + 1);
	(void)kif_futex_wake(&r->n, INT_MAX);
	return HB_TICK;
}

TEST(recheck_is_per_client)
{
	/* 1 Hz: the re-check, 100 ms after a beat, is far from any tick. */
	static struct t_rc r;
	struct hb_config gc = { .hz = 1 };
	struct hb_group *g = hb_group_new(&gc);
	ASSERT_NE_NULL(g);
	struct hb_config c1 = { .beat = t_rc_beat, .ud = &r };
	struct hb_config c2 = { .hz = 1, .beat = t_beat, .ud = &r.other };
	struct hb *a = hb_start_shared(g, &c1);
	ASSERT_NE_NULL(a);
	atomic_store(&r.hb, a);
	struct hb *b = hb_start_shared(g, &c2);
	ASSERT_NE_NULL(b);
	uint32_t n;
	while ((n = atomic_load(&r.n)) < 3)
		(void)kif_futex_wait(&r.n, n, -1);
	hb_stop(a);
	hb_stop(b);
	ASSERT_EQ(0, hb_group_free(g));
	/* The extra beat: not before the time asked, well before the 1 s
	 * period would have ended. */
	ASSERT_GE(r.t[1], r.at);
	ASSERT_LT(r.t[1], r.t[0] + 1000000000u);
	/* The other client was not beaten for it. */
	ASSERT_EQ(r.ob[0], r.ob[1]);
	/* Then back in the group's phase: the next beat a tick after the first. */
	ASSERT_GE(r.t[2], r.t[0] + 1000000000u);
}

TEST(config_checks)
{
	struct hb_config gc = { .hz = 500 };
	struct hb_group *g = hb_group_new(&gc);
	ASSERT_NE_NULL(g);
	struct t_vm vm = { 0 };
	struct hb_config bad_hz = { .hz = 1000, .beat = t_beat, .ud = &vm };
	errno = 0;
	ASSERT_NULL(hb_start_shared(g, &bad_hz));
	ASSERT_EQ(EINVAL, errno);
	struct hb_config no_beat = { .ud = &vm };
	errno = 0;
	ASSERT_NULL(hb_start_shared(g, &no_beat));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, hb_group_clients(g));
	ASSERT_EQ(0, hb_group_free(g));
	ASSERT_EQ(0, hb_group_free(NULL));
	struct hb_config too_fast = { .hz = 2000000000u };
	errno = 0;
	ASSERT_NULL(hb_group_new(&too_fast));
	ASSERT_EQ(EINVAL, errno);
	/* A NULL group: an ordinary heartbeat of its own. */
	struct hb_config own = { .beat = t_beat, .ud = &vm };
	struct hb *hb = hb_start_shared(NULL, &own);
	ASSERT_NE_NULL(hb);
	ASSERT_GT(t_find_thread("baton-hb"), 0);
	t_wait_beats(&vm, 5);
	hb_stop(hb);
}

/*
 * The lost-wake-up race, per client, with the group going tickless too
 * (the other clients are idle): each round declares client 0 idle, waits
 * until still_idle() has said so, makes it busy again and resumes it: a
 * beat must follow.
 */
TEST_F_TIMEOUT(sh, resume_racing_tickless_loses_no_wakeup, 60)
{
	for (int i = 1; i < N; i++)
		atomic_store(&self->vm[i].mode, T_IDLE);
	atomic_store(&self->vm[0].mode, T_IDLE);
	atomic_store(&self->vm[0].idle, 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = atomic_load(&self->vm[0].idle_votes);
		atomic_store(&self->vm[0].idle, 1);
		while (atomic_load(&self->vm[0].idle_votes) == v)
			sched_yield();
		atomic_store(&self->vm[0].idle, 0); /* seq_cst: the "busy" write */
		hb_resume(self->hb[0]);
		t_wait_beats(&self->vm[0], atomic_load(&self->vm[0].beats) + 1);
	}
}

TEST_HARNESS_MAIN
