// SPDX-License-Identifier: MIT
/*
 * vm/interp.c: the bytecode interpreter: dispatch (computed goto), sends
 * through inline caches and a global method cache, superinstructions,
 * frames on per-process stacks, closures, non-local return, the
 * primitives that push or cut frames, process switches. Runs only on the
 * thread that owns the VM. Keeps no raw object pointer across an
 * allocation except into pinned bytecodes and literals.
 * See Documentation/vm/interpreter.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "vm/bytecode.h"
#include "vm/ctx.h"
#include "vm/hydra/hydra.h"
#include "vm/interp.h"
#include "vm/sched.h"

/* GCC merges the dispatch jumps of a computed-goto interpreter back into
 * one (cross-jumping, GCSE), which costs a third of the speed here; its
 * vectorizer packs sp and fp into one SSE register and unpacks them at
 * every dispatch, which costs another third. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-crossjumping", "no-gcse", "no-tree-slp-vectorize", "no-tree-vectorize")
#endif


#define STACK_SLACK 32          /* room primitives may use beyond a frame */

#define LITS_OF(m) obj_body(obj_body(m)[CM_LITS])
#define BYTES_OF(m) obj_bytes(obj_body(m)[CM_BYTES])
#define HDR_OF(m) obj_int(obj_body(m)[CM_HEADER])
#define FLAGS(f) obj_int((f)[FH_FLAGS])
#define MARKS(f) ((FLAGS(f) >> 8) & 0xff)

/* FH_CALLER_FP holds the distance in slots from a frame down to its
 * caller's (0: none), so a return needs no stack base. */
oop *interp_frame_caller(struct st_proc *p, oop *fp)
{
	(void)p;
	intptr_t c = obj_int(fp[FH_CALLER_FP]);
	return c ? fp - c : NULL;
}

int interp_method_line(struct st_vm *vm, oop meth, uint8_t *ip)
{
	(void)vm;
	oop lt = obj_body(meth)[CM_LINES];
	uint8_t *b = obj_bytes(lt);
	size_t n = obj_byte_size(lt) / 4;
	size_t pc = (size_t)(ip - BYTES_OF(meth));
	int line = 0;
	/* the last entry at or before the instruction that was executing */
	for (size_t i = 0; i < n; i++) {
		unsigned epc = b[4 * i] | b[4 * i + 1] << 8;
		if (epc > pc)
			break;
		line = b[4 * i + 2] | b[4 * i + 3] << 8;
	}
	return line;
}

void interp_put_name(FILE *f, struct st_vm *vm, oop cls)
{
	if (obj_cls(cls) == CI_METACLASS) {
		interp_put_name(f, vm, st_slot(cls, CLS_THIS));
		fputs(" class", f);
		return;
	}
	oop n = st_slot(cls, CLS_NAME);
	if (obj_is_ptr(n) && obj_fmt(n) == OBJ_FMT_BYTES) {
		fwrite(obj_bytes(n), 1, obj_byte_size(n), f);
		return;
	}
	/* a nameless class (Behavior new): the first named one above, in braces */
	int depth = 0;
	for (oop c = st_slot(cls, CLS_SUPER); obj_is_ptr(c) && c != vm->nil && depth < 1000;
	     c = st_slot(c, CLS_SUPER), depth++) {
		n = st_slot(c, CLS_NAME);
		if (obj_is_ptr(n) && obj_fmt(n) == OBJ_FMT_BYTES) {
			fputc('{', f);
			fwrite(obj_bytes(n), 1, obj_byte_size(n), f);
			fputc('}', f);
			return;
		}
	}
	fputs(depth || st_slot(cls, CLS_SUPER) == vm->nil ? "{nil}" : "?", f);
}

/* Is the frame's receiver an Exception, or an Exception class? */
static int is_exception_frame(struct st_vm *vm, oop *f)
{
	if (!vm->exc_index) {
		oop e = st_global(vm, "Exception");
		if (e == vm->nil)
			return 0;
		vm->exc_index = st_class_index(e);
	}
	oop r = f[FH_RECV];
	if (obj_is_int(r))
		return 0;
	oop c = vm->classes[obj_cls(r)];
	if (obj_cls(c) == CI_METACLASS)
		c = r; /* r is a class: look at r itself */
	for (; obj_is_ptr(c) && c != vm->nil; c = st_slot(c, CLS_SUPER))
		if (c == vm->classes[vm->exc_index])
			return 1;
	return 0;
}

/* A trace longer than this shows its first and last TRACE_KEEP frames and
 * counts the ones between: a StackOverflow has a hundred thousand. */
#define TRACE_KEEP 10

static void put_frame(struct st_vm *vm, oop m, uint8_t *ip)
{
	intptr_t h = HDR_OF(m);
	if (vm->err_prefix) /* a head of Hydra: "head N: " */
		fputs(vm->err_prefix, stderr);
	fputs("\tat ", stderr);
	if (h & CMH_BLOCK)
		fputs("[] in ", stderr);
	interp_put_name(stderr, vm, obj_body(m)[CM_CLASS]);
	oop sel = obj_body(m)[CM_SELECTOR];
	fputs(">>", stderr);
	fwrite(obj_bytes(sel), 1, obj_byte_size(sel), stderr);
	oop file = obj_body(m)[CM_FILE];
	fputs(" (", stderr);
	if (obj_is_ptr(file) && obj_fmt(file) == OBJ_FMT_BYTES)
		fwrite(obj_bytes(file), 1, obj_byte_size(file), stderr);
	/* ip is past the instruction: look it up one byte back */
	fprintf(stderr, ":%d)\n", interp_method_line(vm, m, ip - 1));
}

/* Walks the frames from [from] down, leaving out the exception machinery on
 * top and hidden methods; if [print], prints those numbered [0, lo) and
 * [hi, ...) and a count for the rest. Answers how many there are. */
static size_t walk_trace(struct st_vm *vm, struct st_proc *p, oop *from, int print, size_t lo,
			 size_t hi)
{
	uint8_t *ip = p->ip;
	int skipping = 1, started = 0;
	size_t n = 0;
	for (oop *f = p->fp; f;) {
		oop m = f[FH_METHOD];
		oop *caller = interp_frame_caller(p, f);
		uint8_t *cip = (uint8_t *)obj_int(f[FH_CALLER_IP]);
		if (f == from)
			started = 1;
		if (started && skipping && !is_exception_frame(vm, f))
			skipping = 0;
		if (started && !skipping && !(HDR_OF(m) & CMH_HIDDEN)) {
			if (!print)
				;
			else if (n < lo || n >= hi)
				put_frame(vm, m, ip);
			else if (n == lo)
				fprintf(stderr, "%s\t... %zu more frames ...\n",
					vm->err_prefix ? vm->err_prefix : "", hi - lo);
			n++;
		}
		/* a unit's frames end at its doit: the driver below is not the
		 * program's (st/kernel/87-FileIn.st) */
		if (started && (HDR_OF(m) & CMH_UNIT))
			break;
		ip = cip;
		f = caller;
	}
	return n;
}

/* One line per frame from frame [from] down, "\tat Class>>sel (file:line)";
 * a long trace is cut in the middle. */
void interp_print_trace(struct st_vm *vm, struct st_proc *p, oop *from)
{
	st_out_flush(vm);
	size_t n = walk_trace(vm, p, from, 0, 0, 0);
	flockfile(stderr); /* other heads write there too */
	if (n > 2 * TRACE_KEEP + 1)
		walk_trace(vm, p, from, 1, TRACE_KEEP, n - TRACE_KEEP);
	else
		walk_trace(vm, p, from, 1, n, n);
	fflush(stderr);
	funlockfile(stderr);
}

/*
 * The global method cache: the slot of (class index, selector). The last
 * slot is never used for methods: it is the canary of the inline caches.
 */
#define MC_CANARY (ST_MCACHE - 1)
static inline struct st_mcache *mc_slot(struct st_vm *vm, uint32_t ci, oop sel)
{
	size_t h = ((sel >> 4) ^ ((uintptr_t)ci * 0x9e3779b1u)) & (ST_MCACHE - 1);
	return &vm->mcache[h - (h == MC_CANARY)];
}

/* A miss in slot [e]: the class-chain lookup, remembered there. */
static __attribute__((noinline)) oop lookup_miss(struct st_vm *vm, uint32_t ci, oop sel,
						 struct st_mcache *e)
{
	oop m = st_lookup(vm, vm->classes[ci], sel);
	if (m) {
		e->cls = ci;
		e->sel = sel;
		e->meth = m;
	}
	return m;
}

/*
 * Inline caches. SEND0..2 own three literals: the selector, a key and the
 * method last found for it. The key is a SmallInteger, epoch << 32 | class
 * index; a cache is valid while its epoch is the current one. Every
 * st_flush_cache() (a method installed, a class changed or a collection)
 * must end the epoch. st_flush_cache() zeroes vm->mcache and knows nothing
 * of epochs, so the interpreter keeps a canary in the last slot of
 * vm->mcache and, where the cache may have been flushed (after a generic
 * primitive, after DECL, when interp_run() starts), starts a new epoch if
 * the canary is gone. vm->mcache_used holds the epoch (30 bits). Between
 * those points only collections can flush the cache, and they change no
 * method: the caches stay right until the next check.
 */
#define IC_EPOCH_MASK 0x3fffffff
static __attribute__((noinline)) void ic_new_epoch(struct st_vm *vm)
{
	struct st_mcache *c = &vm->mcache[MC_CANARY];
	vm->mcache_used = (int)(((unsigned)vm->mcache_used + 1) & IC_EPOCH_MASK);
	c->cls = UINT32_MAX;
	c->sel = obj_from_int(0); /* never a selector */
	c->meth = obj_from_int(0);
}
/* The key of class index 0 in the current epoch (add ci << 1). */
static inline oop ic_base(struct st_vm *vm)
{
	if (st_unlikely(vm->mcache[MC_CANARY].sel != obj_from_int(0)))
		ic_new_epoch(vm);
	return obj_from_int((intptr_t)vm->mcache_used << 32);
}

/* Fills the inline cache [ic] (in the literal array [lits] points into). */
static void ic_fill(struct st_vm *vm, oop *lits, oop *ic, oop key, oop meth)
{
	ic[1] = key;
	ic[2] = meth;
	gc_wb(&vm->gc, (oop)lits - OBJ_HDR_BYTES, meth);
}

/* The method for [sel] in class [ci], through the global cache. */
static inline oop lookup(struct st_vm *vm, uint32_t ci, oop sel)
{
	struct st_mcache *e = mc_slot(vm, ci, sel);
	if (st_likely(e->cls == ci && e->sel == sel))
		return e->meth;
	return lookup_miss(vm, ci, sel, e);
}

/* Arguments a selector takes. */
static int sel_nargs(oop s)
{
	size_t n = obj_byte_size(s);
	uint8_t *b = obj_bytes(s);
	if (n && !((b[0] >= 'a' && b[0] <= 'z') || (b[0] >= 'A' && b[0] <= 'Z') || b[0] == '_'))
		return 1;
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += b[i] == ':';
	return k;
}

/* The generic primitives, by number. */
static prim_fn generic_prim(int n)
{
	int i = n - PRIM_GENERIC;
	return i >= 0 && i < prim_count() ? prim_table[i].fn : NULL;
}

int interp_run(struct st_vm *vm, baton_thread *t)
{
	static const void *const labels[OP_COUNT] = {
#define OP(n, b, e, c) [OP_##n] = &&L_##n,
#define SI(n, c, ...) [OP_##n] = &&L_##n,
#include "vm/opcodes.h"
#undef SI
#undef OP
	};
	/* The registers: ip, sp, fp, lits (and vm). Everything else is loaded
	 * where it is needed, so that the compiler keeps these five in
	 * callee-saved registers across the whole loop. */
	uint8_t *ip;
	oop *sp, *fp, *lits;
	oop *slim;            /* stack limit for frame pushes (STACK_SLACK below the end) */
	struct st_proc *proc; /* vm->active while running */
	oop sel = 0, meth = 0, res = 0;
	oop dnu_start = 0; /* a super send's lookup class, for Message>>startingClass */
	oop icbase;           /* ic_base(): refreshed where methods may change */
	int nargs = 0;
	intptr_t h;

#define NIL (vm->nil)
#define TRU (vm->true_)
#define FLS (vm->false_)
/* A heartbeat tick, a timer or a waiting thread wants the VM. */
#define POLL() st_unlikely(baton_interrupted(vm->core))
#define LOAD()                                                                 \
	do {                                                                   \
		proc = vm->active;                                             \
		sp = proc->sp;                                                 \
		fp = proc->fp;                                                 \
		ip = proc->ip;                                                 \
		lits = LITS_OF(fp[FH_METHOD]);                                 \
		slim = proc->stack + proc->cap - STACK_SLACK;                  \
	} while (0)
#define SAVE()                                                                 \
	do {                                                                   \
		proc->sp = sp;                                                 \
		proc->fp = fp;                                                 \
		proc->ip = ip;                                                 \
	} while (0)
#ifdef ST_COUNT_BYTECODES
#define NEXT() do { vm->bytecodes++; goto *labels[*ip++]; } while (0)
#else
#define NEXT() goto *labels[*ip++]
#endif
#define PUSH(x) (*++sp = (x))
#define U16() (ip += 2, (unsigned)ip[-2] | (unsigned)ip[-1] << 8)
#define S16(p) ((int16_t)((p)[0] | (p)[1] << 8))
/* Taken jumps: a backward one polls, and the poll resumes at the target. */
#define JUMP_BY(d)                                                             \
	do {                                                                   \
		int jd_ = (d);                                                 \
		ip += jd_;                                                     \
		if (jd_ < 0 && POLL())                                         \
			goto interrupt;                                        \
	} while (0)
/* An unwind cut the stack back to index [i]: a handled StackOverflow ends. */
#define SETTLE(i)                                                              \
	do {                                                                   \
		if (st_unlikely(proc->ovf)) {                                  \
			sched_settle_stack(proc, (size_t)(i));                 \
			slim = proc->stack + proc->cap - STACK_SLACK;          \
		}                                                              \
	} while (0)
/* The process just loaded was interrupted (sched_interrupt): it sends
 * itself signalInterrupt before going on. */
#define CHECK_INTR()                                                           \
	do {                                                                   \
		if (st_unlikely(proc->intr))                                   \
			goto interrupted;                                      \
	} while (0)
/* Room for [n] more slots above sp (moves the stack: sp and fp follow). */
#define ENSURE_STACK(n)                                                        \
	do {                                                                   \
		if (st_unlikely(sp + (n) >= slim)) {                           \
			size_t spi_ = (size_t)(sp - proc->stack);              \
			size_t fpi_ = (size_t)(fp - proc->stack);              \
			if (!sched_grow_stack(vm, proc, spi_ + (size_t)(n) + STACK_SLACK)) \
				goto stack_overflow;                           \
			sp = proc->stack + spi_;                               \
			fp = proc->stack + fpi_;                               \
			slim = proc->stack + proc->cap - STACK_SLACK;          \
		}                                                              \
	} while (0)

	if (!vm->active) {
		proc = sched_pick(vm);
		if (!proc)
			return INTERP_IDLE;
		vm->active = proc;
		proc->state = PS_RUNNING;
	}
	LOAD();
	if (ST_TRACING(vm))
		sched_trace_run(vm, t, proc);
	icbase = ic_base(vm);
	CHECK_INTR();
	NEXT();

L_PUSH_SELF:
	PUSH(fp[FH_RECV]);
	NEXT();
L_PUSH_NIL:
	PUSH(NIL);
	NEXT();
L_PUSH_TRUE:
	PUSH(TRU);
	NEXT();
L_PUSH_FALSE:
	PUSH(FLS);
	NEXT();
L_PUSH_INT:
	PUSH(obj_from_int((int8_t)*ip++));
	NEXT();
L_PUSH_LOCAL:
	PUSH(fp[(int8_t)*ip++]);
	NEXT();
L_PUSH_LOCAL2:
	sp[1] = fp[(int8_t)ip[0]];
	sp[2] = fp[(int8_t)ip[1]];
	sp += 2;
	ip += 2;
	NEXT();
L_STORE_LOCAL:
	fp[(int8_t)*ip++] = *sp;
	NEXT();
L_POP_LOCAL:
	fp[(int8_t)*ip++] = *sp--;
	NEXT();
L_PUSH_IVAR:
	PUSH(obj_body(fp[FH_RECV])[*ip++]);
	NEXT();
L_STORE_IVAR:
	gc_store(&vm->gc, fp[FH_RECV], *ip++, *sp);
	NEXT();
L_POP_IVAR:
	gc_store(&vm->gc, fp[FH_RECV], *ip++, *sp);
	sp--;
	NEXT();
L_PUSH_LIT:
	PUSH(lits[U16()]);
	NEXT();
L_PUSH_GLOBAL:
	PUSH(obj_body(lits[U16()])[ASSOC_VALUE]);
	NEXT();
L_STORE_GLOBAL:
	gc_store(&vm->gc, lits[U16()], ASSOC_VALUE, *sp);
	NEXT();
L_POP_GLOBAL:
	gc_store(&vm->gc, lits[U16()], ASSOC_VALUE, *sp);
	sp--;
	NEXT();
L_PUSH_OUTER: {
	oop e = fp[FH_ENV];
	for (int d = *ip++; d > 0; d--)
		e = obj_body(e)[ENV_OUTER];
	PUSH(obj_body(e)[*ip++]);
	NEXT();
}
L_STORE_OUTER:
L_POP_OUTER: {
	int pop = ip[-1] == OP_POP_OUTER;
	oop e = fp[FH_ENV];
	for (int d = *ip++; d > 0; d--)
		e = obj_body(e)[ENV_OUTER];
	gc_store(&vm->gc, e, *ip++, *sp);
	sp -= pop;
	NEXT();
}
L_POP:
	sp--;
	NEXT();
L_DUP:
	sp[1] = sp[0];
	sp++;
	NEXT();

/* ---- sends ---------------------------------------------------------------- */

/* The frame of method [meth] (header [h]) for a send with N arguments. */
#define PUSH_FRAME(N)                                                          \
	do {                                                                   \
		oop *nfp_ = sp + 1;                                            \
		int nt_ = (int)CMH_NTEMPS(h);                                  \
		if (st_unlikely(nfp_ + FH_SIZE + nt_ + CMH_STACK(h) >= slim)) { \
			ENSURE_STACK(FH_SIZE + nt_ + (int)CMH_STACK(h) + 1);   \
			nfp_ = sp + 1;                                         \
		}                                                              \
		sp = push_frame(vm, nfp_, meth, sp[-(N)], fp, ip, NIL, NIL, (N), nt_); \
		fp = nfp_;                                                     \
		ip = BYTES_OF(meth);                                           \
		lits = LITS_OF(meth);                                          \
	} while (0)
/* SEND0..2: the argument count is a constant of the handler, and the
 * method comes from the send site's inline cache. */
#define SEND_N(N)                                                              \
	L_SEND##N: {                                                           \
		if (POLL()) {                                                  \
			ip--;                                                  \
			goto interrupt;                                        \
		}                                                              \
		oop *ic_ = &lits[ip[0] | ip[1] << 8];                          \
		oop key_ = icbase + ((oop)st_cls_index(sp[-(N)]) << 1);        \
		ip += 3;                                                       \
		nargs = (N);                                                   \
		if (st_likely(ic_[1] == key_)) {                               \
			meth = ic_[2];                                         \
		} else {                                                       \
			sel = ic_[0];                                          \
			meth = lookup(vm, st_cls_index(sp[-(N)]), sel);        \
			if (st_unlikely(!meth))                                \
				goto dnu;                                      \
			ic_fill(vm, lits, ic_, key_, meth);                    \
		}                                                              \
		h = HDR_OF(meth);                                              \
		if (st_unlikely(CMH_PRIM(h)))                                  \
			goto primitive;                                        \
		PUSH_FRAME(N);                                                 \
		NEXT();                                                        \
	}
	SEND_N(0)
	SEND_N(1)
	SEND_N(2)

L_SEND:
	if (POLL()) {
		ip--;
		goto interrupt;
	}
	sel = lits[ip[0] | ip[1] << 8];
	nargs = ip[2];
	ip += 3;
send: { /* sel, nargs; receiver and arguments on the stack */
	uint32_t ci = st_cls_index(sp[-nargs]);
	struct st_mcache *e = mc_slot(vm, ci, sel);
	if (st_likely(e->cls == ci && e->sel == sel)) {
		meth = e->meth;
	} else {
		meth = lookup_miss(vm, ci, sel, e);
		if (st_unlikely(!meth))
			goto dnu;
	}
}
activate: /* meth, nargs; receiver and arguments on the stack */
	h = HDR_OF(meth);
	if (st_unlikely(CMH_PRIM(h)))
		goto primitive;
frame: /* meth, h, nargs: push a method frame */
	PUSH_FRAME(nargs);
	NEXT();
L_SUPER: {
	if (POLL()) {
		ip--;
		goto interrupt;
	}
	sel = lits[ip[0] | ip[1] << 8];
	nargs = ip[2];
	ip += 3;
	oop mc = obj_body(fp[FH_METHOD])[CM_CLASS];
	oop sup = st_slot(mc, CLS_SUPER);
	if (sup == NIL)
		goto dnu;
	meth = lookup(vm, st_class_index(sup), sel);
	if (!meth) {
		dnu_start = sup;
		goto dnu;
	}
	goto activate;
}

primitive: { /* meth, h, nargs: a method with a primitive */
	int pn = (int)CMH_PRIM(h);
	if (pn >= PRIM_GENERIC) {
		prim_fn fn = generic_prim(pn);
		SAVE();
		unsigned roots0 = vm->nroots;
		int r = fn ? fn(vm, sp - nargs, nargs) : PRIM_FAIL;
		ST_ROOTS_BALANCED(vm, roots0, "a primitive");
		(void)roots0;
		icbase = ic_base(vm); /* it may have installed methods */
		if (st_likely(r == PRIM_OK)) {
			sp -= nargs;
			NEXT();
		}
		if (r == PRIM_SWITCH) {
			if (vm->active == proc) {
				sp -= nargs;
				SAVE();
			}
			goto reschedule;
		}
		if (r == PRIM_OOM) {
			sp -= nargs;
			sp[0] = proc->self;
			sel = vm->syms[SY_OOM];
			nargs = 0;
			goto send;
		}
		if (r == PRIM_QUIT) {
			SAVE();
			return INTERP_QUIT;
		}
		/* failed: a callout may have switched threads; reload */
		LOAD();
		h = HDR_OF(meth);
		goto frame;
	}
	intptr_t marks = 0;
	switch (pn) {
	case PRIM_blockValue:
		if (obj_is_ptr(sp[-nargs]) && obj_cls(sp[-nargs]) == CI_BLOCK &&
		    CMH_NARGS(HDR_OF(obj_body(sp[-nargs])[BC_CODE])) == nargs)
			goto block_activate;
		break;
	case PRIM_blockValueArgs: {
		oop blk = sp[-1], arr = sp[0];
		if (obj_is_ptr(blk) && obj_cls(blk) == CI_BLOCK && obj_is_ptr(arr) &&
		    obj_cls(arr) == CI_ARRAY &&
		    CMH_NARGS(HDR_OF(obj_body(blk)[BC_CODE])) == (intptr_t)obj_slots(arr)) {
			int n = (int)obj_slots(arr);
			ENSURE_STACK(n);
			arr = *sp--;
			for (int i = 0; i < n; i++)
				PUSH(obj_body(arr)[i]);
			nargs = n;
			goto block_activate;
		}
		break;
	}
	case PRIM_perform: {
		oop s = sp[-nargs + 1];
		if (obj_is_ptr(s) && obj_cls(s) == CI_SYMBOL && sel_nargs(s) == nargs - 1) {
			/* drop the selector: shift the arguments down */
			oop *a = sp - nargs + 1;
			for (int i = 0; i < nargs - 1; i++)
				a[i] = a[i + 1];
			sp--;
			nargs--;
			sel = s;
			goto send;
		}
		break;
	}
	case PRIM_performArgs: {
		oop s = sp[-1], arr = sp[0];
		if (obj_is_ptr(s) && obj_cls(s) == CI_SYMBOL && obj_is_ptr(arr) &&
		    obj_cls(arr) == CI_ARRAY && sel_nargs(s) == (int)obj_slots(arr)) {
			int n = (int)obj_slots(arr);
			ENSURE_STACK(n);
			arr = sp[0];
			s = sp[-1];
			sp -= 2;
			for (int i = 0; i < n; i++)
				PUSH(obj_body(arr)[i]);
			nargs = n;
			sel = s;
			goto send;
		}
		break;
	}
	case PRIM_returnFrom: {
		/* Process>>primReturnFrom: aContext value: v — a live context of
		 * the receiver, which must be the active process */
		struct st_proc *cp = NULL;
		SAVE();
		oop *f = ctx_frame(vm, sp[-1], &cp);
		if (f && cp == proc && sp[-2] == proc->self) {
			res = sp[0];
			SETTLE(f - proc->stack);
			fp = f;
			goto do_return;
		}
		break;
	}
	case PRIM_restartFrame: {
		/* Process>>primRestartFrame: aContext (as above) */
		struct st_proc *cp = NULL;
		SAVE();
		oop *f = ctx_frame(vm, sp[0], &cp);
		if (f && cp == proc && sp[-1] == proc->self) {
			SETTLE(f - proc->stack);
			fp = f;
			oop m = fp[FH_METHOD];
			intptr_t mh = HDR_OF(m);
			fp[FH_FLAGS] = obj_from_int(FLAGS(fp) & ~((intptr_t)(FF_DONE | FF_DISABLED) << 8));
			if (fp[FH_CLOSURE] == NIL)
				fp[FH_ENV] = NIL;
			else
				fp[FH_ENV] = obj_body(fp[FH_CLOSURE])[BC_OUTER];
			sp = fp + FH_SIZE - 1;
			for (int i = 0; i < (int)CMH_NTEMPS(mh); i++)
				PUSH(NIL);
			ip = BYTES_OF(m);
			lits = LITS_OF(m);
			NEXT();
		}
		break;
	}
	case PRIM_methodValueWithReceiver: {
		/* CompiledMethod>>valueWithReceiver: r withArguments: array */
		oop m = sp[-2], arr = sp[0];
		if (obj_is_ptr(arr) && obj_cls(arr) == CI_ARRAY &&
		    CMH_NARGS(HDR_OF(m)) == (intptr_t)obj_slots(arr)) {
			int n = (int)obj_slots(arr);
			ENSURE_STACK(n);
			arr = sp[0];
			m = sp[-2];
			sp[-2] = sp[-1]; /* receiver */
			sp -= 2;
			for (int i = 0; i < n; i++)
				PUSH(obj_body(arr)[i]);
			nargs = n;
			meth = m;
			h = HDR_OF(meth);
			if (CMH_PRIM(h))
				goto primitive;
			goto frame;
		}
		break;
	}
	case PRIM_blockNumArgs:
		sp[0] = obj_from_int(CMH_NARGS(HDR_OF(obj_body(sp[0])[BC_CODE])));
		NEXT();
	case PRIM_markHandler:
		marks = FF_HANDLER;
		break;
	case PRIM_markEnsure:
		marks = FF_ENSURE;
		break;
	case PRIM_markCurtail:
		marks = FF_CURTAIL;
		break;
	default:
		break;
	}
	if (!marks)
		goto frame;
	/* on:do:, ensure:, ifCurtailed: run their body marked */
	oop *nfp = sp + 1;
	int nt = (int)CMH_NTEMPS(h);
	ENSURE_STACK(FH_SIZE + nt + (int)CMH_STACK(h) + 1);
	nfp = sp + 1;
	sp = push_frame(vm, nfp, meth, sp[-nargs], fp, ip, NIL, NIL, nargs | marks << 8, nt);
	fp = nfp;
	ip = BYTES_OF(meth);
	lits = LITS_OF(meth);
	NEXT();
}

block_activate: { /* closure at sp[-nargs], argument count checked */
	oop blk = sp[-nargs];
	meth = obj_body(blk)[BC_CODE];
	h = HDR_OF(meth);
	oop *nfp = sp + 1;
	int nt = (int)CMH_NTEMPS(h);
	if (st_unlikely(nfp + FH_SIZE + nt + CMH_STACK(h) >= slim)) {
		ENSURE_STACK(FH_SIZE + nt + (int)CMH_STACK(h) + 1);
		nfp = sp + 1;
		blk = sp[-nargs];
	}
	sp = push_frame(vm, nfp, meth, obj_body(blk)[BC_RECEIVER], fp, ip, blk,
			obj_body(blk)[BC_OUTER], nargs, nt);
	fp = nfp;
	ip = BYTES_OF(meth);
	lits = LITS_OF(meth);
	NEXT();
}

dnu: { /* sel, nargs: no method; send doesNotUnderstand: aMessage */
	SAVE();
	oop msg = st_alloc(vm, CI_MESSAGE, OBJ_FMT_PTRS, MSG_SIZE, 0);
	if (!msg)
		goto out_of_memory;
	ST_ROOT(vm, msg);
	oop args = st_new_array(vm, (size_t)nargs);
	ST_UNROOT(vm, 1);
	if (!args)
		goto out_of_memory;
	for (int i = 0; i < nargs; i++)
		obj_body(args)[i] = sp[-nargs + 1 + i];
	st_put(vm, msg, MSG_SELECTOR, sel);
	st_put(vm, msg, MSG_ARGS, args);
	st_put(vm, msg, MSG_CLASS, dnu_start ? dnu_start : st_class_of(vm, sp[-nargs]));
	dnu_start = 0;
	sp -= nargs;
	PUSH(msg);
	nargs = 1;
	meth = lookup(vm, st_cls_index(sp[-1]), vm->syms[SY_DNU]);
	if (!meth) {
		st_out_flush(vm);
		fprintf(stderr, "baton: doesNotUnderstand: is not understood\n");
		exit(EX_SOFTWARE);
	}
	goto activate;
}

/* ---- special sends: SmallInteger and Array fast paths ------------------ */

#define SPECIAL(ss, n)                                                         \
	do {                                                                   \
		sel = vm->special_sels[ss];                                    \
		nargs = (n);                                                   \
		goto send;                                                     \
	} while (0)
#define BOTH_INT() (obj_is_int(sp[-1]) & obj_is_int(sp[0]))

L_ADD: {
	intptr_t r;
	if (BOTH_INT() && !__builtin_add_overflow((intptr_t)sp[-1], (intptr_t)sp[0] - 1, &r)) {
		*--sp = (oop)r;
		NEXT();
	}
	SPECIAL(SS_PLUS, 1);
}
L_SUB: {
	intptr_t r;
	if (BOTH_INT() && !__builtin_sub_overflow((intptr_t)sp[-1], (intptr_t)sp[0] - 1, &r)) {
		*--sp = (oop)r;
		NEXT();
	}
	SPECIAL(SS_MINUS, 1);
}
L_MUL: {
	intptr_t r;
	if (BOTH_INT() && !__builtin_mul_overflow(obj_int(sp[-1]), (intptr_t)sp[0] - 1, &r)) {
		*--sp = (oop)(r | 1);
		NEXT();
	}
	SPECIAL(SS_TIMES, 1);
}
/* Comparisons. Tagged SmallIntegers compare like their values. */
#define CMP(name, op, ss)                                                      \
	L_##name:                                                              \
	if (BOTH_INT()) {                                                      \
		sp[-1] = (intptr_t)sp[-1] op(intptr_t) sp[0] ? TRU : FLS;      \
		sp--;                                                          \
		NEXT();                                                        \
	}                                                                      \
	SPECIAL(ss, 1);
	CMP(LT, <, SS_LT)
	CMP(GT, >, SS_GT)
	CMP(LE, <=, SS_LE)
	CMP(GE, >=, SS_GE)
	CMP(EQ, ==, SS_EQ)
	CMP(NE, !=, SS_NE)
/* A comparison followed by a conditional jump (superinstructions): no
 * Boolean is pushed and popped. ip is at the jump's opcode. */
#define CMP_J(name, op, j, want)                                                \
	L_##name##_##j:                                                        \
	if (BOTH_INT()) {                                                      \
		int c_ = (intptr_t)sp[-1] op(intptr_t) sp[0];                  \
		int d_ = S16(ip + SI_ARG(name##_##j, 1));                      \
		sp -= 2;                                                       \
		ip += SI_END(name##_##j);                                      \
		if (c_ == (want))                                     \
			JUMP_BY(d_);                                           \
		NEXT();                                                        \
	}                                                                      \
	goto L_##name;
	CMP_J(LT, <, JF, 0) CMP_J(GT, >, JF, 0) CMP_J(LE, <=, JF, 0)
	CMP_J(GE, >=, JF, 0) CMP_J(EQ, ==, JF, 0) CMP_J(NE, !=, JF, 0)
	CMP_J(LT, <, JT, 1) CMP_J(GT, >, JT, 1) CMP_J(LE, <=, JT, 1)
	CMP_J(GE, >=, JT, 1) CMP_J(EQ, ==, JT, 1) CMP_J(NE, !=, JT, 1)
/* Arithmetic and comparison with a small literal: the literal is the
 * operand byte; the slow path pushes it and sends. */
L_ADD_INT: {
	intptr_t r;
	if (obj_is_int(*sp) && !__builtin_add_overflow((intptr_t)*sp, (intptr_t)(int8_t)*ip * 2, &r)) {
		*sp = (oop)r;
		ip++;
		NEXT();
	}
	*++sp = obj_from_int((int8_t)*ip++);
	SPECIAL(SS_PLUS, 1);
}
L_SUB_INT: {
	intptr_t r;
	if (obj_is_int(*sp) && !__builtin_sub_overflow((intptr_t)*sp, (intptr_t)(int8_t)*ip * 2, &r)) {
		*sp = (oop)r;
		ip++;
		NEXT();
	}
	*++sp = obj_from_int((int8_t)*ip++);
	SPECIAL(SS_MINUS, 1);
}
#define CMP_INT(name, op, ss)                                                  \
	L_##name##_INT:                                                        \
	if (obj_is_int(*sp)) {                                                 \
		*sp = obj_int(*sp) op(int8_t) * ip ? TRU : FLS;                \
		ip++;                                                          \
		NEXT();                                                        \
	}                                                                      \
	*++sp = obj_from_int((int8_t)*ip++);                                   \
	SPECIAL(ss, 1);
	CMP_INT(LT, <, SS_LT)
	CMP_INT(GT, >, SS_GT)
	CMP_INT(LE, <=, SS_LE)
	CMP_INT(GE, >=, SS_GE)
	CMP_INT(EQ, ==, SS_EQ)
/* ip is at the literal byte, the jump follows it. */
#define CMP_INT_J(name, op, j, want)                                           \
	L_##name##_INT_##j:                                                    \
	if (obj_is_int(*sp)) {                                                 \
		int c_ = obj_int(*sp) op(int8_t) * ip;                         \
		int d_ = S16(ip + SI_ARG(name##_INT_##j, 1));                  \
		sp--;                                                          \
		ip += SI_END(name##_INT_##j);                                  \
		if (c_ == (want))                                     \
			JUMP_BY(d_);                                           \
		NEXT();                                                        \
	}                                                                      \
	goto L_##name##_INT;
	CMP_INT_J(LT, <, JF, 0) CMP_INT_J(GT, >, JF, 0) CMP_INT_J(LE, <=, JF, 0)
	CMP_INT_J(GE, >=, JF, 0) CMP_INT_J(EQ, ==, JF, 0)
	CMP_INT_J(LT, <, JT, 1) CMP_INT_J(GT, >, JT, 1) CMP_INT_J(LE, <=, JT, 1)
	CMP_INT_J(GE, >=, JT, 1) CMP_INT_J(EQ, ==, JT, 1)
L_DIV:
	if (BOTH_INT() && sp[0] != obj_from_int(0) && obj_int(sp[-1]) % obj_int(sp[0]) == 0 &&
	    sp[0] != obj_from_int(-1)) {
		sp[-1] = obj_from_int(obj_int(sp[-1]) / obj_int(sp[0]));
		sp--;
		NEXT();
	}
	SPECIAL(SS_DIVIDE, 1);
L_MOD:
	if (BOTH_INT() && (intptr_t)sp[0] > 1) {
		intptr_t a = obj_int(sp[-1]), b = obj_int(sp[0]), m = a % b;
		if (m < 0)
			m += b;
		*--sp = obj_from_int(m);
		NEXT();
	}
	SPECIAL(SS_MOD, 1);
L_IDIV:
	if (BOTH_INT() && (intptr_t)sp[0] > 1) {
		intptr_t a = obj_int(sp[-1]), b = obj_int(sp[0]), q = a / b;
		if ((a % b != 0) && (a < 0))
			q--;
		*--sp = obj_from_int(q);
		NEXT();
	}
	SPECIAL(SS_IDIV, 1);
L_BITAND:
	if (BOTH_INT()) {
		sp[-1] &= sp[0];
		sp--;
		NEXT();
	}
	SPECIAL(SS_BITAND, 1);
L_BITOR:
	if (BOTH_INT()) {
		sp[-1] |= sp[0];
		sp--;
		NEXT();
	}
	SPECIAL(SS_BITOR, 1);
L_BITSHIFT:
	if (BOTH_INT()) {
		intptr_t a = obj_int(sp[-1]), s = obj_int(sp[0]);
		if (s <= 0) {
			*--sp = obj_from_int(s > -64 ? a >> -s : (a < 0 ? -1 : 0));
			NEXT();
		}
		if (s < 62) {
			intptr_t r = (intptr_t)((uintptr_t)a << s);
			if ((r >> s) == a && obj_int_fits(r)) {
				*--sp = obj_from_int(r);
				NEXT();
			}
		}
	}
	SPECIAL(SS_BITSHIFT, 1);
L_AT: {
	oop r = sp[-1], i = sp[0];
	if (obj_is_ptr(r) && obj_is_int(i)) {
		uint32_t c = obj_cls(r);
		intptr_t k = obj_int(i) - 1;
		if (c == CI_ARRAY && (uintptr_t)k < obj_slots(r)) {
			*--sp = obj_body(r)[k];
			NEXT();
		}
		if (c == CI_STRING && (uintptr_t)k < obj_byte_size(r)) {
			*--sp = vm->chars[obj_bytes(r)[k]];
			NEXT();
		}
		if (c == CI_BYTEARRAY && (uintptr_t)k < obj_byte_size(r)) {
			*--sp = obj_from_int(obj_bytes(r)[k]);
			NEXT();
		}
	}
	SPECIAL(SS_AT, 1);
}
L_ATPUT: {
	oop r = sp[-2], i = sp[-1], v = sp[0];
	if (obj_is_ptr(r) && obj_is_int(i)) {
		uint32_t c = obj_cls(r);
		intptr_t k = obj_int(i) - 1;
		if (c == CI_ARRAY && (uintptr_t)k < obj_slots(r)) {
			gc_store(&vm->gc, r, (size_t)k, v);
			sp -= 2;
			*sp = v;
			NEXT();
		}
		if (c == CI_BYTEARRAY && (uintptr_t)k < obj_byte_size(r) && obj_is_int(v) &&
		    (uintptr_t)obj_int(v) < 256) {
			obj_bytes(r)[k] = (uint8_t)obj_int(v);
			sp -= 2;
			*sp = v;
			NEXT();
		}
	}
	SPECIAL(SS_ATPUT, 2);
}
L_SIZE: {
	oop r = sp[0];
	if (obj_is_ptr(r)) {
		uint32_t c = obj_cls(r);
		if (c == CI_ARRAY) {
			*sp = obj_from_int((intptr_t)obj_slots(r));
			NEXT();
		}
		if (c == CI_STRING || c == CI_SYMBOL || c == CI_BYTEARRAY) {
			*sp = obj_from_int((intptr_t)obj_byte_size(r));
			NEXT();
		}
	}
	SPECIAL(SS_SIZE, 0);
}
L_VALUE:
	if (obj_is_ptr(sp[0]) && obj_cls(sp[0]) == CI_BLOCK &&
	    CMH_NARGS(HDR_OF(obj_body(sp[0])[BC_CODE])) == 0) {
		nargs = 0;
		goto block_activate;
	}
	SPECIAL(SS_VALUE, 0);
L_VALUE1:
	if (obj_is_ptr(sp[-1]) && obj_cls(sp[-1]) == CI_BLOCK &&
	    CMH_NARGS(HDR_OF(obj_body(sp[-1])[BC_CODE])) == 1) {
		nargs = 1;
		goto block_activate;
	}
	SPECIAL(SS_VALUE1, 1);
L_ISNIL:
	*sp = *sp == NIL ? TRU : FLS;
	NEXT();
L_NOTNIL:
	*sp = *sp != NIL ? TRU : FLS;
	NEXT();
L_CLASS:
	*sp = st_class_of(vm, *sp);
	NEXT();
L_IDENT:
	sp[-1] = sp[-1] == sp[0] ? TRU : FLS;
	sp--;
	NEXT();

/* ---- superinstructions on locals (see quicken() in vm/comp.c) ----------- */

L_INC_LOCAL: { /* PUSH_LOCAL a; ADD_INT k; POP_LOCAL a */
	oop *v = &fp[(int8_t)ip[0]];
	intptr_t r;
	if (obj_is_int(*v) && !__builtin_add_overflow((intptr_t)*v, (intptr_t)(int8_t)ip[SI_ARG(INC_LOCAL, 1)] * 2, &r)) {
		*v = (oop)r;
		ip += SI_END(INC_LOCAL);
		NEXT();
	}
	goto L_PUSH_LOCAL;
}
L_FOR_LOOP: { /* INC_LOCAL a k; PUSH_LOCAL2 a b; LE (k > 0) or GE; JUMP_TRUE */
	oop *v = &fp[(int8_t)ip[0]];
	intptr_t k = (int8_t)ip[SI_ARG(FOR_LOOP, 1)], r;
	if (!obj_is_int(*v) || __builtin_add_overflow((intptr_t)*v, k * 2, &r))
		goto L_PUSH_LOCAL;
	*v = (oop)r;
	/* the limit is read after the step, as the sequence does */
	oop lim = fp[(int8_t)ip[SI_ARG(FOR_LOOP, 3) + 1]];
	if (st_unlikely(!obj_is_int(lim))) {
		ip += SI_OP(FOR_LOOP, 3); /* at PUSH_LOCAL2 */
		NEXT();
	}
	int go = k > 0 ? r <= (intptr_t)lim : r >= (intptr_t)lim;
	int d = S16(ip + SI_ARG(FOR_LOOP, 5));
	ip += SI_END(FOR_LOOP);
	if (go)
		JUMP_BY(d);
	NEXT();
}
L_ADD_LL_POP: { /* PUSH_LOCAL2 a b; ADD; POP_LOCAL c */
	oop a = fp[(int8_t)ip[0]], b = fp[(int8_t)ip[1]];
	intptr_t r;
	if ((obj_is_int(a) & obj_is_int(b)) && !__builtin_add_overflow((intptr_t)a, (intptr_t)b - 1, &r)) {
		fp[(int8_t)ip[SI_ARG(ADD_LL_POP, 2)]] = (oop)r;
		ip += SI_END(ADD_LL_POP);
		NEXT();
	}
	goto L_PUSH_LOCAL2;
}
L_SUB_LL_POP: { /* PUSH_LOCAL2 a b; SUB; POP_LOCAL c */
	oop a = fp[(int8_t)ip[0]], b = fp[(int8_t)ip[1]];
	intptr_t r;
	if ((obj_is_int(a) & obj_is_int(b)) && !__builtin_sub_overflow((intptr_t)a, (intptr_t)b - 1, &r)) {
		fp[(int8_t)ip[SI_ARG(SUB_LL_POP, 2)]] = (oop)r;
		ip += SI_END(SUB_LL_POP);
		NEXT();
	}
	goto L_PUSH_LOCAL2;
}
L_AT_LL: { /* PUSH_LOCAL2 a i; AT (Arrays only) */
	oop a = fp[(int8_t)ip[0]], i = fp[(int8_t)ip[1]];
	if (obj_is_ptr(a) && obj_is_int(i) && obj_cls(a) == CI_ARRAY &&
	    (uintptr_t)(obj_int(i) - 1) < obj_slots(a)) {
		PUSH(obj_body(a)[obj_int(i) - 1]);
		ip += SI_END(AT_LL);
		NEXT();
	}
	goto L_PUSH_LOCAL2;
}
L_ATPUT_POP: { /* ATPUT; POP: at:put: as a statement */
	oop r = sp[-2], i = sp[-1], v = sp[0];
	if (obj_is_ptr(r) && obj_is_int(i) && obj_cls(r) == CI_ARRAY &&
	    (uintptr_t)(obj_int(i) - 1) < obj_slots(r)) {
		gc_store(&vm->gc, r, (size_t)(obj_int(i) - 1), v);
		sp -= 3;
		ip += SI_END(ATPUT_POP);
		NEXT();
	}
	goto L_ATPUT;
}

/* A push, then the instruction after it without a dispatch: ip moves
 * past that instruction's opcode, as its handler expects. */
L_SELF_SEND0:
	PUSH(fp[FH_RECV]);
	ip += SI_ARG(SELF_SEND0, 1);
	goto L_SEND0;
L_SELF_ADD_INT:
	PUSH(fp[FH_RECV]);
	ip += SI_ARG(SELF_ADD_INT, 1);
	goto L_ADD_INT;
L_SELF_SUB_INT:
	PUSH(fp[FH_RECV]);
	ip += SI_ARG(SELF_SUB_INT, 1);
	goto L_SUB_INT;
L_SELF_LT_INT_JF:
	PUSH(fp[FH_RECV]);
	ip += SI_ARG(SELF_LT_INT_JF, 1);
	goto L_LT_INT_JF;
L_SELF_EQ_INT_JF:
	PUSH(fp[FH_RECV]);
	ip += SI_ARG(SELF_EQ_INT_JF, 1);
	goto L_EQ_INT_JF;
L_LOCAL_SEND0:
	PUSH(fp[(int8_t)*ip]);
	ip += SI_ARG(LOCAL_SEND0, 1);
	goto L_SEND0;
L_LOCAL_ADD_INT:
	PUSH(fp[(int8_t)*ip]);
	ip += SI_ARG(LOCAL_ADD_INT, 1);
	goto L_ADD_INT;
L_LOCAL_SUB_INT:
	PUSH(fp[(int8_t)*ip]);
	ip += SI_ARG(LOCAL_SUB_INT, 1);
	goto L_SUB_INT;
L_LOCAL_LT_INT_JF:
	PUSH(fp[(int8_t)*ip]);
	ip += SI_ARG(LOCAL_LT_INT_JF, 1);
	goto L_LT_INT_JF;
L_LOCAL_EQ_INT_JF:
	PUSH(fp[(int8_t)*ip]);
	ip += SI_ARG(LOCAL_EQ_INT_JF, 1);
	goto L_EQ_INT_JF;

/* at:put: statements on an Array in a local, index in a local. */
#define ATPUT_LL(value, len)                                                   \
	do {                                                                   \
		oop a_ = fp[(int8_t)ip[0]], i_ = fp[(int8_t)ip[1]];            \
		if (obj_is_ptr(a_) && obj_is_int(i_) && obj_cls(a_) == CI_ARRAY && \
		    (uintptr_t)(obj_int(i_) - 1) < obj_slots(a_)) {            \
			gc_store(&vm->gc, a_, (size_t)(obj_int(i_) - 1), (value)); \
			ip += (len);                                           \
			NEXT();                                                \
		}                                                              \
		goto L_PUSH_LOCAL2;                                            \
	} while (0)
L_ATPUT_LLC: /* PUSH_LOCAL2 a i; PUSH_NIL/TRUE/FALSE; ATPUT; POP */
	ATPUT_LL(ip[SI_OP(ATPUT_LLC, 1)] == OP_PUSH_NIL ? NIL
		 : ip[SI_OP(ATPUT_LLC, 1)] == OP_PUSH_TRUE ? TRU : FLS, SI_END(ATPUT_LLC));
L_ATPUT_LLL: /* PUSH_LOCAL2 a i; PUSH_LOCAL v; ATPUT; POP */
	ATPUT_LL(fp[(int8_t)ip[SI_ARG(ATPUT_LLL, 1)]], SI_END(ATPUT_LLL));
/* PUSH_LOCAL2 a b; comparison; conditional jump (ip[2] is the comparison,
 * ip[3] the jump, ip[4..5] its offset). */
#define LL_CMP_J(name, op, j, want)                                            \
	L_LL_##name##_##j: {                                                   \
		oop x_ = fp[(int8_t)ip[0]], y_ = fp[(int8_t)ip[1]];            \
		if (obj_is_int(x_) & obj_is_int(y_)) {                         \
			int c_ = (intptr_t)x_ op(intptr_t) y_;                 \
			int d_ = S16(ip + SI_ARG(LL_##name##_##j, 2));         \
			ip += SI_END(LL_##name##_##j);                         \
			if (c_ == (want))                                      \
				JUMP_BY(d_);                                   \
			NEXT();                                                \
		}                                                              \
		goto L_PUSH_LOCAL2;                                            \
	}
	LL_CMP_J(LT, <, JF, 0) LL_CMP_J(GT, >, JF, 0) LL_CMP_J(LE, <=, JF, 0)
	LL_CMP_J(GE, >=, JF, 0) LL_CMP_J(EQ, ==, JF, 0) LL_CMP_J(NE, !=, JF, 0)
	LL_CMP_J(LT, <, JT, 1) LL_CMP_J(GT, >, JT, 1) LL_CMP_J(LE, <=, JT, 1)
	LL_CMP_J(GE, >=, JT, 1) LL_CMP_J(EQ, ==, JT, 1) LL_CMP_J(NE, !=, JT, 1)

/* ---- jumps --------------------------------------------------------------- */

L_JUMP: {
	int d = S16(ip);
	ip += 2;
	JUMP_BY(d);
	NEXT();
}
L_JUMP_TRUE: {
	int d = S16(ip);
	oop v = *sp--;
	ip += 2;
	if (v == TRU)
		JUMP_BY(d);
	else if (v != FLS)
		goto not_boolean;
	NEXT();
}
L_JUMP_FALSE: {
	int d = S16(ip);
	oop v = *sp--;
	ip += 2;
	if (v == FLS)
		JUMP_BY(d);
	else if (v != TRU)
		goto not_boolean;
	NEXT();
}
not_boolean:
	/* the value is still in the slot above sp: send it mustBeBoolean */
	sp++;
	sel = vm->syms[SY_MUSTBEBOOL];
	nargs = 0;
	goto send;

/* ---- returns ---------------------------------------------------------------- */

L_RETURN:
	res = *sp;
	goto do_return;
L_RETURN_SELF:
	res = fp[FH_RECV];
	goto do_return;
L_RET_LOCAL:
	res = fp[(int8_t)*ip];
	goto do_return;
L_RET_IVAR:
	res = obj_body(fp[FH_RECV])[*ip];
	goto do_return;
L_RET_INT:
	res = obj_from_int((int8_t)*ip);
	goto do_return;
L_RET_NIL:
	res = NIL;
	goto do_return;
L_RET_TRUE:
	res = TRU;
	goto do_return;
L_RET_FALSE:
	res = FLS;
	goto do_return;
do_return: { /* res; fp is the frame returning */
	oop fl = fp[FH_FLAGS];
	if (st_unlikely(fl & ((oop)FF_BASE << 9))) {
		/* the process's first frame: it is finished */
		SAVE();
		sched_kill(vm, proc);
		goto reschedule;
	}
	ip = (uint8_t *)obj_int(fp[FH_CALLER_IP]);
	sp = fp - (obj_int(fl) & 0xff) - 1;
	fp -= obj_int(fp[FH_CALLER_FP]);
	*sp = res;
	lits = LITS_OF(fp[FH_METHOD]);
	NEXT();
}
L_NLR: {
	res = *sp;
	oop env = obj_body(fp[FH_CLOSURE])[BC_OUTER];
	while (obj_body(env)[ENV_OUTER] != NIL)
		env = obj_body(env)[ENV_OUTER];
	int unwind = 0;
	oop *f = fp;
	while (f && !(f[FH_CLOSURE] == NIL && f[FH_ENV] == env)) {
		intptr_t mk = MARKS(f);
		if ((mk & (FF_ENSURE | FF_CURTAIL)) && !(mk & FF_DONE))
			unwind = 1;
		f = interp_frame_caller(proc, f);
	}
	if (!f) {
		/* home method already returned: closure cannotReturn: value */
		sp++;
		sp[0] = res;
		sp[-1] = fp[FH_CLOSURE];
		sel = vm->syms[SY_CANNOTRETURN];
		nargs = 1;
		goto send;
	}
	if (unwind) {
		/* ensure blocks to run: let Smalltalk do it (Process>>unwindTo:value:) */
		size_t fi = (size_t)(f - proc->stack);
		ENSURE_STACK(3);
		SAVE();
		oop c = ctx_new(vm, proc, proc->stack + fi);
		if (!c)
			goto out_of_memory;
		res = *sp; /* the collector may have moved it; the stack holds it */
		PUSH(proc->self);
		PUSH(c);
		PUSH(res);
		sel = vm->syms[SY_UNWIND];
		nargs = 2;
		goto send;
	}
	SETTLE(f - proc->stack);
	fp = f;
	goto do_return;
}

/* ---- closures, environments, misc --------------------------------------- */

L_CLOSURE: {
	unsigned li = U16();
	SAVE();
	oop c = st_alloc(vm, CI_BLOCK, OBJ_FMT_PTRS, BC_SIZE, 0);
	if (!c)
		goto out_of_memory;
	obj_body(c)[BC_CODE] = lits[li];
	obj_body(c)[BC_RECEIVER] = fp[FH_RECV];
	obj_body(c)[BC_OUTER] = fp[FH_ENV];
	gc_wb_bulk(&vm->gc, c);
	PUSH(c);
	NEXT();
}
L_MAKE_ENV: {
	unsigned n = *ip++;
	SAVE();
	oop e = st_alloc(vm, CI_ARRAY, OBJ_FMT_IPTRS, n, 0);
	if (!e)
		goto out_of_memory;
	obj_body(e)[ENV_OUTER] = fp[FH_ENV];
	gc_wb_bulk(&vm->gc, e);
	fp[FH_ENV] = e;
	NEXT();
}
L_ARRAY: {
	unsigned n = U16();
	SAVE();
	oop a = st_new_array(vm, n);
	if (!a)
		goto out_of_memory;
	for (unsigned i = 0; i < n; i++)
		obj_body(a)[i] = sp[-(int)n + 1 + (int)i];
	gc_wb_bulk(&vm->gc, a);
	sp -= n;
	PUSH(a);
	NEXT();
}
L_DECL: {
	unsigned li = U16();
	SAVE();
	st_install_decl(vm, lits[li]);
	icbase = ic_base(vm);
	NEXT();
}
L_PUSH_CONTEXT: { /* made here, on demand: a send never makes one */
	SAVE();
	oop c = ctx_new(vm, proc, fp);
	if (!c)
		goto out_of_memory;
	PUSH(c);
	NEXT();
}

/* ---- process switches ------------------------------------------------------ */

interrupt: /* ip is where the process resumes */
	SAVE();
	if (vm->io_inflight | vm->io_unflushed) {
		/* I/O first, whatever the checkpoint decides (a yield at every
		 * checkpoint must not starve it): send what is queued, answer
		 * what completed (this may allocate: load the registers again) */
		vio_tick(vm);
		LOAD();
	}
	if (baton_checkpoint(vm->core, t, proc->prio)) {
		proc->state = PS_RUNNABLE;
		sched_ready(vm, proc, 1);
		vm->active = NULL;
		return INTERP_YIELD; /* the next owner drains (sched.c, next()) */
	}
	/* Another head kicked us: ready who waits (no allocation). After the
	 * checkpoint, which cleared the interrupt: a kick that comes after
	 * this look raises it again, so it is seen at the next checkpoint. */
	hy_poll(vm);
	if (vm->quit)
		return INTERP_QUIT;
	/* timers or I/O may have readied better processes */
	if (sched_best(vm) > proc->prio) {
		sched_ready(vm, proc, 1);
		vm->active = NULL;
		goto switch_best;
	}
	CHECK_INTR();
	NEXT();

reschedule: /* the active process's registers are saved */
	if (vm->quit)
		return INTERP_QUIT;
	if (vm->active && vm->active != proc) {
		/* a primitive installed another process (resume at once) */
		LOAD();
		CHECK_INTR();
		if (ST_TRACING(vm))
			sched_trace_run(vm, t, proc);
		NEXT();
	}
	if (vm->active && proc->state == PS_RUNNING) {
		if (sched_best(vm) <= proc->prio) {
			LOAD();
			CHECK_INTR();
			NEXT();
		}
		sched_ready(vm, proc, 1);
	}
	vm->active = NULL;
switch_best: {
	vio_poll(vm); /* completed I/O readies processes before the pick */
	hy_poll(vm);
	struct st_proc *next = sched_pick(vm);
	if (!next) {
		vm->active = NULL;
		return INTERP_IDLE;
	}
	if (baton_top_waiter(vm->core) >= next->prio) {
		next->state = PS_RUNNABLE;
		sched_ready(vm, next, 1);
		vm->active = NULL;
		return INTERP_YIELD;
	}
	vm->switches++;
	/* proc may be freed (killed): the handle of the last switch is kept */
	BATON__PROBE2(proc_switch, vm->switched_to, next->handle);
	vm->switched_to = next->handle;
	next->state = PS_RUNNING;
	vm->active = next;
	LOAD();
	CHECK_INTR();
	if (ST_TRACING(vm))
		sched_trace_run(vm, t, next);
	NEXT();
}

interrupted: /* proc is loaded; its registers say where it resumes */
	proc->intr = 0;
	ENSURE_STACK(1);
	PUSH(proc->self);
	sel = vm->syms[SY_INTERRUPT];
	nargs = 0;
	goto send;

/* ---- errors the interpreter raises ------------------------------------------ */

out_of_memory:
	/* registers saved; the receiver slot gets the process to signal on */
	LOAD();
	ENSURE_STACK(1);
	PUSH(proc->self);
	sel = vm->syms[SY_OOM];
	nargs = 0;
	goto send;

stack_overflow:
	if (proc->ovf) {
		st_out_flush(vm);
		fputs("Error: stack overflow (process terminated)\n", stderr);
		if (proc->is_main)
			vm->main_failed = 1;
		SAVE();
		sched_kill(vm, proc);
		goto reschedule;
	}
	/* beyond the soft limit: signal once, on the reserve */
	proc->ovf = 1;
	{
		size_t spi_ = (size_t)(sp - proc->stack), fpi_ = (size_t)(fp - proc->stack);
		if (!sched_grow_stack(vm, proc, spi_ + 4096)) {
			SAVE();
			sched_kill(vm, proc);
			goto reschedule;
		}
		sp = proc->stack + spi_;
		fp = proc->stack + fpi_;
		slim = proc->stack + proc->cap - STACK_SLACK;
	}
	PUSH(proc->self);
	sel = vm->syms[SY_STACKOVF];
	nargs = 0;
	goto send;
#undef LOAD
#undef SAVE
#undef NEXT
#undef PUSH
}
