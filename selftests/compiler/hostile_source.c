// SPDX-License-Identifier: MIT
/*
 * selftests/compiler/hostile_source.c: the reproducers of issue 7 that are too large
 * for a selftests/vm file, generated here: sources nested or chained far past the
 * limits (50,000 parentheses, 100,000 sends), and number literals of a billion digits.
 * Each must be a syntax error naming FILE:LINE:COL and the limit, quickly and with the
 * C root stack balanced; sources just inside the limits must compile. Compile only:
 * nothing runs. See Documentation/vm/compiler.md (Limits).
 */
#include <stdlib.h>
#include <string.h>

#include "selftests/harness.h"
#include "vm/comp.h"
#include "vm/gc/gc.h"
#include "vm/lex.h"
#include "vm/st.h"

static struct st_vm *boot(void)
{
	struct gc_sizes sizes = {0};
	struct st_vm *vm = st_new();
	if (!vm || gc_init(&vm->gc, &sizes, vm_roots, vm) < 0 || !st_boot(vm))
		return NULL;
	return vm;
}

/* [pre] [open]*n [mid] [close]*n [post], NUL-terminated, malloc'd. */
static char *nest(const char *pre, const char *open, int n, const char *mid,
		  const char *close, const char *post)
{
	size_t lo = strlen(open), lc = strlen(close);
	size_t len = strlen(pre) + (size_t)n * (lo + lc) + strlen(mid) + strlen(post);
	char *s = malloc(len + 1), *p = s;
	p = stpcpy(p, pre);
	for (int i = 0; i < n; i++)
		p = stpcpy(p, open);
	p = stpcpy(p, mid);
	for (int i = 0; i < n; i++)
		p = stpcpy(p, close);
	stpcpy(p, post);
	return s;
}

/* Compiles [src] as a file; answers 1 if it compiled, else copies the error. */
static int compile(struct st_vm *vm, const char *src, char *err, size_t n)
{
	unsigned roots = vm->nroots;
	err[0] = 0;
	oop m = comp_file(vm, "x.st", src, strlen(src), 0, err, n);
	if (vm->nroots != roots)
		snprintf(err, n, "C roots unbalanced: %u before, %u after", roots, vm->nroots);
	return m != 0 && vm->nroots == roots;
}

FIXTURE(vm) { struct st_vm *vm; char err[512]; };
FIXTURE_SETUP(vm) { self->vm = boot(); ASSERT_NE_NULL(self->vm); }
FIXTURE_TEARDOWN(vm) { (void)self; }

TEST_F(vm, parentheses_50000_deep_is_a_nesting_error)
{
	char *s = nest("", "(", 50000, "1", ")", " printNl.");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:257: nesting too deep (limit 256)", self->err);
	/* the same through Behavior>>compile: */
	free(s);
	s = nest("foo [ ^", "(", 50000, "1", ")", " ]");
	self->err[0] = 0;
	EXPECT_EQ(0, (long)comp_method(self->vm, self->vm->classes[CI_OBJECT], "x.st", s,
				       strlen(s), self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:264: nesting too deep (limit 256)", self->err);
	free(s);
}

TEST_F(vm, blocks_1200_deep_are_a_nesting_error)
{
	char *s = nest("| b |\nb := ", "[", 1200, "1", "]", ".");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:2:261: nesting too deep (limit 256)", self->err);
	free(s);
}

TEST_F(vm, literal_array_2000_deep_is_a_nesting_error)
{
	char *s = nest("#", "(", 2000, "", ")", " printNl.");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:258: nesting too deep (limit 256)", self->err);
	free(s);
}

TEST_F(vm, literal_array_in_a_pragma_is_limited_too)
{
	char *s = nest("Object subclass: Foo [ <comment: #", "(", 5000, "", ")", "> ]");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:292: nesting too deep (limit 256)", self->err);
	free(s);
}

TEST_F(vm, chain_of_100000_sends_is_too_tall)
{
	char *s = nest("(1", " + 1", 100000, "", "", ") printNl.");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:16388: expression nested too deep (limit 4096)", self->err);
	free(s);
	s = nest("3", " foo", 100000, "", "", ".");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:16387: expression nested too deep (limit 4096)", self->err);
	free(s);
}

TEST_F(vm, inside_the_limits_compiles)
{
	char *s = nest("", "(", PARSE_DEPTH_MAX - 1, "1", ")", " printNl.");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
	s = nest("", "[:x | ", PARSE_DEPTH_MAX - 1, "x", "]", ".");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
	s = nest("(0", " + 1", PARSE_HEIGHT_MAX - 10, "", "", ") printNl.");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
	/* a cascade of 5,000 messages is wide, not deep */
	s = nest("Transcript yourself", "; yourself", 5000, "", "", ".");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
}

TEST_F(vm, brace_array_of_70000_elements_is_too_large)
{
	/* the count and the stack depth are 16-bit: 70,000 overflowed the process stack */
	char *s = nest("x := {", "1. ", 70000, "1", "", "}.");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:6: brace array too large (limit 65527 elements)", self->err);
	free(s);
	s = nest("x := {", "1. ", 65000, "1", "", "}.");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
}

TEST_F(vm, exponent_of_a_billion_is_number_too_large)
{
	ASSERT_FALSE(compile(self->vm, "| x |\nx := 1e1000000000.", self->err, sizeof self->err));
	EXPECT_STREQ("x.st:2:6: number too large (limit 65536 bits)", self->err);
	ASSERT_FALSE(compile(self->vm, "x := 1e99999999999999999999999999.", self->err,
			     sizeof self->err));
	EXPECT_STREQ("x.st:1:6: number too large (limit 65536 bits)", self->err);
	ASSERT_FALSE(compile(self->vm, "1.0e1000000000 printNl.", self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:1: number too large (beyond the Float range)", self->err);
	/* tiny ones are Floats that underflow, and zero stays zero */
	EXPECT_TRUE(compile(self->vm, "1e-1000000000 printNl. 0e1000000000 printNl.", self->err,
			    sizeof self->err));
}

TEST_F(vm, integer_literals_up_to_65536_bits)
{
	/* 2r1 and 65535 zeros: 65536 bits, the largest allowed */
	char *s = nest("x := 2r1", "0", 65535, "", "", ".");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
	s = nest("x := 2r1", "0", 70000, "", "", ".");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:6: number too large (limit 65536 bits)", self->err);
	free(s);
	s = nest("x := 16r", "F", 16400, "", "", ".");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:6: number too large (limit 65536 bits)", self->err);
	free(s);
	s = nest("x := ", "9", 1000000, "", "", ".");
	ASSERT_FALSE(compile(self->vm, s, self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:6: number too large (limit 65536 bits)", self->err);
	free(s);
	/* leading zeros do not count */
	s = nest("x := ", "0", 1000000, "7", "", ".");
	EXPECT_TRUE(compile(self->vm, s, self->err, sizeof self->err));
	free(s);
	/* an absurd radix is a bad radix, not an overflow */
	ASSERT_FALSE(compile(self->vm, "x := 99999999999999999999r1.", self->err, sizeof self->err));
	EXPECT_STREQ("x.st:1:6: bad radix 99999999999999999999", self->err);
}

TEST_HARNESS_MAIN
