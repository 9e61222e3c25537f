// SPDX-License-Identifier: MIT
/*
 * t_tracefs.h: selftest helper making tracefs visible to the test process.
 *
 * Owns the private mount: when tracefs is not mounted and we are root, the
 * test (a forked child) moves to its own mount namespace and mounts tracefs
 * there, so nothing changes for the rest of the machine. Test code only.
 */
#ifndef T_TRACEFS_H
#define T_TRACEFS_H

#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

/* 0 when /sys/kernel/tracing/trace_marker exists (perhaps after mounting
 * tracefs privately); else -1 with the reason in [why]. */
static inline int t_tracefs(char *why, size_t n)
{
	if (access("/sys/kernel/tracing/trace_marker", F_OK) == 0)
		return 0;
	if (geteuid() != 0) {
		snprintf(why, n, "tracefs not mounted and not root to mount it");
		return -1;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		snprintf(why, n, "cannot make a private mount namespace: %m");
		return -1;
	}
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		snprintf(why, n, "cannot mount tracefs: %m");
		return -1;
	}
	return 0;
}

#endif /* T_TRACEFS_H */
