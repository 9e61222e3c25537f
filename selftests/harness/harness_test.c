// SPDX-License-Identifier: MIT
/*
 * selftests/harness/harness_test.c: checks the selftest harness itself, from the outside.
 * Runs the deliberately failing cases of libharness_cases.so in a child (dlopen + its
 * t_harness_cases_main()) with stdout and stderr on a pipe, then asserts on the TAP it
 * printed and on its exit status. See Documentation/testing.md.
 * Description: harness verdicts, TAP, totals, exit codes, -l/-t, timeouts, crashes.
 * Minimum kernel: any.
 */
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../harness.h"

struct run {
	char *out;
	int status;
};

/* dir of /proc/self/exe + "/" + name: test libraries sit next to the test programs. */
static int sibling_path(char *buf, size_t n, const char *name)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (len < 0)
		return -1;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return snprintf(buf, n, "%s/%s", exe, name) < (int)n ? 0 : -1;
}

static __attribute__((noreturn)) void cases_child(int fd, char **argv)
{
	int (*cases_main)(int, char **);
	char path[PATH_MAX];
	void *h;
	int argc = 0;

	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	if (sibling_path(path, sizeof(path), "libharness_cases.so") < 0)
		_exit(98);
	h = dlopen(path, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		_exit(99);
	}
	cases_main = (int (*)(int, char **))dlsym(h, "t_harness_cases_main");
	if (!cases_main)
		_exit(97);
	while (argv[argc])
		argc++;
	fflush(NULL);
	int rc = cases_main(argc, argv);
	fflush(NULL);
	_exit(rc);
}

/* Run the cases with up to two arguments; collect everything they print, and the status.
 * Reading to EOF also proves no process the cases started survived: a survivor would
 * hold the pipe open and this test would time out. */
static void run_cases(struct __test_metadata *_metadata, struct run *r, char *a1, char *a2)
{
	char *argv[] = { "harness_cases", a1, a2, NULL };
	size_t len = 0, cap = 1 << 16;
	int fds[2];
	ssize_t n;
	pid_t pid;

	if (!a1)
		argv[1] = NULL;
	r->out = malloc(cap);
	ASSERT_NE_NULL(r->out);
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(fds[0]);
		cases_child(fds[1], argv);
	}
	close(fds[1]);
	while ((n = read(fds[0], r->out + len, cap - len - 1)) != 0) {
		if (n < 0) {
			ASSERT_EQ(EINTR, errno);
			continue;
		}
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			r->out = realloc(r->out, cap);
			ASSERT_NE_NULL(r->out);
		}
	}
	r->out[len] = '\0';
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &r->status, 0));
	ASSERT_TRUE(WIFEXITED(r->status)) TH_LOG("output:\n%s", r->out);
}

/* The verdict TAP printed for test `name`: "ok", "not ok", "skip", or NULL if absent. */
static const char *verdict(const char *out, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int not = !strncmp(l, "not ok ", 7);
		const char *p;

		if (!not && strncmp(l, "ok ", 3))
			continue;
		p = l + (not ? 7 : 3);
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p++ != ' ' || strncmp(p, name, nlen))
			continue;
		p += nlen;
		if (*p == '\n' || *p == '\0')
			return not ? "not ok" : "ok";
		if (!strncmp(p, " # SKIP ", 8) && !not)
			return "skip";
	}
	return NULL;
}

/* Result lines must be numbered 1..n, in order, with nothing missing. */
static int numbered_results(const char *out)
{
	int expect = 1;

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int num;

		if (sscanf(l, "ok %d ", &num) == 1 || sscanf(l, "not ok %d ", &num) == 1) {
			if (num != expect)
				return -1;
			expect++;
		}
	}
	return expect - 1;
}

static int has_line(const char *out, const char *line)
{
	size_t n = strlen(line);

	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, line, n) && (l[n] == '\n' || l[n] == '\0'))
			return 1;
	return 0;
}

TEST(full_run_gives_each_verdict_and_totals)
{
	struct run r;

	run_cases(_metadata, &r, NULL, NULL);
	EXPECT_EQ(KSFT_FAIL, WEXITSTATUS(r.status));
	EXPECT_EQ(0, strncmp(r.out, "TAP version 13\n", 15));
	EXPECT_TRUE(has_line(r.out, "1..16"));
	EXPECT_EQ(16, numbered_results(r.out));
	EXPECT_STREQ("ok", verdict(r.out, "passes"));
	EXPECT_STREQ("ok", verdict(r.out, "evaluates_once"));
	EXPECT_STREQ("not ok", verdict(r.out, "expect_fails_and_continues"));
	EXPECT_STREQ("not ok", verdict(r.out, "assert_stops"));
	EXPECT_STREQ("not ok", verdict(r.out, "streq_fails"));
	EXPECT_STREQ("skip", verdict(r.out, "skips"));
	EXPECT_STREQ("not ok", verdict(r.out, "hangs"));
	EXPECT_STREQ("not ok", verdict(r.out, "crashes"));
	EXPECT_STREQ("ok", verdict(r.out, "expected_signal"));
	EXPECT_STREQ("not ok", verdict(r.out, "exits_3"));
	EXPECT_STREQ("not ok", verdict(r.out, "assert_in_thread"));
	EXPECT_STREQ("ok", verdict(r.out, "fx.a.uses_variant"));
	EXPECT_STREQ("ok", verdict(r.out, "fx.b.uses_variant"));
	EXPECT_STREQ("not ok", verdict(r.out, "fx.a.assert_runs_teardown"));
	EXPECT_STREQ("not ok", verdict(r.out, "fx.b.assert_runs_teardown"));
	EXPECT_STREQ("skip", verdict(r.out, "skipper.body_not_run"));
	EXPECT_TRUE(has_line(r.out, "# Totals: pass:5 fail:9 xfail:0 xpass:0 skip:2 error:0"));
	if (_metadata->res->failed)
		TH_LOG("output was:\n%s", r.out);
	free(r.out);
}

TEST(full_run_diagnostics)
{
	char crash[128];
	struct run r;

	run_cases(_metadata, &r, NULL, NULL);
	/* EXPECT continues, ASSERT stops, the trailing TH_LOG prints on failure only. */
	EXPECT_NE_NULL(strstr(r.out, "marker-after-expect"));
	EXPECT_NE_NULL(strstr(r.out, "marker-trailing-log"));
	EXPECT_NULL(strstr(r.out, "marker-unreachable"));
	/* Values printed as mathematical integers, with file:line. */
	EXPECT_NE_NULL(strstr(r.out, "libharness_cases.c:"));
	EXPECT_NE_NULL(strstr(r.out, "EXPECT_EQ(-1, 4294967295u) failed: expected -1, "
				     "seen 4294967295 (0xffffffff)"));
	EXPECT_NE_NULL(strstr(r.out, "expected \"left-string\", seen \"right-string\""));
	/* SKIP: the reason reaches the TAP line and the statement ends the test. */
	EXPECT_NE_NULL(strstr(r.out, " skips # SKIP reason-42\n"));
	EXPECT_NULL(strstr(r.out, "marker-after-skip"));
	EXPECT_NE_NULL(strstr(r.out, " skipper.body_not_run # SKIP setup-skip-reason\n"));
	EXPECT_NULL(strstr(r.out, "marker-skipped-body"));
	EXPECT_NE_NULL(strstr(r.out, "marker-skipper-teardown"));
	/* Teardown runs after a failed ASSERT, and sees the fixture as the test left it. */
	EXPECT_NE_NULL(strstr(r.out, "marker-teardown value=-1"));
	EXPECT_NULL(strstr(r.out, "marker-teardown value=-2"));
	EXPECT_NE_NULL(strstr(r.out, "marker-teardown value=20"));
	EXPECT_NE_NULL(strstr(r.out, "marker-teardown value=30"));
	/* Timeout, crash, odd exit status and an off-thread ASSERT are named. */
	EXPECT_NE_NULL(strstr(r.out, "hangs: timeout"));
	snprintf(crash, sizeof(crash), "crashes: crashed: killed by signal %d (%s)", SIGABRT,
		 strsignal(SIGABRT));
	EXPECT_NE_NULL(strstr(r.out, crash));
	EXPECT_NE_NULL(strstr(r.out, "exits_3: exited with status 3"));
	EXPECT_NE_NULL(strstr(r.out, "assert_in_thread: ASSERT failed off the test thread"));
	EXPECT_NULL(strstr(r.out, "marker-after-thread"));
	if (_metadata->res->failed)
		TH_LOG("output was:\n%s", r.out);
	free(r.out);
}

TEST(list_prints_names_in_source_order)
{
	struct run r;

	run_cases(_metadata, &r, "-l", NULL);
	EXPECT_EQ(KSFT_PASS, WEXITSTATUS(r.status));
	EXPECT_STREQ("passes\nevaluates_once\nexpect_fails_and_continues\nassert_stops\n"
		     "streq_fails\nskips\nhangs\ncrashes\nexpected_signal\nexits_3\n"
		     "assert_in_thread\nfx.a.uses_variant\nfx.b.uses_variant\n"
		     "fx.a.assert_runs_teardown\nfx.b.assert_runs_teardown\n"
		     "skipper.body_not_run\n",
		     r.out);
	free(r.out);
}

TEST(filter_runs_only_matching_tests)
{
	struct run r;

	run_cases(_metadata, &r, "-t", "fx.b");
	EXPECT_EQ(KSFT_FAIL, WEXITSTATUS(r.status));
	EXPECT_TRUE(has_line(r.out, "1..2"));
	EXPECT_STREQ("ok", verdict(r.out, "fx.b.uses_variant"));
	EXPECT_STREQ("not ok", verdict(r.out, "fx.b.assert_runs_teardown"));
	EXPECT_NULL(verdict(r.out, "fx.a.uses_variant"));
	EXPECT_TRUE(has_line(r.out, "# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0"));
	free(r.out);
}

TEST(all_passing_exits_0)
{
	struct run r;

	run_cases(_metadata, &r, "-tpasses", NULL);
	EXPECT_EQ(KSFT_PASS, WEXITSTATUS(r.status));
	EXPECT_TRUE(has_line(r.out, "1..1"));
	EXPECT_TRUE(has_line(r.out, "ok 1 passes"));
	EXPECT_TRUE(has_line(r.out, "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"));
	free(r.out);
}

TEST(only_skips_exits_4)
{
	struct run r;

	run_cases(_metadata, &r, "-t", "skip");
	EXPECT_EQ(KSFT_SKIP, WEXITSTATUS(r.status));
	EXPECT_TRUE(has_line(r.out, "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:2 error:0"));
	free(r.out);
}

TEST(filter_matching_nothing_fails)
{
	struct run r;

	run_cases(_metadata, &r, "-t", "no-such-test");
	EXPECT_EQ(KSFT_FAIL, WEXITSTATUS(r.status));
	EXPECT_NE_NULL(strstr(r.out, "1..0"));
	free(r.out);
}

TEST(bad_option_prints_usage_and_fails)
{
	struct run r;

	run_cases(_metadata, &r, "-x", NULL);
	EXPECT_EQ(KSFT_FAIL, WEXITSTATUS(r.status));
	EXPECT_NE_NULL(strstr(r.out, "usage:"));
	free(r.out);
}

TEST_HARNESS_MAIN
