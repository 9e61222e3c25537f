// SPDX-License-Identifier: MIT
/*
 * trace_marker.c: selftests of kif_trace_open/printf: line formatting, and
 * a marker really reaching the ftrace buffer (skipped without tracefs).
 *
 * See Documentation/core/tracing.md.
 */
#define _GNU_SOURCE /* unshare */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel-iface/trace.h"
#include "selftests/harness.h"
#include "selftests/kernel-iface/t_tracefs.h"

TEST(printf_writes_one_terminated_line)
{
	int p[2];
	char buf[64] = "";
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(15, kif_trace_printf(p[1], "handoff %d -> %d", 1, 2));
	ASSERT_EQ(4, kif_trace_printf(p[1], "abc\n")); /* no second newline */
	ASSERT_EQ(19, read(p[0], buf, sizeof buf - 1));
	ASSERT_STREQ("handoff 1 -> 2\nabc\n", buf);
	close(p[0]);
	close(p[1]);
}

TEST(long_line_is_truncated_to_the_limit)
{
	char big[1000], out[1100];
	int p[2];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(KIF_TRACE_MAX, kif_trace_printf(p[1], "%s", big));
	ASSERT_EQ(KIF_TRACE_MAX, read(p[0], out, sizeof out));
	ASSERT_EQ('x', out[KIF_TRACE_MAX - 2]);
	ASSERT_EQ('\n', out[KIF_TRACE_MAX - 1]);
	close(p[0]);
	close(p[1]);
}

TEST(bad_fd_returns_ebadf)
{
	errno = 99;
	ASSERT_EQ(-EBADF, kif_trace_printf(-1, "x"));
	ASSERT_EQ(99, errno);
}

static int t_read_file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int found = 0;
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

TEST(marker_reaches_the_trace_buffer)
{
	char why[128], marker[64];
	if (t_tracefs(why, sizeof why))
		SKIP(return, "%s", why);
	int fd = kif_trace_open();
	if (fd == -EACCES || fd == -EPERM || fd == -ENOENT)
		SKIP(return, "trace_marker not writable: %s", strerror(-fd));
	ASSERT_GE(fd, 0);
	if (t_read_file_has("/sys/kernel/tracing/tracing_on", "1") != 1) {
		kif_trace_close(fd);
		SKIP(return, "ftrace is off (tracing_on is 0)");
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(marker, sizeof marker, "baton-selftest %d %ld.%09ld", getpid(),
		 (long)ts.tv_sec, ts.tv_nsec);
	ASSERT_GT(kif_trace_printf(fd, "%s", marker), 0);
	kif_trace_close(fd);
	ASSERT_EQ(1, t_read_file_has("/sys/kernel/tracing/trace", marker));
}

TEST_HARNESS_MAIN
