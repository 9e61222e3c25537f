// SPDX-License-Identifier: MIT
/*
 * vm/parse.c: recursive-descent parser for the bracket syntax: tokens to
 * the tree of vm/parse.h. Owns the grammar and syntax error messages; the
 * first error stops the parse. See Documentation/vm/compiler.md.
 */
#include <stdlib.h>
#include <string.h>

#include "vm/parse.h"

struct parser {
	struct lexer *lx;
	struct arena *a;
	int depth; /* expressions and literal arrays open (parser recursion) */
	int unbracketed; /* method_def found no '[' after the pattern */
};

#define TOK (p->lx->tok)
#define FAILED (p->lx->has_err)

/* Growable arena vectors of pointers. */
struct vec {
	void **v;
	int n, cap;
};
static void push(struct parser *p, struct vec *v, void *x)
{
	v->v = arena_grow(p->a, v->v, v->n, &v->cap, sizeof *v->v, 8);
	v->v[v->n++] = x;
}

static void next(struct parser *p) { lex_next(p->lx); }

static void err(struct parser *p, const char *msg)
{
	if (TOK.t == T_EOF)
		lex_error_at(p->lx, TOK.line, TOK.col, "%s (found end of input)", msg);
	else
		lex_error_at(p->lx, TOK.line, TOK.col, "%s (found '%.*s')", msg,
			     (int)(TOK.len > 40 ? 40 : TOK.len), TOK.text);
}

static int is_bin(struct parser *p, const char *s)
{
	return TOK.t == T_BINARY && TOK.len == strlen(s) && !memcmp(TOK.text, s, TOK.len);
}
static int is_ident(struct parser *p, const char *s)
{
	return TOK.t == T_IDENT && TOK.len == strlen(s) && !memcmp(TOK.text, s, TOK.len);
}
static int is_kw(struct parser *p, const char *s)
{
	return TOK.t == T_KEYWORD && TOK.len == strlen(s) && !memcmp(TOK.text, s, TOK.len);
}
static char *tokstr(struct parser *p) { return arena_strdup(p->a, TOK.text, TOK.len); }

static struct node *mk(struct parser *p, enum node_kind k)
{
	struct node *n = arena_alloc(p->a, sizeof *n);
	n->k = k;
	n->line = TOK.line;
	n->col = TOK.col;
	return n;
}

/*
 * Hostile nesting must not exhaust the C stack. The parser recurses once
 * per open bracket, block, brace, literal array or assignment: [depth]
 * counts those. The compiler recurses on the tree, whose height also grows
 * along message chains (1 + 1 + 1 ...): node heights count that.
 */
static int enter(struct parser *p)
{
	if (++p->depth <= PARSE_DEPTH_MAX)
		return 1;
	lex_error_at(p->lx, TOK.line, TOK.col, "nesting too deep (limit %d)", PARSE_DEPTH_MAX);
	return 0;
}

/* [n] is the parent of [kid]: NULL (a syntax error) when it gets too tall. */
static struct node *up(struct parser *p, struct node *n, struct node *kid)
{
	if (!n || !kid)
		return NULL;
	if (kid->height >= n->height)
		n->height = kid->height + 1;
	if (n->height <= PARSE_HEIGHT_MAX)
		return n;
	lex_error_at(p->lx, n->line, n->col, "expression nested too deep (limit %d)",
		     PARSE_HEIGHT_MAX);
	return NULL;
}

static struct node *expr(struct parser *p);
static struct block *block_body(struct parser *p, int method, struct method_ast *m,
				enum tok close);

/* ---- literals ---------------------------------------------------------------- */

static struct lit *mklit(struct parser *p, enum lit_kind k)
{
	struct lit *l = arena_alloc(p->a, sizeof *l);
	l->k = k;
	return l;
}

/* Number token (already known), with an optional preceding minus. */
static struct lit *number_lit(struct parser *p, int neg)
{
	struct lit *l;
	for (size_t i = 0; neg && i + 1 < TOK.len; i++)
		if (TOK.text[i] == 'r' && TOK.text[i + 1] == '-') {
			/* -16r-33: gst refuses the double minus */
			err(p, "expected positive numeric literal");
			return NULL;
		}
	if (TOK.t == T_INT) {
		l = mklit(p, L_INT);
		l->ival = neg ? -TOK.ival : TOK.ival;
	} else if (TOK.t == T_FLOAT) {
		l = mklit(p, L_FLOAT);
		l->fval = neg ? -TOK.fval : TOK.fval;
		l->fkind = TOK.fkind;
	} else if (TOK.t == T_SCALED) {
		l = mklit(p, L_SCALED);
		l->str = TOK.str;
		l->len = TOK.slen;
		l->ival = TOK.ival < 0 ? -TOK.ival : TOK.ival;
		l->neg = neg ^ (TOK.ival < 0);
		l->scale = TOK.scale;
		l->nfrac = TOK.nfrac;
	} else {
		l = mklit(p, L_BIGINT);
		l->str = TOK.str;
		l->len = TOK.slen;
		l->ival = TOK.ival < 0 ? -TOK.ival : TOK.ival;
		l->neg = neg ^ (TOK.ival < 0);
	}
	next(p);
	return l;
}

/* A '-' immediately followed by a number: a negative literal. */
static int negative_ahead(struct parser *p)
{
	if (!is_bin(p, "-"))
		return 0;
	int c = lex_peek_char(p->lx);
	return c >= '0' && c <= '9';
}

static struct lit *array_lit(struct parser *p, enum tok close);

/* #{Foo} #{Smalltalk.Foo}: after the #{ */
static struct lit *binding_lit(struct parser *p)
{
	if (TOK.t != T_IDENT) {
		err(p, "variable name expected in #{ }");
		return NULL;
	}
	struct lit *l = mklit(p, L_BINDING);
	l->str = tokstr(p);
	l->len = TOK.len;
	next(p);
	if (TOK.t != T_RBRACE) {
		err(p, "'}' expected to close #{");
		return NULL;
	}
	next(p);
	return l;
}

static struct lit *bytes_lit(struct parser *p)
{
	struct vec v = {0};
	while (TOK.t != T_RBRACKET) {
		if (TOK.t != T_INT || TOK.ival < 0 || TOK.ival > 255) {
			err(p, "byte (0..255) expected in byte array literal");
			return NULL;
		}
		struct lit *e = mklit(p, L_INT);
		e->ival = TOK.ival;
		push(p, &v, e);
		next(p);
	}
	next(p);
	struct lit *l = mklit(p, L_BYTES);
	l->elems = (struct lit **)v.v;
	l->n = v.n;
	return l;
}

/* An element inside #( ... ). */
static struct lit *array_elem(struct parser *p)
{
	struct lit *l;
	if (negative_ahead(p)) {
		next(p);
		return number_lit(p, 1);
	}
	switch (TOK.t) {
	case T_INT: case T_FLOAT: case T_BIGINT: case T_SCALED:
		return number_lit(p, 0);
	case T_HASHBRACE:
		next(p);
		return binding_lit(p);
	case T_CHAR:
		l = mklit(p, L_CHAR);
		l->ival = TOK.ival;
		next(p);
		return l;
	case T_STRING:
		l = mklit(p, L_STRING);
		l->str = TOK.str;
		l->len = TOK.slen;
		next(p);
		return l;
	case T_SYMBOL:
		l = mklit(p, L_SYMBOL);
		l->str = TOK.str;
		l->len = TOK.slen;
		next(p);
		return l;
	case T_IDENT:
		if (is_ident(p, "nil"))
			l = mklit(p, L_NIL);
		else if (is_ident(p, "true"))
			l = mklit(p, L_TRUE);
		else if (is_ident(p, "false"))
			l = mklit(p, L_FALSE);
		else {
			l = mklit(p, L_SYMBOL);
			l->str = tokstr(p);
			l->len = TOK.len;
		}
		next(p);
		return l;
	case T_KEYWORD: {
		/* at:put: scans as two keywords with nothing between them */
		const char *s = TOK.text;
		size_t n = TOK.len;
		next(p);
		while ((TOK.t == T_KEYWORD || TOK.t == T_IDENT) && !TOK.space_before &&
		       TOK.text == s + n) {
			n += TOK.len;
			next(p);
		}
		l = mklit(p, L_SYMBOL);
		l->str = arena_strdup(p->a, s, n);
		l->len = n;
		return l;
	}
	case T_BINARY:
		l = mklit(p, L_SYMBOL);
		l->str = tokstr(p);
		l->len = TOK.len;
		next(p);
		return l;
	case T_LPAREN: case T_HASHPAREN:
		next(p);
		return array_lit(p, T_RPAREN);
	case T_LBRACKET: case T_HASHBRACKET:
		next(p);
		return bytes_lit(p);
	default:
		err(p, "literal expected in literal array");
		return NULL;
	}
}

static struct lit *array_lit(struct parser *p, enum tok close)
{
	struct vec v = {0};
	if (!enter(p))
		return NULL;
	while (TOK.t != close) {
		if (TOK.t == T_EOF) {
			err(p, "')' expected to close literal array");
			return NULL;
		}
		struct lit *e = array_elem(p);
		if (!e)
			return NULL;
		push(p, &v, e);
	}
	p->depth--;
	next(p);
	struct lit *l = mklit(p, L_ARRAY);
	l->elems = (struct lit **)v.v;
	l->n = v.n;
	return l;
}

/* ---- expressions ----------------------------------------------------------- */

static struct node *lit_node(struct parser *p, struct lit *l, int line, int col)
{
	if (!l)
		return NULL;
	struct node *n = mk(p, N_LIT);
	n->lit = l;
	n->line = line;
	n->col = col;
	return n;
}

static struct node *mksend(struct parser *p, struct node *rcv, const char *sel, int line, int col);

static struct node *send_args(struct parser *p, struct node *rcv, const char *sel,
			      struct node *a0, struct node *a1)
{
	struct node *s = mksend(p, rcv, sel, rcv->line, rcv->col);
	s->nargs = a1 ? 2 : a0 ? 1 : 0;
	s->args = arena_alloc(p->a, 2 * sizeof(struct node *));
	s->args[0] = a0;
	s->args[1] = a1;
	up(p, s, rcv);
	for (int i = 0; i < s->nargs; i++)
		up(p, s, s->args[i]);
	return s;
}

static struct node *block_of(struct parser *p, struct node *stmt)
{
	struct node *n = mk(p, N_BLOCK);
	n->line = stmt->line;
	n->col = stmt->col;
	n->block = arena_alloc(p->a, sizeof *n->block);
	n->block->stmts = arena_alloc(p->a, sizeof(struct node *));
	n->block->stmts[0] = stmt;
	n->block->nstmts = 1;
	n->block->line = n->block->end_line = stmt->line;
	n->block->col = stmt->col;
	n->block->height = stmt->height + 1;
	n->height = n->block->height + 1;
	return n;
}

/*
 * ##(expr) is evaluated once, the first time the method runs it, and then
 * answers that value: a literal cell (an Array of one slot that starts
 * holding itself) and
 *   (cell at: 1) == cell ifTrue: [cell at: 1 put: (expr)] ifFalse: [cell at: 1]
 */
static struct node *once(struct parser *p, struct node *e, int line, int col)
{
	struct lit *cl = mklit(p, L_CELL), *one = mklit(p, L_INT);
	one->ival = 1;
	struct node *cell[4], *k[3];
	for (int i = 0; i < 4; i++)
		cell[i] = lit_node(p, cl, line, col);
	for (int i = 0; i < 3; i++)
		k[i] = lit_node(p, one, line, col);
	struct node *test = send_args(p, send_args(p, cell[0], "at:", k[0], NULL), "==", cell[1], NULL);
	struct node *set = block_of(p, send_args(p, cell[2], "at:put:", k[1], e));
	struct node *get = block_of(p, send_args(p, cell[3], "at:", k[2], NULL));
	return up(p, send_args(p, test, "ifTrue:ifFalse:", set, get), test);
}

static struct node *primary(struct parser *p)
{
	int line = TOK.line, col = TOK.col;
	struct node *n;
	struct lit *l;
	if (negative_ahead(p)) {
		next(p);
		return lit_node(p, number_lit(p, 1), line, col);
	}
	switch (TOK.t) {
	case T_IDENT:
		if (is_ident(p, "thisContext")) {
			n = mk(p, N_CONTEXT);
			next(p);
			return n;
		}
		n = mk(p, N_VAR);
		n->name = tokstr(p);
		if (!strncmp(n->name, "Smalltalk.", 10) && n->name[10])
			n->name += 10;
		next(p);
		return n;
	case T_INT: case T_FLOAT: case T_BIGINT: case T_SCALED:
		return lit_node(p, number_lit(p, 0), line, col);
	case T_HASHBRACE:
		next(p);
		return lit_node(p, binding_lit(p), line, col);
	case T_HASHHASHPAREN: {
		/* ##(| t | statements): the statements are a block's, sent #value */
		n = mk(p, N_BLOCK);
		next(p);
		if (!enter(p))
			return NULL;
		n->block = block_body(p, 0, NULL, T_RPAREN);
		p->depth--;
		if (!n->block)
			return NULL;
		n->block->line = line;
		n->block->col = col;
		n->height = n->block->height + 1;
		return once(p, send_args(p, n, "value", NULL, NULL), line, col);
	}
	case T_CHAR:
		l = mklit(p, L_CHAR);
		l->ival = TOK.ival;
		next(p);
		return lit_node(p, l, line, col);
	case T_STRING:
		l = mklit(p, L_STRING);
		l->str = TOK.str;
		l->len = TOK.slen;
		next(p);
		return lit_node(p, l, line, col);
	case T_SYMBOL:
		l = mklit(p, L_SYMBOL);
		l->str = TOK.str;
		l->len = TOK.slen;
		next(p);
		return lit_node(p, l, line, col);
	case T_HASHPAREN:
		next(p);
		return lit_node(p, array_lit(p, T_RPAREN), line, col);
	case T_HASHBRACKET:
		next(p);
		return lit_node(p, bytes_lit(p), line, col);
	case T_LPAREN:
		next(p);
		n = expr(p);
		if (!n)
			return NULL;
		if (TOK.t != T_RPAREN) {
			err(p, "')' expected");
			return NULL;
		}
		next(p);
		return n;
	case T_LBRACKET: {
		n = mk(p, N_BLOCK);
		next(p);
		n->block = block_body(p, 0, NULL, T_RBRACKET);
		if (!n->block)
			return NULL;
		n->block->line = line;
		n->block->col = col;
		n->height = n->block->height + 1;
		return n;
	}
	case T_LBRACE: {
		n = mk(p, N_BRACE);
		next(p);
		struct vec v = {0};
		while (TOK.t != T_RBRACE) {
			struct node *e = expr(p);
			if (!up(p, n, e))
				return NULL;
			push(p, &v, e);
			if (TOK.t == T_PERIOD)
				next(p);
			else if (TOK.t != T_RBRACE) {
				err(p, "'.' or '}' expected");
				return NULL;
			}
		}
		next(p);
		n->args = (struct node **)v.v;
		n->nargs = v.n;
		return n;
	}
	default:
		err(p, "expression expected");
		return NULL;
	}
}

static struct node *mksend(struct parser *p, struct node *rcv, const char *sel, int line, int col)
{
	struct node *s = mk(p, N_SEND);
	s->rcv = rcv;
	s->sel = sel;
	s->line = line;
	s->col = col;
	return s;
}

static struct node *unary_tail(struct parser *p, struct node *r)
{
	while (r && TOK.t == T_IDENT) {
		r = up(p, mksend(p, r, tokstr(p), TOK.line, TOK.col), r);
		next(p);
	}
	return r;
}

static struct node *binary_tail(struct parser *p, struct node *r)
{
	r = unary_tail(p, r);
	while (r && TOK.t == T_BINARY) {
		struct node *s = mksend(p, r, tokstr(p), TOK.line, TOK.col);
		next(p);
		struct node *a = unary_tail(p, primary(p));
		if (!up(p, s, a) || !up(p, s, r))
			return NULL;
		s->args = arena_alloc(p->a, sizeof(struct node *));
		s->args[0] = a;
		s->nargs = 1;
		r = s;
	}
	return r;
}

static struct node *keyword_tail(struct parser *p, struct node *r)
{
	r = binary_tail(p, r);
	if (!r || TOK.t != T_KEYWORD)
		return r;
	char sel[1024];
	size_t sl = 0;
	struct vec args = {0};
	int line = TOK.line, col = TOK.col;
	while (TOK.t == T_KEYWORD) {
		if (sl + TOK.len >= sizeof sel) {
			err(p, "selector too long");
			return NULL;
		}
		memcpy(sel + sl, TOK.text, TOK.len);
		sl += TOK.len;
		next(p);
		struct node *a = binary_tail(p, primary(p));
		if (!a)
			return NULL;
		push(p, &args, a);
	}
	struct node *s = mksend(p, r, arena_strdup(p->a, sel, sl), line, col);
	s->args = (struct node **)args.v;
	s->nargs = args.n;
	for (int i = 0; i < args.n; i++)
		if (!up(p, s, s->args[i]))
			return NULL;
	return up(p, s, r);
}

/* The innermost send of a chain: the one whose receiver the cascade shares. */
static struct node *cascade(struct parser *p, struct node *first)
{
	if (first->k != N_SEND) {
		err(p, "cascade needs a message send before ';'");
		return NULL;
	}
	struct node *c = mk(p, N_CASCADE);
	c->line = first->line;
	c->col = first->col;
	c->rcv = first->rcv;
	first->rcv = NULL;
	struct vec v = {0};
	push(p, &v, first);
	while (TOK.t == T_SEMI) {
		next(p);
		if (TOK.t != T_IDENT && TOK.t != T_BINARY && TOK.t != T_KEYWORD) {
			err(p, "message expected after ';'");
			return NULL;
		}
		/* parse a message chain against a placeholder receiver */
		struct node *hole = mk(p, N_VAR);
		hole->name = NULL;
		struct node *m = keyword_tail(p, hole);
		if (!m)
			return NULL;
		/* replace the hole by NULL: the innermost send takes the cascade
		 * receiver from the stack */
		struct node *s = m;
		while (s->rcv != hole)
			s = s->rcv;
		s->rcv = NULL;
		push(p, &v, m);
	}
	c->args = (struct node **)v.v;
	c->nargs = v.n;
	for (int i = 0; i < v.n; i++)
		if (!up(p, c, c->args[i]))
			return NULL;
	return up(p, c, first);
}

static struct node *expr1(struct parser *p);

static struct node *expr(struct parser *p)
{
	if (!enter(p))
		return NULL;
	struct node *n = expr1(p);
	p->depth--;
	return n;
}

static struct node *expr1(struct parser *p)
{
	if (TOK.t == T_IDENT) {
		struct lex_mark m;
		lex_mark(p->lx, &m);
		int line = TOK.line, col = TOK.col;
		char *name = tokstr(p);
		next(p);
		if (TOK.t == T_ASSIGN) {
			next(p);
			struct node *a = mk(p, N_ASSIGN);
			a->line = line;
			a->col = col;
			a->name = name;
			a->value = expr(p);
			return up(p, a, a->value);
		}
		lex_reset(p->lx, &m);
	}
	struct node *r = keyword_tail(p, primary(p));
	if (r && TOK.t == T_SEMI) {
		/* the cascade receiver is that of the last message parsed */
		struct node *last = r;
		if (last->k != N_SEND) {
			err(p, "cascade needs a message send before ';'");
			return NULL;
		}
		return cascade(p, last);
	}
	return r;
}

static struct node *statement(struct parser *p)
{
	if (TOK.t == T_CARET) {
		struct node *n = mk(p, N_RETURN);
		next(p);
		n->value = expr(p);
		return up(p, n, n->value);
	}
	return expr(p);
}

/* ---- blocks and method bodies ------------------------------------------- */

static int temps(struct parser *p, struct vec *out)
{
	if (is_bin(p, "||")) {
		next(p);
		return 1;
	}
	next(p); /* | */
	while (TOK.t == T_IDENT) {
		push(p, out, tokstr(p));
		next(p);
	}
	if (!is_bin(p, "|")) {
		err(p, "'|' expected after temporaries");
		return 0;
	}
	next(p);
	return 1;
}

/* <primitive: N> <primitive: name> <category: 'x'> ... */
static int pragma(struct parser *p, struct method_ast *m)
{
	next(p); /* < */
	if (TOK.t == T_KEYWORD) {
		int prim = is_kw(p, "primitive:");
		next(p);
		if (prim && m) {
			if (TOK.t == T_INT)
				m->prim = (int)TOK.ival;
			else if (TOK.t == T_IDENT || TOK.t == T_SYMBOL)
				m->prim_name = TOK.t == T_IDENT ? tokstr(p) : TOK.str;
			else {
				err(p, "primitive number or name expected");
				return 0;
			}
			next(p);
		} else {
			/* skip a literal argument (and further keywords) */
			while (TOK.t != T_EOF && !is_bin(p, ">")) {
				if (TOK.t == T_HASHPAREN) {
					next(p);
					if (!array_lit(p, T_RPAREN))
						return 0;
				} else
					next(p);
			}
		}
	} else if (TOK.t == T_IDENT) {
		next(p);
	}
	if (!is_bin(p, ">")) {
		err(p, "'>' expected to close pragma");
		return 0;
	}
	next(p);
	return 1;
}

static struct block *block_body(struct parser *p, int method, struct method_ast *m, enum tok close)
{
	struct block *b = arena_alloc(p->a, sizeof *b);
	struct vec params = {0}, tv = {0}, st = {0};
	b->line = TOK.line;
	b->col = TOK.col;
	if (!method && TOK.t == T_COLON) {
		while (TOK.t == T_COLON) {
			next(p);
			if (TOK.t != T_IDENT) {
				err(p, "block parameter name expected after ':'");
				return NULL;
			}
			push(p, &params, tokstr(p));
			next(p);
		}
		if (is_bin(p, "||")) {
			/* [:x || t | ...]: end of params and empty-start temps */
			next(p);
			while (TOK.t == T_IDENT) {
				push(p, &tv, tokstr(p));
				next(p);
			}
			if (!is_bin(p, "|")) {
				err(p, "'|' expected after temporaries");
				return NULL;
			}
			next(p);
		} else if (is_bin(p, "|")) {
			next(p);
		} else if (TOK.t != close) {
			err(p, "'|' expected after block parameters");
			return NULL;
		}
	}
	for (;;) {
		if (is_bin(p, "|") || is_bin(p, "||")) {
			if (!temps(p, &tv))
				return NULL;
		} else if (method && is_bin(p, "<")) {
			if (!pragma(p, m))
				return NULL;
		} else
			break;
	}
	while (TOK.t != close) {
		if (TOK.t == T_EOF) {
			err(p, close == T_RBRACKET ? "']' expected"
			       : close == T_RPAREN ? "')' expected" : "'}' expected");
			return NULL;
		}
		struct node *s = statement(p);
		if (!s)
			return NULL;
		if (s->height >= b->height)
			b->height = s->height + 1;
		push(p, &st, s);
		if (TOK.t == T_PERIOD) {
			while (TOK.t == T_PERIOD)
				next(p);
		} else if (TOK.t != close) {
			err(p, close == T_RBRACKET ? "'.' or ']' expected after statement"
						   : "'.' expected after statement");
			return NULL;
		}
	}
	b->end_line = TOK.line;
	next(p);
	b->params = (const char **)params.v;
	b->nparams = params.n;
	b->temps = (const char **)tv.v;
	b->ntemps = tv.n;
	b->stmts = (struct node **)st.v;
	b->nstmts = st.n;
	return b;
}

/* foo / + arg / at: a put: b, then [ body ]. */
static struct method_ast *method_def_in(struct parser *p, int class_side, int chunk);
static struct method_ast *method_def(struct parser *p, int class_side)
{
	return method_def_in(p, class_side, 0);
}

/* [chunk]: the body is the rest of the source, without brackets, as in a
 * method chunk of gst's bang format or a string given to compile:. */
static struct method_ast *method_def_in(struct parser *p, int class_side, int chunk)
{
	struct method_ast *m = arena_alloc(p->a, sizeof *m);
	struct vec params = {0};
	m->line = TOK.line;
	m->col = TOK.col;
	m->class_side = class_side;
	if (TOK.t == T_IDENT) {
		m->sel = tokstr(p);
		next(p);
	} else if (TOK.t == T_BINARY) {
		m->sel = tokstr(p);
		next(p);
		if (TOK.t != T_IDENT) {
			err(p, "argument name expected after binary selector");
			return NULL;
		}
		push(p, &params, tokstr(p));
		next(p);
	} else if (TOK.t == T_KEYWORD) {
		char sel[1024];
		size_t sl = 0;
		while (TOK.t == T_KEYWORD) {
			if (sl + TOK.len >= sizeof sel) {
				err(p, "selector too long");
				return NULL;
			}
			memcpy(sel + sl, TOK.text, TOK.len);
			sl += TOK.len;
			next(p);
			if (TOK.t != T_IDENT) {
				err(p, "argument name expected after keyword");
				return NULL;
			}
			push(p, &params, tokstr(p));
			next(p);
		}
		m->sel = arena_strdup(p->a, sel, sl);
	} else {
		err(p, "method definition expected");
		return NULL;
	}
	if (chunk) {
		m->body = block_body(p, 1, m, T_EOF);
	} else if (TOK.t != T_LBRACKET) {
		p->unbracketed = 1;
		err(p, "'[' expected to start the method body");
		return NULL;
	} else {
		next(p);
		m->body = block_body(p, 1, m, T_RBRACKET);
	}
	if (!m->body)
		return NULL;
	m->body->params = (const char **)params.v;
	m->body->nparams = params.n;
	m->body->line = m->line;
	return m;
}

struct method_ast *parse_method_source(struct lexer *lx)
{
	struct parser pp = {.lx = lx, .a = lx->arena}, *p = &pp;
	struct lex_mark start;
	lex_mark(lx, &start);
	/* "pattern [ body ]", else gst's "pattern body" */
	struct method_ast *m = method_def(p, 0);
	if (m && TOK.t == T_EOF)
		return m;
	/* a bracket body that failed keeps its own error if the other
	 * reading fails too */
	struct lexer first = *lx;
	int bracket = m != NULL || (lx->has_err && !p->unbracketed);
	lex_reset(lx, &start);
	lex_clear_error(lx);
	m = method_def_in(p, 0, 1);
	if (!m && bracket && first.has_err)
		memcpy(lx->err, first.err, sizeof lx->err);
	return m;
}

/* ---- class bodies ------------------------------------------------------- */

static int ident_list(struct parser *p, struct vec *v)
{
	if (is_bin(p, "||")) {
		next(p);
		return 1;
	}
	next(p);
	while (TOK.t == T_IDENT) {
		push(p, v, tokstr(p));
		next(p);
	}
	if (!is_bin(p, "|")) {
		err(p, "'|' expected after instance variable names");
		return 0;
	}
	next(p);
	return 1;
}

static int class_pragma(struct parser *p, struct class_ast *c)
{
	next(p); /* < */
	if (TOK.t != T_KEYWORD) {
		err(p, "pragma keyword expected");
		return 0;
	}
	int shape = is_kw(p, "shape:"), cat = is_kw(p, "category:"), com = is_kw(p, "comment:");
	next(p);
	if (TOK.t == T_SYMBOL || TOK.t == T_STRING) {
		if (shape)
			c->shape = TOK.str;
		else if (cat)
			c->category = TOK.str;
		else if (com)
			c->comment = TOK.str;
		next(p);
	} else if (TOK.t == T_IDENT || TOK.t == T_INT) {
		next(p);
	} else if (TOK.t == T_HASHPAREN) {
		next(p);
		if (!array_lit(p, T_RPAREN))
			return 0;
	} else {
		err(p, "literal expected in pragma");
		return 0;
	}
	if (!is_bin(p, ">")) {
		err(p, "'>' expected to close pragma");
		return 0;
	}
	next(p);
	return 1;
}

/* At IDENT: is it "IDENT [class] >>" ? Consumes it when it is. */
static int method_prefix(struct parser *p, int *class_side)
{
	struct lex_mark m;
	lex_mark(p->lx, &m);
	next(p);
	*class_side = 0;
	if (is_ident(p, "class")) {
		*class_side = 1;
		next(p);
	}
	if (is_bin(p, ">>")) {
		next(p);
		return 1;
	}
	lex_reset(p->lx, &m);
	return 0;
}

static int class_body(struct parser *p, struct class_ast *c, int class_side)
{
	struct vec iv = {0}, civ = {0}, ms = {0}, cv = {0};
	for (int i = 0; i < c->nivars; i++)
		push(p, &iv, (void *)c->ivars[i]);
	for (int i = 0; i < c->ncivars; i++)
		push(p, &civ, (void *)c->civars[i]);
	for (int i = 0; i < c->nmethods; i++)
		push(p, &ms, c->methods[i]);
	for (;;) {
		if (FAILED)
			return 0;
		if (TOK.t == T_RBRACKET) {
			next(p);
			break;
		}
		if (TOK.t == T_EOF) {
			err(p, "']' expected to close the class body");
			return 0;
		}
		if (is_bin(p, "|") || is_bin(p, "||")) {
			/* "| a |" declares; "| aBoolean [" defines the method | */
			struct lex_mark m;
			lex_mark(p->lx, &m);
			next(p);
			int method = 0;
			if (TOK.t == T_IDENT) {
				next(p);
				method = TOK.t == T_LBRACKET;
			}
			lex_reset(p->lx, &m);
			if (!method) {
				if (!ident_list(p, class_side ? &civ : &iv))
					return 0;
				continue;
			}
		}
		if (is_bin(p, "<") && TOK.t == T_BINARY) {
			/* a pragma, unless it is the binary method "<" */
			struct lex_mark m;
			lex_mark(p->lx, &m);
			next(p);
			int is_pragma = TOK.t == T_KEYWORD;
			lex_reset(p->lx, &m);
			if (is_pragma) {
				if (!class_pragma(p, c))
					return 0;
				continue;
			}
		}
		if (TOK.t == T_IDENT) {
			struct lex_mark m;
			lex_mark(p->lx, &m);
			int line = TOK.line, col = TOK.col;
			char *name = tokstr(p);
			next(p);
			if (TOK.t == T_ASSIGN) {
				/* class variable */
				next(p);
				struct classvar_ast *v = arena_alloc(p->a, sizeof *v);
				v->name = name;
				v->line = line;
				v->col = col;
				v->init = expr(p);
				if (!v->init)
					return 0;
				if (TOK.t == T_PERIOD)
					next(p);
				push(p, &cv, v);
				continue;
			}
			if (is_ident(p, "class") && !class_side) {
				next(p);
				if (TOK.t == T_LBRACKET) {
					/* Foo class [ | a b | methods ] */
					next(p);
					c->civars = (const char **)civ.v;
					c->ncivars = civ.n;
					c->methods = (struct method_ast **)ms.v;
					c->nmethods = ms.n;
					c->ivars = (const char **)iv.v;
					c->nivars = iv.n;
					c->cvars = (struct classvar_ast *)cv.v;
					if (!class_body(p, c, 1))
						return 0;
					civ.v = (void **)c->civars;
					civ.n = civ.cap = c->ncivars;
					ms.v = (void **)c->methods;
					ms.n = ms.cap = c->nmethods;
					continue;
				}
				lex_reset(p->lx, &m);
			} else {
				lex_reset(p->lx, &m);
			}
			int cs;
			if (method_prefix(p, &cs)) {
				struct method_ast *md = method_def(p, cs || class_side);
				if (!md)
					return 0;
				md->owner = name; /* Object >> foo [ ] inside True extend [ ] */
				push(p, &ms, md);
				continue;
			}
		}
		struct method_ast *md = method_def(p, class_side);
		if (!md)
			return 0;
		push(p, &ms, md);
	}
	c->ivars = (const char **)iv.v;
	c->nivars = iv.n;
	c->civars = (const char **)civ.v;
	c->ncivars = civ.n;
	c->methods = (struct method_ast **)ms.v;
	c->nmethods = ms.n;
	if (!class_side) {
		/* class variables: kept as an array of structs */
		struct classvar_ast *arr = arena_alloc(p->a, sizeof *arr * (size_t)(cv.n + 1));
		for (int i = 0; i < cv.n; i++)
			arr[i] = *(struct classvar_ast *)cv.v[i];
		c->cvars = arr;
		c->ncvars = cv.n;
	} else if (cv.n) {
		lex_error_at(p->lx, ((struct classvar_ast *)cv.v[0])->line,
			     ((struct classvar_ast *)cv.v[0])->col,
			     "class variables belong in the class body");
		return 0;
	}
	return 1;
}

/* ---- top level ----------------------------------------------------------- */

/* Detects the start of a class definition; fills [c] and consumes up to
 * and including '['. Leaves the lexer untouched otherwise. */
static int class_header(struct parser *p, struct class_ast *c)
{
	struct lex_mark m;
	lex_mark(p->lx, &m);
	c->line = TOK.line;
	c->col = TOK.col;
	char *first = tokstr(p);
	next(p);
	if (is_kw(p, "subclass:")) {
		next(p);
		if (TOK.t == T_IDENT || TOK.t == T_SYMBOL) {
			char *name = TOK.t == T_IDENT ? tokstr(p) : TOK.str;
			next(p);
			if (TOK.t == T_LBRACKET) {
				next(p);
				c->k = C_SUBCLASS;
				c->super = first;
				c->name = name;
				return 1;
			}
		}
	} else if (is_ident(p, "extend")) {
		next(p);
		if (TOK.t == T_LBRACKET) {
			next(p);
			c->k = C_EXTEND;
			c->name = first;
			return 1;
		}
	} else if (is_ident(p, "class")) {
		next(p);
		if (is_ident(p, "extend")) {
			next(p);
			if (TOK.t == T_LBRACKET) {
				next(p);
				c->k = C_CLASS_EXTEND;
				c->name = first;
				return 1;
			}
		} else if (TOK.t == T_LBRACKET) {
			next(p);
			c->k = C_CLASS_EXTEND;
			c->name = first;
			return 1;
		}
	}
	lex_reset(p->lx, &m);
	return 0;
}

/* "Foo >> sel [ ]" / "Foo class >> sel [ ]" at top level. */
static struct class_ast *method_item(struct parser *p)
{
	struct lex_mark m;
	lex_mark(p->lx, &m);
	int line = TOK.line, col = TOK.col;
	char *name = tokstr(p);
	int cs;
	if (!method_prefix(p, &cs))
		return NULL;
	/* must look like a pattern followed by '[' */
	struct lex_mark m2;
	lex_mark(p->lx, &m2);
	int ok = 0;
	if (TOK.t == T_IDENT) {
		next(p);
		ok = TOK.t == T_LBRACKET;
	} else if (TOK.t == T_BINARY) {
		next(p);
		if (TOK.t == T_IDENT) {
			next(p);
			ok = TOK.t == T_LBRACKET;
		}
	} else if (TOK.t == T_KEYWORD) {
		while (TOK.t == T_KEYWORD) {
			next(p);
			if (TOK.t != T_IDENT)
				break;
			next(p);
		}
		ok = TOK.t == T_LBRACKET;
	}
	if (!ok || p->lx->has_err) {
		lex_reset(p->lx, &m);
		return NULL;
	}
	lex_reset(p->lx, &m2);
	struct method_ast *md = method_def(p, cs);
	if (!md)
		return NULL;
	struct class_ast *c = arena_alloc(p->a, sizeof *c);
	c->k = cs ? C_CLASS_EXTEND : C_EXTEND;
	c->name = name;
	c->line = line;
	c->col = col;
	c->methods = arena_alloc(p->a, sizeof(void *));
	c->methods[0] = md;
	c->nmethods = 1;
	md->class_side = cs;
	return c;
}

/* "Namespace current: X [" at top level: opens namespace X (nested ones
 * get "Outer.X"); anything else leaves the lexer as it was. */
static int namespace_open(struct parser *p)
{
	struct lexer *lx = p->lx;
	struct lex_mark m;
	lex_mark(lx, &m);
	next(p);
	if (is_kw(p, "current:")) {
		next(p);
		if (TOK.t == T_IDENT) {
			const char *name = tokstr(p);
			while (!strncmp(name, "Smalltalk.", 10) && name[10])
				name += 10;
			next(p);
			if (TOK.t == T_LBRACKET && lx->nns < LEX_NS_MAX) {
				next(p);
				lx->ns_outer[lx->nns++] = lx->ns;
				if (!strcmp(name, "Smalltalk")) {
					lx->ns = NULL;
				} else if (lx->ns) {
					size_t a = strlen(lx->ns), b = strlen(name);
					char *full = arena_alloc(p->a, a + b + 2);
					memcpy(full, lx->ns, a);
					full[a] = '.';
					memcpy(full + a + 1, name, b + 1);
					lx->ns = full;
				} else {
					lx->ns = name;
				}
				return 1;
			}
		}
	}
	lex_reset(lx, &m);
	return 0;
}

/* At top level: the start or end of a "Namespace current: X [ ]", or a
 * pragma in its body (<import: Y>, skipped: imports are not supported).
 * Answers whether it consumed one. */
static int namespace_part(struct parser *p)
{
	if (is_ident(p, "Namespace") && namespace_open(p))
		return 1;
	if (p->lx->nns && TOK.t == T_RBRACKET) {
		p->lx->ns = p->lx->ns_outer[--p->lx->nns];
		next(p);
		return 1;
	}
	if (p->lx->nns && is_bin(p, "<")) {
		while (TOK.t != T_EOF && !is_bin(p, ">"))
			next(p);
		next(p);
		return 1;
	}
	return 0;
}

struct unit_ast *parse_unit(struct lexer *lx)
{
	struct parser pp = {.lx = lx, .a = lx->arena}, *p = &pp;
	struct unit_ast *u = arena_alloc(p->a, sizeof *u);
	struct vec items = {0};
	struct item *cur = NULL; /* open run of statements */
	struct vec st = {0};
#define CLOSE_RUN()                                                            \
	do {                                                                   \
		if (cur) {                                                     \
			cur->stmts = (struct node **)st.v;                     \
			cur->nstmts = st.n;                                    \
			cur = NULL;                                            \
			memset(&st, 0, sizeof st);                             \
		}                                                              \
	} while (0)
	while (!FAILED && TOK.t != T_EOF) {
		if (TOK.t == T_BANG || TOK.t == T_PERIOD) {
			next(p);
			continue;
		}
		if ((is_ident(p, "Namespace") || p->lx->nns) && namespace_part(p)) {
			CLOSE_RUN();
			continue;
		}
		if (is_bin(p, "|") || is_bin(p, "||")) {
			CLOSE_RUN();
			struct item *it = arena_alloc(p->a, sizeof *it);
			struct vec tv = {0};
			it->k = I_TEMPS;
			it->line = TOK.line;
			if (!temps(p, &tv))
				break;
			it->temps = (const char **)tv.v;
			it->ntemps = tv.n;
			push(p, &items, it);
			continue;
		}
		if (TOK.t == T_IDENT) {
			struct class_ast c = {0};
			if (class_header(p, &c)) {
				CLOSE_RUN();
				struct class_ast *cp = arena_alloc(p->a, sizeof *cp);
				*cp = c;
				cp->ns = p->lx->ns;
				if (!class_body(p, cp, 0))
					break;
				struct item *it = arena_alloc(p->a, sizeof *it);
				it->k = I_CLASS;
				it->cls = cp;
				it->ns = p->lx->ns;
				it->line = cp->line;
				push(p, &items, it);
				continue;
			}
			struct class_ast *mc = method_item(p);
			if (FAILED)
				break;
			if (mc) {
				CLOSE_RUN();
				struct item *it = arena_alloc(p->a, sizeof *it);
				mc->ns = p->lx->ns;
				it->k = I_CLASS;
				it->cls = mc;
				it->ns = p->lx->ns;
				it->line = mc->line;
				push(p, &items, it);
				continue;
			}
		}
		if (!cur) {
			cur = arena_alloc(p->a, sizeof *cur);
			cur->ns = p->lx->ns;
			cur->k = I_STMTS;
			cur->line = TOK.line;
			push(p, &items, cur);
		}
		struct node *s = statement(p);
		if (!s)
			break;
		push(p, &st, s);
		if (TOK.t == T_PERIOD || TOK.t == T_BANG) {
			next(p);
		} else if (TOK.t != T_EOF) {
			err(p, "'.' expected after statement");
			break;
		}
	}
	CLOSE_RUN();
#undef CLOSE_RUN
	if (!FAILED && p->lx->nns)
		err(p, "']' expected to close the namespace");
	if (FAILED)
		return NULL;
	u->items = (struct item **)items.v;
	u->nitems = items.n;
	return u;
}

/* ---- one item at a time (files run unit by unit: vm/filein.c) ---------------- */

static struct item *new_item(struct parser *p, enum item_kind k, int line)
{
	struct item *it = arena_alloc(p->a, sizeof *it);
	it->k = k;
	it->line = line;
	return it;
}

static struct item *parse_item1(struct parser *p);

struct item *parse_item(struct lexer *lx)
{
	struct parser pp = {.lx = lx, .a = lx->arena}, *p = &pp;
	struct item *it = parse_item1(p);
	if (it) {
		it->ns = lx->ns;
		if (it->cls)
			it->cls->ns = lx->ns;
	}
	return it;
}

static struct item *parse_item1(struct parser *p)
{
	for (;;) {
		while (TOK.t == T_PERIOD || TOK.t == T_BANG)
			next(p);
		if ((is_ident(p, "Namespace") || p->lx->nns) && namespace_part(p))
			continue;
		break;
	}
	if (FAILED || TOK.t == T_EOF) {
		if (!FAILED && p->lx->nns) {
			/* reported once: the namespaces end with the file */
			err(p, "']' expected to close the namespace");
			p->lx->nns = 0;
			p->lx->ns = NULL;
		}
		return NULL;
	}
	int line = TOK.line;
	if (is_bin(p, "|") || is_bin(p, "||")) {
		struct item *it = new_item(p, I_TEMPS, line);
		struct vec tv = {0};
		if (!temps(p, &tv))
			return NULL;
		it->temps = (const char **)tv.v;
		it->ntemps = tv.n;
		return it;
	}
	if (TOK.t == T_IDENT) {
		if (is_ident(p, "Eval") && lex_peek_char(p->lx) != ':') {
			struct lex_mark m;
			lex_mark(p->lx, &m);
			next(p);
			if (TOK.t == T_LBRACKET) {
				next(p);
				struct item *it = new_item(p, I_EVAL, line);
				it->body = block_body(p, 0, NULL, T_RBRACKET);
				return it->body ? it : NULL;
			}
			lex_reset(p->lx, &m);
		}
		struct class_ast c = {0};
		if (class_header(p, &c)) {
			struct class_ast *cp = arena_alloc(p->a, sizeof *cp);
			*cp = c;
			if (!class_body(p, cp, 0))
				return NULL;
			struct item *it = new_item(p, I_CLASS, cp->line);
			it->cls = cp;
			return it;
		}
		struct class_ast *mc = method_item(p);
		if (FAILED)
			return NULL;
		if (mc) {
			struct item *it = new_item(p, I_CLASS, mc->line);
			it->cls = mc;
			return it;
		}
	}
	struct node *s = statement(p);
	if (!s)
		return NULL;
	struct item *it = new_item(p, I_STMTS, line);
	it->stmts = arena_alloc(p->a, sizeof *it->stmts);
	it->stmts[0] = s;
	it->nstmts = 1;
	if (TOK.t == T_BANG) {
		it->bang = 1;
	} else if (TOK.t == T_PERIOD) {
		next(p);
	} else if (TOK.t != T_EOF) {
		err(p, "'.' expected after statement");
		return NULL;
	}
	return it;
}

void parse_skip_item(struct lexer *lx, const struct lex_mark *m)
{
	struct parser pp = {.lx = lx, .a = lx->arena}, *p = &pp;
	const char *errp = lx->p;
	lex_reset(lx, m);
	lex_clear_error(lx);
	int depth = 0, opened = 0;
	while (TOK.t != T_EOF) {
		enum tok t = TOK.t;
		if (t == T_ERROR) {
			/* a bad character or literal: step over it */
			lex_clear_error(lx);
			next(p);
			continue;
		}
		/* only square brackets delimit items: a stray ')' must not
		 * make the rest of the file one item */
		if (t == T_LBRACKET || t == T_HASHBRACKET) {
			depth++;
			opened = 1;
		} else if (t == T_RBRACKET) {
			depth--;
			if (depth <= 0 && (opened || depth < 0) && lx->p >= errp) {
				next(p);
				break;
			}
			if (depth < 0)
				depth = 0;
		} else if ((t == T_PERIOD || t == T_BANG) && depth == 0 && lx->p >= errp) {
			if (t == T_PERIOD)
				next(p);
			break;
		}
		next(p);
	}
	if (TOK.t == T_EOF) { /* an unclosed namespace ends with the file */
		lx->nns = 0;
		lx->ns = NULL;
	}
	lex_clear_error(lx);
}
