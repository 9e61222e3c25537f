// SPDX-License-Identifier: MIT
/*
 * selftests/harness.h: kselftest-style test harness (TEST, FIXTURE, ASSERT_*, TAP 13 output).
 * Header-only. A test program is one .c file that includes this header and ends with
 * TEST_HARNESS_MAIN. Owns the per-program test registry (static, one per translation unit),
 * forking each test into its own process group, timeouts and the verdicts. Never sleeps to wait.
 * See Documentation/testing.md.
 */
#ifndef BATON_SELFTEST_HARNESS_H
#define BATON_SELFTEST_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* kselftest exit codes: the runner and kselftest tooling understand these. */
#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

#define TH_DEFAULT_TIMEOUT 30 /* seconds, per test; scaled by $BATON_TIMEOUT_SCALE */

#define TH_UNUSED __attribute__((unused))
/* Test bodies, setups and teardowns are never inlined into the wrapper that calls setjmp():
 * their locals would then be "clobbered by longjmp" as far as -Wclobbered is concerned. */
#define TH_NOINLINE __attribute__((noinline))

/*
 * Per-test state, passed to every test body, setup and teardown as `_metadata` (the kselftest
 * name, so helpers written in that style work). Lives in the forked child. `res` points into
 * a shared mapping, so the parent sees failures and the skip reason after the child is gone.
 */
struct th_result {
	int failed;
	int skipped;
	char reason[512];
};

struct __test_metadata {
	const char *name;	/* full name: test, fixture.test or fixture.variant.test */
	const void *variant;	/* FIXTURE_VARIANT data, or NULL */
	struct th_result *res;
	pthread_t thread;	/* ASSERT may only unwind on this thread */
	int setup_done;		/* teardown runs only if setup returned */
	jmp_buf jmp;		/* where a failed ASSERT unwinds to */
};

struct th_variant {
	const char *name;
	const void *data;
	int line;
	struct th_variant *next;
};

struct th_fixture {
	const char *name;
	struct th_variant *variants; /* sorted by source line */
};

struct th_test {
	const char *name;
	void (*fn)(struct __test_metadata *);
	struct th_fixture *fixture; /* NULL for TEST() */
	int timeout;		    /* seconds; 0 = none */
	int signal;		    /* TEST_SIGNAL: the test passes only if killed by this */
	int line;
	struct th_test *next;
};

/* The registry is per translation unit: one test program = one .c file defining tests. */
static struct th_test *th_tests TH_UNUSED;
/* The running child's process group, for the parent's SIGTERM/SIGINT handler. */
static volatile sig_atomic_t th_child_pgid TH_UNUSED;

/* Constructors run in an unspecified order: keep both lists sorted by source line. */
static TH_UNUSED void th_register(struct th_test *t)
{
	struct th_test **p = &th_tests;

	while (*p && (*p)->line <= t->line)
		p = &(*p)->next;
	t->next = *p;
	*p = t;
}

static TH_UNUSED void th_add_variant(struct th_fixture *f, struct th_variant *v)
{
	struct th_variant **p = &f->variants;

	while (*p && (*p)->line <= v->line)
		p = &(*p)->next;
	v->next = *p;
	*p = v;
}

/* ---------------------------------------------------------------- defining tests */

#define TH_TEST_(tn, secs, sig)                                                                \
	static TH_NOINLINE void th_body_##tn(struct __test_metadata *_metadata);               \
	static void th_wrap_##tn(struct __test_metadata *_metadata)                            \
	{                                                                                      \
		if (setjmp(_metadata->jmp) == 0)                                               \
			th_body_##tn(_metadata);                                               \
	}                                                                                      \
	static struct th_test th_test_##tn = {                                                 \
		.name = #tn, .fn = th_wrap_##tn, .timeout = (secs), .signal = (sig),           \
		.line = __LINE__,                                                              \
	};                                                                                     \
	__attribute__((constructor)) static void th_reg_##tn(void)                             \
	{                                                                                      \
		th_register(&th_test_##tn);                                                    \
	}                                                                                      \
	static void th_body_##tn(struct __test_metadata TH_UNUSED *_metadata)

#define TEST(name) TH_TEST_(name, TH_DEFAULT_TIMEOUT, 0)
#define TEST_TIMEOUT(name, seconds) TH_TEST_(name, seconds, 0)
/* Passes only if the test process is killed by `signal` (e.g. an expected abort()). */
#define TEST_SIGNAL(name, signal) TH_TEST_(name, TH_DEFAULT_TIMEOUT, signal)

#define FIXTURE_DATA(f) struct th_data_##f
#define FIXTURE_VARIANT(f) struct th_vdata_##f

/* FIXTURE(f) { members }; -- `self` in setup, teardown and TEST_F points to one of these. */
#define FIXTURE(f)                                                                             \
	FIXTURE_VARIANT(f);                                                                    \
	static TH_UNUSED struct th_fixture th_fixture_##f = { .name = #f };                    \
	FIXTURE_DATA(f)

#define TH_FIXTURE_FN_(kind, f)                                                                \
	static TH_NOINLINE void th_##kind##_##f(struct __test_metadata TH_UNUSED *_metadata,   \
				    FIXTURE_DATA(f) TH_UNUSED *self,                           \
				    const FIXTURE_VARIANT(f) TH_UNUSED *variant)

#define FIXTURE_SETUP(f) TH_FIXTURE_FN_(setup, f)
#define FIXTURE_TEARDOWN(f) TH_FIXTURE_FN_(teardown, f)

/*
 * FIXTURE_VARIANT_ADD(f, v) { .member = value, ... };
 * The object is declared first (a tentative definition) so the registration can take its
 * address; the macro ends in its definition, which the caller's initializer completes.
 */
#define FIXTURE_VARIANT_ADD(f, v)                                                              \
	static const FIXTURE_VARIANT(f) th_vobj_##f##_##v;                                     \
	static struct th_variant th_var_##f##_##v = {                                          \
		.name = #v, .data = &th_vobj_##f##_##v, .line = __LINE__,                      \
	};                                                                                     \
	__attribute__((constructor)) static void th_vreg_##f##_##v(void)                       \
	{                                                                                      \
		th_add_variant(&th_fixture_##f, &th_var_##f##_##v);                            \
	}                                                                                      \
	static const FIXTURE_VARIANT(f) th_vobj_##f##_##v =

/*
 * The fixture data is static: each test runs in a fresh forked child, so it starts zeroed,
 * and being static it keeps its value across the longjmp of a failed ASSERT.
 */
#define TH_TEST_F_(f, tn, secs, sig)                                                           \
	static TH_NOINLINE void th_body_##f##_##tn(struct __test_metadata *_metadata,          \
						     FIXTURE_DATA(f) *self,                    \
						     const FIXTURE_VARIANT(f) *variant);       \
	static void th_wrap_##f##_##tn(struct __test_metadata *_metadata)                      \
	{                                                                                      \
		static FIXTURE_DATA(f) self_;                                                  \
		if (setjmp(_metadata->jmp) == 0) {                                             \
			th_setup_##f(_metadata, &self_, _metadata->variant);                   \
			_metadata->setup_done = 1;                                             \
			if (!_metadata->res->skipped && !_metadata->res->failed)               \
				th_body_##f##_##tn(_metadata, &self_, _metadata->variant);     \
		}                                                                              \
		if (_metadata->setup_done) {                                                   \
			if (setjmp(_metadata->jmp) == 0)                                       \
				th_teardown_##f(_metadata, &self_, _metadata->variant);        \
		}                                                                              \
	}                                                                                      \
	static struct th_test th_test_##f##_##tn = {                                           \
		.name = #tn, .fn = th_wrap_##f##_##tn, .fixture = &th_fixture_##f,             \
		.timeout = (secs), .signal = (sig), .line = __LINE__,                          \
	};                                                                                     \
	__attribute__((constructor)) static void th_reg_##f##_##tn(void)                       \
	{                                                                                      \
		th_register(&th_test_##f##_##tn);                                              \
	}                                                                                      \
	static void th_body_##f##_##tn(struct __test_metadata TH_UNUSED *_metadata,            \
					 FIXTURE_DATA(f) TH_UNUSED *self,                      \
					 const FIXTURE_VARIANT(f) TH_UNUSED *variant)

#define TEST_F(f, name) TH_TEST_F_(f, name, TH_DEFAULT_TIMEOUT, 0)
#define TEST_F_TIMEOUT(f, name, seconds) TH_TEST_F_(f, name, seconds, 0)
#define TEST_F_SIGNAL(f, name, signal) TH_TEST_F_(f, name, TH_DEFAULT_TIMEOUT, signal)

/* ---------------------------------------------------------------- logging and skipping */

static TH_UNUSED __attribute__((format(printf, 1, 0))) void th_vlog(const char *fmt, va_list ap)
{
	char small[1024], *buf = small, *line, *nl;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n >= (int)sizeof(small) && (buf = malloc(n + 1)))
		vsnprintf(buf, n + 1, fmt, again);
	else if (!buf)
		buf = small; /* out of memory: print what fitted */
	va_end(again);
	/* Every line gets the "# " prefix so multi-line messages stay TAP comments. */
	for (line = buf;; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		fprintf(stderr, "#%s%s\n", *line ? " " : "", line);
		if (!nl || !nl[1])
			break;
	}
	if (buf != small)
		free(buf);
}

static TH_UNUSED __attribute__((format(printf, 1, 2))) void th_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	th_vlog(fmt, ap);
	va_end(ap);
}

/* TH_LOG("fmt", ...): a "# "-prefixed diagnostic on stderr; works anywhere, and after an
 * ASSERT_*()/EXPECT_*() (without a semicolon in between) it prints only when that check fails. */
#define TH_LOG(fmt, ...) th_log(fmt, ##__VA_ARGS__)
#define ksft_print_msg(fmt, ...) th_log(fmt, ##__VA_ARGS__)

static TH_UNUSED __attribute__((format(printf, 2, 3))) void
th_skip(struct __test_metadata *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->res->reason, sizeof(m->res->reason), fmt, ap);
	va_end(ap);
	/* A test that already failed stays failed: a later SKIP must not hide that. */
	if (!m->res->failed)
		m->res->skipped = 1;
}

/* SKIP(statement, fmt, ...): mark the test skipped with a reason, then run statement
 * (usually `return`). In a FIXTURE_SETUP it also prevents the test body from running. */
#define SKIP(statement, fmt, ...)                                                              \
	do {                                                                                   \
		th_skip(_metadata, fmt, ##__VA_ARGS__);                                        \
		statement;                                                                     \
	} while (0)

/* ---------------------------------------------------------------- assertions */

enum th_op { TH_EQ, TH_NE, TH_LT, TH_LE, TH_GT, TH_GE };

/* 1 if the (promoted) type of x is signed; pointers, bool and unsigned types count as unsigned. */
#define TH_SIGNED_(x)                                                                          \
	_Generic((x), char: ((char)-1 < 0), signed char: 1, short: 1, int: 1, long: 1,         \
		 long long: 1, default: 0)

/* Compare as mathematical integers: -1 < 0u here, whatever C's conversions would say. */
static TH_UNUSED int th_order(int as, uintmax_t a, int bs, uintmax_t b)
{
	int aneg = as && (intmax_t)a < 0, bneg = bs && (intmax_t)b < 0;

	if (aneg != bneg)
		return aneg ? -1 : 1;
	if (aneg)
		return ((intmax_t)a > (intmax_t)b) - ((intmax_t)a < (intmax_t)b);
	return (a > b) - (a < b);
}

static TH_UNUSED void th_fmt(char *buf, size_t n, int sig, uintmax_t v)
{
	if (sig)
		snprintf(buf, n, "%jd", (intmax_t)v);
	else if (v > 4096)
		snprintf(buf, n, "%ju (0x%jx)", v, v);
	else
		snprintf(buf, n, "%ju", v);
}

static TH_UNUSED int th_cmp(struct __test_metadata *m, const char *file, int line,
			    const char *macro, const char *es, const char *ss, enum th_op op,
			    int esig, uintmax_t ev, int ssig, uintmax_t sv)
{
	int c = th_order(esig, ev, ssig, sv);
	int ok = op == TH_EQ ? c == 0 : op == TH_NE ? c != 0 : op == TH_LT ? c < 0 :
		 op == TH_LE ? c <= 0 : op == TH_GT ? c > 0 : c >= 0;
	char eb[64], sb[64];

	if (ok)
		return 1;
	th_fmt(eb, sizeof(eb), esig, ev);
	th_fmt(sb, sizeof(sb), ssig, sv);
	th_log("%s:%d: %s(%s, %s) failed: expected %s, seen %s", file, line, macro, es, ss, eb, sb);
	m->res->failed = 1;
	return 0;
}

static TH_UNUSED int th_bool(struct __test_metadata *m, const char *file, int line,
			     const char *macro, const char *expr, int want, int seen)
{
	if (want == seen)
		return 1;
	th_log("%s:%d: %s(%s) failed: it is %s", file, line, macro, expr, seen ? "true" : "false");
	m->res->failed = 1;
	return 0;
}

/* The pointer travels as an integer: a `const void *` parameter would make GCC assume the
 * pointee is read, and warn about every freshly malloc()ed buffer checked with ASSERT_NE_NULL. */
static TH_UNUSED int th_ptr(struct __test_metadata *m, const char *file, int line,
			    const char *macro, const char *expr, int want_null, uintptr_t p)
{
	if ((p == 0) == want_null)
		return 1;
	th_log("%s:%d: %s(%s) failed: seen %#jx", file, line, macro, expr, (uintmax_t)p);
	m->res->failed = 1;
	return 0;
}

static TH_UNUSED int th_str(struct __test_metadata *m, const char *file, int line,
			    const char *macro, const char *es, const char *ss, int want_eq,
			    const char *e, const char *s)
{
	int eq = (e && s) ? strcmp(e, s) == 0 : e == s;

	if (eq == want_eq)
		return 1;
	th_log("%s:%d: %s(%s, %s) failed: expected \"%s\", seen \"%s\"", file, line, macro, es, ss,
	       e ? e : "(null)", s ? s : "(null)");
	m->res->failed = 1;
	return 0;
}

/* Runs after the optional trailing TH_LOG of a failed ASSERT and ends the test. noreturn,
 * so the compiler knows that code after an ASSERT only runs when it held (no spurious
 * "may be used uninitialized" for a variable an asserted call fills in). */
static TH_UNUSED __attribute__((noreturn)) void th_abort(struct __test_metadata *m)
{
	if (!pthread_equal(pthread_self(), m->thread)) {
		/* Cannot unwind another thread's stack: end the whole test process instead. */
		th_log("%s: ASSERT failed off the test thread: ending the test without teardown",
		       m->name);
		fflush(NULL);
		_exit(KSFT_FAIL);
	}
	longjmp(m->jmp, 1);
}

/*
 * Every check is `if (ok) {} else for (once) <trailing statement>`: the caller's `;` or
 * TH_LOG(...) is the loop body, so it runs only on failure, and for an ASSERT the loop's
 * increment then ends the test. Each operand is evaluated exactly once.
 */
#define TH_TAIL_1 for (int th_once_ = 1; th_once_; th_once_ = 0, th_abort(_metadata))
#define TH_TAIL_0 for (int th_once_ = 1; th_once_; th_once_ = 0)
#define TH_TAIL_(is_assert) TH_TAIL_##is_assert

#define TH_CMP_(is_assert, macro, op, exp, seen)                                               \
	if (({                                                                                 \
		    __typeof__(exp) th_e_ = (exp);                                             \
		    __typeof__(seen) th_s_ = (seen);                                           \
		    th_cmp(_metadata, __FILE__, __LINE__, macro, #exp, #seen, op,              \
			   TH_SIGNED_(th_e_), (uintmax_t)th_e_, TH_SIGNED_(th_s_),             \
			   (uintmax_t)th_s_);                                                  \
	    })) {                                                                              \
	} else                                                                                 \
		TH_TAIL_(is_assert)

#define TH_BOOL_(is_assert, macro, want, x)                                                    \
	if (th_bool(_metadata, __FILE__, __LINE__, macro, #x, want, !!(x))) {                  \
	} else                                                                                 \
		TH_TAIL_(is_assert)

#define TH_PTR_(is_assert, macro, want_null, x)                                                \
	if (th_ptr(_metadata, __FILE__, __LINE__, macro, #x, want_null, (uintptr_t)(x))) {     \
	} else                                                                                 \
		TH_TAIL_(is_assert)

#define TH_STR_(is_assert, macro, want_eq, exp, seen)                                          \
	if (th_str(_metadata, __FILE__, __LINE__, macro, #exp, #seen, want_eq, (exp), (seen))) { \
	} else                                                                                 \
		TH_TAIL_(is_assert)

#define ASSERT_EQ(expected, seen) TH_CMP_(1, "ASSERT_EQ", TH_EQ, expected, seen)
#define ASSERT_NE(expected, seen) TH_CMP_(1, "ASSERT_NE", TH_NE, expected, seen)
#define ASSERT_LT(expected, seen) TH_CMP_(1, "ASSERT_LT", TH_LT, expected, seen)
#define ASSERT_LE(expected, seen) TH_CMP_(1, "ASSERT_LE", TH_LE, expected, seen)
#define ASSERT_GT(expected, seen) TH_CMP_(1, "ASSERT_GT", TH_GT, expected, seen)
#define ASSERT_GE(expected, seen) TH_CMP_(1, "ASSERT_GE", TH_GE, expected, seen)
#define ASSERT_TRUE(x) TH_BOOL_(1, "ASSERT_TRUE", 1, x)
#define ASSERT_FALSE(x) TH_BOOL_(1, "ASSERT_FALSE", 0, x)
#define ASSERT_NULL(x) TH_PTR_(1, "ASSERT_NULL", 1, x)
#define ASSERT_NE_NULL(x) TH_PTR_(1, "ASSERT_NE_NULL", 0, x)
#define ASSERT_STREQ(expected, seen) TH_STR_(1, "ASSERT_STREQ", 1, expected, seen)
#define ASSERT_STRNE(expected, seen) TH_STR_(1, "ASSERT_STRNE", 0, expected, seen)

#define EXPECT_EQ(expected, seen) TH_CMP_(0, "EXPECT_EQ", TH_EQ, expected, seen)
#define EXPECT_NE(expected, seen) TH_CMP_(0, "EXPECT_NE", TH_NE, expected, seen)
#define EXPECT_LT(expected, seen) TH_CMP_(0, "EXPECT_LT", TH_LT, expected, seen)
#define EXPECT_LE(expected, seen) TH_CMP_(0, "EXPECT_LE", TH_LE, expected, seen)
#define EXPECT_GT(expected, seen) TH_CMP_(0, "EXPECT_GT", TH_GT, expected, seen)
#define EXPECT_GE(expected, seen) TH_CMP_(0, "EXPECT_GE", TH_GE, expected, seen)
#define EXPECT_TRUE(x) TH_BOOL_(0, "EXPECT_TRUE", 1, x)
#define EXPECT_FALSE(x) TH_BOOL_(0, "EXPECT_FALSE", 0, x)
#define EXPECT_NULL(x) TH_PTR_(0, "EXPECT_NULL", 1, x)
#define EXPECT_NE_NULL(x) TH_PTR_(0, "EXPECT_NE_NULL", 0, x)
#define EXPECT_STREQ(expected, seen) TH_STR_(0, "EXPECT_STREQ", 1, expected, seen)
#define EXPECT_STRNE(expected, seen) TH_STR_(0, "EXPECT_STRNE", 0, expected, seen)

/* ---------------------------------------------------------------- running */

struct th_case {
	const struct th_test *test;
	const struct th_variant *variant;
	char name[256];
};

enum th_verdict { TH_PASS, TH_FAIL, TH_SKIPPED };

static TH_UNUSED void th_on_term(int sig)
{
	/* The runner's timeout or a ^C: take the running test's process group down with us. */
	if (th_child_pgid > 0)
		kill(-th_child_pgid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static TH_UNUSED int th_timeout_scale(void)
{
	const char *s = getenv("BATON_TIMEOUT_SCALE");
	int n = s ? atoi(s) : 1;

	return n > 0 ? n : 1;
}

static TH_UNUSED __attribute__((noreturn)) void th_child(const struct th_case *c,
							 struct th_result *res,
							 const sigset_t *oldmask)
{
	struct __test_metadata m = { 0 };

	setpgid(0, 0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0); /* keep a crashing test's output */
	m.name = c->name;
	m.variant = c->variant ? c->variant->data : NULL;
	m.res = res;
	m.thread = pthread_self();
	c->test->fn(&m);
	fflush(NULL);
	_exit(res->failed ? KSFT_FAIL : res->skipped ? KSFT_SKIP : KSFT_PASS);
}

/*
 * Wait for pid for at most secs (0: forever). SIGCHLD is blocked, so one that arrives between
 * waitpid() and sigtimedwait() stays pending: no lost wake-up, no polling loop.
 * Returns 1 on timeout (the group is killed and the child reaped), 0 when it exited.
 */
static TH_UNUSED int th_wait(pid_t pid, int secs, int *status)
{
	struct timespec end, now, left;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += secs;
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR) {
			*status = 0xff00; /* reported as "exited with 255" */
			return 0;
		}
		if (secs <= 0) {
			sigwaitinfo(&chld, NULL);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = end.tv_sec - now.tv_sec;
		left.tv_nsec = end.tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_nsec += 1000000000L;
			left.tv_sec--;
		}
		if (left.tv_sec < 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return 1;
		}
		sigtimedwait(&chld, NULL, &left);
	}
}

static TH_UNUSED enum th_verdict th_run_case(const struct th_case *c, struct th_result *res,
					     const sigset_t *oldmask, int scale)
{
	int secs = c->test->timeout * scale, status = 0, timed_out, sig;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	printf("# RUN %s\n", c->name);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		th_log("%s: fork: %s", c->name, strerror(errno));
		return TH_FAIL;
	}
	if (pid == 0)
		th_child(c, res, oldmask);
	setpgid(pid, pid); /* also done by the child: whichever runs first wins the race */
	th_child_pgid = pid;
	timed_out = th_wait(pid, secs, &status);
	kill(-pid, SIGKILL); /* whatever the test left running in its group */
	th_child_pgid = 0;

	if (timed_out) {
		th_log("%s: timeout: still running after %d s, killed", c->name, secs);
		return TH_FAIL;
	}
	if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		if (sig == c->test->signal && !res->failed)
			return TH_PASS;
		th_log("%s: crashed: killed by signal %d (%s)", c->name, sig, strsignal(sig));
		return TH_FAIL;
	}
	if (c->test->signal) {
		th_log("%s: exited with %d, expected signal %d (%s)", c->name, WEXITSTATUS(status),
		       c->test->signal, strsignal(c->test->signal));
		return TH_FAIL;
	}
	switch (WEXITSTATUS(status)) {
	case KSFT_PASS:
		return res->failed ? TH_FAIL : res->skipped ? TH_SKIPPED : TH_PASS;
	case KSFT_SKIP:
		return res->failed ? TH_FAIL : TH_SKIPPED;
	case KSFT_FAIL:
		return TH_FAIL;
	default:
		th_log("%s: exited with status %d", c->name, WEXITSTATUS(status));
		return TH_FAIL;
	}
}

static TH_UNUSED void th_usage(const char *prog, FILE *f)
{
	fprintf(f,
		"usage: %s [-l] [-t NAME]... [-h]\n"
		"  -l       list the test names and exit\n"
		"  -t NAME  run only the tests whose name contains NAME (repeatable)\n"
		"  -h       show this help\n"
		"Each test runs in a forked child with a timeout; output is TAP 13.\n"
		"Environment: BATON_TIMEOUT_SCALE=N multiplies every test's timeout.\n"
		"Exit status: 0 all passed, 1 a test failed, 4 every test skipped.\n",
		prog);
}

static TH_UNUSED int th_selected(const char *name, char **filters, int nfilters)
{
	if (nfilters == 0)
		return 1;
	for (int i = 0; i < nfilters; i++)
		if (strstr(name, filters[i]))
			return 1;
	return 0;
}

/* Expand tests x variants into the run list, in source order. */
static TH_UNUSED struct th_case *th_cases(char **filters, int nfilters, int *n)
{
	struct th_case *cases = NULL;
	int cap = 0;

	*n = 0;
	for (const struct th_test *t = th_tests; t; t = t->next) {
		const struct th_variant *v = t->fixture ? t->fixture->variants : NULL;

		do {
			struct th_case c = { .test = t, .variant = v };

			if (v)
				snprintf(c.name, sizeof(c.name), "%s.%s.%s", t->fixture->name,
					 v->name, t->name);
			else if (t->fixture)
				snprintf(c.name, sizeof(c.name), "%s.%s", t->fixture->name,
					 t->name);
			else
				snprintf(c.name, sizeof(c.name), "%s", t->name);
			if (th_selected(c.name, filters, nfilters)) {
				if (*n == cap) {
					cap = cap ? 2 * cap : 16;
					cases = realloc(cases, cap * sizeof(*cases));
					if (!cases) {
						perror("realloc");
						exit(KSFT_FAIL);
					}
				}
				cases[(*n)++] = c;
			}
			v = v ? v->next : NULL;
		} while (v);
	}
	return cases;
}

/* The whole program: parse options, run every selected test, print TAP and the totals. */
static TH_UNUSED int th_main(int argc, char **argv)
{
	int list = 0, nfilters = 0, ncases, pass = 0, fail = 0, skip = 0;
	int scale = th_timeout_scale();
	char **filters = calloc(argc > 0 ? argc : 1, sizeof(*filters));
	struct th_case *cases;
	struct th_result *res;
	sigset_t chld, oldmask;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-l")) {
			list = 1;
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			filters[nfilters++] = argv[++i];
		} else if (!strncmp(argv[i], "-t", 2) && argv[i][2]) {
			filters[nfilters++] = argv[i] + 2;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			th_usage(argv[0], stdout);
			free(filters);
			return KSFT_PASS;
		} else {
			th_usage(argv[0], stderr);
			free(filters);
			return KSFT_FAIL;
		}
	}
	cases = th_cases(filters, nfilters, &ncases);
	free(filters);
	if (list) {
		for (int i = 0; i < ncases; i++)
			printf("%s\n", cases[i].name);
		free(cases);
		return KSFT_PASS;
	}
	printf("TAP version 13\n");
	if (ncases == 0) {
		printf("1..0 # SKIP no tests%s\n", nfilters ? " match the -t filters" : "");
		printf("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0\n");
		free(cases);
		/* A filter that selects nothing is a typo, not a skip. */
		return nfilters ? KSFT_FAIL : KSFT_SKIP;
	}
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("mmap");
		return KSFT_FAIL;
	}
	/* SIGCHLD stays blocked so th_wait() can sigtimedwait() for it; default
	 * disposition, because SIG_IGN would make the kernel reap our children. */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, th_on_term);
	signal(SIGINT, th_on_term);
	signal(SIGHUP, th_on_term);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &oldmask);

	printf("# Starting %d tests\n", ncases);
	printf("1..%d\n", ncases);
	for (int i = 0; i < ncases; i++) {
		switch (th_run_case(&cases[i], res, &oldmask, scale)) {
		case TH_PASS:
			pass++;
			printf("ok %d %s\n", i + 1, cases[i].name);
			break;
		case TH_SKIPPED:
			skip++;
			printf("ok %d %s # SKIP %s\n", i + 1, cases[i].name,
			       res->reason[0] ? res->reason : "(no reason given)");
			break;
		case TH_FAIL:
			fail++;
			printf("not ok %d %s\n", i + 1, cases[i].name);
			break;
		}
		fflush(stdout);
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n", pass, fail, skip);
	fflush(stdout);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	munmap(res, sizeof(*res));
	free(cases);
	if (fail)
		return KSFT_FAIL;
	return (skip && !pass) ? KSFT_SKIP : KSFT_PASS;
}

#define TEST_HARNESS_MAIN                                                                      \
	int main(int argc, char **argv)                                                        \
	{                                                                                      \
		return th_main(argc, argv);                                                    \
	}

#endif /* BATON_SELFTEST_HARNESS_H */
