// SPDX-License-Identifier: MIT
/*
 * hb.h: the heartbeat, a thread that wakes at a fixed rate (or only at a
 * deadline, when told the VM is idle) and calls back into the VM.
 *
 * The VM's (vm/) only view of the heartbeat. The heartbeat knows nothing of
 * ownership: it reaches the VM only through the callbacks given here.
 * See Documentation/core/heartbeat.md.
 */
#ifndef HB_H
#define HB_H

#include <stdint.h>

struct hb;
struct hb_group;

#define HB_TICK UINT64_C(0)       /* beat() return: keep ticking periodically */
#define HB_NO_DEADLINE UINT64_MAX /* beat() return: go tickless, no deadline */

struct hb_config {
	unsigned hz;      /* beats per second; 0: 1000 */
	int force_read;   /* 1: the plain read() backend even if io_uring works */
	int no_multishot; /* 1: io_uring with single-shot reads (tests, bench) */
	/* Called on the heartbeat thread for each wake-up (periodic
	 * expirations, or the tickless deadline), with CLOCK_MONOTONIC now and
	 * the timer expirations since the last call (>= 1). Returns HB_TICK
	 * to keep ticking, or an absolute CLOCK_MONOTONIC deadline (or
	 * HB_NO_DEADLINE) to go tickless: no wake-up before that deadline
	 * unless hb_resume() is called. */
	uint64_t (*beat)(void *ud, uint64_t now_ns, uint64_t expirations);
	/* Called on the heartbeat thread after it has published "tickless"
	 * and before it sleeps: is the VM still idle? If not (0), the
	 * heartbeat goes on ticking. NULL: always idle. Must read the VM's
	 * idle state with a seq_cst load (see hb.c for why). */
	int (*still_idle)(void *ud);
	void *ud;
};

/* Starts the heartbeat thread ("baton-hb"), ticking. NULL and errno on
 * failure (EINVAL: bad config; else from timerfd or pthread_create). */
struct hb *hb_start(const struct hb_config *cfg);
/* Wakes and joins the thread (ticking or tickless), frees. NULL: no-op. */
void hb_stop(struct hb *hb);
/* Any thread, after making the VM busy with a seq_cst store or RMW: one
 * atomic exchange when ticking; when tickless, re-arms the periodic timer
 * so that beats resume within one period. */
void hb_resume(struct hb *hb);
/* Heartbeat thread only, from beat() before it returns HB_TICK: one extra
 * wake-up at CLOCK_MONOTONIC [at_ns] (at once if past), then periodic beats
 * again every period after it (the phase moves to [at_ns]). Returning a
 * deadline from beat() instead cancels it. */
void hb_recheck_at(struct hb *hb, uint64_t at_ns);
/*
 * A shared heartbeat: one thread ("baton-hbg") serving several clients, each
 * a struct hb with its own tickless state, deadline and re-checks. The
 * thread ticks while any client ticks (at the group's rate, in one phase),
 * and otherwise sleeps until the earliest client deadline.
 * hb_group_new() reads hz, force_read and no_multishot of [cfg] (beat and
 * the rest are ignored); NULL and errno on failure.
 */
struct hb_group *hb_group_new(const struct hb_config *cfg);
/* Stops the thread and frees. Every client must have left (hb_stop):
 * -EBUSY otherwise, and nothing is done. NULL: 0. */
int hb_group_free(struct hb_group *g);
/* Clients attached now. */
unsigned hb_group_clients(const struct hb_group *g);
/* Attaches a client to [g] (NULL: hb_start(cfg)), ticking. cfg->hz must be
 * 0 or the group's (EINVAL), force_read and no_multishot are the group's.
 * hb_stop() detaches it: when it returns, no beat() call of this client
 * runs or will run. hb_resume() and hb_recheck_at() act on this client
 * alone (a re-check is one extra beat() of this client; its later beats
 * stay in the group's phase). hb_backend(), hb_wakeups() and hb_cpu_ns()
 * describe the group's thread (shared by all its clients). */
struct hb *hb_start_shared(struct hb_group *g, const struct hb_config *cfg);

/* "io_uring-multishot", "io_uring" or "read". */
const char *hb_backend(const struct hb *hb);
/* Times the heartbeat thread woke up (each beat() call). */
uint64_t hb_wakeups(const struct hb *hb);
/* CPU time consumed by the heartbeat thread so far, in nanoseconds. */
uint64_t hb_cpu_ns(const struct hb *hb);

#endif /* HB_H */
