// SPDX-License-Identifier: MIT
/*
 * selftests/fuzz/fuzz_ffi.c: fuzz target for the FFI's conversions before and after a
 * call, without calling anything: bytes become a signature (type Symbols, valid or not)
 * and Smalltalk argument values (Integers of every size, malformed LargeIntegers
 * included, Floats, Fractions, Booleans, Strings, ByteArrays, ExternalAddresses good
 * and bad), which go through cf_signature(), cf_to_c() and cf_expected() as a
 * callout's arguments do, and 8 bytes go through cf_from_c() as its result does.
 * Oracles: a refused signature leaves an error text; an Integer accepted for an
 * integer type converts back to an equal Integer (converting never truncates).
 *
 * Input: [rtype] [nargs|cb<<7] then per argument [type] [tag] [payload], then 8 result
 * bytes. Every byte is optional (missing bytes read as 0). See selftests/fuzz/fuzz.h.
 */
#include "selftests/fuzz/fuzz.h"
#include "vm/bigint.h"
#include "vm/ffi/ffi_priv.h"

static struct st_vm *vm;
static struct st_proc proc; /* vm->active: where cf_fail() leaves its text */

struct in {
	const uint8_t *p, *end;
};

static unsigned byte(struct in *in) { return in->p < in->end ? *in->p++ : 0; }

static uint64_t u64(struct in *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)byte(in) << (8 * i);
	return v;
}

/* Type names: every kind, then names that are no C type, then non-Symbols. */
static oop type_of(unsigned b)
{
	static const char *const bad[] = {"int", "char*", "", "Void", "uint128", "void*"};
	unsigned nk = FK_COUNT, nb = sizeof bad / sizeof bad[0];
	b %= nk + nb + 2;
	if (b < nk)
		return st_symbol(vm, cf_kinds[b].name, strlen(cf_kinds[b].name));
	if (b < nk + nb)
		return st_symbol(vm, bad[b - nk], strlen(bad[b - nk]));
	return b == nk + nb ? vm->nil : obj_from_int(7);
}

/* A LargeInteger of [n] magnitude bytes as the input gives them (0 top bytes too). */
static oop raw_large(struct in *in, uint32_t cls, size_t n)
{
	oop o = st_new_bytes(vm, cls, n);
	for (size_t i = 0; o && i < n; i++)
		obj_bytes(o)[i] = (uint8_t)byte(in);
	return o;
}

/* An argument value; *[exact]: a well-formed Integer (the round-trip oracle applies). */
static oop value_of(struct in *in, int *exact)
{
	unsigned tag = byte(in);
	*exact = 0;
	switch (tag % 14) {
	case 0: {
		int64_t v = (int64_t)u64(in) >> (byte(in) % 64);
		*exact = 1;
		return obj_int_fits(v) ? obj_from_int((intptr_t)v) : big_from_int64(vm, v, 0);
	}
	case 1: case 2: { /* well-formed: 4..16 bytes, nonzero top limb */
		size_t n = 4 * (1 + byte(in) % 4);
		oop o = raw_large(in, tag % 14 == 1 ? CI_LARGEPOS : CI_LARGENEG, n);
		if (o && !(obj_bytes(o)[n - 1] | obj_bytes(o)[n - 2] | obj_bytes(o)[n - 3] |
			   obj_bytes(o)[n - 4]))
			obj_bytes(o)[n - 1] = 1;
		*exact = o != 0;
		return o;
	}
	case 3: /* malformed: any length, zero top bytes */
		return raw_large(in, byte(in) & 1 ? CI_LARGEPOS : CI_LARGENEG, byte(in) % 20);
	case 4: {
		uint64_t b = u64(in);
		double d;
		memcpy(&d, &b, 8);
		return st_new_float(vm, d);
	}
	case 5: { /* a Fraction of any two SmallIntegers (0 too), or with nil inside */
		oop f = st_alloc(vm, CI_FRACTION, OBJ_FMT_PTRS, FRAC_SIZE, 0);
		if (!f)
			return 0;
		int32_t n = (int32_t)(uint32_t)u64(in), d = (int32_t)(uint32_t)u64(in);
		unsigned how = byte(in);
		obj_body(f)[FRAC_NUM] = how & 1 ? vm->nil : obj_from_int(n);
		obj_body(f)[FRAC_DEN] = how & 2 ? vm->nil : obj_from_int(d);
		return f;
	}
	case 6: return vm->true_;
	case 7: return vm->false_;
	case 8: return vm->nil;
	case 9: case 10: {
		size_t n = byte(in) % 64;
		oop o = st_new_bytes(vm, tag % 14 == 9 ? CI_STRING : CI_BYTEARRAY, n);
		for (size_t i = 0; o && i < n; i++)
			obj_bytes(o)[i] = (uint8_t)byte(in);
		return o;
	}
	case 11:
		return cf_new_address(vm, (void *)(uintptr_t)u64(in), byte(in) & 3);
	case 12: /* an ExternalAddress of the wrong shape */
		return byte(in) & 1 ? st_alloc(vm, CI_EXTADDR, OBJ_FMT_PTRS, 2, 0)
				    : st_alloc(vm, CI_EXTADDR, OBJ_FMT_WORDS, 0, 0);
	default:
		return st_symbol(vm, "int32", 5);
	}
}

static void fail(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm) {
		vm = fuzz_vm();
		vm->active = &proc;
	}
	struct in in = {data, data + size};
	unsigned roots = vm->nroots;
	oop rtype = 0, types = 0, args = 0, o = 0;
	ST_ROOT(vm, rtype);
	ST_ROOT(vm, types);
	ST_ROOT(vm, args);
	ST_ROOT(vm, o);
	rtype = type_of(byte(&in));
	unsigned h = byte(&in);
	int cb = h >> 7, n = (int)(h & 0x7f) % (CF_MAX_ARGS + 3);
	types = st_alloc(vm, CI_ARRAY, OBJ_FMT_IPTRS, (size_t)n, 0);
	args = st_alloc(vm, CI_ARRAY, OBJ_FMT_IPTRS, (size_t)n, 0);
	uint8_t exact[CF_MAX_ARGS + 3] = {0};
	for (int i = 0; types && args && i < n; i++) {
		o = type_of(byte(&in));
		st_put(vm, types, (size_t)i, o);
		int ex;
		o = value_of(&in, &ex);
		if (!o)
			break;
		exact[i] = (uint8_t)ex;
		st_put(vm, args, (size_t)i, o);
	}
	if (!types || !args)
		goto out;
	uint8_t rk, kinds[CF_MAX_ARGS];
	free(proc.err);
	proc.err = NULL;
	int k = cf_signature(vm, "fuzz", rtype, types, cb, &rk, kinds);
	if (k < 0) {
		if (!proc.err || !*proc.err)
			fail("a refused signature left no error text");
		/* convert anyway, each argument as the type its byte names */
		for (int i = 0; i < n; i++) {
			int kk = cf_kind_of(obj_body(types)[i]);
			if (kk >= 0 && kk < FK_STRING && kk != FK_VOID) {
				union cf_val v;
				cf_to_c(vm, kk, obj_body(args)[i], &v);
			}
		}
		goto out;
	}
	if (k != n)
		fail("cf_signature answered another argument count");
	for (int i = 0; i < n; i++) {
		char buf[128];
		union cf_val v;
		int kind = kinds[i];
		cf_expected(kind, buf, sizeof buf);
		if (kind == FK_STRING || kind == FK_BYTES)
			continue; /* checked by class only, in vm/ffi/ffi_call.c */
		memset(&v, 0, sizeof v);
		if (!cf_to_c(vm, kind, obj_body(args)[i], &v) || !cf_kinds[kind].is_int ||
		    !exact[i])
			continue;
		o = cf_from_c(vm, kind, &v);
		if (!o)
			fail("cf_from_c: out of memory");
		if (big_cmp(vm, o, obj_body(args)[i]) != 0) {
			char *a = big_print(obj_body(args)[i], 10), *b = big_print(o, 10);
			fprintf(stderr, "fuzz: %s: %s came back as %s\n", cf_kinds[kind].name,
				a ? a : "?", b ? b : "?");
			abort();
		}
	}
	/* the result, as libffi leaves it */
	union cf_val r;
	r.u64 = u64(&in);
	char str[16] = "fuzz";
	if (rk == FK_STRING)
		r.p = r.u64 & 1 ? str : NULL;
	o = cf_from_c(vm, rk, &r);
	if (!o)
		fail("cf_from_c: no result");
out:
	ST_UNROOT(vm, 4);
	fuzz_check_roots(vm, roots, "the conversions");
	return 0;
}

#ifndef BATON_LIBFUZZER
int main(void) { return fuzz_replay_main("ffi"); }
#endif
