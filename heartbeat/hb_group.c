// SPDX-License-Identifier: MIT
/*
 * hb_group.c: the shared heartbeat: one thread ("baton-hbg") and one
 * timerfd for a group of clients, each with its own tickless state,
 * deadline and re-check.
 *
 * Owns the group's client list, its timer plan and the group-level
 * tickless word. Like hb.c it knows the VMs only through each client's
 * struct hb_config callbacks. See Documentation/core/heartbeat.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "heartbeat/hb.h"
#include "heartbeat/hb_backend.h"
#include "kernel-iface/clock.h"
#include "kernel-iface/probes.h"
#include "kernel-iface/timerfd.h"

/*
 * Two levels of the tickless protocol of hb.c, all accesses seq_cst.
 *
 * Client level. A client's [state] is TICKING or TICKLESS. When its beat()
 * asks for a deadline, the thread stores TICKLESS, asks still_idle() and
 * stores TICKING back if busy (hb.c's steps 1-2); the timer is not the
 * client's to arm, so that is all. hb_resume() exchanges TICKING in and,
 * only if it read TICKLESS, resumes the group (below). A thread that sees
 * a TICKLESS-turned-TICKING client beats it at its next wake-up.
 *
 * Group level, the same four steps as hb.c with "some client is TICKING"
 * in place of "the VM is busy". When no client ticks, the thread:
 *   1. gstate = TICKLESS
 *   2. if some client's state is TICKING (resumed since it was looked at):
 *      exchange(gstate, TICKING), keep ticking
 *   3. arm the one-shot earliest deadline, or disarm
 *   4. if (gstate != TICKLESS) arm periodic
 *   5. sleep
 * hb_resume(c): B. if (exchange(c.state, TICKING) == TICKLESS)
 *               R.   if (exchange(gstate, TICKING) == TICKLESS) arm periodic
 * B comes before R, so the proof in hb.c applies as is: R before step 1
 * means step 2 sees B; R between 1 and 4 means step 4 sees it; R after 4
 * arms after step 3. If R reads TICKING, the thread is awake or ticking and
 * reads B at its next look (before any later step 1's store, or at step 2).
 *
 * Timer plan. While some client ticks, the timer is periodic in the group's
 * phase (tick_next, tick_next + period...) and the thread beats every
 * ticking client at each of those expirations; a client's re-check (or a
 * tickless client's deadline) that falls before the next tick re-phases the
 * timer to it, and the following plan re-phases it back. The thread tracks
 * when its timer next expires (tnext) so that, in the common case, a
 * wake-up costs no timer system call. A resumer arms the timer itself (R);
 * the thread learns of it from the exchange or from waking before tnext,
 * and re-arms.
 */
enum { TICKING, TICKLESS };
enum { T_UNKNOWN, T_PERIODIC, T_ONESHOT, T_OFF };

struct hb_client {
	struct hb_group *g;
	struct hb_config cfg;
	struct hb *owner;
	struct hb_client *next; /* the group's list, under g->lock */
	_Atomic uint32_t state;
	/* group thread only (or under g->lock before the client is listed): */
	int gone;       /* the thread's view: tickless (state may be TICKING again) */
	uint64_t dl;    /* gone: its deadline, or HB_NO_DEADLINE */
	uint64_t rc;    /* a re-check asked for, 0: none */
	uint64_t seen;  /* group ticks at its last beat */
};

struct hb_group {
	uint64_t period_ns;
	unsigned hz;
	struct hb_waiter w;
	pthread_mutex_t lock; /* the client list; held while beating */
	struct hb_client *clients;
	_Atomic unsigned nclients;
	_Atomic uint32_t gstate;
	_Atomic uint32_t stop;
	_Atomic uint32_t started;
	int start_err;
	_Atomic uint64_t wakeups;
	pthread_t thread;
	/* thread only: */
	uint64_t tick_next; /* the next group tick, 0: the group does not tick */
	uint64_t ticks;     /* group ticks so far */
	uint64_t tnext;     /* when the timer next expires, as last armed */
	int tmode;          /* T_*: what the thread last made of the timer */
	int gtl;            /* it last went to sleep group-tickless */
};

/* ---- the thread -------------------------------------------------------- */

static void arm_periodic_from(struct hb_group *g, uint64_t at)
{
	(void)kif_timerfd_periodic_from(g->w.tfd, at, g->period_ns);
	g->tmode = T_PERIODIC;
	g->tnext = at;
}

/* What the timer did, given that the thread woke at [now]. */
static void timer_woke(struct hb_group *g, uint64_t now)
{
	if (g->tmode == T_PERIODIC) {
		if (now < g->tnext) {
			g->tmode = T_UNKNOWN; /* re-armed by a resumer */
			return;
		}
		uint64_t n = (now - g->tnext) / g->period_ns + 1;
		g->tnext += n * g->period_ns;
	} else if (g->tmode == T_ONESHOT) {
		g->tmode = now < g->tnext ? T_UNKNOWN : T_OFF;
	} else if (g->tmode == T_OFF) {
		g->tmode = T_UNKNOWN;
	}
}

static void beat_client(struct hb_group *g, struct hb_client *c, uint64_t now)
{
	uint64_t exp = 1;
	if (!c->gone && g->ticks > c->seen)
		exp = g->ticks - c->seen;
	c->seen = g->ticks;
	c->rc = 0;
	c->gone = 0;
	uint64_t next = c->cfg.beat(c->cfg.ud, now, exp);
	if (next == HB_TICK) {
		atomic_store(&c->state, TICKING);
		return;
	}
	atomic_store(&c->state, TICKLESS);
	if (c->cfg.still_idle && !c->cfg.still_idle(c->cfg.ud)) {
		atomic_store(&c->state, TICKING);
		return;
	}
	c->rc = 0; /* a deadline replaces a re-check */
	c->gone = 1;
	c->dl = next;
}

/* Beats every client that is due at [now]. */
static void serve(struct hb_group *g, uint64_t now)
{
	int tick = 0;
	if (g->tick_next && now >= g->tick_next) {
		uint64_t n = (now - g->tick_next) / g->period_ns + 1;
		g->ticks += n;
		g->tick_next += n * g->period_ns;
		tick = 1;
	}
	for (struct hb_client *c = g->clients; c; c = c->next) {
		int due;
		if (c->gone)
			due = atomic_load(&c->state) == TICKING || now >= c->dl;
		else
			due = tick || (c->rc && now >= c->rc);
		if (due)
			beat_client(g, c, now);
	}
}

/* Arms the timer for what the clients now need (the protocol above). */
static void plan(struct hb_group *g, uint64_t now)
{
	int any = 0, was_tickless = g->gtl;
	uint64_t want = UINT64_MAX;
	for (struct hb_client *c = g->clients; c; c = c->next) {
		if (!c->gone)
			any = 1;
		else if (c->dl < want)
			want = c->dl;
		if (c->rc && c->rc < want)
			want = c->rc;
	}
	if (!any) {
		g->tick_next = 0;
		was_tickless = 1;
		atomic_store(&g->gstate, TICKLESS); /* 1 */
		for (struct hb_client *c = g->clients; c && !any; c = c->next)
			any = c->gone && atomic_load(&c->state) == TICKING; /* 2 */
		if (!any) {
			if (want == UINT64_MAX) { /* 3 */
				(void)kif_timerfd_disarm(g->w.tfd);
				g->tmode = T_OFF;
			} else {
				(void)kif_timerfd_oneshot_abs(g->w.tfd, want);
				g->tmode = T_ONESHOT;
				g->tnext = want;
			}
			g->gtl = 1;
			if (atomic_load(&g->gstate) != TICKLESS) /* 4 */
				arm_periodic_from(g, now + g->period_ns);
			return;
		}
	}
	if (was_tickless) {
		g->gtl = 0;
		if (atomic_exchange(&g->gstate, TICKING) == TICKING)
			g->tmode = T_UNKNOWN; /* a resumer armed it, or is about to */
	}
	if (!g->tick_next)
		g->tick_next = now + g->period_ns;
	if (g->tick_next < want)
		want = g->tick_next;
	if (g->tmode != T_PERIODIC || g->tnext != want)
		arm_periodic_from(g, want);
}

static void run(struct hb_group *g)
{
	while (!atomic_load(&g->stop)) {
		int64_t n = hb_waiter_wait(&g->w);
		if (n < 0)
			return;
		if (n == 0 || atomic_load(&g->stop))
			continue;
		atomic_fetch_add_explicit(&g->wakeups, 1, memory_order_relaxed);
		KIF_PROBE1(beat, (uint64_t)n);
		uint64_t now = kif_now_ns();
		pthread_mutex_lock(&g->lock);
		timer_woke(g, now);
		serve(g, now);
		plan(g, now);
		pthread_mutex_unlock(&g->lock);
	}
}

static void *group_main(void *arg)
{
	struct hb_group *g = arg;
	pthread_setname_np(pthread_self(), "baton-hbg");
	int r = hb_waiter_open(&g->w);
	if (r < 0) {
		g->start_err = -r;
		hb_started(&g->started, 2);
		return NULL;
	}
	/* No client yet: tickless, the timer disarmed as created. */
	atomic_store(&g->gstate, TICKLESS);
	g->gtl = 1;
	g->tmode = T_OFF;
	hb_started(&g->started, 1);
	run(g);
	hb_waiter_close(&g->w);
	return NULL;
}

/* ---- public ------------------------------------------------------------ */

struct hb_group *hb_group_new(const struct hb_config *cfg)
{
	unsigned hz = cfg && cfg->hz ? cfg->hz : 1000;
	if (!cfg || hz > 1000000000u) {
		errno = EINVAL;
		return NULL;
	}
	struct hb_group *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->hz = hz;
	g->period_ns = 1000000000u / hz;
	int e = pthread_mutex_init(&g->lock, NULL);
	if (e) {
		free(g);
		errno = e;
		return NULL;
	}
	g->w.tfd = kif_timerfd_open(KIF_TFD_BLOCKING);
	e = g->w.tfd < 0 ? -g->w.tfd : 0;
	if (!e) {
		hb_waiter_choose(&g->w, cfg->force_read, cfg->no_multishot);
		e = hb_spawn(&g->thread, group_main, g, &g->started, &g->start_err);
		if (e)
			kif_timerfd_close(g->w.tfd);
	}
	if (e) {
		pthread_mutex_destroy(&g->lock);
		free(g);
		errno = e;
		return NULL;
	}
	return g;
}

int hb_group_free(struct hb_group *g)
{
	if (!g)
		return 0;
	if (atomic_load(&g->nclients))
		return -EBUSY;
	atomic_store(&g->stop, 1);
	(void)kif_timerfd_oneshot_abs(g->w.tfd, 0); /* expire at once */
	pthread_join(g->thread, NULL);
	kif_timerfd_close(g->w.tfd);
	pthread_mutex_destroy(&g->lock);
	free(g);
	return 0;
}

unsigned hb_group_clients(const struct hb_group *g)
{
	return atomic_load(&((struct hb_group *)g)->nclients);
}

/* Step R of the protocol: the group may sleep group-tickless. */
static void resume_group(struct hb_group *g)
{
	if (atomic_exchange(&g->gstate, TICKING) == TICKLESS)
		(void)kif_timerfd_periodic(g->w.tfd, g->period_ns);
}

struct hb_client *hbg_join(struct hb_group *g, const struct hb_config *cfg, struct hb *owner)
{
	if (!cfg || !cfg->beat || (cfg->hz && cfg->hz != g->hz)) {
		errno = EINVAL;
		return NULL;
	}
	struct hb_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->g = g;
	c->cfg = *cfg;
	c->owner = owner;
	/* Listed as gone with state TICKING: the thread takes it as resumed,
	 * so its first beat comes within one period, as with hb_start(). */
	c->gone = 1;
	c->dl = HB_NO_DEADLINE;
	atomic_store(&c->state, TICKING);
	pthread_mutex_lock(&g->lock);
	c->next = g->clients;
	g->clients = c;
	atomic_fetch_add(&g->nclients, 1);
	pthread_mutex_unlock(&g->lock);
	resume_group(g);
	return c;
}

void hbg_leave(struct hb_client *c)
{
	struct hb_group *g = c->g;
	pthread_mutex_lock(&g->lock); /* waits for a beat() of [c] in progress */
	for (struct hb_client **p = &g->clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	atomic_fetch_sub(&g->nclients, 1);
	pthread_mutex_unlock(&g->lock);
	free(c);
}

void hbg_resume(struct hb_client *c)
{
	if (atomic_exchange(&c->state, TICKING) == TICKLESS)
		resume_group(c->g);
}

void hbg_recheck_at(struct hb_client *c, uint64_t at_ns)
{
	c->rc = at_ns ? at_ns : 1;
}

const char *hbg_backend(const struct hb_client *c)
{
	return hb_waiter_name(&c->g->w);
}

uint64_t hbg_wakeups(const struct hb_client *c)
{
	return atomic_load_explicit(&c->g->wakeups, memory_order_relaxed);
}

uint64_t hbg_cpu_ns(const struct hb_client *c)
{
	return hb_thread_cpu_ns(c->g->thread);
}
