// SPDX-License-Identifier: MIT
/*
 * vm/lex.h: the Smalltalk scanner (GNU Smalltalk bracket syntax).
 * Owns tokenisation and source positions; knows nothing of objects.
 * See Documentation/vm/compiler.md.
 */
#ifndef BATON_VM_LEX_H
#define BATON_VM_LEX_H

#include <stddef.h>
#include <stdint.h>

enum tok {
	T_EOF,
	T_IDENT,    /* foo */
	T_KEYWORD,  /* foo: */
	T_BINARY,   /* + - , <= ... also | < > when used as operators */
	T_INT,      /* fits int64: [ival]; else [text] holds digits (bignum) */
	T_BIGINT,   /* integer literal too big: text/len, radix in [ival] */
	T_FLOAT,    /* [fval]; [fkind] 'd' 'e' 'q' or 0 (FloatD) */
	T_SCALED,   /* 3.14s2: [str]/[slen] digits (radix [ival], negative
		     * when the radix is), [nfrac] of them after the point, [scale] */
	T_CHAR,     /* $a: [ival] */
	T_STRING,   /* 'x': [str]/[slen] unescaped */
	T_SYMBOL,   /* #foo #foo:bar: #+ #'x': [str]/[slen] */
	T_HASHPAREN,   /* #( */
	T_HASHBRACKET, /* #[ */
	T_HASHBRACE,   /* #{ */
	T_HASHHASHPAREN, /* ##( */
	T_LPAREN, T_RPAREN, T_LBRACKET, T_RBRACKET, T_LBRACE, T_RBRACE,
	T_PERIOD, T_SEMI, T_CARET, T_ASSIGN, T_COLON, T_BANG,
	T_ERROR
};

/* Limits on hostile source, each a syntax error (see Documentation/vm/compiler.md):
 * integer literals up to LEX_INT_BITS_MAX bits (conversion is quadratic), and
 * brackets, blocks, literal arrays and assignments nested up to PARSE_DEPTH_MAX
 * deep (the parser recurses on them) and syntax trees, message chains
 * included, up to PARSE_HEIGHT_MAX tall (the compiler recurses on them). */
#define LEX_INT_BITS_MAX 65536
#define PARSE_DEPTH_MAX 256
#define PARSE_HEIGHT_MAX 4096 /* of the syntax tree, message chains included */
#define LEX_NS_MAX 64 /* "Namespace current: X [" nested */

struct token {
	enum tok t;
	const char *text; /* start in the source */
	size_t len;
	int line, col;
	int64_t ival;
	double fval;
	char fkind;       /* T_FLOAT: the class letter 'd' 'e' 'q', 0 if none */
	int scale, nfrac; /* T_SCALED */
	char *str;        /* unescaped string/symbol body (arena) */
	size_t slen;
	int space_before; /* whitespace or comment precedes it */
};

struct lexer {
	const char *file;
	const char *src, *p, *end;
	int line;
	const char *line_start;
	struct token tok;    /* current */
	struct arena *arena;
	char err[256];       /* first error: "FILE:L:C: msg" */
	int has_err;
	/* The parser's top level: "Namespace current: X [" items open (kept
	 * here because files are parsed one item at a time, vm/filein.c).
	 * [ns] is the innermost as a dotted path, NULL for Smalltalk. */
	const char *ns;
	int nns;
	const char *ns_outer[LEX_NS_MAX];
};

/* A cursor snapshot for backtracking (top-level item detection). */
struct lex_mark {
	const char *p, *line_start;
	int line;
	struct token tok;
	const char *ns; /* the namespace state (see struct lexer) */
	int nns;
};

void lex_init(struct lexer *lx, const char *file, const char *src, size_t n,
	      struct arena *a);
void lex_next(struct lexer *lx);
void lex_mark(struct lexer *lx, struct lex_mark *m);
void lex_reset(struct lexer *lx, const struct lex_mark *m);
/* Records the first error at [line]:[col]; later ones are ignored. */
void lex_error_at(struct lexer *lx, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Forgets the recorded error, so that scanning can go on after it. */
void lex_clear_error(struct lexer *lx);
/* Restarts scanning at [p], a position after the current token's start in
 * the same source (lines are counted from there), and scans one token. */
void lex_seek(struct lexer *lx, const char *p);
/* As lex_init, for a piece of a file that starts on [line]. */
void lex_init_at(struct lexer *lx, const char *file, const char *src, size_t n,
		 struct arena *a, int line);
/* The character right after the current token (0 at the end). */
int lex_peek_char(struct lexer *lx);

/* A bump allocator for the front end; freed all at once. */
struct arena {
	struct arena_blk *blk;
};
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s, size_t n);
/* Room for one more element in the arena array [p] of [n] elements of [elsz] bytes
 * and capacity [*cap]: [p] itself, or a copy with the next capacity of vm/grow.h
 * (the old copy stays in the arena until it is freed). */
void *arena_grow(struct arena *a, void *p, int n, int *cap, size_t elsz, size_t first);
void arena_free(struct arena *a);

#endif /* BATON_VM_LEX_H */
