// SPDX-License-Identifier: MIT
/*
 * uring_seccomp.c: selftests of kif_uring_probe() under a seccomp filter
 * refusing io_uring (as Docker's default profile does): the probe must say
 * "unusable", with the errno and a reason, instead of failing later.
 *
 * See Documentation/core/kernel-iface.md.
 */
#include <stdlib.h>
#include <string.h>

#include "kernel-iface/uring.h"
#include "selftests/harness.h"
#include "selftests/kernel-iface/t_seccomp.h"

FIXTURE(blocked) {
	struct kif_uring_caps caps;
	int ret;
};

FIXTURE_VARIANT(blocked) {
	long nr;
	int err;
	const char *call; /* in the reason */
};

FIXTURE_VARIANT_ADD(blocked, setup_eperm) {
	.nr = SYS_io_uring_setup, .err = EPERM, .call = "io_uring_setup: EPERM",
};
FIXTURE_VARIANT_ADD(blocked, setup_enosys) {
	.nr = SYS_io_uring_setup, .err = ENOSYS, .call = "io_uring_setup: ENOSYS",
};
FIXTURE_VARIANT_ADD(blocked, setup_enomem) {
	.nr = SYS_io_uring_setup, .err = ENOMEM, .call = "io_uring_setup: ENOMEM",
};
FIXTURE_VARIANT_ADD(blocked, enter_eperm) {
	.nr = SYS_io_uring_enter, .err = EPERM, .call = "io_uring_enter: EPERM",
};

FIXTURE_SETUP(blocked)
{
	char why[128];
	unsetenv("BATON_URING");
	if (t_seccomp_refuse(variant->nr, variant->err, 0, why, sizeof why))
		SKIP(return, "%s", why);
	self->ret = kif_uring_probe(&self->caps);
}

FIXTURE_TEARDOWN(blocked)
{
}

TEST_F(blocked, probe_reports_unusable_with_reason)
{
	TH_LOG("why: %s", self->caps.why);
	ASSERT_EQ(-variant->err, self->ret);
	ASSERT_FALSE(self->caps.usable);
	ASSERT_FALSE(self->caps.read_multishot);
	ASSERT_FALSE(self->caps.futex);
	ASSERT_NE_NULL(strstr(self->caps.why, variant->call));
}

TEST_HARNESS_MAIN
