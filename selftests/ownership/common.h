// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/common.h: small helpers shared by the ownership tests.
 *
 * Waiting for a condition here means polling a counter the core keeps,
 * yielding the CPU between looks: never a sleep standing in for an event.
 * Every wait is bounded: a liveness failure (a lost wake-up, a waiter left
 * asleep) ends the test with a message saying what did not happen, long
 * before the harness's timeout. The bounds (T_LIVE_S, scaled like the
 * harness timeout by BATON_TIMEOUT_SCALE) are far above what the events
 * take; they are not speed claims.
 */
#ifndef T_OWNERSHIP_COMMON_H
#define T_OWNERSHIP_COMMON_H

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baton.h"
#include "tools/lib/sim.h"

/* T_TSAN: built with ThreadSanitizer (GCC or clang). */
#if defined(__SANITIZE_THREAD__)
#define T_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define T_TSAN 1
#endif
#endif

static inline struct baton_stats t_stats(baton_vm *vm)
{
	struct baton_stats s;
	baton_get_stats(vm, &s);
	return s;
}

/* Seconds a thread gets to do something it should do at once. */
#define T_LIVE_S 5

static inline uint64_t t_bound_ns(unsigned secs)
{
	const char *e = getenv("BATON_TIMEOUT_SCALE");
	int scale = e && atoi(e) > 0 ? atoi(e) : 1;
	return baton_now_ns() + (uint64_t)secs * (uint64_t)scale * 1000000000ull;
}

/* Poll [cond], yielding, for at most [secs] seconds; answers whether it
 * came true. The caller asserts on it and says what did not happen. */
#define T_WAIT_UNTIL(cond, secs)                                                \
	({                                                                      \
		uint64_t t_dl_ = t_bound_ns(secs);                              \
		int t_ok_;                                                      \
		while (!(t_ok_ = !!(cond)) && baton_now_ns() < t_dl_)           \
			sched_yield();                                          \
		t_ok_;                                                          \
	})

/* Wait (yielding) until [n] threads are queued for the VM; 0 if they
 * never are within T_LIVE_S. */
static inline int t_wait_queued(baton_vm *vm, unsigned n)
{
	return T_WAIT_UNTIL(t_stats(vm).waiting >= n, T_LIVE_S);
}

static inline int t_wait_parked(baton_vm *vm, unsigned n)
{
	return T_WAIT_UNTIL(t_stats(vm).parked >= n, T_LIVE_S);
}

/*
 * A watchdog for waits that block inside the core (baton_idle() whose
 * wake-up was lost cannot be polled): if not stopped within [secs]
 * (scaled), it logs "[what] within N s", calls [report] for the details
 * and ends the test process as failed.
 */
struct t_watch {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	unsigned secs;
	uint64_t until_ns;
	void (*report)(void *ud);
	void *ud;
	char what[240];
};

static inline void *t_watch_main(void *arg)
{
	struct t_watch *w = arg;
	struct timespec ts = { .tv_sec = (time_t)(w->until_ns / 1000000000ull),
			       .tv_nsec = (long)(w->until_ns % 1000000000ull) };
	pthread_mutex_lock(&w->mu);
	while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0)
		;
	int fire = !w->stop;
	pthread_mutex_unlock(&w->mu);
	if (fire) {
		TH_LOG("%s within %u s", w->what, w->secs);
		if (w->report)
			w->report(w->ud);
		fflush(NULL);
		_exit(KSFT_FAIL);
	}
	return NULL;
}

static inline __attribute__((format(printf, 5, 6))) void
t_watch_start(struct t_watch *w, unsigned secs, void (*report)(void *), void *ud,
	      const char *fmt, ...)
{
	pthread_condattr_t ca;
	memset(w, 0, sizeof *w);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->what, sizeof w->what, fmt, ap);
	va_end(ap);
	w->secs = secs;
	w->report = report;
	w->ud = ud;
	/* baton_now_ns() is CLOCK_MONOTONIC, like the condition's clock. */
	w->until_ns = t_bound_ns(secs);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->mu, NULL);
	if (pthread_create(&w->th, NULL, t_watch_main, w))
		abort();
}

static inline void t_watch_stop(struct t_watch *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

/* Where a simulation stood when its watchdog fired. */
static inline void t_sim_report(void *ud)
{
	struct sim *s = ud;
	TH_LOG("%u of %u tasks finished; owner %u; %u threads, %u queued, %u parked",
	       s->nfinished, s->ntasks, baton_owner(s->vm), t_stats(s->vm).threads,
	       t_stats(s->vm).waiting, t_stats(s->vm).parked);
}

/* sim_run() bounded: the tasks must all finish within [secs] seconds. */
static inline int t_sim_run(struct sim *s, unsigned secs)
{
	struct t_watch w;
	t_watch_start(&w, secs, t_sim_report, s,
		      "the simulation's %u tasks did not all finish", s->ntasks);
	int r = sim_run(s);
	t_watch_stop(&w);
	return r;
}

/* The invariants (baton_check()) hold; [self] is the caller if it owns
 * the VM, or NULL at a quiescent point. */
#define T_CHECK(vm, self)                                                       \
	do {                                                                    \
		char t_why_[200];                                               \
		ASSERT_EQ(0, baton_check((vm), (self), t_why_, sizeof t_why_))  \
		TH_LOG("invariant: %s", t_why_);                                \
	} while (0)

/* BATON_URING=0 in the test's own (forked) environment selects the
 * fallback heartbeat; variants use it to cover both backends. */
static inline void t_backend(int uring)
{
	if (uring)
		unsetenv("BATON_URING");
	else
		setenv("BATON_URING", "0", 1);
}

static inline unsigned t_fixed_us(struct sim_task *k)
{
	return (unsigned)(uintptr_t)k->ud;
}

#endif
