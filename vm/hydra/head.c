// SPDX-License-Identifier: MIT
/*
 * vm/hydra/head.c: the life of a head -- its record, its thread, its end.
 *
 * Owns struct hydra_head's lifetime (reference counts), the group of heads
 * a first VM started, and each spawned head's OS thread, which runs its
 * program as the baton executable would (vm/run.c) on a VM of its own:
 * its own heap (a copy of the boot template), its own ownership core,
 * heartbeat and threads, its own event loop. The record outlives the VM:
 * other heads may still hold it, send to it (refused once it ended) or
 * wait for its status. See Documentation/vm/hydra.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "vm/boot.h"
#include "vm/hydra/hydra.h"
#include "vm/run.h"
#include "vm/sched.h"

/* ---- records ---------------------------------------------------------------------- */

static void group_unref(struct hydra_group *g)
{
	if (atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	free(g);
}

void hy_ref(struct hydra_head *h)
{
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
}

static void free_subs(struct hy_sub *s)
{
	while (s) {
		struct hy_sub *n = s->next;
		hy_unref(s->who);
		free(s);
		s = n;
	}
}

void hy_unref(struct hydra_head *h)
{
	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	hy_inbox_drain(h);
	free_subs(atomic_load(&h->room_subs));
	free_subs(atomic_load(&h->exit_subs));
	if (h->parent)
		hy_unref(h->parent);
	for (int i = 0; i < h->argc; i++)
		free(h->argv[i]);
	free(h->argv);
	free(h->file);
	struct hydra_group *g = h->grp;
	free(h);
	group_unref(g);
}

static struct hydra_head *new_head(struct hydra_group *g, struct hydra_head *parent, long cap)
{
	struct hydra_head *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	atomic_init(&h->refs, 1);
	hy_inbox_init(h);
	if (cap <= 0) {
		const char *e = getenv("BATON_HYDRA_INBOX");
		cap = e && atol(e) > 0 ? atol(e) : HY_INBOX_DEFAULT;
	}
	h->cap = cap;
	h->id = atomic_fetch_add(&g->next_id, 1);
	h->grp = g;
	atomic_fetch_add(&g->refs, 1);
	if (parent) {
		hy_ref(parent);
		h->parent = parent;
	}
	/* A first VM's group keeps every head, to end them when it ends.
	 * (A head holds its parent, so the first VM's record lives as long
	 * as any head of the group: g->first needs no reference.) */
	if (g->first) {
		hy_ref(h);
		struct hydra_head *old = atomic_load(&g->all);
		do
			h->next_all = old;
		while (!atomic_compare_exchange_weak(&g->all, &old, h));
	}
	return h;
}

struct hydra_group *hy_group_new(int first_id)
{
	struct hydra_group *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	atomic_init(&g->refs, 1);
	atomic_init(&g->next_id, first_id);
	atomic_init(&g->running, 1); /* the first VM, or the embedder: either may send */
	return g;
}

struct hydra_head *hy_self(struct st_vm *vm)
{
	if (vm->hydra && vm->hydra->self)
		return vm->hydra->self;
	if (!vm->hydra) {
		vm->hydra = calloc(1, sizeof *vm->hydra);
		if (!vm->hydra)
			return NULL;
	}
	/* the first VM of a group: the baton executable's, or an embedder's */
	struct hydra_group *g = hy_group_new(1);
	if (!g)
		return NULL;
	struct hydra_head *h = new_head(g, NULL, 0);
	group_unref(g); /* the head holds it now */
	if (!h)
		return NULL;
	g->first = h;
	atomic_store(&h->core, vm->core);
	atomic_store(&h->state, HY_RUNNING);
	vm->hydra->self = h;
	vm->hy_notify = &h->notify;
	return h;
}

/* ---- wake-ups ---------------------------------------------------------------------- */

void hy_kick(struct hydra_head *h, unsigned bit, baton_vm *from)
{
	if (atomic_fetch_or(&h->notify, bit) & bit)
		return; /* it has not looked since the last kick */
	atomic_fetch_add(&h->senders, 1);
	if (atomic_load(&h->state) != HY_ENDED) {
		baton_vm *core = atomic_load(&h->core);
		if (core)
			baton_wake_from(core, from);
	}
	atomic_fetch_sub(&h->senders, 1);
}

int hy_subscribe(struct hy_sub *_Atomic *list, struct hydra_head *who)
{
	struct hy_sub *s = malloc(sizeof *s);
	if (!s)
		return -ENOMEM;
	hy_ref(who);
	s->who = who;
	struct hy_sub *old = atomic_load(list);
	do
		s->next = old;
	while (!atomic_compare_exchange_weak(list, &old, s));
	return 0;
}

void hy_kick_all(struct hy_sub *_Atomic *list, baton_vm *from)
{
	struct hy_sub *s = atomic_exchange(list, NULL);
	while (s) {
		struct hy_sub *n = s->next;
		hy_kick(s->who, HY_EVENT, from);
		hy_unref(s->who);
		free(s);
		s = n;
	}
}

void hy_terminate(struct hydra_head *h, baton_vm *from)
{
	atomic_store(&h->term_asked, 1);
	hy_kick(h, HY_TERM, from);
}

static long futex(atomic_uint *w, int op, unsigned v, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, v, ts, NULL, 0);
}

int hy_join(struct hydra_head *h, int64_t ns)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (ns >= 0) {
		end.tv_sec += ns / 1000000000;
		end.tv_nsec += ns % 1000000000;
		if (end.tv_nsec >= 1000000000) {
			end.tv_sec++;
			end.tv_nsec -= 1000000000;
		}
	}
	while (!atomic_load(&h->done)) {
		struct timespec now, rel, *tp = NULL;
		if (ns >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			rel.tv_sec = end.tv_sec - now.tv_sec;
			rel.tv_nsec = end.tv_nsec - now.tv_nsec;
			if (rel.tv_nsec < 0) {
				rel.tv_sec--;
				rel.tv_nsec += 1000000000;
			}
			if (rel.tv_sec < 0)
				return -ETIMEDOUT;
			tp = &rel;
		}
		futex(&h->done, FUTEX_WAIT_PRIVATE, 0, tp);
	}
	return 0;
}

/*
 * [h]'s VM is ending with [status]. From now on sends are refused; once no
 * sender is inside a wake of its core, the core may go. Whoever waits for
 * the end, or for room in its inbox, is told.
 */
static void head_ended(struct hydra_head *h, int status, baton_vm *from)
{
	atomic_store(&h->status, status);
	atomic_store(&h->state, HY_ENDED);
	while (atomic_load(&h->senders))
		sched_yield(); /* a sender is between its check and its wake: a few instructions */
	atomic_store(&h->core, NULL);
	hy_kick_all(&h->exit_subs, from);
	hy_kick_all(&h->room_subs, from);
	atomic_store(&h->done, 1);
	futex(&h->done, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL);
	struct hydra_group *g = h->grp;
	atomic_fetch_sub(&g->running, 1);
	/* the first VM may be waiting for nothing but us */
	if (g->first && g->first != h)
		hy_kick(g->first, HY_EVENT, from);
}

void hy_vm_end(struct st_vm *vm, int status)
{
	if (!vm->hydra || !vm->hydra->self)
		return;
	struct hydra_head *h = vm->hydra->self;
	if (atomic_load(&h->state) != HY_ENDED)
		head_ended(h, status, NULL);
	vm->hy_notify = NULL;
}

/* ---- a spawned head's thread ------------------------------------------------------------ */

/* A copy of the process's boot template (vm/boot_clone.c): the kernel
 * classes are compiled once per process, not once per head. The first
 * head builds the template on its own thread; BATON_BOOT=compile, or a
 * heap too small for the copy, compiles instead. */
static int boot(struct st_vm *vm)
{
	return st_boot_clone(vm) || st_boot(vm);
}

static struct st_vm *head_vm(struct hydra_head *h, const char *prefix)
{
	struct gc_sizes sizes = {0};
	const char *se = getenv("BATON_GC_STRESS");
	if (se && *se)
		sizes.stress = (unsigned)atoi(se);
	struct st_vm *vm = st_new();
	if (!vm || gc_init(&vm->gc, &sizes, vm_roots, vm) < 0) {
		fprintf(stderr, "%sbaton: cannot initialise the heap\n", prefix);
		if (vm)
			st_free(vm);
		return NULL;
	}
	vm->start_ns = baton_now_ns();
	vm->prog_file = h->file;
	vm->args = h->argv;
	vm->nargs = h->argc;
	vm->argv0 = "baton";
	if (!boot(vm)) {
		gc_free(&vm->gc);
		st_free(vm);
		return NULL;
	}
	vm->hydra = calloc(1, sizeof *vm->hydra);
	if (!vm->hydra) {
		gc_free(&vm->gc);
		st_free(vm);
		return NULL;
	}
	hy_ref(h); /* the VM's own, dropped by hy_free_vm */
	vm->hydra->self = h;
	snprintf(vm->hydra->prefix, sizeof vm->hydra->prefix, "%s", prefix);
	vm->err_prefix = vm->hydra->prefix;
	struct baton_config cfg = {.hooks = &sched_hooks, .ud = vm, .max_threads = h->max_threads};
	/* The spawned heads share the process's one heartbeat thread (what
	 * Documentation/core/heartbeat.md measured); BATON_HEARTBEAT=per-head
	 * gives each its own. */
	const char *hbm = getenv("BATON_HEARTBEAT");
	if (hbm && *hbm && strcmp(hbm, "shared") && strcmp(hbm, "per-head"))
		fprintf(stderr, "%sbaton: BATON_HEARTBEAT=%s: not shared or per-head; "
			"using shared\n", prefix, hbm);
	if (!hbm || strcmp(hbm, "per-head"))
		cfg.heartbeat = baton_heartbeat_process(); /* NULL: its own */
	vm->max_threads = cfg.max_threads ? cfg.max_threads : 64;
	vm->core = baton_vm_new(&cfg);
	if (!vm->core) {
		fprintf(stderr, "%sbaton: cannot start the VM core: %s\n", prefix, strerror(errno));
		gc_free(&vm->gc);
		st_free(vm);
		return NULL;
	}
	vm->main_thread = baton_enter(vm->core);
	vm->cur_thread = vm->main_thread;
	vm->exit_now = hy_exit_now;
	return vm;
}

static void *head_main(void *arg)
{
	struct hydra_head *h = arg;
	char prefix[32];
	snprintf(prefix, sizeof prefix, "head %d: ", h->id);
	struct st_vm *vm = head_vm(h, prefix);
	if (!vm) {
		head_ended(h, EX_SOFTWARE, NULL);
		hy_unref(h);
		return NULL;
	}
	atomic_store(&h->core, vm->core);
	vm->hy_notify = &h->notify;
	/* the state says running only once the core can be woken */
	int expect = HY_STARTING;
	atomic_compare_exchange_strong(&h->state, &expect, HY_RUNNING);
	int status;
	oop doit = st_compile_program(vm, h->file, prefix, &status);
	if (doit) {
		st_run_main(vm, doit);
		atomic_store(&h->finishing, 1);
		st_out_flush(vm);
		status = st_run_status(vm, prefix);
	}
	status = st_out_status(vm, status);
	hy_vm_end(vm, status);
	st_finish(vm, status);
	hy_unref(h);
	return NULL;
}

/* A head's VM cannot end on its main thread (it is in a callout that
 * never returns, say): end the head from here and keep this thread. */
void hy_exit_now(struct st_vm *vm, int status)
{
	st_out_flush(vm);
	fflush(stdout);
	fflush(stderr);
	hy_vm_end(vm, status);
	for (;;)
		pause();
}

struct hydra_head *hy_spawn(struct hydra_group *grp, struct hydra_head *parent,
			    const char *file, int argc, char *const argv[], long cap,
			    unsigned max_threads)
{
	struct hydra_head *h = new_head(grp, parent, cap);
	if (!h)
		return NULL;
	h->max_threads = max_threads;
	h->file = strdup(file);
	h->argv = calloc((size_t)argc + 1, sizeof *h->argv);
	int ok = h->file && h->argv;
	for (int i = 0; ok && i < argc; i++, h->argc++)
		ok = (h->argv[i] = strdup(argv[i])) != NULL;
	if (!ok)
		goto fail;
	atomic_fetch_add(&grp->running, 1);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, (size_t)8 << 20); /* as a main thread's */
	pthread_t tid;
	hy_ref(h); /* the thread's */
	int e = pthread_create(&tid, &at, head_main, h);
	pthread_attr_destroy(&at);
	if (e) {
		hy_unref(h);
		atomic_fetch_sub(&grp->running, 1);
		errno = e;
		goto fail;
	}
	return h;
fail:
	atomic_store(&h->state, HY_ENDED);
	atomic_store(&h->done, 1);
	hy_unref(h);
	if (!errno)
		errno = ENOMEM;
	return NULL;
}

int hy_end_group(struct st_vm *vm)
{
	if (!vm->hydra || !vm->hydra->self)
		return 0;
	struct hydra_head *me = vm->hydra->self;
	struct hydra_group *g = me->grp;
	if (g->first != me)
		return 0;
	int n = 0;
	int ending = 0;
	for (struct hydra_head *h = atomic_load(&g->all); h; h = h->next_all)
		if (h != me && !atomic_load(&h->done)) {
			/* one whose program is over, or that was asked to end,
			 * is on its way out: no news */
			if (atomic_load(&h->finishing) || atomic_load(&h->term_asked))
				ending++;
			else
				n++;
			hy_terminate(h, NULL); /* not from our ring: we may be past owning it */
		}
	if (!n && !ending)
		return 0;
	if (n) {
		fprintf(stderr, "baton: terminating %d running head%s\n", n, n == 1 ? "" : "s");
		fflush(stderr);
	}
	/* their output should come out whole: give them a moment, not more
	 * (one that is stuck in a callout ends with the process) */
	for (struct hydra_head *h = atomic_load(&g->all); h; h = h->next_all)
		if (h != me)
			hy_join(h, 500 * 1000000LL);
	return n;
}

/* The first VM ends: the group lets go of its heads (a head still running
 * keeps its own record). */
void hy_release_group(struct st_vm *vm)
{
	if (!vm->hydra || !vm->hydra->self || vm->hydra->self->grp->first != vm->hydra->self)
		return;
	struct hydra_head *h = atomic_exchange(&vm->hydra->self->grp->all, NULL);
	while (h) {
		struct hydra_head *n = h->next_all;
		hy_unref(h);
		h = n;
	}
}
