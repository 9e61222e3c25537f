// SPDX-License-Identifier: MIT
/*
 * probes_perf.c: selftest of the probes as perf sees them, end to end:
 * tools/trace-handoffs records this program firing a known pattern of
 * "baton" probes, and its summary must report exactly that pattern.
 *
 * Skipped without root, perf, readelf or the tool. See
 * Documentation/core/tracing.md.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel-iface/probes.h"
#include "selftests/harness.h"

#define ROUNDS 300

/* Run as "T_PROBES_FIRE=1 this-program": fire the pattern and exit. */
static __attribute__((noinline)) void t_fire(uint32_t rounds)
{
	for (uint32_t i = 0; i < rounds; i++) {
		uint32_t from = 1 + i % 3, to = 1 + (i + 1) % 3;
		KIF_PROBE2(disown, from, i);
		KIF_PROBE2(handoff, from, to);
		/* wait_ns: 1..rounds microseconds, one each */
		KIF_PROBE2(own_slow_end, to, (uint64_t)(i + 1) * 1000);
	}
}

__attribute__((constructor)) static void t_fire_if_asked(void)
{
	if (getenv("T_PROBES_FIRE")) {
		t_fire(ROUNDS);
		_exit(0);
	}
}

static int t_have(const char *cmd)
{
	char buf[256];
	snprintf(buf, sizeof buf, "command -v %s >/dev/null 2>&1", cmd);
	return system(buf) == 0;
}

/* tools/trace-handoffs: from BATON_SRC_DIR (tools/run-selftests sets it),
 * else searched upwards from this program. */
static int t_find_tool(char *out, size_t n)
{
	const char *src = getenv("BATON_SRC_DIR");
	if (src) {
		if (snprintf(out, n, "%s/tools/trace-handoffs", src) >= (int)n)
			return -1;
		return access(out, X_OK);
	}
	char dir[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", dir, sizeof dir - 1);
	if (len < 0)
		return -1;
	dir[len] = 0;
	for (int up = 0; up < 6; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		*slash = 0;
		if (snprintf(out, n, "%s/tools/trace-handoffs", dir) < (int)n &&
		    access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

TEST_TIMEOUT(trace_handoffs_reports_fired_probes, 120)
{
	char tool[PATH_MAX], exe[PATH_MAX], cmd[3 * PATH_MAX], line[256];
	if (!KIF_HAVE_PROBES)
		SKIP(return, "built without <sys/sdt.h>");
	if (geteuid() != 0)
		SKIP(return, "not root: cannot create uprobe events");
	if (!t_have("perf"))
		SKIP(return, "perf not installed");
	if (!t_have("readelf"))
		SKIP(return, "readelf not installed");
	if (t_find_tool(tool, sizeof tool))
		SKIP(return, "tools/trace-handoffs not found (set BATON_SRC_DIR)");
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ASSERT_GT(len, 0);
	exe[len] = 0;
	snprintf(cmd, sizeof cmd, "T_PROBES_FIRE=1 '%s' '%s' 2>&1", tool, exe);
	FILE *p = popen(cmd, "r");
	ASSERT_NE_NULL(p);
	long handoffs = -1, disowns = -1, pairs[4][4] = { { 0 } };
	int nwait = -1;
	double p50 = -1, p90 = -1, p99 = -1, max = -1;
	while (fgets(line, sizeof line, p)) {
		int a, b;
		long c;
		TH_LOG("%.*s", (int)strcspn(line, "\n"), line); /* the report, in the log */
		if (sscanf(line, "handoff %ld", &c) == 1 && !strchr(line, '>'))
			handoffs = c;
		else if (sscanf(line, "disown %ld", &c) == 1)
			disowns = c;
		else if (sscanf(line, "%d -> %d %ld", &a, &b, &c) == 3 && a > 0 && a < 4 &&
			 b > 0 && b < 4)
			pairs[a][b] = c;
		else if (strstr(line, "own_slow wait"))
			sscanf(strstr(line, "n="), "n=%d p50=%lf p90=%lf p99=%lf max=%lf", &nwait,
			       &p50, &p90, &p99, &max);
	}
	int status = pclose(p);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && disowns < 0)
		SKIP(return, "trace-handoffs could not trace here (see its message above)");
	ASSERT_EQ(0, status);
	ASSERT_EQ(ROUNDS, disowns);
	ASSERT_EQ(ROUNDS, handoffs);
	ASSERT_EQ(ROUNDS / 3, pairs[1][2]);
	ASSERT_EQ(ROUNDS / 3, pairs[2][3]);
	ASSERT_EQ(ROUNDS / 3, pairs[3][1]);
	ASSERT_EQ(ROUNDS, nwait);
	/* Nearest-rank percentiles of 1..300 us. */
	ASSERT_EQ(150, (int)p50);
	ASSERT_EQ(270, (int)p90);
	ASSERT_EQ(297, (int)p99);
	ASSERT_EQ(300, (int)max);
}

TEST_HARNESS_MAIN
