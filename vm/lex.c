// SPDX-License-Identifier: MIT
/*
 * vm/lex.c: the scanner: characters to tokens with line and column.
 * Owns number, string, symbol and comment syntax. Never allocates objects:
 * token bodies live in the front end's arena.
 * See Documentation/vm/compiler.md.
 */
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "vm/grow.h"
#include "vm/lex.h"

/* ---- arena ---------------------------------------------------------------- */

struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_blk *b = a->blk;
	if (!b || b->used + n > b->cap) {
		size_t cap = n > 65536 ? n : 65536;
		b = malloc(sizeof *b + cap);
		if (!b) {
			fputs("baton: out of memory\n", stderr);
			exit(EX_SOFTWARE);
		}
		b->next = a->blk;
		b->used = 0;
		b->cap = cap;
		a->blk = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

void *arena_grow(struct arena *a, void *p, int n, int *cap, size_t elsz, size_t first)
{
	if (n < *cap)
		return p;
	size_t nc = grow_cap((size_t)*cap, (size_t)n + 1, elsz, first);
	if (!nc || nc > INT_MAX) {
		fputs("baton: out of memory\n", stderr);
		exit(EX_SOFTWARE);
	}
	void *q = arena_alloc(a, nc * elsz);
	if (n)
		memcpy(q, p, (size_t)n * elsz);
	*cap = (int)nc;
	return q;
}

char *arena_strdup(struct arena *a, const char *s, size_t n)
{
	char *d = arena_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

void arena_free(struct arena *a)
{
	while (a->blk) {
		struct arena_blk *n = a->blk->next;
		free(a->blk);
		a->blk = n;
	}
}

/* ---- scanner ---------------------------------------------------------------- */

void lex_error_at(struct lexer *lx, int line, int col, const char *fmt, ...)
{
	if (lx->has_err)
		return;
	lx->has_err = 1;
	int n = snprintf(lx->err, sizeof lx->err, "%s:%d:%d: ", lx->file, line, col);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lx->err + n, sizeof lx->err - (size_t)n, fmt, ap);
	va_end(ap);
}

static int cur(struct lexer *lx) { return lx->p < lx->end ? (unsigned char)*lx->p : 0; }
static int at(struct lexer *lx, int k)
{
	return lx->p + k < lx->end ? (unsigned char)lx->p[k] : 0;
}

static void adv(struct lexer *lx)
{
	if (lx->p < lx->end) {
		if (*lx->p == '\n') {
			lx->line++;
			lx->line_start = lx->p + 1;
		}
		lx->p++;
	}
}

static int col_of(struct lexer *lx, const char *p) { return (int)(p - lx->line_start) + 1; }

static int is_bin(int c) { return c && strchr("+-*/\\<>=~@%|&?,", c) != NULL; }
static int is_id0(int c) { return isalpha(c) || c == '_'; }
static int is_id(int c) { return isalnum(c) || c == '_'; }

/* Skips blanks and "comments"; answers whether anything was skipped. */
static int skip(struct lexer *lx)
{
	int any = 0;
	for (;;) {
		int c = cur(lx);
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			adv(lx);
			any = 1;
		} else if (c == '"') {
			int l = lx->line, co = col_of(lx, lx->p);
			adv(lx);
			while (cur(lx) && cur(lx) != '"')
				adv(lx);
			if (!cur(lx)) {
				lex_error_at(lx, l, co, "unterminated comment");
				return any;
			}
			adv(lx);
			any = 1;
		} else {
			return any;
		}
	}
}

static int digit_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

/*
 * Integer literals are converted to LargeIntegers in quadratic time and
 * 1e1000000000 would need a gigabyte of digits: a literal whose value needs
 * more than LEX_INT_BITS_MAX bits is a syntax error, checked before any
 * digit string is built. [nd] digits in [radix], times 10^[e].
 */
static int int_too_big(struct lexer *lx, struct token *t, size_t nd, int radix, double e)
{
	if ((double)nd * log2(radix) + e * log2(10) <= LEX_INT_BITS_MAX + 4.0)
		return 0;
	lex_error_at(lx, t->line, t->col, "number too large (limit %d bits)", LEX_INT_BITS_MAX);
	t->t = T_INT;
	t->ival = 0;
	return 1;
}

/* Significant digits of [ds, de): leading zeros do not make a number big. */
static size_t sig_digits(const char *ds, const char *de)
{
	while (ds < de && *ds == '0')
		ds++;
	return (size_t)(de - ds);
}

static void radix_number(struct lexer *lx, struct token *t, const char *s)
{
	long r = strtol(s, NULL, 10); /* saturates on absurd radixes */
	int radix = (int)r;
	if (r < 2 || r > 36) {
		lex_error_at(lx, t->line, t->col, "bad radix %.*s", (int)(lx->p - s > 20 ? 20 : lx->p - s), s);
		radix = 10;
	}
	adv(lx);
	int neg = 0;
	if (cur(lx) == '-') {
		neg = 1;
		adv(lx);
	}
	const char *ds = lx->p;
	while (digit_val(cur(lx)) < radix)
		adv(lx);
	const char *de = lx->p;
	if (int_too_big(lx, t, sig_digits(ds, de), radix, 0))
		return;
	/* radix integers only */
	unsigned __int128 v = 0;
	int big = 0;
	for (const char *q = ds; q < de && !big; q++) {
		v = v * (unsigned)radix + (unsigned)digit_val(*q);
		if (v > (unsigned __int128)INT64_MAX)
			big = 1;
	}
	if (big) {
		t->t = T_BIGINT;
		t->str = arena_strdup(lx->arena, ds, (size_t)(de - ds));
		t->slen = (size_t)(de - ds);
		t->ival = neg ? -radix : radix;
	} else {
		t->t = T_INT;
		t->ival = neg ? -(int64_t)v : (int64_t)v;
	}
}

/* [s, lx->p) with d and q exponents as e, for strtod. */
static void float_number(struct lexer *lx, struct token *t, const char *s)
{
	size_t n = (size_t)(lx->p - s);
	char *buf = arena_strdup(lx->arena, s, n);
	for (char *q = buf; *q; q++)
		if (*q == 'd' || *q == 'q')
			*q = 'e';
	t->t = T_FLOAT;
	t->fval = strtod(buf, NULL); /* underflow answers 0 or a subnormal */
	if (isinf(t->fval)) {
		lex_error_at(lx, t->line, t->col, "number too large (beyond the Float range)");
		t->fval = 0;
	}
}

static void number(struct lexer *lx, struct token *t)
{
	const char *s = lx->p;
	while (isdigit(cur(lx)))
		adv(lx);
	const char *ds = s, *de = lx->p;
	if (cur(lx) == 'r' && (digit_val(at(lx, 1)) < 36 || (at(lx, 1) == '-' && digit_val(at(lx, 2)) < 36))) {
		radix_number(lx, t, s);
		return;
	}
	int isfloat = 0;
	if (cur(lx) == '.' && isdigit(at(lx, 1))) {
		isfloat = 1;
		adv(lx);
		while (isdigit(cur(lx)))
			adv(lx);
	}
	if ((cur(lx) == 'e' || cur(lx) == 'd' || cur(lx) == 'q') &&
	    (isdigit(at(lx, 1)) || (at(lx, 1) == '-' && isdigit(at(lx, 2))))) {
		const char *ep = lx->p;
		adv(lx);
		if (cur(lx) == '-')
			adv(lx);
		while (isdigit(cur(lx)))
			adv(lx);
		if (!isfloat && ep[1] != '-') {
			/* 1e10 is an Integer when the exponent is not negative */
			double ed = strtod(ep + 1, NULL); /* inf-safe, unlike strtol */
			size_t n = (size_t)(ep - s), nd = sig_digits(s, ep);
			if (nd == 0) {
				t->t = T_INT; /* 0e1000000000 */
				t->ival = 0;
				return;
			}
			if (int_too_big(lx, t, nd, 10, ed))
				return;
			size_t e = (size_t)ed;
			if (n + e < 19) {
				int64_t v = strtoll(s, NULL, 10);
				for (size_t i = 0; i < e; i++)
					v *= 10;
				t->t = T_INT;
				t->ival = v;
				return;
			}
			char *d = arena_alloc(lx->arena, n + e + 1);
			memcpy(d, s, n);
			memset(d + n, '0', e);
			t->t = T_BIGINT;
			t->str = d;
			t->slen = n + e;
			t->ival = 10;
			return;
		}
		isfloat = 1;
	}
	if (isfloat) {
		float_number(lx, t, s);
		return;
	}
	if (int_too_big(lx, t, sig_digits(ds, de), 10, 0))
		return;
	unsigned __int128 v = 0;
	int big = 0;
	for (const char *q = ds; q < de && !big; q++) {
		v = v * 10 + (unsigned)(*q - '0');
		if (v > (unsigned __int128)INT64_MAX)
			big = 1;
	}
	if (big) {
		t->t = T_BIGINT;
		t->str = arena_strdup(lx->arena, ds, (size_t)(de - ds));
		t->slen = (size_t)(de - ds);
		t->ival = 10;
	} else {
		t->t = T_INT;
		t->ival = (int64_t)v;
	}
}

/* 'it''s' -> it's */
static void string_body(struct lexer *lx, struct token *t)
{
	adv(lx); /* opening quote */
	const char *s = lx->p;
	size_t n = 0;
	for (;;) {
		int c = cur(lx);
		if (!c && lx->p >= lx->end) {
			lex_error_at(lx, t->line, t->col, "unterminated string");
			break;
		}
		if (c == '\'') {
			if (at(lx, 1) == '\'') {
				adv(lx);
				adv(lx);
				n++;
				continue;
			}
			break;
		}
		adv(lx);
		n++;
	}
	char *d = arena_alloc(lx->arena, n + 1);
	size_t k = 0;
	for (const char *q = s; q < lx->p && k < n; q++) {
		d[k++] = *q;
		if (*q == '\'')
			q++;
	}
	t->str = d;
	t->slen = n;
	adv(lx); /* closing quote */
}

void lex_next(struct lexer *lx)
{
	struct token *t = &lx->tok;
	memset(t, 0, sizeof *t);
	t->space_before = skip(lx);
	t->text = lx->p;
	t->line = lx->line;
	t->col = col_of(lx, lx->p);
	int c = cur(lx);
	if (lx->p >= lx->end) {
		t->t = T_EOF;
		return;
	}
	if (is_id0(c)) {
		while (is_id(cur(lx)))
			adv(lx);
		/* Namespace.Name (capitalised, no blanks): one identifier */
		while (isupper(c) && cur(lx) == '.' && isupper(at(lx, 1))) {
			adv(lx);
			while (is_id(cur(lx)))
				adv(lx);
		}
		if (cur(lx) == ':' && at(lx, 1) != '=') {
			adv(lx);
			t->t = T_KEYWORD;
		} else {
			t->t = T_IDENT;
			/* Foo.Bar namespaces are not supported: stop at the dot */
		}
	} else if (isdigit(c)) {
		number(lx, t);
	} else if (c == '$') {
		adv(lx);
		if (lx->p >= lx->end) {
			lex_error_at(lx, t->line, t->col, "character expected after $");
			t->t = T_ERROR;
		} else {
			/* UTF-8 sequences give their code point */
			unsigned char b = (unsigned char)cur(lx);
			uint32_t cp = b;
			int more = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
			if (more)
				cp = b & (0x3f >> more);
			adv(lx);
			while (more-- > 0 && (cur(lx) & 0xc0) == 0x80) {
				cp = (cp << 6) | (cur(lx) & 0x3f);
				adv(lx);
			}
			t->t = T_CHAR;
			t->ival = cp;
		}
	} else if (c == '\'') {
		t->t = T_STRING;
		string_body(lx, t);
	} else if (c == '#') {
		adv(lx);
		int d = cur(lx);
		if (d == '(') {
			adv(lx);
			t->t = T_HASHPAREN;
		} else if (d == '[') {
			adv(lx);
			t->t = T_HASHBRACKET;
		} else if (d == '{') {
			adv(lx);
			t->t = T_HASHBRACE;
		} else if (d == '\'') {
			t->t = T_SYMBOL;
			string_body(lx, t);
		} else if (is_id0(d)) {
			const char *s = lx->p;
			while (is_id(cur(lx)) || (cur(lx) == ':' ))
				adv(lx);
			t->t = T_SYMBOL;
			t->str = arena_strdup(lx->arena, s, (size_t)(lx->p - s));
			t->slen = (size_t)(lx->p - s);
		} else if (is_bin(d)) {
			const char *s = lx->p;
			while (is_bin(cur(lx)))
				adv(lx);
			t->t = T_SYMBOL;
			t->str = arena_strdup(lx->arena, s, (size_t)(lx->p - s));
			t->slen = (size_t)(lx->p - s);
		} else if (d == '#') {
			/* ##foo: same as #foo */
			lex_next(lx);
			return;
		} else {
			lex_error_at(lx, t->line, t->col, "bad literal after #");
			t->t = T_ERROR;
		}
	} else if (c == ':' && at(lx, 1) == '=') {
		adv(lx);
		adv(lx);
		t->t = T_ASSIGN;
	} else if (is_bin(c)) {
		/* A '-' directly before a digit stays a one-char binary token;
		 * the parser turns it into a negative literal where an operand
		 * is expected. */
		adv(lx);
		while (is_bin(cur(lx)) && !(cur(lx) == '-' && isdigit(at(lx, 1))))
			adv(lx);
		t->t = T_BINARY;
	} else {
		adv(lx);
		switch (c) {
		case '(': t->t = T_LPAREN; break;
		case ')': t->t = T_RPAREN; break;
		case '[': t->t = T_LBRACKET; break;
		case ']': t->t = T_RBRACKET; break;
		case '{': t->t = T_LBRACE; break;
		case '}': t->t = T_RBRACE; break;
		case '.': t->t = T_PERIOD; break;
		case ';': t->t = T_SEMI; break;
		case '^': t->t = T_CARET; break;
		case ':': t->t = T_COLON; break;
		case '!': t->t = T_BANG; break;
		default:
			lex_error_at(lx, t->line, t->col, "unexpected character '%c'", c);
			t->t = T_ERROR;
		}
	}
	t->len = (size_t)(lx->p - t->text);
}

void lex_init(struct lexer *lx, const char *file, const char *src, size_t n, struct arena *a)
{
	memset(lx, 0, sizeof *lx);
	lx->file = file;
	lx->src = lx->p = lx->line_start = src;
	lx->end = src + n;
	lx->line = 1;
	lx->arena = a;
	/* #! line of an executable script */
	if (n >= 2 && src[0] == '#' && src[1] == '!')
		while (lx->p < lx->end && *lx->p != '\n')
			lx->p++;
	lex_next(lx);
}

void lex_mark(struct lexer *lx, struct lex_mark *m)
{
	m->p = lx->p;
	m->line_start = lx->line_start;
	m->line = lx->line;
	m->tok = lx->tok;
}

void lex_reset(struct lexer *lx, const struct lex_mark *m)
{
	lx->p = m->p;
	lx->line_start = m->line_start;
	lx->line = m->line;
	lx->tok = m->tok;
}

int lex_peek_char(struct lexer *lx) { return cur(lx); }

void lex_clear_error(struct lexer *lx)
{
	lx->has_err = 0;
	lx->err[0] = 0;
}

void lex_seek(struct lexer *lx, const char *p)
{
	const char *q = lx->tok.text ? lx->tok.text : lx->p;
	int line = lx->tok.text ? lx->tok.line : lx->line;
	const char *ls = lx->line_start;
	if (lx->tok.text) {
		/* back to the token's line start */
		ls = q;
		while (ls > lx->src && ls[-1] != '\n')
			ls--;
	}
	for (; q < p && q < lx->end; q++)
		if (*q == '\n') {
			line++;
			ls = q + 1;
		}
	lx->p = p;
	lx->line = line;
	lx->line_start = ls;
	lex_next(lx);
}

void lex_init_at(struct lexer *lx, const char *file, const char *src, size_t n,
		 struct arena *a, int line)
{
	memset(lx, 0, sizeof *lx);
	lx->file = file;
	lx->src = lx->p = lx->line_start = src;
	lx->end = src + n;
	lx->line = line;
	lx->arena = a;
	lex_next(lx);
}
