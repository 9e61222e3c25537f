// SPDX-License-Identifier: MIT
/*
 * vm/run.c: a program's life on a VM, from its source to its exit status
 * (vm/run.h). Shared by the baton executable and by Hydra's heads, so that
 * a head ends exactly as baton would: same statuses, same messages.
 * Owns nothing past the call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "vm/comp.h"
#include "vm/filein.h"
#include "vm/ffi/ffi.h"
#include "vm/hydra/hydra.h"
#include "vm/run.h"
#include "vm/sched.h"

char *st_read_all(FILE *f, size_t *n)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		size_t r = fread(buf + len, 1, cap - len, f);
		len += r;
		if (r == 0)
			break;
		if (len == cap) {
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
	}
	*n = len;
	return buf;
}

oop st_compile_program(struct st_vm *vm, const char *name, const char *prefix, int *status)
{
	FILE *f = !strcmp(name, "-") ? stdin : fopen(name, "r");
	if (!f) {
		fprintf(stderr, "%sbaton: cannot open '%s': %s\n", prefix, name, strerror(errno));
		*status = EX_NOINPUT;
		return 0;
	}
	size_t n = 0;
	char *src = st_read_all(f, &n);
	if (f != stdin)
		fclose(f);
	if (!src) {
		fprintf(stderr, "%sbaton: out of memory\n", prefix);
		*status = EX_SOFTWARE;
		return 0;
	}
	char err[512];
	const char *shown = !strcmp(name, "-") ? "stdin" : name;
	if (vm->regression || fi_is_unitwise(src, n)) {
		/* GNU Smalltalk's kind of file: unit by unit (vm/filein.c) */
		int h = fi_open(vm, shown, src, n);
		free(src);
		if (h < 0) {
			fprintf(stderr, "%sbaton: out of memory\n", prefix);
			*status = EX_SOFTWARE;
			return 0;
		}
		char gen[64];
		snprintf(gen, sizeof gen, "FileIn runMainReader: %d", h);
		oop doit = comp_file(vm, shown, gen, strlen(gen), 0, err, sizeof err);
		if (!doit) {
			fprintf(stderr, "%s%s\n", prefix, err);
			*status = EX_SOFTWARE;
		}
		return doit;
	}
	oop doit = comp_file(vm, shown, src, n, 0, err, sizeof err);
	free(src);
	if (!doit) {
		fprintf(stderr, "%s%s\n", prefix, err);
		*status = EX_DATAERR;
	}
	return doit;
}

void st_run_main(struct st_vm *vm, oop doit)
{
	struct st_proc *p = sched_new_proc(vm, 0, doit, PRIO_USER);
	if (!p) {
		fputs("baton: out of memory\n", stderr);
		exit(EX_SOFTWARE);
	}
	p->is_main = 1;
	vm->main_proc = p;
	sched_ready(vm, p, 0);
	sched_run(vm, vm->main_thread);
}

int st_run_status(struct st_vm *vm, const char *prefix)
{
	if (vm->quit)
		return vm->quit_code;
	if (vm->unit_status) /* a file run unit by unit: 65 or 1 */
		return vm->unit_status;
	int w = sched_count_waiting(vm);
	if (w > 0)
		fprintf(stderr, "%sbaton: %d processes left waiting\n", prefix, w);
	return vm->main_failed ? 1 : 0;
}

/* Frees everything (so that leak checkers see a clean exit), unless a
 * callout or a callback is in flight or C may still call a Callback: its
 * thread must not find the VM gone. Callbacks arriving from now on answer
 * 0 at once (the VM is ending). */
int st_finish(struct st_vm *vm, int code)
{
	st_out_flush(vm);
	code = st_out_status(vm, code);
	/* the first VM of a group ends its heads, then itself */
	hy_end_group(vm);
	hy_vm_end(vm, code);
	hy_release_group(vm);
	fflush(stderr);
	__atomic_store_n(&vm->ended, 1, __ATOMIC_RELEASE);
	if (vm->in_callout == 0 && vm->cb_active == 0 && !cf_live_callbacks(vm)) {
		if (vm->core)
			baton_vm_free(vm->core, vm->main_thread); /* writes --trace */
		gc_free(&vm->gc);
		st_free(vm);
	} else if (vm->tracing) {
		baton_trace_flush(vm->core);
	}
	return code;
}
