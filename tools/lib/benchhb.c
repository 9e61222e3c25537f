// SPDX-License-Identifier: MIT
/*
 * tools/lib/benchhb.c: `make bench` part "hb": one heartbeat thread per
 * VM core (per head) against one shared by all (baton_config.heartbeat),
 * for 1, 4 and 16 idle cores and 4 busy ones: heartbeat threads, RSS per
 * core, heartbeat wake-ups per second, heartbeat CPU, and the time from a
 * blocked callout's start to its takeover.
 *
 * A "head" here is a baton_vm core, what a Hydra head gets from
 * baton_vm_new(): the heartbeat's cost is the core's, not the heap's.
 * Idle: created, never entered (free, nothing installed: tickless). Busy:
 * owned by a thread that keeps it (ticking at 1 kHz). Every figure is the
 * median of REPS runs, the two modes alternating so that both see the same
 * load. See Documentation/core/heartbeat.md.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/wait.h>
#include <unistd.h>

#include "baton.h"
#include "tools/lib/bench.h"
#include "tools/lib/procfs.h"
#include "tools/lib/sim.h"
#include "vm/hydra/api.h"

#define REPS 5
#define MAXV 16

struct hb_m {
	double threads, rss_kb, wakeups_s, cpu_pct, detect_us;
};

/* Threads of this process named baton-hb or baton-hbg. */
static int hb_threads(void)
{
	return procfs_count_threads("baton-hb") + procfs_count_threads("baton-hbg");
}

static long rss_kb(void)
{
	return (long)procfs_status_field("/proc/self/status", "VmRSS");
}

/* The heartbeat counters of [n] cores: one thread each, or one for all. */
static void hb_sum(baton_vm **vm, int n, int shared, uint64_t *wk, uint64_t *cpu)
{
	*wk = *cpu = 0;
	for (int i = 0; i < (shared ? 1 : n); i++) {
		struct baton_stats s;
		baton_get_stats(vm[i], &s);
		*wk += s.hb_wakeups;
		*cpu += s.hb_cpu_ns;
	}
}

/* [n] cores, idle or busy, for [secs]. */
static struct hb_m run_cores(int n, int shared, int busy, double secs)
{
	struct hb_m m = { 0 };
	baton_vm *vm[MAXV];
	baton_thread *t[MAXV];
	long r0 = rss_kb();
	baton_heartbeat *hb = shared ? baton_heartbeat_new(1000, BATON_URING_AUTO) : NULL;
	if (shared && !hb) {
		perror("bench: baton_heartbeat_new");
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		struct baton_config cfg = { .heartbeat = hb };
		vm[i] = baton_vm_new(&cfg);
		if (!vm[i]) {
			perror("bench: baton_vm_new");
			exit(1);
		}
		t[i] = busy ? baton_enter(vm[i]) : NULL; /* owned and kept: busy */
	}
	m.rss_kb = (double)(rss_kb() - r0) / n;
	m.threads = hb_threads();
	bench_nap(0.05); /* idle cores go tickless at their first beat */
	uint64_t w0, c0, w1, c1;
	hb_sum(vm, n, shared, &w0, &c0);
	double t0 = bench_now_s();
	bench_nap(secs);
	hb_sum(vm, n, shared, &w1, &c1);
	double dt = bench_now_s() - t0;
	m.wakeups_s = (double)(w1 - w0) / dt;
	m.cpu_pct = 100.0 * (double)(c1 - c0) / 1e9 / dt;
	for (int i = 0; i < n; i++) {
		if (!t[i])
			t[i] = baton_enter(vm[i]);
		baton_vm_free(vm[i], t[i]);
	}
	baton_heartbeat_free(hb);
	return m;
}

/* ---- blocked callouts: start to takeover, 4 cores at once ---------------- */

#define BLOCKS 40

struct lat {
	struct sim s;
	struct sim_task sleeper, worker;
	baton_heartbeat *hb;
	uint64_t begin;
	double us[BLOCKS];
	int n;
};

static void lat_log(struct sim *s, enum sim_event ev, baton_thread *t, struct sim_task *k)
{
	(void)t;
	struct lat *l = s->ud;
	if (k != &l->sleeper)
		return;
	if (ev == SIM_FINISH)
		l->worker.ops = l->worker.done; /* stop at its next step */
	if (ev == SIM_CALLOUT_BEGIN)
		l->begin = baton_now_ns();
	else if (ev == SIM_SAVE && l->begin && l->n < BLOCKS)
		l->us[l->n++] = (double)(baton_now_ns() - l->begin) / 1000, l->begin = 0;
}

/* 5 to 6 ms: the callouts start at random phases of the beat (a fixed
 * length would lock the start of each callout to the beat's phase). */
static unsigned five_ms(struct sim_task *k)
{
	return 5000 + (unsigned)(sim_rand(&k->rng) % 1000);
}

/* A sleeper blocks 5-6 ms, BLOCKS times; a worker always has work. */
static void *lat_run(void *arg)
{
	struct lat *l = arg;
	l->s = (struct sim){ .log = lat_log, .ud = l };
	struct baton_config cfg = { .heartbeat = l->hb };
	if (sim_init(&l->s, &cfg)) {
		perror("bench: sim_init");
		exit(1);
	}
	l->sleeper = (struct sim_task){ .prio = 40, .ops = BLOCKS, .callout_us = five_ms,
					.rng = (uint64_t)(uintptr_t)l | 1 };
	l->worker = (struct sim_task){ .prio = 30, .ops = 1u << 30, .work = 1 };
	sim_add(&l->s, &l->sleeper);
	sim_add(&l->s, &l->worker);
	sim_run(&l->s);
	sim_fini(&l->s);
	return NULL;
}

static double detect_us(int n, int shared)
{
	static struct lat l[MAXV];
	pthread_t th[MAXV];
	double all[MAXV * BLOCKS];
	int k = 0;
	baton_heartbeat *hb = shared ? baton_heartbeat_new(1000, BATON_URING_AUTO) : NULL;
	for (int i = 0; i < n; i++) {
		memset(&l[i], 0, sizeof l[i]);
		l[i].hb = hb;
		pthread_create(&th[i], NULL, lat_run, &l[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		for (int j = 0; j < l[i].n; j++)
			all[k++] = l[i].us[j];
	}
	baton_heartbeat_free(hb);
	return k ? bench_percentile(all, k, 50) : -1;
}

/* ---- real heads (vm/hydra/api.h), BATON_HEARTBEAT=per-head or shared ------ */

/* Sums over this process's threads named [comm]: voluntary context
 * switches (each a wake-up from a sleep) and CPU time (schedstat, ns). */
static int task_sums(const char *comm, uint64_t *wk, uint64_t *cpu)
{
	struct procfs_task t;
	int n = 0;
	*wk = *cpu = 0;
	if (procfs_task_open(&t))
		return -1;
	while (procfs_task_next(&t)) {
		char path[300];
		if (strcmp(t.comm, comm))
			continue;
		n++;
		snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", t.tid);
		unsigned long long ns = 0;
		FILE *f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%llu", &ns) == 1)
				*cpu += ns;
			fclose(f);
		}
		snprintf(path, sizeof path, "/proc/self/task/%d/status", t.tid);
		long long v = procfs_status_field(path, "voluntary_ctxt_switches");
		if (v > 0)
			*wk += (uint64_t)v;
	}
	return n;
}

static char *idle_st, *busy_st;

static void drop_prog(char *path)
{
	if (path)
		unlink(path);
	free(path);
}

/* [n] heads (idle: waiting in VM receive; busy: a loop), then ended. */
static struct hb_m run_heads(int n, int shared, int busy, double secs)
{
	struct hb_m m = { 0 };
	const char *comm = shared ? "baton-hbg" : "baton-hb";
	baton_head *h[MAXV];
	setenv("BATON_HEARTBEAT", shared ? "shared" : "per-head", 1); /* no head runs now */
	long r0 = rss_kb();
	for (int i = 0; i < n; i++) {
		h[i] = baton_head_spawn(busy ? busy_st : idle_st, 0, NULL, NULL);
		if (!h[i]) {
			perror("bench: baton_head_spawn");
			exit(1);
		}
	}
	bench_nap(0.3); /* booted, and idle ones tickless */
	m.rss_kb = (double)(rss_kb() - r0) / n;
	uint64_t w0, c0, w1, c1;
	m.threads = task_sums(comm, &w0, &c0);
	double t0 = bench_now_s();
	bench_nap(secs);
	task_sums(comm, &w1, &c1);
	double dt = bench_now_s() - t0;
	m.wakeups_s = (double)(w1 - w0) / dt;
	m.cpu_pct = 100.0 * (double)(c1 - c0) / 1e9 / dt;
	for (int i = 0; i < n; i++) {
		baton_head_terminate(h[i]);
		baton_head_join(h[i], -1);
		baton_head_release(h[i]);
	}
	unsetenv("BATON_HEARTBEAT");
	return m;
}

/* run_heads() in a fresh child process, so that each run's RSS starts from
 * the same place (no heap of an earlier run to reuse). */
static struct hb_m run_heads_forked(int n, int shared, int busy, double secs)
{
	struct hb_m m = { -1, -1, -1, -1, -1 };
	int fd[2];
	if (pipe(fd) < 0)
		return m;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(fd[0]);
		struct hb_m r = run_heads(n, shared, busy, secs);
		ssize_t w = write(fd[1], &r, sizeof r);
		_exit(w == (ssize_t)sizeof r ? 0 : 1);
	}
	close(fd[1]);
	if (pid > 0) {
		if (read(fd[0], &m, sizeof m) != (ssize_t)sizeof m)
			m = (struct hb_m){ -1, -1, -1, -1, -1 };
		waitpid(pid, NULL, 0);
	}
	close(fd[0]);
	return m;
}

static void head_rows_for(struct bench *b, int n, int busy)
{
	double v[2][4][REPS];
	for (int r = 0; r < REPS; r++)
		for (int shared = 0; shared < 2; shared++) {
			struct hb_m m = run_heads_forked(n, shared, busy, busy ? 0.5 : 0.3);
			v[shared][0][r] = m.threads;
			v[shared][1][r] = m.rss_kb;
			v[shared][2][r] = m.wakeups_s;
			v[shared][3][r] = m.cpu_pct;
		}
	static const char *const mode[2] = { "per_head", "shared" };
	static const char *const key[4] = { "threads", "rss_kb", "wakeups_per_s", "cpu_pct" };
	static const char *const unit[4] = { "", "KB", "/s", "%" };
	static const char *const what[4] = { "heartbeat threads", "VmRSS per head",
					     "heartbeat wake-ups, all threads",
					     "heartbeat CPU (of one core)" };
	for (int shared = 0; shared < 2; shared++)
		for (int i = 0; i < 4; i++) {
			char name[80], w[120];
			snprintf(name, sizeof name, "hb.heads_%s_%d.%s.%s", busy ? "busy" : "idle",
				 n, mode[shared], key[i]);
			snprintf(w, sizeof w, "%s, %d %s heads", what[i], n, busy ? "busy" : "idle");
			bench_row(b, name, bench_percentile(v[shared][i], REPS, 50), unit[i], w, NULL);
		}
}

/* ---- the rows ----------------------------------------------------------- */

static double med(double *v, int n)
{
	return bench_percentile(v, n, 50);
}

static void rows_for(struct bench *b, int n, int busy)
{
	double v[2][5][REPS];
	for (int r = 0; r < REPS; r++)
		for (int shared = 0; shared < 2; shared++) {
			struct hb_m m = run_cores(n, shared, busy, busy ? 0.5 : 0.3);
			if (busy)
				m.detect_us = detect_us(n, shared);
			v[shared][0][r] = m.threads;
			v[shared][1][r] = m.rss_kb;
			v[shared][2][r] = m.wakeups_s;
			v[shared][3][r] = m.cpu_pct;
			v[shared][4][r] = m.detect_us;
		}
	static const char *const mode[2] = { "per_head", "shared" };
	for (int shared = 0; shared < 2; shared++) {
		static const char *const key[5] = { "threads", "rss_kb", "wakeups_per_s",
						    "cpu_pct", "detect_us" };
		static const char *const unit[5] = { "", "KB", "/s", "%", "us" };
		static const char *const what[5] = {
			"heartbeat threads", "VmRSS added per core", "heartbeat wake-ups, all threads",
			"heartbeat CPU (of one core)", "blocked callout: start to takeover, p50" };
		for (int i = 0; i < (busy ? 5 : 4); i++) {
			char name[80], w[120];
			snprintf(name, sizeof name, "hb.%s_%d.%s.%s", busy ? "busy" : "idle", n,
				 mode[shared], key[i]);
			snprintf(w, sizeof w, "%s, %d %s cores", what[i], n, busy ? "busy" : "idle");
			bench_row(b, name, med(v[shared][i], REPS), unit[i], w, NULL);
		}
	}
}

void bench_hb_rows(struct bench *b)
{
	bench_note(b, "heartbeat per head vs shared (baton_config.heartbeat), 1 kHz, "
		      "%d runs per figure, medians", REPS);
	rows_for(b, 1, 0);
	rows_for(b, 4, 0);
	rows_for(b, 16, 0);
	rows_for(b, 4, 1);
	idle_st = procfs_program("bench-hb", "VM receive.\n");
	busy_st = procfs_program("bench-hb", "| x | x := 0. [true] whileTrue: [x := x + 1 \\\\ 1000].\n");
	if (!idle_st || !busy_st) {
		drop_prog(idle_st);
		drop_prog(busy_st);
		bench_row_na(b, "hb.heads", "", "cannot write the head programs in /tmp");
		return;
	}
	bench_note(b, "Smalltalk heads (baton_head_spawn), BATON_HEARTBEAT=per-head or shared; "
		      "the first VM is the bench itself (no heartbeat)");
	head_rows_for(b, 1, 0);
	head_rows_for(b, 4, 0);
	head_rows_for(b, 16, 0);
	head_rows_for(b, 4, 1);
	drop_prog(idle_st);
	drop_prog(busy_st);
}
