// SPDX-License-Identifier: MIT
/*
 * tools/bench.c: `make bench`: Baton's numbers beside their references,
 * measured in the same run.
 *
 * Every row is the median of several repetitions; the table prints the
 * reference each row is compared against and the goal from the issues.
 * BENCH_FORMAT=tsv prints name<TAB>value<TAB>unit lines instead. Uses only
 * include/baton.h and the green-task simulator. Seven parts, all by
 * default, BENCH=core,vm,io,http,trace,hb,hydra picks: the core's rows here,
 * the VM's (bench/NAME.st), the io rows (tools/lib/benchio.c), the http rows
 * (tools/lib/benchhttp.c), the --trace rows (Documentation/core/tracing.md),
 * the heartbeat per head or shared (tools/lib/benchhb.c), the hydra rows
 * (tools/lib/benchhydra.c).
 * Documentation/testing.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "baton.h"
#include "tools/lib/bench.h"
#include "tools/lib/sim.h"

#define REPS 7

/* ---- callouts: what a no-op call costs, and around it ------------------- */

static void noop(void) { __asm__ volatile("" ::: "memory"); }
static void (*volatile call)(void) = noop;

#define CALLS 20000000L

static double per_call(uint64_t t0)
{
	return (double)(baton_now_ns() - t0) / CALLS;
}

static double plain_ns(void *ud)
{
	(void)ud;
	uint64_t t0 = baton_now_ns();
	for (long i = 0; i < CALLS; i++)
		call();
	return per_call(t0);
}

static baton_vm *quiet_vm(baton_thread **t)
{
	/* A beat per second: the loop is measured, not the heartbeat. */
	struct baton_config cfg = { .heartbeat_hz = 1, .block_us = 900000 };
	baton_vm *vm = baton_vm_new(&cfg);
	if (!vm || !(*t = baton_enter(vm))) {
		perror("bench: baton_vm_new");
		exit(1);
	}
	return vm;
}

/* ud != NULL: the CAS fast path (BATON_MEMBARRIER=0), else the default. */
static double owned_ns(void *ud)
{
	baton_thread *t;
	const char *was = getenv("BATON_MEMBARRIER");
	char keep[16];
	snprintf(keep, sizeof keep, "%s", was ? was : "");
	if (ud)
		setenv("BATON_MEMBARRIER", "0", 1);
	baton_vm *vm = quiet_vm(&t);
	if (ud && was) /* the caller's choice holds for the other rows */
		setenv("BATON_MEMBARRIER", keep, 1);
	else if (ud)
		unsetenv("BATON_MEMBARRIER");
	uint64_t t0 = baton_now_ns();
	for (long i = 0; i < CALLS; i++) {
		baton_disown(vm, t, 40, 0);
		call();
		baton_own(vm, t);
	}
	double r = per_call(t0);
	baton_vm_free(vm, t);
	return r;
}

/* The floor under any design of the seed's: a bare release store and CAS
 * on one word, nothing else. Printed so the core's bookkeeping can be
 * read apart from what the CPU charges for a locked instruction. */
static double cas_owned_ns(void *ud)
{
	(void)ud;
	return owned_ns((void *)1);
}

static double floor_ns(void *ud)
{
	(void)ud;
	static _Atomic uint32_t word = 1;
	uint64_t t0 = baton_now_ns();
	for (long i = 0; i < CALLS; i++) {
		atomic_store_explicit(&word, 0, memory_order_release);
		call();
		uint32_t z = 0;
		atomic_compare_exchange_strong_explicit(&word, &z, 1, memory_order_acquire,
							memory_order_relaxed);
	}
	return per_call(t0);
}

static double mutex_ns(void *ud)
{
	(void)ud;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&m);
	uint64_t t0 = baton_now_ns();
	for (long i = 0; i < CALLS; i++) {
		pthread_mutex_unlock(&m);
		call();
		pthread_mutex_lock(&m);
	}
	double r = per_call(t0);
	pthread_mutex_unlock(&m);
	return r;
}

/* CPython's GIL (3.2+): a flag guarded by a mutex, waiters on a condvar.
 * Release signals the condvar; take waits on it while the flag is set. */
struct gil {
	pthread_mutex_t m;
	pthread_cond_t cv;
	int locked;
};

static void gil_drop(struct gil *g)
{
	pthread_mutex_lock(&g->m);
	g->locked = 0;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->m);
}

static void gil_take(struct gil *g)
{
	pthread_mutex_lock(&g->m);
	while (g->locked)
		pthread_cond_wait(&g->cv, &g->m);
	g->locked = 1;
	pthread_mutex_unlock(&g->m);
}

static double condvar_ns(void *ud)
{
	(void)ud;
	struct gil g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1 };
	uint64_t t0 = baton_now_ns();
	for (long i = 0; i < CALLS / 4; i++) {
		gil_drop(&g);
		call();
		gil_take(&g);
	}
	return (double)(baton_now_ns() - t0) / (CALLS / 4);
}

/* ---- handoffs: two threads passing the VM back and forth ----------------- */

#define ROUNDS 20000

struct pp {
	baton_vm *vm;
	baton_thread *a, *b;
	_Atomic uint32_t w[2];
	pthread_mutex_t m;
	pthread_cond_t cv;
	int turn;
};

static void *baton_pong(void *arg)
{
	struct pp *p = arg;
	baton_thread *b = baton_attach(p->vm, 40);
	p->b = b;
	for (int i = 0; i < ROUNDS; i++)
		baton_handoff(p->vm, b, p->a);
	baton_detach(p->vm, b);
	baton_wake(p->vm);
	return NULL;
}

static double baton_rtt_us(void *ud)
{
	(void)ud;
	struct pp p = { 0 };
	p.vm = quiet_vm(&p.a);
	pthread_t th;
	pthread_create(&th, NULL, baton_pong, &p);
	struct baton_stats s;
	do {
		sched_yield();
		baton_get_stats(p.vm, &s);
	} while (s.waiting < 1);
	baton_thread *b = baton_thread_at(p.vm, 2);
	uint64_t t0 = baton_now_ns();
	for (int i = 0; i < ROUNDS; i++)
		baton_handoff(p.vm, p.a, b);
	double r = (double)(baton_now_ns() - t0) / ROUNDS / 1000;
	baton_handoff(p.vm, p.a, b);
	pthread_join(th, NULL);
	baton_vm_free(p.vm, p.a);
	return r;
}

static void fwait(_Atomic uint32_t *w, uint32_t v)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void fwake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Each side sleeps on its own word until the other flips it. */
static void *futex_pong(void *arg)
{
	struct pp *p = arg;
	for (int i = 0; i < ROUNDS; i++) {
		while (atomic_load(&p->w[1]) == 0)
			fwait(&p->w[1], 0);
		atomic_store(&p->w[1], 0);
		atomic_store(&p->w[0], 1);
		fwake(&p->w[0]);
	}
	return NULL;
}

static double futex_rtt_us(void *ud)
{
	(void)ud;
	struct pp p = { 0 };
	pthread_t th;
	pthread_create(&th, NULL, futex_pong, &p);
	uint64_t t0 = baton_now_ns();
	for (int i = 0; i < ROUNDS; i++) {
		atomic_store(&p.w[1], 1);
		fwake(&p.w[1]);
		while (atomic_load(&p.w[0]) == 0)
			fwait(&p.w[0], 0);
		atomic_store(&p.w[0], 0);
	}
	double r = (double)(baton_now_ns() - t0) / ROUNDS / 1000;
	pthread_join(th, NULL);
	return r;
}

static void *condvar_pong(void *arg)
{
	struct pp *p = arg;
	pthread_mutex_lock(&p->m);
	for (int i = 0; i < ROUNDS; i++) {
		while (p->turn != 1)
			pthread_cond_wait(&p->cv, &p->m);
		p->turn = 0;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->m);
	return NULL;
}

static double condvar_rtt_us(void *ud)
{
	(void)ud;
	struct pp p = { .m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pthread_t th;
	pthread_create(&th, NULL, condvar_pong, &p);
	uint64_t t0 = baton_now_ns();
	pthread_mutex_lock(&p.m);
	for (int i = 0; i < ROUNDS; i++) {
		p.turn = 1;
		pthread_cond_broadcast(&p.cv);
		while (p.turn != 0)
			pthread_cond_wait(&p.cv, &p.m);
	}
	pthread_mutex_unlock(&p.m);
	double r = (double)(baton_now_ns() - t0) / ROUNDS / 1000;
	pthread_join(th, NULL);
	return r;
}

/* ---- blocked callouts: start to another thread owning the VM ------------ */

#define BLOCKS 150

struct lat {
	struct baton_stats st; /* at the end of the run */
	uint64_t begin;
	double us[BLOCKS];
	int n;
	struct sim_task *sleeper, *worker;
};

static void lat_log(struct sim *s, enum sim_event ev, baton_thread *t, struct sim_task *k)
{
	(void)t;
	struct lat *l = s->ud;
	if (k != l->sleeper)
		return;
	if (ev == SIM_FINISH)
		l->worker->ops = l->worker->done; /* stop at its next step */
	if (ev == SIM_CALLOUT_BEGIN)
		l->begin = baton_now_ns();
	else if (ev == SIM_SAVE && l->begin && l->n < BLOCKS)
		l->us[l->n++] = (double)(baton_now_ns() - l->begin) / 1000, l->begin = 0;
}

static unsigned five_ms(struct sim_task *k)
{
	(void)k;
	return 5000;
}

/* A sleeper blocks 5 ms, BLOCKS times; a worker always has work, so every
 * block should end in a takeover. Fills l->us. */
static void blocked_run(struct lat *l, unsigned flags)
{
	struct sim s = { .log = lat_log, .ud = l };
	struct baton_config cfg = { .heartbeat_hz = 1000 };
	if (sim_init(&s, &cfg)) {
		perror("bench: sim_init");
		exit(1);
	}
	struct sim_task sleeper = { .prio = 40, .ops = BLOCKS, .flags = flags,
				    .callout_us = five_ms };
	struct sim_task worker = { .prio = 30, .ops = 1u << 30, .work = 1 };
	l->sleeper = &sleeper;
	l->worker = &worker;
	sim_add(&s, &sleeper);
	sim_add(&s, &worker);
	sim_run(&s);
	baton_get_stats(s.vm, &l->st);
	sim_fini(&s);
}

static double blocked_p(void *ud)
{
	static struct lat l[2];
	static int done[2];
	int hint = ((intptr_t)ud) >= 100;
	double pct = (double)((intptr_t)ud % 100);
	if (!done[hint]) {
		blocked_run(&l[hint], hint ? BATON_BLOCKING : 0);
		done[hint] = 1;
	}
	if (pct == 1) /* the heartbeat's cost per take-over of a blocked callout (us) */
		return l[hint].st.takeovers ? (double)l[hint].st.takeover_ns /
						      (double)l[hint].st.takeovers / 1000
					    : 0;
	return bench_percentile(l[hint].us, l[hint].n, pct ? pct : 99.0);
}

/* ---- the heartbeat's own cost --------------------------------------------- */

static double hb_busy_cpu(void *ud)
{
	(void)ud;
	struct baton_config cfg = { .heartbeat_hz = 1000 };
	baton_vm *vm = baton_vm_new(&cfg);
	baton_thread *t = baton_enter(vm);
	struct baton_stats s0, s1;
	baton_get_stats(vm, &s0);
	uint64_t t0 = baton_now_ns();
	struct timespec ts = { 1, 0 };
	nanosleep(&ts, NULL); /* the VM stays owned: busy, ticking */
	baton_get_stats(vm, &s1);
	double r = 100.0 * (double)(s1.hb_cpu_ns - s0.hb_cpu_ns) / (double)(baton_now_ns() - t0);
	baton_vm_free(vm, t);
	return r;
}

/* The reference: a bare thread reading a 1 kHz timerfd, nothing else. What
 * a wake-up costs depends on the machine (a VM's timer virtualisation, the
 * load): this row is the floor the heartbeat is compared with. */
static double timerfd_floor_cpu(void *ud)
{
	(void)ud;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
	timerfd_settime(fd, 0, &its, NULL);
	struct timespec c0, c1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	uint64_t t0 = baton_now_ns(), n;
	for (int i = 0; i < 1000; i++)
		if (read(fd, &n, sizeof n) < 0)
			break;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	close(fd);
	double cpu = (double)(c1.tv_sec - c0.tv_sec) * 1e9 + (double)(c1.tv_nsec - c0.tv_nsec);
	return 100.0 * cpu / (double)(baton_now_ns() - t0);
}

static double hb_idle_wakeups(void *ud)
{
	(void)ud;
	struct baton_config cfg = { .heartbeat_hz = 1000 };
	baton_vm *vm = baton_vm_new(&cfg);
	struct baton_stats s0, s1;
	struct timespec warm = { 0, 50000000 }, ts = { 2, 0 };
	nanosleep(&warm, NULL);
	baton_get_stats(vm, &s0);
	uint64_t t0 = baton_now_ns();
	nanosleep(&ts, NULL); /* never entered: idle throughout */
	baton_get_stats(vm, &s1);
	double r = (double)(s1.hb_wakeups - s0.hb_wakeups) / ((double)(baton_now_ns() - t0) / 1e9);
	struct baton_thread *t = baton_enter(vm);
	baton_vm_free(vm, t);
	return r;
}

static const char *hb_name(void)
{
	static char name[32];
	struct baton_config cfg = { 0 };
	baton_vm *vm = baton_vm_new(&cfg);
	baton_thread *t = baton_enter(vm);
	struct baton_stats s;
	baton_get_stats(vm, &s);
	snprintf(name, sizeof name, "%s", s.hb_backend);
	baton_vm_free(vm, t);
	return name;
}

static const char *fast_path_name(void)
{
	baton_thread *t;
	baton_vm *vm = quiet_vm(&t);
	struct baton_stats s;
	baton_get_stats(vm, &s);
	const char *name = s.own_fast_path; /* a string literal of the core's */
	baton_vm_free(vm, t);
	return name;
}

static void core_rows(struct bench *b)
{
	static double (*const callouts[])(void *) = { plain_ns, owned_ns, floor_ns, mutex_ns,
						      condvar_ns, cas_owned_ns };
	double c[6];
	bench_medians(b, callouts, 6, REPS, c);
	double plain = c[0], owned = c[1], floor = c[2], mutex = c[3], cv = c[4], cas = c[5];
	bench_row(b, "callout.plain_ns", plain, "ns", "no-op C call", NULL);
	bench_row(b, "callout.overhead_ns", owned - plain, "ns",
		  "disown+own around it, minus plain (default fast path)",
		  "<= 1.0, <= 0.2x cas_floor");
	bench_row(b, "callout.cas_overhead_ns", cas - plain, "ns",
		  "ref: the same with the CAS fast path (BATON_MEMBARRIER=0)", NULL);
	bench_row(b, "callout.cas_floor_ns", floor - plain, "ns",
		  "ref: bare release store + CAS, minus plain", NULL);
	bench_ratio(b, "ratio: overhead / cas_floor (goal <= 0.2)",
		    (owned - plain) / (floor - plain));
	bench_row(b, "callout.mutex_overhead_ns", mutex - plain, "ns",
		  "ref: pthread mutex unlock+lock", NULL);
	bench_row(b, "callout.condvar_overhead_ns", cv - plain, "ns",
		  "ref: CPython-style GIL release+take", NULL);
	bench_ratio(b, "ratio: mutex / baton overhead", (mutex - plain) / (owned - plain));

	static double (*const rtts[])(void *) = { baton_rtt_us, futex_rtt_us, condvar_rtt_us };
	double r[3];
	bench_medians(b, rtts, 3, REPS, r);
	double rtt = r[0], frtt = r[1], crtt = r[2];
	bench_row(b, "handoff.rtt_us", rtt, "us", "VM passed between two threads",
		  "within 10% of futex, < condvar");
	bench_row(b, "handoff.futex_rtt_us", frtt, "us", "ref: raw futex ping-pong", NULL);
	bench_row(b, "handoff.condvar_rtt_us", crtt, "us", "ref: mutex+condvar ping-pong", NULL);
	bench_ratio(b, "ratio: baton / futex rtt", rtt / frtt);

	bench_row(b, "blocked.p50_us", blocked_p((void *)50), "us",
		  "callout start -> another thread owns (1 kHz)", NULL);
	bench_row(b, "blocked.p99_us", blocked_p((void *)99), "us", "same, p99", "<= 1200");
	bench_row(b, "blocked.hint_p99_us", blocked_p((void *)199), "us",
		  "same with BATON_BLOCKING, p99", "<= 100");
	bench_row(b, "blocked.takeover_cost_us", blocked_p((void *)1), "us",
		  "heartbeat's take-over of a blocked callout, membarrier incl.", NULL);

	static double (*const hbs[])(void *) = { hb_busy_cpu, timerfd_floor_cpu };
	double h[2];
	bench_medians(b, hbs, 2, 3, h);
	bench_row(b, "heartbeat.busy_cpu_pct", h[0], "%", "heartbeat thread CPU, VM busy, 1 kHz",
		  "<= 1.5");
	bench_row(b, "heartbeat.timerfd_floor_pct", h[1], "%", "ref: bare 1 kHz timerfd read loop",
		  NULL);
	bench_ratio(b, "ratio: heartbeat / bare timerfd CPU", h[0] / h[1]);
	bench_row(b, "heartbeat.idle_wakeups_per_s", hb_idle_wakeups(NULL), "/s",
		  "over 2 s of idle", "= 0");
}

/* ---- --trace: what the recorder costs on the handoff-heavy demo ------------
 * examples/demo.st with BATON_STRESS_HANDOFF=1 (a handoff at every
 * checkpoint) and a 5 kHz heartbeat, so checkpoints and handoffs are many.
 * The demo's wall time is its 300 ms usleep(): the rows compare CPU time
 * (user + system, every thread) of the whole process, as wait4 reports it. */

static char trace_bin[4200], notrace_bin[4200], trace_out[64];

static double demo_cpu_ms(const char *bin, int traced)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("BATON_STRESS_HANDOFF", "1", 1);
		if (traced)
			execl(bin, bin, "--heartbeat-hz", "5000", "--trace", trace_out,
			      "examples/demo.st", (char *)NULL);
		else
			execl(bin, bin, "--heartbeat-hz", "5000", "examples/demo.st", (char *)NULL);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double demo_notrace_ms(void *ud) { (void)ud; return demo_cpu_ms(notrace_bin, 0); }
static double demo_off_ms(void *ud) { (void)ud; return demo_cpu_ms(trace_bin, 0); }
static double demo_on_ms(void *ud) { (void)ud; return demo_cpu_ms(trace_bin, 1); }

static void trace_rows(struct bench *b)
{
	snprintf(trace_bin, sizeof trace_bin, "%s/../baton", b->bindir);
	snprintf(notrace_bin, sizeof notrace_bin, "%s/../baton-notrace", b->bindir);
	snprintf(trace_out, sizeof trace_out, "/tmp/baton-bench-trace.%d.json", (int)getpid());
	const char *why = access(trace_bin, X_OK) ? "no build/baton" :
			  access(notrace_bin, X_OK) ? "no build/baton-notrace (make bench builds it)" :
			  access("examples/demo.st", R_OK) ? "no examples/demo.st" : NULL;
	if (why) {
		bench_row_na(b, "trace.off_overhead_pct", "%", why);
		bench_row_na(b, "trace.on_overhead_pct", "%", why);
		return;
	}
	static double (*const runs[])(void *) = { demo_notrace_ms, demo_off_ms, demo_on_ms };
	double m[3];
	bench_medians(b, runs, 3, 31, m);
	unlink(trace_out);
	if (m[0] <= 0 || m[1] <= 0 || m[2] <= 0) {
		bench_row_na(b, "trace.off_overhead_pct", "%", "the demo failed to run");
		bench_row_na(b, "trace.on_overhead_pct", "%", "the demo failed to run");
		return;
	}
	bench_row(b, "trace.demo_cpu_ms", m[0], "ms",
		  "ref: handoff-heavy demo, build without trace hooks", NULL);
	bench_row(b, "trace.off_overhead_pct", (m[1] - m[0]) / m[0] * 100, "%",
		  "hooks in, --trace off, vs the build without", "~ 0");
	bench_row(b, "trace.on_overhead_pct", (m[2] - m[1]) / m[1] * 100, "%",
		  "--trace on vs off, same build, same run", "<= 5");
}

int main(int argc, char **argv)
{
	struct bench b;
	bench_init(&b, argc, argv);
	if (bench_part("core")) {
		bench_note(&b, "heartbeat backend: %s; own fast path: %s; %d repetitions per row, medians",
			   hb_name(), fast_path_name(), REPS);
		core_rows(&b);
	}
	if (bench_part("vm"))
		bench_vm_rows(&b);
	if (bench_part("io"))
		bench_io_rows(&b);
	if (bench_part("http"))
		bench_http_rows(&b);
	if (bench_part("trace"))
		trace_rows(&b);
	if (bench_part("hb"))
		bench_hb_rows(&b);
	if (bench_part("hydra"))
		bench_hydra_rows(&b);
	return bench_end(&b);
}
