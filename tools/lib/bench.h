// SPDX-License-Identifier: MIT
/*
 * tools/lib/bench.h: the benchmark table: medians, rows, references.
 *
 * Rows print as a table (name, value, unit, what it is compared with, the
 * goal) or, with BENCH_FORMAT=tsv, as name<TAB>value<TAB>unit lines.
 */
#ifndef BATON_BENCH_H
#define BATON_BENCH_H

#include <stdio.h>
#include <sys/types.h>

struct bench {
	int tsv;
	int failed;
	const char *bindir; /* where the bench binary lives (for build/baton) */
};

void bench_init(struct bench *b, int argc, char **argv);
double bench_median(struct bench *b, double (*fn)(void *), void *ud, int reps);
double bench_percentile(double *v, int n, double pct);
/* Medians of [n] (at most 8) functions run round-robin [reps] times: a
 * row and its references are measured under the same conditions. */
void bench_medians(struct bench *b, double (*const *fn)(void *), int n, int reps, double *out);
void bench_row(struct bench *b, const char *name, double value, const char *unit,
	       const char *what, const char *goal);
/* A row that could not be measured: "n/a" and the reason (tsv: the value
 * n/a, then a "# name: reason" line). */
void bench_row_na(struct bench *b, const char *name, const char *unit, const char *why);
void bench_ratio(struct bench *b, const char *what, double ratio);
void bench_note(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The VM's rows (bench/NAME.st run by build/baton) and their python3 / lua
 * references, when those exist. */
void bench_vm_rows(struct bench *b);
/* The io rows of issue 8 and their references (tools/lib/benchio.c). */
void bench_io_rows(struct bench *b);
/* The http rows of issue 9: the HTTP package against Go's net/http
 * (tools/lib/benchhttp.c). */
void bench_http_rows(struct bench *b);
/* Heartbeat per head against one shared by all (tools/lib/benchhb.c). */
void bench_hb_rows(struct bench *b);
/* The hydra rows of issue 12: several VMs in one process against their
 * references (tools/lib/benchhydra.c). */
void bench_hydra_rows(struct bench *b);
/* Whether the part [name] ("core", "vm", "io") is to run: BENCH unset or
 * empty runs every part, else BENCH lists them ("io", "core,vm"). */
int bench_part(const char *name);
/* CLOCK_MONOTONIC in seconds, and a sleep of [s] seconds that EINTR does
 * not cut short: the load-generating rows' clock and pacing. */
double bench_now_s(void);
void bench_nap(double s);
int bench_end(struct bench *b);

/* tools/lib/benchproc.c: a program a row starts, stdin and stdout on pipes
 * (in = -1 once the row closed it), stderr in a temporary file. Reasons are
 * written into BENCH_WHY bytes. */
#define BENCH_WHY 200
struct bench_proc {
	pid_t pid;
	int in, out;
	FILE *err;
	char buf[4096];
	size_t len;
};
/* Starts argv pinned to [cpu] (-1: not); -1 and the reason on failure. */
int bench_spawn(struct bench_proc *p, char *const argv[], int cpu, char *why);
/* Reads stdout until a line is complete (0, the line in [line]), the end
 * (-1) or the deadline (-2). */
int bench_read_line(struct bench_proc *p, double secs, char *line, size_t sz);
/* The first line of the child's stderr, else [dflt], else how it ended. */
void bench_reason(struct bench_proc *p, int status, const char *dflt, char *why);
/* Ends the child (SIGKILL unless it already ended), closes its pipes and
 * answers its status; the caller closes p->err. */
int bench_finish(struct bench_proc *p);

#endif
