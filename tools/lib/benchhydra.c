// SPDX-License-Identifier: MIT
/*
 * tools/lib/benchhydra.c: the hydra rows of `make bench` (issue 12): several
 * VMs ("heads") in one baton process, against their references measured in
 * the same run: spawn time against a whole baton start, fib in two heads
 * against one (and two baton processes against one), the message round
 * trip against a raw futex ping-pong between two threads (here), a one-way
 * stream of 16-byte Strings against a Go buffered channel
 * (bench/hydra/chan.go), the RSS of one idle head against a whole idle
 * baton. The Smalltalk sides are the .st files of bench/hydra/; each prints "key V"
 * lines. Rows and references take turns, medians of the rounds. A baton
 * without the Hydra runtime (no class VM), a program that fails or times
 * out, or no Go gives "n/a" and the reason, never a failed make bench.
 * BENCH_HYDRA_QUICK=1: one round of tiny sizes (selftests/bench/
 * run-hydra-programs.sh). Documentation/vm/hydra-bench.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/lib/bench.h"
#include "tools/lib/procfs.h"

#define WHY BENCH_WHY
#define MAXS 64

struct hy {
	struct bench *b;
	char baton[4200], go[4200];
	char dir[4200]; /* bench/hydra, absolute: VM spawn: gets DIR/NAME.st */
	int quick;
	double tmo;              /* seconds a program may take */
	char nort[WHY];          /* non-empty: why the Hydra rows cannot run */
	int cpu[2];              /* two CPUs the bench may use (-1: fewer) */
};

/* Samples of one row; after a first failure it is not tried again. */
struct smp {
	double v[MAXS];
	int n, tried;
	char why[WHY];
};

static void add(struct smp *s, double v)
{
	s->tried = 1;
	if (s->n < MAXS)
		s->v[s->n++] = v;
}

static void fail(struct smp *s, const char *why)
{
	s->tried = 1;
	s->n = 0;
	snprintf(s->why, WHY, "%s", why);
}

static int live(struct smp *s) { return s->n || !s->tried; }

static double med(struct smp *s) { return s->n ? bench_percentile(s->v, s->n, 50) : NAN; }

static void row(struct hy *h, const char *name, struct smp *s, const char *unit, const char *what,
		const char *goal)
{
	if (s->n) {
		bench_row(h->b, name, med(s), unit, what, goal);
	} else {
		char why[WHY + 16];
		snprintf(why, sizeof why, "not measured: %s", s->tried ? s->why : "not run");
		bench_row_na(h->b, name, unit, why);
	}
}

static void ratio(struct hy *h, const char *what, struct smp *num, struct smp *den)
{
	if (num->n && den->n && med(den) > 0)
		bench_ratio(h->b, what, med(num) / med(den));
}

/* ---- running the programs ------------------------------------------------ */

/* Reads a started program's stdout to its end into [out] (at most
 * h->tmo seconds) and ends it: 0, or -1 and the reason. */
static int drain(struct hy *h, struct bench_proc *p, char *out, size_t sz, char *why)
{
	size_t len = 0;
	char line[512];
	int r;
	double end = bench_now_s() + h->tmo;
	out[0] = 0;
	while ((r = bench_read_line(p, end - bench_now_s(), line, sizeof line)) == 0) {
		int k = snprintf(out + len, sz - len, "%s\n", line);
		if (k > 0 && (size_t)k < sz - len)
			len += (size_t)k;
	}
	int st = bench_finish(p);
	int ok = r == -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok)
		bench_reason(p, st, r == -2 ? "timed out" : NULL, why);
	fclose(p->err);
	return ok ? 0 : -1;
}

static int run(struct hy *h, char *const argv[], char *out, size_t sz, char *why)
{
	struct bench_proc p;
	if (access(argv[0], X_OK) < 0) {
		snprintf(why, WHY, "no %.150s", argv[0]);
		return -1;
	}
	if (bench_spawn(&p, argv, -1, why) < 0)
		return -1;
	return drain(h, &p, out, sz, why);
}

/* The values of the lines "key V" of [out], at most [max]; their count. */
static int values(const char *out, const char *key, double *v, int max)
{
	size_t kl = strlen(key);
	int n = 0;
	for (const char *l = out; *l && n < max; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		char *e;
		if (!strncmp(l, key, kl) && l[kl] == ' ') {
			double x = strtod(l + kl + 1, &e);
			if (e != l + kl + 1 && (*e == '\n' || !*e))
				v[n++] = x;
		}
	}
	return n;
}

static double value(const char *out, const char *key)
{
	double v;
	return values(out, key, &v, 1) == 1 ? v : NAN;
}

static void fmt(char *buf, size_t sz, double v) { snprintf(buf, sz, "%.0f", v); }

/* ---- the reference: a raw futex ping-pong between two threads ------------- */

struct fpp {
	_Atomic uint32_t w[2];
	int n, cpu[2];
	double us;
};

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

static void fwait(_Atomic uint32_t *w)
{
	while (atomic_load_explicit(w, memory_order_acquire) == 0)
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	atomic_store_explicit(w, 0, memory_order_relaxed);
}

static void fpost(_Atomic uint32_t *w)
{
	atomic_store_explicit(w, 1, memory_order_release);
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Each side sleeps in FUTEX_WAIT on its own word until the other posts it. */
static void *fpp_pong(void *arg)
{
	struct fpp *f = arg;
	pin(f->cpu[1]);
	for (int i = 0; i < f->n + 1000; i++) {
		fwait(&f->w[1]);
		fpost(&f->w[0]);
	}
	return NULL;
}

static void *fpp_ping(void *arg)
{
	struct fpp *f = arg;
	pin(f->cpu[0]);
	for (int i = 0; i < 1000; i++) /* untimed, as pingpong.st's first 1,000 */
		fpost(&f->w[1]), fwait(&f->w[0]);
	double t0 = bench_now_s();
	for (int i = 0; i < f->n; i++)
		fpost(&f->w[1]), fwait(&f->w[0]);
	f->us = (bench_now_s() - t0) * 1e6 / f->n;
	return NULL;
}

/* Mean round trip in us; [c0], [c1]: the CPUs of the two threads (-1: the
 * scheduler's choice). The harness's own thread keeps its affinity. */
static double futex_rtt_us(int n, int c0, int c1)
{
	struct fpp f = { .n = n, .cpu = { c0, c1 } };
	pthread_t a, b;
	if (pthread_create(&b, NULL, fpp_pong, &f))
		return NAN;
	if (pthread_create(&a, NULL, fpp_ping, &f)) {
		f.n = -1000; /* the pong's loop ends at once */
		pthread_join(b, NULL);
		return NAN;
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return f.us;
}

/* ---- the rows -------------------------------------------------------------- */

static void spawn_rows(struct hy *h)
{
	int reps = h->quick ? 1 : 5, per = h->quick ? 2 : 10;
	struct smp hs = { 0 }, ps = { 0 }, first = { 0 };
	char why[WHY], out[8192], n[16], script[] = "bench/hydra/spawn.st",
					      stamp[] = "bench/hydra/stamp.st";
	snprintf(n, sizeof n, "%d", per);
	if (h->nort[0])
		fail(&hs, h->nort);
	for (int r = 0; r < reps; r++) {
		if (live(&hs)) {
			char *argv[] = { h->baton, script, n, h->dir, NULL };
			double v[MAXS];
			int k;
			if (run(h, argv, out, sizeof out, why) < 0)
				fail(&hs, why);
			else if ((k = values(out, "spawn_ms", v, MAXS)) != per)
				snprintf(why, WHY, "spawn.st printed %d of %d spawn_ms lines", k, per),
					fail(&hs, why);
			else
				for (int i = 0; i < k; i++) {
					add(&hs, v[i]);
					if (i == 0) /* the process's first: see the note */
						add(&first, v[i]);
				}
		}
		for (int i = 0; i < per && live(&ps); i++) {
			char *argv[] = { h->baton, stamp, NULL };
			double t0 = bench_now_s();
			if (run(h, argv, out, sizeof out, why) < 0) {
				fail(&ps, why);
				break;
			}
			double ns = value(out, "stamp_ns");
			if (isnan(ns))
				fail(&ps, "stamp.st printed no stamp_ns");
			else
				add(&ps, (ns / 1e9 - t0) * 1e3);
		}
	}
	row(h, "hydra.spawn_ms", &hs, "ms", "VM spawn: -> the head's first statement", "<= 2");
	row(h, "ref.hydra_process_start_ms", &ps, "ms", "ref: fork+exec baton -> first statement",
	    NULL);
	ratio(h, "ratio: spawn / whole baton start", &hs, &ps);
	if (first.n)
		bench_note(h->b, "hydra: the first spawn of a process takes %.3g ms (median of %d)",
			   med(&first), first.n);
}

static void fib_rows(struct hy *h)
{
	int reps = h->quick ? 1 : 3;
	const char *fn = h->quick ? "15" : "30", *rounds = h->quick ? "1" : "7",
		   *prounds = h->quick ? "1" : "5";
	struct smp one = { 0 }, two = { 0 }, alone = { 0 }, both = { 0 };
	char why[WHY], out[8192], script[] = "bench/hydra/fib.st", proc[] = "bench/hydra/fibproc.st";
	if (h->nort[0])
		fail(&one, h->nort), fail(&two, h->nort);
	for (int r = 0; r < reps; r++) {
		if (live(&one)) {
			char *argv[] = { h->baton, script, (char *)fn, (char *)rounds, h->dir, NULL };
			double v1[MAXS], v2[MAXS];
			int k1 = 0, k2 = 0;
			if (run(h, argv, out, sizeof out, why) < 0) {
				fail(&one, why), fail(&two, why);
			} else if ((k1 = values(out, "fib1_ms", v1, MAXS)) != atoi(rounds) ||
				   (k2 = values(out, "fib2_ms", v2, MAXS)) != atoi(rounds)) {
				snprintf(why, WHY, "fib.st printed %d fib1_ms and %d fib2_ms of %s", k1, k2,
					 rounds);
				fail(&one, why), fail(&two, why);
			} else {
				for (int i = 0; i < k1; i++)
					add(&one, v1[i]), add(&two, v2[i]);
			}
		}
		/* The reference: one baton process alone, then two at once. */
		char *argv[] = { h->baton, proc, (char *)fn, (char *)prounds, NULL };
		struct smp *to[2] = { &alone, &both };
		for (int k = 0; k < 2 && live(&alone) && live(&both); k++) {
			struct bench_proc p[2];
			int started = 0, bad = 0;
			for (int j = 0; j <= k; j++) {
				if (bench_spawn(&p[j], argv, -1, why) < 0)
					break;
				started++;
			}
			for (int j = 0; j < started; j++) {
				double v[MAXS];
				int c;
				if (drain(h, &p[j], out, sizeof out, why) < 0)
					bad = 1;
				else if ((c = values(out, "fib_ms", v, MAXS)) != atoi(prounds))
					bad = 1, snprintf(why, WHY, "fibproc.st printed %d fib_ms", c);
				else
					for (int i = 0; i < c; i++)
						add(to[k], v[i]);
			}
			if (bad || started <= k)
				fail(&alone, why), fail(&both, why);
		}
	}
	struct smp sp = { 0 }, ref = { 0 };
	if (one.n && two.n)
		add(&sp, 2 * med(&one) / med(&two));
	else
		fail(&sp, one.why);
	if (alone.n && both.n)
		add(&ref, 2 * med(&alone) / med(&both));
	else
		fail(&ref, alone.why);
	char what[64];
	snprintf(what, sizeof what, "fib %s in 2 heads vs 1: 2 x T1 / T2", fn);
	row(h, "hydra.parallel_speedup_2", &sp, "x", what, ">= 1.85");
	row(h, "ref.hydra_process_speedup_2", &ref, "x", "ref: 2 baton processes at once vs 1",
	    NULL);
	ratio(h, "ratio: heads speedup / processes speedup", &sp, &ref);
	if (one.n && two.n)
		bench_note(h->b, "hydra: fib %s in 1 head %.4g ms, in 2 heads at once %.4g ms (medians)",
			   fn, med(&one), med(&two));
	if (alone.n && both.n)
		bench_note(h->b, "hydra: fib %s in 1 baton process %.4g ms, with 2 at once %.4g ms each",
			   fn, med(&alone), med(&both));
}

/* One pingpong.st run with the environment variable [env] ("NAME=VALUE",
 * NULL: none) set for it; the mean round trip, or NAN and the reason. */
static double pingpong(struct hy *h, int rts, const char *env, char *why)
{
	char out[4096], n[16], script[] = "bench/hydra/pingpong.st", name[64] = "";
	char *argv[] = { h->baton, script, n, h->dir, NULL };
	snprintf(n, sizeof n, "%d", rts);
	if (env) {
		snprintf(name, sizeof name, "%.*s", (int)strcspn(env, "="), env);
		setenv(name, env + strlen(name) + 1, 1); /* the child inherits it */
	}
	int r = run(h, argv, out, sizeof out, why);
	if (env)
		unsetenv(name);
	if (r < 0)
		return NAN;
	if (value(out, "round_trips") != rts)
		return snprintf(why, WHY, "pingpong.st: not every message came back right"), NAN;
	if (isnan(value(out, "rtt_us")))
		snprintf(why, WHY, "pingpong.st printed no rtt_us");
	return value(out, "rtt_us");
}

static void rtt_rows(struct hy *h)
{
	int reps = h->quick ? 1 : 5, rts = h->quick ? 200 : 20000;
	/* the default (a head that does no I/O parks on its futex: a send wakes
	 * it with FUTEX_WAKE), then, for the notes, a head asleep in its
	 * io_uring ring (woken by IORING_OP_MSG_RING) */
	static const char *const envs[] = { NULL, "BATON_HYDRA_RING=1" };
	enum { NE = sizeof envs / sizeof *envs };
	struct smp hr[NE], fr = { 0 }, pr = { 0 };
	char why[WHY];
	memset(hr, 0, sizeof hr);
	if (h->nort[0])
		for (int e = 0; e < NE; e++)
			fail(&hr[e], h->nort);
	for (int r = 0; r < reps; r++) {
		for (int e = 0; e < NE; e++) {
			if (!live(&hr[e]))
				continue;
			double us = pingpong(h, rts, envs[e], why);
			isnan(us) ? fail(&hr[e], why) : add(&hr[e], us);
		}
		double us = futex_rtt_us(rts, -1, -1);
		isnan(us) ? fail(&fr, "pthread_create failed") : add(&fr, us);
		if (h->cpu[1] >= 0 && !isnan(us = futex_rtt_us(rts, h->cpu[0], h->cpu[1])))
			add(&pr, us);
	}
	row(h, "hydra.msg_rtt_us", &hr[0], "us", "ping-pong between 2 heads, receiver asleep",
	    "<= 1.1x futex");
	row(h, "ref.hydra_futex_rtt_us", &fr, "us", "ref: raw futex ping-pong, 2 threads", NULL);
	ratio(h, "ratio: head rtt / futex rtt (goal <= 1.1)", &hr[0], &fr);
	for (int e = 1; e < NE; e++)
		if (hr[e].n)
			bench_note(h->b, "hydra: the heads' ping-pong with %s: %.3g us", envs[e],
				   med(&hr[e]));
	if (pr.n)
		bench_note(h->b, "hydra: the futex ping-pong with its threads pinned to CPUs %d and %d: "
			   "%.3g us", h->cpu[0], h->cpu[1], med(&pr));
}

static void stream_rows(struct hy *h)
{
	int reps = h->quick ? 1 : 5, msgs = h->quick ? 1000 : 1000000;
	struct smp hm = { 0 }, gm = { 0 }, gf = { 0 };
	char why[WHY], out[4096], n[16], script[] = "bench/hydra/stream.st";
	snprintf(n, sizeof n, "%d", msgs);
	if (h->nort[0])
		fail(&hm, h->nort);
	for (int r = 0; r < reps; r++) {
		if (live(&hm)) {
			char *argv[] = { h->baton, script, n, h->dir, NULL };
			if (run(h, argv, out, sizeof out, why) < 0)
				fail(&hm, why);
			else if (value(out, "msgs") != msgs)
				fail(&hm, "stream.st: not every message arrived as a 16-byte String");
			else if (isnan(value(out, "msgs_per_s")))
				fail(&hm, "stream.st printed no msgs_per_s");
			else
				add(&hm, value(out, "msgs_per_s"));
		}
		if (live(&gm)) {
			char *argv[] = { h->go, n, NULL };
			if (run(h, argv, out, sizeof out, why) < 0) {
				if (access(h->go, X_OK) < 0)
					snprintf(why, WHY, "no %.120s (golang-go missing or go build failed)",
						 h->go);
				fail(&gm, why);
			} else if (value(out, "msgs") != msgs || isnan(value(out, "msgs_per_s"))) {
				fail(&gm, "chan-go: wrong count or no msgs_per_s");
			} else {
				add(&gm, value(out, "msgs_per_s"));
				add(&gf, value(out, "msgs_per_s_fresh"));
			}
		}
	}
	row(h, "hydra.msgs_per_s", &hm, "msgs/s", "one-way 16-byte Strings, both heads busy",
	    ">= 2e6, >= go");
	row(h, "ref.hydra_go_chan_msgs_per_s", &gm, "msgs/s",
	    "ref: Go buffered chan, 2 goroutines, 2 threads", NULL);
	ratio(h, "ratio: heads / go chan msgs/s (goal >= 1)", &hm, &gm);
	if (gf.n) {
		char v[32];
		fmt(v, sizeof v, med(&gf));
		bench_note(h->b, "hydra: the Go channel with a new 16-byte string per message: %s msgs/s",
			   v);
	}
}

/* VmRSS of process [pid] in KB, -1 if unreadable (tools/lib/procfs.c) */
static long rss_kb(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return (long)procfs_status_field(path, "VmRSS");
}

/* One run of rss.st: kb[k] = VmRSS with k idle extra heads, k = 0, 1, 2. */
static int rss_once(struct hy *h, long kb[3], char *why)
{
	char script[] = "bench/hydra/rss.st", line[256], out[1024];
	char *argv[] = { h->baton, script, h->dir, NULL };
	struct bench_proc p;
	if (bench_spawn(&p, argv, -1, why) < 0)
		return -1;
	int k = 0;
	for (; k < 3; k++) {
		char want[24]; /* "ready " and any int: no truncation, whatever the optimizer sees */
		snprintf(want, sizeof want, "ready %d", k);
		int r = bench_read_line(&p, h->tmo, line, sizeof line);
		if (r < 0 || strcmp(line, want))
			break;
		bench_nap(h->quick ? 0.05 : 0.3); /* let it settle into waiting */
		kb[k] = rss_kb(p.pid);
		if (kb[k] <= 0 || write(p.in, "\n", 1) != 1)
			break;
	}
	if (k == 3) {
		close(p.in);
		p.in = -1;
		return drain(h, &p, out, sizeof out, why) < 0 || value(out, "heads") != 2 ? -1 : 0;
	}
	int st = bench_finish(&p);
	bench_reason(&p, st, "rss.st did not print ready 0, 1, 2", why);
	fclose(p.err);
	return -1;
}

static void rss_rows(struct hy *h)
{
	int reps = h->quick ? 1 : 3;
	struct smp head = { 0 }, proc = { 0 }, first = { 0 };
	char why[WHY];
	if (h->nort[0])
		fail(&head, h->nort);
	for (int r = 0; r < reps && live(&proc); r++) {
		long kb[3];
		if (h->nort[0]) { /* the reference alone: an idle baton's RSS */
			char *argv[] = { h->baton, "-e", "stdout nextPutAll: 'ready 0'; nl; flush. "
						       "stdin nextLine", NULL };
			struct bench_proc p;
			char line[64];
			if (bench_spawn(&p, argv, -1, why) < 0) {
				fail(&proc, why);
				break;
			}
			if (bench_read_line(&p, h->tmo, line, sizeof line) == 0 && !strcmp(line, "ready 0")) {
				bench_nap(h->quick ? 0.05 : 0.3);
				long v = rss_kb(p.pid);
				v > 0 ? add(&proc, (double)v) : fail(&proc, "no VmRSS");
			} else {
				fail(&proc, "baton -e printed no 'ready 0'");
			}
			bench_finish(&p);
			fclose(p.err);
			continue;
		}
		if (rss_once(h, kb, why) < 0) {
			fail(&head, why);
			fail(&proc, why);
		} else {
			/* An extra head: the second one. The first also pays for
			 * the process's boot template (vm/boot_clone.c), once. */
			add(&first, (double)(kb[1] - kb[0]));
			add(&head, (double)(kb[2] - kb[1]));
			add(&proc, (double)kb[0]);
		}
	}
	row(h, "hydra.head_rss_kb", &head, "KB", "RSS an idle extra head adds (2 heads - 1)", "<= 2048");
	row(h, "ref.hydra_process_rss_kb", &proc, "KB", "ref: RSS of a whole idle baton", NULL);
	ratio(h, "ratio: head RSS / whole baton RSS", &head, &proc);
	if (first.n)
		bench_note(h->b, "hydra: the first head adds %.0f KB: it also builds the process's "
			   "boot template, once", med(&first));
}

void bench_hydra_rows(struct bench *b)
{
	struct hy h = { .b = b, .cpu = { -1, -1 } };
	const char *q = getenv("BENCH_HYDRA_QUICK");
	h.quick = q && *q && strcmp(q, "0");
	h.tmo = h.quick ? 30 : 120;
	snprintf(h.baton, sizeof h.baton, "%s/../baton", b->bindir);
	snprintf(h.go, sizeof h.go, "%s/../bench/hydra/chan-go", b->bindir);
	char cwd[4096];
	snprintf(h.dir, sizeof h.dir, "%s/bench/hydra", getcwd(cwd, sizeof cwd) ? cwd : ".");
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2)
		for (int c = 0, k = 0; c < CPU_SETSIZE && k < 2; c++)
			if (CPU_ISSET(c, &set))
				h.cpu[k++] = c;
	signal(SIGPIPE, SIG_IGN);

	/* Whether this baton has the Hydra runtime (issue 12): class VM. */
	char out[256], why[WHY];
	char *argv[] = { h.baton, "-e", "stdout print: (Smalltalk includesKey: #VM); nl", NULL };
	if (run(&h, argv, out, sizeof out, why) < 0)
		snprintf(h.nort, WHY, "%s", why);
	else if (strcmp(out, "true\n"))
		snprintf(h.nort, WHY, "this baton has no Hydra runtime (no class VM, issue 12)");
	bench_note(b, "hydra: %s%s", h.quick ? "BENCH_HYDRA_QUICK: 1 round, tiny sizes; " : "",
		   h.cpu[1] >= 0 ? "2 or more CPUs" : "fewer than 2 CPUs: the parallel rows mean little");
	spawn_rows(&h);
	fib_rows(&h);
	rtt_rows(&h);
	stream_rows(&h);
	rss_rows(&h);
}
