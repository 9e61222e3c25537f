// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi_call.c: libraries (dlopen), functions (dlsym, one libffi cif per
 * signature, prepared once) and the callout itself, in its three modes,
 * with the pins of #bytes arguments. Everything is converted and pinned
 * before the VM is disowned: between disown and own there is only the C
 * call (no allocation, lock or syscall of ours). See Documentation/vm/ffi.md.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/ffi/ffi_priv.h"
#include "vm/grow.h"
#include "vm/prim.h"

/* ---- libraries ---------------------------------------------------------------- */

static int is_string(oop o)
{
	return obj_is_ptr(o) && (obj_cls(o) == CI_STRING || obj_cls(o) == CI_SYMBOL);
}

/* ExternalLibrary class>>open: — answers the handle, or -1 (failed). */
int cf_open_lib(struct st_vm *vm, oop name)
{
	if (!is_string(name))
		return cf_fail(vm, name,
				"ExternalLibrary class>>open:: argument 1: expected a String, got %O") - 1;
	struct cf_state *s = cf_state(vm);
	if (!s)
		return -1;
	char *n = st_cstring(name);
	dlerror();
	void *h = n ? dlopen(n, RTLD_NOW | RTLD_LOCAL) : NULL;
	free(n);
	if (!h) {
		const char *e = dlerror();
		return cf_fail(vm, name, "ExternalLibrary open: %O: %s", e ? e : "cannot open") - 1;
	}
	for (int i = 0; i < s->nlibs; i++)
		if (s->libs[i] == h) {
			dlclose(h); /* dlopen counted it again */
			return i + 1;
		}
	if (!GROW(s->libs, s->caplibs, s->nlibs + 1, 16)) {
		dlclose(h);
		return -1;
	}
	s->libs[s->nlibs++] = h;
	return s->nlibs;
}

/* ---- functions ---------------------------------------------------------------- */

static int same_fn(const struct cf_fn *f, void *sym, const char *name, int rk, const uint8_t *k,
		   int n)
{
	return f->sym == sym && f->rkind == rk && f->nargs == n && !memcmp(f->kinds, k, (size_t)n) &&
	       !strcmp(f->name, name);
}

static int is_fp(int kind) { return kind == FK_FLOAT || kind == FK_DOUBLE; }

/* Can [f] be called without libffi (see ffi_priv.h)? Assigns registers. */
static void set_direct(struct cf_fn *f)
{
#if defined(__x86_64__) && defined(__linux__)
	int ng = 0, nx = 0;
	for (int i = 0; i < f->nargs; i++)
		f->slot[i] = (uint8_t)(is_fp(f->kinds[i]) ? CF_SLOT_XMM + nx++ : ng++);
	if (ng > 6 || nx > 8)
		return;
	f->ngpr = (uint8_t)ng;
	f->direct = nx || is_fp(f->rkind) ? CF_DIRECT_MIXED : CF_DIRECT_INT;
#else
	(void)f;
#endif
}

static struct cf_fn *new_fn(void *sym, char *name, int rk, const uint8_t *k, int n)
{
	struct cf_fn *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->sym = sym;
	f->name = name;
	f->rkind = (uint8_t)rk;
	f->nargs = n;
	for (int i = 0; i < n; i++) {
		f->kinds[i] = k[i];
		f->types[i] = cf_kinds[k[i]].type;
		f->heavy |= k[i] == FK_STRING || k[i] == FK_BYTES;
	}
	if (ffi_prep_cif(&f->cif, FFI_DEFAULT_ABI, (unsigned)n, cf_kinds[rk].type, f->types) !=
	    FFI_OK) {
		free(f);
		return NULL;
	}
	set_direct(f);
	return f;
}

/* ExternalLibrary>>function:returns:arguments: — answers the function's
 * handle, or -1 (failed). Signatures are checked before the symbol. */
int cf_define(struct st_vm *vm, oop lib, oop name, oop rtype, oop types)
{
	struct cf_state *s = cf_state(vm);
	if (!s)
		return -1;
	oop h = obj_has_ptrs(lib) && obj_slots(lib) > LIB_HANDLE ? obj_body(lib)[LIB_HANDLE] : 0;
	if (!h || !obj_is_int(h) || obj_int(h) < 1 || obj_int(h) > s->nlibs)
		return cf_fail(vm, lib, "ExternalLibrary>>function:returns:arguments:: "
					 "the library is not open: %O") - 1;
	if (!is_string(name))
		return cf_fail(vm, name, "ExternalLibrary>>function:returns:arguments:: "
					  "argument 1: expected a String, got %O") - 1;
	char *n = st_cstring(name);
	if (!n)
		return -1;
	uint8_t rk, k[CF_MAX_ARGS];
	int nargs = cf_signature(vm, n, rtype, types, 0, &rk, k);
	if (nargs < 0) {
		free(n);
		return -1;
	}
	dlerror();
	void *sym = dlsym(s->libs[obj_int(h) - 1], n);
	if (!sym) {
		const char *e = dlerror();
		cf_fail(vm, 0, "%s: not found: %s", n, e ? e : "no such symbol");
		free(n);
		return -1;
	}
	for (int i = 0; i < s->nfns; i++)
		if (same_fn(s->fns[i], sym, n, rk, k, nargs)) {
			free(n);
			return i + 1;
		}
	struct cf_fn *f = new_fn(sym, n, rk, k, nargs);
	if (!f || !GROW(s->fns, s->capfns, s->nfns + 1, 16)) {
		if (f)
			free(f);
		free(n);
		return -1;
	}
	s->fns[s->nfns++] = f;
	return s->nfns;
}

/* ---- pins ----------------------------------------------------------------------- */

/*
 * A #bytes argument is pinned for its call, and only if it was not already:
 * a count per object, because the same ByteArray may be in several callouts
 * at once; the last to return unpins it. Objects the program pinned itself
 * have no entry and stay pinned.
 */
static int pin(struct st_vm *vm, oop *ref)
{
	struct cf_state *s = vm->ffi;
	oop o = *ref;
	if (gc_is_pinned(o)) {
		for (int i = 0; i < s->npins; i++)
			if (s->pins[i].o == o) {
				s->pins[i].n++;
				return 1;
			}
		return 1;
	}
	if (!GROW(s->pins, s->cappins, s->npins + 1, 16))
		return 0;
	if (!gc_pin(&vm->gc, ref))
		return 0;
	s->pins[s->npins].o = *ref;
	s->pins[s->npins].n = 1;
	s->npins++;
	return 1;
}

static void unpin(struct st_vm *vm, oop o)
{
	struct cf_state *s = vm->ffi;
	for (int i = 0; i < s->npins; i++)
		if (s->pins[i].o == o) {
			if (--s->pins[i].n == 0) {
				gc_unpin(&vm->gc, o);
				s->pins[i] = s->pins[--s->npins];
			}
			return;
		}
}

/* ---- the callout ---------------------------------------------------------------- */

static int arg_fail(struct st_vm *vm, const struct cf_fn *f, int i, oop o)
{
	char exp[96];
	cf_expected(f->kinds[i], exp, sizeof exp);
	return cf_fail(vm, o, "%s: argument %d: expected %s, got %O", f->name, i + 1, exp);
}

#if defined(__x86_64__) && defined(__linux__)
typedef uint64_t (*gpr0)(void);
typedef uint64_t (*gpr1)(uint64_t);
typedef uint64_t (*gpr2)(uint64_t, uint64_t);
typedef uint64_t (*gpr3)(uint64_t, uint64_t, uint64_t);
typedef uint64_t (*gpr4)(uint64_t, uint64_t, uint64_t, uint64_t);
typedef uint64_t (*gpr6)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
typedef uint64_t (*mixi)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ...);
typedef double (*mixd)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ...);

/* A direct call's registers (see ffi_priv.h), loaded from the converted
 * arguments: everything but the C call happens before the VM is disowned. */
struct regs {
	uint64_t g[6];
	double x[8];
};

static inline void load(const struct cf_fn *f, const union cf_val *v, struct regs *r)
{
	if (f->direct == CF_DIRECT_MIXED) {
		for (int i = 0; i < 6; i++)
			r->g[i] = 0;
		for (int i = 0; i < 8; i++)
			r->x[i] = 0;
	}
	for (int i = 0; i < f->nargs; i++) {
		int s = f->slot[i];
		if (s < CF_SLOT_XMM) {
			r->g[s] = v[i].u64;
		} else if (f->kinds[i] == FK_FLOAT) {
			/* a float travels in the low half of its xmm register */
			union { double d; float f; uint64_t u; } u = {.u = 0};
			u.f = v[i].f;
			r->x[s - CF_SLOT_XMM] = u.d;
		} else {
			r->x[s - CF_SLOT_XMM] = v[i].d;
		}
	}
}

/* The C call. A result narrower than its register is read at its width
 * later (cf_from_c reads the member of its kind). */
static inline void invoke(const struct cf_fn *f, const struct regs *r, union cf_val *ret)
{
	void *s = f->sym;
	const uint64_t *g = r->g;
	const double *x = r->x;
	if (f->direct == CF_DIRECT_INT) {
		switch (f->ngpr) {
		case 0: ret->u64 = ((gpr0)s)(); return;
		case 1: ret->u64 = ((gpr1)s)(g[0]); return;
		case 2: ret->u64 = ((gpr2)s)(g[0], g[1]); return;
		case 3: ret->u64 = ((gpr3)s)(g[0], g[1], g[2]); return;
		case 4: ret->u64 = ((gpr4)s)(g[0], g[1], g[2], g[3]); return;
		default: ret->u64 = ((gpr6)s)(g[0], g[1], g[2], g[3], g[4], g[5]); return;
		}
	}
	if (is_fp(f->rkind))
		ret->d = ((mixd)s)(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4],
				   x[5], x[6], x[7]);
	else
		ret->u64 = ((mixi)s)(g[0], g[1], g[2], g[3], g[4], g[5], x[0], x[1], x[2], x[3], x[4],
				     x[5], x[6], x[7]);
}

static int call_direct(struct st_vm *vm, const struct cf_fn *f, int mode,
		       const union cf_val *v, union cf_val *ret)
{
	struct regs r;
	load(f, v, &r);
	int e;
	if (st_unlikely(mode == CF_UNTHREADED || !vm->cur_thread)) {
		errno = 0;
		invoke(f, &r, ret);
		return errno;
	}
	struct sched_callout c;
	sched_callout_begin(vm, &c, mode == CF_BLOCKING ? BATON_BLOCKING : 0, f->name);
	errno = 0;
	invoke(f, &r, ret);
	e = errno; /* before owning again: that may make system calls */
	sched_callout_end(vm, &c);
	return e;
}
#endif

static int call_libffi(struct st_vm *vm, const struct cf_fn *f, int mode, union cf_val *v,
		       union cf_val *ret)
{
	void *av[CF_MAX_ARGS];
	for (int i = 0; i < f->nargs; i++)
		av[i] = &v[i];
	ffi_cif *cif = (ffi_cif *)&f->cif;
	int e;
	if (mode == CF_UNTHREADED || !vm->cur_thread) {
		errno = 0;
		ffi_call(cif, FFI_FN(f->sym), ret, av);
		return errno;
	}
	struct sched_callout c;
	sched_callout_begin(vm, &c, mode == CF_BLOCKING ? BATON_BLOCKING : 0, f->name);
	errno = 0;
	ffi_call(cif, FFI_FN(f->sym), ret, av);
	e = errno;
	sched_callout_end(vm, &c);
	return e;
}

/*
 * The call in its mode. Threaded: the core's disown and own around the C
 * call and nothing else; the process's registers are saved already
 * (primitives run with them saved), so a collection on another thread
 * sees its stack while this thread is in C. errno is 0 before the call and
 * read right after it, on the thread that made it: the calling process
 * keeps it (ExternalFunction lastErrno).
 */
static inline void call(struct st_vm *vm, const struct cf_fn *f, int mode, union cf_val *v,
			union cf_val *ret)
{
	struct st_proc *p = vm->active; /* a process in a callout cannot end */
	int e;
#if defined(__x86_64__) && defined(__linux__)
	if (st_likely(f->direct))
		e = call_direct(vm, f, mode, v, ret);
	else
#endif
		e = call_libffi(vm, f, mode, v, ret);
	if (p)
		p->last_errno = e;
}

static inline int finish(struct st_vm *vm, const struct cf_fn *f, union cf_val *ret,
			 oop *result)
{
	if (f->rkind == FK_VOID) {
		*result = vm->nil;
		return PRIM_OK;
	}
	oop r = cf_from_c(vm, f->rkind, ret);
	if (!r)
		return PRIM_OOM;
	*result = r;
	return PRIM_OK;
}

static int is_bytes_arg(oop o)
{
	return obj_is_ptr(o) && obj_fmt(o) == OBJ_FMT_BYTES &&
	       (obj_cls(o) == CI_BYTEARRAY || obj_cls(o) == CI_STRING);
}

/* Copies of #string arguments: short ones in a buffer on the stack. */
struct strings {
	char buf[512];
	size_t used;
	char *heap[CF_MAX_ARGS];
	int nheap;
};

static char *copy_string(struct strings *ss, oop o)
{
	size_t n = obj_byte_size(o);
	char *p;
	if (n + 1 <= sizeof ss->buf - ss->used) {
		p = ss->buf + ss->used;
		ss->used += n + 1;
	} else {
		p = malloc(n + 1);
		if (!p)
			return NULL;
		ss->heap[ss->nheap++] = p;
	}
	memcpy(p, obj_bytes(o), n);
	p[n] = 0;
	return p;
}

/*
 * A call with #string or #bytes arguments: check everything, then pin the
 * #bytes objects (tenuring young ones may collect: the arguments are re-read
 * from [*arr] or [argv], which are roots), then copy the strings; nothing
 * allocates from there to the call. The result is converted before the
 * strings are freed (C may answer one of them).
 */
static int heavy(struct st_vm *vm, const struct cf_fn *f, int mode, oop *argv, oop *arr,
		 oop *result)
{
	union cf_val v[CF_MAX_ARGS], ret;
	oop pinned[CF_MAX_ARGS];
	int n = f->nargs, np = 0, r = PRIM_OK;
	for (int i = 0; i < n; i++) {
		oop o = argv[i];
		int k = f->kinds[i];
		if (k == FK_BYTES ? !is_bytes_arg(o)
		    : k == FK_STRING ? !is_string(o) : !cf_to_c(vm, k, o, &v[i]))
			return arg_fail(vm, f, i, o);
	}
	for (int i = 0; i < n; i++) {
		if (f->kinds[i] != FK_BYTES)
			continue;
		oop o = (arr ? obj_body(*arr) : argv)[i];
		if (!pin(vm, &o)) {
			r = PRIM_OOM;
			goto out;
		}
		pinned[np++] = o;
	}
	if (arr)
		argv = obj_body(*arr);
	struct strings ss;
	ss.used = 0;
	ss.nheap = 0;
	for (int i = 0; i < n; i++) {
		if (f->kinds[i] == FK_BYTES)
			v[i].p = obj_bytes(argv[i]);
		else if (f->kinds[i] == FK_STRING && !(v[i].p = copy_string(&ss, argv[i])))
			r = PRIM_OOM;
	}
	if (r == PRIM_OK) {
		call(vm, f, mode, v, &ret);
		r = finish(vm, f, &ret, result);
	}
	for (int i = 0; i < ss.nheap; i++)
		free(ss.heap[i]);
out:
	for (int i = 0; i < np; i++)
		unpin(vm, pinned[i]);
	return r;
}

/*
 * ExternalFunction>>call...: [argv] are the arguments ([arr]: the Array
 * they are in, for callWithArguments:, else NULL), the result goes to
 * [*result]. Answers a primitive result; failures are cf_fail()ed.
 */
static inline int call_fn(struct st_vm *vm, const struct cf_fn *f, int mode, oop *argv,
			  int argc, oop *arr, oop *result)
{
	if (st_unlikely(argc != f->nargs))
		return cf_fail(vm, 0, "%s: expected %d argument%s, got %d", f->name, f->nargs,
				f->nargs == 1 ? "" : "s", argc);
	if (f->heavy)
		return heavy(vm, f, mode, argv, arr, result);
	union cf_val v[CF_MAX_ARGS], ret;
	for (int i = 0; i < argc; i++)
		if (st_unlikely(!cf_to_c(vm, f->kinds[i], argv[i], &v[i])))
			return arg_fail(vm, f, i, argv[i]);
	call(vm, f, mode, v, &ret);
	return finish(vm, f, &ret, result);
}

/* The function an ExternalFunction names, and its mode; NULL: none. */
static inline const struct cf_fn *fn_of(struct st_vm *vm, oop fo, int *mode)
{
	struct cf_state *s = vm->ffi;
	if (st_unlikely(!s || !obj_is_ptr(fo) || !obj_has_ptrs(fo) || obj_slots(fo) <= FN_MODE))
		return NULL;
	oop h = obj_body(fo)[FN_HANDLE], m = obj_body(fo)[FN_MODE];
	if (st_unlikely(!obj_is_int(h) || obj_int(h) < 1 || obj_int(h) > s->nfns || !obj_is_int(m)))
		return NULL;
	*mode = (int)obj_int(m);
	return s->fns[obj_int(h) - 1];
}

const struct cf_fn *cf_fn_of(struct st_vm *vm, oop fo, int *mode) { return fn_of(vm, fo, mode); }

static int not_a_function(struct st_vm *vm, oop fo)
{
	return cf_fail(vm, fo, "ExternalFunction: %O is not a defined function");
}

/* ExternalFunction>>call, callWith:, ... callWith:with:with:with:with:with: */
PRIM(ffiCall)
{
	int mode;
	const struct cf_fn *f = fn_of(vm, args[0], &mode);
	if (st_unlikely(!f))
		return not_a_function(vm, args[0]);
	if (st_unlikely(mode == CF_RING))
		return PRIM_FAIL; /* the fallback queues it (vm/ffi/ffi_ring.c) */
	return call_fn(vm, f, mode, args + 1, nargs, NULL, &args[0]);
}

/* ExternalFunction>>callWithArguments: anArray */
PRIM(ffiCallArgs)
{
	int mode;
	const struct cf_fn *f = fn_of(vm, args[0], &mode);
	if (!f)
		return not_a_function(vm, args[0]);
	if (mode == CF_RING)
		return PRIM_FAIL;
	oop a = args[1];
	if (!obj_is_ptr(a) || obj_cls(a) != CI_ARRAY)
		return cf_fail(vm, a, "%s: callWithArguments: expected an Array, got %O", f->name);
	return call_fn(vm, f, mode, obj_body(a), (int)obj_slots(a), &args[1], &args[0]);
}
