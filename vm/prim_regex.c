// SPDX-License-Identifier: MIT
/*
 * vm/prim_regex.c: the regular expressions of String (st/kernel/22-GstString.st:
 * =~, copyReplacingAllRegex:with:, tokenize: ...), backed by PCRE2. It owns
 * the per-VM cache of compiled patterns (vm->rx, made on first use, freed by
 * st_free) and the translation of GNU Smalltalk's regex syntax (Emacs/POSIX
 * flavoured) to PCRE2's where they differ: \< \> (word start and end) and
 * \` \' (start and end of the subject). A bad pattern never fails the VM: the
 * primitive answers PCRE2's message as a String and the Smalltalk side
 * raises the error. See Documentation/language.md (String: regular expressions).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "vm/prim.h"

#define RX_SLOTS 32 /* compiled patterns kept per VM (round robin) */

struct rx_entry {
	char *src;   /* the pattern as written (NULL: slot free) */
	size_t len;
	pcre2_code *code;
	pcre2_match_data *md; /* room for all of the pattern's groups */
};

struct rx_cache {
	struct rx_entry e[RX_SLOTS];
	unsigned next; /* slot the next miss replaces */
};

void rx_free(struct st_vm *vm)
{
	struct rx_cache *c = vm->rx;
	if (!c)
		return;
	for (int i = 0; i < RX_SLOTS; i++) {
		free(c->e[i].src);
		pcre2_code_free(c->e[i].code);
		pcre2_match_data_free(c->e[i].md);
	}
	free(c);
	vm->rx = NULL;
}

/* gst syntax -> PCRE2 syntax: a malloc'd copy, *out_len its length; NULL: no memory */
static char *translate(const uint8_t *s, size_t n, size_t *out_len)
{
	char *d = malloc(n * 8 + 1), *p = d;
	if (!d)
		return NULL;
	int in_class = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (in_class) {
			/* [...]: copied as is; [:alpha:] inside is PCRE2's too */
			if (c == '[' && i + 1 < n && s[i + 1] == ':') {
				const uint8_t *e = memchr(s + i + 2, ']', n - i - 2);
				size_t k = e ? (size_t)(e - s) : n - 1;
				memcpy(p, s + i, k - i + 1);
				p += k - i + 1;
				i = k;
				continue;
			}
			if (c == '\\' && i + 1 < n) {
				*p++ = (char)c;
				*p++ = (char)s[++i];
				continue;
			}
			if (c == ']')
				in_class = 0;
			*p++ = (char)c;
			continue;
		}
		if (c == '[') {
			in_class = 1;
			*p++ = '[';
			if (i + 1 < n && s[i + 1] == '^') {
				*p++ = '^';
				i++;
			}
			if (i + 1 < n && s[i + 1] == ']') { /* a leading ] is literal */
				memcpy(p, "\\]", 2);
				p += 2;
				i++;
			}
			continue;
		}
		if (c == '\\' && i + 1 < n) {
			uint8_t x = s[++i];
			const char *r = NULL;
			switch (x) {
			case '<': r = "\\b(?=\\w)"; break;
			case '>': r = "\\b(?<=\\w)"; break;
			case '`': r = "\\A"; break;
			case '\'': r = "\\z"; break;
			default: break;
			}
			if (r) {
				size_t k = strlen(r);
				memcpy(p, r, k);
				p += k;
			} else {
				*p++ = '\\';
				*p++ = (char)x;
			}
			continue;
		}
		*p++ = (char)c;
	}
	*p = 0;
	*out_len = (size_t)(p - d);
	return d;
}

/* the cache entry for [pat] (a String or Symbol), found or made;
 * NULL with *err a String (the compile error) or 0 (no memory) */
static struct rx_entry *compiled(struct st_vm *vm, oop pat, oop *err)
{
	*err = 0;
	struct rx_cache *c = vm->rx;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return NULL;
		vm->rx = c;
	}
	size_t n = obj_byte_size(pat);
	const uint8_t *s = obj_bytes(pat);
	for (int i = 0; i < RX_SLOTS; i++)
		if (c->e[i].src && c->e[i].len == n && !memcmp(c->e[i].src, s, n))
			return &c->e[i];
	size_t tl;
	char *t = translate(s, n, &tl);
	if (!t)
		return NULL;
	int ec;
	PCRE2_SIZE eo;
	/* ^ and $ match at line boundaries, as in gst (\` and \' are the subject's ends) */
	pcre2_code *code = pcre2_compile((PCRE2_SPTR)t, tl, PCRE2_MULTILINE, &ec, &eo, NULL);
	free(t);
	if (!code) {
		PCRE2_UCHAR msg[256];
		char buf[400];
		if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
			strcpy((char *)msg, "bad pattern");
		snprintf(buf, sizeof buf, "bad regular expression: %s at offset %zu", (char *)msg,
			 (size_t)eo);
		*err = prim_string(vm, buf);
		return NULL;
	}
	char *copy = malloc(n + 1);
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	if (!copy || !md) {
		free(copy);
		pcre2_match_data_free(md);
		pcre2_code_free(code);
		return NULL;
	}
	memcpy(copy, s, n);
	struct rx_entry *e = &c->e[c->next];
	c->next = (c->next + 1) % RX_SLOTS;
	free(e->src);
	pcre2_code_free(e->code);
	pcre2_match_data_free(e->md);
	e->src = copy;
	e->len = n;
	e->code = code;
	e->md = md;
	return e;
}

/* aString regexSearch: pattern from: start to: stop anchored: aBoolean
 * Searches aString's bytes start..stop (1-based; the subject ends at stop)
 * for pattern (a String), from start on; anchored: the match must cover
 * start..stop exactly. Answers nil (no match), an Array {from. to. from1.
 * to1. ...} (1-based, inclusive ends; nil nil for a group that did not
 * take part; an empty match has to = from - 1), or a String: the error
 * message of a bad pattern. Fails on arguments of the wrong kind. */
PRIM(regexSearch)
{
	if (!prim_is_bytes(args[0]) || !prim_is_bytes(args[1]) || !obj_is_int(args[2]) ||
	    !obj_is_int(args[3]) || (args[4] != vm->true_ && args[4] != vm->false_))
		return PRIM_FAIL;
	intptr_t from = obj_int(args[2]), to = obj_int(args[3]);
	size_t size = obj_byte_size(args[0]);
	if (from < 1 || to < 0 || (size_t)to > size)
		return PRIM_FAIL;
	if (from > to + 1) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	oop err;
	struct rx_entry *ent = compiled(vm, args[1], &err);
	if (!ent) {
		if (!err)
			return PRIM_OOM;
		args[0] = err;
		return PRIM_OK;
	}
	pcre2_code *code = ent->code;
	pcre2_match_data *md = ent->md;
	uint32_t opts = args[4] == vm->true_ ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0;
	int rc = pcre2_match(code, obj_bytes(args[0]), (PCRE2_SIZE)to, (PCRE2_SIZE)(from - 1),
			     opts, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL) {
		args[0] = vm->nil;
		return PRIM_OK;
	}
	if (rc < 0) {
		PCRE2_UCHAR msg[256];
		char buf[300];
		if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
			strcpy((char *)msg, "error");
		snprintf(buf, sizeof buf, "regular expression match failed: %s", (char *)msg);
		oop s = prim_string(vm, buf);
		if (!s)
			return PRIM_OOM;
		args[0] = s;
		return PRIM_OK;
	}
	uint32_t groups = pcre2_get_ovector_count(md);
	if (rc == 0) /* more groups than the match data holds: it kept the first ones */
		rc = (int)groups;
	uint32_t ncap = 0;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap);
	if (ncap + 1 > groups)
		ncap = groups - 1;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	oop r = st_new_array(vm, 2 * (ncap + 1));
	if (!r)
		return PRIM_OOM;
	for (uint32_t i = 0; i <= ncap; i++) {
		int set = (int)i < rc && ov[2 * i] != PCRE2_UNSET;
		obj_body(r)[2 * i] = set ? obj_from_int((intptr_t)ov[2 * i] + 1) : vm->nil;
		obj_body(r)[2 * i + 1] = set ? obj_from_int((intptr_t)ov[2 * i + 1]) : vm->nil;
	}
	args[0] = r;
	return PRIM_OK;
}
