// SPDX-License-Identifier: MIT
/*
 * vm/prim_json.c: the JSON package's two primitives (st/packages/JSON.st):
 * jsonParse, a strict RFC 8259 parser that builds the answer's Dictionaries,
 * Arrays, Strings and Numbers directly, and jsonQuote, a String's JSON
 * form with its quotes and escapes. The parser is iterative (a C stack of
 * open containers, depth limited), so no input can exhaust the C stack.
 * See Documentation/vm/json-sqlite.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/bigint.h"
#include "vm/interp.h"
#include "vm/prim.h"

/* Deeper nesting is a JSONError (the parser itself has no recursion). */
#define JSON_MAX_DEPTH 1000

struct jp {
	struct st_vm *vm;
	const uint8_t *s; /* a private copy of the input, NUL-terminated */
	size_t n, i;
	oop stack;        /* an Array: the values of the open containers (rooted) */
	size_t sp;
	uint8_t *buf;     /* scratch for decoding strings */
	size_t bufcap;
	const char *err;  /* set on a syntax error */
	size_t erroff;
	int oom;
	uint32_t dict_ci; /* Dictionary's class index, its named slots */
	unsigned dict_fmt;
	size_t dict_named;
};

static int fail(struct jp *p, size_t at, const char *msg)
{
	if (!p->err && !p->oom) {
		p->err = msg;
		p->erroff = at;
	}
	return 0;
}

static inline void skip_ws(struct jp *p)
{
	const uint8_t *s = p->s;
	size_t i = p->i;
	while (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
		i++;
	p->i = i;
}

/* Pushes [v] on the value stack (which may grow: an allocation). */
static int push(struct jp *p, oop v)
{
	struct st_vm *vm = p->vm;
	size_t cap = obj_slots(p->stack);
	if (p->sp == cap) {
		ST_ROOT(vm, v);
		oop ns = st_new_array(vm, cap * 2);
		ST_UNROOT(vm, 1);
		if (!ns) {
			p->oom = 1;
			return 0;
		}
		for (size_t k = 0; k < p->sp; k++)
			st_put(vm, ns, k, obj_body(p->stack)[k]);
		p->stack = ns;
	}
	st_put(vm, p->stack, p->sp++, v);
	return 1;
}

static int buf_room(struct jp *p, size_t need)
{
	if (need <= p->bufcap)
		return 1;
	size_t c = p->bufcap ? p->bufcap : 256;
	while (c < need)
		c *= 2;
	uint8_t *b = realloc(p->buf, c);
	if (!b) {
		p->oom = 1;
		return 0;
	}
	p->buf = b;
	p->bufcap = c;
	return 1;
}

/* Length of the valid UTF-8 sequence at [s] (no overlongs, no surrogates,
 * at most U+10FFFF), 0 if invalid. s[0] >= 0x80. */
static size_t utf8_len(const uint8_t *s)
{
	uint8_t c = s[0];
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4
																   : 0;
	}
	return 0;
}

static int hex4(const uint8_t *s, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		uint8_t c = s[k];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return 0;
	}
	*out = v;
	return 1;
}

static size_t put_utf8(uint8_t *d, unsigned cp)
{
	if (cp < 0x80) {
		d[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (uint8_t)(0xc0 | cp >> 6);
		d[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (uint8_t)(0xe0 | cp >> 12);
		d[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (uint8_t)(0xf0 | cp >> 18);
	d[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at p->i (the opening quote): a new String, or 0. */
static oop parse_string(struct jp *p)
{
	const uint8_t *s = p->s;
	size_t start = ++p->i, i = start;
	/* fast path: printable ASCII up to the closing quote */
	while (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
		i++;
	if (s[i] == '"') {
		oop r = st_new_bytes(p->vm, CI_STRING, i - start);
		if (!r) {
			p->oom = 1;
			return 0;
		}
		memcpy(obj_bytes(r), s + start, i - start);
		p->i = i + 1;
		return r;
	}
	size_t len = i - start;
	if (!buf_room(p, len + 64))
		return 0;
	memcpy(p->buf, s + start, len);
	for (;;) {
		uint8_t c = s[i];
		if (!buf_room(p, len + 8))
			return 0;
		if (c == '"')
			break;
		if (c == '\\') {
			uint8_t e = s[i + 1];
			const char *esc = strchr("\"\\/bfnrt", e);
			if (e && esc) {
				static const char to[] = "\"\\/\b\f\n\r\t";
				p->buf[len++] = (uint8_t)to[esc - "\"\\/bfnrt"];
				i += 2;
				continue;
			}
			if (e != 'u')
				return (oop)(uintptr_t)fail(p, i, "invalid escape in string");
			unsigned cp;
			if (!hex4(s + i + 2, &cp))
				return (oop)(uintptr_t)fail(p, i, "invalid \\u escape");
			size_t at = i;
			i += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return (oop)(uintptr_t)fail(p, at, "lone low surrogate in \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				if (s[i] != '\\' || s[i + 1] != 'u' || !hex4(s + i + 2, &lo) || lo < 0xdc00 ||
				    lo > 0xdfff)
					return (oop)(uintptr_t)fail(p, at, "lone high surrogate in \\u escape");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
			len += put_utf8(p->buf + len, cp);
			continue;
		}
		if (c < 0x20) {
			if (!c && i >= p->n)
				return (oop)(uintptr_t)fail(p, i, "unterminated string");
			return (oop)(uintptr_t)fail(p, i, "control character in string");
		}
		if (c < 0x80) {
			p->buf[len++] = c;
			i++;
			continue;
		}
		size_t k = utf8_len(s + i);
		if (!k)
			return (oop)(uintptr_t)fail(p, i, "invalid UTF-8 in string");
		memcpy(p->buf + len, s + i, k);
		len += k;
		i += k;
	}
	oop r = st_new_bytes(p->vm, CI_STRING, len);
	if (!r) {
		p->oom = 1;
		return 0;
	}
	memcpy(obj_bytes(r), p->buf, len);
	p->i = i + 1;
	return r;
}

static oop parse_number(struct jp *p)
{
	const uint8_t *s = p->s;
	size_t start = p->i, i = start;
	int neg = 0, isfloat = 0;
	if (s[i] == '-') {
		neg = 1;
		i++;
	}
	size_t d0 = i;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return (oop)(uintptr_t)fail(p, i, "digit expected");
	size_t d1 = i;
	if (s[i] >= '0' && s[i] <= '9')
		return (oop)(uintptr_t)fail(p, d0, "leading zero in number");
	if (s[i] == '.') {
		isfloat = 1;
		i++;
		if (!(s[i] >= '0' && s[i] <= '9'))
			return (oop)(uintptr_t)fail(p, i, "digit expected after '.'");
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		isfloat = 1;
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (!(s[i] >= '0' && s[i] <= '9'))
			return (oop)(uintptr_t)fail(p, i, "digit expected in exponent");
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	p->i = i;
	if (!isfloat) {
		size_t nd = d1 - d0;
		if (nd <= 18) {
			intptr_t v = 0;
			for (size_t k = d0; k < d1; k++)
				v = v * 10 + (s[k] - '0');
			return obj_from_int(neg ? -v : v);
		}
		oop r = big_from_digits(p->vm, (const char *)s + d0, nd, 10, neg);
		if (!r)
			p->oom = 1;
		return r;
	}
	char tmp[64], *t = tmp, *end;
	size_t n = i - start;
	if (n >= sizeof tmp && !(t = malloc(n + 1))) {
		p->oom = 1;
		return 0;
	}
	memcpy(t, s + start, n);
	t[n] = 0;
	double d = strtod(t, &end);
	if (t != tmp)
		free(t);
	if (isinf(d))
		return (oop)(uintptr_t)fail(p, start, "number out of range");
	oop r = st_new_float(p->vm, d);
	if (!r)
		p->oom = 1;
	return r;
}

static inline uint32_t str_hash(oop k)
{
	/* String>>hash (vm/prim.c stringHash): Dictionary's slot for a key */
	uint32_t h = 2166136261u;
	const uint8_t *b = obj_bytes(k);
	for (size_t i = 0, n = obj_byte_size(k); i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h & 0x3fffffff;
}

/* The n key/value pairs on top of the stack: a Dictionary replaces them. */
static oop make_dict(struct jp *p, size_t npairs)
{
	struct st_vm *vm = p->vm;
	size_t cap = 8;
	while (cap < npairs * 4 / 3 + 1)
		cap *= 2;
	oop keys = st_new_array(vm, cap), vals = 0, d = 0;
	if (!keys)
		goto oom;
	ST_ROOT(vm, keys);
	vals = st_new_array(vm, cap);
	if (!vals) {
		ST_UNROOT(vm, 1);
		goto oom;
	}
	ST_ROOT(vm, vals);
	d = st_alloc(vm, p->dict_ci, p->dict_fmt, p->dict_named, 0);
	ST_UNROOT(vm, 2);
	if (!d)
		goto oom;
	size_t base = p->sp - 2 * npairs, tally = 0;
	oop *st = obj_body(p->stack);
	for (size_t k = 0; k < npairs; k++) {
		oop key = st[base + 2 * k], v = st[base + 2 * k + 1];
		size_t j = str_hash(key) % cap;
		oop e;
		while ((e = obj_body(keys)[j]) != vm->nil &&
		       !(obj_byte_size(e) == obj_byte_size(key) &&
			 !memcmp(obj_bytes(e), obj_bytes(key), obj_byte_size(key))))
			j = (j + 1) % cap;
		if (e == vm->nil) {
			st_put(vm, keys, j, key);
			tally++;
		}
		st_put(vm, vals, j, v); /* a repeated name: the last value wins */
	}
	st_put(vm, d, 0, obj_from_int((intptr_t)tally));
	st_put(vm, d, 1, keys);
	st_put(vm, d, 2, vals);
	p->sp = base;
	return d;
oom:
	p->oom = 1;
	return 0;
}

static oop make_array(struct jp *p, size_t n)
{
	oop a = st_new_array(p->vm, n);
	if (!a) {
		p->oom = 1;
		return 0;
	}
	size_t base = p->sp - n;
	for (size_t k = 0; k < n; k++)
		st_put(p->vm, a, k, obj_body(p->stack)[base + k]);
	p->sp = base;
	return a;
}

struct frame {
	size_t base; /* stack depth at the container's start */
	int obj;     /* 1: object, 0: array */
};

/* The whole document: its value, or 0 (p->err or p->oom). */
static oop parse(struct jp *p)
{
	struct st_vm *vm = p->vm;
	struct frame fr[JSON_MAX_DEPTH];
	int depth = 0;
	oop v;
	const uint8_t *s = p->s;
value:
	skip_ws(p);
	switch (s[p->i]) {
	case '{':
		if (depth == JSON_MAX_DEPTH)
			return (oop)(uintptr_t)fail(p, p->i, "nesting too deep");
		fr[depth].base = p->sp;
		fr[depth++].obj = 1;
		p->i++;
		skip_ws(p);
		if (s[p->i] == '}') {
			p->i++;
			v = make_dict(p, 0);
			depth--;
			break;
		}
		goto key;
	case '[':
		if (depth == JSON_MAX_DEPTH)
			return (oop)(uintptr_t)fail(p, p->i, "nesting too deep");
		fr[depth].base = p->sp;
		fr[depth++].obj = 0;
		p->i++;
		skip_ws(p);
		if (s[p->i] == ']') {
			p->i++;
			v = make_array(p, 0);
			depth--;
			break;
		}
		goto value;
	case '"':
		v = parse_string(p);
		break;
	case 't':
		if (memcmp(s + p->i, "true", 4))
			return (oop)(uintptr_t)fail(p, p->i, "invalid literal");
		p->i += 4;
		v = vm->true_;
		break;
	case 'f':
		if (memcmp(s + p->i, "false", 5))
			return (oop)(uintptr_t)fail(p, p->i, "invalid literal");
		p->i += 5;
		v = vm->false_;
		break;
	case 'n':
		if (memcmp(s + p->i, "null", 4))
			return (oop)(uintptr_t)fail(p, p->i, "invalid literal");
		p->i += 4;
		v = vm->nil;
		break;
	case '-':
	case '0' ... '9':
		v = parse_number(p);
		break;
	default:
		return (oop)(uintptr_t)fail(p, p->i, p->i >= p->n ? "unexpected end of input" : "value expected");
	}
	/* a complete value v: where does it go? */
	for (;;) {
		if (!v)
			return 0;
		if (!depth)
			return v;
		if (!push(p, v))
			return 0;
		skip_ws(p);
		struct frame *f = &fr[depth - 1];
		uint8_t c = s[p->i];
		if (c == ',') {
			p->i++;
			if (f->obj)
				goto key;
			goto value;
		}
		if (c == (f->obj ? '}' : ']')) {
			p->i++;
			size_t n = p->sp - f->base;
			v = f->obj ? make_dict(p, n / 2) : make_array(p, n);
			depth--;
			continue;
		}
		return (oop)(uintptr_t)fail(p, p->i,
					    p->i >= p->n ? "unexpected end of input"
					    : f->obj     ? "',' or '}' expected"
							 : "',' or ']' expected");
	}
key:
	skip_ws(p);
	if (s[p->i] != '"')
		return (oop)(uintptr_t)fail(p, p->i, p->i >= p->n ? "unexpected end of input" : "string expected as name");
	v = parse_string(p);
	if (!v || !push(p, v))
		return 0;
	skip_ws(p);
	if (s[p->i] != ':')
		return (oop)(uintptr_t)fail(p, p->i, p->i >= p->n ? "unexpected end of input" : "':' expected");
	p->i++;
	goto value;
}

/* JSON primParse: aString error: anArray. Answers the value, or anArray with
 * {0-based byte offset. message} in it when the text is not JSON. */
PRIM(jsonParse)
{
	oop src = args[1], holder = args[2];
	if (!prim_is_bytes(src) || !obj_is_ptr(holder) || obj_cls(holder) != CI_ARRAY ||
	    obj_slots(holder) < 2)
		return PRIM_FAIL;
	oop dcls = st_class_named(vm, "Dictionary");
	if (!dcls)
		return PRIM_FAIL;
	struct jp p = {.vm = vm};
	intptr_t f = obj_int(st_slot(dcls, CLS_FORMAT));
	p.dict_ci = st_class_index(dcls);
	p.dict_fmt = (unsigned)(f & 0xff);
	p.dict_named = (size_t)(f >> 16);
	if (p.dict_named != 3)
		return PRIM_FAIL;
	p.n = obj_byte_size(src);
	uint8_t *copy = malloc(p.n + 8);
	if (!copy)
		return PRIM_OOM;
	memcpy(copy, obj_bytes(src), p.n);
	memset(copy + p.n, 0, 8);
	p.s = copy;
	p.stack = st_new_array(vm, 256);
	if (!p.stack) {
		free(copy);
		return PRIM_OOM;
	}
	ST_ROOT(vm, p.stack);
	oop r = parse(&p);
	if (r) {
		skip_ws(&p);
		if (p.i < p.n) {
			fail(&p, p.i, copy[p.i] ? "text after the value" : "NUL byte after the value");
			r = 0;
		}
	}
	ST_UNROOT(vm, 1);
	free(copy);
	free(p.buf);
	if (p.oom)
		return PRIM_OOM;
	if (!r) {
		oop msg = prim_string(vm, p.err ? p.err : "invalid JSON");
		if (!msg)
			return PRIM_OOM;
		st_put(vm, args[2], 0, obj_from_int((intptr_t)p.erroff));
		st_put(vm, args[2], 1, msg);
		args[0] = args[2];
		return PRIM_OK;
	}
	args[0] = r;
	return PRIM_OK;
}

/* JSON primQuote: aString: its JSON string literal ("..." with escapes);
 * fails when aString is not valid UTF-8. */
PRIM(jsonQuote)
{
	oop src = args[1];
	if (!prim_is_bytes(src))
		return PRIM_FAIL;
	size_t n = obj_byte_size(src), out = 2;
	const uint8_t *s = obj_bytes(src);
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		if (c < 0x80) {
			out += c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' ||
					       c == '\t'
				       ? 2
				       : c < 0x20 ? 6 : 1;
			i++;
			continue;
		}
		/* utf8_len may read 3 bytes past a truncated sequence: bound it */
		uint8_t tmp[4] = {0};
		memcpy(tmp, s + i, n - i < 4 ? n - i : 4);
		size_t k = utf8_len(tmp);
		if (!k)
			return PRIM_FAIL;
		out += k;
		i += k;
	}
	oop r = st_new_bytes(vm, CI_STRING, out);
	if (!r)
		return PRIM_OOM;
	s = obj_bytes(args[1]); /* may have moved */
	uint8_t *d = obj_bytes(r);
	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*d++ = c;
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		default:
			d += sprintf((char *)d, "u%04x", c);
		}
	}
	*d = '"';
	args[0] = r;
	return PRIM_OK;
}
