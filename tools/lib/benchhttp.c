// SPDX-License-Identifier: MIT
/*
 * tools/lib/benchhttp.c: the http rows of `make bench` (issue 9): the HTTP
 * package's hello server (bench/http/hello.st) against Go's net/http
 * (bench/http/hello.go, built by the Makefile), both answering GET /hello
 * with a 64-byte body, measured in the same run: wrk -t1 keep-alive at 100
 * and 1,000 connections (requests/s, and the p99 latency at 100), and the
 * server's resident memory with 1,000 idle keep-alive connections (each
 * served one request first). Server on one CPU, wrk on another, the two
 * servers take turns, medians of REPS rounds. A missing wrk or Go, or a
 * server that fails, gives "n/a" and the reason, never a failed make bench.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/lib/bench.h"
#include "tools/lib/procfs.h"

#define REPS 3
#define WHY BENCH_WHY
#define SECS "2s"
#define IDLE_CONNS 1000

enum { H_BATON, H_GO, NH };

struct hb {
	struct bench *b;
	char baton[4200], go[4200];
	int cpu_load, cpu_srv;
};

/* All of the child's stdout until it ends or [secs] pass; -1 on timeout. */
static int slurp(struct bench_proc *c, double secs, char *buf, size_t sz)
{
	size_t len = 0;
	double end = bench_now_s() + secs;
	for (;;) {
		double left = end - bench_now_s();
		if (left <= 0)
			return -1;
		struct pollfd pf = { .fd = c->out, .events = POLLIN };
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		ssize_t r = read(c->out, buf + len, sz - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == sz - 1)
			len = 0;
	}
	buf[len] = 0;
	return 0;
}

/* Starts server [k] and reads its port (its first line) within 20 s. */
static int srv_start(struct hb *h, int k, struct bench_proc *c, char *why)
{
	char script[] = "bench/http/hello.st";
	char *argv[3] = { k == H_BATON ? h->baton : h->go, k == H_BATON ? script : NULL, NULL };
	if (access(argv[0], X_OK) < 0) {
		snprintf(why, WHY, "no %.120s (%s)", argv[0],
			 k == H_GO ? "golang-go missing or go build failed" : "not built");
		return -1;
	}
	if (bench_spawn(c, argv, h->cpu_srv, why) < 0)
		return -1;
	char line[64];
	size_t n = 0;
	double end = bench_now_s() + 20;
	while (n < sizeof line - 1 && bench_now_s() < end) {
		struct pollfd pf = { .fd = c->out, .events = POLLIN };
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (read(c->out, line + n, 1) != 1)
			break;
		if (line[n++] == '\n')
			break;
	}
	line[n] = 0;
	int port = atoi(line);
	if (port <= 0 || port > 65535) {
		int st = bench_finish(c);
		bench_reason(c, st, NULL, why);
		if (!n)
			snprintf(why + strlen(why), WHY - strlen(why), " (no port)");
		fclose(c->err);
		return -1;
	}
	return port;
}

/* A server that died under the load: its reason, and no value. */
static void srv_stop(struct bench_proc *c, double *v, char *why)
{
	int st = 0;
	if (waitpid(c->pid, &st, WNOHANG) == c->pid) {
		bench_reason(c, st, NULL, why);
		v[0] = v[1] = NAN;
	}
	bench_finish(c);
	fclose(c->err);
}

static double latency_ms(const char *out, const char *pct)
{
	const char *p = strstr(out, pct);
	if (!p)
		return NAN;
	char *e;
	double v = strtod(p + strlen(pct), &e);
	if (e[0] == 'u' && e[1] == 's')
		return v / 1000;
	if (e[0] == 'm' && e[1] == 's')
		return v;
	if (e[0] == 's')
		return v * 1000;
	return NAN;
}

/* wrk -t1 against server [k] with [conns]: v[0] requests/s, v[1] p99 ms. */
static void wrk_once(struct hb *h, int k, int conns, double v[2], char *why)
{
	struct bench_proc s, w;
	v[0] = v[1] = NAN;
	int port = srv_start(h, k, &s, why);
	if (port < 0)
		return;
	char url[64], cs[16], out[16384];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
	snprintf(cs, sizeof cs, "%d", conns);
	char *argv[] = { "wrk", "-t1", "-c", cs, "-d", SECS, "--latency", url, NULL };
	if (bench_spawn(&w, argv, h->cpu_load, why) == 0) {
		int r = slurp(&w, 60, out, sizeof out);
		int st = bench_finish(&w);
		const char *rq = strstr(out, "Requests/sec:");
		if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) || !rq) {
			bench_reason(&w, st, NULL, why);
		} else if (strstr(out, "Non-2xx") || strstr(out, "Socket errors: connect")) {
			snprintf(why, WHY, "wrk saw errors: %.150s", strstr(out, "Non-2xx") ? strstr(out, "Non-2xx") : strstr(out, "Socket errors"));
			why[strcspn(why, "\n")] = 0;
		} else {
			v[0] = atof(rq + strlen("Requests/sec:"));
			v[1] = latency_ms(out, " 99%");
		}
		fclose(w.err);
	}
	srv_stop(&s, v, why);
}

/* VmRSS of process [pid] in KB, -1 if unreadable (tools/lib/procfs.c) */
static long rss_kb(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return (long)procfs_status_field(path, "VmRSS");
}

/* Server [k]'s resident memory with IDLE_CONNS keep-alive connections, each
 * of which was answered once. */
static double idle_once(struct hb *h, int k, char *why)
{
	struct bench_proc s;
	static int fds[IDLE_CONNS];
	double v[2] = { NAN, NAN };
	int port = srv_start(h, k, &s, why), n = 0, done = 0;
	if (port < 0)
		return NAN;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char rq[] = "GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n";
	for (; n < IDLE_CONNS; n++) {
		fds[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[n] < 0 || connect(fds[n], (struct sockaddr *)&a, sizeof a) < 0 ||
		    write(fds[n], rq, sizeof rq - 1) != (ssize_t)(sizeof rq - 1)) {
			snprintf(why, WHY, "connection %d: %s", n, strerror(errno));
			if (fds[n] >= 0)
				close(fds[n]);
			goto out;
		}
	}
	/* every answer ends with the 64-byte body of x's */
	double end = bench_now_s() + 30;
	for (int i = 0; i < n && bench_now_s() < end; i++) {
		char buf[1024];
		size_t len = 0;
		while (bench_now_s() < end) {
			struct pollfd pf = { .fd = fds[i], .events = POLLIN };
			if (poll(&pf, 1, 100) <= 0)
				continue;
			ssize_t r = read(fds[i], buf + len, sizeof buf - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			if (len >= 64 && !memcmp(buf + len - 4, "xxxx", 4) && memmem(buf, len, "\r\n\r\n", 4))
				break;
			if (len == sizeof buf)
				len = 0;
		}
		done++;
	}
	if (done < n) {
		snprintf(why, WHY, "%d of %d connections answered within 30 s", done, n);
		goto out;
	}
	bench_nap(0.3); /* let the server settle into waiting */
	long kb = rss_kb(s.pid);
	v[0] = kb > 0 ? (double)kb : NAN;
	if (kb <= 0)
		snprintf(why, WHY, "no VmRSS for the server");
out:
	for (int i = 0; i < n; i++)
		close(fds[i]);
	srv_stop(&s, v, why);
	return v[0];
}

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

static int live(struct acc *a) { return a->n || !a->tried; }

static double med(struct acc *a) { return a->n ? bench_percentile(a->v, a->n, 50) : NAN; }

static void row(struct hb *h, const char *name, struct acc *a, const char *unit, const char *what,
		const char *goal)
{
	if (a->n)
		bench_row(h->b, name, med(a), unit, what, goal);
	else
		bench_row_na(h->b, name, unit, a->tried ? a->why : "not run");
}

static void ratio(struct hb *h, const char *what, struct acc *num, struct acc *den)
{
	if (num->n && den->n && med(den) > 0)
		bench_ratio(h->b, what, med(num) / med(den));
}

static int have_wrk(void)
{
	return system("command -v wrk >/dev/null 2>&1") == 0;
}

void bench_http_rows(struct bench *b)
{
	struct hb h = { .b = b, .cpu_load = -1, .cpu_srv = -1 };
	snprintf(h.baton, sizeof h.baton, "%s/../baton", b->bindir);
	snprintf(h.go, sizeof h.go, "%s/../bench/http/hello-go", b->bindir);
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set)) {
				if (h.cpu_load < 0)
					h.cpu_load = c;
				else if (h.cpu_srv < 0)
					h.cpu_srv = c;
			}
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct acc c100[NH] = { 0 }, p99[NH] = { 0 }, c1k[NH] = { 0 }, rss[NH] = { 0 };
	char why[WHY] = "";
	int wrk = have_wrk();
	if (h.cpu_srv >= 0)
		bench_note(b, "http: wrk on CPU %d, servers on CPU %d; wrk -t1 -d%s, medians of %d "
			   "rounds", h.cpu_load, h.cpu_srv, SECS, REPS);
	for (int r = 0; r < REPS; r++)
		for (int k = 0; k < NH; k++) {
			double v[2];
			if (wrk && live(&c100[k])) {
				wrk_once(&h, k, 100, v, why);
				take(&c100[k], v[0], why);
				take(&p99[k], v[1], why);
			}
			if (wrk && live(&c1k[k])) {
				wrk_once(&h, k, 1000, v, why);
				take(&c1k[k], v[0], why);
			}
			if (live(&rss[k]))
				take(&rss[k], idle_once(&h, k, why), why);
		}
	if (!wrk)
		for (int k = 0; k < NH; k++) {
			take(&c100[k], NAN, "wrk missing (DEPS_BENCH=1 installs it)");
			take(&p99[k], NAN, "wrk missing (DEPS_BENCH=1 installs it)");
			take(&c1k[k], NAN, "wrk missing (DEPS_BENCH=1 installs it)");
		}
	row(&h, "http.hello_req_per_s_c100", &c100[H_BATON], "req/s",
	    "HTTP hello, wrk -t1 -c100 keep-alive", ">= go");
	row(&h, "ref.http_hello_go_c100", &c100[H_GO], "req/s", "ref: Go net/http, same", NULL);
	ratio(&h, "ratio: baton / go req/s c100 (goal >= 1)", &c100[H_BATON], &c100[H_GO]);
	row(&h, "http.hello_req_per_s_c1000", &c1k[H_BATON], "req/s",
	    "HTTP hello, wrk -t1 -c1000 keep-alive", ">= go");
	row(&h, "ref.http_hello_go_c1000", &c1k[H_GO], "req/s", "ref: Go net/http, same", NULL);
	ratio(&h, "ratio: baton / go req/s c1000 (goal >= 1)", &c1k[H_BATON], &c1k[H_GO]);
	row(&h, "http.hello_p99_ms_c100", &p99[H_BATON], "ms", "p99 latency of the c100 run",
	    "<= go");
	row(&h, "ref.http_hello_go_p99_ms_c100", &p99[H_GO], "ms", "ref: Go net/http, same", NULL);
	ratio(&h, "ratio: baton / go p99 c100 (goal <= 1)", &p99[H_BATON], &p99[H_GO]);
	row(&h, "http.rss_1000_idle_kb", &rss[H_BATON], "KB",
	    "server RSS, 1,000 idle keep-alive conns", "<= go");
	row(&h, "ref.http_rss_go_1000_idle_kb", &rss[H_GO], "KB", "ref: Go net/http, same", NULL);
	ratio(&h, "ratio: baton / go RSS (goal <= 1)", &rss[H_BATON], &rss[H_GO]);
}
