// SPDX-License-Identifier: MIT
/*
 * selftests/hydra/capi.c: Hydra's C API for embedders (vm/hydra/api.h).
 *
 * Description: a C program starts heads (whole Smalltalk VMs on threads of
 * their own), sends them Strings, asks them to end and joins them: exit
 * statuses as baton's (0, quit: n, 65, 66, 143), arguments, messages from
 * C in order, a full inbox refused without waiting, a join with a
 * timeout, several heads at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selftests/harness.h"
#include "tools/lib/procfs.h"
#include "vm/hydra/api.h"

static int run(const char *src, int argc, char *const argv[])
{
	char *f = procfs_program("capi", src);
	if (!f)
		return -1;
	baton_head *h = baton_head_spawn(f, argc, argv, NULL);
	int st = h ? baton_head_join(h, -1) : -errno;
	if (h)
		baton_head_release(h);
	unlink(f);
	free(f);
	return st;
}

TEST(statuses_are_batons)
{
	ASSERT_EQ(0, run("3 + 4.\n", 0, NULL));
	ASSERT_EQ(7, run("Smalltalk quit: 7.\n", 0, NULL));
	ASSERT_EQ(1, run("nil foo.\n", 0, NULL));
	ASSERT_EQ(65, run("1 + .\n", 0, NULL));
	baton_head *h = baton_head_spawn("/nonexistent/x.st", 0, NULL, NULL);
	ASSERT_NE_NULL(h);
	ASSERT_EQ(66, baton_head_join(h, -1));
	ASSERT_EQ(0, baton_head_running(h));
	baton_head_release(h);
}

TEST(arguments_reach_the_program)
{
	char *const argv[] = {"abc", "de"};
	ASSERT_EQ(5, run("| a | a := Smalltalk arguments.\n"
			 "Smalltalk quit: (a at: 1) size + (a at: 2) size.\n",
			 2, argv));
}

TEST(strings_sent_from_c_arrive_in_order)
{
	char *f = procfs_program("capi", "| a b c |\n"
			  "a := VM receive. b := VM receive. c := VM receive.\n"
			  "VM parent isNil ifFalse: [Smalltalk quit: 99].\n"
			  "Smalltalk quit: (((a = 'one' and: [b = 'two']) and: [c = 'three'])\n"
			  "  ifTrue: [3] ifFalse: [4]).\n");
	ASSERT_NE_NULL(f);
	baton_head *h = baton_head_spawn(f, 0, NULL, NULL);
	ASSERT_NE_NULL(h);
	ASSERT_EQ(1, baton_head_send_string(h, "one", 3));
	ASSERT_EQ(1, baton_head_send_string(h, "two", 3));
	ASSERT_EQ(1, baton_head_send_string(h, "three", 5));
	ASSERT_EQ(3, baton_head_join(h, -1));
	ASSERT_EQ(-1, baton_head_send_string(h, "late", 4)); /* it has ended */
	baton_head_release(h);
	unlink(f);
	free(f);
}

TEST(a_full_inbox_refuses_without_waiting)
{
	/* the head computes for a while (a second or so) before it takes
	 * anything: we fill its inbox long before */
	char *f = procfs_program("capi", "| n s | s := 0. 1 to: 20000000 do: [:i | s := s + i]. n := 0.\n"
			  "[VM receive = 'stop'] whileFalse: [n := n + 1].\n"
			  "Smalltalk quit: n.\n");
	ASSERT_NE_NULL(f);
	struct baton_head_opts o = {.inbox = 3};
	baton_head *h = baton_head_spawn(f, 0, NULL, &o);
	ASSERT_NE_NULL(h);
	ASSERT_EQ(1, baton_head_send_string(h, "x", 1));
	ASSERT_EQ(1, baton_head_send_string(h, "x", 1));
	ASSERT_EQ(1, baton_head_send_string(h, "x", 1));
	ASSERT_EQ(0, baton_head_send_string(h, "x", 1)); /* full: refused at once */
	/* room comes as the head takes: then 'stop' goes in */
	while (baton_head_send_string(h, "stop", 4) != 1)
		ASSERT_EQ(-ETIMEDOUT, baton_head_join(h, 1000000)); /* running: wait a ms, look again */
	ASSERT_EQ(3, baton_head_join(h, -1));
	baton_head_release(h);
	unlink(f);
	free(f);
}

TEST(terminate_ends_a_waiting_head_with_143)
{
	char *f = procfs_program("capi", "VM receive.\n");
	ASSERT_NE_NULL(f);
	baton_head *h = baton_head_spawn(f, 0, NULL, NULL);
	ASSERT_NE_NULL(h);
	ASSERT_EQ(-ETIMEDOUT, baton_head_join(h, 20 * 1000000LL));
	ASSERT_EQ(1, baton_head_running(h));
	baton_head_terminate(h);
	ASSERT_EQ(143, baton_head_join(h, -1));
	ASSERT_EQ(0, baton_head_running(h));
	baton_head_release(h);
	unlink(f);
	free(f);
}

TEST(heads_run_side_by_side)
{
	char *f = procfs_program("capi", "| s | s := 0. 1 to: 300000 do: [:i | s := s + (i \\\\ 7)].\n"
			  "Smalltalk quit: s \\\\ 200.\n");
	ASSERT_NE_NULL(f);
	long s = 0;
	for (long i = 1; i <= 300000; i++)
		s += i % 7;
	baton_head *h[4];
	for (int i = 0; i < 4; i++) {
		h[i] = baton_head_spawn(f, 0, NULL, NULL);
		ASSERT_NE_NULL(h[i]);
	}
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ((int)(s % 200), baton_head_join(h[i], -1));
		baton_head_release(h[i]);
	}
	unlink(f);
	free(f);
}

TEST_HARNESS_MAIN
