// SPDX-License-Identifier: MIT
/*
 * vm/ctx.c: thisContext. A context (MethodContext, BlockContext) names a
 * frame of a process stack by its process, its index in the stack and a
 * serial that was stamped into the frame's flags when the first context for
 * it was made. Contexts are made only when asked for (thisContext, the
 * handler search, a non-local return through unwind blocks), never by a
 * send. Every use checks that the frame is still one of the process's live
 * frames and carries that serial, so a context kept past its frame's
 * return, or a forged one, never makes the VM read something that is not
 * a frame. Also the primitives on contexts: they are the only way
 * Smalltalk reaches frames (the exception machinery and unwinding too).
 * Never hand Smalltalk a frame index or pointer, and never read a frame
 * that ctx_frame() has not just found.
 * See Documentation/vm/interpreter.md.
 */
#include "vm/ctx.h"
#include "vm/interp.h"
#include "vm/prim.h"
#include "vm/sched.h"

#define EXC_HANDLER_CTX 2 /* Exception's third instance variable (kernel) */

/* Marks Smalltalk may set or clear (setMarks:clearMarks:): never the kind
 * of a frame (handler, ensure, base), which the interpreter trusts. */
#define FF_SETTABLE (FF_DONE | FF_DISABLED | FF_SIGNAL)

/* Serials live in the flags above the marks; 46 bits keep the flags a
 * SmallInteger. Running out takes 2^46 contexts; wrapping would make a
 * stale context of that age match again, so stop at the end instead. */
#define SERIAL_MAX (((int64_t)1 << 46) - 1)

static intptr_t serial_of(oop *f) { return obj_int(f[FH_FLAGS]) >> FH_SERIAL_SHIFT; }

int ctx_is(oop o)
{
	return obj_is_ptr(o) && (obj_cls(o) == CI_METHODCTX || obj_cls(o) == CI_BLOCKCTX) &&
	       obj_has_ptrs(o) && obj_slots(o) >= CTX_SIZE;
}

oop ctx_new(struct st_vm *vm, struct st_proc *p, oop *f)
{
	intptr_t serial = serial_of(f);
	if (!serial) {
		if (vm->ctx_serial < SERIAL_MAX)
			vm->ctx_serial++;
		serial = (intptr_t)vm->ctx_serial;
		f[FH_FLAGS] = obj_from_int(obj_int(f[FH_FLAGS]) | serial << FH_SERIAL_SHIFT);
	}
	uint32_t ci = f[FH_CLOSURE] == vm->nil ? CI_METHODCTX : CI_BLOCKCTX;
	oop c = st_alloc(vm, ci, OBJ_FMT_PTRS, CTX_SIZE, 0);
	if (!c)
		return 0;
	/* the stack did not move; the oops read below are the current ones */
	oop *b = obj_body(c);
	b[CTX_PROCESS] = p->self;
	b[CTX_FRAME] = obj_from_int(f - p->stack);
	b[CTX_SERIAL] = obj_from_int(serial);
	b[CTX_METHOD] = f[FH_METHOD];
	b[CTX_RECEIVER] = f[FH_RECV];
	gc_wb_bulk(&vm->gc, c);
	return c;
}

oop *ctx_frame(struct st_vm *vm, oop c, struct st_proc **pp)
{
	if (!ctx_is(c))
		return NULL;
	oop *b = obj_body(c);
	struct st_proc *p = sched_proc_of(vm, b[CTX_PROCESS]);
	if (!p || p->self != b[CTX_PROCESS] || !p->stack || p->state == PS_DEAD)
		return NULL;
	oop fi = b[CTX_FRAME], sn = b[CTX_SERIAL];
	if (!obj_is_int(fi) || !obj_is_int(sn) || obj_int(sn) <= 0 || obj_int(fi) < 1 ||
	    obj_int(fi) > p->sp - p->stack)
		return NULL;
	/* Frames lie below their callees: walk down from the top to the index.
	 * Landing on it proves it is a frame, not slots inside one. */
	oop *want = p->stack + obj_int(fi), *f = p->fp;
	while (f && f > want)
		f = interp_frame_caller(p, f);
	if (f != want || serial_of(f) != obj_int(sn))
		return NULL;
	if (pp)
		*pp = p;
	return f;
}

/* ---- primitives: ContextPart ------------------------------------------------ */

/* The live frame of the receiving context, for the primitives that answer
 * nil for a dead one. NULL with [*rc] the primitive's result: it fails for
 * a receiver that is no context, and answers nil for a dead one. */
static oop *live_frame(struct st_vm *vm, oop *args, struct st_proc **p, int *rc)
{
	oop *f = ctx_frame(vm, args[0], p);
	if (!f && ctx_is(args[0])) {
		args[0] = vm->nil;
		*rc = PRIM_OK;
	} else if (!f) {
		*rc = PRIM_FAIL;
	}
	return f;
}

/* ContextPart>>parentContext: the caller's context; nil at the bottom of
 * the stack or when the receiver is dead. */
PRIM(ctxParent)
{
	struct st_proc *p;
	int rc;
	oop *f = live_frame(vm, args, &p, &rc);
	if (!f)
		return rc;
	oop *c = interp_frame_caller(p, f);
	if (!c) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	oop r = ctx_new(vm, p, c);
	if (!r)
		return PRIM_OOM;
	args[0] = r;
	return PRIM_OK;
}

/* ContextPart>>isDead: its frame has returned (or it never named one) */
PRIM(ctxIsDead)
{
	if (!ctx_is(args[0]))
		return PRIM_FAIL;
	args[0] = st_bool(vm, ctx_frame(vm, args[0], NULL) == NULL);
	return PRIM_OK;
}

/* ContextPart>>currentLine: the source line the frame is executing; nil
 * when dead. */
PRIM(ctxLine)
{
	struct st_proc *p;
	int rc;
	oop *f = live_frame(vm, args, &p, &rc);
	if (!f)
		return rc;
	/* a frame's ip is saved in the frame above it; the top one's in p */
	uint8_t *ip = p->ip;
	for (oop *g = p->fp; g != f; g = interp_frame_caller(p, g))
		ip = (uint8_t *)obj_int(g[FH_CALLER_IP]);
	args[0] = obj_from_int(interp_method_line(vm, f[FH_METHOD], ip - 1));
	return PRIM_OK;
}

/* ContextPart>>at: i — argument i, then the temporaries (1-based) */
PRIM(ctxAt)
{
	oop *f = ctx_frame(vm, args[0], NULL);
	if (!f || !obj_is_int(args[1]))
		return PRIM_FAIL;
	intptr_t n = obj_int(f[FH_FLAGS]) & 0xff, i = obj_int(args[1]);
	intptr_t nt = CMH_NTEMPS(obj_int(obj_body(f[FH_METHOD])[CM_HEADER]));
	if (i < 1 || i > n + nt)
		return PRIM_FAIL;
	args[0] = i <= n ? f[-n + i - 1] : f[FH_SIZE + i - n - 1];
	return PRIM_OK;
}

/* ContextPart>>setMarks: set clearMarks: clear (FF_SETTABLE bits only) */
PRIM(ctxMark)
{
	oop *f = ctx_frame(vm, args[0], NULL);
	if (!f || !obj_is_int(args[1]) || !obj_is_int(args[2]) ||
	    (obj_int(args[1]) | obj_int(args[2])) & ~(intptr_t)FF_SETTABLE)
		return PRIM_FAIL;
	ctx_set_marks(f, (ctx_marks(f) | obj_int(args[1])) & ~obj_int(args[2]));
	return PRIM_OK;
}

/* ContextPart>>nextHandlerContext: the next active on:do: frame below the
 * receiver's, skipping the frames between a running handler block's signal
 * and its handler (ANSI: a handler runs in its handler's environment). */
PRIM(ctxNextHandler)
{
	struct st_proc *p, *hp;
	oop *f = ctx_frame(vm, args[0], &p);
	if (!f)
		return PRIM_FAIL;
	for (f = interp_frame_caller(p, f); f; f = interp_frame_caller(p, f)) {
		intptr_t m = ctx_marks(f);
		if (m & FF_SIGNAL) {
			oop e = f[FH_RECV];
			oop hc = obj_is_ptr(e) && obj_has_ptrs(e) && obj_slots(e) > EXC_HANDLER_CTX
					 ? obj_body(e)[EXC_HANDLER_CTX]
					 : vm->nil;
			oop *h = ctx_frame(vm, hc, &hp);
			if (h && hp == p && h < f) {
				f = h;
				continue;
			}
		}
		if ((m & FF_HANDLER) && !(m & FF_DISABLED)) {
			oop r = ctx_new(vm, p, f);
			if (!r)
				return PRIM_OOM;
			args[0] = r;
			return PRIM_OK;
		}
	}
	args[0] = vm->nil;
	return PRIM_OK;
}

/* BlockClosure>>unwoundHere: marks the ensure:/ifCurtailed: activation that
 * sends it (the frame below this primitive) done, and answers whether it
 * already was (its block then ran while unwinding). Names no frame, so it
 * needs no context: ensure: stays free of allocation. */
PRIM(unwoundHere)
{
	struct st_proc *p = vm->active;
	oop *f = p ? p->fp : NULL;
	if (!f || !(ctx_marks(f) & (FF_ENSURE | FF_CURTAIL)))
		return PRIM_FAIL;
	intptr_t m = ctx_marks(f);
	ctx_set_marks(f, m | FF_DONE);
	args[0] = st_bool(vm, (m & FF_DONE) != 0);
	return PRIM_OK;
}
