// SPDX-License-Identifier: MIT
/*
 * selftests/signals/child_reset.c: vio_sig_child_reset() (vm/io/io.h), what a
 * child forked from the VM calls before execve when Smalltalk signal
 * handlers are installed.
 *
 * Description: in the parent the five handled signals are blocked (as the
 * signalfd way leaves them) and have a handler; a forked child that calls
 * vio_sig_child_reset() has them unblocked with the default disposition,
 * and a program it execs sees the default mask (SigBlk in /proc/self/status
 * has none of them). Other blocked signals and handlers are left alone.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "selftests/harness.h"
#include "vm/io/io.h"

static const int five[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2};

static void nothing(int sig) { (void)sig; }

/* Blocks the five and SIGWINCH and gives them a handler; answers the old mask. */
static sigset_t parent_state(void)
{
	sigset_t set, old;
	sigemptyset(&set);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = nothing;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof five / sizeof five[0]; i++) {
		sigaddset(&set, five[i]);
		sigaction(five[i], &sa, NULL);
	}
	sigaddset(&set, SIGWINCH);
	sigaction(SIGWINCH, &sa, NULL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	return old;
}

static void parent_restore(sigset_t old)
{
	for (size_t i = 0; i < sizeof five / sizeof five[0]; i++)
		signal(five[i], SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

TEST(child_reset_unblocks_the_five_and_restores_their_default)
{
	sigset_t old = parent_state();
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		vio_sig_child_reset();
		sigset_t now;
		pthread_sigmask(SIG_SETMASK, NULL, &now);
		int bad = 0;
		for (size_t i = 0; i < sizeof five / sizeof five[0]; i++) {
			struct sigaction sa;
			sigaction(five[i], NULL, &sa);
			if (sigismember(&now, five[i]) || sa.sa_handler != SIG_DFL)
				bad |= 1;
		}
		struct sigaction w;
		sigaction(SIGWINCH, NULL, &w);
		if (!sigismember(&now, SIGWINCH) || w.sa_handler != nothing)
			bad |= 2; /* not ours: left as it was */
		_exit(bad);
	}
	int st = 0;
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	parent_restore(old);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st)) TH_LOG("1: one of the five still blocked or handled; 2: SIGWINCH changed");
}

/* The mask an exec'd program starts with: SigBlk of /proc/self/status, read by sh. */
TEST(an_execd_child_starts_with_none_of_the_five_blocked)
{
	sigset_t old = parent_state();
	int p[2];
	ASSERT_EQ(0, pipe(p));
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		vio_sig_child_reset();
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", "grep '^SigBlk:' /proc/self/status", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[256] = {0};
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0)
		n += r;
	close(p[0]);
	int st = 0;
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	parent_restore(old);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("sh/grep failed: %s", buf);
	unsigned long long mask = strtoull(strchr(buf, ':') + 1, NULL, 16);
	for (size_t i = 0; i < sizeof five / sizeof five[0]; i++)
		EXPECT_EQ(0, mask & (1ull << (five[i] - 1))) TH_LOG("signal %d blocked: %s", five[i], buf);
}

TEST_HARNESS_MAIN
