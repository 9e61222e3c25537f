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
 * digit string is built (int_token).
 */

/* Significant digits of [ds, de): leading zeros do not make a number big. */
static size_t sig_digits(const char *ds, const char *de)
{
	while (ds < de && *ds == '0')
		ds++;
	return (size_t)(de - ds);
}

/*
 * Digits of [radix] from the cursor (the first one is known to be there),
 * with '_' separators between them: 1_000_000, 16r3FFF_FFFF. A '_' not
 * followed by a digit is not part of the number.
 */
static void scan_digits(struct lexer *lx, int radix)
{
	for (;;) {
		int k = 0;
		while (at(lx, k) == '_')
			k++;
		if (digit_val(at(lx, k)) >= radix)
			return;
		while (k-- >= 0)
			adv(lx);
	}
}

/* [s, e) without the separators, in the arena. */
static char *clean_digits(struct lexer *lx, const char *s, const char *e, size_t *n)
{
	char *d = arena_alloc(lx->arena, (size_t)(e - s) + 1);
	size_t k = 0;
	for (const char *q = s; q < e; q++)
		if (*q != '_')
			d[k++] = *q;
	d[k] = 0;
	*n = k;
	return d;
}

/* An Integer token: digits [d, d+n) in [radix] followed by [zeros] zeros. */
static void int_token(struct lexer *lx, struct token *t, const char *d, size_t n, int radix,
		      int neg, double zeros)
{
	size_t nd = sig_digits(d, d + n);
	if (nd == 0) {
		t->t = T_INT; /* 0e1000000000 */
		t->ival = 0;
		return;
	}
	if (((double)nd + zeros) * log2(radix) > LEX_INT_BITS_MAX + 4.0) {
		lex_error_at(lx, t->line, t->col, "number too large (limit %d bits)", LEX_INT_BITS_MAX);
		t->t = T_INT;
		t->ival = 0;
		return;
	}
	size_t z = (size_t)zeros;
	if (z) {
		char *b = arena_alloc(lx->arena, n + z + 1);
		memcpy(b, d, n);
		memset(b + n, '0', z);
		d = b;
		n += z;
	}
	unsigned __int128 v = 0;
	int big = 0;
	for (size_t i = 0; i < n && !big; i++) {
		v = v * (unsigned)radix + (unsigned)digit_val(d[i]);
		if (v > (unsigned __int128)INT64_MAX)
			big = 1;
	}
	if (big) {
		t->t = T_BIGINT;
		t->str = (char *)d;
		t->slen = n;
		t->ival = neg ? -radix : radix;
	} else {
		t->t = T_INT;
		t->ival = neg ? -(int64_t)v : (int64_t)v;
	}
}

/*
 * Number literals, as GNU Smalltalk reads them:
 *   [radix r][-]digits[.digits][e|d|q[-digits]]   or   ...digits[.digits]s[digits]
 * '_' separates digits. An integer mantissa with a non-negative e exponent
 * is an Integer (1e10); a '.', a negative exponent or the class letters d
 * and q make a Float, and so does a class letter without exponent digits
 * (1d, 1.0e, 2q). [fkind] keeps the letter ('e' only without digits: 1.5e10
 * is a FloatD as in gst's printString). 'Ns' / 'N.MsK' is a ScaledDecimal.
 */
static void number(struct lexer *lx, struct token *t)
{
	const char *s = lx->p;
	int radix = 10, neg = 0;
	scan_digits(lx, 10);
	const char *is = s, *ie = lx->p;
	if (cur(lx) == 'r' && (digit_val(at(lx, 1)) < 36 || (at(lx, 1) == '-' && digit_val(at(lx, 2)) < 36))) {
		size_t rn;
		char *rd = clean_digits(lx, s, lx->p, &rn);
		long r = strtol(rd, NULL, 10); /* saturates on absurd radixes */
		radix = (int)r;
		if (r < 2 || r > 36) {
			lex_error_at(lx, t->line, t->col, "bad radix %.*s", (int)(rn > 20 ? 20 : rn), rd);
			radix = 36;
		}
		adv(lx);
		if (cur(lx) == '-') {
			neg = 1;
			adv(lx);
		}
		if (digit_val(cur(lx)) >= radix) {
			lex_error_at(lx, t->line, t->col, "digit expected after the radix");
			t->t = T_INT;
			return;
		}
		is = lx->p;
		scan_digits(lx, radix);
		ie = lx->p;
	}
	const char *fs = NULL, *fe = NULL;
	if (cur(lx) == '.' && digit_val(at(lx, 1)) < radix) {
		adv(lx);
		fs = lx->p;
		scan_digits(lx, radix);
		fe = lx->p;
	}
	size_t in, fn = 0;
	char *id = clean_digits(lx, is, ie, &in), *fd = fs ? clean_digits(lx, fs, fe, &fn) : NULL;
	if (cur(lx) == 's' && (isdigit(at(lx, 1)) || !is_id(at(lx, 1)))) {
		/* ScaledDecimal: 123s2, 3.14s2, 3.14s (the scale is the digits given) */
		adv(lx);
		long scale = (long)fn;
		if (isdigit(cur(lx))) {
			scale = 0;
			while (isdigit(cur(lx))) {
				if (scale < 100000)
					scale = scale * 10 + (cur(lx) - '0');
				adv(lx);
			}
			if (scale >= 100000)
				lex_error_at(lx, t->line, t->col, "scale too large");
		}
		if ((double)sig_digits(id, id + in) + (double)fn > LEX_INT_BITS_MAX / log2(radix)) {
			lex_error_at(lx, t->line, t->col, "number too large (limit %d bits)", LEX_INT_BITS_MAX);
			t->t = T_INT;
			return;
		}
		char *d = arena_alloc(lx->arena, in + fn + 1);
		memcpy(d, id, in);
		if (fn)
			memcpy(d + in, fd, fn);
		t->t = T_SCALED;
		t->str = d;
		t->slen = in + fn;
		t->nfrac = (int)fn;
		t->scale = (int)scale;
		t->ival = neg ? -radix : radix;
		return;
	}
	char kind = 0;
	int has_exp = 0, eneg = 0;
	double ed = 0;
	int c = cur(lx);
	if (c == 'e' || c == 'd' || c == 'q') {
		if (isdigit(at(lx, 1)) || (at(lx, 1) == '-' && isdigit(at(lx, 2)))) {
			kind = (char)c;
			has_exp = 1;
			adv(lx);
			if (cur(lx) == '-') {
				eneg = 1;
				adv(lx);
			}
			ed = strtod(lx->p, NULL); /* inf-safe, unlike strtol */
			while (isdigit(cur(lx)))
				adv(lx);
		} else if (!is_id(at(lx, 1))) {
			kind = (char)c; /* 1d, 1.0e, 2q: the class letter alone */
			adv(lx);
		}
	}
	if (!fs && (!kind || (kind == 'e' && has_exp && !eneg))) {
		int_token(lx, t, id, in, radix, neg, ed);
		return;
	}
	t->t = T_FLOAT;
	t->fkind = kind == 'e' && has_exp ? 0 : kind;
	if (radix == 10) {
		char *buf = arena_alloc(lx->arena, in + fn + 48);
		snprintf(buf, in + fn + 48, "%s.%se%s%.0f", id, fd ? fd : "0", eneg ? "-" : "",
			 ed > 1e9 ? 1e9 : ed);
		t->fval = strtod(buf, NULL); /* underflow answers 0 or a subnormal */
	} else {
		long double v = 0;
		for (size_t i = 0; i < in; i++)
			v = v * radix + digit_val(id[i]);
		for (size_t i = 0; i < fn; i++)
			v = v * radix + digit_val(fd[i]);
		double e = (eneg ? -ed : ed) - (double)fn;
		if (e < -1e5)
			e = -1e5;
		if (e > 1e5)
			e = 1e5;
		if (v != 0)
			v *= powl(radix, e);
		t->fval = (double)(neg ? -v : v);
	}
	if (isinf(t->fval)) {
		lex_error_at(lx, t->line, t->col, "number too large (beyond the Float range)");
		t->fval = 0;
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

/* $<65>, $<16r41>: the character of a code point; after "$<" at a digit.
 * Anything else ($<= ...) leaves the character $< as it is. */
static void char_code(struct lexer *lx, struct token *t)
{
	const char *p = lx->p, *ls = lx->line_start;
	int line = lx->line;
	struct token n = *t;
	number(lx, &n);
	if (n.t == T_INT && n.ival >= 0 && cur(lx) == '>') {
		adv(lx);
		if (n.ival > 0x10FFFF)
			lex_error_at(lx, t->line, t->col, "character code point out of range");
		else
			t->ival = n.ival;
		return;
	}
	lx->p = p;
	lx->line_start = ls;
	lx->line = line;
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
	if (c == '_' && !isalpha(at(lx, 1)) && at(lx, 1) != '_') {
		/* x _ y: the old assignment arrow (a_b is an identifier) */
		adv(lx);
		t->t = T_ASSIGN;
	} else if (is_id0(c)) {
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
			if (cp == '<' && isdigit(cur(lx)))
				char_code(lx, t);
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
		} else if (d == '#' && at(lx, 1) == '(') {
			/* ##(expr): a compile-time constant */
			adv(lx);
			adv(lx);
			t->t = T_HASHHASHPAREN;
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
	m->ns = lx->ns;
	m->nns = lx->nns;
}

void lex_reset(struct lexer *lx, const struct lex_mark *m)
{
	lx->p = m->p;
	lx->line_start = m->line_start;
	lx->line = m->line;
	lx->tok = m->tok;
	lx->ns = m->ns;
	lx->nns = m->nns;
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
