// SPDX-License-Identifier: MIT
/*
 * hb_shared_vm.c: two VM cores (baton_vm) on one shared heartbeat
 * (baton_config.heartbeat): each notices its own blocked callout and hands
 * its VM on while the other keeps running; one heartbeat thread for both.
 *
 * The same scenario as selftests/ownership/blocked.c, run in two VMs at
 * once, each on its own thread. See Documentation/core/heartbeat.md.
 */
#include <errno.h>

#include "selftests/harness.h"
#include "selftests/kernel-iface/t_proc.h"
#include "selftests/ownership/common.h"

enum { EV_MAX = 64 };

struct one {
	struct sim s;
	struct sim_task *finish[EV_MAX];
	int nfinish;
	struct sim_task sleeper, workers[3];
	baton_heartbeat *hb;
	unsigned flags;
	int rc;
	struct baton_stats st;
	char why[200];
	int check;
	unsigned hb_threads; /* baton-hb threads seen while running */
};

static void on_event(struct sim *s, enum sim_event ev, baton_thread *t, struct sim_task *k)
{
	(void)t;
	struct one *o = s->ud;
	if (ev == SIM_FINISH && o->nfinish < EV_MAX)
		o->finish[o->nfinish++] = k;
}

static void *run_one(void *arg)
{
	struct one *o = arg;
	o->s.log = on_event;
	o->s.ud = o;
	struct baton_config cfg = { .heartbeat = o->hb };
	o->rc = sim_init(&o->s, &cfg);
	if (o->rc)
		return NULL;
	o->sleeper = (struct sim_task){ .prio = 40, .ops = 1, .flags = o->flags,
					.callout_us = t_fixed_us,
					.ud = (void *)(uintptr_t)50000 };
	sim_add(&o->s, &o->sleeper);
	for (int i = 0; i < 3; i++) {
		o->workers[i] = (struct sim_task){ .prio = 40, .ops = 2000, .work = 3 };
		sim_add(&o->s, &o->workers[i]);
	}
	o->hb_threads = t_find_thread("baton-hb") > 0;
	o->rc = t_sim_run(&o->s, 20);
	o->check = baton_check(o->s.vm, o->s.main, o->why, sizeof o->why);
	baton_get_stats(o->s.vm, &o->st);
	sim_fini(&o->s);
	return NULL;
}

/* run_one() in two VMs at once, on [hb], each on a thread of its own;
 * answers once both have finished (-1 if a thread could not start). */
static int run_two(baton_heartbeat *hb, struct one o[2])
{
	pthread_t th[2];
	int n = 0;
	for (; n < 2; n++) {
		o[n].hb = hb;
		if (pthread_create(&th[n], NULL, run_one, &o[n]))
			break;
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return n == 2 ? 0 : -1;
}

TEST(two_vms_on_one_heartbeat_each_detect_their_blocked_callout)
{
	baton_heartbeat *hb = baton_heartbeat_new(1000, BATON_URING_AUTO);
	ASSERT_NE_NULL(hb);
	static struct one o[2];
	ASSERT_EQ(0, run_two(hb, o));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, o[i].rc);
		ASSERT_EQ(0, o[i].check) TH_LOG("invariant: %s", o[i].why);
		/* The workers ran while the sleeper was blocked. */
		ASSERT_EQ(4, o[i].nfinish);
		EXPECT_TRUE(o[i].finish[3] == &o[i].sleeper);
		EXPECT_GE(o[i].st.blocked, 1u);
		EXPECT_GE(o[i].s.saves, 1u);
		EXPECT_GE(o[i].s.restores, 1u);
		EXPECT_EQ(0u, o[i].st.blocking_hints);
		EXPECT_EQ(0u, o[i].s.violations);
		EXPECT_EQ(3u * 3 * 2001, o[i].s.counter);
		/* No heartbeat thread of its own. */
		EXPECT_EQ(0u, o[i].hb_threads);
	}
	/* Both VMs freed: the shared heartbeat has no client left. */
	ASSERT_EQ(0, baton_heartbeat_free(hb));
}

TEST(without_the_shared_beat_nothing_runs_during_a_block)
{
	/* The control: a shared beat too slow to notice (1 Hz, and the
	 * sleeper's 50 ms callout far shorter): the workers cannot run
	 * until the sleeper returns, in both VMs. */
	baton_heartbeat *hb = baton_heartbeat_new(1, BATON_URING_AUTO);
	ASSERT_NE_NULL(hb);
	static struct one o[2];
	ASSERT_EQ(0, run_two(hb, o));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, o[i].rc);
		ASSERT_EQ(4, o[i].nfinish);
		EXPECT_TRUE(o[i].finish[0] == &o[i].sleeper);
		EXPECT_EQ(0u, o[i].st.blocked);
	}
	ASSERT_EQ(0, baton_heartbeat_free(hb));
}

TEST(config_checks)
{
	baton_heartbeat *hb = baton_heartbeat_new(500, BATON_URING_AUTO);
	ASSERT_NE_NULL(hb);
	struct baton_config cfg = { .heartbeat = hb, .heartbeat_hz = 1000 };
	errno = 0;
	ASSERT_NULL(baton_vm_new(&cfg));
	ASSERT_EQ(EINVAL, errno);
	cfg.heartbeat_hz = 0; /* the shared one's */
	baton_vm *v = baton_vm_new(&cfg);
	ASSERT_NE_NULL(v);
	ASSERT_EQ(-EBUSY, baton_heartbeat_free(hb));
	baton_thread *vt = baton_enter(v);
	ASSERT_NE_NULL(vt);
	baton_vm_free(v, vt);
	ASSERT_EQ(0, baton_heartbeat_free(hb));
	ASSERT_EQ(0, baton_heartbeat_free(NULL));
	/* The process's one: the same each time. */
	baton_heartbeat *p = baton_heartbeat_process();
	ASSERT_NE_NULL(p);
	ASSERT_TRUE(p == baton_heartbeat_process());
	struct baton_config pc = { .heartbeat = p };
	baton_vm *vm = baton_vm_new(&pc);
	ASSERT_NE_NULL(vm);
	baton_thread *t = baton_enter(vm);
	ASSERT_NE_NULL(t);
	baton_vm_free(vm, t);
	ASSERT_EQ(-EPERM, baton_heartbeat_free(p));
}

TEST_HARNESS_MAIN
