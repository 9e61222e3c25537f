// SPDX-License-Identifier: MIT
/*
 * vm/comp.c: the compiler: resolves variables (with capture analysis),
 * inlines control-flow messages on literal blocks, emits bytecodes, builds
 * CompiledMethods and class declaration records.
 * Owns the meaning of names in source code. Every oop it holds across an
 * allocation is a registered root. See Documentation/vm/compiler.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "vm/bigint.h"
#include "vm/bytecode.h"
#include "vm/comp.h"
#include "vm/grow.h"
#include "vm/parse.h"
#include "vm/refl.h"

/* ---- scopes ------------------------------------------------------------ */

struct fn;

struct var {
	const char *name;
	struct fn *fn;
	int is_arg;
	int captured;
	int slot; /* fp-relative (not captured) */
	int env;  /* environment index (captured) */
	int arg_index;
};

struct scope {
	struct scope *outer;
	struct fn *fn;
	struct var **vars;
	int nvars, cap;
};

struct fn {
	struct fn *outer;
	int is_block;
	struct block *b;
	struct var **locals;
	int nlocals, lcap;
	int nargs, ntemps, envsize, has_env, has_nlr;
	/* codegen */
	uint8_t *code;
	size_t n, cap;
	uint8_t *lines;
	size_t nl, lcapb;
	int lastline;
	oop lits;
	int nlits;
	int depth, maxdepth;
	size_t lastpos, label_at; /* peephole: last instruction, last jump target */
	int lastop;
	struct fn *all; /* next in compiler.fns */
};

struct compiler {
	struct st_vm *vm;
	struct lexer *lx;
	struct arena *a;
	oop cls;        /* class the method is compiled for (nil: doit) */
	oop file;       /* String, rooted */
	const char *sel;
	unsigned flags;
	int disasm; /* BATON_DISASM: list the code of what is compiled */
	int doit;
	int failed;
	int line; /* of the node being compiled, for errors */
	int decl_line, decl_col; /* of the scope being declared */
	struct scope *doit_scope; /* top-level temporaries */
	const char *ns;           /* namespace of the item compiled (NULL: Smalltalk) */
	struct comp_unit *unit;   /* set by compile_class: its classes not yet bound */
	struct fn *fns;           /* every fn made: buffers freed at the end */
};

static void cerr(struct compiler *c, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void cerr(struct compiler *c, int line, int col, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = 1;
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	lex_error_at(c->lx, line, col, "%s", buf);
}

static struct var *declare(struct compiler *c, struct scope *s, const char *name, int is_arg)
{
	for (int i = 0; name && i < s->nvars; i++)
		if (s->vars[i]->name && !strcmp(s->vars[i]->name, name)) {
			if (s != c->doit_scope)
				cerr(c, c->decl_line, c->decl_col, "duplicate variable name '%s'", name);
			return s->vars[i]; /* top level: a redeclaration */
		}
	struct var *v = arena_alloc(c->a, sizeof *v);
	v->name = name;
	v->fn = s->fn;
	v->is_arg = is_arg;
	s->vars = arena_grow(c->a, s->vars, s->nvars, &s->cap, sizeof *s->vars, 8);
	s->vars[s->nvars++] = v;
	struct fn *f = s->fn;
	f->locals = arena_grow(c->a, f->locals, f->nlocals, &f->lcap, sizeof *f->locals, 8);
	f->locals[f->nlocals++] = v;
	return v;
}

static struct var *lookup(struct scope *s, const char *name)
{
	for (; s; s = s->outer)
		for (int i = s->nvars - 1; i >= 0; i--)
			if (s->vars[i]->name && !strcmp(s->vars[i]->name, name))
				return s->vars[i];
	return NULL;
}

static struct scope *new_scope(struct compiler *c, struct scope *outer, struct fn *f)
{
	struct scope *s = arena_alloc(c->a, sizeof *s);
	s->outer = outer;
	s->fn = f;
	return s;
}

static int is_pseudo(const char *n)
{
	return !strcmp(n, "self") || !strcmp(n, "super") || !strcmp(n, "nil") ||
	       !strcmp(n, "true") || !strcmp(n, "false") || !strcmp(n, "thisContext");
}

/* ---- inlining decisions ------------------------------------------------------ */

enum { IN_NONE, IN_IFTRUE, IN_IFFALSE, IN_IFTRUEIFFALSE, IN_IFFALSEIFTRUE, IN_AND,
       IN_OR, IN_WHILETRUE, IN_WHILEFALSE, IN_WHILETRUE0, IN_WHILEFALSE0, IN_TODO,
       IN_TOBYDO, IN_TIMES, IN_IFNIL, IN_IFNOTNIL, IN_IFNILIFNOTNIL, IN_IFNOTNILIFNIL,
       IN_REPEAT };

static int blk(struct node *n, int params)
{
	return n && n->k == N_BLOCK && n->block->nparams == params;
}
static int blk01(struct node *n)
{
	return n && n->k == N_BLOCK && n->block->nparams <= 1;
}

static int inline_kind(struct node *s)
{
	const char *m = s->sel;
	struct node **a = s->args;
	if (s->super)
		return IN_NONE;
	if (!strcmp(m, "ifTrue:") && blk(a[0], 0)) return IN_IFTRUE;
	if (!strcmp(m, "ifFalse:") && blk(a[0], 0)) return IN_IFFALSE;
	if (!strcmp(m, "ifTrue:ifFalse:") && blk(a[0], 0) && blk(a[1], 0)) return IN_IFTRUEIFFALSE;
	if (!strcmp(m, "ifFalse:ifTrue:") && blk(a[0], 0) && blk(a[1], 0)) return IN_IFFALSEIFTRUE;
	if (!strcmp(m, "and:") && blk(a[0], 0)) return IN_AND;
	if (!strcmp(m, "or:") && blk(a[0], 0)) return IN_OR;
	if (!strcmp(m, "whileTrue:") && blk(s->rcv, 0) && blk(a[0], 0)) return IN_WHILETRUE;
	if (!strcmp(m, "whileFalse:") && blk(s->rcv, 0) && blk(a[0], 0)) return IN_WHILEFALSE;
	if (!strcmp(m, "whileTrue") && blk(s->rcv, 0)) return IN_WHILETRUE0;
	if (!strcmp(m, "whileFalse") && blk(s->rcv, 0)) return IN_WHILEFALSE0;
	if (!strcmp(m, "repeat") && blk(s->rcv, 0)) return IN_REPEAT;
	if (!strcmp(m, "to:do:") && blk(a[1], 1)) return IN_TODO;
	if (!strcmp(m, "to:by:do:") && blk(a[2], 1) && a[1]->k == N_LIT &&
	    a[1]->lit->k == L_INT && a[1]->lit->ival != 0)
		return IN_TOBYDO;
	if (!strcmp(m, "timesRepeat:") && blk(a[0], 0)) return IN_TIMES;
	if (!strcmp(m, "ifNil:") && blk(a[0], 0)) return IN_IFNIL;
	if (!strcmp(m, "ifNotNil:") && blk01(a[0])) return IN_IFNOTNIL;
	if (!strcmp(m, "ifNil:ifNotNil:") && blk(a[0], 0) && blk01(a[1])) return IN_IFNILIFNOTNIL;
	if (!strcmp(m, "ifNotNil:ifNil:") && blk01(a[0]) && blk(a[1], 0)) return IN_IFNOTNILIFNIL;
	return IN_NONE;
}

/* Does a real (not inlined) block inside [n] mention one of [names]?
 * Then the inlined block declaring them must stay a real block, so that
 * every evaluation gets fresh variables (closures in loops). */
static int mentions(struct node *n, struct block *decl, int in_real);

static int named_in(const char *name, struct block *b)
{
	if (!name)
		return 0;
	for (int i = 0; i < b->nparams; i++)
		if (!strcmp(b->params[i], name))
			return 1;
	for (int i = 0; i < b->ntemps; i++)
		if (!strcmp(b->temps[i], name))
			return 1;
	return 0;
}

static int mentions_stmts(struct block *b, struct block *decl, int in_real)
{
	for (int i = 0; i < b->nstmts; i++)
		if (mentions(b->stmts[i], decl, in_real))
			return 1;
	return 0;
}

static int mentions(struct node *n, struct block *decl, int in_real)
{
	if (!n)
		return 0;
	switch (n->k) {
	case N_VAR:
		return in_real && named_in(n->name, decl);
	case N_ASSIGN:
		return (in_real && named_in(n->name, decl)) || mentions(n->value, decl, in_real);
	case N_RETURN:
		return mentions(n->value, decl, in_real);
	case N_BRACE:
		for (int i = 0; i < n->nargs; i++)
			if (mentions(n->args[i], decl, in_real))
				return 1;
		return 0;
	case N_CASCADE:
		if (mentions(n->rcv, decl, in_real))
			return 1;
		for (int i = 0; i < n->nargs; i++)
			if (mentions(n->args[i], decl, in_real))
				return 1;
		return 0;
	case N_BLOCK:
		return mentions_stmts(n->block, decl, 1);
	case N_SEND: {
		int k = n->rcv ? inline_kind(n) : IN_NONE;
		struct node *r = n->rcv;
		if (r && r->k == N_BLOCK && k != IN_NONE) {
			if (mentions_stmts(r->block, decl, in_real))
				return 1;
		} else if (mentions(r, decl, in_real)) {
			return 1;
		}
		for (int i = 0; i < n->nargs; i++) {
			struct node *a = n->args[i];
			if (a->k == N_BLOCK && k != IN_NONE) {
				if (mentions_stmts(a->block, decl, in_real))
					return 1;
			} else if (mentions(a, decl, in_real)) {
				return 1;
			}
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* An inlinable send whose inlined blocks declare variables that closures
 * capture is compiled as a real send. */
static int inline_ok(struct node *n)
{
	struct node *parts[4];
	int np = 0;
	if (n->rcv && n->rcv->k == N_BLOCK)
		parts[np++] = n->rcv;
	for (int i = 0; i < n->nargs && np < 4; i++)
		if (n->args[i]->k == N_BLOCK)
			parts[np++] = n->args[i];
	for (int i = 0; i < np; i++) {
		struct block *b = parts[i]->block;
		if ((b->nparams || b->ntemps) && mentions_stmts(b, b, 0))
			return 0;
	}
	return 1;
}

/* ---- pass 1: resolve names, find captures and non-local returns ------- */

static void resolve_node(struct compiler *c, struct node *n, struct scope *s);

static void resolve_stmts(struct compiler *c, struct block *b, struct scope *s)
{
	for (int i = 0; i < b->nstmts; i++)
		resolve_node(c, b->stmts[i], s);
}

/* An inlined block: its parameters and temporaries join the enclosing fn. */
static void resolve_inlined(struct compiler *c, struct node *bn, struct scope *s)
{
	struct block *b = bn->block;
	b->inlined = 1;
	struct scope *in = new_scope(c, s, s->fn);
	b->scope = in;
	c->decl_line = b->line;
	c->decl_col = b->col;
	for (int i = 0; i < b->nparams; i++)
		declare(c, in, b->params[i], 0);
	for (int i = 0; i < b->ntemps; i++)
		declare(c, in, b->temps[i], 0);
	resolve_stmts(c, b, in);
}

static struct fn *new_fn(struct compiler *c, struct fn *outer, struct block *b, int is_block)
{
	struct fn *f = arena_alloc(c->a, sizeof *f);
	f->all = c->fns;
	c->fns = f;
	f->outer = outer;
	f->b = b;
	f->is_block = is_block;
	return f;
}

static void resolve_block(struct compiler *c, struct node *bn, struct scope *s)
{
	struct block *b = bn->block;
	struct fn *f = new_fn(c, s->fn, b, 1);
	struct scope *in = new_scope(c, s, f);
	b->scope = in;
	c->decl_line = b->line;
	c->decl_col = b->col;
	for (int i = 0; i < b->nparams; i++) {
		struct var *v = declare(c, in, b->params[i], 1);
		v->arg_index = i;
	}
	f->nargs = b->nparams;
	for (int i = 0; i < b->ntemps; i++)
		declare(c, in, b->temps[i], 0);
	resolve_stmts(c, b, in);
}

static void mark_nlr(struct fn *f)
{
	/* the home method needs an environment to be found by ^ in a block */
	while (f->outer)
		f = f->outer;
	f->has_nlr = 1;
}

/* A lowercase name that is already a global (stdin, stdout, stderr) names
 * that global: it is not declared as a top-level temporary, nor an error. */
static int lower_global(struct st_vm *vm, const char *name)
{
	oop sym = st_lookup_symbol(vm, name, strlen(name));
	return sym && st_global_binding(vm, sym, 0);
}

static void resolve_name(struct compiler *c, struct node *n, struct scope *s, int assign)
{
	if (!n->name)
		return; /* cascade placeholder */
	if (is_pseudo(n->name)) {
		if (assign)
			cerr(c, n->line, n->col, "cannot assign to '%s'", n->name);
		return;
	}
	struct var *v = lookup(s, n->name);
	if (v) {
		n->var = v;
		if (v->fn != s->fn)
			v->captured = 1;
		if (assign && v->is_arg)
			cerr(c, n->line, n->col, "cannot assign to argument '%s'", n->name);
		return;
	}
	if (c->doit && c->doit_scope && !(c->flags & COMP_REPL) && n->name[0] >= 'a' &&
	    n->name[0] <= 'z' && !lower_global(c->vm, n->name)) {
		/* an undeclared variable at top level: declare it there */
		struct var *nv = declare(c, c->doit_scope, n->name, 0);
		n->var = nv;
		if (nv->fn != s->fn)
			nv->captured = 1;
	}
}

static void resolve_node(struct compiler *c, struct node *n, struct scope *s)
{
	if (!n || c->failed)
		return;
	switch (n->k) {
	case N_LIT:
	case N_CONTEXT:
		return;
	case N_VAR:
		resolve_name(c, n, s, 0);
		return;
	case N_ASSIGN:
		resolve_node(c, n->value, s);
		resolve_name(c, n, s, 1);
		return;
	case N_RETURN:
		resolve_node(c, n->value, s);
		if (s->fn->is_block)
			mark_nlr(s->fn);
		return;
	case N_BRACE:
		for (int i = 0; i < n->nargs; i++)
			resolve_node(c, n->args[i], s);
		return;
	case N_CASCADE:
		resolve_node(c, n->rcv, s);
		for (int i = 0; i < n->nargs; i++)
			resolve_node(c, n->args[i], s);
		return;
	case N_BLOCK:
		resolve_block(c, n, s);
		return;
	case N_SEND: {
		if (n->rcv && n->rcv->k == N_VAR && n->rcv->name && !strcmp(n->rcv->name, "super"))
			n->super = 1;
		int k = n->rcv ? inline_kind(n) : IN_NONE;
		if (k != IN_NONE && !inline_ok(n))
			k = IN_NONE;
		n->inlined = k;
		if (k == IN_WHILETRUE || k == IN_WHILEFALSE || k == IN_WHILETRUE0 ||
		    k == IN_WHILEFALSE0 || k == IN_REPEAT)
			resolve_inlined(c, n->rcv, s);
		else
			resolve_node(c, n->rcv, s);
		for (int i = 0; i < n->nargs; i++) {
			struct node *a = n->args[i];
			if (k != IN_NONE && a->k == N_BLOCK &&
			    !((k == IN_TODO && i == 0) || (k == IN_TOBYDO && i < 2)))
				resolve_inlined(c, a, s);
			else
				resolve_node(c, a, s);
		}
		if (k == IN_TODO || k == IN_TOBYDO) {
			/* hidden limit temporary */
			n->var = declare(c, s, NULL, 0);
		}
		if (k == IN_TIMES)
			n->var = declare(c, s, NULL, 0);
		if (k == IN_IFNOTNIL || k == IN_IFNILIFNOTNIL || k == IN_IFNOTNILIFNIL)
			n->var = declare(c, s, NULL, 0);
		return;
	}
	}
}

/* ---- pass 2: slots -------------------------------------------------------- */

static void layout(struct compiler *c, struct fn *f)
{
	int t = 0, e = 0;
	for (int i = 0; i < f->nlocals; i++) {
		struct var *v = f->locals[i];
		if (v->captured) {
			v->env = 1 + e++;
		} else if (v->is_arg) {
			v->slot = -f->nargs + v->arg_index;
		} else {
			v->slot = FH_SIZE + t++;
		}
	}
	f->ntemps = t;
	f->envsize = e;
	f->has_env = e > 0 || f->has_nlr;
	if (t > 255 || e > 254 || f->nargs > 255)
		cerr(c, f->b && f->b->line > 0 ? f->b->line : 1, 1, "too many variables");
}

/* ---- code buffer --------------------------------------------------------- */

/* The emitters have no way to fail: a code buffer that cannot grow ends
 * the VM, as before (a method is a few KB; the heap limit is elsewhere). */
static void code_oom(void)
{
	fputs("baton: out of memory\n", stderr);
	exit(EX_SOFTWARE);
}

static void need(struct fn *f, size_t k)
{
	if (f->n + k > f->cap && !GROW(f->code, f->cap, f->n + k, 256))
		code_oom();
}


static void note_line(struct fn *f, int line)
{
	if (line <= 0 || line == f->lastline)
		return;
	f->lastline = line;
	if (f->nl + 4 > f->lcapb && !GROW(f->lines, f->lcapb, f->nl + 4, 64))
		code_oom();
	unsigned pc = f->n > 0xffff ? 0xffff : (unsigned)f->n;
	unsigned ln = line > 0xffff ? 0xffff : (unsigned)line;
	f->lines[f->nl++] = (uint8_t)pc;
	f->lines[f->nl++] = (uint8_t)(pc >> 8);
	f->lines[f->nl++] = (uint8_t)ln;
	f->lines[f->nl++] = (uint8_t)(ln >> 8);
}

static void depth(struct fn *f, int d)
{
	f->depth += d;
	if (f->depth > f->maxdepth)
		f->maxdepth = f->depth;
}

/* The emitters take each instruction's stack effect from vm/opcodes.h;
 * check_depth() checks the result when the method is complete. */
static void op0(struct fn *f, int op)
{
	f->lastop = op;
	f->lastpos = f->n;
	need(f, 1);
	f->code[f->n++] = (uint8_t)op;
	depth(f, op_effect(op, 0));
}
static void op1(struct fn *f, int op, int a)
{
	/* PUSH_LOCAL a; PUSH_LOCAL b: one PUSH_LOCAL2 unless b is a jump target */
	if (op == OP_PUSH_LOCAL && f->lastop == OP_PUSH_LOCAL && f->lastpos + 2 == f->n &&
	    f->label_at != f->n) {
		need(f, 1);
		f->code[f->lastpos] = OP_PUSH_LOCAL2;
		f->code[f->n++] = (uint8_t)a;
		f->lastop = OP_PUSH_LOCAL2;
		depth(f, op_effect(OP_PUSH_LOCAL2, 0) - op_effect(OP_PUSH_LOCAL, 0));
		return;
	}
	f->lastop = op;
	f->lastpos = f->n;
	need(f, 2);
	f->code[f->n++] = (uint8_t)op;
	f->code[f->n++] = (uint8_t)a;
	depth(f, op_effect(op, a));
}
static void op2(struct fn *f, int op, int a)
{
	f->lastop = op;
	f->lastpos = f->n;
	need(f, 3);
	f->code[f->n++] = (uint8_t)op;
	f->code[f->n++] = (uint8_t)a;
	f->code[f->n++] = (uint8_t)(a >> 8);
	depth(f, op_effect(op, a));
}
static void opbb(struct fn *f, int op, int a, int b)
{
	f->lastop = op;
	f->lastpos = f->n;
	need(f, 3);
	f->code[f->n++] = (uint8_t)op;
	f->code[f->n++] = (uint8_t)a;
	f->code[f->n++] = (uint8_t)b;
	depth(f, op_effect(op, a));
}

/* Forward jump: answers the position to patch. */
static size_t jump_fwd(struct fn *f, int op)
{
	op2(f, op, 0);
	return f->n - 2;
}
static void patch(struct compiler *c, struct fn *f, size_t at)
{
	f->label_at = f->n;
	long d = (long)f->n - (long)(at + 2);
	if (d > 32767)
		cerr(c, c->line, 1, "method too large");
	f->code[at] = (uint8_t)d;
	f->code[at + 1] = (uint8_t)(d >> 8);
}
static void jump_back(struct compiler *c, struct fn *f, int op, size_t target)
{
	long d = (long)target - (long)(f->n + 3);
	if (d < -32768)
		cerr(c, c->line, 1, "method too large");
	op2(f, op, (int)(d & 0xffff));
}

/* ---- literals ---------------------------------------------------------------- */

static int add_lit_slot(struct compiler *c, struct fn *f)
{
	struct st_vm *vm = c->vm;
	if (!f->lits || (size_t)f->nlits == obj_slots(f->lits)) {
		size_t cap = grow_cap(f->lits ? obj_slots(f->lits) : 0, (size_t)f->nlits + 1,
				      sizeof(oop), 8);
		oop na = cap ? st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, cap, 0, 0) : 0;
		if (!na) {
			cerr(c, c->line, 1, "out of memory");
			return -1;
		}
		for (int i = 0; i < f->nlits; i++)
			st_put(vm, na, (size_t)i, obj_body(f->lits)[i]);
		f->lits = na;
	}
	if (f->nlits >= 65535) {
		cerr(c, c->line, 1, "too many literals");
		return -1;
	}
	return f->nlits++;
}

/* An existing identical literal (symbols, bindings, SmallIntegers). */
static int find_lit(struct fn *f, oop o)
{
	for (int i = 0; i < f->nlits; i++)
		if (obj_body(f->lits)[i] == o)
			return i;
	return -1;
}

static int lit_index(struct compiler *c, struct fn *f, oop o)
{
	int i = find_lit(f, o);
	if (i >= 0)
		return i;
	ST_ROOT(c->vm, o);
	i = add_lit_slot(c, f);
	ST_UNROOT(c->vm, 1);
	if (i >= 0)
		st_put(c->vm, f->lits, (size_t)i, o);
	return i;
}

static int is_class(struct st_vm *vm, oop o);
static oop global_binding(struct compiler *c, const char *name, int create);
static oop compile_aside(struct compiler *c, oop cls, struct method_ast *ma);
struct comp_unit;
static oop find_class(struct comp_unit *u, const char *name);

/* The class of a float literal: FloatE, FloatQ or FloatD by its letter when
 * that global is a class whose instances are one word (st/kernel may define
 * them), else Float. */
static uint32_t float_class(struct compiler *c, char kind)
{
	struct st_vm *vm = c->vm;
	const char *name = kind == 'e' ? "FloatE" : kind == 'q' ? "FloatQ" : "FloatD";
	oop s = st_lookup_symbol(vm, name, strlen(name));
	oop b = s ? st_global_binding(vm, s, 0) : 0;
	oop v = b ? st_slot(b, ASSOC_VALUE) : 0;
	oop fl = vm->classes[CI_FLOAT];
	if (v && is_class(vm, v) && st_slot(v, CLS_FORMAT) == st_slot(fl, CLS_FORMAT))
		return st_class_index(v);
	return CI_FLOAT;
}

/* [a] and [b] are Integers: their greatest common divisor (positive). */
static oop int_gcd(struct st_vm *vm, oop a, oop b)
{
	if (big_sign(a) < 0)
		a = big_negated(vm, a);
	ST_ROOT(vm, a);
	ST_ROOT(vm, b);
	while (a && b && big_sign(b) != 0) {
		oop r = big_op(vm, a, b, BIG_REM);
		a = b;
		b = r;
	}
	ST_UNROOT(vm, 2);
	return b ? a : 0;
}

/* 3.14s2: a ScaledDecimal (st/kernel/15-GstNames.st: fraction, then scale)
 * whose fraction is digits / radix^nfrac, reduced. */
static oop make_scaled(struct compiler *c, struct lit *l)
{
	struct st_vm *vm = c->vm;
	oop s = st_lookup_symbol(vm, "ScaledDecimal", 13);
	oop b = s ? st_global_binding(vm, s, 0) : 0;
	oop cls = b ? st_slot(b, ASSOC_VALUE) : 0;
	if (!cls || !is_class(vm, cls) || st_instsize(cls) < 2) {
		cerr(c, c->line, 1, "ScaledDecimal literals need the class ScaledDecimal");
		return 0;
	}
	ST_ROOT(vm, b);
	oop num = big_from_digits(vm, l->str, l->len, (int)l->ival, l->neg), den = 0, g = 0,
	    frac = 0, o = 0;
	ST_ROOT(vm, num);
	ST_ROOT(vm, den);
	ST_ROOT(vm, frac);
	if (!num)
		goto out;
	frac = num;
	if (l->nfrac > 0) {
		char *one = calloc((size_t)l->nfrac + 2, 1);
		if (!one)
			goto out;
		one[0] = '1';
		memset(one + 1, '0', (size_t)l->nfrac);
		den = big_from_digits(vm, one, (size_t)l->nfrac + 1, (int)l->ival, 0);
		free(one);
		if (!den || !(g = int_gcd(vm, num, den)))
			goto out;
		ST_ROOT(vm, g);
		num = big_op(vm, num, g, BIG_QUO);
		den = num ? big_op(vm, den, g, BIG_QUO) : 0;
		ST_UNROOT(vm, 1);
		if (!num || !den)
			goto out;
		frac = num;
		if (!(obj_is_int(den) && obj_int(den) == 1)) {
			frac = st_alloc_old(vm, CI_FRACTION, OBJ_FMT_PTRS, FRAC_SIZE, 0, 0);
			if (!frac)
				goto out;
			st_put(vm, frac, FRAC_NUM, num);
			st_put(vm, frac, FRAC_DEN, den);
		}
	}
	cls = st_slot(b, ASSOC_VALUE);
	o = st_alloc_old(vm, st_class_index(cls), OBJ_FMT_PTRS, (size_t)st_instsize(cls), 0, 0);
	if (o) {
		for (int i = 0; i < st_instsize(cls); i++)
			obj_body(o)[i] = vm->nil;
		st_put(vm, o, 0, frac);
		obj_body(o)[1] = obj_from_int(l->scale);
	}
out:
	ST_UNROOT(vm, 4);
	return o;
}

/* #{Foo}: the binding itself, a VariableBinding when st/kernel has that
 * class (a subclass of Association without instance variables). */
static oop make_binding(struct compiler *c, struct lit *l)
{
	struct st_vm *vm = c->vm;
	oop a = global_binding(c, l->str, 1);
	if (!a)
		return 0;
	oop s = st_lookup_symbol(vm, "VariableBinding", 15);
	oop b = s ? st_global_binding(vm, s, 0) : 0;
	oop vb = b ? st_slot(b, ASSOC_VALUE) : 0;
	if (vb && is_class(vm, vb) && obj_cls(a) == CI_ASSOCIATION &&
	    st_instsize(vb) == ASSOC_SIZE)
		obj_hdr(a)->cls = st_class_index(vb);
	return a;
}

/*
 * ##(statements): the statements become a method of their own, compiled
 * for the class side of the class being compiled and run on that class (in
 * a doit: for UndefinedObject, on nil), and the literal is an Array
 * {marker, method, receiver}. The marker is the Array itself until
 * Array>>gstConstantValue (st/kernel/15-GstNames.st) has run the method
 * once and put its value there. compile_unit runs those of a class
 * definition's methods right after the definition (gst: at compile time).
 */
static oop make_cell(struct compiler *c, struct lit *l)
{
	struct st_vm *vm = c->vm;
	struct block *b = l->once;
	if (b->nstmts == 0 || b->stmts[b->nstmts - 1]->k != N_RETURN) {
		/* answers its last statement's value (nil without any) */
		struct node *r = arena_alloc(c->a, sizeof *r), *last = NULL;
		r->k = N_RETURN;
		r->line = b->line;
		r->col = b->col;
		if (b->nstmts) {
			last = b->stmts[b->nstmts - 1];
		} else {
			last = arena_alloc(c->a, sizeof *last);
			last->k = N_LIT;
			last->lit = arena_alloc(c->a, sizeof *last->lit);
			last->lit->k = L_NIL;
			b->stmts = arena_alloc(c->a, sizeof *b->stmts);
			b->nstmts = 1;
		}
		r->value = last;
		r->line = last->line ? last->line : b->line;
		r->height = last->height + 1;
		b->stmts[b->nstmts - 1] = r;
		if (r->height >= b->height)
			b->height = r->height + 1;
	}
	struct method_ast *ma = arena_alloc(c->a, sizeof *ma);
	ma->sel = "gstConstantValue";
	ma->body = b;
	ma->line = b->line;
	ma->col = b->col;
	oop cls = c->cls && c->cls != vm->nil ? c->cls : vm->classes[CI_UNDEFINED], rcv = vm->nil;
	if (obj_cls(cls) == CI_METACLASS)
		cls = st_slot(cls, CLS_THIS);
	if (cls != vm->classes[CI_UNDEFINED]) {
		rcv = cls;
		cls = vm->classes[obj_cls(cls)];
	}
	ST_ROOT(vm, rcv);
	oop m = compile_aside(c, cls, ma), o = 0;
	ST_ROOT(vm, m);
	if (m)
		o = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, 3, 0, 0);
	if (o) {
		st_put(vm, o, 0, o);
		st_put(vm, o, 1, m);
		st_put(vm, o, 2, rcv);
	}
	ST_UNROOT(vm, 2);
	return o;
}

static oop make_lit(struct compiler *c, struct lit *l)
{
	struct st_vm *vm = c->vm;
	switch (l->k) {
	case L_INT:
		if (obj_int_fits(l->ival))
			return obj_from_int(l->ival);
		return big_from_int64(vm, l->ival, 1);
	case L_BIGINT:
		return big_from_digits(vm, l->str, l->len, (int)l->ival, l->neg);
	case L_SCALED:
		return make_scaled(c, l);
	case L_BINDING:
		return make_binding(c, l);
	case L_CELL:
		return make_cell(c, l);
	case L_FLOAT: {
		oop o = st_alloc_old(vm, float_class(c, l->fkind), OBJ_FMT_WORDS, 1, 0, 0);
		if (o)
			memcpy(obj_body(o), &l->fval, 8);
		return o;
	}
	case L_CHAR:
		return st_char(vm, (uint32_t)l->ival);
	case L_STRING: {
		size_t slots = (l->len + 7) / 8;
		oop o = st_alloc_old(vm, CI_STRING, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - l->len), 0);
		if (o)
			memcpy(obj_bytes(o), l->str, l->len);
		return o;
	}
	case L_SYMBOL:
		return st_symbol(vm, l->str, l->len);
	case L_NIL:
		return vm->nil;
	case L_TRUE:
		return vm->true_;
	case L_FALSE:
		return vm->false_;
	case L_BYTES: {
		size_t slots = ((size_t)l->n + 7) / 8;
		oop o = st_alloc_old(vm, CI_BYTEARRAY, OBJ_FMT_BYTES, slots, (unsigned)(slots * 8 - (size_t)l->n), 0);
		for (int i = 0; o && i < l->n; i++)
			obj_bytes(o)[i] = (uint8_t)l->elems[i]->ival;
		return o;
	}
	case L_ARRAY: {
		oop a = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, (size_t)l->n, 0, 0);
		if (!a)
			return 0;
		ST_ROOT(vm, a);
		for (int i = 0; i < l->n; i++) {
			oop e = make_lit(c, l->elems[i]);
			if (!e) {
				a = 0;
				break;
			}
			st_put(vm, a, (size_t)i, e);
		}
		ST_UNROOT(vm, 1);
		return a;
	}
	}
	return 0;
}

static int const_lit(struct compiler *c, struct fn *f, struct lit *l)
{
	if (l->k == L_CELL && l->cell_fn == f)
		return l->cell_idx;
	if (l->k == L_BINDING) {
		oop o = make_lit(c, l);
		return o ? lit_index(c, f, o) : -1;
	}
	if (l->k == L_CELL) {
		int i = add_lit_slot(c, f);
		oop o = i >= 0 ? make_lit(c, l) : 0;
		if (!o)
			return -1;
		st_put(c->vm, f->lits, (size_t)i, o);
		l->cell_fn = f;
		l->cell_idx = i;
		return i;
	}
	if (l->k == L_SYMBOL || l->k == L_CHAR || (l->k == L_INT && obj_int_fits(l->ival))) {
		oop o = make_lit(c, l);
		return o ? lit_index(c, f, o) : -1;
	}
	int i = add_lit_slot(c, f);
	if (i < 0)
		return -1;
	oop o = make_lit(c, l);
	if (!o) {
		cerr(c, c->line, 1, "out of memory");
		return -1;
	}
	st_put(c->vm, f->lits, (size_t)i, o);
	return i;
}

static int sym_lit(struct compiler *c, struct fn *f, const char *s)
{
	oop sym = st_symbol(c->vm, s, strlen(s));
	return lit_index(c, f, sym);
}

/* ---- name resolution for non-locals -------------------------------------- */

static int ivar_index(struct st_vm *vm, oop cls, const char *name)
{
	/* instance variables of the superclasses come first */
	if (cls == vm->nil || !cls)
		return -1;
	oop sup = st_slot(cls, CLS_SUPER);
	int base = sup == vm->nil ? 0 : st_instsize(sup);
	int r = ivar_index(vm, sup, name);
	if (r >= 0)
		return r;
	oop iv = st_slot(cls, CLS_IVARS);
	if (iv == vm->nil)
		return -1;
	for (size_t i = 0; i < obj_slots(iv); i++)
		if (st_string_eq(obj_body(iv)[i], name))
			return base + (int)i;
	return -1;
}

/* Class variable binding of [cls] (or its class side's instance class). */
static oop classvar(struct st_vm *vm, oop cls, const char *name)
{
	if (!cls || cls == vm->nil)
		return 0;
	if (obj_cls(cls) == CI_METACLASS)
		cls = st_slot(cls, CLS_THIS);
	for (; cls != vm->nil; cls = st_slot(cls, CLS_SUPER)) {
		oop pool = st_slot(cls, CLS_POOL);
		if (pool == vm->nil)
			continue;
		for (size_t i = 0; i < obj_slots(pool); i++) {
			oop a = obj_body(pool)[i];
			if (st_string_eq(st_slot(a, ASSOC_KEY), name))
				return a;
		}
	}
	return 0;
}

/*
 * Globals and namespaces. A namespace is a prefix of global names: the
 * class Foo defined inside "Namespace current: MyLib [ ]" is the global
 * MyLib.Foo, named #'MyLib.Foo'. A name is looked up in the namespace of the
 * code (of the class a method is compiled for, else the namespace the item
 * is written in), then in the enclosing ones, then in Smalltalk.
 * "Smalltalk." in front of a name is dropped, and SystemExceptions.Foo and
 * Kernel.Foo fall back to the global Foo when there is no such name.
 */
static oop pools_binding(struct compiler *c, oop pools, const char *name);
static oop ns_pools(struct compiler *c, const char *path, size_t n);

static oop find_global(struct st_vm *vm, const char *name, size_t n)
{
	oop s = st_lookup_symbol(vm, name, n);
	return s ? st_global_binding(vm, s, 0) : 0;
}

/* The namespace of the code being compiled: "" for Smalltalk. */
static const char *code_ns(struct compiler *c, size_t *n)
{
	struct st_vm *vm = c->vm;
	oop cls = c->cls;
	if (cls && cls != vm->nil) {
		if (obj_cls(cls) == CI_METACLASS)
			cls = st_slot(cls, CLS_THIS);
		oop nm = st_slot(cls, CLS_NAME);
		if (obj_is_ptr(nm) && obj_fmt(nm) == OBJ_FMT_BYTES) {
			const char *b = (const char *)obj_bytes(nm);
			size_t k = obj_byte_size(nm);
			while (k > 0 && b[k - 1] != '.')
				k--;
			if (k) {
				*n = k - 1;
				return b;
			}
		}
	}
	*n = c->ns ? strlen(c->ns) : 0;
	return c->ns ? c->ns : "";
}

/* The global "NS.NAME" (built in [buf]), or 0; "NS.NAME" must fit. */
static oop ns_member(struct st_vm *vm, char *buf, size_t bufsz, const char *ns, size_t nsl,
		     const char *name, size_t nl)
{
	if (nsl + 1 + nl >= bufsz)
		return 0;
	memcpy(buf, ns, nsl);
	buf[nsl] = '.';
	memcpy(buf + nsl + 1, name, nl);
	return find_global(vm, buf, nsl + 1 + nl);
}

/* The length of the namespace enclosing "A.B.C" (its first [nsl] bytes): "A.B" */
static size_t ns_outer(const char *ns, size_t nsl)
{
	while (nsl > 0 && ns[nsl - 1] != '.')
		nsl--;
	return nsl ? nsl - 1 : 0;
}

static oop global_binding(struct compiler *c, const char *name, int create)
{
	struct st_vm *vm = c->vm;
	while (!strncmp(name, "Smalltalk.", 10) && name[10])
		name += 10;
	size_t nl = strlen(name), nsl;
	const char *np = code_ns(c, &nsl);
	char buf[512], ns[256];
	if (nsl >= sizeof ns)
		nsl = 0;
	memcpy(ns, np, nsl); /* a collection may move the name's bytes */
	while (nsl > 0 && nsl + 1 + nl < sizeof buf) {
		oop b = ns_member(vm, buf, sizeof buf, ns, nsl, name, nl);
		if (b)
			return b;
		if (!strchr(name, '.') && (b = pools_binding(c, ns_pools(c, buf, nsl), name)))
			return b;
		nsl = ns_outer(ns, nsl);
	}
	oop b = find_global(vm, name, nl);
	if (b)
		return b;
	const char *dot = strrchr(name, '.');
	if (dot && (!strncmp(name, "SystemExceptions.", 17) || !strncmp(name, "Kernel.", 7)) &&
	    (b = find_global(vm, dot + 1, strlen(dot + 1))))
		return b;
	if (!dot && nl + 17 < sizeof buf) {
		/* gst's kernel names its exceptions unqualified too (MutationError) */
		memcpy(buf, "SystemExceptions.", 17);
		memcpy(buf + 17, name, nl);
		if ((b = find_global(vm, buf, nl + 17)))
			return b;
	}
	if (dot && (size_t)(dot - name) < sizeof buf) {
		/* Foo.Bar: the class variable Bar of the class Foo */
		memcpy(buf, name, (size_t)(dot - name));
		buf[dot - name] = 0;
		oop cb = global_binding(c, buf, 0);
		oop cls = cb ? st_slot(cb, ASSOC_VALUE) : 0;
		if ((!cls || !is_class(vm, cls)) && c->unit)
			cls = find_class(c->unit, buf); /* defined in this file, not yet bound */
		if (cls && is_class(vm, cls) && (b = classvar(vm, cls, dot + 1)))
			return b;
	}
	if (!create)
		return 0;
	np = code_ns(c, &nsl);
	if (nsl > 0 && nsl + 1 + nl < sizeof buf) {
		/* not defined yet: the name is taken to be the namespace's own,
		 * as X at: #Name put: or a class definition later makes it */
		memcpy(buf, np, nsl);
		buf[nsl] = '.';
		memcpy(buf + nsl + 1, name, nl);
		return st_global_binding(vm, st_symbol(vm, buf, nsl + 1 + nl), 1);
	}
	return st_global_binding(vm, st_symbol(vm, name, nl), 1);
}

/*
 * Shared pools (<import: X> in a class body; <import: X> in a namespace body,
 * run as "Ns import: X"): at compile time, a pool that is a Namespace
 * answers its global path.name, Smalltalk its global name, and a
 * Dictionary (instance variables keys and values) an Association holding
 * the value it has now.
 */
static oop pool_binding(struct compiler *c, oop pool, const char *name)
{
	struct st_vm *vm = c->vm;
	if (!pool || !obj_is_ptr(pool))
		return 0;
	if (pool == vm->smalltalk)
		return find_global(vm, name, strlen(name));
	oop cls = st_class_of(vm, pool);
	oop nsb = find_global(vm, "Namespace", 9);
	if (nsb && st_slot(nsb, ASSOC_VALUE) == cls) {
		oop path = st_slot(pool, 0);
		char buf[512];
		size_t pl, nl = strlen(name);
		if (!obj_is_ptr(path) || obj_fmt(path) != OBJ_FMT_BYTES ||
		    (pl = obj_byte_size(path)) + 1 + nl >= sizeof buf)
			return 0;
		memcpy(buf, obj_bytes(path), pl);
		buf[pl] = '.';
		memcpy(buf + pl + 1, name, nl);
		return find_global(vm, buf, pl + 1 + nl);
	}
	int ki = ivar_index(vm, cls, "keys"), vi = ivar_index(vm, cls, "values");
	if (ki < 0 || vi < 0 || obj_fmt(pool) != OBJ_FMT_PTRS)
		return 0;
	oop keys = st_slot(pool, (size_t)ki), vals = st_slot(pool, (size_t)vi);
	if (!obj_is_ptr(keys) || !obj_is_ptr(vals) || obj_cls(keys) != CI_ARRAY ||
	    obj_cls(vals) != CI_ARRAY || obj_slots(keys) != obj_slots(vals))
		return 0;
	for (size_t i = 0; i < obj_slots(keys); i++) {
		oop k = obj_body(keys)[i];
		if (!obj_is_ptr(k) || obj_fmt(k) != OBJ_FMT_BYTES || !st_string_eq(k, name))
			continue;
		ST_ROOT(vm, k);
		ST_ROOT(vm, pool);
		oop a = st_alloc_old(vm, CI_ASSOCIATION, OBJ_FMT_PTRS, ASSOC_SIZE, 0, 0);
		ST_UNROOT(vm, 2);
		if (a) {
			st_put(vm, a, ASSOC_KEY, k);
			st_put(vm, a, ASSOC_VALUE, obj_body(st_slot(pool, (size_t)vi))[i]);
		}
		return a;
	}
	return 0;
}

/* [name] in the pools of the Array [pools] (nil: none). */
static oop pools_binding(struct compiler *c, oop pools, const char *name)
{
	struct st_vm *vm = c->vm;
	if (!pools || !obj_is_ptr(pools) || obj_cls(pools) != CI_ARRAY)
		return 0;
	ST_ROOT(vm, pools);
	oop b = 0;
	for (size_t i = 0; !b && i < obj_slots(pools); i++)
		b = pool_binding(c, obj_body(pools)[i], name);
	ST_UNROOT(vm, 1);
	return b;
}

/* The pools a namespace imports: its second instance variable. */
static oop ns_pools(struct compiler *c, const char *path, size_t n)
{
	struct st_vm *vm = c->vm;
	oop b = find_global(vm, path, n), nsb = find_global(vm, "Namespace", 9);
	oop ns = b ? st_slot(b, ASSOC_VALUE) : 0;
	if (!ns || !nsb || !obj_is_ptr(ns) || st_class_of(vm, ns) != st_slot(nsb, ASSOC_VALUE) ||
	    obj_slots(ns) < 2)
		return 0;
	return st_slot(ns, 1);
}

/* The pools of class [cls] (<import: X>): the global " pools NAME". */
static oop class_pools(struct st_vm *vm, oop cls)
{
	oop nm = st_slot(cls, CLS_NAME);
	char buf[512];
	size_t n;
	if (!obj_is_ptr(nm) || obj_fmt(nm) != OBJ_FMT_BYTES || (n = obj_byte_size(nm)) + 8 > sizeof buf)
		return 0;
	memcpy(buf, " pools ", 7);
	memcpy(buf + 7, obj_bytes(nm), n);
	oop b = find_global(vm, buf, n + 7);
	return b ? st_slot(b, ASSOC_VALUE) : 0;
}

/* The namespace path of class [cls] (its name up to the last dot): [*n]
 * bytes at the answer, 0 for Smalltalk. */
static const char *class_ns(struct st_vm *vm, oop cls, size_t *n)
{
	(void)vm;
	*n = 0;
	oop nm = st_slot(cls, CLS_NAME);
	if (!obj_is_ptr(nm) || obj_fmt(nm) != OBJ_FMT_BYTES)
		return "";
	const char *b = (const char *)obj_bytes(nm);
	size_t k = obj_byte_size(nm);
	while (k > 0 && b[k - 1] != '.')
		k--;
	*n = k ? k - 1 : 0;
	return b;
}

/*
 * [name] as GNU Smalltalk finds it from a method of [cls]: for the class
 * and then each superclass, its class variables, then the namespaces from
 * the class's own up to (not including) the one that also holds its
 * superclass. Smalltalk itself is left to global_binding. 0: not found.
 */
static oop class_scoped(struct compiler *c, oop cls, const char *name)
{
	struct st_vm *vm = c->vm;
	if (!cls || cls == vm->nil || strchr(name, '.'))
		return 0;
	if (obj_cls(cls) == CI_METACLASS)
		cls = st_slot(cls, CLS_THIS);
	size_t nl = strlen(name);
	char buf[512];
	for (; cls != vm->nil; cls = st_slot(cls, CLS_SUPER)) {
		oop pool = st_slot(cls, CLS_POOL);
		for (size_t i = 0; pool != vm->nil && i < obj_slots(pool); i++) {
			oop a = obj_body(pool)[i];
			if (st_string_eq(st_slot(a, ASSOC_KEY), name))
				return a;
		}
		ST_ROOT(vm, cls);
		oop pb = pools_binding(c, class_pools(vm, cls), name);
		ST_UNROOT(vm, 1);
		if (pb)
			return pb;
		/* copies: a collection may move the names' bytes */
		size_t nsl, snl = 0;
		const char *np = class_ns(vm, cls, &nsl), *sp = "";
		oop sup = st_slot(cls, CLS_SUPER);
		if (sup != vm->nil)
			sp = class_ns(vm, sup, &snl);
		char ns[256], sns[256];
		if (nsl >= sizeof ns || snl >= sizeof sns)
			continue;
		memcpy(ns, np, nsl);
		memcpy(sns, sp, snl);
		while (nsl > 0) {
			/* stop at a namespace holding the superclass too */
			if (sup != vm->nil && nsl <= snl && !memcmp(ns, sns, nsl) &&
			    (nsl == snl || sns[nsl] == '.'))
				break;
			if (nsl + 1 + nl < sizeof buf) {
				oop b = ns_member(vm, buf, sizeof buf, ns, nsl, name, nl);
				if (b)
					return b;
				ST_ROOT(vm, cls);
				b = pools_binding(c, ns_pools(c, ns, nsl), name);
				ST_UNROOT(vm, 1);
				if (b)
					return b;
			}
			nsl = ns_outer(ns, nsl);
		}
	}
	return 0;
}

enum { NL_NONE, NL_IVAR, NL_BINDING };

static int nonlocal(struct compiler *c, struct fn *f, const char *name, int *idx, int line, int col)
{
	struct st_vm *vm = c->vm;
	/* a doit has no instance variables (class variable initialisers are
	 * compiled in their class's scope, self being nil) */
	int iv = c->cls && !c->doit ? ivar_index(vm, c->cls, name) : -1;
	if (iv >= 0) {
		*idx = iv;
		return NL_IVAR;
	}
	oop b = class_scoped(c, c->cls, name);
	if (!b) {
		if (name[0] >= 'a' && name[0] <= 'z' && !(c->flags & COMP_REPL) && !c->doit &&
		    !lower_global(vm, name)) {
			cerr(c, line, col, "undeclared variable '%s'", name);
			return NL_NONE;
		}
		b = global_binding(c, name, 1);
		if (!b) {
			cerr(c, line, col, "out of memory");
			return NL_NONE;
		}
	}
	*idx = lit_index(c, f, b);
	return NL_BINDING;
}

/* Environment depth from [f] to the fn owning [v]. */
static int env_depth(struct fn *f, struct var *v)
{
	int d = 0;
	for (; f && f != v->fn; f = f->outer)
		if (f->has_env)
			d++;
	return d;
}

/* ---- disassembler -------------------------------------------------------- */

static void put_sym(FILE *out, oop s)
{
	if (obj_is_ptr(s) && obj_fmt(s) == OBJ_FMT_BYTES)
		fwrite(obj_bytes(s), 1, obj_byte_size(s), out);
	else
		fputs("?", out);
}

void comp_disasm(struct st_vm *vm, oop m, FILE *out)
{
	(void)vm;
	intptr_t h = obj_int(st_slot(m, CM_HEADER));
	oop bytes = st_slot(m, CM_BYTES);
	uint8_t *b = obj_bytes(bytes);
	size_t n = obj_byte_size(bytes);
	fputs(h & CMH_BLOCK ? "[] in " : "", out);
	put_sym(out, st_slot(m, CM_SELECTOR));
	fprintf(out, ": args %d temps %d env %d stack %d prim %d\n", (int)CMH_NARGS(h),
		(int)CMH_NTEMPS(h), (int)CMH_ENV(h), (int)CMH_STACK(h), (int)CMH_PRIM(h));
	for (size_t pc = 0; pc < n;) {
		unsigned op = b[pc];
		if (op >= OP_COUNT) {
			fprintf(out, "%5zu  ?? %u\n", pc, op);
			break;
		}
		fprintf(out, "%5zu  %-14s", pc, op_name[op]);
		for (unsigned i = 1; i < op_len[op] && pc + i < n; i++)
			fprintf(out, " %u", b[pc + i]);
		fputs("\n", out);
		pc += op_len[op];
	}
}

/* ---- superinstructions ------------------------------------------------------ */

/* The instruction after the one at [pc], or [n] past the end. */
static size_t next_pc(const uint8_t *b, size_t pc, size_t n)
{
	if (pc >= n)
		return n; /* b[n] is past the buffer: quicken() looks 5 ahead */
	size_t q = pc + (b[pc] < OP_COUNT ? op_len[b[pc]] : 1);
	return q < n ? q : n;
}

static int rd16(const uint8_t *p) { return (int16_t)(p[0] | p[1] << 8); }

/* quicken() computes superinstructions from ranges of vm/opcodes.h. */
#define SAME_CMP_ORDER(x)                                                              \
	(OP_##x - OP_LT == OP_##x##_JF - OP_LT_JF && OP_##x - OP_LT == OP_##x##_JT - OP_LT_JT && \
	 OP_##x - OP_LT == OP_LL_##x##_JF - OP_LL_LT_JF &&                                \
	 OP_##x - OP_LT == OP_LL_##x##_JT - OP_LL_LT_JT)
#define SAME_INT_ORDER(x)                                                              \
	(OP_##x##_INT - OP_LT_INT == OP_##x##_INT_JF - OP_LT_INT_JF &&                    \
	 OP_##x##_INT - OP_LT_INT == OP_##x##_INT_JT - OP_LT_INT_JT)
_Static_assert(OP_NE - OP_LT == 5 && SAME_CMP_ORDER(GT) && SAME_CMP_ORDER(LE) &&
		       SAME_CMP_ORDER(GE) && SAME_CMP_ORDER(EQ) && SAME_CMP_ORDER(NE),
	       "LT..NE and their _JF, _JT, LL_ forms in one order");
_Static_assert(SAME_INT_ORDER(GT) && SAME_INT_ORDER(LE) && SAME_INT_ORDER(GE) &&
		       SAME_INT_ORDER(EQ),
	       "LT_INT..EQ_INT and their _JF, _JT forms in one order");
_Static_assert(OP_RET_TRUE - OP_RET_NIL == OP_PUSH_TRUE - OP_PUSH_NIL &&
		       OP_RET_FALSE - OP_RET_NIL == OP_PUSH_FALSE - OP_PUSH_NIL,
	       "RET_NIL..RET_FALSE in the order of PUSH_NIL..PUSH_FALSE");
_Static_assert(OP_SELF_ADD_INT == OP_SELF_SEND0 + 1 && OP_SELF_SUB_INT == OP_SELF_SEND0 + 2 &&
		       OP_SELF_LT_INT_JF == OP_SELF_SEND0 + 3 &&
		       OP_SELF_EQ_INT_JF == OP_SELF_SEND0 + 4 &&
		       OP_LOCAL_ADD_INT == OP_LOCAL_SEND0 + 1 &&
		       OP_LOCAL_SUB_INT == OP_LOCAL_SEND0 + 2 &&
		       OP_LOCAL_LT_INT_JF == OP_LOCAL_SEND0 + 3 &&
		       OP_LOCAL_EQ_INT_JF == OP_LOCAL_SEND0 + 4,
	       "SELF_* and LOCAL_* in the order of pushed_op()");

/* SELF_* and LOCAL_* superinstructions: a push, then one of these (the
 * order of vm/opcodes.h: SEND0, ADD_INT, SUB_INT, LT_INT_JF, EQ_INT_JF). */
static int pushed_op(int o1, int o2)
{
	int jf = o2 == OP_JUMP_FALSE;
	return o1 == OP_SEND0 ? 0 : o1 == OP_ADD_INT ? 1 : o1 == OP_SUB_INT ? 2
		: o1 == OP_LT_INT && jf ? 3 : o1 == OP_EQ_INT && jf ? 4 : -1;
}

/*
 * The last pass: overwrites the opcode byte of the first instruction of
 * common sequences with a superinstruction (vm/opcodes.h). Nothing moves,
 * so jumps, the line table and jumps into the middle of a sequence stay
 * right; the interpreter falls back on the first instruction whenever the
 * fast path does not apply.
 */
static void quicken(uint8_t *b, size_t n)
{
	for (size_t p0 = 0; p0 < n; p0 = next_pc(b, p0, n)) {
		size_t p1 = next_pc(b, p0, n), p2 = next_pc(b, p1, n);
		size_t p3 = next_pc(b, p2, n), p4 = next_pc(b, p3, n), p5 = next_pc(b, p4, n);
		int o0 = b[p0], o1 = p1 < n ? b[p1] : -1, o2 = p2 < n ? b[p2] : -1;
		int o3 = p3 < n ? b[p3] : -1, o4 = p4 < n ? b[p4] : -1, o5 = p5 < n ? b[p5] : -1;
		int jf = o1 == OP_JUMP_FALSE, jt = o1 == OP_JUMP_TRUE;
		switch (o0) {
		case OP_LT: case OP_GT: case OP_LE: case OP_GE: case OP_EQ: case OP_NE:
			if (jf || jt)
				b[p0] = (uint8_t)((jf ? OP_LT_JF : OP_LT_JT) + (o0 - OP_LT));
			break;
		case OP_LT_INT: case OP_GT_INT: case OP_LE_INT: case OP_GE_INT: case OP_EQ_INT:
			if (jf || jt)
				b[p0] = (uint8_t)((jf ? OP_LT_INT_JF : OP_LT_INT_JT) + (o0 - OP_LT_INT));
			break;
		case OP_PUSH_LOCAL:
			if (o1 == OP_RETURN) {
				b[p0] = OP_RET_LOCAL;
			} else if (o1 == OP_ADD_INT && o2 == OP_POP_LOCAL && b[p2 + 1] == b[p0 + 1]) {
				int8_t k = (int8_t)b[p1 + 1];
				/* to:do: and to:by:do: end with the step and the test */
				if (o3 == OP_PUSH_LOCAL2 && b[p3 + 1] == b[p0 + 1] &&
				    o4 == (k > 0 ? OP_LE : OP_GE) && o5 == OP_JUMP_TRUE &&
				    rd16(b + p5 + 1) < 0)
					b[p0] = OP_FOR_LOOP;
				else
					b[p0] = OP_INC_LOCAL;
			} else {
				int op = pushed_op(o1, o2);
				if (op >= 0)
					b[p0] = (uint8_t)(OP_LOCAL_SEND0 + op);
			}
			break;
		case OP_PUSH_LOCAL2:
			if ((o1 == OP_ADD || o1 == OP_SUB) && o2 == OP_POP_LOCAL)
				b[p0] = o1 == OP_ADD ? OP_ADD_LL_POP : OP_SUB_LL_POP;
			else if (o1 == OP_AT)
				b[p0] = OP_AT_LL;
			else if (o1 >= OP_LT && o1 <= OP_NE && (o2 == OP_JUMP_FALSE || o2 == OP_JUMP_TRUE))
				b[p0] = (uint8_t)((o2 == OP_JUMP_FALSE ? OP_LL_LT_JF : OP_LL_LT_JT) + (o1 - OP_LT));
			else if ((o1 == OP_PUSH_NIL || o1 == OP_PUSH_TRUE || o1 == OP_PUSH_FALSE) &&
				 o2 == OP_ATPUT && o3 == OP_POP)
				b[p0] = OP_ATPUT_LLC;
			else if (o1 == OP_PUSH_LOCAL && o2 == OP_ATPUT && o3 == OP_POP)
				b[p0] = OP_ATPUT_LLL;
			break;
		case OP_ATPUT:
			if (o1 == OP_POP)
				b[p0] = OP_ATPUT_POP;
			break;
		case OP_PUSH_IVAR:
			if (o1 == OP_RETURN)
				b[p0] = OP_RET_IVAR;
			break;
		case OP_PUSH_INT:
			if (o1 == OP_RETURN)
				b[p0] = OP_RET_INT;
			break;
		case OP_PUSH_SELF:
			if (o1 == OP_RETURN) {
				b[p0] = OP_RETURN_SELF;
			} else {
				int op = pushed_op(o1, o2);
				if (op >= 0)
					b[p0] = (uint8_t)(OP_SELF_SEND0 + op);
			}
			break;
		case OP_PUSH_NIL: case OP_PUSH_TRUE: case OP_PUSH_FALSE:
			if (o1 == OP_RETURN)
				b[p0] = (uint8_t)(OP_RET_NIL + (o0 - OP_PUSH_NIL));
			break;
		default:
			break;
		}
	}
}

/* ---- pass 3: code ------------------------------------------------------------ */

static void gen(struct compiler *c, struct fn *f, struct node *n);
static void gen_stmts_value(struct compiler *c, struct fn *f, struct block *b);
static oop gen_fn(struct compiler *c, struct fn *f, const char *sel, int prim, int line);

static void push_var(struct compiler *c, struct fn *f, struct node *n)
{
	const char *nm = n->name;
	if (n->var) {
		struct var *v = n->var;
		if (v->captured)
			opbb(f, OP_PUSH_OUTER, env_depth(f, v), v->env);
		else
			op1(f, OP_PUSH_LOCAL, v->slot & 0xff);
		return;
	}
	if (!strcmp(nm, "self") || !strcmp(nm, "super"))
		op0(f, OP_PUSH_SELF);
	else if (!strcmp(nm, "nil"))
		op0(f, OP_PUSH_NIL);
	else if (!strcmp(nm, "true"))
		op0(f, OP_PUSH_TRUE);
	else if (!strcmp(nm, "false"))
		op0(f, OP_PUSH_FALSE);
	else if (!strcmp(nm, "thisContext"))
		op0(f, OP_PUSH_CONTEXT);
	else {
		int idx = 0, k = nonlocal(c, f, nm, &idx, n->line, n->col);
		if (k == NL_IVAR)
			op1(f, OP_PUSH_IVAR, idx);
		else if (k == NL_BINDING)
			op2(f, OP_PUSH_GLOBAL, idx);
	}
}

/* Stores top into the variable; pops when [pop]. */
static void store_var(struct compiler *c, struct fn *f, struct node *n, int pop)
{
	if (n->var) {
		struct var *v = n->var;
		if (v->captured)
			opbb(f, pop ? OP_POP_OUTER : OP_STORE_OUTER, env_depth(f, v), v->env);
		else
			op1(f, pop ? OP_POP_LOCAL : OP_STORE_LOCAL, v->slot & 0xff);
		return;
	}
	int idx = 0, k = nonlocal(c, f, n->name, &idx, n->line, n->col);
	if (k == NL_IVAR)
		op1(f, pop ? OP_POP_IVAR : OP_STORE_IVAR, idx);
	else if (k == NL_BINDING)
		op2(f, pop ? OP_POP_GLOBAL : OP_STORE_GLOBAL, idx);
}

static void store_local_var(struct fn *f, struct var *v, int pop)
{
	if (v->captured)
		opbb(f, pop ? OP_POP_OUTER : OP_STORE_OUTER, env_depth(f, v), v->env);
	else
		op1(f, pop ? OP_POP_LOCAL : OP_STORE_LOCAL, v->slot & 0xff);
}
static void push_local_var(struct fn *f, struct var *v)
{
	if (v->captured)
		opbb(f, OP_PUSH_OUTER, env_depth(f, v), v->env);
	else
		op1(f, OP_PUSH_LOCAL, v->slot & 0xff);
}

/* The body of an inlined block, leaving its value. */
static void gen_inline_body(struct compiler *c, struct fn *f, struct node *bn)
{
	struct block *b = bn->block;
	/* block temporaries start as nil at every evaluation */
	struct scope *s = b->scope;
	for (int i = b->nparams; s && i < s->nvars; i++) {
		op0(f, OP_PUSH_NIL);
		store_local_var(f, s->vars[i], 1);
	}
	gen_stmts_value(c, f, b);
}

static const struct {
	const char *sel;
	int op, nargs;
} specials[] = {
	{"+", OP_ADD, 1}, {"-", OP_SUB, 1}, {"<", OP_LT, 1}, {">", OP_GT, 1},
	{"<=", OP_LE, 1}, {">=", OP_GE, 1}, {"=", OP_EQ, 1}, {"~=", OP_NE, 1},
	{"*", OP_MUL, 1}, {"/", OP_DIV, 1}, {"\\\\", OP_MOD, 1}, {"//", OP_IDIV, 1},
	{"bitAnd:", OP_BITAND, 1}, {"bitOr:", OP_BITOR, 1}, {"bitShift:", OP_BITSHIFT, 1},
	{"at:", OP_AT, 1}, {"at:put:", OP_ATPUT, 2}, {"size", OP_SIZE, 0},
	{"value", OP_VALUE, 0}, {"value:", OP_VALUE1, 1}, {"isNil", OP_ISNIL, 0},
	{"notNil", OP_NOTNIL, 0}, {"class", OP_CLASS, 0}, {"==", OP_IDENT, 1},
};

static void gen_send_op(struct compiler *c, struct fn *f, const char *sel, int nargs, int super,
			int line)
{
	note_line(f, line);
	if (!super) {
		for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
			if (!strcmp(specials[i].sel, sel)) {
				int op = specials[i].op, fused = -1;
				switch (op) {
				case OP_ADD: fused = OP_ADD_INT; break;
				case OP_SUB: fused = OP_SUB_INT; break;
				case OP_LT: fused = OP_LT_INT; break;
				case OP_GT: fused = OP_GT_INT; break;
				case OP_LE: fused = OP_LE_INT; break;
				case OP_GE: fused = OP_GE_INT; break;
				case OP_EQ: fused = OP_EQ_INT; break;
				default: break;
				}
				/* PUSH_INT n; ADD -> ADD_INT n (unless n is a jump target) */
				if (fused >= 0 && f->lastop == OP_PUSH_INT && f->lastpos + 2 == f->n &&
				    f->label_at != f->n) {
					f->code[f->lastpos] = (uint8_t)fused;
					f->lastop = fused;
					depth(f, op_effect(fused, 0) - op_effect(OP_PUSH_INT, 0));
					return;
				}
				op0(f, op);
				return;
			}
	}
	int l;
	if (!super && nargs <= 2) {
		/* SEND0..2 own three literals: the selector and the send site's
		 * inline cache (key, method), nil until the first send */
		oop sym = st_symbol(c->vm, sel, strlen(sel)); /* pinned */
		l = add_lit_slot(c, f);
		if (l >= 0 && add_lit_slot(c, f) >= 0 && add_lit_slot(c, f) >= 0)
			st_put(c->vm, f->lits, (size_t)l, sym);
	} else {
		l = sym_lit(c, f, sel);
	}
	if (nargs > 255)
		cerr(c, line, 1, "too many arguments");
	_Static_assert(OP_SEND1 == OP_SEND0 + 1 && OP_SEND2 == OP_SEND0 + 2, "SEND0..2 in order");
	int op = super ? OP_SUPER : nargs <= 2 ? OP_SEND0 + nargs : OP_SEND;
	f->lastop = op;
	f->lastpos = f->n;
	need(f, 4);
	f->code[f->n++] = (uint8_t)op;
	f->code[f->n++] = (uint8_t)l;
	f->code[f->n++] = (uint8_t)(l >> 8);
	f->code[f->n++] = (uint8_t)nargs;
	depth(f, op_effect(op, nargs));
}

static void gen_effect(struct compiler *c, struct fn *f, struct node *n);
static void gen_inline_effect(struct compiler *c, struct fn *f, struct node *bn);

/* [value]: leave the value of the construct (nil for loops) on the stack. */
static void gen_inlined(struct compiler *c, struct fn *f, struct node *n, int value)
{
	struct node **a = n->args;
	size_t j1, j2, top;
	int d0;
	switch (n->inlined) {
	case IN_IFTRUE:
	case IN_IFFALSE:
		gen(c, f, n->rcv);
		j1 = jump_fwd(f, n->inlined == IN_IFTRUE ? OP_JUMP_FALSE : OP_JUMP_TRUE);
		d0 = f->depth;
		gen_inline_body(c, f, a[0]);
		j2 = jump_fwd(f, OP_JUMP);
		patch(c, f, j1);
		f->depth = d0;
		op0(f, OP_PUSH_NIL);
		patch(c, f, j2);
		return;
	case IN_IFTRUEIFFALSE:
	case IN_IFFALSEIFTRUE:
		gen(c, f, n->rcv);
		j1 = jump_fwd(f, n->inlined == IN_IFTRUEIFFALSE ? OP_JUMP_FALSE : OP_JUMP_TRUE);
		d0 = f->depth;
		gen_inline_body(c, f, a[0]);
		j2 = jump_fwd(f, OP_JUMP);
		patch(c, f, j1);
		f->depth = d0;
		gen_inline_body(c, f, a[1]);
		patch(c, f, j2);
		return;
	case IN_AND:
	case IN_OR:
		gen(c, f, n->rcv);
		j1 = jump_fwd(f, n->inlined == IN_AND ? OP_JUMP_FALSE : OP_JUMP_TRUE);
		d0 = f->depth;
		gen_inline_body(c, f, a[0]);
		j2 = jump_fwd(f, OP_JUMP);
		patch(c, f, j1);
		f->depth = d0;
		op0(f, n->inlined == IN_AND ? OP_PUSH_FALSE : OP_PUSH_TRUE);
		patch(c, f, j2);
		return;
	case IN_WHILETRUE:
	case IN_WHILEFALSE:
	case IN_WHILETRUE0:
	case IN_WHILEFALSE0: {
		/* the test at the bottom: one conditional jump per iteration */
		int tr = n->inlined == IN_WHILETRUE || n->inlined == IN_WHILETRUE0;
		int body = n->inlined == IN_WHILETRUE || n->inlined == IN_WHILEFALSE;
		j1 = body ? jump_fwd(f, OP_JUMP) : 0;
		top = f->n;
		f->label_at = f->n;
		if (body) {
			gen_inline_effect(c, f, a[0]);
			patch(c, f, j1);
		}
		gen_inline_body(c, f, n->rcv);
		jump_back(c, f, tr ? OP_JUMP_TRUE : OP_JUMP_FALSE, top);
		if (value)
			op0(f, OP_PUSH_NIL);
		return;
	}
	case IN_REPEAT:
		top = f->n;
		f->label_at = f->n;
		gen_inline_effect(c, f, n->rcv);
		jump_back(c, f, OP_JUMP, top);
		if (value)
			op0(f, OP_PUSH_NIL); /* unreachable, keeps the stack shape */
		return;
	case IN_TIMES: {
		/* a hidden counter counts down; the test is repeated at the bottom.
		 * The value is the receiver, as for the real send (and in gst). */
		gen(c, f, n->rcv);
		if (value)
			op0(f, OP_DUP);
		store_local_var(f, n->var, 1);
		push_local_var(f, n->var);
		op1(f, OP_GT_INT, 0);
		j1 = jump_fwd(f, OP_JUMP_FALSE);
		top = f->n;
		f->label_at = f->n;
		push_local_var(f, n->var);
		op1(f, OP_ADD_INT, 0xff);
		store_local_var(f, n->var, 1);
		gen_inline_effect(c, f, a[0]);
		push_local_var(f, n->var);
		op1(f, OP_GT_INT, 0);
		jump_back(c, f, OP_JUMP_TRUE, top);
		patch(c, f, j1);
		return;
	}
	case IN_TODO:
	case IN_TOBYDO: {
		/* test once before the loop, then after each step at the bottom */
		struct node *body = n->inlined == IN_TODO ? a[1] : a[2];
		int64_t step = n->inlined == IN_TODO ? 1 : a[1]->lit->ival;
		struct var *iv = body->block->scope->vars[0];
		gen(c, f, n->rcv);
		if (value)
			op0(f, OP_DUP); /* the value: the receiver, as for the real send */
		store_local_var(f, iv, 1);
		gen(c, f, a[0]);
		store_local_var(f, n->var, 1);
		push_local_var(f, iv);
		push_local_var(f, n->var);
		op0(f, step > 0 ? OP_LE : OP_GE);
		j1 = jump_fwd(f, OP_JUMP_FALSE);
		top = f->n;
		f->label_at = f->n;
		/* the body's own temps (not the loop variable) */
		struct scope *s = body->block->scope;
		for (int i = 1; i < s->nvars; i++) {
			op0(f, OP_PUSH_NIL);
			store_local_var(f, s->vars[i], 1);
		}
		for (int i = 0; i < body->block->nstmts; i++) {
			note_line(f, body->block->stmts[i]->line);
			gen_effect(c, f, body->block->stmts[i]);
		}
		push_local_var(f, iv);
		if (step >= -128 && step <= 127) {
			op1(f, OP_ADD_INT, (int)step & 0xff);
		} else {
			int l = const_lit(c, f, a[1]->lit);
			op2(f, OP_PUSH_LIT, l);
			op0(f, OP_ADD);
		}
		store_local_var(f, iv, 1);
		push_local_var(f, iv);
		push_local_var(f, n->var);
		op0(f, step > 0 ? OP_LE : OP_GE);
		jump_back(c, f, OP_JUMP_TRUE, top);
		patch(c, f, j1);
		return;
	}
	case IN_IFNIL:
		gen(c, f, n->rcv);
		op0(f, OP_DUP);
		op0(f, OP_ISNIL);
		j1 = jump_fwd(f, OP_JUMP_FALSE);
		op0(f, OP_POP);
		gen_inline_body(c, f, a[0]);
		patch(c, f, j1);
		return;
	case IN_IFNOTNIL:
	case IN_IFNILIFNOTNIL:
	case IN_IFNOTNILIFNIL: {
		struct node *nn = n->inlined == IN_IFNOTNILIFNIL ? a[0] : (n->inlined == IN_IFNOTNIL ? a[0] : a[1]);
		struct node *nl = n->inlined == IN_IFNOTNILIFNIL ? a[1] : (n->inlined == IN_IFNILIFNOTNIL ? a[0] : NULL);
		gen(c, f, n->rcv);
		store_local_var(f, n->var, 0);
		op0(f, OP_ISNIL);
		j1 = jump_fwd(f, OP_JUMP_TRUE);
		d0 = f->depth;
		if (nn->block->nparams == 1) {
			push_local_var(f, n->var);
			store_local_var(f, nn->block->scope->vars[0], 1);
		}
		gen_inline_body(c, f, nn);
		j2 = jump_fwd(f, OP_JUMP);
		patch(c, f, j1);
		f->depth = d0;
		if (nl)
			gen_inline_body(c, f, nl);
		else
			op0(f, OP_PUSH_NIL);
		patch(c, f, j2);
		return;
	}
	}
}

/* A send whose innermost receiver may be the cascade hole (rcv NULL). */
static void gen_send(struct compiler *c, struct fn *f, struct node *n)
{
	if (n->inlined) {
		gen_inlined(c, f, n, 1);
		return;
	}
	if (c->ns && c->doit && n->nargs == 0 && n->rcv && n->rcv->k == N_VAR && !n->rcv->var &&
	    n->rcv->name && !strcmp(n->rcv->name, "Namespace") && !strcmp(n->sel, "current")) {
		/* statements inside "Namespace current: X [ ]": X */
		oop b = st_global_binding(c->vm, st_symbol(c->vm, c->ns, strlen(c->ns)), 1);
		int k = b ? lit_index(c, f, b) : -1;
		if (k >= 0)
			op2(f, OP_PUSH_GLOBAL, k);
		return;
	}
	if (n->rcv)
		gen(c, f, n->rcv);
	for (int i = 0; i < n->nargs; i++)
		gen(c, f, n->args[i]);
	gen_send_op(c, f, n->sel, n->nargs, n->super, n->line);
}

static void gen(struct compiler *c, struct fn *f, struct node *n)
{
	if (c->failed || !n)
		return;
	c->line = n->line;
	switch (n->k) {
	case N_LIT: {
		struct lit *l = n->lit;
		if (l->k == L_NIL)
			op0(f, OP_PUSH_NIL);
		else if (l->k == L_TRUE)
			op0(f, OP_PUSH_TRUE);
		else if (l->k == L_FALSE)
			op0(f, OP_PUSH_FALSE);
		else if (l->k == L_INT && l->ival >= -128 && l->ival <= 127)
			op1(f, OP_PUSH_INT, (int)l->ival & 0xff);
		else {
			int i = const_lit(c, f, l);
			op2(f, OP_PUSH_LIT, i);
		}
		return;
	}
	case N_VAR:
		push_var(c, f, n);
		return;
	case N_CONTEXT:
		op0(f, OP_PUSH_CONTEXT);
		return;
	case N_ASSIGN:
		gen(c, f, n->value);
		note_line(f, n->line);
		store_var(c, f, n, 0);
		return;
	case N_RETURN:
		gen(c, f, n->value);
		note_line(f, n->line);
		op0(f, f->is_block ? OP_NLR : OP_RETURN);
		op0(f, OP_PUSH_NIL); /* dead; keeps the value shape of a statement */
		return;
	case N_BRACE:
		/* the element count is a 16-bit operand, and so is the stack depth */
		if (n->nargs > 0xffff - 8) {
			cerr(c, n->line, n->col, "brace array too large (limit %d elements)",
			     0xffff - 8);
			return;
		}
		for (int i = 0; i < n->nargs; i++)
			gen(c, f, n->args[i]);
		note_line(f, n->line);
		op2(f, OP_ARRAY, n->nargs);
		return;
	case N_CASCADE:
		gen(c, f, n->rcv);
		for (int i = 0; i < n->nargs; i++) {
			if (i < n->nargs - 1)
				op0(f, OP_DUP);
			gen_send(c, f, n->args[i]);
			if (i < n->nargs - 1)
				op0(f, OP_POP);
		}
		return;
	case N_SEND:
		gen_send(c, f, n);
		return;
	case N_BLOCK: {
		struct block *b = n->block;
		struct fn *bf = b->scope->fn;
		oop m = gen_fn(c, bf, c->sel, 0, b->line);
		if (!m)
			return;
		int i = lit_index(c, f, m);
		note_line(f, n->line);
		op2(f, OP_CLOSURE, i);
		return;
	}
	}
}

/* Code for [n]'s side effects only: no value is left on the stack. */
static void gen_effect(struct compiler *c, struct fn *f, struct node *n)
{
	if (c->failed || !n)
		return;
	c->line = n->line;
	if (n->k == N_ASSIGN) {
		gen(c, f, n->value);
		note_line(f, n->line);
		store_var(c, f, n, 1);
		return;
	}
	if (n->k == N_RETURN) {
		gen(c, f, n->value);
		note_line(f, n->line);
		op0(f, f->is_block ? OP_NLR : OP_RETURN);
		return;
	}
	if (n->k == N_SEND && n->inlined) {
		struct node **a = n->args;
		size_t j1, j2;
		switch (n->inlined) {
		case IN_IFTRUE:
		case IN_IFFALSE:
			gen(c, f, n->rcv);
			j1 = jump_fwd(f, n->inlined == IN_IFTRUE ? OP_JUMP_FALSE : OP_JUMP_TRUE);
			gen_inline_effect(c, f, a[0]);
			patch(c, f, j1);
			return;
		case IN_IFTRUEIFFALSE:
		case IN_IFFALSEIFTRUE:
			gen(c, f, n->rcv);
			j1 = jump_fwd(f, n->inlined == IN_IFTRUEIFFALSE ? OP_JUMP_FALSE : OP_JUMP_TRUE);
			gen_inline_effect(c, f, a[0]);
			j2 = jump_fwd(f, OP_JUMP);
			patch(c, f, j1);
			gen_inline_effect(c, f, a[1]);
			patch(c, f, j2);
			return;
		case IN_WHILETRUE: case IN_WHILEFALSE: case IN_WHILETRUE0: case IN_WHILEFALSE0:
		case IN_REPEAT: case IN_TIMES: case IN_TODO: case IN_TOBYDO:
			gen_inlined(c, f, n, 0);
			return;
		default:
			break;
		}
	}
	gen(c, f, n);
	op0(f, OP_POP);
}

/* An inlined block evaluated for effect. */
static void gen_inline_effect(struct compiler *c, struct fn *f, struct node *bn)
{
	struct block *b = bn->block;
	struct scope *s = b->scope;
	for (int i = b->nparams; s && i < s->nvars; i++) {
		op0(f, OP_PUSH_NIL);
		store_local_var(f, s->vars[i], 1);
	}
	for (int i = 0; i < b->nstmts; i++) {
		note_line(f, b->stmts[i]->line);
		gen_effect(c, f, b->stmts[i]);
	}
}

/* Statements of [b], leaving the value of the last (nil if none). */
static void gen_stmts_value(struct compiler *c, struct fn *f, struct block *b)
{
	if (b->nstmts == 0) {
		op0(f, OP_PUSH_NIL);
		return;
	}
	for (int i = 0; i < b->nstmts - 1; i++) {
		note_line(f, b->stmts[i]->line);
		gen_effect(c, f, b->stmts[i]);
	}
	note_line(f, b->stmts[b->nstmts - 1]->line);
	gen(c, f, b->stmts[b->nstmts - 1]);
}

/* The prologue: this activation's environment, captured arguments copied. */
static void prologue(struct fn *f)
{
	if (!f->has_env)
		return;
	op1(f, OP_MAKE_ENV, f->envsize + 1);
	for (int i = 0; i < f->nlocals; i++) {
		struct var *v = f->locals[i];
		if (v->captured && v->is_arg) {
			op1(f, OP_PUSH_LOCAL, (-f->nargs + v->arg_index) & 0xff);
			opbb(f, OP_POP_OUTER, 0, v->env);
		}
	}
}

/*
 * Checks the code of [f] (before quicken()) against the stack effects of
 * vm/opcodes.h: walks every path from the entry and fails on a path that
 * pops below the empty stack or runs off the end, two paths that meet with
 * different depths, or a depth beyond f->maxdepth, the room the frame gets.
 * The emitters track the depth with the same table, so this catches a wrong
 * effect in the table and an emitter whose bookkeeping does not match the
 * code it writes. Dead code (after a return) is not visited. Linear in the
 * code size, so every compile is checked.
 */
static int check_depth(struct compiler *c, struct fn *f)
{
	size_t n = f->n, nw = 0;
	const uint8_t *b = f->code;
	int *at = malloc((n + 1) * sizeof *at);
	size_t *work = malloc((n + 1) * sizeof *work);
	const char *why = NULL;
	size_t pc = 0;
	if (!at || !work) {
		free(at);
		free(work);
		cerr(c, c->line, 1, "out of memory");
		return 0;
	}
	for (size_t i = 0; i <= n; i++)
		at[i] = -1;
	at[0] = 0;
	work[nw++] = 0;
	while (nw && !why) {
		pc = work[--nw];
		int op = b[pc], d = at[pc];
		if (op >= OP_COUNT || pc + op_len[op] > n) {
			why = "bad instruction";
			break;
		}
		int len = op_len[op];
		int arg = op == OP_SEND || op == OP_SUPER ? b[pc + 3]
			: len == 3 ? (b[pc + 1] | b[pc + 2] << 8) : len == 2 ? b[pc + 1] : 0;
		d += op_effect(op, arg);
		if (d < 0) {
			why = "stack underflow";
			break;
		}
		if (d > f->maxdepth) {
			why = "stack deeper than the frame's room";
			break;
		}
		size_t next[2];
		int nn = 0;
		if (op == OP_JUMP || op == OP_JUMP_TRUE || op == OP_JUMP_FALSE)
			next[nn++] = (size_t)((long)pc + len + rd16(b + pc + 1));
		if (op != OP_JUMP && op != OP_RETURN && op != OP_RETURN_SELF && op != OP_NLR)
			next[nn++] = pc + (size_t)len;
		for (int i = 0; i < nn && !why; i++) {
			if (next[i] >= n)
				why = "a path runs off the end";
			else if (at[next[i]] < 0)
				at[next[i]] = d, work[nw++] = next[i];
			else if (at[next[i]] != d)
				why = "paths meet with different stack depths";
		}
	}
	free(at);
	free(work);
	if (why)
		cerr(c, c->line, 1, "internal error: %s at pc %zu of %s", why, pc,
		     c->sel ? c->sel : "the statements");
	return !why;
}

static oop finish(struct compiler *c, struct fn *f, const char *sel, int prim, intptr_t flags)
{
	struct st_vm *vm = c->vm;
	if (c->failed || !check_depth(c, f))
		return 0;
	if (f->maxdepth + 4 > 0xffff) {
		/* CMH_STACK is 16 bits: the interpreter would trust a wrapped size */
		cerr(c, f->b && f->b->line > 0 ? f->b->line : 1, 1, "method too large (operand stack)");
		return 0;
	}
	oop bytes = 0, lits = 0, lines = 0, m = 0;
	ST_ROOT(vm, bytes);
	ST_ROOT(vm, lits);
	ST_ROOT(vm, lines);
	ST_ROOT(vm, m);
	size_t bs = (f->n + 7) / 8;
	bytes = st_alloc_old(vm, CI_BYTEARRAY, OBJ_FMT_BYTES, bs, (unsigned)(bs * 8 - f->n), OBJ_F_PINNED);
	lits = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, (size_t)f->nlits, 0, OBJ_F_PINNED);
	size_t ls = (f->nl + 7) / 8;
	lines = st_alloc_old(vm, CI_BYTEARRAY, OBJ_FMT_BYTES, ls, (unsigned)(ls * 8 - f->nl), 0);
	m = st_alloc_old(vm, CI_METHOD, OBJ_FMT_PTRS, CM_SIZE, 0, OBJ_F_PINNED);
	if (!bytes || !lits || !lines || !m) {
		ST_UNROOT(vm, 4);
		cerr(c, 1, 1, "out of memory");
		return 0;
	}
	quicken(f->code, f->n);
	memcpy(obj_bytes(bytes), f->code, f->n);
	if (f->nl)
		memcpy(obj_bytes(lines), f->lines, f->nl);
	for (int i = 0; i < f->nlits; i++)
		st_put(vm, lits, (size_t)i, obj_body(f->lits)[i]);
	st_put(vm, m, CM_BYTES, bytes);
	st_put(vm, m, CM_LITS, lits);
	st_put(vm, m, CM_LINES, lines);
	st_put(vm, m, CM_FILE, c->file);
	st_put(vm, m, CM_CLASS, c->cls ? c->cls : vm->nil);
	oop selsym = st_symbol(vm, sel ? sel : "executeStatements", strlen(sel ? sel : "executeStatements"));
	st_put(vm, m, CM_SELECTOR, selsym);
	intptr_t h = (intptr_t)f->nargs | (intptr_t)f->ntemps << 8 | (intptr_t)prim << 16 |
		     (intptr_t)(f->has_env ? f->envsize + 1 : 0) << 28 |
		     (intptr_t)(f->maxdepth + 4) << 36 | flags;
	obj_body(m)[CM_HEADER] = obj_from_int(h);
	/* blocks point back at their home */
	for (int i = 0; i < f->nlits; i++) {
		oop l = obj_body(lits)[i];
		if (obj_is_ptr(l) && obj_cls(l) == CI_METHOD &&
		    (obj_int(st_slot(l, CM_HEADER)) & CMH_BLOCK) && st_slot(l, CM_OUTER) == vm->nil)
			st_put(vm, l, CM_OUTER, m);
	}
	oop r = m;
	ST_UNROOT(vm, 4);
	if (c->disasm)
		comp_disasm(vm, r, stderr);
	free(f->code);
	free(f->lines);
	f->code = NULL;
	f->lines = NULL;
	return r;
}

/* Generates a method or block fn; answers its CompiledMethod. */
static oop gen_fn(struct compiler *c, struct fn *f, const char *sel, int prim, int line)
{
	struct st_vm *vm = c->vm;
	layout(c, f);
	if (c->failed)
		return 0;
	f->lits = 0;
	ST_ROOT(vm, f->lits);
	f->lastline = 0;
	note_line(f, line);
	prologue(f);
	struct block *b = f->b;
	if (f->is_block) {
		gen_stmts_value(c, f, b);
		note_line(f, b->end_line);
		op0(f, OP_RETURN);
	} else {
		for (int i = 0; i < b->nstmts; i++) {
			note_line(f, b->stmts[i]->line);
			gen_effect(c, f, b->stmts[i]);
		}
		note_line(f, b->end_line);
		op0(f, OP_RETURN_SELF);
	}
	oop m = finish(c, f, sel, prim, f->is_block ? CMH_BLOCK : (c->doit ? CMH_DOIT : 0));
	ST_UNROOT(vm, 1);
	return m;
}

static oop compile_method(struct compiler *c, struct method_ast *ma)
{
	struct fn *f = new_fn(c, NULL, ma->body, 0);
	struct scope *s = new_scope(c, NULL, f);
	struct block *b = ma->body;
	c->decl_line = ma->line;
	c->decl_col = ma->col;
	for (int i = 0; i < b->nparams; i++) {
		struct var *v = declare(c, s, b->params[i], 1);
		v->arg_index = i;
	}
	f->nargs = b->nparams;
	for (int i = 0; i < b->ntemps; i++)
		declare(c, s, b->temps[i], 0);
	c->sel = ma->sel;
	c->doit = 0;
	resolve_stmts(c, b, s);
	int prim = ma->prim;
	if (ma->prim_name) {
		prim = prim_index(ma->prim_name);
		if (!prim)
			cerr(c, ma->line, ma->col, "unknown primitive '%s'", ma->prim_name);
	}
	if (c->failed)
		return 0;
	return gen_fn(c, f, ma->sel, prim, ma->line);
}

/* ---- classes --------------------------------------------------------------- */

static oop sym(struct st_vm *vm, const char *s) { return st_symbol(vm, s, strlen(s)); }

__attribute__((unused)) static oop global_value(struct st_vm *vm, const char *name)
{
	oop b = st_global_binding(vm, sym(vm, name), 0);
	return b ? st_slot(b, ASSOC_VALUE) : 0;
}

static int is_class(struct st_vm *vm, oop o)
{
	return obj_is_ptr(o) && obj_cls(o) < vm->nclasses && vm->classes[obj_cls(o)] &&
	       obj_cls(vm->classes[obj_cls(o)]) == CI_METACLASS;
}

/* Pending classes of this unit: defined, not yet bound (C_SUBCLASS). */
struct pend {
	const char *name;
	uint32_t index;
};

struct comp_unit {
	struct compiler c;
	struct pend *pend;
	int npend, cpend;
};

/* The class [name] names where the code is (see global_binding): a class
 * of this unit not yet bound, or a global. */
static oop find_class(struct comp_unit *u, const char *name)
{
	struct compiler *c = &u->c;
	struct st_vm *vm = c->vm;
	while (!strncmp(name, "Smalltalk.", 10) && name[10])
		name += 10;
	size_t nl = strlen(name), nsl;
	const char *ns = code_ns(c, &nsl);
	char buf[512];
	for (;;) {
		const char *cand = name;
		if (nsl > 0 && nsl + 1 + nl < sizeof buf) {
			memcpy(buf, ns, nsl);
			buf[nsl] = '.';
			memcpy(buf + nsl + 1, name, nl + 1);
			cand = buf;
		}
		for (int i = u->npend - 1; i >= 0; i--)
			if (!strcmp(u->pend[i].name, cand))
				return vm->classes[u->pend[i].index];
		if (cand == name)
			break;
		while (nsl > 0 && ns[nsl - 1] != '.')
			nsl--;
		if (nsl)
			nsl--;
	}
	oop b = global_binding(c, name, 0);
	oop v = b ? st_slot(b, ASSOC_VALUE) : 0;
	if (v && is_class(vm, v))
		return v;
	return 0;
}

/* "Namespace current: X.Y [ ]" makes the namespaces X and X.Y when they
 * are not there yet (instances of st/kernel's Namespace: its path). */
static void ensure_ns(struct compiler *c, const char *ns)
{
	struct st_vm *vm = c->vm;
	oop s = st_lookup_symbol(vm, "Namespace", 9);
	oop nb = s ? st_global_binding(vm, s, 0) : 0;
	if (!ns || !nb || !is_class(vm, st_slot(nb, ASSOC_VALUE)) ||
	    st_instsize(st_slot(nb, ASSOC_VALUE)) < 1)
		return;
	ST_ROOT(vm, nb);
	for (size_t i = 1, n = strlen(ns); i <= n; i++) {
		if (i < n && ns[i] != '.')
			continue;
		oop b = st_global_binding(vm, st_symbol(vm, ns, i), 1);
		if (!b || st_slot(b, ASSOC_VALUE) != vm->nil)
			continue;
		ST_ROOT(vm, b);
		oop path = st_new_string(vm, ns, i), o = 0;
		ST_ROOT(vm, path);
		oop cls = st_slot(nb, ASSOC_VALUE);
		o = path ? st_alloc_old(vm, st_class_index(cls), OBJ_FMT_PTRS,
					(size_t)st_instsize(cls), 0, 0) : 0;
		if (o) {
			for (int k = 0; k < st_instsize(cls); k++)
				obj_body(o)[k] = vm->nil;
			st_put(vm, o, 0, path);
			st_put(vm, b, ASSOC_VALUE, o);
		}
		ST_UNROOT(vm, 2);
	}
	ST_UNROOT(vm, 1);
}

/* <import: X> in the body of [cls]: X joins the class's pools (class_pools). */
static int add_pools(struct compiler *c, oop cls, struct class_ast *ca)
{
	struct st_vm *vm = c->vm;
	oop old = class_pools(vm, cls), arr = 0;
	size_t on = old && obj_is_ptr(old) && obj_cls(old) == CI_ARRAY ? obj_slots(old) : 0;
	ST_ROOT(vm, cls);
	ST_ROOT(vm, old);
	ST_ROOT(vm, arr);
	arr = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, on + (size_t)ca->nimports, 0, 0);
	int ok = arr != 0;
	for (size_t i = 0; ok && i < on; i++)
		st_put(vm, arr, i, obj_body(old)[i]);
	for (int i = 0; ok && i < ca->nimports; i++) {
		/* a pool not defined (yet) is nil: it holds nothing */
		oop b = global_binding(c, ca->imports[i], 0);
		if (b)
			st_put(vm, arr, on + (size_t)i, st_slot(b, ASSOC_VALUE));
	}
	if (ok) {
		oop nm = st_slot(cls, CLS_NAME);
		size_t n = obj_byte_size(nm);
		char *key = arena_alloc(c->a, n + 8);
		memcpy(key, " pools ", 7);
		memcpy(key + 7, obj_bytes(nm), n);
		st_set_global(vm, st_symbol(vm, key, n + 7), arr);
	}
	ST_UNROOT(vm, 3);
	return ok;
}

/* The global name of class [name] defined in namespace [ns]: "ns.name". */
static const char *ns_name(struct compiler *c, const char *ns, const char *name)
{
	if (!ns)
		return name;
	size_t a = strlen(ns), b = strlen(name);
	char *full = arena_alloc(c->a, a + b + 2);
	memcpy(full, ns, a);
	full[a] = '.';
	memcpy(full + a + 1, name, b + 1);
	return full;
}

static void append_names(struct st_vm *vm, oop cls, const char **names, int n)
{
	/* adds instance variable names not yet present */
	oop old = st_slot(cls, CLS_IVARS);
	size_t on = old == vm->nil ? 0 : obj_slots(old);
	int add = 0;
	for (int i = 0; i < n; i++)
		if (ivar_index(vm, cls, names[i]) < 0)
			add++;
	if (!add)
		return;
	oop nv = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, on + (size_t)add, 0, 0);
	ST_ROOT(vm, nv);
	old = st_slot(cls, CLS_IVARS);
	for (size_t i = 0; i < on; i++)
		st_put(vm, nv, i, obj_body(old)[i]);
	size_t k = on;
	for (int i = 0; i < n; i++)
		if (ivar_index(vm, cls, names[i]) < 0) {
			/* check again against what we added */
			int dup = 0;
			for (size_t j = on; j < k; j++)
				if (st_string_eq(obj_body(nv)[j], names[i]))
					dup = 1;
			if (dup)
				continue;
			oop s = st_new_string(vm, names[i], strlen(names[i]));
			st_put(vm, nv, k++, s);
		}
	st_put(vm, cls, CLS_IVARS, nv);
	/* grow the instance size (this class only: subclasses are rare here) */
	intptr_t fmt = obj_int(st_slot(cls, CLS_FORMAT));
	intptr_t ninst = (fmt >> 16) + (intptr_t)(k - on);
	obj_body(cls)[CLS_FORMAT] = obj_from_int((fmt & 0xffff) | ninst << 16);
	ST_UNROOT(vm, 1);
}

/* Is [c] a class (not a metaclass) that inherits from [a]? */
static int inherits(struct st_vm *vm, oop c, oop a)
{
	if (!c || !is_class(vm, c) || c == a)
		return 0;
	for (oop s = st_slot(c, CLS_SUPER); s != vm->nil; s = st_slot(s, CLS_SUPER))
		if (s == a)
			return 1;
	return 0;
}

/* Counts the live instances of a class and its subclasses (gc_each_object). */
struct census {
	struct st_vm *vm;
	oop cls;
	size_t n;
};

static void census_obj(oop o, void *ud)
{
	struct census *k = ud;
	uint32_t ci = obj_cls(o);
	if (k->n || ci >= k->vm->nclasses)
		return;
	oop c = k->vm->classes[ci];
	if (c && (c == k->cls || inherits(k->vm, c, k->cls)))
		k->n++;
}

static int has_instances(struct st_vm *vm, oop cls)
{
	struct census k = { vm, cls, 0 };
	ST_ROOT(vm, k.cls);
	gc_full(&vm->gc); /* dead instances do not count */
	gc_each_object(&vm->gc, census_obj, &k);
	ST_UNROOT(vm, 1);
	return k.n != 0;
}

/* [cls]'s own instance variables are those the class item declares, in order. */
static int same_ivars(struct st_vm *vm, oop cls, const struct class_ast *ca)
{
	oop iv = st_slot(cls, CLS_IVARS);
	size_t n = iv == vm->nil ? 0 : obj_slots(iv);
	if (n != (size_t)ca->nivars)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!st_string_eq(obj_body(iv)[i], ca->ivars[i]))
			return 0;
	return 1;
}

/* Instance variables added to [target], a class (or metaclass) that
 * existed before this declaration: vm/prim_refl.c migrates its instances and
 * its subclasses' and renumbers their methods. */
static int reshape_ivars(struct compiler *c, oop target, const char **names, int n,
			 struct class_ast *ca, int replace)
{
	struct st_vm *vm = c->vm;
	oop old = st_slot(target, CLS_IVARS);
	size_t on = old == vm->nil || replace ? 0 : obj_slots(old), k = on;
	int add = 0; /* names new to the class and not repeated */
	for (int i = 0; i < n; i++) {
		int dup = !replace && ivar_index(vm, target, names[i]) >= 0;
		for (int j = 0; j < i && !dup; j++)
			dup = !strcmp(names[j], names[i]);
		add += !dup;
	}
	oop nv = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, on + (size_t)add, 0, 0);
	int rc = PRIM_OOM;
	ST_ROOT(vm, target);
	ST_ROOT(vm, nv);
	if (nv) {
		old = st_slot(target, CLS_IVARS);
		for (size_t i = 0; i < on; i++)
			st_put(vm, nv, i, obj_body(old)[i]);
		for (int i = 0; i < n && k < on + (size_t)add; i++) {
			int dup = !replace && ivar_index(vm, target, names[i]) >= 0;
			for (int j = 0; j < i && !dup; j++)
				dup = !strcmp(names[j], names[i]);
			oop str = dup ? 0 : st_new_string(vm, names[i], strlen(names[i]));
			if (str)
				st_put(vm, nv, k++, str);
		}
		rc = k == on + (size_t)add ? refl_reshape(vm, target, nv, vm->nil) : PRIM_OOM;
	}
	ST_UNROOT(vm, 2);
	if (rc != PRIM_OK)
		cerr(c, ca->line, ca->col, rc == PRIM_OOM ? "out of memory"
					      : "cannot add instance variables: the VM makes instances of this class at a fixed size");
	return rc == PRIM_OK;
}

/*
 * Instance variables added to a class that exists already: to [cls] itself,
 * or with [meta] to its class side. The subclasses inherit the slots: their
 * instance sizes grow too. Existing objects must grow with them. On the class
 * side they are the class objects, reallocated one larger each
 * (st_resize_class redirects every reference, so a class keeps its identity).
 * A class with live instances, or with a subclass that has variables of its
 * own (they move under its compiled methods), takes the general path instead:
 * reshape_ivars() migrates the instances and renumbers the methods. [fresh]:
 * made by this declaration, so it has no instances. 0 after a compile error.
 */
static int add_ivars(struct compiler *c, oop cls, const char **names, int n, struct class_ast *ca,
		     int meta, int fresh)
{
	struct st_vm *vm = c->vm;
	oop target = meta ? vm->classes[obj_cls(cls)] : cls;
	int add = 0;
	for (int i = 0; i < n; i++)
		if (ivar_index(vm, target, names[i]) < 0)
			add++;
	if (!add)
		return 1;
	/* Subclasses with variables of their own, or live instances: the
	 * general path (vm/prim_refl.c) migrates them. */
	for (uint32_t i = 1; i < vm->nclasses; i++) {
		oop sc = vm->classes[i];
		if (!inherits(vm, sc, cls))
			continue;
		oop iv = st_slot(meta ? vm->classes[obj_cls(sc)] : sc, CLS_IVARS);
		if (iv != vm->nil && obj_slots(iv))
			return reshape_ivars(c, target, names, n, ca, 0);
	}
	ST_ROOT(vm, cls);
	if (!meta && !fresh && has_instances(vm, cls)) {
		ST_UNROOT(vm, 1);
		return reshape_ivars(c, target, names, n, ca, 0);
	}
	append_names(vm, meta ? vm->classes[obj_cls(cls)] : cls, names, n);
	for (uint32_t i = 1; i < vm->nclasses; i++) {
		oop sc = vm->classes[i];
		if (!inherits(vm, sc, cls))
			continue;
		oop t = meta ? vm->classes[obj_cls(sc)] : sc;
		intptr_t fmt = obj_int(st_slot(t, CLS_FORMAT));
		obj_body(t)[CLS_FORMAT] = obj_from_int(fmt + ((intptr_t)add << 16));
	}
	int ok = 1;
	if (meta) {
		ok = st_resize_class(vm, cls) != 0;
		for (uint32_t i = 1; ok && i < vm->nclasses; i++)
			if (inherits(vm, vm->classes[i], cls))
				ok = st_resize_class(vm, vm->classes[i]) != 0;
	}
	ST_UNROOT(vm, 1);
	if (!ok)
		cerr(c, ca->line, ca->col, "out of memory");
	return ok;
}

static oop add_classvar(struct st_vm *vm, oop cls, const char *name)
{
	oop b = classvar(vm, cls, name);
	if (b)
		return b;
	oop pool = st_slot(cls, CLS_POOL);
	size_t n = pool == vm->nil ? 0 : obj_slots(pool);
	oop np = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, n + 1, 0, 0);
	ST_ROOT(vm, np);
	pool = st_slot(cls, CLS_POOL);
	for (size_t i = 0; i < n; i++)
		st_put(vm, np, i, obj_body(pool)[i]);
	oop a = st_new_assoc(vm, sym(vm, name), vm->nil);
	st_put(vm, np, n, a);
	st_put(vm, cls, CLS_POOL, np);
	ST_UNROOT(vm, 1);
	return a;
}

/* Compiles a class item; answers its declaration record (st_install_decl()
 * in vm/boot.c; rooted by the caller through the doit literals) or 0. */
static oop compile_class(struct comp_unit *u, struct class_ast *ca)
{
	struct compiler *c = &u->c;
	struct st_vm *vm = c->vm;
	oop cls = 0, binding = vm->nil, rec = 0;
	int fresh = 0;
	ST_ROOT(vm, binding);
	ST_ROOT(vm, rec);
	int ok = 0;
	const char *outer_ns = c->ns;
	c->unit = u;
	c->ns = ca->ns; /* "Namespace current: X [ ]": names are looked up in X */
	ensure_ns(c, ca->ns);
	if (ca->k == C_SUBCLASS) {
		const char *full = ns_name(c, ca->ns, ca->name);
		oop sup = vm->nil;
		if (strcmp(ca->super, "nil")) {
			sup = find_class(u, ca->super);
			if (!sup) {
				cerr(c, ca->line, ca->col, "undefined superclass '%s'", ca->super);
				goto out;
			}
		}
		cls = find_class(u, ca->name);
		if (cls && ca->ns && st_class_index(cls) < vm->nclasses &&
		    !st_string_eq(st_slot(cls, CLS_NAME), full))
			cls = 0; /* Foo in Smalltalk does not stand for X.Foo */
		if (cls && st_slot(cls, CLS_SUPER) != sup && sup != vm->nil) {
			/* redefinition with another superclass: make a new class */
			cls = 0;
		}
		if (!cls) {
			unsigned fmt = OBJ_FMT_PTRS;
			int indexed = 0;
			if (sup != vm->nil) {
				intptr_t sf = obj_int(st_slot(sup, CLS_FORMAT));
				fmt = (unsigned)(sf & 0xff);
				indexed = (sf & CLS_FMT_INDEXED) != 0;
			}
			int kind = CLS_KIND_NONE;
			if (ca->shape) {
				static const char *const kinds[] = {"", "int", "uint", "short", "ushort", "int8"};
				indexed = 1;
				for (int k = 1; k < (int)(sizeof kinds / sizeof *kinds); k++)
					if (!strcmp(ca->shape, kinds[k]))
						kind = k;
				if (!strcmp(ca->shape, "byte") || !strcmp(ca->shape, "character"))
					fmt = OBJ_FMT_BYTES;
				else if (kind || !strcmp(ca->shape, "word") || !strcmp(ca->shape, "int64") ||
					 !strcmp(ca->shape, "uint64"))
					fmt = OBJ_FMT_WORDS;
				else
					fmt = OBJ_FMT_IPTRS;
			}
			int ninst = sup != vm->nil ? st_instsize(sup) : 0;
			cls = st_new_class(vm, sup, sym(vm, full), fmt, indexed, ninst, 0);
			if (cls && kind)
				obj_body(cls)[CLS_FORMAT] = obj_from_int(
					obj_int(st_slot(cls, CLS_FORMAT)) | kind << CLS_FMT_KIND_SHIFT);
			fresh = 1;
			if (!cls) {
				cerr(c, ca->line, ca->col, "out of memory");
				goto out;
			}
		}
		if (u->npend == u->cpend && !GROW(u->pend, u->cpend, (size_t)u->npend + 1, 8)) {
			cerr(c, ca->line, ca->col, "out of memory");
			goto out;
		}
		u->pend[u->npend].name = full;
		u->pend[u->npend++].index = st_class_index(cls);
		binding = st_global_binding(vm, sym(vm, full), 1);
	} else {
		cls = find_class(u, ca->name);
		if (!cls) {
			cerr(c, ca->line, ca->col, "undefined class '%s'", ca->name);
			goto out;
		}
	}
	ST_ROOT(vm, cls);
	if (ca->nimports && !add_pools(c, cls, ca)) {
		ST_UNROOT(vm, 1);
		goto out;
	}
	/* "Foo class extend [ |a| ]" and "Foo class [ |a| ]": class side */
	int cx = ca->k == C_CLASS_EXTEND;
	/* gst: "Super subclass: Foo [ |a| ]" for a Foo that exists under Super
	 * declares all of Foo's own instance variables (extend adds to them) */
	if (ca->k == C_SUBCLASS && !fresh && ca->nivars > 0 && !same_ivars(vm, cls, ca) &&
	    !reshape_ivars(c, cls, ca->ivars, ca->nivars, ca, 1)) {
		ST_UNROOT(vm, 1);
		goto out;
	}
	if (!add_ivars(c, cls, ca->ivars, ca->nivars, ca, cx, fresh) ||
	    !add_ivars(c, cls, ca->civars, ca->ncivars, ca, 1, fresh)) {
		ST_UNROOT(vm, 1);
		goto out;
	}
	if (ca->category) {
		oop s = st_new_string(vm, ca->category, strlen(ca->category));
		if (s)
			st_put(vm, cls, CLS_THIS, s);
	}
	rec = st_alloc_old(vm, CI_ARRAY, OBJ_FMT_IPTRS, 2 + 3 * (size_t)ca->nmethods, 0, 0);
	if (!rec) {
		cerr(c, ca->line, ca->col, "out of memory");
		ST_UNROOT(vm, 1);
		goto out;
	}
	st_put(vm, rec, 0, binding);
	st_put(vm, rec, 1, cls);
	for (int i = 0; i < ca->ncvars; i++)
		add_classvar(vm, cls, ca->cvars[i].name);
	for (int i = 0; i < ca->nmethods && !c->failed; i++) {
		struct method_ast *ma = ca->methods[i];
		int side = ma->class_side || ca->k == C_CLASS_EXTEND;
		oop owner = cls;
		if (ma->owner && strcmp(ma->owner, ca->name)) {
			/* "Object >> foo [ ]" written in another class's body */
			owner = find_class(u, ma->owner);
			if (!owner) {
				cerr(c, ma->line, ma->col, "undefined class '%s'", ma->owner);
				break;
			}
			side = ma->class_side;
		}
		oop target = side ? vm->classes[obj_cls(owner)] : owner;
		c->cls = target;
		oop m = compile_method(c, ma);
		if (!m)
			break;
		ST_ROOT(vm, m);
		oop s = sym(vm, ma->sel);
		st_put(vm, rec, 2 + 3 * (size_t)i, target);
		st_put(vm, rec, 3 + 3 * (size_t)i, s);
		st_put(vm, rec, 4 + 3 * (size_t)i, m);
		ST_UNROOT(vm, 1);
	}
	ST_UNROOT(vm, 1);
	ok = !c->failed;
out:;
	c->ns = outer_ns;
	oop r = ok ? rec : 0;
	ST_UNROOT(vm, 2);
	return r;
}

/* ---- units ------------------------------------------------------------------ */

/* [ma] compiled for [cls] in the middle of compiling something else. */
static oop compile_aside(struct compiler *c, oop cls, struct method_ast *ma)
{
	struct st_vm *vm = c->vm;
	oop saved = c->cls;
	const char *sel = c->sel;
	int doit = c->doit, line = c->line, dl = c->decl_line, dc = c->decl_col;
	ST_ROOT(vm, saved);
	c->cls = cls;
	oop m = compile_method(c, ma);
	c->cls = saved;
	c->sel = sel;
	c->doit = doit;
	c->line = line;
	c->decl_line = dl;
	c->decl_col = dc;
	ST_UNROOT(vm, 1);
	return m;
}

/*
 * The initialiser of class variable [cv] of [cls] runs as gst runs it: as a
 * method of the class side (self is the class; class variables, class
 * instance variables and namespaces as in class methods), made here and
 * called from the main program with CompiledMethod>>valueWithReceiver:
 * withArguments:. Leaves the value on the stack; 0 after an error.
 */
static int gen_cvar_init(struct compiler *c, struct fn *f, oop cls, struct classvar_ast *cv)
{
	struct st_vm *vm = c->vm;
	struct method_ast *ma = arena_alloc(c->a, sizeof *ma);
	struct block *b = arena_alloc(c->a, sizeof *b);
	struct node *ret = arena_alloc(c->a, sizeof *ret);
	ret->k = N_RETURN;
	ret->line = cv->line;
	ret->col = cv->col;
	ret->value = cv->init;
	ret->height = cv->init->height + 1;
	b->stmts = arena_alloc(c->a, sizeof *b->stmts);
	b->stmts[0] = ret;
	b->nstmts = 1;
	b->line = b->end_line = cv->line;
	b->col = cv->col;
	b->height = ret->height + 1;
	ma->sel = "classVariableInitializer";
	ma->body = b;
	ma->line = cv->line;
	ma->col = cv->col;
	ST_ROOT(vm, cls);
	oop m = compile_aside(c, vm->classes[obj_cls(cls)], ma);
	ST_UNROOT(vm, 1);
	if (!m)
		return 0;
	ST_ROOT(vm, cls);
	int mi = lit_index(c, f, m);
	ST_UNROOT(vm, 1);
	int ci = lit_index(c, f, cls);
	struct lit empty = {.k = L_ARRAY};
	int ai = const_lit(c, f, &empty);
	if (mi < 0 || ci < 0 || ai < 0)
		return 0;
	op2(f, OP_PUSH_LIT, mi);
	op2(f, OP_PUSH_LIT, ci);
	op2(f, OP_PUSH_LIT, ai);
	gen_send_op(c, f, "valueWithReceiver:withArguments:", 2, 0, cv->line);
	return !c->failed;
}

/* Code running the ##( ) constants of method [m] (and of its blocks). */
static void gen_method_consts(struct compiler *c, struct fn *f, oop m, int line, int depth)
{
	struct st_vm *vm = c->vm;
	oop lits = st_slot(m, CM_LITS);
	if (depth > PARSE_DEPTH_MAX || !obj_is_ptr(lits) || obj_cls(lits) != CI_ARRAY)
		return;
	ST_ROOT(vm, lits);
	for (size_t i = 0; i < obj_slots(lits) && !c->failed; i++) {
		oop o = obj_body(lits)[i];
		if (!obj_is_ptr(o))
			continue;
		if (obj_cls(o) == CI_METHOD) {
			gen_method_consts(c, f, o, line, depth + 1);
		} else if (obj_cls(o) == CI_ARRAY && obj_slots(o) == 3 && obj_body(o)[0] == o &&
			   obj_is_ptr(obj_body(o)[1]) && obj_cls(obj_body(o)[1]) == CI_METHOD) {
			int k = lit_index(c, f, o);
			if (k < 0)
				break;
			op2(f, OP_PUSH_LIT, k);
			gen_send_op(c, f, "gstConstantValue", 0, 0, line);
			op0(f, OP_POP);
		}
	}
	ST_UNROOT(vm, 1);
}

/* After a class definition: its methods' ##( ) constants run, in order, as
 * gst runs them when it compiles the methods; then its pragmas other than
 * comment:, category:, shape: and import: are sent to the class, as
 * Behavior>>gstPragma:with: (st/kernel/15-GstNames.st) does when the class
 * understands them (<debug: #(1)>: Foo debug: #(1)). */
static void gen_class_consts(struct compiler *c, struct fn *f, oop rec, struct class_ast *ca,
			     int line)
{
	struct st_vm *vm = c->vm;
	ST_ROOT(vm, rec);
	for (size_t i = 4; i < obj_slots(rec) && !c->failed; i += 3) {
		oop m = obj_body(rec)[i];
		if (obj_is_ptr(m) && obj_cls(m) == CI_METHOD)
			gen_method_consts(c, f, m, line, 0);
	}
	const char *outer_ns = c->ns;
	if (ca->ns)
		c->ns = ca->ns; /* #{B} in the pragma: B of the class's namespace */
	for (int i = 0; i < ca->npragmas && !c->failed; i++) {
		struct node *s = ca->pragmas[i];
		if (s->args[0]->k != N_LIT)
			continue; /* literals only */
		int ci = lit_index(c, f, obj_body(rec)[1]);
		int si = sym_lit(c, f, s->sel);
		if (ci < 0 || si < 0)
			break;
		op2(f, OP_PUSH_LIT, ci);
		op2(f, OP_PUSH_LIT, si);
		gen(c, f, s->args[0]);
		gen_send_op(c, f, "gstPragma:with:", 2, 0, s->line);
		op0(f, OP_POP);
	}
	c->ns = outer_ns;
	ST_UNROOT(vm, 1);
}

static oop compile_unit(struct comp_unit *u, struct unit_ast *ua)
{
	struct compiler *c = &u->c;
	struct st_vm *vm = c->vm;
	/* The main program: one method whose statements are every top-level
	 * statement, with DECL bytecodes where class declarations were. */
	struct block *b = arena_alloc(c->a, sizeof *b);
	struct fn *f = new_fn(c, NULL, b, 0);
	struct scope *s = new_scope(c, NULL, f);
	c->doit_scope = s;
	c->cls = vm->classes[CI_UNDEFINED];
	c->doit = 1;
	c->sel = "executeStatements";
	/* pass 1 over all statements, with top-level temporaries */
	for (int i = 0; i < ua->nitems && !c->failed; i++) {
		struct item *it = ua->items[i];
		if (it->k == I_TEMPS) {
			/* in the REPL they outlive the line: globals */
			for (int j = 0; j < it->ntemps && !(c->flags & COMP_REPL); j++)
				declare(c, s, it->temps[j], 0);
		} else if (it->k == I_STMTS) {
			for (int j = 0; j < it->nstmts; j++)
				resolve_node(c, it->stmts[j], s);
		}
		/* class variable initialisers are methods of their class
		 * (cvar_init_method): resolved there */
	}
	if (c->failed)
		return 0;
	layout(c, f);
	if (c->failed)
		return 0;
	f->lits = 0;
	ST_ROOT(vm, f->lits);
	prologue(f);
	int valued = 0; /* COMP_VALUE: the last statement's value is returned */
	for (int i = 0; i < ua->nitems && !c->failed; i++) {
		struct item *it = ua->items[i];
		if (it->k == I_STMTS) {
			for (int j = 0; j < it->nstmts; j++) {
				note_line(f, it->stmts[j]->line);
				c->cls = vm->classes[CI_UNDEFINED];
				c->doit = 1;
				c->sel = "executeStatements";
				if ((c->flags & COMP_VALUE) && i == ua->nitems - 1 &&
				    j == it->nstmts - 1 && it->stmts[j]->k != N_RETURN) {
					gen(c, f, it->stmts[j]);
					op0(f, OP_RETURN);
					valued = 1;
				} else {
					gen_effect(c, f, it->stmts[j]);
				}
			}
		} else if (it->k == I_CLASS) {
			struct class_ast *ca = it->cls;
			oop rec = compile_class(u, ca);
			c->cls = vm->classes[CI_UNDEFINED];
			c->doit = 1;
			c->sel = "executeStatements";
			if (!rec)
				break;
			ST_ROOT(vm, rec); /* collections move it: read through the root */
			if (c->flags & COMP_IMMEDIATE)
				st_install_decl(vm, rec);
			int li = lit_index(c, f, rec);
			note_line(f, it->line);
			if (!(c->flags & COMP_IMMEDIATE))
				op2(f, OP_DECL, li);
			/* class variable initialisers run right after */
			for (int j = 0; j < ca->ncvars; j++) {
				struct classvar_ast *cv = &ca->cvars[j];
				if (!cv->init)
					continue;
				oop bnd = classvar(vm, obj_body(rec)[1], cv->name);
				int bi = lit_index(c, f, bnd);
				note_line(f, cv->line);
				if (!gen_cvar_init(c, f, obj_body(rec)[1], cv))
					break;
				op2(f, OP_POP_GLOBAL, bi);
			}
			gen_class_consts(c, f, rec, ca, it->line);
			ST_UNROOT(vm, 1);
		}
	}
	note_line(f, 0x7fff);
	if (c->flags & COMP_VALUE) {
		/* an Eval without statements, or ending in ^expr, answers nil */
		if (!valued)
			op0(f, OP_PUSH_NIL), op0(f, OP_RETURN);
	} else {
		op0(f, OP_RETURN_SELF);
	}
	c->doit = 1;
	c->cls = vm->classes[CI_UNDEFINED];
	oop m = finish(c, f, "executeStatements", 0,
		       CMH_DOIT | ((c->flags & COMP_UNIT) ? CMH_UNIT : 0));
	ST_UNROOT(vm, 1);
	return m;
}

static void free_fns(struct compiler *c)
{
	for (struct fn *f = c->fns; f; f = f->all) {
		free(f->code);
		free(f->lines);
		f->code = NULL;
		f->lines = NULL;
	}
	c->fns = NULL;
}

static void init_c(struct compiler *c, struct st_vm *vm, struct lexer *lx, struct arena *a, unsigned flags)
{
	memset(c, 0, sizeof *c);
	c->vm = vm;
	c->lx = lx;
	c->a = a;
	c->flags = flags;
	c->disasm = !(flags & COMP_IMMEDIATE) && getenv("BATON_DISASM");
}

oop comp_file(struct st_vm *vm, const char *file, const char *src, size_t n,
	      unsigned flags, char *err, size_t errlen)
{
	struct arena a = {0};
	struct lexer lx;
	lex_init(&lx, file, src, n, &a);
	struct unit_ast *ua = lx.has_err ? NULL : parse_unit(&lx);
	oop m = 0;
	if (ua) {
		struct comp_unit u;
		memset(&u, 0, sizeof u);
		init_c(&u.c, vm, &lx, &a, flags);
		u.c.file = st_new_string(vm, file, strlen(file));
		ST_ROOT(vm, u.c.file);
		m = compile_unit(&u, ua);
		ST_UNROOT(vm, 1);
		free_fns(&u.c);
		free(u.pend);
	}
	if (!m && err) {
		if (lx.has_err)
			snprintf(err, errlen, "%s", lx.err);
		else
			snprintf(err, errlen, "%s:1:1: compilation failed", file);
	}
	arena_free(&a);
	return m;
}

oop comp_item(struct st_vm *vm, struct lexer *lx, struct arena *a, struct item *it,
	      unsigned flags, char *err, size_t errlen)
{
	struct unit_ast ua = {0};
	struct item *items[2], tmp = {0}, body = {0};
	if (it->k == I_EVAL) {
		/* its temporaries, then its statements; undeclared variables
		 * become temporaries of the Eval too, as in gst */
		tmp.k = I_TEMPS;
		tmp.temps = it->body->temps;
		tmp.ntemps = it->body->ntemps;
		tmp.line = it->line;
		body.k = I_STMTS;
		body.stmts = it->body->stmts;
		body.nstmts = it->body->nstmts;
		body.line = it->line;
		items[0] = &tmp;
		items[1] = &body;
		ua.nitems = 2;
		flags |= COMP_VALUE;
	} else {
		items[0] = it;
		ua.nitems = 1;
	}
	ua.items = items;
	struct comp_unit u;
	memset(&u, 0, sizeof u);
	init_c(&u.c, vm, lx, a, flags | COMP_IMMEDIATE | COMP_UNIT);
	u.c.ns = it->ns; /* inside "Namespace current: X [ ]" */
	ensure_ns(&u.c, it->ns);
	u.c.file = st_new_string(vm, lx->file, strlen(lx->file));
	ST_ROOT(vm, u.c.file);
	oop m = compile_unit(&u, &ua);
	ST_UNROOT(vm, 1);
	free_fns(&u.c);
	free(u.pend);
	if (!m && err) {
		if (lx->has_err)
			snprintf(err, errlen, "%s", lx->err);
		else
			snprintf(err, errlen, "%s:%d:1: compilation failed", lx->file, it->line);
	}
	return m;
}

oop comp_method(struct st_vm *vm, oop cls, const char *file, const char *src, size_t n,
		char *err, size_t errlen)
{
	return comp_method_at(vm, cls, file, src, n, 1, err, errlen);
}

oop comp_method_at(struct st_vm *vm, oop cls, const char *file, const char *src, size_t n,
		   int line, char *err, size_t errlen)
{
	struct arena a = {0};
	struct lexer lx;
	lex_init_at(&lx, file, src, n, &a, line);
	struct method_ast *ma = lx.has_err ? NULL : parse_method_source(&lx);
	oop m = 0;
	if (ma) {
		struct compiler c;
		init_c(&c, vm, &lx, &a, 0);
		ST_ROOT(vm, cls);
		c.file = st_new_string(vm, file, strlen(file));
		ST_ROOT(vm, c.file);
		c.cls = cls;
		m = compile_method(&c, ma);
		ST_UNROOT(vm, 2);
		free_fns(&c);
	}
	if (!m && err)
		snprintf(err, errlen, "%s", lx.has_err ? lx.err : "compilation failed");
	arena_free(&a);
	return m;
}
