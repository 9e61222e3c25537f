// SPDX-License-Identifier: MIT
/*
 * selftests/fuzz/fuzz.h: what the fuzz targets (selftests/fuzz/fuzz_*.c) share: one
 * booted VM per process, and the replay main() that make check runs. Each target
 * defines LLVMFuzzerTestOneInput(); built with clang -fsanitize=fuzzer and
 * -DBATON_LIBFUZZER (make fuzz) libFuzzer drives it, otherwise fuzz_replay_main() feeds
 * it every file of selftests/fuzz/<target>/ (the regression inputs) and prints TAP.
 * See Documentation/testing.md (Fuzzing).
 */
#ifndef BATON_SELFTEST_FUZZ_H
#define BATON_SELFTEST_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/gc/gc.h"
#include "vm/st.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A booted VM without a core or processes: enough to compile and convert. */
static inline struct st_vm *fuzz_vm(void)
{
	struct gc_sizes sizes = {0};
	struct st_vm *vm = st_new();
	if (!vm || gc_init(&vm->gc, &sizes, vm_roots, vm) < 0 || !st_boot(vm)) {
		fputs("fuzz: cannot boot the VM\n", stderr);
		abort();
	}
	return vm;
}

/* An oracle for every input: the C root stack is balanced afterwards. */
static inline void fuzz_check_roots(struct st_vm *vm, unsigned before, const char *what)
{
	if (vm->nroots != before) {
		fprintf(stderr, "fuzz: %s left %d C roots registered\n", what,
			(int)vm->nroots - (int)before);
		abort();
	}
}

#ifndef BATON_LIBFUZZER
static int fuzz_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays selftests/fuzz/[name]/ (under $BATON_SRC_DIR, else the current directory) in
 * sorted order, one TAP line per file. A crash ends the program, which the runner
 * reports; a clean run is all "ok". */
static inline int fuzz_replay_main(const char *name)
{
	char dir[4096];
	const char *src = getenv("BATON_SRC_DIR");
	snprintf(dir, sizeof dir, "%s/selftests/fuzz/%s", src && *src ? src : ".", name);
	DIR *d = opendir(dir);
	if (!d) {
		printf("TAP version 13\n1..0 # SKIP no %s\n# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:1 error:0\n", dir);
		return 4;
	}
	char **files = NULL;
	size_t n = 0, cap = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			files = realloc(files, cap * sizeof *files);
			if (!files)
				abort();
		}
		files[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(files, n, sizeof *files, fuzz_cmp);
	printf("TAP version 13\n1..%zu\n", n);
	fflush(stdout);
	int fail = 0;
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		FILE *f = fopen(path, "rb");
		uint8_t *buf = NULL;
		size_t len = 0;
		if (f) {
			fseek(f, 0, SEEK_END);
			long sz = ftell(f);
			fseek(f, 0, SEEK_SET);
			buf = malloc(sz > 0 ? (size_t)sz : 1);
			len = buf && sz > 0 ? fread(buf, 1, (size_t)sz, f) : 0;
			fclose(f);
		}
		if (!f || !buf) {
			printf("not ok %zu %s/%s # cannot read\n", i + 1, name, files[i]);
			fail++;
		} else {
			LLVMFuzzerTestOneInput(buf, len);
			printf("ok %zu %s/%s\n", i + 1, name, files[i]);
		}
		fflush(stdout);
		free(buf);
		free(files[i]);
	}
	free(files);
	printf("# Totals: pass:%zu fail:%d xfail:0 xpass:0 skip:0 error:0\n", n - (size_t)fail, fail);
	return fail ? 1 : 0;
}
#endif

#endif /* BATON_SELFTEST_FUZZ_H */
