// SPDX-License-Identifier: MIT
/*
 * vm/filein.c: running a file unit by unit, as GNU Smalltalk does. Owns the
 * readers of such files: each item (`Eval [ ]`, a class definition, one
 * statement, the method chunks after `!Foo methodsFor: 'x'!`) is parsed and
 * compiled only when the previous one has run, so that what an Eval defines
 * (a class made by a message, a global) is there for the next item, and a
 * compile error costs that item only. The loop that runs the units, reports
 * errors and prints gst's regression output (baton -r) is Smalltalk:
 * st/kernel/87-FileIn.st. See Documentation/vm/filein.md.
 */
#include <stdlib.h>
#include <string.h>

#include "vm/comp.h"
#include "vm/filein.h"
#include "vm/parse.h"
#include "vm/prim.h"

struct filein {
	struct arena a;
	struct lexer lx;
	char *src, *file;
	size_t n;
	/* method chunks: after `Foo [class] methodsFor: 'x'!`, [pos] is where
	 * the next chunk starts; [cls] the class name, [side] 1: metaclass */
	int chunks;
	const char *pos;
	char *cls;
	int side;
	const char *lpos; /* line_at's last position and its line */
	int lline;
};

/* Is the file GNU Smalltalk's kind (an `Eval [` or a `methodsFor:` chunk
 * header at top level)? Such files run unit by unit; others keep the
 * whole-file contract of Documentation/language.md. */
int fi_is_unitwise(const char *src, size_t n)
{
	struct arena a = {0};
	struct lexer lx;
	lex_init(&lx, "", src, n, &a);
	int depth = 0, found = 0, eval = 0;
	while (!found && !lx.has_err && lx.tok.t != T_EOF) {
		struct token *t = &lx.tok;
		if (t->t == T_LBRACKET || t->t == T_HASHBRACKET)
			depth++, found = eval && depth == 1;
		else if (t->t == T_RBRACKET && depth > 0)
			depth--;
		else if (depth == 0 && t->t == T_KEYWORD && t->len == 11 &&
			 !memcmp(t->text, "methodsFor:", 11))
			found = 1;
		eval = depth == 0 && t->t == T_IDENT && t->len == 4 && !memcmp(t->text, "Eval", 4);
		lex_next(&lx);
	}
	arena_free(&a);
	return found;
}

static void fi_free(struct filein *f)
{
	if (!f)
		return;
	arena_free(&f->a);
	free(f->src);
	free(f->file);
	free(f->cls);
	free(f);
}

int fi_open(struct st_vm *vm, const char *file, const char *src, size_t n)
{
	int h = 0;
	while (h < vm->nfileins && vm->fileins[h])
		h++;
	if (h == vm->nfileins) {
		void *nv = realloc(vm->fileins, sizeof *vm->fileins * (size_t)(h + 1));
		if (!nv)
			return -1;
		vm->fileins = nv;
		vm->fileins[vm->nfileins++] = NULL;
	}
	struct filein *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	f->src = malloc(n + 1);
	f->file = strdup(file);
	if (!f->src || !f->file) {
		fi_free(f);
		return -1;
	}
	memcpy(f->src, src, n);
	f->src[n] = 0;
	f->n = n;
	lex_init(&f->lx, f->file, f->src, n, &f->a);
	vm->fileins[h] = f;
	return h;
}

void fi_close(struct st_vm *vm, int h)
{
	if (h < 0 || h >= vm->nfileins)
		return;
	fi_free(vm->fileins[h]);
	vm->fileins[h] = NULL;
}

void fi_free_all(struct st_vm *vm)
{
	for (int i = 0; i < vm->nfileins; i++)
		fi_free(vm->fileins[i]);
	free(vm->fileins);
	vm->fileins = NULL;
	vm->nfileins = 0;
}

/* `Foo methodsFor: 'x'` or `Foo class methodsFor: 'x'` (and gst's other
 * spellings): the class name and side of the chunks that follow. */
static int chunk_header(struct node *s, const char **name, int *side)
{
	if (s->k != N_SEND || !s->rcv)
		return 0;
	if (strcmp(s->sel, "methodsFor:") && strcmp(s->sel, "methodsFor:stamp:") &&
	    strcmp(s->sel, "publicMethodsFor:") && strcmp(s->sel, "privateMethodsFor:"))
		return 0;
	struct node *r = s->rcv;
	*side = 0;
	if (r->k == N_SEND && r->nargs == 0 && !strcmp(r->sel, "class") && r->rcv) {
		*side = 1;
		r = r->rcv;
	}
	if (r->k != N_VAR)
		return 0;
	*name = r->name;
	return 1;
}

/* The end of the chunk starting at [p]: its terminating '!', or the end of
 * the source. As gst reads chunks with its scanner, a '!' in a comment, a
 * string or a character literal does not end one; "!!" stands for '!'. */
static const char *chunk_end(struct filein *f, const char *p)
{
	const char *e = f->src + f->n;
	while (p < e) {
		char c = *p;
		if (c == '"' || c == '\'') {
			for (p++; p < e; p++)
				if (*p == c) {
					if (p + 1 < e && p[1] == c) {
						p++;
						continue;
					}
					break;
				}
		} else if (c == '$' && p + 1 < e) {
			p++;
		} else if (c == '!') {
			if (p + 1 < e && p[1] == '!') {
				p += 2;
				continue;
			}
			return p;
		}
		p++;
	}
	return e;
}

/* The line of [p]. Chunks are reached in file order, so counting goes on
 * from the last chunk's start instead of the top of the file. */
static int line_at(struct filein *f, const char *p)
{
	if (!f->lpos || p < f->lpos) {
		f->lpos = f->src;
		f->lline = 1;
	}
	for (; f->lpos < p; f->lpos++)
		f->lline += *f->lpos == '\n';
	return f->lline;
}

/* Compiles and installs one method chunk [p, e); 0 on an error (in err). */
static int method_chunk(struct st_vm *vm, struct filein *f, const char *p, const char *e,
			char *err, size_t errlen)
{
	/* undouble "!!" */
	size_t n = 0;
	char *text = malloc((size_t)(e - p) + 1);
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", f->file);
		return 0;
	}
	for (const char *q = p; q < e; q++) {
		text[n++] = *q;
		if (*q == '!' && q + 1 < e && q[1] == '!')
			q++;
	}
	text[n] = 0;
	int line = line_at(f, p);
	oop cls = st_global(vm, f->cls);
	int ok = 0;
	if (!cls || !prim_is_class(vm, cls)) {
		snprintf(err, errlen, "%s:%d:1: undefined class '%s'", f->file, line, f->cls);
	} else {
		if (f->side)
			cls = vm->classes[obj_cls(cls)];
		ST_ROOT(vm, cls);
		oop m = comp_method_at(vm, cls, f->file, text, n, line, err, errlen);
		if (m) {
			ST_ROOT(vm, m);
			st_install(vm, cls, st_slot(m, CM_SELECTOR), m);
			ST_UNROOT(vm, 1);
			ok = 1;
		}
		ST_UNROOT(vm, 1);
	}
	free(text);
	return ok;
}

/* The method chunks after a methodsFor: header, up to the empty chunk. */
static int next_chunks(struct st_vm *vm, struct filein *f, char *err, size_t errlen)
{
	for (;;) {
		const char *p = f->pos, *end = f->src + f->n;
		const char *e = chunk_end(f, p);
		const char *q = p;
		while (q < e && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r' || *q == '\f'))
			q++;
		f->pos = e < end ? e + 1 : e;
		if (q == e) { /* the empty chunk: back to statements */
			f->chunks = 0;
			lex_seek(&f->lx, f->pos);
			return FI_NONE;
		}
		if (!method_chunk(vm, f, q, e, err, errlen))
			return FI_ERROR;
	}
}

int fi_next(struct st_vm *vm, int h, unsigned flags, oop *out, char *err, size_t errlen)
{
	*out = 0;
	if (h < 0 || h >= vm->nfileins || !vm->fileins[h])
		return FI_END;
	struct filein *f = vm->fileins[h];
	if (f->chunks)
		return next_chunks(vm, f, err, errlen);
	struct lex_mark start;
	lex_mark(&f->lx, &start);
	struct item *it = parse_item(&f->lx);
	if (!it) {
		if (!f->lx.has_err)
			return FI_END;
		snprintf(err, errlen, "%s", f->lx.err);
		parse_skip_item(&f->lx, &start);
		return FI_ERROR;
	}
	const char *name;
	if (it->k == I_STMTS && it->bang && chunk_header(it->stmts[0], &name, &f->side)) {
		free(f->cls);
		f->cls = strdup(name);
		if (!f->cls) {
			snprintf(err, errlen, "%s: out of memory", f->file);
			return FI_ERROR;
		}
		f->chunks = 1;
		f->pos = f->lx.tok.text + 1;
		return FI_NONE;
	}
	if (it->bang)
		lex_next(&f->lx); /* past the '!' */
	unsigned cf = it->k == I_EVAL ? flags : flags | COMP_REPL;
	oop m = comp_item(vm, &f->lx, &f->a, it, cf, err, errlen);
	if (!m) {
		lex_clear_error(&f->lx);
		return FI_ERROR;
	}
	*out = m;
	return it->k == I_EVAL ? FI_EVAL : FI_STMT;
}

/* ---- primitives (st/kernel/87-FileIn.st) ---------------------------------- */

/* FileIn class>>primOpen: source file: name: a reader's handle. */
PRIM(fiOpen)
{
	if (!prim_is_bytes(args[1]) || !prim_is_bytes(args[2]))
		return PRIM_FAIL;
	size_t fn = obj_byte_size(args[2]);
	char *file = malloc(fn + 1);
	if (!file)
		return PRIM_OOM;
	memcpy(file, obj_bytes(args[2]), fn);
	file[fn] = 0;
	int h = fi_open(vm, file, (const char *)obj_bytes(args[1]), obj_byte_size(args[1]));
	free(file);
	if (h < 0)
		return PRIM_OOM;
	args[0] = obj_from_int(h);
	return PRIM_OK;
}

/* FileIn class>>primNext: handle: {kind. method or error text}, or nil
 * at the end. Kinds: #eval, #statement, #none (methods were installed),
 * #error. */
PRIM(fiNext)
{
	if (!obj_is_int(args[1]))
		return PRIM_FAIL;
	char err[1024];
	err[0] = 0;
	oop m;
	int k = fi_next(vm, (int)obj_int(args[1]), 0, &m, err, sizeof err);
	if (k == FI_END) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	static const char *const kinds[] = {"end", "eval", "statement", "none", "error"};
	oop payload = vm->nil;
	if (k == FI_ERROR) {
		payload = prim_string(vm, err[0] ? err : "compilation failed");
		if (!payload)
			return PRIM_OOM;
	} else if (m) {
		payload = m;
	}
	ST_ROOT(vm, payload);
	oop kind = st_symbol_c(vm, kinds[k]);
	ST_ROOT(vm, kind);
	oop a = st_new_array(vm, 2);
	ST_UNROOT(vm, 2);
	if (!a)
		return PRIM_OOM;
	st_put(vm, a, 0, kind);
	st_put(vm, a, 1, payload);
	args[0] = a;
	return PRIM_OK;
}

PRIM(fiClose)
{
	if (!obj_is_int(args[1]))
		return PRIM_FAIL;
	fi_close(vm, (int)obj_int(args[1]));
	args[0] = vm->nil;
	return PRIM_OK;
}

/* FileIn class>>isUnitwise: source */
PRIM(fiIsUnitwise)
{
	if (!prim_is_bytes(args[1]))
		return PRIM_FAIL;
	args[0] = fi_is_unitwise((const char *)obj_bytes(args[1]), obj_byte_size(args[1]))
			  ? vm->true_
			  : vm->false_;
	return PRIM_OK;
}

/* Smalltalk isRegressionTesting: baton -r */
PRIM(fiRegression)
{
	args[0] = vm->regression ? vm->true_ : vm->false_;
	return PRIM_OK;
}

/* ---- gst's printing of an Eval's value (baton -r) ---------------------------
 * "returned value is X": gst prints X with a fixed C-level printer, not with
 * printOn:, so a program's methods cannot change it. The same rules here:
 * numbers, nil/true/false, characters, symbols and strings as literals,
 * floats with 6 significant digits (%#.6g; FloatD's exponent letter d,
 * FloatQ's q), classes by name, and anything else as a constructor with a
 * placeholder where gst prints an address: `Array new: 3 "<0>"`. */

static const char *class_name_of(struct st_vm *vm, oop cls, size_t *n)
{
	oop name = st_slot(cls, CLS_NAME);
	if (!obj_is_ptr(name) || name == vm->nil || obj_hdr(name)->fmt != OBJ_FMT_BYTES) {
		*n = 0;
		return "";
	}
	/* a class of a namespace (CLS_NAME X.Foo, vm/comp.c): gst's name, Foo */
	const char *b = (const char *)obj_bytes(name);
	size_t k = obj_byte_size(name), i = k;
	while (i > 0 && b[i - 1] != '.')
		i--;
	*n = k - i;
	return b + i;
}

static int is_named(struct st_vm *vm, oop cls, const char *s)
{
	size_t n;
	const char *name = class_name_of(vm, cls, &n);
	return n == strlen(s) && !memcmp(name, s, n);
}

/* OrderedCollection or a subclass: its elements are in an Array, its
 * first instance variable (st/kernel/20-Collection.st) */
static int is_ordered(struct st_vm *vm, oop cls)
{
	for (int depth = 0; cls != vm->nil && obj_is_ptr(cls) && depth < 64; depth++) {
		if (is_named(vm, cls, "OrderedCollection"))
			return 1;
		cls = st_slot(cls, CLS_SUPER);
	}
	return 0;
}

static void print_float(char *buf, size_t len, double d, char letter)
{
	snprintf(buf, len, "%#.6g", d);
	char *e = strrchr(buf, 'e');
	if (e && letter)
		*e = letter;
}

static oop value_string(struct st_vm *vm, oop o)
{
	char buf[160];
	if (obj_is_int(o)) {
		snprintf(buf, sizeof buf, "%ld", (long)obj_int(o));
		return prim_string(vm, buf);
	}
	if (o == vm->nil)
		return prim_string(vm, "nil");
	if (o == vm->true_)
		return prim_string(vm, "true");
	if (o == vm->false_)
		return prim_string(vm, "false");
	oop cls = vm->classes[obj_cls(o)];
	uint32_t ci = obj_cls(o);
	if (ci == CI_CHARACTER) {
		oop v = st_slot(o, CHAR_VALUE);
		long c = obj_is_int(v) ? (long)obj_int(v) : 0;
		if (c > 127 && c < 256)
			snprintf(buf, sizeof buf, "Character value: 16r%02lX", c);
		else if (c >= 32 && c <= 126)
			snprintf(buf, sizeof buf, "$%c", (int)c);
		else if (c < 32)
			snprintf(buf, sizeof buf, "$<%ld>", c);
		else
			snprintf(buf, sizeof buf, "$<16r%04lX>", c);
		return prim_string(vm, buf);
	}
	if (prim_float_regression_format(o, buf, sizeof buf)) /* FloatD, FloatE, FloatQ */
		return prim_string(vm, buf);
	if (obj_hdr(o)->fmt == OBJ_FMT_WORDS && obj_slots(o) == 1 &&
	    (ci == CI_FLOAT || is_named(vm, cls, "FloatD") || is_named(vm, cls, "FloatE") ||
	     is_named(vm, cls, "FloatQ"))) {
		double d;
		memcpy(&d, obj_body(o), 8);
		char letter = is_named(vm, cls, "FloatE") ? 0 : is_named(vm, cls, "FloatQ") ? 'q' : 'd';
		print_float(buf, sizeof buf, d, letter);
		return prim_string(vm, buf);
	}
	if (ci == CI_SYMBOL || ci == CI_STRING) {
		/* #foo, 'foo' (gst does not double embedded quotes here) */
		size_t n = obj_byte_size(o), k = ci == CI_SYMBOL ? n + 1 : n + 2;
		ST_ROOT(vm, o);
		oop s = st_new_bytes(vm, CI_STRING, k);
		ST_UNROOT(vm, 1);
		if (!s)
			return 0;
		char *p = (char *)obj_bytes(s);
		p[0] = ci == CI_SYMBOL ? '#' : '\'';
		memcpy(p + 1, obj_bytes(o), n);
		if (ci == CI_STRING)
			p[n + 1] = '\'';
		return s;
	}
	if (ci == CI_METACLASS) {
		oop inst = st_slot(o, CLS_THIS);
		size_t n;
		const char *name = class_name_of(vm, inst, &n);
		snprintf(buf, sizeof buf, "%.*s class", (int)(n > 100 ? 100 : n), name);
		return prim_string(vm, buf);
	}
	if (prim_is_class(vm, o)) {
		size_t n;
		const char *name = class_name_of(vm, o, &n);
		return st_new_string(vm, name, n);
	}
	size_t n;
	const char *name = class_name_of(vm, cls, &n);
	intptr_t fmt = obj_int(st_slot(cls, CLS_FORMAT));
	int indexed = (fmt >> 8) & 0xff;
	if (is_ordered(vm, cls) && obj_slots(o) > 0 && obj_is_ptr(st_slot(o, 0)) &&
	    obj_cls(st_slot(o, 0)) == CI_ARRAY) {
		/* gst's OrderedCollection is indexable: its capacity shows */
		snprintf(buf, sizeof buf, "%.*s new: %zu \"<0>\"", (int)(n > 100 ? 100 : n), name,
			 obj_slots(st_slot(o, 0)));
	} else if (is_named(vm, cls, "SystemDictionary")) {
		/* gst's Smalltalk is a hashed collection: its capacity shows; ours
		 * is the VM's globals table (vm/boot.c) */
		snprintf(buf, sizeof buf, "%.*s new: %zu \"<0>\"", (int)(n > 100 ? 100 : n), name,
			 vm->globcap);
	} else if (indexed) {
		size_t k = obj_hdr(o)->fmt == OBJ_FMT_BYTES   ? obj_byte_size(o)
			   : obj_hdr(o)->fmt == OBJ_FMT_WORDS ? obj_slots(o)
							      : obj_slots(o) - (size_t)(fmt >> 16);
		snprintf(buf, sizeof buf, "%.*s new: %zu \"<0>\"", (int)(n > 100 ? 100 : n), name, k);
	} else {
		snprintf(buf, sizeof buf, "%.*s new \"<0>\"", (int)(n > 100 ? 100 : n), name);
	}
	return prim_string(vm, buf);
}

PRIM(fiPrintValue)
{
	oop s = value_string(vm, args[1]);
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}

/* FileIn class>>primSetStatus: n: the exit status of a file run unit by
 * unit (65: a unit did not compile; 1: one failed), kept when higher. */
PRIM(fiSetStatus)
{
	if (!obj_is_int(args[1]))
		return PRIM_FAIL;
	int s = (int)obj_int(args[1]);
	if (s > vm->unit_status)
		vm->unit_status = s;
	args[0] = vm->nil;
	return PRIM_OK;
}
