// SPDX-License-Identifier: MIT
/*
 * hb.c: the heartbeat thread: backend choice, beat loop, tickless protocol.
 *
 * Owns the timerfd (arming it from any thread) and the tickless state word.
 * Knows nothing of the VM beyond struct hb_config's callbacks; never calls
 * the kernel except through kernel-iface/. See Documentation/core/heartbeat.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heartbeat/hb.h"
#include "heartbeat/hb_backend.h"
#include "kernel-iface/clock.h"
#include "kernel-iface/futex.h"
#include "kernel-iface/probes.h"
#include "kernel-iface/timerfd.h"
#include "kernel-iface/uring.h"

/*
 * Tickless protocol. [state] is TICKING or TICKLESS; all accesses seq_cst.
 *
 * Heartbeat, when beat() asks for a deadline:
 *   1. state = TICKLESS
 *   2. if (!still_idle()) { exchange(state, TICKING); keep ticking }
 *   3. arm the one-shot deadline, or disarm
 *   4. if (state != TICKLESS) arm periodic
 *   5. sleep in the backend
 * hb_resume(), after the caller made the VM busy (a seq_cst write B):
 *   R. if (exchange(state, TICKING) == TICKLESS) arm periodic
 *
 * No wake-up is lost. Take the single total order of seq_cst operations:
 * - If R's exchange comes before step 1's store, then B (before R) comes
 *   before step 2's load of the idle state, which therefore sees busy: the
 *   heartbeat keeps ticking.
 * - If R comes after step 1 but before step 4's load, step 4 sees TICKING
 *   and re-arms the periodic timer after its own step 3 (whatever order
 *   R's arming and step 3 took place in, the last word is "periodic").
 * - If R comes after step 4's load, it reads TICKLESS (nobody else writes
 *   TICKING meanwhile: the heartbeat is asleep) and arms periodic itself,
 *   after step 3 was done (step 3 precedes step 4, which precedes R).
 * Either way the timer ends up periodic and the sleeping heartbeat wakes
 * within one period. Two armings of periodic only shift its phase.
 *
 * hb_stop() uses the same pattern with [stop]: it stores stop = 1, then
 * arms the timer to expire at once; the heartbeat loads [stop] after its
 * last timer change and before each sleep, so either it sees the flag, or
 * the expire-now arming comes after its change and wakes it.
 */
enum { TICKING, TICKLESS };

struct hb {
	struct hb_config cfg;
	uint64_t period_ns;
	struct hb_waiter w; /* the timerfd and the backend waiting on it */
	int periodic; /* heartbeat thread: its last timer action left it periodic */
	_Atomic uint32_t state;
	_Atomic uint32_t stop;
	_Atomic uint32_t started; /* 0 pending, 1 running, 2 failed (start_err) */
	int start_err;
	_Atomic uint64_t wakeups;
	pthread_t thread;
	struct hb_client *client; /* non-NULL: a client of a shared heartbeat */
};

/* ---- timer ------------------------------------------------------------- */

static void arm_periodic(struct hb *hb)
{
	(void)kif_timerfd_periodic(hb->w.tfd, hb->period_ns);
}

/* ---- backends (shared with hb_group.c) ----------------------------------- */

void hb_waiter_choose(struct hb_waiter *w, int force_read, int no_multishot)
{
	struct kif_uring_caps caps;
	w->nchain = 0;
	if (!force_read && kif_uring_probe(&caps) == 0) {
		if (caps.read_multishot && !no_multishot)
			w->chain[w->nchain++] = &hb_uring_multishot_ops;
		w->chain[w->nchain++] = &hb_uring_ops;
	}
	w->chain[w->nchain++] = &hb_read_ops;
}

int hb_waiter_open(struct hb_waiter *w)
{
	int r = -ENODEV;
	while (w->next < w->nchain) {
		const struct hb_ops *ops = w->chain[w->next++];
		r = ops->create(&w->bk, w->tfd);
		if (r == 0) {
			w->live = 1;
			atomic_store_explicit(&w->ops, ops, memory_order_release);
			return 0;
		}
	}
	return r;
}

/* The backend failed while waiting: drop it for the next one. */
static int fall_back(struct hb_waiter *w, int err)
{
	const struct hb_ops *bad = atomic_load_explicit(&w->ops, memory_order_relaxed);
	bad->destroy(w->bk);
	w->live = 0;
	int r = hb_waiter_open(w);
	if (r < 0)
		fprintf(stderr, "baton: heartbeat: %s backend failed (%s), "
			"no backend left: heartbeat stopped\n", bad->name, strerror(-err));
	return r;
}

int64_t hb_waiter_wait(struct hb_waiter *w)
{
	const struct hb_ops *ops = atomic_load_explicit(&w->ops, memory_order_relaxed);
	int64_t n = ops->wait(w->bk);
	if (n == -EINTR)
		return 0;
	if (n < 0)
		return fall_back(w, (int)n) < 0 ? -1 : 0;
	return n;
}

void hb_waiter_close(struct hb_waiter *w)
{
	if (w->live)
		atomic_load_explicit(&w->ops, memory_order_relaxed)->destroy(w->bk);
	w->live = 0;
}

const char *hb_waiter_name(const struct hb_waiter *w)
{
	return atomic_load_explicit(&((struct hb_waiter *)w)->ops, memory_order_acquire)->name;
}

void hb_started(_Atomic uint32_t *started, uint32_t how)
{
	atomic_store(started, how);
	(void)kif_futex_wake(started, INT_MAX);
}

int hb_spawn(pthread_t *thread, void *(*fn)(void *), void *arg,
	     _Atomic uint32_t *started, const int *start_err)
{
	/* The thread starts with every signal blocked: signals are meant for
	 * the embedder's threads, and an EINTR per signal is useless here. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return e;
	uint32_t s;
	while ((s = atomic_load(started)) == 0)
		(void)kif_futex_wait(started, 0, -1);
	if (s == 2) {
		pthread_join(*thread, NULL);
		return *start_err;
	}
	return 0;
}

uint64_t hb_thread_cpu_ns(pthread_t thread)
{
	int64_t ns = kif_thread_cpu_ns(thread);
	return ns < 0 ? 0 : (uint64_t)ns;
}

/* ---- the loop ---------------------------------------------------------- */

/* Back to ticking. If the exchange reads TICKING while this thread's last
 * timer action was not "periodic", hb_resume() ran since and armed it. */
static void tick(struct hb *hb)
{
	if (atomic_exchange(&hb->state, TICKING) == TICKLESS && !hb->periodic)
		arm_periodic(hb);
	hb->periodic = 1;
}

/* Steps 1-4 of the protocol above. */
static void go_tickless(struct hb *hb, uint64_t deadline)
{
	atomic_store(&hb->state, TICKLESS);
	if (hb->cfg.still_idle && !hb->cfg.still_idle(hb->cfg.ud)) {
		tick(hb);
		return;
	}
	if (deadline == HB_NO_DEADLINE)
		(void)kif_timerfd_disarm(hb->w.tfd);
	else
		(void)kif_timerfd_oneshot_abs(hb->w.tfd, deadline);
	hb->periodic = 0;
	if (atomic_load(&hb->state) != TICKLESS) {
		arm_periodic(hb);
		hb->periodic = 1;
	}
}

static void run(struct hb *hb)
{
	while (!atomic_load(&hb->stop)) {
		int64_t n = hb_waiter_wait(&hb->w);
		if (n < 0)
			return;
		if (n == 0 || atomic_load(&hb->stop))
			continue;
		atomic_fetch_add_explicit(&hb->wakeups, 1, memory_order_relaxed);
		KIF_PROBE1(beat, (uint64_t)n);
		uint64_t next = hb->cfg.beat(hb->cfg.ud, kif_now_ns(), (uint64_t)n);
		if (next == HB_TICK)
			tick(hb);
		else
			go_tickless(hb, next);
	}
}

static void *hb_main(void *arg)
{
	struct hb *hb = arg;
	pthread_setname_np(pthread_self(), "baton-hb");
	/* The ring is created here: it belongs to the thread that waits on it. */
	int r = hb_waiter_open(&hb->w);
	if (r < 0) {
		hb->start_err = -r;
		hb_started(&hb->started, 2);
		return NULL;
	}
	arm_periodic(hb);
	hb->periodic = 1;
	hb_started(&hb->started, 1);
	run(hb);
	hb_waiter_close(&hb->w);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

struct hb *hb_start(const struct hb_config *cfg)
{
	unsigned hz = cfg && cfg->hz ? cfg->hz : 1000;
	if (!cfg || !cfg->beat || hz > 1000000000u) {
		errno = EINVAL;
		return NULL;
	}
	struct hb *hb = calloc(1, sizeof *hb);
	if (!hb)
		return NULL;
	hb->cfg = *cfg;
	hb->period_ns = 1000000000u / hz;
	hb->w.tfd = kif_timerfd_open(KIF_TFD_BLOCKING);
	int e = hb->w.tfd < 0 ? -hb->w.tfd : 0;
	if (!e) {
		hb_waiter_choose(&hb->w, cfg->force_read, cfg->no_multishot);
		e = hb_spawn(&hb->thread, hb_main, hb, &hb->started, &hb->start_err);
		if (e)
			kif_timerfd_close(hb->w.tfd);
	}
	if (e) {
		free(hb);
		errno = e;
		return NULL;
	}
	return hb;
}

struct hb *hb_start_shared(struct hb_group *g, const struct hb_config *cfg)
{
	if (!g)
		return hb_start(cfg);
	struct hb *hb = calloc(1, sizeof *hb);
	if (!hb)
		return NULL;
	hb->client = hbg_join(g, cfg, hb);
	if (!hb->client) {
		int e = errno;
		free(hb);
		errno = e;
		return NULL;
	}
	return hb;
}

void hb_stop(struct hb *hb)
{
	if (!hb)
		return;
	if (hb->client) {
		hbg_leave(hb->client);
		free(hb);
		return;
	}
	atomic_store(&hb->stop, 1);
	(void)kif_timerfd_oneshot_abs(hb->w.tfd, 0); /* expire at once */
	pthread_join(hb->thread, NULL);
	kif_timerfd_close(hb->w.tfd);
	free(hb);
}

void hb_resume(struct hb *hb)
{
	if (hb->client) {
		hbg_resume(hb->client);
		return;
	}
	if (atomic_exchange(&hb->state, TICKING) == TICKLESS)
		arm_periodic(hb);
}

void hb_recheck_at(struct hb *hb, uint64_t at_ns)
{
	if (hb->client) {
		hbg_recheck_at(hb->client, at_ns);
		return;
	}
	/* Periodic, re-phased: the tick() that follows beat()'s HB_TICK must
	 * not re-arm it. On the heartbeat thread, so no race with tick(). */
	(void)kif_timerfd_periodic_from(hb->w.tfd, at_ns, hb->period_ns);
	hb->periodic = 1;
}

const char *hb_backend(const struct hb *hb)
{
	if (hb->client)
		return hbg_backend(hb->client);
	return hb_waiter_name(&hb->w);
}

uint64_t hb_wakeups(const struct hb *hb)
{
	if (hb->client)
		return hbg_wakeups(hb->client);
	return atomic_load_explicit(&((struct hb *)hb)->wakeups, memory_order_relaxed);
}

uint64_t hb_cpu_ns(const struct hb *hb)
{
	if (hb->client)
		return hbg_cpu_ns(hb->client);
	return hb_thread_cpu_ns(hb->thread);
}
