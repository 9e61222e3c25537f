// SPDX-License-Identifier: MIT
/*
 * tools/lib/benchio.c: the io rows of `make bench` (issue 8): Baton's echo
 * server, accept loop, file and line reading against the C epoll, C
 * liburing and Go echo servers, a C read() loop and CPython, all built
 * from bench/io/ and run in the same run.
 *
 * Every server runs pinned to one CPU and the load generator to another
 * (sched_setaffinity in the child, what taskset does); the programs of a
 * row and its references take turns, 3 or 5 rounds, medians. A program that
 * fails, times out or is missing gives "n/a" and the reason (the first
 * line it wrote to stderr), never a failed make bench: the Baton side of
 * issue 8 may not exist yet. Documentation/testing.md.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/lib/bench.h"

#define REPS 5     /* rounds of the short rows (1 s each) */
#define REPS_10K 3 /* rounds of the rows with 10,000 connections */
#define WHY BENCH_WHY
#define CONNS_10K 10000
#define FILE_MB 256
#define LINES_BYTES 100000000L

enum { S_BATON, S_GO, S_URING, S_EPOLL, NSRV };

struct io {
	struct bench *b;
	char baton[4200], dir[4200]; /* build/baton, build/bench/io */
	int cpu_load, cpu_srv;       /* -1: not pinned */
	pid_t watch;                 /* run_value() counts this server's threads */
	int peak_tasks;              /* the most seen, Baton with 10,000 conns */
	const char *ckey;            /* run_value() also wants the line "ckey cwant" */
	long long cwant;
};

static int gone(struct bench_proc *p, int *st)
{
	return waitpid(p->pid, st, WNOHANG) == p->pid;
}

static int tasks(pid_t pid, long *ctx);

/* Runs argv to its end (at most [secs]) and answers the value printed on
 * the line "key V", or NAN with the reason. While it runs, the threads of
 * x->watch (a server under this load, 0: none) are counted every 100 ms
 * into x->peak_tasks. With x->ckey set, the program must also print
 * "ckey cwant" (the bytes or lines it read): a wrong count is no score. */
static double run_value(struct io *x, char *const argv[], int cpu, double secs, const char *key,
			char *why)
{
	struct bench_proc p;
	if (bench_spawn(&p, argv, cpu, why) < 0)
		return NAN;
	double v = NAN, end = bench_now_s() + secs;
	char line[512];
	size_t kl = strlen(key), cl = x->ckey ? strlen(x->ckey) : 0;
	long long got = -1;
	int r;
	for (;;) {
		r = bench_read_line(&p, x->watch ? 0.1 : end - bench_now_s(), line, sizeof line);
		if (r == 0 && !strncmp(line, key, kl) && line[kl] == ' ')
			v = atof(line + kl + 1);
		if (r == 0 && cl && !strncmp(line, x->ckey, cl) && line[cl] == ' ')
			got = atoll(line + cl + 1);
		if (r == -1 || (r == -2 && bench_now_s() >= end))
			break;
		long ctx;
		int n = x->watch ? tasks(x->watch, &ctx) : 0;
		if (n > x->peak_tasks)
			x->peak_tasks = n;
	}
	int st = 0;
	if (r == -2) {
		bench_finish(&p);
		snprintf(why, WHY, "%.120s: no end within %.0f s", argv[0], secs);
		v = NAN;
	} else {
		waitpid(p.pid, &st, 0);
		close(p.in), close(p.out);
		if (!WIFEXITED(st) || WEXITSTATUS(st) || isnan(v)) {
			bench_reason(&p, st, NULL, why);
			v = NAN;
		} else if (cl && got != x->cwant) {
			snprintf(why, WHY, "%.60s counted %lld %s, %lld expected", argv[1] ? argv[1] : argv[0],
				 got, x->ckey, x->cwant);
			v = NAN;
		}
	}
	fclose(p.err);
	return v;
}

/* ---- servers -------------------------------------------------------------- */

static int srv_start(struct io *x, int kind, struct bench_proc *p, int *port, char *why)
{
	char path[4300], script[] = "bench/io/echo.st";
	static const char *bin[NSRV] = { NULL, "echo-go", "echo_uring", "echo_epoll" };
	char *argv[3] = { path, NULL, NULL };
	if (kind == S_BATON) {
		snprintf(path, sizeof path, "%s", x->baton);
		argv[1] = script;
	} else {
		snprintf(path, sizeof path, "%s/%s", x->dir, bin[kind]);
	}
	if (access(path, X_OK) < 0) {
		snprintf(why, WHY, "no %.120s (%s)", path,
			 kind == S_GO ? "golang-go missing or go build failed" : "not built");
		return -1;
	}
	if (bench_spawn(p, argv, x->cpu_srv, why) < 0)
		return -1;
	char line[256];
	int r = bench_read_line(p, 10, line, sizeof line);
	*port = r == 0 ? atoi(line) : 0;
	if (*port <= 0 || *port > 65535) {
		int st = bench_finish(p);
		bench_reason(p, st, r == -2 ? "printed no port within 10 s" : NULL, why);
		fclose(p->err);
		return -1;
	}
	return 0;
}

/* Stops the server; when it had died under the load, its reason wins. */
static void srv_stop(struct bench_proc *p, double *v, char *why)
{
	int st = 0;
	if (gone(p, &st)) {
		bench_reason(p, st, NULL, why);
		*v = NAN;
	}
	bench_finish(p);
	fclose(p->err);
}

static double echo_once(struct io *x, int kind, int conns, const char *key, char *why)
{
	struct bench_proc s;
	int port;
	if (srv_start(x, kind, &s, &port, why) < 0)
		return NAN;
	char lg[4300], ps[16], cs[16];
	snprintf(lg, sizeof lg, "%s/loadgen", x->dir);
	snprintf(ps, sizeof ps, "%d", port);
	snprintf(cs, sizeof cs, "%d", conns);
	char *argv[] = { lg, "-p", ps, "-c", cs, "-d", "1", "-a", conns > 1000 ? "16" : "1", NULL };
	x->watch = kind == S_BATON && conns == CONNS_10K ? s.pid : 0;
	double v = run_value(x, argv, x->cpu_load, 60, key, why);
	x->watch = 0;
	srv_stop(&s, &v, why);
	return v;
}

static double accept_once(struct io *x, int kind, char *why)
{
	struct bench_proc s;
	int port;
	if (srv_start(x, kind, &s, &port, why) < 0)
		return NAN;
	char al[4300], ps[16];
	snprintf(al, sizeof al, "%s/accept_loop", x->dir);
	snprintf(ps, sizeof ps, "%d", port);
	char *argv[] = { al, "-p", ps, "-d", "1", "-a", "16", NULL };
	double v = run_value(x, argv, x->cpu_load, 30, "accept_per_s", why);
	srv_stop(&s, &v, why);
	return v;
}

/* ---- a server's resources, from /proc ------------------------------------- */

static long status_field(const char *path, const char *field)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	size_t fl = strlen(field);
	long v = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = atol(line + fl + 1);
			break;
		}
	fclose(f);
	return v;
}

static long rss_bytes(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	long kb = status_field(path, "VmRSS");
	return kb < 0 ? -1 : kb * 1024;
}

/* Threads of [pid] and, in [ctx], the context switches of all of them. */
static int tasks(pid_t pid, long *ctx)
{
	char path[96];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	*ctx = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/status", (int)pid, e->d_name);
		long v = status_field(path, "voluntary_ctxt_switches");
		long nv = status_field(path, "nonvoluntary_ctxt_switches");
		*ctx += (v > 0 ? v : 0) + (nv > 0 ? nv : 0);
	}
	closedir(d);
	return n;
}

struct idle {
	double threads, rss_per_conn, wakeups;
};

/* 10,000 connections that made one round trip each, then sit idle. */
static int idle_once(struct io *x, int kind, struct idle *o, char *why)
{
	struct bench_proc s, l;
	int port;
	if (srv_start(x, kind, &s, &port, why) < 0)
		return -1;
	long rss0 = rss_bytes(s.pid);
	char lg[4300], ps[16], cs[16], line[256];
	snprintf(lg, sizeof lg, "%s/loadgen", x->dir);
	snprintf(ps, sizeof ps, "%d", port);
	snprintf(cs, sizeof cs, "%d", CONNS_10K);
	char *argv[] = { lg, "-p", ps, "-c", cs, "-m", "idle", "-d", "60", "-a", "16", NULL };
	double v = 0;
	int rc = -1, st;
	if (bench_spawn(&l, argv, x->cpu_load, why) < 0)
		goto out;
	int r = bench_read_line(&l, 45, line, sizeof line);
	if (r || strncmp(line, "ready", 5)) {
		st = bench_finish(&l);
		bench_reason(&l, st, r == -2 ? "loadgen: connections not ready within 45 s" : NULL, why);
		fclose(l.err);
		goto out;
	}
	bench_nap(0.3); /* the last echoes' processes reach their next read */
	long ctx0, ctx1;
	o->threads = tasks(s.pid, &ctx0);
	o->rss_per_conn = (double)(rss_bytes(s.pid) - rss0) / CONNS_10K;
	double t0 = bench_now_s();
	bench_nap(2);
	tasks(s.pid, &ctx1);
	o->wakeups = (double)(ctx1 - ctx0) / (bench_now_s() - t0);
	close(l.in); /* loadgen closes its connections and exits */
	l.in = -1;
	bench_read_line(&l, 10, line, sizeof line);
	bench_finish(&l);
	fclose(l.err);
	rc = 0;
out:
	srv_stop(&s, &v, why);
	return isnan(v) ? -1 : rc;
}

/* ---- the data files --------------------------------------------------------- */

/* The length of line i of the text file, and how many lines it has. */
static int line_len(long i)
{
	return 10 + (int)(i * 37 % 100);
}

static long long text_lines(void)
{
	long long n = 0;
	for (long total = 0; total < LINES_BYTES; n++)
		total += line_len((long)n) + 1;
	return n;
}

static int make_file(const char *path, int lines, char *why)
{
	struct stat sb;
	if (stat(path, &sb) == 0)
		return 0;
	char tmp[4400];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		goto fail;
	static char buf[1 << 20];
	if (lines) {
		/* lines of 10 to 109 characters, LF-terminated: 100 MB in all */
		long total = 0;
		for (long i = 0; total < LINES_BYTES; i++) {
			int n = line_len(i);
			for (int k = 0; k < n; k++)
				buf[k] = (char)('a' + (i + k) % 26);
			buf[n] = '\n';
			if (fwrite(buf, 1, (size_t)n + 1, f) != (size_t)n + 1)
				goto fail;
			total += n + 1;
		}
	} else {
		for (size_t k = 0; k < sizeof buf; k++)
			buf[k] = (char)(k * 131 + 7);
		for (int i = 0; i < FILE_MB; i++)
			if (fwrite(buf, 1, sizeof buf, f) != sizeof buf)
				goto fail;
	}
	if (fclose(f) == 0 && rename(tmp, path) == 0)
		return 0;
	f = NULL;
fail:
	snprintf(why, WHY, "cannot write %.120s: %s", tmp, strerror(errno));
	if (f)
		fclose(f);
	unlink(tmp);
	return -1;
}

/* ---- rows ----------------------------------------------------------------- */

struct acc {
	double v[REPS];
	int n, tried;
	char why[WHY];
};

static void take(struct acc *a, double v, const char *why)
{
	a->tried++;
	if (!isnan(v))
		a->v[a->n++] = v;
	else
		snprintf(a->why, WHY, "%s", why);
}

/* After a first failure a row is not tried again: a server that cannot
 * start would only cost time. */
static int live(struct acc *a)
{
	return a->n || !a->tried;
}

static double med(struct acc *a)
{
	return a->n ? bench_percentile(a->v, a->n, 50) : NAN;
}

static void row(struct io *x, const char *name, struct acc *a, const char *unit,
		const char *what, const char *goal)
{
	if (a->n)
		bench_row(x->b, name, med(a), unit, what, goal);
	else
		bench_row_na(x->b, name, unit, a->tried ? a->why : "not run");
}

static void ratio(struct io *x, const char *what, struct acc *num, struct acc *den)
{
	if (num->n && den->n && med(den) > 0)
		bench_ratio(x->b, what, med(num) / med(den));
}

static void echo_rows(struct io *x)
{
	static const int kinds100[] = { S_BATON, S_GO, S_URING, S_EPOLL };
	struct acc c100[NSRV] = { 0 }, c10k[NSRV] = { 0 }, c1[NSRV] = { 0 };
	char why[WHY];
	for (int r = 0; r < REPS; r++) {
		for (int k = 0; k < 4; k++) {
			int s = kinds100[k];
			if (live(&c100[s]))
				take(&c100[s], echo_once(x, s, 100, "rt_per_s", why), why);
			if (s != S_EPOLL && r < REPS_10K && live(&c10k[s]))
				take(&c10k[s], echo_once(x, s, CONNS_10K, "rt_per_s", why), why);
			if ((s == S_BATON || s == S_URING) && live(&c1[s]))
				take(&c1[s], echo_once(x, s, 1, "rt_us_median", why), why);
		}
	}
	const char *g = ">= go, >= 0.7 x liburing";
	row(x, "io.echo_rt_per_s_c100", &c100[S_BATON], "rt/s",
	    "echo, 100 conns, a process per conn", g);
	row(x, "ref.io_echo_go_c100", &c100[S_GO], "rt/s", "ref: Go, goroutine per conn", NULL);
	row(x, "ref.io_echo_liburing_c100", &c100[S_URING], "rt/s", "ref: C liburing, 1 thread",
	    NULL);
	row(x, "ref.io_echo_epoll_c100", &c100[S_EPOLL], "rt/s", "ref: C epoll, 1 thread", NULL);
	ratio(x, "ratio: baton / go c100 (goal >= 1)", &c100[S_BATON], &c100[S_GO]);
	ratio(x, "ratio: baton / liburing c100 (goal >= 0.7)", &c100[S_BATON], &c100[S_URING]);
	row(x, "io.echo_rt_per_s_c10k", &c10k[S_BATON], "rt/s",
	    "echo, 10,000 conns, a process per conn", g);
	row(x, "ref.io_echo_go_c10k", &c10k[S_GO], "rt/s", "ref: Go, goroutine per conn", NULL);
	row(x, "ref.io_echo_liburing_c10k", &c10k[S_URING], "rt/s", "ref: C liburing, 1 thread",
	    NULL);
	ratio(x, "ratio: baton / go c10k (goal >= 1)", &c10k[S_BATON], &c10k[S_GO]);
	ratio(x, "ratio: baton / liburing c10k (goal >= 0.7)", &c10k[S_BATON], &c10k[S_URING]);
	row(x, "io.echo_rt_us_c1", &c1[S_BATON], "us", "one conn's round trip, median",
	    "<= 1.2 x liburing");
	row(x, "ref.io_echo_liburing_us_c1", &c1[S_URING], "us", "ref: C liburing, same", NULL);
	ratio(x, "ratio: baton / liburing us c1 (goal <= 1.2)", &c1[S_BATON], &c1[S_URING]);
}

static void idle_rows(struct io *x)
{
	struct acc th = { 0 }, rss = { 0 }, wk = { 0 };
	char why[WHY], goal[32];
	struct idle o;
	for (int r = 0; r < REPS_10K && live(&th); r++) {
		int ok = idle_once(x, S_BATON, &o, why) == 0;
		take(&th, ok ? o.threads : NAN, why);
		take(&rss, ok ? o.rss_per_conn : NAN, why);
		take(&wk, ok ? o.wakeups : NAN, why);
	}
	/* Go's figures for the same 10,000 idle connections, for comparison */
	struct idle go;
	int have_go = idle_once(x, S_GO, &go, why) == 0;
	snprintf(goal, sizeof goal, "<= %ld", 2 * sysconf(_SC_NPROCESSORS_ONLN) + 4);
	/* the most threads seen: idle here, or under the c10k echo load */
	if (th.n && x->peak_tasks > med(&th))
		th.v[0] = x->peak_tasks, th.n = 1;
	row(x, "io.threads_c10k", &th, "tasks", "server threads, 10,000 conns, idle or busy",
	    goal);
	row(x, "io.rss_per_conn_bytes", &rss, "B", "server RSS delta / 10,000 idle conns",
	    "<= 4096");
	if (have_go)
		bench_note(x->b, "Go, same 10,000 idle conns (one round): %.0f B/conn, %.0f tasks, "
			   "%.1f wakeups/s", go.rss_per_conn, go.threads, go.wakeups);
	row(x, "io.idle_wakeups_per_s", &wk, "/s", "server context switches, 10,000 idle conns",
	    "= 0");
}

static void accept_rows(struct io *x)
{
	struct acc a[NSRV] = { 0 };
	char why[WHY];
	for (int r = 0; r < REPS; r++)
		for (int s = S_BATON; s <= S_GO; s++)
			if (live(&a[s]))
				take(&a[s], accept_once(x, s, why), why);
	row(x, "io.accept_per_s", &a[S_BATON], "/s", "connect, one echo, close; loop",
	    ">= go");
	row(x, "ref.io_accept_go_per_s", &a[S_GO], "/s", "ref: Go, same", NULL);
	ratio(x, "ratio: baton / go accepts (goal >= 1)", &a[S_BATON], &a[S_GO]);
}

static void file_rows(struct io *x)
{
	char data[4400], text[4400], cread[4300], why[WHY], st1[] = "bench/io/file_read.st",
									st2[] = "bench/io/lines.st",
									py[] = "python3",
									pys[] = "bench/io/lines.py";
	struct acc fb = { 0 }, fc = { 0 }, lb = { 0 }, lp = { 0 };
	snprintf(data, sizeof data, "%s/file256.bin", x->dir);
	snprintf(text, sizeof text, "%s/lines100.txt", x->dir);
	snprintf(cread, sizeof cread, "%s/file_read", x->dir);
	char *c_argv[] = { cread, data, NULL }, *b_argv[] = { x->baton, st1, data, NULL },
	     *p_argv[] = { py, pys, text, NULL }, *l_argv[] = { x->baton, st2, text, NULL };
	if (make_file(data, 0, why) < 0) {
		take(&fb, NAN, why);
		take(&fc, NAN, why);
	} else {
		run_value(x, c_argv, x->cpu_srv, 60, "mb_s", why); /* into the page cache */
	}
	if (make_file(text, 1, why) < 0) {
		take(&lb, NAN, why);
		take(&lp, NAN, why);
	}
	for (int r = 0; r < REPS; r++) {
		x->ckey = "bytes", x->cwant = (long long)FILE_MB << 20;
		if (live(&fc))
			take(&fc, run_value(x, c_argv, x->cpu_srv, 60, "mb_s", why), why);
		if (live(&fb))
			take(&fb, run_value(x, b_argv, x->cpu_srv, 60, "mb_s", why), why);
		x->ckey = "lines", x->cwant = text_lines();
		if (live(&lp))
			take(&lp, run_value(x, p_argv, x->cpu_srv, 60, "lines_per_s", why), why);
		if (live(&lb))
			take(&lb, run_value(x, l_argv, x->cpu_srv, 60, "lines_per_s", why), why);
	}
	x->ckey = NULL;
	row(x, "io.file_read_mb_s", &fb, "MB/s", "256 MB file, next: 1048576 (binary)",
	    ">= 0.8 x C");
	row(x, "ref.io_file_read_c_mb_s", &fc, "MB/s", "ref: C read() loop, 1 MB chunks", NULL);
	ratio(x, "ratio: baton / C file read (goal >= 0.8)", &fb, &fc);
	row(x, "io.lines_per_s", &lb, "lines/s", "100 MB text file, nextLine", ">= CPython");
	row(x, "ref.io_lines_python_per_s", &lp, "lines/s", "ref: CPython, for line in f", NULL);
	ratio(x, "ratio: baton / CPython lines (goal >= 1)", &lb, &lp);
}

/* The first two CPUs we may run on: load generator, server. */
static void pick_cpus(struct io *x)
{
	cpu_set_t set;
	x->cpu_load = x->cpu_srv = -1;
	if (sched_getaffinity(0, sizeof set, &set) < 0)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (x->cpu_load < 0) {
			x->cpu_load = c;
		} else {
			x->cpu_srv = c;
			return;
		}
	}
	x->cpu_load = -1; /* one CPU: nothing to pin apart */
}

void bench_io_rows(struct bench *b)
{
	struct io x = { .b = b };
	snprintf(x.baton, sizeof x.baton, "%s/../baton", b->bindir);
	snprintf(x.dir, sizeof x.dir, "%s/../bench/io", b->bindir);
	pick_cpus(&x);
	signal(SIGPIPE, SIG_IGN);
	if (x.cpu_srv >= 0)
		bench_note(b, "io: load generator on CPU %d, servers on CPU %d; medians of %d "
			   "rounds (%d with 10,000 conns)", x.cpu_load, x.cpu_srv, REPS, REPS_10K);
	else
		bench_note(b, "io: one CPU, nothing pinned; medians of %d rounds (%d with 10,000 "
			   "conns)", REPS, REPS_10K);
	const char *u = getenv("BATON_URING");
	if (u && !strcmp(u, "0"))
		bench_note(b, "io: BATON_URING=0: Baton's I/O runs on its epoll fallback");
	echo_rows(&x);
	idle_rows(&x);
	accept_rows(&x);
	file_rows(&x);
}
