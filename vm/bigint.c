// SPDX-License-Identifier: MIT
/*
 * vm/bigint.c: LargeInteger arithmetic: schoolbook multiplication, Knuth's
 * long division, conversions. Works on C copies of the limbs (so the
 * collector may move the operands while a result is allocated) and
 * normalises results back to SmallIntegers. Big products, quotients and
 * radix conversions go to GMP (Debian's libgmp): its subquadratic
 * algorithms print 2^1000000 in milliseconds where the schoolbook ones take
 * seconds. See Documentation/vm/objects.md.
 */
#include <gmp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bigint.h"

/* A C-side integer: sign and magnitude limbs. */
struct bn {
	int neg;
	int n;        /* limbs in use, no zero top limb; 0 for zero */
	uint32_t *d; /* malloc'd: structs are copied by value */
};

static void bn_fit(struct bn *x)
{
	while (x->n > 0 && x->d[x->n - 1] == 0)
		x->n--;
	if (x->n == 0)
		x->neg = 0;
}

static int bn_alloc(struct bn *x, int n)
{
	x->n = n;
	x->neg = 0;
	x->d = calloc((size_t)(n > 0 ? n : 1), 4);
	return x->d != NULL;
}

static void bn_free(struct bn *x)
{
	free(x->d);
	x->d = NULL;
}

static void bn_from_i64(struct bn *x, int64_t v)
{
	bn_alloc(x, 2);
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	x->d[0] = (uint32_t)m;
	x->d[1] = (uint32_t)(m >> 32);
	x->neg = v < 0;
	bn_fit(x);
}

/* Above this many limbs GMP's Karatsuba/Toom and divide-and-conquer
 * division beat the schoolbook loops below. */
#define GMP_LIMBS 48

/* GMP ends the process when it cannot allocate (and on sizes past 2^31
 * limbs), where a primitive should fail with OutOfMemory. So before a big
 * operation, check that its result and temporaries can be had. */
static int gmp_room(size_t limbs)
{
	if (limbs > ((size_t)1 << 28))
		return 0;
	void *volatile p = malloc(limbs * 16 + 4096); /* volatile: not elided */
	free(p);
	return p != NULL;
}

static void mpz_of(mpz_t z, const struct bn *x)
{
	mpz_init(z);
	mpz_import(z, (size_t)x->n, -1, 4, 0, 0, x->d);
	if (x->neg)
		mpz_neg(z, z);
}

/* z's magnitude into r (sign left to the caller); 0 when out of memory */
static int bn_of_mpz(struct bn *r, const mpz_t z)
{
	size_t n = (mpz_sizeinbase(z, 2) + 31) / 32;
	if (!bn_alloc(r, (int)n + 1))
		return 0;
	size_t got = 0;
	mpz_export(r->d, &got, -1, 4, 0, 0, z);
	r->n = (int)got;
	bn_fit(r);
	return 1;
}

int big_is_int(oop o)
{
	return obj_is_int(o) ||
	       (obj_is_ptr(o) && (obj_cls(o) == CI_LARGEPOS || obj_cls(o) == CI_LARGENEG));
}

static int bn_get(struct bn *x, oop o)
{
	if (obj_is_int(o)) {
		bn_from_i64(x, obj_int(o));
		return 1;
	}
	int n = (int)(obj_byte_size(o) / 4);
	if (!bn_alloc(x, n))
		return 0;
	memcpy(x->d, obj_bytes(o), (size_t)n * 4);
	x->neg = obj_cls(o) == CI_LARGENEG;
	bn_fit(x);
	return 1;
}

/* The result object (a SmallInteger when it fits). */
static oop bn_put(struct st_vm *vm, struct bn *x, int old)
{
	bn_fit(x);
	if (x->n <= 2) {
		uint64_t m = x->n == 0 ? 0 : x->d[0] | (x->n > 1 ? (uint64_t)x->d[1] << 32 : 0);
		if (m <= (uint64_t)OBJ_INT_MAX)
			return obj_from_int(x->neg ? -(intptr_t)m : (intptr_t)m);
		if (x->neg && m == (uint64_t)OBJ_INT_MAX + 1)
			return obj_from_int(OBJ_INT_MIN);
	}
	size_t bytes = (size_t)x->n * 4, slots = (bytes + 7) / 8;
	uint32_t cls = x->neg ? CI_LARGENEG : CI_LARGEPOS;
	oop o = old ? st_alloc_old(vm, cls, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - bytes), 0)
		    : st_alloc(vm, cls, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - bytes));
	if (o)
		memcpy(obj_bytes(o), x->d, bytes);
	return o;
}

static int mag_cmp(const struct bn *a, const struct bn *b)
{
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	for (int i = a->n - 1; i >= 0; i--)
		if (a->d[i] != b->d[i])
			return a->d[i] < b->d[i] ? -1 : 1;
	return 0;
}

/* r = |a| + |b| */
static int mag_add(struct bn *r, const struct bn *a, const struct bn *b)
{
	int n = (a->n > b->n ? a->n : b->n) + 1;
	if (!bn_alloc(r, n))
		return 0;
	uint64_t c = 0;
	for (int i = 0; i < n; i++) {
		c += (i < a->n ? a->d[i] : 0);
		c += (i < b->n ? b->d[i] : 0);
		r->d[i] = (uint32_t)c;
		c >>= 32;
	}
	bn_fit(r);
	return 1;
}

/* r = |a| - |b|, |a| >= |b| */
static int mag_sub(struct bn *r, const struct bn *a, const struct bn *b)
{
	if (!bn_alloc(r, a->n))
		return 0;
	int64_t br = 0;
	for (int i = 0; i < a->n; i++) {
		int64_t v = (int64_t)a->d[i] - (i < b->n ? b->d[i] : 0) - br;
		br = v < 0;
		r->d[i] = (uint32_t)(v + (br ? ((int64_t)1 << 32) : 0));
	}
	bn_fit(r);
	return 1;
}

static int signed_add(struct bn *r, const struct bn *a, const struct bn *b, int bneg)
{
	if (a->neg == bneg) {
		if (!mag_add(r, a, b))
			return 0;
		r->neg = a->neg;
	} else if (mag_cmp(a, b) >= 0) {
		if (!mag_sub(r, a, b))
			return 0;
		r->neg = a->neg;
	} else {
		if (!mag_sub(r, b, a))
			return 0;
		r->neg = bneg;
	}
	bn_fit(r);
	return 1;
}

static int mag_mul(struct bn *r, const struct bn *a, const struct bn *b)
{
	if (a->n >= GMP_LIMBS && b->n >= GMP_LIMBS) {
		if (!gmp_room((size_t)a->n + (size_t)b->n))
			return 0;
		mpz_t x, y;
		mpz_of(x, a);
		mpz_of(y, b);
		mpz_mul(x, x, y);
		int ok = bn_of_mpz(r, x);
		mpz_clear(x);
		mpz_clear(y);
		r->neg = a->neg != b->neg;
		bn_fit(r);
		return ok;
	}
	if (!bn_alloc(r, a->n + b->n + 1))
		return 0;
	for (int i = 0; i < a->n; i++) {
		uint64_t c = 0;
		for (int j = 0; j < b->n; j++) {
			c += (uint64_t)a->d[i] * b->d[j] + r->d[i + j];
			r->d[i + j] = (uint32_t)c;
			c >>= 32;
		}
		r->d[i + b->n] = (uint32_t)c;
	}
	r->neg = a->neg != b->neg;
	bn_fit(r);
	return 1;
}

/* Knuth D: q = |a| / |b|, m = |a| mod |b|, b nonzero. */
static int mag_divmod(struct bn *q, struct bn *m, const struct bn *a, const struct bn *b)
{
	if (mag_cmp(a, b) < 0) {
		if (!bn_alloc(q, 1) || !bn_alloc(m, a->n + 1))
			return 0;
		memcpy(m->d, a->d, (size_t)a->n * 4);
		bn_fit(q);
		bn_fit(m);
		return 1;
	}
	if (b->n == 1) {
		if (!bn_alloc(q, a->n) || !bn_alloc(m, 1))
			return 0;
		uint64_t r = 0;
		for (int i = a->n - 1; i >= 0; i--) {
			uint64_t cur = (r << 32) | a->d[i];
			q->d[i] = (uint32_t)(cur / b->d[0]);
			r = cur % b->d[0];
		}
		m->d[0] = (uint32_t)r;
		bn_fit(q);
		bn_fit(m);
		return 1;
	}
	if (b->n >= GMP_LIMBS && a->n - b->n >= GMP_LIMBS) {
		if (!gmp_room((size_t)a->n * 2))
			return 0;
		mpz_t x, y, zq;
		struct bn pa = *a, pb = *b; /* magnitudes */
		pa.neg = pb.neg = 0;
		mpz_of(x, &pa);
		mpz_of(y, &pb);
		mpz_init(zq);
		mpz_tdiv_qr(zq, x, x, y);
		int ok = bn_of_mpz(q, zq) && bn_of_mpz(m, x);
		mpz_clear(x);
		mpz_clear(y);
		mpz_clear(zq);
		return ok;
	}
	int n = b->n, mm = a->n - b->n;
	int s = __builtin_clz(b->d[n - 1]);
	uint32_t *bn_ = calloc((size_t)n, 4), *an = calloc((size_t)a->n + 1, 4);
	if (!bn_ || !an || !bn_alloc(q, mm + 1) || !bn_alloc(m, n)) {
		free(bn_);
		free(an);
		return 0;
	}
	for (int i = n - 1; i > 0; i--)
		bn_[i] = (b->d[i] << s) | (s ? (uint32_t)((uint64_t)b->d[i - 1] >> (32 - s)) : 0);
	bn_[0] = b->d[0] << s;
	an[a->n] = s ? (uint32_t)((uint64_t)a->d[a->n - 1] >> (32 - s)) : 0;
	for (int i = a->n - 1; i > 0; i--)
		an[i] = (a->d[i] << s) | (s ? (uint32_t)((uint64_t)a->d[i - 1] >> (32 - s)) : 0);
	an[0] = a->d[0] << s;
	for (int j = mm; j >= 0; j--) {
		uint64_t num = ((uint64_t)an[j + n] << 32) | an[j + n - 1];
		uint64_t qhat = num / bn_[n - 1], rhat = num % bn_[n - 1];
		while (qhat >= ((uint64_t)1 << 32) ||
		       qhat * bn_[n - 2] > ((rhat << 32) | an[j + n - 2])) {
			qhat--;
			rhat += bn_[n - 1];
			if (rhat >= ((uint64_t)1 << 32))
				break;
		}
		int64_t borrow = 0;
		uint64_t carry = 0;
		for (int i = 0; i < n; i++) {
			uint64_t p = qhat * bn_[i] + carry;
			carry = p >> 32;
			int64_t t = (int64_t)an[i + j] - (int64_t)(uint32_t)p - borrow;
			borrow = t < 0;
			an[i + j] = (uint32_t)t;
		}
		int64_t t = (int64_t)an[j + n] - (int64_t)carry - borrow;
		an[j + n] = (uint32_t)t;
		if (t < 0) {
			qhat--;
			uint64_t c = 0;
			for (int i = 0; i < n; i++) {
				c += (uint64_t)an[i + j] + bn_[i];
				an[i + j] = (uint32_t)c;
				c >>= 32;
			}
			an[j + n] += (uint32_t)c;
		}
		q->d[j] = (uint32_t)qhat;
	}
	for (int i = 0; i < n; i++)
		m->d[i] = (an[i] >> s) | (s && i + 1 <= n ? (uint32_t)((uint64_t)an[i + 1] << (32 - s)) : 0);
	free(bn_);
	free(an);
	bn_fit(q);
	bn_fit(m);
	return 1;
}

/* Two's complement limbs of x over [n] limbs (n > x->n). */
static void twos(uint32_t *out, const struct bn *x, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = i < x->n ? x->d[i] : 0;
	if (x->neg) {
		uint64_t c = 1;
		for (int i = 0; i < n; i++) {
			c += (uint32_t)~out[i];
			out[i] = (uint32_t)c;
			c >>= 32;
		}
	}
}

static int bitop(struct bn *r, const struct bn *a, const struct bn *b, enum big_op op)
{
	int n = (a->n > b->n ? a->n : b->n) + 1;
	uint32_t *x = calloc((size_t)n, 4), *y = calloc((size_t)n, 4);
	if (!x || !y || !bn_alloc(r, n)) {
		free(x);
		free(y);
		return 0;
	}
	twos(x, a, n);
	twos(y, b, n);
	for (int i = 0; i < n; i++)
		r->d[i] = op == BIG_AND ? (x[i] & y[i]) : op == BIG_OR ? (x[i] | y[i]) : (x[i] ^ y[i]);
	free(x);
	free(y);
	if (r->d[n - 1] & 0x80000000u) {
		/* negative: back to sign and magnitude */
		uint64_t c = 1;
		for (int i = 0; i < n; i++) {
			c += (uint32_t)~r->d[i];
			r->d[i] = (uint32_t)c;
			c >>= 32;
		}
		r->neg = 1;
	}
	bn_fit(r);
	return 1;
}

static int is_zero(const struct bn *x) { return x->n == 0; }

oop big_op(struct st_vm *vm, oop a, oop b, enum big_op op)
{
	struct bn x, y, r = {0}, q = {0}, m = {0};
	if (!bn_get(&x, a))
		return 0;
	if (!bn_get(&y, b)) {
		bn_free(&x);
		return 0;
	}
	int ok = 1;
	struct bn *res = &r;
	switch (op) {
	case BIG_ADD: ok = signed_add(&r, &x, &y, y.neg); break;
	case BIG_SUB: ok = signed_add(&r, &x, &y, !y.neg && !is_zero(&y)); break;
	case BIG_MUL: ok = mag_mul(&r, &x, &y); break;
	case BIG_AND: case BIG_OR: case BIG_XOR: ok = bitop(&r, &x, &y, op); break;
	default:
		ok = mag_divmod(&q, &m, &x, &y);
		if (!ok)
			break;
		q.neg = x.neg != y.neg;
		m.neg = x.neg;
		bn_fit(&q);
		bn_fit(&m);
		if ((op == BIG_DIV || op == BIG_MOD) && !is_zero(&m) && x.neg != y.neg) {
			/* floor: q - 1, m + y */
			struct bn one, t = {0};
			bn_from_i64(&one, 1);
			ok = signed_add(&t, &q, &one, 1);
			bn_free(&one);
			bn_free(&q);
			q = t;
			struct bn t2 = {0};
			if (ok)
				ok = signed_add(&t2, &m, &y, y.neg);
			bn_free(&m);
			m = t2;
		}
		res = (op == BIG_QUO || op == BIG_DIV) ? &q : &m;
	}
	oop o = ok ? bn_put(vm, res, 0) : 0;
	bn_free(&x);
	bn_free(&y);
	bn_free(&r);
	bn_free(&q);
	bn_free(&m);
	return o;
}

int big_cmp(struct st_vm *vm, oop a, oop b)
{
	(void)vm;
	struct bn x, y;
	if (!bn_get(&x, a))
		return 0;
	if (!bn_get(&y, b)) {
		bn_free(&x);
		return 0;
	}
	int r;
	if (x.neg != y.neg)
		r = x.neg ? -1 : 1;
	else {
		r = mag_cmp(&x, &y);
		if (x.neg)
			r = -r;
	}
	bn_free(&x);
	bn_free(&y);
	return r;
}

/* r = mant * 2^k (k >= 0, mant < 2^53): an integral double's magnitude */
static int bn_from_mant(struct bn *r, uint64_t mant, int k)
{
	int limbs = k / 32, bits = k % 32;
	if (!bn_alloc(r, limbs + 3))
		return 0;
	unsigned __int128 v = (unsigned __int128)mant << bits; /* < 2^85 */
	for (int i = 0; i < 3; i++)
		r->d[limbs + i] = (uint32_t)(v >> (32 * i));
	bn_fit(r);
	return 1;
}

/* |d| = mant * 2^k with mant odd (d finite, nonzero) */
static uint64_t dbl_split(double d, int *k)
{
	int e;
	double m = frexp(fabs(d), &e); /* |d| = m * 2^e, 0.5 <= m < 1 */
	uint64_t mant = (uint64_t)ldexp(m, 53);
	int tz = __builtin_ctzll(mant);
	*k = e - 53 + tz;
	return mant >> tz;
}

int big_cmp_double(oop a, double d)
{
	if (obj_is_int(a)) {
		/* beyond int64 the double is beyond every SmallInteger */
		if (d >= 9223372036854775808.0)
			return -1;
		if (d < -9223372036854775808.0)
			return 1;
		intptr_t v = obj_int(a);
		double t = trunc(d);
		int64_t ti = (int64_t)t;
		if (v != ti)
			return v < ti ? -1 : 1;
		return t < d ? -1 : t > d; /* the fraction of d decides */
	}
	int s = big_sign(a);
	if ((d < 0) != (s < 0))
		return s;
	/* same sign: |a| has hb bits, |d| lies in [2^(e-1), 2^e) */
	intptr_t hb = big_high_bit(a);
	int e;
	frexp(fabs(d), &e);
	int c;
	if (hb != e) {
		c = hb < e ? -1 : 1;
	} else { /* e >= 63 bits: d is an integer, compare limbs */
		struct bn x, y;
		int k;
		uint64_t mant = dbl_split(d, &k);
		if (!bn_get(&x, a))
			return 0;
		if (!bn_from_mant(&y, mant, k)) {
			bn_free(&x);
			return 0;
		}
		c = mag_cmp(&x, &y);
		bn_free(&x);
		bn_free(&y);
	}
	return s < 0 ? -c : c;
}

intptr_t big_hash_limbs(const uint32_t *d, size_t n)
{
	const uint8_t *b = (const uint8_t *)d;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n * 4; i++)
		h = (h ^ b[i]) * 16777619u;
	return (intptr_t)(h & 0x3fffffff);
}

/* Integer>>hash of mant * 2^k (k >= 0), without allocating an object */
static intptr_t hash_of_mant(uint64_t mant, int k, int neg)
{
	if (k < 62 && (mant >> (62 - k)) == 0) { /* a SmallInteger: hash is self */
		intptr_t v = (intptr_t)(mant << k);
		return neg ? -v : v;
	}
	if (neg && mant == 1 && k == 62)
		return OBJ_INT_MIN; /* SmallInteger minVal */
	struct bn x;
	if (!bn_from_mant(&x, mant, k))
		return 0;
	intptr_t h = big_hash_limbs(x.d, (size_t)x.n);
	bn_free(&x);
	return h;
}

intptr_t big_hash_double(double d)
{
	if (d == 0)
		return 0;
	if (isnan(d) || isinf(d))
		return d > 0 ? 0x3ffffffe : 0x3ffffffd; /* equal to no Integer or Fraction */
	int k;
	uint64_t mant = dbl_split(d, &k);
	if (k >= 0)
		return hash_of_mant(mant, k, d < 0);
	/* the reduced Fraction mant / 2^-k: numerator hash bitXor: denominator hash */
	return hash_of_mant(mant, 0, d < 0) ^ hash_of_mant(1, -k, 0);
}

intptr_t big_high_bit(oop a)
{
	if (obj_is_int(a)) {
		uintptr_t v = (uintptr_t)(obj_int(a) < 0 ? -obj_int(a) : obj_int(a));
		return v ? 64 - __builtin_clzll((unsigned long long)v) : 0;
	}
	const uint32_t *d = (const uint32_t *)obj_bytes(a);
	intptr_t n = (intptr_t)(obj_byte_size(a) / 4);
	while (n > 0 && d[n - 1] == 0)
		n--;
	return n ? (n - 1) * 32 + 32 - __builtin_clz(d[n - 1]) : 0;
}

int big_sign(oop o)
{
	if (obj_is_int(o))
		return obj_int(o) < 0 ? -1 : obj_int(o) > 0;
	return obj_cls(o) == CI_LARGENEG ? -1 : 1;
}

oop big_negated(struct st_vm *vm, oop a)
{
	struct bn x;
	if (!bn_get(&x, a))
		return 0;
	x.neg = !x.neg;
	oop o = bn_put(vm, &x, 0);
	bn_free(&x);
	return o;
}

oop big_shift(struct st_vm *vm, oop a, intptr_t sh)
{
	struct bn x, r = {0};
	if (!bn_get(&x, a))
		return 0;
	oop o = 0;
	if (sh >= 0) {
		int limbs = (int)(sh / 32), bits = (int)(sh % 32);
		if (bn_alloc(&r, x.n + limbs + 1)) {
			for (int i = 0; i < x.n; i++) {
				uint64_t v = (uint64_t)x.d[i] << bits;
				r.d[i + limbs] |= (uint32_t)v;
				r.d[i + limbs + 1] |= (uint32_t)(v >> 32);
			}
			r.neg = x.neg;
			o = bn_put(vm, &r, 0);
		}
	} else {
		/* arithmetic shift right: floor division by 2^-sh */
		intptr_t s = -sh;
		int limbs = (int)(s / 32), bits = (int)(s % 32);
		int lost = 0;
		if (limbs >= x.n) {
			o = obj_from_int(x.neg ? -1 : 0);
			bn_free(&x);
			return o;
		}
		if (bn_alloc(&r, x.n - limbs)) {
			for (int i = 0; i < limbs; i++)
				lost |= x.d[i] != 0;
			if (bits)
				lost |= (x.d[limbs] & ((1u << bits) - 1)) != 0;
			for (int i = limbs; i < x.n; i++) {
				uint64_t v = x.d[i] >> bits;
				if (bits && i + 1 < x.n)
					v |= (uint64_t)x.d[i + 1] << (32 - bits);
				r.d[i - limbs] = (uint32_t)v;
			}
			r.neg = x.neg;
			bn_fit(&r);
			if (x.neg && lost) {
				struct bn one, t = {0};
				bn_from_i64(&one, 1);
				signed_add(&t, &r, &one, 1);
				bn_free(&one);
				o = bn_put(vm, &t, 0);
				bn_free(&t);
			} else
				o = bn_put(vm, &r, 0);
		}
	}
	bn_free(&x);
	bn_free(&r);
	return o;
}

/* Correctly rounded: the top 64 bits, with a sticky bit for everything
 * below them, convert with one rounding (adding limb by limb rounds twice) */
double big_to_double(oop a)
{
	if (obj_is_int(a))
		return (double)obj_int(a);
	struct bn x;
	if (!bn_get(&x, a))
		return 0;
	intptr_t hb = x.n ? (intptr_t)(x.n - 1) * 32 + 32 - __builtin_clz(x.d[x.n - 1]) : 0;
	size_t pos = hb > 64 ? (size_t)(hb - 64) : 0; /* lowest bit kept */
	unsigned __int128 w = 0;
	for (int k = 0; k < 3; k++) {
		size_t li = pos / 32 + (size_t)k;
		if (li < (size_t)x.n)
			w |= (unsigned __int128)x.d[li] << (32 * k);
	}
	uint64_t m = (uint64_t)(w >> (pos % 32));
	int sticky = pos % 32 && (x.d[pos / 32] & ((1u << (pos % 32)) - 1));
	for (size_t i = 0; i < pos / 32 && !sticky; i++)
		sticky = x.d[i] != 0;
	double d = ldexp((double)(m | (uint64_t)sticky), (int)pos);
	if (x.neg)
		d = -d;
	bn_free(&x);
	return d;
}

oop big_from_double(struct st_vm *vm, double d)
{
	d = trunc(d);
	if (fabs(d) < 4e18)
		return obj_int_fits((intptr_t)d) ? obj_from_int((intptr_t)d)
						 : big_from_int64(vm, (int64_t)d, 0);
	int e;
	double m = frexp(fabs(d), &e); /* d = m * 2^e, 0.5 <= m < 1 */
	int64_t mant = (int64_t)ldexp(m, 53);
	oop base = big_from_int64(vm, d < 0 ? -mant : mant, 0);
	if (!base)
		return 0;
	return big_shift(vm, base, e - 53);
}

oop big_from_int64(struct st_vm *vm, int64_t v, int old)
{
	struct bn x;
	bn_from_i64(&x, v);
	oop o = bn_put(vm, &x, old);
	bn_free(&x);
	return o;
}

oop big_from_digits(struct st_vm *vm, const char *s, size_t n, int radix, int neg)
{
	/* GMP wants a terminated string of digits valid in [radix]: the lexer
	 * and asNumber have checked them */
	if (!gmp_room(n / 8 + 2))
		return 0;
	char *t = malloc(n + 2);
	if (!t)
		return 0;
	memcpy(t, s, n);
	t[n] = 0;
	if (n == 0)
		t[0] = '0', t[1] = 0;
	mpz_t z;
	mpz_init(z);
	int bad = mpz_set_str(z, t, radix) != 0;
	free(t);
	struct bn x = {0};
	oop o = 0;
	if (!bad && bn_of_mpz(&x, z)) {
		x.neg = neg;
		bn_fit(&x);
		o = bn_put(vm, &x, 1);
	}
	bn_free(&x);
	mpz_clear(z);
	return o;
}

char *big_print(oop a, int radix)
{
	struct bn x;
	if (!bn_get(&x, a))
		return NULL;
	if (!gmp_room((size_t)x.n * 2)) {
		bn_free(&x);
		return NULL;
	}
	mpz_t z;
	mpz_of(z, &x);
	bn_free(&x);
	/* sizeinbase may be one too big; sign and NUL */
	char *buf = malloc(mpz_sizeinbase(z, radix) + 2);
	if (buf)
		mpz_get_str(buf, -radix, z); /* negative base: upper-case letters */
	mpz_clear(z);
	return buf;
}

int big_to_int64(oop a, int64_t *out)
{
	if (obj_is_int(a)) {
		*out = obj_int(a);
		return 1;
	}
	struct bn x;
	if (!bn_get(&x, a))
		return 0;
	int ok = x.n <= 2;
	if (ok) {
		uint64_t m = x.d[0] | (x.n > 1 ? (uint64_t)x.d[1] << 32 : 0);
		if (x.neg) {
			ok = m <= (uint64_t)INT64_MAX + 1;
			*out = (int64_t)(0 - m);
		} else {
			ok = m <= (uint64_t)INT64_MAX;
			*out = (int64_t)m;
		}
	}
	bn_free(&x);
	return ok;
}
