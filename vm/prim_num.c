// SPDX-License-Identifier: MIT
/*
 * vm/prim_num.c: Integer (Small and Large) and Float primitives, and the
 * shortest round-trip Float printing of Documentation/language.md.
 * Primitives fail on arguments of another kind: the Smalltalk fallback
 * coerces (Fraction, mixed arithmetic) or raises the error.
 * See Documentation/vm/interpreter.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bigint.h"
#include "vm/prim.h"

/* FloatD (CI_FLOAT), FloatE, FloatQ: one double each; a FloatE's is kept
 * rounded to C float (see vm/prim_float.c) */
int prim_is_float(oop o)
{
	return obj_is_ptr(o) && (obj_cls(o) == CI_FLOAT || obj_cls(o) == CI_FLOATE ||
				 obj_cls(o) == CI_FLOATQ);
}
double prim_float_value(oop o)
{
	double d;
	memcpy(&d, obj_body(o), 8);
	if (obj_cls(o) == CI_FLOATE) /* whoever made it, a FloatE has C float precision */
		d = (double)(float)d;
	return d;
}

/* ---- integers ------------------------------------------------------------------- */

static int int_op(struct st_vm *vm, oop *args, enum big_op op)
{
	if (!big_is_int(args[0]) || !big_is_int(args[1]))
		return PRIM_FAIL;
	if (op >= BIG_QUO && op <= BIG_MOD && args[1] == obj_from_int(0))
		return PRIM_FAIL;
	if (obj_is_int(args[0]) && obj_is_int(args[1])) {
		intptr_t a = obj_int(args[0]), b = obj_int(args[1]), r;
		int done = 1;
		switch (op) {
		case BIG_ADD: r = a + b; break;
		case BIG_SUB: r = a - b; break;
		case BIG_MUL: done = !__builtin_mul_overflow(a, b, &r); break;
		case BIG_QUO: r = a / b; break;
		case BIG_REM: r = a % b; break;
		case BIG_DIV:
			r = a / b;
			if ((a % b != 0) && ((a < 0) != (b < 0)))
				r--;
			break;
		case BIG_MOD:
			r = a % b;
			if (r != 0 && ((r < 0) != (b < 0)))
				r += b;
			break;
		case BIG_AND: r = a & b; break;
		case BIG_OR: r = a | b; break;
		case BIG_XOR: r = a ^ b; break;
		default: done = 0; r = 0;
		}
		if (done && obj_int_fits(r)) {
			args[0] = obj_from_int(r);
			return PRIM_OK;
		}
	}
	oop r = big_op(vm, args[0], args[1], op);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

PRIM(intAdd) { return int_op(vm, args, BIG_ADD); }
PRIM(intSub) { return int_op(vm, args, BIG_SUB); }
PRIM(intMul) { return int_op(vm, args, BIG_MUL); }
PRIM(intQuo) { return int_op(vm, args, BIG_QUO); }
PRIM(intRem) { return int_op(vm, args, BIG_REM); }
PRIM(intDiv) { return int_op(vm, args, BIG_DIV); }
PRIM(intMod) { return int_op(vm, args, BIG_MOD); }
PRIM(intAnd) { return int_op(vm, args, BIG_AND); }
PRIM(intOr) { return int_op(vm, args, BIG_OR); }
PRIM(intXor) { return int_op(vm, args, BIG_XOR); }

/* / : exact quotients only; otherwise the Smalltalk side makes a Fraction */
PRIM(intDivide)
{
	if (!big_is_int(args[0]) || !big_is_int(args[1]) || args[1] == obj_from_int(0))
		return PRIM_FAIL;
	oop r = big_op(vm, args[0], args[1], BIG_REM);
	if (!r)
		return PRIM_OOM;
	if (r != obj_from_int(0))
		return PRIM_FAIL;
	return int_op(vm, args, BIG_QUO);
}

/* c: <0, 0, >0, or CMP_UNORDERED (a NaN); want: 0 <, 1 >, 2 <=, 3 >=, 4 =, 5 ~= */
#define CMP_UNORDERED 2
static int cmp_answer(struct st_vm *vm, oop *args, int c, int want)
{
	int r;
	if (c == CMP_UNORDERED)
		r = want == 5;
	else
		switch (want) {
		case 0: r = c < 0; break;
		case 1: r = c > 0; break;
		case 2: r = c <= 0; break;
		case 3: r = c >= 0; break;
		case 4: r = c == 0; break;
		default: r = c != 0; break;
		}
	args[0] = st_bool(vm, r);
	return PRIM_OK;
}

/* Integer against a Float, exactly (no rounding of the Integer) */
static int int_float_cmp(oop i, double d)
{
	if (isnan(d))
		return CMP_UNORDERED;
	if (isinf(d))
		return d > 0 ? -1 : 1;
	return big_cmp_double(i, d);
}

static int int_cmp(struct st_vm *vm, oop *args, int want)
{
	if (!big_is_int(args[0]))
		return PRIM_FAIL;
	int c;
	if (prim_is_float(args[1]))
		c = int_float_cmp(args[0], prim_float_value(args[1]));
	else if (!big_is_int(args[1]))
		return PRIM_FAIL;
	else if (obj_is_int(args[0]) && obj_is_int(args[1]))
		c = obj_int(args[0]) < obj_int(args[1]) ? -1 : obj_int(args[0]) > obj_int(args[1]);
	else
		c = big_cmp(vm, args[0], args[1]);
	return cmp_answer(vm, args, c, want);
}

PRIM(intLess) { return int_cmp(vm, args, 0); }
PRIM(intGreater) { return int_cmp(vm, args, 1); }
PRIM(intLessEq) { return int_cmp(vm, args, 2); }
PRIM(intGreaterEq) { return int_cmp(vm, args, 3); }
PRIM(intEq)
{
	if (big_is_int(args[0]) && !big_is_int(args[1]) && !prim_is_float(args[1]) &&
	    !(obj_is_ptr(args[1]) && obj_cls(args[1]) == CI_FRACTION)) {
		args[0] = vm->false_;
		return PRIM_OK;
	}
	return int_cmp(vm, args, 4);
}
PRIM(intNe)
{
	if (big_is_int(args[0]) && !big_is_int(args[1]) && !prim_is_float(args[1]) &&
	    !(obj_is_ptr(args[1]) && obj_cls(args[1]) == CI_FRACTION)) {
		args[0] = vm->true_;
		return PRIM_OK;
	}
	return int_cmp(vm, args, 5);
}

PRIM(intShift)
{
	if (!big_is_int(args[0]) || !obj_is_int(args[1]))
		return PRIM_FAIL;
	intptr_t s = obj_int(args[1]);
	if (s > (1 << 24))
		return PRIM_FAIL;
	oop r = big_shift(vm, args[0], s);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

PRIM(intAsFloat)
{
	if (!big_is_int(args[0]))
		return PRIM_FAIL;
	oop f = st_new_float(vm, big_to_double(args[0]));
	if (!f)
		return PRIM_OOM;
	args[0] = f;
	return PRIM_OK;
}

/* printString: base */
PRIM(intPrintBase)
{
	int base = 10;
	if (nargs == 1) {
		if (!obj_is_int(args[1]) || obj_int(args[1]) < 2 || obj_int(args[1]) > 36)
			return PRIM_FAIL;
		base = (int)obj_int(args[1]);
	}
	if (!big_is_int(args[0]))
		return PRIM_FAIL;
	char buf[80];
	char *s;
	if (obj_is_int(args[0]) && base == 10) {
		snprintf(buf, sizeof buf, "%ld", (long)obj_int(args[0]));
		s = buf;
	} else {
		s = big_print(args[0], base);
		if (!s)
			return PRIM_OOM;
	}
	oop str = prim_string(vm, s);
	if (s != buf)
		free(s);
	if (!str)
		return PRIM_OOM;
	args[0] = str;
	return PRIM_OK;
}

PRIM(intHighBit)
{
	(void)vm;
	/* negative: the fallback raises the error */
	if (!big_is_int(args[0]) || big_sign(args[0]) < 0)
		return PRIM_FAIL;
	args[0] = obj_from_int(big_high_bit(args[0]));
	return PRIM_OK;
}

PRIM(intHash)
{
	(void)vm;
	if (obj_is_int(args[0]))
		return PRIM_OK;
	if (!big_is_int(args[0]))
		return PRIM_FAIL;
	args[0] = obj_from_int(big_hash_limbs((const uint32_t *)obj_bytes(args[0]),
					      obj_byte_size(args[0]) / 4));
	return PRIM_OK;
}

PRIM(intNegated)
{
	if (!big_is_int(args[0]))
		return PRIM_FAIL;
	oop r = big_negated(vm, args[0]);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

/* floor of the square root of a non-negative SmallInteger */
PRIM(intSqrt)
{
	(void)vm;
	if (!obj_is_int(args[0]) || obj_int(args[0]) < 0)
		return PRIM_FAIL;
	intptr_t v = obj_int(args[0]);
	intptr_t r = (intptr_t)sqrt((double)v);
	while (r * r > v)
		r--;
	while ((r + 1) * (r + 1) <= v)
		r++;
	args[0] = obj_from_int(r);
	return PRIM_OK;
}

/* ---- floats ---------------------------------------------------------------------- */

/* The argument as a double: Float or Integer. */
static int num_arg(oop o, double *d)
{
	if (prim_is_float(o)) {
		*d = prim_float_value(o);
		return 1;
	}
	if (big_is_int(o)) {
		*d = big_to_double(o);
		return 1;
	}
	return 0;
}

static int float_result(struct st_vm *vm, oop *args, double d)
{
	oop f = prim_new_float_like(vm, args[0], 0, d);
	if (!f)
		return PRIM_OOM;
	args[0] = f;
	return PRIM_OK;
}

/* a binary operation's result: the class of the more precise operand */
static int float_result2(struct st_vm *vm, oop *args, double d)
{
	oop f = prim_new_float_like(vm, args[0], args[1], d);
	if (!f)
		return PRIM_OOM;
	args[0] = f;
	return PRIM_OK;
}

static int float_op(struct st_vm *vm, oop *args, int op)
{
	double a, b;
	if (!prim_is_float(args[0]) || !num_arg(args[1], &b))
		return PRIM_FAIL;
	a = prim_float_value(args[0]);
	switch (op) {
	case 0: return float_result2(vm, args, a + b);
	case 1: return float_result2(vm, args, a - b);
	case 2: return float_result2(vm, args, a * b);
	default:
		if (b == 0)
			return PRIM_FAIL; /* ZeroDivide from Smalltalk */
		return float_result2(vm, args, a / b);
	}
}

PRIM(floatAdd) { return float_op(vm, args, 0); }
PRIM(floatSub) { return float_op(vm, args, 1); }
PRIM(floatMul) { return float_op(vm, args, 2); }
PRIM(floatDiv) { return float_op(vm, args, 3); }

static int float_cmp(struct st_vm *vm, oop *args, int want)
{
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	double a = prim_float_value(args[0]);
	int c;
	if (prim_is_float(args[1])) {
		double b = prim_float_value(args[1]);
		c = a < b ? -1 : a > b ? 1 : a == b ? 0 : CMP_UNORDERED;
	} else if (big_is_int(args[1])) {
		c = int_float_cmp(args[1], a);
		if (c != CMP_UNORDERED)
			c = -c;
	} else if (obj_is_ptr(args[1]) && obj_cls(args[1]) == CI_FRACTION) {
		return PRIM_FAIL; /* exact, in Smalltalk (Number>>compare:withFloat:) */
	} else if (want == 4 || want == 5) {
		args[0] = st_bool(vm, want == 5);
		return PRIM_OK;
	} else {
		return PRIM_FAIL;
	}
	return cmp_answer(vm, args, c, want);
}

PRIM(floatLess) { return float_cmp(vm, args, 0); }
PRIM(floatGreater) { return float_cmp(vm, args, 1); }
PRIM(floatLessEq) { return float_cmp(vm, args, 2); }
PRIM(floatGreaterEq) { return float_cmp(vm, args, 3); }
PRIM(floatEq) { return float_cmp(vm, args, 4); }
PRIM(floatNe) { return float_cmp(vm, args, 5); }

static int int_result(struct st_vm *vm, oop *args, double d)
{
	if (isnan(d) || isinf(d))
		return PRIM_FAIL;
	oop r = big_from_double(vm, d);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

PRIM(floatTruncated)
{
	return prim_is_float(args[0]) ? int_result(vm, args, trunc(prim_float_value(args[0]))) : PRIM_FAIL;
}
PRIM(floatFloor)
{
	return prim_is_float(args[0]) ? int_result(vm, args, floor(prim_float_value(args[0]))) : PRIM_FAIL;
}
PRIM(floatCeiling)
{
	return prim_is_float(args[0]) ? int_result(vm, args, ceil(prim_float_value(args[0]))) : PRIM_FAIL;
}
PRIM(floatRound)
{
	return prim_is_float(args[0]) ? int_result(vm, args, round(prim_float_value(args[0]))) : PRIM_FAIL;
}

#define FLOAT_FN(name, expr)                                                   \
	PRIM(name)                \
	{                                                                      \
		if (!prim_is_float(args[0]))                                        \
			return PRIM_FAIL;                                      \
		double x = prim_float_value(args[0]);                                      \
		return float_result(vm, args, (expr));                         \
	}
FLOAT_FN(floatSqrt, sqrt(x))
FLOAT_FN(floatSin, sin(x))
FLOAT_FN(floatCos, cos(x))
FLOAT_FN(floatTan, tan(x))
FLOAT_FN(floatArcTan, atan(x))
FLOAT_FN(floatLn, log(x))
FLOAT_FN(floatExp, exp(x))
FLOAT_FN(floatFractionPart, x - trunc(x))
FLOAT_FN(floatNegated, -x) /* 0.0 negated is -0.0, as in IEEE 754 */
FLOAT_FN(floatAbs, fabs(x))

PRIM(floatRaisedTo)
{
	double b;
	if (!prim_is_float(args[0]) || !num_arg(args[1], &b))
		return PRIM_FAIL;
	return float_result2(vm, args, pow(prim_float_value(args[0]), b));
}

/* equal numbers hash equal: an integral Float as the Integer, any other
 * finite one as its exact Fraction (see big_hash_double) */
PRIM(floatHash)
{
	(void)vm;
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	args[0] = obj_from_int(big_hash_double(prim_float_value(args[0])));
	return PRIM_OK;
}

PRIM(floatIsNaN)
{
	args[0] = st_bool(vm, prim_is_float(args[0]) && isnan(prim_float_value(args[0])));
	return PRIM_OK;
}

PRIM(floatIsInf)
{
	args[0] = st_bool(vm, prim_is_float(args[0]) && isinf(prim_float_value(args[0])));
	return PRIM_OK;
}

PRIM(floatInfinity) { return float_result(vm, args, INFINITY); }
PRIM(floatNaN) { return float_result(vm, args, NAN); }
PRIM(floatEpsilon) { return float_result(vm, args, 2.220446049250313e-16); }
PRIM(floatMax) { return float_result(vm, args, 1.7976931348623157e308); }
PRIM(floatMin) { return float_result(vm, args, 2.2250738585072014e-308); }

/* Shortest digits that read back the same double; see language.md. */
static void format_double(double d, char *out, size_t cap)
{
	if (isnan(d)) {
		snprintf(out, cap, "nan");
		return;
	}
	if (isinf(d)) {
		snprintf(out, cap, d < 0 ? "-inf" : "inf");
		return;
	}
	if (d == 0) {
		snprintf(out, cap, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	char buf[64];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* buf: [-]D.DDDe[+-]XX */
	char digits[32];
	int nd = 0, neg = buf[0] == '-';
	char *q = buf + neg;
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			digits[nd++] = *q;
	int e = atoi(q + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = 0;
	char *o = out;
	size_t left = cap;
#define EMIT(...) do { int k_ = snprintf(o, left, __VA_ARGS__); o += k_; left -= (size_t)k_; } while (0)
	if (neg)
		EMIT("-");
	double ad = fabs(d);
	if (ad >= 1e16 || ad < 1e-4) {
		EMIT("%c.%s", digits[0], nd > 1 ? digits + 1 : "0");
		EMIT("e%d", e);
	} else if (e >= 0) {
		for (int i = 0; i <= e; i++)
			EMIT("%c", i < nd ? digits[i] : '0');
		EMIT(".");
		if (nd > e + 1)
			EMIT("%s", digits + e + 1);
		else
			EMIT("0");
	} else {
		EMIT("0.");
		for (int i = 0; i < -e - 1; i++)
			EMIT("0");
		EMIT("%s", digits);
	}
#undef EMIT
}

PRIM(floatPrint)
{
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	char buf[64];
	format_double(prim_float_value(args[0]), buf, sizeof buf);
	oop s = prim_string(vm, buf);
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}
