// SPDX-License-Identifier: MIT
/*
 * vm/bigint.h: arbitrary-precision integers for LargePositiveInteger and
 * LargeNegativeInteger (byte objects holding the magnitude as little-endian
 * 32-bit limbs, never with a zero top limb). Every result that fits is
 * answered as a SmallInteger. See Documentation/vm/objects.md.
 */
#ifndef BATON_VM_BIGINT_H
#define BATON_VM_BIGINT_H

#include "vm/st.h"

enum big_op { BIG_ADD, BIG_SUB, BIG_MUL, BIG_QUO, BIG_REM, BIG_DIV, BIG_MOD,
	      BIG_AND, BIG_OR, BIG_XOR };

/* Integer arithmetic on SmallIntegers and LargeIntegers in any mix.
 * 0: allocation failed; BIG_* division by zero is the caller's check. */
oop big_op(struct st_vm *vm, oop a, oop b, enum big_op op);
/* <0, 0, >0 */
int big_cmp(struct st_vm *vm, oop a, oop b);
int big_is_int(oop o); /* SmallInteger or LargeInteger */
int big_sign(oop o);
/* a (Small or Large) against a finite double, exactly: <0, 0, >0 */
int big_cmp_double(oop a, double d);
/* LargeInteger>>hash of the magnitude limbs d[0..n) (no zero top limb) */
intptr_t big_hash_limbs(const uint32_t *d, size_t n);
/* Float>>hash: the hash of the equal Integer or Fraction, so that hash agrees with = */
intptr_t big_hash_double(double d);
/* bits of |a| up to its top 1 bit (0 for zero) */
intptr_t big_high_bit(oop a);
oop big_shift(struct st_vm *vm, oop a, intptr_t n);
oop big_negated(struct st_vm *vm, oop a);
double big_to_double(oop a);
oop big_from_double(struct st_vm *vm, double d); /* truncated; d finite */
oop big_from_int64(struct st_vm *vm, int64_t v, int old);
oop big_from_digits(struct st_vm *vm, const char *s, size_t n, int radix, int neg);
/* malloc'd digits in [radix] (2..36), with '-' when negative */
char *big_print(oop a, int radix);
/* fits an int64? then *out */
int big_to_int64(oop a, int64_t *out);

#endif /* BATON_VM_BIGINT_H */
