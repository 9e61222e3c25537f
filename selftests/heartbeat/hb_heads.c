// SPDX-License-Identifier: MIT
/*
 * hb_heads.c: Hydra heads and the heartbeat: by default every spawned head
 * is a client of the process's one shared heartbeat thread (baton-hbg);
 * BATON_HEARTBEAT=per-head gives each head its own (baton-hb).
 *
 * See Documentation/core/heartbeat.md ("One heartbeat per head, or one for all").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selftests/harness.h"
#include "selftests/ownership/common.h"
#include "tools/lib/procfs.h"
#include "vm/hydra/api.h"

#define HEADS 3

/* Spawns HEADS heads with a one-message inbox, and answers once each has
 * taken a first message (it runs, so its core and heartbeat exist; it
 * then waits in VM receive). */
static int t_spawn(baton_head **h, const char *file)
{
	struct baton_head_opts o = { .inbox = 1 };
	for (int i = 0; i < HEADS; i++)
		if (!(h[i] = baton_head_spawn(file, 0, NULL, &o)))
			return -1;
	for (int i = 0; i < HEADS; i++) {
		if (baton_head_send_string(h[i], "a", 1) != 1)
			return -1;
		/* Room again: "a" was taken by VM receive. */
		if (!T_WAIT_UNTIL(baton_head_send_string(h[i], "b", 1) == 1, T_LIVE_S))
			return -1;
	}
	return 0;
}

static void t_end(baton_head **h)
{
	for (int i = 0; i < HEADS; i++) {
		baton_head_terminate(h[i]);
		baton_head_join(h[i], -1);
		baton_head_release(h[i]);
	}
}

TEST(heads_share_one_heartbeat_by_default_or_have_one_each)
{
#ifdef T_TSAN
	/* io_uring rings that one thread unmaps and another maps again at the
	 * same address look like data races to TSan (it does not see the
	 * kernel's mmap as synchronisation): the threads counted here are
	 * the same with the read fallbacks. */
	setenv("BATON_URING", "0", 1);
#endif
	char *f = procfs_program("hbheads", "VM receive. VM receive. VM receive.\n");
	ASSERT_NE_NULL(f);
	baton_head *h[HEADS];

	setenv("BATON_HEARTBEAT", "per-head", 1);
	ASSERT_EQ(0, t_spawn(h, f));
	ASSERT_EQ(HEADS, procfs_count_threads("baton-hb"));
	ASSERT_EQ(0, procfs_count_threads("baton-hbg"));
	t_end(h);
	/* Each stops with its core (freed as the head's thread ends). */
	ASSERT_TRUE(T_WAIT_UNTIL(procfs_count_threads("baton-hb") == 0, T_LIVE_S));

	unsetenv("BATON_HEARTBEAT");
	ASSERT_EQ(0, t_spawn(h, f));
	ASSERT_EQ(1, procfs_count_threads("baton-hbg"));
	ASSERT_EQ(0, procfs_count_threads("baton-hb"));
	t_end(h);
	unlink(f);
	free(f);
}

TEST_HARNESS_MAIN
