// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi_types.c: the FFI's C types: the table (names, libffi types,
 * ranges, where each may appear), signature checking, conversions between
 * oops and C values, ExternalAddress objects, and cf_fail(). Converting
 * never truncates: a value out of its type's range is refused.
 * See Documentation/vm/ffi.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bigint.h"
#include "vm/ffi/ffi_priv.h"
#include "vm/interp.h"

_Static_assert(sizeof(long) == 8 && sizeof(size_t) == 8 && sizeof(void *) == 8,
	       "the type table assumes LP64");
_Static_assert(sizeof(_Bool) == 1, "bool is passed as one byte");

#define ALL (FKF_ARG | FKF_RESULT | FKF_CBARG | FKF_CBRES)

const struct cf_kind_info cf_kinds[FK_COUNT] = {
	[FK_VOID] = {"void", &ffi_type_void, 0, 0, FKF_RESULT | FKF_CBRES, 0, 0},
	[FK_BOOL] = {"bool", &ffi_type_uint8, 1, 0, ALL, 0, 0},
	[FK_INT8] = {"int8", &ffi_type_sint8, 1, 1, ALL, INT8_MIN, INT8_MAX},
	[FK_UINT8] = {"uint8", &ffi_type_uint8, 1, 1, ALL, 0, UINT8_MAX},
	[FK_INT16] = {"int16", &ffi_type_sint16, 2, 1, ALL, INT16_MIN, INT16_MAX},
	[FK_UINT16] = {"uint16", &ffi_type_uint16, 2, 1, ALL, 0, UINT16_MAX},
	[FK_INT32] = {"int32", &ffi_type_sint32, 4, 1, ALL, INT32_MIN, INT32_MAX},
	[FK_UINT32] = {"uint32", &ffi_type_uint32, 4, 1, ALL, 0, UINT32_MAX},
	[FK_INT64] = {"int64", &ffi_type_sint64, 8, 1, ALL, INT64_MIN, INT64_MAX},
	[FK_UINT64] = {"uint64", &ffi_type_uint64, 8, 1, ALL, 0, UINT64_MAX},
	[FK_LONG] = {"long", &ffi_type_slong, 8, 1, ALL, INT64_MIN, INT64_MAX},
	[FK_ULONG] = {"ulong", &ffi_type_ulong, 8, 1, ALL, 0, UINT64_MAX},
	[FK_SIZE_T] = {"size_t", &ffi_type_uint64, 8, 1, ALL, 0, UINT64_MAX},
	[FK_FLOAT] = {"float", &ffi_type_float, 4, 0, ALL, 0, 0},
	[FK_DOUBLE] = {"double", &ffi_type_double, 8, 0, ALL, 0, 0},
	[FK_POINTER] = {"pointer", &ffi_type_pointer, 8, 0, ALL, 0, 0},
	/* a callback cannot answer a C string: nobody would free it */
	[FK_STRING] = {"string", &ffi_type_pointer, 8, 0, FKF_ARG | FKF_RESULT | FKF_CBARG, 0, 0},
	/* in place, pinned for the call: only a callout can promise that */
	[FK_BYTES] = {"bytes", &ffi_type_pointer, 8, 0, FKF_ARG, 0, 0},
};

/* ---- errors ---------------------------------------------------------------- */

/* The text goes to the active process with \1 where obj's printString
 * belongs: the primitive ffiLastError splits it there. */
int cf_fail(struct st_vm *vm, oop obj, const char *fmt, ...)
{
	struct st_proc *p = vm->active;
	if (!p)
		return PRIM_FAIL;
	char f[256], msg[512];
	size_t k = 0;
	for (const char *s = fmt; *s && k + 2 < sizeof f; s++) {
		if (s[0] == '%' && s[1] == 'O') {
			f[k++] = '\1';
			s++;
		} else {
			f[k++] = *s;
		}
	}
	f[k] = 0;
	va_list ap;
	va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(msg, sizeof msg, f, ap);
#pragma GCC diagnostic pop
	va_end(ap);
	free(p->err);
	p->err = strdup(msg);
	p->err_obj = obj ? obj : vm->nil;
	return PRIM_FAIL;
}

/* ---- the table --------------------------------------------------------------- */

int cf_kind_of(oop sym)
{
	if (!obj_is_ptr(sym) || obj_cls(sym) != CI_SYMBOL)
		return -1;
	size_t n = obj_byte_size(sym);
	for (int k = 0; k < FK_COUNT; k++)
		if (strlen(cf_kinds[k].name) == n && !memcmp(cf_kinds[k].name, obj_bytes(sym), n))
			return k;
	return -1;
}

void cf_expected(int kind, char *buf, size_t n)
{
	const struct cf_kind_info *k = &cf_kinds[kind];
	if (k->is_int)
		snprintf(buf, n, "an Integer in %lld..%llu", (long long)k->min,
			 (unsigned long long)k->max);
	else if (kind == FK_BOOL)
		snprintf(buf, n, "true or false");
	else if (kind == FK_FLOAT || kind == FK_DOUBLE)
		snprintf(buf, n, "a Number");
	else if (kind == FK_STRING)
		snprintf(buf, n, "a String");
	else if (kind == FK_BYTES)
		snprintf(buf, n, "a ByteArray or String");
	else if (kind == FK_POINTER)
		snprintf(buf, n, "an ExternalAddress");
	else
		snprintf(buf, n, "nothing");
}

/* A kind where [where] allows it; otherwise fails with the reason. */
static int check_kind(struct st_vm *vm, const char *who, const char *pos, oop t, unsigned where)
{
	int k = cf_kind_of(t);
	if (k < 0)
		return cf_fail(vm, t, "%s: %s: %O is not a C type", who, pos) - 1;
	if (cf_kinds[k].flags & where)
		return k;
	if (where == FKF_CBARG && (cf_kinds[k].flags & FKF_ARG))
		return cf_fail(vm, t, "%s: %s: %O is not a callback argument type", who, pos) - 1;
	if (where == FKF_CBRES && (cf_kinds[k].flags & FKF_RESULT))
		return cf_fail(vm, t, "%s: %s: %O is not a callback return type", who, pos) - 1;
	if (where & (FKF_RESULT | FKF_CBRES))
		return cf_fail(vm, t, "%s: %s: %O is not a return type", who, pos) - 1;
	return cf_fail(vm, t, "%s: %s: %O is not an argument type", who, pos) - 1;
}

int cf_signature(struct st_vm *vm, const char *who, oop rtype, oop types, int cb,
		  uint8_t *rkind, uint8_t *kinds)
{
	int k = check_kind(vm, who, "return type", rtype, cb ? FKF_CBRES : FKF_RESULT);
	if (k < 0)
		return -1;
	*rkind = (uint8_t)k;
	if (!obj_is_ptr(types) || obj_cls(types) != CI_ARRAY)
		return cf_fail(vm, types, "%s: arguments: expected an Array of types, got %O", who) - 1;
	size_t n = obj_slots(types);
	if (n > CF_MAX_ARGS)
		return cf_fail(vm, 0, "%s: arguments: at most %d are supported, got %zu", who,
				CF_MAX_ARGS, n) - 1;
	for (size_t i = 0; i < n; i++) {
		char pos[32];
		snprintf(pos, sizeof pos, "argument %zu", i + 1);
		k = check_kind(vm, who, pos, obj_body(types)[i], cb ? FKF_CBARG : FKF_ARG);
		if (k < 0)
			return -1;
		kinds[i] = (uint8_t)k;
	}
	return (int)n;
}

/* ---- oops to C ------------------------------------------------------------------ */

int cf_int_parts(oop o, int *neg, uint64_t *mag)
{
	if (obj_is_int(o)) {
		intptr_t v = obj_int(o);
		*neg = v < 0;
		*mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
		return 1;
	}
	if (!obj_is_ptr(o) || (obj_cls(o) != CI_LARGEPOS && obj_cls(o) != CI_LARGENEG))
		return 0;
	size_t n = obj_byte_size(o);
	if (n > 8)
		return 0; /* no zero top limb: at least 2^64 */
	uint64_t m = 0;
	for (size_t i = n; i-- > 0;)
		m = m << 8 | obj_bytes(o)[i];
	*neg = obj_cls(o) == CI_LARGENEG;
	*mag = m;
	return 1;
}

static int to_double(oop o, double *d)
{
	if (obj_is_int(o) || (obj_is_ptr(o) && (obj_cls(o) == CI_LARGEPOS ||
						 obj_cls(o) == CI_LARGENEG))) {
		*d = big_to_double(o);
		return 1;
	}
	if (!obj_is_ptr(o))
		return 0;
	if ((obj_cls(o) == CI_FLOAT || obj_cls(o) == CI_FLOATE || obj_cls(o) == CI_FLOATQ) &&
	    obj_slots(o) >= 1) { /* FloatD, FloatE (C float precision), FloatQ */
		memcpy(d, obj_body(o), 8);
		if (obj_cls(o) == CI_FLOATE)
			*d = (double)(float)*d;
		return 1;
	}
	if (obj_cls(o) == CI_FRACTION) {
		oop n = obj_body(o)[FRAC_NUM], m = obj_body(o)[FRAC_DEN];
		if (!big_is_int(n) || !big_is_int(m))
			return 0;
		*d = big_to_double(n) / big_to_double(m);
		return 1;
	}
	return 0;
}

int cf_to_c(struct st_vm *vm, int kind, oop o, union cf_val *v)
{
	const struct cf_kind_info *k = &cf_kinds[kind];
	if (k->is_int) {
		if (obj_is_int(o)) { /* the common case: a SmallInteger */
			intptr_t x = obj_int(o);
			if (x < k->min || (x > 0 && (uint64_t)x > k->max))
				return 0;
			v->i64 = x;
			return 1;
		}
		int neg;
		uint64_t mag;
		if (!cf_int_parts(o, &neg, &mag))
			return 0;
		if (k->min < 0) {
			uint64_t lim = neg ? (uint64_t)(-(k->min + 1)) + 1 : k->max;
			if (mag > lim)
				return 0;
			v->i64 = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
		} else {
			if ((neg && mag) || mag > k->max)
				return 0;
			v->u64 = mag;
		}
		return 1;
	}
	double d;
	switch (kind) {
	case FK_BOOL:
		if (o != vm->true_ && o != vm->false_)
			return 0;
		v->u64 = o == vm->true_;
		return 1;
	case FK_FLOAT:
		if (!to_double(o, &d))
			return 0;
		v->u64 = 0;
		v->f = (float)d;
		return 1;
	case FK_DOUBLE:
		if (!to_double(o, &d))
			return 0;
		v->d = d;
		return 1;
	case FK_POINTER:
		if (!cf_is_address(o))
			return 0;
		v->p = cf_address(o);
		return 1;
	default:
		return 0;
	}
}

/* ---- C to oops ---------------------------------------------------------------- */

static oop from_u64(struct st_vm *vm, uint64_t u)
{
	if (u <= (uint64_t)OBJ_INT_MAX)
		return obj_from_int((intptr_t)u);
	if (u <= INT64_MAX)
		return big_from_int64(vm, (int64_t)u, 0);
	oop o = st_new_bytes(vm, CI_LARGEPOS, 8);
	if (o)
		for (int i = 0; i < 8; i++)
			obj_bytes(o)[i] = (uint8_t)(u >> (8 * i));
	return o;
}

static oop from_i64(struct st_vm *vm, int64_t i)
{
	return obj_int_fits(i) ? obj_from_int((intptr_t)i) : big_from_int64(vm, i, 0);
}

oop cf_from_c(struct st_vm *vm, int kind, const union cf_val *v)
{
	switch (kind) {
	case FK_VOID: return vm->nil;
	case FK_BOOL: return st_bool(vm, v->u8 != 0);
	case FK_INT8: return obj_from_int(v->i8);
	case FK_UINT8: return obj_from_int(v->u8);
	case FK_INT16: return obj_from_int(v->i16);
	case FK_UINT16: return obj_from_int(v->u16);
	case FK_INT32: return obj_from_int(v->i32);
	case FK_UINT32: return obj_from_int(v->u32);
	case FK_INT64:
	case FK_LONG: return from_i64(vm, v->i64);
	case FK_UINT64:
	case FK_ULONG:
	case FK_SIZE_T: return from_u64(vm, v->u64);
	case FK_FLOAT: return st_new_float(vm, (double)v->f);
	case FK_DOUBLE: return st_new_float(vm, v->d);
	case FK_POINTER: return cf_new_address(vm, v->p, 0);
	case FK_STRING:
		return v->p ? st_new_string(vm, v->p, strlen(v->p)) : vm->nil;
	default: return vm->nil;
	}
}

/* ---- ExternalAddress ------------------------------------------------------------- */

oop cf_new_address(struct st_vm *vm, void *p, unsigned flags)
{
	oop o = st_alloc(vm, CI_EXTADDR, OBJ_FMT_WORDS, EA_SIZE, 0);
	if (o) {
		obj_body(o)[EA_ADDR] = (oop)p;
		obj_body(o)[EA_FLAGS] = flags;
	}
	return o;
}

int cf_is_address(oop o)
{
	return obj_is_ptr(o) && obj_cls(o) == CI_EXTADDR && obj_fmt(o) == OBJ_FMT_WORDS &&
	       obj_slots(o) >= 1;
}

void *cf_address(oop o) { return (void *)obj_body(o)[EA_ADDR]; }
