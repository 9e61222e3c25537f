// SPDX-License-Identifier: MIT
/*
 * uring_probe.c: selftests of kif_uring_probe(): environment, sysctl and
 * opcode detection, and the reason given when io_uring is refused.
 *
 * See Documentation/core/kernel-iface.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "kernel-iface/uring.h"
#include "selftests/harness.h"

static int t_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;
	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

/* A file standing in for /proc/sys/kernel/io_uring_disabled. */
static void t_fake_sysctl(char *path, size_t n, const char *value)
{
	snprintf(path, n, "/tmp/baton-sysctl-%d", getpid());
	FILE *f = fopen(path, "w");
	fputs(value, f);
	fclose(f);
}

TEST(env_zero_disables_with_reason)
{
	struct kif_uring_caps c;
	setenv("BATON_URING", "0", 1);
	ASSERT_EQ(-EPERM, kif_uring_probe(&c));
	ASSERT_FALSE(c.usable);
	ASSERT_FALSE(c.read_multishot);
	ASSERT_STREQ("disabled by BATON_URING=0", c.why);
}

TEST(env_other_values_do_not_disable)
{
	struct kif_uring_caps a, b;
	unsetenv("BATON_URING");
	int ra = kif_uring_probe(&a);
	setenv("BATON_URING", "1", 1);
	int rb = kif_uring_probe(&b);
	ASSERT_EQ(ra, rb);
	ASSERT_EQ(a.usable, b.usable);
}

TEST(sysctl_2_disables_with_reason)
{
	struct kif_uring_caps c;
	char path[64];
	unsetenv("BATON_URING");
	t_fake_sysctl(path, sizeof path, "2\n");
	int r = kif_uring_probe_at(&c, path);
	unlink(path);
	ASSERT_EQ(-EPERM, r);
	ASSERT_FALSE(c.usable);
	ASSERT_EQ(2, c.sysctl);
	ASSERT_NE_NULL(strstr(c.why, "io_uring_disabled=2"));
}

TEST(sysctl_0_or_missing_leaves_the_decision_to_the_kernel)
{
	struct kif_uring_caps real, zero, none;
	char path[64];
	unsetenv("BATON_URING");
	int r = kif_uring_probe(&real);
	t_fake_sysctl(path, sizeof path, "0\n");
	ASSERT_EQ(r, kif_uring_probe_at(&zero, path));
	unlink(path);
	ASSERT_EQ(0, zero.sysctl);
	ASSERT_EQ(r, kif_uring_probe_at(&none, "/nonexistent/io_uring_disabled"));
	ASSERT_EQ(-1, none.sysctl);
	ASSERT_EQ(real.usable, none.usable);
}

TEST(probe_is_consistent_with_its_reason)
{
	struct kif_uring_caps c;
	unsetenv("BATON_URING");
	errno = 4242;
	int r = kif_uring_probe(&c);
	ASSERT_EQ(4242, errno);
	TH_LOG("io_uring: %s%s, read_multishot %d, futex %d, sysctl %d",
	       c.usable ? "usable" : "unusable: ", c.why, c.read_multishot, c.futex, c.sysctl);
	if (r == 0) {
		ASSERT_TRUE(c.usable);
		ASSERT_STREQ("", c.why);
	} else {
		ASSERT_LT(r, 0);
		ASSERT_FALSE(c.usable);
		ASSERT_NE(0, c.why[0]);
	}
}

TEST(new_opcodes_found_on_kernels_that_have_them)
{
	struct kif_uring_caps c;
	unsetenv("BATON_URING");
	if (kif_uring_probe(&c) < 0)
		SKIP(return, "io_uring unusable: %s", c.why);
	if (!t_kernel_at_least(6, 7))
		SKIP(return, "kernel older than 6.7: no READ_MULTISHOT/FUTEX ops");
	/* Checks the opcode numbers defined by hand in uring.h. */
	ASSERT_TRUE(c.read_multishot);
	ASSERT_TRUE(c.futex);
}

TEST_HARNESS_MAIN
