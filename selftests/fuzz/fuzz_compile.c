// SPDX-License-Identifier: MIT
/*
 * selftests/fuzz/fuzz_compile.c: fuzz target for the front end and the compiler: any
 * bytes are compiled, as a file (comp_file, the path of `baton FILE`, or of a REPL line
 * when the size is odd) and as a method
 * (comp_method, the path of Behavior>>compile:), and unit by unit (fi_next, the path
 * of gst's kind of file: Eval, chunks, compile errors skipped), and never run. Either a
 * CompiledMethod or a syntax error "FILE:LINE:COL: ..." must come out, with the C root
 * stack balanced; a crash, a sanitizer report, a hang or an abort is a finding.
 * Compiling class definitions changes the classes of the VM (that is the compiler's
 * job), so the VM is booted afresh every FUZZ_REBOOT inputs. See selftests/fuzz/fuzz.h.
 */
#include "selftests/fuzz/fuzz.h"
#include "vm/comp.h"
#include "vm/filein.h"

#define FUZZ_REBOOT 2000

static struct st_vm *vm;
static unsigned runs;

static void check_err(const char *what, const char *err)
{
	/* every failure names a place: "fuzz.st:LINE:COL: message" */
	unsigned line, col;
	char c;
	if (sscanf(err, "fuzz.st:%u:%u%c", &line, &col, &c) != 3 || c != ':' || !line || !col) {
		fprintf(stderr, "fuzz: %s failed without a position: %s\n", what, err);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm || ++runs % FUZZ_REBOOT == 0) {
		if (vm) {
			gc_free(&vm->gc);
			st_free(vm);
		}
		vm = fuzz_vm();
	}
	char err[512];
	unsigned roots = vm->nroots;
	err[0] = 0;
	/* odd sizes as a REPL line: undeclared variables become globals */
	oop m = comp_file(vm, "fuzz.st", (const char *)data, size, size & 1 ? COMP_REPL : 0, err,
			  sizeof err);
	fuzz_check_roots(vm, roots, "comp_file");
	if (!m)
		check_err("comp_file", err);
	err[0] = 0;
	m = comp_method(vm, vm->classes[CI_OBJECT], "fuzz.st", (const char *)data, size, err,
			sizeof err);
	fuzz_check_roots(vm, roots, "comp_method");
	if (!m)
		check_err("comp_method", err);
	/* unit by unit: every unit compiles or fails with a position, and the
	 * reader always moves on (each unit takes at least one byte) */
	int h = fi_open(vm, "fuzz.st", (const char *)data, size);
	if (h >= 0) {
		size_t units = 0;
		for (;;) {
			err[0] = 0;
			int k = fi_next(vm, h, 0, &m, err, sizeof err);
			fuzz_check_roots(vm, roots, "fi_next");
			if (k == FI_END)
				break;
			if (k == FI_ERROR)
				check_err("fi_next", err);
			if (++units > size + 2) {
				fprintf(stderr, "fuzz: fi_next makes no progress\n");
				abort();
			}
		}
		fi_close(vm, h);
	}
	return 0;
}

#ifndef BATON_LIBFUZZER
int main(void) { return fuzz_replay_main("compile"); }
#endif
