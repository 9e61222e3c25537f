// SPDX-License-Identifier: MIT
/*
 * selftests/ownership/trace.c: handoffs appear in ftrace.
 *
 * Description: with BATON_TRACE=ftrace every directed handoff is written to
 * the ftrace trace_marker; the test makes two handoffs and finds both lines
 * in the trace buffer. Skips where tracefs is missing and cannot be mounted
 * (no root, a container).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "selftests/harness.h"
#include "common.h"

#define TRACEFS "/sys/kernel/tracing"

static int tracefs_ready(void)
{
	if (access(TRACEFS "/trace_marker", W_OK) == 0)
		return 1;
	mount("nodev", TRACEFS, "tracefs", 0, NULL);
	return access(TRACEFS "/trace_marker", W_OK) == 0;
}

static int write_file(const char *path, const char *s, int trunc)
{
	int fd = open(path, O_WRONLY | (trunc ? O_TRUNC : 0));
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* Counts lines of the trace buffer that contain [needle]. */
static int count_lines(const char *needle)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return -1;
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void *visitor(void *arg)
{
	baton_vm *vm = arg;
	baton_thread *t = baton_attach(vm, 50);
	baton_detach(vm, t); /* main is parked: release, then wake it */
	baton_wake(vm);
	return NULL;
}

/* A fresh VM (tracing as [trace] says) in which main hands the VM to a
 * visiting foreign thread and gets it back: two handoffs. Answers the VM
 * (still entered by *me) for the caller to inspect. */
static baton_vm *two_handoffs(int trace, baton_thread **me)
{
	if (trace)
		setenv("BATON_TRACE", "ftrace", 1);
	else
		unsetenv("BATON_TRACE");
	struct baton_config cfg = { 0 };
	baton_vm *vm = baton_vm_new(&cfg);
	if (!vm)
		return NULL;
	*me = baton_enter(vm);
	pthread_t th;
	if (pthread_create(&th, NULL, visitor, vm))
		abort();
	if (!t_wait_queued(vm, 1)) {
		TH_LOG("the visitor never queued for the VM within %d s", T_LIVE_S);
		abort();
	}
	/* Handoff 1: main -> visitor (index 2). Then the visitor's release
	 * and baton_wake grant the VM back: handoff 2, from the waker (0). */
	if (baton_yield(vm, *me) != BATON_RUN)
		abort();
	pthread_join(th, NULL);
	return vm;
}

FIXTURE(tracefs) {
	int unused;
};
FIXTURE_SETUP(tracefs)
{
	if (!tracefs_ready())
		SKIP(return, "tracefs not available at " TRACEFS);
	ASSERT_EQ(0, write_file(TRACEFS "/tracing_on", "1", 0));
	ASSERT_EQ(0, write_file(TRACEFS "/trace", "", 1)); /* clear the buffer */
}
FIXTURE_TEARDOWN(tracefs)
{
}

TEST_F(tracefs, handoffs_are_written_to_trace_marker)
{
	baton_thread *me;
	baton_vm *vm = two_handoffs(1, &me);
	ASSERT_NE_NULL(vm);
	char want[128];
	snprintf(want, sizeof want, "baton handoff vm=%p from=1 to=2", (void *)vm);
	EXPECT_EQ(1, count_lines(want));
	snprintf(want, sizeof want, "baton handoff vm=%p from=0 to=1", (void *)vm);
	EXPECT_EQ(1, count_lines(want));
	EXPECT_EQ(2u, t_stats(vm).handoffs);
	baton_vm_free(vm, me);
}

TEST_F(tracefs, unset_trace_writes_nothing)
{
	baton_thread *me;
	baton_vm *vm = two_handoffs(0, &me);
	ASSERT_NE_NULL(vm);
	char want[128];
	snprintf(want, sizeof want, "baton handoff vm=%p", (void *)vm);
	EXPECT_EQ(0, count_lines(want));
	EXPECT_EQ(2u, t_stats(vm).handoffs);
	baton_vm_free(vm, me);
}

TEST_HARNESS_MAIN
