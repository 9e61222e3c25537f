// SPDX-License-Identifier: MIT
/*
 * vm/prim_report.c: the C half of the unhandled-error report (the Smalltalk half
 * is Exception>>unhandled). The report must come out whatever the program
 * did to the globals (String, Character, Processor...) and whatever its
 * printOn: methods do, so the parts that need no user code are written here:
 * the class name, read from the class object, and the plain "a Foo"
 * description used when a printString fails. See Documentation/language.md.
 */
#include <stdlib.h>
#include <string.h>

#include "vm/prim.h"

static int is_text(oop o)
{
	return obj_is_ptr(o) && (obj_cls(o) == CI_STRING || obj_cls(o) == CI_SYMBOL);
}

/* "a Foo", "an Apple"; a class describes itself by name ("Foo", "Foo class") */
static void put_plain(FILE *f, struct st_vm *vm, oop o)
{
	oop cls = st_class_of(vm, o);
	if (obj_is_ptr(o) && (obj_cls(o) == CI_METACLASS || obj_cls(cls) == CI_METACLASS)) {
		interp_put_name(f, vm, o);
		return;
	}
	oop n = st_slot(cls, CLS_NAME);
	/* a nameless class (Behavior new) takes the article of the first named one above */
	for (oop c = cls; n == vm->nil && obj_is_ptr(c) && c != vm->nil; c = st_slot(c, CLS_SUPER))
		n = st_slot(c, CLS_NAME);
	int vowel = obj_is_ptr(n) && obj_fmt(n) == OBJ_FMT_BYTES && obj_byte_size(n) > 0 &&
		    strchr("AEIOUaeiou", obj_bytes(n)[0]) != NULL;
	fputs(vowel ? "an " : "a ", f);
	interp_put_name(f, vm, cls);
}

/* Object>>basicPrintString: "a Foo" without running any Smalltalk */
PRIM(basicPrintString)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return PRIM_OOM;
	put_plain(f, vm, args[0]);
	fclose(f);
	oop s = buf ? st_new_string(vm, buf, len) : 0;
	free(buf);
	if (!s)
		return PRIM_OOM;
	args[0] = s;
	return PRIM_OK;
}

/* A String or Symbol as it is; an Array piece by piece (two levels: the
 * pieces may be an Array of pieces); anything else as its plain description. */
static void put_piece(struct st_vm *vm, oop o, int depth)
{
	if (is_text(o)) {
		fwrite(obj_bytes(o), 1, obj_byte_size(o), stderr);
	} else if (depth < 2 && obj_is_ptr(o) && obj_cls(o) == CI_ARRAY) {
		for (size_t i = 0; i < obj_slots(o); i++)
			put_piece(vm, obj_body(o)[i], depth + 1);
	} else {
		put_plain(stderr, vm, o);
	}
}

/* A line on stderr, after what stdout holds so far. */
static int report_line(struct st_vm *vm, oop *args, int with_class)
{
	st_out_flush(vm);
	flockfile(stderr); /* other heads write there too: a line stays whole */
	if (vm->err_prefix)
		fputs(vm->err_prefix, stderr);
	if (with_class) {
		interp_put_name(stderr, vm, st_class_of(vm, args[0]));
		fputs(": ", stderr);
	}
	put_piece(vm, args[1], 0);
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	return PRIM_OK;
}

/* Exception>>reportHeader: pieces — "ClassName: pieces" */
PRIM(excReportHeader) { return report_line(vm, args, 1); }

/* Exception>>reportLine: pieces */
PRIM(excReportLine) { return report_line(vm, args, 0); }
