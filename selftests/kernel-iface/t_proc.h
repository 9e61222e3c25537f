// SPDX-License-Identifier: MIT
/*
 * t_proc.h: selftest helpers that look at threads through /proc/self/task.
 *
 * Owns "is this thread asleep in that system call" checks, so that tests
 * know a waiter really sleeps in the kernel before waking it, instead of
 * sleeping for a while and hoping. Test code only.
 */
#ifndef T_PROC_H
#define T_PROC_H

#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "tools/lib/procfs.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* State letter of thread [tid] ('R', 'S', 'D'...), or 0 if unreadable. */
static inline char t_task_state(int tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* comm may hold spaces and parens */
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * The system call thread [tid] is blocked in, and its first argument:
 * 1 if blocked, 0 if running, -1 if /proc/PID/syscall is unavailable.
 */
static inline int t_task_syscall(int tid, long *nr, uint64_t *arg0)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	if (n == 0)
		return -1;
	if (!strncmp(buf, "running", 7))
		return 0;
	char *end;
	*nr = strtol(buf, &end, 10);
	*arg0 = strtoull(end, NULL, 16);
	return *nr >= 0;
}

/* Is [tid] asleep ('S') in one of the [n] system calls [nrs] (with first
 * argument [arg0] unless it is 0)? Without /proc/PID/syscall, the state
 * alone decides. */
static inline int t_task_sleeps_in_one_of(int tid, const long *nrs, int n, uint64_t arg0)
{
	long seen;
	uint64_t a;
	if (t_task_state(tid) != 'S')
		return 0;
	int r = t_task_syscall(tid, &seen, &a);
	if (r < 0)
		return 1;
	if (r != 1 || (arg0 && a != arg0))
		return 0;
	for (int i = 0; i < n; i++)
		if (seen == nrs[i]) /* the syscall line must describe the same sleep */
			return t_task_state(tid) == 'S';
	return 0;
}

/* Is [tid] asleep ('S') in system call [nr] (with first argument [arg0]
 * unless it is 0)? */
static inline int t_task_sleeps_in(int tid, long nr, uint64_t arg0)
{
	return t_task_sleeps_in_one_of(tid, &nr, 1, arg0);
}

/* Is [tid] asleep in an event loop's kernel wait (io_uring_enter or one of
 * the epoll waits)? */
static inline int t_task_sleeps_in_loop(int tid)
{
	static const long nrs[] = { SYS_io_uring_enter, SYS_epoll_wait, SYS_epoll_pwait,
				    SYS_epoll_pwait2 };
	return t_task_sleeps_in_one_of(tid, nrs, (int)(sizeof nrs / sizeof nrs[0]), 0);
}

/* Polls (yielding the CPU) until t_task_sleeps_in() holds. Never gives up:
 * the harness timeout ends a test whose thread never sleeps. */
static inline void t_wait_sleeping_in(int tid, long nr, uint64_t arg0)
{
	while (!t_task_sleeps_in(tid, nr, arg0))
		sched_yield();
}

/* The tid of this process's thread named [comm], or -1 (-2: several). */
static inline int t_find_thread(const char *comm)
{
	struct procfs_task t;
	int found = -1;
	if (procfs_task_open(&t))
		return -1;
	while (procfs_task_next(&t))
		if (!strcmp(t.comm, comm))
			found = found == -1 ? t.tid : -2;
	return found;
}

#endif /* T_PROC_H */
