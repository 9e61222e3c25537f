// SPDX-License-Identifier: MIT
/*
 * bench/io/loadgen.c: the closed-loop load generator of the io benchmarks.
 *
 * Opens N TCP connections to an echo server; each sends SIZE bytes and
 * waits until all of them came back before it sends again. Every byte that
 * comes back is checked (each round trip sends a different letter), so a
 * server that loses or mixes up bytes fails the run instead of scoring. Modes:
 *   echo  run for -d seconds, print "rt_per_s V" (round trips per second)
 *         and, with -c 1, "rt_us_median V" (the median round trip).
 *   idle  make one round trip on every connection (so the server has
 *         accepted it and waits in a read), print "ready N", then hold the
 *         connections open until stdin ends or -d seconds pass.
 * Connections are opened with at most WINDOW of them waiting for their
 * first echo: a server that accepts slowly never sees its accept queue
 * overflow (a dropped SYN costs a 1 s retransmit). Sources rotate over
 * 127.0.0.1 .. 127.0.0.A (-a) so that ephemeral ports never run out.
 *
 * usage: loadgen -p PORT [-c N] [-d SECONDS] [-s SIZE] [-a ADDRS] [-m echo|idle]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 256
#define MAXSIZE 4096
#define SETUP_S 30 /* a bound on opening all connections */

struct conn {
	int fd;
	unsigned got; /* bytes of the current echo received */
	unsigned seq; /* round trips sent: picks the message's bytes */
	int ready;    /* made its first round trip */
};

struct lg {
	int port, nconn, size, naddr, idle;
	double secs;
	struct conn *c;
	int ep;
	char msg[26][MAXSIZE]; /* message k is SIZE times 'a' + k */
	long rts;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A blocking connect from 127.0.0.(1 + i % naddr): the kernel completes
 * the handshake on loopback without the server's help. */
static int dial(struct lg *g, int i)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (g->naddr > 1) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		src.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(i % g->naddr));
		/* the port is chosen at connect time, per destination */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0)
			die("bind");
	}
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g->port) };
	a.sin_addr.s_addr = htonl(0x7f000001u);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	return fd;
}

static void put(struct lg *g, struct conn *c)
{
	ssize_t n = write(c->fd, g->msg[c->seq % 26], (size_t)g->size);
	if (n != g->size)
		die("write (short or failed)");
	c->got = 0;
	c->seq++;
}

/* Reads what is there; answers 1 when the whole echo is back. */
static int take(struct lg *g, struct conn *c)
{
	char buf[MAXSIZE];
	ssize_t n = read(c->fd, buf, sizeof buf);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		errno = n ? errno : ECONNRESET;
		die("read (server closed?)");
	}
	/* every byte is checked: an echo of the wrong bytes is an error */
	char want = g->msg[(c->seq - 1) % 26][0];
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != want || c->got + (unsigned)i >= (unsigned)g->size) {
			fprintf(stderr, "loadgen: wrong echo: byte %u is %d, %d expected\n",
				c->got + (unsigned)i, buf[i], want);
			exit(1);
		}
	c->got += (unsigned)n;
	return c->got == (unsigned)g->size;
}

/* Handles up to 512 readable connections; answers how many finished a
 * round trip. Each finished one sends again unless [again] is 0. */
static int step(struct lg *g, int timeout_ms, int again)
{
	struct epoll_event ev[512];
	int n = epoll_wait(g->ep, ev, 512, timeout_ms), done = 0;
	if (n < 0 && errno != EINTR)
		die("epoll_wait");
	for (int i = 0; i < n; i++) {
		struct conn *c = &g->c[ev[i].data.u32];
		if (!take(g, c))
			continue;
		done++;
		if (!c->ready) {
			c->ready = 1;
			if (!again)
				continue;
		}
		if (again)
			put(g, c);
	}
	return done;
}

static void open_all(struct lg *g)
{
	int opened = 0, ready = 0;
	double limit = now_s() + SETUP_S;
	while (ready < g->nconn) {
		while (opened < g->nconn && opened - ready < WINDOW) {
			struct conn *c = &g->c[opened];
			c->fd = dial(g, opened);
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)opened };
			if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
				die("epoll_ctl");
			put(g, c);
			opened++;
		}
		ready += step(g, 100, 0);
		if (now_s() > limit) {
			fprintf(stderr, "loadgen: only %d of %d connections echoed within %d s\n",
				ready, g->nconn, SETUP_S);
			exit(1);
		}
	}
	/* step() did not resend for first echoes: start every connection now */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One connection, blocking calls: the round trip's own latency. */
static void run_one(struct lg *g)
{
	size_t cap = 1u << 20, n = 0;
	double *us = malloc(cap * sizeof *us);
	if (!us)
		die("malloc");
	struct conn *c = &g->c[0];
	double t0 = now_s(), end = t0 + g->secs, t;
	do {
		double s = now_s();
		put(g, c);
		while (!take(g, c))
			;
		t = now_s();
		if (n < cap)
			us[n++] = (t - s) * 1e6;
	} while (t < end);
	qsort(us, n, sizeof *us, cmp_double);
	printf("rt_per_s %.1f\nrt_us_median %.2f\n", (double)n / (t - t0), us[n / 2]);
	free(us);
}

static void run_many(struct lg *g)
{
	for (int i = 0; i < g->nconn; i++)
		put(g, &g->c[i]);
	double t0 = now_s(), end = t0 + g->secs, t;
	long rts = 0;
	while ((t = now_s()) < end)
		rts += step(g, 50, 1);
	printf("rt_per_s %.1f\n", (double)rts / (t - t0));
}

static void hold(struct lg *g)
{
	printf("ready %d\n", g->nconn);
	fflush(stdout);
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char b[64];
	double end = now_s() + g->secs;
	for (double t; (t = now_s()) < end;) {
		int r = poll(&p, 1, (int)((end - t) * 1000) + 1);
		if (r > 0 && read(0, b, sizeof b) <= 0)
			break;
	}
}

int main(int argc, char **argv)
{
	struct lg g = { .nconn = 1, .size = 64, .naddr = 1, .secs = 1 };
	int o;
	while ((o = getopt(argc, argv, "p:c:d:s:a:m:")) != -1) {
		switch (o) {
		case 'p': g.port = atoi(optarg); break;
		case 'c': g.nconn = atoi(optarg); break;
		case 'd': g.secs = atof(optarg); break;
		case 's': g.size = atoi(optarg); break;
		case 'a': g.naddr = atoi(optarg); break;
		case 'm': g.idle = !strcmp(optarg, "idle"); break;
		default:
			fprintf(stderr, "usage: loadgen -p PORT [-c N] [-d S] [-s SIZE] [-a ADDRS] [-m echo|idle]\n");
			return 2;
		}
	}
	if (g.port <= 0 || g.nconn < 1 || g.size < 1 || g.size > MAXSIZE || g.naddr < 1 ||
	    g.naddr > 250) {
		fprintf(stderr, "loadgen: bad arguments\n");
		return 2;
	}
	raise_nofile();
	for (int k = 0; k < 26; k++)
		memset(g.msg[k], 'a' + k, MAXSIZE);
	g.c = calloc((size_t)g.nconn, sizeof *g.c);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.c || g.ep < 0)
		die("setup");
	open_all(&g);
	if (g.idle)
		hold(&g);
	else if (g.nconn == 1)
		run_one(&g);
	else
		run_many(&g);
	fflush(stdout);
	return 0;
}
