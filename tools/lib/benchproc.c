// SPDX-License-Identifier: MIT
/*
 * tools/lib/benchproc.c: the programs a bench row starts (servers, load
 * generators, reference scripts): stdin and stdout on pipes, stderr in a
 * temporary file that explains a failure, pinned to one CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/lib/bench.h"

int bench_spawn(struct bench_proc *p, char *const argv[], int cpu, char *why)
{
	int in[2], out[2];
	memset(p, 0, sizeof *p);
	p->err = tmpfile();
	if (!p->err || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		snprintf(why, BENCH_WHY, "cannot start %.120s: %s", argv[0], strerror(errno));
		return -1;
	}
	fcntl(fileno(p->err), F_SETFD, FD_CLOEXEC); /* not for the other children */
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof set, &set);
		}
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(fileno(p->err), 2);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	if (p->pid < 0) {
		snprintf(why, BENCH_WHY, "fork: %s", strerror(errno));
		close(p->in), close(p->out), fclose(p->err);
		return -1;
	}
	return 0;
}

/* Reads stdout until a line is complete (answers 0 and the line in
 * [line]), the end (-1) or the deadline (-2). */
int bench_read_line(struct bench_proc *p, double secs, char *line, size_t sz)
{
	double end = bench_now_s() + secs;
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf);
			snprintf(line, sz, "%.*s", (int)n, p->buf);
			memmove(p->buf, nl + 1, p->len - n - 1);
			p->len -= n + 1;
			return 0;
		}
		double left = end - bench_now_s();
		if (left <= 0)
			return -2;
		struct pollfd pf = { .fd = p->out, .events = POLLIN };
		if (poll(&pf, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		if (p->len == sizeof p->buf - 1)
			p->len = 0; /* an endless line: keep the tail only */
		ssize_t r = read(p->out, p->buf + p->len, sizeof p->buf - 1 - p->len);
		if (r <= 0)
			return -1;
		p->len += (size_t)r;
	}
}

/* The first line of the child's stderr, else how it ended. */
void bench_reason(struct bench_proc *p, int status, const char *dflt, char *why)
{
	char line[BENCH_WHY];
	rewind(p->err);
	while (fgets(line, sizeof line, p->err)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0]) {
			snprintf(why, BENCH_WHY, "%s", line);
			return;
		}
	}
	if (dflt)
		snprintf(why, BENCH_WHY, "%s", dflt);
	else if (WIFSIGNALED(status))
		snprintf(why, BENCH_WHY, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, BENCH_WHY, "exit status %d", WEXITSTATUS(status));
}

/* Ends the child (SIGKILL unless it already ended) and answers its status. */
int bench_finish(struct bench_proc *p)
{
	int st = 0;
	if (waitpid(p->pid, &st, WNOHANG) == 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
	}
	if (p->in >= 0)
		close(p->in);
	close(p->out);
	return st;
}
