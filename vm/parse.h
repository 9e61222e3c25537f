// SPDX-License-Identifier: MIT
/*
 * vm/parse.h: the syntax tree of methods, blocks and top-level items.
 * The parser owns the grammar; the tree lives in an arena and carries
 * positions for error messages and line tables. No objects are made here.
 * See Documentation/vm/compiler.md.
 */
#ifndef BATON_VM_PARSE_H
#define BATON_VM_PARSE_H

#include "vm/lex.h"

enum lit_kind { L_INT, L_BIGINT, L_FLOAT, L_CHAR, L_STRING, L_SYMBOL, L_ARRAY,
		L_BYTES, L_NIL, L_TRUE, L_FALSE,
		L_SCALED,  /* 3.14s2: digits in str, radix in ival, nfrac, scale, neg */
		L_BINDING, /* #{Foo}: the name in str */
		L_CELL };  /* the once-cell of a ##(expr): one Array per method */

struct lit {
	enum lit_kind k;
	int64_t ival;   /* L_INT, L_CHAR; L_BIGINT: signed radix */
	double fval;
	char *str;      /* L_STRING, L_SYMBOL, L_BIGINT digits */
	size_t len;
	int neg;        /* L_BIGINT, L_SCALED */
	char fkind;     /* L_FLOAT: 'd' 'e' 'q' or 0 (see vm/lex.h) */
	int scale, nfrac; /* L_SCALED */
	const void *cell_fn; /* L_CELL: the compiler's fn holding it, */
	int cell_idx;        /* at this literal index */
	struct lit **elems; /* L_ARRAY; L_BYTES uses ival of each */
	int n;
};

enum node_kind { N_LIT, N_VAR, N_ASSIGN, N_SEND, N_CASCADE, N_BLOCK, N_RETURN,
		 N_BRACE, N_CONTEXT };

struct var;
struct block;

struct node {
	enum node_kind k;
	int line, col;
	struct lit *lit;          /* N_LIT */
	const char *name;         /* N_VAR, N_ASSIGN target */
	struct var *var;          /* resolved */
	struct node *value;       /* N_ASSIGN, N_RETURN */
	struct node *rcv;         /* N_SEND (NULL inside a cascade), N_CASCADE */
	const char *sel;          /* N_SEND */
	struct node **args;       /* N_SEND args; N_CASCADE messages; N_BRACE */
	int nargs;
	int super;                /* N_SEND to super */
	int inlined;              /* N_SEND compiled inline (ifTrue: ...) */
	struct block *block;      /* N_BLOCK */
	int height;               /* of the subtree: 0 for a leaf */
};

struct block {
	const char **params;
	int nparams;
	const char **temps;
	int ntemps;
	struct node **stmts;
	int nstmts;
	int line, col, end_line;
	int height;               /* 1 + the tallest statement */
	int inlined;              /* set by the compiler's resolve pass */
	struct scope *scope;      /* compiler's */
};

struct method_ast {
	const char *sel;
	struct block *body;       /* params are the arguments */
	int prim;                 /* primitive number, 0: none */
	const char *prim_name;    /* <primitive: name> */
	int line, col;
	int class_side;
	const char *owner;        /* "Foo >> sel [ ]" in a class body: Foo */
};

struct classvar_ast {
	const char *name;
	struct node *init;        /* may be NULL */
	int line, col;
};

enum item_kind { I_STMTS, I_TEMPS, I_CLASS, I_EVAL };
enum class_kind { C_SUBCLASS, C_EXTEND, C_CLASS_EXTEND };

struct class_ast {
	enum class_kind k;
	const char *super;        /* C_SUBCLASS */
	const char *name;
	const char **ivars;
	int nivars;
	const char **civars;      /* Foo class [ | a | ] */
	int ncivars;
	struct classvar_ast *cvars;
	int ncvars;
	struct method_ast **methods;
	int nmethods;
	const char *shape;        /* <shape: #pointer|#byte|#word> */
	const char *category;
	const char *comment;
	const char *ns;           /* inside "Namespace current: X [ ]": "X" */
	int line, col;
};

struct item {
	enum item_kind k;
	struct node **stmts;      /* I_STMTS */
	int nstmts;
	const char **temps;       /* I_TEMPS */
	int ntemps;
	struct class_ast *cls;    /* I_CLASS */
	const char *ns;           /* inside "Namespace current: X [ ]": "X" */
	struct block *body;       /* I_EVAL: temps and statements */
	int line;
	int bang;                 /* parse_item: ended at a '!' (TOK is it) */
};

struct unit_ast {
	struct item **items;
	int nitems;
};

/* Whole file. NULL on a syntax error (lx->err says where). */
struct unit_ast *parse_unit(struct lexer *lx);
/* One method definition as in a class body ("foo: x [ ... ]" without the
 * brackets is not accepted; this is for Behavior>>compile:). */
struct method_ast *parse_method_source(struct lexer *lx);

/* One top-level item of a file run unit by unit (vm/filein.c): a class
 * definition, `Eval [ ]`, temporaries, or one statement. NULL at the end,
 * or on a syntax error (lx->has_err). A statement that ends with '!' is left
 * with the '!' as the current token and [bang] set: the caller reads what
 * follows (method chunks after `Foo methodsFor: 'x'!`). */
struct item *parse_item(struct lexer *lx);
/* After a syntax error in the item that began at [m]: skips to where the
 * next item can begin (past the item's closing ']', or past the '.' or '!'
 * ending a statement), and clears the error. */
void parse_skip_item(struct lexer *lx, const struct lex_mark *m);

#endif /* BATON_VM_PARSE_H */
