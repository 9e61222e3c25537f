// SPDX-License-Identifier: MIT
/*
 * vm/prim_pkg.c: the primitives of the package loader and of FileStream
 * fileIn: (st/kernel/87-Package.st): compiling a source file into a
 * CompiledMethod to run, and the directories of the package path that only
 * the C side knows (the running program's, the executable's).
 * The search itself, the load-once table and the errors are Smalltalk.
 * See Documentation/vm/packages.md.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/comp.h"
#include "vm/prim.h"

/* A NUL-terminated malloc'd copy of the bytes of [o] (NULs inside kept). */
static char *copy_bytes(oop o, size_t *n)
{
	*n = obj_byte_size(o);
	char *s = malloc(*n + 1);
	if (s) {
		memcpy(s, obj_bytes(o), *n);
		s[*n] = 0;
	}
	return s;
}

/*
 * PackageLoader class>>primCompile: source file: name: the statements of
 * a whole file compiled as the CompiledMethod UndefinedObject>>
 * executeStatements, which the caller runs with valueWithReceiver:
 * withArguments:. A syntax error answers its "FILE:LINE:COL: message"
 * String instead (the caller signals SyntaxError with it).
 */
PRIM(pkgCompile)
{
	if (!prim_is_bytes(args[1]) || !prim_is_bytes(args[2]))
		return PRIM_FAIL;
	size_t n, fn;
	char *src = copy_bytes(args[1], &n), *file = copy_bytes(args[2], &fn);
	if (!src || !file) {
		free(src);
		free(file);
		return PRIM_OOM;
	}
	if (memchr(file, 0, fn)) { /* names end at a NUL in C */
		free(src);
		free(file);
		return PRIM_FAIL;
	}
	char err[1024];
	err[0] = 0;
	oop m = comp_file(vm, file, src, n, 0, err, sizeof err);
	free(src);
	free(file);
	if (!m) {
		oop s = prim_string(vm, err[0] ? err : "compilation failed");
		if (!s)
			return PRIM_OOM;
		args[0] = s;
		return PRIM_OK;
	}
	args[0] = m;
	return PRIM_OK;
}

/* The directory of the program file given to baton ("." when it has no
 * directory part), or nil for -e, standard input and the REPL. */
PRIM(pkgProgramDir)
{
	const char *f = vm->prog_file;
	if (!f) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	const char *slash = strrchr(f, '/');
	oop s = !slash ? prim_string(vm, ".")
		       : st_new_string(vm, f, slash == f ? 1 : (size_t)(slash - f));
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Removes the last path component of [p] in place ("/a/b" -> "/a"). */
static void up(char *p)
{
	char *s = strrchr(p, '/');
	if (s && s != p)
		*s = 0;
	else if (s)
		s[1] = 0;
}

/*
 * The package directories that follow BATON_PATH, from the executable
 * (/proc/self/exe): the installed PREFIX/share/baton/packages for
 * PREFIX/bin/baton; then, when it exists, the source tree's st/packages
 * for a baton built in a checkout (TREE/build/baton). The first is left
 * out when it does not exist but the second does (a checkout).
 */
PRIM(pkgSystemDirs)
{
	char exe[PATH_MAX], a[PATH_MAX + 32], b[PATH_MAX + 32];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (k <= 0) {
		oop arr = st_new_array(vm, 0);
		if (!arr)
			return PRIM_OOM;
		args[0] = arr;
		return PRIM_OK;
	}
	exe[k] = 0;
	up(exe); /* the bin (or build) directory */
	up(exe); /* PREFIX (or the tree) */
	const char *base = strcmp(exe, "/") ? exe : "";
	snprintf(a, sizeof a, "%s/share/baton/packages", base);
	snprintf(b, sizeof b, "%s/st/packages", base);
	/* a checkout's build/share/... does not exist: then only st/packages */
	int tree = is_dir(b), inst = !tree || is_dir(a), k2 = 0;
	oop arr = st_new_array(vm, (size_t)(inst + tree));
	if (!arr)
		return PRIM_OOM;
	ST_ROOT(vm, arr);
	oop s = arr;
	if (inst && (s = prim_string(vm, a)))
		st_put(vm, arr, (size_t)k2++, s);
	if (s && tree && (s = prim_string(vm, b)))
		st_put(vm, arr, (size_t)k2, s);
	ST_UNROOT(vm, 1);
	if (!s)
		return PRIM_OOM;
	args[0] = arr;
	return PRIM_OK;
}
