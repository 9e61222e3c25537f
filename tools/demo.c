// SPDX-License-Identifier: MIT
/*
 * tools/demo.c: the ownership core at work, one line per ownership event.
 *
 * Green tasks share one VM: one computes, two make 50 ms blocking callouts
 * (one of them hinted as known-blocking), one sleeps on a VM timer. The
 * heartbeat notices the blocked callouts and another OS thread takes over,
 * so the computing task keeps advancing. Ends with the core's counters.
 * `make run` runs this until the Smalltalk VM takes over that role.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "baton.h"
#include "tools/lib/sim.h"

struct info {
	const char *name;
	unsigned us; /* callout length */
};

static uint64_t t0;

static unsigned fixed(struct sim_task *k)
{
	return ((struct info *)k->ud)->us;
}

static const char *name_of(struct sim_task *k)
{
	return k ? ((struct info *)k->ud)->name : "-";
}

static void show(struct sim *s, enum sim_event ev, baton_thread *t, struct sim_task *k)
{
	(void)s;
	double ms = (double)(baton_now_ns() - t0) / 1e6;
	unsigned me = baton_thread_index(t);
	switch (ev) {
	case SIM_THREAD_START:
		printf("%8.3f ms  thread %u (tid %d) created for the VM, runs the scheduler\n", ms, me,
		       gettid());
		break;
	case SIM_SAVE:
		printf("%8.3f ms  thread %u takes the VM: %s, stuck in a callout on thread %u, saved\n",
		       ms, baton_owner(s->vm), name_of(k), me);
		break;
	case SIM_RESTORE:
		printf("%8.3f ms  thread %u owns the VM again: %s restored\n", ms, me, name_of(k));
		break;
	case SIM_CALLOUT_BEGIN:
		if (fixed(k))
			printf("%8.3f ms  thread %u: %s disowns the VM for a %u ms callout%s\n", ms, me,
			       name_of(k), fixed(k) / 1000,
			       k->flags & BATON_BLOCKING ? " (known-blocking)" : "");
		break;
	case SIM_CALLOUT_END:
		if (fixed(k))
			printf("%8.3f ms  thread %u: %s back from its callout, owns the VM\n", ms, me,
			       name_of(k));
		break;
	case SIM_TIMER:
		printf("%8.3f ms  thread %u: timer fires, %s runnable\n", ms, me, name_of(k));
		break;
	case SIM_FINISH:
		printf("%8.3f ms  thread %u: %s finished (%u callouts)\n", ms, me, name_of(k), k->done);
		break;
	}
}

int main(void)
{
	static struct info compute = { "compute", 0 }, io1 = { "io-1", 50000 },
			   io2 = { "io-2", 50000 }, timer = { "timer", 0 };
	struct sim_task k[] = {
		{ .prio = 30, .ops = 200000, .work = 20, .callout_us = fixed, .ud = &compute },
		{ .prio = 40, .ops = 2, .callout_us = fixed, .ud = &io1 },
		{ .prio = 40, .ops = 1, .callout_us = fixed, .flags = BATON_BLOCKING, .ud = &io2 },
		{ .prio = 60, .ops = 0, .delay_ms = 30, .callout_us = fixed, .ud = &timer },
	};
	struct sim s = { .log = show };
	struct baton_config cfg = { .heartbeat_hz = 1000, .max_threads = 8 };
	if (sim_init(&s, &cfg)) {
		perror("demo: baton_vm_new");
		return 1;
	}
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
		sim_add(&s, &k[i]);
	t0 = baton_now_ns();
	printf("Baton ownership demo: 4 green tasks on one VM, heartbeat at 1 kHz\n");
	if (sim_run(&s)) {
		fprintf(stderr, "demo: mutual exclusion violated!\n");
		return 1;
	}
	struct baton_stats st;
	baton_get_stats(s.vm, &st);
	printf("\ncounters: %llu callouts (%llu fast, %llu slow), %llu blocked detected, "
	       "%llu hinted, %llu handoffs,\n          %llu activations, %llu threads created "
	       "(peak %u), %llu beats, %llu heartbeat wake-ups, backend %s\n",
	       (unsigned long long)st.disowns, (unsigned long long)st.owns_fast,
	       (unsigned long long)st.owns_slow, (unsigned long long)st.blocked,
	       (unsigned long long)st.blocking_hints, (unsigned long long)st.handoffs,
	       (unsigned long long)st.activations, (unsigned long long)st.creations,
	       st.threads_peak, (unsigned long long)st.beats,
	       (unsigned long long)st.hb_wakeups, st.hb_backend);
	sim_fini(&s);
	return 0;
}
