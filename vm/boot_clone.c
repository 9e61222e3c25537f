// SPDX-License-Identifier: MIT
/*
 * vm/boot_clone.c: st_boot_clone(), a VM booted by copying the process's boot
 * template instead of compiling st/kernel/ again. Owns the template: the only
 * process-wide state of the VM, built once (pthread_once) by st_boot() and
 * frozen (gc_freeze), immutable afterwards, so that VMs on any thread copy it
 * without a lock. See Documentation/vm/objects.md (Boot).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vm/boot.h"
#include "vm/gc/gc.h"

static pthread_once_t tmpl_once = PTHREAD_ONCE_INIT;
static struct st_vm *tmpl; /* written once, inside tmpl_once */

/* A booted VM that ran nothing holds no process, timer, C root, FFI or I/O
 * state: what the copies could not share. */
static int tmpl_clean(const struct st_vm *t)
{
	return !t->nprocs && !t->procs && !t->nlive && !t->main_proc && !t->ntimers && !t->nroots &&
	       !t->ffi && !t->vio && !t->core && !t->final_sem && !t->thr && !t->sends &&
	       !t->bytecodes;
}

static void tmpl_build(void)
{
	struct gc_sizes sizes = {0};
	struct st_vm *t = st_new();
	if (!t)
		return;
	if (gc_init(&t->gc, &sizes, vm_roots, t) < 0) {
		st_free(t);
		return;
	}
	if (!st_boot(t) || !tmpl_clean(t)) {
		gc_free(&t->gc);
		st_free(t);
		return;
	}
	gc_freeze(&t->gc);
	/* it never prints */
	free(t->out);
	t->out = NULL;
	t->outcap = 0;
	tmpl = t;
}

const struct st_vm *st_boot_template(void) { return tmpl; }

static void *dup_table(const void *p, size_t n, size_t size)
{
	if (!n)
		return NULL;
	void *d = malloc(n * size);
	if (d)
		memcpy(d, p, n * size);
	return d;
}

/* Back to what st_new() made: the fields st_boot_clone() filled. */
static void forget(struct st_vm *vm)
{
	free(vm->classes);
	free(vm->symtab);
	free(vm->globals);
	vm->classes = vm->symtab = vm->globals = NULL;
	vm->nclasses = vm->classcap = 0;
	vm->symcap = vm->symcount = vm->globcap = vm->globcount = 0;
	vm->nil = vm->true_ = vm->false_ = 0;
	vm->smalltalk = vm->processor = vm->transcript = 0;
	memset(vm->chars, 0, sizeof vm->chars);
	memset(vm->special_sels, 0, sizeof vm->special_sels);
	memset(vm->syms, 0, sizeof vm->syms);
	vm->hash_seed = 2463534242u; /* st_new's */
	vm->exc_index = 0;
	vm->ctx_serial = 0;
	vm->mcache_used = 0;
}

/*
 * struct st_vm (vm/st.h), field by field: what a copy of the template gets.
 *
 *   gc                  the caller's heap (gc_init); gc_clone_from() fills it
 *                       with the template's objects and sets fill (nil)
 *   nil true_ false_ smalltalk processor transcript, chars[], special_sels[],
 *   syms[]              copied, then relocated as roots (vm_roots)
 *   classes nclasses classcap, symtab symcap symcount, globals globcap
 *   globcount           the tables are copied whole and relocated as roots.
 *                       Slots stay valid: symbols hash by their string, the
 *                       globals and method dictionaries by the symbol's
 *                       header hash, and headers are copied unchanged
 *   mcache              left zero (st_new): must start empty
 *   roots nroots        left zero: no C code is in the middle of anything
 *   hash_seed           copied: the next identity hashes are the ones a
 *                       booted VM would give out
 *   procs nprocs proccap freeh nfree active runq runq_tail runmask main_proc
 *   main_failed nlive timers ntimers timercap in_callout switches
 *   processes_created   left zero: no process or timer exists before the
 *                       program (the template has none: tmpl_clean)
 *   core main_thread cur_thread max_threads nbound_ready cur_wait want thr
 *   cb_active ended     the caller's (the core is made after boot)
 *   ffi                 left NULL: made on first use, per VM
 *   final_sem           left 0: the finalizer process starts on first use
 *   print_stats         the caller's
 *   exc_index           copied (st_boot sets it from the global Exception)
 *   ctx_serial          copied (0: boot makes no context)
 *   mcache_used         copied: the inline caches' epoch (nil caches anyway)
 *   quit quit_code      left zero
 *   argv0 argv_all prog_file args nargs stats tracing switched_to start_ns
 *                       the caller's
 *   out outlen outcap outoff interactive out_closed out_errno
 *                       the caller's: each VM has its own stdout buffer
 *   vio io_inflight io_unflushed io_waiting
 *                       left zero: the I/O table is made on first use
 *   sends bytecodes     left zero (boot runs no code)
 *   hydra hy_notify err_prefix exit_now
 *                       the caller's (a head's, vm/hydra/head.c); boot sets
 *                       none of them
 *
 * A field added to struct st_vm belongs in this list: copied (and, holding
 * oops, presented by vm_roots so that gc_clone_from relocates it), or left
 * to the caller.
 *
 * The globals stdin, stdout and stderr (boot_std_streams) are heap objects
 * holding only their descriptor: copied like the rest. They set themselves
 * up on first use, in the copy; the template never uses them.
 */
/* BATON_BOOT=compile: no template, every VM compiles. */
static int compile_forced(void)
{
	const char *mode = getenv("BATON_BOOT");
	return mode && !strcmp(mode, "compile");
}

int st_boot_prepare(void)
{
	if (compile_forced())
		return 0;
	pthread_once(&tmpl_once, tmpl_build);
	return tmpl != NULL;
}

int st_boot_clone(struct st_vm *vm)
{
	if (!vm || !vm->gc.priv || vm->classes || vm->symtab || vm->globals)
		return 0;
	if (!st_boot_prepare())
		return 0;
	const struct st_vm *t = tmpl;
	vm->classes = dup_table(t->classes, t->classcap, sizeof(oop));
	vm->symtab = dup_table(t->symtab, t->symcap, sizeof(oop));
	vm->globals = dup_table(t->globals, t->globcap, sizeof(oop));
	if (!vm->classes || !vm->symtab || !vm->globals) {
		forget(vm);
		return 0;
	}
	vm->nclasses = t->nclasses;
	vm->classcap = t->classcap;
	vm->symcap = t->symcap;
	vm->symcount = t->symcount;
	vm->globcap = t->globcap;
	vm->globcount = t->globcount;
	vm->nil = t->nil;
	vm->true_ = t->true_;
	vm->false_ = t->false_;
	vm->smalltalk = t->smalltalk;
	vm->processor = t->processor;
	vm->transcript = t->transcript;
	memcpy(vm->chars, t->chars, sizeof vm->chars);
	memcpy(vm->special_sels, t->special_sels, sizeof vm->special_sels);
	memcpy(vm->syms, t->syms, sizeof vm->syms);
	vm->hash_seed = t->hash_seed;
	vm->exc_index = t->exc_index;
	vm->ctx_serial = t->ctx_serial;
	vm->mcache_used = t->mcache_used;
	/* the heap, and every oop above relocated into it */
	if (gc_clone_from(&vm->gc, &t->gc) < 0) {
		forget(vm);
		return 0;
	}
	return 1;
}
