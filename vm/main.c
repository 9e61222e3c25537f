// SPDX-License-Identifier: MIT
/*
 * vm/main.c: the baton executable: command line, VM start-up on the
 * ownership core, the main program as a process, the exit status.
 * Owns nothing but the process's argv and exit code.
 * See Documentation/vm/scheduler.md (and baton --help).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "vm/comp.h"
#include "vm/ffi/ffi.h"
#include "vm/interp.h"
#include "vm/io/io.h"
#include "vm/repl.h"
#include "vm/run.h"
#include "vm/sched.h"

static void usage(FILE *f)
{
	fputs("usage: baton [OPTIONS] [FILE.st [ARGS...]]\n"
	      "       baton [OPTIONS] -e 'STATEMENTS' [ARGS...]\n"
	      "  FILE.st             run the file (- reads standard input)\n"
	      "  -e STATEMENTS       run the statements\n"
	      "  -r, --regression    GNU Smalltalk's regression-test output: each Eval\n"
	      "                      framed by 'Execution begins...' and 'returned value\n"
	      "                      is X'; errors as ' error: TEXT', no trace\n"
	      "  (none, on a tty)    read-eval-print loop\n"
	      "  --heartbeat-hz N    heartbeat frequency (default 1000)\n"
	      "  --max-threads N     VM threads at most (default 64)\n"
	      "  --heap-max SIZE     heap limit, with k/m/g suffix (default: none)\n"
	      "  --stats             print VM counters on stderr at exit\n"
	      "  --trace FILE        record the ownership timeline, written to FILE\n"
	      "                      (Chrome trace-event JSON) at exit\n"
	      "  -h, --help          this text\n"
	      "Environment: BATON_GC_STRESS=N scavenges at every Nth allocation;\n"
	      "  BATON_URING=0 uses epoll instead of io_uring; BATON_MEMBARRIER=0 re-owns\n"
	      "  the VM after a callout with a CAS; BATON_NOFILE=N sets the\n"
	      "  descriptor limit (default: the hard limit).\n",
	      f);
}

static int parse_size(const char *s, size_t *out)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || e == s)
		return 0;
	switch (*e) {
	case 'k': case 'K': v <<= 10; e++; break;
	case 'm': case 'M': v <<= 20; e++; break;
	case 'g': case 'G': v <<= 30; e++; break;
	default: break;
	}
	if (*e == 'b' || *e == 'B')
		e++;
	if (*e)
		return 0;
	*out = (size_t)v;
	return 1;
}

static void print_stats(struct st_vm *vm)
{
	struct gc_stats g;
	struct baton_stats b;
	gc_get_stats(&vm->gc, &g);
	baton_get_stats(vm->core, &b);
	uint64_t el = baton_now_ns() - vm->start_ns;
	fprintf(stderr,
		"baton stats:\n"
		"  elapsed_ms          %llu\n"
		"  gc.scavenges        %llu\n"
		"  gc.full_gcs         %llu\n"
		"  gc.allocated_bytes  %llu\n"
		"  gc.tenured_bytes    %llu\n"
		"  gc.scavenge_max_us  %llu\n"
		"  gc.scavenge_p99_us  %llu\n"
		"  gc.pins             %llu\n"
		"  gc.finalized        %llu\n"
		"  proc.created        %llu\n"
		"  proc.switches       %llu\n"
		"  own.disowns         %llu\n"
		"  own.owns_fast       %llu\n"
		"  own.owns_slow       %llu\n"
		"  own.handoffs        %llu\n"
		"  own.blocked         %llu\n"
		"  own.blocking_hints  %llu\n"
		"  own.activations     %llu\n"
		"  own.creations       %llu\n"
		"  own.attaches        %llu\n"
		"  own.preemptions     %llu\n"
		"  own.threads_peak    %u\n"
		"  hb.backend          %s\n",
		(unsigned long long)(el / 1000000), (unsigned long long)g.scavenges,
		(unsigned long long)g.full_gcs, (unsigned long long)g.allocated_bytes,
		(unsigned long long)g.tenured_bytes, (unsigned long long)(g.scavenge_max_ns / 1000),
		(unsigned long long)(g.scavenge_p99_ns / 1000), (unsigned long long)g.pins,
		(unsigned long long)g.finalized,
		(unsigned long long)vm->processes_created, (unsigned long long)vm->switches,
		(unsigned long long)b.disowns, (unsigned long long)b.owns_fast,
		(unsigned long long)b.owns_slow, (unsigned long long)b.handoffs,
		(unsigned long long)b.blocked, (unsigned long long)b.blocking_hints,
		(unsigned long long)b.activations, (unsigned long long)b.creations,
		(unsigned long long)b.attaches, (unsigned long long)b.preemptions, b.threads_peak,
		b.hb_backend ? b.hb_backend : "?");
	fprintf(stderr,
		"  own.fast_path       %s\n"
		"  own.takeovers       %llu\n"
		"  own.takeover_aborts %llu\n",
		b.own_fast_path ? b.own_fast_path : "?", (unsigned long long)b.takeovers,
		(unsigned long long)b.takeover_aborts);
	vio_print_stats(vm, stderr);
}

/* The collector's events, for --trace (on the owner: vm->cur_thread). */
static void trace_gc(void *owner, int full, int end, uint64_t bytes)
{
	struct st_vm *vm = owner;
	baton_trace_gc(vm->core, vm->cur_thread, full, end, bytes);
}

/*
 * Fatal signals: what the program printed is written before the process
 * ends, then the signal is raised again with its default action, so the
 * exit status (and a core dump) stay the signal's. A handler has no
 * argument to find the VM by: this is the executable's one VM.
 */
static struct st_vm *sig_vm;
static const int fatal_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV,
				 SIGBUS,  SIGFPE,  SIGILL, SIGABRT};
/* What was there before (the default, or a sanitizer's handler): it gets
 * the signal after us. */
static struct sigaction old_act[NSIG];

static void on_fatal(int sig)
{
	int e = errno;
	if (sig_vm)
		st_out_flush_signal(sig_vm);
	sigaction(sig, &old_act[sig], NULL);
	errno = e;
	raise(sig); /* pending until the handler returns (SIGSEGV: re-faults) */
}

static void catch_fatal(struct st_vm *vm)
{
	/* the handler must run even when the C stack overflowed */
	static char altstack[1 << 16];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	sigaltstack(&ss, NULL);
	struct sigaction sa = {.sa_handler = on_fatal, .sa_flags = SA_ONSTACK};
	sigemptyset(&sa.sa_mask);
	sig_vm = vm;
	for (size_t i = 0; i < sizeof fatal_sigs / sizeof fatal_sigs[0]; i++) {
		int sig = fatal_sigs[i];
		/* an ignored SIGINT (nohup, `cmd &` in sh) stays ignored */
		if (sigaction(sig, NULL, &old_act[sig]) < 0 || old_act[sig].sa_handler == SIG_IGN)
			continue;
		sigaction(sig, &sa, NULL);
	}
}

/* A closed standard descriptor would be reused by the first file the VM
 * opens (the heartbeat's timerfd...), and stdout would land there: hold
 * it with /dev/null. Answers 1 when stdout was closed. */
static int hold_std_fds(void)
{
	int closed1 = 0;
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == 1)
			closed1 = 1;
		int n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	return closed1;
}

int main(int argc, char **argv)
{
	struct baton_config cfg = {0};
	struct gc_sizes sizes = {0};
	const char *expr = NULL, *file = NULL;
	int stats = 0, regression = 0, i;
	const char *trace = NULL;
	int stdout_closed = hold_std_fds();
	vio_setup_process();
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-e") && i + 1 < argc) {
			expr = argv[++i];
			i++;
			break;
		} else if (!strcmp(a, "--heartbeat-hz") && i + 1 < argc) {
			cfg.heartbeat_hz = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(a, "--max-threads") && i + 1 < argc) {
			cfg.max_threads = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(a, "--heap-max") && i + 1 < argc) {
			if (!parse_size(argv[++i], &sizes.heap_max)) {
				fprintf(stderr, "baton: bad size '%s'\n", argv[i]);
				return EX_USAGE;
			}
		} else if (!strcmp(a, "-r") || !strcmp(a, "--regression")) {
			regression = 1;
		} else if (!strcmp(a, "--stats")) {
			stats = 1;
		} else if (!strcmp(a, "--trace") && i + 1 < argc) {
			trace = argv[++i];
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1] == '-' && a[2]) {
			fprintf(stderr, "baton: unknown option '%s'\n", a);
			usage(stderr);
			return EX_USAGE;
		} else {
			file = a;
			i++;
			break;
		}
	}
	/* options may also follow the file */
	int rest = i;
	const char *se = getenv("BATON_GC_STRESS");
	if (se && *se)
		sizes.stress = (unsigned)atoi(se);

	struct st_vm *vm = st_new();
	if (!vm || gc_init(&vm->gc, &sizes, vm_roots, vm) < 0) {
		fputs("baton: cannot initialise the heap\n", stderr);
		return EX_SOFTWARE;
	}
	vm->out_closed = stdout_closed;
	vm->start_ns = baton_now_ns();
	vm->argv0 = argv[0];
	vm->argv_all = argv;
	vm->prog_file = file && strcmp(file, "-") ? file : NULL;
	vm->stats = stats;
	vm->regression = regression;
	vm->args = argv + rest;
	vm->nargs = argc - rest;
	/* trailing --stats etc. after the file are program arguments, except
	 * our own flags, which we honour and hide */
	for (int k = 0; k < vm->nargs; k++)
		if (!strcmp(vm->args[k], "--stats")) {
			vm->stats = stats = 1;
			memmove(vm->args + k, vm->args + k + 1, sizeof(char *) * (size_t)(vm->nargs - k - 1));
			vm->nargs--;
			k--;
		}
	if (!st_boot(vm))
		return EX_SOFTWARE;
	catch_fatal(vm);

	cfg.hooks = &sched_hooks;
	cfg.ud = vm;
	vm->max_threads = cfg.max_threads ? cfg.max_threads : 64;
	vm->print_stats = print_stats;
	vm->core = baton_vm_new(&cfg);
	if (!vm->core) {
		fprintf(stderr, "baton: cannot start the VM core: %s\n", strerror(errno));
		return EX_SOFTWARE;
	}
	vm->main_thread = baton_enter(vm->core);
	vm->cur_thread = vm->main_thread;
	if (baton_trace_on(vm->core)) { /* BATON_TRACE=json:FILE */
		vm->tracing = 1;
		vm->gc.on_gc = trace_gc;
	}
	if (trace && !vm->tracing) {
		int r = baton_trace_start(vm->core, trace);
		if (r < 0) {
			fprintf(stderr, "baton: --trace %s: %s\n", trace, strerror(-r));
			return st_finish(vm, EX_CANTCREAT);
		}
		vm->tracing = 1;
		vm->gc.on_gc = trace_gc;
	}

	char err[512];
	oop doit = 0;
	if (expr) {
		doit = comp_file(vm, "-e", expr, strlen(expr), 0, err, sizeof err);
	} else if (file || !isatty(0)) {
		int status;
		doit = st_compile_program(vm, file ? file : "-", "", &status);
		if (!doit)
			return st_finish(vm, status);
	} else {
		repl_run(vm, st_run_main);
		doit = 0;
		err[0] = 0;
		st_out_flush(vm);
		if (vm->stats)
			print_stats(vm);
		return st_finish(vm, vm->quit ? vm->quit_code : 0);
	}
	if (!doit) {
		fprintf(stderr, "%s\n", err);
		return st_finish(vm, EX_DATAERR);
	}
	st_run_main(vm, doit);
	st_out_flush(vm);
	int code = st_run_status(vm, "");
	if (vm->stats)
		print_stats(vm);
	return st_finish(vm, code);
}
