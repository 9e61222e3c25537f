// SPDX-License-Identifier: MIT
/*
 * membarrier.c: selftests of kernel-iface/membarrier.h: registration and the
 * expedited barrier where the kernel has them, and the -errno a refusing
 * seccomp filter (or an old kernel) leads to, without touching errno.
 *
 * See Documentation/core/kernel-iface.md.
 */
#include <errno.h>

#include "kernel-iface/membarrier.h"
#include "selftests/harness.h"
#include "selftests/kernel-iface/t_seccomp.h"

TEST(register_then_barrier)
{
	errno = 1234;
	int r = kif_membarrier_register();
	EXPECT_EQ(1234, errno);
	if (r == -ENOSYS || r == -EINVAL || r == -EPERM)
		SKIP(return, "membarrier(PRIVATE_EXPEDITED) is refused here (%d)", r);
	ASSERT_EQ(0, r);
	/* Registering again is harmless: every VM probes for itself. */
	ASSERT_EQ(0, kif_membarrier_register());
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, kif_membarrier());
	EXPECT_EQ(1234, errno);
}

FIXTURE(refused) {
	int unused;
};
FIXTURE_VARIANT(refused) {
	int err;
};
FIXTURE_VARIANT_ADD(refused, eperm) { .err = EPERM };
FIXTURE_VARIANT_ADD(refused, enosys) { .err = ENOSYS };
FIXTURE_VARIANT_ADD(refused, einval) { .err = EINVAL };

FIXTURE_SETUP(refused)
{
	char why[128];
	if (t_seccomp_refuse(SYS_membarrier, variant->err, 0, why, sizeof why))
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(refused)
{
}

TEST_F(refused, register_answers_the_errno)
{
	errno = 0;
	EXPECT_EQ(-variant->err, kif_membarrier_register());
	EXPECT_EQ(-variant->err, kif_membarrier());
	EXPECT_EQ(0, errno);
}

TEST_HARNESS_MAIN
