// SPDX-License-Identifier: MIT
/*
 * vm/prim_float.c: the three float classes of GNU Smalltalk (FloatD, FloatE,
 * FloatQ) and the float primitives that know them apart: results of the
 * right class, exponent and timesTwoPower:, fromBytes:, and the two ways
 * gst prints a float (printString, and the "%g" style of regression mode).
 * Every float holds one double; a FloatE's is kept rounded to C float and a
 * FloatQ's is only a double (gst's is a long double): see language.md.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bigint.h"
#include "vm/prim.h"

static int float_ci(uint32_t ci) { return ci == CI_FLOAT || ci == CI_FLOATE || ci == CI_FLOATQ; }

/* FloatE < FloatD < FloatQ, as gst's generality */
static int rank(uint32_t ci) { return ci == CI_FLOATE ? 0 : ci == CI_FLOAT ? 1 : 2; }

static uint32_t class_for(struct st_vm *vm, oop a)
{
	if (prim_is_float(a))
		return obj_cls(a);
	if (obj_is_ptr(a) && prim_is_class(vm, a) && float_ci(st_class_index(a)))
		return st_class_index(a);
	return CI_FLOAT;
}

static oop new_float(struct st_vm *vm, uint32_t ci, double d)
{
	if (ci == CI_FLOATE && !isnan(d))
		d = (double)(float)d;
	oop o = st_alloc(vm, ci, OBJ_FMT_WORDS, 1, 0);
	if (o)
		memcpy(obj_body(o), &d, 8);
	return o;
}

oop prim_new_float_like(struct st_vm *vm, oop a, oop b, double d)
{
	uint32_t ci = class_for(vm, a);
	if (b && prim_is_float(b) && rank(obj_cls(b)) > rank(ci))
		ci = obj_cls(b);
	return new_float(vm, ci, d);
}

static int answer(oop *args, oop r)
{
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

/* Float>>asFloatD/asFloatE/asFloatQ: the receiver's value in the class of the argument */
PRIM(floatAsClass)
{
	if (!prim_is_float(args[0]) || !prim_is_class(vm, args[1]) || !float_ci(st_class_index(args[1])))
		return PRIM_FAIL;
	return answer(args, new_float(vm, st_class_index(args[1]), prim_float_value(args[0])));
}

/* Float>>exponent: floor(log2 |x|) (also for subnormals); 0 for zero */
PRIM(floatExponent)
{
	(void)vm;
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	double d = prim_float_value(args[0]);
	if (isnan(d) || isinf(d))
		return PRIM_FAIL;
	args[0] = obj_from_int(d == 0 ? 0 : ilogb(d));
	return PRIM_OK;
}

/* Float>>timesTwoPower: n: x * 2^n, rounded once */
PRIM(floatTimesTwoPower)
{
	if (!prim_is_float(args[0]) || !obj_is_int(args[1]))
		return PRIM_FAIL;
	intptr_t n = obj_int(args[1]);
	if (n > 100000)
		n = 100000;
	if (n < -100000)
		n = -100000;
	double d = prim_float_value(args[0]);
	if (obj_cls(args[0]) == CI_FLOATE) { /* round once, at float precision */
		float f = ldexpf((float)d, (int)n);
		return answer(args, new_float(vm, CI_FLOATE, f));
	}
	return answer(args, new_float(vm, obj_cls(args[0]), ldexp(d, (int)n)));
}

/* Float class>>fromBytes: aByteArray: the big-endian IEEE bytes (8; 4 for FloatE) */
PRIM(floatFromBytes)
{
	if (!prim_is_class(vm, args[0]) || !float_ci(st_class_index(args[0])) ||
	    !obj_is_ptr(args[1]) || obj_cls(args[1]) != CI_BYTEARRAY)
		return PRIM_FAIL;
	uint32_t ci = st_class_index(args[0]);
	size_t n = obj_byte_size(args[1]);
	const uint8_t *b = obj_bytes(args[1]);
	uint64_t bits = 0;
	if (n != (ci == CI_FLOATE ? 4u : 8u))
		return PRIM_FAIL;
	for (size_t i = 0; i < n; i++)
		bits = bits << 8 | b[i];
	double d;
	if (n == 4) {
		uint32_t w = (uint32_t)bits;
		float f;
		memcpy(&f, &w, 4);
		d = f;
	} else {
		memcpy(&d, &bits, 8);
	}
	return answer(args, new_float(vm, ci, d));
}

/* Float class>>precision etc.: 0 precision, 1 emin, 2 emax, 3 decimalDigits */
PRIM(floatClassInfo)
{
	if (!prim_is_class(vm, args[0]) || !obj_is_int(args[1]))
		return PRIM_FAIL;
	int e = st_class_index(args[0]) == CI_FLOATE;
	static const int tab[2][4] = {{DBL_MANT_DIG, DBL_MIN_EXP - 1, DBL_MAX_EXP - 1, DBL_DIG},
				      {FLT_MANT_DIG, FLT_MIN_EXP - 1, FLT_MAX_EXP - 1, FLT_DIG}};
	intptr_t k = obj_int(args[1]);
	if (k < 0 || k > 3)
		return PRIM_FAIL;
	args[0] = obj_from_int(tab[e][k]);
	return PRIM_OK;
}

/* Float class>>fmax, fminNormalized, fminDenormalized, epsilon (0..3) of the class */
PRIM(floatClassLimit)
{
	if (!prim_is_class(vm, args[0]) || !obj_is_int(args[1]))
		return PRIM_FAIL;
	uint32_t ci = st_class_index(args[0]);
	int e = ci == CI_FLOATE;
	double v;
	switch (obj_int(args[1])) {
	case 0: v = e ? FLT_MAX : DBL_MAX; break;
	case 1: v = e ? FLT_MIN : DBL_MIN; break;
	case 2: v = e ? FLT_TRUE_MIN : DBL_TRUE_MIN; break;
	case 3: v = e ? FLT_EPSILON : DBL_EPSILON; break;
	default: return PRIM_FAIL;
	}
	return answer(args, new_float(vm, float_ci(ci) ? ci : CI_FLOAT, v));
}

/*
 * The shortest decimal digits that read back as [d] at the precision of its
 * class: digits (no trailing zeros) into [dig], answers the decimal exponent
 * E of d = d1.d2d3... * 10^E.
 */
static int shortest(double d, int single, char *dig)
{
	char buf[64];
	int p;
	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, d);
		if (single ? strtof(buf, NULL) == (float)d : strtod(buf, NULL) == d)
			break;
	}
	int nd = 0;
	char *q = buf;
	for (; *q && *q != 'e'; q++)
		if (*q >= '0' && *q <= '9')
			dig[nd++] = *q;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	dig[nd] = 0;
	return atoi(q + 1);
}

/*
 * gst's printString of a float: shortest digits; positional notation unless
 * the binary exponent is beyond the precision of the class, then one digit,
 * the fraction and the class's exponent letter (d, e, q) with the exponent.
 */
static void gst_print(uint32_t ci, double d, char *out, size_t cap)
{
	if (isnan(d)) {
		snprintf(out, cap, "NaN");
		return;
	}
	if (isinf(d)) {
		snprintf(out, cap, d < 0 ? "-Inf" : "Inf");
		return;
	}
	char *o = out;
	size_t left = cap;
#define EMIT(...) do { int k_ = snprintf(o, left, __VA_ARGS__); if (k_ > 0 && (size_t)k_ < left) { o += k_; left -= (size_t)k_; } } while (0)
	if (signbit(d))
		EMIT("-");
	d = fabs(d);
	if (d == 0) {
		EMIT("0.0");
		return;
	}
	int single = ci == CI_FLOATE;
	int prec = single ? FLT_MANT_DIG : DBL_MANT_DIG;
	int exponential = abs(ilogb(d)) > prec;
	char dig[32];
	int e = shortest(d, single, dig);
	int nd = (int)strlen(dig);
	if (exponential) {
		EMIT("%c.%s%c%d", dig[0], nd > 1 ? dig + 1 : "0",
		     ci == CI_FLOATE ? 'e' : ci == CI_FLOATQ ? 'q' : 'd', e);
	} else if (e < 0) {
		EMIT("0.");
		for (int i = 0; i < -e - 1; i++)
			EMIT("0");
		EMIT("%s", dig);
	} else {
		for (int i = 0; i <= e; i++)
			EMIT("%c", i < nd ? dig[i] : '0');
		EMIT(".%s", nd > e + 1 ? dig + e + 1 : "0");
	}
#undef EMIT
}

PRIM(floatPrintGst)
{
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	char buf[400];
	gst_print(obj_cls(args[0]), prim_float_value(args[0]), buf, sizeof buf);
	return answer(args, prim_string(vm, buf));
}

/*
 * The "%#.6g" form gst's regression mode (gst -r) prints a float result in,
 * with the exponent letter d for FloatD and q for FloatQ. As the C library
 * gst's expected outputs were made with, the choice between fixed and
 * exponent notation follows the exponent of the unrounded value
 * (0.9999999999999999 prints as 1.000000).
 */
int prim_float_regression_format(oop f, char *buf, size_t cap)
{
	if (!prim_is_float(f))
		return 0;
	double d = prim_float_value(f);
	const int P = 6;
	if (isnan(d) || isinf(d)) {
		snprintf(buf, cap, "%s", isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
		return 1;
	}
	int x = 0;
	if (d != 0) {
		char t[80];
		snprintf(t, sizeof t, "%.30e", d);
		x = atoi(strchr(t, 'e') + 1);
	}
	if (x < P && x >= -4) {
		snprintf(buf, cap, "%#.*f", P - 1 - x, d);
	} else {
		snprintf(buf, cap, "%#.*e", P - 1, d);
		char *e = strchr(buf, 'e');
		if (e && obj_cls(f) != CI_FLOATE)
			*e = obj_cls(f) == CI_FLOATQ ? 'q' : 'd';
	}
	return 1;
}

PRIM(floatRegressionString)
{
	char buf[400];
	if (!prim_float_regression_format(args[0], buf, sizeof buf))
		return PRIM_FAIL;
	return answer(args, prim_string(vm, buf));
}

/* Float>>successor (arg 1) and predecessor (-1): the next float of the class */
PRIM(floatStep)
{
	if (!prim_is_float(args[0]) || !obj_is_int(args[1]))
		return PRIM_FAIL;
	double d = prim_float_value(args[0]);
	double to = obj_int(args[1]) > 0 ? INFINITY : -INFINITY;
	if (obj_cls(args[0]) == CI_FLOATE)
		d = nextafterf((float)d, (float)to);
	else
		d = nextafter(d, to);
	return answer(args, new_float(vm, obj_cls(args[0]), d));
}

/* true when the sign bit is set: -0.0 and the negative floats (and -nan) */
PRIM(floatSignBit)
{
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	args[0] = st_bool(vm, signbit(prim_float_value(args[0])) != 0);
	return PRIM_OK;
}

/* Float>>arcSin, arcCos: fail outside [-1, 1] (the Smalltalk side raises the error) */
static int float_arc(struct st_vm *vm, oop *args, int cos_)
{
	if (!prim_is_float(args[0]))
		return PRIM_FAIL;
	double x = prim_float_value(args[0]);
	if (!(x >= -1 && x <= 1))
		return PRIM_FAIL;
	return answer(args, new_float(vm, obj_cls(args[0]), cos_ ? acos(x) : asin(x)));
}
PRIM(floatArcSin) { return float_arc(vm, args, 0); }
PRIM(floatArcCos) { return float_arc(vm, args, 1); }
