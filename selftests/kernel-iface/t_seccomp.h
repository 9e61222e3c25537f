// SPDX-License-Identifier: MIT
/*
 * t_seccomp.h: selftest helpers that install seccomp filters: refusing one
 * system call with a chosen errno, and killing the process on any system
 * call but write and exit (the proof that a fast path makes none).
 *
 * Owns the way tests reproduce "io_uring blocked" (Docker's default seccomp
 * profile) on a machine where io_uring works. The filter is inherited by
 * threads created afterwards and dies with the forked test. Test code only.
 */
#ifndef T_SECCOMP_H
#define T_SECCOMP_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define T_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define T_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC 1
#endif

/* 0, or -1 with the reason in [why] (the caller skips). [all_threads]:
 * also for the threads already running (SECCOMP_FILTER_FLAG_TSYNC). */
static inline int t_seccomp_refuse(long nr, int err, int all_threads, char *why, size_t n)
{
#ifdef T_AUDIT_ARCH
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    all_threads ? SECCOMP_FILTER_FLAG_TSYNC : 0, &prog)) {
		snprintf(why, n, "cannot install a seccomp filter: %m");
		return -1;
	}
	return 0;
#else
	(void)nr;
	(void)err;
	(void)all_threads;
	snprintf(why, n, "seccomp test filter not written for this architecture");
	return -1;
#endif
}

/* Kills the process on any system call but write, exit and exit_group:
 * a test that survives code run after it made no other system call. This
 * thread only (no TSYNC): helper threads such as the heartbeat go on as
 * usual. 0, or -1 with errno when the filter cannot be installed. */
static inline int t_seccomp_only_write_exit(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

#endif /* T_SECCOMP_H */
