// SPDX-License-Identifier: MIT
/*
 * selftests/vm/boot_clone.c: st_boot_clone() (vm/boot_clone.c), a VM booted by
 * copying the process's boot template. Description: clones pass gc_verify, hold no
 * pointer into the template or into each other, run programs with the answers of an
 * st_boot()'ed VM (classes, symbols, globals, LargeIntegers, exceptions, printString,
 * identity hashes), collect under stress, do not see each other's changes, and fail
 * cleanly (VM untouched) when they cannot clone; BATON_BOOT=compile turns cloning off.
 * Also prints (no assertion) the time of st_boot and st_boot_clone and a clone's RSS.
 * Minimum kernel: any.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "selftests/harness.h"
#include "vm/boot.h"
#include "vm/comp.h"
#include "vm/gc/gc.h"
#include "vm/sched.h"
#include "vm/st.h"

/* Every answer is a String in the global Result. */
static const char prog[] =
	"| r |\n"
	"r := SmallInteger superclass printString, ' ', Integer superclass printString, ' ',\n"
	"  (LargePositiveInteger inheritsFrom: Number) printString, ' ',\n"
	"  Object class class printString, ' ', Object class superclass printString.\n"
	"r := r, ' | ', (#foo == ('fo', 'o') asSymbol) printString, ' ',\n"
	"  (#printString == 'printString' asSymbol) printString.\n"
	"r := r, ' | ', (Smalltalk at: #Transcript) class printString, ' ',\n"
	"  (Smalltalk includesKey: #Object) printString, ' ',\n"
	"  (Smalltalk includesKey: #NoSuchGlobalHere) printString, ' ', stdout class printString,\n"
	"  ' ', (Smalltalk at: #IndexOutOfRange) printString.\n"
	"r := r, ' | ', (100 factorial / 98 factorial) printString, ' ',\n"
	"  (2 raisedTo: 100) printString, ' ', (1 bitShift: 70) class printString, ' ',\n"
	"  ((2 raisedTo: 80) - (2 raisedTo: 81)) printString.\n"
	"r := r, ' | ', ([1/0] on: ZeroDivide do: [:e | e class name]) printString, ' ',\n"
	"  ([nil foo] on: MessageNotUnderstood do: [:e | e return: 7]) printString, ' ',\n"
	"  ([Error signal: 'boom'] on: Error do: [:e | e messageText]) printString, ' ',\n"
	"  ([#(1 2) at: 5] on: Error do: [:e | e class name]) printString.\n"
	"r := r, ' | ', #(1 $a 'str' #sym 3.5 nil true) printString, ' ', (3/4) printString,\n"
	"  ' ', Object new printString, ' ', (1 to: 5) asOrderedCollection printString, ' ',\n"
	"  Object new identityHash printString.\n"
	"Smalltalk at: #Result put: r.\n";

static const char expect_prefix[] =
	"Integer Number true Metaclass Class | true true | TextCollector true false StdStream "
	"SubscriptOutOfBounds | 9900 1267650600228229401496703205376 LargePositiveInteger "
	"-1208925819614629174706176 | #ZeroDivide 7 'boom' #SubscriptOutOfBounds | (1 $a 'str' "
	"#sym 3.5 nil true ) 3/4 an Object OrderedCollection (1 2 3 4 5 ) ";

/* A VM as main() makes it before booting; [clone]: st_boot_clone, else st_boot. */
static struct st_vm *new_vm(int clone, const struct gc_sizes *sizes, int *cloned)
{
	struct gc_sizes none = {0};
	struct st_vm *vm = st_new();
	if (!vm)
		return NULL;
	if (gc_init(&vm->gc, sizes ? sizes : &none, vm_roots, vm) < 0) {
		st_free(vm);
		return NULL;
	}
	int ok = clone ? st_boot_clone(vm) : st_boot(vm);
	if (cloned)
		*cloned = ok;
	if (!ok) {
		gc_free(&vm->gc);
		st_free(vm);
		return NULL;
	}
	return vm;
}

static void free_vm(struct st_vm *vm)
{
	if (!vm)
		return;
	if (vm->core)
		baton_vm_free(vm->core, vm->main_thread);
	gc_free(&vm->gc);
	st_free(vm);
}

/* Runs [src] as the main program (on a core made on first use, owned by the
 * calling thread) and answers a malloc'd copy of the global Result, or of
 * the compiler's error, or "(no Result)". */
static char *run(struct st_vm *vm, const char *src)
{
	if (!vm->core) {
		struct baton_config cfg = {0};
		cfg.hooks = &sched_hooks;
		cfg.ud = vm;
		vm->max_threads = 64;
		vm->core = baton_vm_new(&cfg);
		if (!vm->core)
			return strdup("(no core)");
		vm->main_thread = baton_enter(vm->core);
		vm->cur_thread = vm->main_thread;
	}
	char err[512];
	oop doit = comp_file(vm, "clone.st", src, strlen(src), 0, err, sizeof err);
	if (!doit)
		return strdup(err);
	struct st_proc *p = sched_new_proc(vm, 0, doit, PRIO_USER);
	if (!p)
		return strdup("(no process)");
	p->is_main = 1;
	vm->main_proc = p;
	sched_ready(vm, p, 0);
	sched_run(vm, vm->main_thread);
	st_out_flush(vm);
	oop r = st_global(vm, "Result");
	if (r == vm->nil || !obj_is_ptr(r) || obj_fmt(r) != OBJ_FMT_BYTES)
		return strdup("(no Result)");
	return st_cstring(r);
}

/* ---- "every object and root lies in the VM's own heap" ---- */

struct objset {
	oop *v;
	size_t n, cap;
	long outside; /* root slots holding something else */
};

static void gather(oop o, void *ud)
{
	struct objset *s = ud;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 65536;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			abort();
	}
	s->v[s->n++] = o;
}

static int cmp_oop(const void *a, const void *b)
{
	oop x = *(const oop *)a, y = *(const oop *)b;
	return x < y ? -1 : x > y;
}

static void check_root(oop *slot, void *ud)
{
	struct objset *s = ud;
	if (!bsearch(slot, s->v, s->n, sizeof *s->v, cmp_oop))
		s->outside++;
}

/* Root slots of [vm] that do not hold one of its objects. */
static long roots_outside(struct st_vm *vm)
{
	struct objset s = {0};
	gc_each_object(&vm->gc, gather, &s);
	qsort(s.v, s.n, sizeof *s.v, cmp_oop);
	vm_roots(vm, check_root, &s);
	free(s.v);
	return s.outside;
}

/* Objects of [vm] that are also objects of [other] (same address). */
static size_t shared_objects(struct st_vm *vm, const struct st_vm *other)
{
	struct objset a = {0};
	gc_each_object(&vm->gc, gather, &a);
	qsort(a.v, a.n, sizeof *a.v, cmp_oop);
	size_t shared = 0;
	const oop probe[] = {other->nil, other->true_, other->false_, other->smalltalk,
			     other->classes[CI_OBJECT], other->classes[CI_SYMBOL], other->syms[0],
			     other->chars['a']};
	for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++)
		shared += bsearch(&probe[i], a.v, a.n, sizeof *a.v, cmp_oop) != NULL;
	free(a.v);
	return shared;
}

/* Two clones in [a] and [b]; answers the template they were cloned from
 * (to be only read), or NULL (then neither clone is left). */
static struct st_vm *new_pair(struct st_vm **a, struct st_vm **b)
{
	*a = new_vm(1, NULL, NULL);
	*b = new_vm(1, NULL, NULL);
	struct st_vm *t = (struct st_vm *)st_boot_template();
	if (*a && *b && t)
		return t;
	free_vm(*a);
	free_vm(*b);
	return NULL;
}

#define EXPECT_VERIFIED(vm)                                                     \
	do {                                                                    \
		char msg_[256];                                                 \
		EXPECT_EQ(0, gc_verify(&(vm)->gc, msg_, sizeof msg_)) TH_LOG("%s", msg_); \
	} while (0)

TEST(clones_verify_and_hold_only_their_own_objects)
{
	struct st_vm *a, *b, *t = new_pair(&a, &b); /* t only read */
	ASSERT_NE_NULL(t);
	EXPECT_VERIFIED(a);
	EXPECT_VERIFIED(b);
	EXPECT_EQ(0, roots_outside(a));
	EXPECT_EQ(0, roots_outside(b));
	EXPECT_EQ(0, shared_objects(a, t));
	EXPECT_EQ(0, shared_objects(b, t));
	EXPECT_EQ(0, shared_objects(a, b));
	EXPECT_TRUE(a->nil != t->nil && b->nil != t->nil && a->nil != b->nil);
	EXPECT_EQ(a->nil, a->gc.fill);
	/* the tables are the template's, relocated */
	EXPECT_EQ(t->nclasses, a->nclasses);
	EXPECT_EQ(t->symcount, a->symcount);
	EXPECT_EQ(t->globcount, b->globcount);
	EXPECT_EQ(t->hash_seed, a->hash_seed);
	EXPECT_TRUE(a->classes != t->classes && a->symtab != t->symtab && a->globals != t->globals);
	EXPECT_EQ(0, a->nroots);
	/* interning in a clone finds the clone's symbol, which is its table's */
	oop s = st_symbol_c(a, "printString");
	EXPECT_EQ(a->syms[SY_PRINTSTRING], s);
	EXPECT_EQ(s, st_lookup_symbol(a, "printString", 11));
	EXPECT_NE(st_lookup_symbol(t, "printString", 11), s);
	EXPECT_EQ(a->classes[CI_OBJECT], st_global(a, "Object"));
	/* after running code the heaps still verify and stay apart */
	char *r = run(a, prog);
	EXPECT_EQ(0, strncmp(expect_prefix, r, strlen(expect_prefix))) TH_LOG("%s", r);
	free(r);
	EXPECT_VERIFIED(a);
	EXPECT_EQ(0, roots_outside(a));
	EXPECT_EQ(0, shared_objects(a, b));
	free_vm(a);
	free_vm(b);
}

TEST(clones_answer_like_a_booted_vm)
{
	struct st_vm *boot = new_vm(0, NULL, NULL);
	ASSERT_NE_NULL(boot);
	char *want = run(boot, prog);
	EXPECT_EQ(0, strncmp(expect_prefix, want, strlen(expect_prefix))) TH_LOG("%s", want);
	char *want2 = run(boot, prog); /* what a second program answers */
	for (int i = 0; i < 2; i++) {
		struct st_vm *c = new_vm(1, NULL, NULL);
		ASSERT_NE_NULL(c);
		char *got = run(c, prog);
		/* identity hashes included: a clone continues the booted VM's sequence */
		EXPECT_STREQ(want, got);
		free(got);
		got = run(c, prog); /* a second program in the same VM */
		EXPECT_STREQ(want2, got);
		free(got);
		free_vm(c);
	}
	free(want);
	free(want2);
	free_vm(boot);
}

TEST(a_change_in_one_clone_is_seen_nowhere_else)
{
	struct st_vm *a, *b, *t = new_pair(&a, &b); /* t only read */
	ASSERT_NE_NULL(t);
	size_t tsyms = t->symcount, tglobs = t->globcount;
	oop tobj_md = st_slot(t->classes[CI_OBJECT], CLS_MDICT);
	intptr_t tally = obj_int(obj_body(tobj_md)[0]);
	char *r = run(a, "Smalltalk at: #CloneTestGlobal put: 42.\n"
			 "Smalltalk at: #IndexOutOfRange put: 5.\n"
			 "Object compile: 'cloneTestZork [ ^42 ]'.\n"
			 "Object class compile: 'cloneTestZork [ ^43 ]'.\n"
			 "Smalltalk at: #Result put: nil cloneTestZork printString, ' ',\n"
			 "  Object cloneTestZork printString, ' ', CloneTestGlobal printString, ' ',\n"
			 "  (Smalltalk at: #IndexOutOfRange) printString.\n");
	EXPECT_STREQ("42 43 42 5", r);
	free(r);
	/* nothing of it in b, not even the symbols */
	EXPECT_EQ(0, st_lookup_symbol(b, "CloneTestGlobal", 15));
	EXPECT_EQ(0, st_lookup_symbol(b, "cloneTestZork", 13));
	r = run(b, "Smalltalk at: #Result put: (Smalltalk includesKey: #CloneTestGlobal) printString,\n"
		   "  ' ', (nil respondsTo: #cloneTestZork) printString, ' ',\n"
		   "  (Object respondsTo: #cloneTestZork) printString, ' ',\n"
		   "  (Smalltalk at: #IndexOutOfRange) printString.\n");
	EXPECT_STREQ("false false false SubscriptOutOfBounds", r);
	free(r);
	/* nor in the template */
	EXPECT_EQ(0, st_lookup_symbol(t, "CloneTestGlobal", 15));
	EXPECT_EQ(0, st_lookup_symbol(t, "cloneTestZork", 13));
	EXPECT_EQ(tsyms, t->symcount);
	EXPECT_EQ(tglobs, t->globcount);
	EXPECT_EQ(tobj_md, st_slot(t->classes[CI_OBJECT], CLS_MDICT));
	EXPECT_EQ(tally, obj_int(obj_body(tobj_md)[0]));
	oop sym = st_lookup_symbol(t, "IndexOutOfRange", 15);
	ASSERT_NE(0, sym);
	oop assoc = st_global_binding(t, sym, 0);
	ASSERT_NE(0, assoc);
	EXPECT_EQ(st_global(t, "SubscriptOutOfBounds"), st_slot(assoc, ASSOC_VALUE));
	/* and a clone made afterwards starts from the template, not from a */
	struct st_vm *c = new_vm(1, NULL, NULL);
	ASSERT_NE_NULL(c);
	EXPECT_EQ(0, st_lookup_symbol(c, "cloneTestZork", 13));
	EXPECT_EQ(tglobs, c->globcount);
	free_vm(c);
	free_vm(a);
	free_vm(b);
}

TEST(a_clone_collects_under_stress)
{
	/* a scavenge every 3rd allocation, every 4th of them a full collection */
	struct gc_sizes sizes = {.stress = 3, .new_size = (size_t)512 << 10};
	free_vm(new_vm(1, NULL, NULL)); /* the template, built without the variable */
	ASSERT_NE_NULL(st_boot_template());
	setenv("BATON_GC_STRESS_FULL", "4", 1);
	struct st_vm *boot = new_vm(0, &sizes, NULL);
	struct st_vm *c = new_vm(1, &sizes, NULL);
	unsetenv("BATON_GC_STRESS_FULL");
	ASSERT_NE_NULL(boot);
	ASSERT_NE_NULL(c);
	char *want = run(boot, prog);
	EXPECT_EQ(0, strncmp(expect_prefix, want, strlen(expect_prefix))) TH_LOG("%s", want);
	EXPECT_VERIFIED(c);
	gc_full(&c->gc);
	EXPECT_VERIFIED(c);
	EXPECT_EQ(0, roots_outside(c));
	char *got = run(c, prog);
	EXPECT_STREQ(want, got);
	free(got);
	struct gc_stats st;
	gc_get_stats(&c->gc, &st);
	EXPECT_LT(10, st.scavenges);
	EXPECT_LT(2, st.full_gcs);
	gc_scavenge(&c->gc);
	gc_full(&c->gc);
	EXPECT_VERIFIED(c);
	EXPECT_EQ(0, roots_outside(c));
	free(want);
	want = run(boot, prog);
	got = run(c, prog);
	EXPECT_STREQ(want, got);
	free(got);
	free(want);
	free_vm(c);
	free_vm(boot);
}

TEST(boot_compile_in_the_environment_turns_cloning_off)
{
	setenv("BATON_BOOT", "compile", 1);
	struct st_vm *vm = st_new();
	ASSERT_NE_NULL(vm);
	ASSERT_EQ(0, gc_init(&vm->gc, NULL, vm_roots, vm));
	EXPECT_EQ(0, st_boot_clone(vm));
	EXPECT_EQ(0, st_boot_prepare());
	unsetenv("BATON_BOOT");
	EXPECT_NULL(vm->classes);
	EXPECT_EQ(0, vm->nil);
	struct gc_stats st;
	gc_get_stats(&vm->gc, &st);
	EXPECT_EQ(0, st.old_bytes);
	/* the fallback the caller takes */
	ASSERT_TRUE(st_boot(vm));
	char *r = run(vm, prog);
	EXPECT_EQ(0, strncmp(expect_prefix, r, strlen(expect_prefix))) TH_LOG("%s", r);
	free(r);
	free_vm(vm);
}

TEST(a_heap_too_small_for_the_copy_leaves_the_vm_untouched)
{
	struct gc_sizes sizes = {.heap_max = (size_t)1 << 20};
	struct st_vm *vm = st_new();
	ASSERT_NE_NULL(vm);
	ASSERT_EQ(0, gc_init(&vm->gc, &sizes, vm_roots, vm));
	EXPECT_EQ(0, st_boot_clone(vm));
	EXPECT_NULL(vm->classes);
	EXPECT_NULL(vm->symtab);
	EXPECT_NULL(vm->globals);
	EXPECT_EQ(0, vm->nil);
	EXPECT_EQ(0, vm->gc.fill);
	struct gc_stats st;
	gc_get_stats(&vm->gc, &st);
	EXPECT_EQ(0, st.old_bytes);
	EXPECT_VERIFIED(vm);
	gc_free(&vm->gc);
	st_free(vm);
	/* the template is still good */
	struct st_vm *c = new_vm(1, NULL, NULL);
	ASSERT_NE_NULL(c);
	EXPECT_VERIFIED(c);
	free_vm(c);
}

static void *clone_and_run(void *ud)
{
	char **out = ud;
	struct st_vm *vm = new_vm(1, NULL, NULL);
	*out = vm ? run(vm, prog) : strdup("(no clone)");
	free_vm(vm);
	return NULL;
}

TEST(clones_made_and_run_on_two_threads_at_once)
{
	char *got[2] = {0};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, clone_and_run, &got[i]));
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, strncmp(expect_prefix, got[0], strlen(expect_prefix))) TH_LOG("%s", got[0]);
	EXPECT_STREQ(got[0], got[1]);
	free(got[0]);
	free(got[1]);
}

/* ---- the measurement (printed, never asserted) ---- */

static long rss_kb(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &res) != 2)
		res = -1;
	fclose(f);
	return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

TEST(measure_st_boot_and_st_boot_clone)
{
	enum { N = 5 };
	uint64_t tb = UINT64_MAX, tc = UINT64_MAX, tfirst;
	uint64_t t0 = baton_now_ns();
	ASSERT_TRUE(st_boot_prepare()); /* builds the template unless an earlier test did */
	tfirst = baton_now_ns() - t0;
	ASSERT_NE_NULL(st_boot_template());
	EXPECT_TRUE(st_boot_prepare()); /* once */
	for (int i = 0; i < N; i++) {
		t0 = baton_now_ns();
		struct st_vm *vm = new_vm(0, NULL, NULL);
		uint64_t d = baton_now_ns() - t0;
		ASSERT_NE_NULL(vm);
		tb = d < tb ? d : tb;
		free_vm(vm);
	}
	long before = rss_kb();
	struct st_vm *keep[N];
	for (int i = 0; i < N; i++) {
		t0 = baton_now_ns();
		keep[i] = new_vm(1, NULL, NULL);
		uint64_t d = baton_now_ns() - t0;
		ASSERT_NE_NULL(keep[i]);
		tc = d < tc ? d : tc;
	}
	long after = rss_kb();
	struct gc_stats st;
	gc_get_stats(&keep[0]->gc, &st);
	ksft_print_msg("st_new+gc_init+st_boot: %.3f ms; st_new+gc_init+st_boot_clone: %.3f ms "
		       "(best of %d); st_boot_prepare (builds the template unless an earlier test "
		       "did): %.3f ms\n",
		       tb / 1e6, tc / 1e6, N, tfirst / 1e6);
	ksft_print_msg("a clone: %zu kB of old objects, RSS about %ld kB each (%d clones kept)\n",
		       st.old_bytes >> 10, (after - before) / N, N);
	for (int i = 0; i < N; i++)
		free_vm(keep[i]);
}

TEST_HARNESS_MAIN
