// SPDX-License-Identifier: MIT
/*
 * vm/ffi/prim_ffi.c: the FFI's primitives: ExternalLibrary, ExternalFunction,
 * Callback and ExternalAddress (st/kernel/70-FFI.st). Each checks its
 * arguments and, when they are wrong, leaves the error text in the process
 * (cf_fail) and fails: the fallback code raises the Error. Dereferencing
 * is C's business except for null and freed addresses.
 * See Documentation/vm/ffi.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/ffi/ffi_priv.h"
#include "vm/prim.h"

/* ---- errors ------------------------------------------------------------------ */

/* Processor primFfiLastError: nil, or {prefix. hasObject. object. suffix}
 * for the active process's last FFI failure (and forgets it). */
PRIM(ffiLastError)
{
	struct st_proc *p = vm->active;
	if (!p || !p->err) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	char *m = p->err, *mark = strchr(m, '\1');
	size_t n1 = mark ? (size_t)(mark - m) : strlen(m);
	oop a = st_new_array(vm, 4);
	if (!a)
		return PRIM_OOM;
	ST_ROOT(vm, a);
	oop s = st_new_string(vm, m, n1);
	if (s)
		st_put(vm, a, 0, s);
	s = st_new_string(vm, mark ? mark + 1 : "", mark ? strlen(mark + 1) : 0);
	if (s)
		st_put(vm, a, 3, s);
	ST_UNROOT(vm, 1);
	st_put(vm, a, 1, st_bool(vm, mark != NULL));
	st_put(vm, a, 2, p->err_obj ? p->err_obj : vm->nil);
	free(p->err);
	p->err = NULL;
	p->err_obj = 0;
	args[0] = a;
	return PRIM_OK;
}

/* ExternalFunction class>>lastErrno: errno after the active process's last
 * C call (0 if it set none, or made none). */
PRIM(ffiLastErrno)
{
	args[0] = obj_from_int(vm->active ? vm->active->last_errno : 0);
	return PRIM_OK;
}

/* ---- libraries and functions ---------------------------------------------------- */

/* ExternalLibrary class>>primOpen: aString */
PRIM(ffiOpen)
{
	int h = cf_open_lib(vm, args[1]);
	if (h < 0)
		return PRIM_FAIL;
	args[0] = obj_from_int(h);
	return PRIM_OK;
}

/* ExternalLibrary>>primFunction: name returns: type arguments: types */
PRIM(ffiDefine)
{
	int h = cf_define(vm, args[0], args[1], args[2], args[3]);
	if (h < 0)
		return PRIM_FAIL;
	args[0] = obj_from_int(h);
	return PRIM_OK;
}

/* ---- callbacks ------------------------------------------------------------------- */

static struct cf_cb *cb_of(struct st_vm *vm, oop o)
{
	struct cf_state *s = vm->ffi;
	if (!s || !obj_is_ptr(o) || !obj_has_ptrs(o) || obj_slots(o) <= CB_HANDLE)
		return NULL;
	oop h = obj_body(o)[CB_HANDLE];
	if (!obj_is_int(h) || obj_int(h) < 1 || obj_int(h) > s->ncbs)
		return NULL;
	struct cf_cb *cb = s->cbs[obj_int(h) - 1];
	return cb && cb->obj == o && !cb->freed ? cb : NULL;
}

/* Callback>>primReturns: type arguments: types — answers the handle */
PRIM(ffiCbNew)
{
	uint8_t rk, k[CF_MAX_ARGS];
	int n = cf_signature(vm, "Callback", args[1], args[2], 1, &rk, k);
	if (n < 0)
		return PRIM_FAIL;
	struct cf_cb *cb = cf_cb_new(vm, args[0], rk, k, n);
	if (!cb)
		return PRIM_OOM;
	args[0] = obj_from_int(cb->handle);
	return PRIM_OK;
}

PRIM(ffiCbAddress)
{
	struct cf_cb *cb = cb_of(vm, args[0]);
	if (!cb)
		return cf_fail(vm, 0, "Callback>>address: the callback was freed");
	oop a = cf_new_address(vm, cb->code, 0);
	if (!a)
		return PRIM_OOM;
	args[0] = a;
	return PRIM_OK;
}

/* Callback>>primPriority: n (checked by the caller) */
PRIM(ffiCbPriority)
{
	struct cf_cb *cb = cb_of(vm, args[0]);
	if (cb && obj_is_int(args[1]))
		__atomic_store_n(&cb->prio, (int)obj_int(args[1]), __ATOMIC_RELAXED);
	return PRIM_OK;
}

PRIM(ffiCbFree)
{
	struct cf_cb *cb = cb_of(vm, args[0]);
	if (cb)
		cf_cb_free(vm, cb);
	return PRIM_OK;
}

/* The invocation the active process runs for Callback [o], or NULL. */
static struct cf_inv *inv_of(struct st_vm *vm, oop o)
{
	struct cf_inv *inv = vm->active ? vm->active->cb_inv : NULL;
	return inv && inv->cb->obj == o ? inv : NULL;
}

/* Callback>>primArguments: C's arguments as objects */
PRIM(ffiCbArgs)
{
	struct cf_inv *inv = inv_of(vm, args[0]);
	if (!inv)
		return cf_fail(vm, 0, "Callback: not running for C");
	int n = inv->cb->nargs;
	oop a = st_new_array(vm, (size_t)n);
	if (!a)
		return PRIM_OOM;
	ST_ROOT(vm, a);
	for (int i = 0; i < n; i++) {
		int k = inv->cb->kinds[i];
		union cf_val v;
		memset(&v, 0, sizeof v);
		memcpy(&v, inv->args[i], cf_kinds[k].size);
		oop e = cf_from_c(vm, k, &v);
		if (!e) {
			ST_UNROOT(vm, 1);
			return PRIM_OOM;
		}
		st_put(vm, a, (size_t)i, e);
	}
	ST_UNROOT(vm, 1);
	args[0] = a;
	return PRIM_OK;
}

/* Callback>>primReturn: value — gives C the block's answer, and ends the
 * process: the scheduler loop of the calling thread reaps it. */
PRIM(ffiCbReturn)
{
	struct cf_inv *inv = inv_of(vm, args[0]);
	if (!inv)
		return cf_fail(vm, 0, "Callback: not running for C");
	int k = inv->cb->rkind;
	if (k != FK_VOID) {
		union cf_val v;
		if (!cf_to_c(vm, k, args[1], &v)) {
			char exp[96];
			cf_expected(k, exp, sizeof exp);
			return cf_fail(vm, args[1], "Callback: result: expected %s, got %O", exp);
		}
		/* libffi wants small integral results widened to ffi_arg */
		if (k == FK_FLOAT)
			memcpy(inv->ret, &v.f, sizeof v.f);
		else if (cf_kinds[k].is_int && cf_kinds[k].min < 0)
			*(ffi_sarg *)inv->ret = (ffi_sarg)v.i64;
		else if (k == FK_DOUBLE || k == FK_POINTER)
			memcpy(inv->ret, &v, 8);
		else
			*(ffi_arg *)inv->ret = (ffi_arg)v.u64;
	}
	vm->active->wait_rec->done = 1;
	vm->active->cb_inv = NULL;
	return PRIM_QUIT;
}

/* ---- ExternalAddress ---------------------------------------------------------------- */

static uintptr_t ea_flags(oop a) { return obj_slots(a) > EA_FLAGS ? obj_body(a)[EA_FLAGS] : 0; }

/* Not freed, not null: the base address. */
static int usable(struct st_vm *vm, oop a, const char *sel, char **base)
{
	if (ea_flags(a) & EA_FREED)
		return cf_fail(vm, 0, "ExternalAddress>>%s: the address was freed", sel);
	*base = cf_address(a);
	if (!*base)
		return cf_fail(vm, 0, "ExternalAddress>>%s: the address is null", sel);
	return 1;
}

static int int64_of(oop o, int64_t *v)
{
	int neg;
	uint64_t mag;
	if (!cf_int_parts(o, &neg, &mag) || mag > (neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX))
		return 0;
	*v = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	return 1;
}

/* The accessors, by the code st/kernel/70-FFI.st passes. */
static const struct {
	const char *name;
	int kind;
} accs[] = {
	{"byte", FK_UINT8}, {"int8", FK_INT8}, {"uint8", FK_UINT8}, {"int16", FK_INT16},
	{"uint16", FK_UINT16}, {"int32", FK_INT32}, {"uint32", FK_UINT32}, {"int64", FK_INT64},
	{"uint64", FK_UINT64}, {"long", FK_LONG}, {"ulong", FK_ULONG}, {"float", FK_FLOAT},
	{"double", FK_DOUBLE}, {"pointer", FK_POINTER}, {"string", FK_STRING},
	{"bool", FK_BOOL}, {"size", FK_SIZE_T},
};
#define NACCS ((intptr_t)(sizeof accs / sizeof accs[0]))

/* What peek and poke begin with: the accessor (code args[2]): its kind in
 * [*kind], its selector (from [fmt], "%sAt:" or "%sAt:put:") in [sel]; and
 * the address args[1] bytes into the ExternalAddress args[0] in [*at].
 * PRIM_FAIL (the error raised where an argument is wrong) or PRIM_OK. */
static int ea_target(struct st_vm *vm, oop *args, const char *fmt, char *sel, size_t n,
		     int *kind, char **at)
{
	if (!cf_is_address(args[0]) || !obj_is_int(args[2]) || obj_int(args[2]) < 0 ||
	    obj_int(args[2]) >= NACCS)
		return PRIM_FAIL;
	*kind = accs[obj_int(args[2])].kind;
	snprintf(sel, n, fmt, accs[obj_int(args[2])].name);
	char *base;
	if (!usable(vm, args[0], sel, &base))
		return PRIM_FAIL;
	int64_t off;
	if (!int64_of(args[1], &off))
		return cf_fail(vm, args[1], "ExternalAddress>>%s: argument 1: expected an Integer, got %O",
				sel);
	*at = base + off;
	return PRIM_OK;
}

/* anAddress peek: offset kind: code (int32At: etc.) */
PRIM(eaPeek)
{
	int k;
	char sel[32], *p;
	if (ea_target(vm, args, "%sAt:", sel, sizeof sel, &k, &p) != PRIM_OK)
		return PRIM_FAIL;
	union cf_val v;
	memset(&v, 0, sizeof v);
	if (k == FK_STRING)
		v.p = (void *)p;
	else
		memcpy(&v, p, cf_kinds[k].size);
	oop r = cf_from_c(vm, k, &v);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

/* anAddress poke: offset kind: code value: v (int32At:put: etc.) */
PRIM(eaPoke)
{
	int k;
	char sel[40], *p;
	if (ea_target(vm, args, "%sAt:put:", sel, sizeof sel, &k, &p) != PRIM_OK)
		return PRIM_FAIL;
	oop x = args[3];
	union cf_val v;
	if (k == FK_STRING) {
		if (!obj_is_ptr(x) || (obj_cls(x) != CI_STRING && obj_cls(x) != CI_SYMBOL))
			return cf_fail(vm, x, "ExternalAddress>>%s: argument 2: expected a String, got %O",
					sel);
		size_t n = obj_byte_size(x);
		memcpy(p, obj_bytes(x), n);
		p[n] = 0;
	} else {
		if (!cf_to_c(vm, k, x, &v)) {
			char exp[96];
			cf_expected(k, exp, sizeof exp);
			return cf_fail(vm, x, "ExternalAddress>>%s: argument 2: expected %s, got %O", sel,
					exp);
		}
		memcpy(p, &v, cf_kinds[k].size);
	}
	args[0] = x;
	return PRIM_OK;
}

PRIM(eaNull)
{
	oop a = cf_new_address(vm, NULL, 0);
	if (!a)
		return PRIM_OOM;
	args[0] = a;
	return PRIM_OK;
}

/* ExternalAddress class>>allocate: n — zeroed C memory */
PRIM(eaAllocate)
{
	int neg;
	uint64_t n;
	if (!cf_int_parts(args[1], &neg, &n) || (neg && n))
		return cf_fail(vm, args[1], "ExternalAddress class>>allocate:: argument 1: "
					     "expected a non-negative Integer, got %O");
	void *p = n < ((uint64_t)1 << 48) ? calloc(n ? n : 1, 1) : NULL;
	if (!p)
		return PRIM_OOM;
	oop a = cf_new_address(vm, p, EA_OWNED);
	if (!a) {
		free(p);
		return PRIM_OOM;
	}
	args[0] = a;
	return PRIM_OK;
}

PRIM(eaFree)
{
	oop a = args[0];
	if (!cf_is_address(a))
		return PRIM_FAIL;
	uintptr_t fl = ea_flags(a);
	if (fl & EA_FREED)
		return cf_fail(vm, 0, "ExternalAddress>>free: the address was freed");
	if (!cf_address(a))
		return PRIM_OK; /* free(NULL) */
	if (!(fl & EA_OWNED) || obj_slots(a) <= EA_FLAGS)
		return cf_fail(vm, 0, "ExternalAddress>>free: the address was not answered by allocate:");
	free(cf_address(a));
	obj_body(a)[EA_ADDR] = 0;
	obj_body(a)[EA_FLAGS] = (fl & ~(uintptr_t)EA_OWNED) | EA_FREED;
	return PRIM_OK;
}

/* anAddress + n: n bytes further (modulo 2^64) */
PRIM(eaPlus)
{
	if (!cf_is_address(args[0]))
		return PRIM_FAIL;
	int neg;
	uint64_t n;
	if (!cf_int_parts(args[1], &neg, &n))
		return cf_fail(vm, args[1], "ExternalAddress>>+: argument 1: expected an Integer, got %O");
	uint64_t p = (uint64_t)(uintptr_t)cf_address(args[0]);
	p = neg ? p - n : p + n;
	oop a = cf_new_address(vm, (void *)(uintptr_t)p, 0);
	if (!a)
		return PRIM_OOM;
	args[0] = a;
	return PRIM_OK;
}

/* anAddress address: the address as an Integer */
PRIM(eaAddress)
{
	if (!cf_is_address(args[0]))
		return PRIM_FAIL;
	union cf_val v;
	v.u64 = (uint64_t)(uintptr_t)cf_address(args[0]);
	oop r = cf_from_c(vm, FK_UINT64, &v);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

/* anAddress isFreed */
PRIM(eaFreed)
{
	if (!cf_is_address(args[0]))
		return PRIM_FAIL;
	args[0] = st_bool(vm, (ea_flags(args[0]) & EA_FREED) != 0);
	return PRIM_OK;
}
