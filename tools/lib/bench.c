// SPDX-License-Identifier: MIT
/*
 * tools/lib/bench.c: medians and the printed table of `make bench`.
 *
 * Also runs the Smalltalk benchmarks (bench/NAME.st, each printing
 * name<TAB>value<TAB>unit lines) and their python3 / lua references
 * (tools/bench-ref/), each several times, taking medians.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/lib/bench.h"

#define VM_REPS 5

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double bench_percentile(double *v, int n, double pct)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	int i = (int)(pct / 100.0 * (n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

double bench_median(struct bench *b, double (*fn)(void *), void *ud, int reps)
{
	(void)b;
	double v[64];
	if (reps > 64)
		reps = 64;
	for (int i = 0; i < reps; i++)
		v[i] = fn(ud);
	return bench_percentile(v, reps, 50);
}

void bench_medians(struct bench *b, double (*const *fn)(void *), int n, int reps, double *out)
{
	(void)b;
	double v[8][64];
	if (reps > 64)
		reps = 64;
	if (n > 8)
		n = 8;
	/* Round-robin, so that a row and its reference see the same load. */
	for (int i = 0; i < reps; i++)
		for (int k = 0; k < n; k++)
			v[k][i] = fn[k](NULL);
	for (int k = 0; k < n; k++)
		out[k] = bench_percentile(v[k], reps, 50);
}

void bench_init(struct bench *b, int argc, char **argv)
{
	(void)argc;
	memset(b, 0, sizeof *b);
	const char *f = getenv("BENCH_FORMAT");
	b->tsv = f && strcmp(f, "tsv") == 0;
	static char path[4096];
	if (readlink("/proc/self/exe", path, sizeof path - 1) < 0)
		snprintf(path, sizeof path, "%s", argv[0]);
	b->bindir = dirname(path);
	if (!b->tsv)
		printf("%-32s %12s %-7s  %-44s %s\n", "name", "value", "unit",
		       "what (reference)", "goal");
}

void bench_note(struct bench *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(b->tsv ? "# " : "  ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}

void bench_row(struct bench *b, const char *name, double value, const char *unit,
	       const char *what, const char *goal)
{
	if (b->tsv)
		printf("%s\t%.6g\t%s\n", name, value, unit);
	else
		printf("%-32s %12.4g %-7s  %-44s %s\n", name, value, unit, what ? what : "",
		       goal ? goal : "");
	fflush(stdout);
}

void bench_row_na(struct bench *b, const char *name, const char *unit, const char *why)
{
	if (b->tsv)
		printf("%s\tn/a\t%s\n# %s: %s\n", name, unit, name, why);
	else
		printf("%-32s %12s %-7s  %.200s\n", name, "n/a", unit, why);
	fflush(stdout);
}

int bench_part(const char *name)
{
	const char *sel = getenv("BENCH");
	if (!sel || !*sel)
		return 1;
	size_t n = strlen(name);
	for (const char *p = sel; (p = strstr(p, name)); p += n)
		if ((p == sel || p[-1] == ',' || p[-1] == ' ') && (!p[n] || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

void bench_ratio(struct bench *b, const char *what, double ratio)
{
	if (!b->tsv)
		printf("  %-46s %8.3g\n", what, ratio);
}

/* ---- the VM's rows ---------------------------------------------------------- */

struct acc {
	char name[64], unit[16];
	double v[VM_REPS];
	int n;
};

/* Runs [cmd] and adds each name<TAB>value<TAB>unit line it prints. */
static int collect(const char *cmd, struct acc *acc, int *nacc, int max)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	char line[512];
	while (fgets(line, sizeof line, p)) {
		char name[64], unit[16];
		double v;
		if (sscanf(line, "%63[^\t]\t%lf\t%15s", name, &v, unit) != 3)
			continue;
		int i = 0;
		while (i < *nacc && strcmp(acc[i].name, name))
			i++;
		if (i == *nacc) {
			if (*nacc == max)
				continue;
			memset(&acc[i], 0, sizeof acc[i]);
			snprintf(acc[i].name, sizeof acc[i].name, "%s", name);
			snprintf(acc[i].unit, sizeof acc[i].unit, "%s", unit);
			(*nacc)++;
		}
		if (acc[i].n < VM_REPS)
			acc[i].v[acc[i].n++] = v;
	}
	return pclose(p);
}

static double find(struct acc *acc, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(acc[i].name, name))
			return bench_percentile(acc[i].v, acc[i].n, 50);
	return 0;
}

void bench_vm_rows(struct bench *b)
{
	char baton[4200], cmd[8400], testlib[4200];
	snprintf(baton, sizeof baton, "%s/../baton", b->bindir);
	/* bench/ffi.st and tools/bench-ref/ctypes.py call the FFI test library's no-op */
	snprintf(testlib, sizeof testlib, "%s/../selftests/ffi/libffitest.so", b->bindir);
	if (access(testlib, R_OK) == 0)
		setenv("BATON_FFI_TESTLIB", testlib, 0);
	struct acc acc[48];
	int n = 0;
	glob_t g;
	int have_vm = access(baton, X_OK) == 0 && glob("bench/*.st", 0, NULL, &g) == 0;
	for (int r = 0; have_vm && r < VM_REPS; r++)
		for (size_t i = 0; i < g.gl_pathc; i++) {
			snprintf(cmd, sizeof cmd, "'%s' '%s'", baton, g.gl_pathv[i]);
			collect(cmd, acc, &n, 48);
		}
	if (have_vm)
		globfree(&g);
	static const char *refs[] = {
		"python3 tools/bench-ref/fib.py", "python3 tools/bench-ref/sieve.py",
		"lua5.4 tools/bench-ref/fib.lua", "lua5.4 tools/bench-ref/sieve.lua",
		"python3 tools/bench-ref/ctypes.py", "python3 tools/bench-ref/json_parse.py",
	};
	for (int r = 0; r < VM_REPS; r++)
		for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
			snprintf(cmd, sizeof cmd, "%s 2>/dev/null", refs[i]);
			collect(cmd, acc, &n, 48);
		}
	if (!have_vm)
		bench_note(b, "no build/baton or bench/*.st: VM rows skipped");
	for (int i = 0; i < n; i++)
		bench_row(b, acc[i].name, bench_percentile(acc[i].v, acc[i].n, 50), acc[i].unit,
			  !strncmp(acc[i].name, "ref.", 4) ? "reference, same run" : "Smalltalk",
			  !strcmp(acc[i].name, "ffi.threaded_overhead_ns") ? "<= 1.5" : NULL);
	double fib = find(acc, n, "vm.fib_sends_per_s"), pyfib = find(acc, n, "ref.python_fib_calls_per_s");
	double sv = find(acc, n, "vm.sieve_s"), pysv = find(acc, n, "ref.python_sieve_s");
	if (fib && pyfib)
		bench_ratio(b, "ratio: fib sends/s / CPython (goal >= 2.5)", fib / pyfib);
	if (sv && pysv)
		bench_ratio(b, "ratio: sieve s / CPython (goal <= 0.33)", sv / pysv);
	double th = find(acc, n, "ffi.threaded_ns"), cdll = find(acc, n, "ref.python_ctypes_cdll_ns");
	if (th && cdll)
		bench_ratio(b, "ratio: ffi threaded / ctypes CDLL (goal <= 0.2)", th / cdll);
	double js = find(acc, n, "json.parse_mb_s"), pyjs = find(acc, n, "ref.python_json_parse_mb_s");
	if (js && pyjs)
		bench_ratio(b, "ratio: json MB/s / CPython json (goal >= 0.5)", js / pyjs);
}

int bench_end(struct bench *b)
{
	return b->failed;
}
