// SPDX-License-Identifier: MIT
/*
 * vm/ffi/ffi_priv.h: the FFI's own structures, shared by vm/ffi_*.c and
 * vm/ffi/prim_ffi.c: the C type table, the per-VM tables (libraries,
 * functions with their cached libffi cifs, callbacks, pins), the
 * ExternalAddress layout and the conversions between oops and C values.
 * Nothing here may be used without owning the VM. See Documentation/vm/ffi.md.
 */
#ifndef BATON_VM_FFI_PRIV_H
#define BATON_VM_FFI_PRIV_H

#include <ffi.h>

#include "vm/ffi/ffi.h"
#include "vm/sched.h"

#define CF_MAX_ARGS 32

/* The C types, in the order of the table in vm/ffi/ffi_types.c. */
enum cf_kind {
	FK_VOID, FK_BOOL, FK_INT8, FK_UINT8, FK_INT16, FK_UINT16, FK_INT32, FK_UINT32,
	FK_INT64, FK_UINT64, FK_LONG, FK_ULONG, FK_SIZE_T, FK_FLOAT, FK_DOUBLE,
	FK_POINTER, FK_STRING, FK_BYTES,
	FK_COUNT
};

/* Where a type may appear. */
#define FKF_ARG 0x1     /* argument of a function */
#define FKF_RESULT 0x2  /* result of a function */
#define FKF_CBARG 0x4   /* argument of a callback */
#define FKF_CBRES 0x8   /* result of a callback */

struct cf_kind_info {
	const char *name;
	ffi_type *type;
	uint8_t size;    /* bytes in C */
	uint8_t is_int;  /* an integer kind: range below */
	uint8_t flags;   /* FKF_* */
	int64_t min;     /* integer kinds */
	uint64_t max;
};
extern const struct cf_kind_info cf_kinds[FK_COUNT];

/* A C value of any kind. */
union cf_val {
	int8_t i8;
	uint8_t u8;
	int16_t i16;
	uint16_t u16;
	int32_t i32;
	uint32_t u32;
	int64_t i64;
	uint64_t u64;
	float f;
	double d;
	void *p;
	ffi_arg ret; /* libffi widens small integral results to this */
};

/*
 * On x86-64 (System V), a signature whose arguments all travel in registers
 * (at most 6 integer-class, at most 8 float/double) is called directly
 * through a function pointer type that loads all of them: integer-class
 * arguments in rdi..r9 and float/double ones in xmm0..7 are assigned
 * independently, a callee ignores registers it has no parameter for, and
 * a variadic pointer type makes the caller set al as variadic callees
 * need. libffi (ffi_call on the cached cif) does everything else.
 */
#define CF_DIRECT_NONE 0
#define CF_DIRECT_INT 1   /* integer-class arguments and result */
#define CF_DIRECT_MIXED 2 /* float/double arguments or result too */
#define CF_SLOT_XMM 8     /* slot[i] >= this: xmm register slot[i] - 8 */

/* A function: its symbol, signature and libffi call interface, prepared
 * once and shared by every ExternalFunction with the same signature. */
struct cf_fn {
	void *sym;
	char *name;
	ffi_cif cif;
	int nargs;
	uint8_t rkind;
	uint8_t heavy;   /* has #string or #bytes arguments */
	uint8_t direct;  /* CF_DIRECT_*: called without libffi */
	uint8_t ngpr;    /* integer-class arguments */
	uint8_t kinds[CF_MAX_ARGS];
	uint8_t slot[CF_MAX_ARGS]; /* direct: register of each argument */
	ffi_type *types[CF_MAX_ARGS];
};

/* A Callback: a libffi closure whose code address C calls. [obj] (the
 * Callback object) is a root; [prio] is copied from it because a foreign
 * thread needs it before it owns the VM. */
struct cf_cb {
	struct st_vm *vm;
	ffi_closure *closure;
	void *code;
	ffi_cif cif;
	int nargs;
	int prio;
	int handle;
	uint8_t rkind;
	uint8_t kinds[CF_MAX_ARGS];
	ffi_type *types[CF_MAX_ARGS];
	oop obj;
	/* Activations running (C called it and its block has not finished),
	 * and whether Smalltalk freed it meanwhile: then it stays in the table
	 * (its object a root, its slot taken) but answers as freed, and the
	 * last activation to finish frees it. Both change only while owning
	 * the VM. */
	int busy;
	int freed;
};

/* One call of a callback, on the C stack of the thread C called it on. */
struct cf_inv {
	struct cf_cb *cb;
	void *ret;
	void **args;
};

struct cf_pin {
	oop o;    /* pinned: it does not move while counted here */
	int n;    /* callouts in flight that pinned it */
};

struct cf_state {
	void **libs;             /* dlopen handles, by ExternalLibrary handle - 1 */
	int nlibs, caplibs;
	struct cf_fn **fns;     /* by ExternalFunction handle - 1 */
	int nfns, capfns;
	struct cf_cb **cbs;     /* by Callback handle - 1; NULL once freed */
	int ncbs, capcbs;
	struct cf_pin *pins;
	int npins, cappins;
};

struct cf_state *cf_state(struct st_vm *vm); /* made on first use */

/* Fixed instance variables of the kernel classes (st/kernel/70-FFI.st). */
enum { LIB_HANDLE, LIB_NAME };
enum { FN_HANDLE, FN_MODE, FN_NAME };
enum { CB_HANDLE, CB_PRIORITY, CB_BLOCK, CB_RUNNER };
#define CF_THREADED 0
#define CF_UNTHREADED 1
#define CF_BLOCKING 2
#define CF_RING 3 /* queued on the VM's event loop (ffi_ring.c) */

/* ExternalAddress: a raw object of two words, the address and flags. */
enum { EA_ADDR, EA_FLAGS, EA_SIZE };
#define EA_OWNED 0x1 /* answered by allocate: */
#define EA_FREED 0x2 /* free has been sent: the address is 0 now */

/* ---- vm/ffi/ffi_types.c ----------------------------------------------------- */

/* The kind named by Symbol [sym], or -1. */
int cf_kind_of(oop sym);
/* Checks a signature: result [rtype], arguments [types]; [cb]: for a
 * Callback. Fills kinds; answers the argument count, or -1 after
 * cf_fail() with [who] as the message prefix. */
int cf_signature(struct st_vm *vm, const char *who, oop rtype, oop types, int cb,
		  uint8_t *rkind, uint8_t *kinds);
/* The text "an Integer in MIN..MAX" etc. of what a kind accepts. */
void cf_expected(int kind, char *buf, size_t n);
/* Converts [o] for a scalar kind (not #string or #bytes) into [v];
 * 0: o is not acceptable. */
int cf_to_c(struct st_vm *vm, int kind, oop o, union cf_val *v);
/* The oop for a C value of [kind] (allocates: a root-safe caller); 0: no
 * memory. [v] holds the value as libffi leaves a result (small integers
 * widened). */
oop cf_from_c(struct st_vm *vm, int kind, const union cf_val *v);
/* A new ExternalAddress. */
oop cf_new_address(struct st_vm *vm, void *p, unsigned flags);
int cf_is_address(oop o);
void *cf_address(oop o);
/* Integer value of [o] as a 64-bit magnitude and sign; 0 if it is not an
 * Integer or does not fit 64 bits. */
int cf_int_parts(oop o, int *neg, uint64_t *mag);

/* ---- vm/ffi/ffi_call.c ------------------------------------------------------ */

int cf_open_lib(struct st_vm *vm, oop name);
int cf_define(struct st_vm *vm, oop lib, oop name, oop rtype, oop types);
/* The function an ExternalFunction names, and its mode; NULL: none. */
const struct cf_fn *cf_fn_of(struct st_vm *vm, oop fo, int *mode);

/* ---- vm/ffi/ffi_cb.c -------------------------------------------------------- */

struct cf_cb *cf_cb_new(struct st_vm *vm, oop obj, int rkind, const uint8_t *kinds, int nargs);
/* Smalltalk's free: at once, or by the last activation still running it. */
void cf_cb_free(struct st_vm *vm, struct cf_cb *cb);
/* Takes [cb] out of the table and releases it now (and at VM teardown). */
void cf_cb_destroy(struct st_vm *vm, struct cf_cb *cb);

#endif /* BATON_VM_FFI_PRIV_H */
