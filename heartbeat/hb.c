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

#define MAX_CHAIN 3

struct hb {
	struct hb_config cfg;
	uint64_t period_ns;
	int tfd;
	_Atomic(const struct hb_ops *) ops; /* current backend, read by hb_backend() */
	void *bk;                           /* its state; heartbeat thread only */
	int live;                           /* bk is open */
	int periodic; /* heartbeat thread: its last timer action left it periodic */
	const struct hb_ops *chain[MAX_CHAIN]; /* backends to try, best first */
	unsigned nchain, next;                 /* next: index of the next to try */
	_Atomic uint32_t state;
	_Atomic uint32_t stop;
	_Atomic uint32_t started; /* 0 pending, 1 running, 2 failed (start_err) */
	int start_err;
	_Atomic uint64_t wakeups;
	pthread_t thread;
};

/* ---- timer ------------------------------------------------------------- */

static void arm_periodic(struct hb *hb)
{
	(void)kif_timerfd_periodic(hb->tfd, hb->period_ns);
}

/* ---- backends ---------------------------------------------------------- */

static void choose_chain(struct hb *hb)
{
	struct kif_uring_caps caps;
	hb->nchain = 0;
	if (!hb->cfg.force_read && kif_uring_probe(&caps) == 0) {
		if (caps.read_multishot && !hb->cfg.no_multishot)
			hb->chain[hb->nchain++] = &hb_uring_multishot_ops;
		hb->chain[hb->nchain++] = &hb_uring_ops;
	}
	hb->chain[hb->nchain++] = &hb_read_ops;
}

/* On the heartbeat thread: the first backend from chain[next] that can be
 * created. 0, or the -errno of the last failure. */
static int open_backend(struct hb *hb)
{
	int r = -ENODEV;
	while (hb->next < hb->nchain) {
		const struct hb_ops *ops = hb->chain[hb->next++];
		r = ops->create(&hb->bk, hb->tfd);
		if (r == 0) {
			hb->live = 1;
			atomic_store_explicit(&hb->ops, ops, memory_order_release);
			return 0;
		}
	}
	return r;
}

/* The backend failed while waiting: drop it for the next one. */
static int fall_back(struct hb *hb, int err)
{
	const struct hb_ops *bad = atomic_load_explicit(&hb->ops, memory_order_relaxed);
	bad->destroy(hb->bk);
	hb->live = 0;
	int r = open_backend(hb);
	if (r < 0)
		fprintf(stderr, "baton: heartbeat: %s backend failed (%s), "
			"no backend left: heartbeat stopped\n", bad->name, strerror(-err));
	return r;
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
		(void)kif_timerfd_disarm(hb->tfd);
	else
		(void)kif_timerfd_oneshot_abs(hb->tfd, deadline);
	hb->periodic = 0;
	if (atomic_load(&hb->state) != TICKLESS) {
		arm_periodic(hb);
		hb->periodic = 1;
	}
}

static void run(struct hb *hb)
{
	while (!atomic_load(&hb->stop)) {
		const struct hb_ops *ops = atomic_load_explicit(&hb->ops, memory_order_relaxed);
		int64_t n = ops->wait(hb->bk);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			if (fall_back(hb, (int)n) < 0)
				return;
			continue;
		}
		if (atomic_load(&hb->stop))
			break;
		atomic_fetch_add_explicit(&hb->wakeups, 1, memory_order_relaxed);
		KIF_PROBE1(beat, (uint64_t)n);
		uint64_t next = hb->cfg.beat(hb->cfg.ud, kif_now_ns(), (uint64_t)n);
		if (next == HB_TICK)
			tick(hb);
		else
			go_tickless(hb, next);
	}
}

static void started(struct hb *hb, uint32_t how)
{
	atomic_store(&hb->started, how);
	(void)kif_futex_wake(&hb->started, INT_MAX);
}

static void *hb_main(void *arg)
{
	struct hb *hb = arg;
	pthread_setname_np(pthread_self(), "baton-hb");
	/* The ring is created here: it belongs to the thread that waits on it. */
	int r = open_backend(hb);
	if (r < 0) {
		hb->start_err = -r;
		started(hb, 2);
		return NULL;
	}
	arm_periodic(hb);
	hb->periodic = 1;
	started(hb, 1);
	run(hb);
	if (hb->live)
		atomic_load_explicit(&hb->ops, memory_order_relaxed)->destroy(hb->bk);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

static int spawn(struct hb *hb)
{
	/* The thread starts with every signal blocked: signals are meant for
	 * the embedder's threads, and an EINTR per signal is useless here. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&hb->thread, NULL, hb_main, hb);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		return e;
	uint32_t s;
	while ((s = atomic_load(&hb->started)) == 0)
		(void)kif_futex_wait(&hb->started, 0, -1);
	if (s == 2) {
		pthread_join(hb->thread, NULL);
		return hb->start_err;
	}
	return 0;
}

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
	hb->tfd = kif_timerfd_open(KIF_TFD_BLOCKING);
	int e = hb->tfd < 0 ? -hb->tfd : 0;
	if (!e) {
		choose_chain(hb);
		e = spawn(hb);
		if (e)
			kif_timerfd_close(hb->tfd);
	}
	if (e) {
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
	atomic_store(&hb->stop, 1);
	(void)kif_timerfd_oneshot_abs(hb->tfd, 0); /* expire at once */
	pthread_join(hb->thread, NULL);
	kif_timerfd_close(hb->tfd);
	free(hb);
}

void hb_resume(struct hb *hb)
{
	if (atomic_exchange(&hb->state, TICKING) == TICKLESS)
		arm_periodic(hb);
}

void hb_recheck_at(struct hb *hb, uint64_t at_ns)
{
	/* Periodic, re-phased: the tick() that follows beat()'s HB_TICK must
	 * not re-arm it. On the heartbeat thread, so no race with tick(). */
	(void)kif_timerfd_periodic_from(hb->tfd, at_ns, hb->period_ns);
	hb->periodic = 1;
}

const char *hb_backend(const struct hb *hb)
{
	return atomic_load_explicit(&((struct hb *)hb)->ops, memory_order_acquire)->name;
}

uint64_t hb_wakeups(const struct hb *hb)
{
	return atomic_load_explicit(&((struct hb *)hb)->wakeups, memory_order_relaxed);
}

uint64_t hb_cpu_ns(const struct hb *hb)
{
	int64_t ns = kif_thread_cpu_ns(hb->thread);
	return ns < 0 ? 0 : (uint64_t)ns;
}
